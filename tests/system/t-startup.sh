#!/usr/bin/env bash
# Daemon startup: bad command-line arguments and broken --config files make
# xvio exit non-zero (config errors: exit 1) with a message on stderr and no
# control socket (nor vhost socket) left behind; a good --config file is
# applied at start (ports, relays, client mode) and traffic flows.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages

# bad_start DESC WANT_STATUS(any|N) STDERR_REGEX ARGS...: xvio must exit
# within the bound with that status, say something on stderr, and leave no
# control socket.
bad_start() {
	local desc=$1 want=$2 re=$3 rc ctl=$T/bad.sock
	shift 3
	rm -f "$ctl"
	timeout -k 5 60 "$XVIO_BIN" --ctl "$ctl" --lcores 1 --main-lcore 0 "$@" </dev/null >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	local problems=()
	[ $rc -eq 124 ] || [ $rc -eq 137 ] && problems+=("did not exit within 60 s")
	[ $rc -eq 0 ] && problems+=("exit status 0")
	[ "$want" != any ] && [ $rc -ne "$want" ] && problems+=("exit status $rc, expected $want")
	[ -s "$T/bad.err" ] || [ -s "$T/bad.out" ] || problems+=("no message at all")
	[ -n "$re" ] && ! grep -Eqi -- "$re" "$T/bad.err" "$T/bad.out" && problems+=("no message matching /$re/")
	[ -e "$ctl" ] && problems+=("control socket $ctl left behind")
	if [ ${#problems[@]} -eq 0 ]; then
		ok "$desc: exit $rc, $( (grep '^xvio:' "$T/bad.err" || cat "$T/bad.err") | tail -n 1 | head -c 160)"
	else
		not_ok "$desc" "xvio $*" "${problems[@]}"
		diag_file "$T/bad.err" 10
	fi
	if [ "${XVIO_ASAN:-0}" = 1 ] && ! sanitizer_clean "$T/bad.err"; then
		not_ok "$desc: no sanitizer report" "$(grep -m3 -A10 'Sanitizer' "$T/bad.err")"
	fi
}

# -- command line
bad_start "unknown option" any '' --frobnicate
bad_start "a stray positional argument" any '' stray
bad_start "--workers abc" any 'workers' --workers abc
bad_start "--hold-ms abc" any 'hold' --hold-ms abc
bad_start "--lcores on a cpu that does not exist" any '' --lcores 63
bad_start "--ctl-group of a group that does not exist" any 'group' --ctl-group "xvio-nosuch-$$"
bad_start "--ctl in /proc" any '' --ctl /proc/xvio-test.sock
check "no socket in /proc" test ! -e /proc/xvio-test.sock
bad_start "--ctl in a missing directory" any '' --ctl "$T/no/such/dir/ctl.sock"
bad_start "--config of a file that does not exist" 1 'config|no such' --config "$T/nosuch.json"

# -- broken config files
cfg() { printf '%s\n' "$2" >"$T/$1.json"; echo "$T/$1.json"; }
bad_start "config: not JSON" 1 'config' --config "$(cfg notjson '{"ports": [')"
bad_start "config: an array" 1 'config' --config "$(cfg array '[1, 2]')"
bad_start "config: ports is not an array" 1 'config' --config "$(cfg portsobj '{"ports": {"name": "vm1"}}')"
bad_start "config: a port without a name" 1 'config' --config "$(cfg noname '{"ports": [{"type": "eth", "devargs": "net_null0"}]}')"
bad_start "config: unknown port type" 1 'config' --config "$(cfg badtype '{"ports": [{"name": "p", "type": "tun"}]}')"
bad_start "config: unknown port argument" 1 'config' --config "$(cfg badarg '{"ports": [{"name": "p", "type": "eth", "devargs": "net_null0", "colour": "red"}]}')"
bad_start "config: duplicate port names" 1 'config' --config "$(cfg dupname '{"ports": [{"name": "p", "type": "eth", "devargs": "net_null0"}, {"name": "p", "type": "eth", "devargs": "net_null1"}]}')"
bad_start "config: bad devargs" 1 'config' --config "$(cfg baddev '{"ports": [{"name": "p", "type": "eth", "devargs": "net_nosuchdriver0"}]}')"
bad_start "config: relay with an unknown port" 1 'config' --config "$(cfg badrelay "{\"ports\": [{\"name\": \"vm1\", \"type\": \"vhost\", \"path\": \"$T/cfg-vm1.sock\"}], \"relays\": [{\"a\": \"vm1\", \"b\": \"nosuch\"}]}")"
check "a config that failed late leaves no vhost socket behind" test ! -e "$T/cfg-vm1.sock"
bad_start "config: relay of a port with itself" 1 'config' --config "$(cfg selfrelay "{\"ports\": [{\"name\": \"vm1\", \"type\": \"vhost\", \"path\": \"$T/cfg-vm1.sock\"}], \"relays\": [{\"a\": \"vm1\", \"b\": \"vm1\"}]}")"
check "no vhost socket behind (self relay)" test ! -e "$T/cfg-vm1.sock"
bad_start "config: a port in two relays" 1 'config' --config "$(cfg tworelays "{\"ports\": [{\"name\": \"vm1\", \"type\": \"vhost\", \"path\": \"$T/cfg-vm1.sock\"}, {\"name\": \"n0\", \"type\": \"eth\", \"devargs\": \"net_null0\"}, {\"name\": \"n1\", \"type\": \"eth\", \"devargs\": \"net_null1\"}], \"relays\": [{\"a\": \"vm1\", \"b\": \"n0\"}, {\"a\": \"vm1\", \"b\": \"n1\"}]}")"
check "no vhost socket behind (two relays)" test ! -e "$T/cfg-vm1.sock"
bad_start "config: unwritable vhost path" 1 'config' --config "$(cfg badpath '{"ports": [{"name": "vm1", "type": "vhost", "path": "/proc/xvio-cfg.sock"}]}')"

# -- -h / -V
"$XVIO_BIN" -h >"$T/h.out" 2>&1
is "xvio -h exits 0" "$?" 0
like "xvio -h shows the usage" "$(cat "$T/h.out")" '--ctl'
"$XVIO_BIN" -V >"$T/v.out" 2>&1
is "xvio -V exits 0" "$?" 0
like "xvio -V prints the version" "$(cat "$T/v.out")" '[0-9]+\.[0-9]+\.[0-9]+'

# -- a good config
cat >"$T/good.json" <<EOF
{"ports": [
  {"name": "vm1", "type": "vhost", "path": "$T/vm1.sock", "client": false, "queues": 1},
  {"name": "vmc", "type": "vhost", "path": "$T/qemu.sock", "client": true},
  {"name": "nic0", "type": "eth", "devargs": "net_null0,no-rx=1"},
  {"name": "nic1", "type": "eth", "devargs": "net_ring0", "queues": 2}
 ],
 "relays": [{"a": "vm1", "b": "nic0"}, {"a": "nic1", "b": "vmc"}]}
EOF
if start_xvio --config "$T/good.json"; then
	ok "xvio starts with a good --config"
	is "config: ports" "$(xjq '[.ports[] | "\(.name):\(.type)"] | join(",")' port list)" "nic0:eth,nic1:eth,vm1:vhost,vmc:vhost"
	is "config: relays" "$(xjq '[.relays[] | [.a, .b] | sort | join("-")] | sort | join(",")' relay list)" "nic0-vm1,nic1-vmc"
	is "config: vm1 server mode, 1 queue" "$(xjq '"\(.mode) \(.queues)"' port show vm1)" "server 1"
	is "config: vmc client mode, connecting" "$(xjq '"\(.mode) \(.state)"' port show vmc)" "client connecting"
	is "config: nic1 queues" "$(port_field nic1 .queues)" 2
	check "config: vm1's socket exists" test -S "$T/vm1.sock"
	if command -v "$TESTPMD" >/dev/null; then
		start_guest g1 "$T/vm1.sock" --mode txonly --start || not_ok "guest starts"
		wait_until 20 port_state_is vm1 connected
		if wait_until 15 xstat_ge nic0 .tx.packets 1000; then ok "traffic flows on a relay from the config"; else not_ok "traffic flows on a relay from the config" "$(xctl --json stats | jq -c '.ports')"; fi
		stop_guest g1
	fi
	# xvioctl config prints a file xvio --config accepts (round trip).
	if xctl config >"$T/dump.json" 2>/dev/null; then
		stop_xvio
		is "xvio exits 0 on SIGTERM" "$XVIO_RC" 0
		check "control socket removed" test ! -e "$CTL"
		if start_xvio --config "$T/dump.json"; then
			ok "xvio starts again from 'xvioctl config' output"
			is "round trip: same ports" "$(xjq '[.ports[] | "\(.name):\(.type):\(.relay // "-")"] | join(",")' port list)" "nic0:eth:vm1,nic1:eth:vmc,vm1:vhost:nic0,vmc:vhost:nic1"
		else
			not_ok "xvio starts again from 'xvioctl config' output" "$(cat "$T/dump.json")"
		fi
	fi
else
	not_ok "xvio starts with a good --config"
fi
stop_xvio
is "xvio exits 0 on SIGTERM" "$XVIO_RC" 0
done_testing
