/* Real-mode payload: port I/O dispatch. The UART scratch register keeps what is
 * written; a port no device claims reads 0xff; PCI conf1 finds the host bridge
 * at 00:00.0 and nothing at 00:1f.0. Prints "pio ok" or "pio FAIL <n>".
 * expect-exit: 4
 * expect-serial: pio ok
 */
#include "common.h"
	REAL_MODE_ENTRY
	/* 1: scratch register round trip */
	mov $0x3ff, %dx
	mov $0x5a, %al
	outb %al, %dx
	inb %dx, %al
	mov $'1', %bl
	cmp $0x5a, %al
	jne fail
	/* 2: unclaimed port reads all ones */
	mov $0x2e8, %dx
	inb %dx, %al
	mov $'2', %bl
	cmp $0xff, %al
	jne fail
	/* 3: PCI 00:00.0 vendor is present */
	mov $0xcf8, %dx
	mov $0x80000000, %eax
	outl %eax, %dx
	mov $0xcfc, %dx
	inw %dx, %ax
	mov $'3', %bl
	cmp $0xffff, %ax
	je fail
	/* 4: PCI 00:1f.0 is absent */
	mov $0xcf8, %dx
	mov $0x8000f800, %eax
	outl %eax, %dx
	mov $0xcfc, %dx
	inl %dx, %eax
	mov $'4', %bl
	cmp $0xffffffff, %eax
	jne fail
	PUTS ok
	hlt
fail:
	mov %bl, failn
	PUTS bad
	hlt
ok:	.asciz "pio ok\n"
bad:	.ascii "pio FAIL "
failn:	.asciz "?\n"
