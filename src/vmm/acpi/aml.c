/* AML byte-code builder (see aml.h). Encodings follow ACPI 6.x chapter 20
 * (AML grammar) and 6.4 (resource descriptors). The first failure is recorded
 * with err_set() and makes every later call a no-op, so callers check once. */
#include "vmm/acpi/aml.h"
#include "common/error.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

enum {
	AML_ZERO_OP = 0x00,
	AML_ONE_OP = 0x01,
	AML_NAME_OP = 0x08,
	AML_BYTE_PREFIX = 0x0a,
	AML_WORD_PREFIX = 0x0b,
	AML_DWORD_PREFIX = 0x0c,
	AML_STRING_PREFIX = 0x0d,
	AML_QWORD_PREFIX = 0x0e,
	AML_SCOPE_OP = 0x10,
	AML_BUFFER_OP = 0x11,
	AML_PACKAGE_OP = 0x12,
	AML_METHOD_OP = 0x14,
	AML_DUAL_NAME_PREFIX = 0x2e,
	AML_MULTI_NAME_PREFIX = 0x2f,
	AML_EXT_OP_PREFIX = 0x5b,
	AML_DEVICE_OP = 0x82, /* after AML_EXT_OP_PREFIX */
	AML_ROOT_CHAR = 0x5c,
	AML_PARENT_PREFIX = 0x5e,
	AML_ARG0_OP = 0x68,
	AML_RETURN_OP = 0xa4,
	AML_ONES_OP = 0xff,
};

/* Resource descriptor tags (ACPI 6.4.2 small, 6.4.3 large). */
enum {
	AML_RES_IRQ_NOFLAGS = 0x22,  /* small type 4, length 2 */
	AML_RES_IO = 0x47,           /* small type 8, length 7 */
	AML_RES_END_TAG = 0x79,      /* small type 15, length 1 */
	AML_RES_MEMORY32_FIXED = 0x86,
	AML_RES_DWORD_SPACE = 0x87,
	AML_RES_WORD_SPACE = 0x88,
	AML_RES_EXT_INTERRUPT = 0x89,
	AML_RES_QWORD_SPACE = 0x8a,
};

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->data);
	memset(a, 0, sizeof(*a));
}

static void aml_fail(struct aml *a, enum err_code code, const char *what)
{
	if (!a->failed)
		err_set(code, "AML builder: %s", what);
	a->failed = true;
}

int aml_check(struct aml *a)
{
	if (a->failed)
		return -1;
	if (a->depth != 0) {
		aml_fail(a, ERR_INTERNAL, "an object was opened and never closed with aml_end()");
		return -1;
	}
	return 0;
}

static bool aml_reserve(struct aml *a, size_t n)
{
	if (a->failed)
		return false;
	if (n > AML_PKGLENGTH_MAX || a->len + n > AML_PKGLENGTH_MAX) {
		aml_fail(a, ERR_INVALID, "table larger than an AML package can describe");
		return false;
	}
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		uint8_t *p;

		while (cap < a->len + n)
			cap *= 2;
		p = realloc(a->data, cap);
		if (!p) {
			aml_fail(a, ERR_NOMEM, "out of memory");
			return false;
		}
		a->data = p;
		a->cap = cap;
	}
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!aml_reserve(a, n))
		return;
	memcpy(a->data + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

unsigned aml_pkglength_encode(uint8_t out[4], size_t body_len)
{
	/* One byte holds 6 bits; with 1-3 follow bytes the lead byte holds 4 bits
	 * and each follow byte 8 more. The encoded length includes itself. */
	if (body_len + 1 < (1u << 6)) {
		out[0] = (uint8_t)(body_len + 1);
		return 1;
	}
	for (unsigned n = 2; n <= 4; n++) {
		size_t total = body_len + n;

		if (total >= (1u << (4 + 8 * (n - 1))))
			continue;
		out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
		for (unsigned i = 1; i < n; i++)
			out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
		return n;
	}
	return 0;
}

static bool aml_seg_char_ok(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

void aml_name(struct aml *a, const char *name)
{
	uint8_t segs[255][4];
	unsigned nsegs = 0;
	const char *p = name;

	if (a->failed)
		return;
	if (*p == '\\') {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == '^') {
			aml_byte(a, AML_PARENT_PREFIX);
			p++;
		}
	}
	while (*p) {
		unsigned n = 0;

		if (nsegs == ARRAY_SIZE(segs))
			goto bad;
		memset(segs[nsegs], '_', 4);
		while (*p && *p != '.') {
			if (n == 4 || !aml_seg_char_ok(*p, n == 0))
				goto bad;
			segs[nsegs][n++] = (uint8_t)*p++;
		}
		if (n == 0)
			goto bad;
		nsegs++;
		if (*p == '.') {
			p++;
			if (!*p)
				goto bad;
		}
	}
	if (nsegs == 0) {
		aml_byte(a, 0x00); /* NullName */
		return;
	}
	if (nsegs == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nsegs);
	}
	aml_bytes(a, segs, 4 * (size_t)nsegs);
	return;
bad:
	if (!a->failed)
		err_set(ERR_INVALID, "AML builder: invalid name \"%s\"", name);
	a->failed = true;
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v == UINT64_MAX) {
		aml_byte(a, AML_ONES_OP);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7f) {
			aml_fail(a, ERR_INVALID, "string literal is not ASCII");
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		aml_fail(a, ERR_INVALID, "EISAID is not 7 characters");
		return;
	}
	/* Three letters of 5 bits each ('A' = 1), then four hex digits; the DWord
	 * is stored big-endian, i.e. byte-swapped from its natural value. */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(a, ERR_INVALID, "EISAID vendor part is not 3 capital letters");
			return;
		}
		v |= (uint32_t)(id[i] - 0x40) << (26 - 5 * i);
	}
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else {
			aml_fail(a, ERR_INVALID, "EISAID product part is not 4 hex digits");
			return;
		}
		v |= d << (4 * (6 - i));
	}
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, __builtin_bswap32(v), 4);
}

