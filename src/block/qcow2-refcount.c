/* qcow2 metadata caches, refcounts, cluster allocation and the consistency
 * check. Ordering rule for crash safety: a cluster's refcount reaches the file
 * before any table references it, and a reference is removed before the
 * refcount drops, so a kill leaves at worst leaked clusters. */
#include "block/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

/* Clusters reserved per allocation beyond what is asked: amortises the
 * barrier (fdatasync) that must separate refcount and table updates. */
#define RESERVE_BYTES (1u << 20)

/* ---- caches ---- */

int qcow2_cache_init(struct qcow2_cache *c, size_t table_size, unsigned max_tables)
{
	memset(c, 0, sizeof(*c));
	c->ways = max_tables < 4 ? max_tables : 4;
	if (c->ways == 0)
		c->ways = 1;
	c->nsets = max_tables / c->ways;
	if (c->nsets == 0)
		c->nsets = 1;
	c->table_size = table_size;
	c->keys = calloc((size_t)c->nsets * c->ways, sizeof(*c->keys));
	c->lru = calloc((size_t)c->nsets * c->ways, sizeof(*c->lru));
	c->data = calloc((size_t)c->nsets * c->ways, sizeof(*c->data));
	if (!c->keys || !c->lru || !c->data)
		return err_set(ERR_NOMEM, "qcow2: out of memory for the metadata cache");
	return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	if (c->data)
		for (unsigned i = 0; i < c->nsets * c->ways; i++)
			free(c->data[i]);
	free(c->keys);
	free(c->lru);
	free(c->data);
	memset(c, 0, sizeof(*c));
}

uint8_t *qcow2_cache_get(struct blk *b, struct qcow2_cache *c, uint64_t offset)
{
	struct qcow2 *s = qcow2_state(b);
	unsigned set = (unsigned)((offset >> s->cluster_bits) % c->nsets);
	unsigned base = set * c->ways, victim = base;

	for (unsigned w = 0; w < c->ways; w++) {
		unsigned i = base + w;
		if (c->keys[i] == offset) {
			c->lru[i] = ++c->tick;
			c->hits++;
			return c->data[i];
		}
		if (c->lru[i] < c->lru[victim])
			victim = i;
	}
	c->misses++;
	if (!c->data[victim]) {
		c->data[victim] = malloc(c->table_size);
		if (!c->data[victim]) {
			err_set(ERR_NOMEM, "qcow2: out of memory for the metadata cache");
			return NULL;
		}
	}
	c->keys[victim] = 0;
	if (blk_fd_pread(b, c->data[victim], c->table_size, offset) < 0)
		return NULL;
	c->keys[victim] = offset;
	c->lru[victim] = ++c->tick;
	return c->data[victim];
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t offset)
{
	for (unsigned i = 0; i < c->nsets * c->ways; i++)
		if (c->keys[i] == offset)
			c->keys[i] = 0;
}

/* ---- refcount arithmetic ---- */

uint64_t qcow2_refcount_max(unsigned order)
{
	unsigned bits = 1u << order;

	return bits >= 64 ? UINT64_MAX : (1ull << bits) - 1;
}

uint64_t qcow2_refblock_get(const uint8_t *block, unsigned order, uint64_t index)
{
	unsigned bits = 1u << order;

	if (bits < 8) {
		unsigned per_byte = 8 / bits;
		return (block[index / per_byte] >> ((index % per_byte) * bits)) & ((1u << bits) - 1);
	}
	const uint8_t *p = block + index * (bits / 8);
	uint64_t v = 0;
	for (unsigned i = 0; i < bits / 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void qcow2_refblock_set(uint8_t *block, unsigned order, uint64_t index, uint64_t value)
{
	unsigned bits = 1u << order;

	if (bits < 8) {
		unsigned per_byte = 8 / bits, shift = (unsigned)(index % per_byte) * bits;
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << shift);
		block[index / per_byte] = (uint8_t)((block[index / per_byte] & ~mask) |
						    ((value << shift) & mask));
		return;
	}
	uint8_t *p = block + index * (bits / 8);
	for (int i = (int)(bits / 8) - 1; i >= 0; i--) {
		p[i] = (uint8_t)value;
		value >>= 8;
	}
}

static uint8_t *refblock_for(struct blk *b, uint64_t r, bool *missing)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t off;

	*missing = false;
	if (r >= s->rt_entries || !(s->rt[r] & QCOW2_RT_OFFSET_MASK)) {
		*missing = true;
		return NULL;
	}
	off = s->rt[r] & QCOW2_RT_OFFSET_MASK;
	if (off & (s->cluster_size - 1)) {
		err_set(ERR_CORRUPT, "'%s': refcount block %llu at 0x%llx is not cluster aligned",
			b->filename, (unsigned long long)r, (unsigned long long)off);
		return NULL;
	}
	return qcow2_cache_get(b, &s->rbc, off);
}

