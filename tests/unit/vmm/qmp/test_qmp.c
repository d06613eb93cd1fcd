/* Unit tests of the QMP server: a real server on a unix socket in a temp dir,
 * driven by in-process clients while the test pumps evloop_run_once(). Includes
 * 1,000 generated malformed inputs that must each be answered or dropped cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "vmm/evloop.h"
#include "vmm/qmp/qmp.h"

struct fixture {
	char dir[64];
	char path[128];
	struct evloop *loop;
	struct qmp_server *srv;
	int handler_calls;
};

struct tclient {
	int fd;
	char *buf;
	size_t len, cap;
	bool eof;
};

/* ---- helpers ---- */

static uint64_t now_ms(void)
{
	return clock_ns() / 1000000;
}

static void pump(struct fixture *f, int ms)
{
	assert_true(evloop_run_once(f->loop, ms) >= 0);
}

/* Pull whatever the server has written so far into the client's buffer. */
static void tclient_fill(struct tclient *c)
{
	for (;;) {
		ssize_t n;

		if (c->cap - c->len < 65536) {
			c->cap = c->cap * 2 + 65536;
			c->buf = realloc(c->buf, c->cap);
			assert_non_null(c->buf);
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			c->eof = true;
		return;
	}
}

/* Next complete reply line as a JSON object, pumping the server up to timeout_ms.
 * NULL on timeout or when the server closed the connection. Every line the
 * server sends must be a JSON object: anything else fails the test. */
static struct json_object *tclient_recv(struct fixture *f, struct tclient *c, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		char *nl;

		c->buf[c->len] = '\0';
		nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl) {
			size_t linelen = (size_t)(nl - c->buf) + 1;
			struct json_object *o;

			assert_true(linelen >= 2 && nl[-1] == '\r');
			nl[-1] = '\0';
			/* The QMP spec: the server's output is ASCII. */
			for (const char *p = c->buf; *p; p++)
				if ((unsigned char)*p >= 0x80)
					fail_msg("server sent a non-ASCII byte: %.200s", c->buf);
			o = json_tokener_parse(c->buf);
			if (!o || !json_object_is_type(o, json_type_object))
				fail_msg("server sent a line that is not a JSON object: %.200s", c->buf);
			memmove(c->buf, c->buf + linelen, c->len - linelen);
			c->len -= linelen;
			return o;
		}
		if (c->eof || now_ms() > deadline)
			return NULL;
		pump(f, 2);
		tclient_fill(c);
	}
}

/* Write everything, pumping the server so that a large write cannot dead-lock
 * against the server's own replies. Returns false if the server closed on us. */
