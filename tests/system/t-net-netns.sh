#!/usr/bin/env bash
# xvio-test-timeout: 240
# Virtual network mode with real kernel stacks (doc/network.md): Linux
# network namespaces, each on a veth whose root end is an xvio eth port
# (net_af_packet), switched by one xvio.
#
#   network blue (198.18.1.0/24, 2001:2:0:1::/64)
#     c1  client   02:00:00:b1:00:01  .1  ::1   group client (default egress)
#     s1  server   02:00:00:b1:00:02  .2  ::2   group server (ingress rules)
#     c2  client   02:00:00:b1:00:03  .3        group other (egress tcp 5001,
#                                               udp 5010 only)
#     up  uplink   (no port security)           sniffs what it gets
#   network red (the same subnet, the same addresses)
#     r1  02:00:00:c1:00:01  .1    r2  02:00:00:c1:00:02  .2   group redsg
#
# Checked: ARP and ND resolution; TCP, UDP, ICMP (and ICMPv6, TCP over IPv6)
# allowed by s1's rules both ways, replies by conntrack alone; denied
# traffic dropped as sg_ingress / sg_egress; an ICMP error passes as
# related; ct list/count/flush; remote-group rules; spoofed source IP, MAC,
# ARP and IPv6 source dropped and counted, let through at once after
# `port set --ip/--mac` or with port security off; the two networks isolated
# (broadcast included); unknown unicast to the uplink only; rule changes
# (1,000 rules in one call and back) under a live TCP connection, and
# removing the allowing rule keeps it but blocks new ones.
# Traffic comes from the namespaces' own stacks (tests/lib/netpkt.py:
# sockets), raw frames only for ARP spoofing.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages
need_cmd ip ethtool jq

NETPKT=$XVIO_ROOT/tests/lib/netpkt.py
# nx NS OP...: netpkt.py in the test namespace NS
nx() { local ns=$1; shift; ip netns exec "$ns$$" "$PY" "$NETPKT" "$@"; }

declare -A MAC=([c1]=02:00:00:b1:00:01 [s1]=02:00:00:b1:00:02 [c2]=02:00:00:b1:00:03
	[up]=02:00:00:b1:00:0a [r1]=02:00:00:c1:00:01 [r2]=02:00:00:c1:00:02)
C1=198.18.1.1 S1=198.18.1.2 C2=198.18.1.3
C16=2001:2:0:1::1 S16=2001:2:0:1::2

start_xvio || bail "xvio starts"

# ------------------------------------------------ networks, groups
check "network add blue" xctl network add blue
check "network add red" xctl network add red
check "sg add client" xctl sg add client
check "sg add server" xctl sg add server
rules='[{"direction":"ingress","proto":"tcp","ports":"5001"},
 {"direction":"ingress","proto":"udp","ports":"5002-5003"},
 {"direction":"ingress","proto":"icmp","ports":"8"},
 {"direction":"ingress","proto":"tcp","ports":"5001","ipv6":true},
 {"direction":"ingress","proto":"icmpv6","ports":"128","ipv6":true},
 {"direction":"ingress","proto":"udp","ports":"5010","remote_group":"client"}]'
srv_ids=$(xctl --json call sg.rule.add "{\"sg\":\"server\",\"rules\":$rules}" | jq -c '(.result // .) | .ids')
is "sg rule add server: 6 rules in one call" "$(jq length <<<"$srv_ids")" 6
TCP_RULE=$(jq '.[0]' <<<"$srv_ids")
check "sg add other" xctl sg add other
other_eg=$(xjq '[.rules[] | .id] | tojson' sg show other)
check "sg rule add other egress tcp 5001" xctl sg rule add other egress --proto tcp --ports 5001
check "sg rule add other egress udp 5010" xctl sg rule add other egress --proto udp --ports 5010
check "sg rule del other: its default egress rules" xctl call sg.rule.del "{\"sg\":\"other\",\"ids\":$other_eg}"
is "other: 2 egress rules left" "$(xjq '[.rules[] | "\(.direction) \(.proto) \(.ports)"] | join(",")' sg show other)" \
	"egress tcp 5001,egress udp 5010"
check "sg add redsg" xctl sg add redsg
check "sg rule add redsg ingress icmp 8" xctl sg rule add redsg ingress --proto icmp --ports 8

