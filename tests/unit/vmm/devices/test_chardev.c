/* Unit tests of the character backends: spec parsing, file output, and the
 * unix backend over a real socket (round trip, flow control, reconnects,
 * bounded output when the reader stalls). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "vmm/devices/chardev.h"

struct input_log {
	uint8_t buf[4096];
	size_t len;
	size_t take_max;   /* take at most this many per call (0: all) */
};

static size_t input_log_fn(void *opaque, const uint8_t *buf, size_t len)
{
	struct input_log *l = opaque;
	size_t n = l->take_max && len > l->take_max ? l->take_max : len;

	if (n > sizeof(l->buf) - l->len)
		n = sizeof(l->buf) - l->len;
	memcpy(l->buf + l->len, buf, n);
	l->len += n;
	return n;
}

static void sock_path(char *out, size_t size, const char *tag)
{
	snprintf(out, size, "/tmp/vireo-chardev-%s-%d.sock", tag, (int)getpid());
}

static int connect_client(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Run the loop until cond() holds or about a second passes. */
static void run_until(struct evloop *loop, bool (*cond)(void *), void *arg)
{
	for (int i = 0; i < 100 && !cond(arg); i++)
		evloop_run_once(loop, 10);
}

static bool is_connected(void *cd)
{
	return chardev_connected(cd);
}

struct want_len {
	struct input_log *log;
	size_t len;
};

static bool log_has(void *arg)
{
	struct want_len *w = arg;

	return w->log->len >= w->len;
}

static void test_chardev_rejects_bad_specs_and_names_them(void **state)
{
	const char *bad[] = { "tcp:1234", "file:", "unix:", "unix:,server", "stdio:x", "pty",
			      "unix:/tmp/x,reconnect=1" };
	struct evloop *loop = evloop_new();

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear();
		assert_null(chardev_open(bad[i], loop));
		assert_int_equal(err_code(), ERR_INVALID);
		assert_non_null(strstr(err_message(), bad[i]));
	}
	assert_null(chardev_open("", loop));
	assert_null(chardev_open("file:/nonexistent-dir/x", NULL));
	assert_int_equal(err_code(), ERR_IO);
	assert_non_null(strstr(err_message(), "/nonexistent-dir/x"));
	evloop_free(loop);
}

static void test_chardev_file_is_truncated_and_receives_output(void **state)
{
	char path[64], spec[80], buf[32] = { 0 };
	struct chardev *cd;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/vireo-chardev-file-%d", (int)getpid());
	fp = fopen(path, "w");
	fputs("old contents that must vanish", fp);
	fclose(fp);
	snprintf(spec, sizeof(spec), "file:%s", path);
	cd = chardev_open(spec, NULL);
	assert_non_null(cd);
	assert_string_equal(chardev_kind(cd), "file");
	chardev_write(cd, "boot ok\n", 8);
	chardev_close(cd);
	fp = fopen(path, "r");
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, fp), 8);
	fclose(fp);
	assert_string_equal(buf, "boot ok\n");
	unlink(path);
}

static void test_chardev_none_discards_output(void **state)
{
	struct chardev *cd = chardev_open("none", NULL);

	(void)state;
	assert_non_null(cd);
	chardev_write(cd, "x", 1);
	assert_int_equal(chardev_dropped(cd), 0);
	chardev_close(cd);
}

static void test_chardev_unix_round_trip_over_a_real_socket(void **state)
{
	struct evloop *loop = evloop_new();
	struct input_log log = { 0 };
	struct want_len want = { &log, 5 };
	char path[80], spec[128], buf[16] = { 0 };
	struct chardev *cd;
	int fd;

	(void)state;
	sock_path(path, sizeof(path), "rt");
	snprintf(spec, sizeof(spec), "unix:%s,server,nowait", path);
	cd = chardev_open(spec, loop);
	assert_non_null(cd);
	chardev_set_input(cd, input_log_fn, &log);
	/* Output before any client is discarded, not queued. */
	chardev_write(cd, "lost", 4);
	fd = connect_client(path);
	run_until(loop, is_connected, cd);
	assert_true(chardev_connected(cd));
	assert_int_equal(write(fd, "hello", 5), 5);
	run_until(loop, log_has, &want);
	assert_int_equal(log.len, 5);
	assert_memory_equal(log.buf, "hello", 5);
	chardev_write(cd, "guest", 5);
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "guest");
	close(fd);
	chardev_close(cd);
	assert_int_equal(access(path, F_OK), -1);   /* socket file removed */
	evloop_free(loop);
}

