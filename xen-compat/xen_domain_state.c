/*
 * The domain section (XEN_STATE_DOMAIN) and the order of xen-compat's
 * sections: the shared_info page (it is xen-compat's host page, not guest
 * RAM, so its pending/mask bits and vcpu_info slots travel here), its
 * placement and layout latch, HVM params, the callback route, each vCPU's
 * registrations and Xen timers, the balloon.  Event channels and grant
 * table follow in their own sections (evtchn.c, gnttab.c).
 *
 * Everything is checked before anything is applied, so a refused section
 * leaves the fresh domain as it was.  Timer deadlines are absolute Xen
 * system times (xen_vmm_ops.now_ns), which the VMM's clock continues
 * across the restore.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_shinfo.h"
#include "xenkvm/xen_state.h"
#include "xenkvm/xen_vcpu.h"

#define PERIODIC_MIN_NS 1000000ull   /* as VCPUOP_set_periodic_timer checks */
#define GSI_MAX 255

struct vcpu_rec {
	uint64_t vcpu_info_gpa, time_gpa[2], runstate_gpa[2];
	uint32_t runstate_split, runstate_state;
	uint64_t runstate_entry, runstate_time[4];
	uint8_t upcall_vector;
	uint64_t singleshot_ns, periodic_ns, periodic_next;
};

struct domain_rec {
	bool long_mode, cb_gsi_level, shutting_down;
	uint32_t vm_assist, shutdown_code;
	uint64_t shinfo_gfn;
	uint8_t *shinfo;
	uint64_t hvm_params[HVM_NR_PARAMS];
	uint8_t cb_type, cb_vector;
	int32_t cb_gsi;
	struct vcpu_rec *v;
	uint64_t *balloon_map;
	uint64_t nr_ballooned;
};

static void save_vcpu(struct state_writer *w, const struct xen_vcpu *v)
{
	state_put_u64(w, v->vcpu_info_gpa);
	state_put_u8(w, v->upcall_vector);
	state_put_u64(w, v->time_gpa[0]);
	state_put_u64(w, v->time_gpa[1]);
	state_put_u64(w, v->runstate_gpa[0]);
	state_put_u64(w, v->runstate_gpa[1]);
	state_put_u32(w, v->runstate_split);
	state_put_u32(w, (uint32_t)v->runstate_state);
	state_put_u64(w, v->runstate_entry);
	for (unsigned int i = 0; i < 4; i++)
		state_put_u64(w, v->runstate_time[i]);
	state_put_u64(w, v->singleshot_ns);
	state_put_u64(w, v->periodic_ns);
	state_put_u64(w, v->periodic_next);
}

static void save_balloon(struct xen_domain *d, struct state_writer *w)
{
	uint64_t nwords = d->balloon_map ? d->p.max_gfn / 64 + 1 : 0, runs = 0;

	/* As runs of given-back frames: a whole bitmap would be mostly zeros. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			state_put_u64(w, runs);
		for (uint64_t g = 0; g < nwords * 64; g++) {
			uint64_t start = g;

			if (!(d->balloon_map[g / 64] >> (g % 64) & 1))
				continue;
			while (g + 1 < nwords * 64 && (d->balloon_map[(g + 1) / 64] >> ((g + 1) % 64) & 1))
				g++;
			if (!pass) {
				runs++;
			} else {
				state_put_u64(w, start);
				state_put_u64(w, g - start + 1);
			}
		}
	}
}

static void domain_save(struct xen_domain *d, struct state_writer *w)
{
	state_section_begin(w, XEN_STATE_DOMAIN, XEN_STATE_DOMAIN_VERSION);
	/* What the fresh domain must have been built with. */
	state_put_u16(w, d->p.domid);
	state_put_u32(w, d->p.nr_vcpus);
	state_put_u64(w, d->p.ram_pages);
	state_put_u64(w, d->p.max_gfn);

	state_put_u8(w, d->long_mode);
	state_put_u32(w, d->vm_assist);
	state_put_u64(w, d->shinfo_gfn);
	state_put_bytes(w, d->shinfo, GUEST_PAGE_SIZE);
	state_put_u32(w, HVM_NR_PARAMS);
	for (unsigned int i = 0; i < HVM_NR_PARAMS; i++)
		state_put_u64(w, d->hvm_params[i]);
	state_put_u8(w, (uint8_t)d->cb_type);
	state_put_u8(w, d->cb_vector);
	state_put_u32(w, (uint32_t)d->cb_gsi);
	state_put_u8(w, d->cb_gsi_level);
	state_put_u32(w, d->shutdown_code);
	state_put_u8(w, d->shutting_down);
	for (unsigned int i = 0; i < d->p.nr_vcpus; i++)
		save_vcpu(w, &d->vcpus[i]);
	save_balloon(d, w);
	state_section_end(w);
}

