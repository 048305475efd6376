/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Conntrack with two worker lcores (on different cpus) and the main thread.
 *  1. Races on creation: both workers send the two directions of the same
 *     UDP flows at the same moment, each committing what it sees as NEW.
 *     Every flow must end as exactly one REPLIED connection, each packet
 *     either ESTABLISHED or committed.
 *  2. Races on closing: established TCP connections get a FIN from each
 *     side at the same moment, one side per worker; both must be recorded
 *     (TIME_WAIT), so no update is lost.
 *  3. Chaos: both workers hammer overlapping flows (TCP, UDP, ICMP, errors,
 *     both directions on both threads, a clock running 100 times fast so
 *     connections expire) with lookups, commits and a little expiry, while
 *     the main thread expires, flushes zones, counts and lists. The table's
 *     counters must equal what the workers saw; after a final flush every
 *     position is free again and the table fills to exactly its capacity.
 * No timing assertions; rates are printed as TAP comments.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>

#include "ct.h"
#include "tap.h"

#define N_WORKERS 2
#define BURST 32
#define N_ZONES 4

enum { IDLE, RACE, CHAOS, STOP };

struct tally {
	uint64_t lookups, verdicts[XV_CT_VERDICT_MAX];
	uint64_t commit_ok, commit_full, commit_busy, commit_inval;
	uint64_t expired, cycles;
} __rte_cache_aligned;

static struct rte_rcu_qsbr *rcu;
static struct xv_ct *ct;
static struct xv_ct_pkt *flows; /* as the client sends them */
static unsigned int n_flows;
static volatile int phase;
static volatile unsigned int round_no;
static int race_fin; /* race rounds send FIN+ACK (else the flows' packets) */
static unsigned int done_round[N_WORKERS];
static struct tally tallies[N_WORKERS];
static uint64_t chaos_hz;

static uint32_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

static int
is_icmp(const struct xv_ct_pkt *p)
{
	return (p->proto == 1 && !p->ipv6) || (p->proto == 58 && p->ipv6);
}

static void
reverse(struct xv_ct_pkt *r, const struct xv_ct_pkt *p)
{
	*r = *p;
	memcpy(r->src, p->dst, 16);
	memcpy(r->dst, p->src, 16);
	if (!is_icmp(p)) {
		r->sport = p->dport;
		r->dport = p->sport;
	}
}

/* Flow 'i': distinct tuples, 'udp_only' or a mix. */
static void
make_flow(struct xv_ct_pkt *p, unsigned int i, int udp_only, uint64_t *s)
{
	memset(p, 0, sizeof(*p));
	p->zone = i % N_ZONES;
	p->ipv6 = !udp_only && rnd(s) % 4 == 0;
	if (p->ipv6) {
		p->src[0] = p->dst[0] = 0x20;
		p->src[1] = p->dst[1] = 0x01;
		p->src[14] = i >> 8;
		p->src[15] = i;
		p->dst[15] = 1;
	} else {
		p->src[0] = p->dst[0] = 198;
		p->src[1] = p->dst[1] = 19;
		p->src[2] = i >> 8;
		p->src[3] = i;
		p->dst[3] = 1;
	}
	p->sport = 1024 + rnd(s) % 60000;
	p->dport = 80;
	if (udp_only) {
		p->proto = 17;
		return;
	}
	switch (rnd(s) % 4) {
	case 0:
	case 1:
		p->proto = 6;
		break;
	case 2:
		p->proto = 17;
		break;
	default:
		p->proto = p->ipv6 ? 58 : 1;
		p->dport = 0;
		break;
	}
}

static uint64_t
chaos_now(void)
{
	return rte_rdtsc();
}

/* A random packet of a random flow, from side 'side' mostly. */
static void
chaos_packet(struct xv_ct_pkt *out, unsigned int side, uint64_t *s)
{
	static const uint8_t tcp_flags[] = { 0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x03, 0x00 };
	const struct xv_ct_pkt *f = &flows[rnd(s) % n_flows];
	struct xv_ct_pkt p = *f;
	unsigned int from_client = (side == 0) ^ (rnd(s) % 5 == 0);

	if (p.proto == 6) {
		p.tcp_flags = tcp_flags[rnd(s) % RTE_DIM(tcp_flags)];
		if (from_client && rnd(s) % 3 == 0)
			p.tcp_flags = 0x02;
		if (!from_client && rnd(s) % 3 == 0)
			p.tcp_flags = 0x12;
	} else if (is_icmp(&p)) {
		unsigned int r = rnd(s) % 10;

		if (r < 8) {
			p.icmp_type = from_client ? (p.ipv6 ? 128 : 8) : (p.ipv6 ? 129 : 0);
		} else if (r == 8) {
			p.icmp_type = 13;
		} else {
			p = flows[rnd(s) % n_flows];
			p.flags = XV_CT_PKT_ICMP_ERROR;
		}
	}
	if (from_client)
		*out = p;
	else
		reverse(out, &p);
}

