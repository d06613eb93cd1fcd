/* Shared by the src/conf unit tests: reading corpus files, libvirt's
 * virt-xml-validate on a document, and turning each file of a corpus folder
 * into named cmocka test cases (so a failure names its file). */
#ifndef VIREO_TESTS_CONF_CORPUS_H
#define VIREO_TESTS_CONF_CORPUS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* The file's text, NUL-terminated (fails the test when unreadable). */
char *corpus_load(const char *path);

/* virt-xml-validate FILE SCHEMA on `xml`: 0 valid, 1 refused (*why = its
 * output, malloc'd), -1 when the tool is missing. */
int corpus_virt_xml_validate(const char *xml, const char *schema, char **why);

/* The message a bad corpus document names on its first line, as
 * "<!-- expect: MESSAGE -->" (fails the test when the line is missing). */
void corpus_expected_error(const char *path, const char *xml, char *expect, size_t size);

struct corpus {
	struct CMUnitTest *tests;
	size_t n, cap;
};

int corpus_add_case(struct corpus *c, const char *name, CMUnitTestFunction fn, char *path);
/* Every .xml file in DIR/SUB, sorted, as nfns cases "SUB/FILE: label" each with the
 * file's path as state. The number of files, or -1. */
int corpus_add_dir(struct corpus *c, const char *dir, const char *sub, const char *const *labels,
		   const CMUnitTestFunction *fns, size_t nfns);

#endif
