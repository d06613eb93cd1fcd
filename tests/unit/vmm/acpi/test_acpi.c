/* Unit tests of the AML builder and the ACPI tables: encodings, checksums,
 * pointers between tables, MADT contents, a walk of the DSDT's AML, and (when
 * iasl is installed) ACPICA's own disassembler and compiler over the tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/error.h"
#include "vmm/acpi/acpi.h"
#include "vmm/acpi/aml.h"

#define BASE_GPA 0xe0000ull
#define BUF_SIZE (128 * 1024)

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* ---- PkgLength ---------------------------------------------------------- */

/* Decode per ACPI 20.2.4: returns the encoded length and sets *nbytes. */
static size_t pkglength_decode(const uint8_t *p, unsigned *nbytes)
{
	unsigned n = (p[0] >> 6) + 1;
	size_t v;

	*nbytes = n;
	if (n == 1)
		return p[0] & 0x3f;
	v = p[0] & 0x0f;
	for (unsigned i = 1; i < n; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

static void test_aml_pkglength_picks_the_shortest_encoding_at_every_boundary(void **state)
{
	/* body sizes around each boundary and the byte count they must take */
	static const struct { size_t body; unsigned n; } cases[] = {
		{ 0, 1 }, { 1, 1 }, { 62, 1 }, { 63, 2 }, { 64, 2 }, { 4093, 2 }, { 4094, 3 },
		{ 4095, 3 }, { (1u << 20) - 4, 3 }, { (1u << 20) - 3, 4 }, { (1u << 28) - 5, 4 },
	};
	uint8_t out[4];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned n = aml_pkglength_encode(out, cases[i].body), dn;
		size_t v;

		assert_int_equal(n, cases[i].n);
		v = pkglength_decode(out, &dn);
		assert_int_equal(dn, n);
		assert_int_equal(v, cases[i].body + n);
		if (n > 1)
			assert_int_equal(out[0] & 0x30, 0); /* bits 5:4 reserved */
	}
	assert_int_equal(aml_pkglength_encode(out, 1u << 28), 0);
	/* worked example: 65-byte body -> total 67 = 0x43 -> 0x43 0x04 */
	assert_int_equal(aml_pkglength_encode(out, 65), 2);
	assert_int_equal(out[0], 0x43);
	assert_int_equal(out[1], 0x04);
}

static void test_aml_scope_pkglength_counts_itself_and_the_whole_body(void **state)
{
	static const size_t sizes[] = { 10, 58, 59, 60, 100, 4000, 4090, 5000, 70000 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct aml a;
		uint8_t *filler = calloc(1, sizes[i]);
		unsigned n;
		size_t v;

		assert_non_null(filler);
		aml_init(&a);
		aml_scope_begin(&a, "\\_SB");
		aml_bytes(&a, filler, sizes[i]);
		aml_end(&a);
		assert_int_equal(aml_check(&a), 0);
		assert_int_equal(a.data[0], 0x10);
		v = pkglength_decode(a.data + 1, &n);
		/* ScopeOp + PkgLength + "\_SB_" (5 bytes) + filler */
		assert_int_equal(v, n + 5 + sizes[i]);
		assert_int_equal(a.len, 1 + v);
		assert_memory_equal(a.data + 1 + n, "\\_SB_", 5);
		aml_free(&a);
		free(filler);
	}
}

/* ---- names, integers, strings ------------------------------------------ */

static void test_aml_names_are_padded_and_prefixed(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_name(&a, "_HID");
	aml_name(&a, "COM");
	aml_name(&a, "\\_SB.PCI0");
	aml_name(&a, "^FOO");
	aml_name(&a, "\\A.B.C");
	aml_name(&a, "\\");
	assert_int_equal(aml_check(&a), 0);
	static const uint8_t want[] = {
		'_', 'H', 'I', 'D',
		'C', 'O', 'M', '_',
		0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
		0x5e, 'F', 'O', 'O', '_',
		0x5c, 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_',
		0x5c, 0x00,
	};
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.data, want, sizeof(want));
	aml_free(&a);
}

static void test_aml_rejects_bad_names_with_a_message(void **state)
{
	static const char *bad[] = { "TOOLONG", "1ABC", "A..B", "A.", "lower", "\\_SB.", "" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aml a;

		aml_init(&a);
		aml_name_integer(&a, bad[i], 1);
		if (bad[i][0] == '\0') {
			/* the empty string is the NullName, valid as a reference */
			assert_int_equal(aml_check(&a), 0);
		} else {
			assert_int_equal(aml_check(&a), -1);
			assert_int_equal(err_code(), ERR_INVALID);
			assert_non_null(strstr(err_message(), bad[i]));
		}
		aml_free(&a);
	}
}

static void test_aml_integers_use_the_shortest_prefix(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 0xff);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0x100000000ull);
	aml_integer(&a, UINT64_MAX);
	assert_int_equal(aml_check(&a), 0);
	static const uint8_t want[] = {
		0x00, 0x01, 0x0a, 0xff, 0x0b, 0x00, 0x01, 0x0c, 0x00, 0x00, 0x01, 0x00,
		0x0e, 0, 0, 0, 0, 1, 0, 0, 0, 0xff,
	};
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.data, want, sizeof(want));
	aml_free(&a);
}

static void test_aml_eisaid_compresses_pnp_ids(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_eisaid(&a, "PNP0A03");
	aml_eisaid(&a, "PNP0501");
	assert_int_equal(aml_check(&a), 0);
	static const uint8_t want[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x03, 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	assert_memory_equal(a.data, want, sizeof(want));
	aml_free(&a);
	aml_init(&a);
	aml_eisaid(&a, "pnp0a03");
	assert_int_equal(aml_check(&a), -1);
	aml_free(&a);
}

static void test_aml_method_and_package_encode_flags_and_counts(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_method_return_integer(&a, "_STA", 0x0f);
	aml_method_begin(&a, "_OSC", 4, true);
	aml_return(&a);
	aml_arg(&a, 3);
	aml_end(&a);
	aml_name_decl(&a, "_S5_");
	aml_package_begin(&a, 2);
	aml_integer(&a, 5);
	aml_string(&a, "x");
	aml_end(&a);
	assert_int_equal(aml_check(&a), 0);
	static const uint8_t want[] = {
		0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f,
		0x14, 0x08, '_', 'O', 'S', 'C', 0x0c, 0xa4, 0x6b,
		0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x02, 0x0a, 0x05, 0x0d, 'x', 0x00,
	};
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.data, want, sizeof(want));
	aml_free(&a);
}

