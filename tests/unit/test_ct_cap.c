/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Conntrack at capacity: fill a table of CT_CAPACITY connections (default
 * 1M) to the brim, check that one more is refused and counted, look them
 * all up, let them expire in bounded steps and check every position comes
 * back; then fill again and flush. Prints commits/s, lookups/s (whole table
 * and a hot 1k set), memory, and the longest expire and the flush times as
 * TAP comments; nothing about time is asserted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "ct.h"
#include "tap.h"

#define BURST 32

/* Flow 'i' of a table of unique UDP flows in 198.18.0.0/15. */
static void
flow(struct xv_ct_pkt *p, uint32_t i)
{
	memset(p, 0, sizeof(*p));
	p->src[0] = 198;
	p->src[1] = 18 | ((i >> 23) & 1);
	p->src[2] = i >> 15;
	p->src[3] = i >> 7;
	p->dst[0] = 198;
	p->dst[1] = 19;
	p->dst[3] = 1;
	p->sport = 1024 + (i & 0x7f);
	p->dport = 53;
	p->zone = i & 3;
	p->proto = 17;
}

static double
secs(uint64_t cycles)
{
	return (double)cycles / rte_get_tsc_hz();
}

static size_t
heap_used(void)
{
	struct rte_malloc_socket_stats s;
	size_t total = 0;
	int i;

	for (i = 0; i < RTE_MAX_NUMA_NODES; i++)
		if (rte_malloc_get_socket_stats(i, &s) == 0)
			total += s.heap_allocsz_bytes;
	return total;
}

/* Look up 'n' packets of flows chosen by 'pick' in bursts; returns how many
 * were ESTABLISHED. */