int qcow2_get_refcount(struct blk *b, uint64_t cluster, uint64_t *refcount)
{
	struct qcow2 *s = qcow2_state(b);
	bool missing;
	uint8_t *blk = refblock_for(b, cluster >> s->rb_bits, &missing);

	*refcount = 0;
	if (missing)
		return 0;
	if (!blk)
		return -1;
	*refcount = qcow2_refblock_get(blk, s->refcount_order, cluster & ((1ull << s->rb_bits) - 1));
	return 0;
}

int qcow2_barrier(struct blk *b)
{
	struct qcow2 *s = qcow2_state(b);

	if (b->cache != BLK_CACHE_UNSAFE && fdatasync(b->fd) < 0)
		return err_set_errno(ERR_IO, errno, "'%s': flush failed", b->filename);
	s->unref_pending = false;
	return 0;
}

int qcow2_extend_file(struct blk *b, uint64_t end)
{
	struct qcow2 *s = qcow2_state(b);
	struct stat st;

	if (end <= MAX(s->file_len, s->file_size))
		return 0;
	/* Ask the file itself: tables written past file_len have grown it, and a
	 * truncation must never cut them off. */
	if (fstat(b->fd, &st) < 0)
		return err_set_errno(ERR_IO, errno, "cannot stat '%s'", b->filename);
	if ((uint64_t)st.st_size < end && ftruncate(b->fd, (off_t)end) < 0)
		return err_set_errno(ERR_IO, errno, "'%s': cannot extend the file", b->filename);
	s->file_len = MAX(end, (uint64_t)st.st_size);
	return 0;
}

/* Past this many deferred decrements, settle them at once. */
#define PFREE_MAX 4096

static int apply_free(struct blk *b, uint64_t c, uint64_t count, bool punch)
{
	struct qcow2 *s = qcow2_state(b);

	if (qcow2_update_refcount(b, c, count, -1) < 0)
		return -1;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t rc;
		qcow2_cache_drop(&s->l2c, (c + i) << s->cluster_bits);
		if (punch && qcow2_get_refcount(b, c + i, &rc) == 0 && rc == 0)
			(void)fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)((c + i) << s->cluster_bits), (off_t)s->cluster_size);
	}
	return 0;
}

int qcow2_settle(struct blk *b)
{
	struct qcow2 *s = qcow2_state(b);
	int rc = 0;

	if (qcow2_barrier(b) < 0)
		return -1;
	/* Taken off the list first: a failure leaks clusters, never frees twice. */
	size_t n = s->npfree;
	s->npfree = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = apply_free(b, s->pfree[i].cluster, s->pfree[i].count, s->pfree[i].punch);
	return rc;
}

/* A refcount must not fall before the table writes that dropped the
 * references are on disk: with writes pending, the decrement waits for the
 * next flush (a power cut leaks the clusters instead of leaving a reference
 * with a zero refcount). Returns 1 when deferred, 0 when it may go now. */
static int defer_free(struct blk *b, uint64_t c, uint64_t count, bool punch)
{
	struct qcow2 *s = qcow2_state(b);

	if (!s->unref_pending || b->cache == BLK_CACHE_UNSAFE)
		return 0;
	if (s->npfree && s->pfree[s->npfree - 1].cluster + s->pfree[s->npfree - 1].count == c &&
	    s->pfree[s->npfree - 1].punch == punch) {
		s->pfree[s->npfree - 1].count += count;
		return 1;
	}
	if (s->npfree >= PFREE_MAX)
		return qcow2_settle(b) < 0 ? -1 : 0;
	if (s->npfree == s->pfree_cap) {
		size_t cap = s->pfree_cap ? s->pfree_cap * 2 : 64;
		struct qcow2_pending_free *v = realloc(s->pfree, cap * sizeof(*v));
		if (!v)   /* no memory to wait: order by a barrier instead */
			return qcow2_barrier(b) < 0 ? -1 : 0;
		s->pfree = v;
		s->pfree_cap = cap;
	}
	s->pfree[s->npfree++] = (struct qcow2_pending_free){ c, count, punch };
	return 1;
}

