#!/usr/bin/env bash
# Traffic between a guest and a Linux network namespace, through xvio:
#   A. eth port net_af_packet on a veth whose peer lives in a private netns
#      (198.18.10.1/24): the guest pings the namespace; the namespace's
#      kernel answers; the guest records the replies.
#   B. eth port net_tap with xvio itself running in a private netns, so the
#      tap interface is created there (198.18.11.1/24); same ping, same checks.
# Counted on the namespace side (interface counters) and on the guest side
# (ICMP echo replies with the right id, seq and payload).
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_testpmd
need_scapy
need_cmd ip

N=64
GMAC=02:00:00:00:0a:02

start_xvio || bail "xvio starts"

# ------------------------------------------------ A. af_packet + veth
NSA=xvna$$
VA=xna$$ VB=xnb$$
veth_ns "$NSA" "$VA" "$VB" || bail "netns and veth"
ip -n "$NSA" addr add 198.18.10.1/24 dev "$VB"
ip -n "$NSA" link set "$VB" up
ip -n "$NSA" neigh replace 198.18.10.2 lladdr $GMAC dev "$VB" nud permanent
nsmac=$(ip -n "$NSA" -j link show dev "$VB" | jq -r '.[0].address')
pcap_tool ping "$T/pingA.pcap" $N $GMAC "$nsmac" 198.18.10.2 198.18.10.1 || bail "crafting pings"

check "port add vmA" xctl port add vmA vhost "$T/vmA.sock"
check "port add nsA (net_af_packet on $VA)" xctl port add nsA eth "net_af_packet1,iface=$VA"
check "relay add vmA nsA" xctl relay add vmA nsA
start_guest gA "$T/vmA.sock" --pcap-in "$T/pingA.pcap" || bail "guest A starts"
wait_until 20 port_state_is vmA connected || not_ok "vmA connected" "state: $(port_field vmA .state)"
rx0=$(iface_counter "$NSA" "$VB" rx)
guest_cmd gA start
wait_until 30 echo_replies_ge "${G_OUT[gA]}" 198.18.10.1 198.18.10.2 $N
cmp_ge "af_packet: the namespace's $VB received the $N pings" "$(($(iface_counter "$NSA" "$VB" rx) - rx0))" $N
is "af_packet: the guest got $N echo replies from 198.18.10.1" "$(pcap_tool echo_replies "${G_OUT[gA]}" 198.18.10.1 198.18.10.2)" $N
cmp_ge "xvio nsA tx packets" "$(xstat nsA .tx.packets)" $N
cmp_ge "xvio nsA rx packets" "$(xstat nsA .rx.packets)" $N
is "xvio: no drops on vmA/nsA" "$(xstat vmA .drops.total)/$(xstat nsA .drops.total)" 0/0
stop_guest gA

# ------------------------------------------------ B. net_tap inside a netns
# DPDK's net_tap keeps asking the kernel for the link state by interface
# name in its own namespace, so a tap moved to another namespace reads as
# link down. Run a second xvio inside the namespace instead: the tap is
# created there; the guest still reaches xvio through the socket path.
stop_xvio main
is "main xvio exits 0 on SIGTERM" "$XVIO_RC" 0
NSB=xvnb$$
TAP=xvt$$
make_netns "$NSB" || bail "netns"
start_xvio --name nsb --netns "$NSB" || bail "xvio starts inside netns $NSB"
xb() { xctl_at nsb "$@"; }
check "port add vmB" xb port add vmB vhost "$T/vmB.sock"
if ! check "port add tapB (net_tap, iface $TAP)" xb port add tapB eth "net_tap1,iface=$TAP"; then
	done_testing
fi
check "the tap is in the namespace, not in the root one" ip -n "$NSB" link show dev "$TAP"
ip -n "$NSB" addr add 198.18.11.1/24 dev "$TAP"
ip -n "$NSB" link set "$TAP" up
ip -n "$NSB" neigh replace 198.18.11.2 lladdr $GMAC dev "$TAP" nud permanent
tapmac=$(ip -n "$NSB" -j link show dev "$TAP" | jq -r '.[0].address')
pcap_tool ping "$T/pingB.pcap" $N $GMAC "$tapmac" 198.18.11.2 198.18.11.1 || bail "crafting pings"
check "relay add vmB tapB" xb relay add vmB tapB
is "tapB link up" "$(xb --json port show tapB | jq -r .link)" up
start_guest gB "$T/vmB.sock" --pcap-in "$T/pingB.pcap" || bail "guest B starts"
wait_until 20 eval '[ "$(xb --json port show vmB | jq -r .state)" = connected ]' ||
	not_ok "vmB connected" "state: $(xb --json port show vmB | jq -r .state)"
rx0=$(iface_counter "$NSB" "$TAP" rx)
guest_cmd gB start
wait_until 30 echo_replies_ge "${G_OUT[gB]}" 198.18.11.1 198.18.11.2 $N
cmp_ge "tap: the namespace's $TAP received the $N pings" "$(($(iface_counter "$NSB" "$TAP" rx) - rx0))" $N
is "tap: the guest got $N echo replies from 198.18.11.1" "$(pcap_tool echo_replies "${G_OUT[gB]}" 198.18.11.1 198.18.11.2)" $N
cmp_ge "xvio tapB tx packets" "$(xb --json stats tapB | jq -r '.ports[0].tx.packets')" $N
cmp_ge "xvio tapB rx packets" "$(xb --json stats tapB | jq -r '.ports[0].rx.packets')" $N
stop_guest gB
check "port del tapB" xb port del tapB
check "the tap interface is gone" bash -c "! ip -n $NSB link show dev $TAP 2>/dev/null"
check "port del vmB" xb port del vmB
stop_xvio nsb
is "xvio in the netns exits 0 on SIGTERM" "$XVIO_RC" 0

done_testing