static bool tclient_send_bytes(struct fixture *f, struct tclient *c, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return false;
			pump(f, 2);
			tclient_fill(c);
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void tclient_send(struct fixture *f, struct tclient *c, const char *text)
{
	assert_true(tclient_send_bytes(f, c, text, strlen(text)));
}

static struct tclient *tclient_connect(struct fixture *f)
{
	struct tclient *c = calloc(1, sizeof(*c));
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	assert_non_null(c);
	c->cap = 65536;
	c->buf = malloc(c->cap);
	assert_non_null(c->buf);
	assert_true(strlen(f->path) < sizeof(addr.sun_path));
	memcpy(addr.sun_path, f->path, strlen(f->path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return c;
}

static void tclient_close(struct tclient *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

static const char *jstr(struct json_object *o, const char *path1, const char *path2)
{
	struct json_object *v = o;

	if (!json_object_object_get_ex(v, path1, &v))
		return NULL;
	if (path2 && !json_object_object_get_ex(v, path2, &v))
		return NULL;
	return json_object_get_string(v);
}

static void expect_error(struct json_object *reply, const char *cls, const char *desc)
{
	assert_non_null(reply);
	if (!jstr(reply, "error", "class"))
		fail_msg("expected an error, got %s", json_object_to_json_string(reply));
	assert_string_equal(jstr(reply, "error", "class"), cls);
	if (desc)
		assert_string_equal(jstr(reply, "error", "desc"), desc);
}

static void expect_return(struct json_object *reply)
{
	struct json_object *ret;

	assert_non_null(reply);
	if (!json_object_object_get_ex(reply, "return", &ret))
		fail_msg("expected a return, got %s", json_object_to_json_string(reply));
}

/* Connect, read the greeting, optionally negotiate. */
static struct tclient *tclient_open(struct fixture *f, bool negotiate)
{
	struct tclient *c = tclient_connect(f);
	struct json_object *g = tclient_recv(f, c, 2000);

	assert_non_null(g);
	assert_true(json_object_object_get_ex(g, "QMP", NULL));
	json_object_put(g);
	if (negotiate) {
		struct json_object *r;

		tclient_send(f, c, "{\"execute\": \"qmp_capabilities\"}\n");
		r = tclient_recv(f, c, 2000);
		expect_return(r);
		json_object_put(r);
	}
	return c;
}

/* Send one request and return its reply. */
static struct json_object *tclient_call(struct fixture *f, struct tclient *c, const char *text)
{
	tclient_send(f, c, text);
	return tclient_recv(f, c, 2000);
}

/* ---- test commands registered by the fixture ---- */

static int cmd_echo_args(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct fixture *f = opaque;

	f->handler_calls++;
	assert_non_null(args);
	return json_object_deep_copy(args, ret, NULL) < 0 ? err_set(ERR_NOMEM, "copy") : 0;
}

static int cmd_fail_invalid(void *opaque, struct json_object *args, struct json_object **ret)
{
	(void)opaque;
	(void)args;
	(void)ret;
	return err_set(ERR_INVALID, "disk 'vda' has no medium");
}

static int cmd_fail_not_found(void *opaque, struct json_object *args, struct json_object **ret)
{
	(void)opaque;
	(void)args;
	(void)ret;
	return err_set(ERR_NOT_FOUND, "nothing here");
}

static int cmd_fail_with_class(void *opaque, struct json_object *args, struct json_object **ret)
{
	(void)opaque;
	(void)args;
	(void)ret;
	qmp_set_error_class("DeviceNotActive");
	return err_set(ERR_INVALID, "No balloon device has been activated");
}

static int cmd_fail_silently(void *opaque, struct json_object *args, struct json_object **ret)
{
	(void)opaque;
	(void)args;
	*ret = json_object_new_int(5);  /* must be freed by the server, not sent */
	return -1;
}

static int cmd_typed_args(void *opaque, struct json_object *args, struct json_object **ret)
{
	static const char *const allowed[] = { "device", "size", "force", NULL };
	const char *device = NULL;
	long long size = 0;
	int force = 0;

	(void)opaque;
	if (qmp_args_check(args, allowed) < 0 || qmp_arg_string(args, "device", 1, &device) < 0 ||
	    qmp_arg_int(args, "size", 1, &size) < 0 || qmp_arg_bool(args, "force", 0, &force) < 0)
		return -1;
	*ret = json_object_new_object();
	json_object_object_add(*ret, "device", json_object_new_string(device));
	json_object_object_add(*ret, "size", json_object_new_int64(size));
	json_object_object_add(*ret, "force", json_object_new_boolean(force));
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vireo-qmp-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/qmp.sock", f->dir);
	f->loop = evloop_new();
	assert_non_null(f->loop);
	f->srv = qmp_server_new(f->loop, f->path, 7, 2, 1);
	if (!f->srv)
		fail_msg("qmp_server_new: %s", err_message());
	assert_int_equal(qmp_register_command(f->srv, "echo-args", cmd_echo_args, f), 0);
	assert_int_equal(qmp_register_command(f->srv, "fail-invalid", cmd_fail_invalid, f), 0);
	assert_int_equal(qmp_register_command(f->srv, "fail-not-found", cmd_fail_not_found, f), 0);
	assert_int_equal(qmp_register_command(f->srv, "fail-with-class", cmd_fail_with_class, f), 0);
	assert_int_equal(qmp_register_command(f->srv, "fail-silently", cmd_fail_silently, f), 0);
	assert_int_equal(qmp_register_command(f->srv, "typed-args", cmd_typed_args, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	qmp_server_free(f->srv);
	evloop_free(f->loop);
	/* The server must have removed its socket. */
	assert_int_equal(access(f->path, F_OK), -1);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- behaviour ---- */

static void test_qmp_greeting_carries_version_and_empty_capabilities(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_connect(f);
	struct json_object *g = tclient_recv(f, c, 2000), *qmp, *ver, *caps, *q;

	assert_non_null(g);
	assert_true(json_object_object_get_ex(g, "QMP", &qmp));
	assert_true(json_object_object_get_ex(qmp, "version", &ver));
	assert_true(json_object_object_get_ex(ver, "qemu", &q));
	assert_int_equal(json_object_get_int(json_object_object_get(q, "major")), 7);
	assert_int_equal(json_object_get_int(json_object_object_get(q, "minor")), 2);
	assert_int_equal(json_object_get_int(json_object_object_get(q, "micro")), 1);
	assert_string_equal(jstr(ver, "package", NULL), "");
	assert_true(json_object_object_get_ex(qmp, "capabilities", &caps));
	assert_true(json_object_is_type(caps, json_type_array));
	assert_int_equal(json_object_array_length(caps), 0);
	json_object_put(g);
	tclient_close(c);
}

static void test_qmp_commands_before_negotiation_answer_command_not_found(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, false);
	struct json_object *r = tclient_call(f, c, "{\"execute\": \"query-version\"}\n");

	expect_error(r, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"echo-args\"}\n");
	expect_error(r, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
	json_object_put(r);
	assert_int_equal(f->handler_calls, 0);
	/* Negotiation then works on the same connection. */
	r = tclient_call(f, c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": []}}\n");
	expect_return(r);
	assert_string_equal(json_object_to_json_string_ext(json_object_object_get(r, "return"),
							   JSON_C_TO_STRING_PLAIN), "{}");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"query-version\"}\n");
	expect_return(r);
	json_object_put(r);
	tclient_close(c);
}

static void test_qmp_capabilities_rejects_unknown_caps_and_a_second_negotiation(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, false);
	struct json_object *r;

	r = tclient_call(f, c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}\n");
	expect_error(r, "GenericError", "Capability 'oob' not available");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"turbo\"]}}\n");
	expect_error(r, "GenericError", "Parameter 'enable[0]' does not accept value 'turbo'");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": \"oob\"}}\n");
	expect_error(r, "GenericError", "Invalid parameter type for 'enable', expected: array");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": null}}\n");
	expect_error(r, "GenericError", "Invalid parameter type for 'enable', expected: array");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"x\": 1}}\n");
	expect_error(r, "GenericError", "Parameter 'x' is unexpected");
	json_object_put(r);
	/* None of these negotiated. */
	r = tclient_call(f, c, "{\"execute\": \"query-version\"}\n");
	expect_error(r, "CommandNotFound", NULL);
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"qmp_capabilities\"}\n");
	expect_return(r);
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"qmp_capabilities\"}\n");
	expect_error(r, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
	json_object_put(r);
	tclient_close(c);
}

