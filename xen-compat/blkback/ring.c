/*
 * blkback ring consumer.  Every request is copied off the shared ring
 * once, decoded into struct blk_req and validated on that private copy
 * (XSA-155); segment descriptors of indirect requests are copied the same
 * way.  Guest buffers are reached only through gnttab_map(): transient
 * mappings live for one request, persistent ones (feature-persistent) for
 * the connection.  I/O goes to io_uring straight from/to the mapped guest
 * pages; each request has at most one SQE in flight and walks the stages
 * RW -> FSYNC (flush/barrier) or DISCARD.  Responses are written in
 * completion order, pushed in batches, and the frontend is notified only
 * when rsp_event asks for it.
 *
 * A barrier (BLKIF_OP_WRITE_BARRIER) waits until everything consumed
 * before it has completed, and nothing after it is consumed until it
 * completed: r->held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "xenkvm/xen_abi.h"
#include <xen/io/blkif.h>

#include "blkback.h"
#include "xenkvm/xen_state.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/log.h"

/* Shared ring header words (ring.h DEFINE_RING_TYPES). */
enum { IDX_REQ_PROD, IDX_REQ_EVENT, IDX_RSP_PROD, IDX_RSP_EVENT };

unsigned int blk_entry_size(enum blk_abi abi)
{
	return abi == BLK_ABI_X86_32 ? 108 : 112;
}

uint32_t blk_ring_entries(enum blk_abi abi, unsigned int nr_pages)
{
	uint32_t n = (uint32_t)((nr_pages * GUEST_PAGE_SIZE - BLK_SRING_HDR) / blk_entry_size(abi));
	uint32_t p = 1;

	while (p * 2 <= n)
		p *= 2;
	return p;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void decode_segs(const uint8_t *p, struct blk_seg *seg, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, p += 8)
		seg[i] = (struct blk_seg){ .gref = get32(p), .first = p[4], .last = p[5] };
}

void blk_req_decode(enum blk_abi abi, const uint8_t *raw, struct blk_req *q)
{
	/* x86_32 packs the 64-bit id right after the 4-byte header. */
	unsigned int id = abi == BLK_ABI_X86_32 ? 4 : 8;

	memset(q, 0, sizeof(*q));
	q->op = raw[0];
	q->io_op = q->op;
	q->id = get64(raw + id);
	q->sector = get64(raw + id + 8);
	switch (q->op) {
	case BLKIF_OP_DISCARD:
		q->flag = raw[1];
		q->nr_sectors = get64(raw + id + 16);
		break;
	case BLKIF_OP_INDIRECT:
		q->io_op = raw[1];
		q->nr_segs = get16(raw + 2);
		for (unsigned int i = 0; i < BLK_MAX_INDIRECT_PAGES; i++)
			q->indirect[i] = get32(raw + id + 20 + 4 * i);
		break;
	default:
		q->nr_segs = raw[1];
		decode_segs(raw + id + 16, q->seg,
			    q->nr_segs < BLK_MAX_DIRECT_SEGS ? q->nr_segs : BLK_MAX_DIRECT_SEGS);
		break;
	}
}

/* ---- shared ring access: pages need not be contiguous in host memory ---- */

static volatile uint32_t *ring_idx(struct blk_ring *r, unsigned int which)
{
	return (volatile uint32_t *)r->pages[0].hva + which;
}

static size_t ring_slot(struct blk_ring *r, uint32_t i)
{
	return BLK_SRING_HDR + (size_t)(i & (r->size - 1)) * r->entry_size;
}

static void ring_copy(struct blk_ring *r, size_t off, void *buf, size_t len, bool to_ring)
{
	uint8_t *b = buf;

	while (len) {
		size_t pg = off / GUEST_PAGE_SIZE, po = off % GUEST_PAGE_SIZE;
		size_t n = GUEST_PAGE_SIZE - po < len ? GUEST_PAGE_SIZE - po : len;
		uint8_t *p = (uint8_t *)r->pages[pg].hva + po;

		if (to_ring)
			memcpy(p, b, n);
		else
			memcpy(b, p, n);
		b += n;
		off += n;
		len -= n;
	}
}

