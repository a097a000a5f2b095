/* Grant table v1: the hypercall side and the backend map/unmap/copy API. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "cunit_run.h"
#include "xen_fake_vmm.h"
#include "xenkvm/gnttab.h"

#define ARG 0x2000ull

static struct xen_fake F;

static int setup(void)
{
	return xen_fake_init(&F, 1);
}

static int teardown(void)
{
	xen_fake_fini(&F);
	return 0;
}

static long gnt(bool lm, unsigned int cmd, void *op, size_t len, unsigned int count)
{
	long rc;

	memcpy(xen_fake_gpa(&F, ARG), op, len);
	rc = lm ? xen_fake_call64(&F, 0, __HYPERVISOR_grant_table_op, cmd, ARG, count)
		: xen_fake_call32(&F, 0, __HYPERVISOR_grant_table_op, cmd, ARG, count);
	memcpy(op, xen_fake_gpa(&F, ARG), len);
	return rc;
}

static long map_frame(uint64_t idx, uint64_t gfn)
{
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table,
					.idx = idx, .gpfn = gfn };

	memcpy(xen_fake_gpa(&F, ARG), &x, sizeof(x));
	return xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, ARG, 0);
}

static void test_query_version(void)
{
	struct gnttab_query_size q = { .dom = DOMID_SELF };
	struct gnttab_set_version sv = { .version = 1 };
	struct gnttab_get_version gv = { .dom = DOMID_SELF };

	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_query_size, &q, sizeof(q), 1), 0);
	CU_ASSERT_EQUAL(q.status, GNTST_okay);
	CU_ASSERT_EQUAL(q.nr_frames, GNTTAB_INITIAL_FRAMES);
	CU_ASSERT_EQUAL(q.max_nr_frames, GNTTAB_MAX_FRAMES);
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_query_size, &q, sizeof(q), 2), -EINVAL);
	q.dom = 3;
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_query_size, &q, sizeof(q), 1), 0);
	CU_ASSERT_EQUAL(q.status, GNTST_bad_domain);
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_set_version, &sv, sizeof(sv), 1), 0);
	CU_ASSERT_EQUAL(sv.version, 1);
	sv.version = 2;
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_set_version, &sv, sizeof(sv), 1), -EINVAL);
	CU_ASSERT_EQUAL(sv.version, 1); /* the version in force comes back */
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_get_version, &gv, sizeof(gv), 1), 0);
	CU_ASSERT_EQUAL(gv.version, 1);
	gv.dom = 0;
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_get_version, &gv, sizeof(gv), 1), -EPERM);
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_map_grant_ref, &gv, sizeof(gv), 1), -ENOSYS);
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_copy, &gv, sizeof(gv), 1), -ENOSYS);
}

static void test_frames(void)
{
	struct gnttab_query_size q = { .dom = DOMID_SELF };

	CU_ASSERT_EQUAL(map_frame(0, 0x200), 0);
	CU_ASSERT_PTR_EQUAL(xen_fake_overlay(&F, 0x200), F.d->gnttab.frames[0].entries);
	CU_ASSERT_EQUAL(map_frame(3, 0x203), 0); /* grows the table */
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_query_size, &q, sizeof(q), 1), 0);
	CU_ASSERT_EQUAL(q.nr_frames, 4);
	CU_ASSERT_EQUAL(map_frame(GNTTAB_MAX_FRAMES, 0x204), -EINVAL);
	CU_ASSERT_EQUAL(map_frame(XENMAPIDX_grant_table_status | 0, 0x204), -EINVAL);
	/* moving frame 0 drops its old place */
	CU_ASSERT_EQUAL(map_frame(0, 0x210), 0);
	CU_ASSERT_PTR_NULL(xen_fake_overlay(&F, 0x200));
	CU_ASSERT_PTR_EQUAL(xen_fake_overlay(&F, 0x210), F.d->gnttab.frames[0].entries);
	/* another frame put on the same gfn evicts the first */
	CU_ASSERT_EQUAL(map_frame(1, 0x210), 0);
	CU_ASSERT_EQUAL(F.d->gnttab.frames[0].gfn, XEN_INVALID_GFN);
	CU_ASSERT_PTR_EQUAL(xen_fake_overlay(&F, 0x210), F.d->gnttab.frames[1].entries);
	CU_ASSERT_EQUAL(map_frame(0, 0x200), 0);
	/* Above RAM and max_gfn, where a PVH guest without the platform
	 * device's BAR puts them (unpopulated space), but not past 64 GiB. */
	CU_ASSERT_EQUAL(map_frame(2, F.p.max_gfn + 0x100), 0);
	CU_ASSERT_PTR_EQUAL(xen_fake_overlay(&F, F.p.max_gfn + 0x100), F.d->gnttab.frames[2].entries);
	CU_ASSERT_EQUAL(map_frame(2, 1ull << 24), -EINVAL);
	/* leave frame 2 unmapped and frame 3 at 0x203 again */
	CU_ASSERT_EQUAL(map_frame(3, F.p.max_gfn + 0x100), 0);
	CU_ASSERT_EQUAL(F.d->gnttab.frames[2].gfn, XEN_INVALID_GFN);
	CU_ASSERT_EQUAL(map_frame(3, 0x203), 0);
}

