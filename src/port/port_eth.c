/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eth ports: any DPDK ethdev, hot-plugged from devargs at runtime (a PCI
 * VF address, or a vdev such as net_tap0,iface=x / net_af_packet0,iface=y /
 * net_null0 / net_ring0 / net_memif0 / net_pcap0,...). Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include "port.h"
#include "worker.h"
#include "xv_log.h"
#include "xv_mbuf.h"

#define XV_ETH_RXD 1024
#define XV_ETH_TXD 1024

static int
lsc_event(uint16_t port_id, enum rte_eth_event_type type, void *arg,
	  void *ret_param)
{
	/* Link state is re-read on the control thread. */
	xv_port_notify();
	return 0;
}

/* Is 'port_id' already owned by an xvio port? */
static struct xv_port *
owner_of(uint16_t port_id)
{
	unsigned int i;

	for (i = 0; i < xv_n_ports; i++)
		if (xv_ports[i]->type == XV_PORT_ETH &&
		    xv_ports[i]->eth.port_id == port_id)
			return xv_ports[i];
	return NULL;
}

static unsigned int
eth_mbuf_need(const struct xv_port *port, unsigned int n_active)
{
	const struct xv_port_eth *e = &port->eth;

	/* Buffers sit in the rx rings, in the hold buffers, and (from any
	 * port) in the tx rings until the NIC has sent them. */
	return e->nb_rxq * (e->nb_rxd + XV_HOLD_MAX) + e->nb_txq * e->nb_txd;
}

static void
update_link(struct xv_port *port)
{
	struct rte_eth_link link;

	if (rte_eth_link_get_nowait(port->eth.port_id, &link) == 0)
		__atomic_store_n(&port->link_up, link.link_status ? 1 : 0,
				 __ATOMIC_RELEASE);
}

/* Drivers whose rx depends on a signal having been handled, not only on
 * their fd being readable (see the rx_interrupts comment in eth_setup). */
static bool
rx_needs_signal(const char *driver)
{
	return strcmp(driver, "net_tap") == 0;
}

