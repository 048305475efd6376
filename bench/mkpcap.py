#!/usr/bin/env python3
"""Write a small pcap of Ethernet/IPv4/UDP frames for the benchmark generator.

    mkpcap.py FILE SIZES

SIZES is a comma list of frame lengths without CRC (as testpmd --txpkts
counts them), e.g. the simple IMIX 64,570,64,64,570,64,1518,64,570,64,64,570
(7 x 64, 4 x 570, 1 x 1518). dpdk-testpmd replays the file in a loop with
net_pcap0,rx_pcap=FILE,infinite_rx=1. Addresses are in 198.18.0.0/15.
"""
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(size, i):
    eth = bytes.fromhex("020000000002" "020000000001") + b"\x08\x00"
    ip_len = size - len(eth)
    udp_len = ip_len - 20
    src = bytes([198, 18, 1 + i % 250, 1])
    dst = bytes([198, 18, 0, 2])
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, i & 0xFFFF, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    udp = struct.pack("!HHHH", 9, 9, udp_len, 0)
    payload = bytes((i + k) % 251 for k in range(udp_len - 8))
    return eth + ip + udp + payload


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sizes = [int(x) for x in sys.argv[2].split(",")]
    for s in sizes:
        if s < 60 or s > 9000:
            sys.exit("mkpcap: frame size %d out of range 60..9000" % s)
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, s in enumerate(sizes):
            fr = frame(s, i)
            f.write(struct.pack("<IIII", 1700000000, i, len(fr), len(fr)))
            f.write(fr)


if __name__ == "__main__":
    main()
