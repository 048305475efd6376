/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port registry and the parts of a port's life common to both kinds.
 * Control thread, except xv_port_notify (any thread).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <rte_mbuf.h>

#include "plan.h"
#include "port.h"
#include "worker.h"
#include "xv_log.h"
#include "xv_mbuf.h"

struct xv_port *xv_ports[XV_MAX_PORTS];
unsigned int xv_n_ports;
pthread_mutex_t xv_port_lock = PTHREAD_MUTEX_INITIALIZER;
uint64_t xv_port_gone_drops[XV_DROP_MAX];

static uint64_t next_uid = 1;
/* Which slots are taken (a slot is a stable small index for the
 * datapath's per-port tables). */
static bool slot_used[XV_MAX_PORTS];
static int event_fd = -1;

int
xv_port_init(void)
{
	event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return event_fd < 0 ? -errno : 0;
}

void
xv_port_fini(void)
{
	unsigned int i;

	/* Out of their networks first, so removing them one by one does not
	 * compile the classifier again for each. */
	for (i = 0; i < xv_n_ports; i++)
		xv_port_net_clear(xv_ports[i]);
	while (xv_n_ports > 0)
		xv_port_destroy(xv_ports[xv_n_ports - 1]);
	if (event_fd >= 0)
		close(event_fd);
	event_fd = -1;
}

void
xv_port_notify(void)
{
	uint64_t one = 1;

	if (event_fd >= 0 && write(event_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, a wake-up is pending. */
	}
}

int
xv_port_event_fd(void)
{
	return event_fd;
}

const struct xv_port_ops *
xv_port_ops(const struct xv_port *port)
{
	return port->type == XV_PORT_VHOST ? &xv_port_vhost_ops :
					     &xv_port_eth_ops;
}

const char *
xv_port_type_name(enum xv_port_type type)
{
	return type == XV_PORT_VHOST ? "vhost" : "eth";
}

int
xv_port_type_parse(const char *s, enum xv_port_type *type)
{
	if (strcmp(s, "vhost") == 0)
		*type = XV_PORT_VHOST;
	else if (strcmp(s, "eth") == 0)
		*type = XV_PORT_ETH;
	else
		return -EINVAL;
	return 0;
}

int
xv_port_name_check(const char *name, char *err, size_t errlen)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > XV_NAME_MAX) {
		snprintf(err, errlen, "port name must be 1-%d characters",
			 XV_NAME_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.')) {
			snprintf(err, errlen,
				 "port name '%s' may hold only letters, digits, '_', '-' and '.'",
				 name);
			return -EINVAL;
		}
	}
	return 0;
}

struct xv_port *
xv_port_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < xv_n_ports; i++)
		if (strcmp(xv_ports[i]->name, name) == 0)
			return xv_ports[i];
	return NULL;
}

static void
port_free(struct xv_port *port)
{
	if (port == NULL)
		return;
	free(port->rxq);
	free(port->wstats);
	free(port);
}

