/* Unit tests of vireod's modules without a daemon: the atomic store, JSON from
 * unterminated buffers, and the asynchronous QMP client against a scripted QMP
 * server thread, driven by iterating the main loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "daemon/daemon.h"

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/vdunit.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_store_write_replaces_whole_file_with_mode(void **state)
{
	char path[128];
	uint8_t *data = NULL;
	size_t len;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/a.xml", tmpdir);
	assert_int_equal(store_write_file(path, "first version, long", 19, 0600), 0);
	assert_int_equal(store_write_file(path, "second", 6, 0600), 0);
	assert_int_equal(read_file_all(path, 1024, &data, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(data, "second", 6);
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_store_write_into_missing_dir_fails_and_names_path(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/no/such/dir/a.xml", tmpdir);
	assert_int_equal(store_write_file(path, "x", 1, 0600), -1);
	assert_non_null(strstr(err_message(), "no/such/dir"));
}

static void test_store_quarantine_keeps_the_file_aside(void **state)
{
	char path[128], cmd[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.xml", tmpdir);
	assert_int_equal(store_write_file(path, "<junk", 5, 0600), 0);
	assert_int_equal(store_quarantine(path), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(cmd, sizeof(cmd), "ls %s/bad.xml.corrupt-* >/dev/null 2>&1", tmpdir);
	assert_int_equal(system(cmd), 0);
}

static void test_store_mkdir_p_sets_mode_on_existing_dir(void **state)
{
	char path[128];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/x/y/state", tmpdir);
	assert_int_equal(store_mkdir_p(path, 0755), 0);
	assert_int_equal(store_mkdir_p(path, 0700), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_parse_json_reads_unterminated_buffer_and_refuses_trailing_junk(void **state)
{
	char buf[16];
	json_object *o;

	(void)state;
	memcpy(buf, "{\"a\":1}XXXXXXXXX", 16);   /* no NUL anywhere */
	o = store_parse_json(buf, 7);
	assert_non_null(o);
	json_object_put(o);
	assert_null(store_parse_json(buf, 9));
	assert_null(store_parse_json("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 80));
	assert_null(store_parse_json("", 0));
}

/* ---- QMP client against a scripted server ---- */

struct script {
	char path[108];
	int listen_fd;
	bool send_error;     /* answer the second command with an error */
	bool event_first;    /* send an event before the answer */
};

/* No cmocka assertion off the main thread; a client that hung up is the client's test. */
static void srv_line(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		return;
}

static void *qmp_server(void *arg)
{
	struct script *sc = arg;
	int fd = accept(sc->listen_fd, NULL, NULL);
	char buf[4096];
	int cmds = 0;

	srv_line(fd, "{\"QMP\":{\"version\":{},\"capabilities\":[]}}\r\n");
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			break;
		buf[n] = 0;
		for (char *p = buf; (p = strchr(p, '\n')); p++) {
			cmds++;
			if (cmds >= 2 && sc->event_first)
				srv_line(fd, "{\"event\":\"STOP\",\"timestamp\":{\"seconds\":1,\"microseconds\":2}}\n");
			if (cmds == 2 && sc->send_error)
				srv_line(fd, "{\"error\":{\"class\":\"GenericError\",\"desc\":\"no way\"}}\n");
			else if (cmds == 3)
				goto out;   /* hang up: the client must see the close */
			else
				srv_line(fd, "{\"return\":{\"status\":\"running\"}}\n");
		}
	}
out:
	close(fd);
	return NULL;
}

static void start_server(struct script *sc, pthread_t *t)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(sc->path, sizeof(sc->path), "%s/q.sock", tmpdir);
	unlink(sc->path);
	strcpy(a.sun_path, sc->path);
	sc->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(sc->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(sc->listen_fd, 1), 0);
	pthread_create(t, NULL, qmp_server, sc);
}

struct seen {
	int events;
	char last[32];
	bool closed;
	int ready;            /* 0 waiting, 1 ok, -1 failed */
	int answers;
	json_object *ret;     /* the last answer's value (a reference) */
	char error[256];      /* the last failed answer's message */
};

static void on_event(void *opaque, const char *event, json_object *data)
{
	struct seen *s = opaque;

	(void)data;
	s->events++;
	snprintf(s->last, sizeof(s->last), "%s", event);
}

static void on_closed(void *opaque)
{
	((struct seen *)opaque)->closed = true;
}

static void on_ready(void *opaque, struct qmpc *q, bool ok)
{
	struct seen *s = opaque;

	(void)q;
	s->ready = ok ? 1 : -1;
	if (!ok)
		snprintf(s->error, sizeof(s->error), "%s", err_message());
}

static void on_answer(void *opaque, json_object *ret)
{
	struct seen *s = opaque;

	s->answers++;
	json_object_put(s->ret);
	s->ret = ret ? json_object_get(ret) : NULL;
	if (!ret)
		snprintf(s->error, sizeof(s->error), "%s", err_message());
}

/* Run the main loop (bounded) until *flag is non-zero. */
static void loop_until(const volatile int *flag)
{
	for (int i = 0; i < 5000 && !*flag; i++)
		g_main_context_iteration(NULL, FALSE), g_usleep(1000);
}

/* A scripted server thread and a client connecting to it (not yet ready). */
static struct qmpc *open_scripted(struct script *sc, pthread_t *t, struct seen *seen)
{
	struct qmpc *q;

	start_server(sc, t);
	q = qmpc_open(sc->path, 2000, on_ready, seen);
	assert_non_null(q);
	return q;
}

