/* Per-thread error record shared by every vireo module (see error.h). */
#include "common/error.h"

#include <stdio.h>
#include <string.h>

static _Thread_local enum err_code last_code;
static _Thread_local char last_msg[ERR_MSG_MAX];

static int err_vset(enum err_code code, int errnum, const char *fmt, va_list ap)
{
	int n = vsnprintf(last_msg, sizeof(last_msg), fmt, ap);

	if (errnum && n >= 0 && (size_t)n < sizeof(last_msg))
		snprintf(last_msg + n, sizeof(last_msg) - (size_t)n, ": %s", strerror(errnum));
	last_code = code;
	return -1;
}

int err_set(enum err_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int err_set_errno(enum err_code code, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(code, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int err_prefix(const char *fmt, ...)
{
	char buf[2 * ERR_MSG_MAX + 2];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, ERR_MSG_MAX, fmt, ap);
	va_end(ap);
	n = strlen(buf);
	buf[n++] = ':';
	buf[n++] = ' ';
	memcpy(buf + n, last_msg, strnlen(last_msg, ERR_MSG_MAX - 1) + 1);
	buf[ERR_MSG_MAX - 1] = '\0';
	memcpy(last_msg, buf, ERR_MSG_MAX);
	if (last_code == ERR_OK)
		last_code = ERR_INTERNAL;
	return -1;
}

enum err_code err_code(void)
{
	return last_code;
}

const char *err_message(void)
{
	return last_code == ERR_OK ? "no error" : last_msg;
}

void err_clear(void)
{
	last_code = ERR_OK;
	last_msg[0] = '\0';
}

const char *err_code_name(enum err_code code)
{
	static const char *const names[] = {
		[ERR_OK] = "ok",
		[ERR_INTERNAL] = "internal-error",
		[ERR_INVALID] = "invalid-argument",
		[ERR_IO] = "io-error",
		[ERR_NOMEM] = "no-memory",
		[ERR_UNSUPPORTED] = "unsupported",
		[ERR_CORRUPT] = "corrupt",
		[ERR_NOT_FOUND] = "not-found",
		[ERR_EXISTS] = "exists",
		[ERR_PERMISSION] = "permission-denied",
		[ERR_BUSY] = "busy",
		[ERR_GUEST] = "guest-error",
	};

	if ((unsigned)code >= sizeof(names) / sizeof(names[0]) || !names[code])
		return "unknown";
	return names[code];
}
