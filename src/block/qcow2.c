/* qcow2 driver: header parsing and validation, guest-to-host mapping through
 * L1/L2 tables, reads (backing, zero, compressed clusters) and writes with
 * copy-on-write into freshly allocated clusters. Refcounts, allocation and the
 * check live in qcow2-refcount.c. Every on-disk value is validated before use. */
#include "block/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#include "common/error.h"
#include "common/util.h"

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return be16toh(v); }
static void wr32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }

enum qcow2_ctype qcow2_entry_type(const struct qcow2 *s, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return QCOW2_COMPRESSED;
	if ((e & QCOW2_OFLAG_ZERO) && s->version >= 3)
		return (e & QCOW2_L2E_OFFSET_MASK) ? QCOW2_ZERO_ALLOC : QCOW2_ZERO_PLAIN;
	if (e & QCOW2_L2E_OFFSET_MASK)
		return QCOW2_NORMAL;
	return QCOW2_UNALLOC;
}

void qcow2_compressed_extent(const struct qcow2 *s, uint64_t e, uint64_t *host, uint64_t *len)
{
	unsigned x = 62 - (s->cluster_bits - 8);
	uint64_t nsect = (e >> x) & ((1ull << (s->cluster_bits - 8)) - 1);

	*host = e & ((1ull << x) - 1);
	*len = (nsect + 1) * 512 - (*host & 511);
}

int qcow2_write_header_field(struct blk *b, uint64_t offset, const void *be_data, size_t len)
{
	return blk_fd_pwrite(b, be_data, len, offset);
}

static int qcow2_probe(const uint8_t *buf, size_t len)
{
	if (len >= 8 && rd32(buf) == QCOW2_MAGIC && (rd32(buf + 4) == 2 || rd32(buf + 4) == 3))
		return 100;
	return 0;
}

/* ---- header ---- */

static const char *const incompat_names[] = {
	"dirty bit", "corrupt bit", "external data file", "compression type", "extended L2 entries",
};

/* Build cluster 0: header, extensions, backing file name. */
static int build_header(struct blk *b, const struct qcow2 *s, uint64_t size, const char *bname,
			const char *bfmt, uint8_t *buf, size_t cap, size_t *out_len)
{
	size_t hl = s->version >= 3 ? s->header_length : QCOW2_V2_HEADER_LEN, p;
	size_t blen = bname ? strlen(bname) : 0;

	if (blen > QCOW2_MAX_BACKING_NAME)
		return err_set(ERR_INVALID, "'%s': backing file name is longer than %d bytes",
			       b->filename, QCOW2_MAX_BACKING_NAME);
	memset(buf, 0, cap);
	wr32(buf, QCOW2_MAGIC);
	wr32(buf + 4, s->version);
	wr32(buf + 20, s->cluster_bits);
	wr64(buf + 24, size);
	wr32(buf + 36, s->l1_size);
	wr64(buf + 40, s->l1_offset);
	wr64(buf + 48, s->rt_offset);
	wr32(buf + 56, s->rt_clusters);
	wr32(buf + 60, s->nb_snapshots);
	wr64(buf + 64, s->snapshots_offset);
	if (s->version >= 3) {
		wr64(buf + 72, s->incompat);
		wr64(buf + 80, s->compat);
		wr64(buf + 88, s->autoclear);
		wr32(buf + 96, s->refcount_order);
		wr32(buf + 100, (uint32_t)hl);
		if (hl > 104)
			buf[104] = s->compression_type;
	}
	p = hl;
	if (bname && bfmt) {
		size_t fl = strlen(bfmt);
		if (p + 8 + ALIGN_UP(fl, 8) > cap)
			goto too_big;
		wr32(buf + p, QCOW2_EXT_BACKING_FMT);
		wr32(buf + p + 4, (uint32_t)fl);
		memcpy(buf + p + 8, bfmt, fl);
		p += 8 + ALIGN_UP(fl, 8);
	}
	for (unsigned i = 0; i < s->nexts; i++) {
		if (p + 8 + ALIGN_UP((size_t)s->exts[i].len, 8) > cap)
			goto too_big;
		wr32(buf + p, s->exts[i].type);
		wr32(buf + p + 4, s->exts[i].len);
		memcpy(buf + p + 8, s->exts[i].data, s->exts[i].len);
		p += 8 + ALIGN_UP((size_t)s->exts[i].len, 8);
	}
	if (p + 8 > cap)
		goto too_big;
	p += 8;   /* end-of-extensions marker: type 0, length 0 */
	if (bname) {
		if (p + blen > cap)
			goto too_big;
		memcpy(buf + p, bname, blen);
		wr64(buf + 8, p);
		wr32(buf + 16, (uint32_t)blen);
		p += blen;
	}
	*out_len = p;
	return 0;
too_big:
	return err_set(ERR_INVALID, "'%s': header, extensions and backing file name do not fit in one cluster",
		       b->filename);
}

static struct qcow2_ext *feature_table_ext(void)
{
	static uint8_t table[ARRAY_SIZE(incompat_names) * 48 + 48];
	static struct qcow2_ext ext;
	size_t n = 0;

	memset(table, 0, sizeof(table));
	for (size_t i = 0; i < ARRAY_SIZE(incompat_names); i++, n++) {
		table[n * 48] = 0;
		table[n * 48 + 1] = (uint8_t)i;
		snprintf((char *)table + n * 48 + 2, 46, "%s", incompat_names[i]);
	}
	table[n * 48] = 1;   /* compatible */
	table[n * 48 + 1] = 0;
	snprintf((char *)table + n * 48 + 2, 46, "lazy refcounts");
	n++;
	ext.type = QCOW2_EXT_FEATURES;
	ext.len = (uint32_t)(n * 48);
	ext.data = table;
	return &ext;
}

static int parse_extensions(struct blk *b, struct qcow2 *s, const uint8_t *hdr, size_t hdr_len,
			    size_t start, size_t end)
{
	size_t p = start;

	while (p + 8 <= end) {
		uint32_t type = rd32(hdr + p), len = rd32(hdr + p + 4);
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - p - 8 || p + 8 + len > hdr_len)
			return err_set(ERR_CORRUPT, "'%s': header extension 0x%08x (length %u) overruns the header",
				       b->filename, type, len);
		const uint8_t *d = hdr + p + 8;
		if (type == QCOW2_EXT_BACKING_FMT) {
			if (len == 0 || len > 64)
				return err_set(ERR_CORRUPT, "'%s': backing format extension has invalid length %u",
					       b->filename, len);
			free(b->backing_fmt);
			b->backing_fmt = strndup((const char *)d, len);
			if (!b->backing_fmt)
				return err_set(ERR_NOMEM, "out of memory");
		} else if (type == QCOW2_EXT_CRYPTO) {
			return err_set(ERR_UNSUPPORTED, "'%s': encrypted qcow2 images (LUKS) are not supported",
				       b->filename);
		} else if (type == QCOW2_EXT_DATA_FILE) {
			return err_set(ERR_UNSUPPORTED, "'%s': qcow2 external data files are not supported",
				       b->filename);
		} else {
			struct qcow2_ext *x = realloc(s->exts, sizeof(*x) * (s->nexts + 1));
			if (!x)
				return err_set(ERR_NOMEM, "out of memory");
			s->exts = x;
			x[s->nexts].type = type;
			x[s->nexts].len = len;
			x[s->nexts].data = malloc(len ? len : 1);
			if (!x[s->nexts].data)
				return err_set(ERR_NOMEM, "out of memory");
			memcpy(x[s->nexts].data, d, len);
			s->nexts++;
		}
		p += 8 + ALIGN_UP((size_t)len, 8);
	}
	return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static int validate_layout(struct blk *b, struct qcow2 *s)
{
	uint64_t cs = s->cluster_size;
	struct { const char *name; uint64_t off, len; } r[3] = {
		{ "header", 0, cs },
		{ "L1 table", s->l1_offset, (uint64_t)s->l1_size * 8 },
		{ "refcount table", s->rt_offset, (uint64_t)s->rt_clusters * cs },
	};

	for (unsigned i = 1; i < ARRAY_SIZE(r); i++) {
		if (r[i].off & (cs - 1))
			return err_set(ERR_CORRUPT, "'%s': %s offset 0x%llx is not cluster aligned",
				       b->filename, r[i].name, (unsigned long long)r[i].off);
		if (r[i].len && (r[i].off > s->file_size || r[i].len > s->file_size - r[i].off))
			return err_set(ERR_CORRUPT, "'%s': %s (0x%llx, %llu bytes) lies outside the file (%llu bytes)",
				       b->filename, r[i].name, (unsigned long long)r[i].off,
				       (unsigned long long)r[i].len, (unsigned long long)s->file_size);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(r); i++)
		for (unsigned j = i + 1; j < ARRAY_SIZE(r); j++)
			if (ranges_overlap(r[i].off, r[i].len, r[j].off, r[j].len))
				return err_set(ERR_CORRUPT, "'%s': metadata overlap: %s overlaps the %s",
					       b->filename, r[j].name, r[i].name);
	if (s->nb_snapshots && (s->snapshots_offset & (cs - 1) || s->snapshots_offset == 0 ||
				s->snapshots_offset >= s->file_size))
		return err_set(ERR_CORRUPT, "'%s': snapshot table offset 0x%llx is invalid", b->filename,
			       (unsigned long long)s->snapshots_offset);
	for (uint64_t i = 0; i < s->rt_entries; i++) {
		uint64_t off = s->rt[i] & QCOW2_RT_OFFSET_MASK;
		if (!off)
			continue;
		if ((s->rt[i] & ~QCOW2_RT_OFFSET_MASK) || (off & (cs - 1)))
			return err_set(ERR_CORRUPT, "'%s': refcount table entry %llu (0x%llx) is not cluster aligned",
				       b->filename, (unsigned long long)i, (unsigned long long)s->rt[i]);
		for (unsigned j = 0; j < ARRAY_SIZE(r); j++)
			if (ranges_overlap(off, cs, r[j].off, r[j].len))
				return err_set(ERR_CORRUPT, "'%s': metadata overlap: refcount block %llu overlaps the %s",
					       b->filename, (unsigned long long)i, r[j].name);
	}
	return 0;
}

