/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Request parsing, the command table and central argument checks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_version.h>

#include "cmd.h"
#include "xv_log.h"

struct xv_daemon_info xv_daemon;

/* The change being executed: changes run one at a time (the server parks
 * the others), reads may run inside one (xv_aside.h). */
static const char *change_cmd;
static double change_since;

static int cmd_help(json_t *args, struct xv_reply *reply);
static int cmd_version(json_t *args, struct xv_reply *reply);

static const struct xv_arg_spec no_args[] = { { NULL } };

static const struct xv_arg_spec port_add_args[] = {
	{ "name", XV_ARG_STRING, true, 0, 0, "port name, [A-Za-z0-9_.-]{1,32}" },
	{ "type", XV_ARG_STRING, true, 0, 0, "vhost or eth" },
	{ "path", XV_ARG_STRING, false, 0, 0, "vhost: socket path" },
	{ "client", XV_ARG_BOOL, false, 0, 0, "vhost: connect to QEMU's server socket" },
	{ "devargs", XV_ARG_STRING, false, 0, 0, "eth: DPDK device arguments" },
	{ "queues", XV_ARG_INT, false, 1, 16, "queue pairs" },
	{ "network", XV_ARG_STRING, false, 0, 0, "join this network" },
	{ "mac", XV_ARG_STRING, false, 0, 0, "the VM's MAC (network mode)" },
	{ "ip", XV_ARG_STRING, false, 0, 0, "the VM's addresses or prefixes, ADDR[/PLEN],..." },
	{ "uplink", XV_ARG_BOOL, false, 0, 0, "carries the network's non-local traffic" },
	{ "port_security", XV_ARG_BOOL, false, 0, 0, "anti-spoofing and security groups (default: on with a MAC)" },
	{ "sg", XV_ARG_STRING, false, 0, 0, "security groups, SG,SG..." },
	{ NULL },
};

static const struct xv_arg_spec port_set_args[] = {
	{ "name", XV_ARG_STRING, true, 0, 0, "port name" },
	{ "network", XV_ARG_STRING, false, 0, 0, "join this network (\"\": leave)" },
	{ "mac", XV_ARG_STRING, false, 0, 0, "the VM's MAC (\"\": none)" },
	{ "ip", XV_ARG_STRING, false, 0, 0, "the VM's addresses or prefixes, ADDR[/PLEN],..." },
	{ "uplink", XV_ARG_BOOL, false, 0, 0, "carries the network's non-local traffic" },
	{ "port_security", XV_ARG_BOOL, false, 0, 0, "anti-spoofing and security groups" },
	{ "sg", XV_ARG_STRING, false, 0, 0, "security groups, SG,SG... (\"\": none)" },
	{ NULL },
};

static const struct xv_arg_spec net_name_arg[] = {
	{ "name", XV_ARG_STRING, true, 0, 0, "network or group name" },
	{ NULL },
};

static const struct xv_arg_spec rule_add_args[] = {
	{ "sg", XV_ARG_STRING, true, 0, 0, "security group" },
	{ "direction", XV_ARG_STRING, false, 0, 0, "ingress or egress" },
	{ "proto", XV_ARG_STRING, false, 0, 0, "any, tcp, udp, icmp, icmpv6, sctp or 0-255" },
	{ "ports", XV_ARG_STRING, false, 0, 0, "LO or LO-HI (icmp: types)" },
	{ "remote", XV_ARG_STRING, false, 0, 0, "remote prefix" },
	{ "remote_group", XV_ARG_STRING, false, 0, 0, "remote security group" },
	{ "ipv6", XV_ARG_BOOL, false, 0, 0, "IPv6 rule (default IPv4)" },
	{ "rules", XV_ARG_ARRAY, false, 0, 0, "several rules: objects with the fields above" },
	{ NULL },
};

