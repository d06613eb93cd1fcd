/* blk-powercut: the power-cut variant of the storage suite's crash test. The
 * block layer's writes, truncations, hole punches and flushes to one image are
 * logged (the file-system calls are wrapped at link time, flushes are not
 * performed); a replay then builds the image a power cut at any log position
 * could leave: everything before the last flush, and a random subset of the
 * later writes, torn at sector granularity. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block/block.h"
#include "common/error.h"
#include "common/util.h"
#include "blk_ops.h"

/* ---- the log ---- */

enum rec_type {
	REC_WRITE = 1,   /* off, len, then len bytes */
	REC_FLUSH,       /* fdatasync/fsync returned: all earlier records are durable */
	REC_TRUNCATE,    /* off = new length */
	REC_PUNCH,       /* off, len read as zeros afterwards */
	REC_DURABLE,     /* off = op number the writer saw flushed */
};

struct rec {
	uint32_t type, pad;
	uint64_t off, len;
};

static int log_fd = -1;
static dev_t img_dev;
static ino_t img_ino;

static void log_put(const struct rec *r, const struct iovec *iov, int cnt)
{
	struct iovec v[1 + 64];
	int n = 0;

	if (cnt > 64)
		abort();   /* the block layer never passes this many; fail loudly */
	v[n++] = (struct iovec){ (void *)r, sizeof(*r) };
	for (int i = 0; i < cnt; i++)
		v[n++] = iov[i];
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += v[i].iov_len;
	if (writev(log_fd, v, n) != (ssize_t)total) {
		perror("blk-powercut: log write");
		abort();
	}
}

static bool is_image(int fd)
{
	struct stat st;

	return log_fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == img_dev && st.st_ino == img_ino;
}

/* Link-time wrappers (-Wl,--wrap=...): the names the block layer's objects
 * reference with _FILE_OFFSET_BITS=64. */
ssize_t __real_pwritev64(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t __real_pwrite64(int fd, const void *buf, size_t len, off_t off);
int __real_ftruncate64(int fd, off_t len);
int __real_fallocate64(int fd, int mode, off_t off, off_t len);
int __real_fdatasync(int fd);
int __real_fsync(int fd);
ssize_t __wrap_pwritev64(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t __wrap_pwrite64(int fd, const void *buf, size_t len, off_t off);
int __wrap_ftruncate64(int fd, off_t len);
int __wrap_fallocate64(int fd, int mode, off_t off, off_t len);
int __wrap_fdatasync(int fd);
int __wrap_fsync(int fd);

ssize_t __wrap_pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ssize_t n = __real_pwritev64(fd, iov, cnt, off);

	if (n > 0 && is_image(fd)) {
		/* Log what was written (a short write logs its prefix). */
		struct iovec part[64];
		int pc = 0;
		size_t left = (size_t)n;
		for (int i = 0; i < cnt && left && pc < 64; i++) {
			size_t l = MIN(left, iov[i].iov_len);
			part[pc++] = (struct iovec){ iov[i].iov_base, l };
			left -= l;
		}
		struct rec r = { .type = REC_WRITE, .off = (uint64_t)off, .len = (uint64_t)n };
		log_put(&r, part, pc);
	}
	return n;
}

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	struct iovec v = { (void *)buf, len };

	return __wrap_pwritev64(fd, &v, 1, off);
}

int __wrap_ftruncate64(int fd, off_t len)
{
	int rc = __real_ftruncate64(fd, len);

	if (rc == 0 && is_image(fd)) {
		struct rec r = { .type = REC_TRUNCATE, .off = (uint64_t)len };
		log_put(&r, NULL, 0);
	}
	return rc;
}

