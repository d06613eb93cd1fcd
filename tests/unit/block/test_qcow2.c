/* Unit tests of the qcow2 and raw drivers: L2 entry decoding, refcount
 * arithmetic, allocation and refcounts on real (temporary) image files,
 * zero clusters, discard, backing chains, compression and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "common/error.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/vireo-qcow2-test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *path(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static struct blk *create_open(const char *name, uint64_t size, uint32_t cs, int version)
{
	struct blk_create_opts o = { .cluster_size = cs, .compat_version = version };

	assert_int_equal(blk_create(path(name), "qcow2", size, &o), 0);
	struct blk *b = blk_open(path(name), &(struct blk_open_opts){ .format = "qcow2" });
	assert_non_null(b);
	return b;
}

static uint64_t refcount_of(struct blk *b, uint64_t host)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t rc = 99;

	assert_int_equal(qcow2_get_refcount(b, host >> s->cluster_bits, &rc), 0);
	return rc;
}

static void assert_clean(struct blk *b)
{
	struct blk_check_result r;

	assert_int_equal(blk_check(b, 0, &r, NULL, NULL), 0);
	assert_int_equal(r.corruptions, 0);
	assert_int_equal(r.leaks, 0);
	assert_int_equal(r.check_errors, 0);
}

static void test_qcow2_l2_entry_types_decode(void **state)
{
	struct qcow2 s = { .version = 3, .cluster_bits = 16 };

	(void)state;
	assert_int_equal(qcow2_entry_type(&s, 0), QCOW2_UNALLOC);
	assert_int_equal(qcow2_entry_type(&s, QCOW2_OFLAG_ZERO), QCOW2_ZERO_PLAIN);
	assert_int_equal(qcow2_entry_type(&s, 0x50000 | QCOW2_OFLAG_ZERO | QCOW2_OFLAG_COPIED), QCOW2_ZERO_ALLOC);
	assert_int_equal(qcow2_entry_type(&s, 0x50000 | QCOW2_OFLAG_COPIED), QCOW2_NORMAL);
	assert_int_equal(qcow2_entry_type(&s, 0x50000), QCOW2_NORMAL);
	assert_int_equal(qcow2_entry_type(&s, QCOW2_OFLAG_COMPRESSED | 0x1234), QCOW2_COMPRESSED);
	/* version 2 has no zero flag: bit 0 does not make a zero cluster */
	s.version = 2;
	assert_int_equal(qcow2_entry_type(&s, QCOW2_OFLAG_ZERO), QCOW2_UNALLOC);
}

static void test_qcow2_compressed_entry_gives_host_offset_and_length(void **state)
{
	struct qcow2 s = { .version = 3, .cluster_bits = 16 };
	uint64_t host, len;
	unsigned x = 62 - (16 - 8);

	(void)state;
	/* 3 more sectors after the one holding byte 0x70100 */
	qcow2_compressed_extent(&s, QCOW2_OFLAG_COMPRESSED | (3ull << x) | 0x70100, &host, &len);
	assert_int_equal(host, 0x70100);
	assert_int_equal(len, 4 * 512 - 0x100);
	/* 512-byte clusters: one sector-count bit */
	s.cluster_bits = 9;
	x = 62 - 1;
	qcow2_compressed_extent(&s, QCOW2_OFLAG_COMPRESSED | (1ull << x) | 0x1000, &host, &len);
	assert_int_equal(host, 0x1000);
	assert_int_equal(len, 1024);
	/* 2 MiB clusters: 13 sector-count bits */
	s.cluster_bits = 21;
	x = 62 - 13;
	qcow2_compressed_extent(&s, QCOW2_OFLAG_COMPRESSED | (8191ull << x) | 0x200000, &host, &len);
	assert_int_equal(host, 0x200000);
	assert_int_equal(len, 8192ull * 512);
}

