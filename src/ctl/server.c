/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One thread, one epoll set. Requests are lines; a client's complete lines
 * are executed in order and the replies queued on its output buffer, which
 * is flushed as the socket takes it, so a slow client never blocks the
 * daemon. Signals arrive through a signalfd (main blocks them in every
 * thread before EAL starts).
 *
 * A change that compiles for seconds (thousands of security-group rules)
 * compiles aside (xv_aside.h): on a helper thread, while a nested loop here
 * keeps answering requests that change nothing. A client whose next
 * request is a change is parked (out of the epoll set, its lines kept)
 * until the running change has replied; parked clients then go on in the
 * order they were parked. The client of the running change is out of the
 * set meanwhile too, so its buffer is left alone and its later requests
 * keep their order. Signals, port events and timer ticks are acted on
 * between batches of the main loop, so after a compile.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>

#include "cmd.h"
#include "plan.h"
#include "port.h"
#include "net.h"
#include "server.h"
#include "xv_aside.h"
#include "xv_sched.h"
#include "xv_log.h"

#define MAX_LINE (1 << 20)
#define MAX_OUT (64 << 20)
#define MAX_CLIENTS 256

struct client {
	int fd;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off, out_cap;
	bool closing;  /* close once 'out' is flushed */
	bool skipping; /* inside an oversized line: drop until its newline */
	uint64_t parked; /* its next line is a change waiting for the one
			    compiling aside: the order it was parked in;
			    0: not parked */
};

static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int listen_fd = -1, epfd = -1, sig_fd = -1, timer_fd = -1;
static int aside_fd = -1; /* eventfd: the job running aside is done */
static struct client *clients[MAX_CLIENTS];

/* The client whose request is running; whether a job runs aside. */
static struct client *executing;
static bool aside_running;
static uint64_t n_asides; /* nested loops run: a batch taken before one is
			     stale after it (its clients may be gone) */
static uint64_t n_parked_ever;

/* What events asked for that is done between batches, by the main loop
 * (so after any compile running aside). */
static int stop_signal;
static bool links_changed, tick_due, aside_done;

/* epoll data: small integers tag our own fds, clients are pointers. */
enum { TAG_LISTEN = 1, TAG_SIGNAL, TAG_PORT_EVENT, TAG_TIMER, TAG_ASIDE };

static int
epoll_add(int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int
xv_server_open(const char *path, const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	sigset_t mask;
	mode_t old_umask;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path '%s' is too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);

	/* Another daemon answering there: refuse. A dead one's file: reuse. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		snprintf(err, errlen, "another xvio is already serving %s", path);
		return -1;
	}
	if (fd >= 0)
		close(fd);
	unlink(path);

	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Owner only from the first moment; widened to a group below. */
	old_umask = umask(0177);
	if (bind(listen_fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		umask(old_umask);
		snprintf(err, errlen, "cannot create control socket %s: %s", path,
			 strerror(errno));
		goto fail;
	}
	umask(old_umask);
	snprintf(sock_path, sizeof(sock_path), "%s", path);
	if (group != NULL) {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			snprintf(err, errlen, "no group '%s'", group);
			goto fail;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) != 0 ||
		    chmod(path, 0660) != 0) {
			snprintf(err, errlen, "cannot give %s to group %s: %s",
				 path, group, strerror(errno));
			goto fail;
		}
	}
	if (listen(listen_fd, 64) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		goto fail;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	aside_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sig_fd < 0 || timer_fd < 0 || epfd < 0 || aside_fd < 0 ||
	    timerfd_settime(timer_fd, 0, &its, NULL) != 0 ||
	    epoll_add(listen_fd, EPOLLIN, TAG_LISTEN) != 0 ||
	    epoll_add(sig_fd, EPOLLIN, TAG_SIGNAL) != 0 ||
	    epoll_add(timer_fd, EPOLLIN, TAG_TIMER) != 0 ||
	    epoll_add(aside_fd, EPOLLIN, TAG_ASIDE) != 0 ||
	    epoll_add(xv_port_event_fd(), EPOLLIN, TAG_PORT_EVENT) != 0) {
		snprintf(err, errlen, "event loop setup: %s", strerror(errno));
		goto fail;
	}
	XV_LOG(ctl, INFO, "control socket %s", path);
	return 0;
fail:
	xv_server_close();
	return -1;
}

