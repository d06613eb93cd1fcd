/* ACPI table builders (see acpi.h). Layouts follow ACPI 6.3: RSDP (5.2.5),
 * XSDT/RSDT (5.2.7-8), FADT revision 6 (5.2.9), FACS (5.2.10), MADT revision 5
 * (5.2.12) and the PCI Firmware spec's MCFG; the DSDT is built with aml.c. */
#include "vmm/acpi/acpi.h"
#include "vmm/acpi/aml.h"
#include "common/error.h"
#include "common/util.h"

#include <string.h>

#define ACPI_OEM_ID "VIREO "
#define ACPI_OEM_TABLE_ID "VIREOVMM"
#define ACPI_CREATOR_ID "VIRE"
#define ACPI_HEADER_LEN 36

/* FADT offsets (ACPI 6.3 table 5-34), revision 6 is 276 bytes. */
enum {
	FADT_FIRMWARE_CTRL = 36, FADT_DSDT = 40, FADT_PM_PROFILE = 45, FADT_SCI_INT = 46,
	FADT_SMI_CMD = 48, FADT_PM1A_EVT_BLK = 56, FADT_PM1A_CNT_BLK = 64, FADT_PM_TMR_BLK = 76,
	FADT_PM1_EVT_LEN = 88, FADT_PM1_CNT_LEN = 89, FADT_PM_TMR_LEN = 91,
	FADT_P_LVL2_LAT = 96, FADT_P_LVL3_LAT = 98, FADT_IAPC_BOOT_ARCH = 109, FADT_FLAGS = 112,
	FADT_RESET_REG = 116, FADT_RESET_VALUE = 128, FADT_MINOR_VERSION = 131,
	FADT_X_FIRMWARE_CTRL = 132, FADT_X_DSDT = 140, FADT_X_PM1A_EVT_BLK = 148,
	FADT_X_PM1A_CNT_BLK = 172, FADT_X_PM_TMR_BLK = 208, FADT_LEN = 276,
};

/* FADT flags (table 5-35) and IAPC_BOOT_ARCH (table 5-36). */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PROC_C1 (1u << 2)
#define FADT_F_SLP_BUTTON (1u << 5)     /* set: no fixed-feature sleep button */
#define FADT_F_FIX_RTC (1u << 6)        /* set: no RTC wake status in PM1 */
#define FADT_F_TMR_VAL_EXT (1u << 8)    /* set: 32-bit PM timer */
#define FADT_F_RESET_REG_SUP (1u << 10)
#define BOOT_ARCH_8042 (1u << 1)
#define BOOT_ARCH_NO_VGA (1u << 2)
#define BOOT_ARCH_NO_ASPM (1u << 4)

/* Generic Address Structure (5.2.3.2). */
enum { GAS_SPACE_IO = 1, GAS_ACCESS_BYTE = 1, GAS_ACCESS_WORD = 2, GAS_ACCESS_DWORD = 3 };

enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_INT_OVERRIDE = 2, MADT_LAPIC_NMI = 4 };
#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC_ENABLED 1u
#define MADT_LAPIC_ONLINE_CAPABLE 2u
/* MPS INTI flags: polarity bits 1:0 (01 high), trigger bits 3:2 (11 level). */
#define MADT_INTI_HIGH_LEVEL 0x000d

/* Where tables go in the caller's buffer; overflow is checked once at the end. */
struct acpi_out {
	uint8_t *buf;
	size_t cap, len;
	uint64_t gpa;
	bool overflow;
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t acpi_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Reserve len bytes whose guest address is aligned to align; returns a zeroed
 * pointer into the buffer, or NULL (and marks overflow) when it does not fit. */
static uint8_t *acpi_alloc(struct acpi_out *o, size_t len, size_t align, uint64_t *gpa)
{
	uint64_t at = ALIGN_UP(o->gpa + o->len, (uint64_t)align) - o->gpa;

	if (o->overflow || at > o->cap || len > o->cap - at) {
		o->overflow = true;
		return NULL;
	}
	memset(o->buf + o->len, 0, at + len - o->len);
	o->len = at + len;
	*gpa = o->gpa + at;
	return o->buf + at;
}

static void acpi_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put_le(t + 4, len, 4);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	put_le(t + 24, 1, 4);            /* OEM revision */
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	put_le(t + 32, 1, 4);            /* creator revision */
}

static void acpi_checksum(uint8_t *t, size_t len, size_t at)
{
	t[at] = 0;
	t[at] = (uint8_t)(0u - acpi_sum(t, len));
}