static void test_refcount_entries_roundtrip_for_every_width(void **state)
{
	uint8_t block[512];

	(void)state;
	for (unsigned order = 0; order <= 6; order++) {
		uint64_t max = qcow2_refcount_max(order), n = 512 * 8 >> order;
		memset(block, 0, sizeof(block));
		for (uint64_t i = 0; i < n; i++)
			qcow2_refblock_set(block, order, i, (i * 2654435761u) & max);
		for (uint64_t i = 0; i < n; i++)
			assert_int_equal(qcow2_refblock_get(block, order, i), (i * 2654435761u) & max);
	}
	assert_int_equal(qcow2_refcount_max(0), 1);
	assert_int_equal(qcow2_refcount_max(4), 65535);
	assert_true(qcow2_refcount_max(6) == UINT64_MAX);
}

static void test_refcount_set_leaves_neighbours_and_is_big_endian(void **state)
{
	uint8_t block[16] = { 0 };

	(void)state;
	qcow2_refblock_set(block, 4, 1, 0x1234);
	assert_int_equal(block[2], 0x12);
	assert_int_equal(block[3], 0x34);
	assert_int_equal(qcow2_refblock_get(block, 4, 0), 0);
	assert_int_equal(qcow2_refblock_get(block, 4, 2), 0);
	/* 2-bit refcounts pack from the least significant bits */
	memset(block, 0, sizeof(block));
	qcow2_refblock_set(block, 1, 1, 3);
	assert_int_equal(block[0], 0x0c);
	qcow2_refblock_set(block, 1, 1, 1);
	assert_int_equal(block[0], 0x04);
}

