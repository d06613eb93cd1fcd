/* Leveled logging (see log.h): one line per call, written with a single write(2)
 * or one journald datagram, so lines from vCPU threads do not interleave. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

static int current_level = -1;
static const char *log_prefix = "vireo";
static int journal_fd = -1;
static struct sockaddr_un journal_addr;

static const char *const level_names[] = { "error", "warning", "info", "debug" };
/* syslog priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const char level_priority[] = { '3', '4', '6', '7' };

int log_parse_level(const char *text, enum log_level *level)
{
	static const struct { const char *name; enum log_level level; } names[] = {
		{ "error", LOG_ERROR }, { "warn", LOG_WARN }, { "warning", LOG_WARN },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};

	for (size_t i = 0; text && i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(text, names[i].name)) {
			*level = names[i].level;
			return 0;
		}
	}
	return -1;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned int)level <= LOG_DEBUG ? level_names[level] : "unknown";
}

static enum log_level level_from_env(void)
{
	const char *keys[] = { "VIREO_LOG_LEVEL", "VIREO_LOG" };
	enum log_level level;

	for (size_t i = 0; i < 2; i++) {
		const char *s = getenv(keys[i]);
		if (!s)
			continue;
		if (log_parse_level(s, &level) == 0)
			return level;
		fprintf(stderr, "%s: %s='%s' is not error, warn, info or debug; using warn\n",
			log_prefix, keys[i], s);
		return LOG_WARN;
	}
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

bool log_fd_is_journal(const char *journal_stream, int fd)
{
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	/* systemd sets "DEV:INO" of the stream it connected; a child whose stderr
	 * went elsewhere (a VMM's log file) inherits the variable but not the stream. */
	if (!journal_stream || sscanf(journal_stream, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *prefix, const char *journal_socket)
{
	const char *path = journal_socket ? journal_socket : LOG_JOURNAL_SOCKET;

	if (prefix)
		log_prefix = prefix;
	current_level = (int)level_from_env();
	if (journal_fd >= 0) {
		close(journal_fd);
		journal_fd = -1;
	}
	if (!log_fd_is_journal(getenv("JOURNAL_STREAM"), STDERR_FILENO) ||
	    strlen(path) >= sizeof(journal_addr.sun_path))
		return;
	journal_addr.sun_family = AF_UNIX;
	strcpy(journal_addr.sun_path, path);
	journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

bool log_to_journal(void)
{
	return journal_fd >= 0;
}

/* One datagram of journald's native protocol: KEY=value lines (no newline in
 * a value; the message's own newlines became spaces). */
static int log_send_journal(enum log_level level, const char *message)
{
	char head[128];
	int n = snprintf(head, sizeof(head), "PRIORITY=%c\nSYSLOG_IDENTIFIER=%s\nMESSAGE=",
			 level_priority[level], log_prefix);
	struct iovec iov[3] = {
		{ .iov_base = head, .iov_len = (size_t)n },
		{ .iov_base = (void *)message, .iov_len = strlen(message) },
		{ .iov_base = "\n", .iov_len = 1 },
	};
	struct msghdr mh = {
		.msg_name = &journal_addr, .msg_namelen = sizeof(journal_addr),
		.msg_iov = iov, .msg_iovlen = 3,
	};

	if (n < 0 || n >= (int)sizeof(head))
		return -1;
	return sendmsg(journal_fd, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n, m;

	if ((unsigned int)level > LOG_DEBUG || level > log_get_level())
		return;
	if (journal_fd >= 0) {
		va_start(ap, fmt);
		m = vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		if (m >= 0) {
			for (char *p = line; (p = strchr(p, '\n')); )
				*p = ' ';
			if (log_send_journal(level, line) == 0)
				return;
		}
		/* journald gone: the line still goes to stderr, which is the journal stream. */
	}
	n = snprintf(line, sizeof(line), "%s: %s: ", log_prefix, level_names[level]);
	if (n < 0 || n >= (int)sizeof(line) - 2)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
