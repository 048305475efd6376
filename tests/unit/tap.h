/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Minimal TAP output for unit tests: check(cond, "what") prints
 * "ok N - what" or "not ok N - what"; tap_done() prints the plan and returns
 * the exit status.
 */
#ifndef XV_TAP_H
#define XV_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

static inline __attribute__((format(printf, 2, 3))) int
check(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif /* XV_TAP_H */
