/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Conntrack semantics (one thread): directed cases for each state machine,
 * zones, expiry, flush, capacity; then a differential test where random
 * packet sequences over a few hundred flows (both directions, valid and
 * invalid TCP flags, UDP, ICMP echo and errors, other protocols, time
 * jumping so connections expire, the clock wrapping) go through the real
 * table and the naive list model (tests/ref/ct_ref.c), compared packet by
 * packet, along with counts and listings. It runs once without RCU and once
 * with a grace period between bursts, and once against a model with other
 * timeouts to show that the comparison can fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "ct.h"
#include "tap.h"
/* The reference model is a test-only source: built into this test. */
#include "../ref/ct_ref.h"
#include "../ref/ct_ref.c"

#define HZ 1000 /* the tests' clock runs in milliseconds */
#define SYN 0x02
#define ACK 0x10
#define FIN 0x01
#define RST 0x04
#define PSH 0x08

static struct xv_ct_pkt
pkt4(uint16_t zone, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
     uint16_t dport, uint8_t flags)
{
	struct xv_ct_pkt p;

	memset(&p, 0, sizeof(p));
	p.src[0] = src >> 24;
	p.src[1] = src >> 16;
	p.src[2] = src >> 8;
	p.src[3] = src;
	p.dst[0] = dst >> 24;
	p.dst[1] = dst >> 16;
	p.dst[2] = dst >> 8;
	p.dst[3] = dst;
	p.sport = sport;
	p.dport = dport;
	p.zone = zone;
	p.proto = proto;
	p.tcp_flags = flags;
	return p;
}

static struct xv_ct_pkt
rev(const struct xv_ct_pkt *p, uint8_t flags)
{
	struct xv_ct_pkt r = *p;

	memcpy(r.src, p->dst, 16);
	memcpy(r.dst, p->src, 16);
	/* An ICMP echo's identifier stays on the requester's side, as a
	 * port does. */
	r.sport = p->dport;
	r.dport = p->sport;
	r.tcp_flags = flags;
	return r;
}

static struct xv_ct_pkt
with_flags(const struct xv_ct_pkt *p, uint8_t flags)
{
	struct xv_ct_pkt r = *p;

	r.tcp_flags = flags;
	return r;
}

static struct xv_ct_result
one(struct xv_ct *ct, struct xv_ct_pkt p, uint64_t now)
{
	const struct xv_ct_pkt *pp = &p;
	struct xv_ct_result r;

	xv_ct_lookup(ct, &pp, &r, 1, now);
	return r;
}

static int
is(struct xv_ct_result r, int verdict, int dir, int state)
{
	if (r.verdict == verdict && r.dir == dir && r.state == state)
		return 1;
	printf("# got %s dir %d %s (%s), want %s dir %d %s\n",
	       xv_ct_verdict_name(r.verdict), r.dir, xv_ct_state_name(r.state),
	       xv_ct_reason_name(r.reason), xv_ct_verdict_name(verdict), dir,
	       xv_ct_state_name(state));
	return 0;
}

static int
is_invalid(struct xv_ct_result r, int reason)
{
	if (r.verdict == XV_CT_INVALID && r.reason == reason)
		return 1;
	printf("# got %s (%s), want invalid (%s)\n", xv_ct_verdict_name(r.verdict),
	       xv_ct_reason_name(r.reason), xv_ct_reason_name(reason));
	return 0;
}

static const struct xv_ct_timeouts short_tmo = {
	.tcp_syn = 2, .tcp_est = 20, .tcp_fin = 3, .tcp_time_wait = 2,
	.tcp_close = 1, .udp_first = 2, .udp_est = 5, .icmp = 1,
};

static struct xv_ct *
make(uint32_t capacity, struct rte_rcu_qsbr *rcu, const struct xv_ct_timeouts *t)
{
	struct xv_ct_conf conf = {
		.capacity = capacity, .rcu = rcu, .hz = HZ, .socket_id = SOCKET_ID_ANY,
	};

	if (t != NULL)
		conf.timeouts = *t;
	return xv_ct_create(&conf);
}

#define EST XV_CT_ESTABLISHED
#define O XV_CT_DIR_ORIG
#define R XV_CT_DIR_REPLY

