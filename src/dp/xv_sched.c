/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Queue placement and rebalancing.
 *
 * Load is measured without touching the data path: each worker counts the
 * cycles of loops that moved packets, and each queue its packets. Over an
 * interval, a worker's cycles per packet times a queue's packets is what
 * the queue cost. Rebalancing is a greedy longest-first placement of the
 * unpinned queues onto the least loaded workers; it is applied only when it
 * lowers the busiest worker's load by xv_sched_conf.threshold, for
 * xv_sched_conf.settle ticks in a row (hysteresis, so noise does not move
 * queues back and forth). A queue's packets stay in order across a move:
 * the hold buffer moves with it and plan.c makes the hand-over two-phase.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "plan.h"
#include "port.h"
#include "xv_sched.h"
#include "worker.h"
#include "xv_log.h"

struct xv_sched_conf xv_sched_conf = {
	.rebalance = true,
	.threshold = 0.15,
	.settle = 2,
};
uint64_t xv_sched_rebalances;
uint64_t xv_sched_moves;

static uint64_t last_busy[XV_MAX_WORKERS];
static double worker_load[XV_MAX_WORKERS];
static unsigned int uneven_ticks;

/* Active queues assigned to each worker. */
static void
count_queues(unsigned int *n)
{
	unsigned int i, q;

	memset(n, 0, xv_n_workers * sizeof(n[0]));
	for (i = 0; i < xv_n_ports; i++)
		for (q = 0; q < XV_MAX_QUEUES; q++)
			if (xv_ports[i]->sched[q].published >= 0)
				n[xv_ports[i]->sched[q].published]++;
}

int
xv_sched_pick_worker(const struct xv_port *port, uint16_t q)
{
	unsigned int n[XV_MAX_WORKERS], w, best = 0;

	if (port->sched[q].pinned >= 0 &&
	    port->sched[q].pinned < (int)xv_n_workers)
		return port->sched[q].pinned;
	/* The least loaded worker, then the one with fewest queues. */
	count_queues(n);
	for (w = 1; w < xv_n_workers; w++) {
		if (worker_load[w] < worker_load[best] - 0.05 ||
		    (worker_load[w] < worker_load[best] + 0.05 && n[w] < n[best]))
			best = w;
	}
	return best;
}

struct qref {
	struct xv_port *port;
	uint16_t q;
	double load;
};

static int
by_load_desc(const void *a, const void *b)
{
	const struct qref *qa = a, *qb = b;

	return (qa->load < qb->load) - (qa->load > qb->load);
}

/* Greedy placement into 'to'; returns the busiest worker's load. */
static double
place(struct qref *qs, unsigned int n, int *to)
{
	double load[XV_MAX_WORKERS] = { 0 }, max = 0;
	unsigned int i, w;

	for (i = 0; i < n; i++) {
		const struct xv_rxq_sched *s = &qs[i].port->sched[qs[i].q];
		unsigned int best = 0;

		if (s->pinned >= 0 && s->pinned < (int)xv_n_workers) {
			best = s->pinned;
		} else {
			for (w = 1; w < xv_n_workers; w++)
				if (load[w] < load[best])
					best = w;
		}
		to[i] = best;
		load[best] += qs[i].load;
	}
	for (w = 0; w < xv_n_workers; w++)
		if (load[w] > max)
			max = load[w];
	return max;
}

void
xv_sched_tick(double interval_s)
{
	static struct qref qs[XV_MAX_PORTS * XV_MAX_QUEUES];
	static int to[XV_MAX_PORTS * XV_MAX_QUEUES];
	uint64_t w_packets[XV_MAX_WORKERS] = { 0 };
	double cpp[XV_MAX_WORKERS], hz = rte_get_tsc_hz(), now_max = 0, new_max;
	double cur[XV_MAX_WORKERS] = { 0 };
	unsigned int i, w, n = 0, moved = 0;
	uint16_t q;

	/* Packets per queue over the interval, and per worker. (The first
	 * tick has no interval: it only records the baselines.) */
	for (i = 0; i < xv_n_ports; i++) {
		struct xv_port *port = xv_ports[i];
		struct xv_port_stats st;

		xv_port_stats_sum(port, &st);
		for (q = 0; q < XV_MAX_QUEUES; q++) {
			struct xv_rxq_sched *s = &port->sched[q];
			uint64_t d = st.rx[q].packets - s->last_packets;

			s->last_packets = st.rx[q].packets;
			s->load = d; /* packets, for now */
			if (s->published >= 0)
				w_packets[s->published] += d;
		}
	}
	for (w = 0; w < xv_n_workers; w++) {
		uint64_t busy = xv_workers[w].busy_cycles;

		/* Timer ticks come late or early by a little: a worker
		 * cannot be busier than its core. */
		worker_load[w] = interval_s > 0 ?
			RTE_MIN((busy - last_busy[w]) / hz / interval_s, 1.0) : 0;
		cpp[w] = w_packets[w] ? (busy - last_busy[w]) / (double)w_packets[w] : 0;
		last_busy[w] = busy;
	}
	if (interval_s <= 0)
		return;
	/* Packets -> fraction of a core. */
	for (i = 0; i < xv_n_ports; i++) {
		struct xv_port *port = xv_ports[i];

		for (q = 0; q < XV_MAX_QUEUES; q++) {
			struct xv_rxq_sched *s = &port->sched[q];

			if (s->published < 0) {
				s->load = 0;
				continue;
			}
			s->load = RTE_MIN(s->load * cpp[s->published] / hz / interval_s, 1.0);
			cur[s->published] += s->load;
			qs[n++] = (struct qref){ port, q, s->load };
		}
	}
	if (!xv_sched_conf.rebalance || xv_n_workers < 2 || n < 2)
		return;
	for (w = 0; w < xv_n_workers; w++)
		if (cur[w] > now_max)
			now_max = cur[w];
	qsort(qs, n, sizeof(qs[0]), by_load_desc);
	new_max = place(qs, n, to);
	/* Not worth it: light load, or too small a gain. */
	if (now_max < 0.05 || new_max > now_max * (1 - xv_sched_conf.threshold)) {
		uneven_ticks = 0;
		return;
	}
	if (++uneven_ticks < xv_sched_conf.settle)
		return;
	uneven_ticks = 0;
	for (i = 0; i < n; i++) {
		struct xv_rxq_sched *s = &qs[i].port->sched[qs[i].q];

		if (s->worker != to[i]) {
			s->worker = to[i];
			moved++;
		}
	}
	if (moved == 0)
		return;
	xv_sched_rebalances++;
	xv_sched_moves += moved;
	XV_LOG(dp, INFO, "rebalanced: %u queues moved, busiest worker %.0f%% -> %.0f%% of a core",
	       moved, now_max * 100, new_max * 100);
	xv_plan_rebuild();
}

int
xv_sched_pin(struct xv_port *port, uint16_t q, int worker)
{
	if (q >= XV_MAX_QUEUES || worker < -1 || worker >= (int)xv_n_workers)
		return -EINVAL;
	port->sched[q].pinned = worker;
	if (worker >= 0 && port->sched[q].worker != worker) {
		port->sched[q].worker = worker;
		xv_plan_rebuild();
	}
	return 0;
}

double
xv_sched_queue_load(const struct xv_port *port, uint16_t q)
{
	return port->sched[q].load;
}

double
xv_sched_worker_load(unsigned int w)
{
	return w < xv_n_workers ? worker_load[w] : 0;
}