static void test_setup_table(void)
{
	struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 4 };
	struct compat_gnttab_setup_table ct = { .dom = DOMID_SELF, .nr_frames = 3,
						.frame_list = 0x3000 };
	uint64_t *l64 = xen_fake_gpa(&F, 0x3000);
	uint32_t *l32 = xen_fake_gpa(&F, 0x3000);

	set_xen_guest_handle(st.frame_list, (xen_pfn_t *)(uintptr_t)0x3000);
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_setup_table, &st, sizeof(st), 1), 0);
	CU_ASSERT_EQUAL(st.status, GNTST_okay);
	CU_ASSERT_EQUAL(l64[0], 0x200);
	CU_ASSERT_EQUAL(l64[1], 0x210);
	CU_ASSERT_EQUAL(l64[2], XEN_INVALID_GFN);
	CU_ASSERT_EQUAL(l64[3], 0x203);
	memset(l32, 0, 16);
	CU_ASSERT_EQUAL(gnt(false, GNTTABOP_setup_table, &ct, sizeof(ct), 1), 0);
	CU_ASSERT_EQUAL(ct.status, GNTST_okay);
	CU_ASSERT_EQUAL(l32[0], 0x200);
	CU_ASSERT_EQUAL(l32[2], UINT32_MAX);
	CU_ASSERT_EQUAL(l32[3], 0); /* only 3 written */
	st.nr_frames = GNTTAB_MAX_FRAMES + 1;
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_setup_table, &st, sizeof(st), 1), 0);
	CU_ASSERT_EQUAL(st.status, GNTST_general_error);
	st = (struct gnttab_setup_table){ .dom = 9, .nr_frames = 1 };
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_setup_table, &st, sizeof(st), 1), 0);
	CU_ASSERT_EQUAL(st.status, GNTST_bad_domain);
	st = (struct gnttab_setup_table){ .dom = DOMID_SELF, .nr_frames = 1 };
	set_xen_guest_handle(st.frame_list, (xen_pfn_t *)(uintptr_t)0x7f0000000000ull);
	CU_ASSERT_EQUAL(gnt(true, GNTTABOP_setup_table, &st, sizeof(st), 1), -EFAULT);
}

static struct grant_entry_v1 *entry(grant_ref_t ref)
{
	return &F.d->gnttab.frames[ref / GNTTAB_ENTRIES_PER_FRAME]
			.entries[ref % GNTTAB_ENTRIES_PER_FRAME];
}

static void grant(grant_ref_t ref, domid_t dom, uint16_t flags, uint32_t frame)
{
	struct grant_entry_v1 *e = entry(ref);

	e->domid = dom;
	e->frame = frame;
	e->flags = flags;
}

