/* Linux x86 boot protocol (Documentation/arch/x86/boot.rst): check a bzImage's
 * setup header, load kernel, command line and initrd into guest memory, and
 * build the zero page with the e820 map, for the 64-bit entry point. */
#ifndef VIREO_VMM_BOOT_LINUX_H
#define VIREO_VMM_BOOT_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"

struct boot_e820_entry;

/* Where a boot image comes from: a file read straight into guest memory (the
 * VMM keeps no copy; a reset reads it again), or a buffer (tests). */
struct boot_source {
	const uint8_t *data;   /* or NULL: read from fd */
	int fd;
	uint64_t base;         /* where the image starts in the file */
	uint64_t size;         /* image bytes from base */
	const char *name;      /* for messages */
};

/* Open a file as a boot source; -1 with the error naming it. */
int boot_source_open(struct boot_source *src, const char *path, const char *what);
void boot_source_close(struct boot_source *src);
/* Copy [off, off+len) of the source to host memory or to guest-physical gpa. */
int boot_source_read(const struct boot_source *src, uint64_t off, void *dst, uint64_t len);
int boot_source_to_guest(const struct guest_mem *gm, uint64_t gpa, const struct boot_source *src, uint64_t off,
			 uint64_t len);

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

/* Bytes of a bzImage's start that hold everything linux_check_image reads. */
#define LINUX_HEADER_BYTES 0x1000

/* Validate a bzImage from its first LINUX_HEADER_BYTES (or fewer, if the file
 * is shorter) and its total length; -1 with ERR_INVALID naming the cause. */
int linux_check_image(const uint8_t *header, size_t header_len, uint64_t len, struct linux_image_info *info);

/* Read a source's first LINUX_HEADER_BYTES into header and check them. */
int linux_check_source(const struct boot_source *src, uint8_t header[LINUX_HEADER_BYTES],
		       struct linux_image_info *info);

/* Fill an e820 table from the guest's RAM regions; returns the entry count. */
unsigned linux_build_e820(const struct guest_mem *gm, struct boot_e820_entry *table, unsigned max);

/* Load everything and write the zero page. initrd may be NULL. rsdp_gpa 0 = none. */
int linux_load(const struct guest_mem *gm, const struct boot_source *kernel, const struct boot_source *initrd,
	       const char *cmdline, uint64_t rsdp_gpa, struct linux_boot *out);

/* GDT and identity page tables (first 4 GiB) for entering 64-bit mode. */
int boot_setup_long_mode(const struct guest_mem *gm);

#endif
