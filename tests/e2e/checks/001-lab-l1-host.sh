# e2e check: the lab's L1 is a KVM host as the VMM tests need it: SVM with nested paging, nested
# KVM, and the modules for vhost-net, tun/tap, bridge, vsock and VFIO load. Skipped off the lab.
# e2e-timeout: 60
. "$VIREO_TESTS/e2e/lib.sh"
[ -d /lab ] || e2e_skip "not in the lab"
grep -qw svm /proc/cpuinfo || e2e_fail "no svm flag in L1's /proc/cpuinfo"
grep -qw npt /proc/cpuinfo || e2e_fail "no npt flag in L1's /proc/cpuinfo"
[ "$(cat /sys/module/kvm_amd/parameters/nested 2>/dev/null)" = 1 ] || e2e_fail "kvm_amd nested is not 1"
for m in vhost_net tun tap bridge vhost_vsock vfio_pci vfio_iommu_type1 veth loop; do
	modprobe "$m" || e2e_fail "modprobe $m failed"
done
for d in /dev/vhost-net /dev/net/tun /dev/vhost-vsock /dev/vfio/vfio /dev/loop-control; do
	[ -e "$d" ] || e2e_fail "$d is missing after loading the modules"
done
ip link add e2e-br0 type bridge || e2e_fail "cannot create a bridge"
ip link del e2e-br0
[ -f /sys/kernel/mm/ksm/run ] || e2e_fail "no KSM (/sys/kernel/mm/ksm/run)"
[ -b /lab/l2/disk.img ] || [ -f /lab/l2/disk.img ] || e2e_fail "no /lab/l2/disk.img"
echo "L1: $(nproc) CPUs, $(sed -n 's/MemTotal: *//p' /proc/meminfo), kernel $(uname -r)"
