/* Test doubles shared by the device unit tests: an IRQ line recorder, a
 * vm_request recorder, and byte-wise port access helpers over a real bus. */
#ifndef VIREO_TESTS_DEVICES_FAKES_H
#define VIREO_TESTS_DEVICES_FAKES_H

#include <stdint.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/irq.h"
#include "vmm/devices/device.h"

struct irq_recorder {
	int level;        /* last level driven, -1 before any */
	unsigned raises;  /* 0->1 transitions seen */
	unsigned calls;
	uint32_t gsi;
};

static inline void irq_recorder_set(void *ctx, uint32_t gsi, int level)
{
	struct irq_recorder *r = ctx;

	if (level && r->level != 1)
		r->raises++;
	r->level = level;
	r->gsi = gsi;
	r->calls++;
}

static inline struct irq_pin irq_recorder_pin(struct irq_recorder *r, uint32_t gsi)
{
	memset(r, 0, sizeof(*r));
	r->level = -1;
	return (struct irq_pin){ .set = irq_recorder_set, .ctx = r, .gsi = gsi };
}

struct request_recorder {
	unsigned resets, poweroffs;
};

static inline void request_recorder_fn(void *ctx, enum vm_request req)
{
	struct request_recorder *r = ctx;

	if (req == VM_REQUEST_RESET)
		r->resets++;
	else if (req == VM_REQUEST_POWEROFF)
		r->poweroffs++;
}

static inline uint64_t io_in(struct bus *bus, uint64_t port, uint32_t len)
{
	uint8_t data[8];

	memset(data, 0xff, sizeof(data));
	bus_dispatch(bus, port, data, len, false);
	return bus_data_get(data, len);
}

static inline void io_out(struct bus *bus, uint64_t port, uint32_t len, uint64_t v)
{
	uint8_t data[8];

	bus_data_put(data, len, v);
	bus_dispatch(bus, port, data, len, true);
}

static inline uint8_t inb(struct bus *bus, uint64_t port)
{
	return (uint8_t)io_in(bus, port, 1);
}

static inline void outb(struct bus *bus, uint64_t port, uint8_t v)
{
	io_out(bus, port, 1, v);
}

#endif
