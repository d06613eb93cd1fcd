/* Linux x86 boot protocol (Documentation/arch/x86/boot.rst): check a bzImage's
 * setup header, load kernel, command line and initrd into guest memory, and
 * build the zero page with the e820 map, for the 64-bit entry point. */
#ifndef VIREO_VMM_BOOT_LINUX_H
#define VIREO_VMM_BOOT_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"

struct boot_e820_entry;

/* Oldest protocol with a 64-bit entry point (xloadflags, 2.12). */
#define LINUX_MIN_PROTOCOL 0x020c

struct linux_image_info {
	uint16_t protocol;
	uint32_t setup_size;      /* bytes of real-mode setup, boot sector included */
	uint32_t kernel_size;     /* protected-mode part */
	uint32_t init_size;       /* memory the kernel needs from its load address */
	uint32_t initrd_addr_max;
	uint32_t cmdline_max;     /* without the NUL */
	uint32_t alignment;
};

struct linux_boot {
	uint64_t entry;           /* 64-bit entry: load address + 0x200 */
	uint64_t zero_page;       /* boot_params, passed in RSI */
	uint64_t initrd_gpa, initrd_size;
};

/* Validate a bzImage; -1 with ERR_INVALID naming the cause otherwise. */
int linux_check_image(const uint8_t *image, size_t len, struct linux_image_info *info);

/* Fill an e820 table from the guest's RAM regions; returns the entry count. */
unsigned linux_build_e820(const struct guest_mem *gm, struct boot_e820_entry *table, unsigned max);

/* Load everything and write the zero page. initrd may be NULL. rsdp_gpa 0 = none. */
int linux_load(const struct guest_mem *gm, const uint8_t *image, size_t image_len,
	       const uint8_t *initrd, size_t initrd_len, const char *cmdline, uint64_t rsdp_gpa,
	       struct linux_boot *out);

/* GDT and identity page tables (first 4 GiB) for entering 64-bit mode. */
int boot_setup_long_mode(const struct guest_mem *gm);

#endif
