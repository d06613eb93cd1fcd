/* Unit tests of vireod's modules without a daemon: the atomic store, JSON from
 * unterminated buffers, and the QMP client against a scripted QMP server thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
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

static void srv_line(int fd, const char *s)
{
	assert_true(write(fd, s, strlen(s)) == (ssize_t)strlen(s));
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

static void test_qmpc_command_returns_value_and_events_come_from_the_loop(void **state)
{
	struct script sc = { .event_first = true };
	struct seen seen = { 0 };
	pthread_t t;
	struct qmpc *q;
	json_object *r, *st;

	(void)state;
	start_server(&sc, &t);
	q = qmpc_connect(sc.path, 2000);
	assert_non_null(q);
	qmpc_set_handlers(q, on_event, on_closed, &seen);
	r = qmpc_command(q, "query-status", NULL);
	assert_non_null(r);
	assert_true(json_object_object_get_ex(r, "status", &st));
	assert_string_equal(json_object_get_string(st), "running");
	json_object_put(r);
	/* The event that came before the answer is not delivered inside the call... */
	assert_int_equal(seen.events, 0);
	/* ...but from the main loop. */
	for (int i = 0; i < 100 && !seen.events; i++)
		g_main_context_iteration(NULL, FALSE);
	assert_int_equal(seen.events, 1);
	assert_string_equal(seen.last, "STOP");
	/* The server hangs up on the next command: an error, then the close callback. */
	assert_null(qmpc_command(q, "stop", NULL));
	assert_non_null(strstr(err_message(), "closed"));
	for (int i = 0; i < 1000 && !seen.closed; i++)
		g_main_context_iteration(NULL, FALSE);
	assert_true(seen.closed);
	qmpc_free(q);
	pthread_join(t, NULL);
	close(sc.listen_fd);
}

static void test_qmpc_error_reply_names_class_and_description(void **state)
{
	struct script sc = { .send_error = true };
	pthread_t t;
	struct qmpc *q;

	(void)state;
	start_server(&sc, &t);
	q = qmpc_connect(sc.path, 2000);
	assert_non_null(q);
	assert_null(qmpc_command(q, "system_reset", NULL));
	assert_non_null(strstr(err_message(), "system_reset"));
	assert_non_null(strstr(err_message(), "no way"));
	qmpc_free(q);
	pthread_join(t, NULL);
	close(sc.listen_fd);
}

static void test_qmpc_connect_to_missing_socket_fails_with_path(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/none.sock", tmpdir);
	assert_null(qmpc_connect(path, 100));
	assert_non_null(strstr(err_message(), "none.sock"));
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
		cmocka_unit_test(test_qmpc_command_returns_value_and_events_come_from_the_loop),
		cmocka_unit_test(test_qmpc_error_reply_names_class_and_description),
		cmocka_unit_test(test_qmpc_connect_to_missing_socket_fails_with_path),
		cmocka_unit_test(test_host_start_time_tells_live_from_gone),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
