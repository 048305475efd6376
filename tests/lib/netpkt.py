#!/usr/bin/env python3
# Packet helpers for xvio's network-mode tests (tests/system/t-net-*.sh).
# Standard library only (struct, socket): frames are crafted byte by byte,
# so malformed headers are exactly what the test says they are.
#
# Real-stack traffic (run inside a namespace with `ip netns exec NS`):
#   serve [--tcp PORT]... [--udp PORT]... [--log FILE]
#         TCP and UDP echo servers on every address (IPv4 and IPv6); each
#         datagram/connection's first bytes are logged to FILE (one line).
#   tcp ADDR PORT [--timeout S] [--msg TEXT] [--src ADDR]
#         connect, send TEXT, expect it echoed; exit 0 on success, 1 otherwise
#   udp ADDR PORT [--timeout S] [--msg TEXT] [--src ADDR] [--count N] [--noreply]
#         send TEXT (N times); expect an echo (unless --noreply): exit 0/1;
#         exit 3 when the kernel reports the port unreachable (ICMP error)
#   ping ADDR [--timeout S] [--count N]
#         ICMP/ICMPv6 echo with a raw socket; exit 0 when every request got
#         its reply
#   hold ADDR PORT --status FILE --stop FILE [--gap S]
#         one long-lived TCP connection: a round trip every S seconds (default
#         0.02); FILE holds the number of good round trips so far, or "ERR ..."
#         when one failed; ends (closing cleanly) when the stop file appears
#   sniff IFACE OUT.pcap [--ready FILE]
#         record every frame IFACE receives (not what it sends) into a pcap,
#         flushed frame by frame
#   send IFACE FILE.pcap       send every frame of the file on IFACE (AF_PACKET)
#   arp FILE OP SHA SPA THA TPA [--src MAC] [--dst MAC]
#         write one ARP frame to a pcap (OP: request|reply)
# pcap files:
#   count FILE                 number of frames
#   has FILE TEXT              number of frames whose bytes contain TEXT
#   from FILE MAC [ETHERTYPE]  number of frames with Ethernet source MAC (and
#                              that ethertype, hex: 0806)
#   compare EXPECTED GOT       same frames, same order, byte for byte (exit 0)
# Golden packets:
#   golden DIR                 the input and expected pcaps of t-net-golden.sh
#                              (see golden_cases below), DIR/conf.sh and
#                              DIR/CASE.drops (expected counters, JSON)
#   control FILE N             N UDP frames from S to B (golden identities)
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

# ---------------------------------------------------------------- pcap files


def pcap_read(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, frames = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(e + "IIII", data[off:off + 16])[2]
        if off + 16 + incl > len(data):
            break
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


class PcapWriter:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.f.flush()
        self.n = 0

    def add(self, frame):
        t = time.time() if self.n < 0 else 1700000000 + self.n
        self.f.write(struct.pack("<IIII", int(t), 0, len(frame), len(frame)))
        self.f.write(frame)
        self.f.flush()
        self.n += 1

    def close(self):
        self.f.close()


def pcap_write(path, frames):
    w = PcapWriter(path)
    for fr in frames:
        w.add(fr)
    w.close()


# ---------------------------------------------------------------- crafting


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip4(s):
    return socket.inet_pton(socket.AF_INET, s)


def ip6(s):
    return socket.inet_pton(socket.AF_INET6, s)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, src, etype, payload=b""):
    return mac(dst) + mac(src) + struct.pack("!H", etype) + payload


def vlan(dst, src, tpid, vid, etype, payload):
    return mac(dst) + mac(src) + struct.pack("!HHH", tpid, vid, etype) + payload


def ipv4(src, dst, proto, payload, ihl=5, tot=None, ver=4, flags=0, frag=0,
         ttl=64, ident=1, options=b""):
    hl = ihl * 4
    opts = options.ljust(max(0, hl - 20), b"\0")[:max(0, hl - 20)]
    if tot is None:
        tot = 20 + len(opts) + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", (ver << 4) | ihl, 0, tot, ident,
                    (flags << 13) | frag, ttl, proto, 0, ip4(src), ip4(dst)) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, plen=None, ver=6, hlim=64):
    if plen is None:
        plen = len(payload)
    return struct.pack("!IHBB16s16s", ver << 28, plen, nh, hlim, ip6(src),
                       ip6(dst)) + payload


def pseudo(src, dst, proto, length):
    if ":" in src:
        return ip6(src) + ip6(dst) + struct.pack("!IxxxB", length, proto)
    return ip4(src) + ip4(dst) + struct.pack("!xBH", proto, length)


def tcp(src, dst, sport, dport, flags, payload=b"", seq=1000, ack=0, doff=5,
        win=65535):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags,
                    win, 0, 0) + b"\0" * max(0, doff * 4 - 20)
    c = csum(pseudo(src, dst, 6, len(h) + len(payload)) + h + payload)
    return h[:16] + struct.pack("!H", c) + h[18:] + payload


def udp(src, dst, sport, dport, payload=b""):
    h = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    c = csum(pseudo(src, dst, 17, len(h) + len(payload)) + h + payload) or 0xFFFF
    return h[:6] + struct.pack("!H", c) + payload


def icmp4(typ, code=0, rest=b"\0\0\0\0", payload=b""):
    h = struct.pack("!BBH", typ, code, 0) + rest + payload
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]


def icmp6(src, dst, typ, code=0, rest=b"\0\0\0\0", payload=b""):
    body = struct.pack("!BBH", typ, code, 0) + rest + payload
    c = csum(pseudo(src, dst, 58, len(body)) + body)
    return body[:2] + struct.pack("!H", c) + body[4:]


def echo(ident, seq):
    return struct.pack("!HH", ident, seq)


def arp(op, sha, spa, tha, tpa, hlen=6, plen=4, htype=1, ptype=0x0800):
    return struct.pack("!HHBBH6s4s6s4s", htype, ptype, hlen, plen, op, mac(sha),
                       ip4(spa), mac(tha), ip4(tpa))


def v4frame(smac, dmac, sip, dip, proto, l4, **kw):
    return eth(dmac, smac, 0x0800, ipv4(sip, dip, proto, l4, **kw))


