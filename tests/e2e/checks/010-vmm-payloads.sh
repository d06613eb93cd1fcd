# e2e check: the payload suite (tests/payloads) on a real kvm_amd, including the payloads a PVM
# host cannot run (triple fault).
# It runs before the checks that boot Linux guests: after those, a no-irqchip payload VM has been
# seen to wedge the lab's L1 (nested SVM under TCG) until the lab run's time limit, once in three runs.
# e2e-timeout: 120
. "$VIREO_TESTS/e2e/lib.sh"
need_kvm
need_build_file src/vmm/main/vireo-vmm
VIREO_BUILD=$VIREO_BUILD "$VIREO_TESTS/payloads/run" --all
