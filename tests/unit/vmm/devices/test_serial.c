/* Unit tests of the 16550A UART model: register behaviour, the probe sequences
 * Linux's 8250 driver runs, FIFO and interrupt behaviour, any-width access. */
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
#include "vmm/devices/serial.h"
#include "fakes.h"

#define COM1 SERIAL_COM1_BASE
#define RBR (COM1 + 0)
#define IER (COM1 + 1)
#define IIR (COM1 + 2)
#define FCR (COM1 + 2)
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)
#define MSR (COM1 + 6)
#define SCR (COM1 + 7)

struct fixture {
	struct bus pio;
	struct irq_recorder irq;
	struct serial *s;
	struct chardev *cd;
	char path[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char spec[80];

	bus_init(&f->pio, "pio");
	snprintf(f->path, sizeof(f->path), "/tmp/vireo-serial-test-%d.out", (int)getpid());
	snprintf(spec, sizeof(spec), "file:%s", f->path);
	f->cd = chardev_open(spec, NULL);
	assert_non_null(f->cd);
	f->s = serial_create(&f->pio, COM1, irq_recorder_pin(&f->irq, SERIAL_COM1_GSI), f->cd);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	serial_destroy(f->s);
	chardev_close(f->cd);
	unlink(f->path);
	bus_destroy(&f->pio);
	free(f);
	return 0;
}

static void test_serial_scratch_register_holds_any_value(void **state)
{
	struct fixture *f = *state;

	for (unsigned v = 0; v < 256; v += 51) {
		outb(&f->pio, SCR, (uint8_t)v);
		assert_int_equal(inb(&f->pio, SCR), v);
	}
}

static void test_serial_dlab_switches_ports_0_and_1_to_divisor_latches(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, IER, 0x05);
	outb(&f->pio, LCR, 0x83);
	outb(&f->pio, RBR, 0x01);
	outb(&f->pio, IER, 0x02);
	assert_int_equal(inb(&f->pio, RBR), 0x01);
	assert_int_equal(inb(&f->pio, IER), 0x02);
	outb(&f->pio, LCR, 0x03);
	assert_int_equal(inb(&f->pio, LCR), 0x03);
	/* IER kept its value under the divisor latch. */
	assert_int_equal(inb(&f->pio, IER), 0x05);
}

static void test_serial_ier_upper_bits_read_zero_as_8250_probe_expects(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, IER, 0x00);
	assert_int_equal(inb(&f->pio, IER) & 0x0f, 0);
	outb(&f->pio, IER, 0xff);
	assert_int_equal(inb(&f->pio, IER), 0x0f);
}

static void test_serial_loopback_probe_maps_mcr_to_msr(void **state)
{
	struct fixture *f = *state;

	/* serial8250 autoconfig: MCR = LOOP | OUT2 | RTS, MSR & 0xf0 must be 0x90. */
	outb(&f->pio, MCR, 0x10 | 0x0a);
	assert_int_equal(inb(&f->pio, MSR) & 0xf0, 0x90);
	outb(&f->pio, MCR, 0x10 | 0x05);
	assert_int_equal(inb(&f->pio, MSR) & 0xf0, 0x60);
	outb(&f->pio, MCR, 0x00);
	/* Outside loopback: a connected idle line (DCD, DSR, CTS). */
	assert_int_equal(inb(&f->pio, MSR) & 0xf0, 0xb0);
}

static void test_serial_msr_deltas_set_by_loopback_changes_and_cleared_by_read(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, MCR, 0x10);
	inb(&f->pio, MSR);
	outb(&f->pio, MCR, 0x10 | 0x02);         /* RTS -> CTS rises */
	assert_int_equal(inb(&f->pio, MSR), 0x10 | 0x01);
	assert_int_equal(inb(&f->pio, MSR), 0x10);
	outb(&f->pio, MCR, 0x10 | 0x04);         /* OUT1 -> RI, CTS falls */
	inb(&f->pio, MSR);
	outb(&f->pio, MCR, 0x10);                /* RI trailing edge */
	assert_int_equal(inb(&f->pio, MSR) & 0x04, 0x04);
}

static void test_serial_loopback_returns_transmitted_bytes_and_sends_nothing_out(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8];
	FILE *fp;

	outb(&f->pio, MCR, 0x10);
	outb(&f->pio, RBR, 0x5a);
	assert_int_equal(inb(&f->pio, LSR) & 0x01, 0x01);
	assert_int_equal(inb(&f->pio, RBR), 0x5a);
	assert_int_equal(inb(&f->pio, LSR) & 0x01, 0x00);
	fp = fopen(f->path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(buf, 1, sizeof(buf), fp), 0);
	fclose(fp);
}

