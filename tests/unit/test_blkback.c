/*
 * blkback end to end on fake guest memory: a fake blkfront writes its
 * XenStore nodes as domain 7, grants pages in the fake grant table,
 * produces requests in the shared ring (both ABIs, encoded here from the
 * public headers / explicit packed layouts, independently of the
 * backend's decoder), kicks through EVTCHNOP_send, and checks responses,
 * guest memory, the image file and every leak counter.  The backend runs
 * on a real event-loop thread as in the daemon.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "cunit_run.h"
#include "xenkvm/xen_abi.h"
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xen/io/xenbus.h>

#include "xenbus_fixture.h"
#include "xenkvm/blkback.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/log.h"
#include "xenkvm/xenstore.h"
#include "xenkvm/xen_state.h"
#include "../../xen-compat/blkback/blkback.h"

#define ARG_GPA     0x1000ull
#define RING_GPA    0x100000ull   /* queue q: + q * 0x20000, up to 16 pages */
#define DATA_GPA    0x200000ull   /* 256 data pages */
#define IND_GPA     0x300000ull   /* 64 indirect pages */
#define RING_REF    1u            /* queue q: + q * 16 */
#define DATA_REF    100u
#define IND_REF     400u
#define RO_REF      90u           /* read-only grant of data page 255 */
#define FOREIGN_REF 91u           /* granted to domain 3 */
#define NOGRANT_REF 92u           /* an empty entry */
#define BAD_REF     5000u         /* beyond the table */
#define DISK_SECTORS 16384u       /* 8 MiB */

/* x86_32 layouts, written out by hand from Linux's packed definitions. */
struct req32 {
	uint8_t op, nr;
	uint16_t handle;
	uint64_t id, sector;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
} __attribute__((packed));
struct disc32 {
	uint8_t op, flag;
	uint16_t handle;
	uint64_t id, sector, nr_sectors;
} __attribute__((packed));
struct ind32 {
	uint8_t op, iop;
	uint16_t nseg;
	uint64_t id, sector;
	uint16_t handle, pad;
	uint32_t grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	uint64_t pad3;
} __attribute__((packed));
struct rsp32 {
	uint64_t id;
	uint8_t op, pad;
	int16_t status;
} __attribute__((packed));

_Static_assert(sizeof(struct req32) == 108, "x86_32 request");
_Static_assert(sizeof(struct ind32) == 64, "x86_32 indirect request");
_Static_assert(sizeof(struct rsp32) == 12, "x86_32 response");
_Static_assert(sizeof(union blkif_sring_entry) == 112, "x86_64 entry");

static char img[64], img2[64];

/* ---- create / destroy on the loop thread ------------------------------- */

struct create_args {
	struct blkback_params p;
	struct blkback *be;
	int rc;
};

/* Which of io.c's paths the suite drives: every test runs once per mode. */
enum io_mode { IO_AS_DETECTED, IO_URING_ONLY, IO_INLINE_ALWAYS };
static enum io_mode io_mode;

static void do_create(void *a)
{
	struct create_args *c = a;

	c->rc = blkback_create(&c->p, &c->be);
	if (c->rc)
		return;
	if (io_mode == IO_URING_ONLY)
		c->be->io.nowait_rd = c->be->io.nowait_wr = c->be->io.memory_backed = false;
	else if (io_mode == IO_INLINE_ALWAYS)
		c->be->io.memory_backed = true;
}

static void do_destroy(void *a) { blkback_destroy(a); }

static int create_opt(struct blkback_disk *disk, bool persistent, struct blkback **be_r)
{
	struct create_args c = { .p = { .loop = L, .dom = F.d, .store = S,
					.domid = FAKE_DOMID, .disk = disk,
					.persistent = persistent } };

	on_loop(do_create, &c);
	*be_r = c.be;
	return c.rc;
}

static int create(struct blkback_disk *disk, struct blkback **be_r)
{
	return create_opt(disk, false, be_r);
}

static void destroy(struct blkback *be) { on_loop(do_destroy, be); }

/* ---- fake grant table and memory --------------------------------------- */

static struct grant_entry_v1 *entry(grant_ref_t ref)
{
	return &F.d->gnttab.frames[ref / GNTTAB_ENTRIES_PER_FRAME]
			.entries[ref % GNTTAB_ENTRIES_PER_FRAME];
}

static void grant(grant_ref_t ref, domid_t dom, bool ro, uint64_t gfn)
{
	struct grant_entry_v1 *e = entry(ref);

	e->domid = dom;
	e->frame = (uint32_t)gfn;
	__atomic_store_n(&e->flags, GTF_permit_access | (ro ? GTF_readonly : 0), __ATOMIC_RELEASE);
}

static uint8_t *data_page(unsigned int i) { return xen_fake_gpa(&F, DATA_GPA + i * 4096ull); }

static void make_image(const char *path, size_t bytes, const void *head, size_t head_len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, (off_t)bytes), 0);
	if (head)
		CU_ASSERT_EQUAL(pwrite(fd, head, head_len, 0), (ssize_t)head_len);
	close(fd);
}

