/* Unit tests of src/conf/pool_conf.c: pool and volume XML corpora in
 * data-pool/{pool,vol}/{good,bad}: good documents round-trip stably and their
 * dumpxml passes libvirt's virt-xml-validate (storagepool / storagevol); each bad document is
 * refused with the error its first-line comment names. Plus name rules. */
#include "corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "conf/pool_conf.h"

static const char *data_dir = "data-pool";

/* virt-xml-validate on a formatted document; skipped (not failed) without libvirt-clients. */
static void assert_schema_valid(const char *what, const char *xml, const char *schema)
{
	autofree char *why = NULL;

	if (corpus_virt_xml_validate(xml, schema, &why) == 1)
		fail_msg("%s: virt-xml-validate %s refused:\n%s\n%s", what, schema, why, xml);
}

static void test_good_pool_round_trips_and_validates(void **state)
{
	const char *path = *state;
	autofree char *xml = corpus_load(path), *out1 = NULL, *out2 = NULL, *inactive = NULL;
	struct pool_def *def = pool_def_parse(xml, strlen(xml), POOL_PARSE_VALIDATE), *again;

	if (!def)
		fail_msg("%s: %s", path, err_message());
	def->capacity = 1ull << 40;
	def->allocation = 1ull << 30;
	def->available = (1ull << 40) - (1ull << 30);
	out1 = pool_def_format(def, 0);
	inactive = pool_def_format(def, POOL_FORMAT_INACTIVE);
	assert_non_null(out1);
	assert_non_null(inactive);
	assert_null(strstr(inactive, "<capacity"));
	again = pool_def_parse(out1, strlen(out1), POOL_PARSE_VALIDATE);
	if (!again)
		fail_msg("%s: dumpxml does not parse back: %s\n%s", path, err_message(), out1);
	again->capacity = def->capacity;
	again->allocation = def->allocation;
	again->available = def->available;
	out2 = pool_def_format(again, 0);
	assert_string_equal(out1, out2);
	assert_schema_valid(path, out1, "storagepool");
	assert_schema_valid(path, inactive, "storagepool");
	pool_def_free(def);
	pool_def_free(again);
}

static void test_good_volume_round_trips_and_validates(void **state)
{
	const char *path = *state;
	autofree char *xml = corpus_load(path), *out1 = NULL, *out2 = NULL;
	struct vol_def *def = vol_def_parse(xml, strlen(xml), POOL_PARSE_VALIDATE), *again;

	if (!def)
		fail_msg("%s: %s", path, err_message());
	/* as vireod prints it: the path, key and physical size filled in */
	free(def->path);
	assert_int_not_equal(asprintf(&def->path, "/srv/pool/%s", def->name), -1);
	def->physical = 4096;
	/* a backing volume named by its name is stored in the overlay as its path */
	if (def->has_backing && def->backing_path[0] != '/') {
		char *abs;
		assert_int_not_equal(asprintf(&abs, "/srv/pool/%s", def->backing_path), -1);
		free(def->backing_path);
		def->backing_path = abs;
	}
	out1 = vol_def_format(def, 0);
	assert_non_null(out1);
	again = vol_def_parse(out1, strlen(out1), POOL_PARSE_VALIDATE);
	if (!again)
		fail_msg("%s: dumpxml does not parse back: %s\n%s", path, err_message(), out1);
	again->path = strdup(def->path);
	again->physical = def->physical;
	out2 = vol_def_format(again, 0);
	assert_string_equal(out1, out2);
	assert_schema_valid(path, out1, "storagevol");
	vol_def_free(def);
	vol_def_free(again);
}

static void check_bad(const char *path, bool pool)
{
	autofree char *xml = corpus_load(path);
	char expect[512];
	void *def;

	corpus_expected_error(path, xml, expect, sizeof(expect));
	def = pool ? (void *)pool_def_parse(xml, strlen(xml), POOL_PARSE_VALIDATE)
		   : (void *)vol_def_parse(xml, strlen(xml), POOL_PARSE_VALIDATE);
	if (def)
		fail_msg("%s: accepted, expected error containing '%s'", path, expect);
	if (!strstr(err_message(), expect))
		fail_msg("%s: error '%s' does not contain '%s'", path, err_message(), expect);
}