static void
test_tcp(void)
{
	struct xv_ct *ct = make(1024, NULL, &short_tmo);
	struct xv_ct_pkt syn = pkt4(1, 6, 0xc6120001, 0xc6120002, 40000, 80, SYN);
	uint64_t t = 1000;

	check(is(one(ct, syn, t), XV_CT_NEW, O, XV_CT_STATE_NONE), "tcp: SYN is NEW");
	check(xv_ct_commit(ct, &syn, t) == 0, "tcp: commit the SYN");
	check(is(one(ct, syn, t), EST, O, XV_CT_TCP_SYN_SENT), "tcp: SYN retransmit is part of it");
	check(is_invalid(one(ct, with_flags(&syn, ACK), t), XV_CT_BAD_STATE),
	      "tcp: ACK from the client before the SYN-ACK is invalid");
	check(is_invalid(one(ct, with_flags(&syn, SYN | ACK), t), XV_CT_BAD_STATE),
	      "tcp: SYN-ACK from the client is invalid");
	check(is(one(ct, rev(&syn, SYN | ACK), t), EST, R, XV_CT_TCP_SYN_RECV),
	      "tcp: SYN-ACK from the server passes as reply");
	check(is(one(ct, with_flags(&syn, ACK), t), EST, O, XV_CT_TCP_ESTABLISHED),
	      "tcp: the handshake's ACK establishes");
	check(is(one(ct, rev(&syn, ACK | PSH), t), EST, R, XV_CT_TCP_ESTABLISHED),
	      "tcp: data from the server");
	check(is(one(ct, rev(&syn, SYN | ACK), t), EST, R, XV_CT_TCP_ESTABLISHED),
	      "tcp: SYN-ACK retransmit when established");
	check(is_invalid(one(ct, with_flags(&syn, SYN), t), XV_CT_BAD_STATE),
	      "tcp: SYN on an established connection is invalid");
	check(is_invalid(one(ct, with_flags(&syn, SYN | FIN), t), XV_CT_BAD_FLAGS),
	      "tcp: SYN+FIN is invalid");
	check(is_invalid(one(ct, with_flags(&syn, SYN | RST), t), XV_CT_BAD_FLAGS),
	      "tcp: SYN+RST is invalid");
	check(is_invalid(one(ct, with_flags(&syn, 0), t), XV_CT_BAD_FLAGS),
	      "tcp: no flags is invalid");
	check(is_invalid(one(ct, with_flags(&syn, FIN), t), XV_CT_BAD_FLAGS),
	      "tcp: FIN without ACK is invalid");
	check(is(one(ct, with_flags(&syn, FIN | ACK), t), EST, O, XV_CT_TCP_FIN_WAIT),
	      "tcp: FIN from the client");
	check(is(one(ct, rev(&syn, ACK), t), EST, R, XV_CT_TCP_FIN_WAIT),
	      "tcp: its ACK");
	check(is(one(ct, rev(&syn, FIN | ACK), t), EST, R, XV_CT_TCP_TIME_WAIT),
	      "tcp: FIN from the server: TIME_WAIT");
	check(is(one(ct, with_flags(&syn, ACK), t), EST, O, XV_CT_TCP_TIME_WAIT),
	      "tcp: the last ACK");
	check(is(one(ct, with_flags(&syn, SYN), t), XV_CT_NEW, O, XV_CT_TCP_TIME_WAIT),
	      "tcp: a SYN reusing the tuple is NEW");
	check(xv_ct_commit(ct, &syn, t) == 0, "tcp: commit reopens");
	check(is(one(ct, syn, t), EST, O, XV_CT_TCP_SYN_SENT), "tcp: reopened in SYN_SENT");
	check(is(one(ct, rev(&syn, RST | ACK), t), EST, R, XV_CT_TCP_CLOSED),
	      "tcp: RST from the server closes");
	check(is(one(ct, rev(&syn, SYN), t + 1), XV_CT_NEW, O, XV_CT_TCP_CLOSED),
	      "tcp: the server's SYN on a closed connection is NEW");
	{
		struct xv_ct_pkt s2 = rev(&syn, SYN);

		check(xv_ct_commit(ct, &s2, t + 1) == 0 &&
		      is(one(ct, with_flags(&syn, SYN | ACK), t + 1), EST, R, XV_CT_TCP_SYN_RECV),
		      "tcp: reopened the other way round: the client is now the reply side");
	}

	/* Stateful: replies only to what was committed. */
	{
		struct xv_ct_pkt s = pkt4(1, 6, 0xc6120001, 0xc6120003, 40001, 22, SYN);

		check(is(one(ct, s, t), XV_CT_NEW, O, XV_CT_STATE_NONE), "tcp: SYN to a denied port is NEW");
		check(is_invalid(one(ct, rev(&s, SYN | ACK), t), XV_CT_NO_CONN),
		      "tcp: a SYN-ACK for an uncommitted SYN is invalid");
		check(is_invalid(one(ct, with_flags(&s, ACK), t), XV_CT_NO_CONN),
		      "tcp: ACK opening a connection is invalid");
		check(is_invalid(one(ct, with_flags(&s, RST), t), XV_CT_NO_CONN),
		      "tcp: RST for no connection is invalid");
		check(xv_ct_commit(ct, &(struct xv_ct_pkt){ .proto = 6, .tcp_flags = ACK }, t) == -EINVAL,
		      "tcp: committing an ACK is refused");
		check(xv_ct_commit(ct, &s, t) == 0, "tcp: commit");
		{
			struct xv_ct_pkt r = rev(&s, SYN);

			check(xv_ct_commit(ct, &r, t) == -EINVAL,
			      "tcp: simultaneous open (the server's SYN) is refused");
		}
	}

	/* Timeouts per state. */
	{
		struct xv_ct_pkt s = pkt4(3, 6, 0xc6120001, 0xc6120004, 40002, 80, SYN);

		t = 100000;
		xv_ct_commit(ct, &s, t);
		check(is(one(ct, rev(&s, SYN | ACK), t + 1999), EST, R, XV_CT_TCP_SYN_RECV),
		      "tcp: SYN_SENT lives tcp_syn");
		check(is_invalid(one(ct, with_flags(&s, ACK), t + 1999 + 2000), XV_CT_NO_CONN),
		      "tcp: and no longer");
		check(xv_ct_count(ct, 3, t + 1999 + 2000) == 0,
		      "tcp: an expired connection is not counted, even before the sweep");
		xv_ct_commit(ct, &s, t);
		one(ct, rev(&s, SYN | ACK), t);
		one(ct, with_flags(&s, ACK), t);
		check(is(one(ct, with_flags(&s, ACK), t + 19999), EST, O, XV_CT_TCP_ESTABLISHED),
		      "tcp: ESTABLISHED lives tcp_est after each packet");
		check(is(one(ct, with_flags(&s, ACK), t + 39998), EST, O, XV_CT_TCP_ESTABLISHED),
		      "tcp: ... refreshed by the last one");
		check(is_invalid(one(ct, with_flags(&s, ACK), t + 39998 + 20000), XV_CT_NO_CONN),
		      "tcp: ... and then expires");
		check(xv_ct_commit(ct, &s, t + 60000) == 0 &&
		      is(one(ct, s, t + 60000), EST, O, XV_CT_TCP_SYN_SENT),
		      "tcp: a new SYN over an expired but unswept connection starts afresh");
	}
	xv_ct_destroy(ct);
}

