#!/usr/bin/env bash
# xvio-test-timeout: 240
# VM tier: two QEMU guests joined by an xvio relay (vm1 <-> vm2).
#
#   guest a --(vhost-user, xvio is the server)--> port vm1 \
#                                                           relay
#   guest b <--(vhost-user, QEMU is the server)-- port vm2 /  (xvio in client mode)
#
# Checks: both ports reach "connected"; a pings b and b pings a; a 4 MiB
# file goes each way over TCP (busybox httpd + wget) with the same md5 on
# both ends; xvio's counters saw the traffic; the guests power off cleanly.
# TAP output. Run as root from anywhere: tests/vm/t-relay.sh
. "$(dirname "$0")/lib.sh"
xv_init t-relay 180

MB=4
xv_backend_start
xv_port_add vm1 vhost "$T/vm1.sock" || tap_not_ok "port add vm1"
xv_port_add vm2 vhost "$T/vm2.sock" --client || tap_not_ok "port add vm2 (client mode)"
xv_relay_add vm1 vm2 || tap_not_ok "relay add vm1 vm2"

vm_start a --net "$T/vm1.sock" --ip 198.18.0.1/24
vm_start b --net "$T/vm2.sock,server" --ip 198.18.0.2/24
tap_check "guest a (QEMU client of xvio's socket) boots" vm_wait_agent a
tap_check "guest b (QEMU server, xvio connects) boots" vm_wait_agent b
if [ "$XV_BACKEND" = xvio ]; then
	tap_check "port vm1 (server mode) is connected" xv_wait_port_state vm1 connected 30
	tap_check "port vm2 (client mode) is connected" xv_wait_port_state vm2 connected 30
fi

tap_check "a pings b through the relay" vm_exec a 'ping -c 3 -W 5 198.18.0.2 || { sleep 1; ping -c 3 -W 5 198.18.0.2; }'
tap_check "b pings a through the relay" vm_exec b 'ping -c 3 -W 5 198.18.0.1'

# A file of random bytes in each guest, served by busybox httpd.
src_a=$(vm_serve_blob a $MB)
src_b=$(vm_serve_blob b $MB)

# download FROM TO FROM_IP SRC_MD5: guest TO fetches FROM's blob; its md5
# must be SRC_MD5. wget -T segfaults in this busybox: bound the download
# with timeout instead.
download() {
	local out got
	out=$(vm_exec "$2" "timeout 90 wget -q -O /tmp/got http://$3/blob && md5sum /tmp/got" 120)
	got=$(echo "$out" | awk '/\/tmp\/got/{print $1}')
	if [ -n "$4" ] && [ "$got" = "$4" ]; then
		tap_ok "TCP: $MB MiB $1 -> $2, md5 equal on both ends ($4)"
	else
		tap_not_ok "TCP: $MB MiB $1 -> $2, md5 equal on both ends (sent '$4', got '$got')"
		tap_diag "$out"
	fi
}
download a b 198.18.0.1 "$src_a"
download b a 198.18.0.2 "$src_b"

if [ "$XV_BACKEND" = xvio ]; then
	# Each 4 MiB download is about 2900 full-size segments.
	rx1=$(xv_stat vm1 .rx.packets)
	tx1=$(xv_stat vm1 .tx.packets)
	rx2=$(xv_stat vm2 .rx.packets)
	tx2=$(xv_stat vm2 .tx.packets)
	if [ "${rx1:-0}" -gt 2000 ] && [ "${tx1:-0}" -gt 2000 ] && [ "${rx2:-0}" -gt 2000 ] && [ "${tx2:-0}" -gt 2000 ]; then
		tap_ok "xvio counted the traffic (vm1 rx $rx1 tx $tx1, vm2 rx $rx2 tx $tx2)"
	else
		tap_not_ok "xvio counted the traffic (vm1 rx '$rx1' tx '$tx1', vm2 rx '$rx2' tx '$tx2')"
	fi
	tap_diag "drops: $(xvctl --json stats 2>/dev/null | jq -c '(.result // .) | .drops' 2>/dev/null)"
fi

xv_finish a b