static void test_qcow2_write_allocates_cluster_and_bumps_refcount(void **state)
{
	struct blk *b = create_open("alloc.qcow2", 16 << 20, 65536, 3);
	uint8_t buf[4096], back[4096];
	struct blk_extent e;

	(void)state;
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(blk_block_status(b, 1 << 20, 65536, &e), 0);
	assert_false(e.flags & BLK_EXT_ALLOCATED);
	assert_int_equal(blk_pwrite(b, buf, sizeof(buf), (1 << 20) + 512), 0);
	assert_int_equal(blk_block_status(b, 1 << 20, 65536, &e), 0);
	assert_true(e.flags & BLK_EXT_DATA);
	assert_true(e.flags & BLK_EXT_OFFSET);
	assert_int_equal(refcount_of(b, e.host_offset), 1);
	assert_int_equal(blk_pread(b, back, sizeof(back), (1 << 20) + 512), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	/* the copy-on-write head of the cluster reads zeros */
	assert_int_equal(blk_pread(b, back, 512, 1 << 20), 0);
	for (int i = 0; i < 512; i++)
		assert_int_equal(back[i], 0);
	/* overwriting in place keeps the same host cluster */
	uint64_t host = e.host_offset;
	assert_int_equal(blk_pwrite(b, buf, sizeof(buf), 1 << 20), 0);
	assert_int_equal(blk_block_status(b, 1 << 20, 65536, &e), 0);
	assert_int_equal(e.host_offset, host);
	assert_clean(b);
	assert_int_equal(blk_close(b), 0);
}

static void test_qcow2_unallocated_reads_zero_without_backing(void **state)
{
	struct blk *b = create_open("zero.qcow2", 1 << 20, 4096, 3);
	uint8_t buf[8192];

	(void)state;
	memset(buf, 0x55, sizeof(buf));
	assert_int_equal(blk_pread(b, buf, sizeof(buf), 4096), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	blk_close(b);
}

static void test_qcow2_write_zeroes_sets_zero_flag_and_discard_frees(void **state)
{
	struct blk *b = create_open("wz.qcow2", 8 << 20, 65536, 3);
	uint8_t buf[65536], back[65536];
	struct blk_extent e;

	(void)state;
	memset(buf, 7, sizeof(buf));
	assert_int_equal(blk_pwrite(b, buf, sizeof(buf), 0), 0);
	assert_int_equal(blk_pwrite(b, buf, sizeof(buf), 65536), 0);
	assert_int_equal(blk_block_status(b, 0, 65536, &e), 0);
	uint64_t host0 = e.host_offset;
	/* without unmap the allocation stays (preallocated zero cluster) */
	assert_int_equal(blk_write_zeroes(b, 0, 65536, 0), 0);
	assert_int_equal(blk_block_status(b, 0, 65536, &e), 0);
	assert_int_equal(e.flags & (BLK_EXT_ZERO | BLK_EXT_ALLOCATED), BLK_EXT_ZERO | BLK_EXT_ALLOCATED);
	assert_int_equal(e.host_offset, host0);
	assert_int_equal(refcount_of(b, host0), 1);
	assert_int_equal(blk_pread(b, back, sizeof(back), 0), 0);
	for (size_t i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0);
	/* discard releases the cluster: its refcount drops to 0 at the next
	 * flush, behind the L2 write that dropped the reference */
	assert_int_equal(blk_block_status(b, 65536, 65536, &e), 0);
	uint64_t host1 = e.host_offset;
	assert_int_equal(blk_discard(b, 65536, 65536), 0);
	assert_int_equal(refcount_of(b, host1), 1);
	assert_int_equal(blk_flush(b), 0);
	assert_int_equal(refcount_of(b, host1), 0);
	assert_int_equal(blk_pread(b, back, sizeof(back), 65536), 0);
	for (size_t i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0);
	/* a partial-cluster zero write writes zeros */
	assert_int_equal(blk_pwrite(b, buf, sizeof(buf), 2 * 65536), 0);
	assert_int_equal(blk_write_zeroes(b, 2 * 65536 + 100, 1000, BLK_ZERO_MAY_UNMAP), 0);
	assert_int_equal(blk_pread(b, back, sizeof(back), 2 * 65536), 0);
	assert_int_equal(back[99], 7);
	assert_int_equal(back[100], 0);
	assert_int_equal(back[1099], 0);
	assert_int_equal(back[1100], 7);
	assert_clean(b);
	blk_close(b);
}

static void test_qcow2_backing_chain_reads_through_and_writes_only_top(void **state)
{
	uint8_t buf[65536], back[65536];
	struct blk_create_opts ob = { .backing_file = "base.qcow2", .backing_format = "qcow2" };
	struct blk_create_opts oo = { .backing_file = "mid.qcow2", .backing_format = "qcow2" };

	(void)state;
	struct blk *base = create_open("base.qcow2", 4 << 20, 65536, 3);
	memset(buf, 1, sizeof(buf));
	assert_int_equal(blk_pwrite(base, buf, sizeof(buf), 0), 0);
	assert_int_equal(blk_pwrite(base, buf, sizeof(buf), 65536), 0);
	blk_close(base);
	assert_int_equal(blk_create(path("mid.qcow2"), "qcow2", 4 << 20, &ob), 0);
	assert_int_equal(blk_create(path("top.qcow2"), "qcow2", 8 << 20, &oo), 0);
	struct blk *top = blk_open(path("top.qcow2"), NULL);
	assert_non_null(top);
	assert_non_null(blk_backing(top));
	assert_non_null(blk_backing(blk_backing(top)));
	/* partial write: the rest of the cluster comes from the base */
	memset(buf, 2, 100);
	assert_int_equal(blk_pwrite(top, buf, 100, 1000), 0);
	assert_int_equal(blk_pread(top, back, sizeof(back), 0), 0);
	assert_int_equal(back[999], 1);
	assert_int_equal(back[1000], 2);
	assert_int_equal(back[1100], 1);
	/* past the base's end the chain reads zeros */
	assert_int_equal(blk_pread(top, back, 512, 6 << 20), 0);
	assert_int_equal(back[0], 0);
	/* discard over a backing file reads zeros, not the base (zero flag) */
	assert_int_equal(blk_discard(top, 65536, 65536), 0);
	assert_int_equal(blk_pread(top, back, 512, 65536), 0);
	assert_int_equal(back[0], 0);
	struct blk_extent e;
	assert_int_equal(blk_map(top, 2 * 65536, 65536, &e), 0);
	assert_int_equal(e.depth, 2);
	assert_clean(top);
	blk_close(top);
	struct blk *b2 = blk_open(path("base.qcow2"), &(struct blk_open_opts){ .read_only = true });
	assert_int_equal(blk_pread(b2, back, 2048, 0), 0);
	assert_int_equal(back[1000], 1);
	blk_close(b2);
}

static void test_qcow2_every_cluster_size_and_both_versions_roundtrip(void **state)
{
	static const uint32_t sizes[] = { 512, 1024, 4096, 65536, 1 << 20, 2 << 20 };
	uint8_t *buf = malloc(300000), *back = malloc(300000);

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int v = 2; v <= 3; v++) {
			struct blk *b = create_open("cs.qcow2", 32 << 20, sizes[i], v);
			for (int k = 0; k < 300000; k++)
				buf[k] = (uint8_t)(k * 31 + i + v);
			assert_int_equal(blk_pwrite(b, buf, 300000, 12345), 0);
			assert_int_equal(blk_pwrite(b, buf, 70000, (32 << 20) - 70000), 0);
			assert_int_equal(blk_close(b), 0);
			b = blk_open(path("cs.qcow2"), &(struct blk_open_opts){ .read_only = true });
			assert_non_null(b);
			assert_int_equal(blk_pread(b, back, 300000, 12345), 0);
			assert_memory_equal(buf, back, 300000);
			assert_int_equal(blk_pread(b, back, 70000, (32 << 20) - 70000), 0);
			assert_memory_equal(buf, back, 70000);
			assert_clean(b);
			blk_close(b);
		}
	}
	free(buf);
	free(back);
}

