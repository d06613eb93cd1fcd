# Storage pool and volume tests of the daemon suite (sourced by tests/daemon/run,
# which runs each t_* function against its own vireod under a fresh $ROOT).
# POOL_TRANSFER_MB sets the vol-upload/vol-download round trip size (default 256).

# A dir pool "p1" in $ROOT/pool1, built and started.
pool_up() {
	$VIREO pool-define-as p1 dir --target "$ROOT/pool1" >/dev/null &&
		$VIREO pool-build p1 >/dev/null && $VIREO pool-start p1 >/dev/null
}

t_pool_lifecycle_matches_virsh_messages() {
	local out
	out=$($VIREO pool-define-as p1 dir --target "$ROOT/pool1") || return 1
	expect_eq define "$out" "Pool p1 defined" || return 1
	out=$($VIREO pool-list --all)
	expect_eq "list --all" "$out" " Name   State      Autostart
-----------------------------
 p1     inactive   no" || return 1
	out=$($VIREO pool-start p1 2>&1) && { log "start without its directory succeeded"; return 1; }
	grep -q "cannot open directory '$ROOT/pool1'" <<<"$out" || { log "$out"; return 1; }
	expect_eq build "$($VIREO pool-build p1)" "Pool p1 built" || return 1
	[ -d "$ROOT/pool1" ] || { log "pool-build made no directory"; return 1; }
	expect_eq start "$($VIREO pool-start p1)" "Pool p1 started" || return 1
	expect_eq refresh "$($VIREO pool-refresh p1)" "Pool p1 refreshed" || return 1
	expect_eq autostart "$($VIREO pool-autostart p1)" "Pool p1 marked as autostarted" || return 1
	out=$($VIREO pool-list)
	expect_eq list "$out" " Name   State    Autostart
---------------------------
 p1     active   yes" || return 1
	$VIREO pool-list --details | grep -Eq '^ p1 +running +yes +yes +[0-9.]+ [KMGT]iB' ||
		{ log "$($VIREO pool-list --details)"; return 1; }
	out=$($VIREO pool-info p1)
	grep -q "^State:          running$" <<<"$out" && grep -q "^Capacity:       [0-9.]* [KMGT]iB$" <<<"$out" ||
		{ log "$out"; return 1; }
	$VIREO pool-dumpxml p1 >"$ROOT/p1.xml" && virt-xml-validate "$ROOT/p1.xml" storagepool >/dev/null 2>&1 ||
		{ log "pool-dumpxml does not validate: $(cat "$ROOT/p1.xml")"; return 1; }
	# A restart keeps the pool active and its autostart mark.
	stop_daemon && start_daemon || return 1
	$VIREO pool-list | grep -q "^ p1 *active *yes" || { log "after restart: $($VIREO pool-list --all)"; return 1; }
	out=$($VIREO pool-undefine p1 2>&1) && { log "undefine of an active pool succeeded"; return 1; }
	expect_eq destroy "$($VIREO pool-destroy p1)" "Pool p1 destroyed" || return 1
	out=$($VIREO vol-list p1 2>&1) && { log "vol-list on an inactive pool succeeded"; return 1; }
	grep -q "not active" <<<"$out" || { log "$out"; return 1; }
	expect_eq undefine "$($VIREO pool-undefine p1)" "Pool p1 has been undefined" || return 1
	[ -d "$ROOT/pool1" ] || { log "undefine removed the directory"; return 1; }
	# Pool XML through pool-define, and refusals that name the problem.
	cat >"$ROOT/p2.xml" <<XML
<pool type='dir'><name>p2</name><target><path>$ROOT/pool2</path></target></pool>
XML
	expect_eq pool-define "$($VIREO pool-define "$ROOT/p2.xml")" "Pool p2 defined from $ROOT/p2.xml" || return 1
	out=$($VIREO pool-define-as p3 dir --target "$ROOT/pool2" 2>&1) && { log "second pool on one path"; return 1; }
	grep -q "already uses target path" <<<"$out" || { log "$out"; return 1; }
	out=$($VIREO pool-define-as p4 dir --target "$ROOT/../etc" 2>&1) && { log "'..' path accepted"; return 1; }
	grep -q "must be an absolute path" <<<"$out" || { log "$out"; return 1; }
	out=$($VIREO pool-info nope 2>&1) && return 1
	expect_eq "missing pool" "$out" "error: failed to get pool 'nope'
error: Storage pool not found: no storage pool with matching name 'nope'"
}

