/*
 * blkback's section of a saved domain (include/xenkvm/blkback.h,
 * docs/SAVE-FORMAT.md): per disk its xenbus state and, when connected,
 * the ring layout it negotiated (ABI, pages and their grant references,
 * persistent grants) and per ring the backend port and private indices.
 * Grant mappings and persistent grants are not carried: the rings are
 * mapped again from their references, and a persistent grant is mapped
 * again on its first use.
 */
#include <errno.h>
#include <string.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "xenkvm/xen_abi.h"
#include <xen/io/xenbus.h>

#include "blkback.h"
#include "xenkvm/xen_state.h"

/* The shared ring's header: req_prod, req_event, rsp_prod, rsp_event. */
static uint32_t sring_word(const struct blk_ring *r, unsigned int i)
{
	return __atomic_load_n((const uint32_t *)r->pages[0].hva + i, __ATOMIC_ACQUIRE);
}

static unsigned int inflight(const struct blkback *be)
{
	unsigned int n = 0;

	for (unsigned int q = 0; q < be->nr_rings; q++)
		n += be->rings[q].connected ? be->rings[q].nr_inflight : 0;
	return n;
}

void blkback_quiesce(struct blkback *be)
{
	/* Also stops consuming: the image must not change behind the stream. */
	blk_dev_drain(be);
}

void blkback_resume(struct blkback *be)
{
	for (unsigned int q = 0; q < be->nr_rings; q++) {
		be->rings[q].stopping = false;
		if (be->rings[q].kick)   /* what the guest queued meanwhile */
			event_notifier_signal(be->rings[q].kick);
	}
}

int blkback_state_save(struct blkback *be, struct state_writer *w)
{
	bool rings = be->xb.be_state == XenbusStateConnected && be->nr_rings;
	const struct blk_ring *r0 = &be->rings[0];

	if (inflight(be)) {
		state_writer_fail(w, EBUSY, "blkback: d%u vbd %u: %u requests in flight (not quiesced)",
				  be->domid, be->devid, inflight(be));
		return -EBUSY;
	}
	for (unsigned int q = 0; q < be->nr_rings && rings; q++)
		rings = be->rings[q].connected && !be->rings[q].dead;
	state_section_begin(w, XEN_STATE_BLKBACK, XEN_STATE_BLKBACK_VERSION);
	xenbus_backend_rec_put(&be->xb, be->xb.fatal || (be->nr_rings && !rings &&
						      be->xb.be_state == XenbusStateConnected),
			       rings ? be->nr_rings : 0, w);
	if (rings) {
		state_put_u8(w, r0->abi == BLK_ABI_X86_32);
		state_put_u8(w, r0->persistent);
		state_put_u32(w, r0->nr_pages);
		for (unsigned int q = 0; q < be->nr_rings; q++) {
			const struct blk_ring *r = &be->rings[q];

			state_put_u32(w, r->be_port);
			state_put_u32(w, r->req_cons);
			state_put_u32(w, r->rsp_prod_pvt);
			for (unsigned int i = 0; i < r->nr_pages; i++)
				state_put_u32(w, r->pages[i].ref);
		}
	}
	return state_section_end(w);
}

struct ring_rec {
	uint32_t be_port, req_cons, rsp_prod_pvt;
	grant_ref_t refs[BLK_MAX_RING_PAGES];
};

static int fail(struct state_section *s, int err, const char *why, unsigned int devid)
{
	state_section_fail(s, err, "vbd %u: %s", devid, why);
	return -err;
}

