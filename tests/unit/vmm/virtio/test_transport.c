/* Unit tests of the virtio-pci modern transport, driven through a real PCI and
 * MMIO bus with virtio-rng as the device: identity and capabilities, feature
 * negotiation, queue registers, MSI-X routing/masking/PBA, NEEDS_RESET on a
 * malformed ring, reset, ioeventfds, the I/O thread, query-pci. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/error.h"
#include "vmm/devices/virtio/rng.h"
#include "driver.h"
#include "fakehost.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define MSI_ADDR 0xfee00000ULL

struct fx {
	struct drv d;
	struct ring r;
	struct fake_host h;
	struct virtio_host_ops ops;
	struct vrng *rng;
};

static int setup_with(void **state, bool iothread)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vrng_opts o;

	ring_init(&f->r, 16);
	f->ops = fake_host_ops(&f->h);
	o = (struct vrng_opts){ .gm = &f->r.gm, .host = &f->ops, .iothread = iothread };
	f->rng = vrng_create(&o);
	assert_non_null(f->rng);
	drv_bus_init(&f->d);
	assert_int_equal(pci_register_device(f->d.pci, virtio_pci_device(vrng_transport(f->rng)), 3), 3);
	assert_int_equal(drv_attach(&f->d, 3), 4);   /* common, notify, ISR, PCI cfg (rng has no config) */
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false);
}

static int setup_iothread(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->rng) {
		pci_unregister_device(f->d.pci, virtio_pci_device(vrng_transport(f->rng)));
		vrng_destroy(f->rng);
	}
	drv_bus_destroy(&f->d);
	ring_free(&f->r);
	free(f);
	return 0;
}

/* Full bring-up: vector 0 for config, 1 for the queue, queue 0 on the ring. */
static void bring_up(struct fx *f)
{
	assert_true(drv_negotiate(&f->d, V1 | VIRTIO_BIT(VIRTIO_F_EVENT_IDX)));
	drv_msix_vector(&f->d, 0, MSI_ADDR, 0x40);
	drv_msix_vector(&f->d, 1, MSI_ADDR | 0x1000, 0x41);
	drv_wr(&f->d, f->d.common + DRV_MSIX_CONFIG, 2, 0);
	drv_queue(&f->d, &f->r, 0, 1);
	drv_driver_ok(&f->d);
	assert_int_equal(drv_status(&f->d) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
}

static void test_virtio_pci_identity_and_capabilities(void **state)
{
	struct fx *f = *state;

	assert_int_equal(drv_cfg_read(&f->d, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(drv_cfg_read(&f->d, PCI_DEVICE_ID, 2), 0x1044);
	assert_int_equal(drv_cfg_read(&f->d, PCI_REVISION_ID, 1), 1);
	assert_int_equal(drv_cfg_read(&f->d, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(drv_cfg_read(&f->d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
	assert_int_not_equal(f->d.msix_cap, 0);
	/* Table size field is N-1: config vector + 1 queue = 2 vectors. */
	assert_int_equal(drv_cfg_read(&f->d, f->d.msix_cap + 2, 2) & 0x7ff, 1);
	assert_int_equal(f->d.table & 7, 0);   /* BIR 0 */
	assert_int_equal(f->d.notify_mult, 4);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_NUM_QUEUES, 2), 1);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_Q_SIZE, 2), 256);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
}

static void test_virtio_pci_offers_version_1_indirect_and_event_idx(void **state)
{
	struct fx *f = *state;
	uint64_t df = drv_device_features(&f->d);

	assert_true(df & V1);
	assert_true(df & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	assert_true(df & VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_false(df & VIRTIO_BIT(VIRTIO_F_RING_PACKED));
	drv_wr(&f->d, f->d.common + DRV_DFSELECT, 4, 7);   /* beyond 64 bits: zero */
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_DF, 4), 0);
}

static void test_virtio_pci_refuses_features_ok_without_version_1(void **state)
{
	struct fx *f = *state;

	assert_false(drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_EVENT_IDX)));
	assert_int_equal(drv_status(&f->d), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
}

static void test_virtio_pci_refuses_features_not_offered(void **state)
{
	struct fx *f = *state;

	assert_false(drv_negotiate(&f->d, V1 | VIRTIO_BIT(VIRTIO_F_RING_PACKED)));
	assert_true(drv_negotiate(&f->d, V1));
}

static void test_virtio_pci_driver_features_frozen_after_features_ok(void **state)
{
	struct fx *f = *state;

	assert_true(drv_negotiate(&f->d, V1));
	drv_set_features(&f->d, V1 | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	drv_wr(&f->d, f->d.common + DRV_GFSELECT, 4, 0);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_GF, 4), 0);
	drv_wr(&f->d, f->d.common + DRV_GFSELECT, 4, 1);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_GF, 4), 1);
}

