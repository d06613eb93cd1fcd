#!/usr/bin/env bash
# bench/virtio/in-lab.sh: runs inside the lab's L1 (or on a host with KVM). The same L2 guest under
# vireo-vmm and under Debian's QEMU (q35, virtio-blk-pci and virtio-net-pci, no vhost), both up at
# once and given one job at a time in turn: fio on the same data file, iperf3 against a server in
# L1 on the same bridge. Prints each figure and the vireo/QEMU ratio (target >= 1.0).
set -uo pipefail
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
rounds=${BENCH_ROUNDS:-3}
rt=${BENCH_FIO_SECONDS:-5}
nett=${BENCH_NET_SECONDS:-5}
aio=${BENCH_VIRTIO_AIO:-io_uring}       # both VMMs get the same aio= and cache=
# (aio=threads is no choice in the nested lab: there a write job after a read job kills the L2 of
# QEMU as well as vireo-vmm's, a silent triple fault; seen in 3 runs of 3 for each VMM.)
cache=${BENCH_VIRTIO_CACHE:-writeback}
# BENCH_L2_APPEND: more kernel arguments for both guests; noxsave unless set. In the lab, QEMU's
# -cpu host gives its guest an inconsistent CPUID leaf 0xD (XSAVE size 832 with AVX left out of
# the XCR0 mask): the guest's kernel says "XSAVE consistency problem" and turns XSAVE, and with it
# AVX, off. vireo-vmm's guest has both. noxsave makes the two guests the same.
l2_append="$L2_BASE_APPEND ${BENCH_L2_APPEND-noxsave}"
only=${BENCH_VIRTIO_ONLY:-}             # "vireo" or "qemu": one VMM only (profiling)
# BENCH_VIRTIO_TRACE=1: KVM's exit tracepoints around each job (the other VMM is frozen, so they are
# this guest's): exits by reason, the time L1's KVM spent on each kind, and the guest's own time;
# and the CPU each kind of the VMM's threads took.
trace=${BENCH_VIRTIO_TRACE:-}
d=$(mktemp -d /tmp/bv.XXXXXX)
br=vbrbench
srv_pid=
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2> /dev/null
	for j in $(jobs -p); do kill "$j" 2> /dev/null; done
	ip link del "$br" 2> /dev/null
	umount "$d/root" 2> /dev/null
	rm -rf "$d"
}
trap cleanup EXIT

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

# The guest (ADDR is its address): eth0 on the bridge's subnet, then one job per line read from
# its console, so that L1 alternates the two guests job by job (both idle meanwhile) and the load
# of the machine falls on both alike. A job prints "R name value unit", then "JOB_DONE name".
guest() {
	printf '%s\n' "ip addr add 10.0.77.$1/24 dev eth0; ip link set eth0 up
i=0; until ping -c 1 -W 1 10.0.77.1 > /dev/null 2>&1; do i=\$((i+1)); [ \$i -ge 30 ] && break; done
fio_job() { timeout $((rt + 60)) fio --name=b --filename=/dev/vdb --rw=\$2 --bs=\$3 --iodepth=32 --ioengine=libaio --direct=1 \
	--runtime=$rt --time_based --minimal 2>&1 | awk -F';' -v n=\$1 -v u=\$4 \
	'NF > 50 { if (u == \"iops\") print \"R\", n, \$8 + \$49, u; else printf \"R %s %.1f %s\\n\", n, (\$7 + \$48) / 1024, u }'; }
net_job() { timeout $((nett + 30)) iperf3 -c 10.0.77.1 -t $nett -f m \$2 2>&1 | awk -v n=\$1 '/receiver/ { print \"R\", n, \$(NF-2), \"Mbit/s\" } /error/'; }
echo GUEST_READY
while read -r job; do
	case \$job in
	j1) n=blk_4k_randread; fio_job \$n randread 4k iops ;;
	j2) n=blk_4k_randwrite; fio_job \$n randwrite 4k iops ;;
	j3) n=blk_128k_read; fio_job \$n read 128k MiB/s ;;
	j4) n=blk_128k_write; fio_job \$n write 128k MiB/s ;;
	j5) n=net_tx_guest_to_l1; net_job \$n ;;
	j6) n=net_rx_l1_to_guest; net_job \$n -R ;;
	q) break ;;
	*) n=unknown ;;
	esac
	echo JOB_DONE \$n
done"
}
all_names="blk_4k_randread blk_4k_randwrite blk_128k_read blk_128k_write net_tx_guest_to_l1 net_rx_l1_to_guest"
# BENCH_VIRTIO_JOBS: a regular expression choosing jobs by name (e.g. "^net_"), when tuning one path.
names=$(printf '%s\n' $all_names | grep -E "${BENCH_VIRTIO_JOBS:-.}" | tr '\n' ' ')
[ -n "$names" ] || { echo "bench virtio: BENCH_VIRTIO_JOBS='$BENCH_VIRTIO_JOBS' matches no job of: $all_names"; exit 2; }

