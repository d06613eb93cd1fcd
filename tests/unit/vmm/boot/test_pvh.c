/* Unit tests of the PVH boot path: ELF checks and loading with hvm_start_info,
 * unpacking a bzImage's compressed payload (LZ4, gzip, XZ, zstd), and the
 * on-disk cache of unpacked kernels. Images are synthesized in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <asm/bootparam.h>
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef HAVE_LZ4
#include <lz4.h>
#endif
#ifdef HAVE_LZMA
#include <lzma.h>
#endif
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#include "common/error.h"
#include "vmm/boot/kcache.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/linux.h"
#include "vmm/boot/pvh.h"
#include "vmm/boot/unpack.h"

#define ELF_LEN (256 * 1024)
#define SEG_OFF 0x1000
#define SEG_PADDR 0x200000
#define SEG_FILESZ 0x30000
#define SEG_MEMSZ 0x40000
#define NOTE_OFF 0x800
#define PVH_ENTRY 0x200040

struct xen_note {
	Elf64_Nhdr nh;
	char name[4];
	uint32_t entry;
};

/* An x86-64 vmlinux: one PT_LOAD (a byte pattern, then bss), one PT_NOTE
 * with an unrelated note and the PVH entry note. */
static uint8_t *fake_vmlinux(void)
{
	uint8_t *img = calloc(1, ELF_LEN);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
	struct xen_note other = { { 4, 4, 6 }, "Xen", 0x756e696c };
	struct xen_note entry = { { 4, 4, 18 }, "Xen", PVH_ENTRY };

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = SEG_OFF, .p_paddr = SEG_PADDR,
			      .p_vaddr = 0xffffffff80000000ULL + SEG_PADDR, .p_filesz = SEG_FILESZ,
			      .p_memsz = SEG_MEMSZ };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF, .p_filesz = 2 * sizeof(entry) };
	memcpy(img + NOTE_OFF, &other, sizeof(other));
	memcpy(img + NOTE_OFF + sizeof(other), &entry, sizeof(entry));
	for (unsigned i = 0; i < SEG_FILESZ; i++)
		img[SEG_OFF + i] = (uint8_t)(i * 7 + 1);
	/* The rest of the file past the segment must not reach guest memory. */
	memset(img + SEG_OFF + SEG_FILESZ, 0xee, ELF_LEN - SEG_OFF - SEG_FILESZ);
	return img;
}

static Elf64_Phdr *phdr(uint8_t *img, unsigned i)
{
	return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)) + i;
}

static void test_pvh_check_accepts_a_vmlinux_with_a_pvh_note(void **state)
{
	uint8_t *img = fake_vmlinux();
	struct pvh_image_info info;

	(void)state;
	assert_int_equal(pvh_check_elf(img, ELF_LEN, &info), 0);
	assert_int_equal(info.entry, PVH_ENTRY);
	assert_int_equal(info.nsegments, 1);
	assert_int_equal(info.segments[0].paddr, SEG_PADDR);
	assert_int_equal(info.paddr_end, SEG_PADDR + SEG_MEMSZ);
	free(img);
}

static void expect_elf_error(uint8_t *img, uint64_t len, const char *what)
{
	struct pvh_image_info info;

	assert_int_equal(pvh_check_elf(img, len, &info), -1);
	if (!strstr(err_message(), what))
		fail_msg("message '%s' lacks '%s'", err_message(), what);
	free(img);
}

static void test_pvh_check_names_each_defect(void **state)
{
	uint8_t *img;

	(void)state;
	img = fake_vmlinux();
	img[0] = 'X';
	expect_elf_error(img, ELF_LEN, "not an ELF");
	img = fake_vmlinux();
	img[EI_CLASS] = ELFCLASS32;
	expect_elf_error(img, ELF_LEN, "x86-64");
	img = fake_vmlinux();
	expect_elf_error(img, SEG_OFF + 16, "truncated");
	img = fake_vmlinux();
	((Elf64_Ehdr *)img)->e_phnum = 5000;
	expect_elf_error(img, ELF_LEN, "program header");
	img = fake_vmlinux();
	phdr(img, 0)->p_paddr = 0x80000;
	expect_elf_error(img, ELF_LEN, "between 1 MiB and 4 GiB");
	img = fake_vmlinux();
	phdr(img, 0)->p_memsz = 0xfffffffff0ULL;
	expect_elf_error(img, ELF_LEN, "between 1 MiB and 4 GiB");
	img = fake_vmlinux();
	img[NOTE_OFF + sizeof(struct xen_note) + 8] = 17; /* the entry note's type */
	expect_elf_error(img, ELF_LEN, "no PVH entry");
	img = fake_vmlinux();
	((Elf64_Nhdr *)(img + NOTE_OFF))->n_descsz = 0x7fffffff;
	expect_elf_error(img, ELF_LEN, "runs past");
	img = fake_vmlinux();
	phdr(img, 1)->p_filesz = 1u << 30;
	expect_elf_error(img, ELF_LEN, "truncated");
}

