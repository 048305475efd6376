/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside the conntrack module: the table, the layout of a connection's word
 * and the per-protocol state machines (ct_tcp.c, ct_icmp.c, the datagram
 * one here) that ct.c drives. See ct.h for the concurrency scheme.
 */
#ifndef XV_CT_PRIVATE_H
#define XV_CT_PRIVATE_H

#include <stdint.h>

#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_spinlock.h>

#include "ct.h"

/*
 * One 64-bit word per key position, changed only by compare-and-swap:
 *   bits  0-31  expiry, in ticks (wrapping; compared as signed differences)
 *   bits 32-39  state: CT_FREE, an enum xv_ct_state, or CT_DEAD
 *   bits 40-41  protocol flags (TCP: FIN seen from ORIG, from REPLY)
 *   bit  42     the normalized key side that opened the connection
 *   bits 48-63  zone (so counting a zone reads no key)
 * The low 16 bits of the upper half (state | flags << 8) are the "proto
 * state" the state machines work on.
 */
#define CT_FREE 0    /* no connection at this position */
#define CT_DEAD 0xff /* claimed for removal */

#define W_EXP(w) ((uint32_t)(w))
#define W_ST(w) ((uint8_t)((w) >> 32))
#define W_PST(w) ((uint16_t)(((w) >> 32) & 0x3ff))
#define W_SIDE(w) ((unsigned int)((w) >> 42) & 1)
#define W_ZONE(w) ((uint16_t)((w) >> 48))
#define W_LIVE(w) (W_ST(w) != CT_FREE && W_ST(w) != CT_DEAD)

#define PST_ST(pst) ((pst) & 0xff)
#define PST_FLAGS(pst) ((pst) >> 8)
#define PST(st, flags) ((uint16_t)((st) | (flags) << 8))

static inline uint64_t
ct_word(uint16_t zone, unsigned int side, uint16_t pst, uint32_t exp)
{
	return (uint64_t)zone << 48 | (uint64_t)side << 42 |
	       (uint64_t)pst << 32 | exp;
}

/* 'exp' has passed at 'tick'. */
static inline int
ct_expired(uint32_t exp, uint32_t tick)
{
	return (int32_t)(tick - exp) >= 0;
}

/*
 * The hash key: both directions of a connection give the same key, the
 * (address, port) side that compares lower first. 48 bytes: three vector
 * compares, and with its word it fills one cache line (ct_table.h).
 * The small fields come first: with an IPv4 key's 4-byte addresses, the
 * bytes that can differ are the first 8 and two words (ct_key_hash).
 */
struct ct_key {
	uint16_t port[2];
	uint16_t zone;
	uint8_t proto;
	uint8_t ipv6;
	uint8_t addr[2][16]; /* IPv4: the first 4 bytes, the rest 0 */
	uint64_t pad;
};
_Static_assert(sizeof(struct ct_key) == 48, "a key and its word fill one line");

/* What a state machine says about a packet on a connection. */
#define CT_NEXT_INVALID 0xffff /* not valid in this state */
#define CT_NEXT_REOPEN 0xfffe  /* starts a new connection over this one */

/* The state machines; each also names its row of timeouts. */
enum ct_proto {
	CT_PROTO_TCP,   /* ct_tcp.c */
	CT_PROTO_DGRAM, /* UDP and every protocol without a machine of its own */
	CT_PROTO_ICMP,  /* ICMP/ICMPv6 echo, ct_icmp.c */
	CT_PROTO_MAX
};

/* Events are per protocol, except these two. */
#define CT_EV_BAD 0xff       /* can never be valid */
#define CT_EV_UNTRACKED 0xfe /* not part of any connection */
#define CT_EV_RELATED 0xfd   /* (ct.c) an ICMP error's quoted packet */

/*
 * Each state machine is three pure functions on small integers, so ct.c can
 * compute a transition and publish it with one compare-and-swap (and retry
 * on a new state if another worker got there first):
 *   event(pkt)          the packet's event code (protocol specific),
 *                       CT_EV_BAD if it can never be valid, CT_EV_UNTRACKED
 *                       if it is not part of any connection;
 *   open(ev)            the proto state of a connection 'ev' opens, or
 *                       XV_CT_STATE_NONE if 'ev' cannot open one;
 *   next(pst, dir, ev)  the proto state after 'ev' from 'dir' in 'pst', or
 *                       CT_NEXT_INVALID / CT_NEXT_REOPEN.
 * ct_proto_event/open/next dispatch with a switch: direct calls, and the
 * datagram machine (most of the traffic) inline.
 */
