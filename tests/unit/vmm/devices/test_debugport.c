/* Unit tests of the debug port: timestamps against the start time, the value
 * filter, the bound on recorded events and the exact log line format. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/util.h"
#include "vmm/devices/debugport.h"
#include "fakes.h"

static void test_debugport_timestamps_boot_markers_against_start(void **state)
{
	struct bus pio;
	struct debugport *dp;
	struct debugport_event ev[4];
	uint64_t start, before, after;

	(void)state;
	bus_init(&pio, "pio");
	start = clock_ns();
	dp = debugport_create(&pio, DEBUGPORT_PORT, start, -1);
	assert_non_null(dp);
	usleep(20000);
	before = clock_ns() - start;
	outb(&pio, 0x80, DEBUGPORT_KERNEL_START);
	after = clock_ns() - start;
	assert_int_equal(debugport_events(dp, ev, 4), 1);
	assert_int_equal(ev[0].value, 0x40);
	assert_true(ev[0].ns >= before && ev[0].ns <= after);
	assert_true(ev[0].ns >= 20000000);
	assert_int_equal(debugport_first_ns(dp, 0x40), (int64_t)ev[0].ns);
	assert_int_equal(debugport_first_ns(dp, 0x41), -1);
	assert_int_equal(inb(&pio, 0x80), 0xff);
	debugport_destroy(dp);
	bus_destroy(&pio);
}

static void test_debugport_io_delay_writes_are_counted_not_recorded(void **state)
{
	struct bus pio;
	struct debugport *dp;
	struct debugport_event ev[4];

	(void)state;
	bus_init(&pio, "pio");
	dp = debugport_create(&pio, DEBUGPORT_PORT, clock_ns(), -1);
	for (int i = 0; i < 1000; i++)
		outb(&pio, 0x80, 0x00);
	outb(&pio, 0x80, 0x41);
	assert_int_equal(debugport_writes(dp), 1001);
	assert_int_equal(debugport_events(dp, ev, 4), 1);
	assert_int_equal(ev[0].value, 0x41);
	debugport_record_value(dp, 0x00, true);
	outb(&pio, 0x80, 0x00);
	assert_int_equal(debugport_events(dp, ev, 4), 2);
	debugport_destroy(dp);
	bus_destroy(&pio);
}

static void test_debugport_event_list_is_bounded_and_keeps_the_first(void **state)
{
	struct bus pio;
	struct debugport *dp;
	struct debugport_event *ev = calloc(DEBUGPORT_MAX_EVENTS + 10, sizeof(*ev));

	(void)state;
	bus_init(&pio, "pio");
	dp = debugport_create(&pio, DEBUGPORT_PORT, clock_ns(), -1);
	debugport_record_all(dp, true);
	for (unsigned i = 0; i < DEBUGPORT_MAX_EVENTS + 100; i++)
		outb(&pio, 0x80, (uint8_t)i);
	assert_int_equal(debugport_events(dp, ev, DEBUGPORT_MAX_EVENTS + 10), DEBUGPORT_MAX_EVENTS);
	assert_int_equal(debugport_overflow(dp), 100);
	assert_int_equal(ev[0].value, 0);
	assert_int_equal(ev[DEBUGPORT_MAX_EVENTS - 1].value, (DEBUGPORT_MAX_EVENTS - 1) & 0xff);
	for (unsigned i = 1; i < DEBUGPORT_MAX_EVENTS; i++)
		assert_true(ev[i].ns >= ev[i - 1].ns);
	debugport_destroy(dp);
	bus_destroy(&pio);
	free(ev);
}

static void test_debugport_log_line_has_the_documented_format(void **state)
{
	struct bus pio;
	struct debugport *dp;
	int fds[2];
	char buf[256] = { 0 };
	unsigned value;
	const char *dot;
	double ms;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	bus_init(&pio, "pio");
	dp = debugport_create(&pio, DEBUGPORT_PORT, clock_ns(), fds[1]);
	outb(&pio, 0x80, 0x41);
	outb(&pio, 0x80, 0x07);                   /* not recorded, not logged */
	io_out(&pio, 0x80, 2, 0x4040);            /* only the low byte is ours */
	close(fds[1]);
	assert_true(read(fds[0], buf, sizeof(buf) - 1) > 0);
	close(fds[0]);
	assert_int_equal(sscanf(buf, "debug-port: 0x%x at %lf ms", &value, &ms), 2);
	assert_int_equal(value, 0x41);
	assert_true(ms >= 0 && ms < 1000);
	assert_non_null(strstr(buf, "\ndebug-port: 0x40 at "));
	/* Exactly three decimals, then " ms" and the newline. */
	dot = strchr(buf, '.');
	assert_non_null(dot);
	assert_true(isdigit((unsigned char)dot[1]) && isdigit((unsigned char)dot[2]) &&
		    isdigit((unsigned char)dot[3]));
	assert_memory_equal(dot + 4, " ms\n", 4);
	debugport_destroy(dp);
	bus_destroy(&pio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debugport_timestamps_boot_markers_against_start),
		cmocka_unit_test(test_debugport_io_delay_writes_are_counted_not_recorded),
		cmocka_unit_test(test_debugport_event_list_is_bounded_and_keeps_the_first),
		cmocka_unit_test(test_debugport_log_line_has_the_documented_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
