/* virtio-rng (virtio 1.2 section 5.4): one request queue whose writable
 * buffers are filled from getrandom(). */
#ifndef VIREO_VMM_DEVICES_VIRTIO_RNG_H
#define VIREO_VMM_DEVICES_VIRTIO_RNG_H

#include "vmm/devices/virtio/virtio.h"

struct vrng;

struct vrng_opts {
	const struct guest_mem *gm;
	const struct virtio_host_ops *host;  /* NULL in tests */
	bool iothread;                       /* true in the VMM */
};

/* NULL with the error set. Register virtio_pci_device(vrng_transport(r)). */
struct vrng *vrng_create(const struct vrng_opts *opts);
struct virtio_pci *vrng_transport(struct vrng *r);
/* Bytes given to the guest so far. */
uint64_t vrng_bytes(struct vrng *r);
/* Unregister the PCI device first. */
void vrng_destroy(struct vrng *r);

#endif
