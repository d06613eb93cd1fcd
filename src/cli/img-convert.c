/* vireo-img commands that move data between images: convert, compare, commit,
 * rebase, and bench (qemu-img bench's request loop, for the benchmarks).
 * They walk allocation maps so that holes and zero ranges are never read. */
#include "cli/img.h"

#include <getopt.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

#define CHUNK (2u << 20)

static bool buf_is_zero(const uint8_t *p, size_t len)
{
	if (len < 16)
		return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
	for (size_t i = 0; i < 16; i++)
		if (p[i])
			return false;
	return memcmp(p, p + 16, len - 16) == 0;
}

static bool ext_reads_zero(const struct blk_extent *e)
{
	return (e->flags & BLK_EXT_ZERO) && !(e->flags & BLK_EXT_DATA);
}

static void *alloc_buf(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	return p;
}

/* Write [off, off+len) of buf, skipping (or zeroing, on an existing target)
 * sparse_size pieces that are all zeros. */
static int write_sparse(struct blk *out, const uint8_t *buf, uint64_t off, size_t len, size_t sparse,
			bool existing)
{
	size_t i = 0;

	if (!sparse)
		return blk_pwrite(out, buf, len, off);
	while (i < len) {
		size_t first = sparse - (size_t)((off + i) % sparse), n = MIN(first, len - i);
		bool zero = buf_is_zero(buf + i, n);
		size_t j = i + n;
		while (j < len) {
			size_t m = MIN((size_t)sparse, len - j);
			if (buf_is_zero(buf + j, m) != zero)
				break;
			j += m;
		}
		if (!zero) {
			if (blk_pwrite(out, buf + i, j - i, off + i) < 0)
				return -1;
		} else if (existing && blk_write_zeroes(out, off + i, j - i, BLK_ZERO_MAY_UNMAP) < 0) {
			return -1;
		}
		i = j;
	}
	return 0;
}

/* convert's copy loop runs as two threads: one reads the source (walking its
 * allocation map) into a ring of buffers, the other writes them out, so reading
 * and writing overlap on two cores. */
#define RING 4

struct ring_slot {
	uint64_t off;
	size_t len;
	bool zero;
	uint8_t *buf;
};

struct ring {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct ring_slot s[RING];
	unsigned head, count;
	bool done, failed, stop;
	char msg[1024];
	struct blk *src;
	uint64_t size;
};

static struct ring_slot *ring_reserve(struct ring *r)
{
	struct ring_slot *slot = NULL;

	pthread_mutex_lock(&r->m);
	while (r->count == RING && !r->stop)
		pthread_cond_wait(&r->c, &r->m);
	if (!r->stop)
		slot = &r->s[(r->head + r->count) % RING];
	pthread_mutex_unlock(&r->m);
	return slot;
}

static void ring_push(struct ring *r)
{
	pthread_mutex_lock(&r->m);
	r->count++;
	pthread_cond_broadcast(&r->c);
	pthread_mutex_unlock(&r->m);
}

static void *convert_reader(void *arg)
{
	struct ring *r = arg;
	const char *fail = NULL;

	for (uint64_t off = 0; off < r->size && !fail;) {
		struct blk_extent e;
		if (blk_map(r->src, off, r->size - off, &e) < 0) {
			fail = err_message();
			break;
		}
		for (uint64_t p = off; p < off + e.length;) {
			struct ring_slot *slot = ring_reserve(r);
			if (!slot)
				goto out;
			slot->off = p;
			slot->zero = ext_reads_zero(&e);
			slot->len = slot->zero ? (size_t)(off + e.length - p)
					       : (size_t)MIN((uint64_t)CHUNK - p % CHUNK, off + e.length - p);
			if (!slot->zero && blk_pread(r->src, slot->buf, slot->len, p) < 0) {
				fail = err_message();
				break;
			}
			p += slot->len;
			ring_push(r);
		}
		off += e.length;
	}
out:
	pthread_mutex_lock(&r->m);
	if (fail) {
		r->failed = true;
		snprintf(r->msg, sizeof(r->msg), "%s", fail);
	}
	r->done = true;
	pthread_cond_broadcast(&r->c);
	pthread_mutex_unlock(&r->m);
	return NULL;
}