static void test_serial_thr_bytes_reach_the_chardev(void **state)
{
	struct fixture *f = *state;
	char buf[16] = { 0 };
	FILE *fp;

	for (const char *p = "hello\n"; *p; p++)
		outb(&f->pio, RBR, (uint8_t)*p);
	fp = fopen(f->path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, fp), 6);
	fclose(fp);
	assert_string_equal(buf, "hello\n");
}

static void test_serial_fifo_enable_reports_16550a_in_iir_bits_6_7(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(inb(&f->pio, IIR), 0x01);
	outb(&f->pio, FCR, 0x01);
	assert_int_equal(inb(&f->pio, IIR) & 0xc0, 0xc0);
	/* The 16750's 64-byte bit is not claimed. */
	outb(&f->pio, FCR, 0x21);
	assert_int_equal(inb(&f->pio, IIR) & 0xe0, 0xc0);
	outb(&f->pio, FCR, 0x00);
	assert_int_equal(inb(&f->pio, IIR) & 0xc0, 0x00);
}

static void test_serial_linux_autoconfig_sequence_finds_a_plain_16550a(void **state)
{
	struct fixture *f = *state;
	uint8_t s1, s2, s3, iir;

	/* The order of accesses of serial8250 autoconfig() and autoconfig_16550a(). */
	s1 = inb(&f->pio, IER);
	outb(&f->pio, IER, 0);
	s2 = inb(&f->pio, IER) & 0x0f;
	outb(&f->pio, IER, 0x0f);
	s3 = inb(&f->pio, IER) & 0x0f;
	outb(&f->pio, IER, s1);
	assert_int_equal(s2, 0);
	assert_int_equal(s3, 0x0f);
	outb(&f->pio, MCR, 0x1a);
	assert_int_equal(inb(&f->pio, MSR) & 0xf0, 0x90);
	outb(&f->pio, MCR, 0);
	outb(&f->pio, LCR, 0xbf);
	outb(&f->pio, IIR, 0);                 /* EFR = 0 on an EFR UART */
	outb(&f->pio, LCR, 0);
	outb(&f->pio, FCR, 0x01);
	iir = inb(&f->pio, IIR);
	assert_int_equal(iir >> 6, 3);          /* -> autoconfig_16550a */
	/* No EFR visible with LCR = 0x80 or 0xbf (offset 2 still reads IIR != 0). */
	outb(&f->pio, LCR, 0x80);
	assert_int_not_equal(inb(&f->pio, IIR), 0);
	outb(&f->pio, LCR, 0xbf);
	assert_int_not_equal(inb(&f->pio, IIR), 0);
	/* Not a National SuperIO: EXCR1 does not follow MCR's loop bit. */
	outb(&f->pio, LCR, 0);
	s1 = inb(&f->pio, MCR);
	outb(&f->pio, LCR, 0xe0);
	s2 = inb(&f->pio, IIR);
	assert_int_equal((s1 ^ s2) & 0x10, 0);
	outb(&f->pio, LCR, 0);
	outb(&f->pio, MCR, s1 ^ 0x10);
	outb(&f->pio, LCR, 0xe0);
	s2 = inb(&f->pio, IIR);
	outb(&f->pio, LCR, 0);
	outb(&f->pio, MCR, s1);
	assert_int_equal((s2 ^ s1) & 0x10, 0);
	/* Not a 16750: IIR bit 5 never follows FCR bit 5. */
	outb(&f->pio, FCR, 0x21);
	s1 = inb(&f->pio, IIR) & 0xe0;
	outb(&f->pio, FCR, 0);
	outb(&f->pio, LCR, 0x80);
	outb(&f->pio, FCR, 0x21);
	s2 = inb(&f->pio, IIR) & 0xe0;
	outb(&f->pio, FCR, 0);
	outb(&f->pio, LCR, 0);
	assert_false(s1 == 0xc0 && s2 == 0xe0);
	/* Not an XScale: IER bit 6 does not stick. */
	outb(&f->pio, IER, 0x40);
	assert_int_equal(inb(&f->pio, IER) & 0x40, 0);
}

