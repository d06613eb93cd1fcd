# tests/e2e/vmm-lib.sh: helpers for checks that boot the L2 image with vireo-vmm (sourced after
# lib.sh). vireo_boot_l2 mirrors qemu_boot_l2 so boot tests and benchmarks compare like with like.

VIREO_VMM=$VIREO_BUILD/src/vmm/main/vireo-vmm
VIREO_QMP=$VIREO_BUILD/tests/tools/vireo-qmp

# vireo_boot_l2 [OPTIONS] [-- VMM-ARGS...]: boot the L2 image with vireo-vmm and print its console
# on stdout; returns vireo-vmm's exit status (0 after L2's poweroff, 124 on timeout).
#   --cpus N (1)  --mem SIZE (256M)  --timeout S (120)  --qmp PATH  --pidfile PATH
#   --script NAME   l2.script=NAME    --cmd 'SH'  run SH in L2    --append ARGS
vireo_boot_l2() {
	local cpus=1 mem=256M timeout=120 append= extra=()
	while [ $# -gt 0 ]; do
		case $1 in
		--cpus) cpus=$2; shift ;;
		--mem) mem=$2; shift ;;
		--timeout) timeout=$2; shift ;;
		--qmp) extra+=(--qmp "unix:$2"); shift ;;
		--pidfile) extra+=(--pidfile "$2"); shift ;;
		--script) append+=" l2.script=$2"; shift ;;
		--cmd) append+=" $(l2_cmd_arg "$2")"; shift ;;
		--append) append+=" $2"; shift ;;
		--) shift; break ;;
		*) echo "vireo_boot_l2: unknown option $1" >&2; return 2 ;;
		esac
		shift
	done
	timeout -k 5 "$timeout" "$VIREO_VMM" --kernel "$L2_KERNEL" --initrd "$L2_INITRD" \
		--memory "$mem" --cpus "$cpus" --serial stdio \
		--cmdline "$L2_BASE_APPEND$append" "${extra[@]}" "$@" < /dev/null
}

# vireo_boot_l2_timed [vireo_boot_l2 ARGS...]: vireo_boot_l2, timed as qemu_boot_l2_timed is.
vireo_boot_l2_timed() {
	l2_timed vireo_boot_l2 "$@"
}

# qmp SOCKET COMMAND [ARGS-JSON]: one QMP command through vireo-qmp (waits up to 20 s for the socket).
qmp() {
	"$VIREO_QMP" --retry 20 "$@"
}
