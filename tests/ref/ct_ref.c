/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Naive conntrack (see ct_ref.h). Written for obviousness, not speed: every
 * packet walks the whole list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ct_ref.h"

struct ref_conn {
	struct ref_conn *next;
	struct xv_ct_pkt orig; /* as the originator sent it */
	int state;
	int fin[2];            /* FIN seen from ORIG, from REPLY */
	uint64_t expire;
};

struct ct_ref {
	struct ref_conn *head;
	struct xv_ct_timeouts t;
	uint64_t hz;
};

enum { EV_SYN, EV_SYNACK, EV_ACK, EV_FIN, EV_RST, EV_BAD,
       EV_REQUEST, EV_REPLY, EV_OTHER_ICMP, EV_DGRAM };

static int
is_tcp(const struct xv_ct_pkt *p)
{
	return p->proto == 6;
}

static int
is_icmp(const struct xv_ct_pkt *p)
{
	return (p->proto == 1 && !p->ipv6) || (p->proto == 58 && p->ipv6);
}

static int
event(const struct xv_ct_pkt *p)
{
	if (is_tcp(p)) {
		int syn = !!(p->tcp_flags & 0x02), ack = !!(p->tcp_flags & 0x10);
		int fin = !!(p->tcp_flags & 0x01), rst = !!(p->tcp_flags & 0x04);

		if (syn && !ack && !fin && !rst)
			return EV_SYN;
		if (syn && ack && !fin && !rst)
			return EV_SYNACK;
		if (rst && !syn && !fin)
			return EV_RST;
		if (ack && fin && !syn && !rst)
			return EV_FIN;
		if (ack && !syn && !fin && !rst)
			return EV_ACK;
		return EV_BAD;
	}
	if (is_icmp(p)) {
		if (p->icmp_type == (p->ipv6 ? 128 : 8))
			return EV_REQUEST;
		if (p->icmp_type == (p->ipv6 ? 129 : 0))
			return EV_REPLY;
		return EV_OTHER_ICMP;
	}
	return EV_DGRAM;
}

static int
opens(int ev)
{
	return ev == EV_SYN || ev == EV_REQUEST || ev == EV_DGRAM;
}

static int
same_addr(const struct xv_ct_pkt *p, const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, p->ipv6 ? 16 : 4) == 0;
}

/* Does 'c' match 'p'? Sets '*dir'. */
static int
matches(const struct ref_conn *c, const struct xv_ct_pkt *p, int *dir)
{
	const struct xv_ct_pkt *o = &c->orig;

	if (o->zone != p->zone || o->ipv6 != p->ipv6 || o->proto != p->proto)
		return 0;
	if (same_addr(p, o->src, p->src) && same_addr(p, o->dst, p->dst) &&
	    o->sport == p->sport && o->dport == p->dport) {
		*dir = XV_CT_DIR_ORIG;
		return 1;
	}
	if (same_addr(p, o->src, p->dst) && same_addr(p, o->dst, p->src) &&
	    o->sport == p->dport && o->dport == p->sport) {
		*dir = XV_CT_DIR_REPLY;
		return 1;
	}
	return 0;
}

/* Drop expired connections. */
static void
purge(struct ct_ref *ref, uint64_t now)
{
	struct ref_conn **pp = &ref->head;

	while (*pp != NULL) {
		if ((*pp)->expire <= now) {
			struct ref_conn *dead = *pp;

			*pp = dead->next;
			free(dead);
		} else {
			pp = &(*pp)->next;
		}
	}
}

static struct ref_conn *
find(struct ct_ref *ref, const struct xv_ct_pkt *p, uint64_t now, int *dir)
{
	struct ref_conn *c;

	purge(ref, now);
	for (c = ref->head; c != NULL; c = c->next)
		if (matches(c, p, dir))
			return c;
	return NULL;
}

static uint64_t
timeout(const struct ct_ref *ref, const struct xv_ct_pkt *p, int state)
{
	const struct xv_ct_timeouts *t = &ref->t;
	uint32_t s;

	if (is_tcp(p)) {
		switch (state) {
		case XV_CT_TCP_SYN_SENT:
		case XV_CT_TCP_SYN_RECV:
			s = t->tcp_syn;
			break;
		case XV_CT_TCP_ESTABLISHED:
			s = t->tcp_est;
			break;
		case XV_CT_TCP_FIN_WAIT:
			s = t->tcp_fin;
			break;
		case XV_CT_TCP_TIME_WAIT:
			s = t->tcp_time_wait;
			break;
		default:
			s = t->tcp_close;
			break;
		}
	} else if (is_icmp(p)) {
		s = t->icmp;
	} else {
		s = state == XV_CT_REPLIED ? t->udp_est : t->udp_first;
	}
	return (uint64_t)s * ref->hz;
}