static void acpi_gas(uint8_t *g, uint8_t bit_width, uint8_t access, uint64_t addr)
{
	g[0] = GAS_SPACE_IO;
	g[1] = bit_width;
	g[2] = 0;
	g[3] = access;
	put_le(g + 4, addr, 8);
}

void acpi_config_default(struct acpi_config *cfg, unsigned ncpus)
{
	*cfg = (struct acpi_config){
		.ncpus = ncpus,
		.max_cpus = ncpus,
		.ioapic_addr = 0xfec00000,
		.lapic_addr = 0xfee00000,
		.pm1a_evt_port = 0x600,
		.pm1a_cnt_port = 0x604,
		.pm_tmr_port = 0x608,
		.sci_irq = 9,
		.reset_port = 0xcf9,
		.pci_mmio32_base = 0xc0000000,
		.pci_mmio32_size = 0xfec00000 - 0xc0000000,
		.serial_com1 = true,
	};
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static int acpi_check_config(const struct acpi_config *c)
{
	uint64_t m32_end = c->pci_mmio32_base + c->pci_mmio32_size;

	if (c->ncpus == 0 || c->ncpus > c->max_cpus || c->max_cpus > ACPI_MAX_CPUS)
		return err_set(ERR_INVALID, "ACPI: need 1 <= ncpus (%u) <= max_cpus (%u) <= %u",
			       c->ncpus, c->max_cpus, ACPI_MAX_CPUS);
	if (c->pm1a_evt_port == 0 || c->pm1a_cnt_port == 0)
		return err_set(ERR_INVALID, "ACPI: PM1a event and control blocks need I/O ports");
	if (c->pm1a_evt_port > 0xffff - 3 || c->pm1a_cnt_port > 0xffff - 1 || c->pm_tmr_port > 0xffff - 3)
		return err_set(ERR_INVALID, "ACPI: a PM register block runs past I/O port 0xffff");
	if (ranges_overlap(c->pm1a_evt_port, 4, c->pm1a_cnt_port, 2) ||
	    ranges_overlap(c->pm1a_evt_port, 4, c->pm_tmr_port, c->pm_tmr_port ? 4 : 0) ||
	    ranges_overlap(c->pm1a_cnt_port, 2, c->pm_tmr_port, c->pm_tmr_port ? 4 : 0))
		return err_set(ERR_INVALID, "ACPI: PM1a event (0x%x), control (0x%x) and timer (0x%x) blocks overlap",
			       c->pm1a_evt_port, c->pm1a_cnt_port, c->pm_tmr_port);
	if (c->sci_irq == 0 || c->sci_irq == 2 || c->sci_irq > 15)
		return err_set(ERR_INVALID, "ACPI: SCI IRQ %u is not a usable ISA IRQ", c->sci_irq);
	if (c->pci_mmio32_size && (m32_end > (1ull << 32) || m32_end < c->pci_mmio32_base))
		return err_set(ERR_INVALID, "ACPI: 32-bit PCI window 0x%llx+0x%llx does not fit below 4 GiB",
			       (unsigned long long)c->pci_mmio32_base, (unsigned long long)c->pci_mmio32_size);
	if (ranges_overlap(c->pci_mmio32_base, c->pci_mmio32_size, c->ioapic_addr, 0x1000) ||
	    ranges_overlap(c->pci_mmio32_base, c->pci_mmio32_size, c->lapic_addr, 0x1000))
		return err_set(ERR_INVALID, "ACPI: 32-bit PCI window overlaps the IOAPIC or LAPIC");
	if (c->pci_mmio64_size && c->pci_mmio64_base + c->pci_mmio64_size - 1 < c->pci_mmio64_base)
		return err_set(ERR_INVALID, "ACPI: 64-bit PCI window wraps around");
	if (c->pci_intx_gsi_base && (c->pci_intx_gsi_base < 16 || c->pci_intx_gsi_base + ACPI_PCI_INTX_GSIS > 24))
		return err_set(ERR_INVALID, "ACPI: PCI INTx GSIs %u-%u must be IOAPIC pins 16-23",
			       c->pci_intx_gsi_base, c->pci_intx_gsi_base + ACPI_PCI_INTX_GSIS - 1);
	if (c->pci_ecam_base) {
		if (c->pci_ecam_base & (ACPI_ECAM_BUS_SIZE - 1) ||
		    c->pci_ecam_base + ACPI_ECAM_SIZE(c->pci_ecam_last_bus) > (1ull << 32))
			return err_set(ERR_INVALID, "ACPI: ECAM base 0x%llx must be 1 MiB aligned and end below 4 GiB",
				       (unsigned long long)c->pci_ecam_base);
		if (ranges_overlap(c->pci_ecam_base, ACPI_ECAM_SIZE(c->pci_ecam_last_bus), c->pci_mmio32_base,
				   c->pci_mmio32_size) ||
		    ranges_overlap(c->pci_ecam_base, ACPI_ECAM_SIZE(c->pci_ecam_last_bus), c->ioapic_addr, 0x1000) ||
		    ranges_overlap(c->pci_ecam_base, ACPI_ECAM_SIZE(c->pci_ecam_last_bus), c->lapic_addr, 0x1000))
			return err_set(ERR_INVALID, "ACPI: ECAM overlaps the 32-bit PCI window, IOAPIC or LAPIC");
	}
	return 0;
}

static const char *const acpi_intx_links[ACPI_PCI_INTX_GSIS] = { "GSIA", "GSIB", "GSIC", "GSID" };

/* _PRT: every slot's INTA-INTD, swizzled over the four link devices so that
 * neighbouring slots do not all share one line. */
static void acpi_dsdt_prt(struct aml *a)
{
	aml_name_decl(a, "_PRT");
	aml_package_begin(a, 32 * 4);
	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			aml_package_begin(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff); /* any function of the slot */
			aml_integer(a, pin);
			aml_name(a, acpi_intx_links[(slot + pin) % ACPI_PCI_INTX_GSIS]);
			aml_integer(a, 0);                             /* index in the link's resources */
			aml_end(a);
		}
	}
	aml_end(a);
}