static void test_qcow2_refcount_table_grows_with_small_clusters(void **state)
{
	struct blk *b = create_open("grow.qcow2", 64 << 20, 512, 3);
	struct qcow2 *s = qcow2_state(b);
	uint32_t rt_before = s->rt_clusters;
	uint8_t *buf = calloc(1, 1 << 20);

	(void)state;
	/* 512-byte clusters: one refcount table cluster covers 64 blocks of 256 clusters */
	for (int i = 0; i < 24; i++) {
		memset(buf, i + 1, 1 << 20);
		assert_int_equal(blk_pwrite(b, buf, 1 << 20, (uint64_t)i << 20), 0);
	}
	assert_true(s->rt_clusters > rt_before);
	assert_clean(b);
	assert_int_equal(blk_pread(b, buf, 1 << 20, 5 << 20), 0);
	assert_int_equal(buf[0], 6);
	assert_int_equal(buf[(1 << 20) - 1], 6);
	blk_close(b);
	free(buf);
}

static void test_qcow2_compressed_write_reads_back_and_shares_host_clusters(void **state)
{
	struct blk *b = create_open("comp.qcow2", 4 << 20, 65536, 3);
	uint8_t *buf = malloc(4 * 65536), *back = malloc(4 * 65536);
	struct blk_extent e;

	(void)state;
	for (int i = 0; i < 4 * 65536; i++)
		buf[i] = (uint8_t)((i / 100) % 7);
	assert_int_equal(blk_pwrite_compressed(b, buf, 4 * 65536, 0), 0);
	assert_int_equal(blk_block_status(b, 0, 65536, &e), 0);
	assert_true(e.flags & BLK_EXT_COMPRESSED);
	assert_int_equal(blk_pread(b, back, 4 * 65536, 0), 0);
	assert_memory_equal(buf, back, 4 * 65536);
	assert_clean(b);
	/* overwrite one compressed cluster partially: copy-on-write decompresses */
	memset(buf + 65536 + 10, 0xee, 20);
	assert_int_equal(blk_pwrite(b, buf + 65536 + 10, 20, 65536 + 10), 0);
	assert_int_equal(blk_pread(b, back, 4 * 65536, 0), 0);
	assert_memory_equal(buf, back, 4 * 65536);
	assert_clean(b);
	assert_int_equal(blk_pwrite_compressed(b, buf, 100, 7), -1);
	blk_close(b);
	free(buf);
	free(back);
}

static void test_qcow2_truncate_grows_l1_and_new_space_reads_zero(void **state)
{
	struct blk *b = create_open("trunc.qcow2", 1 << 20, 4096, 3);
	uint8_t buf[4096];

	(void)state;
	memset(buf, 9, sizeof(buf));
	assert_int_equal(blk_pwrite(b, buf, sizeof(buf), 0), 0);
	assert_int_equal(blk_truncate(b, 1ull << 32, false), 0);
	assert_int_equal(blk_size(b), 1ull << 32);
	assert_int_equal(blk_pwrite(b, buf, sizeof(buf), (1ull << 32) - 4096), 0);
	assert_int_equal(blk_pread(b, buf, sizeof(buf), 1 << 30), 0);
	assert_int_equal(buf[0], 0);
	assert_int_equal(blk_truncate(b, 4096, false), -1);
	assert_int_equal(blk_truncate(b, 4096, true), 0);
	assert_int_equal(blk_truncate(b, 8192, false), 0);
	assert_int_equal(blk_pread(b, buf, 4096, 4096), 0);
	assert_int_equal(buf[0], 0);
	assert_clean(b);
	blk_close(b);
}

