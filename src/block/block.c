/* Generic block layer: opening and probing images, the backing chain, argument
 * checks and per-image locking around the format drivers (reads may share the
 * image where the driver allows it; everything else is exclusive), iovec helpers.
 * Drivers (raw.c, qcow2.c) see only requests already checked against the size. */
#include "block/block-int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

const uint8_t blk_zero_page[65536];

static const struct blk_driver *const drivers[] = { &blk_qcow2_driver, &blk_raw_driver };

static const struct blk_driver *driver_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

int blk_cache_parse(const char *text, enum blk_cache *out)
{
	static const struct { const char *name; enum blk_cache mode; } modes[] = {
		{ "writeback", BLK_CACHE_WRITEBACK }, { "none", BLK_CACHE_NONE },
		{ "writethrough", BLK_CACHE_WRITETHROUGH }, { "unsafe", BLK_CACHE_UNSAFE },
		{ "directsync", BLK_CACHE_NONE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		if (strcmp(text, modes[i].name) == 0) {
			*out = modes[i].mode;
			return 0;
		}
	}
	return err_set(ERR_INVALID, "cache mode '%s' is unknown (writeback, none, writethrough, unsafe)", text);
}

static const struct blk_driver *probe_buf(const uint8_t *buf, size_t len)
{
	const struct blk_driver *best = &blk_raw_driver;
	int best_score = 0;

	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
		int s = drivers[i]->probe ? drivers[i]->probe(buf, len) : 0;
		if (s > best_score) {
			best_score = s;
			best = drivers[i];
		}
	}
	return best;
}

int blk_probe_format(const char *path, const char **format)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t buf[512];
	ssize_t n;

	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "cannot open '%s'", path);
	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return err_set_errno(ERR_IO, errno, "cannot read '%s'", path);
	*format = probe_buf(buf, (size_t)n)->name;
	return 0;
}

static struct blk *blk_open_chain(const char *path, const struct blk_open_opts *opts,
				  struct blk *overlay)
{
	struct blk *b;
	struct stat st;
	int flags = (opts->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	const struct blk_driver *drv = NULL;

	if (opts->format) {
		drv = driver_by_name(opts->format);
		if (!drv) {
			err_set(ERR_UNSUPPORTED, "'%s': image format '%s' is not supported (raw, qcow2)",
				path, opts->format);
			return NULL;
		}
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		err_set(ERR_NOMEM, "'%s': out of memory", path);
		return NULL;
	}
	b->fd = b->dfd = -1;
	{
		/* Writers first: a stream of reads must not starve the guest's writes. */
		pthread_rwlockattr_t attr;
		pthread_rwlockattr_init(&attr);
		pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&b->lock, &attr);
		pthread_rwlockattr_destroy(&attr);
	}
	b->read_only = opts->read_only;
	b->cache = opts->cache;
	b->overlay = overlay;
	b->depth = overlay ? overlay->depth + 1 : 0;
	b->filename = strdup(path);
	if (!b->filename) {
		err_set(ERR_NOMEM, "'%s': out of memory", path);
		goto fail;
	}
	if (opts->cache == BLK_CACHE_WRITETHROUGH)
		flags |= O_DSYNC;
	b->fd = open(path, flags);
	if (b->fd < 0) {
		err_set_errno(errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, errno,
			      "could not open '%s'", path);
		goto fail;
	}
	b->dfd = b->fd;
	if (fstat(b->fd, &st) < 0) {
		err_set_errno(ERR_IO, errno, "cannot stat '%s'", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		err_set(ERR_INVALID, "'%s' is neither a regular file nor a block device", path);
		goto fail;
	}
	b->st_dev = st.st_dev;
	b->st_ino = st.st_ino;
	for (struct blk *o = overlay; o; o = o->overlay) {
		if (o->st_dev == st.st_dev && o->st_ino == st.st_ino) {
			err_set(ERR_CORRUPT, "backing chain is cyclic: '%s' is its own backing file (via '%s')",
				path, overlay->filename);
			goto fail;
		}
	}
	if (opts->cache == BLK_CACHE_NONE) {
		b->dfd = open(path, flags | O_DIRECT);
		if (b->dfd < 0)
			b->dfd = b->fd;   /* tmpfs and friends: fall back to the page cache */
	}
	if (!drv) {
		uint8_t buf[512];
		ssize_t n = pread(b->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			err_set_errno(ERR_IO, errno, "cannot read '%s'", path);
			goto fail;
		}
		drv = probe_buf(buf, (size_t)n);
	}
	b->drv = drv;
	if (drv->open(b, opts) < 0) {
		b->drv = NULL;
		goto fail;
	}
	if (b->backing_name && !opts->no_backing) {
		struct blk_open_opts bo = *opts;
		bo.read_only = !opts->backing_read_write;
		bo.backing_read_write = false;
		bo.format = b->backing_fmt;
		if (blk_open_backing(b, &bo) < 0) {
			err_prefix("'%s'", path);
			goto fail;
		}
	}
	return b;
fail:
	blk_close(b);
	return NULL;
}

struct blk *blk_open(const char *path, const struct blk_open_opts *opts)
{
	struct blk_open_opts def = { 0 };

