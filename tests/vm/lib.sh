# Library for the xvio VM tier (sourced by tests/vm/t-*.sh, demo/demo.sh).
#
# A test looks like this:
#
#   . "$(dirname "$0")/lib.sh"
#   xv_init t-relay 150              # private dir $T, hard time limit, cleanup trap
#   xv_backend_start                 # xvio (or the dpdk-testpmd stand-in)
#   xv_port_add vm1 vhost "$T/vm1.sock"
#   xv_port_add vm2 vhost "$T/vm2.sock"
#   xv_relay_add vm1 vm2
#   vm_start a --net "$T/vm1.sock" --ip 198.18.0.1/24
#   vm_start b --net "$T/vm2.sock" --ip 198.18.0.2/24
#   vm_wait_agent a && vm_wait_agent b
#   tap_check "a pings b" vm_exec a 'ping -c 3 198.18.0.2'
#   xv_finish a b                    # stop the guests, closing checks, tap_end
#
# Guests are QEMU TCG VMs booted from the initramfs of build-guest.sh. By
# default a guest runs the command agent: vm_exec sends it a shell command
# over its second serial port and returns the command's output and status.
# A guest can instead run a script baked into its initramfs (vm_start
# --script FILE); it then prints XVIO-OUT/XVIO-RESULT lines (vm_out,
# vm_result) and powers off by itself.
#
# Every process a test starts is recorded in $T/pids and stopped by PID in
# the EXIT trap (QEMU first, then the backend); network namespaces made with
# xv_netns_add are deleted. Nothing is killed by name.
#
# Environment:
#   XV_VM_BACKEND   auto (default: xvio when build/xvio and build/xvioctl exist,
#                   else dpdk-testpmd), xvio, testpmd, or none (no relay)
#   XV_XVIO, XV_XVIOCTL   the binaries (default build/xvio, build/xvioctl)
#   XV_VM_QEMU_CPUS CPUs QEMU may run on (default 0: the xvio worker polls CPU 1)
#   XV_VM_KEEP=1 or XVIO_KEEP_TMP=1   keep the private directory (logs) even
#                   when the test passed
#   XV_VM_VERBOSE=1 print more diagnostics
#   XVIO_ASAN=1     use build-asan/ (or XVIO_BUILD); at the end xvio must exit 0
#                   on SIGTERM with no sanitizer report in its log
#   XVIO_BUILD      build dir of xvio/xvioctl (default build/)
#   XVIO_TEST_ARTIFACTS  where a failing test's logs are copied (tests/run.sh)

XV_VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XV_TOP=$(cd "$XV_VM_LIB_DIR/../.." && pwd)
# Same conventions as tests/lib/common.sh (the system tier).
if [ "${XVIO_ASAN:-0}" = 1 ]; then
	: "${XVIO_BUILD:=$XV_TOP/build-asan}"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_odr_violation=0}
else
	: "${XVIO_BUILD:=$XV_TOP/build}"
fi
: "${XV_XVIO:=$XVIO_BUILD/xvio}"
: "${XV_XVIOCTL:=$XVIO_BUILD/xvioctl}"
[ -x "$XV_XVIOCTL" ] || XV_XVIOCTL=$XV_TOP/build/xvioctl
: "${XV_VM_QEMU_CPUS:=0}"
: "${XV_VM_BACKEND:=auto}"

XV_TAP_N=0
XV_TAP_FAILED=0
XV_TAP_SKIPPED=0

# ---------------------------------------------------------------- TAP

tap_ok() {
	XV_TAP_N=$((XV_TAP_N + 1))
	echo "ok $XV_TAP_N - $*"
}

tap_not_ok() {
	XV_TAP_N=$((XV_TAP_N + 1))
	XV_TAP_FAILED=$((XV_TAP_FAILED + 1))
	echo "not ok $XV_TAP_N - $*"
}

# tap_skip DESC WHY
tap_skip() {
	XV_TAP_N=$((XV_TAP_N + 1))
	XV_TAP_SKIPPED=$((XV_TAP_SKIPPED + 1))
	echo "ok $XV_TAP_N - $1 # SKIP $2"
}

