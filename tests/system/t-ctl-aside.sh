#!/usr/bin/env bash
# The control API keeps answering while a big rule change compiles
# (doc/api.md, "Long changes"). 10,000 security-group rules of ranges and
# prefixes (bench/fwrules.py, the benchmark's change) take rte_acl seconds
# to compile; meanwhile requests that change nothing are answered at once,
# changes sent by other clients wait and then run in the order they came,
# one client's requests keep their order, and a SIGTERM during the compile
# ends the daemon cleanly after it, with the change's reply sent. The
# daemon compiles each table in one rte_acl context (--acl-chunk 0), so the
# compile is long enough to look inside; at the end, with the default
# chunks, a one-rule change compiles only the chunk it touches.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages
need_cmd jq

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
"$PY" "$ROOT/bench/fwrules.py" "$T/fw" 1000 10000 >/dev/null || bail "bench/fwrules.py writes the rules"
SG=$(jq -r .sg "$T/fw/sg-rules.json")

start_xvio --acl-chunk 0 || bail "xvio starts"
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

# The driver, one thread and one select loop so that the order of replies
# is the daemon's: a reply read in select round r was sent before any read
# in a later round (each round reads all that came). The change goes on
# one connection; 'version' probes every 50 ms on a second; 'status' every
# 20 ms on a third. Once status names the change as running, a change
# (network.add n2) goes on a fourth, and on a fifth, in one write, a change
# (network.add n3) then 'version'. Prints one JSON object with every reply,
# its round and its time.
"$PY" - "$CTL" "$T/fw/sg-change.json" >"$T/drive.json" 2>"$T/drive.err" <<'EOF'
import json, selectors, socket, sys, time

path, changef = sys.argv[1:]
sel = selectors.DefaultSelector()
rnd = 0

class Conn:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf, self.replies = b"", []   # [round, time, reply]
        sel.register(self.s, selectors.EVENT_READ, self)

    def send(self, data):
        self.s.setblocking(True)
        self.s.sendall(data)
        self.s.setblocking(False)

    def read(self):
        while True:
            try:
                d = self.s.recv(1 << 20)
            except BlockingIOError:
                break
            if not d:
                sel.unregister(self.s)
                break
            self.buf += d
        t = time.time()
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.replies.append([rnd, t, json.loads(line)])

out = {"probes": [], "status": []}
change, probe, status = Conn(), Conn(), Conn()
out["change_sent"] = time.time()
change.send((json.dumps({"id": 1, "cmd": "sg.rule.add",
                         "args": json.load(open(changef))}) + "\n").encode())
n2 = n3 = None
probe_sent = status_sent = None
deadline = time.time() + 120
while not (change.replies and n2 and n2.replies and len(n3.replies) == 2):
    now = time.time()
    if change.replies and n2 is None:
        break  # status never saw the change running: the checks say so
    if now > deadline:
        out["timeout"] = True
        break
    if probe_sent is None and not change.replies and \
            (not probe.replies or now >= probe.replies[-1][1] + 0.05):
        probe.send(b'{"cmd":"version"}\n')
        probe_sent = [rnd, now]
    if status_sent is None and not change.replies and \
            (not status.replies or now >= status.replies[-1][1] + 0.02):
        status.send(b'{"cmd":"status"}\n')
        status_sent = [rnd, now]
    events = sel.select(timeout=0.01)
    rnd += 1
    for key, _ in events:
        key.data.read()
    if probe_sent and probe.replies and len(out["probes"]) < len(probe.replies):
        r = probe.replies[-1]
        out["probes"].append(probe_sent + [r[0], r[1], r[2].get("ok")])
        probe_sent = None
    if status_sent and status.replies and len(out["status"]) < len(status.replies):
        r = status.replies[-1]
        out["status"].append(status_sent + [r[0], r[2]["result"].get("change")])
        status_sent = None
        ch = r[2]["result"].get("change")
        if n2 is None and ch is not None:
            out["running_seen"] = r[0]
            n2, n3 = Conn(), Conn()
            n2.send(b'{"cmd":"network.add","args":{"name":"n2"}}\n')
            n3.send(b'{"id":"a","cmd":"network.add","args":{"name":"n3"}}\n'
                    b'{"id":"b","cmd":"version"}\n')
if change.replies:
    rr, t, r = change.replies[0]
    out["change_reply"], out["change_round"], out["change_ok"] = t, rr, r.get("ok")
if n2 and n2.replies:
    rr, t, r = n2.replies[0]
    out["n2_round"], out["n2_ok"] = rr, r.get("ok")
