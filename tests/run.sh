#!/usr/bin/env bash
# Run xvio's test tiers and print one closing line "N passed, N failed"
# (", N skipped" when some were skipped). Exit status 0 only when nothing
# failed (and something ran).
#
#   tests/run.sh                 every tier: unit, system, vm (in that order)
#   tests/run.sh system          one tier (unit | system | vm)
#   tests/run.sh tests/system/t-ports.sh t-netns    given scripts (path or name)
#
# Environment:
#   XVIO_TEST_FILTER   only scripts/unit tests whose name matches this
#                      extended regex (e.g. 'ports|traffic')
#   XVIO_TEST_TIMEOUT  per-script timeout in seconds (default 300); a script
#                      may ask for another with a line "# xvio-test-timeout: N"
#   XVIO_TEST_RESULTS  where logs go (default tests/results/); one log per
#                      script, plus the temp files of failing scripts
#   XVIO_BUILD_DIR     build dir of the unit tests (default build/)
#
# Counting: every TAP line "ok"/"not ok" of a script counts; "# SKIP" and
# "# TODO" count as skipped; "1..0 # SKIP" counts one skip. A script that
# exits non-zero without a "not ok", that prints fewer results than its
# plan, that prints no TAP at all, that hangs (killed at the timeout) or
# that leaves processes behind counts one more failure.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIMEOUT=${XVIO_TEST_TIMEOUT:-300}
RESULTS=${XVIO_TEST_RESULTS:-$ROOT/tests/results}
FILTER=${XVIO_TEST_FILTER:-}
BUILD_DIR=${XVIO_BUILD_DIR:-$ROOT/build}
TIERS=(unit system vm)

total_pass=0
total_fail=0
total_skip=0
failed_names=()

say() { printf '%s\n' "$*"; }

# ---------------------------------------------------------------- selection

sel_tiers=()
sel_scripts=()
for a in "$@"; do
	case $a in
	unit | system | vm) sel_tiers+=("$a") ;;
	-h | --help)
		awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"
		exit 0
		;;
	*)
		if [ -f "$a" ]; then
			sel_scripts+=("$(cd "$(dirname "$a")" && pwd)/$(basename "$a")")
		else
			found=
			for t in system vm; do
				for f in "$ROOT/tests/$t/$a" "$ROOT/tests/$t/$a.sh"; do
					[ -f "$f" ] && { found=$f; break 2; }
				done
			done
			if [ -z "$found" ]; then
				say "run.sh: no tier or test script named '$a'" >&2
				exit 2
			fi
			sel_scripts+=("$found")
		fi
		;;
	esac
