# e2e check: virtio-rng in a real L2 guest under vireo-vmm: a 1af4:1044 PCI function bound to
# virtio-pci, the kernel's hw_random uses it, and /dev/hwrng yields 64 KiB that are not all alike.
# e2e-timeout: 200
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
need_kvm
need_build_file src/vmm/main/vireo-vmm
"$VIREO_VMM" --help 2>&1 | grep -q -- '--rng' || e2e_skip "vireo-vmm has no --rng option yet (virtio-rng not wired into the machine)"
log=$(mktemp /tmp/121.XXXXXX)
guest='for p in /sys/bus/pci/devices/*; do echo "PCI $(cat $p/vendor):$(cat $p/device) drv=$(basename "$(readlink $p/driver)")"; done
echo "RNG_CURRENT $(cat /sys/class/misc/hw_random/rng_current)"
echo "HWRNG_BYTES $(dd if=/dev/hwrng bs=4096 count=16 2> /dev/null | wc -c)"
echo "HWRNG_DISTINCT $(dd if=/dev/hwrng bs=4096 count=1 2> /dev/null | od -An -v -tx1 | tr " " "\n" | sort -u | grep -c .)"'
vireo_boot_l2 --timeout 150 --cmd "$guest" -- --rng > "$log" 2>&1; rc=$?
cat "$log"
[ "$rc" -eq 0 ] || e2e_fail "vireo-vmm exited $rc"
grep -q '^PCI 0x1af4:0x1044 drv=virtio-pci' "$log" || e2e_fail "no 1af4:1044 function bound to virtio-pci"
grep -q '^RNG_CURRENT virtio_rng' "$log" || e2e_fail "hw_random does not use virtio_rng: $(grep RNG_CURRENT "$log")"
grep -q '^HWRNG_BYTES 65536' "$log" || e2e_fail "/dev/hwrng gave $(grep HWRNG_BYTES "$log") (want 65536 bytes)"
distinct=$(sed -n 's/^HWRNG_DISTINCT \([0-9]*\).*/\1/p' "$log" | tr -d '\r')
[ "${distinct:-0}" -ge 200 ] || e2e_fail "4 KiB from /dev/hwrng have only ${distinct:-0} distinct byte values"
echo "E2E_METRIC virtio_rng_distinct_byte_values_in_4k=$distinct"
echo "virtio-rng feeds /dev/hwrng"
