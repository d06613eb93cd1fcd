# e2e check: vireo-vmm boots the unmodified Debian cloud kernel to userspace with 1, 2 and 4 vCPUs
# and with 256 MiB, 2 GiB and 5 GiB of RAM (5 GiB crosses the 32-bit hole); what the guest sees
# (nproc, MemTotal) agrees with what was asked; the guest powers off through ACPI S5 (exit 0);
# dmesg has no ACPI error or warning.
# e2e-timeout: 420
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
need_kvm
need_build_file src/vmm/main/vireo-vmm
log=/tmp/100-vmm-boot.log

# boot_case CPUS MEM MIN_KB MAX_KB: boot, check the L2_BOOT_OK line and the exit status.
boot_case() {
	local cpus=$1 mem=$2 min_kb=$3 max_kb=$4 rc got_cpus got_mem
	vireo_boot_l2_timed --cpus "$cpus" --mem "$mem" --timeout 150 \
		--cmd 'dmesg | grep -iE "acpi.*(error|warning)|acpi bios|firmware bug" | sed "s/^/DMESG_BAD: /"; true' > "$log"; rc=$?
	cat "$log"
	[ "$rc" -eq 0 ] || e2e_fail "cpus=$cpus mem=$mem: vireo-vmm exited $rc"
	got_cpus=$(sed -n 's/^L2_BOOT_OK .*cpus=\([0-9]*\) .*/\1/p' "$log")
	got_mem=$(sed -n 's/^L2_BOOT_OK .*mem=\([0-9]*\).*/\1/p' "$log")
	[ -n "$got_cpus" ] || e2e_fail "cpus=$cpus mem=$mem: no L2_BOOT_OK line"
	[ "$got_cpus" -eq "$cpus" ] || e2e_fail "asked $cpus vCPUs, the guest's nproc says $got_cpus"
	[ "$got_mem" -ge "$min_kb" ] && [ "$got_mem" -le "$max_kb" ] ||
		e2e_fail "asked $mem, the guest's MemTotal is $got_mem kB (expected $min_kb..$max_kb)"
	grep -q '^L2_DONE rc=0' "$log" || e2e_fail "cpus=$cpus mem=$mem: no L2_DONE rc=0"
	! grep -q '^DMESG_BAD' "$log" || e2e_fail "ACPI complaints in dmesg: $(grep '^DMESG_BAD' "$log")"
	sed -n "s/^L2_TIMING boot_ok_ms=\([0-9]*\).*/E2E_METRIC vireo_l2_boot_ok_ms_${cpus}cpu_$mem=\1 ms/p" "$log"
}

# MemTotal is RAM less what the kernel keeps (its image, page tables, crash kernel: none).
boot_case 1 256M 200000 262144
boot_case 2 256M 200000 262144
boot_case 4 256M 190000 262144
boot_case 1 2G 1900000 2097152
boot_case 2 5G 4900000 5242880
echo "all boots reached userspace with the CPUs and memory asked for"