/* Write everything the reader produces; returns 0 or -1 (message in *msg). */
static int convert_pipeline(struct blk *src, struct blk *out, uint64_t size, size_t sparse, bool existing,
			    bool progress, const char **where)
{
	struct ring r = { .src = src, .size = size };
	pthread_t tid;
	int rc = 0;

	pthread_mutex_init(&r.m, NULL);
	pthread_cond_init(&r.c, NULL);
	for (int i = 0; i < RING; i++) {
		r.s[i].buf = alloc_buf(CHUNK);
		if (!r.s[i].buf) {
			for (int j = 0; j < i; j++)
				free(r.s[j].buf);
			*where = "out of memory";
			return -1;
		}
	}
	if (pthread_create(&tid, NULL, convert_reader, &r) != 0) {
		*where = "cannot start the reader thread";
		rc = -1;
		goto free_bufs;
	}
	for (;;) {
		pthread_mutex_lock(&r.m);
		while (r.count == 0 && !r.done)
			pthread_cond_wait(&r.c, &r.m);
		if (r.count == 0) {
			pthread_mutex_unlock(&r.m);
			break;
		}
		struct ring_slot *slot = &r.s[r.head];
		pthread_mutex_unlock(&r.m);
		int wr = 0;
		if (slot->zero)
			wr = existing ? blk_write_zeroes(out, slot->off, slot->len, BLK_ZERO_MAY_UNMAP) : 0;
		else
			wr = write_sparse(out, slot->buf, slot->off, slot->len, sparse, existing);
		if (wr < 0) {
			*where = "output";
			rc = -1;
			pthread_mutex_lock(&r.m);
			r.stop = true;
			pthread_cond_broadcast(&r.c);
			pthread_mutex_unlock(&r.m);
			break;
		}
		if (progress)
			img_progress((slot->off + slot->len) * 100.0 / size);
		pthread_mutex_lock(&r.m);
		r.head = (r.head + 1) % RING;
		r.count--;
		pthread_cond_broadcast(&r.c);
		pthread_mutex_unlock(&r.m);
	}
	pthread_join(tid, NULL);
	if (rc == 0 && r.failed) {
		/* The reader's error message lives in its own thread: carry it over. */
		err_set(ERR_IO, "%s", r.msg);
		*where = "input";
		rc = -1;
	}
free_bufs:
	for (int i = 0; i < RING; i++)
		free(r.s[i].buf);
	pthread_cond_destroy(&r.c);
	pthread_mutex_destroy(&r.m);
	return rc;
}

