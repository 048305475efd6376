#!/usr/bin/env python3
"""Write a pcap of Ethernet/IPv4/UDP frames for the benchmark generator.

    mkpcap.py FILE SIZES
    mkpcap.py --flows N [--dmacs K] FILE [SIZE]

SIZES is a comma list of frame lengths without CRC (as testpmd --txpkts
counts them), e.g. the simple IMIX 64,570,64,64,570,64,1518,64,570,64,64,570
(7 x 64, 4 x 570, 1 x 1518). dpdk-testpmd replays the file in a loop with
net_pcap0,rx_pcap=FILE,infinite_rx=1. Addresses are in 198.18.0.0/15.

--flows N writes N frames of SIZE bytes (default 64), one per UDP flow, all
from one source (the "VM" of the firewall scenarios: MAC SRC_MAC, address
SRC_IP) to DST_MAC (no port of the switch owns it: it goes to the uplink).
Flow i goes to DST_IP_BASE + (i mod 1000), spread over 198.19.0.0/22 as
198.19.(k / 250).(1 + k % 250), UDP source port 1024 + i // 1000, destination
port DST_PORT: 1k flows differ by destination address only, 100k flows are
1,000 addresses x 100 source ports. Replayed in order, each flow comes back
once every N packets. --dmacs K sends flow i to MAC 02:00:00:01:00:00 plus
i mod K instead (no port owns those either): consecutive frames go to K
different MACs, as an uplink's traffic to the VMs behind it does.
"""
import struct
import sys

SRC_MAC = "02:00:00:00:00:01"
DST_MAC = "02:00:00:00:00:02"
SRC_IP = "198.18.0.1"
DST_NET = "198.19.0.0/22"   # every destination of the flows
DST_PORT = 5001
ADDRS = 1000                # destination addresses; then source ports vary


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(s):
    return bytes.fromhex(s.replace(":", ""))


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def udp4(size, src, dst, sport, dport, ident, smac=SRC_MAC, dmac=DST_MAC, fill=0):
    eth = mac(dmac) + mac(smac) + b"\x08\x00"
    ip_len = size - len(eth)
    udp_len = ip_len - 20
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, ident & 0xFFFF, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0)
    payload = bytes((fill + k) % 251 for k in range(udp_len - 8))
    return eth + ip + udp + payload


def frame(size, i):
    """Frame i of the IMIX file (its historic addresses)."""
    return udp4(size, bytes([198, 18, 1 + i % 250, 1]), bytes([198, 18, 0, 2]), 9, 9, i,
                smac="02:00:00:00:00:01", dmac="02:00:00:00:00:02", fill=i)


def flow_tuple(i):
    """(dst address, source port) of flow i."""
    k = i % ADDRS
    return "198.19.%d.%d" % (k // 250, 1 + k % 250), 1024 + i // ADDRS


def flow_dmac(i, dmacs):
    if dmacs == 1:
        return DST_MAC
    return "02:00:00:01:%02x:%02x" % ((i % dmacs) >> 8, (i % dmacs) & 0xFF)


def flow_frame(size, i, dmacs=1):
    dst, sport = flow_tuple(i)
    return udp4(size, ip4(SRC_IP), ip4(dst), sport, DST_PORT, i, dmac=flow_dmac(i, dmacs))


def write(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000000, i % 1000000, len(fr), len(fr)))
            f.write(fr)


def main():
    a = sys.argv[1:]
    dmacs = 1
    if len(a) >= 4 and a[0] == "--flows" and a[2] == "--dmacs":
        dmacs = int(a[3])
        a = a[:2] + a[4:]
        if dmacs < 1 or dmacs > 65536:
            sys.exit("mkpcap: --dmacs %d out of range 1..65536" % dmacs)
    if len(a) in (3, 4) and a[0] == "--flows":
        n = int(a[1])
        size = int(a[3]) if len(a) == 4 else 64
        if n < 1 or n > ADDRS * (65536 - 1024):
            sys.exit("mkpcap: --flows %d out of range" % n)
        if size < 60 or size > 1518:
            sys.exit("mkpcap: frame size %d out of range 60..1518" % size)
        write(a[2], (flow_frame(size, i, dmacs) for i in range(n)))
        return
    if len(a) != 2:
        sys.exit(__doc__)
    sizes = [int(x) for x in a[1].split(",")]
    for s in sizes:
        if s < 60 or s > 9000:
            sys.exit("mkpcap: frame size %d out of range 60..9000" % s)
    write(a[0], (frame(s, i) for i, s in enumerate(sizes)))


if __name__ == "__main__":
    main()