static void test_aml_resource_template_has_size_and_end_tag(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_resources_begin(&a);
	aml_io(&a, 0x3f8, 0x3f8, 1, 8);
	aml_irq_noflags(&a, 4);
	aml_end(&a);
	assert_int_equal(aml_check(&a), 0);
	static const uint8_t want[] = {
		0x11, 0x10, 0x0a, 0x0d,
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
		0x22, 0x10, 0x00,
		0x79, 0x00,
	};
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.data, want, sizeof(want));
	aml_free(&a);
}

static void test_aml_extended_interrupt_encodes_level_high_shared(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_interrupt(&a, AML_IRQ_SHARED, 16);
	aml_interrupt(&a, AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW, 0x12345678);
	assert_int_equal(aml_check(&a), 0);
	static const uint8_t want[] = {
		0x89, 0x06, 0x00, 0x09, 0x01, 0x10, 0x00, 0x00, 0x00,
		0x89, 0x06, 0x00, 0x07, 0x01, 0x78, 0x56, 0x34, 0x12,
	};
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.data, want, sizeof(want));
	aml_free(&a);
}

static void test_aml_unclosed_or_overclosed_objects_are_errors(void **state)
{
	struct aml a;

	(void)state;
	aml_init(&a);
	aml_device_begin(&a, "DEV0");
	assert_int_equal(aml_check(&a), -1);
	aml_free(&a);
	aml_init(&a);
	aml_end(&a);
	assert_int_equal(aml_check(&a), -1);
	assert_int_equal(err_code(), ERR_INTERNAL);
	aml_free(&a);
	aml_init(&a);
	aml_resources_begin(&a);
	aml_irq_noflags(&a, 16);
	aml_end(&a);
	assert_int_equal(aml_check(&a), -1);
	aml_free(&a);
}

/* ---- the tables --------------------------------------------------------- */

struct built {
	uint8_t buf[BUF_SIZE];
	ssize_t len;
	uint64_t rsdp;
};

static void config_for_tests(struct acpi_config *c)
{
	acpi_config_default(c, 2);
	c->max_cpus = 5;
	c->pci_mmio64_base = 0x100000000ull * 8;
	c->pci_mmio64_size = 1ull << 34;
	c->pci_ecam_base = 0xb0000000;
	c->pci_ecam_last_bus = 0xff;
	c->pci_intx_gsi_base = 16;
}

static struct built *build(const struct acpi_config *c)
{
	struct built *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	memset(b->buf, 0xa5, sizeof(b->buf)); /* the builder must not rely on zeroed memory */
	b->len = acpi_build_tables(c, b->buf, sizeof(b->buf), BASE_GPA, &b->rsdp);
	if (b->len < 0)
		fail_msg("acpi_build_tables: %s", err_message());
	assert_true(b->len > 0 && b->len <= BUF_SIZE);
	return b;
}

/* The table at guest address gpa: checks it lies in the built area, has the
 * signature, a sane length and a zero checksum. */
static const uint8_t *table_at(const struct built *b, uint64_t gpa, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	assert_true(gpa >= BASE_GPA && gpa + 36 <= BASE_GPA + (uint64_t)b->len);
	t = b->buf + (gpa - BASE_GPA);
	if (memcmp(t, sig, 4) != 0)
		fail_msg("expected %s at 0x%llx, found %.4s", sig, (unsigned long long)gpa, (const char *)t);
	len = le32(t + 4);
	assert_true(len >= 36 && gpa + len <= BASE_GPA + (uint64_t)b->len);
	if (sum8(t, len) != 0)
		fail_msg("%s checksum is wrong", sig);
	return t;
}

/* Find a table by signature through RSDP -> XSDT; NULL if not listed. */
static const uint8_t *find_table(const struct built *b, const char *sig)
{
	const uint8_t *r = b->buf + (b->rsdp - BASE_GPA);
	const uint8_t *x = table_at(b, le64(r + 24), "XSDT");
	uint32_t n = (le32(x + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t gpa = le64(x + 36 + 8 * i);
		const uint8_t *t = b->buf + (gpa - BASE_GPA);

		assert_true(gpa >= BASE_GPA && gpa < BASE_GPA + (uint64_t)b->len);
		if (memcmp(t, sig, 4) == 0)
			return table_at(b, gpa, sig);
	}
	return NULL;
}

static void test_acpi_rsdp_is_at_the_base_with_both_checksums(void **state)
{
	struct acpi_config c;
	struct built *b;
	const uint8_t *r;

	(void)state;
	config_for_tests(&c);
	b = build(&c);
	assert_int_equal(b->rsdp, BASE_GPA);
	r = b->buf;
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum8(r, 20), 0);
	assert_int_equal(sum8(r, 36), 0);
	assert_int_equal(r[15], 2);
	assert_int_equal(le32(r + 20), 36);
	table_at(b, le64(r + 24), "XSDT");
	table_at(b, le32(r + 16), "RSDT");
	free(b);
}