# attach TAP: put a tap the VMM creates on the bridge as soon as it exists.
attach() {
	for _ in $(seq 300); do ip link show "$1" > /dev/null 2>&1 && break; sleep 0.1; done
	ip link set "$1" master "$br" up || echo "bench virtio: cannot bridge $1"
}

# Jobs are sent by number (j1...): a UART takes 16 bytes at a time, and vireo-vmm's drops what
# does not fit (a longer line lost its end).
job_code() { local i=1 x; for x in $all_names; do [ "$x" = "$1" ] && echo "j$i"; i=$((i + 1)); done; }

# Each VMM reads its guest's console input from a FIFO (jobs) and writes the console to a file.
start_vireo() {
	attach vbt0 &
	timeout -k 5 1500 "$VIREO_VMM" --kernel "$L2_KERNEL" --initrd "$L2_INITRD" --memory 256M --cpus 1 \
		--serial stdio --cmdline "$l2_append $(l2_cmd_arg "$(guest 2)")" \
		--disk "path=$L2_DISK,readonly=on" --disk "path=$d/data.img,aio=$aio,cache=$cache" \
		--net tap=vbt0,mac=52:54:00:77:00:02 < "$d/vireo.in" > "$d/vireo.log" 2>&1 &
}
start_qemu() {
	attach vbt1 &
	# q35 (microvm's PCIe bridge hung L2 in the lab): the same virtio PCI transport as vireo-vmm's;
	# qboot, as the lab's L1 uses, when QEMU has it.
	local bios=()
	[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
	timeout -k 5 1500 qemu-system-x86_64 -M q35 "${bios[@]}" -accel kvm -cpu host -m 256 -smp 1 \
		-nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$l2_append $(l2_cmd_arg "$(guest 3)")" \
		-drive "id=d0,file=$L2_DISK,format=raw,if=none,readonly=on" -device virtio-blk-pci,drive=d0 \
		-drive "id=d1,file=$d/data.img,format=raw,if=none,aio=$aio,cache=$cache,file.locking=off" \
		-device virtio-blk-pci,drive=d1 \
		-netdev tap,id=n0,ifname=vbt1,script=no,downscript=no,vhost=off \
		-device virtio-net-pci,netdev=n0,mac=52:54:00:77:00:03,romfile= < "$d/qemu.in" > "$d/qemu.log" 2>&1 &
}

# job_wait LOG FROM-LINE JOB SECONDS: wait for "JOB_DONE JOB" at or after line FROM-LINE.
job_wait() {
	local deadline=$(( $(ms_now) + $4 * 1000 ))
	until tail -n +"$2" "$1" | grep -q "^JOB_DONE $3"; do
		[ "$(ms_now)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

vmms="vireo qemu"
[ -n "$only" ] && vmms=$only
# One guest boots at a time: two L2 guests booting at once in the nested lab corrupt memory (an L2
# hanging early in boot, or an L1 panic), whichever VMM runs them.
for vmm in $vmms; do
	mkfifo "$d/$vmm.in"
	"start_$vmm"
	eval "exec {fd_$vmm}<>\"\$d/\$vmm.in\""   # held open: the VMM never sees end of input
	wait_for_line "$d/$vmm.log" '^GUEST_READY' 600 ||
		{ echo "bench virtio: the $vmm guest did not come up:"; tail -20 "$d/$vmm.log"; exit 1; }
done
# The VMM processes, and the CPU each takes while its guest idles (10 s, both guests idle).
declare -A pid ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2> /dev/null || echo 0; }
hz=$(getconf CLK_TCK 2> /dev/null || echo 100)
idle=
for vmm in $vmms; do
	pid[$vmm]=$(pgrep -x "$([ "$vmm" = vireo ] && echo vireo-vmm || echo qemu-system-x86)" | head -1)
	ticks[$vmm]=$(cpu_ticks "${pid[$vmm]}")
done
sleep 10
for vmm in $vmms; do
	idle+=" $vmm=$(awk -v a="$(cpu_ticks "${pid[$vmm]}")" -v b="${ticks[$vmm]}" -v hz="$hz" \
		'BEGIN { printf "%.1f%%", (a - b) * 100 / hz / 10 }')"
done
echo "idle guests, CPU of their VMM processes:$idle"
# While one VMM runs a job the other is frozen (SIGSTOP), so neither is measured next to the
# other's idle work (timers, polling): each job has L1 to itself and its own VMM.
hold() { [ -n "${pid[$1]:-}" ] && kill -"$2" "${pid[$1]}" 2> /dev/null; }
trap 'for v in $vmms; do hold "$v" CONT; done; cleanup' EXIT

T=/sys/kernel/debug/tracing
trace_events="kvm_exit kvm_entry kvm_pio kvm_mmio"
trace_set() { local e; for e in $trace_events; do echo "$1" > "$T/events/kvm/$e/enable"; done; echo "$1" > "$T/tracing_on"; }
if [ -n "$trace" ]; then
	grep -q " /sys/kernel/debug debugfs " /proc/mounts || mount -t debugfs none /sys/kernel/debug
	[ -d "$T/events/kvm" ] || { echo "bench virtio: no KVM tracepoints in $T"; trace=; }
	[ -n "$trace" ] && echo 16384 > "$T/buffer_size_kb"
fi
# thread_ticks PID: "name ticks" for each thread of the VMM (io_uring workers included).
thread_ticks() { local t; for t in /proc/"$1"/task/*; do echo "$(cat "$t/comm") $(awk '{ print $14 + $15 }' "$t/stat")"; done 2> /dev/null; }
trace_begin() {
	[ -n "$trace" ] || return 0
	thread_ticks "${pid[$1]}" > "$d/threads0"
	trace_t0=$(ms_now)
	echo > "$T/trace"; trace_set 1
}
# trace_end VMM JOB: a "threads" line (CPU of each kind of the VMM's threads) and a "trace" line
# (exits by reason with their count and mean microseconds in L1's KVM, the guest's own time, and
# the port/MMIO writes that exited most).
trace_end() {
	[ -n "$trace" ] || return 0
	trace_set 0
	# CPU of each kind of thread over the job, in % of one CPU (threads named alike summed).
	thread_ticks "${pid[$1]}" | awk -v hz="$hz" -v ms=$(($(ms_now) - trace_t0)) -v tag="$1 $2" '
		function key(  t) { t = $NF; $NF = ""; sub(/ +$/, ""); sub(/-[0-9]+$/, ""); gsub(/ /, "_"); return t }
		NR == FNR { t = key(); b[$0] += t; next }
		{ t = key(); a[$0] += t }
		END { line = "threads " tag ":"; for (k in a) if (a[k] - b[k] > 0) line = line sprintf(" %s %.0f%%", k, (a[k] - b[k]) * 100000 / hz / ms); print line }' "$d/threads0" -
	awk -v tag="$1 $2" '
	function ts(line, t, a, n) { t = line; sub(/: kvm_[a-z_]*:.*/, "", t); n = split(t, a, " "); return a[n] + 0 }
	/ kvm_exit: / { for (i = 1; i <= NF; i++) if ($i == "reason") r = $(i + 1); x = ts($0); if (ent) { g += x - ent } inx = 1; next }
	/ kvm_entry: / { e = ts($0); if (inx) { sum[r] += e - x; cnt[r]++; tot++ } inx = 0; ent = e; next }
	/ kvm_pio: pio_write / { for (i = 1; i <= NF; i++) if ($i == "at") w["pio " $(i + 1)]++; next }
	/ kvm_mmio: mmio write / { for (i = 1; i <= NF; i++) if ($i == "gpa") w["mmio " $(i + 1)]++; next }
	END {
		line = sprintf("trace %s: %d exits, guest %.0f ms;", tag, tot, g * 1e3)
		for (r in cnt) line = line sprintf(" %s %d/%.0fus", r, cnt[r], sum[r] / cnt[r] * 1e6)
		for (k in w) if (w[k] * 20 > tot) line = line sprintf("; %s x%d", k, w[k])
		print line
	}' "$T/trace"
}