static int
eth_setup(struct xv_port *port, char *err, size_t errlen)
{
	struct xv_port_eth *e = &port->eth;
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	uint16_t q, pid = e->port_id;
	unsigned int need;
	int ret, socket;

	ret = rte_eth_dev_info_get(pid, &info);
	if (ret != 0) {
		snprintf(err, errlen, "cannot get device info: %s",
			 rte_strerror(-ret));
		return ret;
	}
	snprintf(e->driver, sizeof(e->driver), "%s", info.driver_name);
	e->dev = info.device;
	if (port->queues > info.max_rx_queues) {
		snprintf(err, errlen, "device %s has at most %u rx queues",
			 e->devargs, info.max_rx_queues);
		return -EINVAL;
	}
	e->nb_rxq = port->queues;
	/* One tx queue per worker if possible, so workers never share. */
	{
		unsigned int want = RTE_MAX(port->queues, xv_n_workers);
		unsigned int cap = RTE_MIN((unsigned int)info.max_tx_queues,
					   (unsigned int)XV_MAX_QUEUES);

		e->nb_txq = RTE_MIN(want, cap);
	}
	e->tx_shared = e->nb_txq < xv_n_workers;
	for (q = 0; q < XV_MAX_QUEUES; q++)
		rte_spinlock_init(&e->tx_lock[q]);

	memset(&conf, 0, sizeof(conf));
	if (e->nb_rxq > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			info.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if (*info.dev_flags & RTE_ETH_DEV_INTR_LSC)
		conf.intr_conf.lsc = 1;
	/* Rx interrupts let an idle worker sleep until packets come. Not
	 * every driver has them: then configure again without. */
	conf.intr_conf.rxq = 1;
	ret = rte_eth_dev_configure(pid, e->nb_rxq, e->nb_txq, &conf);
	if (ret != 0) {
		conf.intr_conf.rxq = 0;
		ret = rte_eth_dev_configure(pid, e->nb_rxq, e->nb_txq, &conf);
	}
	if (ret != 0) {
		snprintf(err, errlen, "cannot configure %s: %s", e->devargs,
			 rte_strerror(-ret));
		return ret;
	}
	e->nb_rxd = XV_ETH_RXD;
	e->nb_txd = XV_ETH_TXD;
	rte_eth_dev_adjust_nb_rx_tx_desc(pid, &e->nb_rxd, &e->nb_txd);

	socket = rte_eth_dev_socket_id(pid);
	need = eth_mbuf_need(port, e->nb_rxq);
	port->pool = xv_mbuf_reserve(need, socket);
	if (port->pool == NULL) {
		snprintf(err, errlen, "cannot reserve %u packet buffers", need);
		return -ENOSPC;
	}
	port->n_reserved = need;
	for (q = 0; q < e->nb_rxq; q++) {
		ret = rte_eth_rx_queue_setup(pid, q, e->nb_rxd, socket, NULL,
					     port->pool);
		if (ret != 0) {
			snprintf(err, errlen, "rx queue %u setup failed: %s", q,
				 rte_strerror(-ret));
			return ret;
		}
	}
	for (q = 0; q < e->nb_txq; q++) {
		ret = rte_eth_tx_queue_setup(pid, q, e->nb_txd, socket, NULL);
		if (ret != 0) {
			snprintf(err, errlen, "tx queue %u setup failed: %s", q,
				 rte_strerror(-ret));
			return ret;
		}
	}
	rte_eth_dev_callback_register(pid, RTE_ETH_EVENT_INTR_LSC, lsc_event,
				      NULL);
	/* A relay forwards everything, whatever the destination MAC. */
	rte_eth_promiscuous_enable(pid);
	ret = rte_eth_dev_start(pid);
	if (ret != 0) {
		rte_eth_dev_callback_unregister(pid, RTE_ETH_EVENT_INTR_LSC,
						lsc_event, NULL);
		snprintf(err, errlen, "cannot start %s: %s", e->devargs,
			 rte_strerror(-ret));
		return ret;
	}
	e->started = true;
	/* An fd to sleep on is what counts (some drivers keep it armed and
	 * refuse enable/disable with -ENOTSUP). net_tap's is not enough:
	 * its rx returns nothing until its SIGIO handler has run, and the
	 * signal may land on another thread, so a woken worker can find
	 * nothing and sleep on past the packet. Such drivers are polled by
	 * the --wake-us timer instead. */
	e->rxq_intr = conf.intr_conf.rxq && !rx_needs_signal(e->driver) &&
		      rte_eth_dev_rx_intr_ctl_q_get_fd(pid, 0) >= 0;
	update_link(port);
	return 0;
}

/* Stop, close and unplug the device; undoes eth_open at any stage. */
static void
eth_teardown(struct xv_port *port, bool probed)
{
	struct xv_port_eth *e = &port->eth;
	struct rte_device *dev = e->dev;

	if (e->started) {
		rte_eth_dev_stop(e->port_id);
		rte_eth_dev_callback_unregister(e->port_id,
						RTE_ETH_EVENT_INTR_LSC,
						lsc_event, NULL);
		e->started = false;
	}
	rte_eth_dev_close(e->port_id);
	if (probed && dev != NULL && rte_dev_remove(dev) != 0)
		XV_LOG(port, WARNING, "%s: cannot unplug %s", port->name,
		       e->devargs);
	xv_mbuf_release(port->pool, port->n_reserved);
	port->pool = NULL;
	port->n_reserved = 0;
	__atomic_store_n(&port->link_up, 0, __ATOMIC_RELEASE);
}

/*
 * The first ethdev matching 'devargs' that no port owns, in '*pid'.
 * -EEXIST with its owner in '*owner' when every match is taken; -ENODEV
 * when nothing matches.
 */
static int
find_free_port(const char *devargs, uint16_t *pid, struct xv_port **owner)
{
	struct rte_dev_iterator it;
	uint16_t id;
	int ret = -ENODEV;

	RTE_ETH_FOREACH_MATCHING_DEV(id, devargs, &it) {
		*owner = owner_of(id);
		if (*owner == NULL) {
			*pid = id;
			rte_eth_iterator_cleanup(&it);
			return 0;
		}
		ret = -EEXIST;
	}
	return ret;
}

/* Undo a probe that gave no ethdev. */
static void
unplug_devargs(const char *devargs)
{
	struct rte_devargs da;

	if (rte_devargs_parse(&da, devargs) != 0)
		return;
	rte_eal_hotplug_remove(rte_bus_name(da.bus), da.name);
	rte_devargs_reset(&da);
}

static int
eth_open(struct xv_port *port, const struct xv_port_conf *conf, char *err,
	 size_t errlen)
{
	struct xv_port_eth *e = &port->eth;
	struct xv_port *other = NULL;
	uint16_t pid = 0;
	int ret;

	if (conf->devargs[0] == '\0') {
		snprintf(err, errlen, "an eth port needs device arguments");
		return -EINVAL;
	}
	snprintf(e->devargs, sizeof(e->devargs), "%s", conf->devargs);
	port->queues = conf->queues ? conf->queues : 1;

	/* The device may exist already (probed at start, or by an earlier
	 * port). Taking one another port owns is refused; anything else we
	 * probe, and unplug again if it yields nothing usable. */
	ret = find_free_port(conf->devargs, &pid, &other);
	if (ret == -EEXIST) {
		snprintf(err, errlen, "device '%s' is already used by port '%s'",
			 conf->devargs, other->name);
		return -EEXIST;
	}
	if (ret == -ENODEV) {
		ret = rte_dev_probe(conf->devargs);
		if (ret != 0 && ret != -EEXIST) {
			snprintf(err, errlen, "cannot probe device '%s': %s",
				 conf->devargs, rte_strerror(-ret));
			return ret;
		}
		if (find_free_port(conf->devargs, &pid, &other) != 0) {
			snprintf(err, errlen,
				 "device '%s' has no usable ethernet port",
				 conf->devargs);
			unplug_devargs(conf->devargs);
			return -ENODEV;
		}
	}
	e->port_id = pid;
	{
		struct rte_eth_dev_info info;

		if (rte_eth_dev_info_get(pid, &info) == 0)
			e->dev = info.device;
	}
	ret = eth_setup(port, err, errlen);
	if (ret != 0) {
		eth_teardown(port, true);
		return ret < 0 ? ret : -ret;
	}
	return 0;
}

static void
eth_close(struct xv_port *port)
{
	eth_teardown(port, true);
}

static unsigned int
eth_active_queues(const struct xv_port *port)
{
	return port->eth.nb_rxq;
}

static void
eth_describe(const struct xv_port *port, json_t *obj)
{
	const struct xv_port_eth *e = &port->eth;
	struct rte_ether_addr mac;
	char buf[RTE_ETHER_ADDR_FMT_SIZE];

	json_object_set_new(obj, "devargs", json_string(e->devargs));
	json_object_set_new(obj, "driver", json_string(e->driver));
	json_object_set_new(obj, "port_id", json_integer(e->port_id));
	json_object_set_new(obj, "state",
			    json_string(e->started ? "up" : "down"));
	json_object_set_new(obj, "tx_queues", json_integer(e->nb_txq));
	json_object_set_new(obj, "rx_interrupts", json_boolean(e->rxq_intr));
	json_object_set_new(obj, "rx_descriptors", json_integer(e->nb_rxd));
	json_object_set_new(obj, "tx_descriptors", json_integer(e->nb_txd));
	if (rte_eth_macaddr_get(e->port_id, &mac) == 0) {
		rte_ether_format_addr(buf, sizeof(buf), &mac);
		json_object_set_new(obj, "dev_mac", json_string(buf));
	}
	json_object_set_new(obj, "numa",
			    json_integer(rte_eth_dev_socket_id(e->port_id)));
}

static void
eth_dev_stats(const struct xv_port *port, json_t *obj)
{
	struct rte_eth_stats st;

	if (rte_eth_stats_get(port->eth.port_id, &st) != 0)
		return;
	json_object_set_new(obj, "imissed", json_integer(st.imissed));
	json_object_set_new(obj, "ierrors", json_integer(st.ierrors));
	json_object_set_new(obj, "oerrors", json_integer(st.oerrors));
	json_object_set_new(obj, "rx_nombuf", json_integer(st.rx_nombuf));
	json_object_set_new(obj, "ipackets", json_integer(st.ipackets));
	json_object_set_new(obj, "opackets", json_integer(st.opackets));
}

const struct xv_port_ops xv_port_eth_ops = {
	.open = eth_open,
	.close = eth_close,
	.describe = eth_describe,
	.active_queues = eth_active_queues,
	.mbuf_need = eth_mbuf_need,
	.dev_stats = eth_dev_stats,
};

void
xv_port_poll_links(void)
{
	unsigned int i;

	for (i = 0; i < xv_n_ports; i++) {
		struct xv_port *port = xv_ports[i];
		int was;

		if (port->type != XV_PORT_ETH)
			continue;
		was = __atomic_load_n(&port->link_up, __ATOMIC_RELAXED);
		update_link(port);
		if (was != __atomic_load_n(&port->link_up, __ATOMIC_RELAXED))
			XV_LOG(port, INFO, "%s: link %s", port->name,
			       was ? "down" : "up");
	}
}
