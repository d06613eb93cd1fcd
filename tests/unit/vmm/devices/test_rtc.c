/* Unit tests of the MC146818 RTC/CMOS model with a fake host clock: formats,
 * UIP timing, freezing and setting the time, flags and IRQ 8, NVRAM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "vmm/devices/rtc.h"
#include "fakes.h"

#define NS 1000000000ULL

struct fixture {
	struct bus pio;
	struct irq_recorder irq;
	struct rtc *rtc;
	uint64_t now;   /* fake host UTC, ns */
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fixture *)ctx)->now;
}

static uint64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return (uint64_t)timegm(&tm) * NS;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	bus_init(&f->pio, "pio");
	f->rtc = rtc_create(&f->pio, irq_recorder_pin(&f->irq, RTC_GSI));
	assert_non_null(f->rtc);
	/* Thursday 2026-11-26 19:57:07.5 UTC */
	f->now = utc(2026, 11, 26, 19, 57, 7) + NS / 2;
	rtc_set_clock(f->rtc, fake_now, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rtc_destroy(f->rtc);
	bus_destroy(&f->pio);
	free(f);
	return 0;
}

static uint8_t cmos_read(struct fixture *f, uint8_t index)
{
	outb(&f->pio, 0x70, index);
	return inb(&f->pio, 0x71);
}

static void cmos_write(struct fixture *f, uint8_t index, uint8_t v)
{
	outb(&f->pio, 0x70, index);
	outb(&f->pio, 0x71, v);
}

static void test_rtc_reads_host_utc_in_bcd_24h_by_default(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f, RTC_REG_B), RTC_B_24H);
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x07);
	assert_int_equal(cmos_read(f, RTC_MINUTES), 0x57);
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x19);
	assert_int_equal(cmos_read(f, RTC_DAY_OF_WEEK), 0x05);   /* Sunday = 1 */
	assert_int_equal(cmos_read(f, RTC_DAY_OF_MONTH), 0x26);
	assert_int_equal(cmos_read(f, RTC_MONTH), 0x11);
	assert_int_equal(cmos_read(f, RTC_YEAR), 0x26);
	assert_int_equal(cmos_read(f, RTC_CENTURY), 0x20);
	f->now += 60 * NS;
	assert_int_equal(cmos_read(f, RTC_MINUTES), 0x58);
}

static void test_rtc_binary_and_12_hour_modes_follow_register_b(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_REG_B, RTC_B_DM_BINARY | RTC_B_24H);
	assert_int_equal(cmos_read(f, RTC_HOURS), 19);
	assert_int_equal(cmos_read(f, RTC_MINUTES), 57);
	assert_int_equal(cmos_read(f, RTC_CENTURY), 20);
	cmos_write(f, RTC_REG_B, RTC_B_DM_BINARY);
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x80 | 7);   /* 7 PM */
	cmos_write(f, RTC_REG_B, 0);
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x80 | 0x07);
	f->now = utc(2026, 11, 26, 0, 30, 0);
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x12);         /* 12 AM */
	f->now = utc(2026, 11, 26, 12, 30, 0);
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x80 | 0x12);  /* 12 PM */
}

static void test_rtc_uip_is_set_only_in_the_last_244us_of_a_second(void **state)
{
	struct fixture *f = *state;
	uint64_t sec = utc(2026, 11, 26, 19, 57, 7);

	f->now = sec + NS / 2;
	assert_int_equal(cmos_read(f, RTC_REG_A), 0x26);
	f->now = sec + NS - 200000;
	assert_int_equal(cmos_read(f, RTC_REG_A), 0x26 | RTC_A_UIP);
	f->now = sec + NS - 300000;
	assert_int_equal(cmos_read(f, RTC_REG_A) & RTC_A_UIP, 0);
	f->now = sec + NS;
	assert_int_equal(cmos_read(f, RTC_REG_A) & RTC_A_UIP, 0);
	/* UIP is read-only. */
	cmos_write(f, RTC_REG_A, 0xa6);
	f->now = sec + NS / 2;
	assert_int_equal(cmos_read(f, RTC_REG_A), 0x26);
}

static void test_rtc_linux_style_read_loop_finishes_in_one_pass(void **state)
{
	struct fixture *f = *state;
	unsigned passes = 0;
	uint8_t sec;

	/* mc146818_avoid_UIP: retry while UIP or the seconds changed. */
	for (;;) {
		passes++;
		sec = cmos_read(f, RTC_SECONDS);
		if (cmos_read(f, RTC_REG_A) & RTC_A_UIP)
			continue;
		cmos_read(f, RTC_MINUTES);
		cmos_read(f, RTC_HOURS);
		if (cmos_read(f, RTC_REG_A) & RTC_A_UIP)
			continue;
		if (sec == cmos_read(f, RTC_SECONDS))
			break;
	}
	assert_int_equal(passes, 1);
}