static void test_qmp_unknown_command_answers_command_not_found(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	struct json_object *r = tclient_call(f, c, "{\"execute\": \"frobnicate\"}\n");

	expect_error(r, "CommandNotFound", "The command frobnicate has not been found");
	json_object_put(r);
	/* A NUL inside the name must not select a registered command. */
	r = tclient_call(f, c, "{\"execute\": \"echo-args\\u0000x\"}\n");
	expect_error(r, "CommandNotFound", NULL);
	json_object_put(r);
	assert_int_equal(f->handler_calls, 0);
	tclient_close(c);
}

static void test_qmp_id_of_any_json_type_is_echoed(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	static const char *const ids[] = { "\"abc\"", "42", "-1.5", "[1,\"x\",{\"a\":null}]",
					   "{\"k\":[true,false]}", "null", "true", "\"\"" };

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		char req[256];
		struct json_object *r, *id, *want = json_tokener_parse(ids[i]);

		/* On success and on error alike. */
		for (int err = 0; err < 2; err++) {
			snprintf(req, sizeof(req), "{\"id\": %s, \"execute\": \"%s\"}\n", ids[i],
				 err ? "nope" : "query-version");
			r = tclient_call(f, c, req);
			assert_non_null(r);
			assert_true(json_object_object_get_ex(r, "id", &id));
			if (!json_object_equal(id, want))
				fail_msg("id %s came back as %s", ids[i], json_object_to_json_string(id));
			json_object_put(r);
		}
		json_object_put(want);
	}
	/* No id in, no id out. */
	{
		struct json_object *r = tclient_call(f, c, "{\"execute\": \"query-version\"}\n");

		assert_false(json_object_object_get_ex(r, "id", NULL));
		json_object_put(r);
	}
	tclient_close(c);
}

static void test_qmp_registered_command_receives_arguments_and_empty_object_when_absent(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	struct json_object *r, *ret, *want;

	r = tclient_call(f, c, "{\"execute\": \"echo-args\", \"arguments\": {\"a\": 1, \"b\": [\"x\", {\"c\": true}]}}\n");
	expect_return(r);
	ret = json_object_object_get(r, "return");
	want = json_tokener_parse("{\"a\": 1, \"b\": [\"x\", {\"c\": true}]}");
	assert_true(json_object_equal(ret, want));
	json_object_put(want);
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"echo-args\"}\n");
	expect_return(r);
	ret = json_object_object_get(r, "return");
	assert_true(json_object_is_type(ret, json_type_object));
	assert_int_equal(json_object_object_length(ret), 0);
	json_object_put(r);
	assert_int_equal(f->handler_calls, 2);
	tclient_close(c);
}

static void test_qmp_argument_helpers_give_qemu_messages(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	struct json_object *r;

	r = tclient_call(f, c, "{\"execute\": \"typed-args\", \"arguments\": {\"device\": \"vda\", \"size\": 4096, \"force\": true}}\n");
	expect_return(r);
	assert_string_equal(jstr(r, "return", "device"), "vda");
	assert_string_equal(jstr(r, "return", "size"), "4096");
	assert_string_equal(jstr(r, "return", "force"), "true");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"typed-args\", \"arguments\": {\"size\": 1}}\n");
	expect_error(r, "GenericError", "Parameter 'device' is missing");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"typed-args\", \"arguments\": {\"device\": 3, \"size\": 1}}\n");
	expect_error(r, "GenericError", "Invalid parameter type for 'device', expected: string");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"typed-args\", \"arguments\": {\"device\": \"vda\", \"size\": \"1\"}}\n");
	expect_error(r, "GenericError", "Invalid parameter type for 'size', expected: integer");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"typed-args\", \"arguments\": {\"device\": \"vda\", \"size\": 1, \"bogus\": 0}}\n");
	expect_error(r, "GenericError", "Parameter 'bogus' is unexpected");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"typed-args\", \"arguments\": {\"device\": \"vda\", \"size\": 99999999999999999999999}}\n");
	expect_error(r, "GenericError", NULL);
	json_object_put(r);
	tclient_close(c);
}

