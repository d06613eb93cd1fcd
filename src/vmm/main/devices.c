/* Platform devices of the vireo-vmm machine: which device sits at which port
 * and GSI, created in one place so the machine's layout reads as a table. */
#include "vmm/main/machine.h"
#include "vmm/main/machine_priv.h"
#include "vmm/devices/chardev.h"
#include "vmm/devices/serial.h"
#include "vmm/devices/acpi_pm.h"
#include "vmm/devices/debugport.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/pci.h"
#include "vmm/devices/rtc.h"
#include "vmm/devices/virtio/blk.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/devices/virtio/console.h"
#include "vmm/devices/virtio/rng.h"
#include "vmm/devices/virtio/virtio.h"
#include "vmm/acpi/acpi.h"
#include "vmm/boot/layout.h"
#include "common/error.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>

/* PCI MMIO window in the 32-bit hole, below the IOAPIC/LAPIC/ECAM area. */
#define MACHINE_PCI_MMIO32_BASE 0xc0000000ULL
#define MACHINE_PCI_MMIO32_SIZE 0x20000000ULL
#define MACHINE_ACPI_RESET_PORT 0x610
/* PCIe ECAM for bus 0 (1 MiB), above the 32-bit window; described by MCFG. */
#define MACHINE_PCI_ECAM_BASE 0xe0000000ULL
/* 64-bit PCI window: from the first 1 GiB boundary above RAM, at most 64 GiB,
 * and never past what the guest CPU can address. */
#define MACHINE_PCI_MMIO64_MAX 0x1000000000ULL

static void machine_mmio64_window(const struct vm *vm, uint64_t *base, uint64_t *size)
{
	uint64_t ram_end = GM_HOLE_END, limit = 1ULL << vm->phys_bits;

	for (unsigned i = 0; i < vm->mem.nregions; i++)
		ram_end = MAX(ram_end, vm->mem.regions[i].gpa + vm->mem.regions[i].size);
	*base = ALIGN_UP(ram_end, 1ULL << 30);
	*size = *base < limit ? MIN(MACHINE_PCI_MMIO64_MAX, limit - *base) : 0;
}

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
	machine_mmio64_window(vm, &cfg.pci_mmio64_base, &cfg.pci_mmio64_size);
	cfg.pci_ecam_base = MACHINE_PCI_ECAM_BASE;
	cfg.pci_ecam_last_bus = 0;
	len = acpi_build_tables(&cfg, m->acpi_tables, sizeof(m->acpi_tables), BOOT_ACPI_GPA, &m->rsdp_gpa);
	if (len < 0)
		return err_prefix("building ACPI tables");
	m->acpi_len = (size_t)len;
	m->pm = acpi_pm_create(&vm->pio, &cfg, machine_irq(vm, cfg.sci_irq), vm->request_sink);
	if (!m->pm)
		return err_prefix("ACPI PM device");
	return 0;
}

/* virtio devices, one PCI function each, in command-line order after the host
 * bridge; their interrupts are MSI-X through KVM routes and irqfds. */