static void
test_udp_icmp(void)
{
	struct xv_ct *ct = make(1024, NULL, &short_tmo);
	struct xv_ct_pkt u = pkt4(1, 17, 0xc6120001, 0xc6120002, 5000, 53, 0);
	struct xv_ct_pkt e = pkt4(1, 1, 0xc6120001, 0xc6120002, 77, 0, 0);
	struct xv_ct_pkt err, x;
	uint64_t t = 5000;

	check(is(one(ct, rev(&u, 0), t), XV_CT_NEW, O, XV_CT_STATE_NONE),
	      "udp: anything opens (even from the 'server')");
	check(xv_ct_commit(ct, &u, t) == 0, "udp: commit");
	check(is(one(ct, u, t), EST, O, XV_CT_UNREPLIED), "udp: again from the client");
	check(is(one(ct, u, t + 1999), EST, O, XV_CT_UNREPLIED), "udp: unreplied lives udp_first");
	check(is(one(ct, rev(&u, 0), t + 3999), XV_CT_NEW, O, XV_CT_STATE_NONE),
	      "udp: ... and no longer: the reply is NEW then");
	check(xv_ct_commit(ct, &u, t + 4000) == 0 &&
	      is(one(ct, rev(&u, 0), t + 4000), EST, R, XV_CT_REPLIED), "udp: reply");
	check(is(one(ct, u, t + 8999), EST, O, XV_CT_REPLIED), "udp: replied lives udp_est");

	e.icmp_type = 8;
	check(is(one(ct, e, t), XV_CT_NEW, O, XV_CT_STATE_NONE), "icmp: echo request is NEW");
	x = rev(&e, 0);
	x.icmp_type = 0;
	check(is_invalid(one(ct, x, t), XV_CT_NO_CONN), "icmp: unsolicited echo reply is invalid");
	check(xv_ct_commit(ct, &x, t) == -EINVAL, "icmp: and cannot be committed");
	check(xv_ct_commit(ct, &e, t) == 0, "icmp: commit the request");
	check(is(one(ct, x, t), EST, R, XV_CT_REPLIED), "icmp: the reply passes");
	x.icmp_type = 8;
	check(is_invalid(one(ct, x, t), XV_CT_BAD_STATE),
	      "icmp: a request shaped as the reply (the id on the other side) is invalid");
	x = pkt4(1, 1, 0xc6120002, 0xc6120001, 77, 0, 0);
	x.icmp_type = 8;
	check(is(one(ct, x, t), XV_CT_NEW, O, XV_CT_STATE_NONE),
	      "icmp: a request the other way with the same id is another connection");
	x = e;
	x.sport = 78;
	check(is(one(ct, x, t), XV_CT_NEW, O, XV_CT_STATE_NONE), "icmp: another identifier is another connection");
	x.icmp_type = 13;
	check(is(one(ct, x, t), XV_CT_UNTRACKED, O, XV_CT_STATE_NONE), "icmp: timestamp is untracked");
	check(xv_ct_commit(ct, &x, t) == -EINVAL, "icmp: untracked cannot be committed");

	/* Port unreachable from the server quoting the client's datagram. */
	err = u;
	err.flags = XV_CT_PKT_ICMP_ERROR;
	check(is(one(ct, err, t + 4000), XV_CT_RELATED, R, XV_CT_REPLIED),
	      "icmp error quoting the client's datagram: RELATED, reply direction");
	err = rev(&u, 0);
	err.flags = XV_CT_PKT_ICMP_ERROR;
	check(is(one(ct, err, t + 4000), XV_CT_RELATED, O, XV_CT_REPLIED),
	      "icmp error quoting the server's datagram: RELATED, original direction");
	err.sport = 9;
	check(is_invalid(one(ct, err, t + 4000), XV_CT_NO_CONN), "icmp error about nothing known is invalid");
	check(xv_ct_commit(ct, &err, t) == -EINVAL, "icmp error cannot be committed");

	/* Zones. */
	x = u;
	x.zone = 2;
	check(is(one(ct, x, t + 4000), XV_CT_NEW, O, XV_CT_STATE_NONE),
	      "zones: the same tuple in another zone is another connection");
	check(xv_ct_commit(ct, &x, t + 4000) == 0, "zones: commit there");
	/* Zone 1 holds the UDP connection (the ICMP one expired). */
	check(xv_ct_count(ct, 2, t + 4000) == 1 && xv_ct_count(ct, 1, t + 4000) == 1 &&
	      xv_ct_count(ct, -1, t + 4000) == 2 && xv_ct_count(ct, 0, t + 4000) == 0,
	      "zones: counted per zone (%u %u %u)", xv_ct_count(ct, 2, t + 4000),
	      xv_ct_count(ct, 1, t + 4000), xv_ct_count(ct, -1, t + 4000));
	check(xv_ct_flush(ct, 1, t + 4000) == 1 && xv_ct_count(ct, -1, t + 4000) == 1 &&
	      is(one(ct, x, t + 4000), EST, O, XV_CT_UNREPLIED),
	      "zones: flushing zone 1 leaves zone 2");

	/* Both directions seen NEW before either is committed. */
	{
		struct xv_ct_pkt a = pkt4(4, 17, 0xc6120005, 0xc6120006, 1, 2, 0), b = rev(&a, 0);
		const struct xv_ct_pkt *pp[2] = { &a, &b };
		struct xv_ct_result r[2];

		xv_ct_lookup(ct, pp, r, 2, t);
		check(r[0].verdict == XV_CT_NEW && r[1].verdict == XV_CT_NEW,
		      "race: both directions NEW in one burst");
		check(xv_ct_commit(ct, &a, t) == 0 && xv_ct_commit(ct, &b, t) == 0,
		      "race: both commits succeed");
		check(xv_ct_count(ct, 4, t) == 1 && is(one(ct, a, t), EST, O, XV_CT_REPLIED),
		      "race: one connection, the second commit counted as its reply");
	}

	/* IPv6, ICMPv6. */
	{
		struct xv_ct_pkt s, r;

		memset(&s, 0, sizeof(s));
		s.ipv6 = 1;
		s.proto = 6;
		s.zone = 5;
		s.src[0] = 0x20;
		s.src[1] = 0x01;
		s.src[15] = 1;
		memcpy(s.dst, s.src, 16);
		s.dst[15] = 2;
		s.dst[8] = 0xff; /* differs beyond the first 4 bytes */
		s.sport = 1234;
		s.dport = 443;
		s.tcp_flags = SYN;
		check(xv_ct_commit(ct, &s, t) == 0 &&
		      is(one(ct, rev(&s, SYN | ACK), t), EST, R, XV_CT_TCP_SYN_RECV),
		      "ipv6: handshake");
		r = s;
		r.dst[8] = 0xfe;
		r.tcp_flags = ACK;
		check(is_invalid(one(ct, r, t), XV_CT_NO_CONN), "ipv6: all 16 bytes count");
		s.proto = 58;
		s.icmp_type = 128;
		s.sport = 9;
		r = rev(&s, 0);
		r.icmp_type = 129;
		check(xv_ct_commit(ct, &s, t) == 0 && is(one(ct, r, t), EST, R, XV_CT_REPLIED),
		      "icmpv6: echo request and reply");
		s.icmp_type = 135;
		check(is(one(ct, s, t), XV_CT_UNTRACKED, O, XV_CT_STATE_NONE),
		      "icmpv6: neighbour solicitation is untracked");
	}
	xv_ct_destroy(ct);
}

