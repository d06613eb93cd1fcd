# tests/e2e/lib.sh: helpers for e2e checks (sourced: `. "$VIREO_TESTS/e2e/lib.sh"`). They run in
# the lab's L1 (or on a host with hardware KVM) with VIREO_BUILD, VIREO_TESTS, L2_KERNEL,
# L2_INITRD and L2_DISK set by tests/e2e/in-lab. Conventions: tests/e2e/README.md.

# The L2 kernel command line every boot starts from: quiet, because each console byte from L2 is
# an exit handled under TCG (~2 KB/s), and no crypto self-tests or mitigations (boot time).
L2_BASE_APPEND="console=ttyS0 quiet panic=-1 cryptomgr.notests mitigations=off"

e2e_skip() { # e2e_skip REASON: end this check as skipped
	echo "$*"
	exit 77
}

e2e_fail() { # e2e_fail MESSAGE: end this check as failed
	echo "FAILED: $*"
	exit 1
}

ms_now() { # milliseconds since boot, 10 ms resolution (busybox date has no %N); no exec, since
	# every program started under TCG costs milliseconds
	local up rest
	read -r up rest < /proc/uptime
	up=${up/./}
	echo $(( 10#$up * 10 ))
}

need_kvm() { # skip the check where /dev/kvm cannot be opened
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || e2e_skip "no usable /dev/kvm"
}

need_qemu() { # skip the check where QEMU is not there (lab run without --qemu)
	command -v qemu-system-x86_64 >/dev/null || e2e_skip "no qemu-system-x86_64 (lab run --qemu)"
}

need_build_file() { # need_build_file REL: fail if $VIREO_BUILD/REL is missing (not built)
	[ -e "$VIREO_BUILD/$1" ] || e2e_fail "$VIREO_BUILD/$1 is missing (is it built?)"
}

l2_cmd_arg() { # l2_cmd_arg 'SHELL COMMAND' -> the l2.cmd=BASE64 kernel argument that runs it in L2
	printf 'l2.cmd=%s' "$(printf '%s\n' "$1" | base64 | tr -d '\n')"
}

# wait_for_line FILE PATTERN TIMEOUT: wait until FILE has a line matching the extended regex
# PATTERN; returns 0 when it does, 1 after TIMEOUT seconds (fractions allowed).
wait_for_line() {
	local file=$1 pattern=$2 timeout=$3 deadline
	deadline=$(( $(ms_now) + $(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000 }') ))
	while :; do
		[ -f "$file" ] && grep -Eq -- "$pattern" "$file" && return 0
		[ "$(ms_now)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# qemu_boot_l2 [OPTIONS] [-- QEMU-ARGS...]: boot the L2 image with QEMU (microvm, KVM) and print
# its console on stdout; returns QEMU's exit status (0 after L2's poweroff, 124 on timeout).
# This is the reference boot that vireo-vmm's boot tests and benchmarks compare against.
#   --smp N (1)  --mem MiB (256)  --timeout S (120)
#   --disk FILE      attach FILE as virtio-blk (read-write; L2 mounts it at /mnt)
#   --disk-ro FILE   attach FILE read-only
#   --script NAME    l2.script=NAME    --cmd 'SH'  run SH in L2 (l2.cmd=base64)
#   --append ARGS    more kernel arguments (e.g. l2.qga=1)
qemu_boot_l2() {
	local smp=1 mem=256 timeout=120 append='' drive=()
	while [ $# -gt 0 ]; do
		case $1 in
		--smp) smp=$2; shift ;;
		--mem) mem=$2; shift ;;
		--timeout) timeout=$2; shift ;;
		--disk) drive+=(-drive "id=d${#drive[@]},file=$2,format=raw,if=none"
			-device "virtio-blk-device,drive=d${#drive[@]}"); shift ;;
		--disk-ro) drive+=(-drive "id=d${#drive[@]},file=$2,format=raw,if=none,readonly=on"
			-device "virtio-blk-device,drive=d${#drive[@]}"); shift ;;
		--script) append+=" l2.script=$2"; shift ;;
		--cmd) append+=" $(l2_cmd_arg "$2")"; shift ;;
		--append) append+=" $2"; shift ;;
		--) shift; break ;;
		*) echo "qemu_boot_l2: unknown option $1" >&2; return 2 ;;
		esac
		shift
	done
	# -M microvm,rtc=on: without an RTC the cloud kernel waits 4 s in cmos_init.
	timeout -k 5 "$timeout" qemu-system-x86_64 -M microvm,rtc=on -accel kvm -cpu host \
		-m "$mem" -smp "$smp" -nodefaults -no-user-config -display none -no-reboot \
		-serial stdio -kernel "$L2_KERNEL" -initrd "$L2_INITRD" \
		-append "$L2_BASE_APPEND$append" "${drive[@]}" "$@" < /dev/null
}

# l2_timed BOOT-FUNCTION [ARGS...]: run a boot helper (qemu_boot_l2, vireo_boot_l2), timed from
# inside: prints the console, then "L2_TIMING boot_ok_ms=N exit_ms=M" (start to the L2_BOOT_OK line /
# to the VMM's exit; boot_ok_ms=-1 if the line never came). Returns the VMM's status. No polling:
# the console is read line by line as it arrives, so the measurement does not steal CPU from the guest.
l2_timed() {
	local t0 boot=-1 line up rest now status=125
	t0=$(ms_now)
	while IFS= read -r line; do
		case $line in
		L2_VMM_STATUS=*) status=${line#L2_VMM_STATUS=}; continue ;;
		L2_BOOT_OK*)
			if [ "$boot" = -1 ]; then
				read -r up rest < /proc/uptime; up=${up/./}; now=$(( 10#$up * 10 ))
				boot=$(( now - t0 ))
			fi ;;
		esac
		printf '%s\n' "$line"
	done < <("$@" 2>&1; echo "L2_VMM_STATUS=$?")
	echo "L2_TIMING boot_ok_ms=$boot exit_ms=$(( $(ms_now) - t0 ))"
	return "$status"
}

# qemu_boot_l2_timed [qemu_boot_l2 ARGS...]: qemu_boot_l2, timed (see l2_timed).
qemu_boot_l2_timed() {
	l2_timed qemu_boot_l2 "$@"
}
