#!/usr/bin/env bash
# xvio "few cores" benchmark: what hybrid polling (--idle-us, default 200 us)
# costs and saves compared with pure busy polling (--idle-us 0), on the
# 2-core machine. Four parts, each alternating the configurations:
#
#   idle        CPU used by the switch with 8 vhost ports whose guests are
#               connected but idle (one testpmd with 8 virtio-user ports in
#               rxonly on CPU 0; relays vm0<->vm1, vm2<->vm3, ...): xvio hybrid,
#               xvio --idle-us 0, OVS-DPDK (8 dpdkvhostuserclient ports, PMD on
#               CPU 1). From /proc/PID/stat and /proc/PID/task/*/{stat,schedstat}.
#   latency     ICMP echo round trips (bench/rtt.py, kernel time stamps): netns
#               (198.18.0.1) -> xvio eth port -> vhost -> testpmd virtio-user
#               --forward-mode=icmpecho (198.18.0.2) and back. xvio runs inside the
#               netns; its eth port is net_tap (rx interrupts) or net_af_packet on a
#               veth pair (none: --wake-us timer). Spaced requests (10-20 ms apart:
#               the idle worker is asleep before each) and back-to-back ones;
#               p50/p99/p99.9 hybrid vs busy.
#   throughput  guest -> NIC 64 B (as bench.sh g2n-64, xvio only): testpmd
#               virtio-user txonly on CPU 0 -> xvio worker CPU 1 -> net_null0,no-rx=1.
#   kick        one-way latency vhost -> xvio -> vhost, one packet at a time
#               (bench/vlat.c, built as build/vlat): two virtio-user ports in one
#               process on CPU 0, relayed to each other by xvio (worker CPU 1);
#               1-3 ms random gaps, so a hybrid worker is asleep and the guest's
#               kick (eventfd) wakes it. Each round also measures the machine's
#               floor without xvio (vlat --wake-probe 1: eventfd write from CPU 0
#               -> a thread asleep in epoll on CPU 1).
#
# Run as root from anywhere, after `make` and scripts/ensure-hugepages.sh (make
# bench does both); bench/bench.sh runs it when BENCH_SCENARIOS has `few-cores`.
# Method and output: doc/benchmark.md, "Few cores".
#
# Environment (BENCH_* as in bench.sh):
#   BENCH_QUICK=1        short: 1 idle run (5 s), 1 latency round per NIC and configuration
#                        (300 spaced + 1000 back-to-back), 1 kick round of 500 packets,
#                        2 throughput runs of 3 s
#   FC_PARTS             default "idle latency kick throughput"
#   FC_IDLE_SYSTEMS      default "xvio-hybrid xvio-busy ovs"
#   FC_CONFIGS           xvio configurations of the latency, kick and throughput parts,
#                        default "hybrid busy" (hybrid: xvio's defaults; busy: --idle-us 0)
#   FC_PORTS             vhost ports in the idle part (default 8, even)
#   FC_IDLE_RUNS         runs per system (default 2; quick 1)
#   FC_IDLE_SETTLE       seconds between "all connected" and the window (default 3)
#   FC_IDLE_WINDOW       seconds (default 10; quick 5)
#   FC_LAT_ROUNDS        rounds per NIC and configuration (default 4; quick 1)
#   FC_LAT_COUNT         spaced requests per round (default 1000; quick 300)
#   FC_LAT_GAP_MS        gap after each reply, ms, random in A-B (default 10-20)
#   FC_LAT_B2B           back-to-back requests per round (default 2500; quick 1000)
#   FC_LAT_NICS          the netns side, default "tap af_packet": tap = net_tap (rx
#                        interrupts); af_packet = a veth pair in the netns, xvio on one
#                        end (no rx interrupts: an idle worker polls it every --wake-us)
#   FC_KICK_ROUNDS       kick rounds (each: probe + every configuration; default 4; quick 1)
#   FC_KICK_COUNT        packets per round and configuration (default 2000; quick 500)
#   FC_KICK_GAP_US       wait before each packet, us, random in A-B (default 1000-3000)
#   FC_KICK_PROBE        0: no wake-up probe rounds (default 1)
#   FC_KICK_GAP_SLEEP=1  vlat sleeps through the gaps instead of spinning (default spin)
#   FC_TP_RUNS           throughput runs per configuration (default 5; quick 2)
#   FC_TP_WARMUP         seconds (default 4; quick 2)
#   FC_TP_WINDOW         seconds (default 10; quick 3)
#   FC_TP_MULTIFLOW=1    generator with --txonly-multi-flow (256 flows, as bench.sh);
#                        default one flow (a cheaper generator)
#   FC_XVIO_ARGS         extra xvio options for both configurations (BENCH_XVIO_ARGS
#                        is not used here: the configurations set it)
#   BENCH_FORCE=1, BENCH_BUSY_MAX, BENCH_KEEP_LOGS=1, BENCH_TP_MBUFS, BENCH_FLOW_TIMEOUT,
#   XVIO_BUILD           as in bench.sh
#   FC_OUT               results dir (default bench/results/few-cores-<timestamp>,
#                        bench/results/few-cores-latest points to it)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

bench_settings

