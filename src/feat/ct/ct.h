/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection tracking: which packets belong to a known connection, in which
 * direction, and whether they are valid for its state.
 *
 * Concurrency scheme. The table (ct_table.h: lock-free readers, writers
 * serialized by the table's lock held for one insertion or deletion, never
 * across packets) maps a normalized key to a position, whose line holds the
 * key and one 64-bit word with everything that changes: state, expiry
 * time, which side opened the connection, zone. Workers update a word with a
 * single compare-and-swap; a state change and its timeout are one atomic
 * step, so two workers seeing the two directions of a connection at once
 * never lose each other's transition.
 *   - xv_ct_lookup and xv_ct_commit run on workers, concurrently. The calling
 *     thread must be an RCU reader of conf->rcu (reporting quiescent states
 *     between bursts, never in the middle of a call) and have an lcore id
 *     (EAL thread or rte_thread_register()).
 *   - Removal is claim-then-delete: whoever removes a connection (expiry,
 *     flush) first swaps its word to DEAD, so a worker refreshing it at that
 *     moment either wins (the connection lives) or loses (it is gone); nobody
 *     deletes a connection that was just used. The key is then deleted from
 *     the hash and its position waits in a limbo FIFO for an RCU grace period
 *     before it is reset and reused, so a worker that found the position
 *     before the deletion never sees it reused for another connection.
 *   - Expiry never relies on the sweep: a word whose expiry time has passed
 *     is treated as absent by lookup and commit at once; the sweep only
 *     returns memory. xv_ct_expire, xv_ct_flush and xv_ct_walk serialize on
 *     one maintenance spinlock (expire only tries it, so a worker calling it
 *     never waits); any thread with an lcore id may call them.
 *   - No allocation, lock, syscall or log on the packet path. Counters are
 *     per lcore and summed on read.
 * Nothing here waits for a grace period: freeing is deferred and done by
 * later xv_ct_expire calls once rte_rcu_qsbr_check says the readers moved on.
 */
#ifndef XV_CT_H
#define XV_CT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rte_rcu_qsbr;
struct xv_ct;

/* What the caller should do with a packet. */
enum xv_ct_verdict {
	/* No connection; this packet may open one (TCP SYN, any UDP or other
	 * datagram, ICMP echo request), or it is a TCP SYN reusing the tuple
	 * of a closed (TIME_WAIT, CLOSED) connection. Check the policy; if it
	 * allows the packet, forward it and call xv_ct_commit. */
	XV_CT_NEW,
	/* A valid packet of a tracked connection, in either direction
	 * ('dir'); its state and timeout were updated. Forward it. */
	XV_CT_ESTABLISHED,
	/* An ICMP error about a tracked connection. Forward it. */
	XV_CT_RELATED,
	/* Drop it ('reason' says why; it is counted). */
	XV_CT_INVALID,
	/* Not connection-oriented (ICMP types other than echo and errors):
	 * decide by policy alone; there is nothing to commit. */
	XV_CT_UNTRACKED,
	XV_CT_VERDICT_MAX
};

enum xv_ct_dir {
	XV_CT_DIR_ORIG,  /* from the side that opened the connection */
	XV_CT_DIR_REPLY, /* from the other side */
};

/* Connection states. TCP has its own; UDP, ICMP echo and every other
 * protocol are pseudo-connections that are UNREPLIED until the other side
 * has sent something valid. */
enum xv_ct_state {
	XV_CT_STATE_NONE,      /* no connection */
	XV_CT_TCP_SYN_SENT,    /* SYN seen */
	XV_CT_TCP_SYN_RECV,    /* SYN-ACK seen */
	XV_CT_TCP_ESTABLISHED, /* the handshake's ACK seen */
	XV_CT_TCP_FIN_WAIT,    /* one side sent FIN */
	XV_CT_TCP_TIME_WAIT,   /* both sides sent FIN */
	XV_CT_TCP_CLOSED,      /* RST seen */
	XV_CT_UNREPLIED,       /* only the originator has sent */
	XV_CT_REPLIED,         /* both sides have sent */
	XV_CT_STATE_MAX
};

/* Why a packet is XV_CT_INVALID. */
enum xv_ct_reason {
	XV_CT_OK,
	XV_CT_BAD_FLAGS, /* impossible TCP flags (none, SYN+FIN, SYN+RST, ...) */
	XV_CT_NO_CONN,   /* no connection and it cannot open one (TCP non-SYN,
			    ICMP echo reply, ICMP error about nothing known) */
	XV_CT_BAD_STATE, /* not valid in the connection's state (SYN-ACK from
			    the originator, ACK before the SYN-ACK, ...) */
};