int img_convert(int argc, char **argv)
{
	const char *fmt = NULL, *ofmt = "raw", *cache = "unsafe", *src_cache = NULL;
	char *obacking = NULL, *obacking_fmt = NULL;
	struct blk_create_opts co = { 0 };
	bool compress = false, progress = false, no_create = false, quiet = false;
	uint64_t sparse = 4096;
	int c, rc = 1;
	struct blk *src = NULL, *out = NULL;
	uint8_t *buf = NULL;

	while ((c = getopt(argc, argv, "hf:O:co:pnt:T:S:qm:WUB:F:C")) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'O': ofmt = optarg; break;
		case 'c': compress = true; break;
		case 'p': progress = true; break;
		case 'n': no_create = true; break;
		case 't': cache = optarg; break;
		case 'T': src_cache = optarg; break;
		case 'q': quiet = true; break;
		case 'm': case 'W': case 'U': case 'C': break;
		case 'S':
			if (parse_size(optarg, 1, &sparse) < 0 || (sparse && sparse % 512))
				return img_fail("Invalid buffer size for sparse output specified (%s): must be a multiple of 512", optarg);
			break;
		case 'o':
			if (img_parse_create_opts(optarg, &co, &obacking, &obacking_fmt) < 0)
				return img_fail_err(NULL);
			break;
		case 'B': case 'F':
			return img_fail("convert -%c: converting onto a backing file is not supported", c);
		default:
			return img_fail("usage: convert [-c] [-p] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt] [-o options] [-S sparse_size] filename output_filename");
		}
	}
	if (argc - optind != 2)
		return img_fail(argc - optind < 2 ? "Must specify image file name" : "Converting several images into one is not supported");
	if (obacking) {
		free(obacking);
		free(obacking_fmt);
		return img_fail("convert: backing_file in -o is not supported");
	}
	free(obacking_fmt);
	if (quiet)
		progress = false;
	const char *in = argv[optind], *outp = argv[optind + 1];
	src = img_open(in, fmt, true, src_cache, false);
	if (!src)
		return img_fail("Could not open '%s': %s", in, err_message());
	uint64_t size = blk_size(src);
	if (compress && strcmp(ofmt, "qcow2")) {
		img_fail("Compression not supported for this file format");
		goto out;
	}
	if (!no_create && blk_create(outp, ofmt, size, &co) < 0) {
		img_fail("%s: %s", outp, err_message());
		goto out;
	}
	out = img_open(outp, ofmt, false, cache, true);
	if (!out) {
		img_fail("Could not open '%s': %s", outp, err_message());
		goto out;
	}
	if (blk_size(out) < size) {
		img_fail("'%s' is smaller (%llu bytes) than the source (%llu bytes)", outp,
			 (unsigned long long)blk_size(out), (unsigned long long)size);
		goto out;
	}
	buf = alloc_buf(CHUNK);
	if (!buf) {
		img_fail("out of memory");
		goto out;
	}
	struct blk_info oi;
	blk_get_info(out, &oi);
	uint64_t cs = oi.cluster_size ? oi.cluster_size : 65536;
	if (progress)
		img_progress(0);
	if (!compress) {
		const char *where = NULL;
		if (convert_pipeline(src, out, size, (size_t)sparse, no_create, progress, &where) < 0) {
			if (!strcmp(where, "input"))
				img_fail_err(in);
			else if (!strcmp(where, "output"))
				img_fail_err(outp);
			else
				img_fail("%s", where);
			goto out;
		}
	}
	for (uint64_t off = 0; compress && off < size;) {
		struct blk_extent e;
		if (blk_map(src, off, size - off, &e) < 0) {
			img_fail_err(in);
			goto out;
		}
		uint64_t n = e.length;
		if (ext_reads_zero(&e) && !compress) {
			if (no_create && blk_write_zeroes(out, off, n, BLK_ZERO_MAY_UNMAP) < 0) {
				img_fail_err(outp);
				goto out;
			}
			off += n;
			continue;
		}
		if (compress) {
			/* Whole output clusters: widen the range to cluster bounds. */
			uint64_t a = ALIGN_DOWN(off, cs), z = MIN(ALIGN_UP(off + n, cs), ALIGN_UP(size, cs));
			if (ext_reads_zero(&e)) {
				off = MAX(off + n, a);
				continue;
			}
			for (uint64_t p = a; p < z && p < size;) {
				size_t len = (size_t)MIN(MIN((uint64_t)CHUNK - CHUNK % cs, z - p), size - p);
				if (blk_pread(src, buf, len, p) < 0) {
					img_fail_err(in);
					goto out;
				}
				for (size_t q = 0; q < len; q += cs) {
					size_t l = (size_t)MIN(cs, len - q);
					if (buf_is_zero(buf + q, l))
						continue;
					if (blk_pwrite_compressed(out, buf + q, l, p + q) < 0) {
						img_fail_err(outp);
						goto out;
					}
				}
				p += len;
			}
			off = z;
		} else {
			while (n) {
				size_t len = (size_t)MIN(n, CHUNK - off % CHUNK);
				if (blk_pread(src, buf, len, off) < 0) {
					img_fail_err(in);
					goto out;
				}
				if (write_sparse(out, buf, off, len, sparse, no_create) < 0) {
					img_fail_err(outp);
					goto out;
				}
				off += len;
				n -= len;
			}
		}
		if (progress)
			img_progress(off * 100.0 / size);
	}
	if (progress)
		printf("    (100.00/100%%)\n");
	if (blk_close(out) < 0) {
		out = NULL;
		img_fail_err(outp);
		goto out;
	}
	out = NULL;
	rc = 0;
out:
	free(buf);
	blk_close(out);
	blk_close(src);
	return rc;
}

/* First differing byte of two buffers, rounded down to a sector as qemu-img reports it. */
static uint64_t first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i += 512) {
		size_t n = MIN((size_t)512, len - i);
		if (memcmp(a + i, b + i, n))
			return i;
	}
	return len;
}

