#!/usr/bin/env bash
# xvio benchmark: xvio against dpdk-testpmd (and OVS-DPDK) doing the same
# relay job on the same 2-core path, runs alternated between the systems.
# `make bench` runs it as root from the repo top after building and setting
# up hugepages. The method is described in doc/benchmark.md.
#
# Scenarios (BENCH_SCENARIOS, names DIR-SIZE):
#   g2n-S   guest -> NIC: testpmd virtio-user txonly (core 0) -> SUT (core 1) -> net_null0,no-rx=1
#   n2g-S   NIC -> guest: SUT forwards net_null0 rx (it generates S-byte packets) -> vhost ->
#           virtio-user rxonly receiver (core 0)
#   v2v-S   guest -> guest: one testpmd on core 0 holds both virtio-users, sends into vh0
#           (io from net_null0) and counts what arrives on vh1; SUT relays vh0 <-> vh1
#   S is 64, 512, 1518 (frame bytes without CRC) or imix (g2n only: 7x64, 4x570, 1x1518
#   replayed from a pcap).
#   fw-F    firewall, guest -> NIC: F flows (1k, 100k, or a number) of 64-byte UDP replayed
#           from a pcap (bench/mkpcap.py --flows) by the generator (core 0) -> SUT (core 1)
#           -> net_null0,no-rx=1, with 1,000 security-group rules plus conntrack
#           (bench/fwrules.py): xvio in network mode, xvio's plain relay of the same
#           traffic (reference), OVS-DPDK with ct() + the same 1,000 rules as flows. xvio
#           runs also time a 10,000-rule change under traffic after the window.
#   few-cores  bench/few-cores.sh after the others (hybrid vs busy polling: idle CPU with
#           8 idle guests, xvio vs OVS; latency; throughput), results in OUT/few-cores/
# Systems (BENCH_SYSTEMS): xvio, testpmd (io forwarding, net_vhost), ovs (g2n and fw
# only). In fw scenarios "xvio" runs as two systems, xvio (network mode) and
# xvio-relay, and testpmd does not run.
#
# Environment:
#   BENCH_QUICK=1        ~2 minutes: 64 B g2n and n2g only, 2 runs, 2 s warm-up, 3 s windows
#   BENCH_RUNS           runs per system and scenario (default 5; quick 2)
#   BENCH_WARMUP         seconds of traffic before each window (default 4; quick 2)
#   BENCH_WINDOW         measured window in seconds (default 10; quick 3)
#   BENCH_SCENARIOS      default "g2n-64 n2g-64 g2n-512 g2n-1518 g2n-imix n2g-512 n2g-1518 v2v-64 fw-1k fw-100k few-cores"
#   BENCH_SYSTEMS        default "xvio testpmd ovs"
#   BENCH_FORCE=1        run even when CPU 0 or 1 is busy before the start
#   BENCH_BUSY_MAX       busy fraction that counts as busy (default 0.30)
#   BENCH_OUT            results dir (default bench/results/<timestamp>)
#   BENCH_KEEP_LOGS=1    keep every run's logs (default: only failed runs')
#   BENCH_TP_MBUFS       --total-num-mbufs of every testpmd (default 32768)
#   BENCH_IMIX           IMIX frame list (default 64,570,64,64,570,64,1518,64,570,64,64,570)
#   BENCH_FLOW_TIMEOUT   seconds to wait for traffic to start (default 30)
#   BENCH_XVIO_ARGS      extra xvio arguments (e.g. "--hold-ms 50")
#   BENCH_FW_RULES       security-group rules of the fw scenarios (default 1000; one allows the traffic)
#   BENCH_FW_CHANGE      rules added by the timed change in xvio fw runs (default 10000; 0: none)
#   XVIO_BUILD           build dir with xvio and xvioctl (default build/)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

bench_settings

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RUNS=${BENCH_RUNS:-2}
	WARMUP=${BENCH_WARMUP:-2}
	WINDOW=${BENCH_WINDOW:-3}
	SCENARIOS=${BENCH_SCENARIOS:-"g2n-64 n2g-64"}
else
	RUNS=${BENCH_RUNS:-5}
	WARMUP=${BENCH_WARMUP:-4}
	WINDOW=${BENCH_WINDOW:-10}
	SCENARIOS=${BENCH_SCENARIOS:-"g2n-64 n2g-64 g2n-512 g2n-1518 g2n-imix n2g-512 n2g-1518 v2v-64 fw-1k fw-100k few-cores"}
