/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The naive model of the security-group classifier: a list of (profile,
 * rule) scanned in order, each field compared the obvious way from the
 * contract in src/feat/acl/acl.h. It shares no code with acl.c, so the
 * differential test in tests/unit/test_acl.c compares two readings of the
 * same contract. Slow by design; tests only.
 */
#ifndef XV_ACL_REF_H
#define XV_ACL_REF_H

#include <stdint.h>

#include "acl.h"

struct acl_ref;

/* A new, empty model; exits the test on allocation failure. */
struct acl_ref *
acl_ref_new(void);

void
acl_ref_free(struct acl_ref *m);

/* Append a copy of 'rule' under 'profile' (no validation: the tests only
 * add rules xv_acl_builder_add accepted). */
void
acl_ref_add(struct acl_ref *m, uint16_t profile, const struct xv_acl_rule *rule);

/* Does a rule match 'key'? The index (in order of addition) of the first
 * rule that does, or -1. */
int
acl_ref_match(const struct acl_ref *m, const struct xv_acl_key *key);

#endif /* XV_ACL_REF_H */
