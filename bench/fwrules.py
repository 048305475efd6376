#!/usr/bin/env python3
"""Security-group rules for the firewall scenarios of bench/bench.sh, as
xvio sg.rule.add arguments and as the equivalent OVS-DPDK flows.

    fwrules.py DIR [RULES [CHANGE]]

writes (defaults: RULES 1000, CHANGE 10000):

    DIR/sg-rules.json   {"sg": "fw", "rules": [...]}: RULES egress rules, one
                        of which allows the benchmark's UDP traffic (see
                        mkpcap.py --flows); the other RULES-1 match none of it
    DIR/sg-change.json  {"sg": "fw", "rules": [...]}: CHANGE more rules, none
                        matching the traffic and none equal to a rule above
                        (the rule change made while traffic flows)
    DIR/ovs-fw.flows    the same policy for ovs-ofctl add-flows: conntrack in
                        zone 1, then the RULES rules as ct_state=+trk+new
                        flows that commit and output

The rules are drawn from a fixed seed, so every run and every system gets
the same ones. Mix of the non-matching rules (per 1,000): 250 udp with a
destination port range that misses the traffic's port, 300 tcp, 100 icmp
(one type each), 200 any-protocol with a remote prefix that misses the
traffic's destinations, 149 other IP protocols (gre, esp, sctp, ...).
Remote prefixes (egress: the destination) are /8 to /32, some of them
covering the traffic's destinations (those rules then differ by protocol
or port), some next to them, some absent (any remote). Port ranges are
aligned power-of-two blocks (1 to 1024 ports), so each is one masked OVS
match and one xvio rule is exactly one OVS flow.

Every rule is checked against every destination of mkpcap.py's flows
with a linear scan: exactly the allow rule matches.
"""
import ipaddress
import json
import os
import random
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkpcap  # noqa: E402

SG = "fw"
OTHER_PROTOS = [2, 4, 41, 46, 47, 50, 51, 89, 103, 112, 115, 132, 136, 137]
HIT = ["198.19.0.0/16", "198.19.0.0/20", "198.19.0.0/22", "198.16.0.0/12", "198.0.0.0/8"]
PROTO_NUM = {"tcp": 6, "udp": 17, "icmp": 1, "any": 0}
# The one rule the traffic needs.
ALLOW = {"proto": "udp", "lo": mkpcap.DST_PORT, "hi": mkpcap.DST_PORT, "remote": "198.19.0.0/16"}


def miss_prefix(r):
    """A prefix that covers none of the traffic's destinations."""
    k = r.randrange(7)
    a, b, c = r.randrange(256), r.randrange(256), r.randrange(256)
    if k == 0:
        return "10.%d.0.0/16" % a
    if k == 1:
        return "10.%d.%d.0/24" % (a, b)
    if k == 2:
        return "172.%d.%d.0/24" % (16 + a % 16, b)
    if k == 3:
        return "100.%d.%d.%d/32" % (64 + a % 64, b, c)
    if k == 4:
        # next to the destinations: 198.19.4.0 .. 198.19.255.x
        return "198.19.%d.%d/%d" % (4 + a % 252, b & 0xF0, 28)
    if k == 5:
        return "192.168.%d.0/%d" % (a, r.choice([24, 25, 26, 27]))
    return "%d.0.0.0/8" % r.choice([11, 12, 13, 20, 30, 40, 50, 60])


def any_prefix(r):
    k = r.randrange(10)
    if k < 3:
        return r.choice(HIT)
    if k < 4:
        return None
    return miss_prefix(r)


def port_block(r, avoid=None):
    """An aligned block of 2^b ports (one masked OVS match)."""
    while True:
        b = r.choice([0, 0, 0, 1, 2, 3, 4, 4, 5, 6, 8, 10])
        lo = r.randrange(1024 >> b if b < 10 else 1, 65536 >> b) << b
        hi = lo + (1 << b) - 1
        if avoid is None or not lo <= avoid <= hi:
            return lo, hi