/* Count what xv_ct_commit() returned. */
static void
tally_commit(struct tally *t, int ret)
{
	if (ret == 0)
		t->commit_ok++;
	else if (ret == -ENOSPC)
		t->commit_full++;
	else if (ret == -EBUSY)
		t->commit_busy++;
	else
		t->commit_inval++;
}

/* Both workers take flow 'i' at the same moment: a barrier per flow. */
static uint32_t arrived;

static void
race_round(unsigned int id)
{
	struct tally *t = &tallies[id];
	unsigned int i;

	for (i = 0; i < n_flows; i++) {
		const struct xv_ct_pkt *pp;
		struct xv_ct_pkt pk;
		struct xv_ct_result r;
		uint64_t now;

		if (id == 0)
			pk = flows[i];
		else
			reverse(&pk, &flows[i]);
		if (race_fin)
			pk.tcp_flags = 0x11;
		pp = &pk;
		__atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL);
		while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < N_WORKERS * (i + 1))
			rte_pause();
		now = rte_rdtsc();
		xv_ct_lookup(ct, &pp, &r, 1, now);
		t->lookups++;
		t->verdicts[r.verdict]++;
		if (r.verdict == XV_CT_NEW)
			tally_commit(t, xv_ct_commit(ct, &pk, now));
		if (i % 32 == 31)
			rte_rcu_qsbr_quiescent(rcu, id);
	}
}

static void
chaos(unsigned int id)
{
	struct xv_ct_pkt pk[BURST];
	const struct xv_ct_pkt *pp[BURST];
	struct xv_ct_result r[BURST];
	struct tally *t = &tallies[id];
	uint64_t s = 0x1234567 + id, loops = 0, t0 = rte_rdtsc();
	unsigned int j;

	while (phase == CHAOS) {
		uint64_t now = chaos_now();

		for (j = 0; j < BURST; j++) {
			chaos_packet(&pk[j], id, &s);
			pp[j] = &pk[j];
		}
		xv_ct_lookup(ct, pp, r, BURST, now);
		t->lookups += BURST;
		for (j = 0; j < BURST; j++) {
			t->verdicts[r[j].verdict]++;
			if (r[j].verdict == XV_CT_NEW && rnd(&s) % 10 != 0)
				tally_commit(t, xv_ct_commit(ct, &pk[j], now));
		}
		/* Workers may expire too, a little per loop. */
		if (++loops % 64 == 0)
			t->expired += xv_ct_expire(ct, now, 64);
		rte_rcu_qsbr_quiescent(rcu, id);
	}
	t->cycles = rte_rdtsc() - t0;
}

static int
worker(void *arg)
{
	unsigned int id = (uintptr_t)arg;

	rte_rcu_qsbr_thread_register(rcu, id);
	rte_rcu_qsbr_thread_online(rcu, id);
	for (;;) {
		int ph = phase;

		if (ph == STOP)
			break;
		if (ph == RACE && __atomic_load_n(&done_round[id], __ATOMIC_ACQUIRE) != round_no) {
			race_round(id);
			__atomic_store_n(&done_round[id], round_no, __ATOMIC_RELEASE);
		} else if (ph == CHAOS) {
			chaos(id);
		}
		rte_rcu_qsbr_quiescent(rcu, id);
		rte_pause();
	}
	rte_rcu_qsbr_thread_offline(rcu, id);
	rte_rcu_qsbr_thread_unregister(rcu, id);
	return 0;
}

struct walk_check {
	unsigned int n, replied, bad;
};

static int
walk_fn(const struct xv_ct_entry *e, void *arg)
{
	struct walk_check *w = arg;

	w->n++;
	if (e->state == XV_CT_REPLIED)
		w->replied++;
	if (e->zone >= N_ZONES || e->state == XV_CT_STATE_NONE || e->state >= XV_CT_STATE_MAX)
		w->bad++;
	return 0;
}

