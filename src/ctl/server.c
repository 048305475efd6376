/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One thread, one epoll set. Requests are lines; a client's complete lines
 * are executed in order and the replies queued on its output buffer, which
 * is flushed as the socket takes it, so a slow client never blocks the
 * daemon. Signals arrive through a signalfd (main blocks them in every
 * thread before EAL starts).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
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
};

static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int listen_fd = -1, epfd = -1, sig_fd = -1, timer_fd = -1;
static struct client *clients[MAX_CLIENTS];

/* epoll data: small integers tag our own fds, clients are pointers. */
enum { TAG_LISTEN = 1, TAG_SIGNAL, TAG_PORT_EVENT, TAG_TIMER };

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
	if (sig_fd < 0 || timer_fd < 0 || epfd < 0 ||
	    timerfd_settime(timer_fd, 0, &its, NULL) != 0 ||
	    epoll_add(listen_fd, EPOLLIN, TAG_LISTEN) != 0 ||
	    epoll_add(sig_fd, EPOLLIN, TAG_SIGNAL) != 0 ||
	    epoll_add(timer_fd, EPOLLIN, TAG_TIMER) != 0 ||
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

static void
client_update_events(struct client *c)
{
	struct epoll_event ev = {
		.events = (c->closing ? 0 : EPOLLIN) |
			  (c->out_len > c->out_off ? EPOLLOUT : 0),
		.data.ptr = c,
	};

	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
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
		else if (len > 0 && !(len == 1 && c->in[0] == '\r'))
			client_queue(c, xv_cmd_execute(c->in, len));
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
			/* Half-closed: answer what came, then hang up. */
			if (c->in_len > 0 && !c->skipping)
				client_queue(c, xv_cmd_execute(c->in, c->in_len));
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
	}
	return client_flush(c);
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

int
xv_server_run(void)
{
	struct epoll_event evs[32];

	for (;;) {
		int n = epoll_wait(epfd, evs, RTE_DIM(evs), -1), i;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			XV_LOG(ctl, ERR, "epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64, v;
			struct signalfd_siginfo si;

			if (tag == TAG_LISTEN) {
				accept_clients();
			} else if (tag == TAG_SIGNAL) {
				if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
					XV_LOG(ctl, INFO, "%s: shutting down",
					       strsignal(si.ssi_signo));
					return 0;
				}
			} else if (tag == TAG_PORT_EVENT) {
				/* A guest came or went, a vring or a link
				 * changed: refresh links, then the plans. */
				if (read(xv_port_event_fd(), &v, sizeof(v)) > 0) {
					xv_port_poll_links();
					xv_plan_rebuild();
				}
			} else if (tag == TAG_TIMER) {
				if (read(timer_fd, &v, sizeof(v)) > 0) {
					xv_port_poll_links();
					xv_sched_tick(timer_interval());
					xv_net_tick();
				}
			} else {
				struct client *c = evs[i].data.ptr;
				int ret = 0;

				if (evs[i].events & EPOLLERR)
					ret = -1;
				if (ret == 0 && (evs[i].events & (EPOLLIN | EPOLLHUP)))
					ret = client_read(c);
				else if (ret == 0 && (evs[i].events & EPOLLOUT))
					ret = client_flush(c);
				if (ret != 0)
					client_free(c);
			}
		}
	}
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
	if (epfd >= 0)
		close(epfd);
	sig_fd = timer_fd = epfd = -1;
}
