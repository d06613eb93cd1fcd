# e2e check: vireod's virtual networks with real L2 guests under vireo-vmm (L1 is the host, a
# network namespace in L1 stands for the outside): two guests on the default network get their
# DHCP leases from dnsmasq, ping each other and reach the outside through NAT, while the outside
# cannot reach them; a guest on an isolated network has no way out, and its second interface on a
# host bridge works; kill -9 of vireod and a restart keep dnsmasq and the guests connected;
# net-destroy removes the bridge, the nftables table and dnsmasq.
# e2e-timeout: 420
. "$VIREO_TESTS/e2e/lib.sh"
need_kvm
. "$VIREO_TESTS/e2e/daemon-lib.sh"
# Outside the lab's L1 (a host with hardware KVM) the host's own networking stays untouched: the
# whole check runs in a network namespace of its own.
if [ ! -e /lab/l2 ] && [ -z "${E2E_150_NETNS:-}" ]; then
	E2E_150_NETNS=1 exec unshare -n bash "$0" "$@"
fi
ip link set lo up
for b in dnsmasq nft; do
	command -v "$b" >/dev/null || e2e_skip "no $b in L1 (tests/e2e/run packs it with --bin)"
done
ip netns help 2>&1 | grep -q 'ip netns' || e2e_skip "no iproute2 ip in L1 (busybox ip has no netns)"
for m in tun bridge veth nf_tables nft_chain_nat nft_nat nft_masq nft_ct nft_reject_ipv4; do
	modprobe "$m" 2>/dev/null
done
mkdir -p /dev/net
[ -e /dev/net/tun ] || mknod /dev/net/tun c 10 200
vireod_setup 150
cpids=()
die() {
	echo "--- vireod.log"; tail -20 "$root/vireod.log"
	for g in a b c a2; do echo "--- console $g"; tail -8 "$root/$g.console" 2>/dev/null; done
	e2e_fail "$@"
}
cleanup() {
	for g in a b c; do "$vireo" destroy "$g" >/dev/null 2>&1; done
	for p in ${cpids[@]+"${cpids[@]}"} $dpid; do kill "$p" 2>/dev/null; done
	for f in "$root"/run/vireo/networks/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	for t in $(nft list tables 2>/dev/null | awk '/vireo_/ {print $3}'); do nft delete table ip "$t"; done
	ip netns del out150 2>/dev/null
	for l in out150a hostbr150 virbr0 vireobr0; do ip link del "$l" 2>/dev/null; done
}
trap cleanup EXIT

# The outside: 10.99.0.2 in namespace out150, no route to any vireo network.
ip netns add out150 || e2e_skip "cannot create a network namespace here"
ip link add out150a type veth peer name eth0 netns out150 || die "no veth"
ip addr add 10.99.0.1/24 dev out150a && ip link set out150a up
ip -n out150 addr add 10.99.0.2/24 dev eth0 && ip -n out150 link set eth0 up && ip -n out150 link set lo up
# A host bridge made outside vireo.
ip link add hostbr150 type bridge && ip addr add 10.88.0.1/24 dev hostbr150 && ip link set hostbr150 up ||
	die "no host bridge"

start_vireod
# `default` exists from vireod's first start; give the two guests fixed addresses in it.
"$vireo" net-dumpxml default > "$root/default.xml" || die "no default network"
sed -i "s|</dhcp>|<host mac='52:54:00:15:00:01' ip='192.168.122.10'/><host mac='52:54:00:15:00:02' ip='192.168.122.11'/></dhcp>|" \
	"$root/default.xml"
"$vireo" net-define "$root/default.xml" >/dev/null || die "cannot redefine default"
cat > "$root/iso.xml" <<XML
<network>
  <name>iso</name>
  <ip address='10.50.0.1' prefix='24'>
    <dhcp><range start='10.50.0.10' end='10.50.0.20'/></dhcp>
  </ip>
</network>
XML
"$vireo" net-define "$root/iso.xml" >/dev/null || die "cannot define iso"
"$vireo" net-start default >/dev/null && "$vireo" net-start iso >/dev/null || die "net-start failed"
"$vireo" net-list
br=$("$vireo" net-info default | awk '/^Bridge:/ {print $2}')
nft list table ip vireo_default >/dev/null || die "no nftables table for default"
dns=$(cat "$root/run/vireo/networks/default.pid")

