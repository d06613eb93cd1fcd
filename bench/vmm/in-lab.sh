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

# 1. exec -> guest userspace marker (L2_BOOT_OK on the console), same kernel, initramfs and command
# line for every VMM. vireo-vmm three ways: "linux64", the bzImage's 64-bit entry (the guest
# decompresses itself); "pvh_cold", unpacked on the host with an empty kernel cache (unpack + write
# the entry) and entered through PVH; "pvh_warm", the same with the entry cached (every boot of a
# kernel after its first). vireo-vmm's default (--kernel-entry auto) is linux64 for an LZ4 kernel
# (Debian's cloud flavour, the lab's L2 kernel) and PVH through the cache for XZ (Debian's regular
# flavour, measured too when $L2_KERNEL_XZ is given: its modules do not match the initramfs, which
# then skips loading them, the same for every VMM).
# Phases: the VMM's own start-up (vireo-vmm's debug trace: exec -> vCPUs running) and the guest
# kernel's clock at "Run /init" (kvmclock; under nested TCG it runs slower than the host's clock,
# so it is comparable between VMMs but not with the wall-clock figures).
# The lab shares its host with other work, so boot times drift over minutes: each round runs its
# boots back to back, QEMU microvm between vireo-vmm's cold and warm boots, and every ratio is also
# given as the median of each round's own ratio.
cmd='dmesg | grep -m1 "Run /init"'
boot_ms() { sed -n 's/^L2_TIMING boot_ok_ms=\([0-9-]*\).*/\1/p' "$1"; }
vmm_ms() { sed -n 's/.*debug: \([0-9]*\)\.[0-9]* ms: vCPUs started.*/\1/p' "$1"; }
init_ms() { sed -n 's/^\[ *\([0-9]*\)\.\([0-9][0-9][0-9]\).*Run \/init.*/\1\2/p' "$1" | sed 's/^0*\(.\)/\1/'; }
vireo_timed() { # vireo_timed NAME VMM-ARGS...: one vireo-vmm boot, figures appended to /tmp/b.NAME.*
	local name=$1; shift
	VIREO_LOG=debug vireo_boot_l2_timed --timeout 150 --cmd "$cmd" -- "$@" > /tmp/b.out 2>&1
	boot_ms /tmp/b.out >> "/tmp/b.$name"; vmm_ms /tmp/b.out >> "/tmp/b.$name.vmm"; init_ms /tmp/b.out >> "/tmp/b.$name.init"
}
pair_ratio() { # pair_ratio A B: median over rounds of A_i / B_i
	paste "/tmp/b.$1" "/tmp/b.$2" | awk '$1 > 0 && $2 > 0 { printf "%.3f\n", $1 / $2 }' | median |
		awk '{ if ($1 < 0) print "n/a"; else printf "%.2f", $1 }'
}
meets() { awk -v r="$1" 'BEGIN { print (r != "n/a" && r <= 0.60) ? "meets" : "misses" }'; }
# boot_compare TAG KERNEL DEFAULT-CONFIG WITH-PC: the rounds for one kernel, then its figures.
boot_compare() {
	local tag=$1 L2_KERNEL=$2 def=$3 with_pc=$4 c i t0 boot line m configs="vireo_linux64 vireo_pvh_cold vireo_pvh_warm microvm"
	local cache=/tmp/bench-kernel-cache
	[ "$with_pc" = 1 ] && configs+=" pc"
	for c in $configs; do : > "/tmp/b.$c"; : > "/tmp/b.$c.vmm"; : > "/tmp/b.$c.init"; done
	for i in $(seq 1 "$rounds"); do
		rm -rf "$cache"
		vireo_timed vireo_pvh_cold --kernel-entry pvh --kernel-cache "$cache"
		qemu_boot_l2_timed --timeout 150 --cmd "$cmd" > /tmp/b.out 2>&1
		boot_ms /tmp/b.out >> /tmp/b.microvm; init_ms /tmp/b.out >> /tmp/b.microvm.init
		vireo_timed vireo_pvh_warm --kernel-entry pvh --kernel-cache "$cache"
		vireo_timed vireo_linux64 --kernel-entry linux64
		[ "$with_pc" = 1 ] || continue
		# QEMU's pc machine: SeaBIOS, then the same kernel through the linuxboot option ROM.
		t0=$(ms_now); boot=-1
		while IFS= read -r line; do
			case $line in L2_BOOT_OK*) [ "$boot" = -1 ] && boot=$(( $(ms_now) - t0 )) ;; esac
			printf '%s\n' "$line"
		done < <(timeout 150 qemu-system-x86_64 -M pc -accel kvm -cpu host -m 256 -smp 1 -nodefaults \
			-no-user-config -display none -no-reboot -serial stdio -kernel "$L2_KERNEL" -initrd "$L2_INITRD" \
			-append "$L2_BASE_APPEND $(l2_cmd_arg "$cmd")" < /dev/null 2>&1) > /tmp/b.out
		echo "$boot" >> /tmp/b.pc; init_ms /tmp/b.out >> /tmp/b.pc.init
	done
	echo "boot ($tag kernel $(basename "$L2_KERNEL")): exec -> L2 userspace marker, median of $rounds (ms)"
	for c in $configs; do
		printf '  %-15s %6s ms   VMM start-up %5s ms   kernel Run /init at %5s ms (guest clock)   rounds: %s\n' \
			"$c" "$(median < "/tmp/b.$c")" "$( [ -s "/tmp/b.$c.vmm" ] && median < "/tmp/b.$c.vmm" || echo n/a)" \
			"$(median < "/tmp/b.$c.init")" "$(tr '\n' ' ' < "/tmp/b.$c")"
	done
	m=$(median < /tmp/b.microvm)
	for c in vireo_linux64 vireo_pvh_cold vireo_pvh_warm; do
		r=$(ratio "$(median < "/tmp/b.$c")" "$m")
		echo "  $c / microvm = $r (per-round median $(pair_ratio "$c" microvm))$( [ "$with_pc" = 1 ] &&
			echo ", / pc = $(ratio "$(median < "/tmp/b.$c")" "$(median < /tmp/b.pc)") (per-round median $(pair_ratio "$c" pc))")"
	done
	r=$(ratio "$(median < "/tmp/b.$def")" "$m")
	echo "BENCH vmm_boot${tag:+_$tag}_ratio_vs_microvm=$r (vireo-vmm's default for this kernel: ${def#vireo_}; per-round median $(pair_ratio "$def" microvm); target <= 0.60: $(meets "$r"))"
	[ "$def" = vireo_pvh_warm ] && r=$(ratio "$(median < /tmp/b.vireo_pvh_cold)" "$m") &&
		echo "BENCH vmm_boot${tag:+_$tag}_cold_ratio_vs_microvm=$r (first boot of the kernel, empty cache; target <= 0.60: $(meets "$r"))"
	[ "$with_pc" = 1 ] && echo "BENCH vmm_boot${tag:+_$tag}_ratio_vs_pc=$(ratio "$(median < "/tmp/b.$def")" "$(median < /tmp/b.pc)") (${def#vireo_})"
	return 0
}
boot_compare "" "$L2_KERNEL" vireo_linux64 1
if [ -n "${L2_KERNEL_XZ:-}" ] && [ -f "$L2_KERNEL_XZ" ]; then
	boot_compare xz "$L2_KERNEL_XZ" vireo_pvh_warm 0
fi

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