fi
SYSTEMS=${BENCH_SYSTEMS:-"xvio testpmd ovs"}
IMIX=${BENCH_IMIX:-64,570,64,64,570,64,1518,64,570,64,64,570}
FW_RULES=${BENCH_FW_RULES:-1000}
FW_CHANGE=${BENCH_FW_CHANGE:-10000}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${BENCH_OUT:-$ROOT/bench/results/$STAMP}

die() {
	echo "bench: $*" >&2
	exit 1
}

# ---------------------------------------------------------------- checks

[ "$(id -u)" -eq 0 ] || die "must run as root (hugepages, network namespaces): sudo make bench"
[ -x "$XVIO_BIN" ] && [ -x "$XVIOCTL" ] || die "xvio is not built ($XVIO_BIN, $XVIOCTL): run 'make' first"
command -v "$TESTPMD" >/dev/null || die "dpdk-testpmd not found (Debian package dpdk-dev)"
command -v jq >/dev/null || die "jq not found (Debian package jq)"
grep -q ' hugetlbfs ' /proc/mounts || die "hugetlbfs is not mounted: run scripts/ensure-hugepages.sh (make bench does)"
free_hp=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
[ "${free_hp:-0}" -ge 192 ] || die "only ${free_hp:-0} free hugepages; the benchmark needs about 200-400 (2 MiB each)"
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (generator on CPU 0, system under test on CPU 1)"
[ "$RUNS" -ge 1 ] 2>/dev/null || die "BENCH_RUNS must be >= 1"

for s in $SYSTEMS; do
	case $s in xvio | testpmd | ovs) ;; *) die "unknown system '$s' in BENCH_SYSTEMS (xvio testpmd ovs)" ;; esac
done
# fw-1k -> 1000 flows, fw-100k -> 100000, fw-5000 -> 5000
flows_of() {
	local f=${1#*-}
	case $f in
	*k) f=${f%k} && [ "$f" -ge 1 ] 2>/dev/null && echo $((f * 1000)) ;;
	*) [ "$f" -ge 1 ] 2>/dev/null && echo "$f" ;;
	esac
}
FW=0
# few-cores is its own script (bench/few-cores.sh), run after the others.
FEW_CORES=0
REG_SCENARIOS=
for sc in $SCENARIOS; do
	case $sc in
	few-cores) FEW_CORES=1 ;;
	*) REG_SCENARIOS="${REG_SCENARIOS:+$REG_SCENARIOS }$sc" ;;
	esac
done
for sc in $SCENARIOS; do
	case $sc in
	few-cores | g2n-imix) ;;
	g2n-[0-9]* | n2g-[0-9]* | v2v-[0-9]*)
		sz=${sc#*-}
		[ "$sz" -ge 60 ] 2>/dev/null && [ "$sz" -le 1518 ] || die "scenario $sc: size must be 60..1518"
		;;
	fw-[0-9]*)
		fl=$(flows_of "$sc")
		[ "$fl" -ge 1 ] 2>/dev/null && [ "$fl" -le 1000000 ] || die "scenario $sc: flows must be 1..1000000 (e.g. fw-1k, fw-100k, fw-5000)"
		FW=1
		;;
	*) die "unknown scenario '$sc' (g2n-SIZE, n2g-SIZE, v2v-SIZE, g2n-imix, fw-FLOWS, few-cores)" ;;
	esac
done
[ "$FW_RULES" -ge 1 ] 2>/dev/null && [ "$FW_RULES" -le 60000 ] || die "BENCH_FW_RULES must be 1..60000"
[ "$FW_CHANGE" -ge 0 ] 2>/dev/null && [ "$FW_CHANGE" -le 11000 ] || die "BENCH_FW_CHANGE must be 0..11000 (one request line of at most 1 MiB)"
# The fw generator holds its whole pcap in mbufs (about 2.3 KiB each).
FW_MAXFLOWS=0
for sc in $SCENARIOS; do
	case $sc in fw-[0-9]*) fl=$(flows_of "$sc") && [ "$fl" -gt "$FW_MAXFLOWS" ] && FW_MAXFLOWS=$fl ;; esac
