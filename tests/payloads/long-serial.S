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
1:	lodsb
	test %al, %al
	jz 3f
	mov %al, %ah
	mov $COM1_LSR, %dx
2:	inb %dx, %al
	test $0x20, %al
	jz 2b
	mov %ah, %al
	mov $COM1, %dx
	outb %al, %dx
	jmp 1b
3:	hlt
msg:	.asciz "long mode ok\n"
