#!/usr/bin/env bash
# The vireod step of `make demo`: a vireod under a temporary --root, the demo domain
# (examples/demo-domain.xml, written out here so the script also runs inside the lab's L1),
# vireo define/start, `vireo list`, `vireo dominfo`, the guest's console, then `vireo shutdown`.
# Usage: tests/daemon/demo.sh KERNEL INITRD   (VIREO_BUILD: the build dir; needs a usable KVM)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${VIREO_BUILD:-$(cd "$here/../.." && pwd)/build}
kernel=${1:?usage: demo.sh KERNEL INITRD}
initrd=${2:?usage: demo.sh KERNEL INITRD}
vireo=$build/src/cli/vireo
root=$(mktemp -d /tmp/vireo-demo.XXXXXX)
export VIREO_ROOT=$root
dpid= cpid=
finish() {
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null
	"$vireo" destroy demo >/dev/null 2>&1 || true
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$root"
}
trap finish EXIT
run() { echo "\$ $*"; "$@"; }

echo "demo: vireod --root $root"
"$build/src/daemon/vireod" --root "$root" --vmm "$build/src/vmm/main/vireo-vmm" 2>"$root/vireod.log" &
dpid=$!
for _ in $(seq 100); do "$vireo" version >/dev/null 2>&1 && break; sleep 0.1; done

# The guest shows who it is, then waits until the power button.
guest='for c in "uname -a" nproc "free -m"; do echo "~ # $c"; sh -c "$c"; done; echo DEMO_READY; sleep 600'
b64=$(printf '%s\n' "$guest" | base64 | tr -d '\n')
cat >"$root/demo.xml" <<XML
<domain type='kvm'>
  <name>demo</name>
  <title>vireo demo guest</title>
  <memory unit='MiB'>256</memory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$kernel</kernel>
    <initrd>$initrd</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 l2.cmd=$b64</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
</domain>
XML
run "$vireo" define "$root/demo.xml"
run "$vireo" start demo
run "$vireo" list --all
run "$vireo" dominfo demo
echo "\$ $vireo console demo   (read-only here; ^] leaves an interactive one)"
"$vireo" console --read-only demo < <(sleep 600) >"$root/console" 2>&1 &
cpid=$!
for _ in $(seq 240); do grep -q '^DEMO_READY' "$root/console" 2>/dev/null && break; sleep 0.5; done
sleep 1
tr -d '\r' <"$root/console" | grep -v '^DEMO_READY'
kill "$cpid" 2>/dev/null; cpid=
run "$vireo" shutdown demo
for _ in $(seq 60); do
	[ "$("$vireo" domstate demo | head -1)" = "shut off" ] && break
	sleep 0.5
done
run "$vireo" domstate --reason demo
run "$vireo" list --all
