/* Linux x86 boot protocol for the 64-bit entry point (see linux.h). Every
 * field read from the image is checked before it is used as a size or offset. */
#include "vmm/boot/linux.h"
#include "vmm/boot/layout.h"
#include "common/error.h"
#include "common/util.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SETUP_HDR_OFFSET 0x1f1
#define HDRS_MAGIC 0x53726448  /* "HdrS" */
#define E820_RAM 1
#define E820_RESERVED 2


int linux_check_image(const uint8_t *header, size_t header_len, uint64_t len, struct linux_image_info *info)
{
	struct setup_header hdr;
	uint32_t setup_sects;

	if (len < LINUX_HEADER_BYTES || header_len < LINUX_HEADER_BYTES)
		return err_set(ERR_INVALID, "not a bzImage: only %llu bytes", (unsigned long long)len);
	memcpy(&hdr, header + SETUP_HDR_OFFSET, sizeof(hdr));
	if (hdr.boot_flag != 0xAA55 || hdr.header != HDRS_MAGIC)
		return err_set(ERR_INVALID, "not a bzImage: no Linux boot sector signature (0xAA55/HdrS)");
	if (hdr.version < LINUX_MIN_PROTOCOL)
		return err_set(ERR_INVALID, "boot protocol %u.%02u is too old: vireo needs %u.%02u or later "
			       "(a 64-bit entry point)", hdr.version >> 8, hdr.version & 0xff,
			       LINUX_MIN_PROTOCOL >> 8, LINUX_MIN_PROTOCOL & 0xff);
	if (!(hdr.xloadflags & XLF_KERNEL_64))
		return err_set(ERR_INVALID, "the kernel has no 64-bit entry point (xloadflags 0x%x)",
			       hdr.xloadflags);
	if (!hdr.relocatable_kernel)
		return err_set(ERR_INVALID, "the kernel is not relocatable; vireo loads it at 0x%llx",
			       BOOT_KERNEL_GPA);
	if (!(hdr.loadflags & LOADED_HIGH))
		return err_set(ERR_INVALID, "the kernel is a zImage (not loaded high)");
	setup_sects = hdr.setup_sects ? hdr.setup_sects : 4;
	info->setup_size = (setup_sects + 1) * 512;
	/* syssize counts 16-byte paragraphs of the protected-mode part. */
	if ((uint64_t)info->setup_size + (uint64_t)hdr.syssize * 16 > len)
		return err_set(ERR_INVALID, "truncated bzImage: the header promises %llu bytes, the file has %llu",
			       (unsigned long long)info->setup_size + (uint64_t)hdr.syssize * 16,
			       (unsigned long long)len);
	info->protocol = hdr.version;
	info->kernel_size = (uint32_t)(len - info->setup_size);
	info->init_size = hdr.init_size > info->kernel_size ? hdr.init_size : info->kernel_size;
	info->initrd_addr_max = hdr.initrd_addr_max ? hdr.initrd_addr_max : 0x37ffffff;
	info->cmdline_max = hdr.cmdline_size ? hdr.cmdline_size : 255;
	info->alignment = hdr.kernel_alignment;
	return 0;
}