int qcow2_update_refcount(struct blk *b, uint64_t start, uint64_t count, int64_t delta)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t max = qcow2_refcount_max(s->refcount_order);
	uint64_t per = 1ull << s->rb_bits;

	while (count) {
		uint64_t r = start >> s->rb_bits, idx = start & (per - 1);
		uint64_t n = MIN(count, per - idx);
		bool missing;
		uint8_t *blk = refblock_for(b, r, &missing);
		unsigned bits = 1u << s->refcount_order;

		if (missing)
			return err_set(ERR_CORRUPT, "'%s': cluster %llu has no refcount block",
				       b->filename, (unsigned long long)start);
		if (!blk)
			return -1;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t v = qcow2_refblock_get(blk, s->refcount_order, idx + i);
			if (delta > 0 && max - v < (uint64_t)delta)
				return err_set(ERR_CORRUPT, "'%s': refcount of cluster %llu would overflow (%llu + %lld > %llu)",
					       b->filename, (unsigned long long)(start + i),
					       (unsigned long long)v, (long long)delta, (unsigned long long)max);
			if (delta < 0 && v < (uint64_t)-delta)
				return err_set(ERR_CORRUPT, "'%s': refcount of cluster %llu would drop below zero",
					       b->filename, (unsigned long long)(start + i));
		}
		for (uint64_t i = 0; i < n; i++) {
			uint64_t v = qcow2_refblock_get(blk, s->refcount_order, idx + i) + (uint64_t)delta;
			qcow2_refblock_set(blk, s->refcount_order, idx + i, v);
			if (v == 0 && start + i < s->free_hint)
				s->free_hint = start + i;
		}
		/* Write through only the bytes that changed. */
		uint64_t b0 = idx * bits / 8, b1 = ((idx + n) * bits + 7) / 8;
		if (blk_fd_pwrite(b, blk + b0, (size_t)(b1 - b0),
				  (s->rt[r] & QCOW2_RT_OFFSET_MASK) + b0) < 0)
			return -1;
		start += n;
		count -= n;
	}
	return 0;
}

/* First run of free clusters at least min and at most max long, at or after
 * the hint, skipping cluster 0 and [avoid, avoid+avoid_n). Everything past
 * end_cluster is free. */
static int find_free(struct blk *b, uint64_t min, uint64_t max, uint64_t avoid, uint64_t avoid_n,
		     uint64_t *start, uint64_t *got)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t i = MAX(s->free_hint, 1), rc;
	bool first = true;

	for (;;) {
		if (avoid_n && i >= avoid && i < avoid + avoid_n) {
			i = avoid + avoid_n;
			continue;
		}
		uint64_t limit = (avoid_n && avoid > i) ? avoid : UINT64_MAX;
		if (i >= s->end_cluster) {
			uint64_t n = MIN(max, limit - i);
			if (n >= min) {
				*start = i;
				*got = n;
				break;
			}
			i = avoid + avoid_n;
			continue;
		}
		if (qcow2_get_refcount(b, i, &rc) < 0)
			return -1;
		if (rc) {
			i++;
			continue;
		}
		if (first && avoid_n == 0)
			s->free_hint = i;
		first = false;
		uint64_t j = i;
		while (j - i < max && j < limit && j < s->end_cluster) {
			if (qcow2_get_refcount(b, j, &rc) < 0)
				return -1;
			if (rc)
				break;
			j++;
		}
		uint64_t run = j - i;
		if (j >= s->end_cluster && j < limit && run < max)
			run = MIN(max, limit - i);   /* the run continues past the end */
		if (run >= min) {
			*start = i;
			*got = MIN(run, max);
			break;
		}
		i = j;
	}
	return 0;
}

static int create_refblock(struct blk *b, uint64_t r, uint64_t avoid, uint64_t avoid_n);

/* Grow the refcount table to at least min_entries. The new table and the
 * refcount blocks describing it go past the end of everything in use, into
 * block ranges of their own, so nothing existing changes until the header
 * switches to the new table. */