static void test_qmp_handler_errors_map_to_classes(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	struct json_object *r;

	assert_string_equal(qmp_error_class(ERR_NOT_FOUND), "CommandNotFound");
	assert_string_equal(qmp_error_class(ERR_INVALID), "GenericError");
	assert_string_equal(qmp_error_class(ERR_IO), "GenericError");
	r = tclient_call(f, c, "{\"execute\": \"fail-invalid\", \"id\": 7}\n");
	expect_error(r, "GenericError", "disk 'vda' has no medium");
	assert_int_equal(json_object_get_int(json_object_object_get(r, "id")), 7);
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"fail-not-found\"}\n");
	expect_error(r, "CommandNotFound", "nothing here");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"fail-with-class\"}\n");
	expect_error(r, "DeviceNotActive", "No balloon device has been activated");
	json_object_put(r);
	/* The class a handler picked applies to its own reply only. */
	r = tclient_call(f, c, "{\"execute\": \"fail-invalid\"}\n");
	expect_error(r, "GenericError", NULL);
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"fail-silently\"}\n");
	expect_error(r, "GenericError", "command fail-silently failed without a reason");
	json_object_put(r);
	tclient_close(c);
}

static void test_qmp_builtins_reject_unexpected_parameters(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	struct json_object *r;

	r = tclient_call(f, c, "{\"execute\": \"query-version\", \"arguments\": {\"x\": 1}}\n");
	expect_error(r, "GenericError", "Parameter 'x' is unexpected");
	json_object_put(r);
	r = tclient_call(f, c, "{\"execute\": \"query-commands\", \"arguments\": {\"verbose\": true}}\n");
	expect_error(r, "GenericError", "Parameter 'verbose' is unexpected");
	json_object_put(r);
	tclient_close(c);
}

static void test_qmp_query_commands_lists_builtins_and_registered(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	struct json_object *r = tclient_call(f, c, "{\"execute\": \"query-commands\"}\n"), *list;
	static const char *const want[] = { "qmp_capabilities", "query-commands", "query-version",
					    "echo-args", "fail-invalid", "typed-args" };

	expect_return(r);
	list = json_object_object_get(r, "return");
	assert_int_equal(json_object_array_length(list), 9);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		bool found = false;

		for (size_t j = 0; j < json_object_array_length(list); j++)
			if (!strcmp(jstr(json_object_array_get_idx(list, j), "name", NULL), want[i]))
				found = true;
		if (!found)
			fail_msg("query-commands lacks %s", want[i]);
	}
	json_object_put(r);
	tclient_close(c);
}

static void test_qmp_register_rejects_duplicates_builtins_and_bad_names(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(qmp_register_command(f->srv, "echo-args", cmd_echo_args, f), -1);
	assert_int_equal(err_code(), ERR_EXISTS);
	assert_int_equal(qmp_register_command(f->srv, "query-version", cmd_echo_args, f), -1);
	assert_int_equal(err_code(), ERR_EXISTS);
	assert_int_equal(qmp_register_command(f->srv, "", cmd_echo_args, f), -1);
	assert_int_equal(qmp_register_command(f->srv, "bad name", cmd_echo_args, f), -1);
	assert_int_equal(err_code(), ERR_INVALID);
	assert_int_equal(qmp_register_command(f->srv, "ok-name", NULL, f), -1);
	assert_int_equal(qmp_register_command(f->srv, "query-status", cmd_echo_args, f), 0);
}