static int check_tail_zero(struct blk *b, uint64_t from, uint8_t *buf, uint64_t *where)
{
	uint64_t size = blk_size(b);

	for (uint64_t off = from; off < size;) {
		struct blk_extent e;
		if (blk_map(b, off, size - off, &e) < 0)
			return -1;
		if (!ext_reads_zero(&e)) {
			for (uint64_t p = off; p < off + e.length;) {
				size_t len = (size_t)MIN((uint64_t)CHUNK, off + e.length - p);
				if (blk_pread(b, buf, len, p) < 0)
					return -1;
				for (size_t i = 0; i < len; i += 512) {
					if (!buf_is_zero(buf + i, MIN((size_t)512, len - i))) {
						*where = p + i;
						return 1;
					}
				}
				p += len;
			}
		}
		off += e.length;
	}
	return 0;
}

int img_compare(int argc, char **argv)
{
	const char *fa = NULL, *fb = NULL;
	bool strict = false, quiet = false, progress = false;
	int c, rc = 2;
	uint8_t *ba = NULL, *bb = NULL;

	while ((c = getopt(argc, argv, "hf:F:T:pqsU")) != -1) {
		switch (c) {
		case 'f': fa = optarg; break;
		case 'F': fb = optarg; break;
		case 'p': progress = true; break;
		case 'q': quiet = true; break;
		case 's': strict = true; break;
		case 'T': case 'U': break;
		default:
			img_fail("usage: compare [-f fmt] [-F fmt] [-p] [-q] [-s] filename1 filename2");
			return 2;
		}
	}
	if (argc - optind != 2) {
		img_fail("Expecting two image file names");
		return 2;
	}
	if (!fb)
		fb = fa;
	const char *na = argv[optind], *nb = argv[optind + 1];
	struct blk *a = img_open(na, fa, true, NULL, false), *b = NULL;
	if (!a) {
		img_fail("Could not open '%s': %s", na, err_message());
		return 2;
	}
	b = img_open(nb, fb, true, NULL, false);
	if (!b) {
		img_fail("Could not open '%s': %s", nb, err_message());
		goto out;
	}
	ba = alloc_buf(CHUNK);
	bb = alloc_buf(CHUNK);
	if (!ba || !bb) {
		img_fail("out of memory");
		goto out;
	}
	uint64_t sa = blk_size(a), sb = blk_size(b), common = MIN(sa, sb);
	if (strict && sa != sb) {
		if (!quiet)
			printf("Strict mode: Image size mismatch!\n");
		rc = 1;
		goto out;
	}
	for (uint64_t off = 0; off < common;) {
		struct blk_extent ea, eb;
		if (blk_map(a, off, common - off, &ea) < 0 || blk_map(b, off, ea.length, &eb) < 0) {
			img_fail_err(NULL);
			goto out;
		}
		uint64_t n = MIN(ea.length, eb.length);
		if (!(ext_reads_zero(&ea) && ext_reads_zero(&eb))) {
			for (uint64_t p = off; p < off + n;) {
				size_t len = (size_t)MIN((uint64_t)CHUNK, off + n - p);
				if (blk_pread(a, ba, len, p) < 0 || blk_pread(b, bb, len, p) < 0) {
					img_fail_err(NULL);
					goto out;
				}
				if (memcmp(ba, bb, len)) {
					if (!quiet)
						printf("Content mismatch at offset %llu!\n",
						       (unsigned long long)(p + first_diff(ba, bb, len)));
					rc = 1;
					goto out;
				}
				p += len;
			}
		}
		off += n;
		if (progress)
			img_progress(off * 100.0 / common);
	}
	if (sa != sb) {
		uint64_t where;
		int z = check_tail_zero(sa > sb ? a : b, common, ba, &where);
		if (!quiet)
			printf("Warning: Image size mismatch!\n");
		if (z < 0) {
			img_fail_err(NULL);
			goto out;
		}
		if (z > 0) {
			if (!quiet)
				printf("Content mismatch at offset %llu!\n", (unsigned long long)where);
			rc = 1;
			goto out;
		}
	}
	if (!quiet)
		printf("Images are identical.\n");
	rc = 0;
out:
	free(ba);
	free(bb);
	blk_close(b);
	blk_close(a);
	return rc;
}