# tap_check DESC CMD...: ok when CMD succeeds. CMD's output goes to the
# diagnostics only when it fails (or with XV_VM_VERBOSE=1).
tap_check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		tap_ok "$desc"
		[ "${XV_VM_VERBOSE:-0}" = 1 ] && [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/#   /'
	else
		tap_not_ok "$desc"
		[ -n "$out" ] && printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	fi
	return $rc
}

tap_diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# tap_grew DESC BEFORE AFTER: ok when a counter went up from BEFORE to
# AFTER (empty reads as 0); the check is "DESC (BEFORE -> AFTER)".
tap_grew() {
	if [ "${3:-0}" -gt "${2:-0}" ]; then
		tap_ok "$1 ($2 -> $3)"
	else
		tap_not_ok "$1 ('$2' -> '$3')"
		return 1
	fi
}

# tap_end: stop xvio and check it ended cleanly, print the plan and leave
# with 0 when every check passed.
tap_end() {
	[ -n "${XV_XVIO_PID:-}" ] && xv_xvio_final_checks
	echo "1..$XV_TAP_N"
	if [ "$XV_TAP_FAILED" -gt 0 ]; then
		tap_diag "$XV_TAP_FAILED of $XV_TAP_N checks failed"
		exit 1
	fi
	exit 0
}

# tap_skip_all WHY: the whole test cannot run on this machine.
tap_skip_all() {
	tap_skip "$XV_TEST_NAME" "$1"
	tap_end
}

xv_log() {
	[ "${XV_VM_VERBOSE:-0}" = 1 ] && tap_diag "$*"
	[ -n "${T:-}" ] && echo "$(date +%T) $*" >>"$T/test.log"
	return 0
}

# ---------------------------------------------------------------- setup

# xv_init NAME LIMIT_S: private directory $T, guest image, hard time limit
# and the cleanup trap. Skips the whole test when the machine cannot run VMs.
xv_init() {
	XV_TEST_NAME=$1
	XV_TEST_LIMIT=${2:-300}
	XV_T0=$(date +%s)
	if [ "$(id -u)" -ne 0 ]; then
		tap_skip_all "needs root (netns, vhost sockets)"
	fi
	command -v qemu-system-x86_64 >/dev/null || tap_skip_all "qemu-system-x86 not installed"
	ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || tap_skip_all "linux-image-cloud-amd64 not installed"
	[ -x /bin/busybox ] || tap_skip_all "busybox-static not installed"
	T=$(mktemp -d "/tmp/xvio-vm-$XV_TEST_NAME.XXXXXX")
	: >"$T/pids"
	: >"$T/netns"
	trap xv_cleanup EXIT
	trap 'xv_on_signal INT' INT
	trap 'xv_on_signal TERM' TERM
	# Hard limit: the watchdog sends TERM to this shell, whose trap cleans up.
	# (Its sleep goes with it when cleanup stops the watchdog.)
	(
		trap 'kill "$sp" 2>/dev/null; wait "$sp"; exit 0' TERM
		sleep "$XV_TEST_LIMIT" &
		sp=$!
		wait "$sp" || exit 0
		echo "$(date +%T) watchdog: limit ${XV_TEST_LIMIT}s reached" >>"$T/test.log"
		kill -TERM $$
		# The shell runs its trap only when its current foreground child
		# ends: end the test's own helper subshells (not the processes in
		# $T/pids, which the cleanup stops in order; not this watchdog).
		for c in $(ps -o pid= --ppid $$); do
			[ "$c" = "$BASHPID" ] && continue
			grep -q "^$c " "$T/pids" && continue
			kill -TERM "$c"
		done
	) >/dev/null 2>&1 &
	XV_WATCHDOG=$!
	if ! "$XV_VM_LIB_DIR/build-guest.sh" -q >"$T/build-guest.log" 2>&1; then
		tap_not_ok "build the guest image"
		sed 's/^/#   /' "$T/build-guest.log"
		tap_end
	fi
	# shellcheck disable=SC1091
	. "$XV_VM_LIB_DIR/cache/guest.env"
	xv_pick_backend
	if [ "$XV_BACKEND" = none ]; then
		tap_diag "$XV_TEST_NAME: private dir $T"
	elif [ "$XV_BACKEND" = xvio ]; then
		tap_diag "$XV_TEST_NAME: backend $XV_XVIO, private dir $T"
	else
		tap_diag "$XV_TEST_NAME: backend dpdk-testpmd (stand-in for xvio), private dir $T"
	fi
}