def v6frame(smac, dmac, sip, dip, nh, l4, **kw):
    return eth(dmac, smac, 0x86DD, ipv6(sip, dip, nh, l4, **kw))


def udp4(smac, dmac, sip, dip, sport, dport, text, **kw):
    return v4frame(smac, dmac, sip, dip, 17, udp(sip, dip, sport, dport, text), **kw)


def tcp4(smac, dmac, sip, dip, sport, dport, flags, text=b"", **kw):
    return v4frame(smac, dmac, sip, dip, 6, tcp(sip, dip, sport, dport, flags, text), **kw)


def eui64_ll(m):
    b = bytearray(mac(m))
    b[0] ^= 2
    return socket.inet_ntop(socket.AF_INET6, b"\xfe\x80" + b"\0" * 6 + bytes(b[:3]) +
                            b"\xff\xfe" + bytes(b[3:]))


def solicited_node(a):
    return "ff02::1:ff" + ip6(a)[13:].hex()[0:2] + ":" + ip6(a)[14:].hex()


def mcast_mac6(a):
    return "33:33:" + ":".join("%02x" % x for x in ip6(a)[12:])


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# ---------------------------------------------------------------- golden cases
#
# The network "gold" of t-net-golden.sh:
#   S  vhost port, the sender (a testpmd guest plays CASE.in.pcap into it);
#      its identity changes per case (conf.sh, the case list below)
#   B  eth net_pcap (tx_pcap only): a VM port, port security on, group "gb"
#   U  eth net_pcap (tx_pcap only): the uplink
# Every frame of a case says where it must come out ("B", "U") or which
# counter of which port must count it.

MA, IA, IA6 = "02:00:00:00:5a:01", "198.18.20.1", "2001:2:0:20::1"
MB, IB, IB6 = "02:00:00:00:5b:01", "198.18.20.2", "2001:2:0:20::2"
PA = "198.18.21.0/24"           # a prefix S owns besides IA
PA6 = "2001:2:0:28::/61"        # and an IPv6 one
PB = "198.18.21.0/24"           # the remote prefix of one of B's rules
MX = "02:00:00:00:5e:01"        # a MAC no port owns
IX = "198.18.20.99"             # an address S does not own
IX6 = "2001:2:0:20::99"
BCAST = "ff:ff:ff:ff:ff:ff"
LLA = None                      # S's EUI-64 link-local, set below
CT_CAP = 128                    # xvio --ct-capacity (case ctfull)

CONF = {
    "MA": MA, "IA": IA, "IA6": IA6, "PA": PA, "PA6": PA6, "MB": MB, "IB": IB, "IB6": IB6,
    "PB": PB, "MX": MX, "CT_CAP": CT_CAP,
}


class Case:
    def __init__(self, name, doc):
        self.name, self.doc = name, doc
        self.frames, self.out = [], {"B": [], "U": [], "S": []}
        self.drops = {"S": {}, "B": {}, "U": {}}
        self.todo = ""

    def add(self, frame, to=(), drop=None):
        """to: ports that get the frame; drop: (port, reason) pairs that count it."""
        self.frames.append(frame)
        for p in to:
            self.out[p].append(frame)
        for port, reason in (drop or []):
            self.drops[port][reason] = self.drops[port].get(reason, 0) + 1

    def write(self, d):
        pcap_write(os.path.join(d, self.name + ".in.pcap"), self.frames)
        for p in ("B", "U", "S"):
            pcap_write(os.path.join(d, "%s.%s.pcap" % (self.name, p)), self.out[p])
        with open(os.path.join(d, self.name + ".drops"), "w") as f:
            json.dump(self.drops, f, sort_keys=True)


def text(case, i):
    return b"xvio-golden %s %d " % (case.encode(), i) + bytes(range(32, 80))