int img_commit(int argc, char **argv)
{
	const char *fmt = NULL, *cache = NULL, *base_name = NULL;
	bool keep = false, progress = false, quiet = false;
	int c, rc = 1;
	uint8_t *buf = NULL;

	while ((c = getopt(argc, argv, "hf:t:b:dpqr:")) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 't': cache = optarg; break;
		case 'b': base_name = optarg; break;
		case 'd': keep = true; break;
		case 'p': progress = true; break;
		case 'q': quiet = true; break;
		case 'r': break;
		default: return img_fail("usage: commit [-f fmt] [-t cache] [-b base] [-d] [-p] filename");
		}
	}
	if (optind >= argc)
		return img_fail("Expecting one image file name");
	const char *path = argv[optind];
	struct blk_open_opts o = { .format = fmt, .backing_read_write = true };
	if (cache && blk_cache_parse(cache, &o.cache) < 0)
		return img_fail_err(NULL);
	struct blk *top = blk_open(path, &o);
	if (!top)
		return img_fail_err(NULL);
	struct blk *base = blk_backing(top);
	if (!base) {
		img_fail("Image '%s' does not have a backing file", path);
		goto out;
	}
	if (base_name && strcmp(base_name, blk_filename(base)) != 0) {
		struct blk_info bi;
		blk_get_info(top, &bi);
		if (!bi.backing_file || strcmp(base_name, bi.backing_file)) {
			img_fail("committing to '%s' (not the direct backing file) is not supported", base_name);
			goto out;
		}
	}
	uint64_t size = blk_size(top);
	if (blk_size(base) < size && blk_truncate(base, size, false) < 0) {
		img_fail_err("growing the backing file");
		goto out;
	}
	buf = alloc_buf(CHUNK);
	if (!buf) {
		img_fail("out of memory");
		goto out;
	}
	for (uint64_t off = 0; off < size;) {
		struct blk_extent e;
		if (blk_block_status(top, off, size - off, &e) < 0) {
			img_fail_err(NULL);
			goto out;
		}
		if (e.flags & BLK_EXT_ALLOCATED) {
			if (ext_reads_zero(&e)) {
				if (blk_write_zeroes(base, off, e.length, 0) < 0) {
					img_fail_err(NULL);
					goto out;
				}
			} else {
				for (uint64_t p = off; p < off + e.length;) {
					size_t len = (size_t)MIN((uint64_t)CHUNK, off + e.length - p);
					if (blk_pread(top, buf, len, p) < 0 || blk_pwrite(base, buf, len, p) < 0) {
						img_fail_err(NULL);
						goto out;
					}
					p += len;
				}
			}
		}
		off += e.length;
		if (progress)
			img_progress(off * 100.0 / size);
	}
	if (blk_flush(base) < 0) {
		img_fail_err(NULL);
		goto out;
	}
	if (!keep && blk_make_empty(top) < 0) {
		img_fail_err(NULL);
		goto out;
	}
	if (blk_close(top) < 0) {
		top = NULL;
		img_fail_err(path);
		goto out;
	}
	top = NULL;
	if (!quiet)
		printf("Image committed.\n");
	rc = 0;
out:
	free(buf);
	blk_close(top);
	return rc;
}

