#!/usr/bin/env bash
# Guest disconnect and reconnect.
#   Server mode (xvio owns the socket): the guest testpmd is SIGKILLed; the
#   port goes back to "waiting", the other relay keeps flowing; a new guest
#   connects to the same socket and traffic flows again.
#   Client mode (xvio --client, the guest is the vhost-user server as QEMU
#   with server=on): restarting the guest makes xvio reconnect by itself.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_testpmd

start_xvio || bail "xvio starts"

flows() { # flows DESC PORT PATH
	if grows "$2" "$3"; then ok "$1"; else not_ok "$1" "$(xctl --json stats "$2" 2>&1 | jq -c '(.result // .) | .ports[0] | {rx, tx, drops}' 2>&1)"; fi
}

check "ports vm1/nic1 + relay" bash -c "'$XVIOCTL' --ctl '$CTL' port add vm1 vhost '$T/vm1.sock' && '$XVIOCTL' --ctl '$CTL' port add nic1 eth net_null0,no-rx=1 && '$XVIOCTL' --ctl '$CTL' relay add vm1 nic1"
check "ports vm2/nic2 + relay" bash -c "'$XVIOCTL' --ctl '$CTL' port add vm2 vhost '$T/vm2.sock' && '$XVIOCTL' --ctl '$CTL' port add nic2 eth net_null1,no-rx=1 && '$XVIOCTL' --ctl '$CTL' relay add vm2 nic2"
start_guest g1 "$T/vm1.sock" --mode txonly --start || bail "guest g1 starts"
start_guest g2 "$T/vm2.sock" --mode txonly --start || bail "guest g2 starts"
wait_until 20 port_state_is vm1 connected
wait_until 20 port_state_is vm2 connected
is "both connected" "$(port_field vm1 .state)/$(port_field vm2 .state)" connected/connected
is "vm1 link up" "$(port_field vm1 .link)" up
flows "traffic on vm1" vm1 .rx.packets
flows "traffic on vm2" vm2 .rx.packets

# ---- server mode: the guest dies
kill_guest g1
if wait_until 15 port_state_is vm1 waiting; then ok "vm1 back to waiting after its guest was killed"; else not_ok "vm1 back to waiting after its guest was killed" "state: $(port_field vm1 .state)"; fi
is "vm1 link down" "$(port_field vm1 .link)" down
check "vm1's socket is still there for the next guest" test -S "$T/vm1.sock"
flows "vm2 unaffected" vm2 .rx.packets
is "vm2 still connected" "$(port_field vm2 .state)" connected
v1=$(xstat vm1 .rx.packets)
sleep 1
is "vm1 counters stand still without a guest" "$(xstat vm1 .rx.packets)" "$v1"

for round in 1 2; do
	start_guest "g1r$round" "$T/vm1.sock" --mode txonly --start || bail "a new guest on vm1 starts (round $round)"
	if wait_until 20 port_state_is vm1 connected; then ok "round $round: new guest connected to vm1"; else not_ok "round $round: new guest connected to vm1" "state: $(port_field vm1 .state)"; fi
	flows "round $round: traffic flows again on vm1" vm1 .rx.packets
	flows "round $round: and reaches nic1" nic1 .tx.packets
	if [ $round = 1 ]; then
		kill_guest "g1r$round"
	else
		stop_guest "g1r$round" # a clean quit this time
	fi
	if wait_until 15 port_state_is vm1 waiting; then ok "round $round: vm1 waiting again"; else not_ok "round $round: vm1 waiting again" "state: $(port_field vm1 .state)"; fi
done
flows "vm2 still unaffected" vm2 .rx.packets

# ---- client mode: the guest is the server and restarts
check "ports vm3 (--client) / nic3 + relay" bash -c "'$XVIOCTL' --ctl '$CTL' port add vm3 vhost '$T/vm3.sock' --client && '$XVIOCTL' --ctl '$CTL' port add nic3 eth net_null2,no-rx=1 && '$XVIOCTL' --ctl '$CTL' relay add vm3 nic3"
is "vm3 connecting (no server yet)" "$(port_field vm3 .state)" connecting
start_guest g3 "$T/vm3.sock" --server --mode txonly --start || bail "guest g3 (server) starts"
if wait_until 20 port_state_is vm3 connected; then ok "xvio connected to the server-mode guest by itself"; else not_ok "xvio connected to the server-mode guest by itself" "state: $(port_field vm3 .state)"; fi
guest_wait_ready g3 || not_ok "guest g3 ready"
flows "traffic on vm3" vm3 .rx.packets
for round in 1 2; do
	kill_guest g3
	if wait_until 15 eval '[ "$(port_field vm3 .state)" != connected ]'; then
		ok "round $round: vm3 not connected after the guest died ($(port_field vm3 .state))"
	else
		not_ok "round $round: vm3 not connected after the guest died"
	fi
	like "round $round: vm3 state is connecting or waiting" "$(port_field vm3 .state)" '^(connecting|waiting)$'
	start_guest g3 "$T/vm3.sock" --server --mode txonly --start || bail "guest g3 restarts"
	if wait_until 30 port_state_is vm3 connected; then ok "round $round: xvio reconnected by itself"; else not_ok "round $round: xvio reconnected by itself" "state: $(port_field vm3 .state)"; fi
	guest_wait_ready g3 || not_ok "guest g3 ready"
	flows "round $round: traffic flows again on vm3" vm3 .rx.packets
done
flows "vm2 unaffected by all of it" vm2 .rx.packets
is "vm3 mode still client" "$(port_field vm3 .mode)" client
stop_guest g3
stop_guest g2
check "daemon healthy" xctl version
stop_xvio
is "xvio exits 0 on SIGTERM" "$XVIO_RC" 0
done_testing