static void test_qcow2_refcount_overflow_is_refused_by_name(void **state)
{
	struct blk_create_opts o = { .refcount_bits = 1 };

	(void)state;
	assert_int_equal(blk_create(path("rc1.qcow2"), "qcow2", 1 << 20, &o), 0);
	struct blk *b = blk_open(path("rc1.qcow2"), NULL);
	assert_non_null(b);
	/* the header cluster already has refcount 1, the maximum of 1-bit refcounts */
	assert_int_equal(qcow2_update_refcount(b, 0, 1, 1), -1);
	assert_non_null(strstr(err_message(), "overflow"));
	assert_int_equal(qcow2_update_refcount(b, 100, 1, -1), -1);
	assert_non_null(strstr(err_message(), "below zero"));
	blk_close(b);
}

static void patch_u64(const char *p, off_t off, uint64_t v)
{
	int fd = open(p, O_RDWR);
	v = htobe64(v);
	assert_int_equal(pwrite(fd, &v, 8, off), 8);
	close(fd);
}

static void test_qcow2_open_refuses_unknown_incompatible_bits_and_encryption(void **state)
{
	(void)state;
	assert_int_equal(blk_create(path("bits.qcow2"), "qcow2", 1 << 20, NULL), 0);
	patch_u64(path("bits.qcow2"), 72, 1ull << 33);
	assert_null(blk_open(path("bits.qcow2"), NULL));
	assert_int_equal(err_code(), ERR_UNSUPPORTED);
	assert_non_null(strstr(err_message(), "bit 33"));
	assert_non_null(strstr(err_message(), "bits.qcow2"));
	patch_u64(path("bits.qcow2"), 72, 1ull << 4);
	assert_null(blk_open(path("bits.qcow2"), NULL));
	assert_non_null(strstr(err_message(), "extended L2"));
	patch_u64(path("bits.qcow2"), 72, 0);
	patch_u64(path("bits.qcow2"), 32, 1ull << 32);   /* crypt_method = 1 */
	assert_null(blk_open(path("bits.qcow2"), NULL));
	assert_non_null(strstr(err_message(), "encrypted"));
}

static void test_blk_refuses_writes_read_only_and_beyond_the_end(void **state)
{
	uint8_t buf[512] = { 0 };

	(void)state;
	assert_int_equal(blk_create(path("ro.qcow2"), "qcow2", 1 << 20, NULL), 0);
	struct blk *b = blk_open(path("ro.qcow2"), &(struct blk_open_opts){ .read_only = true });
	assert_int_equal(blk_pwrite(b, buf, sizeof(buf), 0), -1);
	assert_int_equal(err_code(), ERR_PERMISSION);
	assert_int_equal(blk_pread(b, buf, sizeof(buf), (1 << 20) - 256), -1);
	assert_int_equal(err_code(), ERR_INVALID);
	assert_int_equal(blk_pread(b, buf, sizeof(buf), UINT64_MAX - 100), -1);
	blk_close(b);
}

static void test_raw_discard_punches_a_hole_that_maps_as_zero(void **state)
{
	uint8_t buf[65536];
	struct blk_extent e;

	(void)state;
	assert_int_equal(blk_create(path("r.raw"), "raw", 1 << 20, NULL), 0);
	struct blk *b = blk_open(path("r.raw"), &(struct blk_open_opts){ .format = "raw" });
	assert_non_null(b);
	memset(buf, 3, sizeof(buf));
	assert_int_equal(blk_pwrite(b, buf, sizeof(buf), 65536), 0);
	assert_int_equal(blk_map(b, 65536, 65536, &e), 0);
	assert_true(e.flags & BLK_EXT_DATA);
	assert_int_equal(blk_discard(b, 65536, 65536), 0);
	assert_int_equal(blk_map(b, 65536, 65536, &e), 0);
	assert_true(e.flags & BLK_EXT_ZERO);
	assert_false(e.flags & BLK_EXT_DATA);
	assert_int_equal(blk_pread(b, buf, sizeof(buf), 65536), 0);
	assert_int_equal(buf[0], 0);
	blk_close(b);
}

