/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Security-group rules compiled into rte_acl tries. The builder and
 * xv_acl_build run off the datapath; xv_acl_classify runs on workers over
 * an immutable set. Design notes: doc/acl.md.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "acl.h"
#include "xv_common.h"

/*
 * Field layout shared by the tables. It mirrors struct xv_acl_key: rte_acl
 * consumes the first field as one byte, then reads 4-byte words, so every
 * input_index group after the first must fill exactly 4 bytes (profile and
 * port share one). The profile comes early so the trie splits by profile
 * before it looks at ranges and prefixes, which keeps one profile's rules
 * from multiplying the nodes of another's.
 */
enum {
	F_PROTO,
	F_PROFILE,
	F_PORT,
	F_REMOTE,	/* IPv4: 1 word; IPv6: F_REMOTE..F_REMOTE + 3 */
	N_FIELDS4 = F_REMOTE + 1,
	N_FIELDS6 = F_REMOTE + 4,
};

RTE_ACL_RULE_DEF(acl_rule, N_FIELDS6);

static_assert(offsetof(struct xv_acl_key, proto) == 0, "rte_acl starts with 1 byte");
static_assert(offsetof(struct xv_acl_key, profile) == 4, "profile and port form a word");
static_assert(offsetof(struct xv_acl_key, port) == 6, "profile and port form a word");
static_assert(offsetof(struct xv_acl_key, remote) == 8, "remote words follow");
static_assert(sizeof(struct xv_acl_key) == 24, "key is what rte_acl reads");
static_assert(offsetof(struct xv_acl_rule, remote) == 12 &&
	      sizeof(struct xv_acl_rule) == 28,
	      "no padding in a rule: same_entry compares its bytes");

/* Tables: one context per direction and family; index = ingress * 2 + ipv6.
 * Splitting by direction and family keeps each trie small and lets IPv4
 * keys walk 9 bytes instead of IPv6's 21. */
#define N_TABLES 4

static const char *const table_names[N_TABLES] = { "eg4", "eg6", "in4", "in6" };

/* Runtime memory one table may use. With a limit rte_acl first tries few,
 * large tries (fast to classify) and splits them further only if they do
 * not fit; without one it always uses its smallest split threshold. */
#define CTX_MEM_MAX (256u << 20)

struct entry {
	uint16_t profile;
	struct xv_acl_rule rule;
};

struct xv_acl_builder {
	unsigned int n_entries;
	unsigned int cap;
	struct entry *entries;
};

unsigned int xv_acl_chunk_rules = XV_ACL_CHUNK_RULES;

/* A table's rules are compiled in chunks of xv_acl_chunk_rules, one
 * rte_acl context each: its trie build grows much faster than the rule
 * count (doc/acl.md), and a chunk whose rules did not change is taken
 * over from the previous set as it is. Sets share chunks, so a chunk is
 * freed with the last set holding it. */
struct chunk {
	struct rte_acl_ctx *ctx;
	struct entry *entries;	/* its rules, to compare with the next build's */
	unsigned int n;
	unsigned int refs;	/* sets holding it (atomic) */
};

struct xv_acl_set {
	struct chunk **chunks[N_TABLES];
	unsigned int n_chunks[N_TABLES];	/* 0: no rules, nothing matches */
	unsigned int n_rules;
	unsigned int n_reused;	/* chunks taken over from the previous set */
};

static inline unsigned int
table_of(uint8_t ingress, uint8_t ipv6)
{
	return (ingress != 0) * 2 + (ipv6 != 0);
}

static int
proto_has_ports(uint8_t proto)
{
	switch (proto) {
	case XV_ACL_PROTO_ICMP:
	case XV_ACL_PROTO_TCP:
	case XV_ACL_PROTO_UDP:
	case XV_ACL_PROTO_DCCP:
	case XV_ACL_PROTO_ICMPV6:
	case XV_ACL_PROTO_SCTP:
	case XV_ACL_PROTO_UDPLITE:
		return 1;
	default:
		return 0;
	}
}

struct xv_acl_builder *
xv_acl_builder_new(void)
{
	return calloc(1, sizeof(struct xv_acl_builder));
}

void
xv_acl_builder_free(struct xv_acl_builder *b)
{
	if (b == NULL)
		return;
	free(b->entries);
	free(b);
}

