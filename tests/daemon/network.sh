# Virtual network tests, sourced by tests/daemon/run (t_net_* functions). The
# host's own namespace is never touched: each test moves its vireod into a fresh
# named network namespace ("host"), plugs veth "guests" running busybox udhcpc
# into the network's bridge from namespaces of their own, and has one more
# namespace stand for the outside world (reachable only through NAT).

NET_NS=()   # namespaces made by the running test

net_ns_new() {  # var-name: a new namespace with lo up
	local _name="vnt-$$-${#NET_NS[@]}-$RANDOM"
	ip netns add "$_name" || return 1
	NET_NS+=("$_name")
	ip -n "$_name" link set lo up
	printf -v "$1" '%s' "$_name"
}

# Restart vireod inside namespace $NSH (the test's "host").
net_daemon_start() {
	ip netns exec "$NSH" "$VIREOD" --root "$ROOT" --vmm "${VMM:-$FAKE}" >>"$ROOT/vireod.log" 2>&1 &
	DPID=$!
	for _ in $(seq 200); do
		[ -S "$ROOT/run/vireo/vireo-ro.sock" ] && $VIREO version >/dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || { log "vireod exited: $(tail -3 "$ROOT/vireod.log")"; return 1; }
		sleep 0.02
	done
	log "vireod did not come up"
	return 1
}

net_setup() {
	for b in ip nft dnsmasq busybox; do
		command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || { log "$b is missing (scripts/deps.sh)"; return 1; }
	done
	stop_daemon
	net_ns_new NSH && net_daemon_start
}

