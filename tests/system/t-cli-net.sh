#!/usr/bin/env bash
# xvioctl's virtual network commands (doc/network.md, "CLI"; doc/cli.md):
# first the argument errors xvioctl catches itself (exit 2 with a message,
# nothing sent), then, against a daemon that has network.add, the round
# trip: networks, security groups and their rules, ports in a network
# (vhost in server mode, no guest), port set, conntrack, --json output and
# the daemon's errors (exit 1, "xvioctl: <code>: <message>").
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages

start_xvio || bail "xvio starts"
check "baseline port" xctl port add base0 eth net_null0,no-rx=1

# out_like DESC REGEX: the stdout of the last exit_is matches (extended regex)
out_like() { like "$1" "$(cat "$T/cli.out")" "$2"; }

# jout FILTER: a jq filter over the stdout of the last exit_is (--json)
jout() { jq -r "$1" "$T/cli.out" 2>&1; }

X=("$XVIOCTL" --ctl "$CTL")
U='^xvioctl: .+' # a usage error's first line

# ---------------------------------------------------------------- usage errors
# Caught by xvioctl: exit 2, a reason and the command's usage, nothing sent
# (so these pass whatever the daemon knows).
exit_is "network without a subcommand" 2 "^xvioctl: incomplete command 'network'" "${X[@]}" network
exit_is "network with an unknown subcommand" 2 "^xvioctl: unknown command 'network frob'" "${X[@]}" network frob
exit_is "network add without NET" 2 "$U" "${X[@]}" network add
exit_is "network add with two names" 2 "$U" "${X[@]}" network add n1 n2
exit_is "network del without NET" 2 "$U" "${X[@]}" network del
exit_is "network list with a word" 2 "$U" "${X[@]}" network list n1
like "a usage error shows the command's usage" "$(cat "$T/cli.err")" '^usage: xvioctl network list'
exit_is "sg without a subcommand" 2 "^xvioctl: incomplete command 'sg'" "${X[@]}" sg
exit_is "sg rule without a subcommand" 2 "^xvioctl: incomplete command 'sg rule'" "${X[@]}" sg rule
exit_is "sg rule with an unknown subcommand" 2 "^xvioctl: unknown command 'sg rule frob'" "${X[@]}" sg rule frob
exit_is "sg add without SG" 2 "$U" "${X[@]}" sg add
exit_is "sg show without SG" 2 "$U" "${X[@]}" sg show
exit_is "sg list with a word" 2 "$U" "${X[@]}" sg list web
exit_is "sg rule add without a direction" 2 "$U" "${X[@]}" sg rule add web
exit_is "sg rule add with a bad direction" 2 'ingress or egress' "${X[@]}" sg rule add web sideways
exit_is "sg rule add with --remote and --remote-group" 2 'not both' "${X[@]}" sg rule add web ingress --remote 10.0.0.0/8 --remote-group web
exit_is "sg rule add with --proto without a value" 2 '--proto needs a value' "${X[@]}" sg rule add web ingress --proto
exit_is "sg rule add with a port option" 2 "does not take --mac" "${X[@]}" sg rule add web ingress --mac 02:00:00:00:00:01
exit_is "sg rule add with an extra word" 2 "$U" "${X[@]}" sg rule add web ingress tcp
exit_is "sg rule del without RULE_ID" 2 "$U" "${X[@]}" sg rule del web
exit_is "sg rule del with a RULE_ID that is not a number" 2 'RULE_ID must be a rule number' "${X[@]}" sg rule del web abc
exit_is "sg rule del with a negative RULE_ID" 2 'RULE_ID must be a rule number' "${X[@]}" sg rule del -- web -1
exit_is "ct without a subcommand" 2 "^xvioctl: incomplete command 'ct'" "${X[@]}" ct
exit_is "ct list with two networks" 2 "$U" "${X[@]}" ct list n1 n2
exit_is "ct flush with a rule option" 2 'does not take --proto' "${X[@]}" ct flush --proto tcp
exit_is "port set without NAME" 2 "$U" "${X[@]}" port set
exit_is "port set with nothing to set" 2 'needs something to set' "${X[@]}" port set base0
exit_is "port set --port-security maybe" 2 '--port-security takes on or off' "${X[@]}" port set base0 --port-security maybe
exit_is "port set --uplink=yes" 2 '--uplink takes on or off' "${X[@]}" port set base0 --uplink=yes
exit_is "port set with a rule option" 2 'does not take --ipv6' "${X[@]}" port set base0 --sg web --ipv6
exit_is "port add --port-security 1" 2 '--port-security takes on or off' "${X[@]}" port add x1 vhost "$T/x1.sock" --network n1 --port-security 1
exit_is "port add with a rule option" 2 'does not take --remote' "${X[@]}" port add x1 vhost "$T/x1.sock" --remote 10.0.0.0/8
exit_is "port list with a network option" 2 'does not take --network' "${X[@]}" port list --network n1
exit_is "--network without a value" 2 '--network needs a value' "${X[@]}" port add x1 vhost "$T/x1.sock" --network
is "nothing was added by the usage errors" "$(xjq '[.ports[].name] | join(",")' port list)" "base0"

