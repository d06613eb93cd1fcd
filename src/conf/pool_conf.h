/* libvirt's storage pool XML (type='dir') and storage volume XML (file volumes,
 * raw or qcow2, with a backing store): strict parse naming the offending element
 * and its line, validation, and libvirt-ordered formatting. Prefixes pool_def_, vol_def_. */
#ifndef VIREO_CONF_POOL_CONF_H
#define VIREO_CONF_POOL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POOL_NAME_MAX 64
#define VOL_NAME_MAX 255
#define POOL_UUID_LEN 16

/* <permissions> of a pool target or a volume target. */
struct pool_perms {
	bool has_mode, has_owner, has_group;
	unsigned int mode;          /* 0..07777 */
	uint32_t owner, group;
};

struct pool_def {
	char *name;
	uint8_t uuid[POOL_UUID_LEN];
	char *target_path;          /* absolute directory */
	struct pool_perms perms;
	/* Output only (filled in by the daemon from statvfs); accepted and dropped on input. */
	uint64_t capacity, allocation, available;
};

enum vol_format { VOL_FORMAT_RAW = 0, VOL_FORMAT_QCOW2 };

struct vol_def {
	char *name;
	uint64_t capacity;          /* bytes (virtual size) */
	uint64_t allocation;        /* bytes: asked for on input (0 = thin), st_blocks on output */
	bool has_allocation;
	uint64_t physical;          /* output only: host file length */
	enum vol_format format;
	char *path;                 /* output (key and target path); dropped on input */
	struct pool_perms perms;
	bool has_backing;
	char *backing_path;         /* a path, or a volume name of the same pool */
	enum vol_format backing_format;
};

/* Parse flags */
#define POOL_PARSE_VALIDATE 1u     /* run pool_def_validate / vol_def_validate */

struct pool_def *pool_def_parse(const char *xml, size_t len, unsigned int flags);
struct pool_def *pool_def_parse_file(const char *path, unsigned int flags);
int pool_def_validate(const struct pool_def *def);
/* Format flags */
#define POOL_FORMAT_INACTIVE 1u    /* persistent config: no capacity/allocation/available */
char *pool_def_format(const struct pool_def *def, unsigned int flags);
void pool_def_free(struct pool_def *def);

/* Pool names: [A-Za-z0-9][A-Za-z0-9._+-]{0,63}. */
bool pool_name_is_valid(const char *name);

struct vol_def *vol_def_parse(const char *xml, size_t len, unsigned int flags);
int vol_def_validate(const struct vol_def *def);
char *vol_def_format(const struct vol_def *def, unsigned int flags);
void vol_def_free(struct vol_def *def);

/* Volume names become file names in the pool directory: letters, digits and
 * '_', '.', '+', '-', not starting with '.', at most 255 bytes (so no '/' and no '..'). */
bool vol_name_is_valid(const char *name);
/* "raw" / "qcow2" <-> enum; -1 with an error naming the value otherwise. */
int vol_format_parse(const char *text, enum vol_format *out);
const char *vol_format_name(enum vol_format f);

#endif