def golden_cases():
    global LLA
    LLA = eui64_ll(MA)
    cases = []

    # ---- spoof: S is a VM port (MA, IA, IA6, prefix PA), group "ga"
    # (default egress); B allows udp 53, tcp 80, icmp echo, icmpv6 echo.
    c = Case("spoof", "anti-spoofing and the exceptions real guests need")
    t = lambda: text(c.name, len(c.frames))
    c.add(udp4(MA, MB, IA, IB, 4000, 53, t()), to="B")                       # control
    c.add(udp4(MX, MB, IA, IB, 4000, 53, t()), drop=[("S", "spoofed_mac")])
    c.add(udp4(MA, MB, IX, IB, 4000, 53, t()), drop=[("S", "spoofed_ip")])
    c.add(udp4(MA, MB, "198.18.21.77", IB, 4000, 53, t()), to="B")         # in PA
    c.add(udp4(MA, MB, "198.18.22.77", IB, 4000, 53, t()), drop=[("S", "spoofed_ip")])
    c.add(udp4(MA, MB, "0.0.0.0", IB, 4000, 53, t()), drop=[("S", "spoofed_ip")])
    # DHCP discover from 0.0.0.0:68: allowed out; B has no rule for udp 67
    # (a broadcast is checked against each receiver's ingress rules).
    c.add(udp4(MA, BCAST, "0.0.0.0", "255.255.255.255", 68, 67, t()), to="U",
          drop=[("B", "sg_ingress")])
    # ARP: a request, a probe (sender IP 0.0.0.0), a reply to B; spoofed
    # sender MAC, sender IP.
    c.add(eth(BCAST, MA, 0x0806, arp(1, MA, IA, "00:00:00:00:00:00", IB)), to="BU")
    c.add(eth(BCAST, MA, 0x0806, arp(1, MA, "0.0.0.0", "00:00:00:00:00:00", IA)), to="BU")
    c.add(eth(MB, MA, 0x0806, arp(2, MA, IA, MB, IB)), to="B")
    c.add(eth(BCAST, MA, 0x0806, arp(1, MX, IA, "00:00:00:00:00:00", IB)),
          drop=[("S", "spoofed_arp")])
    c.add(eth(BCAST, MA, 0x0806, arp(1, MA, IX, "00:00:00:00:00:00", IB)),
          drop=[("S", "spoofed_arp")])
    c.add(eth(MB, MA, 0x0806, arp(2, MA, IX, MB, IB)), drop=[("S", "spoofed_arp")])
    # IPv6: echo from the address and from the EUI-64 link-local; from
    # another address, from another link-local, from ::
    c.add(v6frame(MA, MB, IA6, IB6, 58, icmp6(IA6, IB6, 128, 0, echo(7, 1), t())), to="B")
    c.add(v6frame(MA, MB, LLA, IB6, 58, icmp6(LLA, IB6, 128, 0, echo(7, 2), t())), to="B")
    c.add(v6frame(MA, MB, IX6, IB6, 58, icmp6(IX6, IB6, 128, 0, echo(7, 3), t())),
          drop=[("S", "spoofed_ip")])
    c.add(v6frame(MA, MB, "fe80::1", IB6, 58, icmp6("fe80::1", IB6, 128, 0, echo(7, 4), t())),
          drop=[("S", "spoofed_ip")])
    c.add(v6frame(MA, MB, "::", IB6, 58, icmp6("::", IB6, 128, 0, echo(7, 5), t())),
          drop=[("S", "spoofed_ip")])
    # S also owns the prefix PA6 (/61: not on a byte boundary)
    for a, ok in (("2001:2:0:28::5", True), ("2001:2:0:2f:ffff::1", True),
                  ("2001:2:0:30::5", False), ("2001:2:0:27::5", False)):
        c.add(v6frame(MA, MB, a, IB6, 58, icmp6(a, IB6, 128, 0, echo(7, 6), t())),
              to="B" if ok else "", drop=None if ok else [("S", "spoofed_ip")])
    # Neighbor discovery: DAD (from ::), NS with our source link-layer
    # option, NA for our address with our target option; NA for an address
    # not ours, NS/NA with another MAC in the option, a router advertisement.
    sn = solicited_node(IA6)
    c.add(v6frame(MA, mcast_mac6(sn), "::", sn, 58,
                  icmp6("::", sn, 135, 0, b"\0" * 4, ip6(IA6)), hlim=255), to="BU")
    snb = solicited_node(IB6)
    c.add(v6frame(MA, mcast_mac6(snb), IA6, snb, 58,
                  icmp6(IA6, snb, 135, 0, b"\0" * 4, ip6(IB6) + b"\x01\x01" + mac(MA)),
                  hlim=255), to="BU")
    c.add(v6frame(MA, MB, IA6, IB6, 58,
                  icmp6(IA6, IB6, 136, 0, b"\x60\0\0\0", ip6(IA6) + b"\x02\x01" + mac(MA)),
                  hlim=255), to="B")
    c.add(v6frame(MA, MB, IA6, IB6, 58,
                  icmp6(IA6, IB6, 136, 0, b"\x60\0\0\0", ip6(IX6) + b"\x02\x01" + mac(MA)),
                  hlim=255), drop=[("S", "spoofed_nd")])
    c.add(v6frame(MA, mcast_mac6(snb), IA6, snb, 58,
                  icmp6(IA6, snb, 135, 0, b"\0" * 4, ip6(IB6) + b"\x01\x01" + mac(MX)),
                  hlim=255), drop=[("S", "spoofed_nd")])
    c.add(v6frame(MA, MB, IA6, IB6, 58,
                  icmp6(IA6, IB6, 136, 0, b"\x60\0\0\0", ip6(IA6) + b"\x02\x01" + mac(MX)),
                  hlim=255), drop=[("S", "spoofed_nd")])
    c.add(v6frame(MA, "33:33:00:00:00:01", LLA, "ff02::1", 58,
                  icmp6(LLA, "ff02::1", 134, 0, b"\x40\0\x07\x08", b"\0" * 8), hlim=255),
          drop=[("S", "spoofed_nd")])
    # Only IPv4, IPv6 and ARP leave a VM.
    c.add(eth(MB, MA, 0x88B5, t()), drop=[("S", "bad_ethertype")])
    c.add(eth(BCAST, MA, 0x88CC, t()), drop=[("S", "bad_ethertype")])
    c.add(udp4(MA, MB, IA, IB, 4000, 53, t()), to="B")                       # control
    cases.append(c)

    # ---- vlan: tagged frames are refused on network ports
    c = Case("vlan", "802.1Q and 802.1ad tagged frames")
    t = lambda: text(c.name, len(c.frames))
    inner = ipv4(IA, IB, 17, udp(IA, IB, 4000, 53, b"tagged"))
    c.add(vlan(MB, MA, 0x8100, 10, 0x0800, inner), drop=[("S", "vlan_tagged")])
    c.add(vlan(MB, MA, 0x88A8, 10, 0x0800, inner), drop=[("S", "vlan_tagged")])
    c.add(vlan(MB, MA, 0x9100, 10, 0x0800, inner), drop=[("S", "vlan_tagged")])
    c.add(vlan(BCAST, MA, 0x8100, 0, 0x0806, arp(1, MA, IA, "00:00:00:00:00:00", IB)),
          drop=[("S", "vlan_tagged")])
    # A tagged frame with someone else's source MAC: the tag is seen first.
    c.add(vlan(MB, MX, 0x8100, 10, 0x0800, inner), drop=[("S", "vlan_tagged")])
    c.add(udp4(MA, MB, IA, IB, 4000, 53, t()), to="B")
    cases.append(c)

    # ---- malformed: headers too short or inconsistent
    c = Case("malformed", "truncated and inconsistent headers")
    t = lambda: text(c.name, len(c.frames))
    good = udp4(MA, MB, IA, IB, 4000, 53, b"padded")        # 48 bytes
    c.add(good + b"\0" * 12, to="B")    # Ethernet padding after the IP packet: fine
    c.add(mac(MB) + mac(MA)[:4], drop=[("S", "malformed")])                  # 10 bytes
    c.add(eth(MB, MA, 0x0800), drop=[("S", "malformed")])                    # no IP header
    c.add(eth(MB, MA, 0x0800, ipv4(IA, IB, 17, b"")[:12]), drop=[("S", "malformed")])
    c.add(eth(MB, MA, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 1, 53, t()), ihl=4)),
          drop=[("S", "malformed")])                                         # IHL 4
    c.add(eth(MB, MA, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 1, 53, t()), ihl=0)),
          drop=[("S", "malformed")])                                         # IHL 0
    p = ipv4(IA, IB, 17, udp(IA, IB, 1, 53, t()))
    c.add(eth(MB, MA, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 1, 53, t()), tot=len(p) + 1)),
          drop=[("S", "malformed")])                                         # total length > frame
    c.add(eth(MB, MA, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 1, 53, t()), tot=19)),
          drop=[("S", "malformed")])                                         # total length < header
    c.add(eth(MB, MA, 0x0800, ipv4(IA, IB, 17, b"", ihl=15)[:40]),
          drop=[("S", "malformed")])                                         # options past the end
    c.add(eth(MB, MA, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 1, 53, t()), ver=6)),
          drop=[("S", "malformed")])                                         # version 6 in 0x0800
    c.add(eth(MB, MA, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 1, 53, t()), ver=5)),
          drop=[("S", "malformed")])                                         # version 5
    c.add(v4frame(MA, MB, IA, IB, 6, tcp(IA, IB, 1, 80, SYN)[:12]),
          drop=[("S", "malformed")])                                         # TCP cut short
    c.add(v4frame(MA, MB, IA, IB, 6, tcp(IA, IB, 1, 80, SYN, doff=4)),
          drop=[("S", "malformed")])                                         # data offset 4
    c.add(v4frame(MA, MB, IA, IB, 6, tcp(IA, IB, 1, 80, SYN, doff=15)[:24]),
          drop=[("S", "malformed")])                                         # options past the end
    # TCP cut by the IP total length (the frame holds the rest as padding)
    c.add(eth(MB, MA, 0x0800, ipv4(IA, IB, 6, tcp(IA, IB, 1, 80, SYN), tot=30)),
          drop=[("S", "malformed")])
    c.add(v4frame(MA, MB, IA, IB, 17, udp(IA, IB, 1, 53)[:6]), drop=[("S", "malformed")])
    c.add(v4frame(MA, MB, IA, IB, 1, icmp4(8)[:4]), drop=[("S", "malformed")])
    # IPv6
    c.add(eth(MB, MA, 0x86DD, ipv6(IA6, IB6, 17, b"")[:30]), drop=[("S", "malformed")])
    c.add(eth(MB, MA, 0x86DD, ipv6(IA6, IB6, 17, udp(IA6, IB6, 1, 53, t()), ver=4)),
          drop=[("S", "malformed")])                                         # version 4 in 0x86dd
    u6 = udp(IA6, IB6, 1, 53, t())
    c.add(eth(MB, MA, 0x86DD, ipv6(IA6, IB6, 17, u6, plen=len(u6) + 1)),
          drop=[("S", "malformed")])                                         # payload length too long
    c.add(v6frame(MA, MB, IA6, IB6, 6, tcp(IA6, IB6, 1, 80, SYN)[:16]),
          drop=[("S", "malformed")])                                         # TCP cut short
    # Extension headers: nine of them (more than the parser follows) ...
    chain = tcp(IA6, IB6, 1, 80, SYN)
    nh = 6
    for _ in range(9):
        chain = bytes([nh, 0]) + b"\1\4\0\0\0\0" + chain
        nh = 60
    c.add(v6frame(MA, MB, IA6, IB6, 60, chain), drop=[("S", "malformed")])
    # ... one cut short ...
    c.add(v6frame(MA, MB, IA6, IB6, 0, b"\x06\x00\x01\x04"), drop=[("S", "malformed")])
    # ... one whose length runs past the packet, with TCP behind it
    c.add(v6frame(MA, MB, IA6, IB6, 0, bytes([6, 4]) + b"\1\4\0\0\0\0" + tcp(IA6, IB6, 1, 80, SYN)),
          drop=[("S", "malformed")])
    # A valid chain (hop-by-hop, destination options, routing with no
    # segments left, destination options) in front of TCP 80: allowed;
    # the same chain in front of TCP 81: denied by B's rules.
    def chain6(l4, last):
        return (bytes([60, 0]) + b"\1\4\0\0\0\0" +          # hop-by-hop, PadN
                bytes([43, 0]) + b"\1\4\0\0\0\0" +          # dst options
                bytes([60, 0, 0, 0]) + b"\0\0\0\0" +        # routing type 0, segments left 0
                bytes([last, 1]) + b"\1\x0c" + b"\0" * 12 + l4)
    c.add(v6frame(MA, MB, IA6, IB6, 0, chain6(tcp(IA6, IB6, 1000, 80, SYN), 6)), to="B")
    c.add(v6frame(MA, MB, IA6, IB6, 0, chain6(tcp(IA6, IB6, 1000, 81, SYN), 6)),
          drop=[("B", "sg_ingress")])
    # ARP with the wrong lengths or types, cut short
    c.add(eth(BCAST, MA, 0x0806, arp(1, MA, IA, "00:00:00:00:00:00", IB)[:20]),
          drop=[("S", "malformed")])
    c.add(eth(BCAST, MA, 0x0806, arp(1, MA, IA, "00:00:00:00:00:00", IB, hlen=8)),
          drop=[("S", "malformed")])
    c.add(eth(BCAST, MA, 0x0806, arp(1, MA, IA, "00:00:00:00:00:00", IB, ptype=0x86DD)),
          drop=[("S", "malformed")])
    # Neighbor solicitation with an option of length 0; NA cut short
    snb = solicited_node(IB6)
    c.add(v6frame(MA, mcast_mac6(snb), IA6, snb, 58,
                  icmp6(IA6, snb, 135, 0, b"\0" * 4, ip6(IB6) + b"\x01\x00" + mac(MA)),
                  hlim=255), drop=[("S", "malformed")])
    c.add(v6frame(MA, MB, IA6, IB6, 58, icmp6(IA6, IB6, 136, 0, b"\x60\0\0\0", ip6(IA6)[:8]),
                  hlim=255), drop=[("S", "malformed")])
    # Options are fine: IPv4 options (IHL 6), TCP options (data offset 6).
    c.add(eth(MB, MA, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 4000, 53, t()), ihl=6,
                                   options=b"\x01\x01\x01\x00")), to="B")
    c.add(v4frame(MA, MB, IA, IB, 6, tcp(IA, IB, 1001, 80, SYN, doff=6)), to="B")
    c.add(udp4(MA, MB, IA, IB, 4000, 53, t()), to="B")                       # control
    cases.append(c)

    c = Case("extlen", "an IPv6 extension header longer than the packet, with no upper layer behind it")
    c.add(v6frame(MA, MB, IA6, IB6, 0, bytes([59, 8]) + b"\1\4\0\0\0\0"), drop=[("S", "malformed")])
    c.add(v6frame(MA, MB, IA6, IB6, 60, bytes([59, 2]) + b"\1\4\0\0\0\0" + b"\0" * 8),
          drop=[("S", "malformed")])
    cases.append(c)

    # ---- frag: no reassembly, fragments on a filtered path are dropped
    c = Case("frag", "IPv4 and IPv6 fragments from a VM port")
    t = lambda: text(c.name, len(c.frames))
    c.add(udp4(MA, MB, IA, IB, 4000, 53, t(), flags=1), drop=[("S", "fragment")])
    c.add(v4frame(MA, MB, IA, IB, 17, t(), frag=100), drop=[("S", "fragment")])
    c.add(v4frame(MA, MB, IA, IB, 17, t(), frag=100, flags=1), drop=[("S", "fragment")])
    c.add(udp4(MA, MB, IA, IB, 4000, 53, t(), flags=2), to="B")              # DF: not a fragment
    f6 = lambda off, m, l4: bytes([17, 0]) + struct.pack("!HI", (off << 3) | m, 42) + l4
    c.add(v6frame(MA, MB, IA6, IB6, 44, f6(0, 1, udp(IA6, IB6, 1, 53, t()))),
          drop=[("S", "fragment")])
    c.add(v6frame(MA, MB, IA6, IB6, 44, f6(10, 0, t())), drop=[("S", "fragment")])
    # to an unknown MAC (the uplink's), to everyone: the sender is filtered
    c.add(udp4(MA, MX, IA, "198.18.30.1", 4000, 53, t(), flags=1), drop=[("S", "fragment")])
    c.add(udp4(MA, BCAST, IA, "198.18.20.255", 4000, 53, t(), flags=1), drop=[("S", "fragment")])
    # A fragment with a spoofed source is first of all spoofed.
    c.add(v4frame(MA, MB, IX, IB, 17, t(), frag=100), drop=[("S", "spoofed_ip")])
    c.add(udp4(MA, MB, IA, IB, 4000, 53, t()), to="B")
    cases.append(c)

    # ---- tcpflags: conntrack on TCP; B allows tcp 80. Connections opened
    # here are used by the next cases: a connection committed by a burst is
    # only seen by the following bursts, and the cases are played one after
    # the other.
    c = Case("tcpflags", "odd TCP flags, packets without a connection, connections opened")
    t = lambda: text(c.name, len(c.frames))
    T4 = lambda sp, dp, fl: tcp4(MA, MB, IA, IB, sp, dp, fl)
    c.add(T4(5000, 80, SYN | FIN), drop=[("S", "ct_invalid")])
    c.add(T4(5000, 80, 0), drop=[("S", "ct_invalid")])
    c.add(T4(5000, 80, FIN), drop=[("S", "ct_invalid")])
    c.add(T4(5000, 80, SYN | RST), drop=[("S", "ct_invalid")])
    c.add(T4(5000, 80, SYN | FIN | RST | PSH | ACK | 0x20), drop=[("S", "ct_invalid")])
    c.add(T4(5000, 80, ACK), drop=[("S", "ct_invalid")])                      # no connection
    c.add(T4(5000, 80, PSH | ACK), drop=[("S", "ct_invalid")])
    c.add(T4(5000, 80, RST), drop=[("S", "ct_invalid")])
    c.add(T4(5000, 80, FIN | ACK), drop=[("S", "ct_invalid")])
    c.add(T4(5000, 80, SYN | ACK), drop=[("S", "ct_invalid")])
    # An echo reply nobody asked for; an ICMP error about no connection.
    c.add(v4frame(MA, MB, IA, IB, 1, icmp4(0, 0, echo(9, 1), t())), drop=[("S", "ct_invalid")])
    quoted = ipv4(IB, IA, 6, tcp(IB, IA, 80, 5999, SYN | ACK))
    c.add(v4frame(MA, MB, IA, IB, 1, icmp4(3, 3, b"\0\0\0\0", quoted)),
          drop=[("S", "ct_invalid")])
    # Connections: SYNs allowed by B's rule (ECN bits do not matter), UDP.
    c.add(T4(5001, 80, SYN), to="B")
    c.add(T4(5002, 80, SYN | 0xC0), to="B")
    c.add(T4(5101, 80, SYN), to="B")
    c.add(udp4(MA, MB, IA, IB, 4001, 53, t()), to="B")
    c.add(udp4(MA, MB, IA, IB, 5102, 53, t()), to="B")
    # A SYN to a port B does not allow.
    c.add(T4(5003, 81, SYN), drop=[("B", "sg_ingress")])
    # IPv6: SYN+FIN invalid, SYN allowed, ACK without connection invalid.
    c.add(v6frame(MA, MB, IA6, IB6, 6, tcp(IA6, IB6, 6000, 80, SYN | FIN)), drop=[("S", "ct_invalid")])
    c.add(v6frame(MA, MB, IA6, IB6, 6, tcp(IA6, IB6, 6001, 80, SYN)), to="B")
    c.add(v6frame(MA, MB, IA6, IB6, 6, tcp(IA6, IB6, 6002, 80, ACK)), drop=[("S", "ct_invalid")])
    c.add(udp4(MA, MB, IA, IB, 4000, 53, t()), to="B")
    cases.append(c)

    # ---- related: on the connections "tcpflags" opened (SYN_SENT, UNREPLIED)
    c = Case("related", "packets of connections in SYN_SENT / UNREPLIED; ICMP errors about them")
    t = lambda: text(c.name, len(c.frames))
    c.add(T4(5001, 80, SYN), to="B")                                        # retransmission
    c.add(T4(5001, 80, SYN | ACK), drop=[("S", "ct_invalid")])              # from the originator
    c.add(T4(5001, 80, ACK), drop=[("S", "ct_invalid")])                    # before the SYN-ACK
    c.add(v6frame(MA, MB, IA6, IB6, 6, tcp(IA6, IB6, 6001, 80, SYN | ACK)), drop=[("S", "ct_invalid")])
    # An ICMP error about the connection (as if S's stack rejected B's
    # traffic, quoting the whole TCP header as Linux does): related, passes
    # without a rule (B allows no ICMP type 3); the same about a UDP flow.
    quoted = ipv4(IB, IA, 6, tcp(IB, IA, 80, 5001, SYN | ACK))
    c.add(v4frame(MA, MB, IA, IB, 1, icmp4(3, 3, b"\0\0\0\0", quoted)), to="B")
    quoted = ipv4(IB, IA, 17, udp(IB, IA, 53, 4001, b"reply"))
    c.add(v4frame(MA, MB, IA, IB, 1, icmp4(3, 3, b"\0\0\0\0", quoted)), to="B")
    # UDP again on the flow: part of the connection (B has no rule for sport)
    c.add(udp4(MA, MB, IA, IB, 4001, 53, t()), to="B")
    c.add(udp4(MA, MB, IA, IB, 4000, 53, t()), to="B")
    cases.append(c)

    # ---- cases that once found bugs.
    c = Case("icmp8", "an ICMP error quoting the RFC 792 minimum (IP header + 8 bytes) of a tracked TCP packet")
    quoted = ipv4(IB, IA, 17, udp(IB, IA, 53, 5102, b"reply"))[:28]
    c.add(v4frame(MA, MB, IA, IB, 1, icmp4(3, 3, b"\0\0\0\0", quoted)), to="B")   # UDP: fine
    quoted = ipv4(IB, IA, 6, tcp(IB, IA, 80, 5101, SYN | ACK))[:28]
    c.add(v4frame(MA, MB, IA, IB, 1, icmp4(3, 4, b"\0\0\x05\xdc", quoted)), to="B")  # frag. needed
    cases.append(c)

    # ---- rules: B's ingress rules (S keeps the default egress rules)
    c = Case("rules", "allowed and denied by B's security group")
    t = lambda: text(c.name, len(c.frames))
    c.add(udp4(MA, MB, IA, IB, 4100, 53, t()), to="B")
    c.add(udp4(MA, MB, IA, IB, 4100, 54, t()), drop=[("B", "sg_ingress")])
    c.add(udp4(MA, MB, IA, IB, 4100, 52, t()), drop=[("B", "sg_ingress")])
    c.add(tcp4(MA, MB, IA, IB, 4100, 80, SYN), to="B")
    c.add(tcp4(MA, MB, IA, IB, 4100, 53, SYN), drop=[("B", "sg_ingress")])  # udp rule, tcp packet
    c.add(v4frame(MA, MB, IA, IB, 1, icmp4(8, 0, echo(11, 1), t())), to="B")
    c.add(v4frame(MA, MB, IA, IB, 1, icmp4(13, 0, echo(11, 2), b"\0" * 12)),
          drop=[("B", "sg_ingress")])                                        # timestamp
    c.add(v6frame(MA, MB, IA6, IB6, 58, icmp6(IA6, IB6, 128, 0, echo(11, 3), t())), to="B")
    c.add(v6frame(MA, MB, IA6, IB6, 17, udp(IA6, IB6, 4100, 53, t())),
          drop=[("B", "sg_ingress")])                                        # no IPv6 udp rule
    c.add(v4frame(MA, MB, IA, IB, 47, b"\0\0\x08\0" + t()), drop=[("B", "sg_ingress")])   # GRE
    # udp 5000-5010 only from the prefix PB
    c.add(udp4(MA, MB, "198.18.21.77", IB, 4100, 5005, t()), to="B")
    c.add(udp4(MA, MB, IA, IB, 4100, 5005, t()), drop=[("B", "sg_ingress")])
    c.add(udp4(MA, MB, "198.18.21.77", IB, 4100, 5011, t()), drop=[("B", "sg_ingress")])
    c.add(udp4(MA, MB, "198.18.21.77", IB, 4100, 5000, t()), to="B")
    c.add(udp4(MA, MB, "198.18.21.77", IB, 4100, 5010, t()), to="B")
    # proto 132 (SCTP) allowed by a numeric rule
    c.add(v4frame(MA, MB, IA, IB, 132, struct.pack("!HHII", 4100, 9, 0, 0) + t()), to="B")
    # unknown unicast: only the uplink; a VM port never gets it
    c.add(udp4(MA, MX, IA, "198.18.30.1", 4100, 53, t()), to="U")
    # broadcast: B's rules decide for B, the uplink gets it
    c.add(udp4(MA, BCAST, IA, "198.18.20.255", 4100, 53, t()), to="BU")
    c.add(udp4(MA, BCAST, IA, "198.18.20.255", 4100, 54, t()), to="U", drop=[("B", "sg_ingress")])
    c.add(udp4(MA, MB, IA, IB, 4000, 53, t()), to="B")
    cases.append(c)

    # ---- egress: S's group without its default egress rules, egress udp 53 only
    c = Case("egress", "S's own egress rules")
    t = lambda: text(c.name, len(c.frames))
    c.add(udp4(MA, MB, IA, IB, 4200, 53, t()), to="B")
    c.add(tcp4(MA, MB, IA, IB, 4200, 80, SYN), drop=[("S", "sg_egress")])
    c.add(v6frame(MA, MB, IA6, IB6, 58, icmp6(IA6, IB6, 128, 0, echo(12, 1), t())),
          drop=[("S", "sg_egress")])
    c.add(udp4(MA, BCAST, IA, "198.18.20.255", 4200, 54, t()), drop=[("S", "sg_egress")])
    c.add(udp4(MA, MX, IA, "198.18.30.1", 4200, 80, t()), drop=[("S", "sg_egress")])
    # denied by both: counted once, as egress
    c.add(udp4(MA, MB, IA, IB, 4200, 54, t()), drop=[("S", "sg_egress")])
    # ARP and neighbor discovery are not subject to rules
    c.add(eth(BCAST, MA, 0x0806, arp(1, MA, IA, "00:00:00:00:00:00", IB)), to="BU")
    snb = solicited_node(IB6)
    c.add(v6frame(MA, mcast_mac6(snb), IA6, snb, 58,
                  icmp6(IA6, snb, 135, 0, b"\0" * 4, ip6(IB6) + b"\x01\x01" + mac(MA)),
                  hlim=255), to="BU")
    c.add(udp4(MA, MB, IA, IB, 4000, 53, t()), to="B")
    cases.append(c)

    # ---- ctfull: xvio runs with --ct-capacity CT_CAP; the table is empty
    # (flushed, reclaimed) when this case starts: new flows past the
    # capacity are refused (S is a VM port, egress udp 53).
    c = Case("ctfull", "more new connections than the conntrack table holds")
    for i in range(CT_CAP + 2):
        c.add(udp4(MA, MB, IA, IB, 10000 + i, 53, b"xvio ctfull %d" % i),
              to="B" if i < CT_CAP else "", drop=None if i < CT_CAP else [("S", "ct_full")])
    # a packet of a tracked flow still passes
    c.add(udp4(MA, MB, IA, IB, 10000, 53, b"xvio ctfull again"), to="B")
    cases.append(c)

    # ---- uplink: S is an uplink now (no port security, no groups)
    c = Case("uplink", "from an uplink: B's ingress rules, no anti-spoofing")
    t = lambda: text(c.name, len(c.frames))
    c.add(udp4(MX, MB, "198.19.0.1", IB, 4300, 53, t()), to="B")
    c.add(udp4(MX, MB, "198.19.0.1", IB, 4300, 54, t()), drop=[("B", "sg_ingress")])
    c.add(tcp4(MX, MB, "198.19.0.1", IB, 4300, 80, ACK), drop=[("S", "ct_invalid")])
    c.add(udp4(MX, MB, "198.19.0.1", IB, 4300, 53, t(), flags=1), drop=[("S", "fragment")])
    c.add(vlan(MB, MX, 0x8100, 10, 0x0800, ipv4("198.19.0.1", IB, 17, udp("198.19.0.1", IB, 1, 53, b"x"))),
          drop=[("S", "vlan_tagged")])
    c.add(eth(MB, MX, 0x0800, ipv4("198.19.0.1", IB, 17, b"", ihl=4)), drop=[("S", "malformed")])
    # ARP from anyone (no port security on an uplink)
    c.add(eth(BCAST, MX, 0x0806, arp(1, MX, "198.19.0.1", "00:00:00:00:00:00", IB)), to="B")
    # never back to an uplink: unknown unicast has nowhere to go
    c.add(udp4(MX, "02:00:00:00:5e:02", "198.19.0.1", "198.19.0.2", 4300, 53, t()),
          drop=[("S", "no_dest")])
    c.add(udp4(MX, MB, "198.19.0.1", IB, 4300, 53, t()), to="B")
    cases.append(c)

    c = Case("flooddeny", "a broadcast from an uplink that B's rules refuse: one drop, counted once")
    c.add(udp4(MX, BCAST, "198.19.0.1", "198.18.20.255", 4400, 54, b"flooddeny"),
          drop=[("B", "sg_ingress")])
    c.add(udp4(MX, BCAST, "198.19.0.1", "198.18.20.255", 4400, 53, b"flooddeny ok"), to="B")
    cases.append(c)

    # ---- macs: B's MAC between 40 others no port owns, more than a
    # worker's MAC memo has slots (32): some share B's slot and take it
    # over, and B's frames must still reach B and only B's.
    c = Case("macs", "destinations that share the MAC memo's slots")
    for i in range(40):
        c.add(udp4(MX, MB, "198.19.0.1", IB, 4500, 53, b"xvio macs %d" % i), to="B")
        c.add(udp4(MX, "02:00:00:00:5f:%02x" % i, "198.19.0.1", "198.19.0.2", 4500, 53,
                   b"xvio macs unknown %d" % i), drop=[("S", "no_dest")])
    cases.append(c)
    return cases


