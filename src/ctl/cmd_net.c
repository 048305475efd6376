/* SPDX-License-Identifier: BSD-3-Clause */
/* network.*, sg.*, ct.* and port.set commands (doc/network.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "cmd.h"
#include "ct.h"
#include "net.h"
#include "plan.h"
#include "port.h"

/* Publish the model; on failure the caller undoes its change. */
static int
apply(struct xv_reply *reply, double *ms)
{
	char err[512];
	int ret = xv_net_apply(err, sizeof(err), ms);

	if (ret < 0)
		return xv_reply_error(reply, xv_errno_code(ret), "%s", err);
	return 0;
}

int
xv_cmd_network_add(json_t *args, struct xv_reply *reply)
{
	struct xv_network *net;
	char err[512];
	int ret;

	ret = xv_net_ct_ensure(err, sizeof(err));
	if (ret == 0)
		ret = xv_network_add(xv_arg_str(args, "name", ""), &net, err,
				     sizeof(err));
	if (ret < 0)
		return xv_reply_error(reply, xv_errno_code(ret), "%s", err);
	reply->result = json_pack("{s:s, s:i}", "name", net->name, "zone",
				  net->zone);
	return 0;
}

static struct xv_network *
network_or_error(const char *name, struct xv_reply *reply)
{
	struct xv_network *net = xv_network_find(name);

	if (net == NULL)
		xv_reply_error(reply, XV_ERR_NOT_FOUND, "no network '%s'", name);
	return net;
}

int
xv_cmd_network_del(json_t *args, struct xv_reply *reply)
{
	struct xv_network *net = network_or_error(xv_arg_str(args, "name", ""), reply);
	char err[512];
	uint16_t zone;
	int ret;

	if (net == NULL)
		return -1;
	zone = net->zone;
	ret = xv_network_del(net, err, sizeof(err));
	if (ret < 0)
		return xv_reply_error(reply, xv_errno_code(ret), "%s", err);
	/* Its connections go with it: a later network may get the zone. */
	if (xv_net_ct() != NULL)
		xv_ct_flush(xv_net_ct(), zone, rte_rdtsc());
	xv_plan_rebuild();
	reply->result = json_object();
	return 0;
}

int
xv_cmd_network_list(json_t *args, struct xv_reply *reply)
{
	json_t *list = json_array();
	unsigned int i, j;

	for (i = 0; i < xv_n_networks; i++) {
		json_t *ports = json_array();

		for (j = 0; j < xv_n_ports; j++)
			if (xv_ports[j]->net.network == xv_networks[i])
				json_array_append_new(ports, json_string(xv_ports[j]->name));
		json_array_append_new(list, json_pack("{s:s, s:i, s:o}", "name",
						      xv_networks[i]->name, "zone",
						      xv_networks[i]->zone, "ports", ports));
	}
	reply->result = json_pack("{s:o}", "networks", list);
	return 0;
}

int
xv_cmd_port_net_parse(json_t *args, struct xv_port_net *net,
		      struct xv_reply *reply)
{
	struct xv_port_net_req req;
	char err[512];
	int ret;

	ret = xv_port_net_parse(args, NULL, &req, err, sizeof(err));
	if (ret == 0)
		ret = xv_port_net_merge(NULL, &req, net, err, sizeof(err));
	if (ret < 0)
		return xv_reply_error(reply, xv_errno_code(ret), "%s", err);
	if (net->network == NULL && (req.set_mac || req.set_ip || req.set_uplink ||
				     req.set_psec || req.set_sg))
		return xv_reply_error(reply, XV_ERR_INVALID,
				      "mac, ip, uplink, port_security and sg need a network");
	if (net->network == NULL)
		memset(net, 0, sizeof(*net));
	return 0;
}

int
xv_cmd_port_set(json_t *args, struct xv_reply *reply)
{
	const char *name = xv_arg_str(args, "name", "");
	struct xv_port *port = xv_port_find(name);
	struct xv_port_net_req req;
	struct xv_port_net net, old;
	char err[512];
	int ret;

	if (port == NULL)
		return xv_reply_error(reply, XV_ERR_NOT_FOUND, "no port '%s'", name);
	ret = xv_port_net_parse(args, &port->net, &req, err, sizeof(err));
	if (ret == 0)
		ret = xv_port_net_merge(port, &req, &net, err, sizeof(err));
	if (ret < 0)
		return xv_reply_error(reply, xv_errno_code(ret), "%s", err);
	old = port->net;
	xv_port_net_set(port, &net);
	if (apply(reply, NULL) != 0) {
		xv_port_net_set(port, &old);
		return -1;
	}
	reply->result = xv_port_describe(port);
	return 0;
}

static struct xv_sg *
sg_or_error(const char *name, struct xv_reply *reply)
{
	struct xv_sg *sg = xv_sg_find(name);

	if (sg == NULL)
		xv_reply_error(reply, XV_ERR_NOT_FOUND, "no security group '%s'", name);
	return sg;
}