static int grow_rt(struct blk *b, uint64_t min_entries)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t per = 1ull << s->rb_bits, cs = s->cluster_size;
	uint64_t r0 = (s->end_cluster + per - 1) / per;
	uint64_t entries = MAX(min_entries, s->rt_entries * 2), nrt, nrb;
	uint64_t L, old_off = s->rt_offset, old_clusters = s->rt_clusters;
	uint8_t *blocks = NULL;
	uint64_t *table = NULL;
	uint8_t hdr[12];
	int rc = -1;

	for (;;) {
		nrt = (entries * 8 + cs - 1) / cs;
		nrb = 1;
		while (nrb * per < nrt + nrb)
			nrb++;
		if (entries >= r0 + nrb)
			break;
		entries = r0 + nrb;
	}
	if (nrt * cs > QCOW2_MAX_RT_BYTES)
		return err_set(ERR_INVALID, "'%s': refcount table would exceed %u MiB", b->filename,
			       QCOW2_MAX_RT_BYTES >> 20);
	L = r0 * per;
	table = calloc(nrt, cs);
	blocks = calloc(nrb, cs);
	if (!table || !blocks) {
		err_set(ERR_NOMEM, "'%s': out of memory growing the refcount table", b->filename);
		goto out;
	}
	for (uint64_t i = 0; i < s->rt_entries; i++)
		table[i] = htobe64(s->rt[i]);
	for (uint64_t i = 0; i < nrb; i++)
		table[r0 + i] = htobe64((L + i) * cs);
	for (uint64_t c = 0; c < nrb + nrt; c++)
		qcow2_refblock_set(blocks + (c / per) * cs, s->refcount_order, c % per, 1);
	if (blk_fd_pwrite(b, blocks, nrb * cs, L * cs) < 0 ||
	    blk_fd_pwrite(b, table, nrt * cs, (L + nrb) * cs) < 0 || qcow2_barrier(b) < 0)
		goto out;
	for (uint64_t i = 0; i < nrb; i++)
		qcow2_cache_drop(&s->rbc, (L + i) * cs);
	uint64_t be_off = htobe64((L + nrb) * cs);
	uint32_t be_n = htobe32((uint32_t)nrt);
	memcpy(hdr, &be_off, 8);
	memcpy(hdr + 8, &be_n, 4);
	if (qcow2_write_header_field(b, 48, hdr, 12) < 0 || qcow2_barrier(b) < 0)
		goto out;
	/* Switch in memory, then free the old table through the new one. */
	uint64_t *mem = calloc(nrt * cs / 8, 8);
	if (!mem) {
		err_set(ERR_NOMEM, "'%s': out of memory", b->filename);
		goto out;
	}
	for (uint64_t i = 0; i < nrt * cs / 8; i++)
		mem[i] = be64toh(table[i]);
	free(s->rt);
	s->rt = mem;
	s->rt_entries = nrt * cs / 8;
	s->rt_offset = (L + nrb) * cs;
	s->rt_clusters = (uint32_t)nrt;
	s->end_cluster = MAX(s->end_cluster, L + nrb + nrt);
	if (s->file_size < s->end_cluster * cs)
		s->file_size = s->end_cluster * cs;
	rc = qcow2_update_refcount(b, old_off / cs, old_clusters, -1);
out:
	free(table);
	free(blocks);
	return rc;
}

static int create_refblock(struct blk *b, uint64_t r, uint64_t avoid, uint64_t avoid_n)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size, per = 1ull << s->rb_bits;

	for (int tries = 0; tries < 64; tries++) {
		uint64_t c, got;
		uint8_t *blk;
		if (r >= s->rt_entries && grow_rt(b, r + 1) < 0)
			return -1;
		if (s->rt[r])
			return 0;
		if (find_free(b, 1, 1, avoid, avoid_n, &c, &got) < 0)
			return -1;
		uint64_t r2 = c / per;
		if (r2 != r && (r2 >= s->rt_entries || !s->rt[r2])) {
			if (create_refblock(b, r2, avoid, avoid_n) < 0)
				return -1;
			continue;
		}
		blk = calloc(1, cs);
		if (!blk)
			return err_set(ERR_NOMEM, "'%s': out of memory", b->filename);
		if (r2 == r)
			qcow2_refblock_set(blk, s->refcount_order, c % per, 1);
		else if (qcow2_update_refcount(b, c, 1, 1) < 0) {
			free(blk);
			return -1;
		}
		int rc = blk_fd_pwrite(b, blk, cs, c * cs);
		free(blk);
		if (rc < 0 || qcow2_barrier(b) < 0)
			return -1;
		qcow2_cache_drop(&s->rbc, c * cs);
		qcow2_cache_drop(&s->l2c, c * cs);
		s->end_cluster = MAX(s->end_cluster, c + 1);
		s->file_size = MAX(s->file_size, (c + 1) * cs);
		uint64_t be = htobe64(c * cs);
		if (blk_fd_pwrite(b, &be, 8, s->rt_offset + r * 8) < 0)
			return -1;
		s->rt[r] = c * cs;
		return 0;
	}
	return err_set(ERR_INTERNAL, "'%s': could not place refcount block %llu", b->filename,
		       (unsigned long long)r);
}

