/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The security-group classifier against its contract (src/feat/acl/acl.h):
 * hand-written edge cases, then random rule sets and keys compared with the
 * linear model in tests/ref/acl_ref.c, key by key. Also prints (as TAP
 * comments, never asserted) build times and classify throughput.
 *
 * XV_ACL_SEED=N reproduces a run; the seed is printed first.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_malloc.h>

#include "acl.h"
#include "tap.h"
#include "xv_common.h"
/* tests/unit/meson.build compiles one source per test, so the reference
 * model comes in here. */
#include "../ref/acl_ref.c"

/* ---- helpers ---- */

static uint64_t rng_state;

/* xorshift64*: fast, seedable, good enough to spread rules and keys. */
static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n). */
static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)((rnd() >> 32) % n);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Bytes allocated on all rte_malloc heaps, to see what a set costs and
 * that freeing it gives everything back. */
static size_t
heap_used(void)
{
	struct rte_malloc_socket_stats st;
	size_t sum = 0;
	unsigned int i;

	for (i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			sum += st.heap_allocsz_bytes;
	return sum;
}

static struct xv_acl_rule
rule_of(int ingress, const char *addr, unsigned int plen, uint8_t proto,
	uint16_t lo, uint16_t hi)
{
	struct xv_acl_rule r = {
		.ingress = ingress, .proto = proto, .remote_plen = plen,
		.port_lo = lo, .port_hi = hi,
	};

	r.ipv6 = strchr(addr, ':') != NULL;
	if (inet_pton(r.ipv6 ? AF_INET6 : AF_INET, addr, r.remote) != 1)
		abort();
	return r;
}

static struct xv_acl_key
key_of(uint16_t profile, int ingress, const char *addr, uint8_t proto, uint16_t port)
{
	struct xv_acl_key k = {
		.proto = proto, .ingress = ingress, .profile = profile,
		.port = rte_cpu_to_be_16(port),
	};

	k.ipv6 = strchr(addr, ':') != NULL;
	if (inet_pton(k.ipv6 ? AF_INET6 : AF_INET, addr, k.remote) != 1)
		abort();
	return k;
}

/* Classify one key with 's'. */
static int
allowed(const struct xv_acl_set *s, struct xv_acl_key k)
{
	const struct xv_acl_key *kp = &k;
	uint8_t a = 0xee;

	xv_acl_classify(s, &kp, &a, 1);
	return a;
}

static void
key_str(const struct xv_acl_key *k, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(k->ipv6 ? AF_INET6 : AF_INET, k->remote, addr, sizeof(addr));
	snprintf(buf, len, "profile %u %s proto %u port %u remote %s",
		 k->profile, k->ingress ? "ingress" : "egress", k->proto,
		 rte_be_to_cpu_16(k->port), addr);
}

static void
rule_str(const struct xv_acl_rule *r, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(r->ipv6 ? AF_INET6 : AF_INET, r->remote, addr, sizeof(addr));
	snprintf(buf, len, "%s proto %u ports %u-%u remote %s/%u",
		 r->ingress ? "ingress" : "egress", r->proto, r->port_lo,
		 r->port_hi, addr, r->remote_plen);
}

/* ---- edge cases ---- */

/* A set from 'n' rules, all in 'profile'. */
static struct xv_acl_set *
set_of(uint16_t profile, const struct xv_acl_rule *rules, unsigned int n)
{
	struct xv_acl_builder *b = xv_acl_builder_new();
	struct xv_acl_set *s;
	char err[256] = "";
	unsigned int i;

	for (i = 0; i < n; i++)
		if (xv_acl_builder_add(b, profile, &rules[i]) != 0)
			printf("# rule %u refused\n", i);
	s = xv_acl_build(b, err, sizeof(err));
	if (s == NULL)
		printf("# build failed: %s\n", err);
	xv_acl_builder_free(b);
	return s;
}

static void
test_empty(void)
{
	struct xv_acl_builder *b = xv_acl_builder_new();
	struct xv_acl_set *s;
	char err[256];

	s = xv_acl_build(b, err, sizeof(err));
	check(s != NULL && xv_acl_set_count(s) == 0, "an empty rule set builds");
	check(!allowed(s, key_of(0, 0, "198.18.0.1", 6, 80)) &&
	      !allowed(s, key_of(0, 1, "198.18.0.1", 6, 80)) &&
	      !allowed(s, key_of(0, 0, "2001:db8::1", 6, 80)) &&
	      !allowed(s, key_of(0, 1, "2001:db8::1", 6, 80)),
	      "an empty set matches nothing, in all four tables");
	xv_acl_free(s);
	xv_acl_free(NULL);
	xv_acl_builder_free(b);
	xv_acl_builder_free(NULL);
}

static void
test_profiles(void)
{
	struct xv_acl_builder *b = xv_acl_builder_new();
	struct xv_acl_rule r = rule_of(1, "0.0.0.0", 0, 0, 0, 65535);
	struct xv_acl_set *s;
	char err[256];

	xv_acl_builder_add(b, 1, &r);
	xv_acl_builder_add(b, 0xff00, &r);
	s = xv_acl_build(b, err, sizeof(err));
	check(allowed(s, key_of(1, 1, "198.18.0.1", 6, 80)), "profile 1 has a rule");
	check(!allowed(s, key_of(2, 1, "198.18.0.1", 6, 80)), "profile 2 has none: no match");
	/* Byte order of the profile: 256 is 1 with its bytes swapped. */
	check(!allowed(s, key_of(256, 1, "198.18.0.1", 6, 80)),
	      "profile 256 does not match profile 1's rule");
	check(allowed(s, key_of(0xff00, 1, "198.18.0.1", 6, 80)) &&
	      !allowed(s, key_of(0x00ff, 1, "198.18.0.1", 6, 80)),
	      "profile 0xff00 matches, 0x00ff does not");
	check(!allowed(s, key_of(1, 0, "198.18.0.1", 6, 80)),
	      "an ingress rule does not match egress");
	check(!allowed(s, key_of(1, 1, "2001:db8::1", 6, 80)),
	      "an IPv4 rule does not match IPv6");
	xv_acl_free(s);
	xv_acl_builder_free(b);
}

static void
test_ports(void)
{
	struct xv_acl_rule rules[] = {
		rule_of(1, "0.0.0.0", 0, XV_ACL_PROTO_TCP, 1000, 2000),
		rule_of(1, "0.0.0.0", 0, XV_ACL_PROTO_UDP, 0, 0),
		rule_of(1, "0.0.0.0", 0, XV_ACL_PROTO_UDP, 65535, 65535),
		rule_of(1, "0.0.0.0", 0, XV_ACL_PROTO_SCTP, 0, 65535),
		rule_of(1, "::", 0, XV_ACL_PROTO_TCP, 443, 443),
	};
	struct xv_acl_set *s = set_of(7, rules, RTE_DIM(rules));

	check(!allowed(s, key_of(7, 1, "198.18.0.1", 6, 999)) &&
	      allowed(s, key_of(7, 1, "198.18.0.1", 6, 1000)) &&
	      allowed(s, key_of(7, 1, "198.18.0.1", 6, 1500)) &&
	      allowed(s, key_of(7, 1, "198.18.0.1", 6, 2000)) &&
	      !allowed(s, key_of(7, 1, "198.18.0.1", 6, 2001)),
	      "tcp 1000-2000: 999 no, 1000 yes, 2000 yes, 2001 no");
	/* 1000 = 0x03e8 and 59395 = 0xe803: a byte-order mix-up would show. */
	check(!allowed(s, key_of(7, 1, "198.18.0.1", 6, 0xe803)),
	      "tcp port 0xe803 (1000 byte-swapped) does not match");
	check(allowed(s, key_of(7, 1, "198.18.0.1", 17, 0)) &&
	      !allowed(s, key_of(7, 1, "198.18.0.1", 17, 1)) &&
	      !allowed(s, key_of(7, 1, "198.18.0.1", 17, 65534)) &&
	      allowed(s, key_of(7, 1, "198.18.0.1", 17, 65535)),
	      "udp single ports 0 and 65535, neighbours excluded");
	check(allowed(s, key_of(7, 1, "198.18.0.1", 132, 0)) &&
	      allowed(s, key_of(7, 1, "198.18.0.1", 132, 65535)),
	      "sctp 0-65535 covers both ends");
	check(!allowed(s, key_of(7, 1, "198.18.0.1", 17, 1500)),
	      "tcp range does not match udp");
	check(allowed(s, key_of(7, 1, "2001:db8::1", 6, 443)) &&
	      !allowed(s, key_of(7, 1, "2001:db8::1", 6, 442)) &&
	      !allowed(s, key_of(7, 1, "2001:db8::1", 6, 444)) &&
	      !allowed(s, key_of(7, 1, "2001:db8::1", 6, 1500)),
	      "IPv6 tcp 443 exactly; IPv4 rules do not leak into IPv6");
	xv_acl_free(s);
}

static void
test_prefixes(void)
{
	struct xv_acl_rule rules[] = {
		rule_of(1, "198.18.5.7", 32, 6, 1, 1),
		rule_of(1, "198.18.4.0", 24, 6, 2, 2),
		rule_of(1, "10.1.2.3", 8, 6, 3, 3),	/* host bits ignored */
		rule_of(1, "1.2.3.4", 0, 6, 4, 4),	/* /0: any */
		rule_of(1, "2001:db8::5", 128, 6, 1, 1),
		rule_of(1, "2001:db8:0:1::", 64, 6, 2, 2),
		rule_of(1, "2001:db8:8000::", 33, 6, 3, 3),
		rule_of(1, "2001:db8::", 0, 6, 4, 4),
		rule_of(1, "2001:db8:1:2:3:4:5:6", 127, 6, 5, 5),
	};
	struct xv_acl_set *s = set_of(3, rules, RTE_DIM(rules));

	check(allowed(s, key_of(3, 1, "198.18.5.7", 6, 1)) &&
	      !allowed(s, key_of(3, 1, "198.18.5.6", 6, 1)) &&
	      !allowed(s, key_of(3, 1, "70.18.5.7", 6, 1)),
	      "v4 /32: exact address only (last and first bit checked)");
	check(allowed(s, key_of(3, 1, "198.18.4.0", 6, 2)) &&
	      allowed(s, key_of(3, 1, "198.18.4.255", 6, 2)) &&
	      !allowed(s, key_of(3, 1, "198.18.5.0", 6, 2)),
	      "v4 /24: both ends in, the next /24 out");
	check(allowed(s, key_of(3, 1, "10.255.0.1", 6, 3)) &&
	      !allowed(s, key_of(3, 1, "11.1.2.3", 6, 3)),
	      "v4 /8 with host bits set in the rule");
	check(allowed(s, key_of(3, 1, "0.0.0.0", 6, 4)) &&
	      allowed(s, key_of(3, 1, "255.255.255.255", 6, 4)),
	      "v4 /0 matches any address");
	check(allowed(s, key_of(3, 1, "2001:db8::5", 6, 1)) &&
	      !allowed(s, key_of(3, 1, "2001:db8::4", 6, 1)) &&
	      !allowed(s, key_of(3, 1, "2001:db8::1:0:0:5", 6, 1)),
	      "v6 /128: exact address only");
	check(allowed(s, key_of(3, 1, "2001:db8:0:1:ffff:ffff:ffff:ffff", 6, 2)) &&
	      !allowed(s, key_of(3, 1, "2001:db8:0:0:ffff::", 6, 2)) &&
	      !allowed(s, key_of(3, 1, "2001:db8:0:3::", 6, 2)),
	      "v6 /64: host half free, bit 63 matters");
	check(allowed(s, key_of(3, 1, "2001:db8:ffff::", 6, 3)) &&
	      !allowed(s, key_of(3, 1, "2001:db8:7fff::", 6, 3)),
	      "v6 /33: the first bit of the second word matters, the rest not");
	check(allowed(s, key_of(3, 1, "::", 6, 4)) &&
	      allowed(s, key_of(3, 1, "ffff::1", 6, 4)),
	      "v6 /0 matches any address");
	check(allowed(s, key_of(3, 1, "2001:db8:1:2:3:4:5:7", 6, 5)) &&
	      !allowed(s, key_of(3, 1, "2001:db8:1:2:3:4:5:8", 6, 5)),
	      "v6 /127: last bit free, the one before not");
	xv_acl_free(s);
}

static void
test_protos(void)
{
	struct xv_acl_rule rules[] = {
		rule_of(0, "198.18.0.0", 16, 0, 0, 65535),	/* any proto */
		rule_of(1, "0.0.0.0", 0, XV_ACL_PROTO_ICMP, XV_ACL_ICMP_LO(8),
			XV_ACL_ICMP_HI(8)),			/* echo request */
		rule_of(1, "0.0.0.0", 0, XV_ACL_PROTO_ICMP, 3 << 8 | 4, 3 << 8 | 4),
		rule_of(1, "::", 0, XV_ACL_PROTO_ICMPV6, XV_ACL_ICMP_LO(128),
			XV_ACL_ICMP_HI(129)),			/* echo req+reply */
		rule_of(1, "0.0.0.0", 0, 47, 0, 65535),		/* GRE */
	};
	struct xv_acl_set *s = set_of(9, rules, RTE_DIM(rules));

	check(allowed(s, key_of(9, 0, "198.18.1.1", 6, 80)) &&
	      allowed(s, key_of(9, 0, "198.18.1.1", 17, 53)) &&
	      allowed(s, key_of(9, 0, "198.18.1.1", 47, 0)) &&
	      allowed(s, key_of(9, 0, "198.18.1.1", 0, 0)) &&
	      allowed(s, key_of(9, 0, "198.18.1.1", 255, 65535)) &&
	      !allowed(s, key_of(9, 0, "198.20.1.1", 6, 80)),
	      "proto any matches every protocol, only in its prefix");
	check(allowed(s, key_of(9, 1, "1.2.3.4", 1, 8 << 8)) &&
	      allowed(s, key_of(9, 1, "1.2.3.4", 1, 8 << 8 | 255)) &&
	      !allowed(s, key_of(9, 1, "1.2.3.4", 1, 0)) &&
	      !allowed(s, key_of(9, 1, "1.2.3.4", 1, 9 << 8)) &&
	      !allowed(s, key_of(9, 1, "1.2.3.4", 1, 7 << 8 | 255)),
	      "icmp type 8, any code: types 0, 7 and 9 out");
	check(allowed(s, key_of(9, 1, "1.2.3.4", 1, 3 << 8 | 4)) &&
	      !allowed(s, key_of(9, 1, "1.2.3.4", 1, 3 << 8 | 3)) &&
	      !allowed(s, key_of(9, 1, "1.2.3.4", 1, 3 << 8 | 5)),
	      "icmp type 3 code 4 exactly");
	check(!allowed(s, key_of(9, 1, "1.2.3.4", 6, 8 << 8)),
	      "an icmp rule does not match tcp with the same port value");
	check(allowed(s, key_of(9, 1, "2001:db8::1", 58, 128 << 8)) &&
	      allowed(s, key_of(9, 1, "2001:db8::1", 58, 129 << 8 | 3)) &&
	      !allowed(s, key_of(9, 1, "2001:db8::1", 58, 130 << 8)) &&
	      !allowed(s, key_of(9, 1, "2001:db8::1", 1, 8 << 8)),
	      "icmpv6 types 128-129; the IPv4 icmp rule stays out of IPv6");
	check(allowed(s, key_of(9, 1, "1.2.3.4", 47, 0)) &&
	      !allowed(s, key_of(9, 1, "1.2.3.4", 50, 0)),
	      "protocol by number (47 yes, 50 no)");
	xv_acl_free(s);
}

static void
test_validation(void)
{
	struct xv_acl_builder *b = xv_acl_builder_new();
	struct xv_acl_rule r;
	unsigned int i;
	int rc, ok = 1;

	r = rule_of(1, "1.2.3.4", 32, 6, 80, 80);
	r.remote_plen = 33;
	check(xv_acl_builder_add(b, 0, &r) == -EINVAL, "v4 plen 33 refused");
	r = rule_of(1, "::1", 128, 6, 80, 80);
	r.remote_plen = 129;
	check(xv_acl_builder_add(b, 0, &r) == -EINVAL, "v6 plen 129 refused");
	check(xv_acl_builder_add(b, 0, &(struct xv_acl_rule){ .proto = 6,
		.port_lo = 81, .port_hi = 80 }) == -EINVAL, "port_lo > port_hi refused");
	check(xv_acl_builder_add(b, 0, &(struct xv_acl_rule){ .proto = 0,
		.port_lo = 80, .port_hi = 80 }) == -EINVAL, "ports with proto any refused");
	check(xv_acl_builder_add(b, 0, &(struct xv_acl_rule){ .proto = 47,
		.port_lo = 0, .port_hi = 100 }) == -EINVAL, "ports with proto 47 refused");
	check(xv_acl_builder_count(b) == 0, "refused rules left nothing behind");
	check(xv_acl_builder_add(b, 0, &(struct xv_acl_rule){ .proto = 47,
		.port_lo = 0, .port_hi = 65535 }) == 0, "proto 47 without ports accepted");

	/* The cap; the rules themselves are cheap to add. */
	r = rule_of(1, "1.2.3.4", 32, 6, 80, 80);
	for (i = 1; i < XV_ACL_MAX_RULES && ok; i++)
		ok = xv_acl_builder_add(b, i & 0xffff, &r) == 0;
	rc = xv_acl_builder_add(b, 0, &r);
	check(ok && rc == -ENOSPC && xv_acl_builder_count(b) == XV_ACL_MAX_RULES,
	      "rule %u is refused with ENOSPC (%d)", XV_ACL_MAX_RULES + 1, rc);
	xv_acl_builder_free(b);
}

/* Sets are independent: two built from one builder live side by side
 * (rte_acl contexts need distinct names), and freeing every set gives all
 * rte memory back. */
static void
test_lifecycle(void)
{
	struct xv_acl_builder *b = xv_acl_builder_new();
	struct xv_acl_rule r1 = rule_of(1, "198.18.0.0", 15, 6, 22, 22);
	struct xv_acl_rule r2 = rule_of(1, "198.18.0.0", 15, 6, 80, 80);
	struct xv_acl_set *s1, *s2, *s3;
	size_t base = heap_used();
	char err[256];
	int i, ok = 1;

	xv_acl_builder_add(b, 5, &r1);
	s1 = xv_acl_build(b, err, sizeof(err));
	xv_acl_builder_add(b, 5, &r2);
	s2 = xv_acl_build(b, err, sizeof(err));
	s3 = xv_acl_build(b, err, sizeof(err));
	check(s1 && s2 && s3 && xv_acl_set_count(s1) == 1 && xv_acl_set_count(s2) == 2,
	      "three sets from one builder");
	check(allowed(s1, key_of(5, 1, "198.18.1.1", 6, 22)) &&
	      !allowed(s1, key_of(5, 1, "198.18.1.1", 6, 80)) &&
	      allowed(s2, key_of(5, 1, "198.18.1.1", 6, 80)) &&
	      allowed(s3, key_of(5, 1, "198.18.1.1", 6, 80)),
	      "each set keeps its own rules");
	xv_acl_free(s2);
	check(allowed(s3, key_of(5, 1, "198.18.1.1", 6, 80)),
	      "freeing one set leaves the other working");
	xv_acl_free(s1);
	xv_acl_free(s3);
	for (i = 0; i < 50 && ok; i++) {
		s1 = xv_acl_build(b, err, sizeof(err));
		ok = s1 != NULL && allowed(s1, key_of(5, 1, "198.18.1.1", 6, 22));
		xv_acl_free(s1);
	}
	check(ok, "50 build/free cycles");
	check(heap_used() == base, "rte memory back to where it was (%zu -> %zu)",
	      base, heap_used());
	xv_acl_builder_free(b);
}

/* Whether each of the 'n' rules (tcp, one port each, 10000 + i) of
 * 'rules' allows its own key, and a port no rule has is refused. */
static int
allows_each(const struct xv_acl_set *s, unsigned int n, const uint16_t *ports)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!allowed(s, key_of(5, 1, "198.18.1.1", 6, ports[i])))
			return 0;
	return !allowed(s, key_of(5, 1, "198.18.1.1", 6, 9999));
}