static void
client_free(struct client *c)
{
	unsigned int i;

	for (i = 0; i < MAX_CLIENTS; i++)
		if (clients[i] == c)
			clients[i] = NULL;
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static struct epoll_event
client_events(struct client *c)
{
	return (struct epoll_event){
		.events = (c->closing ? 0 : EPOLLIN) |
			  (c->out_len > c->out_off ? EPOLLOUT : 0),
		.data.ptr = c,
	};
}

static void
client_update_events(struct client *c)
{
	struct epoll_event ev = client_events(c);

	if (!c->parked)
		epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Out of the epoll set until resume_parked(): 'c''s next line is a change. */
static void
park(struct client *c)
{
	c->parked = ++n_parked_ever;
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

/* Queue 'reply' (stolen) as one line. */
static int
client_queue(struct client *c, json_t *reply)
{
	char *s = json_dumps(reply, JSON_COMPACT);
	size_t len;

	json_decref(reply);
	if (s == NULL)
		return -1;
	len = strlen(s);
	if (c->out_len - c->out_off + len + 1 > MAX_OUT) {
		free(s);
		return -1;
	}
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len + 1 > c->out_cap) {
		size_t cap = (c->out_len + len + 1) * 2;
		char *p = realloc(c->out, cap);

		if (p == NULL) {
			free(s);
			return -1;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	free(s);
	return 0;
}

/* Write what the socket takes. -1: the client is gone. */
static int
client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		c->out_off += n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->closing)
			return -1;
	}
	client_update_events(c);
	return 0;
}

static json_t *
too_large(void)
{
	return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
			 XV_ERR_TOO_LARGE, "message",
			 "request line longer than 1 MiB: ignored");
}

/* Execute the complete lines in 'c->in'. The size limit holds whether a
 * line arrives whole or in pieces. */
static void
client_execute(struct client *c)
{
	char *nl;

	while ((nl = memchr(c->in, '\n', c->in_len)) != NULL) {
		size_t len = nl - c->in;

		if (c->skipping)
			c->skipping = false; /* the oversized line ends here */
		else if (len > MAX_LINE)
			client_queue(c, too_large());
		else if (len > 0 && !(len == 1 && c->in[0] == '\r')) {
			struct client *prev = executing;

			if (aside_running && !xv_cmd_reads_only(c->in, len)) {
				park(c); /* this line and the rest wait */
				return;
			}
			executing = c;
			client_queue(c, xv_cmd_execute(c->in, len));
			executing = prev;
		}
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
	}
	if (c->in_len > MAX_LINE || (c->skipping && c->in_len > 0)) {
		/* No newline within MAX_LINE: answer once, then drop the
		 * line's bytes as they come; the connection stays usable. */
		if (!c->skipping)
			client_queue(c, too_large());
		c->skipping = true;
		c->in_len = 0;
	}
}

/* Read, execute complete lines. -1: the client is gone. */
static int
client_read(struct client *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_cap - c->in_len < 4096) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
			char *p = realloc(c->in, cap);

			if (p == NULL)
				return -1;
			c->in = p;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n == 0) {
			/* Half-closed: answer what came (a last line without
			 * its newline too), then hang up. */
			if (c->in_len > 0 && !c->skipping) {
				c->in[c->in_len++] = '\n'; /* room: see above */
				client_execute(c);
			}
			if (!c->parked)
				c->in_len = 0;
			c->closing = true;
			break;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		c->in_len += n;
		client_execute(c);
		if (c->parked)
			break; /* read no further than the waiting line */
	}
	return client_flush(c);
}

/* epoll said 'events' about client 'c'. */
static void
client_event(struct client *c, uint32_t events)
{
	int ret = 0;

	if (events & EPOLLERR)
		ret = -1;
	if (ret == 0 && (events & (EPOLLIN | EPOLLHUP)))
		ret = client_read(c);
	else if (ret == 0 && (events & EPOLLOUT))
		ret = client_flush(c);
	if (ret != 0)
		client_free(c);
}

unsigned int
xv_server_changes_waiting(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < MAX_CLIENTS; i++)
		if (clients[i] != NULL && clients[i]->parked != 0)
			n++;
	return n;
}

/* Parked clients go on, the first parked first, once nothing runs aside.
 * Each resumed client runs at least its waiting change. */
static void
resume_parked(void)
{
	while (!aside_running) {
		struct client *c = NULL;
		struct epoll_event ev;
		unsigned int i;

		for (i = 0; i < MAX_CLIENTS; i++)
			if (clients[i] != NULL && clients[i]->parked != 0 &&
			    (c == NULL || clients[i]->parked < c->parked))
				c = clients[i];
		if (c == NULL)
			return;
		c->parked = 0;
		ev = client_events(c);
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
			client_free(c);
			continue;
		}
		client_execute(c);
		if (client_flush(c) != 0)
			client_free(c);
	}
}

static void accept_clients(void);

/* The events of one epoll_wait, for the main loop and for the nested loop
 * of a compile alike: clients and new connections are served at once, the
 * rest is noted for between batches. A nested loop run by a client's
 * request makes the rest of the batch stale: it served those fds, and may
 * have freed their clients. Every fd in the set is level-triggered, so
 * what is skipped comes again on the next wait. */
