/* PVH boot of an uncompressed Linux ELF image (vmlinux): the Xen PVH entry
 * point found in the kernel's ELF notes, entered in 32-bit protected mode with
 * an hvm_start_info structure (memory map, command line, initrd, RSDP). */
#ifndef VIREO_VMM_BOOT_PVH_H
#define VIREO_VMM_BOOT_PVH_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/boot/linux.h"
#include "vmm/memory.h"

#define PVH_MAX_SEGMENTS 16

struct pvh_segment {
	uint64_t offset, filesz, memsz, paddr;
};

struct pvh_image_info {
	uint32_t entry;               /* 32-bit physical entry (XEN_ELFNOTE_PHYS32_ENTRY) */
	unsigned nsegments;
	struct pvh_segment segments[PVH_MAX_SEGMENTS];
	uint64_t paddr_end;           /* end of the highest PT_LOAD segment in memory */
};

/* True when the buffer starts like an ELF file. */
int pvh_is_elf(const uint8_t *data, size_t len);

/* Check an x86-64 ELF executable held in memory: program headers inside the
 * file, loadable segments inside the file and above 1 MiB, and a PVH entry
 * note. -1 with ERR_INVALID naming the cause. */
int pvh_check_elf(const uint8_t *data, uint64_t len, struct pvh_image_info *info);

/* Read the headers of an ELF source and check it (pvh_check_elf on the part
 * that holds the program headers and notes). */
int pvh_check_source(const struct boot_source *src, struct pvh_image_info *info);

struct pvh_boot {
	uint32_t entry;
	uint32_t start_info;          /* guest-physical, passed in EBX */
	uint64_t initrd_gpa, initrd_size;
};

/* Load the segments, command line, initrd and start_info. Guest RAM must be
 * zero (as after power-on): the part of a segment past its file size is not
 * written. rsdp_gpa 0 = none. */
int pvh_load(const struct guest_mem *gm, const struct boot_source *kernel, const struct pvh_image_info *info,
	     const struct boot_source *initrd, const char *cmdline, uint64_t rsdp_gpa, struct pvh_boot *out);

#endif
