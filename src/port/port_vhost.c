/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user ports on DPDK's rte_vhost library.
 *
 * Server mode: xvio creates the socket and QEMU connects (and may
 * reconnect). Client mode: xvio connects to QEMU's server socket; the
 * library retries by itself while the socket is absent and after QEMU goes
 * away, so a restarted VM comes back without any command.
 *
 * The device callbacks below run on the library's vhost-user thread. They
 * find the port by socket path under xv_port_lock, update the atomic state
 * workers read, and wake the control thread to replan.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_config.h>

#include <rte_vhost.h>

#include "port.h"
#include "worker.h"
#include "xv_log.h"

/* Offloads xvio does not implement yet: without them the guest hands over
 * complete, checksummed frames of at most its MTU, which any NIC takes. */
#define XV_VHOST_DISABLED_FEATURES                                            \
	((1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) | \
	 (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_HOST_UFO) |   \
	 (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |     \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO4) |                                   \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO6) |                                   \
	 (1ULL << VIRTIO_NET_F_GUEST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_UFO))

#define XV_VHOST_DEFAULT_QUEUES 8

/* Look up a port by the socket path of 'vid'. Caller holds xv_port_lock. */
static struct xv_port *
port_of_vid(int vid)
{
	char path[PATH_MAX];
	unsigned int i;

	if (rte_vhost_get_ifname(vid, path, sizeof(path)) != 0)
		return NULL;
	for (i = 0; i < xv_n_ports; i++) {
		struct xv_port *p = xv_ports[i];

		if (p->type == XV_PORT_VHOST &&
		    strcmp(p->vhost.path, path) == 0)
			return p;
	}
	return NULL;
}

static int
new_device(int vid)
{
	struct xv_port *port;
	uint64_t features = 0;
	uint16_t nr_qp, mtu = 0, i;

	pthread_mutex_lock(&xv_port_lock);
	port = port_of_vid(vid);
	if (port == NULL) {
		pthread_mutex_unlock(&xv_port_lock);
		return -1;
	}
	nr_qp = rte_vhost_get_vring_num(vid) / 2;
	rte_vhost_get_negotiated_features(vid, &features);
	rte_vhost_get_mtu(vid, &mtu);
	/* Workers poll: ask the guest not to kick us on every packet. */
	for (i = 0; i < nr_qp * 2; i++)
		rte_vhost_enable_guest_notification(vid, i, 0);
	if (nr_qp > port->queues)
		XV_LOG(port, WARNING,
		       "%s: guest has %u queue pairs, only %u are served (queues=%u)",
		       port->name, nr_qp, port->queues, port->queues);
	port->vhost.mtu = mtu;
	__atomic_store_n(&port->vhost.features, features, __ATOMIC_RELAXED);
	__atomic_store_n(&port->vhost.nr_qp, nr_qp, __ATOMIC_RELAXED);
	__atomic_add_fetch(&port->vhost.n_connects, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&port->vhost.vid, vid, __ATOMIC_RELEASE);
	__atomic_store_n(&port->link_up, 1, __ATOMIC_RELEASE);
	XV_LOG(port, INFO, "%s: guest connected (vid %d, %u queue pairs, features 0x%" PRIx64 ")",
	       port->name, vid, nr_qp, features);
	pthread_mutex_unlock(&xv_port_lock);
	xv_port_notify();
	return 0;
}

static void
destroy_device(int vid)
{
	struct xv_port *port;

	pthread_mutex_lock(&xv_port_lock);
	port = port_of_vid(vid);
	if (port == NULL ||
	    __atomic_load_n(&port->vhost.vid, __ATOMIC_RELAXED) != vid) {
		pthread_mutex_unlock(&xv_port_lock);
		return;
	}
	__atomic_store_n(&port->link_up, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&port->vhost.vid, -1, __ATOMIC_RELEASE);
	XV_LOG(port, INFO, "%s: guest disconnected (vid %d)", port->name, vid);
	pthread_mutex_unlock(&xv_port_lock);
	/* The library frees the device when we return: wait until no worker
	 * can still be inside a burst call with this vid. */
	xv_worker_synchronize();
	xv_port_notify();
}

static int
vring_state_changed(int vid, uint16_t vring, int enable)
{
	struct xv_port *port;
	uint32_t *mask, bit;

	pthread_mutex_lock(&xv_port_lock);
	port = port_of_vid(vid);
	if (port != NULL && vring / 2 < 32) {
		mask = (vring & 1) ? &port->vhost.tx_enabled :
				     &port->vhost.rx_enabled;
		bit = 1u << (vring / 2);
		if (enable)
			__atomic_or_fetch(mask, bit, __ATOMIC_RELAXED);
		else
			__atomic_and_fetch(mask, ~bit, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&xv_port_lock);
	if (port != NULL)
		xv_port_notify();
	return 0;
}

static int
features_changed(int vid, uint64_t features)
{
	struct xv_port *port;

	pthread_mutex_lock(&xv_port_lock);
	port = port_of_vid(vid);
	if (port != NULL)
		__atomic_store_n(&port->vhost.features, features,
				 __ATOMIC_RELAXED);
	pthread_mutex_unlock(&xv_port_lock);
	return 0;
}

static const struct rte_vhost_device_ops device_ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
	.vring_state_changed = vring_state_changed,
	.features_changed = features_changed,
};