	return blk_open_chain(path, opts ? opts : &def, NULL);
}

int blk_open_backing(struct blk *b, const struct blk_open_opts *opts)
{
	char path[PATH_MAX];
	const char *name = b->backing_name;

	if (b->depth + 1 >= BLK_MAX_CHAIN)
		return err_set(ERR_INVALID, "backing chain deeper than %d images at '%s'",
			       BLK_MAX_CHAIN, name);
	if (strchr(name, ':') && (strncmp(name, "json:", 5) == 0 || strstr(name, "://")))
		return err_set(ERR_UNSUPPORTED, "backing file '%s' is not a local file", name);
	if (name[0] == '/') {
		snprintf(path, sizeof(path), "%s", name);
	} else {
		const char *slash = strrchr(b->filename, '/');
		int dirlen = slash ? (int)(slash - b->filename) + 1 : 0;
		if ((size_t)dirlen + strlen(name) + 1 > sizeof(path))
			return err_set(ERR_INVALID, "backing file name '%s' is too long", name);
		snprintf(path, sizeof(path), "%.*s%s", dirlen, b->filename, name);
	}
	b->backing = blk_open_chain(path, opts, b);
	if (!b->backing)
		return err_prefix("backing file");
	return 0;
}

int blk_read_backing(struct blk *b, const struct iovec *iov, int cnt, uint64_t off, size_t len)
{
	struct blk *bk = b->backing;
	size_t n = 0;

	if (bk && off < bk->size) {
		n = (size_t)MIN((uint64_t)len, bk->size - off);
		if (n == len) {
			if (blk_preadv(bk, iov, cnt, off) < 0)
				return -1;
		} else {
			struct iovec sub[64];
			struct iovec *v = sub;
			int c = iov_slice(iov, cnt, 0, n, NULL, 0);
			int rc;
			if (c > (int)ARRAY_SIZE(sub)) {
				v = malloc(sizeof(*v) * (size_t)c);
				if (!v)
					return err_set(ERR_NOMEM, "out of memory");
			}
			iov_slice(iov, cnt, 0, n, v, c);
			rc = blk_preadv(bk, v, c, off);
			if (v != sub)
				free(v);
			if (rc < 0)
				return -1;
		}
	}
	if (n < len)
		iov_memset(iov, cnt, n, 0, len - n);
	return 0;
}

int blk_close(struct blk *b)
{
	int rc = 0;

	if (!b)
		return 0;
	if (b->drv) {
		if (!b->read_only && b->drv->flush && b->cache != BLK_CACHE_UNSAFE)
			rc = b->drv->flush(b);
		b->drv->close(b);
	}
	if (b->backing && blk_close(b->backing) < 0)
		rc = -1;
	if (b->dfd >= 0 && b->dfd != b->fd)
		close(b->dfd);
	if (b->fd >= 0)
		close(b->fd);
	pthread_rwlock_destroy(&b->lock);
	free(b->backing_name);
	free(b->backing_fmt);
	free(b->filename);
	free(b);
	return rc;
}

static int check_range(struct blk *b, uint64_t off, uint64_t len, bool write)
{
	if (write && b->read_only)
		return err_set(ERR_PERMISSION, "'%s' is open read-only", b->filename);
	if (off > b->size || len > b->size - off)
		return err_set(ERR_INVALID, "'%s': request at %llu+%llu is beyond the image size %llu",
			       b->filename, (unsigned long long)off, (unsigned long long)len,
			       (unsigned long long)b->size);
	return 0;
}

int blk_preadv(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t offset)
{
	size_t len = iov_total(iov, iovcnt);
	int rc;

	if (check_range(b, offset, len, false) < 0)
		return -1;
	if (len == 0)
		return 0;
	if (b->drv->concurrent_reads)
		pthread_rwlock_rdlock(&b->lock);
	else
		pthread_rwlock_wrlock(&b->lock);
	rc = b->drv->preadv(b, iov, iovcnt, offset, len);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int blk_pwritev(struct blk *b, const struct iovec *iov, int iovcnt, uint64_t offset)
{
	size_t len = iov_total(iov, iovcnt);
	int rc;

	if (check_range(b, offset, len, true) < 0)
		return -1;
	if (len == 0)
		return 0;
	pthread_rwlock_wrlock(&b->lock);
	rc = b->drv->pwritev(b, iov, iovcnt, offset, len);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int blk_pread(struct blk *b, void *buf, size_t len, uint64_t offset)
{
	struct iovec v = { buf, len };

	return blk_preadv(b, &v, 1, offset);
}

int blk_pwrite(struct blk *b, const void *buf, size_t len, uint64_t offset)
{
	struct iovec v = { (void *)buf, len };

	return blk_pwritev(b, &v, 1, offset);
}

int blk_pwrite_compressed(struct blk *b, const void *buf, size_t len, uint64_t offset)
{
	int rc;

	if (check_range(b, offset, len, true) < 0)
		return -1;
	if (!b->drv->pwrite_compressed)
		return blk_pwrite(b, buf, len, offset);
	pthread_rwlock_wrlock(&b->lock);
	rc = b->drv->pwrite_compressed(b, buf, len, offset);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int blk_flush(struct blk *b)
{
	int rc = 0;

	if (b->read_only || b->cache == BLK_CACHE_UNSAFE)
		return 0;
	pthread_rwlock_wrlock(&b->lock);
	if (b->drv->flush)
		rc = b->drv->flush(b);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int blk_discard(struct blk *b, uint64_t offset, uint64_t len)
{
	int rc = 0;

	if (check_range(b, offset, len, true) < 0)
		return -1;
	pthread_rwlock_wrlock(&b->lock);
	if (b->drv->discard && len)
		rc = b->drv->discard(b, offset, len);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int blk_write_zeroes(struct blk *b, uint64_t offset, uint64_t len, unsigned flags)
{
	int rc;

	if (check_range(b, offset, len, true) < 0)
		return -1;
	if (len == 0)
		return 0;
	pthread_rwlock_wrlock(&b->lock);
	rc = b->drv->write_zeroes(b, offset, len, flags);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int blk_get_info(struct blk *b, struct blk_info *info)
{
	struct stat st;
	int rc;

	memset(info, 0, sizeof(*info));
	info->format = b->drv->name;
	info->filename = b->filename;
	info->virtual_size = b->size;
	info->backing_file = b->backing_name;
	info->backing_format = b->backing_fmt;
	info->read_only = b->read_only;
	if (fstat(b->fd, &st) == 0) {
		info->actual_size = (uint64_t)st.st_blocks * 512;
		info->file_size = (uint64_t)st.st_size;
	}
	if (!b->drv->get_info)
		return 0;
	pthread_rwlock_wrlock(&b->lock);
	rc = b->drv->get_info(b, info);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

uint64_t blk_size(struct blk *b) { return b->size; }
const char *blk_filename(struct blk *b) { return b->filename; }
const char *blk_format(struct blk *b) { return b->drv->name; }
struct blk *blk_backing(struct blk *b) { return b->backing; }

int blk_block_status(struct blk *b, uint64_t offset, uint64_t len, struct blk_extent *ext)
{
	int rc;

	if (check_range(b, offset, len, false) < 0)
		return -1;
	if (len == 0)
		return err_set(ERR_INVALID, "'%s': block status of an empty range", b->filename);
	memset(ext, 0, sizeof(*ext));
	pthread_rwlock_wrlock(&b->lock);
	rc = b->drv->block_status(b, offset, len, ext);
	pthread_rwlock_unlock(&b->lock);
	ext->start = offset;
	ext->depth = 0;
	ext->layer = b;
	if (rc == 0 && (ext->length == 0 || ext->length > len))
		return err_set(ERR_INTERNAL, "'%s': driver returned a bad extent", b->filename);
	return rc;
}

int blk_map(struct blk *b, uint64_t offset, uint64_t len, struct blk_extent *ext)
{
	struct blk *layer = b;
	int depth = 0;

	for (;;) {
		if (blk_block_status(layer, offset, len, ext) < 0)
			return -1;
		ext->depth = depth;
		if ((ext->flags & BLK_EXT_ALLOCATED) || !layer->backing)
			return 0;
		/* Unallocated here: what the backing image says, trimmed to this run.
		 * Past the backing image's end the overlay reads zeros. */
		len = ext->length;
		if (offset >= layer->backing->size) {
			/* Past the backing image's end: this layer decides (zeros). */
			ext->flags = BLK_EXT_ZERO;
			return 0;
		}
		len = MIN(len, layer->backing->size - offset);
		layer = layer->backing;
		depth++;
	}
}

int blk_create(const char *path, const char *format, uint64_t size, const struct blk_create_opts *opts)
{
	const struct blk_driver *drv = driver_by_name(format);
	struct blk_create_opts def = { 0 };

	if (!drv || !drv->create)
		return err_set(ERR_UNSUPPORTED, "'%s': cannot create images of format '%s' (raw, qcow2)",
			       path, format);
	if (size > (1ull << 62))
		return err_set(ERR_INVALID, "'%s': size %llu is too large", path, (unsigned long long)size);
	/* Whole sectors, as qemu-img creates them. */
	return drv->create(path, ALIGN_UP(size, 512), opts ? opts : &def);
}

int blk_check(struct blk *b, unsigned fix, struct blk_check_result *res,
	      void (*report)(void *ctx, const char *msg), void *ctx)
{
	int rc;

	memset(res, 0, sizeof(*res));
	if (fix && b->read_only)
		return err_set(ERR_PERMISSION, "'%s' is open read-only: cannot repair", b->filename);
	if (!b->drv->check)
		return err_set(ERR_UNSUPPORTED, "format '%s' does not support checks", b->drv->name);
	pthread_rwlock_wrlock(&b->lock);
	rc = b->drv->check(b, fix, res, report, ctx);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int blk_truncate(struct blk *b, uint64_t size, bool allow_shrink)
{
	int rc;

	if (b->read_only)
		return err_set(ERR_PERMISSION, "'%s' is open read-only", b->filename);
	if (size < b->size && !allow_shrink)
		return err_set(ERR_INVALID, "'%s': shrinking from %llu to %llu bytes needs --shrink",
			       b->filename, (unsigned long long)b->size, (unsigned long long)size);
	if (!b->drv->truncate)
		return err_set(ERR_UNSUPPORTED, "format '%s' cannot be resized", b->drv->name);
	pthread_rwlock_wrlock(&b->lock);
	rc = b->drv->truncate(b, size, allow_shrink);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int blk_set_backing(struct blk *b, const char *backing_file, const char *backing_format)
{
	int rc;

	if (b->read_only)
		return err_set(ERR_PERMISSION, "'%s' is open read-only", b->filename);
	if (!b->drv->set_backing)
		return err_set(ERR_UNSUPPORTED, "format '%s' has no backing files", b->drv->name);
	pthread_rwlock_wrlock(&b->lock);
	rc = b->drv->set_backing(b, backing_file, backing_format);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int blk_make_empty(struct blk *b)
{
	int rc;

	if (b->read_only)
		return err_set(ERR_PERMISSION, "'%s' is open read-only", b->filename);
	if (!b->drv->make_empty)
		return err_set(ERR_UNSUPPORTED, "format '%s' cannot be emptied", b->drv->name);
	pthread_rwlock_wrlock(&b->lock);
	rc = b->drv->make_empty(b);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int blk_snapshot_list(struct blk *b, struct blk_snapshot **list, unsigned *count)
{
	int rc;

	*list = NULL;
	*count = 0;
	if (!b->drv->snapshot_list)
		return err_set(ERR_UNSUPPORTED, "format '%s' has no internal snapshots", b->drv->name);
	pthread_rwlock_wrlock(&b->lock);
	rc = b->drv->snapshot_list(b, list, count);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

/* ---- iovec helpers ---- */

size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t n = 0;

	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

void iov_from_buf(const struct iovec *iov, int cnt, size_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (int i = 0; i < cnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t n = MIN(len, iov[i].iov_len - off);
		memcpy((uint8_t *)iov[i].iov_base + off, p, n);
		p += n;
		len -= n;
		off = 0;
	}
}

void iov_to_buf(const struct iovec *iov, int cnt, size_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	for (int i = 0; i < cnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t n = MIN(len, iov[i].iov_len - off);
		memcpy(p, (const uint8_t *)iov[i].iov_base + off, n);
		p += n;
		len -= n;
		off = 0;
	}
}

void iov_memset(const struct iovec *iov, int cnt, size_t off, int c, size_t len)
{
	for (int i = 0; i < cnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t n = MIN(len, iov[i].iov_len - off);
		memset((uint8_t *)iov[i].iov_base + off, c, n);
		len -= n;
		off = 0;
	}
}

int iov_slice(const struct iovec *iov, int cnt, size_t off, size_t len, struct iovec *out, int max)
{
	int n = 0;

	for (int i = 0; i < cnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t l = MIN(len, iov[i].iov_len - off);
		if (out) {
			if (n >= max)
				return -1;
			out[n].iov_base = (uint8_t *)iov[i].iov_base + off;
			out[n].iov_len = l;
		}
		n++;
		len -= l;
		off = 0;
	}
	return n;
}

static int fd_rw(struct blk *b, int fd, const struct iovec *iov, int cnt, uint64_t off, bool write)
{
	struct iovec local[64];
	struct iovec *v = local;
	size_t total = iov_total(iov, cnt);
	size_t done = 0;
	int rc = 0;

	if (cnt > (int)ARRAY_SIZE(local)) {
		v = malloc(sizeof(*v) * (size_t)cnt);
		if (!v)
			return err_set(ERR_NOMEM, "out of memory");
	}
	while (done < total) {
		int c = iov_slice(iov, cnt, done, total - done, v, cnt);
		int cc = MIN(c, IOV_MAX);
		ssize_t n = write ? pwritev(fd, v, cc, (off_t)(off + done))
				  : preadv(fd, v, cc, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = err_set_errno(ERR_IO, errno, "'%s': %s of %zu bytes at %llu failed",
					   b->filename, write ? "write" : "read", total - done,
					   (unsigned long long)(off + done));
			break;
		}
		if (n == 0) {
			if (write) {
				rc = err_set(ERR_IO, "'%s': write at %llu made no progress", b->filename,
					     (unsigned long long)(off + done));
				break;
			}
			/* End of file: the rest reads as zeros (sparse tail). */
			iov_memset(iov, cnt, done, 0, total - done);
			break;
		}
		done += (size_t)n;
	}
	if (v != local)
		free(v);
	return rc;
}

int blk_fd_preadv(struct blk *b, int fd, const struct iovec *iov, int cnt, uint64_t off)
{
	return fd_rw(b, fd, iov, cnt, off, false);
}

int blk_fd_pwritev(struct blk *b, int fd, const struct iovec *iov, int cnt, uint64_t off)
{
	return fd_rw(b, fd, iov, cnt, off, true);
}

int blk_fd_pread(struct blk *b, void *buf, size_t len, uint64_t off)
{
	struct iovec v = { buf, len };

	return fd_rw(b, b->fd, &v, 1, off, false);
}

int blk_fd_pwrite(struct blk *b, const void *buf, size_t len, uint64_t off)
{
	struct iovec v = { (void *)buf, len };

	return fd_rw(b, b->fd, &v, 1, off, true);
}

static bool iov_aligned(const struct iovec *iov, int cnt, uint64_t off, size_t align)
{
	if (off % align)
		return false;
	for (int i = 0; i < cnt; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) % align)
			return false;
	return true;
}

int blk_data_preadv(struct blk *b, const struct iovec *iov, int cnt, uint64_t off)
{
	int fd = (b->dfd != b->fd && iov_aligned(iov, cnt, off, 4096)) ? b->dfd : b->fd;

	return fd_rw(b, fd, iov, cnt, off, false);
}

int blk_data_pwritev(struct blk *b, const struct iovec *iov, int cnt, uint64_t off)
{
	int fd = (b->dfd != b->fd && iov_aligned(iov, cnt, off, 4096)) ? b->dfd : b->fd;

	return fd_rw(b, fd, iov, cnt, off, true);
}
