/* libFuzzer target of the virtio-blk request path: the input is a guest's
 * ring and buffers (descriptor table, avail ring, headers, payloads) for a
 * real virtio-blk device on a 1 MiB raw temp file, brought up through the
 * PCI transport; each run resets the device, negotiates features chosen by
 * the input, and kicks. Any access outside the fake RAM is an ASan report. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vmm/devices/virtio/blk.h"
#include "driver.h"

#define FUZZ_RAM_WINDOW 0x20000u   /* input lands in [0x1000, 0x20000) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	bool ready;
	struct ring r;
	struct drv d;
	struct vblk *b;
} fz;

static void fuzz_init(void)
{
	char path[] = "/tmp/vireo-fuzz-vblk-XXXXXX";
	int fd = mkstemp(path);
	struct vblk_opts o = { .cache = BLK_CACHE_WRITEBACK, .workers = 0 };

	log_set_level(LOG_ERROR);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		abort();
	close(fd);
	o.path = path;
	o.format = (char *)"raw";
	o.serial = (char *)"FUZZ";
	ring_init(&fz.r, 16);
	fz.b = vblk_create(&o, &fz.r.gm, NULL, false);
	unlink(path);
	if (!fz.b)
		abort();
	drv_bus_init(&fz.d);
	if (pci_register_device(fz.d.pci, virtio_pci_device(vblk_transport(fz.b)), 4) != 4)
		abort();
	drv_attach(&fz.d, 4);
	fz.ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);

	if (!fz.ready)
		fuzz_init();
	if (size < 2)
		return 0;
	if (data[0] & 1)
		features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (data[0] & 2)
		features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (data[0] & 4)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	fz.r.size = (uint16_t)(1u << (data[1] & 7));
	memset(fz.r.ram, 0, FUZZ_RAM_WINDOW);
	memcpy(fz.r.ram + RING_DESC, data + 2, MIN(size - 2, (size_t)(FUZZ_RAM_WINDOW - RING_DESC)));
	if (!drv_negotiate(&fz.d, features))   /* also resets the device */
		abort();
	drv_queue(&fz.d, &fz.r, 0, VIRTIO_MSI_NO_VECTOR);
	drv_driver_ok(&fz.d);                  /* serves what is already available */
	drv_kick(&fz.d, 0);
	return 0;
}
