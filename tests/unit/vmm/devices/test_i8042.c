/* Unit tests of the i8042 controller: the probe sequence Linux's i8042 driver
 * runs, reset requests, and answers for absent devices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "vmm/devices/i8042.h"
#include "fakes.h"

#define DATA 0x60
#define CMD 0x64

struct fixture {
	struct bus pio;
	struct irq_recorder kbd, aux;
	struct request_recorder req;
	struct vm_request_sink sink;
	struct i8042 *k;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	bus_init(&f->pio, "pio");
	f->sink = (struct vm_request_sink){ request_recorder_fn, &f->req };
	f->k = i8042_create(&f->pio, irq_recorder_pin(&f->kbd, I8042_KBD_GSI),
			    irq_recorder_pin(&f->aux, I8042_AUX_GSI), &f->sink);
	assert_non_null(f->k);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	i8042_destroy(f->k);
	bus_destroy(&f->pio);
	free(f);
	return 0;
}

/* Linux's i8042_wait_read + read: the byte must be there at once. */
static uint8_t read_answer(struct fixture *f)
{
	assert_int_equal(inb(&f->pio, CMD) & 0x01, 0x01);
	return inb(&f->pio, DATA);
}

static void test_i8042_self_test_answers_0x55_and_interface_test_0x00(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(inb(&f->pio, CMD) & 0x03, 0);   /* nothing to flush, not busy */
	outb(&f->pio, CMD, 0xaa);
	assert_int_equal(read_answer(f), 0x55);
	assert_int_equal(inb(&f->pio, CMD) & 0x04, 0x04);
	outb(&f->pio, CMD, 0xab);
	assert_int_equal(read_answer(f), 0x00);
	outb(&f->pio, CMD, 0xa9);
	assert_int_equal(read_answer(f), 0x00);
	assert_int_equal(inb(&f->pio, CMD) & 0x01, 0);
}

static void test_i8042_command_byte_reads_back_what_was_written(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, CMD, 0x60);
	outb(&f->pio, DATA, 0x65);
	outb(&f->pio, CMD, 0x20);
	assert_int_equal(read_answer(f), 0x65);
	outb(&f->pio, CMD, 0xa7);                 /* aux off sets CTR bit 5 */
	outb(&f->pio, CMD, 0xad);                 /* kbd off sets CTR bit 4 */
	outb(&f->pio, CMD, 0x20);
	assert_int_equal(read_answer(f), 0x75);
	outb(&f->pio, CMD, 0xa8);
	outb(&f->pio, CMD, 0xae);
	outb(&f->pio, CMD, 0x20);
	assert_int_equal(read_answer(f), 0x45);
}

static void test_i8042_pulse_command_0xfe_requests_reset(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, CMD, 0xff);                 /* pulse nothing */
	assert_int_equal(f->req.resets, 0);
	outb(&f->pio, CMD, 0xfe);
	assert_int_equal(f->req.resets, 1);
	assert_int_equal(f->req.poweroffs, 0);
}

static void test_i8042_output_port_reset_line_and_read_back(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, CMD, 0xd0);
	assert_int_equal(read_answer(f) & 0x03, 0x03);
	outb(&f->pio, CMD, 0xd1);
	outb(&f->pio, DATA, 0x03);
	assert_int_equal(f->req.resets, 0);
	outb(&f->pio, CMD, 0xd1);
	outb(&f->pio, DATA, 0x02);                /* reset line asserted (low) */
	assert_int_equal(f->req.resets, 1);
}