static void test_acpi_xsdt_and_rsdt_list_the_same_tables(void **state)
{
	struct acpi_config c;
	struct built *b;
	const uint8_t *x, *rs;
	uint32_t n;

	(void)state;
	config_for_tests(&c);
	b = build(&c);
	x = table_at(b, le64(b->buf + 24), "XSDT");
	rs = table_at(b, le32(b->buf + 16), "RSDT");
	n = (le32(x + 4) - 36) / 8;
	assert_int_equal(n, 3);
	assert_int_equal((le32(rs + 4) - 36) / 4, n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(le64(x + 36 + 8 * i), le32(rs + 36 + 4 * i));
	assert_non_null(find_table(b, "FACP"));
	assert_non_null(find_table(b, "APIC"));
	assert_non_null(find_table(b, "MCFG"));
	free(b);
}

static void test_acpi_fadt_points_to_dsdt_and_facs_consistently(void **state)
{
	struct acpi_config c;
	struct built *b;
	const uint8_t *f, *facs;
	uint32_t facs_gpa;

	(void)state;
	config_for_tests(&c);
	b = build(&c);
	f = find_table(b, "FACP");
	assert_int_equal(le32(f + 4), 276);
	assert_int_equal(f[8], 6);
	/* DSDT given both ways, the same; FACS by the 32-bit field only (the
	 * spec wants X_FIRMWARE_CTRL zero when FIRMWARE_CTRL is set). */
	assert_int_equal(le32(f + 40), le64(f + 140));
	table_at(b, le64(f + 140), "DSDT");
	facs_gpa = le32(f + 36);
	assert_int_equal(le64(f + 132), 0);
	assert_int_equal(facs_gpa % 64, 0);
	assert_true(facs_gpa >= BASE_GPA && facs_gpa + 64 <= BASE_GPA + (uint64_t)b->len);
	facs = b->buf + (facs_gpa - BASE_GPA);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(le32(facs + 4), 64);
	free(b);
}

static void check_gas(const uint8_t *g, uint8_t bits, uint64_t port)
{
	assert_int_equal(g[0], 1);  /* system I/O */
	assert_int_equal(g[1], bits);
	assert_int_equal(g[2], 0);
	assert_int_equal(le64(g + 4), port);
}

static void test_acpi_fadt_describes_pm_blocks_sci_and_reset(void **state)
{
	struct acpi_config c;
	struct built *b;
	const uint8_t *f;
	uint32_t flags;

	(void)state;
	config_for_tests(&c);
	b = build(&c);
	f = find_table(b, "FACP");
	assert_int_equal(le16(f + 46), 9);          /* SCI_INT */
	assert_int_equal(le32(f + 48), 0);          /* SMI_CMD: ACPI always on */
	assert_int_equal(le32(f + 56), 0x600);      /* PM1a_EVT_BLK */
	assert_int_equal(le32(f + 64), 0x604);      /* PM1a_CNT_BLK */
	assert_int_equal(le32(f + 76), 0x608);      /* PM_TMR_BLK */
	assert_int_equal(le32(f + 60) | le32(f + 68) | le32(f + 72) | le32(f + 80) | le32(f + 84), 0);
	assert_int_equal(f[88], 4);
	assert_int_equal(f[89], 2);
	assert_int_equal(f[91], 4);
	assert_int_equal(f[92], 0);                 /* no GPE0 */
	check_gas(f + 148, 32, 0x600);
	check_gas(f + 172, 16, 0x604);
	check_gas(f + 208, 32, 0x608);
	check_gas(f + 116, 8, 0xcf9);               /* RESET_REG */
	assert_int_equal(f[128], ACPI_RESET_VALUE);
	flags = le32(f + 112);
	assert_false(flags & (1u << 4));            /* PWR_BUTTON clear: fixed feature */
	assert_true(flags & (1u << 5));             /* SLP_BUTTON: none */
	assert_true(flags & (1u << 8));             /* TMR_VAL_EXT: 32-bit timer */
	assert_true(flags & (1u << 10));            /* RESET_REG_SUP */
	assert_false(flags & (1u << 20));           /* HW_REDUCED_ACPI */
	assert_true(le16(f + 109) & (1u << 1));     /* 8042 present */
	assert_false(le16(f + 109) & (1u << 5));    /* CMOS RTC present */
	free(b);
}

static void test_acpi_fadt_without_timer_or_reset_says_so(void **state)
{
	struct acpi_config c;
	struct built *b;
	const uint8_t *f;

	(void)state;
	config_for_tests(&c);
	c.pm_tmr_port = 0;
	c.reset_port = 0;
	b = build(&c);
	f = find_table(b, "FACP");
	assert_int_equal(le32(f + 76), 0);
	assert_int_equal(f[91], 0);
	assert_int_equal(le64(f + 212), 0);
	assert_int_equal(le64(f + 120), 0);
	assert_false(le32(f + 112) & (1u << 8));
	assert_false(le32(f + 112) & (1u << 10));
	free(b);
}

static void test_acpi_madt_lists_present_and_hotpluggable_cpus_ioapic_and_overrides(void **state)
{
	struct acpi_config c;
	struct built *b;
	const uint8_t *m, *e, *end;
	unsigned enabled = 0, capable = 0, ioapics = 0, nmis = 0;
	bool irq0 = false, sci = false;

	(void)state;
	config_for_tests(&c);
	b = build(&c);
	m = find_table(b, "APIC");
	assert_int_equal(le32(m + 36), 0xfee00000);
	assert_int_equal(le32(m + 40), 1);          /* PCAT_COMPAT */
	end = m + le32(m + 4);
	for (e = m + 44; e < end; e += e[1]) {
		assert_true(e[1] >= 2 && e + e[1] <= end);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], e[3]);   /* UID = APIC id */
			if (le32(e + 4) == 1) {
				assert_true(e[3] < c.ncpus);
				enabled++;
			} else {
				assert_int_equal(le32(e + 4), 2); /* online capable */
				assert_true(e[3] >= c.ncpus && e[3] < c.max_cpus);
				capable++;
			}
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], ACPI_IOAPIC_ID);
			assert_int_equal(le32(e + 4), 0xfec00000);
			assert_int_equal(le32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);
			if (e[3] == 0) {
				assert_int_equal(le32(e + 4), 2);
				irq0 = true;
			} else if (e[3] == 9) {
				assert_int_equal(le32(e + 4), 9);
				assert_int_equal(le16(e + 8), 0x000d);
				sci = true;
			} else {
				fail_msg("unexpected override for IRQ %u", e[3]);
			}
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(enabled, 2);
	assert_int_equal(capable, 3);
	assert_int_equal(ioapics, 1);
	assert_int_equal(nmis, 1);
	assert_true(irq0 && sci);
	free(b);
}

