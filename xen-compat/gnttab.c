/*
 * Grant table v1.  The frames are host pages owned here; the guest places
 * them with XENMEM_add_to_physmap(XENMAPSPACE_grant_table) and the table
 * grows on demand up to max_frames, as in Xen.
 *
 * A backend mapping a grant (gnttab_map) must leave a trace the frontend
 * can see: GTF_reading (plus GTF_writing for a writable mapping) set in the
 * shared entry with compare-and-swap on the flags+domid word, checking
 * type, domid and GTF_readonly in the same step, so a frontend revoking the
 * grant concurrently either sees the flags or wins the race.  The flags
 * are cleared again when the last such mapping goes.  The frame number is
 * read once, after the flags are set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/gnttab.h"
#include "xenkvm/hypercall.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_guest_access.h"
#include "xenkvm/xen_state.h"

#define GNTTABOP_CMD_MASK 0xfffu /* higher bits: Xen's continuation state */
#define CAS_RETRIES 4            /* an entry changing more often is "unstable" */

int gnttab_init(struct xen_domain *d, uint32_t max_frames)
{
	struct gnttab *gt = &d->gnttab;

	if (!max_frames || max_frames > GNTTAB_MAX_FRAMES)
		return -EINVAL;
	gt->version = 1;
	gt->max_frames = max_frames;
	for (uint32_t i = 0; i < GNTTAB_MAX_FRAMES; i++)
		gt->frames[i].gfn = XEN_INVALID_GFN;
	return gnttab_frame(d, GNTTAB_INITIAL_FRAMES - 1) ? 0 : -ENOMEM;
}

void gnttab_fini(struct xen_domain *d)
{
	struct gnttab *gt = &d->gnttab;

	for (uint32_t i = 0; i < gt->nr_frames; i++) {
		free(gt->frames[i].entries);
		free(gt->frames[i].read_pins);
		free(gt->frames[i].write_pins);
	}
	gt->nr_frames = 0;
}