static void test_qmp_request_shape_errors_use_qemu_texts(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	static const struct { const char *in, *desc; } cases[] = {
		{ "[1, 2]\n", "QMP input must be a JSON object" },
		{ "\"query-version\"\n", "QMP input must be a JSON object" },
		{ "{\"execute\": 1}\n", "QMP input member 'execute' must be a string" },
		{ "{\"execute\": \"query-version\", \"arguments\": []}\n",
		  "QMP input member 'arguments' must be an object" },
		{ "{\"execute\": \"query-version\", \"extra\": 1}\n", "QMP input member 'extra' is unexpected" },
		{ "{\"exec-oob\": \"query-version\"}\n", "QMP input member 'exec-oob' is unexpected" },
		{ "{\"id\": 1}\n", "QMP input lacks member 'execute'" },
		{ "{\"execute\": \"query-version\"]\n", NULL },
		{ "}\n", NULL },
		{ "{\"execute\": \"query-version\", \"id\": NaN}\n", "JSON parse error, invalid number" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct json_object *r = tclient_call(f, c, cases[i].in);

		expect_error(r, "GenericError", cases[i].desc);
		if (!cases[i].desc)
			assert_non_null(strstr(jstr(r, "error", "desc"), "JSON parse error, "));
		json_object_put(r);
	}
	/* Still usable afterwards. */
	{
		struct json_object *r = tclient_call(f, c, "{\"execute\": \"query-version\"}\n");

		expect_return(r);
		json_object_put(r);
	}
	tclient_close(c);
}

static void test_qmp_two_commands_in_one_write_are_answered_in_order(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	struct json_object *r;

	tclient_send(f, c, "{\"execute\": \"query-version\", \"id\": 1}{\"execute\": \"echo-args\", "
		     "\"arguments\": {\"n\": 2}, \"id\": 2}  \n\t {\"execute\": \"nope\", \"id\": 3}\n");
	for (int i = 1; i <= 3; i++) {
		r = tclient_recv(f, c, 2000);
		assert_non_null(r);
		assert_int_equal(json_object_get_int(json_object_object_get(r, "id")), i);
		if (i < 3)
			expect_return(r);
		else
			expect_error(r, "CommandNotFound", NULL);
		json_object_put(r);
	}
	tclient_close(c);
}

static void test_qmp_command_split_into_one_byte_writes_is_answered(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	const char *req = "{\"execute\": \"echo-args\", \"arguments\": {\"s\": \"h\\u00e9llo \xf0\x9f\x98\x80\"}, \"id\": \"split\"}\n";
	struct json_object *r;

	for (size_t i = 0; req[i]; i++) {
		assert_true(tclient_send_bytes(f, c, req + i, 1));
		pump(f, 0);
	}
	r = tclient_recv(f, c, 2000);
	expect_return(r);
	assert_string_equal(jstr(r, "id", NULL), "split");
	/* Sent back as \u escapes (a surrogate pair for U+1F600), decoded by json-c. */
	assert_string_equal(jstr(r, "return", "s"), "h\xc3\xa9llo \xf0\x9f\x98\x80");
	json_object_put(r);
	tclient_close(c);
}

static void test_qmp_events_reach_only_negotiated_clients_with_timestamp(void **state)
{
	struct fixture *f = *state;
	struct tclient *neg = tclient_open(f, true);
	struct tclient *raw = tclient_open(f, false);
	struct json_object *e, *data, *ts;
	struct timespec before;

	clock_gettime(CLOCK_REALTIME, &before);
	data = json_object_new_object();
	json_object_object_add(data, "guest", json_object_new_boolean(1));
	json_object_object_add(data, "reason", json_object_new_string("guest-shutdown"));
	qmp_emit_event(f->srv, "SHUTDOWN", data);
	qmp_emit_event(f->srv, "STOP", NULL);

	e = tclient_recv(f, neg, 2000);
	assert_non_null(e);
	assert_string_equal(jstr(e, "event", NULL), "SHUTDOWN");
	assert_string_equal(jstr(e, "data", "reason"), "guest-shutdown");
	assert_true(json_object_object_get_ex(e, "timestamp", &ts));
	assert_true(json_object_get_int64(json_object_object_get(ts, "seconds")) >= before.tv_sec);
	assert_true(json_object_get_int64(json_object_object_get(ts, "seconds")) <= before.tv_sec + 5);
	assert_in_range(json_object_get_int64(json_object_object_get(ts, "microseconds")), 0, 999999);
	json_object_put(e);
	e = tclient_recv(f, neg, 2000);
	assert_non_null(e);
	assert_string_equal(jstr(e, "event", NULL), "STOP");
	assert_false(json_object_object_get_ex(e, "data", NULL));
	json_object_put(e);

	/* The client still negotiating got nothing. */
	assert_null(tclient_recv(f, raw, 100));
	tclient_close(neg);
	tclient_close(raw);
}

static void test_qmp_event_emitted_just_before_free_is_delivered(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	struct json_object *e;

	qmp_emit_event(f->srv, "SHUTDOWN", NULL);
	qmp_server_free(f->srv);
	f->srv = NULL;
	e = tclient_recv(f, c, 2000);
	assert_non_null(e);
	assert_string_equal(jstr(e, "event", NULL), "SHUTDOWN");
	json_object_put(e);
	assert_null(tclient_recv(f, c, 2000));
	assert_true(c->eof);
	tclient_close(c);
}

struct emitter {
	struct qmp_server *srv;
	int count;
};

static void *emitter_thread(void *arg)
{
	struct emitter *em = arg;

	for (int i = 0; i < em->count; i++) {
		struct json_object *d = json_object_new_object();

		json_object_object_add(d, "n", json_object_new_int(i));
		qmp_emit_event(em->srv, "RESET", d);
	}
	return NULL;
}

static void test_qmp_event_emitted_from_another_thread_arrives_in_order(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	struct emitter em = { f->srv, 200 };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, emitter_thread, &em), 0);
	for (int i = 0; i < em.count; i++) {
		struct json_object *e = tclient_recv(f, c, 5000);

		assert_non_null(e);
		assert_string_equal(jstr(e, "event", NULL), "RESET");
		assert_int_equal(json_object_get_int(json_object_object_get(json_object_object_get(e, "data"), "n")), i);
		json_object_put(e);
	}
	pthread_join(th, NULL);
	tclient_close(c);
}

static void test_qmp_client_can_disconnect_and_reconnect(void **state)
{
	struct fixture *f = *state;

	for (int round = 0; round < 5; round++) {
		struct tclient *c = tclient_open(f, true);
		struct json_object *r = tclient_call(f, c, "{\"execute\": \"query-version\"}\n");

		expect_return(r);
		json_object_put(r);
		/* Disconnect with a request in flight: the server must cope. */
		tclient_send(f, c, "{\"execute\": \"query-version\"}\n{\"execute\": \"qu");
		tclient_close(c);
		for (int i = 0; i < 20 && qmp_server_client_count(f->srv); i++)
			pump(f, 5);
		assert_int_equal(qmp_server_client_count(f->srv), 0);
	}
}

