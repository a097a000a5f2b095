/*
 * libFuzzer harness: the blkback ring consumer against a fuzzed blkfront.
 * The input picks the ABI, ring size, persistent grants and a read-only
 * disk, fills the shared ring (requests, indices), the grant table entries
 * (valid, read-only, foreign, missing) and the data/indirect pages, then
 * moves req_prod a few times while I/O is in flight, as a racing guest
 * would.  After each run: every grant mapping and event channel is given
 * back, responses never outrun requests, nothing is left in flight.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_guest.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/gnttab.h"
#include "../../xen-compat/blkback/blkback.h"

#define RING_GPA  0x100000ull
#define DATA_GPA  0x200000ull
#define NR_DATA   48u
#define RING_REF  1u
#define DATA_REF  16u
#define DISK_BYTES (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct blkback BE[2];   /* read-write, read-only */
static bool ready;

static void init_once(void)
{
	char path[64];
	int fd;

	fuzz_guest_init();
	fd = memfd_create("blkfuzz", 0);
	if (fd < 0 || ftruncate(fd, DISK_BYTES))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (blk_dev_init(&BE[0], F.d, path, "raw", false, false, 64) ||
	    blk_dev_init(&BE[1], F.d, path, "raw", true, false, 64))
		abort();
	ready = true;
}

static void drain(struct blkback *be)
{
	while (be->io.inflight) {
		if (blk_io_wait_one(&be->io, blk_ring_io_done, be))
			abort();
		blk_rings_flush(be);
	}
	blk_rings_flush(be);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	grant_ref_t refs[4] = { RING_REF, RING_REF + 1, RING_REF + 2, RING_REF + 3 };
	struct blk_ring_config cfg = { .refs = refs };
	struct blkback *be;
	struct blk_ring *r;
	evtchn_port_t gp = 0;
	uint8_t *ring;
	uint8_t mode, gflags;
	size_t ring_bytes;

	if (!ready)
		init_once();
	mode = take8(&c);
	be = &BE[mode >> 7];
	cfg.abi = mode & 1 ? BLK_ABI_X86_32 : BLK_ABI_X86_64;
	cfg.persistent = mode & 2;
	cfg.nr_pages = 1u << ((mode >> 2) % 3);
	ring_bytes = cfg.nr_pages * 4096;

	/* Grant entries: ring pages writable (or not, bit 4), data pages by input. */
	for (unsigned int i = 0; i < 4; i++)
		grant(RING_REF + i, 0, mode & 0x10 ? GTF_permit_access | GTF_readonly : GTF_permit_access,
		      (uint32_t)(RING_GPA / 4096) + i);
	for (unsigned int i = 0; i < NR_DATA; i++) {
		gflags = take8(&c);
		grant(DATA_REF + i, gflags & 0x40 ? 3 : 0,
		      (gflags & 3) == 3 ? 0 : GTF_permit_access | ((gflags & 3) == 1 ? GTF_readonly : 0),
		      gflags & 0x80 ? 0xfffff : (uint32_t)(DATA_GPA / 4096) + i);
	}
	ring = xen_fake_gpa(&F, RING_GPA);
	take(&c, ring, ring_bytes);
	/* Data pages double as indirect descriptor pages: fill a few. */
	for (unsigned int i = 0; i < 4; i++)
		take(&c, xen_fake_gpa(&F, DATA_GPA + i * 4096ull), 512);

	if (evtchn_alloc_guest_unbound(F.d, 0, &gp))
		abort();
	cfg.guest_port = mode & 0x20 ? gp : 0;
	be->xb.fatal = false;
	be->nr_rings = 1;
	r = &be->rings[0];
	if (blk_ring_connect(r, &cfg) == 0) {
		/* A few rounds: move req_prod, let some I/O finish, go again. */
		for (int round = 0; round < 4 && c.left; round++) {
			uint32_t prod = take32(&c);

			if (take8(&c) & 1)
				prod = r->req_cons + (prod % 40);
			__atomic_store_n((uint32_t *)ring, prod, __ATOMIC_RELEASE);
			blk_ring_process(r);
			if ((uint32_t)(r->req_cons - r->rsp_prod_pvt) > r->size)
				abort();   /* more responses than requests, or lost ones */
			if (take8(&c) & 1)
				drain(be);
			/* the guest scribbles over the ring meanwhile */
			take(&c, ring + 64, take8(&c));
		}
		drain(be);
		blk_dev_drain(be);
		if (r->nr_inflight || be->io.inflight)
			abort();
		if (!r->dead && r->req_cons != r->rsp_prod_pvt)
			abort();
		blk_ring_disconnect(r);
	}
	if (F.d->gnttab.nr_maps != 0 || evtchn_backend_nr_open(F.d) != 0)
		abort();
	{
		struct evtchn_close cl = { .port = gp };

		memcpy(xen_fake_gpa(&F, 0x2000), &cl, sizeof(cl));
		if (xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_close, 0x2000, 0))
			abort();
	}
	return 0;
}