/*
 * A server socket path must be free. A socket file nobody listens on is
 * left over from a process that died: remove it. Anything else is an error.
 */
static int
check_server_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path '%s' is longer than %zu bytes",
			 path, sizeof(sun.sun_path) - 1);
		return -EINVAL;
	}
	if (lstat(path, &st) != 0) {
		char dir[PATH_MAX], *slash;

		/* Say why binding will fail, the library only logs it. */
		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (access(dir, W_OK) != 0) {
			snprintf(err, errlen, "cannot create socket '%s': directory '%s': %s",
				 path, dir, strerror(errno));
			return -EACCES;
		}
		return 0;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "'%s' exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (ret == 0) {
		snprintf(err, errlen, "socket '%s' is in use by another process",
			 path);
		return -EEXIST;
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen, "cannot remove stale socket '%s': %s",
			 path, strerror(errno));
		return -errno;
	}
	XV_LOG(port, INFO, "removed stale socket %s", path);
	return 0;
}

static int
vhost_open(struct xv_port *port, const struct xv_port_conf *conf, char *err,
	   size_t errlen)
{
	struct xv_port_vhost *vh = &port->vhost;
	uint64_t flags = 0;
	unsigned int i;
	int ret;

	if (conf->path[0] == '\0') {
		snprintf(err, errlen, "a vhost port needs a socket path");
		return -EINVAL;
	}
	if (conf->path[0] != '/') {
		snprintf(err, errlen, "socket path '%s' must be absolute",
			 conf->path);
		return -EINVAL;
	}
	for (i = 0; i < xv_n_ports; i++) {
		if (xv_ports[i]->type == XV_PORT_VHOST &&
		    strcmp(xv_ports[i]->vhost.path, conf->path) == 0) {
			snprintf(err, errlen, "socket '%s' is already used by port '%s'",
				 conf->path, xv_ports[i]->name);
			return -EEXIST;
		}
	}
	if (!conf->client) {
		ret = check_server_path(conf->path, err, errlen);
		if (ret < 0)
			return ret;
	}
	snprintf(vh->path, sizeof(vh->path), "%s", conf->path);
	vh->client = conf->client;
	vh->vid = -1;
	port->queues = conf->queues ? conf->queues : XV_VHOST_DEFAULT_QUEUES;

	if (conf->client)
		flags |= RTE_VHOST_USER_CLIENT; /* reconnects by default */
	if (rte_vhost_driver_register(vh->path, flags) != 0) {
		snprintf(err, errlen, "vhost library refused socket '%s'",
			 vh->path);
		return -EINVAL;
	}
	if (rte_vhost_driver_disable_features(vh->path,
					      XV_VHOST_DISABLED_FEATURES) != 0 ||
	    rte_vhost_driver_callback_register(vh->path, &device_ops) != 0) {
		snprintf(err, errlen, "cannot set up vhost socket '%s'",
			 vh->path);
		rte_vhost_driver_unregister(vh->path);
		return -EINVAL;
	}
	if (rte_vhost_driver_start(vh->path) != 0) {
		if (conf->client)
			snprintf(err, errlen, "cannot connect to '%s'", vh->path);
		else
			snprintf(err, errlen,
				 "cannot create socket '%s' (the vhost library serves about 1000 sockets at most)",
				 vh->path);
		rte_vhost_driver_unregister(vh->path);
		return -EACCES;
	}
	vh->registered = true;
	return 0;
}

static void
vhost_close(struct xv_port *port)
{
	int tries;

	if (!port->vhost.registered)
		return;
	/* Fails with EBUSY while the library's thread is inside one of this
	 * socket's handlers; that passes quickly. */
	for (tries = 0; tries < 1000; tries++) {
		if (rte_vhost_driver_unregister(port->vhost.path) == 0)
			break;
		usleep(1000);
	}
	if (tries == 1000)
		XV_LOG(port, ERR, "%s: cannot unregister %s", port->name,
		       port->vhost.path);
	port->vhost.registered = false;
	__atomic_store_n(&port->vhost.vid, -1, __ATOMIC_RELEASE);
	__atomic_store_n(&port->link_up, 0, __ATOMIC_RELEASE);
}

static unsigned int
vhost_active_queues(const struct xv_port *port)
{
	uint16_t nr;

	if (__atomic_load_n(&port->vhost.vid, __ATOMIC_ACQUIRE) < 0)
		return 0;
	nr = __atomic_load_n(&port->vhost.nr_qp, __ATOMIC_RELAXED);
	return RTE_MIN(nr, port->queues);
}

static unsigned int
vhost_mbuf_need(const struct xv_port *port, unsigned int n_active)
{
	/* Dequeued packets live only in the queue's hold buffer (enqueue
	 * copies), so that bounds what a queue can hold. */
	return n_active * XV_HOLD_MAX;
}

