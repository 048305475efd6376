/* SPDX-License-Identifier: BSD-3-Clause */
#include "xv_drop.h"

static const char *const names[] = {
#define XV_DROP(n, s, d) [XV_DROP_##n] = s,
#include "xv_drop.def"
#undef XV_DROP
};

static const char *const helps[] = {
#define XV_DROP(n, s, d) [XV_DROP_##n] = d,
#include "xv_drop.def"
#undef XV_DROP
};

const char *
xv_drop_name(enum xv_drop_reason reason)
{
	return (unsigned int)reason < XV_DROP_MAX ? names[reason] : "unknown";
}

const char *
xv_drop_help(enum xv_drop_reason reason)
{
	return (unsigned int)reason < XV_DROP_MAX ? helps[reason] : "unknown";
}
