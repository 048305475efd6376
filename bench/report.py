#!/usr/bin/env python3
"""Benchmark bookkeeping for bench/bench.sh (standard library only).

    report.py record META START END [CHG]
                                      -> one JSON line (a run's result) on stdout
    report.py summary DIR             -> DIR/runs.csv, summary.json, summary.md,
                                         chart.dat, chart.gp, chart.png (gnuplot)

META/START/END are key=value files written by bench.sh: the run's layout
and two counter snapshots (window start and end); CHG (fw scenarios, xvio)
the rule change made after the window. See doc/benchmark.md for what every
field means.
"""
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys

SYSTEM_ORDER = ["xvio", "xvio-relay", "testpmd", "ovs"]
SYSTEM_LABEL = {"xvio": "xvio", "xvio-relay": "xvio (plain relay)", "testpmd": "testpmd (io fwd)",
                "ovs": "OVS-DPDK (l2 flow)"}
# In the firewall scenarios (fw-FLOWS).
FW_LABEL = {"xvio": "xvio (network: SG rules + ct)", "xvio-relay": "xvio (plain relay, same traffic)",
            "ovs": "OVS-DPDK (ct + rules as flows)"}
DIR_LABEL = {"g2n": "guest->NIC", "n2g": "NIC->guest", "v2v": "guest->guest", "fw": "firewall g->N"}
FW_TARGET_OVS = 2.0     # xvio fw >= 2x OVS fw
FW_TARGET_RELAY = 0.5   # xvio fw >= 50 % of xvio's relay


def scen_label(sc):
    """A scenario's name for tables and the chart: "guest->NIC 64"."""
    d, _, sz = sc.partition("-")
    return "%s %s" % (DIR_LABEL.get(d, d), sz)


def base_system(name):
    """xvio-relay is xvio: same counters and clock."""
    return "xvio" if name in ("xvio", "xvio-relay") else name


def sys_label(scen, name):
    if (scen or "").startswith("fw-"):
        return FW_LABEL.get(name, name)
    return SYSTEM_LABEL.get(name, name)

# Thresholds for the flags (see doc/benchmark.md).
UNSAT_BUSY = 0.95   # SUT busy below this: the generator/receiver was the limit
CONTENDED_CPU = 0.10  # a poller got this much less CPU than it wanted
BG_BUSY = 0.30      # CPU 0 or 1 this busy right before the run (someone else)
CHECK_TOL = 0.02    # counters of two processes may differ by this fraction


def read_kv(path):
    d = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if "=" in line:
                    k, v = line.split("=", 1)
                    d[k] = v
    except FileNotFoundError:
        pass
    return d


def bg_busy(m):
    """The busier of CPU 0 and 1 right before the run (meta bg_busy0/1);
    None when unreadable."""
    try:
        return max(float(m.get("bg_busy0") or 0), float(m.get("bg_busy1") or 0))
    except ValueError:
        return None


def num(d, k):
    if not k or k not in d:
        return None
    try:
        return float(d[k])
    except ValueError:
        return None


def delta(s, e, k):
    a, b = num(s, k), num(e, k)
    if a is None or b is None:
        return None
    return b - a


def rnd(x, n=3):
    return None if x is None else round(x, n)


def avg_frame(size, imix, frame=None):
    if frame:
        return float(frame)
    if size == "imix":
        sizes = [int(x) for x in imix.split(",")]
        return sum(sizes) / len(sizes)
    return float(size)


def bracket_w(s, e, tag):
    """Interval between the two readings of query TAG from the wall-clock
    brackets (midpoints) and its uncertainty (half-widths added)."""
    k0, k1 = "t.%s.pre" % tag, "t.%s.post" % tag
    v = [num(x, k) for x in (s, e) for k in (k0, k1)]
    if None in v:
        return None, None
    sp, sq, ep, eq = v
    return (ep + eq) / 2 - (sp + sq) / 2, (sq - sp) / 2 + (eq - ep) / 2


def self_clock(s, e, tag, sysname, tsc):
    """Interval between the two readings of query TAG measured by the process
    itself, when it reports one:
      xvio     worker busy+idle+sleep cycles / TSC (read in the same stats call)
      testpmd  packets / pps of "show port stats" (pps is over the interval
               since the previous show of that port, which is the start one)
      OVS      PMD idle+processing cycles / TSC (same pmd-stats-show call)"""
    if tag == "sut" and sysname == "xvio" and tsc and "sut.sleep" in e:
        d = [delta(s, e, "sut." + k) for k in ("busy", "idle", "sleep")]
        if None not in d and sum(d) > 0:
            return sum(d) / tsc
    if tag == "sut" and sysname == "ovs" and tsc:
        d = [delta(s, e, "sut.pmd." + k) for k in ("idle", "proc")]
        if None not in d and sum(d) > 0:
            return sum(d) / tsc
    if tag == "gen" or (tag == "sut" and sysname == "testpmd"):
        best = None
        for k, v in e.items():
            if not k.startswith(tag + ".nic.") or not k.endswith("pps"):
                continue
            pps = num(e, k)
            cnt = delta(s, e, k[:-3])  # .rxpps -> .rx
            if pps and pps > 0 and cnt and cnt > 0 and (best is None or cnt > best[0]):
                best = (cnt, cnt / pps)
        if best:
            return best[1]
    return None


