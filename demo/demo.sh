#!/usr/bin/env bash
# xvio demo ("make demo"): two tiny virtual machines talk to each other
# through xvio.
#
#   demo/demo.sh           run as root from the repository top, after "make build"
#   XV_DEMO_STEP=1 demo/demo.sh    wait for Enter between the steps
#
# What happens (each step is explained on the terminal as it runs):
#   1. build (or reuse) the tiny guest image: busybox + the virtio-net driver;
#   2. start xvio with a private control socket;
#   3. create two vhost-user ports (vm1, vm2) and a relay between them;
#   4. boot two QEMU guests, one on each port;
#   5. ping from one guest to the other, then copy a file over TCP and
#      compare its md5 on both ends;
#   6. show "xvioctl port list" and "xvioctl stats";
#   7. power the guests off and stop xvio. Nothing is left behind.
# Everything lives in a private temporary directory; the guests' traffic
# stays on the two vhost-user links (addresses 198.18.0.1 and .2, a range
# reserved for benchmarking).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/vm/lib.sh"
XV_TEST_NAME=demo
XV_T0=$(date +%s)

if [ -t 1 ]; then
	B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
else
	B='' D='' G='' R='' N=''
fi
step_no=0
# step TITLE TEXT...: a numbered heading and a short explanation.
step() {
	step_no=$((step_no + 1))
	if [ "${XV_DEMO_STEP:-0}" = 1 ] && [ $step_no -gt 1 ]; then
		read -r -p "${D}(press Enter for the next step)${N}" _ </dev/tty
	fi
	echo
	echo "${B}== $step_no. $1${N}"
	shift
	local l
	for l in "$@"; do
		echo "   $l"
	done
}
# show CMD...: print a command the way a user would type it (on fd 3, the
# terminal, even when the command's own output is filtered), then run it.
exec 3>&1
show() {
	echo "${D}\$ $*${N}" | sed "s#$T/ctl.sock#\$CTL#g; s#$XV_XVIOCTL#xvioctl#g; s#$T/#\$DIR/#g" >&3
	"$@"
}
# in_guest NAME CMD: run CMD in a guest and show it as a prompt and output.
in_guest() {
	echo "${D}[$1]\$ $2${N}"
	vm_exec "$1" "$2" "${3:-60}" | sed 's/^/   /'
	return "${PIPESTATUS[0]}"
}
fail() {
	echo "${R}demo failed: $*${N}" >&2
	[ -n "${T:-}" ] && echo "logs: $T (kept)" >&2
	XV_DEMO_KEEP=1
	exit 1
}
demo_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		xv_stop_all
		[ "${XV_DEMO_KEEP:-0}" = 1 ] || rm -rf "$T"
	fi
	exit $rc
}

[ "$(id -u)" -eq 0 ] || fail "run me as root (the guests use vhost-user sockets and shared memory)"
[ -x "$XV_XVIO" ] && [ -x "$XV_XVIOCTL" ] || fail "no build/xvio or build/xvioctl: run 'make build' first"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing: run 'make deps-run'"
XV_BACKEND=xvio

cat <<EOF
${B}xvio demo${N}
xvio is a relay daemon: it owns "ports" (vhost-user sockets that virtual
machines plug their virtio-net NIC into, or DPDK network devices) and
forwards every packet that arrives on one port of a relay to the other.
Here two small VMs (Linux + busybox, emulated by QEMU) are plugged into
xvio and talk to each other through it:

   VM a (198.18.0.1) --vhost-user--> [ xvio: port vm1 <-relay-> port vm2 ] <--vhost-user-- VM b (198.18.0.2)
EOF

T=$(mktemp -d /tmp/xvio-demo.XXXXXX)
: >"$T/pids"
: >"$T/netns"
trap demo_cleanup EXIT
trap 'echo; echo "interrupted: cleaning up"; exit 130' INT TERM

step "Guest image" \
	"The guests boot the Debian cloud kernel with a 3 MB initramfs (busybox," \
	"the virtio-net driver and a small agent that runs the commands this demo" \
	"sends it over a serial port). It is built once and cached."
"$top/tests/vm/build-guest.sh" -q >/dev/null || fail "could not build the guest image"
. "$top/tests/vm/cache/guest.env"
echo "   kernel $XV_KERNEL"
echo "   initrd $XV_INITRD"

step "Start xvio" \
	"Its control socket (\$CTL) lives in a private directory (\$DIR); the packet" \
	"worker busy-polls CPU 1 (--lcores 1), the control thread runs on CPU 0." \
	"xvio runs in the foreground and logs to \$DIR/xvio.log."
echo "${D}\$ build/xvio --ctl \$CTL --lcores 1 --main-lcore 0 &${N}"
"$XV_XVIO" --ctl "$T/ctl.sock" --lcores 1 --main-lcore 0 >"$T/xvio.log" 2>&1 &
xv_track $! backend
xv_wait_until 30 xvctl status || { tail -n 20 "$T/xvio.log"; fail "xvio did not start"; }
show "$XV_XVIOCTL" --ctl "$T/ctl.sock" version | sed 's/^/   /'