int xen_domain_save(struct xen_domain *d, struct state_writer *w)
{
	pthread_mutex_lock(&d->lock);
	domain_save(d, w);
	evtchn_state_save(d, w);
	gnttab_state_save(d, w);
	pthread_mutex_unlock(&d->lock);
	return state_writer_err(w);
}

/* --- load ------------------------------------------------------------------ */

/* A registration must name guest RAM or the shared_info page (where it
 * will be), whole, inside one page. */
static bool area_ok(struct xen_domain *d, uint64_t shinfo_gfn, uint64_t gpa, uint64_t len)
{
	if (gpa == XEN_INVALID_GPA)
		return true;
	if ((gpa & (GUEST_PAGE_SIZE - 1)) + len > GUEST_PAGE_SIZE)
		return false;
	if (shinfo_gfn != XEN_INVALID_GFN && gpa >> GUEST_PAGE_SHIFT == shinfo_gfn)
		return true;
	return guest_mem_ptr(d->mem, gpa, len) != NULL;
}

static void load_vcpu(struct xen_domain *d, struct state_section *s, const struct domain_rec *r,
		      unsigned int i, struct vcpu_rec *v)
{
	uint32_t rs_size = r->long_mode ? sizeof(struct vcpu_runstate_info)
					: sizeof(struct compat_runstate_info);

	state_get_u64(s, &v->vcpu_info_gpa);
	state_get_u8(s, &v->upcall_vector);
	state_get_u64(s, &v->time_gpa[0]);
	state_get_u64(s, &v->time_gpa[1]);
	state_get_u64(s, &v->runstate_gpa[0]);
	state_get_u64(s, &v->runstate_gpa[1]);
	state_get_u32(s, &v->runstate_split);
	state_get_u32(s, &v->runstate_state);
	state_get_u64(s, &v->runstate_entry);
	for (unsigned int k = 0; k < 4; k++)
		state_get_u64(s, &v->runstate_time[k]);
	state_get_u64(s, &v->singleshot_ns);
	state_get_u64(s, &v->periodic_ns);
	state_get_u64(s, &v->periodic_next);
	if (state_section_failed(s))
		return;
	if (!area_ok(d, r->shinfo_gfn, v->vcpu_info_gpa, XEN_VI_SIZE) ||
	    (v->vcpu_info_gpa != XEN_INVALID_GPA &&
	     v->vcpu_info_gpa & (XEN_WORD_BYTES(r->long_mode) - 1)))
		state_section_fail(s, EINVAL, "vCPU %u: vcpu_info at %#llx is not in guest RAM", i,
				   (unsigned long long)v->vcpu_info_gpa);
	else if (!area_ok(d, r->shinfo_gfn, v->time_gpa[0], sizeof(struct vcpu_time_info)) ||
		 v->time_gpa[1] != XEN_INVALID_GPA)
		state_section_fail(s, EINVAL, "vCPU %u: time area at %#llx is not in guest RAM", i,
				   (unsigned long long)v->time_gpa[0]);
	else if (v->runstate_gpa[0] != XEN_INVALID_GPA &&
		 (!v->runstate_split || v->runstate_split > rs_size ||
		  !area_ok(d, r->shinfo_gfn, v->runstate_gpa[0], v->runstate_split) ||
		  (v->runstate_split < rs_size) != (v->runstate_gpa[1] != XEN_INVALID_GPA) ||
		  !area_ok(d, r->shinfo_gfn, v->runstate_gpa[1], rs_size - v->runstate_split)))
		state_section_fail(s, EINVAL, "vCPU %u: runstate area at %#llx is not in guest RAM",
				   i, (unsigned long long)v->runstate_gpa[0]);
	else if (v->runstate_state > RUNSTATE_offline)
		state_section_fail(s, EINVAL, "vCPU %u: runstate %u", i, v->runstate_state);
	else if (v->upcall_vector && v->upcall_vector < 0x10)
		state_section_fail(s, EINVAL, "vCPU %u: upcall vector %u", i, v->upcall_vector);
	else if (v->periodic_ns && v->periodic_ns < PERIODIC_MIN_NS)
		state_section_fail(s, EINVAL, "vCPU %u: periodic timer of %llu ns", i,
				   (unsigned long long)v->periodic_ns);
}

