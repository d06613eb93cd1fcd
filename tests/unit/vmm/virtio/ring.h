/* Test helper: a driver's side of a split virtqueue in fake guest memory, so
 * tests can build well-formed and malicious rings byte by byte. */
#ifndef VIREO_TESTS_VIRTIO_RING_H
#define VIREO_TESTS_VIRTIO_RING_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/memory.h"
#include "vmm/devices/virtio/queue.h"

#define RING_RAM_SIZE (8u << 20)
#define RING_DESC 0x1000u
#define RING_AVAIL 0x3000u   /* avail ring: room for 1024 entries */
#define RING_USED 0x4000u    /* used ring: room for 512 entries */
#define RING_DATA 0x10000u

struct ring {
	uint8_t *ram;
	struct guest_mem gm;
	uint16_t size;
	uint16_t avail_idx;
};

static inline void ring_init(struct ring *r, uint16_t size)
{
	r->ram = calloc(1, RING_RAM_SIZE);
	gm_init_fake(&r->gm, 0, r->ram, RING_RAM_SIZE);
	r->size = size;
	r->avail_idx = 0;
}

static inline void ring_free(struct ring *r)
{
	free(r->ram);
}

static inline void ring_program(const struct ring *r, struct vq *vq)
{
	vq->size = r->size;
	vq->desc_gpa = RING_DESC;
	vq->avail_gpa = RING_AVAIL;
	vq->used_gpa = RING_USED;
	vq->enabled = true;
}

static inline void ring_desc(struct ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
			     uint16_t next)
{
	uint8_t *d = r->ram + RING_DESC + 16 * (size_t)i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* A descriptor inside an indirect table at guest address `table`. */
static inline void ring_ind_desc(struct ring *r, uint64_t table, uint16_t i, uint64_t addr,
				 uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = r->ram + table + 16 * (size_t)i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static inline void ring_set_avail_idx(struct ring *r, uint16_t idx)
{
	memcpy(r->ram + RING_AVAIL + 2, &idx, 2);
}

/* Make chain `head` available. */
static inline void ring_publish(struct ring *r, uint16_t head)
{
	memcpy(r->ram + RING_AVAIL + 4 + 2 * (size_t)(r->avail_idx % r->size), &head, 2);
	r->avail_idx++;
	ring_set_avail_idx(r, r->avail_idx);
}

static inline void ring_set_avail_flags(struct ring *r, uint16_t flags)
{
	memcpy(r->ram + RING_AVAIL, &flags, 2);
}

static inline void ring_set_used_event(struct ring *r, uint16_t v)
{
	memcpy(r->ram + RING_AVAIL + 4 + 2 * (size_t)r->size, &v, 2);
}

static inline uint16_t ring_used_idx(const struct ring *r)
{
	uint16_t v;

	memcpy(&v, r->ram + RING_USED + 2, 2);
	return v;
}

static inline void ring_used_elem(const struct ring *r, uint16_t i, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = r->ram + RING_USED + 4 + 8 * (size_t)(i % r->size);

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

static inline uint16_t ring_avail_event(const struct ring *r)
{
	uint16_t v;

	memcpy(&v, r->ram + RING_USED + 4 + 8 * (size_t)r->size, 2);
	return v;
}

#endif
