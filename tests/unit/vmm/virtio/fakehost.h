/* Test double of the machine's KVM services for the virtio transport: records
 * MSI routes, irqfds and ioeventfds instead of calling KVM. */
#ifndef VIREO_TESTS_VIRTIO_FAKEHOST_H
#define VIREO_TESTS_VIRTIO_FAKEHOST_H

#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "vmm/devices/virtio/virtio.h"

#define FAKE_MAX 64
#define FAKE_PIO (1ULL << 63)   /* marks an I/O port address in ioevt_addr[] */

struct fake_host {
	uint32_t next_gsi;
	unsigned routes;
	uint64_t route_addr[FAKE_MAX];   /* by gsi - 24 */
	uint32_t route_data[FAKE_MAX];
	int irqfd[FAKE_MAX];             /* by gsi - 24, -1 when unassigned */
	unsigned ioevt_assigned;
	uint64_t ioevt_addr[FAKE_MAX];
	int ioevt_fd[FAKE_MAX];
	unsigned ioevt_calls;
};

static inline int fake_msi_route(void *ctx, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct fake_host *h = ctx;

	if (gsi < 24 || gsi >= 24 + FAKE_MAX)
		return -1;
	h->route_addr[gsi - 24] = addr;
	h->route_data[gsi - 24] = data;
	h->routes++;
	return 0;
}

static inline int fake_irqfd(void *ctx, int fd, uint32_t gsi, bool assign)
{
	struct fake_host *h = ctx;

	if (gsi < 24 || gsi >= 24 + FAKE_MAX)
		return -1;
	h->irqfd[gsi - 24] = assign ? fd : -1;
	return 0;
}

static inline int fake_ioeventfd(void *ctx, uint64_t addr, uint32_t len, int fd, bool pio, bool assign)
{
	struct fake_host *h = ctx;

	(void)len;
	h->ioevt_calls++;
	if (pio)
		addr |= FAKE_PIO;     /* kept apart from MMIO addresses */
	if (assign) {
		if (h->ioevt_assigned >= FAKE_MAX)
			return -1;
		h->ioevt_addr[h->ioevt_assigned] = addr;
		h->ioevt_fd[h->ioevt_assigned++] = fd;
		return 0;
	}
	for (unsigned i = 0; i < h->ioevt_assigned; i++) {
		if (h->ioevt_addr[i] == addr && h->ioevt_fd[i] == fd) {
			h->ioevt_addr[i] = h->ioevt_addr[--h->ioevt_assigned];
			h->ioevt_fd[i] = h->ioevt_fd[h->ioevt_assigned];
			return 0;
		}
	}
	return -1;
}

static inline uint32_t fake_gsi_alloc(void *ctx)
{
	struct fake_host *h = ctx;

	return 24 + h->next_gsi++;
}

static inline struct virtio_host_ops fake_host_ops(struct fake_host *h)
{
	memset(h, 0, sizeof(*h));
	for (unsigned i = 0; i < FAKE_MAX; i++)
		h->irqfd[i] = -1;
	return (struct virtio_host_ops){ fake_msi_route, fake_irqfd, fake_ioeventfd, fake_gsi_alloc, h };
}

/* Interrupts raised on gsi since the last call (waits up to ms for the first). */
static inline uint64_t fake_irqs(struct fake_host *h, uint32_t gsi, int ms)
{
	uint64_t n = 0;
	int fd = h->irqfd[gsi - 24];
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (fd < 0)
		return 0;
	if (poll(&p, 1, ms) == 1 && read(fd, &n, sizeof(n)) != sizeof(n))
		n = 0;
	return n;
}

#endif
