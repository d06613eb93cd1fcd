/* Real-mode payload: one `rep outsb` of a whole string to COM1, so a single
 * KVM_EXIT_IO carries count > 1 and every byte must reach the UART in order.
 * expect-exit: 4
 * expect-serial: rep outsb reaches the uart in order
 */
	.code16
	.text
	.globl _start
_start:
	mov %cs, %ax
	mov %ax, %ds
	lea msg, %si
	mov $(msg_end - msg), %cx
	mov $0x3f8, %dx
	cld
	rep outsb
	hlt
msg:	.ascii "rep outsb reaches the uart in order\n"
msg_end:
