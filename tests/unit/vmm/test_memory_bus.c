/* Unit tests of guest memory bounds checks and bus decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/memory.h"

static void test_gm_ptr_refuses_ranges_straddling_the_end(void **state)
{
	static uint8_t ram[4096];
	struct guest_mem gm;
	uint8_t b[8];

	(void)state;
	gm_init_fake(&gm, 0x1000, ram, sizeof(ram));
	assert_non_null(gm_ptr(&gm, 0x1000, 4096));
	assert_null(gm_ptr(&gm, 0x1000, 4097));
	assert_null(gm_ptr(&gm, 0x1ffc, 8));
	assert_null(gm_ptr(&gm, 0xfff, 2));
	assert_null(gm_ptr(&gm, 0x1000, 0));
	assert_null(gm_ptr(&gm, UINT64_MAX - 2, 8));
	assert_null(gm_ptr(&gm, 0x1008, UINT64_MAX));
	assert_int_equal(gm_read(&gm, 0x1ffc, b, 8), -1);
	assert_int_equal(gm_write(&gm, 0x1ff8, b, 8), 0);
}

static void test_gm_init_splits_around_the_hole(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(gm_init(&gm, 5ULL << 30), 0);
	assert_int_equal(gm.nregions, 2);
	assert_int_equal(gm.regions[0].gpa, 0);
	assert_int_equal(gm.regions[0].size, GM_HOLE_START);
	assert_int_equal(gm.regions[1].gpa, GM_HOLE_END);
	assert_int_equal(gm.regions[1].size, (5ULL << 30) - GM_HOLE_START);
	assert_null(gm_ptr(&gm, GM_HOLE_START, 1));
	assert_null(gm_ptr(&gm, GM_HOLE_START - 4, 8));
	assert_non_null(gm_ptr(&gm, GM_HOLE_END, 8));
	gm_destroy(&gm);
	assert_int_equal(gm_init(&gm, 256ULL << 20), 0);
	assert_int_equal(gm.nregions, 1);
	gm_destroy(&gm);
	assert_int_equal(gm_init(&gm, 1000), -1);
}

static unsigned hits;
static uint64_t last_off;

static void rec(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	(void)opaque;
	hits++;
	last_off = off;
	if (!is_write)
		memset(data, 0x5a, len);
}

static void test_bus_dispatches_by_range_and_refuses_overlap(void **state)
{
	struct bus bus;
	uint8_t d[4];

	(void)state;
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, rec, NULL, "com1"), 0);
	assert_int_equal(bus_register(&bus, 0x60, 1, rec, NULL, "kbd"), 0);
	assert_int_equal(bus_register(&bus, 0x3fc, 2, rec, NULL, "dup"), -1);
	assert_true(bus_dispatch(&bus, 0x3fd, d, 1, false));
	assert_int_equal(last_off, 5);
	assert_int_equal(d[0], 0x5a);
	assert_false(bus_dispatch(&bus, 0x400, d, 2, false));
	assert_int_equal(d[0], 0xff);
	assert_int_equal(d[1], 0xff);
	assert_int_equal(hits, 1);
	assert_int_equal(bus_unregister(&bus, 0x3f8), 0);
	assert_false(bus_dispatch(&bus, 0x3f8, d, 1, true));
	bus_destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gm_ptr_refuses_ranges_straddling_the_end),
		cmocka_unit_test(test_gm_init_splits_around_the_hole),
		cmocka_unit_test(test_bus_dispatches_by_range_and_refuses_overlap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
