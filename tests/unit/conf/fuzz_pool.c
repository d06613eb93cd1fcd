/* libFuzzer target of the storage pool and volume XML parsers: any input is
 * refused with an error or parses into a def whose XML parses again to the same
 * text (the first byte picks pool or volume). Built with meson -Dfuzz=true
 * (clang) as fuzz-conf-pool; run by `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "conf/pool_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(void)
{
	if (err_code() == 0 || !err_message()[0])
		abort(); /* a refusal must say why */
}

static void fuzz_pool(const char *xml, size_t len)
{
	struct pool_def *def = pool_def_parse(xml, len, POOL_PARSE_VALIDATE), *again;
	char *a, *b;

	if (!def) {
		check_refusal();
		return;
	}
	a = pool_def_format(def, 0);
	again = a ? pool_def_parse(a, strlen(a), POOL_PARSE_VALIDATE) : NULL;
	if (!again)
		abort(); /* what we accept, we must be able to read back */
	b = pool_def_format(again, 0);
	if (!b || strcmp(a, b))
		abort();
	free(a);
	free(b);
	pool_def_free(again);
	pool_def_free(def);
}

static void fuzz_vol(const char *xml, size_t len)
{
	struct vol_def *def = vol_def_parse(xml, len, POOL_PARSE_VALIDATE), *again;
	char *a, *b;

	if (!def) {
		check_refusal();
		return;
	}
	a = vol_def_format(def, 0);
	again = a ? vol_def_parse(a, strlen(a), POOL_PARSE_VALIDATE) : NULL;
	if (!again)
		abort();
	b = vol_def_format(again, 0);
	if (!b || strcmp(a, b))
		abort();
	free(a);
	free(b);
	vol_def_free(again);
	vol_def_free(def);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_vol((const char *)data + 1, size - 1);
	else
		fuzz_pool((const char *)data + 1, size - 1);
	return 0;
}
