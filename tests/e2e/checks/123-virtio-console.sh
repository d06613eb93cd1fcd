# e2e check: virtio-console with multiport in a real L2 guest under vireo-vmm: hvc0 on a unix socket
# (--console) carries bytes both ways, and a named port (--channel name=org.qemu.guest_agent.0) shows
# up in /sys/class/virtio-ports with its name and carries a line each way through its host socket;
# then, in a second boot, the real qemu-ga in L2 answers guest-ping and guest-file-open through it.
# e2e-timeout: 280
. "$VIREO_TESTS/e2e/lib.sh"
. "$VIREO_TESTS/e2e/vmm-lib.sh"
need_kvm
need_build_file src/vmm/main/vireo-vmm
need_build_file tests/unit/vmm/virtio/vcon-sockcat
"$VIREO_VMM" --help 2>&1 | grep -q -- '--channel' || e2e_skip "vireo-vmm has no --channel option yet"
sc=$VIREO_BUILD/tests/unit/vmm/virtio/vcon-sockcat
dir=$(mktemp -d /tmp/123.XXXXXX)
name=org.qemu.guest_agent.0
guest='for d in /sys/class/virtio-ports/*; do echo "VPORT ${d##*/} name=$(cat $d/name 2> /dev/null)"; done
dev=; for d in /sys/class/virtio-ports/*; do [ "$(cat $d/name 2> /dev/null)" = '"$name"' ] && dev=/dev/${d##*/}; done
echo "AGENT_DEV $dev"
exec 3<> /dev/hvc0
echo HVC_READY >&3
read -r l <&3; echo "HVC_GOT $l"; echo "HVC_ACK $l" >&3
exec 4<> "$dev"
read -r m <&4; echo "PORT_GOT $m"; echo "PONG $m" >&4
sleep 1'
vireo_boot_l2 --timeout 150 --cmd "$guest" -- --console "unix:$dir/hvc.sock" \
	--channel "name=$name,path=$dir/agent.sock" > "$dir/vmm.log" 2>&1 &
vmm=$!
t0=$(ms_now)
"$sc" --retry 60 --timeout 90 --after HVC_READY "$dir/hvc.sock" 'HVCIN-42\n' 'HVC_ACK HVCIN-42' > "$dir/hvc.out" 2>&1
hvc_rc=$?
t1=$(ms_now)
"$sc" --retry 10 --timeout 60 "$dir/agent.sock" 'PING-123\n' 'PONG PING-123' > "$dir/port.out" 2>&1
port_rc=$?
t2=$(ms_now)
wait $vmm; rc=$?
echo "--- console"; cat "$dir/vmm.log"
echo "--- hvc0 socket"; cat "$dir/hvc.out"
echo "--- $name socket"; cat "$dir/port.out"
[ "$rc" -eq 0 ] || e2e_fail "vireo-vmm exited $rc"
grep -q "^VPORT vport[0-9]*p1 name=$name" "$dir/vmm.log" || e2e_fail "no virtio port named $name in the guest"
grep -q '^HVC_GOT HVCIN-42' "$dir/vmm.log" || e2e_fail "hvc0 did not receive the host's line"
[ "$hvc_rc" -eq 0 ] || e2e_fail "the hvc0 socket did not get HVC_ACK back from the guest"
grep -q '^PORT_GOT PING-123' "$dir/vmm.log" || e2e_fail "the named port did not receive the host's line"
[ "$port_rc" -eq 0 ] || e2e_fail "the $name socket did not get PONG back from the guest"

# Part 2: qemu-ga (from the L2 disk, started by l2-init with l2.qga=1) on the named port. The guest
# waits until the agent has created /run/stop at our request.
guest='for i in $(seq 120); do [ -e /run/stop ] && { echo QGA_STOP_SEEN; break; }; sleep 0.5; done'
rm -f "$dir/agent.sock"
vireo_boot_l2 --timeout 120 --append l2.qga=1 --cmd "$guest" -- --disk "path=$L2_DISK,readonly=on" \
	--channel "name=$name,path=$dir/agent.sock" > "$dir/qga.log" 2>&1 &
vmm=$!
t3=$(ms_now)
"$sc" --retry 60 --timeout 60 "$dir/agent.sock" '{"execute":"guest-ping"}\n' '{"return": {}}' > "$dir/ping.out" 2>&1
ping_rc=$?
t4=$(ms_now)
"$sc" --retry 10 --timeout 30 "$dir/agent.sock" \
	'{"execute":"guest-file-open","arguments":{"path":"/run/stop","mode":"w"}}\n' '"return"' > "$dir/open.out" 2>&1
open_rc=$?
wait $vmm; rc=$?
echo "--- qemu-ga boot"; cat "$dir/qga.log"
echo "--- guest-ping"; cat "$dir/ping.out"
echo "--- guest-file-open"; cat "$dir/open.out"
[ "$rc" -eq 0 ] || e2e_fail "vireo-vmm (qemu-ga boot) exited $rc"
grep -q '^L2_QGA_OK' "$dir/qga.log" || e2e_fail "qemu-ga did not start on the named port in L2"
[ "$ping_rc" -eq 0 ] || e2e_fail "no reply to guest-ping from qemu-ga"
[ "$open_rc" -eq 0 ] || e2e_fail "no reply to guest-file-open from qemu-ga"
grep -q '^QGA_STOP_SEEN' "$dir/qga.log" || e2e_fail "the file qemu-ga was asked to create did not appear in L2"
echo "E2E_METRIC virtio_console_qga_ping_ms=$((t4 - t3)) ms (includes boot)"
echo "E2E_METRIC virtio_console_hvc_roundtrip_after_ready_ms=$((t1 - t0)) ms (includes boot)"
echo "E2E_METRIC virtio_console_port_roundtrip_ms=$((t2 - t1)) ms"
echo "hvc0 and the named port $name carry bytes both ways through their host sockets; qemu-ga answers on it"
