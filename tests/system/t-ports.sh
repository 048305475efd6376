#!/usr/bin/env bash
# Ports and relays, the basics: port add/list/show/del for vhost (server and
# --client) and eth (net_null, net_ring, net_tap), relay add/list/del; the
# CLI's tables and its --json output (checked with jq), and the raw API.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages

start_xvio || bail "xvio starts"

# -- version / status / help
like "xvioctl version names the DPDK version" "$(xctl version 2>&1)" '22\.11'
is "version --json: api 1" "$(xjq .api version)" 1
like "version --json: version string" "$(xjq .version version)" '^[0-9]+\.[0-9]+\.[0-9]+'
like "version --json: dpdk" "$(xjq .dpdk version)" '^DPDK 22\.11'
is "status --json: pid is the daemon's" "$(xjq .pid status)" "$XVIO_PID"
is "status --json: ctl path" "$(xjq .ctl status)" "$CTL"
is "status --json: no ports yet" "$(xjq .n_ports status)" 0
is "status --json: one worker on CPU 1" "$(xjq '[.workers[].cpu] | join(",")' status)" 1
is "status --json: hugepages in use" "$(xjq .hugepages status)" true
cmp_gt "status --json: memory.rss_bytes > 0" "$(xjq .memory.rss_bytes status)" 0
is "help lists port.add with its arguments" \
	"$(ctl_session <<<'{"cmd":"help"}' | jq -r '.result.commands[] | select(.cmd == "port.add") | [.args[].name] | sort | join(",")')" \
	"client,devargs,ip,mac,name,network,path,port_security,queues,sg,type,uplink"

# -- vhost, server mode
out=$(xctl port add vm1 vhost "$T/vm1.sock" 2>&1)
is "port add vm1 vhost (server) exits 0" "$?" 0
check "vm1's socket was created" test -S "$T/vm1.sock"
like "port add prints the new port" "$out" 'vm1'
is "vm1 type" "$(port_field vm1 .type)" vhost
is "vm1 path" "$(port_field vm1 .path)" "$T/vm1.sock"
is "vm1 mode" "$(port_field vm1 .mode)" server
is "vm1 state: waiting (no guest)" "$(port_field vm1 .state)" waiting
is "vm1 default queues: 8" "$(port_field vm1 .queues)" 8
is "vm1 relay: none" "$(port_field vm1 '.relay // "none"')" none

# port add --json returns the port object
is "port add --json returns the port object" \
	"$(xjq '[.name, .type, .mode, .queues] | join(" ")' port add vm2 vhost "$T/vm2.sock" --queues 2)" \
	"vm2 vhost server 2"

# -- vhost, client mode: no server socket yet -> connecting, xvio retries
xctl port add vmc vhost "$T/qemu.sock" --client >/dev/null
is "port add vmc vhost --client exits 0" "$?" 0
is "vmc mode: client" "$(port_field vmc .mode)" client
is "vmc state: connecting (nothing listens on the path)" "$(port_field vmc .state)" connecting
check "client mode creates no socket file" test ! -e "$T/qemu.sock"

# -- eth: net_null, net_ring, net_tap
check "port add nic0 eth net_null0" xctl port add nic0 eth net_null0
check "port add ring0 eth net_ring0" xctl port add ring0 eth net_ring0
is "nic0 type/driver/state" "$(xjq '[.type, .driver, .state] | join(" ")' port show nic0)" "eth net_null up"
is "nic0 devargs" "$(port_field nic0 .devargs)" net_null0
like "nic0 device MAC" "$(port_field nic0 .dev_mac)" '^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$'
like "nic0 port_id is a number" "$(port_field nic0 .port_id)" '^[0-9]+$'
is "ring0 driver" "$(port_field ring0 .driver)" net_ring
tapif=xvt$$
if check "port add tap0 eth net_tap (iface $tapif)" xctl port add tap0 eth "net_tap0,iface=$tapif"; then
	check "the tap interface exists" ip link show dev "$tapif"
	is "tap0 driver" "$(port_field tap0 .driver)" net_tap
else
	skip "the tap interface exists" "port add failed"
	skip "tap0 driver" "port add failed"
fi
check "port add nicq eth net_null1 --queues 2" xctl port add nicq eth net_null1 --queues 2
is "nicq queues" "$(port_field nicq .queues)" 2

# -- list
names=$(xjq '[.ports[].name] | join(",")' port list)
is "port list --json: every port, sorted by name" "$names" "$(printf '%s\n' nic0 nicq ring0 tap0 vm1 vm2 vmc | sort | paste -sd,)"
is "status n_ports" "$(xjq .n_ports status)" 7
plain=$(xctl port list)
for p in vm1 vm2 vmc nic0 ring0 tap0 nicq; do
	like "port list (table) shows $p" "$plain" "(^|[[:space:]])$p([[:space:]]|$)"
