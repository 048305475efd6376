#!/usr/bin/env bash
# Packets counted end to end, payloads compared byte for byte:
#   1. guest -> NIC: a testpmd guest sends a crafted pcap (200 frames, 64 to
#      1514 bytes) into its virtio-user port; xvio relays it to an eth port
#      net_pcap with tx_pcap=FILE; FILE must hold the same frames in order.
#   2. NIC -> guest: frames injected (scapy) into a veth from a private netns
#      reach xvio's net_af_packet port, are relayed to the guest, which writes
#      what it receives to its own pcap; same frames, same order.
#   3. vhost <-> vhost: two guests relayed to each other, both directions at
#      once.
#   4. multi-queue: a guest using 2 queue pairs; xvio serves both.
#   5. a fixed number of testpmd txonly packets (start tx_first 8), counted.
# xvio's own counters (rx/tx packets and bytes, no drops) are checked too.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_testpmd
need_scapy

N1=200 N2=150 NA=120 NB=80

start_xvio || bail "xvio starts"

# ------------------------------------------------ 1. guest -> NIC (pcap file)
pcap_tool make "$T/g1-in.pcap" $N1 1 || bail "crafting a pcap"
bytes1=$(pcap_tool bytes "$T/g1-in.pcap")
check "port add vm1" xctl port add vm1 vhost "$T/vm1.sock"
check "port add nic1 (net_pcap, tx_pcap file)" xctl port add nic1 eth "net_pcap0,tx_pcap=$T/nic1-tx.pcap"
check "relay add vm1 nic1" xctl relay add vm1 nic1
start_guest g1 "$T/vm1.sock" --pcap-in "$T/g1-in.pcap" || bail "guest g1 starts"
if wait_until 20 port_state_is vm1 connected; then ok "vm1 connected"; else not_ok "vm1 connected" "state: $(port_field vm1 .state)"; fi
is "vm1 active_queues" "$(port_field vm1 .active_queues)" 1
like "vm1 negotiated features" "$(port_field vm1 .features.negotiated)" '^0x[0-9a-f]+$'
guest_cmd g1 start
wait_until 30 pcap_count_ge "$T/nic1-tx.pcap" $N1
is "guest -> NIC: nic1's pcap holds $N1 frames" "$(pcap_tool count "$T/nic1-tx.pcap")" $N1
check "guest -> NIC: same frames, same order, same bytes" pcap_tool compare "$T/g1-in.pcap" "$T/nic1-tx.pcap"
is "guest g1 sent $N1 on virtio-user" "$(guest_tx g1 0)" $N1
wait_until 10 xstat_ge nic1 .tx.packets $N1
is "xvio vm1 rx packets" "$(xstat vm1 .rx.packets)" $N1
is "xvio vm1 rx bytes" "$(xstat vm1 .rx.bytes)" "$bytes1"
is "xvio nic1 tx packets" "$(xstat nic1 .tx.packets)" $N1
is "xvio nic1 tx bytes" "$(xstat nic1 .tx.bytes)" "$bytes1"
is "xvio vm1/nic1: no drops" "$(xstat vm1 .drops.total)/$(xstat nic1 .drops.total)" 0/0
is "vm1 per-queue rx adds up" "$(xstat vm1 '[.queues[].rx_packets] | add')" $N1
stop_guest g1

# ------------------------------------------------ 2. NIC -> guest (veth + af_packet)
NS=xvtr$$
VA=xva$$ VB=xvb$$
veth_ns "$NS" "$VA" "$VB" || bail "netns and veth"
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$VB.disable_ipv6=1"
ip -n "$NS" link set "$VB" up
pcap_tool make "$T/n2-in.pcap" $N2 2 || bail "crafting a pcap"
bytes2=$(pcap_tool bytes "$T/n2-in.pcap")
check "port add vm2" xctl port add vm2 vhost "$T/vm2.sock"
check "port add nic2 (net_af_packet on $VA)" xctl port add nic2 eth "net_af_packet0,iface=$VA"
check "relay add nic2 vm2" xctl relay add nic2 vm2
start_guest g2 "$T/vm2.sock" --pcap-out --start || bail "guest g2 starts"
wait_until 20 port_state_is vm2 connected || not_ok "vm2 connected" "state: $(port_field vm2 .state)"
ip netns exec "$NS" env PY="$PY" bash -c "$(declare -f pcap_tool); pcap_tool send $VB $T/n2-in.pcap"
wait_until 30 pcap_count_ge "${G_OUT[g2]}" $N2
is "NIC -> guest: the guest recorded $N2 frames" "$(pcap_tool count "${G_OUT[g2]}")" $N2
check "NIC -> guest: same frames, same order, same bytes" pcap_tool compare "$T/n2-in.pcap" "${G_OUT[g2]}"
is "guest g2 received $N2 on virtio-user" "$(guest_rx g2 0)" $N2
is "xvio nic2 rx packets" "$(xstat nic2 .rx.packets)" $N2
is "xvio nic2 rx bytes" "$(xstat nic2 .rx.bytes)" "$bytes2"
is "xvio vm2 tx packets" "$(xstat vm2 .tx.packets)" $N2
is "xvio vm2 tx bytes" "$(xstat vm2 .tx.bytes)" "$bytes2"
is "xvio vm2/nic2: no drops" "$(xstat vm2 .drops.total)/$(xstat nic2 .drops.total)" 0/0
stop_guest g2
check "port del nic2" xctl port del nic2
check "port del vm2" xctl port del vm2

