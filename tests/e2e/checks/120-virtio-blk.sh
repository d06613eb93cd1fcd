# e2e check: virtio-blk in a real L2 guest under vireo-vmm: an ext4 data disk gets 64 MiB from the
# guest, which syncs and powers off, and the host file then holds the same bytes (sha256); fstrim
# in the guest punches holes in the sparse host file; a read-only disk is read-only in the guest
# (ro=1, writes refused) and its host file is unchanged; the disks are virtio PCI functions 1af4:1042
# bound to virtio-pci with MSI-X vectors, whose driver kicks through the I/O BAR (its notify
# capability comes first).
# e2e-timeout: 300
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
need_kvm
need_build_file src/vmm/main/vireo-vmm
"$VIREO_VMM" --help 2>&1 | grep -q -- '--disk' || e2e_skip "vireo-vmm has no --disk option yet (virtio-blk not wired into the machine)"
d=$(mktemp -d /tmp/120.XXXXXX)
log=$d/console

# Disks: vda = a copy of the L2 disk (L2's init mounts it at /mnt), vdb = a fresh sparse ext4 data
# disk, vdc = a read-only raw disk with a marker.
cp "$L2_DISK" "$d/root.img"
truncate -s 160M "$d/data.img"
if ! mke2fs -q -F -t ext4 "$d/data.img" > /dev/null 2>&1; then
	# busybox mke2fs (the lab's L1) formats block devices only; the guest's ext4 driver mounts it.
	modprobe loop 2> /dev/null
	loopdev=$(losetup -f) && losetup "$loopdev" "$d/data.img" && mke2fs -F "$loopdev" > /dev/null &&
		losetup -d "$loopdev" || e2e_fail "cannot make a file system on the data disk"
fi
truncate -s 16M "$d/ro.img"
printf 'READONLY-MARKER' | dd of="$d/ro.img" conv=notrunc 2> /dev/null
ro_sha=$(sha256sum "$d/ro.img" | cut -d' ' -f1)

guest='for p in /sys/bus/pci/devices/*; do echo "PCI $(cat $p/vendor):$(cat $p/device) drv=$(basename "$(readlink $p/driver)")"; done
echo "RO_FLAG vdc=$(cat /sys/block/vdc/ro) vdb=$(cat /sys/block/vdb/ro)"
mkdir -p /d && mount -t ext4 /dev/vdb /d && echo MOUNT_OK
dd if=/dev/urandom of=/tmp/src bs=1M count=64 2> /dev/null
echo "GUEST_SHA $(sha256sum /tmp/src | cut -d" " -f1)"
cp /tmp/src /d/junk && sync && rm /d/junk && sync
echo "TRIM $(fstrim -v /d 2>&1)"
echo TRIM_DONE; sleep 1
cp /tmp/src /d/big && sync && echo WRITE_OK
umount /d && echo UMOUNT_OK
dd if=/dev/zero of=/dev/vdc bs=512 count=1 oflag=direct 2> /dev/null && echo RO_WRITE_ACCEPTED
echo "RO_READ $(dd if=/dev/vdc bs=15 count=1 2> /dev/null)"
grep -c "PCI-MSI.*virtio.-req" /proc/interrupts | sed "s/^/MSIX_QUEUES /"
grep -c "virtio-pci-modern" /proc/ioports | sed "s/^/IO_NOTIFY /"'
vireo_boot_l2 --mem 512M --timeout 240 --cmd "$guest" -- \
	--disk "path=$d/root.img" --disk "path=$d/data.img,cache=none" --disk "path=$d/ro.img,readonly=on" > "$log" 2>&1 &
vmm=$!
# Measure the data disk's allocation before and after the guest's fstrim.
wait_for_line "$log" '^TRIM ' 200 || { cat "$log"; kill $vmm; e2e_fail "the guest did not reach fstrim"; }
wait_for_line "$log" '^TRIM_DONE' 30
alloc_after_trim=$(du -k "$d/data.img" | cut -f1)
wait $vmm; rc=$?
cat "$log"
[ "$rc" -eq 0 ] || e2e_fail "vireo-vmm exited $rc"
grep -q '^PCI 0x1af4:0x1042 drv=virtio-pci' "$log" || e2e_fail "no 1af4:1042 function bound to virtio-pci"
grep -q '^RO_FLAG vdc=1 vdb=0' "$log" || e2e_fail "read-only flags wrong: $(grep RO_FLAG "$log")"
grep -q '^MOUNT_OK' "$log" || e2e_fail "the guest could not mount the ext4 data disk"
grep -q '^WRITE_OK' "$log" && grep -q '^UMOUNT_OK' "$log" || e2e_fail "the guest's write or umount failed"
! grep -q '^RO_WRITE_ACCEPTED' "$log" || e2e_fail "a write to the read-only disk succeeded"
grep -q '^RO_READ READONLY-MARKER' "$log" || e2e_fail "the read-only disk did not read back its marker"
grep -q '^MSIX_QUEUES [1-9]' "$log" || e2e_fail "no virtio request queue has an MSI-X vector"
# Linux claims, as virtio-pci-modern, the BARs of the capabilities it chose.
grep -q '^IO_NOTIFY [1-9]' "$log" || e2e_fail "the guest's virtio driver took no I/O BAR (kicks go through MMIO)"
guest_sha=$(sed -n 's/^GUEST_SHA \([0-9a-f]*\).*/\1/p' "$log" | tr -d '\r')
[ "$(sha256sum "$d/ro.img" | cut -d' ' -f1)" = "$ro_sha" ] || e2e_fail "the read-only disk's host file changed"

# The host file holds what the guest wrote.
modprobe loop 2> /dev/null
mkdir -p "$d/m"
mount -t ext4 -o ro,loop "$d/data.img" "$d/m" 2> /dev/null ||
	{ loopdev=$(losetup -f) && losetup "$loopdev" "$d/data.img" && mount -t ext4 -o ro "$loopdev" "$d/m"; } ||
	e2e_fail "cannot mount the data disk on the host"
host_sha=$(sha256sum "$d/m/big" | cut -d' ' -f1)
umount "$d/m"; [ -n "${loopdev:-}" ] && losetup -d "$loopdev" 2> /dev/null
[ -n "$guest_sha" ] && [ "$host_sha" = "$guest_sha" ] || e2e_fail "host file sha256 $host_sha, guest wrote $guest_sha"
# 64 MiB were written and deleted before fstrim: after it, far less than that stays allocated.
[ "$alloc_after_trim" -lt 32768 ] || e2e_fail "after fstrim the data disk still holds $alloc_after_trim KiB (no holes punched)"
echo "E2E_METRIC virtio_blk_alloc_after_fstrim_kib=$alloc_after_trim KiB"
echo "64 MiB written by the guest match on the host (sha256 $host_sha); fstrim punched holes; read-only disk stayed read-only"
