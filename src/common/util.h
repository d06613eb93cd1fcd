/* Small helpers shared by all vireo programs: size parsing, cleanup attributes,
 * whole-file reading. */
#ifndef VIREO_COMMON_UTIL_H
#define VIREO_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define autofree __attribute__((cleanup(cleanup_freep)))
#define autoclose __attribute__((cleanup(cleanup_closep)))

/* Parse "512", "64K", "256M", "2G", "1T" (binary units, optional "iB"/"B").
 * A bare number is taken in units of default_unit bytes. Returns 0 or -1 with
 * the error set naming the text. */
int parse_size(const char *text, uint64_t default_unit, uint64_t *out);

/* Parse an unsigned decimal in [min, max]; -1 with error on junk or range. */
int parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Read a whole file (at most max_len bytes) into a malloc'd buffer. */
int read_file_all(const char *path, size_t max_len, uint8_t **data, size_t *len);

/* Monotonic clock in nanoseconds. */
uint64_t clock_ns(void);

/* mkdir -p: missing parents with mode 0755, the last component with mode;
 * existing directories are fine. -1 with the error naming the directory. */
int mkdir_p(const char *path, mode_t mode);

#endif