xv_on_signal() {
	if [ "$1" = TERM ] && [ -f "$T/test.log" ] && grep -q watchdog "$T/test.log"; then
		tap_not_ok "$XV_TEST_NAME finished within its ${XV_TEST_LIMIT}s limit"
	else
		tap_not_ok "$XV_TEST_NAME interrupted by SIG$1"
	fi
	echo "1..$XV_TAP_N"
	exit 1
}

# xv_track PID WHAT: stop PID at cleanup. WHAT: qemu, backend, other.
xv_track() {
	echo "$1 $2" >>"$T/pids"
}

# xv_stop_pid PID SIG GRACE_S: signal PID and wait (bounded) for it to go.
xv_stop_pid() {
	local pid=$1 sig=$2 grace=${3:-5} i=0
	kill -0 "$pid" 2>/dev/null || return 0
	kill "-$sig" "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $i -lt $((grace * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		sleep 0.2
	fi
	return 0
}

# xv_stop_all: stop every recorded process and delete the recorded network
# namespaces. QEMU first (a guest going away is an event the backend
# handles), then the backend, then anything else; newest first.
xv_stop_all() {
	local pid w what ns
	[ -n "${T:-}" ] && [ -f "$T/pids" ] || return 0
	for what in qemu backend other; do
		tac "$T/pids" | while read -r pid w; do
			[ "$w" = "$what" ] || continue
			case $w in
			qemu) xv_stop_pid "$pid" TERM 3 ;;
			backend) xv_stop_pid "$pid" INT 10 ;;
			*) xv_stop_pid "$pid" TERM 3 ;;
			esac
		done
	done
	while read -r ns; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	done <"$T/netns"
	[ -n "${XV_CLEANUP_HOOK:-}" ] && $XV_CLEANUP_HOOK
	return 0
}

xv_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "${XV_WATCHDOG:-}" ]; then
		kill "$XV_WATCHDOG" 2>/dev/null
		wait "$XV_WATCHDOG" 2>/dev/null
	fi
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		xv_stop_all
		if [ "$XV_TAP_FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
			if [ -n "${XVIO_TEST_ARTIFACTS:-}" ]; then
				# Logs only: no sockets, fifos, guest images or test files.
				mkdir -p "$XVIO_TEST_ARTIFACTS" &&
					(cd "$T" && find . -maxdepth 1 -type f ! -name '*.initrd' ! -name '*.cpio.gz' ! -name got \
						-exec cp -p {} "$XVIO_TEST_ARTIFACTS/" \;)
				echo "# logs copied to $XVIO_TEST_ARTIFACTS"
				[ "${XV_VM_KEEP:-0}" = 1 ] || [ "${XVIO_KEEP_TMP:-0}" = 1 ] || rm -rf "$T"
			else
				echo "# logs kept in $T"
			fi
		elif [ "${XV_VM_KEEP:-0}" = 1 ] || [ "${XVIO_KEEP_TMP:-0}" = 1 ]; then
			echo "# kept $T"
		else
			rm -rf "$T"
		fi
	fi
	echo "# $XV_TEST_NAME: $(($(date +%s) - XV_T0)) s"
	exit $rc
}

# xv_wait_until TIMEOUT_S CMD...: poll CMD every 0.2 s until it succeeds.
xv_wait_until() {
	local limit=$1 end
	shift
	end=$(($(date +%s) + limit))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.2
	done
}

