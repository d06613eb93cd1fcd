/* virtio 1.x modern PCI transport (virtio 1.2 section 4.1): one function per
 * device, vendor capabilities pointing into BAR 0 (common config, ISR, device
 * config, notify), MSI-X with a vector per queue raised through irqfds, kicks
 * through ioeventfds served on a per-device I/O thread, the status machine. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "vmm/devices/pci.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/devices/virtio/virtio.h"

/* BAR 0 layout. */
#define VP_BAR 0
#define VP_BAR_SIZE 0x8000u
#define VP_COMMON_OFF 0x0000u
#define VP_COMMON_LEN 0x38u
#define VP_ISR_OFF 0x1000u
#define VP_DEVICE_OFF 0x2000u
#define VP_DEVICE_MAX 0x1000u
#define VP_NOTIFY_OFF 0x3000u
#define VP_NOTIFY_MULT 4u
#define VP_MSIX_TABLE_OFF 0x4000u
#define VP_MSIX_PBA_OFF 0x5000u
/* BAR 2: the same notify addresses in I/O space. A port write exits with its
 * port, size and next rIP decoded (AMD's IOIO intercept), while KVM must
 * fetch and emulate an MMIO write: in the nested lab an I/O kick costs L1's
 * KVM ~120 us against ~170 us. Its capability comes first, so Linux (which
 * takes the first notify capability) uses it; the MMIO one stays for drivers
 * that only map memory BARs. */
#define VP_PIO_BAR 2

/* Vendor capability types (section 4.1.4). */
#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR 3
#define VIRTIO_PCI_CAP_DEVICE 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11
#define MSIX_CTRL_ENABLE 0x80    /* in the high byte of message control */
#define MSIX_CTRL_MASKALL 0x40
#define MSIX_ENTRY_MASKED 1u

#define VP_MAX_WATCH 2            /* device fds on the I/O thread (virtio_pci_watch_fd) */

#define ISR_QUEUE 1
#define ISR_CONFIG 2

/* Common config registers (section 4.1.4.3). */
enum vp_reg {
	REG_DFSELECT, REG_DF, REG_GFSELECT, REG_GF, REG_MSIX_CONFIG, REG_NUM_QUEUES, REG_STATUS,
	REG_CFG_GEN, REG_Q_SELECT, REG_Q_SIZE, REG_Q_MSIX, REG_Q_ENABLE, REG_Q_NOTIFY_OFF,
	REG_Q_DESC, REG_Q_DRIVER, REG_Q_DEVICE,
};

static const struct { uint8_t off, size; } vp_regs[] = {
	[REG_DFSELECT] = { 0x00, 4 },   [REG_DF] = { 0x04, 4 },       [REG_GFSELECT] = { 0x08, 4 },
	[REG_GF] = { 0x0c, 4 },         [REG_MSIX_CONFIG] = { 0x10, 2 }, [REG_NUM_QUEUES] = { 0x12, 2 },
	[REG_STATUS] = { 0x14, 1 },     [REG_CFG_GEN] = { 0x15, 1 },  [REG_Q_SELECT] = { 0x16, 2 },
	[REG_Q_SIZE] = { 0x18, 2 },     [REG_Q_MSIX] = { 0x1a, 2 },   [REG_Q_ENABLE] = { 0x1c, 2 },
	[REG_Q_NOTIFY_OFF] = { 0x1e, 2 }, [REG_Q_DESC] = { 0x20, 8 }, [REG_Q_DRIVER] = { 0x28, 8 },
	[REG_Q_DEVICE] = { 0x30, 8 },
};

struct vp_vector {
	uint32_t addr_lo, addr_hi, data, ctrl;
	int fd;              /* irqfd, -1 until the vector is first used */
	uint32_t gsi;
};

struct virtio_pci {
	struct pci_device pci;
	const struct virtio_device_ops *ops;
	void *opaque;
	const struct guest_mem *gm;
	struct virtio_host_ops host;
	char name[32];

	/* Common config, under `lock` (vCPU BAR accesses). */
	pthread_mutex_t lock;
	uint32_t dfselect, gfselect;
	uint64_t offered, negotiated;
	uint8_t status;              /* atomic: the device side may set NEEDS_RESET */
	uint8_t config_gen;          /* atomic */
	uint16_t queue_sel;
	uint16_t config_vector;      /* atomic */
	struct vq vqs[VIRTIO_MAX_QUEUES];
	unsigned nvqs;

	/* Kicks: the device runs only while `active`; kicks hold run_lock for
	 * reading, reset takes it for writing so no kick is inside the model. */
	pthread_rwlock_t run_lock;
	bool active;

	/* MSI-X table, PBA and ISR: a leaf lock, taken from any thread. */
	pthread_mutex_t msix_lock;
	struct vp_vector vec[VIRTIO_MAX_QUEUES + 1];
	unsigned nvec;
	uint64_t pba;
	uint8_t isr;
	int msix_cap;
	int cfg_cap;                 /* VIRTIO_PCI_CAP_PCI_CFG: BAR access through config space */
	bool needs_reset_logged;

	/* ioeventfds: where each notify region is, and whether kicks are
	 * wired to it (evt_lock). */
	pthread_mutex_t evt_lock;
	struct vp_notify {
		int bar;
		uint64_t off;            /* of the first queue's address in the BAR */
		bool pio;
		uint64_t addr;           /* BAR address the guest programmed */
		bool mapped, assigned;
	} notify[2];

	/* I/O thread, and fds of the device model's own it also serves. */
	bool iothread;
	pthread_t thread;
	int epfd, stop_fd;
	struct { void (*cb)(void *opaque); void *opaque; int fd; bool on; } watch[VP_MAX_WATCH];
	pthread_mutex_t watch_lock;      /* watch[].on */
	unsigned nwatch;
};

/* ---- interrupts ---- */

static bool msix_enabled(struct virtio_pci *vp, bool *maskall)
{
	uint8_t hi = __atomic_load_n(&vp->pci.config[vp->msix_cap + 3], __ATOMIC_RELAXED);

	*maskall = hi & MSIX_CTRL_MASKALL;
	return hi & MSIX_CTRL_ENABLE;
}