def golden(d):
    os.makedirs(d, exist_ok=True)
    cases = golden_cases()
    for c in cases:
        c.write(d)
    with open(os.path.join(d, "conf.sh"), "w") as f:
        for k, v in sorted(CONF.items()):
            f.write("%s=%s\n" % (k, v))
        f.write("LLA=%s\n" % LLA)
        f.write("CASES='%s'\n" % " ".join(c.name for c in cases))
        for c in cases:
            f.write("N_%s=%d\n" % (c.name, len(c.frames)))
            f.write("TODO_%s='%s'\n" % (c.name, c.todo))


# ---------------------------------------------------------------- real stacks


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def opt(args, name, default=None, conv=str):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return conv(v)
    return default


def flag(args, name):
    if name in args:
        args.remove(name)
        return True
    return False


def serve(args):
    log = opt(args, "--log")
    tcp_ports, udp_ports = [], []
    while args:
        k = args.pop(0)
        (tcp_ports if k == "--tcp" else udp_ports).append(int(args.pop(0)))
    lock = threading.Lock()

    def note(line):
        if log:
            with lock, open(log, "a") as f:
                f.write(line + "\n")

    def conn(s, peer):
        first = True
        try:
            s.settimeout(600)
            while True:
                d = s.recv(65536)
                if not d:
                    break
                if first:
                    note("tcp %s %s" % (peer[0], d[:64].decode("ascii", "replace").strip()))
                    first = False
                s.sendall(d)
        except OSError:
            pass
        s.close()

    def tcp_loop(port):
        ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        ls.bind(("::", port))
        ls.listen(64)
        while True:
            s, peer = ls.accept()
            threading.Thread(target=conn, args=(s, peer), daemon=True).start()

    def udp_loop(port):
        us = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        us.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        us.bind(("::", port))
        while True:
            d, peer = us.recvfrom(65536)
            note("udp %s %s" % (peer[0], d[:64].decode("ascii", "replace").strip()))
            us.sendto(d, peer)

    for p in tcp_ports:
        threading.Thread(target=tcp_loop, args=(p,), daemon=True).start()
    for p in udp_ports:
        threading.Thread(target=udp_loop, args=(p,), daemon=True).start()
    note("ready")
    while True:
        time.sleep(3600)


