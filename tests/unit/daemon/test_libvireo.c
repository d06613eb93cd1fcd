/* Unit tests of libvireo without a daemon: URI and environment → socket path,
 * the read-only flag, refused URIs, and the error object on a missing daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vireo/vireo.h"

static void test_connect_system_uri_uses_run_vireo_sockets(void **state)
{
	vireo_conn *c;

	(void)state;
	unsetenv("VIREO_ROOT");
	unsetenv("VIREO_DEFAULT_URI");
	c = vireo_connect("vireo:///system", 0);
	assert_string_equal(vireo_conn_get_socket(c), "/run/vireo/vireo.sock");
	vireo_conn_close(c);
	c = vireo_connect("vireo:///system", VIREO_CONNECT_RO);
	assert_string_equal(vireo_conn_get_socket(c), "/run/vireo/vireo-ro.sock");
	assert_int_equal(vireo_conn_is_read_only(c), 1);
	vireo_conn_close(c);
}

static void test_connect_socket_parameter_overrides_path(void **state)
{
	vireo_conn *c;

	(void)state;
	c = vireo_connect("vireo:///system?socket=/tmp/x/y.sock", 0);
	assert_non_null(c);
	assert_string_equal(vireo_conn_get_socket(c), "/tmp/x/y.sock");
	vireo_conn_close(c);
}

static void test_connect_null_uri_follows_default_uri_then_root(void **state)
{
	vireo_conn *c;

	(void)state;
	setenv("VIREO_ROOT", "/tmp/r", 1);
	c = vireo_connect(NULL, VIREO_CONNECT_RO);
	assert_string_equal(vireo_conn_get_socket(c), "/tmp/r/run/vireo/vireo-ro.sock");
	vireo_conn_close(c);
	setenv("VIREO_DEFAULT_URI", "vireo:///system?socket=/tmp/d.sock", 1);
	c = vireo_connect(NULL, 0);
	assert_string_equal(vireo_conn_get_socket(c), "/tmp/d.sock");
	vireo_conn_close(c);
	unsetenv("VIREO_DEFAULT_URI");
	unsetenv("VIREO_ROOT");
}

static void test_connect_refuses_other_uris_with_invalid_arg(void **state)
{
	const char *bad[] = { "qemu:///system", "vireo:///session", "vireo:///systemx",
			      "vireo:///system?sock=/x", "vireo://host/system" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(vireo_connect(bad[i], 0));
		assert_int_equal(vireo_get_last_error()->code, VIREO_ERR_INVALID_ARG);
	}
}

static void test_calls_on_missing_daemon_fail_with_no_connect(void **state)
{
	vireo_conn *c;
	vireo_node_info info;

	(void)state;
	c = vireo_connect("vireo:///system?socket=/tmp/vireo-no-such-daemon.sock", 0);
	assert_int_equal(vireo_node_get_info(c, &info, 0), -1);
	assert_int_equal(vireo_get_last_error()->code, VIREO_ERR_NO_CONNECT);
	assert_non_null(strstr(vireo_get_last_error()->message, "vireo-no-such-daemon.sock"));
	assert_null(vireo_domain_lookup_by_name(c, "x"));
	assert_null(vireo_domain_lookup_by_name(c, ""));
	assert_int_equal(vireo_get_last_error()->code, VIREO_ERR_INVALID_ARG);
	vireo_conn_close(c);
}

static void test_state_names_match_virsh(void **state)
{
	(void)state;
	assert_string_equal(vireo_domain_state_name(VIREO_DOMAIN_RUNNING), "running");
	assert_string_equal(vireo_domain_state_name(VIREO_DOMAIN_SHUTOFF), "shut off");
	assert_string_equal(vireo_domain_state_name(VIREO_DOMAIN_PAUSED), "paused");
	assert_string_equal(vireo_domain_state_name(VIREO_DOMAIN_CRASHED), "crashed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_system_uri_uses_run_vireo_sockets),
		cmocka_unit_test(test_connect_socket_parameter_overrides_path),
		cmocka_unit_test(test_connect_null_uri_follows_default_uri_then_root),
		cmocka_unit_test(test_connect_refuses_other_uris_with_invalid_arg),
		cmocka_unit_test(test_calls_on_missing_daemon_fail_with_no_connect),
		cmocka_unit_test(test_state_names_match_virsh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