/* Clusters past the end of the file may still carry refcounts (reserved by a
 * writer that was killed): everything up to the last counted cluster is "in use"
 * territory for the allocator. Reads only the last non-empty refcount block. */
static int find_refcount_end(struct blk *b, struct qcow2 *s)
{
	for (uint64_t r = s->rt_entries; r-- > 0;) {
		uint64_t off = s->rt[r] & QCOW2_RT_OFFSET_MASK, per = 1ull << s->rb_bits;
		if (!off)
			continue;
		if (off >= s->file_size)
			continue;   /* reported by check; nothing to read */
		uint8_t *blk = qcow2_cache_get(b, &s->rbc, off);
		if (!blk)
			return -1;
		for (uint64_t i = per; i-- > 0;) {
			if (qcow2_refblock_get(blk, s->refcount_order, i)) {
				s->end_cluster = MAX(s->end_cluster, r * per + i + 1);
				return 0;
			}
		}
	}
	return 0;
}

static void qcow2_free_state(struct qcow2 *s)
{
	if (!s)
		return;
	qcow2_cache_free(&s->l2c);
	qcow2_cache_free(&s->rbc);
	for (unsigned i = 0; i < s->nexts; i++)
		free(s->exts[i].data);
	free(s->exts);
	free(s->l1);
	free(s->rt);
	free(s->cbuf);
	free(s->cin);
	free(s->pfree);
	pthread_mutex_destroy(&s->meta_lock);
	free(s);
}

static int qcow2_open_state(struct blk *b, bool for_repair);

static int qcow2_open(struct blk *b, const struct blk_open_opts *opts)
{
	if (qcow2_open_state(b, opts->for_repair) == 0)
		return 0;
	qcow2_free_state(b->opaque);
	b->opaque = NULL;
	return -1;
}

