/* Unit tests of src/conf/network_conf.c: the <network> corpus in data-network/
 * (good documents round-trip and pass libvirt's virt-xml-validate; each bad one
 * is refused with the error its first-line comment names), IPv4 helpers, and
 * the address/range validation on defs built in code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "corpus.h"
#include "conf/network_conf.h"

static const char *data_dir = "data-network";

static struct netconf_def *parse_str(const char *xml)
{
	return netconf_parse_xml(xml, strlen(xml), NETCONF_PARSE_VALIDATE);
}

/* ---- corpus ---- */

static void test_good_document_round_trip_is_stable(void **state)
{
	const char *path = *state;
	autofree char *xml = corpus_load(path);
	autofree char *out1 = NULL, *out2 = NULL;
	struct netconf_def *def, *again;

	def = parse_str(xml);
	if (!def)
		fail_msg("%s: %s", path, err_message());
	out1 = netconf_format_xml(def, 0);
	assert_non_null(out1);
	again = parse_str(out1);
	if (!again)
		fail_msg("%s: formatted output does not parse: %s\n%s", path, err_message(), out1);
	out2 = netconf_format_xml(again, 0);
	assert_non_null(out2);
	assert_string_equal(out1, out2);
	assert_memory_equal(def->uuid, again->uuid, DOM_UUID_LEN);
	netconf_def_free(def);
	netconf_def_free(again);
}

static void test_good_document_dumpxml_passes_virt_xml_validate(void **state)
{
	const char *path = *state;
	autofree char *xml = corpus_load(path);
	autofree char *out = NULL, *why = NULL;
	struct netconf_def *def;
	int rc;

	def = parse_str(xml);
	if (!def)
		fail_msg("%s: %s", path, err_message());
	out = netconf_format_xml(def, 0);
	netconf_def_free(def);
	assert_non_null(out);
	rc = corpus_virt_xml_validate(out, "network", &why);
	if (rc < 0)
		skip(); /* libvirt-clients is in scripts/deps.sh; only a bare machine lacks it */
	if (rc > 0)
		fail_msg("%s: virt-xml-validate refused the dumpxml:\n%s\n%s", path, why, out);
}

static void test_bad_document_is_refused_naming_its_problem(void **state)
{
	const char *path = *state;
	autofree char *xml = corpus_load(path);
	char expect[512];
	struct netconf_def *def;

	corpus_expected_error(path, xml, expect, sizeof(expect));
	err_clear();
	def = parse_str(xml);
	if (def) {
		netconf_def_free(def);
		fail_msg("%s: accepted, expected error containing '%s'", path, expect);
	}
	assert_int_equal(err_code(), ERR_INVALID);
	if (!strstr(err_message(), expect))
		fail_msg("%s: error '%s' does not contain '%s'", path, err_message(), expect);
}

/* ---- helpers and code-built defs ---- */

static void test_ipv4_parse_format_and_masks(void **state)
{
	uint32_t ip = 0;
	char out[16];

	(void)state;
	assert_int_equal(netconf_ipv4_parse("192.168.122.1", &ip), 0);
	assert_int_equal(ip, 0xc0a87a01u);
	netconf_ipv4_format(ip, out);
	assert_string_equal(out, "192.168.122.1");
	netconf_ipv4_format(0xffffffffu, out);
	assert_string_equal(out, "255.255.255.255");
	assert_int_equal(netconf_ipv4_parse("192.168.1", &ip), -1);
	assert_int_equal(netconf_ipv4_parse("1.2.3.4 ", &ip), -1);
	assert_int_equal(netconf_ipv4_parse("::1", &ip), -1);
	assert_int_equal(netconf_ipv4_parse(NULL, &ip), -1);
	assert_int_equal(netconf_prefix_mask(0), 0);
	assert_int_equal(netconf_prefix_mask(24), 0xffffff00u);
	assert_int_equal(netconf_prefix_mask(32), 0xffffffffu);
	assert_int_equal(netconf_prefix_mask(1), 0x80000000u);
}

static void test_subnet_bounds_and_name_checks(void **state)
{
	struct netconf_def *def = parse_str("<network><name>n</name><ip address='10.1.2.3' prefix='20'/></network>");

	(void)state;
	assert_non_null(def);
	assert_int_equal(netconf_network_addr(def), 0x0a010000u);
	assert_int_equal(netconf_broadcast_addr(def), 0x0a010fffu);
	netconf_def_free(def);
	assert_true(netconf_name_ok("default"));
	assert_true(netconf_name_ok("a.b-c_d"));
	assert_false(netconf_name_ok("-x"));
	assert_false(netconf_name_ok("a b"));
	assert_false(netconf_name_ok("a+b"));
	assert_false(netconf_name_ok(""));
	assert_true(netconf_ifname_ok("vireobr0"));
	assert_false(netconf_ifname_ok("0123456789abcdef"));
	assert_false(netconf_ifname_ok("a/b"));
	assert_false(netconf_ifname_ok(".."));
}