static void test_serial_thri_raised_when_enabled_and_cleared_by_iir_read(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, MCR, 0x08);              /* OUT2: IRQ output enabled */
	outb(&f->pio, IER, 0x02);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(f->irq.gsi, SERIAL_COM1_GSI);
	assert_int_equal(inb(&f->pio, IIR), 0x02);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(inb(&f->pio, IIR), 0x01);
	/* Each transmitted byte empties THR again: THRI comes back. */
	outb(&f->pio, RBR, 'x');
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(inb(&f->pio, IIR), 0x02);
	assert_int_equal(f->irq.raises, 2);
}

static void test_serial_thri_reasserts_when_reenabled_as_linux_thre_test_checks(void **state)
{
	struct fixture *f = *state;
	uint8_t iir1, iir2;

	outb(&f->pio, IER, 0x02);
	iir1 = inb(&f->pio, IIR);
	outb(&f->pio, IER, 0);
	outb(&f->pio, IER, 0x02);
	iir2 = inb(&f->pio, IIR);
	outb(&f->pio, IER, 0);
	assert_int_equal(iir1 & 0x01, 0);
	assert_int_equal(iir2 & 0x01, 0);      /* else Linux flags UART_BUG_THRE */
}

static void test_serial_received_byte_raises_irq_and_reading_it_lowers_irq(void **state)
{
	struct fixture *f = *state;
	const uint8_t b = 'k';

	outb(&f->pio, MCR, 0x08);
	outb(&f->pio, IER, 0x01);
	assert_int_equal(f->irq.level, -1);    /* nothing pending: never driven */
	assert_int_equal(serial_receive(f->s, &b, 1), 1);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(inb(&f->pio, IIR), 0x04);
	assert_int_equal(inb(&f->pio, LSR) & 0x61, 0x61);
	assert_int_equal(inb(&f->pio, RBR), 'k');
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(inb(&f->pio, IIR), 0x01);
}

static void test_serial_irq_stays_low_without_out2(void **state)
{
	struct fixture *f = *state;
	const uint8_t b = 'k';

	outb(&f->pio, IER, 0x03);
	serial_receive(f->s, &b, 1);
	assert_int_not_equal(f->irq.level, 1);
	assert_int_equal(inb(&f->pio, IIR), 0x04);   /* pending, but gated */
	outb(&f->pio, MCR, 0x08);
	assert_int_equal(f->irq.level, 1);
	outb(&f->pio, MCR, 0x18);                     /* loopback cuts OUT2 */
	assert_int_equal(f->irq.level, 0);
}

static void test_serial_fifo_trigger_level_selects_rdi_over_timeout(void **state)
{
	struct fixture *f = *state;
	const uint8_t four[4] = { 1, 2, 3, 4 };

	outb(&f->pio, FCR, 0x81);              /* FIFO on, trigger 8 */
	outb(&f->pio, IER, 0x01);
	assert_int_equal(serial_receive(f->s, four, 4), 4);
	assert_int_equal(inb(&f->pio, IIR), 0xcc);   /* below trigger: char timeout */
	assert_int_equal(serial_receive(f->s, four, 4), 4);
	assert_int_equal(inb(&f->pio, IIR), 0xc4);   /* at trigger: data available */
	assert_int_equal(inb(&f->pio, RBR), 1);
	assert_int_equal(inb(&f->pio, IIR), 0xcc);   /* 7 left, below trigger */
	outb(&f->pio, FCR, 0x83);              /* clear RX FIFO */
	assert_int_equal(inb(&f->pio, LSR) & 0x01, 0);
	assert_int_equal(inb(&f->pio, IIR), 0xc1);
}

static void test_serial_receive_takes_only_what_fits_in_the_fifo(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[20];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	/* Without FIFO: one byte of holding register. */
	assert_int_equal(serial_receive(f->s, buf, 3), 1);
	assert_int_equal(inb(&f->pio, RBR), 0);
	outb(&f->pio, FCR, 0x01);
	assert_int_equal(serial_receive(f->s, buf, sizeof(buf)), SERIAL_FIFO_SIZE);
	assert_int_equal(inb(&f->pio, LSR) & 0x02, 0);   /* refused, not overrun */
	for (unsigned i = 0; i < SERIAL_FIFO_SIZE; i++)
		assert_int_equal(inb(&f->pio, RBR), i);
	assert_int_equal(inb(&f->pio, LSR) & 0x01, 0);
}

