#!/usr/bin/env bash
# The control API keeps answering while a big rule change compiles
# (doc/api.md, "Long changes"). 10,000 security-group rules of ranges and
# prefixes (bench/fwrules.py, the benchmark's change) take rte_acl seconds
# to compile; meanwhile requests that change nothing are answered at once,
# changes sent by other clients wait and then run in the order they came,
# one client's requests keep their order, and a SIGTERM during the compile
# ends the daemon cleanly after it, with the change's reply sent.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages
need_cmd jq

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
"$PY" "$ROOT/bench/fwrules.py" "$T/fw" 1000 10000 >/dev/null || bail "bench/fwrules.py writes the rules"
SG=$(jq -r .sg "$T/fw/sg-rules.json")

start_xvio || bail "xvio starts"
is "help: which commands answer during a compile" \
	"$(xctl --json help | jq -c '[.commands[] | select(.cmd == "version" or .cmd == "stats" or .cmd == "sg.rule.add" or .cmd == "network.add") | [.cmd, .reads_only]]')" \
	'[["version",true],["network.add",false],["sg.rule.add",false],["stats",true]]'
check "network" xctl network add n1
check "security group" xctl sg add "$SG"
# Without the group's default allow-all rules the mix compiles slowly,
# as in the benchmark; a port makes the group in use (compiled).
ids=$(xctl --json sg show "$SG" | jq -c '[.rules[].id]')
check "the group's default rules removed" xctl call sg.rule.del "{\"sg\":\"$SG\",\"ids\":$ids}"
check "uplink" xctl port add up eth net_null0,no-rx=1 --network n1 --uplink
check "VM port in the group" xctl port add vm eth net_null1,no-rx=1 --network n1 \
	--mac 02:00:00:00:00:01 --ip 198.18.0.1 --sg "$SG"
check "1,000 rules" "$PY" "$ROOT/bench/xvcall.py" "$CTL" sg.rule.add "$T/fw/sg-rules.json"

# The driver: the change on one connection; while it runs, 'version'
# probes every 50 ms on a second; after 0.3 s a change (network.add n2)
# on a third; and on a fourth, in one write, a change (network.add n3)
# then 'version'. Prints one JSON object with every reply and its time.
"$PY" - "$CTL" "$T/fw/sg-change.json" >"$T/drive.json" 2>"$T/drive.err" <<'EOF' &
import json, socket, sys, threading, time

path, changef = sys.argv[1:]
out = {}

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(120)
    s.connect(path)
    return s

def replies(s, n):
    buf, got = b"", []
    while len(got) < n:
        d = s.recv(1 << 16)
        if not d:
            break
        buf += d
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            got.append((time.time(), json.loads(line)))
    return got

def change():
    args = json.load(open(changef))
    s = conn()
    out["change_sent"] = time.time()
    s.sendall((json.dumps({"id": 1, "cmd": "sg.rule.add", "args": args}) + "\n").encode())
    (t, r), = replies(s, 1)
    out["change_reply"], out["change_ok"] = t, r.get("ok")

def probes():
    s = conn()
    out["probes"] = []
    while "change_reply" not in out:
        t0 = time.time()
        s.sendall(b'{"cmd":"version"}\n')
        (t1, r), = replies(s, 1)
        out["probes"].append([t0, t1, r.get("ok")])
        time.sleep(0.05)

def other_change():
    time.sleep(0.3)
    s = conn()
    s.sendall(b'{"cmd":"network.add","args":{"name":"n2"}}\n')
    (t, r), = replies(s, 1)
    out["n2_reply"], out["n2_ok"] = t, r.get("ok")

def pipelined():
    time.sleep(0.3)
    s = conn()
    s.sendall(b'{"id":"a","cmd":"network.add","args":{"name":"n3"}}\n{"id":"b","cmd":"version"}\n')
    out["pipelined"] = [[t, r.get("id"), r.get("ok")] for t, r in replies(s, 2)]

ts = [threading.Thread(target=f) for f in (change, other_change, pipelined)]
for t in ts:
    t.start()
time.sleep(0.1)
probes()
for t in ts:
    t.join()
