/* 16550A UART model (see serial.h): registers as in the NS16550A / TI TL16C550
 * data sheets, interrupt priorities RLS > RX data/timeout > THRE > modem status,
 * IIR bits 6-7 = 11 with FIFOs on so Linux's 8250 autoconfig finds a 16550A. */
#include "vmm/devices/serial.h"
#include "common/error.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Register offsets. */
enum {
	UART_RX = 0, UART_TX = 0, UART_DLL = 0,
	UART_IER = 1, UART_DLM = 1,
	UART_IIR = 2, UART_FCR = 2,
	UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define IER_RDI 0x01       /* receive data available (and timeout) */
#define IER_THRI 0x02      /* transmit holding register empty */
#define IER_RLSI 0x04      /* receiver line status */
#define IER_MSI 0x08       /* modem status */
#define IER_MASK 0x0f      /* bits 4-7 read 0 on a 16550A (Linux probes this) */

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_TRIGGER 0xc0

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
/* Outside loopback the line looks connected: carrier, data set ready, clear to send. */
#define MSR_IDLE_LINE (MSR_DCD | MSR_DSR | MSR_CTS)

struct serial {
	pthread_mutex_t lock;
	struct bus *pio;
	uint16_t base;
	struct irq_pin irq;
	struct chardev *cd;

	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint8_t lsr_errors;     /* sticky OE/PE/FE/BI, cleared by reading LSR */
	uint8_t msr_delta;      /* DCTS/DDSR/TERI/DDCD, cleared by reading MSR */
	bool fifo_enabled;
	bool thri_pending;      /* THR became empty; cleared by IIR read or THR write */
	bool timeout_pending;   /* RX character timeout (FIFO mode) */
	bool irq_level;
	bool input_paused;      /* we refused chardev bytes; resume when room frees */
	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned rx_head, rx_count;
};

static unsigned serial_rx_capacity(const struct serial *s)
{
	return s->fifo_enabled ? SERIAL_FIFO_SIZE : 1;
}

static unsigned serial_rx_trigger(const struct serial *s)
{
	static const unsigned levels[4] = { 1, 4, 8, 14 };

	return s->fifo_enabled ? levels[(s->fcr & FCR_TRIGGER) >> 6] : 1;
}

/* Modem status inputs: from MCR in loopback (DTR->DSR, RTS->CTS, OUT1->RI,
 * OUT2->DCD), else an idle connected line. */
static uint8_t serial_msr_status(const struct serial *s)
{
	uint8_t m = 0;

	if (!(s->mcr & MCR_LOOP))
		return MSR_IDLE_LINE;
	if (s->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (s->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (s->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static uint8_t serial_iir_id(const struct serial *s)
{
	if ((s->ier & IER_RLSI) && (s->lsr_errors & LSR_ERRORS))
		return IIR_RLSI;
	if (s->ier & IER_RDI) {
		if (s->rx_count >= serial_rx_trigger(s))
			return IIR_RDI;
		if (s->fifo_enabled && s->timeout_pending && s->rx_count > 0)
			return IIR_TIMEOUT;
	}
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI;
	if ((s->ier & IER_MSI) && s->msr_delta)
		return IIR_MSI;
	return IIR_NO_INT;
}

/* The PC wires OUT2 as the IRQ output enable; in loopback the UART disconnects
 * OUT2 from its pin, so no interrupt reaches the interrupt controller. */
static void serial_update_irq(struct serial *s)
{
	bool level = serial_iir_id(s) != IIR_NO_INT && (s->mcr & MCR_OUT2) && !(s->mcr & MCR_LOOP);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_pin_set(&s->irq, level);
	}
}

static void serial_maybe_resume_input(struct serial *s)
{
	if (s->input_paused && !(s->mcr & MCR_LOOP) && s->rx_count < serial_rx_capacity(s)) {
		s->input_paused = false;
		chardev_accept_input(s->cd, true);
	}
}

static void serial_rx_clear(struct serial *s)
{
	s->rx_head = s->rx_count = 0;
	s->timeout_pending = false;
}

/* One byte into the receiver; false (and OE) when there is no room: the new
 * character is lost, the FIFO contents are kept, as on the 16550A. */
static bool serial_rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_count >= serial_rx_capacity(s)) {
		s->lsr_errors |= LSR_OE;
		return false;
	}
	s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = byte;
	s->rx_count++;
	/* No more characters follow right now: the character timeout fires at
	 * once (it would after 4 character times on a real line). */
	s->timeout_pending = true;
	return true;
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t byte;

	if (s->rx_count == 0)
		return 0;
	byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
	s->rx_count--;
	/* Reading RBR clears the timeout; with bytes left below the trigger
	 * it re-arms, which here means immediately. */
	s->timeout_pending = s->rx_count > 0;
	serial_maybe_resume_input(s);
	return byte;
}

static void serial_write_fcr(struct serial *s, uint8_t val)
{
	bool enable = val & FCR_ENABLE;

	if (enable != s->fifo_enabled) {
		/* Switching FIFO mode resets both FIFOs. */
		serial_rx_clear(s);
		s->fifo_enabled = enable;
	}
	if (!enable) {
		/* The other FCR bits are only written with bit 0 set. */
		s->fcr = 0;
	} else {
		if (val & FCR_CLEAR_RX)
			serial_rx_clear(s);
		/* FCR_CLEAR_TX: the transmitter is always empty. Bits 1-2 self-clear;
		 * bit 5 (16750 64-byte FIFO) is not implemented and stays 0. */
		s->fcr = val & (FCR_TRIGGER | 0x08 | FCR_ENABLE);
	}
	serial_maybe_resume_input(s);
}

static void serial_write_mcr(struct serial *s, uint8_t val)
{
	uint8_t before = serial_msr_status(s), after, changed;

	s->mcr = val & MCR_MASK;
	after = serial_msr_status(s);
	changed = before ^ after;
	if (changed & MSR_CTS)
		s->msr_delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		s->msr_delta |= MSR_DDSR;
	if (changed & MSR_DCD)
		s->msr_delta |= MSR_DDCD;
	if ((before & MSR_RI) && !(after & MSR_RI))
		s->msr_delta |= MSR_TERI;
	serial_maybe_resume_input(s);
}

static void serial_write_thr(struct serial *s, uint8_t val)
{
	if (s->mcr & MCR_LOOP)
		serial_rx_push(s, val);
	else
		chardev_write(s->cd, &val, 1);
	/* Transmission is instantaneous: THR is empty again right away. */
	s->thri_pending = true;
}

static void serial_write_reg(struct serial *s, unsigned reg, uint8_t val)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab)
			s->dll = val;
		else
			serial_write_thr(s, val);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = val;
		} else {
			uint8_t old = s->ier;

			s->ier = val & IER_MASK;
			/* Enabling THRI with THR empty raises it at once, and
			 * re-enabling raises it again: Linux's THRE test
			 * (serial8250_do_startup) checks exactly that. */
			if ((s->ier & IER_THRI) && !(old & IER_THRI))
				s->thri_pending = true;
			else if (!(s->ier & IER_THRI))
				s->thri_pending = false;
		}
		break;
	case UART_FCR:
		serial_write_fcr(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		serial_write_mcr(s, val);
		break;
	case UART_SCR:
		s->scr = val;
		break;
	default:
		/* LSR and MSR writes are factory-test on real parts: ignored. */
		break;
	}
}

