/*
 * Double-fetch tests: every ring consumer (blkback, netback tx and rx, the
 * guest's XenStore ring, the PV console) runs for a bounded time while a
 * second thread, the hostile guest, rewrites its shared ring page and data
 * pages continuously.  The test thread plays the well-behaved half of the
 * frontend (writes valid requests, moves req_prod, reconnects a ring the
 * backend gave up on) and drives the backend synchronously, as the fuzzers
 * do.  A backend that reads a guest field twice, or trusts one it read
 * before the guest changed it, overruns something: ASan/UBSan (make
 * check-asan) or the checks here catch it.  Each test asserts that the
 * backend
 *   - never writes guest RAM outside its ring and granted pages (a
 *     snapshot of the rest of RAM is compared afterwards),
 *   - keeps its private ring state sane (no more responses than requests)
 *     and hands the host only well-formed frames,
 *   - ends in time (an alarm kills a hang), and
 *   - gives back every grant mapping, event channel, store node.
 * DF_MS (environment) sets the time per test, default 1000 ms.  Under TSan
 * (make check-tsan) the guest's thread is invisible to the race detector:
 * its writes race with the backend's reads by design (a guest CPU's stores
 * are not C11 atomics, and the backends copy guest memory once and check
 * the copy), and TSan cannot keep the stacks of millions of such writes to
 * match a suppression against.  Races between host threads still count.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "cunit_run.h"
#include "xenkvm/xen_abi.h"
#include <xen/io/blkif.h>
#include <xen/io/console.h>
#include <xen/io/netif.h>
#include <xen/io/xs_wire.h>

#include "xen_fake_vmm.h"
#include "xenkvm/clock.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/log.h"
#include "xenkvm/net_pkt.h"
#include "xenkvm/pv_console.h"
#include "xenkvm/xenstore.h"
#include "xenkvm/xs_ring.h"
#include "../../xen-compat/blkback/blkback.h"
#include "../../xen-compat/netback/netback_priv.h"

#define RING_GPA   0x100000ull   /* up to two ring pages */
#define DATA_GPA   0x200000ull   /* NR_DATA data pages */
#define NR_DATA    16u
#define RING_REF   1u            /* + 1: the second ring page */
#define DATA_REF   16u
#define HANG_S     30u           /* a test still running after this is hung */

static struct xen_fake F;
static unsigned int df_ms = 1000;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- the hostile guest ------------------------------------------------------ */

#if defined(__SANITIZE_THREAD__)
#define DF_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DF_TSAN 1
#endif
#endif
#ifdef DF_TSAN
void __tsan_ignore_thread_begin(void);   /* TSan's runtime */
void __tsan_ignore_thread_end(void);
#endif

struct region {
	uint8_t *p;
	size_t len;      /* a multiple of 4 */
};

struct scribbler {
	pthread_t th;
	struct region r[3];
	unsigned int nr;
	int stop;
	unsigned long writes;
};

/* Aligned 32-bit stores, so the guest's writes are whole words as a
 * guest CPU's are: a random word, one flipped bit (a valid request made
 * slightly wrong), a small number (an index or size near the edge), zero. */
static void *scribble_guest(void *arg)
{
	struct scribbler *sc = arg;
	uint64_t s = 0x9e3779b97f4a7c15ull;

#ifdef DF_TSAN
	__tsan_ignore_thread_begin();
#endif
	while (!__atomic_load_n(&sc->stop, __ATOMIC_RELAXED)) {
		uint64_t x = rnd(&s);
		const struct region *g = &sc->r[x % sc->nr];
		uint32_t *w = (uint32_t *)(g->p + ((x >> 8) % g->len & ~(size_t)3));
		uint32_t v = (uint32_t)(x >> 32);

		switch ((x >> 4) & 3) {
		case 1: v = __atomic_load_n(w, __ATOMIC_RELAXED) ^ (1u << (v & 31)); break;
		case 2: v &= 0x1ff; break;
		case 3: v = 0; break;
		}
		__atomic_store_n(w, v, __ATOMIC_RELAXED);
		sc->writes++;
	}
#ifdef DF_TSAN
	__tsan_ignore_thread_end();
#endif
	return NULL;
}

static void scribble_start(struct scribbler *sc)
{
	sc->stop = 0;
	sc->writes = 0;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&sc->th, NULL, scribble_guest, sc), 0);
}

