/* qcow2 driver internals shared by qcow2.c (header, mapping, I/O) and
 * qcow2-refcount.c (table caches, refcounts, cluster allocation, check).
 * On-disk layout: QEMU's docs/interop/qcow2.txt (all fields big-endian). */
#ifndef VIREO_BLOCK_QCOW2_H
#define VIREO_BLOCK_QCOW2_H

#include <stdbool.h>
#include <stdint.h>

#include "block/block-int.h"

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 104
#define QCOW2_MAX_L1_BYTES (32u << 20)        /* as QEMU: refuse larger L1 tables */
#define QCOW2_MAX_RT_BYTES (8u << 20)
#define QCOW2_MAX_BACKING_NAME 1023
#define QCOW2_MAX_SNAPSHOTS 65536

#define QCOW2_INCOMPAT_DIRTY       (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT     (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ull << 4)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

#define QCOW2_EXT_END          0x00000000u
#define QCOW2_EXT_BACKING_FMT  0xe2792acau
#define QCOW2_EXT_FEATURES     0x6803f857u
#define QCOW2_EXT_CRYPTO       0x0537be77u
#define QCOW2_EXT_DATA_FILE    0x44415441u

#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       1ull
#define QCOW2_L1E_OFFSET_MASK  0x00fffffffffffe00ull
#define QCOW2_L1E_RESERVED     0x7f000000000001ffull
#define QCOW2_L2E_OFFSET_MASK  0x00fffffffffffe00ull
#define QCOW2_L2E_RESERVED     0x3f000000000001feull
#define QCOW2_RT_OFFSET_MASK   0xfffffffffffffe00ull

#define QCOW2_COMPRESSION_ZLIB 0
#define QCOW2_COMPRESSION_ZSTD 1

enum qcow2_ctype { QCOW2_UNALLOC, QCOW2_ZERO_PLAIN, QCOW2_ZERO_ALLOC, QCOW2_NORMAL, QCOW2_COMPRESSED };

/* Set-associative cache of metadata tables (L2 tables, refcount blocks) keyed
 * by host offset. Metadata is written through, so entries are never dirty. */
struct qcow2_cache {
	unsigned nsets, ways;
	size_t table_size;
	uint64_t *keys;            /* host offset, 0 = empty slot */
	uint64_t *lru;
	uint8_t **data;
	uint64_t tick;
	uint64_t hits, misses;
};

struct qcow2_ext {
	uint32_t type, len;
	uint8_t *data;
};

struct qcow2 {
	/* Guards the caches and the decompression buffer for readers sharing the
	 * image; writers hold the image exclusively and need not take it. */
	pthread_mutex_t meta_lock;
	uint32_t version;
	unsigned cluster_bits;
	uint64_t cluster_size;
	unsigned l2_bits;            /* log2 of entries per L2 table */
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t *l1;                /* host byte order */
	uint64_t rt_offset;
	uint32_t rt_clusters;
	uint64_t rt_entries;
	uint64_t *rt;                /* host byte order */
	unsigned refcount_order;
	unsigned rb_bits;            /* log2 of entries per refcount block */
	uint64_t incompat, compat, autoclear;
	uint32_t header_length;
	uint8_t compression_type;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	struct qcow2_ext *exts;      /* header extensions we keep verbatim */
	unsigned nexts;
	struct qcow2_cache l2c, rbc;
	uint64_t free_hint;          /* no free cluster below this index */
	uint64_t file_size;          /* host file length in bytes, as we know it: everything
	                              * written lies below it, the file reads zeros past it */
	uint64_t file_len;           /* the file's real length: may run past file_size when
	                              * room was made for clusters being allocated */
	uint64_t end_cluster;        /* first cluster index past everything in use */
	uint64_t resv_start, resv_count; /* clusters counted (refcount 1) not yet used */
	uint8_t *cbuf;               /* last decompressed cluster */
	uint64_t cbuf_entry;         /* its L2 entry, 0 = none */
	uint8_t *cin;                /* compressed input staging buffer */
	uint64_t comp_next;          /* byte offset for the next compressed cluster, 0 = none */
	/* A table write has dropped references to host clusters since the last
	 * barrier: their refcounts may only fall after the next one, or a power
	 * cut could keep the reference and lose the refcount. */
	bool unref_pending;
	/* Refcount decrements waiting for the next flush: deferring them there
	 * orders them after the table writes without a barrier of their own. */
	struct qcow2_pending_free {
		uint64_t cluster, count;
		bool punch;
	} *pfree;
	size_t npfree, pfree_cap;
};

static inline struct qcow2 *qcow2_state(struct blk *b) { return b->opaque; }

/* caches */
int qcow2_cache_init(struct qcow2_cache *c, size_t table_size, unsigned max_tables);
void qcow2_cache_free(struct qcow2_cache *c);
/* Table at host offset (read on a miss); NULL with error. */
uint8_t *qcow2_cache_get(struct blk *b, struct qcow2_cache *c, uint64_t offset);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t offset);

/* refcounts and allocation */
uint64_t qcow2_refcount_max(unsigned order);
uint64_t qcow2_refblock_get(const uint8_t *block, unsigned order, uint64_t index);
void qcow2_refblock_set(uint8_t *block, unsigned order, uint64_t index, uint64_t value);
int qcow2_get_refcount(struct blk *b, uint64_t cluster, uint64_t *refcount);
/* Add delta to the refcount of clusters [start, start+count); refuses overflow and underflow. */
int qcow2_update_refcount(struct blk *b, uint64_t start, uint64_t count, int64_t delta);
/* Allocate count contiguous clusters with refcount 1, durable before return
 * (unless cache=unsafe); returns the host byte offset via *offset. */
int qcow2_alloc_clusters(struct blk *b, uint64_t count, uint64_t *offset);
/* Give back clusters reserved ahead but not used (before close and check). */
int qcow2_release_reserve(struct blk *b);
/* Decrement refcounts of the host clusters an L2 entry owns (after unreferencing it). */
int qcow2_free_entry(struct blk *b, uint64_t l2e, bool punch);
/* Decrement the refcount of a cluster run; punch holes for those reaching zero. */
int qcow2_free_clusters(struct blk *b, uint64_t offset, uint64_t count, bool punch);
/* Make the file at least end bytes long (never shorter), without writing. */
int qcow2_extend_file(struct blk *b, uint64_t end);
/* fdatasync so that earlier metadata writes reach the disk before later ones. */
int qcow2_barrier(struct blk *b);
/* Barrier, then the refcount decrements deferred behind it (flush, check). */
int qcow2_settle(struct blk *b);
int qcow2_check(struct blk *b, unsigned fix, struct blk_check_result *res,
		void (*report)(void *ctx, const char *msg), void *ctx);
/* Bytes covered by one compressed L2 entry: host offset and length. */
void qcow2_compressed_extent(const struct qcow2 *s, uint64_t l2e, uint64_t *host, uint64_t *len);
/* Classify an L2 entry. */
enum qcow2_ctype qcow2_entry_type(const struct qcow2 *s, uint64_t l2e);
int qcow2_write_header_field(struct blk *b, uint64_t offset, const void *be_data, size_t len);
/* Read the L2 table at offset (validated); NULL with error. */
uint8_t *qcow2_l2_table(struct blk *b, uint64_t l2_offset);

#endif
