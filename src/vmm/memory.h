/* Guest physical memory: RAM regions mapped into the VMM, and the one set of
 * bounds-checked accessors every device uses to touch guest memory. A range
 * that is not wholly inside one RAM region is refused, never clamped. */
#ifndef VIREO_VMM_MEMORY_H
#define VIREO_VMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* x86 layout: RAM below the 32-bit MMIO hole, the rest continues above 4 GiB. */
#define GM_HOLE_START 0xC0000000ULL   /* 3 GiB: PCI MMIO, ECAM, IOAPIC, LAPIC */
#define GM_HOLE_END 0x100000000ULL    /* 4 GiB */
#define GM_MAX_REGIONS 8

struct gm_region {
	uint64_t gpa;      /* guest-physical start */
	uint64_t size;
	uint8_t *host;     /* host mapping */
	int node;          /* guest NUMA node, 0 when none */
};

struct guest_mem {
	struct gm_region regions[GM_MAX_REGIONS];
	unsigned nregions;
	uint64_t ram_size;   /* total RAM bytes over all regions */
};

/* Map `size` bytes of guest RAM (MAP_NORESERVE, lazily backed), split around
 * the hole. Returns 0 or -1 with the error set. */
int gm_init(struct guest_mem *gm, uint64_t size);
/* Wrap existing buffers (unit tests, fuzzers): one region at `gpa`. */
int gm_init_fake(struct guest_mem *gm, uint64_t gpa, void *buf, uint64_t size);
void gm_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) if wholly inside one region, else NULL.
 * len 0 is refused. Overflow-safe. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Copy to/from guest memory; -1 (error set, ERR_GUEST) when out of range. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *buf, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, uint64_t len);
bool gm_range_valid(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

#endif
