# tests/lab/build.sh: the image builders of the lab, sourced by tests/lab/lab (`lab build`).
# Each output is a stage with a stamp holding the hash of its inputs (these scripts, the kernel
# ABI, the host package versions it copies from), so a no-op build costs only the hashing.
# Expects from the caller: $lab_dir (this folder), $out (tests/lab/out), $cache (.cache/lab).

# Modules L1 needs: KVM, 9p for --share, virtio for disks/consoles, and what the VMM tests use
# (VFIO, vhost, tun/tap, bridge, veth, loop, ext4, overlay), and nftables with NAT, conntrack and
# reject for vireod's virtual networks. Their dependency closure is computed.
l1_modules=(kvm_amd 9p 9pnet_virtio virtio_pci virtio_blk virtio_net virtio_console
	vfio_pci vfio_iommu_type1 vhost_net vhost_vsock tun tap bridge veth loop ext4 overlay
	nf_tables nft_chain_nat nft_nat nft_masq nft_ct nft_reject_ipv4)
# Groups that L1's /init loads itself (one list file each); the rest is left to `modprobe`.
declare -A l1_groups=([kvm]="kvm_amd" [disk]="virtio_pci virtio_blk ext4" [share]="9p 9pnet_virtio virtio_pci")
# L2 (cloud kernel): virtio over PCI and MMIO (microvm) and the devices vireo's VMM offers.
l2_modules=(virtio_mmio virtio_pci virtio_blk virtio_net virtio_console virtio_balloon virtio_rng button evdev)
# Programs on the L2 disk, with their shared libraries (closure of ELF NEEDED entries).
l2_disk_programs=(usr/bin/fio usr/bin/iperf3 usr/sbin/qemu-ga)
l2_disk_packages=(fio iperf3 qemu-guest-agent)

say() { echo "lab: $*" >&2; }
die_status=1 # lab run sets 125: its own failures must not look like the command's status
die() { echo "lab: error: $*" >&2; exit "$die_status"; }

hash_of() { # hash_of STRING... -> a short hash of the strings
	printf '%s\n' "$@" | sha256sum | cut -c1-32
}
file_hash() { # file_hash FILE... -> a short hash of the files' contents
	cat "$@" | sha256sum | cut -c1-32
}

