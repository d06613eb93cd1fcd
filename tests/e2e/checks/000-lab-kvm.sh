# e2e check: /dev/kvm where the checks run answers like a real KVM (the lab's L1: kvm_amd on
# TCG's emulated SVM): API version 12, Hyper-V capability, a vCPU runs code. Uses kvm-probe.
# e2e-timeout: 60
. "$VIREO_TESTS/e2e/lib.sh"
[ -c /dev/kvm ] || e2e_fail "no /dev/kvm"
need_build_file tests/lab/kvm-probe
out=$("$VIREO_BUILD/tests/lab/kvm-probe") || { echo "$out"; e2e_fail "kvm-probe failed"; }
echo "$out"
echo "$out" | grep -qx 'KVM_GET_API_VERSION=12' || e2e_fail "KVM_GET_API_VERSION is not 12"
hv=$(echo "$out" | sed -n 's/^KVM_CAP_HYPERV=//p')
[ "${hv:-0}" -ge 1 ] || e2e_fail "KVM_CAP_HYPERV is ${hv:-missing}, expected >= 1"
echo "$out" | grep -qx 'VCPU_RUN=ok' || e2e_fail "the probe's vCPU did not run"
echo "$out" | grep -qx 'KVM_EXIT_IO port=0x10 value=42' || e2e_fail "no KVM_EXIT_IO port=0x10 value=42"