static void load_balloon(struct xen_domain *d, struct state_section *s, struct domain_rec *r)
{
	uint64_t runs, start, len;

	if (!state_get_u64(s, &runs) || !runs)
		return;
	/* Each run costs 16 bytes of the section: the count cannot lie far. */
	if (runs > (s->len - s->pos) / 16) {
		state_section_fail(s, EBADMSG, "%llu balloon runs in %zu bytes",
				   (unsigned long long)runs, s->len - s->pos);
		return;
	}
	r->balloon_map = calloc(d->p.max_gfn / 64 + 1, sizeof(uint64_t));
	if (!r->balloon_map) {
		state_section_fail(s, ENOMEM, "no memory for the balloon map");
		return;
	}
	for (uint64_t i = 0; i < runs && !state_section_failed(s); i++) {
		state_get_u64(s, &start);
		state_get_u64(s, &len);
		if (state_section_failed(s))
			return;
		if (!len || start > d->p.max_gfn || len > d->p.max_gfn - start + 1) {
			state_section_fail(s, EINVAL, "balloon run %#llx+%llu beyond frame %#llx",
					   (unsigned long long)start, (unsigned long long)len,
					   (unsigned long long)d->p.max_gfn);
			return;
		}
		for (uint64_t g = start; g < start + len; g++) {
			if (r->balloon_map[g / 64] >> (g % 64) & 1) {
				state_section_fail(s, EINVAL, "balloon runs overlap at %#llx",
						   (unsigned long long)g);
				return;
			}
			r->balloon_map[g / 64] |= 1ull << (g % 64);
			r->nr_ballooned++;
		}
	}
	if (!state_section_failed(s) && r->nr_ballooned > d->p.ram_pages)
		state_section_fail(s, EINVAL, "%llu frames ballooned out of %llu",
				   (unsigned long long)r->nr_ballooned,
				   (unsigned long long)d->p.ram_pages);
}

static void read_domain(struct xen_domain *d, struct state_section *s, struct domain_rec *r)
{
	uint16_t domid;
	uint32_t nr_vcpus, nr_params, gsi;
	uint64_t ram_pages, max_gfn;

	state_get_u16(s, &domid);
	state_get_u32(s, &nr_vcpus);
	state_get_u64(s, &ram_pages);
	state_get_u64(s, &max_gfn);
	if (state_section_failed(s))
		return;
	if (domid != d->p.domid || nr_vcpus != d->p.nr_vcpus || ram_pages != d->p.ram_pages ||
	    max_gfn != d->p.max_gfn) {
		state_section_fail(s, EINVAL,
				   "saved domain %u with %u vCPUs, %llu pages, frames up to %#llx; "
				   "this one is %u with %u vCPUs, %llu pages, frames up to %#llx",
				   domid, nr_vcpus, (unsigned long long)ram_pages,
				   (unsigned long long)max_gfn, d->p.domid, d->p.nr_vcpus,
				   (unsigned long long)d->p.ram_pages, (unsigned long long)d->p.max_gfn);
		return;
	}
	state_get_bool(s, &r->long_mode);
	state_get_u32(s, &r->vm_assist);
	state_get_u64(s, &r->shinfo_gfn);
	state_get_bytes(s, r->shinfo, GUEST_PAGE_SIZE);
	state_get_u32(s, &nr_params);
	if (state_section_failed(s))
		return;
	if (r->shinfo_gfn != XEN_INVALID_GFN && r->shinfo_gfn > d->p.max_gfn) {
		state_section_fail(s, EINVAL, "shared_info at frame %#llx, beyond %#llx",
				   (unsigned long long)r->shinfo_gfn, (unsigned long long)d->p.max_gfn);
		return;
	}
	if (nr_params > HVM_NR_PARAMS) {
		state_section_fail(s, EPROTONOSUPPORT, "%u HVM params, this build has %u", nr_params,
				   HVM_NR_PARAMS);
		return;
	}
	for (unsigned int i = 0; i < nr_params; i++)
		state_get_u64(s, &r->hvm_params[i]);
	state_get_u8(s, &r->cb_type);
	state_get_u8(s, &r->cb_vector);
	state_get_u32(s, &gsi);
	r->cb_gsi = (int32_t)gsi;
	state_get_bool(s, &r->cb_gsi_level);
	state_get_u32(s, &r->shutdown_code);
	state_get_bool(s, &r->shutting_down);
	if (state_section_failed(s))
		return;
	if (r->cb_type > XEN_CB_GSI || (r->cb_type == XEN_CB_GSI) != (r->cb_gsi >= 0) ||
	    r->cb_gsi > GSI_MAX || r->cb_gsi < -1) {
		state_section_fail(s, EINVAL, "callback type %u, GSI %d", r->cb_type, r->cb_gsi);
		return;
	}
	for (unsigned int i = 0; i < d->p.nr_vcpus && !state_section_failed(s); i++)
		load_vcpu(d, s, r, i, &r->v[i]);
	if (!state_section_failed(s))
		load_balloon(d, s, r);
}