print(json.dumps(out))
EOF
drive=$!
wait "$drive"
is "the driver ran" "$?" 0
diag_file "$T/drive.err"
d=$(cat "$T/drive.json")
is "the 10,000-rule change succeeded" "$(jq -r .change_ok <<<"$d")" true
took=$(jq '.change_reply - .change_sent' <<<"$d")
diag "the change took ${took} s"
if awk -v t="$took" 'BEGIN { exit !(t > 1) }'; then
	# Probes sent after the compile began (0.5 s in: the request is
	# parsed by then) and answered before the change's reply.
	during=$(jq '[.probes[] | select(.[0] > $c + 0.5 and .[1] < $r and .[2] == true)] | length' \
		--argjson c "$(jq .change_sent <<<"$d")" --argjson r "$(jq .change_reply <<<"$d")" <<<"$d")
	cmp_ge "'version' answered while the rules compiled" "$during" 3
else
	skip "'version' answered while the rules compiled" "the change compiled in ${took} s: too fast to look inside"
fi
is "every probe answered ok" "$(jq '[.probes[] | select(.[2] != true)] | length' <<<"$d")" 0
is "a change sent meanwhile succeeded" "$(jq -r .n2_ok <<<"$d")" true
is "... after the running change replied" "$(jq '.n2_reply >= .change_reply' <<<"$d")" true
is "pipelined change then read: both answered, in order" \
	"$(jq -c '[.pipelined[] | [.[1], .[2]]]' <<<"$d")" '[["a",true],["b",true]]'
is "... the change after the running one" "$(jq '.pipelined[0][0] >= .change_reply' <<<"$d")" true
check "n2 and n3 exist" bash -c "'$XVIOCTL' --ctl '$CTL' --json network list | jq -e '[.networks[].name] | index(\"n2\") and index(\"n3\")'"
is "the group holds all 11,000 rules" "$(xctl --json sg show "$SG" | jq '.rules | length')" 11000

# Clients that send a read and hang up in the same epoll batch as the end
# of a change: the compile's nested loop serves and frees them, and the
# batch they came in must not be used after (under ASan via t-asan this
# was a heap overflow). A big sg.show keeps the daemon busy while the
# change's last byte and the readers' requests arrive together.
"$PY" - "$CTL" "$T/fw/sg-change.json" >"$T/churn.out" 2>&1 <<'EOF'
import json, socket, sys, time
path, changef = sys.argv[1:]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s
args = json.load(open(changef))
line = (json.dumps({"cmd": "sg.rule.add", "args": args}) + "\n").encode()
for _ in range(2):
    a, c, readers = conn(), conn(), [conn() for _ in range(40)]
    a.sendall(line[:-1])
    time.sleep(0.5)
    c.sendall(b'{"cmd":"sg.show","args":{"name":"%s"}}\n' % args["sg"].encode())
    time.sleep(0.002)
    a.sendall(b"\n")
    for r in readers:
        r.sendall(b'{"cmd":"version"}\n')
        r.shutdown(socket.SHUT_WR)
    a.settimeout(60)
    print(json.loads(a.makefile().readline())["ok"])
EOF
is "changes with readers hanging up around them: both ok" "$(tr '\n' ' ' <"$T/churn.out")" "True True "
check "xvio still answers after them" xctl version

# SIGTERM while a change compiles: the change finishes and replies, then
# the daemon exits 0.
# Taking out the last 20,000 (the two changes above) leaves 11,000 to
# compile.
ids=$(jq -c '[.rules[].id] | .[11000:]' < <(xctl --json sg show "$SG"))
jq -n --arg sg "$SG" --argjson ids "$ids" '{sg: $sg, ids: $ids}' >"$T/del.json"
spawn "$T/del.out" "$PY" "$ROOT/bench/xvcall.py" "$CTL" sg.rule.del "$T/del.json"
del=$SPAWN_PID
sleep 0.5
stop_xvio
is "xvio exits 0 on SIGTERM during a compile" "$XVIO_RC" 0
for ((i = 0; i < 50; i++)); do alive "$del" || break; sleep 0.1; done
like "the change's client got its reply" "$(cat "$T/del.out")" '"ok": *true'
done_testing