static void test_qmp_many_clients_are_served_at_once(void **state)
{
	struct fixture *f = *state;
	struct tclient *cs[20];

	for (size_t i = 0; i < ARRAY_SIZE(cs); i++)
		cs[i] = tclient_open(f, true);
	assert_int_equal(qmp_server_client_count(f->srv), ARRAY_SIZE(cs));
	for (size_t i = 0; i < ARRAY_SIZE(cs); i++) {
		char req[96];

		snprintf(req, sizeof(req), "{\"execute\": \"query-version\", \"id\": %zu}\n", i);
		tclient_send(f, cs[i], req);
	}
	qmp_emit_event(f->srv, "POWERDOWN", NULL);
	for (size_t i = 0; i < ARRAY_SIZE(cs); i++) {
		bool got_reply = false, got_event = false;

		for (int k = 0; k < 2; k++) {
			struct json_object *r = tclient_recv(f, cs[i], 2000);

			assert_non_null(r);
			if (json_object_object_get_ex(r, "event", NULL)) {
				got_event = true;
			} else {
				assert_int_equal(json_object_get_int(json_object_object_get(r, "id")), (int)i);
				got_reply = true;
			}
			json_object_put(r);
		}
		assert_true(got_reply && got_event);
		tclient_close(cs[i]);
	}
}

static void test_qmp_oversized_request_gets_an_error_and_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	size_t n = QMP_MAX_INPUT + 4096;
	char *big = malloc(n);
	struct json_object *r;

	assert_non_null(big);
	memcpy(big, "{\"execute\": \"query-version\", \"id\": \"", 36);
	memset(big + 36, 'A', n - 36);
	/* The server may close while we are still writing: that is the point. */
	tclient_send_bytes(f, c, big, n);
	free(big);
	r = tclient_recv(f, c, 2000);
	expect_error(r, "GenericError", NULL);
	assert_non_null(strstr(jstr(r, "error", "desc"), "exceeds"));
	json_object_put(r);
	assert_null(tclient_recv(f, c, 2000));
	assert_true(c->eof);
	tclient_close(c);
	/* Others are unaffected. */
	c = tclient_open(f, true);
	r = tclient_call(f, c, "{\"execute\": \"query-version\"}\n");
	expect_return(r);
	json_object_put(r);
	tclient_close(c);
}

static void test_qmp_client_that_never_reads_is_dropped_not_buffered_forever(void **state)
{
	struct fixture *f = *state;
	struct tclient *lazy = tclient_open(f, true);
	struct tclient *ok = tclient_open(f, true);
	char *blob = malloc(65537);
	int events = 0;

	assert_non_null(blob);
	memset(blob, 'x', 65536);
	blob[65536] = '\0';
	/* 64 KiB events; `ok` drains, `lazy` never reads. */
	for (int i = 0; i < 200 && qmp_server_client_count(f->srv) == 2; i++) {
		struct json_object *d = json_object_new_object(), *e;

		json_object_object_add(d, "blob", json_object_new_string(blob));
		qmp_emit_event(f->srv, "BALLOON_CHANGE", d);
		e = tclient_recv(f, ok, 2000);
		assert_non_null(e);
		json_object_put(e);
		events++;
	}
	free(blob);
	assert_int_equal(qmp_server_client_count(f->srv), 1);
	/* Dropped once about QMP_MAX_OUTPUT (+ socket buffers) was pending. */
	assert_in_range(events, QMP_MAX_OUTPUT / 65536, 199);
	tclient_close(lazy);
	tclient_close(ok);
}