static void test_rtc_set_bit_freezes_and_guest_time_becomes_an_offset(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	f->now += 5 * NS;                         /* frozen: no counting */
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x07);
	cmos_write(f, RTC_YEAR, 0x99);
	cmos_write(f, RTC_CENTURY, 0x19);
	cmos_write(f, RTC_MONTH, 0x12);
	cmos_write(f, RTC_DAY_OF_MONTH, 0x31);
	cmos_write(f, RTC_HOURS, 0x23);
	cmos_write(f, RTC_MINUTES, 0x59);
	cmos_write(f, RTC_SECONDS, 0x58);
	cmos_write(f, RTC_REG_B, RTC_B_24H);
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x58);
	f->now += 3 * NS;                         /* runs again, across a new year */
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x01);
	assert_int_equal(cmos_read(f, RTC_MINUTES), 0x00);
	assert_int_equal(cmos_read(f, RTC_YEAR), 0x00);
	assert_int_equal(cmos_read(f, RTC_CENTURY), 0x20);
	assert_int_equal(cmos_read(f, RTC_MONTH), 0x01);
}

static void test_rtc_direct_write_of_one_field_moves_the_clock(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_HOURS, 0x05);
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x05);
	assert_int_equal(cmos_read(f, RTC_MINUTES), 0x57);
	f->now += 3600 * NS;
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x06);
}

static void test_rtc_invalid_guest_time_keeps_the_clock(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	cmos_write(f, RTC_MONTH, 0x13);
	cmos_write(f, RTC_SECONDS, 0x7a);        /* not BCD */
	cmos_write(f, RTC_REG_B, RTC_B_24H);
	assert_int_equal(cmos_read(f, RTC_MONTH), 0x11);
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x07);
	/* Year 9999 is valid BCD but beyond what the clock can represent. */
	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	cmos_write(f, RTC_CENTURY, 0x99);
	cmos_write(f, RTC_YEAR, 0x99);
	cmos_write(f, RTC_REG_B, RTC_B_24H);
	assert_int_equal(cmos_read(f, RTC_CENTURY), 0x20);
	assert_int_equal(cmos_read(f, RTC_YEAR), 0x26);
}

static void test_rtc_register_c_flags_update_and_clears_on_read(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f, RTC_REG_C), 0);
	f->now += NS;
	assert_int_equal(cmos_read(f, RTC_REG_C), RTC_C_UF);    /* no IRQF: UIE off */
	assert_int_equal(cmos_read(f, RTC_REG_C), 0);
	assert_int_equal(cmos_read(f, RTC_REG_D), RTC_D_VRT);
}

static void test_rtc_update_interrupt_drives_irq8_until_c_is_read(void **state)
{
	struct fixture *f = *state;

	cmos_read(f, RTC_REG_C);
	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	rtc_tick(f->rtc);
	assert_int_not_equal(f->irq.level, 1);
	f->now += NS;
	rtc_tick(f->rtc);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(f->irq.gsi, RTC_GSI);
	assert_int_equal(cmos_read(f, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	assert_int_equal(f->irq.level, 0);
}

static void test_rtc_alarm_flag_sets_when_alarm_time_passes(void **state)
{
	struct fixture *f = *state;

	cmos_read(f, RTC_REG_C);
	cmos_write(f, RTC_SECONDS_ALARM, 0x30);
	cmos_write(f, RTC_MINUTES_ALARM, 0x58);
	cmos_write(f, RTC_HOURS_ALARM, 0xc0);     /* any hour */
	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	f->now += 10 * NS;                        /* 19:57:17 */
	assert_int_equal(cmos_read(f, RTC_REG_C) & RTC_C_AF, 0);
	f->now += 73 * NS;                        /* 19:58:30 */
	rtc_tick(f->rtc);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(cmos_read(f, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
}

static void test_rtc_nvram_bytes_are_stored_and_index_bit7_is_the_nmi_mask(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++)
		if (i != RTC_CENTURY)
			cmos_write(f, (uint8_t)i, (uint8_t)(i ^ 0x5a));
	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++)
		if (i != RTC_CENTURY)
			assert_int_equal(cmos_read(f, (uint8_t)i), i ^ 0x5a);
	outb(&f->pio, 0x70, 0x80 | 0x20);
	assert_int_equal(inb(&f->pio, 0x71), 0x20 ^ 0x5a);
	assert_true(rtc_nmi_disabled(f->rtc));
	outb(&f->pio, 0x70, 0x20);
	assert_false(rtc_nmi_disabled(f->rtc));
	assert_int_equal(rtc_cmos_set(f->rtc, 0x05, 1), -1);
	assert_int_equal(rtc_cmos_set(f->rtc, 0x80, 1), -1);
	assert_int_equal(rtc_cmos_set(f->rtc, 0x40, 0x77), 0);
	assert_int_equal(cmos_read(f, 0x40), 0x77);
}

static void test_rtc_memory_size_bytes_follow_the_seabios_layout(void **state)
{
	struct fixture *f = *state;

	rtc_set_memory(f->rtc, 2ULL << 30, 1ULL << 30);
	rtc_set_nr_cpus(f->rtc, 4);
	/* (2 GiB - 16 MiB) / 64 KiB = 0x7f00 */
	assert_int_equal(cmos_read(f, 0x34), 0x00);
	assert_int_equal(cmos_read(f, 0x35), 0x7f);
	/* 1 GiB / 64 KiB = 0x004000 */
	assert_int_equal(cmos_read(f, 0x5b), 0x00);
	assert_int_equal(cmos_read(f, 0x5c), 0x40);
	assert_int_equal(cmos_read(f, 0x5d), 0x00);
	assert_int_equal(cmos_read(f, 0x15) | cmos_read(f, 0x16) << 8, 640);
	assert_int_equal(cmos_read(f, 0x30) | cmos_read(f, 0x31) << 8, 0xfc00);
	assert_int_equal(cmos_read(f, 0x5f), 3);
}

static void test_rtc_word_write_sets_index_then_data_and_any_width_is_safe(void **state)
{
	struct fixture *f = *state;
	const uint32_t widths[] = { 1, 2, 4, 8 };
	uint8_t data[8];

	io_out(&f->pio, 0x70, 2, 0x4241);         /* index 0x41, value 0x42 */
	assert_int_equal(cmos_read(f, 0x41), 0x42);
	for (uint64_t off = 0; off < 4; off++)
		for (unsigned w = 0; w < ARRAY_SIZE(widths); w++) {
			memset(data, 0, sizeof(data));
			rtc_io(f->rtc, off, data, widths[w], false);
			for (uint32_t i = 0; i < widths[w]; i++)
				if (off + i != 1)
					assert_int_equal(data[i], 0xff);
			rtc_io(f->rtc, off, data, widths[w], true);
		}
}

static void test_rtc_reset_clears_interrupts_but_keeps_time_and_nvram(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, 0x50, 0xab);
	cmos_write(f, RTC_HOURS, 0x03);
	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_UIE | RTC_B_DM_BINARY);
	f->now += NS;
	rtc_tick(f->rtc);
	assert_int_equal(f->irq.level, 1);
	rtc_reset(f->rtc);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(cmos_read(f, RTC_REG_B), RTC_B_24H | RTC_B_DM_BINARY);
	assert_int_equal(cmos_read(f, RTC_HOURS), 3);
	assert_int_equal(cmos_read(f, 0x50), 0xab);
}

