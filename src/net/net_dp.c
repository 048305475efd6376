/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Switching a burst in a network (workers). Per burst, in stages so each
 * table is looked up for the whole burst at once:
 *   1. per packet: parse, check the source (anti-spoofing), find the
 *      destination by MAC (each worker memoizes recent answers: a burst's
 *      unicast mostly goes to one MAC or a few), pick what conntrack has a
 *      say on;
 *   2. conntrack: one bulk lookup for packets with a filtered end;
 *   3. security groups: one classify call for packets that open a
 *      connection (or are not tracked), egress and ingress keys together;
 *   4. commit the allowed new connections, group packets by destination
 *      and send each group with one burst.
 * Broadcast and multicast go to every other port of the network; the same
 * mbuf is sent to each (reference counts), since neither vhost nor the PMDs
 * write into packets they send. No allocation, lock (but in xv_port_tx's
 * shared-queue case), syscall or log here; every drop is counted under its
 * reason on the port it concerns.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "acl.h"
#include "ct.h"
#include "net.h"
#include "plan.h"
#include "port_io.h"

/* Special destinations (besides nport indices). */
#define DST_DROP 0xffff
#define DST_FLOOD 0xfffe   /* broadcast, multicast */
#define DST_UNKNOWN 0xfffd /* unicast to a MAC no port owns */

#define OK XV_DROP_MAX     /* parse result: no drop */

enum l3 { L3_OTHER, L3_ARP, L3_IP };

/* What the stages learn about one packet (kept small: stage 1 writes one
 * per packet; the classifier keys are built only when rules are asked). */
struct pinfo {
	struct xv_ct_pkt ct;    /* the tuple (IP) */
	uint16_t dst;           /* nport index or DST_* */
	uint8_t l3;
	uint8_t exempt;         /* ARP, ND, MLD: not subject to rules */
	uint8_t frag;           /* an IP fragment */
	uint8_t l4port;         /* the key's port is meaningful */
};

/* ---- parsing ---- */

static __rte_always_inline bool
v4_owned(const struct xv_nport *np, uint32_t a)
{
	unsigned int i;

	for (i = 0; i < np->n_v4; i++)
		if ((a & np->v4_mask[i]) == np->v4[i])
			return true;
	return false;
}

static bool
v6_owned(const struct xv_nport *np, const uint8_t *a)
{
	unsigned int i, bytes, bits;

	if (memcmp(a, np->ll6, 16) == 0)
		return true;
	for (i = 0; i < np->n_v6; i++) {
		bytes = np->v6_plen[i] / 8;
		bits = np->v6_plen[i] % 8;
		if (memcmp(a, np->v6[i], bytes) != 0)
			continue;
		if (bits != 0 && ((a[bytes] ^ np->v6[i][bytes]) &
				  (uint8_t)(0xff << (8 - bits))) != 0)
			continue;
		return true;
	}
	return false;
}

static const uint8_t v6_zero[16];

/* Source and destination port: the first 4 bytes of TCP, UDP, SCTP,
 * DCCP and UDP-Lite headers. */
static __rte_always_inline void
take_ports(struct pinfo *pi, const uint8_t *h)
{
	pi->ct.sport = rte_be_to_cpu_16(*(const rte_be16_t *)h);
	pi->ct.dport = rte_be_to_cpu_16(*(const rte_be16_t *)(h + 2));
}

/*
 * An ICMP (IPv4) or ICMPv6 (IPv6) echo request or reply with header 'h':
 * its identifier goes where conntrack wants it, on the requester's side
 * (ct.h). Returns false for other types.
 */
static __rte_always_inline bool
take_echo_id(struct pinfo *pi, const uint8_t *h)
{
	uint8_t req = pi->ct.ipv6 ? 128 : 8, rep = pi->ct.ipv6 ? 129 : 0;
	uint16_t id = rte_be_to_cpu_16(*(const rte_be16_t *)(h + 4));

	if (h[0] == req)
		pi->ct.sport = id, pi->ct.dport = 0;
	else if (h[0] == rep)
		pi->ct.sport = 0, pi->ct.dport = id;
	else
		return false;
	return true;
}

/*
 * The L4 header quoted in an ICMP error at 'off', best effort: it is often
 * cut to its first 8 bytes (RFC 792), which hold the ports or the echo
 * identifier. Not inlined: errors are rare.
 */