static void image_read(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void image_write(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* ---- the fake frontend -------------------------------------------------- */

struct fe_queue {
	uint8_t *sring;
	uint32_t prod, cons, size;
	evtchn_port_t port;
};

struct fe {
	unsigned int devid;
	bool x86_32;
	unsigned int nq, order;   /* order < 0 written as absent: use legacy keys */
	bool multipage, persistent;
	struct fe_queue q[2];
	unsigned int next_ind;
};

struct tio {
	uint8_t op, iop, flag;
	uint16_t nseg;
	uint64_t id, sector, nr_sectors;
	struct blkif_request_segment seg[64];
};

static unsigned int entry_size(const struct fe *fe) { return fe->x86_32 ? 108 : 112; }

static uint32_t *idx(struct fe_queue *q, unsigned int i) { return (uint32_t *)q->sring + i; }

static void fe_init_ring(struct fe *fe, unsigned int qi)
{
	struct fe_queue *q = &fe->q[qi];
	unsigned int pages = fe->multipage ? 1u << fe->order : 1;

	q->sring = xen_fake_gpa(&F, RING_GPA + qi * 0x20000ull);
	memset(q->sring, 0, pages * 4096);
	*idx(q, 1) = 1;   /* req_event */
	*idx(q, 3) = 1;   /* rsp_event */
	q->prod = q->cons = 0;
	q->size = 1;
	while (q->size * 2 <= (pages * 4096 - 64) / entry_size(fe))
		q->size *= 2;
	for (unsigned int i = 0; i < pages; i++)
		grant(RING_REF + qi * 16 + i, 0, false, (RING_GPA + qi * 0x20000ull) / 4096 + i);
	CU_ASSERT_EQUAL(evtchn_alloc_guest_unbound(F.d, 0, &q->port), 0);
}

/* Writes the frontend nodes as Linux blkfront does, then Initialised. */
static void fe_connect(struct fe *fe)
{
	for (unsigned int qi = 0; qi < fe->nq; qi++) {
		char dir[24] = "";
		char key[48];

		fe_init_ring(fe, qi);
		if (fe->nq > 1)
			snprintf(dir, sizeof(dir), "queue-%u/", qi);
		if (fe->multipage) {
			for (unsigned int i = 0; i < 1u << fe->order; i++) {
				snprintf(key, sizeof(key), "%sring-ref%u", dir, i);
				CU_ASSERT_EQUAL(gw(fe->devid, key, "%u", RING_REF + qi * 16 + i), 0);
			}
		} else {
			snprintf(key, sizeof(key), "%sring-ref", dir);
			CU_ASSERT_EQUAL(gw(fe->devid, key, "%u", RING_REF + qi * 16), 0);
		}
		snprintf(key, sizeof(key), "%sevent-channel", dir);
		CU_ASSERT_EQUAL(gw(fe->devid, key, "%u", fe->q[qi].port), 0);
	}
	if (fe->multipage)
		CU_ASSERT_EQUAL(gw(fe->devid, "ring-page-order", "%u", fe->order), 0);
	if (fe->nq > 1)
		CU_ASSERT_EQUAL(gw(fe->devid, "multi-queue-num-queues", "%u", fe->nq), 0);
	CU_ASSERT_EQUAL(gw(fe->devid, "protocol", "%s",
			   fe->x86_32 ? XEN_IO_PROTO_ABI_X86_32 : XEN_IO_PROTO_ABI_X86_64), 0);
	CU_ASSERT_EQUAL(gw(fe->devid, "feature-persistent", "%u", fe->persistent), 0);
	CU_ASSERT_EQUAL(gw(fe->devid, "state", "%d", XenbusStateInitialised), 0);
	CU_ASSERT_TRUE(wait_be_state(fe->devid, XenbusStateConnected));
	CU_ASSERT_EQUAL(gw(fe->devid, "state", "%d", XenbusStateConnected), 0);
}

static void fe_close_port(struct fe *fe, unsigned int qi)
{
	struct evtchn_close c = { .port = fe->q[qi].port };

	memcpy(xen_fake_gpa(&F, ARG_GPA), &c, sizeof(c));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_close,
					ARG_GPA, 0), 0);
}

/* Module unload. */
static void fe_close(struct fe *fe)
{
	fe_close_handshake(fe->devid);
	for (unsigned int qi = 0; qi < fe->nq; qi++)
		fe_close_port(fe, qi);
}

static void fe_kick(struct fe *fe, unsigned int qi)
{
	struct evtchn_send s = { .port = fe->q[qi].port };

	long rc;

	memcpy(xen_fake_gpa(&F, ARG_GPA), &s, sizeof(s));
	rc = xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_send, ARG_GPA, 0);
	if (rc) fprintf(stderr, "send port %u rc %ld\n", s.port, rc);
	CU_ASSERT_EQUAL(rc, 0);
}

/* Encodes t into the next slot (not yet published). */
static void fe_put(struct fe *fe, unsigned int qi, const struct tio *t)
{
	struct fe_queue *q = &fe->q[qi];
	uint8_t *slot = q->sring + 64 + (q->prod & (q->size - 1)) * entry_size(fe);
	unsigned int nseg = t->nseg;

	memset(slot, 0, entry_size(fe));
	if (t->op == BLKIF_OP_INDIRECT) {
		grant_ref_t grefs[8] = { 0 };
		unsigned int npages = (nseg + 511) / 512;

		/* the caller may give fewer descriptors than nseg claims */
		for (unsigned int p = 0; p < npages && p < 8; p++) {
			unsigned int pg = fe->next_ind++ % 64;
			struct blkif_request_segment *d = xen_fake_gpa(&F, IND_GPA + pg * 4096ull);

			memset(d, 0, 4096);
			for (unsigned int i = 0; i < 512 && p * 512 + i < nseg && p * 512 + i < 64; i++)
				d[i] = t->seg[p * 512 + i];
			grant(IND_REF + pg, 0, true, (IND_GPA / 4096) + pg);
			grefs[p] = IND_REF + pg;
		}
		if (fe->x86_32) {
			struct ind32 r = { .op = t->op, .iop = t->iop, .nseg = nseg, .id = t->id,
					   .sector = t->sector };

			memcpy(r.grefs, grefs, sizeof(grefs));
			memcpy(slot, &r, sizeof(r));
		} else {
			struct blkif_request_indirect r = { .operation = t->op, .indirect_op = t->iop,
							    .nr_segments = nseg, .id = t->id,
							    .sector_number = t->sector };

			memcpy(r.indirect_grefs, grefs, sizeof(grefs));
			memcpy(slot, &r, sizeof(r));
		}
	} else if (t->op == BLKIF_OP_DISCARD) {
		if (fe->x86_32) {
			struct disc32 r = { .op = t->op, .flag = t->flag, .id = t->id, .sector = t->sector,
					    .nr_sectors = t->nr_sectors };

			memcpy(slot, &r, sizeof(r));
		} else {
			struct blkif_request_discard r = { .operation = t->op, .flag = t->flag,
							   .id = t->id, .sector_number = t->sector,
							   .nr_sectors = t->nr_sectors };

			memcpy(slot, &r, sizeof(r));
		}
	} else {
		unsigned int n = nseg < 11 ? nseg : 11;

		if (fe->x86_32) {
			struct req32 r = { .op = t->op, .nr = (uint8_t)nseg, .id = t->id,
					   .sector = t->sector };

			memcpy(r.seg, t->seg, n * sizeof(r.seg[0]));
			memcpy(slot, &r, sizeof(r));
		} else {
			struct blkif_request r = { .operation = t->op, .nr_segments = (uint8_t)nseg,
						   .id = t->id, .sector_number = t->sector };

			memcpy(r.seg, t->seg, n * sizeof(r.seg[0]));
			memcpy(slot, &r, sizeof(r));
		}
	}
	q->prod++;
}

static void fe_publish(struct fe *fe, unsigned int qi)
{
	__atomic_store_n(idx(&fe->q[qi], 0), fe->q[qi].prod, __ATOMIC_RELEASE);
	fe_kick(fe, qi);
}