struct walk_acc {
	struct xv_ct_entry e[4096];
	unsigned int n;
};

static int
walk_collect(const struct xv_ct_entry *e, void *arg)
{
	struct walk_acc *a = arg;

	if (a->n < RTE_DIM(a->e))
		a->e[a->n++] = *e;
	return 0;
}

static void
test_walk_capacity(void)
{
	struct xv_ct *ct = make(64, NULL, &short_tmo);
	static struct walk_acc acc;
	struct xv_ct_pkt p = pkt4(7, 17, 0xc6120009, 0xc6120001, 999, 53, 0);
	struct xv_ct_stats st;
	unsigned int i, ok = 0;
	uint64_t t = 1000;

	/* The originator is listed as source, whichever side sorts first. */
	xv_ct_commit(ct, &p, t);
	acc.n = 0;
	xv_ct_walk(ct, -1, t + 500, walk_collect, &acc);
	check(acc.n == 1 && memcmp(acc.e[0].src, p.src, 16) == 0 &&
	      memcmp(acc.e[0].dst, p.dst, 16) == 0 && acc.e[0].sport == 999 &&
	      acc.e[0].dport == 53 && acc.e[0].zone == 7 && acc.e[0].proto == 17 &&
	      acc.e[0].state == XV_CT_UNREPLIED && acc.e[0].expires_ms == 1500,
	      "walk: lists the connection as its originator sent it");

	/* UDP UNREPLIED: timeout 2 s, slack 250 ms (an eighth). A packet less
	 * than the slack after the last refresh leaves the expiry alone (no
	 * write); one later moves it a full timeout ahead. */
	one(ct, p, t + 200);
	acc.n = 0;
	xv_ct_walk(ct, -1, t + 200, walk_collect, &acc);
	check(acc.n == 1 && acc.e[0].expires_ms == 1800,
	      "refresh: within the slack the expiry stays (%u ms left)", acc.e[0].expires_ms);
	one(ct, p, t + 300);
	acc.n = 0;
	xv_ct_walk(ct, -1, t + 300, walk_collect, &acc);
	check(acc.n == 1 && acc.e[0].expires_ms == 2000,
	      "refresh: past the slack it moves a full timeout ahead (%u ms left)",
	      acc.e[0].expires_ms);

	for (i = 1; i < 70; i++) {
		struct xv_ct_pkt q = pkt4(7, 17, 0xc6120009, 0xc6120001, 999 + i, 53, 0);

		if (xv_ct_commit(ct, &q, t) == 0)
			ok++;
	}
	xv_ct_stats_read(ct, &st);
	check(ok == 63 && st.full == 6 && st.created == 64 && st.used == 64,
	      "capacity: 64 fit, then -ENOSPC, counted (ok %u full %" PRIu64 " used %" PRIu64 ")",
	      ok, st.full, st.used);
	check(xv_ct_expire(ct, t + 2300, xv_ct_slots(ct)) == 64,
	      "capacity: expiry removes them all");
	xv_ct_stats_read(ct, &st);
	check(st.used == 0 && st.expired == 64, "capacity: and frees their positions");
	check(xv_ct_commit(ct, &p, t + 2000) == 0, "capacity: room again");

	check(make(64, NULL, &(struct xv_ct_timeouts){ .tcp_est = XV_CT_TIMEOUT_MAX + 1 }) == NULL &&
	      rte_errno == EINVAL, "conf: a timeout over the maximum is refused");
	check(make(10, NULL, NULL) == NULL && rte_errno == EINVAL, "conf: a tiny capacity is refused");
	{
		struct xv_ct *big = make(64, NULL, &(struct xv_ct_timeouts){ .tcp_est = XV_CT_TIMEOUT_MAX });
		struct xv_ct_conf c = { .capacity = 64, .timeouts.tcp_est = XV_CT_TIMEOUT_MAX };
		struct xv_ct *tsc = xv_ct_create(&c);

		check(big != NULL && tsc != NULL, "conf: the maximum timeout is fine at any clock rate");
		xv_ct_destroy(big);
		xv_ct_destroy(tsc);
	}
	xv_ct_destroy(ct);
}

