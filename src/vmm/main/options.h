/* Command-line options of vireo-vmm. */
#ifndef VIREO_VMM_OPTIONS_H
#define VIREO_VMM_OPTIONS_H

#include "vmm/main/vm.h"

#define VMM_VERSION "0.1.0"

/* Parse argv into cfg. Returns 0 to run, VM_EXIT_USAGE (2) after printing what
 * is wrong, or -1 when --help/--version was answered. */
int vmm_parse_args(int argc, char **argv, struct vm_config *cfg);

#endif
