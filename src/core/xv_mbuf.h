/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet buffer pools sized from what the ports need.
 *
 * Each port reserves the number of mbufs it can hold at once (its NIC rings,
 * its hold buffers); pools are created in chunks as reservations grow, so a
 * daemon with 256 idle vhost ports holds one small pool, not a fixed giant
 * reservation. Pools live until exit: mbufs from one pool travel to other
 * ports and come back to it when freed, so a pool cannot be destroyed while
 * the daemon runs. Control thread only.
 */
#ifndef XV_MBUF_H
#define XV_MBUF_H

#include <stdint.h>

struct rte_mempool;

struct xv_mbuf_totals {
	uint64_t total;     /* mbufs in all pools */
	uint64_t reserved;  /* reserved by ports */
	uint64_t in_use;    /* currently allocated */
	uint64_t bytes;     /* memory of all pools */
	unsigned int pools;
};

/* Set the number of lcores that may cache mbufs (sizes the cache slack). */
void xv_mbuf_init(unsigned int n_lcores);

/*
 * Reserve 'n' mbufs on NUMA 'socket'. Returns the pool to allocate them from,
 * or NULL with errno = ENOMEM when no pool can be created.
 */
struct rte_mempool *xv_mbuf_reserve(unsigned int n, int socket);

/* Give back 'n' mbufs reserved from 'mp' (no-op for n == 0 or NULL). */
void xv_mbuf_release(struct rte_mempool *mp, unsigned int n);

void xv_mbuf_totals(struct xv_mbuf_totals *t);

/* Free every pool. Only at exit, after all ports are closed. */
void xv_mbuf_fini(void);

#endif /* XV_MBUF_H */
