/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet I/O on a port, for workers. A switch on the port type instead of a
 * function pointer keeps both paths inlined into the poll loop.
 */
#ifndef XV_PORT_IO_H
#define XV_PORT_IO_H

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_vhost.h>

#include "port.h"

/* vhost vring ids: queue pair q has the guest's rx ring at 2q (we enqueue)
 * and its tx ring at 2q + 1 (we dequeue). */
#define XV_VRING_RX(q) ((q) * 2)
#define XV_VRING_TX(q) ((q) * 2 + 1)

/* The vid of vhost port 'p' if its guest set up queue pair 'q', or -1. */
static __rte_always_inline int
xv_vhost_vid(const struct xv_port *p, uint16_t q)
{
	int vid = __atomic_load_n(&p->vhost.vid, __ATOMIC_ACQUIRE);

	if (unlikely(vid < 0 ||
		     q >= __atomic_load_n(&p->vhost.nr_qp, __ATOMIC_RELAXED)))
		return -1;
	return vid;
}

/* Receive up to 'n' packets from queue 'q' of 'p' into 'pkts'. */
static __rte_always_inline uint16_t
xv_port_rx(struct xv_port *p, uint16_t q, struct rte_mempool *mp,
	   struct rte_mbuf **pkts, uint16_t n)
{
	if (p->type == XV_PORT_VHOST) {
		int vid = xv_vhost_vid(p, q);

		if (vid < 0)
			return 0;
		return rte_vhost_dequeue_burst(vid, XV_VRING_TX(q), mp,
					       pkts, n);
	}
	return rte_eth_rx_burst(p->eth.port_id, q, pkts, n);
}

/*
 * Send up to 'n' packets on queue 'q' of 'p'. Returns how many the port
 * took; those are no longer the caller's (vhost copies them into the guest
 * and they are freed here). The rest stay with the caller.
 */
static __rte_always_inline uint16_t
xv_port_tx(struct xv_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent;

	if (p->type == XV_PORT_VHOST) {
		int vid = __atomic_load_n(&p->vhost.vid, __ATOMIC_ACQUIRE);

		if (unlikely(vid < 0))
			return 0;
		sent = rte_vhost_enqueue_burst(vid, XV_VRING_RX(q), pkts, n);
		rte_pktmbuf_free_bulk(pkts, sent);
		return sent;
	}
	if (unlikely(p->eth.tx_shared)) {
		/* More workers than tx queues: the only lock on the data
		 * path, and only in that configuration. */
		rte_spinlock_lock(&p->eth.tx_lock[q]);
		sent = rte_eth_tx_burst(p->eth.port_id, q, pkts, n);
		rte_spinlock_unlock(&p->eth.tx_lock[q]);
		return sent;
	}
	return rte_eth_tx_burst(p->eth.port_id, q, pkts, n);
}

static __rte_always_inline bool
xv_port_link_up(const struct xv_port *p)
{
	return __atomic_load_n(&p->link_up, __ATOMIC_RELAXED) != 0;
}

#endif /* XV_PORT_IO_H */
