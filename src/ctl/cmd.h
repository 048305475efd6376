/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control API's command table. Each command declares its arguments;
 * types, required arguments and unknown names are checked here, once,
 * before any handler runs, so handlers read 'args' without re-checking.
 * Control thread only.
 */
#ifndef XV_CMD_H
#define XV_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

enum xv_arg_type {
	XV_ARG_STRING,
	XV_ARG_BOOL,
	XV_ARG_INT,
	XV_ARG_ARRAY,
};

struct xv_arg_spec {
	const char *name;
	enum xv_arg_type type;
	bool required;
	int64_t min, max;  /* XV_ARG_INT */
	const char *help;
};

/* Error codes of the API (doc/api.md). */
#define XV_ERR_BAD_REQUEST "bad_request"
#define XV_ERR_TOO_LARGE "too_large"
#define XV_ERR_UNKNOWN_COMMAND "unknown_command"
#define XV_ERR_INVALID "invalid_argument"
#define XV_ERR_NOT_FOUND "not_found"
#define XV_ERR_EXISTS "exists"
#define XV_ERR_BUSY "busy"
#define XV_ERR_LIMIT "limit"
#define XV_ERR_FAILED "failed"

struct xv_reply {
	json_t *result;     /* set by the handler on success */
	const char *code;   /* set on error */
	char message[1024];
};

/* A handler returns 0 with reply->result set, or -1 via xv_reply_error. */
typedef int (*xv_cmd_fn)(json_t *args, struct xv_reply *reply);

struct xv_cmd {
	const char *name;
	xv_cmd_fn fn;
	const struct xv_arg_spec *args; /* terminated by { NULL } */
	const char *help;
	/* Changes nothing: may run while a change is being compiled aside
	 * (xv_aside.h). */
	bool reads_only;
};

int xv_reply_error(struct xv_reply *reply, const char *code, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));
/* Map a negative errno from a lower layer to an API error code. */
const char *xv_errno_code(int err);

/*
 * Run the request in 'line' (one JSON object) and return the reply object
 * (the caller owns it). Never fails: bad input gives an error reply.
 */
json_t *xv_cmd_execute(const char *line, size_t len);

/*
 * Whether the request in 'line' may run while another request's change is
 * being compiled: a command that changes nothing, or a request that is only
 * an error (malformed, unknown command). Changes wait their turn.
 */
bool xv_cmd_reads_only(const char *line, size_t len);

/* Run command 'name' with 'args' (borrowed), for the config loader. */
int xv_cmd_run(const char *name, json_t *args, struct xv_reply *reply);

/* Argument readers for handlers (arguments were checked already). */
const char *xv_arg_str(json_t *args, const char *name, const char *dflt);
int64_t xv_arg_int(json_t *args, const char *name, int64_t dflt);
bool xv_arg_bool(json_t *args, const char *name, bool dflt);

/* Handlers, by file. */
int xv_cmd_port_add(json_t *args, struct xv_reply *reply);
int xv_cmd_port_del(json_t *args, struct xv_reply *reply);
int xv_cmd_port_list(json_t *args, struct xv_reply *reply);
int xv_cmd_port_show(json_t *args, struct xv_reply *reply);
int xv_cmd_port_pin(json_t *args, struct xv_reply *reply);
int xv_cmd_relay_add(json_t *args, struct xv_reply *reply);
int xv_cmd_relay_del(json_t *args, struct xv_reply *reply);
int xv_cmd_relay_list(json_t *args, struct xv_reply *reply);
int xv_cmd_stats(json_t *args, struct xv_reply *reply);
int xv_cmd_stats_clear(json_t *args, struct xv_reply *reply);
int xv_cmd_status(json_t *args, struct xv_reply *reply);
int xv_cmd_port_set(json_t *args, struct xv_reply *reply);
struct xv_port_net;
/* port.add's network arguments into 'net' (zeroed when there are none). */
int xv_cmd_port_net_parse(json_t *args, struct xv_port_net *net,
			  struct xv_reply *reply);
int xv_cmd_network_add(json_t *args, struct xv_reply *reply);
int xv_cmd_network_del(json_t *args, struct xv_reply *reply);
int xv_cmd_network_list(json_t *args, struct xv_reply *reply);
int xv_cmd_sg_add(json_t *args, struct xv_reply *reply);
int xv_cmd_sg_del(json_t *args, struct xv_reply *reply);
int xv_cmd_sg_list(json_t *args, struct xv_reply *reply);
int xv_cmd_sg_show(json_t *args, struct xv_reply *reply);
int xv_cmd_sg_rule_add(json_t *args, struct xv_reply *reply);
int xv_cmd_sg_rule_del(json_t *args, struct xv_reply *reply);
int xv_cmd_ct_list(json_t *args, struct xv_reply *reply);
int xv_cmd_ct_count(json_t *args, struct xv_reply *reply);
int xv_cmd_ct_flush(json_t *args, struct xv_reply *reply);
int xv_cmd_config(json_t *args, struct xv_reply *reply);

/* The change (a command that is not reads_only) being executed, or NULL;
 * a read served while it compiles aside sees it. '*since' gets when it
 * began (xv_now_s). */
const char *xv_cmd_running_change(double *since);

/* Seconds on the monotonic clock. */
double xv_now_s(void);

/* Daemon facts the status command reports (set by main). */
struct xv_daemon_info {
	const char *ctl_path;
	bool hugepages;
	double start_time;
};
extern struct xv_daemon_info xv_daemon;

#endif /* XV_CMD_H */