t_volumes_thin_backing_resize_clone_delete() {
	local out
	pool_up || return 1
	expect_eq create "$($VIREO vol-create-as p1 base.img 64M --format raw)" "Vol base.img created" || return 1
	$VIREO vol-create-as p1 vm.qcow2 1G --format qcow2 --backing-vol base.img --backing-vol-format raw \
		>/dev/null || return 1
	$VIREO vol-create-as p1 empty.qcow2 10G --format qcow2 >/dev/null || return 1
	out=$($VIREO vol-list p1 --details)
	grep -Eq "^ base.img +$ROOT/pool1/base.img +file +64.00 MiB +0.00 B$" <<<"$out" &&
		grep -Eq "^ empty.qcow2 +$ROOT/pool1/empty.qcow2 +file +10.00 GiB +[0-9.]+ KiB$" <<<"$out" ||
		{ log "vol-list --details (thin volumes): $out"; return 1; }
	out=$($VIREO vol-info --bytes vm.qcow2 --pool p1)
	grep -q "^Capacity:       1073741824 bytes$" <<<"$out" || { log "$out"; return 1; }
	if command -v qemu-img >/dev/null; then
		qemu-img info --output=json "$ROOT/pool1/vm.qcow2" | grep -q "\"backing-filename\": \"$ROOT/pool1/base.img\"" ||
			{ log "backing: $(qemu-img info "$ROOT/pool1/vm.qcow2")"; return 1; }
		qemu-img check -q "$ROOT/pool1/vm.qcow2" || return 1
	fi
	$VIREO vol-dumpxml vm.qcow2 --pool p1 >"$ROOT/v.xml" &&
		virt-xml-validate "$ROOT/v.xml" storagevol >/dev/null 2>&1 && grep -q "<backingStore>" "$ROOT/v.xml" ||
		{ log "vol-dumpxml: $(cat "$ROOT/v.xml")"; return 1; }
	expect_eq path "$($VIREO vol-path vm.qcow2 --pool p1)" "$ROOT/pool1/vm.qcow2" || return 1
	# resize: grow, refuse a shrink without --shrink
	expect_eq resize "$($VIREO vol-resize vm.qcow2 2G --pool p1)" \
		"Size of volume 'vm.qcow2' successfully changed to 2G" || return 1
	$VIREO vol-info --bytes vm.qcow2 --pool p1 | grep -q "^Capacity:       2147483648 bytes$" || return 1
	out=$($VIREO vol-resize base.img 1M --pool p1 2>&1) && { log "silent shrink"; return 1; }
	grep -q "without --shrink" <<<"$out" || { log "$out"; return 1; }
	# clone: a full, thin copy without the backing file, by path lookup too
	printf 'data at 1M' | dd of="$ROOT/pool1/base.img" bs=1M seek=1 conv=notrunc status=none
	expect_eq clone "$($VIREO vol-clone "$ROOT/pool1/vm.qcow2" copy.qcow2)" "Vol copy.qcow2 cloned from vm.qcow2" ||
		return 1
	if command -v qemu-img >/dev/null; then
		qemu-img compare -q "$ROOT/pool1/vm.qcow2" "$ROOT/pool1/copy.qcow2" ||
			{ log "clone differs from its source"; return 1; }
		qemu-img info "$ROOT/pool1/copy.qcow2" | grep -q "backing file" && { log "clone kept a backing file"; return 1; }
	fi
	# a clone runs beside the daemon's other work: a query during it is answered
	head -c 64M /dev/urandom >"$ROOT/pool1/base.img"
	$VIREO vol-clone base.img big-copy.img --pool p1 >"$ROOT/clone.out" 2>&1 &
	local clone_pid=$!
	$VIREO vol-list p1 >/dev/null || { log "vol-list during a clone failed"; return 1; }
	wait "$clone_pid" || { log "clone: $(cat "$ROOT/clone.out")"; return 1; }
	cmp -s "$ROOT/pool1/base.img" "$ROOT/pool1/big-copy.img" || { log "the clone differs"; return 1; }
	# names that would leave the pool directory, duplicates, symlinks
	for bad in ../x .hidden a/b; do
		out=$($VIREO vol-create-as p1 "$bad" 1M 2>&1) && { log "volume '$bad' accepted"; return 1; }
		grep -q "is invalid" <<<"$out" || { log "$out"; return 1; }
	done
	[ ! -e "$ROOT/x" ] || return 1
	out=$($VIREO vol-create-as p1 base.img 1M 2>&1) && { log "duplicate volume accepted"; return 1; }
	grep -q "exists already" <<<"$out" || { log "$out"; return 1; }
	echo secret >"$ROOT/secret" && ln -s "$ROOT/secret" "$ROOT/pool1/link.img"
	out=$($VIREO vol-info link.img --pool p1 2>&1) && { log "a symlink counts as a volume"; return 1; }
	$VIREO vol-list p1 | grep -q link.img && { log "vol-list shows a symlink"; return 1; }
	out=$($VIREO vol-delete link.img --pool p1 2>&1) && return 1
	[ -e "$ROOT/secret" ] || return 1
	expect_eq delete "$($VIREO vol-delete copy.qcow2 --pool p1)" "Vol copy.qcow2 deleted" || return 1
	[ ! -e "$ROOT/pool1/copy.qcow2" ] || return 1
	out=$($VIREO vol-info nope --pool p1 2>&1) && return 1
	grep -q "^error: Storage volume not found: no storage vol with matching name 'nope'" <<<"$out" ||
		{ log "$out"; return 1; }
	# vol-create from XML; the read-only socket lists but does not create
	cat >"$ROOT/vol.xml" <<XML
<volume><name>x.qcow2</name><capacity unit='M'>8</capacity><target><format type='qcow2'/></target></volume>
XML
	expect_eq vol-create "$($VIREO vol-create p1 "$ROOT/vol.xml")" "Vol x.qcow2 created from $ROOT/vol.xml" || return 1
	$VIREO -r vol-list p1 | grep -q " x.qcow2 " || return 1
	out=$($VIREO -r vol-create-as p1 ro.img 1M 2>&1) && { log "create on the read-only socket"; return 1; }
	grep -q "read-only" <<<"$out" || { log "$out"; return 1; }
}

