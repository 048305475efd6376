#!/usr/bin/env bash
# xvio-test-timeout: 180
# VM tier, harness check without xvio: two guests joined by dpdk-testpmd
# (two net_vhost ports, io forwarding on lcore 1). When this fails the VM
# harness (QEMU, guest image, vhost-user plumbing) is broken, not xvio.
#
# Also covers both guest modes of the harness: guest b runs the command
# agent (the host drives it with vm_exec); guest a runs a script baked into
# its initramfs overlay, reports XVIO-OUT lines and powers off by itself.
# TAP output. Run as root.
. "$(dirname "$0")/lib.sh"
XV_VM_BACKEND=testpmd
xv_init t-plumbing 120

xv_backend_start
xv_port_add vm1 vhost "$T/vm1.sock"
xv_port_add vm2 vhost "$T/vm2.sock" --client
tap_check "dpdk-testpmd relays two vhost-user ports" xv_relay_add vm1 vm2

cat >"$T/a-test.sh" <<'EOF'
# Runs inside guest a (busybox sh). b serves /www/blob over HTTP.
xv_wait_ping 198.18.0.2 60 || exit 1
xv_out ping ok
i=0
until timeout 60 wget -q -O /tmp/got http://198.18.0.2/blob; do
	i=$((i + 1))
	[ $i -lt 20 ] || exit 2
	sleep 1
done
xv_out md5 "$(xv_md5 /tmp/got)"
EOF
vm_start b --net "$T/vm2.sock,server" --ip 198.18.0.2/24
vm_start a --net "$T/vm1.sock" --ip 198.18.0.1/24 --script "$T/a-test.sh" --timeout 90
tap_check "guest b (agent, QEMU server socket) boots" vm_wait_agent b
src=$(vm_serve_blob b 1)
tap_check "guest a (baked script) runs and powers off with XVIO-RESULT: ok" vm_wait_exit a 100
tap_check "guest a reached b (XVIO-OUT: ping=ok)" test "$(vm_out a ping)" = ok
tap_check "guest a fetched b's 1 MiB file, md5 equal" test -n "$src" -a "$(vm_out a md5)" = "$src"
# Negative control: with a powered off, the same ping must fail.
tap_check "b cannot ping a's address once a is gone" xv_not vm_exec b 'ping -c 1 -W 1 198.18.0.1'
vm_stop b
tap_check "guest b powered off cleanly" vm_result b
tap_end
