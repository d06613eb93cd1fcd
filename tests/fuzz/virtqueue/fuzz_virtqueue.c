/* libFuzzer target of the split virtqueue walker: the input becomes the start
 * of a small guest RAM holding the descriptor table, avail ring and buffers;
 * the walker pops, checks and pushes until the ring is empty or refused. Any
 * access outside the fake RAM is an ASan report. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/devices/virtio/virtio.h"

#define RAM_SIZE 0x10000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem gm;
	struct vq vq;
	struct vq_elem e = { 0 };
	uint8_t *ram;
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);

	if (size < 2)
		return 0;
	/* Byte 0: queue size exponent and features; the rest is RAM. */
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return 0;
	memcpy(ram, data + 1, MIN(size - 1, RAM_SIZE));
	gm_init_fake(&gm, 0, ram, RAM_SIZE);
	log_set_level(LOG_ERROR);
	vq_init(&vq, 0, 256);
	vq.size = (uint16_t)(1u << (data[0] & 7));     /* 1..128 */
	if (data[0] & 0x08)
		features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (data[0] & 0x10)
		features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	vq.desc_gpa = 0x0;
	vq.avail_gpa = 0x800;
	vq.used_gpa = 0xc00;
	if (data[0] & 0x20)
		vq.used_gpa = RAM_SIZE - 16;           /* refused by vq_start */
	if (vq_start(&vq, &gm, features) == 0) {
		for (int i = 0; i < 512; i++) {
			int r = vq_pop(&vq, &e);

			if (r <= 0)
				break;
			/* Touch every segment, as a device would. */
			for (unsigned s = 0; s < e.out_num + e.in_num; s++) {
				volatile uint8_t *p = e.iov[s].iov_base;

				if (s >= e.out_num)
					p[e.iov[s].iov_len - 1] = p[0];
				else
					(void)p[e.iov[s].iov_len - 1];
			}
			vq_push(&vq, e.head, (uint32_t)e.in_len);
			vq_need_signal(&vq);
		}
	}
	vq_elem_free(&e);
	vq_destroy(&vq);
	free(ram);
	return 0;
}
