/* Corpus replay: runs a libFuzzer entry point over every file of a committed
 * corpus directory (argv[1]) as a cmocka test, so `make check` exercises the
 * fuzz targets' inputs under ASan+UBSan without clang's libFuzzer. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *corpus_dir;

static void test_fuzz_corpus_replays_without_crash(void **state)
{
	DIR *d = opendir(corpus_dir);
	struct dirent *de;
	unsigned n = 0;

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[4096];
		uint8_t *buf;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", corpus_dir, de->d_name);
		assert_int_equal(read_file_all(path, 1 << 24, &buf, &len), 0);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	print_message("replayed %u inputs from %s\n", n, corpus_dir);
	assert_true(n > 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_corpus_replays_without_crash),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	corpus_dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