/*
 * Connection 'c' goes to state 's' on a valid packet at 'now'. The expiry
 * is a full timeout from now, except that in the same state it is left
 * alone while it is at most the slack short of that: one second, or an
 * eighth of a shorter timeout.
 */
static void
advance(struct ct_ref *ref, struct ref_conn *c, const struct xv_ct_pkt *p,
	int s, const int fin[2], uint64_t now)
{
	uint64_t tmo = timeout(ref, p, s);
	uint64_t slack = tmo / 8 < ref->hz ? tmo / 8 : ref->hz;

	if (s != c->state || c->expire + slack < now + tmo)
		c->expire = now + tmo;
	c->state = s;
	c->fin[0] = fin[0];
	c->fin[1] = fin[1];
}

#define REOPEN -2
#define INVALID -1

/* The state after 'ev' from 'dir' on 'c' (without changing 'c'), INVALID
 * or REOPEN; '*fin' gets the FIN marks after it. */
static int
next_state(const struct ref_conn *c, int dir, int ev, int fin[2])
{
	int s = c->state;

	fin[0] = c->fin[0];
	fin[1] = c->fin[1];
	if (is_tcp(&c->orig)) {
		if (ev == EV_RST)
			return XV_CT_TCP_CLOSED;
		if (ev == EV_SYN) {
			if (s == XV_CT_TCP_TIME_WAIT || s == XV_CT_TCP_CLOSED)
				return REOPEN;
			if (dir == XV_CT_DIR_ORIG &&
			    (s == XV_CT_TCP_SYN_SENT || s == XV_CT_TCP_SYN_RECV))
				return s;
			return INVALID;
		}
		if (ev == EV_SYNACK) {
			if (dir != XV_CT_DIR_REPLY)
				return INVALID;
			if (s == XV_CT_TCP_SYN_SENT || s == XV_CT_TCP_SYN_RECV)
				return XV_CT_TCP_SYN_RECV;
			if (s == XV_CT_TCP_ESTABLISHED)
				return s;
			return INVALID;
		}
		if (ev == EV_ACK) {
			if (s == XV_CT_TCP_SYN_SENT)
				return INVALID;
			if (s == XV_CT_TCP_SYN_RECV && dir == XV_CT_DIR_ORIG)
				return XV_CT_TCP_ESTABLISHED;
			return s;
		}
		if (ev == EV_FIN) {
			if (s == XV_CT_TCP_SYN_SENT)
				return INVALID;
			if (s == XV_CT_TCP_TIME_WAIT || s == XV_CT_TCP_CLOSED)
				return s;
			fin[dir] = 1;
			return fin[0] && fin[1] ? XV_CT_TCP_TIME_WAIT :
						  XV_CT_TCP_FIN_WAIT;
		}
		return INVALID;
	}
	if (is_icmp(&c->orig)) {
		if (ev == EV_REQUEST && dir == XV_CT_DIR_ORIG)
			return s;
		if (ev == EV_REPLY && dir == XV_CT_DIR_REPLY)
			return XV_CT_REPLIED;
		return INVALID;
	}
	return dir == XV_CT_DIR_REPLY ? XV_CT_REPLIED : s;
}

static void
set(struct xv_ct_result *r, int verdict, int dir, int state, int reason)
{
	r->verdict = verdict;
	r->dir = dir;
	r->state = state;
	r->reason = reason;
}

void
ct_ref_lookup(struct ct_ref *ref, const struct xv_ct_pkt *p, uint64_t now,
	      struct xv_ct_result *res)
{
	struct ref_conn *c;
	int dir, ev, s, fin[2];

	if (p->flags & XV_CT_PKT_ICMP_ERROR) {
		c = find(ref, p, now, &dir);
		if (c != NULL)
			set(res, XV_CT_RELATED, !dir, c->state, XV_CT_OK);
		else
			set(res, XV_CT_INVALID, XV_CT_DIR_ORIG, XV_CT_STATE_NONE,
			    XV_CT_NO_CONN);
		return;
	}
	ev = event(p);
	if (ev == EV_BAD) {
		set(res, XV_CT_INVALID, XV_CT_DIR_ORIG, XV_CT_STATE_NONE,
		    XV_CT_BAD_FLAGS);
		return;
	}
	if (ev == EV_OTHER_ICMP) {
		set(res, XV_CT_UNTRACKED, XV_CT_DIR_ORIG, XV_CT_STATE_NONE, XV_CT_OK);
		return;
	}
	c = find(ref, p, now, &dir);
	if (c == NULL) {
		if (opens(ev))
			set(res, XV_CT_NEW, XV_CT_DIR_ORIG, XV_CT_STATE_NONE, XV_CT_OK);
		else
			set(res, XV_CT_INVALID, XV_CT_DIR_ORIG, XV_CT_STATE_NONE,
			    XV_CT_NO_CONN);
		return;
	}
	s = next_state(c, dir, ev, fin);
	if (s == INVALID) {
		set(res, XV_CT_INVALID, dir, c->state, XV_CT_BAD_STATE);
		return;
	}
	if (s == REOPEN) {
		set(res, XV_CT_NEW, XV_CT_DIR_ORIG, c->state, XV_CT_OK);
		return;
	}
	advance(ref, c, p, s, fin, now);
	set(res, XV_CT_ESTABLISHED, dir, s, XV_CT_OK);
}