# xv_not CMD...: succeed when CMD fails (for tap_check).
xv_not() {
	! "$@"
}

# ---------------------------------------------------------------- backend

xv_pick_backend() {
	case "$XV_VM_BACKEND" in
	xvio|testpmd|none) XV_BACKEND=$XV_VM_BACKEND ;;
	*)
		if [ -x "$XV_XVIO" ] && [ -x "$XV_XVIOCTL" ]; then
			XV_BACKEND=xvio
		else
			XV_BACKEND=testpmd
		fi
		;;
	esac
	if [ "$XV_BACKEND" = testpmd ] && ! command -v dpdk-testpmd >/dev/null; then
		tap_skip_all "no xvio build and no dpdk-testpmd (apt-get install dpdk-dev)"
	fi
}

xv_have_hugepages() {
	grep -q ' hugetlbfs ' /proc/mounts && [ "$(awk '/HugePages_Free/{print $2}' /proc/meminfo)" -ge 64 ]
}

# xvctl ARGS...: xvioctl against this test's daemon.
xvctl() {
	"$XV_XVIOCTL" --ctl "$T/ctl.sock" "$@"
}

# xv_backend_start [XVIO ARGS...]: start xvio (worker on CPU 1, control on
# CPU 0) and wait until it answers. For the testpmd stand-in nothing starts
# here: xv_relay_add starts one testpmd per relay.
xv_backend_start() {
	XV_TPM_VDEVS=()
	XV_TPM_NAMES=()
	XV_TPM_Q=1
	[ "$XV_BACKEND" = xvio ] || return 0
	"$XV_XVIO" --ctl "$T/ctl.sock" --lcores 1 --main-lcore 0 "$@" >"$T/xvio.log" 2>&1 &
	XV_XVIO_PID=$!
	xv_track "$XV_XVIO_PID" backend
	if ! xv_wait_until 30 xvctl status; then
		tap_not_ok "xvio starts and answers on its control socket"
		tail -n 20 "$T/xvio.log" | sed 's/^/#   /'
		tap_end
	fi
	xv_log "xvio pid $XV_XVIO_PID up"
}

# xv_xvio_final_checks: stop the guests, then xvio (SIGINT; SIGTERM with
# XVIO_ASAN=1, as the system tier does); it must exit 0, and with ASan leave
# no sanitizer report in its log.
xv_xvio_final_checks() {
	local pid=$XV_XVIO_PID sig=INT rc i
	XV_XVIO_PID=
	[ "${XVIO_ASAN:-0}" = 1 ] && sig=TERM
	grep ' qemu$' "$T/pids" | while read -r p _; do xv_stop_pid "$p" TERM 3; done
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		tap_not_ok "xvio was still running at the end (exit status $?)"
		tail -n 20 "$T/xvio.log" | sed 's/^/#   /'
		return
	fi
	kill "-$sig" "$pid"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		tap_not_ok "xvio exits on SIG$sig (still running after 20 s: killed)"
		return
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	if [ "$rc" -eq 0 ]; then
		tap_ok "xvio exits 0 on SIG$sig"
	else
		tap_not_ok "xvio exits 0 on SIG$sig (exit status $rc)"
		tail -n 20 "$T/xvio.log" | sed 's/^/#   /'
	fi
	if [ "${XVIO_ASAN:-0}" = 1 ]; then
		if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' "$T/xvio.log"; then
			tap_not_ok "asan: no sanitizer report from xvio"
			grep -E -A25 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/xvio.log" | head -60 | sed 's/^/#   /'
		else
			tap_ok "asan: no sanitizer report from xvio"
		fi
	fi
}

# xv_backend_alive: the backend process is still running.
xv_backend_alive() {
	local p
	if [ "$XV_BACKEND" = xvio ]; then
		kill -0 "$XV_XVIO_PID" 2>/dev/null
	else
		for p in "${XV_TPM_PIDS[@]}"; do
			kill -0 "$p" 2>/dev/null || return 1
		done
	fi
}

