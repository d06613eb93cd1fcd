/* Unit tests of vireo-vmm's command line: every bad option names itself and
 * the problem, and exits 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/main/options.h"

/* Run the parser with stderr captured; returns its status, message in buf. */
static int parse(char *buf, size_t len, struct vm_config *cfg, int argc, char **argv)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO), rc;
	size_t n;

	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	rc = vmm_parse_args(argc, argv, cfg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return rc;
}

#define PARSE(...) ({ char *argv_[] = { "vireo-vmm", __VA_ARGS__, NULL }; \
	parse(msg, sizeof(msg), &cfg, (int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_); })

static void test_options_accept_a_full_command_line(void **state)
{
	struct vm_config cfg;
	char msg[1024];

	(void)state;
	assert_int_equal(PARSE("--kernel", "bz", "--initrd", "rd", "--cmdline", "quiet", "--memory", "2G",
			       "--cpus", "4", "--serial", "file:/tmp/x", "--qmp", "unix:/tmp/q", "--name", "web1",
			       "--pidfile", "/tmp/p"), 0);
	assert_string_equal(cfg.kernel, "bz");
	assert_int_equal(cfg.memory, 2ULL << 30);
	assert_int_equal(cfg.cpus, 4);
	assert_string_equal(cfg.qmp_path, "/tmp/q");
	assert_string_equal(cfg.name, "web1");
	assert_int_equal(PARSE("-k", "bz", "-m", "512"), 0);
	assert_int_equal(cfg.memory, 512ULL << 20);
	assert_int_equal(cfg.kernel_entry, VM_KERNEL_ENTRY_AUTO);
	assert_null(cfg.kernel_cache);
	assert_int_equal(PARSE("-k", "bz", "--kernel-entry", "linux64", "--kernel-cache", "none"), 0);
	assert_int_equal(cfg.kernel_entry, VM_KERNEL_ENTRY_LINUX64);
	assert_string_equal(cfg.kernel_cache, "none");
	assert_int_equal(PARSE("-k", "bz", "--kernel-entry", "pvh", "--kernel-cache", "/var/cache/k"), 0);
	assert_int_equal(cfg.kernel_entry, VM_KERNEL_ENTRY_PVH);
	assert_string_equal(cfg.kernel_cache, "/var/cache/k");
}

static void test_options_name_the_bad_option_and_exit_2(void **state)
{
	static const struct { const char *args[4]; const char *expect; } cases[] = {
		{ { "--kernel", "bz", "--memory", "12Q" }, "--memory" },
		{ { "--kernel", "bz", "--memory", "1K" }, "--memory" },
		{ { "--kernel", "bz", "--cpus", "0" }, "--cpus" },
		{ { "--kernel", "bz", "--cpus", "999" }, "--cpus" },
		{ { "--kernel", "bz", "--serial", "tcp:1" }, "--serial" },
		{ { "--kernel", "bz", "--qmp", "/tmp/q" }, "--qmp" },
		{ { "--kernel", "bz", "--bogus", "x" }, "--bogus" },
		{ { "--initrd", "x", NULL, NULL }, "--kernel" },
		{ { "--kernel", "bz", "--payload", "p" }, "exclude" },
		{ { "--kernel", "bz", "extra", NULL }, "extra" },
		{ { "--kernel", "bz", "--serial", "file:" }, "--serial" },
		{ { "--kernel", NULL, NULL, NULL }, "--kernel" },
		{ { "--kernel", "bz", "--kernel-entry", "bios" }, "--kernel-entry" },
		{ { "--kernel", "bz", "--kernel-cache", "rel/dir" }, "--kernel-cache" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[6] = { "vireo-vmm" };
		struct vm_config cfg;
		char msg[1024];
		int argc = 1;

		for (int j = 0; j < 4 && cases[i].args[j]; j++)
			argv[argc++] = (char *)cases[i].args[j];
		argv[argc] = NULL;
		assert_int_equal(parse(msg, sizeof(msg), &cfg, argc, argv), 2);
		if (!strstr(msg, cases[i].expect))
			fail_msg("case %zu: message '%s' lacks '%s'", i, msg, cases[i].expect);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_accept_a_full_command_line),
		cmocka_unit_test(test_options_name_the_bad_option_and_exit_2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
