/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * vlat: one-way latency through a vhost-to-vhost relay, one packet at a time.
 *
 * A benchmark tool for bench/few-cores.sh (part "kick"); not part of xvio.
 * It plays two guests in one process: ethdev port 0 and port 1 are two
 * net_virtio_user vdevs given on the EAL command line, connected to two
 * vhost ports of the switch under test that are relayed to each other.
 *
 * Every sample: wait a random gap (spinning on the TSC by default, so this
 * process never sleeps), stamp the TSC into a small UDP packet, send it on
 * port 0, busy-poll port 1 until it arrives, and take the TSC again:
 * latency = receive TSC - stamp. Both stamps come from the same core, so no
 * clock has to be synchronised.
 *
 * With gaps longer than the switch's idle time, a hybrid-polling switch is
 * asleep when each packet comes. The virtio driver kicks the vhost side
 * (an eventfd write) only when the backend asked for notifications, that is
 * only while it sleeps: so the figure includes exactly the kick -> wake-up
 * -> poll path, and a busy-polling switch gives the reference without it.
 *
 * --wake-probe CPU measures the floor under that path instead, with no
 * switch and no ports: a thread pinned to CPU sleeps in epoll_wait on an
 * eventfd (edge-triggered, as xvio's worker does); each sample writes the
 * eventfd (the kick) and spins until the woken thread has flagged it in
 * shared memory. That is what the kernel and the hypervisor charge for
 * waking a sleeping thread on another (idle) CPU, whoever sleeps.
 *
 * Usage: vlat [EAL options] -- [--count N] [--warmup N] [--gap-us MIN-MAX]
 *             [--timeout-ms N] [--stall-us N] [--size BYTES] [--out FILE]
 *             [--wait] [--gap-sleep] [--wake-probe CPU] [--seed N]
 *
 *   --gap-us     the wait before each sample, uniformly random (default
 *                1000-3000)
 *   --wait       after the warm-up print "vlat: ready" and wait for a line on
 *                stdin before measuring; after the result, wait for another
 *                line (or EOF) before closing the ports and exiting. The
 *                caller reads the switch's counters (and this process's CPU
 *                time) around exactly the measured packets.
 *   --gap-sleep  sleep through the gaps (nanosleep) instead of spinning:
 *                this core is then idle between samples, as a guest that
 *                sends now and then would be (the stamp is taken after the
 *                wake-up either way).
 *   --out        every sample as "seq gap_us latency_ns tx_call_ns stall_ns"
 *                (latency -1: lost), for pooling percentiles over runs.
 *   --stall-us   this core counts as stalled during a sample when two polls
 *                of the receiving side were more than N us apart (default
 *                20): the host or another task had the core, and the sample
 *                measured that rather than the switch. Such samples are
 *                counted and left out of a second distribution ("clean").
 *
 * Prints one JSON object (one line): counts, percentiles in ns of the
 * latency (all samples and "clean"), of the time spent in the tx call (the
 * kick is a syscall in it), and "cpu0_stolen", the share of the spun gaps
 * during which this core did not run us (the host's noise on the measuring
 * core). Exit status 0 when it measured (even with losses), 1 on a setup
 * failure, 2 on a usage error.
 *
 * Test traffic uses RFC 2544 addresses only (198.18.0.1 -> 198.18.0.2).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* CPU_SET, pthread_attr_setaffinity_np */
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_random.h>
#include <rte_udp.h>

#define VLAT_MAGIC 0x786c6174U /* "xlat" */
#define VLAT_RING 256
#define VLAT_BURST 32
#define VLAT_TX_PORT 0
#define VLAT_RX_PORT 1
#define VLAT_WARM_SEQ 0x80000000U /* warm-up packets: above the measured ones */
#define VLAT_NO_SEQ UINT32_MAX

/* 16 bytes: a 64-byte frame has room for 22 after the headers. */
struct vlat_payload {
	uint32_t magic;
	uint32_t seq;
	uint64_t tsc;
} __rte_packed;

struct vlat_conf {
	unsigned int count;
	unsigned int warmup;
	unsigned int gap_min_us;
	unsigned int gap_max_us;
	unsigned int timeout_ms;
	unsigned int stall_us;
	unsigned int size;
	int probe_cpu; /* -1: measure the relay */
	const char *out;
	bool wait;
	bool gap_sleep;
	uint64_t seed;
};