/* One interrupt link per INTx GSI. A link (rather than a GSI number in the
 * _PRT, which the OS must take as level active-low) can say active-high,
 * which is what KVM_IRQ_LINE level 1 means to KVM's IOAPIC. The GSI is
 * fixed: _SRS and _DIS accept and ignore what the OS asks. */
static void acpi_dsdt_intx_links(const struct acpi_config *c, struct aml *a)
{
	for (unsigned i = 0; i < ACPI_PCI_INTX_GSIS; i++) {
		aml_device_begin(a, acpi_intx_links[i]);
		aml_name_eisaid(a, "_HID", "PNP0C0F");
		aml_name_integer(a, "_UID", i);
		aml_name_decl(a, "_PRS");
		aml_resources_begin(a);
		aml_interrupt(a, AML_IRQ_SHARED, c->pci_intx_gsi_base + i);
		aml_end(a);
		aml_name_decl(a, "_CRS");
		aml_resources_begin(a);
		aml_interrupt(a, AML_IRQ_SHARED, c->pci_intx_gsi_base + i);
		aml_end(a);
		aml_method_begin(a, "_SRS", 1, false);
		aml_end(a);
		aml_method_begin(a, "_DIS", 0, false);
		aml_end(a);
		aml_end(a);
	}
}

/* The DSDT body: the PCI host bridge, motherboard resources, COM1 and \_S5_. */
static void acpi_dsdt_aml(const struct acpi_config *c, struct aml *a)
{
	aml_scope_begin(a, "\\_SB");

	aml_device_begin(a, "PCI0");
	if (c->pci_ecam_base) {
		aml_name_eisaid(a, "_HID", "PNP0A08");
		aml_name_eisaid(a, "_CID", "PNP0A03");
	} else {
		aml_name_eisaid(a, "_HID", "PNP0A03");
	}
	aml_name_integer(a, "_UID", 0);
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", 0);
	if (c->pci_ecam_base) {
		/* The machine has no firmware-owned PCIe features: grant the OS
		 * everything it asks for by returning its capabilities buffer. */
		aml_method_begin(a, "_OSC", 4, false);
		aml_return(a);
		aml_arg(a, 3);
		aml_end(a);
	}
	aml_name_decl(a, "_CRS");
	aml_resources_begin(a);
	/* With ECAM the bridge decodes only the buses the MCFG covers; conf1
	 * reaches all 256. */
	aml_word_space(a, AML_SPACE_BUS, AML_ADDR_WINDOW, 0, 0x00, c->pci_ecam_base ? c->pci_ecam_last_bus : 0xff);
	/* The conf1 ports are consumed by the bridge itself, not forwarded. */
	aml_io(a, 0xcf8, 0xcf8, 1, 8);
	aml_word_space(a, AML_SPACE_IO, AML_ADDR_WINDOW, AML_IO_ENTIRE_RANGE, 0x0000, 0x0cf7);
	aml_word_space(a, AML_SPACE_IO, AML_ADDR_WINDOW, AML_IO_ENTIRE_RANGE, 0x0d00, 0xffff);
	if (c->pci_mmio32_size)
		aml_dword_space(a, AML_SPACE_MEMORY, AML_ADDR_WINDOW, AML_MEM_RW, (uint32_t)c->pci_mmio32_base,
				(uint32_t)(c->pci_mmio32_base + c->pci_mmio32_size - 1));
	if (c->pci_mmio64_size)
		aml_qword_space(a, AML_SPACE_MEMORY, AML_ADDR_WINDOW, AML_MEM_RW | AML_MEM_CACHEABLE,
				c->pci_mmio64_base, c->pci_mmio64_base + c->pci_mmio64_size - 1);
	aml_end(a); /* ResourceTemplate */
	if (c->pci_intx_gsi_base)
		acpi_dsdt_prt(a);
	aml_end(a); /* PCI0 */
	if (c->pci_intx_gsi_base)
		acpi_dsdt_intx_links(c, a);

	if (c->pci_ecam_base) {
		/* Linux uses MCFG only if its range is reserved by a motherboard
		 * resource device (PNP0C02). */
		aml_device_begin(a, "MBRD");
		aml_name_eisaid(a, "_HID", "PNP0C02");
		aml_name_integer(a, "_UID", 0);
		aml_name_decl(a, "_CRS");
		aml_resources_begin(a);
		aml_memory32_fixed(a, (uint32_t)c->pci_ecam_base, (uint32_t)ACPI_ECAM_SIZE(c->pci_ecam_last_bus),
				   true);
		aml_end(a);
		aml_end(a);
	}

	if (c->serial_com1) {
		aml_device_begin(a, "COM1");
		aml_name_eisaid(a, "_HID", "PNP0501");
		aml_name_integer(a, "_UID", 1);
		aml_name_decl(a, "_CRS");
		aml_resources_begin(a);
		aml_io(a, 0x3f8, 0x3f8, 1, 8);
		aml_irq_noflags(a, 4);
		aml_end(a);
		aml_end(a);
	}
	aml_end(a); /* \_SB */

	/* Package(){SLP_TYPa, SLP_TYPb, reserved, reserved} */
	aml_name_decl(a, "\\_S5_");
	aml_package_begin(a, 4);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);
}