static void test_virtio_pci_driver_ok_without_features_ok_is_refused(void **state)
{
	struct fx *f = *state;

	drv_wr(&f->d, f->d.common + DRV_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
						       VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(drv_status(&f->d) & VIRTIO_STATUS_DRIVER_OK, 0);
}

static void test_virtio_rng_fills_buffer_and_raises_queue_vector(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	static const uint8_t zero[64];

	bring_up(f);
	assert_int_equal(f->h.routes >= 2, 1);
	assert_int_equal(f->h.route_addr[1], MSI_ADDR | 0x1000);   /* vector 1 got gsi 25 */
	assert_int_equal(f->h.route_data[1], 0x41);
	ring_desc(&f->r, 0, RING_DATA, 64, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 0);
	drv_kick(&f->d, 0);
	assert_int_equal(ring_used_idx(&f->r), 1);
	ring_used_elem(&f->r, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 64);
	assert_memory_not_equal(f->r.ram + RING_DATA, zero, 64);
	assert_int_equal(fake_irqs(&f->h, 25, 0), 1);
	assert_int_equal(fake_irqs(&f->h, 24, 0), 0);
	assert_int_equal(vrng_bytes(f->rng), 64);
	/* The ISR says "queue" and clears on read. */
	assert_int_equal(drv_rd(&f->d, f->d.isr, 1), 1);
	assert_int_equal(drv_rd(&f->d, f->d.isr, 1), 0);
}

static void test_virtio_pci_malformed_ring_sets_needs_reset_and_raises_config_vector(void **state)
{
	struct fx *f = *state;

	bring_up(f);
	ring_desc(&f->r, 0, RING_DATA, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);  /* loop */
	ring_publish(&f->r, 0);
	drv_kick(&f->d, 0);
	assert_true(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(drv_status(&f->d) & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(ring_used_idx(&f->r), 0);
	assert_int_equal(fake_irqs(&f->h, 24, 0), 1);   /* config vector */
	assert_int_equal(drv_rd(&f->d, f->d.isr, 1) & 2, 2);
	/* More kicks change nothing and raise nothing more. */
	drv_kick(&f->d, 0);
	assert_int_equal(fake_irqs(&f->h, 24, 0), 0);
	/* Reset recovers the device. */
	drv_wr(&f->d, f->d.common + DRV_STATUS, 1, 0);
	assert_int_equal(drv_status(&f->d), 0);
	memset(f->r.ram + RING_AVAIL, 0, 0x1000);
	memset(f->r.ram + RING_USED, 0, 0x1000);
	f->r.avail_idx = 0;
	bring_up(f);
	ring_desc(&f->r, 0, RING_DATA, 8, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 0);
	drv_kick(&f->d, 0);
	assert_int_equal(ring_used_idx(&f->r), 1);
	assert_false(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_virtio_pci_rings_outside_ram_at_driver_ok_set_needs_reset(void **state)
{
	struct fx *f = *state;

	assert_true(drv_negotiate(&f->d, V1));
	drv_queue(&f->d, &f->r, 0, VIRTIO_MSI_NO_VECTOR);
	drv_wr(&f->d, f->d.common + DRV_Q_SELECT, 2, 0);
	drv_wr(&f->d, f->d.common + DRV_Q_ENABLE, 2, 1);
	/* Reprogramming after enable is ignored; so set up a bad queue afresh. */
	drv_wr(&f->d, f->d.common + DRV_STATUS, 1, 0);
	assert_true(drv_negotiate(&f->d, V1));
	drv_wr(&f->d, f->d.common + DRV_Q_SELECT, 2, 0);
	drv_wr(&f->d, f->d.common + DRV_Q_DESC, 8, 0x7fff0000ULL);   /* beyond 8 MiB of RAM */
	drv_wr(&f->d, f->d.common + DRV_Q_DRIVER, 8, RING_AVAIL);
	drv_wr(&f->d, f->d.common + DRV_Q_DEVICE, 8, RING_USED);
	drv_wr(&f->d, f->d.common + DRV_Q_ENABLE, 2, 1);
	drv_driver_ok(&f->d);
	assert_true(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
	drv_kick(&f->d, 0);   /* must not touch anything */
}

static void test_virtio_pci_queue_registers_fixed_after_enable(void **state)
{
	struct fx *f = *state;

	assert_true(drv_negotiate(&f->d, V1));
	drv_queue(&f->d, &f->r, 0, VIRTIO_MSI_NO_VECTOR);
	drv_wr(&f->d, f->d.common + DRV_Q_SIZE, 2, 4);
	drv_wr(&f->d, f->d.common + DRV_Q_DESC, 8, 0x5000);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_Q_SIZE, 2), 16);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_Q_DESC, 8), RING_DESC);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_Q_ENABLE, 2), 1);
	/* A queue that does not exist reads as zero and ignores writes. */
	drv_wr(&f->d, f->d.common + DRV_Q_SELECT, 2, 5);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_Q_SIZE, 2), 0);
	drv_wr(&f->d, f->d.common + DRV_Q_ENABLE, 2, 1);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_Q_ENABLE, 2), 0);
}

