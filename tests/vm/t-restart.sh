#!/usr/bin/env bash
# xvio-test-timeout: 300
# VM tier: QEMU killed and restarted under a running relay.
#
#   guest a --> port vm1 (server mode: xvio owns the socket, QEMU connects)
#   guest b <-- port vm2 (client mode: QEMU owns the socket, xvio connects
#                         and reconnects)
#
# 1. both guests up, a pings b;
# 2. a's QEMU is killed (SIGKILL): xvio notices (vm1 leaves "connected"),
#    b's port stays connected and b keeps running; what b sends toward a is
#    counted as link_down drops on vm1; a new QEMU on the same
#    socket comes back: vm1 is connected again, a and b ping each other;
# 3. the same for b (the client-mode port: xvio reconnects to the new QEMU's
#    socket), while a is left alone; then a small TCP transfer both ways.
# TAP output. Run as root.
. "$(dirname "$0")/lib.sh"
xv_init t-restart 240

xv_backend_start
xv_port_add vm1 vhost "$T/vm1.sock" || tap_not_ok "port add vm1"
xv_port_add vm2 vhost "$T/vm2.sock" --client || tap_not_ok "port add vm2 (client mode)"
xv_relay_add vm1 vm2 || tap_not_ok "relay add vm1 vm2"

start_a() { vm_start a --net "$T/vm1.sock" --ip 198.18.0.1/24; }
start_b() { vm_start b --net "$T/vm2.sock,server" --ip 198.18.0.2/24; }
ping_ab() {
	vm_exec a 'ping -c 2 -W 5 198.18.0.2 || { sleep 1; ping -c 3 -W 5 198.18.0.2; }' &&
		vm_exec b 'ping -c 2 -W 5 198.18.0.1'
}
# transfer FROM TO TO_IP: 1 MiB over TCP from guest FROM to guest TO.
transfer() {
	local src got
	src=$(vm_serve_blob "$1" 1)
	got=$(vm_exec "$2" "timeout 60 wget -q -O /tmp/got http://$3/blob && md5sum /tmp/got" 90 | awk '/\/tmp\/got/{print $1}')
	[ -n "$src" ] && [ "$src" = "$got" ] || { echo "sent '$src', got '$got'"; return 1; }
}
xvio=0
[ "$XV_BACKEND" = xvio ] && xvio=1
# kill_one GUEST PORT STATE OTHER OTHER_PORT: SIGKILL GUEST's QEMU; xvio's
# PORT leaves "connected" for STATE, OTHER_PORT stays connected and guest
# OTHER runs on in the same QEMU.
kill_one() {
	local g=$1 port=$2 state=$3 other=$4 oport=$5 pid opid
	pid=$(vm_pid "$g")
	opid=$(vm_pid "$other")
	vm_kill "$g"
	tap_check "QEMU of guest $g killed (SIGKILL)" bash -c "! kill -0 $pid 2>/dev/null"
	if [ $xvio = 1 ]; then
		tap_check "xvio notices: $port leaves 'connected' ($state)" xv_wait_port_state "$port" "$state" 20
		tap_check "$oport stays connected" xv_wait_port_state "$oport" connected 1
		xv_log "after the kill: $(xvctl port list 2>&1)"
	else
		tap_skip "xvio notices: $port leaves 'connected'" "testpmd stand-in has no port state"
	fi
	tap_check "guest $other still runs (same QEMU)" test "$(vm_pid "$other")" = "$opid" -a -d "/proc/$opid"
}

start_a
start_b
tap_check "guest a boots" vm_wait_agent a
tap_check "guest b boots" vm_wait_agent b
tap_check "a and b ping each other" ping_ab

# --- kill and restart a (server-mode port vm1) ---------------------------
kill_one a vm1 waiting b vm2
tap_check "b still answers its agent" vm_exec b 'true'
# While a is away, what b sends toward it (ARP requests, pings) cannot be
# delivered: xvio drops it and charges the drop to vm1 as link_down.
d0=0
[ $xvio = 1 ] && d0=$(xv_stat vm1 '.drops.link_down // 0')
tap_check "b cannot reach a while a is down" xv_not vm_exec b 'ping -c 2 -W 1 198.18.0.1'
if [ $xvio = 1 ]; then
	tap_grew "xvio counts them as link_down drops on vm1" "$d0" "$(xv_stat vm1 '.drops.link_down // 0')" ||
		tap_diag "$(xvctl --json stats vm1 2>&1 | jq -c '(.result // .) | .ports[0].drops' 2>&1)"
fi

start_a
tap_check "a new QEMU for guest a boots on the same socket" vm_wait_agent a
[ $xvio = 1 ] && tap_check "vm1 is connected again" xv_wait_port_state vm1 connected 30
tap_check "a and b ping each other after a's restart" ping_ab

# --- kill and restart b (client-mode port vm2: xvio reconnects) ----------
kill_one b vm2 connecting a vm1

start_b
tap_check "a new QEMU for guest b boots, serving the same socket" vm_wait_agent b
[ $xvio = 1 ] && tap_check "xvio reconnects: vm2 is connected again" xv_wait_port_state vm2 connected 30
tap_check "a and b ping each other after b's restart" ping_ab
tap_check "TCP a -> b after both restarts (1 MiB, md5 equal)" transfer a b 198.18.0.1
tap_check "TCP b -> a after both restarts (1 MiB, md5 equal)" transfer b a 198.18.0.2

xv_finish a b
