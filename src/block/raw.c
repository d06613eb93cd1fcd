/* raw driver: the image is the file (or block device) byte for byte. Sparse
 * aware: holes are reported through SEEK_DATA/SEEK_HOLE and discards punch
 * holes, so a 4 GiB image with 1 GiB of data costs 1 GiB on the host. */
#include "block/block-int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

static int raw_probe(const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return 1;   /* anything is a raw image; other formats score higher */
}

static int raw_open(struct blk *b, const struct blk_open_opts *opts)
{
	struct stat st;

	(void)opts;
	if (fstat(b->fd, &st) < 0)
		return err_set_errno(ERR_IO, errno, "cannot stat '%s'", b->filename);
	if (S_ISBLK(st.st_mode)) {
		uint64_t sz;
		if (ioctl(b->fd, BLKGETSIZE64, &sz) < 0)
			return err_set_errno(ERR_IO, errno, "cannot get the size of '%s'", b->filename);
		b->size = sz;
	} else {
		b->size = (uint64_t)st.st_size;
	}
	return 0;
}

static void raw_close(struct blk *b)
{
	(void)b;
}

static int raw_preadv(struct blk *b, const struct iovec *iov, int cnt, uint64_t off, size_t len)
{
	(void)len;
	return blk_data_preadv(b, iov, cnt, off);
}

static int raw_pwritev(struct blk *b, const struct iovec *iov, int cnt, uint64_t off, size_t len)
{
	(void)len;
	return blk_data_pwritev(b, iov, cnt, off);
}

static int raw_flush(struct blk *b)
{
	if (fdatasync(b->fd) < 0)
		return err_set_errno(ERR_IO, errno, "'%s': flush failed", b->filename);
	return 0;
}

static int write_zero_buffer(struct blk *b, uint64_t off, uint64_t len)
{
	while (len) {
		size_t n = (size_t)MIN(len, sizeof(blk_zero_page));
		if (blk_fd_pwrite(b, blk_zero_page, n, off) < 0)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

static int raw_discard(struct blk *b, uint64_t off, uint64_t len)
{
	/* Advisory: a file system without hole punching simply keeps the data. */
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS)
		return err_set_errno(ERR_IO, errno, "'%s': discard at %llu failed", b->filename,
				     (unsigned long long)off);
	return 0;
}

static int raw_write_zeroes(struct blk *b, uint64_t off, uint64_t len, unsigned flags)
{
	int mode = (flags & BLK_ZERO_MAY_UNMAP) ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
						: FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	if (fallocate(b->fd, mode, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
		return err_set_errno(ERR_IO, errno, "'%s': write zeroes at %llu failed", b->filename,
				     (unsigned long long)off);
	return write_zero_buffer(b, off, len);
}

static int raw_block_status(struct blk *b, uint64_t off, uint64_t len, struct blk_extent *ext)
{
	off_t data, hole;

	ext->flags = BLK_EXT_ALLOCATED | BLK_EXT_OFFSET;
	ext->host_offset = off;
	data = lseek(b->fd, (off_t)off, SEEK_DATA);
	if (data < 0 && errno == ENXIO) {
		/* No data from here to the end of file. */
		ext->flags |= BLK_EXT_ZERO;
		ext->length = len;
		return 0;
	}
	if (data < 0) {
		/* No SEEK_DATA support: everything is data. */
		ext->flags |= BLK_EXT_DATA;
		ext->length = len;
		return 0;
	}
	if ((uint64_t)data > off) {
		ext->flags |= BLK_EXT_ZERO;
		ext->length = MIN(len, (uint64_t)data - off);
		return 0;
	}
	hole = lseek(b->fd, (off_t)off, SEEK_HOLE);
	if (hole < 0 || (uint64_t)hole <= off)
		hole = (off_t)(off + len);
	ext->flags |= BLK_EXT_DATA;
	ext->length = MIN(len, (uint64_t)hole - off);
	return 0;
}

static int raw_truncate(struct blk *b, uint64_t size, bool allow_shrink)
{
	(void)allow_shrink;
	if (ftruncate(b->fd, (off_t)size) < 0)
		return err_set_errno(ERR_IO, errno, "'%s': cannot resize to %llu bytes", b->filename,
				     (unsigned long long)size);
	b->size = size;
	return 0;
}

static int raw_create(const char *path, uint64_t size, const struct blk_create_opts *o)
{
	autoclose int fd = -1;

	if (o->backing_file)
		return err_set(ERR_INVALID, "'%s': raw images cannot have a backing file", path);
	if (size > (uint64_t)INT64_MAX)
		return err_set(ERR_INVALID, "'%s': size %llu is too large", path, (unsigned long long)size);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "could not create '%s'", path);
	if (ftruncate(fd, (off_t)size) < 0)
		return err_set_errno(ERR_IO, errno, "'%s': cannot set the size to %llu", path,
				     (unsigned long long)size);
	if (o->prealloc == BLK_PREALLOC_FALLOC || o->prealloc == BLK_PREALLOC_METADATA) {
		int e = size ? posix_fallocate(fd, 0, (off_t)size) : 0;
		if (e)
			return err_set_errno(ERR_IO, e, "'%s': preallocation failed", path);
	} else if (o->prealloc == BLK_PREALLOC_FULL) {
		for (uint64_t off = 0; off < size;) {
			size_t n = (size_t)MIN(size - off, sizeof(blk_zero_page));
			ssize_t w = pwrite(fd, blk_zero_page, n, (off_t)off);
			if (w <= 0)
				return err_set_errno(ERR_IO, errno, "'%s': preallocation failed", path);
			off += (uint64_t)w;
		}
	}
	if (fsync(fd) < 0)
		return err_set_errno(ERR_IO, errno, "'%s': sync failed", path);
	return 0;
}

static int raw_check(struct blk *b, unsigned fix, struct blk_check_result *res,
		     void (*report)(void *ctx, const char *msg), void *ctx)
{
	(void)fix;
	(void)res;
	(void)report;
	(void)ctx;
	return err_set(ERR_UNSUPPORTED, "This image format does not support checks ('%s' is raw)",
		       b->filename);
}

const struct blk_driver blk_raw_driver = {
	.name = "raw",
	.concurrent_reads = true,
	.probe = raw_probe,
	.open = raw_open,
	.close = raw_close,
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.block_status = raw_block_status,
	.create = raw_create,
	.check = raw_check,
	.truncate = raw_truncate,
};
