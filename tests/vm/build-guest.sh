#!/usr/bin/env bash
# Build the xvio test guest: a small initramfs (cpio.gz) made from the Debian
# packages installed on this machine, booted with the cloud kernel.
#
#   tests/vm/build-guest.sh [-f] [-q]
#     -f  rebuild even if the cache is current
#     -q  quiet (only errors)
#
# Contents: busybox-static (all applets as symlinks), the cloud kernel's
# virtio/virtio_net modules (tests/vm/guest/modules order), /init and the
# guest helpers from tests/vm/guest/, and, when installed on the host,
# ethtool and iperf3 with their shared libraries (optional extras: the tests
# work without them).
#
# Output (in tests/vm/cache/, gitignored):
#   guest-<hash>.cpio.gz   the initramfs
#   guest.env              XV_KERNEL=/boot/vmlinuz-...  XV_INITRD=.../guest-<hash>.cpio.gz
# The hash covers this script, tests/vm/guest/*, the kernel version and
# package version, busybox's version and the extras' versions: the image is
# rebuilt only when one of them changes. Concurrent callers are serialised
# with flock. Nothing is downloaded.
#
# A test adds its own files (e.g. /test.sh) by appending a second cpio
# archive to a copy of this one (the kernel unpacks concatenated archives):
# see vm_initrd in tests/vm/lib.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${XV_VM_CACHE:-$here/cache}
force=0
quiet=0
while [ $# -gt 0 ]; do
	case "$1" in
	-f) force=1 ;;
	-q) quiet=1 ;;
	-h|--help) sed -n '2,25p' "$0"; exit 0 ;;
	*) echo "build-guest.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
say() { [ "$quiet" = 1 ] || echo "build-guest: $*" >&2; }
die() { echo "build-guest: $*" >&2; exit 1; }

# The kernel: the newest /boot/vmlinuz-*-cloud-amd64 that has its modules.
kernel=
for k in $(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V -r); do
	v=${k#/boot/vmlinuz-}
	if [ -d "/lib/modules/$v" ]; then
		kernel=$k
		kver=$v
		break
	fi
done
[ -n "$kernel" ] || die "no /boot/vmlinuz-*-cloud-amd64 with /lib/modules (apt-get install linux-image-cloud-amd64)"
[ -r "$kernel" ] || die "$kernel is not readable (run as root)"
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 || die "no static /bin/busybox (apt-get install busybox-static)"
command -v cpio >/dev/null || die "cpio missing (apt-get install cpio)"

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo none; }

# Optional extras: binaries copied with their libraries when present.
extras=()
for b in ethtool iperf3; do
	p=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$b" 2>/dev/null) || continue
	extras+=("$(readlink -f "$p")")
done

modorder=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net)

hash=$(
	{
		cat "$0"
		cat "$here"/guest/*
		echo "kernel $kver $(pkgver "linux-image-$kver") $(stat -c '%s %Y' "$kernel")"
		echo "busybox $(pkgver busybox-static) $($busybox 2>&1 | head -1)"
		for b in "${extras[@]}"; do
			echo "extra $b $(stat -c '%s %Y' "$b")"
		done
	} | sha256sum | cut -c1-16
)
out=$cache/guest-$hash.cpio.gz
mkdir -p "$cache"

write_env() {
	printf 'XV_KERNEL=%s\nXV_INITRD=%s\nXV_KVER=%s\n' "$kernel" "$out" "$kver" >"$cache/guest.env.tmp.$$"
	mv -f "$cache/guest.env.tmp.$$" "$cache/guest.env"
}

exec 9>"$cache/.lock"
flock -w 300 9 || die "timed out waiting for $cache/.lock"

if [ "$force" = 0 ] && [ -s "$out" ]; then
	write_env
	say "up to date: $out"
	echo "$out"
	exit 0
fi

say "building $out (kernel $kver)"
root=$(mktemp -d "$cache/root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,run,www,etc,root}
cp "$busybox" "$root/bin/busybox"
for a in $("$busybox" --list-full); do
	[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
done

# Modules: copy in load order; skip the ones built into this kernel.
: >"$root/lib/modules/load-order"
for m in "${modorder[@]}"; do
	f=$(find "/lib/modules/$kver/kernel" -name "$m.ko*" | head -1)
	if [ -z "$f" ]; then
		grep -q "/$m.ko" "/lib/modules/$kver/modules.builtin" 2>/dev/null ||
			die "module $m not found for $kver"
		continue
	fi
	case "$f" in
	*.ko) cp "$f" "$root/lib/modules/$m.ko" ;;
	*.ko.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$root/lib/modules/$m.ko" ;;
	*.ko.gz) gzip -dc "$f" >"$root/lib/modules/$m.ko" ;;
	*) die "unknown module format $f" ;;
	esac
	echo "$m" >>"$root/lib/modules/load-order"
done

# Extras with their shared libraries (paths kept, symlinks resolved).
for b in "${extras[@]}"; do
	cp "$b" "$root/usr/bin/"
	for lib in $(ldd "$b" 2>/dev/null | awk '/=> \//{print $3} /^\t\/[^ ]*ld-linux/{print $1}'); do
		[ -e "$root$lib" ] || cp -L --parents "$lib" "$root/"
	done
	say "extra: $b"
done
if [ -d "$root/lib/x86_64-linux-gnu" ] && [ ! -e "$root/lib64/ld-linux-x86-64.so.2" ]; then
	mkdir -p "$root/lib64"
	cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
fi

install -m 0755 "$here/guest/init" "$root/init"
install -m 0644 "$here/guest/xvio-guest.sh" "$root/lib/xvio-guest.sh"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
printf '127.0.0.1 localhost\n' >"$root/etc/hosts"

tmp=$out.tmp.$$
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet) | gzip -6 >"$tmp"
mv -f "$tmp" "$out"
# Drop images of older inputs.
for old in "$cache"/guest-*.cpio.gz; do
	[ "$old" = "$out" ] || rm -f "$old"
done
write_env
say "built $out ($(du -k "$out" | cut -f1) KiB)"
echo "$out"