/* Parse and validate everything; on failure the caller frees b->opaque. */
static int qcow2_open_state(struct blk *b, bool for_repair)
{
	struct qcow2 *s;
	struct stat st;
	uint8_t *hdr = NULL;
	uint64_t cs, incompat_known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT |
		QCOW2_INCOMPAT_DATA_FILE | QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2;
	size_t hdr_len;

	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(ERR_NOMEM, "out of memory");
	pthread_mutex_init(&s->meta_lock, NULL);
	b->opaque = s;
	if (fstat(b->fd, &st) < 0)
		return err_set_errno(ERR_IO, errno, "cannot stat '%s'", b->filename);
	s->file_size = s->file_len = (uint64_t)st.st_size;
	uint8_t h[112] = { 0 };
	if (s->file_size < QCOW2_V2_HEADER_LEN)
		return err_set(ERR_CORRUPT, "'%s': file is too short (%llu bytes) for a qcow2 header",
			       b->filename, (unsigned long long)s->file_size);
	if (blk_fd_pread(b, h, sizeof(h), 0) < 0)
		return -1;
	if (rd32(h) != QCOW2_MAGIC)
		return err_set(ERR_INVALID, "'%s': not a qcow2 image (bad magic)", b->filename);
	s->version = rd32(h + 4);
	if (s->version != 2 && s->version != 3)
		return err_set(ERR_UNSUPPORTED, "'%s': qcow2 version %u is not supported (2 and 3 are)",
			       b->filename, s->version);
	s->cluster_bits = rd32(h + 20);
	if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return err_set(ERR_CORRUPT, "'%s': cluster size 2^%u is outside 512 B - 2 MiB", b->filename,
			       s->cluster_bits);
	cs = s->cluster_size = 1ull << s->cluster_bits;
	s->l2_bits = s->cluster_bits - 3;
	b->size = rd64(h + 24);
	if (rd32(h + 32))
		return err_set(ERR_UNSUPPORTED, "'%s': encrypted qcow2 images are not supported (crypt_method %u)",
			       b->filename, rd32(h + 32));
	s->l1_size = rd32(h + 36);
	s->l1_offset = rd64(h + 40);
	s->rt_offset = rd64(h + 48);
	s->rt_clusters = rd32(h + 56);
	s->nb_snapshots = rd32(h + 60);
	s->snapshots_offset = rd64(h + 64);
	s->refcount_order = 4;
	s->header_length = QCOW2_V2_HEADER_LEN;
	if (s->version >= 3) {
		s->incompat = rd64(h + 72);
		s->compat = rd64(h + 80);
		s->autoclear = rd64(h + 88);
		s->refcount_order = rd32(h + 96);
		s->header_length = rd32(h + 100);
		if (s->header_length < QCOW2_V3_HEADER_LEN || s->header_length > cs ||
		    s->header_length % 8)
			return err_set(ERR_CORRUPT, "'%s': header length %u is invalid", b->filename,
				       s->header_length);
		if (s->header_length > 104)
			s->compression_type = h[104];
	}
	if (s->refcount_order > 6)
		return err_set(ERR_CORRUPT, "'%s': refcount order %u is invalid (at most 6 = 64-bit refcounts)",
			       b->filename, s->refcount_order);
	s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
	/* Read the whole first cluster: extensions and the backing name live there. */
	hdr_len = (size_t)MIN(cs, s->file_size);
	hdr = malloc(cs);
	if (!hdr)
		return err_set(ERR_NOMEM, "out of memory");
	if (blk_fd_pread(b, hdr, hdr_len, 0) < 0)
		goto fail;
	if (s->incompat & ~incompat_known) {
		uint64_t unk = s->incompat & ~incompat_known;
		int bit = __builtin_ctzll(unk);
		err_set(ERR_UNSUPPORTED, "'%s': unsupported qcow2 incompatible feature bit %d (0x%llx)",
			b->filename, bit, (unsigned long long)unk);
		goto fail;
	}
	if (s->incompat & QCOW2_INCOMPAT_DATA_FILE) {
		err_set(ERR_UNSUPPORTED, "'%s': qcow2 external data files are not supported", b->filename);
		goto fail;
	}
	if (s->incompat & QCOW2_INCOMPAT_EXTL2) {
		err_set(ERR_UNSUPPORTED, "'%s': qcow2 extended L2 entries (subclusters) are not supported",
			b->filename);
		goto fail;
	}
	if (s->compression_type > QCOW2_COMPRESSION_ZSTD ||
	    (s->compression_type != 0) != !!(s->incompat & QCOW2_INCOMPAT_COMPRESSION)) {
		err_set(ERR_CORRUPT, "'%s': compression type %u does not match the compression type feature bit",
			b->filename, s->compression_type);
		goto fail;
	}
#ifndef HAVE_ZSTD
	if (s->compression_type == QCOW2_COMPRESSION_ZSTD) {
		err_set(ERR_UNSUPPORTED, "'%s': zstd compression is not available in this build", b->filename);
		goto fail;
	}
#endif
	if ((s->incompat & QCOW2_INCOMPAT_CORRUPT) && !b->read_only && !for_repair) {
		err_set(ERR_CORRUPT, "'%s': image is marked corrupt; open it read-only or repair it with 'vireo-img check -r all'",
			b->filename);
		goto fail;
	}
	if (parse_extensions(b, s, hdr, hdr_len, s->version >= 3 ? s->header_length : QCOW2_V2_HEADER_LEN,
			     hdr_len) < 0)
		goto fail;
	uint64_t bo = rd64(h + 8);
	uint32_t bl = rd32(h + 16);
	if (bo) {
		if (bl == 0 || bl > QCOW2_MAX_BACKING_NAME || bo > hdr_len || bl > hdr_len - bo) {
			err_set(ERR_CORRUPT, "'%s': backing file name (offset %llu, length %u) is invalid",
				b->filename, (unsigned long long)bo, bl);
			goto fail;
		}
		b->backing_name = strndup((const char *)hdr + bo, bl);
		if (!b->backing_name || strlen(b->backing_name) != bl) {
			err_set(ERR_CORRUPT, "'%s': backing file name contains a NUL byte", b->filename);
			goto fail;
		}
	}
	/* Sizes: refuse what no sane image has before allocating for it. */
	uint64_t l2_cover = cs << s->l2_bits;
	if (b->size > (1ull << 62)) {
		err_set(ERR_CORRUPT, "'%s': virtual size %llu is absurd", b->filename, (unsigned long long)b->size);
		goto fail;
	}
	uint64_t l1_needed = (b->size + l2_cover - 1) / l2_cover;
	if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES || l1_needed * 8 > QCOW2_MAX_L1_BYTES) {
		err_set(ERR_CORRUPT, "'%s': L1 table of %llu entries is too large (limit %u MiB)", b->filename,
			(unsigned long long)MAX(s->l1_size, l1_needed), QCOW2_MAX_L1_BYTES >> 20);
		goto fail;
	}
	if (s->l1_size < l1_needed) {
		err_set(ERR_CORRUPT, "'%s': L1 table has %u entries, %llu needed for the virtual size %llu",
			b->filename, s->l1_size, (unsigned long long)l1_needed, (unsigned long long)b->size);
		goto fail;
	}
	if (s->rt_clusters == 0 || (uint64_t)s->rt_clusters * cs > QCOW2_MAX_RT_BYTES) {
		err_set(ERR_CORRUPT, "'%s': refcount table of %u clusters is invalid", b->filename, s->rt_clusters);
		goto fail;
	}
	if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
		err_set(ERR_CORRUPT, "'%s': %u snapshots is too many", b->filename, s->nb_snapshots);
		goto fail;
	}
	if (s->version < 3 && (s->snapshots_offset & 0) != 0)
		goto fail;
	s->l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
	s->rt_entries = (uint64_t)s->rt_clusters * cs / 8;
	s->rt = calloc(s->rt_entries, 8);
	if (!s->l1 || !s->rt) {
		err_set(ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (s->l1_offset + (uint64_t)s->l1_size * 8 <= s->file_size &&
	    s->rt_offset + (uint64_t)s->rt_clusters * cs <= s->file_size) {
		if (s->l1_size && blk_fd_pread(b, s->l1, (size_t)s->l1_size * 8, s->l1_offset) < 0)
			goto fail;
		if (blk_fd_pread(b, s->rt, s->rt_entries * 8, s->rt_offset) < 0)
			goto fail;
	}
	for (uint32_t i = 0; i < s->l1_size; i++)
		s->l1[i] = be64toh(s->l1[i]);
	for (uint64_t i = 0; i < s->rt_entries; i++)
		s->rt[i] = be64toh(s->rt[i]);
	if (validate_layout(b, s) < 0)
		goto fail;
	{
		uint64_t l2_tables = MIN((uint64_t)MAX(l1_needed, 16u), (32ull << 20) / cs);
		uint64_t rbs = MIN(MAX(s->rt_entries, 8u), MAX((4ull << 20) / cs, 8u));
		if (qcow2_cache_init(&s->l2c, cs, (unsigned)MAX(l2_tables, 4u)) < 0 ||
		    qcow2_cache_init(&s->rbc, cs, (unsigned)rbs) < 0)
			goto fail;
	}
	s->end_cluster = (s->file_size + cs - 1) / cs;
	if (find_refcount_end(b, s) < 0)
		goto fail;
	free(hdr);
	hdr = NULL;
	if (!b->read_only) {
		if (s->autoclear) {
			/* Features we do not maintain (e.g. bitmaps) must be marked stale. */
			uint64_t z = 0;
			s->autoclear = 0;
			if (qcow2_write_header_field(b, 88, &z, 8) < 0)
				goto fail;
		}
		if (s->incompat & QCOW2_INCOMPAT_DIRTY) {
			/* Lazy refcounts left unfinished: rebuild refcounts before writing. */
			struct blk_check_result res;
			if (qcow2_check(b, BLK_CHECK_FIX_LEAKS | BLK_CHECK_FIX_ERRORS, &res, NULL, NULL) < 0)
				goto fail;
			if (res.corruptions != res.corruptions_fixed || res.check_errors) {
				err_set(ERR_CORRUPT, "'%s': dirty image could not be repaired (%llu errors)",
					b->filename, (unsigned long long)(res.corruptions - res.corruptions_fixed));
				goto fail;
			}
		}
	}
	return 0;
fail:
	free(hdr);
	return -1;
}

static void qcow2_close(struct blk *b)
{
	struct qcow2 *s = qcow2_state(b);

	if (!s)
		return;
	if (!b->read_only)
		(void)qcow2_release_reserve(b);
	qcow2_free_state(s);
	b->opaque = NULL;
}

/* ---- mapping ---- */

uint8_t *qcow2_l2_table(struct blk *b, uint64_t l2off)
{
	struct qcow2 *s = qcow2_state(b);

	if (l2off < s->cluster_size || l2off >= s->file_size ||
	    ranges_overlap(l2off, s->cluster_size, s->l1_offset, (uint64_t)s->l1_size * 8) ||
	    ranges_overlap(l2off, s->cluster_size, s->rt_offset, (uint64_t)s->rt_clusters * s->cluster_size)) {
		err_set(ERR_CORRUPT, "'%s': L2 table offset 0x%llx is invalid (outside the file or overlapping metadata)",
			b->filename, (unsigned long long)l2off);
		return NULL;
	}
	return qcow2_cache_get(b, &s->l2c, l2off);
}

/* L2 table for guest offset off, or *table = NULL when the L1 entry is empty. */
static int get_l2(struct blk *b, uint64_t off, uint8_t **table, uint64_t *l2off)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t l1i = off >> (s->cluster_bits + s->l2_bits), e;

	*table = NULL;
	*l2off = 0;
	if (l1i >= s->l1_size)
		return err_set(ERR_CORRUPT, "'%s': offset %llu is beyond the L1 table", b->filename,
			       (unsigned long long)off);
	e = s->l1[l1i];
	if (e & QCOW2_L1E_RESERVED || (e & QCOW2_L1E_OFFSET_MASK & (s->cluster_size - 1)))
		return err_set(ERR_CORRUPT, "'%s': L1 entry %llu (0x%llx) is invalid", b->filename,
			       (unsigned long long)l1i, (unsigned long long)e);
	*l2off = e & QCOW2_L1E_OFFSET_MASK;
	if (!*l2off)
		return 0;
	*table = qcow2_l2_table(b, *l2off);
	return *table ? 0 : -1;
}

static inline uint64_t l2_get(const uint8_t *t, uint64_t i)
{
	uint64_t v;

	memcpy(&v, t + i * 8, 8);
	return be64toh(v);
}

static int check_entry(struct blk *b, uint64_t e, uint64_t guest)
{
	struct qcow2 *s = qcow2_state(b);
	enum qcow2_ctype t = qcow2_entry_type(s, e);

	if (t == QCOW2_NORMAL || t == QCOW2_ZERO_ALLOC) {
		uint64_t host = e & QCOW2_L2E_OFFSET_MASK;
		if ((host & (s->cluster_size - 1)) || (e & QCOW2_L2E_RESERVED))
			return err_set(ERR_CORRUPT, "'%s': L2 entry 0x%llx for offset %llu is invalid (unaligned or reserved bits)",
				       b->filename, (unsigned long long)e, (unsigned long long)guest);
		if (host < s->cluster_size)
			return err_set(ERR_CORRUPT, "'%s': data cluster for offset %llu overlaps the header",
				       b->filename, (unsigned long long)guest);
	} else if (t == QCOW2_UNALLOC && (e & ~QCOW2_OFLAG_COPIED)) {
		return err_set(ERR_CORRUPT, "'%s': L2 entry 0x%llx for offset %llu has reserved bits set",
			       b->filename, (unsigned long long)e, (unsigned long long)guest);
	}
	return 0;
}

/* ---- reads ---- */

struct iovs {
	struct iovec *v;
	int cnt;
	struct iovec local[32];
};

static int iovs_slice(struct iovs *o, const struct iovec *iov, int cnt, size_t off, size_t len)
{
	int n = iov_slice(iov, cnt, off, len, NULL, 0);

	o->v = o->local;
	if (n > (int)ARRAY_SIZE(o->local)) {
		o->v = malloc(sizeof(*o->v) * (size_t)n);
		if (!o->v)
			return err_set(ERR_NOMEM, "out of memory");
	}
	o->cnt = iov_slice(iov, cnt, off, len, o->v, n);
	return 0;
}

