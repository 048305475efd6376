#!/usr/bin/env python3
"""ICMP echo round-trip times, one packet in flight at a time (standard
library only; root, raw socket). Used by bench/few-cores.sh inside its
network namespace:

    rtt.py --dst 198.18.0.2 --count N [--gap-ms A[-B]] [--timeout-ms T] --out FILE

--gap-ms 0 sends the next request as soon as the reply is in (back to back);
A-B waits a random time in [A, B] ms after each reply (spaced), so that a
hybrid-polling relay falls asleep between requests.

Times come from the kernel (SO_TIMESTAMPING, software stamps): the request's
transmit stamp is taken by the driver when it queues the frame (net_tap:
tun_net_xmit), the reply's receive stamp when the frame enters the stack
(netif_rx). Their difference is the time the frame spent outside this
kernel: in the relay and the guest. The client's own scheduling is not in
it. When the driver gives no transmit stamp, the user-space send time is
used instead (as ping does) and the line says so.

FILE gets one line per request (written at the end):
    seq gap_us rtt_ns rtt_user_ns src
src is "k" (kernel tx stamp) or "u" (user-space send time), with a "L" added
("kL", "uL") for a request given up on after --timeout-ms whose reply came
later (rtt_ns is then its real, late RTT); rtt_ns is -1 and src "-" when no
reply ever came.
A JSON summary goes to stdout (count, lost, kernel_tx_stamps, elapsed_s,
cpu_s: this client's own CPU time; lost: requests never answered; late,
late_ms: requests given up on whose reply came later, with its RTT in ms).
"""
import argparse
import json
import os
import random
import resource
import socket
import struct
import sys
import time

SO_TIMESTAMPING = 37
SCM_TIMESTAMPING = SO_TIMESTAMPING
SOF_TX_SOFTWARE = 1 << 1
SOF_RX_SOFTWARE = 1 << 3
SOF_SOFTWARE = 1 << 4
SOF_OPT_TSONLY = 1 << 11
MSG_ERRQUEUE = 0x2000


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def echo_req(ident, seq, payload):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    c = csum(h + payload)
    return struct.pack("!BBHHH", 8, 0, c, ident, seq) + payload


def sw_stamp(anc):
    """Software stamp (ns, CLOCK_REALTIME) from SCM_TIMESTAMPING, or None."""
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == SCM_TIMESTAMPING and len(data) >= 16:
            sec, nsec = struct.unpack("qq", data[:16])
            if sec or nsec:
                return sec * 1000000000 + nsec
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--gap-ms", default="0")
    ap.add_argument("--timeout-ms", type=float, default=1000.0)
    ap.add_argument("--size", type=int, default=56, help="ICMP payload bytes (as ping -s)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()

    lo, _, hi = a.gap_ms.partition("-")
    gap_lo = float(lo)
    gap_hi = float(hi) if hi else gap_lo
    rnd = random.Random(a.seed)

    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING,
                 SOF_TX_SOFTWARE | SOF_RX_SOFTWARE | SOF_SOFTWARE | SOF_OPT_TSONLY)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    # Blocking receive bounded by SO_RCVTIMEO: between sending a request and
    # sleeping in the kernel this client does as little as it can, because
    # it shares its CPU with the guest that answers.
    tmo_us = int(a.timeout_ms * 1000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                 struct.pack("ll", tmo_us // 1000000, tmo_us % 1000000))
    ident = os.getpid() & 0xFFFF
    dst = (a.dst, 0)
    payload = bytes((i & 0xFF) for i in range(max(a.size, 8)))

    lost = k_src = 0
    sent = {}   # seq -> (row index, send stamp, user send time) of requests that timed out
    late = []   # (seq, ms) replies that came after their timeout
    rows = []
    t_begin = time.monotonic()
    gap_us = 0
    clock = time.clock_gettime_ns
    RT = time.CLOCK_REALTIME
    for i in range(a.count):
        seq = i & 0xFFFF
        pkt = echo_req(ident, seq, payload)
        t_user = clock(RT)
        s.sendto(pkt, dst)
        t_rx = None
        while True:
            try:
                data, anc, _, _ = s.recvmsg(2048, 1024)
            except (BlockingIOError, InterruptedError, socket.timeout):
                break  # SO_RCVTIMEO: given up on
            ihl = (data[0] & 0x0F) * 4 if data else 0
            if len(data) < ihl + 8:
                continue
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if typ != 0 or rid != ident:
                continue
            if rseq == seq:
                t_rx = sw_stamp(anc) or clock(RT)
                break
            if rseq in sent:
                # The reply of a request given up on: how late was it?
                j, t0, tu = sent.pop(rseq)
                t_l = sw_stamp(anc) or clock(RT)
                late.append((rseq, (t_l - t0) / 1e6))
                rows[j][2:5] = [t_l - t0, t_l - tu, rows[j][4] + "L"]
        # The transmit stamp was queued while sendto ran (the driver's xmit).
        t_tx = None
        while True:
            try:
                _, anc, _, _ = s.recvmsg(64, 1024, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError, OSError):
                break
            if t_tx is None:
                t_tx = sw_stamp(anc)
        src = "k" if t_tx else "u"
        k_src += 1 if t_tx else 0
        if t_rx is None:
            sent[seq] = (len(rows), t_tx or t_user, t_user)
            lost += 1
            rows.append([i, gap_us, -1, -1, src])
        else:
            rows.append([i, gap_us, t_rx - (t_tx or t_user), t_rx - t_user, src])
        if gap_hi > 0 and i + 1 < a.count:
            g = rnd.uniform(gap_lo, gap_hi) / 1000.0
            gap_us = int(g * 1e6)
            time.sleep(g)
        else:
            gap_us = 0
    with open(a.out, "w") as out:
        for r in rows:
            out.write("%d %d %d %d %s\n" % tuple(r) if r[2] >= 0 else "%d %d -1 -1 -\n" % (r[0], r[1]))
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"count": a.count, "lost": lost - len(late), "kernel_tx_stamps": k_src,
                      "elapsed_s": round(time.monotonic() - t_begin, 3),
                      "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
                      "late": len(late), "late_ms": [[q, round(ms, 3)] for q, ms in late[:100]]}))
    return 0 if lost < a.count else 1


if __name__ == "__main__":
    sys.exit(main())
