/* Unit tests of the PCI host bridge and device registry: conf1 and ECAM access,
 * absent functions, IDs and read-only fields, BAR sizing and relocation with
 * decoding through the windows, capabilities, 0xCF9 reset, any-width access. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "vmm/devices/pci.h"
#include "fakes.h"

#define MMIO32_BASE 0xc0000000ULL
#define MMIO32_SIZE 0x10000000ULL
#define MMIO64_BASE 0x8000000000ULL
#define MMIO64_SIZE 0x100000000ULL
#define ECAM_BASE 0xe0000000ULL

struct bar_log {
	uint64_t last_offset;
	uint32_t last_len;
	uint64_t last_value;
	bool last_write;
	unsigned accesses;
	unsigned updates;
	int update_bar;
	uint64_t update_addr;
	bool update_mapped;
};

struct fixture {
	struct bus pio, mmio;
	struct pci_bus *pci;
	struct pci_device dev;
	struct bar_log log;
	struct request_recorder req;
	struct vm_request_sink sink;
};

static void bar_handler(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct bar_log *l = opaque;

	l->accesses++;
	l->last_offset = offset;
	l->last_len = len;
	l->last_write = is_write;
	if (is_write)
		l->last_value = bus_data_get(data, len);
	else
		bus_data_put(data, len, 0x1122334455667788ULL);
}

static void bar_update(struct pci_device *dev, int bar, uint64_t addr, bool mapped)
{
	struct bar_log *l = dev->opaque;

	l->updates++;
	l->update_bar = bar;
	l->update_addr = addr;
	l->update_mapped = mapped;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	bus_init(&f->pio, "pio");
	bus_init(&f->mmio, "mmio");
	f->pci = pci_bus_create(&f->pio, &f->mmio, MMIO32_BASE, MMIO32_SIZE, MMIO64_BASE, MMIO64_SIZE);
	assert_non_null(f->pci);
	f->sink = (struct vm_request_sink){ request_recorder_fn, &f->req };
	pci_bus_set_request_sink(f->pci, &f->sink);
	/* A virtio-like test device: MEM32 BAR 0 (4 KiB), I/O BAR 2 (32 bytes),
	 * MEM64 prefetchable BAR 4 (16 KiB). */
	pci_device_init(&f->dev, "testdev", 0x1af4, 0x1042, 0x010000, 1);
	f->dev.opaque = &f->log;
	f->dev.bar_update = bar_update;
	assert_int_equal(pci_device_set_bar(&f->dev, 0, PCI_BAR_MEM32, 0x1000, false, bar_handler, &f->log), 0);
	assert_int_equal(pci_device_set_bar(&f->dev, 2, PCI_BAR_IO, 0x20, false, bar_handler, &f->log), 0);
	assert_int_equal(pci_device_set_bar(&f->dev, 4, PCI_BAR_MEM64, 0x4000, true, bar_handler, &f->log), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_bus_destroy(f->pci);
	bus_destroy(&f->pio);
	bus_destroy(&f->mmio);
	free(f);
	return 0;
}

static uint32_t conf1_addr(unsigned slot, unsigned reg)
{
	return 0x80000000u | slot << 11 | (reg & 0xfc);
}

static uint32_t cfg_read(struct fixture *f, unsigned slot, unsigned reg, uint32_t len)
{
	io_out(&f->pio, 0xcf8, 4, conf1_addr(slot, reg));
	return (uint32_t)io_in(&f->pio, 0xcfc + (reg & 3), len);
}

static void cfg_write(struct fixture *f, unsigned slot, unsigned reg, uint32_t len, uint32_t v)
{
	io_out(&f->pio, 0xcf8, 4, conf1_addr(slot, reg));
	io_out(&f->pio, 0xcfc + (reg & 3), len, v);
}

