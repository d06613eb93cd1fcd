/* Unit tests of the logging front end (src/common/log.c): level names and
 * filtering, the level from the environment, the journald detection from
 * JOURNAL_STREAM, and the journald datagrams with their priorities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"

static char tmpdir[64];
static int saved_stderr = -1;

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/vlogunit.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* stderr into a fresh file; returns its fd (for reading back). */
static int capture_stderr(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	if (saved_stderr < 0)
		saved_stderr = dup(STDERR_FILENO);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	return fd;
}

static void restore_stderr(void)
{
	dup2(saved_stderr, STDERR_FILENO);
}

static char *read_back(int fd)
{
	static char buf[4096];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static void stream_of(int fd, char *out, size_t size)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	snprintf(out, size, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

static void test_level_names_parse_and_refuse_others(void **state)
{
	enum log_level l;

	(void)state;
	assert_int_equal(log_parse_level("error", &l), 0);
	assert_int_equal(l, LOG_ERROR);
	assert_int_equal(log_parse_level("warn", &l), 0);
	assert_int_equal(l, LOG_WARN);
	assert_int_equal(log_parse_level("warning", &l), 0);
	assert_int_equal(l, LOG_WARN);
	assert_int_equal(log_parse_level("info", &l), 0);
	assert_int_equal(l, LOG_INFO);
	assert_int_equal(log_parse_level("debug", &l), 0);
	assert_int_equal(l, LOG_DEBUG);
	assert_int_equal(log_parse_level("verbose", &l), -1);
	assert_int_equal(log_parse_level("", &l), -1);
	assert_int_equal(log_parse_level("INFO ", &l), -1);
	assert_int_equal(log_parse_level(NULL, &l), -1);
	assert_string_equal(log_level_name(LOG_WARN), "warning");
}

static void test_messages_below_the_level_are_dropped(void **state)
{
	int fd;

	(void)state;
	log_init("t", NULL);
	fd = capture_stderr("filter");
	log_set_level(LOG_WARN);
	log_debug("d1");
	log_info("i1");
	log_warn("w%d", 1);
	log_error("e1");
	log_set_level(LOG_DEBUG);
	log_debug("d2");
	log_set_level(LOG_ERROR);
	log_warn("w2");
	log_error("e2");
	restore_stderr();
	assert_string_equal(read_back(fd), "t: warning: w1\nt: error: e1\nt: debug: d2\nt: error: e2\n");
	close(fd);
}

/* The level a process takes from its environment at log_init (in a child,
 * so this process's environment stays as it is). */
static int level_in_child(const char *level_env, const char *old_env)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDERR_FILENO);
		unsetenv("VIREO_LOG_LEVEL");
		unsetenv("VIREO_LOG");
		if (level_env)
			setenv("VIREO_LOG_LEVEL", level_env, 1);
		if (old_env)
			setenv("VIREO_LOG", old_env, 1);
		log_init(NULL, NULL);
		_exit((int)log_get_level());
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WEXITSTATUS(status);
}

static void test_level_comes_from_the_environment(void **state)
{
	(void)state;
	assert_int_equal(level_in_child(NULL, NULL), LOG_WARN);
	assert_int_equal(level_in_child("debug", NULL), LOG_DEBUG);
	assert_int_equal(level_in_child("error", "debug"), LOG_ERROR);   /* the new name wins */
	assert_int_equal(level_in_child(NULL, "info"), LOG_INFO);
	assert_int_equal(level_in_child("loud", NULL), LOG_WARN);
}

static void test_journal_stream_must_name_stderr(void **state)
{
	char path[128], stream[64], other[80];
	struct stat st;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/stream", tmpdir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	stream_of(fd, stream, sizeof(stream));
	assert_true(log_fd_is_journal(stream, fd));
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(other, sizeof(other), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	assert_false(log_fd_is_journal(other, fd));     /* another file: a VMM's log, say */
	assert_false(log_fd_is_journal(NULL, fd));
	assert_false(log_fd_is_journal("", fd));
	assert_false(log_fd_is_journal("12", fd));
	assert_false(log_fd_is_journal("a:b", fd));
	snprintf(other, sizeof(other), "%sx", stream);
	assert_false(log_fd_is_journal(other, fd));     /* trailing junk */
	assert_false(log_fd_is_journal(stream, 999));   /* not open */
	close(fd);
}

static void test_journal_gets_priorities_and_stderr_stays_quiet(void **state)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char stream[64], buf[1024];
	int sock, fd;
	ssize_t n;

	(void)state;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/journal", tmpdir);
	sock = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(sock, (struct sockaddr *)&a, sizeof(a)), 0);
	fd = capture_stderr("journal-stream");
	stream_of(fd, stream, sizeof(stream));
	setenv("JOURNAL_STREAM", stream, 1);
	log_init("vireod", a.sun_path);
	assert_true(log_to_journal());
	log_set_level(LOG_INFO);
	log_error("disk %s\nis gone", "vda");
	log_info("started");
	log_debug("not sent");
	n = recv(sock, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = 0;
	assert_string_equal(buf, "PRIORITY=3\nSYSLOG_IDENTIFIER=vireod\nMESSAGE=disk vda is gone\n");
	n = recv(sock, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = 0;
	assert_string_equal(buf, "PRIORITY=6\nSYSLOG_IDENTIFIER=vireod\nMESSAGE=started\n");
	assert_true(recv(sock, buf, sizeof(buf), MSG_DONTWAIT) < 0);
	/* journald gone: the line still reaches stderr (the journal stream). */
	close(sock);
	unlink(a.sun_path);
	log_warn("fallback");
	restore_stderr();
	assert_string_equal(read_back(fd), "vireod: warning: fallback\n");
	/* A stream that is not stderr's: plain stderr, no socket. */
	setenv("JOURNAL_STREAM", "1:1", 1);
	log_init("vireod", a.sun_path);
	assert_false(log_to_journal());
	unsetenv("JOURNAL_STREAM");
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_names_parse_and_refuse_others),
		cmocka_unit_test(test_messages_below_the_level_are_dropped),
		cmocka_unit_test(test_level_comes_from_the_environment),
		cmocka_unit_test(test_journal_stream_must_name_stderr),
		cmocka_unit_test(test_journal_gets_priorities_and_stderr_stays_quiet),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
