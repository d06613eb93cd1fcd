/* Corpus helpers of the src/conf unit tests (see corpus.h). */
#include "corpus.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

char *corpus_load(const char *path)
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

int corpus_virt_xml_validate(const char *xml, const char *schema, char **why)
{
	char tmp[] = "/tmp/vireo-conf-XXXXXX", log[] = "/tmp/vireo-conf-log-XXXXXX", cmd[256];
	int fd, logfd, rc;
	FILE *f;

	if (system("command -v virt-xml-validate >/dev/null 2>&1") != 0)
		return -1;
	fd = mkstemp(tmp);
	logfd = mkstemp(log);
	assert_true(fd >= 0 && logfd >= 0);
	close(logfd);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(xml, f) >= 0);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "virt-xml-validate %s %s >%s 2>&1", tmp, schema, log);
	rc = system(cmd);
	*why = rc ? corpus_load(log) : NULL;
	unlink(tmp);
	unlink(log);
	return rc ? 1 : 0;
}

void corpus_expected_error(const char *path, const char *xml, char *expect, size_t size)
{
	const char *start = strstr(xml, "<!-- expect: "), *end = NULL;

	if (!start || start != xml || !(end = strstr(start, " -->"))) {
		fail_msg("%s: first line must be <!-- expect: ... -->", path);
		return;   /* not reached: cmocka's fail does not return */
	}
	start += strlen("<!-- expect: ");
	assert_true((size_t)(end - start) < size);
	memcpy(expect, start, (size_t)(end - start));
	expect[end - start] = '\0';
}

int corpus_add_case(struct corpus *c, const char *name, CMUnitTestFunction fn, char *path)
{
	struct CMUnitTest *t;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		t = realloc(c->tests, c->cap * sizeof(*t));
		if (!t)
			return -1;
		c->tests = t;
	}
	c->tests[c->n++] = (struct CMUnitTest){ .name = name, .test_func = fn, .initial_state = path };
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int corpus_add_dir(struct corpus *c, const char *data_dir, const char *sub, const char *const *labels,
		   const CMUnitTestFunction *fns, size_t nfns)
{
	char dir[512], *names[512];
	size_t n = 0;
	DIR *d;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/%s", data_dir, sub);
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "cannot open corpus %s\n", dir);
		return -1;
	}
	while ((e = readdir(d)) && n < ARRAY_SIZE(names)) {
		size_t l = strlen(e->d_name);

		if (l > 4 && !strcmp(e->d_name + l - 4, ".xml"))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		for (size_t f = 0; f < nfns; f++) {
			char *path = malloc(strlen(dir) + strlen(names[i]) + 2);
			char *label = malloc(strlen(sub) + strlen(names[i]) + strlen(labels[f]) + 8);

			if (!path || !label)
				return -1;
			sprintf(path, "%s/%s", dir, names[i]);
			sprintf(label, "%s/%s: %s", sub, names[i], labels[f]);
			if (corpus_add_case(c, label, fns[f], path) < 0)
				return -1;
		}
		free(names[i]);
	}
	return (int)n;
}