static uint64_t
lookups(struct xv_ct *ct, uint32_t range, uint64_t n, uint64_t *cycles)
{
	struct xv_ct_pkt pk[BURST];
	const struct xv_ct_pkt *pp[BURST];
	struct xv_ct_result r[BURST];
	uint64_t est = 0, done, t0, x = 88172645463325252ULL;
	unsigned int j;

	for (j = 0; j < BURST; j++)
		pp[j] = &pk[j];
	t0 = rte_rdtsc();
	for (done = 0; done < n; done += BURST) {
		uint64_t now = rte_rdtsc();

		for (j = 0; j < BURST; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			flow(&pk[j], x % range);
		}
		xv_ct_lookup(ct, pp, r, BURST, now);
		for (j = 0; j < BURST; j++)
			est += r[j].verdict == XV_CT_ESTABLISHED;
	}
	*cycles = rte_rdtsc() - t0;
	return est;
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "-l", "0", "--no-huge", "-m", "1024", "--no-shconf",
			"--no-pci", "--no-telemetry", "--log-level=*:error", NULL };
	/* CT_HUGE=1: measure on hugepages (the daemon's case) instead. */
	if (getenv("CT_HUGE") != NULL && atoi(getenv("CT_HUGE")) == 1) {
		eal[3] = "--in-memory";
		eal[5] = "400";
	}
	const char *env = getenv("CT_CAPACITY");
	uint32_t capacity = env != NULL ? strtoul(env, NULL, 0) : 1u << 20, i, ok;
	uint64_t t0 = 0, cyc, est, now, worst = 0, n_calls = 0, removed = 0, hz;
	struct rte_rcu_qsbr *rcu;
	struct xv_ct_stats st;
	struct xv_ct_pkt p;
	struct xv_ct *ct;
	size_t heap0;
	int last;

	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	hz = rte_get_tsc_hz();
	/* This thread is the table's only reader: it reports quiescent
	 * states, so removed positions come back after a grace period. */
	rcu = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	rte_rcu_qsbr_init(rcu, 1);
	rte_rcu_qsbr_thread_register(rcu, 0);
	rte_rcu_qsbr_thread_online(rcu, 0);

	heap0 = heap_used();
	ct = xv_ct_create(&(struct xv_ct_conf){ .capacity = capacity, .rcu = rcu,
						 .socket_id = SOCKET_ID_ANY });
	if (!check(ct != NULL, "a table for %u connections", capacity))
		return tap_done();
	printf("# memory: %.1f MB for %u connections (%u positions)\n",
	       (heap_used() - heap0) / 1e6, capacity, xv_ct_slots(ct));

	now = rte_rdtsc();
	{
		/* Inserting gets dearer as the table fills: by tenths. */
		uint32_t tenth = capacity / 10;

		printf("# commits, ns each by filling tenth:");
		for (i = 0, ok = 0, cyc = 0; i < capacity; i++) {
			if (i % tenth == 0)
				t0 = rte_rdtsc();
			flow(&p, i);
			ok += xv_ct_commit(ct, &p, now) == 0;
			if (i % tenth == tenth - 1 || i == capacity - 1) {
				uint64_t c = rte_rdtsc() - t0;

				cyc += c;
				printf(" %.0f", secs(c) * 1e9 / (i % tenth + 1));
			}
		}
		printf("\n# commits: %.2f M/s filling to 100%%\n",
		       capacity / secs(cyc) / 1e6);
	}
	check(ok == capacity, "filled to capacity (%u of %u)", ok, capacity);
	flow(&p, capacity);
	last = xv_ct_commit(ct, &p, now);
	xv_ct_stats_read(ct, &st);
	check(last == -ENOSPC && st.full == 1 && st.created == capacity,
	      "one more is refused with -ENOSPC and counted (full %" PRIu64 ")", st.full);
	check(xv_ct_count(ct, -1, now) == capacity && xv_ct_count(ct, 3, now) == capacity / 4,
	      "count: all, and per zone");

	est = lookups(ct, capacity, 4u << 20, &cyc);
	printf("# lookups over the whole table: %.2f M/s (%.0f ns each)\n",
	       (4u << 20) / secs(cyc) / 1e6, secs(cyc) * 1e9 / (4u << 20));
	check(est == 4u << 20, "every lookup found its connection");
	est = lookups(ct, 1000, 4u << 20, &cyc);
	printf("# lookups over 1k hot connections: %.2f M/s (%.0f ns each)\n",
	       (4u << 20) / secs(cyc) / 1e6, secs(cyc) * 1e9 / (4u << 20));
	check(est == 4u << 20, "every hot lookup found its connection");

	/* Everything expires (UDP unreplied: 30 s); remove it in bounded
	 * steps, as a control thread would once a millisecond. */
	now = rte_rdtsc() + 31 * hz;
	check(xv_ct_count(ct, -1, now) == 0, "expired connections are not counted before the sweep");
	while (removed < capacity && n_calls < 100000) {
		uint64_t c0 = rte_rdtsc();

		removed += xv_ct_expire(ct, now, 65536);
		c0 = rte_rdtsc() - c0;
		worst = RTE_MAX(worst, c0);
		n_calls++;
		rte_rcu_qsbr_quiescent(rcu, 0);
	}
	printf("# expiry: %" PRIu64 " calls of quota 65536, the longest %.2f ms\n",
	       n_calls, secs(worst) * 1e3);
	for (i = 0; i < 1000; i++) {
		xv_ct_stats_read(ct, &st);
		if (st.used == 0)
			break;
		rte_rcu_qsbr_quiescent(rcu, 0);
		xv_ct_expire(ct, now, 65536);
	}
	xv_ct_stats_read(ct, &st);
	check(removed == capacity && st.expired == capacity && st.used == 0 && st.limbo == 0,
	      "expiry removed them all and freed every position (used %" PRIu64 ")", st.used);

	for (i = 0, ok = 0; i < capacity; i++) {
		flow(&p, i + 7);
		ok += xv_ct_commit(ct, &p, now) == 0;
	}
	check(ok == capacity, "filled to capacity again");
	t0 = rte_rdtsc();
	ok = xv_ct_flush(ct, -1, now);
	cyc = rte_rdtsc() - t0;
	printf("# flush of %u connections: %.0f ms (control thread)\n", ok, secs(cyc) * 1e3);
	rte_rcu_qsbr_quiescent(rcu, 0);
	for (i = 0; i < 1000; i++) {
		xv_ct_stats_read(ct, &st);
		if (st.used == 0)
			break;
		xv_ct_expire(ct, now, 1u << 20);
		rte_rcu_qsbr_quiescent(rcu, 0);
	}
	check(ok == capacity && st.used == 0 && xv_ct_count(ct, -1, now) == 0,
	      "flush removed them all and freed every position");

	xv_ct_destroy(ct);
	rte_rcu_qsbr_thread_offline(rcu, 0);
	rte_free(rcu);
	rte_eal_cleanup();
	return tap_done();
}
