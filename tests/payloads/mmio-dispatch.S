/* 64-bit payload: MMIO exits. A read in the MMIO hole where no device sits
 * returns all ones and a write there is dropped without harm.
 * mode: long
 * expect-exit: 4
 * expect-serial: mmio ok
 */
	.code64
	.text
	.globl _start
_start:
	mov $0xd0000000, %rbx
	movl $0x12345678, (%rbx)
	mov (%rbx), %eax
	cmp $0xffffffff, %eax
	jne fail
	movb (%rbx), %al
	cmp $0xff, %al
	jne fail
	lea ok(%rip), %rsi
	jmp print
fail:
	lea bad(%rip), %rsi
print:
	lodsb
	test %al, %al
	jz done
	mov $0x3f8, %dx
	outb %al, %dx
	jmp print
done:
	hlt
ok:	.asciz "mmio ok\n"
bad:	.asciz "mmio FAIL\n"
