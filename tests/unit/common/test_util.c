/* Unit tests of src/common: size parsing and the error record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"

static void test_parse_size_accepts_binary_suffixes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_size("512", 1, &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(parse_size("64K", 1, &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(parse_size("256M", 1, &v), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(parse_size("5G", 1, &v), 0);
	assert_int_equal(v, 5ULL << 30);
	assert_int_equal(parse_size("2GiB", 1, &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("100", 1 << 20, &v), 0);
	assert_int_equal(v, 100ULL << 20);
}

static void test_parse_size_rejects_junk_and_names_it(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_size("12Q", 1, &v), -1);
	assert_non_null(strstr(err_message(), "12Q"));
	assert_int_equal(parse_size("-5", 1, &v), -1);
	assert_int_equal(parse_size("", 1, &v), -1);
	assert_int_equal(parse_size("99999999999T", 1, &v), -1);
	assert_int_equal(parse_size("4Gx", 1, &v), -1);
	assert_int_equal(err_code(), ERR_INVALID);
}

static void test_err_prefix_adds_context(void **state)
{
	(void)state;
	err_set(ERR_IO, "disk gone");
	err_prefix("drive %d", 3);
	assert_string_equal(err_message(), "drive 3: disk gone");
	assert_int_equal(err_code(), ERR_IO);
	err_clear();
	assert_int_equal(err_code(), ERR_OK);
}

static void test_parse_uint_checks_range(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_uint("4", 1, 255, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(parse_uint("0", 1, 255, &v), -1);
	assert_int_equal(parse_uint("256", 1, 255, &v), -1);
	assert_int_equal(parse_uint("3x", 1, 255, &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size_accepts_binary_suffixes),
		cmocka_unit_test(test_parse_size_rejects_junk_and_names_it),
		cmocka_unit_test(test_err_prefix_adds_context),
		cmocka_unit_test(test_parse_uint_checks_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