static const struct xv_arg_spec rule_del_args[] = {
	{ "sg", XV_ARG_STRING, true, 0, 0, "security group" },
	{ "id", XV_ARG_INT, false, 1, UINT32_MAX, "rule id" },
	{ "ids", XV_ARG_ARRAY, false, 0, 0, "several rule ids" },
	{ NULL },
};

static const struct xv_arg_spec ct_args[] = {
	{ "network", XV_ARG_STRING, false, 0, 0, "only this network" },
	{ "limit", XV_ARG_INT, false, 1, 1000000, "list at most this many (default 1000)" },
	{ NULL },
};

static const struct xv_arg_spec ct_net_arg[] = {
	{ "network", XV_ARG_STRING, false, 0, 0, "only this network" },
	{ NULL },
};

static const struct xv_arg_spec name_arg[] = {
	{ "name", XV_ARG_STRING, true, 0, 0, "port name" },
	{ NULL },
};

static const struct xv_arg_spec pin_args[] = {
	{ "name", XV_ARG_STRING, true, 0, 0, "port name" },
	{ "queue", XV_ARG_INT, true, 0, 15, "rx queue" },
	{ "worker", XV_ARG_INT, true, -1, 63, "worker id, or -1 to let xvio choose" },
	{ NULL },
};

static const struct xv_arg_spec relay_args[] = {
	{ "a", XV_ARG_STRING, true, 0, 0, "a port" },
	{ "b", XV_ARG_STRING, true, 0, 0, "another port" },
	{ NULL },
};

static const struct xv_arg_spec stats_args[] = {
	{ "port", XV_ARG_STRING, false, 0, 0, "only this port" },
	{ NULL },
};

static const struct xv_cmd commands[] = {
	{ "help", cmd_help, no_args, "list the commands and their arguments", true },
	{ "version", cmd_version, no_args, "xvio and DPDK versions", true },
	{ "status", xv_cmd_status, no_args, "daemon state, workers and memory", true },
	{ "config", xv_cmd_config, no_args, "current ports and relays, in --config format", true },
	{ "port.add", xv_cmd_port_add, port_add_args, "add a vhost or eth port" },
	{ "port.del", xv_cmd_port_del, name_arg, "remove a port (and its relay)" },
	{ "port.list", xv_cmd_port_list, no_args, "list ports", true },
	{ "port.show", xv_cmd_port_show, name_arg, "describe a port", true },
	{ "port.pin", xv_cmd_port_pin, pin_args, "poll a port's rx queue on a given worker" },
	{ "port.set", xv_cmd_port_set, port_set_args, "change a port's network, addresses, groups, port security" },
	{ "network.add", xv_cmd_network_add, net_name_arg, "add a network" },
	{ "network.del", xv_cmd_network_del, net_name_arg, "remove a network without ports" },
	{ "network.list", xv_cmd_network_list, no_args, "list networks and their ports", true },
	{ "sg.add", xv_cmd_sg_add, net_name_arg, "add a security group (allows all egress)" },
	{ "sg.del", xv_cmd_sg_del, net_name_arg, "remove an unused security group" },
	{ "sg.list", xv_cmd_sg_list, no_args, "list security groups", true },
	{ "sg.show", xv_cmd_sg_show, net_name_arg, "a security group's rules and ports", true },
	{ "sg.rule.add", xv_cmd_sg_rule_add, rule_add_args, "add rules to a security group (in force on reply)" },
	{ "sg.rule.del", xv_cmd_sg_rule_del, rule_del_args, "remove rules from a security group" },
	{ "ct.list", xv_cmd_ct_list, ct_args, "list tracked connections", true },
	{ "ct.count", xv_cmd_ct_count, ct_net_arg, "count tracked connections", true },
	{ "ct.flush", xv_cmd_ct_flush, ct_net_arg, "remove tracked connections" },
	{ "relay.add", xv_cmd_relay_add, relay_args, "relay two ports both ways" },
	{ "relay.del", xv_cmd_relay_del, relay_args, "remove a relay" },
	{ "relay.list", xv_cmd_relay_list, no_args, "list relays", true },
	{ "stats", xv_cmd_stats, stats_args, "counters per port, queue, drop reason and worker", true },
	{ "stats.clear", xv_cmd_stats_clear, stats_args, "zero the counters" },
};