/* ---- Differential test ------------------------------------------------ */

struct flow {
	struct xv_ct_pkt p; /* as the client would send it */
	int step;           /* position in its script */
};

#define N_FLOWS 300
#define N_ZONES 3

static struct flow flows[N_FLOWS];
static uint64_t seed;

static uint32_t
rnd(void)
{
	/* xorshift64*: deterministic per seed, printed on failure. */
	seed ^= seed >> 12;
	seed ^= seed << 25;
	seed ^= seed >> 27;
	return (uint32_t)((seed * 2685821657736338717ULL) >> 32);
}

static void
make_flows(void)
{
	static const uint16_t ports[] = { 80, 443, 53, 1000, 1001, 1002, 40000, 40001 };
	static const uint8_t other[] = { 47, 132, 50 };
	unsigned int i;

	for (i = 0; i < N_FLOWS; i++) {
		struct xv_ct_pkt *p = &flows[i].p;
		unsigned int kind = rnd() % 100;

		memset(p, 0, sizeof(*p));
		p->zone = rnd() % N_ZONES;
		p->ipv6 = rnd() % 4 == 0;
		if (p->ipv6) {
			p->src[0] = p->dst[0] = 0x20;
			p->src[1] = p->dst[1] = 0x01;
			p->src[15] = 1 + rnd() % 6;
			p->dst[15] = 1 + rnd() % 6;
			p->dst[7] = rnd() % 2; /* beyond an IPv4 address */
		} else {
			p->src[0] = p->dst[0] = 198;
			p->src[1] = p->dst[1] = 18;
			p->src[3] = 1 + rnd() % 6;
			p->dst[3] = 1 + rnd() % 6;
		}
		if (kind < 45) {
			p->proto = 6;
		} else if (kind < 75) {
			p->proto = 17;
		} else if (kind < 90) {
			p->proto = p->ipv6 ? 58 : 1;
		} else if (kind < 93) {
			p->proto = p->ipv6 ? 1 : 58; /* the other family's ICMP */
		} else {
			p->proto = other[rnd() % RTE_DIM(other)];
		}
		if (p->proto == 6 || p->proto == 17 || p->proto == 132) {
			p->sport = ports[rnd() % RTE_DIM(ports)];
			p->dport = ports[rnd() % RTE_DIM(ports)];
		} else if (p->proto == 1 || p->proto == 58) {
			p->sport = rnd() % 4; /* echo identifier */
		}
		flows[i].step = 0;
	}
}

