/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection tracking table: lookup and commit (workers), expiry, flush and
 * listing (control thread, or workers for bounded expiry). The concurrency
 * scheme is described at the top of ct.h; the protocol state machines are in
 * ct_tcp.c, ct_icmp.c and ct_private.h (datagrams).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_random.h>
#include <rte_rcu_qsbr.h>

#include "ct_private.h"
#include "ct_table.h"

RTE_LOG_REGISTER(xv_logtype_ct, xvio.ct, INFO);
#define CT_LOG(lvl, fmt, ...) \
	rte_log(RTE_LOG_##lvl, xv_logtype_ct, "xvio: ct: " fmt "\n", ##__VA_ARGS__)

/* Packets looked up per ct_table_lookup call. */
#define CT_CHUNK CT_TABLE_LOOKUP_MAX
/* Longest timeout in ticks: expiry times are compared as signed 32-bit
 * differences, and this leaves 2^28 ticks (> 37 hours) for a sweep to be
 * late before an expired word could look alive again. */
#define CT_TICKS_MAX ((1u << 31) - (1u << 28))

static const struct xv_ct_timeouts default_timeouts = {
	.tcp_syn = 30,
	.tcp_est = 432000,
	.tcp_fin = 120,
	.tcp_time_wait = 120,
	.tcp_close = 10,
	.udp_first = 30,
	.udp_est = 180,
	.icmp = 30,
};

static inline enum ct_proto
proto_of(const struct xv_ct_pkt *pkt)
{
	switch (pkt->proto) {
	case IPPROTO_TCP:
		return CT_PROTO_TCP;
	case IPPROTO_ICMP:
		return pkt->ipv6 ? CT_PROTO_DGRAM : CT_PROTO_ICMP;
	case IPPROTO_ICMPV6:
		return pkt->ipv6 ? CT_PROTO_ICMP : CT_PROTO_DGRAM;
	default:
		return CT_PROTO_DGRAM;
	}
}

/* Fill 'k' and its hash for 'pkt'. Returns the key side the packet's
 * source is on. Any total order of (address, port) works, as long as both
 * directions agree. IPv4 (nearly all traffic) takes no branch on the
 * addresses, whose order is as good as random when both directions mix,
 * and its key is stored as three whole vectors. */
static __rte_always_inline unsigned int
make_key(struct ct_key *k, uint32_t *hash, const struct xv_ct_pkt *pkt,
	 uint32_t seed)
{
	uint16_t sp = pkt->sport, dp = pkt->dport;
	unsigned int side;
	uint64_t head;

	if (likely(!pkt->ipv6)) {
		uint32_t a, b, lo, hi;

		memcpy(&a, pkt->src, 4);
		memcpy(&b, pkt->dst, 4);
		side = (a > b) | ((a == b) & (sp > dp));
		lo = side ? b : a;
		hi = side ? a : b;
		head = ct_key_head(side ? dp : sp, side ? sp : dp, pkt->zone,
				   pkt->proto, 0);
		ct_key_set_v4(k, head, lo, hi);
		*hash = ct_key_hash(seed, head, k, lo, hi);
		return side;
	}

	uint64_t x[2], y[2];
	int c;

	memcpy(x, pkt->src, 16);
	memcpy(y, pkt->dst, 16);
	c = x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) :
	    x[1] != y[1] ? (x[1] < y[1] ? -1 : 1) : 0;
	if (c == 0)
		c = sp < dp ? -1 : sp > dp;
	side = c > 0;
	head = side ? ct_key_head(dp, sp, pkt->zone, pkt->proto, 1) :
		      ct_key_head(sp, dp, pkt->zone, pkt->proto, 1);
	memcpy(k, &head, sizeof(head));
	memcpy(k->addr[side], pkt->src, 16);
	memcpy(k->addr[side ^ 1], pkt->dst, 16);
	k->pad = 0;
	*hash = ct_key_hash(seed, head, k, 0, 0);
	return side;
}