done
hp_need=$((192 + FW_MAXFLOWS * 2400 / 2097152))
[ "${free_hp:-0}" -ge "$hp_need" ] || die "only ${free_hp:-0} free hugepages; these scenarios need about $hp_need (2 MiB each)"

if [[ " $SYSTEMS " == *" ovs "* ]] && [[ " $SCENARIOS " == *" g2n-"* || " $SCENARIOS " == *" fw-"* ]]; then
	if [ ! -x "$OVS_VSWITCHD" ]; then
		scripts/ensure-deps.sh openvswitch-switch-dpdk ||
			{ log "OVS-DPDK could not be installed: benchmarking without ovs"; SYSTEMS=${SYSTEMS//ovs/}; }
	fi
fi
if ! command -v gnuplot >/dev/null; then
	scripts/ensure-deps.sh gnuplot-nox || log "gnuplot-nox could not be installed: no chart"
fi

# Refuse to measure on CPUs someone else is using.
refuse_busy_cpus bench "the generator and the system under test each need a whole CPU; numbers taken now would measure the other load." \
	"Measuring anyway; expect low, noisy numbers."

# ---------------------------------------------------------------- setup

T=$(mktemp -d /tmp/xvbench.XXXXXX) || die "mktemp failed"
mkdir -p "$OUT/logs" || die "cannot create $OUT"
RUNS_JSONL=$OUT/runs.jsonl
: >"$RUNS_JSONL"

DONE=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	[ -n "${TP_PID[gen]:-}" ] && tp_stop gen
	[ -n "${TP_PID[sut]:-}" ] && tp_stop sut
	bench_finish "$rc" "$ROOT/bench/report.py"
}
on_exit cleanup

"$PY" "$ROOT/bench/mkpcap.py" "$T/imix.pcap" "$IMIX" || die "cannot write the IMIX pcap"
if [ "$FW" = 1 ]; then
	# The firewall scenarios' traffic (one pcap per flow count) and rules.
	for sc in $SCENARIOS; do
		case $sc in
		fw-[0-9]*)
			fl=$(flows_of "$sc")
			[ -s "$T/flows-$fl.pcap" ] || "$PY" "$ROOT/bench/mkpcap.py" --flows "$fl" "$T/flows-$fl.pcap" ||
				die "cannot write the $fl-flow pcap"
			;;
		esac
	done
	"$PY" "$ROOT/bench/fwrules.py" "$T/fw" "$FW_RULES" "$FW_CHANGE" || die "cannot write the firewall rules"
	read -r FW_MAC FW_IP < <(cd "$ROOT/bench" && "$PY" -B -c 'import mkpcap; print(mkpcap.SRC_MAC, mkpcap.SRC_IP)') ||
		die "cannot read the fw traffic's source from bench/mkpcap.py"
	cp "$T/fw/ovs-fw.flows" "$OUT/ovs-fw.flows"
	cp "$T/fw/sg-rules.json" "$OUT/sg-rules.json"
fi

{
	env_facts
	echo "runs=$RUNS"
	echo "warmup_s=$WARMUP"
	echo "window_s=$WINDOW"
	echo "scenarios=$SCENARIOS"
	echo "systems=$SYSTEMS"
	echo "imix=$IMIX"
	echo "tp_mbufs=$BENCH_TP_MBUFS"
	echo "busy_at_start=$BUSY0 $BUSY1"
	echo "forced=$FORCED"
	echo "quick=${BENCH_QUICK:-0}"
	echo "xvio_args=${BENCH_XVIO_ARGS:-}"
	echo "fw_rules=$FW_RULES"
	echo "fw_change=$FW_CHANGE"
} >"$OUT/env.txt"

# ---------------------------------------------------------------- one run

# Which systems run a scenario: OVS only guest -> NIC (as in PEERS.md) and
# fw; fw: xvio in network mode and xvio's relay, no testpmd.
systems_for() {
	local s out=() d=${1%%-*}
	for s in $SYSTEMS; do
		case $d/$s in
		n2g/ovs | v2v/ovs | fw/testpmd) continue ;;
		fw/xvio) out+=(xvio xvio-relay) ;;
		*) out+=("$s") ;;
		esac
	done
	echo "${out[*]}"
}

# Extra key=value lines for the run's meta.kv (fw setup and change figures).
RUN_META=()