/* -1 with the error set if the AML cannot be built; overflow is left in o. */
static int acpi_build_dsdt(const struct acpi_config *c, struct acpi_out *o, uint64_t *gpa)
{
	struct aml a;
	uint8_t *t;
	size_t len;

	aml_init(&a);
	acpi_dsdt_aml(c, &a);
	if (aml_check(&a) < 0) {
		aml_free(&a);
		return err_prefix("ACPI: building the DSDT");
	}
	len = ACPI_HEADER_LEN + a.len;
	t = acpi_alloc(o, len, 8, gpa);
	if (t) {
		/* Revision 2: AML integers are 64 bits wide. */
		acpi_header(t, "DSDT", (uint32_t)len, 2);
		memcpy(t + ACPI_HEADER_LEN, a.data, a.len);
		acpi_checksum(t, len, 9);
	}
	aml_free(&a);
	return 0;
}

static uint64_t acpi_build_facs(struct acpi_out *o)
{
	uint64_t gpa = 0;
	uint8_t *t = acpi_alloc(o, 64, 64, &gpa);

	if (!t)
		return 0;
	memcpy(t, "FACS", 4);
	put_le(t + 4, 64, 4);
	t[32] = 2;                       /* version */
	return gpa;                      /* the FACS has no checksum */
}