static void test_chardev_unix_pauses_input_until_device_accepts_again(void **state)
{
	struct evloop *loop = evloop_new();
	struct input_log log = { .take_max = 2 };
	struct want_len want = { &log, 6 };
	char path[80], spec[128];
	struct chardev *cd;
	int fd;

	(void)state;
	sock_path(path, sizeof(path), "fc");
	snprintf(spec, sizeof(spec), "unix:%s", path);
	cd = chardev_open(spec, loop);
	assert_non_null(cd);
	chardev_set_input(cd, input_log_fn, &log);
	fd = connect_client(path);
	run_until(loop, is_connected, cd);
	assert_int_equal(write(fd, "abcdef", 6), 6);
	for (int i = 0; i < 10; i++)
		evloop_run_once(loop, 10);
	/* The device took 2 bytes and, by taking fewer than offered, paused us. */
	assert_int_equal(log.len, 2);
	chardev_accept_input(cd, true);
	for (int i = 0; i < 10; i++)
		evloop_run_once(loop, 10);
	assert_int_equal(log.len, 4);
	chardev_accept_input(cd, true);
	run_until(loop, log_has, &want);
	assert_int_equal(log.len, 6);
	assert_memory_equal(log.buf, "abcdef", 6);
	close(fd);
	chardev_close(cd);
	evloop_free(loop);
}

/* A device that takes part of the input and has room again before the input
 * call returns (a vCPU drained its FIFO meanwhile) resumes the chardev from
 * inside the call; that resume must not be lost. */
struct resume_inside {
	struct input_log log;
	struct chardev *cd;
};

static size_t input_resume_inside_fn(void *opaque, const uint8_t *buf, size_t len)
{
	struct resume_inside *r = opaque;
	size_t n = input_log_fn(&r->log, buf, len);

	if (n < len)
		chardev_accept_input(r->cd, true);
	return n;
}

static void test_chardev_resume_during_a_partial_take_is_not_lost(void **state)
{
	struct evloop *loop = evloop_new();
	struct resume_inside r = { .log = { .take_max = 3 } };
	struct want_len want = { &r.log, 19 };
	char path[80], spec[128];
	int fd;

	(void)state;
	sock_path(path, sizeof(path), "ri");
	snprintf(spec, sizeof(spec), "unix:%s", path);
	r.cd = chardev_open(spec, loop);
	assert_non_null(r.cd);
	chardev_set_input(r.cd, input_resume_inside_fn, &r);
	fd = connect_client(path);
	run_until(loop, is_connected, r.cd);
	assert_int_equal(write(fd, "0123456789abcdefghi", 19), 19);
	run_until(loop, log_has, &want);
	assert_int_equal(r.log.len, 19);
	assert_memory_equal(r.log.buf, "0123456789abcdefghi", 19);
	close(fd);
	chardev_close(r.cd);
	evloop_free(loop);
}