static void test_i8042_aux_loop_returns_byte_as_aux_data_with_irq12(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, CMD, 0xd3);
	outb(&f->pio, DATA, 0x5a);
	assert_int_equal(f->aux.level, 1);
	assert_int_not_equal(f->kbd.level, 1);
	assert_int_equal(inb(&f->pio, CMD) & 0x21, 0x21);
	assert_int_equal(inb(&f->pio, DATA), 0x5a);
	assert_int_equal(f->aux.level, 0);
	outb(&f->pio, CMD, 0xd2);
	outb(&f->pio, DATA, 0x77);
	assert_int_equal(f->kbd.level, 1);
	assert_int_equal(inb(&f->pio, CMD) & 0x21, 0x01);
	assert_int_equal(inb(&f->pio, DATA), 0x77);
	assert_int_equal(f->kbd.level, 0);
}

static void test_i8042_bytes_for_absent_devices_get_nak_and_timeout_at_once(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, DATA, 0xf2);                /* atkbd GET ID */
	assert_int_equal(inb(&f->pio, CMD) & 0x61, 0x41);
	assert_int_equal(inb(&f->pio, DATA), 0xfe);
	outb(&f->pio, CMD, 0xd4);
	outb(&f->pio, DATA, 0xf2);                /* psmouse GET ID */
	assert_int_equal(inb(&f->pio, CMD) & 0x61, 0x61);
	assert_int_equal(inb(&f->pio, DATA), 0xfe);
	assert_int_equal(inb(&f->pio, CMD) & 0x01, 0);
}

static void test_i8042_irqs_follow_the_command_byte_enables(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, CMD, 0x60);
	outb(&f->pio, DATA, 0x44);                /* no interrupts */
	outb(&f->pio, CMD, 0xd2);
	outb(&f->pio, DATA, 0x11);
	assert_int_not_equal(f->kbd.level, 1);
	outb(&f->pio, CMD, 0x60);
	outb(&f->pio, DATA, 0x45);                /* kbd interrupt on: pending byte raises */
	assert_int_equal(f->kbd.level, 1);
	inb(&f->pio, DATA);
	assert_int_equal(f->kbd.level, 0);
}

static void test_i8042_any_width_access_is_safe(void **state)
{
	struct fixture *f = *state;
	const uint32_t widths[] = { 1, 2, 4, 8 };
	uint8_t data[8];

	for (unsigned w = 0; w < ARRAY_SIZE(widths); w++) {
		for (uint64_t off = 0; off < 2; off++) {
			memset(data, 0, sizeof(data));
			i8042_data_io(f->k, off, data, widths[w], false);
			i8042_command_io(f->k, off, data, widths[w], false);
			for (uint32_t i = 1; i < widths[w]; i++)
				assert_int_equal(data[i], 0xff);
			memset(data, 0xff, sizeof(data));
			i8042_data_io(f->k, off, data, widths[w], true);
			i8042_command_io(f->k, off, data, widths[w], true);
		}
	}
	/* 0xff written as a command pulses no line. */
	assert_int_equal(f->req.resets, 0);
}

static void test_i8042_reset_restores_command_byte_and_empties_the_buffer(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, CMD, 0x60);
	outb(&f->pio, DATA, 0x00);
	outb(&f->pio, CMD, 0xd2);
	outb(&f->pio, DATA, 0x12);
	outb(&f->pio, CMD, 0xd1);                 /* left waiting for its data byte */
	i8042_reset(f->k);
	assert_int_equal(inb(&f->pio, CMD) & 0x01, 0);
	outb(&f->pio, CMD, 0x20);
	assert_int_equal(read_answer(f), 0x47);
	assert_int_equal(f->req.resets, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_i8042_self_test_answers_0x55_and_interface_test_0x00),
		T(test_i8042_command_byte_reads_back_what_was_written),
		T(test_i8042_pulse_command_0xfe_requests_reset),
		T(test_i8042_output_port_reset_line_and_read_back),
		T(test_i8042_aux_loop_returns_byte_as_aux_data_with_irq12),
		T(test_i8042_bytes_for_absent_devices_get_nak_and_timeout_at_once),
		T(test_i8042_irqs_follow_the_command_byte_enables),
		T(test_i8042_any_width_access_is_safe),
		T(test_i8042_reset_restores_command_byte_and_empties_the_buffer),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
