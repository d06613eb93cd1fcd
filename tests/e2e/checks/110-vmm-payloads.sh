# e2e check: the payload suite (tests/payloads) on a real kvm_amd, including the payloads a PVM
# host cannot run (triple fault).
# e2e-timeout: 120
. "$VIREO_TESTS/e2e/lib.sh"
need_kvm
need_build_file src/vmm/main/vireo-vmm
VIREO_BUILD=$VIREO_BUILD "$VIREO_TESTS/payloads/run" --all
