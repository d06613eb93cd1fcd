#!/usr/bin/env bash
# bench/virtio/in-lab.sh: runs inside the lab's L1 (or on a host with KVM). The same L2 guest under
# vireo-vmm and under Debian's QEMU (virtio-blk-pci and virtio-net-pci, no vhost) runs fio on the
# same data file and iperf3 against an iperf3 server in L1 on the same bridge; prints each figure
# and the vireo/QEMU ratio (higher is better for vireo, target >= 1.0).
set -uo pipefail
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
rounds=${BENCH_ROUNDS:-3}
rt=${BENCH_FIO_SECONDS:-5}
nett=${BENCH_NET_SECONDS:-5}
aio=${BENCH_VIRTIO_AIO:-io_uring}       # both VMMs get the same aio= and cache=
cache=${BENCH_VIRTIO_CACHE:-writeback}
only=${BENCH_VIRTIO_ONLY:-}             # "vireo" or "qemu": one VMM only (profiling)
d=$(mktemp -d /tmp/bv.XXXXXX)
br=vbrbench
srv_pid=
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2> /dev/null
	ip link del "$br" 2> /dev/null
	umount "$d/root" 2> /dev/null
	rm -rf "$d"
}
trap cleanup EXIT

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print -1; else print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0 || a < 0) print "n/a"; else printf "%.2f", a / b }'; }

# The data disk: real data in every block (reading a hole costs less than reading data).
dd if=/dev/zero of="$d/data.img" bs=1M count=192 2> /dev/null || { echo "bench virtio: cannot make the data file"; exit 1; }

# L1's end of the network: a bridge with an address and an iperf3 server, both VMMs' taps join it.
modprobe tun 2> /dev/null; modprobe bridge 2> /dev/null; modprobe loop 2> /dev/null
mkdir -p /dev/net; [ -e /dev/net/tun ] || mknod /dev/net/tun c 10 200
ip link add "$br" type bridge && ip addr add 10.0.77.1/24 dev "$br" && ip link set "$br" up ||
	{ echo "bench virtio: cannot make the bridge"; exit 1; }
# iperf3 comes from the L2 disk (L1 has none): its loader and libraries, L1's kernel and /dev.
mkdir -p "$d/root"
mount -t ext4 -o ro,noload,loop "$L2_DISK" "$d/root" 2> /dev/null ||
	{ lo=$(losetup -f) && losetup -r "$lo" "$L2_DISK" && mount -t ext4 -o ro,noload "$lo" "$d/root"; } ||
	{ echo "bench virtio: cannot mount the L2 disk to take iperf3 from"; exit 1; }
"$d/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$d/root/usr/lib/x86_64-linux-gnu" \
	"$d/root/usr/bin/iperf3" -s > "$d/iperf3-server.log" 2>&1 &
srv_pid=$!
sleep 1
kill -0 "$srv_pid" 2> /dev/null || { echo "bench virtio: the iperf3 server in L1 did not start:"; cat "$d/iperf3-server.log"; }

# The guest: eth0 on the bridge's subnet, fio on /dev/vdb, iperf3 to L1 in both directions.
# One "R name value unit" line per figure.
guest="ip addr add 10.0.77.2/24 dev eth0; ip link set eth0 up; echo GUEST_UP
grep -c 'PCI-MSI' /proc/interrupts | sed 's/^/R msi_vectors /'
job() { timeout $((rt + 60)) fio --name=b --filename=/dev/vdb --rw=\$2 --bs=\$3 --iodepth=32 --ioengine=libaio --direct=1 \
	--runtime=$rt --time_based --minimal 2>&1 | awk -F';' -v n=\$1 -v u=\$4 \
	'NF > 50 { if (u == \"iops\") print \"R\", n, \$8 + \$49, u; else printf \"R %s %.1f %s\\n\", n, (\$7 + \$48) / 1024, u }'; }