def bound_socket(addr, kind, src):
    s = socket.socket(family(addr), kind)
    if src:
        s.bind((src, 0))
    return s


def tcp_client(args):
    timeout = opt(args, "--timeout", 3.0, float)
    msg = opt(args, "--msg", "xvio tcp").encode()
    src = opt(args, "--src")
    addr, port = args[0], int(args[1])
    s = bound_socket(addr, socket.SOCK_STREAM, src)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.close()
    except OSError as e:
        print("tcp %s:%d: %s" % (addr, port, e))
        return 1
    if got != msg:
        print("tcp %s:%d: echo %r" % (addr, port, got))
        return 1
    return 0


def udp_client(args):
    timeout = opt(args, "--timeout", 3.0, float)
    msg = opt(args, "--msg", "xvio udp").encode()
    src = opt(args, "--src")
    count = opt(args, "--count", 1, int)
    noreply = flag(args, "--noreply")
    addr, port = args[0], int(args[1])
    s = bound_socket(addr, socket.SOCK_DGRAM, src)
    s.settimeout(timeout)
    s.connect((addr, port))
    try:
        for _ in range(count):
            s.send(msg)
        if noreply:
            return 0
        d = s.recv(65536)
    except ConnectionRefusedError as e:
        print("udp %s:%d: %s" % (addr, port, e))
        return 3
    except OSError as e:
        print("udp %s:%d: %s" % (addr, port, e))
        return 1
    return 0 if d == msg else 1