static void test_pci_host_bridge_answers_at_00_0_with_its_ids_and_class(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 0, 0x00, 4), 0x00081b36);
	assert_int_equal(cfg_read(f, 0, 0x0a, 2), 0x0600);
	assert_int_equal(cfg_read(f, 0, 0x0e, 1), 0x00);
	assert_int_equal(cfg_read(f, 0, 0x2c, 4), 0x11001af4);
}

static void test_pci_absent_slots_functions_and_buses_read_all_ones(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 5, 0x00, 4), 0xffffffff);
	assert_int_equal(cfg_read(f, 31, 0x00, 2), 0xffff);
	io_out(&f->pio, 0xcf8, 4, 0x80000000u | 1 << 8);     /* 00:00.1 */
	assert_int_equal(io_in(&f->pio, 0xcfc, 4), 0xffffffff);
	io_out(&f->pio, 0xcf8, 4, 0x80000000u | 1 << 16);    /* 01:00.0 */
	assert_int_equal(io_in(&f->pio, 0xcfc, 4), 0xffffffff);
	/* Without the enable bit the data port reads all-ones too. */
	io_out(&f->pio, 0xcf8, 4, 0x00000000);
	assert_int_equal(io_in(&f->pio, 0xcfc, 4), 0xffffffff);
}

static void test_pci_conf1_address_latch_reads_back_as_linux_probe_expects(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, 0xcfb, 0x01);                   /* pci_check_type1 */
	io_out(&f->pio, 0xcf8, 4, 0x80000000);
	assert_int_equal(io_in(&f->pio, 0xcf8, 4), 0x80000000);
	io_out(&f->pio, 0xcf8, 4, 0x80001237);        /* low two bits are not latched */
	assert_int_equal(io_in(&f->pio, 0xcf8, 4), 0x80001234);
}

static void test_pci_byte_and_word_reads_at_any_offset_of_the_data_window(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(cfg_read(f, 0, i, 1), (0x00081b36u >> (8 * i)) & 0xff);
	assert_int_equal(cfg_read(f, 0, 0x02, 2), 0x0008);
	assert_int_equal(cfg_read(f, 0, 0x01, 2), 0x081b);
	/* A dword at 0xcfd runs past the window: the tail reads 0xff. */
	io_out(&f->pio, 0xcf8, 4, conf1_addr(0, 0));
	assert_int_equal(io_in(&f->pio, 0xcfd, 4), 0xff00081b);
}

static void test_pci_register_device_auto_slot_and_taken_slot_error(void **state)
{
	struct fixture *f = *state;
	struct pci_device other;

	assert_int_equal(pci_register_device(f->pci, &f->dev, -1), 1);
	assert_int_equal(cfg_read(f, 1, 0x00, 4), 0x10421af4);
	assert_int_equal(cfg_read(f, 1, 0x08, 4), 0x01000001);
	pci_device_init(&other, "other", 0x1af4, 0x1041, 0x020000, 0);
	assert_int_equal(pci_register_device(f->pci, &other, 1), -1);
	assert_non_null(strstr(err_message(), "testdev"));
	assert_int_equal(pci_register_device(f->pci, &other, 0), -1);
	assert_int_equal(pci_register_device(f->pci, &other, 7), 7);
	pci_unregister_device(f->pci, &other);
	assert_int_equal(cfg_read(f, 7, 0x00, 4), 0xffffffff);
}

