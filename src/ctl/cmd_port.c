/* SPDX-License-Identifier: BSD-3-Clause */
/* port.* commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "net.h"
#include "plan.h"
#include "port.h"
#include "worker.h"
#include "xv_sched.h"

int
xv_cmd_port_add(json_t *args, struct xv_reply *reply)
{
	struct xv_port_conf conf;
	struct xv_port *port;
	const char *path = xv_arg_str(args, "path", NULL);
	const char *devargs = xv_arg_str(args, "devargs", NULL);
	const char *name = xv_arg_str(args, "name", "");
	char err[512];
	int ret;

	memset(&conf, 0, sizeof(conf));
	if (xv_port_name_check(name, err, sizeof(err)) != 0)
		return xv_reply_error(reply, XV_ERR_INVALID, "%s", err);
	snprintf(conf.name, sizeof(conf.name), "%s", name);
	if (xv_port_type_parse(xv_arg_str(args, "type", ""), &conf.type) != 0)
		return xv_reply_error(reply, XV_ERR_INVALID,
				      "port type must be 'vhost' or 'eth', not '%s'",
				      xv_arg_str(args, "type", ""));
	conf.queues = xv_arg_int(args, "queues", 0);
	conf.client = xv_arg_bool(args, "client", false);

	if (conf.type == XV_PORT_VHOST) {
		if (path == NULL)
			return xv_reply_error(reply, XV_ERR_INVALID,
					      "a vhost port needs 'path'");
		if (devargs != NULL)
			return xv_reply_error(reply, XV_ERR_INVALID,
					      "'devargs' is for eth ports");
		if (strlen(path) >= sizeof(conf.path))
			return xv_reply_error(reply, XV_ERR_INVALID,
					      "'path' is too long");
		snprintf(conf.path, sizeof(conf.path), "%s", path);
	} else {
		if (devargs == NULL)
			return xv_reply_error(reply, XV_ERR_INVALID,
					      "an eth port needs 'devargs'");
		if (path != NULL || json_object_get(args, "client") != NULL)
			return xv_reply_error(reply, XV_ERR_INVALID,
					      "'path' and 'client' are for vhost ports");
		if (strlen(devargs) >= sizeof(conf.devargs))
			return xv_reply_error(reply, XV_ERR_INVALID,
					      "'devargs' is too long");
		snprintf(conf.devargs, sizeof(conf.devargs), "%s", devargs);
	}

	if (xv_cmd_port_net_parse(args, &conf.net, reply) != 0)
		return -1;
	ret = xv_port_create(&conf, &port, err, sizeof(err));
	if (ret < 0)
		return xv_reply_error(reply, xv_errno_code(ret), "%s", err);
	reply->result = xv_port_describe(port);
	return 0;
}

static struct xv_port *
find_or_error(json_t *args, const char *arg, struct xv_reply *reply)
{
	const char *name = xv_arg_str(args, arg, "");
	struct xv_port *port = xv_port_find(name);

	if (port == NULL)
		xv_reply_error(reply, XV_ERR_NOT_FOUND, "no port '%s'", name);
	return port;
}

int
xv_cmd_port_del(json_t *args, struct xv_reply *reply)
{
	struct xv_port *port = find_or_error(args, "name", reply);

	if (port == NULL)
		return -1;
	xv_port_destroy(port);
	reply->result = json_object();
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	const struct xv_port *pa = *(struct xv_port *const *)a;
	const struct xv_port *pb = *(struct xv_port *const *)b;

	return strcmp(pa->name, pb->name);
}

/* The registry sorted by name, for stable listings. */
static unsigned int
sorted_ports(struct xv_port **out)
{
	memcpy(out, xv_ports, xv_n_ports * sizeof(out[0]));
	qsort(out, xv_n_ports, sizeof(out[0]), by_name);
	return xv_n_ports;
}

int
xv_cmd_port_list(json_t *args, struct xv_reply *reply)
{
	static struct xv_port *ports[XV_MAX_PORTS];
	unsigned int i, n = sorted_ports(ports);
	json_t *list = json_array();

	for (i = 0; i < n; i++)
		json_array_append_new(list, xv_port_describe(ports[i]));
	reply->result = json_pack("{s:o}", "ports", list);
	return 0;
}

