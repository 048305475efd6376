/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef XV_DROP_H
#define XV_DROP_H

enum xv_drop_reason {
#define XV_DROP(n, s, d) XV_DROP_##n,
#include "xv_drop.def"
#undef XV_DROP
	XV_DROP_MAX
};

/* Name of 'reason' as shown in stats ("guest_ring_full"). */
const char *xv_drop_name(enum xv_drop_reason reason);
/* One-line description of 'reason'. */
const char *xv_drop_help(enum xv_drop_reason reason);

#endif /* XV_DROP_H */
