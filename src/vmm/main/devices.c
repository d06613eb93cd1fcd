/* Platform devices of the vireo-vmm machine: which device sits at which port
 * and GSI, created in one place so the machine's layout reads as a table. */
#include "vmm/main/machine.h"
#include "vmm/main/machine_priv.h"
#include "vmm/devices/chardev.h"
#include "vmm/devices/serial.h"
#include "vmm/devices/acpi_pm.h"
#include "vmm/acpi/acpi.h"
#include "vmm/boot/layout.h"
#include "common/error.h"

/* PCI MMIO window in the 32-bit hole, below the IOAPIC/LAPIC/ECAM area. */
#define MACHINE_PCI_MMIO32_BASE 0xc0000000ULL
#define MACHINE_PCI_MMIO32_SIZE 0x20000000ULL
#define MACHINE_ACPI_RESET_PORT 0x610

static struct irq_pin machine_irq(struct vm *vm, uint32_t gsi)
{
	return (struct irq_pin){ .set = kvm_set_irq, .ctx = vm, .gsi = gsi };
}

/* ACPI tables describing this machine, and the PM device behind them. */
static int machine_create_acpi(struct vm *vm)
{
	struct machine *m = vm->machine;
	struct acpi_config cfg;
	ssize_t len;

	acpi_config_default(&cfg, vm->ncpus);
	cfg.max_cpus = vm->ncpus;
	cfg.serial_com1 = true;
	/* 0xcf9 lies inside the PCI conf1 window (0xcf8-0xcff): reset elsewhere. */
	cfg.reset_port = MACHINE_ACPI_RESET_PORT;
	cfg.pci_mmio32_base = MACHINE_PCI_MMIO32_BASE;
	cfg.pci_mmio32_size = MACHINE_PCI_MMIO32_SIZE;
	len = acpi_build_tables(&cfg, m->acpi_tables, sizeof(m->acpi_tables), BOOT_ACPI_GPA, &m->rsdp_gpa);
	if (len < 0)
		return err_prefix("building ACPI tables");
	m->acpi_len = (size_t)len;
	m->pm = acpi_pm_create(&vm->pio, &cfg, machine_irq(vm, cfg.sci_irq), vm->request_sink);
	if (!m->pm)
		return err_prefix("ACPI PM device");
	return 0;
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
	return machine_create_acpi(vm);
}

void machine_reset_devices(struct vm *vm)
{
	struct machine *m = vm->machine;

	if (m->pm)
		acpi_pm_reset(m->pm);
}

int machine_powerdown(struct vm *vm)
{
	acpi_pm_press_power_button(vm->machine->pm);
	return 0;
}

void machine_destroy_devices(struct vm *vm)
{
	struct machine *m = vm->machine;

	if (m->pm)
		acpi_pm_destroy(m->pm);
	if (m->com1)
		serial_destroy(m->com1);
	if (m->console) {
		chardev_flush(m->console, 1000);
		chardev_close(m->console);
	}
	m->com1 = NULL;
	m->pm = NULL;
	m->console = NULL;
}
