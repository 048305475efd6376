#!/usr/bin/env bash
# Every bad input to the control API gets a clear error with the documented
# code (doc/api.md), nothing is half-applied (port and relay lists are
# unchanged), and the same connection keeps working: all the bad requests
# go over ONE connection, each followed by a port.list that must succeed
# and show the same ports. Then: id echo, pipelining, split writes, a
# request just under 1 MiB, one over (too_large; the oversized line is
# dropped and the same connection serves the next request), and device/socket state after failed adds.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages

start_xvio || bail "xvio starts"
xctl port add vm1 vhost "$T/vm1.sock" >/dev/null &&
	xctl port add nic0 eth net_null0,no-rx=1 >/dev/null &&
	xctl port add nic1 eth net_null1,no-rx=1 >/dev/null &&
	xctl relay add vm1 nic0 >/dev/null || bail "baseline ports and relay"

snapshot() { # ports (name, type, relay) and relays, as one line
	local p r
	p=$(xjq '[.ports[] | {name, type, relay: (.relay // null)}] | tojson' port list) || return 1
	r=$(xjq '[.relays[] | [.a, .b] | sort] | sort | tojson' relay list) || return 1
	echo "$p $r"
}
base=$(snapshot)
[ -n "$base" ] || bail "snapshot of the baseline"

