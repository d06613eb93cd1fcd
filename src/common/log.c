/* Leveled logging (see log.h): one line per call, written with a single write(2)
 * so lines from vCPU threads do not interleave. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int current_level = -1;
static const char *log_prefix = "vireo";

static enum log_level level_from_env(void)
{
	const char *s = getenv("VIREO_LOG");

	if (!s)
		return LOG_WARN;
	if (!strcmp(s, "error"))
		return LOG_ERROR;
	if (!strcmp(s, "info"))
		return LOG_INFO;
	if (!strcmp(s, "debug"))
		return LOG_DEBUG;
	return LOG_WARN;
}

void log_set_level(enum log_level level)
{
	current_level = (int)level;
}

enum log_level log_get_level(void)
{
	if (current_level < 0)
		current_level = (int)level_from_env();
	return (enum log_level)current_level;
}

void log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[2048];
	va_list ap;
	int n;

	if (level > log_get_level())
		return;
	n = snprintf(line, sizeof(line), "%s: %s: ", log_prefix, names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