if n3:
    out["pipelined"] = [[rr, r.get("id"), r.get("ok")] for rr, t, r in n3.replies]
print(json.dumps(out))
EOF
is "the driver ran" "$?" 0
diag_file "$T/drive.err"
d=$(cat "$T/drive.json")
is "the driver did not time out" "$(jq -r '.timeout // false' <<<"$d")" false
is "the 10,000-rule change succeeded" "$(jq -r .change_ok <<<"$d")" true
took=$(jq '.change_reply - .change_sent' <<<"$d")
diag "the change took ${took} s"
is "status named the change while it ran" \
	"$(jq -c '[.status[][3] | select(. != null) | .cmd] | unique' <<<"$d")" '["sg.rule.add"]'
if awk -v t="$took" 'BEGIN { exit !(t > 1) }'; then
	# Probes sent once status showed the change running, answered in a
	# round before the change's reply.
	during=$(jq '[.probes[] | select(.[0] > $s and .[2] < $r and .[4] == true)] | length' \
		--argjson s "$(jq .running_seen <<<"$d")" --argjson r "$(jq .change_round <<<"$d")" <<<"$d")
	cmp_ge "'version' answered while the rules compiled" "$during" 3
	is "status counted the two changes sent meanwhile as waiting" \
		"$(jq '[.status[][3] | select(. != null) | .waiting] | max' <<<"$d")" 2
else
	skip "'version' answered while the rules compiled" "the change compiled in ${took} s: too fast to look inside"
	skip "status counted the two changes sent meanwhile as waiting" "the change compiled in ${took} s"
fi
is "every probe answered ok" "$(jq '[.probes[] | select(.[4] != true)] | length' <<<"$d")" 0
is "a change sent meanwhile succeeded" "$(jq -r .n2_ok <<<"$d")" true
is "... after the running change replied" "$(jq '.n2_round >= .change_round' <<<"$d")" true
is "pipelined change then read: both answered, in order" \
	"$(jq -c '[.pipelined[] | [.[1], .[2]]]' <<<"$d")" '[["a",true],["b",true]]'
is "... the change after the running one" "$(jq '.pipelined[0][0] >= .change_round' <<<"$d")" true
is "status shows no change once it is over" "$(xctl --json status | jq -c .change)" null
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
for ((i = 0; i < 100; i++)); do
	st=$(xctl status)
	grep -q "^change: .* running for" <<<"$st" && break
	sleep 0.05
done
like "xvioctl status names the running change" "$st" 'change: +sg\.rule\.del running for [0-9.]+ s, 0 waiting after it'
stop_xvio
is "xvio exits 0 on SIGTERM during a compile" "$XVIO_RC" 0
for ((i = 0; i < 50; i++)); do alive "$del" || break; sleep 0.1; done
like "the change's client got its reply" "$(cat "$T/del.out")" '"ok": *true'

# Default chunks (4,096 rules): 11,000 rules compile in 3; one rule more
# recompiles the last one only (the others are taken over as they are).
chunks() { xctl --json status | jq -c '[.net.classifier_chunks, .net.classifier_chunks_reused]'; }
start_xvio || bail "xvio starts again"
check "network, group" bash -c "'$XVIOCTL' --ctl '$CTL' network add n1 >/dev/null && '$XVIOCTL' --ctl '$CTL' sg add '$SG' >/dev/null"
ids=$(xctl --json sg show "$SG" | jq -c '[.rules[].id]')
check "the group's default rules removed" xctl call sg.rule.del "{\"sg\":\"$SG\",\"ids\":$ids}"
check "VM port in the group" xctl port add vm eth net_null1,no-rx=1 --network n1 \
	--mac 02:00:00:00:00:01 --ip 198.18.0.1 --sg "$SG"
check "1,000 rules" "$PY" "$ROOT/bench/xvcall.py" "$CTL" sg.rule.add "$T/fw/sg-rules.json"
check "10,000 more" "$PY" "$ROOT/bench/xvcall.py" "$CTL" sg.rule.add "$T/fw/sg-change.json"
is "11,000 rules: 3 chunks compiled, none taken over" "$(chunks)" '[3,0]'
check "one egress rule more" xctl sg rule add "$SG" egress --proto tcp --ports 7777
is "... compiles the last chunk only" "$(chunks)" '[3,2]'
check "one rule less (the first)" xctl sg rule del "$SG" "$(xctl --json sg show "$SG" | jq '.rules[0].id')"
is "... shifts every chunk: all compiled" "$(chunks)" '[3,0]'
stop_xvio
is "xvio exits 0" "$XVIO_RC" 0
done_testing