# ------------------------------------------------ namespaces and ports
n=0
# node NAME NET ADDRS [xvioctl port options...]: namespace NAME$$ with eth0
# (MAC[NAME]), the addresses (IPv4/24, IPv6/64), and the xvio port NAME.
node() {
	local name=$1 net=$2 addrs=$3 a
	shift 3
	n=$((n + 1))
	net_ns "$name$$" "xv$name$$" "${MAC[$name]}" || return 1
	for a in ${addrs//,/ }; do
		case $a in
		*:*) ns_ipv6 "$name$$" && ip -n "$name$$" addr add "$a/64" dev eth0 nodad ;;
		*) ip -n "$name$$" addr add "$a/24" dev eth0 ;;
		esac || return 1
	done
	xctl port add "$name" eth "net_af_packet$n,iface=xv$name$$" --network "$net" "$@" >/dev/null
}
check "c1: namespace and port (blue, group client)" node c1 blue "$C1,$C16" --mac "${MAC[c1]}" --ip "$C1,$C16" --sg client
check "s1: namespace and port (blue, group server)" node s1 blue "$S1,$S16" --mac "${MAC[s1]}" --ip "$S1,$S16" --sg server
check "c2: namespace and port (blue, group other)" node c2 blue "$C2" --mac "${MAC[c2]}" --ip "$C2" --sg other
check "up: namespace and port (blue, uplink)" node up blue "" --uplink
check "r1: namespace and port (red, same address as c1)" node r1 red "$C1" --mac "${MAC[r1]}" --ip "$C1" --sg redsg
check "r2: namespace and port (red, same address as s1)" node r2 red "$S1" --mac "${MAC[r2]}" --ip "$S1" --sg redsg
is "network list: blue's and red's ports" \
	"$(xjq '[.networks[] | "\(.name):\(.ports | sort | join("+"))"] | join(" ")' network list)" \
	"blue:c1+c2+s1+up red:r1+r2"
is "port show c1: port security on, group client" "$(port_field c1 '[.network, .port_security, .uplink, (.sg | join(","))] | tojson')" \
	'["blue",true,false,"client"]'
is "port show up: an uplink, no port security" "$(port_field up '[.network, .port_security, .uplink] | tojson')" '["blue",false,true]'

spawn "$T/s1-serve.out" ip netns exec "s1$$" "$PY" "$NETPKT" serve --tcp 5001 --udp 5002 --udp 5010 --log "$T/s1.log"
wait_until 10 grep -q ready "$T/s1.log" || not_ok "s1's servers are ready" "$(cat "$T/s1-serve.out")"
# Sniffers: what the uplink, s1 and r2 receive.
for s in up s1 r2; do
	spawn "$T/sniff-$s.out" ip netns exec "$s$$" "$PY" "$NETPKT" sniff eth0 "$T/sniff-$s.pcap" --ready "$T/sniff-$s.ready"
done
wait_until 10 eval '[ -e "$T/sniff-up.ready" ] && [ -e "$T/sniff-s1.ready" ] && [ -e "$T/sniff-r2.ready" ]' ||
	not_ok "sniffers ready"

drop0() { xdrop "$1" "$2"; }

# refused WORD PORT REASON DESC CMD...: CMD fails (check_fails DESC), and
# then PORT's drop counter REASON grows within 5 s (a check "  WORD as
# REASON on PORT", WORD: counted or dropped).
refused() {
	local word=$1 port=$2 reason=$3 desc=$4 d0
	shift 4
	d0=$(drop0 "$port" "$reason")
	check_fails "$desc" "$@"
	wait_until 5 xdrop_ge "$port" "$reason" $((d0 + 1))
	cmp_ge "  $word as $reason on $port" "$(drop0 "$port" "$reason")" $((d0 + 1))
}

