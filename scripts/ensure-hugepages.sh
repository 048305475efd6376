#!/usr/bin/env bash
# Make sure 2 MiB hugepages are reserved and hugetlbfs is mounted, so DPDK
# processes (xvio, dpdk-testpmd as a guest) can share memory with vhost-user.
# XVIO_HUGEPAGES overrides how many pages to reserve (default 1024 = 2 GiB).
set -euo pipefail
want=${XVIO_HUGEPAGES:-1024}
nr=/proc/sys/vm/nr_hugepages
have=$(cat $nr)
if [ "$have" -lt "$want" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "xvio: need root to reserve hugepages (have $have, want $want)" >&2
		exit 1
	fi
	echo "$want" > $nr
	have=$(cat $nr)
	[ "$have" -ge "$want" ] || echo "xvio: only $have hugepages could be reserved" >&2
fi
if ! grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs nodev /dev/hugepages
fi
