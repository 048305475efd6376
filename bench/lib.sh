# shellcheck shell=bash
# Helpers for bench/bench.sh and bench/few-cores.sh: shared settings and
# checks, process tracking, dpdk-testpmd instances driven through a fifo,
# xvio and a private OVS-DPDK, counter snapshots.
#
# Every process is started by this file's functions, recorded by PID and
# start time, and stopped by PID only (never by name).
#
# Globals the caller sets: ROOT (the repo top, before bench_settings),
# T (private temp dir), RUNDIR (per-run dir, set by the caller per run);
# bench_settings sets XVIO_BIN, XVIOCTL, TESTPMD, BENCH_TP_MBUFS and the rest.

# ---------------------------------------------------------------- settings

# bench_settings: the settings bench.sh and few-cores.sh share (the build,
# the tools, and the BENCH_* variables both read).
bench_settings() {
	XVIO_BUILD=${XVIO_BUILD:-$ROOT/build}
	XVIO_BIN=${XVIO_BIN:-$XVIO_BUILD/xvio}
	XVIOCTL=${XVIOCTL:-$XVIO_BUILD/xvioctl}
	TESTPMD=${TESTPMD:-dpdk-testpmd}
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=python3
	# shellcheck disable=SC2034 # the scripts read it
	BUSY_MAX=${BENCH_BUSY_MAX:-0.30}
	BENCH_TP_MBUFS=${BENCH_TP_MBUFS:-32768}
	# shellcheck disable=SC2034 # the scripts read it
	FLOW_TIMEOUT=${BENCH_FLOW_TIMEOUT:-30}
}

# ---------------------------------------------------------------- misc

now_s() { date +%s.%N; }

log() { printf '%s\n' "bench: $*" >&2; }

# bracket TAG cmd...: a query, bracketed by t.TAG.pre / t.TAG.post lines
# (the counters were read somewhere in between; on a loaded CPU that can
# take a while).
bracket() {
	local tag=$1
	shift
	echo "t.$tag.pre=$(now_s)"
	"$@"
	echo "t.$tag.post=$(now_s)"
}

# cpu_busy SECONDS -> "B0 B1": busy fraction of CPU 0 and CPU 1 over the
# interval (from /proc/stat; busy = everything but idle and iowait).
cpu_busy() {
	local a b
	a=$(grep -E '^cpu[01] ' /proc/stat)
	sleep "$1"
	b=$(grep -E '^cpu[01] ' /proc/stat)
	printf '%s\n%s\n' "$a" "$b" | awk '
		{ tot = 0; for (i = 2; i <= 9; i++) tot += $i; idle = $5 + $6
		  if (!($1 in t0)) { t0[$1] = tot; i0[$1] = idle } else { t1[$1] = tot; i1[$1] = idle } }
		END { for (c = 0; c < 2; c++) { k = "cpu" c; dt = t1[k] - t0[k]; di = i1[k] - i0[k]
		        printf "%s%.3f", (c ? " " : ""), (dt > 0 ? (dt - di) / dt : 0) } print "" }'
}

# The other processes that ran on CPU 0/1 recently (for the refusal message).
busy_procs() {
	ps -eo pid,psr,pcpu,etime,args --sort=-pcpu 2>/dev/null | awk 'NR == 1 || ($3 + 0 >= 5)' | head -12 | cut -c1-160
}

# refuse_busy_cpus NAME WHY NOTE: refuse to measure on CPUs someone else
# is using. Sets BUSY0 BUSY1 (busy fraction of CPU 0/1 over 2 s, before
# anything of ours runs) and FORCED. Either over BUSY_MAX: exits 2 with
# the reasons on stderr (NAME: their prefix; WHY: an extra line, or ""),
# unless BENCH_FORCE=1: then logs NOTE and sets FORCED=1.
# shellcheck disable=SC2034 # FORCED: the scripts read it
refuse_busy_cpus() {
	local name=$1 why=$2 note=$3 msg
	FORCED=0
	read -r BUSY0 BUSY1 < <(cpu_busy 2)
	awk -v a="$BUSY0" -v b="$BUSY1" -v m="$BUSY_MAX" 'BEGIN {exit !(a > m || b > m)}' || return 0
	msg="CPU 0 is $(awk -v x="$BUSY0" 'BEGIN{printf "%.0f", x*100}')% and CPU 1 is $(awk -v x="$BUSY1" 'BEGIN{printf "%.0f", x*100}')% busy (over 2 s, before starting anything); the limit is $(awk -v x="$BUSY_MAX" 'BEGIN{printf "%.0f", x*100}')%."
	if [ "${BENCH_FORCE:-0}" != 1 ]; then
		echo "$name: refusing to start: $msg" >&2
		[ -z "$why" ] || echo "$name: $why" >&2
		echo "$name: busiest processes:" >&2
		busy_procs | sed "s/^/$name:   /" >&2
		echo "$name: wait until they finish, or set BENCH_FORCE=1 to measure anyway (results are then flagged)." >&2
		exit 2
	fi
	log "BENCH_FORCE=1: $msg $note"
	FORCED=1
}