/* Apply a checked record: the guest's registrations replayed to the VMM. */
static void apply_domain(struct xen_domain *d, struct domain_rec *r)
{
	if (d->long_mode != r->long_mode) {
		d->long_mode = r->long_mode;
		if (d->vmm->long_mode_set)
			d->vmm->long_mode_set(d->opaque, r->long_mode);
	}
	d->vm_assist = r->vm_assist;
	memcpy(d->shinfo, r->shinfo, GUEST_PAGE_SIZE);
	memcpy(d->hvm_params, r->hvm_params, sizeof(d->hvm_params));
	d->shutdown_code = r->shutdown_code;
	d->shutting_down = r->shutting_down;
	free(d->balloon_map);
	d->balloon_map = r->balloon_map;
	d->nr_ballooned = r->nr_ballooned;
	r->balloon_map = NULL;

	for (unsigned int i = 0; i < d->p.nr_vcpus; i++) {
		struct xen_vcpu *v = &d->vcpus[i];
		const struct vcpu_rec *q = &r->v[i];

		v->vcpu_info_gpa = q->vcpu_info_gpa;
		v->upcall_vector = q->upcall_vector;
		memcpy(v->time_gpa, q->time_gpa, sizeof(v->time_gpa));
		memcpy(v->runstate_gpa, q->runstate_gpa, sizeof(v->runstate_gpa));
		v->runstate_split = q->runstate_split;
		v->runstate_state = (int)q->runstate_state;
		v->runstate_entry = q->runstate_entry;
		memcpy(v->runstate_time, q->runstate_time, sizeof(v->runstate_time));
		v->singleshot_ns = q->singleshot_ns;
		v->periodic_ns = q->periodic_ns;
		v->periodic_next = q->periodic_next;
		/* A vCPU saved inside SCHEDOP_block/poll resumes as woken: both
		 * may return early, and the guest re-checks. */
		v->polling = v->blocked = false;
	}
	/* The overlay before the registrations that may point into it. */
	if (r->shinfo_gfn != XEN_INVALID_GFN) {
		if (shinfo_map(d, r->shinfo_gfn))
			pr_warn("restore: the VMM refused shared_info at %#llx\n",
				(unsigned long long)r->shinfo_gfn);
	}
	for (unsigned int i = 0; i < d->p.nr_vcpus; i++) {
		struct xen_vcpu *v = &d->vcpus[i];

		if (v->vcpu_info_gpa != XEN_INVALID_GPA && d->vmm->vcpu_info_set)
			d->vmm->vcpu_info_set(d->opaque, i, v->vcpu_info_gpa);
		if (v->time_gpa[0] != XEN_INVALID_GPA && d->vmm->vcpu_time_info_set)
			d->vmm->vcpu_time_info_set(d->opaque, i, v->time_gpa[0]);
		if (v->runstate_gpa[0] != XEN_INVALID_GPA && d->vmm->runstate_set)
			d->vmm->runstate_set(d->opaque, i, v->runstate_gpa[0]);
		if (v->upcall_vector && d->vmm->upcall_vector_set)
			d->vmm->upcall_vector_set(d->opaque, i, v->upcall_vector);
		/* Armed once the ports are back (evtchn_load_h). */
		if (v->armed_ns)
			d->vmm->timer_arm(d->opaque, i, 0);
		v->armed_ns = 0;
		shinfo_update_time(d, i);
	}
	d->cb_type = (enum xen_callback_type)r->cb_type;
	d->cb_vector = r->cb_vector;
	d->cb_gsi = r->cb_gsi;
	/* The line is the VMM's: raised again below if vCPU 0 still has an
	 * upcall pending (evtchn_state_load delivers pending upcalls). */
	d->cb_gsi_level = false;
	if (d->vmm->callback_vector_set)
		d->vmm->callback_vector_set(d->opaque, d->cb_type == XEN_CB_VECTOR ? d->cb_vector : 0);
}