static void test_pci_ids_class_and_header_are_read_only(void **state)
{
	struct fixture *f = *state;

	pci_register_device(f->pci, &f->dev, 3);
	cfg_write(f, 3, 0x00, 4, 0xdeadbeef);
	cfg_write(f, 3, 0x08, 4, 0xffffffff);
	cfg_write(f, 3, 0x0e, 1, 0x80);
	cfg_write(f, 3, 0x2c, 4, 0x12345678);
	cfg_write(f, 3, 0x30, 4, 0xffffffff);         /* no expansion ROM */
	assert_int_equal(cfg_read(f, 3, 0x00, 4), 0x10421af4);
	assert_int_equal(cfg_read(f, 3, 0x08, 4), 0x01000001);
	assert_int_equal(cfg_read(f, 3, 0x0e, 1), 0x00);
	assert_int_equal(cfg_read(f, 3, 0x30, 4), 0);
	/* Writable: command bits and the interrupt line. */
	cfg_write(f, 3, 0x04, 2, 0xffff);
	assert_int_equal(cfg_read(f, 3, 0x04, 2), 0x0547);
	cfg_write(f, 3, 0x3c, 1, 0x0b);
	assert_int_equal(cfg_read(f, 3, 0x3c, 1), 0x0b);
}

static void test_pci_status_error_bits_are_write_one_to_clear(void **state)
{
	struct fixture *f = *state;

	f->dev.config[PCI_STATUS] = 0x20;              /* 66 MHz capable (ro) */
	f->dev.config[PCI_STATUS + 1] = 0x80 | 0x02;   /* parity error, DEVSEL medium (ro) */
	pci_register_device(f->pci, &f->dev, 2);
	cfg_write(f, 2, 0x06, 2, 0x0000);
	assert_int_equal(cfg_read(f, 2, 0x06, 2), 0x8220);
	cfg_write(f, 2, 0x06, 2, 0xffff);
	assert_int_equal(cfg_read(f, 2, 0x06, 2), 0x0220);
}

static void test_pci_bar_sizing_reports_size_and_type_bits(void **state)
{
	struct fixture *f = *state;

	pci_register_device(f->pci, &f->dev, 1);
	cfg_write(f, 1, 0x10, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, 1, 0x10, 4), 0xfffff000);
	cfg_write(f, 1, 0x18, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, 1, 0x18, 4), 0xffffffe1);
	cfg_write(f, 1, 0x20, 4, 0xffffffff);
	cfg_write(f, 1, 0x24, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, 1, 0x20, 4), 0xffffc00c);
	assert_int_equal(cfg_read(f, 1, 0x24, 4), 0xffffffff);
	/* Unused BARs read 0 and cannot be written. */
	cfg_write(f, 1, 0x14, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, 1, 0x14, 4), 0);
}

static void test_pci_bars_get_aligned_addresses_from_the_windows(void **state)
{
	struct fixture *f = *state;
	struct pci_device second;
	uint32_t b0, b4lo, b4hi, io, s0;

	pci_register_device(f->pci, &f->dev, 1);
	b0 = cfg_read(f, 1, 0x10, 4);
	io = cfg_read(f, 1, 0x18, 4);
	b4lo = cfg_read(f, 1, 0x20, 4);
	b4hi = cfg_read(f, 1, 0x24, 4);
	assert_int_equal(b0, MMIO32_BASE);
	assert_int_equal(io, PCI_IO_WINDOW_BASE | 1);
	assert_int_equal(((uint64_t)b4hi << 32) | (b4lo & ~0xfu), MMIO64_BASE);
	pci_device_init(&second, "second", 0x1af4, 0x1043, 0x078000, 1);
	pci_device_set_bar(&second, 0, PCI_BAR_MEM32, 0x2000, false, bar_handler, &f->log);
	pci_register_device(f->pci, &second, -1);
	s0 = cfg_read(f, 2, 0x10, 4);
	assert_true(s0 >= MMIO32_BASE + 0x1000);
	assert_int_equal(s0 % 0x2000, 0);
}