static void test_serial_overrun_sets_oe_and_line_status_interrupt(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, FCR, 0x01);
	outb(&f->pio, IER, 0x04);
	outb(&f->pio, MCR, 0x10);
	for (unsigned i = 0; i < SERIAL_FIFO_SIZE + 1; i++)
		outb(&f->pio, RBR, (uint8_t)(0x30 + i));
	assert_int_equal(inb(&f->pio, IIR), 0xc6);
	assert_int_equal(inb(&f->pio, LSR) & 0x03, 0x03);
	assert_int_equal(inb(&f->pio, LSR) & 0x02, 0);   /* read clears OE */
	assert_int_equal(inb(&f->pio, IIR), 0xc1);
	/* The FIFO kept the first 16 bytes; the 17th was lost. */
	for (unsigned i = 0; i < SERIAL_FIFO_SIZE; i++)
		assert_int_equal(inb(&f->pio, RBR), 0x30 + i);
}

static void test_serial_interrupt_priority_line_status_before_data_before_thre(void **state)
{
	struct fixture *f = *state;

	outb(&f->pio, MCR, 0x10);
	outb(&f->pio, RBR, 1);
	outb(&f->pio, RBR, 2);                 /* overrun without FIFO */
	outb(&f->pio, IER, 0x07);
	assert_int_equal(inb(&f->pio, IIR), 0x06);
	inb(&f->pio, LSR);
	assert_int_equal(inb(&f->pio, IIR), 0x04);
	inb(&f->pio, RBR);
	assert_int_equal(inb(&f->pio, IIR), 0x02);
	assert_int_equal(inb(&f->pio, IIR), 0x01);
}

static void test_serial_any_width_at_any_offset_is_safe(void **state)
{
	struct fixture *f = *state;
	const uint32_t widths[] = { 1, 2, 4, 8 };
	uint8_t data[8];

	for (uint64_t off = 0; off < 16; off++) {
		for (unsigned w = 0; w < ARRAY_SIZE(widths); w++) {
			memset(data, 0xa5, sizeof(data));
			serial_io(f->s, off, data, widths[w], false);
			for (uint32_t i = 0; i < widths[w]; i++)
				if (off + i >= SERIAL_NREGS)
					assert_int_equal(data[i], 0xff);
			memset(data, 0x00, sizeof(data));
			serial_io(f->s, off, data, widths[w], true);
		}
	}
	/* A word write at 3 sets LCR and MCR together. */
	io_out(&f->pio, LCR, 2, 0x0803);
	assert_int_equal(inb(&f->pio, LCR), 0x03);
	assert_int_equal(inb(&f->pio, MCR), 0x08);
}

static void test_serial_reset_restores_power_on_registers_and_lowers_irq(void **state)
{
	struct fixture *f = *state;
	const uint8_t b = 'z';

	outb(&f->pio, FCR, 0x01);
	outb(&f->pio, MCR, 0x0b);
	outb(&f->pio, IER, 0x03);
	outb(&f->pio, SCR, 0x99);
	serial_receive(f->s, &b, 1);
	assert_int_equal(f->irq.level, 1);
	serial_reset(f->s);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(inb(&f->pio, IER), 0);
	assert_int_equal(inb(&f->pio, MCR), 0);
	assert_int_equal(inb(&f->pio, SCR), 0);
	assert_int_equal(inb(&f->pio, IIR), 0x01);
	assert_int_equal(inb(&f->pio, LSR), 0x60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_serial_scratch_register_holds_any_value),
		T(test_serial_dlab_switches_ports_0_and_1_to_divisor_latches),
		T(test_serial_ier_upper_bits_read_zero_as_8250_probe_expects),
		T(test_serial_loopback_probe_maps_mcr_to_msr),
		T(test_serial_msr_deltas_set_by_loopback_changes_and_cleared_by_read),
		T(test_serial_loopback_returns_transmitted_bytes_and_sends_nothing_out),
		T(test_serial_thr_bytes_reach_the_chardev),
		T(test_serial_fifo_enable_reports_16550a_in_iir_bits_6_7),
		T(test_serial_linux_autoconfig_sequence_finds_a_plain_16550a),
		T(test_serial_thri_raised_when_enabled_and_cleared_by_iir_read),
		T(test_serial_thri_reasserts_when_reenabled_as_linux_thre_test_checks),
		T(test_serial_received_byte_raises_irq_and_reading_it_lowers_irq),
		T(test_serial_irq_stays_low_without_out2),
		T(test_serial_fifo_trigger_level_selects_rdi_over_timeout),
		T(test_serial_receive_takes_only_what_fits_in_the_fifo),
		T(test_serial_overrun_sets_oe_and_line_status_interrupt),
		T(test_serial_interrupt_priority_line_status_before_data_before_thre),
		T(test_serial_any_width_at_any_offset_is_safe),
		T(test_serial_reset_restores_power_on_registers_and_lowers_irq),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
