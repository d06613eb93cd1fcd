/* Internal side of the block layer: the driver table each format fills in, the
 * image object they share, and the iovec helpers the drivers use. Not for
 * callers outside src/block. */
#ifndef VIREO_BLOCK_BLOCK_INT_H
#define VIREO_BLOCK_BLOCK_INT_H

#include <pthread.h>
#include <sys/types.h>

#include "block/block.h"

/* Longest backing chain we follow: deeper chains are refused by name. */
#define BLK_MAX_CHAIN 64

struct blk_driver {
	const char *name;
	/* preadv may run in several threads at once (under the shared lock). */
	bool concurrent_reads;
	/* 0 = not this format, higher = more certain */
	int (*probe)(const uint8_t *buf, size_t len);
	int (*open)(struct blk *b, const struct blk_open_opts *opts);
	void (*close)(struct blk *b);
	/* Called with [off, off+len) inside the virtual size, len = iov total. */
	int (*preadv)(struct blk *b, const struct iovec *iov, int cnt, uint64_t off, size_t len);
	int (*pwritev)(struct blk *b, const struct iovec *iov, int cnt, uint64_t off, size_t len);
	int (*flush)(struct blk *b);
	int (*discard)(struct blk *b, uint64_t off, uint64_t len);
	int (*write_zeroes)(struct blk *b, uint64_t off, uint64_t len, unsigned flags);
	int (*pwrite_compressed)(struct blk *b, const void *buf, size_t len, uint64_t off);
	int (*block_status)(struct blk *b, uint64_t off, uint64_t len, struct blk_extent *ext);
	int (*get_info)(struct blk *b, struct blk_info *info);
	int (*create)(const char *path, uint64_t size, const struct blk_create_opts *opts);
	int (*check)(struct blk *b, unsigned fix, struct blk_check_result *res,
		     void (*report)(void *ctx, const char *msg), void *ctx);
	int (*truncate)(struct blk *b, uint64_t size, bool allow_shrink);
	int (*set_backing)(struct blk *b, const char *file, const char *fmt);
	int (*make_empty)(struct blk *b);
	int (*snapshot_list)(struct blk *b, struct blk_snapshot **list, unsigned *count);
};

struct blk {
	const struct blk_driver *drv;
	void *opaque;              /* driver state */
	char *filename;
	int fd;                    /* buffered descriptor: metadata, unaligned data */
	int dfd;                   /* O_DIRECT descriptor for cache=none, else == fd */
	bool read_only;
	enum blk_cache cache;
	uint64_t size;             /* virtual size */
	struct blk *backing;       /* opened backing image or NULL */
	char *backing_name;        /* as stored in the image */
	char *backing_fmt;
	int depth;                 /* 0 for the top image */
	struct blk *overlay;       /* image whose backing this is (cycle check) */
	dev_t st_dev;
	ino_t st_ino;
	pthread_rwlock_t lock;     /* shared for reads of concurrent_reads drivers */
};

extern const struct blk_driver blk_raw_driver;
extern const struct blk_driver blk_qcow2_driver;

/* Open b->backing_name (relative to b's directory) as b->backing, refusing
 * cycles and chains deeper than BLK_MAX_CHAIN. */
int blk_open_backing(struct blk *b, const struct blk_open_opts *opts);
/* Read [off, off+len) of b's backing image into iov (zeros past its end or
 * without a backing image). Caller holds b's lock; takes the backing's. */
int blk_read_backing(struct blk *b, const struct iovec *iov, int cnt, uint64_t off, size_t len);

/* iovec helpers */
size_t iov_total(const struct iovec *iov, int cnt);
void iov_from_buf(const struct iovec *iov, int cnt, size_t off, const void *buf, size_t len);
void iov_to_buf(const struct iovec *iov, int cnt, size_t off, void *buf, size_t len);
void iov_memset(const struct iovec *iov, int cnt, size_t off, int c, size_t len);
/* Describe [off, off+len) of iov in out (max entries); returns the count or -1. */
int iov_slice(const struct iovec *iov, int cnt, size_t off, size_t len, struct iovec *out, int max);

/* Full preadv/pwritev on a descriptor (loops on short transfers). Reads past
 * the end of file give zeros. */
int blk_fd_preadv(struct blk *b, int fd, const struct iovec *iov, int cnt, uint64_t off);
int blk_fd_pwritev(struct blk *b, int fd, const struct iovec *iov, int cnt, uint64_t off);
int blk_fd_pread(struct blk *b, void *buf, size_t len, uint64_t off);
int blk_fd_pwrite(struct blk *b, const void *buf, size_t len, uint64_t off);
/* Data I/O: O_DIRECT descriptor where the request is aligned, else buffered. */
int blk_data_preadv(struct blk *b, const struct iovec *iov, int cnt, uint64_t off);
int blk_data_pwritev(struct blk *b, const struct iovec *iov, int cnt, uint64_t off);

/* One page of zeros, for zero-filling writes. */
extern const uint8_t blk_zero_page[65536];

#endif
