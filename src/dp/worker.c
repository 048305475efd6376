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
 *
 * Hybrid polling: after idle_us without a packet, a worker asks its
 * queues to notify it (vhost: guest kicks on the vring's kickfd; eth: rx
 * interrupts) and sleeps in epoll_wait until one fires, or at most wake_us
 * when some queue cannot notify. Packets that come meanwhile wait in the
 * guest's ring or the NIC's ring, so none is lost to the switch. A sleeping
 * worker stays an RCU reader: whoever needs a grace period (a new plan, a
 * guest going away) wakes it through its wake_fd first, and it reports
 * quiescence once awake and disarmed. So the fds and vids it sleeps on stay
 * valid for the whole sleep.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "net.h"
#include "plan.h"
#include "port_io.h"
#include "worker.h"
#include "xv_log.h"

struct xv_worker xv_workers[XV_MAX_WORKERS];
unsigned int xv_n_workers;
uint64_t xv_hold_tsc;
struct xv_worker_conf xv_worker_conf;
static uint64_t idle_tsc;

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

/* Send what 'poll' holds to its destination. 'bytes' is the size of all
 * held packets when the caller knows it, or UINT64_MAX. */
static __rte_always_inline void
flush(struct xv_poll *poll, uint64_t bytes)
{
	struct xv_rxq *rxq = poll->rxq;
	struct xv_port *out = poll->out;
	struct xv_qstats *qs;
	uint16_t n = rxq->n_hold, sent;

	if (unlikely(!xv_port_link_up(out))) {
		drop_held(poll, poll->out_st, XV_DROP_LINK_DOWN);
		return;
	}
	/* Count bytes first: once sent, the packets are not ours to read. */
	if (bytes == UINT64_MAX)
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

/* One visit to a queue of a port in a network: the switch (net/) decides
 * where each packet goes. */
static __rte_noinline uint16_t
poll_net(struct xv_poll *poll, uint64_t now)
{
	struct rte_mbuf *pkts[XV_BURST_MAX];
	struct xv_qstats *qs;
	uint64_t bytes;
	uint16_t n;

	/* Held for the relay this port was in. */
	if (unlikely(poll->rxq->n_hold != 0))
		drop_held(poll, poll->in_st, XV_DROP_PORT_REMOVED);
	n = xv_port_rx(poll->in, poll->in_q, poll->pool, pkts, XV_BURST_MAX);
	if (n == 0)
		return 0;
	bytes = bytes_of(pkts, n);
	qs = &poll->in_st->rx[poll->in_q];
	qs->packets += n;
	qs->bytes += bytes;
	xv_net_input(poll->worker, poll, pkts, n, bytes, now);
	return n;
}

/* One visit to one rx queue, at about TSC 'now'. Returns the packets
 * received. */
static __rte_always_inline uint16_t
poll_one(struct xv_poll *poll, uint64_t now)
{
	struct xv_rxq *rxq = poll->rxq;
	struct xv_qstats *qs;
	uint64_t bytes;
	uint16_t n, held;

	if (poll->net)
		return poll_net(poll, now);
	if (unlikely(rxq->n_hold != 0)) {
		/* Held for a destination the plan no longer has. */
		if (unlikely(rxq->hold_dest != poll->out_uid)) {
			drop_held(poll, poll->in_st, XV_DROP_PORT_REMOVED);
		} else {
			flush(poll, UINT64_MAX);
			if (rxq->n_hold > XV_HOLD_MAX - XV_BURST_MAX)
				return 0; /* backpressure */
		}
	}
	n = xv_port_rx(poll->in, poll->in_q, poll->pool,
		       rxq->hold + rxq->n_hold, XV_BURST_MAX);
	if (n == 0)
		return 0;
	held = rxq->n_hold;
	bytes = bytes_of(rxq->hold + held, n);
	qs = &poll->in_st->rx[poll->in_q];
	qs->packets += n;
	qs->bytes += bytes;
	if (unlikely(poll->out == NULL)) {
		poll->in_st->drops[XV_DROP_NO_DEST] += n;
		rte_pktmbuf_free_bulk(rxq->hold + held, n);
		return n;
	}
	rxq->n_hold += n;
	rxq->hold_dest = poll->out_uid;
	/* Usually nothing was held: the burst's size is the hold's. */
	flush(poll, held == 0 ? bytes : UINT64_MAX);
	return n;
}

/*
 * Add 'fd' to the sleep set. Edge-triggered, so nothing has to be read to
 * re-arm it: some interrupt fds are the device's own queue (net_tap), and
 * reading them would eat a packet. Only fds known to be eventfds
 * ('counter') are read, to keep their counters low.
 */
static void
sleep_on(struct xv_worker *w, int fd, bool counter)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLET,
		.data.u64 = (uint32_t)fd | ((uint64_t)counter << 32),
	};

	epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * Ask 'poll''s queue to notify us, adding its fd to the epoll set when
 * 'add'. Returns false when the queue cannot notify (poll it by timer).
 */