long33=$(printf 'a%.0s' $(seq 1 33))
# CODE|DESCRIPTION|REQUEST  (CODE may be a|b when the doc allows either)
cases=(
	'bad_request|malformed JSON|{"cmd": "version"'
	'bad_request|not JSON at all|hello xvio'
	'bad_request|a JSON array|[1, 2, 3]'
	'bad_request|a JSON string|"version"'
	'bad_request|a JSON number|42'
	'bad_request|JSON null|null'
	'bad_request|an object without cmd|{"args": {}}'
	'bad_request|cmd is a number|{"cmd": 7}'
	'bad_request|cmd is null|{"cmd": null}'
	'bad_request|args is an array|{"cmd": "port.list", "args": [1]}'
	'bad_request|args is a string|{"cmd": "port.list", "args": "x"}'
	'unknown_command|unknown command|{"cmd": "port.frobnicate"}'
	'unknown_command|command names are case-sensitive|{"cmd": "PORT.LIST"}'
	'unknown_command|empty command name|{"cmd": ""}'
	'invalid_argument|unknown argument to port.list|{"cmd": "port.list", "args": {"bogus": 1}}'
	'invalid_argument|unknown argument to version|{"cmd": "version", "args": {"x": 1}}'
	'invalid_argument|port.add with an unknown argument|{"cmd": "port.add", "args": {"name": "x1", "type": "eth", "devargs": "net_null9,no-rx=1", "bogus": true}}'
	'invalid_argument|port.add without name|{"cmd": "port.add", "args": {"type": "eth", "devargs": "net_null9,no-rx=1"}}'
	'invalid_argument|port.add without type|{"cmd": "port.add", "args": {"name": "x1", "devargs": "net_null9,no-rx=1"}}'
	"invalid_argument|port.add vhost without path|{\"cmd\": \"port.add\", \"args\": {\"name\": \"x1\", \"type\": \"vhost\"}}"
	'invalid_argument|port.add eth without devargs|{"cmd": "port.add", "args": {"name": "x1", "type": "eth"}}'
	'invalid_argument|port.add name is a number|{"cmd": "port.add", "args": {"name": 5, "type": "eth", "devargs": "net_null9,no-rx=1"}}'
	'invalid_argument|port.add unknown type|{"cmd": "port.add", "args": {"name": "x1", "type": "tun", "devargs": "net_null9,no-rx=1"}}'
	'invalid_argument|port.add empty name|{"cmd": "port.add", "args": {"name": "", "type": "eth", "devargs": "net_null9,no-rx=1"}}'
	'invalid_argument|port.add name with a space|{"cmd": "port.add", "args": {"name": "a b", "type": "eth", "devargs": "net_null9,no-rx=1"}}'
	'invalid_argument|port.add name with a slash|{"cmd": "port.add", "args": {"name": "a/b", "type": "eth", "devargs": "net_null9,no-rx=1"}}'
	"invalid_argument|port.add name of 33 chars|{\"cmd\": \"port.add\", \"args\": {\"name\": \"$long33\", \"type\": \"eth\", \"devargs\": \"net_null9,no-rx=1\"}}"
	"invalid_argument|port.add client is a string|{\"cmd\": \"port.add\", \"args\": {\"name\": \"x1\", \"type\": \"vhost\", \"path\": \"$T/x1.sock\", \"client\": \"yes\"}}"
	"invalid_argument|port.add path is a number|{\"cmd\": \"port.add\", \"args\": {\"name\": \"x1\", \"type\": \"vhost\", \"path\": 12}}"
	'invalid_argument|port.add queues is a string|{"cmd": "port.add", "args": {"name": "x1", "type": "eth", "devargs": "net_null9,no-rx=1", "queues": "2"}}'
	'invalid_argument|port.add queues 0|{"cmd": "port.add", "args": {"name": "x1", "type": "eth", "devargs": "net_null9,no-rx=1", "queues": 0}}'
	'invalid_argument|port.add queues 17|{"cmd": "port.add", "args": {"name": "x1", "type": "eth", "devargs": "net_null9,no-rx=1", "queues": 17}}'
	'invalid_argument|port.add queues -1|{"cmd": "port.add", "args": {"name": "x1", "type": "eth", "devargs": "net_null9,no-rx=1", "queues": -1}}'
	'invalid_argument|port.add queues 1.5|{"cmd": "port.add", "args": {"name": "x1", "type": "eth", "devargs": "net_null9,no-rx=1", "queues": 1.5}}'
	"invalid_argument|port.add vhost queues 17|{\"cmd\": \"port.add\", \"args\": {\"name\": \"x1\", \"type\": \"vhost\", \"path\": \"$T/x1.sock\", \"queues\": 17}}"
	'exists|port.add duplicate name (vhost name, eth port)|{"cmd": "port.add", "args": {"name": "vm1", "type": "eth", "devargs": "net_null9,no-rx=1"}}'
	"exists|port.add duplicate name (eth name, vhost port)|{\"cmd\": \"port.add\", \"args\": {\"name\": \"nic0\", \"type\": \"vhost\", \"path\": \"$T/x1.sock\"}}"
	"exists|port.add duplicate socket path|{\"cmd\": \"port.add\", \"args\": {\"name\": \"vm9\", \"type\": \"vhost\", \"path\": \"$T/vm1.sock\"}}"
	"exists|port.add duplicate socket path, client mode|{\"cmd\": \"port.add\", \"args\": {\"name\": \"vm9\", \"type\": \"vhost\", \"path\": \"$T/vm1.sock\", \"client\": true}}"
	'exists|port.add duplicate device|{"cmd": "port.add", "args": {"name": "nic9", "type": "eth", "devargs": "net_null0,no-rx=1"}}'
	'failed|port.add unknown driver|{"cmd": "port.add", "args": {"name": "x1", "type": "eth", "devargs": "net_nosuchdriver0"}}'
	'failed|port.add bad driver argument|{"cmd": "port.add", "args": {"name": "x1", "type": "eth", "devargs": "net_null5,bogus_key=1"}}'
	'failed|port.add PCI device that is not there|{"cmd": "port.add", "args": {"name": "x1", "type": "eth", "devargs": "0000:ff:1f.7"}}'
	'invalid_argument|failed|port.add empty devargs|{"cmd": "port.add", "args": {"name": "x1", "type": "eth", "devargs": ""}}'
	'failed|port.add unwritable socket path (/proc)|{"cmd": "port.add", "args": {"name": "x1", "type": "vhost", "path": "/proc/xvio-test.sock"}}'
	"failed|port.add socket in a missing directory|{\"cmd\": \"port.add\", \"args\": {\"name\": \"x1\", \"type\": \"vhost\", \"path\": \"$T/no/such/dir/x1.sock\"}}"
	'not_found|relay.add unknown port|{"cmd": "relay.add", "args": {"a": "nosuch", "b": "nic1"}}'
	'not_found|relay.add unknown second port|{"cmd": "relay.add", "args": {"a": "nic1", "b": "nosuch"}}'
	'invalid_argument|relay.add same port twice|{"cmd": "relay.add", "args": {"a": "nic1", "b": "nic1"}}'
	'busy|relay.add port already in a relay|{"cmd": "relay.add", "args": {"a": "vm1", "b": "nic1"}}'
	'busy|relay.add second port already in a relay|{"cmd": "relay.add", "args": {"a": "nic1", "b": "nic0"}}'
	'exists|busy|relay.add the same relay again|{"cmd": "relay.add", "args": {"a": "nic0", "b": "vm1"}}'
	'invalid_argument|relay.add without b|{"cmd": "relay.add", "args": {"a": "nic1"}}'
	'invalid_argument|relay.add a is a number|{"cmd": "relay.add", "args": {"a": 5, "b": "nic1"}}'
	'invalid_argument|relay.add with an unknown argument|{"cmd": "relay.add", "args": {"a": "nic1", "b": "vm1", "c": "x"}}'
	'not_found|relay.del of a relay that does not exist|{"cmd": "relay.del", "args": {"a": "nic0", "b": "nic1"}}'
	'not_found|relay.del with an unknown port|{"cmd": "relay.del", "args": {"a": "vm1", "b": "nosuch"}}'
	'invalid_argument|relay.del without args|{"cmd": "relay.del"}'
	'not_found|port.del unknown port|{"cmd": "port.del", "args": {"name": "nosuch"}}'
	'invalid_argument|port.del without name|{"cmd": "port.del", "args": {}}'
	'invalid_argument|port.del name is an array|{"cmd": "port.del", "args": {"name": ["vm1"]}}'
	'not_found|port.show unknown port|{"cmd": "port.show", "args": {"name": "nosuch"}}'
	'invalid_argument|port.show without name|{"cmd": "port.show"}'
	'not_found|stats of an unknown port|{"cmd": "stats", "args": {"port": "nosuch"}}'
	'invalid_argument|stats port is a number|{"cmd": "stats", "args": {"port": 3}}'
	'not_found|stats.clear of an unknown port|{"cmd": "stats.clear", "args": {"port": "nosuch"}}'
)