int img_rebase(int argc, char **argv)
{
	const char *fmt = NULL, *cache = NULL, *nb = NULL, *nbfmt = NULL;
	bool unsafe = false, progress = false, quiet = false;
	int c, rc = 1;
	struct blk *top = NULL, *newb = NULL;
	uint8_t *b1 = NULL, *b2 = NULL;

	while ((c = getopt(argc, argv, "hf:t:T:b:F:upqU")) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 't': cache = optarg; break;
		case 'b': nb = optarg; break;
		case 'F': nbfmt = optarg; break;
		case 'u': unsafe = true; break;
		case 'p': progress = true; break;
		case 'q': quiet = true; break;
		case 'T': case 'U': break;
		default: return img_fail("usage: rebase [-f fmt] [-t cache] [-p] [-u] -b backing_file [-F backing_fmt] filename");
		}
	}
	(void)quiet;
	if (optind >= argc)
		return img_fail("Expecting one image file name");
	if (!nb)
		return img_fail("Must specify backing file (-b) or use '-b \"\"' to remove it");
	const char *path = argv[optind];
	const char *newname = *nb ? nb : NULL;
	top = img_open(path, fmt, false, cache, unsafe);
	if (!top)
		return img_fail_err(NULL);
	if (newname && !nbfmt) {
		/* Probe the new backing file's format as qemu-img does. */
		char full[4096];
		const char *slash = strrchr(path, '/');
		if (newname[0] != '/' && slash)
			snprintf(full, sizeof(full), "%.*s%s", (int)(slash - path) + 1, path, newname);
		else
			snprintf(full, sizeof(full), "%s", newname);
		if (blk_probe_format(full, &nbfmt) < 0) {
			img_fail("Could not open new backing file '%s': %s", full, err_message());
			goto out;
		}
	}
	if (!unsafe) {
		if (newname) {
			char full[4096];
			const char *slash = strrchr(path, '/');
			if (newname[0] != '/' && slash)
				snprintf(full, sizeof(full), "%.*s%s", (int)(slash - path) + 1, path, newname);
			else
				snprintf(full, sizeof(full), "%s", newname);
			newb = img_open(full, nbfmt, true, NULL, false);
			if (!newb) {
				img_fail("Could not open new backing file '%s': %s", full, err_message());
				goto out;
			}
		}
		b1 = alloc_buf(CHUNK);
		b2 = alloc_buf(CHUNK);
		if (!b1 || !b2) {
			img_fail("out of memory");
			goto out;
		}
		struct blk_info ti;
		blk_get_info(top, &ti);
		uint64_t size = blk_size(top), gran = ti.cluster_size ? ti.cluster_size : 65536;
		/* Where the top image does not decide, old and new backing content
		 * must agree; copy the old content up where they differ. */
		for (uint64_t off = 0; off < size;) {
			struct blk_extent e;
			if (blk_block_status(top, off, size - off, &e) < 0) {
				img_fail_err(NULL);
				goto out;
			}
			if (!(e.flags & BLK_EXT_ALLOCATED)) {
				for (uint64_t p = off; p < off + e.length;) {
					size_t len = (size_t)MIN((uint64_t)CHUNK, off + e.length - p);
					if (blk_pread(top, b1, len, p) < 0) {
						img_fail_err(NULL);
						goto out;
					}
					memset(b2, 0, len);
					if (newb && p < blk_size(newb) &&
					    blk_pread(newb, b2, (size_t)MIN((uint64_t)len, blk_size(newb) - p), p) < 0) {
						img_fail_err(NULL);
						goto out;
					}
					for (size_t q = 0; q < len;) {
						size_t l = (size_t)MIN(gran - (p + q) % gran, len - q);
						if (memcmp(b1 + q, b2 + q, l) && blk_pwrite(top, b1 + q, l, p + q) < 0) {
							img_fail_err(NULL);
							goto out;
						}
						q += l;
					}
					p += len;
				}
			}
			off += e.length;
			if (progress)
				img_progress(off * 100.0 / size);
		}
	}
	if (blk_set_backing(top, newname, newname ? nbfmt : NULL) < 0) {
		img_fail_err(NULL);
		goto out;
	}
	rc = 0;
out:
	free(b1);
	free(b2);
	blk_close(newb);
	if (blk_close(top) < 0 && rc == 0)
		rc = img_fail_err(path);
	return rc;
}

struct bench_job {
	struct blk *b;
	uint8_t *buf;
	bool write, failed;
	uint64_t first, stride, count, offset, step, bufsize, flush_interval;
	char msg[512];
};

static void *bench_thread(void *arg)
{
	struct bench_job *j = arg;
	uint64_t size = blk_size(j->b);

	for (uint64_t i = j->first; i < j->count; i += j->stride) {
		uint64_t off = (j->offset + i * j->step) % size;
		if (off + j->bufsize > size)
			off = 0;
		if ((j->write ? blk_pwrite(j->b, j->buf, j->bufsize, off) : blk_pread(j->b, j->buf, j->bufsize, off)) < 0 ||
		    (j->write && j->flush_interval && (i + 1) % j->flush_interval == 0 && blk_flush(j->b) < 0)) {
			snprintf(j->msg, sizeof(j->msg), "%s", err_message());
			j->failed = true;
			break;
		}
	}
	return NULL;
}

