# shellcheck shell=bash
# Common helpers for xvio's system and vm test scripts. Source it first:
#
#   . "$(dirname "$0")/../lib/common.sh"
#
# What it gives a test:
#   - TAP output: ok/not_ok/skip/check/is/cmp_ge/exit_is/diag, done_testing
#     (prints the plan at the end and sets the exit status), skip_all.
#   - $T: a private temp dir (removed at exit unless XVIO_KEEP_TMP=1; on
#     failure its logs are copied to $XVIO_TEST_ARTIFACTS when that is set).
#   - Cleanup in a trap: only processes this script recorded (by PID and
#     start time) are stopped, SIGINT first then SIGKILL after a bound, plus
#     commands registered with `defer`, run last-in first-out.
#   - start_xvio / stop_xvio / xctl / xjq: the daemon under test and its CLI.
#   - start_guest / guest_cmd / guest_stats / stop_guest: dpdk-testpmd with a
#     net_virtio_user port playing the guest, pinned as the team rules say
#     (forwarding lcore on CPU 0, main lcore on CPU 1; xvio's worker on CPU 1).
#   - wait_until: bounded polling. Nothing here asserts timings.
#   - pcap_tool: craft/count/compare pcap files (python3, scapy for crafting).
#   - ctl_session: raw JSON lines over the control socket (python3).
#
# Environment:
#   XVIO_ASAN=1       run build-asan/xvio and check its stderr for sanitizer reports
#   XVIO_BUILD        build dir for xvio/xvioctl (default build/, or build-asan/ with XVIO_ASAN=1)
#   XVIO_KEEP_TMP=1   keep $T
#   XVIO_TEST_ARTIFACTS  dir where logs of a failing script are copied (set by tests/run.sh)
#   XVIO_WAIT_SCALE   multiply every wait_until bound (slow machines, ASan)

set -o pipefail

XVIO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ "${XVIO_ASAN:-0}" = 1 ]; then
	XVIO_BUILD=${XVIO_BUILD:-$XVIO_ROOT/build-asan}
	XVIO_WAIT_SCALE=${XVIO_WAIT_SCALE:-2}
	# DPDK maps a lot of memory; keep ASan's own checks, report to stderr.
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_odr_violation=0}
else
	XVIO_BUILD=${XVIO_BUILD:-$XVIO_ROOT/build}
