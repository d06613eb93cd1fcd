/* The block layer: one interface over raw and qcow2 images (and their backing
 * chains), used by vireo-vmm's virtio-blk, vireo-img and vireod.
 * Threading: any thread may call. Per image, reads run in parallel (raw, qcow2)
 * and every other call (writes, flush, discard, metadata) runs alone, under a
 * writer-preferring lock; different images never contend. */
#ifndef VIREO_BLOCK_BLOCK_H
#define VIREO_BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct blk;

/* Cache modes, named as QEMU's -drive cache=. */
enum blk_cache {
	BLK_CACHE_WRITEBACK = 0,  /* page cache; flush = fdatasync */
	BLK_CACHE_NONE,           /* O_DIRECT for aligned guest data; flush = fdatasync */
	BLK_CACHE_WRITETHROUGH,   /* every write is followed by fdatasync */
	BLK_CACHE_UNSAFE,         /* flush is a no-op; metadata ordering barriers skipped */
};

struct blk_open_opts {
	const char *format;      /* "raw", "qcow2", or NULL to probe. Give it for guest-writable
	                          * images: a raw disk whose guest wrote a qcow2 header would
	                          * otherwise be probed as qcow2. Backing files use the format
	                          * recorded in the overlay, probing only when none is. */
	bool read_only;
	enum blk_cache cache;
	bool no_backing;         /* do not open the backing chain (info, rebase -u, commit) */
	bool backing_read_write; /* open the first backing image read-write (commit) */
	bool for_repair;         /* allow writing an image marked corrupt (check -r) */
};

/* Parse "writeback|none|writethrough|unsafe|directsync". */
int blk_cache_parse(const char *text, enum blk_cache *out);

struct blk *blk_open(const char *path, const struct blk_open_opts *opts);
/* Flushes (unless read-only or unsafe) and frees; returns -1 if that flush failed. */
int blk_close(struct blk *b);

/* Byte-granular I/O inside [0, virtual size). Returns 0 or -1 with err_set. */
int blk_preadv(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t offset);
int blk_pwritev(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t offset);
int blk_pread(struct blk *b, void *buf, size_t len, uint64_t offset);
int blk_pwrite(struct blk *b, const void *buf, size_t len, uint64_t offset);
int blk_flush(struct blk *b);
/* Advisory: the range may read back as anything afterwards (zeros in practice). */
int blk_discard(struct blk *b, uint64_t offset, uint64_t len);
#define BLK_ZERO_MAY_UNMAP 1u   /* storage may be released (virtio-blk WRITE_ZEROES unmap flag) */
int blk_write_zeroes(struct blk *b, uint64_t offset, uint64_t len, unsigned flags);
/* Whole cluster(s) written compressed where the format can (qcow2); otherwise a plain write. */
int blk_pwrite_compressed(struct blk *b, const void *buf, size_t len, uint64_t offset);

struct blk_info {
	const char *format;          /* "raw" or "qcow2" */
	const char *filename;
	uint64_t virtual_size;
	uint64_t actual_size;        /* bytes allocated on the host (st_blocks * 512) */
	uint64_t file_size;          /* host file length */
	uint32_t cluster_size;       /* 0 for raw */
	const char *backing_file;    /* as stored in the image, or NULL */
	const char *backing_format;  /* or NULL */
	bool dirty;
	/* qcow2 only */
	int compat_version;          /* 2 or 3 */
	bool lazy_refcounts;
	bool corrupt;
	int refcount_bits;
	const char *compression_type; /* "zlib" or "zstd" */
	unsigned nb_snapshots;
	bool read_only;
};
int blk_get_info(struct blk *b, struct blk_info *info);
uint64_t blk_size(struct blk *b);
const char *blk_filename(struct blk *b);
const char *blk_format(struct blk *b);
/* The opened backing image (or NULL); owned by b. */
struct blk *blk_backing(struct blk *b);

/* Extent status flags (as qemu-img map reports them). */
#define BLK_EXT_DATA       1u   /* reads host data */
#define BLK_EXT_ZERO       2u   /* reads as zeros */
#define BLK_EXT_ALLOCATED  4u   /* decided by this layer (not passed to the backing image) */
#define BLK_EXT_OFFSET     8u   /* host_offset is valid (uncompressed data in the file) */
#define BLK_EXT_COMPRESSED 16u

struct blk_extent {
	uint64_t start, length;
	unsigned flags;
	uint64_t host_offset;
	int depth;                /* chain depth where the status was decided */
	struct blk *layer;        /* image that decided it */
};
/* Status of this layer only for [offset, offset+len): fills ext with the longest
 * leading run sharing one status. */
int blk_block_status(struct blk *b, uint64_t offset, uint64_t len, struct blk_extent *ext);
/* Like blk_block_status but follows unallocated ranges down the backing chain. */
int blk_map(struct blk *b, uint64_t offset, uint64_t len, struct blk_extent *ext);

/* Image creation (vireo-img create). */
enum blk_prealloc { BLK_PREALLOC_OFF, BLK_PREALLOC_METADATA, BLK_PREALLOC_FALLOC, BLK_PREALLOC_FULL };
struct blk_create_opts {
	uint32_t cluster_size;       /* 0 = 64 KiB */
	int compat_version;          /* 0 = 3 (compat=1.1); 2 for compat=0.10 */
	bool lazy_refcounts;
	enum blk_prealloc prealloc;
	const char *backing_file;
	const char *backing_format;
	int refcount_bits;           /* 0 = 16 */
	bool zstd;                   /* compression_type=zstd */
};
int blk_create(const char *path, const char *format, uint64_t size, const struct blk_create_opts *opts);

/* Format maintenance (qcow2; raw answers what applies). */
struct blk_check_result {
	uint64_t corruptions, leaks, check_errors;
	uint64_t corruptions_fixed, leaks_fixed;
	uint64_t image_end_offset;
	uint64_t total_clusters, allocated_clusters, fragmented_clusters, compressed_clusters;
	bool has_stats;
};
#define BLK_CHECK_FIX_LEAKS  1u
#define BLK_CHECK_FIX_ERRORS 2u
/* Messages about each problem go to the log callback (may be NULL). */
int blk_check(struct blk *b, unsigned fix, struct blk_check_result *res,
	      void (*report)(void *ctx, const char *msg), void *ctx);
int blk_truncate(struct blk *b, uint64_t size, bool allow_shrink);
/* Rewrite the backing file reference (NULL removes it); no data is copied. */
int blk_set_backing(struct blk *b, const char *backing_file, const char *backing_format);
/* Drop every allocation of this layer (after commit). */
int blk_make_empty(struct blk *b);

struct blk_snapshot {
	char id[128], name[256];
	uint64_t vm_state_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t icount;
};
/* Internal snapshots: *list is malloc'd (free it), *count entries. */
int blk_snapshot_list(struct blk *b, struct blk_snapshot **list, unsigned *count);

/* Probe a file's format from its first bytes: "qcow2" or "raw". */
int blk_probe_format(const char *path, const char **format);

#endif