void aml_name_decl(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_name_decl(a, name);
	aml_integer(a, v);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
	aml_name_decl(a, name);
	aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name_decl(a, name);
	aml_eisaid(a, id);
}

void aml_arg(struct aml *a, unsigned n)
{
	if (n > 6) {
		aml_fail(a, ERR_INVALID, "methods have Arg0-Arg6 only");
		return;
	}
	aml_byte(a, (uint8_t)(AML_ARG0_OP + n));
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

void aml_method_return_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_method_begin(a, name, 0, false);
	aml_return(a);
	aml_integer(a, v);
	aml_end(a);
}

static void aml_push(struct aml *a, enum aml_frame_kind kind)
{
	if (a->failed)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		aml_fail(a, ERR_INTERNAL, "objects nested too deeply");
		return;
	}
	a->stack[a->depth].start = a->len;
	a->stack[a->depth].kind = kind;
	a->depth++;
}

void aml_scope_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_name(a, name);
}

void aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_name(a, name);
}

void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
	if (nargs > 7) {
		aml_fail(a, ERR_INVALID, "a method takes at most 7 arguments");
		return;
	}
	aml_byte(a, AML_METHOD_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_name(a, name);
	aml_byte(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

void aml_package_begin(struct aml *a, unsigned nelems)
{
	if (nelems > 255) {
		aml_fail(a, ERR_INVALID, "a Package holds at most 255 elements");
		return;
	}
	aml_byte(a, AML_PACKAGE_OP);
	aml_push(a, AML_FRAME_PKG);
	aml_byte(a, (uint8_t)nelems);
}

void aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_push(a, AML_FRAME_BUFFER);
}

void aml_resources_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_push(a, AML_FRAME_RESOURCES);
}

/* Insert prefix[0..n) at offset `at`, shifting what follows. */
static void aml_insert(struct aml *a, size_t at, const uint8_t *prefix, size_t n)
{
	if (!aml_reserve(a, n))
		return;
	memmove(a->data + at + n, a->data + at, a->len - at);
	memcpy(a->data + at, prefix, n);
	a->len += n;
}

