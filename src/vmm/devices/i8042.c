/* i8042 keyboard controller with empty PS/2 ports (see i8042.h): command byte,
 * self tests, port enable/disable, output port, loopback writes, and the reset
 * line. Commands follow the IBM PS/2 technical reference numbering. */
#include "vmm/devices/i8042.h"
#include "common/error.h"
#include "common/log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

/* Status register. */
#define STR_OBF 0x01       /* output buffer full */
#define STR_IBF 0x02       /* input buffer full: never, we process at once */
#define STR_SYS 0x04       /* system flag, mirrors the command byte */
#define STR_CMD 0x08       /* last write went to the command port */
#define STR_UNLOCKED 0x10  /* keyboard not inhibited */
#define STR_AUXDATA 0x20   /* output byte came from the aux port */
#define STR_TIMEOUT 0x40   /* the device did not answer */

/* Command byte ("controller configuration byte"). */
#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40

/* Output port: bit 0 is the CPU reset line (active low), bit 1 A20. */
#define OUTPORT_RESET_N 0x01
#define OUTPORT_A20 0x02

/* Controller commands. */
#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_INPORT 0xc0
#define CMD_READ_OUTPORT 0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_KBD_LOOP 0xd2
#define CMD_AUX_LOOP 0xd3
#define CMD_AUX_SEND 0xd4
#define CMD_PULSE_FIRST 0xf0

#define SELF_TEST_OK 0x55
#define PS2_NAK 0xfe

/* Small queue of output bytes: a controller answer and a device answer can
 * meet (the guest reads them one by one, each with its own source flags). */
#define I8042_QUEUE 8

struct i8042_byte {
	uint8_t value;
	uint8_t flags;     /* STR_AUXDATA | STR_TIMEOUT */
};

struct i8042 {
	pthread_mutex_t lock;
	struct bus *pio;
	struct irq_pin kbd_irq, aux_irq;
	const struct vm_request_sink *requests;

	uint8_t ctr;
	uint8_t outport;
	uint8_t pending_cmd;  /* command waiting for its data byte, 0 if none */
	bool last_was_cmd;
	struct i8042_byte queue[I8042_QUEUE];
	unsigned qhead, qcount;
	bool kbd_level, aux_level;
};

static void i8042_update_irqs(struct i8042 *k)
{
	bool kbd = false, aux = false;

	if (k->qcount) {
		const struct i8042_byte *b = &k->queue[k->qhead];

		if (b->flags & STR_AUXDATA)
			aux = k->ctr & CTR_AUXINT;
		else
			kbd = k->ctr & CTR_KBDINT;
	}
	if (kbd != k->kbd_level) {
		k->kbd_level = kbd;
		irq_pin_set(&k->kbd_irq, kbd);
	}
	if (aux != k->aux_level) {
		k->aux_level = aux;
		irq_pin_set(&k->aux_irq, aux);
	}
}

static void i8042_push(struct i8042 *k, uint8_t value, uint8_t flags)
{
	if (k->qcount == I8042_QUEUE)
		return;   /* a guest that never reads: drop, as the 1-byte buffer would */
	k->queue[(k->qhead + k->qcount) % I8042_QUEUE] = (struct i8042_byte){ value, flags };
	k->qcount++;
}

static void i8042_reset_request(struct i8042 *k, const char *why)
{
	log_debug("i8042: guest requests reset (%s)", why);
	vm_request(k->requests, VM_REQUEST_RESET);
}

static void i8042_write_outport(struct i8042 *k, uint8_t val)
{
	k->outport = val;
	if (!(val & OUTPORT_RESET_N))
		i8042_reset_request(k, "output port bit 0 cleared");
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CTR:
		i8042_push(k, k->ctr, 0);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
	case CMD_AUX_SEND:
		k->pending_cmd = cmd;
		break;
	case CMD_AUX_DISABLE:
		k->ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->ctr &= ~CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		/* 0x00: the clock and data lines are fine (nothing is plugged). */
		i8042_push(k, 0x00, 0);
		break;
	case CMD_SELF_TEST:
		k->ctr |= CTR_SYS;
		i8042_push(k, SELF_TEST_OK, 0);
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= ~CTR_KBDDIS;
		break;
	case CMD_READ_INPORT:
		i8042_push(k, 0x00, 0);
		break;
	case CMD_READ_OUTPORT:
		i8042_push(k, k->outport, 0);
		break;
	default:
		if (cmd >= CMD_PULSE_FIRST) {
			/* Pulse output lines whose bit is 0 in the low nibble:
			 * bit 0 is the reset line, so 0xfe (and 0xf0...) reset. */
			if (!(cmd & 0x01))
				i8042_reset_request(k, "pulse command");
		} else if (cmd > CMD_READ_CTR && cmd < CMD_WRITE_CTR) {
			i8042_push(k, 0x00, 0);   /* other controller RAM bytes */
		} else if (cmd > CMD_WRITE_CTR && cmd < 0x80) {
			k->pending_cmd = cmd;     /* write controller RAM: data ignored */
		} else {
			log_debug("i8042: unsupported command 0x%02x ignored", cmd);
		}
		break;
	}
}