# xv_port_add NAME vhost PATH [--client] [--queues N]
# xv_port_add NAME eth DEVARGS [--queues N]
# Same arguments as "xvioctl port add". With testpmd they become --vdev
# arguments of the testpmd that xv_relay_add starts.
xv_port_add() {
	local name=$1 type=$2 where=$3 client=0 q=
	shift 3
	while [ $# -gt 0 ]; do
		case "$1" in
		--client) client=1 ;;
		--queues) q=$2; shift ;;
		esac
		shift
	done
	if [ "$XV_BACKEND" = xvio ]; then
		local args=(port add "$name" "$type" "$where")
		[ $client = 1 ] && args+=(--client)
		[ -n "$q" ] && args+=(--queues "$q")
		xvctl "${args[@]}" >>"$T/xvioctl.log" 2>&1 || {
			tap_diag "xvioctl ${args[*]} failed: $(tail -n 1 "$T/xvioctl.log")"
			return 1
		}
		return 0
	fi
	local i=${#XV_TPM_VDEVS[@]} v
	if [ "$type" = vhost ]; then
		v="net_vhost$i,iface=$where,queues=${q:-1}"
		[ $client = 1 ] && v+=",client=1"
	else
		v=$where
	fi
	[ -n "$q" ] && [ "$q" -gt "$XV_TPM_Q" ] && XV_TPM_Q=$q
	XV_TPM_VDEVS+=("$v")
	XV_TPM_NAMES+=("$name")
	return 0
}

# xv_relay_add A B
xv_relay_add() {
	if [ "$XV_BACKEND" = xvio ]; then
		xvctl relay add "$1" "$2" >>"$T/xvioctl.log" 2>&1 || {
			tap_diag "xvioctl relay add $1 $2 failed: $(tail -n 1 "$T/xvioctl.log")"
			return 1
		}
		return 0
	fi
	# testpmd: io forwarding between exactly the two ports of the relay,
	# forwarding lcore 1, main lcore 0 (QEMU runs on CPU 0 too).
	local vdevs=() n mem pid
	for n in 0 1; do
		[ -n "${XV_TPM_VDEVS[$n]:-}" ] || { tap_diag "testpmd stand-in: need 2 ports"; return 1; }
		vdevs+=(--vdev "${XV_TPM_VDEVS[$n]}")
	done
	if xv_have_hugepages; then
		mem=(--in-memory)
	else
		mem=(--no-huge -m 512 --in-memory)
	fi
	stdbuf -oL dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci "${mem[@]}" --file-prefix="xvvm$$" \
		"${vdevs[@]}" -- --forward-mode=io --auto-start --stats-period=5 --nb-cores=1 \
		--rxq="$XV_TPM_Q" --txq="$XV_TPM_Q" </dev/null >"$T/testpmd.log" 2>&1 &
	pid=$!
	xv_track "$pid" backend
	XV_TPM_PIDS+=("$pid")
	if ! xv_wait_until 30 grep -q 'Press enter\|Port statistics' "$T/testpmd.log"; then
		tap_diag "testpmd did not start: $(tail -n 5 "$T/testpmd.log")"
		return 1
	fi
	XV_TPM_VDEVS=()
	XV_TPM_NAMES=()
	XV_TPM_Q=1
	return 0
}

# xv_port_field NAME FIELD: a field of "port show" (xvio only; testpmd: unknown).
xv_port_field() {
	[ "$XV_BACKEND" = xvio ] || { echo unknown; return 0; }
	xvctl --json port show "$1" 2>/dev/null | jq -r "(.result // .) | .$2 // empty"
}

xv_port_state() {
	xv_port_field "$1" state
}

# xv_wait_port_state NAME STATE [TIMEOUT_S]: STATE may be a |-list.
xv_wait_port_state() {
	local name=$1 want=$2 limit=${3:-30} end s
	end=$(($(date +%s) + limit))
	while :; do
		s=$(xv_port_state "$name")
		case "|$want|" in *"|$s|"*) return 0 ;; esac
		[ "$(date +%s)" -ge "$end" ] && { echo "port $name state '$s', wanted $want"; return 1; }
		sleep 0.2
	done
}