/* What the parser knows about a packet. For an ICMP error, set
 * XV_CT_PKT_ICMP_ERROR and fill the tuple from the packet it quotes. */
struct xv_ct_pkt {
	uint8_t src[16];   /* IPv4: the first 4 bytes */
	uint8_t dst[16];
	uint16_t sport;    /* TCP, UDP (and SCTP, DCCP, UDP-Lite) ports; */
	uint16_t dport;    /* ICMP echo: the identifier on the requester's
			      side (sport of a request, dport of a reply),
			      0 on the other, so an echo each way with one
			      identifier are two connections (as in Linux);
			      else 0 */
	uint16_t zone;     /* the network: connections never cross zones */
	uint8_t ipv6;      /* 1 for IPv6 */
	uint8_t proto;     /* IPPROTO_* */
	uint8_t tcp_flags; /* TCP header flags byte */
	uint8_t icmp_type; /* ICMP, ICMPv6 */
	uint8_t flags;     /* XV_CT_PKT_* */
};
#define XV_CT_PKT_ICMP_ERROR 0x01

struct xv_ct_result {
	uint8_t verdict; /* enum xv_ct_verdict */
	uint8_t dir;     /* enum xv_ct_dir (ORIG when there is no connection) */
	uint8_t state;   /* enum xv_ct_state after the packet */
	uint8_t reason;  /* enum xv_ct_reason */
};

/* Timeouts in seconds after the last valid packet; 0 takes the default.
 * At most XV_CT_TIMEOUT_MAX. */
struct xv_ct_timeouts {
	uint32_t tcp_syn;       /* SYN_SENT, SYN_RECV: 30 */
	uint32_t tcp_est;       /* ESTABLISHED: 432000 (5 days) */
	uint32_t tcp_fin;       /* FIN_WAIT: 120 */
	uint32_t tcp_time_wait; /* TIME_WAIT: 120 */
	uint32_t tcp_close;     /* CLOSED: 10 */
	uint32_t udp_first;     /* UDP and others, UNREPLIED: 30 */
	uint32_t udp_est;       /* UDP and others, REPLIED: 180 */
	uint32_t icmp;          /* ICMP echo, both states: 30 */
};
#define XV_CT_TIMEOUT_MAX (10 * 86400)

struct xv_ct_conf {
	uint32_t capacity;        /* connections, XV_CT_CAPACITY_MIN..MAX */
	struct rte_rcu_qsbr *rcu; /* the workers' QSBR variable; NULL only if
				     one thread does everything */
	uint64_t hz;              /* units of 'now' per second; 0: TSC hz */
	struct xv_ct_timeouts timeouts;
	int socket_id;            /* SOCKET_ID_ANY is fine */
};
#define XV_CT_CAPACITY_MIN 64
#define XV_CT_CAPACITY_MAX (1u << 28)

/* Counters, summed over threads. The gauges at the end are not counters. */
#define XV_CT_STATS(X) \
	X(lookups,         "packets looked up") \
	X(new,             "verdict NEW") \
	X(established,     "verdict ESTABLISHED") \
	X(related,         "verdict RELATED") \
	X(untracked,       "verdict UNTRACKED") \
	X(invalid_flags,   "invalid: impossible TCP flags") \
	X(invalid_no_conn, "invalid: no connection and cannot open one") \
	X(invalid_state,   "invalid: not valid in the connection's state") \
	X(created,         "connections created") \
	X(reopened,        "connections restarted over an expired or closed one") \
	X(full,            "commits refused: table full") \
	X(busy,            "commits refused: the same tuple was being removed") \
	X(expired,         "connections removed by expiry") \
	X(flushed,         "connections removed by flush")

struct xv_ct_stats {
#define XV_CT_STAT_FIELD(name, help) uint64_t name;
	XV_CT_STATS(XV_CT_STAT_FIELD)
#undef XV_CT_STAT_FIELD
	uint64_t used;  /* positions in use, including those in limbo */
	uint64_t limbo; /* removed, waiting for a grace period */
};

