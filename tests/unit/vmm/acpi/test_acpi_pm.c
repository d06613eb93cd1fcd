/* Unit tests of the ACPI PM device through a real port I/O bus: power button
 * and SCI, S5 soft-off, reset register, PM timer, odd access widths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include "common/error.h"
#include "vmm/devices/acpi_pm.h"

struct fixture {
	struct bus pio;
	struct acpi_config cfg;
	struct acpi_pm *pm;
	int sci_level, sci_changes;
	uint32_t sci_gsi;
	int poweroffs, resets;
};

static void fake_irq_set(void *ctx, uint32_t gsi, int level)
{
	struct fixture *f = ctx;

	f->sci_gsi = gsi;
	f->sci_level = level;
	f->sci_changes++;
}

static void fake_request(void *ctx, enum vm_request req)
{
	struct fixture *f = ctx;

	if (req == VM_REQUEST_POWEROFF)
		f->poweroffs++;
	else if (req == VM_REQUEST_RESET)
		f->resets++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	bus_init(&f->pio, "pio");
	acpi_config_default(&f->cfg, 1);
	f->pm = acpi_pm_create(&f->pio, &f->cfg, (struct irq_pin){ fake_irq_set, f, 9 },
			       (struct vm_request_sink){ fake_request, f });
	if (!f->pm)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	acpi_pm_destroy(f->pm);
	bus_destroy(&f->pio);
	free(f);
	return 0;
}

static void out(struct fixture *f, uint16_t port, uint64_t v, uint32_t len)
{
	uint8_t d[8];

	bus_data_put(d, len, v);
	assert_true(bus_dispatch(&f->pio, port, d, len, true));
}

static uint64_t in(struct fixture *f, uint16_t port, uint32_t len)
{
	uint8_t d[8];

	memset(d, 0x5a, sizeof(d));
	assert_true(bus_dispatch(&f->pio, port, d, len, false));
	return bus_data_get(d, len);
}

#define PM1_STS 0x600
#define PM1_EN 0x602
#define PM1_CNT 0x604
#define PM_TMR 0x608

static void test_acpi_pm_power_button_raises_sci_only_when_enabled(void **state)
{
	struct fixture *f = *state;

	acpi_pm_press_power_button(f->pm);
	assert_int_equal(in(f, PM1_STS, 2) & ACPI_PM1_PWRBTN_STS, ACPI_PM1_PWRBTN_STS);
	assert_int_equal(f->sci_changes, 0);
	assert_false(acpi_pm_sci_asserted(f->pm));
	/* Enabling with the status pending raises the line at once. */
	out(f, PM1_EN, ACPI_PM1_PWRBTN_EN, 2);
	assert_int_equal(in(f, PM1_EN, 2), ACPI_PM1_PWRBTN_EN);
	assert_int_equal(f->sci_level, 1);
	assert_int_equal(f->sci_gsi, 9);
	assert_true(acpi_pm_sci_asserted(f->pm));
}

static void test_acpi_pm_clearing_pwrbtn_sts_drops_the_sci(void **state)
{
	struct fixture *f = *state;

	out(f, PM1_EN, ACPI_PM1_PWRBTN_EN, 2);
	acpi_pm_press_power_button(f->pm);
	assert_int_equal(f->sci_level, 1);
	assert_int_equal(f->sci_changes, 1);
	/* Writing 0 to a status bit leaves it; writing 1 clears it. */
	out(f, PM1_STS, 0, 2);
	assert_int_equal(f->sci_level, 1);
	assert_int_equal(in(f, PM1_STS, 2) & ACPI_PM1_PWRBTN_STS, ACPI_PM1_PWRBTN_STS);
	out(f, PM1_STS, ACPI_PM1_PWRBTN_STS, 2);
	assert_int_equal(in(f, PM1_STS, 2), 0);
	assert_int_equal(f->sci_level, 0);
	assert_int_equal(f->sci_changes, 2);
	/* A second press raises it again. */
	acpi_pm_press_power_button(f->pm);
	assert_int_equal(f->sci_level, 1);
}

static void test_acpi_pm_disabling_pwrbtn_en_drops_the_sci(void **state)
{
	struct fixture *f = *state;

	out(f, PM1_EN, ACPI_PM1_PWRBTN_EN, 2);
	acpi_pm_press_power_button(f->pm);
	assert_int_equal(f->sci_level, 1);
	out(f, PM1_EN, 0, 2);
	assert_int_equal(f->sci_level, 0);
	/* Status survives until cleared. */
	assert_int_equal(in(f, PM1_STS, 2) & ACPI_PM1_PWRBTN_STS, ACPI_PM1_PWRBTN_STS);
}

static void test_acpi_pm_32bit_access_covers_status_and_enable(void **state)
{
	struct fixture *f = *state;

	out(f, PM1_STS, (uint32_t)ACPI_PM1_PWRBTN_EN << 16, 4);
	acpi_pm_press_power_button(f->pm);
	assert_int_equal(in(f, PM1_STS, 4), ACPI_PM1_PWRBTN_STS | (uint32_t)ACPI_PM1_PWRBTN_EN << 16);
	/* Clearing status through the dword while keeping enable. */
	out(f, PM1_STS, ACPI_PM1_PWRBTN_STS | (uint32_t)ACPI_PM1_PWRBTN_EN << 16, 4);
	assert_int_equal(in(f, PM1_STS, 4), (uint32_t)ACPI_PM1_PWRBTN_EN << 16);
	assert_int_equal(f->sci_level, 0);
}