int __wrap_fallocate64(int fd, int mode, off_t off, off_t len)
{
	int rc = __real_fallocate64(fd, mode, off, len);

	if (rc == 0 && is_image(fd)) {
		if (!(mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_ZERO_RANGE)) {
			/* plain allocation: only the length may change */
			if (!(mode & FALLOC_FL_KEEP_SIZE)) {
				struct stat st;
				if (fstat(fd, &st) == 0) {
					struct rec r = { .type = REC_TRUNCATE, .off = (uint64_t)st.st_size };
					log_put(&r, NULL, 0);
				}
			}
			return rc;
		}
		struct rec r = { .type = REC_PUNCH, .off = (uint64_t)off, .len = (uint64_t)len };
		log_put(&r, NULL, 0);
	}
	return rc;
}

/* Flushes are only recorded: durability is what the log says. */
int __wrap_fdatasync(int fd)
{
	if (!is_image(fd))
		return __real_fdatasync(fd);
	struct rec r = { .type = REC_FLUSH };
	log_put(&r, NULL, 0);
	return 0;
}

int __wrap_fsync(int fd)
{
	if (!is_image(fd))
		return __real_fsync(fd);
	return __wrap_fdatasync(fd);
}

/* record IMG LOG SEED COUNT: run COUNT operations on IMG, each followed by a
 * flush, logging every change to IMG and a DURABLE mark after each flush. */
static int cmd_record(char **argv)
{
	const char *path = argv[0];
	uint64_t seed = strtoull(argv[2], NULL, 0), count = strtoull(argv[3], NULL, 0);
	struct stat st;

	if (stat(path, &st) < 0) {
		perror(path);
		return 2;
	}
	img_dev = st.st_dev;
	img_ino = st.st_ino;
	log_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		perror(argv[1]);
		return 2;
	}
	struct blk_open_opts oo = { .format = "qcow2" };
	struct blk *b = blk_open(path, &oo);
	if (!b) {
		fprintf(stderr, "blk-powercut: %s\n", err_message());
		return 2;
	}
	struct blk_info in;
	blk_get_info(b, &in);
	uint64_t size = blk_size(b), cl = in.cluster_size ? in.cluster_size : 4096;
	uint8_t *buf = malloc(ops_buf_size(cl));
	if (!buf)
		return 2;
	for (uint64_t n = 0; n < count; n++) {
		struct op o = ops_gen(seed, n, size, cl);
		if ((o.len && ops_apply(b, &o, buf) < 0) || blk_flush(b) < 0) {
			fprintf(stderr, "blk-powercut: op %llu: %s\n", (unsigned long long)n, err_message());
			return 1;
		}
		struct rec r = { .type = REC_DURABLE, .off = n };
		log_put(&r, NULL, 0);
	}
	free(buf);
	if (blk_close(b) < 0) {
		fprintf(stderr, "blk-powercut: close: %s\n", err_message());
		return 1;
	}
	close(log_fd);
	return 0;
}

/* ---- replay ---- */

struct logrec {
	struct rec r;
	off_t data;     /* offset of the payload in the log */
};

static struct logrec *read_log(int fd, size_t *count)
{
	struct logrec *v = NULL;
	size_t n = 0, cap = 0;
	off_t pos = 0;
	struct rec r;

	for (;;) {
		ssize_t got = pread(fd, &r, sizeof(r), pos);
		if (got == 0)
			break;
		if (got != (ssize_t)sizeof(r) || r.type < REC_WRITE || r.type > REC_DURABLE) {
			fprintf(stderr, "blk-powercut: log is damaged at byte %lld\n", (long long)pos);
			free(v);
			return NULL;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			struct logrec *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return NULL;
			}
			v = nv;
		}
		v[n].r = r;
		v[n].data = pos + (off_t)sizeof(r);
		pos += (off_t)sizeof(r) + (r.type == REC_WRITE ? (off_t)r.len : 0);
		n++;
	}
	*count = n;
	return v;
}

/* Apply one record to the image; for a write in the unflushed window only the
 * 512-byte sectors chosen by *rng land. */
