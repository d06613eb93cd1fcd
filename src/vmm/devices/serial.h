/* 16550A UART (COM1 at 0x3f8, ISA IRQ 4) with a 16-byte receive FIFO, enough
 * for Linux's 8250 driver to autodetect a 16550A and run the console
 * interrupt-driven. Transmission is instantaneous: THR bytes go straight to
 * the chardev, so THRE/TEMT are always set outside loopback.
 *
 * IRQ: the pin is driven as a LEVEL, high while an enabled interrupt is pending
 * and MCR.OUT2 is set, low otherwise; irq_pin_set() is called only on changes.
 * Wire it to KVM_IRQ_LINE with that level: the in-kernel IOAPIC pin for ISA
 * IRQ 4 is edge-triggered and latches the 0->1 transition (the 8250 handler
 * loops until IIR says "no interrupt", which brings the line low again).
 *
 * Input: serial_create() registers itself as the chardev's input callback and
 * pauses the chardev while the RX FIFO is full (no overruns from the host). */
#ifndef VIREO_VMM_DEVICES_SERIAL_H
#define VIREO_VMM_DEVICES_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"
#include "vmm/devices/chardev.h"

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_GSI 4
#define SERIAL_COM2_BASE 0x2f8
#define SERIAL_COM2_GSI 3
#define SERIAL_NREGS 8
#define SERIAL_FIFO_SIZE 16

struct serial;

/* Registers 8 ports at `base` on `pio`. `cd` may be NULL (output discarded,
 * no input). Returns NULL with the error set if the ports are taken. */
struct serial *serial_create(struct bus *pio, uint16_t base, struct irq_pin irq, struct chardev *cd);
/* Power-on register values (machine reset); the chardev stays attached. */
void serial_reset(struct serial *s);
/* Unregisters from the bus and detaches from the chardev (does not close it). */
void serial_destroy(struct serial *s);

/* Feed received bytes as the chardev does (main thread, or tests). Returns how
 * many fit in the RX FIFO (or the RBR when FIFOs are off). */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

/* The bus handler, exposed for tests and fuzzers: offset 0..7, len 1..8;
 * a multi-byte access is a sequence of byte accesses at offset, offset+1... */
void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