static void test_virtio_pci_vector_out_of_range_reads_no_vector(void **state)
{
	struct fx *f = *state;

	drv_wr(&f->d, f->d.common + DRV_MSIX_CONFIG, 2, 2);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
	drv_wr(&f->d, f->d.common + DRV_Q_MSIX, 2, 0x1234);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	drv_wr(&f->d, f->d.common + DRV_Q_MSIX, 2, 1);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_Q_MSIX, 2), 1);
}

static void test_virtio_pci_masked_vector_pends_then_fires_on_unmask(void **state)
{
	struct fx *f = *state;
	uint32_t t = f->d.table & ~7u;

	bring_up(f);
	drv_wr(&f->d, t + 16 + 12, 4, 1);    /* mask vector 1 */
	ring_desc(&f->r, 0, RING_DATA, 8, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 0);
	drv_kick(&f->d, 0);
	assert_int_equal(ring_used_idx(&f->r), 1);
	assert_int_equal(fake_irqs(&f->h, 25, 0), 0);
	assert_int_equal(drv_rd(&f->d, f->d.pba & ~7u, 8), 2);   /* PBA bit 1 */
	drv_wr(&f->d, t + 16 + 12, 4, 0);    /* unmask: delivered now */
	assert_int_equal(fake_irqs(&f->h, 25, 0), 1);
	assert_int_equal(drv_rd(&f->d, f->d.pba & ~7u, 8), 0);
	/* Function mask (bit 14 of message control) pends too. */
	drv_cfg_write(&f->d, f->d.msix_cap + 3, 1, 0xc0);
	ring_set_used_event(&f->r, ring_used_idx(&f->r));   /* EVENT_IDX: want the next one */
	ring_publish(&f->r, 0);
	drv_kick(&f->d, 0);
	assert_int_equal(fake_irqs(&f->h, 25, 0), 0);
	drv_cfg_write(&f->d, f->d.msix_cap + 3, 1, 0x80);
	assert_int_equal(fake_irqs(&f->h, 25, 0), 1);
}

