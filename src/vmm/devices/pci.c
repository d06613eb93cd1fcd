/* PCI host bridge, conf1/ECAM config access and BAR decoding (see pci.h).
 * Config space is byte-addressed with per-byte write and write-1-to-clear
 * masks, so every access width at every offset takes the same path. */
#include "vmm/devices/pci.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CONF1_ENABLE 0x80000000u
#define CF9_RESET_CPU 0x04
#define PCI_CAP_LIST_MAX 48         /* (256 - 64) / 4: bounds any list walk */
#define PCI_BAR_IO_FLAG 0x01
#define PCI_BAR_MEM64_FLAG 0x04
#define PCI_BAR_PREFETCH_FLAG 0x08

enum pci_window_kind { PCI_WINDOW_IO, PCI_WINDOW_MEM32, PCI_WINDOW_MEM64 };

struct pci_window {
	struct pci_bus *bus;
	enum pci_window_kind kind;
	uint64_t base, size;
	uint64_t next;          /* bump allocator for initial BAR addresses */
	bool registered;
};

struct pci_bus {
	struct bus *pio, *mmio;
	pthread_mutex_t config_lock;   /* config space, CF8 latch, slots */
	pthread_rwlock_t map_lock;     /* BAR addresses/mapped flags used by decoding */
	uint32_t conf1_addr;
	uint8_t reset_control;
	const struct vm_request_sink *requests;
	struct pci_device *slots[PCI_MAX_SLOTS];
	struct pci_device host_bridge;
	struct pci_window io, mem32, mem64;
	uint64_t ecam_base;
	bool ecam_registered;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- devices ---- */

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	dev->slot = -1;
	dev->cap_next = 0x40;
	put16(dev->config + PCI_VENDOR_ID, vendor);
	put16(dev->config + PCI_DEVICE_ID, device);
	dev->config[PCI_REVISION_ID] = revision;
	dev->config[PCI_CLASS_PROG] = (uint8_t)class_code;
	dev->config[PCI_CLASS_PROG + 1] = (uint8_t)(class_code >> 8);
	dev->config[PCI_CLASS_PROG + 2] = (uint8_t)(class_code >> 16);
	dev->config[PCI_HEADER_TYPE] = 0x00;
	/* Command: I/O, memory, bus master, parity, SERR, INTx disable. */
	dev->wmask[PCI_COMMAND] = 0x47;
	dev->wmask[PCI_COMMAND + 1] = 0x05;
	/* Status: the error bits are write-1-to-clear; the rest is read-only. */
	dev->w1cmask[PCI_STATUS + 1] = 0xf9;
	dev->wmask[0x0c] = 0xff;                     /* cache line size */
	dev->wmask[0x0d] = 0xff;                     /* latency timer */
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	/* No expansion ROM: 0x30 stays 0 and read-only, so sizing reads 0. */
}