struct tw_count {
	unsigned int tw;
};

static int
tw_fn(const struct xv_ct_entry *e, void *arg)
{
	struct tw_count *w = arg;

	w->tw += e->state == XV_CT_TCP_TIME_WAIT;
	return 0;
}

/* Let the workers pass quiescent states and free what waits for it. */
static void
drain_limbo(void)
{
	struct xv_ct_stats st;
	int i;

	for (i = 0; i < 2000; i++) {
		xv_ct_expire(ct, 0, xv_ct_slots(ct));
		xv_ct_stats_read(ct, &st);
		if (st.limbo == 0)
			return;
		usleep(1000);
	}
}

static void
test_race(void)
{
	unsigned int rounds = 20, r, bad_count = 0, bad_state = 0, bad_sum = 0;
	uint64_t s = 42, created0 = 0;
	struct xv_ct_stats st;

	n_flows = 2000;
	flows = calloc(n_flows, sizeof(*flows));
	ct = xv_ct_create(&(struct xv_ct_conf){ .capacity = 4096, .rcu = rcu,
						 .socket_id = SOCKET_ID_ANY });
	for (r = 1; r <= rounds; r++) {
		struct walk_check w = { 0 };
		uint64_t est = 0, ok = 0, inval = 0;
		unsigned int i;

		for (i = 0; i < n_flows; i++)
			make_flow(&flows[i], i + r * 7919, 1, &s);
		memset(tallies, 0, sizeof(tallies));
		arrived = 0;
		round_no = r;
		phase = RACE;
		while (__atomic_load_n(&done_round[0], __ATOMIC_ACQUIRE) != r ||
		       __atomic_load_n(&done_round[1], __ATOMIC_ACQUIRE) != r)
			usleep(100);
		for (i = 0; i < N_WORKERS; i++) {
			est += tallies[i].verdicts[XV_CT_ESTABLISHED];
			ok += tallies[i].commit_ok;
			inval += tallies[i].commit_inval + tallies[i].commit_full +
				 tallies[i].commit_busy;
		}
		xv_ct_walk(ct, -1, rte_rdtsc(), walk_fn, &w);
		xv_ct_stats_read(ct, &st);
		if (xv_ct_count(ct, -1, rte_rdtsc()) != n_flows || w.n != n_flows ||
		    st.created - created0 != n_flows) {
			if (bad_count++ < 3)
				printf("# round %u: count %u listed %u created %" PRIu64 "\n", r,
				       xv_ct_count(ct, -1, rte_rdtsc()), w.n, st.created - created0);
		}
		if (w.replied != n_flows && bad_state++ < 3)
			printf("# round %u: %u of %u REPLIED\n", r, w.replied, n_flows);
		if ((est + ok != 2 * n_flows || inval != 0) && bad_sum++ < 3)
			printf("# round %u: established %" PRIu64 " + committed %" PRIu64
			       " != %u, refused %" PRIu64 "\n", r, est, ok, 2 * n_flows, inval);
		if (r == rounds)
			printf("# last round: %" PRIu64 " of %u packets found their connection made by the other thread\n",
			       est, 2 * n_flows);
		created0 = st.created;
		phase = IDLE;
		xv_ct_flush(ct, -1, rte_rdtsc());
		drain_limbo();
	}
	check(bad_count == 0, "race: each round leaves exactly one connection per flow (%u rounds x %u flows)",
	      rounds, n_flows);
	check(bad_state == 0, "race: every connection saw both directions (REPLIED)");
	check(bad_sum == 0, "race: every packet was ESTABLISHED or committed, none refused");
	xv_ct_stats_read(ct, &st);
	check(st.used == 0 && st.limbo == 0, "race: after flushes and grace periods every position is free");
	xv_ct_destroy(ct);
	free(flows);
}

/* Both sides close every connection at the same moment, one side per
 * worker: each connection must end in TIME_WAIT, with both FINs recorded
 * (a lost update would leave it in FIN_WAIT). */