step "Ports and a relay" \
	"vm1: xvio creates a vhost-user socket and waits for QEMU to connect (server mode)." \
	"vm2: QEMU creates the socket and xvio connects to it, and would reconnect" \
	"     if QEMU restarted (client mode, --client)." \
	"The relay forwards vm1 <-> vm2. No guest is running yet, so the ports are" \
	"waiting/connecting and their link is down."
show "$XV_XVIOCTL" --ctl "$T/ctl.sock" port add vm1 vhost "$T/vm1.sock" >/dev/null || fail "port add vm1"
show "$XV_XVIOCTL" --ctl "$T/ctl.sock" port add vm2 vhost "$T/vm2.sock" --client >/dev/null || fail "port add vm2"
show "$XV_XVIOCTL" --ctl "$T/ctl.sock" relay add vm1 vm2 || fail "relay add"
show "$XV_XVIOCTL" --ctl "$T/ctl.sock" port list | sed 's/^/   /'

step "Boot two guests" \
	"QEMU emulates the CPU in software here (no KVM), so a boot takes a few seconds." \
	"Guest memory is a shared memfd: xvio reads and writes the guests' virtio" \
	"rings and packet buffers directly, no copy through the kernel."
echo "${D}\$ qemu-system-x86_64 -m 256M -object memory-backend-memfd,...,share=on \\"
echo "      -chardev socket,id=c0,path=\$DIR/vm1.sock -netdev vhost-user,id=n0,chardev=c0 \\"
echo "      -device virtio-net-pci,netdev=n0,vectors=0 ...      (guest a; guest b: server=on)${N}"
vm_start a --net "$T/vm1.sock" --ip 198.18.0.1/24 --timeout 300 || fail "QEMU for guest a did not start"
vm_start b --net "$T/vm2.sock,server" --ip 198.18.0.2/24 --timeout 300 || fail "QEMU for guest b did not start"
t0=$(date +%s)
vm_wait_agent a 120 >/dev/null || fail "guest a did not boot (console: $T/a.console)"
vm_wait_agent b 120 >/dev/null || fail "guest b did not boot (console: $T/b.console)"
echo "   both guests are up after $(($(date +%s) - t0)) s"
xv_wait_port_state vm1 connected 30 >/dev/null
xv_wait_port_state vm2 connected 30 >/dev/null
echo "   The guests' drivers are now connected: the ports are up."
show "$XV_XVIOCTL" --ctl "$T/ctl.sock" port list | sed 's/^/   /'

step "Ping" \
	"Guest a pings guest b. Every packet crosses xvio twice (request and reply)."
in_guest a 'ping -c 4 198.18.0.2' || in_guest a 'ping -c 4 198.18.0.2' || fail "ping failed"

MB=8
step "TCP transfer" \
	"Guest b serves an $MB MiB file of random bytes with busybox httpd; guest a" \
	"downloads it with wget. The md5 on both ends must be the same."
in_guest b "dd if=/dev/urandom of=/www/blob bs=1048576 count=$MB 2>/dev/null; httpd -p 80 -h /www; md5sum /www/blob" ||
	fail "could not start the web server in guest b"
src=$(vm_exec b 'md5sum /www/blob' | cut -d' ' -f1)
s0=$(date +%s.%N)
in_guest a 'timeout 120 wget -q -O /tmp/blob http://198.18.0.2/blob && md5sum /tmp/blob' 150 || fail "download failed"
s1=$(date +%s.%N)
got=$(vm_exec a 'md5sum /tmp/blob' | cut -d' ' -f1)
if [ -n "$src" ] && [ "$got" = "$src" ]; then
	echo "   ${G}md5 matches${N}: $MB MiB arrived intact in $(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.1f", b - a}') s"
	echo "   ${D}(the guests' CPUs are emulated, so this measures QEMU, not xvio)${N}"
else
	fail "md5 differs: sent $src, got $got"
fi

step "What xvio saw" \
	"port list: both ports connected, with the queues the guests use." \
	"stats: packets and bytes per port (rx = taken from the port, tx = handed to" \
	"it), per queue, drops by reason, and how busy the worker was."
show "$XV_XVIOCTL" --ctl "$T/ctl.sock" port list | sed 's/^/   /'
echo
show "$XV_XVIOCTL" --ctl "$T/ctl.sock" stats | awk '
	# Hide the idle queues (xvio offers 8 queue pairs, the guests use 1).
	/^PORT +QUEUE/ { inq = 1; print; next }
	inq && NF == 0 { inq = 0 }
	inq && $3 == 0 && $5 == 0 { next }
	{ print }' | sed 's/^/   /'

step "Clean up" \
	"The guests power off; xvio stops on SIGINT and removes its sockets."
vm_stop a
vm_stop b
echo "   guests powered off"
xv_stop_all
echo "   xvio stopped"
echo
echo "${B}Done.${N} Try it by hand: build/xvio --help, build/xvioctl --help, and"
echo "tests/vm/ for how the guests are built and driven."