/* Give vector v an eventfd, a GSI, a route and an irqfd (msix_lock held). */
static int vector_prepare(struct virtio_pci *vp, unsigned v)
{
	struct vp_vector *e = &vp->vec[v];

	if (e->fd >= 0)
		return 0;
	e->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->fd < 0)
		return err_set_errno(ERR_INTERNAL, errno, "%s: eventfd for MSI-X vector %u", vp->name, v);
	if (vp->host.gsi_alloc)
		e->gsi = vp->host.gsi_alloc(vp->host.ctx);
	if (vp->host.msi_route &&
	    vp->host.msi_route(vp->host.ctx, e->gsi, ((uint64_t)e->addr_hi << 32) | e->addr_lo, e->data) < 0)
		return err_prefix("%s: MSI-X vector %u", vp->name, v);
	if (vp->host.irqfd && vp->host.irqfd(vp->host.ctx, e->fd, e->gsi, true) < 0)
		return err_prefix("%s: MSI-X vector %u", vp->name, v);
	return 0;
}

static void vector_fire(struct virtio_pci *vp, unsigned v)
{
	uint64_t one = 1;

	if (vp->vec[v].fd >= 0 && write(vp->vec[v].fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("%s: cannot signal MSI-X vector %u: %s", vp->name, v, strerror(errno));
}

/* Raise `vector` (or pend it while masked); msix_lock held. Without MSI-X
 * the ISR bit is all the driver gets (no INTx line is wired). */
static void raise_locked(struct virtio_pci *vp, uint16_t vector, uint8_t isr)
{
	bool maskall;

	vp->isr |= isr;
	if (!msix_enabled(vp, &maskall) || vector >= vp->nvec)
		return;
	if (maskall || (vp->vec[vector].ctrl & MSIX_ENTRY_MASKED))
		vp->pba |= 1ULL << vector;
	else
		vector_fire(vp, vector);
}

/* Deliver vectors that were pending and are now unmasked; msix_lock held. */
static void deliver_pending_locked(struct virtio_pci *vp)
{
	bool maskall;

	if (!msix_enabled(vp, &maskall) || maskall)
		return;
	for (unsigned v = 0; v < vp->nvec; v++) {
		if ((vp->pba & (1ULL << v)) && !(vp->vec[v].ctrl & MSIX_ENTRY_MASKED)) {
			vp->pba &= ~(1ULL << v);
			vector_fire(vp, v);
		}
	}
}

bool virtio_pci_queue_signal(struct virtio_pci *vp, struct vq *vq)
{
	if (!vq_need_signal(vq))
		return false;
	pthread_mutex_lock(&vp->msix_lock);
	raise_locked(vp, vq->msix_vector, ISR_QUEUE);
	pthread_mutex_unlock(&vp->msix_lock);
	return true;
}

void virtio_pci_queue_resched(struct virtio_pci *vp, struct vq *vq)
{
	uint64_t one = 1;

	if (vp->iothread && write(vq->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("%s: queue %u: %s", vp->name, vq->index, strerror(errno));
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	__atomic_fetch_add(&vp->config_gen, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&vp->msix_lock);
	raise_locked(vp, __atomic_load_n(&vp->config_vector, __ATOMIC_RELAXED), ISR_CONFIG);
	pthread_mutex_unlock(&vp->msix_lock);
}

void virtio_pci_set_needs_reset(struct virtio_pci *vp, const char *why)
{
	uint8_t old = __atomic_fetch_or(&vp->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_RELAXED);

	if (old & VIRTIO_STATUS_NEEDS_RESET)
		return;
	pthread_mutex_lock(&vp->msix_lock);
	/* Log once per device: a hostile guest must not flood the host log. */
	if (!vp->needs_reset_logged) {
		vp->needs_reset_logged = true;
		log_warn("%s: device needs reset: %s", vp->name, why ? why : "device error");
	}
	raise_locked(vp, __atomic_load_n(&vp->config_vector, __ATOMIC_RELAXED), ISR_CONFIG);
	pthread_mutex_unlock(&vp->msix_lock);
}

const struct guest_mem *virtio_pci_guest_mem(struct virtio_pci *vp)
{
	return vp->gm;
}

uint8_t virtio_pci_status(struct virtio_pci *vp)
{
	return __atomic_load_n(&vp->status, __ATOMIC_RELAXED);
}

/* ---- kicks ---- */

static void kick(struct virtio_pci *vp, unsigned q)
{
	pthread_rwlock_rdlock(&vp->run_lock);
	if (vp->active && q < vp->nvqs && vp->vqs[q].started)
		vp->ops->queue_notify(vp->opaque, &vp->vqs[q]);
	pthread_rwlock_unlock(&vp->run_lock);
}

/* Wire (or unwire) each queue's notify address in region `r` to its
 * eventfd; evt_lock held. */
static void notify_wire_locked(struct virtio_pci *vp, struct vp_notify *r, bool assign)
{
	if (!vp->host.ioeventfd || !vp->iothread || assign == r->assigned)
		return;
	if (assign && !r->mapped)
		return;
	for (unsigned q = 0; q < vp->nvqs; q++) {
		uint64_t addr = r->addr + r->off + VP_NOTIFY_MULT * q;

		if (vp->host.ioeventfd(vp->host.ctx, addr, 2, vp->vqs[q].kick_fd, r->pio, assign) < 0)
			log_warn("%s: ioeventfd for queue %u: %s (kicks exit to the VMM)", vp->name, q,
				 err_message());
	}
	r->assigned = assign;
}

static void ioeventfds_set_locked(struct virtio_pci *vp, bool assign)
{
	for (unsigned i = 0; i < ARRAY_SIZE(vp->notify); i++)
		notify_wire_locked(vp, &vp->notify[i], assign);
}

static void bar_update(struct pci_device *dev, int bar, uint64_t addr, bool mapped)
{
	struct virtio_pci *vp = dev->opaque;

	pthread_mutex_lock(&vp->evt_lock);
	for (unsigned i = 0; i < ARRAY_SIZE(vp->notify); i++) {
		struct vp_notify *r = &vp->notify[i];
		bool was = r->assigned;

		if (r->bar != bar)
			continue;
		notify_wire_locked(vp, r, false);
		r->addr = addr;
		r->mapped = mapped;
		if (was || vp->active)
			notify_wire_locked(vp, r, true);
	}
	pthread_mutex_unlock(&vp->evt_lock);
}

static void *iothread_main(void *arg)
{
	struct virtio_pci *vp = arg;
	struct epoll_event ev[VIRTIO_MAX_QUEUES + 1 + VP_MAX_WATCH];

	for (;;) {
		int n = epoll_wait(vp->epfd, ev, ARRAY_SIZE(ev), -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("%s: I/O thread: epoll_wait: %s", vp->name, strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			uint64_t cnt;
			unsigned q = ev[i].data.u32;

			if (q == UINT32_MAX)
				return NULL;
			if (q >= VIRTIO_MAX_QUEUES) {
				/* A device fd: outside the run lock, see virtio_pci_watch_fd. */
				q -= VIRTIO_MAX_QUEUES;
				vp->watch[q].cb(vp->watch[q].opaque);
				continue;
			}
			if (read(vp->vqs[q].kick_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
				continue;
			kick(vp, q);
		}
	}
}

int virtio_pci_watch_fd(struct virtio_pci *vp, int fd, void (*cb)(void *opaque), void *opaque)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (!vp->iothread)
		return err_set(ERR_INVALID, "%s: no I/O thread to watch fd %d", vp->name, fd);
	if (vp->nwatch == VP_MAX_WATCH)
		return err_set(ERR_INTERNAL, "%s: more than %u watched fds", vp->name, VP_MAX_WATCH);
	vp->watch[vp->nwatch].cb = cb;
	vp->watch[vp->nwatch].opaque = opaque;
	vp->watch[vp->nwatch].fd = fd;
	ev.data.u32 = VIRTIO_MAX_QUEUES + vp->nwatch;
	if (epoll_ctl(vp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "%s: epoll_ctl for fd %d", vp->name, fd);
	vp->watch[vp->nwatch++].on = true;
	return 0;
}

int virtio_pci_watch_enable(struct virtio_pci *vp, int fd, bool on)
{
	int rc = 0;

	for (unsigned i = 0; i < vp->nwatch; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = VIRTIO_MAX_QUEUES + i };

		if (vp->watch[i].fd != fd)
			continue;
		/* Out of the set rather than with no events: epoll reports a
		 * hang-up whatever the events asked for. */
		pthread_mutex_lock(&vp->watch_lock);
		if (on != vp->watch[i].on) {
			if (epoll_ctl(vp->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) < 0)
				rc = err_set_errno(ERR_INTERNAL, errno, "%s: epoll_ctl for fd %d", vp->name, fd);
			else
				vp->watch[i].on = on;
		}
		pthread_mutex_unlock(&vp->watch_lock);
		return rc;
	}
	return err_set(ERR_INVALID, "%s: fd %d is not watched", vp->name, fd);
}

/* ---- status machine ---- */

static void device_reset(struct virtio_pci *vp)
{
	pthread_rwlock_wrlock(&vp->run_lock);
	if (vp->active || (vp->status & VIRTIO_STATUS_DRIVER_OK))
		vp->ops->reset(vp->opaque);
	vp->active = false;
	pthread_rwlock_unlock(&vp->run_lock);
	pthread_mutex_lock(&vp->evt_lock);
	ioeventfds_set_locked(vp, false);
	pthread_mutex_unlock(&vp->evt_lock);
	for (unsigned q = 0; q < vp->nvqs; q++) {
		pthread_mutex_lock(&vp->vqs[q].lock);
		vq_reset(&vp->vqs[q]);
		pthread_mutex_unlock(&vp->vqs[q].lock);
	}
	vp->dfselect = vp->gfselect = 0;
	vp->negotiated = 0;
	vp->queue_sel = 0;
	__atomic_store_n(&vp->config_vector, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
	__atomic_store_n(&vp->status, 0, __ATOMIC_RELAXED);
	pthread_mutex_lock(&vp->msix_lock);
	vp->isr = 0;
	vp->needs_reset_logged = false;
	pthread_mutex_unlock(&vp->msix_lock);
}

static bool features_acceptable(struct virtio_pci *vp)
{
	if (vp->negotiated & ~vp->offered) {
		log_warn("%s: driver accepted features 0x%" PRIx64 " not offered", vp->name,
			 vp->negotiated & ~vp->offered);
		return false;
	}
	if (!(vp->negotiated & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		log_warn("%s: driver did not accept VIRTIO_F_VERSION_1 (legacy drivers unsupported)",
			 vp->name);
		return false;
	}
	return true;
}

static void driver_ok(struct virtio_pci *vp)
{
	for (unsigned q = 0; q < vp->nvqs; q++) {
		struct vq *vq = &vp->vqs[q];
		int r = 0;

		pthread_mutex_lock(&vq->lock);
		if (vq->enabled)
			r = vq_start(vq, vp->gm, vp->negotiated);
		pthread_mutex_unlock(&vq->lock);
		if (r < 0) {
			virtio_pci_set_needs_reset(vp, err_message());
			return;
		}
	}
	if (vp->ops->activate && vp->ops->activate(vp->opaque, vp->negotiated) < 0) {
		virtio_pci_set_needs_reset(vp, err_message());
		return;
	}
	pthread_rwlock_wrlock(&vp->run_lock);
	vp->active = true;
	pthread_rwlock_unlock(&vp->run_lock);
	pthread_mutex_lock(&vp->evt_lock);
	ioeventfds_set_locked(vp, true);
	pthread_mutex_unlock(&vp->evt_lock);
	/* Buffers made available before DRIVER_OK get served now. */
	for (unsigned q = 0; q < vp->nvqs; q++)
		if (vp->vqs[q].started && vq_pending(&vp->vqs[q]))
			kick(vp, q);
}

static void status_write(struct virtio_pci *vp, uint8_t v)
{
	uint8_t old = __atomic_load_n(&vp->status, __ATOMIC_RELAXED);
	uint8_t added = v & ~old;

	if (v == 0) {
		device_reset(vp);
		return;
	}
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(vp))
		v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	/* DRIVER_OK without FEATURES_OK is a driver bug: refuse to run. */
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK))
		v &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	__atomic_store_n(&vp->status, (uint8_t)(v | (old & VIRTIO_STATUS_NEEDS_RESET)), __ATOMIC_RELAXED);
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
		driver_ok(vp);
}

/* ---- common config ---- */

static uint16_t vector_or_none(struct virtio_pci *vp, uint64_t v)
{
	int r;

	if (v >= vp->nvec)
		return VIRTIO_MSI_NO_VECTOR;
	pthread_mutex_lock(&vp->msix_lock);
	r = vector_prepare(vp, (unsigned)v);
	pthread_mutex_unlock(&vp->msix_lock);
	if (r < 0) {
		log_warn("%s", err_message());
		return VIRTIO_MSI_NO_VECTOR;
	}
	return (uint16_t)v;
}

static uint64_t reg_read(struct virtio_pci *vp, enum vp_reg r)
{
	struct vq *vq = vp->queue_sel < vp->nvqs ? &vp->vqs[vp->queue_sel] : NULL;

	switch (r) {
	case REG_DFSELECT: return vp->dfselect;
	case REG_DF: return vp->dfselect < 2 ? (uint32_t)(vp->offered >> (32 * vp->dfselect)) : 0;
	case REG_GFSELECT: return vp->gfselect;
	case REG_GF: return vp->gfselect < 2 ? (uint32_t)(vp->negotiated >> (32 * vp->gfselect)) : 0;
	case REG_MSIX_CONFIG: return __atomic_load_n(&vp->config_vector, __ATOMIC_RELAXED);
	case REG_NUM_QUEUES: return vp->nvqs;
	case REG_STATUS: return __atomic_load_n(&vp->status, __ATOMIC_RELAXED);
	case REG_CFG_GEN: return __atomic_load_n(&vp->config_gen, __ATOMIC_RELAXED);
	case REG_Q_SELECT: return vp->queue_sel;
	case REG_Q_SIZE: return vq ? vq->size : 0;
	case REG_Q_MSIX: return vq ? vq->msix_vector : VIRTIO_MSI_NO_VECTOR;
	case REG_Q_ENABLE: return vq ? vq->enabled : 0;
	case REG_Q_NOTIFY_OFF: return vq ? vq->index : 0;
	case REG_Q_DESC: return vq ? vq->desc_gpa : 0;
	case REG_Q_DRIVER: return vq ? vq->avail_gpa : 0;
	case REG_Q_DEVICE: return vq ? vq->used_gpa : 0;
	}
	return 0;
}

static void reg_write(struct virtio_pci *vp, enum vp_reg r, uint64_t v)
{
	struct vq *vq = vp->queue_sel < vp->nvqs ? &vp->vqs[vp->queue_sel] : NULL;
	uint8_t status = __atomic_load_n(&vp->status, __ATOMIC_RELAXED);
	/* Queue registers are fixed once the queue is enabled or the device runs. */
	bool q_writable = vq && !vq->enabled && !(status & VIRTIO_STATUS_DRIVER_OK);

	switch (r) {
	case REG_DFSELECT: vp->dfselect = (uint32_t)v; break;
	case REG_GFSELECT: vp->gfselect = (uint32_t)v; break;
	case REG_GF:
		if (vp->gfselect < 2 && !(status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK))) {
			unsigned sh = 32 * vp->gfselect;

			vp->negotiated = (vp->negotiated & ~(0xffffffffULL << sh)) | ((v & 0xffffffffULL) << sh);
		}
		break;
	case REG_MSIX_CONFIG:
		__atomic_store_n(&vp->config_vector, vector_or_none(vp, v), __ATOMIC_RELAXED);
		break;
	case REG_STATUS: status_write(vp, (uint8_t)v); break;
	case REG_Q_SELECT: vp->queue_sel = (uint16_t)v; break;
	case REG_Q_SIZE:
		if (q_writable)
			vq->size = (uint16_t)v;   /* checked when the queue starts */
		break;
	case REG_Q_MSIX:
		if (vq)
			vq->msix_vector = vector_or_none(vp, v);
		break;
	case REG_Q_ENABLE:
		if (q_writable && v == 1)
			vq->enabled = true;
		break;
	case REG_Q_DESC: if (q_writable) vq->desc_gpa = v; break;
	case REG_Q_DRIVER: if (q_writable) vq->avail_gpa = v; break;
	case REG_Q_DEVICE: if (q_writable) vq->used_gpa = v; break;
	default: break;   /* read-only */
	}
}

static void common_access(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	uint8_t img[VP_COMMON_LEN] = { 0 };

	pthread_mutex_lock(&vp->lock);
	for (unsigned r = 0; r < ARRAY_SIZE(vp_regs); r++) {
		uint64_t v = reg_read(vp, r);

		for (unsigned i = 0; i < vp_regs[r].size; i++)
			img[vp_regs[r].off + i] = (uint8_t)(v >> (8 * i));
	}
	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = off + i < VP_COMMON_LEN ? img[off + i] : 0;
		pthread_mutex_unlock(&vp->lock);
		return;
	}
	for (uint32_t i = 0; i < len && off + i < VP_COMMON_LEN; i++)
		img[off + i] = data[i];
	/* Every register the write touches gets its new value (so a 32-bit
	 * write to half of a 64-bit address lands, and side effects run). */
	for (unsigned r = 0; r < ARRAY_SIZE(vp_regs); r++) {
		uint64_t v = 0;

		if (vp_regs[r].off + vp_regs[r].size <= off || vp_regs[r].off >= off + len)
			continue;
		for (unsigned i = 0; i < vp_regs[r].size; i++)
			v |= (uint64_t)img[vp_regs[r].off + i] << (8 * i);
		reg_write(vp, r, v);
	}
	pthread_mutex_unlock(&vp->lock);
}

/* ---- MSI-X table and PBA ---- */

static void msix_access(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	pthread_mutex_lock(&vp->msix_lock);
	if (off >= VP_MSIX_PBA_OFF) {
		off -= VP_MSIX_PBA_OFF;
		/* PBA: read-only, 64 bits cover all our vectors. */
		for (uint32_t i = 0; !is_write && i < len; i++)
			data[i] = off + i < 8 ? (uint8_t)(vp->pba >> (8 * (off + i))) : 0;
		pthread_mutex_unlock(&vp->msix_lock);
		return;
	}
	off -= VP_MSIX_TABLE_OFF;
	struct vp_vector before[VIRTIO_MAX_QUEUES + 1];

	memcpy(before, vp->vec, sizeof(before));
	for (uint32_t i = 0; i < len; i++) {
		uint64_t o = off + i;
		unsigned v = (unsigned)(o / 16), w = (unsigned)(o % 16) / 4, sh = 8 * (unsigned)(o % 4);
		uint32_t *word;

		if (v >= vp->nvec) {
			if (!is_write)
				data[i] = 0;
			continue;
		}
		word = (uint32_t *[]){ &vp->vec[v].addr_lo, &vp->vec[v].addr_hi, &vp->vec[v].data,
				       &vp->vec[v].ctrl }[w];
		if (!is_write) {
			data[i] = (uint8_t)(*word >> sh);
			continue;
		}
		*word = (*word & ~(0xffu << sh)) | ((uint32_t)data[i] << sh);
		if (w == 3)
			*word &= MSIX_ENTRY_MASKED;
	}
	if (is_write) {
		/* Re-point the routes of vectors in use whose message changed
		 * (each route update rewrites KVM's whole routing table). */
		for (unsigned v = (unsigned)(off / 16); v < vp->nvec && v * 16 < off + len; v++) {
			struct vp_vector *e = &vp->vec[v];
			bool changed = e->addr_lo != before[v].addr_lo || e->addr_hi != before[v].addr_hi ||
				       e->data != before[v].data;

			if (changed && e->fd >= 0 && vp->host.msi_route &&
			    vp->host.msi_route(vp->host.ctx, e->gsi, ((uint64_t)e->addr_hi << 32) | e->addr_lo,
					       e->data) < 0)
				log_warn("%s: MSI-X vector %u: %s", vp->name, v, err_message());
		}
		deliver_pending_locked(vp);
	}
	pthread_mutex_unlock(&vp->msix_lock);
}

static void msix_config_write(struct pci_device *dev, uint32_t offset, const uint8_t *data, uint32_t len)
{
	struct virtio_pci *vp = dev->opaque;

	(void)data;
	if (offset <= (uint32_t)vp->msix_cap + 3 && offset + len > (uint32_t)vp->msix_cap + 3) {
		pthread_mutex_lock(&vp->msix_lock);
		deliver_pending_locked(vp);
		pthread_mutex_unlock(&vp->msix_lock);
	}
}

/* Machine reset (pci_bus_reset): the virtio device resets and MSI-X goes
 * back to its power-on state (disabled, every entry masked, nothing pending). */
static void pci_reset(struct pci_device *dev)
{
	struct virtio_pci *vp = dev->opaque;

	pthread_mutex_lock(&vp->lock);
	device_reset(vp);
	pthread_mutex_unlock(&vp->lock);
	pthread_mutex_lock(&vp->msix_lock);
	vp->pci.config[vp->msix_cap + 3] &= (uint8_t)~(MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	for (unsigned v = 0; v < vp->nvec; v++)
		vp->vec[v].ctrl = MSIX_ENTRY_MASKED;
	vp->pba = 0;
	pthread_mutex_unlock(&vp->msix_lock);
}

/* ---- BAR 0 ---- */

/* A write to queue q's notify address that exited to the VMM (no ioeventfd):
 * hand it to the I/O thread if there is one, else serve it here. `off` is
 * from the region's start, in either BAR. */
static void notify_access(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	unsigned q = (unsigned)(off / VP_NOTIFY_MULT);

	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (q >= vp->nvqs || off % VP_NOTIFY_MULT)
		return;
	if (vp->iothread)
		virtio_pci_queue_resched(vp, &vp->vqs[q]);
	else
		kick(vp, q);
}

static void pio_bar_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	notify_access(opaque, off, data, len, is_write);
}

static void bar_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_pci *vp = opaque;

	if (off < VP_ISR_OFF) {
		common_access(vp, off - VP_COMMON_OFF, data, len, is_write);
	} else if (off < VP_DEVICE_OFF) {
		if (is_write)
			return;
		memset(data, 0, len);
		if (off == VP_ISR_OFF) {
			/* Reading the ISR clears it (section 4.1.4.5). */
			pthread_mutex_lock(&vp->msix_lock);
			data[0] = vp->isr;
			vp->isr = 0;
			pthread_mutex_unlock(&vp->msix_lock);
		}
	} else if (off < VP_NOTIFY_OFF) {
		uint64_t o = off - VP_DEVICE_OFF;

		if (o + len > vp->ops->config_size) {
			if (!is_write)
				memset(data, 0, len);
		} else if (is_write) {
			if (vp->ops->config_write)
				vp->ops->config_write(vp->opaque, (uint32_t)o, data, len);
		} else {
			memset(data, 0, len);
			vp->ops->config_read(vp->opaque, (uint32_t)o, data, len);
		}
	} else if (off < VP_MSIX_TABLE_OFF) {
		notify_access(vp, off - VP_NOTIFY_OFF, data, len, is_write);
	} else if (off < VP_MSIX_PBA_OFF + 0x1000) {
		if (off >= VP_MSIX_TABLE_OFF + 0x1000 && off < VP_MSIX_PBA_OFF) {
			if (!is_write)
				memset(data, 0, len);
			return;
		}
		msix_access(vp, off, data, len, is_write);
	} else if (!is_write) {
		memset(data, 0, len);
	}
}

/* ---- VIRTIO_PCI_CAP_PCI_CFG (section 4.1.4.9): a window into BAR 0 through
 * config space, for drivers that cannot map the BAR yet. ---- */

/* The access the window currently describes: false if it names another
 * BAR, a width other than 1/2/4, or a range outside BAR 0. */
static bool cfg_window(struct virtio_pci *vp, uint32_t *off, uint32_t *len)
{
	const uint8_t *c = vp->pci.config + vp->cfg_cap;

	memcpy(off, c + 8, 4);
	memcpy(len, c + 12, 4);
	*off = le32toh(*off);
	*len = le32toh(*len);
	return c[4] == VP_BAR && (*len == 1 || *len == 2 || *len == 4) && *off < VP_BAR_SIZE &&
	       *len <= VP_BAR_SIZE - *off;
}

static bool touches_cfg_data(struct virtio_pci *vp, uint32_t offset, uint32_t len)
{
	uint32_t d = (uint32_t)vp->cfg_cap + 16;

	return offset < d + 4 && offset + len > d;
}

static void config_read_hook(struct pci_device *dev, uint32_t offset, uint8_t *data, uint32_t len)
{
	struct virtio_pci *vp = dev->opaque;
	uint32_t off, n, d = (uint32_t)vp->cfg_cap + 16;
	uint8_t buf[4] = { 0 };

	if (!touches_cfg_data(vp, offset, len) || !cfg_window(vp, &off, &n))
		return;
	bar_access(vp, off, buf, n, false);
	for (uint32_t i = 0; i < len; i++)
		if (offset + i >= d && offset + i < d + 4)
			data[i] = buf[offset + i - d];
}

static void config_write_hook(struct pci_device *dev, uint32_t offset, const uint8_t *data, uint32_t len)
{
	struct virtio_pci *vp = dev->opaque;
	uint32_t off, n;

	msix_config_write(dev, offset, data, len);
	if (!touches_cfg_data(vp, offset, len) || !cfg_window(vp, &off, &n))
		return;
	/* The generic update already stored the written bytes in the data field. */
	bar_access(vp, off, vp->pci.config + vp->cfg_cap + 16, n, true);
}

/* ---- creation ---- */

static int add_vendor_cap(struct virtio_pci *vp, uint8_t type, int bar, uint32_t off, uint32_t len,
			  uint8_t caplen)
{
	int c = pci_add_capability(&vp->pci, PCI_CAP_ID_VNDR, caplen);
	uint8_t *p;

	if (c < 0)
		return -1;
	p = vp->pci.config + c;
	p[2] = caplen;
	p[3] = type;
	p[4] = (uint8_t)bar;
	off = htole32(off);
	len = htole32(len);
	memcpy(p + 8, &off, 4);
	memcpy(p + 12, &len, 4);
	return c;
}

static int build_config_space(struct virtio_pci *vp)
{
	const struct virtio_device_ops *ops = vp->ops;
	uint32_t mult = htole32(VP_NOTIFY_MULT), tbl = htole32(VP_MSIX_TABLE_OFF | VP_BAR),
		 pba = htole32(VP_MSIX_PBA_OFF | VP_BAR);
	uint16_t ctrl = htole16((uint16_t)(vp->nvec - 1));
	uint64_t pio_size = 4;
	int c;

	while (pio_size < VP_NOTIFY_MULT * vp->nvqs)
		pio_size *= 2;
	vp->notify[0] = (struct vp_notify){ .bar = VP_PIO_BAR, .off = 0, .pio = true };
	vp->notify[1] = (struct vp_notify){ .bar = VP_BAR, .off = VP_NOTIFY_OFF };

	pci_device_init(&vp->pci, vp->name, VIRTIO_PCI_VENDOR,
			(uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_id), ops->class_code,
			VIRTIO_PCI_REVISION);
	pci_device_set_subsystem(&vp->pci, VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYSTEM_ID);
	if (pci_device_set_bar(&vp->pci, VP_BAR, PCI_BAR_MEM32, VP_BAR_SIZE, false, bar_access, vp) < 0 ||
	    pci_device_set_bar(&vp->pci, VP_PIO_BAR, PCI_BAR_IO, pio_size, false, pio_bar_access, vp) < 0)
		return -1;
	if (add_vendor_cap(vp, VIRTIO_PCI_CAP_COMMON, VP_BAR, VP_COMMON_OFF, VP_COMMON_LEN, 16) < 0 ||
	    add_vendor_cap(vp, VIRTIO_PCI_CAP_ISR, VP_BAR, VP_ISR_OFF, 1, 16) < 0 ||
	    (ops->config_size &&
	     add_vendor_cap(vp, VIRTIO_PCI_CAP_DEVICE, VP_BAR, VP_DEVICE_OFF, ops->config_size, 16) < 0))
		return -1;
	for (unsigned i = 0; i < ARRAY_SIZE(vp->notify); i++) {
		c = add_vendor_cap(vp, VIRTIO_PCI_CAP_NOTIFY, vp->notify[i].bar, (uint32_t)vp->notify[i].off,
				   VP_NOTIFY_MULT * vp->nvqs, 20);
		if (c < 0)
			return -1;
		memcpy(vp->pci.config + c + 16, &mult, 4);
	}
	c = pci_add_capability(&vp->pci, PCI_CAP_ID_MSIX, 12);
	if (c < 0)
		return -1;
	vp->msix_cap = c;
	memcpy(vp->pci.config + c + 2, &ctrl, 2);
	memcpy(vp->pci.config + c + 4, &tbl, 4);
	memcpy(vp->pci.config + c + 8, &pba, 4);
	vp->pci.wmask[c + 3] = MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL;
	vp->pci.opaque = vp;
	vp->pci.bar_update = bar_update;
	c = add_vendor_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, VP_BAR, 0, 0, 20);
	if (c < 0)
		return -1;
	vp->cfg_cap = c;
	/* The driver programs bar, offset, length and data. */
	vp->pci.wmask[c + 4] = 0xff;
	memset(vp->pci.wmask + c + 8, 0xff, 12);
	vp->pci.config_read = config_read_hook;
	vp->pci.config_write = config_write_hook;
	vp->pci.reset = pci_reset;
	return 0;
}

static int start_iothread(struct virtio_pci *vp)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char tname[16];
	int r;

	vp->epfd = epoll_create1(EPOLL_CLOEXEC);
	vp->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vp->epfd < 0 || vp->stop_fd < 0)
		return err_set_errno(ERR_INTERNAL, errno, "%s: I/O thread setup", vp->name);
	ev.data.u32 = UINT32_MAX;
	if (epoll_ctl(vp->epfd, EPOLL_CTL_ADD, vp->stop_fd, &ev) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "%s: epoll_ctl", vp->name);
	for (unsigned q = 0; q < vp->nvqs; q++) {
		vp->vqs[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ev.data.u32 = q;
		if (vp->vqs[q].kick_fd < 0 || epoll_ctl(vp->epfd, EPOLL_CTL_ADD, vp->vqs[q].kick_fd, &ev) < 0)
			return err_set_errno(ERR_INTERNAL, errno, "%s: kick eventfd of queue %u", vp->name, q);
	}
	r = pthread_create(&vp->thread, NULL, iothread_main, vp);
	if (r)
		return err_set_errno(ERR_INTERNAL, r, "%s: cannot start the I/O thread", vp->name);
	snprintf(tname, sizeof(tname), "io-%.12s", vp->name);   /* io-virtio-net in top -H */
	pthread_setname_np(vp->thread, tname);
	vp->iothread = true;
	return 0;
}