struct vlat_sample {
	uint32_t gap_us;
	int64_t lat_tsc;    /* -1: lost */
	uint64_t tx_tsc;    /* time in the tx call (a kick is a syscall) */
	uint64_t stall_tsc; /* longest gap between two polls of the rx side */
};

/* One sample: send 'seq', wait for it at most 'timeout' TSC cycles. */
typedef int64_t (*vlat_sample_fn)(const struct vlat_conf *c, uint32_t seq,
				   uint64_t timeout, uint64_t *tx_tsc,
				   uint64_t *stall);

static struct rte_mempool *pool;
static uint64_t n_late, n_stray, n_tx_retry;

/* The wake-up probe's shared state: the writer publishes 'sent' then kicks
 * 'efd'; the woken thread copies 'sent' to 'done'. */
static struct {
	int efd;
	int epfd;
	uint32_t sent __rte_cache_aligned;
	uint32_t done __rte_cache_aligned;
	bool stop;
} probe;

static void
usage(void)
{
	fprintf(stderr,
		"usage: vlat [EAL options] -- [--count N] [--warmup N] [--gap-us MIN-MAX]\n"
		"            [--timeout-ms N] [--stall-us N] [--size BYTES] [--out FILE] [--wait]\n"
		"            [--gap-sleep] [--wake-probe CPU] [--seed N]\n");
}

static int
parse_uint(const char *s, unsigned int *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || x > UINT32_MAX)
		return -EINVAL;
	*v = (unsigned int)x;
	return 0;
}

static int
parse_args(int argc, char **argv, struct vlat_conf *c)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "stall-us", required_argument, NULL, 'T' },
		{ "size", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "wait", no_argument, NULL, 'W' },
		{ "gap-sleep", no_argument, NULL, 'G' },
		{ "wake-probe", required_argument, NULL, 'P' },
		{ "seed", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int v;
	char *dash;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (parse_uint(optarg, &c->count) || c->count == 0)
				return -EINVAL;
			break;
		case 'w':
			if (parse_uint(optarg, &c->warmup))
				return -EINVAL;
			break;
		case 'g':
			dash = strchr(optarg, '-');
			if (dash != NULL)
				*dash = '\0';
			if (parse_uint(optarg, &c->gap_min_us))
				return -EINVAL;
			c->gap_max_us = c->gap_min_us;
			if (dash != NULL && parse_uint(dash + 1, &c->gap_max_us))
				return -EINVAL;
			if (c->gap_max_us < c->gap_min_us)
				return -EINVAL;
			break;
		case 't':
			if (parse_uint(optarg, &c->timeout_ms) || c->timeout_ms == 0)
				return -EINVAL;
			break;
		case 'T':
			if (parse_uint(optarg, &c->stall_us) || c->stall_us == 0)
				return -EINVAL;
			break;
		case 's':
			if (parse_uint(optarg, &c->size))
				return -EINVAL;
			break;
		case 'o':
			c->out = optarg;
			break;
		case 'W':
			c->wait = true;
			break;
		case 'G':
			c->gap_sleep = true;
			break;
		case 'P':
			if (parse_uint(optarg, &v) || v >= CPU_SETSIZE)
				return -EINVAL;
			c->probe_cpu = (int)v;
			break;
		case 'S':
			if (parse_uint(optarg, &v))
				return -EINVAL;
			c->seed = v;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc)
		return -EINVAL;
	if (c->size < sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
			      sizeof(struct rte_udp_hdr) + sizeof(struct vlat_payload) ||
	    c->size > 1514)
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------ the relay */

static int
port_setup(uint16_t port)
{
	struct rte_eth_conf conf = { 0 };
	int rc;

	rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, VLAT_RING,
					    rte_eth_dev_socket_id(port), NULL, pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, VLAT_RING,
					    rte_eth_dev_socket_id(port), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc != 0)
		fprintf(stderr, "vlat: port %u setup failed: %s\n", port,
			rte_strerror(-rc));
	return rc;
}