void aml_end(struct aml *a)
{
	uint8_t prefix[4 + 9];
	size_t start, body;
	unsigned n = 0, k;

	if (a->failed)
		return;
	if (a->depth == 0) {
		aml_fail(a, ERR_INTERNAL, "aml_end() without an open object");
		return;
	}
	a->depth--;
	start = a->stack[a->depth].start;
	if (a->stack[a->depth].kind == AML_FRAME_RESOURCES) {
		/* EndTag with checksum 0: "the resource data is treated as valid". */
		aml_byte(a, AML_RES_END_TAG);
		aml_byte(a, 0);
	}
	body = a->len - start;
	if (a->stack[a->depth].kind != AML_FRAME_PKG) {
		/* Buffer: PkgLength covers BufferSize (an integer) and the bytes. */
		uint8_t size[9];
		unsigned sn;

		if (body <= 0xff) {
			size[0] = AML_BYTE_PREFIX;
			size[1] = (uint8_t)body;
			sn = 2;
		} else if (body <= 0xffff) {
			size[0] = AML_WORD_PREFIX;
			size[1] = (uint8_t)body;
			size[2] = (uint8_t)(body >> 8);
			sn = 3;
		} else {
			size[0] = AML_DWORD_PREFIX;
			for (int i = 0; i < 4; i++)
				size[1 + i] = (uint8_t)(body >> (8 * i));
			sn = 5;
		}
		k = aml_pkglength_encode(prefix, body + sn);
		if (k == 0)
			goto too_big;
		memcpy(prefix + k, size, sn);
		n = k + sn;
	} else {
		n = aml_pkglength_encode(prefix, body);
		if (n == 0)
			goto too_big;
	}
	aml_insert(a, start, prefix, n);
	return;
too_big:
	aml_fail(a, ERR_INVALID, "object larger than a PkgLength can describe");
}

void aml_word_space(struct aml *a, enum aml_space type, uint8_t gflags, uint8_t tflags,
		    uint16_t min, uint16_t max)
{
	if (max < min || (min == 0 && max == 0xffff)) {
		aml_fail(a, ERR_INVALID, "Word address range is empty or its length does not fit 16 bits");
		return;
	}
	aml_byte(a, AML_RES_WORD_SPACE);
	aml_le(a, 13, 2);
	aml_byte(a, (uint8_t)type);
	aml_byte(a, gflags);
	aml_byte(a, tflags);
	aml_le(a, 0, 2);                     /* granularity */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_le(a, 0, 2);                     /* translation offset */
	aml_le(a, (uint32_t)max - min + 1, 2);
}

void aml_dword_space(struct aml *a, enum aml_space type, uint8_t gflags, uint8_t tflags,
		     uint32_t min, uint32_t max)
{
	if (max < min || (min == 0 && max == UINT32_MAX)) {
		aml_fail(a, ERR_INVALID, "DWord address range is empty or its length does not fit 32 bits");
		return;
	}
	aml_byte(a, AML_RES_DWORD_SPACE);
	aml_le(a, 23, 2);
	aml_byte(a, (uint8_t)type);
	aml_byte(a, gflags);
	aml_byte(a, tflags);
	aml_le(a, 0, 4);
	aml_le(a, min, 4);
	aml_le(a, max, 4);
	aml_le(a, 0, 4);
	aml_le(a, (uint64_t)max - min + 1, 4);
}

void aml_qword_space(struct aml *a, enum aml_space type, uint8_t gflags, uint8_t tflags,
		     uint64_t min, uint64_t max)
{
	if (max < min || (min == 0 && max == UINT64_MAX)) {
		aml_fail(a, ERR_INVALID, "QWord address range is empty or its length does not fit 64 bits");
		return;
	}
	aml_byte(a, AML_RES_QWORD_SPACE);
	aml_le(a, 43, 2);
	aml_byte(a, (uint8_t)type);
	aml_byte(a, gflags);
	aml_byte(a, tflags);
	aml_le(a, 0, 8);
	aml_le(a, min, 8);
	aml_le(a, max, 8);
	aml_le(a, 0, 8);
	aml_le(a, max - min + 1, 8);
}

void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_byte(a, AML_RES_IO);
	aml_byte(a, 0x01); /* decodes 16 address bits */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_irq_noflags(struct aml *a, unsigned irq)
{
	if (irq > 15) {
		aml_fail(a, ERR_INVALID, "an IRQ descriptor names ISA IRQs 0-15 only");
		return;
	}
	aml_byte(a, AML_RES_IRQ_NOFLAGS);
	aml_le(a, 1u << irq, 2);
}

void aml_interrupt(struct aml *a, uint8_t flags, uint32_t gsi)
{
	aml_byte(a, AML_RES_EXT_INTERRUPT);
	aml_le(a, 6, 2);
	/* bit 0 set: this device consumes the interrupt */
	aml_byte(a, (uint8_t)(0x01 | (flags & (AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED))));
	aml_byte(a, 1);                      /* one interrupt in the table */
	aml_le(a, gsi, 4);
}

void aml_memory32_fixed(struct aml *a, uint32_t base, uint32_t len, bool rw)
{
	aml_byte(a, AML_RES_MEMORY32_FIXED);
	aml_le(a, 9, 2);
	aml_byte(a, rw ? 1 : 0);
	aml_le(a, base, 4);
	aml_le(a, len, 4);
}
