/* Test helper: a minimal virtio-pci driver speaking to a device through a real
 * PCI bus (config accesses) and MMIO bus (BAR 0), as the guest's would. */
#ifndef VIREO_TESTS_VIRTIO_DRIVER_H
#define VIREO_TESTS_VIRTIO_DRIVER_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/devices/pci.h"
#include "vmm/devices/virtio/virtio.h"
#include "ring.h"

#define DRV_MMIO32_BASE 0xc0000000ULL
#define DRV_MMIO32_SIZE 0x10000000ULL
#define DRV_BAR 0xc0100000ULL

/* Offsets of BAR 0 regions as the capabilities name them. */
struct drv {
	struct bus pio, mmio;
	struct pci_bus *pci;
	int slot;
	uint32_t common, isr, device, notify, notify_mult, msix_cap;
	uint32_t table, pba;
	uint32_t cfg_cap;    /* VIRTIO_PCI_CAP_PCI_CFG capability offset */
};

static inline uint32_t drv_cfg_read(struct drv *d, uint32_t reg, uint32_t len)
{
	uint8_t b[4] = { 0 };

	pci_config_access(d->pci, 0, (unsigned)d->slot, 0, reg, b, len, false);
	return (uint32_t)bus_data_get(b, len);
}

static inline void drv_cfg_write(struct drv *d, uint32_t reg, uint32_t len, uint32_t v)
{
	uint8_t b[4];

	bus_data_put(b, len, v);
	pci_config_access(d->pci, 0, (unsigned)d->slot, 0, reg, b, len, true);
}

static inline uint64_t drv_rd(struct drv *d, uint64_t off, uint32_t len)
{
	uint8_t b[8];

	memset(b, 0xff, sizeof(b));
	bus_dispatch(&d->mmio, DRV_BAR + off, b, len, false);
	return bus_data_get(b, len);
}

static inline void drv_wr(struct drv *d, uint64_t off, uint32_t len, uint64_t v)
{
	uint8_t b[8];

	bus_data_put(b, len, v);
	bus_dispatch(&d->mmio, DRV_BAR + off, b, len, true);
}

/* Bus setup; then drv_attach() after the device is registered. */
static inline void drv_bus_init(struct drv *d)
{
	memset(d, 0, sizeof(*d));
	bus_init(&d->pio, "pio");
	bus_init(&d->mmio, "mmio");
	d->pci = pci_bus_create(&d->pio, &d->mmio, DRV_MMIO32_BASE, DRV_MMIO32_SIZE, 0, 0);
}

static inline void drv_bus_destroy(struct drv *d)
{
	pci_bus_destroy(d->pci);
	bus_destroy(&d->pio);
	bus_destroy(&d->mmio);
}

/* Walk the capability list like virtio_pci_modern does, program BAR 0 and
 * turn on memory decoding and bus mastering. Returns the number of virtio
 * vendor capabilities found. */
static inline int drv_attach(struct drv *d, int slot)
{
	int found = 0;

	d->slot = slot;
	for (uint32_t c = drv_cfg_read(d, PCI_CAPABILITY_LIST, 1), n = 0; c && n < 48;
	     c = drv_cfg_read(d, c + 1, 1), n++) {
		uint32_t id = drv_cfg_read(d, c, 1);

		if (id == 0x11) {
			d->msix_cap = c;
			d->table = drv_cfg_read(d, c + 4, 4);
			d->pba = drv_cfg_read(d, c + 8, 4);
			continue;
		}
		if (id != 0x09 || drv_cfg_read(d, c + 4, 1) != 0)
			continue;
		found++;
		switch (drv_cfg_read(d, c + 3, 1)) {
		case 1: d->common = drv_cfg_read(d, c + 8, 4); break;
		case 2:
			d->notify = drv_cfg_read(d, c + 8, 4);
			d->notify_mult = drv_cfg_read(d, c + 16, 4);
			break;
		case 3: d->isr = drv_cfg_read(d, c + 8, 4); break;
		case 4: d->device = drv_cfg_read(d, c + 8, 4); break;
		case 5: d->cfg_cap = c; break;
		}
	}
	drv_cfg_write(d, PCI_BAR0, 4, (uint32_t)DRV_BAR);
	drv_cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return found;
}