static void test_virtio_pci_msix_table_write_reroutes_vector(void **state)
{
	struct fx *f = *state;
	uint32_t t = f->d.table & ~7u;

	bring_up(f);
	drv_wr(&f->d, t + 16 + 8, 4, 0x55);
	assert_int_equal(f->h.route_data[1], 0x55);
	assert_int_equal(drv_rd(&f->d, t + 16 + 8, 4), 0x55);
	/* Entries past the table read zero and ignore writes. */
	drv_wr(&f->d, t + 16 * 9, 4, 0x77);
	assert_int_equal(drv_rd(&f->d, t + 16 * 9, 4), 0);
}

static void test_virtio_pci_reset_clears_status_features_and_queues(void **state)
{
	struct fx *f = *state;

	bring_up(f);
	drv_wr(&f->d, f->d.common + DRV_STATUS, 1, 0);
	assert_int_equal(drv_status(&f->d), 0);
	drv_wr(&f->d, f->d.common + DRV_GFSELECT, 4, 1);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_GF, 4), 0);
	drv_wr(&f->d, f->d.common + DRV_Q_SELECT, 2, 0);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_Q_ENABLE, 2), 0);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
	/* Kicks after reset do nothing. */
	ring_desc(&f->r, 0, RING_DATA, 8, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 0);
	drv_kick(&f->d, 0);
	assert_int_equal(ring_used_idx(&f->r), 0);
}

static void test_virtio_pci_machine_reset_resets_device_and_msix(void **state)
{
	struct fx *f = *state;
	uint32_t t = f->d.table & ~7u;

	bring_up(f);
	pci_bus_reset(f->d.pci);
	assert_int_equal(drv_cfg_read(&f->d, f->d.msix_cap + 3, 1) & 0xc0, 0);
	drv_cfg_write(&f->d, PCI_BAR0, 4, (uint32_t)DRV_BAR);
	drv_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(drv_status(&f->d), 0);
	assert_int_equal(drv_rd(&f->d, t + 16 + 12, 4), 1);   /* entries masked again */
	drv_wr(&f->d, f->d.common + DRV_Q_SELECT, 2, 0);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_Q_ENABLE, 2), 0);
}