/* Waits for n unread responses; false after 5 s. */
static bool fe_wait(struct fe *fe, unsigned int qi, unsigned int n)
{
	return ring_wait_rsp(fe->q[qi].sring, fe->q[qi].cons, n, 5000);
}

struct rsp {
	uint64_t id;
	uint8_t op;
	int16_t status;
};

static struct rsp fe_rsp(struct fe *fe, unsigned int qi)
{
	struct fe_queue *q = &fe->q[qi];
	uint8_t *slot = q->sring + 64 + (q->cons & (q->size - 1)) * entry_size(fe);
	struct rsp r;

	if (fe->x86_32) {
		struct rsp32 x;

		memcpy(&x, slot, sizeof(x));
		r = (struct rsp){ x.id, x.op, x.status };
	} else {
		struct blkif_response x;

		memcpy(&x, slot, sizeof(x));
		r = (struct rsp){ x.id, x.operation, x.status };
	}
	q->cons++;
	/* rsp_event: notify on the next one (read concurrently by the backend) */
	__atomic_store_n(idx(q, 3), q->cons + 1, __ATOMIC_RELEASE);
	return r;
}

/* One request, one response; returns the status (or 99 on timeout). */
static int16_t fe_do(struct fe *fe, unsigned int qi, const struct tio *t)
{
	struct rsp r;

	fe_put(fe, qi, t);
	fe_publish(fe, qi);
	if (!fe_wait(fe, qi, 1))
		return 99;
	r = fe_rsp(fe, qi);
	CU_ASSERT_EQUAL(r.id, t->id);
	CU_ASSERT_EQUAL(r.op, t->op == BLKIF_OP_INDIRECT ? t->iop : t->op);
	return r.status;
}

/* Segment i: data page p, sectors first..last. */
static struct blkif_request_segment seg(unsigned int p, uint8_t first, uint8_t last)
{
	grant(DATA_REF + p, 0, false, DATA_GPA / 4096 + p);
	return (struct blkif_request_segment){ .gref = DATA_REF + p, .first_sect = first,
					       .last_sect = last };
}

static void fill(unsigned int p, uint8_t seed)
{
	for (unsigned int i = 0; i < 4096; i++)
		data_page(p)[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

/* ---- suite ------------------------------------------------------------------ */

static int truncate_new(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int rc = fd >= 0 ? ftruncate(fd, DISK_SECTORS * 512ll) : -1;

	if (fd >= 0)
		close(fd);
	return rc;
}

static int setup(void)
{
	if (xbf_setup("vbd", "blk-test"))
		return -1;
	snprintf(img, sizeof(img), "/tmp/blkback-test-%d.img", (int)getpid());
	snprintf(img2, sizeof(img2), "/tmp/blkback-test2-%d.img", (int)getpid());
	return truncate_new(img) || truncate_new(img2) ? -1 : 0;
}

static int teardown(void)
{
	xbf_teardown();
	unlink(img);
	unlink(img2);
	return 0;
}

static struct blkback_disk disk_rw(void)
{
	return (struct blkback_disk){ .target = img, .vdev = "xvda", .format = "raw" };
}

/* ---- tests ------------------------------------------------------------------ */

static void test_vdev(void)
{
	static const struct { const char *v; unsigned int id; } ok[] = {
		{ "xvda", 51712 }, { "xvdb", 51728 }, { "xvda1", 51713 }, { "xvdp15", 51967 },
		{ "xvdq", (1u << 28) | (16u << 8) }, { "xvdaa", (1u << 28) | (26u << 8) },
		{ "xvdq3", (1u << 28) | (16u << 8) | 3 }, { "hda", 768 }, { "hdb", 832 },
		{ "hdc", 5632 }, { "hdd1", 5697 }, { "sda", 2048 }, { "sdb2", 2066 },
		{ "d0p1", 51713 }, { "d20", (1u << 28) | (20u << 8) },
	};
	static const char *const bad[] = { "", "xvd", "xvdA", "xvda16x", "hde", "sdq", "vda",
					   "xvda256", "d", "dp1", "d1p", "hda64" };
	unsigned int id;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		id = 0;
		CU_ASSERT_EQUAL(blkback_vdev_to_devid(ok[i].v, &id), 0);
		if (id != ok[i].id)
			fprintf(stderr, "%s -> %u, want %u\n", ok[i].v, id, ok[i].id);
		CU_ASSERT_EQUAL(id, ok[i].id);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(blkback_vdev_to_devid(bad[i], &id), -EINVAL);
	CU_ASSERT_EQUAL(blkback_vdev_to_devid(NULL, &id), -EINVAL);
}

static void test_refused(void)
{
	struct blkback_disk d = disk_rw();
	struct blkback *be = (struct blkback *)1;
	char path[80];
	long nodes = xs_node_count();

	/* image formats other than raw, by name and by magic */
	d.format = "qcow2";
	CU_ASSERT_EQUAL(create(&d, &be), -ENOTSUP);
	CU_ASSERT_PTR_NULL(be);
	snprintf(path, sizeof(path), "%s.q", img);
	make_image(path, 1 << 20, "QFI\xfb\0\0\0\3", 8);
	d = disk_rw();
	d.target = path;
	CU_ASSERT_EQUAL(create(&d, &be), -ENOTSUP);
	make_image(path, 1 << 20, "conectix", 8);
	CU_ASSERT_EQUAL(create(&d, &be), -ENOTSUP);
	unlink(path);
	CU_ASSERT_EQUAL(create(&d, &be), -ENOENT);
	d = disk_rw();
	d.target = NULL;   /* empty cdrom */
	CU_ASSERT_EQUAL(create(&d, &be), -EINVAL);
	d = disk_rw();
	d.vdev = "vda";
	CU_ASSERT_EQUAL(create(&d, &be), -EINVAL);
	CU_ASSERT_EQUAL(xs_node_count(), nodes);
	xbf_assert_no_leaks();
}

static void test_nodes_and_handshake(void)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 1 };
	struct blkback *be;
	struct blkback_stats st;

	CU_ASSERT_FATAL(create(&d, &be) == 0);
	CU_ASSERT_EQUAL(blkback_devid(be), 51712);
	CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateInitWait));
	CU_ASSERT_STRING_EQUAL(be_node(51712, "sectors"), "16384");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "sector-size"), "512");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "info"), "0");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "mode"), "w");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "type"), "file");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "frontend-id"), "7");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "feature-flush-cache"), "1");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "feature-discard"), "1");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "feature-max-indirect-segments"), "256");
	/* not offered unless asked for: mapping costs us nothing, so all it
	 * would buy is a copy in the guest */
	CU_ASSERT_STRING_EQUAL(be_node(51712, "feature-persistent"), "0");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "multi-queue-max-queues"), "4");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "max-ring-page-order"), "4");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "frontend"), "/local/domain/7/device/vbd/51712");
	/* the guest cannot write the backend's nodes */
	{
		struct xs_args x = { .c = G, .path = "/local/domain/0/backend/vbd/7/51712/state",
				     .val = "4" };

		on_loop(do_write, &x);
		CU_ASSERT_EQUAL(x.rc, -EACCES);
	}
	fe_connect(&fe);
	blkback_get_stats(be, &st);
	CU_ASSERT_EQUAL(st.connects, 1);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 1);      /* the ring page */
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 1);
	fe_close(&fe);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	destroy(be);
	CU_ASSERT_STRING_EQUAL(be_node(51712, "state"), "");
	xbf_assert_no_leaks();
}