# xv_stat PORT JQPATH: one number from "xvioctl --json stats PORT",
# e.g. xv_stat vm1 .rx.packets (xvio only).
xv_stat() {
	xvctl --json stats "$1" 2>/dev/null |
		jq -r --arg p "$1" "(.result // .) | .ports[] | select(.name == \$p) | $2"
}

# ---------------------------------------------------------------- guests

# vm_mac NAME IDX: a stable locally administered MAC for a guest's NIC.
vm_mac() {
	local h
	h=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
	printf '52:54:%02x:%02x:%02x:%02x' $((h >> 16 & 255)) $((h >> 8 & 255)) $((h & 255)) "$2"
}

# vm_initrd NAME [SCRIPT]: $T/NAME.initrd = the guest image plus, when SCRIPT
# is given, a second archive holding it as /test.sh.
vm_initrd() {
	local name=$1 script=${2:-} ov
	if [ -z "$script" ]; then
		cp "$XV_INITRD" "$T/$name.initrd"
		return
	fi
	ov=$T/$name.overlay
	mkdir -p "$ov"
	install -m 0755 "$script" "$ov/test.sh"
	(cd "$ov" && echo test.sh | cpio -o -H newc --owner=0:0 --quiet | gzip) >"$T/$name.ov.cpio.gz"
	cat "$XV_INITRD" "$T/$name.ov.cpio.gz" >"$T/$name.initrd"
}