static uint64_t acpi_build_fadt(const struct acpi_config *c, struct acpi_out *o, uint64_t dsdt,
				uint64_t facs)
{
	uint64_t gpa = 0;
	uint8_t *t = acpi_alloc(o, FADT_LEN, 8, &gpa);
	uint32_t flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_FIX_RTC;

	if (!t)
		return 0;
	acpi_header(t, "FACP", FADT_LEN, 6);
	/* FIRMWARE_CTRL only: the spec wants X_FIRMWARE_CTRL zero when it is set.
	 * The DSDT is given both ways, with the same address. */
	put_le(t + FADT_FIRMWARE_CTRL, facs, 4);
	put_le(t + FADT_DSDT, dsdt, 4);
	put_le(t + FADT_X_DSDT, dsdt, 8);
	t[FADT_PM_PROFILE] = 0;          /* unspecified */
	put_le(t + FADT_SCI_INT, c->sci_irq, 2);
	/* SMI_CMD 0: no ACPI mode switch; the OS finds ACPI already enabled. */
	put_le(t + FADT_SMI_CMD, 0, 4);

	put_le(t + FADT_PM1A_EVT_BLK, c->pm1a_evt_port, 4);
	t[FADT_PM1_EVT_LEN] = 4;
	acpi_gas(t + FADT_X_PM1A_EVT_BLK, 32, GAS_ACCESS_WORD, c->pm1a_evt_port);
	put_le(t + FADT_PM1A_CNT_BLK, c->pm1a_cnt_port, 4);
	t[FADT_PM1_CNT_LEN] = 2;
	acpi_gas(t + FADT_X_PM1A_CNT_BLK, 16, GAS_ACCESS_WORD, c->pm1a_cnt_port);
	if (c->pm_tmr_port) {
		put_le(t + FADT_PM_TMR_BLK, c->pm_tmr_port, 4);
		t[FADT_PM_TMR_LEN] = 4;
		acpi_gas(t + FADT_X_PM_TMR_BLK, 32, GAS_ACCESS_DWORD, c->pm_tmr_port);
		flags |= FADT_F_TMR_VAL_EXT;
	}
	/* Latencies above 100 / 1000 us say C2 / C3 are not supported. */
	put_le(t + FADT_P_LVL2_LAT, 101, 2);
	put_le(t + FADT_P_LVL3_LAT, 1001, 2);
	/* We have an i8042 and a CMOS RTC ("no CMOS RTC" stays clear), no VGA,
	 * and no ASPM for the OS to manage. */
	put_le(t + FADT_IAPC_BOOT_ARCH, BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_ASPM, 2);
	if (c->reset_port) {
		acpi_gas(t + FADT_RESET_REG, 8, GAS_ACCESS_BYTE, c->reset_port);
		t[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
		flags |= FADT_F_RESET_REG_SUP;
	}
	/* PWR_BUTTON clear: the power button is the PM1 fixed feature. */
	put_le(t + FADT_FLAGS, flags, 4);
	t[FADT_MINOR_VERSION] = 3;       /* ACPI 6.3 */
	acpi_checksum(t, FADT_LEN, 9);
	return gpa;
}

static uint64_t acpi_build_madt(const struct acpi_config *c, struct acpi_out *o)
{
	size_t len = ACPI_HEADER_LEN + 8 + 8 * (size_t)c->max_cpus + 12 + 2 * 10 + 6;
	uint64_t gpa = 0;
	uint8_t *t = acpi_alloc(o, len, 8, &gpa), *e;

	if (!t)
		return 0;
	/* Revision 5: disabled entries must say "online capable" to be hot-added. */
	acpi_header(t, "APIC", (uint32_t)len, 5);
	put_le(t + 36, c->lapic_addr, 4);
	put_le(t + 40, MADT_PCAT_COMPAT, 4); /* KVM's irqchip includes the 8259s */
	e = t + 44;
	for (unsigned i = 0; i < c->max_cpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i;               /* ACPI processor UID */
		e[3] = (uint8_t)i;               /* APIC id */
		put_le(e + 4, i < c->ncpus ? MADT_LAPIC_ENABLED : MADT_LAPIC_ONLINE_CAPABLE, 4);
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = ACPI_IOAPIC_ID;
	put_le(e + 4, c->ioapic_addr, 4);
	put_le(e + 8, 0, 4);                     /* GSI base */
	e += 12;
	/* ISA IRQ 0 (the PIT) is wired to IOAPIC pin 2, as on every PC. */
	e[0] = MADT_INT_OVERRIDE;
	e[1] = 10;
	e[2] = 0;                                /* ISA bus */
	e[3] = 0;
	put_le(e + 4, 2, 4);
	put_le(e + 8, 0, 2);                     /* conforms to the bus: edge, high */
	e += 10;
	/* The SCI is level-triggered, active-high: KVM_IRQ_LINE 1 asserts it. */
	e[0] = MADT_INT_OVERRIDE;
	e[1] = 10;
	e[2] = 0;
	e[3] = c->sci_irq;
	put_le(e + 4, c->sci_irq, 4);
	put_le(e + 8, MADT_INTI_HIGH_LEVEL, 2);
	e += 10;
	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = 0xff;                             /* all processors */
	put_le(e + 3, 0, 2);
	e[5] = 1;                                /* LINT1 */
	acpi_checksum(t, len, 9);
	return gpa;
}

static uint64_t acpi_build_mcfg(const struct acpi_config *c, struct acpi_out *o)
{
	size_t len = ACPI_HEADER_LEN + 8 + 16;
	uint64_t gpa = 0;
	uint8_t *t = acpi_alloc(o, len, 8, &gpa);

	if (!t)
		return 0;
	acpi_header(t, "MCFG", (uint32_t)len, 1);
	put_le(t + 44, c->pci_ecam_base, 8);
	put_le(t + 52, 0, 2);                    /* segment */
	t[54] = 0;                               /* first bus */
	t[55] = c->pci_ecam_last_bus;
	acpi_checksum(t, len, 9);
	return gpa;
}

ssize_t acpi_build_tables(const struct acpi_config *cfg, uint8_t *buf, size_t bufsz, uint64_t base_gpa,
			  uint64_t *rsdp_gpa)
{
	struct acpi_out o = { .buf = buf, .cap = bufsz, .gpa = base_gpa };
	uint64_t rsdp = 0, xsdt = 0, rsdt = 0, fadt, facs, dsdt = 0, madt, mcfg = 0;
	uint64_t entries[3];
	unsigned nentries = 0;
	uint8_t *r, *x, *rs;

	if (acpi_check_config(cfg) < 0)
		return -1;
	if (base_gpa & 15)
		return err_set(ERR_INVALID, "ACPI: table base 0x%llx is not 16-byte aligned",
			       (unsigned long long)base_gpa);
	if (base_gpa + bufsz > (1ull << 32) || base_gpa + bufsz < base_gpa)
		return err_set(ERR_INVALID, "ACPI: tables must lie below 4 GiB (RSDT and FACS use 32-bit pointers)");

	/* Fixed-size tables first so their pointers are known; the RSDP at the
	 * base, where the caller promised the legacy scan will look. */
	r = acpi_alloc(&o, 36, 16, &rsdp);
	x = acpi_alloc(&o, ACPI_HEADER_LEN + 8 * ARRAY_SIZE(entries), 8, &xsdt);
	rs = acpi_alloc(&o, ACPI_HEADER_LEN + 4 * ARRAY_SIZE(entries), 8, &rsdt);
	facs = acpi_build_facs(&o);
	if (acpi_build_dsdt(cfg, &o, &dsdt) < 0)
		return -1;
	fadt = acpi_build_fadt(cfg, &o, dsdt, facs);
	madt = acpi_build_madt(cfg, &o);
	if (cfg->pci_ecam_base)
		mcfg = acpi_build_mcfg(cfg, &o);
	if (o.overflow)
		return err_set(ERR_INVALID, "ACPI: tables do not fit in %zu bytes at 0x%llx", bufsz,
			       (unsigned long long)base_gpa);

	entries[nentries++] = fadt;
	entries[nentries++] = madt;
	if (mcfg)
		entries[nentries++] = mcfg;
	acpi_header(x, "XSDT", (uint32_t)(ACPI_HEADER_LEN + 8 * nentries), 1);
	acpi_header(rs, "RSDT", (uint32_t)(ACPI_HEADER_LEN + 4 * nentries), 1);
	for (unsigned i = 0; i < nentries; i++) {
		put_le(x + ACPI_HEADER_LEN + 8 * i, entries[i], 8);
		put_le(rs + ACPI_HEADER_LEN + 4 * i, entries[i], 4);
	}
	acpi_checksum(x, ACPI_HEADER_LEN + 8 * nentries, 9);
	acpi_checksum(rs, ACPI_HEADER_LEN + 4 * nentries, 9);

	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, ACPI_OEM_ID, 6);
	r[15] = 2;                               /* revision: ACPI 2.0+ with XSDT */
	put_le(r + 16, rsdt, 4);
	put_le(r + 20, 36, 4);
	put_le(r + 24, xsdt, 8);
	acpi_checksum(r, 20, 8);                 /* ACPI 1.0 part */
	acpi_checksum(r, 36, 32);                /* whole structure */

	*rsdp_gpa = rsdp;
	return (ssize_t)o.len;
}
