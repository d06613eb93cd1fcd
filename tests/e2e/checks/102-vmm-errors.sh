# e2e check: vireo-vmm refuses bad boot images with the promised messages, and a SIGTERM stops a
# running guest cleanly (exit 0).
# e2e-timeout: 120
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
need_kvm
need_build_file src/vmm/main/vireo-vmm
d=$(mktemp -d /tmp/102.XXXXXX)

expect_error() { # expect_error STATUS PATTERN ARGS...: run vireo-vmm, check status and message
	local want=$1 pat=$2 rc
	shift 2
	timeout 20 "$VIREO_VMM" --serial none "$@" > "$d/out" 2>&1; rc=$?
	[ "$rc" -eq "$want" ] || { cat "$d/out"; e2e_fail "vireo-vmm $* exited $rc, expected $want"; }
	grep -qiE -- "$pat" "$d/out" || e2e_fail "vireo-vmm $*: message lacks '$pat': $(cat "$d/out")"
	echo "ok: $(head -1 "$d/out")"
}

head -c 1000000 /dev/urandom > "$d/random"
cp "$L2_KERNEL" "$d/truncated" && truncate -s 2000000 "$d/truncated"
expect_error 1 "not a bzImage" --kernel "$d/random"
expect_error 1 "truncated bzImage" --kernel "$d/truncated"
expect_error 1 "initrd.*(cannot open|no such)" --kernel "$L2_KERNEL" --initrd "$d/missing"
truncate -s 64M "$d/big-initrd"
expect_error 1 "larger than the guest|does not fit" --kernel "$L2_KERNEL" --initrd "$d/big-initrd" --memory 16M
expect_error 2 "--memory" --kernel "$L2_KERNEL" --memory lots

# SIGTERM: the guest is stopped and vireo-vmm exits 0.
vireo_boot_l2 --timeout 100 --cmd 'while :; do sleep 1; done' > "$d/console" 2>&1 &
pid=$!
wait_for_line "$d/console" '^L2_BOOT_OK' 90 || { cat "$d/console"; e2e_fail "the guest did not boot"; }
pkill -TERM -f "$VIREO_VMM --kernel $L2_KERNEL" || e2e_fail "no vireo-vmm to signal"
wait "$pid"; rc=$?
[ "$rc" -eq 0 ] || e2e_fail "vireo-vmm exited $rc after SIGTERM"
echo "SIGTERM: clean exit"
rm -rf "$d"
