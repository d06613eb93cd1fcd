/* virtio-rng: fills every writable buffer the guest offers with bytes from
 * the host's getrandom(), on the device's I/O thread. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/devices/virtio/rng.h"

/* Per request at most this much entropy: a guest asking for 4 GiB gets
 * what it needs for its pool, not a host CPU burnt on getrandom. */
#define VRNG_MAX_REQUEST (64u * 1024)

struct vrng {
	struct virtio_pci *vp;
	struct vq_elem elem;
	uint64_t bytes;
};

static void vrng_fill(struct vq_elem *e, uint32_t *written)
{
	uint32_t done = 0;

	for (unsigned i = e->out_num; i < e->out_num + e->in_num && done < VRNG_MAX_REQUEST; i++) {
		size_t want = MIN((size_t)e->iov[i].iov_len, VRNG_MAX_REQUEST - done), got = 0;

		while (got < want) {
			ssize_t n = getrandom((uint8_t *)e->iov[i].iov_base + got, want - got, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				log_warn("virtio-rng: getrandom: %s", strerror(errno));
				*written = done + (uint32_t)got;
				return;
			}
			got += (size_t)n;
		}
		done += (uint32_t)got;
	}
	*written = done;
}

static void vrng_notify(void *opaque, struct vq *vq)
{
	struct vrng *r = opaque;
	int ret;

	pthread_mutex_lock(&vq->lock);
	while ((ret = vq_pop(vq, &r->elem)) == 1) {
		uint32_t len = 0;

		vrng_fill(&r->elem, &len);
		r->bytes += len;
		vq_push(vq, r->elem.head, len);
	}
	if (ret < 0)
		virtio_pci_set_needs_reset(r->vp, err_message());
	else
		virtio_pci_queue_signal(r->vp, vq);
	pthread_mutex_unlock(&vq->lock);
}

static void vrng_reset(void *opaque)
{
	(void)opaque;   /* requests complete synchronously: nothing in flight */
}

static const struct virtio_device_ops vrng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.class_code = 0x00ff00,
	.num_queues = 1,
	.queue_max_size = 256,
	.config_size = 0,
	.queue_notify = vrng_notify,
	.reset = vrng_reset,
};

struct vrng *vrng_create(const struct vrng_opts *opts)
{
	struct vrng *r = calloc(1, sizeof(*r));
	struct virtio_pci_opts po = { .ops = &vrng_ops, .gm = opts->gm, .host = opts->host,
				      .iothread = opts->iothread };

	if (!r) {
		err_set(ERR_NOMEM, "virtio-rng: out of memory");
		return NULL;
	}
	po.opaque = r;
	r->vp = virtio_pci_create(&po);
	if (!r->vp) {
		free(r);
		return NULL;
	}
	return r;
}

struct virtio_pci *vrng_transport(struct vrng *r)
{
	return r->vp;
}

uint64_t vrng_bytes(struct vrng *r)
{
	return __atomic_load_n(&r->bytes, __ATOMIC_RELAXED);
}

void vrng_destroy(struct vrng *r)
{
	if (!r)
		return;
	virtio_pci_destroy(r->vp);
	vq_elem_free(&r->elem);
	free(r);
}
