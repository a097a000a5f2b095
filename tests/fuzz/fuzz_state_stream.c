/*
 * libFuzzer harness: the state-stream loader with xen-compat's handlers
 * (domain, event channels, grant table) and the XenStore's, loading into
 * a fresh fake domain and store built as xenkvmd builds them, with the
 * guest's XenStore connection (its partial request and output queue), a
 * disk (blkback, vbd 51712) and a vif (netback, vif 0).  The fresh domain
 * has two more backend channels and grant entries 1-4 for ring pages, so
 * a backend section alone can connect; a connected ring then runs once
 * over whatever the guest memory holds.
 *
 * Input: [0] mode.  Mode bit 1 set: no section is required (a stream of
 * a few sections loads).  Mode bit 0 clear: the rest is a raw stream (header,
 * sections, CRCs: the reader's own checks).  Set: the rest is records
 * [selector u8, length u16 LE, payload] written as sections with correct
 * CRCs, so the handlers see arbitrary payloads; the selector picks one of
 * the known section ids (0-4 as before, 5 blkback, 6 netback; 7: the next
 * u32 as the id) and its high bit a version of 2.
 *
 * After a load that succeeded the state must be usable: the store passes
 * xs_store_check, the port counts match the table, every backend link
 * points back, guest sends on every port do not crash, and the
 * connection's restored output drains.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../unit/xen_fake_vmm.h"
#include "../../xen-compat/blkback/blkback.h"
#include "../../xen-compat/netback/netback_priv.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_state.h"
#include "xenkvm/xenstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct xen_fake F;

static void be_fn(void *opaque, evtchn_port_t be)
{
	(void)opaque;
	(void)be;
}

static const struct xs_domain_info di = {
	.domid = FAKE_DOMID, .name = "guest", .uuid = "12345678-1234-1234-1234-123456789abc",
	.max_memkb = 4096, .target_memkb = 4096, .vcpus = 2, .store_pfn = 0x3ff, .store_port = 1,
	.hvm = true,
};

static const uint32_t ids[] = { XEN_STATE_DOMAIN, XEN_STATE_EVTCHN, XEN_STATE_GNTTAB,
				XEN_STATE_XENSTORE, XEN_STATE_XS_CONN, XEN_STATE_BLKBACK,
				XEN_STATE_NETBACK };

#define RING_GPA 0x40000ull   /* grant refs 1-4: its four pages */

/* The backends, built once (a disk on a memfd); each run gives them the
 * fresh domain and takes back whatever a load connected. */
static struct blkback BE;
static struct netback NB;

static void backends_init(void)
{
	static bool done;
	char path[64];
	int fd;

	if (done)
		return;
	fd = memfd_create("statefuzz", 0);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (blk_dev_init(&BE, NULL, path, "raw", false, false, 64) || nb_dev_init(&NB, NULL))
		abort();
	BE.devid = 51712;
	BE.max_queues = 4;
	BE.max_ring_order = 4;
	NB.devid = 0;
	NB.max_queues = 4;
	done = true;
}

static void backends_attach(struct xen_domain *d)
{
	BE.dom = NB.dom = d;
	BE.nr_rings = NB.nr_queues = 0;
	BE.xb.be_state = NB.xb.be_state = 2;   /* InitWait, as created */
	BE.xb.fe_state = NB.xb.fe_state = -1;
	BE.xb.fatal = NB.xb.fatal = false;
}

/* A loaded ring serves once, then everything is taken down again. */
static void backends_detach(void)
{
	for (unsigned int q = 0; q < BE.nr_rings; q++)
		if (BE.rings[q].connected)
			blk_ring_process(&BE.rings[q]);
	blk_dev_drain(&BE);
	for (unsigned int q = 0; q < BLK_MAX_QUEUES; q++)
		blk_ring_disconnect(&BE.rings[q]);
	BE.nr_rings = 0;
	for (unsigned int q = 0; q < NB.nr_queues; q++)
		if (NB.queues[q].connected)
			nb_tx_process(&NB.queues[q]);
	for (unsigned int q = 0; q < NB_MAX_QUEUES; q++)
		nb_queue_disconnect(&NB.queues[q]);
	NB.nr_queues = 0;
}

static int fuzz_tx(void *opaque, const struct iovec *iov, int iovcnt,
		   const struct net_pkt_meta *meta)
{
	(void)opaque;
	(void)iov;
	(void)iovcnt;
	(void)meta;
	return 0;
}
#define NR_IDS (sizeof(ids) / sizeof(ids[0]))

/* The guest's ring as a sink: no input, any output taken. */
static ssize_t t_read(void *o, void *buf, size_t len)
{
	(void)o;
	(void)buf;
	(void)len;
	return 0;
}

static ssize_t t_write(void *o, const void *buf, size_t len)
{
	(void)o;
	(void)buf;
	return (ssize_t)len;
}

static const struct xs_transport_ops t_ops = { .read = t_read, .write = t_write };

static struct state_writer *structured(const uint8_t *p, size_t n)
{
	struct state_writer *w = state_writer_new_mem("fuzz");

	if (!w)
		abort();
	while (n >= 3) {
		uint8_t sel = p[0];
		size_t len = (size_t)p[1] | (size_t)p[2] << 8;
		uint32_t id;

		p += 3;
		n -= 3;
		if ((sel & 0x7f) % (NR_IDS + 1) == NR_IDS && n >= 4) {
			id = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			     (uint32_t)p[3] << 24;
			p += 4;
			n -= 4;
			if (id == STATE_SECTION_END)
				id = 1;
		} else {
			id = ids[(sel & 0x7f) % NR_IDS];
		}
		if (len > n)
			len = n;
		state_section_begin(w, id, sel & 0x80 ? 2 : 1);
		state_put_bytes(w, p, len);
		state_section_end(w);
		p += len;
		n -= len;
	}
	state_writer_finish(w);
	return w;
}