static inline uint32_t
ct_tick(const struct xv_ct *ct, uint64_t now)
{
	return (uint32_t)(now >> ct->tick_shift);
}

/*
 * The word after a valid packet moved 'w' to 'pst' at 'tick'. In the same
 * state the expiry stays as it is unless it is more than the state's slack
 * (1 s, or an eighth of a shorter timeout) short of a full timeout from now,
 * as Linux conntrack does: a busy connection's word is then written about
 * once a second instead of on every packet (a locked write, and a dirty
 * line per connection at 100k flows), and never shortened by a worker with
 * a slightly older clock.
 */
static inline uint64_t
refresh(const struct xv_ct *ct, uint64_t w, uint16_t pst,
	enum ct_proto p, uint32_t tick)
{
	unsigned int st = PST_ST(pst);
	uint32_t exp = tick + ct->tmo[p][st];

	if (st == W_ST(w) &&
	    (int32_t)(W_EXP(w) + ct->slack[p][st] - exp) >= 0)
		exp = W_EXP(w);
	return ct_word(W_ZONE(w), W_SIDE(w), pst, exp);
}

static inline void
set_res(struct xv_ct_result *r, uint8_t verdict, unsigned int dir,
	unsigned int state, uint8_t reason)
{
	/* One store, not four. */
	*r = (struct xv_ct_result){ .verdict = verdict, .dir = dir,
				     .state = state, .reason = reason };
}

/* Apply one looked-up packet ('pos' < 0: not found) to its connection.
 * Returns 1 for ESTABLISHED, which the caller counts (in a register), else
 * 0 (counted here). */
