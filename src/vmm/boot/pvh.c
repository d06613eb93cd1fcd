/* PVH boot of an uncompressed Linux ELF image (see pvh.h). Every field read
 * from the ELF file is checked before it is used as a size, offset or address. */
#include "vmm/boot/pvh.h"
#include "vmm/boot/layout.h"
#include "common/error.h"
#include "common/util.h"

#include <asm/bootparam.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_NOTES_MAX (64u << 10)      /* PT_NOTE segments are a few hundred bytes */
#define HVM_START_MAGIC 0x336ec578u

/* Xen's PVH start info, version 1 (xen/include/public/arch-x86/hvm/start_info.h). */
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define PVH_MODLIST_GPA (BOOT_PVH_INFO_GPA + 0x40)
#define PVH_MEMMAP_GPA (BOOT_PVH_INFO_GPA + 0x80)
#define PVH_MEMMAP_MAX ((0x1000 - 0x80) / sizeof(struct hvm_memmap_entry))

int pvh_is_elf(const uint8_t *data, size_t len)
{
	return len >= SELFMAG && !memcmp(data, ELFMAG, SELFMAG);
}

/* Look for the PVH entry in one PT_NOTE segment's bytes. */
static int pvh_find_entry(const uint8_t *notes, uint64_t len, uint32_t *entry)
{
	uint64_t off = 0;

	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, next;

		memcpy(&nh, notes + off, sizeof(nh));
		name_off = off + sizeof(nh);
		desc_off = name_off + ALIGN_UP((uint64_t)nh.n_namesz, 4);
		next = desc_off + ALIGN_UP((uint64_t)nh.n_descsz, 4);
		if (desc_off > len || next > len)
			return err_set(ERR_INVALID, "not a usable vmlinux: an ELF note runs past its segment");
		if (nh.n_namesz == 4 && !memcmp(notes + name_off, "Xen", 4) && nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY) {
			uint64_t v = 0;

			if (nh.n_descsz != 4 && nh.n_descsz != 8)
				return err_set(ERR_INVALID, "not a usable vmlinux: the PVH entry note has %u bytes",
					       nh.n_descsz);
			memcpy(&v, notes + desc_off, nh.n_descsz);
			if (v < BOOT_KERNEL_GPA || v > UINT32_MAX)
				return err_set(ERR_INVALID, "not a usable vmlinux: PVH entry 0x%llx is outside 1 MiB-4 GiB",
					       (unsigned long long)v);
			*entry = (uint32_t)v;
			return 1;
		}
		off = next;
	}
	return 0;
}

int pvh_check_source(const struct boot_source *src, struct pvh_image_info *info)
{
	Elf64_Ehdr eh;
	bool found = false;

	memset(info, 0, sizeof(*info));
	if (src->size < sizeof(eh))
		return err_set(ERR_INVALID, "not a vmlinux: only %llu bytes", (unsigned long long)src->size);
	if (boot_source_read(src, 0, &eh, sizeof(eh)) < 0)
		return -1;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return err_set(ERR_INVALID, "not an ELF file");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 ||
	    eh.e_type != ET_EXEC)
		return err_set(ERR_INVALID, "not an x86-64 executable ELF file");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64 ||
	    eh.e_phoff > src->size || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > src->size - eh.e_phoff)
		return err_set(ERR_INVALID, "truncated or malformed ELF file: bad program header table");
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (boot_source_read(src, eh.e_phoff + i * sizeof(ph), &ph, sizeof(ph)) < 0)
			return -1;
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > src->size || ph.p_filesz > src->size - ph.p_offset)
			return err_set(ERR_INVALID, "truncated ELF file: segment %u ends at %llu, the file has %llu bytes",
				       i, (unsigned long long)(ph.p_offset + ph.p_filesz),
				       (unsigned long long)src->size);
		if (ph.p_type == PT_NOTE) {
			autofree uint8_t *notes = NULL;
			int rc;

			if (found || ph.p_filesz == 0)
				continue;
			if (ph.p_filesz > PVH_NOTES_MAX)
				return err_set(ERR_INVALID, "malformed ELF file: a %llu-byte note segment",
					       (unsigned long long)ph.p_filesz);
			notes = malloc(ph.p_filesz);
			if (!notes)
				return err_set(ERR_NOMEM, "out of memory");
			if (boot_source_read(src, ph.p_offset, notes, ph.p_filesz) < 0)
				return -1;
			rc = pvh_find_entry(notes, ph.p_filesz, &info->entry);
			if (rc < 0)
				return -1;
			found = rc > 0;
			continue;
		}
		if (ph.p_memsz == 0)
			continue;
		if (ph.p_memsz < ph.p_filesz || ph.p_paddr < BOOT_KERNEL_GPA || ph.p_paddr >= UINT32_MAX ||
		    ph.p_memsz > UINT32_MAX - ph.p_paddr)
			return err_set(ERR_INVALID, "not a usable vmlinux: segment %u (0x%llx, %llu bytes) is not "
				       "between 1 MiB and 4 GiB", i, (unsigned long long)ph.p_paddr,
				       (unsigned long long)ph.p_memsz);
		if (info->nsegments == PVH_MAX_SEGMENTS)
			return err_set(ERR_INVALID, "not a usable vmlinux: more than %d loadable segments",
				       PVH_MAX_SEGMENTS);
		info->segments[info->nsegments++] = (struct pvh_segment){
			.offset = ph.p_offset, .filesz = ph.p_filesz, .memsz = ph.p_memsz, .paddr = ph.p_paddr,
		};
		info->paddr_end = MAX(info->paddr_end, ph.p_paddr + ph.p_memsz);
	}
	if (!found)
		return err_set(ERR_INVALID, "the kernel has no PVH entry point (Xen ELF note 18; CONFIG_PVH)");
	if (info->nsegments == 0)
		return err_set(ERR_INVALID, "not a usable vmlinux: no loadable segment");
	return 0;
}

