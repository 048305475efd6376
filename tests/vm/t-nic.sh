#!/usr/bin/env bash
# xvio-test-timeout: 210
# VM tier: a QEMU guest relayed to a NIC port whose far side is a real Linux
# network namespace.
#
#   guest a --vhost-user--> port vm1 <-relay-> port nic0 (net_af_packet on veth xvhPID)
#                                                   |
#                                   veth xvnPID in netns xvnsPID (198.18.0.2)
#
# Checks: the guest and the namespace ping each other; a 4 MiB file goes
# each way over TCP (busybox httpd + wget on both sides) with the same md5;
# the NIC port's counters saw the traffic. TAP output. Run as root.
. "$(dirname "$0")/lib.sh"
xv_init t-nic 150

MB=4
NS=xvns$$
VH=xvh$$
VN=xvn$$
command -v ethtool >/dev/null || tap_skip_all "ethtool not installed (needed to turn veth offloads off)"

# The namespace and its veth. Offloads off on both ends: af_packet would
# otherwise hand on TCP segments with partial checksums or larger than a
# frame (TSO/GSO), which a real NIC never delivers.
xv_netns_add "$NS" || tap_skip_all "cannot create a network namespace"
ip link add "$VH" type veth peer name "$VN" netns "$NS"
echo 1 >"/proc/sys/net/ipv6/conf/$VH/disable_ipv6" 2>/dev/null
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ethtool -K "$VH" tx off tso off gso off gro off >/dev/null 2>&1
ip netns exec "$NS" ethtool -K "$VN" tx off tso off gso off gro off >/dev/null 2>&1
ip link set "$VH" up
ip -n "$NS" addr add 198.18.0.2/24 dev "$VN"
ip -n "$NS" link set "$VN" up
# The veth disappears with the namespace; delete the host end explicitly too.
del_veth() { ip link del "$VH" 2>/dev/null; }
XV_CLEANUP_HOOK=del_veth

xv_backend_start
xv_port_add vm1 vhost "$T/vm1.sock" || tap_not_ok "port add vm1"
xv_port_add nic0 eth "net_af_packet0,iface=$VH" || tap_not_ok "port add nic0 (af_packet on $VH)"
xv_relay_add vm1 nic0 || tap_not_ok "relay add vm1 nic0"

vm_start a --net "$T/vm1.sock" --ip 198.18.0.1/24
tap_check "guest a boots" vm_wait_agent a
if [ "$XV_BACKEND" = xvio ]; then
	tap_check "port vm1 is connected" xv_wait_port_state vm1 connected 30
	tap_check "port nic0 is up" xv_wait_port_state nic0 up 10
fi

tap_check "guest pings the namespace" vm_exec a 'ping -c 3 -W 5 198.18.0.2 || { sleep 1; ping -c 3 -W 5 198.18.0.2; }'
tap_check "namespace pings the guest" ip netns exec "$NS" /bin/busybox ping -c 3 -W 5 198.18.0.1

# Namespace -> guest: busybox httpd in the namespace, wget in the guest.
mkdir -p "$T/www"
dd if=/dev/urandom of="$T/www/blob" bs=1048576 count=$MB 2>/dev/null
src_ns=$(md5sum "$T/www/blob" | cut -d' ' -f1)
ip netns exec "$NS" /bin/busybox httpd -f -p 80 -h "$T/www" &
xv_track $! other
sleep 0.5
out=$(vm_exec a 'timeout 90 wget -q -O /tmp/got http://198.18.0.2/blob && md5sum /tmp/got' 120)
got=$(echo "$out" | awk '/\/tmp\/got/{print $1}')
if [ "$got" = "$src_ns" ]; then
	tap_ok "TCP: $MB MiB namespace -> guest, md5 equal ($src_ns)"
else
	tap_not_ok "TCP: $MB MiB namespace -> guest, md5 equal (sent '$src_ns', got '$got')"
	tap_diag "$out"
fi

# Guest -> namespace: httpd in the guest, wget in the namespace.
src_vm=$(vm_serve_blob a $MB)
ip netns exec "$NS" timeout 90 /bin/busybox wget -q -O "$T/got" http://198.18.0.1/blob >"$T/wget.log" 2>&1
got=$(md5sum "$T/got" 2>/dev/null | cut -d' ' -f1)
if [ -n "$src_vm" ] && [ "$got" = "$src_vm" ]; then
	tap_ok "TCP: $MB MiB guest -> namespace, md5 equal ($src_vm)"
else
	tap_not_ok "TCP: $MB MiB guest -> namespace, md5 equal (sent '$src_vm', got '$got')"
	tap_diag "$(cat "$T/wget.log")"
fi

if [ "$XV_BACKEND" = xvio ]; then
	rx=$(xv_stat nic0 .rx.packets)
	tx=$(xv_stat nic0 .tx.packets)
	if [ "${rx:-0}" -gt 2000 ] && [ "${tx:-0}" -gt 2000 ]; then
		tap_ok "xvio counted the NIC traffic (nic0 rx $rx tx $tx)"
	else
		tap_not_ok "xvio counted the NIC traffic (nic0 rx '$rx' tx '$tx')"
	fi
fi

vm_stop a
tap_check "guest powered off cleanly" vm_result a
tap_check "the backend is still running" xv_backend_alive
tap_end