done
like "port show (table) shows the state" "$(xctl port show vm1)" 'waiting'

# -- relays
out=$(xjq '[.a, .b] | join(" ")' relay add vm1 nic0)
is "relay add vm1 nic0 --json" "$out" "vm1 nic0"
check "relay add vm2 ring0" xctl relay add vm2 ring0
check "relay add tap0 nicq (eth <-> eth)" xctl relay add tap0 nicq
is "relay list --json" "$(xjq '[.relays[] | [.a, .b] | sort | join("-")] | sort | join(",")' relay list)" "nic0-vm1,nicq-tap0,ring0-vm2"
like "relay list (table) shows vm1 and nic0" "$(xctl relay list)" 'vm1.*nic0|nic0.*vm1'
is "vm1 relay field" "$(port_field vm1 .relay)" nic0
is "nic0 relay field" "$(port_field nic0 .relay)" vm1
is "status n_relays" "$(xjq .n_relays status)" 3
check "relay del in the other order (nic0 vm1)" xctl relay del nic0 vm1
is "vm1 has no relay after relay del" "$(port_field vm1 '.relay // "none"')" none
is "relay list after del" "$(xjq '[.relays[] | [.a, .b] | sort | join("-")] | sort | join(",")' relay list)" "nicq-tap0,ring0-vm2"

# -- stats shape and drop accounting. net_null0 (rx on) generated packets
# all along: while relayed to vm1, which has no guest, they are dropped as
# link_down and charged to vm1; now that the relay is gone nic0's packets
# have nowhere to go: no_dest, charged to nic0.
s=$(xctl --json stats vm1)
is "stats vm1: one port" "$(jq -r '(.result // .) | .ports | length' <<<"$s")" 1
is "stats: every drop reason is there" \
	"$(jq -r '(.result // .) | .ports[0].drops | keys | map(select(. != "total")) | sort | join(",")' <<<"$s")" \
	"$(sed -n 's/^XV_DROP([A-Z_]*, *"\([a-z_]*\)".*/\1/p' "$XVIO_ROOT/src/core/xv_drop.def" | sort | paste -sd,)"
is "stats vm1: nothing received or sent (no guest)" "$(jq -r '(.result // .) | .ports[0] | [.rx.packets, .rx.bytes, .tx.packets, .tx.bytes] | join(",")' <<<"$s")" "0,0,0,0"
cmp_gt "stats vm1: net_null's packets were dropped as link_down" "$(jq -r '(.result // .) | .ports[0].drops.link_down' <<<"$s")" 0
is "stats vm1: drops.total is the sum of the reasons" \
	"$(jq -r '(.result // .) | .ports[0].drops | (.total == ([to_entries[] | select(.key != "total") | .value] | add))' <<<"$s")" true
is "stats: workers[0].lcore is 1" "$(jq -r '(.result // .) | .workers[0].lcore' <<<"$s")" 1
cmp_gt "stats: tsc_hz" "$(jq -r '(.result // .) | .tsc_hz' <<<"$s")" 0
like "stats nic0 has the device's own counters" "$(xjq '.ports[0].nic | keys | join(",")' stats nic0)" 'imissed'
n0=$(xstat nic0 .drops.no_dest)
wait_until 10 xstat_ge nic0 .drops.no_dest $((n0 + 1))
cmp_gt "stats nic0: no_dest drops grow (no relay)" "$(xstat nic0 .drops.no_dest)" "$n0"
check "stats clear vm1" xctl stats clear vm1
is "vm1 counters are zero after stats clear" "$(xstat vm1 '[.rx.packets, .tx.packets, .drops.total] | join(",")')" "0,0,0"
check "stats clear (all)" xctl stats clear
check "stats for a port in the table" xctl stats nic0

# -- del
check "port del vm2 (in a relay: removes the relay too)" xctl port del vm2
is "relay list after deleting vm2" "$(xjq '[.relays[] | [.a, .b] | sort | join("-")] | join(",")' relay list)" "nicq-tap0"
check "vm2's socket file is removed" test ! -e "$T/vm2.sock"
check "ring0 still there, no relay" test "$(port_field ring0 '.relay // "none"')" = none
for p in vm1 vmc nic0 ring0 tap0 nicq; do
	check "port del $p" xctl port del "$p"
done
is "port list empty" "$(xjq '.ports | length' port list)" 0
is "relay list empty" "$(xjq '.relays | length' relay list)" 0
check "vm1's socket file is removed" test ! -e "$T/vm1.sock"
check "the tap interface is gone" bash -c "! ip link show dev $tapif 2>/dev/null"

# -- re-add with the same names, paths and devices
check "re-add vm1 at the same path" xctl port add vm1 vhost "$T/vm1.sock"
check "re-add nic0 with the same devargs" xctl port add nic0 eth net_null0
check "re-add the relay" xctl relay add vm1 nic0
check "daemon still answers" xctl version

done_testing