struct virtio_pci *virtio_pci_create(const struct virtio_pci_opts *o)
{
	const struct virtio_device_ops *ops = o->ops;
	struct virtio_pci *vp;

	if (!ops || !ops->queue_notify || !ops->reset || (ops->config_size && !ops->config_read) ||
	    ops->num_queues == 0 || ops->num_queues > VIRTIO_MAX_QUEUES ||
	    ops->queue_max_size == 0 || ops->queue_max_size > VQ_MAX_SIZE ||
	    (ops->queue_max_size & (ops->queue_max_size - 1)) || ops->config_size > VP_DEVICE_MAX) {
		err_set(ERR_INTERNAL, "virtio-pci: invalid device description");
		return NULL;
	}
	vp = calloc(1, sizeof(*vp));
	if (!vp) {
		err_set(ERR_NOMEM, "virtio-pci %s: out of memory", ops->name);
		return NULL;
	}
	snprintf(vp->name, sizeof(vp->name), "%s", ops->name);
	vp->ops = ops;
	vp->opaque = o->opaque;
	vp->gm = o->gm;
	if (o->host)
		vp->host = *o->host;
	vp->nvqs = ops->num_queues;
	vp->nvec = vp->nvqs + 1;
	vp->epfd = vp->stop_fd = -1;
	vp->offered = (ops->features ? ops->features(o->opaque) : 0) | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
		      VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	pthread_mutex_init(&vp->lock, NULL);
	pthread_mutex_init(&vp->msix_lock, NULL);
	pthread_mutex_init(&vp->evt_lock, NULL);
	pthread_mutex_init(&vp->watch_lock, NULL);
	pthread_rwlock_init(&vp->run_lock, NULL);
	for (unsigned q = 0; q < vp->nvqs; q++) {
		vq_init(&vp->vqs[q], (uint16_t)q, ops->queue_max_size);
		vp->vqs[q].transport = vp;
	}
	for (unsigned v = 0; v < ARRAY_SIZE(vp->vec); v++) {
		vp->vec[v].fd = -1;
		vp->vec[v].ctrl = MSIX_ENTRY_MASKED;   /* entries start masked */
	}
	if (build_config_space(vp) < 0 || (o->iothread && start_iothread(vp) < 0)) {
		err_prefix("virtio-pci %s", ops->name);
		virtio_pci_destroy(vp);
		return NULL;
	}
	return vp;
}