static void test_acpi_pm_enable_bits_the_os_sets_read_back(void **state)
{
	struct fixture *f = *state;
	uint16_t all = ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN | ACPI_PM1_SLPBTN_EN | ACPI_PM1_RTC_EN;

	/* ACPICA enables an event, then reads the bit back to see the hardware respond. */
	out(f, PM1_EN, all, 2);
	assert_int_equal(in(f, PM1_EN, 2), all);
	/* Reserved bits stay zero. */
	out(f, PM1_EN, 0xffff, 2);
	assert_int_equal(in(f, PM1_EN, 2), all);
	/* No status is pending, so enabling everything raises nothing. */
	assert_int_equal(f->sci_changes, 0);
}

static void test_acpi_pm_s5_write_requests_poweroff(void **state)
{
	struct fixture *f = *state;
	uint16_t typ = ACPI_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT;

	/* What ACPICA does: SLP_TYP first, then SLP_TYP | SLP_EN. */
	out(f, PM1_CNT, typ, 2);
	assert_int_equal(f->poweroffs, 0);
	assert_int_equal(in(f, PM1_CNT, 2), typ | ACPI_PM1_SCI_EN);
	out(f, PM1_CNT, typ | ACPI_PM1_SLP_EN | ACPI_PM1_SCI_EN, 2);
	assert_int_equal(f->poweroffs, 1);
	assert_int_equal(f->resets, 0);
	/* SLP_EN is write-only. */
	assert_int_equal(in(f, PM1_CNT, 2) & ACPI_PM1_SLP_EN, 0);
}

static void test_acpi_pm_s5_by_byte_writes_requests_poweroff(void **state)
{
	struct fixture *f = *state;
	uint16_t v = ACPI_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN;

	out(f, PM1_CNT, v & 0xff, 1);
	assert_int_equal(f->poweroffs, 0);
	out(f, PM1_CNT + 1, v >> 8, 1);
	assert_int_equal(f->poweroffs, 1);
}

static void test_acpi_pm_other_sleep_types_do_not_power_off(void **state)
{
	struct fixture *f = *state;

	for (unsigned typ = 0; typ < 8; typ++) {
		if (typ == ACPI_S5_SLP_TYP)
			continue;
		out(f, PM1_CNT, typ << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN, 2);
	}
	/* and the S5 type without SLP_EN */
	out(f, PM1_CNT, ACPI_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT, 2);
	assert_int_equal(f->poweroffs, 0);
	assert_int_equal(f->resets, 0);
}

static void test_acpi_pm_sci_en_always_reads_as_set(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, PM1_CNT, 2) & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN);
	out(f, PM1_CNT, 0, 2);
	assert_int_equal(in(f, PM1_CNT, 1) & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN);
}

static void test_acpi_pm_reset_register_requests_reset(void **state)
{
	struct fixture *f = *state;

	out(f, 0xcf9, 0x02, 1);         /* SYS_RST alone only selects the kind */
	assert_int_equal(f->resets, 0);
	assert_int_equal(in(f, 0xcf9, 1), 0x02);
	out(f, 0xcf9, ACPI_RESET_VALUE, 1);
	assert_int_equal(f->resets, 1);
	assert_int_equal(f->poweroffs, 0);
}

static void test_acpi_pm_timer_counts_at_3_58_mhz(void **state)
{
	struct fixture *f = *state;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	uint32_t t0, t1, delta;

	t0 = (uint32_t)in(f, PM_TMR, 4);
	nanosleep(&ts, NULL);
	t1 = (uint32_t)in(f, PM_TMR, 4);
	delta = t1 - t0;
	/* 20 ms is 71591 ticks; allow a slow, busy test machine. */
	assert_true(delta >= 71591);
	assert_true(delta < 71591 * 20);
	/* writes are ignored, bytes read consistently */
	out(f, PM_TMR, 0, 4);
	assert_true((uint32_t)in(f, PM_TMR, 4) - t1 < 3579545u * 5);
}

