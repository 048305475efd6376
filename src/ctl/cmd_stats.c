/* SPDX-License-Identifier: BSD-3-Clause */
/* stats, stats.clear and status commands. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "cmd.h"
#include "net.h"
#include "plan.h"
#include "port.h"
#include "server.h"
#include "worker.h"
#include "xv_mbuf.h"
#include "xv_sched.h"

static json_t *
drops_json(const uint64_t *drops)
{
	json_t *o = json_object();
	uint64_t total = 0;
	unsigned int r;

	for (r = 0; r < XV_DROP_MAX; r++)
		total += drops[r];
	json_object_set_new(o, "total", json_integer(total));
	for (r = 0; r < XV_DROP_MAX; r++)
		json_object_set_new(o, xv_drop_name(r), json_integer(drops[r]));
	return o;
}

static json_t *
port_stats_json(const struct xv_port *port, uint64_t *totals)
{
	const struct xv_port_ops *ops = xv_port_ops(port);
	struct xv_port_stats st;
	struct xv_qstats rx = { 0 }, tx = { 0 };
	json_t *o = json_object(), *queues = json_array();
	unsigned int q, r;

	xv_port_stats_read(port, &st);
	for (q = 0; q < XV_MAX_QUEUES; q++) {
		rx.packets += st.rx[q].packets;
		rx.bytes += st.rx[q].bytes;
		tx.packets += st.tx[q].packets;
		tx.bytes += st.tx[q].bytes;
		if (q < port->queues || st.rx[q].packets || st.tx[q].packets)
			json_array_append_new(queues,
				json_pack("{s:i, s:I, s:I, s:I, s:I, s:i, s:b, s:f}", "queue", q,
					  "rx_packets", (json_int_t)st.rx[q].packets,
					  "rx_bytes", (json_int_t)st.rx[q].bytes,
					  "tx_packets", (json_int_t)st.tx[q].packets,
					  "tx_bytes", (json_int_t)st.tx[q].bytes,
					  "worker", port->sched[q].published,
					  "pinned", port->sched[q].pinned >= 0,
					  "load", xv_sched_queue_load(port, q)));
	}
	for (r = 0; r < XV_DROP_MAX; r++)
		totals[r] += st.drops[r];
	json_object_set_new(o, "name", json_string(port->name));
	json_object_set_new(o, "rx", json_pack("{s:I, s:I}", "packets",
					       (json_int_t)rx.packets, "bytes",
					       (json_int_t)rx.bytes));
	json_object_set_new(o, "tx", json_pack("{s:I, s:I}", "packets",
					       (json_int_t)tx.packets, "bytes",
					       (json_int_t)tx.bytes));
	json_object_set_new(o, "drops", drops_json(st.drops));
	json_object_set_new(o, "queues", queues);
	if (ops->dev_stats != NULL) {
		json_t *nic = json_object();

		ops->dev_stats(port, nic);
		json_object_set_new(o, "nic", nic);
	}
	return o;
}

static json_t *
workers_json(void)
{
	json_t *list = json_array();
	unsigned int w;

	for (w = 0; w < xv_n_workers; w++) {
		const struct xv_worker *wk = &xv_workers[w];
		uint64_t busy = wk->busy_cycles, idle = wk->idle_cycles;
		struct xv_plan *plan = __atomic_load_n(&wk->plan,
						       __ATOMIC_ACQUIRE);

		uint64_t sleep = wk->sleep_cycles, all = busy + idle + sleep;

		/* idle_cycles counts polling that found nothing, sleep_cycles
		 * time given back to the system. */
		json_array_append_new(list,
			json_pack("{s:i, s:i, s:i, s:s, s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:f, s:i}",
				  "id", w, "lcore", wk->lcore,
				  "cpu", wk->cpu,
				  "state", __atomic_load_n(&wk->sleeping, __ATOMIC_RELAXED) ?
					  "sleep" : "poll",
				  "busy_cycles", (json_int_t)busy,
				  "idle_cycles", (json_int_t)idle,
				  "sleep_cycles", (json_int_t)sleep,
				  "busy_pct", all ? 100.0 * busy / all : 0.0,
				  "sleep_pct", all ? 100.0 * sleep / all : 0.0,
				  "loops", (json_int_t)wk->loops,
				  "sleeps", (json_int_t)wk->sleeps,
				  "timer_wakes", (json_int_t)wk->timer_wakes,
				  "load", xv_sched_worker_load(w),
				  "polls", plan ? (int)plan->n_polls : 0));
	}
	return list;
}

