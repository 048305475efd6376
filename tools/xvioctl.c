/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * xvioctl: the command-line client of the xvio daemon.
 *
 * Each CLI command in 'commands' below becomes one JSON request line on the
 * daemon's unix socket (doc/api.md); the one reply line is rendered as
 * aligned tables, or printed as JSON with --json. The client stays thin on
 * purpose: it checks only what it must understand to build a request (the
 * command grammar and the numbers it parses) and leaves every other judgement
 * to the daemon, so a script speaking JSON directly gets the same answers as
 * a person typing here.
 *
 * Exit status: 0 ok; 1 the daemon answered with an error (or with a reply
 * that is not the protocol); 2 usage error; 3 the daemon could not be
 * reached (no socket, connection lost, no reply before --timeout).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* vasprintf, open_memstream */
#endif

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#ifndef XV_VERSION
#define XV_VERSION "0.1.0"
#endif

#define XVIOCTL_CTL_DEFAULT "/run/xvio/xvio.sock"
#define XVIOCTL_TIMEOUT_DEFAULT 30.0
/* A year: larger values only overflow the time arithmetic; 0 means forever. */
#define XVIOCTL_TIMEOUT_MAX (365.0 * 24 * 3600)
/*
 * Bound the reply buffer so a confused peer cannot make us eat all memory.
 * A stats reply for 256 ports with 16 queues each is well under 1 MiB.
 */
#define XVIOCTL_REPLY_MAX (256u << 20)
#define XVIOCTL_QUEUES_MAX 16
/* Width of the key column in key/value output ("rx_descriptors:" fits). */
#define KV_WIDTH 16
#define WRAP_COLUMN 78

enum {
	XC_OK = 0,
	XC_DAEMON = 1,
	XC_USAGE = 2,
	XC_CONNECT = 3,
	/* Never an exit status: 'top' was told to stop in the middle of a request. */
	XC_STOPPED = -1,
};

/*
 * Options only some commands take; the global ones (--ctl, --json,
 * --timeout, --help, --version) are valid everywhere. Indexes into
 * opt_specs[] and cli->val[]; OPT(i) is the bit of option i in a command's
 * 'opts' and in cli->opts.
 */
enum {
	OI_CLIENT,
	OI_QUEUES,
	OI_INTERVAL,
	OI_COUNT,
	OI_NETWORK,
	OI_MAC,
	OI_IP,
	OI_SG,
	OI_PORT_SECURITY,
	OI_UPLINK,
	OI_PROTO,
	OI_PORTS,
	OI_REMOTE,
	OI_REMOTE_GROUP,
	OI_IPV6,
	N_OPTS,
};

#define OPT(i) (1u << (i))
#define OPT_CLIENT OPT(OI_CLIENT)
#define OPT_QUEUES OPT(OI_QUEUES)
#define OPT_INTERVAL OPT(OI_INTERVAL)
#define OPT_COUNT OPT(OI_COUNT)
/* What a port's place in a virtual network is made of (port add, port set). */
#define OPTS_PORT_NET (OPT(OI_NETWORK) | OPT(OI_MAC) | OPT(OI_IP) | OPT(OI_SG) | \
		       OPT(OI_PORT_SECURITY) | OPT(OI_UPLINK))
#define OPTS_RULE (OPT(OI_PROTO) | OPT(OI_PORTS) | OPT(OI_REMOTE) | \
		   OPT(OI_REMOTE_GROUP) | OPT(OI_IPV6))

enum opt_kind {
	OK_FLAG,	/* no value */
	OK_VALUE,	/* "--opt V" or "--opt=V" */
	/*
	 * A flag that may be given "on" or "off" (--uplink): "--opt=V", or
	 * "--opt on|off" when the next word is exactly one of those; alone it
	 * means on.
	 */
	OK_FLAG_ONOFF,
};

static const struct opt_spec {
	const char *name;
	enum opt_kind kind;
} opt_specs[N_OPTS] = {
	[OI_CLIENT] = { "--client", OK_FLAG },
	[OI_QUEUES] = { "--queues", OK_VALUE },
	[OI_INTERVAL] = { "--interval", OK_VALUE },
	[OI_COUNT] = { "--count", OK_VALUE },
	[OI_NETWORK] = { "--network", OK_VALUE },
	[OI_MAC] = { "--mac", OK_VALUE },
	[OI_IP] = { "--ip", OK_VALUE },
	[OI_SG] = { "--sg", OK_VALUE },
	[OI_PORT_SECURITY] = { "--port-security", OK_VALUE },
	[OI_UPLINK] = { "--uplink", OK_FLAG_ONOFF },
	[OI_PROTO] = { "--proto", OK_VALUE },
	[OI_PORTS] = { "--ports", OK_VALUE },
	[OI_REMOTE] = { "--remote", OK_VALUE },
	[OI_REMOTE_GROUP] = { "--remote-group", OK_VALUE },
	[OI_IPV6] = { "--ipv6", OK_FLAG },
};

struct command;

struct cli {
	const char *ctl_path;
	double timeout_s;	/* 0: wait forever */
	bool json;
	bool help;
	unsigned int opts;	/* OPT() of the options seen on the command line */
	const char *val[N_OPTS];	/* their raw values (NULL for flags), checked by the command */
	const struct command *cmd;
	int n_args;		/* positional words after the command's words */
	char **args;
};

typedef int (*cmd_handler_t)(struct cli *cli);

/*
 * One CLI command. 'words' are matched against the leading positional
 * arguments (longest match wins, so "stats clear" beats "stats PORT");
 * arity and options are checked centrally before 'handler' runs, so a
 * handler only builds its request and renders the reply.
 */
struct command {
	const char *words;
	int min_args;
	int max_args;
	unsigned int opts;
	cmd_handler_t handler;
	const char *usage;	/* one line per form, without "xvioctl " */
	const char *help;
};

static void print_usage(FILE *f);

static void __attribute__((noreturn))
die_oom(void)
{
	fputs("xvioctl: out of memory\n", stderr);
	exit(XC_DAEMON);
}

static void *
xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (p == NULL)
		die_oom();
	return p;
}

static char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		die_oom();
	return s;
}

static char * __attribute__((format(printf, 1, 2)))
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* jansson returns NULL only for bad UTF-8 (checked up front) or no memory. */
static json_t *
xjson(json_t *v)
{
	if (v == NULL)
		die_oom();
	return v;
}

/* -------------------------------------------------------------------------
 * Usage.
 */

/* Print each line of 'text' after 'indent'. */
static void
print_indented(FILE *f, const char *indent, const char *text)
{
	while (*text != '\0') {
		size_t len = strcspn(text, "\n");

		fprintf(f, "%s%.*s\n", indent, (int)len, text);
		text += len;
		if (*text == '\n')
			text++;
	}
}

static void
print_command_usage(FILE *f, const struct command *c, const char *first)
{
	const char *line = c->usage;
	const char *prefix = first;

	while (*line != '\0') {
		size_t len = strcspn(line, "\n");

		fprintf(f, "%sxvioctl %.*s\n", prefix, (int)len, line);
		prefix = "       ";
		line += len;
		if (*line == '\n')
			line++;
	}
}

/* Print a usage error about the selected command (or globally) and return 2. */
static int __attribute__((format(printf, 2, 3)))
usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fputs("xvioctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cli != NULL && cli->cmd != NULL)
		print_command_usage(stderr, cli->cmd, "usage: ");
	else
		fputs("usage: xvioctl [--ctl PATH] [--json] [--timeout S] COMMAND [ARG...]\n"
		      "Try 'xvioctl --help' for the list of commands.\n", stderr);
	return XC_USAGE;
}

/* -------------------------------------------------------------------------
 * Transport: one request line out, one reply line back.
 */

/*
 * Set by the SIGINT/SIGTERM handler of 'top' (the only command that installs
 * one; the others just die of the signal). A request it interrupts is
 * abandoned with XC_STOPPED instead of being waited for, so Ctrl-C works
 * even when the daemon is slow to answer.
 */
static volatile sig_atomic_t top_stop;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Returns a connected socket, or -1 after printing why (exit status 3). */
static int
ctl_connect(const struct cli *cli)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = cli->ctl_path;
	const char *hint = "is xvio running?";
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		err = ENAMETOOLONG;
		goto fail;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	/*
	 * A unix stream connect blocks while the daemon's listen backlog is
	 * full, and the kernel bounds that wait by the send timeout: this is
	 * what keeps a wedged daemon from hanging us before the first byte.
	 */
	if (cli->timeout_s > 0) {
		struct timeval tv = {
			.tv_sec = (time_t)cli->timeout_s,
			.tv_usec = (suseconds_t)((cli->timeout_s -
				(time_t)cli->timeout_s) * 1e6),
		};

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR && !top_stop)
			continue;
		err = errno;
		close(fd);
		goto fail;
	}
	return fd;

fail:
	if (err == EINTR && top_stop)
		return -1;	/* no message: the user asked to stop */
	if (err == EACCES || err == EPERM)
		hint = "run as the daemon's user or a member of its --ctl-group";
	else if (err == EAGAIN)
		hint = "the daemon is not accepting connections";
	else if (err == ENAMETOOLONG)
		hint = "unix socket paths are limited to 107 bytes";
	fprintf(stderr, "xvioctl: cannot connect to %s: %s (%s)\n", path,
		strerror(err), hint);
	return -1;
}

