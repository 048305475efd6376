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
	unsigned int cpu;      /* the cpu the lcore is pinned to */
	int wake_fd;           /* eventfd: others wake a sleeping worker */
	/* Written only by the worker. */
	int epfd;              /* what a sleeping worker waits on */
	uint64_t epoll_gen;    /* plan the epoll set was built for */
	bool sleeping;         /* atomic, for display */
	uint64_t busy_cycles;  /* loops that moved packets */
	uint64_t idle_cycles;  /* loops that found nothing */
	uint64_t sleep_cycles; /* time asleep */
	uint64_t loops;
	uint64_t sleeps;       /* poll -> sleep switches */
	uint64_t timer_wakes;  /* sleeps ended by the timer, not an event */
} __rte_cache_aligned;

/* How workers poll and sleep. */
struct xv_worker_conf {
	unsigned int hold_ms;  /* drop held packets after this long */
	unsigned int idle_us;  /* sleep after this long without packets;
				  0: always busy-poll */
	unsigned int wake_us;  /* longest sleep when a queue cannot wake
				  us (no rx interrupts) */
};

extern struct xv_worker_conf xv_worker_conf;

extern struct xv_worker xv_workers[XV_MAX_WORKERS];
extern unsigned int xv_n_workers;
/* Held packets are dropped after this many TSC cycles without progress. */
extern uint64_t xv_hold_tsc;

/* Set up RCU for 'n' workers on 'lcores' and launch them. 0 or -errno. */
int xv_workers_start(unsigned int n, const unsigned int *lcores,
		     const struct xv_worker_conf *conf);
/* Stop and join the workers. */
void xv_workers_stop(void);
/* Release RCU state, after every port is closed. */
void xv_workers_fini(void);
/* Wait until every worker has passed a quiescent point (any thread).
 * Sleeping workers are woken for it. */
void xv_worker_synchronize(void);
/* The workers' QSBR variable (for modules with their own deferred frees,
 * like conntrack), or NULL before xv_workers_start. */
struct rte_rcu_qsbr *xv_worker_qsbr(void);
/* Publish 'plan' for worker 'w'; returns the old plan (free it after
 * xv_worker_synchronize). */
struct xv_plan *xv_worker_publish(struct xv_worker *w, struct xv_plan *plan);

#endif /* XV_WORKER_H */