def ping(args):
    timeout = opt(args, "--timeout", 3.0, float)
    count = opt(args, "--count", 1, int)
    addr = args[0]
    v6 = ":" in addr
    if v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    for seq in range(1, count + 1):
        payload = b"xvio ping %d" % seq
        if v6:
            pkt = struct.pack("!BBHHH", 128, 0, 0, ident, seq) + payload   # kernel sums it
        else:
            pkt = icmp4(8, 0, echo(ident, seq), payload)
        s.sendto(pkt, (addr, 0))
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                print("ping %s: no reply to seq %d" % (addr, seq))
                return 1
            d, peer = s.recvfrom(65536)
            if not v6:
                d = d[(d[0] & 0xF) * 4:]
            if peer[0] != socket.inet_ntop(family(addr), socket.inet_pton(family(addr), addr)):
                continue
            typ = d[0]
            rid, rseq = struct.unpack("!HH", d[4:8])
            if typ == (129 if v6 else 0) and rid == ident and rseq == seq and d[8:] == payload:
                break
    return 0


def hold(args):
    status = opt(args, "--status")
    stop = opt(args, "--stop")
    gap = opt(args, "--gap", 0.02, float)
    addr, port = args[0], int(args[1])

    def put(v):
        tmp = status + ".tmp"
        with open(tmp, "w") as f:
            f.write(v + "\n")
        os.rename(tmp, status)

    n = 0
    put("0")
    try:
        s = socket.create_connection((addr, port), timeout=5)
        s.settimeout(20)
        while not os.path.exists(stop):
            msg = b"xvio hold %d\n" % n
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                d = s.recv(65536)
                if not d:
                    raise OSError("connection closed by the server")
                got += d
            if got != msg:
                raise OSError("bad echo %r" % got)
            n += 1
            put(str(n))
            time.sleep(gap)
        s.close()
    except OSError as e:
        put("ERR after %d: %s" % (n, e))
        return 1
    return 0


