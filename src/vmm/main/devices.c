/* Platform devices of the vireo-vmm machine: which device sits at which port
 * and GSI, created in one place so the machine's layout reads as a table. */
#include "vmm/main/machine.h"
#include "vmm/main/machine_priv.h"
#include "vmm/devices/chardev.h"
#include "vmm/devices/serial.h"
#include "common/error.h"

static struct irq_pin machine_irq(struct vm *vm, uint32_t gsi)
{
	return (struct irq_pin){ .set = kvm_set_irq, .ctx = vm, .gsi = gsi };
}

int machine_create_devices(struct vm *vm)
{
	struct machine *m = vm->machine;

	m->console = chardev_open(vm->cfg.serial_spec, vm->loop);
	if (!m->console)
		return err_prefix("--serial");
	m->com1 = serial_create(&vm->pio, SERIAL_COM1_BASE, machine_irq(vm, SERIAL_COM1_GSI), m->console);
	if (!m->com1)
		return err_prefix("COM1");
	return 0;
}

void machine_reset_devices(struct vm *vm)
{
	(void)vm;
}

int machine_powerdown(struct vm *vm)
{
	(void)vm;
	return err_set(ERR_UNSUPPORTED, "this machine has no ACPI power button yet");
}

void machine_destroy_devices(struct vm *vm)
{
	struct machine *m = vm->machine;

	if (m->com1)
		serial_destroy(m->com1);
	if (m->console) {
		chardev_flush(m->console, 1000);
		chardev_close(m->console);
	}
	m->com1 = NULL;
	m->console = NULL;
}
