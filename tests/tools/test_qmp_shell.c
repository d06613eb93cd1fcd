/* Tests of the vireo-qmp tool (path in argv[1]) against the real QMP server: the
 * tool runs as a child process while this process pumps the server's loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "vmm/evloop.h"
#include "vmm/qmp/qmp.h"

static const char *tool_path;

struct fixture {
	char dir[64];
	char path[128];
	struct evloop *loop;
	struct qmp_server *srv;
};

struct run {
	pid_t pid;
	int out_fd;
	char out[65536];
	size_t out_len;
	int status;
	bool done;
};

static int cmd_echo(void *opaque, struct json_object *args, struct json_object **ret)
{
	(void)opaque;
	return json_object_deep_copy(args, ret, NULL) < 0 ? err_set(ERR_NOMEM, "copy") : 0;
}

static int cmd_fail(void *opaque, struct json_object *args, struct json_object **ret)
{
	(void)opaque;
	(void)args;
	(void)ret;
	return err_set(ERR_INVALID, "it failed");
}

static void server_start(struct fixture *f)
{
	f->srv = qmp_server_new(f->loop, f->path, 7, 2, 0);
	if (!f->srv)
		fail_msg("qmp_server_new: %s", err_message());
	assert_int_equal(qmp_register_command(f->srv, "echo", cmd_echo, NULL), 0);
	assert_int_equal(qmp_register_command(f->srv, "fail", cmd_fail, NULL), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vireo-qmp-shell-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/qmp.sock", f->dir);
	f->loop = evloop_new();
	assert_non_null(f->loop);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	qmp_server_free(f->srv);
	evloop_free(f->loop);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Start vireo-qmp with the given arguments (NULL-terminated), stdout to a pipe. */