int
xv_cmd_sg_add(json_t *args, struct xv_reply *reply)
{
	struct xv_sg *sg;
	char err[512];
	int ret = xv_sg_add(xv_arg_str(args, "name", ""), &sg, err, sizeof(err));

	if (ret < 0)
		return xv_reply_error(reply, xv_errno_code(ret), "%s", err);
	/* Not used by any port yet: nothing to apply. */
	reply->result = xv_sg_describe(sg, true);
	return 0;
}

int
xv_cmd_sg_del(json_t *args, struct xv_reply *reply)
{
	struct xv_sg *sg = sg_or_error(xv_arg_str(args, "name", ""), reply);
	char err[512];
	int ret;

	if (sg == NULL)
		return -1;
	ret = xv_sg_del(sg, err, sizeof(err));
	if (ret < 0)
		return xv_reply_error(reply, xv_errno_code(ret), "%s", err);
	reply->result = json_object();
	return 0;
}

int
xv_cmd_sg_list(json_t *args, struct xv_reply *reply)
{
	json_t *list = json_array();
	unsigned int i;

	for (i = 0; i < xv_n_sgs; i++)
		json_array_append_new(list, xv_sg_describe(xv_sgs[i], false));
	reply->result = json_pack("{s:o}", "groups", list);
	return 0;
}

int
xv_cmd_sg_show(json_t *args, struct xv_reply *reply)
{
	struct xv_sg *sg = sg_or_error(xv_arg_str(args, "name", ""), reply);

	if (sg == NULL)
		return -1;
	reply->result = xv_sg_describe(sg, true);
	return 0;
}

/* Is 'sg' used by a port, so that its rules are in the classifier? */
static bool
sg_in_use(const struct xv_sg *sg)
{
	return sg->n_ports != 0;
}

int
xv_cmd_sg_rule_add(json_t *args, struct xv_reply *reply)
{
	struct xv_sg *sg = sg_or_error(xv_arg_str(args, "sg", ""), reply);
	json_t *list = json_object_get(args, "rules");
	struct xv_sg_rule *rules;
	unsigned int n, i;
	char err[512];
	double ms = 0;
	json_t *ids;
	int ret = 0;

	if (sg == NULL)
		return -1;
	if (list != NULL) {
		const char *key;
		json_t *v;

		json_object_foreach(args, key, v)
			if (strcmp(key, "sg") != 0 && strcmp(key, "rules") != 0)
				return xv_reply_error(reply, XV_ERR_INVALID,
						      "give 'rules' or the fields of one rule, not both ('%s')",
						      key);
		n = json_array_size(list);
		if (n == 0)
			return xv_reply_error(reply, XV_ERR_INVALID, "'rules' is empty");
		if (n > XV_NET_SG_RULES)
			return xv_reply_error(reply, XV_ERR_LIMIT,
					      "at most %d rules per group", XV_NET_SG_RULES);
	} else {
		n = 1;
	}
	rules = calloc(n, sizeof(*rules));
	if (rules == NULL)
		return xv_reply_error(reply, XV_ERR_LIMIT, "out of memory");
	for (i = 0; i < n && ret == 0; i++) {
		ret = xv_sg_rule_parse(list ? json_array_get(list, i) : args,
				       &rules[i], err, sizeof(err));
		if (ret < 0 && list != NULL) {
			char e2[sizeof(err)];

			memcpy(e2, err, sizeof(e2));
			snprintf(err, sizeof(err), "rule %u: %.480s", i, e2);
		}
	}
	if (ret == 0)
		ret = xv_sg_rules_add(sg, rules, n, err, sizeof(err));
	if (ret < 0) {
		free(rules);
		return xv_reply_error(reply, xv_errno_code(ret), "%s", err);
	}
	ids = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(ids, json_integer(rules[i].id));
	if (sg_in_use(sg) && apply(reply, &ms) != 0) {
		/* Not in force: take them back out (they are the last n). */
		xv_sg_rules_replace(sg, sg->rules, sg->n_rules - n);
		free(rules);
		json_decref(ids);
		return -1;
	}
	free(rules);
	reply->result = json_pack("{s:o, s:f}", "ids", ids, "apply_ms", ms);
	return 0;
}

