#!/usr/bin/env bash
# Many workers: queues get a worker and keep it; two busy queues forced
# onto one worker are spread by the rebalancer from measured load; a
# pinned queue is never moved; drops stay at zero throughout.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages

# worker_of PORT: the worker polling the port's queue 0.
worker_of() { xjq '.ports[0].queues[0].worker' stats "$1"; }
pin() { xctl call port.pin "{\"name\":\"$1\",\"queue\":0,\"worker\":$2}" >/dev/null; }
spread() { [ "$(worker_of n0)" != "$(worker_of n2)" ]; }

# Two workers, one per cpu (the control thread shares cpu 0).
start_xvio --workers 2 --lcores 0,1 || bail "xvio starts with 2 workers"
is "two workers" "$(xjq '.workers | length' status)" 2
is "automatic rebalancing is on" "$(xjq .rebalance.auto stats)" true

# net_null generates packets on rx: n0 and n2 are busy, n1 and n3 sinks.
for p in "n0 net_null0" "n1 net_null1,no-rx=1" "n2 net_null2" "n3 net_null3,no-rx=1"; do
	set -- $p
	xctl port add "$1" eth "$2" >/dev/null || bail "port add $1"
done
xctl relay add n0 n1 >/dev/null
xctl relay add n2 n3 >/dev/null
# n0 and n2 generated before their relays existed: those are no_dest.
drops0=$(xjq .drops.total stats)

# Skew: both busy queues on worker 0, then let go.
pin n0 0
pin n2 0
check "both busy queues pinned to worker 0" wait_until 10 \
	bash -c "[ \"\$($XVIOCTL --ctl $CTL --json stats n0 | jq '.ports[0].queues[0].worker')\" = 0 ] && [ \"\$($XVIOCTL --ctl $CTL --json stats n2 | jq '.ports[0].queues[0].worker')\" = 0 ]"
sleep 3
is "pinned queues stay put under skew" "$(worker_of n0),$(worker_of n2)" "0,0"
moved0=$(xjq .rebalance.queues_moved stats)
pin n0 -1
pin n2 -1
check "the rebalancer spreads the busy queues" wait_until 30 spread
cmp_gt "a rebalance was counted" "$(xjq .rebalance.queues_moved stats)" "$moved0"
diag "after: n0 on worker $(worker_of n0), n2 on worker $(worker_of n2)"

# Hysteresis: once spread, it stays (no ping-pong).
m1=$(xjq .rebalance.queues_moved stats)
sleep 5
is "no further moves once balanced" "$(xjq .rebalance.queues_moved stats)" "$m1"
is "no packet dropped through all the moves" "$(( $(xjq .drops.total stats) - drops0 ))" 0
diag "workers: $(xjq '[.workers[] | {id, cpu, state, load, busy_pct}] | tostring' stats)"
cmp_gt "traffic kept flowing to n1" "$(xstat n1 .tx.packets)" 0
cmp_gt "traffic kept flowing to n3" "$(xstat n3 .tx.packets)" 0
done_testing
