#!/usr/bin/env bash
# Scale: 256 vhost ports (server mode, no guests) added, listed and shown;
# the daemon's memory (status: hugepage_bytes + rss_bytes) is printed and
# must stay below 256 MB; then all are removed and memory comes back down.
# Ports are added through xvioctl (one process each, like an operator's
# script would) and through one raw connection (like an orchestrator).
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages

NPORTS=${XVIO_SCALE_PORTS:-256}
LIMIT=$((256 * 1024 * 1024))
mkdir -p "$T/s"

start_xvio || bail "xvio starts"
mem() { xjq '.memory | .hugepage_bytes + .rss_bytes' status; }
mem0=$(mem)
diag "memory at start: $((mem0 / 1048576)) MiB ($(xjq '.memory | tojson' status))"

# Half through xvioctl, half in one connection.
half=$((NPORTS / 2))
fail=0
for ((i = 0; i < half; i++)); do
	xctl port add "v$i" vhost "$T/s/v$i.sock" >/dev/null 2>>"$T/add.err" || fail=$((fail + 1))
done
is "$half ports added with xvioctl" "$fail" 0
for ((i = half; i < NPORTS; i++)); do
	printf '{"id": %d, "cmd": "port.add", "args": {"name": "v%d", "type": "vhost", "path": "%s/s/v%d.sock"}}\n' "$i" "$i" "$T" "$i"
done | ctl_session >"$T/add.replies"
is "$((NPORTS - half)) ports added on one connection" "$(jq -r 'select(.ok == true) | .id' "$T/add.replies" | wc -l)" $((NPORTS - half))
grep -v '"ok":true' "$T/add.replies" | head -3 | sed 's/^/# /'

is "port list has $NPORTS ports" "$(xjq '.ports | length' port list)" "$NPORTS"
is "status n_ports" "$(xjq .n_ports status)" "$NPORTS"
is "all $NPORTS are waiting" "$(xjq '[.ports[] | select(.state == "waiting")] | length' port list)" "$NPORTS"
is "all $NPORTS sockets exist" "$(find "$T/s" -type s | wc -l)" "$NPORTS"
is "port show of the last one" "$(port_field "v$((NPORTS - 1))" .path)" "$T/s/v$((NPORTS - 1)).sock"
is "stats covers every port" "$(xjq '.ports | length' stats)" "$NPORTS"
check "port list as a table" xctl port list

m=$(mem)
hp=$(xjq .memory.hugepage_bytes status)
rss=$(xjq .memory.rss_bytes status)
diag "memory with $NPORTS vhost ports: $((m / 1048576)) MiB (hugepage $((hp / 1048576)) MiB + rss $((rss / 1048576)) MiB; $(xjq '.memory | tojson' status))"
cmp_lt "memory with $NPORTS vhost ports below 256 MB (hugepage_bytes + rss_bytes = $m)" "$m" "$LIMIT"

# A guest on one of them still works at this scale.
if command -v "$TESTPMD" >/dev/null; then
	check "relay the last port to a null NIC" bash -c "'$XVIOCTL' --ctl '$CTL' port add nic0 eth net_null0,no-rx=1 && '$XVIOCTL' --ctl '$CTL' relay add v$((NPORTS - 1)) nic0"
	start_guest g1 "$T/s/v$((NPORTS - 1)).sock" --mode txonly --start || not_ok "guest starts"
	wait_until 20 port_state_is "v$((NPORTS - 1))" connected
	if wait_until 15 xstat_ge nic0 .tx.packets 1000; then ok "traffic flows among $NPORTS ports"; else not_ok "traffic flows among $NPORTS ports"; fi
	stop_guest g1
	check "remove nic0" xctl port del nic0
fi

# Remove them all: half on one connection, half with xvioctl.
for ((i = 0; i < half; i++)); do
	printf '{"id": %d, "cmd": "port.del", "args": {"name": "v%d"}}\n' "$i" "$i"
done | ctl_session >"$T/del.replies"
is "$half ports removed on one connection" "$(jq -r 'select(.ok == true) | .id' "$T/del.replies" | wc -l)" "$half"
fail=0
for ((i = half; i < NPORTS; i++)); do
	xctl port del "v$i" >/dev/null 2>>"$T/del.err" || fail=$((fail + 1))
done
is "$((NPORTS - half)) ports removed with xvioctl" "$fail" 0
is "port list empty" "$(xjq '.ports | length' port list)" 0
is "no socket left" "$(find "$T/s" -type s | wc -l)" 0
m2=$(mem)
diag "memory after removing them: $((m2 / 1048576)) MiB"
cmp_lt "memory after removing them stays below 256 MB" "$m2" "$LIMIT"
stop_xvio
is "xvio exits 0 on SIGTERM" "$XVIO_RC" 0
done_testing
