#!/usr/bin/env bash
# Clean shutdown and the control socket's life:
#   SIGTERM and SIGINT -> exit 0, control socket and vhost sockets removed,
#   also with a guest connected and sending and an idle client connected;
#   a second xvio on a busy --ctl path fails without breaking the first;
#   a socket file left by a killed xvio does not stop the next start;
#   the socket is 0600 (owner only), --ctl-group makes it 0660 for the group.
. "$(dirname "$0")/../lib/common.sh"
need_root
need_xvio
need_hugepages

# -- SIGTERM, idle, with ports
start_xvio || bail "xvio starts"
check "socket is a socket" test -S "$CTL"
is "control socket mode 0600" "$(stat -c %a "$CTL")" 600
xctl port add vm1 vhost "$T/vm1.sock" >/dev/null && xctl port add nic0 eth net_null0,no-rx=1 >/dev/null &&
	xctl relay add vm1 nic0 >/dev/null || not_ok "ports for the shutdown test"
stop_xvio main TERM
is "SIGTERM: exit 0" "$XVIO_RC" 0
check "SIGTERM: control socket removed" test ! -e "$CTL"
check "SIGTERM: vhost socket removed" test ! -e "$T/vm1.sock"

# -- SIGINT
start_xvio || bail "xvio starts again"
stop_xvio main INT
is "SIGINT: exit 0" "$XVIO_RC" 0
check "SIGINT: control socket removed" test ! -e "$CTL"

# -- SIGTERM with a guest sending and an idle client connected
start_xvio || bail "xvio starts again"
xctl port add vm1 vhost "$T/vm1.sock" >/dev/null && xctl port add nic0 eth net_null0,no-rx=1 >/dev/null &&
	xctl relay add vm1 nic0 >/dev/null || not_ok "ports for the shutdown test"
if command -v "$TESTPMD" >/dev/null; then
	start_guest g1 "$T/vm1.sock" --mode txonly --start || not_ok "guest starts"
	wait_until 20 port_state_is vm1 connected
	wait_until 10 xstat_ge vm1 .rx.packets 1000 || not_ok "traffic before shutdown"
fi
$PY -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(60)' "$CTL" &
track_pid $!
sleep 0.3
stop_xvio main TERM
is "SIGTERM under traffic with an idle client: exit 0" "$XVIO_RC" 0
check "control socket removed" test ! -e "$CTL"
check "vhost socket removed" test ! -e "$T/vm1.sock"
[ -n "${G_PID[g1]:-}" ] && stop_guest g1

# -- a second daemon on the same --ctl path
start_xvio || bail "xvio starts again"
timeout -k 5 60 "$XVIO_BIN" --ctl "$CTL" --lcores 1 --main-lcore 0 </dev/null >"$T/second.log" 2>&1
rc=$?
cmp_gt "a second xvio on a busy --ctl path exits non-zero (status $rc)" "$rc" 0
check "the first one still answers" xctl version
check "and its socket is still there" test -S "$CTL"
stop_xvio main TERM
is "first xvio exits 0" "$XVIO_RC" 0

# -- a stale socket file from a killed daemon
start_xvio || bail "xvio starts again"
stop_xvio main KILL
check "after SIGKILL the socket file stays behind" test -S "$CTL"
if start_xvio; then ok "xvio starts over a stale socket file"; else not_ok "xvio starts over a stale socket file"; fi
stop_xvio main TERM
is "exit 0" "$XVIO_RC" 0

# -- permissions: owner only, or the --ctl-group
PUB=$T/pub
mkdir -p "$PUB" && chmod 711 "$T" && chmod 755 "$PUB"
start_xvio --ctl "$PUB/ctl.sock" || bail "xvio starts on $PUB/ctl.sock"
is "default socket mode 0600" "$(stat -c %a "$PUB/ctl.sock")" 600
setpriv --reuid=65534 --regid=65534 --clear-groups "$XVIOCTL" --ctl "$PUB/ctl.sock" version >/dev/null 2>&1
is "another user cannot use the socket (xvioctl exit 3)" "$?" 3
stop_xvio main TERM
start_xvio --ctl "$PUB/ctl.sock" --ctl-group nogroup || bail "xvio starts with --ctl-group"
is "--ctl-group: mode 0660" "$(stat -c %a "$PUB/ctl.sock")" 660
is "--ctl-group: group" "$(stat -c %G "$PUB/ctl.sock")" nogroup
check "a member of the group can use the socket" setpriv --reuid=65534 --regid=65534 --clear-groups "$XVIOCTL" --ctl "$PUB/ctl.sock" version
setpriv --reuid=65534 --regid=100 --clear-groups "$XVIOCTL" --ctl "$PUB/ctl.sock" version >/dev/null 2>&1
is "a user outside the group cannot (exit 3)" "$?" 3
stop_xvio main TERM
is "exit 0" "$XVIO_RC" 0
done_testing
