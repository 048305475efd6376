/* SPDX-License-Identifier: BSD-3-Clause */
#include <stddef.h>

#include "xv_aside.h"

static xv_aside_runner aside_runner;

void
xv_aside_set_runner(xv_aside_runner runner)
{
	aside_runner = runner;
}

void
xv_aside(xv_aside_fn fn, void *arg)
{
	if (aside_runner != NULL)
		aside_runner(fn, arg);
	else
		fn(arg);
}