def record(meta_p, start_p, end_p, chg_p=None):
    m, s, e = read_kv(meta_p), read_kv(start_p), read_kv(end_p)
    sysname = base_system(m.get("system", ""))
    rec = {
        "scenario": m.get("scenario"), "dir": m.get("dir"), "size": m.get("size"),
        "system": m.get("system", ""), "run": int(m.get("run", 0)), "seq": int(m.get("seq", 0)),
        "ok": False, "error": m.get("error") or None,
        "t_start": num(s, "t"), "window_s": None, "clock": None, "far_pkts": None, "mpps": None,
        "gbps": None, "tsc_hz": None, "busy_cycles": None, "busy_frac": None, "polled_frac": None,
        "busy_cpp": None, "total_cpp": None, "sut_cpu": None, "gen_cpu": None,
        "offered_pkts": None, "gen_drop_pkts": None, "sut_in_pkts": None, "sut_out_pkts": None,
        "sut_drop_pkts": None, "bg_busy": None, "query_lag_s": None, "checks": [], "flags": [],
        "sut_exit": m.get("sut_rc") or None, "logs": m.get("logs"),
    }
    if m.get("flows"):
        rec["flows"] = int(m["flows"])
    fw = {k[3:]: num(m, k) for k in m if k.startswith("fw.")}
    if fw:
        rec["fw"] = fw
    rec["bg_busy"] = bg_busy(m)
    if rec["error"] or "t" not in s or "t" not in e:
        if not rec["error"]:
            rec["error"] = "no counter snapshots"
        return rec

    # TSC frequency: the SUT's own report, else the generator's testpmd.
    tsc = None
    if sysname == "xvio":
        tsc = num(e, "sut.tsc_hz")
    elif sysname == "testpmd" and num(e, "sut.mhz"):
        tsc = num(e, "sut.mhz") * 1e6
    if not tsc and num(e, "gen.mhz"):
        tsc = num(e, "gen.mhz") * 1e6
    rec["tsc_hz"] = tsc

    # One interval per query: the process's own clock when it has one, else
    # the wall-clock brackets around the query.
    clocks, lags, checks = {}, [], rec["checks"]
    tags = sorted({k.split(".")[1] for k in s if k.startswith("t.") and k.endswith(".pre")})
    for tag in tags:
        wb, unc = bracket_w(s, e, tag)
        ws = self_clock(s, e, tag, sysname, tsc)
        if unc is not None:
            lags.append(unc)
        if ws is not None and (not wb or abs(ws - wb) <= unc + 0.01 * wb + 0.005):
            clocks[tag] = (ws, "self", unc or 0.0)
        elif ws is not None:
            # The process's own clock disagrees with the wall clock beyond the
            # brackets' uncertainty (wrong cycle counters, or the process was
            # descheduled between reading its counters and its clock): use
            # the wall clock and say so.
            checks.append("%s clock %.3f s vs wall %.3f s (+-%.3f)" % (tag, ws, wb, unc))
            clocks[tag] = (wb, "wall", unc or 0.0)
        elif wb:
            clocks[tag] = (wb, "wall", unc or 0.0)
    rec["query_lag_s"] = rnd(max(lags), 3) if lags else None

    def win(key):
        c = clocks.get((key or "").split(".")[0])
        return c[0] if c else None

    def dint(k):
        v = delta(s, e, k)
        return None if v is None else int(v)

    far_key = m.get("far_key")
    far = delta(s, e, far_key)
    window = win(far_key)
    if far is None or window is None:
        rec["error"] = "far-end counter %s missing" % far_key
        return rec
    rec["window_s"] = rnd(window, 4)
    rec["clock"] = ",".join("%s:%s" % (t, c[1]) for t, c in sorted(clocks.items()))
    rec["far_pkts"] = int(far)
    if far <= 0 or window <= 0:
        rec["error"] = "no packets at the far end during the window"
        return rec
    far_rate = far / window
    rec["mpps"] = rnd(far_rate / 1e6, 4)
    rec["gbps"] = rnd(far_rate / 1e6 * avg_frame(m.get("size"), m.get("imix", "64"), m.get("frame")) * 8 / 1000, 3)

    w_sut, w_gen = win("sut.x") or window, win("gen.x") or window
    busy = polled = None
    if sysname == "xvio":
        busy = delta(s, e, "sut.busy")
        idle = delta(s, e, "sut.idle")
        if busy is not None and idle is not None:
            polled = busy + idle
    elif sysname == "testpmd":
        busy = delta(s, e, "sut.cycles")
    elif sysname == "ovs":
        busy = delta(s, e, "sut.pmd.proc")
        idle = delta(s, e, "sut.pmd.idle")
        if busy is not None and idle is not None:
            polled = busy + idle
    if tsc:
        rec["total_cpp"] = rnd(tsc / far_rate, 2)
        if busy is not None:
            rec["busy_cycles"] = int(busy)
            rec["busy_frac"] = rnd(busy / w_sut / tsc, 4)
            rec["busy_cpp"] = rnd(busy / w_sut / far_rate, 2)
        rec["polled_frac"] = rnd(polled / w_sut / tsc, 4) if polled is not None else 1.0

    clk = float(m.get("clk_tck") or 100)
    d = delta(s, e, "sut.cpu")
    rec["sut_cpu"] = rnd(d / clk / w_sut, 3) if d is not None else None
    d = delta(s, e, "gen.cpu")
    rec["gen_cpu"] = rnd(d / clk / w_gen, 3) if d is not None else None

    rec["offered_pkts"] = dint(m.get("gen_tx_key"))
    rec["gen_drop_pkts"] = dint(m.get("gen_drop_key"))
    rec["sut_in_pkts"] = dint(m.get("sut_in_key"))
    rec["sut_out_pkts"] = dint(m.get("sut_out_key"))
    if sysname == "xvio":
        rec["sut_drop_pkts"] = dint("sut.drops")
        reasons = {k[9:]: dint(k) for k in e if k.startswith("sut.drop.")}
        rec["sut_drop_reasons"] = {k: v for k, v in sorted(reasons.items()) if v}
    elif sysname == "ovs":
        # Datapath work per received packet (fw: recirculations, upcalls).
        rx = delta(s, e, "sut.pmd.rx")
        if rx:
            rec["ovs_per_pkt"] = {k: rnd(delta(s, e, "sut.pmd." + k) / rx, 4)
                                  for k in ("recirc", "emc", "megaflow", "upcall", "upcall_fail")
                                  if delta(s, e, "sut.pmd." + k) is not None}
    elif sysname == "testpmd":
        rec["sut_drop_pkts"] = dint("sut.fwd.all.txdrop")

    # Counters kept by different processes: compare rates, each over its own
    # query's interval.
    def rate(k):
        d, w = delta(s, e, k) if k else None, win(k)
        return d / w if d is not None and w else None

    def rel_unc(k):
        # How far apart in time the two processes' readings may be, relative
        # to the window (the query brackets' half-widths); a process's own
        # clock is not trusted beyond that either (testpmd reads its clock
        # after printing the counters, xvio's sleep is counted at wake-up).
        c = clocks.get((k or "").split(".")[0])
        return c[2] / c[0] if c and c[0] else 0.0

    def close(ka, kb, what):
        a, b = rate(ka), rate(kb)
        if a is None or b is None:
            return
        tol = CHECK_TOL + rel_unc(ka) + rel_unc(kb)
        if abs(a - b) > max(1000.0, tol * max(a, b)):
            checks.append("%s: %.4f vs %.4f Mpps" % (what, a / 1e6, b / 1e6))

    direction = m.get("dir")
    if direction in ("g2n", "v2v"):
        close(m.get("gen_tx_key"), m.get("sut_in_key"), "generator tx vs SUT rx")
    if direction in ("n2g", "v2v") or sysname == "ovs":
        close(m.get("sut_out_key"), far_key, "SUT tx vs far end")
    if sysname == "xvio" and direction in ("g2n", "fw"):
        a, b = dint("sut.port.nic.tx"), dint("sut.port.nic.opackets")
        if a is not None and b is not None and abs(a - b) > max(1024, 0.001 * a):
            checks.append("xvio nic tx %d vs device opackets %d" % (a, b))

    flags = []
    if rec["busy_frac"] is not None and rec["busy_frac"] < UNSAT_BUSY:
        flags.append("unsat")
    if rec["gen_cpu"] is not None and rec["gen_cpu"] < 1 - CONTENDED_CPU:
        flags.append("contended")
    elif rec["sut_cpu"] is not None and rec["polled_frac"] is not None and \
            rec["sut_cpu"] < rec["polled_frac"] - CONTENDED_CPU:
        flags.append("contended")
    if rec["bg_busy"] is not None and rec["bg_busy"] > BG_BUSY:
        flags.append("bg-load")
    if checks:
        flags.append("check")
    rec["flags"] = flags
    rec["ok"] = True
    if chg_p and os.path.exists(chg_p):
        rec.setdefault("fw", {}).update(change(read_kv(chg_p), tsc, far_key, m.get("gen_tx_key"), clk))
    return rec


