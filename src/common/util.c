/* Helpers shared by all vireo programs (see util.h). */
#include "common/util.h"
#include "common/error.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int parse_size(const char *text, uint64_t default_unit, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = default_unit;

	if (!text || !*text || !isdigit((unsigned char)*text))
		return err_set(ERR_INVALID, "'%s' is not a size", text ? text : "");
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return err_set(ERR_INVALID, "size '%s' is out of range", text);
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'B': mult = 1; break;
		case 'K': mult = 1ULL << 10; break;
		case 'M': mult = 1ULL << 20; break;
		case 'G': mult = 1ULL << 30; break;
		case 'T': mult = 1ULL << 40; break;
		default:
			return err_set(ERR_INVALID, "size '%s' has an unknown unit '%s' (use K, M, G or T)",
				       text, end);
		}
		end++;
		if (mult != 1 && (!strcasecmp(end, "iB") || !strcasecmp(end, "B")))
			end += strlen(end);
		if (*end)
			return err_set(ERR_INVALID, "size '%s' has trailing characters '%s'", text, end);
	}
	if (mult && v > UINT64_MAX / mult)
		return err_set(ERR_INVALID, "size '%s' is too large", text);
	*out = v * mult;
	return 0;
}

int parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!text || !isdigit((unsigned char)*text))
		return err_set(ERR_INVALID, "'%s' is not a number", text ? text : "");
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end)
		return err_set(ERR_INVALID, "'%s' is not a number", text);
	if (v < min || v > max)
		return err_set(ERR_INVALID, "%llu is out of range [%llu, %llu]", v,
			       (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int read_file_all(const char *path, size_t max_len, uint8_t **data, size_t *len)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t done = 0;

	if (fd < 0)
		return err_set_errno(errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0)
		return err_set_errno(ERR_IO, errno, "cannot stat '%s'", path);
	if (!S_ISREG(st.st_mode))
		return err_set(ERR_INVALID, "'%s' is not a regular file", path);
	if ((uint64_t)st.st_size > max_len)
		return err_set(ERR_INVALID, "'%s' is too large (%lld bytes, limit %zu)", path,
			       (long long)st.st_size, max_len);
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		return err_set(ERR_NOMEM, "out of memory reading '%s'", path);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return err_set_errno(ERR_IO, n < 0 ? errno : EIO, "cannot read '%s'", path);
		}
		done += (size_t)n;
	}
	*data = buf;
	*len = done;
	return 0;
}

uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return err_set(ERR_INVALID, "directory path '%s' is empty or too long", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return err_set_errno(ERR_IO, errno, "cannot create directory %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return err_set_errno(ERR_IO, errno, "cannot create directory %s", buf);
	return 0;
}