static void test_pci_bar_decodes_only_when_command_enables_it(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4] = { 0 };

	pci_register_device(f->pci, &f->dev, 1);
	assert_false(bus_dispatch(&f->mmio, MMIO32_BASE + 0x10, data, 4, false) && f->log.accesses);
	assert_int_equal(f->log.accesses, 0);
	cfg_write(f, 1, 0x04, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(f->log.update_mapped, true);
	assert_true(bus_dispatch(&f->mmio, MMIO32_BASE + 0x10, data, 4, false));
	assert_int_equal(f->log.accesses, 1);
	assert_int_equal(f->log.last_offset, 0x10);
	assert_int_equal(bus_data_get(data, 4), 0x55667788);
	/* The I/O BAR needs the I/O bit. */
	assert_int_equal(io_in(&f->pio, PCI_IO_WINDOW_BASE + 4, 2), 0xffff);
	cfg_write(f, 1, 0x04, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	io_out(&f->pio, PCI_IO_WINDOW_BASE + 4, 2, 0xbeef);
	assert_int_equal(f->log.last_offset, 4);
	assert_int_equal(f->log.last_value, 0xbeef);
}

static void test_pci_guest_moving_a_bar_moves_its_decoding_and_notifies(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4];
	unsigned before;

	pci_register_device(f->pci, &f->dev, 1);
	cfg_write(f, 1, 0x04, 2, PCI_COMMAND_MEMORY);
	cfg_write(f, 1, 0x10, 4, (uint32_t)(MMIO32_BASE + 0x80000));
	assert_int_equal(f->log.update_bar, 0);
	assert_int_equal(f->log.update_addr, MMIO32_BASE + 0x80000);
	assert_true(f->log.update_mapped);
	before = f->log.accesses;
	bus_dispatch(&f->mmio, MMIO32_BASE, data, 4, false);
	assert_int_equal(f->log.accesses, before);      /* old place is empty */
	assert_int_equal(bus_data_get(data, 4), 0xffffffff);
	bus_dispatch(&f->mmio, MMIO32_BASE + 0x80000 + 8, data, 4, false);
	assert_int_equal(f->log.accesses, before + 1);
	assert_int_equal(f->log.last_offset, 8);
	/* Outside every window: not decoded, reported unmapped. */
	cfg_write(f, 1, 0x10, 4, 0x10000000);
	assert_false(f->log.update_mapped);
	/* An access running past the BAR end is not decoded either. */
	cfg_write(f, 1, 0x10, 4, (uint32_t)MMIO32_BASE);
	before = f->log.accesses;
	bus_dispatch(&f->mmio, MMIO32_BASE + 0xffe, data, 4, false);
	assert_int_equal(f->log.accesses, before);
}

static void test_pci_capability_list_links_and_sets_status_bit(void **state)
{
	struct fixture *f = *state;
	int a, b;

	a = pci_add_capability(&f->dev, 0x09, 16);
	b = pci_add_capability(&f->dev, 0x11, 12);
	assert_int_equal(a, 0x40);
	assert_int_equal(b, 0x50);
	pci_register_device(f->pci, &f->dev, 1);
	assert_int_equal(cfg_read(f, 1, 0x06, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_read(f, 1, 0x34, 1), 0x40);
	assert_int_equal(cfg_read(f, 1, 0x40, 2), 0x5009);
	assert_int_equal(cfg_read(f, 1, 0x50, 2), 0x0011);
	cfg_write(f, 1, 0x34, 1, 0x00);              /* the pointer is read-only */
	assert_int_equal(cfg_read(f, 1, 0x34, 1), 0x40);
	assert_int_equal(pci_add_capability(&f->dev, 0x05, 200), -1);
}

static void test_pci_ecam_reaches_the_same_config_space_including_extended(void **state)
{
	struct fixture *f = *state;
	uint8_t data[8];

	pci_register_device(f->pci, &f->dev, 4);
	assert_int_equal(pci_bus_register_ecam(f->pci, ECAM_BASE), 0);
	bus_dispatch(&f->mmio, ECAM_BASE + (4 << 15), data, 4, false);
	assert_int_equal(bus_data_get(data, 4), 0x10421af4);
	bus_dispatch(&f->mmio, ECAM_BASE + (5 << 15), data, 4, false);
	assert_int_equal(bus_data_get(data, 4), 0xffffffff);
	/* Extended space exists (reads 0: no extended capabilities). */
	bus_dispatch(&f->mmio, ECAM_BASE + (4 << 15) + 0x100, data, 4, false);
	assert_int_equal(bus_data_get(data, 4), 0);

	bus_data_put(data, 2, 0x0002);
	bus_dispatch(&f->mmio, ECAM_BASE + (4 << 15) + 4, data, 2, true);
	assert_int_equal(cfg_read(f, 4, 0x04, 2), 0x0002);
	/* The last bytes of a function: the part past 4 KiB reads 0xff. */
	bus_dispatch(&f->mmio, ECAM_BASE + (4 << 15) + 0xffe, data, 4, false);
	assert_int_equal(data[2], 0xff);
	assert_int_equal(data[3], 0xff);
	assert_int_equal(pci_bus_register_ecam(f->pci, ECAM_BASE), -1);
}

static void test_pci_cf9_reset_control_requests_a_reset(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, 0xcf9, 0x02);
	assert_int_equal(f->req.resets, 0);
	outb(&f->pio, 0xcf9, 0x06);
	assert_int_equal(f->req.resets, 1);
}

