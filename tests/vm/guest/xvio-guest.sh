# Helpers for scripts that run inside the xvio test guest (sourced by /init
# before /test.sh). Everything a test reports goes to the console as lines
# the host picks out of the console log:
#   XVIO-OUT: key=value        a result value (xv_out)
#   XVIO-O ID: text            output of agent command ID
#   XVIO-DONE: ID rc=N         agent command ID finished with status N
#   XVIO-RESULT: ok|fail ...   printed by /init when the test script ends

# xv_out KEY VALUE: report a value to the host.
xv_out() {
	echo "XVIO-OUT: $1=$2"
}

# xv_wait_ping IP [TRIES]: ping IP once per try until it answers (bounded:
# TRIES tries of up to 1 s each, default 30). The peer may still be booting.
xv_wait_ping() {
	_i=0
	while [ "$_i" -lt "${2:-30}" ]; do
		ping -c 1 -W 1 "$1" >/dev/null 2>&1 && return 0
		_i=$((_i + 1))
	done
	return 1
}

# xv_mkfile PATH MB: a file of MB MiB of random bytes.
xv_mkfile() {
	dd if=/dev/urandom of="$1" bs=1048576 count="$2" 2>/dev/null
}

# xv_md5 PATH: the md5 of PATH (hex only).
xv_md5() {
	md5sum "$1" | cut -d' ' -f1
}

# xv_agent: run commands sent by the host on the second serial port
# (/dev/ttyS1, a QEMU pipe chardev). Each line is "ID COMMAND..."; the
# command runs in sh -c, its output is printed as "XVIO-O ID: ..." lines and
# its exit status as "XVIO-DONE: ID rc=N". The line "ID poweroff" ends the
# agent (the caller then powers the guest off). Commands run one at a time;
# start long ones in the background (httpd does that by itself).
xv_agent() {
	if [ ! -c /dev/ttyS1 ]; then
		echo "xv_agent: no /dev/ttyS1"
		return 1
	fi
	exec 3</dev/ttyS1
	stty raw -echo <&3 2>/dev/null
	echo "XVIO-AGENT: ready"
	while IFS= read -r _line <&3; do
		_id=${_line%% *}
		_cmd=${_line#* }
		[ -n "$_id" ] || continue
		if [ "$_cmd" = poweroff ]; then
			echo "XVIO-DONE: $_id rc=0"
			exec 3<&-
			return 0
		fi
		sh -c "$_cmd" >/tmp/agent.out 2>&1 </dev/null 3<&-
		_rc=$?
		sed "s/^/XVIO-O $_id: /" /tmp/agent.out
		echo "XVIO-DONE: $_id rc=$_rc"
	done
	exec 3<&-
	echo "xv_agent: control port closed"
	return 1
}
