# e2e check: vireod with the real vireo-vmm and the L2 guest: vireo define/start, the guest's
# console through `vireo console` (L2_BOOT_OK, ticks), read-only virtio disks and virtio-rng, the
# guest agent channel (qemu-ga in L2 answers `vireo qemu-agent-command`), suspend/resume, kill -9
# of vireod and re-adoption of the running guest, ACPI shutdown to "shut off (shutdown)", then
# start + destroy.
# e2e-timeout: 400
. "$VIREO_TESTS/e2e/lib.sh"
need_kvm
. "$VIREO_TESTS/e2e/daemon-lib.sh"
vireod_setup 130
# On a failure: the daemon's and the VMM's logs, then the reason as the last line.
die() {
	echo "--- vireod.log"; tail -20 "$root/vireod.log"
	echo "--- VMM log"; tail -20 "$root/var/log/vireo/l2.log" 2>/dev/null
	echo "--- console"; tail -20 "$root/console" 2>/dev/null
	e2e_fail "$@"
}
cleanup() {
	"$vireo" destroy l2 >/dev/null 2>&1
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	[ -n "${cpid:-}" ] && kill "$cpid" 2>/dev/null
}
trap cleanup EXIT
state() { "$vireo" domstate --reason l2 | head -1; }
wait_state() {
	for _ in $(seq "$2"); do [ "$(state)" = "$1" ] && return 0; sleep 1; done
	die "state is '$(state)', wanted '$1'"
}

# The guest shows the disks and the rng vireod passed through, then ticks. vda is the L2 disk
# (l2-init mounts it and starts its qemu-ga on the org.qemu.guest_agent.0 port: l2.qga=1).
truncate -s 16M "$root/data.img"
guest='echo "DISK vdb ro=$(cat /sys/block/vdb/ro) size=$(cat /sys/block/vdb/size)"
echo "RNG_CURRENT $(cat /sys/class/misc/hw_random/rng_current)"
i=0; while [ $i -lt 100000 ]; do echo "TICK $i"; i=$((i+1)); sleep 0.2; done'
cat >"$root/l2.xml" <<XML
<domain type='kvm'>
  <name>l2</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$L2_KERNEL</kernel>
    <initrd>$L2_INITRD</initrd>
    <cmdline>$L2_BASE_APPEND l2.qga=1 $(l2_cmd_arg "$guest")</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$L2_DISK'/>
      <target dev='vda' bus='virtio'/>
      <readonly/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$root/data.img'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>
    <channel type='unix'>
      <source mode='bind'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
</domain>
XML
start_vireod
"$vireo" define "$root/l2.xml" || die "define failed"
t0=$(ms_now)
"$vireo" start l2 || { cat "$root/var/log/vireo/l2.log"; die "start failed"; }
"$vireo" console --read-only l2 < <(sleep 600) > "$root/console" 2>&1 &
cpid=$!
wait_for_line "$root/console" '^L2_BOOT_OK' 120 || { tail -20 "$root/console"; die "no L2_BOOT_OK on vireo console"; }
echo "E2E_METRIC daemon_start_to_boot_ok=$(( $(ms_now) - t0 )) ms"
wait_for_line "$root/console" '^TICK 3[^0-9]' 60 || die "the guest does not tick"
grep -q '^DISK vdb ro=1 size=32768' "$root/console" || die "the guest does not see the read-only 16 MiB vdb: $(grep -a '^DISK' "$root/console")"
grep -q '^RNG_CURRENT virtio_rng' "$root/console" || die "the guest's hw_random is not virtio_rng: $(grep -a RNG_CURRENT "$root/console")"
"$vireo" list | grep -q ' l2 *running' || die "vireo list does not show l2 running"
"$vireo" dominfo l2
# The guest read its disk's size and partition table: domstats has vda's read counters from QMP.
"$vireo" domstats l2 --json > "$root/stats.json"
grep -q '"name": *"vda"' "$root/stats.json" && grep -Eq '"rd_reqs": *[1-9]' "$root/stats.json" ||
	die "domstats lacks vda's read counters: $(cat "$root/stats.json")"