static void
start(struct ct_ref *ref, struct ref_conn *c, const struct xv_ct_pkt *p,
      int ev, uint64_t now)
{
	c->orig = *p;
	c->state = ev == EV_SYN ? XV_CT_TCP_SYN_SENT : XV_CT_UNREPLIED;
	c->fin[0] = c->fin[1] = 0;
	c->expire = now + timeout(ref, p, c->state);
}

int
ct_ref_commit(struct ct_ref *ref, const struct xv_ct_pkt *p, uint64_t now)
{
	struct ref_conn *c;
	int dir, ev, s, fin[2];

	if (p->flags & XV_CT_PKT_ICMP_ERROR)
		return -EINVAL;
	ev = event(p);
	if (!opens(ev))
		return -EINVAL;
	c = find(ref, p, now, &dir);
	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		start(ref, c, p, ev, now);
		c->next = ref->head;
		ref->head = c;
		return 0;
	}
	s = next_state(c, dir, ev, fin);
	if (s == INVALID)
		return -EINVAL;
	if (s == REOPEN) {
		start(ref, c, p, ev, now);
		return 0;
	}
	advance(ref, c, p, s, fin, now);
	return 0;
}

unsigned int
ct_ref_count(struct ct_ref *ref, int zone, uint64_t now)
{
	struct ref_conn *c;
	unsigned int n = 0;

	purge(ref, now);
	for (c = ref->head; c != NULL; c = c->next)
		if (zone < 0 || c->orig.zone == zone)
			n++;
	return n;
}

unsigned int
ct_ref_flush(struct ct_ref *ref, int zone, uint64_t now)
{
	struct ref_conn **pp = &ref->head;
	unsigned int n = 0;

	purge(ref, now);
	while (*pp != NULL) {
		if (zone < 0 || (*pp)->orig.zone == zone) {
			struct ref_conn *dead = *pp;

			*pp = dead->next;
			free(dead);
			n++;
		} else {
			pp = &(*pp)->next;
		}
	}
	return n;
}

unsigned int
ct_ref_list(struct ct_ref *ref, int zone, uint64_t now,
	    struct xv_ct_entry *out, unsigned int max)
{
	struct ref_conn *c;
	unsigned int n = 0;

	purge(ref, now);
	for (c = ref->head; c != NULL && n < max; c = c->next) {
		struct xv_ct_entry *e = &out[n];

		if (zone >= 0 && c->orig.zone != zone)
			continue;
		memset(e, 0, sizeof(*e));
		memcpy(e->src, c->orig.src, c->orig.ipv6 ? 16 : 4);
		memcpy(e->dst, c->orig.dst, c->orig.ipv6 ? 16 : 4);
		e->sport = c->orig.sport;
		e->dport = c->orig.dport;
		e->zone = c->orig.zone;
		e->ipv6 = c->orig.ipv6;
		e->proto = c->orig.proto;
		e->state = c->state;
		e->expires_ms = (c->expire - now) * 1000 / ref->hz;
		n++;
	}
	return n;
}

struct ct_ref *
ct_ref_create(const struct xv_ct_timeouts *t, uint64_t hz)
{
	struct ct_ref *ref = calloc(1, sizeof(*ref));

	ref->hz = hz;
	ref->t = *t;
#define DEFAULT(f, v) if (ref->t.f == 0) ref->t.f = v
	DEFAULT(tcp_syn, 30);
	DEFAULT(tcp_est, 432000);
	DEFAULT(tcp_fin, 120);
	DEFAULT(tcp_time_wait, 120);
	DEFAULT(tcp_close, 10);
	DEFAULT(udp_first, 30);
	DEFAULT(udp_est, 180);
	DEFAULT(icmp, 30);
#undef DEFAULT
	return ref;
}

void
ct_ref_destroy(struct ct_ref *ref)
{
	if (ref == NULL)
		return;
	ct_ref_flush(ref, -1, 0);
	free(ref);
}