# fw_change: add FW_CHANGE rules in one sg.rule.add call while traffic
# flows (after the window), through bench/xvcall.py (the JSON is too long
# for one command-line argument). The SUT counters are read right before
# and after the call (xvio's own clock gives the interval); the generator's
# counters every ~0.2 s during it, each time with how long an `xvioctl
# version` took (the API keeps answering reads while a change compiles).
# Everything goes to RUNDIR/chg.kv for report.py.
fw_change() {
	local f=$RUNDIR/chg.kv p i=0 rc t0
	[ "$FW_CHANGE" -gt 0 ] || return 0
	snap xvio "$RUNDIR/chg0.kv"
	"$PY" "$ROOT/bench/xvcall.py" "$XV_CTL" sg.rule.add "$T/fw/sg-change.json" >"$RUNDIR/chg.out" 2>"$RUNDIR/chg.err" &
	p=$!
	track "$p"
	while alive "$p" && [ "$i" -lt 600 ]; do
		{
			echo "g.$i.t.pre=$(now_s)"
			tp_snap gen gen | sed -n "s/^gen\.nic\.1\.tx=/g.$i.tx=/p"
			echo "g.$i.t.post=$(now_s)"
			t0=$(now_s)
			if xv version >/dev/null 2>&1 && alive "$p"; then
				echo "g.$i.api_ms=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN {printf "%.1f", (b - a) * 1000}')"
			fi
		} >>"$RUNDIR/chg-gen.kv"
		i=$((i + 1))
		sleep 0.2
	done
	stop_proc "$p" TERM 30
	rc=$STOP_RC
	snap xvio "$RUNDIR/chg1.kv"
	{
		echo "rc=$rc"
		echo "rules=$FW_CHANGE"
		if [ -s "$RUNDIR/chg.out" ]; then
			jq -r '"t_send=\(.t_send)", "t_reply=\(.t_reply)", "ok=\(.reply.ok)",
				"apply_ms=\(.reply.result.apply_ms // "")", "ids=\(.reply.result.ids // [] | length)",
				"error=\(.reply.error.message // .error // "")"' "$RUNDIR/chg.out"
		else
			echo "error=xvcall.py: $(tail -1 "$RUNDIR/chg.err" 2>/dev/null)"
		fi
		sed 's/^/s0./' "$RUNDIR/chg0.kv"
		sed 's/^/s1./' "$RUNDIR/chg1.kv"
		cat "$RUNDIR/chg-gen.kv" 2>/dev/null
		xv --json status 2>/dev/null | jq -r '(if has("result") then .result else . end) |
			"rules_after=\(.net.rules // "")", "classifier_rules=\(.net.classifier_rules // "")",
			"last_apply_ms=\(.net.last_apply_ms // .net.acl_build_ms // "")", "ct_count=\(.net.ct.count // "")"'
	} >"$f"
}

# Per-run layout, set by run_setup:
#   FAR       key of the far-end counter (packets that made it through)
#   FAR_SRC   sut|gen: which snapshot holds it (taken first)
#   GEN_TX    key of what the generator handed to the SUT ("" when the SUT generates)
#   GEN_DROP  key of what the generator could not hand over (ring full)
SOCK0='' SOCK1='' FAR='' FAR_SRC='' GEN_TX='' GEN_DROP='' SUT_IN='' SUT_OUT=''

