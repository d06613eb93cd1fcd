/* libFuzzer target of the domain XML parser: any input must be refused with an
 * error or parse into a def whose dumpxml parses again to the same text.
 * Built with meson -Dfuzz=true (clang) as fuzz-conf-domain; run by `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "conf/domain_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dom_def *def = dom_parse_xml((const char *)data, size, DOM_PARSE_VALIDATE | DOM_PARSE_STATUS);
	struct dom_def *again;
	char *a, *b;

	if (!def) {
		if (err_code() == 0 || !err_message()[0])
			abort(); /* a refusal must say why */
		return 0;
	}
	a = dom_format_xml(def, 0);
	if (!a)
		abort();
	again = dom_parse_xml(a, strlen(a), DOM_PARSE_VALIDATE | DOM_PARSE_STATUS);
	if (!again)
		abort(); /* what we accept, we must be able to read back */
	b = dom_format_xml(again, 0);
	if (!b || strcmp(a, b))
		abort();
	free(a);
	free(b);
	dom_def_free(again);
	dom_def_free(def);
	return 0;
}