static void iovs_free(struct iovs *o)
{
	if (o->v != o->local)
		free(o->v);
}

static int decompress_cluster(struct blk *b, uint64_t e)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t host, len, cs = s->cluster_size;

	if (s->cbuf_entry == e && s->cbuf)
		return 0;
	qcow2_compressed_extent(s, e, &host, &len);
	if (len > 2 * cs || host < cs || host >= s->file_size)
		return err_set(ERR_CORRUPT, "'%s': compressed cluster at 0x%llx (%llu bytes) is invalid",
			       b->filename, (unsigned long long)host, (unsigned long long)len);
	if (!s->cbuf)
		s->cbuf = malloc(cs);
	if (!s->cin)
		s->cin = malloc(2 * cs);
	if (!s->cbuf || !s->cin)
		return err_set(ERR_NOMEM, "out of memory");
	s->cbuf_entry = 0;
	if (blk_fd_pread(b, s->cin, len, host) < 0)
		return -1;
	if (s->compression_type == QCOW2_COMPRESSION_ZLIB) {
		z_stream z = { 0 };
		int rc;
		if (inflateInit2(&z, -15) != Z_OK)
			return err_set(ERR_INTERNAL, "zlib initialisation failed");
		z.next_in = s->cin;
		z.avail_in = (uInt)len;
		z.next_out = s->cbuf;
		z.avail_out = (uInt)cs;
		rc = inflate(&z, Z_FINISH);
		inflateEnd(&z);
		if ((rc != Z_STREAM_END && rc != Z_BUF_ERROR) || z.avail_out != 0)
			return err_set(ERR_CORRUPT, "'%s': compressed cluster at 0x%llx does not inflate to a cluster",
				       b->filename, (unsigned long long)host);
	} else {
#ifdef HAVE_ZSTD
		ZSTD_DCtx *d = ZSTD_createDCtx();
		ZSTD_inBuffer in = { s->cin, len, 0 };
		ZSTD_outBuffer out = { s->cbuf, cs, 0 };
		size_t rc = 1;
		if (!d)
			return err_set(ERR_NOMEM, "out of memory");
		while (out.pos < out.size && in.pos < in.size) {
			rc = ZSTD_decompressStream(d, &out, &in);
			if (ZSTD_isError(rc) || rc == 0)
				break;
		}
		ZSTD_freeDCtx(d);
		if (ZSTD_isError(rc) || out.pos != out.size)
			return err_set(ERR_CORRUPT, "'%s': zstd cluster at 0x%llx does not decompress to a cluster",
				       b->filename, (unsigned long long)host);
#else
		return err_set(ERR_UNSUPPORTED, "zstd is not available");
#endif
	}
	s->cbuf_entry = e;
	return 0;
}

/* Map the run starting at guest offset cur (at most len bytes) to one kind of
 * cluster: *n bytes of type *ty at host offset *host (NORMAL), entry *e. For a
 * compressed cluster the data is decompressed into s->cbuf. Caller holds meta_lock. */
static int map_run(struct blk *b, uint64_t cur, size_t len, enum qcow2_ctype *ty, uint64_t *host,
		   uint64_t *e, size_t *n)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size, l2n = 1ull << s->l2_bits, in = cur & (cs - 1), l2off;
	uint64_t idx = (cur >> s->cluster_bits) & (l2n - 1);
	uint8_t *t;

	*n = (size_t)MIN((uint64_t)len, cs - in);
	*host = 0;
	*e = 0;
	if (get_l2(b, cur, &t, &l2off) < 0)
		return -1;
	if (!t) {
		/* Whole L2 range unallocated. */
		*ty = QCOW2_UNALLOC;
		*n = (size_t)MIN((uint64_t)len, ((l2n - idx) << s->cluster_bits) - in);
		return 0;
	}
	*e = l2_get(t, idx);
	if (check_entry(b, *e, cur) < 0)
		return -1;
	*ty = qcow2_entry_type(s, *e);
	*host = *e & QCOW2_L2E_OFFSET_MASK;
	for (uint64_t k = 1; *n < len && idx + k < l2n; k++) {
		uint64_t e2 = l2_get(t, idx + k);
		enum qcow2_ctype t2 = qcow2_entry_type(s, e2);
		bool zero1 = *ty == QCOW2_ZERO_PLAIN || *ty == QCOW2_ZERO_ALLOC;
		bool zero2 = t2 == QCOW2_ZERO_PLAIN || t2 == QCOW2_ZERO_ALLOC;
		if (*ty == QCOW2_COMPRESSED)
			break;
		if (*ty == QCOW2_NORMAL && (t2 != QCOW2_NORMAL || (e2 & QCOW2_L2E_OFFSET_MASK) != *host + k * cs))
			break;
		if (*ty == QCOW2_UNALLOC && t2 != QCOW2_UNALLOC)
			break;
		if (zero1 && !zero2)
			break;
		if (check_entry(b, e2, cur + k * cs) < 0)
			return -1;
		*n += (size_t)MIN((uint64_t)(len - *n), cs);
	}
	if (*ty == QCOW2_COMPRESSED)
		return decompress_cluster(b, *e);
	return 0;
}

/* Read guest [off, off+len) into iov. Used by reads (possibly several threads
 * at once: metadata is looked up under meta_lock, data is read outside it) and
 * for copy-on-write, so it may read past the virtual size up to the end of the
 * last cluster. */
static int read_range(struct blk *b, const struct iovec *iov, int cnt, uint64_t off, size_t len)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size;
	size_t done = 0;

	while (done < len) {
		uint64_t cur = off + done, in = cur & (cs - 1), e, host;
		enum qcow2_ctype ty;
		struct iovs sub;
		size_t n;
		int rc = 0;

		pthread_mutex_lock(&s->meta_lock);
		if (map_run(b, cur, len - done, &ty, &host, &e, &n) < 0) {
			pthread_mutex_unlock(&s->meta_lock);
			return -1;
		}
		if (iovs_slice(&sub, iov, cnt, done, n) < 0) {
			pthread_mutex_unlock(&s->meta_lock);
			return -1;
		}
		if (ty == QCOW2_COMPRESSED)
			iov_from_buf(sub.v, sub.cnt, 0, s->cbuf + in, n);
		pthread_mutex_unlock(&s->meta_lock);
		switch (ty) {
		case QCOW2_UNALLOC:
			rc = blk_read_backing(b, sub.v, sub.cnt, cur, n);
			break;
		case QCOW2_ZERO_PLAIN:
		case QCOW2_ZERO_ALLOC:
			iov_memset(sub.v, sub.cnt, 0, 0, n);
			break;
		case QCOW2_NORMAL:
			rc = blk_data_preadv(b, sub.v, sub.cnt, host + in);
			break;
		case QCOW2_COMPRESSED:
			break;
		}
		iovs_free(&sub);
		if (rc < 0)
			return -1;
		done += n;
	}
	return 0;
}

static int qcow2_preadv(struct blk *b, const struct iovec *iov, int cnt, uint64_t off, size_t len)
{
	return read_range(b, iov, cnt, off, len);
}

/* ---- writes ---- */

/* The active L1 entry l1i shares its L2 table with an internal snapshot: give
 * the active image its own copy. Data clusters keep their refcounts (still one
 * reference per L1 table); the shared table loses the active reference. */
static int cow_l2(struct blk *b, uint64_t l1i, uint8_t **table, uint64_t *l2off)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size, old = *l2off, nl2, be, rc;
	uint64_t *copy = malloc(cs);

	if (!copy)
		return err_set(ERR_NOMEM, "out of memory");
	memcpy(copy, *table, cs);
	for (uint64_t i = 0; i < (cs >> 3); i++) {
		uint64_t e = be64toh(copy[i]);
		enum qcow2_ctype t = qcow2_entry_type(s, e);
		if (t != QCOW2_NORMAL && t != QCOW2_ZERO_ALLOC)
			continue;
		if (qcow2_get_refcount(b, (e & QCOW2_L2E_OFFSET_MASK) >> s->cluster_bits, &rc) < 0)
			goto fail;
		e = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
		copy[i] = htobe64(e);
	}
	if (qcow2_alloc_clusters(b, 1, &nl2) < 0)
		goto fail;
	qcow2_cache_drop(&s->l2c, nl2);
	qcow2_cache_drop(&s->rbc, nl2);
	if (blk_fd_pwrite(b, copy, cs, nl2) < 0 || qcow2_barrier(b) < 0)
		goto fail;
	s->file_size = MAX(s->file_size, nl2 + cs);
	be = htobe64(nl2 | QCOW2_OFLAG_COPIED);
	if (blk_fd_pwrite(b, &be, 8, s->l1_offset + l1i * 8) < 0)
		goto fail;
	s->l1[l1i] = nl2 | QCOW2_OFLAG_COPIED;
	free(copy);
	s->unref_pending = true;
	if (qcow2_free_clusters(b, old, 1, false) < 0)
		return -1;
	*l2off = nl2;
	*table = qcow2_l2_table(b, nl2);
	return *table ? 0 : -1;
