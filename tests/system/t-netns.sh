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

# ping_target NS IFACE NS_IP GUEST_IP PCAP: IFACE in NS gets NS_IP/24, goes
# up and knows the guest (GUEST_IP at $GMAC); PCAP gets the guest's $N
# pings from GUEST_IP to IFACE.
ping_target() {
	local ns=$1 ifc=$2 nsip=$3 gip=$4 pcap=$5 mac
	ip -n "$ns" addr add "$nsip/24" dev "$ifc"
	ip -n "$ns" link set "$ifc" up
	ip -n "$ns" neigh replace "$gip" lladdr $GMAC dev "$ifc" nud permanent
	mac=$(ip -n "$ns" -j link show dev "$ifc" | jq -r '.[0].address')
	pcap_tool ping "$pcap" $N $GMAC "$mac" "$gip" "$nsip"
}

# pings_answered WHAT GUEST NS IFACE NS_IP GUEST_IP: start the guest, whose
# pcap input holds the $N pings from GUEST_IP to NS_IP; the namespace's
# IFACE receives them and the guest records $N good echo replies.
pings_answered() {
	local what=$1 g=$2 ns=$3 ifc=$4 nsip=$5 gip=$6 rx0
	rx0=$(iface_counter "$ns" "$ifc" rx)
	guest_cmd "$g" start
	wait_until 30 echo_replies_ge "${G_OUT[$g]}" "$nsip" "$gip" $N
	cmp_ge "$what: the namespace's $ifc received the $N pings" "$(($(iface_counter "$ns" "$ifc" rx) - rx0))" $N
	is "$what: the guest got $N echo replies from $nsip" "$(pcap_tool echo_replies "${G_OUT[$g]}" "$nsip" "$gip")" $N
}

start_xvio || bail "xvio starts"

# ------------------------------------------------ A. af_packet + veth
NSA=xvna$$
VA=xna$$ VB=xnb$$
veth_ns "$NSA" "$VA" "$VB" || bail "netns and veth"
ping_target "$NSA" "$VB" 198.18.10.1 198.18.10.2 "$T/pingA.pcap" || bail "crafting pings"

check "port add vmA" xctl port add vmA vhost "$T/vmA.sock"
check "port add nsA (net_af_packet on $VA)" xctl port add nsA eth "net_af_packet1,iface=$VA"
check "relay add vmA nsA" xctl relay add vmA nsA
start_guest gA "$T/vmA.sock" --pcap-in "$T/pingA.pcap" || bail "guest A starts"
wait_until 20 port_state_is vmA connected || not_ok "vmA connected" "state: $(port_field vmA .state)"
pings_answered af_packet gA "$NSA" "$VB" 198.18.10.1 198.18.10.2
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
ping_target "$NSB" "$TAP" 198.18.11.1 198.18.11.2 "$T/pingB.pcap" || bail "crafting pings"
check "relay add vmB tapB" xb relay add vmB tapB
is "tapB link up" "$(xb --json port show tapB | jq -r .link)" up
start_guest gB "$T/vmB.sock" --pcap-in "$T/pingB.pcap" || bail "guest B starts"
wait_until 20 eval '[ "$(xb --json port show vmB | jq -r .state)" = connected ]' ||
	not_ok "vmB connected" "state: $(xb --json port show vmB | jq -r .state)"
pings_answered tap gB "$NSB" "$TAP" 198.18.11.1 198.18.11.2
cmp_ge "xvio tapB tx packets" "$(xb --json stats tapB | jq -r '.ports[0].tx.packets')" $N
cmp_ge "xvio tapB rx packets" "$(xb --json stats tapB | jq -r '.ports[0].rx.packets')" $N
stop_guest gB
check "port del tapB" xb port del tapB
check "the tap interface is gone" bash -c "! ip -n $NSB link show dev $TAP 2>/dev/null"
check "port del vmB" xb port del vmB
stop_xvio nsb
is "xvio in the netns exits 0 on SIGTERM" "$XVIO_RC" 0

done_testing
