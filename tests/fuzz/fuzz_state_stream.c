/*
 * libFuzzer harness: the state-stream loader with xen-compat's handlers
 * (domain, event channels, grant table) and the XenStore's, loading into
 * a fresh fake domain and store built as xenkvmd builds them, with the
 * guest's XenStore connection (its partial request and output queue).
 *
 * Input: [0] mode.  Mode bit 0 clear: the rest is a raw stream (header,
 * sections, CRCs: the reader's own checks).  Set: the rest is records
 * [selector u8, length u16 LE, payload] written as sections with correct
 * CRCs, so the handlers see arbitrary payloads; the selector picks one of
 * the known section ids (or, 5, the next u32 as the id) and its high bit
 * a version of 2.
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

#include "../unit/xen_fake_vmm.h"
#include "xenkvm/evtchn.h"
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
				XEN_STATE_XENSTORE, XEN_STATE_XS_CONN };
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
	struct state_handler h[XEN_STATE_NR_HANDLERS + 2];
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
	if (state_reader_header(r) == 0 && state_load(r, h, XEN_STATE_NR_HANDLERS + 2) == 0)
		check_loaded(s, conn);
	else if (!state_reader_error(r)[0])
		abort();   /* every refusal says why */
	state_reader_free(r);
	state_writer_free(w);
	xs_conn_free(conn);
	xs_store_free(s);
	xen_fake_fini(&F);
	return 0;
}
