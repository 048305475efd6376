/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xvio: the Express Virtio datapath daemon.
 *
 * The main thread parses options, starts DPDK, launches the workers and
 * then becomes the control thread (server.c). Shutdown undoes start-up in
 * reverse order: workers stop, ports close, buffers go, the socket goes.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "acl.h"
#include "cmd.h"
#include "config.h"
#include "ct.h"
#include "net.h"
#include "plan.h"
#include "port.h"
#include "server.h"
#include "worker.h"
#include "xv_log.h"
#include "xv_mbuf.h"
#include "xv_sched.h"

#define DEFAULT_CTL "/run/xvio/xvio.sock"

struct options {
	const char *ctl;
	const char *ctl_group;
	const char *config;
	const char *log_level;
	unsigned int n_workers;       /* 0: from the cpu list, or 1 */
	unsigned int worker_cpus[XV_MAX_WORKERS];
	unsigned int n_worker_cpus;
	int main_cpu;                 /* -1: first allowed cpu */
	bool no_huge;
	unsigned int mem_mb;
	struct xv_worker_conf wconf;
	int eal_argc;
	char **eal_argv;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: xvio [options] [-- EAL options]\n"
		"  --ctl PATH         control socket (default " DEFAULT_CTL ")\n"
		"  --ctl-group GROUP  let GROUP use the control socket (mode 0660)\n"
		"  --config FILE      apply ports and relays from FILE at start\n"
		"  --workers N        worker threads (default: one per --lcores cpu, or 1)\n"
		"  --lcores CPU[,CPU] cpus for the workers (default: the last N cpus)\n"
		"  --main-lcore CPU   cpu for the control thread (default: the first cpu)\n"
		"  --no-huge          do not use hugepages even when mounted\n"
		"  --mem MB           memory without hugepages (default 512)\n"
		"  --hold-ms N        drop packets a destination refuses for N ms (default 1000)\n"
		"  --idle-us N        a worker idle for N us sleeps until packets come (default 200;\n"
		"                     0: always busy-poll)\n"
		"  --wake-us N        longest sleep when a queue has no interrupts (default 500)\n"
		"  --no-rebalance     never move queues between workers by measured load\n"
		"  --ct-capacity N    tracked connections in network mode (default 262144)\n"
		"  --acl-chunk N      security-group rules compiled per classifier context\n"
		"                     (default 4096; 0: one context per table, slowest to\n"
		"                     compile, fastest for new connections)\n"
		"  --log-level L      DPDK log level, e.g. debug or xvio.port:debug\n"
		"  -V, --version      print the version\n"
		"  -h, --help         this help\n");
}

static int
parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