exit_is "--help" 0 '' "$XVIOCTL" --help
for form in 'network add NET' 'network del NET' 'network list' 'sg add SG' 'sg del SG' 'sg list' \
	'sg show SG' 'sg rule add SG ingress|egress' 'sg rule del SG RULE_ID' 'ct list \[NET\]' \
	'ct count \[NET\]' 'ct flush \[NET\]' 'port set NAME \[--network NET\]' \
	'port add NAME vhost PATH --network NET --mac MAC --ip' 'port add NAME eth DEVARGS --network NET --uplink'; do
	out_like "--help lists '${form//\\/}'" "$form"
done
exit_is "sg --help" 0 '' "${X[@]}" sg --help
out_like "sg --help: the usage of every sg command" 'sg rule del SG RULE_ID'
exit_is "the old port add form still works" 0 '' "${X[@]}" port add old0 vhost "$T/old0.sock" --queues 2
exit_is "port del of it" 0 '' "${X[@]}" port del old0

# ---------------------------------------------------------------- round trip

if ! xctl --json call help | jq -e '.result.commands | any(.cmd == "network.add")' >/dev/null; then
	exit_is "network list against a daemon without networks" 1 '^xvioctl: unknown_command: .+' "${X[@]}" network list
	skip "network, sg, port and ct round trip" "the daemon has no network.add ('xvioctl call help' does not list it)"
	done_testing
fi

# -- networks
exit_is "network add blue" 0 '' "${X[@]}" network add blue
out_like "network add prints the name" '^name: +blue$'
out_like "network add prints the zone" '^zone: +[0-9]+$'
exit_is "network add red --json" 0 '' "${X[@]}" --json network add red
is "--json network add: the name" "$(jout .name)" red
blue_zone=$(xjq '.networks[] | select(.name == "blue") | .zone' network list)
red_zone=$(jout .zone)
like "network add: red has a zone from 1 to 4095" "$red_zone" '^[0-9]+$'
cmp_ge "red's zone >= 1" "$red_zone" 1
cmp_lt "red's zone < 4096" "$red_zone" 4096
if [ "$red_zone" != "$blue_zone" ]; then ok "two networks, two zones"; else not_ok "two networks, two zones" "both $red_zone"; fi
exit_is "network add of a taken name" 1 '^xvioctl: exists: .+' "${X[@]}" network add blue
exit_is "network list" 0 '' "${X[@]}" network list
out_like "network list: a table with NAME ZONE PORTS" '^NAME +ZONE +PORTS'
out_like "network list: blue with its zone, no ports" "^blue +$blue_zone +-$"
is "network list --json" "$(xjq '[.networks[].name] | sort | join(",")' network list)" "blue,red"
exit_is "network del red" 0 '' "${X[@]}" network del red
[ -s "$T/cli.out" ] && not_ok "network del prints nothing" "stdout: $(cat "$T/cli.out")" || ok "network del prints nothing"
is "red is gone" "$(xjq '[.networks[].name] | join(",")' network list)" "blue"
exit_is "network del of an unknown network" 1 '^xvioctl: not_found: .+' "${X[@]}" network del red

# -- security groups
exit_is "sg add web" 0 '' "${X[@]}" sg add web
out_like "sg add prints the group with its rules" 'rules: +2'
out_like "sg add: the rules table" '^ID +DIRECTION +FAMILY +PROTO +PORTS +REMOTE$'
out_like "sg add: an IPv4 egress rule" '^ *[0-9]+ +egress +IPv4 +any +- +(-|0\.0\.0\.0/0)$'
out_like "sg add: an IPv6 egress rule" '^ *[0-9]+ +egress +IPv6 +any +- +(-|::/0)$'
exit_is "sg add ssh --json" 0 '' "${X[@]}" --json sg add ssh
is "--json sg add: the group as sg show" "$(jout '[.name, (.rules | length)] | tojson')" '["ssh",2]'
is "default rules: egress, IPv4 and IPv6, any protocol, anyone" \
	"$(xjq '[.rules[] | [.direction, .ipv6, .proto, .ports, (.remote // "any" | sub("^(0\\.0\\.0\\.0|::)/0$"; "any")), .remote_group]] | sort | tojson' sg show web)" \
	'[["egress",false,"any",null,"any",null],["egress",true,"any",null,"any",null]]'