static void test_rtc_timer_raises_update_interrupt_on_its_own_and_stops_when_disabled(void **state)
{
	struct fixture *f = *state;
	struct evloop *loop = evloop_new();
	uint64_t t0;
	int dispatched = 0;

	rtc_set_clock(f->rtc, NULL, NULL);       /* real time: the timer is real */
	assert_int_equal(rtc_start_timer(f->rtc, loop), 0);
	assert_int_equal(evloop_run_once(loop, 50), 0);   /* disarmed: nothing fires */
	cmos_read(f, RTC_REG_C);
	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	t0 = clock_ns();
	while (f->irq.level != 1 && clock_ns() - t0 < 1500000000ULL)
		evloop_run_once(loop, 100);
	assert_int_equal(f->irq.level, 1);
	assert_true(clock_ns() - t0 < 1200000000ULL);
	assert_int_equal(cmos_read(f, RTC_REG_C) & (RTC_C_IRQF | RTC_C_UF), RTC_C_IRQF | RTC_C_UF);
	cmos_write(f, RTC_REG_B, RTC_B_24H);
	t0 = clock_ns();
	while (clock_ns() - t0 < 1100000000ULL)
		dispatched += evloop_run_once(loop, 100);
	assert_int_equal(dispatched, 0);
	assert_int_equal(f->irq.level, 0);
	rtc_destroy(f->rtc);                     /* removes its fd from the loop */
	f->rtc = rtc_create(&f->pio, irq_recorder_pin(&f->irq, RTC_GSI));
	evloop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_rtc_reads_host_utc_in_bcd_24h_by_default),
		T(test_rtc_binary_and_12_hour_modes_follow_register_b),
		T(test_rtc_uip_is_set_only_in_the_last_244us_of_a_second),
		T(test_rtc_linux_style_read_loop_finishes_in_one_pass),
		T(test_rtc_set_bit_freezes_and_guest_time_becomes_an_offset),
		T(test_rtc_direct_write_of_one_field_moves_the_clock),
		T(test_rtc_invalid_guest_time_keeps_the_clock),
		T(test_rtc_register_c_flags_update_and_clears_on_read),
		T(test_rtc_update_interrupt_drives_irq8_until_c_is_read),
		T(test_rtc_alarm_flag_sets_when_alarm_time_passes),
		T(test_rtc_nvram_bytes_are_stored_and_index_bit7_is_the_nmi_mask),
		T(test_rtc_memory_size_bytes_follow_the_seabios_layout),
		T(test_rtc_word_write_sets_index_then_data_and_any_width_is_safe),
		T(test_rtc_reset_clears_interrupts_but_keeps_time_and_nvram),
		T(test_rtc_timer_raises_update_interrupt_on_its_own_and_stops_when_disabled),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