static int apply(int img, int log, const struct logrec *e, bool partial, uint64_t *rng)
{
	static uint8_t zero[65536];
	uint8_t *buf;

	switch (e->r.type) {
	case REC_WRITE:
		buf = malloc(e->r.len);
		if (!buf || pread(log, buf, e->r.len, e->data) != (ssize_t)e->r.len) {
			free(buf);
			return -1;
		}
		for (uint64_t p = 0; p < e->r.len;) {
			/* sector pieces, aligned to the file's sectors */
			uint64_t n = MIN(512 - (e->r.off + p) % 512, e->r.len - p);
			*rng = ops_mix(*rng);
			if (!partial || (*rng & 1)) {
				if (pwrite(img, buf + p, n, (off_t)(e->r.off + p)) != (ssize_t)n) {
					free(buf);
					return -1;
				}
			}
			p += n;
		}
		free(buf);
		return 0;
	case REC_TRUNCATE:
		*rng = ops_mix(*rng);
		if (partial && (*rng & 1))
			return 0;
		return ftruncate(img, (off_t)e->r.off);
	case REC_PUNCH:
		for (uint64_t p = 0; p < e->r.len;) {
			uint64_t n = MIN(512 - (e->r.off + p) % 512, e->r.len - p);
			n = MIN(n, (uint64_t)sizeof(zero));
			*rng = ops_mix(*rng);
			if (!partial || (*rng & 1)) {
				struct stat st;
				/* a hole past the end leaves the length alone */
				if (fstat(img, &st) == 0 && e->r.off + p < (uint64_t)st.st_size &&
				    pwrite(img, zero, (size_t)MIN(n, (uint64_t)st.st_size - (e->r.off + p)),
					   (off_t)(e->r.off + p)) < 0)
					return -1;
			}
			p += n;
		}
		return 0;
	default:
		return 0;
	}
}

/* replay BASE LOG OUT CUT SEED: OUT = BASE with the log applied as a power cut
 * before record CUT leaves it. Prints the last op known durable (-1 if none). */
static int cmd_replay(char **argv)
{
	int base = open(argv[0], O_RDONLY | O_CLOEXEC), log = open(argv[1], O_RDONLY | O_CLOEXEC);
	int out = open(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	uint64_t cut = strtoull(argv[3], NULL, 0), rng = ops_mix(strtoull(argv[4], NULL, 0) + 1);
	size_t count = 0;
	struct logrec *v;
	static uint8_t buf[1 << 16];
	ssize_t n;
	off_t pos = 0;
	long long durable = -1;
	size_t last_flush = 0;

	if (base < 0 || log < 0 || out < 0) {
		perror("blk-powercut: replay");
		return 2;
	}
	while ((n = pread(base, buf, sizeof(buf), pos)) > 0) {
		if (pwrite(out, buf, (size_t)n, pos) != n)
			return 2;
		pos += n;
	}
	v = read_log(log, &count);
	if (!v)
		return 2;
	if (cut > count)
		cut = count;
	for (size_t i = 0; i < cut; i++) {
		if (v[i].r.type == REC_FLUSH)
			last_flush = i + 1;
		if (v[i].r.type == REC_DURABLE)
			durable = (long long)v[i].r.off;
	}
	for (size_t i = 0; i < cut; i++) {
		if (apply(out, log, &v[i], i >= last_flush, &rng) < 0) {
			perror("blk-powercut: replay");
			return 2;
		}
	}
	printf("%lld %zu\n", durable, count);
	free(v);
	close(out);
	close(log);
	close(base);
	return 0;
}

/* count LOG: number of records (the range of cut positions). */
static int cmd_count(char **argv)
{
	int log = open(argv[0], O_RDONLY | O_CLOEXEC);
	size_t count = 0;
	struct logrec *v;

	if (log < 0)
		return 2;
	v = read_log(log, &count);
	if (!v)
		return 2;
	printf("%zu\n", count);
	free(v);
	close(log);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "record"))
		return cmd_record(argv + 2);
	if (argc >= 7 && !strcmp(argv[1], "replay"))
		return cmd_replay(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "count"))
		return cmd_count(argv + 2);
	fprintf(stderr, "usage: blk-powercut record IMG LOG SEED COUNT | replay BASE LOG OUT CUT SEED | count LOG\n");
	return 2;
}