static void
vhost_describe(const struct xv_port *port, json_t *obj)
{
	const struct xv_port_vhost *vh = &port->vhost;
	int vid = __atomic_load_n(&vh->vid, __ATOMIC_ACQUIRE);
	uint64_t features = __atomic_load_n(&vh->features, __ATOMIC_RELAXED);
	json_t *feat, *names;
	char hex[32];

	json_object_set_new(obj, "path", json_string(vh->path));
	json_object_set_new(obj, "mode",
			    json_string(vh->client ? "client" : "server"));
	json_object_set_new(obj, "state",
			    json_string(vid >= 0    ? "connected" :
					vh->client ? "connecting" :
						     "waiting"));
	json_object_set_new(obj, "guest_queues",
			    json_integer(vid >= 0 ? __atomic_load_n(&vh->nr_qp,
								   __ATOMIC_RELAXED) :
						    0));
	json_object_set_new(obj, "connects",
			    json_integer(__atomic_load_n(&vh->n_connects,
							 __ATOMIC_RELAXED)));
	if (vid >= 0) {
		feat = json_object();
		names = json_array();
		snprintf(hex, sizeof(hex), "0x%" PRIx64, features);
		json_object_set_new(feat, "negotiated", json_string(hex));
		xv_virtio_features_json(features, names);
		json_object_set_new(feat, "names", names);
		json_object_set_new(obj, "features", feat);
		if (vh->mtu != 0)
			json_object_set_new(obj, "mtu", json_integer(vh->mtu));
	} else {
		json_object_set_new(obj, "features", json_null());
	}
}

const struct xv_port_ops xv_port_vhost_ops = {
	.open = vhost_open,
	.close = vhost_close,
	.describe = vhost_describe,
	.active_queues = vhost_active_queues,
	.mbuf_need = vhost_mbuf_need,
	.dev_stats = NULL,
};

void
xv_virtio_features_json(uint64_t features, json_t *arr)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} bits[] = {
		{ VIRTIO_NET_F_CSUM, "CSUM" },
		{ VIRTIO_NET_F_GUEST_CSUM, "GUEST_CSUM" },
		{ VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, "CTRL_GUEST_OFFLOADS" },
		{ VIRTIO_NET_F_MTU, "MTU" },
		{ VIRTIO_NET_F_MAC, "MAC" },
		{ VIRTIO_NET_F_GUEST_TSO4, "GUEST_TSO4" },
		{ VIRTIO_NET_F_GUEST_TSO6, "GUEST_TSO6" },
		{ VIRTIO_NET_F_GUEST_ECN, "GUEST_ECN" },
		{ VIRTIO_NET_F_GUEST_UFO, "GUEST_UFO" },
		{ VIRTIO_NET_F_HOST_TSO4, "HOST_TSO4" },
		{ VIRTIO_NET_F_HOST_TSO6, "HOST_TSO6" },
		{ VIRTIO_NET_F_HOST_ECN, "HOST_ECN" },
		{ VIRTIO_NET_F_HOST_UFO, "HOST_UFO" },
		{ VIRTIO_NET_F_MRG_RXBUF, "MRG_RXBUF" },
		{ VIRTIO_NET_F_STATUS, "STATUS" },
		{ VIRTIO_NET_F_CTRL_VQ, "CTRL_VQ" },
		{ VIRTIO_NET_F_CTRL_RX, "CTRL_RX" },
		{ VIRTIO_NET_F_CTRL_VLAN, "CTRL_VLAN" },
		{ VIRTIO_NET_F_GUEST_ANNOUNCE, "GUEST_ANNOUNCE" },
		{ VIRTIO_NET_F_MQ, "MQ" },
		{ VIRTIO_NET_F_CTRL_MAC_ADDR, "CTRL_MAC_ADDR" },
		{ VIRTIO_F_NOTIFY_ON_EMPTY, "NOTIFY_ON_EMPTY" },
		{ VIRTIO_F_ANY_LAYOUT, "ANY_LAYOUT" },
		{ VIRTIO_RING_F_INDIRECT_DESC, "RING_INDIRECT_DESC" },
		{ VIRTIO_RING_F_EVENT_IDX, "RING_EVENT_IDX" },
		{ 30, "PROTOCOL_FEATURES" },
		{ 26, "LOG_ALL" },
		{ VIRTIO_F_VERSION_1, "VERSION_1" },
		{ VIRTIO_F_ACCESS_PLATFORM, "ACCESS_PLATFORM" },
		{ VIRTIO_F_RING_PACKED, "RING_PACKED" },
		{ VIRTIO_F_IN_ORDER, "IN_ORDER" },
		{ VIRTIO_F_ORDER_PLATFORM, "ORDER_PLATFORM" },
		{ VIRTIO_F_SR_IOV, "SR_IOV" },
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(bits); i++)
		if (features & (1ULL << bits[i].bit))
			json_array_append_new(arr, json_string(bits[i].name));
}