static void test_pci_device_set_bar_rejects_bad_descriptions(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pci_device_set_bar(&f->dev, 6, PCI_BAR_MEM32, 0x1000, false, bar_handler, NULL), -1);
	assert_int_equal(pci_device_set_bar(&f->dev, 5, PCI_BAR_MEM64, 0x1000, false, bar_handler, NULL), -1);
	assert_int_equal(pci_device_set_bar(&f->dev, 1, PCI_BAR_MEM32, 0x1800, false, bar_handler, NULL), -1);
	assert_int_equal(pci_device_set_bar(&f->dev, 1, PCI_BAR_MEM32, 8, false, bar_handler, NULL), -1);
	assert_int_equal(pci_device_set_bar(&f->dev, 5, PCI_BAR_MEM32, 0x1000, false, bar_handler, NULL), -1);
	assert_int_equal(pci_device_set_bar(&f->dev, 1, PCI_BAR_IO, 0x1000, false, NULL, NULL), -1);
}

static void test_pci_window_exhaustion_fails_cleanly(void **state)
{
	struct fixture *f = *state;
	struct pci_device big;

	pci_device_init(&big, "big", 0x1af4, 0x1044, 0x010000, 0);
	pci_device_set_bar(&big, 0, PCI_BAR_MEM32, 0x80000000ULL, false, bar_handler, &f->log);
	assert_int_equal(pci_register_device(f->pci, &big, -1), -1);
	assert_int_equal(err_code(), ERR_BUSY);
	assert_non_null(strstr(err_message(), "big"));
	/* Nothing was taken: the next device still gets the window start. */
	assert_int_equal(pci_register_device(f->pci, &f->dev, -1), 1);
	assert_int_equal(cfg_read(f, 1, 0x10, 4), MMIO32_BASE);
}

static void test_pci_any_width_at_any_offset_is_safe(void **state)
{
	struct fixture *f = *state;
	const uint32_t widths[] = { 1, 2, 4, 8 };
	uint8_t data[8];

	pci_register_device(f->pci, &f->dev, 1);
	pci_bus_register_ecam(f->pci, ECAM_BASE);
	for (uint32_t reg = 0; reg < 0x48; reg += 1) {
		io_out(&f->pio, 0xcf8, 4, conf1_addr(1, reg));
		for (uint64_t off = 0; off < 8; off++)
			for (unsigned w = 0; w < ARRAY_SIZE(widths); w++) {
				memset(data, 0, sizeof(data));
				pci_conf1_handler(f->pci, off, data, widths[w], false);
				pci_ecam_handler(f->pci, (1 << 15) + reg + off, data, widths[w], false);
				pci_ecam_handler(f->pci, (1 << 15) + 0xff8 + off, data, widths[w], true);
			}
	}
	for (uint64_t off = 0xffff8; off < 0x100000; off++)
		pci_ecam_handler(f->pci, off, data, 8, false);
	/* Identity survived the storm of reads. */
	assert_int_equal(cfg_read(f, 1, 0x00, 4), 0x10421af4);
}