int
xv_cmd_port_show(json_t *args, struct xv_reply *reply)
{
	struct xv_port *port = find_or_error(args, "name", reply);

	if (port == NULL)
		return -1;
	reply->result = xv_port_describe(port);
	return 0;
}

int
xv_cmd_port_pin(json_t *args, struct xv_reply *reply)
{
	struct xv_port *port = find_or_error(args, "name", reply);
	int64_t q = xv_arg_int(args, "queue", 0);
	int64_t w = xv_arg_int(args, "worker", -1);

	if (port == NULL)
		return -1;
	if (q >= port->queues)
		return xv_reply_error(reply, XV_ERR_INVALID,
				      "port '%s' has queues 0-%u", port->name,
				      port->queues - 1);
	if (w >= (int64_t)xv_n_workers)
		return xv_reply_error(reply, XV_ERR_INVALID,
				      "there are workers 0-%u", xv_n_workers - 1);
	xv_sched_pin(port, q, w);
	reply->result = json_pack("{s:s, s:I, s:I}", "name", port->name,
				  "queue", (json_int_t)q, "worker", (json_int_t)w);
	return 0;
}

/* The ports named by a relay command's 'a' and 'b'. */
static int
find_relay_ports(json_t *args, struct xv_reply *reply, struct xv_port **a,
		 struct xv_port **b)
{
	*a = find_or_error(args, "a", reply);
	if (*a == NULL)
		return -1;
	*b = find_or_error(args, "b", reply);
	return *b == NULL ? -1 : 0;
}

int
xv_cmd_relay_add(json_t *args, struct xv_reply *reply)
{
	struct xv_port *a, *b;

	if (find_relay_ports(args, reply, &a, &b) != 0)
		return -1;
	if (a == b)
		return xv_reply_error(reply, XV_ERR_INVALID,
				      "cannot relay port '%s' to itself",
				      a->name);
	if (a->peer == b)
		return xv_reply_error(reply, XV_ERR_EXISTS,
				      "relay %s <-> %s already exists",
				      a->name, b->name);
	if (a->peer != NULL || b->peer != NULL) {
		struct xv_port *p = a->peer ? a : b;

		return xv_reply_error(reply, XV_ERR_BUSY,
				      "port '%s' is already relayed to '%s'",
				      p->name, p->peer->name);
	}
	if (a->net.network != NULL || b->net.network != NULL) {
		struct xv_port *p = a->net.network ? a : b;

		return xv_reply_error(reply, XV_ERR_BUSY,
				      "port '%s' is in network '%s'", p->name,
				      p->net.network->name);
	}
	a->peer = b;
	b->peer = a;
	xv_plan_rebuild();
	reply->result = json_pack("{s:s, s:s}", "a", a->name, "b", b->name);
	return 0;
}

int
xv_cmd_relay_del(json_t *args, struct xv_reply *reply)
{
	struct xv_port *a, *b;

	if (find_relay_ports(args, reply, &a, &b) != 0)
		return -1;
	if (a->peer != b)
		return xv_reply_error(reply, XV_ERR_NOT_FOUND,
				      "no relay %s <-> %s", a->name, b->name);
	a->peer = NULL;
	b->peer = NULL;
	xv_plan_rebuild();
	return 0;
}

int
xv_cmd_relay_list(json_t *args, struct xv_reply *reply)
{
	static struct xv_port *ports[XV_MAX_PORTS];
	unsigned int i, n = sorted_ports(ports);
	json_t *list = json_array();

	/* Each relay once, named from its first port by name. */
	for (i = 0; i < n; i++) {
		struct xv_port *p = ports[i];

		if (p->peer != NULL && strcmp(p->name, p->peer->name) < 0)
			json_array_append_new(list,
					      json_pack("{s:s, s:s}", "a",
							p->name, "b",
							p->peer->name));
	}
	reply->result = json_pack("{s:o}", "relays", list);
	return 0;
}