static void test_acpi_madt_holds_the_largest_machine(void **state)
{
	struct acpi_config c;
	struct built *b;
	const uint8_t *m;

	(void)state;
	acpi_config_default(&c, ACPI_MAX_CPUS);
	b = build(&c);
	m = find_table(b, "APIC");
	assert_int_equal(le32(m + 4), 44 + 8 * ACPI_MAX_CPUS + 12 + 20 + 6);
	free(b);
	acpi_config_default(&c, ACPI_MAX_CPUS + 1);
	b = calloc(1, sizeof(*b));
	assert_non_null(b);
	assert_int_equal(acpi_build_tables(&c, b->buf, sizeof(b->buf), BASE_GPA, &b->rsdp), -1);
	assert_int_equal(err_code(), ERR_INVALID);
	free(b);
}

static void test_acpi_mcfg_only_when_ecam_is_configured(void **state)
{
	struct acpi_config c;
	struct built *b;
	const uint8_t *m;

	(void)state;
	config_for_tests(&c);
	b = build(&c);
	m = find_table(b, "MCFG");
	assert_int_equal(le32(m + 4), 60);
	assert_int_equal(le64(m + 44), 0xb0000000);
	assert_int_equal(le16(m + 52), 0);
	assert_int_equal(m[54], 0);
	assert_int_equal(m[55], 0xff);

	free(b);
	c.pci_ecam_base = 0;
	b = build(&c);
	assert_null(find_table(b, "MCFG"));
	free(b);
}

static void test_acpi_refuses_small_buffers_and_bad_configs(void **state)
{
	struct acpi_config c;
	uint8_t small[512];
	uint64_t rsdp;

	(void)state;
	config_for_tests(&c);
	memset(small, 0, sizeof(small));
	assert_int_equal(acpi_build_tables(&c, small, sizeof(small), BASE_GPA, &rsdp), -1);
	assert_int_equal(err_code(), ERR_INVALID);
	assert_non_null(strstr(err_message(), "512"));

	config_for_tests(&c);
	c.ncpus = 0;
	assert_int_equal(acpi_build_tables(&c, small, sizeof(small), BASE_GPA, &rsdp), -1);
	config_for_tests(&c);
	c.max_cpus = 1;
	assert_int_equal(acpi_build_tables(&c, small, sizeof(small), BASE_GPA, &rsdp), -1);
	config_for_tests(&c);
	c.pm1a_cnt_port = 0x602;
	assert_int_equal(acpi_build_tables(&c, small, sizeof(small), BASE_GPA, &rsdp), -1);
	config_for_tests(&c);
	c.pci_mmio32_size = 0x50000000; /* runs over the IOAPIC */
	assert_int_equal(acpi_build_tables(&c, small, sizeof(small), BASE_GPA, &rsdp), -1);
	config_for_tests(&c);
	c.pci_ecam_base = 0xb0001000;
	assert_int_equal(acpi_build_tables(&c, small, sizeof(small), BASE_GPA, &rsdp), -1);
	config_for_tests(&c);
	c.pci_mmio32_size = 0x20000000;
	c.pci_ecam_base = 0xf0000000; /* 256 buses run over the IOAPIC */
	assert_int_equal(acpi_build_tables(&c, small, sizeof(small), BASE_GPA, &rsdp), -1);
	assert_non_null(strstr(err_message(), "ECAM"));
	c.pci_ecam_last_bus = 0;      /* one bus fits: now only the buffer is too small */
	assert_int_equal(acpi_build_tables(&c, small, sizeof(small), BASE_GPA, &rsdp), -1);
	assert_non_null(strstr(err_message(), "do not fit"));
	config_for_tests(&c);
	assert_int_equal(acpi_build_tables(&c, small, sizeof(small), BASE_GPA + 8, &rsdp), -1);
}

/* ---- a walker for the AML subset the DSDT uses -------------------------- */

#define MAX_NAMES 64

struct aml_walk {
	const uint8_t *base;
	struct { char path[96]; const uint8_t *obj; size_t len; } names[MAX_NAMES];
	unsigned nnames;
	unsigned devices, methods;
};

static size_t walk_namestring(const uint8_t *p, size_t len, char *out, size_t outsz)
{
	size_t i = 0, o = 0;
	unsigned nseg;

	out[0] = '\0';
	while (i < len && (p[i] == '\\' || p[i] == '^')) {
		if (o + 2 < outsz)
			out[o++] = (char)p[i];
		i++;
	}
	assert_true(i < len);
	if (p[i] == 0x00)
		return i + 1;
	if (p[i] == 0x2e) {
		nseg = 2;
		i++;
	} else if (p[i] == 0x2f) {
		assert_true(i + 1 < len);
		nseg = p[i + 1];
		i += 2;
	} else {
		nseg = 1;
	}
	assert_true(i + 4 * (size_t)nseg <= len);
	for (unsigned s = 0; s < nseg; s++) {
		for (unsigned k = 0; k < 4; k++) {
			char ch = (char)p[i + k];

			assert_true((ch >= 'A' && ch <= 'Z') || ch == '_' || (k > 0 && ch >= '0' && ch <= '9'));
		}
		if (s > 0 && o + 2 < outsz)
			out[o++] = '.';
		if (o + 5 < outsz) {
			memcpy(out + o, p + i, 4);
			o += 4;
		}
		i += 4;
	}
	out[o] = '\0';
	return i;
}

/* Returns the PkgLength value and sets *n to its byte count; checks it fits. */
static size_t walk_pkglength(const uint8_t *p, size_t len, unsigned *n)
{
	size_t v;

	assert_true(len > 0);
	v = pkglength_decode(p, n);
	assert_true(*n <= len);
	assert_true(v >= *n && v <= len);
	return v;
}

static size_t walk_object(struct aml_walk *w, const uint8_t *p, size_t len);

