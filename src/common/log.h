/* Leveled logging shared by all vireo programs (no GLib: the VMM uses it too).
 * The level comes from log_set_level(), else VIREO_LOG_LEVEL (or the older
 * VIREO_LOG): error|warn|info|debug. Lines go to stderr with the level named,
 * or, when stderr is the journal (systemd's JOURNAL_STREAM names stderr's
 * device:inode), to journald's native socket with a syslog priority. */
#ifndef VIREO_COMMON_LOG_H
#define VIREO_COMMON_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

void log_set_level(enum log_level level);
void log_set_prefix(const char *prefix);
enum log_level log_get_level(void);
/* "error", "warn" (or "warning"), "info", "debug" -> level; -1 if none of them. */
int log_parse_level(const char *text, enum log_level *level);
const char *log_level_name(enum log_level level);
/* Does JOURNAL_STREAM's "DEV:INO" (journal_stream) name the open file fd? */
bool log_fd_is_journal(const char *journal_stream, int fd);
/* Take the level from the environment and pick the destination, once, before
 * threads start: journald through journal_socket (NULL: LOG_JOURNAL_SOCKET)
 * when stderr is the journal, else stderr. Without a call, lines go to stderr. */
void log_init(const char *prefix, const char *journal_socket);
bool log_to_journal(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