fi
XVIO_BIN=${XVIO_BIN:-$XVIO_BUILD/xvio}
XVIOCTL=${XVIOCTL:-$XVIO_BUILD/xvioctl}
[ -x "$XVIOCTL" ] || XVIOCTL=$XVIO_ROOT/build/xvioctl
XVIO_WAIT_SCALE=${XVIO_WAIT_SCALE:-1}
TESTPMD=${TESTPMD:-dpdk-testpmd}
# Debian's python3 has python3-scapy; a python3 first on PATH (pyenv, venv) may not.
if [ -z "${PY:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
fi
TEST_NAME=$(basename "$0" .sh)

T=$(mktemp -d "/tmp/xvio-${TEST_NAME}.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
CTL=$T/ctl.sock

# ---------------------------------------------------------------- TAP

_tap_n=0
_tap_fail=0
_tap_done=0

diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

# Print a file (or stdin with -) as TAP comments, at most N lines (default 40).
diag_file() {
	local f=$1 max=${2:-40}
	if [ "$f" = - ]; then
		tail -n "$max" | sed 's/^/#   /'
	elif [ -s "$f" ]; then
		echo "#   --- $(basename "$f") (last $max lines)"
		tail -n "$max" "$f" | sed 's/^/#   /'
	fi
}

ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $*"
}

not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_fail=$((_tap_fail + 1))
	echo "not ok $_tap_n - $1"
	shift
	[ $# -gt 0 ] && diag "$@"
	return 0
}

skip() { # skip "desc" "why"
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP ${2:-}"
}

# check "desc" cmd args...: ok when the command exits 0; otherwise not ok with
# the command and its output as diagnostics. Returns the command's status.
check() {
	local desc=$1 rc
	shift
	"$@" >"$T/.check.out" 2>&1 </dev/null
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc" "command: $* (exit $rc)"
		diag_file "$T/.check.out" 30
	fi
	return $rc
}

# check_fails "desc" cmd...: ok when the command exits non-zero.
check_fails() {
	local desc=$1 rc
	shift
	"$@" >"$T/.check.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		ok "$desc"
	else
		not_ok "$desc" "command unexpectedly succeeded: $*"
		diag_file "$T/.check.out" 30
	fi
	[ $rc -ne 0 ]
}

# is "desc" GOT EXPECTED
is() {
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got:      '$2'" "expected: '$3'"
		return 1
	fi
}

# like "desc" STRING REGEX (extended regex)
like() {
	if grep -Eq -- "$3" <<<"$2"; then
		ok "$1"
	else
		not_ok "$1" "got:      '$(printf '%s' "$2" | head -c 600)'" "expected to match: /$3/"
		return 1
	fi
}

# _cmp "desc" A OP B SYMBOL: integer comparison with test(1)'s OP.
_cmp() {
	if [ -n "$2" ] && [ -n "$4" ] && [ "$2" "$3" "$4" ] 2>/dev/null; then
		ok "$1"
	else
		not_ok "$1" "got '$2', expected $5 '$4'"
		return 1
	fi
}

# cmp_ge / cmp_gt / cmp_lt "desc" A B: A >= B, A > B, A < B (integers)
cmp_ge() { _cmp "$1" "$2" -ge "$3" ">="; }
cmp_gt() { _cmp "$1" "$2" -gt "$3" ">"; }
cmp_lt() { _cmp "$1" "$2" -lt "$3" "<"; }

# exit_is DESC STATUS STDERR_REGEX CMD...: CMD exits with STATUS and, when
# STDERR_REGEX is not empty, its stderr matches it (extended regex). CMD's
# stdout is left in $T/cli.out, its stderr in $T/cli.err.
exit_is() {
	local desc=$1 want=$2 re=$3 rc err
	shift 3
	"$@" >"$T/cli.out" 2>"$T/cli.err" </dev/null
	rc=$?
	err=$(cat "$T/cli.err")
	if [ "$rc" != "$want" ]; then
		not_ok "$desc: exit $want" "command: $*" "exit: $rc" "stderr: $err" "stdout: $(head -c 400 "$T/cli.out")"
	elif [ -n "$re" ] && ! grep -Eq -- "$re" <<<"$err"; then
		not_ok "$desc: exit $want with a message matching /$re/" "stderr: $err"
	else
		ok "$desc: exit $want"
	fi
}

# skip_all "why": nothing in this script can run here.
skip_all() {
	echo "1..0 # SKIP $*"
	_tap_done=1
	exit 0
}

# bail "why": stop this script now (counted as a failure).
bail() {
	not_ok "$*"
	done_testing
}

# done_testing: with the ASan build, stop every xvio first and check its
# stderr; print the plan; exit 0 only if every check passed.
done_testing() {
	if [ "${XVIO_ASAN:-0}" = 1 ]; then
		_asan_final_checks
	fi
	echo "1..$_tap_n"
	_tap_done=1
	if [ $_tap_fail -gt 0 ]; then
		diag "$_tap_fail of $_tap_n checks failed in $TEST_NAME"
		exit 1
	fi
	exit 0
}

# ---------------------------------------------------------------- cleanup

# A LIFO list of cleanup actions. Processes are recorded with their start
# time so a PID that was reused by someone else is never signalled.
_cleanup_actions=()

defer() { _cleanup_actions+=("$*"); }

_proc_starttime() { # PID -> start time (field 22 of /proc/PID/stat), empty if gone or a zombie
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) }
	# shellcheck disable=SC2086
	set -- $rest
	[ "$1" = Z ] && return 1
	echo "${20}"
}

# alive PID [STARTTIME]
alive() {
	local st
	st=$(_proc_starttime "$1") || return 1
	[ -z "${2:-}" ] || [ "$st" = "$2" ]
}

declare -A _pid_start=()

# track_pid PID: stop it at exit (SIGINT, then SIGKILL after the bound).
track_pid() {
	local st
	st=$(_proc_starttime "$1") || st=gone
	_pid_start[$1]=$st
	defer "_stop_pid $1 $st"
}