static void
test_close_race(void)
{
	unsigned int rounds = 10, r, bad = 0, invalid = 0;
	uint64_t s = 99;

	n_flows = 2000;
	flows = calloc(n_flows, sizeof(*flows));
	ct = xv_ct_create(&(struct xv_ct_conf){ .capacity = 4096, .rcu = rcu,
						 .socket_id = SOCKET_ID_ANY });
	race_fin = 1;
	for (r = 1; r <= rounds; r++) {
		struct tw_count w = { 0 };
		unsigned int i;

		for (i = 0; i < n_flows; i++) {
			struct xv_ct_pkt *p = &flows[i], q;
			const struct xv_ct_pkt *pp = &q;
			struct xv_ct_result res;
			uint64_t now = rte_rdtsc();

			make_flow(p, i + r * 7919, 1, &s);
			p->proto = 6;
			p->tcp_flags = 0x02;
			xv_ct_commit(ct, p, now);
			reverse(&q, p);
			q.tcp_flags = 0x12;
			xv_ct_lookup(ct, &pp, &res, 1, now);
			q = *p;
			q.tcp_flags = 0x10;
			xv_ct_lookup(ct, &pp, &res, 1, now);
		}
		memset(tallies, 0, sizeof(tallies));
		arrived = 0;
		round_no = 100 + r;
		phase = RACE;
		while (__atomic_load_n(&done_round[0], __ATOMIC_ACQUIRE) != 100 + r ||
		       __atomic_load_n(&done_round[1], __ATOMIC_ACQUIRE) != 100 + r)
			usleep(100);
		phase = IDLE;
		xv_ct_walk(ct, -1, rte_rdtsc(), tw_fn, &w);
		if (w.tw != n_flows && bad++ < 3)
			printf("# close round %u: %u of %u in TIME_WAIT\n", r, w.tw, n_flows);
		for (i = 0; i < N_WORKERS; i++)
			invalid += tallies[i].verdicts[XV_CT_INVALID];
		xv_ct_flush(ct, -1, rte_rdtsc());
		drain_limbo();
	}
	race_fin = 0;
	check(bad == 0 && invalid == 0,
	      "close race: both FINs recorded on every connection (%u rounds x %u)", rounds, n_flows);
	xv_ct_destroy(ct);
	free(flows);
}