net_cleanup() {
	stop_daemon KILL
	for p in "$ROOT"/run/vireo/networks/*.pid "$ROOT"/run/vireo/domains/*.pid "$ROOT"/udhcpc-*.pid; do
		[ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null
	done
	for ns in "${NET_NS[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	NET_NS=()
}

# A "guest": namespace $2 with a veth whose peer is on bridge $1 in $NSH;
# udhcpc configures its address and default route. Prints nothing; 1 on no lease.
net_guest() {  # bridge ns-var mac
	local ns
	net_ns_new ns || return 1
	printf -v "$2" '%s' "$ns"
	local peer="g${#NET_NS[@]}$RANDOM"
	peer=${peer:0:12}
	ip -n "$NSH" link add "$peer" type veth peer name eth0 netns "$ns" || return 1
	ip -n "$ns" link set eth0 address "$3" up
	ip -n "$NSH" link set "$peer" master "$1" up || return 1
	cat >"$ROOT/udhcpc.sh" <<'SH'
#!/bin/sh
# udhcpc's hook: apply the lease it got
case "$1" in
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/$mask" dev "$interface"
	[ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
	;;
esac
exit 0
SH
	chmod +x "$ROOT/udhcpc.sh"
	ip netns exec "$ns" busybox udhcpc -i eth0 -n -q -t 10 -T 1 -x hostname:"$ns" \
		-s "$ROOT/udhcpc.sh" >"$ROOT/udhcpc-$ns.log" 2>&1 || { log "no lease: $(tail -3 "$ROOT/udhcpc-$ns.log")"; return 1; }
}

# The outside world: namespace $NSO linked to $NSH by 10.99.0.0/24, with no
# route back to any vireo network (only NAT gets replies to a guest).
net_outside() {
	net_ns_new NSO || return 1
	ip -n "$NSH" link add up0 type veth peer name eth0 netns "$NSO" || return 1
	ip -n "$NSH" addr add 10.99.0.1/24 dev up0 && ip -n "$NSH" link set up0 up
	ip -n "$NSO" addr add 10.99.0.2/24 dev eth0 && ip -n "$NSO" link set eth0 up
}

net_ping() {  # ns address
	ip netns exec "$1" busybox ping -c 1 -W 2 "$2" >/dev/null 2>&1
}

t_net_default_nat_dhcp_leases_and_destroy() {
	net_setup && net_default_body
	local rc=$?
	net_cleanup
	return $rc
}

net_default_body() {
	local out g1 g2 ip1 ip2
	# defined on first start, inactive under --root
	out=$($VIREO net-list --all) || return 1
	grep -Eq "^ default +inactive +no +yes$" <<<"$out" || { log "$out"; return 1; }
	$VIREO net-dumpxml default >"$ROOT/def.xml" && virt-xml-validate "$ROOT/def.xml" network >/dev/null 2>&1 ||
		{ log "default's XML does not validate: $(cat "$ROOT/def.xml")"; return 1; }
	$VIREO net-start default | grep -q "^Network default started" || return 1
	local br; br=$($VIREO net-info default | awk '/^Bridge:/ {print $2}')
	[ -n "$br" ] && ip -n "$NSH" -br addr show dev "$br" | grep -q "192.168.122.1/24" || { log "bridge '$br'"; return 1; }
	ip netns exec "$NSH" nft list table ip vireo_default >/dev/null || { log "no nft table"; return 1; }
	local dpid; dpid=$(cat "$ROOT/run/vireo/networks/default.pid")
	grep -q dnsmasq "/proc/$dpid/cmdline" || { log "no dnsmasq"; return 1; }
	net_outside || return 1
	net_guest "$br" g1 52:54:00:10:00:01 && net_guest "$br" g2 52:54:00:10:00:02 || return 1
	ip1=$(ip -n "$g1" -4 -br addr show eth0 | awk '{print $3}')
	ip2=$(ip -n "$g2" -4 -br addr show eth0 | awk '{print $3}')
	[[ $ip1 == 192.168.122.*/24 && $ip2 == 192.168.122.*/24 ]] || { log "addresses '$ip1' '$ip2'"; return 1; }
	# the leases as virsh shows them
	out=$($VIREO net-dhcp-leases default) || return 1
	grep -Eq "52:54:00:10:00:01 +ipv4 +${ip1%/*}/24 +$g1" <<<"$out" &&
		grep -Eq "52:54:00:10:00:02 +ipv4 +${ip2%/*}/24" <<<"$out" || { log "$out"; return 1; }
	out=$($VIREO net-dhcp-leases default --mac 52:54:00:10:00:02)
	[ "$(grep -c 52:54:00 <<<"$out")" = 1 ] || { log "--mac: $out"; return 1; }
	# guests reach each other, the host, and the outside only through NAT
	net_ping "$g1" "${ip2%/*}" && net_ping "$g2" 192.168.122.1 || { log "no ping on the bridge"; return 1; }
	net_ping "$g1" 10.99.0.2 || { log "no NAT to the outside"; return 1; }
	# even with a route to the guests, the outside cannot open a connection to them
	ip -n "$NSO" route add 192.168.122.0/24 via 10.99.0.1 || return 1
	net_ping "$NSO" "${ip1%/*}" && { log "the outside reached a guest"; return 1; }
	# kill -9 vireod, restart: the same dnsmasq and bridge, guests still connected
	stop_daemon KILL
	net_daemon_start || return 1
	[ "$(cat "$ROOT/run/vireo/networks/default.pid")" = "$dpid" ] && kill -0 "$dpid" || { log "dnsmasq replaced"; return 1; }
	$VIREO net-list | grep -Eq "^ default +active" || { log "not re-adopted"; return 1; }
	net_ping "$g1" 10.99.0.2 || { log "NAT gone after restart"; return 1; }
	# undefine refuses an active network; destroy removes bridge, table and dnsmasq
	out=$($VIREO net-undefine default 2>&1) && { log "undefined an active network"; return 1; }
	grep -q "is active" <<<"$out" || { log "$out"; return 1; }
	$VIREO net-destroy default | grep -q "^Network default destroyed" || return 1
	ip -n "$NSH" link show "$br" >/dev/null 2>&1 && { log "bridge left"; return 1; }
	ip netns exec "$NSH" nft list table ip vireo_default >/dev/null 2>&1 && { log "table left"; return 1; }
	for _ in $(seq 20); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$dpid" 2>/dev/null && { log "dnsmasq left"; return 1; }
	$VIREO net-undefine default | grep -q "^Network default has been undefined" || return 1
	$VIREO net-list --all | grep -q default && { log "still listed"; return 1; }
	return 0
}

t_net_isolated_has_no_way_out_and_overlap_is_refused() {
	net_setup && net_isolated_body
	local rc=$?
	net_cleanup
	return $rc
}