static bool
links_up(void)
{
	struct rte_eth_link l0, l1;

	return rte_eth_link_get_nowait(VLAT_TX_PORT, &l0) == 0 &&
	       rte_eth_link_get_nowait(VLAT_RX_PORT, &l1) == 0 &&
	       l0.link_status == RTE_ETH_LINK_UP &&
	       l1.link_status == RTE_ETH_LINK_UP;
}

/* A 'size'-byte UDP packet 198.18.0.1:9 -> 198.18.0.2:9 carrying 'seq'. */
static struct rte_mbuf *
make_packet(unsigned int size, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	struct vlat_payload *pl;
	char *p;

	if (m == NULL)
		return NULL;
	p = rte_pktmbuf_append(m, size);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(p, 0, size);
	eth = (struct rte_ether_hdr *)p;
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	udp = (struct rte_udp_hdr *)(ip + 1);
	pl = (struct vlat_payload *)(udp + 1);
	eth->dst_addr = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0, 0x02 } };
	eth->src_addr = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0, 0x01 } };
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(size - sizeof(*eth));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 1));
	ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 2));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(9);
	udp->dst_port = rte_cpu_to_be_16(9);
	udp->dgram_len = rte_cpu_to_be_16(size - sizeof(*eth) - sizeof(*ip));
	pl->magic = VLAT_MAGIC;
	pl->seq = seq;
	return m;
}

static struct vlat_payload *
payload_of(struct rte_mbuf *m)
{
	size_t off = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
		     sizeof(struct rte_udp_hdr);

	if (rte_pktmbuf_data_len(m) < off + sizeof(struct vlat_payload))
		return NULL;
	return rte_pktmbuf_mtod_offset(m, struct vlat_payload *, off);
}

/* Anything that comes back on the sending port is not ours: drop it. */
static void
drain_tx_port(void)
{
	struct rte_mbuf *pkts[VLAT_BURST];
	uint16_t n;

	while ((n = rte_eth_rx_burst(VLAT_TX_PORT, 0, pkts, VLAT_BURST)) > 0) {
		n_stray += n;
		rte_pktmbuf_free_bulk(pkts, n);
	}
}

/*
 * Send packet 'seq' on port 0 and wait for it on port 1, at most 'timeout'
 * TSC cycles. Returns its latency in TSC cycles, or -1 when it did not come
 * (or could not be sent). Earlier packets that arrive now count as late.
 * '*tx_tsc' is the time spent in the tx burst call, '*stall' the longest
 * gap between two polls of port 1: when that is long, this process was not
 * running (the host or another task had the core) and the sample measured
 * that, not the switch.
 */
static int64_t
relay_sample(const struct vlat_conf *c, uint32_t seq, uint64_t timeout,
	     uint64_t *tx_tsc, uint64_t *stall)
{
	struct rte_mbuf *m = make_packet(c->size, seq), *pkts[VLAT_BURST];
	struct vlat_payload *pl;
	uint64_t t0, now, prev;
	int64_t lat = -1;
	uint16_t n, i;

	*tx_tsc = 0;
	*stall = 0;
	if (m == NULL)
		return -1;
	pl = payload_of(m);
	t0 = rte_rdtsc();
	pl->tsc = t0;
	while (rte_eth_tx_burst(VLAT_TX_PORT, 0, &m, 1) == 0) {
		n_tx_retry++;
		if (rte_rdtsc() - t0 > timeout) {
			rte_pktmbuf_free(m);
			return -1;
		}
	}
	prev = rte_rdtsc();
	*tx_tsc = prev - t0;
	for (;;) {
		n = rte_eth_rx_burst(VLAT_RX_PORT, 0, pkts, VLAT_BURST);
		now = rte_rdtsc();
		/* An empty poll takes well under a microsecond: a longer gap
		 * between two of them is time this core did not run us. */
		if (now - prev > *stall)
			*stall = now - prev;
		prev = now;
		for (i = 0; i < n; i++) {
			struct vlat_payload *rp = payload_of(pkts[i]);

			if (rp == NULL || rp->magic != VLAT_MAGIC)
				n_stray++;
			else if (rp->seq == seq)
				lat = (int64_t)(now - rp->tsc);
			else if (rp->seq < seq)
				n_late++;
			else
				n_stray++;
		}
		if (n > 0)
			rte_pktmbuf_free_bulk(pkts, n);
		if (lat >= 0 || now - t0 > timeout)
			break;
	}
	return lat;
}

