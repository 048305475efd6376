#!/usr/bin/env bash
# Hot add/remove under traffic: while a guest sends through relay vm1<->nic1,
# other ports and relays are added and removed (vhost and eth, re-using
# names, paths and devargs); vm1's counters keep growing and nothing is lost
# on the busy relay. Then the busy ports themselves are removed under
# traffic: the daemon stays healthy, drops are accounted, and the same
# names/paths can be used again at once.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_testpmd

start_xvio || bail "xvio starts"

check "port add vm1" xctl port add vm1 vhost "$T/vm1.sock"
check "port add nic1 (net_null, no rx)" xctl port add nic1 eth net_null0,no-rx=1
check "relay add vm1 nic1" xctl relay add vm1 nic1
start_guest g1 "$T/vm1.sock" --mode txonly --start || bail "guest g1 starts"
wait_until 20 port_state_is vm1 connected
check "traffic flows vm1 -> nic1" grows vm1 .rx.packets || done_testing

# Add and remove other ports and relays while vm1 is busy.
for round in 1 2 3; do
	ok_round=1
	xctl port add "vmx$round" vhost "$T/vmx.sock" >/dev/null || ok_round=0
	xctl port add "nicx$round" eth net_null1,no-rx=1 >/dev/null || ok_round=0
	xctl port add "ring$round" eth "net_ring$round" >/dev/null || ok_round=0
	xctl relay add "vmx$round" "nicx$round" >/dev/null || ok_round=0
	grows vm1 .rx.packets || ok_round=0
	xctl relay del "vmx$round" "nicx$round" >/dev/null || ok_round=0
	xctl relay add "nicx$round" "ring$round" >/dev/null || ok_round=0
	xctl port del "vmx$round" >/dev/null || ok_round=0
	xctl port del "nicx$round" >/dev/null || ok_round=0
	xctl port del "ring$round" >/dev/null || ok_round=0
	grows vm1 .rx.packets || ok_round=0
	if [ $ok_round = 1 ]; then
		ok "round $round: add/relay/del of other ports while vm1 sends, vm1 keeps flowing"
	else
		not_ok "round $round: add/relay/del of other ports while vm1 sends, vm1 keeps flowing" \
			"ports: $(xjq '[.ports[].name] | join(",")' port list)" "relays: $(xjq -c .relays relay list)"
	fi
done
is "only vm1 and nic1 remain" "$(xjq '[.ports[].name] | join(",")' port list)" "nic1,vm1"
is "one relay remains" "$(xjq '[.relays[] | [.a, .b] | sort | join("-")] | join(",")' relay list)" "nic1-vm1"
is "no drops on the busy relay" "$(xstat vm1 .drops.total)/$(xstat nic1 .drops.total)" 0/0
rx=$(xstat vm1 .rx.packets)
tx=$(xstat nic1 .tx.packets)
cmp_ge "nic1 got what vm1 took (tx $tx, rx $rx at the time)" "$tx" $((rx > 100000 ? rx - 100000 : 0))

# A second guest on a hot-added port: traffic flows there too, vm1 keeps going.
check "hot add vm2 + nic2 + relay" bash -c "'$XVIOCTL' --ctl '$CTL' port add vm2 vhost '$T/vm2.sock' && '$XVIOCTL' --ctl '$CTL' port add nic2 eth net_null2,no-rx=1 && '$XVIOCTL' --ctl '$CTL' relay add vm2 nic2"
start_guest g2 "$T/vm2.sock" --mode txonly --start || bail "guest g2 starts"
wait_until 20 port_state_is vm2 connected
check "traffic flows on the hot-added relay" grows vm2 .rx.packets
check "vm1 still flows" grows vm1 .rx.packets

# Remove the busy eth side: vm1 is no longer in a relay, its packets become no_dest.
check "port del nic1 while vm1 sends into it" xctl port del nic1
is "relay vm1-nic1 went with it" "$(xjq '[.relays[] | [.a, .b] | sort | join("-")] | join(",")' relay list)" "nic2-vm2"
if grows vm1 .drops.no_dest; then ok "vm1's packets now count as no_dest drops"; else not_ok "vm1's packets now count as no_dest drops" "$(xctl --json stats vm1 | jq -c .)"; fi
check "daemon healthy" xctl version

# Remove the busy vhost port itself: its guest is connected and sending.
check "port del vm1 while its guest sends" xctl port del vm1
check "vm1's socket is gone" test ! -e "$T/vm1.sock"
check "daemon healthy after removing a busy vhost port" xctl status
check "the other relay is unaffected" grows vm2 .rx.packets
stop_guest g1

# Same names, path and devargs again, with a new guest.
check "re-add vm1 at the same path" xctl port add vm1 vhost "$T/vm1.sock"
check "re-add nic1 with the same devargs" xctl port add nic1 eth net_null0,no-rx=1
check "relay add vm1 nic1 again" xctl relay add vm1 nic1
start_guest g1b "$T/vm1.sock" --mode txonly --start || bail "guest g1b starts"
wait_until 20 port_state_is vm1 connected
check "traffic flows on the re-added vm1" grows vm1 .rx.packets
check "and reaches the re-added nic1" grows nic1 .tx.packets

# Relay del/add in a loop under traffic.
bad=0
for _ in $(seq 1 10); do
	xctl relay del vm1 nic1 >/dev/null || bad=$((bad + 1))
	xctl relay add vm1 nic1 >/dev/null || bad=$((bad + 1))
done
is "10 x relay del/add under traffic" "$bad" 0
check "traffic flows after the relay churn" grows nic1 .tx.packets
stop_guest g1b
# Conservation on the churned relay: everything xvio took from vm1 went to
# nic1 or is counted as a drop (no_dest while the relay was away,
# port_removed for what was in flight).
wait_until 10 stats_settled
rx=$(xstat vm1 .rx.packets) tx=$(xstat nic1 .tx.packets) d1=$(xstat vm1 .drops.total) d2=$(xstat nic1 .drops.total)
is "vm1 rx ($rx) = nic1 tx ($tx) + drops (vm1 $d1, nic1 $d2)" "$rx" "$((tx + d1 + d2))"
stop_guest g2
check "daemon healthy at the end" xctl version
stop_xvio
is "xvio exits 0 on SIGTERM after all this" "$XVIO_RC" 0
done_testing
