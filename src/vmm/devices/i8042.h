/* i8042 PS/2 keyboard controller at ports 0x60 (data) and 0x64 (status/command)
 * with both ports empty: no keyboard, no mouse. It exists so the guest can reset
 * the machine (command 0xFE, or clearing output-port bit 0) and so Linux's i8042
 * driver probes a sane controller and gives up on the devices quickly.
 *
 * Bytes the guest sends to the absent keyboard/mouse are answered at once by
 * the controller with 0xFE (NAK) and the status TIMEOUT bit, so libps2 fails
 * its commands without waiting for its timeouts.
 *
 * IRQs (ISA 1 and 12, edge on the IOAPIC): driven as levels, high while the
 * output buffer holds a byte from that port and the command byte enables its
 * interrupt, low otherwise; irq_pin_set() is called only on changes.
 *
 * Port 0x61 (speaker / PIT channel 2 gate) is NOT provided here: create the
 * in-kernel PIT with KVM_CREATE_PIT2 flags = KVM_PIT_SPEAKER_DUMMY, which makes
 * KVM itself serve 0x61 with the real gate and OUT2 of its PIT channel 2 (as
 * Firecracker and Cloud Hypervisor do). With flags 0, 0x61 exits to userspace
 * and a userspace model could not see the in-kernel PIT's OUT2. */
#ifndef VIREO_VMM_DEVICES_I8042_H
#define VIREO_VMM_DEVICES_I8042_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"
#include "vmm/devices/device.h"

#define I8042_DATA_PORT 0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_KBD_GSI 1
#define I8042_AUX_GSI 12

struct i8042;

/* Registers ports 0x60 and 0x64 on `pio`. `requests` must outlive the device;
 * reset requests go there (VM_REQUEST_RESET). NULL with the error set if the
 * ports are taken. */
struct i8042 *i8042_create(struct bus *pio, struct irq_pin kbd_irq, struct irq_pin aux_irq,
			   const struct vm_request_sink *requests);
/* Power-on state (machine reset): command byte, output port, empty buffer. */
void i8042_reset(struct i8042 *kbc);
void i8042_destroy(struct i8042 *kbc);

/* Bus handlers, exposed for tests and fuzzers (offset 0, any len). */
void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void i8042_command_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