/* Chunks (here of 4 rules): a set built from the one in force takes over
 * each chunk whose rules are unchanged, the sets share those chunks, and
 * each chunk is freed with the last set holding it. */
static void
test_chunk_reuse(void)
{
	struct xv_acl_builder *b = xv_acl_builder_new(), *b2 = xv_acl_builder_new();
	struct xv_acl_set *s1, *s2, *s3;
	unsigned int i, chunks, reused;
	size_t base = heap_used();
	uint16_t ports[11];
	char err[256];

	xv_acl_chunk_rules = 4;
	for (i = 0; i < 11; i++) {
		struct xv_acl_rule r = rule_of(1, "198.18.0.0", 15, 6, 10000 + i, 10000 + i);

		ports[i] = 10000 + i;
		r.id = i + 1;
		if (i < 10)
			xv_acl_builder_add(b, 5, &r);
		if (i == 0)
			r.port_lo = r.port_hi = ports[0] = 20000; /* b2: the first one changed */
		xv_acl_builder_add(b2, 5, &r);
	}
	s1 = xv_acl_build(b, err, sizeof(err));
	xv_acl_set_chunks(s1, &chunks, &reused);
	check(s1 != NULL && chunks == 3 && reused == 0,
	      "10 rules in chunks of 4: 3 chunks, none reused (%u, %u)", chunks, reused);
	check(allows_each(s1, 10, (const uint16_t[]){ 10000, 10001, 10002, 10003, 10004,
						     10005, 10006, 10007, 10008, 10009 }),
	      "each rule of each chunk allows");

	/* One rule more: the last chunk changes. */
	{
		struct xv_acl_rule r = rule_of(1, "198.18.0.0", 15, 6, 10010, 10010);

		xv_acl_builder_add(b, 5, &r);
	}
	s2 = xv_acl_build_from(b, s1, err, sizeof(err));
	xv_acl_set_chunks(s2, &chunks, &reused);
	check(s2 != NULL && chunks == 3 && reused == 2,
	      "one rule added: 2 of 3 chunks taken over (%u, %u)", reused, chunks);
	xv_acl_free(s1);
	check(allows_each(s2, 11, (const uint16_t[]){ 10000, 10001, 10002, 10003, 10004,
						     10005, 10006, 10007, 10008, 10009, 10010 }),
	      "the new set allows every rule after the old one is freed");

	/* The first rule changed: the first chunk is new, the others are
	 * taken over (their rules are the same, whatever their ids). */
	s3 = xv_acl_build_from(b2, s2, err, sizeof(err));
	xv_acl_set_chunks(s3, &chunks, &reused);
	check(s3 != NULL && chunks == 3 && reused == 2,
	      "first rule changed: 2 of 3 chunks taken over (%u, %u)", reused, chunks);
	check(allows_each(s3, 11, ports) &&
	      !allowed(s3, key_of(5, 1, "198.18.1.1", 6, 10000)),
	      "the changed rule is in force, the old one gone");
	xv_acl_free(s2);
	check(allows_each(s3, 11, ports), "and stays so once the set before is freed");
	xv_acl_free(s3);
	check(heap_used() == base, "every chunk freed with its last set (rte memory %zu -> %zu)",
	      base, heap_used());
	xv_acl_chunk_rules = XV_ACL_CHUNK_RULES;
	xv_acl_builder_free(b);
	xv_acl_builder_free(b2);
}

