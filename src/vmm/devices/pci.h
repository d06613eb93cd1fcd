/* PCI bus 0 of vireo-vmm: a host bridge at 00:00.0 (1b36:0008, the QEMU/Red Hat
 * PCIe host bridge, class 0600), configuration mechanism #1 at 0xCF8/0xCFC, an
 * optional PCIe ECAM window, and a registry of function-0 devices with BARs.
 *
 * BAR decoding: the bus registers its address windows once on the pio/mmio
 * buses (mmio32, mmio64, and the I/O window 0xC000-0xFFFF when a device has an
 * I/O BAR) and routes accesses inside them to the BAR that decodes them. A
 * device never registers its BARs on a bus itself: moving a BAR then needs no
 * bus_register() from inside a config-space access (which would deadlock, as
 * ECAM accesses already run under the mmio bus lock). BARs the guest places
 * outside the windows do not decode. Devices learn about moves through
 * bar_update (e.g. to re-register KVM ioeventfds).
 *
 * Locking: config accesses are serialised by the bus (one mutex, like the
 * single CF8 latch of real chipsets); config_read/config_write/bar_update hooks
 * run under it and must not call back into pci_* config functions. BAR
 * handlers run under a read lock shared by all vCPUs; each device locks
 * itself. */
#ifndef VIREO_VMM_DEVICES_PCI_H
#define VIREO_VMM_DEVICES_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/devices/device.h"

#define PCI_CONFIG_SIZE 4096        /* PCIe extended space; conf1 sees the first 256 */
#define PCI_NUM_BARS 6
#define PCI_MAX_SLOTS 32
#define PCI_CONF1_PORT 0xcf8        /* 0xcf8 address, 0xcf9 reset control, 0xcfc-0xcff data */
#define PCI_IO_WINDOW_BASE 0xc000
#define PCI_IO_WINDOW_SIZE 0x4000
#define PCI_ECAM_BUS0_SIZE (1u << 20)  /* 32 devices x 8 functions x 4 KiB */

#define PCI_HOST_BRIDGE_VENDOR 0x1b36
#define PCI_HOST_BRIDGE_DEVICE 0x0008

/* Config header offsets used by devices. */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_CAP_LIST 0x0010

enum pci_bar_type {
	PCI_BAR_NONE = 0,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,   /* uses this BAR and the next one (which stays NONE) */
};

struct pci_bar {
	enum pci_bar_type type;
	bool prefetchable;
	uint64_t size;       /* power of two: >= 4 for I/O, >= 16 for memory */
	bus_handler fn;      /* accesses inside the BAR; offset from the BAR start */
	void *opaque;
	/* Maintained by pci.c. */
	uint64_t addr;       /* base the guest programmed */
	bool mapped;         /* decoding: command bit on, inside a window, non-zero */
};

struct pci_device {
	const char *name;
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];    /* bits the guest may write */
	uint8_t w1cmask[PCI_CONFIG_SIZE];  /* bits a guest write of 1 clears */
	struct pci_bar bars[PCI_NUM_BARS];
	void *opaque;                      /* for the device's own use */
	/* Optional hooks (see the locking note above). config_read may rewrite
	 * data after the generic fill; config_write runs after the generic
	 * update of config[] (and of BAR mappings). */
	void (*config_read)(struct pci_device *dev, uint32_t offset, uint8_t *data, uint32_t len);
	void (*config_write)(struct pci_device *dev, uint32_t offset, const uint8_t *data, uint32_t len);
	void (*bar_update)(struct pci_device *dev, int bar, uint64_t addr, bool mapped);
	/* Called by pci_bus_reset after the generic reset (device state). */
	void (*reset)(struct pci_device *dev);
	/* Set by pci_register_device. */
	struct pci_bus *bus;
	int slot;
	uint16_t cap_next;
	uint8_t reset_bars[4 * PCI_NUM_BARS];  /* BAR values as first assigned */
};

struct pci_bus;

/* Windows must not overlap anything else on the buses; a size of 0 disables
 * a window (64-bit BARs then go to mmio32). NULL with the error set. */
struct pci_bus *pci_bus_create(struct bus *pio, struct bus *mmio, uint64_t mmio32_base,
			       uint64_t mmio32_size, uint64_t mmio64_base, uint64_t mmio64_size);
void pci_bus_destroy(struct pci_bus *bus);
/* ECAM (MMCONFIG) for bus 0 at `base` on the mmio bus, PCI_ECAM_BUS0_SIZE long:
 * describe it in ACPI MCFG (start bus 0, end bus 0) and reserve it in e820 or
 * a PNP0C02 _CRS, else Linux ignores it and uses conf1. */
int pci_bus_register_ecam(struct pci_bus *bus, uint64_t base);
/* Writes of 0x04 with bit 2 set to port 0xCF9 (reset control) request a reset. */
void pci_bus_set_request_sink(struct pci_bus *bus, const struct vm_request_sink *requests);

/* Prepare a device: zero it, set IDs/class (24-bit class code, e.g. 0x010000),
 * header type 0 and the standard writable/read-only/write-1-to-clear masks. */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision);
void pci_device_set_subsystem(struct pci_device *dev, uint16_t vendor, uint16_t id);
/* Describe BAR `bar` before registering; -1 with the error set if invalid. */
int pci_device_set_bar(struct pci_device *dev, int bar, enum pci_bar_type type, uint64_t size,
		       bool prefetchable, bus_handler fn, void *opaque);
/* Append a capability of `len` bytes (id and next pointer included) to the
 * list; returns its config offset, or -1 when it does not fit below 0x100. */
int pci_add_capability(struct pci_device *dev, uint8_t id, uint8_t len);

/* Put `dev` in `slot` (1-31, or -1 for the first free one) and give its BARs
 * addresses from the windows (decoding stays off until the guest sets the
 * command bits, as after reset). Returns the slot or -1 with the error set. */
int pci_register_device(struct pci_bus *bus, struct pci_device *dev, int slot);
/* Stop decoding its BARs (bar_update reports them unmapped) and free its slot.
 * When it returns no vCPU is inside its BAR handlers: the device may be freed. */
void pci_unregister_device(struct pci_bus *bus, struct pci_device *dev);
/* Machine reset: every device's command register to 0 (no decoding, no bus
 * mastering), status errors cleared, BARs back to their first addresses,
 * then its reset hook. */
void pci_bus_reset(struct pci_bus *bus);

/* Config access as the guest sees it (absent functions read all-ones); used
 * by the conf1/ECAM handlers, tests, and the VMM (e.g. to read a BAR). */
void pci_config_access(struct pci_bus *bus, unsigned busno, unsigned slot, unsigned fn,
		       uint32_t reg, uint8_t *data, uint32_t len, bool is_write);

/* Bus handlers, exposed for tests and fuzzers. */
void pci_conf1_handler(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void pci_ecam_handler(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