static void test_probe_tells_qcow2_from_raw(void **state)
{
	const char *f;

	(void)state;
	assert_int_equal(blk_create(path("p.qcow2"), "qcow2", 1 << 20, NULL), 0);
	assert_int_equal(blk_create(path("p.raw"), "raw", 1 << 20, NULL), 0);
	assert_int_equal(blk_probe_format(path("p.qcow2"), &f), 0);
	assert_string_equal(f, "qcow2");
	assert_int_equal(blk_probe_format(path("p.raw"), &f), 0);
	assert_string_equal(f, "raw");
}

struct reader_arg {
	struct blk *b;
	int id, bad;
};

/* Each reader checks the pattern of the first 8 MiB, which nobody writes. */
static void *reader(void *p)
{
	struct reader_arg *a = p;
	uint8_t buf[16384];

	for (int round = 0; round < 200; round++) {
		uint64_t off = ((uint64_t)(round * 7 + a->id) % 512) * 16384;
		if (blk_pread(a->b, buf, sizeof(buf), off) < 0) {
			a->bad++;
			continue;
		}
		for (size_t i = 0; i < sizeof(buf); i++)
			if (buf[i] != (uint8_t)((off + i) / 4096))
				a->bad++;
	}
	return NULL;
}

static void test_blk_parallel_reads_with_a_writer_keep_data_intact(void **state)
{
	struct blk *b = create_open("par.qcow2", 32 << 20, 4096, 3);
	uint8_t *buf = malloc(8 << 20);
	pthread_t t[4];
	struct reader_arg a[4];

	(void)state;
	for (size_t i = 0; i < (8u << 20); i++)
		buf[i] = (uint8_t)(i / 4096);
	assert_int_equal(blk_pwrite(b, buf, 8 << 20, 0), 0);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct reader_arg){ .b = b, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, reader, &a[i]), 0);
	}
	/* meanwhile allocate and free clusters elsewhere (metadata changes) */
	memset(buf, 0x77, 65536);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(blk_pwrite(b, buf, 65536, (16ull << 20) + (uint64_t)(i % 50) * 65536 + 512), 0);
		if (i % 3 == 0)
			assert_int_equal(blk_discard(b, (16ull << 20) + (uint64_t)(i % 50) * 65536, 65536), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].bad, 0);
	}
	assert_clean(b);
	blk_close(b);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qcow2_l2_entry_types_decode),
		cmocka_unit_test(test_qcow2_compressed_entry_gives_host_offset_and_length),
		cmocka_unit_test(test_refcount_entries_roundtrip_for_every_width),
		cmocka_unit_test(test_refcount_set_leaves_neighbours_and_is_big_endian),
		cmocka_unit_test(test_qcow2_write_allocates_cluster_and_bumps_refcount),
		cmocka_unit_test(test_qcow2_unallocated_reads_zero_without_backing),
		cmocka_unit_test(test_qcow2_write_zeroes_sets_zero_flag_and_discard_frees),
		cmocka_unit_test(test_qcow2_backing_chain_reads_through_and_writes_only_top),
		cmocka_unit_test(test_qcow2_every_cluster_size_and_both_versions_roundtrip),
		cmocka_unit_test(test_qcow2_refcount_table_grows_with_small_clusters),
		cmocka_unit_test(test_qcow2_compressed_write_reads_back_and_shares_host_clusters),
		cmocka_unit_test(test_qcow2_truncate_grows_l1_and_new_space_reads_zero),
		cmocka_unit_test(test_qcow2_refcount_overflow_is_refused_by_name),
		cmocka_unit_test(test_qcow2_open_refuses_unknown_incompatible_bits_and_encryption),
		cmocka_unit_test(test_blk_refuses_writes_read_only_and_beyond_the_end),
		cmocka_unit_test(test_raw_discard_punches_a_hole_that_maps_as_zero),
		cmocka_unit_test(test_probe_tells_qcow2_from_raw),
		cmocka_unit_test(test_blk_parallel_reads_with_a_writer_keep_data_intact),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