int
xv_reply_error(struct xv_reply *reply, const char *code, const char *fmt, ...)
{
	va_list ap;

	reply->code = code;
	va_start(ap, fmt);
	vsnprintf(reply->message, sizeof(reply->message), fmt, ap);
	va_end(ap);
	return -1;
}

const char *
xv_errno_code(int err)
{
	switch (-err) {
	case EINVAL:
		return XV_ERR_INVALID;
	case EEXIST:
		return XV_ERR_EXISTS;
	case ENOENT:
		return XV_ERR_NOT_FOUND;
	case EBUSY:
		return XV_ERR_BUSY;
	case ENOSPC:
	case ENOMEM:
		return XV_ERR_LIMIT;
	default:
		return XV_ERR_FAILED;
	}
}

static const char *
type_name(enum xv_arg_type t)
{
	return t == XV_ARG_STRING ? "string" : t == XV_ARG_BOOL ? "bool" :
	       t == XV_ARG_INT ? "int" : "array";
}

static int
cmd_help(json_t *args, struct xv_reply *reply)
{
	json_t *list = json_array();
	unsigned int i;

	for (i = 0; i < RTE_DIM(commands); i++) {
		const struct xv_arg_spec *a;
		json_t *c = json_object(), *al = json_array();

		for (a = commands[i].args; a->name != NULL; a++) {
			json_t *o = json_pack("{s:s, s:s, s:b, s:s}", "name",
					      a->name, "type", type_name(a->type),
					      "required", a->required, "help",
					      a->help);

			if (a->type == XV_ARG_INT) {
				json_object_set_new(o, "min", json_integer(a->min));
				json_object_set_new(o, "max", json_integer(a->max));
			}
			json_array_append_new(al, o);
		}
		json_object_set_new(c, "cmd", json_string(commands[i].name));
		json_object_set_new(c, "args", al);
		json_object_set_new(c, "help", json_string(commands[i].help));
		json_object_set_new(c, "reads_only", json_boolean(commands[i].reads_only));
		json_array_append_new(list, c);
	}
	reply->result = json_pack("{s:o}", "commands", list);
	return 0;
}

static int
cmd_version(json_t *args, struct xv_reply *reply)
{
	reply->result = json_pack("{s:s, s:s, s:i}", "version", XV_VERSION,
				  "dpdk", rte_version(), "api", 1);
	return 0;
}

/* Check 'args' against 'spec': every required one present, no unknown
 * names, every value of the declared type and range. */
static int
check_args(const struct xv_cmd *cmd, json_t *args, struct xv_reply *reply)
{
	const struct xv_arg_spec *a;
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v) {
		for (a = cmd->args; a->name != NULL; a++)
			if (strcmp(a->name, key) == 0)
				break;
		if (a->name == NULL)
			return xv_reply_error(reply, XV_ERR_INVALID,
					      "%s: unknown argument '%s'",
					      cmd->name, key);
		switch (a->type) {
		case XV_ARG_STRING:
			if (!json_is_string(v))
				goto bad_type;
			break;
		case XV_ARG_BOOL:
			if (!json_is_boolean(v))
				goto bad_type;
			break;
		case XV_ARG_INT:
			if (!json_is_integer(v))
				goto bad_type;
			if (json_integer_value(v) < a->min ||
			    json_integer_value(v) > a->max)
				return xv_reply_error(reply, XV_ERR_INVALID,
						      "%s: '%s' must be %" PRId64 "-%" PRId64,
						      cmd->name, key, a->min, a->max);
			break;
		case XV_ARG_ARRAY:
			if (!json_is_array(v))
				goto bad_type;
			break;
		}
		continue;
bad_type:
		return xv_reply_error(reply, XV_ERR_INVALID,
				      "%s: '%s' must be a %s", cmd->name, key,
				      type_name(a->type));
	}
	for (a = cmd->args; a->name != NULL; a++)
		if (a->required && json_object_get(args, a->name) == NULL)
			return xv_reply_error(reply, XV_ERR_INVALID,
					      "%s: missing argument '%s'",
					      cmd->name, a->name);
	return 0;
}

