/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Security-group classifier: "does any allow rule of this port's security
 * groups match this packet?", answered for a burst with DPDK's rte_acl.
 *
 * Rules are grouped by *profile*: a small integer the caller gives to each
 * distinct set of security groups attached to ports (ports with the same
 * groups share a profile). A rule set is compiled off the datapath
 * (xv_acl_builder_* then xv_acl_build, on any one non-worker thread at a
 * time: the control thread hands the compile to a helper), published by the caller with a
 * release store, read by workers (xv_acl_classify) and freed by the caller
 * after an RCU grace period (xv_acl_free). A compiled set is immutable, so
 * any number of workers may classify with it at once, without locks.
 *
 * What this module does not do (the caller's policy):
 * - Default verdicts. A key that matches no rule gets 0; whether that means
 *   drop (ingress) or pass (egress) is decided outside.
 * - State. Replies to allowed traffic are let through by conntrack, which
 *   runs before this lookup; only new connections should be classified.
 * - Remote groups. A rule whose remote is a security group is expanded by
 *   the caller into one rule per member address (a /32 or /128 each), and
 *   the set is rebuilt when the group's membership changes.
 * - Parsing. The caller fills struct xv_acl_key from the parsed packet,
 *   including the final IPv6 next header after extension headers.
 *   Non-first fragments carry no L4 header and must be reassembled or
 *   resolved by conntrack before they get here.
 */
#ifndef XV_ACL_H
#define XV_ACL_H

#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>

/* Rules in one set, all profiles and families together. rte_acl keeps a
 * copy of every rule in rte memory and build time grows with the count;
 * this bounds both (a remote group of 100 members in 10 rules is 1,000). */
#define XV_ACL_MAX_RULES (1u << 18)

/* IP protocol numbers with a meaning for xv_acl_key.port. */
#define XV_ACL_PROTO_ICMP 1
#define XV_ACL_PROTO_TCP 6
#define XV_ACL_PROTO_UDP 17
#define XV_ACL_PROTO_DCCP 33
#define XV_ACL_PROTO_ICMPV6 58
#define XV_ACL_PROTO_SCTP 132
#define XV_ACL_PROTO_UDPLITE 136

/* ICMP rules match the 16-bit value (type << 8 | code), the first two bytes
 * of the ICMP header. One type with any code is this range: */
#define XV_ACL_ICMP_LO(type) ((uint16_t)((type) << 8))
#define XV_ACL_ICMP_HI(type) ((uint16_t)(((type) << 8) | 0xff))

/*
 * One allow rule. All fields must match for the rule to match.
 * 'ingress': 1 = traffic towards the port's VM, 0 = egress (from the VM).
 * 'ipv6': the family (0 = IPv4); a rule never matches the other family.
 * 'proto': IP protocol / IPv6 next header; 0 = any protocol.
 * 'port_lo'..'port_hi' (inclusive, host order): destination port for
 *   tcp/udp/sctp/dccp/udplite, (type << 8 | code) for icmp/icmpv6, in both
 *   directions. Must be 0..65535 for any other protocol and for proto 0:
 *   "port" means nothing common to all protocols.
 * 'remote', 'remote_plen': the remote end's prefix, network byte order (as
 *   in the packet), IPv4 in the first 4 bytes. The remote end is the source
 *   of ingress traffic and the destination of egress traffic. plen 0 = any;
 *   bits past plen are ignored.
 * 'id': the caller's rule id; not used for matching.
 */
struct xv_acl_rule {
	uint32_t id;
	uint8_t ingress;
	uint8_t ipv6;
	uint8_t proto;
	uint8_t remote_plen;
	uint16_t port_lo;
	uint16_t port_hi;
	uint8_t remote[16];
};

/*
 * A packet's lookup key. It is also the buffer rte_acl reads, so the
 * datapath fills it once (in per-packet metadata) and nothing is copied:
 * 'proto' must stay the first byte (rte_acl starts with one byte), then
 * 4-byte groups: profile and port, then the remote address. 'port' and
 * 'remote' are in network byte order, straight from the packet headers;
 * 'profile' is in host order (an exact match only needs equal bytes, so
 * the builder stores rule profiles in the same order). 'ingress' and 'ipv6'
 * choose the table and are not compared. 'port': the destination port, or
 * the first 2 bytes of the ICMP header, or 0 for other protocols.
 */
struct xv_acl_key {
	uint8_t proto;
	uint8_t ingress;
	uint8_t ipv6;
	uint8_t pad;
	uint16_t profile;
	rte_be16_t port;
	uint8_t remote[16];
};

struct xv_acl_builder;
struct xv_acl_set;

/* A new, empty builder, or NULL (errno ENOMEM). A builder belongs to one
 * non-worker thread at a time. */
struct xv_acl_builder *
xv_acl_builder_new(void);

/* Free 'b' (NULL is a no-op). Sets built from it are independent of it. */
void
xv_acl_builder_free(struct xv_acl_builder *b);

/*
 * Add a copy of 'rule' to 'profile'. A rule may be added to several
 * profiles. Returns 0, -EINVAL (plen too long for the family, port_lo >
 * port_hi, a port range on a protocol without ports), -ENOSPC (more than
 * XV_ACL_MAX_RULES) or -ENOMEM; on error the builder is unchanged.
 */
int
xv_acl_builder_add(struct xv_acl_builder *b, uint16_t profile,
		   const struct xv_acl_rule *rule);

/* Rules added so far. */
unsigned int
xv_acl_builder_count(const struct xv_acl_builder *b);

/* A table's rules (one family and direction) are compiled in chunks of
 * xv_acl_chunk_rules (0: all in one), an rte_acl context each: rte_acl's build time grows much
 * faster than the rule count, so chunks build faster than one context,
 * and a chunk whose rules did not change is reused (xv_acl_build_from).
 * The price: a key not allowed by a chunk is classified again by the next
 * one (doc/acl.md has the figures). Tests may lower it, down to
 * XV_ACL_CHUNK_MIN, to exercise chunks with few rules. */
#define XV_ACL_CHUNK_RULES 4096 /* the default (xvio --acl-chunk) */
#define XV_ACL_CHUNK_MIN 4
extern unsigned int xv_acl_chunk_rules;

/*
 * Compile what 'b' holds into a new set: rte_acl contexts per family
 * and direction that has rules (one per chunk of its rules). 'b' is left as it was (add more and build
 * again for the next version). About 30 ms for 1,000 rules and 0.1-0.5 s
 * for 10,000 (doc/acl.md). It touches nothing the datapath reads, so it
 * may run on any non-worker thread, and several builds may run at once.
 * Returns the set, or NULL with errno set and a message in 'err'
 * (ENOMEM: out of memory, or rte_acl could not fit the rules; the caller
 * keeps using its previous set).
 */
struct xv_acl_set *
xv_acl_build(const struct xv_acl_builder *b, char *err, size_t errlen);

/* The same, taking over each chunk of 'prev' (NULL: none) whose rules are
 * the new chunk's: a change that leaves a table's first chunks as they
 * were compiles only the rest. 'prev' stays valid and independent (sets
 * share chunks; each is freed with its last set). */
struct xv_acl_set *
xv_acl_build_from(const struct xv_acl_builder *b, const struct xv_acl_set *prev,
		  char *err, size_t errlen);

/* Chunks (rte_acl contexts) in 's', and how many were taken over from the
 * set it was built from. */
void
xv_acl_set_chunks(const struct xv_acl_set *s, unsigned int *chunks,
		  unsigned int *reused);

/* Free 's' (NULL is a no-op). Only after no worker can still use it. */
void
xv_acl_free(struct xv_acl_set *s);

/* Rules compiled into 's'. */
unsigned int
xv_acl_set_count(const struct xv_acl_set *s);

/*
 * Datapath. Classify 'n' keys (any mix of families and directions; split
 * internally into bursts of XV_BURST_MAX per table): allow[i] = 1 if some
 * rule of keys[i]->profile matches keys[i], else 0. Cannot fail; no
 * allocation, locks or logging. Safe on any number of threads at once.
 */
void
xv_acl_classify(const struct xv_acl_set *s, const struct xv_acl_key *const *keys,
		uint8_t *allow, unsigned int n);

#endif /* XV_ACL_H */
