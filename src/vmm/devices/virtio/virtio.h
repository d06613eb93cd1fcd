/* virtio 1.x as vireo-vmm's devices see it: the constants of the spec, the ops
 * a device model gives the PCI transport, and the ops the machine gives the
 * transport for what only KVM can do (MSI routes, irqfds, ioeventfds). */
#ifndef VIREO_VMM_DEVICES_VIRTIO_VIRTIO_H
#define VIREO_VMM_DEVICES_VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/memory.h"

/* PCI identity (virtio 1.2 section 4.1.2): modern devices are 0x1040 + device id. */
#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_SUBSYSTEM_ID 0x1100
#define VIRTIO_PCI_REVISION 1

/* Device types (section 5). */
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG 4

/* device_status bits (section 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Transport feature bits (section 6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_BIT(b) (1ULL << (b))

#define VIRTIO_MSI_NO_VECTOR 0xffff
#define VIRTIO_MAX_QUEUES 16

struct vq;
struct virtio_pci;

/* What the machine provides (implemented with KVM_SET_GSI_ROUTING, KVM_IRQFD
 * and KVM_IOEVENTFD in src/vmm/main; recorded by fakes in unit tests). Any
 * pointer may be NULL: the transport then signals eventfds only (tests). */
struct virtio_host_ops {
	/* Point GSI `gsi` at MSI (addr, data). */
	int (*msi_route)(void *ctx, uint32_t gsi, uint64_t addr, uint32_t data);
	/* Make eventfd `fd` raise `gsi` (assign) or stop doing so. */
	int (*irqfd)(void *ctx, int fd, uint32_t gsi, bool assign);
	/* Guest writes of `len` bytes at `addr` (I/O port if `pio`, else MMIO)
	 * signal `fd` instead of exiting. */
	int (*ioeventfd)(void *ctx, uint64_t addr, uint32_t len, int fd, bool pio, bool assign);
	uint32_t (*gsi_alloc)(void *ctx);    /* a free GSI for an MSI route (>= 24) */
	void *ctx;
};

/* A device model plugged into the transport. The transport owns common
 * config, MSI-X, ISR, the status machine and the queues' registers; the model
 * owns its config space and what the queues carry. */
struct virtio_device_ops {
	const char *name;          /* "virtio-blk", for messages and the PCI registry */
	uint16_t device_id;        /* VIRTIO_ID_* */
	uint32_t class_code;       /* 24-bit PCI class */
	uint16_t num_queues;       /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_max_size;   /* power of two, <= 32768 */
	/* Device-specific feature bits offered; the transport adds VERSION_1,
	 * INDIRECT_DESC and EVENT_IDX. */
	uint64_t (*features)(void *opaque);
	uint32_t config_size;
	/* Device config space; offset+len <= config_size, checked by the transport. */
	void (*config_read)(void *opaque, uint32_t offset, uint8_t *data, uint32_t len);
	void (*config_write)(void *opaque, uint32_t offset, const uint8_t *data, uint32_t len);
	/* The driver set DRIVER_OK: `features` were negotiated and every enabled
	 * queue is started. -1 (error set) puts the device in NEEDS_RESET. */
	int (*activate)(void *opaque, uint64_t features);
	/* The driver kicked queue `vq` (I/O thread, or the vCPU without one). */
	void (*queue_notify)(void *opaque, struct vq *vq);
	/* Device reset: stop touching the queues and guest memory; when it
	 * returns no request of the model is still in flight. */
	void (*reset)(void *opaque);
};

/* ---- transport calls for device models (devices/virtio/pci.c) ---- */

/* After vq_push(): raise the queue's MSI-X vector unless the driver
 * suppressed it (EVENT_IDX / NO_INTERRUPT); true if raised. Any thread,
 * holding vq->lock. */
bool virtio_pci_queue_signal(struct virtio_pci *vp, struct vq *vq);
/* Hand a kick of `vq` to the I/O thread, served on its next turn after the
 * other sources it has ready: for a model that stopped at its budget with
 * buffers left (and the transport's kicks that exit to the VMM). */
void virtio_pci_queue_resched(struct virtio_pci *vp, struct vq *vq);
/* The device config changed (capacity...): bump config_generation, raise the
 * config vector. */
void virtio_pci_config_changed(struct virtio_pci *vp);
/* The device hit an error it cannot go on from (a malformed ring): set
 * DEVICE_NEEDS_RESET and raise the config vector; logs the cause once. */
void virtio_pci_set_needs_reset(struct virtio_pci *vp, const char *why);
/* Serve `fd` on the transport's I/O thread too: cb(opaque) runs there
 * whenever it is readable (level-triggered: cb must drain it), outside the
 * lock that keeps kicks out during a reset, so it may complete requests a
 * reset waits for. Call before the guest runs. -1 (error set) without an
 * I/O thread. */
int virtio_pci_watch_fd(struct virtio_pci *vp, int fd, void (*cb)(void *opaque), void *opaque);
/* Stop (on false) or resume serving a watched fd: for a source the model
 * cannot take from for now (frames while the guest has no buffers). Any
 * thread. -1 (error set) if `fd` is not watched. */
int virtio_pci_watch_enable(struct virtio_pci *vp, int fd, bool on);
/* The guest memory the device's buffers live in. */
const struct guest_mem *virtio_pci_guest_mem(struct virtio_pci *vp);

/* ---- transport creation, for the machine ---- */

struct pci_device;
struct pci_bus;
struct json_object;

struct virtio_pci_opts {
	const struct virtio_device_ops *ops;
	void *opaque;                        /* the device model, passed to ops */
	const struct guest_mem *gm;
	const struct virtio_host_ops *host;  /* copied; NULL: eventfds only (tests) */
	bool iothread;                       /* serve kicks on a thread of the device's own */
};

/* One PCI function (vendor 0x1af4, device 0x1040 + id) with a 32 KiB memory
 * BAR 0 holding the common, ISR, device and notify regions and the MSI-X
 * table and PBA, and an I/O BAR 2 with the notify addresses again. Register
 * it with pci_register_device(bus, virtio_pci_device(vp), slot). NULL with
 * the error set. */
struct virtio_pci *virtio_pci_create(const struct virtio_pci_opts *opts);
struct pci_device *virtio_pci_device(struct virtio_pci *vp);
/* Unregister from the bus first (pci_unregister_device). */
void virtio_pci_destroy(struct virtio_pci *vp);
uint8_t virtio_pci_status(struct virtio_pci *vp);

/* QMP query-pci for bus 0: every function answering on `bus`, with the BAR
 * sizes of the devices in devs[] (others list BAR addresses without sizes). */
struct json_object *virtio_pci_query_pci(struct pci_bus *bus, struct pci_device *const *devs,
					 unsigned ndevs);
/* The transport behind a PCI function, or NULL if it is not a virtio one. */
struct virtio_pci *virtio_pci_from_device(struct pci_device *dev);
const char *virtio_pci_name(struct virtio_pci *vp);
/* QMP x-query-virtio-queue-status for queue `q` (QEMU 7.2's fields: indices,
 * ring addresses, chains in use, the last interrupt); NULL with the error set
 * for a queue the device does not have. */
struct json_object *virtio_pci_query_queue(struct virtio_pci *vp, unsigned q);

#endif