int qcow2_release_reserve(struct blk *b)
{
	struct qcow2 *s = qcow2_state(b);
	int rc = 0;

	if (s->resv_count)
		rc = qcow2_update_refcount(b, s->resv_start, s->resv_count, -1);
	s->resv_count = 0;
	return rc;
}

int qcow2_alloc_clusters(struct blk *b, uint64_t count, uint64_t *offset)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t want = MAX(count, MIN(MAX(RESERVE_BYTES >> s->cluster_bits, 16u), 256u)), start, got;

	if (b->read_only)
		return err_set(ERR_PERMISSION, "'%s' is read-only", b->filename);
	if (s->resv_count >= count) {
		*offset = s->resv_start << s->cluster_bits;
		s->resv_start += count;
		s->resv_count -= count;
		return 0;
	}
	if (qcow2_release_reserve(b) < 0)
		return -1;
	if (want > (1ull << s->rb_bits))
		want = MAX(count, 1ull << s->rb_bits);
	if (find_free(b, count, want, 0, 0, &start, &got) < 0)
		return -1;
	if (start + got > (QCOW2_L2E_OFFSET_MASK >> s->cluster_bits))
		return err_set(ERR_INVALID, "'%s': image file would grow beyond 2^56 bytes", b->filename);
	/* The run may lie past the end: count it as in use so that a growing
	 * refcount table is placed after it, not over it. */
	s->end_cluster = MAX(s->end_cluster, start + got);
	for (uint64_t r = start >> s->rb_bits; r <= (start + got - 1) >> s->rb_bits; r++)
		if ((r >= s->rt_entries || !s->rt[r]) && create_refblock(b, r, start, got) < 0)
			return -1;
	if (qcow2_update_refcount(b, start, got, 1) < 0)
		return -1;
	s->end_cluster = MAX(s->end_cluster, start + got);
	/* Everything below the run is in use when the run began at the hint:
	 * the next search starts after it instead of rescanning. */
	if (s->free_hint == start)
		s->free_hint = start + got;
	/* A run past the end of the file: make the file that long before the
	 * barrier, so that the length is on disk before any table points into the
	 * run (else a power cut could leave references past the end of the file).
	 * The room stays sparse; file_size still marks where written data ends. */
	if (b->cache != BLK_CACHE_UNSAFE && qcow2_extend_file(b, (start + got) << s->cluster_bits) < 0)
		return -1;
	if (qcow2_barrier(b) < 0)
		return -1;
	*offset = start << s->cluster_bits;
	s->resv_start = start + count;
	s->resv_count = got - count;
	return 0;
}

int qcow2_free_clusters(struct blk *b, uint64_t offset, uint64_t count, bool punch)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t c = offset >> s->cluster_bits;
	int d = defer_free(b, c, count, punch);

	return d < 0 ? -1 : d ? 0 : apply_free(b, c, count, punch);
}

int qcow2_free_entry(struct blk *b, uint64_t l2e, bool punch)
{
	struct qcow2 *s = qcow2_state(b);

	switch (qcow2_entry_type(s, l2e)) {
	case QCOW2_NORMAL:
	case QCOW2_ZERO_ALLOC:
		return qcow2_free_clusters(b, l2e & QCOW2_L2E_OFFSET_MASK, 1, punch);
	case QCOW2_COMPRESSED: {
		uint64_t host, len;
		qcow2_compressed_extent(s, l2e, &host, &len);
		uint64_t c0 = host >> s->cluster_bits, c1 = (host + len - 1) >> s->cluster_bits;
		return qcow2_free_clusters(b, c0 << s->cluster_bits, c1 - c0 + 1, false);
	}
	default:
		return 0;
	}
}

/* ---- check ---- */