static void ring_fatal(struct blk_ring *r, const char *why, uint32_t a, uint32_t b)
{
	pr_err_rl("blkback: d%u vbd %u queue %u: %s (%u, %u); disabling device", r->be->domid,
		  r->be->devid, r->qid, why, a, b);
	r->dead = true;
	blk_dev_fatal(r->be);
}

/* Push written responses and notify if the frontend asked (rsp_event). */
static void ring_push(struct blk_ring *r)
{
	uint32_t old, new = r->rsp_prod_pvt, ev;

	if (!r->rsp_pending)
		return;
	r->rsp_pending = false;
	old = __atomic_load_n(ring_idx(r, IDX_RSP_PROD), __ATOMIC_RELAXED);
	/* Responses visible before the index that publishes them. */
	__atomic_store_n(ring_idx(r, IDX_RSP_PROD), new, __ATOMIC_RELEASE);
	/* Publish rsp_prod before reading rsp_event (pairs with the frontend's
	 * RING_FINAL_CHECK_FOR_RESPONSES). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ev = __atomic_load_n(ring_idx(r, IDX_RSP_EVENT), __ATOMIC_RELAXED);
	if ((uint32_t)(new - ev) < (uint32_t)(new - old) && r->be_port)
		evtchn_backend_notify(r->be->dom, r->be_port);
}

/* ---- persistent grants ---------------------------------------------------- */

static struct blk_pgrant *pgrant_find(struct blk_ring *r, grant_ref_t gref)
{
	struct blk_pgrant *pg = r->pgrants[gref % BLK_PGRANT_BUCKETS];

	while (pg && pg->gref != gref)
		pg = pg->next;
	return pg;
}

/* Maps gref for the connection; NULL (caller maps transiently) if the
 * table is full.  A frontend grants persistent pages writable; a
 * read-only grant is kept read-only. */
static struct blk_pgrant *pgrant_add(struct blk_ring *r, grant_ref_t gref, int *rc_r)
{
	struct blk_pgrant *pg;
	int rc;

	*rc_r = 0;
	if (r->nr_pgrants >= BLK_MAX_PGRANTS)
		return NULL;
	pg = calloc(1, sizeof(*pg));
	if (!pg)
		return NULL;
	rc = gnttab_map(r->be->dom, gref, false, &pg->map);
	if (rc == -EPERM)
		rc = gnttab_map(r->be->dom, gref, true, &pg->map);
	if (rc) {
		free(pg);
		*rc_r = rc;
		return NULL;
	}
	pg->gref = gref;
	pg->next = r->pgrants[gref % BLK_PGRANT_BUCKETS];
	r->pgrants[gref % BLK_PGRANT_BUCKETS] = pg;
	r->nr_pgrants++;
	r->be->stats.persistent++;
	return pg;
}

static void pgrant_clear(struct blk_ring *r)
{
	for (unsigned int b = 0; b < BLK_PGRANT_BUCKETS; b++) {
		while (r->pgrants[b]) {
			struct blk_pgrant *pg = r->pgrants[b];

			r->pgrants[b] = pg->next;
			gnttab_unmap(r->be->dom, &pg->map);
			free(pg);
			r->be->stats.persistent--;
		}
	}
	r->nr_pgrants = 0;
}

/* ---- request life cycle --------------------------------------------------- */

static void fl_complete(struct blk_ring *r, struct blk_inflight *fl, int16_t status)
{
	uint8_t rsp[16] = { 0 };

	for (unsigned int i = 0; i < fl->nr_maps; i++)
		gnttab_unmap(r->be->dom, &fl->maps[i]);
	fl->nr_maps = 0;
	memcpy(rsp, &fl->id, 8);
	rsp[8] = fl->rsp_op;
	memcpy(rsp + 10, &status, 2);
	ring_copy(r, ring_slot(r, r->rsp_prod_pvt),
		  rsp, r->abi == BLK_ABI_X86_32 ? 12 : 16, true);
	r->rsp_prod_pvt++;
	r->rsp_pending = true;
	if (status != BLKIF_RSP_OKAY)
		r->be->stats.errors++;
	if (r->held == fl) {
		r->held = NULL;
		r->held_started = false;
	}
	fl->stage = BLK_ST_IDLE;
	fl->next_free = r->free;
	r->free = fl;
	r->nr_inflight--;
}

static ssize_t fl_try_inline(struct blk_ring *r, struct blk_inflight *fl)
{
	struct blk_io *io = &r->be->io;

	switch (fl->stage) {
	case BLK_ST_RW:
		return blk_io_try_rw(io, fl->write, fl->iov + fl->iov_pos, fl->nr_iov - fl->iov_pos,
				     fl->offset);
	case BLK_ST_FSYNC:
		return blk_io_try_fsync(io);
	case BLK_ST_DISCARD:
		return blk_io_try_discard(io, fl->offset, fl->discard_len);
	default:
		return -EAGAIN;
	}
}

static int fl_submit(struct blk_ring *r, struct blk_inflight *fl)
{
	struct blkback *be = r->be;
	struct io_uring_sqe *sqe;
	ssize_t n = fl_try_inline(r, fl);

	if (n != -EAGAIN) {
		fl->inline_res = (int)n;   /* at most a request's bytes */
		fl->next_done = NULL;
		*r->done_tail = fl;
		r->done_tail = &fl->next_done;
		return 0;
	}
	sqe = blk_io_sqe(&be->io);

	if (!sqe)
		return -EBUSY;
	switch (fl->stage) {
	case BLK_ST_RW:
		if (fl->write)
			io_uring_prep_writev(sqe, be->io.fd, fl->iov + fl->iov_pos,
					     fl->nr_iov - fl->iov_pos, fl->offset);
		else
			io_uring_prep_readv(sqe, be->io.fd, fl->iov + fl->iov_pos,
					    fl->nr_iov - fl->iov_pos, fl->offset);
		break;
	case BLK_ST_FSYNC:
		io_uring_prep_fsync(sqe, be->io.fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_ST_DISCARD:
		io_uring_prep_fallocate(sqe, be->io.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					fl->offset, fl->discard_len);
		break;
	default:
		io_uring_prep_nop(sqe);
		break;
	}
	io_uring_sqe_set_data(sqe, fl);
	return 0;
}

/* Map one segment and append its bytes to the iovec.  BLKIF_RSP_*. */
static int16_t fl_map_seg(struct blk_ring *r, struct blk_inflight *fl, const struct blk_seg *s)
{
	struct blkback *be = r->be;
	bool to_disk = fl->write;
	struct blk_pgrant *pg = NULL;
	uint8_t *base;
	size_t len;
	int rc = 0;

	if (r->persistent) {
		pg = pgrant_find(r, s->gref);
		if (!pg)
			pg = pgrant_add(r, s->gref, &rc);
		if (rc)
			goto bad;
		if (pg && !to_disk && pg->map.readonly) {
			rc = -EPERM;
			goto bad;
		}
	}
	if (pg) {
		base = pg->map.hva;
	} else {
		rc = gnttab_map(be->dom, s->gref, to_disk, &fl->maps[fl->nr_maps]);
		if (rc)
			goto bad;
		base = fl->maps[fl->nr_maps++].hva;
	}
	base += (size_t)s->first * BLK_SECTOR;
	len = (size_t)(s->last - s->first + 1) * BLK_SECTOR;
	if (fl->nr_iov && (uint8_t *)fl->iov[fl->nr_iov - 1].iov_base +
			  fl->iov[fl->nr_iov - 1].iov_len == base) {
		fl->iov[fl->nr_iov - 1].iov_len += len;
	} else {
		fl->iov[fl->nr_iov].iov_base = base;
		fl->iov[fl->nr_iov].iov_len = len;
		fl->nr_iov++;
	}
	return BLKIF_RSP_OKAY;
bad:
	pr_err_rl("blkback: d%u vbd %u: grant %u: %s", be->domid, be->devid, s->gref,
		  strerror(-rc));
	return BLKIF_RSP_ERROR;
}

/* Copy the segment descriptors of an indirect request (once). */
static int16_t fl_read_indirect(struct blk_ring *r, struct blk_inflight *fl,
				const struct blk_req *q)
{
	static uint8_t page[GUEST_PAGE_SIZE];  /* loop thread only */
	unsigned int done = 0, i = 0;

	while (done < q->nr_segs) {
		unsigned int n = q->nr_segs - done;
		int rc;

		if (n > BLK_SEGS_PER_INDIRECT_PAGE)
			n = BLK_SEGS_PER_INDIRECT_PAGE;
		rc = gnttab_copy_from(r->be->dom, q->indirect[i], 0, page, (size_t)n * 8);
		if (rc) {
			pr_err_rl("blkback: d%u vbd %u: indirect page grant %u: %s", r->be->domid,
				  r->be->devid, q->indirect[i], strerror(-rc));
			return BLKIF_RSP_ERROR;
		}
		decode_segs(page, fl->segs + done, n);
		done += n;
		i++;
	}
	return BLKIF_RSP_OKAY;
}

/* Validate a read/write (direct or indirect) and map its buffers. */
static int16_t fl_prepare_rw(struct blk_ring *r, struct blk_inflight *fl, const struct blk_req *q,
			     const struct blk_seg *segs)
{
	struct blkback *be = r->be;
	uint64_t total = 0;
	int16_t st;

	for (unsigned int i = 0; i < q->nr_segs; i++) {
		if (segs[i].first > segs[i].last || segs[i].last >= BLK_SECTORS_PER_PAGE) {
			pr_err_rl("blkback: d%u vbd %u: bad segment %u (sectors %u..%u)", be->domid,
				  be->devid, i, segs[i].first, segs[i].last);
			return BLKIF_RSP_ERROR;
		}
		total += segs[i].last - segs[i].first + 1u;
	}
	/* A flush without data names no sectors: Linux's blkfront sends (blkif_sector_t)-1. */
	if (total && (q->sector > be->sectors || total > be->sectors - q->sector)) {
		pr_err_rl("blkback: d%u vbd %u: access beyond end (sector %llu + %llu > %llu)",
			  be->domid, be->devid, (unsigned long long)q->sector,
			  (unsigned long long)total, (unsigned long long)be->sectors);
		return BLKIF_RSP_ERROR;
	}
	fl->offset = total ? q->sector * BLK_SECTOR : 0;
	for (unsigned int i = 0; i < q->nr_segs; i++) {
		st = fl_map_seg(r, fl, &segs[i]);
		if (st != BLKIF_RSP_OKAY)
			return st;
	}
	if (fl->write)
		be->stats.wr_bytes += total * BLK_SECTOR;
	else
		be->stats.rd_bytes += total * BLK_SECTOR;
	fl->stage = q->nr_segs ? BLK_ST_RW : BLK_ST_FSYNC;
	return BLKIF_RSP_OKAY;
}

static int16_t fl_prepare(struct blk_ring *r, struct blk_inflight *fl, const struct blk_req *q)
{
	struct blkback *be = r->be;

	switch (q->op) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		if (q->nr_segs == 0 || q->nr_segs > BLK_MAX_DIRECT_SEGS)
			goto bad_nr;
		fl->write = q->op == BLKIF_OP_WRITE;
		if (fl->write && be->readonly)
			goto ro;
		return fl_prepare_rw(r, fl, q, q->seg);
	case BLKIF_OP_WRITE_BARRIER:
	case BLKIF_OP_FLUSH_DISKCACHE:
		if (be->readonly)
			return BLKIF_RSP_EOPNOTSUPP;   /* not offered */
		if (q->nr_segs > BLK_MAX_DIRECT_SEGS)
			goto bad_nr;
		fl->write = true;
		fl->need_fsync = true;
		be->stats.flushes++;
		return fl_prepare_rw(r, fl, q, q->seg);
	case BLKIF_OP_DISCARD:
		if (!be->io.can_discard)
			return BLKIF_RSP_EOPNOTSUPP;
		if (q->sector > be->sectors || q->nr_sectors > be->sectors - q->sector) {
			pr_err_rl("blkback: d%u vbd %u: discard beyond end", be->domid, be->devid);
			return BLKIF_RSP_ERROR;
		}
		be->stats.discards++;
		fl->offset = q->sector * BLK_SECTOR;
		fl->discard_len = q->nr_sectors * BLK_SECTOR;
		fl->stage = fl->discard_len ? BLK_ST_DISCARD : BLK_ST_IDLE;
		return BLKIF_RSP_OKAY;
	case BLKIF_OP_INDIRECT:
		if (!be->max_indirect)
			return BLKIF_RSP_EOPNOTSUPP;
		if (q->io_op != BLKIF_OP_READ && q->io_op != BLKIF_OP_WRITE) {
			pr_err_rl("blkback: d%u vbd %u: indirect operation %u", be->domid, be->devid,
				  q->io_op);
			return BLKIF_RSP_ERROR;
		}
		if (q->nr_segs == 0 || q->nr_segs > be->max_indirect)
			goto bad_nr;
		fl->write = q->io_op == BLKIF_OP_WRITE;
		if (fl->write && be->readonly)
			goto ro;
		if (fl_read_indirect(r, fl, q) != BLKIF_RSP_OKAY)
			return BLKIF_RSP_ERROR;
		return fl_prepare_rw(r, fl, q, fl->segs);
	default:
		pr_err_rl("blkback: d%u vbd %u: unknown operation %u", be->domid, be->devid, q->op);
		return BLKIF_RSP_EOPNOTSUPP;
	}
bad_nr:
	pr_err_rl("blkback: d%u vbd %u: bad number of segments %u for operation %u", be->domid,
		  be->devid, q->nr_segs, q->op);
	return BLKIF_RSP_ERROR;
ro:
	pr_err_rl("blkback: d%u vbd %u: write to a read-only disk", be->domid, be->devid);
	return BLKIF_RSP_ERROR;
}

static void fl_start(struct blk_ring *r, struct blk_inflight *fl)
{
	int16_t st = fl_prepare(r, fl, &fl->req);

	if (st == BLKIF_RSP_OKAY && fl->stage == BLK_ST_IDLE) {
		fl_complete(r, fl, BLKIF_RSP_OKAY);   /* nothing to do (empty discard) */
		return;
	}
	if (st == BLKIF_RSP_OKAY && fl_submit(r, fl))
		st = BLKIF_RSP_ERROR;
	if (st != BLKIF_RSP_OKAY)
		fl_complete(r, fl, st);
}

static void ring_handle(struct blk_ring *r, const uint8_t *raw)
{
	struct blk_inflight *fl = r->free;

	/* Cannot be empty: at most `size` requests are unanswered. */
	r->free = fl->next_free;
	r->nr_inflight++;
	blk_req_decode(r->abi, raw, &fl->req);
	fl->id = fl->req.id;
	/* blkfront checks the response's operation against the request's,
	 * using indirect_op for indirect requests. */
	fl->rsp_op = fl->req.io_op;
	fl->stage = BLK_ST_IDLE;
	fl->write = fl->need_fsync = false;
	fl->nr_iov = fl->iov_pos = fl->nr_maps = 0;
	r->be->stats.requests++;
	if (fl->req.op == BLKIF_OP_WRITE_BARRIER) {
		r->held = fl;
		r->held_started = false;
		if (r->nr_inflight > 1)
			return;   /* started once everything before it completed */
		r->held_started = true;
	}
	fl_start(r, fl);
}

/* Completes what fl_submit() did inline; true if there was any. */
static bool ring_complete_inline(struct blk_ring *r)
{
	bool any = false;

	while (r->done_head) {
		struct blk_inflight *fl = r->done_head;

		r->done_head = fl->next_done;
		if (!r->done_head)
			r->done_tail = &r->done_head;
		blk_ring_io_done(r->be, fl, fl->inline_res);   /* may queue more */
		any = true;
	}
	return any;
}

/* One pass over the ring: start a barrier that became due, consume. */
static void ring_consume(struct blk_ring *r)
{
	uint8_t raw[112];

	if (r->held && !r->held_started && r->nr_inflight == 1) {
		r->held_started = true;
		fl_start(r, r->held);
	}
	while (!r->dead && !r->stopping && !r->held) {
		uint32_t rp = __atomic_load_n(ring_idx(r, IDX_REQ_PROD), __ATOMIC_ACQUIRE);

		/* More unanswered requests than slots, or req_prod moved back:
		 * the frontend is lying. */
		if (rp - r->rsp_prod_pvt > r->size || rp - r->req_cons > r->size) {
			ring_fatal(r, "bogus req_prod", rp, r->req_cons);
			break;
		}
		while (r->req_cons != rp && !r->held && !r->dead) {
			if (r->req_cons - r->rsp_prod_pvt >= r->size)
				break;
			ring_copy(r, ring_slot(r, r->req_cons), raw, r->entry_size, false);
			r->req_cons++;
			ring_handle(r, raw);
		}
		if (r->req_cons != rp || r->held || r->dead)
			break;   /* resumed from blk_rings_flush() */
		/* RING_FINAL_CHECK_FOR_REQUESTS: ask for an event, then look again
		 * so a request produced meanwhile is not left without one. */
		__atomic_store_n(ring_idx(r, IDX_REQ_EVENT), r->req_cons + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(ring_idx(r, IDX_REQ_PROD), __ATOMIC_ACQUIRE) == r->req_cons)
			break;
	}
}

void blk_ring_process(struct blk_ring *r)
{
	if (!r->connected)
		return;
	/* Inline completions free slots and may make a barrier due: go round
	 * until a pass completes nothing, then answer the whole batch. */
	do
		ring_consume(r);
	while (ring_complete_inline(r));
	blk_io_submit(&r->be->io);
	ring_push(r);
}

void blk_ring_io_done(void *opaque, void *tag, int res)
{
	struct blkback *be = opaque;
	struct blk_inflight *fl = tag;
	struct blk_ring *r;
	int16_t st = BLKIF_RSP_OKAY;

	(void)be;
	if (!fl)
		return;
	r = fl->ring;
	switch (fl->stage) {
	case BLK_ST_RW:
		if (res < 0) {
			pr_err_rl("blkback: d%u vbd %u: %s at %llu: %s", r->be->domid, r->be->devid,
				  fl->write ? "write" : "read", (unsigned long long)fl->offset,
				  strerror(-res));
			st = BLKIF_RSP_ERROR;
			break;
		}
		fl->offset += (unsigned int)res;
		for (size_t left = (size_t)res; left && fl->iov_pos < fl->nr_iov;) {
			struct iovec *v = &fl->iov[fl->iov_pos];

			if (left >= v->iov_len) {
				left -= v->iov_len;
				fl->iov_pos++;
			} else {
				v->iov_base = (uint8_t *)v->iov_base + left;
				v->iov_len -= left;
				left = 0;
			}
		}
		if (fl->iov_pos < fl->nr_iov) {
			/* Short transfer: carry on, unless nothing moved (EOF). */
			if (res == 0 || fl_submit(r, fl))
				st = BLKIF_RSP_ERROR;
			else
				return;
			break;
		}
		if (fl->need_fsync) {
			fl->stage = BLK_ST_FSYNC;
			if (fl_submit(r, fl) == 0)
				return;
			st = BLKIF_RSP_ERROR;
		}
		break;
	case BLK_ST_FSYNC:
		if (res < 0) {
			pr_err_rl("blkback: d%u vbd %u: flush: %s", r->be->domid, r->be->devid,
				  strerror(-res));
			st = BLKIF_RSP_ERROR;
		}
		break;
	case BLK_ST_DISCARD:
		if (res == -EOPNOTSUPP || res == -ENOTSUP) {
			r->be->io.can_discard = false;
			st = BLKIF_RSP_EOPNOTSUPP;
		} else if (res < 0) {
			st = BLKIF_RSP_ERROR;
		}
		break;
	default:
		break;
	}
	fl_complete(r, fl, st);
}

void blk_rings_flush(struct blkback *be)
{
	for (unsigned int q = 0; q < be->nr_rings; q++)
		blk_ring_process(&be->rings[q]);
	blk_io_submit(&be->io);
}

/* ---- connection ----------------------------------------------------------- */

static void blk_ring_evtchn(void *opaque, evtchn_port_t port)
{
	struct blk_ring *r = opaque;

	(void)port;
	/* A vCPU's thread (a send that exits) or the loop's own (KVM's
	 * eventfd), no locks either way: the rings run on the loop, at the
	 * end of this round when already there. */
	if (r->kick)
		event_notifier_signal(r->kick);
}

static void blk_ring_free_slots(struct blk_ring *r)
{
	if (r->slots) {
		for (uint32_t i = 0; i < r->size; i++) {
			free(r->slots[i].maps);
			free(r->slots[i].segs);
			free(r->slots[i].iov);
		}
	}
	free(r->slots);
	r->slots = NULL;
	r->free = NULL;
}

int blk_ring_connect(struct blk_ring *r, const struct blk_ring_config *c)
{
	struct blkback *be = r->be;
	unsigned int segs = be->max_segs;
	int rc = 0;

	if (r->connected)
		return -EBUSY;
	if (!c->nr_pages || c->nr_pages > BLK_MAX_RING_PAGES || (c->nr_pages & (c->nr_pages - 1)))
		return -EINVAL;
	r->nr_pages = 0;
	for (unsigned int i = 0; i < c->nr_pages; i++) {
		rc = gnttab_map(be->dom, c->refs[i], false, &r->pages[i]);
		if (rc) {
			pr_err_rl("blkback: d%u vbd %u: ring page grant %u: %s", be->domid,
				  be->devid, c->refs[i], strerror(-rc));
			goto fail;
		}
		r->nr_pages++;
	}
	r->abi = c->abi;
	r->entry_size = blk_entry_size(c->abi);
	r->size = blk_ring_entries(c->abi, c->nr_pages);
	r->slots = calloc(r->size, sizeof(*r->slots));
	if (!r->slots) {
		rc = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < r->size; i++) {
		struct blk_inflight *fl = &r->slots[i];

		fl->ring = r;
		fl->maps = calloc(segs, sizeof(*fl->maps));
		fl->segs = calloc(segs, sizeof(*fl->segs));
		fl->iov = calloc(segs, sizeof(*fl->iov));
		if (!fl->maps || !fl->segs || !fl->iov) {
			rc = -ENOMEM;
			goto fail;
		}
		fl->next_free = r->free;
		r->free = fl;
	}
	r->req_cons = r->rsp_prod_pvt = 0;
	r->nr_inflight = 0;
	r->held = NULL;
	r->done_head = NULL;
	r->done_tail = &r->done_head;
	r->held_started = r->dead = r->stopping = r->rsp_pending = false;
	r->persistent = c->persistent;
	r->be_port = 0;
	if (c->reattach_port) {
		rc = evtchn_backend_reattach(be->dom, c->reattach_port, blk_ring_evtchn, r);
		if (rc) {
			pr_err_rl("blkback: d%u vbd %u: restored backend port %u: %s", be->domid,
				  be->devid, c->reattach_port, strerror(-rc));
			goto fail;
		}
		r->be_port = c->reattach_port;
	} else if (c->guest_port) {
		rc = evtchn_backend_bind(be->dom, c->guest_port, blk_ring_evtchn, r, &r->be_port);
		if (rc) {
			pr_err_rl("blkback: d%u vbd %u: event channel %u: %s", be->domid, be->devid,
				  c->guest_port, strerror(-rc));
			r->be_port = 0;
			goto fail;
		}
	}
	r->connected = true;
	return 0;
fail:
	blk_ring_free_slots(r);
	for (unsigned int i = 0; i < r->nr_pages; i++)
		gnttab_unmap(be->dom, &r->pages[i]);
	r->nr_pages = 0;
	return rc;
}

void blk_ring_disconnect(struct blk_ring *r)
{
	struct blkback *be = r->be;

	if (!r->connected)
		return;
	ring_push(r);
	if (r->be_port)
		evtchn_backend_close(be->dom, r->be_port);
	r->be_port = 0;
	pgrant_clear(r);
	blk_ring_free_slots(r);
	for (unsigned int i = 0; i < r->nr_pages; i++)
		gnttab_unmap(be->dom, &r->pages[i]);
	r->nr_pages = 0;
	r->connected = false;
}

/* ---- the device without XenStore (tests, fuzzer) --------------------------- */

void blk_dev_fatal(struct blkback *be)
{
	xenbus_backend_fatal(&be->xb);
}

static unsigned int blk_dev_inflight(struct blkback *be)
{
	unsigned int n = 0;

	for (unsigned int q = 0; q < be->nr_rings; q++)
		n += be->rings[q].connected ? be->rings[q].nr_inflight : 0;
	return n;
}

void blk_dev_drain(struct blkback *be)
{
	for (unsigned int q = 0; q < be->nr_rings; q++)
		be->rings[q].stopping = true;
	while (blk_dev_inflight(be)) {
		if (be->io.inflight) {
			if (blk_io_wait_one(&be->io, blk_ring_io_done, be))
				break;
		}
		blk_rings_flush(be);   /* starts a held barrier, pushes responses */
		if (!be->io.inflight && blk_dev_inflight(be)) {
			pr_err_rl("blkback: d%u vbd %u: %u requests stuck", be->domid, be->devid,
				  blk_dev_inflight(be));
			break;
		}
	}
}

int blk_dev_init(struct blkback *be, struct xen_domain *dom, const char *path, const char *format,
		 bool readonly, bool direct, unsigned int max_indirect)
{
	int rc;

	memset(be, 0, sizeof(*be));
	be->dom = dom;
	be->io.fd = be->io.efd = -1;
	rc = blk_io_open(&be->io, path, format, readonly, direct, 256);
	if (rc)
		return rc;
	be->readonly = readonly;
	be->sectors = be->io.size / BLK_SECTOR;
	be->max_indirect = max_indirect;
	be->max_segs = max_indirect > BLK_MAX_DIRECT_SEGS ? max_indirect : BLK_MAX_DIRECT_SEGS;
	be->nr_rings = 1;
	for (unsigned int q = 0; q < BLK_MAX_QUEUES; q++) {
		be->rings[q].be = be;
		be->rings[q].qid = q;
	}
	return 0;
}

void blk_dev_fini(struct blkback *be)
{
	blk_dev_drain(be);
	for (unsigned int q = 0; q < BLK_MAX_QUEUES; q++)
		blk_ring_disconnect(&be->rings[q]);
	blk_io_close(&be->io);
}
