# e2e check: Debian's QEMU on KVM (microvm) boots the lab's L2 image to L2_BOOT_OK, with the L2
# disk attached: fio, iperf3 and qemu-ga run inside L2 from it. This is the reference boot
# (qemu_boot_l2) that vireo-vmm's boot checks and benchmarks compare against.
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
# 2: with the disk: the programs on it run in L2 (dynamic libraries from /mnt).
qemu_boot_l2_timed --timeout 120 --disk-ro "$L2_DISK" --script tools > "$log"; rc=$?
cat "$log"
[ "$rc" -eq 0 ] || e2e_fail "QEMU exited $rc (boot with the disk)"
grep -q '^L2_TOOLS_OK fio=fio-' "$log" || e2e_fail "fio/iperf3/qemu-ga did not run in L2"
grep -q '^L2_DONE rc=0' "$log" || e2e_fail "no L2_DONE rc=0 (boot with the disk)"
