/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linear-scan reference model of the security-group classifier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl_ref.h"

struct ref_rule {
	uint16_t profile;
	struct xv_acl_rule rule;
};

struct acl_ref {
	unsigned int n, cap;
	struct ref_rule *rules;
};

struct acl_ref *
acl_ref_new(void)
{
	struct acl_ref *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		fprintf(stderr, "acl_ref: out of memory\n");
		exit(1);
	}
	return m;
}

void
acl_ref_free(struct acl_ref *m)
{
	if (m == NULL)
		return;
	free(m->rules);
	free(m);
}

void
acl_ref_add(struct acl_ref *m, uint16_t profile, const struct xv_acl_rule *rule)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->rules = realloc(m->rules, m->cap * sizeof(*m->rules));
		if (m->rules == NULL) {
			fprintf(stderr, "acl_ref: out of memory\n");
			exit(1);
		}
	}
	m->rules[m->n].profile = profile;
	m->rules[m->n].rule = *rule;
	m->n++;
}

/* The first 'plen' bits of 'a' and 'b' are equal. Bit by bit, on purpose:
 * the model should be too simple to be wrong. */
static int
prefix_eq(const uint8_t *a, const uint8_t *b, unsigned int plen)
{
	unsigned int i;

	for (i = 0; i < plen; i++) {
		unsigned int bit = 7 - i % 8;

		if (((a[i / 8] >> bit) & 1) != ((b[i / 8] >> bit) & 1))
			return 0;
	}
	return 1;
}

static int
rule_matches(const struct ref_rule *r, const struct xv_acl_key *k)
{
	const struct xv_acl_rule *x = &r->rule;
	/* Network byte order: the high byte comes first. */
	const uint8_t *pb = (const uint8_t *)&k->port;
	unsigned int port = pb[0] * 256u + pb[1];

	if (!x->ingress != !k->ingress || !x->ipv6 != !k->ipv6)
		return 0;
	if (r->profile != k->profile)
		return 0;
	if (x->proto != 0 && x->proto != k->proto)
		return 0;
	if (port < x->port_lo || port > x->port_hi)
		return 0;
	return prefix_eq(x->remote, k->remote, x->remote_plen);
}

int
acl_ref_match(const struct acl_ref *m, const struct xv_acl_key *key)
{
	unsigned int i;

	for (i = 0; i < m->n; i++)
		if (rule_matches(&m->rules[i], key))
			return (int)i;
	return -1;
}