static __rte_noinline void
parse_quoted_l4(const struct rte_mbuf *m, uint32_t off, struct pinfo *pi)
{
	uint8_t buf[8];
	const uint8_t *h;
	uint8_t proto = pi->ct.proto;

	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case XV_ACL_PROTO_SCTP:
	case XV_ACL_PROTO_DCCP:
	case XV_ACL_PROTO_UDPLITE:
		h = rte_pktmbuf_read(m, off, 4, buf);
		if (h != NULL)
			take_ports(pi, h);
		return;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if ((proto == IPPROTO_ICMP) == pi->ct.ipv6)
			return;
		h = rte_pktmbuf_read(m, off, 8, buf);
		if (h == NULL)
			return;
		pi->ct.sport = pi->ct.dport = 0;
		take_echo_id(pi, h);
		return;
	}
}

/*
 * An ICMP error at 'off' (its 8-byte header is 'h'): the tuple of the
 * packet it quotes, its IP header and 8 bytes, into 'pi' (conntrack
 * relates the error to that connection). Not inlined: errors are rare.
 */
static __rte_noinline void
parse_icmp_error(const struct rte_mbuf *m, uint32_t off, const uint8_t *h,
		 struct pinfo *pi)
{
	uint8_t buf[40];
	uint32_t q = off + 8;

	if (!pi->ct.ipv6) {
		const struct rte_ipv4_hdr *ih = rte_pktmbuf_read(m, q, sizeof(*ih), buf);

		if (ih == NULL || (ih->version_ihl >> 4) != 4)
			return; /* nothing to relate: tracked as is */
		memcpy(pi->ct.src, &ih->src_addr, 4);
		memcpy(pi->ct.dst, &ih->dst_addr, 4);
		pi->ct.proto = ih->next_proto_id;
		q += (ih->version_ihl & 0xf) * 4;
	} else {
		const struct rte_ipv6_hdr *ih = rte_pktmbuf_read(m, q, sizeof(*ih), buf);

		if (ih == NULL || (ih->vtc_flow & rte_cpu_to_be_32(0xf0000000)) !=
					  rte_cpu_to_be_32(0x60000000))
			return;
		memcpy(pi->ct.src, ih->src_addr, 16);
		memcpy(pi->ct.dst, ih->dst_addr, 16);
		pi->ct.proto = ih->proto;
		q += sizeof(*ih);
	}
	pi->ct.flags |= XV_CT_PKT_ICMP_ERROR;
	pi->ct.tcp_flags = 0;
	parse_quoted_l4(m, q, pi);
	/* The rules see the error itself. */
	pi->ct.icmp_type = h[0];
	pi->l4port = 1;
}

/*
 * L4 header at 'off': ports (or ICMP type/code and echo id) into 'pi'.
 * For an ICMP error, the tuple of the packet it quotes. Returns a drop
 * reason or OK.
 */
static __rte_always_inline enum xv_drop_reason
parse_l4(const struct rte_mbuf *m, uint32_t off, uint32_t end, struct pinfo *pi)
{
	uint8_t buf[20];
	const uint8_t *h;
	uint8_t proto = pi->ct.proto;

	switch (proto) {
	case IPPROTO_TCP:
		h = rte_pktmbuf_read(m, off, 20, buf);
		if (h == NULL || off + 20 > end || (h[12] >> 4) < 5 ||
		    off + (h[12] >> 4) * 4u > end)
			return XV_DROP_MALFORMED;
		pi->ct.tcp_flags = h[13];
		goto ports;
	case IPPROTO_UDP:
	case XV_ACL_PROTO_SCTP:
	case XV_ACL_PROTO_DCCP:
	case XV_ACL_PROTO_UDPLITE:
		h = rte_pktmbuf_read(m, off, 8, buf);
		if (h == NULL || off + 8 > end)
			return XV_DROP_MALFORMED;
ports:
		take_ports(pi, h);
		pi->l4port = 1;
		return OK;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if ((proto == IPPROTO_ICMP) == pi->ct.ipv6)
			return OK; /* ICMP in IPv6 or ICMPv6 in IPv4: no tuple */
		h = rte_pktmbuf_read(m, off, 8, buf);
		if (h == NULL || off + 8 > end)
			return XV_DROP_MALFORMED;
		pi->ct.icmp_type = h[0];
		pi->l4port = 1;
		if (!take_echo_id(pi, h) && xv_ct_icmp_is_error(pi->ct.ipv6, h[0]))
			parse_icmp_error(m, off, h, pi);
		return OK;
	default:
		return OK;
	}
}