static struct boot_source src_of(const uint8_t *data, uint64_t size)
{
	return (struct boot_source){ .data = data, .fd = -1, .size = size, .name = "test" };
}

static void test_pvh_load_writes_segments_and_start_info(void **state)
{
	uint8_t *img = fake_vmlinux(), rd[8192];
	struct boot_source k = src_of(img, ELF_LEN), initrd = src_of(rd, sizeof(rd));
	struct pvh_image_info info;
	struct pvh_boot boot;
	struct guest_mem gm;
	uint32_t si[14], mod[8], map[5 * 6];
	uint8_t *seg;
	char cmd[16];

	(void)state;
	memset(rd, 0x5a, sizeof(rd));
	assert_int_equal(gm_init(&gm, 64ULL << 20), 0);
	assert_int_equal(pvh_check_elf(img, ELF_LEN, &info), 0);
	assert_int_equal(pvh_load(&gm, &k, &info, &initrd, "console=ttyS0", 0xe0000, &boot), 0);
	assert_int_equal(boot.entry, PVH_ENTRY);
	assert_int_equal(boot.start_info, BOOT_PVH_INFO_GPA);
	assert_int_equal(boot.initrd_gpa, (64ULL << 20) - 8192);
	seg = gm_ptr(&gm, SEG_PADDR, SEG_MEMSZ);
	assert_memory_equal(seg, img + SEG_OFF, SEG_FILESZ);
	for (unsigned i = SEG_FILESZ; i < SEG_MEMSZ; i++)
		assert_int_equal(seg[i], 0);
	assert_int_equal(gm_read(&gm, BOOT_PVH_INFO_GPA, si, sizeof(si)), 0);
	assert_int_equal(si[0], 0x336ec578);      /* magic */
	assert_int_equal(si[1], 1);               /* version */
	assert_int_equal(si[3], 1);               /* one module */
	assert_int_equal(si[8], 0xe0000);         /* rsdp_paddr */
	assert_int_equal(si[12], 4);              /* memmap entries: low RAM, EBDA, BIOS, RAM */
	assert_int_equal(gm_read(&gm, si[6], cmd, 14), 0);
	assert_string_equal(cmd, "console=ttyS0");
	assert_int_equal(gm_read(&gm, si[4], mod, sizeof(mod)), 0);
	assert_int_equal(mod[0], boot.initrd_gpa);
	assert_int_equal(mod[2], sizeof(rd));
	assert_int_equal(gm_read(&gm, si[10], map, sizeof(map)), 0);
	assert_int_equal(map[6 * 3 + 0], 0x100000);        /* RAM from 1 MiB */
	assert_int_equal(map[6 * 3 + 2], (64 << 20) - 0x100000);
	assert_int_equal(map[6 * 3 + 4], 1);
	gm_destroy(&gm);

	/* A kernel that ends past the guest's memory, and an initrd that overlaps it. */
	assert_int_equal(gm_init(&gm, 16ULL << 20), 0);
	info.paddr_end = 32ULL << 20;
	assert_int_equal(pvh_load(&gm, &k, &info, NULL, "", 0, &boot), -1);
	assert_non_null(strstr(err_message(), "the kernel needs 32 MiB"));
	info.paddr_end = (16ULL << 20) - 4096;
	assert_int_equal(pvh_load(&gm, &k, &info, &initrd, "", 0, &boot), -1);
	assert_non_null(strstr(err_message(), "initrd"));
	gm_destroy(&gm);
	free(img);
}

/* A bzImage around a payload: the setup header the checks want, payload_offset
 * and payload_length (which includes the 4-byte decompressed size). */