int pvh_check_elf(const uint8_t *data, uint64_t len, struct pvh_image_info *info)
{
	struct boot_source src = { .data = data, .fd = -1, .size = len, .name = "vmlinux" };

	return pvh_check_source(&src, info);
}

/* End of the RAM region that starts at guest-physical 0. */
static uint64_t low_ram_end(const struct guest_mem *gm)
{
	for (unsigned i = 0; i < gm->nregions; i++)
		if (gm->regions[i].gpa == 0)
			return gm->regions[i].size;
	return 0;
}

static int pvh_write_memmap(const struct guest_mem *gm, uint32_t *count)
{
	struct boot_e820_entry e820[PVH_MEMMAP_MAX];
	struct hvm_memmap_entry map[PVH_MEMMAP_MAX];
	unsigned n = linux_build_e820(gm, e820, PVH_MEMMAP_MAX);

	memset(map, 0, sizeof(map));
	for (unsigned i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_entry){ .addr = e820[i].addr, .size = e820[i].size, .type = e820[i].type };
	*count = n;
	return gm_write(gm, PVH_MEMMAP_GPA, map, n * sizeof(map[0]));
}

int pvh_load(const struct guest_mem *gm, const struct boot_source *kernel, const struct pvh_image_info *info,
	     const struct boot_source *initrd, const char *cmdline, uint64_t rsdp_gpa, struct pvh_boot *out)
{
	struct hvm_start_info si = { .magic = HVM_START_MAGIC, .version = 1 };
	struct hvm_modlist_entry mod = { 0 };
	uint64_t low_end = low_ram_end(gm), top = MIN(low_end, 1ULL << 32), initrd_gpa = 0;
	uint64_t initrd_len = initrd ? initrd->size : 0;
	size_t cmdline_len = cmdline ? strlen(cmdline) : 0;

	if (info->paddr_end > low_end)
		return err_set(ERR_INVALID, "the kernel needs %llu MiB from 1 MiB, the guest has %llu MiB below 4 GiB",
			       (unsigned long long)(info->paddr_end >> 20), (unsigned long long)(low_end >> 20));
	if (cmdline_len >= BOOT_CMDLINE_MAX)
		return err_set(ERR_INVALID, "kernel command line is %zu bytes, at most %llu fit", cmdline_len,
			       BOOT_CMDLINE_MAX - 1);
	for (unsigned i = 0; i < info->nsegments; i++) {
		const struct pvh_segment *s = &info->segments[i];

		if (s->filesz && boot_source_to_guest(gm, s->paddr, kernel, s->offset, s->filesz) < 0)
			return err_prefix("loading kernel segment %u", i);
	}
	if (initrd_len) {
		if (initrd_len > top || ALIGN_DOWN(top - initrd_len, 4096) < ALIGN_UP(info->paddr_end, 4096))
			return err_set(ERR_INVALID, "initrd of %llu MiB does not fit in guest memory between the "
				       "kernel's end (%llu MiB) and %llu MiB: give the guest more memory",
				       (unsigned long long)(initrd_len >> 20),
				       (unsigned long long)(info->paddr_end >> 20), (unsigned long long)(top >> 20));
		initrd_gpa = ALIGN_DOWN(top - initrd_len, 4096);
		if (boot_source_to_guest(gm, initrd_gpa, initrd, 0, initrd_len) < 0)
			return err_prefix("loading initrd");
		mod.paddr = initrd_gpa;
		mod.size = initrd_len;
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_GPA;
		if (gm_write(gm, PVH_MODLIST_GPA, &mod, sizeof(mod)) < 0)
			return err_prefix("writing the PVH module list");
	}
	if (gm_write(gm, BOOT_CMDLINE_GPA, cmdline ? cmdline : "", cmdline_len + 1) < 0)
		return err_prefix("writing command line");
	si.cmdline_paddr = BOOT_CMDLINE_GPA;
	si.rsdp_paddr = rsdp_gpa;
	si.memmap_paddr = PVH_MEMMAP_GPA;
	if (pvh_write_memmap(gm, &si.memmap_entries) < 0 || gm_write(gm, BOOT_PVH_INFO_GPA, &si, sizeof(si)) < 0)
		return err_prefix("writing the PVH start info");
	out->entry = info->entry;
	out->start_info = (uint32_t)BOOT_PVH_INFO_GPA;
	out->initrd_gpa = initrd_gpa;
	out->initrd_size = initrd_len;
	return 0;
}