void pci_device_set_subsystem(struct pci_device *dev, uint16_t vendor, uint16_t id)
{
	put16(dev->config + PCI_SUBSYSTEM_VENDOR_ID, vendor);
	put16(dev->config + PCI_SUBSYSTEM_ID, id);
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci_device_set_bar(struct pci_device *dev, int bar, enum pci_bar_type type, uint64_t size,
		       bool prefetchable, bus_handler fn, void *opaque)
{
	uint8_t *cfg, *wm;
	uint32_t low_mask, flags = 0;

	if (bar < 0 || bar >= PCI_NUM_BARS)
		return err_set(ERR_INTERNAL, "pci %s: BAR %d out of range", dev->name, bar);
	if (type == PCI_BAR_MEM64 && bar == PCI_NUM_BARS - 1)
		return err_set(ERR_INTERNAL, "pci %s: 64-bit BAR %d has no upper half", dev->name, bar);
	if (type == PCI_BAR_NONE) {
		memset(&dev->bars[bar], 0, sizeof(dev->bars[bar]));
		return 0;
	}
	if (!is_pow2(size) || (type == PCI_BAR_IO && (size < 4 || size > 0x10000)) ||
	    (type != PCI_BAR_IO && size < 16) || (type == PCI_BAR_MEM32 && size > (1ULL << 31)))
		return err_set(ERR_INTERNAL, "pci %s: BAR %d size 0x%llx invalid", dev->name, bar,
			       (unsigned long long)size);
	if (!fn)
		return err_set(ERR_INTERNAL, "pci %s: BAR %d has no handler", dev->name, bar);
	if (bar > 0 && dev->bars[bar - 1].type == PCI_BAR_MEM64)
		return err_set(ERR_INTERNAL, "pci %s: BAR %d is the upper half of BAR %d", dev->name,
			       bar, bar - 1);
	dev->bars[bar] = (struct pci_bar){ .type = type, .prefetchable = prefetchable, .size = size,
					   .fn = fn, .opaque = opaque };
	if (type == PCI_BAR_IO) {
		flags = PCI_BAR_IO_FLAG;
		low_mask = (uint32_t)~(size - 1) & ~3u;
	} else {
		flags = (type == PCI_BAR_MEM64 ? PCI_BAR_MEM64_FLAG : 0) |
			(prefetchable ? PCI_BAR_PREFETCH_FLAG : 0);
		low_mask = (uint32_t)~(size - 1) & ~0xfu;
	}
	cfg = dev->config + PCI_BAR0 + 4 * bar;
	wm = dev->wmask + PCI_BAR0 + 4 * bar;
	put32(cfg, flags);
	put32(wm, low_mask);
	if (type == PCI_BAR_MEM64) {
		memset(&dev->bars[bar + 1], 0, sizeof(dev->bars[bar + 1]));
		put32(cfg + 4, 0);
		put32(wm + 4, (uint32_t)(~(size - 1) >> 32));
	}
	return 0;
}

int pci_add_capability(struct pci_device *dev, uint8_t id, uint8_t len)
{
	unsigned off = ALIGN_UP((unsigned)dev->cap_next, 4u);
	uint8_t *link = &dev->config[PCI_CAPABILITY_LIST];

	if (len < 2 || off < 0x40 || off + len > 0x100)
		return err_set(ERR_INTERNAL, "pci %s: no room for capability 0x%02x (%u bytes)",
			       dev->name, id, len);
	for (int n = 0; *link && n < PCI_CAP_LIST_MAX; n++)
		link = &dev->config[*link + 1];
	*link = (uint8_t)off;
	dev->config[off] = id;
	dev->config[off + 1] = 0;
	dev->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->cap_next = (uint16_t)(off + len);
	return (int)off;
}

/* ---- BAR decoding ---- */

static struct pci_window *pci_window_for(struct pci_bus *b, const struct pci_bar *bar, uint64_t addr)
{
	struct pci_window *wins[3] = { &b->io, &b->mem32, &b->mem64 };

	for (int i = 0; i < 3; i++) {
		struct pci_window *w = wins[i];

		if (!w->registered || (bar->type == PCI_BAR_IO) != (w->kind == PCI_WINDOW_IO))
			continue;
		if (addr >= w->base && bar->size <= w->size && addr - w->base <= w->size - bar->size)
			return w;
	}
	return NULL;
}

static uint64_t pci_bar_programmed(const struct pci_device *dev, int i)
{
	const uint8_t *cfg = dev->config + PCI_BAR0 + 4 * i;
	uint64_t addr = get32(cfg);

	if (dev->bars[i].type == PCI_BAR_IO)
		return addr & ~3ULL;
	addr &= ~0xfULL;
	if (dev->bars[i].type == PCI_BAR_MEM64)
		addr |= (uint64_t)get32(cfg + 4) << 32;
	return addr;
}

/* Recompute which BARs decode, after a command or BAR write; report changes. */
static void pci_update_mappings(struct pci_bus *b, struct pci_device *dev, bool removing)
{
	uint16_t cmd = (uint16_t)(dev->config[PCI_COMMAND] | dev->config[PCI_COMMAND + 1] << 8);
	struct { int bar; uint64_t addr; bool mapped; } changes[PCI_NUM_BARS];
	int nchanges = 0;

	pthread_rwlock_wrlock(&b->map_lock);
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *bar = &dev->bars[i];
		uint64_t addr;
		bool on, mapped;

		if (bar->type == PCI_BAR_NONE)
			continue;
		addr = pci_bar_programmed(dev, i);
		on = bar->type == PCI_BAR_IO ? (cmd & PCI_COMMAND_IO) : (cmd & PCI_COMMAND_MEMORY);
		mapped = !removing && on && addr != 0 && pci_window_for(b, bar, addr);
		if (mapped != bar->mapped || (mapped && addr != bar->addr)) {
			changes[nchanges].bar = i;
			changes[nchanges].addr = addr;
			changes[nchanges].mapped = mapped;
			nchanges++;
		}
		bar->addr = addr;
		bar->mapped = mapped;
	}
	pthread_rwlock_unlock(&b->map_lock);
	for (int i = 0; i < nchanges && dev->bar_update; i++)
		dev->bar_update(dev, changes[i].bar, changes[i].addr, changes[i].mapped);
}