# ------------------------------------------------ 3. vhost <-> vhost
pcap_tool make "$T/a-in.pcap" $NA 3 || bail "crafting a pcap"
pcap_tool make "$T/b-in.pcap" $NB 4 60,1514,333 || bail "crafting a pcap"
check "port add vmA" xctl port add vmA vhost "$T/vmA.sock"
check "port add vmB" xctl port add vmB vhost "$T/vmB.sock"
check "relay add vmA vmB" xctl relay add vmA vmB
start_guest gA "$T/vmA.sock" --pcap-in "$T/a-in.pcap" || bail "guest A starts"
start_guest gB "$T/vmB.sock" --pcap-in "$T/b-in.pcap" || bail "guest B starts"
wait_until 20 port_state_is vmA connected
wait_until 20 port_state_is vmB connected
is "both guests connected" "$(port_field vmA .state)/$(port_field vmB .state)" connected/connected
# Start both senders only now, so nothing goes to a guest not yet there.
guest_cmd gA start
guest_cmd gB start
wait_until 40 pcap_count_ge "${G_OUT[gB]}" $NA
wait_until 20 pcap_count_ge "${G_OUT[gA]}" $NB
is "A -> B: B recorded $NA frames" "$(pcap_tool count "${G_OUT[gB]}")" $NA
check "A -> B: same frames in order" pcap_tool compare "$T/a-in.pcap" "${G_OUT[gB]}"
is "B -> A: A recorded $NB frames" "$(pcap_tool count "${G_OUT[gA]}")" $NB
check "B -> A: same frames in order" pcap_tool compare "$T/b-in.pcap" "${G_OUT[gA]}"
is "xvio vmA rx/tx" "$(xstat vmA .rx.packets)/$(xstat vmA .tx.packets)" "$NA/$NB"
is "xvio vmB rx/tx" "$(xstat vmB .rx.packets)/$(xstat vmB .tx.packets)" "$NB/$NA"
is "no drops on the vhost <-> vhost relay" "$(xjq .drops.total stats)" 0
stop_guest gA
stop_guest gB
check "port del vmA" xctl port del vmA
check "port del vmB" xctl port del vmB

# ------------------------------------------------ 4. two queue pairs
check "port add vmq (queues 2)" xctl port add vmq vhost "$T/vmq.sock" --queues 2
check "port add nullq" xctl port add nullq eth net_null7
check "relay add vmq nullq" xctl relay add vmq nullq
start_guest gq "$T/vmq.sock" --queues 2 --mode txonly || bail "guest gq starts"
wait_until 20 port_state_is vmq connected
is "vmq active_queues: 2" "$(port_field vmq .active_queues)" 2
guest_cmd gq start
wait_until 20 xstat_ge vmq '.queues[1].rx_packets' 1000
cmp_ge "queue 0 of vmq carries traffic" "$(xstat vmq '.queues[0].rx_packets')" 1000
cmp_ge "queue 1 of vmq carries traffic" "$(xstat vmq '.queues[1].rx_packets')" 1000
cmp_ge "nullq got what vmq sent" "$(xstat nullq .tx.packets)" 2000
stop_guest gq

# ------------------------------------------------ 5. a fixed count of txonly packets
check "port add vm5 / nic5 (null, no rx) + relay" bash -c "'$XVIOCTL' --ctl '$CTL' port add vm5 vhost '$T/vm5.sock' && '$XVIOCTL' --ctl '$CTL' port add nic5 eth net_null5,no-rx=1 && '$XVIOCTL' --ctl '$CTL' relay add vm5 nic5"
start_guest g5 "$T/vm5.sock" --txpkts 300 || bail "guest g5 starts"
wait_until 20 port_state_is vm5 connected
guest_tx_first g5 8
wait_until 20 xstat_ge nic5 .tx.packets 256
stop_guest g5
read -r _ g5tx _ < <(guest_final_stats g5 0)
is "tx_first 8: the guest sent 8 bursts of 32" "$g5tx" 256
is "nic5 got exactly those" "$(xstat nic5 .tx.packets)" 256
is "of 300 bytes each" "$(xstat nic5 .tx.bytes)" $((256 * 300))

check "daemon healthy at the end" xctl version
done_testing