static uint8_t *fake_bzimage(const uint8_t *payload, size_t len, uint32_t raw_len, size_t *total)
{
	size_t setup = 5 * 512, n = setup + len + 4;
	uint8_t *img = calloc(1, n < LINUX_HEADER_BYTES ? LINUX_HEADER_BYTES : n);
	struct setup_header hdr;
	uint32_t plen = (uint32_t)len + 4, poff = 0;

	memset(&hdr, 0, sizeof(hdr));
	hdr.setup_sects = 4;
	hdr.syssize = (uint32_t)((n - setup) / 16);
	hdr.boot_flag = 0xAA55;
	hdr.header = 0x53726448;
	hdr.version = 0x020f;
	hdr.loadflags = LOADED_HIGH;
	hdr.relocatable_kernel = 1;
	hdr.xloadflags = XLF_KERNEL_64;
	hdr.payload_offset = poff;
	hdr.payload_length = plen;
	memcpy(img + 0x1f1, &hdr, sizeof(hdr));
	memcpy(img + setup, payload, len);
	memcpy(img + setup + len, &raw_len, 4);
	*total = n < LINUX_HEADER_BYTES ? LINUX_HEADER_BYTES : n;
	return img;
}

static uint8_t *gzip_of(const uint8_t *in, size_t len, size_t *out_len)
{
	z_stream z;
	uint8_t *out = malloc(len + 1024);

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)len + 1024;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}

#ifdef HAVE_LZ4
/* The kernel's LZ4 legacy framing: magic, then [le32 size][block] per 8 MiB. */
static uint8_t *lz4_of(const uint8_t *in, size_t len, size_t *out_len)
{
	int bound = LZ4_compressBound((int)len);
	uint8_t *out = malloc((size_t)bound + 8);
	uint32_t magic = 0x184c2102u, n;

	memcpy(out, &magic, 4);
	n = (uint32_t)LZ4_compress_default((const char *)in, (char *)out + 8, (int)len, bound);
	assert_true(n > 0);
	memcpy(out + 4, &n, 4);
	*out_len = n + 8;
	return out;
}
#endif

#ifdef HAVE_LZMA
static uint8_t *xz_of(const uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = len + 4096, pos = 0;
	uint8_t *out = malloc(cap);

	assert_int_equal(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, NULL, in, len, out, &pos, cap), LZMA_OK);
	*out_len = pos;
	return out;
}
#endif

#ifdef HAVE_ZSTD
static uint8_t *zstd_of(const uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = ZSTD_compressBound(len);
	uint8_t *out = malloc(cap);
	ZSTD_CCtx *c = ZSTD_createCCtx();

	/* With a content checksum, as the zstd tool writes it for the kernel. */
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	*out_len = ZSTD_compress2(c, out, cap, in, len);
	ZSTD_freeCCtx(c);
	assert_false(ZSTD_isError(*out_len));
	return out;
}
#endif

static void check_round_trip(uint8_t *(*compress)(const uint8_t *, size_t, size_t *), const char *fmt)
{
	uint8_t *elf = fake_vmlinux(), *payload, *bz, *out = NULL;
	size_t plen, bzlen;
	uint64_t out_len = 0;
	struct boot_source src;

	payload = compress(elf, ELF_LEN, &plen);
	assert_string_equal(unpack_format(payload, plen), fmt);
	bz = fake_bzimage(payload, plen, ELF_LEN, &bzlen);
	src = src_of(bz, bzlen);
	assert_int_equal(unpack_bzimage(&src, &out, &out_len), 0);
	assert_int_equal(out_len, ELF_LEN);
	assert_memory_equal(out, elf, ELF_LEN);
	free(out);
	free(bz);

	/* A wrong size in the trailer, and a damaged stream, are errors. */
	bz = fake_bzimage(payload, plen, ELF_LEN + 4096, &bzlen);
	src = src_of(bz, bzlen);
	assert_int_equal(unpack_bzimage(&src, &out, &out_len), -1);
	assert_non_null(strstr(err_message(), "corrupt"));
	free(bz);
	memset(payload + plen / 2, 0x55, plen / 4);
	bz = fake_bzimage(payload, plen, ELF_LEN, &bzlen);
	src = src_of(bz, bzlen);
	if (unpack_bzimage(&src, &out, &out_len) == 0)
		fail_msg("%s: a damaged stream decoded", fmt);
	assert_non_null(strstr(err_message(), "corrupt"));
	free(bz);
	free(payload);
	free(elf);
}

static void test_unpack_restores_the_kernel_from_each_format(void **state)
{
	(void)state;
	check_round_trip(gzip_of, "gzip");
#ifdef HAVE_LZ4
	check_round_trip(lz4_of, "lz4");
#endif
#ifdef HAVE_LZMA
	check_round_trip(xz_of, "xz");
#endif
#ifdef HAVE_ZSTD
	check_round_trip(zstd_of, "zstd");
#endif
}

