/* Benchmark payload: the first instructions mark the debug port and leave at
 * once, through QEMU's isa-debug-exit (port 0xf4) or vireo's ACPI S5 (0x604),
 * whichever the machine has. Position independent, so it runs as a vireo
 * real-mode payload at 0x10000 and as a QEMU -bios image at 0xf0000. */
	.code16
	.text
	.globl _start
_start:
	mov $0x41, %al
	outb %al, $0x80
	outb %al, $0xf4
	mov $0x604, %dx
	mov $((5 << 10) | (1 << 13)), %ax
	outw %ax, %dx
	hlt
