# e2e check: Debian's QEMU on KVM (microvm) boots the lab's L2 image to L2_BOOT_OK, with the L2
# disk attached: fio, iperf3 and qemu-ga run inside L2 from it, qemu-ga answers, virtio-net with
# vhost reaches L1. The reference boot (qemu_boot_l2) that vireo-vmm's checks compare against.
# e2e-timeout: 180
. "$VIREO_TESTS/e2e/lib.sh"
need_kvm
need_qemu
log=/tmp/002-l2-console.log
# 1: the bare boot, as the benchmarks time it.
qemu_boot_l2_timed --timeout 120 > "$log"; rc=$?
cat "$log"
[ "$rc" -eq 0 ] || e2e_fail "QEMU exited $rc (bare boot)"
grep -q '^L2_BOOT_OK kernel=.*cloud-amd64 cpus=1 mem=' "$log" || e2e_fail "no L2_BOOT_OK line"
grep -q '^L2_DONE rc=0' "$log" || e2e_fail "no L2_DONE rc=0"
sed -n 's/^L2_TIMING boot_ok_ms=\([0-9]*\) exit_ms=\([0-9]*\)/E2E_METRIC qemu_l2_boot_ok_ms=\1 ms\nE2E_METRIC qemu_l2_start_to_exit_ms=\2 ms/p' "$log"
# 2: with the disk: the programs on it run in L2 (dynamic libraries from /mnt), and qemu-ga
# answers over virtio-serial: guest-ping, then guest-file-open/close of the file that L2 waits for
# before it powers off. QEMU's "pipe" chardev uses the FIFOs /tmp/qga.in and /tmp/qga.out.
rm -f /tmp/qga.in /tmp/qga.out
mkfifo /tmp/qga.in /tmp/qga.out
exec 3<> /tmp/qga.out 4<> /tmp/qga.in
# Then virtio-net with vhost on a tap in L1 (10.0.2.2), which L2 pings once the file is there.
modprobe tun; modprobe vhost_net
l2cmd='sh /scripts/tools || exit 1
i=0; while [ ! -e /run/qga-done ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /run/qga-done ] && echo L2_QGA_FILE_OK
sh /scripts/net'
qemu_boot_l2 --timeout 150 --disk-ro "$L2_DISK" --append l2.qga=1 --cmd "$l2cmd" -- \
	-device virtio-serial-device -chardev pipe,path=/tmp/qga,id=qga0 \
	-device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
	-netdev tap,id=n0,ifname=e2etap0,script=no,downscript=no,vhost=on \
	-device virtio-net-device,netdev=n0 > "$log" 2>&1 &
qpid=$!
qga() { # qga JSON: send a request, print the one-line reply
	local reply
	echo "$1" >&4
	IFS= read -r -t 30 reply <&3 || { echo "no reply from qemu-ga to $1"; return 1; }
	echo "$reply"
}
qga_ok=0
if wait_for_line "$log" '^L2_QGA_OK' 120; then
	ip addr add 10.0.2.2/24 dev e2etap0 && ip link set e2etap0 up || echo "cannot set up e2etap0"
	ping=$(qga '{"execute":"guest-ping"}') && echo "guest-ping: $ping"
	handle=$(qga '{"execute":"guest-file-open","arguments":{"path":"/run/qga-done","mode":"w"}}') &&
		echo "guest-file-open: $handle"
	handle=$(echo "$handle" | sed -n 's/.*"return": *\([0-9][0-9]*\).*/\1/p')
	[ -n "$handle" ] && close=$(qga "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":$handle}}") &&
		echo "guest-file-close: $close"
	[ "$ping" = '{"return": {}}' ] && [ -n "$handle" ] && [ "$close" = '{"return": {}}' ] && qga_ok=1
fi
wait "$qpid"; rc=$?
cat "$log"
[ "$rc" -eq 0 ] || e2e_fail "QEMU exited $rc (boot with the disk)"
grep -q '^L2_TOOLS_OK fio=fio-' "$log" || e2e_fail "fio/iperf3/qemu-ga did not run in L2"
[ "$qga_ok" = 1 ] || e2e_fail "qemu-ga in L2 did not answer guest-ping/guest-file-open/close"
grep -q '^L2_QGA_FILE_OK' "$log" || e2e_fail "L2 did not see the file qemu-ga created"
grep -q '^L2_NET_OK .* driver=virtio_net' "$log" || e2e_fail "no eth0 bound to virtio_net in L2"
grep -q '^L2_NET_PING_OK' "$log" || e2e_fail "L2 could not ping L1 over virtio-net/vhost/tap"
grep -q '^L2_DONE rc=0' "$log" || e2e_fail "no L2_DONE rc=0 (boot with the disk)"