fail:
	free(copy);
	return -1;
}

/* L2 table for writing at guest offset off: allocated if missing, copied if
 * shared with an internal snapshot. */
static int get_l2_for_write(struct blk *b, uint64_t off, uint8_t **table, uint64_t *l2off)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t l1i = off >> (s->cluster_bits + s->l2_bits), nl2, be;

	if (get_l2(b, off, table, l2off) < 0)
		return -1;
	if (*table)
		return (s->l1[l1i] & QCOW2_OFLAG_COPIED) ? 0 : cow_l2(b, l1i, table, l2off);
	if (qcow2_alloc_clusters(b, 1, &nl2) < 0)
		return -1;
	qcow2_cache_drop(&s->l2c, nl2);
	qcow2_cache_drop(&s->rbc, nl2);
	uint8_t *zero = calloc(1, s->cluster_size);
	if (!zero)
		return err_set(ERR_NOMEM, "out of memory");
	int rc = blk_fd_pwrite(b, zero, s->cluster_size, nl2);
	free(zero);
	if (rc < 0)
		return -1;
	s->file_size = MAX(s->file_size, nl2 + s->cluster_size);
	/* The table must be on disk before the L1 entry points at it. */
	if (qcow2_barrier(b) < 0)
		return -1;
	be = htobe64(nl2 | QCOW2_OFLAG_COPIED);
	if (blk_fd_pwrite(b, &be, 8, s->l1_offset + l1i * 8) < 0)
		return -1;
	s->l1[l1i] = nl2 | QCOW2_OFLAG_COPIED;
	*l2off = nl2;
	*table = qcow2_l2_table(b, nl2);
	return *table ? 0 : -1;
}

static int set_l2_entries(struct blk *b, uint8_t *t, uint64_t l2off, uint64_t idx, const uint64_t *vals,
			  uint64_t k)
{
	struct qcow2 *s = qcow2_state(b);

	for (uint64_t i = 0; i < k; i++) {
		uint64_t be = htobe64(vals[i]), old = l2_get(t, idx + i);
		enum qcow2_ctype ty = qcow2_entry_type(s, old);
		if ((ty == QCOW2_NORMAL || ty == QCOW2_ZERO_ALLOC || ty == QCOW2_COMPRESSED) &&
		    (old & QCOW2_L2E_OFFSET_MASK) != (vals[i] & QCOW2_L2E_OFFSET_MASK))
			s->unref_pending = true;
		memcpy(t + (idx + i) * 8, &be, 8);
	}
	return blk_fd_pwrite(b, t + idx * 8, k * 8, l2off + idx * 8);
}

/* Does guest range [off, off+len) read as zeros without touching the backing image? */
static bool reads_zero_without_backing(struct blk *b, uint64_t e)
{
	struct qcow2 *s = qcow2_state(b);
	enum qcow2_ctype t = qcow2_entry_type(s, e);

	return t == QCOW2_ZERO_PLAIN || t == QCOW2_ZERO_ALLOC || (t == QCOW2_UNALLOC && !b->backing);
}

static int write_allocating(struct blk *b, uint8_t *t, uint64_t l2off, uint64_t idx, uint64_t k,
			    const struct iovec *iov, int cnt, size_t done, uint64_t cur, size_t n)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size, in = cur & (cs - 1), host;
	uint64_t head = in, tail = (k * cs) - in - n;
	uint64_t *old = malloc(2 * k * 8), *neu = old + k;
	uint8_t *hbuf = NULL, *tbuf = NULL;
	bool zero_head = false, zero_tail = false, fresh;
	int rc = -1;

	if (!old)
		return err_set(ERR_NOMEM, "out of memory");
	for (uint64_t i = 0; i < k; i++)
		old[i] = l2_get(t, idx + i);
	if (qcow2_alloc_clusters(b, k, &host) < 0)
		goto out;
	/* Clusters past the end of the file read as zeros already. */
	fresh = host >= s->file_size;
	if (head) {
		zero_head = reads_zero_without_backing(b, old[0]);
		if (!(zero_head && fresh)) {
			struct iovec v;
			hbuf = malloc(head);
			if (!hbuf)
				goto nomem;
			v.iov_base = hbuf;
			v.iov_len = head;
			if (zero_head)
				memset(hbuf, 0, head);
			else if (read_range(b, &v, 1, cur - in, head) < 0)
				goto out;
		}
	}
	if (tail) {
		zero_tail = reads_zero_without_backing(b, old[k - 1]);
		if (!(zero_tail && fresh)) {
			struct iovec v;
			tbuf = malloc(tail);
			if (!tbuf)
				goto nomem;
			v.iov_base = tbuf;
			v.iov_len = tail;
			if (zero_tail)
				memset(tbuf, 0, tail);
			else if (read_range(b, &v, 1, cur + n, tail) < 0)
				goto out;
		}
	}
	{
		struct iovs sub;
		if (iovs_slice(&sub, iov, cnt, done, n) < 0)
			goto out;
		struct iovec *all = malloc(sizeof(*all) * (size_t)(sub.cnt + 2));
		int c = 0;
		uint64_t at = host + in;
		if (!all) {
			iovs_free(&sub);
			goto nomem;
		}
		if (hbuf) {
			all[c].iov_base = hbuf;
			all[c++].iov_len = head;
			at = host;
		}
		memcpy(all + c, sub.v, sizeof(*all) * (size_t)sub.cnt);
		c += sub.cnt;
		if (tbuf) {
			all[c].iov_base = tbuf;
			all[c++].iov_len = tail;
		}
		int wr = blk_data_pwritev(b, all, c, at);
		free(all);
		iovs_free(&sub);
		if (wr < 0)
			goto out;
	}
	/* Keep whole clusters inside the file so that the image end is clean. */
	if (!tbuf && qcow2_extend_file(b, host + k * cs) < 0)
		goto out;
	/* A reused cluster (below the end of the written file) still holds what
	 * it held before: the head or tail copied in must be on disk before the
	 * L2 entry, else a power cut could show that old content outside the
	 * range written. A fresh cluster past the end reads zeros instead; when
	 * the head or tail is backing data that is still a loss after a power
	 * cut, which only a write-back L2 cache ordered after the data (QEMU's)
	 * avoids without a barrier per copy-on-write. */
	if ((hbuf || tbuf) && !fresh && qcow2_barrier(b) < 0)
		goto out;
	s->file_size = MAX(s->file_size, host + k * cs);
	for (uint64_t i = 0; i < k; i++)
		neu[i] = (host + i * cs) | QCOW2_OFLAG_COPIED;
	if (set_l2_entries(b, t, l2off, idx, neu, k) < 0)
		goto out;
	/* Only now that nothing points at them may the old clusters be freed. */
	for (uint64_t i = 0; i < k; i++) {
		if (old[i] == s->cbuf_entry)
			s->cbuf_entry = 0;
		if (qcow2_free_entry(b, old[i], false) < 0)
			goto out;
	}
	rc = 0;
	goto out;
nomem:
	err_set(ERR_NOMEM, "out of memory");
out:
	free(old);
	free(hbuf);
	free(tbuf);
	return rc;
}

static int qcow2_pwritev(struct blk *b, const struct iovec *iov, int cnt, uint64_t off, size_t len)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size, l2n = 1ull << s->l2_bits;
	size_t done = 0;

	while (done < len) {
		uint64_t cur = off + done, in = cur & (cs - 1), l2off;
		uint8_t *t;
		size_t n = (size_t)MIN((uint64_t)(len - done), cs - in);

		if (get_l2_for_write(b, cur, &t, &l2off) < 0)
			return -1;
		uint64_t idx = (cur >> s->cluster_bits) & (l2n - 1), e = l2_get(t, idx), k = 1;
		if (check_entry(b, e, cur) < 0)
			return -1;
		bool inplace = qcow2_entry_type(s, e) == QCOW2_NORMAL && (e & QCOW2_OFLAG_COPIED);
		for (; done + n < len && idx + k < l2n; k++) {
			uint64_t e2 = l2_get(t, idx + k);
			bool ip2 = qcow2_entry_type(s, e2) == QCOW2_NORMAL && (e2 & QCOW2_OFLAG_COPIED);
			if (ip2 != inplace || check_entry(b, e2, cur + k * cs) < 0)
				break;
			if (inplace && (e2 & QCOW2_L2E_OFFSET_MASK) != (e & QCOW2_L2E_OFFSET_MASK) + k * cs)
				break;
			n += (size_t)MIN((uint64_t)(len - done - n), cs);
		}
		err_clear();
		if (inplace) {
			struct iovs sub;
			int rc;
			if (iovs_slice(&sub, iov, cnt, done, n) < 0)
				return -1;
			rc = blk_data_pwritev(b, sub.v, sub.cnt, (e & QCOW2_L2E_OFFSET_MASK) + in);
			iovs_free(&sub);
			if (rc < 0)
				return -1;
		} else if (write_allocating(b, t, l2off, idx, k, iov, cnt, done, cur, n) < 0) {
			return -1;
		}
		done += n;
	}
	if (b->cache == BLK_CACHE_WRITETHROUGH && fdatasync(b->fd) < 0)
		return err_set_errno(ERR_IO, errno, "'%s': flush failed", b->filename);
	return 0;
}

