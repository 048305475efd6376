#!/usr/bin/env bash
# xvio-test-timeout: 300
# VM tier: two QEMU guests on an xvio network with port security and
# security groups (doc/network.md).
#
#   guest a -- port vm1 (198.18.0.1, group "lan") \
#                                                  network n1
#   guest b -- port vm2 (198.18.0.2, group "lan") /
#
# Group "lan" allows ingress from its own members (remote group) and all
# egress. Checks: ping both ways and a 2 MiB HTTP transfer (md5 equal);
# conntrack shows the connections; after the remote-group rule is replaced
# by "tcp 80 only", ping fails (counted as sg_ingress) while HTTP still
# works; a source address the port does not own and a changed MAC are
# dropped and counted (spoofed_ip, spoofed_mac); port security off lets the
# changed MAC through.
. "$(dirname "$0")/lib.sh"
xv_init t-network 240

[ "$XV_BACKEND" = xvio ] || { tap_skip_all "network mode is xvio's own (backend: $XV_BACKEND)"; }

MB=2
MAC_A=$(vm_mac a 0)
MAC_B=$(vm_mac b 0)
xv_backend_start
step() { # step DESC xvioctl-args...: run, record a failure
	local d=$1
	shift
	xvctl "$@" >>"$T/xvioctl.log" 2>&1 && return 0
	tap_not_ok "$d"
	tap_diag "xvioctl $* failed: $(tail -n 1 "$T/xvioctl.log")"
	return 1
}
step "network add n1" network add n1
step "sg add lan" sg add lan
lan_rule=$(xvctl --json sg rule add lan ingress --remote-group lan 2>>"$T/xvioctl.log" | jq -r '(.result // .) | .ids[0] // .id // empty')
[ -n "$lan_rule" ] || tap_not_ok "sg rule add lan ingress --remote-group lan"
step "port add vm1" port add vm1 vhost "$T/vm1.sock" --network n1 --mac "$MAC_A" --ip 198.18.0.1 --sg lan
step "port add vm2" port add vm2 vhost "$T/vm2.sock" --network n1 --mac "$MAC_B" --ip 198.18.0.2 --sg lan

vm_start a --net "$T/vm1.sock" --ip 198.18.0.1/24
vm_start b --net "$T/vm2.sock" --ip 198.18.0.2/24
tap_check "guest a boots" vm_wait_agent a
tap_check "guest b boots" vm_wait_agent b
tap_check "port vm1 is connected" xv_wait_port_state vm1 connected 30
tap_check "port vm2 is connected" xv_wait_port_state vm2 connected 30

tap_check "a pings b (ARP, then ICMP allowed by the remote-group rule)" \
	vm_exec a 'ping -c 3 -W 5 198.18.0.2 || { sleep 1; ping -c 3 -W 5 198.18.0.2; }'
tap_check "b pings a" vm_exec b 'ping -c 3 -W 5 198.18.0.1'

src_b=$(vm_serve_blob b $MB)
http_get() { # the md5 of b's blob fetched by a, or empty
	vm_exec a 'timeout 90 wget -q -O /tmp/got http://198.18.0.2/blob && md5sum /tmp/got' 120 |
		awk '/\/tmp\/got/{print $1}'
}
got=$(http_get)
if [ -n "$src_b" ] && [ "$got" = "$src_b" ]; then
	tap_ok "TCP: $MB MiB b -> a through the network, md5 equal ($src_b)"
else
	tap_not_ok "TCP: $MB MiB b -> a through the network, md5 equal (sent '$src_b', got '$got')"
fi
n_ct=$(xvctl --json ct count n1 2>/dev/null | jq -r '(.result // .) | .count')
if [ "${n_ct:-0}" -ge 1 ]; then
	tap_ok "conntrack tracks the guests' connections ($n_ct)"
else
	tap_not_ok "conntrack tracks the guests' connections (count '$n_ct')"
fi

# Only HTTP into the group from now on.
step "sg rule add lan ingress tcp 80" sg rule add lan ingress --proto tcp --ports 80
step "sg rule del lan $lan_rule" sg rule del lan "$lan_rule"
xvctl ct flush n1 >/dev/null 2>&1
before=$(xv_stat vm2 .drops.sg_ingress)
if vm_exec a 'ping -c 2 -W 2 198.18.0.2' >/dev/null 2>&1; then
	tap_not_ok "ping a -> b is denied once only tcp 80 is allowed"
else
	tap_ok "ping a -> b is denied once only tcp 80 is allowed"
fi
tap_grew "the denied pings are counted as sg_ingress on vm2" "$before" "$(xv_stat vm2 .drops.sg_ingress)"
got=$(http_get)
if [ "$got" = "$src_b" ]; then
	tap_ok "HTTP a -> b still works (tcp 80 allowed)"
else
	tap_not_ok "HTTP a -> b still works (tcp 80 allowed; got '$got')"
fi

# Spoofing: an address vm1 does not own, then a MAC it does not own.
before=$(xv_stat vm1 .drops.spoofed_ip)
vm_exec a 'ip addr add 198.18.0.99/24 dev eth0; timeout 15 wget -q -O /dev/null http://198.18.0.2/ 2>/dev/null; ping -c 2 -W 2 -I 198.18.0.99 198.18.0.2; ip addr del 198.18.0.99/24 dev eth0' >/dev/null 2>&1
tap_grew "packets from 198.18.0.99 (not vm1's) are dropped as spoofed_ip" "$before" "$(xv_stat vm1 .drops.spoofed_ip)"
before=$(xv_stat vm1 .drops.spoofed_mac)
vm_exec a 'ip link set eth0 address 02:00:00:00:99:99; timeout 10 wget -q -O /dev/null http://198.18.0.2/blob; echo done' >/dev/null 2>&1
tap_grew "frames from MAC 02:00:00:00:99:99 are dropped as spoofed_mac" "$before" "$(xv_stat vm1 .drops.spoofed_mac)"
# With port security off on both ports (and no groups), the new MAC works.
step "port set vm1 port security off" port set vm1 --sg "" --port-security off
step "port set vm2 port security off" port set vm2 --sg "" --port-security off
out=$(vm_exec a 'timeout 60 wget -q -O /tmp/got http://198.18.0.2/blob && md5sum /tmp/got' 90 | awk '/\/tmp\/got/{print $1}')
if [ "$out" = "$src_b" ]; then
	tap_ok "port security off: a's new MAC reaches b (HTTP, md5 equal)"
else
	tap_not_ok "port security off: a's new MAC reaches b (got '$out')"
fi
tap_diag "drops: $(xvctl --json stats 2>/dev/null | jq -c '[(.result // .) | .ports[] | {name, drops: (.drops | with_entries(select(.value > 0)))}]' 2>/dev/null)"

xv_finish a b
