/* One error path for all of vireo: a failing function returns -1 (or NULL) and
 * records a code and a message here; callers may prefix context, never swallow.
 * The record is per thread, so vCPU and I/O threads do not clobber each other. */
#ifndef VIREO_COMMON_ERROR_H
#define VIREO_COMMON_ERROR_H

#include <stdarg.h>

enum err_code {
	ERR_OK = 0,
	ERR_INTERNAL,      /* a bug or an unexpected system failure */
	ERR_INVALID,       /* bad input from a user: option, XML, JSON, file */
	ERR_IO,            /* read/write/open failed */
	ERR_NOMEM,
	ERR_UNSUPPORTED,   /* valid but not implemented or not available here */
	ERR_CORRUPT,       /* on-disk or guest data is inconsistent */
	ERR_NOT_FOUND,
	ERR_EXISTS,
	ERR_PERMISSION,
	ERR_BUSY,
	ERR_GUEST,         /* the guest did something illegal */
};

#define ERR_MSG_MAX 1024

/* Record an error; returns -1 so callers can write `return err_set(...)`. */
int err_set(enum err_code code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like err_set, appending ": strerror(errnum)". */
int err_set_errno(enum err_code code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepend context to the current message: "ctx: old message". Returns -1. */
int err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum err_code err_code(void);
const char *err_message(void);
const char *err_code_name(enum err_code code);
void err_clear(void);

#endif
