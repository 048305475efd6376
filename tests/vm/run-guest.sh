#!/usr/bin/env bash
# Boot one xvio test guest by hand, run a script in it, and return its result.
#
#   tests/vm/run-guest.sh [options] SCRIPT
#     --net SOCK[,server][,queues=N]  a virtio-net NIC on vhost-user socket SOCK
#                     (repeatable). Without "server" QEMU connects to SOCK (the
#                     backend's server socket must exist); with it QEMU creates
#                     SOCK and the backend connects (backend in client mode).
#     --ip A/L[,B/L]  guest addresses for eth0, eth1, ...
#     --mq N          guest queue pairs (with --net ...,queues=N)
#     --timeout S     guest watchdog (default 120)
#     --keep          keep the private directory (console log, QEMU command)
#
# SCRIPT runs inside the guest (busybox sh, helpers of guest/xvio-guest.sh
# loaded: xv_out, xv_wait_ping, xv_mkfile, xv_md5). The guest prints its
# console (minus kernel noise) here, powers off, and this script exits 0
# when the guest reported "XVIO-RESULT: ok", 1 otherwise.
#
# Example (with a backend listening on /tmp/vm1.sock):
#   echo 'xv_wait_ping 198.18.0.2 && xv_out ping ok' >/tmp/t.sh
#   tests/vm/run-guest.sh --net /tmp/vm1.sock --ip 198.18.0.1/24 /tmp/t.sh
set -u
. "$(dirname "$0")/lib.sh"

args=()
tmo=120
while [ $# -gt 1 ]; do
	case "$1" in
	--net|--ip|--mq) args+=("$1" "$2"); shift ;;
	--timeout) tmo=$2; shift ;;
	--keep) export XV_VM_KEEP=1 ;;
	-h|--help) sed -n '2,23p' "$0"; exit 0 ;;
	*) echo "run-guest.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ $# -eq 1 ] && [ -r "$1" ] || { sed -n '2,23p' "$0"; exit 2; }
script=$1

export XV_VM_BACKEND=none   # no relay is started here
xv_init run-guest $((tmo + 60)) >/dev/null
vm_start g "${args[@]}" --script "$script" --timeout "$tmo" || { echo "run-guest: QEMU did not start" >&2; cat "$T/g.qemu.log" >&2; exit 1; }
vm_wait_exit g $((tmo + 40)) >/dev/null
rc=$?
vm_console g | grep -av '^\[ *[0-9.]*\]'
[ $rc -eq 0 ] || XV_TAP_FAILED=1
exit $rc