t_volume_upload_download_round_trip_streams() {
	local mb=${POOL_TRANSFER_MB:-256} out rss
	pool_up || return 1
	$VIREO vol-create-as p1 data.img "${mb}M" --format raw >/dev/null || return 1
	# random head and tail around a sparse middle: fast, and every byte position matters
	truncate -s "${mb}M" "$ROOT/in.bin"
	head -c 4M /dev/urandom | dd of="$ROOT/in.bin" conv=notrunc status=none
	head -c 4M /dev/urandom | dd of="$ROOT/in.bin" bs=1M seek=$((mb - 4)) conv=notrunc status=none
	$VIREO vol-upload data.img "$ROOT/in.bin" --pool p1 || return 1
	$VIREO vol-download data.img "$ROOT/out.bin" --pool p1 || return 1
	expect_eq sha256 "$(sha256sum <"$ROOT/out.bin")" "$(sha256sum <"$ROOT/in.bin")" || return 1
	expect_eq "volume sha256" "$(sha256sum <"$ROOT/pool1/data.img")" "$(sha256sum <"$ROOT/in.bin")" || return 1
	# streamed, not buffered: the daemon stays far below the volume size (not measurable under
	# ASan, whose quarantine keeps freed chunks)
	rss=$(awk '/^VmHWM/ {print $2}' "/proc/$DPID/status")
	case "$(ldd "$VIREOD" 2>/dev/null)" in
	*libasan*) ;;
	*) [ "$rss" -lt $((64 * 1024)) ] || { log "vireod peak RSS $rss KiB for a $mb MiB transfer"; return 1; } ;;
	esac
	# offset and length
	printf 'HELLO' >"$ROOT/hello"
	$VIREO vol-upload data.img "$ROOT/hello" --pool p1 --offset 1000 || return 1
	$VIREO vol-download data.img "$ROOT/part" --pool p1 --offset 1000 --length 5 || return 1
	expect_eq part "$(cat "$ROOT/part")" HELLO || return 1
	# a short body for the length asked is refused and said so
	out=$($VIREO vol-upload data.img "$ROOT/hello" --pool p1 --length 10 2>&1) && { log "short upload"; return 1; }
	grep -q "ended after 5 of 10 bytes" <<<"$out" || { log "$out"; return 1; }
	out=$($VIREO -r vol-upload data.img "$ROOT/hello" --pool p1 2>&1) && { log "upload on -r"; return 1; }
	grep -q "read-only" <<<"$out" || { log "$out"; return 1; }
	$VIREO -r vol-download data.img "$ROOT/ro.bin" --pool p1 --length 4096 || return 1
}