static void test_virtio_pci_cfg_capability_reaches_bar_through_config_space(void **state)
{
	struct fx *f = *state;
	uint32_t c = f->d.cfg_cap;

	assert_int_not_equal(c, 0);
	/* Window on device_status (common config + 0x14), one byte. */
	drv_cfg_write(&f->d, c + 4, 1, 0);
	drv_cfg_write(&f->d, c + 8, 4, f->d.common + DRV_STATUS);
	drv_cfg_write(&f->d, c + 12, 4, 1);
	drv_cfg_write(&f->d, c + 16, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(drv_status(&f->d), VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(drv_cfg_read(&f->d, c + 16, 1), VIRTIO_STATUS_ACKNOWLEDGE);
	/* Four bytes of num_queues|status|generation through the window. */
	drv_cfg_write(&f->d, c + 8, 4, f->d.common + DRV_NUM_QUEUES);
	drv_cfg_write(&f->d, c + 12, 4, 4);
	assert_int_equal(drv_cfg_read(&f->d, c + 16, 4) & 0xffffff, 0x010001);
	/* Bad windows do nothing: another BAR, width 3, past the BAR's end. */
	drv_cfg_write(&f->d, c + 4, 1, 2);
	drv_cfg_write(&f->d, c + 16, 4, 0);
	assert_int_equal(drv_status(&f->d), VIRTIO_STATUS_ACKNOWLEDGE);
	drv_cfg_write(&f->d, c + 4, 1, 0);
	drv_cfg_write(&f->d, c + 12, 4, 3);
	drv_cfg_write(&f->d, c + 16, 4, 0);
	drv_cfg_write(&f->d, c + 8, 4, 0x7ffe);
	drv_cfg_write(&f->d, c + 12, 4, 4);
	drv_cfg_write(&f->d, c + 16, 4, 0);
	drv_cfg_write(&f->d, c + 8, 4, 0xfffffffc);
	drv_cfg_write(&f->d, c + 16, 4, 0);
	assert_int_equal(drv_status(&f->d), VIRTIO_STATUS_ACKNOWLEDGE);
}

static void test_virtio_pci_hostile_register_storm_does_not_crash(void **state)
{
	struct fx *f = *state;
	uint64_t x = 0x243f6a8885a308d3ULL;

	bring_up(f);
	for (int i = 0; i < 20000; i++) {
		static const uint32_t lens[] = { 1, 2, 4, 8 };
		uint64_t off, v;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		off = (x >> 8) % 0x8000;
		v = x * 0x9e3779b97f4a7c15ULL;
		/* Leave MSI-X control and device reset in play; that is the point.
		 * Every fourth access goes to the capabilities in config space. */
		if ((x & 6) == 6) {
			uint32_t reg = 0x40 + (uint32_t)((x >> 20) % 0xc0);

			if (x & 1)
				drv_cfg_write(&f->d, reg & ~3u, 4, (uint32_t)v);
			else
				drv_cfg_read(&f->d, reg, 1);
		} else if (x & 1)
			drv_wr(&f->d, off, lens[(x >> 4) & 3], v);
		else
			drv_rd(&f->d, off, lens[(x >> 4) & 3]);
	}
}

static void test_virtio_pci_ioeventfd_follows_driver_ok_and_bar_moves(void **state)
{
	struct fx *f = *state;

	bring_up(f);
	assert_int_equal(f->h.ioevt_assigned, 1);
	assert_int_equal(f->h.ioevt_addr[0], DRV_BAR + f->d.notify);
	drv_cfg_write(&f->d, PCI_BAR0, 4, (uint32_t)(DRV_BAR + 0x100000));
	assert_int_equal(f->h.ioevt_assigned, 1);
	assert_int_equal(f->h.ioevt_addr[0], DRV_BAR + 0x100000 + f->d.notify);
	drv_cfg_write(&f->d, PCI_BAR0, 4, (uint32_t)DRV_BAR);
	drv_wr(&f->d, f->d.common + DRV_STATUS, 1, 0);
	assert_int_equal(f->h.ioevt_assigned, 0);
}

/* The first notify capability names I/O BAR 2 (Linux takes the first): a
 * port write there kicks, once I/O decoding is on its ioeventfd is a port
 * one, and it follows the BAR when the driver moves it. */
static void test_virtio_pci_notify_through_the_io_bar(void **state)
{
	struct fx *f = *state;
	uint32_t first = 0, port;
	uint8_t b[2];

	for (uint32_t c = drv_cfg_read(&f->d, PCI_CAPABILITY_LIST, 1); c; c = drv_cfg_read(&f->d, c + 1, 1)) {
		if (drv_cfg_read(&f->d, c, 1) == 0x09 && drv_cfg_read(&f->d, c + 3, 1) == 2) {
			first = c;
			break;
		}
	}
	assert_int_not_equal(first, 0);
	assert_int_equal(drv_cfg_read(&f->d, first + 4, 1), 2);      /* BAR 2 */
	assert_int_equal(drv_cfg_read(&f->d, first + 8, 4), 0);      /* offset */
	assert_int_equal(drv_cfg_read(&f->d, first + 16, 4), 4);     /* multiplier */
	port = drv_cfg_read(&f->d, PCI_BAR0 + 8, 4);
	assert_int_equal(port & 3, 1);                               /* an I/O BAR */
	port &= ~3u;
	assert_true(port >= PCI_IO_WINDOW_BASE);
	drv_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	bring_up(f);
	assert_int_equal(f->h.ioevt_assigned, 2);
	assert_int_equal(f->h.ioevt_addr[0], FAKE_PIO | port);
	/* A kick that exits (no ioeventfd) is served as well. */
	ring_desc(&f->r, 0, RING_DATA, 32, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 0);
	bus_data_put(b, 2, 0);
	bus_dispatch(&f->d.pio, port, b, 2, true);
	assert_int_equal(fake_irqs(&f->h, 25, 2000), 1);
	assert_int_equal(ring_used_idx(&f->r), 1);
	/* Misaligned or out of range: ignored. */
	ring_set_used_event(&f->r, 1);
	ring_publish(&f->r, 0);
	bus_dispatch(&f->d.pio, port + 1, b, 1, true);
	bus_dispatch(&f->d.pio, port + 4, b, 2, true);
	assert_int_equal(fake_irqs(&f->h, 25, 100), 0);
	drv_cfg_write(&f->d, PCI_BAR0 + 8, 4, port + 0x100);
	assert_int_equal(f->h.ioevt_assigned, 2);
	assert_true(f->h.ioevt_addr[0] == (FAKE_PIO | (port + 0x100)) ||
		    f->h.ioevt_addr[1] == (FAKE_PIO | (port + 0x100)));
	drv_wr(&f->d, f->d.common + DRV_STATUS, 1, 0);
	assert_int_equal(f->h.ioevt_assigned, 0);
}

static void test_virtio_pci_iothread_serves_kicks_from_the_eventfd(void **state)
{
	struct fx *f = *state;
	uint64_t one = 1;

	bring_up(f);
	ring_desc(&f->r, 0, RING_DATA, 32, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 0);
	/* What KVM does on the guest's write to the notify address. */
	assert_int_equal(write(f->h.ioevt_fd[0], &one, sizeof(one)), (ssize_t)sizeof(one));
	assert_int_equal(fake_irqs(&f->h, 25, 2000), 1);
	assert_int_equal(ring_used_idx(&f->r), 1);
	/* And a kick that exits to the VMM is forwarded to the thread. */
	ring_set_used_event(&f->r, 1);
	ring_publish(&f->r, 0);
	drv_kick(&f->d, 0);
	assert_int_equal(fake_irqs(&f->h, 25, 2000), 1);
	assert_int_equal(ring_used_idx(&f->r), 2);
}

static void watch_cb(void *opaque)
{
	int *fd = opaque;
	uint64_t cnt;

	assert_int_equal(read(fd[0], &cnt, sizeof(cnt)), (ssize_t)sizeof(cnt));
	__atomic_fetch_add(&fd[1], (int)cnt, __ATOMIC_RELEASE);
}

/* A device's own fd (io_uring completions for virtio-blk) is served on the
 * I/O thread; without one the transport says so instead of never calling. */
static void test_virtio_pci_watch_fd_runs_callback_on_the_iothread(void **state)
{
	struct fx *f = *state;
	struct virtio_pci *vp = vrng_transport(f->rng);
	int w[2] = { eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), 0 };
	uint64_t three = 3;

	assert_true(w[0] >= 0);
	assert_int_equal(virtio_pci_watch_fd(vp, w[0], watch_cb, w), 0);
	assert_int_equal(write(w[0], &three, sizeof(three)), (ssize_t)sizeof(three));
	for (int t = 0; t < 2000 && __atomic_load_n(&w[1], __ATOMIC_ACQUIRE) != 3; t++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&w[1], __ATOMIC_ACQUIRE), 3);
	/* Unregister the transport's thread before the fd goes. */
	pci_unregister_device(f->d.pci, virtio_pci_device(vp));
	vrng_destroy(f->rng);
	f->rng = NULL;
	close(w[0]);
}