# _stop_pid PID STARTTIME [SIGNAL] [BOUND_S]
_stop_pid() {
	local pid=$1 st=$2 sig=${3:-INT} bound=${4:-10} i
	[ "$st" = gone ] && return 0
	alive "$pid" "$st" || return 0
	kill -s "$sig" "$pid" 2>/dev/null
	for ((i = 0; i < bound * 10; i++)); do
		alive "$pid" "$st" || break
		sleep 0.1
	done
	if alive "$pid" "$st"; then
		echo "# cleanup: pid $pid did not stop on SIG$sig within ${bound}s, sending SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			alive "$pid" "$st" || break
			sleep 0.1
		done
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# stop_pid PID [SIGNAL] [BOUND_S]: stop a tracked process now.
stop_pid() {
	_stop_pid "$1" "${_pid_start[$1]:-gone}" "${2:-INT}" "${3:-10}"
}

_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	for ((i = ${#_cleanup_actions[@]} - 1; i >= 0; i--)); do
		eval "${_cleanup_actions[$i]}" >/dev/null 2>&1
	done
	if [ $_tap_done = 0 ]; then
		# The script ended without done_testing (error, signal): say so.
		_tap_n=$((_tap_n + 1))
		echo "not ok $_tap_n - $TEST_NAME ended early (exit $rc) before done_testing"
		echo "1..$_tap_n"
		_tap_fail=$((_tap_fail + 1))
		[ $rc -eq 0 ] && rc=1
	fi
	if [ $_tap_fail -gt 0 ] && [ -n "${XVIO_TEST_ARTIFACTS:-}" ]; then
		mkdir -p "$XVIO_TEST_ARTIFACTS" && cp -a "$T"/. "$XVIO_TEST_ARTIFACTS"/ 2>/dev/null
		find "$XVIO_TEST_ARTIFACTS" -type s -delete -o -type p -delete 2>/dev/null
	fi
	if [ "${XVIO_KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit $rc
}
trap _cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# ---------------------------------------------------------------- waiting

# wait_until BOUND_S cmd...: run cmd every 0.2 s until it succeeds; 1 after
# the bound (scaled by XVIO_WAIT_SCALE).
wait_until() {
	local bound=$1 deadline
	shift
	deadline=$(($(date +%s%N) / 1000000 + bound * XVIO_WAIT_SCALE * 1000))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ $(($(date +%s%N) / 1000000)) -ge $deadline ] && return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------- requirements

need_root() { [ "$(id -u)" -eq 0 ] || skip_all "needs root"; }

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "needs $c"
	done
}

# need_xvio: the daemon and CLI must be built; hugepages should be there.
need_xvio() {
	if [ ! -x "$XVIO_BIN" ] || [ ! -x "$XVIOCTL" ]; then
		# Not a skip: a missing build is a failure of the tier.
		not_ok "xvio binaries built ($XVIO_BIN, $XVIOCTL)" "run 'make' (or 'make asan' for XVIO_ASAN=1) first"
		done_testing
	fi
	need_cmd jq
}

need_hugepages() {
	grep -q ' hugetlbfs ' /proc/mounts && [ "$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)" -gt 64 ] ||
		skip_all "needs mounted hugepages with free pages (scripts/ensure-hugepages.sh)"
}

need_testpmd() {
	command -v "$TESTPMD" >/dev/null 2>&1 || skip_all "needs dpdk-testpmd (Debian dpdk-dev)"
	need_hugepages
}

need_scapy() {
	$PY -c 'import scapy' 2>/dev/null || skip_all "needs python3-scapy ($PY)"
}

# ---------------------------------------------------------------- xvio

declare -A XV_PID=() XV_CTL=() XV_LOG=()
XVIO_PID=
XVIO_LOG=

# start_xvio [--name NAME] [--netns NS] [--ctl PATH] [xvio args...]
# Starts the daemon pinned (worker CPU 1, control CPU 0), waits until
# `xvioctl version` answers, records the PID. The first instance (or
# --name main) sets $CTL/$XVIO_PID/$XVIO_LOG. Returns non-zero (with TAP
# diagnostics) when it does not come up.
start_xvio() {
	local name=main ns='' ctl='' pid log i
	while [ $# -gt 0 ]; do
		case $1 in
		--name) name=$2; shift 2 ;;
		--netns) ns=$2; shift 2 ;;
		--ctl) ctl=$2; shift 2 ;;
		*) break ;;
		esac
	done
	[ -n "$ctl" ] || { [ "$name" = main ] && ctl=$CTL || ctl=$T/ctl-$name.sock; }
	log=$T/xvio-$name.log
	local cmd=("$XVIO_BIN" --ctl "$ctl" --lcores 1 --main-lcore 0 "$@")
	[ -n "$ns" ] && cmd=(ip netns exec "$ns" "${cmd[@]}")
	echo "+ ${cmd[*]}" >>"$log"
	"${cmd[@]}" </dev/null >>"$log" 2>&1 &
	pid=$!
	track_pid "$pid"
	XV_PID[$name]=$pid
	XV_CTL[$name]=$ctl
	XV_LOG[$name]=$log
	if [ "$name" = main ]; then
		XVIO_PID=$pid
		XVIO_LOG=$log
		CTL=$ctl
	fi
	for ((i = 0; i < 300 * XVIO_WAIT_SCALE; i++)); do
		if "$XVIOCTL" --ctl "$ctl" version >/dev/null 2>&1; then
			return 0
		fi
		if ! alive "$pid"; then
			wait "$pid" 2>/dev/null
			diag "xvio ($name) exited during startup (status $?): ${cmd[*]}"
			diag_file "$log"
			return 1
		fi
		sleep 0.1
	done
	diag "xvio ($name) did not answer 'xvioctl version' within $((30 * XVIO_WAIT_SCALE))s"
	diag_file "$log"
	return 1
}

