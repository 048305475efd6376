/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building the workers' plans (control thread).
 *
 * Every active rx queue of every port is polled by exactly one worker, so
 * its packets are handled in order by a single thread and its hold buffer
 * has one owner. Which worker is sticky (port->sched[q].worker, chosen by
 * sched.c); when a queue moves, the move is made in two steps: first plans
 * without the queue are published and a grace period waited for, then the
 * plans with the queue on its new worker. Two workers never poll one queue.
 *
 * The destination queue is chosen here too: for a vhost destination one of
 * the guest's enabled rx queues, for an eth destination the worker's own tx
 * queue.
 */
#include <stdlib.h>

#include <rte_memory.h>

#include "net.h"
#include "plan.h"
#include "port.h"
#include "xv_sched.h"
#include "worker.h"
#include "xv_log.h"
#include "xv_mbuf.h"

uint16_t
xv_plan_vhost_txq(const struct xv_port *out, uint16_t q)
{
	uint32_t mask = __atomic_load_n(&out->vhost.rx_enabled,
					__ATOMIC_RELAXED);
	uint16_t nr = __atomic_load_n(&out->vhost.nr_qp, __ATOMIC_RELAXED);
	unsigned int n_enabled, i, k;

	if (nr > XV_MAX_QUEUES)
		nr = XV_MAX_QUEUES;
	mask &= (nr >= 32 ? ~0u : (1u << nr) - 1);
	n_enabled = __builtin_popcount(mask);
	if (n_enabled == 0)
		return 0;
	k = q % n_enabled;
	for (i = 0; i < 32; i++) {
		if (mask & (1u << i)) {
			if (k == 0)
				return i;
			k--;
		}
	}
	return 0;
}

/* Keep 'port''s buffer reservation in line with its active queues. */
static void
reserve_buffers(struct xv_port *port, unsigned int n_active)
{
	const struct xv_port_ops *ops = xv_port_ops(port);
	unsigned int need = ops->mbuf_need(port, n_active);
	struct rte_mempool *mp;

	/* An idle port reserves nothing, and needs no pool. */
	if (need <= port->n_reserved && (port->pool != NULL || need == 0))
		return;
	mp = xv_mbuf_reserve(need, SOCKET_ID_ANY);
	if (mp == NULL) {
		/* Keep the old pool: the port works, with less slack. */
		XV_LOG(dp, WARNING, "%s: cannot reserve %u mbufs", port->name,
		       need);
		return;
	}
	xv_mbuf_release(port->pool, port->n_reserved);
	port->pool = mp;
	port->n_reserved = need;
}

static void
fill_poll(struct xv_poll *poll, struct xv_port *in, uint16_t q, unsigned int w)
{
	struct xv_port *out = in->peer;

	poll->in = in;
	poll->in_q = q;
	poll->rxq = &in->rxq[q];
	poll->pool = in->pool;
	poll->in_st = &in->wstats[w];
	poll->worker = w;
	poll->net = in->net.network != NULL;
	poll->out = out;
	if (out == NULL)
		return;
	poll->out_uid = out->uid;
	poll->out_st = &out->wstats[w];
	if (out->type == XV_PORT_VHOST)
		poll->out_q = xv_plan_vhost_txq(out, q);
	else
		poll->out_q = w % out->eth.nb_txq;
}

/*
 * Build one plan per worker into 'plans'. With 'interim', queues that move
 * to another worker are left out of every plan. Returns 0 or -ENOMEM.
 */
static int
build(struct xv_plan **plans, const unsigned int *n_active, unsigned int total,
      bool interim)
{
	static uint64_t gen;
	unsigned int i, w;
	uint16_t q;

	for (w = 0; w < xv_n_workers; w++) {
		/* Sized for the worst case: every queue on this worker. */
		plans[w] = calloc(1, sizeof(struct xv_plan) +
					     total * sizeof(struct xv_poll));
		if (plans[w] == NULL) {
			while (w-- > 0)
				free(plans[w]);
			return -ENOMEM;
		}
		plans[w]->gen = ++gen;
	}
	for (i = 0; i < xv_n_ports; i++) {
		struct xv_port *in = xv_ports[i];

		for (q = 0; q < n_active[i]; q++) {
			const struct xv_rxq_sched *s = &in->sched[q];
			struct xv_plan *plan = plans[s->worker];

			if (interim && s->published >= 0 &&
			    s->published != s->worker)
				continue;
			fill_poll(&plan->polls[plan->n_polls++], in, q,
				  s->worker);
		}
	}
	return 0;
}

static void
publish(struct xv_plan **plans)
{
	struct xv_plan *old[XV_MAX_WORKERS];
	unsigned int w;

	for (w = 0; w < xv_n_workers; w++)
		old[w] = xv_worker_publish(&xv_workers[w], plans[w]);
	xv_worker_synchronize();
	for (w = 0; w < xv_n_workers; w++)
		free(old[w]);
}

void
xv_plan_rebuild(void)
{
	struct xv_plan *plans[XV_MAX_WORKERS];
	unsigned int n_active[XV_MAX_PORTS];
	unsigned int total = 0, i;
	bool moves = false;
	uint16_t q;

	for (i = 0; i < xv_n_ports; i++) {
		struct xv_port *port = xv_ports[i];

		n_active[i] = xv_port_ops(port)->active_queues(port);
		if (port->type == XV_PORT_VHOST)
			reserve_buffers(port, n_active[i]);
		total += n_active[i];
		for (q = 0; q < n_active[i]; q++) {
			struct xv_rxq_sched *s = &port->sched[q];

			if (s->worker < 0 || s->worker >= (int)xv_n_workers)
				s->worker = xv_sched_pick_worker(port, q);
			if (s->published >= 0 && s->published != s->worker)
				moves = true;
		}
	}
	/* The network view first: a new port is in it before any worker
	 * polls the port, and a removed one is out of it before the port is
	 * freed. */
	xv_net_refresh();
	if (moves) {
		if (build(plans, n_active, total, true) != 0)
			goto nomem;
		publish(plans);
	}
	if (build(plans, n_active, total, false) != 0)
		goto nomem;
	publish(plans);

	/* Record what is published now; inactive queues are in no plan. */
	for (i = 0; i < xv_n_ports; i++)
		for (q = 0; q < XV_MAX_QUEUES; q++)
			xv_ports[i]->sched[q].published =
				q < n_active[i] ? xv_ports[i]->sched[q].worker : -1;
	return;
nomem:
	XV_LOG(dp, ERR, "out of memory building plans: keeping the old ones");
}

void
xv_plan_fini(void)
{
	unsigned int w;

	for (w = 0; w < xv_n_workers; w++)
		free(xv_worker_publish(&xv_workers[w], NULL));
}