def change(c, tsc, far_key, gen_key, clk):
    """The rule change made under traffic after the window (fw_change in
    bench.sh): the call's wall time and apply_ms, the far-end rate between
    the SUT snapshots right before and after it, how the xvio worker spent
    that time (busy, asleep) and how much CPU the generator got (xvio's
    control thread compiles on the generator's CPU 0), and the generator's
    rate in the ~0.2 s samples taken during it (lowest one)."""
    out = {"chg_rules": num(c, "rules"), "chg_ok": c.get("ok") == "true",
           "chg_apply_ms": num(c, "apply_ms"), "chg_rules_after": num(c, "rules_after"),
           "chg_classifier_rules": num(c, "classifier_rules"), "ct_count": num(c, "ct_count")}
    if c.get("error") or c.get("ok") != "true":
        out["chg_error"] = c.get("error") or "no reply (xvcall.py exit %s)" % c.get("rc")
    t0, t1 = num(c, "t_send"), num(c, "t_reply")
    if t0 is not None and t1 is not None:
        out["chg_wall_ms"] = rnd((t1 - t0) * 1000, 1)
    s0 = {k[3:]: v for k, v in c.items() if k.startswith("s0.")}
    s1 = {k[3:]: v for k, v in c.items() if k.startswith("s1.")}
    far = delta(s0, s1, far_key)
    w = self_clock(s0, s1, "sut", "xvio", tsc) or bracket_w(s0, s1, "sut")[0]
    if far is not None and w:
        out["chg_span_s"] = rnd(w, 3)
        out["chg_mpps"] = rnd(far / w / 1e6, 3)
    d = delta(s0, s1, "sut.drops")
    if d is not None:
        out["chg_drops"] = int(d)
    cyc = [delta(s0, s1, "sut." + k) for k in ("busy", "idle", "sleep")]
    if None not in cyc and sum(cyc) > 0:
        out["chg_sut_busy_frac"] = rnd(cyc[0] / sum(cyc), 3)
        out["chg_sut_sleep_frac"] = rnd(cyc[2] / sum(cyc), 3)
    d = delta(s0, s1, "gen.cpu")
    if d is not None and w:
        out["chg_gen_cpu"] = rnd(d / clk / w, 3)
    # Generator samples: the snapshots' own reading, then every sample taken
    # during the call, then the one after; with each sample during the call,
    # how long an `xvioctl version` took (the API answers reads meanwhile).
    pts, api = [], []
    for src, tag in ((s0, "gen"), (None, None), (s1, "gen")):
        if src is None:
            i = 0
            while "g.%d.t.pre" % i in c:
                a, b, v = num(c, "g.%d.t.pre" % i), num(c, "g.%d.t.post" % i), num(c, "g.%d.tx" % i)
                if None not in (a, b, v):
                    pts.append(((a + b) / 2, v))
                if num(c, "g.%d.api_ms" % i) is not None:
                    api.append(num(c, "g.%d.api_ms" % i))
                i += 1
        else:
            a, b, v = num(src, "t.%s.pre" % tag), num(src, "t.%s.post" % tag), num(src, gen_key)
            if None not in (a, b, v):
                pts.append(((a + b) / 2, v))
    if api:
        out["chg_api_calls"] = len(api)
        out["chg_api_max_ms"] = rnd(max(api), 1)
    rates = [(q[1] - p[1]) / (q[0] - p[0]) / 1e6 for p, q in zip(pts, pts[1:]) if q[0] > p[0]]
    if rates:
        out["chg_gen_samples"] = len(rates)
        out["chg_gen_min_mpps"] = rnd(min(rates), 3)
        out["chg_gen_mpps"] = rnd((pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0]) / 1e6, 3)
    return out