job blk_4k_randread randread 4k iops
job blk_4k_randwrite randwrite 4k iops
job blk_128k_read read 128k MiB/s
job blk_128k_write write 128k MiB/s
i=0; until ping -c 1 -W 1 10.0.77.1 > /dev/null 2>&1; do i=\$((i+1)); [ \$i -ge 30 ] && break; done
timeout $((nett + 30)) iperf3 -c 10.0.77.1 -t $nett -f m 2>&1 | awk '/receiver/ { print \"R net_tx_guest_to_l1\", \$(NF-2), \"Mbit/s\" } /error/'
timeout $((nett + 30)) iperf3 -c 10.0.77.1 -t $nett -f m -R 2>&1 | awk '/receiver/ { print \"R net_rx_l1_to_guest\", \$(NF-2), \"Mbit/s\" } /error/'"
names="blk_4k_randread blk_4k_randwrite blk_128k_read blk_128k_write net_tx_guest_to_l1 net_rx_l1_to_guest"

# attach TAP: put a tap the VMM creates on the bridge as soon as it exists.
attach() {
	for _ in $(seq 300); do ip link show "$1" > /dev/null 2>&1 && break; sleep 0.1; done
	ip link set "$1" master "$br" up || echo "bench virtio: cannot bridge $1"
}

run_vireo() {
	attach vbt0 &
	vireo_boot_l2 --timeout 300 --cmd "$guest" -- --disk "path=$L2_DISK,readonly=on" \
		--disk "path=$d/data.img,aio=$aio,cache=$cache" --net tap=vbt0,mac=52:54:00:77:00:02
	wait
}

run_qemu() {
	attach vbt1 &
	# q35 (microvm's PCIe bridge hung L2 in the lab): the same virtio PCI transport as vireo-vmm's;
	# qboot, as the lab's L1 uses, when QEMU has it.
	local bios=()
	[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
	timeout -k 5 300 qemu-system-x86_64 -M q35 "${bios[@]}" -accel kvm -cpu host -m 256 -smp 1 \
		-nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$L2_BASE_APPEND $(l2_cmd_arg "$guest")" \
		-drive "id=d0,file=$L2_DISK,format=raw,if=none,readonly=on" -device virtio-blk-pci,drive=d0 \
		-drive "id=d1,file=$d/data.img,format=raw,if=none,aio=$aio,cache=$cache" -device virtio-blk-pci,drive=d1 \
		-netdev tap,id=n0,ifname=vbt1,script=no,downscript=no,vhost=off \
		-device virtio-net-pci,netdev=n0,mac=52:54:00:77:00:03,romfile= < /dev/null
	wait
}

for i in $(seq 1 "$rounds"); do
	for vmm in vireo qemu; do
		[ -n "$only" ] && [ "$only" != "$vmm" ] && continue
		if [ -n "${BENCH_VIRTIO_VERBOSE:-}" ]; then
			"run_$vmm" 2>&1 | tee "$d/$vmm.$i.log"
		else
			"run_$vmm" > "$d/$vmm.$i.log" 2>&1
		fi
		echo "== $vmm round $i (status $?):"
		grep -E '^R |error|L2_DONE|needs reset|rror' "$d/$vmm.$i.log" | tr -d '\r' | head -20
		[ "$(grep -c '^R ' "$d/$vmm.$i.log")" -ge 7 ] || tail -25 "$d/$vmm.$i.log"
		tr -d '\r' < "$d/$vmm.$i.log" | awk '/^R / { print $2, $3 }' >> "$d/fig.$vmm"
	done
done

echo "virtio: fio (libaio, direct=1, iodepth 32, ${rt} s) on /dev/vdb and iperf3 (${nett} s) with L1, median of $rounds; aio=$aio cache=$cache"
for n in $names; do
	v=$(awk -v n="$n" '$1 == n { print $2 }' "$d/fig.vireo" 2> /dev/null | median)
	q=$(awk -v n="$n" '$1 == n { print $2 }' "$d/fig.qemu" 2> /dev/null | median)
	echo "BENCH virtio_$n vireo=$v qemu=$q ratio=$(ratio "$v" "$q") (target >= 1.0)"
done
