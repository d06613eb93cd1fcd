/* Port I/O and MMIO address decoding (see bus.h): a sorted array searched by
 * bisection under a read lock, so vCPU exits run in parallel. */
#include "vmm/bus.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	pthread_rwlock_destroy(&bus->lock);
	memset(bus, 0, sizeof(*bus));
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_handler fn, void *opaque,
		 const char *name)
{
	unsigned i;
	int rc = 0;

	if (len == 0 || base + len < base)
		return err_set(ERR_INTERNAL, "%s: empty or wrapping range for %s", bus->name, name);
	pthread_rwlock_wrlock(&bus->lock);
	for (i = 0; i < bus->nranges && bus->ranges[i].base < base; i++)
		;
	if ((i > 0 && bus->ranges[i - 1].base + bus->ranges[i - 1].len > base) ||
	    (i < bus->nranges && base + len > bus->ranges[i].base)) {
		const struct bus_range *o = i > 0 && bus->ranges[i - 1].base + bus->ranges[i - 1].len > base ?
			&bus->ranges[i - 1] : &bus->ranges[i];
		rc = err_set(ERR_EXISTS, "%s: %s at 0x%llx+0x%llx overlaps %s", bus->name, name,
			     (unsigned long long)base, (unsigned long long)len, o->name);
		goto out;
	}
	if (bus->nranges == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));

		if (!r) {
			rc = err_set(ERR_NOMEM, "out of memory registering %s", name);
			goto out;
		}
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nranges - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){ base, len, fn, opaque, name };
	bus->nranges++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return rc;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	int rc = -1;

	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned i = 0; i < bus->nranges; i++) {
		if (bus->ranges[i].base != base)
			continue;
		memmove(&bus->ranges[i], &bus->ranges[i + 1], (bus->nranges - i - 1) * sizeof(bus->ranges[0]));
		bus->nranges--;
		rc = 0;
		break;
	}
	pthread_rwlock_unlock(&bus->lock);
	if (rc < 0)
		err_set(ERR_NOT_FOUND, "%s: nothing registered at 0x%llx", bus->name, (unsigned long long)base);
	return rc;
}

bool bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	unsigned lo = 0, hi;
	bool handled = false;

	pthread_rwlock_rdlock(&bus->lock);
	hi = bus->nranges;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			r->fn(r->opaque, addr - r->base, data, len, is_write);
			handled = true;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!handled && !is_write)
		memset(data, 0xff, len);
	return handled;
}