static void close_scripted(struct qmpc *q, struct script *sc, pthread_t t)
{
	qmpc_free(q);
	pthread_join(t, NULL);
	close(sc->listen_fd);
}

static void test_qmpc_answers_and_events_come_from_the_loop(void **state)
{
	struct script sc = { .event_first = true };
	struct seen seen = { 0 };
	pthread_t t;
	struct qmpc *q;
	json_object *st;

	(void)state;
	q = open_scripted(&sc, &t, &seen);
	assert_int_equal(seen.ready, 0);   /* the greeting comes later, on the loop */
	/* Asked before the connection is ready: sent after qmp_capabilities. */
	assert_int_equal(qmpc_call(q, "query-status", NULL, on_answer, &seen), 0);
	assert_int_equal(seen.answers, 0);
	loop_until(&seen.ready);
	assert_int_equal(seen.ready, 1);
	qmpc_set_handlers(q, on_event, on_closed, &seen);
	loop_until(&seen.answers);
	assert_int_equal(seen.answers, 1);
	assert_non_null(seen.ret);
	assert_true(json_object_object_get_ex(seen.ret, "status", &st));
	assert_string_equal(json_object_get_string(st), "running");
	loop_until(&seen.events);
	assert_int_equal(seen.events, 1);
	assert_string_equal(seen.last, "STOP");
	/* The server hangs up on the next command: an error answer, then the close callback. */
	assert_int_equal(qmpc_call(q, "stop", NULL, on_answer, &seen), 0);
	for (int i = 0; i < 5000 && !seen.closed; i++)
		g_main_context_iteration(NULL, FALSE), g_usleep(1000);
	assert_int_equal(seen.answers, 2);
	assert_null(seen.ret);
	assert_non_null(strstr(seen.error, "closed"));
	assert_true(seen.closed);
	close_scripted(q, &sc, t);
}

static void test_qmpc_error_reply_names_class_and_description(void **state)
{
	struct script sc = { .send_error = true };
	struct seen seen = { 0 };
	pthread_t t;
	struct qmpc *q;

	(void)state;
	q = open_scripted(&sc, &t, &seen);
	loop_until(&seen.ready);
	assert_int_equal(seen.ready, 1);
	assert_int_equal(qmpc_call(q, "system_reset", NULL, on_answer, &seen), 0);
	loop_until(&seen.answers);
	assert_null(seen.ret);
	assert_non_null(strstr(seen.error, "system_reset"));
	assert_non_null(strstr(seen.error, "no way"));
	close_scripted(q, &sc, t);
}

static void test_qmpc_free_answers_waiting_calls(void **state)
{
	struct script sc = { 0 };
	struct seen seen = { 0 };
	pthread_t t;
	struct qmpc *q;

	(void)state;
	q = open_scripted(&sc, &t, &seen);
	assert_int_equal(qmpc_call(q, "query-status", NULL, on_answer, &seen), 0);
	qmpc_free(q);
	/* Answered at once, with the reason, and never again. */
	assert_int_equal(seen.answers, 1);
	assert_null(seen.ret);
	assert_non_null(strstr(seen.error, "closed by vireod"));
	for (int i = 0; i < 50; i++)
		g_main_context_iteration(NULL, FALSE);
	assert_int_equal(seen.answers, 1);
	assert_int_equal(seen.ready, 0);
	pthread_join(t, NULL);
	close(sc.listen_fd);
}

static void test_qmpc_silent_server_times_out(void **state)
{
	struct seen seen = { 0 };
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;
	struct qmpc *q;

	(void)state;
	/* Listening but never greeting (a hung VMM): ready fails in time, never blocks. */
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/mute.sock", tmpdir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	gint64 t0 = g_get_monotonic_time();
	q = qmpc_open(a.sun_path, 200, on_ready, &seen);
	assert_non_null(q);
	assert_true(g_get_monotonic_time() - t0 < 100000);
	loop_until(&seen.ready);
	assert_int_equal(seen.ready, -1);
	assert_non_null(strstr(seen.error, "no greeting in time"));
	qmpc_free(q);
	close(fd);
}

static void test_qmpc_connect_to_missing_socket_fails_with_path(void **state)
{
	char path[128];
	struct seen seen = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/none.sock", tmpdir);
	assert_null(qmpc_open(path, 100, on_ready, &seen));
	assert_non_null(strstr(err_message(), "none.sock"));
	assert_int_equal(seen.ready, 0);
}

static void test_host_start_time_tells_live_from_gone(void **state)
{
	(void)state;
	assert_true(host_proc_start_time(getpid()) > 0);
	assert_int_equal(host_proc_start_time(0), 0);
	assert_int_equal(host_proc_start_time(0x3fffffff), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_write_replaces_whole_file_with_mode),
		cmocka_unit_test(test_store_write_into_missing_dir_fails_and_names_path),
		cmocka_unit_test(test_store_quarantine_keeps_the_file_aside),
		cmocka_unit_test(test_store_mkdir_p_sets_mode_on_existing_dir),
		cmocka_unit_test(test_parse_json_reads_unterminated_buffer_and_refuses_trailing_junk),
		cmocka_unit_test(test_qmpc_answers_and_events_come_from_the_loop),
		cmocka_unit_test(test_qmpc_error_reply_names_class_and_description),
		cmocka_unit_test(test_qmpc_free_answers_waiting_calls),
		cmocka_unit_test(test_qmpc_silent_server_times_out),
		cmocka_unit_test(test_qmpc_connect_to_missing_socket_fails_with_path),
		cmocka_unit_test(test_host_start_time_tells_live_from_gone),
	};

	/* The scripted server may write to a client that has already hung up. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