static uint8_t serial_read_reg(struct serial *s, unsigned reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RX:
		return dlab ? s->dll : serial_rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		v = serial_iir_id(s);
		/* Reading IIR while it reports THRE is what acknowledges it. */
		if (v == IIR_THRI)
			s->thri_pending = false;
		return v | (s->fifo_enabled ? IIR_FIFO_ON : 0);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | s->lsr_errors | (s->rx_count ? LSR_DR : 0);
		s->lsr_errors = 0;
		return v;
	case UART_MSR:
		v = serial_msr_status(s) | s->msr_delta;
		s->msr_delta = 0;
		return v;
	case UART_SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < len && i < 8; i++) {
		uint64_t reg = offset + i;

		if (reg >= SERIAL_NREGS) {
			if (!is_write)
				data[i] = 0xff;
			continue;
		}
		if (is_write)
			serial_write_reg(s, (unsigned)reg, data[i]);
		else
			data[i] = serial_read_reg(s, (unsigned)reg);
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t taken = 0;

	pthread_mutex_lock(&s->lock);
	/* In loopback the receiver listens to the transmitter only; keep host
	 * input queued until the guest leaves loopback. */
	if (!(s->mcr & MCR_LOOP)) {
		while (taken < len && s->rx_count < serial_rx_capacity(s))
			serial_rx_push(s, buf[taken++]);
	}
	if (taken < len)
		s->input_paused = true;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return taken;
}

static size_t serial_chardev_input(void *opaque, const uint8_t *buf, size_t len)
{
	return serial_receive(opaque, buf, len);
}

struct serial *serial_create(struct bus *pio, uint16_t base, struct irq_pin irq, struct chardev *cd)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s) {
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->pio = pio;
	s->base = base;
	s->irq = irq;
	s->cd = cd;
	/* Reset state; divisor 12 = 9600 baud as firmware would leave it. */
	s->dll = 0x0c;
	if (bus_register(pio, base, SERIAL_NREGS, serial_io, s, "serial") < 0) {
		err_prefix("serial at 0x%x", base);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	if (cd)
		chardev_set_input(cd, serial_chardev_input, s);
	return s;
}

void serial_reset(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	s->ier = s->lcr = s->mcr = s->scr = s->fcr = s->dlm = 0;
	s->dll = 0x0c;
	s->lsr_errors = s->msr_delta = 0;
	s->fifo_enabled = s->thri_pending = false;
	serial_rx_clear(s);
	serial_maybe_resume_input(s);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	bus_unregister(s->pio, s->base);
	if (s->cd)
		chardev_set_input(s->cd, NULL, NULL);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