static void test_pci_bus_reset_stops_decoding_and_restores_bars(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4];

	pci_register_device(f->pci, &f->dev, 1);
	cfg_write(f, 1, 0x10, 4, (uint32_t)(MMIO32_BASE + 0x100000));
	cfg_write(f, 1, 0x04, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_true(f->log.update_mapped);
	pci_bus_reset(f->pci);
	assert_false(f->log.update_mapped);
	assert_int_equal(cfg_read(f, 1, 0x04, 2), 0);
	assert_int_equal(cfg_read(f, 1, 0x10, 4), MMIO32_BASE);
	bus_dispatch(&f->mmio, MMIO32_BASE + 0x100000, data, 4, false);
	assert_int_equal(bus_data_get(data, 4), 0xffffffff);
	assert_int_equal(cfg_read(f, 0, 0x00, 4), 0x00081b36);
}

static void test_pci_moving_a_bar_through_ecam_does_not_touch_the_bus(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4];
	unsigned before;

	/* The ECAM write runs under the mmio bus's read lock: a BAR move that
	 * re-registered on that bus would deadlock right here. */
	pci_register_device(f->pci, &f->dev, 1);
	pci_bus_register_ecam(f->pci, ECAM_BASE);
	bus_data_put(data, 2, PCI_COMMAND_MEMORY);
	bus_dispatch(&f->mmio, ECAM_BASE + (1 << 15) + 0x04, data, 2, true);
	bus_data_put(data, 4, (uint32_t)(MMIO32_BASE + 0x200000));
	bus_dispatch(&f->mmio, ECAM_BASE + (1 << 15) + 0x10, data, 4, true);
	assert_true(f->log.update_mapped);
	assert_int_equal(f->log.update_bar, 0);
	assert_int_equal(f->log.update_addr, MMIO32_BASE + 0x200000);
	before = f->log.accesses;
	bus_dispatch(&f->mmio, MMIO32_BASE + 0x200000 + 0x20, data, 4, true);
	assert_int_equal(f->log.accesses, before + 1);
	assert_int_equal(f->log.last_offset, 0x20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_pci_host_bridge_answers_at_00_0_with_its_ids_and_class),
		T(test_pci_absent_slots_functions_and_buses_read_all_ones),
		T(test_pci_conf1_address_latch_reads_back_as_linux_probe_expects),
		T(test_pci_byte_and_word_reads_at_any_offset_of_the_data_window),
		T(test_pci_register_device_auto_slot_and_taken_slot_error),
		T(test_pci_ids_class_and_header_are_read_only),
		T(test_pci_status_error_bits_are_write_one_to_clear),
		T(test_pci_bar_sizing_reports_size_and_type_bits),
		T(test_pci_bars_get_aligned_addresses_from_the_windows),
		T(test_pci_bar_decodes_only_when_command_enables_it),
		T(test_pci_guest_moving_a_bar_moves_its_decoding_and_notifies),
		T(test_pci_capability_list_links_and_sets_status_bit),
		T(test_pci_ecam_reaches_the_same_config_space_including_extended),
		T(test_pci_cf9_reset_control_requests_a_reset),
		T(test_pci_device_set_bar_rejects_bad_descriptions),
		T(test_pci_window_exhaustion_fails_cleanly),
		T(test_pci_any_width_at_any_offset_is_safe),
		T(test_pci_bus_reset_stops_decoding_and_restores_bars),
		T(test_pci_moving_a_bar_through_ecam_does_not_touch_the_bus),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
