/* Split virtqueue walker: takes chains from the avail ring, follows direct and
 * indirect descriptors with every field checked (index, length, flags, address,
 * chain length, order of readable and writable parts), fills the used ring and
 * decides when the driver wants an interrupt (VIRTIO_F_EVENT_IDX). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/devices/virtio/virtio.h"

/* The guest changes the rings concurrently: every shared field is read once
 * with an atomic load into a local, and only the local is checked and used. */
static inline uint16_t ld16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static inline void st16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

void vq_init(struct vq *vq, uint16_t index, uint16_t max_size)
{
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->max_size = max_size;
	vq->kick_fd = -1;
	pthread_mutex_init(&vq->lock, NULL);
	vq_reset(vq);
}

void vq_destroy(struct vq *vq)
{
	pthread_mutex_destroy(&vq->lock);
}

void vq_reset(struct vq *vq)
{
	vq->size = vq->max_size;
	vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
	vq->enabled = false;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->gm = NULL;
	vq->started = false;
	vq->event_idx = vq->indirect = false;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->last_avail_idx = vq->used_idx = vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->broken = false;
}

int vq_start(struct vq *vq, const struct guest_mem *gm, uint64_t features)
{
	uint64_t size = vq->size;
	void *d, *a, *u;

	if (size == 0 || size > VQ_MAX_SIZE || (size & (size - 1)) || size > vq->max_size)
		return err_set(ERR_GUEST, "virtqueue %u: size %u is not a power of two up to %u",
			       vq->index, vq->size, vq->max_size);
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return err_set(ERR_GUEST, "virtqueue %u: misaligned rings (desc 0x%llx avail 0x%llx used 0x%llx)",
			       vq->index, (unsigned long long)vq->desc_gpa,
			       (unsigned long long)vq->avail_gpa, (unsigned long long)vq->used_gpa);
	d = gm_ptr(gm, vq->desc_gpa, 16 * size);
	a = gm_ptr(gm, vq->avail_gpa, 6 + 2 * size);
	u = gm_ptr(gm, vq->used_gpa, 6 + 8 * size);
	if (!d || !a || !u)
		return err_set(ERR_GUEST, "virtqueue %u: %s ring outside guest RAM", vq->index,
			       !d ? "descriptor" : !a ? "available" : "used");
	vq->gm = gm;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	vq->event_idx = features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	vq->indirect = features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	vq->last_avail_idx = vq->used_idx = vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->broken = false;
	vq->started = true;
	return 0;
}

static inline uint16_t avail_idx(struct vq *vq)
{
	return ld16(&vq->avail[1]);
}

static inline uint16_t *used_idx_ptr(struct vq *vq)
{
	return (uint16_t *)(vq->used + 2);
}

static inline uint16_t *avail_event_ptr(struct vq *vq)
{
	return (uint16_t *)(vq->used + 4 + 8 * (size_t)vq->size);
}

unsigned vq_pending(struct vq *vq)
{
	if (!vq->started || vq->broken)
		return 0;
	return (uint16_t)(avail_idx(vq) - vq->last_avail_idx);
}

static int elem_add(struct vq *vq, struct vq_elem *e, uint64_t addr, uint32_t len, bool writable)
{
	void *p;

	if (len == 0)
		return err_set(ERR_GUEST, "virtqueue %u: zero-length descriptor in chain %u",
			       vq->index, e->head);
	p = gm_ptr(vq->gm, addr, len);
	if (!p)
		return err_set(ERR_GUEST, "virtqueue %u: buffer 0x%llx+%u outside guest RAM (chain %u)",
			       vq->index, (unsigned long long)addr, len, e->head);
	if (!writable && e->in_num)
		return err_set(ERR_GUEST, "virtqueue %u: readable descriptor after a writable one (chain %u)",
			       vq->index, e->head);
	/* Used lengths are 32-bit: a chain may not describe more. */
	if ((writable ? e->in_len : e->out_len) + len > UINT32_MAX)
		return err_set(ERR_GUEST, "virtqueue %u: chain %u longer than 4 GiB", vq->index, e->head);
	if (e->out_num + e->in_num == e->cap) {
		unsigned cap = e->cap ? 2 * e->cap : 16;
		struct iovec *n = realloc(e->iov, cap * sizeof(*n));

		if (!n)
			return err_set(ERR_NOMEM, "virtqueue %u: out of memory", vq->index);
		e->iov = n;
		e->cap = cap;
	}
	e->iov[e->out_num + e->in_num] = (struct iovec){ p, len };
	if (writable) {
		e->in_num++;
		e->in_len += len;
	} else {
		e->out_num++;
		e->out_len += len;
	}
	return 0;
}