exit_is "sg add of a taken name" 1 '^xvioctl: exists: .+' "${X[@]}" sg add web
exit_is "sg show of an unknown group" 1 '^xvioctl: not_found: .+' "${X[@]}" sg show nosuch
exit_is "sg list" 0 '' "${X[@]}" sg list
out_like "sg list: a table with NAME RULES PORTS" '^NAME +RULES +PORTS'
out_like "sg list: web, 2 rules, no ports" '^web +2 +-$'
is "sg list --json" "$(xjq '[.groups[] | "\(.name):\(.rules)"] | sort | join(",")' sg list)" "ssh:2,web:2"

# -- rules
exit_is "sg rule add web ingress tcp 80" 0 '' "${X[@]}" sg rule add web ingress --proto tcp --ports 80
r80=$(cat "$T/cli.out")
like "sg rule add prints the new rule's id" "$r80" '^[0-9]+$'
exit_is "sg rule add with a port range and a remote prefix" 0 '' "${X[@]}" sg rule add web ingress --proto tcp --ports 22-23 --remote 10.1.0.0/16
r22=$(cat "$T/cli.out")
like "  its id" "$r22" '^[0-9]+$'
exit_is "sg rule add IPv6 with a remote group" 0 '' "${X[@]}" sg rule add web ingress --proto icmpv6 --ipv6 --remote-group ssh
rgrp=$(cat "$T/cli.out")
like "  its id" "$rgrp" '^[0-9]+$'
exit_is "sg rule add --json" 0 '' "${X[@]}" --json sg rule add web egress --proto udp --ports=53
is "--json sg rule add: one id" "$(jout '.ids | length')" 1
is "--json sg rule add: apply_ms is a number" "$(jout '.apply_ms | type')" number
rdns=$(jout '.ids[0]')
is "every rule has its own id" "$(printf '%s\n' "$r80" "$r22" "$rgrp" "$rdns" | sort -u | wc -l)" 4
is "sg show: 6 rules" "$(xjq '.rules | length' sg show web)" 6
is "sg show: the tcp 22-23 rule as added" \
	"$(xjq ".rules[] | select(.id == $r22) | [.direction, .ipv6, .proto, (.ports | tostring), .remote] | tojson" sg show web)" \
	'["ingress",false,"tcp","22-23","10.1.0.0/16"]'
is "sg show: the remote group rule as added" \
	"$(xjq ".rules[] | select(.id == $rgrp) | [.direction, .ipv6, .proto, .remote_group] | tojson" sg show web)" \
	'["ingress",true,"icmpv6","ssh"]'
exit_is "sg show web" 0 '' "${X[@]}" sg show web
out_like "sg show: the prefix rule in the table" "^ *$r22 +ingress +IPv4 +tcp +22-23 +10\\.1\\.0\\.0/16$"
out_like "sg show: the remote group rule in the table" "^ *$rgrp +ingress +IPv6 +icmpv6 +- +group ssh$"
exit_is "sg rule add to an unknown group" 1 '^xvioctl: not_found: .+' "${X[@]}" sg rule add nosuch ingress
exit_is "sg rule add with an unknown remote group" 1 '^xvioctl: not_found: .+' "${X[@]}" sg rule add web ingress --remote-group nosuch
exit_is "sg rule add with a bad prefix (the daemon judges)" 1 '^xvioctl: invalid_argument: .+' "${X[@]}" sg rule add web ingress --remote 10.0.0.0/33
exit_is "sg rule add with an IPv6 prefix on an IPv4 tcp rule" 1 '^xvioctl: invalid_argument: .+' "${X[@]}" sg rule add web ingress --proto tcp --remote fd00::/64
exit_is "sg rule add with a bad protocol" 1 '^xvioctl: invalid_argument: .+' "${X[@]}" sg rule add web ingress --proto nosuch
exit_is "sg rule add with bad ports" 1 '^xvioctl: invalid_argument: .+' "${X[@]}" sg rule add web ingress --proto tcp --ports 90-80
is "the refused rules were not added" "$(xjq '.rules | length' sg show web)" 6
exit_is "sg rule del" 0 '' "${X[@]}" sg rule del web "$rdns"
[ -s "$T/cli.out" ] && not_ok "sg rule del prints nothing" "stdout: $(cat "$T/cli.out")" || ok "sg rule del prints nothing"
is "the rule is gone" "$(xjq "[.rules[] | select(.id == $rdns)] | length" sg show web)" 0
exit_is "sg rule del of a rule that is gone" 1 '^xvioctl: not_found: .+' "${X[@]}" sg rule del web "$rdns"
exit_is "sg rule del in an unknown group" 1 '^xvioctl: not_found: .+' "${X[@]}" sg rule del nosuch 1
exit_is "sg rule del --json" 0 '' "${X[@]}" --json sg rule del web "$r80"
is "--json sg rule del: apply_ms" "$(jout '.apply_ms | type')" number

