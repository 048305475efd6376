#!/usr/bin/env bash
# Few cores: with eight guests connected and idle, xvio's worker sleeps and
# the daemon uses a small fraction of a core (read from /proc); the first
# packets wake it, every packet arrives, and the mode switches are counted.
# The same with --idle-us 0 (pure polling) burns the core, for contrast.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages
need_testpmd

# CPU time (utime + stime, in clock ticks) of a process.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# Share of one core PID used over SECONDS, in percent (integer).
cpu_pct() {
	local pid=$1 secs=$2 a b
	a=$(cpu_ticks "$pid")
	sleep "$secs"
	b=$(cpu_ticks "$pid")
	echo $(((b - a) * 100 / (hz * secs)))
}

# Six idle guests in one testpmd (rxonly), so eight guests cost two
# testpmd processes, not eight.
start_idle_guests() {
	local vdevs=() i
	for i in 3 4 5 6 7 8; do
		vdevs+=(--vdev "net_virtio_user$i,path=$T/vm$i.sock,queues=1")
	done
	stdbuf -oL "$TESTPMD" -l 0,1 --main-lcore 1 --no-pci --in-memory --single-file-segments \
		--file-prefix="xvidle$$" "${vdevs[@]}" -- --forward-mode=rxonly --nb-cores=1 \
		--total-num-mbufs=16384 --auto-start --stats-period=60 </dev/null >"$T/idle-guests.log" 2>&1 &
	IDLE_PID=$!
	track_pid "$IDLE_PID"
}

all_connected() {
	local n
	n=$(xjq '[.ports[] | select(.state == "connected")] | length' port list)
	[ "$n" = 8 ]
}

start_xvio || bail "xvio starts"
is "hybrid polling is the default" "$(xjq .poll_policy status)" hybrid
sleep 1
pct=$(cpu_pct "$XVIO_PID" 2)
cmp_lt "a fresh daemon with no ports is idle (measured ${pct}%)" "$pct" 5

# A NIC whose rx interrupts cannot be trusted for sleeping (net_tap: its
# rx waits for a SIGIO handler): polled by the --wake-us timer instead, so
# the daemon still stays nearly idle.
tapif=xvi$$
if xctl port add tap0 eth "net_tap0,iface=$tapif" >/dev/null; then
	is "net_tap is polled by timer, not interrupts" "$(port_field tap0 .rx_interrupts)" false
	sleep 1
	tw=$(xjq '.workers[0].timer_wakes' stats)
	pct=$(cpu_pct "$XVIO_PID" 2)
	cmp_gt "the worker wakes on the timer for it" "$(xjq '.workers[0].timer_wakes' stats)" "$tw"
	cmp_lt "and still uses under 10% of a core (measured ${pct}%)" "$pct" 10
	xctl port del tap0
else
	not_ok "port add tap0 (net_tap)"
fi

for i in 1 2 3 4 5 6 7 8; do
	xctl port add "vm$i" vhost "$T/vm$i.sock" >/dev/null || bail "port add vm$i"
done
for p in "vm1 vm2" "vm3 vm4" "vm5 vm6" "vm7 vm8"; do
	xctl relay add $p >/dev/null || bail "relay add $p"
done
start_guest g1 "$T/vm1.sock" --mode txonly || bail "guest g1 starts"
start_guest g2 "$T/vm2.sock" --mode rxonly --start || bail "guest g2 starts"
start_idle_guests
check "eight guests connect" wait_until 60 all_connected

# Let the worker settle into its sleep.
sleep 2
pct=$(cpu_pct "$XVIO_PID" 5)
diag "xvio CPU with 8 idle guests: ${pct}% of a core"
cmp_lt "idle xvio uses under 5% of a core (measured ${pct}%)" "$pct" 5
is "the worker is asleep" "$(xjq '.workers[0].state' stats)" sleep
sleeps0=$(xjq '.workers[0].sleeps' stats)
cmp_gt "poll -> sleep switches are counted" "$sleeps0" 0

# Traffic wakes it; everything arrives.
guest_cmd g1 start
check "traffic flows vm1 -> vm2" wait_until 30 xstat_ge vm2 .tx.packets 10000
sleep 2
guest_cmd g1 stop
wait_until 30 stats_settled
read -r _ g1_tx _ _ <<<"$(guest_stats g1 0)"
read -r g2_rx _ _ _ <<<"$(guest_stats g2 0)"
diag "guest g1 sent $g1_tx, guest g2 received $g2_rx"
cmp_gt "the generator sent packets" "$g1_tx" 10000
drops=$(xjq .drops.guest_ring_full stats)
is "every packet is delivered or counted" "$((g2_rx + drops))" "$g1_tx"
is "every packet sent by g1 reached g2" "$g2_rx" "$g1_tx"
is "xvio counted vm1 rx = packets sent" "$(xstat vm1 .rx.packets)" "$g1_tx"
is "no drops" "$(xjq .drops.guest_ring_full stats)" 0
sleep 2
is "idle again: the worker went back to sleep" "$(xjq '.workers[0].state' stats)" sleep
cmp_gt "and counted the new switch" "$(xjq '.workers[0].sleeps' stats)" "$sleeps0"

# Contrast: pure polling keeps the core busy.
stop_xvio
start_xvio --idle-us 0 || bail "xvio --idle-us 0 starts"
is "--idle-us 0 means busy polling" "$(xjq .poll_policy status)" busy
xctl port add vm1 vhost "$T/vmb.sock" >/dev/null
pct=$(cpu_pct "$XVIO_PID" 3)
diag "xvio CPU busy-polling one idle port: ${pct}% of a core"
# Not "most of a core": on a shared machine the cpu may be split with
# other pollers. Any real share shows the contrast with 0-1%.
cmp_gt "busy polling burns the cpu it gets (measured ${pct}%)" "$pct" 10
done_testing
