# e2e check: storage pools with a real guest. vireod (real vireo-vmm) gets a dir pool; the L2 disk
# image goes in as a raw volume by vol-upload; a qcow2 base volume on it (backing store) is cloned
# to a standalone qcow2 volume; the L2 guest boots from that clone named as
# <disk type='volume'><source pool volume/>, runs the disk's tools and writes a file; the base
# volumes stay unchanged, Debian's qemu-img finds the clone clean with no backing file, and
# vol-download gives back the clone's bytes.
# e2e-timeout: 480
. "$VIREO_TESTS/e2e/lib.sh"
need_kvm
need_qemu
. "$VIREO_TESTS/e2e/daemon-lib.sh"
vireod_setup 160
cpid=
die() {
	echo "--- vireod.log"; tail -20 "$root/vireod.log"
	echo "--- VMM log"; tail -20 "$root/var/log/vireo/l2pool.log" 2>/dev/null
	echo "--- console"; tail -20 "$root/console" 2>/dev/null
	e2e_fail "$@"
}
cleanup() {
	"$vireo" destroy l2pool >/dev/null 2>&1
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	rm -rf "$root"
}
trap cleanup EXIT
start_vireod

"$vireo" pool-define-as lab dir --target "$root/pool" >/dev/null &&
	"$vireo" pool-build lab >/dev/null && "$vireo" pool-start lab >/dev/null || die "pool setup failed"
size=$(stat -c %s "$L2_DISK")
t0=$(ms_now)
"$vireo" vol-create-as lab base.raw "$size" --format raw >/dev/null || die "vol-create-as base.raw failed"
"$vireo" vol-upload base.raw "$L2_DISK" --pool lab || die "vol-upload of the L2 disk failed"
echo "E2E_METRIC upload_l2_disk=$(( $(ms_now) - t0 )) ms ($size bytes)"
base_sha=$(sha256sum "$L2_DISK" | cut -d' ' -f1)
[ "$(sha256sum "$root/pool/base.raw" | cut -d' ' -f1)" = "$base_sha" ] || die "uploaded volume differs from the L2 disk"
"$vireo" vol-create-as lab golden.qcow2 "$size" --format qcow2 --backing-vol base.raw --backing-vol-format raw \
	>/dev/null || die "vol-create-as golden.qcow2 failed"
golden_sha=$(sha256sum "$root/pool/golden.qcow2" | cut -d' ' -f1)
t0=$(ms_now)
"$vireo" vol-clone golden.qcow2 vm.qcow2 --pool lab || die "vol-clone failed"
echo "E2E_METRIC clone=$(( $(ms_now) - t0 )) ms"
"$vireo" vol-list lab --details

guest='fio --version; dd if=/dev/urandom of=/mnt/pool-file bs=1M count=4 2>/dev/null;
echo "GUEST_SHA $(sha256sum /mnt/pool-file | cut -d" " -f1)"; sync'
cat >"$root/l2.xml" <<XML
<domain type='kvm'>
  <name>l2pool</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$L2_KERNEL</kernel>
    <initrd>$L2_INITRD</initrd>
    <cmdline>$L2_BASE_APPEND $(l2_cmd_arg "$guest")</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <devices>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source pool='lab' volume='vm.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
</domain>
XML
"$vireo" define "$root/l2.xml" >/dev/null || die "define failed"
"$vireo" dumpxml l2pool | grep -q "<source pool='lab' volume='vm.qcow2'/>" || die "dumpxml lost the volume source"
"$vireo" start l2pool >/dev/null || die "start failed"
"$vireo" console --read-only l2pool < <(sleep 600) >"$root/console" 2>&1 &
cpid=$!
wait_for_line "$root/console" '^L2_BOOT_OK' 120 || die "no L2_BOOT_OK on the console"
# the VMM writes its pidfile itself: read its arguments once the guest is up
tr '\0' ' ' <"/proc/$(cat "$root/run/vireo/domains/l2pool.pid")/cmdline" |
	grep -qF -- "path=$root/pool/vm.qcow2,format=qcow2" || die "the VMM did not get the volume's path"
wait_for_line "$root/console" '^L2_DONE' 240 || die "the guest did not finish its commands"
grep -q '^fio-' "$root/console" || die "fio from the cloned volume did not run in the guest"
grep -q '^GUEST_SHA [0-9a-f]' "$root/console" || die "the guest could not write to the cloned volume"
for _ in $(seq 60); do "$vireo" domstate l2pool | grep -q "shut off" && break; sleep 1; done
"$vireo" domstate l2pool | grep -q "shut off" || die "the guest did not power off"

[ "$(sha256sum "$root/pool/base.raw" | cut -d' ' -f1)" = "$base_sha" ] || die "the raw base volume changed"
[ "$(sha256sum "$root/pool/golden.qcow2" | cut -d' ' -f1)" = "$golden_sha" ] || die "the qcow2 base volume changed"
qemu-img check "$root/pool/vm.qcow2" || die "qemu-img check finds the clone unclean"
qemu-img info "$root/pool/vm.qcow2" | grep -q "backing file" && die "the clone has a backing file"
"$vireo" vol-download vm.qcow2 "$root/down.qcow2" --pool lab || die "vol-download failed"
[ "$(sha256sum <"$root/down.qcow2")" = "$(sha256sum <"$root/pool/vm.qcow2")" ] || die "vol-download differs from the volume"
echo "pool volume: uploaded base, qcow2 base on it, clone booted as <disk type='volume'>, bases unchanged, download equal"