/* Write 3 segments (partial pages), read them back elsewhere, compare with
 * the image: once per ABI. */
static void rw_roundtrip(bool x86_32)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 1, .x86_32 = x86_32 };
	struct tio w = { .op = BLKIF_OP_WRITE, .id = 0x1122334455667788ull, .sector = 100,
			 .nseg = 3 };
	struct tio r = { .op = BLKIF_OP_READ, .id = 42, .sector = 100, .nseg = 2 };
	uint8_t file[4096 * 3], expect[4096 * 3];
	struct blkback *be;
	size_t n = 0;

	CU_ASSERT_FATAL(create(&d, &be) == 0);
	fe_connect(&fe);
	fill(0, 1);
	fill(1, 2);
	fill(2, 3);
	w.seg[0] = seg(0, 2, 7);   /* 6 sectors */
	w.seg[1] = seg(1, 0, 7);   /* 8 */
	w.seg[2] = seg(2, 0, 3);   /* 4 */
	memcpy(expect + n, data_page(0) + 1024, 3072); n += 3072;
	memcpy(expect + n, data_page(1), 4096); n += 4096;
	memcpy(expect + n, data_page(2), 2048); n += 2048;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &w), BLKIF_RSP_OKAY);
	image_read(img, 100 * 512, file, n);
	CU_ASSERT_EQUAL(memcmp(file, expect, n), 0);
	/* the grants are released (GTF_reading/writing clear) */
	CU_ASSERT_EQUAL(entry(DATA_REF)->flags, GTF_permit_access);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 1);

	memset(data_page(10), 0, 4096);
	memset(data_page(11), 0, 4096);
	r.seg[0] = seg(10, 0, 7);
	r.seg[1] = seg(11, 1, 7);  /* 7 sectors into the second page at offset 512 */
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(memcmp(data_page(10), expect, 4096), 0);
	CU_ASSERT_EQUAL(memcmp(data_page(11) + 512, expect + 4096, 3584), 0);
	CU_ASSERT_EQUAL(data_page(11)[0], 0);
	fe_close(&fe);
	destroy(be);
	xbf_assert_no_leaks();
}

static void test_rw_native(void) { rw_roundtrip(false); }
static void test_rw_x86_32(void) { rw_roundtrip(true); }

static void flush_and_barrier(bool x86_32)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 1, .x86_32 = x86_32 };
	struct tio t = { .op = BLKIF_OP_FLUSH_DISKCACHE, .id = 7 };
	struct blkback_stats st;
	uint8_t buf[4096];
	struct blkback *be;

	CU_ASSERT_FATAL(create(&d, &be) == 0);
	fe_connect(&fe);
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_OKAY);          /* pure flush */
	/* Linux's blkfront sends an empty flush with sector (blkif_sector_t)-1 */
	t.sector = UINT64_MAX;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_OKAY);
	fill(3, 9);
	t.nseg = 1;
	t.sector = 800;
	t.seg[0] = seg(3, 0, 7);
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_OKAY);          /* flush with data */
	image_read(img, 800 * 512, buf, 4096);
	CU_ASSERT_EQUAL(memcmp(buf, data_page(3), 4096), 0);
	/* a barrier between writes: all three answered, data in place */
	{
		struct tio w1 = { .op = BLKIF_OP_WRITE, .id = 1, .sector = 900, .nseg = 1 };
		struct tio b = { .op = BLKIF_OP_WRITE_BARRIER, .id = 2, .sector = 908, .nseg = 1 };
		struct tio w2 = { .op = BLKIF_OP_WRITE, .id = 3, .sector = 916, .nseg = 1 };
		bool seen[4] = { false };

		fill(4, 1);
		fill(5, 2);
		fill(6, 3);
		w1.seg[0] = seg(4, 0, 7);
		b.seg[0] = seg(5, 0, 7);
		w2.seg[0] = seg(6, 0, 7);
		fe_put(&fe, 0, &w1);
		fe_put(&fe, 0, &b);
		fe_put(&fe, 0, &w2);
		fe_publish(&fe, 0);
		CU_ASSERT_TRUE(fe_wait(&fe, 0, 3));
		for (int i = 0; i < 3; i++) {
			struct rsp r = fe_rsp(&fe, 0);

			CU_ASSERT_EQUAL(r.status, BLKIF_RSP_OKAY);
			if (r.id >= 1 && r.id <= 3)
				seen[r.id] = true;
		}
		CU_ASSERT_TRUE(seen[1] && seen[2] && seen[3]);
		image_read(img, 908 * 512, buf, 4096);
		CU_ASSERT_EQUAL(memcmp(buf, data_page(5), 4096), 0);
		image_read(img, 916 * 512, buf, 4096);
		CU_ASSERT_EQUAL(memcmp(buf, data_page(6), 4096), 0);
	}
	blkback_get_stats(be, &st);
	CU_ASSERT_EQUAL(st.flushes, 4);
	CU_ASSERT_EQUAL(st.errors, 0);
	fe_close(&fe);
	destroy(be);
	xbf_assert_no_leaks();
}

static void test_flush_native(void) { flush_and_barrier(false); }
static void test_flush_x86_32(void) { flush_and_barrier(true); }

static void discard(bool x86_32)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 1, .x86_32 = x86_32 };
	struct tio t = { .op = BLKIF_OP_DISCARD, .id = 5, .sector = 2048, .nr_sectors = 16 };
	uint8_t buf[8192], ones[8192], zero[8192] = { 0 };
	struct blkback *be;

	memset(ones, 0xa5, sizeof(ones));
	image_write(img, 2048 * 512, ones, sizeof(ones));
	image_write(img, 2064 * 512, ones, 512);
	CU_ASSERT_FATAL(create(&d, &be) == 0);
	fe_connect(&fe);
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_OKAY);
	image_read(img, 2048 * 512, buf, sizeof(buf));
	CU_ASSERT_EQUAL(memcmp(buf, zero, sizeof(buf)), 0);
	image_read(img, 2064 * 512, buf, 512);      /* the sector after is kept */
	CU_ASSERT_EQUAL(memcmp(buf, ones, 512), 0);
	t.sector = DISK_SECTORS - 4;                 /* past the end */
	t.nr_sectors = 8;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	t.sector = 10;                               /* empty: nothing to do */
	t.nr_sectors = 0;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_OKAY);
	fe_close(&fe);
	destroy(be);
	xbf_assert_no_leaks();
}