# stop_xvio [NAME] [SIGNAL]: send SIGTERM (default), wait (bounded) for the
# exit. Sets XVIO_RC to the exit status ("killed" when it had to be
# SIGKILLed after the bound, "none" when there is no such instance). Do not
# call it in $(...): only this shell can collect the exit status.
XVIO_RC=
stop_xvio() {
	local name=${1:-main} sig=${2:-TERM} pid i
	pid=${XV_PID[$name]:-}
	XVIO_RC=none
	[ -n "$pid" ] || return 1
	unset "XV_PID[$name]"
	if alive "$pid" "${_pid_start[$pid]}"; then
		kill -s "$sig" "$pid" 2>/dev/null
		for ((i = 0; i < 300 * XVIO_WAIT_SCALE; i++)); do
			alive "$pid" "${_pid_start[$pid]}" || break
			sleep 0.1
		done
		if alive "$pid" "${_pid_start[$pid]}"; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			XVIO_RC=killed
			return 1
		fi
	fi
	wait "$pid" 2>/dev/null
	XVIO_RC=$?
	return 0
}

# sanitizer_clean LOG: no ASan/LSan/UBSan report in the log.
sanitizer_clean() {
	! grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' "$1"
}

_asan_final_checks() {
	local name rc log
	for name in "${!XV_PID[@]}"; do
		stop_xvio "$name" TERM
		is "asan: xvio ($name) exits 0 on SIGTERM" "$XVIO_RC" 0
	done
	for name in "${!XV_LOG[@]}"; do
		log=${XV_LOG[$name]}
		if sanitizer_clean "$log"; then
			ok "asan: no sanitizer report from xvio ($name)"
		else
			not_ok "asan: no sanitizer report from xvio ($name)"
			grep -E -A25 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -60 | sed 's/^/#   /'
		fi
	done
}

# xctl ARGS...: the CLI against the main instance (or $CTL).
xctl() { "$XVIOCTL" --ctl "$CTL" "$@"; }

# xctl_at NAME ARGS...: the CLI against a named instance.
xctl_at() {
	local name=$1
	shift
	"$XVIOCTL" --ctl "${XV_CTL[$name]}" "$@"
}

# xjq FILTER CMD...: run `xvioctl --json CMD...` and apply a jq filter to
# the result object (accepts either the bare result or a full reply).
xjq() {
	local filter=$1 out
	shift
	out=$(xctl --json "$@") || return $?
	printf '%s\n' "$out" | jq -r "(if type == \"object\" and has(\"ok\") and has(\"result\") then .result else . end) | $filter"
}

# xstat PORT PATH: one number from `stats PORT`, e.g. xstat vm1 .rx.packets
xstat() {
	xjq "(.ports[] | select(.name == \"$1\") | $2) // empty" stats "$1"
}

# port_field NAME FIELD: e.g. port_field vm1 .state
port_field() { xjq "$2" port show "$1"; }

port_state_is() { [ "$(port_field "$1" .state)" = "$2" ]; }

# xstat_ge PORT PATH N: for wait_until
xstat_ge() {
	local v
	v=$(xstat "$1" "$2") || return 1
	[ -n "$v" ] && [ "$v" -ge "$3" ]
}

# grows PORT PATH: the counter moves within 10 s (e.g. grows vm1 .rx.packets)
grows() {
	local v0
	v0=$(xstat "$1" "$2") || return 1
	wait_until 10 xstat_ge "$1" "$2" $((v0 + 1))
}

# stats_settled: the port counters did not move over half a second.
stats_settled() {
	local a b
	a=$(xjq '.ports | tojson' stats) || return 1
	sleep 0.5
	b=$(xjq '.ports | tojson' stats) || return 1
	[ "$a" = "$b" ]
}

# ctl_session [SOCKET]: send each stdin line as one request on ONE
# connection, print each reply line; "<EOF>" when the daemon closed the
# connection, "<TIMEOUT>" when no reply came within 10 s.
# Special input lines:  @big N  sends a line of N bytes (a JSON-looking
# string that never ends before the newline);  @raw TEXT  sends TEXT
# without adding a newline (use @nl to end it later);  @pipe N  sends N
# version requests (ids 1..N) in a single write and prints the N replies;
# @sleep S  waits S seconds.
ctl_session() {
	$PY -c '
import socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(path)
buf = b""
def reply():
    global buf
    while b"\n" not in buf:
        try:
            d = s.recv(65536)
        except socket.timeout:
            return "<TIMEOUT>"
        except OSError as e:
            return "<EOF>"
        if not d:
            return "<EOF>"
        buf += d
    line, buf = buf.split(b"\n", 1)
    return line.decode("utf-8", "replace")
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("@big "):
        n = int(line.split()[1])
        head = b"{\"cmd\": \"version\", \"id\": \""
        data = head + b"A" * max(0, n - len(head) - 2) + b"\"}" + b"\n"
    elif line.startswith("@raw "):
        data = line[5:].encode()
        try:
            s.sendall(data)
        except OSError:
            print("<EOF>"); break
        continue
    elif line == "@nl":
        data = b"\n"
    elif line.startswith("@sleep "):
        import time
        time.sleep(float(line.split()[1]))
        continue
    elif line.startswith("@pipe "):
        # N version requests in one write; print the N replies
        n = int(line.split()[1])
        s.sendall(b"".join(b"{\"cmd\": \"version\", \"id\": %d}\n" % i for i in range(1, n + 1)))
        for i in range(n):
            r = reply()
            print(r); sys.stdout.flush()
            if r in ("<EOF>", "<TIMEOUT>"):
                break
        continue
    else:
        data = line.encode() + b"\n"
    try:
        s.sendall(data)
    except OSError:
        # The daemon closed while we were still sending (e.g. too_large):
        # what it answered before closing is still readable.
        r = reply()
        print(r)
        if r != "<EOF>":
            print("<EOF>")
        sys.stdout.flush()
        break
    r = reply()
    print(r); sys.stdout.flush()
    if r == "<EOF>":
        break
' "${1:-$CTL}"
}