/* A TCP conversation: (from the client?, flags). */
static const struct {
	int client;
	uint8_t flags;
} tcp_script[] = {
	{ 1, SYN }, { 0, SYN | ACK }, { 1, ACK }, { 1, ACK | PSH }, { 0, ACK },
	{ 0, ACK | PSH }, { 1, ACK }, { 1, FIN | ACK }, { 0, ACK },
	{ 0, FIN | ACK }, { 1, ACK },
};

static int
is_echo_proto(const struct xv_ct_pkt *p)
{
	return (p->proto == 1 && !p->ipv6) || (p->proto == 58 && p->ipv6);
}

/* The next packet of the simulation into '*out'. */
static void
next_packet(struct xv_ct_pkt *out)
{
	unsigned int hot = rnd() % 100 < 70;
	struct flow *f = &flows[hot ? rnd() % 20 : rnd() % N_FLOWS];
	struct xv_ct_pkt p = f->p;
	int client = rnd() % 2;
	unsigned int r = rnd() % 100;

	if (p.proto == 6) {
		if (r < 75) {
			/* Follow the script, sometimes from the wrong side. */
			client = tcp_script[f->step].client ^ (rnd() % 20 == 0);
			p.tcp_flags = tcp_script[f->step].flags;
			f->step = (f->step + 1) % RTE_DIM(tcp_script);
		} else if (r < 80) {
			p.tcp_flags = RST | (rnd() % 2 ? ACK : 0);
			f->step = 0;
		} else if (r < 85) {
			p.tcp_flags = SYN;
			client = 1;
			f->step = 1;
		} else {
			p.tcp_flags = rnd() & 0xff;
		}
	} else if ((p.proto == 1 && !p.ipv6) || (p.proto == 58 && p.ipv6)) {
		if (r < 80) {
			p.icmp_type = client ? (p.ipv6 ? 128 : 8) : (p.ipv6 ? 129 : 0);
			if (rnd() % 10 == 0)
				client ^= 1;
		} else if (r < 90) {
			p.icmp_type = rnd() % 256;
		} else {
			/* An error quoting some flow's packet, either way. */
			struct flow *g = &flows[rnd() % N_FLOWS];

			p = g->p;
			p.flags = XV_CT_PKT_ICMP_ERROR;
			if (rnd() % 10 == 0)
				p.zone = rnd() % N_ZONES;
		}
	}
	*out = client ? p : rev(&p, p.tcp_flags);
	if (!client && out->proto != 6)
		out->icmp_type = p.icmp_type;
	/* Mostly as the parser sets an echo's identifier (the requester's
	 * side, ct.h), so requests each way with one identifier happen;
	 * now and then the other way round. */
	if (is_echo_proto(out) && !(out->flags & XV_CT_PKT_ICMP_ERROR) &&
	    rnd() % 10 != 0) {
		uint8_t req = out->ipv6 ? 128 : 8, rep = out->ipv6 ? 129 : 0;

		if (out->icmp_type == req)
			out->sport = f->p.sport, out->dport = 0;
		else if (out->icmp_type == rep)
			out->sport = 0, out->dport = f->p.sport;
	}
}

static int
entry_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct xv_ct_entry));
}