static void test_discard_native(void) { discard(false); }
static void test_discard_x86_32(void) { discard(true); }

static void indirect(bool x86_32)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 1, .x86_32 = x86_32 };
	struct tio w = { .op = BLKIF_OP_INDIRECT, .iop = BLKIF_OP_WRITE, .id = 77, .sector = 4096,
			 .nseg = 40 };
	struct tio r = w;
	static uint8_t file[40 * 4096];
	struct blkback *be;

	CU_ASSERT_FATAL(create(&d, &be) == 0);
	fe_connect(&fe);
	for (unsigned int i = 0; i < 40; i++) {
		fill(i, (uint8_t)(i * 3));
		w.seg[i] = seg(i, 0, 7);
	}
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &w), BLKIF_RSP_OKAY);
	image_read(img, 4096 * 512, file, sizeof(file));
	for (unsigned int i = 0; i < 40; i++)
		CU_ASSERT_EQUAL(memcmp(file + i * 4096, data_page(i), 4096), 0);
	r.iop = BLKIF_OP_READ;
	r.id = 78;
	for (unsigned int i = 0; i < 40; i++) {
		memset(data_page(100 + i), 0, 4096);
		r.seg[i] = seg(100 + i, 0, 7);
	}
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &r), BLKIF_RSP_OKAY);
	for (unsigned int i = 0; i < 40; i++)
		CU_ASSERT_EQUAL(memcmp(file + i * 4096, data_page(100 + i), 4096), 0);
	/* more segments than offered, none, an operation that is not r/w */
	r.nseg = 257;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &r), BLKIF_RSP_ERROR);
	r.nseg = 0;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &r), BLKIF_RSP_ERROR);
	r.nseg = 4;
	r.iop = BLKIF_OP_DISCARD;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &r), BLKIF_RSP_ERROR);
	/* a bad descriptor inside the indirect page */
	r.iop = BLKIF_OP_READ;
	r.seg[2].last_sect = 9;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &r), BLKIF_RSP_ERROR);
	r.seg[2].last_sect = 7;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 1);
	fe_close(&fe);
	destroy(be);
	xbf_assert_no_leaks();
}

static void test_indirect_native(void) { indirect(false); }
static void test_indirect_x86_32(void) { indirect(true); }

static void test_persistent(void)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 1, .persistent = true };
	struct tio w = { .op = BLKIF_OP_WRITE, .id = 1, .sector = 0, .nseg = 2 };
	struct tio r = { .op = BLKIF_OP_READ, .id = 2, .sector = 0, .nseg = 2 };
	struct blkback_stats st;
	struct blkback *be;

	CU_ASSERT_FATAL(create_opt(&d, true, &be) == 0);
	CU_ASSERT_STRING_EQUAL(be_node(51712, "feature-persistent"), "1");
	fe_connect(&fe);
	fill(20, 5);
	fill(21, 6);
	w.seg[0] = seg(20, 0, 7);
	w.seg[1] = seg(21, 0, 7);
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &w), BLKIF_RSP_OKAY);
	/* the grants stay mapped (writable) across requests */
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 3);
	CU_ASSERT_EQUAL(entry(DATA_REF + 20)->flags, GTF_permit_access | GTF_reading | GTF_writing);
	blkback_get_stats(be, &st);
	CU_ASSERT_EQUAL(st.persistent, 2);
	/* reuse: the same grants for a read, the data comes back through them */
	memcpy(data_page(22), data_page(20), 4096);
	memset(data_page(20), 0, 4096);
	memset(data_page(21), 0, 4096);
	r.seg[0] = w.seg[1];
	r.seg[1] = w.seg[0];
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(memcmp(data_page(21), data_page(22), 4096), 0);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 3);
	/* a read-only grant cannot be a read target, persistent or not */
	grant(RO_REF, 0, true, DATA_GPA / 4096 + 255);
	r.nseg = 1;
	r.seg[0] = (struct blkif_request_segment){ .gref = RO_REF, .first_sect = 0, .last_sect = 7 };
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &r), BLKIF_RSP_ERROR);
	w.nseg = 1;
	w.seg[0] = r.seg[0];
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &w), BLKIF_RSP_OKAY);   /* ... but a write source */
	fe_close(&fe);
	CU_ASSERT_EQUAL(entry(DATA_REF + 20)->flags, GTF_permit_access);
	blkback_get_stats(be, &st);
	CU_ASSERT_EQUAL(st.persistent, 0);
	destroy(be);
	xbf_assert_no_leaks();
}

/* Every malformed request gets an error response; the device keeps going. */
static void test_bad_requests(void)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 1 };
	struct tio t = { .op = BLKIF_OP_READ, .id = 9, .sector = 0, .nseg = 1 };
	struct blkback_stats st;
	struct blkback *be;

	CU_ASSERT_FATAL(create(&d, &be) == 0);
	fe_connect(&fe);
	t.seg[0] = seg(0, 0, 7);
	t.nseg = 0;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	t.nseg = 12;
	for (int i = 0; i < 11; i++)
		t.seg[i] = seg((unsigned int)i, 0, 7);
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	t.nseg = 1;
	t.seg[0] = seg(0, 5, 4);                       /* first > last */
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	t.seg[0] = seg(0, 0, 8);                       /* past the page */
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	t.seg[0] = seg(0, 0, 7);
	t.sector = DISK_SECTORS - 4;                   /* past the end of the disk */
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	t.sector = UINT64_MAX - 2;                     /* ... with wrap-around */
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	t.sector = 0;
	t.seg[0].gref = BAD_REF;                       /* not in the table */
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	grant(FOREIGN_REF, 3, false, DATA_GPA / 4096);
	t.seg[0].gref = FOREIGN_REF;                   /* granted to someone else */
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	t.seg[0].gref = NOGRANT_REF;                   /* not granted at all */
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	grant(RO_REF, 0, true, DATA_GPA / 4096 + 255);
	t.seg[0].gref = RO_REF;                        /* read into a read-only grant */
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(entry(RO_REF)->flags, GTF_permit_access | GTF_readonly);
	/* a bad second segment undoes the first's mapping */
	t.nseg = 2;
	t.seg[0] = seg(0, 0, 7);
	t.seg[1] = (struct blkif_request_segment){ .gref = BAD_REF, .last_sect = 7 };
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(entry(DATA_REF)->flags, GTF_permit_access);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 1);
	/* unknown operations */
	t = (struct tio){ .op = BLKIF_OP_RESERVED_1, .id = 10 };
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_EOPNOTSUPP);
	t.op = 200;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_EOPNOTSUPP);
	/* still connected and serving */
	t = (struct tio){ .op = BLKIF_OP_READ, .id = 11, .nseg = 1 };
	t.seg[0] = seg(0, 0, 7);
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_OKAY);
	CU_ASSERT_STRING_EQUAL(be_node(51712, "state"), "4");
	blkback_get_stats(be, &st);
	CU_ASSERT_EQUAL(st.errors, 13);
	fe_close(&fe);
	destroy(be);
	xbf_assert_no_leaks();
}

