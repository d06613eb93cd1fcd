/* 64-bit payload: entered in long mode with vireo's boot page tables; prints on
 * COM1 and halts. RIP-relative addressing, so it runs wherever it is loaded.
 * mode: long
 * expect-exit: 4
 * expect-serial: long mode ok
 */
#include "common.h"
	.code64
	.text
	.globl _start
_start:
	MARK 0x41
	lea msg(%rip), %rsi
	PUTS_SI
	hlt
msg:	.asciz "long mode ok\n"
