#!/usr/bin/env bash
# make demo: boot the lab's L2 guest (Debian's cloud kernel + a busybox initramfs) with vireo-vmm,
# run `uname -a; nproc; free -m` in its shell and power it off; then the same guest as a domain of
# vireod, driven with the vireo CLI (tests/daemon/demo.sh). Straight on /dev/kvm where the host has
# hardware virtualization, inside the lab (QEMU emulating an AMD CPU with SVM) elsewhere.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${VIREO_BUILD:-$top/build}
lab=$top/tests/lab/lab

echo "demo: building the guest images (Debian packages, cached after the first time)"
"$lab" build

# What the guest's shell runs, shown as if typed at its prompt.
script='for c in "uname -a" nproc "free -m"; do echo "~ # $c"; sh -c "$c"; done'
b64=$(printf '%s\n' "$script" | base64 | tr -d '\n')
cmdline="console=ttyS0 panic=-1 cryptomgr.notests mitigations=off l2.cmd=$b64"
vmm_args="--memory 512M --cpus 2 --serial stdio"

if [ -c /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] && grep -qE 'svm|vmx' /proc/cpuinfo; then
	echo "demo: booting with vireo-vmm on this host's KVM"
	# shellcheck disable=SC2086
	"$build/src/vmm/main/vireo-vmm" --kernel "$top/tests/lab/out/l2-vmlinuz" \
		--initrd "$top/tests/lab/out/l2-initrd.cpio" $vmm_args --cmdline "$cmdline"
	echo "demo: now the same guest as a vireod domain"
	VIREO_BUILD=$build exec "$top/tests/daemon/demo.sh" "$top/tests/lab/out/l2-vmlinuz" \
		"$top/tests/lab/out/l2-initrd.cpio"
fi
echo "demo: this host has no usable hardware KVM; booting the lab's L1 (a KVM host under QEMU)"
echo "demo: and, inside it, the guest with vireo-vmm (L2 console output is slow: ~2 KB/s)"
VIREO_BUILD=$build "$lab" run --timeout 300 -- \
	"echo 'L1: kvm_amd ready'; /vireo/build/src/vmm/main/vireo-vmm --kernel /lab/l2/vmlinuz --initrd /lab/l2/initrd $vmm_args --cmdline '$cmdline'; echo \"demo: vireo-vmm exited \$?\"; echo 'demo: now the same guest as a vireod domain'; VIREO_BUILD=/vireo/build /vireo/tests/daemon/demo.sh /lab/l2/vmlinuz /lab/l2/initrd"
