/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "net.h"
#include "port.h"

static int
apply_list(json_t *root, const char *key, const char *cmd, char *err,
	   size_t errlen)
{
	json_t *list = json_object_get(root, key), *item;
	size_t i;

	if (list == NULL)
		return 0;
	if (!json_is_array(list)) {
		snprintf(err, errlen, "'%s' must be a list", key);
		return -1;
	}
	json_array_foreach(list, i, item) {
		struct xv_reply reply = { 0 };

		if (!json_is_object(item)) {
			snprintf(err, errlen, "%s[%zu] must be an object", key, i);
			return -1;
		}
		if (xv_cmd_run(cmd, item, &reply) != 0) {
			snprintf(err, errlen, "%s[%zu]: %s: %s", key, i,
				 reply.code, reply.message);
			return -1;
		}
		json_decref(reply.result);
	}
	return 0;
}

/* Run one command for the config loader; 0 or -1 with 'err' set. */
static int
run(const char *cmd, json_t *args, const char *where, char *err, size_t errlen)
{
	struct xv_reply reply = { 0 };

	if (xv_cmd_run(cmd, args, &reply) != 0) {
		snprintf(err, errlen, "%s: %s: %s", where, reply.code, reply.message);
		return -1;
	}
	json_decref(reply.result);
	return 0;
}

/*
 * "security_groups": [{"name": "web", "rules": [{rule}, ...]}]. The rules
 * replace the group's default ones. All groups exist before any rule is
 * added, so rules may name any of them as remote group.
 */
static int
load_groups(json_t *root, char *err, size_t errlen)
{
	json_t *list = json_object_get(root, "security_groups"), *g;
	char where[96];
	size_t i;

	if (list == NULL)
		return 0;
	if (!json_is_array(list)) {
		snprintf(err, errlen, "'security_groups' must be a list");
		return -1;
	}
	json_array_foreach(list, i, g) {
		json_t *name = json_object_get(g, "name");
		json_t *rules = json_object_get(g, "rules");
		struct xv_sg *sg;
		json_t *args;
		int ret;

		snprintf(where, sizeof(where), "security_groups[%zu]", i);
		if (!json_is_object(g) || !json_is_string(name) ||
		    (rules != NULL && !json_is_array(rules)) ||
		    json_object_size(g) != 1u + (rules != NULL)) {
			snprintf(err, errlen, "%s must be {\"name\": NAME, \"rules\": [...]}",
				 where);
			return -1;
		}
		args = json_pack("{s:O}", "name", name);
		ret = run("sg.add", args, where, err, errlen);
		json_decref(args);
		if (ret != 0)
			return -1;
		/* The listed rules are the whole group. */
		sg = xv_sg_find(json_string_value(name));
		if (sg != NULL)
			xv_sg_rules_replace(sg, NULL, 0);
	}
	json_array_foreach(list, i, g) {
		json_t *rules = json_object_get(g, "rules");
		json_t *args;
		int ret;

		if (rules == NULL || json_array_size(rules) == 0)
			continue;
		snprintf(where, sizeof(where), "security_groups[%zu].rules", i);
		args = json_pack("{s:O, s:O}", "sg", json_object_get(g, "name"),
				 "rules", rules);
		ret = run("sg.rule.add", args, where, err, errlen);
		json_decref(args);
		if (ret != 0)
			return -1;
	}
	return 0;
}

int
xv_config_load(const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	const char *key;
	json_t *v;
	int ret = -1;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line,
			 jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: must hold a JSON object", path);
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "ports") != 0 && strcmp(key, "relays") != 0 &&
		    strcmp(key, "networks") != 0 &&
		    strcmp(key, "security_groups") != 0) {
			snprintf(err, errlen, "%s: unknown key '%s' (expected 'networks', 'security_groups', 'ports', 'relays')",
				 path, key);
			goto out;
		}
	}
	if (apply_list(root, "networks", "network.add", err, errlen) != 0 ||
	    load_groups(root, err, errlen) != 0 ||
	    apply_list(root, "ports", "port.add", err, errlen) != 0 ||
	    apply_list(root, "relays", "relay.add", err, errlen) != 0)
		goto out;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

/* A port's network arguments, in port.add's form. */
static void
net_attrs(const struct xv_port *p, json_t *o)
{
	json_t *d = json_object(), *v;
	char buf[2048];
	size_t i, len;

	xv_port_net_describe(p, d);
	json_object_set(o, "network", json_object_get(d, "network"));
	if (json_is_string(json_object_get(d, "mac")))
		json_object_set(o, "mac", json_object_get(d, "mac"));
	if (p->net.uplink)
		json_object_set_new(o, "uplink", json_true());
	json_object_set_new(o, "port_security", json_boolean(p->net.port_security));
	for (const char *const *key = (const char *const[]){ "ip", "sg", NULL };
	     *key != NULL; key++) {
		buf[0] = '\0';
		len = 0;
		json_array_foreach(json_object_get(d, *key), i, v)
			len += snprintf(buf + len, sizeof(buf) - RTE_MIN(len, sizeof(buf)),
					"%s%s", i ? "," : "", json_string_value(v));
		if (len > 0 && len < sizeof(buf))
			json_object_set_new(o, *key, json_string(buf));
	}
	json_decref(d);
}

int
xv_cmd_config(json_t *args, struct xv_reply *reply)
{
	json_t *ports = json_array(), *relays = json_array();
	json_t *networks = json_array(), *groups = json_array();
	unsigned int i;

	for (i = 0; i < xv_n_ports; i++) {
		const struct xv_port *p = xv_ports[i];
		json_t *o = json_pack("{s:s, s:s, s:i}", "name", p->name, "type",
				      xv_port_type_name(p->type), "queues",
				      p->queues);

		if (p->type == XV_PORT_VHOST) {
			json_object_set_new(o, "path", json_string(p->vhost.path));
			if (p->vhost.client)
				json_object_set_new(o, "client", json_true());
		} else {
			json_object_set_new(o, "devargs",
					    json_string(p->eth.devargs));
		}
		if (p->net.network != NULL)
			net_attrs(p, o);
		json_array_append_new(ports, o);
		if (p->peer != NULL && i < xv_n_ports) {
			unsigned int j;

			/* Once per relay: when we meet its second port. */
			for (j = 0; j < i; j++)
				if (xv_ports[j] == p->peer)
					json_array_append_new(relays,
						json_pack("{s:s, s:s}", "a",
							  p->peer->name, "b",
							  p->name));
		}
	}
	for (i = 0; i < xv_n_networks; i++)
		json_array_append_new(networks,
				      json_pack("{s:s}", "name", xv_networks[i]->name));
	for (i = 0; i < xv_n_sgs; i++) {
		json_t *rules = json_array();
		unsigned int r;

		for (r = 0; r < xv_sgs[i]->n_rules; r++) {
			json_t *rule = xv_sg_rule_json(&xv_sgs[i]->rules[r]);

			/* Ids are the daemon's; a replay numbers anew. */
			json_object_del(rule, "id");
			if (json_is_null(json_object_get(rule, "ports")))
				json_object_del(rule, "ports");
			json_array_append_new(rules, rule);
		}
		json_array_append_new(groups, json_pack("{s:s, s:o}", "name",
							xv_sgs[i]->name, "rules", rules));
	}
	reply->result = json_pack("{s:o, s:o, s:o, s:o}", "networks", networks,
				  "security_groups", groups, "ports", ports,
				  "relays", relays);
	return 0;
}