QUICK=${BENCH_QUICK:-0}
q() { if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi; }
PARTS=${FC_PARTS:-"idle latency kick throughput"}
IDLE_SYSTEMS=${FC_IDLE_SYSTEMS:-"xvio-hybrid xvio-busy ovs"}
CONFIGS=${FC_CONFIGS:-"hybrid busy"}
PORTS=${FC_PORTS:-8}
IDLE_RUNS=${FC_IDLE_RUNS:-$(q 2 1)}
IDLE_SETTLE=${FC_IDLE_SETTLE:-3}
IDLE_WINDOW=${FC_IDLE_WINDOW:-$(q 10 5)}
LAT_ROUNDS=${FC_LAT_ROUNDS:-$(q 4 1)}
LAT_COUNT=${FC_LAT_COUNT:-$(q 1000 300)}
LAT_GAP=${FC_LAT_GAP_MS:-10-20}
LAT_B2B=${FC_LAT_B2B:-$(q 2500 1000)}
LAT_NICS=${FC_LAT_NICS:-${FC_LAT_NIC:-"tap af_packet"}}
KICK_ROUNDS=${FC_KICK_ROUNDS:-$(q 4 1)}
KICK_COUNT=${FC_KICK_COUNT:-$(q 2000 500)}
KICK_GAP=${FC_KICK_GAP_US:-1000-3000}
KICK_PROBE=${FC_KICK_PROBE:-1}
KICK_GAP_SLEEP=${FC_KICK_GAP_SLEEP:-0}
VLAT_BIN=${VLAT_BIN:-$XVIO_BUILD/vlat}
TP_RUNS=${FC_TP_RUNS:-$(q 5 2)}
TP_WARMUP=${FC_TP_WARMUP:-$(q 4 2)}
TP_WINDOW=${FC_TP_WINDOW:-$(q 10 3)}
# One flow by default: the cheapest generator (xvio does not look at flows),
# so that it can keep xvio's worker busy more often on this host.
TP_MULTIFLOW=${FC_TP_MULTIFLOW:-}
[ "$TP_MULTIFLOW" = 0 ] && TP_MULTIFLOW=
XARGS=${FC_XVIO_ARGS:-}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${FC_OUT:-$ROOT/bench/results/few-cores-$STAMP}
export BENCH_BUSY_MAX=$BUSY_MAX

# Addresses (RFC 2544 range only) and the guest's MAC in the latency part.
LAT_NS_IP=198.18.0.1
LAT_GUEST_IP=198.18.0.2
LAT_GUEST_MAC=02:00:00:00:00:02

die() {
	echo "few-cores: $*" >&2
	exit 1
}

# xvio options of a configuration.
xv_args_for() {
	case $1 in
	hybrid) echo "$XARGS" ;;
	busy) echo "$XARGS --idle-us 0" ;;
	esac
}

# ---------------------------------------------------------------- checks

[ "$(id -u)" -eq 0 ] || die "must run as root (hugepages, network namespaces)"
[ -x "$XVIO_BIN" ] && [ -x "$XVIOCTL" ] || die "xvio is not built ($XVIO_BIN, $XVIOCTL): run 'make' first"
command -v "$TESTPMD" >/dev/null || die "dpdk-testpmd not found (Debian package dpdk-dev)"
command -v jq >/dev/null || die "jq not found (Debian package jq)"
command -v ip >/dev/null || die "ip not found (Debian package iproute2)"
grep -q ' hugetlbfs ' /proc/mounts || die "hugetlbfs is not mounted: run scripts/ensure-hugepages.sh"
free_hp=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
[ "${free_hp:-0}" -ge 192 ] || die "only ${free_hp:-0} free hugepages; about 200-400 are needed (2 MiB each)"
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs"
for p in $PARTS; do
	case $p in idle | latency | kick | throughput) ;; *) die "unknown part '$p' in FC_PARTS (idle latency kick throughput)" ;; esac
done
for s in $CONFIGS; do
	case $s in hybrid | busy) ;; *) die "unknown configuration '$s' in FC_CONFIGS (hybrid busy)" ;; esac
done
[ -n "$CONFIGS" ] || die "FC_CONFIGS is empty"
for s in $IDLE_SYSTEMS; do
	case $s in xvio-hybrid | xvio-busy | ovs) ;; *) die "unknown system '$s' in FC_IDLE_SYSTEMS (xvio-hybrid xvio-busy ovs)" ;; esac
done
for s in $LAT_NICS; do
	case $s in tap | af_packet) ;; *) die "unknown NIC '$s' in FC_LAT_NICS (tap af_packet)" ;; esac
done
[ "$PORTS" -ge 2 ] 2>/dev/null && [ $((PORTS % 2)) -eq 0 ] || die "FC_PORTS must be an even number >= 2"
for v in IDLE_RUNS IDLE_WINDOW LAT_ROUNDS LAT_COUNT LAT_B2B KICK_ROUNDS KICK_COUNT TP_RUNS TP_WINDOW; do
	[ "${!v}" -ge 1 ] 2>/dev/null || die "$v must be >= 1"
done

