# Helpers for e2e checks that drive the real vireo-vmm through vireod (sourced after lib.sh).
# vireod_setup TAG: a fresh --root under /tmp, VIREO_ROOT for the CLI, $vireo; start_vireod
# then starts (or restarts) the daemon on it, its pid in $dpid.
vireod_setup() {
	need_build_file src/vmm/main/vireo-vmm
	need_build_file src/daemon/vireod
	need_build_file src/cli/vireo
	root=$(mktemp -d "/tmp/$1.XXXXXX")
	export VIREO_ROOT=$root
	vireo=$VIREO_BUILD/src/cli/vireo
	dpid=
}

start_vireod() {
	"$VIREO_BUILD/src/daemon/vireod" --root "$root" --vmm "$VIREO_BUILD/src/vmm/main/vireo-vmm" \
		>>"$root/vireod.log" 2>&1 &
	dpid=$!
	for _ in $(seq 100); do "$vireo" version >/dev/null 2>&1 && return 0; sleep 0.1; done
	cat "$root/vireod.log"; e2e_fail "vireod did not come up"
}

