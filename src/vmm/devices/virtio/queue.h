/* The split virtqueue (virtio 1.2 section 2.7) seen from the device: the
 * driver's descriptor table and avail ring, the device's used ring, with every
 * index, length, flag and address from the guest validated before use. */
#ifndef VIREO_VMM_DEVICES_VIRTIO_QUEUE_H
#define VIREO_VMM_DEVICES_VIRTIO_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/memory.h"

#define VQ_MAX_SIZE 32768u
/* Entries of one indirect table we accept (the spec sets no bound; Linux
 * uses at most one per segment, and our devices advertise far fewer). */
#define VQ_MAX_INDIRECT 1024u

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq {
	/* Registers the driver programs through the transport. */
	uint16_t index;
	uint16_t max_size;
	uint16_t size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Set by vq_start. Host pointers into guest RAM, each range checked once
	 * with gm_ptr over its whole length. */
	const struct guest_mem *gm;
	bool started;
	bool event_idx, indirect;
	struct vring_desc *desc;
	uint16_t *avail;             /* flags, idx, ring[size], used_event */
	uint8_t *used;               /* flags, idx, ring[size] {id, len}, avail_event */

	uint16_t last_avail_idx;     /* next avail entry to take */
	uint16_t used_idx;           /* next used entry to fill */
	uint16_t signalled_used;     /* used_idx at the last interrupt */
	bool signalled_used_valid;
	bool broken;                 /* saw a malformed chain: stop until reset */

	pthread_mutex_t lock;        /* pop/push from the I/O thread and completions */
	int kick_fd;                 /* eventfd the ioeventfd signals, -1 if none */
	void *transport;             /* struct virtio_pci, for devices that signal */
};

/* One popped request: `out_num` readable segments then `in_num` writable
 * ones in iov[]; host pointers already checked against guest RAM. */
struct vq_elem {
	uint16_t head;
	unsigned out_num, in_num;
	uint64_t out_len, in_len;
	struct iovec *iov;
	unsigned cap;
};

void vq_init(struct vq *vq, uint16_t index, uint16_t max_size);
void vq_destroy(struct vq *vq);
/* Back to the state after device reset (size = max_size, disabled, no vector). */
void vq_reset(struct vq *vq);
/* Validate the programmed size and ring addresses against guest memory and
 * take `features` (EVENT_IDX, INDIRECT_DESC); -1 with the error set. */
int vq_start(struct vq *vq, const struct guest_mem *gm, uint64_t features);

/* Take the next available chain. 1: `elem` filled; 0: ring empty; -1: the
 * chain or ring is malformed (error set, queue marked broken; the device
 * must go to NEEDS_RESET). With EVENT_IDX it publishes avail_event. Caller
 * holds vq->lock. */
int vq_pop(struct vq *vq, struct vq_elem *elem);
/* vq_pop with flags. VQ_POP_NO_KICK: on an empty ring, leave avail_event
 * where it is, so the driver adds buffers without kicking; for a device
 * that will look at the ring again by itself (requests still in flight). */
#define VQ_POP_NO_KICK 1u
int vq_pop_flags(struct vq *vq, struct vq_elem *elem, unsigned flags);
/* Return chain `head` with `len` bytes written by the device. Caller holds vq->lock. */
int vq_push(struct vq *vq, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt for what was pushed since the last
 * one (EVENT_IDX used_event, or NO_INTERRUPT); records it as signalled. */
bool vq_need_signal(struct vq *vq);
/* Number of chains the driver made available and we have not taken. */
unsigned vq_pending(struct vq *vq);
void vq_elem_free(struct vq_elem *elem);

/* Copy between an iovec array and a flat buffer, starting `skip` bytes in;
 * returns bytes copied. */
size_t vq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t vq_iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len);

#endif
