/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
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
		if (strcmp(key, "ports") != 0 && strcmp(key, "relays") != 0) {
			snprintf(err, errlen, "%s: unknown key '%s' (expected 'ports', 'relays')",
				 path, key);
			goto out;
		}
	}
	if (apply_list(root, "ports", "port.add", err, errlen) != 0 ||
	    apply_list(root, "relays", "relay.add", err, errlen) != 0)
		goto out;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int
xv_cmd_config(json_t *args, struct xv_reply *reply)
{
	json_t *ports = json_array(), *relays = json_array();
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
	reply->result = json_pack("{s:o, s:o}", "ports", ports, "relays",
				  relays);
	return 0;
}