uint8_t ct_tcp_event(const struct xv_ct_pkt *pkt);
uint16_t ct_tcp_open(uint8_t ev);
uint16_t ct_tcp_next(uint16_t pst, unsigned int dir, uint8_t ev);
uint8_t ct_icmp_event(const struct xv_ct_pkt *pkt);
uint16_t ct_icmp_open(uint8_t ev);
uint16_t ct_icmp_next(uint16_t pst, unsigned int dir, uint8_t ev);

/* The datagram machine: any packet opens a pseudo-connection, UNREPLIED
 * until the other side sends, REPLIED after. Nothing is invalid once the
 * connection exists. */
#define CT_DGRAM_EV 0
static inline uint16_t
ct_dgram_next(uint16_t pst, unsigned int dir)
{
	if (PST_ST(pst) != XV_CT_UNREPLIED && PST_ST(pst) != XV_CT_REPLIED)
		return CT_NEXT_INVALID;
	return dir == XV_CT_DIR_REPLY ? PST(XV_CT_REPLIED, 0) : pst;
}

static inline uint8_t
ct_proto_event(enum ct_proto p, const struct xv_ct_pkt *pkt)
{
	switch (p) {
	case CT_PROTO_TCP:
		return ct_tcp_event(pkt);
	case CT_PROTO_ICMP:
		return ct_icmp_event(pkt);
	default:
		return CT_DGRAM_EV;
	}
}

static inline uint16_t
ct_proto_open(enum ct_proto p, uint8_t ev)
{
	switch (p) {
	case CT_PROTO_TCP:
		return ct_tcp_open(ev);
	case CT_PROTO_ICMP:
		return ct_icmp_open(ev);
	default:
		return PST(XV_CT_UNREPLIED, 0);
	}
}

static inline uint16_t
ct_proto_next(enum ct_proto p, uint16_t pst, unsigned int dir, uint8_t ev)
{
	switch (p) {
	case CT_PROTO_TCP:
		return ct_tcp_next(pst, dir, ev);
	case CT_PROTO_ICMP:
		return ct_icmp_next(pst, dir, ev);
	default:
		return ct_dgram_next(pst, dir);
	}
}

/* Removed positions waiting for a grace period: a FIFO of positions cut
 * into batches, each closed with one RCU token. */
#define CT_BATCHES 256
struct ct_batch {
	uint64_t token;
	uint32_t end; /* limbo index one past the batch's last position */
};

struct ct_lcore_stats {
	uint64_t v[0
#define XV_CT_STAT_COUNT(name, help) + 1
		   XV_CT_STATS(XV_CT_STAT_COUNT)
#undef XV_CT_STAT_COUNT
	];
} __rte_cache_aligned;

enum ct_stat {
#define XV_CT_STAT_ENUM(name, help) CT_STAT_##name,
	XV_CT_STATS(XV_CT_STAT_ENUM)
#undef XV_CT_STAT_ENUM
	CT_STAT_MAX
};

struct ct_table;

struct xv_ct {
	/* Read by workers, set at creation. */
	struct ct_table *table;  /* keys and words, by position */
	uint32_t capacity;       /* connections, and positions */
	unsigned int tick_shift; /* tick = now >> tick_shift (<= 1 ms) */
	uint32_t tmo[CT_PROTO_MAX][XV_CT_STATE_MAX]; /* in ticks */
	uint32_t slack[CT_PROTO_MAX][XV_CT_STATE_MAX]; /* see refresh() */
	uint64_t hz;
	struct rte_rcu_qsbr *rcu;
	struct ct_lcore_stats *stats; /* RTE_MAX_LCORE + 1 (shared slot) */

	/* Maintenance: expire, flush, walk. */
	rte_spinlock_t lock __rte_cache_aligned;
	uint32_t cursor;          /* next position expire examines */
	uint32_t *limbo;          /* positions waiting for a grace period */
	uint32_t limbo_mask;
	uint32_t limbo_head, limbo_tail; /* free running */
	struct ct_batch batches[CT_BATCHES];
	uint32_t batch_head, batch_tail; /* free running */
};

#endif /* XV_CT_PRIVATE_H */
