#include <errno.h>
#include <string.h>

#include "xenkvm/guest_mem.h"

int guest_mem_add(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva)
{
	unsigned int i;

	if (!size || (gpa | size) & (GUEST_PAGE_SIZE - 1) || gpa + size < gpa)
		return -EINVAL;
	if (gm->nr_regions == GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	for (i = 0; i < gm->nr_regions; i++) {
		const struct guest_mem_region *r = &gm->regions[i];

		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return -EINVAL;
	}
	gm->regions[gm->nr_regions++] = (struct guest_mem_region){ gpa, size, hva };
	return 0;
}

void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < gm->nr_regions; i++) {
		const struct guest_mem_region *r = &gm->regions[i];

		/* Written so that no sum can overflow on hostile gpa/len. */
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len)
{
	const void *p = guest_mem_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len)
{
	void *p = guest_mem_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}