# The guest agent: vireod picked the channel's socket, the live XML shows it, and qemu-ga in L2
# answers guest-ping through vireod's guest-sync handshake.
grep -q '^L2_QGA_OK' "$root/console" || die "qemu-ga did not start in L2: $(grep -a 'L2_QGA\|l2-init' "$root/console")"
"$vireo" dumpxml l2 | grep -q "<source mode='bind' path='$root/run/vireo/domains/l2.chan.org.qemu.guest_agent.0'/>" ||
	die "the live XML does not show the agent channel's path: $("$vireo" dumpxml l2 | grep -A2 '<channel')"
t1=$(ms_now)
ping=$("$vireo" qemu-agent-command l2 '{"execute":"guest-ping"}' --timeout 45 2>&1)
[ "$ping" = '{"return":{}}' ] || die "qemu-agent-command guest-ping answered: $ping"
echo "E2E_METRIC daemon_agent_guest_ping_ms=$(( $(ms_now) - t1 )) ms"
info=$("$vireo" qemu-agent-command l2 '{"execute":"guest-info"}' --timeout 45 2>&1)
grep -q '"version"' <<<"$info" || die "qemu-agent-command guest-info answered: $info"
echo "qemu-ga in L2 answers through vireod: $ping, guest-info $(grep -o '"version":"[^"]*"' <<<"$info")"
# These wait the default 5 s for the agent: a loaded lab gets three tries.
retry3() { "$@" || "$@" || "$@"; }
retry3 "$vireo" domifaddr l2 --source agent > "$root/ifaddr" 2>&1 || die "domifaddr --source agent: $(cat "$root/ifaddr")"
grep -q '^ lo  ' "$root/ifaddr" || die "domifaddr does not list the guest's lo: $(cat "$root/ifaddr")"
retry3 "$vireo" guestinfo l2 --hostname --os > "$root/guestinfo" 2>&1 || die "guestinfo: $(cat "$root/guestinfo")"
grep -q '^hostname  *: ' "$root/guestinfo" && grep -q '^os.kernel-release  *: ' "$root/guestinfo" ||
	die "guestinfo lacks the host name or kernel: $(cat "$root/guestinfo")"
cat "$root/ifaddr" "$root/guestinfo"

"$vireo" suspend l2 >/dev/null && wait_state "paused (user)" 10
sleep 0.5; before=$(grep -c '^TICK' "$root/console"); sleep 2; after=$(grep -c '^TICK' "$root/console")
[ "$before" -eq "$after" ] || die "the guest ticked while suspended ($before -> $after)"
"$vireo" resume l2 >/dev/null && wait_state "running (unpaused)" 10
wait_for_line "$root/console" "^TICK $((after + 2))[^0-9]" 30 || die "no ticks after resume"

# vireod dies; the guest does not; the next vireod re-adopts it.
pid=$(cat "$root/run/vireo/domains/l2.pid")
kill -9 "$dpid"; wait "$dpid" 2>/dev/null; dpid=
kill -0 "$pid" || die "the VMM died with vireod"
start_vireod
wait_state "running (booted)" 10
"$vireo" suspend l2 >/dev/null && "$vireo" resume l2 >/dev/null || die "re-adopted guest not controllable"
ping=$("$vireo" qemu-agent-command l2 '{"execute":"guest-ping"}' --timeout 45 2>&1)
[ "$ping" = '{"return":{}}' ] || die "guest-ping after re-adoption answered: $ping"
echo "re-adopted VMM $pid after kill -9 of vireod"

# ACPI shutdown: the guest powers off, the VMM exits, state shut off (shutdown).
"$vireo" shutdown l2 >/dev/null || die "shutdown failed"
wait_state "shut off (shutdown)" 60
kill -0 "$pid" 2>/dev/null && ! grep -q ' Z ' "/proc/$pid/stat" 2>/dev/null && die "VMM $pid still runs"

"$vireo" start l2 >/dev/null || die "second start failed"
"$vireo" destroy l2 >/dev/null && wait_state "shut off (destroyed)" 10
echo "vireo define/start/console/qemu-agent-command/suspend/resume/re-adopt/shutdown/destroy of a real L2 guest: ok"