static void test_chardev_unix_new_client_replaces_the_old_one(void **state)
{
	struct evloop *loop = evloop_new();
	char path[80], spec[128], buf[8];
	struct chardev *cd;
	int a, b;

	(void)state;
	sock_path(path, sizeof(path), "re");
	snprintf(spec, sizeof(spec), "unix:%s", path);
	cd = chardev_open(spec, loop);
	assert_non_null(cd);
	a = connect_client(path);
	run_until(loop, is_connected, cd);
	b = connect_client(path);
	for (int i = 0; i < 5; i++)
		evloop_run_once(loop, 10);
	chardev_write(cd, "to-b", 4);
	assert_int_equal(read(a, buf, sizeof(buf)), 0);   /* old client closed */
	assert_int_equal(read(b, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "to-b", 4);
	close(a);
	close(b);
	chardev_close(cd);
	evloop_free(loop);
}

static void test_chardev_unix_client_hangup_is_noticed(void **state)
{
	struct evloop *loop = evloop_new();
	char path[80], spec[128];
	struct chardev *cd;
	int fd;

	(void)state;
	sock_path(path, sizeof(path), "hu");
	snprintf(spec, sizeof(spec), "unix:%s", path);
	cd = chardev_open(spec, loop);
	fd = connect_client(path);
	run_until(loop, is_connected, cd);
	close(fd);
	for (int i = 0; i < 10 && chardev_connected(cd); i++)
		evloop_run_once(loop, 10);
	assert_false(chardev_connected(cd));
	chardev_write(cd, "x", 1);   /* discarded, no crash, no SIGPIPE */
	chardev_close(cd);
	evloop_free(loop);
}

static void test_chardev_output_ring_drops_oldest_when_reader_stalls(void **state)
{
	struct evloop *loop = evloop_new();
	const size_t total = 4 * 1024 * 1024;
	uint8_t *sent = malloc(total), *got = malloc(total);
	char path[80], spec[128];
	size_t got_len = 0;
	struct chardev *cd;
	uint64_t t0;
	int fd;

	(void)state;
	sock_path(path, sizeof(path), "dr");
	snprintf(spec, sizeof(spec), "unix:%s", path);
	cd = chardev_open(spec, loop);
	fd = connect_client(path);
	run_until(loop, is_connected, cd);
	for (size_t i = 0; i < total; i++)
		sent[i] = (uint8_t)(i * 7 + i / 251);
	/* The client does not read: writes must return promptly anyway. */
	t0 = clock_ns();
	for (size_t off = 0; off < total; off += 1024)
		chardev_write(cd, sent + off, 1024);
	assert_true(clock_ns() - t0 < 2000000000ULL);
	assert_true(chardev_dropped(cd) > 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (int idle = 0; idle < 20;) {
		ssize_t n = read(fd, got + got_len, total - got_len);

		if (n > 0) {
			got_len += (size_t)n;
			idle = 0;
		} else {
			evloop_run_once(loop, 5);
			idle++;
		}
	}
	/* Everything was either delivered or counted as dropped, and what
	 * arrived last is the newest output. */
	assert_int_equal(got_len + chardev_dropped(cd), total);
	assert_true(got_len >= CHARDEV_OUT_BUF);
	assert_memory_equal(got + got_len - CHARDEV_OUT_BUF, sent + total - CHARDEV_OUT_BUF,
			    CHARDEV_OUT_BUF);
	close(fd);
	chardev_close(cd);
	evloop_free(loop);
	free(sent);
	free(got);
}

/* Runs in a child whose stdin/stdout are a pty slave; returns 0 or the step
 * that failed (cmocka asserts cannot cross the fork). */
static int stdio_child(int master)
{
	struct evloop *loop = evloop_new();
	struct input_log log = { 0 };
	struct chardev *cd;
	struct termios t;
	char buf[16] = { 0 };

	cd = chardev_open("stdio", loop);
	if (!cd)
		return 1;
	if (tcgetattr(0, &t) < 0 || (t.c_lflag & (ICANON | ECHO)) || !(t.c_lflag & ISIG))
		return 2;                          /* raw, but Ctrl-C still a signal */
	if (chardev_open("stdio", loop) != NULL || err_code() != ERR_BUSY)
		return 3;                          /* one stdio user at a time */
	chardev_set_input(cd, input_log_fn, &log);
	chardev_write(cd, "out", 3);
	if (read(master, buf, sizeof(buf)) != 3 || memcmp(buf, "out", 3))
		return 4;
	if (write(master, "k", 1) != 1)
		return 5;
	for (int i = 0; i < 50 && log.len == 0; i++)
		evloop_run_once(loop, 10);
	if (log.len != 1 || log.buf[0] != 'k')
		return 6;
	chardev_close(cd);
	if (tcgetattr(0, &t) < 0 || !(t.c_lflag & ICANON) || !(t.c_lflag & ECHO))
		return 7;                          /* terminal restored */
	evloop_free(loop);
	return 0;
}

static void test_chardev_stdio_makes_a_tty_raw_and_restores_it(void **state)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY), status;
	pid_t pid;

	(void)state;
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
		struct termios t;

		if (slave < 0 || dup2(slave, 0) < 0 || dup2(slave, 1) < 0)
			_exit(100);
		/* A cooked terminal to start from, with no output rewriting. */
		tcgetattr(0, &t);
		t.c_lflag |= ICANON | ECHO | ISIG;
		t.c_oflag &= ~(tcflag_t)OPOST;
		tcsetattr(0, TCSANOW, &t);
		_exit(stdio_child(master));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(master);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chardev_rejects_bad_specs_and_names_them),
		cmocka_unit_test(test_chardev_file_is_truncated_and_receives_output),
		cmocka_unit_test(test_chardev_none_discards_output),
		cmocka_unit_test(test_chardev_unix_round_trip_over_a_real_socket),
		cmocka_unit_test(test_chardev_unix_pauses_input_until_device_accepts_again),
		cmocka_unit_test(test_chardev_resume_during_a_partial_take_is_not_lost),
		cmocka_unit_test(test_chardev_unix_new_client_replaces_the_old_one),
		cmocka_unit_test(test_chardev_unix_client_hangup_is_noticed),
		cmocka_unit_test(test_chardev_output_ring_drops_oldest_when_reader_stalls),
		cmocka_unit_test(test_chardev_stdio_makes_a_tty_raw_and_restores_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