static void test_readonly(void)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51728, .nq = 1 };
	struct tio t = { .op = BLKIF_OP_WRITE, .id = 1, .nseg = 1 };
	uint8_t before[4096], after[4096];
	struct blkback *be;

	d.readonly = true;
	d.vdev = "xvdb";
	image_read(img, 0, before, sizeof(before));
	CU_ASSERT_FATAL(create(&d, &be) == 0);
	CU_ASSERT_STRING_EQUAL(be_node(51728, "mode"), "r");
	CU_ASSERT_STRING_EQUAL(be_node(51728, "info"), "4");   /* VDISK_READONLY */
	CU_ASSERT_STRING_EQUAL(be_node(51728, "feature-flush-cache"), "0");
	CU_ASSERT_STRING_EQUAL(be_node(51728, "feature-discard"), "0");
	fe_connect(&fe);
	fill(0, 0x55);
	t.seg[0] = seg(0, 0, 7);
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	t.op = BLKIF_OP_INDIRECT;
	t.iop = BLKIF_OP_WRITE;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_ERROR);
	t.op = BLKIF_OP_WRITE_BARRIER;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_EOPNOTSUPP);
	t = (struct tio){ .op = BLKIF_OP_FLUSH_DISKCACHE, .id = 2 };
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_EOPNOTSUPP);
	t = (struct tio){ .op = BLKIF_OP_DISCARD, .id = 3, .nr_sectors = 8 };
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_EOPNOTSUPP);
	t = (struct tio){ .op = BLKIF_OP_READ, .id = 4, .nseg = 1 };
	t.seg[0] = seg(0, 0, 7);
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(memcmp(data_page(0), before, 4096), 0);
	image_read(img, 0, after, sizeof(after));
	CU_ASSERT_EQUAL(memcmp(before, after, 4096), 0);
	fe_close(&fe);
	destroy(be);
	xbf_assert_no_leaks();
}

/* A frontend that lies about req_prod loses its device (Closing, error
 * node); another device keeps working; after Closed it can start over. */
static void test_bogus_ring_and_reconnect(void)
{
	struct blkback_disk d = disk_rw(), d2 = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 1 };
	struct tio t = { .op = BLKIF_OP_READ, .id = 1, .nseg = 1 };
	struct blkback *be, *be2;

	d2.vdev = "xvdb";
	d2.target = img2;
	CU_ASSERT_FATAL(create(&d, &be) == 0);
	CU_ASSERT_FATAL(create(&d2, &be2) == 0);
	fe_connect(&fe);
	t.seg[0] = seg(0, 0, 7);
	__atomic_store_n(idx(&fe.q[0], 0), 1000u, __ATOMIC_RELEASE);
	fe_kick(&fe, 0);
	CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateClosing));
	CU_ASSERT_NOT_EQUAL(be_node(51712, "error")[0], 0);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	/* the frontend closes and comes back (module reload) */
	CU_ASSERT_EQUAL(gw(51712, "state", "%d", XenbusStateClosed), 0);
	CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateClosed));
	fe_close_port(&fe, 0);
	for (int round = 0; round < 3; round++) {
		CU_ASSERT_EQUAL(gw(51712, "state", "%d", XenbusStateInitialising), 0);
		CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateInitWait));
		fe_connect(&fe);
		CU_ASSERT_STRING_EQUAL(be_node(51712, "error"), "");
		t.id = 100 + (uint64_t)round;
		CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_OKAY);
		fe_close(&fe);
		CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
		CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
	}
	/* req_prod moving backwards is as bogus as one running ahead */
	CU_ASSERT_EQUAL(gw(51712, "state", "%d", XenbusStateInitialising), 0);
	CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateInitWait));
	fe_connect(&fe);
	t.id = 200;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_OKAY);
	__atomic_store_n(idx(&fe.q[0], 0), 0u, __ATOMIC_RELEASE);
	fe_kick(&fe, 0);
	CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateClosing));
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	fe_close(&fe);
	/* the second device was never disturbed and still connects */
	CU_ASSERT_STRING_EQUAL(be_node(51728, "state"), "2");
	destroy(be);
	destroy(be2);
	xbf_assert_no_leaks();
}

/* Two queues of 4-page rings, each filled past its size in bursts. */
static void test_multiqueue_multipage(void)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 2, .multipage = true, .order = 2 };
	struct blkback_stats st;
	struct blkback *be;
	unsigned int total = 0;

	CU_ASSERT_FATAL(create(&d, &be) == 0);
	fe_connect(&fe);
	CU_ASSERT_EQUAL(fe.q[0].size, 128);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 8);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 2);
	for (unsigned int burst = 0; burst < 3; burst++) {
		for (unsigned int qi = 0; qi < 2; qi++) {
			for (unsigned int i = 0; i < fe.q[qi].size; i++) {
				struct tio t = { .op = i % 2 ? BLKIF_OP_READ : BLKIF_OP_WRITE,
						 .id = i, .sector = (qi * 128 + i) * 8, .nseg = 1 };

				t.seg[0] = seg(qi * 128 + i % 128, 0, 7);
				fe_put(&fe, qi, &t);
			}
			fe_publish(&fe, qi);
		}
		for (unsigned int qi = 0; qi < 2; qi++) {
			CU_ASSERT_TRUE(fe_wait(&fe, qi, fe.q[qi].size));
			for (unsigned int i = 0; i < fe.q[qi].size; i++) {
				struct rsp r = fe_rsp(&fe, qi);

				CU_ASSERT_EQUAL(r.status, BLKIF_RSP_OKAY);
				total++;
			}
		}
	}
	CU_ASSERT_EQUAL(total, 3 * 256);
	blkback_get_stats(be, &st);
	CU_ASSERT_EQUAL(st.requests, 3 * 256);
	CU_ASSERT_EQUAL(st.inflight, 0);
	fe_close(&fe);
	destroy(be);
	xbf_assert_no_leaks();
}