/* Bursts longer than XV_BURST_MAX and mixing all four tables, some of
 * them empty, give the same answers as one key at a time. */
static void
test_bursts(void)
{
	struct xv_acl_rule rules[] = {
		rule_of(1, "198.18.0.0", 16, 6, 0, 1023),
		rule_of(0, "2001:db8::", 32, 17, 53, 53),
	};
	struct xv_acl_set *s = set_of(2, rules, RTE_DIM(rules));
	static const char *const addrs[] = { "198.18.3.4", "198.19.3.4", "2001:db8::9",
					     "2001:db9::9" };
	struct xv_acl_key keys[100];
	const struct xv_acl_key *kp[100];
	uint8_t a[100];
	int i, same = 1, n_allowed = 0;

	for (i = 0; i < 100; i++) {
		/* Every combination of direction, address, protocol and
		 * port, interleaved. */
		keys[i] = key_of(2, i & 1, addrs[(i >> 1) & 3], (i >> 3) & 1 ? 6 : 17,
				 (i >> 4) & 1 ? 53 : 2000);
		kp[i] = &keys[i];
	}
	memset(a, 0xee, sizeof(a));
	xv_acl_classify(s, kp, a, 100);
	for (i = 0; i < 100; i++) {
		same &= a[i] == allowed(s, keys[i]);
		n_allowed += a[i];
	}
	check(same && n_allowed == 6,
	      "a burst of 100 mixed keys = 100 single lookups (%d allowed)", n_allowed);
	xv_acl_free(s);
}

