# e2e check: disk I/O limits in a real guest. fio in L2 on a disk given iops_total=200 measures
# within 10% of 200 IOPS; query-block shows the limit; a live block_set_io_throttle to 100 IOPS
# is in force for the next fio run, which measures within 10% of 100. Between the runs,
# x-query-virtio lists the disks and x-query-virtio-queue-status shows the data disk's ring
# (QEMU's fields) with the requests it served.
# e2e-timeout: 240
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
need_kvm
need_build_file src/vmm/main/vireo-vmm
need_build_file tests/tools/vireo-qmp
d=$(mktemp -d /tmp/141.XXXXXX)
cp "$L2_DISK" "$d/root.img"
truncate -s 64M "$d/data.img"
sock=$d/qmp.sock
job='fio --name=t --filename=/dev/vdb --rw=randread --bs=4k --iodepth=8 --ioengine=libaio --direct=1 --runtime=4 --time_based --output-format=json | sed -n "s/.*\"iops\" : \([0-9.]*\).*/\1/p" | head -1'
guest="echo \"IOPS1 \$($job)\"; echo PHASE2; sleep 2; echo \"IOPS2 \$($job)\""
vireo_boot_l2 --timeout 200 --qmp "$sock" --cmd "$guest" -- --disk "path=$d/root.img,format=raw" \
	--disk "path=$d/data.img,format=raw,id=data,iops_total=200" > "$d/console" 2>&1 &
vmm=$!
wait_for_line "$d/console" '^PHASE2' 150 || { cat "$d/console"; e2e_fail "the guest did not reach phase 2"; }
qmp "$sock" query-block | grep -q '"device":"data".*"iops":200' || e2e_fail "query-block does not show iops 200: $(qmp "$sock" query-block)"
qmp "$sock" block_set_io_throttle '{"id":"data","bps":0,"bps_rd":0,"bps_wr":0,"iops":100,"iops_rd":0,"iops_wr":0}' ||
	e2e_fail "block_set_io_throttle failed"
qmp "$sock" query-block | grep -q '"device":"data".*"iops":100' || e2e_fail "query-block does not show the new limit"
qmp "$sock" x-query-virtio | grep -q '"path":"/machine/peripheral-anon/device\[1\]/virtio-backend","name":"virtio-blk"' ||
	e2e_fail "x-query-virtio does not list the data disk: $(qmp "$sock" x-query-virtio)"
qs=$(qmp "$sock" x-query-virtio-queue-status '{"path":"/machine/peripheral-anon/device[1]/virtio-backend","queue":0}')
echo "data disk queue 0: $qs"
field() { echo "$qs" | sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p"; }
last=$(field last-avail-idx); used=$(field used-idx); inuse=$(field inuse)
# One snapshot: what the device took minus what it returned is what it holds (the second fio may
# have started).
[ -n "$last" ] && [ -n "$inuse" ] && [ "$used" != 0 ] && [ $(((last - used) & 65535)) = "$inuse" ] &&
	[ "$(field vring-num)" = "$(field vring-num-default)" ] || e2e_fail "x-query-virtio-queue-status: $qs"
qmp "$sock" x-query-virtio-queue-status '{"path":"/machine/peripheral-anon/device[1]/virtio-backend","queue":1}' 2>&1 |
	grep -q 'Invalid virtqueue number 1' || e2e_fail "queue 1 of a one-queue disk was not refused"
wait "$vmm"; rc=$?
cat "$d/console"
[ "$rc" -eq 0 ] || e2e_fail "vireo-vmm exited $rc"
i1=$(sed -n 's/^IOPS1 \([0-9]*\).*/\1/p' "$d/console")
i2=$(sed -n 's/^IOPS2 \([0-9]*\).*/\1/p' "$d/console")
[ -n "$i1" ] && [ -n "$i2" ] || e2e_fail "fio gave no IOPS figures"
echo "E2E_METRIC throttle_iops_at_200=$i1 IOPS"
echo "E2E_METRIC throttle_iops_at_100=$i2 IOPS"
[ "$i1" -ge 180 ] && [ "$i1" -le 220 ] || e2e_fail "iops_total=200 measured $i1 IOPS in the guest"
[ "$i2" -ge 90 ] && [ "$i2" -le 110 ] || e2e_fail "after the live change to 100, the guest measured $i2 IOPS"
rm -rf "$d"