int
xv_cmd_sg_rule_del(json_t *args, struct xv_reply *reply)
{
	struct xv_sg *sg = sg_or_error(xv_arg_str(args, "sg", ""), reply);
	json_t *list = json_object_get(args, "ids"), *v;
	struct xv_sg_rule *saved;
	uint32_t *ids;
	unsigned int n, n_saved;
	char err[512];
	double ms = 0;
	size_t k;
	int ret;

	if (sg == NULL)
		return -1;
	if ((list == NULL) == (json_object_get(args, "id") == NULL))
		return xv_reply_error(reply, XV_ERR_INVALID, "give 'id' or 'ids'");
	n = list ? json_array_size(list) : 1;
	if (n == 0)
		return xv_reply_error(reply, XV_ERR_INVALID, "'ids' is empty");
	ids = calloc(n, sizeof(*ids));
	saved = malloc(sg->n_rules * sizeof(*saved) + 1);
	if (ids == NULL || saved == NULL) {
		free(ids);
		free(saved);
		return xv_reply_error(reply, XV_ERR_LIMIT, "out of memory");
	}
	if (list == NULL) {
		ids[0] = xv_arg_int(args, "id", 0);
	} else {
		json_array_foreach(list, k, v) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > UINT32_MAX) {
				free(ids);
				free(saved);
				return xv_reply_error(reply, XV_ERR_INVALID,
						      "'ids' must hold rule ids (integers >= 1)");
			}
			ids[k] = json_integer_value(v);
		}
	}
	/* Kept to restore the group if the new rules cannot be applied. */
	n_saved = sg->n_rules;
	memcpy(saved, sg->rules, n_saved * sizeof(*saved));
	ret = xv_sg_rules_del(sg, ids, n, err, sizeof(err));
	free(ids);
	if (ret < 0) {
		free(saved);
		return xv_reply_error(reply, xv_errno_code(ret), "%s", err);
	}
	if (sg_in_use(sg) && apply(reply, &ms) != 0) {
		/* Not in force: the group as it was (fits: it only shrank). */
		xv_sg_rules_replace(sg, saved, n_saved);
		free(saved);
		return -1;
	}
	free(saved);
	reply->result = json_pack("{s:f}", "apply_ms", ms);
	return 0;
}

/* ---- conntrack ---- */

/* The zone of the 'network' argument: -1 for all, or -2 (error set). */
static int
zone_arg(json_t *args, struct xv_reply *reply)
{
	const char *name = xv_arg_str(args, "network", NULL);
	struct xv_network *net;

	if (name == NULL)
		return -1;
	net = network_or_error(name, reply);
	return net ? net->zone : -2;
}

static const char *
zone_name(uint16_t zone)
{
	unsigned int i;

	for (i = 0; i < xv_n_networks; i++)
		if (xv_networks[i]->zone == zone)
			return xv_networks[i]->name;
	return "?";
}

struct list_ctx {
	json_t *list;
	unsigned int limit;
	bool truncated;
};

static int
list_one(const struct xv_ct_entry *e, void *arg)
{
	struct list_ctx *c = arg;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pbuf[8];
	const char *proto;

	if (json_array_size(c->list) >= c->limit) {
		c->truncated = true;
		return 1;
	}
	inet_ntop(e->ipv6 ? AF_INET6 : AF_INET, e->src, src, sizeof(src));
	inet_ntop(e->ipv6 ? AF_INET6 : AF_INET, e->dst, dst, sizeof(dst));
	switch (e->proto) {
	case IPPROTO_TCP: proto = "tcp"; break;
	case IPPROTO_UDP: proto = "udp"; break;
	case IPPROTO_ICMP: proto = "icmp"; break;
	case IPPROTO_ICMPV6: proto = "icmpv6"; break;
	default:
		snprintf(pbuf, sizeof(pbuf), "%u", e->proto);
		proto = pbuf;
	}
	json_array_append_new(c->list,
			      json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:i}",
					"network", zone_name(e->zone), "proto", proto,
					"src", src, "sport", e->sport, "dst", dst,
					"dport", e->dport, "state",
					xv_ct_state_name(e->state), "expires_ms",
					e->expires_ms));
	return 0;
}

int
xv_cmd_ct_list(json_t *args, struct xv_reply *reply)
{
	struct list_ctx c = { json_array(), xv_arg_int(args, "limit", 1000), false };
	int zone = zone_arg(args, reply);

	if (zone == -2) {
		json_decref(c.list);
		return -1;
	}
	if (xv_net_ct() != NULL)
		xv_ct_walk(xv_net_ct(), zone, rte_rdtsc(), list_one, &c);
	reply->result = json_pack("{s:o, s:b}", "connections", c.list,
				  "truncated", c.truncated);
	return 0;
}

int
xv_cmd_ct_count(json_t *args, struct xv_reply *reply)
{
	int zone = zone_arg(args, reply);
	unsigned int n = 0;

	if (zone == -2)
		return -1;
	if (xv_net_ct() != NULL)
		n = xv_ct_count(xv_net_ct(), zone, rte_rdtsc());
	reply->result = json_pack("{s:i, s:i}", "count", n, "capacity",
				  (json_int_t)xv_net_ct_capacity);
	return 0;
}

int
xv_cmd_ct_flush(json_t *args, struct xv_reply *reply)
{
	int zone = zone_arg(args, reply);
	unsigned int n = 0;

	if (zone == -2)
		return -1;
	if (xv_net_ct() != NULL)
		n = xv_ct_flush(xv_net_ct(), zone, rte_rdtsc());
	reply->result = json_pack("{s:i}", "flushed", n);
	return 0;
}