struct pci_device *virtio_pci_device(struct virtio_pci *vp)
{
	return &vp->pci;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	uint64_t one = 1;

	if (!vp)
		return;
	if (vp->iothread) {
		if (write(vp->stop_fd, &one, sizeof(one)) < 0)
			log_warn("%s: cannot stop the I/O thread: %s", vp->name, strerror(errno));
		pthread_join(vp->thread, NULL);
		vp->iothread = false;
	}
	device_reset(vp);
	for (unsigned v = 0; v < ARRAY_SIZE(vp->vec); v++) {
		if (vp->vec[v].fd < 0)
			continue;
		if (vp->host.irqfd)
			vp->host.irqfd(vp->host.ctx, vp->vec[v].fd, vp->vec[v].gsi, false);
		close(vp->vec[v].fd);
	}
	for (unsigned q = 0; q < vp->nvqs; q++) {
		if (vp->vqs[q].kick_fd >= 0)
			close(vp->vqs[q].kick_fd);
		vq_destroy(&vp->vqs[q]);
	}
	if (vp->epfd >= 0)
		close(vp->epfd);
	if (vp->stop_fd >= 0)
		close(vp->stop_fd);
	pthread_rwlock_destroy(&vp->run_lock);
	pthread_mutex_destroy(&vp->lock);
	pthread_mutex_destroy(&vp->msix_lock);
	pthread_mutex_destroy(&vp->evt_lock);
	pthread_mutex_destroy(&vp->watch_lock);
	free(vp);
}

