/* Real-mode payload: the FADT reset register (port 0x610, value 6). With
 * --no-reboot a guest reset ends vireo-vmm with status 0.
 * args: --no-reboot
 * expect-exit: 0
 * expect-serial: before reset
 */
#include "common.h"
	REAL_MODE_ENTRY
	PUTS msg
	mov $0x610, %dx
	mov $6, %al
	outb %al, %dx
1:	pause
	jmp 1b
msg:	.asciz "before reset\n"