# ---------------------------------------------------------------- guests

declare -A G_PID=() G_LOG=() G_FD=() G_OUT=() G_START=()

# start_guest NAME SOCKET [options] [-- extra testpmd application args]
#   --server        virtio-user is the vhost-user server (server=1): xvio's
#                   port must then be --client
#   --pcap-in FILE  add a second port, net_pcap with rx_pcap=FILE and
#                   tx_pcap=$T/NAME.out.pcap ($G_OUT[NAME]); in io mode the
#                   guest sends the file into virtio-user and records what it
#                   receives into the out file
#   --pcap-out      same, with an empty input file (only records)
#   --mode M        io (default), txonly, rxonly, macswap, 5tswap, mac
#   --txpkts N      packet size for txonly (default 64)
#   --start         start forwarding at once (default: wait for guest_cmd NAME start)
#   --queues N      virtio-user queue pairs (default 1)
# testpmd runs interactively with its stdin on a fifo (guest_cmd writes to
# it), forwarding on CPU 0, main lcore on CPU 1, --no-flush-rx so a pcap
# input is not drained before forwarding starts.
start_guest() {
	local name=$1 sock=$2 server='' pcap_in='' pcap_out=0 mode=io txpkts=64 start=0 queues=1 fd pid log
	shift 2
	local extra=()
	while [ $# -gt 0 ]; do
		case $1 in
		--server) server=,server=1; shift ;;
		--pcap-in) pcap_in=$2; shift 2 ;;
		--pcap-out) pcap_out=1; shift ;;
		--mode) mode=$2; shift 2 ;;
		--txpkts) txpkts=$2; shift 2 ;;
		--start) start=1; shift ;;
		--queues) queues=$2; shift 2 ;;
		--) shift; extra=("$@"); break ;;
		*) diag "start_guest: unknown option $1"; return 2 ;;
		esac
	done
	log=$T/guest-$name.log
	local vdevs=(--vdev "net_virtio_user0,path=$sock,queues=$queues$server")
	if [ $pcap_out = 1 ] && [ -z "$pcap_in" ]; then
		pcap_in=$T/guest-$name.empty.pcap
		pcap_tool empty "$pcap_in" || return 1
	fi
	if [ -n "$pcap_in" ]; then
		G_OUT[$name]=$T/guest-$name.out.pcap
		vdevs+=(--vdev "net_pcap0,rx_pcap=$pcap_in,tx_pcap=${G_OUT[$name]}")
	fi
	# A server-mode virtio-user cannot bind over a stale socket file.
	if [ -n "$server" ] && [ -S "$sock" ]; then
		case $sock in "$T"/*) rm -f "$sock" ;; esac
	fi
	rm -f "$T/guest-$name.fifo"
	mkfifo "$T/guest-$name.fifo" || return 1
	exec {fd}<>"$T/guest-$name.fifo"
	# shellcheck disable=SC2054 # commas belong to -l 0,1
	local cmd=(stdbuf -oL -eL "$TESTPMD" -l 0,1 --main-lcore 1 --no-pci --in-memory --single-file-segments
		--file-prefix="xvg$$$name" "${vdevs[@]}"
		-- -i --forward-mode="$mode" --nb-cores=1 --total-num-mbufs=8192 --no-flush-rx
		--txpkts="$txpkts" --rxq="$queues" --txq="$queues" "${extra[@]}")
	echo "+ ${cmd[*]}" >"$log"
	"${cmd[@]}" <"$T/guest-$name.fifo" >>"$log" 2>&1 &
	pid=$!
	track_pid "$pid"
	disown "$pid" # no "Killed" job notices when a test kills a guest
	G_PID[$name]=$pid
	G_LOG[$name]=$log
	G_FD[$name]=$fd
	G_START[$name]=$start
	if [ -n "$server" ]; then
		# virtio-user in server mode waits in its probe for the backend to
		# connect: return once its socket is there; the caller adds the
		# xvio --client port, then calls guest_wait_ready NAME.
		_guest_poll "$name" "guest $name (testpmd, server mode) did not create $sock" test -S "$sock"
		return
	fi
	guest_wait_ready "$name"
}

# _guest_poll NAME TIMEOUT_DIAG CMD...: run CMD every 0.1 s for at most
# 30 s (scaled) while guest NAME's testpmd starts; 0 once CMD succeeds, 1
# with diagnostics (its log) when testpmd exits or when the time is up.
_guest_poll() {
	local name=$1 tmo_diag=$2 pid=${G_PID[$1]} log=${G_LOG[$1]} i
	shift 2
	for ((i = 0; i < 300 * XVIO_WAIT_SCALE; i++)); do
		"$@" && return 0
		if ! alive "$pid"; then
			diag "guest $name (testpmd) exited during startup"
			diag_file "$log"
			return 1
		fi
		sleep 0.1
	done
	"$@" && return 0
	diag "$tmo_diag"
	diag_file "$log"
	return 1
}

# guest_wait_ready NAME: wait for testpmd's prompt (its virtio-user port is
# then up); starts forwarding when start_guest had --start.
guest_wait_ready() {
	local name=$1 log=${G_LOG[$1]}
	_guest_poll "$name" "guest $name (testpmd) gave no prompt within $((30 * XVIO_WAIT_SCALE))s" \
		grep -q 'testpmd> ' "$log" || return 1
	if ! grep -q '^Port 0: ' "$log"; then
		diag "guest $name: no virtio-user port came up"
		diag_file "$log"
		return 1
	fi
	[ "${G_START[$name]:-0}" = 1 ] && guest_cmd "$name" start
	return 0
}

# guest_cmd NAME COMMAND...: one testpmd interactive command.
guest_cmd() {
	local name=$1
	shift
	alive "${G_PID[$name]}" || return 1
	echo "$*" >&"${G_FD[$name]}"
}

guest_alive() { alive "${G_PID[$1]}" "${_pid_start[${G_PID[$1]}]}"; }

# guest_stats NAME PORT: prints "RX_PACKETS TX_PACKETS RX_BYTES TX_BYTES"
# from a fresh `show port stats PORT` (port 0 = virtio-user, 1 = pcap).
guest_stats() {
	local name=$1 port=$2 log=${G_LOG[$1]} before i
	before=$(grep -c "NIC statistics for port $port " "$log")
	guest_cmd "$name" "show port stats $port" || return 1
	for ((i = 0; i < 100 * XVIO_WAIT_SCALE; i++)); do
		# The block is complete once its closing "####" line is there.
		if [ "$(grep -c "NIC statistics for port $port " "$log")" -gt "$before" ] &&
			awk -v p="NIC statistics for port $port " 'index($0, p) {inb=1; done=0; next} inb && /^ *#+ *$/ {done=1; inb=0} END {exit !done}' "$log"; then
			break
		fi
		sleep 0.1
	done
	awk -v p="NIC statistics for port $port " '
		index($0, p) {inb=1; next}
		inb && /RX-packets:/ {rxp=$2; rxb=$NF}
		inb && /TX-packets:/ {txp=$2; txb=$NF}
		inb && /^ *#+ *$/ {inb=0; last=rxp " " txp " " rxb " " txb}
		END {if (last == "") exit 1; print last}' "$log"
}

guest_rx() { guest_stats "$1" "${2:-0}" | awk '{print $1}'; }
guest_tx() { guest_stats "$1" "${2:-0}" | awk '{print $2}'; }

# guest_rx_ge NAME N [PORT]: for wait_until
guest_rx_ge() { local v; v=$(guest_rx "$1" "${3:-0}") && [ -n "$v" ] && [ "$v" -ge "$2" ]; }
guest_tx_ge() { local v; v=$(guest_tx "$1" "${3:-0}") && [ -n "$v" ] && [ "$v" -ge "$2" ]; }

# guest_tx_first NAME BURSTS: in io mode, send BURSTS bursts of 32 txonly
# packets (testpmd "start tx_first"), then keep forwarding; with nothing
# coming back, the guest sends exactly BURSTS*32 packets (see guest_tx).
guest_tx_first() { guest_cmd "$1" "start tx_first $2"; }

# guest_final_stats NAME PORT: after stop_guest (or "stop"), the last
# "Forward statistics for port PORT" block: "RX_PACKETS TX_PACKETS RX_DROPPED TX_DROPPED"
guest_final_stats() {
	awk -v p="Forward statistics for port $2 " '
		index($0, p) {inb=1; next}
		inb && /RX-packets:/ {rx=$2; rxd=$4}
		inb && /TX-packets:/ {tx=$2; txd=$4; inb=0; last=rx " " tx " " rxd " " txd}
		END {if (last == "") exit 1; print last}' "${G_LOG[$1]}"
}

# stop_guest NAME: quit testpmd (it stops forwarding and closes its ports),
# SIGINT then SIGKILL if it does not exit within the bound.
stop_guest() {
	local name=$1 pid=${G_PID[$1]} i
	[ -n "$pid" ] || return 0
	guest_cmd "$name" quit 2>/dev/null
	for ((i = 0; i < 100 * XVIO_WAIT_SCALE; i++)); do
		guest_alive "$name" || break
		sleep 0.1
	done
	stop_pid "$pid" INT 10
	local fd=${G_FD[$name]}
	[ -n "$fd" ] && exec {fd}>&- 2>/dev/null
	return 0
}

# kill_guest NAME: SIGKILL, like a crashed VM.
kill_guest() {
	stop_pid "${G_PID[$1]}" KILL 5
	local fd=${G_FD[$1]}
	[ -n "$fd" ] && exec {fd}>&- 2>/dev/null
	return 0
}

# ---------------------------------------------------------------- pcap files

# pcap_tool make FILE N [SEED] [SIZES]: N Ethernet/IPv4/UDP frames
#     198.18.S.1 -> 198.18.S.2 (S from SEED), payload "xvio SEED i" followed
#     by bytes derived from (SEED, i); frame sizes cycle through SIZES
#     (comma list, default 64,128,511,1024,1514).
# pcap_tool empty FILE
# pcap_tool count FILE           -> number of packets
# pcap_tool bytes FILE           -> sum of frame lengths
# pcap_tool compare EXPECTED GOT -> exit 0 if same frames in the same order,
#     else prints what differs
# pcap_tool send IFACE FILE      -> sendp every frame of FILE on IFACE (scapy)
# pcap_tool ping FILE N SRC_MAC DST_MAC SRC_IP DST_IP [SIZE] -> ICMP echo requests
# pcap_tool echo_replies FILE FROM_IP TO_IP -> number of good echo replies
pcap_tool() {
	$PY -c '
import struct, sys
def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        e = "<"
    else:
        e = ">"
    off, pkts = 24, []
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        if off + 16 + incl > len(data):
            break  # a record still being written
        pkts.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return pkts
def write(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000, (i % 1000) * 1000, len(fr), len(fr)))
            f.write(fr)
op = sys.argv[1]
if op == "empty":
    write(sys.argv[2], [])
elif op == "count":
    print(len(read(sys.argv[2])))
elif op == "bytes":
    print(sum(len(p) for p in read(sys.argv[2])))
elif op == "make":
    from scapy.all import Ether, IP, UDP, Raw
    path, n = sys.argv[2], int(sys.argv[3])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    sizes = [int(x) for x in (sys.argv[5] if len(sys.argv) > 5 else "64,128,511,1024,1514").split(",")]
    frames = []
    for i in range(n):
        size = sizes[i % len(sizes)]
        hdr = Ether(src="02:00:00:00:%02x:01" % (seed % 256), dst="02:00:00:00:%02x:02" % (seed % 256)) / \
              IP(src="198.18.%d.1" % (seed % 256), dst="198.18.%d.2" % (seed % 256), id=i % 65536) / \
              UDP(sport=10000 + (i % 50000), dport=9)
        tag = b"xvio %d %d " % (seed, i)
        body_len = max(len(tag), size - len(hdr))
        body = tag + bytes(((seed * 131 + i * 7 + k) % 251) for k in range(body_len - len(tag)))
        frames.append(bytes(hdr / Raw(body)))
    write(path, frames)
elif op == "compare":
    a, b = read(sys.argv[2]), read(sys.argv[3])
    if a == b:
        sys.exit(0)
    print("expected %d frames, got %d" % (len(a), len(b)))
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            print("first difference at frame %d: expected %d bytes %s..., got %d bytes %s..." %
                  (i, len(x), x[:48].hex(), len(y), y[:48].hex()))
            break
    sys.exit(1)
elif op == "ping":
    # ping FILE N SRC_MAC DST_MAC SRC_IP DST_IP [SIZE]: ICMP echo requests,
    # id 0x7876, seq 0..N-1, payload "xvio ping SEQ" padded to SIZE.
    from scapy.all import Ether, IP, ICMP, Raw
    path, n, smac, dmac, sip, dip = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
    size = int(sys.argv[8]) if len(sys.argv) > 8 else 100
    frames = []
    for i in range(n):
        hdr = Ether(src=smac, dst=dmac) / IP(src=sip, dst=dip) / ICMP(type=8, id=0x7876, seq=i)
        body = (b"xvio ping %d " % i).ljust(max(0, size - len(hdr)), b".")
        frames.append(bytes(hdr / Raw(body)))
    write(path, frames)
elif op == "echo_replies":
    # echo_replies FILE FROM_IP TO_IP: how many distinct seqs got a correct
    # echo reply (id 0x7876, payload "xvio ping SEQ ...")
    from scapy.all import Ether, IP, ICMP
    seen = set()
    for p in read(sys.argv[2]):
        e = Ether(p)
        if IP in e and ICMP in e and e[IP].src == sys.argv[3] and e[IP].dst == sys.argv[4] \
                and e[ICMP].type == 0 and e[ICMP].id == 0x7876 \
                and bytes(e[ICMP].payload).startswith(b"xvio ping %d " % e[ICMP].seq):
            seen.add(e[ICMP].seq)
    print(len(seen))
elif op == "send":
    from scapy.all import Ether, sendp, conf
    conf.verb = 0
    frames = [Ether(p) for p in read(sys.argv[3])]
    sendp(frames, iface=sys.argv[2], verbose=False)
else:
    sys.exit("pcap_tool: unknown op " + op)
' "$@"
}

# echo_replies_ge FILE FROM TO N: for wait_until
echo_replies_ge() { [ -f "$1" ] && [ "$(pcap_tool echo_replies "$1" "$2" "$3")" -ge "$4" ]; }

# pcap_count_ge FILE N: for wait_until
pcap_count_ge() { [ -f "$1" ] && [ "$(pcap_tool count "$1")" -ge "$2" ]; }

# ---------------------------------------------------------------- netns

# make_netns NAME: a private network namespace, deleted at exit, with IPv6
# off so the kernel sends nothing on its own.
make_netns() {
	ip netns add "$1" || return 1
	defer "ip netns del $1"
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
	ip -n "$1" link set lo up
}

# iface_counter NS IFACE rx|tx -> packets counter (root namespace when NS is -)
iface_counter() {
	local ns=$1 ifc=$2 dir=$3 nsarg=()
	[ "$ns" != - ] && nsarg=(-n "$ns")
	ip "${nsarg[@]}" -j -s link show dev "$ifc" | jq -r ".[0].stats64.$dir.packets"
}

# ---------------------------------------------------------------- network mode

# netpkt OP ARGS...: tests/lib/netpkt.py (crafted frames, pcap files,
# real-stack traffic: servers, clients, ping, sniffer); see its header.
netpkt() { $PY "$XVIO_ROOT/tests/lib/netpkt.py" "$@"; }

# xdrops PORT: the port's non-zero drop counters as compact JSON with
# sorted keys, e.g. {"sg_ingress":2,"spoofed_ip":1} ({} when none)
xdrops() {
	xctl --json stats "$1" | jq -cS "(if has(\"result\") then .result else . end) |
		(.ports[] | select(.name == \"$1\") | .drops | del(.total) |
		with_entries(select(.value != 0))) // {}"
}

# xdrop PORT REASON: one drop counter of a port
xdrop() { xstat "$1" ".drops.$2"; }

# xdrop_ge PORT REASON N: for wait_until
xdrop_ge() { xstat_ge "$1" ".drops.$2" "$3"; }

# spawn LOG CMD...: run CMD in the background (output to LOG), stopped at
# exit like every tracked process; its PID in $SPAWN_PID.
SPAWN_PID=
spawn() {
	local log=$1
	shift
	"$@" </dev/null >>"$log" 2>&1 &
	SPAWN_PID=$!
	track_pid "$SPAWN_PID"
	disown "$SPAWN_PID"
}

# veth_ns NS ROOT_IFACE NS_IFACE: a namespace (make_netns) with a veth
# pair: ROOT_IFACE in the root namespace (up, IPv6 off: for net_af_packet,
# deleted at exit), NS_IFACE in NS (still down).
veth_ns() {
	local ns=$1 ifc=$2 peer=$3
	make_netns "$ns" || return 1
	ip link add "$ifc" type veth peer name "$peer" netns "$ns" || return 1
	defer "ip link del $ifc"
	sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1"
	ip link set "$ifc" up
}

# net_ns NS ROOT_IFACE MAC: veth_ns with eth0 in NS, which gets MAC, is up
# and has transmit checksum offload off (so that what the namespace sends
# through xvio to another veth carries full checksums).
net_ns() {
	local ns=$1 ifc=$2 mac=$3
	veth_ns "$ns" "$ifc" eth0 || return 1
	ip -n "$ns" link set eth0 address "$mac" || return 1
	ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null 2>&1 || return 1
	ip -n "$ns" link set eth0 up
}

# ns_ipv6 NS: IPv6 on in NS's eth0, without duplicate address detection
# (addresses usable at once) nor router solicitations.
ns_ipv6() {
	ip netns exec "$1" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.router_solicitations=0 \
		net.ipv6.conf.eth0.disable_ipv6=0 >/dev/null
}

# todo REASON CMD...: run CMD (a function making checks) as TAP TODO
# checks: each of its result lines gets "# TODO REASON", and its failures
# do not fail the script (for a known bug, until it is fixed).
todo() {
	local reason=$1 fail0=$_tap_fail
	shift
	"$@" >"$T/.todo.out"
	_tap_fail=$fail0
	awk -v r="$reason" '/^(not )?ok [0-9]+ / {$0 = $0 " # TODO " r} {print}' "$T/.todo.out"
}