/* ICMPv6 neighbor discovery from a port with port security. */
static enum xv_drop_reason
check_nd(const struct rte_mbuf *m, uint32_t off, uint32_t end, uint8_t type,
	 const struct xv_nport *src)
{
	uint8_t buf[24], obuf[8];
	const uint8_t *h, *o;
	uint32_t p;

	if (type == 134)
		return XV_DROP_SPOOFED_ND; /* router advertisement from a VM */
	if (type != 135 && type != 136)
		return OK; /* RS, redirect... sources were checked */
	h = rte_pktmbuf_read(m, off, 24, buf);
	if (h == NULL || off + 24 > end)
		return XV_DROP_MALFORMED;
	/* NA: the advertised target must be ours. */
	if (type == 136 && !v6_owned(src, h + 8))
		return XV_DROP_SPOOFED_ND;
	/* Link-layer address options (1: source, 2: target): our MAC. */
	for (p = off + 24; p + 8 <= end;) {
		o = rte_pktmbuf_read(m, p, 8, obuf);
		if (o == NULL || o[1] == 0)
			return XV_DROP_MALFORMED;
		if ((o[0] == 1 || o[0] == 2) &&
		    memcmp(o + 2, src->mac.addr_bytes, RTE_ETHER_ADDR_LEN) != 0)
			return XV_DROP_SPOOFED_ND;
		p += o[1] * 8u;
	}
	return OK;
}

/*
 * Stage 1 for one packet from 'src': headers into 'pi', anti-spoofing
 * when 'src' is filtered. Returns a drop reason or OK.
 */