net_isolated_body() {
	local g out
	cat >"$ROOT/iso.xml" <<XML
<network>
  <name>iso</name>
  <bridge name='vtiso0'/>
  <ip address='10.50.0.1' prefix='24'>
    <dhcp><range start='10.50.0.10' end='10.50.0.20'/></dhcp>
  </ip>
</network>
XML
	$VIREO net-define "$ROOT/iso.xml" | grep -q "^Network iso defined from" || return 1
	$VIREO net-autostart iso | grep -q "marked as autostarted" || return 1
	$VIREO net-start iso >/dev/null || return 1
	net_outside && net_guest vtiso0 g 52:54:00:20:00:01 || return 1
	# forwarding on and a route back from the outside: only vireo's table stops the guest
	ip netns exec "$NSH" sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip -n "$NSO" route add 10.50.0.0/24 via 10.99.0.1 || return 1
	net_ping "$g" 10.50.0.1 || { log "no ping to the host"; return 1; }
	net_ping "$g" 10.99.0.2 && { log "isolated guest reached the outside"; return 1; }
	# a subnet the host already routes elsewhere is refused, naming the route
	cat >"$ROOT/clash.xml" <<XML
<network>
  <name>clash</name>
  <forward mode='nat'/>
  <ip address='10.99.0.200' prefix='24'/>
</network>
XML
	$VIREO net-define "$ROOT/clash.xml" >/dev/null || return 1
	out=$($VIREO net-start clash 2>&1) && { log "overlapping network started"; return 1; }
	grep -q "overlaps the host route 10.99.0.0/24 dev up0" <<<"$out" || { log "$out"; return 1; }
	$VIREO net-list --all | grep -Eq "^ clash +inactive" || return 1
	# bad XML is refused naming the problem and keeps the old definition
	sed 's/10.50.0.20/10.51.0.20/' "$ROOT/iso.xml" >"$ROOT/iso-bad.xml"
	out=$($VIREO net-define "$ROOT/iso-bad.xml" 2>&1) && { log "bad range accepted"; return 1; }
	grep -q "DHCP range end 10.51.0.20 is not a host address" <<<"$out" || { log "$out"; return 1; }
	$VIREO net-dumpxml --inactive iso | grep -q "end='10.50.0.20'" || return 1
	# one bridge, one network
	sed 's/<name>iso</<name>iso2</; s/10\.50\./10.60./g' "$ROOT/iso.xml" >"$ROOT/iso2.xml"
	out=$($VIREO net-define "$ROOT/iso2.xml" 2>&1) && { log "second network on vtiso0 accepted"; return 1; }
	grep -q "bridge vtiso0 is already used by another network" <<<"$out" || { log "$out"; return 1; }
	# autostart brings it back with the next vireod (after a destroy)
	$VIREO net-destroy iso >/dev/null && stop_daemon && net_daemon_start || return 1
	$VIREO net-info iso | grep -Eq "^Active: +yes" || { log "no autostart"; return 1; }
	$VIREO net-autostart iso --disable | grep -q "unmarked as autostarted" || return 1
}

t_net_domain_interfaces_get_taps_on_the_bridge() {
	net_setup && net_domain_body
	local rc=$?
	net_cleanup
	return $rc
}

net_domain_body() {
	local out cmd br
	define n1 "<devices><interface type='network'><mac address='52:54:00:30:00:01'/><source network='default'/><model type='virtio'/></interface></devices>" || return 1
	out=$($VIREO start n1 2>&1) && { log "started on an inactive network"; return 1; }
	grep -q "network 'default' is not active" <<<"$out" || { log "$out"; return 1; }
	define n2 "<devices><interface type='network'><source network='nosuch'/><model type='virtio'/></interface></devices>" || return 1
	out=$($VIREO start n2 2>&1) && { log "started on a missing network"; return 1; }
	grep -q "network 'nosuch' does not exist" <<<"$out" || { log "$out"; return 1; }
	$VIREO net-start default >/dev/null || return 1
	br=$($VIREO net-info default | awk '/^Bridge:/ {print $2}')
	$VIREO start n1 >/dev/null || return 1
	cmd=$(tr '\0' ' ' <"/proc/$(vmm_pid n1)/cmdline")
	grep -qF -- "--net fd=3,mac=52:54:00:30:00:01" <<<"$cmd" || { log "$cmd"; return 1; }
	# the VMM holds the tap: it is on the bridge with the guest's MAC behind fe:
	out=$(ip -n "$NSH" -o link show master "$br")
	grep -q "vnet0" <<<"$out" && grep -q "fe:54:00:30:00:01" <<<"$out" || { log "$out"; return 1; }
	$VIREO dumpxml n1 | grep -q "<target dev='vnet0'/>" || return 1
	# net-destroy unplugs the running guest's tap; net-start plugs it back
	$VIREO net-destroy default >/dev/null && $VIREO net-start default >/dev/null || return 1
	ip -n "$NSH" -o link show master "$br" | grep -q vnet0 || { log "vnet0 not back on $br"; return 1; }
	# a host bridge made outside vireo
	ip -n "$NSH" link add hostbr0 type bridge && ip -n "$NSH" link set hostbr0 up || return 1
	define n3 "<devices><interface type='bridge'><source bridge='hostbr0'/><model type='virtio'/></interface></devices>" || return 1
	$VIREO start n3 >/dev/null || return 1
	ip -n "$NSH" -o link show master hostbr0 | grep -q vnet1 || { log "no tap on hostbr0"; return 1; }
	define n4 "<devices><interface type='bridge'><source bridge='nobr9'/><model type='virtio'/></interface></devices>" || return 1
	out=$($VIREO start n4 2>&1) && { log "started on a missing bridge"; return 1; }
	grep -q "bridge 'nobr9' is not a bridge" <<<"$out" || { log "$out"; return 1; }
	# the tap goes with the VMM
	$VIREO destroy n1 >/dev/null || return 1
	for _ in $(seq 50); do ip -n "$NSH" link show vnet0 >/dev/null 2>&1 || return 0; sleep 0.1; done
	log "tap vnet0 outlived its VMM"
	return 1
}
