#!/usr/bin/env bash
# xvio-test-timeout: 240
# VM tier: multiqueue. Two guests, each with a 2-queue-pair virtio-net
# (QEMU queues=2, mq=on, vectors=0), joined by an xvio relay.
#
# The guest driver starts with one queue pair per vCPU (one here), so the
# guest init runs "ethtool -L eth0 combined 2" and clears XPS: the guest then
# spreads its flows over both tx queues by hash. Each guest transmits on
# both of its queues, and xvio must poll both of them.
#
# Checks: the guests use 2 queue pairs; ping both ways; batches of parallel
# TCP downloads (different flows) until both tx queues of both guests have
# carried bulk data, every download with the right md5; xvio's port shows
# 2 active queues and its per-queue counters. TAP output. Run as root.
. "$(dirname "$0")/lib.sh"
xv_init t-mq 180

xv_backend_start
xv_port_add vm1 vhost "$T/vm1.sock" --queues 2 || tap_not_ok "port add vm1 --queues 2"
xv_port_add vm2 vhost "$T/vm2.sock" --queues 2 || tap_not_ok "port add vm2 --queues 2"
xv_relay_add vm1 vm2 || tap_not_ok "relay add vm1 vm2"

vm_start a --net "$T/vm1.sock,queues=2" --mq 2 --ip 198.18.0.1/24
vm_start b --net "$T/vm2.sock,queues=2" --mq 2 --ip 198.18.0.2/24
tap_check "guest a (2 queue pairs) boots" vm_wait_agent a
tap_check "guest b (2 queue pairs) boots" vm_wait_agent b

# ethtool -l: the "Current hardware settings" block comes second.
combined() {
	vm_exec "$1" 'ethtool -l eth0' | awk '/^Combined:/{v=$2} END{print v}'
}
ca=$(combined a)
cb=$(combined b)
if [ "$ca" = 2 ] && [ "$cb" = 2 ]; then
	tap_ok "both guest drivers run 2 queue pairs"
else
	tap_not_ok "both guest drivers run 2 queue pairs (a: '$ca', b: '$cb')"
fi
if [ "$XV_BACKEND" = xvio ]; then
	tap_check "port vm1 is connected" xv_wait_port_state vm1 connected 30
	tap_check "port vm2 is connected" xv_wait_port_state vm2 connected 30
fi

tap_check "a pings b" vm_exec a 'ping -c 3 -W 5 198.18.0.2 || { sleep 1; ping -c 3 -W 5 198.18.0.2; }'
tap_check "b pings a" vm_exec b 'ping -c 3 -W 5 198.18.0.1'

src_a=$(vm_serve_blob a 1)
src_b=$(vm_serve_blob b 1)

# txq VM Q: packets the guest sent on tx queue Q.
txq() {
	vm_exec "$1" 'ethtool -S eth0' | awk -v k="tx_queue_$2_packets:" '$1 == k {print $2}'
}
# fetch VM PEER_IP N: N parallel downloads (N flows) of the peer's blob;
# prints one md5 per download.
fetch() {
	vm_exec "$1" "for i in \$(seq $3); do (timeout 60 wget -q -O /tmp/g\$i http://$2/blob) & done; wait; md5sum /tmp/g*; rm -f /tmp/g*" 120 |
		awk '/\/tmp\/g/{print $1}'
}

# both_used: every guest has sent at least one bulk flow (a 1 MiB download
# is about 730 full-size segments) on each of its tx queues.
both_used() {
	[ "${a0:-0}" -ge 500 ] && [ "${a1:-0}" -ge 500 ] && [ "${b0:-0}" -ge 500 ] && [ "${b1:-0}" -ge 500 ]
}
# Each flow is hashed to one tx queue on the sending side: download in
# batches of 4 flows each way until every guest has sent on both queues
# (bounded: 5 batches; 40 flows all on one queue would be 1 in 2^39).
bad=0
n=0
for batch in 1 2 3 4 5; do
	for m in $(fetch a 198.18.0.2 4); do
		n=$((n + 1))
		[ "$m" = "$src_b" ] || bad=$((bad + 1))
	done
	for m in $(fetch b 198.18.0.1 4); do
		n=$((n + 1))
		[ "$m" = "$src_a" ] || bad=$((bad + 1))
	done
	a0=$(txq a 0) a1=$(txq a 1) b0=$(txq b 0) b1=$(txq b 1)
	both_used && break
done
if [ "$n" -eq $((batch * 8)) ] && [ "$bad" -eq 0 ]; then
	tap_ok "$n parallel 1 MiB downloads, all md5 equal"
else
	tap_not_ok "$n of $((batch * 8)) parallel 1 MiB downloads arrived, $bad with a wrong md5"
fi
if both_used; then
	tap_ok "both guests sent bulk TCP on both tx queues (a: $a0/$a1, b: $b0/$b1 packets)"
else
	tap_not_ok "both guests sent bulk TCP on both tx queues (a: '$a0'/'$a1', b: '$b0'/'$b1' packets)"
fi
tap_diag "guest a ethtool -S: $(vm_exec a 'ethtool -S eth0' | awk '/queue_[01]_packets/{printf "%s%s ", $1, $2}')"
tap_diag "guest b ethtool -S: $(vm_exec b 'ethtool -S eth0' | awk '/queue_[01]_packets/{printf "%s%s ", $1, $2}')"

if [ "$XV_BACKEND" = xvio ]; then
	aq=$(xv_port_field vm1 active_queues)
	if [ "$aq" = 2 ]; then
		tap_ok "xvio: port vm1 has 2 active queue pairs"
	else
		tap_not_ok "xvio: port vm1 has 2 active queue pairs (active_queues '$aq')"
	fi
	q1=$(xv_stat vm1 '[.queues[] | select(.queue == 1) | .rx_packets] | add // 0')
	if [ "${q1:-0}" -ge 500 ]; then
		tap_ok "xvio received on vm1's queue 1 ($q1 packets)"
	else
		tap_not_ok "xvio received on vm1's queue 1 ('$q1' packets)"
	fi
	tap_diag "vm1 queues: $(xvctl --json stats vm1 2>/dev/null | jq -c '(.result // .) | .ports[0].queues' 2>/dev/null)"
fi

xv_finish a b