struct check_ctx {
	struct blk *b;
	uint32_t *exp;
	uint64_t nb;
	struct blk_check_result *res;
	void (*report)(void *ctx, const char *msg);
	void *rctx;
};

static void say(struct check_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct check_ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!c->report)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->report(c->rctx, msg);
}

static void count_range(struct check_ctx *c, uint64_t off, uint64_t len, const char *what)
{
	struct qcow2 *s = qcow2_state(c->b);
	uint64_t c0 = off >> s->cluster_bits, c1 = (off + len - 1) >> s->cluster_bits;

	if (len == 0)
		return;
	for (uint64_t i = c0; i <= c1; i++) {
		if (i >= c->nb) {
			say(c, "ERROR %s at offset 0x%llx is beyond the end of the image file", what,
			    (unsigned long long)(i << s->cluster_bits));
			c->res->corruptions++;
			return;
		}
		if (c->exp[i] != UINT32_MAX)
			c->exp[i]++;
	}
}

static int check_l1(struct check_ctx *c, uint64_t l1_off, uint64_t l1_size, bool active)
{
	struct blk *b = c->b;
	struct qcow2 *s = qcow2_state(b);
	uint64_t cs = s->cluster_size, next = 0;
	uint64_t *l1 = NULL;

	if (l1_size == 0)
		return 0;
	if (!active) {
		l1 = malloc(l1_size * 8);
		if (!l1)
			return err_set(ERR_NOMEM, "out of memory");
		if (blk_fd_pread(b, l1, l1_size * 8, l1_off) < 0) {
			free(l1);
			return -1;
		}
		for (uint64_t i = 0; i < l1_size; i++)
			l1[i] = be64toh(l1[i]);
	}
	count_range(c, l1_off, l1_size * 8, "L1 table");
	for (uint64_t i = 0; i < l1_size; i++) {
		uint64_t e = active ? s->l1[i] : l1[i], l2off = e & QCOW2_L1E_OFFSET_MASK;
		if (!l2off)
			continue;
		if ((l2off & (cs - 1)) || (e & QCOW2_L1E_RESERVED)) {
			say(c, "ERROR L1 entry %llu (0x%llx) is invalid: L2 table offset not aligned or reserved bits set",
			    (unsigned long long)i, (unsigned long long)e);
			c->res->corruptions++;
			continue;
		}
		count_range(c, l2off, cs, "L2 table");
		if ((l2off >> s->cluster_bits) >= c->nb)
			continue;
		uint8_t *t = qcow2_cache_get(b, &s->l2c, l2off);
		if (!t) {
			c->res->check_errors++;
			continue;
		}
		for (uint64_t j = 0; j < (1ull << s->l2_bits); j++) {
			uint64_t l2e = be64toh(((uint64_t *)t)[j]), host, len;
			switch (qcow2_entry_type(s, l2e)) {
			case QCOW2_COMPRESSED:
				qcow2_compressed_extent(s, l2e, &host, &len);
				count_range(c, host, len, "compressed cluster");
				if (active) {
					c->res->allocated_clusters++;
					c->res->compressed_clusters++;
					c->res->fragmented_clusters++;
				}
				if (l2e & QCOW2_OFLAG_COPIED) {
					say(c, "ERROR compressed cluster %llu has the COPIED flag set",
					    (unsigned long long)((i << s->l2_bits) + j));
					c->res->corruptions++;
				}
				break;
			case QCOW2_NORMAL:
			case QCOW2_ZERO_ALLOC:
				host = l2e & QCOW2_L2E_OFFSET_MASK;
				if ((host & (cs - 1)) || (l2e & QCOW2_L2E_RESERVED)) {
					say(c, "ERROR L2 entry 0x%llx (L1 index %llu, L2 index %llu) is not cluster aligned or has reserved bits set",
					    (unsigned long long)l2e, (unsigned long long)i, (unsigned long long)j);
					c->res->corruptions++;
					break;
				}
				count_range(c, host, cs, "data cluster");
				if (active) {
					c->res->allocated_clusters++;
					if (next && host != next)
						c->res->fragmented_clusters++;
					next = host + cs;
				}
				break;
			default:
				if ((l2e & QCOW2_OFLAG_ZERO) && s->version < 3) {
					say(c, "ERROR zero cluster flag in a version 2 image (L2 entry 0x%llx)",
					    (unsigned long long)l2e);
					c->res->corruptions++;
				}
				break;
			}
		}
	}
	free(l1);
	return 0;
}

