/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The poll loop. Runs on worker lcores only; no allocation, locks (but the
 * shared-tx-queue case in port_io.h), syscalls or logging per packet.
 *
 * Each poll entry moves packets from one rx queue to its destination:
 * received packets go into the queue's hold buffer and are sent from there.
 * What the destination cannot take stays held, and while the hold buffer is
 * nearly full the rx queue is not polled, so packets wait in the source
 * ring (backpressure). Held packets are dropped only when the destination is
 * down or made no progress for xv_hold_tsc cycles, each under its reason.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "plan.h"
#include "port_io.h"
#include "worker.h"
#include "xv_log.h"

struct xv_worker xv_workers[XV_MAX_WORKERS];
unsigned int xv_n_workers;
uint64_t xv_hold_tsc;

static struct rte_rcu_qsbr *qsbr;
static volatile bool running;

static __rte_always_inline uint64_t
bytes_of(struct rte_mbuf **pkts, uint16_t n)
{
	uint64_t bytes = 0;
	uint16_t i;

	for (i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
	return bytes;
}

/* Drop every held packet of 'poll', counted on 'st' under 'reason'. */
static __rte_noinline void
drop_held(struct xv_poll *poll, struct xv_port_wstats *st,
	  enum xv_drop_reason reason)
{
	struct xv_rxq *rxq = poll->rxq;

	st->drops[reason] += rxq->n_hold;
	rte_pktmbuf_free_bulk(rxq->hold, rxq->n_hold);
	rxq->n_hold = 0;
	rxq->stall_tsc = 0;
}

/* Some packets were left after a send: wait on, or give up after the
 * hold time without progress. */
static __rte_noinline void
stalled(struct xv_poll *poll, uint16_t sent)
{
	struct xv_rxq *rxq = poll->rxq;
	uint64_t now;

	if (sent > 0) {
		rxq->stall_tsc = 0;
		return;
	}
	now = rte_rdtsc();
	if (rxq->stall_tsc == 0) {
		rxq->stall_tsc = now;
	} else if (now - rxq->stall_tsc > xv_hold_tsc) {
		drop_held(poll, poll->out_st,
			  poll->out->type == XV_PORT_VHOST ?
				  XV_DROP_GUEST_RING_FULL : XV_DROP_TX_FULL);
	}
}

/* Send what 'poll' holds to its destination. */
static __rte_always_inline void
flush(struct xv_poll *poll)
{
	struct xv_rxq *rxq = poll->rxq;
	struct xv_port *out = poll->out;
	struct xv_qstats *qs;
	uint16_t n = rxq->n_hold, sent;
	uint64_t bytes;

	if (unlikely(!xv_port_link_up(out))) {
		drop_held(poll, poll->out_st, XV_DROP_LINK_DOWN);
		return;
	}
	/* Count bytes first: once sent, the packets are not ours to read. */
	bytes = bytes_of(rxq->hold, n);
	sent = xv_port_tx(out, poll->out_q, rxq->hold, n);
	if (unlikely(sent < n)) {
		bytes -= bytes_of(rxq->hold + sent, n - sent);
		memmove(rxq->hold, rxq->hold + sent,
			(n - sent) * sizeof(rxq->hold[0]));
		rxq->n_hold = n - sent;
		stalled(poll, sent);
	} else {
		rxq->n_hold = 0;
		rxq->stall_tsc = 0;
	}
	qs = &poll->out_st->tx[poll->out_q & (XV_MAX_QUEUES - 1)];
	qs->packets += sent;
	qs->bytes += bytes;
}

/* One visit to one rx queue. Returns the packets received. */
static __rte_always_inline uint16_t
poll_one(struct xv_poll *poll)
{
	struct xv_rxq *rxq = poll->rxq;
	struct xv_qstats *qs;
	uint16_t n;

	if (unlikely(rxq->n_hold != 0)) {
		/* Held for a destination the plan no longer has. */
		if (unlikely(rxq->hold_dest != poll->out_uid)) {
			drop_held(poll, poll->in_st, XV_DROP_PORT_REMOVED);
		} else {
			flush(poll);
			if (rxq->n_hold > XV_HOLD_MAX - XV_BURST_MAX)
				return 0; /* backpressure */
		}
	}
	n = xv_port_rx(poll->in, poll->in_q, poll->pool,
		       rxq->hold + rxq->n_hold, XV_BURST_MAX);
	if (n == 0)
		return 0;
	qs = &poll->in_st->rx[poll->in_q];
	qs->packets += n;
	qs->bytes += bytes_of(rxq->hold + rxq->n_hold, n);
	if (unlikely(poll->out == NULL)) {
		poll->in_st->drops[XV_DROP_NO_DEST] += n;
		rte_pktmbuf_free_bulk(rxq->hold + rxq->n_hold, n);
		return n;
	}
	rxq->n_hold += n;
	rxq->hold_dest = poll->out_uid;
	flush(poll);
	return n;
}

static int
worker_main(void *arg)
{
	struct xv_worker *w = arg;
	uint64_t prev = rte_rdtsc(), now;

	rte_rcu_qsbr_thread_register(qsbr, w->id);
	rte_rcu_qsbr_thread_online(qsbr, w->id);
	XV_LOG(dp, INFO, "worker %u running on lcore %u", w->id, w->lcore);

	while (likely(running)) {
		struct xv_plan *plan =
			__atomic_load_n(&w->plan, __ATOMIC_ACQUIRE);
		unsigned int i, moved = 0;

		if (likely(plan != NULL)) {
			for (i = 0; i < plan->n_polls; i++)
				moved += poll_one(&plan->polls[i]);
		}
		/* Nothing from 'plan' is used past this point. */
		rte_rcu_qsbr_quiescent(qsbr, w->id);

		now = rte_rdtsc();
		if (moved)
			w->busy_cycles += now - prev;
		else
			w->idle_cycles += now - prev;
		prev = now;
		w->loops++;
	}

	rte_rcu_qsbr_thread_offline(qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(qsbr, w->id);
	return 0;
}

int
xv_workers_start(unsigned int n, const unsigned int *lcores,
		 unsigned int hold_ms)
{
	size_t sz;
	unsigned int i;

	if (n == 0 || n > XV_MAX_WORKERS)
		return -EINVAL;
	sz = rte_rcu_qsbr_get_memsize(n);
	qsbr = rte_zmalloc("xv_rcu", sz, RTE_CACHE_LINE_SIZE);
	if (qsbr == NULL)
		return -ENOMEM;
	if (rte_rcu_qsbr_init(qsbr, n) != 0) {
		rte_free(qsbr);
		qsbr = NULL;
		return -EINVAL;
	}
	xv_hold_tsc = rte_get_tsc_hz() / 1000 * hold_ms;
	xv_n_workers = n;
	running = true;
	for (i = 0; i < n; i++) {
		xv_workers[i].id = i;
		xv_workers[i].lcore = lcores[i];
	}
	for (i = 0; i < n; i++) {
		int ret = rte_eal_remote_launch(worker_main, &xv_workers[i],
						lcores[i]);

		if (ret != 0) {
			XV_LOG(dp, ERR, "cannot launch worker %u on lcore %u",
			       i, lcores[i]);
			xv_n_workers = i;
			xv_workers_stop();
			xv_workers_fini();
			return ret;
		}
	}
	return 0;
}

void
xv_workers_stop(void)
{
	unsigned int i;

	if (qsbr == NULL)
		return;
	running = false;
	for (i = 0; i < xv_n_workers; i++)
		rte_eal_wait_lcore(xv_workers[i].lcore);
}

void
xv_workers_fini(void)
{
	/* Freed only now: a vhost callback may have been waiting on it
	 * while the workers stopped. */
	rte_free(qsbr);
	qsbr = NULL;
}

void
xv_worker_synchronize(void)
{
	if (qsbr != NULL && running)
		rte_rcu_qsbr_synchronize(qsbr, RTE_QSBR_THRID_INVALID);
}

struct xv_plan *
xv_worker_publish(struct xv_worker *w, struct xv_plan *plan)
{
	return __atomic_exchange_n(&w->plan, plan, __ATOMIC_ACQ_REL);
}