static void test_virtio_pci_watch_fd_needs_an_iothread(void **state)
{
	struct fx *f = *state;
	int fd = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(virtio_pci_watch_fd(vrng_transport(f->rng), fd, watch_cb, NULL), -1);
	close(fd);
}

static void test_virtio_pci_query_pci_lists_ids_and_bar(void **state)
{
	struct fx *f = *state;
	struct pci_device *dev = virtio_pci_device(vrng_transport(f->rng));
	struct json_object *j = virtio_pci_query_pci(f->d.pci, &dev, 1);
	const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);

	assert_non_null(strstr(s, "\"bus\":0,\"devices\":["));
	assert_non_null(strstr(s, "\"slot\":3"));
	assert_non_null(strstr(s, "\"id\":{\"device\":4164,\"vendor\":6900,\"subsystem\":4352,\"subsystem-vendor\":6900}"));
	assert_non_null(strstr(s, "\"regions\":[{\"bar\":0,\"type\":\"memory\",\"address\":3222274048,\"size\":32768"));
	assert_non_null(strstr(s, "\"desc\":\"Host bridge\""));
	json_object_put(j);
}

/* x-query-virtio-queue-status: the ring as the device sees it, with QEMU's
 * field names; a queue the device lacks is refused with QEMU's message. */