int
xv_cmd_stats(json_t *args, struct xv_reply *reply)
{
	const char *only = xv_arg_str(args, "port", NULL);
	uint64_t totals[XV_DROP_MAX];
	json_t *ports;
	unsigned int i;

	if (only != NULL && xv_port_find(only) == NULL)
		return xv_reply_error(reply, XV_ERR_NOT_FOUND, "no port '%s'",
				      only);
	ports = json_array();
	memcpy(totals, xv_port_gone_drops, sizeof(totals));
	for (i = 0; i < xv_n_ports; i++) {
		json_t *ps = port_stats_json(xv_ports[i], totals);

		if (only == NULL || strcmp(only, xv_ports[i]->name) == 0)
			json_array_append_new(ports, ps);
		else
			json_decref(ps);
	}
	reply->result = json_pack("{s:o, s:o, s:o, s:I, s:{s:b, s:I, s:I}}",
				  "ports", ports, "workers", workers_json(),
				  "drops", drops_json(totals), "tsc_hz",
				  (json_int_t)rte_get_tsc_hz(), "rebalance",
				  "auto", xv_sched_conf.rebalance,
				  "rebalances", (json_int_t)xv_sched_rebalances,
				  "queues_moved", (json_int_t)xv_sched_moves);
	return 0;
}

int
xv_cmd_stats_clear(json_t *args, struct xv_reply *reply)
{
	const char *only = xv_arg_str(args, "port", NULL);
	unsigned int i;

	if (only != NULL && xv_port_find(only) == NULL)
		return xv_reply_error(reply, XV_ERR_NOT_FOUND, "no port '%s'",
				      only);
	for (i = 0; i < xv_n_ports; i++)
		if (only == NULL || strcmp(only, xv_ports[i]->name) == 0)
			xv_port_stats_clear(xv_ports[i]);
	return 0;
}

static int
count_memseg(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
	     void *arg)
{
	*(uint64_t *)arg += ms->len;
	return 0;
}

static uint64_t
rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * sysconf(_SC_PAGESIZE);
}

double
xv_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* status.change: the change compiling aside and the clients whose next
 * request is a change waiting for it; null when none runs. */
static json_t *
running_change(void)
{
	double since;
	const char *cmd = xv_cmd_running_change(&since);

	if (cmd == NULL)
		return json_null();
	return json_pack("{s:s, s:f, s:i}", "cmd", cmd, "running_s",
			 xv_now_s() - since, "waiting",
			 xv_server_changes_waiting());
}

int
xv_cmd_status(json_t *args, struct xv_reply *reply)
{
	struct rte_malloc_socket_stats ms;
	struct xv_mbuf_totals mt;
	uint64_t dpdk_mem = 0, heap = 0;
	unsigned int i, n_relays = 0, s;
	json_t *workers = json_array();

	rte_memseg_walk(count_memseg, &dpdk_mem);
	for (s = 0; s < rte_socket_count(); s++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(s), &ms) == 0)
			heap += ms.heap_allocsz_bytes;
	xv_mbuf_totals(&mt);
	for (i = 0; i < xv_n_ports; i++)
		if (xv_ports[i]->peer != NULL)
			n_relays++;
	for (i = 0; i < xv_n_workers; i++)
		json_array_append_new(workers,
				      json_pack("{s:i, s:i, s:i}", "id", i, "lcore",
						xv_workers[i].lcore, "cpu",
						xv_workers[i].cpu));
	reply->result = json_pack(
		"{s:i, s:f, s:s, s:b, s:i, s:i, s:o, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}}",
		"pid", (int)getpid(), "uptime_s", xv_now_s() - xv_daemon.start_time,
		"ctl", xv_daemon.ctl_path, "hugepages", xv_daemon.hugepages,
		"n_ports", xv_n_ports, "n_relays", n_relays / 2,
		"workers", workers, "poll_policy",
		xv_worker_conf.idle_us ? "hybrid" : "busy", "memory",
		"hugepage_bytes", (json_int_t)dpdk_mem,
		"heap_alloc_bytes", (json_int_t)heap,
		"rss_bytes", (json_int_t)rss_bytes(),
		"mbufs_total", (json_int_t)mt.total,
		"mbufs_reserved", (json_int_t)mt.reserved,
		"mbufs_in_use", (json_int_t)mt.in_use,
		"mbuf_bytes", (json_int_t)mt.bytes,
		"pools", mt.pools);
	json_object_set_new(reply->result, "net", xv_net_status());
	json_object_set_new(reply->result, "idle_us",
			    json_integer(xv_worker_conf.idle_us));
	json_object_set_new(reply->result, "wake_us",
			    json_integer(xv_worker_conf.wake_us));
	json_object_set_new(reply->result, "hold_ms",
			    json_integer(xv_worker_conf.hold_ms));
	json_object_set_new(reply->result, "change", running_change());
	return 0;
}
