#!/usr/bin/env python3
"""One xvio control call with its arguments read from a file, timed.

    xvcall.py SOCKET CMD ARGS.json

Sends {"id": 1, "cmd": CMD, "args": <ARGS.json>} as one line on xvio's
control socket (doc/api.md) and waits for the one reply line. Prints one
JSON object: {"t_send", "t_reply" (wall clock, s), "wall_ms", "reply"}.
Exit status 0 when the reply says ok, 1 otherwise, 2 on a usage or socket
error.

`xvioctl call CMD JSON` does the same, but its JSON is one command-line
argument, which Linux limits to 128 KiB: 10,000 security-group rules are
about 740 KB (the daemon takes request lines of up to 1 MiB).
"""
import json
import socket
import sys
import time


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    path, cmd, argf = sys.argv[1:]
    with open(argf) as f:
        args = json.load(f)
    line = (json.dumps({"id": 1, "cmd": cmd, "args": args}, separators=(",", ":")) + "\n").encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        sys.stderr.write("xvcall: %s: %s\n" % (path, e))
        return 2
    t0 = time.time()
    s.sendall(line)
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(1 << 16)
        if not d:
            break
        buf += d
    t1 = time.time()
    s.close()
    try:
        reply = json.loads(buf)
    except ValueError:
        sys.stderr.write("xvcall: no JSON reply (%d bytes)\n" % len(buf))
        print(json.dumps({"t_send": t0, "t_reply": t1, "wall_ms": (t1 - t0) * 1000, "reply": None,
                          "error": "no reply"}))
        return 2
    print(json.dumps({"t_send": t0, "t_reply": t1, "wall_ms": round((t1 - t0) * 1000, 3), "reply": reply}))
    return 0 if reply.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