int
xv_port_create(const struct xv_port_conf *conf, struct xv_port **portp,
	       char *err, size_t errlen)
{
	struct xv_port *port;
	int ret;

	ret = xv_port_name_check(conf->name, err, errlen);
	if (ret < 0)
		return ret;
	if (xv_port_find(conf->name) != NULL) {
		snprintf(err, errlen, "port '%s' already exists", conf->name);
		return -EEXIST;
	}
	if (xv_n_ports == XV_MAX_PORTS) {
		snprintf(err, errlen, "too many ports (the limit is %d)",
			 XV_MAX_PORTS);
		return -ENOSPC;
	}
	if (conf->queues > XV_MAX_QUEUES) {
		snprintf(err, errlen, "queues must be 1-%d", XV_MAX_QUEUES);
		return -EINVAL;
	}

	port = calloc(1, sizeof(*port));
	if (port != NULL) {
		port->rxq = aligned_alloc(RTE_CACHE_LINE_SIZE,
					  XV_MAX_QUEUES * sizeof(*port->rxq));
		port->wstats = aligned_alloc(RTE_CACHE_LINE_SIZE,
					     xv_n_workers * sizeof(*port->wstats));
	}
	if (port == NULL || port->rxq == NULL || port->wstats == NULL) {
		port_free(port);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memset(port->rxq, 0, XV_MAX_QUEUES * sizeof(*port->rxq));
	for (unsigned int q = 0; q < XV_MAX_QUEUES; q++)
		port->sched[q] = (struct xv_rxq_sched){ .worker = -1,
							.published = -1,
							.pinned = -1 };
	memset(port->wstats, 0, xv_n_workers * sizeof(*port->wstats));
	snprintf(port->name, sizeof(port->name), "%s", conf->name);
	port->type = conf->type;
	port->uid = next_uid++;
	for (port->slot = 0; slot_used[port->slot]; port->slot++)
		;

	ret = xv_port_ops(port)->open(port, conf, err, errlen);
	if (ret < 0) {
		port_free(port);
		return ret;
	}

	slot_used[port->slot] = true;
	/* In its network before any worker polls it. */
	xv_port_net_set(port, &conf->net);
	pthread_mutex_lock(&xv_port_lock);
	xv_ports[xv_n_ports++] = port;
	pthread_mutex_unlock(&xv_port_lock);
	/* A guest may have connected before the port was in the registry:
	 * replanning now picks up whatever state it is in. A port in a
	 * network may also change the classifier (its groups, remote-group
	 * members): that is compiled first, then the plans. */
	if (conf->net.network != NULL) {
		ret = xv_net_apply(err, errlen, NULL);
		if (ret < 0) {
			xv_port_destroy(port);
			return ret;
		}
	} else {
		xv_plan_rebuild();
	}
	XV_LOG(port, INFO, "port %s added (%s)", port->name,
	       xv_port_type_name(port->type));
	*portp = port;
	return 0;
}

void
xv_port_destroy(struct xv_port *port)
{
	struct xv_port_stats st;
	unsigned int i, q;

	bool in_net = port->net.network != NULL;
	char err[256];

	if (port->peer != NULL) {
		port->peer->peer = NULL;
		port->peer = NULL;
	}
	xv_port_net_clear(port);
	pthread_mutex_lock(&xv_port_lock);
	for (i = 0; i < xv_n_ports; i++) {
		if (xv_ports[i] == port) {
			memmove(&xv_ports[i], &xv_ports[i + 1],
				(xv_n_ports - i - 1) * sizeof(xv_ports[0]));
			xv_n_ports--;
			break;
		}
	}
	pthread_mutex_unlock(&xv_port_lock);

	/* After this no worker polls the port or sends to it. A port that
	 * was in a network also leaves the classifier (its profile, its
	 * addresses in remote groups); if that cannot be compiled, the old
	 * classifier stays, only less precise about the gone addresses. */
	if (!in_net || xv_net_apply(err, sizeof(err), NULL) != 0)
		xv_plan_rebuild();

	xv_port_ops(port)->close(port);

	for (q = 0; q < XV_MAX_QUEUES; q++) {
		struct xv_rxq *rxq = &port->rxq[q];

		port->wstats[0].drops[XV_DROP_PORT_REMOVED] += rxq->n_hold;
		rte_pktmbuf_free_bulk(rxq->hold, rxq->n_hold);
		rxq->n_hold = 0;
	}
	xv_port_stats_read(port, &st);
	for (i = 0; i < XV_DROP_MAX; i++)
		xv_port_gone_drops[i] += st.drops[i];
	xv_mbuf_release(port->pool, port->n_reserved);
	XV_LOG(port, INFO, "port %s removed", port->name);
	slot_used[port->slot] = false;
	port_free(port);
}

void
xv_port_stats_sum(const struct xv_port *port, struct xv_port_stats *st)
{
	unsigned int w, q, r;

	memset(st, 0, sizeof(*st));
	for (w = 0; w < xv_n_workers; w++) {
		const struct xv_port_wstats *ws = &port->wstats[w];

		for (q = 0; q < XV_MAX_QUEUES; q++) {
			st->rx[q].packets += ws->rx[q].packets;
			st->rx[q].bytes += ws->rx[q].bytes;
			st->tx[q].packets += ws->tx[q].packets;
			st->tx[q].bytes += ws->tx[q].bytes;
		}
		for (r = 0; r < XV_DROP_MAX; r++)
			st->drops[r] += ws->drops[r];
	}
}

void
xv_port_stats_read(const struct xv_port *port, struct xv_port_stats *st)
{
	unsigned int q, r;

	xv_port_stats_sum(port, st);
	for (q = 0; q < XV_MAX_QUEUES; q++) {
		st->rx[q].packets -= port->base.rx[q].packets;
		st->rx[q].bytes -= port->base.rx[q].bytes;
		st->tx[q].packets -= port->base.tx[q].packets;
		st->tx[q].bytes -= port->base.tx[q].bytes;
	}
	for (r = 0; r < XV_DROP_MAX; r++)
		st->drops[r] -= port->base.drops[r];
}

void
xv_port_stats_clear(struct xv_port *port)
{
	xv_port_stats_sum(port, &port->base);
}

json_t *
xv_port_describe(const struct xv_port *port)
{
	const struct xv_port_ops *ops = xv_port_ops(port);
	json_t *obj = json_object();

	json_object_set_new(obj, "name", json_string(port->name));
	json_object_set_new(obj, "type",
			    json_string(xv_port_type_name(port->type)));
	json_object_set_new(obj, "link",
			    json_string(__atomic_load_n(&port->link_up,
							__ATOMIC_RELAXED) ?
						"up" : "down"));
	json_object_set_new(obj, "queues", json_integer(port->queues));
	json_object_set_new(obj, "active_queues",
			    json_integer(ops->active_queues(port)));
	json_object_set_new(obj, "relay",
			    port->peer ? json_string(port->peer->name) :
					 json_null());
	json_object_set_new(obj, "mbufs_reserved",
			    json_integer(port->n_reserved));
	xv_port_net_describe(port, obj);
	ops->describe(port, obj);
	return obj;
}