static void
test_chaos(void)
{
	const unsigned int capacity = 4096;
	uint64_t s = 7, t_end, next_flush, lookups = 0, v[XV_CT_VERDICT_MAX] = { 0 };
	uint64_t ok = 0, full = 0, busy = 0, wexpired = 0, main_expired = 0;
	unsigned int i, over = 0, walk_bad = 0, flushes = 0, walks = 0;
	struct xv_ct_stats st;

	/* The clock runs 300 times fast: 1 s timeouts last 3.3 ms, and with
	 * this many flows most connections expire between their packets. */
	chaos_hz = rte_get_tsc_hz() / 300;
	n_flows = 50000;
	flows = calloc(n_flows, sizeof(*flows));
	for (i = 0; i < n_flows; i++)
		make_flow(&flows[i], i, 0, &s);
	ct = xv_ct_create(&(struct xv_ct_conf){
		.capacity = capacity, .rcu = rcu, .hz = chaos_hz,
		.socket_id = SOCKET_ID_ANY,
		.timeouts = { .tcp_syn = 1, .tcp_est = 5, .tcp_fin = 2, .tcp_time_wait = 2,
			      .tcp_close = 1, .udp_first = 1, .udp_est = 3, .icmp = 1 } });
	memset(tallies, 0, sizeof(tallies));
	phase = CHAOS;
	t_end = rte_rdtsc() + 3 * rte_get_tsc_hz();
	next_flush = rte_rdtsc();
	while (rte_rdtsc() < t_end) {
		uint64_t now = chaos_now();

		main_expired += xv_ct_expire(ct, now, 1024);
		xv_ct_stats_read(ct, &st);
		if (st.used > capacity || xv_ct_count(ct, -1, now) > capacity)
			over++;
		if (now >= next_flush) {
			struct walk_check w = { 0 };

			xv_ct_flush(ct, (int)(rnd(&s) % (N_ZONES + 1)) - 1, now);
			flushes++;
			xv_ct_walk(ct, -1, now, walk_fn, &w);
			walks++;
			if (w.bad != 0)
				walk_bad++;
			next_flush = now + rte_get_tsc_hz() / 20;
		}
		usleep(500);
	}
	phase = STOP;
	rte_eal_mp_wait_lcore();

	for (i = 0; i < N_WORKERS; i++) {
		struct tally *t = &tallies[i];
		unsigned int k;

		lookups += t->lookups;
		for (k = 0; k < XV_CT_VERDICT_MAX; k++)
			v[k] += t->verdicts[k];
		ok += t->commit_ok;
		full += t->commit_full;
		busy += t->commit_busy;
		wexpired += t->expired;
		printf("# worker %u: %.2f M lookups/s with commits and expiry (shared cpu, no timing asserted)\n",
		       i, t->lookups / ((double)t->cycles / rte_get_tsc_hz()) / 1e6);
	}
	xv_ct_stats_read(ct, &st);
	printf("# chaos: %" PRIu64 " lookups: new %" PRIu64 " est %" PRIu64 " related %" PRIu64
	       " invalid %" PRIu64 " untracked %" PRIu64 "\n", lookups, v[XV_CT_NEW],
	       v[XV_CT_ESTABLISHED], v[XV_CT_RELATED], v[XV_CT_INVALID], v[XV_CT_UNTRACKED]);
	printf("# chaos: commits ok %" PRIu64 " full %" PRIu64 " busy %" PRIu64 "; created %" PRIu64
	       " reopened %" PRIu64 " expired %" PRIu64 " (by workers %" PRIu64 ") flushed %" PRIu64
	       " in %u flushes\n", ok, full, busy, st.created, st.reopened, st.expired, wexpired,
	       st.flushed, flushes);
	check(over == 0, "chaos: never more than the capacity in use");
	check(walk_bad == 0 && walks > 10, "chaos: listings under load show sane entries (%u walks)", walks);
	check(st.lookups == lookups && st.new == v[XV_CT_NEW] &&
	      st.established == v[XV_CT_ESTABLISHED] && st.related == v[XV_CT_RELATED] &&
	      st.untracked == v[XV_CT_UNTRACKED] &&
	      st.invalid_flags + st.invalid_no_conn + st.invalid_state == v[XV_CT_INVALID],
	      "chaos: the table's verdict counters equal what the workers saw");
	check(st.full == full && st.busy == busy && st.created + st.reopened <= ok,
	      "chaos: refused commits counted exactly (full %" PRIu64 ", busy %" PRIu64 ")", full, busy);
	check(full > 0 && st.expired > 1000 && st.flushed > 0 && v[XV_CT_ESTABLISHED] > 1000 &&
	      v[XV_CT_RELATED] > 0,
	      "chaos: the table filled, connections expired and were flushed and used");

	xv_ct_flush(ct, -1, chaos_now());
	xv_ct_expire(ct, chaos_now(), xv_ct_slots(ct)); /* workers are offline: frees all */
	xv_ct_stats_read(ct, &st);
	check(st.used == 0 && st.limbo == 0 && xv_ct_count(ct, -1, chaos_now()) == 0,
	      "chaos: after a flush every position is free (used %" PRIu64 ", limbo %" PRIu64 ")",
	      st.used, st.limbo);
	check(st.created == st.expired + st.flushed,
	      "chaos: every connection created was removed once (created %" PRIu64
	      ", expired %" PRIu64 ", flushed %" PRIu64 ")", st.created, st.expired, st.flushed);
	{
		unsigned int n_ok = 0;
		int last = 0;

		for (i = 0; i < capacity + 1; i++) {
			struct xv_ct_pkt p;

			make_flow(&p, i, 1, &s);
			last = xv_ct_commit(ct, &p, chaos_now());
			if (last == 0)
				n_ok++;
		}
		check(n_ok == capacity && last == -ENOSPC,
		      "chaos: nothing leaked: the table takes exactly its capacity again (%u)", n_ok);
	}
	xv_ct_destroy(ct);
	free(flows);
}

int
main(int argc, char **argv)
{
	/* Main lcore 0 and worker 1 share cpu 0, worker 2 has cpu 1: the
	 * workers really run at the same time. */
	char *eal[] = { argv[0], "--lcores", "0@0,1@0,2@1", "--no-huge", "-m", "256",
			"--no-shconf", "--no-pci", "--no-telemetry", "--log-level=*:error",
			NULL };
	unsigned int lcore, id = 0;

	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	rcu = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(N_WORKERS), RTE_CACHE_LINE_SIZE);
	rte_rcu_qsbr_init(rcu, N_WORKERS);
	phase = IDLE;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (id < N_WORKERS)
			rte_eal_remote_launch(worker, (void *)(uintptr_t)id++, lcore);
	}
	if (id != N_WORKERS) {
		printf("Bail out! need %d worker lcores\n", N_WORKERS);
		return 1;
	}
	test_race();
	test_close_race();
	test_chaos();
	rte_free(rcu);
	rte_eal_cleanup();
	return tap_done();
}
