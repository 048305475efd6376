#!/usr/bin/env bash
# Multiqueue end to end: a guest with 8 queue pairs sends on all of them
# through xvio (two workers) to a guest with 8 queue pairs; xvio serves
# every queue, spreads them over both workers, and every packet arrives.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages
need_testpmd

start_xvio --workers 2 --lcores 0,1 || bail "xvio starts with 2 workers"
xctl port add vma vhost "$T/vma.sock" --queues 8 >/dev/null || bail "port add vma"
xctl port add vmb vhost "$T/vmb.sock" --queues 8 >/dev/null || bail "port add vmb"
xctl relay add vma vmb >/dev/null || bail "relay add"
start_guest ga "$T/vma.sock" --queues 8 --mode txonly || bail "guest ga (8 queues) starts"
start_guest gb "$T/vmb.sock" --queues 8 --mode rxonly --start || bail "guest gb (8 queues) starts"

is "vma: the guest set up 8 queue pairs" "$(port_field vma .guest_queues)" 8
is "vma: xvio serves all 8" "$(port_field vma .active_queues)" 8
like "vma negotiated MQ" "$(xjq '.features.names | join(",")' port show vma)" '(^|,)MQ(,|$)'

guest_cmd ga start
check "traffic flows" wait_until 30 xstat_ge vmb .tx.packets 50000
sleep 2
guest_cmd ga stop
wait_until 30 stats_settled

busy=$(xjq '[.ports[0].queues[] | select(.rx_packets > 0)] | length' stats vma)
is "packets came in on all 8 queues of vma" "$busy" 8
workers=$(xjq '[.ports[0].queues[] | select(.queue < 8) | .worker] | unique | length' stats vma)
is "vma's queues are spread over both workers" "$workers" 2
delivered=$(xjq '[.ports[0].queues[] | select(.tx_packets > 0)] | length' stats vmb)
cmp_gt "vmb's guest received on several of its queues" "$delivered" 1

read -r _ ga_tx _ _ <<<"$(guest_stats ga 0)"
read -r gb_rx _ _ _ <<<"$(guest_stats gb 0)"
diag "guest ga sent $ga_tx, guest gb received $gb_rx"
is "xvio received every packet ga sent" "$(xstat vma .rx.packets)" "$ga_tx"
is "every packet arrived" "$gb_rx" "$ga_tx"
is "no drops" "$(xjq .drops.total stats)" 0
done_testing
