/* Real-mode payload: an IDT of limit 0 and an int3 make a triple fault; with
 * --no-reboot the VMM dumps registers and exits 3.
 * args: --no-reboot
 * requires: hw-kvm (PVM never returns from KVM_RUN on a real-mode triple fault)
 * expect-exit: 3
 * expect-stderr: triple fault
 * expect-stderr: RIP=
 */
#include "common.h"
	REAL_MODE_ENTRY
	lidt idt
	int3
	hlt
idt:	.word 0
	.long 0