static void test_backend_map(void)
{
	struct gnttab_mapping w, r, x;
	uint8_t *page = xen_fake_gpa(&F, 0x300000);

	grant(5, 0, GTF_permit_access, 0x300);
	CU_ASSERT_EQUAL(gnttab_map(F.d, 5, false, &w), 0);
	CU_ASSERT_PTR_EQUAL(w.hva, page);
	CU_ASSERT_EQUAL(w.gfn, 0x300);
	CU_ASSERT_EQUAL(entry(5)->flags, GTF_permit_access | GTF_reading | GTF_writing);
	CU_ASSERT_EQUAL(gnttab_map(F.d, 5, true, &r), 0);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 2);
	gnttab_unmap(F.d, &w);
	CU_ASSERT_EQUAL(entry(5)->flags, GTF_permit_access | GTF_reading);
	gnttab_unmap(F.d, &w); /* twice: harmless */
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 1);
	gnttab_unmap(F.d, &r);
	CU_ASSERT_EQUAL(entry(5)->flags, GTF_permit_access);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	/* read-only grants */
	grant(6, 0, GTF_permit_access | GTF_readonly, 0x301);
	CU_ASSERT_EQUAL(gnttab_map(F.d, 6, false, &x), -EPERM);
	CU_ASSERT_EQUAL(entry(6)->flags, GTF_permit_access | GTF_readonly);
	CU_ASSERT_EQUAL(gnttab_map(F.d, 6, true, &x), 0);
	gnttab_unmap(F.d, &x);
	/* granted to someone else, not a grant at all, out of range, not RAM */
	grant(7, 3, GTF_permit_access, 0x302);
	CU_ASSERT_EQUAL(gnttab_map(F.d, 7, true, &x), -EACCES);
	grant(8, 0, GTF_invalid, 0x302);
	CU_ASSERT_EQUAL(gnttab_map(F.d, 8, true, &x), -EACCES);
	grant(9, 0, GTF_accept_transfer, 0x302);
	CU_ASSERT_EQUAL(gnttab_map(F.d, 9, true, &x), -EACCES);
	CU_ASSERT_EQUAL(gnttab_map(F.d, 4 * GNTTAB_ENTRIES_PER_FRAME, true, &x), -EINVAL);
	CU_ASSERT_EQUAL(gnttab_map(F.d, UINT32_MAX, true, &x), -EINVAL);
	grant(10, 0, GTF_permit_access, 0x90000);
	CU_ASSERT_EQUAL(gnttab_map(F.d, 10, false, &x), -EFAULT);
	CU_ASSERT_EQUAL(entry(10)->flags, GTF_permit_access); /* flags undone */
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	/* in a grown frame */
	grant(3 * GNTTAB_ENTRIES_PER_FRAME + 1, 0, GTF_permit_access, FAKE_HIGH_GPA >> 12);
	CU_ASSERT_EQUAL(gnttab_map(F.d, 3 * GNTTAB_ENTRIES_PER_FRAME + 1, false, &x), 0);
	CU_ASSERT_PTR_EQUAL(x.hva, xen_fake_gpa(&F, FAKE_HIGH_GPA));
	gnttab_unmap(F.d, &x);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
}

static void test_backend_copy(void)
{
	uint8_t buf[16] = { 0 };

	grant(11, 0, GTF_permit_access, 0x310);
	CU_ASSERT_EQUAL(gnttab_copy_to(F.d, 11, 4090, "abcdef", 6), 0);
	CU_ASSERT_EQUAL(memcmp((uint8_t *)xen_fake_gpa(&F, 0x310000) + 4090, "abcdef", 6), 0);
	CU_ASSERT_EQUAL(gnttab_copy_from(F.d, 11, 4092, buf, 4), 0);
	CU_ASSERT_EQUAL(memcmp(buf, "cdef", 4), 0);
	CU_ASSERT_EQUAL(gnttab_copy_from(F.d, 11, 4093, buf, 4), -EINVAL);
	CU_ASSERT_EQUAL(gnttab_copy_from(F.d, 11, SIZE_MAX, buf, 4), -EINVAL);
	CU_ASSERT_EQUAL(entry(11)->flags, GTF_permit_access);
	grant(12, 0, GTF_permit_access | GTF_readonly, 0x311);
	CU_ASSERT_EQUAL(gnttab_copy_to(F.d, 12, 0, "x", 1), -EPERM);
	CU_ASSERT_EQUAL(gnttab_copy_from(F.d, 12, 0, buf, 1), 0);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("gnttab", setup, teardown);
	CU_add_test(s, "query_size, set/get_version", test_query_version);
	CU_add_test(s, "frames via add_to_physmap", test_frames);
	CU_add_test(s, "setup_table native and compat", test_setup_table);
	CU_add_test(s, "backend map/unmap flags", test_backend_map);
	CU_add_test(s, "backend copy", test_backend_copy);
	return cunit_run(CU_BRM_NORMAL);
}
