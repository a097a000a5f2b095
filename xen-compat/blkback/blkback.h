/*
 * blkback internals: the device (xenbus.c), its rings (ring.c) and its
 * backing store (io.c).  Tests and the fuzzer include this to drive the
 * ring consumer synchronously.
 *
 * Ring layouts (bytes; blkif.h and Linux's packed definitions):
 *                        x86_64 (native)      x86_32
 *   sring header         64                   64
 *   entry (req|rsp)      112                  108
 *   rw:  op,nr,handle    0,1,2                0,1,2
 *        id,sector,seg   8,16,24              4,12,20
 *   discard: flag        1                    1
 *        id,sector,nr    8,16,24              4,12,20
 *   indirect: iop,nseg16 1,2                  1,2
 *        id,sector       8,16                 4,12
 *        grefs[8]        28                   24
 *   response: id,op,st   0,8,10 (16 bytes)    0,8,10 (12 bytes)
 * A segment descriptor is {u32 gref; u8 first, last; u16 pad} in both.
 */
#ifndef XENKVM_BLKBACK_INTERNAL_H
#define XENKVM_BLKBACK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>

#include "xenkvm/blkback.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/guest_mem.h"
#include "xenkvm/xen_abi.h"
#include "xenkvm/xenbus_backend.h"

#define BLK_SECTOR            512u
#define BLK_SECTORS_PER_PAGE  8u
#define BLK_MAX_DIRECT_SEGS   11u
#define BLK_MAX_INDIRECT_PAGES 8u
#define BLK_SEGS_PER_INDIRECT_PAGE 512u
#define BLK_MAX_SEGS          (BLK_MAX_INDIRECT_PAGES * BLK_SEGS_PER_INDIRECT_PAGE)
#define BLK_MAX_RING_ORDER    4u
#define BLK_MAX_RING_PAGES    (1u << BLK_MAX_RING_ORDER)
#define BLK_MAX_QUEUES        16u
#define BLK_SRING_HDR         64u
#define BLK_MAX_PGRANTS       1056u  /* per ring, as Linux's max_persistent_grants */
#define BLK_PGRANT_BUCKETS    256u

enum blk_abi { BLK_ABI_X86_64, BLK_ABI_X86_32 };

/* ---- io.c: the backing store ------------------------------------------- */

struct blk_io {
	int fd;
	int efd;               /* eventfd io_uring signals completions on */
	uint64_t size;         /* bytes */
	unsigned int logical_block, physical_block;
	bool readonly, direct, is_bdev, can_discard;
	/* Transfers tried on the I/O thread before io_uring (see io.c). */
	bool memory_backed;    /* tmpfs/ramfs: everything inline, it never waits for a device */
	bool nowait_rd, nowait_wr; /* RWF_NOWAIT attempts still worth making */
	struct io_uring uring;
	bool uring_ok;
	unsigned int inflight; /* submitted, CQE not yet reaped */
};

/* Opens `path` (raw only; refuses known image formats), sets up io_uring
 * with `depth` entries and an eventfd.  0 or -errno with a message. */
int blk_io_open(struct blk_io *io, const char *path, const char *format, bool readonly,
		bool direct, unsigned int depth);
/* Waits for outstanding I/O (ignoring its results), then closes. */
void blk_io_close(struct blk_io *io);
/* An SQE, submitting queued ones if the SQ is full; NULL if none. */
struct io_uring_sqe *blk_io_sqe(struct blk_io *io);
void blk_io_submit(struct blk_io *io);
typedef void blk_io_done_fn(void *opaque, void *tag, int res);
/* Handles every CQE available now; returns how many. */
unsigned int blk_io_reap(struct blk_io *io, blk_io_done_fn *fn, void *opaque);
/* Blocks until one CQE is available and handles what is there. 0/-errno. */
int blk_io_wait_one(struct blk_io *io, blk_io_done_fn *fn, void *opaque);
/* Clears the eventfd counter. */
void blk_io_ack(struct blk_io *io);
/*
 * The transfer done right here when that cannot block the thread: bytes
 * moved (short is fine) or a -errno result; -EAGAIN means "not here, use
 * io_uring".  Likewise for fdatasync and punching a hole.
 */
ssize_t blk_io_try_rw(struct blk_io *io, bool write, const struct iovec *iov, unsigned int cnt,
		      uint64_t off);
int blk_io_try_fsync(struct blk_io *io);
int blk_io_try_discard(struct blk_io *io, uint64_t off, uint64_t len);

/* ---- ring.c: request consumer -------------------------------------------- */

struct blk_seg {
	grant_ref_t gref;
	uint8_t first, last;
};

/* A request copied off the ring once, then decoded (never re-read). */
struct blk_req {
	uint8_t op;           /* as on the ring */
	uint8_t io_op;        /* op, or indirect_op for BLKIF_OP_INDIRECT */
	uint8_t flag;         /* discard flag */
	uint16_t nr_segs;
	uint64_t id;
	uint64_t sector;
	uint64_t nr_sectors;  /* discard */
	grant_ref_t indirect[BLK_MAX_INDIRECT_PAGES];
	struct blk_seg seg[BLK_MAX_DIRECT_SEGS];
};

