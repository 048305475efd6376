/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A worker's plan: the immutable list of rx queues it polls and where each
 * queue's packets go. The control thread builds new plans from the port
 * registry whenever ports, relays or guest queue states change, publishes
 * them with a release store and frees the old ones after an RCU grace
 * period. Workers never see a plan change under their feet.
 */
#ifndef XV_PLAN_H
#define XV_PLAN_H

#include <stdbool.h>
#include <stdint.h>

struct xv_port;
struct xv_rxq;
struct xv_port_wstats;
struct rte_mempool;

struct xv_poll {
	struct xv_port *in;
	struct xv_rxq *rxq;          /* &in->rxq[in_q] */
	struct xv_port *out;         /* NULL: not relayed, drop as no_dest */
	struct rte_mempool *pool;    /* rx buffers for 'in' */
	struct xv_port_wstats *in_st;  /* this worker's counters of 'in' */
	struct xv_port_wstats *out_st; /* ... and of 'out' */
	uint64_t out_uid;
	uint16_t in_q;
	uint16_t out_q;
	uint16_t worker;             /* the worker whose plan this is */
	bool net;                    /* 'in' is in a network: switch (net/) */
};

struct xv_plan {
	uint64_t gen;               /* differs for every plan built */
	unsigned int n_polls;
	struct xv_poll polls[];
};

/*
 * Rebuild and publish every worker's plan from the registry, reserving
 * buffers for the queues that became active. Control thread only; returns
 * after the old plans are out of use.
 */
void xv_plan_rebuild(void);

/* The guest rx queue (our tx queue) of vhost port 'out' that traffic
 * with hash 'q' (a queue or worker number) goes to. */
uint16_t xv_plan_vhost_txq(const struct xv_port *out, uint16_t q);

/* Free the published plans (at exit, workers stopped). */
void xv_plan_fini(void);

#endif /* XV_PLAN_H */