static int
send_all(const struct cli *cli, int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				fprintf(stderr, "xvioctl: %s did not take the request within %g s\n",
					cli->ctl_path, cli->timeout_s);
			else
				fprintf(stderr, "xvioctl: lost connection to %s: %s\n",
					cli->ctl_path, strerror(errno));
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Read one reply line from 'fd' into a growing buffer. On success returns 0
 * and stores the line, without its '\n' and NUL-terminated, in *linep (the
 * caller frees it). Anything after the newline is ignored: we send a single
 * request so no further reply can follow.
 */
static int
recv_line(const struct cli *cli, int fd, char **linep, size_t *lenp)
{
	double deadline = now_s() + cli->timeout_s;
	size_t cap = 64 * 1024, len = 0;
	char *buf = xrealloc(NULL, cap);

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char *nl;
		ssize_t n;
		int wait_ms = -1;
		int rc;

		if (cli->timeout_s > 0) {
			double left = deadline - now_s();

			if (left <= 0)
				goto timeout;
			wait_ms = (int)(left * 1000) + 1;
		}
		rc = poll(&pfd, 1, wait_ms);
		if (rc < 0) {
			if (errno == EINTR && top_stop) {
				free(buf);
				return XC_STOPPED;
			}
			if (errno == EINTR)
				continue;
			goto lost;
		}
		if (rc == 0)
			continue;	/* the deadline check above decides */

		if (cap - len < 2) {
			if (cap >= XVIOCTL_REPLY_MAX) {
				fprintf(stderr, "xvioctl: bad_reply: reply from %s exceeds %u MiB\n",
					cli->ctl_path, XVIOCTL_REPLY_MAX >> 20);
				free(buf);
				return XC_DAEMON;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			goto lost;
		}
		if (n == 0) {
			fprintf(stderr, "xvioctl: %s closed the connection without a complete reply\n",
				cli->ctl_path);
			free(buf);
			return XC_CONNECT;
		}
		nl = memchr(buf + len, '\n', n);
		len += n;
		if (nl != NULL) {
			*nl = '\0';
			*linep = buf;
			*lenp = nl - buf;
			return XC_OK;
		}
	}

timeout:
	fprintf(stderr, "xvioctl: no reply from %s within %g s (see --timeout)\n",
		cli->ctl_path, cli->timeout_s);
	free(buf);
	return XC_CONNECT;
lost:
	fprintf(stderr, "xvioctl: lost connection to %s: %s\n", cli->ctl_path,
		strerror(errno));
	free(buf);
	return XC_CONNECT;
}

/*
 * Send 'req' and read the reply. Returns XC_OK with the parsed reply object
 * in *replyp (owned by the caller) and, if 'linep' is not NULL, the raw line
 * in *linep (to free); otherwise prints why and returns the exit status.
 * A well-formed error reply is still XC_OK here: the caller decides.
 */
static int
ctl_exchange(const struct cli *cli, json_t *req, json_t **replyp, char **linep)
{
	json_error_t jerr;
	json_t *reply;
	char *out, *line;
	size_t len;
	int fd, rc;

	out = json_dumps(req, JSON_COMPACT);
	if (out == NULL)
		die_oom();
	fd = ctl_connect(cli);
	if (fd < 0) {
		free(out);
		return top_stop ? XC_STOPPED : XC_CONNECT;
	}
	/* The request must be one line: json_dumps never emits a raw '\n'. */
	if (send_all(cli, fd, out, strlen(out)) < 0 ||
	    send_all(cli, fd, "\n", 1) < 0) {
		free(out);
		close(fd);
		return XC_CONNECT;
	}
	free(out);
	rc = recv_line(cli, fd, &line, &len);
	close(fd);
	if (rc != XC_OK)
		return rc;

	reply = json_loadb(line, len, 0, &jerr);
	if (reply == NULL || !json_is_object(reply) ||
	    !json_is_boolean(json_object_get(reply, "ok"))) {
		fprintf(stderr, "xvioctl: bad_reply: %s sent %s\n", cli->ctl_path,
			reply == NULL ? "a line that is not JSON" :
			"a reply without a boolean \"ok\"");
		json_decref(reply);
		free(line);
		return XC_DAEMON;
	}
	*replyp = reply;
	if (linep != NULL)
		*linep = line;
	else
		free(line);
	return XC_OK;
}

/* Print the error of a failed reply as "xvioctl: <code>: <message>". */
static int
report_error(json_t *reply)
{
	json_t *err = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *msg = json_string_value(json_object_get(err, "message"));

	fprintf(stderr, "xvioctl: %s: %s\n", code != NULL ? code : "error",
		msg != NULL ? msg : "(the daemon gave no message)");
	return XC_DAEMON;
}

static void
print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

typedef void (*render_t)(json_t *result);

/*
 * Send 'cmd' with 'args' (stolen). Returns XC_OK with the reply's result in
 * *resultp (a new reference; JSON null when the reply has none), or the exit
 * status after reporting the daemon's error or the transport's trouble.
 */
static int
request(const struct cli *cli, const char *cmd, json_t *args, json_t **resultp)
{
	json_t *req, *reply, *result;
	int rc;

	req = xjson(json_pack("{s:i, s:s, s:o}", "id", 1, "cmd", cmd, "args", args));
	rc = ctl_exchange(cli, req, &reply, NULL);
	json_decref(req);
	if (rc != XC_OK)
		return rc;

	if (!json_is_true(json_object_get(reply, "ok"))) {
		rc = report_error(reply);
	} else {
		result = json_object_get(reply, "result");
		*resultp = json_incref(result != NULL ? result : json_null());
	}
	json_decref(reply);
	return rc;
}

/*
 * The whole life of an ordinary command: send 'cmd' with 'args' (stolen),
 * then print the result with 'render' (nothing when NULL) or as JSON with
 * --json, or report the daemon's error. Returns the exit status.
 */
static int
run(const struct cli *cli, const char *cmd, json_t *args, render_t render)
{
	json_t *result;
	int rc;

	rc = request(cli, cmd, args, &result);
	if (rc != XC_OK)
		return rc;
	if (cli->json)
		print_json(result);
	else if (render != NULL)
		render(result);
	json_decref(result);
	return rc;
}

/* -------------------------------------------------------------------------
 * Rendering helpers.
 */

/*
 * Format a JSON scalar for display into 'buf'. Absent and null are "-";
 * reals get 'decimals' digits after the point, or as few as needed when
 * negative, so tables can choose their precision.
 */
static const char *
fmt_scalar(json_t *v, int decimals, char *buf, size_t size)
{
	if (v == NULL || json_is_null(v))
		return "-";
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		if (decimals < 0)
			snprintf(buf, size, "%g", json_real_value(v));
		else
			snprintf(buf, size, "%.*f", decimals, json_real_value(v));
	else if (json_is_boolean(v))
		return json_is_true(v) ? "yes" : "no";
	else
		return "?";
	return buf;
}

static json_t *
jget2(json_t *o, const char *k1, const char *k2)
{
	return json_object_get(json_object_get(o, k1), k2);
}

static json_int_t
jint(json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (json_int_t)json_real_value(v);
	return 0;
}

/* True if 'key' is one of the NULL-terminated 'keys'. */
static bool
key_in(const char *key, const char *const *keys)
{
	int i;

	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

/* A simple aligned table: cells are appended row by row after the headers. */
struct table {
	int n_cols;
	const char *align;	/* 'l' or 'r' for each column */
	int n_cells;
	int cap_cells;
	char **cells;
};

static void
table_cell(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
table_cell(struct table *t, const char *fmt, ...)
{
	va_list ap;

	if (t->n_cells == t->cap_cells) {
		t->cap_cells = t->cap_cells ? 2 * t->cap_cells : 64;
		t->cells = xrealloc(t->cells, t->cap_cells * sizeof(*t->cells));
	}
	va_start(ap, fmt);
	t->cells[t->n_cells++] = xvasprintf(fmt, ap);
	va_end(ap);
}

/*
 * Start a table with no cells: the caller appends the headers (for tables
 * whose columns depend on what the daemon sent). 'align' must outlive 't'.
 */
static void
table_begin(struct table *t, const char *align)
{
	memset(t, 0, sizeof(*t));
	t->align = align;
	t->n_cols = strlen(align);
}

/* 'align' has one letter per column; the headers follow as arguments. */
static void
table_init(struct table *t, const char *align, ...)
{
	va_list ap;
	int i;

	table_begin(t, align);
	va_start(ap, align);
	for (i = 0; i < t->n_cols; i++)
		table_cell(t, "%s", va_arg(ap, const char *));
	va_end(ap);
}

static void
table_json(struct table *t, json_t *v, int decimals)
{
	char buf[64];

	table_cell(t, "%s", fmt_scalar(v, decimals, buf, sizeof(buf)));
}

static void
table_fprint(FILE *f, struct table *t)
{
	int widths[t->n_cols];
	int i, c;

	for (c = 0; c < t->n_cols; c++)
		widths[c] = 0;
	for (i = 0; i < t->n_cells; i++) {
		int len = strlen(t->cells[i]);

		if (len > widths[i % t->n_cols])
			widths[i % t->n_cols] = len;
	}
	for (i = 0; i < t->n_cells; i++) {
		c = i % t->n_cols;
		if (c > 0)
			fputs("  ", f);
		if (t->align[c] == 'r')
			fprintf(f, "%*s", widths[c], t->cells[i]);
		else if (c == t->n_cols - 1)
			fputs(t->cells[i], f);	/* no trailing blanks */
		else
			fprintf(f, "%-*s", widths[c], t->cells[i]);
		if (c == t->n_cols - 1)
			fputc('\n', f);
	}
}

static void
table_print(struct table *t)
{
	table_fprint(stdout, t);
}

static void
table_free(struct table *t)
{
	int i;

	for (i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
}

static void
kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
kv(const char *key, const char *fmt, ...)
{
	va_list ap;
	int pad = KV_WIDTH - (int)strlen(key) - 1;

	printf("%s:%*s", key, pad > 0 ? pad : 1, "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* Print 'words' separated by blanks, wrapped under the value column. */
static void
kv_words(const char *key, json_t *words)
{
	int pad = KV_WIDTH - (int)strlen(key) - 1;
	int col = KV_WIDTH;
	size_t i;
	json_t *w;

	if (pad < 1) {
		pad = 1;
		col = strlen(key) + 2;
	}
	printf("%s:%*s", key, pad, "");
	json_array_foreach(words, i, w) {
		const char *s = json_is_string(w) ? json_string_value(w) : "?";
		int len = strlen(s);

		if (i > 0 && col + 1 + len > WRAP_COLUMN) {
			printf("\n%*s", KV_WIDTH, "");
			col = KV_WIDTH;
		} else if (i > 0) {
			fputc(' ', stdout);
			col++;
		}
		fputs(s, stdout);
		col += len;
	}
	fputc('\n', stdout);
}

/*
 * Print any JSON value as key/value lines: objects flatten to "key.sub",
 * arrays of scalars join with blanks, so fields the daemon adds later show
 * up without a client change.
 */
static void
kv_json(const char *key, json_t *v)
{
	char buf[64];

	if (json_is_object(v)) {
		const char *k;
		json_t *sub;

		if (json_object_size(v) == 0)
			kv(key, "-");
		json_object_foreach(v, k, sub) {
			char *name = xasprintf("%s.%s", key, k);

			kv_json(name, sub);
			free(name);
		}
	} else if (json_is_array(v)) {
		bool scalars = true;
		size_t i;
		json_t *e;

		json_array_foreach(v, i, e)
			if (json_is_object(e) || json_is_array(e))
				scalars = false;
		if (json_array_size(v) == 0) {
			kv(key, "-");
		} else if (scalars) {
			json_t *strs = xjson(json_array());

			json_array_foreach(v, i, e)
				json_array_append_new(strs, xjson(json_string(
					fmt_scalar(e, -1, buf, sizeof(buf)))));
			kv_words(key, strs);
			json_decref(strs);
		} else {
			char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

			kv(key, "%s", s != NULL ? s : "?");
			free(s);
		}
	} else {
		kv(key, "%s", fmt_scalar(v, -1, buf, sizeof(buf)));
	}
}

/*
 * The device counters of "nic" that are losses; the object also carries
 * traffic counters (ipackets, opackets) that are not.
 */
static const char *const nic_drop_keys[] = {
	"imissed", "ierrors", "oerrors", "rx_nombuf", NULL,
};

/*
 * Append " reason=N" to 'f' for each non-zero counter of 'drops', all but
 * "total", or only those in 'only' when not NULL.
 */
static void
drop_reasons(FILE *f, json_t *drops, const char *prefix,
	     const char *const *only, bool *any)
{
	const char *k;
	json_t *v;

	json_object_foreach(drops, k, v) {
		if (strcmp(k, "total") == 0 || jint(v) == 0 ||
		    (only != NULL && !key_in(k, only)))
			continue;
		fprintf(f, " %s%s=%" JSON_INTEGER_FORMAT, prefix, k, jint(v));
		*any = true;
	}
}

/* A duration as "H:MM:SS", or "Nd HH:MM:SS" from a day on. */
static const char *
fmt_hms(long s, char *buf, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 86400)
		snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, size, "%ldd %02ld:%02ld:%02ld", s / 86400,
			 s / 3600 % 24, s / 60 % 60, s % 60);
	return buf;
}

/* A fraction of a core (0.5) as a percentage cell ("50.0"); "-" if absent. */
static void
table_frac_pct(struct table *t, json_t *v)
{
	if (json_is_number(v))
		table_cell(t, "%.1f", 100.0 * json_number_value(v));
	else
		table_cell(t, "-");
}

/* A worker id cell: -1 (no worker) and absent are "-". */
static void
table_worker(struct table *t, json_t *v)
{
	if (json_is_integer(v) && json_integer_value(v) < 0)
		table_cell(t, "-");
	else
		table_json(t, v, -1);
}

/* True if any object of 'list' has 'key'. */
static bool
any_has(json_t *list, const char *key)
{
	size_t i;
	json_t *o;

	json_array_foreach(list, i, o)
		if (json_object_get(o, key) != NULL)
			return true;
	return false;
}

/* Append column 'head' (aligned 'a') to a table being built by table_begin(). */
static void
col_add(struct table *t, char *align, const char *head, char a)
{
	size_t n = strlen(align);

	align[n] = a;
	align[n + 1] = '\0';
	t->n_cols = n + 1;
	table_cell(t, "%s", head);
}

/* -------------------------------------------------------------------------
 * Renderers, one per reply shape of doc/api.md.
 */

static void
render_version(json_t *r)
{
	char buf[64];

	kv("xvioctl", "%s", XV_VERSION);
	kv("xvio", "%s", fmt_scalar(json_object_get(r, "version"), -1, buf, sizeof(buf)));
	kv("dpdk", "%s", fmt_scalar(json_object_get(r, "dpdk"), -1, buf, sizeof(buf)));
	kv("api", "%s", fmt_scalar(json_object_get(r, "api"), -1, buf, sizeof(buf)));
}

/* Keys render_status() shows in its own words; others are printed as sent. */
static const char *const status_keys[] = {
	"pid", "uptime_s", "ctl", "hugepages", "n_ports", "n_relays", "workers",
	"memory", "change", NULL,
};

static void
render_status(json_t *r)
{
	json_t *mem = json_object_get(r, "memory");
	json_t *workers = json_object_get(r, "workers");
	double up = json_number_value(json_object_get(r, "uptime_s"));
	char buf[64];
	long s = (long)up;
	const char *k;
	size_t i;
	json_t *w, *v;

	kv("pid", "%s", fmt_scalar(json_object_get(r, "pid"), -1, buf, sizeof(buf)));
	if (s < 60)
		kv("uptime", "%.1f s", up);
	else
		kv("uptime", "%s (%ld s)", fmt_hms(s, buf, sizeof(buf)), s);
	kv("ctl", "%s", fmt_scalar(json_object_get(r, "ctl"), -1, buf, sizeof(buf)));
	kv("hugepages", "%s", fmt_scalar(json_object_get(r, "hugepages"), -1, buf, sizeof(buf)));
	kv("ports", "%s", fmt_scalar(json_object_get(r, "n_ports"), -1, buf, sizeof(buf)));
	kv("relays", "%s", fmt_scalar(json_object_get(r, "n_relays"), -1, buf, sizeof(buf)));

	printf("%s:%*s%zu", "workers", KV_WIDTH - 8, "", json_array_size(workers));
	json_array_foreach(workers, i, w) {
		printf("%s%" JSON_INTEGER_FORMAT ": lcore %" JSON_INTEGER_FORMAT,
		       i == 0 ? " (id " : "; id ", jint(json_object_get(w, "id")),
		       jint(json_object_get(w, "lcore")));
		if (json_object_get(w, "cpu") != NULL)
			printf(", cpu %" JSON_INTEGER_FORMAT, jint(json_object_get(w, "cpu")));
	}
	fputs(json_array_size(workers) > 0 ? ")\n" : "\n", stdout);

	if (mem != NULL) {
		kv("memory", "%.1f MiB dpdk, %.1f MiB heap in use, %.1f MiB rss",
		   jint(json_object_get(mem, "hugepage_bytes")) / 1048576.0,
		   jint(json_object_get(mem, "heap_alloc_bytes")) / 1048576.0,
		   jint(json_object_get(mem, "rss_bytes")) / 1048576.0);
		kv("mbufs", "%" JSON_INTEGER_FORMAT " in use, %" JSON_INTEGER_FORMAT
		   " reserved, %" JSON_INTEGER_FORMAT " total in %" JSON_INTEGER_FORMAT
		   " pool(s)",
		   jint(json_object_get(mem, "mbufs_in_use")),
		   jint(json_object_get(mem, "mbufs_reserved")),
		   jint(json_object_get(mem, "mbufs_total")),
		   jint(json_object_get(mem, "pools")));
	}
	v = json_object_get(r, "change");
	if (json_is_object(v))
		kv("change", "%s running for %.1f s, %" JSON_INTEGER_FORMAT
		   " waiting after it",
		   fmt_scalar(json_object_get(v, "cmd"), -1, buf, sizeof(buf)),
		   json_number_value(json_object_get(v, "running_s")),
		   jint(json_object_get(v, "waiting")));
	else if (v != NULL)
		kv("change", "none running");
	json_object_foreach(r, k, v)
		if (!key_in(k, status_keys))
			kv_json(k, v);
}

/* Keys shown first by "port show", in this order; the rest follow as sent. */
static const char *const port_keys[] = {
	"name", "type", "path", "mode", "devargs", "driver", "port_id", "state",
	"link", "queues", "active_queues", "relay", "network", "mac", "dev_mac", "ip",
	"uplink", "port_security", "sg", "mtu", "numa", "features", NULL,
};

static void
render_port(json_t *p)
{
	const char *k;
	json_t *v;
	int i;

	for (i = 0; port_keys[i] != NULL; i++) {
		k = port_keys[i];
		v = json_object_get(p, k);
		if (v == NULL)
			continue;
		if (strcmp(k, "features") == 0 && json_is_object(v)) {
			json_t *names = json_object_get(v, "names");
			char buf[64];

			kv(k, "%s", fmt_scalar(json_object_get(v, "negotiated"),
					       -1, buf, sizeof(buf)));
			if (json_array_size(names) > 0)
				kv_words("feature names", names);
			continue;
		}
		kv_json(k, v);
	}
	json_object_foreach(p, k, v)
		if (!key_in(k, port_keys))
			kv_json(k, v);
}

static void
render_port_list(json_t *r)
{
	json_t *ports = json_object_get(r, "ports");
	/* NETWORK only from a daemon that has networks. */
	bool net = any_has(ports, "network");
	struct table t;
	size_t i;
	json_t *p;

	if (net)
		table_init(&t, "llllllll", "NAME", "TYPE", "STATE", "LINK", "QUEUES",
			   "RELAY", "NETWORK", "WHERE");
	else
		table_init(&t, "lllllll", "NAME", "TYPE", "STATE", "LINK", "QUEUES",
			   "RELAY", "WHERE");
	json_array_foreach(ports, i, p) {
		json_t *q = json_object_get(p, "queues");
		json_t *aq = json_object_get(p, "active_queues");
		const char *path = json_string_value(json_object_get(p, "path"));
		const char *mode = json_string_value(json_object_get(p, "mode"));

		table_json(&t, json_object_get(p, "name"), -1);
		table_json(&t, json_object_get(p, "type"), -1);
		table_json(&t, json_object_get(p, "state"), -1);
		table_json(&t, json_object_get(p, "link"), -1);
		/* Active of configured: a guest may use fewer than offered. */
		if (json_is_integer(q) && json_is_integer(aq))
			table_cell(&t, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
				   json_integer_value(aq), json_integer_value(q));
		else
			table_json(&t, q, -1);
		table_json(&t, json_object_get(p, "relay"), -1);
		if (net)
			table_json(&t, json_object_get(p, "network"), -1);
		if (path != NULL)
			table_cell(&t, "%s%s", path, mode != NULL &&
				   strcmp(mode, "client") == 0 ? " (client)" : "");
		else
			table_json(&t, json_object_get(p, "devargs"), -1);
	}
	table_print(&t);
	table_free(&t);
}

static void
render_relay_list(json_t *r)
{
	json_t *relays = json_object_get(r, "relays");
	int width = 0;
	size_t i;
	json_t *rel;

	/* Pad A so the arrows line up whatever the name lengths. */
	json_array_foreach(relays, i, rel) {
		const char *a = json_string_value(json_object_get(rel, "a"));

		if (a != NULL && (int)strlen(a) > width)
			width = strlen(a);
	}
	json_array_foreach(relays, i, rel) {
		const char *a = json_string_value(json_object_get(rel, "a"));
		const char *b = json_string_value(json_object_get(rel, "b"));

		printf("%-*s <-> %s\n", width, a ?: "?", b ?: "?");
	}
}

static void
render_stats(json_t *r)
{
	json_t *ports = json_object_get(r, "ports");
	json_t *workers = json_object_get(r, "workers");
	json_t *drops = json_object_get(r, "drops");
	struct table t;
	bool any = false, qworker, qpinned, qload;
	char align[16];
	char *line = NULL;
	size_t len = 0;
	size_t i, j;
	json_t *p, *q, *w;
	FILE *f;

	table_init(&t, "lrrrrr", "PORT", "RX-PKTS", "RX-BYTES", "TX-PKTS",
		   "TX-BYTES", "DROPS");
	json_array_foreach(ports, i, p) {
		table_json(&t, json_object_get(p, "name"), -1);
		table_json(&t, jget2(p, "rx", "packets"), -1);
		table_json(&t, jget2(p, "rx", "bytes"), -1);
		table_json(&t, jget2(p, "tx", "packets"), -1);
		table_json(&t, jget2(p, "tx", "bytes"), -1);
		table_json(&t, jget2(p, "drops", "total"), -1);
	}
	table_print(&t);
	table_free(&t);

	/*
	 * Per queue: which worker polls it (-1: none), whether it is pinned
	 * there and its load over the last second, when the daemon says.
	 */
	qworker = qpinned = qload = false;
	json_array_foreach(ports, i, p) {
		json_t *qs = json_object_get(p, "queues");

		qworker |= any_has(qs, "worker");
		qpinned |= any_has(qs, "pinned");
		qload |= any_has(qs, "load");
	}
	align[0] = '\0';
	table_begin(&t, align);
	col_add(&t, align, "PORT", 'l');
	col_add(&t, align, "QUEUE", 'r');
	col_add(&t, align, "RX-PKTS", 'r');
	col_add(&t, align, "RX-BYTES", 'r');
	col_add(&t, align, "TX-PKTS", 'r');
	col_add(&t, align, "TX-BYTES", 'r');
	if (qworker)
		col_add(&t, align, "WORKER", 'r');
	if (qpinned)
		col_add(&t, align, "PIN", 'l');
	if (qload)
		col_add(&t, align, "LOAD%", 'r');
	json_array_foreach(ports, i, p) {
		json_array_foreach(json_object_get(p, "queues"), j, q) {
			table_json(&t, json_object_get(p, "name"), -1);
			table_json(&t, json_object_get(q, "queue"), -1);
			table_json(&t, json_object_get(q, "rx_packets"), -1);
			table_json(&t, json_object_get(q, "rx_bytes"), -1);
			table_json(&t, json_object_get(q, "tx_packets"), -1);
			table_json(&t, json_object_get(q, "tx_bytes"), -1);
			if (qworker)
				table_worker(&t, json_object_get(q, "worker"));
			if (qpinned)
				table_cell(&t, "%s", json_is_true(json_object_get(q, "pinned")) ?
					   "yes" : "-");
			if (qload)
				table_frac_pct(&t, json_object_get(q, "load"));
		}
	}
	if (t.n_cells > t.n_cols) {
		fputc('\n', stdout);
		table_print(&t);
	}
	table_free(&t);

	/*
	 * Only non-zero reasons: the full list is long and mostly zeros. The
	 * device's own counters count too, they are packets xvio never saw.
	 */
	fputs("\ndrops by port:", stdout);
	json_array_foreach(ports, i, p) {
		bool port_any = false;

		line = NULL;
		f = open_memstream(&line, &len);
		if (f == NULL)
			die_oom();
		drop_reasons(f, json_object_get(p, "drops"), "", NULL, &port_any);
		drop_reasons(f, json_object_get(p, "nic"), "nic.", nic_drop_keys,
			     &port_any);
		fclose(f);
		if (port_any) {
			printf("\n  %s:%s", json_string_value(json_object_get(p, "name")) ?: "?",
			       line);
			any = true;
		}
		free(line);
	}
	fputs(any ? "\n" : " none\n", stdout);

	if (workers != NULL) {
		/*
		 * Columns the daemon does not send (an older one, or no
		 * idle-sleep policy) are left out rather than shown empty.
		 */
		static const struct {
			const char *key, *head;
			char align;
			int kind;	/* 0 as sent, 1 percentage (1 decimal), 2 fraction as % */
		} wcols[] = {
			{ "id", "ID", 'r', 0 }, { "lcore", "LCORE", 'r', 0 },
			{ "cpu", "CPU", 'r', 0 }, { "state", "STATE", 'l', 0 },
			{ "load", "LOAD%", 'r', 2 }, { "busy_pct", "BUSY%", 'r', 1 },
			{ "sleep_pct", "SLEEP%", 'r', 1 }, { "loops", "LOOPS", 'r', 0 },
			{ "sleeps", "SLEEPS", 'r', 0 },
			{ "timer_wakes", "TIMER-WAKES", 'r', 0 },
		};
		bool shown[sizeof(wcols) / sizeof(wcols[0])];
		size_t c, n_wcols = sizeof(wcols) / sizeof(wcols[0]);

		align[0] = '\0';
		table_begin(&t, align);
		for (c = 0; c < n_wcols; c++) {
			shown[c] = any_has(workers, wcols[c].key);
			if (shown[c])
				col_add(&t, align, wcols[c].head, wcols[c].align);
		}
		json_array_foreach(workers, i, w) {
			for (c = 0; c < n_wcols; c++) {
				json_t *v = json_object_get(w, wcols[c].key);

				if (!shown[c])
					continue;
				if (wcols[c].kind == 2)
					table_frac_pct(&t, v);
				else
					table_json(&t, v, wcols[c].kind == 1 ? 1 : -1);
			}
		}
		fputc('\n', stdout);
		table_print(&t);
		table_free(&t);
	}

	if (drops != NULL) {
		any = false;
		printf("\ntotal drops: %" JSON_INTEGER_FORMAT,
		       jint(json_object_get(drops, "total")));
		f = open_memstream(&line, &len);
		if (f == NULL)
			die_oom();
		drop_reasons(f, drops, "", NULL, &any);
		fclose(f);
		if (any)
			printf(" (%s)", line + 1);	/* skip the leading blank */
		fputc('\n', stdout);
		free(line);
	}
}

/* Print the daemon's own command list in a "call" friendly form. */
static void
render_help(json_t *r)
{
	size_t i, j;
	json_t *c, *a;

	print_usage(stdout);
	fputs("\ndaemon commands (xvioctl call CMD '{\"ARG\": VALUE, ...}'):\n", stdout);
	json_array_foreach(json_object_get(r, "commands"), i, c) {
		const char *help = json_string_value(json_object_get(c, "help"));

		printf("  %s", json_string_value(json_object_get(c, "cmd")) ?: "?");
		json_array_foreach(json_object_get(c, "args"), j, a) {
			const char *name = json_string_value(json_object_get(a, "name"));
			const char *type = json_string_value(json_object_get(a, "type"));
			bool req = json_is_true(json_object_get(a, "required"));
			json_t *min = json_object_get(a, "min");
			json_t *max = json_object_get(a, "max");

			printf(" %s%s%s%s", req ? "" : "[", name ?: "?",
			       type != NULL ? ":" : "", type ?: "");
			if (json_is_integer(min) && json_is_integer(max))
				printf("(%" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT ")",
				       json_integer_value(min), json_integer_value(max));
			fputs(req ? "" : "]", stdout);
		}
		fputc('\n', stdout);
		if (help != NULL)
			printf("      %s\n", help);
	}
}

/* Every field of 'r' as key/value lines, as sent. */
static void
render_kv(json_t *r)
{
	const char *k;
	json_t *v;

	json_object_foreach(r, k, v)
		kv_json(k, v);
}

/*
 * A list cell: the scalars of array 'list' joined with commas, "-" when it
 * is empty or absent; any other value as table_json() shows it.
 */
static void
table_list(struct table *t, json_t *list)
{
	char buf[64];
	char *cell = NULL;
	size_t len = 0, i;
	json_t *e;
	FILE *f;

	if (!json_is_array(list) || json_array_size(list) == 0) {
		table_json(t, json_is_array(list) ? NULL : list, -1);
		return;
	}
	f = open_memstream(&cell, &len);
	if (f == NULL)
		die_oom();
	json_array_foreach(list, i, e)
		fprintf(f, "%s%s", i > 0 ? "," : "", fmt_scalar(e, -1, buf, sizeof(buf)));
	fclose(f);
	table_cell(t, "%s", cell);
	free(cell);
}

static void
render_network_list(json_t *r)
{
	struct table t;
	size_t i;
	json_t *n;

	table_init(&t, "lrl", "NAME", "ZONE", "PORTS");
	json_array_foreach(json_object_get(r, "networks"), i, n) {
		table_json(&t, json_object_get(n, "name"), -1);
		table_json(&t, json_object_get(n, "zone"), -1);
		table_list(&t, json_object_get(n, "ports"));
	}
	table_print(&t);
	table_free(&t);
}

static void
render_sg_list(json_t *r)
{
	struct table t;
	size_t i;
	json_t *g;

	table_init(&t, "lrl", "NAME", "RULES", "PORTS");
	json_array_foreach(json_object_get(r, "groups"), i, g) {
		table_json(&t, json_object_get(g, "name"), -1);
		table_json(&t, json_object_get(g, "rules"), -1);
		table_list(&t, json_object_get(g, "ports"));
	}
	table_print(&t);
	table_free(&t);
}

/* Keys render_sg() shows in its own words; others are printed as sent. */
static const char *const sg_keys[] = { "name", "ports", "rules", NULL };

/* A security group (sg show, sg add): its ports, then its rules in a table. */
static void
render_sg(json_t *g)
{
	json_t *rules = json_object_get(g, "rules");
	json_t *ports = json_object_get(g, "ports");
	struct table t;
	char buf[64];
	const char *k;
	size_t i;
	json_t *rule, *v;

	kv("name", "%s", fmt_scalar(json_object_get(g, "name"), -1, buf, sizeof(buf)));
	if (json_array_size(ports) > 0)
		kv_words("ports", ports);
	else
		kv("ports", "-");
	json_object_foreach(g, k, v)
		if (!key_in(k, sg_keys))
			kv_json(k, v);
	kv("rules", "%zu", json_array_size(rules));
	if (json_array_size(rules) == 0)
		return;

	/* REMOTE: a prefix, "group SG" for a remote group, "-" for anyone. */
	table_init(&t, "rlllll", "ID", "DIRECTION", "FAMILY", "PROTO", "PORTS",
		   "REMOTE");
	json_array_foreach(rules, i, rule) {
		json_t *group = json_object_get(rule, "remote_group");

		table_json(&t, json_object_get(rule, "id"), -1);
		table_json(&t, json_object_get(rule, "direction"), -1);
		table_cell(&t, "%s", json_is_true(json_object_get(rule, "ipv6")) ?
			   "IPv6" : "IPv4");
		table_json(&t, json_object_get(rule, "proto"), -1);
		table_json(&t, json_object_get(rule, "ports"), -1);
		if (json_is_string(group))
			table_cell(&t, "group %s", json_string_value(group));
		else
			table_json(&t, json_object_get(rule, "remote"), -1);
	}
	fputc('\n', stdout);
	table_print(&t);
	table_free(&t);
}

/* The ids of the rules just added, one per line (for $(...) in scripts). */
static void
render_rule_ids(json_t *r)
{
	char buf[64];
	size_t i;
	json_t *id;

	json_array_foreach(json_object_get(r, "ids"), i, id)
		printf("%s\n", fmt_scalar(id, -1, buf, sizeof(buf)));
}

/* "ADDR:PORT" ("[ADDR]:PORT" for IPv6) into 'buf'; ADDR alone without a port. */
static const char *
fmt_endpoint(json_t *addr, json_t *port, char *buf, size_t size)
{
	char abuf[64], pbuf[32];
	const char *a = fmt_scalar(addr, -1, abuf, sizeof(abuf));

	if (port == NULL || json_is_null(port))
		snprintf(buf, size, "%s", a);
	else
		snprintf(buf, size, strchr(a, ':') != NULL ? "[%s]:%s" : "%s:%s", a,
			 fmt_scalar(port, -1, pbuf, sizeof(pbuf)));
	return buf;
}

static void
render_ct_list(json_t *r)
{
	json_t *conns = json_object_get(r, "connections");
	struct table t;
	char buf[128];
	size_t i;
	json_t *c;

	table_init(&t, "llrlllr", "NETWORK", "PROTO", "SOURCE", "", "DESTINATION",
		   "STATE", "EXPIRES");
	json_array_foreach(conns, i, c) {
		json_t *exp = json_object_get(c, "expires_ms");

		table_json(&t, json_object_get(c, "network"), -1);
		table_json(&t, json_object_get(c, "proto"), -1);
		table_cell(&t, "%s", fmt_endpoint(json_object_get(c, "src"),
						  json_object_get(c, "sport"), buf, sizeof(buf)));
		table_cell(&t, "->");
		table_cell(&t, "%s", fmt_endpoint(json_object_get(c, "dst"),
						  json_object_get(c, "dport"), buf, sizeof(buf)));
		table_json(&t, json_object_get(c, "state"), -1);
		/* Seconds, or H:MM:SS from a minute on (TCP lasts days). */
		if (json_is_number(exp) && json_number_value(exp) < 60000)
			table_cell(&t, "%.1fs", json_number_value(exp) / 1000.0);
		else if (json_is_number(exp))
			table_cell(&t, "%s", fmt_hms((long)(json_number_value(exp) / 1000),
						     buf, sizeof(buf)));
		else
			table_json(&t, exp, -1);
	}
	table_print(&t);
	table_free(&t);
	if (json_is_true(json_object_get(r, "truncated")))
		printf("(only the first %zu connections: the table holds more; "
		       "'xvioctl ct count' says how many)\n", json_array_size(conns));
}

/* -------------------------------------------------------------------------
 * Command handlers.
 */

static int
cmd_version(struct cli *cli)
{
	return run(cli, "version", xjson(json_object()), render_version);
}

static int
cmd_status(struct cli *cli)
{
	return run(cli, "status", xjson(json_object()), render_status);
}

static int
cmd_help(struct cli *cli)
{
	return run(cli, "help", xjson(json_object()), render_help);
}

static int
cmd_config(struct cli *cli)
{
	/* Already the --config file format: JSON is the readable form. */
	return run(cli, "config", xjson(json_object()), print_json);
}

/* Arguments of a command with one optional word: {} or {key: word}. */
static json_t *
optional_arg(const struct cli *cli, const char *key)
{
	if (cli->n_args == 0)
		return xjson(json_object());
	return xjson(json_pack("{s:s}", key, cli->args[0]));
}

/* The arguments of the commands that take one name. */
static json_t *
name_arg(const struct cli *cli)
{
	return xjson(json_pack("{s:s}", "name", cli->args[0]));
}

/* A number of at most 9 digits, nothing else ("+1", " 1", "1x" are not). */
static bool
parse_small_uint(const char *s, long *out)
{
	size_t len = strlen(s);

	if (len == 0 || len > 9 || strspn(s, "0123456789") != len)
		return false;
	*out = strtol(s, NULL, 10);
	return true;
}

/* An option given as on|off; a bare flag (no value) is on. 1, 0, or -1 if neither. */
static int
parse_onoff(const char *v)
{
	if (v == NULL || strcmp(v, "on") == 0)
		return 1;
	if (strcmp(v, "off") == 0)
		return 0;
	return -1;
}

/* An option that becomes an argument of the request. */
struct opt_arg {
	int oi;			/* OI_* */
	const char *key;	/* the argument's name in doc/api.md */
	bool onoff;		/* on|off (or a bare flag) as a bool; else the value as a string */
};

/* What a port's place in a network is made of: port add and port set. */
static const struct opt_arg port_net_opts[] = {
	{ OI_NETWORK, "network", false },
	{ OI_MAC, "mac", false },
	{ OI_IP, "ip", false },
	{ OI_SG, "sg", false },
	{ OI_PORT_SECURITY, "port_security", true },
	{ OI_UPLINK, "uplink", true },
};

static const struct opt_arg rule_opts[] = {
	{ OI_PROTO, "proto", false },
	{ OI_PORTS, "ports", false },
	{ OI_REMOTE, "remote", false },
	{ OI_REMOTE_GROUP, "remote_group", false },
	{ OI_IPV6, "ipv6", true },
};

/*
 * Set in 'args' the arguments of the options in 'map' that were given.
 * Values go as typed (addresses, prefixes, protocols are the daemon's to
 * judge), except on|off which must be one of those. Returns XC_OK, or the
 * usage error; 'args' is the caller's either way.
 */
static int
opts_to_args(const struct cli *cli, json_t *args, const struct opt_arg *map,
	     size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *v = cli->val[map[i].oi];
		int b;

		if (!(cli->opts & OPT(map[i].oi)))
			continue;
		if (!map[i].onoff) {
			json_object_set_new(args, map[i].key, xjson(json_string(v)));
			continue;
		}
		b = parse_onoff(v);
		if (b < 0)
			return usage_error(cli, "%s takes on or off, not '%s'",
					   opt_specs[map[i].oi].name, v);
		json_object_set_new(args, map[i].key, json_boolean(b));
	}
	return XC_OK;
}

#define N_OPT_ARGS(map) (sizeof(map) / sizeof((map)[0]))

static int
cmd_port_add(struct cli *cli)
{
	const char *name = cli->args[0], *type = cli->args[1];
	const char *where = cli->args[2];
	json_t *args;
	int rc;

	args = xjson(json_pack("{s:s, s:s}", "name", name, "type", type));
	if (cli->opts & OPT_QUEUES) {
		const char *q = cli->val[OI_QUEUES];
		long n = strtol(q, NULL, 10);

		/* Digits only: strtol alone would accept " 2", "+2" and "2x". */
		if (*q == '\0' || strspn(q, "0123456789") != strlen(q) ||
		    strlen(q) > 2 || n < 1 || n > XVIOCTL_QUEUES_MAX) {
			json_decref(args);
			return usage_error(cli, "--queues must be an integer from 1 to %d, not '%s'",
					   XVIOCTL_QUEUES_MAX, q);
		}
		json_object_set_new(args, "queues", xjson(json_integer(n)));
	}

	if (strcmp(type, "vhost") == 0) {
		char *path = NULL;
		json_t *jpath;

		/*
		 * The daemon resolves relative paths against its own working
		 * directory, which is not the user's: make the path absolute
		 * here so it means what the user typed.
		 */
		if (where[0] != '/' && where[0] != '\0') {
			char *cwd = getcwd(NULL, 0);

			if (cwd != NULL)
				path = xasprintf("%s%s%s", cwd,
						 strcmp(cwd, "/") == 0 ? "" : "/", where);
			free(cwd);
		}
		jpath = json_string(path != NULL ? path : where);
		free(path);
		if (jpath == NULL) {
			json_decref(args);
			return usage_error(cli, "the socket path is not valid UTF-8");
		}
		json_object_set_new(args, "path", jpath);
		if (cli->opts & OPT_CLIENT)
			json_object_set_new(args, "client", json_true());
	} else if (strcmp(type, "eth") == 0) {
		if (cli->opts & OPT_CLIENT) {
			json_decref(args);
			return usage_error(cli, "--client applies to vhost ports only");
		}
		json_object_set_new(args, "devargs", xjson(json_string(where)));
	} else {
		json_decref(args);
		return usage_error(cli, "unknown port type '%s' (vhost or eth)", type);
	}
	rc = opts_to_args(cli, args, port_net_opts, N_OPT_ARGS(port_net_opts));
	if (rc != XC_OK) {
		json_decref(args);
		return rc;
	}
	return run(cli, "port.add", args, render_port);
}

static int
cmd_port_set(struct cli *cli)
{
	json_t *args;
	int rc;

	if (!(cli->opts & OPTS_PORT_NET))
		return usage_error(cli, "'port set' needs something to set: --network, --mac, --ip, --sg, --port-security or --uplink");
	args = xjson(json_pack("{s:s}", "name", cli->args[0]));
	rc = opts_to_args(cli, args, port_net_opts, N_OPT_ARGS(port_net_opts));
	if (rc != XC_OK) {
		json_decref(args);
		return rc;
	}
	return run(cli, "port.set", args, render_port);
}

static int
cmd_port_del(struct cli *cli)
{
	return run(cli, "port.del", name_arg(cli), NULL);
}

static int
cmd_port_list(struct cli *cli)
{
	return run(cli, "port.list", xjson(json_object()), render_port_list);
}

static int
cmd_port_show(struct cli *cli)
{
	return run(cli, "port.show", name_arg(cli), render_port);
}

static int
cmd_relay_add(struct cli *cli)
{
	return run(cli, "relay.add", xjson(json_pack("{s:s, s:s}", "a", cli->args[0],
						     "b", cli->args[1])), NULL);
}

static int
cmd_relay_del(struct cli *cli)
{
	return run(cli, "relay.del", xjson(json_pack("{s:s, s:s}", "a", cli->args[0],
						     "b", cli->args[1])), NULL);
}

static int
cmd_relay_list(struct cli *cli)
{
	return run(cli, "relay.list", xjson(json_object()), render_relay_list);
}

static int
cmd_stats(struct cli *cli)
{
	return run(cli, "stats", optional_arg(cli, "port"), render_stats);
}

static int
cmd_stats_clear(struct cli *cli)
{
	return run(cli, "stats.clear", optional_arg(cli, "port"), NULL);
}

static int
cmd_network_add(struct cli *cli)
{
	return run(cli, "network.add", name_arg(cli), render_kv);
}

static int
cmd_network_del(struct cli *cli)
{
	return run(cli, "network.del", name_arg(cli), NULL);
}

static int
cmd_network_list(struct cli *cli)
{
	return run(cli, "network.list", xjson(json_object()), render_network_list);
}

static int
cmd_sg_add(struct cli *cli)
{
	return run(cli, "sg.add", name_arg(cli), render_sg);
}

static int
cmd_sg_del(struct cli *cli)
{
	return run(cli, "sg.del", name_arg(cli), NULL);
}

static int
cmd_sg_list(struct cli *cli)
{
	return run(cli, "sg.list", xjson(json_object()), render_sg_list);
}

static int
cmd_sg_show(struct cli *cli)
{
	return run(cli, "sg.show", name_arg(cli), render_sg);
}

static int
cmd_sg_rule_add(struct cli *cli)
{
	const char *dir = cli->args[1];
	json_t *args;
	int rc;

	if (strcmp(dir, "ingress") != 0 && strcmp(dir, "egress") != 0)
		return usage_error(cli, "the direction is ingress or egress, not '%s'", dir);
	if ((cli->opts & OPT(OI_REMOTE)) && (cli->opts & OPT(OI_REMOTE_GROUP)))
		return usage_error(cli, "a rule has --remote or --remote-group, not both");
	args = xjson(json_pack("{s:s, s:s}", "sg", cli->args[0], "direction", dir));
	rc = opts_to_args(cli, args, rule_opts, N_OPT_ARGS(rule_opts));
	if (rc != XC_OK) {
		json_decref(args);
		return rc;
	}
	return run(cli, "sg.rule.add", args, render_rule_ids);
}

static int
cmd_sg_rule_del(struct cli *cli)
{
	const char *id = cli->args[1];
	size_t len = strlen(id);

	/* Digits only; which ids exist (from 1) is the daemon's to say. */
	if (len == 0 || len > 18 || strspn(id, "0123456789") != len)
		return usage_error(cli, "RULE_ID must be a rule number, not '%s'", id);
	return run(cli, "sg.rule.del", xjson(json_pack("{s:s, s:I}", "sg", cli->args[0],
						       "id", (json_int_t)strtoll(id, NULL, 10))),
		   NULL);
}

static int
cmd_ct_list(struct cli *cli)
{
	return run(cli, "ct.list", optional_arg(cli, "network"), render_ct_list);
}

static int
cmd_ct_count(struct cli *cli)
{
	return run(cli, "ct.count", optional_arg(cli, "network"), render_kv);
}

static int
cmd_ct_flush(struct cli *cli)
{
	return run(cli, "ct.flush", optional_arg(cli, "network"), render_kv);
}

/*
 * The raw escape hatch: the reply is printed as received (one line, for jq)
 * or pretty-printed with --json, whether or not it is an error.
 */
static int
cmd_call(struct cli *cli)
{
	json_t *req, *reply;
	char *line;
	int rc;

	req = xjson(json_pack("{s:i, s:s}", "id", 1, "cmd", cli->args[0]));
	if (cli->n_args > 1) {
		json_error_t jerr;
		json_t *args = json_loads(cli->args[1], JSON_DECODE_ANY, &jerr);

		/* Not checked for being an object: that is the daemon's call. */
		if (args == NULL) {
			json_decref(req);
			return usage_error(cli, "JSON-ARGS is not JSON: %s (column %d)",
					   jerr.text, jerr.column);
		}
		json_object_set_new(req, "args", args);
	}
	rc = ctl_exchange(cli, req, &reply, &line);
	json_decref(req);
	if (rc != XC_OK)
		return rc;
	if (cli->json)
		print_json(reply);
	else
		puts(line);
	if (!json_is_true(json_object_get(reply, "ok")))
		rc = report_error(reply);
	json_decref(reply);
	free(line);
	return rc;
}

static int
cmd_port_pin(struct cli *cli)
{
	const char *qs = cli->args[1], *ws = cli->args[2];
	long queue, worker;

	if (!parse_small_uint(qs, &queue))
		return usage_error(cli, "QUEUE must be a queue number, not '%s'", qs);
	/* "-1" is the protocol's spelling; it can only come after "--". */
	if (strcmp(ws, "auto") == 0 || strcmp(ws, "-1") == 0)
		worker = -1;
	else if (!parse_small_uint(ws, &worker))
		return usage_error(cli, "WORKER must be a worker number or 'auto', not '%s'",
				   ws);
	/* Ranges are the daemon's to check: it knows the queues and workers. */
	return run(cli, "port.pin", xjson(json_pack("{s:s, s:i, s:i}", "name",
						    cli->args[0], "queue", (int)queue,
						    "worker", (int)worker)), NULL);
}

/* -------------------------------------------------------------------------
 * top: the stats of the daemon as rates, redrawn every --interval.
 */

#define TOP_INTERVAL_MIN 0.1
#define TOP_INTERVAL_MAX 86400.0

struct top {
	json_t *status;		/* fetched once, for the header */
	double status_t;	/* when it was fetched (now_s()) */
	double interval;
	json_t *prev;		/* the previous frame's stats, NULL on the first */
	double prev_t;
	int max_lines;		/* terminal height, 0 when not a terminal */
};

/* One queue line, with its rates when the previous frame had the queue. */
struct top_row {
	json_t *port, *queue;
	bool rates;
	double rx_pps, tx_pps, rx_bps, drops_ps;
	double key;		/* sort: rx rate, or rx packets on the first frame */
	size_t order;		/* order in the reply, to break ties */
};

static void
top_on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

/* The object of array 'list' whose 'key' equals that of 'like', or NULL. */
static json_t *
find_like(json_t *list, const char *key, json_t *like)
{
	json_t *want = json_object_get(like, key), *o;
	size_t i;

	if (want == NULL)
		return NULL;
	json_array_foreach(list, i, o)
		if (json_equal(json_object_get(o, key), want))
			return o;
	return NULL;
}

/*
 * The growth of counter 'key' from 'prev' to 'cur' in *d. False when either
 * is missing, or when it went down (stats clear, or a port re-added under
 * the same name): no rate can be told then.
 */
static bool
counter_delta(json_t *cur, json_t *prev, const char *key, double *d)
{
	json_t *c = json_object_get(cur, key), *p = json_object_get(prev, key);

	if (!json_is_integer(c) || !json_is_integer(p) ||
	    json_integer_value(c) < json_integer_value(p))
		return false;
	*d = (double)(json_integer_value(c) - json_integer_value(p));
	return true;
}

static int
top_row_cmp(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? 1 : -1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void
top_header(FILE *f, const struct top *tp, json_t *st, double t, double dt)
{
	json_t *status = tp->status, *rb = json_object_get(st, "rebalance");
	json_t *ports = json_object_get(st, "ports");
	json_t *idle = json_object_get(status, "idle_us");
	json_t *wake = json_object_get(status, "wake_us");
	const char *policy = json_string_value(json_object_get(status, "poll_policy"));
	double up = json_number_value(json_object_get(status, "uptime_s")) +
		    (t - tp->status_t);
	double rx = 0, tx = 0, drops = 0, d;
	time_t wall = time(NULL);
	char buf[64], hms[16] = "";
	struct tm tm;
	size_t i;
	json_t *p;

	if (localtime_r(&wall, &tm) != NULL)
		strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	fprintf(f, "xvio %" JSON_INTEGER_FORMAT ", up %s, %zu port%s, poll %s",
		jint(json_object_get(status, "pid")), fmt_hms((long)up, buf, sizeof(buf)),
		json_array_size(ports), json_array_size(ports) == 1 ? "" : "s",
		policy ?: "?");
	if (policy != NULL && strcmp(policy, "hybrid") == 0 &&
	    json_is_integer(idle) && json_is_integer(wake))
		fprintf(f, " (idle %" JSON_INTEGER_FORMAT " us, wake %" JSON_INTEGER_FORMAT " us)",
			json_integer_value(idle), json_integer_value(wake));
	fprintf(f, "  %s\n", hms);

	if (json_is_object(rb))
		fprintf(f, "rebalance %s: %" JSON_INTEGER_FORMAT " rebalances, %"
			JSON_INTEGER_FORMAT " queues moved\n",
			json_is_false(json_object_get(rb, "auto")) ? "off" : "auto",
			jint(json_object_get(rb, "rebalances")),
			jint(json_object_get(rb, "queues_moved")));
	else
		fputs("rebalance: -\n", f);
	if (tp->prev == NULL || dt <= 0) {
		fputs("total: rates from the next frame\n", f);
		return;
	}
	/* Daemon-wide: ports that came or went in between are left out. */
	json_array_foreach(ports, i, p) {
		json_t *pp = find_like(json_object_get(tp->prev, "ports"), "name", p);

		if (counter_delta(json_object_get(p, "rx"), json_object_get(pp, "rx"),
				  "packets", &d))
			rx += d;
		if (counter_delta(json_object_get(p, "tx"), json_object_get(pp, "tx"),
				  "packets", &d))
			tx += d;
	}
	if (counter_delta(json_object_get(st, "drops"), json_object_get(tp->prev, "drops"),
			  "total", &d))
		drops = d;
	fprintf(f, "total: rx %.3f Mpps, tx %.3f Mpps, %.0f drops/s\n", rx / dt / 1e6,
		tx / dt / 1e6, drops / dt);
}

static void
top_workers(FILE *f, const struct top *tp, json_t *st, double dt)
{
	json_t *prev = json_object_get(tp->prev, "workers");
	struct table t;
	size_t i;
	json_t *w;

	table_init(&t, "rrlrrrr", "ID", "CPU", "STATE", "LOAD%", "BUSY%",
		   "SLEEP%", "SLEEPS/s");
	json_array_foreach(json_object_get(st, "workers"), i, w) {
		json_t *pw = find_like(prev, "id", w);
		double busy, idle, sleep, all = 0, sleeps;

		table_json(&t, json_object_get(w, "id"), -1);
		table_json(&t, json_object_get(w, "cpu"), -1);
		table_json(&t, json_object_get(w, "state"), -1);
		table_frac_pct(&t, json_object_get(w, "load"));
		/* Shares of the cycles the worker spent since the last frame. */
		if (pw != NULL && counter_delta(w, pw, "busy_cycles", &busy) &&
		    counter_delta(w, pw, "idle_cycles", &idle) &&
		    counter_delta(w, pw, "sleep_cycles", &sleep))
			all = busy + idle + sleep;
		if (all > 0) {
			table_cell(&t, "%.1f", 100.0 * busy / all);
			table_cell(&t, "%.1f", 100.0 * sleep / all);
		} else {
			table_cell(&t, "-");
			table_cell(&t, "-");
		}
		if (pw != NULL && dt > 0 && counter_delta(w, pw, "sleeps", &sleeps))
			table_cell(&t, "%.0f", sleeps / dt);
		else
			table_cell(&t, "-");
	}
	table_fprint(f, &t);
	table_free(&t);
}

/*
 * The queues, busiest first. Rates need the queue in the previous frame;
 * on the first frame the order is by packets received so far. 'max_rows'
 * (0: no limit) keeps the frame within the terminal.
 */
static void
top_queues(FILE *f, const struct top *tp, json_t *st, double dt, int max_rows)
{
	json_t *pports = json_object_get(tp->prev, "ports");
	struct top_row *rows = NULL, *r;
	size_t n = 0, cap = 0, i, j, shown;
	struct table t;
	json_t *p, *q;

	json_array_foreach(json_object_get(st, "ports"), i, p) {
		json_t *pp = find_like(pports, "name", p);
		double port_drops = -1, d;

		if (dt > 0 && counter_delta(json_object_get(p, "drops"),
					    json_object_get(pp, "drops"), "total", &d))
			port_drops = d / dt;
		json_array_foreach(json_object_get(p, "queues"), j, q) {
			json_t *pq = find_like(json_object_get(pp, "queues"), "queue", q);
			double rxp, txp, rxb;

			if (n == cap) {
				cap = cap ? 2 * cap : 32;
				rows = xrealloc(rows, cap * sizeof(*rows));
			}
			r = &rows[n];
			memset(r, 0, sizeof(*r));
			r->port = p;
			r->queue = q;
			r->order = n++;
			r->key = -1;
			if (tp->prev == NULL) {
				r->key = (double)jint(json_object_get(q, "rx_packets"));
			} else if (dt > 0 && pq != NULL &&
				   counter_delta(q, pq, "rx_packets", &rxp) &&
				   counter_delta(q, pq, "tx_packets", &txp) &&
				   counter_delta(q, pq, "rx_bytes", &rxb)) {
				r->rates = true;
				r->rx_pps = rxp / dt;
				r->tx_pps = txp / dt;
				r->rx_bps = rxb * 8 / dt;
				r->drops_ps = port_drops;
				r->key = r->rx_pps;
			}
		}
	}
	if (n > 0)
		qsort(rows, n, sizeof(*rows), top_row_cmp);

	shown = n;
	if (max_rows > 0 && n > (size_t)max_rows)
		shown = max_rows - 1;	/* and a line saying how many more */
	table_init(&t, "lrrlrrrrr", "PORT", "Q", "WORKER", "PIN", "RX-Mpps",
		   "TX-Mpps", "RX-Gbps", "DROPS/s", "LOAD%");
	for (i = 0; i < shown; i++) {
		r = &rows[i];
		table_json(&t, json_object_get(r->port, "name"), -1);
		table_json(&t, json_object_get(r->queue, "queue"), -1);
		table_worker(&t, json_object_get(r->queue, "worker"));
		table_cell(&t, "%s", json_is_true(json_object_get(r->queue, "pinned")) ?
			   "yes" : "-");
		if (r->rates) {
			table_cell(&t, "%.3f", r->rx_pps / 1e6);
			table_cell(&t, "%.3f", r->tx_pps / 1e6);
			table_cell(&t, "%.2f", r->rx_bps / 1e9);
		} else {
			table_cell(&t, "-");
			table_cell(&t, "-");
			table_cell(&t, "-");
		}
		if (r->rates && r->drops_ps >= 0)
			table_cell(&t, "%.0f", r->drops_ps);
		else
			table_cell(&t, "-");
		table_frac_pct(&t, json_object_get(r->queue, "load"));
	}
	table_fprint(f, &t);
	table_free(&t);
	if (shown < n)
		fprintf(f, "... %zu more queue%s (a taller terminal shows them)\n",
			n - shown, n - shown == 1 ? "" : "s");
	free(rows);
}

/* Lines of the terminal on stdout, 0 when unknown. */
static int
terminal_lines(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
		return 0;
	return ws.ws_row;
}

/* One frame into 'f': header, workers, queues. 't' is when 'st' came. */
static void
top_frame(FILE *f, const struct top *tp, json_t *st, double t)
{
	double dt = tp->prev != NULL ? t - tp->prev_t : 0;
	int max_rows = 0;

	top_header(f, tp, st, t, dt);
	fputc('\n', f);
	top_workers(f, tp, st, dt);
	fputc('\n', f);
	if (tp->max_lines > 0) {
		/*
		 * Header 3, blank, workers 1 + n, blank, queue header, and
		 * the line the cursor rests on: the rest is for queues.
		 */
		max_rows = tp->max_lines - 8 -
			   (int)json_array_size(json_object_get(st, "workers"));
		if (max_rows < 2)
			max_rows = 2;
	}
	top_queues(f, tp, st, dt, max_rows);
}

/*
 * Put a frame on the screen. On a terminal: home the cursor and overwrite
 * in place, clearing each line's end and what is below (no flicker, unlike
 * clearing first). Otherwise frames follow each other, a blank line apart.
 * Returns false when stdout is gone (e.g. 'top | head').
 */
static bool
top_show(const char *frame, size_t len, bool tty, bool first)
{
	if (!tty) {
		if (!first)
			fputc('\n', stdout);
		fwrite(frame, 1, len, stdout);
	} else {
		fputs(first ? "\033[H\033[2J" : "\033[H", stdout);
		while (len > 0) {
			const char *nl = memchr(frame, '\n', len);
			size_t n = nl != NULL ? (size_t)(nl - frame) : len;

			fwrite(frame, 1, n, stdout);
			fputs("\033[K\n", stdout);
			if (nl == NULL)
				break;
			len -= n + 1;
			frame += n + 1;
		}
		fputs("\033[J", stdout);
	}
	return fflush(stdout) == 0 && !ferror(stdout);
}

static int
cmd_top(struct cli *cli)
{
	struct top tp = { .interval = 1.0 };
	struct sigaction sa = { .sa_handler = top_on_signal };
	bool tty = isatty(STDOUT_FILENO);
	long count = 0, frame;
	double next;
	int rc;

	if (cli->json)
		return usage_error(cli, "top draws tables only; for JSON use 'xvioctl --json stats'");
	if (cli->opts & OPT_INTERVAL) {
		const char *v = cli->val[OI_INTERVAL];
		char *end;

		errno = 0;
		tp.interval = strtod(v, &end);
		if (*v == '\0' || *end != '\0' || errno != 0 ||
		    !(tp.interval >= TOP_INTERVAL_MIN && tp.interval <= TOP_INTERVAL_MAX))
			return usage_error(cli, "--interval must be seconds from %g to %.0f, not '%s'",
					   TOP_INTERVAL_MIN, TOP_INTERVAL_MAX, v);
	}
	if ((cli->opts & OPT_COUNT) &&
	    (!parse_small_uint(cli->val[OI_COUNT], &count) || count < 1))
		return usage_error(cli, "--count must be a number of frames from 1, not '%s'",
				   cli->val[OI_COUNT]);

	/* No SA_RESTART: a signal must cut short the sleep and any request. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = request(cli, "status", xjson(json_object()), &tp.status);
	if (rc != XC_OK)
		goto out;
	tp.status_t = now_s();
	if (tty) {
		fputs("\033[?25l", stdout);	/* hide the cursor while drawing */
		fflush(stdout);
	}
	next = now_s();
	for (frame = 0; count == 0 || frame < count; frame++) {
		char *buf = NULL;
		size_t len = 0;
		json_t *st;
		double t;
		FILE *f;
		bool shown;

		while (!top_stop) {
			double left = next - now_s();
			struct timespec ts;

			if (left <= 0)
				break;
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
			nanosleep(&ts, NULL);	/* EINTR: the loop checks top_stop */
		}
		if (top_stop)
			break;
		rc = request(cli, "stats", xjson(json_object()), &st);
		if (rc != XC_OK)
			break;
		t = now_s();

		f = open_memstream(&buf, &len);
		if (f == NULL)
			die_oom();
		tp.max_lines = tty ? terminal_lines() : 0;
		top_frame(f, &tp, st, t);
		fclose(f);
		shown = top_show(buf, len, tty, frame == 0);
		free(buf);

		json_decref(tp.prev);
		tp.prev = st;
		tp.prev_t = t;
		if (!shown)
			break;	/* nobody reads any more: not an error */
		next += tp.interval;
		if (next < now_s())
			next = now_s();	/* fell behind: no burst of catch-up frames */
	}
	if (tty) {
		fputs("\033[?25h", stdout);
		fflush(stdout);
	}
out:
	if (rc == XC_STOPPED)
		rc = XC_OK;
	json_decref(tp.prev);
	json_decref(tp.status);
	return rc;
}

static const struct command commands[] = {
	{ "version", 0, 0, 0, cmd_version, "version",
	  "Show the versions of xvio, DPDK, the control API and xvioctl." },
	{ "status", 0, 0, 0, cmd_status, "status",
	  "Show the daemon's pid, uptime, memory use and workers." },
	{ "help", 0, 0, 0, cmd_help, "help",
	  "Show this usage and the daemon's own command list." },
	{ "config", 0, 0, 0, cmd_config, "config",
	  "Print the current setup (networks, groups, ports, relays) as a file\n"
	  "for 'xvio --config'." },
	{ "port add", 3, 3, OPT_CLIENT | OPT_QUEUES | OPTS_PORT_NET, cmd_port_add,
	  "port add NAME vhost PATH [--client] [--queues N]\n"
	  "port add NAME eth DEVARGS [--queues N]\n"
	  "port add NAME vhost PATH --network NET --mac MAC --ip ADDR[,ADDR...] [--sg SG,..] [--port-security on|off]\n"
	  "port add NAME eth DEVARGS --network NET --uplink",
	  "Add a vhost-user port (xvio creates PATH, or connects to it with --client)\n"
	  "or a DPDK ethdev port (PCI address or vdev); N queue pairs, 1-16.\n"
	  "With --network (which --client and --queues may join), the port is in\n"
	  "virtual network NET: a VM port with its MAC, addresses (ADDR[/PLEN]) and\n"
	  "security groups (port security on by default), or an uplink." },
	{ "port set", 1, 1, OPTS_PORT_NET, cmd_port_set,
	  "port set NAME [--network NET] [--mac MAC] [--ip ADDR,..] [--sg SG[,SG...]] [--port-security on|off] [--uplink on|off]",
	  "Change a port's network settings; --network '' leaves the network,\n"
	  "--sg '' removes every security group." },
	{ "port del", 1, 1, 0, cmd_port_del, "port del NAME",
	  "Remove a port and the relay it is in." },
	{ "port list", 0, 0, 0, cmd_port_list, "port list",
	  "List the ports." },
	{ "port show", 1, 1, 0, cmd_port_show, "port show NAME",
	  "Show one port in detail, with its negotiated virtio features." },
	{ "port pin", 3, 3, 0, cmd_port_pin, "port pin NAME QUEUE WORKER",
	  "Make WORKER poll rx queue QUEUE of port NAME and never move it;\n"
	  "WORKER 'auto' lets xvio place (and rebalance) the queue again." },
	{ "relay add", 2, 2, 0, cmd_relay_add, "relay add A B",
	  "Forward between ports A and B in both directions." },
	{ "relay del", 2, 2, 0, cmd_relay_del, "relay del A B",
	  "Remove the relay between A and B." },
	{ "relay list", 0, 0, 0, cmd_relay_list, "relay list",
	  "List the relays." },
	{ "network add", 1, 1, 0, cmd_network_add, "network add NET",
	  "Create virtual network NET (xvio gives it a conntrack zone)." },
	{ "network del", 1, 1, 0, cmd_network_del, "network del NET",
	  "Remove network NET; it must have no ports." },
	{ "network list", 0, 0, 0, cmd_network_list, "network list",
	  "List the networks with their zones and ports." },
	{ "sg add", 1, 1, 0, cmd_sg_add, "sg add SG",
	  "Create security group SG, with the default rules (egress to anywhere)." },
	{ "sg del", 1, 1, 0, cmd_sg_del, "sg del SG",
	  "Remove security group SG; no port or rule may use it." },
	{ "sg list", 0, 0, 0, cmd_sg_list, "sg list",
	  "List the security groups." },
	{ "sg show", 1, 1, 0, cmd_sg_show, "sg show SG",
	  "Show a security group's rules and ports." },
	{ "sg rule add", 2, 2, OPTS_RULE, cmd_sg_rule_add,
	  "sg rule add SG ingress|egress [--proto P] [--ports LO[-HI]] [--remote PREFIX|--remote-group SG] [--ipv6]",
	  "Add an allow rule to SG and print its id. P: any (default), tcp, udp, icmp,\n"
	  "icmpv6 or 0-255; ports are tcp/udp destination ports, or ICMP types;\n"
	  "the remote end is a prefix or the ports of a group (default: any);\n"
	  "--ipv6 for an IPv6 rule." },
	{ "sg rule del", 2, 2, 0, cmd_sg_rule_del, "sg rule del SG RULE_ID",
	  "Remove rule RULE_ID from SG." },
	{ "ct list", 0, 1, 0, cmd_ct_list, "ct list [NET]",
	  "List the tracked connections, of every network or of NET." },
	{ "ct count", 0, 1, 0, cmd_ct_count, "ct count [NET]",
	  "Count the tracked connections, and show the table's capacity." },
	{ "ct flush", 0, 1, 0, cmd_ct_flush, "ct flush [NET]",
	  "Forget the tracked connections, of every network or of NET." },
	{ "stats clear", 0, 1, 0, cmd_stats_clear, "stats clear [PORT]",
	  "Zero the counters of all ports, or of PORT." },
	{ "stats", 0, 1, 0, cmd_stats, "stats [PORT]",
	  "Show traffic, queue, drop and worker counters, for all ports or PORT." },
	{ "top", 0, 0, OPT_INTERVAL | OPT_COUNT, cmd_top,
	  "top [--interval S] [--count N]",
	  "Live view of the workers and queues with rates, redrawn every S seconds\n"
	  "(default 1) until Ctrl-C, or for N frames." },
	{ "call", 1, 2, 0, cmd_call, "call CMD [JSON-ARGS]",
	  "Send a raw request (see 'xvioctl help') and print the raw reply." },
};

static const size_t n_commands = sizeof(commands) / sizeof(commands[0]);

static void
print_usage(FILE *f)
{
	size_t i;

	fputs("usage: xvioctl [--ctl PATH] [--json] [--timeout S] COMMAND [ARG...]\n"
	      "       xvioctl [COMMAND...] --help | --version\n"
	      "\n"
	      "commands:\n", f);
	for (i = 0; i < n_commands; i++) {
		print_indented(f, "  ", commands[i].usage);
		print_indented(f, "      ", commands[i].help);
	}
	fputs("\n"
	      "options (anywhere before a '--' argument):\n"
	      "  --ctl PATH    daemon socket (default $XVIO_CTL, else " XVIOCTL_CTL_DEFAULT ")\n"
	      "  --json        print the reply's result as JSON instead of tables\n"
	      "  --timeout S   give up waiting for a reply after S seconds (default 30, 0: never)\n"
	      "  -h, --help    show this help, or the help of COMMAND\n"
	      "  -V, --version show the version of xvioctl\n"
	      "\n"
	      "exit status: 0 ok, 1 the daemon reported an error, 2 usage error,\n"
	      "             3 cannot reach the daemon\n", f);
}

/* -------------------------------------------------------------------------
 * Command line.
 */

/*
 * How many of the leading positional words 'pos' match the words of 'c', in
 * order; *all is set when they are all of them (the command is named).
 */
static int
match_prefix(const struct command *c, char **pos, int n_pos, bool *all)
{
	const char *w = c->words;
	int n = 0;

	while (*w != '\0') {
		size_t len = strcspn(w, " ");

		if (n >= n_pos || strlen(pos[n]) != len ||
		    strncmp(pos[n], w, len) != 0) {
			*all = false;
			return n;
		}
		n++;
		w += len;
		if (*w == ' ')
			w++;
	}
	*all = true;
	return n;
}

/* Number of positional words 'c' consumes from 'pos', or 0 if no match. */
static int
match_words(const struct command *c, char **pos, int n_pos)
{
	bool all;
	int n = match_prefix(c, pos, n_pos, &all);

	return all ? n : 0;
}

/*
 * Print to 'f' (if not NULL) the usage of every command whose first word is
 * 'group'. Returns 0, or -1 if there is no such command.
 */
static int
group_usage(FILE *f, const char *group)
{
	bool first = true;
	size_t i;

	for (i = 0; i < n_commands; i++) {
		const struct command *c = &commands[i];
		size_t len = strcspn(c->words, " ");

		if (strlen(group) == len && strncmp(c->words, group, len) == 0) {
			if (f != NULL)
				print_command_usage(f, c, first ? "usage: " : "       ");
			first = false;
		}
	}
	return first ? -1 : 0;
}

/*
 * Value of option 'name' in argv[*i]: after '=' in "--name=V", else the next
 * argument (consumed). NULL after printing a usage error if missing.
 */
static const char *
opt_value(int argc, char **argv, int *i, const char *name)
{
	const char *eq = strchr(argv[*i], '=');

	if (eq != NULL)
		return eq + 1;
	if (*i + 1 >= argc) {
		usage_error(NULL, "option %s needs a value", name);
		return NULL;
	}
	return argv[++*i];
}

static bool
opt_is(const char *arg, const char *name)
{
	size_t len = strlen(name);

	return strncmp(arg, name, len) == 0 && (arg[len] == '\0' || arg[len] == '=');
}

/*
 * The index in opt_specs[] of the command option 'arg' ("--opt", or
 * "--opt=V" for those that take a value), or -1.
 */
static int
command_opt(const char *arg)
{
	int o;

	for (o = 0; o < N_OPTS; o++) {
		if (opt_specs[o].kind == OK_FLAG ? strcmp(arg, opt_specs[o].name) == 0 :
		    opt_is(arg, opt_specs[o].name))
			return o;
	}
	return -1;
}

/*
 * Split argv into options and positional words. Options are recognised
 * anywhere before "--" so they can follow the command
 * ("port add vm1 vhost /x.sock --client"); which command may take which
 * option is checked once the command is known.
 * Returns XC_OK, or the exit status after printing a usage error.
 */
static int
parse_argv(struct cli *cli, int argc, char **argv, char **pos, int *n_pos,
	   bool *version)
{
	bool only_pos = false;
	const char *v;
	int i, o;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			pos[(*n_pos)++] = argv[i];
		} else if (strcmp(a, "--") == 0) {
			only_pos = true;
		} else if (opt_is(a, "--ctl")) {
			v = opt_value(argc, argv, &i, "--ctl");
			if (v == NULL)
				return XC_USAGE;
			if (*v == '\0')
				return usage_error(NULL, "--ctl needs a socket path");
			cli->ctl_path = v;
		} else if (opt_is(a, "--timeout")) {
			char *end;

			v = opt_value(argc, argv, &i, "--timeout");
			if (v == NULL)
				return XC_USAGE;
			errno = 0;
			cli->timeout_s = strtod(v, &end);
			if (*v == '\0' || *end != '\0' || errno != 0 ||
			    !(cli->timeout_s >= 0 && cli->timeout_s <= XVIOCTL_TIMEOUT_MAX))
				return usage_error(NULL, "--timeout needs seconds from 0 (never) to %.0f, not '%s'",
						   XVIOCTL_TIMEOUT_MAX, v);
		} else if (strcmp(a, "--json") == 0) {
			cli->json = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cli->help = true;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			*version = true;
		} else if ((o = command_opt(a)) >= 0) {
			v = NULL;
			if (opt_specs[o].kind == OK_VALUE) {
				v = opt_value(argc, argv, &i, opt_specs[o].name);
				if (v == NULL)
					return XC_USAGE;
			} else if (strchr(a, '=') != NULL) {
				v = strchr(a, '=') + 1;
			} else if (opt_specs[o].kind == OK_FLAG_ONOFF && i + 1 < argc &&
				   (strcmp(argv[i + 1], "on") == 0 ||
				    strcmp(argv[i + 1], "off") == 0)) {
				v = argv[++i];
			}
			cli->val[o] = v;
			cli->opts |= OPT(o);
		} else {
			return usage_error(NULL, "unknown option '%s'", a);
		}
	}
	return XC_OK;
}

int
main(int argc, char **argv)
{
	struct cli cli = {
		.ctl_path = XVIOCTL_CTL_DEFAULT,
		.timeout_s = XVIOCTL_TIMEOUT_DEFAULT,
	};
	const char *env = getenv("XVIO_CTL");
	bool version = false;
	char **pos;
	int n_pos = 0, best = 0, rc, i;
	size_t k;

	/* Errors are reported from send(); a signal would just kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (env != NULL && *env != '\0')
		cli.ctl_path = env;

	pos = xrealloc(NULL, (argc + 1) * sizeof(*pos));
	rc = parse_argv(&cli, argc, argv, pos, &n_pos, &version);
	if (rc != XC_OK)
		goto out;

	if (version) {
		printf("xvioctl %s\n", XV_VERSION);
		goto out;
	}
	if (n_pos == 0) {
		if (cli.help) {
			print_usage(stdout);
			goto out;
		}
		rc = usage_error(NULL, "no command given");
		goto out;
	}

	for (k = 0; k < n_commands; k++) {
		int n = match_words(&commands[k], pos, n_pos);

		if (n > best) {
			best = n;
			cli.cmd = &commands[k];
		}
	}
	if (cli.cmd == NULL && cli.help && group_usage(stdout, pos[0]) == 0)
		goto out;
	if (cli.cmd == NULL) {
		/*
		 * The words that name no command: all of them when they begin
		 * one ("sg rule"), else up to the first that fits nothing.
		 */
		int known = 0, n;

		for (k = 0; k < n_commands; k++) {
			bool all;

			n = match_prefix(&commands[k], pos, n_pos, &all);
			if (n > known)
				known = n;
		}
		n = known < n_pos ? known + 1 : known;
		fprintf(stderr, "xvioctl: %s '", known == n_pos ?
			"incomplete command" : "unknown command");
		for (i = 0; i < n; i++)
			fprintf(stderr, "%s%s", i > 0 ? " " : "", pos[i]);
		fputs("'\n", stderr);
		if (group_usage(stderr, pos[0]) < 0)
			fputs("Try 'xvioctl --help' for the list of commands.\n", stderr);
		rc = XC_USAGE;
		goto out;
	}
	if (cli.help) {
		print_command_usage(stdout, cli.cmd, "usage: ");
		fputc('\n', stdout);
		print_indented(stdout, "", cli.cmd->help);
		goto out;
	}

	cli.args = pos + best;
	cli.n_args = n_pos - best;
	if (cli.n_args < cli.cmd->min_args) {
		rc = usage_error(&cli, "'%s' needs more arguments", cli.cmd->words);
		goto out;
	}
	if (cli.n_args > cli.cmd->max_args) {
		rc = usage_error(&cli, "'%s' does not take '%s'", cli.cmd->words,
				 cli.args[cli.cmd->max_args]);
		goto out;
	}
	if (cli.opts & ~cli.cmd->opts) {
		unsigned int extra = cli.opts & ~cli.cmd->opts;

		rc = usage_error(&cli, "'%s' does not take %s", cli.cmd->words,
				 opt_specs[__builtin_ctz(extra)].name);
		goto out;
	}
	/* JSON strings must be UTF-8; catching it here keeps handlers simple. */
	for (i = 0; i < cli.n_args; i++) {
		json_t *s = json_string(cli.args[i]);

		if (s == NULL) {
			rc = usage_error(&cli, "argument %d is not valid UTF-8", i + 1);
			goto out;
		}
		json_decref(s);
	}
	for (i = 0; i < N_OPTS; i++) {
		json_t *s = cli.val[i] != NULL ? json_string(cli.val[i]) : json_null();

		if (s == NULL) {
			rc = usage_error(&cli, "the value of %s is not valid UTF-8",
					 opt_specs[i].name);
			goto out;
		}
		json_decref(s);
	}
	rc = cli.cmd->handler(&cli);
out:
	free(pos);
	fflush(stdout);
	return rc;
}
