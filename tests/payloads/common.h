/* Macros shared by the test payloads: COM1 output by polling, markers on the
 * debug port, and the ports of the vireo-vmm machine. Pure assembler. */
#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)
#define DEBUG_PORT 0x80
#define PM1A_CNT 0x604

/* Print the NUL-terminated string at label \str on COM1 (real mode). */
.macro PUTS str
	lea \str, %si
	PUTS_SI
.endm

/* Print the NUL-terminated string at DS:SI (RSI in long mode) on COM1,
 * polling LSR for an empty transmitter; uses AX and DX. */
.macro PUTS_SI
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
3:
.endm

/* Entry of a real-mode payload: loaded at CS:0, data addressed through DS = CS. */
.macro REAL_MODE_ENTRY
	.code16
	.text
	.globl _start
_start:
	mov %cs, %ax
	mov %ax, %ds
.endm

.macro MARK value
	mov $\value, %al
	outb %al, $DEBUG_PORT
.endm
