# e2e check: the ways vireo-vmm enters a kernel. The default (PVH entry of the bzImage unpacked on
# the host, through the kernel cache) is what 100-103 boot; here: the 64-bit entry (in-guest
# decompression), a corrupt cache entry rebuilt, and an uncompressed vmlinux ELF given directly.
# e2e-timeout: 300
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
need_kvm
need_build_file src/vmm/main/vireo-vmm
d=$(mktemp -d /tmp/104.XXXXXX)

boot_ok() { # boot_ok NAME VMM-ARGS...: the guest reaches userspace and powers off (exit 0)
	local name=$1 rc; shift
	VIREO_LOG=info vireo_boot_l2 --timeout 150 -- "$@" > "$d/$name.out" 2>&1; rc=$?
	grep -q '^L2_BOOT_OK' "$d/$name.out" && [ "$rc" -eq 0 ] ||
		{ tail -20 "$d/$name.out"; e2e_fail "$name: no clean boot (vireo-vmm exited $rc)"; }
	echo "ok: $name: $(grep -m1 '^L2_BOOT_OK' "$d/$name.out")"
}

boot_ok linux64 --kernel-entry linux64

# First boot writes the cache entry; then one byte of it is flipped: vireo-vmm must notice,
# rebuild the entry and still boot.
boot_ok pvh-cold --kernel-entry pvh --kernel-cache "$d/cache"
entry=$(ls "$d"/cache/vmlinux-* 2>/dev/null | head -1)
[ -n "$entry" ] || e2e_fail "no kernel cache entry in $d/cache"
printf '\xff' | dd of="$entry" bs=1 seek=$((4096 + 3000000)) conv=notrunc 2>/dev/null
boot_ok pvh-rebuilt --kernel-entry pvh --kernel-cache "$d/cache"
grep -q "is corrupt, rebuilding" "$d/pvh-rebuilt.out" || e2e_fail "the corrupt cache entry went unnoticed"
[ "$(ls "$d"/cache | wc -l)" -eq 1 ] || e2e_fail "the cache holds $(ls "$d"/cache) instead of one entry"

# The unpacked image itself (the cache entry past its 4 KiB header) as --kernel: a vmlinux ELF.
tail -c +4097 "$entry" > "$d/vmlinux"
L2_KERNEL=$d/vmlinux boot_ok vmlinux-elf
L2_KERNEL=$d/vmlinux vireo_boot_l2 --timeout 30 -- --kernel-entry linux64 > "$d/elf64.out" 2>&1 &&
	e2e_fail "a vmlinux booted with --kernel-entry linux64"
grep -q "ELF vmlinux" "$d/elf64.out" || e2e_fail "no clear error for a vmlinux with linux64: $(cat "$d/elf64.out")"
echo "ok: a vmlinux with --kernel-entry linux64 is refused: $(head -1 "$d/elf64.out")"
rm -rf "$d"