/* Both guests connected, and the path works: 3 packets came through. */
static int
relay_setup(const struct vlat_conf *c, uint64_t hz)
{
	uint64_t t0, tx, st;
	unsigned int tries, ok;

	pool = rte_pktmbuf_pool_create("vlat", 2047, 64, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "vlat: no mbuf pool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	if (rte_eth_dev_count_avail() < 2) {
		fprintf(stderr, "vlat: needs two ethdev ports (two --vdev net_virtio_user)\n");
		return -1;
	}
	if (port_setup(VLAT_TX_PORT) != 0 || port_setup(VLAT_RX_PORT) != 0)
		return -1;
	t0 = rte_rdtsc();
	while (!links_up()) {
		if (rte_rdtsc() - t0 > 30 * hz) {
			fprintf(stderr, "vlat: links not up within 30 s\n");
			return -1;
		}
		rte_delay_ms(10);
	}
	for (tries = 0, ok = 0; ok < 3; tries++) {
		if (tries > 200) {
			fprintf(stderr, "vlat: no packet came through in 200 tries\n");
			return -1;
		}
		drain_tx_port();
		if (relay_sample(c, VLAT_WARM_SEQ + c->warmup + tries, hz / 10,
				 &tx, &st) >= 0)
			ok++;
	}
	return 0;
}

static void
relay_close(void)
{
	rte_eth_dev_stop(VLAT_TX_PORT);
	rte_eth_dev_stop(VLAT_RX_PORT);
	rte_eth_dev_close(VLAT_TX_PORT);
	rte_eth_dev_close(VLAT_RX_PORT);
}

/* ------------------------------------------------------ the wake-up probe */