static void pci_window_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_window *w = opaque;
	struct pci_bus *b = w->bus;
	uint64_t addr = w->base + offset;
	bool io = w->kind == PCI_WINDOW_IO;

	pthread_rwlock_rdlock(&b->map_lock);
	for (int s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_device *dev = b->slots[s];

		if (!dev)
			continue;
		for (int i = 0; i < PCI_NUM_BARS; i++) {
			struct pci_bar *bar = &dev->bars[i];

			if (!bar->mapped || (bar->type == PCI_BAR_IO) != io || addr < bar->addr ||
			    addr - bar->addr >= bar->size)
				continue;
			/* An access running past the BAR end is not decoded. */
			if (len > bar->size - (addr - bar->addr))
				break;
			bar->fn(bar->opaque, addr - bar->addr, data, len, is_write);
			pthread_rwlock_unlock(&b->map_lock);
			return;
		}
	}
	pthread_rwlock_unlock(&b->map_lock);
	if (!is_write)
		memset(data, 0xff, MIN(len, 8u));
}

static int pci_window_register(struct pci_bus *b, struct pci_window *w)
{
	struct bus *target = w->kind == PCI_WINDOW_IO ? b->pio : b->mmio;
	const char *name = w->kind == PCI_WINDOW_IO ? "pci-io-window" :
			   w->kind == PCI_WINDOW_MEM32 ? "pci-mmio32-window" : "pci-mmio64-window";

	if (w->registered || w->size == 0)
		return 0;
	if (bus_register(target, w->base, w->size, pci_window_io, w, name) < 0)
		return err_prefix("pci");
	w->registered = true;
	return 0;
}

static int pci_alloc_bar(struct pci_bus *b, struct pci_device *dev, int i)
{
	struct pci_bar *bar = &dev->bars[i];
	struct pci_window *w;
	uint64_t align, addr;
	uint8_t *cfg = dev->config + PCI_BAR0 + 4 * i;

	if (bar->type == PCI_BAR_IO) {
		w = &b->io;
		if (pci_window_register(b, w) < 0)
			return -1;
	} else if (bar->type == PCI_BAR_MEM64 && b->mem64.size) {
		w = &b->mem64;
	} else {
		w = &b->mem32;
	}
	/* Page alignment for memory BARs so each can be mapped on its own. */
	align = bar->type == PCI_BAR_IO ? bar->size : MAX(bar->size, 4096);
	addr = ALIGN_UP(w->next, align);
	if (w->size == 0 || addr < w->next || addr - w->base > w->size || w->base + w->size - addr < bar->size)
		return err_set(ERR_BUSY, "pci %s: no room for BAR %d (0x%llx bytes) in the %s window",
			       dev->name, i, (unsigned long long)bar->size,
			       w->kind == PCI_WINDOW_IO ? "I/O" : w->kind == PCI_WINDOW_MEM32 ? "mmio32" : "mmio64");
	w->next = addr + bar->size;
	put32(cfg, (get32(cfg) & ((bar->type == PCI_BAR_IO) ? 3u : 0xfu)) | (uint32_t)addr);
	if (bar->type == PCI_BAR_MEM64)
		put32(cfg + 4, (uint32_t)(addr >> 32));
	return 0;
}