int boot_source_open(struct boot_source *src, const char *path, const char *what)
{
	struct stat st;

	memset(src, 0, sizeof(*src));
	src->name = path;
	src->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (src->fd < 0)
		return err_set_errno(errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, errno, "%s: cannot open '%s'", what,
				     path);
	if (fstat(src->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		boot_source_close(src);
		return err_set(ERR_INVALID, "%s: '%s' is not a regular file", what, path);
	}
	src->size = (uint64_t)st.st_size;
	return 0;
}

void boot_source_close(struct boot_source *src)
{
	if (!src->data && src->fd >= 0)
		close(src->fd);
	src->fd = -1;
}

int boot_source_read(const struct boot_source *src, uint64_t off, void *dst, uint64_t len)
{
	uint8_t *p = dst;

	if (off > src->size || len > src->size - off)
		return err_set(ERR_INVALID, "'%s': %llu bytes at %llu are past its end (%llu bytes)", src->name,
			       (unsigned long long)len, (unsigned long long)off, (unsigned long long)src->size);
	if (src->data) {
		memcpy(dst, src->data + off, len);
		return 0;
	}
	while (len) {
		ssize_t n = pread(src->fd, p, len > (1u << 30) ? (1u << 30) : len, (off_t)(src->base + off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set_errno(ERR_IO, n < 0 ? errno : EIO, "cannot read '%s'", src->name);
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int boot_source_to_guest(const struct guest_mem *gm, uint64_t gpa, const struct boot_source *src, uint64_t off,
			 uint64_t len)
{
	void *dst = gm_ptr(gm, gpa, len);

	if (!dst)
		return err_set(ERR_INVALID, "'%s': %llu bytes do not fit in guest memory at 0x%llx", src->name,
			       (unsigned long long)len, (unsigned long long)gpa);
	return boot_source_read(src, off, dst, len);
}

int linux_check_source(const struct boot_source *src, uint8_t header[LINUX_HEADER_BYTES],
		       struct linux_image_info *info)
{
	if (src->size < LINUX_HEADER_BYTES)
		return err_set(ERR_INVALID, "not a bzImage: only %llu bytes", (unsigned long long)src->size);
	if (boot_source_read(src, 0, header, LINUX_HEADER_BYTES) < 0)
		return -1;
	return linux_check_image(header, LINUX_HEADER_BYTES, src->size, info);
}

static unsigned e820_add(struct boot_e820_entry *t, unsigned n, unsigned max, uint64_t addr, uint64_t size,
			 uint32_t type)
{
	if (n >= max || size == 0)
		return n;
	t[n].addr = addr;
	t[n].size = size;
	t[n].type = type;
	return n + 1;
}

unsigned linux_build_e820(const struct guest_mem *gm, struct boot_e820_entry *t, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (r->gpa == 0) {
			/* Low memory: conventional RAM, the EBDA and BIOS area reserved (ACPI
			 * tables live at 0xe0000), then RAM from 1 MiB up to the region's end. */
			uint64_t conv = MIN(r->size, BOOT_EBDA_GPA);

			n = e820_add(t, n, max, 0, conv, E820_RAM);
			n = e820_add(t, n, max, BOOT_EBDA_GPA, 0xa0000 - BOOT_EBDA_GPA, E820_RESERVED);
			n = e820_add(t, n, max, 0xe0000, 0x20000, E820_RESERVED);
			if (r->size > 0x100000)
				n = e820_add(t, n, max, 0x100000, r->size - 0x100000, E820_RAM);
		} else {
			n = e820_add(t, n, max, r->gpa, r->size, E820_RAM);
		}
	}
	return n;
}

/* End of the RAM region that starts at guest-physical 0. */
static uint64_t low_ram_end(const struct guest_mem *gm)
{
	for (unsigned i = 0; i < gm->nregions; i++)
		if (gm->regions[i].gpa == 0)
			return gm->regions[i].size;
	return 0;
}

int linux_load(const struct guest_mem *gm, const struct boot_source *kernel, const struct boot_source *initrd,
	       const char *cmdline, uint64_t rsdp_gpa, struct linux_boot *out)
{
	struct linux_image_info info;
	struct boot_params bp;
	uint8_t header[LINUX_HEADER_BYTES];
	uint64_t low_end = low_ram_end(gm), kernel_end, initrd_gpa = 0;
	uint64_t initrd_len = initrd ? initrd->size : 0;
	size_t cmdline_len = cmdline ? strlen(cmdline) : 0;
	size_t hdr_len;

	if (linux_check_source(kernel, header, &info) < 0)
		return -1;
	kernel_end = BOOT_KERNEL_GPA + ALIGN_UP((uint64_t)info.init_size, 4096);
	if (kernel_end > low_end)
		return err_set(ERR_INVALID, "the kernel needs %u MiB from 1 MiB, the guest has %llu MiB below 4 GiB",
			       info.init_size >> 20, (unsigned long long)(low_end >> 20));
	if (cmdline_len > info.cmdline_max || cmdline_len >= BOOT_CMDLINE_MAX)
		return err_set(ERR_INVALID, "kernel command line is %zu bytes, the kernel accepts at most %u",
			       cmdline_len, info.cmdline_max);
	if (initrd_len) {
		uint64_t top = MIN(low_end, (uint64_t)info.initrd_addr_max + 1);

		if (initrd_len > top || ALIGN_DOWN(top - initrd_len, 4096) < kernel_end)
			return err_set(ERR_INVALID, "initrd of %llu MiB does not fit in guest memory between the "
				       "kernel's end (%llu MiB) and %llu MiB: give the guest more memory",
				       (unsigned long long)(initrd_len >> 20), (unsigned long long)(kernel_end >> 20),
				       (unsigned long long)(top >> 20));
		initrd_gpa = ALIGN_DOWN(top - initrd_len, 4096);
		if (boot_source_to_guest(gm, initrd_gpa, initrd, 0, initrd_len) < 0)
			return err_prefix("loading initrd");
	}
	if (boot_source_to_guest(gm, BOOT_KERNEL_GPA, kernel, info.setup_size, info.kernel_size) < 0)
		return err_prefix("loading kernel");
	if (gm_write(gm, BOOT_CMDLINE_GPA, cmdline ? cmdline : "", cmdline_len + 1) < 0)
		return err_prefix("writing command line");

	memset(&bp, 0, sizeof(bp));
	/* Copy the setup header as the image has it, then fill in the loader's fields. */
	hdr_len = 0x202 + header[0x201] - SETUP_HDR_OFFSET;
	if (hdr_len > sizeof(bp.hdr))
		hdr_len = sizeof(bp.hdr);
	memcpy(&bp.hdr, header + SETUP_HDR_OFFSET, hdr_len);
	bp.hdr.type_of_loader = 0xff;
	bp.hdr.loadflags |= CAN_USE_HEAP;
	bp.hdr.loadflags &= (uint8_t)~KEEP_SEGMENTS;
	bp.hdr.heap_end_ptr = 0xfe00;
	bp.hdr.vid_mode = 0xffff;
	bp.hdr.code32_start = BOOT_KERNEL_GPA;
	bp.hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_GPA;
	bp.ext_cmd_line_ptr = 0;
	bp.hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp.hdr.ramdisk_size = (uint32_t)initrd_len;
	bp.ext_ramdisk_size = (uint32_t)(initrd_len >> 32);
	bp.acpi_rsdp_addr = rsdp_gpa;
	bp.e820_entries = (uint8_t)linux_build_e820(gm, bp.e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (gm_write(gm, BOOT_ZERO_PAGE_GPA, &bp, sizeof(bp)) < 0)
		return err_prefix("writing zero page");

	out->entry = BOOT_KERNEL_GPA + 0x200;
	out->zero_page = BOOT_ZERO_PAGE_GPA;
	out->initrd_gpa = initrd_gpa;
	out->initrd_size = initrd_len;
	return 0;
}

int boot_setup_long_mode(const struct guest_mem *gm)
{
	/* Null, 32-bit code (0x08, PVH entry), 64-bit code (0x10), data (0x18):
	 * the selectors Linux expects. */
	static const uint64_t gdt[] = {
		0, 0x00cf9b000000ffffULL, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL,
	};
	uint64_t pml4 = BOOT_PDPT_GPA | 0x3;
	uint64_t pdpt[4], pd[512];

	if (gm_write(gm, BOOT_GDT_GPA, gdt, sizeof(gdt)) < 0 ||
	    gm_write(gm, BOOT_IDT_GPA, (uint64_t[]){ 0 }, 8) < 0 ||
	    gm_write(gm, BOOT_PML4_GPA, &pml4, sizeof(pml4)) < 0)
		return err_prefix("writing boot page tables");
	for (unsigned g = 0; g < 4; g++) {
		pdpt[g] = (BOOT_PD_GPA + g * 0x1000) | 0x3;
		for (unsigned i = 0; i < 512; i++)
			pd[i] = ((uint64_t)g << 30) + ((uint64_t)i << 21) + 0x83; /* present, rw, 2 MiB */
		if (gm_write(gm, BOOT_PD_GPA + g * 0x1000, pd, sizeof(pd)) < 0)
			return err_prefix("writing boot page tables");
	}
	if (gm_write(gm, BOOT_PDPT_GPA, pdpt, sizeof(pdpt)) < 0)
		return err_prefix("writing boot page tables");
	return 0;
}
