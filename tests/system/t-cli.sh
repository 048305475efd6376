#!/usr/bin/env bash
# xvioctl's exit statuses and messages: 0 ok, 1 the daemon answered with an
# error ("xvioctl: <code>: <message>" on stderr), 2 usage error (with a
# message), 3 cannot connect. Plus `call` for raw requests and --json.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages

start_xvio || bail "xvio starts"
check "baseline port" xctl port add vm1 vhost "$T/vm1.sock"
check "baseline eth port" xctl port add nic0 eth net_null0,no-rx=1

X=("$XVIOCTL" --ctl "$CTL")
# -- usage errors: 2, with a message on stderr
exit_is "no command" 2 '.' "${X[@]}"
exit_is "unknown command" 2 '.' "${X[@]}" frobnicate
exit_is "unknown option" 2 '.' "${X[@]}" --frobnicate version
exit_is "port without a subcommand" 2 '.' "${X[@]}" port
exit_is "port with an unknown subcommand" 2 '.' "${X[@]}" port frob
exit_is "port add without arguments" 2 '.' "${X[@]}" port add
exit_is "port add NAME only" 2 '.' "${X[@]}" port add x1
exit_is "port add NAME vhost without PATH" 2 '.' "${X[@]}" port add x1 vhost
exit_is "port add NAME eth without DEVARGS" 2 '.' "${X[@]}" port add x1 eth
exit_is "port add with a trailing extra word" 2 '.' "${X[@]}" port add x1 vhost "$T/x1.sock" extra
exit_is "--queues without a value" 2 '.' "${X[@]}" port add x1 vhost "$T/x1.sock" --queues
exit_is "--queues abc" 2 '.' "${X[@]}" port add x1 vhost "$T/x1.sock" --queues abc
exit_is "--queues 17 (xvioctl checks the numbers it parses)" 2 '.' "${X[@]}" port add x1 vhost "$T/x1.sock" --queues 17
exit_is "--client on an eth port" 2 '.' "${X[@]}" port add x1 eth net_null3 --client
exit_is "port del without NAME" 2 '.' "${X[@]}" port del
exit_is "port show without NAME" 2 '.' "${X[@]}" port show
exit_is "relay add with one port" 2 '.' "${X[@]}" relay add vm1
exit_is "relay add with three ports" 2 '.' "${X[@]}" relay add vm1 nic0 x
exit_is "relay without a subcommand" 2 '.' "${X[@]}" relay
exit_is "version with an extra word" 2 '.' "${X[@]}" version extra
exit_is "--ctl without a path" 2 '.' "$XVIOCTL" --ctl
exit_is "call without CMD" 2 '.' "${X[@]}" call
exit_is "call with args that are not JSON" 2 '.' "${X[@]}" call port.show '{nope'
is "nothing was added by the usage errors" "$(xjq '[.ports[].name] | join(",")' port list)" "nic0,vm1"

# -- daemon errors: 1, "xvioctl: <code>: <message>"
exit_is "port del of an unknown port" 1 '^xvioctl: not_found: .+' "${X[@]}" port del nosuch
exit_is "port show of an unknown port" 1 '^xvioctl: not_found: .+' "${X[@]}" port show nosuch
exit_is "port add with a taken name" 1 '^xvioctl: exists: .+' "${X[@]}" port add vm1 vhost "$T/other.sock"
exit_is "port add with a taken path" 1 '^xvioctl: exists: .+' "${X[@]}" port add vm2 vhost "$T/vm1.sock"
exit_is "port add with a bad name" 1 '^xvioctl: invalid_argument: .+' "${X[@]}" port add 'a b' vhost "$T/ab.sock"
exit_is "port add with a driver that does not exist" 1 '^xvioctl: failed: .+' "${X[@]}" port add x1 eth net_nosuchdriver0
exit_is "port add at an unwritable path" 1 '^xvioctl: failed: .+' "${X[@]}" port add x1 vhost /proc/xvio-x1.sock
exit_is "relay add with the same port twice" 1 '^xvioctl: invalid_argument: .+' "${X[@]}" relay add vm1 vm1
exit_is "relay add with an unknown port" 1 '^xvioctl: not_found: .+' "${X[@]}" relay add vm1 nosuch
exit_is "relay del of a relay that is not there" 1 '^xvioctl: not_found: .+' "${X[@]}" relay del vm1 nic0
exit_is "stats of an unknown port" 1 '^xvioctl: not_found: .+' "${X[@]}" stats nosuch
exit_is "call of an unknown command" 1 '' "${X[@]}" call frobnicate
is "call prints the raw error reply" "$(jq -r '.error.code' "$T/cli.out" 2>/dev/null)" unknown_command
is "nothing was added by the daemon errors" "$(xjq '[.ports[].name] | join(",")' port list)" "nic0,vm1"

# -- cannot connect: 3
exit_is "no daemon at --ctl" 3 '.' "$XVIOCTL" --ctl "$T/nobody.sock" version
exit_is "--ctl is not a socket" 3 '.' "$XVIOCTL" --ctl "$T" version
XVIO_CTL=$CTL exit_is "XVIO_CTL picks the socket" 0 '' "$XVIOCTL" version

# -- successes
exit_is "version" 0 '' "${X[@]}" version
exit_is "relay add" 0 '' "${X[@]}" relay add vm1 nic0
exit_is "call port.show with JSON args" 0 '' "${X[@]}" call port.show '{"name": "vm1"}'
is "call prints the raw reply" "$(jq -c '[.ok, .result.name, .result.relay]' "$T/cli.out")" '[true,"vm1","nic0"]'
exit_is "call version without args" 0 '' "${X[@]}" call version
is "call version: raw reply" "$(jq -r '.result.api' "$T/cli.out")" 1
exit_is "--json before the command" 0 '' "${X[@]}" --json port list
is "--json output is JSON" "$(jq -r '(.result // .) | .ports | length' "$T/cli.out")" 2
exit_is "--json after the command" 0 '' "${X[@]}" port list --json
is "--json after the command is JSON too" "$(jq -r '(.result // .) | .ports | length' "$T/cli.out" 2>/dev/null)" 2
exit_is "port list in a table" 0 '' "${X[@]}" port list
like "the table has a header and both ports" "$(cat "$T/cli.out")" 'NAME'
exit_is "--help" 0 '' "$XVIOCTL" --help
like "--help shows the usage" "$(cat "$T/cli.out")" 'usage'
exit_is "relay del" 0 '' "${X[@]}" relay del nic0 vm1
exit_is "port del" 0 '' "${X[@]}" port del vm1

# -- a daemon that goes away
stop_xvio
is "xvio exits 0 on SIGTERM" "$XVIO_RC" 0
exit_is "after the daemon is gone" 3 '.' "${X[@]}" version
done_testing