static void test_defaults_uuid_generated_and_forward_without_mode_is_nat(void **state)
{
	struct netconf_def *a = parse_str("<network><name>n</name><forward/><ip address='10.0.0.1' prefix='24'/></network>");
	struct netconf_def *b = parse_str("<network><name>n</name></network>");
	static const uint8_t zero[DOM_UUID_LEN];

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->forward, NETCONF_FWD_NAT);
	assert_int_equal(b->forward, NETCONF_FWD_ISOLATED);
	assert_memory_not_equal(a->uuid, zero, DOM_UUID_LEN);
	assert_memory_not_equal(a->uuid, b->uuid, DOM_UUID_LEN);
	/* forward mode='none' is read as isolated and printed without <forward> */
	netconf_def_free(b);
	b = parse_str("<network><name>n</name><forward mode='none'/></network>");
	assert_non_null(b);
	assert_int_equal(b->forward, NETCONF_FWD_ISOLATED);
	{
		autofree char *out = netconf_format_xml(b, 0);
		assert_null(strstr(out, "<forward"));
	}
	netconf_def_free(a);
	netconf_def_free(b);
}

static void test_validate_catches_defs_changed_in_code(void **state)
{
	struct netconf_def *def = parse_str(
		"<network><name>n</name><forward mode='nat'/><ip address='192.168.5.1' prefix='24'>"
		"<dhcp><range start='192.168.5.10' end='192.168.5.20'/>"
		"<host mac='52:54:00:00:00:09' ip='192.168.5.9'/></dhcp></ip></network>");

	(void)state;
	assert_non_null(def);
	assert_int_equal(netconf_validate(def), 0);
	/* a /28 shrinks the subnet under the range */
	def->prefix = 28;
	assert_int_equal(netconf_validate(def), -1);
	assert_non_null(strstr(err_message(), "DHCP range end 192.168.5.20 is not a host address"));
	def->prefix = 24;
	/* the static host moved into the range is allowed (dnsmasq reserves it), onto the gateway is not */
	def->hosts[0].ip = 0xc0a80501u;
	assert_int_equal(netconf_validate(def), -1);
	assert_non_null(strstr(err_message(), "is the network's own address"));
	def->hosts[0].ip = 0xc0a80509u;
	def->ranges[0].end = 0xc0a80505u;
	assert_int_equal(netconf_validate(def), -1);
	assert_non_null(strstr(err_message(), "start is after end"));
	netconf_def_free(def);
}

static void test_copy_is_identical_and_format_escapes(void **state)
{
	struct netconf_def *def = parse_str(
		"<network><name>n</name><domain name='a.example'/><ip address='10.9.0.1' prefix='16'>"
		"<dhcp><host name='h1' ip='10.9.3.4'/></dhcp></ip></network>");
	struct netconf_def *copy;
	autofree char *a = NULL, *b = NULL;

	(void)state;
	assert_non_null(def);
	copy = netconf_def_copy(def);
	assert_non_null(copy);
	a = netconf_format_xml(def, 0);
	b = netconf_format_xml(copy, 0);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "<ip address='10.9.0.1' prefix='16'>"));
	assert_non_null(strstr(a, "<host name='h1' ip='10.9.3.4'/>"));
	netconf_def_free(def);
	netconf_def_free(copy);
}

static void test_too_many_hosts_are_refused(void **state)
{
	size_t cap = 64 * (NETCONF_MAX_HOSTS + 2) + 256, len = 0;
	autofree char *xml = malloc(cap);
	struct netconf_def *def;

	(void)state;
	assert_non_null(xml);
	len += (size_t)snprintf(xml + len, cap - len, "<network><name>n</name><ip address='10.0.0.1' prefix='8'><dhcp>");
	for (unsigned int i = 0; i <= NETCONF_MAX_HOSTS; i++)
		len += (size_t)snprintf(xml + len, cap - len, "<host name='h%u' ip='10.1.%u.%u'/>", i,
					i / 250, i % 250 + 1);
	snprintf(xml + len, cap - len, "</dhcp></ip></network>");
	def = parse_str(xml);
	assert_null(def);
	assert_non_null(strstr(err_message(), "more than 1024 hosts"));
}

/* ---- corpus walking ---- */

int main(int argc, char **argv)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_ipv4_parse_format_and_masks),
		cmocka_unit_test(test_subnet_bounds_and_name_checks),
		cmocka_unit_test(test_defaults_uuid_generated_and_forward_without_mode_is_nat),
		cmocka_unit_test(test_validate_catches_defs_changed_in_code),
		cmocka_unit_test(test_copy_is_identical_and_format_escapes),
		cmocka_unit_test(test_too_many_hosts_are_refused),
	};
	static const char *const good_labels[] = { "round trip is stable", "virt-xml-validate accepts dumpxml" };
	static const CMUnitTestFunction good_fns[] = {
		test_good_document_round_trip_is_stable,
		test_good_document_dumpxml_passes_virt_xml_validate,
	};
	static const char *const bad_labels[] = { "refused naming its problem" };
	static const CMUnitTestFunction bad_fns[] = { test_bad_document_is_refused_naming_its_problem };
	struct corpus c = { 0 };
	int ngood, nbad;

	if (argc > 1)
		data_dir = argv[1];
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (corpus_add_case(&c, fixed[i].name, fixed[i].test_func, NULL) < 0)
			return 1;
	ngood = corpus_add_dir(&c, data_dir, "good", good_labels, good_fns, ARRAY_SIZE(good_fns));
	nbad = corpus_add_dir(&c, data_dir, "bad", bad_labels, bad_fns, ARRAY_SIZE(bad_fns));
	/* an empty or missing corpus must fail, not pass vacuously */
	if (ngood < 5 || nbad < 20) {
		fprintf(stderr, "network corpus too small: %d good, %d bad\n", ngood, nbad);
		return 1;
	}
	return _cmocka_run_group_tests("conf-network", c.tests, c.n, NULL, NULL);
}
