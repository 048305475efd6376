#!/usr/bin/env bash
# Run the VM tier: every tests/vm/t-*.sh (or the ones named), one after the
# other (they share the 2 CPUs: QEMU on CPU 0, the relay's worker on CPU 1).
#
#   tests/vm/run.sh [-v] [t-relay ...]
#     -v   show every TAP line (default: failures, skips and diagnostics)
#
# Prints each test's TAP, then "vm: N passed, N failed[, N skipped] (T s)";
# exits 0 when nothing failed. Each test has its own hard limit inside; this
# runner adds an outer one. Run as root after "make build" (without build/xvio
# the tests use dpdk-testpmd as a stand-in relay, and say so).
here=$(cd "$(dirname "$0")" && pwd)
verbose=0
[ "${1:-}" = -v ] && { verbose=1; shift; }
tests=()
if [ $# -gt 0 ]; then
	for t in "$@"; do
		t=${t%.sh}
		tests+=("$here/${t##*/}.sh")
	done
else
	# The harness check first: if it fails, the others cannot mean much.
	tests=("$here/t-plumbing.sh")
	for t in "$here"/t-*.sh; do
		[ "$t" = "$here/t-plumbing.sh" ] || tests+=("$t")
	done
fi

pass=0 fail=0 skip=0 t0=$(date +%s)
"$here/build-guest.sh" -q >/dev/null || { echo "vm: cannot build the guest image"; exit 1; }
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	echo "# --- $name"
	out=$(timeout -k 10 420 "$t" 2>&1)
	rc=$?
	p=$(grep -c '^ok ' <<<"$out")
	s=$(grep -c '^ok .*# SKIP' <<<"$out")
	f=$(grep -c '^not ok ' <<<"$out")
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		out+=$'\n'"not ok - $name exited with status $rc"
	fi
	if [ $verbose = 1 ]; then
		echo "$out"
	else
		grep -v '^ok ' <<<"$out" | grep -v '^1\.\.'
		grep '^ok .*# SKIP' <<<"$out"
		echo "# $name: $((p - s)) passed, $f failed, $s skipped"
	fi
	pass=$((pass + p - s))
	skip=$((skip + s))
	fail=$((fail + f))
done
msg="vm: $pass passed, $fail failed"
[ $skip -gt 0 ] && msg+=", $skip skipped"
echo "$msg ($(($(date +%s) - t0)) s)"
[ $fail -eq 0 ]