# One connection: each bad request, then a port.list to prove the
# connection still works and nothing changed.
reqs=$T/requests
: >"$reqs"
for c in "${cases[@]}"; do
	printf '%s\n{"cmd": "port.list", "id": "after"}\n{"cmd": "relay.list", "id": "after"}\n' "${c##*|}" >>"$reqs"
done
ctl_session <"$reqs" >"$T/replies"
mapfile -t replies <"$T/replies"
i=0
for c in "${cases[@]}"; do
	req=${c##*|}
	rest=${c%|*}
	desc=${rest##*|}
	codes=${rest%|*}
	r=${replies[$i]:-<none>}
	rl=${replies[$((i + 1))]:-<none>}
	rr=${replies[$((i + 2))]:-<none>}
	i=$((i + 3))
	code=$(jq -r 'if .ok == false then .error.code else "ok=\(.ok)" end' <<<"$r" 2>/dev/null)
	msg=$(jq -r '.error.message // ""' <<<"$r" 2>/dev/null)
	if ! grep -Eqx -- "$codes" <<<"$code"; then
		not_ok "$desc -> $codes" "request: $req" "reply:   $r"
		continue
	fi
	if [ -z "$msg" ]; then
		not_ok "$desc -> $code with a message" "reply: $r"
		continue
	fi
	p=$(jq -c '[.result.ports[] | {name, type, relay: (.relay // null)}]' <<<"$rl" 2>/dev/null)
	rs=$(jq -c '[.result.relays[] | [.a, .b] | sort] | sort' <<<"$rr" 2>/dev/null)
	if [ "$p $rs" != "$base" ]; then
		not_ok "$desc -> $code, then nothing changed and the connection works" \
			"request: $req" "reply: $r" "port.list after: $rl" "relay.list after: $rr" "expected: $base"
		continue
	fi
	ok "$desc -> $code ($msg)"
done
is "every request got a reply on the one connection" "${#replies[@]}" "$((3 * ${#cases[@]}))"

# ---- id echo
out=$(ctl_session <<'EOF'
{"id": 7, "cmd": "nosuch"}
{"id": "seven", "cmd": "version"}
{"id": {"k": [1, 2]}, "cmd": "version"}
{"cmd": "version"}
{"id": 7, "cmd": "version", "args": {}}
EOF
)
mapfile -t r <<<"$out"
is "id echoed on an error reply" "$(jq -c '[.id, .ok]' <<<"${r[0]}")" '[7,false]'
is "string id echoed" "$(jq -c '[.id, .ok]' <<<"${r[1]}")" '["seven",true]'
is "object id echoed" "$(jq -c '.id' <<<"${r[2]}")" '{"k":[1,2]}'
is "no id: reply without id (or null)" "$(jq -c '[(.id // null), .ok]' <<<"${r[3]}")" '[null,true]'
is "empty args object is fine" "$(jq -c '.ok' <<<"${r[4]}")" true
is "success replies carry result" "$(jq -r '.result.api' <<<"${r[1]}")" 1

# ---- framing
out=$(ctl_session <<<'@pipe 20')
is "20 pipelined requests in one write: 20 replies" "$(grep -c . <<<"$out")" 20
is "pipelined replies come in order" "$(jq -r .id <<<"$out" | paste -sd,)" "$(seq 1 20 | paste -sd,)"
out=$(printf '%s\n' '@raw {"cmd": "ver' '@raw sion", "id": "split"}' '@nl' | ctl_session)
is "a request split over three writes" "$(jq -c '[.id, .ok]' <<<"$out")" '["split",true]'
out=$(ctl_session <<<'@big 1000000')
is "a 1,000,000-byte request (under 1 MiB) is served" "$(jq -c '.ok' <<<"$out" 2>/dev/null)" true
out=$(printf '%s\n' '@big 1100000' '@sleep 0.5' '{"cmd": "version"}' | ctl_session)
mapfile -t r <<<"$out"
is "a 1,100,000-byte request: too_large" "$(jq -r '.error.code' <<<"${r[0]}" 2>/dev/null)" too_large
is "then the same connection serves the next request" "$(jq -c '.ok' <<<"${r[1]:-}" 2>/dev/null)" true
check "the daemon answers a new connection" xctl version
out=$(printf '%s\n' '@big 3000000' '@sleep 0.5' '{"cmd": "version"}' | ctl_session)
mapfile -t r <<<"$out"
is "a 3,000,000-byte request: too_large" "$(jq -r '.error.code' <<<"${r[0]}" 2>/dev/null)" too_large
is "then the same connection serves the next request" "$(jq -c '.ok' <<<"${r[1]:-}" 2>/dev/null)" true
check "the daemon still answers" xctl version
is "nothing changed through all of it" "$(snapshot)" "$base"

# ---- no half-applied state after failed adds
check "the vdev name of a failed probe can be used at once" xctl port add x5 eth net_null5,no-rx=1
check "the name of a failed add can be used at once" xctl port add x1 vhost "$T/x1.sock"
check "no stray socket at /proc" test ! -e /proc/xvio-test.sock
check "duplicate-path attempt left vm1's socket in place" test -S "$T/vm1.sock"
is "vm1 still in its relay" "$(port_field vm1 .relay)" nic0
check "port del vm1 (in a relay) works" xctl port del vm1
check "port del of the same port again: not found, exit 1" bash -c "'$XVIOCTL' --ctl '$CTL' port del vm1 2>/dev/null; [ \$? -eq 1 ]"
check "daemon healthy" xctl status
stop_xvio
is "xvio exits 0 on SIGTERM" "$XVIO_RC" 0
done_testing
