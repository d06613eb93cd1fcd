#!/usr/bin/env bash
# bench/vmm/in-lab.sh: runs inside the lab's L1 (or on a host with KVM). Boots the same L2 kernel
# and initramfs with vireo-vmm and with Debian's QEMU (microvm and pc), ROUNDS times each,
# alternating, and prints medians and ratios; then VMM memory overhead and payload start-up.
set -uo pipefail
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
rounds=${BENCH_ROUNDS:-3}
payload=$VIREO_BUILD/bench/vmm/exit-payload.bin

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print -1; else print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0 || a < 0) print "n/a"; else printf "%.2f", a / b }'; }
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# 1. exec -> guest userspace marker (L2_BOOT_OK on the console).
: > /tmp/b.vireo; : > /tmp/b.microvm; : > /tmp/b.pc
for i in $(seq 1 "$rounds"); do
	vireo_boot_l2_timed --timeout 120 | sed -n 's/^L2_TIMING boot_ok_ms=\([0-9-]*\).*/\1/p' >> /tmp/b.vireo
	qemu_boot_l2_timed --timeout 120 | sed -n 's/^L2_TIMING boot_ok_ms=\([0-9-]*\).*/\1/p' >> /tmp/b.microvm
	# QEMU's pc machine: SeaBIOS, then the same kernel through the linuxboot option ROM.
	t0=$(ms_now); boot=-1
	while IFS= read -r line; do
		case $line in L2_BOOT_OK*) [ "$boot" = -1 ] && boot=$(( $(ms_now) - t0 )) ;; esac
	done < <(timeout 120 qemu-system-x86_64 -M pc -accel kvm -cpu host -m 256 -smp 1 -nodefaults \
		-no-user-config -display none -no-reboot -serial stdio -kernel "$L2_KERNEL" -initrd "$L2_INITRD" \
		-append "$L2_BASE_APPEND" < /dev/null 2>&1)
	echo "$boot" >> /tmp/b.pc
done
v=$(median < /tmp/b.vireo); m=$(median < /tmp/b.microvm); p=$(median < /tmp/b.pc)
echo "boot: exec -> L2 userspace marker, median of $rounds (ms): vireo-vmm $v, qemu microvm $m, qemu pc $p"
echo "BENCH vmm_boot_ratio_vs_microvm=$(ratio "$v" "$m") (target <= 0.60)"
echo "BENCH vmm_boot_ratio_vs_pc=$(ratio "$v" "$p")"

# 2. VMM memory overhead: private RSS outside guest RAM, with the guest idle in userspace.
overhead_kb() { # overhead_kb PID RAM_KB: sum Private_* of mappings smaller than 90% of guest RAM
	awk -v ram="$2" '
		/^Size:/ { big = $2 >= ram * 0.9 }
		/^Private_(Clean|Dirty):/ { if (!big) sum += $2 }
		END { print sum + 0 }' "/proc/$1/smaps"
}
# idle_overhead_kb BOOT-FUNCTION PROCESS-PATTERN: boot an idle guest, measure its VMM once up.
# The pattern is anchored at the start of the command line: timeout(1)'s own line contains it too.
idle_overhead_kb() {
	local pid kb
	"$1" --timeout 120 --cmd 'sleep 8' > "/tmp/m.$1" 2>&1 &
	wait_for_line "/tmp/m.$1" '^L2_BOOT_OK' 100
	sleep 1
	pid=$(pgrep -f "^$2" | head -1)
	kb=$(overhead_kb "$pid" 262144)
	wait
	echo "$kb"
}
vo=$(idle_overhead_kb vireo_boot_l2 "$VIREO_VMM --kernel")
qo=$(idle_overhead_kb qemu_boot_l2 "qemu-system-x86_64 -M microvm")
echo "memory: VMM private RSS outside guest RAM: vireo-vmm $vo KiB, qemu microvm $qo KiB"
echo "BENCH vmm_overhead_kib=$vo (target <= 4096)"
echo "BENCH vmm_overhead_ratio_vs_qemu=$(ratio "$vo" "$qo") (target <= 0.50)"

# 3. exec -> first guest instruction, with a payload that leaves at once (whole exec -> exit).
dd if=/dev/zero of=/tmp/bios.bin bs=1024 count=64 2>/dev/null
dd if="$payload" of=/tmp/bios.bin conv=notrunc 2>/dev/null
printf '\xea\x00\x00\x00\xf0' | dd of=/tmp/bios.bin bs=1 seek=$((0xfff0)) conv=notrunc 2>/dev/null
: > /tmp/p.vireo; : > /tmp/p.qemu; : > /tmp/p.marker
for i in $(seq 1 "$rounds"); do
	t0=$(now_us)
	"$VIREO_VMM" --payload "$payload" --memory 16M --serial none --markers /tmp/markers > /dev/null 2>&1
	echo $(( ($(now_us) - t0) / 1000 )) >> /tmp/p.vireo
	sed -n 's/^debug-port: 0x41 at \([0-9]*\)\..*/\1/p' /tmp/markers >> /tmp/p.marker
	t0=$(now_us)
	qemu-system-x86_64 -M microvm -accel kvm -m 16 -nodefaults -no-user-config -display none \
		-bios /tmp/bios.bin -device isa-debug-exit,iobase=0xf4 > /dev/null 2>&1
	echo $(( ($(now_us) - t0) / 1000 )) >> /tmp/p.qemu
done
echo "payload: exec -> exit, median of $rounds (ms): vireo-vmm $(median < /tmp/p.vireo) (first instruction at $(median < /tmp/p.marker) ms after VMM start), qemu microvm $(median < /tmp/p.qemu)"
echo "BENCH vmm_payload_exit_ms=$(median < /tmp/p.vireo) qemu=$(median < /tmp/p.qemu) ratio=$(ratio "$(median < /tmp/p.vireo)" "$(median < /tmp/p.qemu)")"
