/* Address-decoded buses for guest port I/O and MMIO exits. A device registers
 * a range and one handler; the vCPU exit path looks the address up and calls it.
 * Registration happens before vCPUs run (or under the bus lock for hotplug). */
#ifndef VIREO_VMM_BUS_H
#define VIREO_VMM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* `offset` is relative to the registered base; `len` is 1, 2, 4 or 8.
 * For reads the handler fills data[0..len); unhandled bytes read as 0xff. */
typedef void (*bus_handler)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

struct bus_range {
	uint64_t base, len;
	bus_handler fn;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;        /* "pio" or "mmio", for messages */
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	unsigned nranges, cap;
	pthread_rwlock_t lock;
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);
/* -1 with error set if the range overlaps an existing one or is empty. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_handler fn, void *opaque,
		 const char *name);
int bus_unregister(struct bus *bus, uint64_t base);
/* Returns true if a device handled the access; false leaves data as 0xff on reads. */
bool bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

/* Little-endian helpers for handlers converting between data[] and integers. */
static inline uint64_t bus_data_get(const uint8_t *data, uint32_t len)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < len && i < 8; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

static inline void bus_data_put(uint8_t *data, uint32_t len, uint64_t v)
{
	for (uint32_t i = 0; i < len && i < 8; i++)
		data[i] = (uint8_t)(v >> (8 * i));
}

#endif
