/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "xv_common.h"
#include "xv_log.h"
#include "xv_mbuf.h"

/* Pools grow by this many mbufs (about 19 MB each). */
#define CHUNK_MBUFS 8191
#define CACHE_SIZE 256
#define MAX_POOLS 64

struct pool {
	struct rte_mempool *mp;
	int socket;
	unsigned int capacity; /* mbufs that can be reserved */
	unsigned int reserved;
};

static struct pool pools[MAX_POOLS];
static unsigned int n_pools;
static unsigned int n_cache_lcores = 2;

void
xv_mbuf_init(unsigned int n_lcores)
{
	n_cache_lcores = n_lcores;
}

static struct pool *
pool_create(unsigned int n, int socket)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned int size, slack;
	struct rte_mempool *mp;
	struct pool *p;

	if (n_pools == MAX_POOLS) {
		errno = ENOMEM;
		return NULL;
	}
	/* Per-lcore caches can strand up to 1.5 x CACHE_SIZE mbufs each. */
	slack = n_cache_lcores * CACHE_SIZE * 3 / 2;
	size = n + slack > CHUNK_MBUFS ? n + slack : CHUNK_MBUFS;
	snprintf(name, sizeof(name), "xv_mbuf_%u", n_pools);
	mp = rte_pktmbuf_pool_create(name, size, CACHE_SIZE, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (mp == NULL && socket != SOCKET_ID_ANY)
		mp = rte_pktmbuf_pool_create(name, size, CACHE_SIZE, 0,
					     RTE_MBUF_DEFAULT_BUF_SIZE,
					     SOCKET_ID_ANY);
	if (mp == NULL) {
		XV_LOG(core, ERR, "cannot create a pool of %u mbufs: %s", size,
		       rte_strerror(rte_errno));
		errno = ENOMEM;
		return NULL;
	}
	p = &pools[n_pools++];
	p->mp = mp;
	p->socket = socket;
	p->capacity = size - slack;
	p->reserved = 0;
	XV_LOG(core, INFO, "mbuf pool %s: %u mbufs", name, size);
	return p;
}

struct rte_mempool *
xv_mbuf_reserve(unsigned int n, int socket)
{
	struct pool *p = NULL;
	unsigned int i;

	for (i = 0; i < n_pools; i++) {
		if ((socket == SOCKET_ID_ANY || pools[i].socket == socket ||
		     pools[i].socket == SOCKET_ID_ANY) &&
		    pools[i].capacity - pools[i].reserved >= n) {
			p = &pools[i];
			break;
		}
	}
	if (p == NULL)
		p = pool_create(n, socket);
	if (p == NULL)
		return NULL;
	p->reserved += n;
	return p->mp;
}

void
xv_mbuf_release(struct rte_mempool *mp, unsigned int n)
{
	unsigned int i;

	if (mp == NULL || n == 0)
		return;
	for (i = 0; i < n_pools; i++) {
		if (pools[i].mp == mp) {
			pools[i].reserved -= RTE_MIN(n, pools[i].reserved);
			return;
		}
	}
}

void
xv_mbuf_totals(struct xv_mbuf_totals *t)
{
	unsigned int i;

	*t = (struct xv_mbuf_totals){ .pools = n_pools };
	for (i = 0; i < n_pools; i++) {
		struct rte_mempool *mp = pools[i].mp;

		t->total += mp->size;
		t->reserved += pools[i].reserved;
		t->in_use += rte_mempool_in_use_count(mp);
		t->bytes += (uint64_t)mp->size *
			    (mp->header_size + mp->elt_size + mp->trailer_size);
	}
}

void
xv_mbuf_fini(void)
{
	unsigned int i;

	for (i = 0; i < n_pools; i++)
		rte_mempool_free(pools[i].mp);
	n_pools = 0;
}