# ---------------------------------------------------------------- summary

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, n=2, dash="-"):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return dash
    return "%.*f" % (n, x)


def ratio_of(a, b):
    """a / b to 3 places; None when either is missing or 0."""
    return rnd(a / b, 3) if a and b else None


def mpps_pairs(oka, okb):
    """Mpps of a over b per alternated pair (the runs of the same number)."""
    ra = {r["run"]: r for r in oka}
    rb = {r["run"]: r for r in okb}
    return [ra[k]["mpps"] / rb[k]["mpps"] for k in sorted(ra) if k in rb and rb[k]["mpps"]]


def pair_stats(pairs):
    """Ratios of alternated pairs: how many, median, min and max."""
    return {"pairs": len(pairs), "pair_ratio_median": rnd(med(pairs), 3),
            "pair_ratio_min": rnd(min(pairs), 3) if pairs else None,
            "pair_ratio_max": rnd(max(pairs), 3) if pairs else None}


def read_runs(outdir):
    """DIR/runs.jsonl (a JSON object a line) and DIR/env.txt."""
    runs = []
    with open(os.path.join(outdir, "runs.jsonl")) as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    return runs, read_kv(os.path.join(outdir, "env.txt"))


def machine_line(env):
    """The summary's line on the machine and the versions (env.txt)."""
    return "%s; %s CPUs (%s); xvio %s (git %s); DPDK %s; OVS %s." % (
        env.get("host", "?"), env.get("nproc", "?"), env.get("cpu", "?"), env.get("xvio", "?"),
        env.get("git", "?"), env.get("dpdk", "?"), env.get("ovs", "-") or "-")