int
xv_acl_builder_add(struct xv_acl_builder *b, uint16_t profile,
		   const struct xv_acl_rule *rule)
{
	struct entry *e;

	if (rule->remote_plen > (rule->ipv6 ? 128 : 32) ||
	    rule->port_lo > rule->port_hi)
		return -EINVAL;
	if (!proto_has_ports(rule->proto) &&
	    (rule->port_lo != 0 || rule->port_hi != UINT16_MAX))
		return -EINVAL;
	if (b->n_entries >= XV_ACL_MAX_RULES)
		return -ENOSPC;
	if (b->n_entries == b->cap) {
		unsigned int cap = b->cap ? 2 * b->cap : 64;

		e = realloc(b->entries, cap * sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		b->entries = e;
		b->cap = cap;
	}
	e = &b->entries[b->n_entries++];
	e->profile = profile;
	e->rule = *rule;
	e->rule.ingress = rule->ingress != 0;
	e->rule.ipv6 = rule->ipv6 != 0;
	return 0;
}

unsigned int
xv_acl_builder_count(const struct xv_acl_builder *b)
{
	return b->n_entries;
}

/* The field definitions of a table: IPv4 has one remote word, IPv6 four. */
static void
fill_config(struct rte_acl_config *cfg, int ipv6)
{
	unsigned int n = ipv6 ? N_FIELDS6 : N_FIELDS4, i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->num_categories = 1;
	cfg->num_fields = n;
	cfg->max_size = CTX_MEM_MAX;
	cfg->defs[F_PROTO] = (struct rte_acl_field_def){
		.type = RTE_ACL_FIELD_TYPE_BITMASK, .size = sizeof(uint8_t),
		.field_index = F_PROTO, .input_index = 0,
		.offset = offsetof(struct xv_acl_key, proto),
	};
	cfg->defs[F_PROFILE] = (struct rte_acl_field_def){
		.type = RTE_ACL_FIELD_TYPE_BITMASK, .size = sizeof(uint16_t),
		.field_index = F_PROFILE, .input_index = 1,
		.offset = offsetof(struct xv_acl_key, profile),
	};
	cfg->defs[F_PORT] = (struct rte_acl_field_def){
		.type = RTE_ACL_FIELD_TYPE_RANGE, .size = sizeof(uint16_t),
		.field_index = F_PORT, .input_index = 1,
		.offset = offsetof(struct xv_acl_key, port),
	};
	for (i = F_REMOTE; i < n; i++)
		cfg->defs[i] = (struct rte_acl_field_def){
			.type = RTE_ACL_FIELD_TYPE_MASK, .size = sizeof(uint32_t),
			.field_index = i, .input_index = 2 + i - F_REMOTE,
			.offset = offsetof(struct xv_acl_key, remote) +
				  4 * (i - F_REMOTE),
		};
}

/* rte_acl wants field values in host order; it compares them with the
 * input read as big-endian. */
static void
fill_rule(struct acl_rule *r, const struct entry *e, uint32_t userdata)
{
	const struct xv_acl_rule *x = &e->rule;
	unsigned int w, n_words = x->ipv6 ? 4 : 1;

	memset(r, 0, sizeof(*r));
	r->data.category_mask = 1;
	r->data.priority = 1;	/* all rules allow: any match will do */
	r->data.userdata = userdata;	/* 0 would read as "no match" */
	r->field[F_PROTO].value.u8 = x->proto;
	r->field[F_PROTO].mask_range.u8 = x->proto != 0 ? 0xff : 0;
	/* The key holds the profile in host order and rte_acl reads it as
	 * big-endian; swap the rule's value the same way. */
	r->field[F_PROFILE].value.u16 = rte_be_to_cpu_16(e->profile);
	r->field[F_PROFILE].mask_range.u16 = UINT16_MAX;
	r->field[F_PORT].value.u16 = x->port_lo;
	r->field[F_PORT].mask_range.u16 = x->port_hi;
	for (w = 0; w < n_words; w++) {
		int plen = RTE_MIN(RTE_MAX((int)x->remote_plen - 32 * (int)w, 0), 32);
		uint32_t a;

		memcpy(&a, x->remote + 4 * w, sizeof(a));
		a = rte_be_to_cpu_32(a);
		r->field[F_REMOTE + w].value.u32 =
			plen == 0 ? 0 : a & (UINT32_MAX << (32 - plen));
		r->field[F_REMOTE + w].mask_range.u32 = plen;
	}
}

/* A context for table 't' from its 'n' entries 'es'. */
static struct rte_acl_ctx *
build_ctx(const struct entry *es, unsigned int t, unsigned int n,
	  char *err, size_t errlen)
{
	static uint32_t generation;
	int ipv6 = t & 1;
	uint32_t rule_size = RTE_ACL_RULE_SZ(ipv6 ? N_FIELDS6 : N_FIELDS4);
	struct rte_acl_config cfg;
	struct rte_acl_param param;
	struct rte_acl_ctx *ctx;
	char name[RTE_ACL_NAMESIZE];
	struct acl_rule r;
	uint8_t *rules;
	unsigned int i;
	int rc;

	/* rte_acl_create hands back the existing context when the name is
	 * taken, so every build gets names no live set uses. */
	snprintf(name, sizeof(name), "xvacl%u_%s",
		 __atomic_fetch_add(&generation, 1, __ATOMIC_RELAXED),
		 table_names[t]);
	param = (struct rte_acl_param){
		.name = name, .socket_id = SOCKET_ID_ANY,
		.rule_size = rule_size, .max_rule_num = n,
	};
	ctx = rte_acl_create(&param);
	if (ctx == NULL) {
		rc = -rte_errno;
		snprintf(err, errlen, "%s: rte_acl_create: %s", table_names[t],
			 rte_strerror(-rc));
		errno = -rc;
		return NULL;
	}

	/* rte_acl_add_rules copies a packed array whose stride is the
	 * table's rule size; IPv4 rules are the IPv6 layout cut short. */
	rules = malloc((size_t)n * rule_size);
	if (rules == NULL) {
		snprintf(err, errlen, "%s: out of memory for %u rules",
			 table_names[t], n);
		rte_acl_free(ctx);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		fill_rule(&r, &es[i], i + 1);
		memcpy(rules + (size_t)i * rule_size, &r, rule_size);
	}
	rc = rte_acl_add_rules(ctx, (const struct rte_acl_rule *)rules, n);
	free(rules);
	if (rc == 0) {
		fill_config(&cfg, ipv6);
		rc = rte_acl_build(ctx, &cfg);
	}
	if (rc != 0) {
		/* -ERANGE: even the most split tries exceed CTX_MEM_MAX. */
		if (rc == -ERANGE)
			rc = -ENOMEM;
		snprintf(err, errlen, "%s: rte_acl cannot build %u rules: %s",
			 table_names[t], n, rte_strerror(-rc));
		rte_acl_free(ctx);
		errno = -rc;
		return NULL;
	}
	return ctx;
}

/* Whether two entries match the same packets (the caller's rule id aside;
 * struct xv_acl_rule has no padding from 'ingress' on). */
static bool
same_entry(const struct entry *a, const struct entry *b)
{
	return a->profile == b->profile &&
	       memcmp(&a->rule.ingress, &b->rule.ingress,
		      sizeof(a->rule) - offsetof(struct xv_acl_rule, ingress)) == 0;
}

static void
chunk_put(struct chunk *c)
{
	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	rte_acl_free(c->ctx);
	free(c->entries);
	free(c);
}

/* Chunk 'i' of table 't', of the 'n' entries 'es': 'prev''s when it holds
 * the same rules, else a new one. NULL with errno and 'err' set. */
static struct chunk *
chunk_get(const struct xv_acl_set *prev, unsigned int t, unsigned int i,
	  const struct entry *es, unsigned int n, bool *reused, char *err,
	  size_t errlen)
{
	struct chunk *c = prev != NULL && i < prev->n_chunks[t] ?
				  prev->chunks[t][i] : NULL;
	unsigned int k;

	*reused = false;
	if (c != NULL && c->n == n) {
		for (k = 0; k < n && same_entry(&c->entries[k], &es[k]); k++)
			;
		if (k == n) {
			__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
			*reused = true;
			return c;
		}
	}
	c = calloc(1, sizeof(*c));
	if (c != NULL)
		c->entries = malloc((size_t)n * sizeof(*es));
	if (c == NULL || c->entries == NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	memcpy(c->entries, es, (size_t)n * sizeof(*es));
	c->n = n;
	c->refs = 1;
	c->ctx = build_ctx(es, t, n, err, errlen);
	if (c->ctx == NULL) {
		int e = errno;

		free(c->entries);
		free(c);
		errno = e;
		return NULL;
	}
	return c;
}

struct xv_acl_set *
xv_acl_build_from(const struct xv_acl_builder *b, const struct xv_acl_set *prev,
		  char *err, size_t errlen)
{
	unsigned int chunk = xv_acl_chunk_rules == 0 ? UINT_MAX :
			     RTE_MAX(xv_acl_chunk_rules, (unsigned int)XV_ACL_CHUNK_MIN);
	struct entry *es = NULL;
	struct xv_acl_set *s;
	unsigned int i, n, t;

	s = calloc(1, sizeof(*s));
	if (s != NULL && b->n_entries > 0)
		es = malloc((size_t)b->n_entries * sizeof(*es));
	if (s == NULL || (b->n_entries > 0 && es == NULL)) {
		free(s);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	for (t = 0; t < N_TABLES; t++) {
		/* The table's entries in order; rte_acl refuses to build an
		 * empty context, and no chunk matches nothing, which is what
		 * no rules means. */
		for (i = 0, n = 0; i < b->n_entries; i++)
			if (table_of(b->entries[i].rule.ingress,
				     b->entries[i].rule.ipv6) == t)
				es[n++] = b->entries[i];
		if (n > 0)
			s->chunks[t] = calloc(n / chunk + (n % chunk != 0),
					      sizeof(*s->chunks[t]));
		if (n > 0 && s->chunks[t] == NULL) {
			free(es);
			xv_acl_free(s);
			snprintf(err, errlen, "out of memory");
			errno = ENOMEM;
			return NULL;
		}
		for (i = 0; (uint64_t)i * chunk < n; i++) {
			bool reused;
			struct chunk *c = chunk_get(prev, t, i, es + i * chunk,
						    RTE_MIN(n - i * chunk, chunk),
						    &reused, err, errlen);

			if (c == NULL) {
				int e = errno;

				free(es);
				xv_acl_free(s);
				errno = e;
				return NULL;
			}
			s->chunks[t][s->n_chunks[t]++] = c;
			s->n_reused += reused;
		}
	}
	free(es);
	s->n_rules = b->n_entries;
	return s;
}

struct xv_acl_set *
xv_acl_build(const struct xv_acl_builder *b, char *err, size_t errlen)
{
	return xv_acl_build_from(b, NULL, err, errlen);
}

void
xv_acl_free(struct xv_acl_set *s)
{
	unsigned int t, i;

	if (s == NULL)
		return;
	for (t = 0; t < N_TABLES; t++) {
		for (i = 0; i < s->n_chunks[t]; i++)
			chunk_put(s->chunks[t][i]);
		free(s->chunks[t]);
	}
	free(s);
}

void
xv_acl_set_chunks(const struct xv_acl_set *s, unsigned int *chunks,
		  unsigned int *reused)
{
	unsigned int t;

	*chunks = 0;
	for (t = 0; t < N_TABLES; t++)
		*chunks += s->n_chunks[t];
	*reused = s->n_reused;
}

unsigned int
xv_acl_set_count(const struct xv_acl_set *s)
{
	return s->n_rules;
}

void
xv_acl_classify(const struct xv_acl_set *s, const struct xv_acl_key *const *keys,
		uint8_t *allow, unsigned int n)
{
	const uint8_t *data[N_TABLES][XV_BURST_MAX];
	uint8_t idx[N_TABLES][XV_BURST_MAX];
	uint32_t results[XV_BURST_MAX];
	unsigned int n_in[N_TABLES];
	unsigned int base, m, i, j, t;

	for (base = 0; base < n; base += m) {
		const struct xv_acl_key *const *k = keys + base;
		uint8_t *a = allow + base;

		m = RTE_MIN(n - base, (unsigned int)XV_BURST_MAX);
		memset(n_in, 0, sizeof(n_in));
		/* The key is rte_acl's input buffer: pass the pointers on. */
		for (i = 0; i < m; i++) {
			t = table_of(k[i]->ingress, k[i]->ipv6);
			data[t][n_in[t]] = (const uint8_t *)k[i];
			idx[t][n_in[t]++] = i;
		}
		for (t = 0; t < N_TABLES; t++) {
			unsigned int left = n_in[t], last = s->n_chunks[t], c, kept;

			if (left == 0)
				continue;
			if (last == 0) {
				for (j = 0; j < left; j++)
					a[idx[t][j]] = 0;
				continue;
			}
			/* Each chunk sees the keys no chunk before allowed;
			 * the last one answers for all it sees. */
			for (c = 0; left > 0; c++) {
				/* Cannot fail: one category, a built context. */
				rte_acl_classify(s->chunks[t][c]->ctx, data[t],
						 results, left, 1);
				if (c + 1 == last) {
					for (j = 0; j < left; j++)
						a[idx[t][j]] = results[j] != 0;
					break;
				}
				for (j = 0, kept = 0; j < left; j++) {
					if (results[j] != 0) {
						a[idx[t][j]] = 1;
						continue;
					}
					data[t][kept] = data[t][j];
					idx[t][kept++] = idx[t][j];
				}
				left = kept;
			}
		}
	}
}