static int machine_create_virtio(struct vm *vm)
{
	struct machine *m = vm->machine;
	struct virtio_host_ops *host = &m->virtio_host;

	if (!vm->irqchip && (vm->cfg.ndisks || vm->cfg.rng || vm->cfg.nnets ||
			      vm->cfg.virtconsole || vm->cfg.nchannels))
		return err_set(ERR_INVALID, "virtio devices need a kernel (no --payload)");
	*host = (struct virtio_host_ops){ kvm_msi_route, kvm_irqfd, kvm_ioeventfd, kvm_gsi_alloc, vm };
	for (unsigned i = 0; i < vm->cfg.ndisks; i++) {
		struct vblk_opts opts;
		struct vblk *b;
		int rc = vblk_parse_opts(vm->cfg.disks[i], &opts);

		/* Disks without an id get QEMU's names for -drive if=virtio: virtio0, virtio1... */
		if (rc == 0 && !opts.id && asprintf(&opts.id, "virtio%u", i) < 0)
			opts.id = NULL;
		b = rc < 0 ? NULL : vblk_create(&opts, &vm->mem, host, true);
		vblk_opts_free(&opts);
		if (!b)
			return err_prefix("--disk %s", vm->cfg.disks[i]);
		m->disks[m->ndisks++] = b;
		if (pci_register_device(m->pci, virtio_pci_device(vblk_transport(b)), -1) < 0)
			return err_prefix("--disk %s", vm->cfg.disks[i]);
	}
	if (vm->cfg.rng) {
		struct vrng_opts opts = { .gm = &vm->mem, .host = host, .iothread = true };

		m->rng = vrng_create(&opts);
		if (!m->rng || pci_register_device(m->pci, virtio_pci_device(vrng_transport(m->rng)), -1) < 0)
			return err_prefix("--rng");
	}
	for (unsigned i = 0; i < vm->cfg.nnets; i++) {
		struct vnet_opts opts;
		struct vnet *n;
		int rc = vnet_parse_opts(vm->cfg.nets[i], &opts);

		n = rc < 0 ? NULL : vnet_create(&opts, &vm->mem, host);
		vnet_opts_free(&opts);
		if (!n)
			return err_prefix("--net %s", vm->cfg.nets[i]);
		m->nets[m->nnets++] = n;
		if (pci_register_device(m->pci, virtio_pci_device(vnet_transport(n)), -1) < 0)
			return err_prefix("--net %s", vm->cfg.nets[i]);
	}
	if (vm->cfg.virtconsole || vm->cfg.nchannels) {
		struct vcon_channel ch[VM_MAX_CHANNELS] = { 0 };
		struct vcon_opts opts = { .gm = &vm->mem, .host = host, .iothread = true, .loop = vm->loop,
					  .console_spec = vm->cfg.virtconsole, .channels = ch,
					  .nchannels = vm->cfg.nchannels };
		int rc = 0;

		for (unsigned i = 0; i < vm->cfg.nchannels && !rc; i++)
			rc = vcon_parse_channel(vm->cfg.channels[i], &ch[i]);
		m->vcon = rc < 0 ? NULL : vcon_create(&opts);
		for (unsigned i = 0; i < vm->cfg.nchannels; i++)
			vcon_channel_free(&ch[i]);
		if (!m->vcon || pci_register_device(m->pci, virtio_pci_device(vcon_transport(m->vcon)), -1) < 0)
			return err_prefix("--console/--channel");
	}
	return 0;
}

unsigned machine_pci_devices(struct vm *vm, struct pci_device **devs, unsigned max)
{
	struct machine *m = vm->machine;
	unsigned n = 0;

	for (unsigned i = 0; i < m->ndisks && n < max; i++)
		devs[n++] = virtio_pci_device(vblk_transport(m->disks[i]));
	if (m->rng && n < max)
		devs[n++] = virtio_pci_device(vrng_transport(m->rng));
	for (unsigned i = 0; i < m->nnets && n < max; i++)
		devs[n++] = virtio_pci_device(vnet_transport(m->nets[i]));
	if (m->vcon && n < max)
		devs[n++] = virtio_pci_device(vcon_transport(m->vcon));
	return n;
}

/* The machine's legacy devices, as a PC has them:
 *   COM1 0x3f8 GSI 4 | i8042 0x60/0x64 GSI 1/12 | RTC 0x70 GSI 8 | debug port 0x80
 *   PCI conf1 0xcf8 (0xcf9 reset control), ECAM 0xe0000000 | ACPI PM 0x600-0x60b, reset 0x610,
 *   SCI GSI 9 */