# vm_start NAME [options]: boot a guest in the background.
#   --net SOCK[,server][,queues=N]  a virtio-net NIC on vhost-user socket SOCK
#                   (repeatable: eth0, eth1, ...). Without "server" QEMU
#                   connects to the backend's socket (it must exist); with
#                   it QEMU creates SOCK and the backend connects (client mode).
#   --ip A/L[,B/L]  guest addresses for eth0, eth1, ...
#   --mq N          guest driver queue pairs (ethtool -L)
#   --script FILE   run FILE in the guest instead of the command agent
#   --timeout S     guest watchdog (default 240); QEMU is killed 30 s later
#   --arg K=V       extra xvio.K=V on the kernel command line
# Console: $T/NAME.console. QEMU's PID: $T/NAME.pid.
vm_start() {
	local name=$1 nets=() ip='' mq=1 script='' tmo=240 extra=() i=0 n a qargs pid
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--net) nets+=("$2"); shift ;;
		--ip) ip=$2; shift ;;
		--mq) mq=$2; shift ;;
		--script) script=$2; shift ;;
		--timeout) tmo=$2; shift ;;
		--arg) extra+=("xvio.$2"); shift ;;
		*) echo "vm_start: unknown option $1" >&2; return 2 ;;
		esac
		shift
	done
	vm_initrd "$name" "$script"
	# A restarted guest keeps its name (and MAC); keep the old console.
	[ -f "$T/$name.console" ] && mv -f "$T/$name.console" "$T/$name.console.prev"
	rm -f "$T/$name.pid" "$T/$name.ctl.in" "$T/$name.ctl.out"
	mkfifo "$T/$name.ctl.in" "$T/$name.ctl.out"
	qargs=(-name "$name" -accel tcg -m 256M -smp 1
		-object memory-backend-memfd,id=mem,size=256M,share=on
		-machine pc,memory-backend=mem
		-nodefaults -no-user-config -display none -no-reboot
		-kernel "$XV_KERNEL" -initrd "$T/$name.initrd"
		-serial "file:$T/$name.console" -serial "pipe:$T/$name.ctl"
		-pidfile "$T/$name.pid")
	for n in "${nets[@]}"; do
		local sock=${n%%,*} opts server=0 q=1
		opts=",${n#"$sock"},"
		case "$opts" in *,server,*) server=1 ;; esac
		case "$opts" in *,queues=*) q=${opts#*,queues=}; q=${q%%,*} ;; esac
		if [ $server = 1 ]; then
			qargs+=(-chardev "socket,id=c$i,path=$sock,server=on,wait=off")
		else
			qargs+=(-chardev "socket,id=c$i,path=$sock")
		fi
		if [ "$q" -gt 1 ]; then
			qargs+=(-netdev "vhost-user,id=n$i,chardev=c$i,queues=$q"
				-device "virtio-net-pci,netdev=n$i,mac=$(vm_mac "$name" $i),mq=on,vectors=0")
		else
			qargs+=(-netdev "vhost-user,id=n$i,chardev=c$i"
				-device "virtio-net-pci,netdev=n$i,mac=$(vm_mac "$name" $i),vectors=0")
		fi
		i=$((i + 1))
	done
	a="console=ttyS0 quiet loglevel=1 panic=-1 xvio.name=$name xvio.timeout=$tmo xvio.mq=$mq"
	[ -n "$ip" ] && a+=" xvio.ip=$ip"
	[ ${#extra[@]} -gt 0 ] && a+=" ${extra[*]}"
	qargs+=(-append "$a")
	echo "qemu-system-x86_64 ${qargs[*]}" >"$T/$name.cmd"
	taskset -c "$XV_VM_QEMU_CPUS" timeout -k 5 $((tmo + 30)) \
		qemu-system-x86_64 "${qargs[@]}" >"$T/$name.qemu.log" 2>&1 &
	pid=$!
	# No "Killed" job notices when a test kills QEMU on purpose.
	disown "$pid" 2>/dev/null
	xv_track "$pid" qemu
	eval "XV_VM_WRAPPER_$name=$pid"
	# Record QEMU's own PID (the child of timeout) as well.
	if xv_wait_until 20 test -s "$T/$name.pid"; then
		xv_track "$(cat "$T/$name.pid")" qemu
	fi
	xv_log "vm $name started: wrapper $pid qemu $(cat "$T/$name.pid" 2>/dev/null)"
	kill -0 "$pid" 2>/dev/null
}

# vm_pid NAME: QEMU's PID (empty when it never started).
vm_pid() {
	cat "$T/$1.pid" 2>/dev/null
}

# vm_alive NAME
vm_alive() {
	local p
	p=$(vm_pid "$1")
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

# vm_console NAME: the console log without carriage returns.
vm_console() {
	tr -d '\r' <"$T/$1.console" 2>/dev/null
}

# vm_wait_agent NAME [TIMEOUT_S]: wait until the guest's agent is ready.
vm_wait_agent() {
	local name=$1 limit=${2:-90} end
	end=$(($(date +%s) + limit))
	while :; do
		grep -aq '^XVIO-AGENT: ready' "$T/$name.console" 2>/dev/null && return 0
		if ! vm_alive "$name" && [ -s "$T/$name.pid" ]; then
			echo "guest $name died while booting"
			tail -n 15 "$T/$name.console" "$T/$name.qemu.log" 2>/dev/null
			return 1
		fi
		if [ "$(date +%s)" -ge "$end" ]; then
			echo "guest $name not ready after ${limit}s"
			tail -n 15 "$T/$name.console" "$T/$name.qemu.log" 2>/dev/null
			return 1
		fi
		sleep 0.2
	done
}

# vm_exec NAME CMD [TIMEOUT_S]: run CMD (sh -c) in the guest's agent; prints
# its output, returns its exit status (124 when no answer in time, 125 when
# the guest is gone).
vm_exec() {
	local name=$1 cmd=$2 limit=${3:-60} id end
	id="$BASHPID.$RANDOM$RANDOM"
	vm_alive "$name" || { echo "guest $name is not running"; return 125; }
	# The agent reads lines: one command per line.
	cmd=${cmd//$'\n'/; }
	if ! timeout 10 bash -c 'printf "%s %s\n" "$1" "$2" >"$3"' _ "$id" "$cmd" "$T/$name.ctl.in"; then
		echo "cannot write to guest $name's control port"
		return 125
	fi
	xv_log "exec $name [$id]: $cmd"
	end=$(($(date +%s) + limit))
	while ! grep -aq "^XVIO-DONE: $id rc=" "$T/$name.console" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$end" ]; then
			vm_console "$name" | sed -n "s/^XVIO-O $id: //p"
			echo "(no answer from guest $name within ${limit}s)"
			return 124
		fi
		vm_alive "$name" || { echo "guest $name went away"; return 125; }
		sleep 0.2
	done
	vm_console "$name" | sed -n "s/^XVIO-O $id: //p"
	return "$(vm_console "$name" | sed -n "s/^XVIO-DONE: $id rc=//p" | head -1)"
}

# vm_serve_blob NAME MB: MB MiB of random bytes in the guest's /www/blob,
# served by busybox httpd on port 80 (started unless it runs); prints the
# file's md5.
vm_serve_blob() {
	vm_exec "$1" "dd if=/dev/urandom of=/www/blob bs=1048576 count=$2 2>/dev/null && { pidof httpd >/dev/null || httpd -p 80 -h /www; }" >/dev/null
	vm_exec "$1" 'md5sum /www/blob' | cut -d' ' -f1
}

# vm_out NAME KEY: the last value the guest reported with xv_out KEY.
vm_out() {
	vm_console "$1" | sed -n "s/^XVIO-OUT: $2=//p" | tail -1
}

# vm_wait_exit NAME [TIMEOUT_S]: wait until QEMU has exited; then succeed
# when the guest printed "XVIO-RESULT: ok".
vm_wait_exit() {
	local name=$1 limit=${2:-120} wrapper
	wrapper=$(eval echo "\${XV_VM_WRAPPER_$name:-}")
	if ! xv_wait_until "$limit" bash -c '! kill -0 "$1" 2>/dev/null' _ "$wrapper"; then
		echo "guest $name still running after ${limit}s"
		return 1
	fi
	vm_result "$name"
}

# vm_result NAME: succeed when the guest printed "XVIO-RESULT: ok".
vm_result() {
	vm_console "$1" | grep -q '^XVIO-RESULT: ok' && return 0
	echo "guest $1: $(vm_console "$1" | grep '^XVIO-RESULT' | tail -1)"
	tail -n 20 "$T/$1.console"
	return 1
}

# vm_stop NAME: ask the agent to power off, wait for QEMU to exit (bounded),
# else kill it.
vm_stop() {
	local name=$1 wrapper
	wrapper=$(eval echo "\${XV_VM_WRAPPER_$name:-}")
	if vm_alive "$name"; then
		timeout 5 bash -c 'printf "stop poweroff\n" >"$1"' _ "$T/$name.ctl.in" 2>/dev/null
		xv_wait_until 20 bash -c '! kill -0 "$1" 2>/dev/null' _ "$(vm_pid "$name")" ||
			xv_stop_pid "$(vm_pid "$name")" TERM 3
	fi
	[ -n "$wrapper" ] && xv_stop_pid "$wrapper" TERM 3
	return 0
}

# vm_kill NAME: kill QEMU hard (SIGKILL), as a crash would.
vm_kill() {
	local p
	p=$(vm_pid "$1")
	[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
	xv_wait_until 10 bash -c '! kill -0 "$1" 2>/dev/null' _ "$p"
}

# xv_finish GUEST...: the end of a test: stop the guests, check that each
# powered off cleanly and that the backend still runs, then tap_end.
xv_finish() {
	local g
	for g in "$@"; do
		vm_stop "$g"
	done
	for g in "$@"; do
		tap_check "guest $g powered off cleanly" vm_result "$g"
	done
	tap_check "the backend is still running" xv_backend_alive
	tap_end
}

# ---------------------------------------------------------------- netns

# xv_netns_add NS: a network namespace removed at cleanup.
xv_netns_add() {
	ip netns add "$1" || return 1
	echo "$1" >>"$T/netns"
	ip -n "$1" link set lo up
}