/* More queues or a bigger ring than offered: refused, Closing. */
static void test_bad_negotiation(void)
{
	struct blkback_disk d = disk_rw();
	struct blkback *be;

	CU_ASSERT_FATAL(create(&d, &be) == 0);
	CU_ASSERT_EQUAL(gw(51712, "ring-ref", "%u", RING_REF), 0);
	CU_ASSERT_EQUAL(gw(51712, "event-channel", "%u", 1), 0);
	CU_ASSERT_EQUAL(gw(51712, "multi-queue-num-queues", "%u", 17), 0);
	CU_ASSERT_EQUAL(gw(51712, "state", "%d", XenbusStateInitialised), 0);
	CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateClosing));
	CU_ASSERT_EQUAL(gw(51712, "state", "%d", XenbusStateClosed), 0);
	CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateClosed));
	CU_ASSERT_EQUAL(gw(51712, "state", "%d", XenbusStateInitialising), 0);
	CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateInitWait));
	CU_ASSERT_EQUAL(gw(51712, "multi-queue-num-queues", "1"), 0);
	CU_ASSERT_EQUAL(gw(51712, "protocol", "arm-abi"), 0);
	CU_ASSERT_EQUAL(gw(51712, "state", "%d", XenbusStateInitialised), 0);
	CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateClosing));
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	destroy(be);
	xbf_assert_no_leaks();
}

/* A frontend that starts over without closing (kexec, a crashed driver
 * reloaded): Initialising while Connected drops the old rings, InitWait,
 * and the new rings connect and serve I/O. */
static void test_restart_while_connected(void)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 1 };
	struct tio t = { .op = BLKIF_OP_READ, .id = 1, .nseg = 1 };
	struct blkback_stats st;
	struct blkback *be;

	CU_ASSERT_FATAL(create(&d, &be) == 0);
	t.seg[0] = seg(0, 0, 7);
	fe_connect(&fe);
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_OKAY);
	for (int round = 0; round < 2; round++) {
		CU_ASSERT_EQUAL(gw(51712, "state", "%d", XenbusStateInitialising), 0);
		CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateInitWait));
		CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
		CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
		CU_ASSERT_STRING_EQUAL(be_node(51712, "error"), "");
		fe_close_port(&fe, 0);
		fe_connect(&fe);
		t.id = 10 + (uint64_t)round;
		CU_ASSERT_EQUAL(fe_do(&fe, 0, &t), BLKIF_RSP_OKAY);
	}
	blkback_get_stats(be, &st);
	CU_ASSERT_EQUAL(st.connects, 3);
	fe_close(&fe);
	destroy(be);
	xbf_assert_no_leaks();
}

/* The guest removes its frontend directory while connected: Closed, no leaks. */
static void test_frontend_vanishes(void)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 1 };
	struct xs_args x = { .c = G, .path = "device/vbd/51712" };
	struct blkback *be;

	CU_ASSERT_FATAL(create(&d, &be) == 0);
	fe_connect(&fe);
	on_loop(do_rm, &x);
	CU_ASSERT_EQUAL(x.rc, 0);
	CU_ASSERT_TRUE(wait_be_state(51712, XenbusStateClosed));
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
	destroy(be);
	xbf_assert_no_leaks();
}

/* ---- save and restore ------------------------------------------------------- */

struct save_args {
	struct blkback *be;
	struct state_writer *w;
	int rc;
	/* load */
	struct blkback *fresh;
	const uint8_t *buf;
	size_t len;
	char why[256];
};

/* As xenkvmd's save on its I/O thread: quiesce, then the store and the disk. */
static void do_save(void *a)
{
	struct save_args *x = a;
	struct xs_client *clients[1] = { G };

	blkback_quiesce(x->be);
	x->rc = xs_store_save(S, clients, 1, x->w);
	if (!x->rc)
		x->rc = blkback_state_save(x->be, x->w);
	if (!x->rc)
		x->rc = state_writer_finish(x->w);
}

/* The saving daemon ends: the domain keeps its event channels (their
 * handler gone, as the evtchn section brings them back) and its nodes. */
static void do_forget(void *a)
{
	struct blkback *be = a;

	for (unsigned int q = 0; q < be->nr_rings; q++) {
		CU_ASSERT_EQUAL(evtchn_backend_reattach(F.d, be->rings[q].be_port, NULL, NULL), 0);
		be->rings[q].be_port = 0;
	}
	be->xb.nodes_written = false;
	blkback_destroy(be);
}

static void do_load(void *a)
{
	struct save_args *x = a;
	struct xs_client *clients[1] = { G };
	struct xs_state_load xs = { S, clients, 1 };
	struct blkback *disks[1] = { x->fresh };
	struct blkback_state_load bl = { disks, 1, 0 };
	struct state_handler h[2];
	struct state_reader *r = state_reader_new_mem(x->buf, x->len);

	xs_store_state_handler(&xs, &h[0]);
	blkback_state_handler(&bl, &h[1]);
	x->rc = state_reader_header(r);
	if (!x->rc)
		x->rc = state_load(r, h, 2);
	snprintf(x->why, sizeof(x->why), "%s", state_reader_error(r));
	state_reader_free(r);
}

/* Two queues of two pages; a write answered before the save, one the guest
 * queued (published, not kicked) while paused, one after the restore: each
 * answered exactly once by the restored backend, the data in the image. */