static int domain_load(void *opaque, struct state_section *s)
{
	struct xen_state_load *ctx = opaque;
	struct xen_domain *d = ctx->d;
	struct domain_rec r = { 0 };

	if (ctx->have_domain) {
		state_section_fail(s, EINVAL, "a second domain section");
		return -EINVAL;
	}
	r.shinfo = malloc(GUEST_PAGE_SIZE);
	r.v = calloc(d->p.nr_vcpus, sizeof(*r.v));
	if (!r.shinfo || !r.v) {
		free(r.shinfo);
		free(r.v);
		return -ENOMEM;
	}
	pthread_mutex_lock(&d->lock);
	read_domain(d, s, &r);
	if (!state_section_failed(s) && s->pos == s->len) {
		apply_domain(d, &r);
		ctx->have_domain = true;
	}
	pthread_mutex_unlock(&d->lock);
	free(r.balloon_map);
	free(r.shinfo);
	free(r.v);
	return 0;
}

static int evtchn_load_h(void *opaque, struct state_section *s)
{
	struct xen_state_load *ctx = opaque;
	int rc;

	if (!ctx->have_domain || ctx->have_evtchn) {
		state_section_fail(s, EINVAL, "out of order (after the domain section, once)");
		return -EINVAL;
	}
	pthread_mutex_lock(&ctx->d->lock);
	rc = evtchn_state_load(ctx->d, s);
	ctx->have_evtchn = !rc && !state_section_failed(s) && s->pos == s->len;
	/* Only now can an expiry find its VIRQ_TIMER port: a deadline that
	 * passed while the guest was saved fires at once. */
	for (unsigned int i = 0; ctx->have_evtchn && i < ctx->d->p.nr_vcpus; i++)
		xen_vcpu_timer_rearm(ctx->d, i);
	pthread_mutex_unlock(&ctx->d->lock);
	return rc;
}

static int gnttab_load_h(void *opaque, struct state_section *s)
{
	struct xen_state_load *ctx = opaque;
	int rc;

	if (!ctx->have_domain) {
		state_section_fail(s, EINVAL, "out of order (after the domain section)");
		return -EINVAL;
	}
	pthread_mutex_lock(&ctx->d->lock);
	rc = gnttab_state_load(ctx->d, s);
	pthread_mutex_unlock(&ctx->d->lock);
	return rc;
}

void xen_domain_state_handlers(struct xen_domain *d, struct xen_state_load *ctx,
			       struct state_handler *h)
{
	*ctx = (struct xen_state_load){ .d = d };
	h[0] = (struct state_handler){ XEN_STATE_DOMAIN, XEN_STATE_DOMAIN_VERSION, "xen-domain", true,
				       domain_load, ctx };
	h[1] = (struct state_handler){ XEN_STATE_EVTCHN, XEN_STATE_EVTCHN_VERSION, "xen-evtchn", true, evtchn_load_h, ctx };
	h[2] = (struct state_handler){ XEN_STATE_GNTTAB, XEN_STATE_GNTTAB_VERSION, "xen-gnttab", true, gnttab_load_h, ctx };
}