/* Common config register offsets. */
#define DRV_DFSELECT 0x00
#define DRV_DF 0x04
#define DRV_GFSELECT 0x08
#define DRV_GF 0x0c
#define DRV_MSIX_CONFIG 0x10
#define DRV_NUM_QUEUES 0x12
#define DRV_STATUS 0x14
#define DRV_CFG_GEN 0x15
#define DRV_Q_SELECT 0x16
#define DRV_Q_SIZE 0x18
#define DRV_Q_MSIX 0x1a
#define DRV_Q_ENABLE 0x1c
#define DRV_Q_NOTIFY_OFF 0x1e
#define DRV_Q_DESC 0x20
#define DRV_Q_DRIVER 0x28
#define DRV_Q_DEVICE 0x30

static inline uint64_t drv_device_features(struct drv *d)
{
	drv_wr(d, d->common + DRV_DFSELECT, 4, 0);
	uint64_t lo = drv_rd(d, d->common + DRV_DF, 4);
	drv_wr(d, d->common + DRV_DFSELECT, 4, 1);
	return lo | (drv_rd(d, d->common + DRV_DF, 4) << 32);
}

static inline void drv_set_features(struct drv *d, uint64_t f)
{
	drv_wr(d, d->common + DRV_GFSELECT, 4, 0);
	drv_wr(d, d->common + DRV_GF, 4, (uint32_t)f);
	drv_wr(d, d->common + DRV_GFSELECT, 4, 1);
	drv_wr(d, d->common + DRV_GF, 4, f >> 32);
}

static inline uint8_t drv_status(struct drv *d)
{
	return (uint8_t)drv_rd(d, d->common + DRV_STATUS, 1);
}

/* Enable MSI-X, program and unmask vector v with (addr, data). */
static inline void drv_msix_vector(struct drv *d, unsigned v, uint64_t addr, uint32_t data)
{
	uint32_t t = (d->table & ~7u) + 16 * v;

	drv_cfg_write(d, d->msix_cap + 3, 1, 0x80);
	drv_wr(d, t, 4, (uint32_t)addr);
	drv_wr(d, t + 4, 4, addr >> 32);
	drv_wr(d, t + 8, 4, data);
	drv_wr(d, t + 12, 4, 0);
}

/* Program queue q on `r`'s rings with vector `vec` and enable it. */
static inline void drv_queue(struct drv *d, const struct ring *r, uint16_t q, uint16_t vec)
{
	drv_wr(d, d->common + DRV_Q_SELECT, 2, q);
	drv_wr(d, d->common + DRV_Q_SIZE, 2, r->size);
	drv_wr(d, d->common + DRV_Q_MSIX, 2, vec);
	drv_wr(d, d->common + DRV_Q_DESC, 4, RING_DESC);
	drv_wr(d, d->common + DRV_Q_DESC + 4, 4, 0);
	drv_wr(d, d->common + DRV_Q_DRIVER, 8, RING_AVAIL);
	drv_wr(d, d->common + DRV_Q_DEVICE, 8, RING_USED);
	drv_wr(d, d->common + DRV_Q_ENABLE, 2, 1);
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK; true if the device kept it. */
static inline bool drv_negotiate(struct drv *d, uint64_t features)
{
	drv_wr(d, d->common + DRV_STATUS, 1, 0);
	drv_wr(d, d->common + DRV_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	drv_wr(d, d->common + DRV_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	drv_set_features(d, features);
	drv_wr(d, d->common + DRV_STATUS, 1,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return drv_status(d) & VIRTIO_STATUS_FEATURES_OK;
}

static inline void drv_driver_ok(struct drv *d)
{
	drv_wr(d, d->common + DRV_STATUS, 1,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		       VIRTIO_STATUS_DRIVER_OK);
}

static inline void drv_kick(struct drv *d, uint16_t q)
{
	drv_wr(d, d->notify + d->notify_mult * q, 2, q);
}

#endif
