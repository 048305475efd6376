/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports: the things packets come from and go to.
 *
 * Two kinds sit behind one struct: 'vhost' ports talk vhost-user to a VM
 * (QEMU) through DPDK's rte_vhost library directly, not through the
 * net_vhost PMD, so their number is not bounded by RTE_MAX_ETHPORTS (32 in
 * Debian's build); 'eth' ports are any DPDK ethdev probed from devargs
 * (SR-IOV VF, net_tap, net_af_packet, net_af_xdp, net_memif, net_ring, ...).
 *
 * Threads and ownership:
 * - The control thread creates and destroys ports and is the only writer of
 *   the registry. It holds xv_port_lock while changing registry membership;
 *   vhost callbacks (on DPDK's vhost-user thread) take it to find a port by
 *   socket path.
 * - vhost callbacks write only the atomic fields of 'struct xv_port_vhost'
 *   and then wake the control thread (xv_port_notify), which rebuilds the
 *   workers' plans. destroy_device returns only after an RCU grace period,
 *   so no worker still uses the vid.
 * - Workers read ports only through their published plan (dp/plan.h). Each
 *   rx queue is polled by one worker, which alone writes its 'struct xv_rxq'.
 *   Each worker writes only its own 'struct xv_port_wstats'.
 * - A port is freed only after it left every plan and a grace period passed.
 */
#ifndef XV_PORT_H
#define XV_PORT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

#include <jansson.h>
#include <rte_spinlock.h>

#include "xv_common.h"
#include "xv_drop.h"
#include "net.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_device;

enum xv_port_type {
	XV_PORT_VHOST,
	XV_PORT_ETH,
};

/* What a port is asked to be (from the API or the config file). */
struct xv_port_conf {
	char name[XV_NAME_MAX + 1];
	enum xv_port_type type;
	char path[PATH_MAX];  /* vhost */
	bool client;          /* vhost */
	char devargs[512];    /* eth */
	unsigned int queues;  /* 0: default */
	struct xv_port_net net; /* network attributes (zeroed: none) */
};

struct xv_qstats {
	uint64_t packets;
	uint64_t bytes;
};

/* Counters of one port kept by one worker; only that worker writes them. */
struct xv_port_wstats {
	struct xv_qstats rx[XV_MAX_QUEUES];
	struct xv_qstats tx[XV_MAX_QUEUES];
	uint64_t drops[XV_DROP_MAX];
} __rte_cache_aligned;

/* Summed counters, as shown to users. */
struct xv_port_stats {
	struct xv_qstats rx[XV_MAX_QUEUES];
	struct xv_qstats tx[XV_MAX_QUEUES];
	uint64_t drops[XV_DROP_MAX];
};

/*
 * One rx queue's packets on their way out: received but not yet taken by
 * the destination. Owned by the worker that polls the queue.
 */
struct xv_rxq {
	struct rte_mbuf *hold[XV_HOLD_MAX];
	uint16_t n_hold;
	uint64_t hold_dest;  /* uid of the port the held packets are for */
	uint64_t stall_tsc;  /* TSC when the held packets stopped moving; 0 */
} __rte_cache_aligned;

/*
 * Which worker polls an rx queue, and what the rebalancer knows about it.
 * Control thread only.
 */
struct xv_rxq_sched {
	int worker;          /* assigned worker, -1 until first active */
	int published;       /* worker whose published plan has it, or -1 */
	int pinned;          /* worker set by hand, or -1 */
	uint64_t last_packets;
	double load;         /* cycles per second it costs, last interval */
};

struct xv_port_vhost {
	char path[PATH_MAX];
	bool client;
	bool registered;
	int vid;              /* atomic: -1 while no guest is ready */
	uint16_t nr_qp;       /* atomic: queue pairs the guest set up */
	uint32_t rx_enabled;  /* atomic: guest rx vrings enabled (bit per pair) */
	uint32_t tx_enabled;  /* atomic: guest tx vrings enabled */
	uint64_t features;    /* atomic: negotiated features */
	uint32_t n_connects;  /* atomic */
	uint16_t mtu;
};

struct xv_port_eth {
	char devargs[512];
	char driver[64];
	uint16_t port_id;
	uint16_t nb_rxq;
	uint16_t nb_txq;
	uint16_t nb_rxd;
	uint16_t nb_txd;
	bool tx_shared;        /* fewer tx queues than workers: lock them */
	bool rxq_intr;         /* rx interrupts work: idle workers can sleep */
	bool started;
	struct rte_device *dev;
	rte_spinlock_t tx_lock[XV_MAX_QUEUES];
};

struct xv_port {
	char name[XV_NAME_MAX + 1];
	enum xv_port_type type;
	uint64_t uid;               /* never reused while the daemon runs */
	uint16_t slot;              /* 0..XV_MAX_PORTS-1, reused after removal */
	unsigned int queues;        /* configured queue pairs */
	struct xv_port *peer;       /* relay peer (control thread's view) */
	struct xv_port_net net;     /* network attributes (net/net.h) */
	int link_up;                /* atomic */

	struct rte_mempool *pool;   /* where its rx buffers come from */
	unsigned int n_reserved;    /* mbufs reserved from 'pool' */

	struct xv_rxq *rxq;         /* [XV_MAX_QUEUES] */
	struct xv_rxq_sched sched[XV_MAX_QUEUES];
	struct xv_port_wstats *wstats; /* [xv_n_workers] */
	struct xv_port_stats base;  /* subtracted on read (stats clear) */

	union {
		struct xv_port_vhost vhost;
		struct xv_port_eth eth;
	};
};

/*
 * Backend operations. All run on the control thread.
 */
struct xv_port_ops {
	/* Open the backend of 'port' (name and conf fields set). Returns 0,
	 * or a negative errno with a message for the user in 'err'. On
	 * error nothing is left open. */
	int (*open)(struct xv_port *port, const struct xv_port_conf *conf,
		    char *err, size_t errlen);
	/* Close the backend; the port is in no plan any more. */
	void (*close)(struct xv_port *port);
	/* Add type-specific fields to the port's JSON description. */
	void (*describe)(const struct xv_port *port, json_t *obj);
	/* Rx queues workers should poll now (0 when nothing to poll). */
	unsigned int (*active_queues)(const struct xv_port *port);
	/* mbufs the port can hold at once with 'n_active' queues polled. */
	unsigned int (*mbuf_need)(const struct xv_port *port,
				  unsigned int n_active);
	/* Device counters (drops before xvio saw the packets), or NULL. */
	void (*dev_stats)(const struct xv_port *port, json_t *obj);
};

extern const struct xv_port_ops xv_port_vhost_ops;
extern const struct xv_port_ops xv_port_eth_ops;

/* Registry; modified only by the control thread under xv_port_lock. */
extern struct xv_port *xv_ports[XV_MAX_PORTS];
extern unsigned int xv_n_ports;
extern pthread_mutex_t xv_port_lock;

const struct xv_port_ops *xv_port_ops(const struct xv_port *port);
const char *xv_port_type_name(enum xv_port_type type);
int xv_port_type_parse(const char *s, enum xv_port_type *type);

/* Check a port name; 0 or -EINVAL with a message in 'err'. */
int xv_port_name_check(const char *name, char *err, size_t errlen);

struct xv_port *xv_port_find(const char *name);

/*
 * Create a port from 'conf' and add it to the registry. Returns 0 and the
 * port in '*portp', or a negative errno (-EINVAL, -EEXIST, -ENOSPC, -ENOMEM,
 * or the backend's) with a message in 'err'.
 */
int xv_port_create(const struct xv_port_conf *conf, struct xv_port **portp,
		   char *err, size_t errlen);

/*
 * Remove 'port': out of its relay, out of every plan, held packets dropped
 * (counted as port_removed), backend closed, memory freed.
 */
void xv_port_destroy(struct xv_port *port);

/* Sum the workers' counters of 'port', ignoring stats.clear (for rates). */
void xv_port_stats_sum(const struct xv_port *port, struct xv_port_stats *st);
/* Sum the workers' counters of 'port' (minus the cleared base). */
void xv_port_stats_read(const struct xv_port *port, struct xv_port_stats *st);
void xv_port_stats_clear(struct xv_port *port);

/* Counters of removed ports, so daemon totals never go backwards. */
extern uint64_t xv_port_gone_drops[XV_DROP_MAX];

/* JSON description of 'port' (port.show). */
json_t *xv_port_describe(const struct xv_port *port);

/* Wake the control thread: a port's state changed (any thread). */
void xv_port_notify(void);
/* The fd the control thread polls for such wake-ups. */
int xv_port_event_fd(void);
int xv_port_init(void);
void xv_port_fini(void);

/* Refresh eth link states (control thread: every second and on port
 * events such as LSC interrupts). */
void xv_port_poll_links(void);

/* Names of the virtio feature bits set in 'features' into 'arr'. */
void xv_virtio_features_json(uint64_t features, json_t *arr);

#endif /* XV_PORT_H */
