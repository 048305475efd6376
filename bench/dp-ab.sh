#!/usr/bin/env bash
# dp-ab.sh BUILD_DIR...: A/B of the network-mode datapath's own cost, for
# developers comparing builds (bench.sh is the benchmark against the peers).
#
# One core, no generator: xvio's worker (CPU 1) reads the fw scenario's
# traffic from a net_pcap port (infinite_rx: the pcap's packets again and
# again) that has port security and the 1,000 security-group rules, and
# switches it through conntrack to a net_null uplink. So the worker is always
# saturated, and its busy cycles per packet are the datapath plus a cheap
# source and sink. Each run samples the counters every 0.2 s and keeps the
# minimum (the host's quiet moments); builds are alternated run by run, and
# the median of each build's minimums is reported. A difference of 3-4
# cycles shows up; the full benchmark cannot see under about 15.
#
# The relay of the same source (DPAB_MODE=relay) gives the io floor.
# Flows: the pcap's packets stay in the port's ring, so the flow count is
# bounded by the mbuf pool (1k works; 100k does not fit).
#
# Environment: DPAB_ROUNDS (default 5), DPAB_FLOWS (default 1000),
# DPAB_MODE fw|relay (default fw), DPAB_RULES (default 1000), DPAB_DMACS
# (destination MACs the frames take in turn, default 1; none is a port's,
# so all still go to the uplink), DPAB_DENY_EXTRA=N (fw: N more rules that
# match none of the traffic, and the rule that allows it removed: every
# packet then goes through the classifier and is dropped, which measures
# what a new connection's rule check costs), DPAB_PERF=DIR
# (after sampling, record 3 s of the worker's CPU with perf into
# DIR/perf-N.data, N the build's place on the command line; build with
# -Ddebug=true for source lines).
# Run as root from anywhere, with hugepages set up (make bench does that).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_settings

ROUNDS=${DPAB_ROUNDS:-5}
FLOWS=${DPAB_FLOWS:-1000}
MODE=${DPAB_MODE:-fw}
RULES=${DPAB_RULES:-1000}
DMACS=${DPAB_DMACS:-1}
DENY_EXTRA=${DPAB_DENY_EXTRA:-}
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR... (each with xvio and xvioctl)" >&2; exit 2; }
for b in "$@"; do
	if [ ! -x "$b/xvio" ] || [ ! -x "$b/xvioctl" ]; then
		echo "dp-ab: $b has no xvio/xvioctl" >&2
		exit 2
	fi
done
case $MODE in fw | relay) ;; *) echo "dp-ab: DPAB_MODE must be fw or relay" >&2; exit 2 ;; esac

T=$(mktemp -d /tmp/xvio-dpab.XXXXXX)
XV_PID=
cleanup() { xv_stop; rm -rf "$T"; }
on_exit cleanup

"$PY" "$ROOT/bench/mkpcap.py" --flows "$FLOWS" --dmacs "$DMACS" "$T/flows.pcap" || exit 1
"$PY" "$ROOT/bench/fwrules.py" "$T/fw" "$RULES" "${DENY_EXTRA:-0}" >/dev/null || exit 1
read -r FW_MAC FW_IP < <(cd "$ROOT/bench" && "$PY" -B -c 'import mkpcap; print(mkpcap.SRC_MAC, mkpcap.SRC_IP)')
FW_RULES=$RULES
RUN_META=()

# snap -> "BUSY_CYCLES PACKETS" (from xv_snap): packets sent by the NIC,
# or received from the VM port when all are denied
COUNTED=s.port.nic.tx
[ -z "$DENY_EXTRA" ] || COUNTED=s.port.vm.rx
snap() {
	xv_snap s | awk -F= -v c="$COUNTED" '$1 == "s.busy" { b = $2 } $1 == c { t = $2 } END { if (b != "" && t != "") print b "\t" t; else exit 1 }'
}

# one_run BUILD N -> "MIN MEDIAN" busy cycles per packet over 0.2 s intervals
one_run() {
	local b=$1 src="net_pcap0,rx_pcap=$T/flows.pcap,infinite_rx=1" i prev cur out="" allow
	RUNDIR=$T/run
	mkdir -p "$RUNDIR"
	XVIO_BIN=$b/xvio XVIOCTL=$b/xvioctl
	xv_start || return 1
	if [ "$MODE" = fw ] && [ -n "$DENY_EXTRA" ]; then
		# The VM port starts receiving as it is added: its first packets
		# open connections under the allow rule; a flush after the
		# rules change forgets them.
		xv_fw_setup eth "$src" || return 1
		if [ "$DENY_EXTRA" -gt 0 ]; then
			"$PY" "$ROOT/bench/xvcall.py" "$XV_CTL" sg.rule.add "$T/fw/sg-change.json" \
				>>"$RUNDIR/xvioctl.log" 2>&1 || { log "sg.rule.add of sg-change.json failed"; return 1; }
		fi
		allow=$(xv call sg.show "{\"name\":\"$FW_SG\"}" |
			jq -e '[.result.rules[] | select(.proto == "udp" and .ports == "5001")][0].id') ||
			{ log "no allow rule in $FW_SG"; return 1; }
		xv_do call sg.rule.del "{\"sg\":\"$FW_SG\",\"id\":$allow}" && xv_do ct flush || return 1
	elif [ "$MODE" = fw ]; then
		xv_fw_setup eth "$src" || return 1
	else
		xv_do port add vm eth "$src" && xv_do port add nic eth net_null0,no-rx=1 &&
			xv_do relay add vm nic || return 1
	fi
	sleep 2
	prev=$(snap) || return 1
	for ((i = 0; i < 24; i++)); do
		sleep 0.2
		cur=$(snap) || return 1
		out+="$prev	$cur"$'\n'
		prev=$cur
	done
	if [ -n "${DPAB_PERF:-}" ]; then
		perf record -q -C 1 -o "$DPAB_PERF/perf-$2.data" -- sleep 3 >/dev/null 2>&1 ||
			log "perf record failed"
	fi
	xv_stop
	printf '%s' "$out" | awk -F'\t' '$4 > $2 { print ($3 - $1) / ($4 - $2) }' | sort -n |
		awk '{ a[NR] = $1 } END { if (NR) printf "%.1f %.1f\n", a[1], a[int((NR + 1) / 2)] }'
}

declare -A MINS
[ -z "${DPAB_PERF:-}" ] || mkdir -p "$DPAB_PERF" || exit 1
for ((r = 1; r <= ROUNDS; r++)); do
	n=0
	for b in "$@"; do
		n=$((n + 1))
		res=$(one_run "$b" "$n") || { log "run failed with $b (log: $T/run)"; exit 1; }
		[ -n "$res" ] || { log "no packets went through with $b"; exit 1; }
		MINS[$b]+="${res%% *} "
		echo "round $r  $b: min ${res%% *}, median ${res##* } busy cyc/pkt"
	done
done
echo "$MODE${DENY_EXTRA:+ (all denied, $((RULES + DENY_EXTRA - 1)) rules)}, $FLOWS flows, $DMACS destination MAC(s), median of per-run minimums (busy cyc/pkt):"
for b in "$@"; do
	# shellcheck disable=SC2086 # one number per word
	printf '  %-40s %s   (%s)\n' "$b" "$(printf '%s\n' ${MINS[$b]} | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" "${MINS[$b]% }"
done