void *gnttab_frame(struct xen_domain *d, uint32_t idx)
{
	struct gnttab *gt = &d->gnttab;

	if (idx >= gt->max_frames)
		return NULL;
	while (gt->nr_frames <= idx) {
		struct gnttab_frame *f = &gt->frames[gt->nr_frames];

		f->entries = aligned_alloc(GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
		f->read_pins = calloc(GNTTAB_ENTRIES_PER_FRAME, sizeof(*f->read_pins));
		f->write_pins = calloc(GNTTAB_ENTRIES_PER_FRAME, sizeof(*f->write_pins));
		if (!f->entries || !f->read_pins || !f->write_pins) {
			free(f->entries);
			free(f->read_pins);
			free(f->write_pins);
			f->entries = NULL;
			f->read_pins = f->write_pins = NULL;
			return NULL;
		}
		memset(f->entries, 0, GUEST_PAGE_SIZE);
		f->gfn = XEN_INVALID_GFN;
		gt->nr_frames++;
	}
	return gt->frames[idx].entries;
}

void *gnttab_frame_at_gfn(struct xen_domain *d, uint64_t gfn)
{
	struct gnttab *gt = &d->gnttab;

	for (uint32_t i = 0; i < gt->nr_frames; i++)
		if (gt->frames[i].gfn == gfn)
			return gt->frames[i].entries;
	return NULL;
}

int gnttab_frame_map(struct xen_domain *d, uint32_t idx, uint64_t gfn)
{
	struct gnttab_frame *f;
	void *page = gnttab_frame(d, idx);
	int rc;

	if (!page)
		return idx >= d->gnttab.max_frames ? -EINVAL : -ENOMEM;
	f = &d->gnttab.frames[idx];
	if (f->gfn == gfn)
		return 0;
	if (f->gfn != XEN_INVALID_GFN)
		d->vmm->map_page(d->opaque, f->gfn, NULL);
	f->gfn = XEN_INVALID_GFN;
	rc = d->vmm->map_page(d->opaque, gfn, page);
	if (rc)
		return rc;
	f->gfn = gfn;
	return 0;
}

/* --- the hypercall ------------------------------------------------------------ */

static bool dom_is_self(const struct xen_domain *d, domid_t dom)
{
	return dom == DOMID_SELF || dom == d->p.domid;
}

static long op_query_size(struct xen_domain *d, struct xen_hcall *hc, uint64_t arg)
{
	struct gnttab_query_size q;

	if (xen_copy_from_guest(d, hc, &q, arg, sizeof(q)))
		return -EFAULT;
	if (dom_is_self(d, q.dom)) {
		q.nr_frames = d->gnttab.nr_frames;
		q.max_nr_frames = d->gnttab.max_frames;
		q.status = GNTST_okay;
	} else {
		q.status = GNTST_bad_domain;
	}
	return xen_copy_to_guest(d, hc, arg, &q, sizeof(q)) ? -EFAULT : 0;
}

static long op_setup_table(struct xen_domain *d, struct xen_hcall *hc, uint64_t arg)
{
	struct gnttab_setup_table s;
	struct compat_gnttab_setup_table c;
	uint64_t list;
	unsigned int sz = XEN_WORD_BYTES(hc->longmode);
	int16_t status = GNTST_okay;

	if (hc->longmode) {
		if (xen_copy_from_guest(d, hc, &s, arg, sizeof(s)))
			return -EFAULT;
		list = (uint64_t)(uintptr_t)s.frame_list.p;
	} else {
		if (xen_copy_from_guest(d, hc, &c, arg, sizeof(c)))
			return -EFAULT;
		s.dom = c.dom;
		s.nr_frames = c.nr_frames;
		list = c.frame_list;
	}
	if (!dom_is_self(d, s.dom))
		status = GNTST_bad_domain;
	else if (s.nr_frames > d->gnttab.max_frames || (s.nr_frames && !gnttab_frame(d, s.nr_frames - 1)))
		status = GNTST_general_error;
	/* For a translated guest the "frames" are where it mapped them. */
	for (uint32_t i = 0; status == GNTST_okay && i < s.nr_frames; i++) {
		uint64_t gfn = d->gnttab.frames[i].gfn;

		if (!hc->longmode && gfn == XEN_INVALID_GFN)
			gfn = UINT32_MAX;
		if (xen_copy_to_guest(d, hc, list + (uint64_t)i * sz, &gfn, sz))
			return -EFAULT;
	}
	if (hc->longmode) {
		s.status = status;
		return xen_copy_to_guest(d, hc, arg, &s, sizeof(s)) ? -EFAULT : 0;
	}
	c.status = status;
	return xen_copy_to_guest(d, hc, arg, &c, sizeof(c)) ? -EFAULT : 0;
}

long gnttab_hcall(struct xen_domain *d, struct xen_hcall *hc)
{
	unsigned int cmd = (unsigned int)(hc->args[0] & GNTTABOP_CMD_MASK);
	uint64_t arg = hc->args[1], count = hc->args[2];

	switch (cmd) {
	case GNTTABOP_query_size:
		return count != 1 ? -EINVAL : op_query_size(d, hc, arg);
	case GNTTABOP_setup_table:
		return count != 1 ? -EINVAL : op_setup_table(d, hc, arg);
	case GNTTABOP_set_version: {
		struct gnttab_set_version v;
		long rc = 0;

		if (count != 1)
			return -EINVAL;
		if (xen_copy_from_guest(d, hc, &v, arg, sizeof(v)))
			return -EFAULT;
		/* Version 2 is not offered (max_grant_version=1): Linux then
		 * stays on v1.  The reply always carries the version in force. */
		if (v.version != 1)
			rc = -EINVAL;
		v.version = d->gnttab.version;
		if (xen_copy_to_guest(d, hc, arg, &v, sizeof(v)))
			rc = -EFAULT;
		return rc;
	}
	case GNTTABOP_get_version: {
		struct gnttab_get_version v;

		if (count != 1)
			return -EINVAL;
		if (xen_copy_from_guest(d, hc, &v, arg, sizeof(v)))
			return -EFAULT;
		if (!dom_is_self(d, v.dom))
			return v.dom == 0 ? -EPERM : -ESRCH;
		v.version = d->gnttab.version;
		return xen_copy_to_guest(d, hc, arg, &v, sizeof(v)) ? -EFAULT : 0;
	}
	default:
		/* map/unmap/copy/transfer: a guest acting as a backend itself. */
		return xen_hcall_unknown_subop(d, hc, cmd);
	}
}

/* --- backend API ---------------------------------------------------------------- */

static struct gnttab_frame *ref_frame(struct xen_domain *d, grant_ref_t ref, uint32_t *slot_r)
{
	uint32_t idx = ref / GNTTAB_ENTRIES_PER_FRAME;

	if (idx >= d->gnttab.nr_frames)
		return NULL;
	*slot_r = ref % GNTTAB_ENTRIES_PER_FRAME;
	return &d->gnttab.frames[idx];
}

/* flags (low half) and domid (high half) of an entry as one atomic word. */
static uint32_t *entry_word(struct grant_entry_v1 *e)
{
	return (uint32_t *)(void *)e;
}

static void release_flags(struct gnttab_frame *f, uint32_t slot, bool readonly)
{
	uint32_t clear = 0;

	if (!readonly && --f->write_pins[slot] == 0)
		clear |= GTF_writing;
	if (--f->read_pins[slot] == 0)
		clear |= GTF_reading;
	if (clear)
		__atomic_fetch_and(entry_word(&f->entries[slot]), ~clear, __ATOMIC_SEQ_CST);
}

static int map_locked(struct xen_domain *d, grant_ref_t ref, bool readonly,
		      struct gnttab_mapping *m)
{
	struct gnttab_frame *f;
	struct grant_entry_v1 *e;
	uint32_t slot, old, want, check, frame;
	unsigned int tries;
	void *hva;

	f = ref_frame(d, ref, &slot);
	if (!f)
		return -EINVAL;
	if (f->read_pins[slot] == UINT16_MAX)
		return -EBUSY;
	e = &f->entries[slot];
	check = GTF_type_mask | (readonly ? 0 : GTF_readonly);
	want = GTF_reading | (readonly ? 0 : GTF_writing);
	old = __atomic_load_n(entry_word(e), __ATOMIC_SEQ_CST);
	for (tries = 0;; tries++) {
		uint16_t flags = (uint16_t)old, domid = (uint16_t)(old >> 16);

		if ((flags & GTF_type_mask) != GTF_permit_access || domid != 0)
			return -EACCES;
		if ((flags & check) != GTF_permit_access)
			return -EPERM;
		if (__atomic_compare_exchange_n(entry_word(e), &old, old | want, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			break;
		if (tries == CAS_RETRIES)
			return -EAGAIN;
	}
	f->read_pins[slot]++;
	if (!readonly)
		f->write_pins[slot]++;
	frame = __atomic_load_n(&e->frame, __ATOMIC_SEQ_CST);
	hva = xen_gpa_ptr(d, (uint64_t)frame << GUEST_PAGE_SHIFT, GUEST_PAGE_SIZE);
	if (!hva) {
		release_flags(f, slot, readonly);
		return -EFAULT;
	}
	*m = (struct gnttab_mapping){ .ref = ref, .readonly = readonly, .gfn = frame, .hva = hva };
	d->gnttab.nr_maps++;
	return 0;
}

static void unmap_locked(struct xen_domain *d, struct gnttab_mapping *m)
{
	struct gnttab_frame *f;
	uint32_t slot;

	if (!m->hva)
		return;
	f = ref_frame(d, m->ref, &slot);
	if (f && f->read_pins[slot] && (m->readonly || f->write_pins[slot])) {
		release_flags(f, slot, m->readonly);
		d->gnttab.nr_maps--;
	}
	m->hva = NULL;
}

int gnttab_map(struct xen_domain *d, grant_ref_t ref, bool readonly, struct gnttab_mapping *m_r)
{
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = map_locked(d, ref, readonly, m_r);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

void gnttab_unmap(struct xen_domain *d, struct gnttab_mapping *m)
{
	pthread_mutex_lock(&d->lock);
	unmap_locked(d, m);
	pthread_mutex_unlock(&d->lock);
}

static int copy_grant(struct xen_domain *d, grant_ref_t ref, size_t offset, void *buf,
		      size_t len, bool to_guest)
{
	struct gnttab_mapping m;
	int rc;

	if (offset > GUEST_PAGE_SIZE || len > GUEST_PAGE_SIZE - offset)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	rc = map_locked(d, ref, !to_guest, &m);
	if (!rc) {
		if (to_guest)
			memcpy((uint8_t *)m.hva + offset, buf, len);
		else
			memcpy(buf, (uint8_t *)m.hva + offset, len);
		unmap_locked(d, &m);
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int gnttab_copy_from(struct xen_domain *d, grant_ref_t ref, size_t offset, void *dst, size_t len)
{
	return copy_grant(d, ref, offset, dst, len, false);
}

int gnttab_copy_to(struct xen_domain *d, grant_ref_t ref, size_t offset, const void *src,
		   size_t len)
{
	return copy_grant(d, ref, offset, (void *)src, len, true);
}

/* --- save / restore (XEN_STATE_GNTTAB) -------------------------------------------
 * Version, size and placement of the table, and the frames' contents (host
 * pages, not guest RAM).  Backend mappings are this process's: they are
 * not carried, and GTF_reading/GTF_writing are cleared on load, so a
 * backend restoring its connection maps its grants again with gnttab_map(). */

void gnttab_state_save(struct xen_domain *d, struct state_writer *w)
{
	const struct gnttab *gt = &d->gnttab;

	state_section_begin(w, XEN_STATE_GNTTAB, XEN_STATE_GNTTAB_VERSION);
	state_put_u32(w, gt->version);
	state_put_u32(w, gt->max_frames);
	state_put_u32(w, gt->nr_frames);
	for (uint32_t i = 0; i < gt->nr_frames; i++) {
		state_put_u64(w, gt->frames[i].gfn);
		state_put_bytes(w, gt->frames[i].entries, GUEST_PAGE_SIZE);
	}
	state_section_end(w);
}

int gnttab_state_load(struct xen_domain *d, struct state_section *s)
{
	struct gnttab *gt = &d->gnttab;
	uint32_t version = 0, max_frames = 0, nr = 0;
	uint64_t gfn[GNTTAB_MAX_FRAMES];
	const size_t first = s->pos;

	state_get_u32(s, &version);
	state_get_u32(s, &max_frames);
	state_get_u32(s, &nr);
	if (state_section_failed(s))
		return 0;
	if (version != 1) {
		state_section_fail(s, EPROTONOSUPPORT, "grant table version %u (only 1 here)", version);
		return 0;
	}
	if (max_frames != gt->max_frames || !nr || nr > max_frames) {
		state_section_fail(s, EINVAL, "%u of at most %u frames; this domain allows %u", nr,
				   max_frames, gt->max_frames);
		return 0;
	}
	if (gt->nr_maps || gt->nr_frames > nr) {
		state_section_fail(s, EBUSY, "the domain is not fresh (%u frames, %u mappings)",
				   gt->nr_frames, gt->nr_maps);
		return 0;
	}
	/* Check every placement before changing anything. */
	for (uint32_t i = 0; i < nr && !state_section_failed(s); i++) {
		state_get_u64(s, &gfn[i]);
		if (s->len - s->pos < GUEST_PAGE_SIZE) {
			state_section_fail(s, EBADMSG, "truncated in frame %u", i);
			break;
		}
		s->pos += GUEST_PAGE_SIZE;
		if (gfn[i] == XEN_INVALID_GFN)
			continue;
		if (gfn[i] > d->p.max_gfn || gfn[i] == d->shinfo_gfn)
			state_section_fail(s, EINVAL, "frame %u at %#llx: not a frame of this guest%s",
					   i, (unsigned long long)gfn[i],
					   gfn[i] == d->shinfo_gfn ? " (shared_info is there)" : "");
		for (uint32_t k = 0; k < i; k++)
			if (gfn[k] == gfn[i])
				state_section_fail(s, EINVAL, "frames %u and %u both at %#llx", k, i,
						   (unsigned long long)gfn[i]);
	}
	if (state_section_failed(s) || s->pos != s->len)
		return 0;
	if (!gnttab_frame(d, nr - 1)) {
		state_section_fail(s, ENOMEM, "no memory for %u frames", nr);
		return 0;
	}
	s->pos = first + 12;
	for (uint32_t i = 0; i < nr; i++) {
		struct grant_entry_v1 *e = gt->frames[i].entries;
		uint64_t g;

		state_get_u64(s, &g);
		state_get_bytes(s, e, GUEST_PAGE_SIZE);
		for (size_t k = 0; k < GNTTAB_ENTRIES_PER_FRAME; k++)
			e[k].flags &= (uint16_t)~(GTF_reading | GTF_writing);
		if (gfn[i] == XEN_INVALID_GFN) {
			if (gt->frames[i].gfn != XEN_INVALID_GFN)
				d->vmm->map_page(d->opaque, gt->frames[i].gfn, NULL);
			gt->frames[i].gfn = XEN_INVALID_GFN;
		} else if (gnttab_frame_map(d, i, gfn[i])) {
			state_section_fail(s, EIO, "the VMM refused frame %u at %#llx", i,
					   (unsigned long long)gfn[i]);
			return 0;
		}
	}
	return 0;
}