static const struct xv_cmd *
find_cmd(const char *name)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
xv_cmd_run(const char *name, json_t *args, struct xv_reply *reply)
{
	const struct xv_cmd *cmd = find_cmd(name);
	int ret;

	if (cmd == NULL)
		return xv_reply_error(reply, XV_ERR_UNKNOWN_COMMAND,
				      "unknown command '%s' (see 'help')",
				      name);
	if (check_args(cmd, args, reply) != 0)
		return -1;
	if (!cmd->reads_only) {
		change_cmd = cmd->name;
		change_since = xv_now_s();
	}
	ret = cmd->fn(args, reply);
	if (!cmd->reads_only)
		change_cmd = NULL;
	if (ret != 0)
		return -1;
	if (reply->result == NULL)
		reply->result = json_object();
	return 0;
}

const char *
xv_cmd_running_change(double *since)
{
	*since = change_since;
	return change_cmd;
}

bool
xv_cmd_reads_only(const char *line, size_t len)
{
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	const char *name = json_string_value(json_object_get(req, "cmd"));
	const struct xv_cmd *cmd = name != NULL ? find_cmd(name) : NULL;
	bool reads_only = cmd == NULL || cmd->reads_only;

	json_decref(req);
	return reads_only;
}

json_t *
xv_cmd_execute(const char *line, size_t len)
{
	struct xv_reply reply = { 0 };
	json_error_t jerr;
	json_t *req, *out, *id = NULL, *cmd, *args;
	int ret = -1;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		xv_reply_error(&reply, XV_ERR_BAD_REQUEST,
			       "malformed JSON at column %d: %s", jerr.column,
			       jerr.text);
	} else if (!json_is_object(req)) {
		xv_reply_error(&reply, XV_ERR_BAD_REQUEST,
			       "a request must be a JSON object");
	} else {
		id = json_object_get(req, "id");
		cmd = json_object_get(req, "cmd");
		args = json_object_get(req, "args");
		if (!json_is_string(cmd))
			xv_reply_error(&reply, XV_ERR_BAD_REQUEST,
				       "'cmd' must be a string");
		else if (args != NULL && !json_is_object(args))
			xv_reply_error(&reply, XV_ERR_BAD_REQUEST,
				       "'args' must be an object");
		else {
			json_t *a = args ? json_incref(args) : json_object();

			ret = xv_cmd_run(json_string_value(cmd), a, &reply);
			json_decref(a);
		}
	}
	out = json_object();
	if (id != NULL)
		json_object_set(out, "id", id);
	if (ret == 0) {
		json_object_set_new(out, "ok", json_true());
		json_object_set_new(out, "result", reply.result);
	} else {
		json_decref(reply.result);
		json_object_set_new(out, "ok", json_false());
		json_object_set_new(out, "error",
				    json_pack("{s:s, s:s}", "code", reply.code,
					      "message", reply.message));
		if (req != NULL && json_is_string(json_object_get(req, "cmd")))
			XV_LOG(ctl, INFO, "%s: %s: %s",
			       json_string_value(json_object_get(req, "cmd")),
			       reply.code, reply.message);
	}
	json_decref(req);
	return out;
}

const char *
xv_arg_str(json_t *args, const char *name, const char *dflt)
{
	json_t *v = json_object_get(args, name);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

int64_t
xv_arg_int(json_t *args, const char *name, int64_t dflt)
{
	json_t *v = json_object_get(args, name);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

bool
xv_arg_bool(json_t *args, const char *name, bool dflt)
{
	json_t *v = json_object_get(args, name);

	return json_is_boolean(v) ? json_is_true(v) : dflt;
}