static void *
probe_main(void *arg)
{
	struct epoll_event ev;
	uint64_t v;

	(void)arg;
	while (!__atomic_load_n(&probe.stop, __ATOMIC_RELAXED)) {
		if (epoll_wait(probe.epfd, &ev, 1, 100) <= 0)
			continue;
		if (read(probe.efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: already reset. */
		}
		__atomic_store_n(&probe.done,
				 __atomic_load_n(&probe.sent, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
	}
	return NULL;
}

/* As relay_sample, with the eventfd as the kick and the flag as the ring. */
static int64_t
probe_sample(const struct vlat_conf *c, uint32_t seq, uint64_t timeout,
	     uint64_t *tx_tsc, uint64_t *stall)
{
	uint64_t one = 1, t0, now, prev;

	(void)c;
	*stall = 0;
	__atomic_store_n(&probe.sent, seq, __ATOMIC_RELEASE);
	t0 = rte_rdtsc();
	if (write(probe.efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full; the reader wakes anyway. */
	}
	prev = rte_rdtsc();
	*tx_tsc = prev - t0;
	for (;;) {
		if (__atomic_load_n(&probe.done, __ATOMIC_ACQUIRE) == seq)
			return (int64_t)(rte_rdtsc() - t0);
		now = rte_rdtsc();
		if (now - prev > *stall)
			*stall = now - prev;
		prev = now;
		if (now - t0 > timeout)
			return -1;
	}
}

static int
probe_setup(const struct vlat_conf *c, pthread_t *th)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	pthread_attr_t attr;
	cpu_set_t cpus;
	int rc;

	probe.done = VLAT_NO_SEQ;
	probe.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	probe.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (probe.efd < 0 || probe.epfd < 0 ||
	    epoll_ctl(probe.epfd, EPOLL_CTL_ADD, probe.efd, &ev) != 0) {
		fprintf(stderr, "vlat: eventfd/epoll: %s\n", strerror(errno));
		return -1;
	}
	CPU_ZERO(&cpus);
	CPU_SET(c->probe_cpu, &cpus);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	rc = pthread_create(th, &attr, probe_main, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		fprintf(stderr, "vlat: cannot start a thread on CPU %d: %s\n",
			c->probe_cpu, strerror(rc));
		return -1;
	}
	return 0;
}

static void
probe_close(pthread_t th)
{
	__atomic_store_n(&probe.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	close(probe.epfd);
	close(probe.efd);
}

/* ------------------------------------------------------------- measuring */

/* Spin until TSC 't'; adds the time spun to '*spun' and returns the part
 * of it this core did not run us (gaps between two TSC reads > 'stall'). */
static uint64_t
spin_until(uint64_t t, uint64_t stall, uint64_t *spun)
{
	uint64_t start = rte_rdtsc(), prev = start, now, stolen = 0;

	while (prev < t) {
		rte_pause();
		now = rte_rdtsc();
		if (now - prev > stall)
			stolen += now - prev;
		prev = now;
	}
	*spun += prev - start;
	return stolen;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile 'p' of 'n' sorted values plus 'lost' ones that
 * never came (infinitely late): -1 when it falls on those. */
static double
pct(const int64_t *v, unsigned int n, unsigned int lost, double p,
    double tsc_ns)
{
	unsigned int total = n + lost;
	long k = (long)ceil(p / 100.0 * total) - 1;

	if (k < 0)
		k = 0;
	if (n == 0 || (unsigned long)k >= n)
		return -1;
	return v[k] * tsc_ns;
}

static void
print_dist(const char *name, int64_t *v, unsigned int n, unsigned int lost,
	   double tsc_ns)
{
	double sum = 0;
	unsigned int i;

	qsort(v, n, sizeof(*v), cmp_i64);
	for (i = 0; i < n; i++)
		sum += v[i];
	printf("\"%s\":{\"n\":%u,\"lost\":%u,\"min\":%.0f,\"mean\":%.0f,"
	       "\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"max\":%.0f}",
	       name, n, lost, n ? v[0] * tsc_ns : -1, n ? sum / n * tsc_ns : -1,
	       pct(v, n, lost, 50, tsc_ns), pct(v, n, lost, 90, tsc_ns),
	       pct(v, n, lost, 99, tsc_ns), pct(v, n, lost, 99.9, tsc_ns),
	       n && lost == 0 ? v[n - 1] * tsc_ns : -1);
}

static void
wait_line(void)
{
	char line[64];

	if (fgets(line, sizeof(line), stdin) == NULL) {
		/* EOF: go on. */
	}
}

/* Warm up, then take c->count samples with random gaps; prints the result. */
static int
measure(const struct vlat_conf *c, vlat_sample_fn sample, uint64_t hz)
{
	uint64_t timeout = hz / 1000 * c->timeout_ms;
	uint64_t stall = hz / 1000000 * c->stall_us;
	uint64_t tx, st, gap, t_start, t_end, spun = 0, stolen = 0, warm = 0;
	unsigned int i, n_ok = 0, n_lost = 0, n_clean = 0, n_stalled = 0;
	unsigned int n_stalled_lost = 0;
	struct vlat_sample *s = calloc(c->count, sizeof(*s));
	int64_t *lat = calloc(c->count, sizeof(*lat));
	int64_t *txc = calloc(c->count, sizeof(*txc));
	int64_t *clean = calloc(c->count, sizeof(*clean));
	double tsc_ns = 1e9 / (double)hz;
	int64_t l;
	FILE *out;

	if (s == NULL || lat == NULL || txc == NULL || clean == NULL) {
		fprintf(stderr, "vlat: out of memory\n");
		return -1;
	}
	for (i = 0; i < c->warmup; i++) {
		spin_until(rte_rdtsc() + hz / 1000000 * c->gap_min_us, stall, &warm);
		sample(c, VLAT_WARM_SEQ + i, timeout, &tx, &st);
	}
	if (c->probe_cpu < 0)
		drain_tx_port();
	n_late = n_stray = n_tx_retry = 0;
	if (c->wait) {
		printf("vlat: ready\n");
		fflush(stdout);
		wait_line();
	}

	t_start = rte_rdtsc();
	for (i = 0; i < c->count; i++) {
		s[i].gap_us = c->gap_min_us;
		if (c->gap_max_us > c->gap_min_us)
			s[i].gap_us += (uint32_t)rte_rand_max(c->gap_max_us - c->gap_min_us + 1);
		gap = hz / 1000000 * s[i].gap_us;
		if (c->gap_sleep) {
			struct timespec ts = {
				.tv_sec = s[i].gap_us / 1000000,
				.tv_nsec = (long)(s[i].gap_us % 1000000) * 1000,
			};

			nanosleep(&ts, NULL);
		} else {
			stolen += spin_until(rte_rdtsc() + gap, stall, &spun);
		}
		l = sample(c, i, timeout, &tx, &st);
		s[i].lat_tsc = l;
		s[i].tx_tsc = tx;
		s[i].stall_tsc = st;
		n_stalled += st > stall;
		if (l >= 0) {
			lat[n_ok] = l;
			txc[n_ok] = (int64_t)tx;
			n_ok++;
			if (st <= stall)
				clean[n_clean++] = l;
		} else {
			n_lost++;
			/* Never came: a stall of ours cannot explain that. */
			n_stalled_lost += st > stall;
		}
		if (c->probe_cpu < 0 && (i & 63) == 0)
			drain_tx_port();
	}
	t_end = rte_rdtsc();

	if (c->out != NULL) {
		out = fopen(c->out, "w");
		if (out == NULL) {
			fprintf(stderr, "vlat: cannot write %s: %s\n", c->out,
				strerror(errno));
		} else {
			for (i = 0; i < c->count; i++)
				fprintf(out, "%u %u %.0f %.0f %.0f\n", i, s[i].gap_us,
					s[i].lat_tsc < 0 ? -1.0 : s[i].lat_tsc * tsc_ns,
					s[i].tx_tsc * tsc_ns, s[i].stall_tsc * tsc_ns);
			fclose(out);
		}
	}
	printf("{\"mode\":\"%s\",\"count\":%u,\"received\":%u,\"lost\":%u,"
	       "\"late\":%" PRIu64 ",\"stray\":%" PRIu64 ",\"tx_retries\":%" PRIu64
	       ",\"gap_us\":\"%u-%u\",\"gap_sleep\":%s,\"size\":%u,"
	       "\"tsc_hz\":%" PRIu64 ",\"duration_s\":%.3f,\"stall_us\":%u,"
	       "\"stalled\":%u,\"cpu0_stolen\":",
	       c->probe_cpu < 0 ? "relay" : "probe", c->count, n_ok, n_lost, n_late,
	       n_stray, n_tx_retry, c->gap_min_us, c->gap_max_us,
	       c->gap_sleep ? "true" : "false", c->size, hz,
	       (t_end - t_start) * tsc_ns / 1e9, c->stall_us, n_stalled);
	if (c->gap_sleep)
		printf("null,");
	else
		printf("%.5f,", spun ? (double)stolen / spun : 0.0);
	if (c->probe_cpu >= 0)
		printf("\"probe_cpu\":%d,", c->probe_cpu);
	print_dist("latency_ns", lat, n_ok, n_lost, tsc_ns);
	printf(",");
	print_dist("clean_latency_ns", clean, n_clean, n_lost - n_stalled_lost,
		   tsc_ns);
	printf(",");
	print_dist("tx_call_ns", txc, n_ok, 0, tsc_ns);
	printf("}\n");
	fflush(stdout);
	free(s);
	free(lat);
	free(txc);
	free(clean);
	return 0;
}

int
main(int argc, char **argv)
{
	struct vlat_conf c = {
		.count = 1000, .warmup = 20, .gap_min_us = 1000,
		.gap_max_us = 3000, .timeout_ms = 1000, .stall_us = 20,
		.size = 64, .probe_cpu = -1,
	};
	pthread_t th;
	uint64_t hz;
	int rc;

	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "vlat: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	optind = 1; /* the EAL used getopt too */
	if (parse_args(argc, argv, &c) != 0) {
		usage();
		rte_eal_cleanup();
		return 2;
	}
	rte_srand(c.seed ? c.seed : rte_rdtsc());
	hz = rte_get_tsc_hz();
	if (c.probe_cpu >= 0) {
		rc = probe_setup(&c, &th);
		if (rc == 0) {
			rc = measure(&c, probe_sample, hz);
			probe_close(th);
		}
		if (rc == 0 && c.wait)
			wait_line();
	} else {
		rc = relay_setup(&c, hz);
		if (rc == 0)
			rc = measure(&c, relay_sample, hz);
		if (rc == 0 && c.wait)
			wait_line();
		relay_close();
	}
	rte_eal_cleanup();
	return rc == 0 ? 0 : 1;
}