static int
parse_cpus(const char *s, struct options *o)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int ret = 0;

	o->n_worker_cpus = 0;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned int lo, hi;
		char *dash = strchr(tok, '-');

		if (dash != NULL) {
			*dash = '\0';
			if (parse_uint(tok, 0, CPU_SETSIZE - 1, &lo) != 0 ||
			    parse_uint(dash + 1, lo, CPU_SETSIZE - 1, &hi) != 0) {
				ret = -1;
				break;
			}
		} else if (parse_uint(tok, 0, CPU_SETSIZE - 1, &lo) == 0) {
			hi = lo;
		} else {
			ret = -1;
			break;
		}
		for (; lo <= hi; lo++) {
			if (o->n_worker_cpus == XV_MAX_WORKERS) {
				ret = -1;
				break;
			}
			o->worker_cpus[o->n_worker_cpus++] = lo;
		}
	}
	free(copy);
	return ret == 0 && o->n_worker_cpus > 0 ? 0 : -1;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	enum { O_CTL = 256, O_CTL_GROUP, O_CONFIG, O_WORKERS, O_LCORES,
	       O_MAIN, O_NO_HUGE, O_MEM, O_HOLD, O_LOG, O_IDLE, O_WAKE, O_NO_REBALANCE, O_CT_CAP,
	       O_ACL_CHUNK };
	static const struct option longopts[] = {
		{ "ctl", required_argument, NULL, O_CTL },
		{ "ctl-group", required_argument, NULL, O_CTL_GROUP },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "lcores", required_argument, NULL, O_LCORES },
		{ "main-lcore", required_argument, NULL, O_MAIN },
		{ "no-huge", no_argument, NULL, O_NO_HUGE },
		{ "mem", required_argument, NULL, O_MEM },
		{ "hold-ms", required_argument, NULL, O_HOLD },
		{ "idle-us", required_argument, NULL, O_IDLE },
		{ "wake-us", required_argument, NULL, O_WAKE },
		{ "no-rebalance", no_argument, NULL, O_NO_REBALANCE },
		{ "ct-capacity", required_argument, NULL, O_CT_CAP },
		{ "acl-chunk", required_argument, NULL, O_ACL_CHUNK },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int v;
	int c;

	*o = (struct options){ .ctl = DEFAULT_CTL, .main_cpu = -1,
			       .mem_mb = 512,
			       .wconf = { .hold_ms = 1000, .idle_us = 200,
					  .wake_us = 500 } };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (c) {
		case O_CTL:
			o->ctl = optarg;
			break;
		case O_CTL_GROUP:
			o->ctl_group = optarg;
			break;
		case O_CONFIG:
			o->config = optarg;
			break;
		case O_WORKERS:
			if (parse_uint(optarg, 1, XV_MAX_WORKERS, &o->n_workers)) {
				fprintf(stderr, "xvio: --workers must be 1-%d\n",
					XV_MAX_WORKERS);
				return -1;
			}
			break;
		case O_LCORES:
			if (parse_cpus(optarg, o) != 0) {
				fprintf(stderr, "xvio: --lcores wants a cpu list like 1 or 1,2 or 1-3, not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case O_MAIN:
			if (parse_uint(optarg, 0, CPU_SETSIZE - 1, &v)) {
				fprintf(stderr, "xvio: --main-lcore wants a cpu number\n");
				return -1;
			}
			o->main_cpu = v;
			break;
		case O_NO_HUGE:
			o->no_huge = true;
			break;
		case O_MEM:
			if (parse_uint(optarg, 64, 1 << 20, &o->mem_mb)) {
				fprintf(stderr, "xvio: --mem must be a number of MB >= 64\n");
				return -1;
			}
			break;
		case O_HOLD:
			if (parse_uint(optarg, 0, 60000, &o->wconf.hold_ms)) {
				fprintf(stderr, "xvio: --hold-ms must be 0-60000\n");
				return -1;
			}
			break;
		case O_IDLE:
			if (parse_uint(optarg, 0, 10000000, &o->wconf.idle_us)) {
				fprintf(stderr, "xvio: --idle-us must be 0-10000000\n");
				return -1;
			}
			break;
		case O_WAKE:
			if (parse_uint(optarg, 1, 1000000, &o->wconf.wake_us)) {
				fprintf(stderr, "xvio: --wake-us must be 1-1000000\n");
				return -1;
			}
			break;
		case O_NO_REBALANCE:
			xv_sched_conf.rebalance = false;
			break;
		case O_CT_CAP:
			if (parse_uint(optarg, XV_CT_CAPACITY_MIN, XV_CT_CAPACITY_MAX,
				       &v)) {
				fprintf(stderr, "xvio: --ct-capacity must be %u-%u\n",
					XV_CT_CAPACITY_MIN, XV_CT_CAPACITY_MAX);
				return -1;
			}
			xv_net_ct_capacity = v;
			break;
		case O_ACL_CHUNK:
			if (parse_uint(optarg, 0, XV_ACL_MAX_RULES, &v) ||
			    (v != 0 && v < XV_ACL_CHUNK_MIN)) {
				fprintf(stderr, "xvio: --acl-chunk must be 0 or %u-%u\n",
					XV_ACL_CHUNK_MIN, XV_ACL_MAX_RULES);
				return -1;
			}
			xv_acl_chunk_rules = v;
			break;
		case O_LOG:
			o->log_level = optarg;
			break;
		case 'V':
			printf("xvio %s\n", XV_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			if (optopt)
				fprintf(stderr, "xvio: option -%c needs an argument or is unknown\n", optopt);
			else
				fprintf(stderr, "xvio: unknown option '%s'\n",
					argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0) {
		fprintf(stderr, "xvio: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	o->eal_argc = argc - optind;
	o->eal_argv = argv + optind;
	return 0;
}

/* Pick the cpus: control on main_cpu, workers on the rest. */
static int
place_threads(struct options *o)
{
	cpu_set_t set;
	int cpus[CPU_SETSIZE], n = 0, i;
	unsigned int w;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	if (o->main_cpu < 0)
		o->main_cpu = cpus[0];
	if (o->n_worker_cpus == 0) {
		unsigned int want = o->n_workers ? o->n_workers : 1;

		/* The last cpus, away from the control thread when we can. */
		for (i = n - 1; i >= 0 && o->n_worker_cpus < want; i--)
			if (cpus[i] != o->main_cpu || n == 1)
				o->worker_cpus[o->n_worker_cpus++] = cpus[i];
		/* More workers than cpus: share the chosen ones in turn. */
		unsigned int filled = o->n_worker_cpus;

		for (; o->n_worker_cpus < want; o->n_worker_cpus++)
			o->worker_cpus[o->n_worker_cpus] =
				o->worker_cpus[o->n_worker_cpus % filled];
	}
	if (o->n_workers == 0)
		o->n_workers = o->n_worker_cpus;
	if (o->n_workers != o->n_worker_cpus) {
		fprintf(stderr, "xvio: --workers %u but --lcores lists %u cpus\n",
			o->n_workers, o->n_worker_cpus);
		return -1;
	}
	for (w = 0; w < o->n_worker_cpus; w++) {
		if (!CPU_ISSET(o->worker_cpus[w], &set)) {
			fprintf(stderr, "xvio: cpu %u is not available\n",
				o->worker_cpus[w]);
			return -1;
		}
	}
	return 0;
}

/* Are hugepages mounted with some free? */
static bool
hugepages_available(void)
{
	char line[512];
	bool mounted = false;
	unsigned long free_pages = 0;
	FILE *f = fopen("/proc/mounts", "r");

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, " hugetlbfs ") != NULL)
			mounted = true;
	fclose(f);
	f = fopen("/proc/meminfo", "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		sscanf(line, "HugePages_Free: %lu", &free_pages);
	fclose(f);
	return mounted && free_pages > 0;
}

/* Did the operator pass EAL options that decide which PCI devices to use? */
static bool
eal_args_choose_pci(const struct options *o)
{
	static const char *const opts[] = { "-a", "--allow", "-b", "--block",
					     "--no-pci", "-w", "--pci-whitelist" };
	int i;
	unsigned int j;

	for (i = 0; i < o->eal_argc; i++)
		for (j = 0; j < RTE_DIM(opts); j++)
			if (strncmp(o->eal_argv[i], opts[j], strlen(opts[j])) == 0)
				return true;
	return false;
}

static int
eal_start(struct options *o, const char *prog)
{
	char lcores[1024], mem[32], log[256], prefix[32];
	char *argv[64];
	int argc = 0, len, i;
	unsigned int w;

	len = snprintf(lcores, sizeof(lcores), "0@%d", o->main_cpu);
	for (w = 0; w < o->n_workers; w++)
		len += snprintf(lcores + len, sizeof(lcores) - len, ",%u@%u",
				w + 1, o->worker_cpus[w]);
	argv[argc++] = (char *)prog;
	argv[argc++] = "--lcores";
	argv[argc++] = lcores;
	argv[argc++] = "--main-lcore";
	argv[argc++] = "0";
	argv[argc++] = "--no-telemetry";
	xv_daemon.hugepages = !o->no_huge && hugepages_available();
	/* Nothing on disk either way, so any number of daemons can run. */
	if (xv_daemon.hugepages) {
		argv[argc++] = "--in-memory";
	} else {
		/* --no-huge implies legacy memory, which --in-memory refuses. */
		snprintf(mem, sizeof(mem), "%u", o->mem_mb);
		snprintf(prefix, sizeof(prefix), "xvio%d", (int)getpid());
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = mem;
		argv[argc++] = "--no-shconf";
		argv[argc++] = "--file-prefix";
		argv[argc++] = prefix;
	}
	if (o->log_level != NULL) {
		snprintf(log, sizeof(log), "--log-level=%s", o->log_level);
		argv[argc++] = log;
	}
	/* Take only the PCI devices a port names: an allowlist holding an
	 * address that cannot exist keeps EAL from probing (and grabbing)
	 * every vfio-bound NIC at start; `port add NAME eth 0000:03:00.1`
	 * still hot-plugs. Operators can override with their own -a/-b. */
	if (!eal_args_choose_pci(o)) {
		argv[argc++] = "-a";
		argv[argc++] = "ffff:ff:1f.7";
	}
	for (i = 0; i < o->eal_argc && argc < (int)RTE_DIM(argv) - 1; i++)
		argv[argc++] = o->eal_argv[i];
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "xvio: DPDK initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return -1;
	}
	rte_openlog_stream(stderr);
	if (xv_daemon.hugepages)
		XV_LOG(core, INFO, "using hugepages");
	else
		XV_LOG(core, NOTICE,
		       "no hugepages %s: running on %u MB of normal memory (slower; mount hugetlbfs for full speed)",
		       o->no_huge ? "(--no-huge)" : "mounted", o->mem_mb);
	return 0;
}

/* Every vhost port holds a socket or two: allow as many fds as we may. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	struct options o;
	unsigned int lcores[XV_MAX_WORKERS], w;
	sigset_t mask;
	char err[1024];
	int ret = 1;

	if (parse_options(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	if (place_threads(&o) != 0)
		return 2;

	/* Every thread EAL and the vhost library start inherits this mask;
	 * the control loop takes the signals from a signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	xv_daemon.start_time = xv_now_s();
	xv_daemon.ctl_path = o.ctl;

	if (xv_port_init() != 0) {
		fprintf(stderr, "xvio: eventfd: %s\n", strerror(errno));
		return 1;
	}
	if (strcmp(o.ctl, DEFAULT_CTL) == 0)
		mkdir("/run/xvio", 0755);
	if (xv_server_open(o.ctl, o.ctl_group, err, sizeof(err)) != 0) {
		fprintf(stderr, "xvio: %s\n", err);
		goto out_port;
	}
	if (eal_start(&o, argv[0]) != 0)
		goto out_server;

	xv_mbuf_init(o.n_workers + 1);
	for (w = 0; w < o.n_workers; w++)
		lcores[w] = w + 1;
	if (xv_workers_start(o.n_workers, lcores, &o.wconf) != 0) {
		fprintf(stderr, "xvio: cannot start workers\n");
		goto out_eal;
	}
	for (w = 0; w < o.n_workers; w++) {
		xv_workers[w].cpu = o.worker_cpus[w];
		XV_LOG(core, INFO, "worker %u on cpu %u", w, o.worker_cpus[w]);
	}
	XV_LOG(core, INFO, "control thread on cpu %d", o.main_cpu);
	if (o.wconf.idle_us)
		XV_LOG(core, INFO, "idle workers sleep after %u us (wake-up bound %u us without interrupts)",
		       o.wconf.idle_us, o.wconf.wake_us);
	else
		XV_LOG(core, INFO, "workers busy-poll (--idle-us 0)");

	if (o.config != NULL && xv_config_load(o.config, err, sizeof(err)) != 0) {
		fprintf(stderr, "xvio: config: %s\n", err);
		goto out_workers;
	}
	XV_LOG(core, INFO, "xvio %s ready", XV_VERSION);
	if (xv_server_run() == 0)
		ret = 0;

out_workers:
	xv_workers_stop();
	xv_port_fini();
	xv_plan_fini();
	xv_net_fini();
	xv_workers_fini();
	xv_mbuf_fini();
out_eal:
	rte_eal_cleanup();
out_server:
	xv_server_close();
out_port:
	xv_port_fini();
	return ret;
}
