/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The command layer without a datapath: framing errors, the central
 * argument checks, and that a rejected command changes nothing.
 */
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "port.h"
#include "tap.h"

/* Run 'req' and return the error code, or "ok". */
static const char *
code_of(const char *req, json_t **replyp)
{
	static char code[64];
	json_t *reply = xv_cmd_execute(req, strlen(req));
	json_t *err = json_object_get(reply, "error");

	if (json_is_true(json_object_get(reply, "ok")))
		snprintf(code, sizeof(code), "ok");
	else
		snprintf(code, sizeof(code), "%s",
			 json_string_value(json_object_get(err, "code")));
	if (replyp)
		*replyp = reply;
	else
		json_decref(reply);
	return code;
}

static void
expect(const char *req, const char *want)
{
	const char *got = code_of(req, NULL);

	check(strcmp(got, want) == 0, "%s -> %s (got %s)", req, want, got);
}

int
main(void)
{
	json_t *reply;
	char err[256];

	expect("", "bad_request");
	expect("not json", "bad_request");
	expect("[1,2]", "bad_request");
	expect("{\"cmd\": 5}", "bad_request");
	expect("{\"cmd\": \"version\", \"args\": []}", "bad_request");
	expect("{\"cmd\": \"version\", \"cmd\": \"help\"}", "bad_request");
	expect("{\"cmd\": \"frobnicate\"}", "unknown_command");
	expect("{\"cmd\": \"version\"}", "ok");
	expect("{\"cmd\": \"version\", \"args\": {\"x\": 1}}", "invalid_argument");
	expect("{\"cmd\": \"port.add\", \"args\": {}}", "invalid_argument");
	expect("{\"cmd\": \"port.add\", \"args\": {\"name\": 3, \"type\": \"vhost\"}}",
	       "invalid_argument");
	expect("{\"cmd\": \"port.add\", \"args\": {\"name\": \"a\", \"type\": \"vhost\", \"path\": \"/x\", \"queues\": 0}}",
	       "invalid_argument");
	expect("{\"cmd\": \"port.add\", \"args\": {\"name\": \"a\", \"type\": \"vhost\", \"path\": \"/x\", \"queues\": 17}}",
	       "invalid_argument");
	expect("{\"cmd\": \"port.add\", \"args\": {\"name\": \"a\", \"type\": \"vhost\", \"path\": \"/x\", \"client\": \"yes\"}}",
	       "invalid_argument");
	expect("{\"cmd\": \"port.add\", \"args\": {\"name\": \"a b\", \"type\": \"vhost\", \"path\": \"/x\"}}",
	       "invalid_argument");
	expect("{\"cmd\": \"port.add\", \"args\": {\"name\": \"a\", \"type\": \"tap\", \"path\": \"/x\"}}",
	       "invalid_argument");
	expect("{\"cmd\": \"port.add\", \"args\": {\"name\": \"a\", \"type\": \"vhost\"}}",
	       "invalid_argument");
	expect("{\"cmd\": \"port.add\", \"args\": {\"name\": \"a\", \"type\": \"eth\"}}",
	       "invalid_argument");
	expect("{\"cmd\": \"port.add\", \"args\": {\"name\": \"a\", \"type\": \"eth\", \"devargs\": \"x\", \"client\": true}}",
	       "invalid_argument");
	expect("{\"cmd\": \"port.add\", \"args\": {\"name\": \"a\", \"type\": \"vhost\", \"path\": \"relative.sock\"}}",
	       "invalid_argument");
	expect("{\"cmd\": \"port.del\", \"args\": {\"name\": \"ghost\"}}", "not_found");
	expect("{\"cmd\": \"port.show\", \"args\": {\"name\": \"ghost\"}}", "not_found");
	expect("{\"cmd\": \"relay.add\", \"args\": {\"a\": \"x\", \"b\": \"y\"}}", "not_found");
	expect("{\"cmd\": \"relay.del\", \"args\": {\"a\": \"x\"}}", "invalid_argument");
	expect("{\"cmd\": \"stats\", \"args\": {\"port\": \"ghost\"}}", "not_found");
	check(xv_n_ports == 0, "no port was created by any rejected request");

	/* The id comes back, whatever its type, on success and on error. */
	code_of("{\"id\": [1, \"x\"], \"cmd\": \"nope\"}", &reply);
	check(json_equal(json_object_get(reply, "id"), json_pack("[i,s]", 1, "x")),
	      "id is echoed on errors");
	json_decref(reply);

	code_of("{\"cmd\": \"help\"}", &reply);
	check(json_array_size(json_object_get(json_object_get(reply, "result"),
					      "commands")) >= 10,
	      "help lists the commands");
	json_decref(reply);

	check(xv_port_name_check("vm-1_a.b", err, sizeof(err)) == 0,
	      "port name with - _ . accepted");
	check(xv_port_name_check("012345678901234567890123456789012", err,
				 sizeof(err)) != 0,
	      "33-char port name refused");
	return tap_done();
}