# ------------------------------------------------ ARP, ICMP
check "c1 pings s1 (ARP first, then ICMP allowed by s1's rule; the reply by conntrack)" nx c1 ping "$S1" --count 3
like "c1 resolved s1's MAC by ARP" "$(ip -n "c1$$" neigh show "$S1")" "lladdr ${MAC[s1]} "
is "ct list blue: the echo, REPLIED" \
	"$(xjq "[.connections[] | select(.proto == \"icmp\" and .src == \"$C1\" and .dst == \"$S1\") | .state] | unique | join(\",\")" ct list blue)" REPLIED
refused counted c1 sg_ingress "s1 cannot ping c1 (c1 has no ingress rule)" nx s1 ping "$C1" --timeout 1

# ------------------------------------------------ TCP, UDP
check "c1 -> s1 tcp 5001: connect, echo, close" nx c1 tcp "$S1" 5001 --msg "c1 tcp"
is "ct list blue: that connection in TIME_WAIT" \
	"$(xjq "[.connections[] | select(.proto == \"tcp\" and .src == \"$C1\" and .dport == 5001) | .state] | unique | join(\",\")" ct list blue)" TIME_WAIT
refused counted s1 sg_ingress "c1 -> s1 tcp 5999 (no rule): no connection" nx c1 tcp "$S1" 5999 --timeout 1
refused counted c1 sg_ingress "s1 -> c1 tcp 5001 (c1 allows no ingress)" nx s1 tcp "$C1" 5001 --timeout 1
check "c1 -> s1 udp 5002: datagram and echo" nx c1 udp "$S1" 5002 --msg "c1 udp"
is "ct list blue: udp 5002 REPLIED" \
	"$(xjq "[.connections[] | select(.proto == \"udp\" and .src == \"$C1\" and .dport == 5002) | .state] | unique | join(\",\")" ct list blue)" REPLIED
refused counted s1 sg_ingress "c1 -> s1 udp 5004 (no rule): no echo" nx c1 udp "$S1" 5004 --timeout 1
# udp 5003 is allowed but nobody listens: s1's ICMP port unreachable comes
# back to c1 as related to the flow (c1 has no rule for it).
nx c1 udp "$S1" 5003 --timeout 2 >"$T/udp5003.out"
is "c1 -> s1 udp 5003 (allowed, closed): the ICMP error reaches c1 as related (ECONNREFUSED)" "$?" 3
is "ct list blue: udp 5003 UNREPLIED" \
	"$(xjq "[.connections[] | select(.proto == \"udp\" and .src == \"$C1\" and .dport == 5003) | .state] | unique | join(\",\")" ct list blue)" UNREPLIED
cmp_ge "ct count blue" "$(xjq .count ct count blue)" 4
is "ct count red: nothing yet" "$(xjq .count ct count red)" 0

# ------------------------------------------------ egress rules, remote group
check "c2 -> s1 tcp 5001 (c2's egress allows it; ARP is not subject to rules)" nx c2 tcp "$S1" 5001 --msg "c2 tcp"
refused counted c2 sg_egress "c2 -> s1 udp 5002: not in c2's egress rules" nx c2 udp "$S1" 5002 --timeout 1
refused counted c2 sg_egress "c2 pings s1: no egress icmp rule" nx c2 ping "$S1" --timeout 1
check "c1 -> s1 udp 5010: c1 is in group client (remote-group rule)" nx c1 udp "$S1" 5010 --msg "c1 rg"
refused counted s1 sg_ingress "c2 -> s1 udp 5010: c2 is not in group client" nx c2 udp "$S1" 5010 --timeout 1 --msg "c2 rg"
check "port set c2 --sg other,client" xctl port set c2 --sg other,client
check "c2 -> s1 udp 5010 once c2 is in group client (the remote group follows)" nx c2 udp "$S1" 5010 --msg "c2 rg2"
check "port set c2 --sg other" xctl port set c2 --sg other
refused counted s1 sg_ingress "c2 -> s1 udp 5010 after leaving group client" nx c2 udp "$S1" 5010 --timeout 1 --msg "c2 rg3"
is "s1's udp 5010 server saw c1, and c2 only while c2 was in the group" \
	"$(grep -oE '(c1|c2) rg[0-9]*' "$T/s1.log" | paste -sd,)" "c1 rg,c2 rg2"

# ------------------------------------------------ spoofing
# Each spoofed attempt is a TCP connection to s1:5001, which c2's egress
# rules and s1's ingress rules allow: only anti-spoofing stops it.
# c2 with a second address (a static neighbor entry: no ARP needed):
ip -n "c2$$" neigh replace "$S1" lladdr "${MAC[s1]}" dev eth0 nud permanent
ip -n "c2$$" addr add 198.18.1.99/24 dev eth0
refused dropped c2 spoofed_ip "c2 -> s1 tcp 5001 from 198.18.1.99 (not c2's address): no connection" \
	nx c2 tcp "$S1" 5001 --src 198.18.1.99 --timeout 1 --msg "spoof ip"
check "port set c2 --ip $C2,198.18.1.99: now c2's" xctl port set c2 --ip "$C2,198.18.1.99"
check "  c2 -> s1 tcp 5001 from 198.18.1.99 works at once" nx c2 tcp "$S1" 5001 --src 198.18.1.99 --msg "own .99"
check "port set c2 --ip $C2" xctl port set c2 --ip "$C2"
ip -n "c2$$" addr del 198.18.1.99/24 dev eth0
# c2 with another MAC
ip -n "c2$$" link set eth0 address 02:00:00:b1:00:99
refused dropped c2 spoofed_mac "c2 -> s1 tcp 5001 with MAC 02:00:00:b1:00:99 (not c2's): no connection" \
	nx c2 tcp "$S1" 5001 --timeout 1 --msg "spoof mac"
check "port set c2 --mac 02:00:00:b1:00:99: now c2's" xctl port set c2 --mac 02:00:00:b1:00:99
ip -n "s1$$" neigh del "$C2" dev eth0 2>/dev/null # s1 learns the new MAC by ARP
check "  c2 -> s1 tcp 5001 with MAC 02:00:00:b1:00:99 works at once" nx c2 tcp "$S1" 5001 --msg "own mac"
check "port set c2 --mac ${MAC[c2]}" xctl port set c2 --mac "${MAC[c2]}"
# The same with port security off on c2: its traffic passes (s1's rules
# still apply), and the replies to a MAC nobody owns reach c2, a port that
# may own unknown MACs now.
check "port set c2 --sg '' --port-security off" xctl port set c2 --sg '' --port-security off
check "  c2 -> s1 tcp 5001 with MAC 02:00:00:b1:00:99 works" nx c2 tcp "$S1" 5001 --msg "psec off"
check "port set c2 --port-security on --sg other" xctl port set c2 --port-security on --sg other
ip -n "c2$$" link set eth0 address "${MAC[c2]}"
ip -n "s1$$" neigh del "$C2" dev eth0 2>/dev/null
# ARP: c2 claims s1's address (poisoning), then claims another MAC
d0=$(drop0 c2 spoofed_arp)
netpkt arp "$T/arp1.pcap" reply "${MAC[c2]}" "$S1" ff:ff:ff:ff:ff:ff "$S1"
netpkt arp "$T/arp2.pcap" request 02:00:00:b1:00:99 "$C2" 00:00:00:00:00:00 "$S1" --src "${MAC[c2]}"
nx c2 send eth0 "$T/arp1.pcap"
nx c2 send eth0 "$T/arp2.pcap"
check "spoofed ARP (sender IP of s1; sender MAC not c2's): dropped as spoofed_arp" wait_until 5 xdrop_ge c2 spoofed_arp $((d0 + 2))
# Nothing of that reached s1: c2's next (legit) connection comes after it.
check "c2 -> s1 tcp 5001 after the spoofing (barrier)" nx c2 tcp "$S1" 5001 --msg "c2 barrier"
is "s1 accepted no spoofed connection" "$(grep -c 'spoof' "$T/s1.log")" 0
like "  but those after port set --ip and --mac, and the one with port security off" \
	"$(grep -oE '(own .99|own mac|psec off)$' "$T/s1.log" | paste -sd,)" "^own .99,own mac,psec off$"
unlike_c2=$(ip -n "c1$$" neigh show "$S1")
if [[ $unlike_c2 == *"${MAC[c2]}"* ]]; then
	not_ok "c1 still has s1's MAC for $S1 (the spoofed ARP reply never reached it)" "$unlike_c2"
else
	ok "c1 still has s1's MAC for $S1 (the spoofed ARP reply never reached it)"
fi
ip -n "c2$$" neigh del "$S1" dev eth0

# ------------------------------------------------ IPv6
check "c1 pings s1 over IPv6 (ND, then ICMPv6 echo allowed by s1's rule)" nx c1 ping "$S16" --count 3
like "c1 resolved s1's MAC by ND" "$(ip -n "c1$$" -6 neigh show "$S16")" "lladdr ${MAC[s1]} "
check "c1 -> s1 tcp 5001 over IPv6" nx c1 tcp "$S16" 5001 --msg "c1 tcp6"
is "ct list blue: icmpv6 echo REPLIED" \
	"$(xjq "[.connections[] | select(.proto == \"icmpv6\" and .src == \"$C16\") | .state] | unique | join(\",\")" ct list blue)" REPLIED
is "ct list blue: tcp over IPv6 TIME_WAIT" \
	"$(xjq "[.connections[] | select(.proto == \"tcp\" and .src == \"$C16\" and .dport == 5001) | .state] | unique | join(\",\")" ct list blue)" TIME_WAIT
refused counted c1 sg_ingress "s1 cannot ping c1 over IPv6" nx s1 ping "$C16" --timeout 1
ip -n "c1$$" -6 neigh replace "$S16" lladdr "${MAC[s1]}" dev eth0 nud permanent
ip -n "c1$$" addr add 2001:2:0:1::99/128 dev eth0 nodad
refused dropped c1 spoofed_ip "c1 -> s1 tcp 5001 over IPv6 from 2001:2:0:1::99 (not c1's): no connection" \
	nx c1 tcp "$S16" 5001 --src 2001:2:0:1::99 --timeout 1 --msg "spoof ip6"
ip -n "c1$$" addr del 2001:2:0:1::99/128 dev eth0
ip -n "c1$$" -6 neigh del "$S16" dev eth0
check "c1 -> s1 tcp 5001 over IPv6 from its own address still works" nx c1 tcp "$S16" 5001 --msg "c1 tcp6 again"
is "s1 accepted no spoofed IPv6 connection" "$(grep -c 'spoof ip6' "$T/s1.log")" 0

# ------------------------------------------------ isolation, uplink
check "r1 pings r2 in red (same addresses as c1 and s1 in blue)" nx r1 ping "$S1" --count 2
cmp_ge "ct count red" "$(xjq .count ct count red)" 1
is "ct list red: only red's connections" "$(xjq '[.connections[].network] | unique | join(",")' ct list red)" red
ip -n "c1$$" neigh flush dev eth0
check "c1 pings s1 again (an ARP broadcast first)" nx c1 ping "$S1"
# c1 -> an address whose MAC nobody in blue owns: unknown unicast
ip -n "c1$$" neigh replace 198.18.1.50 lladdr 02:00:00:ee:ee:01 dev eth0 nud permanent
nx c1 udp 198.18.1.50 9999 --noreply --msg "unknown unicast"
check "the uplink gets c1's unknown unicast" wait_until 5 eval '[ "$(netpkt has "$T/sniff-up.pcap" "unknown unicast")" = 1 ]'
check "the uplink gets c1's ARP broadcast" wait_until 5 eval \
	'[ "$(netpkt from "$T/sniff-up.pcap" "${MAC[c1]}" 0806)" -ge 1 ]'
# Barriers: what came before on the same path has arrived.
check "c1 pings s1 (barrier for s1)" nx c1 ping "$S1"
check "r1 pings r2 (barrier for r2)" nx r1 ping "$S1"
wait_until 5 eval '[ "$(netpkt from "$T/sniff-r2.pcap" "${MAC[r1]}")" -ge 3 ]'
is "s1 (port security) never got the unknown unicast" "$(netpkt has "$T/sniff-s1.pcap" "unknown unicast")" 0
for m in c1 s1 c2 up; do
	is "r2 (red) got nothing from $m (blue), not even broadcasts" "$(netpkt from "$T/sniff-r2.pcap" "${MAC[$m]}")" 0
done
for m in r1 r2; do
	is "blue's uplink got nothing from $m (red)" "$(netpkt from "$T/sniff-up.pcap" "${MAC[$m]}")" 0
	is "s1 got nothing from $m (red)" "$(netpkt from "$T/sniff-s1.pcap" "${MAC[$m]}")" 0
done

# ------------------------------------------------ rules changed under live traffic
status=$T/hold.status stop=$T/hold.stop
spawn "$T/hold.out" ip netns exec "c1$$" "$PY" "$NETPKT" hold "$S1" 5001 --status "$status" --stop "$stop"
hold_pid=$SPAWN_PID
held() { local v; v=$(cat "$status" 2>/dev/null) && [[ $v =~ ^[0-9]+$ ]] && echo "$v"; }
held_ge() { local v; v=$(held) && [ "$v" -ge "$1" ]; }
check "a long-lived TCP connection c1 -> s1:5001 makes round trips" wait_until 10 held_ge 20
is "ct list blue: it is ESTABLISHED" \
	"$(xjq "[.connections[] | select(.proto == \"tcp\" and .src == \"$C1\" and .dport == 5001 and .state == \"ESTABLISHED\")] | length" ct list blue)" 1
dc1=$(xdrops c1) ds1=$(xdrops s1) nrules=$(xjq '.rules | length' sg show server)
many=$($PY -c 'import json; print(json.dumps({"sg": "server", "rules": [
    {"direction": "ingress", "proto": "udp", "ports": str(20000 + i), "remote": "198.19.%d.%d/32" % (i // 250, i % 250 + 1)}
    for i in range(1000)]}))')
xctl --json call sg.rule.add "$many" >"$T/many.json"
is "sg rule add server: 1,000 rules in one call" "$(jq '(.result // .) | .ids | length' "$T/many.json")" 1000
is "server has 1,000 rules more" "$(xjq '.rules | length' sg show server)" $((nrules + 1000))
h=$(held)
check "  the connection goes on (20 more round trips)" wait_until 20 held_ge $((${h:-0} + 20))
check "sg rule del server: the 1,000 rules in one call" \
	xctl call sg.rule.del "{\"sg\":\"server\",\"ids\":$(jq -c '(.result // .) | .ids' "$T/many.json")}"
h=$(held)
check "  the connection goes on (20 more round trips)" wait_until 20 held_ge $((${h:-0} + 20))
is "  no drop on c1 while the rules changed" "$(xdrops c1)" "$dc1"
is "  no drop on s1 while the rules changed" "$(xdrops s1)" "$ds1"
check "sg rule del server $TCP_RULE (the rule allowing tcp 5001)" xctl sg rule del server "$TCP_RULE"
h=$(held)
check "  the established connection goes on (20 more round trips)" wait_until 20 held_ge $((${h:-0} + 20))
refused counted s1 sg_ingress "  a new connection to tcp 5001 is refused" nx c1 tcp "$S1" 5001 --timeout 1
TCP_RULE=$(xctl sg rule add server ingress --proto tcp --ports 5001)
check "sg rule add server ingress tcp 5001 again: new connections work" nx c1 tcp "$S1" 5001 --msg "c1 again"
like "the long-lived connection never failed" "$(cat "$status")" '^[0-9]+$'

# ------------------------------------------------ ct flush
cmp_ge "ct count blue before the flush" "$(xjq .count ct count blue)" 2
cmp_ge "ct flush blue: forgets them" "$(xjq .flushed ct flush blue)" 2
d0=$(drop0 c1 ct_invalid)
is "ct count blue: 0" "$(xjq .count ct count blue)" 0
is "ct list blue: empty" "$(xjq '.connections | length' ct list blue)" 0
cmp_ge "ct count red: untouched" "$(xjq .count ct count red)" 1
# The flushed connection's packets no longer belong to any connection (an
# ACK without one): ct_invalid, and the round trips stop.
check "the flushed connection's next packets are ct_invalid" wait_until 10 xdrop_ge c1 ct_invalid $((d0 + 1))
is "ct count blue: still 0 (an ACK opens nothing)" "$(xjq .count ct count blue)" 0
touch "$stop"
stop_pid "$hold_pid" INT 5

check "xvio still answers" xctl version
# On failure "got" names the port and reason of each such drop.
is "no spoofed or malformed drops on s1, r1, r2 (their stacks are honest)" \
	"$(for p in s1 r1 r2; do xdrops "$p" | jq -c --arg p "$p" 'to_entries | map(select(.key | test("spoofed|malformed|vlan|bad_ethertype")) | "\($p):\(.key)=\(.value)")'; done | jq -s -c 'add')" '[]'

done_testing