static inline unsigned int
apply(struct xv_ct *ct, struct xv_ct_result *r, int32_t pos,
      unsigned int side, uint8_t ev, enum ct_proto p,
      uint32_t tick, uint64_t *cnt)
{
	uint64_t *wp, w, nw;
	unsigned int dir;
	uint16_t pst;

	if (pos < 0)
		goto miss;
	wp = &ct_table_entry(ct->table, pos)->word;
	w = __atomic_load_n(wp, __ATOMIC_ACQUIRE);
	for (;;) {
		/* Expired counts as gone, whether or not swept yet. */
		if (!W_LIVE(w) || ct_expired(W_EXP(w), tick))
			goto miss;
		dir = side ^ W_SIDE(w);
		if (ev == CT_EV_RELATED) {
			/* The quoted packet went one way, the error the
			 * other. */
			set_res(r, XV_CT_RELATED, dir ^ 1, W_ST(w), XV_CT_OK);
			cnt[CT_STAT_related]++;
			return 0;
		}
		pst = ct_proto_next(p, W_PST(w), dir, ev);
		if (pst == CT_NEXT_INVALID) {
			set_res(r, XV_CT_INVALID, dir, W_ST(w), XV_CT_BAD_STATE);
			cnt[CT_STAT_invalid_state]++;
			return 0;
		}
		if (pst == CT_NEXT_REOPEN) {
			set_res(r, XV_CT_NEW, XV_CT_DIR_ORIG, W_ST(w), XV_CT_OK);
			cnt[CT_STAT_new]++;
			return 0;
		}
		nw = refresh(ct, w, pst, p, tick);
		/* Most packets change nothing within a tick: no write. */
		if (nw == w || __atomic_compare_exchange_n(wp, &w, nw, false,
				__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			set_res(r, XV_CT_ESTABLISHED, dir, PST_ST(pst), XV_CT_OK);
			return 1;
		}
		/* Another thread changed the word: decide again on it. */
	}
miss:
	if (ev != CT_EV_RELATED && ct_proto_open(p, ev) != XV_CT_STATE_NONE) {
		set_res(r, XV_CT_NEW, XV_CT_DIR_ORIG, XV_CT_STATE_NONE, XV_CT_OK);
		cnt[CT_STAT_new]++;
	} else {
		set_res(r, XV_CT_INVALID, XV_CT_DIR_ORIG, XV_CT_STATE_NONE,
			XV_CT_NO_CONN);
		cnt[CT_STAT_invalid_no_conn]++;
	}
	return 0;
}

/* Look up 'n' <= CT_CHUNK packets. Returns how many are ESTABLISHED. */
static unsigned int
lookup_chunk(struct xv_ct *ct, const struct xv_ct_pkt *const *pkts,
	     struct xv_ct_result *res, unsigned int n, uint32_t tick,
	     uint64_t *cnt)
{
	uint8_t protos[CT_CHUNK];
	struct ct_key keys[CT_CHUNK];
	uint32_t hash[CT_CHUNK];
	int32_t pos[CT_CHUNK];
	uint8_t side[CT_CHUNK], ev[CT_CHUNK];
	unsigned int i, est = 0;

	/* Every packet is looked up, even the rare ones no connection can
	 * have (their result is decided below): one index for all arrays,
	 * and no branch here. */
	for (i = 0; i < n; i++) {
		const struct xv_ct_pkt *pkt = pkts[i];
		enum ct_proto p = proto_of(pkt);

		ev[i] = pkt->flags & XV_CT_PKT_ICMP_ERROR ? CT_EV_RELATED :
							    ct_proto_event(p, pkt);
		protos[i] = p;
		side[i] = make_key(&keys[i], &hash[i], pkt, ct->table->seed);
		ct_table_prefetch(ct->table, hash[i]);
	}
	/* A found position's word shares its line with the key just
	 * compared: no prefetch needed. */
	ct_table_lookup(ct->table, keys, hash, n, pos);
	for (i = 0; i < n; i++) {
		if (unlikely(ev[i] == CT_EV_BAD)) {
			set_res(&res[i], XV_CT_INVALID, XV_CT_DIR_ORIG,
				XV_CT_STATE_NONE, XV_CT_BAD_FLAGS);
			cnt[CT_STAT_invalid_flags]++;
			continue;
		}
		if (unlikely(ev[i] == CT_EV_UNTRACKED)) {
			set_res(&res[i], XV_CT_UNTRACKED, XV_CT_DIR_ORIG,
				XV_CT_STATE_NONE, XV_CT_OK);
			cnt[CT_STAT_untracked]++;
			continue;
		}
		est += apply(ct, &res[i], pos[i], side[i], ev[i], protos[i],
			     tick, cnt);
	}
	return est;
}

/* Add 'v' to counter 'which' of the calling thread (one writer per lcore;
 * threads without an lcore id share the last slot, with atomic adds). */
static inline void
stat_add(struct xv_ct *ct, unsigned int lcore, enum ct_stat which, uint64_t v)
{
	if (likely(lcore < RTE_MAX_LCORE)) {
		uint64_t *c = &ct->stats[lcore].v[which];

		__atomic_store_n(c, *c + v, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&ct->stats[RTE_MAX_LCORE].v[which], v,
				   __ATOMIC_RELAXED);
	}
}

/* Add a burst's counts 'cnt' to the calling thread's counters. */
static void
stats_add(struct xv_ct *ct, const uint64_t *cnt)
{
	unsigned int lcore = rte_lcore_id(), i;

	for (i = 0; i < CT_STAT_MAX; i++)
		if (cnt[i] != 0)
			stat_add(ct, lcore, i, cnt[i]);
}

static void
stat_inc(struct xv_ct *ct, enum ct_stat which)
{
	stat_add(ct, rte_lcore_id(), which, 1);
}

unsigned int
xv_ct_lookup(struct xv_ct *ct, const struct xv_ct_pkt *const *pkts,
	     struct xv_ct_result *res, unsigned int n, uint64_t now)
{
	uint64_t cnt[CT_STAT_MAX] = { 0 };
	uint32_t tick = ct_tick(ct, now);
	unsigned int total = n;

	cnt[CT_STAT_lookups] = n;
	while (n > 0) {
		unsigned int k = RTE_MIN(n, (unsigned int)CT_CHUNK);

		cnt[CT_STAT_established] += lookup_chunk(ct, pkts, res, k, tick, cnt);
		pkts += k;
		res += k;
		n -= k;
	}
	stats_add(ct, cnt);
	return total - (unsigned int)(cnt[CT_STAT_established] + cnt[CT_STAT_related]);
}

int
xv_ct_commit(struct xv_ct *ct, const struct xv_ct_pkt *pkt, uint64_t now)
{
	enum ct_proto p = proto_of(pkt);
	uint32_t tick = ct_tick(ct, now);
	uint64_t *wp, w, nw;
	struct ct_key key;
	unsigned int side;
	uint32_t hash;
	uint16_t open, pst;
	int32_t pos;
	uint8_t ev;

	if (pkt->flags & XV_CT_PKT_ICMP_ERROR)
		return -EINVAL;
	ev = ct_proto_event(p, pkt);
	if (ev == CT_EV_BAD || ev == CT_EV_UNTRACKED)
		return -EINVAL;
	open = ct_proto_open(p, ev);
	if (open == XV_CT_STATE_NONE)
		return -EINVAL;
	side = make_key(&key, &hash, pkt, ct->table->seed);

	/* The table holds exactly 'capacity' positions and refuses the
	 * next under its lock; a full table refuses here first, so a flood
	 * of new connections does not queue on that lock. */
	if (ct_table_used(ct->table) >= ct->capacity) {
		stat_inc(ct, CT_STAT_full);
		return -ENOSPC;
	}
	/* Returns the existing position when another thread added the key
	 * first (for the other direction, say). */
	pos = ct_table_add(ct->table, &key, hash);
	if (pos < 0) {
		stat_inc(ct, CT_STAT_full);
		return -ENOSPC;
	}
	wp = &ct_table_entry(ct->table, pos)->word;
	w = __atomic_load_n(wp, __ATOMIC_ACQUIRE);
	for (;;) {
		if (W_ST(w) == CT_FREE) {
			/* New key: whoever sets the word first created the
			 * connection. */
			nw = ct_word(pkt->zone, side, open,
				     tick + ct->tmo[p][open]);
			if (__atomic_compare_exchange_n(wp, &w, nw, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				stat_inc(ct, CT_STAT_created);
				return 0;
			}
			continue;
		}
		if (W_ST(w) == CT_DEAD) {
			/* Being removed: until the key is out of the hash, a
			 * new connection cannot take its place. */
			stat_inc(ct, CT_STAT_busy);
			return -EBUSY;
		}
		if (ct_expired(W_EXP(w), tick))
			pst = CT_NEXT_REOPEN;
		else
			pst = ct_proto_next(p, W_PST(w), side ^ W_SIDE(w), ev);
		if (pst == CT_NEXT_INVALID)
			return -EINVAL;
		if (pst == CT_NEXT_REOPEN)
			nw = ct_word(pkt->zone, side, open,
				     tick + ct->tmo[p][open]);
		else
			nw = refresh(ct, w, pst, p, tick);
		if (nw == w || __atomic_compare_exchange_n(wp, &w, nw, false,
				__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			if (pst == CT_NEXT_REOPEN)
				stat_inc(ct, CT_STAT_reopened);
			return 0;
		}
	}
}

/* Free up to 'quota' positions whose grace period is over. Lock held. */
static unsigned int
reclaim(struct xv_ct *ct, unsigned int quota)
{
	unsigned int n = 0;

	while (ct->batch_head != ct->batch_tail && n < quota) {
		struct ct_batch *b = &ct->batches[ct->batch_head % CT_BATCHES];

		if (rte_rcu_qsbr_check(ct->rcu, b->token, false) != 1)
			break;
		while (ct->limbo_head != b->end && n < quota) {
			ct_table_release(ct->table, ct->limbo[ct->limbo_head & ct->limbo_mask]);
			/* Atomic only for xv_ct_stats_read. */
			__atomic_store_n(&ct->limbo_head, ct->limbo_head + 1,
					 __ATOMIC_RELAXED);
			n++;
		}
		if (ct->limbo_head == b->end)
			ct->batch_head++;
	}
	return n;
}

/* Start a grace period for the positions put in limbo since the last
 * batch. Lock held. */
static void
close_batch(struct xv_ct *ct)
{
	uint32_t last_end;
	uint64_t token;

	if (ct->batch_head == ct->batch_tail)
		last_end = ct->limbo_head;
	else
		last_end = ct->batches[(ct->batch_tail - 1) % CT_BATCHES].end;
	if (last_end == ct->limbo_tail)
		return;
	/* After the deletions: a reader that reports this token has finished
	 * every lookup that could have found them. */
	token = rte_rcu_qsbr_start(ct->rcu);
	if (ct->batch_tail - ct->batch_head == CT_BATCHES) {
		/* Full: extend the newest batch; its later token covers the
		 * earlier deletions too. */
		struct ct_batch *b = &ct->batches[(ct->batch_tail - 1) % CT_BATCHES];

		b->token = token;
		b->end = ct->limbo_tail;
	} else {
		ct->batches[ct->batch_tail % CT_BATCHES] = (struct ct_batch){
			.token = token, .end = ct->limbo_tail };
		ct->batch_tail++;
	}
}

/* Claim the live connection at 'pos' if 'expired_only' says so; returns
 * 1 if claimed (its word is now DEAD), with its old word in '*old'. */
static int
claim(struct xv_ct *ct, uint32_t pos, uint32_t tick, int zone,
      int expired_only, uint64_t *old)
{
	uint64_t *wp = &ct_table_entry(ct->table, pos)->word;
	uint64_t w = __atomic_load_n(wp, __ATOMIC_ACQUIRE);

	for (;;) {
		if (!W_LIVE(w))
			return 0;
		if (zone >= 0 && W_ZONE(w) != zone)
			return 0;
		if (expired_only && !ct_expired(W_EXP(w), tick))
			return 0;
		if (__atomic_compare_exchange_n(wp, &w,
				(w & ~(0xffULL << 32)) | (uint64_t)CT_DEAD << 32,
				false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			*old = w;
			return 1;
		}
	}
}

/* Take the claimed connection at 'pos' out of the table and free its
 * position after a grace period. Lock held. */
static void
remove_pos(struct xv_ct *ct, uint32_t pos)
{
	if (ct_table_del(ct->table, pos) != 0) {
		/* Cannot happen; leak the position rather than free it
		 * twice. */
		CT_LOG(ERR, "position %u is live but in no bucket", pos);
		return;
	}
	if (ct->rcu == NULL) {
		ct_table_release(ct->table, pos);
		return;
	}
	ct->limbo[ct->limbo_tail & ct->limbo_mask] = pos;
	__atomic_store_n(&ct->limbo_tail, ct->limbo_tail + 1, __ATOMIC_RELAXED);
}

unsigned int
xv_ct_expire(struct xv_ct *ct, uint64_t now, unsigned int quota)
{
	uint64_t cnt[CT_STAT_MAX] = { 0 };
	uint32_t tick = ct_tick(ct, now), pos;
	unsigned int i, removed = 0;
	uint64_t old;

	if (rte_lcore_id() >= RTE_MAX_LCORE || !rte_spinlock_trylock(&ct->lock))
		return 0;
	if (ct->rcu != NULL)
		reclaim(ct, quota);
	quota = RTE_MIN(quota, ct->capacity);
	pos = ct->cursor;
	for (i = 0; i < quota; i++) {
		if (claim(ct, pos, tick, -1, 1, &old)) {
			remove_pos(ct, pos);
			removed++;
		}
		if (++pos == ct->capacity)
			pos = 0;
	}
	ct->cursor = pos;
	if (ct->rcu != NULL)
		close_batch(ct);
	rte_spinlock_unlock(&ct->lock);
	cnt[CT_STAT_expired] = removed;
	stats_add(ct, cnt);
	return removed;
}

unsigned int
xv_ct_flush(struct xv_ct *ct, int zone, uint64_t now)
{
	uint64_t cnt[CT_STAT_MAX] = { 0 };
	uint32_t tick = ct_tick(ct, now), pos;
	unsigned int live = 0;
	uint64_t old;

	if (rte_lcore_id() >= RTE_MAX_LCORE)
		return 0;
	rte_spinlock_lock(&ct->lock);
	for (pos = 0; pos < ct->capacity; pos++) {
		if (!claim(ct, pos, tick, zone, 0, &old))
			continue;
		remove_pos(ct, pos);
		if (ct_expired(W_EXP(old), tick)) {
			cnt[CT_STAT_expired]++;
		} else {
			cnt[CT_STAT_flushed]++;
			live++;
		}
	}
	if (ct->rcu != NULL)
		close_batch(ct);
	rte_spinlock_unlock(&ct->lock);
	stats_add(ct, cnt);
	return live;
}

unsigned int
xv_ct_count(const struct xv_ct *ct, int zone, uint64_t now)
{
	uint32_t tick = ct_tick(ct, now), pos;
	unsigned int n = 0;

	for (pos = 0; pos < ct->capacity; pos++) {
		uint64_t w = __atomic_load_n(&ct_table_entry(ct->table, pos)->word,
					     __ATOMIC_RELAXED);

		if (W_LIVE(w) && !ct_expired(W_EXP(w), tick) &&
		    (zone < 0 || W_ZONE(w) == zone))
			n++;
	}
	return n;
}

unsigned int
xv_ct_walk(struct xv_ct *ct, int zone, uint64_t now, xv_ct_walk_fn fn,
	   void *arg)
{
	uint32_t tick = ct_tick(ct, now), pos;
	unsigned int n = 0;

	/* Under the lock no position is freed, so a live word's key stays
	 * in place while we read it. */
	rte_spinlock_lock(&ct->lock);
	for (pos = 0; pos < ct->capacity; pos++) {
		const struct ct_entry *ce = ct_table_entry(ct->table, pos);
		uint64_t w = __atomic_load_n(&ce->word, __ATOMIC_ACQUIRE);
		const struct ct_key *k = &ce->key;
		struct xv_ct_entry e;
		unsigned int s;

		if (!W_LIVE(w) || ct_expired(W_EXP(w), tick) ||
		    (zone >= 0 && W_ZONE(w) != zone))
			continue;
		/* The key is written before the word is set. */
		s = W_SIDE(w);
		memcpy(e.src, k->addr[s], 16);
		memcpy(e.dst, k->addr[s ^ 1], 16);
		e.sport = k->port[s];
		e.dport = k->port[s ^ 1];
		e.zone = k->zone;
		e.ipv6 = k->ipv6;
		e.proto = k->proto;
		e.state = W_ST(w);
		e.expires_ms = (((uint64_t)(W_EXP(w) - tick) << ct->tick_shift) *
				1000) / ct->hz;
		n++;
		if (fn(&e, arg) != 0)
			break;
	}
	rte_spinlock_unlock(&ct->lock);
	return n;
}

void
xv_ct_stats_read(const struct xv_ct *ct, struct xv_ct_stats *stats)
{
	uint64_t sum[CT_STAT_MAX] = { 0 };
	unsigned int l, i;

	for (l = 0; l <= RTE_MAX_LCORE; l++)
		for (i = 0; i < CT_STAT_MAX; i++)
			sum[i] += __atomic_load_n(&ct->stats[l].v[i],
						  __ATOMIC_RELAXED);
	memset(stats, 0, sizeof(*stats));
#define XV_CT_STAT_COPY(name, help) stats->name = sum[CT_STAT_##name];
	XV_CT_STATS(XV_CT_STAT_COPY)
#undef XV_CT_STAT_COPY
	stats->used = ct_table_used(ct->table);
	stats->limbo = (uint32_t)(__atomic_load_n(&ct->limbo_tail, __ATOMIC_RELAXED) -
				  __atomic_load_n(&ct->limbo_head, __ATOMIC_RELAXED));
}

uint32_t
xv_ct_slots(const struct xv_ct *ct)
{
	return ct->capacity;
}

/* Seconds to ticks, rounded up; -1 if too long. */
static int
to_ticks(const struct xv_ct *ct, uint32_t sec, uint32_t dflt, uint32_t *ticks)
{
	uint64_t t;

	if (sec == 0)
		sec = dflt;
	if (sec > XV_CT_TIMEOUT_MAX)
		return -1;
	t = ((uint64_t)sec * ct->hz + (1ULL << ct->tick_shift) - 1) >>
	    ct->tick_shift;
	if (t > CT_TICKS_MAX)
		return -1;
	*ticks = t;
	return 0;
}

static int
set_timeouts(struct xv_ct *ct, const struct xv_ct_timeouts *t)
{
	const struct xv_ct_timeouts *d = &default_timeouts;
	uint32_t(*tmo)[XV_CT_STATE_MAX] = ct->tmo;
	uint32_t second = ct->hz >> ct->tick_shift; /* ticks */
	unsigned int c, st;
	int err = 0;

	err |= to_ticks(ct, t->tcp_syn, d->tcp_syn, &tmo[CT_PROTO_TCP][XV_CT_TCP_SYN_SENT]);
	err |= to_ticks(ct, t->tcp_syn, d->tcp_syn, &tmo[CT_PROTO_TCP][XV_CT_TCP_SYN_RECV]);
	err |= to_ticks(ct, t->tcp_est, d->tcp_est, &tmo[CT_PROTO_TCP][XV_CT_TCP_ESTABLISHED]);
	err |= to_ticks(ct, t->tcp_fin, d->tcp_fin, &tmo[CT_PROTO_TCP][XV_CT_TCP_FIN_WAIT]);
	err |= to_ticks(ct, t->tcp_time_wait, d->tcp_time_wait,
			&tmo[CT_PROTO_TCP][XV_CT_TCP_TIME_WAIT]);
	err |= to_ticks(ct, t->tcp_close, d->tcp_close, &tmo[CT_PROTO_TCP][XV_CT_TCP_CLOSED]);
	err |= to_ticks(ct, t->udp_first, d->udp_first, &tmo[CT_PROTO_DGRAM][XV_CT_UNREPLIED]);
	err |= to_ticks(ct, t->udp_est, d->udp_est, &tmo[CT_PROTO_DGRAM][XV_CT_REPLIED]);
	err |= to_ticks(ct, t->icmp, d->icmp, &tmo[CT_PROTO_ICMP][XV_CT_UNREPLIED]);
	err |= to_ticks(ct, t->icmp, d->icmp, &tmo[CT_PROTO_ICMP][XV_CT_REPLIED]);
	for (c = 0; c < CT_PROTO_MAX; c++)
		for (st = 0; st < XV_CT_STATE_MAX; st++)
			ct->slack[c][st] = RTE_MIN(tmo[c][st] / 8, second);
	return err;
}

struct xv_ct *
xv_ct_create(const struct xv_ct_conf *conf)
{
	static uint32_t seq;
	char name[32];
	struct xv_ct *ct;
	int socket = conf->socket_id;

	if (conf->capacity < XV_CT_CAPACITY_MIN ||
	    conf->capacity > XV_CT_CAPACITY_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	ct = rte_zmalloc_socket("xv_ct", sizeof(*ct), RTE_CACHE_LINE_SIZE, socket);
	if (ct == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	ct->capacity = conf->capacity;
	ct->rcu = conf->rcu;
	ct->hz = conf->hz != 0 ? conf->hz : rte_get_tsc_hz();
	/* The longest tick not over 1 ms, as a power of two of 'now'. */
	while ((ct->hz >> (ct->tick_shift + 1)) >= 1000)
		ct->tick_shift++;
	if (set_timeouts(ct, &conf->timeouts) != 0) {
		rte_errno = EINVAL;
		goto err_conf;
	}
	rte_spinlock_init(&ct->lock);

	snprintf(name, sizeof(name), "xv_ct%u",
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	/* A secret seed: nobody can aim packets at one bucket. */
	ct->table = ct_table_create(conf->capacity, socket, (uint32_t)rte_rand());
	if (ct->table == NULL)
		goto err_table;
	ct->limbo_mask = rte_align32pow2(ct->capacity) - 1;
	ct->limbo = rte_malloc_socket("xv_ct_limbo",
				      ((size_t)ct->limbo_mask + 1) * sizeof(uint32_t),
				      RTE_CACHE_LINE_SIZE, socket);
	if (ct->limbo == NULL)
		goto err_limbo;
	ct->stats = rte_zmalloc_socket("xv_ct_stats",
				       (RTE_MAX_LCORE + 1) * sizeof(*ct->stats),
				       RTE_CACHE_LINE_SIZE, socket);
	if (ct->stats == NULL)
		goto err_stats;
	CT_LOG(INFO, "%s: %u connections, tick 2^%u/%" PRIu64 " s",
	       name, ct->capacity, ct->tick_shift, ct->hz);
	return ct;

err_stats:
	rte_free(ct->limbo);
err_limbo:
	ct_table_free(ct->table);
err_table:
	rte_errno = ENOMEM;
err_conf:
	rte_free(ct);
	return NULL;
}

void
xv_ct_destroy(struct xv_ct *ct)
{
	if (ct == NULL)
		return;
	/* Positions in limbo go with the table: nobody reads them anymore. */
	rte_free(ct->stats);
	rte_free(ct->limbo);
	ct_table_free(ct->table);
	rte_free(ct);
}

const char *
xv_ct_state_name(enum xv_ct_state state)
{
	static const char *const names[XV_CT_STATE_MAX] = {
		[XV_CT_STATE_NONE] = "NONE",
		[XV_CT_TCP_SYN_SENT] = "SYN_SENT",
		[XV_CT_TCP_SYN_RECV] = "SYN_RECV",
		[XV_CT_TCP_ESTABLISHED] = "ESTABLISHED",
		[XV_CT_TCP_FIN_WAIT] = "FIN_WAIT",
		[XV_CT_TCP_TIME_WAIT] = "TIME_WAIT",
		[XV_CT_TCP_CLOSED] = "CLOSED",
		[XV_CT_UNREPLIED] = "UNREPLIED",
		[XV_CT_REPLIED] = "REPLIED",
	};

	return (unsigned int)state < XV_CT_STATE_MAX ? names[state] : "?";
}

const char *
xv_ct_verdict_name(enum xv_ct_verdict verdict)
{
	static const char *const names[XV_CT_VERDICT_MAX] = {
		[XV_CT_NEW] = "new",
		[XV_CT_ESTABLISHED] = "established",
		[XV_CT_RELATED] = "related",
		[XV_CT_INVALID] = "invalid",
		[XV_CT_UNTRACKED] = "untracked",
	};

	return (unsigned int)verdict < XV_CT_VERDICT_MAX ? names[verdict] : "?";
}

const char *
xv_ct_reason_name(enum xv_ct_reason reason)
{
	switch (reason) {
	case XV_CT_OK:
		return "ok";
	case XV_CT_BAD_FLAGS:
		return "bad_flags";
	case XV_CT_NO_CONN:
		return "no_conn";
	case XV_CT_BAD_STATE:
		return "bad_state";
	}
	return "?";
}
