/* Guest RAM mapping and bounds-checked accessors (see memory.h). */
#include "vmm/memory.h"
#include "common/error.h"
#include "common/util.h"

#include <stdlib.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define GM_HUGE_PAGE (2ULL << 20)

/* Map a region 2 MiB-aligned and ask for transparent huge pages: the host then
 * backs the guest with 2 MiB pages and KVM maps them as such, so the guest
 * takes 512 times fewer nested-paging faults while it touches its memory. */
static int gm_map_region(struct guest_mem *gm, uint64_t gpa, uint64_t size)
{
	uint8_t *p, *aligned;
	size_t head, tail;

	if (gm->nregions >= GM_MAX_REGIONS)
		return err_set(ERR_INTERNAL, "too many guest memory regions");
	p = mmap(NULL, size + GM_HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return err_set_errno(ERR_NOMEM, errno, "cannot map %llu MiB of guest memory",
				     (unsigned long long)(size >> 20));
	aligned = (uint8_t *)ALIGN_UP((uintptr_t)p, GM_HUGE_PAGE);
	head = (size_t)(aligned - p);
	tail = GM_HUGE_PAGE - head;
	if (head)
		munmap(p, head);
	if (tail)
		munmap(aligned + size, tail);
	if (!getenv("VIREO_NO_THP"))
		madvise(aligned, size, MADV_HUGEPAGE);
	gm->regions[gm->nregions++] = (struct gm_region){ .gpa = gpa, .size = size, .host = aligned };
	gm->ram_size += size;
	return 0;
}

int gm_init(struct guest_mem *gm, uint64_t size)
{
	uint64_t low = size < GM_HOLE_START ? size : GM_HOLE_START;

	memset(gm, 0, sizeof(*gm));
	if (size < (1ULL << 20) || (size & 0xfff))
		return err_set(ERR_INVALID, "guest memory size %llu is not a multiple of 4 KiB of at least 1 MiB",
			       (unsigned long long)size);
	if (gm_map_region(gm, 0, low) < 0)
		return -1;
	if (size > low && gm_map_region(gm, GM_HOLE_END, size - low) < 0) {
		gm_destroy(gm);
		return -1;
	}
	return 0;
}

int gm_init_fake(struct guest_mem *gm, uint64_t gpa, void *buf, uint64_t size)
{
	memset(gm, 0, sizeof(*gm));
	gm->regions[0] = (struct gm_region){ .gpa = gpa, .size = size, .host = buf, .node = -1 };
	gm->nregions = 1;
	gm->ram_size = size;
	return 0;
}

void gm_destroy(struct guest_mem *gm)
{
	for (unsigned i = 0; i < gm->nregions; i++)
		if (gm->regions[i].node != -1) /* -1 marks a fake (caller-owned) region */
			munmap(gm->regions[i].host, gm->regions[i].size);
	memset(gm, 0, sizeof(*gm));
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		return NULL;
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

bool gm_range_valid(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	return gm_ptr(gm, gpa, len) != NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *buf, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return err_set(ERR_GUEST, "guest read of %llu bytes at 0x%llx is outside RAM",
			       (unsigned long long)len, (unsigned long long)gpa);
	memcpy(buf, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return err_set(ERR_GUEST, "guest write of %llu bytes at 0x%llx is outside RAM",
			       (unsigned long long)len, (unsigned long long)gpa);
	memcpy(p, buf, len);
	return 0;
}