def summary(outdir):
    runs, env = read_runs(outdir)

    scen_order = []
    for r in runs:
        if r.get("scenario") not in scen_order:
            scen_order.append(r.get("scenario"))
    systems = [s for s in SYSTEM_ORDER if any(r.get("system") == s for r in runs)]

    # runs.csv
    cols = ["seq", "scenario", "dir", "size", "system", "run", "ok", "mpps", "gbps", "busy_cpp",
            "total_cpp", "busy_frac", "polled_frac", "sut_cpu", "gen_cpu", "window_s", "far_pkts",
            "offered_pkts", "gen_drop_pkts", "sut_in_pkts", "sut_out_pkts", "sut_drop_pkts",
            "busy_cycles", "tsc_hz", "bg_busy", "flags", "checks", "error", "t_start"]
    with open(os.path.join(outdir, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in runs:
            w.writerow([";".join(r.get(c) or []) if c in ("flags", "checks") else
                        ("" if r.get(c) is None else r.get(c)) for c in cols])

    groups = []
    by = {}
    for sc in scen_order:
        for sy in systems:
            rs = [r for r in runs if r.get("scenario") == sc and r.get("system") == sy]
            if not rs:
                continue
            ok = [r for r in rs if r.get("ok")]
            mp = [r["mpps"] for r in ok]
            flag_counts = {}
            for r in ok:
                for fl in r.get("flags", []):
                    flag_counts[fl] = flag_counts.get(fl, 0) + 1
            g = {
                "scenario": sc, "system": sy, "runs": len(rs), "ok": len(ok),
                "failed": [{"run": r.get("run"), "error": r.get("error")} for r in rs if not r.get("ok")],
                "mpps_median": rnd(med(mp), 3), "mpps_min": rnd(min(mp), 3) if mp else None,
                "mpps_max": rnd(max(mp), 3) if mp else None,
                "gbps_median": rnd(med([r.get("gbps") for r in ok]), 3),
                "busy_cpp_median": rnd(med([r.get("busy_cpp") for r in ok]), 1),
                "total_cpp_median": rnd(med([r.get("total_cpp") for r in ok]), 1),
                "busy_frac_median": rnd(med([r.get("busy_frac") for r in ok]), 3),
                "sut_cpu_median": rnd(med([r.get("sut_cpu") for r in ok]), 3),
                "flags": flag_counts,
                "mpps_runs": [(r.get("run"), r.get("mpps")) for r in ok],
            }
            if sc.startswith("fw-"):
                g["fw"] = fw_group(ok)
            groups.append(g)
            by[(sc, sy)] = (g, ok)

    def ratio_block(sc, a, b):
        if (sc, a) not in by or (sc, b) not in by:
            return None
        ga, oka = by[(sc, a)]
        gb, okb = by[(sc, b)]
        return {"scenario": sc, "a": a, "b": b,
                "mpps_ratio_of_medians": ratio_of(ga["mpps_median"], gb["mpps_median"]),
                "busy_cpp_ratio_of_medians": ratio_of(ga["busy_cpp_median"], gb["busy_cpp_median"]),
                "total_cpp_ratio_of_medians": ratio_of(ga["total_cpp_median"], gb["total_cpp_median"]),
                **pair_stats(mpps_pairs(oka, okb))}

    ratios = []
    for sc in scen_order:
        for b in ("xvio-relay", "testpmd", "ovs"):
            rb = ratio_block(sc, "xvio", b)
            if rb:
                ratios.append(rb)

    fw = fw_summary(scen_order, by, ratios)
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump({"env": env, "groups": groups, "ratios": ratios, "fw": fw}, f, indent=2)

    # summary.md
    L = []
    L.append("# xvio benchmark %s" % env.get("date", ""))
    L.append("")
    L.append(machine_line(env))
    L.append("%s runs per system and scenario, alternated; %s s warm-up, %s s window; generator/receiver "
             "on CPU 0, system under test on CPU 1. Mpps at the far end; cycles per delivered packet." % (
                 env.get("runs", "?"), env.get("warmup_s", "?"), env.get("window_s", "?")))
    if env.get("forced") == "1":
        bb = env.get("busy_at_start", "").split()
        L.append("")
        L.append("**Measured with BENCH_FORCE=1 while CPU 0/1 were %s busy before the start: other load "
                 "shared the cores, numbers are low and noisy.**" %
                 "/".join("%.0f%%" % (float(x) * 100) for x in bb))
    L.append("")
    L.append("| scenario | system | ok/runs | Mpps median | min-max | Gbit/s | busy cyc/pkt | total cyc/pkt "
             "| SUT busy | flagged runs |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for g in groups:
        fl = ", ".join("%s %d" % (k, v) for k, v in sorted(g["flags"].items())) or "-"
        L.append("| %s | %s | %d/%d | **%s** | %s-%s | %s | %s | %s | %s | %s |" % (
            scen_label(g["scenario"]), sys_label(g["scenario"], g["system"]), g["ok"], g["runs"],
            fmt(g["mpps_median"]), fmt(g["mpps_min"]), fmt(g["mpps_max"]), fmt(g["gbps_median"], 1),
            fmt(g["busy_cpp_median"], 1), fmt(g["total_cpp_median"], 1),
            fmt(g["busy_frac_median"] * 100 if g["busy_frac_median"] is not None else None, 0) + "%",
            fl))
    if ratios:
        L.append("")
        L.append("| scenario | compared | Mpps ratio (medians) | Mpps ratio per alternated pair: median (min-max) "
                 "| busy cyc/pkt ratio | total cyc/pkt ratio |")
        L.append("|---|---|---|---|---|---|")
        for r in ratios:
            L.append("| %s | xvio / %s | **%s** | %s (%s-%s), %d pairs | %s | %s |" % (
                scen_label(r["scenario"]), r["b"], fmt(r["mpps_ratio_of_medians"], 3),
                fmt(r["pair_ratio_median"], 3), fmt(r["pair_ratio_min"], 3), fmt(r["pair_ratio_max"], 3),
                r["pairs"], fmt(r["busy_cpp_ratio_of_medians"], 3), fmt(r["total_cpp_ratio_of_medians"], 3)))
    if fw:
        L += fw_markdown(fw, env)
    failed = [(g["scenario"], g["system"], f) for g in groups for f in g["failed"]]
    if failed:
        L.append("")
        L.append("Failed runs (not in the medians):")
        for sc, sy, f in failed:
            L.append("- %s %s run %s: %s" % (sc, sy, f["run"], f["error"]))
    L.append("")
    L.append("Ratios above 1 mean xvio moved more packets; cycle ratios below 1 mean xvio spent fewer cycles "
             "per packet. busy cyc/pkt: SUT cycles spent on work (xvio busy_cycles, testpmd "
             "--record-core-cycles, OVS PMD processing cycles) per delivered packet; total cyc/pkt: window x "
             "TSC / packets (the whole core). Flags: unsat = SUT busy < %d%% (the generator or receiver was "
             "the limit); contended = a poller got >= %d%% less CPU than it asked for; bg-load = CPU 0 or 1 "
             "was > %d%% busy just before the run; check = counters of two processes disagree. "
             "Flagged runs are included in the medians." % (UNSAT_BUSY * 100, CONTENDED_CPU * 100, BG_BUSY * 100))
    md = "\n".join(L) + "\n"
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write(md)

    chart(outdir, scen_order, systems, by, env)
    return 0


def fw_group(ok):
    """Per fw scenario and system: rule loading and the rule change."""
    def col(k):
        return [r["fw"].get(k) for r in ok if r.get("fw") and r["fw"].get(k) is not None]

    def mmm(k, n=1):
        xs = col(k)
        return {"median": rnd(med(xs), n), "min": rnd(min(xs), n), "max": rnd(max(xs), n),
                "n": len(xs)} if xs else None
    g = {"load_apply_ms": mmm("load_apply_ms"), "load_wall_ms": mmm("load_wall_ms"),
         "chg_wall_ms": mmm("chg_wall_ms"), "chg_apply_ms": mmm("chg_apply_ms"),
         "chg_mpps": mmm("chg_mpps", 3), "chg_gen_min_mpps": mmm("chg_gen_min_mpps", 3),
         "chg_drops": mmm("chg_drops", 0), "chg_sut_busy_frac": mmm("chg_sut_busy_frac", 3),
         "chg_sut_sleep_frac": mmm("chg_sut_sleep_frac", 3), "chg_gen_cpu": mmm("chg_gen_cpu", 3),
         "chg_api_max_ms": mmm("chg_api_max_ms", 1),
         "chg_errors": [r["fw"]["chg_error"] for r in ok
                                                          if r.get("fw", {}).get("chg_error")]}
    g["chg_rules"] = next((r["fw"].get("chg_rules") for r in ok if r.get("fw", {}).get("chg_rules")), None)
    reasons = {}
    for r in ok:
        for k, v in (r.get("sut_drop_reasons") or {}).items():
            reasons[k] = reasons.get(k, 0) + v
    g["drop_reasons"] = reasons
    ovs = [r["ovs_per_pkt"] for r in ok if r.get("ovs_per_pkt")]
    if ovs:
        g["ovs_per_pkt"] = {k: rnd(med([o.get(k) for o in ovs]), 3) for k in ovs[0]}
    return g


def fw_summary(scen_order, by, ratios):
    """The firewall scenarios' figures and targets."""
    out = []
    for sc in scen_order:
        if not sc.startswith("fw-"):
            continue
        e = {"scenario": sc, "flows": None}
        for sy in ("xvio", "xvio-relay", "ovs"):
            if (sc, sy) in by:
                g, ok = by[(sc, sy)]
                e[sy] = {k: g[k] for k in ("mpps_median", "mpps_min", "mpps_max", "busy_cpp_median",
                                           "busy_frac_median", "ok", "runs", "flags")}
                e[sy].update(g.get("fw", {}))
                e["flows"] = e["flows"] or next((r.get("flows") for r in ok if r.get("flows")), None)
        for r in ratios:
            if r["scenario"] == sc and r["b"] in ("ovs", "xvio-relay"):
                e["vs_" + r["b"]] = {k: r[k] for k in ("mpps_ratio_of_medians", "pair_ratio_median",
                                                        "pair_ratio_min", "pair_ratio_max", "pairs",
                                                        "busy_cpp_ratio_of_medians")}
        # The g2n-64 relay of the same run (txonly generator, 256 flows), when it ran.
        if ("g2n-64", "xvio") in by and e.get("xvio") and e["xvio"]["mpps_median"] and \
                by[("g2n-64", "xvio")][0]["mpps_median"]:
            g64 = by[("g2n-64", "xvio")][0]
            e["vs_g2n64_relay"] = {"g2n64_mpps_median": g64["mpps_median"],
                                   "g2n64_busy_cpp_median": g64["busy_cpp_median"],
                                   "mpps_ratio_of_medians": rnd(e["xvio"]["mpps_median"] / g64["mpps_median"], 3)}
        # A target holds when the Mpps ratio and the busy-cycles ratio (the
        # other's cycles per packet / xvio's: the rate each could reach
        # with a whole core) agree. A generator-limited peer (unsat, the
        # relay usually) makes the Mpps ratio flatter xvio; its cycles per
        # packet at partial load are a little high, flattering the peer.
        for b, t in (("ovs", FW_TARGET_OVS), ("xvio-relay", FW_TARGET_RELAY)):
            v = e.get("vs_" + b, {}).get("mpps_ratio_of_medians")
            cx = (e.get("xvio") or {}).get("busy_cpp_median")
            cb = (e.get(b) or {}).get("busy_cpp_median")
            c = rnd(cb / cx, 3) if cx and cb else None
            if v is None:
                met = None
            elif c is None or (v >= t) == (c >= t):
                met = v >= t
            else:
                met = "inconclusive"
            e["target_" + b] = {"min_ratio": t, "mpps_ratio": v, "cycles_ratio": c, "met": met,
                                "peer_unsat_runs": ((e.get(b) or {}).get("flags") or {}).get("unsat", 0)}
        out.append(e)
    return out


def fw_markdown(fw, env):
    L = ["", "## Firewall: 64 B UDP, %s security-group rules + conntrack, guest -> NIC, one core" %
         env.get("fw_rules", "1000"), ""]
    L.append("| flows | xvio fw Mpps | xvio relay Mpps | OVS fw Mpps | xvio fw / OVS fw: medians "
             "(pairs: median, min-max) | xvio fw / relay | busy cyc/pkt: xvio fw, relay, OVS "
             "| by cycles: fw / OVS, fw / relay | targets |")
    L.append("|---|---|---|---|---|---|---|---|---|")

    def mp(e, sy):
        g = e.get(sy)
        if not g:
            return "-"
        return "**%s** (%s-%s)%s" % (fmt(g["mpps_median"]), fmt(g["mpps_min"]), fmt(g["mpps_max"]),
                                     "" if g["ok"] == g["runs"] else " %d/%d ok" % (g["ok"], g["runs"]))

    def rt(e, b, pct=False):
        r = e.get("vs_" + b)
        if not r or r["mpps_ratio_of_medians"] is None:
            return "-"
        if pct:
            return "**%.0f %%** (pairs %.0f %%, %.0f-%.0f)" % (
                r["mpps_ratio_of_medians"] * 100, (r["pair_ratio_median"] or 0) * 100,
                (r["pair_ratio_min"] or 0) * 100, (r["pair_ratio_max"] or 0) * 100)
        return "**%s x** (%s, %s-%s)" % (fmt(r["mpps_ratio_of_medians"]), fmt(r["pair_ratio_median"]),
                                         fmt(r["pair_ratio_min"]), fmt(r["pair_ratio_max"]))

    def tg(e, b, what):
        t = e.get("target_" + b, {})
        return "%s: **%s**" % (what, {True: "met", False: "NOT met", None: "n/a",
                                      "inconclusive": "inconclusive"}[t.get("met")])

    def cyc(e):
        a = e.get("target_ovs", {}).get("cycles_ratio")
        b = e.get("target_xvio-relay", {}).get("cycles_ratio")
        return "%s, %s" % ("-" if a is None else "%.2f x" % a, "-" if b is None else "%.0f %%" % (b * 100))

    for e in fw:
        cpp = ", ".join(fmt((e.get(sy) or {}).get("busy_cpp_median"), 0) for sy in ("xvio", "xvio-relay", "ovs"))
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s; %s |" % (
            e["flows"] or e["scenario"], mp(e, "xvio"), mp(e, "xvio-relay"), mp(e, "ovs"),
            rt(e, "ovs"), rt(e, "xvio-relay", True), cpp, cyc(e), tg(e, "ovs", ">= 2x OVS"),
            tg(e, "xvio-relay", ">= 50 % relay")))

    def pct(d):
        return "-" if not d or d["median"] is None else "%.0f %%" % (d["median"] * 100)

    def mm(d, unit="", n=1):
        if not d:
            return "-"
        return "%s%s (%s-%s, %d runs)" % (fmt(d["median"], n), unit, fmt(d["min"], n), fmt(d["max"], n), d["n"])

    for e in fw:
        g = e.get("vs_g2n64_relay")
        if g:
            L.append("")
            L.append("%s flows: xvio fw is %.0f %% of this run's g2n-64 relay (txonly generator, 256 flows: "
                     "%s Mpps, %s busy cyc/pkt)." % (e["flows"], g["mpps_ratio_of_medians"] * 100,
                                                     fmt(g["g2n64_mpps_median"]), fmt(g["g2n64_busy_cpp_median"], 0)))
    L.append("")
    L.append("Loading the rules (one call, before the traffic):")
    for e in fw:
        x, o = e.get("xvio") or {}, e.get("ovs") or {}
        L.append("- %s flows: xvio `sg.rule.add` of %s rules: apply_ms %s, call %s; OVS `ovs-ofctl add-flows` "
                 "of the same rules: %s." % (
                     e["flows"], env.get("fw_rules", "?"), mm(x.get("load_apply_ms")),
                     mm(x.get("load_wall_ms"), " ms"), mm(o.get("load_wall_ms"), " ms")))
    chg = [e for e in fw if (e.get("xvio") or {}).get("chg_wall_ms")]
    if chg or any((e.get("xvio") or {}).get("chg_errors") for e in fw):
        L.append("")
        L.append("Rule change under traffic (xvio, after each window: %s more rules in one `sg.rule.add` call; "
                 "the reply comes when they are in force):" % env.get("fw_change", "?"))
        for e in fw:
            x = e.get("xvio") or {}
            if x.get("chg_wall_ms"):
                L.append("- %s flows: call %s, apply_ms %s; far-end rate over the call %s Mpps (window median %s), "
                         "lowest ~0.2 s generator sample %s Mpps; xvio drops during it: %s (most in a run); "
                         "meanwhile the xvio worker was busy %s and asleep %s of the time, the generator got "
                         "%s of CPU 0; `xvioctl version` during the call answered in at most %s." % (
                             e["flows"], mm(x["chg_wall_ms"], " ms", 0), mm(x.get("chg_apply_ms"), "", 0),
                             mm(x.get("chg_mpps"), "", 2), fmt(x.get("mpps_median")),
                             mm(x.get("chg_gen_min_mpps"), "", 2),
                             fmt((x.get("chg_drops") or {}).get("max"), 0),
                             pct(x.get("chg_sut_busy_frac")), pct(x.get("chg_sut_sleep_frac")),
                             pct(x.get("chg_gen_cpu")), mm(x.get("chg_api_max_ms"), " ms", 0)))
            for err in x.get("chg_errors") or []:
                L.append("- %s flows: rule change failed: %s" % (e["flows"], err))
    notes = []
    for e in fw:
        x, o = e.get("xvio") or {}, e.get("ovs") or {}
        if x.get("drop_reasons"):
            notes.append("%s flows: xvio fw drops in the windows: %s" % (
                e["flows"], ", ".join("%s %d" % kv for kv in sorted(x["drop_reasons"].items()))))
        if o.get("ovs_per_pkt"):
            notes.append("%s flows: OVS per received packet (medians): %s" % (
                e["flows"], ", ".join("%s %s" % kv for kv in o["ovs_per_pkt"].items())))
    if notes:
        L.append("")
        L += ["- " + n for n in notes]
    L.append("")
    L.append("Same generator for all three (the pcap of FLOWS 64 B UDP flows replayed by testpmd, io forwarding "
             "into virtio-user); xvio relay = the g2n relay of that traffic. OVS: `ct(table=1,zone=1)`, then "
             "`+trk+est`/`+rel` output, `+trk+new` through the rules as flows that `ct(commit)` and output. "
             "One-way UDP stays `+new` in OVS (every packet: ct, recirculation, rules, ct commit); xvio "
             "checks the rules only for the first packet of a connection. \"By cycles\": the other system's busy "
             "cycles per packet / xvio fw's (the rates with a whole core each). A target is met or NOT met when the "
             "Mpps ratio of the medians and the cycles ratio agree, else inconclusive: a generator-limited (unsat) "
             "relay makes the Mpps ratio flatter xvio fw.")
    return L


def chart(outdir, scen_order, systems, by, env):
    if not any(g["mpps_median"] is not None for g, _ in by.values()):
        sys.stderr.write("report: no successful run: no chart\n")
        return
    dat = os.path.join(outdir, "chart.dat")
    with open(dat, "w") as f:
        f.write("# scenario " + " ".join("%s_med %s_min %s_max" % (s, s, s) for s in systems) + "\n")
        for sc in scen_order:
            row = ['"%s"' % scen_label(sc)]
            for s in systems:
                g = by.get((sc, s), (None,))[0]
                if g and g["mpps_median"] is not None:
                    row += ["%.3f" % g["mpps_median"], "%.3f" % g["mpps_min"], "%.3f" % g["mpps_max"]]
                else:
                    row += ["NaN", "NaN", "NaN"]
            f.write(" ".join(row) + "\n")
    gp = os.path.join(outdir, "chart.gp")
    plots = []
    for i, s in enumerate(systems):
        c = 2 + 3 * i
        lab = SYSTEM_LABEL.get(s, s)
        if any(sc.startswith("fw-") for sc in scen_order):
            lab = {"xvio": "xvio (fw: network mode)", "xvio-relay": "xvio relay (fw reference)",
                   "ovs": "OVS-DPDK (l2 flow; fw: ct + rules)"}.get(s, lab)
        plots.append("'chart.dat' using %d:%d:%d:xtic(1) title '%s'" % (c, c + 1, c + 2, lab))
    title = "xvio benchmark %s (median Mpps, bars: min-max%s)" % (
        env.get("date", "")[:16], "; BENCH_FORCE: shared CPUs" if env.get("forced") == "1" else "")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 1100,560 noenhanced font 'sans,10'
set output 'chart.png'
set title "%s"
set ylabel 'Mpps (far end)'
set yrange [0:*]
set grid ytics
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top right
set xtics rotate by -20
set datafile missing 'NaN'
plot %s
""" % (title, ", \\\n     ".join(plots)))
    if shutil.which("gnuplot"):
        r = subprocess.run(["gnuplot", "chart.gp"], cwd=outdir, capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write("report: gnuplot failed: %s\n" % r.stderr.strip())
    else:
        sys.stderr.write("report: gnuplot not installed (package gnuplot-nox): no chart.png\n")


def main():
    if len(sys.argv) in (5, 6) and sys.argv[1] == "record":
        print(json.dumps(record(*sys.argv[2:]), separators=(",", ":")))
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "summary":
        return summary(sys.argv[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
