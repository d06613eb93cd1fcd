# e2e check: vireo-vmm's QMP socket drives a real guest: query-status, stop/cont pause and resume
# it (the guest's counter stops, then goes on; STOP and RESUME events), system_reset reboots it
# (a second L2_BOOT_OK, a RESET event), system_powerdown presses the ACPI power button and the
# guest powers off through S5 (exit 0, POWERDOWN and SHUTDOWN events).
# e2e-timeout: 300
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
need_kvm
need_build_file src/vmm/main/vireo-vmm
need_build_file tests/tools/vireo-qmp
d=$(mktemp -d /tmp/101.XXXXXX)
sock=$d/qmp.sock
console=$d/console
events=$d/events

# The guest prints a tick every 0.2 s after a power-button watcher is armed.
guest='i=0; while [ $i -lt 100000 ]; do echo "TICK $i"; i=$((i+1)); sleep 0.2; done'
vireo_boot_l2 --timeout 240 --qmp "$sock" --cmd "$guest" > "$console" 2>&1 &
vmm=$!
"$VIREO_QMP" --retry 20 "$sock" --wait-event SHUTDOWN --timeout 230 > "$events.shutdown" 2>&1 &
waiter=$!
wait_for_line "$console" '^TICK 3[^0-9]' 120 || { cat "$console"; e2e_fail "the guest did not start ticking"; }

qmp "$sock" query-status | grep -q '"status":"running"' || e2e_fail "query-status is not running"
qmp "$sock" query-cpus-fast | grep -q '"thread-id":[1-9]' || e2e_fail "query-cpus-fast has no vCPU thread id"

# stop: no tick while paused; cont: ticks again.
qmp "$sock" stop > /dev/null || e2e_fail "stop failed"
qmp "$sock" query-status | grep -q '"status":"paused"' || e2e_fail "query-status is not paused after stop"
sleep 0.5
before=$(grep -c '^TICK' "$console")
sleep 2
after=$(grep -c '^TICK' "$console")
[ "$before" -eq "$after" ] || e2e_fail "the guest ticked while stopped ($before -> $after)"
qmp "$sock" cont > /dev/null || e2e_fail "cont failed"
# (console lines end in \r\n: the guest's tty turns \n into \r\n)
wait_for_line "$console" "^TICK ${after}[^0-9]" 20 || { tail -5 "$console"; e2e_fail "the guest did not resume ticking after cont"; }
echo "stop/cont: paused at $before ticks, resumed"

# system_reset: the guest boots again.
qmp "$sock" system_reset > /dev/null || e2e_fail "system_reset failed"
n=0
for _ in $(seq 1 120); do
	n=$(grep -c '^L2_BOOT_OK' "$console")
	[ "$n" -ge 2 ] && break
	sleep 1
done
[ "$n" -ge 2 ] || { tail -20 "$console"; e2e_fail "no second L2_BOOT_OK after system_reset"; }
ticked_after_reset=0
for _ in $(seq 1 60); do
	if awk '/^L2_BOOT_OK/ { n++ } n >= 2 && /^TICK 3[^0-9]/ { f = 1 } END { exit !f }' "$console"; then
		ticked_after_reset=1
		break
	fi
	sleep 1
done
[ "$ticked_after_reset" = 1 ] || { tail -5 "$console"; e2e_fail "the guest did not tick after the reset"; }
echo "system_reset: the guest booted again"

# system_powerdown: ACPI power button, the guest powers off (S5), the VMM exits 0.
qmp "$sock" system_powerdown > /dev/null || e2e_fail "system_powerdown failed"
for _ in $(seq 1 90); do kill -0 "$vmm" 2>/dev/null || break; sleep 1; done
if kill -0 "$vmm" 2>/dev/null; then
	kill "$vmm"; tail -20 "$console"; e2e_fail "the guest did not power off after system_powerdown"
fi
wait "$vmm"; rc=$?
[ "$rc" -eq 0 ] || e2e_fail "vireo-vmm exited $rc after the guest powered off"
wait "$waiter" || e2e_fail "no SHUTDOWN event: $(cat "$events.shutdown")"
grep -q '"event":"SHUTDOWN"' "$events.shutdown" || e2e_fail "no SHUTDOWN event: $(cat "$events.shutdown")"
grep -q '"guest":true' "$events.shutdown" || e2e_fail "SHUTDOWN does not say guest: true"
echo "system_powerdown: the guest powered off, SHUTDOWN event: $(cat "$events.shutdown")"
rm -rf "$d"
