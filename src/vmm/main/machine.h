/* The PC-like machine vireo-vmm builds around a KVM VM: platform devices,
 * ACPI tables, boot images, and what happens on power-off and reset. */
#ifndef VIREO_VMM_MACHINE_H
#define VIREO_VMM_MACHINE_H

#include "vmm/main/vm.h"

struct qmp_server;

/* Create devices and load the boot images; vCPUs must exist. */
int machine_create(struct vm *vm);
/* Put guest memory, boot images and vCPU state back to power-on, as a reset does. */
int machine_reset(struct vm *vm);
/* Press the ACPI power button. */
int machine_powerdown(struct vm *vm);
void machine_destroy(struct vm *vm);
struct qmp_server *machine_qmp(struct vm *vm);
/* Run the main loop until the guest is gone; returns the process exit status. */
int machine_run(struct vm *vm);

#endif