static size_t walk_integer(const uint8_t *p, size_t len, uint64_t *v)
{
	static const unsigned sizes[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8 };
	unsigned n;

	assert_true(len > 0);
	if (p[0] == 0x00 || p[0] == 0x01 || p[0] == 0xff) {
		*v = p[0] == 0xff ? UINT64_MAX : p[0];
		return 1;
	}
	assert_true(p[0] < sizeof(sizes) / sizeof(sizes[0]) && sizes[p[0]]);
	n = sizes[p[0]];
	assert_true(1 + n <= len);
	*v = 0;
	for (unsigned i = 0; i < n; i++)
		*v |= (uint64_t)p[1 + i] << (8 * i);
	return 1 + n;
}

static size_t walk_object(struct aml_walk *w, const uint8_t *p, size_t len)
{
	uint64_t v;
	unsigned n;
	size_t pl, i;

	assert_true(len > 0);
	switch (p[0]) {
	case 0x0d: {
		const uint8_t *nul = memchr(p + 1, 0, len - 1);

		assert_non_null(nul);
		return (size_t)(nul - p) + 1;
	}
	case 0x12: /* Package */
		pl = walk_pkglength(p + 1, len - 1, &n);
		i = 1 + n;
		assert_true(i < 1 + pl);
		{
			unsigned count = p[i++], seen = 0;

			while (i < 1 + pl) {
				i += walk_object(w, p + i, 1 + pl - i);
				seen++;
			}
			assert_int_equal(seen, count);
		}
		assert_int_equal(i, 1 + pl);
		return 1 + pl;
	case 0x11: /* Buffer */
		pl = walk_pkglength(p + 1, len - 1, &n);
		i = 1 + n;
		i += walk_integer(p + i, 1 + pl - i, &v);
		assert_int_equal(v, 1 + pl - i);
		return 1 + pl;
	default:
		if (p[0] >= 0x68 && p[0] <= 0x6e)
			return 1; /* ArgX */
		if ((p[0] >= 'A' && p[0] <= 'Z') || p[0] == '_' || p[0] == '\\' || p[0] == '^') {
			char ref[80];

			return walk_namestring(p, len, ref, sizeof(ref)); /* a reference */
		}
		return walk_integer(p, len, &v);
	}
}

static void walk_termlist(struct aml_walk *w, const uint8_t *p, size_t len, const char *scope);

static void join_path(char *out, size_t sz, const char *scope, const char *name)
{
	if (name[0] == '\\' || scope[0] == '\0')
		snprintf(out, sz, "%s", name);
	else
		snprintf(out, sz, "%s.%s", scope, name);
}

static void walk_termlist(struct aml_walk *w, const uint8_t *p, size_t len, const char *scope)
{
	size_t i = 0;

	while (i < len) {
		char name[80], path[96];
		unsigned n;
		size_t pl, j;

		switch (p[i]) {
		case 0x08: /* Name */
			j = i + 1 + walk_namestring(p + i + 1, len - i - 1, name, sizeof(name));
			assert_true(w->nnames < MAX_NAMES);
			join_path(w->names[w->nnames].path, sizeof(w->names[0].path), scope, name);
			w->names[w->nnames].obj = p + j;
			w->names[w->nnames].len = walk_object(w, p + j, len - j);
			i = j + w->names[w->nnames].len;
			w->nnames++;
			break;
		case 0x10: /* Scope */
		case 0x5b: /* Device (ExtOp 0x82) */
			j = i + 1;
			if (p[i] == 0x5b) {
				assert_true(j < len);
				assert_int_equal(p[j], 0x82);
				j++;
				w->devices++;
			}
			pl = walk_pkglength(p + j, len - j, &n);
			{
				size_t body = j + n, end = j + pl;

				body += walk_namestring(p + body, end - body, name, sizeof(name));
				join_path(path, sizeof(path), scope, name);
				walk_termlist(w, p + body, end - body, path);
				i = end;
			}
			break;
		case 0x14: /* Method: body is Return(obj) statements in our subset */
			pl = walk_pkglength(p + i + 1, len - i - 1, &n);
			{
				size_t body = i + 1 + n, end = i + 1 + pl;

				body += walk_namestring(p + body, end - body, name, sizeof(name));
				assert_true(body < end);
				body++; /* flags */
				while (body < end) {
					assert_int_equal(p[body], 0xa4);
					body++;
					body += walk_object(w, p + body, end - body);
				}
				assert_int_equal(body, end);
				w->methods++;
				i = end;
			}
			break;
		default:
			fail_msg("unexpected AML opcode 0x%02x at DSDT offset %zu", p[i], (size_t)(p + i - w->base) + 36);
		}
	}
	assert_int_equal(i, len);
}

static const uint8_t *walk_find(const struct aml_walk *w, const char *path, size_t *len)
{
	for (unsigned i = 0; i < w->nnames; i++) {
		if (strcmp(w->names[i].path, path) == 0) {
			if (len)
				*len = w->names[i].len;
			return w->names[i].obj;
		}
	}
	return NULL;
}

static const uint8_t *dsdt_of(const struct built *b, size_t *len)
{
	const uint8_t *f = find_table(b, "FACP");
	const uint8_t *d = table_at(b, le64(f + 140), "DSDT");

	assert_int_equal(d[8], 2);
	*len = le32(d + 4) - 36;
	return d + 36;
}

/* Finds a resource descriptor of tag `tag` (and for address spaces, of
 * resource type `rtype`) whose minimum is `min`; walks the list to the EndTag. */
static const uint8_t *crs_find(const uint8_t *buf_obj, uint8_t tag, int rtype, uint64_t min)
{
	unsigned n;
	size_t pl = pkglength_decode(buf_obj + 1, &n), i = 1 + n, end = 1 + pl;
	uint64_t size;
	const uint8_t *found = NULL;

	i += walk_integer(buf_obj + i, end - i, &size);
	while (i < end) {
		const uint8_t *d = buf_obj + i;
		size_t dlen;

		if (d[0] & 0x80) {
			dlen = 3 + le16(d + 1);
		} else {
			dlen = 1 + (d[0] & 7);
			if (d[0] == 0x79) {
				assert_int_equal(i + dlen, end);
				break;
			}
		}
		assert_true(i + dlen <= end);
		if (d[0] == tag) {
			uint64_t m = 0;

			if (tag == 0x47)
				m = le16(d + 2);
			else if (tag == 0x88)
				m = le16(d + 8);
			else if (tag == 0x87)
				m = le32(d + 10);
			else if (tag == 0x8a)
				m = le64(d + 14);
			else if (tag == 0x86)
				m = le32(d + 4);
			/* 0x89 (extended interrupt): matched by tag alone, min 0 */
			if ((rtype < 0 || d[3] == rtype) && m == min)
				found = d;
		}
		i += dlen;
	}
	assert_true(i < end);
	return found;
}