# One job at a time: each job in turn on each VMM, ROUNDS times.
for i in $(seq 1 "$rounds"); do
	order=$vmms
	[ $((i % 2)) = 0 ] && order=$(echo "$vmms" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
	for n in $names; do
		for vmm in $order; do
			for o in $vmms; do
				if [ "$o" = "$vmm" ]; then hold "$o" CONT; else hold "$o" STOP; fi
			done
			fd=fd_$vmm
			from=$(($(wc -l < "$d/$vmm.log") + 1))
			trace_begin "$vmm"
			job_code "$n" >&"${!fd}"
			if ! job_wait "$d/$vmm.log" "$from" "$n" $((rt + nett + 120)); then
				echo "bench virtio: $vmm: job $n did not finish"; tail -5 "$d/$vmm.log"
			fi
			trace_end "$vmm" "$n"
			v=$(tail -n +"$from" "$d/$vmm.log" | tr -d '\r' | awk -v n="$n" '$1 == "R" && $2 == n { x = $3 } END { print x }')
			echo "$vmm $n ${v:--1}" | tee -a "$d/fig"
		done
	done
done
for vmm in $vmms; do
	hold "$vmm" CONT
	fd=fd_$vmm
	echo q >&"${!fd}"
done
wait_for_line "$d/vireo.log" '^L2_DONE' 60 > /dev/null 2>&1
wait_for_line "$d/qemu.log" '^L2_DONE' 60 > /dev/null 2>&1
grep -hiE 'needs reset|error|triple fault' "$d/vireo.log" "$d/qemu.log" | head -5

echo "virtio: fio (libaio, direct=1, iodepth 32, ${rt} s) on /dev/vdb and iperf3 (${nett} s) with L1, alternating job by job, median of $rounds; aio=$aio cache=$cache"
"$(dirname "$0")/summarize" $names < "$d/fig"