enum blk_stage { BLK_ST_IDLE, BLK_ST_RW, BLK_ST_FSYNC, BLK_ST_DISCARD };

struct blk_pgrant {
	grant_ref_t gref;
	struct gnttab_mapping map;
	struct blk_pgrant *next;
};

struct blk_ring;

struct blk_inflight {
	struct blk_ring *ring;
	uint64_t id;
	uint8_t rsp_op;
	int16_t status;
	enum blk_stage stage;
	bool write, need_fsync;
	uint64_t offset;           /* bytes, where the remaining I/O starts */
	unsigned int nr_maps;
	struct gnttab_mapping *maps;   /* transient mappings to undo */
	struct blk_seg *segs;          /* max_segs: decoded descriptors */
	struct iovec *iov;             /* max_segs */
	unsigned int nr_iov, iov_pos;  /* iov_pos: first iovec not yet done */
	uint64_t discard_len;
	struct blk_req req;            /* the private copy */
	struct blk_inflight *next_free;
	struct blk_inflight *next_done; /* on the ring's inline-completed list */
	int inline_res;
};

struct blk_ring {
	struct blkback *be;
	unsigned int qid;
	bool connected, dead;
	bool stopping;                 /* disconnecting: consume nothing new */
	enum blk_abi abi;
	unsigned int entry_size;
	unsigned int nr_pages;
	struct gnttab_mapping pages[BLK_MAX_RING_PAGES];
	uint32_t size;                 /* entries: a power of two */
	uint32_t req_cons, rsp_prod_pvt;
	evtchn_port_t be_port;         /* 0: not bound */
	struct event_notifier *kick;   /* NULL when driven synchronously */
	struct blk_inflight *slots, *free;
	unsigned int nr_inflight;
	bool rsp_pending;              /* responses written, not yet pushed */
	/* Done inline by fl_submit(), completed by blk_ring_process(): a
	 * completion never runs inside the submit that caused it. */
	struct blk_inflight *done_head, **done_tail;
	struct blk_inflight *held;     /* a barrier: consume nothing until it is done */
	bool held_started;             /* ... and it no longer waits for the others */
	bool persistent;
	unsigned int nr_pgrants;
	struct blk_pgrant *pgrants[BLK_PGRANT_BUCKETS];
};

struct blk_ring_config {
	enum blk_abi abi;
	unsigned int nr_pages;
	const grant_ref_t *refs;
	evtchn_port_t guest_port;      /* 0: don't bind (fuzzer) */
	evtchn_port_t reattach_port;   /* restore: claim this backend port instead */
	bool persistent;
};

/* Maps the ring pages and binds the event channel.  0 or -errno. */
int blk_ring_connect(struct blk_ring *r, const struct blk_ring_config *c);
/* Needs r->nr_inflight == 0 (the caller drained the I/O).  Idempotent. */
void blk_ring_disconnect(struct blk_ring *r);
/* Consume what the frontend produced, submit I/O, final re-check. */
void blk_ring_process(struct blk_ring *r);
/* blk_io_done_fn for the device's CQEs (opaque = struct blkback). */
void blk_ring_io_done(void *opaque, void *tag, int res);
/* After a batch of completions: push responses, notify, resume rings. */
void blk_rings_flush(struct blkback *be);
/* Decode one ring entry (entry_size bytes) into q. */
void blk_req_decode(enum blk_abi abi, const uint8_t *raw, struct blk_req *q);
unsigned int blk_entry_size(enum blk_abi abi);
uint32_t blk_ring_entries(enum blk_abi abi, unsigned int nr_pages);

/* ---- the device ------------------------------------------------------- */

struct blkback {
	struct xen_domain *dom;
	struct event_loop *loop;
	struct xs_store *store;
	struct xenbus_backend xb;      /* its xenbus state machine */
	bool efd_registered;
	unsigned int domid, devid;

	struct blk_io io;
	uint64_t sectors;
	bool readonly, cdrom;
	unsigned int max_queues, max_ring_order, max_indirect, max_segs;
	bool offer_persistent;

	unsigned int nr_rings;
	struct blk_ring rings[BLK_MAX_QUEUES];
	struct blkback_stats stats;
};

/* For the fuzzer and tests: the device without XenStore or event loop. */
int blk_dev_init(struct blkback *be, struct xen_domain *dom, const char *path, const char *format,
		 bool readonly, bool direct, unsigned int max_indirect);
void blk_dev_fini(struct blkback *be);
/* Completes all in-flight I/O (blocking), pushing the responses. */
void blk_dev_drain(struct blkback *be);
/* A ring went bad: the xenbus state machine takes the device to Closing. */
void blk_dev_fatal(struct blkback *be);

#endif
