# e2e check: the 16550A console of vireo-vmm as a user meets it: the guest's 8250 driver finds a
# 16550A on IRQ 4 and runs it interrupt-driven (the IRQ 4 count grows while it prints), and a line
# typed on vireo-vmm's standard input reaches a program reading the guest's console. Then the i8042
# reset line: a guest rebooting through the keyboard controller (reboot=k) resets the machine, which
# with --no-reboot ends vireo-vmm with status 0.
# e2e-timeout: 180
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
need_kvm
need_build_file src/vmm/main/vireo-vmm
d=$(mktemp -d /tmp/103.XXXXXX)
guest='irq() { awk "/ttyS0/ { print \$2 }" /proc/interrupts; }
echo "UART $(dmesg | grep -o "ttyS0 at I/O 0x3f8 (irq = [0-9]*, base_baud = [0-9]*) is a [0-9A-Z]*")"
a=$(irq); i=0; while [ $i -lt 20 ]; do echo "line $i of output to make the UART interrupt"; i=$((i+1)); done; b=$(irq)
echo "IRQ4 before=$a after=$b"
echo READY-FOR-INPUT
read -r line && echo "GOT-INPUT:[$line]"'
# Type the line once the guest asks for it; keep stdin open until the guest is done.
{
	while ! grep -q '^READY-FOR-INPUT' "$d/console" 2> /dev/null; do sleep 0.3; done
	echo "hello-typed"
	while ! grep -q '^L2_DONE' "$d/console" 2> /dev/null; do sleep 0.3; done
} | timeout -k 5 150 "$VIREO_VMM" --kernel "$L2_KERNEL" --initrd "$L2_INITRD" --memory 256M --serial stdio \
	--cmdline "$L2_BASE_APPEND $(l2_cmd_arg "$guest")" > "$d/console" 2>&1
rc=$?
cat "$d/console"
[ "$rc" -eq 0 ] || e2e_fail "vireo-vmm exited $rc"
grep -q '^UART ttyS0 at I/O 0x3f8 (irq = 4, .*) is a 16550A' "$d/console" || e2e_fail "the guest did not find a 16550A on IRQ 4"
before=$(sed -n 's/^IRQ4 before=\([0-9]*\) after=.*/\1/p' "$d/console")
after=$(sed -n 's/^IRQ4 before=[0-9]* after=\([0-9]*\).*/\1/p' "$d/console")
[ -n "$before" ] && [ "$after" -gt "$before" ] || e2e_fail "IRQ 4 did not fire while the guest printed ($before -> $after)"
grep -q 'GOT-INPUT:\[hello-typed\]' "$d/console" || e2e_fail "the typed line did not reach the guest"
echo "console: 16550A on IRQ 4, interrupts $before -> $after, typed input received"

VIREO_LOG=info vireo_boot_l2 --timeout 120 --append "reboot=k" --cmd 'reboot -f' -- --no-reboot > "$d/reboot" 2>&1
rc=$?
[ "$rc" -eq 0 ] || { tail -20 "$d/reboot"; e2e_fail "vireo-vmm exited $rc after the guest rebooted through the i8042"; }
grep -q 'shutdown (guest-reset)' "$d/reboot" || { tail -20 "$d/reboot"; e2e_fail "no guest reset seen"; }
echo "i8042: the guest's keyboard-controller reboot reset the machine"
rm -rf "$d"
