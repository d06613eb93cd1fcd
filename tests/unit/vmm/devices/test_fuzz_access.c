/* Robustness of every legacy device against arbitrary guest port/MMIO traffic:
 * a deterministic pseudo-random storm of reads and writes of width 1/2/4/8 at
 * and around each device's ports, run under ASan+UBSan. After the storm each
 * device must still answer its identity/probe correctly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "vmm/devices/debugport.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/pci.h"
#include "vmm/devices/rtc.h"
#include "vmm/devices/serial.h"
#include "fakes.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void test_all_legacy_devices_survive_random_port_traffic(void **state)
{
	static const uint64_t ports[] = { 0x3f8, 0x60, 0x64, 0x70, 0x80, 0xcf8, 0xc000 };
	static const uint32_t widths[] = { 1, 2, 4, 8 };
	struct bus pio, mmio;
	struct irq_recorder irq1, irq4, irq8, irq12;
	struct request_recorder req = { 0 };
	struct vm_request_sink sink = { request_recorder_fn, &req };
	struct chardev *cd = chardev_open("none", NULL);
	struct serial *s;
	struct i8042 *k;
	struct rtc *rtc;
	struct debugport *dp;
	struct pci_bus *pci;
	uint8_t data[8];

	(void)state;
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	s = serial_create(&pio, SERIAL_COM1_BASE, irq_recorder_pin(&irq4, 4), cd);
	k = i8042_create(&pio, irq_recorder_pin(&irq1, 1), irq_recorder_pin(&irq12, 12), &sink);
	rtc = rtc_create(&pio, irq_recorder_pin(&irq8, 8));
	dp = debugport_create(&pio, DEBUGPORT_PORT, 0, -1);
	pci = pci_bus_create(&pio, &mmio, 0xc0000000ULL, 0x10000000ULL, 0, 0);
	assert_non_null(s);
	assert_non_null(k);
	assert_non_null(rtc);
	assert_non_null(dp);
	assert_non_null(pci);
	assert_int_equal(pci_bus_register_ecam(pci, 0xe0000000ULL), 0);

	for (int i = 0; i < 200000; i++) {
		uint64_t r = rng();
		uint64_t port = ports[r % ARRAY_SIZE(ports)] + ((r >> 8) % 12);
		uint32_t len = widths[(r >> 16) % ARRAY_SIZE(widths)];
		bool write = (r >> 20) & 1;

		bus_data_put(data, 8, rng());
		bus_dispatch(&pio, port, data, len, write);
		if ((r >> 24) % 8 == 0) {
			uint64_t addr = 0xe0000000ULL + ((r >> 28) % (PCI_ECAM_BUS0_SIZE + 64));

			bus_dispatch(&mmio, addr, data, len, write);
		}
	}
	/* Still alive and still themselves. */
	serial_reset(s);
	outb(&pio, 0x3ff, 0x5a);
	assert_int_equal(inb(&pio, 0x3ff), 0x5a);
	i8042_reset(k);
	outb(&pio, 0x64, 0xaa);
	assert_int_equal(inb(&pio, 0x60), 0x55);
	outb(&pio, 0x70, RTC_REG_D);
	assert_int_equal(inb(&pio, 0x71), RTC_D_VRT);
	pci_bus_reset(pci);
	io_out(&pio, 0xcf8, 4, 0x80000000);
	assert_int_equal(io_in(&pio, 0xcfc, 4), 0x00081b36);
	assert_true(debugport_writes(dp) > 0);

	pci_bus_destroy(pci);
	debugport_destroy(dp);
	rtc_destroy(rtc);
	i8042_destroy(k);
	serial_destroy(s);
	chardev_close(cd);
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_legacy_devices_survive_random_port_traffic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
