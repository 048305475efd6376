/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Slow control-plane jobs (compiling thousands of security-group rules takes
 * seconds) run aside: the control loop registers a runner that executes the
 * job on a helper thread and keeps answering the API's read-only requests
 * until it ends. Whoever calls xv_aside still waits for the job, so the
 * change it belongs to keeps its order and its reply still means "done".
 * Without a runner (unit tests, the --config load before the loop starts)
 * the job just runs in the calling thread.
 */
#ifndef XV_ASIDE_H
#define XV_ASIDE_H

typedef void (*xv_aside_fn)(void *arg);
typedef void (*xv_aside_runner)(xv_aside_fn fn, void *arg);

/* Control thread. NULL: run jobs in place. */
void xv_aside_set_runner(xv_aside_runner runner);

/* Control thread: run fn(arg) and return when it has. 'fn' runs on
 * another thread, so it must not touch what the API's read-only commands
 * read, nor rely on thread-local state (errno included) of its caller. */
void xv_aside(xv_aside_fn fn, void *arg);

#endif /* XV_ASIDE_H */