static void test_virtio_pci_queue_status_reports_ring_state(void **state)
{
	struct fx *f = *state;
	struct virtio_pci *vp = vrng_transport(f->rng);
	struct json_object *j;
	const char *s;
	char want[128];

	assert_ptr_equal(virtio_pci_from_device(virtio_pci_device(vp)), vp);
	assert_null(virtio_pci_from_device(&(struct pci_device){ 0 }));
	bring_up(f);
	ring_desc(&f->r, 0, RING_DATA, 32, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 0);
	drv_kick(&f->d, 0);
	assert_int_equal(ring_used_idx(&f->r), 1);
	ring_publish(&f->r, 0);      /* made available, not kicked: the device has not taken it */
	j = virtio_pci_query_queue(vp, 0);
	assert_non_null(j);
	s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	assert_non_null(strstr(s, "\"name\":\"virtio-rng\",\"queue-index\":0,\"inuse\":0,\"vring-num\":16,"));
	snprintf(want, sizeof(want), "\"vring-desc\":%llu,", (unsigned long long)RING_DESC);
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, "\"last-avail-idx\":1,\"shadow-avail-idx\":2,\"used-idx\":1,"
				  "\"signalled-used\":1,\"signalled-used-valid\":true"));
	json_object_put(j);
	assert_null(virtio_pci_query_queue(vp, 1));
	assert_string_equal(err_message(), "Invalid virtqueue number 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_virtio_pci_identity_and_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_offers_version_1_indirect_and_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_refuses_features_ok_without_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_refuses_features_not_offered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_driver_features_frozen_after_features_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_driver_ok_without_features_ok_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_rng_fills_buffer_and_raises_queue_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_malformed_ring_sets_needs_reset_and_raises_config_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_rings_outside_ram_at_driver_ok_set_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_queue_registers_fixed_after_enable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_vector_out_of_range_reads_no_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_masked_vector_pends_then_fires_on_unmask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_msix_table_write_reroutes_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_reset_clears_status_features_and_queues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_machine_reset_resets_device_and_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_cfg_capability_reaches_bar_through_config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_hostile_register_storm_does_not_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_ioeventfd_follows_driver_ok_and_bar_moves, setup_iothread, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_watch_fd_runs_callback_on_the_iothread, setup_iothread,
						teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_watch_fd_needs_an_iothread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_notify_through_the_io_bar, setup_iothread, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_queue_status_reports_ring_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_iothread_serves_kicks_from_the_eventfd, setup_iothread, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_pci_query_pci_lists_ids_and_bar, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