/* ---- random rule sets against the reference ---- */

struct rset {
	unsigned int n;
	uint16_t *profiles;
	struct xv_acl_rule *rules;
};

/* Profile ids with byte-swapped twins (1/256, 0x12/0x1200), so a byte
 * order slip in the profile field makes rules cross profiles. */
static const uint16_t profile_pool[] = { 0, 1, 256, 0x12, 0x1200, 7, 1000, 65535 };

/* One of 'n' profiles: from the pool above while it lasts, else any id
 * below 'n' (a host with many ports). */
static uint16_t
rnd_profile(unsigned int n)
{
	if (n <= RTE_DIM(profile_pool))
		return profile_pool[rnd_below(n)];
	return rnd_below(n);
}

static void
rnd_remote(uint8_t *a, int ipv6)
{
	unsigned int i;

	for (i = 0; i < 16; i++)
		a[i] = rnd();
	/* Mostly inside a few shared prefixes, so rules overlap. */
	if (rnd_below(4) != 0) {
		if (ipv6) {
			static const uint8_t p6[] = { 0x20, 0x01, 0x0d, 0xb8 };

			memcpy(a, p6, 4);
			a[4] = rnd_below(4);
		} else {
			a[0] = 198;
			a[1] = 18 + rnd_below(2);
			a[2] = rnd_below(8);
		}
	}
}

