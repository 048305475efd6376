/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which worker polls which rx queue (control thread only).
 *
 * A queue gets a worker when it first becomes active and keeps it; the
 * rebalancer moves queues only when the measured load is uneven enough
 * for long enough, and never moves a queue pinned by hand. Moves go
 * through xv_plan_rebuild(), which never lets two workers poll one queue.
 */
#ifndef XV_SCHED_H
#define XV_SCHED_H

#include <stdbool.h>
#include <stdint.h>

struct xv_port;

struct xv_sched_conf {
	bool rebalance;       /* move queues automatically */
	double threshold;     /* move when the busiest worker's load drops by
				 at least this fraction */
	unsigned int settle;  /* ticks an imbalance must last */
};

extern struct xv_sched_conf xv_sched_conf;
extern uint64_t xv_sched_rebalances;  /* rebalances done */
extern uint64_t xv_sched_moves;       /* queues moved by them */

/* A worker for queue 'q' of 'port', which has none yet. */
int xv_sched_pick_worker(const struct xv_port *port, uint16_t q);

/* Measure queue loads over the last 'interval_s' and rebalance if it pays.
 * Called once a second. */
void xv_sched_tick(double interval_s);

/* Pin queue 'q' of 'port' to 'worker', or unpin with -1. 0 or -EINVAL. */
int xv_sched_pin(struct xv_port *port, uint16_t q, int worker);

/* Load of queue 'q' of 'port' (fraction of a core), last interval. */
double xv_sched_queue_load(const struct xv_port *port, uint16_t q);
/* Load of worker 'w' (fraction of a core spent moving packets). */
double xv_sched_worker_load(unsigned int w);

#endif /* XV_SCHED_H */
