/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A naive connection tracker for differential tests of src/feat/ct: a linked
 * list of connections, each remembered as its originator sent it, matched by
 * comparing tuples both ways, with the state machines of doc/conntrack.md
 * written as plain conditions. Single thread, no capacity limit. Times are
 * in the caller's units; like the real table with hz < 2000, one unit is one
 * tick.
 */
#ifndef CT_REF_H
#define CT_REF_H

#include <stdint.h>

#include "ct.h"

struct ct_ref;

/* 't': seconds, 0 for the defaults; 'hz': units of 'now' per second. */
struct ct_ref *ct_ref_create(const struct xv_ct_timeouts *t, uint64_t hz);
void ct_ref_destroy(struct ct_ref *ref);

/* The verdict for 'pkt' at 'now', with the connection updated. */
void ct_ref_lookup(struct ct_ref *ref, const struct xv_ct_pkt *pkt,
		   uint64_t now, struct xv_ct_result *res);
/* Like xv_ct_commit (never -ENOSPC or -EBUSY). */
int ct_ref_commit(struct ct_ref *ref, const struct xv_ct_pkt *pkt, uint64_t now);
/* Unexpired connections of 'zone' (-1: all). */
unsigned int ct_ref_count(struct ct_ref *ref, int zone, uint64_t now);
/* Remove the connections of 'zone' (-1: all); returns the unexpired ones. */
unsigned int ct_ref_flush(struct ct_ref *ref, int zone, uint64_t now);
/* Unexpired connections of 'zone' (-1: all), as xv_ct_walk lists them;
 * returns how many were written (at most 'max'). */
unsigned int ct_ref_list(struct ct_ref *ref, int zone, uint64_t now,
			 struct xv_ct_entry *out, unsigned int max);

#endif /* CT_REF_H */