def gen_rules(n, seed, exclude):
    """n rules that match none of the flows, none equal to one in 'exclude'."""
    r = random.Random(seed)
    mix = [("udp", 250), ("tcp", 300), ("icmp", 100), ("any", 200), ("num", 149)]
    tot = sum(c for _, c in mix)
    plan = []
    for kind, c in mix:
        plan += [kind] * (n * c // tot)
    while len(plan) < n:
        plan.append("tcp")
    out, seen = [], set(exclude)
    for kind in plan:
        while True:
            if kind == "udp":
                lo, hi = port_block(r, avoid=mkpcap.DST_PORT)
                rule = {"proto": "udp", "lo": lo, "hi": hi, "remote": any_prefix(r)}
            elif kind == "tcp":
                lo, hi = port_block(r)
                rule = {"proto": "tcp", "lo": lo, "hi": hi, "remote": any_prefix(r)}
            elif kind == "icmp":
                t = r.randrange(256)
                rule = {"proto": "icmp", "lo": t, "hi": t, "remote": any_prefix(r)}
            elif kind == "any":
                rule = {"proto": "any", "lo": None, "hi": None, "remote": miss_prefix(r)}
            else:
                rule = {"proto": r.choice(OTHER_PROTOS), "lo": None, "hi": None, "remote": any_prefix(r)}
            key = tuple(sorted((k, str(v)) for k, v in rule.items()))
            if key not in seen:
                seen.add(key)
                out.append(rule)
                break
    return out, seen


def xvio_rule(x):
    o = {"direction": "egress", "proto": str(x["proto"])}
    if x["lo"] is not None:
        o["ports"] = str(x["lo"]) if x["lo"] == x["hi"] else "%d-%d" % (x["lo"], x["hi"])
    if x["remote"]:
        o["remote"] = x["remote"]
    return o


def ovs_match(x):
    p = x["proto"]
    if p in ("tcp", "udp"):
        m = [p]
        if x["lo"] is not None:
            size = x["hi"] - x["lo"] + 1
            m.append("tp_dst=%d" % x["lo"] if size == 1 else
                     "tp_dst=0x%04x/0x%04x" % (x["lo"], 0xFFFF & ~(size - 1)))
    elif p == "icmp":
        m = ["icmp", "icmp_type=%d" % x["lo"]]
    elif p == "any":
        m = ["ip"]
    else:
        m = ["ip", "nw_proto=%d" % p]
    if x["remote"]:
        m.append("nw_dst=%s" % x["remote"])
    return ",".join(m)


def rule_range(x):
    """The destinations rule x allows UDP to DST_PORT for, as an int range
    (empty when protocol or ports exclude it)."""
    if x["proto"] not in ("udp", "any"):
        return 1, 0
    if x["lo"] is not None and not x["lo"] <= mkpcap.DST_PORT <= x["hi"]:
        return 1, 0
    if x["remote"] is None:
        return 0, 2 ** 32 - 1
    net = ipaddress.ip_network(x["remote"])
    return int(net.network_address), int(net.broadcast_address)


def check(rules, allow_idx):
    """Rules look at the destination address and port only: every
    destination of the flows (the source ports of mkpcap.py's layout do
    not matter) against every rule."""
    dsts = sorted({int(ipaddress.ip_address(mkpcap.flow_tuple(i)[0])) for i in range(mkpcap.ADDRS)})
    for i, x in enumerate(rules):
        lo, hi = rule_range(x)
        hit = sum(1 for d in dsts if lo <= d <= hi)
        ok = hit == len(dsts) if i == allow_idx else not hit
        if not ok:
            sys.exit("fwrules: rule %d %r matches %d of %d destinations" % (i, x, hit, len(dsts)))


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return
    if len(sys.argv) not in (2, 3, 4) or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    d = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    nc = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    if n < 1 or nc < 0:
        sys.exit("fwrules: RULES must be >= 1, CHANGE >= 0")
    base, seen = gen_rules(n - 1, 4, [])
    # The allow rule goes in the middle, so neither system finds it first
    # or last by accident of order.
    rules = base[:(n - 1) // 2] + [ALLOW] + base[(n - 1) // 2:]
    allow_idx = (n - 1) // 2
    change, _ = gen_rules(nc, 10004, seen)
    check(rules, allow_idx)
    check(change, -1)
    os.makedirs(d, exist_ok=True)
    for name, rs in (("sg-rules.json", rules), ("sg-change.json", change)):
        with open(os.path.join(d, name), "w") as f:
            json.dump({"sg": SG, "rules": [xvio_rule(x) for x in rs]}, f, separators=(",", ":"))
    with open(os.path.join(d, "ovs-fw.flows"), "w") as f:
        f.write("table=0,priority=100,in_port=vhost0,ip,actions=ct(table=1,zone=1)\n")
        f.write("table=0,priority=0,actions=drop\n")
        f.write("table=1,priority=100,ct_state=+trk+est,ip,actions=output:out0\n")
        f.write("table=1,priority=100,ct_state=+trk+rel,ip,actions=output:out0\n")
        for x in rules:
            f.write("table=1,priority=10,ct_state=+trk+new,%s,actions=ct(commit,zone=1),output:out0\n" % ovs_match(x))
        f.write("table=1,priority=0,actions=drop\n")


if __name__ == "__main__":
    main()