static void test_qmp_socket_is_private_and_stale_socket_is_replaced(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	struct qmp_server *s2;
	char path[160];
	int fd;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* A live socket is not stolen. */
	s2 = qmp_server_new(f->loop, f->path, 7, 2, 1);
	assert_null(s2);
	assert_int_equal(err_code(), ERR_BUSY);

	/* A stale one (nobody listening) is replaced. */
	snprintf(path, sizeof(path), "%s/stale.sock", f->dir);
	{
		struct sockaddr_un addr = { .sun_family = AF_UNIX };

		assert_true(strlen(path) < sizeof(addr.sun_path));
		memcpy(addr.sun_path, path, strlen(path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
		close(fd);
	}
	s2 = qmp_server_new(f->loop, path, 7, 2, 1);
	if (!s2)
		fail_msg("stale socket not replaced: %s", err_message());
	qmp_server_free(s2);
	assert_int_equal(access(path, F_OK), -1);

	/* A regular file is refused and left alone. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_null(qmp_server_new(f->loop, path, 7, 2, 1));
	assert_int_equal(err_code(), ERR_EXISTS);
	assert_non_null(strstr(err_message(), "not a socket"));
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);

	/* A path too long for sun_path is an error, not a truncation. */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_null(qmp_server_new(f->loop, path, 7, 2, 1));
	assert_int_equal(err_code(), ERR_INVALID);
}

static void test_qmp_socketpair_client_is_served_without_a_listener(void **state)
{
	struct fixture *f = *state;
	struct qmp_server *s = qmp_server_new(f->loop, NULL, 8, 0, 0);
	struct tclient c = { .cap = 65536 };
	int sv[2];
	struct json_object *r;
	const char *two = "{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-version\"}";

	assert_non_null(s);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(qmp_server_add_client_fd(s, sv[0]), 0);
	c.fd = sv[1];
	c.buf = malloc(c.cap);
	r = tclient_recv(f, &c, 2000);
	assert_non_null(r);
	json_object_put(r);
	assert_int_equal(qmp_feed_for_test(s, two, strlen(two)), 0);
	r = tclient_recv(f, &c, 2000);
	expect_return(r);
	json_object_put(r);
	r = tclient_recv(f, &c, 2000);
	expect_return(r);
	assert_string_equal(jstr(json_object_object_get(r, "return"), "qemu", "major"), "8");
	json_object_put(r);
	qmp_server_free(s);
	close(sv[1]);
	free(c.buf);
}

/* ---- 1,000 malformed inputs ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rng_below(size_t n)
{
	return (size_t)(rng() % n);
}

enum malformed_kind {
	MAL_TRUNCATED, MAL_RANDOM, MAL_DEEP, MAL_HUGE, MAL_EXEC_TYPE, MAL_ARGS_TYPE, MAL_MEMBERS,
	MAL_TOPLEVEL, MAL_NUL, MAL_UTF8, MAL_KINDS
};

struct input {
	char *data;
	size_t len;
	bool must_error;        /* a GenericError reply is required */
	bool must_drop;         /* the server must close the connection */
	bool may_hang;          /* an incomplete prefix: the client gives up and closes */
};

static const char *const base_requests[] = {
	"{\"execute\": \"query-version\", \"id\": 1}",
	"{\"execute\": \"echo-args\", \"arguments\": {\"a\": [1, 2, {\"b\": \"c\"}]}}",
	"{\"execute\": \"typed-args\", \"arguments\": {\"device\": \"vda\", \"size\": 1}, \"id\": \"x\"}",
};

static void input_set(struct input *in, const char *s, size_t len)
{
	in->data = malloc(len + 1);
	assert_non_null(in->data);
	memcpy(in->data, s, len);
	in->data[len] = '\0';
	in->len = len;
}

static void make_malformed(int i, struct input *in)
{
	const char *base = base_requests[rng_below(ARRAY_SIZE(base_requests))];
	size_t blen = strlen(base);
	char tmp[512];

	memset(in, 0, sizeof(*in));
	switch ((enum malformed_kind)(i % MAL_KINDS)) {
	case MAL_TRUNCATED:
		input_set(in, base, 1 + rng_below(blen - 1));
		in->may_hang = true;
		break;
	case MAL_RANDOM: {
		size_t n = 1 + rng_below(512);

		in->data = malloc(n + 1);
		assert_non_null(in->data);
		for (size_t k = 0; k < n; k++)
			in->data[k] = (char)rng();
		in->len = n;
		in->may_hang = true;
		break;
	}
	case MAL_DEEP: {
		size_t depth = QMP_MAX_DEPTH + 1 + rng_below(20000);
		bool obj = rng() & 1;

		in->data = malloc(5 * depth + 16);
		assert_non_null(in->data);
		for (size_t k = 0; k < depth; k++) {
			if (obj) {
				memcpy(in->data + in->len, "{\"a\":", 5);
				in->len += 5;
			} else {
				in->data[in->len++] = '[';
			}
		}
		in->must_error = true;
		break;
	}
	case MAL_HUGE: {
		/* Mostly under the input limit (answered), every tenth over it (dropped). */
		bool over = (i / MAL_KINDS) % 10 == 0;
		size_t n = over ? QMP_MAX_INPUT + 1 + rng_below(65536) : 1024 + rng_below(256 * 1024);
		const char *heads[] = { "{\"execute\": \"", "\"", "{\"execute\": \"query-version\", \"", "[\"" };
		const char *tails[] = { "\"}", "\"", "\": 1}", "\"]" };
		size_t h = rng_below(ARRAY_SIZE(heads));

		in->data = malloc(n + 64);
		assert_non_null(in->data);
		strcpy(in->data, heads[h]);
		in->len = strlen(heads[h]);
		memset(in->data + in->len, 'A' + (int)rng_below(26), n);
		in->len += n;
		strcpy(in->data + in->len, tails[h]);
		in->len += strlen(tails[h]);
		in->must_error = true;
		in->must_drop = over;
		break;
	}
	case MAL_EXEC_TYPE: {
		const char *vals[] = { "1", "-3.5", "[]", "[\"query-version\"]", "{}", "null", "true", "false" };

		snprintf(tmp, sizeof(tmp), "{\"execute\": %s, \"id\": %d}", vals[rng_below(ARRAY_SIZE(vals))], i);
		input_set(in, tmp, strlen(tmp));
		in->must_error = true;
		break;
	}
	case MAL_ARGS_TYPE: {
		const char *vals[] = { "1", "\"a\"", "[]", "[{}]", "null", "true", "0.5" };

		snprintf(tmp, sizeof(tmp), "{\"execute\": \"echo-args\", \"arguments\": %s}",
			 vals[rng_below(ARRAY_SIZE(vals))]);
		input_set(in, tmp, strlen(tmp));
		in->must_error = true;
		break;
	}
	case MAL_MEMBERS: {
		const char *vals[] = { "{\"id\": 1}", "{}", "{\"arguments\": {}}",
				       "{\"execute\": \"query-version\", \"Execute\": 1}",
				       "{\"execute\": \"query-version\", \"exec-oob\": \"x\"}",
				       "{\"execute\": \"query-version\", \"arguments\": {\"z\": 1}}",
				       "{\"execute\": \"fail-invalid\", \"id\": {\"deep\": [1]}}",
				       "{\"execute\": \"\", \"id\": []}" };

		snprintf(tmp, sizeof(tmp), "%s", vals[rng_below(ARRAY_SIZE(vals))]);
		input_set(in, tmp, strlen(tmp));
		in->must_error = true;
		break;
	}
	case MAL_TOPLEVEL: {
		const char *vals[] = { "1", "-0", "1e999", "\"execute\"", "[]", "[{\"execute\": \"query-version\"}]",
				       "true", "false", "null", "2.5" };

		snprintf(tmp, sizeof(tmp), "%s", vals[rng_below(ARRAY_SIZE(vals))]);
		input_set(in, tmp, strlen(tmp));
		in->must_error = true;
		break;
	}
	case MAL_NUL: {
		size_t at = rng_below(blen);

		input_set(in, base, blen);
		in->data[at] = '\0';
		in->must_error = true;
		break;
	}
	case MAL_UTF8: {
		static const char *const bad[] = { "\xff", "\xc0\xaf", "\x80", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80",
						   "\xe2\x82", "\xfe\xfe" };
		const char *b = bad[rng_below(ARRAY_SIZE(bad))];

		snprintf(tmp, sizeof(tmp), "{\"execute\": \"echo-args\", \"arguments\": {\"s\": \"a%sb\"}}", b);
		input_set(in, tmp, strlen(tmp));
		in->must_error = true;
		break;
	}
	case MAL_KINDS:
		break;
	}
}

static void test_qmp_thousand_malformed_inputs_are_answered_or_dropped(void **state)
{
	struct fixture *f = *state;
	struct tclient *c = tclient_open(f, true);
	int errors = 0, drops = 0, reconnects = 0, same_conn_ok = 0;

	for (int i = 0; i < 1000; i++) {
		struct input in;
		struct json_object *r;
		bool probe_ok = false, got_error = false;
		char probe[96];

		make_malformed(i, &in);
		tclient_send_bytes(f, c, in.data, in.len);
		tclient_send_bytes(f, c, "\n", 1);
		free(in.data);
		if (in.may_hang && (i % MAL_KINDS) == MAL_TRUNCATED) {
			/* The server waits for the rest; the client walks away. */
			tclient_close(c);
			c = tclient_open(f, true);
			reconnects++;
			continue;
		}
		snprintf(probe, sizeof(probe), "{\"execute\": \"query-version\", \"id\": \"probe-%d\"}\n", i);
		if (!tclient_send_bytes(f, c, probe, strlen(probe)))
			c->eof = true;
		while ((r = tclient_recv(f, c, in.may_hang ? 200 : 3000))) {
			const char *id = jstr(r, "id", NULL);

			if (id && !strncmp(id, "probe-", 6) && atoi(id + 6) == i) {
				expect_return(r);
				probe_ok = true;
				json_object_put(r);
				break;
			}
			if (json_object_object_get_ex(r, "error", NULL))
				got_error = true;
			if (getenv("QMP_TEST_DEBUG"))
				print_message("input %d: %.300s\n", i, json_object_to_json_string(r));
			json_object_put(r);
		}
		if (in.must_error && !got_error)
			fail_msg("malformed input %d (kind %d) got no error reply", i, i % MAL_KINDS);
		if (in.must_drop) {
			if (probe_ok)
				fail_msg("oversized input %d was not dropped", i);
			drops++;
		}
		if (in.must_error && !in.must_drop && !probe_ok)
			fail_msg("connection unusable after malformed input %d (kind %d)", i, i % MAL_KINDS);
		errors += got_error;
		if (probe_ok) {
			same_conn_ok++;
			continue;
		}
		/* The connection was dropped or is stuck mid-token: a new one must work. */
		tclient_close(c);
		c = tclient_open(f, true);
		reconnects++;
		r = tclient_call(f, c, "{\"execute\": \"query-version\"}\n");
		expect_return(r);
		json_object_put(r);
	}
	print_message("malformed: %d error replies, %d drops, %d reconnects, %d answered on the same connection\n",
		      errors, drops, reconnects, same_conn_ok);
	assert_true(errors >= 800);
	tclient_close(c);
	for (int i = 0; i < 50 && qmp_server_client_count(f->srv); i++)
		pump(f, 5);
	assert_int_equal(qmp_server_client_count(f->srv), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_qmp_greeting_carries_version_and_empty_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_commands_before_negotiation_answer_command_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_capabilities_rejects_unknown_caps_and_a_second_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_unknown_command_answers_command_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_id_of_any_json_type_is_echoed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_registered_command_receives_arguments_and_empty_object_when_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_argument_helpers_give_qemu_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_handler_errors_map_to_classes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_builtins_reject_unexpected_parameters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_query_commands_lists_builtins_and_registered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_register_rejects_duplicates_builtins_and_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_request_shape_errors_use_qemu_texts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_two_commands_in_one_write_are_answered_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_command_split_into_one_byte_writes_is_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_events_reach_only_negotiated_clients_with_timestamp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_event_emitted_from_another_thread_arrives_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_event_emitted_just_before_free_is_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_client_can_disconnect_and_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_many_clients_are_served_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_oversized_request_gets_an_error_and_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_client_that_never_reads_is_dropped_not_buffered_forever, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_socket_is_private_and_stale_socket_is_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_socketpair_client_is_served_without_a_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmp_thousand_malformed_inputs_are_answered_or_dropped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
