/* On-disk cache of unpacked kernel images (see kcache.h). A file is
 * "vmlinux-<XXH3-128 of the bzImage>": a header (magic, key, size, XXH3-64 of
 * the image) padded to KCACHE_HEADER_SIZE, then the image. */
#include "vmm/boot/kcache.h"
#include "vmm/boot/unpack.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define KCACHE_MAGIC "VIREOKC1"

struct kcache_header {
	char magic[8];
	uint64_t key_high, key_low;   /* XXH3-128 of the bzImage */
	uint64_t size;                /* image bytes after the header */
	uint64_t image_hash;          /* XXH3-64 of those bytes */
};

const char *kcache_default_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && *xdg == '/')
		n = snprintf(buf, size, "%s/vireo/kernels", xdg);
	else if (home && *home == '/')
		n = snprintf(buf, size, "%s/.cache/vireo/kernels", strcmp(home, "/") ? home : "");
	else
		return NULL;
	return n > 0 && (size_t)n < size ? buf : NULL;
}

/* Hash a whole source: mapped from its file (no copy kept), or its buffer. */
static int kcache_hash_source(const struct boot_source *src, uint64_t base, uint64_t len, XXH128_hash_t *h128,
			      uint64_t *h64)
{
	const uint8_t *p = src->data;
	void *map = NULL;
	size_t map_len = 0;

	if (!p) {
		map_len = base + len;
		/* MAP_POPULATE: one call maps every page instead of a fault per page. */
		map = map_len ? mmap(NULL, map_len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, src->fd, 0) : NULL;
		if (map == MAP_FAILED)
			return err_set_errno(ERR_IO, errno, "cannot map '%s'", src->name);
		p = map;
	}
	if (h128)
		*h128 = XXH3_128bits(p + base, len);
	if (h64)
		*h64 = XXH3_64bits(p + base, len);
	if (map)
		munmap(map, map_len);
	return 0;
}

/* Open an existing entry; 1 valid, 0 missing or invalid (to rebuild), -1 error. */
static int kcache_try(const char *path, XXH128_hash_t key, struct boot_source *out)
{
	struct kcache_header h;
	struct stat st;
	uint64_t hash, t0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : err_set_errno(ERR_IO, errno, "kernel cache: cannot open '%s'", path);
	*out = (struct boot_source){ .fd = fd, .name = path, .base = KCACHE_HEADER_SIZE };
	if (fstat(fd, &st) < 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, KCACHE_MAGIC, 8) || h.key_high != key.high64 || h.key_low != key.low64 ||
	    (uint64_t)st.st_size != KCACHE_HEADER_SIZE + h.size || h.size > UNPACK_MAX_SIZE)
		goto invalid;
	out->size = h.size;
	t0 = clock_ns();
	if (kcache_hash_source(out, KCACHE_HEADER_SIZE, h.size, NULL, &hash) < 0 || hash != h.image_hash)
		goto invalid;
	log_debug("kernel cache: %llu-byte image verified in %.1f ms", (unsigned long long)h.size,
		  (double)(clock_ns() - t0) / 1e6);
	return 1;
invalid:
	log_info("kernel cache: '%s' is corrupt, rebuilding it", path);
	close(fd);
	out->fd = -1;
	return 0;
}

static int write_all(int fd, const void *buf, uint64_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len > (1u << 30) ? (1u << 30) : len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Unpack the bzImage and store it as path, atomically; the entry is opened
 * as out (the file just written, so it is not hashed again). */
static int kcache_build(const char *dir, const char *path, const struct boot_source *bz, XXH128_hash_t key,
			struct boot_source *out)
{
	autofree uint8_t *image = NULL;
	uint8_t header[KCACHE_HEADER_SIZE] = { 0 };
	struct kcache_header h = { .key_high = key.high64, .key_low = key.low64 };
	char tmp[PATH_MAX];
	int fd;

	if (unpack_bzimage(bz, &image, &h.size) < 0)
		return -1;
	memcpy(h.magic, KCACHE_MAGIC, 8);
	h.image_hash = XXH3_64bits(image, h.size);
	memcpy(header, &h, sizeof(h));
	if (snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", dir) >= (int)sizeof(tmp))
		return err_set(ERR_INVALID, "kernel cache: directory name too long");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "kernel cache: cannot create a file in '%s'", dir);
	if (write_all(fd, header, sizeof(header)) < 0 || write_all(fd, image, h.size) < 0 || fsync(fd) < 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return err_set_errno(ERR_IO, e, "kernel cache: cannot write '%s'", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return err_set_errno(ERR_IO, e, "kernel cache: cannot rename '%s' to '%s'", tmp, path);
	}
	*out = (struct boot_source){ .fd = fd, .name = path, .base = KCACHE_HEADER_SIZE, .size = h.size };
	return 0;
}

int kcache_open(const char *dir, const struct boot_source *bz, char *path, size_t path_size,
		struct boot_source *out, bool *hit)
{
	XXH128_hash_t key;
	uint64_t t0;
	int rc;

	*hit = false;
	t0 = clock_ns();
	if (kcache_hash_source(bz, 0, bz->size, &key, NULL) < 0)
		return -1;
	log_debug("kernel cache: %llu-byte bzImage hashed in %.1f ms", (unsigned long long)bz->size,
		  (double)(clock_ns() - t0) / 1e6);
	if (snprintf(path, path_size, "%s/vmlinux-%016llx%016llx", dir, (unsigned long long)key.high64,
		     (unsigned long long)key.low64) >= (int)path_size)
		return err_set(ERR_INVALID, "kernel cache: directory name too long");
	rc = kcache_try(path, key, out);
	if (rc != 0) {
		*hit = rc > 0;
		return rc < 0 ? -1 : 0;
	}
	if (mkdir_p(dir, 0700) < 0)
		return err_prefix("kernel cache");
	return kcache_build(dir, path, bz, key, out);
}