static bool
arm(struct xv_worker *w, struct xv_poll *poll, bool add)
{
	struct xv_port *in = poll->in;
	int fd = -1;

	if (in->type == XV_PORT_VHOST) {
		int vid = xv_vhost_vid(in, poll->in_q);
		struct rte_vhost_vring vr;

		/* Not connected: the replan on connect wakes us. */
		if (vid < 0)
			return true;
		if (add && rte_vhost_get_vhost_vring(vid, XV_VRING_TX(poll->in_q),
						     &vr) == 0)
			fd = vr.kickfd;
		rte_vhost_enable_guest_notification(vid, XV_VRING_TX(poll->in_q), 1);
	} else {
		if (!in->eth.rxq_intr)
			return false;
		if (add)
			fd = rte_eth_dev_rx_intr_ctl_q_get_fd(in->eth.port_id,
							      poll->in_q);
		/* -ENOTSUP: the fd is always armed (net_tap). */
		rte_eth_dev_rx_intr_enable(in->eth.port_id, poll->in_q);
	}
	if (add && fd >= 0)
		sleep_on(w, fd, in->type == XV_PORT_VHOST);
	return true;
}

static void
disarm(struct xv_poll *poll)
{
	struct xv_port *in = poll->in;

	if (in->type == XV_PORT_VHOST) {
		int vid = xv_vhost_vid(in, poll->in_q);

		if (vid >= 0)
			rte_vhost_enable_guest_notification(vid, XV_VRING_TX(poll->in_q), 0);
	} else if (in->eth.rxq_intr) {
		rte_eth_dev_rx_intr_disable(in->eth.port_id, poll->in_q);
	}
}

/* Does any queue hold packets for a destination? Then keep polling. */
static bool
holding(const struct xv_plan *plan)
{
	unsigned int i;

	for (i = 0; i < plan->n_polls; i++)
		if (plan->polls[i].rxq->n_hold != 0)
			return true;
	return false;
}

/*
 * Sleep until a queue of 'plan' has packets, someone wakes us, or (if a
 * queue cannot notify) wake_us passes. Returns the packets moved by the
 * last check made after arming (0 if it slept); '*event' tells whether an
 * fd woke us (as opposed to the timer).
 */
static unsigned int
sleep_until_work(struct xv_worker *w, struct xv_plan *plan, bool *event)
{
	struct epoll_event evs[16];
	struct timespec ts;
	bool rebuild = w->epoll_gen != plan->gen, timer = false;
	unsigned int i, moved = 0;
	uint64_t t0, now, v;
	int n;

	if (rebuild) {
		/* Queues (and their fds) changed: start a fresh set. */
		close(w->epfd);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		sleep_on(w, w->wake_fd, true);
		w->epoll_gen = plan->gen;
	}
	for (i = 0; i < plan->n_polls; i++)
		if (!arm(w, &plan->polls[i], rebuild))
			timer = true;
	/* The classic virtio race: our "notify me" store must be visible
	 * before we look at the rings again, or a guest may read the old
	 * flag (no kick) while we read the old index (sleep), and the packet
	 * waits for an unrelated wake-up. x86 reorders a store after a later
	 * load, so a full barrier. */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* A packet may have come between the last poll and arming. */
	now = rte_rdtsc();
	for (i = 0; i < plan->n_polls; i++)
		moved += poll_one(&plan->polls[i], now);
	if (moved == 0) {
		w->sleeps++;
		__atomic_store_n(&w->sleeping, true, __ATOMIC_RELAXED);
		t0 = rte_rdtsc();
		ts.tv_sec = xv_worker_conf.wake_us / 1000000;
		ts.tv_nsec = (xv_worker_conf.wake_us % 1000000) * 1000L;
		n = epoll_pwait2(w->epfd, evs, RTE_DIM(evs), timer ? &ts : NULL,
				 NULL);
		if (unlikely(n < 0 && errno != EINTR)) {
			/* Never spin: without a working set, nap. */
			w->epoll_gen = UINT64_MAX;
			nanosleep(&ts, NULL);
		}
		/* Reset the eventfds that fired (kicks, wakes). */
		for (i = 0; i < (unsigned int)RTE_MAX(n, 0); i++)
			if ((evs[i].data.u64 >> 32) != 0 &&
			    read((int)(uint32_t)evs[i].data.u64, &v, sizeof(v)) < 0) {
				/* EAGAIN: already reset. */
			}
		if (n == 0)
			w->timer_wakes++;
		*event = n > 0;
		w->sleep_cycles += rte_rdtsc() - t0;
		__atomic_store_n(&w->sleeping, false, __ATOMIC_RELAXED);
	}
	for (i = 0; i < plan->n_polls; i++)
		disarm(&plan->polls[i]);
	return moved;
}