static void test_acpi_dsdt_is_a_sequence_of_well_formed_aml_objects(void **state)
{
	struct acpi_config c;
	struct built *b;
	struct aml_walk *w = calloc(1, sizeof(*w));
	const uint8_t *dsdt, *o, *d;
	size_t len, olen;
	uint64_t v;

	(void)state;
	assert_non_null(w);
	config_for_tests(&c);
	b = build(&c);
	dsdt = dsdt_of(b, &len);
	w->base = dsdt;
	walk_termlist(w, dsdt, len, "");
	assert_int_equal(w->devices, 7); /* PCI0, GSIA-GSID, MBRD, COM1 */
	assert_int_equal(w->methods, 9); /* _OSC, and _SRS and _DIS of each link */

	o = walk_find(w, "\\_S5_", &olen);
	assert_non_null(o);
	assert_int_equal(o[0], 0x12);
	assert_int_equal(o[2], 4);
	walk_integer(o + 3, olen - 3, &v);
	assert_int_equal(v, ACPI_S5_SLP_TYP);

	o = walk_find(w, "\\_SB_.PCI0._HID", &olen);
	assert_non_null(o);
	assert_int_equal(le32(o + 1), 0x080ad041); /* PNP0A08 with ECAM */
	assert_non_null(walk_find(w, "\\_SB_.PCI0._CID", NULL));
	assert_non_null(walk_find(w, "\\_SB_.PCI0._SEG", NULL));
	o = walk_find(w, "\\_SB_.PCI0._BBN", NULL);
	assert_non_null(o);
	assert_int_equal(o[0], 0x00);

	o = walk_find(w, "\\_SB_.PCI0._CRS", NULL);
	assert_non_null(o);
	d = crs_find(o, 0x88, 2, 0);                   /* bus numbers 0-255 */
	assert_non_null(d);
	assert_int_equal(le16(d + 10), 0xff);
	assert_int_equal(le16(d + 14), 0x100);
	d = crs_find(o, 0x47, -1, 0xcf8);              /* conf1 ports */
	assert_non_null(d);
	assert_int_equal(d[7], 8);
	d = crs_find(o, 0x88, 1, 0x0000);              /* I/O below conf1 */
	assert_non_null(d);
	assert_int_equal(le16(d + 10), 0x0cf7);
	d = crs_find(o, 0x88, 1, 0x0d00);              /* I/O above conf1 */
	assert_non_null(d);
	assert_int_equal(le16(d + 10), 0xffff);
	assert_int_equal(le16(d + 14), 0xf300);
	d = crs_find(o, 0x87, 0, c.pci_mmio32_base);
	assert_non_null(d);
	assert_int_equal(le32(d + 14), c.pci_mmio32_base + c.pci_mmio32_size - 1);
	assert_int_equal(le32(d + 22), c.pci_mmio32_size);
	d = crs_find(o, 0x8a, 0, c.pci_mmio64_base);
	assert_non_null(d);
	assert_int_equal(le64(d + 38), c.pci_mmio64_size);

	o = walk_find(w, "\\_SB_.MBRD._CRS", NULL);
	assert_non_null(o);
	d = crs_find(o, 0x86, -1, 0xb0000000);
	assert_non_null(d);
	assert_int_equal(le32(d + 8), ACPI_ECAM_SIZE(0xff));

	o = walk_find(w, "\\_SB_.COM1._CRS", NULL);
	assert_non_null(o);
	assert_non_null(crs_find(o, 0x47, -1, 0x3f8));
	free(b);
	free(w);
}

static void test_acpi_dsdt_without_ecam_or_com1_is_a_plain_pci_host(void **state)
{
	struct acpi_config c;
	struct built *b;
	struct aml_walk *w = calloc(1, sizeof(*w));
	const uint8_t *dsdt, *o;
	size_t len;

	(void)state;
	assert_non_null(w);
	config_for_tests(&c);
	c.pci_ecam_base = 0;
	c.serial_com1 = false;
	c.pci_mmio64_size = 0;
	c.pci_intx_gsi_base = 0;
	b = build(&c);
	dsdt = dsdt_of(b, &len);
	w->base = dsdt;
	walk_termlist(w, dsdt, len, "");
	assert_int_equal(w->devices, 1);
	assert_int_equal(w->methods, 0);
	o = walk_find(w, "\\_SB_.PCI0._HID", NULL);
	assert_non_null(o);
	assert_int_equal(le32(o + 1), 0x030ad041); /* PNP0A03 */
	assert_null(walk_find(w, "\\_SB_.PCI0._CID", NULL));
	assert_null(walk_find(w, "\\_SB_.COM1._HID", NULL));
	assert_null(walk_find(w, "\\_SB_.PCI0._PRT", NULL));
	assert_null(walk_find(w, "\\_SB_.GSIA._CRS", NULL));
	o = walk_find(w, "\\_SB_.PCI0._CRS", NULL);
	assert_null(crs_find(o, 0x8a, 0, c.pci_mmio64_base));
	free(b);
	free(w);
}

