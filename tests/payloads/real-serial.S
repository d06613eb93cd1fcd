/* Real-mode payload: prints on COM1 by polling LSR, marks the debug port, halts.
 * expect-exit: 4
 * expect-serial: real mode ok
 */
#include "common.h"
	.code16
	.text
	.globl _start
_start:
	MARK 0x41
	PUTS msg
	hlt
msg:	.asciz "real mode ok\n"