# ---------------------------------------------------------------- processes

declare -A _PST=()

_pstart() { # PID -> start time (field 22 of /proc/PID/stat); fails when gone or a zombie
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	[ "$1" = Z ] && return 1
	echo "${20}"
}

# proc_ticks PID -> utime+stime of the whole process in clock ticks
proc_ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo ""; return 1; }
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo $((${12} + ${13}))
}

track() { _PST[$1]=$(_pstart "$1" || echo gone); }

alive() {
	local st
	[ -n "${_PST[$1]:-}" ] || return 1
	st=$(_pstart "$1") || return 1
	[ "${_PST[$1]}" = "$st" ]
}

# stop_proc PID [SIG] [BOUND_S]: signal a tracked process, wait (bounded),
# SIGKILL after the bound. Sets STOP_RC to its exit status.
STOP_RC=
stop_proc() {
	local pid=$1 sig=${2:-TERM} bound=${3:-10} i
	STOP_RC=
	[ -n "${_PST[$pid]:-}" ] || return 0
	if alive "$pid"; then
		kill -s "$sig" "$pid" 2>/dev/null
		for ((i = 0; i < bound * 10; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			log "pid $pid did not stop on SIG$sig within ${bound}s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null
			for ((i = 0; i < 50; i++)); do
				alive "$pid" || break
				sleep 0.1
			done
		fi
	fi
	wait "$pid" 2>/dev/null
	STOP_RC=$?
	unset "_PST[$pid]"
	return 0
}

stop_all_tracked() {
	local pid
	for pid in "${!_PST[@]}"; do
		stop_proc "$pid" INT 5
	done
}

# wait_for BOUND_S cmd...: poll every 0.1 s until cmd succeeds.
wait_for() {
	local bound=$1 end
	shift
	end=$(($(date +%s%N) / 1000000 + bound * 1000))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ $(($(date +%s%N) / 1000000)) -ge $end ] && return 1
		sleep 0.1
	done
}

# ---------------------------------------------------------------- testpmd

declare -A TP_PID=() TP_LOG=() TP_FD=()
_TPQ=0

# tp_start NAME testpmd-args...: interactive testpmd with stdin on a fifo,
# stdout line-buffered into $RUNDIR/NAME.log; waits for the prompt.
tp_start() {
	local name=$1 fifo log fd pid i
	shift
	fifo=$RUNDIR/$name.fifo
	log=$RUNDIR/$name.log
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	exec {fd}<>"$fifo"
	echo "+ $TESTPMD $*" >"$log"
	stdbuf -oL -eL "$TESTPMD" "$@" <"$fifo" >>"$log" 2>&1 &
	pid=$!
	track "$pid"
	TP_PID[$name]=$pid
	TP_LOG[$name]=$log
	TP_FD[$name]=$fd
	for ((i = 0; i < 600; i++)); do
		grep -q 'testpmd> ' "$log" && return 0
		alive "$pid" || { log "testpmd '$name' exited during startup (log: $log)"; return 1; }
		sleep 0.1
	done
	log "testpmd '$name' gave no prompt within 60 s (log: $log)"
	return 1
}

tp_alive() { [ -n "${TP_PID[$1]:-}" ] && alive "${TP_PID[$1]}"; }

tp_cmd() { # NAME COMMAND...
	tp_alive "$1" || return 1
	echo "$2" >&"${TP_FD[$1]}"
}

# tp_query NAME OUT COMMAND...: send the commands plus a marker line that
# testpmd answers with "Command not found"; once the marker's echo is in the
# log, everything the commands printed is there too. OUT gets that output.
tp_query() {
	local name=$1 out=$2 log off mark i
	shift 2
	tp_alive "$name" || return 1
	log=${TP_LOG[$name]}
	off=$(stat -c %s "$log")
	_TPQ=$((_TPQ + 1))
	mark="xvb_mark_${_TPQ}_$$"
	{
		printf '%s\n' "$@"
		echo "$mark"
	} >&"${TP_FD[$name]}"
	for ((i = 0; i < 1000; i++)); do
		if tail -c +$((off + 1)) "$log" | grep -q "$mark"; then
			tail -c +$((off + 1)) "$log" >"$out"
			return 0
		fi
		tp_alive "$name" || return 1
		sleep 0.01
	done
	return 1
}

# tp_parse FILE [PREFIX]: key=value lines from "show port stats all" and
# "show fwd stats all" output:
#   PREFIX.nic.P.rx / .tx           NIC counters of port P (since start)
#   PREFIX.fwd.P.rx/.rxdrop/.tx/.txdrop   forwarding counters of port P
#   PREFIX.fwd.all.*                accumulated forwarding counters
#   PREFIX.cycles / PREFIX.mhz      --record-core-cycles total and TSC MHz
tp_parse() {
	awk -v pfx="${2:-tp}" '
		function num(s) { gsub(/[^0-9]/, "", s); return s }
		/NIC statistics for port/ { split($0, a, "port "); p = num(a[2]); m = "nic"; next }
		/Forward statistics for port/ { split($0, a, "port "); p = num(a[2]); m = "fwd"; next }
		/Accumulated forward statistics/ { p = "all"; m = "fwd"; next }
		/^ *[#+-]+ *$/ { m = ""; next }
		m == "nic" && $1 == "RX-packets:" { print pfx ".nic." p ".rx=" $2 }
		m == "nic" && $1 == "TX-packets:" { print pfx ".nic." p ".tx=" $2 }
		m == "nic" && $1 == "Rx-pps:" { print pfx ".nic." p ".rxpps=" $2 }
		m == "nic" && $1 == "Tx-pps:" { print pfx ".nic." p ".txpps=" $2 }
		m == "fwd" && $1 == "RX-packets:" { print pfx ".fwd." p ".rx=" $2; print pfx ".fwd." p ".rxdrop=" $4 }
		m == "fwd" && $1 == "TX-packets:" { print pfx ".fwd." p ".tx=" $2; print pfx ".fwd." p ".txdrop=" $4 }
		/total cycles=/ { s = $0; sub(/.*total cycles=/, "", s); sub(/ .*/, "", s); print pfx ".cycles=" s
		                  s = $0; sub(/ MHz.*/, "", s); sub(/.* at /, "", s); print pfx ".mhz=" s }
	' "$1"
}

# tp_snap NAME PREFIX: port and forwarding counters as key=value lines.
tp_snap() {
	local f=$RUNDIR/.q-$1
	tp_query "$1" "$f" "show port stats all" "show fwd stats all" || return 1
	tp_parse "$f" "$2"
	echo "$2.cpu=$(proc_ticks "${TP_PID[$1]}")"
}

# tp_stop NAME: "quit" through the fifo (testpmd prints its final counters),
# then SIGINT, then SIGKILL, each bounded.
tp_stop() {
	local name=$1 pid=${TP_PID[$1]:-} i fd
	[ -n "$pid" ] || return 0
	tp_cmd "$name" quit 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	stop_proc "$pid" INT 10
	fd=${TP_FD[$name]:-}
	[ -n "$fd" ] && exec {fd}>&-
	unset "TP_PID[$name]" "TP_FD[$name]"
	return 0
}

# ---------------------------------------------------------------- xvio

XV_PID=
XV_CTL=

# xv_start: the daemon pinned as the team rules say (worker CPU 1, control
# thread CPU 0), ready when `xvioctl version` answers. With XV_NETNS set, it
# runs inside that network namespace (`ip netns exec` execs it: same PID).
xv_start() {
	local i ns=()
	XV_CTL=$RUNDIR/ctl.sock
	[ -n "${XV_NETNS:-}" ] && ns=(ip netns exec "$XV_NETNS")
	echo "+ ${ns[*]}${ns[*]:+ }$XVIO_BIN --ctl $XV_CTL --lcores 1 --main-lcore 0 ${BENCH_XVIO_ARGS:-}" >"$RUNDIR/xvio.log"
	# shellcheck disable=SC2086
	"${ns[@]}" "$XVIO_BIN" --ctl "$XV_CTL" --lcores 1 --main-lcore 0 ${BENCH_XVIO_ARGS:-} </dev/null >>"$RUNDIR/xvio.log" 2>&1 &
	XV_PID=$!
	track "$XV_PID"
	for ((i = 0; i < 300; i++)); do
		"$XVIOCTL" --ctl "$XV_CTL" version >/dev/null 2>&1 && return 0
		alive "$XV_PID" || { log "xvio exited during startup (log: $RUNDIR/xvio.log)"; return 1; }
		sleep 0.1
	done
	log "xvio did not answer within 30 s (log: $RUNDIR/xvio.log)"
	return 1
}

xv() { "$XVIOCTL" --ctl "$XV_CTL" "$@"; }

# xv_do ARGS...: an xvioctl command whose output goes to the xvio log.
xv_do() {
	echo "+ xvioctl $*" >>"$RUNDIR/xvioctl.log"
	xv "$@" >>"$RUNDIR/xvioctl.log" 2>&1 || { log "xvioctl $* failed: $(tail -1 "$RUNDIR/xvioctl.log")"; return 1; }
}

# xv_snap PREFIX: xvio's counters as key=value lines.
xv_snap() {
	local out
	out=$(xv --json stats) || return 1
	printf '%s\n' "$out" | jq -r --arg p "$1" '
		(if type == "object" and has("result") then .result else . end) as $r |
		($r.ports[] | "\($p).port.\(.name).rx=\(.rx.packets)", "\($p).port.\(.name).tx=\(.tx.packets)",
		              "\($p).port.\(.name).drops=\(.drops.total)",
		              (if .nic.opackets != null then "\($p).port.\(.name).opackets=\(.nic.opackets)" else empty end),
		              (if .nic.ipackets != null then "\($p).port.\(.name).ipackets=\(.nic.ipackets)" else empty end)),
		"\($p).busy=\([$r.workers[].busy_cycles] | add)",
		"\($p).idle=\([$r.workers[].idle_cycles] | add)",
		(if $r.workers[0].sleep_cycles != null then "\($p).sleep=\([$r.workers[].sleep_cycles] | add)" else empty end),
		"\($p).sleeping=\([$r.workers[] | select(.state == "sleep")] | length)",
		(if $r.workers[0].sleeps != null then "\($p).sleeps=\([$r.workers[].sleeps] | add)" else empty end),
		(if $r.workers[0].timer_wakes != null then "\($p).timer_wakes=\([$r.workers[].timer_wakes] | add)" else empty end),
		"\($p).tsc_hz=\($r.tsc_hz)",
		"\($p).drops=\($r.drops.total)",
		($r.drops | to_entries[] | select(.key != "total") | "\($p).drop.\(.key)=\(.value)")' || return 1
	echo "$1.cpu=$(proc_ticks "$XV_PID")"
}

# xv_fw_setup TYPE SPEC [OPTIONS...]: xvio in network mode for the fw
# scenarios: network, uplink (the null NIC), a security group without its
# default rules, the VM port `vm` (xvioctl port add vm TYPE SPEC OPTIONS...)
# with the traffic's source MAC/IP and that group, then all the rules of
# $T/fw/sg-rules.json in one sg.rule.add call (timed; its apply_ms recorded
# in RUN_META). The caller sets FW_MAC, FW_IP (the traffic's source) and
# FW_RULES (the number of rules), and declares RUN_META.
FW_NET=fwnet FW_SG=fw
xv_fw_setup() {
	local ids out t0 t1 n
	xv_do network add "$FW_NET" && xv_do sg add "$FW_SG" || return 1
	ids=$(xv call sg.show "{\"name\":\"$FW_SG\"}" | jq -ce '[.result.rules[].id]') ||
		{ log "xvio: sg.show $FW_SG gave no rule list"; return 1; }
	if [ "$ids" != "[]" ]; then
		xv_do call sg.rule.del "{\"sg\":\"$FW_SG\",\"ids\":$ids}" || return 1
	fi
	xv_do port add nic eth net_null0,no-rx=1 --network "$FW_NET" --uplink &&
		xv_do port add vm "$@" --network "$FW_NET" --mac "$FW_MAC" --ip "$FW_IP" --sg "$FW_SG" ||
		return 1
	echo "+ xvioctl call sg.rule.add @sg-rules.json" >>"$RUNDIR/xvioctl.log"
	t0=$(now_s)
	out=$(xv call sg.rule.add "$(cat "$T/fw/sg-rules.json")" 2>>"$RUNDIR/xvioctl.log")
	t1=$(now_s)
	printf '%s\n' "$out" | cut -c1-300 >>"$RUNDIR/xvioctl.log"
	n=$(printf '%s' "$out" | jq -e '.result.ids | length' 2>/dev/null)
	[ "$n" = "$FW_RULES" ] || { log "xvio: sg.rule.add of $FW_RULES rules failed: $(printf '%s' "$out" | cut -c1-200)"; return 1; }
	RUN_META+=("fw.load_rules=$n" "fw.load_apply_ms=$(printf '%s' "$out" | jq '.result.apply_ms')"
		"fw.load_wall_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}')")
	xv --json status >"$RUNDIR/status.out" 2>/dev/null
}

xv_stop() {
	[ -n "$XV_PID" ] || return 0
	stop_proc "$XV_PID" TERM 15
	XV_PID=
}

# ---------------------------------------------------------------- OVS-DPDK

OVS_VSWITCHD=${OVS_VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
OVS_SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
OVS_R=
OVS_NS=
OVS_DB_PID=
OVS_VS_PID=
declare -a NETNS_MADE=()

ovs_vsctl() { ovs-vsctl --db="unix:$OVS_R/db.sock" "$@"; }
ovs_appctl() { ovs-appctl -t "$OVS_R/ovs-vswitchd.ctl" "$@"; }

# ovs_start NAME: a private OVS as in /work/shared/PEERS.md: own ovsdb in the
# run dir, no systemd, vswitchd in a private netns, lcore 0 for non-PMD
# threads, PMD on core 1, --in-memory DPDK. Leaves an empty netdev bridge br0.
ovs_start() {
	local tag=$1
	OVS_R=$RUNDIR/ovs
	mkdir -p "$OVS_R"
	export OVS_RUNDIR=$OVS_R OVS_DBDIR=$OVS_R OVS_LOGDIR=$OVS_R OVS_SYSCONFDIR=$OVS_R
	OVS_NS=xvb-ovs-$$-$tag
	ip netns add "$OVS_NS" || { log "ip netns add $OVS_NS failed"; return 1; }
	NETNS_MADE+=("$OVS_NS")
	ip netns exec "$OVS_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
	ovsdb-tool create "$OVS_R/conf.db" "$OVS_SCHEMA" || return 1
	taskset -c 0 ovsdb-server "$OVS_R/conf.db" --remote="punix:$OVS_R/db.sock" \
		--unixctl="$OVS_R/ovsdb-server.ctl" --log-file="$OVS_R/ovsdb-server.log" \
		</dev/null >"$OVS_R/ovsdb-server.out" 2>&1 &
	OVS_DB_PID=$!
	track "$OVS_DB_PID"
	wait_for 20 test -S "$OVS_R/db.sock" || { log "ovsdb-server did not come up (log: $OVS_R)"; return 1; }
	ovs_vsctl --no-wait init || return 1
	ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
		other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 \
		other_config:dpdk-extra="--no-pci --in-memory --file-prefix=xvbovs$$$tag" \
		other_config:per-port-memory=true other_config:vhost-sock-dir=. || return 1
	ip netns exec "$OVS_NS" taskset -c 0 "$OVS_VSWITCHD" "unix:$OVS_R/db.sock" \
		--unixctl="$OVS_R/ovs-vswitchd.ctl" --log-file="$OVS_R/ovs-vswitchd.log" --mlockall \
		</dev/null >"$OVS_R/ovs-vswitchd.out" 2>&1 &
	OVS_VS_PID=$!
	track "$OVS_VS_PID"
	ovs_vsctl --timeout=120 add-br br0 -- set bridge br0 datapath_type=netdev ||
		{ log "ovs: add-br failed (log: $OVS_R/ovs-vswitchd.log)"; return 1; }
}

# ovs_port_vhost NAME SOCKET OFPORT / ovs_port_dpdk NAME DEVARGS OFPORT
ovs_port_vhost() {
	ovs_vsctl --timeout=60 add-port br0 "$1" -- set Interface "$1" type=dpdkvhostuserclient \
		options:vhost-server-path="$2" ofport_request="$3"
}
ovs_port_dpdk() {
	ovs_vsctl --timeout=60 add-port br0 "$1" -- set Interface "$1" type=dpdk \
		options:dpdk-devargs="$2" ofport_request="$3"
}

ovs_flow() {
	ovs-ofctl del-flows br0 && ovs-ofctl add-flow br0 "$1"
}

# ovs_flows FILE: replace br0's flows with FILE's (ovs-ofctl add-flows).
ovs_flows() {
	ovs-ofctl del-flows br0 && ovs-ofctl add-flows br0 "$1"
}

# ovs_snap_pmd PREFIX: the PMD's counters (dpif-netdev/pmd-stats-show,
# cumulative): packets received, idle and processing cycles.
ovs_snap_pmd() {
	ovs_appctl dpif-netdev/pmd-stats-show 2>/dev/null | awk -v p="$1" '
		/^[^ \t]/ { inp = ($0 ~ /^pmd thread.*core_id 1:/) }
		!inp { next }
		/packets received:/ { print p ".pmd.rx=" $NF }
		/packet recirculations:/ { print p ".pmd.recirc=" $NF }
		/emc hits:/ { print p ".pmd.emc=" $NF }
		/megaflow hits:/ { print p ".pmd.megaflow=" $NF }
		/miss with success upcall:/ { print p ".pmd.upcall=" $NF }
		/miss with failed upcall:/ { print p ".pmd.upcall_fail=" $NF }
		/idle cycles:/ { print p ".pmd.idle=" $3 }
		/processing cycles:/ { print p ".pmd.proc=" $3 }'
	echo "$1.cpu=$(proc_ticks "$OVS_VS_PID")"
}

# ovs_snap_port PREFIX PORT: rx/tx packets of PORT (ovs-ofctl dump-ports).
ovs_snap_port() {
	ovs-ofctl dump-ports br0 "$2" 2>/dev/null | awk -v p="$1" '
		/tx pkts=/ { s = $0; sub(/.*tx pkts=/, "", s); sub(/,.*/, "", s); print p ".port.tx=" s }
		/rx pkts=/ { s = $0; sub(/.*rx pkts=/, "", s); sub(/,.*/, "", s); print p ".port.rx=" s }'
}

ovs_stop() {
	[ -n "$OVS_R" ] || return 0
	if [ -n "$OVS_VS_PID" ] && alive "$OVS_VS_PID"; then
		timeout 10 ovs-appctl -t "$OVS_R/ovs-vswitchd.ctl" exit >/dev/null 2>&1
		stop_proc "$OVS_VS_PID" TERM 15
	else
		stop_proc "$OVS_VS_PID" TERM 1
	fi
	[ -n "$OVS_DB_PID" ] && stop_proc "$OVS_DB_PID" TERM 10
	[ -n "$OVS_NS" ] && ip netns del "$OVS_NS" 2>/dev/null
	OVS_VS_PID='' OVS_DB_PID='' OVS_NS='' OVS_R=''
}

netns_cleanup() {
	local ns
	for ns in "${NETNS_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
}

# on_exit FUNC: FUNC runs when the script exits; SIGINT, SIGTERM and SIGHUP
# make it exit (status 130, 143, 129), so FUNC runs then too.
on_exit() {
	# shellcheck disable=SC2064 # FUNC is expanded now, on purpose
	trap "$1" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# env_facts: the machine and versions, as key=value lines for env.txt
# (each script adds its own settings after them).
env_facts() {
	echo "date=$(date -Is)"
	echo "host=$(uname -nrm)"
	echo "cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "nproc=$(nproc)"
	echo "xvio=$("$XVIO_BIN" -V 2>&1 | head -1)"
	echo "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet -- src 2>/dev/null || echo +dirty)"
	echo "dpdk=$(dpkg-query -W -f='${Version}' dpdk 2>/dev/null)"
	echo "ovs=$(dpkg-query -W -f='${Version}' openvswitch-switch-dpdk 2>/dev/null)"
}

# bench_finish RC SUMMARY_TOOL: stop everything this script started, and
# when it was interrupted, say so and summarise the runs that finished.
bench_finish() {
	local rc=$1 tool=$2
	xv_stop
	ovs_stop
	stop_all_tracked
	netns_cleanup
	rm -rf "$T"
	if [ "$DONE" = 0 ]; then
		log "interrupted (exit $rc): everything this script started is stopped"
		if [ -s "$RUNS_JSONL" ] && "$PY" "$tool" summary "$OUT" >/dev/null 2>&1; then
			log "partial results of the finished runs: $OUT/summary.md"
		fi
	fi
	exit "$rc"
}