static int qcow2_flush(struct blk *b)
{
	return qcow2_settle(b);
}

enum zero_mode { ZM_DISCARD, ZM_ZERO_UNMAP, ZM_ZERO_KEEP, ZM_EMPTY };

/* Rewrite the L2 entries of whole clusters [first, first+count). */
static int zero_clusters(struct blk *b, uint64_t first, uint64_t count, enum zero_mode mode)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t l2n = 1ull << s->l2_bits;

	while (count) {
		uint64_t cur = first << s->cluster_bits, idx = first & (l2n - 1), k = MIN(count, l2n - idx);
		uint64_t l2off;
		uint8_t *t;
		bool need_table = (mode == ZM_ZERO_UNMAP || mode == ZM_ZERO_KEEP) && b->backing;

		if (get_l2(b, cur, &t, &l2off) < 0)
			return -1;
		if (!t && need_table && get_l2_for_write(b, cur, &t, &l2off) < 0)
			return -1;
		if (t && !(s->l1[cur >> (s->cluster_bits + s->l2_bits)] & QCOW2_OFLAG_COPIED) &&
		    get_l2_for_write(b, cur, &t, &l2off) < 0)
			return -1;
		if (t) {
			uint64_t *old = malloc(2 * k * 8), *neu = old + k;
			int rc = -1;
			if (!old)
				return err_set(ERR_NOMEM, "out of memory");
			for (uint64_t i = 0; i < k; i++) {
				uint64_t e = old[i] = l2_get(t, idx + i);
				enum qcow2_ctype ty = qcow2_entry_type(s, e);
				if (check_entry(b, e, (first + i) << s->cluster_bits) < 0)
					goto zfail;
				switch (mode) {
				case ZM_EMPTY:
					neu[i] = 0;
					break;
				case ZM_DISCARD:
					neu[i] = (b->backing && s->version >= 3) ? QCOW2_OFLAG_ZERO : 0;
					break;
				case ZM_ZERO_KEEP:
					if ((ty == QCOW2_NORMAL || ty == QCOW2_ZERO_ALLOC) && (e & QCOW2_OFLAG_COPIED) &&
					    s->version >= 3) {
						neu[i] = (e & QCOW2_L2E_OFFSET_MASK) | QCOW2_OFLAG_COPIED | QCOW2_OFLAG_ZERO;
						break;
					}
					/* fall through */
				case ZM_ZERO_UNMAP:
					neu[i] = s->version >= 3 ? QCOW2_OFLAG_ZERO : 0;
					break;
				}
			}
			for (uint64_t i = 0; i < k;) {
				uint64_t j = i;
				while (j < k && neu[j] != old[j])
					j++;
				if (j > i && set_l2_entries(b, t, l2off, idx + i, neu + i, j - i) < 0)
					goto zfail;
				i = j + 1;
			}
			for (uint64_t i = 0; i < k; i++) {
				if ((neu[i] & QCOW2_L2E_OFFSET_MASK) == (old[i] & QCOW2_L2E_OFFSET_MASK) &&
				    qcow2_entry_type(s, old[i]) != QCOW2_COMPRESSED)
					continue;
				if (old[i] == s->cbuf_entry)
					s->cbuf_entry = 0;
				if (qcow2_free_entry(b, old[i], mode != ZM_ZERO_KEEP) < 0)
					goto zfail;
			}
			rc = 0;
zfail:
			free(old);
			if (rc < 0)
				return -1;
		}
		first += k;
		count -= k;
	}
	return 0;
}

/* Clusters wholly inside [off, off+len); the image's last partial cluster counts as whole. */
static void whole_clusters(struct blk *b, uint64_t off, uint64_t len, uint64_t *first, uint64_t *count)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size, end = off + len;
	uint64_t a = ALIGN_UP(off, cs), z = (end == b->size) ? ALIGN_UP(end, cs) : ALIGN_DOWN(end, cs);

	*first = a >> s->cluster_bits;
	*count = z > a ? (z - a) >> s->cluster_bits : 0;
}

static int qcow2_discard(struct blk *b, uint64_t off, uint64_t len)
{
	uint64_t first, count;

	whole_clusters(b, off, len, &first, &count);
	return count ? zero_clusters(b, first, count, ZM_DISCARD) : 0;
}

static int write_zero_bytes(struct blk *b, uint64_t off, uint64_t len)
{
	while (len) {
		struct iovec v = { (void *)blk_zero_page, (size_t)MIN(len, sizeof(blk_zero_page)) };
		if (qcow2_pwritev(b, &v, 1, off, v.iov_len) < 0)
			return -1;
		off += v.iov_len;
		len -= v.iov_len;
	}
	return 0;
}

static int qcow2_write_zeroes(struct blk *b, uint64_t off, uint64_t len, unsigned flags)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t first, count, cs = s->cluster_size;

	if (s->version < 3 && b->backing)
		return write_zero_bytes(b, off, len);   /* v2 cannot say "zero" over a backing file */
	whole_clusters(b, off, len, &first, &count);
	if (!count)
		return write_zero_bytes(b, off, len);
	uint64_t a = first * cs, z = MIN((first + count) * cs, off + len);
	if (a > off && write_zero_bytes(b, off, a - off) < 0)
		return -1;
	if (zero_clusters(b, first, count, (flags & BLK_ZERO_MAY_UNMAP) ? ZM_ZERO_UNMAP : ZM_ZERO_KEEP) < 0)
		return -1;
	if (off + len > z && write_zero_bytes(b, z, off + len - z) < 0)
		return -1;
	return 0;
}

static int qcow2_make_empty(struct blk *b)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t n = (b->size + s->cluster_size - 1) >> s->cluster_bits;

	return n ? zero_clusters(b, 0, n, ZM_EMPTY) : 0;
}

static int compress_cluster(struct qcow2 *s, const uint8_t *in, uint8_t *out, size_t *out_len)
{
	size_t cs = s->cluster_size;

	if (s->compression_type == QCOW2_COMPRESSION_ZLIB) {
		z_stream z = { 0 };
		int rc;
		/* Raw deflate with a 4 KiB window, as QEMU writes it. */
		if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK)
			return err_set(ERR_INTERNAL, "zlib initialisation failed");
		z.next_in = (uint8_t *)in;
		z.avail_in = (uInt)cs;
		z.next_out = out;
		z.avail_out = (uInt)(cs - 1);
		rc = deflate(&z, Z_FINISH);
		*out_len = rc == Z_STREAM_END ? cs - 1 - z.avail_out : 0;
		deflateEnd(&z);
		return 0;
	}
#ifdef HAVE_ZSTD
	size_t r = ZSTD_compress(out, cs - 1, in, cs, 3);
	*out_len = ZSTD_isError(r) ? 0 : r;
	return 0;
#else
	return err_set(ERR_UNSUPPORTED, "zstd is not available");
#endif
}

