/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The datapath with real DPDK parts: ports are net_ring ethdevs over rings
 * this test owns, so it can put packets in and take them out while a real
 * worker relays them. Checks counting end to end, payload integrity,
 * backpressure (packets wait in the source ring, not dropped), drops after
 * the hold time under their reason, and removal under traffic.
 */
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "cmd.h"
#include "plan.h"
#include "port.h"
#include "tap.h"
#include "worker.h"
#include "xv_mbuf.h"
#include "xv_sched.h"

static struct rte_mempool *test_pool;

/* A ring-backed ethdev net_ring_'name': what is enqueued on '*rx' arrives on its rx
 * queue, what it sends lands on '*tx' (of 'tx_size' slots). */
static void
make_ring_dev(const char *name, struct rte_ring **rx, struct rte_ring **tx,
	      unsigned int tx_size)
{
	char rn[64];

	snprintf(rn, sizeof(rn), "%s_rx", name);
	*rx = rte_ring_create(rn, 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(rn, sizeof(rn), "%s_tx", name);
	*tx = rte_ring_create(rn, tx_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (rte_eth_from_rings(name, rx, 1, tx, 1, SOCKET_ID_ANY) < 0)
		rte_exit(1, "rte_eth_from_rings %s failed\n", name);
}

static int
run(const char *fmt, const char *a, const char *b)
{
	char req[1024];
	json_t *reply;
	int ok;

	snprintf(req, sizeof(req), fmt, a, b);
	reply = xv_cmd_execute(req, strlen(req));
	ok = json_is_true(json_object_get(reply, "ok"));
	if (!ok) {
		char *s = json_dumps(reply, 0);

		printf("# %s -> %s\n", req, s);
		free(s);
	}
	json_decref(reply);
	return ok;
}

/* Enqueue 'n' packets numbered from 'first' (seq in the payload). */
static unsigned int
inject(struct rte_ring *r, unsigned int first, unsigned int n)
{
	struct rte_mbuf *m[64];
	unsigned int done = 0;

	while (done < n) {
		unsigned int k = RTE_MIN(n - done, 64u), i, q;

		if (rte_pktmbuf_alloc_bulk(test_pool, m, k) != 0)
			break;
		for (i = 0; i < k; i++) {
			uint32_t *p = (uint32_t *)rte_pktmbuf_append(m[i], 64);

			memset(p, 0xab, 64);
			p[0] = first + done + i;
		}
		q = rte_ring_enqueue_burst(r, (void **)m, k, NULL);
		rte_pktmbuf_free_bulk(m + q, k - q);
		done += q;
		if (q < k)
			break;
	}
	return done;
}

/* Dequeue everything from 'r'; check order and payload. */
static unsigned int
drain(struct rte_ring *r, unsigned int *next_seq, unsigned int *bad)
{
	struct rte_mbuf *m[64];
	unsigned int n, i, total = 0;

	while ((n = rte_ring_dequeue_burst(r, (void **)m, 64, NULL)) > 0) {
		for (i = 0; i < n; i++) {
			const uint8_t *p = rte_pktmbuf_mtod(m[i], const uint8_t *);
			uint32_t seq;

			memcpy(&seq, p, 4);
			if (rte_pktmbuf_pkt_len(m[i]) != 64 || p[63] != 0xab ||
			    (next_seq && seq < *next_seq))
				(*bad)++;
			if (next_seq)
				*next_seq = seq + 1;
		}
		rte_pktmbuf_free_bulk(m, n);
		total += n;
	}
	return total;
}

static void
wait_for(unsigned int (*fn)(void *), void *arg, unsigned int want)
{
	for (int i = 0; i < 500 && fn(arg) < want; i++)
		usleep(10000);
}

static unsigned int
ring_count(void *r)
{
	return rte_ring_count(r);
}

static uint64_t
port_drops(const char *name, enum xv_drop_reason r)
{
	struct xv_port_stats st;

	xv_port_stats_read(xv_port_find(name), &st);
	return st.drops[r];
}

static uint64_t
port_rx(const char *name)
{
	struct xv_port_stats st;

	xv_port_stats_read(xv_port_find(name), &st);
	return st.rx[0].packets;
}

int
main(int argc, char **argv)
{
	/* Two workers, both on cpu 1 (a 2-cpu machine): enough to move
	 * queues between them. */
	/* Two workers on different cpus, so a queue polled by both at
	 * once would show (lost or reordered packets). */
	char *eal[] = { argv[0], "--lcores", "0@0,1@0,2@1", "--no-huge", "-m", "256",
			"--no-shconf", "--no-pci", "--no-telemetry",
			"--log-level=*:error", NULL };
	struct rte_ring *a_rx, *a_tx, *b_rx, *b_tx, *c_rx, *c_tx;
	unsigned int lcores[2] = { 1, 2 }, bad = 0, seq = 0, got, n;
	uint64_t dropped;

	if (rte_eal_init(RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	xv_port_init();
	xv_mbuf_init(2);
	if (xv_workers_start(2, lcores, &(struct xv_worker_conf){
				     .hold_ms = 50, .idle_us = 200, .wake_us = 500 }) != 0)
		return 1;
	test_pool = rte_pktmbuf_pool_create("test", 16383, 256, 0,
					    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);

	/* rte_eth_from_rings("a") makes the vdev "net_ring_a". */
	make_ring_dev("a", &a_rx, &a_tx, 4096);
	/* b's tx ring is small and nobody drains it at first. */
	make_ring_dev("b", &b_rx, &b_tx, 256);
	make_ring_dev("c", &c_rx, &c_tx, 4096);

	check(run("{\"cmd\":\"port.add\",\"args\":{\"name\":\"%s\",\"type\":\"eth\",\"devargs\":\"%s\"}}",
		  "a", "net_ring_a"), "eth port a on an existing ring device");
	check(run("{\"cmd\":\"port.add\",\"args\":{\"name\":\"%s\",\"type\":\"eth\",\"devargs\":\"%s\"}}",
		  "b", "net_ring_b"), "eth port b");
	check(!run("{\"cmd\":\"port.add\",\"args\":{\"name\":\"%s\",\"type\":\"eth\",\"devargs\":\"%s\"}}",
		   "b2", "net_ring_b"), "a device already used by a port is refused");
	check(!run("{\"cmd\":\"port.add\",\"args\":{\"name\":\"%s\",\"type\":\"eth\",\"devargs\":\"%s\"}}",
		   "bogus", "net_nosuchdriver0"), "bad devargs are refused");
	check(xv_n_ports == 2, "failed adds left nothing behind");

	/* Not relayed yet: received and dropped as no_dest. */
	inject(a_rx, 0, 100);
	wait_for(ring_count, a_rx, 0);
	for (int i = 0; i < 100 && port_drops("a", XV_DROP_NO_DEST) < 100; i++)
		usleep(10000);
	check(port_drops("a", XV_DROP_NO_DEST) == 100, "unrelayed packets counted as no_dest (%" PRIu64 ")",
	      port_drops("a", XV_DROP_NO_DEST));

	check(run("{\"cmd\":\"relay.add\",\"args\":{\"a\":\"%s\",\"b\":\"%s\"}}", "a", "b"),
	      "relay a <-> b");
	check(!run("{\"cmd\":\"relay.add\",\"args\":{\"a\":\"%s\",\"b\":\"%s\"}}", "b", "a"),
	      "the same relay twice is refused");

	/* Both directions, counted and intact. */
	n = inject(a_rx, 0, 200);
	for (int i = 0; i < 300 && rte_ring_count(b_tx) < n; i++)
		usleep(10000);
	got = drain(b_tx, &seq, &bad);
	check(got == 200 && bad == 0, "a -> b: 200 sent, %u arrived, %u bad or out of order", got, bad);
	n = inject(b_rx, 1000, 200);
	for (int i = 0; i < 300 && rte_ring_count(a_tx) < n; i++)
		usleep(10000);
	seq = 1000;
	got = drain(a_tx, &seq, &bad);
	check(got == 200 && bad == 0, "b -> a: 200 sent, %u arrived, %u bad or out of order", got, bad);

	/*
	 * Backpressure: b's tx ring (255 slots) is not drained. What it
	 * cannot take waits in xvio's hold buffer, and the rest waits in a's
	 * rx ring, not dropped...
	 */
	n = inject(a_rx, 0, 2000);
	usleep(20000);
	{
		unsigned int in_b = rte_ring_count(b_tx), left = rte_ring_count(a_rx);
		struct xv_port *pa = xv_port_find("a");

		check(in_b == 255, "destination ring filled (%u)", in_b);
		check(left + in_b + pa->rxq[0].n_hold +
			      port_drops("b", XV_DROP_TX_FULL) == n,
		      "every packet is in the ring, held, waiting at the source or counted (%u + %u + %u + %" PRIu64 " of %u)",
		      in_b, pa->rxq[0].n_hold, left, port_drops("b", XV_DROP_TX_FULL), n);
	}
	/* ... and after the hold time (50 ms) without progress, dropped as
	 * tx_full, so a stuck destination does not hold buffers forever. */
	for (int i = 0; i < 500 && rte_ring_count(a_rx) > 0; i++)
		usleep(10000);
	usleep(200000);
	dropped = port_drops("b", XV_DROP_TX_FULL);
	got = drain(b_tx, NULL, &bad);
	check(got + dropped == n, "stuck destination: %u delivered + %" PRIu64 " dropped as tx_full == %u sent",
	      got, dropped, n);

	/* Destination removed under traffic: the rest counted, nothing
	 * leaks, the daemon keeps working. */
	check(run("{\"cmd\":\"port.add\",\"args\":{\"name\":\"%s\",\"type\":\"eth\",\"devargs\":\"%s\"}}",
		  "c", "net_ring_c"), "eth port c");
	inject(a_rx, 0, 1000);
	check(run("{\"cmd\":\"port.del\",\"args\":{\"name\":\"%s\"}%s}", "b", ""),
	      "port b removed under traffic");
	check(xv_port_find("a")->peer == NULL, "its relay went with it");
	for (int i = 0; i < 300 && rte_ring_count(a_rx) > 0; i++)
		usleep(10000);
	usleep(50000);
	check(rte_ring_count(a_rx) == 0, "a is still polled after b left");
	check(port_rx("a") >= 100 + 200 + 2000 + 1000 - 64,
	      "a received everything (%" PRIu64 ")", port_rx("a"));
	check(run("{\"cmd\":\"relay.add\",\"args\":{\"a\":\"%s\",\"b\":\"%s\"}}", "a", "c"),
	      "relay a <-> c");
	inject(a_rx, 5000, 300);
	for (int i = 0; i < 300 && rte_ring_count(c_tx) < 300; i++)
		usleep(10000);
	seq = 5000;
	got = drain(c_tx, &seq, &bad);
	check(got == 300 && bad == 0, "new relay carries traffic (%u)", got);

	/*
	 * Moving a queue between workers under traffic: a's queue is pinned
	 * back and forth while numbered packets flow; none may be lost or
	 * overtake another (two workers never poll the queue at once).
	 */
	{
		unsigned int sent = 0, recv = 0, moves = 0;
		struct xv_port *pa = xv_port_find("a");

		seq = 100000;
		bad = 0;
		while (moves < 200) {
			sent += inject(a_rx, 100000 + sent, 2000);
			xv_sched_pin(pa, 0, moves % 2);
			moves++;
			recv += drain(c_tx, &seq, &bad);
		}
		for (int i = 0; i < 300 && recv < sent; i++) {
			usleep(10000);
			recv += drain(c_tx, &seq, &bad);
		}
		check(recv == sent && bad == 0,
		      "200 moves under traffic: %u sent, %u received, %u lost order",
		      sent, recv, bad);
		check(pa->sched[0].published == 1, "queue ended on worker 1");
	}

	check(run("{\"cmd\":\"relay.del\",\"args\":{\"a\":\"%s\",\"b\":\"%s\"}}", "c", "a"),
	      "relay removed by naming its ports in the other order");

	xv_workers_stop();
	xv_port_fini();
	/* Whatever reached the test's own rings is the test's to free. */
	drain(a_tx, NULL, &bad);
	drain(b_tx, NULL, &bad);
	drain(c_tx, NULL, &bad);
	xv_plan_fini();
	xv_workers_fini();
	check(rte_mempool_in_use_count(test_pool) == 0,
	      "every test mbuf came back (%d in use)", rte_mempool_in_use_count(test_pool));
	xv_mbuf_fini();
	rte_eal_cleanup();
	return tap_done();
}