static int check_copied(struct check_ctx *c, unsigned fix)
{
	struct blk *b = c->b;
	struct qcow2 *s = qcow2_state(b);

	for (uint64_t i = 0; i < s->l1_size; i++) {
		uint64_t e = s->l1[i], l2off = e & QCOW2_L1E_OFFSET_MASK, rc;
		if (!l2off || (l2off & (s->cluster_size - 1)) || (l2off >> s->cluster_bits) >= c->nb)
			continue;
		if (qcow2_get_refcount(b, l2off >> s->cluster_bits, &rc) < 0)
			return -1;
		if ((rc == 1) != !!(e & QCOW2_OFLAG_COPIED)) {
			say(c, "ERROR OFLAG_COPIED L2 cluster: l1_index=%llu l1_entry=%llx refcount=%llu",
			    (unsigned long long)i, (unsigned long long)e, (unsigned long long)rc);
			c->res->corruptions++;
			if (fix & BLK_CHECK_FIX_ERRORS) {
				uint64_t ne = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
				uint64_t be = htobe64(ne);
				if (blk_fd_pwrite(b, &be, 8, s->l1_offset + i * 8) < 0)
					return -1;
				s->l1[i] = ne;
				c->res->corruptions_fixed++;
			}
		}
		uint8_t *t = qcow2_cache_get(b, &s->l2c, l2off);
		if (!t)
			return -1;
		for (uint64_t j = 0; j < (1ull << s->l2_bits); j++) {
			uint64_t l2e = be64toh(((uint64_t *)t)[j]);
			enum qcow2_ctype ty = qcow2_entry_type(s, l2e);
			uint64_t host = l2e & QCOW2_L2E_OFFSET_MASK;
			if (ty != QCOW2_NORMAL && ty != QCOW2_ZERO_ALLOC)
				continue;
			if ((host & (s->cluster_size - 1)) || (host >> s->cluster_bits) >= c->nb)
				continue;
			if (qcow2_get_refcount(b, host >> s->cluster_bits, &rc) < 0)
				return -1;
			if ((rc == 1) != !!(l2e & QCOW2_OFLAG_COPIED)) {
				say(c, "ERROR OFLAG_COPIED data cluster: l2_entry=%llx refcount=%llu",
				    (unsigned long long)l2e, (unsigned long long)rc);
				c->res->corruptions++;
				if (fix & BLK_CHECK_FIX_ERRORS) {
					uint64_t ne = rc == 1 ? l2e | QCOW2_OFLAG_COPIED : l2e & ~QCOW2_OFLAG_COPIED;
					((uint64_t *)t)[j] = htobe64(ne);
					if (blk_fd_pwrite(b, &((uint64_t *)t)[j], 8, l2off + j * 8) < 0)
						return -1;
					c->res->corruptions_fixed++;
				}
			}
		}
	}
	return 0;
}

static int set_refcount_fixed(struct blk *b, uint64_t cluster, uint64_t from, uint64_t to)
{
	struct qcow2 *s = qcow2_state(b);
	uint64_t r = cluster >> s->rb_bits;

	if ((r >= s->rt_entries || !s->rt[r]) && create_refblock(b, r, cluster, 1) < 0)
		return -1;
	return qcow2_update_refcount(b, cluster, 1, (int64_t)(to - from));
}

static int check_snapshots(struct check_ctx *c)
{
	struct blk *b = c->b;
	struct qcow2 *s = qcow2_state(b);
	uint64_t off = s->snapshots_offset;

	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		uint8_t h[40];
		if (blk_fd_pread(b, h, sizeof(h), off) < 0)
			return -1;
		uint64_t l1off = be64toh(*(uint64_t *)h);
		uint32_t l1sz = be32toh(*(uint32_t *)(h + 8));
		uint16_t idlen = be16toh(*(uint16_t *)(h + 12)), namelen = be16toh(*(uint16_t *)(h + 14));
		uint32_t extra = be32toh(*(uint32_t *)(h + 36));
		if ((uint64_t)l1sz * 8 > QCOW2_MAX_L1_BYTES || (l1off & (s->cluster_size - 1))) {
			say(c, "ERROR snapshot %u has an invalid L1 table (offset 0x%llx, %u entries)", i,
			    (unsigned long long)l1off, l1sz);
			c->res->corruptions++;
		} else if (check_l1(c, l1off, l1sz, false) < 0) {
			c->res->check_errors++;
		}
		off += ALIGN_UP(40ull + extra + idlen + namelen, 8);
	}
	if (s->nb_snapshots)
		count_range(c, s->snapshots_offset, off - s->snapshots_offset, "snapshot table");
	return 0;
}