# -- ports in a network
exit_is "port add vhost in blue with MAC, addresses and a group" 0 '' \
	"${X[@]}" port add vm1 vhost "$T/vm1.sock" --network blue --mac 02:00:00:00:00:01 --ip 10.0.0.1,fd00::1 --sg web
out_like "port add prints the port with its network" '^network: +blue$'
is "port show: network, mac, port security, uplink" \
	"$(xjq '[.network, (.mac | ascii_downcase), .port_security, .uplink, .state] | tojson' port show vm1)" \
	'["blue","02:00:00:00:00:01",true,false,"waiting"]'
like "port show: the addresses" "$(xjq '.ip | if type == "array" then join(",") else . end' port show vm1)" '^10\.0\.0\.1(/32)?,fd00::1(/128)?$'
is "port show: the groups" "$(xjq '.sg | if type == "array" then join(",") else . end' port show vm1)" web
exit_is "port add eth uplink in blue" 0 '' "${X[@]}" port add up0 eth net_null1,no-rx=1 --network blue --uplink
is "the uplink: uplink, no port security" "$(xjq '[.network, .uplink, .port_security] | tojson' port show up0)" '["blue",true,false]'
is "network list: blue's ports" "$(xjq '.networks[] | select(.name == "blue") | .ports | sort | join(",")' network list)" "up0,vm1"
exit_is "port list" 0 '' "${X[@]}" port list
out_like "port list: a NETWORK column" '^NAME +TYPE +STATE +LINK +QUEUES +RELAY +NETWORK +WHERE'
out_like "port list: vm1 in blue" '^vm1 +vhost +waiting +[a-z]+ +[0-9/]+ +- +blue '
exit_is "port add in an unknown network" 1 '^xvioctl: not_found: .+' "${X[@]}" port add vm2 vhost "$T/vm2.sock" --network nosuch --mac 02:00:00:00:00:02 --ip 10.0.0.2
exit_is "port add with an unknown group" 1 '^xvioctl: not_found: .+' "${X[@]}" port add vm2 vhost "$T/vm2.sock" --network blue --mac 02:00:00:00:00:02 --ip 10.0.0.2 --sg nosuch
exit_is "port add with a bad address (the daemon judges)" 1 '^xvioctl: invalid_argument: .+' "${X[@]}" port add vm2 vhost "$T/vm2.sock" --network blue --mac 02:00:00:00:00:02 --ip 10.0.0.300
exit_is "port add with a bad MAC" 1 '^xvioctl: invalid_argument: .+' "${X[@]}" port add vm2 vhost "$T/vm2.sock" --network blue --mac 02:00:00:00:00 --ip 10.0.0.2
exit_is "port add with port security and no MAC" 1 '^xvioctl: invalid_argument: .+' "${X[@]}" port add vm2 vhost "$T/vm2.sock" --network blue --port-security on
is "nothing was added by the refused port adds" "$(xjq '[.ports[].name] | join(",")' port list)" "base0,up0,vm1"
exit_is "relay add with a port in a network" 1 '^xvioctl: [a-z_]+: .+' "${X[@]}" relay add vm1 base0

