/* ACPI tables for vireo-vmm's x86-64 machine: RSDP, XSDT, RSDT, FADT, FACS, DSDT,
 * MADT and (optionally) MCFG, built once at start into a buffer the VMM copies
 * to guest memory. The PM hardware they describe is devices/acpi_pm.c. */
#ifndef VIREO_VMM_ACPI_ACPI_H
#define VIREO_VMM_ACPI_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* SLP_TYP for S5 in the DSDT's \_S5_ package; the PM device powers off on it. */
#define ACPI_S5_SLP_TYP 5
/* FADT RESET_VALUE: SYS_RST | RST_CPU, as a PIIX4/ICH reset control register. */
#define ACPI_RESET_VALUE 0x06
/* The MADT gives the IOAPIC id 0: KVM's in-kernel IOAPIC reports 0 in its ID
 * register, and IOAPIC ids are a namespace apart from LAPIC ids on x86-64. */
#define ACPI_IOAPIC_ID 0
/* xAPIC MADT entries: APIC ids 0..254 (0xff means "all" in LAPIC NMI entries). */
#define ACPI_MAX_CPUS 255
/* PCI INTx routing uses 4 GSIs starting at pci_intx_gsi_base, all on the
 * IOAPIC (24 pins): base must be 16..20. */
#define ACPI_PCI_INTX_GSIS 4
/* ECAM size: 1 MiB per bus (32 devices x 8 functions x 4 KiB). */
#define ACPI_ECAM_BUS_SIZE (1ull << 20)
#define ACPI_ECAM_SIZE(last_bus) (((uint64_t)(last_bus) + 1) * ACPI_ECAM_BUS_SIZE)

struct acpi_config {
	unsigned ncpus;            /* vCPUs present at boot (LAPIC IDs 0..ncpus-1) */
	unsigned max_cpus;         /* possible CPUs (>= ncpus); extra ones listed disabled, online-capable */
	uint32_t ioapic_addr;      /* 0xFEC00000; its MADT id is ACPI_IOAPIC_ID */
	uint32_t lapic_addr;       /* 0xFEE00000 */
	uint16_t pm1a_evt_port;    /* PM1a event block, 4 bytes: 0x600 */
	uint16_t pm1a_cnt_port;    /* PM1a control block, 2 bytes: 0x604 */
	uint16_t pm_tmr_port;      /* 0 when no PM timer (then FADT says so); else 0x608 (32-bit) */
	uint8_t  sci_irq;          /* 9, level-triggered active-high: MADT interrupt source override */
	uint16_t reset_port;       /* FADT reset register (I/O, 1 byte), value ACPI_RESET_VALUE; 0 = none */
	uint64_t pci_mmio32_base, pci_mmio32_size;   /* 32-bit MMIO window of the PCI host bridge _CRS */
	uint64_t pci_mmio64_base, pci_mmio64_size;   /* 64-bit window above RAM, size 0 = none */
	uint64_t pci_ecam_base;    /* 0 = no MCFG (config mechanism #1 only, ports 0xCF8-0xCFF); Linux
	                            * then warns "acpi PNP0A03:00: fail to add MMCONFIG information".
	                            * Else 1 MiB aligned, below 4 GiB, ACPI_ECAM_SIZE(last bus) long: MCFG,
	                            * PCI0 becomes PNP0A08 (+ _CID PNP0A03, _OSC granting all), and a
	                            * PNP0C02 device reserves the window so Linux accepts it */
	uint8_t pci_ecam_last_bus; /* buses 0..this decoded by ECAM (MCFG, PCI0 bus range, reserved size);
	                            * 0 = bus 0 only, as devices/pci.c's ECAM (PCI_ECAM_BUS0_SIZE) */
	bool serial_com1;          /* describe COM1 (PNP0501, IO 0x3F8/8, IRQ 4) in the DSDT */
	uint8_t pci_intx_gsi_base; /* 0 = no _PRT (PCI devices use MSI/MSI-X or have no INTx pin);
	                            * else INTx routing: slot s pin p (0=INTA) -> GSI base + (s + p) % 4,
	                            * level-triggered active-high, through link devices GSIA-GSID */
};

/* The usual vireo PC layout for ncpus vCPUs (max_cpus = ncpus): LAPIC/IOAPIC at
 * their standard addresses, PM blocks at 0x600/0x604/0x608, SCI 9, reset at
 * 0xCF9, PCI MMIO window 0xC0000000-0xFEBFFFFF, no 64-bit window, no ECAM, COM1. */
void acpi_config_default(struct acpi_config *cfg, unsigned ncpus);

/* Build RSDP, XSDT (and RSDT), FADT, FACS, DSDT, MADT (and MCFG when
 * configured) into buf, which the caller copies to guest-physical base_gpa
 * (16-byte aligned; the VMM uses 0xE0000 so the legacy scan finds the RSDP, at
 * offset 0). Returns the length used and sets *rsdp_gpa; -1 with err_set() on
 * a bad configuration or when bufsz is too small. */
ssize_t acpi_build_tables(const struct acpi_config *cfg, uint8_t *buf, size_t bufsz, uint64_t base_gpa,
			  uint64_t *rsdp_gpa);

#endif