static void test_save_restore(void)
{
	struct blkback_disk d = disk_rw();
	struct fe fe = { .devid = 51712, .nq = 2, .multipage = true, .order = 1 };
	struct tio a = { .op = BLKIF_OP_WRITE, .id = 1, .sector = 64, .nseg = 1 };
	struct tio b = { .op = BLKIF_OP_WRITE, .id = 2, .sector = 72, .nseg = 1 };
	struct tio c = { .op = BLKIF_OP_READ, .id = 3, .sector = 64, .nseg = 2 };
	struct save_args x = { 0 };
	struct blkback_stats st;
	uint8_t want[8192];
	struct rsp r;

	CU_ASSERT_FATAL(create(&d, &x.be) == 0);
	fe_connect(&fe);
	fill(0, 11);
	fill(1, 22);
	memcpy(want, data_page(0), 4096);
	memcpy(want + 4096, data_page(1), 4096);
	a.seg[0] = seg(0, 0, 7);
	CU_ASSERT_EQUAL(fe_do(&fe, 1, &a), BLKIF_RSP_OKAY);
	/* b: produced but the backend not told, as a vCPU parked mid-kick */
	b.seg[0] = seg(1, 0, 7);
	fe_put(&fe, 1, &b);
	__atomic_store_n(idx(&fe.q[1], 0), fe.q[1].prod, __ATOMIC_RELEASE);

	x.w = state_writer_new_mem("t");
	on_loop(do_save, &x);
	CU_ASSERT_EQUAL_FATAL(x.rc, 0);
	x.buf = state_writer_mem(x.w, &x.len);
	on_loop(do_forget, x.be);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);

	/* The fresh backend writes its nodes as for a new domain (InitWait,
	 * the frontend's state 1); the store section puts the saved ones back. */
	CU_ASSERT_FATAL(create(&d, &x.fresh) == 0);
	on_loop(do_load, &x);
	if (x.rc)
		fprintf(stderr, "load: %s\n", x.why);
	CU_ASSERT_EQUAL(x.rc, 0);
	CU_ASSERT_STRING_EQUAL(x.why, "");
	CU_ASSERT_STRING_EQUAL(be_node(51712, "state"), "4");
	CU_ASSERT_STRING_EQUAL(fe_node(51712, "state"), "4");
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 2);

	/* b is answered once, without a kick from the guest. */
	CU_ASSERT_TRUE(fe_wait(&fe, 1, 1));
	r = fe_rsp(&fe, 1);
	CU_ASSERT_EQUAL(r.id, 2);
	CU_ASSERT_EQUAL(r.status, BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 4);      /* 2 rings of 2 pages, mapped again */
	/* c reads both back through the restored ring (queue 0 too). */
	memset(data_page(2), 0, 4096);
	memset(data_page(3), 0, 4096);
	c.seg[0] = seg(2, 0, 7);
	c.seg[1] = seg(3, 0, 7);
	CU_ASSERT_EQUAL(fe_do(&fe, 1, &c), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(memcmp(data_page(2), want, 4096), 0);
	CU_ASSERT_EQUAL(memcmp(data_page(3), want + 4096, 4096), 0);
	c.id = 4;
	CU_ASSERT_EQUAL(fe_do(&fe, 0, &c), BLKIF_RSP_OKAY);
	CU_ASSERT_FALSE(ring_wait_rsp(fe.q[1].sring, fe.q[1].cons, 1, 200));   /* nothing replayed */
	/* No renegotiation: the restored machine counts the one connect. */
	blkback_get_stats(x.fresh, &st);
	CU_ASSERT_EQUAL(st.connects, 1);
	CU_ASSERT_EQUAL(st.requests, 3);               /* b, c, c: a was the old one's */
	fe_close(&fe);
	destroy(x.fresh);
	state_writer_free(x.w);
	xbf_assert_no_leaks();
}

/* Sections that do not fit the disk are refused and leave it unconnected. */
static void test_save_refusals(void)
{
	struct blkback_disk d = disk_rw();
	struct save_args x = { 0 };
	struct blkback *be;

	CU_ASSERT_FATAL(create(&d, &be) == 0);
	for (int k = 0; k < 3; k++) {
		struct state_writer *w = state_writer_new_mem("t");

		state_section_begin(w, XEN_STATE_BLKBACK, 1);
		state_put_u32(w, k == 0 ? 51728 : 51712);      /* 0: xvdb, not in the config */
		state_put_u32(w, XenbusStateConnected);
		state_put_u32(w, XenbusStateConnected);
		state_put_u8(w, 0);
		state_put_u32(w, 1);
		state_put_u32(w, k == 1 ? 17 : 1);             /* 1: more rings than offered */
		state_put_u8(w, 0);
		state_put_u8(w, 0);
		state_put_u32(w, k == 2 ? 3 : 1);              /* 2: not a power of two */
		state_put_u32(w, 5);
		state_put_u32(w, 0);
		state_put_u32(w, 0);
		state_put_u32(w, RING_REF);
		state_section_end(w);
		CU_ASSERT_EQUAL(state_writer_finish(w), 0);
		x.fresh = be;
		x.buf = state_writer_mem(w, &x.len);
		on_loop(do_load, &x);
		CU_ASSERT(x.rc < 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(x.why, k == 0 ? "no such disk" :
					      k == 1 ? "more rings" : "ring size"));
		CU_ASSERT_EQUAL(be->nr_rings, 0);
		state_writer_free(w);
	}
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	destroy(be);
	xbf_assert_no_leaks();
}

static int suite_as_detected(void) { io_mode = IO_AS_DETECTED; return setup(); }
static int suite_uring_only(void) { io_mode = IO_URING_ONLY; return setup(); }
static int suite_inline_always(void) { io_mode = IO_INLINE_ALWAYS; return setup(); }

int main(void)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "vdev_to_devid", test_vdev },
		{ "refused_images", test_refused },
		{ "nodes_and_handshake", test_nodes_and_handshake },
		{ "rw_native", test_rw_native },
		{ "rw_x86_32", test_rw_x86_32 },
		{ "flush_barrier_native", test_flush_native },
		{ "flush_barrier_x86_32", test_flush_x86_32 },
		{ "discard_native", test_discard_native },
		{ "discard_x86_32", test_discard_x86_32 },
		{ "indirect_native", test_indirect_native },
		{ "indirect_x86_32", test_indirect_x86_32 },
		{ "persistent", test_persistent },
		{ "bad_requests", test_bad_requests },
		{ "readonly", test_readonly },
		{ "bogus_ring_and_reconnect", test_bogus_ring_and_reconnect },
		{ "multiqueue_multipage", test_multiqueue_multipage },
		{ "bad_negotiation", test_bad_negotiation },
		{ "frontend_vanishes", test_frontend_vanishes },
		{ "restart_while_connected", test_restart_while_connected },
		{ "save_restore", test_save_restore },
		{ "save_refusals", test_save_refusals },
	};
	static const struct { const char *name; CU_InitializeFunc init; } suites[] = {
		{ "blkback (I/O inline when it cannot block)", suite_as_detected },
		{ "blkback (io_uring only)", suite_uring_only },
		{ "blkback (memory-backed: all inline)", suite_inline_always },
	};

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	for (size_t k = 0; k < sizeof(suites) / sizeof(suites[0]); k++) {
		CU_pSuite s = CU_add_suite(suites[k].name, suites[k].init, teardown);

		for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
			CU_add_test(s, tests[i].name, tests[i].fn);
	}
	return cunit_run(CU_BRM_VERBOSE);
}