static int
worker_main(void *arg)
{
	struct xv_worker *w = arg;
	uint64_t prev = rte_rdtsc(), now, last_work = prev;

	rte_rcu_qsbr_thread_register(qsbr, w->id);
	rte_rcu_qsbr_thread_online(qsbr, w->id);
	XV_LOG(dp, INFO, "worker %u running on lcore %u", w->id, w->lcore);

	while (likely(running)) {
		struct xv_plan *plan =
			__atomic_load_n(&w->plan, __ATOMIC_ACQUIRE);
		unsigned int i, moved = 0;

		if (likely(plan != NULL)) {
			for (i = 0; i < plan->n_polls; i++)
				moved += poll_one(&plan->polls[i], prev);
		}

		now = rte_rdtsc();
		if (moved) {
			w->busy_cycles += now - prev;
			last_work = now;
		} else {
			w->idle_cycles += now - prev;
			if (idle_tsc != 0 && now - last_work > idle_tsc &&
			    (plan == NULL || !holding(plan))) {
				static struct xv_plan empty;
				bool event = false;
				unsigned int got;

				got = sleep_until_work(w, plan ? plan : &empty,
						       &event);
				now = rte_rdtsc();
				/* Woken by a kick or an interrupt: poll for a
				 * while before sleeping again, since traffic that
				 * woke us tends to go on. A timer wake goes back
				 * to sleep at once. */
				if (got || event)
					last_work = now;
			}
		}
		prev = now;
		w->loops++;
		/* Nothing from 'plan' is used past this point. */
		rte_rcu_qsbr_quiescent(qsbr, w->id);
	}

	rte_rcu_qsbr_thread_offline(qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(qsbr, w->id);
	return 0;
}

static void
wake(struct xv_worker *w)
{
	uint64_t one = 1;

	if (write(w->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: a wake-up is pending already. */
	}
}

int
xv_workers_start(unsigned int n, const unsigned int *lcores,
		 const struct xv_worker_conf *conf)
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
	xv_worker_conf = *conf;
	xv_hold_tsc = rte_get_tsc_hz() / 1000 * conf->hold_ms;
	idle_tsc = rte_get_tsc_hz() / 1000000 * conf->idle_us;
	xv_n_workers = n;
	running = true;
	for (i = 0; i < n; i++) {
		xv_workers[i].id = i;
		xv_workers[i].lcore = lcores[i];
		xv_workers[i].wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		xv_workers[i].epfd = -1;
		xv_workers[i].epoll_gen = UINT64_MAX; /* no set built yet */
		if (xv_workers[i].wake_fd < 0) {
			int err = -errno;

			while (i-- > 0)
				close(xv_workers[i].wake_fd);
			rte_free(qsbr);
			qsbr = NULL;
			return err;
		}
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
		wake(&xv_workers[i]);
	for (i = 0; i < xv_n_workers; i++)
		rte_eal_wait_lcore(xv_workers[i].lcore);
}

void
xv_workers_fini(void)
{
	unsigned int i;

	/* Freed only now: a vhost callback may have been waiting on it
	 * while the workers stopped. */
	for (i = 0; i < xv_n_workers; i++) {
		close(xv_workers[i].wake_fd);
		if (xv_workers[i].epfd >= 0)
			close(xv_workers[i].epfd);
		xv_workers[i].wake_fd = xv_workers[i].epfd = -1;
	}
	rte_free(qsbr);
	qsbr = NULL;
}

void
xv_worker_synchronize(void)
{
	unsigned int i;
	uint64_t token;

	if (qsbr == NULL || !running)
		return;
	/* Wake sleepers only after the new token exists: woken earlier, a
	 * worker could report the old token and sleep on, and the wait
	 * below would never end. */
	token = rte_rcu_qsbr_start(qsbr);
	for (i = 0; i < xv_n_workers; i++)
		wake(&xv_workers[i]);
	rte_rcu_qsbr_check(qsbr, token, true);
}

struct rte_rcu_qsbr *
xv_worker_qsbr(void)
{
	return qsbr;
}

struct xv_plan *
xv_worker_publish(struct xv_worker *w, struct xv_plan *plan)
{
	struct xv_plan *old = __atomic_exchange_n(&w->plan, plan,
						  __ATOMIC_ACQ_REL);

	wake(w);
	return old;
}