static uint8_t
rnd_proto(int ipv6)
{
	static const uint8_t others[] = { 47, 50, 132, 2, 255 };
	uint32_t x = rnd_below(100);

	if (x < 8)
		return 0;
	if (x < 48)
		return XV_ACL_PROTO_TCP;
	if (x < 75)
		return XV_ACL_PROTO_UDP;
	if (x < 90)
		return ipv6 ? XV_ACL_PROTO_ICMPV6 : XV_ACL_PROTO_ICMP;
	return others[rnd_below(RTE_DIM(others))];
}

static void
rnd_rule(struct xv_acl_rule *r, int ipv6, int ingress)
{
	static const uint16_t popular[] = { 22, 53, 80, 443, 3306, 8080, 0, 65535 };
	unsigned int max_plen = ipv6 ? 128 : 32;
	uint32_t x;

	memset(r, 0, sizeof(*r));
	r->ipv6 = ipv6;
	r->ingress = ingress;
	r->proto = rnd_proto(ipv6);
	r->port_lo = 0;
	r->port_hi = 65535;
	x = rnd_below(100);
	if (r->proto == XV_ACL_PROTO_ICMP || r->proto == XV_ACL_PROTO_ICMPV6) {
		uint8_t type = rnd_below(4) ? rnd_below(16) : 128 + rnd_below(8);

		if (x < 50) {
			r->port_lo = XV_ACL_ICMP_LO(type);
			r->port_hi = XV_ACL_ICMP_HI(type);
		} else if (x < 75) {
			r->port_lo = r->port_hi = type << 8 | rnd_below(16);
		}
	} else if (r->proto == XV_ACL_PROTO_TCP || r->proto == XV_ACL_PROTO_UDP ||
		   r->proto == XV_ACL_PROTO_SCTP) {
		if (x < 40) {
			r->port_lo = r->port_hi = popular[rnd_below(RTE_DIM(popular))];
		} else if (x < 85) {
			r->port_lo = rnd_below(65536);
			r->port_hi = RTE_MIN(65535u, r->port_lo + rnd_below(2000));
		} else if (x < 95) {
			r->port_lo = rnd_below(65536);
			r->port_hi = r->port_lo + rnd_below(65536 - r->port_lo);
		}
	}
	rnd_remote(r->remote, ipv6);
	x = rnd_below(100);
	if (x < 5)
		r->remote_plen = 0;
	else if (x < 30)
		r->remote_plen = max_plen;
	else
		r->remote_plen = 1 + rnd_below(max_plen);
}

