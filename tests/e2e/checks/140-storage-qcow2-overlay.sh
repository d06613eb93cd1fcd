# e2e check: a guest runs from a qcow2 overlay (made by vireo-img) on a raw base: the tools on the
# disk run in the guest, the guest's writes land in the overlay, the base stays byte-for-byte the
# same, Debian's qemu-img finds the overlay clean, and a second boot reads the guest's file back.
# e2e-timeout: 240
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
need_kvm
need_qemu
need_build_file src/vmm/main/vireo-vmm
need_build_file src/cli/vireo-img
img=$VIREO_BUILD/src/cli/vireo-img
d=$(mktemp -d /tmp/140.XXXXXX)
cp "$L2_DISK" "$d/base.raw"
base_sha=$(sha256sum "$d/base.raw" | cut -d' ' -f1)
"$img" create -f qcow2 -b "$d/base.raw" -F raw "$d/overlay.qcow2" > /dev/null || e2e_fail "vireo-img create failed"
disk="path=$d/overlay.qcow2,format=qcow2"

vireo_boot_l2 --timeout 150 --cmd 'fio --version; dd if=/dev/urandom of=/mnt/guest-file bs=1M count=8 2>/dev/null;
echo "GUEST_SHA $(sha256sum /mnt/guest-file | cut -d" " -f1)"; sync' -- --disk "$disk" > "$d/boot1" 2>&1
rc=$?
cat "$d/boot1"
[ "$rc" -eq 0 ] || e2e_fail "vireo-vmm exited $rc"
grep -q '^fio-' "$d/boot1" || e2e_fail "fio from the overlay's disk did not run in the guest"
guest_sha=$(sed -n 's/^GUEST_SHA \([0-9a-f]*\).*/\1/p' "$d/boot1")
[ -n "$guest_sha" ] || e2e_fail "the guest could not write its file"
[ "$(sha256sum "$d/base.raw" | cut -d' ' -f1)" = "$base_sha" ] || e2e_fail "the raw base changed"
qemu-img check "$d/overlay.qcow2" || e2e_fail "qemu-img check finds the overlay unclean"
alloc=$(qemu-img map --output=json "$d/overlay.qcow2" | grep -c '"depth": 0, "present": true, "zero": false, "data": true')
[ "$alloc" -gt 0 ] || e2e_fail "the overlay holds no data of its own"

vireo_boot_l2 --timeout 150 --cmd 'echo "READ_SHA $(sha256sum /mnt/guest-file | cut -d" " -f1)"' -- --disk "$disk" > "$d/boot2" 2>&1
grep -q "^READ_SHA $guest_sha" "$d/boot2" || { cat "$d/boot2"; e2e_fail "the second boot did not read the guest's file back"; }
echo "qcow2 overlay: guest writes in the overlay ($alloc data extents), base unchanged, qemu-img check clean"
rm -rf "$d"