static int qcow2_pwrite_compressed(struct blk *b, const void *buf, size_t len, uint64_t off)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size, l2n = 1ull << s->l2_bits;
	const uint8_t *p = buf;
	uint8_t *out;
	int rc = -1;

	if ((off & (cs - 1)) || ((len & (cs - 1)) && off + len != b->size))
		return err_set(ERR_INVALID, "'%s': compressed writes must cover whole clusters", b->filename);
	out = malloc(cs);
	if (!out)
		return err_set(ERR_NOMEM, "out of memory");
	for (size_t done = 0; done < len; done += cs) {
		size_t n = (size_t)MIN(cs, len - done), clen = 0;
		const uint8_t *src = p + done;
		uint8_t *pad = NULL;
		uint64_t l2off, host, rcount;
		uint8_t *t;

		if (n < cs) {
			/* The image's last partial cluster: pad with zeros. */
			pad = calloc(1, cs);
			if (!pad)
				goto nomem;
			memcpy(pad, src, n);
			src = pad;
		}
		if (compress_cluster(s, src, out, &clen) < 0) {
			free(pad);
			goto out;
		}
		if (clen == 0) {
			struct iovec v = { (void *)(p + done), n };
			free(pad);
			if (qcow2_pwritev(b, &v, 1, off + done, n) < 0)
				goto out;
			continue;
		}
		free(pad);
		if (get_l2_for_write(b, off + done, &t, &l2off) < 0)
			goto out;
		/* Pack into the current compressed host cluster when it still fits. */
		if (s->comp_next && (s->comp_next & (cs - 1)) + clen <= cs &&
		    qcow2_get_refcount(b, s->comp_next >> s->cluster_bits, &rcount) == 0 && rcount > 0) {
			host = s->comp_next;
			if (qcow2_update_refcount(b, host >> s->cluster_bits, 1, 1) < 0 || qcow2_barrier(b) < 0)
				goto out;
		} else {
			if (qcow2_alloc_clusters(b, 1, &host) < 0)
				goto out;
		}
		if (blk_fd_pwrite(b, out, clen, host) < 0)
			goto out;
		s->file_size = MAX(s->file_size, host + clen);
		s->comp_next = host + clen;
		unsigned x = 62 - (s->cluster_bits - 8);
		uint64_t nsect = ((host + clen - 1) >> 9) - (host >> 9);
		uint64_t idx = ((off + done) >> s->cluster_bits) & (l2n - 1);
		uint64_t old = l2_get(t, idx), neu = QCOW2_OFLAG_COMPRESSED | (nsect << x) | host;
		if (set_l2_entries(b, t, l2off, idx, &neu, 1) < 0)
			goto out;
		if (old == s->cbuf_entry)
			s->cbuf_entry = 0;
		if (qcow2_free_entry(b, old, false) < 0)
			goto out;
	}
	rc = 0;
	goto out;
nomem:
	err_set(ERR_NOMEM, "out of memory");
out:
	free(out);
	return rc;
}

static int qcow2_block_status(struct blk *b, uint64_t off, uint64_t len, struct blk_extent *ext)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size, l2n = 1ull << s->l2_bits, done = 0;
	unsigned flags0 = 0;
	uint64_t host0 = 0;

	while (done < len) {
		uint64_t cur = off + done, in = cur & (cs - 1), l2off, idx, e = 0;
		uint8_t *t;
		unsigned flags;
		uint64_t host = 0, n;

		if (get_l2(b, cur, &t, &l2off) < 0)
			return -1;
		idx = (cur >> s->cluster_bits) & (l2n - 1);
		if (!t) {
			flags = b->backing ? 0 : BLK_EXT_ZERO;
			n = ((l2n - idx) << s->cluster_bits) - in;
		} else {
			e = l2_get(t, idx);
			if (check_entry(b, e, cur) < 0)
				return -1;
			n = cs - in;
			switch (qcow2_entry_type(s, e)) {
			case QCOW2_UNALLOC:
				flags = b->backing ? 0 : BLK_EXT_ZERO;
				break;
			case QCOW2_ZERO_PLAIN:
				flags = BLK_EXT_ALLOCATED | BLK_EXT_ZERO;
				break;
			case QCOW2_ZERO_ALLOC:
				flags = BLK_EXT_ALLOCATED | BLK_EXT_ZERO | BLK_EXT_OFFSET;
				host = (e & QCOW2_L2E_OFFSET_MASK) + in;
				break;
			case QCOW2_NORMAL:
				flags = BLK_EXT_ALLOCATED | BLK_EXT_DATA | BLK_EXT_OFFSET;
				host = (e & QCOW2_L2E_OFFSET_MASK) + in;
				break;
			default:
				flags = BLK_EXT_ALLOCATED | BLK_EXT_DATA | BLK_EXT_COMPRESSED;
				break;
			}
		}
		if (done == 0) {
			flags0 = flags;
			host0 = host;
		} else if (flags != flags0 || ((flags & BLK_EXT_OFFSET) && host != host0 + done)) {
			break;
		}
		done += n;
	}
	ext->flags = flags0;
	ext->host_offset = host0;
	ext->length = MIN(done, len);
	return 0;
}

static int qcow2_get_info(struct blk *b, struct blk_info *info)
{
	struct qcow2 *s = qcow2_state(b);

	info->cluster_size = (uint32_t)s->cluster_size;
	info->compat_version = (int)s->version;
	info->lazy_refcounts = !!(s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS);
	info->dirty = !!(s->incompat & QCOW2_INCOMPAT_DIRTY);
	info->corrupt = !!(s->incompat & QCOW2_INCOMPAT_CORRUPT);
	info->refcount_bits = 1 << s->refcount_order;
	info->compression_type = s->compression_type == QCOW2_COMPRESSION_ZSTD ? "zstd" : "zlib";
	info->nb_snapshots = s->nb_snapshots;
	return 0;
}

/* ---- size, backing, creation ---- */

static int grow_l1(struct blk *b, uint64_t entries)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size, bytes = entries * 8, nc = (bytes + cs - 1) / cs, off;
	uint64_t old_off = s->l1_offset, old_nc = ((uint64_t)s->l1_size * 8 + cs - 1) / cs;
	uint8_t hdr[12];
	uint64_t *t, *mem;

	if (bytes > QCOW2_MAX_L1_BYTES)
		return err_set(ERR_INVALID, "'%s': the L1 table would exceed %u MiB; use a larger cluster size",
			       b->filename, QCOW2_MAX_L1_BYTES >> 20);
	t = calloc(nc, cs);
	mem = calloc(entries, 8);
	if (!t || !mem) {
		free(t);
		free(mem);
		return err_set(ERR_NOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < s->l1_size; i++) {
		t[i] = htobe64(s->l1[i]);
		mem[i] = s->l1[i];
	}
	if (qcow2_alloc_clusters(b, nc, &off) < 0 || blk_fd_pwrite(b, t, nc * cs, off) < 0 ||
	    qcow2_barrier(b) < 0)
		goto fail;
	s->file_size = MAX(s->file_size, off + nc * cs);
	wr32(hdr, (uint32_t)entries);
	wr64(hdr + 4, off);
	if (qcow2_write_header_field(b, 36, hdr, 12) < 0 || qcow2_barrier(b) < 0)
		goto fail;
	free(s->l1);
	s->l1 = mem;
	s->l1_size = (uint32_t)entries;
	s->l1_offset = off;
	free(t);
	if (old_nc && old_off)
		return qcow2_free_clusters(b, old_off, old_nc, false);
	return 0;
fail:
	free(t);
	free(mem);
	return -1;
}

static int qcow2_truncate(struct blk *b, uint64_t size, bool allow_shrink)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t l2_cover = s->cluster_size << s->l2_bits, need = (size + l2_cover - 1) / l2_cover, be;

	(void)allow_shrink;
	if (s->nb_snapshots)
		return err_set(ERR_UNSUPPORTED, "'%s': cannot resize an image with internal snapshots", b->filename);
	if (size > (1ull << 62))
		return err_set(ERR_INVALID, "'%s': size %llu is too large", b->filename, (unsigned long long)size);
	if (size < b->size) {
		/* Release what lies past the new end so that growing again reads zeros. */
		uint64_t first = (size + s->cluster_size - 1) >> s->cluster_bits;
		uint64_t last = (b->size + s->cluster_size - 1) >> s->cluster_bits;
		if (size & (s->cluster_size - 1)) {
			uint64_t end = MIN(ALIGN_UP(size, s->cluster_size), b->size);
			if (write_zero_bytes(b, size, end - size) < 0)
				return -1;
		}
		if (last > first && zero_clusters(b, first, last - first, ZM_EMPTY) < 0)
			return -1;
	}
	if (need > s->l1_size && grow_l1(b, need) < 0)
		return -1;
	be = htobe64(size);
	if (qcow2_write_header_field(b, 24, &be, 8) < 0)
		return -1;
	b->size = size;
	return 0;
}

static int write_full_header(struct blk *b, struct qcow2 *s, uint64_t size, const char *bname,
			     const char *bfmt)
{
	uint8_t *buf = malloc(s->cluster_size);
	size_t n;
	int rc;

	if (!buf)
		return err_set(ERR_NOMEM, "out of memory");
	rc = build_header(b, s, size, bname, bfmt, buf, s->cluster_size, &n);
	if (rc == 0)
		rc = blk_fd_pwrite(b, buf, n, 0);
	free(buf);
	return rc;
}

static int qcow2_set_backing(struct blk *b, const char *file, const char *fmt)
{
	struct qcow2 *s = qcow2_state(b);
	char *nf = NULL, *nfmt = NULL;

	if (file && !(nf = strdup(file)))
		return err_set(ERR_NOMEM, "out of memory");
	if (file && fmt && !(nfmt = strdup(fmt))) {
		free(nf);
		return err_set(ERR_NOMEM, "out of memory");
	}
	if (qcow2_barrier(b) < 0 || write_full_header(b, s, b->size, file, fmt) < 0) {
		free(nf);
		free(nfmt);
		return -1;
	}
	free(b->backing_name);
	free(b->backing_fmt);
	b->backing_name = nf;
	b->backing_fmt = nfmt;
	return 0;
}