[[ "$KICK_GAP" =~ ^[0-9]+(-[0-9]+)?$ ]] || die "FC_KICK_GAP_US must be N or A-B (us)"
if [[ " $PARTS " == *" kick "* ]] && [ ! -x "$VLAT_BIN" ]; then
	log "$VLAT_BIN is not built (bench/vlat.c; 'make' builds it): part kick skipped"
	PARTS=${PARTS//kick/}
fi
if [[ " $PARTS " == *" idle "* ]] && [[ " $IDLE_SYSTEMS " == *" ovs "* ]] && [ ! -x "$OVS_VSWITCHD" ]; then
	scripts/ensure-deps.sh openvswitch-switch-dpdk ||
		{ log "OVS-DPDK could not be installed: idle part without ovs"; IDLE_SYSTEMS=${IDLE_SYSTEMS//ovs/}; }
fi

# Refuse to measure on CPUs someone else is using (as bench.sh).
refuse_busy_cpus few-cores "" "Measuring anyway; runs will be flagged."

# ---------------------------------------------------------------- setup

T=$(mktemp -d /tmp/xvfewcores.XXXXXX) || die "mktemp failed"
mkdir -p "$OUT/logs" "$OUT/rtt" "$OUT/kick" || die "cannot create $OUT"
RUNS_JSONL=$OUT/runs.jsonl
: >"$RUNS_JSONL"
LAT_NS=''

DONE=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	[ -n "${TP_PID[gen]:-}" ] && tp_stop gen
	[ -n "$LAT_NS" ] && ip netns del "$LAT_NS" 2>/dev/null
	bench_finish "$rc" "$ROOT/bench/fewcores.py"
}
on_exit cleanup

{
	env_facts
	echo "parts=$PARTS"
	echo "idle_systems=$IDLE_SYSTEMS"
	echo "configs=$CONFIGS"
	echo "ports=$PORTS"
	echo "idle_runs=$IDLE_RUNS"
	echo "idle_settle_s=$IDLE_SETTLE"
	echo "idle_window_s=$IDLE_WINDOW"
	echo "lat_rounds=$LAT_ROUNDS"
	echo "lat_count=$LAT_COUNT"
	echo "lat_gap_ms=$LAT_GAP"
	echo "lat_b2b=$LAT_B2B"
	echo "lat_nics=$LAT_NICS"
	echo "kick_rounds=$KICK_ROUNDS"
	echo "kick_count=$KICK_COUNT"
	echo "kick_gap_us=$KICK_GAP"
	echo "kick_probe=$KICK_PROBE"
	echo "kick_gap_sleep=$KICK_GAP_SLEEP"
	echo "tp_runs=$TP_RUNS"
	echo "tp_warmup_s=$TP_WARMUP"
	echo "tp_window_s=$TP_WINDOW"
	echo "tp_multiflow=${TP_MULTIFLOW:-0}"
	echo "xvio_args=$XARGS"
	echo "tp_mbufs=$BENCH_TP_MBUFS"
	echo "busy_at_start=$BUSY0 $BUSY1"
	echo "forced=$FORCED"
	echo "quick=$QUICK"
} >"$OUT/env.txt"

SEQ=0
TOTAL=0
DONE_N=0

# new_run NAME: per-run dir; sets RUNDIR and RUN_NAME, samples the background load.
new_run() {
	SEQ=$((SEQ + 1))
	DONE_N=$((DONE_N + 1))
	RUN_NAME=$(printf 'f%03d-%s' "$SEQ" "$1")
	RUNDIR=$T/$RUN_NAME
	mkdir -p "$RUNDIR"
	# Background load on CPU 0/1 right before the run (nothing of ours runs now).
	read -r BG0 BG1 < <(cpu_busy 0.5)
}

# keep_logs LINE: keep a run's logs when it failed or was flagged (or always
# with BENCH_KEEP_LOGS=1), as bench.sh does.
keep_logs() {
	if [ "${BENCH_KEEP_LOGS:-0}" = 1 ] ||
		! printf '%s' "$1" | jq -e '.ok and ((.flags // []) | length == 0)' >/dev/null 2>&1; then
		mkdir -p "$OUT/logs/$RUN_NAME"
		find "$RUNDIR" -maxdepth 2 -type f \( -name '*.log' -o -name '*.kv' -o -name '*.out' -o -name '*.json' \) \
			-exec cp {} "$OUT/logs/$RUN_NAME/" \;
	fi
}

# record LINE HEAD OK: a run's JSON LINE goes into runs.jsonl, its logs are
# kept (keep_logs) and its progress line goes to stderr: "[n/total] HEAD: "
# and then OK and the flags, or "FAILED: " and the error. HEAD: jq string
# text (e.g. 'idle \(.system)'); OK: a jq expression giving a string.
record() {
	printf '%s\n' "$1" >>"$RUNS_JSONL"
	keep_logs "$1"
	printf '%s\n' "$1" | jq -r --arg n "$DONE_N/$TOTAL" '"[\($n)] '"$2"': " +
		(if .ok then '"$3"' +
		 (if (.flags | length) > 0 then " [\(.flags | join(","))]" else "" end)
		 else "FAILED: \(.error)" end)' >&2
}

xv_json() { # FILE ARGS...: an xvioctl --json query into FILE
	local f=$1
	shift
	xv --json "$@" >"$f" 2>>"$RUNDIR/xvioctl.log"
}

# Stop xvio and check its exit status; appends to ERR.
xv_down() {
	if [ -n "$XV_PID" ] && ! alive "$XV_PID"; then
		wait "$XV_PID" 2>/dev/null
		ERR="${ERR:+$ERR; }xvio died (exit status $?)"
		unset "_PST[$XV_PID]"
		XV_PID=
	elif [ -n "$XV_PID" ]; then
		xv_stop
		[ "$STOP_RC" = 0 ] || ERR="${ERR:+$ERR; }xvio exit status $STOP_RC on SIGTERM"
	fi
}

n_vhost_connected() {
	xv --json port list 2>/dev/null | jq '[(.ports // .result.ports)[] | select(.type == "vhost" and .state == "connected")] | length'
}
all_connected() { [ "$(n_vhost_connected)" = "$1" ]; }

ovs_all_up() {
	local i
	for ((i = 0; i < PORTS; i++)); do
		[ "$(ovs_vsctl get Interface "vhost$i" link_state 2>/dev/null)" = up ] || return 1
	done
}

# ---------------------------------------------------------------- part 1: idle CPU

idle_run() { # SYSTEM(xvio-hybrid|xvio-busy|ovs) RUN
	local sysarg=$1 run=$2 sys cfg i vd=() srv='' snapspec=() line pmd_idle=''
	sys=${sysarg%%-*}
	cfg=${sysarg#*-}
	[ "$sys" = ovs ] && cfg=pmd && srv=,server=1
	new_run "idle-$sysarg"
	ERR=''
	local conn=0
	for ((i = 0; i < PORTS; i++)); do
		vd+=(--vdev "net_virtio_user$i,path=$RUNDIR/vh$i.sock,queues=1$srv")
	done
	# The switch first, then the guests (as bench.sh; OVS's ports are
	# clients and reconnect until the guest's server socket is there).
	if [ "$sys" = xvio ]; then
		BENCH_XVIO_ARGS=$(xv_args_for "$cfg")
		if ! xv_start; then
			ERR="xvio did not start"
		else
			for ((i = 0; i < PORTS; i++)); do
				xv_do port add "vm$i" vhost "$RUNDIR/vh$i.sock" --queues 1 || { ERR="port add vm$i failed"; break; }
			done
			for ((i = 0; i < PORTS; i += 2)); do
				[ -z "$ERR" ] || break
				xv_do relay add "vm$i" "vm$((i + 1))" || ERR="relay add failed"
			done
		fi
	else
		if ! ovs_start "f$SEQ"; then
			ERR="OVS did not start"
		else
			for ((i = 0; i < PORTS; i++)); do
				ovs_port_vhost "vhost$i" "$RUNDIR/vh$i.sock" $((i + 1)) || { ERR="ovs add-port vhost$i failed"; break; }
			done
			if [ -z "$ERR" ]; then
				ovs-ofctl del-flows br0 || ERR="ovs-ofctl failed"
				for ((i = 1; i <= PORTS; i += 2)); do
					[ -z "$ERR" ] || break
					ovs-ofctl add-flow br0 "in_port=$i,actions=output:$((i + 1))" &&
						ovs-ofctl add-flow br0 "in_port=$((i + 1)),actions=output:$i" || ERR="ovs add-flow failed"
				done
			fi
		fi
	fi
	if [ -z "$ERR" ]; then
		tp_start gen -l 0,1 --main-lcore 1 --no-pci --in-memory --single-file-segments --file-prefix="xvfg$$n$SEQ" \
			"${vd[@]}" -- -i --forward-mode=rxonly --nb-cores=1 --total-num-mbufs="$BENCH_TP_MBUFS" &&
			tp_cmd gen start || ERR="guest testpmd did not start"
	fi
	if [ -z "$ERR" ]; then
		if [ "$sys" = xvio ]; then
			wait_for 60 all_connected "$PORTS" || ERR="only $(n_vhost_connected) of $PORTS vhost ports connected"
			conn=$(n_vhost_connected)
		else
			if wait_for 60 ovs_all_up; then conn=$PORTS; else ERR="not every OVS vhost port came up"; fi
		fi
	fi
	if [ -z "$ERR" ]; then
		sleep "$IDLE_SETTLE"
		snapspec=("gen=${TP_PID[gen]}")
		if [ "$sys" = xvio ]; then
			snapspec+=("sut=$XV_PID")
			xv_json "$RUNDIR/status.json" status
			xv_json "$RUNDIR/stats0.json" stats
		else
			snapspec+=("sut=$OVS_VS_PID" "db=$OVS_DB_PID")
			ovs_appctl dpif-netdev/pmd-stats-clear >/dev/null 2>&1
		fi
		"$PY" "$ROOT/bench/fewcores.py" snap "$RUNDIR/start.json" "${snapspec[@]}"
		sleep "$IDLE_WINDOW"
		"$PY" "$ROOT/bench/fewcores.py" snap "$RUNDIR/end.json" "${snapspec[@]}"
		if [ "$sys" = xvio ]; then
			xv_json "$RUNDIR/stats1.json" stats
			alive "$XV_PID" || ERR="xvio exited during the window"
		else
			ovs_appctl dpif-netdev/pmd-stats-show >"$RUNDIR/pmd-stats.out" 2>&1
			pmd_idle=$(awk '/^pmd thread.*core_id 1:/ {p = 1} p && /idle cycles:/ {gsub(/[()%]/, "", $4); print $4; exit}' "$RUNDIR/pmd-stats.out")
			alive "$OVS_VS_PID" || ERR="ovs-vswitchd exited during the window"
		fi
		tp_alive gen || ERR="${ERR:+$ERR; }guest testpmd exited during the window"
	fi
	tp_stop gen
	if [ "$sys" = xvio ]; then xv_down; else ovs_stop; fi
	{
		echo "system=$sys"
		echo "config=$cfg"
		echo "run=$run"
		echo "seq=$SEQ"
		echo "ports=$PORTS"
		echo "ports_connected=$conn"
		echo "bg_busy0=$BG0"
		echo "bg_busy1=$BG1"
		echo "clk_tck=$(getconf CLK_TCK)"
		echo "status_file=$RUNDIR/status.json"
		echo "xv_stats0=$RUNDIR/stats0.json"
		echo "xv_stats1=$RUNDIR/stats1.json"
		echo "pmd_idle_pct=$pmd_idle"
		echo "error=$ERR"
		echo "logs=logs/$RUN_NAME"
	} >"$RUNDIR/meta.kv"
	line=$("$PY" "$ROOT/bench/fewcores.py" idle "$RUNDIR/meta.kv" "$RUNDIR/start.json" "$RUNDIR/end.json") ||
		line="{\"part\":\"idle\",\"system\":\"$sys\",\"config\":\"$cfg\",\"run\":$run,\"seq\":$SEQ,\"ok\":false,\"error\":\"fewcores.py idle failed\"}"
	record "$line" 'idle \(.system) \(.config) run \(.run)' \
		'"CPU \(.sut_cpu_pct)% of a core (schedstat \(.sut_cpu_pct_ns)%), worker/PMD thread \(.worker_pct_ns // "-")%" +
		 (if .xv_sleeps_per_s != null then ", \(.xv_sleeps_per_s) sleeps/s, \(.xv_timer_wakes) timer wakes" else "" end) +
		 ", guest \(.gen_cpu) cores, others \(.others_cores) cores"'
	rm -rf "$RUNDIR"
}

# ---------------------------------------------------------------- part 2: latency

# lat_round CONFIG ROUND NIC: one xvio, one guest, spaced then back-to-back pings.
lat_round() {
	local cfg=$1 round=$2 nic=$3 ifname devargs line mode i ok=0 rf cf gap count
	new_run "lat-$nic-$cfg"
	ERR=''
	LAT_NS=xvfc-$$-$SEQ
	ifname=xvft$$
	if ! ip netns add "$LAT_NS"; then
		ERR="ip netns add failed"
	else
		ip netns exec "$LAT_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
		ip -n "$LAT_NS" link set lo up
		if [ "$nic" = af_packet ]; then
			# veth pair inside the netns: xvio reads/writes xvfa, the stack uses xvft.
			ip -n "$LAT_NS" link add "$ifname" type veth peer name "xvfa$$" &&
				ip -n "$LAT_NS" link set "xvfa$$" up || ERR="veth setup failed"
			devargs="net_af_packet0,iface=xvfa$$"
		else
			devargs="net_tap0,iface=$ifname"
		fi
	fi
	if [ -z "$ERR" ]; then
		BENCH_XVIO_ARGS=$(xv_args_for "$cfg")
		XV_NETNS=$LAT_NS
		xv_start || ERR="xvio did not start (in netns $LAT_NS)"
		XV_NETNS=''
	fi
	if [ -z "$ERR" ]; then
		xv_do port add vm vhost "$RUNDIR/vh0.sock" --queues 1 && xv_do port add nic eth "$devargs" &&
			xv_do relay add vm nic || ERR="xvio port/relay setup failed"
	fi
	if [ -z "$ERR" ]; then
		ip -n "$LAT_NS" addr add "$LAT_NS_IP/24" dev "$ifname" &&
			ip -n "$LAT_NS" link set "$ifname" up &&
			ip -n "$LAT_NS" neigh replace "$LAT_GUEST_IP" lladdr "$LAT_GUEST_MAC" dev "$ifname" nud permanent ||
			ERR="address setup on $ifname failed"
	fi
	if [ -z "$ERR" ]; then
		tp_start gen -l 0,1 --main-lcore 1 --no-pci --in-memory --single-file-segments --file-prefix="xvfg$$n$SEQ" \
			--vdev "net_virtio_user0,path=$RUNDIR/vh0.sock,queues=1,mac=$LAT_GUEST_MAC" \
			-- -i --forward-mode=icmpecho --nb-cores=1 --total-num-mbufs="$BENCH_TP_MBUFS" &&
			tp_cmd gen start || ERR="guest testpmd did not start"
	fi
	if [ -z "$ERR" ]; then
		wait_for 60 all_connected 1 || ERR="the guest did not connect"
	fi
	if [ -z "$ERR" ]; then
		# First replies (bounded): the path works.
		for ((i = 0; i < 40; i++)); do
			if ip netns exec "$LAT_NS" "$PY" "$ROOT/bench/rtt.py" --dst "$LAT_GUEST_IP" --count 5 \
				--timeout-ms 500 --out "$RUNDIR/warm.txt" >"$RUNDIR/warm.out" 2>&1 &&
				jq -e '.lost == 0' "$RUNDIR/warm.out" >/dev/null 2>&1; then
				ok=1
				break
			fi
			sleep 0.5
		done
		[ "$ok" = 1 ] || ERR="no echo replies through xvio within 20 s"
		xv_json "$RUNDIR/status.json" status
		xv_json "$RUNDIR/port-nic.json" port show nic
		sleep 1
	fi
	for mode in spaced b2b; do
		[ -n "$ERR" ] && break
		if [ "$mode" = spaced ]; then gap=$LAT_GAP count=$LAT_COUNT; else gap=0 count=$LAT_B2B; fi
		rf=rtt/$RUN_NAME-$mode.txt
		cf=$RUNDIR/client-$mode.json
		tp_snap gen gen >"$RUNDIR/gen0-$mode.kv"
		xv_json "$RUNDIR/stats0-$mode.json" stats
		"$PY" "$ROOT/bench/fewcores.py" snap "$RUNDIR/start-$mode.json" "gen=${TP_PID[gen]}" "sut=$XV_PID"
		# The client shares CPU 0 with the guest (team rule: load on CPU 0).
		ip netns exec "$LAT_NS" taskset -c 0 "$PY" "$ROOT/bench/rtt.py" --dst "$LAT_GUEST_IP" --count "$count" \
			--gap-ms "$gap" --timeout-ms 1000 --out "$OUT/$rf" >"$cf" 2>"$RUNDIR/client-$mode.log" ||
			ERR="rtt client failed ($mode): $(tail -1 "$RUNDIR/client-$mode.log")"
		"$PY" "$ROOT/bench/fewcores.py" snap "$RUNDIR/end-$mode.json" "gen=${TP_PID[gen]}" "sut=$XV_PID"
		xv_json "$RUNDIR/stats1-$mode.json" stats
		tp_snap gen gen >"$RUNDIR/gen1-$mode.kv"
		alive "$XV_PID" || ERR="xvio exited during the round"
		tp_alive gen || ERR="${ERR:+$ERR; }guest testpmd exited during the round"
		{
			echo "system=xvio"
			echo "config=$cfg"
			echo "run=$round"
			echo "seq=$SEQ"
			echo "mode=$mode"
			echo "gap_ms=$gap"
			echo "nic=$nic"
			echo "outdir=$OUT"
			echo "rtt_file=$rf"
			echo "client_file=$cf"
			echo "bg_busy0=$BG0"
			echo "bg_busy1=$BG1"
			echo "clk_tck=$(getconf CLK_TCK)"
			echo "status_file=$RUNDIR/status.json"
			echo "xv_stats0=$RUNDIR/stats0-$mode.json"
			echo "xv_stats1=$RUNDIR/stats1-$mode.json"
			echo "gen_kv0=$RUNDIR/gen0-$mode.kv"
			echo "gen_kv1=$RUNDIR/gen1-$mode.kv"
			echo "error=$ERR"
			echo "logs=logs/$RUN_NAME"
		} >"$RUNDIR/meta-$mode.kv"
		line=$("$PY" "$ROOT/bench/fewcores.py" latency "$RUNDIR/meta-$mode.kv" "$RUNDIR/start-$mode.json" "$RUNDIR/end-$mode.json") ||
			line="{\"part\":\"latency\",\"system\":\"xvio\",\"config\":\"$cfg\",\"nic\":\"$nic\",\"mode\":\"$mode\",\"run\":$round,\"seq\":$SEQ,\"ok\":false,\"error\":\"fewcores.py latency failed\"}"
		record_lat "$line"
	done
	tp_stop gen
	xv_down
	ip netns del "$LAT_NS" 2>/dev/null
	LAT_NS=''
	if [ -n "$ERR" ] && ! grep -q "\"seq\":$SEQ," "$RUNS_JSONL"; then
		line="{\"part\":\"latency\",\"system\":\"xvio\",\"config\":\"$cfg\",\"nic\":\"$nic\",\"run\":$round,\"seq\":$SEQ,\"ok\":false,\"error\":$(jq -Rn --arg e "$ERR" '$e'),\"logs\":\"logs/$RUN_NAME\"}"
		record_lat "$line"
	fi
	rm -rf "$RUNDIR"
}

record_lat() { # LINE
	record "$1" 'latency \(.nic // "") \(.config) round \(.run) \(.mode // "")' \
		'"\(.pings) pings, \(.late // 0) late, \(.lost) lost, RTT us p50 \(.rtt_us.p50) p99 \(.rtt_us.p99) p99.9 \(.rtt_us.p999) max \(.rtt_us.max), \(.xv_sleeps_per_ping // "-") sleeps/ping"'
}

# ---------------------------------------------------------------- part 3: throughput

# The same job and the same counters as bench.sh's g2n-64 for xvio; the run
# is recorded by report.py (bench.sh's record), plus part/config/sleeps.
tp_snapshot() { # FILE
	{
		echo "t=$(now_s)"
		bracket sut xv_snap sut
		bracket gen tp_snap gen gen
		echo "t_done=$(now_s)"
	} >"$1"
}
far_now() {
	tp_snapshot "$RUNDIR/.far" 2>/dev/null
	awk -F= '$1 == "sut.port.nic.tx" {print $2}' "$RUNDIR/.far"
}
wait_traffic() {
	local v0 v end
	end=$(($(date +%s) + FLOW_TIMEOUT))
	v0=$(far_now)
	while [ "$(date +%s)" -lt "$end" ]; do
		sleep 0.5
		alive "$XV_PID" && tp_alive gen || return 1
		v=$(far_now)
		[ -n "$v" ] && [ -n "$v0" ] && [ "$v" -gt "$v0" ] 2>/dev/null && return 0
		[ -n "$v0" ] || v0=$v
	done
	return 1
}
kv() { awk -F= -v k="$2" '$1 == k {print $2}' "$1" 2>/dev/null; }

tp_run() { # CONFIG RUN
	local cfg=$1 run=$2 line sl0 sl1 sleeps=null
	new_run "tp-$cfg"
	ERR=''
	local sut_rc=''
	BENCH_XVIO_ARGS=$(xv_args_for "$cfg")
	if ! xv_start; then
		ERR="system under test did not start"
	elif ! { xv_do port add vm vhost "$RUNDIR/vh0.sock" --queues 1 && xv_do port add nic eth net_null0,no-rx=1 &&
		xv_do relay add vm nic; }; then
		ERR="xvio port/relay setup failed"
	elif ! { tp_start gen -l 0,1 --main-lcore 1 --no-pci --in-memory --single-file-segments --file-prefix="xvfg$$n$SEQ" \
		--vdev "net_virtio_user0,path=$RUNDIR/vh0.sock,queues=1" \
		-- -i --forward-mode=txonly --txpkts=64 ${TP_MULTIFLOW:+--txonly-multi-flow} --nb-cores=1 --record-core-cycles \
		--total-num-mbufs="$BENCH_TP_MBUFS" && tp_cmd gen start; }; then
		ERR="guest testpmd did not start"
	elif ! wait_traffic; then
		ERR="no traffic at the far end"
	else
		xv_json "$RUNDIR/status.json" status
		sleep "$TP_WARMUP"
		tp_snapshot "$RUNDIR/start.kv"
		sleep "$TP_WINDOW"
		tp_snapshot "$RUNDIR/end.kv"
		alive "$XV_PID" || ERR="system under test exited during the window"
		tp_alive gen || ERR="${ERR:+$ERR; }guest testpmd exited during the window"
	fi
	tp_stop gen
	xv_down
	sut_rc=$STOP_RC
	{
		echo "scenario=g2n-64"
		echo "dir=g2n"
		echo "size=64"
		echo "system=xvio"
		echo "run=$run"
		echo "seq=$SEQ"
		echo "far_key=sut.port.nic.tx"
		echo "gen_tx_key=gen.nic.0.tx"
		echo "gen_drop_key=gen.fwd.0.txdrop"
		echo "sut_in_key=sut.port.vm.rx"
		echo "sut_out_key=sut.port.nic.tx"
		echo "bg_busy0=$BG0"
		echo "bg_busy1=$BG1"
		echo "warmup_s=$TP_WARMUP"
		echo "window_planned_s=$TP_WINDOW"
		echo "clk_tck=$(getconf CLK_TCK)"
		echo "imix=64"
		echo "sut_rc=$sut_rc"
		echo "error=$ERR"
		echo "logs=logs/$RUN_NAME"
	} >"$RUNDIR/meta.kv"
	sl0=$(kv "$RUNDIR/start.kv" sut.sleeps)
	sl1=$(kv "$RUNDIR/end.kv" sut.sleeps)
	[ -n "$sl0" ] && [ -n "$sl1" ] && sleeps=$((sl1 - sl0))
	line=$("$PY" "$ROOT/bench/report.py" record "$RUNDIR/meta.kv" "$RUNDIR/start.kv" "$RUNDIR/end.kv" |
		jq -c --arg cfg "$cfg" --argjson sl "$sleeps" --slurpfile st <(cat "$RUNDIR/status.json" 2>/dev/null || echo null) \
			'. + {part: "throughput", config: $cfg, xv_sleeps: $sl,
			      poll_policy: ($st[0].poll_policy // null), idle_us: ($st[0].idle_us // null),
			      wake_us: ($st[0].wake_us // null)}') ||
		line="{\"part\":\"throughput\",\"system\":\"xvio\",\"config\":\"$cfg\",\"run\":$run,\"seq\":$SEQ,\"ok\":false,\"error\":\"report.py record failed\"}"
	record "$line" 'throughput \(.config) run \(.run)' \
		'"\(.mpps * 1000 | round / 1000) Mpps, \(.busy_cpp // "-" | if type == "number" then (. * 10 | round / 10) else . end) busy cyc/pkt, SUT busy \((.busy_frac // 0) * 100 | round)%, \(.xv_sleeps // "-") sleeps"'
	rm -rf "$RUNDIR"
}

# ---------------------------------------------------------------- part 4: kick

# vl_start ARGS...: vlat on CPU 0 with stdin and stdout on fifos (it waits
# for a line before measuring and another before it exits); its stdout is
# read by vl_wait into $RUNDIR/vlat.out, stderr goes to $RUNDIR/vlat.log.
# Sets VL_PID, VL_IN, VL_OUT.
VL_PID=
VL_IN=
VL_OUT=
vl_start() {
	local fin=$RUNDIR/vlat.in out=$RUNDIR/vlat.fifo
	rm -f "$fin" "$out"
	mkfifo "$fin" "$out" || return 1
	exec {VL_IN}<>"$fin" {VL_OUT}<>"$out"
	: >"$RUNDIR/vlat.out"
	echo "+ taskset -c 0 $VLAT_BIN $*" >"$RUNDIR/vlat.log"
	taskset -c 0 "$VLAT_BIN" "$@" <"$fin" >"$out" 2>>"$RUNDIR/vlat.log" &
	VL_PID=$!
	track "$VL_PID"
}

# vl_wait REGEX BOUND_S: read vlat's stdout (blocking: no CPU taken from the
# measurement) until a line matches.
vl_wait() {
	local end=$((SECONDS + $2)) line
	while ((SECONDS < end)); do
		if IFS= read -r -t 1 line <&"$VL_OUT"; then
			printf '%s\n' "$line" >>"$RUNDIR/vlat.out"
			[[ $line =~ $1 ]] && return 0
		else
			alive "$VL_PID" || return 1
		fi
	done
	return 1
}

vl_stop() {
	local i line
	[ -n "$VL_PID" ] || return 0
	{ echo quit >&"$VL_IN"; } 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		alive "$VL_PID" || break
		sleep 0.1
	done
	stop_proc "$VL_PID" INT 10
	VL_RC=$STOP_RC
	while IFS= read -r -t 0.1 line <&"$VL_OUT"; do
		printf '%s\n' "$line" >>"$RUNDIR/vlat.out"
	done
	exec {VL_IN}>&- {VL_OUT}<&-
	VL_PID=''
}

# kick_round CONFIG ROUND: CONFIG hybrid|busy = vlat's two virtio-user ports
# through an xvio relay; probe = vlat --wake-probe 1 (no xvio: the machine's
# cost of waking a thread asleep on CPU 1).
kick_round() {
	local cfg=$1 round=$2 line vargs=() snapspec=() sf bound gmax
	new_run "kick-$cfg"
	ERR=''
	VL_RC=''
	sf=kick/$RUN_NAME.txt
	gmax=${KICK_GAP#*-}
	# The measured packets, each at most a gap plus vlat's 1 s timeout (a
	# loss), plus start-up: bounded, not expected.
	bound=$((KICK_COUNT * (gmax + 2000) / 1000000 + 60))
	vargs=(-- --count "$KICK_COUNT" --gap-us "$KICK_GAP" --wait --out "$OUT/$sf")
	[ "$KICK_GAP_SLEEP" = 1 ] && vargs+=(--gap-sleep)
	if [ "$cfg" = probe ]; then
		vl_start -l 0 --no-pci --no-huge --no-shconf -m 64 --file-prefix="xvfk$$n$SEQ" "${vargs[@]}" --wake-probe 1 ||
			ERR="vlat did not start"
	else
		BENCH_XVIO_ARGS=$(xv_args_for "$cfg")
		if ! xv_start; then
			ERR="xvio did not start"
		elif ! { xv_do port add vm0 vhost "$RUNDIR/vk0.sock" --queues 1 &&
			xv_do port add vm1 vhost "$RUNDIR/vk1.sock" --queues 1 && xv_do relay add vm0 vm1; }; then
			ERR="xvio port/relay setup failed"
		else
			vl_start -l 0 --no-pci --in-memory --single-file-segments --file-prefix="xvfk$$n$SEQ" \
				--vdev "net_virtio_user0,path=$RUNDIR/vk0.sock,queues=1" \
				--vdev "net_virtio_user1,path=$RUNDIR/vk1.sock,queues=1" "${vargs[@]}" ||
				ERR="vlat did not start"
		fi
	fi
	if [ -z "$ERR" ] && ! vl_wait '^vlat: ready' 90; then
		ERR="vlat not ready within 90 s: $(tail -1 "$RUNDIR/vlat.log")"
	fi
	if [ -z "$ERR" ]; then
		snapspec=("gen=$VL_PID")
		if [ "$cfg" != probe ]; then
			snapspec+=("sut=$XV_PID")
			xv_json "$RUNDIR/status.json" status
			xv_json "$RUNDIR/stats0.json" stats
		fi
		"$PY" "$ROOT/bench/fewcores.py" snap "$RUNDIR/start.json" "${snapspec[@]}"
		echo go >&"$VL_IN"
		vl_wait '^\{' "$bound" || ERR="no result from vlat within $bound s: $(tail -1 "$RUNDIR/vlat.log")"
		"$PY" "$ROOT/bench/fewcores.py" snap "$RUNDIR/end.json" "${snapspec[@]}"
		if [ "$cfg" != probe ]; then
			xv_json "$RUNDIR/stats1.json" stats
			alive "$XV_PID" || ERR="${ERR:+$ERR; }xvio exited during the round"
		fi
		grep -E '^\{' "$RUNDIR/vlat.out" | tail -1 >"$RUNDIR/vlat.json"
	fi
	vl_stop
	[ -n "$ERR" ] || [ "$VL_RC" = 0 ] || ERR="vlat exit status $VL_RC"
	[ "$cfg" != probe ] && xv_down
	{
		echo "system=$([ "$cfg" = probe ] && echo none || echo xvio)"
		echo "config=$cfg"
		echo "run=$round"
		echo "seq=$SEQ"
		echo "count=$KICK_COUNT"
		echo "gap_us=$KICK_GAP"
		echo "gap_sleep=$KICK_GAP_SLEEP"
		echo "outdir=$OUT"
		echo "samples_file=$sf"
		echo "vlat_file=$RUNDIR/vlat.json"
		echo "bg_busy0=$BG0"
		echo "bg_busy1=$BG1"
		echo "clk_tck=$(getconf CLK_TCK)"
		echo "status_file=$([ "$cfg" = probe ] || echo "$RUNDIR/status.json")"
		echo "xv_stats0=$RUNDIR/stats0.json"
		echo "xv_stats1=$RUNDIR/stats1.json"
		echo "error=$ERR"
		echo "logs=logs/$RUN_NAME"
	} >"$RUNDIR/meta.kv"
	line=$("$PY" "$ROOT/bench/fewcores.py" kick "$RUNDIR/meta.kv" "$RUNDIR/start.json" "$RUNDIR/end.json") ||
		line="{\"part\":\"kick\",\"config\":\"$cfg\",\"run\":$round,\"seq\":$SEQ,\"ok\":false,\"error\":\"fewcores.py kick failed\"}"
	record "$line" 'kick \(.config) round \(.run)' \
		'"\(.received)/\(.count) packets, \(.lost) lost, one-way us p50 \(.lat_us.p50) p99 \(.lat_us.p99) max \(.lat_us.max // "-")" +
		 ", tx call p50 \(.tx_call_us.p50) us, \(.stalled) stalled, CPU 0 stolen \((.cpu0_stolen // 0) * 100 | . * 10 | round / 10)%" +
		 (if .xv_sleeps_per_pkt != null then ", \(.xv_sleeps_per_pkt) sleeps/packet, \(.xv_timer_wakes) timer wakes" else "" end)'
	rm -rf "$RUNDIR"
}

# ---------------------------------------------------------------- main

read -r -a ISYS <<<"$IDLE_SYSTEMS"
NCFG=$(wc -w <<<"$CONFIGS")
for p in $PARTS; do
	case $p in
	idle) TOTAL=$((TOTAL + IDLE_RUNS * ${#ISYS[@]})) ;;
	latency) TOTAL=$((TOTAL + LAT_ROUNDS * NCFG * $(wc -w <<<"$LAT_NICS"))) ;;
	kick) TOTAL=$((TOTAL + KICK_ROUNDS * (NCFG + (KICK_PROBE == 1 ? 1 : 0)))) ;;
	throughput) TOTAL=$((TOTAL + TP_RUNS * NCFG)) ;;
	esac
done
log "few-cores results: $OUT"
log "parts: $PARTS; $TOTAL runs (machine: CPU 0/1 busy $BUSY0/$BUSY1 before the start)"

read -r -a CFGS <<<"$CONFIGS"
for p in $PARTS; do
	case $p in
	idle)
		n=${#ISYS[@]}
		for ((r = 1; r <= IDLE_RUNS; r++)); do
			for ((k = 0; k < n; k++)); do
				idle_run "${ISYS[$(((r - 1 + k) % n))]}" "$r"
			done
		done
		;;
	latency)
		for nic in $LAT_NICS; do
			for ((r = 1; r <= LAT_ROUNDS; r++)); do
				for ((k = 0; k < NCFG; k++)); do
					lat_round "${CFGS[$(((r - 1 + k) % NCFG))]}" "$r" "$nic"
				done
			done
		done
		;;
	kick)
		for ((r = 1; r <= KICK_ROUNDS; r++)); do
			[ "$KICK_PROBE" = 1 ] && kick_round probe "$r"
			for ((k = 0; k < NCFG; k++)); do
				kick_round "${CFGS[$(((r - 1 + k) % NCFG))]}" "$r"
			done
		done
		;;
	throughput)
		for ((r = 1; r <= TP_RUNS; r++)); do
			for ((k = 0; k < NCFG; k++)); do
				tp_run "${CFGS[$(((r - 1 + k) % NCFG))]}" "$r"
			done
		done
		;;
	esac
done

DONE=1
"$PY" "$ROOT/bench/fewcores.py" summary "$OUT" || die "fewcores.py summary failed"
[ -z "${FC_OUT:-}" ] && ln -sfn "$(basename "$OUT")" "$ROOT/bench/results/few-cores-latest" 2>/dev/null
echo
cat "$OUT/summary.md"
echo
log "results in $OUT (runs.jsonl, runs.csv, summary.json, summary.md, rtt/, kick/)"