int img_bench(int argc, char **argv)
{
	const char *fmt = NULL, *cache = "writeback";
	uint64_t count = 75000, depth = 64, offset = 0, bufsize = 4096, step = 0, flush_interval = 0, v;
	int pattern = 0xa5, c;
	bool write = false, quiet = false, direct = false;
	static const struct option lo[] = {
		{ "pattern", required_argument, 0, 'P' }, { "flush-interval", required_argument, 0, 'I' },
		{ "no-drain", no_argument, 0, 'D' }, { 0 },
	};

	while ((c = getopt_long(argc, argv, "hc:d:f:ni:o:qs:S:t:wU", lo, NULL)) != -1) {
		switch (c) {
		case 'c': if (parse_uint(optarg, 1, UINT32_MAX, &count) < 0) return img_fail_err("-c"); break;
		case 'd': if (parse_uint(optarg, 1, 65536, &depth) < 0) return img_fail_err("-d"); break;
		case 'f': fmt = optarg; break;
		case 'n': direct = true; break;
		case 'o': if (parse_size(optarg, 1, &offset) < 0) return img_fail_err("-o"); break;
		case 'q': quiet = true; break;
		case 's': if (parse_size(optarg, 1, &bufsize) < 0 || !bufsize) return img_fail("invalid buffer size"); break;
		case 'S': if (parse_size(optarg, 1, &step) < 0) return img_fail_err("-S"); break;
		case 't': cache = optarg; break;
		case 'w': write = true; break;
		case 'P': if (parse_uint(optarg, 0, 255, &v) < 0) return img_fail_err("--pattern"); pattern = (int)v; break;
		case 'I': if (parse_uint(optarg, 0, UINT32_MAX, &flush_interval) < 0) return img_fail_err("--flush-interval"); break;
		case 'i': case 'D': case 'U': break;
		default: return img_fail("usage: bench [-c count] [-d depth] [-f fmt] [-n] [-o offset] [-s buffer_size] [-S step_size] [-t cache] [-w] [--pattern=N] filename");
		}
	}
	if (optind >= argc)
		return img_fail("Expecting one image file name");
	if (!step)
		step = bufsize;
	if (direct)
		cache = "none";
	struct blk *b = img_open(argv[optind], fmt, !write, cache, false);
	if (!b)
		return img_fail_err(NULL);
	uint64_t size = blk_size(b);
	if (size < bufsize) {
		blk_close(b);
		return img_fail("image is smaller than the buffer size");
	}
	uint8_t *buf = alloc_buf(bufsize);
	if (!buf) {
		blk_close(b);
		return img_fail("out of memory");
	}
	memset(buf, pattern, bufsize);
	if (!quiet)
		printf("Sending %llu %s requests, %llu bytes each, %llu in parallel (starting at offset %llu, step size %llu)\n",
		       (unsigned long long)count, write ? "write" : "read", (unsigned long long)bufsize,
		       (unsigned long long)depth, (unsigned long long)offset, (unsigned long long)step);
	/* Reads run in up to one thread per CPU (the block layer lets reads of one
	 * image proceed in parallel); writes are exclusive per image, so they are
	 * issued from one thread. Request i goes to offset + i * step modulo the
	 * size, as qemu-img bench sends them. */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nthreads = write ? 1 : (unsigned)MIN(depth, (uint64_t)(cpus > 0 ? cpus : 1));
	struct bench_job jobs[64];
	pthread_t tids[64];
	nthreads = MIN(nthreads, 64u);
	uint64_t t0 = clock_ns();
	int rc = 0;
	for (unsigned t = 0; t < nthreads; t++) {
		jobs[t] = (struct bench_job){ .b = b, .buf = t == 0 ? buf : alloc_buf(bufsize), .write = write,
					      .first = t, .stride = nthreads, .count = count, .offset = offset,
					      .step = step, .bufsize = bufsize, .flush_interval = flush_interval };
		if (!jobs[t].buf) {
			nthreads = t;
			rc = img_fail("out of memory");
			break;
		}
		if (t > 0)
			memcpy(jobs[t].buf, buf, bufsize);
		if (t > 0 && pthread_create(&tids[t], NULL, bench_thread, &jobs[t]) != 0) {
			free(jobs[t].buf);
			nthreads = t;
			rc = img_fail("cannot start a thread");
			break;
		}
	}
	if (rc == 0 && nthreads)
		bench_thread(&jobs[0]);
	for (unsigned t = 1; t < nthreads; t++) {
		pthread_join(tids[t], NULL);
		free(jobs[t].buf);
	}
	for (unsigned t = 0; t < nthreads; t++)
		if (jobs[t].failed && rc == 0) {
			rc = img_fail("%s", jobs[t].msg);
		}
	if (rc == 0 && write && blk_flush(b) < 0)
		rc = img_fail_err(NULL);
	double secs = (double)(clock_ns() - t0) / 1e9;
	if (rc == 0 && !quiet)
		printf("Run completed in %3.3f seconds.\n", secs);
	free(buf);
	if (blk_close(b) < 0 && rc == 0)
		rc = img_fail_err(NULL);
	return rc;
}