int machine_create_devices(struct vm *vm)
{
	struct machine *m = vm->machine;
	uint64_t below_4g = MIN(vm->mem.ram_size, GM_HOLE_START), mmio64_base, mmio64_size;

	m->console = chardev_open(vm->cfg.serial_spec, vm->loop);
	if (!m->console)
		return err_prefix("--serial");
	m->com1 = serial_create(&vm->pio, SERIAL_COM1_BASE, machine_irq(vm, SERIAL_COM1_GSI), m->console);
	if (!m->com1)
		return err_prefix("COM1");
	m->i8042 = i8042_create(&vm->pio, machine_irq(vm, I8042_KBD_GSI), machine_irq(vm, I8042_AUX_GSI),
				&vm->request_sink);
	if (!m->i8042)
		return err_prefix("i8042");
	m->rtc = rtc_create(&vm->pio, machine_irq(vm, RTC_GSI));
	if (!m->rtc)
		return err_prefix("RTC");
	rtc_set_memory(m->rtc, below_4g, vm->mem.ram_size - below_4g);
	rtc_set_nr_cpus(m->rtc, vm->ncpus);
	/* Linux implements hwclock sync and rtcwake with the RTC's alarm interrupt. */
	if (vm->irqchip && rtc_start_timer(m->rtc, vm->loop) < 0)
		return err_prefix("RTC timer");
	if (vm->cfg.markers_path) {
		m->markers_fd = open(vm->cfg.markers_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (m->markers_fd < 0)
			return err_set_errno(ERR_IO, errno, "--markers: cannot open '%s'", vm->cfg.markers_path);
	}
	m->debugport = debugport_create(&vm->pio, DEBUGPORT_PORT, vm->boot_entry_ns, m->markers_fd);
	if (!m->debugport)
		return err_prefix("debug port");
	machine_mmio64_window(vm, &mmio64_base, &mmio64_size);
	m->pci = pci_bus_create(&vm->pio, &vm->mmio, MACHINE_PCI_MMIO32_BASE, MACHINE_PCI_MMIO32_SIZE,
				mmio64_base, mmio64_size);
	if (!m->pci)
		return err_prefix("PCI host bridge");
	pci_bus_set_request_sink(m->pci, &vm->request_sink);
	if (pci_bus_register_ecam(m->pci, MACHINE_PCI_ECAM_BASE) < 0)
		return err_prefix("PCI ECAM");
	if (machine_create_virtio(vm) < 0)
		return -1;
	return machine_create_acpi(vm);
}

void machine_reset_devices(struct vm *vm)
{
	struct machine *m = vm->machine;

	serial_reset(m->com1);
	i8042_reset(m->i8042);
	rtc_reset(m->rtc);
	pci_bus_reset(m->pci);
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
	for (unsigned i = 0; i < m->ndisks; i++) {
		pci_unregister_device(m->pci, virtio_pci_device(vblk_transport(m->disks[i])));
		vblk_destroy(m->disks[i]);
	}
	m->ndisks = 0;
	if (m->rng) {
		pci_unregister_device(m->pci, virtio_pci_device(vrng_transport(m->rng)));
		vrng_destroy(m->rng);
		m->rng = NULL;
	}
	for (unsigned i = 0; i < m->nnets; i++) {
		pci_unregister_device(m->pci, virtio_pci_device(vnet_transport(m->nets[i])));
		vnet_destroy(m->nets[i]);
	}
	m->nnets = 0;
	if (m->vcon) {
		pci_unregister_device(m->pci, virtio_pci_device(vcon_transport(m->vcon)));
		vcon_destroy(m->vcon);
		m->vcon = NULL;
	}
	if (m->pci)
		pci_bus_destroy(m->pci);
	if (m->debugport)
		debugport_destroy(m->debugport);
	if (m->markers_fd >= 0)
		close(m->markers_fd);
	if (m->rtc)
		rtc_destroy(m->rtc);
	if (m->i8042)
		i8042_destroy(m->i8042);
	if (m->com1)
		serial_destroy(m->com1);
	if (m->console) {
		chardev_flush(m->console, 1000);
		chardev_close(m->console);
	}
	m->com1 = NULL;
	m->pm = NULL;
	m->pci = NULL;
	m->debugport = NULL;
	m->rtc = NULL;
	m->i8042 = NULL;
	m->markers_fd = -1;
	m->console = NULL;
}
