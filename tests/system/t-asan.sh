#!/usr/bin/env bash
# xvio-test-timeout: 1200
# The AddressSanitizer build (build-asan/xvio, `make asan`) runs selected
# system tests again: the basics, traffic both ways, every bad input, hot
# add/remove under traffic, guest reconnects, bad startup and network mode
# (golden packets, namespaces), and the API during a long rule compile
# (the helper thread, parked clients). With
# XVIO_ASAN=1, common.sh stops every xvio with SIGTERM at the end of each
# script, wants exit status 0 and no "ERROR: AddressSanitizer" /
# "LeakSanitizer" / UBSan report in its stderr. Each sub-script's TAP lines
# are passed on, renumbered, prefixed with its name.
. "$(dirname "$0")/../lib/common.sh"
need_root

ASAN_BIN=$XVIO_ROOT/build-asan/xvio
[ -x "$ASAN_BIN" ] || skip_all "no ASan build ($ASAN_BIN): run 'make asan'"

SCRIPTS=${XVIO_ASAN_SCRIPTS:-t-ports t-traffic t-bad-input t-hotplug t-reconnect t-startup t-net-golden t-net-netns t-ctl-aside}
PER_SCRIPT_TIMEOUT=${XVIO_ASAN_TIMEOUT:-280}
dir=$(dirname "$0")

for name in $SCRIPTS; do
	f=$dir/$name.sh
	if [ ! -f "$f" ]; then
		not_ok "asan $name: script exists"
		continue
	fi
	XVIO_ASAN=1 XVIO_TEST_ARTIFACTS=${XVIO_TEST_ARTIFACTS:+$XVIO_TEST_ARTIFACTS/$name} \
		timeout -k 20 "$PER_SCRIPT_TIMEOUT" bash "$f" >"$T/$name.tap" 2>&1 </dev/null
	rc=$?
	nfail=0
	while IFS= read -r line; do
		case $line in
		"ok "*)
			_tap_n=$((_tap_n + 1))
			echo "ok $_tap_n - asan $name: ${line#ok * - }"
			;;
		"not ok "*)
			_tap_n=$((_tap_n + 1))
			_tap_fail=$((_tap_fail + 1))
			nfail=$((nfail + 1))
			echo "not ok $_tap_n - asan $name: ${line#not ok * - }"
			;;
		"1..0"*) skip "asan $name" "${line#*# SKIP}" ;;
		"#"*) echo "$line" ;;
		esac
	done <"$T/$name.tap"
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		not_ok "asan $name: finished within ${PER_SCRIPT_TIMEOUT}s"
		diag_file "$T/$name.tap" 15
	elif [ $rc -ne 0 ] && [ $nfail -eq 0 ]; then
		not_ok "asan $name: exit status 0 (got $rc)"
		diag_file "$T/$name.tap" 15
	fi
done
done_testing