static void test_unpack_rejects_unknown_formats_and_bad_payload_fields(void **state)
{
	uint8_t junk[64], *bz, *out = NULL;
	size_t bzlen;
	uint64_t out_len;
	struct boot_source src;

	(void)state;
	memset(junk, 0x42, sizeof(junk));
	bz = fake_bzimage(junk, sizeof(junk), 4096, &bzlen);
	src = src_of(bz, bzlen);
	assert_int_equal(unpack_bzimage(&src, &out, &out_len), -1);
	assert_non_null(strstr(err_message(), "cannot unpack"));
	/* payload_length past the end of the file */
	memcpy(bz + 0x24c, &(uint32_t){ 1u << 30 }, 4);
	assert_int_equal(unpack_bzimage(&src, &out, &out_len), -1);
	assert_non_null(strstr(err_message(), "not inside the file"));
	free(bz);
}

static char cache_dir[64];

static int count_entries(void)
{
	DIR *d = opendir(cache_dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void check_cached(const struct boot_source *s, const uint8_t *elf)
{
	uint8_t *buf = malloc(ELF_LEN);

	assert_int_equal(s->size, ELF_LEN);
	assert_true(s->fd >= 0);
	assert_int_equal(boot_source_read(s, 0, buf, ELF_LEN), 0);
	assert_memory_equal(buf, elf, ELF_LEN);
	free(buf);
}

static void test_kcache_builds_reuses_and_rebuilds_entries(void **state)
{
	uint8_t *elf = fake_vmlinux(), *payload, *bz, *bz2;
	size_t plen, bzlen;
	char path[4096], sub[128];
	struct boot_source bzsrc, s;
	bool hit;
	int fd;

	(void)state;
	strcpy(cache_dir, "/tmp/vireo-kcache-XXXXXX");
	assert_non_null(mkdtemp(cache_dir));
	snprintf(sub, sizeof(sub), "%s/a/b", cache_dir);
	payload = gzip_of(elf, ELF_LEN, &plen);
	bz = fake_bzimage(payload, plen, ELF_LEN, &bzlen);
	bzsrc = src_of(bz, bzlen);

	/* Missing: built (directories created); then found. */
	assert_int_equal(kcache_open(sub, &bzsrc, path, sizeof(path), &s, &hit), 0);
	assert_false(hit);
	check_cached(&s, elf);
	boot_source_close(&s);
	assert_int_equal(kcache_open(sub, &bzsrc, path, sizeof(path), &s, &hit), 0);
	assert_true(hit);
	check_cached(&s, elf);
	boot_source_close(&s);

	/* One flipped byte in the image, then a truncated file: rebuilt each time. */
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\x01", 1, KCACHE_HEADER_SIZE + SEG_OFF + 100), 1);
	close(fd);
	assert_int_equal(kcache_open(sub, &bzsrc, path, sizeof(path), &s, &hit), 0);
	assert_false(hit);
	check_cached(&s, elf);
	boot_source_close(&s);
	assert_int_equal(truncate(path, KCACHE_HEADER_SIZE + 1000), 0);
	assert_int_equal(kcache_open(sub, &bzsrc, path, sizeof(path), &s, &hit), 0);
	assert_false(hit);
	check_cached(&s, elf);
	boot_source_close(&s);

	/* Another bzImage (one byte differs) gets its own entry. */
	bz2 = malloc(bzlen);
	memcpy(bz2, bz, bzlen);
	bz2[0x300] ^= 1;
	bzsrc = src_of(bz2, bzlen);
	assert_int_equal(kcache_open(sub, &bzsrc, path, sizeof(path), &s, &hit), 0);
	assert_false(hit);
	boot_source_close(&s);
	strcpy(cache_dir, sub);
	assert_int_equal(count_entries(), 2);

	/* A bad payload is an error and leaves no entry behind. */
	memset(bz2 + 5 * 512, 0, 16);
	assert_int_equal(kcache_open(sub, &bzsrc, path, sizeof(path), &s, &hit), -1);
	assert_int_equal(count_entries(), 2);
	free(bz2);
	free(bz);
	free(payload);
	free(elf);
	assert_int_equal(system("rm -rf /tmp/vireo-kcache-*"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pvh_check_accepts_a_vmlinux_with_a_pvh_note),
		cmocka_unit_test(test_pvh_check_names_each_defect),
		cmocka_unit_test(test_pvh_load_writes_segments_and_start_info),
		cmocka_unit_test(test_unpack_restores_the_kernel_from_each_format),
		cmocka_unit_test(test_unpack_rejects_unknown_formats_and_bad_payload_fields),
		cmocka_unit_test(test_kcache_builds_reuses_and_rebuilds_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
