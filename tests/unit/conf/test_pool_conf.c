/* Unit tests of src/conf/pool_conf.c: pool and volume XML corpora in
 * data-pool/{pool,vol}/{good,bad}: good documents round-trip stably and their
 * dumpxml passes libvirt's virt-xml-validate (storagepool / storagevol); each bad document is
 * refused with the error its first-line comment names. Plus name rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "conf/pool_conf.h"

static const char *data_dir = "data-pool";

static char *load(const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char *text;

	if (read_file_all(path, 4 << 20, &data, &len) < 0)
		fail_msg("cannot read %s: %s", path, err_message());
	text = realloc(data, len + 1);
	assert_non_null(text);
	text[len] = '\0';
	return text;
}

/* virt-xml-validate on a formatted document; skipped (not failed) without libvirt-clients. */
static void assert_schema_valid(const char *what, const char *xml, const char *schema)
{
	char tmp[] = "/tmp/vireo-pool-test-XXXXXX";
	char cmd[256];
	int fd, rc;

	if (system("command -v virt-xml-validate >/dev/null 2>&1") != 0)
		return;
	fd = mkstemp(tmp);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, xml, strlen(xml)), (ssize_t)strlen(xml));
	close(fd);
	snprintf(cmd, sizeof(cmd), "virt-xml-validate %s %s >/dev/null 2>&1", tmp, schema);
	rc = system(cmd);
	unlink(tmp);
	if (rc != 0)
		fail_msg("%s: virt-xml-validate %s refused:\n%s", what, schema, xml);
}

static void test_good_pool_round_trips_and_validates(void **state)
{
	const char *path = *state;
	autofree char *xml = load(path), *out1 = NULL, *out2 = NULL, *inactive = NULL;
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
	autofree char *xml = load(path), *out1 = NULL, *out2 = NULL;
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
	autofree char *xml = load(path);
	char expect[512];
	const char *start = strstr(xml, "<!-- expect: "), *end;
	void *def;

	if (!start || !(end = strstr(start, " -->")))
		fail_msg("%s: first line must be <!-- expect: ... -->", path);
	start += strlen("<!-- expect: ");
	assert_true((size_t)(end - start) < sizeof(expect));
	memcpy(expect, start, (size_t)(end - start));
	expect[end - start] = '\0';
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

/* One test per corpus file, named after it. */
static void add_dir(struct CMUnitTest **tests, size_t *n, const char *sub, void (*fn)(void **),
		    const char *prefix)
{
	char dir[4096];
	struct dirent **list;
	int count;

	snprintf(dir, sizeof(dir), "%s/%s", data_dir, sub);
	count = scandir(dir, &list, NULL, alphasort);
	if (count < 0) {
		fprintf(stderr, "cannot read %s\n", dir);
		exit(1);
	}
	for (int i = 0; i < count; i++) {
		size_t len = strlen(list[i]->d_name);
		if (len > 4 && !strcmp(list[i]->d_name + len - 4, ".xml")) {
			char *path, *name;
			if (asprintf(&path, "%s/%s", dir, list[i]->d_name) < 0 ||
			    asprintf(&name, "%s %s", prefix, list[i]->d_name) < 0)
				exit(1);
			*tests = realloc(*tests, (*n + 1) * sizeof(**tests));
			(*tests)[(*n)++] = (struct CMUnitTest){ .name = name, .test_func = fn,
								 .initial_state = path };
		}
		free(list[i]);
	}
	free(list);
}

int main(int argc, char **argv)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_volume_names_cannot_leave_the_pool_directory),
		cmocka_unit_test(test_format_names_round_trip_and_unknown_is_named),
		cmocka_unit_test(test_capacity_units_follow_libvirt),
	};
	struct CMUnitTest *tests = NULL;
	size_t n = 0;
	int rc;

	if (argc > 1)
		data_dir = argv[1];
	add_dir(&tests, &n, "pool/good", test_good_pool_round_trips_and_validates, "good pool");
	add_dir(&tests, &n, "pool/bad", test_bad_pool_is_refused_naming_the_problem, "bad pool");
	add_dir(&tests, &n, "vol/good", test_good_volume_round_trips_and_validates, "good vol");
	add_dir(&tests, &n, "vol/bad", test_bad_volume_is_refused_naming_the_problem, "bad vol");
	rc = _cmocka_run_group_tests("pool corpus", tests, n, NULL, NULL);
	rc |= cmocka_run_group_tests(fixed, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		free((char *)tests[i].name);
		free(tests[i].initial_state);
	}
	free(tests);
	return rc;
}