int qcow2_check(struct blk *b, unsigned fix, struct blk_check_result *res,
		void (*report)(void *ctx, const char *msg), void *ctx)
{
	struct qcow2 *s = qcow2_state(b);
	struct check_ctx c = { .b = b, .res = res, .report = report, .rctx = ctx };
	uint64_t cs = s->cluster_size, last_used = 0;

	memset(res, 0, sizeof(*res));
	if (!b->read_only && (qcow2_settle(b) < 0 || qcow2_release_reserve(b) < 0))
		return -1;
	c.nb = (s->file_size + cs - 1) / cs;
	c.exp = calloc(c.nb ? c.nb : 1, sizeof(*c.exp));
	if (!c.exp)
		return err_set(ERR_NOMEM, "'%s': out of memory for the check", b->filename);
	res->has_stats = true;
	res->total_clusters = (b->size + cs - 1) / cs;
	count_range(&c, 0, cs, "header");
	count_range(&c, s->rt_offset, (uint64_t)s->rt_clusters * cs, "refcount table");
	for (uint64_t r = 0; r < s->rt_entries; r++) {
		uint64_t off = s->rt[r] & QCOW2_RT_OFFSET_MASK;
		if (!off)
			continue;
		if (off & (cs - 1)) {
			say(&c, "ERROR refcount block %llu is not cluster aligned; refcount table entry corrupted",
			    (unsigned long long)r);
			res->corruptions++;
			continue;
		}
		if ((off >> s->cluster_bits) >= c.nb) {
			say(&c, "ERROR refcount block %llu is outside image", (unsigned long long)r);
			res->corruptions++;
			continue;
		}
		count_range(&c, off, cs, "refcount block");
	}
	if (check_l1(&c, s->l1_offset, s->l1_size, true) < 0)
		res->check_errors++;
	if (check_snapshots(&c) < 0)
		res->check_errors++;
	/* Refcounts past the end of the file (clusters reserved by a writer that
	 * was killed) are leaks too. */
	uint64_t ncmp = MAX(c.nb, s->end_cluster);
	for (uint64_t i = 0; i < ncmp; i++) {
		uint64_t rc;
		uint32_t want = i < c.nb ? c.exp[i] : 0;
		if (qcow2_get_refcount(b, i, &rc) < 0) {
			res->check_errors++;
			continue;
		}
		if (want)
			last_used = i + 1;
		if (rc == want)
			continue;
		if (rc > want) {
			say(&c, "%s cluster %llu refcount=%llu reference=%u",
			    (fix & BLK_CHECK_FIX_LEAKS) ? "Repairing" : "Leaked",
			    (unsigned long long)i, (unsigned long long)rc, want);
			res->leaks++;
			if ((fix & BLK_CHECK_FIX_LEAKS) && set_refcount_fixed(b, i, rc, want) == 0)
				res->leaks_fixed++;
		} else {
			say(&c, "%s cluster %llu refcount=%llu reference=%u",
			    (fix & BLK_CHECK_FIX_ERRORS) ? "Repairing" : "ERROR",
			    (unsigned long long)i, (unsigned long long)rc, want);
			res->corruptions++;
			if ((fix & BLK_CHECK_FIX_ERRORS) && set_refcount_fixed(b, i, rc, want) == 0)
				res->corruptions_fixed++;
		}
	}
	/* qcow2 requires refcounts for references past the end of the file too. */
	if (check_copied(&c, fix) < 0)
		res->check_errors++;
	res->image_end_offset = last_used * cs;
	if (fix == (BLK_CHECK_FIX_LEAKS | BLK_CHECK_FIX_ERRORS) && !b->read_only &&
	    (s->incompat & (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)) && !res->check_errors &&
	    res->corruptions == res->corruptions_fixed && res->leaks == res->leaks_fixed) {
		/* Refcounts are whole again: the image is neither dirty nor corrupt. */
		uint64_t be;
		s->incompat &= ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT);
		be = htobe64(s->incompat);
		if (qcow2_barrier(b) < 0 || qcow2_write_header_field(b, 72, &be, 8) < 0)
			res->check_errors++;
	}
	free(c.exp);
	s->free_hint = 0;
	return 0;
}