/* 'n' random rules over 'n_profiles' profiles; 'one_table': all ingress
 * IPv4 in one profile (one dense trie). */
static void
rnd_rset(struct rset *rs, unsigned int n, unsigned int n_profiles, int one_table)
{
	unsigned int i;

	rs->n = n;
	rs->profiles = calloc(n + 1, sizeof(*rs->profiles));
	rs->rules = calloc(n + 1, sizeof(*rs->rules));
	for (i = 0; i < n; i++) {
		if (one_table) {
			rs->profiles[i] = 1;
			rnd_rule(&rs->rules[i], 0, 1);
		} else {
			rs->profiles[i] = rnd_profile(n_profiles);
			rnd_rule(&rs->rules[i], rnd_below(2), rnd_below(2));
		}
	}
}

static void
rset_free(struct rset *rs)
{
	free(rs->profiles);
	free(rs->rules);
}

static struct xv_acl_set *
rset_build(const struct rset *rs, double *secs)
{
	struct xv_acl_builder *b = xv_acl_builder_new();
	struct xv_acl_set *s;
	char err[256] = "";
	unsigned int i;
	double t0;

	for (i = 0; i < rs->n; i++)
		if (xv_acl_builder_add(b, rs->profiles[i], &rs->rules[i]) != 0)
			printf("# random rule %u refused\n", i);
	t0 = now_s();
	s = xv_acl_build(b, err, sizeof(err));
	if (secs != NULL)
		*secs = now_s() - t0;
	if (s == NULL)
		printf("# build of %u rules failed: %s\n", rs->n, err);
	xv_acl_builder_free(b);
	return s;
}

/* A key aimed at a random rule of 'rs' (most of the time inside it, often
 * at an edge, sometimes just outside in one field), or a random key. */
static void
rnd_key(struct xv_acl_key *k, const struct rset *rs, unsigned int n_profiles)
{
	const struct xv_acl_rule *r;
	unsigned int plen, max_plen, i, port;

	memset(k, 0, sizeof(*k));
	if (rs->n == 0 || rnd_below(100) < 15) {
		k->ipv6 = rnd_below(2);
		k->ingress = rnd_below(2);
		k->profile = rnd_profile(n_profiles);
		k->proto = rnd_proto(k->ipv6);
		k->port = rte_cpu_to_be_16(rnd_below(65536));
		rnd_remote(k->remote, k->ipv6);
		k->pad = rnd();
		return;
	}
	i = rnd_below(rs->n);
	r = &rs->rules[i];
	k->ipv6 = r->ipv6;
	k->ingress = r->ingress;
	k->profile = rs->profiles[i];
	k->proto = r->proto != 0 ? r->proto : rnd_proto(r->ipv6);
	switch (rnd_below(4)) {
	case 0:
		port = r->port_lo;
		break;
	case 1:
		port = r->port_hi;
		break;
	default:
		port = r->port_lo + rnd_below(r->port_hi - r->port_lo + 1);
	}
	/* The remote: the rule's prefix, random bits after it. */
	max_plen = r->ipv6 ? 128 : 32;
	plen = r->remote_plen;
	rnd_remote(k->remote, r->ipv6);
	for (i = 0; i < plen; i++) {
		uint8_t bit = 0x80 >> (i % 8);

		k->remote[i / 8] = (k->remote[i / 8] & ~bit) | (r->remote[i / 8] & bit);
	}

	/* Step out of the rule in one field, where it is easiest to get
	 * wrong. */
	switch (rnd_below(12)) {
	case 0:
		port = r->port_lo - 1;	/* wraps to 65535 at 0: fine */
		break;
	case 1:
		port = r->port_hi + 1;
		break;
	case 2:
		if (plen > 0)	/* the last bit of the prefix */
			k->remote[(plen - 1) / 8] ^= 0x80 >> ((plen - 1) % 8);
		break;
	case 3:
		if (plen < max_plen)	/* the first bit after it: still in */
			k->remote[plen / 8] ^= 0x80 >> (plen % 8);
		break;
	case 4:
		k->profile = rte_bswap16(k->profile);
		break;
	case 5:
		k->proto = rnd_proto(k->ipv6);
		break;
	case 6:
		k->ingress = !k->ingress;
		break;
	case 7:
		k->ipv6 = !k->ipv6;
		break;
	default:
		break;
	}
	k->port = rte_cpu_to_be_16((uint16_t)port);
	/* Bytes the contract says are not compared get noise: the padding,
	 * IPv4's unused 12 address bytes, flag values other than 1. */
	k->pad = rnd();
	k->ingress *= 1 + rnd_below(200);
	k->ipv6 *= 1 + rnd_below(200);
}