static void test_acpi_single_bus_ecam_agrees_in_mcfg_bus_range_and_reservation(void **state)
{
	struct acpi_config c;
	struct built *b;
	struct aml_walk *w = calloc(1, sizeof(*w));
	const uint8_t *m, *dsdt, *o, *d;
	size_t len;

	(void)state;
	assert_non_null(w);
	/* One bus, as vireo's PCI host decodes it. */
	config_for_tests(&c);
	c.pci_mmio32_size = 0x20000000;         /* 0xc0000000-0xdfffffff */
	c.pci_ecam_base = 0xe0000000;
	c.pci_ecam_last_bus = 0;
	b = build(&c);
	m = find_table(b, "MCFG");
	assert_int_equal(le64(m + 44), 0xe0000000);
	assert_int_equal(m[54], 0);
	assert_int_equal(m[55], 0);
	dsdt = dsdt_of(b, &len);
	w->base = dsdt;
	walk_termlist(w, dsdt, len, "");
	o = walk_find(w, "\\_SB_.PCI0._CRS", NULL);
	assert_non_null(o);
	d = crs_find(o, 0x88, 2, 0);
	assert_non_null(d);
	assert_int_equal(le16(d + 10), 0);      /* bus range 0-0 */
	assert_int_equal(le16(d + 14), 1);
	o = walk_find(w, "\\_SB_.MBRD._CRS", NULL);
	assert_non_null(o);
	d = crs_find(o, 0x86, -1, 0xe0000000);
	assert_non_null(d);
	assert_int_equal(le32(d + 8), 1u << 20);
	free(w);
	free(b);
}

static void test_acpi_prt_routes_every_slot_pin_to_an_active_high_link(void **state)
{
	static const char *links[] = { "GSIA", "GSIB", "GSIC", "GSID" };
	struct acpi_config c;
	struct built *b;
	struct aml_walk *w = calloc(1, sizeof(*w));
	const uint8_t *dsdt, *prt, *o;
	size_t len, plen;
	unsigned n, entries = 0;
	size_t i, end;

	(void)state;
	assert_non_null(w);
	config_for_tests(&c);
	c.pci_intx_gsi_base = 20;
	b = build(&c);
	dsdt = dsdt_of(b, &len);
	w->base = dsdt;
	walk_termlist(w, dsdt, len, "");
	prt = walk_find(w, "\\_SB_.PCI0._PRT", &plen);
	assert_non_null(prt);
	assert_int_equal(prt[0], 0x12);
	end = 1 + pkglength_decode(prt + 1, &n);
	assert_int_equal(end, plen);
	assert_int_equal(prt[1 + n], 128);
	i = 2 + n;
	while (i < end) {
		const uint8_t *e = prt + i;
		uint64_t addr, pin, idx;
		unsigned en;
		size_t elen = 1 + pkglength_decode(e + 1, &en), k = 1 + en;
		char ref[80];

		assert_int_equal(e[0], 0x12);
		assert_int_equal(e[k++], 4);
		k += walk_integer(e + k, elen - k, &addr);
		k += walk_integer(e + k, elen - k, &pin);
		k += walk_namestring(e + k, elen - k, ref, sizeof(ref));
		k += walk_integer(e + k, elen - k, &idx);
		assert_int_equal(k, elen);
		assert_int_equal(addr & 0xffff, 0xffff);
		assert_int_equal(addr >> 16, entries / 4);
		assert_int_equal(pin, entries % 4);
		assert_string_equal(ref, links[((addr >> 16) + pin) % 4]);
		assert_int_equal(idx, 0);
		entries++;
		i += elen;
	}
	assert_int_equal(entries, 128);
	for (unsigned l = 0; l < 4; l++) {
		char path[32];
		const char *names[] = { "_CRS", "_PRS" };

		snprintf(path, sizeof(path), "\\_SB_.%s._HID", links[l]);
		o = walk_find(w, path, NULL);
		assert_non_null(o);
		assert_int_equal(le32(o + 1), 0x0f0cd041); /* PNP0C0F */
		for (unsigned r = 0; r < 2; r++) {
			const uint8_t *d;

			snprintf(path, sizeof(path), "\\_SB_.%s.%s", links[l], names[r]);
			o = walk_find(w, path, NULL);
			assert_non_null(o);
			d = crs_find(o, 0x89, -1, 0);
			assert_non_null(d);
			/* consumer, level (bit1 clear), active-high (bit2 clear), shared */
			assert_int_equal(d[3], 0x09);
			assert_int_equal(d[4], 1);
			assert_int_equal(le32(d + 5), 20 + l);
		}
	}
	free(b);
	free(w);
	config_for_tests(&c);
	c.pci_intx_gsi_base = 21; /* 21-24: past the IOAPIC's 24 pins */
	b = calloc(1, sizeof(*b));
	assert_non_null(b);
	assert_int_equal(acpi_build_tables(&c, b->buf, sizeof(b->buf), BASE_GPA, &b->rsdp), -1);
	assert_int_equal(err_code(), ERR_INVALID);
	free(b);
}

/* ---- ACPICA's iasl over the tables ------------------------------------- */

static int run_capture(const char *cmd, char *out, size_t outsz)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	assert_non_null(p);
	n = fread(out, 1, outsz - 1, p);
	out[n] = '\0';
	return pclose(p);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void test_acpi_tables_disassemble_and_recompile_cleanly_with_iasl(void **state)
{
	static const char *sigs[] = { "FACP", "APIC", "MCFG" };
	const char *iasl = getenv("IASL");
	char dir[] = "/tmp/vireo-acpi-XXXXXX", cmd[1024], path[512];
	static char out[65536];
	struct acpi_config c;
	struct built *b;
	const uint8_t *t;
	size_t len;
	int rc;

	(void)state;
	if (!iasl || access(iasl, X_OK) != 0)
		skip(); /* iasl comes with acpica-tools (scripts/deps.sh) */
	config_for_tests(&c);
	b = build(&c);
	assert_non_null(mkdtemp(dir));

	/* The DSDT: disassemble, then compile the result again without iasl's
	 * optimizations (which shorten \_SB to _SB at the root): same bytes. */
	t = dsdt_of(b, &len) - 36;
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	write_file(path, t, le32(t + 4));
	snprintf(cmd, sizeof(cmd), "cd %s && %s -d dsdt.dat 2>&1", dir, iasl);
	rc = run_capture(cmd, out, sizeof(out));
	if (rc != 0 || strstr(out, "rror") || strstr(out, "arning"))
		fail_msg("iasl -d dsdt.dat (rc %d):\n%s", rc, out);
	snprintf(cmd, sizeof(cmd), "cd %s && %s -oa -p recompiled dsdt.dsl 2>&1", dir, iasl);
	rc = run_capture(cmd, out, sizeof(out));
	if (rc != 0 || !strstr(out, " 0 Errors, 0 Warnings"))
		fail_msg("iasl dsdt.dsl (rc %d):\n%s", rc, out);
	snprintf(path, sizeof(path), "%s/recompiled.aml", dir);
	{
		FILE *f = fopen(path, "rb");
		static uint8_t again[65536];
		size_t n;

		assert_non_null(f);
		n = fread(again, 1, sizeof(again), f);
		fclose(f);
		/* Same AML body as ours (the header differs in compiler id). */
		assert_int_equal(n, le32(t + 4));
		assert_memory_equal(again + 36, t + 36, n - 36);
	}

	/* The data tables: ACPICA checks lengths, checksums and field values. */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		t = find_table(b, sigs[i]);
		assert_non_null(t);
		snprintf(path, sizeof(path), "%s/%.4s.dat", dir, sigs[i]);
		write_file(path, t, le32(t + 4));
		snprintf(cmd, sizeof(cmd), "cd %s && %s -d %.4s.dat 2>&1 && cat %.4s.dsl", dir, iasl, sigs[i], sigs[i]);
		rc = run_capture(cmd, out, sizeof(out));
		if (rc != 0 || strstr(out, "rror") || strstr(out, "arning") || strstr(out, "ncorrect") ||
		    strstr(out, "nvalid"))
			fail_msg("iasl -d %s (rc %d):\n%s", sigs[i], rc, out);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(b);
}

