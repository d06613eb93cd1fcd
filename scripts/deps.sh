#!/usr/bin/env bash
# Install the Debian packages vireo needs to build, test and run its lab.
# Idempotent: installs only what is missing and prints what it installs.
set -euo pipefail

packages=(
	# build
	gcc clang make meson ninja-build pkg-config
	libcmocka-dev libjson-c-dev libxml2-dev libglib2.0-dev libsoup-3.0-dev
	liburing-dev libseccomp-dev libnl-3-dev libnl-route-3-dev zlib1g-dev libzstd-dev
	libclang-rt-14-dev binutils
	# vireo-vmm: decompressing a bzImage's kernel for the PVH entry, hashing it for the cache
	liblz4-dev liblzma-dev libxxhash-dev
	# peers and tools used by tests and benchmarks
	qemu-system-x86 qemu-utils libvirt-clients
	libvirt-daemon libvirt-daemon-driver-qemu curl python3-yaml
	# lab images
	busybox-static cpio xz-utils kmod e2fsprogs
	# ACPI: iasl disassembles the generated tables in unit tests
	acpica-tools
	# misc test tools
	iproute2 procps psmisc util-linux file python3
	# virtual networks of vireod: one dnsmasq per network, NAT rules in nftables
	dnsmasq-base nftables
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "deps: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${#missing[@]} packages"