/* ---- config space ---- */

static void pci_dev_config_read(struct pci_device *dev, uint32_t reg, uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = reg + i < PCI_CONFIG_SIZE ? dev->config[reg + i] : 0xff;
	if (dev->config_read)
		dev->config_read(dev, reg, data, len);
}

static void pci_dev_config_write(struct pci_bus *b, struct pci_device *dev, uint32_t reg,
				 const uint8_t *data, uint32_t len)
{
	bool remap = false;

	for (uint32_t i = 0; i < len && reg + i < PCI_CONFIG_SIZE; i++) {
		uint32_t o = reg + i;
		uint8_t v = (uint8_t)((dev->config[o] & ~dev->wmask[o]) | (data[i] & dev->wmask[o]));

		dev->config[o] = (uint8_t)(v & ~(data[i] & dev->w1cmask[o]));
		if ((o >= PCI_BAR0 && o < PCI_BAR0 + 4 * PCI_NUM_BARS) || o == PCI_COMMAND)
			remap = true;
	}
	if (remap && dev->bus)
		pci_update_mappings(b, dev, false);
	if (dev->config_write)
		dev->config_write(dev, reg, data, len);
}

void pci_config_access(struct pci_bus *b, unsigned busno, unsigned slot, unsigned fn, uint32_t reg,
		       uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_device *dev;

	len = MIN(len, 8u);
	pthread_mutex_lock(&b->config_lock);
	/* Only function 0 of bus 0 exists: every device is single-function. */
	dev = busno == 0 && fn == 0 && slot < PCI_MAX_SLOTS ? b->slots[slot] : NULL;
	if (!dev || reg >= PCI_CONFIG_SIZE) {
		if (!is_write)
			memset(data, 0xff, len);
	} else {
		len = MIN(len, PCI_CONFIG_SIZE - reg);
		if (is_write)
			pci_dev_config_write(b, dev, reg, data, len);
		else
			pci_dev_config_read(dev, reg, data, len);
	}
	pthread_mutex_unlock(&b->config_lock);
}

void pci_conf1_handler(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *b = opaque;
	uint32_t addr;

	if (offset == 0 && len == 4) {
		pthread_mutex_lock(&b->config_lock);
		if (is_write)
			b->conf1_addr = (uint32_t)bus_data_get(data, 4) & 0x8ffffffcu;
		else
			bus_data_put(data, 4, b->conf1_addr);
		pthread_mutex_unlock(&b->config_lock);
		return;
	}
	if (offset == 1 && len == 1) {
		/* 0xCF9, the PIIX/ICH reset control register (reboot=pci, and
		 * a common ACPI FADT reset register). */
		pthread_mutex_lock(&b->config_lock);
		if (!is_write)
			data[0] = b->reset_control;
		else
			b->reset_control = data[0] & 0x0e;
		pthread_mutex_unlock(&b->config_lock);
		if (is_write && (data[0] & CF9_RESET_CPU)) {
			log_debug("pci: reset requested through 0xcf9 (0x%02x)", data[0]);
			vm_request(b->requests, VM_REQUEST_RESET);
		}
		return;
	}
	if (offset < 4 || offset >= 8) {
		/* Byte/word accesses to 0xCF8-0xCFB are not the address latch. */
		if (!is_write)
			memset(data, 0xff, MIN(len, 8u));
		return;
	}
	pthread_mutex_lock(&b->config_lock);
	addr = b->conf1_addr;
	pthread_mutex_unlock(&b->config_lock);
	if (!(addr & CONF1_ENABLE)) {
		if (!is_write)
			memset(data, 0xff, MIN(len, 8u));
		return;
	}
	{
		/* Register: bits 7:2, plus AMD's extended bits 27:24 as 11:8. */
		uint32_t reg = (addr & 0xfc) | ((addr >> 16) & 0xf00);
		uint32_t n = MIN(len, (uint32_t)(8 - offset));

		pci_config_access(b, (addr >> 16) & 0xff, (addr >> 11) & 0x1f, (addr >> 8) & 7,
				  reg + (uint32_t)(offset - 4), data, n, is_write);
		if (!is_write && n < len)
			memset(data + n, 0xff, MIN(len, 8u) - n);
	}
}