/* A connection as listed, seen from its originator. */
struct xv_ct_entry {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;      /* ICMP echo: sport = identifier, dport = 0 */
	uint16_t dport;
	uint16_t zone;
	uint8_t ipv6;
	uint8_t proto;
	uint8_t state;       /* enum xv_ct_state */
	uint32_t expires_ms; /* time left */
};

/* Called for each listed connection; non-zero stops the walk. Runs under
 * the maintenance lock: must not call xv_ct_expire/flush/walk. */
typedef int (*xv_ct_walk_fn)(const struct xv_ct_entry *e, void *arg);

/* Control thread. Returns a table, or NULL with rte_errno set (EINVAL: bad
 * 'conf', ENOMEM). Memory for a capacity of 1M is about 150 MB. */
struct xv_ct *xv_ct_create(const struct xv_ct_conf *conf);

/* Control thread, after every reader has stopped or gone offline. NULL is
 * fine. */
void xv_ct_destroy(struct xv_ct *ct);

/*
 * Workers. Look up 'n' packets, apply each to its connection's state machine
 * in order and write 'res[i]' for 'pkts[i]'. Packets of one burst see each
 * other's updates; a NEW packet is not committed, so a later NEW packet of
 * the same tuple in the burst is NEW too. 'now' is in units of conf->hz and
 * must not go backwards by more than a tick (~1 ms) between threads.
 * Returns how many results are neither ESTABLISHED nor RELATED: when none
 * are, every packet simply goes on.
 */
unsigned int xv_ct_lookup(struct xv_ct *ct, const struct xv_ct_pkt *const *pkts,
			  struct xv_ct_result *res, unsigned int n, uint64_t now);

/*
 * Workers. Track the connection 'pkt' opens, after the policy allowed a NEW
 * packet. Returns 0 when the connection exists afterwards (created, reopened
 * over a closed one, or created meanwhile by another thread and valid for
 * this packet); -ENOSPC when the table is full; -EBUSY when the same tuple is
 * being removed at this instant (drop, the sender retries); -EINVAL when
 * 'pkt' cannot open a connection or is invalid for the one that appeared
 * meanwhile. ENOSPC and EBUSY are counted (full, busy).
 */
int xv_ct_commit(struct xv_ct *ct, const struct xv_ct_pkt *pkt, uint64_t now);

/*
 * Any thread with an lcore id; workers may call it with a small quota.
 * Frees up to 'quota' positions whose grace period has passed, then examines
 * the next 'quota' positions of the table (round robin) and removes the
 * connections that expired by 'now'. Returns how many it removed; 0 at once
 * if another thread is doing maintenance. xv_ct_slots() positions make a
 * full round.
 */
unsigned int xv_ct_expire(struct xv_ct *ct, uint64_t now, unsigned int quota);

/* Control thread. Remove every connection of 'zone' (-1: all zones).
 * Returns how many of them had not expired by 'now'. Takes time
 * proportional to the table's size. */
unsigned int xv_ct_flush(struct xv_ct *ct, int zone, uint64_t now);

/* Any thread. Unexpired connections of 'zone' (-1: all zones) at 'now'. */
unsigned int xv_ct_count(const struct xv_ct *ct, int zone, uint64_t now);

/* Control thread. Call 'fn' for each unexpired connection of 'zone' (-1:
 * all); returns how many were visited. */
unsigned int xv_ct_walk(struct xv_ct *ct, int zone, uint64_t now,
			xv_ct_walk_fn fn, void *arg);

/* Any thread. Sum of every thread's counters, plus the gauges. */
void xv_ct_stats_read(const struct xv_ct *ct, struct xv_ct_stats *stats);

/* Positions in the table (capacity plus per-lcore cache slack). */
uint32_t xv_ct_slots(const struct xv_ct *ct);

/* Names for display: "ESTABLISHED", "TIME_WAIT", "new", "bad_flags"... */
const char *xv_ct_state_name(enum xv_ct_state state);
const char *xv_ct_verdict_name(enum xv_ct_verdict verdict);
const char *xv_ct_reason_name(enum xv_ct_reason reason);

/* Is ICMP (ipv6 = 0) or ICMPv6 (ipv6 = 1) type 'type' an error message
 * that quotes a packet (for the parser setting XV_CT_PKT_ICMP_ERROR)? */
static inline bool
xv_ct_icmp_is_error(int ipv6, uint8_t type)
{
	if (ipv6)
		return type >= 1 && type <= 4;
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

#endif /* XV_CT_H */