static int qcow2_snapshot_list(struct blk *b, struct blk_snapshot **list, unsigned *count)
{
	struct qcow2 *s = qcow2_state(b);
	struct blk_snapshot *l;
	uint64_t off = s->snapshots_offset;

	if (!s->nb_snapshots)
		return 0;
	l = calloc(s->nb_snapshots, sizeof(*l));
	if (!l)
		return err_set(ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		uint8_t h[40], extra[24] = { 0 };
		if (off + 40 > s->file_size || blk_fd_pread(b, h, 40, off) < 0)
			goto bad;
		uint16_t idl = rd16(h + 12), nl = rd16(h + 14);
		uint32_t xl = rd32(h + 36);
		if (xl > 1024 || off + 40 + xl + idl + nl > s->file_size)
			goto bad;
		if (blk_fd_pread(b, extra, MIN(xl, 24u), off + 40) < 0)
			goto bad;
		l[i].date_sec = rd32(h + 16);
		l[i].date_nsec = rd32(h + 20);
		l[i].vm_clock_nsec = rd64(h + 24);
		l[i].vm_state_size = xl >= 8 ? rd64(extra) : rd32(h + 32);
		l[i].icount = xl >= 24 ? rd64(extra + 16) : UINT64_MAX;
		size_t a = MIN((size_t)idl, sizeof(l[i].id) - 1), c = MIN((size_t)nl, sizeof(l[i].name) - 1);
		if (blk_fd_pread(b, l[i].id, a, off + 40 + xl) < 0 ||
		    blk_fd_pread(b, l[i].name, c, off + 40 + xl + idl) < 0)
			goto bad;
		off += ALIGN_UP(40ull + xl + idl + nl, 8);
	}
	*list = l;
	*count = s->nb_snapshots;
	return 0;
bad:
	free(l);
	if (err_code() == ERR_OK || err_code() == ERR_INVALID)
		err_set(ERR_CORRUPT, "'%s': snapshot table is truncated or invalid", b->filename);
	return -1;
}

static int preallocate(struct blk *b, enum blk_prealloc mode)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size, l2n = 1ull << s->l2_bits;
	uint64_t nclusters = (b->size + cs - 1) / cs, c = 0, last_end = 0;

	while (c < nclusters) {
		uint64_t l2off, host, idx = c & (l2n - 1), k = MIN(nclusters - c, l2n - idx);
		uint8_t *t;
		if (get_l2_for_write(b, c * cs, &t, &l2off) < 0 || qcow2_alloc_clusters(b, k, &host) < 0)
			return -1;
		uint64_t *v = malloc(k * 8);
		if (!v)
			return err_set(ERR_NOMEM, "out of memory");
		for (uint64_t i = 0; i < k; i++)
			v[i] = (host + i * cs) | QCOW2_OFLAG_COPIED;
		int rc = set_l2_entries(b, t, l2off, idx, v, k);
		free(v);
		if (rc < 0)
			return -1;
		if (mode == BLK_PREALLOC_FALLOC) {
			int e = posix_fallocate(b->fd, (off_t)host, (off_t)(k * cs));
			if (e)
				return err_set_errno(ERR_IO, e, "'%s': preallocation failed", b->filename);
		} else if (mode == BLK_PREALLOC_FULL) {
			for (uint64_t o = 0; o < k * cs; o += sizeof(blk_zero_page))
				if (blk_fd_pwrite(b, blk_zero_page, (size_t)MIN(sizeof(blk_zero_page), k * cs - o),
						  host + o) < 0)
					return -1;
		}
		last_end = MAX(last_end, host + k * cs);
		c += k;
	}
	if (qcow2_extend_file(b, last_end) < 0)
		return -1;
	s->file_size = MAX(s->file_size, last_end);
	return 0;
}

static int qcow2_create(const char *path, uint64_t size, const struct blk_create_opts *o)
{
	uint32_t cs = o->cluster_size ? o->cluster_size : 65536;
	int version = o->compat_version ? o->compat_version : 3;
	int rbits = o->refcount_bits ? o->refcount_bits : 16;
	struct qcow2 s = { 0 };
	struct blk fake = { .filename = (char *)path, .fd = -1 };
	uint8_t *buf = NULL;
	size_t hl;
	int rc = -1;

	if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1)))
		return err_set(ERR_INVALID, "'%s': cluster size %u must be a power of two between 512 and 2M",
			       path, cs);
	if (version != 2 && version != 3)
		return err_set(ERR_INVALID, "'%s': compat version %d is invalid", path, version);
	if (version == 2 && o->lazy_refcounts)
		return err_set(ERR_INVALID, "'%s': lazy refcounts only supported with compatibility level 1.1 and above",
			       path);
	if (rbits < 1 || rbits > 64 || (rbits & (rbits - 1)))
		return err_set(ERR_INVALID, "'%s': refcount width %d must be a power of two up to 64", path, rbits);
	if (version == 2 && rbits != 16)
		return err_set(ERR_INVALID, "'%s': different refcount widths than 16 bits require compatibility level 1.1 or above",
			       path);
	if (version == 2 && o->zstd)
		return err_set(ERR_INVALID, "'%s': compression types other than zlib require compatibility level 1.1",
			       path);
#ifndef HAVE_ZSTD
	if (o->zstd)
		return err_set(ERR_UNSUPPORTED, "'%s': zstd is not available in this build", path);
#endif
	if (o->backing_file && o->prealloc != BLK_PREALLOC_OFF)
		return err_set(ERR_INVALID, "'%s': backing file and preallocation can only be used at the same time if extended_l2 is on",
			       path);
	s.version = (uint32_t)version;
	s.cluster_bits = (unsigned)__builtin_ctz(cs);
	s.cluster_size = cs;
	s.refcount_order = (unsigned)__builtin_ctz((unsigned)rbits);
	s.rt_offset = cs;
	s.rt_clusters = 1;
	s.header_length = version >= 3 ? 112 : QCOW2_V2_HEADER_LEN;
	s.compat = o->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0;
	if (o->zstd) {
		s.compression_type = QCOW2_COMPRESSION_ZSTD;
		s.incompat |= QCOW2_INCOMPAT_COMPRESSION;
	}
	if (version >= 3) {
		s.exts = feature_table_ext();
		s.nexts = 1;
	}
	fake.fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fake.fd < 0)
		return err_set_errno(ERR_IO, errno, "could not create '%s'", path);
	/* Cluster 0 header, 1 refcount table, 2 refcount block for clusters 0-2;
	 * the L1 table is then allocated by growing the image to its size. */
	buf = calloc(3, cs);
	if (!buf) {
		err_set(ERR_NOMEM, "out of memory");
		goto out;
	}
	if (build_header(&fake, &s, 0, o->backing_file, o->backing_format, buf, cs, &hl) < 0)
		goto out;
	wr64(buf + cs, 2ull * cs);
	{
		unsigned rb_bits = s.cluster_bits + 3 - s.refcount_order;
		for (unsigned i = 0; i < 3 && i < (1u << rb_bits); i++)
			qcow2_refblock_set(buf + 2 * cs, s.refcount_order, i, 1);
	}
	if (blk_fd_pwrite(&fake, buf, 3ull * cs, 0) < 0)
		goto out;
	close(fake.fd);
	fake.fd = -1;
	{
		struct blk_open_opts oo = { .format = "qcow2", .no_backing = true, .cache = BLK_CACHE_UNSAFE };
		struct blk *b = blk_open(path, &oo);
		if (!b)
			goto out;
		if (blk_truncate(b, size, false) < 0 ||
		    (o->prealloc != BLK_PREALLOC_OFF && preallocate(b, o->prealloc) < 0) ||
		    qcow2_release_reserve(b) < 0 || fsync(b->fd) < 0) {
			if (err_code() == ERR_OK)
				err_set_errno(ERR_IO, errno, "'%s': sync failed", path);
			blk_close(b);
			goto out;
		}
		if (blk_close(b) < 0)
			goto out;
	}
	rc = 0;
out:
	if (fake.fd >= 0)
		close(fake.fd);
	free(buf);
	return rc;
}

const struct blk_driver blk_qcow2_driver = {
	.name = "qcow2",
	.concurrent_reads = true,
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.preadv = qcow2_preadv,
	.pwritev = qcow2_pwritev,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.write_zeroes = qcow2_write_zeroes,
	.pwrite_compressed = qcow2_pwrite_compressed,
	.block_status = qcow2_block_status,
	.get_info = qcow2_get_info,
	.create = qcow2_create,
	.check = qcow2_check,
	.truncate = qcow2_truncate,
	.set_backing = qcow2_set_backing,
	.make_empty = qcow2_make_empty,
	.snapshot_list = qcow2_snapshot_list,
};
