/* virtio-blk (virtio 1.2 section 5.2) on the block layer (src/block, raw and
 * qcow2): read, write, flush, get-id, discard, write-zeroes; requests run on
 * a small worker pool off the vCPU and I/O threads. */
#ifndef VIREO_VMM_DEVICES_VIRTIO_BLK_H
#define VIREO_VMM_DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"
#include "block/throttle.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/devices/virtio/virtio.h"

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VBLK_CONFIG_SIZE 60
#define VBLK_QUEUE_SIZE 256
#define VBLK_SEG_MAX (VBLK_QUEUE_SIZE - 2)
#define VBLK_MAX_DISCARD_SECTORS (1u << 22)   /* 2 GiB per request */
#define VBLK_DISCARD_ALIGNMENT 8              /* sectors: 4 KiB */

enum vblk_aio { VBLK_AIO_THREADS, VBLK_AIO_IO_URING };

/* --disk path=FILE,readonly=on|off,serial=S,cache=none|writeback,
 *        aio=io_uring|threads[,format=raw|qcow2][,id=NAME] */
struct vblk_opts {
	char *path;
	bool readonly;
	char *serial;              /* at most 20 bytes; NULL: none */
	enum blk_cache cache;
	enum vblk_aio aio;
	char *format;              /* NULL: probe */
	char *id;                  /* QMP device name; NULL: "virtio-blk" */
	unsigned workers;          /* pool threads; 0 runs requests inline (tests, fuzzing) */
	struct throttle_config throttle; /* bps/iops limits (QEMU's -drive names) */
	char *group;               /* throttle group shared with other disks; NULL: its own */
};

/* Parse a --disk spec ("a=b,c=d"; ",," is a literal comma; a first item
 * without '=' is the path). -1 with an error naming the bad key or value.
 * Free with vblk_opts_free, also after failure. */
int vblk_parse_opts(const char *spec, struct vblk_opts *opts);
void vblk_opts_free(struct vblk_opts *opts);

struct vblk;

/* Open the image and build the device. iothread: serve kicks on the
 * transport's I/O thread (true in the VMM). NULL with the error set. */
struct vblk *vblk_create(const struct vblk_opts *opts, const struct guest_mem *gm,
			 const struct virtio_host_ops *host, bool iothread);
struct virtio_pci *vblk_transport(struct vblk *b);
/* Unregister the PCI device first; waits for in-flight requests, flushes. */
void vblk_destroy(struct vblk *b);

/* One parsed request (exposed for unit tests of the parser). */
struct vblk_req {
	struct vq_elem elem;
	uint32_t type;
	uint64_t sector;
	struct iovec *data;        /* payload segments (slices of elem.iov) */
	unsigned ndata, data_cap;  /* data_cap: entries allocated (kept when reused) */
	uint64_t data_len;
	uint8_t *status;           /* the last writable byte */
	uint8_t result;            /* VIRTIO_BLK_S_* once done */
	uint32_t used_len;
	struct vq *vq;             /* the queue it came from */
	uint64_t start_ns;         /* submission time (io_uring path) */
	struct vblk_req *next;
};

/* Split a popped chain into header, payload and status. -1 (error set) when
 * the chain cannot even carry a header and a status byte: the device must
 * then go to NEEDS_RESET. */
int vblk_parse_request(struct vblk_req *req);
/* Run a parsed request against the device's image (synchronously) and
 * write its status byte. */
void vblk_execute(struct vblk *b, struct vblk_req *req);

struct vblk_stats {
	uint64_t rd_bytes, wr_bytes, rd_ops, wr_ops, flush_ops;
	uint64_t unmap_bytes, unmap_ops, zero_ops;
	uint64_t rd_ns, wr_ns, flush_ns, unmap_ns;
	uint64_t failed_rd, failed_wr, failed_flush, invalid_ops;
	uint64_t wr_highest_offset;
	uint64_t interrupts;       /* queue interrupts raised (after EVENT_IDX suppression) */
};
void vblk_get_stats(struct vblk *b, struct vblk_stats *st);
/* Change the disk's I/O limits live (QMP block_set_io_throttle); the new
 * limits apply to the next request. -1 with the error set if invalid. */
int vblk_set_throttle(struct vblk *b, const struct throttle_config *cfg);
/* block_set_io_throttle with group=: move the disk into that throttle group
 * (joined or created, QEMU's semantics), then give the group cfg. */
int vblk_set_throttle_group(struct vblk *b, const char *group, const struct throttle_config *cfg);
/* Whether reads and writes go through io_uring (aio=io_uring on a raw image
 * where the kernel has io_uring). */
bool vblk_io_uring_active(struct vblk *b);
const char *vblk_id(struct vblk *b);

/* QMP query-block / query-blockstats entries, QEMU's field names. */
struct json_object *vblk_query_block(struct vblk *const *devs, unsigned n);
struct json_object *vblk_query_blockstats(struct vblk *const *devs, unsigned n);

#endif