/* ---- QMP query-pci ---- */

static const char *class_desc(uint16_t cls)
{
	switch (cls) {
	case 0x0100: return "SCSI controller";
	case 0x0180: return "Storage controller";
	case 0x0200: return "Ethernet controller";
	case 0x0600: return "Host bridge";
	case 0x0780: return "Communication controller";
	case 0x00ff: return "Class 00ff";
	default: return NULL;
	}
}

static uint32_t cfg_read(struct pci_bus *bus, unsigned slot, uint32_t reg, uint32_t len)
{
	uint8_t d[4] = { 0 };

	pci_config_access(bus, 0, slot, 0, reg, d, len, false);
	return (uint32_t)bus_data_get(d, len);
}

struct json_object *virtio_pci_query_pci(struct pci_bus *bus, struct pci_device *const *devs,
					 unsigned ndevs)
{
	struct json_object *list = json_object_new_array(), *b0 = json_object_new_object(),
			   *devices = json_object_new_array();

	for (unsigned slot = 0; slot < PCI_MAX_SLOTS; slot++) {
		uint16_t vendor = (uint16_t)cfg_read(bus, slot, PCI_VENDOR_ID, 2);
		struct pci_device *known = NULL;
		struct json_object *d, *ci, *id, *regions;
		uint16_t cls;
		uint8_t pin;

		if (vendor == 0xffff)
			continue;
		for (unsigned i = 0; i < ndevs; i++)
			if (devs[i] && devs[i]->slot == (int)slot)
				known = devs[i];
		cls = (uint16_t)(cfg_read(bus, slot, PCI_CLASS_PROG + 1, 2));
		d = json_object_new_object();
		json_object_object_add(d, "bus", json_object_new_int(0));
		json_object_object_add(d, "slot", json_object_new_int((int)slot));
		json_object_object_add(d, "function", json_object_new_int(0));
		ci = json_object_new_object();
		if (class_desc(cls))
			json_object_object_add(ci, "desc", json_object_new_string(class_desc(cls)));
		json_object_object_add(ci, "class", json_object_new_int(cls));
		json_object_object_add(d, "class_info", ci);
		id = json_object_new_object();
		json_object_object_add(id, "device", json_object_new_int((int)cfg_read(bus, slot, PCI_DEVICE_ID, 2)));
		json_object_object_add(id, "vendor", json_object_new_int(vendor));
		json_object_object_add(id, "subsystem",
				       json_object_new_int((int)cfg_read(bus, slot, PCI_SUBSYSTEM_ID, 2)));
		json_object_object_add(id, "subsystem-vendor",
				       json_object_new_int((int)cfg_read(bus, slot, PCI_SUBSYSTEM_VENDOR_ID, 2)));
		json_object_object_add(d, "id", id);
		pin = (uint8_t)cfg_read(bus, slot, PCI_INTERRUPT_PIN, 1);
		if (pin) {
			json_object_object_add(d, "irq", json_object_new_int((int)cfg_read(bus, slot, PCI_INTERRUPT_LINE, 1)));
			json_object_object_add(d, "irq_pin", json_object_new_int(pin));
		}
		json_object_object_add(d, "qdev_id", json_object_new_string(""));
		regions = json_object_new_array();
		for (int bar = 0; known && bar < PCI_NUM_BARS; bar++) {
			const struct pci_bar *pb = &known->bars[bar];
			uint64_t addr = cfg_read(bus, slot, PCI_BAR0 + 4 * (uint32_t)bar, 4);
			struct json_object *r;

			if (pb->type == PCI_BAR_NONE)
				continue;
			if (pb->type == PCI_BAR_MEM64)
				addr |= (uint64_t)cfg_read(bus, slot, PCI_BAR0 + 4 * (uint32_t)bar + 4, 4) << 32;
			addr &= pb->type == PCI_BAR_IO ? ~3ULL : ~0xfULL;
			r = json_object_new_object();
			json_object_object_add(r, "bar", json_object_new_int(bar));
			json_object_object_add(r, "type", json_object_new_string(pb->type == PCI_BAR_IO ? "io" : "memory"));
			json_object_object_add(r, "address", json_object_new_int64((int64_t)addr));
			json_object_object_add(r, "size", json_object_new_int64((int64_t)pb->size));
			if (pb->type != PCI_BAR_IO) {
				json_object_object_add(r, "prefetch", json_object_new_boolean(pb->prefetchable));
				json_object_object_add(r, "mem_type_64", json_object_new_boolean(pb->type == PCI_BAR_MEM64));
			}
			json_object_array_add(regions, r);
		}
		json_object_object_add(d, "regions", regions);
		json_object_array_add(devices, d);
	}
	json_object_object_add(b0, "bus", json_object_new_int(0));
	json_object_object_add(b0, "devices", devices);
	json_object_array_add(list, b0);
	return list;
}

