/* Unit tests of vireod's REST request validation, in process: the API listens on
 * its two sockets under a temporary --root while a client thread sends requests
 * (libvireo's HTTP client) and the test thread runs the main loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "common/error.h"
#include "daemon/daemon.h"
#include "lib/http.h"

static struct vd vd;
static char root[64];

struct call {
	const char *method, *path, *ctype, *body;
	size_t body_len;
	bool read_only;
	struct http_answer ans;
	int rc;
	volatile bool done;
};

static void *client(void *arg)
{
	struct call *c = arg;

	c->rc = http_request(c->read_only ? vd.paths.sock_ro : vd.paths.sock_rw, c->method, c->path,
		c->ctype, c->body, c->body_len ? c->body_len : (c->body ? strlen(c->body) : 0), &c->ans);
	c->done = true;
	g_main_context_wakeup(NULL);
	return NULL;
}

/* One request; the daemon side runs here until the answer is in. */
static struct http_answer *req(struct call *c)
{
	pthread_t t;

	pthread_create(&t, NULL, client, c);
	while (!c->done)
		g_main_context_iteration(NULL, TRUE);
	pthread_join(t, NULL);
	assert_int_equal(c->rc, 0);
	return &c->ans;
}

static void assert_error(struct http_answer *a, int status, const char *code)
{
	char want[64];

	assert_int_equal(a->status, status);
	snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
	assert_non_null(strstr(a->body, want));
	assert_non_null(strstr(a->body, "\"message\":"));
	free(a->body);
}

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/vdapi.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	memset(&vd, 0, sizeof(vd));
	vd.vmm_path = g_strdup("/nonexistent/vireo-vmm");
	if (vd_init_paths(&vd, root) < 0 || vd_load(&vd) < 0 || api_start(&vd) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	api_stop();
	vd_free(&vd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static const char good_xml[] =
	"<domain type='kvm'><name>u1</name><memory unit='MiB'>64</memory>"
	"<os><type>hvm</type><kernel>/k</kernel></os></domain>";

static void test_api_unknown_path_is_404_and_wrong_method_405(void **state)
{
	struct call a = { .method = "GET", .path = "/v1/nothing" };
	struct call b = { .method = "PATCH", .path = "/v1/domains" };
	struct call c = { .method = "GET", .path = "/v1/domains/x/y/z/w/v" };

	(void)state;
	assert_error(req(&a), 404, "not-found");
	assert_error(req(&b), 405, "method-not-allowed");
	assert_error(req(&c), 404, "not-found");
}

static void test_api_read_only_socket_refuses_mutations_with_403(void **state)
{
	const char *methods[] = { "POST", "PUT", "DELETE", "PATCH" };

	(void)state;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct call c = { .method = methods[i], .path = "/v1/domains", .read_only = true, .body = good_xml };
		assert_error(req(&c), 403, "read-only");
	}
	struct call g = { .method = "GET", .path = "/v1/domains", .read_only = true };
	struct http_answer *a = req(&g);
	assert_int_equal(a->status, 200);
	free(a->body);
}

static void test_api_define_validates_body_and_names_the_bad_element(void **state)
{
	struct call empty = { .method = "POST", .path = "/v1/domains" };
	struct call bad = { .method = "POST", .path = "/v1/domains", .ctype = "application/xml",
			    .body = "<domain type='kvm'>\n<name>u2</name>\n<frob/></domain>" };
	struct call good = { .method = "POST", .path = "/v1/domains", .ctype = "application/xml", .body = good_xml };
	struct call again = good;
	struct http_answer *a;

	(void)state;
	assert_error(req(&empty), 400, "invalid-argument");
	a = req(&bad);
	assert_int_equal(a->status, 400);
	assert_non_null(strstr(a->body, "frob"));
	assert_non_null(strstr(a->body, "line 3"));
	free(a->body);
	a = req(&good);
	assert_int_equal(a->status, 201);
	assert_non_null(strstr(a->body, "\"name\":\"u1\""));
	free(a->body);
	/* Same name, new random uuid: a clash, not a silent replacement. */
	assert_error(req(&again), 409, "exists");
}

static void test_api_oversized_or_chunked_body_is_413(void **state)
{
	size_t n = VD_MAX_REQUEST + 10;
	char *big = malloc(n);
	struct call c = { .method = "POST", .path = "/v1/domains", .body = big, .body_len = n };

	(void)state;
	memset(big, 'x', n);
	assert_error(req(&c), 413, "too-large");
	free(big);
}

static void test_api_autostart_needs_a_boolean_and_a_known_domain(void **state)
{
	struct call nodom = { .method = "PUT", .path = "/v1/domains/none/autostart", .body = "{\"autostart\":true}" };
	struct call notbool = { .method = "PUT", .path = "/v1/domains/u1/autostart", .body = "{\"autostart\":1}" };
	struct call junk = { .method = "PUT", .path = "/v1/domains/u1/autostart", .body = "{\"autostart\":true} junk" };
	struct call deep = { .method = "PUT", .path = "/v1/domains/u1/autostart",
			     .body = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" };

	(void)state;
	assert_error(req(&nodom), 404, "not-found");
	assert_error(req(&notbool), 400, "invalid-argument");
	assert_error(req(&junk), 400, "invalid-argument");
	assert_error(req(&deep), 400, "invalid-argument");
}

static void test_api_actions_check_state_and_name(void **state)
{
	struct call unknown = { .method = "POST", .path = "/v1/domains/u1/actions/explode" };
	struct call stop = { .method = "POST", .path = "/v1/domains/u1/actions/destroy" };
	struct call start = { .method = "POST", .path = "/v1/domains/u1/actions/start" };
	struct http_answer *a;

	(void)state;
	assert_error(req(&unknown), 404, "not-found");
	assert_error(req(&stop), 409, "busy");
	/* The VMM path does not exist: the start fails and says why. */
	a = req(&start);
	assert_int_equal(a->status, 501);
	assert_non_null(strstr(a->body, "/nonexistent/vireo-vmm"));
	free(a->body);
}

static void test_api_agent_command_checks_timeout_body_and_state(void **state)
{
	struct call t0 = { .method = "POST", .path = "/v1/domains/u1/agent?timeout=0", .body = "{\"execute\":\"guest-ping\"}" };
	struct call t51 = { .method = "POST", .path = "/v1/domains/u1/agent?timeout=51", .body = "{\"execute\":\"guest-ping\"}" };
	struct call tx = { .method = "POST", .path = "/v1/domains/u1/agent?timeout=5s", .body = "{\"execute\":\"guest-ping\"}" };
	struct call nobody = { .method = "POST", .path = "/v1/domains/u1/agent" };
	struct call off = { .method = "POST", .path = "/v1/domains/u1/agent", .body = "{\"execute\":\"guest-ping\"}" };
	struct call nodom = { .method = "POST", .path = "/v1/domains/none/agent", .body = "{\"execute\":\"guest-ping\"}" };
	struct call ro = { .method = "POST", .path = "/v1/domains/u1/agent", .body = "{}", .read_only = true };

	(void)state;
	assert_error(req(&t0), 400, "invalid-argument");
	assert_error(req(&t51), 400, "invalid-argument");
	assert_error(req(&tx), 400, "invalid-argument");
	assert_error(req(&nobody), 400, "invalid-argument");
	assert_error(req(&off), 409, "busy");
	assert_error(req(&nodom), 404, "not-found");
	assert_error(req(&ro), 403, "read-only");
}

static void test_api_list_filter_is_validated(void **state)
{
	struct call bad = { .method = "GET", .path = "/v1/domains?state=sideways" };
	struct call ok = { .method = "GET", .path = "/v1/domains?state=inactive" };
	struct http_answer *a;

	(void)state;
	assert_error(req(&bad), 400, "invalid-argument");
	a = req(&ok);
	assert_int_equal(a->status, 200);
	assert_non_null(strstr(a->body, "\"u1\""));
	free(a->body);
}

static void test_api_events_and_console_need_a_websocket_upgrade(void **state)
{
	struct call ev = { .method = "GET", .path = "/v1/events" };
	struct call con = { .method = "GET", .path = "/v1/domains/u1/console" };

	(void)state;
	assert_error(req(&ev), 400, "invalid-argument");
	assert_error(req(&con), 400, "invalid-argument");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_unknown_path_is_404_and_wrong_method_405),
		cmocka_unit_test(test_api_read_only_socket_refuses_mutations_with_403),
		cmocka_unit_test(test_api_define_validates_body_and_names_the_bad_element),
		cmocka_unit_test(test_api_oversized_or_chunked_body_is_413),
		cmocka_unit_test(test_api_autostart_needs_a_boolean_and_a_known_domain),
		cmocka_unit_test(test_api_actions_check_state_and_name),
		cmocka_unit_test(test_api_agent_command_checks_timeout_body_and_state),
		cmocka_unit_test(test_api_list_filter_is_validated),
		cmocka_unit_test(test_api_events_and_console_need_a_websocket_upgrade),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