void pci_ecam_handler(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *b = opaque;
	uint32_t reg = (uint32_t)(offset & 0xfff);
	uint32_t n = MIN(MIN(len, 8u), PCI_CONFIG_SIZE - reg);

	pci_config_access(b, (unsigned)(offset >> 20), (offset >> 15) & 0x1f, (offset >> 12) & 7, reg,
			  data, n, is_write);
	if (!is_write && n < MIN(len, 8u))
		memset(data + n, 0xff, MIN(len, 8u) - n);
}

/* ---- bus ---- */

struct pci_bus *pci_bus_create(struct bus *pio, struct bus *mmio, uint64_t mmio32_base,
			       uint64_t mmio32_size, uint64_t mmio64_base, uint64_t mmio64_size)
{
	struct pci_bus *b = calloc(1, sizeof(*b));

	if (!b) {
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (mmio32_base + mmio32_size < mmio32_base || mmio32_base + mmio32_size > (1ULL << 32) ||
	    mmio64_base + mmio64_size < mmio64_base) {
		err_set(ERR_INVALID, "pci: bad window 0x%llx+0x%llx / 0x%llx+0x%llx",
			(unsigned long long)mmio32_base, (unsigned long long)mmio32_size,
			(unsigned long long)mmio64_base, (unsigned long long)mmio64_size);
		free(b);
		return NULL;
	}
	pthread_mutex_init(&b->config_lock, NULL);
	pthread_rwlock_init(&b->map_lock, NULL);
	b->pio = pio;
	b->mmio = mmio;
	b->io = (struct pci_window){ b, PCI_WINDOW_IO, PCI_IO_WINDOW_BASE, PCI_IO_WINDOW_SIZE,
				     PCI_IO_WINDOW_BASE, false };
	b->mem32 = (struct pci_window){ b, PCI_WINDOW_MEM32, mmio32_base, mmio32_size, mmio32_base, false };
	b->mem64 = (struct pci_window){ b, PCI_WINDOW_MEM64, mmio64_base, mmio64_size, mmio64_base, false };
	if (bus_register(pio, PCI_CONF1_PORT, 8, pci_conf1_handler, b, "pci-conf1") < 0) {
		err_prefix("pci");
		goto fail;
	}
	if (pci_window_register(b, &b->mem32) < 0 || pci_window_register(b, &b->mem64) < 0) {
		pci_bus_destroy(b);
		return NULL;
	}
	pci_device_init(&b->host_bridge, "host-bridge", PCI_HOST_BRIDGE_VENDOR, PCI_HOST_BRIDGE_DEVICE,
			0x060000, 0);
	pci_device_set_subsystem(&b->host_bridge, 0x1af4, 0x1100);
	b->host_bridge.bus = b;
	b->host_bridge.slot = 0;
	b->slots[0] = &b->host_bridge;
	return b;
fail:
	pthread_rwlock_destroy(&b->map_lock);
	pthread_mutex_destroy(&b->config_lock);
	free(b);
	return NULL;
}

void pci_bus_destroy(struct pci_bus *b)
{
	if (!b)
		return;
	bus_unregister(b->pio, PCI_CONF1_PORT);
	if (b->io.registered)
		bus_unregister(b->pio, b->io.base);
	if (b->mem32.registered)
		bus_unregister(b->mmio, b->mem32.base);
	if (b->mem64.registered)
		bus_unregister(b->mmio, b->mem64.base);
	if (b->ecam_registered)
		bus_unregister(b->mmio, b->ecam_base);
	pthread_rwlock_destroy(&b->map_lock);
	pthread_mutex_destroy(&b->config_lock);
	free(b);
}

int pci_bus_register_ecam(struct pci_bus *b, uint64_t base)
{
	if (b->ecam_registered)
		return err_set(ERR_EXISTS, "pci: ECAM already at 0x%llx", (unsigned long long)b->ecam_base);
	if (base & (PCI_ECAM_BUS0_SIZE - 1))
		return err_set(ERR_INVALID, "pci: ECAM base 0x%llx not 1 MiB aligned", (unsigned long long)base);
	if (bus_register(b->mmio, base, PCI_ECAM_BUS0_SIZE, pci_ecam_handler, b, "pci-ecam") < 0)
		return err_prefix("pci");
	b->ecam_base = base;
	b->ecam_registered = true;
	return 0;
}

void pci_bus_set_request_sink(struct pci_bus *b, const struct vm_request_sink *requests)
{
	b->requests = requests;
}

int pci_register_device(struct pci_bus *b, struct pci_device *dev, int slot)
{
	struct pci_window saved[3];
	int rc = -1;

	pthread_mutex_lock(&b->config_lock);
	if (slot == -1) {
		for (slot = 1; slot < PCI_MAX_SLOTS && b->slots[slot]; slot++)
			;
		if (slot == PCI_MAX_SLOTS) {
			err_set(ERR_BUSY, "pci %s: all %d slots are taken", dev->name, PCI_MAX_SLOTS);
			goto out;
		}
	} else if (slot < 1 || slot >= PCI_MAX_SLOTS) {
		err_set(ERR_INVALID, "pci %s: slot %d out of range 1-%d", dev->name, slot, PCI_MAX_SLOTS - 1);
		goto out;
	} else if (b->slots[slot]) {
		err_set(ERR_BUSY, "pci %s: slot %d is taken by %s", dev->name, slot, b->slots[slot]->name);
		goto out;
	}
	/* Allocate all BARs or none (the windows' bump pointers roll back). */
	saved[0] = b->io;
	saved[1] = b->mem32;
	saved[2] = b->mem64;
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		if (dev->bars[i].type != PCI_BAR_NONE && pci_alloc_bar(b, dev, i) < 0) {
			b->io.next = saved[0].next;
			b->mem32.next = saved[1].next;
			b->mem64.next = saved[2].next;
			goto out;
		}
	}
	dev->bus = b;
	dev->slot = slot;
	/* Decoding walks slots[] under the map lock, from vCPU threads. */
	pthread_rwlock_wrlock(&b->map_lock);
	b->slots[slot] = dev;
	pthread_rwlock_unlock(&b->map_lock);
	memcpy(dev->reset_bars, dev->config + PCI_BAR0, sizeof(dev->reset_bars));
	pci_update_mappings(b, dev, false);
	rc = slot;
out:
	pthread_mutex_unlock(&b->config_lock);
	return rc;
}