static void check_loaded(struct xs_store *s, struct xs_conn *conn)
{
	struct xen_domain *d = F.d;
	const struct evtchn_table *t = &d->evtchn;
	unsigned int open = 0, be_open = 0;

	if (xs_store_check(s))
		abort();
	for (int i = 0; i < 4 && xs_conn_want_write(conn); i++)
		xs_conn_process(conn);
	for (evtchn_port_t p = 1; p < XEN_2L_MAX_PORTS; p++) {
		const struct evtchn_port *q = &t->ports[p];

		if (q->state == EVTCHNSTAT_closed)
			continue;
		open++;
		if (q->state == EVTCHNSTAT_interdomain && q->remote_dom == 0 &&
		    (q->u >= EVTCHN_BE_MAX_PORTS || !t->be[q->u].open || t->be[q->u].guest_port != p))
			abort();
	}
	for (evtchn_port_t p = 1; p < EVTCHN_BE_MAX_PORTS; p++)
		be_open += t->be[p].open;
	if (open != t->nr_open || be_open != t->nr_be_open)
		abort();
	/* Use the restored table: guest sends, backend notifies, closes. */
	for (evtchn_port_t p = 1; p < 64; p++) {
		struct evtchn_send op = { .port = p };

		memcpy(xen_fake_gpa(&F, 0x2000), &op, sizeof(op));
		xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_send, 0x2000, 0);
	}
	for (evtchn_port_t p = 1; p < 16; p++)
		evtchn_backend_notify(d, p);
	for (evtchn_port_t p = 1; p < 64; p++) {
		struct evtchn_close op = { .port = p };

		memcpy(xen_fake_gpa(&F, 0x2000), &op, sizeof(op));
		xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_close, 0x2000, 0);
	}
	for (unsigned int v = 0; v < F.p.nr_vcpus; v++)
		xen_vcpu_timer_expired(d, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct state_handler h[XEN_STATE_NR_HANDLERS + 4];
	struct blkback *disks[1] = { &BE };
	struct netback *vifs[1] = { &NB };
	struct blkback_state_load bctx = { disks, 1, 0 };
	struct netback_state_load nctx = { vifs, 1, 0 };
	struct xen_state_load xctx;
	struct xs_state_load sctx;
	struct xs_client *g, *clients[1];
	struct state_writer *w = NULL;
	struct state_reader *r;
	struct xs_store *s;
	struct xs_conn *conn;
	evtchn_port_t gp, bp;

	if (!quiet) {
		log_set_level(LOG_ERR);
		quiet = true;
	}
	if (!size)
		return 0;
	if (xen_fake_init(&F, 2))
		abort();
	s = xs_store_new(NULL);
	if (!s || xs_domain_populate_dom0(s) || xs_domain_populate(s, &di))
		abort();
	conn = xs_conn_new(s, FAKE_DOMID, false, &t_ops, NULL);
	g = conn ? xs_conn_client(conn) : NULL;
	if (!g || evtchn_backend_channel(F.d, be_fn, NULL, &gp, &bp))
		abort();
	/* Ports 2 and 3 for the backends (their backend ports 2 and 3), ring
	 * pages behind grant refs 1-4. */
	for (int i = 0; i < 2; i++)
		if (evtchn_backend_channel(F.d, be_fn, NULL, &gp, &bp))
			abort();
	if (!gnttab_frame(F.d, 0))
		abort();
	for (grant_ref_t ref = 1; ref <= 4; ref++) {
		struct grant_entry_v1 *e = &F.d->gnttab.frames[0].entries[ref];

		e->domid = 0;
		e->frame = (uint32_t)(RING_GPA / 4096) + ref - 1;
		e->flags = GTF_permit_access;
	}
	backends_init();
	backends_attach(F.d);
	NB.tx = fuzz_tx;
	clients[0] = g;
	if (data[0] & 1) {
		size_t len;
		const uint8_t *p;

		w = structured(data + 1, size - 1);
		p = state_writer_mem(w, &len);
		r = state_reader_new_mem(p, len);
	} else {
		r = state_reader_new_mem(data + 1, size - 1);
	}
	if (!r)
		abort();
	xen_domain_state_handlers(F.d, &xctx, h);
	sctx = (struct xs_state_load){ s, clients, 1 };
	xs_store_state_handler(&sctx, &h[XEN_STATE_NR_HANDLERS]);
	xs_conn_state_handler(conn, &h[XEN_STATE_NR_HANDLERS + 1]);
	blkback_state_handler(&bctx, &h[XEN_STATE_NR_HANDLERS + 2]);
	netback_state_handler(&nctx, &h[XEN_STATE_NR_HANDLERS + 3]);
	/* Not required here: the other sections load without them. */
	h[XEN_STATE_NR_HANDLERS + 2].required = h[XEN_STATE_NR_HANDLERS + 3].required = false;
	for (unsigned int i = 0; i < XEN_STATE_NR_HANDLERS + 4 && (data[0] & 2); i++)
		h[i].required = false;
	if (state_reader_header(r) == 0 && state_load(r, h, XEN_STATE_NR_HANDLERS + 4) == 0) {
		backends_detach();
		check_loaded(s, conn);
	} else if (!state_reader_error(r)[0]) {
		abort();   /* every refusal says why */
	}
	backends_detach();
	if (F.d->gnttab.nr_maps)
		abort();   /* a refused backend section left a mapping */
	state_reader_free(r);
	state_writer_free(w);
	xs_conn_free(conn);
	xs_store_free(s);
	xen_fake_fini(&F);
	return 0;
}