done
if [ ${#sel_tiers[@]} -eq 0 ] && [ ${#sel_scripts[@]} -eq 0 ]; then
	sel_tiers=("${TIERS[@]}")
fi

mkdir -p "$RESULTS"
for t in "${TIERS[@]}"; do rm -rf "${RESULTS:?}/$t"; done
rm -f "$RESULTS/summary.txt"

# ---------------------------------------------------------------- TAP counting

# tap_count LOG -> "PASS FAIL SKIP PLANNED SEEN BAIL"
tap_count() {
	awk '
	BEGIN { pass = 0; fail = 0; skip = 0; plan = -1; seen = 0; bail = 0 }
	/^ok([ \t]|$)/ {
		seen++
		if ($0 ~ /#[ \t]*([Ss][Kk][Ii][Pp]|[Tt][Oo][Dd][Oo])/) skip++; else pass++
		next
	}
	/^not ok([ \t]|$)/ {
		seen++
		if ($0 ~ /#[ \t]*[Tt][Oo][Dd][Oo]/) skip++; else fail++
		next
	}
	/^1\.\.[0-9]+/ {
		n = $0; sub(/^1\.\./, "", n); sub(/[^0-9].*$/, "", n); plan = n + 0
		if (plan == 0 && $0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) skip++
		next
	}
	/^Bail out!/ { bail = 1 }
	END { print pass, fail, skip, plan, seen, bail }' "$1"
}

# ---------------------------------------------------------------- processes

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Processes in the session of SID (a script started with setsid), but not SID itself.
# Zombies are skipped: they are gone, only waiting for a parent's wait().
session_pids() {
	ps -e -o pid=,sid=,stat= | awk -v s="$1" '$2 == s && $1 != s && $3 !~ /^Z/ {print $1}'
}

# Stop every process left in the session SID: TERM, then KILL.
reap_session() {
	local sid=$1 pids i
	pids=$(session_pids "$sid")
	[ -z "$pids" ] && return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		pids=$(session_pids "$sid")
		[ -z "$pids" ] && return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	return 0
}

# ---------------------------------------------------------------- one test

# run_one TIER NAME TIMEOUT WORKDIR CMD...: run CMD in its own session with
# its output in the log, count its TAP, print one line about it.
run_one() {
	local tier=$1 name=$2 tmo=$3 wd=$4
	shift 4
	local log="$RESULTS/$tier/$name.log" pid rc start end killed=0 left=0
	mkdir -p "$RESULTS/$tier"
	: >"$log"
	start=$(now_ms)
	(
		cd "$wd" || exit 1
		export XVIO_TEST_ARTIFACTS="$RESULTS/$tier/$name.artifacts"
		exec setsid "$@"
	) </dev/null >>"$log" 2>&1 &
	pid=$!
	# setsid does not fork here (we are not a process group leader), so
	# $pid is the session id of the test and of everything it started.
	while kill -0 "$pid" 2>/dev/null; do
		if [ $(($(now_ms) - start)) -ge $((tmo * 1000)) ]; then
			killed=1
			echo "# run.sh: timeout after ${tmo}s, stopping the script" >>"$log"
			# SIGTERM to the script; its trap runs once its foreground
			# command ends, so then SIGTERM what it started (daemons,
			# guests, sleeps) and give its cleanup time to run.
			kill -TERM "$pid" 2>/dev/null
			for ((i = 0; i < 30; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			if kill -0 "$pid" 2>/dev/null; then
				# shellcheck disable=SC2046
				kill -TERM $(session_pids "$pid") 2>/dev/null
				for ((i = 0; i < 150; i++)); do
					kill -0 "$pid" 2>/dev/null || break
					sleep 0.1
				done
			fi
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.2
	done
	wait "$pid" 2>/dev/null
	rc=$?
	end=$(now_ms)
	# Anything the script left running (daemons, guests) in its session.
	sleep 0.3
	if [ -n "$(session_pids "$pid")" ]; then
		[ $killed = 0 ] && left=1
		{
			echo "# run.sh: processes left running by the script:"
			ps -o pid=,args= -p "$(session_pids "$pid" | paste -sd,)" 2>/dev/null | sed 's/^/#   /'
		} >>"$log"
		reap_session "$pid"
	fi

	local pass fail skip plan seen bail extra=()
	read -r pass fail skip plan seen bail < <(tap_count "$log")
	[ $killed = 1 ] && { fail=$((fail + 1)); extra+=("timed out after ${tmo}s"); }
	if [ $killed = 0 ] && [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=$((fail + 1))
		extra+=("exit status $rc without a 'not ok'")
	fi
	if [ "$plan" -gt 0 ] && [ "$seen" -lt "$plan" ] && [ $killed = 0 ]; then
		fail=$((fail + 1))
		extra+=("planned $plan, ran $seen")
	fi
	if [ "$seen" -eq 0 ] && [ "$plan" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=$((fail + 1))
		extra+=("no TAP output")
	fi
	[ "$bail" = 1 ] && [ "$fail" -eq 0 ] && { fail=$((fail + 1)); extra+=("bailed out"); }
	[ $left = 1 ] && { fail=$((fail + 1)); extra+=("left processes running"); }

	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))

	local secs status line
	secs=$(((end - start + 500) / 1000))
	if [ "$fail" -gt 0 ]; then status=FAIL; elif [ "$pass" -eq 0 ] && [ "$skip" -gt 0 ]; then status=SKIP; else status=ok; fi
	line=$(printf '%-7s %-34s %4s passed %3s failed %3s skipped %5ss' "$status" "$tier/$name" "$pass" "$fail" "$skip" "$secs")
	[ ${#extra[@]} -gt 0 ] && line+="  ($(IFS=';'; echo "${extra[*]}"))"
	say "$line"
	echo "$line" >>"$RESULTS/summary.txt"
	if [ "$fail" -gt 0 ]; then
		failed_names+=("$tier/$name")
		# The failing checks with their diagnostics, and where the log is.
		awk '/^not ok/ {p = 1; n = 0; print "    " $0; next}
		     p && /^#/ && n < 25 {print "    " $0; n++; next}
		     {p = 0}' "$log" | head -120
		if [ "$seen" -eq 0 ] || [ $killed = 1 ]; then
			tail -n 15 "$log" | sed 's/^/    | /'
		fi
		say "    log: ${log#"$ROOT"/}"
	elif [ "$status" = SKIP ]; then
		grep -m1 -E '^1\.\.0|# SKIP' "$log" | sed 's/^/    /'
	fi
}

# Timeout of a script: "# xvio-test-timeout: N" in its first 30 lines, or the default.
script_timeout() {
	local n
	n=$(head -n 30 "$1" | sed -n 's/^# *xvio-test-timeout: *\([0-9][0-9]*\).*/\1/p' | head -1)
	echo "${n:-$TIMEOUT}"
}

matches_filter() { [ -z "$FILTER" ] || grep -Eq -- "$FILTER" <<<"$1"; }

run_script() { # TIER PATH
	local tier=$1 path=$2 name
	name=$(basename "$path" .sh)
	matches_filter "$name" || return 0
	if [ -x "$path" ]; then
		run_one "$tier" "$name" "$(script_timeout "$path")" "$ROOT" "$path"
	else
		run_one "$tier" "$name" "$(script_timeout "$path")" "$ROOT" bash "$path"
	fi
}

# ---------------------------------------------------------------- tiers

run_unit_tier() {
	local t0 n=0
	t0=$(now_ms)
	say "== unit"
	if [ ! -f "$BUILD_DIR/meson-info/meson-info.json" ]; then
		say "FAIL    unit: no meson build in ${BUILD_DIR#"$ROOT"/} (run 'make' first)"
		total_fail=$((total_fail + 1))
		failed_names+=("unit")
		return
	fi
	local tests
	if ! tests=$(meson introspect "$BUILD_DIR" --tests 2>/dev/null) || ! command -v jq >/dev/null; then
		# Fallback without jq: let meson run them and count what it reports.
		say "run.sh: meson introspect or jq unavailable; running 'meson test --suite unit'"
		run_one unit meson-test 900 "$ROOT" meson test -C "$BUILD_DIR" --suite unit --print-errorlogs --no-rebuild
		return
	fi
	local count i name wd timeout_s
	count=$(printf '%s' "$tests" | jq '[.[] | select(any(.suite[]; . == "unit" or endswith(":unit")))] | length')
	for ((i = 0; i < count; i++)); do
		local tj
		tj=$(printf '%s' "$tests" | jq -c "[.[] | select(any(.suite[]; . == \"unit\" or endswith(\":unit\")))][$i]")
		name=$(printf '%s' "$tj" | jq -r '.name')
		matches_filter "$name" || continue
		wd=$(printf '%s' "$tj" | jq -r '.workdir // empty')
		[ -n "$wd" ] || wd=$BUILD_DIR
		timeout_s=$(printf '%s' "$tj" | jq -r '.timeout // 0')
		[ "$timeout_s" -gt 0 ] 2>/dev/null || timeout_s=$TIMEOUT
		local cmd=() envs=()
		mapfile -t cmd < <(printf '%s' "$tj" | jq -r '.cmd[]')
		mapfile -t envs < <(printf '%s' "$tj" | jq -r '(.env // {}) | to_entries[] | "\(.key)=\(.value)"')
		if [ ! -x "${cmd[0]}" ]; then
			say "FAIL    unit/$name: ${cmd[0]} is not built"
			total_fail=$((total_fail + 1))
			failed_names+=("unit/$name")
			continue
		fi
		run_one unit "$name" "$timeout_s" "$wd" env "${envs[@]}" "${cmd[@]}"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || say "    (no unit tests)"
	say "   unit tier: $((($(now_ms) - t0 + 500) / 1000))s"
}

run_script_tier() { # system | vm
	local tier=$1 t0 f n=0
	t0=$(now_ms)
	say "== $tier"
	for f in "$ROOT/tests/$tier"/t-*.sh; do
		[ -f "$f" ] || continue
		run_script "$tier" "$f"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || say "    (no $tier tests)"
	say "   $tier tier: $((($(now_ms) - t0 + 500) / 1000))s"
}

for tier in "${sel_tiers[@]}"; do
	case $tier in
	unit) run_unit_tier ;;
	system | vm) run_script_tier "$tier" ;;
	esac
done
if [ ${#sel_scripts[@]} -gt 0 ]; then
	say "== scripts"
	for f in "${sel_scripts[@]}"; do
		case $f in
		*/tests/vm/*) run_script vm "$f" ;;
		*) run_script system "$f" ;;
		esac
	done
fi

if [ ${#failed_names[@]} -gt 0 ]; then
	say "failed: ${failed_names[*]}"
fi
say "results: ${RESULTS#"$ROOT"/}/"
summary="$total_pass passed, $total_fail failed"
[ "$total_skip" -gt 0 ] && summary+=", $total_skip skipped"
echo "$summary" >>"$RESULTS/summary.txt"
say "$summary"
[ "$total_fail" -eq 0 ] && [ $((total_pass + total_skip)) -gt 0 ]