static void scribble_stop(struct scribbler *sc)
{
	__atomic_store_n(&sc->stop, 1, __ATOMIC_RELAXED);
	pthread_join(sc->th, NULL);
	CU_ASSERT(sc->writes > 0);
}

/* ---- guest RAM outside the shared pages stays as it was ----------------------- */

static uint8_t *snap;

static void snapshot_ram(void)
{
	snap = malloc(FAKE_RAM_SIZE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(snap);
	memcpy(snap, F.ram, FAKE_RAM_SIZE);
}

/* Bytes of RAM outside the pages granted to the backend (fake_up()) or
 * shared with it that changed; the first one is named. */
static size_t ram_changed_outside_shared(void)
{
	size_t changed = 0;

	for (size_t i = 0; i < FAKE_RAM_SIZE; i++) {
		bool shared = (i >= RING_GPA && i < RING_GPA + 2 * 4096) ||
			      (i >= DATA_GPA && i < DATA_GPA + NR_DATA * 4096);

		if (!shared && F.ram[i] != snap[i] && !changed++)
			printf("(guest RAM at %#zx changed) ", i);
	}
	free(snap);
	snap = NULL;
	return changed;
}

/* ---- the fake domain: rings and data pages granted to dom0 --------------------- */

static void grant(grant_ref_t ref, uint64_t gpa)
{
	struct grant_entry_v1 *e = &F.d->gnttab.frames[ref / GNTTAB_ENTRIES_PER_FRAME]
					    .entries[ref % GNTTAB_ENTRIES_PER_FRAME];

	e->domid = 0;
	e->frame = (uint32_t)(gpa / 4096);
	__atomic_store_n(&e->flags, GTF_permit_access, __ATOMIC_RELEASE);
}

static void fake_up(void)
{
	CU_ASSERT_EQUAL_FATAL(xen_fake_init(&F, 1), 0);
	for (unsigned int f = 0; f < 2; f++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(gnttab_frame(F.d, f));
		memset(F.d->gnttab.frames[f].entries, 0, 4096);
	}
	grant(RING_REF, RING_GPA);
	grant(RING_REF + 1, RING_GPA + 4096);
	for (unsigned int i = 0; i < NR_DATA; i++)
		grant(DATA_REF + i, DATA_GPA + i * 4096ull);
	alarm(HANG_S + df_ms / 1000);
}

static void fake_down(void)
{
	alarm(0);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
	xen_fake_fini(&F);
}

static uint8_t *gpa(uint64_t a) { return xen_fake_gpa(&F, a); }

/* ---- blkback ---------------------------------------------------------------------- */

/* One read or write at ring index i in blkback.h's layout for the ABI: direct
 * (up to 11 segments) or, one time in four, indirect (up to 64 segments
 * whose descriptors are in the last data page, which the guest rewrites too). */
static void blk_put_req(uint8_t *ring, enum blk_abi abi, uint32_t size, uint32_t i, uint64_t *s)
{
	unsigned int es = abi == BLK_ABI_X86_32 ? 108 : 112, id_off = abi == BLK_ABI_X86_32 ? 4 : 8;
	uint8_t *e = ring + BLK_SRING_HDR + (size_t)(i & (size - 1)) * es;
	uint64_t x = rnd(s), id = i, sector = x % 1000;
	uint8_t op = (x >> 8) & 1 ? BLKIF_OP_WRITE : BLKIF_OP_READ;
	unsigned int nseg;

	memset(e, 0, es);
	memcpy(e + id_off, &id, 8);
	memcpy(e + id_off + 8, &sector, 8);
	if ((x >> 12) % 4 == 0) {
		uint8_t *desc = gpa(DATA_GPA + (NR_DATA - 1) * 4096ull);
		uint16_t nind = (uint16_t)(1 + (x >> 16) % 64);
		uint32_t page = DATA_REF + NR_DATA - 1;

		e[0] = BLKIF_OP_INDIRECT;
		e[1] = op;
		memcpy(e + 2, &nind, 2);
		memcpy(e + id_off + 20, &page, 4);
		for (unsigned int k = 0; k < nind; k++) {
			uint32_t gref = DATA_REF + k % (NR_DATA - 1);

			memcpy(desc + k * 8, &gref, 4);
			desc[k * 8 + 4] = 0;
			desc[k * 8 + 5] = 7;
		}
		return;
	}
	e[0] = op;
	/* A local count: the scribbler thread rewrites the ring under us. */
	nseg = (unsigned int)(1 + (x >> 16) % BLK_MAX_DIRECT_SEGS);
	e[1] = (uint8_t)nseg;
	for (unsigned int k = 0; k < nseg; k++) {
		uint32_t gref = DATA_REF + (uint32_t)((x >> (20 + k)) % NR_DATA);

		memcpy(e + id_off + 16 + k * 8, &gref, 4);
		e[id_off + 16 + k * 8 + 4] = 0;
		e[id_off + 16 + k * 8 + 5] = 7;
	}
}

static void blk_drain(struct blkback *be)
{
	while (be->io.inflight) {
		CU_ASSERT_EQUAL_FATAL(blk_io_wait_one(&be->io, blk_ring_io_done, be), 0);
		blk_rings_flush(be);
	}
	blk_rings_flush(be);
}

static void blk_disconnect(struct blkback *be, struct blk_ring *r)
{
	blk_drain(be);
	blk_dev_drain(be);
	CU_ASSERT_EQUAL(r->nr_inflight, 0);
	blk_ring_disconnect(r);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
}

static void test_blkback_ring(void)
{
	static struct blkback be;
	grant_ref_t refs[2] = { RING_REF, RING_REF + 1 };
	struct blk_ring_config cfg = { .abi = BLK_ABI_X86_64, .nr_pages = 2, .refs = refs };
	struct blk_ring *r = &be.rings[0];
	struct scribbler sc = { .nr = 2 };
	uint8_t *ring;
	unsigned int rounds = 0, reconnects = 0;
	uint64_t s = 1, end;
	char path[64];
	int fd;

	fake_up();
	ring = gpa(RING_GPA);
	sc.r[0] = (struct region){ ring, 2 * 4096 };
	sc.r[1] = (struct region){ gpa(DATA_GPA), NR_DATA * 4096 };
	fd = memfd_create("df-disk", 0);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	CU_ASSERT_EQUAL_FATAL(blk_dev_init(&be, F.d, path, "raw", false, false, 64), 0);
	be.nr_rings = 1;
	snapshot_ram();
	scribble_start(&sc);
	end = clock_mono_ms() + df_ms;
	while (clock_mono_ms() < end) {
		uint32_t k = 1 + (uint32_t)(rnd(&s) % 8);

		if (!r->connected) {
			cfg.persistent = rounds & 1;
			cfg.abi = reconnects & 2 ? BLK_ABI_X86_32 : BLK_ABI_X86_64;
			be.xb.fatal = false;
			CU_ASSERT_EQUAL_FATAL(blk_ring_connect(r, &cfg), 0);
		}
		for (uint32_t j = 0; j < k; j++)
			blk_put_req(ring, cfg.abi, r->size, r->req_cons + j, &s);
		__atomic_store_n((uint32_t *)ring, r->req_cons + k, __ATOMIC_RELEASE);
		blk_ring_process(r);
		CU_ASSERT((uint32_t)(r->req_cons - r->rsp_prod_pvt) <= r->size);
		blk_drain(&be);
		if (!r->dead)
			CU_ASSERT_EQUAL(r->req_cons, r->rsp_prod_pvt);
		if (r->dead || ++rounds % 64 == 0) {
			blk_disconnect(&be, r);
			reconnects++;
		}
	}
	scribble_stop(&sc);
	if (r->connected)
		blk_disconnect(&be, r);
	printf("(%u rounds, %u reconnects, %llu requests, %llu failed, %lu guest writes) ", rounds,
	       reconnects, (unsigned long long)be.stats.requests,
	       (unsigned long long)be.stats.errors, sc.writes);
	CU_ASSERT(rounds > 0);
	CU_ASSERT_EQUAL(be.io.inflight, 0);
	CU_ASSERT_EQUAL(ram_changed_outside_shared(), 0);
	blk_dev_fini(&be);
	close(fd);
	fake_down();
}

/* ---- netback ----------------------------------------------------------------------- */

static unsigned int nb_frames, nb_bad_frames;
static uint64_t nb_sink;

/* The host endpoint: reads every byte, checks the metadata against the
 * frame it came with. */
static int df_host_tx(void *opaque, const struct iovec *iov, int iovcnt,
		      const struct net_pkt_meta *m)
{
	size_t len = 0;

	(void)opaque;
	for (int i = 0; i < iovcnt; i++) {
		for (size_t j = 0; j < iov[i].iov_len; j++)
			nb_sink += ((const uint8_t *)iov[i].iov_base)[j];
		len += iov[i].iov_len;
	}
	nb_frames++;
	if (len < 14 || len > NET_PKT_MAX_FRAME ||
	    ((m->flags & NET_PKT_CSUM_PARTIAL) && (size_t)m->csum_start + m->csum_offset + 2 > len) ||
	    (m->gso_type != NET_PKT_GSO_NONE &&
	     (!(m->flags & NET_PKT_CSUM_PARTIAL) || !m->gso_size || !m->hdr_len || m->hdr_len > len)))
		nb_bad_frames++;
	return 0;
}

static struct netback NB;

static void nb_up(void)
{
	fake_up();
	CU_ASSERT_EQUAL_FATAL(nb_dev_init(&NB, F.d), 0);
	NB.tx = df_host_tx;
	NB.fe = (struct nb_features){ .sg = true, .gso_tcpv4 = true, .gso_tcpv6 = true,
				      .csum = true, .ipv6_csum = true };
	NB.nr_queues = 1;
	nb_frames = nb_bad_frames = 0;
}

static void nb_connect(struct nb_queue *q)
{
	struct nb_queue_config cfg = { .tx_ref = RING_REF, .rx_ref = RING_REF + 1 };

	NB.xb.fatal = false;
	NB.rx_waiting = false;
	CU_ASSERT_EQUAL_FATAL(nb_queue_connect(q, &cfg), 0);
}

static void nb_down(void)
{
	nb_queue_disconnect(&NB.queues[0]);
	NB.nr_queues = 0;
	CU_ASSERT_EQUAL(nb_bad_frames, 0);
	CU_ASSERT_EQUAL(ram_changed_outside_shared(), 0);
	nb_dev_fini(&NB);
	fake_down();
}

/* A TCP/IPv4 frame of `len` bytes in data page `pg` at `off` (head only). */
static void nb_put_frame(unsigned int pg, unsigned int off, unsigned int len)
{
	uint8_t *p = gpa(DATA_GPA + pg * 4096ull) + off;

	memset(p, 0, len);
	p[12] = 0x08;
	p[14] = 0x45;
	p[16] = (uint8_t)((len - 14) >> 8);
	p[17] = (uint8_t)(len - 14);
	p[22] = 64;
	p[23] = 6;
	p[14 + 20 + 12] = 0x50;
}

static void nb_put_tx(uint8_t *txr, uint32_t i, uint32_t gref, uint16_t off, uint16_t flags,
		      uint16_t id, uint16_t size)
{
	struct netif_tx_request t = { .gref = gref, .offset = off, .flags = flags, .id = id,
				      .size = size };

	memcpy(txr + NB_SRING_HDR + (size_t)(i % NB_RING_SIZE) * NB_TX_ENTRY, &t, sizeof(t));
}

static void test_netback_tx(void)
{
	struct nb_queue *q = &NB.queues[0];
	struct scribbler sc = { .nr = 2 };
	unsigned int rounds = 0;
	uint64_t s = 2, end;
	uint8_t *txr;

	nb_up();
	txr = gpa(RING_GPA);
	sc.r[0] = (struct region){ txr, 4096 };
	sc.r[1] = (struct region){ gpa(DATA_GPA), NR_DATA * 4096 };
	snapshot_ram();
	scribble_start(&sc);
	end = clock_mono_ms() + df_ms;
	while (clock_mono_ms() < end) {
		uint32_t i, k = 1 + (uint32_t)(rnd(&s) % 6);

		if (!q->connected)
			nb_connect(q);
		i = q->tx_req_cons;
		/* Frames of one to three slots, some with a GSO extra. */
		for (uint32_t f = 0; f < k; f++) {
			uint64_t x = rnd(&s);
			unsigned int pg = (unsigned int)(x % NR_DATA), nfrag = (unsigned int)(x >> 8) % 3;
			uint16_t head = (uint16_t)(60 + (x >> 16) % 1400), frag = 100;
			bool gso = (x >> 32) & 1;

			nb_put_frame(pg, 0, head);
			nb_put_tx(txr, i, DATA_REF + pg, 0,
				  (uint16_t)((nfrag ? NETTXF_more_data : 0) |
					     (gso ? NETTXF_extra_info | NETTXF_csum_blank : 0)),
				  (uint16_t)i, (uint16_t)(head + nfrag * frag));
			i++;
			if (gso) {
				/* A GSO extra, then up to four more (one too many at
				 * most); a slot's last 4 bytes, unused by an extra,
				 * hold whatever the frontend left there. */
				unsigned int nx = 1 + (unsigned int)(x >> 40) % 5;

				for (unsigned int n = 0; n < nx; n++, i++) {
					struct netif_extra_info e = { .type = (uint8_t)(1 + n % 3) };
					uint8_t slot[NB_TX_ENTRY] = { 0 };
					uint32_t tail = (uint32_t)(x >> (44 + n)) & 7;

					e.flags = n + 1 < nx ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
					if (n == 0) {
						e.u.gso.size = 536;
						e.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
					}
					memcpy(slot, &e, sizeof(e));
					memcpy(slot + sizeof(e), &tail, sizeof(tail));
					memcpy(txr + NB_SRING_HDR + (size_t)(i % NB_RING_SIZE) * NB_TX_ENTRY,
					       slot, sizeof(slot));
				}
			}
			for (unsigned int n = 0; n < nfrag; n++, i++)
				nb_put_tx(txr, i, DATA_REF + (pg + 1 + n) % NR_DATA, 2000,
					  n + 1 < nfrag ? NETTXF_more_data : 0, (uint16_t)i, frag);
		}
		__atomic_store_n((uint32_t *)txr, i, __ATOMIC_RELEASE);
		nb_tx_process(q);
		CU_ASSERT((uint32_t)(q->tx_req_cons - q->tx_rsp_prod_pvt) <= NB_RING_SIZE);
		if (!q->dead)
			CU_ASSERT_EQUAL(q->tx_req_cons, q->tx_rsp_prod_pvt);
		if (q->dead || ++rounds % 64 == 0) {
			nb_queue_disconnect(q);
			CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
		}
	}
	scribble_stop(&sc);
	printf("(%u rounds, %u frames to the host, %lu guest writes) ", rounds, nb_frames, sc.writes);
	CU_ASSERT(rounds > 0);
	nb_down();
}

static void test_netback_rx(void)
{
	static uint8_t frame[3 * 4096];
	struct nb_queue *q = &NB.queues[0];
	struct scribbler sc = { .nr = 2 };
	unsigned int rounds = 0, bad_rc = 0;
	uint32_t prod = 0;
	uint64_t s = 3, end;
	uint8_t *rxr;

	nb_up();
	rxr = gpa(RING_GPA + 4096);
	sc.r[0] = (struct region){ rxr, 4096 };
	sc.r[1] = (struct region){ gpa(DATA_GPA), NR_DATA * 4096 };
	snapshot_ram();
	scribble_start(&sc);
	end = clock_mono_ms() + df_ms;
	while (clock_mono_ms() < end) {
		uint64_t x = rnd(&s);
		size_t len = 60 + (size_t)(x % (sizeof(frame) - 60));
		struct net_pkt_meta m = { 0 };
		struct iovec iov = { frame, len };
		int rc;

		if (!q->connected) {
			nb_connect(q);
			prod = 0;
		}
		/* The frontend posts buffers up to a full ring. */
		while (prod - q->rx_rsp_prod_pvt < NB_RING_SIZE) {
			struct netif_rx_request rq = { .id = (uint16_t)prod,
						       .gref = DATA_REF + prod % NR_DATA };

			memcpy(rxr + NB_SRING_HDR + (size_t)(prod % NB_RING_SIZE) * NB_RX_ENTRY, &rq,
			       sizeof(rq));
			prod++;
		}
		__atomic_store_n((uint32_t *)rxr, prod, __ATOMIC_RELEASE);
		memset(frame, (int)(x >> 8), len);
		frame[12] = 0x08;
		frame[13] = 0;
		frame[14] = 0x45;
		frame[16] = (uint8_t)((len - 14) >> 8);
		frame[17] = (uint8_t)(len - 14);
		frame[23] = 6;
		frame[14 + 20 + 12] = 0x50;
		if ((x >> 24) & 1)
			m = (struct net_pkt_meta){ .flags = NET_PKT_CSUM_PARTIAL,
						   .gso_type = (x >> 25) & 1 ? NET_PKT_GSO_TCPV4
									  : NET_PKT_GSO_NONE,
						   .gso_size = 1448, .hdr_len = 54,
						   .csum_start = 34, .csum_offset = 16 };
		NB.fe.sg = (x >> 26) & 1;
		NB.fe.gso_tcpv4 = (x >> 27) & 1;
		rc = netback_rx(&NB, &iov, 1, &m);
		if (rc && rc != -EAGAIN)
			bad_rc++;
		if (!q->dead)
			CU_ASSERT_EQUAL(q->rx_req_cons, q->rx_rsp_prod_pvt);
		/* The frontend takes the responses it was given. */
		if (q->dead || ++rounds % 64 == 0) {
			nb_queue_disconnect(q);
			CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
		}
	}
	scribble_stop(&sc);
	printf("(%u rounds, %lu frames to the guest, %lu guest writes) ", rounds,
	       (unsigned long)NB.stats.rx_packets, sc.writes);
	CU_ASSERT(rounds > 0);
	CU_ASSERT_EQUAL(bad_rc, 0);
	nb_down();
}

/* ---- the guest's XenStore ring ---------------------------------------------------------- */

static void xs_notify(void *opaque) { (void)opaque; }

/* The guest's put, as much as fits; its own indices read once. */
static void xs_guest_put(struct xenstore_domain_interface *intf, const void *buf, size_t len)
{
	uint32_t prod = __atomic_load_n(&intf->req_prod, __ATOMIC_RELAXED);
	uint32_t cons = __atomic_load_n(&intf->req_cons, __ATOMIC_RELAXED);

	for (size_t n = 0; n < len && prod - cons < XENSTORE_RING_SIZE; n++)
		__atomic_store_n(&intf->req[MASK_XENSTORE_IDX(prod++)], ((const char *)buf)[n],
				 __ATOMIC_RELAXED);
	__atomic_store_n(&intf->req_prod, prod, __ATOMIC_RELEASE);
}

static void test_xenstore_ring(void)
{
	static const struct xs_ring_ops ops = { xs_notify, NULL };
	static const struct { uint32_t type; const char *body; size_t len; } reqs[] = {
		{ XS_WRITE, "/local/domain/5/data/x\0value", 28 },
		{ XS_READ, "/local/domain/5/data/x", 23 },
		{ XS_DIRECTORY, "/local/domain/5", 16 },
		{ XS_WATCH, "/local/domain/5/data\0tok", 25 },
		{ XS_RM, "/local/domain/5/data/x", 23 },
		{ XS_UNWATCH, "/local/domain/5/data\0tok", 25 },
	};
	struct xenstore_domain_interface *intf = aligned_alloc(4096, 4096);
	struct xs_perm home = { 5, XS_P_NONE };
	struct scribbler sc = { .r = { { (uint8_t *)intf, 4096 } }, .nr = 1 };
	unsigned int rounds = 0, bad_rc = 0;
	struct xs_ring *r = NULL;
	struct xs_client *d0;
	struct xs_store *s;
	uint64_t seed = 4, end;

	CU_ASSERT_PTR_NOT_NULL_FATAL(intf);
	memset(intf, 0, 4096);
	alarm(HANG_S + df_ms / 1000);
	s = xs_store_new(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	d0 = xs_client_new(s, 0, true, NULL, NULL);
	CU_ASSERT_EQUAL(xs_store_mkdir(d0, 0, "/local/domain/5"), 0);
	CU_ASSERT_EQUAL(xs_store_set_perms(d0, 0, "/local/domain/5", &home, 1), 0);
	CU_ASSERT_EQUAL_FATAL(xs_ring_new(s, 5, intf, &ops, NULL, &r), 0);
	scribble_start(&sc);
	end = clock_mono_ms() + df_ms;
	while (clock_mono_ms() < end) {
		uint64_t x = rnd(&seed);
		unsigned int k = (unsigned int)(x % 6);
		struct xsd_sockmsg h = { .type = reqs[k].type, .req_id = rounds,
					 .len = (uint32_t)reqs[k].len };
		int rc;

		if (xs_ring_dead(r))
			__atomic_store_n(&intf->connection, XENSTORE_RECONNECT, __ATOMIC_RELEASE);
		xs_guest_put(intf, &h, sizeof(h));
		xs_guest_put(intf, reqs[k].body, reqs[k].len);
		rc = xs_ring_handle(r);
		if (rc != 0 && rc != 1 && rc != -EPIPE)
			bad_rc++;
		/* The guest reads every reply. */
		__atomic_store_n(&intf->rsp_cons, __atomic_load_n(&intf->rsp_prod, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
		if ((x >> 8) % 16 == 0)
			xs_store_write(d0, 0, "/local/domain/5/data/y", "v", 1);
		rounds++;
	}
	scribble_stop(&sc);
	CU_ASSERT(rounds > 0);
	CU_ASSERT_EQUAL(bad_rc, 0);
	CU_ASSERT_EQUAL(xs_store_check(s), 0);
	xs_ring_free(r);
	xs_client_free(d0);
	xs_store_free(s);
	free(intf);
	CU_ASSERT_EQUAL(xs_node_count(), 0);
	alarm(0);
}

/* ---- the PV console ring ------------------------------------------------------------------- */

static void test_pv_console(void)
{
	struct xencons_interface *intf;
	struct pv_console_params p = { .ring_gfn = RING_GPA >> 12 };
	struct pv_console *pc = NULL;
	struct scribbler sc = { .nr = 1 };
	unsigned int rounds = 0, too_much = 0;
	int out[2], in[2];
	char sink[8192];
	uint64_t s = 5, end;

	fake_up();
	intf = (struct xencons_interface *)gpa(RING_GPA);
	sc.r[0] = (struct region){ (uint8_t *)intf, 4096 };
	CU_ASSERT_FATAL(pipe2(out, O_NONBLOCK) == 0 && pipe2(in, O_NONBLOCK) == 0);
	p.dom = F.d;
	p.ring_page = intf;
	p.out_fd = out[1];
	p.in_fd = in[0];
	CU_ASSERT_EQUAL_FATAL(pv_console_start(&p, &pc), 0);
	snapshot_ram();
	scribble_start(&sc);
	end = clock_mono_ms() + df_ms;
	while (clock_mono_ms() < end) {
		uint64_t x = rnd(&s);
		XENCONS_RING_IDX prod = __atomic_load_n(&intf->out_prod, __ATOMIC_RELAXED);
		unsigned int n = (unsigned int)(x % 64);
		ssize_t got;

		/* The guest writes output and takes the input it was given. */
		for (unsigned int k = 0; k < n; k++)
			__atomic_store_n(&intf->out[MASK_XENCONS_IDX(prod + k, intf->out)], 'a' + k % 26,
					 __ATOMIC_RELAXED);
		__atomic_store_n(&intf->out_prod, prod + n, __ATOMIC_RELEASE);
		__atomic_store_n(&intf->in_cons, __atomic_load_n(&intf->in_prod, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
		if (((x >> 8) & 1) && write(in[1], "host input\n", 11) < 0)
			break;
		pv_console_pump(pc);
		got = read(out[0], sink, sizeof(sink));
		if (got > (ssize_t)sizeof(intf->out))
			too_much++;
		rounds++;
	}
	scribble_stop(&sc);
	CU_ASSERT(rounds > 0);
	CU_ASSERT_EQUAL(too_much, 0);
	CU_ASSERT_EQUAL(ram_changed_outside_shared(), 0);
	pv_console_stop(pc);
	evtchn_reset(F.d, DOMID_SELF);   /* the guest's end of the console channel */
	close(out[0]);
	close(out[1]);
	close(in[0]);
	close(in[1]);
	fake_down();
}

int main(void)
{
	const char *ms = getenv("DF_MS");
	CU_pSuite su;

	if (ms && atoi(ms) > 0)
		df_ms = (unsigned int)atoi(ms);
	log_set_level(LOG_ERR);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	su = CU_add_suite("double_fetch", NULL, NULL);
	CU_add_test(su, "blkback ring under a scribbling guest", test_blkback_ring);
	CU_add_test(su, "netback tx ring under a scribbling guest", test_netback_tx);
	CU_add_test(su, "netback rx ring under a scribbling guest", test_netback_rx);
	CU_add_test(su, "xenstore ring under a scribbling guest", test_xenstore_ring);
	CU_add_test(su, "pv console ring under a scribbling guest", test_pv_console);
	return cunit_run(CU_BRM_VERBOSE);
}
