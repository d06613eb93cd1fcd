/* Guest-physical layout used when vireo-vmm boots without firmware: where the
 * boot structures, ACPI tables, kernel and command line go in low memory. */
#ifndef VIREO_VMM_BOOT_LAYOUT_H
#define VIREO_VMM_BOOT_LAYOUT_H

#define BOOT_GDT_GPA 0x500ULL
#define BOOT_IDT_GPA 0x520ULL
#define BOOT_PVH_INFO_GPA 0x6000ULL     /* PVH start info, module list, memory map */
#define BOOT_ZERO_PAGE_GPA 0x7000ULL
#define BOOT_PML4_GPA 0x9000ULL
#define BOOT_PDPT_GPA 0xa000ULL
#define BOOT_PD_GPA 0xb000ULL          /* 4 page directories: 0xb000-0xefff, 4 GiB in 2 MiB pages */
#define BOOT_STACK_GPA 0x8ff0ULL
#define BOOT_CMDLINE_GPA 0x20000ULL
#define BOOT_CMDLINE_MAX 0x10000ULL
#define BOOT_EBDA_GPA 0x9fc00ULL
#define BOOT_ACPI_GPA 0xe0000ULL       /* RSDP and tables, found by the legacy scan */
#define BOOT_ACPI_SIZE 0x20000ULL
#define BOOT_KERNEL_GPA 0x100000ULL
#define BOOT_PAYLOAD_REAL_GPA 0x10000ULL

/* GDT selectors the Linux 64-bit boot protocol expects. */
#define BOOT_CS32_SELECTOR 0x08         /* 32-bit code, for the PVH entry */
#define BOOT_CS_SELECTOR 0x10
#define BOOT_DS_SELECTOR 0x18

#endif