static int
same_listing(struct xv_ct *ct, struct ct_ref *ref, uint64_t now)
{
	static struct walk_acc a;
	static struct xv_ct_entry b[4096];
	unsigned int nb, i;

	a.n = 0;
	/* Entries are compared whole: clear the padding. */
	memset(a.e, 0, sizeof(a.e));
	memset(b, 0, sizeof(b));
	xv_ct_walk(ct, -1, now, walk_collect, &a);
	nb = ct_ref_list(ref, -1, now, b, RTE_DIM(b));
	for (i = 0; i < a.n; i++) {
		struct xv_ct_entry e = a.e[i];

		memset(&a.e[i], 0, sizeof(a.e[i]));
		memcpy(a.e[i].src, e.src, 16);
		memcpy(a.e[i].dst, e.dst, 16);
		a.e[i].sport = e.sport;
		a.e[i].dport = e.dport;
		a.e[i].zone = e.zone;
		a.e[i].ipv6 = e.ipv6;
		a.e[i].proto = e.proto;
		a.e[i].state = e.state;
		a.e[i].expires_ms = e.expires_ms;
	}
	if (a.n != nb) {
		printf("# listing: %u connections, model %u\n", a.n, nb);
		return 0;
	}
	qsort(a.e, a.n, sizeof(a.e[0]), entry_cmp);
	qsort(b, nb, sizeof(b[0]), entry_cmp);
	for (i = 0; i < nb; i++)
		if (entry_cmp(&a.e[i], &b[i]) != 0) {
			printf("# listing differs at %u: zone %u proto %u state %s/%s exp %u/%u\n",
			       i, a.e[i].zone, a.e[i].proto, xv_ct_state_name(a.e[i].state),
			       xv_ct_state_name(b[i].state), a.e[i].expires_ms, b[i].expires_ms);
			return 0;
		}
	return 1;
}

struct diff_result {
	unsigned long packets, mismatches, commits, count_bad, list_bad, flush_bad;
	unsigned long verdicts[XV_CT_VERDICT_MAX];
};

/*
 * Run 'steps' bursts through 'ct' and a model with timeouts 'ref_tmo'. With
 * 'rcu', the thread reports a quiescent state after each burst.
 */
static void
differential(struct xv_ct *ct, const struct xv_ct_timeouts *ref_tmo,
	     struct rte_rcu_qsbr *rcu, unsigned int steps, struct diff_result *d)
{
	struct ct_ref *ref = ct_ref_create(ref_tmo, HZ);
	/* Start near the 32-bit tick wrap, so the run crosses it. */
	uint64_t now = (1ULL << 32) - 600000;
	unsigned int s;

	memset(d, 0, sizeof(*d));
	make_flows();
	for (s = 0; s < steps; s++) {
		struct xv_ct_pkt pk[32];
		const struct xv_ct_pkt *pp[32];
		struct xv_ct_result r[32], m;
		unsigned int n = 1 + rnd() % 32, i;

		now += rnd() % (rnd() % 500 == 0 ? 30000 : 60);
		for (i = 0; i < n; i++) {
			next_packet(&pk[i]);
			pp[i] = &pk[i];
		}
		xv_ct_lookup(ct, pp, r, n, now);
		for (i = 0; i < n; i++) {
			ct_ref_lookup(ref, &pk[i], now, &m);
			d->packets++;
			d->verdicts[m.verdict]++;
			if (memcmp(&m, &r[i], sizeof(m)) != 0) {
				if (d->mismatches++ < 5)
					printf("# step %u pkt %u proto %u flags %#x type %u: "
					       "%s %d %s %s, model %s %d %s %s\n",
					       s, i, pk[i].proto, pk[i].tcp_flags, pk[i].icmp_type,
					       xv_ct_verdict_name(r[i].verdict), r[i].dir,
					       xv_ct_state_name(r[i].state), xv_ct_reason_name(r[i].reason),
					       xv_ct_verdict_name(m.verdict), m.dir,
					       xv_ct_state_name(m.state), xv_ct_reason_name(m.reason));
			}
		}
		/* The policy allows most NEW packets. */
		for (i = 0; i < n; i++) {
			int a, b;

			if (r[i].verdict != XV_CT_NEW || rnd() % 100 >= 85)
				continue;
			a = xv_ct_commit(ct, &pk[i], now);
			b = ct_ref_commit(ref, &pk[i], now);
			d->commits++;
			if (a != b && d->mismatches++ < 5)
				printf("# step %u commit: %d, model %d\n", s, a, b);
		}
		if (rcu != NULL)
			rte_rcu_qsbr_quiescent(rcu, 0);
		if (s % 97 == 0)
			xv_ct_expire(ct, now, 1 + rnd() % 512);
		if (s % 1000 == 999) {
			int z = (int)(rnd() % (N_ZONES + 1)) - 1;

			if (xv_ct_count(ct, z, now) != ct_ref_count(ref, z, now) &&
			    d->count_bad++ < 5)
				printf("# step %u count zone %d: %u, model %u\n", s, z,
				       xv_ct_count(ct, z, now), ct_ref_count(ref, z, now));
		}
		if (s % 5000 == 4999 && !same_listing(ct, ref, now))
			d->list_bad++;
		if (s % 20000 == 19999) {
			int z = (int)(rnd() % (N_ZONES + 1)) - 1;
			unsigned int a = xv_ct_flush(ct, z, now), b = ct_ref_flush(ref, z, now);

			if (a != b && d->flush_bad++ < 5)
				printf("# step %u flush zone %d: %u, model %u\n", s, z, a, b);
		}
	}
	ct_ref_destroy(ref);
}