static int walk_indirect(struct vq *vq, struct vq_elem *e, const struct vring_desc *ind)
{
	uint32_t n = ind->len / 16, i = 0, seen = 0;
	const struct vring_desc *table;

	if (!vq->indirect)
		return err_set(ERR_GUEST, "virtqueue %u: indirect descriptor without VIRTIO_F_INDIRECT_DESC",
			       vq->index);
	if (ind->flags & VRING_DESC_F_NEXT)
		return err_set(ERR_GUEST, "virtqueue %u: indirect descriptor with NEXT (chain %u)",
			       vq->index, e->head);
	if (ind->len == 0 || ind->len % 16 || n > VQ_MAX_INDIRECT)
		return err_set(ERR_GUEST, "virtqueue %u: indirect table length %u invalid (chain %u)",
			       vq->index, ind->len, e->head);
	if (ind->addr & 15)
		return err_set(ERR_GUEST, "virtqueue %u: indirect table 0x%llx misaligned", vq->index,
			       (unsigned long long)ind->addr);
	table = gm_ptr(vq->gm, ind->addr, ind->len);
	if (!table)
		return err_set(ERR_GUEST, "virtqueue %u: indirect table 0x%llx+%u outside guest RAM",
			       vq->index, (unsigned long long)ind->addr, ind->len);
	for (;;) {
		struct vring_desc d;

		if (++seen > n)
			return err_set(ERR_GUEST, "virtqueue %u: loop in indirect table (chain %u)",
				       vq->index, e->head);
		memcpy(&d, (const void *)&table[i], sizeof(d));
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		d.addr = le64toh(d.addr);
		d.len = le32toh(d.len);
		d.flags = le16toh(d.flags);
		d.next = le16toh(d.next);
		if (d.flags & ~(VRING_DESC_F_NEXT | VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT))
			return err_set(ERR_GUEST, "virtqueue %u: unknown descriptor flags 0x%x", vq->index,
				       d.flags);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return err_set(ERR_GUEST, "virtqueue %u: nested indirect descriptor (chain %u)",
				       vq->index, e->head);
		if (elem_add(vq, e, d.addr, d.len, d.flags & VRING_DESC_F_WRITE) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return err_set(ERR_GUEST, "virtqueue %u: indirect next %u out of range %u",
				       vq->index, d.next, n);
		i = d.next;
	}
}

static int walk_chain(struct vq *vq, struct vq_elem *e, uint16_t head)
{
	uint32_t i = head, seen = 0;

	for (;;) {
		struct vring_desc d;

		if (i >= vq->size)
			return err_set(ERR_GUEST, "virtqueue %u: descriptor index %u out of range %u",
				       vq->index, i, vq->size);
		if (++seen > vq->size)
			return err_set(ERR_GUEST, "virtqueue %u: loop in descriptor chain %u", vq->index,
				       head);
		memcpy(&d, (const void *)&vq->desc[i], sizeof(d));
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		d.addr = le64toh(d.addr);
		d.len = le32toh(d.len);
		d.flags = le16toh(d.flags);
		d.next = le16toh(d.next);
		if (d.flags & ~(VRING_DESC_F_NEXT | VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT))
			return err_set(ERR_GUEST, "virtqueue %u: unknown descriptor flags 0x%x", vq->index,
				       d.flags);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return walk_indirect(vq, e, &d);
		if (elem_add(vq, e, d.addr, d.len, d.flags & VRING_DESC_F_WRITE) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int vq_pop(struct vq *vq, struct vq_elem *e)
{
	return vq_pop_flags(vq, e, 0);
}

int vq_pop_flags(struct vq *vq, struct vq_elem *e, unsigned flags)
{
	uint16_t avail, head, n;

	if (!vq->started)
		return 0;
	if (vq->broken)
		return err_set(ERR_GUEST, "virtqueue %u: broken until reset", vq->index);
	avail = avail_idx(vq);
	n = (uint16_t)(avail - vq->last_avail_idx);
	if (n > vq->size) {
		vq->broken = true;
		return err_set(ERR_GUEST, "virtqueue %u: avail index %u is %u ahead of %u (size %u)",
			       vq->index, avail, n, vq->last_avail_idx, vq->size);
	}
	if (n == 0) {
		if (vq->event_idx && !(flags & VQ_POP_NO_KICK)) {
			/* Ask for a kick at the next buffer, then look again: the
			 * driver may have added one before seeing avail_event. */
			st16(avail_event_ptr(vq), vq->last_avail_idx);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			avail = avail_idx(vq);
			n = (uint16_t)(avail - vq->last_avail_idx);
			if (n == 0)
				return 0;
			if (n > vq->size) {
				vq->broken = true;
				return err_set(ERR_GUEST, "virtqueue %u: avail index %u out of range",
					       vq->index, avail);
			}
		} else {
			return 0;
		}
	}
	/* Read the ring entry only after seeing the index that covers it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = ld16(&vq->avail[2 + vq->last_avail_idx % vq->size]);
	e->head = head;
	e->out_num = e->in_num = 0;
	e->out_len = e->in_len = 0;
	if (walk_chain(vq, e, head) < 0) {
		vq->broken = true;
		return -1;
	}
	/* avail_event is left where it was while the device drains the ring:
	 * the driver then adds buffers without kicking (each kick is an exit).
	 * Only an empty ring, above, asks for a kick again, and looks once more
	 * after asking, so no buffer waits for a kick that never comes (the
	 * devices take chains until the ring is empty or they wait for data). */
	vq->last_avail_idx++;
	return 1;
}

int vq_push(struct vq *vq, uint16_t head, uint32_t len)
{
	uint8_t *slot;
	uint32_t v[2];

	if (!vq->started)
		return err_set(ERR_INTERNAL, "virtqueue %u: push on a stopped queue", vq->index);
	if (head >= vq->size)
		return err_set(ERR_INTERNAL, "virtqueue %u: push of head %u out of range", vq->index, head);
	slot = vq->used + 4 + 8 * (size_t)(vq->used_idx % vq->size);
	v[0] = htole32(head);
	v[1] = htole32(len);
	memcpy(slot, v, sizeof(v));
	/* The entry must be visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->used_idx++;
	st16(used_idx_ptr(vq), vq->used_idx);
	return 0;
}

bool vq_need_signal(struct vq *vq)
{
	uint16_t old, now, event;
	bool valid;

	if (!vq->started)
		return false;
	/* The used index must be visible before we read the driver's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	now = vq->used_idx;
	if (!vq->event_idx)
		return !(ld16(&vq->avail[0]) & VRING_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	vq->signalled_used = now;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	event = ld16(&vq->avail[2 + vq->size]);
	/* Section 2.7.10: interrupt when used_event lies in (old, now]. */
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

void vq_elem_free(struct vq_elem *e)
{
	free(e->iov);
	e->iov = NULL;
	e->cap = 0;
	e->out_num = e->in_num = 0;
}

size_t vq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l = MIN(l - skip, len - done);
		memcpy((uint8_t *)buf + done, (const uint8_t *)iov[i].iov_base + skip, l);
		done += l;
		skip = 0;
	}
	return done;
}

size_t vq_iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l = MIN(l - skip, len - done);
		memcpy((uint8_t *)iov[i].iov_base + skip, (const uint8_t *)buf + done, l);
		done += l;
		skip = 0;
	}
	return done;
}
