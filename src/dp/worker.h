/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Workers: one poll loop per lcore, over the rx queues of its plan.
 */
#ifndef XV_WORKER_H
#define XV_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "xv_common.h"

struct xv_plan;

struct xv_worker {
	/* Read by the worker every loop, written by the control thread. */
	struct xv_plan *plan;
	unsigned int id;
	unsigned int lcore;
	/* Written only by the worker. */
	uint64_t busy_cycles;  /* loops that moved packets */
	uint64_t idle_cycles;  /* loops that found nothing */
	uint64_t loops;
} __rte_cache_aligned;

extern struct xv_worker xv_workers[XV_MAX_WORKERS];
extern unsigned int xv_n_workers;
/* Held packets are dropped after this many TSC cycles without progress. */
extern uint64_t xv_hold_tsc;

/* Set up RCU for 'n' workers on 'lcores' and launch them. 0 or -errno. */
int xv_workers_start(unsigned int n, const unsigned int *lcores,
		     unsigned int hold_ms);
/* Stop and join the workers. */
void xv_workers_stop(void);
/* Release RCU state, after every port is closed. */
void xv_workers_fini(void);
/* Wait until every worker has passed a quiescent point (any thread). */
void xv_worker_synchronize(void);
/* Publish 'plan' for worker 'w'; returns the old plan (free it after
 * xv_worker_synchronize). */
struct xv_plan *xv_worker_publish(struct xv_worker *w, struct xv_plan *plan);

#endif /* XV_WORKER_H */