# Guests: DHCP on eth0 with udhcpc, then one line a second of what answers.
hook='printf "#!/bin/sh\n[ \"\$1\" = bound ] && ip addr add \$ip/\$mask dev \$interface && ip route add default via \$router\nexit 0\n" > /tmp/u; chmod +x /tmp/u
ip link set eth0 up; udhcpc -i eth0 -q -n -t 30 -T 1 -s /tmp/u > /dev/null 2>&1
echo "NET_ADDR $(ip addr show eth0 | grep -o "inet [0-9./]*")"'
pinger() { # name peer
	printf '%s\n%s\n' "$hook" "i=0; while [ \$i -lt 9999 ]; do p=0; o=0
ping -c 1 -W 1 $2 > /dev/null 2>&1 && p=1; ping -c 1 -W 1 10.99.0.2 > /dev/null 2>&1 && o=1
echo \"NET_PING \$i peer=\$p out=\$o\"; i=\$((i+1)); sleep 1; done"
}
iso_guest() {
	printf '%s\n%s\n' "$hook" "ip addr add 10.88.0.2/24 dev eth1; ip link set eth1 up
i=0; while [ \$i -lt 9999 ]; do g=0; o=0; b=0
ping -c 1 -W 1 10.50.0.1 > /dev/null 2>&1 && g=1; ping -c 1 -W 1 10.99.0.2 > /dev/null 2>&1 && o=1
ping -c 1 -W 1 10.88.0.1 > /dev/null 2>&1 && b=1
echo \"NET_ISO \$i gw=\$g out=\$o br=\$b\"; i=\$((i+1)); sleep 1; done"
}
domain() { # name cmd interfaces-xml
	cat > "$root/$1.xml" <<XML
<domain type='kvm'>
  <name>$1</name>
  <memory unit='MiB'>160</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$L2_KERNEL</kernel><initrd>$L2_INITRD</initrd>
    <cmdline>$L2_BASE_APPEND $(l2_cmd_arg "$2")</cmdline></os>
  <devices>$3</devices>
  <on_poweroff>destroy</on_poweroff>
</domain>
XML
	"$vireo" define "$root/$1.xml" >/dev/null || die "cannot define $1"
}
nic() { # type source mac
	echo "<interface type='$1'><mac address='$3'/><source $1='$2'/><model type='virtio'/></interface>"
}
domain a "$(pinger a 192.168.122.11)" "$(nic network default 52:54:00:15:00:01)"
domain b "$(pinger b 192.168.122.10)" "$(nic network default 52:54:00:15:00:02)"
domain c "$(iso_guest)" "$(nic network iso 52:54:00:15:00:03)$(nic bridge hostbr150 52:54:00:15:00:04)"
t0=$(ms_now)
# One guest boots at a time (see 122: L2 guests booting at once in the nested lab corrupt memory).
for g in a b c; do
	"$vireo" start "$g" >/dev/null || die "start of $g failed: $(tail -3 "$root/var/log/vireo/$g.log")"
	"$vireo" console --read-only "$g" < <(sleep 600) > "$root/$g.console" 2>&1 &
	cpids+=($!)
	wait_for_line "$root/$g.console" '^L2_BOOT_OK' 120 > /dev/null
done
ip -o link show master "$br" | grep -c vnet | grep -q 2 || die "the taps of a and b are not on $br"
wait_for_line "$root/a.console" '^NET_ADDR' 150 && wait_for_line "$root/b.console" '^NET_ADDR' 60 ||
	die "no DHCP lease"
echo "E2E_METRIC net_start_to_both_leases=$(( $(ms_now) - t0 )) ms"
grep -q '^NET_ADDR inet 192.168.122.10/24' "$root/a.console" &&
	grep -q '^NET_ADDR inet 192.168.122.11/24' "$root/b.console" || die "not the reserved addresses"
"$vireo" net-dhcp-leases default | tee "$root/leases"
grep -q '52:54:00:15:00:01 *ipv4 *192.168.122.10/24' "$root/leases" &&
	grep -q '52:54:00:15:00:02 *ipv4 *192.168.122.11/24' "$root/leases" || die "net-dhcp-leases lacks a guest"
wait_for_line "$root/a.console" '^NET_PING [0-9]+ peer=1 out=1' 90 &&
	wait_for_line "$root/b.console" '^NET_PING [0-9]+ peer=1 out=1' 60 ||
	die "guests on default do not reach each other and the outside"
# The outside cannot open a way in, even with a route to the guests.
ip -n out150 route add 192.168.122.0/24 via 10.99.0.1
ip netns exec out150 ping -c 2 -W 1 192.168.122.10 >/dev/null 2>&1 && die "the outside reached guest a"
wait_for_line "$root/c.console" '^NET_ISO [0-9]+ gw=1 out=0 br=1' 120 ||
	die "isolated guest: $(grep '^NET_ISO' "$root/c.console" | tail -1)"
grep -q '^NET_ISO [0-9]* gw=[01] out=1' "$root/c.console" && die "the isolated guest reached the outside"

# kill -9 vireod: dnsmasq and the guests' links stay; the next vireod re-adopts the networks.
kill -9 "$dpid"; wait "$dpid" 2>/dev/null; dpid=
start_vireod
[ "$(cat "$root/run/vireo/networks/default.pid")" = "$dns" ] && kill -0 "$dns" || die "dnsmasq was replaced"
"$vireo" net-list | grep -q ' default *active' || die "default not re-adopted"
# The console readers went with the old vireod: a new one (it replays the scrollback first).
"$vireo" console --read-only a < <(sleep 600) > "$root/a2.console" 2>&1 &
cpids+=($!)
wait_for_line "$root/a2.console" '^NET_PING' 20 || die "no console for a after the restart"
sleep 1
now=$(grep '^NET_PING' "$root/a2.console" | tail -1 | cut -d' ' -f2)
wait_for_line "$root/a2.console" "^NET_PING $((now + 2)) peer=1 out=1" 60 || die "guest a lost its links after the restart"

# net-destroy takes the bridge, the table and dnsmasq away.
for g in a b c; do "$vireo" destroy "$g" >/dev/null || die "destroy $g failed"; done
"$vireo" net-destroy default >/dev/null && "$vireo" net-destroy iso >/dev/null || die "net-destroy failed"
ip link show "$br" >/dev/null 2>&1 && die "bridge $br left after net-destroy"
nft list table ip vireo_default >/dev/null 2>&1 && die "table vireo_default left after net-destroy"
sleep 0.5
kill -0 "$dns" 2>/dev/null && die "dnsmasq $dns left after net-destroy"
echo "default (NAT, DHCP from dnsmasq), isolated and host-bridge networks with three L2 guests, kill -9 + restart of vireod, net-destroy: ok"