/* Classify 'n' keys with 's' in random burst sizes and compare with 'ref'.
 * Returns the mismatches; prints the first few. */
static unsigned int
compare(const struct xv_acl_set *s, const struct acl_ref *ref, const struct rset *rs,
	const struct xv_acl_key *keys, unsigned int n, unsigned int *n_allowed, int quiet)
{
	const struct xv_acl_key *kp[64];
	uint8_t a[64];
	unsigned int done = 0, bad = 0, i, m;
	char ks[160], rstr[160];

	*n_allowed = 0;
	while (done < n) {
		/* Mostly datapath bursts, sometimes longer than XV_BURST_MAX. */
		m = RTE_MIN(n - done, rnd_below(8) ? 1 + rnd_below(32) : 64u);
		for (i = 0; i < m; i++)
			kp[i] = &keys[done + i];
		xv_acl_classify(s, kp, a, m);
		for (i = 0; i < m; i++) {
			int want = acl_ref_match(ref, kp[i]);

			*n_allowed += a[i];
			if ((want >= 0) == (a[i] == 1) && a[i] <= 1)
				continue;
			if (++bad <= 5 && !quiet) {
				key_str(kp[i], ks, sizeof(ks));
				if (want >= 0)
					rule_str(&rs->rules[want], rstr, sizeof(rstr));
				printf("# mismatch: %s: acl %u, reference %s%s\n", ks, a[i],
				       want >= 0 ? "matches " : "no match", want >= 0 ? rstr : "");
			}
		}
		done += m;
	}
	return bad;
}

static struct acl_ref *
rset_ref(const struct rset *rs)
{
	struct acl_ref *ref = acl_ref_new();
	unsigned int i;

	for (i = 0; i < rs->n; i++)
		acl_ref_add(ref, rs->profiles[i], &rs->rules[i]);
	return ref;
}

static void
differential(unsigned int n_rules, unsigned int n_profiles, int one_table,
	     unsigned int n_keys)
{
	struct xv_acl_key *keys = malloc(n_keys * sizeof(*keys));
	unsigned int i, bad, n_allowed;
	struct acl_ref *ref;
	struct xv_acl_set *s;
	struct rset rs;
	double secs;

	rnd_rset(&rs, n_rules, n_profiles, one_table);
	s = rset_build(&rs, &secs);
	ref = rset_ref(&rs);
	for (i = 0; i < n_keys; i++)
		rnd_key(&keys[i], &rs, n_profiles);
	bad = s == NULL ? n_keys : compare(s, ref, &rs, keys, n_keys, &n_allowed, 0);
	check(s != NULL && bad == 0,
	      "%u random rules%s, profiles: %u, chunks of %u, %u keys: %u mismatches, %.1f%% allowed (build %.0f ms)",
	      n_rules, one_table ? " in one table" : "", one_table ? 1 : n_profiles,
	      xv_acl_chunk_rules, n_keys, bad, s ? 100.0 * n_allowed / n_keys : 0.0,
	      secs * 1e3);
	xv_acl_free(s);
	acl_ref_free(ref);
	rset_free(&rs);
	free(keys);
}

/* The comparison itself must be able to fail: against a reference whose
 * rules are each one step narrower, it has to find mismatches. */
static void
harness_can_fail(void)
{
	unsigned int n_keys = 20000, i, bad_port, bad_plen, n_allowed;
	struct xv_acl_key *keys = malloc(n_keys * sizeof(*keys));
	struct acl_ref *ref;
	struct xv_acl_set *s;
	struct rset rs, mut;

	rnd_rset(&rs, 300, 4, 0);
	s = rset_build(&rs, NULL);
	for (i = 0; i < n_keys; i++)
		rnd_key(&keys[i], &rs, 4);

	mut = rs;
	mut.rules = malloc(rs.n * sizeof(*mut.rules));
	memcpy(mut.rules, rs.rules, rs.n * sizeof(*mut.rules));
	for (i = 0; i < rs.n; i++)
		if (mut.rules[i].port_hi > mut.rules[i].port_lo)
			mut.rules[i].port_hi--;
	ref = rset_ref(&mut);
	bad_port = compare(s, ref, &rs, keys, n_keys, &n_allowed, 1);
	acl_ref_free(ref);

	memcpy(mut.rules, rs.rules, rs.n * sizeof(*mut.rules));
	for (i = 0; i < rs.n; i++)
		if (mut.rules[i].remote_plen < (mut.rules[i].ipv6 ? 128 : 32))
			mut.rules[i].remote_plen++;
	ref = rset_ref(&mut);
	bad_plen = compare(s, ref, &rs, keys, n_keys, &n_allowed, 1);
	acl_ref_free(ref);

	check(bad_port > 0 && bad_plen > 0,
	      "the comparison catches an off-by-one reference (port_hi-1: %u, plen+1: %u mismatches)",
	      bad_port, bad_plen);
	free(mut.rules);
	xv_acl_free(s);
	rset_free(&rs);
	free(keys);
}