/* Writes the DSDT and the XSDT's tables to dir as NAME.dat. */
static void write_tables(const struct built *b, const char *dir)
{
	static const char *sigs[] = { "FACP", "APIC", "MCFG" };
	char path[512];
	const uint8_t *t;
	size_t len;

	t = dsdt_of(b, &len) - 36;
	snprintf(path, sizeof(path), "%s/DSDT.dat", dir);
	write_file(path, t, le32(t + 4));
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		t = find_table(b, sigs[i]);
		if (!t)
			continue;
		snprintf(path, sizeof(path), "%s/%.4s.dat", dir, sigs[i]);
		write_file(path, t, le32(t + 4));
	}
}

/* ACPICA's acpiexec loads the tables as Linux does and reports every FADT
 * inconsistency (32/64-bit mismatches, register lengths) as a firmware warning. */
static void test_acpi_tables_load_into_acpica_without_warnings(void **state)
{
	const char *acpiexec = getenv("ACPIEXEC");
	char dir[] = "/tmp/vireo-acpi-XXXXXX", cmd[1024];
	static char out[65536];
	struct acpi_config c;
	struct built *b;
	int rc;

	(void)state;
	if (!acpiexec || access(acpiexec, X_OK) != 0)
		skip(); /* acpiexec comes with acpica-tools (scripts/deps.sh) */
	config_for_tests(&c);
	b = build(&c);
	assert_non_null(mkdtemp(dir));
	write_tables(b, dir);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && %s -b 'evaluate \\_S5_; evaluate \\_SB.PCI0._CRS' DSDT.dat FACP.dat APIC.dat MCFG.dat 2>&1",
		 dir, acpiexec);
	rc = run_capture(cmd, out, sizeof(out));
	/* acpiexec's own hardware self-tests expect GPE and PM2 blocks, which this
	 * machine does not have; they print "Unexpected AE_..." lines, not these. */
	if (rc != 0 || strstr(out, "(ACPI)") || strstr(out, "ACPI Error") || strstr(out, "ACPI Warning") ||
	    strstr(out, "ACPI BIOS"))
		fail_msg("acpiexec (rc %d):\n%s", rc, out);
	assert_non_null(strstr(out, "[Package] Contains 4 Elements"));
	assert_non_null(strstr(out, "7 Devices"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aml_pkglength_picks_the_shortest_encoding_at_every_boundary),
		cmocka_unit_test(test_aml_scope_pkglength_counts_itself_and_the_whole_body),
		cmocka_unit_test(test_aml_names_are_padded_and_prefixed),
		cmocka_unit_test(test_aml_rejects_bad_names_with_a_message),
		cmocka_unit_test(test_aml_integers_use_the_shortest_prefix),
		cmocka_unit_test(test_aml_eisaid_compresses_pnp_ids),
		cmocka_unit_test(test_aml_method_and_package_encode_flags_and_counts),
		cmocka_unit_test(test_aml_resource_template_has_size_and_end_tag),
		cmocka_unit_test(test_aml_extended_interrupt_encodes_level_high_shared),
		cmocka_unit_test(test_aml_unclosed_or_overclosed_objects_are_errors),
		cmocka_unit_test(test_acpi_rsdp_is_at_the_base_with_both_checksums),
		cmocka_unit_test(test_acpi_xsdt_and_rsdt_list_the_same_tables),
		cmocka_unit_test(test_acpi_fadt_points_to_dsdt_and_facs_consistently),
		cmocka_unit_test(test_acpi_fadt_describes_pm_blocks_sci_and_reset),
		cmocka_unit_test(test_acpi_fadt_without_timer_or_reset_says_so),
		cmocka_unit_test(test_acpi_madt_lists_present_and_hotpluggable_cpus_ioapic_and_overrides),
		cmocka_unit_test(test_acpi_madt_holds_the_largest_machine),
		cmocka_unit_test(test_acpi_mcfg_only_when_ecam_is_configured),
		cmocka_unit_test(test_acpi_refuses_small_buffers_and_bad_configs),
		cmocka_unit_test(test_acpi_dsdt_is_a_sequence_of_well_formed_aml_objects),
		cmocka_unit_test(test_acpi_dsdt_without_ecam_or_com1_is_a_plain_pci_host),
		cmocka_unit_test(test_acpi_single_bus_ecam_agrees_in_mcfg_bus_range_and_reservation),
		cmocka_unit_test(test_acpi_prt_routes_every_slot_pin_to_an_active_high_link),
		cmocka_unit_test(test_acpi_tables_disassemble_and_recompile_cleanly_with_iasl),
		cmocka_unit_test(test_acpi_tables_load_into_acpica_without_warnings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