static void
dispatch(const struct epoll_event *evs, int n)
{
	uint64_t asides = n_asides, v;
	struct signalfd_siginfo si;
	int i;

	for (i = 0; i < n && n_asides == asides; i++) {
		switch (evs[i].data.u64) {
		case TAG_LISTEN:
			accept_clients();
			break;
		case TAG_SIGNAL:
			if (read(sig_fd, &si, sizeof(si)) == sizeof(si))
				stop_signal = (int)si.ssi_signo;
			break;
		case TAG_PORT_EVENT:
			if (read(xv_port_event_fd(), &v, sizeof(v)) > 0)
				links_changed = true;
			break;
		case TAG_TIMER:
			if (read(timer_fd, &v, sizeof(v)) > 0)
				tick_due = true;
			break;
		case TAG_ASIDE:
			if (read(aside_fd, &v, sizeof(v)) > 0)
				aside_done = true;
			break;
		default:
			client_event(evs[i].data.ptr, evs[i].events);
			break;
		}
	}
}

struct aside_job {
	xv_aside_fn fn;
	void *arg;
};

static void *
aside_main(void *arg)
{
	struct aside_job *job = arg;
	uint64_t one = 1;

	job->fn(job->arg);
	if (write(aside_fd, &one, sizeof(one)) != sizeof(one))
		XV_LOG(ctl, ERR, "cannot signal the end of a job: %s", strerror(errno));
	return NULL;
}

/* The xv_aside runner: 'fn' on a helper thread, read-only requests served
 * meanwhile. */
static void
server_aside(xv_aside_fn fn, void *arg)
{
	struct aside_job job = { .fn = fn, .arg = arg };
	struct client *outer = executing;
	struct epoll_event evs[32];
	pthread_t thread;
	int ret;

	if (aside_running) {
		fn(arg); /* from a job: never, but safe */
		return;
	}
	ret = pthread_create(&thread, NULL, aside_main, &job);
	if (ret != 0) {
		XV_LOG(ctl, WARNING, "no helper thread (%s): the job runs in the control thread",
		       strerror(ret));
		fn(arg);
		return;
	}
	/* Named for ps/top; it inherits the control thread's cpu. */
	pthread_setname_np(thread, "xvio-aside");
	aside_running = true;
	n_asides++;
	if (outer != NULL)
		epoll_ctl(epfd, EPOLL_CTL_DEL, outer->fd, NULL);
	aside_done = false;
	while (!aside_done) {
		int n = epoll_wait(epfd, evs, RTE_DIM(evs), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			XV_LOG(ctl, ERR, "epoll_wait: %s: waiting for the job", strerror(errno));
			break;
		}
		dispatch(evs, n);
	}
	pthread_join(thread, NULL);
	aside_running = false;
	if (outer != NULL) {
		struct epoll_event ev = client_events(outer);

		epoll_ctl(epfd, EPOLL_CTL_ADD, outer->fd, &ev);
	}
}

static void
accept_clients(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;
		unsigned int i;

		if (fd < 0)
			return;
		for (i = 0; i < MAX_CLIENTS && clients[i] != NULL; i++)
			;
		c = i < MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
		if (c == NULL) {
			XV_LOG(ctl, WARNING, "too many control connections");
			close(fd);
			continue;
		}
		c->fd = fd;
		clients[i] = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd,
			      &(struct epoll_event){ .events = EPOLLIN,
						     .data.ptr = c }) != 0)
			client_free(c);
	}
}

/* Seconds since the last timer tick (ticks can be late or merged). */
static double
timer_interval(void)
{
	static double last;
	struct timespec ts;
	double now, d;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec + ts.tv_nsec / 1e9;
	d = last ? now - last : 0;
	last = now;
	return d;
}

static int
serve(void)
{
	struct epoll_event evs[32];

	for (;;) {
		int n = epoll_wait(epfd, evs, RTE_DIM(evs), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			XV_LOG(ctl, ERR, "epoll_wait: %s", strerror(errno));
			return -1;
		}
		dispatch(evs, n);
		if (stop_signal != 0) {
			XV_LOG(ctl, INFO, "%s: shutting down", strsignal(stop_signal));
			return 0;
		}
		if (links_changed) {
			/* A guest came or went, a vring or a link changed:
			 * refresh links, then the plans. */
			links_changed = false;
			xv_port_poll_links();
			xv_plan_rebuild();
		}
		if (tick_due) {
			tick_due = false;
			xv_port_poll_links();
			xv_sched_tick(timer_interval());
			xv_net_tick();
		}
		resume_parked();
	}
}

int
xv_server_run(void)
{
	int ret;

	xv_aside_set_runner(server_aside);
	ret = serve();
	xv_aside_set_runner(NULL);
	return ret;
}

void
xv_server_close(void)
{
	unsigned int i;

	for (i = 0; i < MAX_CLIENTS; i++)
		if (clients[i] != NULL)
			client_free(clients[i]);
	if (listen_fd >= 0) {
		close(listen_fd);
		listen_fd = -1;
	}
	if (sock_path[0] != '\0') {
		unlink(sock_path);
		sock_path[0] = '\0';
	}
	if (sig_fd >= 0)
		close(sig_fd);
	if (timer_fd >= 0)
		close(timer_fd);
	if (aside_fd >= 0)
		close(aside_fd);
	if (epfd >= 0)
		close(epfd);
	sig_fd = timer_fd = aside_fd = epfd = -1;
}
