/* Real-mode payload: the ACPI S5 path. A write of SLP_TYP=5 without SLP_EN
 * does nothing; with SLP_EN the machine powers off and vireo-vmm exits 0
 * (the hlt after it is never reached; reaching it would exit 4).
 * expect-exit: 0
 * expect-serial: before s5
 */
#include "common.h"
	REAL_MODE_ENTRY
	PUTS msg
	mov $PM1A_CNT, %dx
	mov $(5 << 10), %ax
	outw %ax, %dx
	mov $((5 << 10) | (1 << 13)), %ax
	outw %ax, %dx
1:	pause
	jmp 1b
msg:	.asciz "before s5\n"