sut_up() { # SYS DIR SIZE SEQ
	local sys=$1 dir=$2 size=$3 seq=$4
	case $sys in
	xvio | xvio-relay)
		xv_start || return 1
		case $dir/$sys in
		g2n/* | fw/xvio-relay)
			xv_do port add vm vhost "$SOCK0" --queues 1 && xv_do port add nic eth net_null0,no-rx=1 &&
				xv_do relay add vm nic || return 1
			FAR=sut.port.nic.tx FAR_SRC=sut SUT_IN=sut.port.vm.rx SUT_OUT=sut.port.nic.tx
			;;
		fw/xvio)
			xv_fw_setup vhost "$SOCK0" --queues 1 || return 1
			FAR=sut.port.nic.tx FAR_SRC=sut SUT_IN=sut.port.vm.rx SUT_OUT=sut.port.nic.tx
			;;
		n2g/*)
			xv_do port add vm vhost "$SOCK0" --queues 1 && xv_do port add nic eth "net_null0,size=$size" &&
				xv_do relay add nic vm || return 1
			FAR=gen.nic.0.rx FAR_SRC=gen SUT_IN=sut.port.nic.rx SUT_OUT=sut.port.vm.tx
			;;
		v2v/*)
			xv_do port add vm0 vhost "$SOCK0" --queues 1 && xv_do port add vm1 vhost "$SOCK1" --queues 1 &&
				xv_do relay add vm0 vm1 || return 1
			FAR=gen.nic.2.rx FAR_SRC=gen SUT_IN=sut.port.vm0.rx SUT_OUT=sut.port.vm1.tx
			;;
		esac
		;;
	testpmd)
		local vd=()
		case $dir in
		g2n)
			vd=(--vdev "net_vhost0,iface=$SOCK0,queues=1" --vdev net_null0,no-rx=1)
			FAR=sut.nic.1.tx FAR_SRC=sut SUT_IN=sut.nic.0.rx SUT_OUT=sut.nic.1.tx
			;;
		n2g)
			vd=(--vdev "net_null0,size=$size" --vdev "net_vhost0,iface=$SOCK0,queues=1")
			FAR=gen.nic.0.rx FAR_SRC=gen SUT_IN=sut.nic.0.rx SUT_OUT=sut.nic.1.tx
			;;
		v2v)
			vd=(--vdev "net_vhost0,iface=$SOCK0,queues=1" --vdev "net_vhost1,iface=$SOCK1,queues=1")
			FAR=gen.nic.2.rx FAR_SRC=gen SUT_IN=sut.nic.0.rx SUT_OUT=sut.nic.1.tx
			;;
		esac
		tp_start sut -l 0,1 --main-lcore 0 --no-pci --in-memory --file-prefix="xvbs$$n$seq" "${vd[@]}" \
			-- -i --forward-mode=io --nb-cores=1 --record-core-cycles --total-num-mbufs="$BENCH_TP_MBUFS" || return 1
		wait_for 20 test -S "$SOCK0" || { log "testpmd: no vhost socket $SOCK0"; return 1; }
		[ "$dir" = v2v ] && { wait_for 20 test -S "$SOCK1" || return 1; }
		tp_cmd sut start
		;;
	ovs)
		ovs_start "$seq" || return 1
		ovs_port_vhost vhost0 "$SOCK0" 1 && ovs_port_dpdk out0 net_null0,no-rx=1 2 ||
			{ log "ovs: port setup failed (log: $OVS_R)"; return 1; }
		if [ "$dir" = fw ]; then
			local t0 t1
			t0=$(now_s)
			ovs_flows "$T/fw/ovs-fw.flows" || { log "ovs: add-flows failed (log: $OVS_R)"; return 1; }
			t1=$(now_s)
			RUN_META+=("fw.load_rules=$FW_RULES" "fw.load_wall_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}')")
		else
			ovs_flow "in_port=vhost0,actions=output:out0" || { log "ovs: flow setup failed (log: $OVS_R)"; return 1; }
		fi
		# The PMD's own counters are read together with its cycle counters
		# (a clock); dump-ports out0 is the cross-check.
		FAR=sut.pmd.rx FAR_SRC=sut SUT_IN=sut.pmd.rx SUT_OUT=sutp.port.tx
		;;
	esac
	return 0
}

guest_up() { # SYS DIR SIZE SEQ
	local sys=$1 dir=$2 size=$3 seq=$4 srv='' vd=() mode
	[ "$sys" = ovs ] && srv=,server=1 # OVS's vhost port is a client
	local mbufs=$BENCH_TP_MBUFS
	case $dir in
	fw)
		# The pcap PMD keeps every frame of the file in an mbuf of the pool.
		local fl
		fl=$(flows_of "$dir-$size")
		mbufs=$((BENCH_TP_MBUFS + fl))
		vd=(--vdev "net_pcap0,rx_pcap=$T/flows-$fl.pcap,infinite_rx=1" --vdev "net_virtio_user0,path=$SOCK0,queues=1$srv")
		mode=(--forward-mode=io)
		GEN_TX=gen.nic.1.tx GEN_DROP=gen.fwd.1.txdrop
		;;
	g2n)
		if [ "$size" = imix ]; then
			vd=(--vdev "net_pcap0,rx_pcap=$T/imix.pcap,infinite_rx=1" --vdev "net_virtio_user0,path=$SOCK0,queues=1$srv")
			mode=(--forward-mode=io)
			GEN_TX=gen.nic.1.tx GEN_DROP=gen.fwd.1.txdrop
		else
			vd=(--vdev "net_virtio_user0,path=$SOCK0,queues=1$srv")
			mode=(--forward-mode=txonly "--txpkts=$size" --txonly-multi-flow)
			GEN_TX=gen.nic.0.tx GEN_DROP=gen.fwd.0.txdrop
		fi
		;;
	n2g)
		vd=(--vdev "net_virtio_user0,path=$SOCK0,queues=1$srv")
		mode=(--forward-mode=rxonly)
		GEN_TX='' GEN_DROP=''
		;;
	v2v)
		vd=(--vdev "net_null0,size=$size" --vdev "net_virtio_user0,path=$SOCK0,queues=1$srv"
			--vdev "net_virtio_user1,path=$SOCK1,queues=1$srv" --vdev net_null1,no-rx=1)
		mode=(--forward-mode=io)
		GEN_TX=gen.nic.1.tx GEN_DROP=gen.fwd.1.txdrop
		;;
	esac
	tp_start gen -l 0,1 --main-lcore 1 --no-pci --in-memory --single-file-segments --file-prefix="xvbg$$n$seq" \
		"${vd[@]}" -- -i "${mode[@]}" --nb-cores=1 --record-core-cycles --total-num-mbufs="$mbufs" || return 1
	tp_cmd gen start
}

sut_snap() { # SYS
	case $1 in
	xvio | xvio-relay) bracket sut xv_snap sut ;;
	testpmd) bracket sut tp_snap sut sut ;;
	ovs)
		bracket sut ovs_snap_pmd sut
		bracket sutp ovs_snap_port sutp out0
		;;
	esac
}

sut_alive() {
	case $1 in
	xvio | xvio-relay) [ -n "$XV_PID" ] && alive "$XV_PID" ;;
	testpmd) tp_alive sut ;;
	ovs) [ -n "$OVS_VS_PID" ] && alive "$OVS_VS_PID" ;;
	esac
}

# snap SYS FILE: every counter of the run as key=value, the far end's
# process first.
snap() {
	local sys=$1 f=$2
	{
		echo "t=$(now_s)"
		if [ "$FAR_SRC" = sut ]; then
			sut_snap "$sys"
			bracket gen tp_snap gen gen
		else
			bracket gen tp_snap gen gen
			sut_snap "$sys"
		fi
		echo "t_done=$(now_s)"
	} >"$f"
}

far_value() { # SYS
	local f=$RUNDIR/.far
	snap "$1" "$f" 2>/dev/null
	awk -F= -v k="$FAR" '$1 == k {print $2}' "$f"
}

# wait_flow SYS: the far-end counter moves (bounded by FLOW_TIMEOUT).
wait_flow() {
	local sys=$1 v0 v end
	end=$(($(date +%s) + FLOW_TIMEOUT))
	v0=$(far_value "$sys")
	while [ "$(date +%s)" -lt "$end" ]; do
		sleep 0.5
		sut_alive "$sys" || { log "the system under test exited while waiting for traffic"; return 1; }
		tp_alive gen || { log "the generator exited while waiting for traffic"; return 1; }
		v=$(far_value "$sys")
		if [ -n "$v" ] && [ -n "$v0" ] && [ "$v" -gt "$v0" ] 2>/dev/null; then
			return 0
		fi
		[ -n "$v0" ] || v0=$v
	done
	log "no traffic at the far end ($FAR) within ${FLOW_TIMEOUT}s"
	return 1
}

SEQ=0
TOTAL=0

run_one() { # SCENARIO SYS RUN
	local scen=$1 sys=$2 run=$3 dir size err='' bg0 bg1 sut_rc='' name line
	SEQ=$((SEQ + 1))
	dir=${scen%%-*}
	size=${scen#*-}
	name=$(printf 'r%03d-%s-%s' "$SEQ" "$scen" "$sys")
	RUNDIR=$T/$name
	mkdir -p "$RUNDIR"
	SOCK0=$RUNDIR/vh0.sock SOCK1=$RUNDIR/vh1.sock
	FAR='' FAR_SRC='' GEN_TX='' GEN_DROP='' SUT_IN='' SUT_OUT=''
	RUN_META=()
	# Background load on the two CPUs right before the run (nothing of ours runs now).
	read -r bg0 bg1 < <(cpu_busy 0.5)
	if ! sut_up "$sys" "$dir" "$size" "$SEQ"; then
		err="system under test did not start"
	elif ! guest_up "$sys" "$dir" "$size" "$SEQ"; then
		err="guest testpmd did not start"
	elif ! wait_flow "$sys"; then
		err="no traffic at the far end"
	else
		sleep "$WARMUP"
		snap "$sys" "$RUNDIR/start.kv"
		sleep "$WINDOW"
		snap "$sys" "$RUNDIR/end.kv"
		sut_alive "$sys" || err="system under test exited during the window"
		tp_alive gen || err="${err:+$err; }guest testpmd exited during the window"
		if [ -z "$err" ] && [ "$dir/$sys" = fw/xvio ]; then
			xv --json status >"$RUNDIR/status-end.out" 2>/dev/null
			fw_change
			sut_alive "$sys" || err="xvio exited during the rule change"
		fi
	fi
	if [ "$dir/$sys" = fw/ovs ] && [ -n "$OVS_VS_PID" ] && alive "$OVS_VS_PID"; then
		# For the logs: the datapath flows and conntrack at the end.
		{
			echo "# dpctl/dump-flows (first 20 of $(ovs_appctl dpctl/dump-flows 2>/dev/null | wc -l))"
			ovs_appctl dpctl/dump-flows 2>&1 | head -20
			echo "# dpctl/ct-stats-show"
			ovs_appctl dpctl/ct-stats-show 2>&1
		} >"$RUNDIR/ovs-state.log"
	fi
	# Teardown: guest first, then the system under test.
	if [[ $sys == xvio* ]] && [ -n "$XV_PID" ] && ! alive "$XV_PID"; then
		wait "$XV_PID" 2>/dev/null
		sut_rc=$?
		err="${err:+$err; }xvio died (exit status $sut_rc)"
		unset "_PST[$XV_PID]"
		XV_PID=
	fi
	tp_stop gen
	case $sys in
	xvio | xvio-relay)
		if [ -n "$XV_PID" ]; then
			xv_stop
			sut_rc=$STOP_RC
			[ "$sut_rc" = 0 ] || err="${err:+$err; }xvio exit status $sut_rc on SIGTERM"
		fi
		;;
	testpmd) tp_stop sut ;;
	ovs) ovs_stop ;;
	esac
	{
		echo "scenario=$scen"
		echo "dir=$dir"
		echo "size=$size"
		echo "system=$sys"
		echo "run=$run"
		echo "seq=$SEQ"
		echo "far_key=$FAR"
		echo "gen_tx_key=$GEN_TX"
		echo "gen_drop_key=$GEN_DROP"
		echo "sut_in_key=$SUT_IN"
		echo "sut_out_key=$SUT_OUT"
		echo "bg_busy0=$bg0"
		echo "bg_busy1=$bg1"
		echo "warmup_s=$WARMUP"
		echo "window_planned_s=$WINDOW"
		echo "clk_tck=$(getconf CLK_TCK)"
		echo "imix=$IMIX"
		if [ "$dir" = fw ]; then
			echo "frame=64"
			echo "flows=$(flows_of "$scen")"
			echo "fw.rules=$FW_RULES"
		fi
		[ ${#RUN_META[@]} -gt 0 ] && printf '%s\n' "${RUN_META[@]}"
		echo "sut_rc=$sut_rc"
		echo "error=$err"
		echo "logs=logs/$name"
	} >"$RUNDIR/meta.kv"
	line=$("$PY" "$ROOT/bench/report.py" record "$RUNDIR/meta.kv" "$RUNDIR/start.kv" "$RUNDIR/end.kv" "$RUNDIR/chg.kv") ||
		line="{\"scenario\":\"$scen\",\"system\":\"$sys\",\"run\":$run,\"seq\":$SEQ,\"ok\":false,\"error\":\"report.py record failed\"}"
	printf '%s\n' "$line" >>"$RUNS_JSONL"
	# Keep the logs and counter snapshots of failed runs and of runs whose
	# counters disagree (all runs with BENCH_KEEP_LOGS=1).
	if [ -n "$err" ] || [ "${BENCH_KEEP_LOGS:-0}" = 1 ] ||
		! printf '%s' "$line" | jq -e '.ok and (.flags | index("check") | not)' >/dev/null 2>&1; then
		mkdir -p "$OUT/logs/$name"
		find "$RUNDIR" -maxdepth 2 -type f \( -name '*.log' -o -name '*.kv' -o -name '*.out' \) \
			-exec cp {} "$OUT/logs/$name/" \;
	fi
	printf '%s\n' "$line" | jq -r --arg n "$SEQ/$TOTAL" '"[\($n)] \(.scenario) \(.system) run \(.run): " +
		(if .ok then "\(.mpps * 1000 | round / 1000) Mpps, \(.busy_cpp // "-" | if type == "number" then (. * 10 | round / 10) else . end) busy cyc/pkt, \(.total_cpp * 10 | round / 10) cyc/pkt, SUT busy \((.busy_frac // 0) * 100 | round)%" +
		 (if (.flags | length) > 0 then " [\(.flags | join(","))]" else "" end) +
		 (if .fw.load_apply_ms != null then "; \(.fw.load_rules) rules applied in \(.fw.load_apply_ms * 10 | round / 10) ms" else "" end) +
		 (if .fw.chg_wall_ms != null then "; +\(.fw.chg_rules) rules: call \(.fw.chg_wall_ms | round) ms, apply_ms \(.fw.chg_apply_ms // 0 | round), \(.fw.chg_mpps // "-") Mpps during it (lowest 0.2-s generator sample \(.fw.chg_gen_min_mpps // "-"), generator CPU \(.fw.chg_gen_cpu // 0 | . * 100 | round)%; xvioctl version in at most \(.fw.chg_api_max_ms // "-") ms)" else "" end) +
		 (if .fw.chg_error != null then "; rule change FAILED: \(.fw.chg_error)" else "" end)
		 else "FAILED: \(.error) (logs: \($out)/\(.logs // "logs"))" end)' --arg out "$OUT" >&2
	rm -rf "$RUNDIR"
}

# ---------------------------------------------------------------- main loop

for sc in $REG_SCENARIOS; do
	read -r -a sy <<<"$(systems_for "$sc")"
	TOTAL=$((TOTAL + RUNS * ${#sy[@]}))
done
log "results: $OUT"
log "scenarios: $SCENARIOS; systems: $SYSTEMS; $RUNS runs each, ${WARMUP}s warm-up + ${WINDOW}s window; $TOTAL runs"

for sc in $REG_SCENARIOS; do
	read -r -a sy <<<"$(systems_for "$sc")"
	n=${#sy[@]}
	for ((r = 1; r <= RUNS; r++)); do
		# Alternate: each run starts with the next system (ABC, BCA, CAB, ...).
		for ((k = 0; k < n; k++)); do
			run_one "$sc" "${sy[$(((r - 1 + k) % n))]}" "$r"
		done
	done
done

FEW_RC=
if [ "$FEW_CORES" = 1 ]; then
	# Its own processes, checks and cleanup; same BENCH_* environment.
	log "few-cores: bench/few-cores.sh, results in $OUT/few-cores"
	FC_OUT=$OUT/few-cores "$ROOT/bench/few-cores.sh"
	FEW_RC=$?
	[ "$FEW_RC" = 0 ] || log "few-cores: bench/few-cores.sh exited with status $FEW_RC"
fi

DONE=1
if [ -n "$REG_SCENARIOS" ]; then
	"$PY" "$ROOT/bench/report.py" summary "$OUT" || die "report.py summary failed"
fi
[ -z "${BENCH_OUT:-}" ] && ln -sfn "$(basename "$OUT")" "$ROOT/bench/results/latest" 2>/dev/null
if [ -n "$REG_SCENARIOS" ]; then
	echo
	cat "$OUT/summary.md"
fi
if [ -s "$OUT/few-cores/summary.md" ]; then
	echo
	cat "$OUT/few-cores/summary.md"
fi
echo
log "results in $OUT (runs.jsonl, runs.csv, summary.json, summary.md, chart.png${FEW_RC:+, few-cores/})"