static void
test_differential(void)
{
	struct diff_result d;
	struct xv_ct_stats st;
	struct rte_rcu_qsbr *rcu;
	struct xv_ct *ct;
	uint64_t s0 = seed;

	ct = make(4096, NULL, &short_tmo);
	differential(ct, &short_tmo, NULL, 60000, &d);
	xv_ct_stats_read(ct, &st);
	printf("# %lu packets, %lu commits: new %lu established %lu related %lu invalid %lu untracked %lu\n",
	       d.packets, d.commits, d.verdicts[XV_CT_NEW], d.verdicts[XV_CT_ESTABLISHED],
	       d.verdicts[XV_CT_RELATED], d.verdicts[XV_CT_INVALID], d.verdicts[XV_CT_UNTRACKED]);
	printf("# table: created %" PRIu64 " reopened %" PRIu64 " expired %" PRIu64
	       " flushed %" PRIu64 "\n", st.created, st.reopened, st.expired, st.flushed);
	check(d.mismatches == 0, "differential: %lu packets and commits, %lu differ (seed %#" PRIx64 ")",
	      d.packets + d.commits, d.mismatches, s0);
	check(d.count_bad == 0 && d.list_bad == 0 && d.flush_bad == 0,
	      "differential: counts, listings and flushes agree");
	check(d.verdicts[XV_CT_NEW] > 1000 && d.verdicts[XV_CT_ESTABLISHED] > 10000 &&
	      d.verdicts[XV_CT_RELATED] > 100 && d.verdicts[XV_CT_INVALID] > 1000 &&
	      d.verdicts[XV_CT_UNTRACKED] > 100 && st.expired > 1000,
	      "differential: every verdict and expiry happened often");
	check(st.lookups == d.packets && st.new == d.verdicts[XV_CT_NEW] &&
	      st.established == d.verdicts[XV_CT_ESTABLISHED] &&
	      st.related == d.verdicts[XV_CT_RELATED] &&
	      st.untracked == d.verdicts[XV_CT_UNTRACKED] &&
	      st.invalid_flags + st.invalid_no_conn + st.invalid_state == d.verdicts[XV_CT_INVALID],
	      "differential: the table's counters match the verdicts");
	xv_ct_destroy(ct);

	/* Again with deferred freeing: the only reader is this thread. */
	rcu = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	rte_rcu_qsbr_init(rcu, 1);
	rte_rcu_qsbr_thread_register(rcu, 0);
	rte_rcu_qsbr_thread_online(rcu, 0);
	s0 = seed;
	ct = make(4096, rcu, &short_tmo);
	differential(ct, &short_tmo, rcu, 40000, &d);
	xv_ct_stats_read(ct, &st);
	check(d.mismatches == 0 && d.count_bad == 0 && d.list_bad == 0 && d.flush_bad == 0,
	      "differential with RCU: %lu differ (seed %#" PRIx64 ")", d.mismatches, s0);
	rte_rcu_qsbr_quiescent(rcu, 0);
	xv_ct_flush(ct, -1, 0);
	rte_rcu_qsbr_quiescent(rcu, 0);
	xv_ct_expire(ct, 0, xv_ct_slots(ct));
	xv_ct_stats_read(ct, &st);
	check(st.used == 0 && st.limbo == 0 && st.created == st.expired + st.flushed,
	      "differential with RCU: after a flush and a grace period everything is freed "
	      "(used %" PRIu64 " limbo %" PRIu64 ")", st.used, st.limbo);
	xv_ct_destroy(ct);
	rte_rcu_qsbr_thread_offline(rcu, 0);
	rte_free(rcu);

	/* The comparison notices a model that differs a little. */
	{
		struct xv_ct_timeouts other = short_tmo;

		other.udp_est = 6;
		ct = make(4096, NULL, &short_tmo);
		differential(ct, &other, NULL, 20000, &d);
		check(d.mismatches > 0, "differential: a model with another UDP timeout is caught (%lu differ)",
		      d.mismatches);
		xv_ct_destroy(ct);
	}
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "-l", "0", "--no-huge", "-m", "256", "--no-shconf",
			"--no-pci", "--no-telemetry", "--log-level=*:error", NULL };
	const char *s = getenv("CT_SEED");

	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	seed = s != NULL ? strtoull(s, NULL, 0) : 0x9e3779b97f4a7c15ULL;
	test_tcp();
	test_udp_icmp();
	test_walk_capacity();
	test_differential();
	rte_eal_cleanup();
	return tap_done();
}