def sniff(args):
    ready = opt(args, "--ready")
    iface, out = args[0], args[1]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((iface, 0))
    w = PcapWriter(out)
    w.n = -1    # real timestamps
    if ready:
        open(ready, "w").close()
    while True:
        d, a = s.recvfrom(65536)
        if a[2] == socket.PACKET_OUTGOING:
            continue
        w.add(d)


def send(args):
    iface, path = args[0], args[1]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for fr in pcap_read(path):
        s.send(fr)
    return 0


def arp_cmd(args):
    src = opt(args, "--src")
    dst = opt(args, "--dst", BCAST)
    path, op, sha, spa, tha, tpa = args[:6]
    opn = 1 if op == "request" else 2
    pcap_write(path, [eth(dst, src or sha, 0x0806, arp(opn, sha, spa, tha, tpa))])
    return 0


def compare(args):
    a, b = pcap_read(args[0]), pcap_read(args[1])
    if a == b:
        return 0
    print("expected %d frames, got %d" % (len(a), len(b)))
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            print("first difference at frame %d:" % i)
            print("  expected: %s" % (x.hex() if x is not None else "(none)"))
            print("  got:      %s" % (y.hex() if y is not None else "(none)"))
            break
    return 1


def main():
    # Background jobs of a script start with SIGINT ignored; the tests stop
    # what they started with SIGINT (then SIGKILL after a bound).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if len(sys.argv) < 2:
        sys.exit(__doc__ if __doc__ else "usage: netpkt.py OP ...")
    op, args = sys.argv[1], sys.argv[2:]
    if op == "golden":
        golden(args[0])
    elif op == "control":
        # control FILE N: N UDP frames S -> B:53 with the golden identities
        pcap_write(args[0], [udp4(MA, MB, IA, IB, 4900 + i, 53, b"xvio control %d" % i)
                             for i in range(int(args[1]))])
    elif op == "serve":
        serve(args)
    elif op == "tcp":
        return tcp_client(args)
    elif op == "udp":
        return udp_client(args)
    elif op == "ping":
        return ping(args)
    elif op == "hold":
        return hold(args)
    elif op == "sniff":
        sniff(args)
    elif op == "send":
        return send(args)
    elif op == "arp":
        return arp_cmd(args)
    elif op == "count":
        print(len(pcap_read(args[0])) if os.path.exists(args[0]) else 0)
    elif op == "has":
        t = args[1].encode()
        print(sum(1 for f in pcap_read(args[0]) if t in f) if os.path.exists(args[0]) else 0)
    elif op == "from":
        m = mac(args[1])
        et = struct.pack("!H", int(args[2], 16)) if len(args) > 2 else None
        print(sum(1 for f in pcap_read(args[0]) if f[6:12] == m and (et is None or f[12:14] == et))
              if os.path.exists(args[0]) else 0)
    elif op == "compare":
        return compare(args)
    else:
        sys.exit("netpkt.py: unknown op " + op)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