# -- port set
exit_is "port set --sg web,ssh" 0 '' "${X[@]}" port set vm1 --sg web,ssh
out_like "port set prints the port" '^name: +vm1'
is "port set: both groups" "$(xjq '.sg | if type == "array" then sort | join(",") else . end' port show vm1)" "ssh,web"
is "sg list: ssh is on vm1" "$(xjq '.groups[] | select(.name == "ssh") | .ports | join(",")' sg list)" vm1
exit_is "port set --port-security off while the port has groups" 1 '^xvioctl: invalid_argument: .+' "${X[@]}" port set vm1 --port-security off
exit_is "port set --port-security off --sg '' --json" 0 '' "${X[@]}" --json port set vm1 --port-security off --sg ''
is "--json port set: the port, port security off, no groups" "$(jout '[.name, .port_security, (.sg | length)] | tojson')" '["vm1",false,0]'
exit_is "port set --port-security on --sg web,ssh" 0 '' "${X[@]}" port set vm1 --port-security on --sg web,ssh
is "port security is on again, with both groups" "$(xjq '[.port_security, (.sg | sort | join(","))] | tojson' port show vm1)" '[true,"ssh,web"]'
exit_is "port set with an unknown group" 1 '^xvioctl: not_found: .+' "${X[@]}" port set vm1 --sg web,nosuch
is "a refused port set changes nothing" "$(xjq '.sg | if type == "array" then sort | join(",") else . end' port show vm1)" "ssh,web"
exit_is "port set of an unknown port" 1 '^xvioctl: not_found: .+' "${X[@]}" port set nosuch --sg web
exit_is "port set --ip with a bad address" 1 '^xvioctl: invalid_argument: .+' "${X[@]}" port set vm1 --ip 10.0.0.1,nope
exit_is "port set --sg '' (no groups)" 0 '' "${X[@]}" port set vm1 --sg ''
is "no groups left" "$(xjq '.sg | if type == "array" then join(",") else (. // "") end' port show vm1)" ""
exit_is "port set --sg web" 0 '' "${X[@]}" port set vm1 --sg web

# -- in use
exit_is "sg del of a group a port has" 1 '^xvioctl: busy: .+' "${X[@]}" sg del web
exit_is "sg del of a group a rule names" 1 '^xvioctl: busy: .+' "${X[@]}" sg del ssh
exit_is "network del of a network with ports" 1 '^xvioctl: busy: .+' "${X[@]}" network del blue
exit_is "sg del of an unknown group" 1 '^xvioctl: not_found: .+' "${X[@]}" sg del nosuch

# -- conntrack (no traffic: nothing tracked)
exit_is "ct count" 0 '' "${X[@]}" ct count
out_like "ct count: the count" '^count: +0$'
out_like "ct count: the capacity" '^capacity: +[0-9]+$'
exit_is "ct count --json" 0 '' "${X[@]}" --json ct count blue
is "--json ct count blue: none" "$(jout .count)" 0
cmp_gt "--json ct count: the capacity" "$(jout .capacity)" 0
exit_is "ct count of an unknown network" 1 '^xvioctl: not_found: .+' "${X[@]}" ct count nosuch
exit_is "ct list" 0 '' "${X[@]}" ct list
out_like "ct list: the table header" '^NETWORK +PROTO +SOURCE +DESTINATION +STATE +EXPIRES'
exit_is "ct list --json blue" 0 '' "${X[@]}" --json ct list blue
is "--json ct list: no connections, not truncated" "$(jout '[(.connections | length), .truncated] | tojson')" '[0,false]'
exit_is "ct flush" 0 '' "${X[@]}" ct flush
out_like "ct flush: how many" '^flushed: +0'
exit_is "ct flush --json blue" 0 '' "${X[@]}" --json ct flush blue
is "--json ct flush: flushed" "$(jout .flushed)" 0
exit_is "ct flush of an unknown network" 1 '^xvioctl: not_found: .+' "${X[@]}" ct flush nosuch
is "status counts the network" "$(xjq '.net.networks' status)" 1

# -- taking it down
exit_is "port set --network '' (leave the network)" 0 '' "${X[@]}" port set vm1 --network '' --port-security off --sg ''
is "vm1 is in no network" "$(xjq '.network // ""' port show vm1)" ""
is "network list: blue has only up0" "$(xjq '.networks[] | select(.name == "blue") | .ports | join(",")' network list)" up0
exit_is "port del up0" 0 '' "${X[@]}" port del up0
exit_is "network del blue" 0 '' "${X[@]}" network del blue
is "no networks" "$(xjq '.networks | length' network list)" 0
exit_is "sg rule del of the remote group rule" 0 '' "${X[@]}" sg rule del web "$rgrp"
exit_is "sg del ssh once nothing names it" 0 '' "${X[@]}" sg del ssh
exit_is "sg del web once no port has it" 0 '' "${X[@]}" sg del web
is "no groups" "$(xjq '.groups | length' sg list)" 0
exit_is "port del vm1" 0 '' "${X[@]}" port del vm1

stop_xvio
is "xvio exits 0 on SIGTERM" "$XVIO_RC" 0
done_testing
