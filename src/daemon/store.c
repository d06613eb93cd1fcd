/* Atomic configuration store: a file is written to a temporary name beside its
 * target, fsync'ed, renamed over it and the directory fsync'ed, so a crash leaves
 * either the old or the new file, never half of one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "daemon/daemon.h"

int store_mkdir_p(const char *path, mode_t mode)
{
	if (mkdir_p(path, mode) < 0)
		return -1;
	/* An existing directory gets the mode too: state must not stay world-readable. */
	if (chmod(path, mode) < 0)
		return err_set_errno(ERR_IO, errno, "cannot chmod directory %s", path);
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 1;
	int fd;

	if (n == 0)
		n = 1;
	if (n >= sizeof(dir))
		return err_set(ERR_INVALID, "path '%s' too long", path);
	memcpy(dir, slash ? path : ".", n);
	dir[n] = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "cannot open directory %s", dir);
	fsync(fd);
	close(fd);
	return 0;
}

int store_write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	char tmp[4200];
	size_t off = 0;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return err_set(ERR_INVALID, "path '%s' too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "cannot create %s", tmp);
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return err_set_errno(ERR_IO, e, "cannot write %s", tmp);
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return err_set_errno(ERR_IO, e, "cannot fsync %s", tmp);
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return err_set_errno(ERR_IO, e, "cannot rename %s to %s", tmp, path);
	}
	return fsync_dir_of(path);
}

int store_quarantine(const char *path)
{
	char aside[4200];

	if (snprintf(aside, sizeof(aside), "%s.corrupt-%lld", path, (long long)time(NULL)) >=
	    (int)sizeof(aside))
		return err_set(ERR_INVALID, "path '%s' too long", path);
	if (rename(path, aside) < 0)
		return err_set_errno(ERR_IO, errno, "cannot move %s aside", path);
	return 0;
}

json_object *store_parse_json(const char *data, size_t len)
{
	struct json_tokener *tok;
	json_object *o;

	if (len > INT32_MAX) {
		err_set(ERR_INVALID, "JSON text over 2 GiB");
		return NULL;
	}
	/* json-c's default depth (32) bounds nesting bombs. */
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, data, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		err_set(ERR_INVALID, "invalid JSON: %s", json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}