/* ---- scale and timing (printed, never asserted) ---- */

/* Keys per second classifying 'keys' in bursts of XV_BURST_MAX: the best
 * of a few passes, since the machine is shared and only the least
 * disturbed pass says something about the code. */
static double
throughput(const struct xv_acl_set *s, const struct xv_acl_key **kp, uint8_t *a,
	   unsigned int n)
{
	double best = 0, t0, dt;
	unsigned int pass, i;

	for (pass = 0; pass < 5; pass++) {
		t0 = now_s();
		for (i = 0; i < n; i += XV_BURST_MAX)
			xv_acl_classify(s, kp + i, a + i,
					RTE_MIN((unsigned int)XV_BURST_MAX, n - i));
		dt = now_s() - t0;
		if (n / dt > best)
			best = n / dt;
	}
	return best;
}

static void
scale_one(unsigned int n_rules, unsigned int n_profiles, int one_table)
{
	unsigned int n_keys = 100000, i, n_allowed, bad;
	struct xv_acl_key *keys = malloc(n_keys * sizeof(*keys));
	const struct xv_acl_key **kp = malloc(n_keys * sizeof(*kp));
	uint8_t *a = malloc(n_keys);
	char what[80];
	struct acl_ref *ref;
	struct xv_acl_set *s;
	struct rset rs;
	double secs;
	size_t base;

	if (one_table)
		snprintf(what, sizeof(what), "in one table, 1 profile");
	else
		snprintf(what, sizeof(what), "%u profiles, both families and directions",
			 n_profiles);
	rnd_rset(&rs, n_rules, n_profiles, one_table);
	base = heap_used();
	s = rset_build(&rs, &secs);
	if (check(s != NULL, "%u rules %s build", n_rules, what)) {
		printf("# build %u rules (%s): %.0f ms, %.1f MB rte memory\n",
		       n_rules, what, secs * 1e3, (heap_used() - base) / 1048576.0);
		for (i = 0; i < n_keys; i++) {
			rnd_key(&keys[i], &rs, n_profiles);
			kp[i] = &keys[i];
		}
		/* A sample against the reference (slow at this size). */
		ref = rset_ref(&rs);
		bad = compare(s, ref, &rs, keys, 10000, &n_allowed, 0);
		check(bad == 0, "%u rules %s: 10000 keys agree with the reference (%u mismatches)",
		      n_rules, what, bad);
		acl_ref_free(ref);
	}
	if (s != NULL && !one_table) {
		static const char *const names[] = { "egress IPv4", "egress IPv6",
						     "ingress IPv4", "ingress IPv6" };
		unsigned int t, n;

		/* Bursts mixing all four tables (the worst case: each
		 * rte_acl call gets a quarter of the burst), then bursts of
		 * one table, as from one port's rx queue. */
		printf("# classify %u rules, bursts of %u: mixed tables %.1f Mkeys/s",
		       n_rules, XV_BURST_MAX, throughput(s, kp, a, n_keys) / 1e6);
		for (t = 0; t < 4; t++) {
			for (i = 0, n = 0; i < n_keys; i++)
				if (!!keys[i].ingress == t / 2 && !!keys[i].ipv6 == t % 2)
					kp[n++] = &keys[i];
			printf(", %s %.1f", names[t], throughput(s, kp, a, n) / 1e6);
		}
		printf("\n");
	}
	xv_acl_free(s);
	rset_free(&rs);
	free(keys);
	free(kp);
	free(a);
}

int
main(int argc, char **argv)
{
	/* One thread, free to run on either cpu: this machine is shared. */
	char *eal[] = { argv[0], "--lcores", "0@(0,1)", "--no-huge", "-m", "512",
			"--no-shconf", "--no-pci", "--no-telemetry",
			"--log-level=*:error", NULL };
	const char *seed = getenv("XV_ACL_SEED");
	double t0 = now_s();
	int i;

	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	rng_state = seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL) * 2654435761u;
	if (rng_state == 0)
		rng_state = 1;
	printf("# XV_ACL_SEED=%" PRIu64 "\n", rng_state);

	test_empty();
	test_profiles();
	test_ports();
	test_prefixes();
	test_protos();
	test_validation();
	test_lifecycle();
	test_chunk_reuse();
	test_bursts();

	differential(1, 1, 0, 20000);
	differential(10, 2, 0, 50000);
	differential(100, 4, 0, 100000);
	differential(500, 8, 0, 100000);
	differential(1000, 8, 0, 100000);
	differential(2000, 8, 0, 100000);
	for (i = 0; i < 6; i++)
		differential(1 + rnd_below(2000),
			     1 + rnd_below(i % 2 ? 8 : 1000), 0, 100000);
	differential(2000, 1, 1, 100000);
	/* Many small chunks: a key refused by one chunk goes on to the next. */
	xv_acl_chunk_rules = 7;
	differential(100, 4, 0, 50000);
	xv_acl_chunk_rules = 97;
	differential(2000, 8, 0, 100000);
	differential(2000, 1, 1, 100000);
	xv_acl_chunk_rules = 0; /* one context per table */
	differential(2000, 8, 0, 50000);
	xv_acl_chunk_rules = XV_ACL_CHUNK_RULES;
	harness_can_fail();

	scale_one(1000, 8, 0);
	scale_one(10000, 8, 0);
	scale_one(10000, 1000, 0);
	scale_one(10000, 1, 1);
	printf("# total %.1f s\n", now_s() - t0);
	rte_eal_cleanup();
	return tap_done();
}
