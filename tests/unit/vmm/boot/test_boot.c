/* Unit tests of the Linux boot protocol: setup-header checks, the zero page,
 * and the e820 map around the 32-bit hole. Images are synthesized in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <asm/bootparam.h>

#include "common/error.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/linux.h"

#define IMG_LEN (64 * 1024)

/* A minimal bzImage: 4 setup sectors + boot sector, then a protected-mode body. */
static uint8_t *fake_bzimage(void)
{
	uint8_t *img = calloc(1, IMG_LEN);
	struct setup_header hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.setup_sects = 4;
	hdr.syssize = (IMG_LEN - 5 * 512) / 16;
	hdr.boot_flag = 0xAA55;
	hdr.header = 0x53726448;
	hdr.version = 0x020f;
	hdr.loadflags = LOADED_HIGH;
	hdr.relocatable_kernel = 1;
	hdr.xloadflags = XLF_KERNEL_64;
	hdr.cmdline_size = 2047;
	hdr.initrd_addr_max = 0x7fffffff;
	hdr.kernel_alignment = 0x200000;
	hdr.init_size = 0x800000;
	memcpy(img + 0x1f1, &hdr, sizeof(hdr));
	img[0x201] = 0x6a; /* header ends at 0x26c: jump offset at 0x200 */
	memset(img + 5 * 512, 0xcc, IMG_LEN - 5 * 512);
	return img;
}

static struct boot_source src_of(const uint8_t *data, uint64_t size)
{
	return (struct boot_source){ .data = data, .fd = -1, .size = size, .name = "test" };
}

static void set_hdr16(uint8_t *img, size_t off, uint16_t v)
{
	memcpy(img + off, &v, 2);
}

static void test_linux_check_image_accepts_a_64bit_bzimage(void **state)
{
	uint8_t *img = fake_bzimage();
	struct linux_image_info info;

	(void)state;
	assert_int_equal(linux_check_image(img, IMG_LEN, IMG_LEN, &info), 0);
	assert_int_equal(info.setup_size, 5 * 512);
	assert_int_equal(info.kernel_size, IMG_LEN - 5 * 512);
	assert_int_equal(info.init_size, 0x800000);
	assert_int_equal(info.cmdline_max, 2047);
	free(img);
}

static void test_linux_check_image_names_each_defect(void **state)
{
	struct linux_image_info info;
	uint8_t *img;

	(void)state;
	img = fake_bzimage();
	img[0x202] = 'X';
	assert_int_equal(linux_check_image(img, IMG_LEN, IMG_LEN, &info), -1);
	assert_non_null(strstr(err_message(), "not a bzImage"));
	free(img);

	img = fake_bzimage();
	set_hdr16(img, 0x206, 0x0204);
	assert_int_equal(linux_check_image(img, IMG_LEN, IMG_LEN, &info), -1);
	assert_non_null(strstr(err_message(), "too old"));
	free(img);

	img = fake_bzimage();
	img[0x236] = 0;
	assert_int_equal(linux_check_image(img, IMG_LEN, IMG_LEN, &info), -1);
	assert_non_null(strstr(err_message(), "64-bit"));
	free(img);

	img = fake_bzimage();
	img[0x234] = 0;
	assert_int_equal(linux_check_image(img, IMG_LEN, IMG_LEN, &info), -1);
	assert_non_null(strstr(err_message(), "relocatable"));
	free(img);

	img = fake_bzimage();
	assert_int_equal(linux_check_image(img, IMG_LEN, IMG_LEN - 4096, &info), -1);
	assert_non_null(strstr(err_message(), "truncated"));
	assert_int_equal(linux_check_image(img, 100, 100, &info), -1);
	assert_non_null(strstr(err_message(), "not a bzImage"));
	free(img);
}

static void test_e820_splits_ram_around_the_hole_and_reserves_bios_area(void **state)
{
	struct boot_e820_entry t[16];
	struct guest_mem gm;
	unsigned n;

	(void)state;
	assert_int_equal(gm_init(&gm, 5ULL << 30), 0);
	n = linux_build_e820(&gm, t, 16);
	assert_int_equal(n, 5);
	assert_int_equal(t[0].addr, 0);
	assert_int_equal(t[0].size, BOOT_EBDA_GPA);
	assert_int_equal(t[0].type, 1);
	assert_int_equal(t[1].type, 2);
	assert_int_equal(t[2].addr, 0xe0000);
	assert_int_equal(t[2].type, 2);
	assert_int_equal(t[3].addr, 0x100000);
	assert_int_equal(t[3].addr + t[3].size, GM_HOLE_START);
	assert_int_equal(t[4].addr, GM_HOLE_END);
	assert_int_equal(t[4].size, (5ULL << 30) - GM_HOLE_START);
	/* No RAM entry overlaps the hole. */
	for (unsigned i = 0; i < n; i++)
		if (t[i].type == 1)
			assert_true(t[i].addr + t[i].size <= GM_HOLE_START || t[i].addr >= GM_HOLE_END);
	gm_destroy(&gm);
}