/* ---- QMP x-query-virtio-queue-status ---- */

struct virtio_pci *virtio_pci_from_device(struct pci_device *dev)
{
	/* Only our functions carry our bar_update hook. */
	return dev && dev->bar_update == bar_update ? dev->opaque : NULL;
}

const char *virtio_pci_name(struct virtio_pci *vp)
{
	return vp->name;
}

static void jset_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

struct json_object *virtio_pci_query_queue(struct virtio_pci *vp, unsigned q)
{
	struct json_object *o;
	struct vq *vq;

	if (q >= vp->nvqs) {
		err_set(ERR_INVALID, "Invalid virtqueue number %u", q);
		return NULL;
	}
	vq = &vp->vqs[q];
	o = json_object_new_object();
	pthread_mutex_lock(&vq->lock);
	json_object_object_add(o, "name", json_object_new_string(vp->name));
	jset_int(o, "queue-index", q);
	/* Chains taken and not yet returned: requests in flight in the device. */
	jset_int(o, "inuse", vq->started ? (uint16_t)(vq->last_avail_idx - vq->used_idx) : 0);
	jset_int(o, "vring-num", vq->size);
	jset_int(o, "vring-num-default", vq->max_size);
	jset_int(o, "vring-align", 4096);
	jset_int(o, "vring-desc", (int64_t)vq->desc_gpa);
	jset_int(o, "vring-avail", (int64_t)vq->avail_gpa);
	jset_int(o, "vring-used", (int64_t)vq->used_gpa);
	jset_int(o, "last-avail-idx", vq->last_avail_idx);
	/* The driver's avail index as it is now (the ring is read, not cached). */
	jset_int(o, "shadow-avail-idx", (uint16_t)(vq->last_avail_idx + vq_pending(vq)));
	jset_int(o, "used-idx", vq->used_idx);
	jset_int(o, "signalled-used", vq->signalled_used);
	json_object_object_add(o, "signalled-used-valid", json_object_new_boolean(vq->signalled_used_valid));
	pthread_mutex_unlock(&vq->lock);
	return o;
}