static void run_start(struct run *r, const char *const *args)
{
	const char *argv[16] = { tool_path };
	int p[2];
	size_t n = 1;

	memset(r, 0, sizeof(*r));
	for (; args[n - 1] && n < ARRAY_SIZE(argv) - 1; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	assert_int_equal(pipe(p), 0);
	r->pid = fork();
	assert_true(r->pid >= 0);
	if (r->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(tool_path, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	r->out_fd = p[0];
	assert_int_equal(fcntl(r->out_fd, F_SETFL, O_NONBLOCK), 0);
}

/* Pump the server (if any) until the tool exits; returns its exit code. */
static int run_wait(struct fixture *f, struct run *r, void (*tick)(struct fixture *, int), int max_ms)
{
	uint64_t start = clock_ns();

	for (int i = 0; !r->done; i++) {
		pid_t w = waitpid(r->pid, &r->status, WNOHANG);
		ssize_t n;

		if (w == r->pid)
			r->done = true;
		if (f->srv)
			evloop_run_once(f->loop, 5);
		else
			usleep(5000);
		if (tick)
			tick(f, i);
		while ((n = read(r->out_fd, r->out + r->out_len, sizeof(r->out) - 1 - r->out_len)) > 0)
			r->out_len += (size_t)n;
		if ((clock_ns() - start) / 1000000 > (uint64_t)max_ms) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, &r->status, 0);
			fail_msg("vireo-qmp did not exit within %d ms", max_ms);
		}
	}
	close(r->out_fd);
	r->out[r->out_len] = '\0';
	assert_true(WIFEXITED(r->status));
	return WEXITSTATUS(r->status);
}

/* The tool prints exactly one JSON line. */
static struct json_object *run_output(struct run *r)
{
	struct json_object *o;
	char *nl = strchr(r->out, '\n');

	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	*nl = '\0';
	o = json_tokener_parse(r->out);
	assert_non_null(o);
	return o;
}

static void test_vireo_qmp_prints_return_and_exits_0(void **state)
{
	struct fixture *f = *state;
	struct run r;
	struct json_object *o, *want;

	server_start(f);
	run_start(&r, (const char *[]){ f->path, "echo", "{\"a\": [1, \"b\"]}", NULL });
	assert_int_equal(run_wait(f, &r, NULL, 10000), 0);
	o = run_output(&r);
	want = json_tokener_parse("{\"return\": {\"a\": [1, \"b\"]}}");
	assert_true(json_object_equal(o, want));
	json_object_put(o);
	json_object_put(want);
}

static void test_vireo_qmp_prints_error_and_exits_1(void **state)
{
	struct fixture *f = *state;
	struct run r;
	struct json_object *o, *err;

	server_start(f);
	run_start(&r, (const char *[]){ f->path, "fail", NULL });
	assert_int_equal(run_wait(f, &r, NULL, 10000), 1);
	o = run_output(&r);
	assert_true(json_object_object_get_ex(o, "error", &err));
	assert_string_equal(json_object_get_string(json_object_object_get(err, "desc")), "it failed");
	json_object_put(o);
	run_start(&r, (const char *[]){ f->path, "no-such-command", NULL });
	assert_int_equal(run_wait(f, &r, NULL, 10000), 1);
}

static void test_vireo_qmp_exits_2_without_a_server(void **state)
{
	struct fixture *f = *state;
	struct run r;

	run_start(&r, (const char *[]){ f->path, "query-version", NULL });
	assert_int_equal(run_wait(f, &r, NULL, 10000), 2);
	assert_int_equal(r.out_len, 0);
}

static void start_server_late(struct fixture *f, int tick)
{
	if (tick == 40 && !f->srv)
		server_start(f);
}

static void test_vireo_qmp_retry_waits_for_the_socket_to_appear(void **state)
{
	struct fixture *f = *state;
	struct run r;
	struct json_object *o;

	run_start(&r, (const char *[]){ "--retry", "10", f->path, "query-version", NULL });
	assert_int_equal(run_wait(f, &r, start_server_late, 15000), 0);
	assert_non_null(f->srv);
	o = run_output(&r);
	assert_true(json_object_object_get_ex(o, "return", NULL));
	json_object_put(o);
}

static void emit_events(struct fixture *f, int tick)
{
	/* Other events first: the tool must skip them. */
	if (tick % 10 == 0) {
		qmp_emit_event(f->srv, "STOP", NULL);
		if (tick >= 20) {
			struct json_object *d = json_object_new_object();

			json_object_object_add(d, "guest", json_object_new_boolean(1));
			qmp_emit_event(f->srv, "SHUTDOWN", d);
		}
	}
}

static void test_vireo_qmp_wait_event_prints_the_named_event(void **state)
{
	struct fixture *f = *state;
	struct run r;
	struct json_object *o, *ts;

	server_start(f);
	run_start(&r, (const char *[]){ f->path, "--wait-event", "SHUTDOWN", "--timeout", "10", NULL });
	assert_int_equal(run_wait(f, &r, emit_events, 15000), 0);
	o = run_output(&r);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "event")), "SHUTDOWN");
	assert_true(json_object_object_get_ex(o, "timestamp", &ts));
	assert_true(json_object_get_boolean(json_object_object_get(json_object_object_get(o, "data"), "guest")));
	json_object_put(o);
}

static void test_vireo_qmp_wait_event_times_out_with_3(void **state)
{
	struct fixture *f = *state;
	struct run r;
	uint64_t t0 = clock_ns();

	server_start(f);
	run_start(&r, (const char *[]){ "--timeout", "0.3", f->path, "--wait-event", "SHUTDOWN", NULL });
	assert_int_equal(run_wait(f, &r, NULL, 10000), 3);
	assert_true(clock_ns() - t0 >= 300000000ull);
	assert_int_equal(r.out_len, 0);
}

static void test_vireo_qmp_refuses_non_object_arguments(void **state)
{
	struct fixture *f = *state;
	struct run r;

	server_start(f);
	run_start(&r, (const char *[]){ f->path, "echo", "[1]", NULL });
	assert_int_equal(run_wait(f, &r, NULL, 10000), 64);
	run_start(&r, (const char *[]){ f->path, NULL });
	assert_int_equal(run_wait(f, &r, NULL, 10000), 64);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vireo_qmp_prints_return_and_exits_0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vireo_qmp_prints_error_and_exits_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vireo_qmp_exits_2_without_a_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vireo_qmp_retry_waits_for_the_socket_to_appear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vireo_qmp_wait_event_prints_the_named_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vireo_qmp_wait_event_times_out_with_3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vireo_qmp_refuses_non_object_arguments, setup, teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-vireo-qmp\n", argv[0]);
		return 2;
	}
	tool_path = argv[1];
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