static void test_linux_load_fills_zero_page_and_places_initrd_high(void **state)
{
	static const char cmdline[] = "console=ttyS0 quiet";
	uint8_t *img = fake_bzimage(), initrd[8192];
	struct boot_params bp;
	struct linux_boot boot;
	struct guest_mem gm;

	(void)state;
	memset(initrd, 0x5a, sizeof(initrd));
	assert_int_equal(gm_init(&gm, 64ULL << 20), 0);
	struct boot_source k = src_of(img, IMG_LEN), r = src_of(initrd, sizeof(initrd));

	assert_int_equal(linux_load(&gm, &k, &r, cmdline, 0xe0000, &boot), 0);
	assert_int_equal(boot.entry, BOOT_KERNEL_GPA + 0x200);
	assert_int_equal(gm_read(&gm, boot.zero_page, &bp, sizeof(bp)), 0);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_true(bp.hdr.loadflags & CAN_USE_HEAP);
	assert_int_equal(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	assert_string_equal((char *)gm_ptr(&gm, BOOT_CMDLINE_GPA, sizeof(cmdline)), cmdline);
	assert_int_equal(bp.acpi_rsdp_addr, 0xe0000);
	assert_int_equal(bp.hdr.ramdisk_size, sizeof(initrd));
	assert_int_equal(bp.hdr.ramdisk_image % 4096, 0);
	assert_true(bp.hdr.ramdisk_image + sizeof(initrd) <= 64ULL << 20);
	assert_true(bp.hdr.ramdisk_image >= BOOT_KERNEL_GPA + 0x800000);
	assert_memory_equal(gm_ptr(&gm, bp.hdr.ramdisk_image, sizeof(initrd)), initrd, sizeof(initrd));
	assert_int_equal(bp.e820_entries, 4);
	assert_memory_equal(gm_ptr(&gm, BOOT_KERNEL_GPA, 16), img + 5 * 512, 16);
	gm_destroy(&gm);
	free(img);
}

static void test_linux_load_refuses_an_initrd_larger_than_memory(void **state)
{
	uint8_t *img = fake_bzimage();
	size_t big = 60u << 20;
	uint8_t *initrd = calloc(1, big);
	struct linux_boot boot;
	struct guest_mem gm;

	(void)state;
	assert_int_equal(gm_init(&gm, 64ULL << 20), 0);
	struct boot_source k = src_of(img, IMG_LEN), r = src_of(initrd, big);

	assert_int_equal(linux_load(&gm, &k, &r, "", 0, &boot), -1);
	assert_non_null(strstr(err_message(), "initrd"));
	assert_non_null(strstr(err_message(), "more memory"));
	gm_destroy(&gm);
	free(initrd);
	free(img);
}

static void test_linux_load_refuses_a_command_line_over_the_kernel_limit(void **state)
{
	uint8_t *img = fake_bzimage();
	char *cmdline = malloc(3000);
	struct linux_boot boot;
	struct guest_mem gm;

	(void)state;
	memset(cmdline, 'a', 2999);
	cmdline[2999] = '\0';
	assert_int_equal(gm_init(&gm, 64ULL << 20), 0);
	struct boot_source k = src_of(img, IMG_LEN);

	assert_int_equal(linux_load(&gm, &k, NULL, cmdline, 0, &boot), -1);
	assert_non_null(strstr(err_message(), "command line"));
	gm_destroy(&gm);
	free(cmdline);
	free(img);
}

static void test_long_mode_tables_identity_map_the_first_4g(void **state)
{
	struct guest_mem gm;
	uint64_t pml4, pdpt3, pd;

	(void)state;
	assert_int_equal(gm_init(&gm, 32ULL << 20), 0);
	assert_int_equal(boot_setup_long_mode(&gm), 0);
	assert_int_equal(gm_read(&gm, BOOT_PML4_GPA, &pml4, 8), 0);
	assert_int_equal(pml4 & ~0xfffULL, BOOT_PDPT_GPA);
	assert_int_equal(gm_read(&gm, BOOT_PDPT_GPA + 3 * 8, &pdpt3, 8), 0);
	assert_int_equal(pdpt3 & ~0xfffULL, BOOT_PD_GPA + 3 * 0x1000);
	assert_int_equal(gm_read(&gm, BOOT_PD_GPA + 3 * 0x1000 + 511 * 8, &pd, 8), 0);
	assert_int_equal(pd & ~0xfffULL, 0xffe00000ULL);
	assert_true(pd & 0x80); /* 2 MiB page */
	gm_destroy(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_check_image_accepts_a_64bit_bzimage),
		cmocka_unit_test(test_linux_check_image_names_each_defect),
		cmocka_unit_test(test_e820_splits_ram_around_the_hole_and_reserves_bios_area),
		cmocka_unit_test(test_linux_load_fills_zero_page_and_places_initrd_high),
		cmocka_unit_test(test_linux_load_refuses_an_initrd_larger_than_memory),
		cmocka_unit_test(test_linux_load_refuses_a_command_line_over_the_kernel_limit),
		cmocka_unit_test(test_long_mode_tables_identity_map_the_first_4g),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