void pci_bus_reset(struct pci_bus *b)
{
	pthread_mutex_lock(&b->config_lock);
	b->conf1_addr = 0;
	b->reset_control = 0;
	for (int s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_device *dev = b->slots[s];

		if (!dev)
			continue;
		dev->config[PCI_COMMAND] = dev->config[PCI_COMMAND + 1] = 0;
		dev->config[PCI_STATUS + 1] &= (uint8_t)~dev->w1cmask[PCI_STATUS + 1];
		if (s != 0)
			memcpy(dev->config + PCI_BAR0, dev->reset_bars, sizeof(dev->reset_bars));
		pci_update_mappings(b, dev, false);
		if (dev->reset)
			dev->reset(dev);
	}
	pthread_mutex_unlock(&b->config_lock);
}

void pci_unregister_device(struct pci_bus *b, struct pci_device *dev)
{
	if (!dev || dev->bus != b || dev->slot <= 0)
		return;
	pthread_mutex_lock(&b->config_lock);
	pci_update_mappings(b, dev, true);
	/* Once we hold the map lock no vCPU is inside one of its BAR handlers,
	 * so the caller may free the device after we return. */
	pthread_rwlock_wrlock(&b->map_lock);
	b->slots[dev->slot] = NULL;
	pthread_rwlock_unlock(&b->map_lock);
	dev->bus = NULL;
	dev->slot = -1;
	pthread_mutex_unlock(&b->config_lock);
}