static enum xv_drop_reason
parse(const struct rte_mbuf *m, const struct xv_nport *src, struct pinfo *pi)
{
	uint8_t buf[64];
	const struct rte_ether_hdr *eh;
	uint32_t len = m->pkt_len, off = sizeof(*eh), end;
	uint16_t type;
	enum xv_drop_reason r;
	bool psec = src->filtered;

	pi->l3 = L3_OTHER;
	pi->exempt = 0;
	pi->frag = 0;
	pi->l4port = 0;
	pi->ct.flags = 0;
	pi->ct.tcp_flags = 0;
	pi->ct.icmp_type = 0;
	pi->ct.sport = pi->ct.dport = 0;

	eh = rte_pktmbuf_read(m, 0, sizeof(*eh), buf);
	if (unlikely(eh == NULL))
		return XV_DROP_MALFORMED;
	type = rte_be_to_cpu_16(eh->ether_type);
	if (unlikely(type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ ||
		     type == RTE_ETHER_TYPE_QINQ1 || type == RTE_ETHER_TYPE_QINQ2))
		return XV_DROP_VLAN_TAGGED;
	if (psec && unlikely(!rte_is_same_ether_addr(&eh->src_addr, &src->mac)))
		return XV_DROP_SPOOFED_MAC;

	if (type == RTE_ETHER_TYPE_IPV4) {
		const struct rte_ipv4_hdr *ih = rte_pktmbuf_read(m, off, sizeof(*ih), buf);
		unsigned int ihl;
		uint16_t frag;

		if (unlikely(ih == NULL || (ih->version_ihl >> 4) != 4))
			return XV_DROP_MALFORMED;
		ihl = (ih->version_ihl & 0xf) * 4;
		end = off + rte_be_to_cpu_16(ih->total_length);
		if (unlikely(ihl < 20 || end > len || end < off + ihl))
			return XV_DROP_MALFORMED;
		pi->l3 = L3_IP;
		pi->ct.ipv6 = 0;
		pi->ct.proto = ih->next_proto_id;
		/* IPv4 addresses: the first 4 bytes (conntrack and the
		 * classifier read no more). */
		memcpy(pi->ct.src, &ih->src_addr, 4);
		memcpy(pi->ct.dst, &ih->dst_addr, 4);
		frag = rte_be_to_cpu_16(ih->fragment_offset);
		pi->frag = (frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0;
		if ((frag & RTE_IPV4_HDR_OFFSET_MASK) == 0) {
			r = parse_l4(m, off + ihl, end, pi);
			if (unlikely(r != OK))
				return r;
		}
		if (psec && unlikely(!v4_owned(src, ih->src_addr))) {
			/* DHCP discovery comes from 0.0.0.0:68 to port 67. */
			if (!(ih->src_addr == 0 && pi->ct.proto == IPPROTO_UDP &&
			      pi->ct.sport == 68 && pi->ct.dport == 67))
				return XV_DROP_SPOOFED_IP;
		}
		return OK;
	}
	if (type == RTE_ETHER_TYPE_IPV6) {
		const struct rte_ipv6_hdr *ih = rte_pktmbuf_read(m, off, sizeof(*ih), buf);
		uint8_t nh, hb[8];
		const uint8_t *x;
		unsigned int n_ext = 0;
		bool first = true;

		if (unlikely(ih == NULL || (ih->vtc_flow & rte_cpu_to_be_32(0xf0000000)) !=
						   rte_cpu_to_be_32(0x60000000)))
			return XV_DROP_MALFORMED;
		end = off + sizeof(*ih) + rte_be_to_cpu_16(ih->payload_len);
		if (unlikely(end > len))
			return XV_DROP_MALFORMED;
		pi->l3 = L3_IP;
		pi->ct.ipv6 = 1;
		memcpy(pi->ct.src, ih->src_addr, 16);
		memcpy(pi->ct.dst, ih->dst_addr, 16);
		nh = ih->proto;
		off += sizeof(*ih);
		/* Extension headers, up to the upper layer. */
		while (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
		       nh == IPPROTO_DSTOPTS || nh == IPPROTO_FRAGMENT ||
		       nh == IPPROTO_AH) {
			x = rte_pktmbuf_read(m, off, 8, hb);
			if (unlikely(x == NULL || off + 8 > end || ++n_ext > 8))
				return XV_DROP_MALFORMED;
			if (nh == IPPROTO_FRAGMENT) {
				pi->frag = 1;
				first = (rte_be_to_cpu_16(*(const rte_be16_t *)(x + 2)) & 0xfff8) == 0;
				nh = x[0];
				off += 8;
				if (!first)
					break;
				continue;
			}
			off += nh == IPPROTO_AH ? (x[1] + 2) * 4u : (x[1] + 1) * 8u;
			nh = x[0];
		}
		/* The last extension header must end within the packet. */
		if (unlikely(off > end))
			return XV_DROP_MALFORMED;
		pi->ct.proto = nh;
		if (first) {
			r = parse_l4(m, off, end, pi);
			if (unlikely(r != OK))
				return r;
		}
		if (nh == IPPROTO_ICMPV6 && first && pi->l4port) {
			uint8_t t = pi->ct.icmp_type;

			/* Neighbor discovery (133-137) and MLD (130-132, 143)
			 * are the network's own business: not filtered by
			 * rules, checked for spoofing below. */
			if ((t >= 130 && t <= 137) || t == 143) {
				pi->exempt = 1;
				if (psec) {
					r = check_nd(m, off, end, t, src);
					if (r != OK)
						return r;
				}
			}
		}
		if (psec && !v6_owned(src, ih->src_addr) &&
		    !(pi->exempt && memcmp(ih->src_addr, v6_zero, 16) == 0))
			return XV_DROP_SPOOFED_IP;
		return OK;
	}
	if (type == RTE_ETHER_TYPE_ARP) {
		const struct rte_arp_hdr *ah = rte_pktmbuf_read(m, off, sizeof(*ah), buf);

		if (unlikely(ah == NULL ||
			     ah->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
			     ah->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
			     ah->arp_hlen != 6 || ah->arp_plen != 4))
			return XV_DROP_MALFORMED;
		pi->l3 = L3_ARP;
		pi->exempt = 1;
		if (psec && (!rte_is_same_ether_addr(&ah->arp_data.arp_sha, &src->mac) ||
			     (ah->arp_data.arp_sip != 0 &&
			      !v4_owned(src, ah->arp_data.arp_sip))))
			return XV_DROP_SPOOFED_ARP;
		return OK;
	}
	return psec ? XV_DROP_BAD_ETHERTYPE : OK;
}

/* One classifier key: 'remote' is the other end's address. */
static __rte_always_inline void
set_key(struct xv_acl_key *k, const struct pinfo *pi, uint8_t ingress,
	uint16_t profile, rte_be16_t port, const uint8_t *remote)
{
	k->proto = (pi->ct.flags & XV_CT_PKT_ICMP_ERROR) ?
			   (pi->ct.ipv6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP) :
			   pi->ct.proto;
	k->ingress = ingress;
	k->ipv6 = pi->ct.ipv6;
	k->profile = profile;
	k->port = port;
	memcpy(k->remote, remote, 16);
}

/* The classifier keys of a parsed IP packet from 'src' to 'dst': 'eg' for
 * the sender's rules (egress) when 'src' is filtered, 'in' for the
 * receiver's (ingress) when 'dst' is. */
static __rte_always_inline void
fill_keys(const struct pinfo *pi, const struct xv_nport *src,
	  const struct xv_nport *dst, struct xv_acl_key *eg,
	  struct xv_acl_key *in)
{
	rte_be16_t port = 0;

	if (pi->l4port) {
		if (pi->ct.proto == IPPROTO_ICMP || pi->ct.proto == IPPROTO_ICMPV6)
			port = rte_cpu_to_be_16(XV_ACL_ICMP_LO(pi->ct.icmp_type));
		else
			port = rte_cpu_to_be_16(pi->ct.dport);
	}
	if (pi->ct.flags & XV_CT_PKT_ICMP_ERROR)
		port = rte_cpu_to_be_16(XV_ACL_ICMP_LO(pi->ct.icmp_type));
	if (src != NULL && src->filtered)
		set_key(eg, pi, 0, src->profile, port, pi->ct.dst);
	if (dst != NULL && dst->filtered)
		set_key(in, pi, 1, dst->profile, port, pi->ct.src);
}

/* ---- sending ---- */

struct bucket {
	uint16_t dst;
	uint16_t n;
	struct rte_mbuf *m[XV_BURST_MAX];
};

struct out {
	unsigned int n;
	struct bucket b[XV_BURST_MAX];
};

/* Send 'n' packets ('bytes' in all, or UINT64_MAX: count them) to nport
 * 'dst'; what the port does not take is counted and freed. */
static void
send_to(const struct xv_net_view *v, unsigned int w, uint16_t dst,
	struct rte_mbuf **m, uint16_t n, uint64_t bytes)
{
	const struct xv_nport *np = &v->ports[dst];
	struct xv_port *p = np->port;
	struct xv_port_wstats *st = &p->wstats[w];
	uint16_t q = np->txq[w], sent = 0, tries = 0, i;

	if (unlikely(!xv_port_link_up(p))) {
		st->drops[XV_DROP_LINK_DOWN] += n;
		rte_pktmbuf_free_bulk(m, n);
		return;
	}
	if (bytes == UINT64_MAX)
		for (bytes = 0, i = 0; i < n; i++)
			bytes += rte_pktmbuf_pkt_len(m[i]);
	/* A switch cannot hold one destination's packets without holding
	 * up the others: a few immediate retries, then count the rest. */
	do {
		sent += xv_port_tx(p, q, m + sent, n - sent);
	} while (sent < n && ++tries < 4);
	if (unlikely(sent < n)) {
		for (i = sent; i < n; i++)
			bytes -= rte_pktmbuf_pkt_len(m[i]);
		st->drops[p->type == XV_PORT_VHOST ? XV_DROP_GUEST_RING_FULL :
						     XV_DROP_TX_FULL] += n - sent;
		rte_pktmbuf_free_bulk(m + sent, n - sent);
	}
	st->tx[q & (XV_MAX_QUEUES - 1)].packets += sent;
	st->tx[q & (XV_MAX_QUEUES - 1)].bytes += bytes;
}

static void
send_bucket(const struct xv_net_view *v, unsigned int w, struct bucket *b)
{
	send_to(v, w, b->dst, b->m, b->n, UINT64_MAX);
	b->n = 0;
}

static void
flush_all(const struct xv_net_view *v, unsigned int w, struct out *o)
{
	unsigned int i;

	for (i = 0; i < o->n; i++)
		send_bucket(v, w, &o->b[i]);
	o->n = 0;
}

static __rte_always_inline void
enqueue(const struct xv_net_view *v, unsigned int w, struct out *o,
	uint16_t dst, struct rte_mbuf *m)
{
	unsigned int i;

	for (i = 0; i < o->n; i++)
		if (o->b[i].dst == dst)
			break;
	if (unlikely(i == o->n)) {
		if (unlikely(o->n == XV_BURST_MAX))
			flush_all(v, w, o), i = 0;
		o->b[i].dst = dst;
		o->b[i].n = 0;
		o->n = i + 1;
	}
	o->b[i].m[o->b[i].n++] = m;
	if (unlikely(o->b[i].n == XV_BURST_MAX))
		send_bucket(v, w, &o->b[i]);
}

static __rte_always_inline void
drop(struct rte_mbuf *m, struct xv_port_wstats *st, enum xv_drop_reason r)
{
	st->drops[r]++;
	rte_pktmbuf_free(m);
}

/* Drop a packet of the burst: its info says so to the later stages. */
static __rte_always_inline void
discard(struct pinfo *p, struct rte_mbuf *m, struct xv_port_wstats *st,
	enum xv_drop_reason r)
{
	p->dst = DST_DROP;
	drop(m, st, r);
}

/* May a packet go from 'src' to 'dst' (both in one network)? */
static __rte_always_inline bool
forwardable(const struct xv_nport *src, const struct xv_nport *dst)
{
	return dst != src && !(src->uplink && dst->uplink);
}

/* May a flooded packet enter filtered port 'dst'? OK or why not. Rules
 * apply without state: broadcast and multicast open no connection. */
static enum xv_drop_reason
flood_ingress(const struct xv_net_view *v, const struct xv_nport *dst,
	      struct pinfo *pi)
{
	struct xv_acl_key key;
	const struct xv_acl_key *kp = &key;
	uint8_t allow = 0;

	/* Only IPv4, IPv6 and ARP reach a port with port security, as only
	 * they may leave one. */
	if (pi->l3 == L3_OTHER)
		return XV_DROP_BAD_ETHERTYPE;
	if (pi->l3 != L3_IP || pi->exempt)
		return OK;
	if (pi->frag)
		return XV_DROP_FRAGMENT;
	fill_keys(pi, NULL, dst, NULL, &key);
	if (v->acl != NULL)
		xv_acl_classify(v->acl, &kp, &allow, 1);
	return allow ? OK : XV_DROP_SG_INGRESS;
}

/*
 * Broadcast/multicast (and unknown unicast): to every port of 'list'
 * but the source, with stateless ingress rules for filtered receivers.
 */
static void
flood(const struct xv_net_view *v, unsigned int w, struct out *o,
      struct xv_port_wstats *ist, const struct xv_nport *src,
      const uint16_t *list, unsigned int n_list, struct rte_mbuf *m,
      struct pinfo *pi)
{
	unsigned int i, sent = 0, refused = 0;

	for (i = 0; i < n_list; i++) {
		const struct xv_nport *dst = &v->ports[list[i]];
		enum xv_drop_reason r;

		if (!forwardable(src, dst))
			continue;
		r = dst->filtered ? flood_ingress(v, dst, pi) : OK;
		if (r != OK) {
			dst->port->wstats[w].drops[r]++;
			refused++;
			continue;
		}
		/* One reference per copy; ours keeps the mbuf alive while a
		 * copy already sent is freed. */
		rte_mbuf_refcnt_update(m, 1);
		enqueue(v, w, o, list[i], m);
		sent++;
	}
	/* Counted once: where receivers refused it, there; else no_dest. */
	if (sent == 0 && refused == 0)
		ist->drops[XV_DROP_NO_DEST]++;
	rte_pktmbuf_free(m);
}

/*
 * The nport owning unicast MAC 'mac' in network 'net', or XV_NPORT_NONE:
 * from worker 'w''s memo when its slot for the MAC holds it, else from the
 * table (and memoized). Only unicast is asked, so a new memo holds the
 * broadcast address and answers nothing.
 */
static __rte_always_inline uint16_t
mac_owner(const struct xv_net_view *v, unsigned int w, uint16_t net,
	  const struct rte_ether_addr *mac)
{
	uint64_t k = xv_mac_memo_key(mac, net);
	struct xv_mac_memo_slot *s =
		&v->memo[w].slot[(k * 0x9e3779b97f4a7c15ull) >> (64 - XV_MAC_MEMO_BITS)];
	struct xv_mac_key key;
	void *data;

	if (likely(s->key == k))
		return s->idx;
	s->key = k;
	memset(&key, 0, sizeof(key));
	key.mac = *mac;
	key.net = net;
	s->idx = rte_hash_lookup_data(v->macs, &key, &data) >= 0 ?
			 (uint16_t)(uintptr_t)data : XV_NPORT_NONE;
	return s->idx;
}

void
xv_net_input(unsigned int w, struct xv_poll *poll, struct rte_mbuf **pkts,
	     uint16_t n, uint64_t bytes, uint64_t now)
{
	struct xv_net_view *v = __atomic_load_n(&xv_net_view, __ATOMIC_ACQUIRE);
	struct xv_port_wstats *ist = poll->in_st;
	const struct xv_nport *src;
	const struct xv_nnet *net;
	struct pinfo pi[XV_BURST_MAX];
	struct xv_ct_result ctr[XV_BURST_MAX];
	const struct xv_ct_pkt *ctp[XV_BURST_MAX];
	struct xv_acl_key keg[XV_BURST_MAX], kin[XV_BURST_MAX]; /* by ct index */
	const struct xv_acl_key *keys[2 * XV_BURST_MAX];
	uint8_t allow[2 * XV_BURST_MAX];
	uint16_t ct_idx[XV_BURST_MAX], key_pkt[2 * XV_BURST_MAX];
	/* Where the packets kept so far all go: DST_DROP before the first,
	 * DST_FLOOD once they differ (or one floods). */
	uint16_t one_dst = DST_DROP;
	/* Packets through stage 1; whether a later stage may drop some. */
	unsigned int n_pass = 0;
	bool may_drop = false;
	unsigned int i, n_ct = 0, n_keys = 0;
	uint16_t idx, miss;
	struct out o;

	idx = v != NULL ? v->by_slot[poll->in->slot] : XV_NPORT_NONE;
	if (unlikely(idx == XV_NPORT_NONE || v->ports[idx].uid != poll->in->uid)) {
		/* Joined or left a network a moment ago. */
		ist->drops[XV_DROP_NO_DEST] += n;
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	src = &v->ports[idx];
	net = &v->nets[src->net];
	/* A MAC no port owns (the gateway's, typically) goes to the ports
	 * that take unknown unicast: when that is one port (the uplink), it
	 * is plainly the destination; those ports are unfiltered, so
	 * conntrack and the rules decide the same. */
	miss = net->n_unknown == 1 ? net->unknown[0] : DST_UNKNOWN;

	/* 1. Per packet: parse and check the source, find the destination,
	 * and pick what conntrack has a say on: IP unicast with a filtered
	 * end. */
	for (i = 0; i < n; i++) {
		struct pinfo *p = &pi[i];
		const struct rte_ether_hdr *eh;
		const struct xv_nport *dst;
		enum xv_drop_reason r = parse(pkts[i], src, p);

		if (unlikely(r != OK)) {
			discard(p, pkts[i], ist, r);
			continue;
		}
		p->ct.zone = net->zone;
		eh = rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
		if (unlikely(rte_is_multicast_ether_addr(&eh->dst_addr))) {
			p->dst = DST_FLOOD;
			one_dst = DST_FLOOD;
			continue;
		}
		p->dst = mac_owner(v, w, src->net, &eh->dst_addr);
		if (p->dst == XV_NPORT_NONE)
			p->dst = miss;
		if (p->dst == DST_UNKNOWN) {
			dst = NULL; /* unfiltered receivers only */
			if (unlikely(net->n_unknown == 0)) {
				discard(p, pkts[i], ist, XV_DROP_NO_DEST);
				continue;
			}
		} else {
			dst = &v->ports[p->dst];
			if (unlikely(!forwardable(src, dst))) {
				discard(p, pkts[i], ist, XV_DROP_NO_DEST);
				continue;
			}
		}
		if (unlikely(p->l3 == L3_OTHER && dst != NULL && dst->filtered)) {
			discard(p, pkts[i], &dst->port->wstats[w], XV_DROP_BAD_ETHERTYPE);
			continue;
		}
		if (p->l3 == L3_IP && !p->exempt &&
		    (src->filtered || (dst != NULL && dst->filtered))) {
			if (unlikely(p->frag)) {
				discard(p, pkts[i], ist, XV_DROP_FRAGMENT);
				continue;
			}
			ctp[n_ct] = &p->ct;
			ct_idx[n_ct++] = i;
		}
		one_dst = one_dst == DST_DROP || one_dst == p->dst ? p->dst : DST_FLOOD;
		n_pass++;
	}

	/* 2. conntrack: usually every packet is part of a known connection,
	 * and that is all there is to check. */
	if (n_ct > 0 && xv_ct_lookup(v->ct, ctp, ctr, n_ct, now) > 0)
		may_drop = true;

	/* 3. rules for what is not part of a known connection. */
	for (i = 0; may_drop && i < n_ct; i++) {
		struct pinfo *p = &pi[ct_idx[i]];
		const struct xv_nport *dst = p->dst == DST_UNKNOWN ? NULL :
					     &v->ports[p->dst];

		switch (ctr[i].verdict) {
		case XV_CT_ESTABLISHED:
		case XV_CT_RELATED:
			continue;
		case XV_CT_INVALID:
			discard(p, pkts[ct_idx[i]], ist, XV_DROP_CT_INVALID);
			continue;
		default: /* NEW, UNTRACKED */
			break;
		}
		fill_keys(p, src, dst, &keg[i], &kin[i]);
		if (src->filtered) {
			keys[n_keys] = &keg[i];
			key_pkt[n_keys++] = i;
		}
		if (dst != NULL && dst->filtered) {
			keys[n_keys] = &kin[i];
			key_pkt[n_keys++] = i | 0x8000;
		}
	}
	if (n_keys > 0) {
		if (v->acl != NULL)
			xv_acl_classify(v->acl, keys, allow, n_keys);
		else
			memset(allow, 0, n_keys);
		for (i = 0; i < n_keys; i++) {
			unsigned int c = key_pkt[i] & 0x7fff;
			struct pinfo *p = &pi[ct_idx[c]];

			if (allow[i] || p->dst == DST_DROP)
				continue;
			if (key_pkt[i] & 0x8000)
				discard(p, pkts[ct_idx[c]], &v->ports[p->dst].port->wstats[w],
					XV_DROP_SG_INGRESS);
			else
				discard(p, pkts[ct_idx[c]], ist, XV_DROP_SG_EGRESS);
		}
		/* 4a. commit the connections the rules allowed. */
		for (i = 0; i < n_ct; i++) {
			struct pinfo *p = &pi[ct_idx[i]];
			int ret;

			if (ctr[i].verdict != XV_CT_NEW || p->dst == DST_DROP)
				continue;
			ret = xv_ct_commit(v->ct, &p->ct, now);
			if (unlikely(ret != 0))
				discard(p, pkts[ct_idx[i]], ist,
					ret == -ENOSPC ? XV_DROP_CT_FULL : XV_DROP_CT_INVALID);
		}
	}

	/* 4b. send: usually every packet left goes to one port, at once and
	 * in order; usually that is all of them. */
	if (likely(one_dst < DST_UNKNOWN)) {
		uint16_t k = 0;

		if (likely(n_pass == n && !may_drop)) {
			send_to(v, w, one_dst, pkts, n, bytes);
			return;
		}
		for (i = 0; i < n; i++)
			if (pi[i].dst != DST_DROP)
				pkts[k++] = pkts[i];
		if (k > 0)
			send_to(v, w, one_dst, pkts, k, UINT64_MAX);
		return;
	}
	if (one_dst == DST_DROP)
		return; /* all dropped */
	o.n = 0;
	for (i = 0; i < n; i++) {
		struct pinfo *p = &pi[i];

		if (p->dst == DST_DROP)
			continue;
		if (likely(p->dst < DST_UNKNOWN)) {
			enqueue(v, w, &o, p->dst, pkts[i]);
			continue;
		}
		if (p->dst == DST_UNKNOWN) {
			flood(v, w, &o, ist, src, net->unknown, net->n_unknown,
			      pkts[i], p);
			continue;
		}
		/* Broadcast/multicast: the sender's egress rules (stateless). */
		if (p->l3 == L3_IP && !p->exempt && src->filtered) {
			struct xv_acl_key key;
			const struct xv_acl_key *kp = &key;
			uint8_t ok = 0;

			if (p->frag) {
				drop(pkts[i], ist, XV_DROP_FRAGMENT);
				continue;
			}
			fill_keys(p, src, NULL, &key, NULL);
			if (v->acl != NULL)
				xv_acl_classify(v->acl, &kp, &ok, 1);
			if (!ok) {
				drop(pkts[i], ist, XV_DROP_SG_EGRESS);
				continue;
			}
		}
		flood(v, w, &o, ist, src, net->all, net->n_all, pkts[i], p);
	}
	flush_all(v, w, &o);
}