# stage NAME HASH FUNCTION [OUTPUT...]: run FUNCTION unless out/stamps/NAME already holds HASH
# and every OUTPUT (relative to out/) exists.
stage() {
	local name=$1 want=$2 fn=$3 t0 o fresh=1; shift 3
	[ "$(cat "$out/stamps/$name" 2>/dev/null)" = "$want" ] || fresh=0
	for o in "$@"; do [ -e "$out/$o" ] || fresh=0; done
	if [ "$fresh" = 1 ]; then return 0; fi
	t0=$(date +%s%N)
	rm -f "$out/stamps/$name"
	"$fn"
	mkdir -p "$out/stamps"
	echo "$want" > "$out/stamps/$name"
	say "built $name in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo none; }

# The kernel ABI: LAB_KABI, else the one linux-image-amd64 depends on. apt-cache is slow
# (~0.6 s), so the answer is kept until apt's package cache changes.
lab_kabi() {
	if [ -n "${LAB_KABI:-}" ]; then echo "$LAB_KABI"; return; fi
	local memo=$out/stamps/kabi pc=/var/cache/apt/pkgcache.bin abi
	if [ -s "$memo" ] && [ ! "$pc" -nt "$memo" ]; then cat "$memo"; return; fi
	abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\(.*\)-amd64$/\1/p' | head -1)
	if [ -z "$abi" ] && [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq >&2 || true
		abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/.*Depends: linux-image-\(.*\)-amd64$/\1/p' | head -1)
	fi
	[ -n "$abi" ] || die "cannot find the kernel ABI (apt-cache depends linux-image-amd64 gave none; run apt-get update or set LAB_KABI=6.1.0-NN)"
	mkdir -p "$out/stamps"
	echo "$abi" > "$memo"
	echo "$abi"
}

# Library packages the L2 programs depend on, transitively (only lib* and zlib1g are followed:
# the programs' other dependencies are scripts and services that the disk does not need).
l2_package_closure() {
	local -A seen=()
	local level=("${l2_disk_packages[@]}") next p
	# One apt-cache call per level of the graph: each call costs ~0.6 s.
	while [ ${#level[@]} -gt 0 ]; do
		for p in "${level[@]}"; do seen[$p]=1; done
		next=()
		for p in $(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
				--no-replaces --no-enhances "${level[@]}" |
				sed -n 's/^ *|\{0,1\}\(Pre\)\{0,1\}Depends: \([^<].*\)$/\2/p' | sort -u); do
			case $p in lib*|zlib1g) [ -z "${seen[$p]:-}" ] && next+=("$p") ;; esac
		done
		level=("${next[@]+"${next[@]}"}")
	done
	printf '%s\n' "${!seen[@]}" | sort
}

build_debs() {
	local debs=$cache/debs list
	mkdir -p "$debs"
	list=$(l2_package_closure)
	[ -n "$list" ] || die "apt-cache found no packages for ${l2_disk_packages[*]} (run apt-get update)"
	# shellcheck disable=SC2086
	(cd "$debs" && apt-get -q -o APT::Sandbox::User=root download \
		"linux-image-$kabi-amd64" "linux-image-$kabi-cloud-amd64" $list >/dev/null) ||
		die "apt-get download failed in $debs"
	echo "$list" > "$out/l2-packages.list"
}

deb_file() { # deb_file PACKAGE -> newest cached .deb of PACKAGE
	local f
	f=$(ls -t "$cache/debs/$1"_*.deb 2>/dev/null | head -1)
	[ -n "$f" ] || die "no cached .deb for $1 in $cache/debs"
	echo "$f"
}

# Strip appended module signatures: the in-guest RSA check costs ~0.3 s under TCG.
strip_module_signatures() {
	python3 - "$@" <<'EOF'
import struct, sys
MAGIC = b"~Module signature appended~\n"
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    if not data.endswith(MAGIC):
        continue
    # struct module_signature (12 bytes) precedes the magic; its last field is the
    # big-endian signature length.
    info = data[-len(MAGIC) - 12:-len(MAGIC)]
    sig_len = struct.unpack(">I", info[8:12])[0]
    end = len(data) - len(MAGIC) - 12 - sig_len
    if end <= 0:
        sys.exit("bad module signature trailer in " + path)
    open(path, "wb").write(data[:end])
EOF
}

# module_order TREE KREL MODULE... -> module paths relative to lib/modules/KREL, in load order
module_order() {
	local tree=$1 krel=$2; shift 2
	local m
	for m in "$@"; do
		modprobe -d "$tree" -S "$krel" --show-depends "$m" ||
			die "modprobe --show-depends $m failed for $krel"
	done | sed -n "s|^insmod $tree/lib/modules/$krel/\([^ ]*\).*|\1|p" | awk '!seen[$0]++'
}

# copy_modules TREE KREL DEST LIST_FILE: copy the listed modules, strip signatures, depmod.
copy_modules() {
	local tree=$1 krel=$2 dest=$3 list=$4 m
	local src=$tree/lib/modules/$krel dst=$dest/lib/modules/$krel
	mkdir -p "$dst"
	while read -r m; do
		mkdir -p "$dst/$(dirname "$m")"
		cp "$src/$m" "$dst/$m"
		echo "$dst/$m"
	done < "$list" | xargs -r bash -c 'strip_module_signatures "$@"' _
	cp "$src"/modules.builtin "$src"/modules.builtin.modinfo "$src"/modules.order "$dst/" 2>/dev/null || true
	depmod -b "$dest" "$krel"
}
export -f strip_module_signatures

extract_kernel() { # extract_kernel FLAVOUR-SUFFIX DIR
	local pkg=linux-image-$kabi$1 dir=$2
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg -x "$(deb_file "$pkg")" "$dir"
	# The .deb ships no modules.dep: modprobe -d finds nothing without it.
	depmod -b "$dir" "$kabi$1"
}

build_kernels() {
	extract_kernel -amd64 "$out/kernel/l1"
	extract_kernel -cloud-amd64 "$out/kernel/l2"
	# L1: the regular kernel is XZ-compressed, slow to unpack under TCG; boot its ELF vmlinux
	# through PVH instead. Find the XZ stream in the bzImage and decompress it.
	local img=$out/kernel/l1/boot/vmlinuz-$kabi-amd64 off
	off=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$img" | head -1 | cut -d: -f1)
	[ -n "$off" ] || die "no XZ stream in $img"
	# (Not a pipe: xz stops reading at the stream's end, and tail's SIGPIPE would fail pipefail.)
	tail -c +$((off + 1)) "$img" > "$out/l1-vmlinux.xz"
	xz -dc --single-stream "$out/l1-vmlinux.xz" > "$out/l1-vmlinux.tmp" ||
		die "cannot decompress the vmlinux in $img"
	rm -f "$out/l1-vmlinux.xz"
	mv "$out/l1-vmlinux.tmp" "$out/l1-vmlinux"
	# L2: the cloud kernel is LZ4-compressed and boots fast as it is.
	cp "$out/kernel/l2/boot/vmlinuz-$kabi-cloud-amd64" "$out/l2-vmlinuz"
}

# make_cpio DIR FILE: an uncompressed newc archive owned by root, padded to 4 bytes so that
# archives can be concatenated into one initrd.
make_cpio() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$2.tmp" ||
		die "cpio of $1 failed"
	truncate -s %4 "$2.tmp"
	mv "$2.tmp" "$2"
}

install_busybox() { # install_busybox ROOT: static busybox and a link per applet
	local root=$1 a
	mkdir -p "$root/bin"
	cp /bin/busybox "$root/bin/busybox"
	file -L "$root/bin/busybox" | grep -q 'statically linked' ||
		die "/bin/busybox is not static (install busybox-static)"
	for a in $(/bin/busybox --list-full); do
		[ -e "$root/$a" ] && continue
		mkdir -p "$root/$(dirname "$a")"
		ln -s /bin/busybox "$root/$a"
	done
}

# copy_with_libs ROOT FILE...: copy host files to the same paths under ROOT, with their ldd closure.
copy_with_libs() {
	local root=$1 f; shift
	for f in "$@" $(ldd "$@" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
		[ -e "$f" ] || continue
		mkdir -p "$root/$(dirname "$f")"
		# It may replace a busybox applet link: write a new file, never through the link (its
		# target, /bin/busybox, would resolve on this host).
		rm -f "$root/$f"
		cp -L "$f" "$root/$f"
	done
}

build_l1_initrd() {
	local root=$out/l1-root krel=$kabi-amd64 g
	rm -rf "$root"
	mkdir -p "$root"/{proc,sys,dev,run,tmp,root,etc,lab/mods,lib64,lib/x86_64-linux-gnu}
	install_busybox "$root"
	# glibc runtime so that dynamically linked host programs run in L1 (others: --bin), and bash,
	# pgrep/pkill, flock and ss for test scripts (busybox has none of them), and GNU timeout (busybox's
	# returns the killed program's status, not 124).
	copy_with_libs "$root" /bin/bash /usr/bin/pgrep /usr/bin/pkill /usr/bin/flock /usr/bin/ss /usr/bin/timeout \
		/lib64/ld-linux-x86-64.so.2 \
		/lib/x86_64-linux-gnu/{libc.so.6,libm.so.6,libgcc_s.so.1,libpthread.so.0,libdl.so.2,librt.so.1}
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
	printf 'root:x:0:\nkvm:x:36:\nnogroup:x:65534:\n' > "$root/etc/group"
	printf '127.0.0.1 localhost\n' > "$root/etc/hosts"
	module_order "$out/kernel/l1" "$krel" "${l1_modules[@]}" > "$out/l1-modules.list"
	copy_modules "$out/kernel/l1" "$krel" "$root" "$out/l1-modules.list"
	for g in "${!l1_groups[@]}"; do
		# shellcheck disable=SC2086
		module_order "$out/kernel/l1" "$krel" ${l1_groups[$g]} > "$root/lab/mods/$g.list"
	done
	cp "$lab_dir/l1-init" "$root/init"
	chmod 755 "$root/init"
	make_cpio "$root" "$out/l1-initrd.cpio"
	rm -rf "$root" # the archive is the output; the tree was only its staging
}

# QEMU in L1 (lab run --qemu): the peer for benchmarks and the reference L2 boot.
build_qemu_kit() {
	local root=$out/qemu-kit
	rm -rf "$root"
	mkdir -p "$root"
	copy_with_libs "$root" /usr/bin/qemu-system-x86_64 /usr/bin/qemu-img \
		/usr/lib/x86_64-linux-gnu/qemu/accel-*.so
	mkdir -p "$root/usr/share"
	cp -a /usr/share/qemu "$root/usr/share/"
	cp -a /usr/share/seabios "$root/usr/share/" 2>/dev/null || true
	# Firmware links in /usr/share/qemu point into /usr/share/seabios etc.: keep them valid.
	make_cpio "$root" "$out/qemu-kit.cpio"
	rm -rf "$root" # the archive is the output; the tree was only its staging
}

build_l2_initrd() {
	local root=$out/l2-root krel=$kabi-cloud-amd64
	rm -rf "$root"
	mkdir -p "$root"/{proc,sys,dev,run,tmp,mnt,root,etc,scripts,lib,usr}
	install_busybox "$root"
	module_order "$out/kernel/l2" "$krel" "${l2_modules[@]}" > "$root/etc/l2-modules"
	copy_modules "$out/kernel/l2" "$krel" "$root" "$root/etc/l2-modules"
	# The disk (/dev/vda at /mnt) carries glibc programs; these links let them run without chroot.
	ln -s /mnt/usr/lib64 "$root/lib64"
	ln -s /mnt/usr/lib/x86_64-linux-gnu "$root/lib/x86_64-linux-gnu"
	mkdir -p "$root/usr"
	ln -s /mnt/usr/lib "$root/usr/lib"
	ln -s /mnt/etc/ld.so.cache "$root/etc/ld.so.cache"
	printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
	printf 'root:x:0:\n' > "$root/etc/group"
	cp "$lab_dir/l2-init" "$root/init"
	chmod 755 "$root/init"
	cp "$lab_dir"/l2-scripts/* "$root/scripts/"
	chmod 755 "$root"/scripts/*
	make_cpio "$root" "$out/l2-initrd.cpio"
	rm -rf "$root" # the archive is the output; the tree was only its staging
}

# resolve_soname ROOT NAME RUNPATH...: path of library NAME under ROOT
resolve_soname() {
	local root=$1 name=$2 d; shift 2
	for d in "$@" /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib /lib; do
		if [ -e "$root$d/$name" ]; then echo "$d/$name"; return 0; fi
	done
	return 1
}

build_l2_disk() {
	local x=$out/l2-pkgs root=$out/l2-disk-root p f todo=() name rp
	rm -rf "$x" "$root"
	mkdir -p "$x" "$root"
	while read -r p; do
		dpkg -x "$(deb_file "$p")" "$x"
	done < "$out/l2-packages.list"
	# The packages still use /lib for some libraries: fold /lib into /usr/lib (merged /usr).
	for p in lib lib64 bin sbin; do
		if [ -d "$x/$p" ] && [ ! -L "$x/$p" ]; then
			mkdir -p "$x/usr/$p"
			cp -a "$x/$p/." "$x/usr/$p/"
			rm -rf "${x:?}/$p"
		fi
		ln -sfn "usr/$p" "$x/$p"
	done
	mkdir -p "$root"/usr/{bin,sbin,lib/x86_64-linux-gnu,lib64} "$root"/{etc,tmp,proc,sys,dev,run,var/run,mnt}
	ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
	# ELF closure: copy each program, then every library named by a NEEDED entry, transitively.
	todo=("${l2_disk_programs[@]/#//}" /usr/lib64/ld-linux-x86-64.so.2)
	local -A copied=()
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]}; todo=("${todo[@]:1}")
		case $f in /lib/*|/lib64/*|/bin/*|/sbin/*) f=/usr$f ;; esac
		[ -n "${copied[$f]:-}" ] && continue
		copied[$f]=1
		[ -e "$x$f" ] || die "$f is not in the extracted L2 packages"
		mkdir -p "$root$(dirname "$f")"
		cp -a "$x$f" "$root$f"
		if [ -L "$x$f" ]; then # keep the link and follow it to the real file
			rp=$(readlink "$x$f")
			case $rp in /*) todo+=("$rp") ;; *) todo+=("$(dirname "$f")/$rp") ;; esac
			continue
		fi
		local runpath
		runpath=$(readelf -d "$x$f" 2>/dev/null | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p; s/.*(RPATH).*\[\(.*\)\]/\1/p' | tr ':' ' ')
		for name in $(readelf -d "$x$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			# shellcheck disable=SC2086
			p=$(resolve_soname "$x" "$name" $runpath) || die "library $name (needed by $f) is in none of the L2 packages"
			todo+=("$p")
		done
	done
	cp /bin/busybox "$root/usr/bin/busybox"
	ln -s busybox "$root/usr/bin/sh"
	echo hello-from-disk > "$root/hello"
	printf '/usr/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu/ceph\n' > "$root/etc/ld.so.conf"
	ldconfig -r "$root" 2>/dev/null || die "ldconfig -r $root failed"
	# Prove at build time that every program runs with exactly what the disk carries.
	for f in "${l2_disk_programs[@]}"; do
		chroot "$root" "/$f" --version > /dev/null 2>&1 || chroot "$root" "/$f" -V > /dev/null 2>&1 ||
			die "/$f does not run in the L2 disk root (missing library?)"
	done
	local kb
	kb=$(du -sk "$root" | cut -f1)
	rm -f "$out/l2-disk.img"
	mkfs.ext4 -q -F -L l2disk -d "$root" "$out/l2-disk.img" "$(( kb + kb / 4 + 8192 ))K" >/dev/null ||
		die "mkfs.ext4 of the L2 disk failed"
	rm -rf "$x" "$root"
}

# The L2 images as L1 sees them: an ext4 "store" holding vmlinuz, initrd and disk.img, which
# `lab run` attaches to L1 as a virtio-blk disk (snapshot=on) and L1's /init mounts at /lab/l2.
# So all three are regular files in L1, writable per run, and they cost no boot time: packed into
# the initramfs, the 100+ MB disk alone added ~3 s to every L1 boot.
build_l2_store() {
	local root=$out/l2-store kb
	rm -rf "$root"
	mkdir -p "$root"
	ln "$out/l2-vmlinuz" "$root/vmlinuz" 2>/dev/null || cp "$out/l2-vmlinuz" "$root/vmlinuz"
	ln "$out/l2-initrd.cpio" "$root/initrd" 2>/dev/null || cp "$out/l2-initrd.cpio" "$root/initrd"
	ln "$out/l2-disk.img" "$root/disk.img" 2>/dev/null || cp "$out/l2-disk.img" "$root/disk.img"
	cat > "$root/README" <<'EOF'
The lab's L2 guest: vmlinuz (Debian cloud kernel), initrd (busybox /init, see tests/lab/README.md),
disk.img (ext4: fio, iperf3, qemu-ga and their libraries). This folder is L1's /dev/vda, attached
with QEMU snapshot=on: writable, and every write vanishes at the end of the run.
EOF
	kb=$(du -skL "$root" | cut -f1)
	rm -f "$out/l2-store.img" # 32 MB to spare for small files a check writes next to the images
	mkfs.ext4 -q -F -L l2store -m 0 -d "$root" "$out/l2-store.img" "$(( kb + kb / 10 + 32768 ))K" >/dev/null ||
		die "mkfs.ext4 of the L2 store failed"
	rm -rf "$root"
}

lab_build() {
	command -v qemu-system-x86_64 >/dev/null && command -v cpio >/dev/null && command -v mkfs.ext4 >/dev/null ||
		die "host packages missing: run 'tests/lab/lab deps' (as root)"
	mkdir -p "$out" "$cache"
	# Several developers run the lab at once: one builder at a time. (Runs in progress are safe:
	# outputs are replaced by new files, never rewritten in place.)
	exec 9> "$out/.build.lock"
	flock 9
	kabi=$(lab_kabi)
	local self h_debs h_kern h_l1 h_kit h_l2i h_disk
	self=$(file_hash "$lab_dir/build.sh")
	h_debs=$(hash_of "$self" "$kabi" "${l2_disk_packages[*]}")
	# The downloads live in the cache, outside out/: a cache emptied by hand means downloading again.
	ls "$cache/debs/linux-image-$kabi-amd64"_*.deb "$cache/debs/linux-image-$kabi-cloud-amd64"_*.deb \
		> /dev/null 2>&1 || rm -f "$out/stamps/debs"
	stage debs "$h_debs" build_debs l2-packages.list
	h_kern=$(hash_of "$h_debs" "$(basename "$(deb_file "linux-image-$kabi-amd64")")" \
		"$(basename "$(deb_file "linux-image-$kabi-cloud-amd64")")")
	stage kernels "$h_kern" build_kernels l1-vmlinux l2-vmlinuz kernel/l1 kernel/l2
	h_l1=$(hash_of "$h_kern" "$(file_hash "$lab_dir/l1-init")" "$(pkg_version busybox-static)" "$(pkg_version libc6)")
	stage l1-initrd "$h_l1" build_l1_initrd l1-initrd.cpio
	h_kit=$(hash_of "$self" "$(pkg_version qemu-system-x86)" "$(pkg_version qemu-utils)" "$(pkg_version libc6)")
	stage qemu-kit "$h_kit" build_qemu_kit qemu-kit.cpio
	h_l2i=$(hash_of "$h_kern" "$(file_hash "$lab_dir/l2-init" "$lab_dir"/l2-scripts/*)" "$(pkg_version busybox-static)")
	stage l2-initrd "$h_l2i" build_l2_initrd l2-initrd.cpio
	h_disk=$(hash_of "$h_debs" "$(file_hash "$out/l2-packages.list")" "$(pkg_version busybox-static)")
	stage l2-disk "$h_disk" build_l2_disk l2-disk.img
	stage l2-store "$(hash_of "$self" "$h_l2i" "$h_disk" "$h_kern")" build_l2_store l2-store.img
	exec 9>&-
}