/* Maps and claims the rings as the section describes them; 0 or -errno. */
static int reconnect(struct blkback *be, struct state_section *s, unsigned int nr, bool x86_32,
		     bool persistent, unsigned int nr_pages, const struct ring_rec *rec)
{
	unsigned int q;
	int rc = 0;

	for (q = 0; q < nr && !rc; q++) {
		struct blk_ring_config c = {
			.abi = x86_32 ? BLK_ABI_X86_32 : BLK_ABI_X86_64, .nr_pages = nr_pages,
			.refs = rec[q].refs, .reattach_port = rec[q].be_port,
			.persistent = persistent && be->offer_persistent,
		};
		struct blk_ring *r = &be->rings[q];
		uint32_t req_prod, rsp_prod;

		rc = blk_ring_connect(r, &c);
		if (rc) {
			state_section_fail(s, -rc, "vbd %u ring %u: mapping it again: %s", be->devid, q,
					   strerror(-rc));
			break;
		}
		r->req_cons = rec[q].req_cons;
		r->rsp_prod_pvt = rec[q].rsp_prod_pvt;
		req_prod = sring_word(r, 0);
		rsp_prod = sring_word(r, 2);
		/* Drained when saved: every consumed request has its response
		 * pushed, and the guest produced at most a ring's worth more. */
		if (r->req_cons != r->rsp_prod_pvt || rsp_prod != r->rsp_prod_pvt ||
		    req_prod - r->req_cons > r->size) {
			state_section_fail(s, EBADMSG, "vbd %u ring %u: indices req_cons %u, rsp_prod %u "
					   "(shared %u), req_prod %u do not fit a drained ring of %u",
					   be->devid, q, r->req_cons, r->rsp_prod_pvt, rsp_prod, req_prod,
					   r->size);
			rc = -EBADMSG;
			q++;
			break;
		}
	}
	if (rc)
		while (q--)
			blk_ring_disconnect(&be->rings[q]);
	return rc;
}

static int blkback_load(void *opaque, struct state_section *s)
{
	struct blkback_state_load *ctx = opaque;
	struct ring_rec rec[BLK_MAX_QUEUES];
	struct xenbus_backend_rec xr;
	uint32_t devid, nr, nr_pages = 0;
	bool x86_32 = false, persistent = false;
	struct blkback *be = NULL;
	size_t i;
	int rc;

	if (xenbus_backend_rec_get(s, &xr, "vbd"))
		return -EBADMSG;
	devid = xr.devid;
	nr = xr.nr_rings;
	for (i = 0; i < ctx->nr && i < 64; i++)
		if (ctx->disks[i] && ctx->disks[i]->devid == devid)
			break;
	if (i == ctx->nr || i >= 64)
		return fail(s, ENODEV, "no such disk in this domain's config", devid);
	if (ctx->loaded & (1ull << i))
		return fail(s, EBADMSG, "saved twice", devid);
	be = ctx->disks[i];
	if (nr > be->max_queues || (nr && xr.be_state != XenbusStateConnected))
		return fail(s, EBADMSG, "more rings than it offers, or rings while not connected", devid);
	if (nr) {
		state_get_bool(s, &x86_32);
		state_get_bool(s, &persistent);
		state_get_u32(s, &nr_pages);
		if (!state_section_failed(s) && (!nr_pages || nr_pages & (nr_pages - 1) ||
						 nr_pages > (1u << be->max_ring_order)))
			return fail(s, EBADMSG, "a ring size it does not offer", devid);
		for (uint32_t q = 0; q < nr && !state_section_failed(s); q++) {
			state_get_u32(s, &rec[q].be_port);
			state_get_u32(s, &rec[q].req_cons);
			state_get_u32(s, &rec[q].rsp_prod_pvt);
			for (uint32_t p = 0; p < nr_pages; p++)
				state_get_u32(s, &rec[q].refs[p]);
			if (!rec[q].be_port && !state_section_failed(s))
				return fail(s, EBADMSG, "a connected ring without an event channel", devid);
		}
	}
	if (state_section_failed(s))
		return -EBADMSG;
	/* Created afresh: nothing connected yet (the loop has not run). */
	if (be->nr_rings)
		return fail(s, EBUSY, "already connected", devid);
	rc = reconnect(be, s, nr, x86_32, persistent, nr_pages, rec);
	if (rc)
		return rc;
	be->nr_rings = nr;
	xenbus_backend_rec_apply(&be->xb, &xr);
	ctx->loaded |= 1ull << i;
	for (uint32_t q = 0; q < nr; q++)
		if (be->rings[q].kick)
			event_notifier_signal(be->rings[q].kick);
	return 0;
}

void blkback_state_handler(struct blkback_state_load *ctx, struct state_handler *h)
{
	ctx->loaded = 0;
	*h = (struct state_handler){ XEN_STATE_BLKBACK, XEN_STATE_BLKBACK_VERSION, "blkback",
				     ctx->nr > 0, blkback_load, ctx };
}