static void test_acpi_pm_odd_widths_and_offsets_do_not_crash(void **state)
{
	struct fixture *f = *state;
	static const uint16_t ports[] = { 0x600, 0x601, 0x602, 0x603, 0x604, 0x605, 0x608, 0x609, 0x60b, 0xcf9 };
	static const uint32_t lens[] = { 1, 2, 3, 4, 8 };

	for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			uint8_t d[8];

			memset(d, 0x00, sizeof(d));
			bus_dispatch(&f->pio, ports[p], d, lens[l], false);
			/* Zeros never trigger anything: status W1C of 0, no SLP_EN, no RST_CPU. */
			memset(d, 0x00, sizeof(d));
			bus_dispatch(&f->pio, ports[p], d, lens[l], true);
		}
	}
	/* Bytes past a block read as 0xff; the register bytes as themselves. */
	{
		uint8_t d[8];

		memset(d, 0, sizeof(d));
		bus_dispatch(&f->pio, 0x605, d, 4, false);
		assert_int_equal(d[1], 0xff);
		assert_int_equal(d[3], 0xff);
		memset(d, 0, sizeof(d));
		bus_dispatch(&f->pio, 0x603, d, 8, false);
		assert_int_equal(d[0], 0);
		assert_int_equal(d[1], 0xff);
		assert_int_equal(d[7], 0xff);
	}
	assert_int_equal(f->poweroffs, 0);
	assert_int_equal(f->resets, 0);
	assert_int_equal(f->sci_changes, 0);
	/* An 8-byte write at 0x603 touches only PM1_EN's high byte. */
	out(f, 0x603, 0xffffffffffffffffull, 8);
	assert_int_equal(in(f, PM1_EN, 2), ACPI_PM1_PWRBTN_EN | ACPI_PM1_SLPBTN_EN | ACPI_PM1_RTC_EN);
}

static void *press_many(void *arg)
{
	struct fixture *f = arg;

	for (int i = 0; i < 20000; i++)
		acpi_pm_press_power_button(f->pm);
	return NULL;
}

/* The main thread presses while a vCPU thread services the SCI: the line's
 * last level must always match status & enable, with no lost update. */
static void test_acpi_pm_button_and_guest_race_leaves_line_consistent(void **state)
{
	struct fixture *f = *state;
	pthread_t t;

	out(f, PM1_EN, ACPI_PM1_PWRBTN_EN, 2);
	assert_int_equal(pthread_create(&t, NULL, press_many, f), 0);
	for (int i = 0; i < 20000; i++) {
		if (in(f, PM1_STS, 2) & ACPI_PM1_PWRBTN_STS)
			out(f, PM1_STS, ACPI_PM1_PWRBTN_STS, 2);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(f->sci_level, (in(f, PM1_STS, 2) & ACPI_PM1_PWRBTN_STS) ? 1 : 0);
	out(f, PM1_STS, ACPI_PM1_PWRBTN_STS, 2);
	assert_int_equal(f->sci_level, 0);
	assert_false(acpi_pm_sci_asserted(f->pm));
}

static void test_acpi_pm_reset_restores_power_on_state(void **state)
{
	struct fixture *f = *state;

	out(f, PM1_EN, ACPI_PM1_PWRBTN_EN, 2);
	acpi_pm_press_power_button(f->pm);
	assert_int_equal(f->sci_level, 1);
	acpi_pm_reset(f->pm);
	assert_int_equal(f->sci_level, 0);
	assert_int_equal(in(f, PM1_STS, 4), 0);
	assert_int_equal(in(f, PM1_CNT, 2), ACPI_PM1_SCI_EN);
}

static void test_acpi_pm_create_fails_cleanly_on_a_taken_port(void **state)
{
	struct fixture *f = *state;
	struct acpi_config cfg = f->cfg;
	struct acpi_pm *pm2;

	(void)state;
	/* Everything but the reset register moved: that one is taken. */
	cfg.pm1a_evt_port = 0x700;
	cfg.pm1a_cnt_port = 0x704;
	cfg.pm_tmr_port = 0x708;
	pm2 = acpi_pm_create(&f->pio, &cfg, (struct irq_pin){ fake_irq_set, f, 9 },
			     (struct vm_request_sink){ fake_request, f });
	assert_null(pm2);
	assert_int_equal(err_code(), ERR_EXISTS);
	assert_non_null(strstr(err_message(), "acpi_pm"));
	/* What it had registered was given back. */
	{
		uint8_t d[2] = { 0 };

		assert_false(bus_dispatch(&f->pio, 0x700, d, 2, false));
		assert_false(bus_dispatch(&f->pio, 0x708, d, 2, false));
	}
}

static void test_acpi_pm_destroy_unregisters_its_ports(void **state)
{
	struct fixture *f = *state;
	uint8_t d[4] = { 0 };

	acpi_pm_destroy(f->pm);
	f->pm = NULL;
	assert_false(bus_dispatch(&f->pio, PM1_STS, d, 2, false));
	assert_false(bus_dispatch(&f->pio, PM1_CNT, d, 2, false));
	assert_false(bus_dispatch(&f->pio, PM_TMR, d, 4, false));
	assert_false(bus_dispatch(&f->pio, 0xcf9, d, 1, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_acpi_pm_power_button_raises_sci_only_when_enabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_clearing_pwrbtn_sts_drops_the_sci, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_disabling_pwrbtn_en_drops_the_sci, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_32bit_access_covers_status_and_enable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_enable_bits_the_os_sets_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_s5_write_requests_poweroff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_s5_by_byte_writes_requests_poweroff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_other_sleep_types_do_not_power_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_sci_en_always_reads_as_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_reset_register_requests_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_timer_counts_at_3_58_mhz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_odd_widths_and_offsets_do_not_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_button_and_guest_race_leaves_line_consistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_reset_restores_power_on_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_create_fails_cleanly_on_a_taken_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_pm_destroy_unregisters_its_ports, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