t_domain_disk_volume_resolves_to_the_pool_file() {
	local cmd out
	pool_up || return 1
	$VIREO vol-create-as p1 root.qcow2 64M --format qcow2 >/dev/null || return 1
	define dvol "<devices>
	  <disk type='volume' device='disk'><source pool='p1' volume='root.qcow2'/><target dev='vda' bus='virtio'/></disk>
	</devices>" || return 1
	$VIREO dumpxml dvol | grep -q "<source pool='p1' volume='root.qcow2'/>" || { log "$($VIREO dumpxml dvol)"; return 1; }
	$VIREO start dvol >/dev/null || return 1
	cmd=$(tr '\0' ' ' <"/proc/$(vmm_pid dvol)/cmdline")
	grep -qF -- "--disk path=$ROOT/pool1/root.qcow2,format=qcow2,id=vda" <<<"$cmd" ||
		{ log "VMM args: $cmd"; return 1; }
	$VIREO dumpxml dvol | grep -q "<disk type='volume'" || return 1
	$VIREO destroy dvol >/dev/null || return 1
	# A raw volume whose guest wrote a qcow2 header naming a host file: not probed into a qcow2
	echo secret >"$ROOT/secret"
	$VIREO vol-create-as p1 evil.img 1M --format raw >/dev/null || return 1
	"$build/src/cli/vireo-img" create -q -f qcow2 -b "$ROOT/secret" -F raw "$ROOT/pool1/evil.img" 1M ||
		return 1
	define devil "<devices>
	  <disk type='volume' device='disk'><source pool='p1' volume='evil.img'/><target dev='vda' bus='virtio'/></disk>
	</devices>" || return 1
	out=$($VIREO start devil 2>&1) && { log "a probed qcow2 with a backing file outside the pool started"; return 1; }
	grep -q "backing file '$ROOT/secret' outside the pool" <<<"$out" || { log "$out"; return 1; }
	define draw "<devices>
	  <disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='p1' volume='evil.img'/>
	  <target dev='vda' bus='virtio'/></disk>
	</devices>" || return 1
	$VIREO start draw >/dev/null || return 1
	tr '\0' ' ' <"/proc/$(vmm_pid draw)/cmdline" | grep -qF -- "--disk path=$ROOT/pool1/evil.img,format=raw,id=vda" ||
		{ log "VMM args: $(tr '\0' ' ' <"/proc/$(vmm_pid draw)/cmdline")"; return 1; }
	$VIREO destroy draw >/dev/null || return 1
	# a missing volume fails the start naming it
	$VIREO vol-delete root.qcow2 --pool p1 >/dev/null || return 1
	out=$($VIREO start dvol 2>&1) && { log "start without its volume succeeded"; return 1; }
	grep -q "root.qcow2" <<<"$out" || { log "$out"; return 1; }
}