static void test_bad_pool_is_refused_naming_the_problem(void **state)
{
	check_bad(*state, true);
}

static void test_bad_volume_is_refused_naming_the_problem(void **state)
{
	check_bad(*state, false);
}

static void test_volume_names_cannot_leave_the_pool_directory(void **state)
{
	(void)state;
	assert_true(vol_name_is_valid("disk.qcow2"));
	assert_true(vol_name_is_valid("a+b_c-d.1"));
	assert_false(vol_name_is_valid(".."));
	assert_false(vol_name_is_valid("."));
	assert_false(vol_name_is_valid("a/b"));
	assert_false(vol_name_is_valid(".x"));
	assert_false(vol_name_is_valid(""));
	assert_false(vol_name_is_valid("a b"));
	assert_false(vol_name_is_valid("a\nb"));
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_false(vol_name_is_valid(longname));
	longname[VOL_NAME_MAX] = 0;
	assert_true(vol_name_is_valid(longname));
}

static void test_format_names_round_trip_and_unknown_is_named(void **state)
{
	enum vol_format f;

	(void)state;
	assert_int_equal(vol_format_parse("qcow2", &f), 0);
	assert_int_equal(f, VOL_FORMAT_QCOW2);
	assert_string_equal(vol_format_name(f), "qcow2");
	assert_int_equal(vol_format_parse("raw", &f), 0);
	assert_string_equal(vol_format_name(f), "raw");
	assert_int_equal(vol_format_parse("vmdk", &f), -1);
	assert_non_null(strstr(err_message(), "'vmdk'"));
}

static void test_capacity_units_follow_libvirt(void **state)
{
	const char *doc = "<volume><name>a</name><capacity unit='KB'>3</capacity>"
			  "<allocation unit='KiB'>2</allocation></volume>";
	struct vol_def *def = vol_def_parse(doc, strlen(doc), POOL_PARSE_VALIDATE);

	(void)state;
	assert_non_null(def);
	assert_int_equal(def->capacity, 3000);
	assert_int_equal(def->allocation, 2048);
	assert_int_equal(def->format, VOL_FORMAT_RAW);
	vol_def_free(def);
}

int main(int argc, char **argv)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_volume_names_cannot_leave_the_pool_directory),
		cmocka_unit_test(test_format_names_round_trip_and_unknown_is_named),
		cmocka_unit_test(test_capacity_units_follow_libvirt),
	};
	static const char *const good_labels[] = { "round-trips and passes virt-xml-validate" };
	static const char *const bad_labels[] = { "refused naming its problem" };
	static const CMUnitTestFunction good_pool[] = { test_good_pool_round_trips_and_validates };
	static const CMUnitTestFunction bad_pool[] = { test_bad_pool_is_refused_naming_the_problem };
	static const CMUnitTestFunction good_vol[] = { test_good_volume_round_trips_and_validates };
	static const CMUnitTestFunction bad_vol[] = { test_bad_volume_is_refused_naming_the_problem };
	struct corpus c = { 0 };
	int n[4];

	if (argc > 1)
		data_dir = argv[1];
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (corpus_add_case(&c, fixed[i].name, fixed[i].test_func, NULL) < 0)
			return 1;
	n[0] = corpus_add_dir(&c, data_dir, "pool/good", good_labels, good_pool, 1);
	n[1] = corpus_add_dir(&c, data_dir, "pool/bad", bad_labels, bad_pool, 1);
	n[2] = corpus_add_dir(&c, data_dir, "vol/good", good_labels, good_vol, 1);
	n[3] = corpus_add_dir(&c, data_dir, "vol/bad", bad_labels, bad_vol, 1);
	/* an empty or missing corpus must fail, not pass vacuously */
	if (n[0] < 3 || n[1] < 15 || n[2] < 3 || n[3] < 12) {
		fprintf(stderr, "pool corpus too small: %d/%d good/bad pools, %d/%d volumes\n", n[0], n[1], n[2], n[3]);
		return 1;
	}
	return _cmocka_run_group_tests("conf-pool", c.tests, c.n, NULL, NULL);
}