static void i8042_data(struct i8042 *k, uint8_t val)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = val;
		break;
	case CMD_WRITE_OUTPORT:
		i8042_write_outport(k, val);
		break;
	case CMD_KBD_LOOP:
		i8042_push(k, val, 0);
		break;
	case CMD_AUX_LOOP:
		i8042_push(k, val, STR_AUXDATA);
		break;
	case CMD_AUX_SEND:
		/* No mouse: answer NAK with the timeout flag. */
		i8042_push(k, PS2_NAK, STR_AUXDATA | STR_TIMEOUT);
		break;
	case 0:
		/* A byte for the keyboard, which is not there. Sending to the
		 * keyboard re-enables its port on real controllers. */
		k->ctr &= ~CTR_KBDDIS;
		i8042_push(k, PS2_NAK, STR_TIMEOUT);
		break;
	default:
		break;    /* controller RAM write (0x61-0x7f): ignored */
	}
}

static uint8_t i8042_status(const struct i8042 *k)
{
	uint8_t s = STR_UNLOCKED;

	if (k->ctr & CTR_SYS)
		s |= STR_SYS;
	if (k->last_was_cmd)
		s |= STR_CMD;
	if (k->qcount)
		s |= STR_OBF | k->queue[k->qhead].flags;
	return s;
}

void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;

	/* Only the byte at 0x60 is ours; wider accesses spill onto other ports. */
	if (offset != 0 || len == 0) {
		if (!is_write)
			for (uint32_t i = 0; i < len && i < 8; i++)
				data[i] = 0xff;
		return;
	}
	pthread_mutex_lock(&k->lock);
	if (is_write) {
		k->last_was_cmd = false;
		i8042_data(k, data[0]);
	} else {
		if (k->qcount) {
			data[0] = k->queue[k->qhead].value;
			k->qhead = (k->qhead + 1) % I8042_QUEUE;
			k->qcount--;
		} else {
			data[0] = 0x00;
		}
		for (uint32_t i = 1; i < len && i < 8; i++)
			data[i] = 0xff;
	}
	i8042_update_irqs(k);
	pthread_mutex_unlock(&k->lock);
}

void i8042_command_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;

	if (offset != 0 || len == 0) {
		if (!is_write)
			for (uint32_t i = 0; i < len && i < 8; i++)
				data[i] = 0xff;
		return;
	}
	pthread_mutex_lock(&k->lock);
	if (is_write) {
		k->last_was_cmd = true;
		k->pending_cmd = 0;   /* a new command cancels a pending data byte */
		i8042_command(k, data[0]);
	} else {
		data[0] = i8042_status(k);
		for (uint32_t i = 1; i < len && i < 8; i++)
			data[i] = 0xff;
	}
	i8042_update_irqs(k);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_power_on(struct i8042 *k)
{
	/* As firmware leaves it: both interrupts on, POST passed, translation. */
	k->ctr = CTR_KBDINT | CTR_AUXINT | CTR_SYS | CTR_XLATE;
	k->outport = OUTPORT_RESET_N | OUTPORT_A20;
	k->pending_cmd = 0;
	k->last_was_cmd = false;
	k->qhead = k->qcount = 0;
}

void i8042_reset(struct i8042 *k)
{
	pthread_mutex_lock(&k->lock);
	i8042_power_on(k);
	i8042_update_irqs(k);
	pthread_mutex_unlock(&k->lock);
}

struct i8042 *i8042_create(struct bus *pio, struct irq_pin kbd_irq, struct irq_pin aux_irq,
			   const struct vm_request_sink *requests)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k) {
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&k->lock, NULL);
	k->pio = pio;
	k->kbd_irq = kbd_irq;
	k->aux_irq = aux_irq;
	k->requests = requests;
	i8042_power_on(k);
	if (bus_register(pio, I8042_DATA_PORT, 1, i8042_data_io, k, "i8042-data") < 0) {
		err_prefix("i8042");
		goto fail;
	}
	if (bus_register(pio, I8042_COMMAND_PORT, 1, i8042_command_io, k, "i8042-command") < 0) {
		err_prefix("i8042");
		bus_unregister(pio, I8042_DATA_PORT);
		goto fail;
	}
	return k;
fail:
	pthread_mutex_destroy(&k->lock);
	free(k);
	return NULL;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	bus_unregister(k->pio, I8042_DATA_PORT);
	bus_unregister(k->pio, I8042_COMMAND_PORT);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
