/*
 * netback end to end on fake guest memory: a fake netfront writes its
 * XenStore nodes as domain 7, grants ring and buffer pages in the fake
 * grant table, produces tx requests and posts rx buffers in the shared
 * rings (encoded here from the public netif.h structures, independently
 * of the backend), kicks through EVTCHNOP_send, and checks responses,
 * what reached the fake host endpoint (the tx callback), what landed in
 * guest memory, and every leak counter.  The backend runs on a real
 * event-loop thread as in the daemon.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "cunit_run.h"
#include "xenkvm/xen_abi.h"
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>

#include "xenbus_fixture.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/log.h"
#include "xenkvm/net_pkt.h"
#include "xenkvm/netback.h"
#include "xenkvm/xenstore.h"
#include "xenkvm/xen_state.h"
#include "../../xen-compat/netback/netback_priv.h"

#define ARG_GPA     0x1000ull
#define TXR_GPA     0x100000ull   /* ring set r: + r * 0x2000; rx ring one page above */
#define TXD_GPA     0x200000ull   /* 128 tx data pages */
#define RXB_GPA     0x300000ull   /* 256 rx buffer pages, one per ring index */
#define TXR_REF     1u            /* ring set r: + 2r; rx ring + 2r + 1 */
/* Each vif's queues have rings of their own: a vif that two frontends
 * shared would see the other's responses (and TSan the race). */
#define RING_SET(devid, qi) ((devid) * 8u + (qi))
#define TXD_REF     100u
#define RXB_REF     400u
#define BAD_REF     5000u
#define RS          256u          /* ring entries */

/* ---- the fake host endpoint --------------------------------------------- */

#define MAX_SEEN 64
struct seen {
	size_t len;
	uint8_t *data;
	struct net_pkt_meta meta;
};
static struct seen seen[MAX_SEEN];
static unsigned int nr_seen;
static int tx_rc;
static unsigned int rx_ready_calls;

static int fake_tx(void *opaque, const struct iovec *iov, int iovcnt,
		   const struct net_pkt_meta *meta)
{
	size_t len = 0, off = 0;
	struct seen *s;

	CU_ASSERT_PTR_EQUAL(opaque, &seen);
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	CU_ASSERT(len <= NET_PKT_MAX_FRAME);
	if (nr_seen < MAX_SEEN) {
		s = &seen[nr_seen++];
		s->len = len;
		s->data = malloc(len);
		for (int i = 0; i < iovcnt; i++) {
			memcpy(s->data + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		s->meta = *meta;
	}
	return tx_rc;
}

static void fake_rx_ready(void *opaque)
{
	CU_ASSERT_PTR_EQUAL(opaque, &seen);
	__atomic_add_fetch(&rx_ready_calls, 1, __ATOMIC_SEQ_CST);
}

static void seen_clear(void)
{
	for (unsigned int i = 0; i < nr_seen; i++)
		free(seen[i].data);
	nr_seen = 0;
	tx_rc = 0;
	__atomic_store_n(&rx_ready_calls, 0, __ATOMIC_SEQ_CST);
}

/* ---- create / destroy / rx on the loop ------------------------------------ */

struct create_args {
	struct netback_params p;
	struct netback *nb;
	int rc;
};

static void do_create(void *a)
{
	struct create_args *c = a;

	c->rc = netback_create(&c->p, &c->nb);
}

static void do_destroy(void *a) { netback_destroy(a); }

static int create_q(unsigned int devid, unsigned int max_queues, struct netback **nb_r)
{
	struct create_args c = { .p = { .loop = L, .dom = F.d, .store = S, .domid = FAKE_DOMID,
					.devid = devid, .max_queues = max_queues, .tx = fake_tx,
					.rx_ready = fake_rx_ready, .opaque = &seen } };

	netback_mac_generate("testdom", devid, c.p.mac);
	on_loop(do_create, &c);
	*nb_r = c.nb;
	return c.rc;
}

static int create(unsigned int devid, struct netback **nb_r) { return create_q(devid, 0, nb_r); }

static void destroy(struct netback *nb) { on_loop(do_destroy, nb); }

struct rx_args {
	struct netback *nb;
	const struct iovec *iov;
	int iovcnt;
	const struct net_pkt_meta *meta;
	int rc;
};

static void do_rx(void *a)
{
	struct rx_args *r = a;

	r->rc = netback_rx(r->nb, r->iov, r->iovcnt, r->meta);
}

static int host_rx(struct netback *nb, const void *frame, size_t len,
		   const struct net_pkt_meta *meta)
{
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };
	struct rx_args r = { nb, &iov, 1, meta, 0 };

	on_loop(do_rx, &r);
	return r.rc;
}

struct stats_args {
	struct netback *nb;
	struct netback_stats st;
};

static void do_stats(void *a)
{
	struct stats_args *s = a;

	netback_get_stats(s->nb, &s->st);
}

static struct netback_stats stats(struct netback *nb)
{
	struct stats_args s = { .nb = nb };

	on_loop(do_stats, &s);
	return s.st;
}

/* ---- fake grant table and memory ------------------------------------------ */

static void grant(grant_ref_t ref, bool ro, uint64_t gpa)
{
	struct grant_entry_v1 *e = &F.d->gnttab.frames[ref / GNTTAB_ENTRIES_PER_FRAME]
					    .entries[ref % GNTTAB_ENTRIES_PER_FRAME];

	e->domid = 0;
	e->frame = (uint32_t)(gpa / 4096);
	__atomic_store_n(&e->flags, GTF_permit_access | (ro ? GTF_readonly : 0), __ATOMIC_RELEASE);
}

static uint8_t *txd_page(unsigned int i) { return xen_fake_gpa(&F, TXD_GPA + i * 4096ull); }
static uint8_t *rxb_page(unsigned int i) { return xen_fake_gpa(&F, RXB_GPA + i * 4096ull); }

/* ---- the fake netfront ------------------------------------------------------ */

struct fq {
	uint8_t *tx, *rx;                 /* shared rings */
	uint32_t tx_prod, tx_cons, rx_prod, rx_cons;
	evtchn_port_t port, rxport;       /* rxport == port unless split */
};

struct fe {
	unsigned int devid, nq;
	bool split, no_sg, no_gso, no_csum, no_rx_copy, no_ipv6_csum;
	struct fq q[2];
};

static uint32_t *ridx(uint8_t *sring, unsigned int i) { return (uint32_t *)sring + i; }

static evtchn_port_t new_port(void)
{
	evtchn_port_t p = 0;

	CU_ASSERT_EQUAL(evtchn_alloc_guest_unbound(F.d, 0, &p), 0);
	return p;
}

static void close_port(evtchn_port_t port)
{
	struct evtchn_close c = { .port = port };

	memcpy(xen_fake_gpa(&F, ARG_GPA), &c, sizeof(c));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_close,
					ARG_GPA, 0), 0);
}

static void kick(evtchn_port_t port)
{
	struct evtchn_send s = { .port = port };

	memcpy(xen_fake_gpa(&F, ARG_GPA), &s, sizeof(s));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_send,
					ARG_GPA, 0), 0);
}

/* Writes the nodes as Linux netfront does, then Connected (netfront goes
 * there straight from Initialising). */
static void fe_start(struct fe *fe)
{
	for (unsigned int qi = 0; qi < fe->nq; qi++) {
		struct fq *q = &fe->q[qi];
		char dir[24] = "", key[48];

		unsigned int r = RING_SET(fe->devid, qi);

		q->tx = xen_fake_gpa(&F, TXR_GPA + r * 0x2000ull);
		q->rx = q->tx + 4096;
		memset(q->tx, 0, 8192);
		*ridx(q->tx, 1) = 1;
		*ridx(q->tx, 3) = 1;
		*ridx(q->rx, 1) = 1;
		*ridx(q->rx, 3) = 1;
		q->tx_prod = q->tx_cons = q->rx_prod = q->rx_cons = 0;
		grant(TXR_REF + 2 * r, false, TXR_GPA + r * 0x2000ull);
		grant(TXR_REF + 2 * r + 1, false, TXR_GPA + r * 0x2000ull + 4096);
		q->port = new_port();
		q->rxport = fe->split ? new_port() : q->port;
		if (fe->nq > 1)
			snprintf(dir, sizeof(dir), "queue-%u/", qi);
		snprintf(key, sizeof(key), "%stx-ring-ref", dir);
		CU_ASSERT_EQUAL(gw(fe->devid, key, "%u", TXR_REF + 2 * r), 0);
		snprintf(key, sizeof(key), "%srx-ring-ref", dir);
		CU_ASSERT_EQUAL(gw(fe->devid, key, "%u", TXR_REF + 2 * r + 1), 0);
		if (fe->split) {
			snprintf(key, sizeof(key), "%sevent-channel-tx", dir);
			CU_ASSERT_EQUAL(gw(fe->devid, key, "%u", q->port), 0);
			snprintf(key, sizeof(key), "%sevent-channel-rx", dir);
			CU_ASSERT_EQUAL(gw(fe->devid, key, "%u", q->rxport), 0);
		} else {
			snprintf(key, sizeof(key), "%sevent-channel", dir);
			CU_ASSERT_EQUAL(gw(fe->devid, key, "%u", q->port), 0);
		}
	}
	if (fe->nq > 1)
		CU_ASSERT_EQUAL(gw(fe->devid, "multi-queue-num-queues", "%u", fe->nq), 0);
	CU_ASSERT_EQUAL(gw(fe->devid, "request-rx-copy", "%u", fe->no_rx_copy ? 0 : 1), 0);
	CU_ASSERT_EQUAL(gw(fe->devid, "feature-rx-notify", "1"), 0);
	CU_ASSERT_EQUAL(gw(fe->devid, "feature-sg", "%u", fe->no_sg ? 0 : 1), 0);
	CU_ASSERT_EQUAL(gw(fe->devid, "feature-gso-tcpv4", "%u", fe->no_gso ? 0 : 1), 0);
	CU_ASSERT_EQUAL(gw(fe->devid, "feature-gso-tcpv6", "%u", fe->no_gso ? 0 : 1), 0);
	CU_ASSERT_EQUAL(gw(fe->devid, "feature-ipv6-csum-offload", "%u", fe->no_ipv6_csum ? 0 : 1),
			0);
	if (fe->no_csum)
		CU_ASSERT_EQUAL(gw(fe->devid, "feature-no-csum-offload", "1"), 0);
	CU_ASSERT_EQUAL(gw(fe->devid, "state", "%d", XenbusStateConnected), 0);
}

static void fe_connect(struct fe *fe)
{
	fe_start(fe);
	CU_ASSERT_TRUE(wait_be_state(fe->devid, XenbusStateConnected));
}

static void fe_close_ports(struct fe *fe)
{
	for (unsigned int qi = 0; qi < fe->nq; qi++) {
		close_port(fe->q[qi].port);
		if (fe->split)
			close_port(fe->q[qi].rxport);
	}
}

/* Module unload. */
static void fe_close(struct fe *fe)
{
	fe_close_handshake(fe->devid);
	fe_close_ports(fe);
}

/* After Closed: module reload. */
static void fe_reinit(struct fe *fe)
{
	CU_ASSERT_EQUAL(gw(fe->devid, "state", "%d", XenbusStateInitialising), 0);
	CU_ASSERT_TRUE(wait_be_state(fe->devid, XenbusStateInitWait));
}

/* -- tx -- */

static void tx_put(struct fe *fe, unsigned int qi, const void *slot)
{
	struct fq *q = &fe->q[qi];

	memcpy(q->tx + 64 + (q->tx_prod & (RS - 1)) * 12, slot, 12);
	q->tx_prod++;
}

static void tx_req(struct fe *fe, unsigned int qi, grant_ref_t gref, uint16_t off,
		   uint16_t flags, uint16_t id, uint16_t size)
{
	struct netif_tx_request r = { .gref = gref, .offset = off, .flags = flags, .id = id,
				      .size = size };

	tx_put(fe, qi, &r);
}

static void tx_gso(struct fe *fe, unsigned int qi, uint8_t type, uint16_t mss)
{
	struct netif_extra_info e = { .type = XEN_NETIF_EXTRA_TYPE_GSO };
	uint8_t slot[12] = { 0 };

	e.u.gso.size = mss;
	e.u.gso.type = type;
	memcpy(slot, &e, sizeof(e));
	tx_put(fe, qi, slot);
}

static void tx_publish(struct fe *fe, unsigned int qi)
{
	__atomic_store_n(ridx(fe->q[qi].tx, 0), fe->q[qi].tx_prod, __ATOMIC_RELEASE);
	kick(fe->q[qi].port);
}

static bool tx_wait(struct fe *fe, unsigned int qi, unsigned int n)
{
	return ring_wait_rsp(fe->q[qi].tx, fe->q[qi].tx_cons, n, 5000);
}

static struct netif_tx_response tx_rsp(struct fe *fe, unsigned int qi)
{
	struct fq *q = &fe->q[qi];
	struct netif_tx_response r;

	memcpy(&r, q->tx + 64 + (q->tx_cons & (RS - 1)) * 12, sizeof(r));
	q->tx_cons++;
	/* rsp_event: the backend reads it concurrently (atomically) */
	__atomic_store_n(ridx(q->tx, 3), q->tx_cons + 1, __ATOMIC_RELEASE);
	return r;
}

/* -- rx -- */

/* Posts n buffers (one page each, granted per ring index) and notifies
 * the way RING_PUSH_REQUESTS_AND_CHECK_NOTIFY does. */
static void rx_post(struct fe *fe, unsigned int qi, unsigned int n)
{
	struct fq *q = &fe->q[qi];
	uint32_t old = q->rx_prod, ev;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int ix = q->rx_prod & (RS - 1);
		struct netif_rx_request r = { .id = (uint16_t)ix, .gref = RXB_REF + ix };

		grant(RXB_REF + ix, false, RXB_GPA + ix * 4096ull);
		memset(rxb_page(ix), 0xee, 4096);
		memcpy(q->rx + 64 + ix * 8, &r, sizeof(r));
		q->rx_prod++;
	}
	__atomic_store_n(ridx(q->rx, 0), q->rx_prod, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ev = __atomic_load_n(ridx(q->rx, 1), __ATOMIC_RELAXED);
	if ((uint32_t)(q->rx_prod - ev) < (uint32_t)(q->rx_prod - old))
		kick(q->rxport);
}

static bool rx_wait(struct fe *fe, unsigned int qi, unsigned int n)
{
	return ring_wait_rsp(fe->q[qi].rx, fe->q[qi].rx_cons, n, 2000);
}

static unsigned int rx_avail(struct fe *fe, unsigned int qi)
{
	return __atomic_load_n(ridx(fe->q[qi].rx, 2), __ATOMIC_ACQUIRE) - fe->q[qi].rx_cons;
}

/* The next response, with the index of the buffer it used. */
static struct netif_rx_response rx_rsp(struct fe *fe, unsigned int qi, unsigned int *ix_r)
{
	struct fq *q = &fe->q[qi];
	struct netif_rx_response r;
	unsigned int ix = q->rx_cons & (RS - 1);

	memcpy(&r, q->rx + 64 + ix * 8, sizeof(r));
	if (ix_r)
		*ix_r = ix;
	q->rx_cons++;
	return r;
}

/* Reassembles one frame as netfront would; its length, 0 on a bad layout. */
static size_t rx_frame(struct fe *fe, unsigned int qi, uint8_t *out, uint16_t *flags_r,
		       struct netif_extra_info *gso_r)
{
	unsigned int ix;
	struct netif_rx_response r = rx_rsp(fe, qi, &ix);
	size_t len = 0;

	*flags_r = r.flags;
	if (gso_r)
		memset(gso_r, 0, sizeof(*gso_r));
	for (;;) {
		if (r.status <= 0 || r.offset + r.status > 4096 || r.id != ix)
			return 0;
		memcpy(out + len, rxb_page(ix) + r.offset, (size_t)r.status);
		len += (size_t)r.status;
		if (r.flags & NETRXF_extra_info) {
			struct netif_extra_info e;
			unsigned int eix;

			rx_rsp(fe, qi, &eix);
			memcpy(&e, fe->q[qi].rx + 64 + eix * 8, sizeof(e));
			if (gso_r)
				*gso_r = e;
		}
		if (!(r.flags & NETRXF_more_data))
			break;
		r = rx_rsp(fe, qi, &ix);
		if (r.flags & (NETRXF_csum_blank | NETRXF_data_validated | NETRXF_extra_info))
			return 0;   /* only on the first slot */
	}
	return len;
}

/* ---- frames ----------------------------------------------------------------- */

static uint16_t csum16(const uint8_t *p, size_t n, uint32_t acc)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* Ethernet + IPv4 + TCP + payload; TCP checksum field holds the
 * pseudo-header sum (as Linux leaves it for CHECKSUM_PARTIAL). */
static size_t tcp4_frame(uint8_t *f, size_t payload, uint16_t sport, uint8_t seed)
{
	size_t tcp_len = 20 + payload, len = 14 + 20 + tcp_len;
	uint32_t ps;

	memset(f, 0, 54);
	memcpy(f, "\x00\x16\x3e\x01\x02\x03\x52\x55\x0a\x00\x02\x02\x08\x00", 14);
	f[14] = 0x45;
	f[16] = (uint8_t)((20 + tcp_len) >> 8);
	f[17] = (uint8_t)(20 + tcp_len);
	f[20] = 0x40;   /* DF */
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
	{
		uint16_t c = (uint16_t)~csum16(f + 14, 20, 0);

		f[24] = (uint8_t)(c >> 8);
		f[25] = (uint8_t)c;
	}
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[36] = 0x1f;
	f[37] = 0x90;
	f[41] = 1;        /* seq */
	f[46] = 0x50;     /* data offset 5 */
	f[47] = 0x18;     /* PSH|ACK */
	f[48] = 0xff;
	for (size_t i = 0; i < payload; i++)
		f[54 + i] = (uint8_t)(seed + i * 13 + (i >> 8));
	ps = (uint32_t)csum16(f + 26, 8, 6 + (uint32_t)tcp_len);
	f[50] = (uint8_t)(ps >> 8);
	f[51] = (uint8_t)ps;
	return len;
}

/* Ethernet + IPv6 + TCP + payload, pseudo-header sum in the checksum field. */
static size_t tcp6_frame(uint8_t *f, size_t payload, uint8_t seed)
{
	size_t tcp_len = 20 + payload;
	uint32_t ps;

	memset(f, 0, 74);
	memcpy(f, "\x00\x16\x3e\x01\x02\x03\x52\x55\x0a\x00\x02\x02\x86\xdd", 14);
	f[14] = 0x60;
	f[18] = (uint8_t)(tcp_len >> 8);
	f[19] = (uint8_t)tcp_len;
	f[20] = 6;
	f[21] = 64;
	f[22] = 0xfe;
	f[23] = 0x80;
	f[37] = 1;
	f[38] = 0xfe;
	f[39] = 0x80;
	f[53] = 2;
	f[54] = 0x30;
	f[55] = 0x39;
	f[56] = 0x00;
	f[57] = 0x50;
	f[61] = 1;
	f[66] = 0x50;
	f[67] = 0x18;
	f[68] = 0xff;
	for (size_t i = 0; i < payload; i++)
		f[74 + i] = (uint8_t)(seed + i * 11);
	ps = (uint32_t)csum16(f + 22, 32, 6 + (uint32_t)tcp_len);
	f[70] = (uint8_t)(ps >> 8);
	f[71] = (uint8_t)ps;
	return 74 + payload;
}

static bool tcp6_csum_ok(const uint8_t *f, size_t len)
{
	size_t tcp_len = len - 54;

	return csum16(f + 54, tcp_len, csum16(f + 22, 32, 6 + (uint32_t)tcp_len)) == 0xffff;
}

/* Is the TCP checksum of an IPv4 frame complete and right? */
static bool tcp4_csum_ok(const uint8_t *f, size_t len)
{
	size_t tcp_len = len - 34;
	uint32_t acc = csum16(f + 26, 8, 6 + (uint32_t)tcp_len);

	return csum16(f + 34, tcp_len, acc) == 0xffff;
}

/* A frame placed in tx data pages: head bytes at page p0+off, then
 * fragments of the given sizes on following pages. */
static void tx_frame(struct fe *fe, unsigned int qi, const uint8_t *f, size_t len,
		     uint16_t off, const uint16_t *frag, unsigned int nfrag, uint16_t flags,
		     uint8_t gso_type, uint16_t mss, uint16_t id0)
{
	size_t rest = 0, pos;
	uint16_t head;

	for (unsigned int i = 0; i < nfrag; i++)
		rest += frag[i];
	head = (uint16_t)(len - rest);
	memcpy(txd_page(0) + off, f, head);
	grant(TXD_REF, true, TXD_GPA);
	tx_req(fe, qi, TXD_REF, off, (uint16_t)(flags | (nfrag ? NETTXF_more_data : 0) |
						  (gso_type ? NETTXF_extra_info : 0)),
	       id0, (uint16_t)len);
	if (gso_type)
		tx_gso(fe, qi, gso_type, mss);
	pos = head;
	for (unsigned int i = 0; i < nfrag; i++) {
		memcpy(txd_page(1 + i), f + pos, frag[i]);
		grant(TXD_REF + 1 + i, true, TXD_GPA + (1 + i) * 4096ull);
		tx_req(fe, qi, TXD_REF + 1 + i, 0, i + 1 < nfrag ? NETTXF_more_data : 0,
		       (uint16_t)(id0 + 1 + i), frag[i]);
		pos += frag[i];
	}
}

/* ---- suite ------------------------------------------------------------------ */

static int setup(void) { return xbf_setup("vif", "net-test"); }

static int teardown(void)
{
	seen_clear();
	xbf_teardown();
	return 0;
}

static void assert_no_leaks(void)
{
	xbf_assert_no_leaks();
	seen_clear();
}

/* ---- tests ------------------------------------------------------------------ */

/* ---- save and restore (the rest of the tests below) --------------------------- */

struct save_args {
	struct netback *nb, *fresh;
	struct state_writer *w;
	const uint8_t *buf;
	size_t len;
	int rc;
	char why[256];
};

/* As xenkvmd's save on its I/O thread: quiesce, then the store and the vif. */
static void do_save(void *a)
{
	struct save_args *x = a;
	struct xs_client *clients[1] = { G };

	netback_quiesce(x->nb);
	x->rc = xs_store_save(S, clients, 1, x->w);
	if (!x->rc)
		x->rc = netback_state_save(x->nb, x->w);
	if (!x->rc)
		x->rc = state_writer_finish(x->w);
}

/* The saving daemon ends: the domain keeps its event channels (handler
 * gone, as the evtchn section brings them back) and its nodes. */
static void do_forget(void *a)
{
	struct netback *nb = a;

	for (unsigned int q = 0; q < nb->nr_queues; q++) {
		struct nb_queue *nq = &nb->queues[q];

		CU_ASSERT_EQUAL(evtchn_backend_reattach(F.d, nq->tx_port, NULL, NULL), 0);
		if (nq->rx_port != nq->tx_port)
			CU_ASSERT_EQUAL(evtchn_backend_reattach(F.d, nq->rx_port, NULL, NULL), 0);
		nq->tx_port = nq->rx_port = 0;
	}
	nb->xb.nodes_written = false;
	netback_destroy(nb);
}

static void do_load(void *a)
{
	struct save_args *x = a;
	struct xs_client *clients[1] = { G };
	struct xs_state_load xs = { S, clients, 1 };
	struct netback *vifs[1] = { x->fresh };
	struct netback_state_load nl = { vifs, 1, 0 };
	struct state_handler h[2];
	struct state_reader *r = state_reader_new_mem(x->buf, x->len);

	xs_store_state_handler(&xs, &h[0]);
	netback_state_handler(&nl, &h[1]);
	x->rc = state_reader_header(r);
	if (!x->rc)
		x->rc = state_load(r, h, 2);
	snprintf(x->why, sizeof(x->why), "%s", state_reader_error(r));
	state_reader_free(r);
}

/* Two queues with split event channels: frames both ways before the save,
 * one the guest queued (published, not kicked) while paused, and traffic
 * after the restore: each tx frame reaches the host once, rx frames land
 * in the buffers the guest posted before the save, in ring order. */
static void test_save_restore(void)
{
	static uint8_t f[2048], out[2048];
	struct fe fe = { .devid = 0, .nq = 2, .split = true };
	struct save_args x = { 0 };
	struct netback_stats st;
	uint16_t flags;
	size_t len;

	CU_ASSERT_FATAL(create(0, &x.nb) == 0);
	fe_connect(&fe);
	len = tcp4_frame(f, 300, 4000, 1);
	tx_frame(&fe, 1, f, len, 0, NULL, 0, 0, 0, 0, 1);
	tx_publish(&fe, 1);
	CU_ASSERT_FATAL(tx_wait(&fe, 1, 1));
	CU_ASSERT_EQUAL(tx_rsp(&fe, 1).status, NETIF_RSP_OKAY);
	rx_post(&fe, 0, 8);
	rx_post(&fe, 1, 8);
	CU_ASSERT_EQUAL(host_rx(x.nb, f, len, NULL), 0);
	CU_ASSERT_EQUAL(nr_seen, 1);
	/* queued while paused: on the ring, the backend not told */
	len = tcp4_frame(f, 500, 4001, 2);
	tx_frame(&fe, 1, f, len, 0, NULL, 0, 0, 0, 0, 2);
	__atomic_store_n(ridx(fe.q[1].tx, 0), fe.q[1].tx_prod, __ATOMIC_RELEASE);

	x.w = state_writer_new_mem("t");
	on_loop(do_save, &x);
	CU_ASSERT_EQUAL_FATAL(x.rc, 0);
	x.buf = state_writer_mem(x.w, &x.len);
	on_loop(do_forget, x.nb);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);

	CU_ASSERT_FATAL(create(0, &x.fresh) == 0);
	on_loop(do_load, &x);
	if (x.rc)
		fprintf(stderr, "load: %s\n", x.why);
	CU_ASSERT_EQUAL(x.rc, 0);
	CU_ASSERT_STRING_EQUAL(be_node(0, "state"), "4");
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 4);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 4);
	/* The queued frame goes out once, without a kick. */
	CU_ASSERT_TRUE(tx_wait(&fe, 1, 1));
	CU_ASSERT_EQUAL(tx_rsp(&fe, 1).status, NETIF_RSP_OKAY);
	CU_ASSERT_EQUAL(nr_seen, 2);
	/* The rx frame delivered before the save, then one after it. */
	len = tcp4_frame(f, 300, 4000, 1);
	for (int i = 0; i < 2; i++) {
		unsigned int qi = rx_avail(&fe, 0) ? 0 : 1;

		if (i == 1)
			CU_ASSERT_EQUAL(host_rx(x.fresh, f, len, NULL), 0);
		if (!rx_avail(&fe, 0) && !rx_avail(&fe, 1)) {
			CU_ASSERT_TRUE(rx_wait(&fe, 0, 1) || rx_wait(&fe, 1, 1));
		}
		qi = rx_avail(&fe, 0) ? 0 : 1;
		CU_ASSERT_EQUAL(rx_frame(&fe, qi, out, &flags, NULL), len);
		CU_ASSERT_EQUAL(memcmp(out, f, len), 0);
	}
	CU_ASSERT_EQUAL(rx_avail(&fe, 0) + rx_avail(&fe, 1), 0);
	/* And tx after the restore, kicked as usual. */
	len = tcp4_frame(f, 100, 4002, 3);
	tx_frame(&fe, 0, f, len, 0, NULL, 0, 0, 0, 0, 3);
	tx_publish(&fe, 0);
	CU_ASSERT_TRUE(tx_wait(&fe, 0, 1));
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_OKAY);
	CU_ASSERT_EQUAL(nr_seen, 3);
	st = stats(x.fresh);
	CU_ASSERT_EQUAL(st.connects, 1);   /* no renegotiation */
	CU_ASSERT_EQUAL(st.tx_packets, 2);
	CU_ASSERT_EQUAL(st.rx_packets, 1);
	fe_close(&fe);
	destroy(x.fresh);
	state_writer_free(x.w);
	assert_no_leaks();
}

/* Sections that do not fit the vif are refused and leave it unconnected. */
static void test_save_refusals(void)
{
	struct save_args x = { 0 };
	struct netback *nb;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	for (int k = 0; k < 3; k++) {
		struct state_writer *w = state_writer_new_mem("t");

		state_section_begin(w, XEN_STATE_NETBACK, 1);
		state_put_u32(w, k == 0 ? 5 : 0);           /* 0: vif 5, not in the config */
		state_put_u32(w, k == 1 ? 2 : XenbusStateConnected);   /* 1: queues in InitWait */
		state_put_u32(w, XenbusStateConnected);
		state_put_u8(w, 0);
		state_put_u32(w, 1);
		state_put_u32(w, 1);
		state_put_u8(w, k == 2 ? 0x80 : 0);         /* 2: unknown feature bits */
		state_put_u32(w, TXR_REF);
		state_put_u32(w, TXR_REF + 1);
		state_put_u32(w, 5);
		state_put_u32(w, 5);
		state_put_u32(w, 0);
		state_put_u32(w, 0);
		state_section_end(w);
		CU_ASSERT_EQUAL(state_writer_finish(w), 0);
		x.fresh = nb;
		x.buf = state_writer_mem(w, &x.len);
		on_loop(do_load, &x);
		CU_ASSERT(x.rc < 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(x.why, k == 0 ? "no such vif" :
					      k == 1 ? "while not connected" : "feature bits"));
		CU_ASSERT_EQUAL(nb->nr_queues, 0);
		state_writer_free(w);
	}
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	destroy(nb);
	assert_no_leaks();
}

static void test_mac(void)
{
	uint8_t a[6], b[6], c[6];

	netback_mac_generate("dom-a", 0, a);
	netback_mac_generate("dom-a", 0, b);
	CU_ASSERT_EQUAL(memcmp(a, b, 6), 0);
	CU_ASSERT_EQUAL(memcmp(a, "\x00\x16\x3e", 3), 0);
	CU_ASSERT_EQUAL(a[3] & 0x80, 0);
	netback_mac_generate("dom-a", 1, c);
	CU_ASSERT_NOT_EQUAL(memcmp(a, c, 6), 0);
	netback_mac_generate("dom-b", 0, c);
	CU_ASSERT_NOT_EQUAL(memcmp(a, c, 6), 0);
}

/* libxl's layout, the handshake, and three module reloads. */
static void test_nodes_and_handshake(void)
{
	struct fe fe = { .devid = 0, .nq = 1 };
	struct netback *nb;
	struct netback_stats st;
	uint8_t mac[6];
	char macs[18];

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	netback_mac_generate("testdom", 0, mac);
	snprintf(macs, sizeof(macs), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	CU_ASSERT_TRUE(wait_be_state(0, XenbusStateInitWait));
	CU_ASSERT_STRING_EQUAL(be_node(0, "frontend"), "/local/domain/7/device/vif/0");
	CU_ASSERT_STRING_EQUAL(be_node(0, "frontend-id"), "7");
	CU_ASSERT_STRING_EQUAL(be_node(0, "online"), "1");
	CU_ASSERT_STRING_EQUAL(be_node(0, "handle"), "0");
	CU_ASSERT_STRING_EQUAL(be_node(0, "mac"), macs);
	CU_ASSERT_STRING_EQUAL(be_node(0, "feature-rx-copy"), "1");
	CU_ASSERT_STRING_EQUAL(be_node(0, "feature-sg"), "1");
	CU_ASSERT_STRING_EQUAL(be_node(0, "feature-gso-tcpv4"), "1");
	CU_ASSERT_STRING_EQUAL(be_node(0, "feature-split-event-channels"), "1");
	CU_ASSERT_STRING_EQUAL(be_node(0, "multi-queue-max-queues"), "4");
	CU_ASSERT_STRING_EQUAL(fe_node(0, "backend"), "/local/domain/0/backend/vif/7/0");
	CU_ASSERT_STRING_EQUAL(fe_node(0, "backend-id"), "0");
	CU_ASSERT_STRING_EQUAL(fe_node(0, "handle"), "0");
	CU_ASSERT_STRING_EQUAL(fe_node(0, "mac"), macs);
	CU_ASSERT_STRING_EQUAL(fe_node(0, "state"), "1");
	/* the guest may not write the backend's directory */
	{
		struct xs_args x = { .c = G, .path = "/local/domain/0/backend/vif/7/0/state",
				     .val = "4" };

		on_loop(do_write, &x);
		CU_ASSERT_NOT_EQUAL(x.rc, 0);
	}
	for (int round = 0; round < 3; round++) {
		if (round)
			fe_reinit(&fe);
		fe_connect(&fe);
		CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 2);
		CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 1);
		st = stats(nb);
		CU_ASSERT_EQUAL(st.connects, (unsigned int)round + 1);
		CU_ASSERT_EQUAL(st.queues, 1);
		fe_close(&fe);
		CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
		CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
		CU_ASSERT_EQUAL(stats(nb).queues, 0);
	}
	/* a frontend that starts over without closing (kexec) */
	fe_reinit(&fe);
	fe_connect(&fe);
	CU_ASSERT_EQUAL(gw(0, "state", "%d", XenbusStateInitialising), 0);
	CU_ASSERT_TRUE(wait_be_state(0, XenbusStateInitWait));
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
	fe_close_ports(&fe);
	fe_connect(&fe);
	CU_ASSERT_EQUAL(stats(nb).connects, 5);
	fe_close(&fe);
	destroy(nb);
	CU_ASSERT_STRING_EQUAL(be_node(0, "state"), "");
	CU_ASSERT_STRING_EQUAL(fe_node(0, "state"), "");
	assert_no_leaks();
}

/* A single-slot frame and a three-slot one reach the endpoint intact. */
static void test_tx_single_and_multislot(void)
{
	static uint8_t f[4096];
	const uint16_t frags[2] = { 1500, 500 };
	struct fe fe = { .devid = 0, .nq = 1 };
	struct netback *nb;
	struct netback_stats st;
	size_t len;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	fe_connect(&fe);
	len = tcp4_frame(f, 6, 1000, 1);
	tx_frame(&fe, 0, f, len, 0, NULL, 0, NETTXF_data_validated, 0, 0, 11);
	tx_publish(&fe, 0);
	CU_ASSERT_FATAL(tx_wait(&fe, 0, 1));
	{
		struct netif_tx_response r = tx_rsp(&fe, 0);

		CU_ASSERT_EQUAL(r.id, 11);
		CU_ASSERT_EQUAL(r.status, NETIF_RSP_OKAY);
	}
	CU_ASSERT_FATAL(nr_seen == 1);
	CU_ASSERT_EQUAL(seen[0].len, len);
	CU_ASSERT_EQUAL(memcmp(seen[0].data, f, len), 0);
	CU_ASSERT_EQUAL(seen[0].meta.flags, NET_PKT_CSUM_VALID);
	CU_ASSERT_EQUAL(seen[0].meta.gso_type, NET_PKT_GSO_NONE);

	len = tcp4_frame(f, 3000 - 54, 1001, 2);
	tx_frame(&fe, 0, f, len, 100, frags, 2, 0, 0, 0, 20);
	tx_publish(&fe, 0);
	CU_ASSERT_FATAL(tx_wait(&fe, 0, 3));
	for (unsigned int i = 0; i < 3; i++) {
		struct netif_tx_response r = tx_rsp(&fe, 0);

		CU_ASSERT_EQUAL(r.id, 20 + i);
		CU_ASSERT_EQUAL(r.status, NETIF_RSP_OKAY);
	}
	CU_ASSERT_FATAL(nr_seen == 2);
	CU_ASSERT_EQUAL(seen[1].len, 3000);
	CU_ASSERT_EQUAL(memcmp(seen[1].data, f, 3000), 0);
	CU_ASSERT_EQUAL(seen[1].meta.flags, 0);
	st = stats(nb);
	CU_ASSERT_EQUAL(st.tx_packets, 2);
	CU_ASSERT_EQUAL(st.tx_bytes, 60 + 3000);
	CU_ASSERT_EQUAL(st.tx_errors, 0);
	/* the endpoint refusing a frame is a drop, the guest still gets OKAY */
	tx_rc = -ENOBUFS;
	len = tcp4_frame(f, 100, 1002, 3);
	tx_frame(&fe, 0, f, len, 0, NULL, 0, 0, 0, 0, 30);
	tx_publish(&fe, 0);
	CU_ASSERT_FATAL(tx_wait(&fe, 0, 1));
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_OKAY);
	st = stats(nb);
	CU_ASSERT_EQUAL(st.tx_drops, 1);
	CU_ASSERT_EQUAL(st.tx_packets, 2);
	fe_close(&fe);
	destroy(nb);
	assert_no_leaks();
}

/* A TSO frame: checksum blank + GSO extra slot, across 4 slots. */
static void test_tx_gso_csum(void)
{
	static uint8_t f[16384];
	const uint16_t frags[3] = { 4096, 4096, 2000 };
	struct fe fe = { .devid = 0, .nq = 1 };
	struct netback *nb;
	size_t len;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	fe_connect(&fe);
	len = tcp4_frame(f, 11000 - 54, 2000, 4);
	tx_frame(&fe, 0, f, len, 64, frags, 3, NETTXF_csum_blank | NETTXF_data_validated,
		 XEN_NETIF_GSO_TYPE_TCPV4, 1448, 40);
	tx_publish(&fe, 0);
	CU_ASSERT_FATAL(tx_wait(&fe, 0, 5));
	{
		struct netif_tx_response r[5];

		for (unsigned int i = 0; i < 5; i++)
			r[i] = tx_rsp(&fe, 0);
		CU_ASSERT_EQUAL(r[0].id, 40);
		CU_ASSERT_EQUAL(r[0].status, NETIF_RSP_OKAY);
		CU_ASSERT_EQUAL(r[1].status, NETIF_RSP_NULL);   /* the extra-info slot */
		for (unsigned int i = 2; i < 5; i++) {
			CU_ASSERT_EQUAL(r[i].id, 41 + i - 2);
			CU_ASSERT_EQUAL(r[i].status, NETIF_RSP_OKAY);
		}
	}
	CU_ASSERT_FATAL(nr_seen == 1);
	CU_ASSERT_EQUAL(seen[0].len, 11000);
	CU_ASSERT_EQUAL(memcmp(seen[0].data, f, len), 0);
	CU_ASSERT_EQUAL(seen[0].meta.flags & NET_PKT_CSUM_PARTIAL, NET_PKT_CSUM_PARTIAL);
	CU_ASSERT_EQUAL(seen[0].meta.gso_type, NET_PKT_GSO_TCPV4);
	CU_ASSERT_EQUAL(seen[0].meta.gso_size, 1448);
	CU_ASSERT_EQUAL(seen[0].meta.hdr_len, 54);
	CU_ASSERT_EQUAL(seen[0].meta.csum_start, 34);
	CU_ASSERT_EQUAL(seen[0].meta.csum_offset, 16);
	/* checksum blank alone */
	len = tcp4_frame(f, 500, 2001, 5);
	tx_frame(&fe, 0, f, len, 0, NULL, 0, NETTXF_csum_blank, 0, 0, 50);
	tx_publish(&fe, 0);
	CU_ASSERT_FATAL(tx_wait(&fe, 0, 1));
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_OKAY);
	CU_ASSERT_FATAL(nr_seen == 2);
	CU_ASSERT_EQUAL(seen[1].meta.flags, NET_PKT_CSUM_PARTIAL);
	CU_ASSERT_EQUAL(seen[1].meta.gso_type, NET_PKT_GSO_NONE);
	CU_ASSERT_EQUAL(seen[1].meta.csum_start, 34);
	CU_ASSERT_EQUAL(seen[1].meta.csum_offset, 16);
	fe_close(&fe);
	destroy(nb);
	assert_no_leaks();
}

/* Frames that cannot be handed on are answered NETIF_RSP_ERROR and the
 * vif keeps working. */
static void test_tx_unusable_frames(void)
{
	static uint8_t f[4096];
	struct fe fe = { .devid = 0, .nq = 1 };
	struct netback *nb;
	struct netback_stats st;
	size_t len;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	fe_connect(&fe);
	/* a runt */
	tx_frame(&fe, 0, f, 10, 0, NULL, 0, 0, 0, 0, 1);
	/* checksum blank on ARP */
	memset(f, 0, 60);
	f[12] = 0x08;
	f[13] = 0x06;
	tx_frame(&fe, 0, f, 60, 0, NULL, 0, NETTXF_csum_blank, 0, 0, 2);
	/* GSO of an unknown type, and of MSS 0 */
	len = tcp4_frame(f, 3000, 3000, 6);
	tx_frame(&fe, 0, f, len, 0, NULL, 0, NETTXF_csum_blank, 7, 1448, 3);
	tx_frame(&fe, 0, f, len, 0, NULL, 0, NETTXF_csum_blank, XEN_NETIF_GSO_TYPE_TCPV4, 0, 4);
	tx_publish(&fe, 0);
	CU_ASSERT_FATAL(tx_wait(&fe, 0, 6));
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_ERROR);
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_ERROR);
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_ERROR);
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_NULL);
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_ERROR);
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_NULL);
	CU_ASSERT_EQUAL(nr_seen, 0);
	st = stats(nb);
	CU_ASSERT_EQUAL(st.tx_errors, 4);
	CU_ASSERT_EQUAL(st.fatal, 0);
	CU_ASSERT_STRING_EQUAL(be_node(0, "state"), "4");
	/* still works */
	len = tcp4_frame(f, 100, 3001, 7);
	tx_frame(&fe, 0, f, len, 0, NULL, 0, 0, 0, 0, 9);
	tx_publish(&fe, 0);
	CU_ASSERT_FATAL(tx_wait(&fe, 0, 1));
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_OKAY);
	CU_ASSERT_EQUAL(nr_seen, 1);
	fe_close(&fe);
	destroy(nb);
	assert_no_leaks();
}

/* Host frames land in the posted buffers with the right flags. */
static void test_rx_copy(void)
{
	static uint8_t f[16384], out[16384];
	struct fe fe = { .devid = 0, .nq = 1 };
	struct net_pkt_meta valid = { .flags = NET_PKT_CSUM_VALID };
	struct net_pkt_meta partial = { .flags = NET_PKT_CSUM_PARTIAL, .csum_start = 34,
					.csum_offset = 16 };
	struct netback *nb;
	struct netback_stats st;
	uint16_t flags;
	size_t len;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	/* not connected yet: dropped, not kept */
	len = tcp4_frame(f, 1000, 80, 8);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), 0);
	CU_ASSERT_EQUAL(stats(nb).rx_drops, 1);
	fe_connect(&fe);
	rx_post(&fe, 0, 32);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), 0);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, &valid), 0);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, &partial), 0);
	CU_ASSERT_FATAL(rx_wait(&fe, 0, 3));
	for (unsigned int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(rx_frame(&fe, 0, out, &flags, NULL), len);
		CU_ASSERT_EQUAL(memcmp(out, f, len), 0);
		CU_ASSERT_EQUAL(flags, i == 0 ? 0 : i == 1 ? NETRXF_data_validated
						: NETRXF_csum_blank | NETRXF_data_validated);
	}
	/* a 9000-byte frame in three iovecs takes three slots */
	len = tcp4_frame(f, 9000 - 54, 81, 9);
	{
		struct iovec iov[3] = { { f, 100 }, { f + 100, 5000 }, { f + 5100, len - 5100 } };
		struct rx_args r = { nb, iov, 3, &valid, 0 };

		on_loop(do_rx, &r);
		CU_ASSERT_EQUAL(r.rc, 0);
	}
	CU_ASSERT_FATAL(rx_wait(&fe, 0, 3));
	CU_ASSERT_EQUAL(rx_frame(&fe, 0, out, &flags, NULL), 9000);
	CU_ASSERT_EQUAL(memcmp(out, f, 9000), 0);
	CU_ASSERT_EQUAL(rx_avail(&fe, 0), 0);
	/* runts and monsters are dropped */
	CU_ASSERT_EQUAL(host_rx(nb, f, 10, NULL), 0);
	{
		static uint8_t big[NET_PKT_MAX_FRAME + 1];
		struct iovec iov[2] = { { big, sizeof(big) - 1 }, { big, 1 } };
		struct rx_args r = { nb, iov, 2, NULL, 0 };

		on_loop(do_rx, &r);
		CU_ASSERT_EQUAL(r.rc, 0);
	}
	st = stats(nb);
	CU_ASSERT_EQUAL(st.rx_packets, 4);
	CU_ASSERT_EQUAL(st.rx_bytes, 3 * 1054 + 9000);
	CU_ASSERT_EQUAL(st.rx_drops, 3);
	fe_close(&fe);
	destroy(nb);
	assert_no_leaks();
}

/* GSO to a frontend that takes it: one frame with an extra-info slot. */
static void test_rx_gso(void)
{
	static uint8_t f[32768], out[32768];
	struct fe fe = { .devid = 0, .nq = 1 };
	struct net_pkt_meta m = { .flags = NET_PKT_CSUM_PARTIAL, .gso_type = NET_PKT_GSO_TCPV4,
				  .gso_size = 1448, .hdr_len = 54, .csum_start = 34,
				  .csum_offset = 16 };
	struct netif_extra_info gso;
	struct netback *nb;
	uint16_t flags;
	size_t len;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	fe_connect(&fe);
	rx_post(&fe, 0, 64);
	len = tcp4_frame(f, 20000, 90, 10);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, &m), 0);
	CU_ASSERT_FATAL(rx_wait(&fe, 0, 5 + 1));
	CU_ASSERT_EQUAL(rx_frame(&fe, 0, out, &flags, &gso), len);
	CU_ASSERT_EQUAL(memcmp(out, f, len), 0);
	CU_ASSERT_EQUAL(flags & (NETRXF_csum_blank | NETRXF_data_validated | NETRXF_extra_info),
			NETRXF_csum_blank | NETRXF_data_validated | NETRXF_extra_info);
	CU_ASSERT_EQUAL(gso.type, XEN_NETIF_EXTRA_TYPE_GSO);
	CU_ASSERT_EQUAL(gso.flags, 0);
	CU_ASSERT_EQUAL(gso.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV4);
	CU_ASSERT_EQUAL(gso.u.gso.size, 1448);
	CU_ASSERT_EQUAL(rx_avail(&fe, 0), 0);
	fe_close(&fe);
	destroy(nb);
	assert_no_leaks();
}

/* A frontend without GSO gets MSS-sized frames with finished checksums;
 * one without checksum offload gets the checksum filled in. */
static void test_rx_segment_and_csum(void)
{
	static uint8_t f[32768], out[32768];
	struct fe fe = { .devid = 0, .nq = 1, .no_gso = true };
	struct fe fe2 = { .devid = 1, .nq = 1, .no_csum = true };
	struct net_pkt_meta m = { .flags = NET_PKT_CSUM_PARTIAL, .gso_type = NET_PKT_GSO_TCPV4,
				  .gso_size = 1000, .hdr_len = 54, .csum_start = 34,
				  .csum_offset = 16 };
	struct net_pkt_meta partial = { .flags = NET_PKT_CSUM_PARTIAL, .csum_start = 34,
					.csum_offset = 16 };
	struct netback *nb, *nb2;
	uint16_t flags;
	size_t len, total = 0;
	unsigned int n = 0;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	fe_connect(&fe);
	rx_post(&fe, 0, 64);
	len = tcp4_frame(f, 4500, 91, 11);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, &m), 0);
	CU_ASSERT_FATAL(rx_wait(&fe, 0, 5));
	while (rx_avail(&fe, 0)) {
		size_t l = rx_frame(&fe, 0, out, &flags, NULL);

		CU_ASSERT(l > 54 && l <= 54 + 1000);
		CU_ASSERT_EQUAL(flags & NETRXF_csum_blank, 0);
		CU_ASSERT_TRUE(tcp4_csum_ok(out, l));
		CU_ASSERT_EQUAL(memcmp(out + 54, f + 54 + total, l - 54), 0);
		total += l - 54;
		n++;
	}
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(total, 4500);
	CU_ASSERT_EQUAL(stats(nb).rx_packets, 5);

	CU_ASSERT_FATAL(create(1, &nb2) == 0);
	fe_connect(&fe2);
	rx_post(&fe2, 0, 8);
	len = tcp4_frame(f, 700, 92, 12);
	CU_ASSERT_FALSE(tcp4_csum_ok(f, len));
	CU_ASSERT_EQUAL(host_rx(nb2, f, len, &partial), 0);
	CU_ASSERT_FATAL(rx_wait(&fe2, 0, 1));
	CU_ASSERT_EQUAL(rx_frame(&fe2, 0, out, &flags, NULL), len);
	CU_ASSERT_EQUAL(flags, NETRXF_data_validated);
	CU_ASSERT_TRUE(tcp4_csum_ok(out, len));
	fe_close(&fe);
	fe_close(&fe2);
	destroy(nb);
	destroy(nb2);
	assert_no_leaks();
}

static unsigned int ready_calls(void) { return __atomic_load_n(&rx_ready_calls, __ATOMIC_SEQ_CST); }

static bool wait_ready(unsigned int n)
{
	uint64_t end = clock_mono_ms() + 5000;

	while (ready_calls() < n && clock_mono_ms() < end)
		usleep(200);
	return ready_calls() >= n;
}

/* No buffers: -EAGAIN; the frontend's next post calls rx_ready. */
static void test_rx_flow_control(void)
{
	static uint8_t f[16384], out[16384];
	struct fe fe = { .devid = 0, .nq = 1 };
	struct netback *nb;
	uint16_t flags;
	size_t len = tcp4_frame(f, 1000, 93, 13), big;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	fe_connect(&fe);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), -EAGAIN);
	CU_ASSERT_EQUAL(ready_calls(), 0);
	rx_post(&fe, 0, 2);
	CU_ASSERT_TRUE(wait_ready(1));
	CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), 0);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), 0);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), -EAGAIN);
	CU_ASSERT_FATAL(rx_wait(&fe, 0, 2));
	CU_ASSERT_EQUAL(rx_frame(&fe, 0, out, &flags, NULL), len);
	CU_ASSERT_EQUAL(rx_frame(&fe, 0, out, &flags, NULL), len);
	/* a 3-slot frame waits until 3 buffers are there, not 1 */
	big = tcp4_frame(f, 9000, 94, 14);
	rx_post(&fe, 0, 1);
	CU_ASSERT_TRUE(wait_ready(2));
	CU_ASSERT_EQUAL(host_rx(nb, f, big, NULL), -EAGAIN);
	rx_post(&fe, 0, 1);
	usleep(20000);
	CU_ASSERT_EQUAL(ready_calls(), 2);
	rx_post(&fe, 0, 1);
	CU_ASSERT_TRUE(wait_ready(3));
	CU_ASSERT_EQUAL(host_rx(nb, f, big, NULL), 0);
	CU_ASSERT_FATAL(rx_wait(&fe, 0, 3));
	CU_ASSERT_EQUAL(rx_frame(&fe, 0, out, &flags, NULL), big);
	CU_ASSERT_EQUAL(memcmp(out, f, big), 0);
	/* a waiting endpoint is released when the vif goes away */
	CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), -EAGAIN);
	fe_close(&fe);
	CU_ASSERT_TRUE(wait_ready(4));
	CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), 0);
	destroy(nb);
	assert_no_leaks();
}

/* Two queues, split event channels: traffic on both. */
static void test_multiqueue_split(void)
{
	static uint8_t f[4096], out[4096];
	struct fe fe = { .devid = 0, .nq = 2, .split = true };
	struct netback *nb;
	struct netback_stats st;
	unsigned int got[2] = { 0, 0 };
	uint16_t flags;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	fe_connect(&fe);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 4);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 4);
	st = stats(nb);
	CU_ASSERT_EQUAL(st.queues, 2);
	for (unsigned int qi = 0; qi < 2; qi++) {
		size_t len = tcp4_frame(f, 200, (uint16_t)(100 + qi), (uint8_t)qi);

		tx_frame(&fe, qi, f, len, 0, NULL, 0, 0, 0, 0, (uint16_t)qi);
		tx_publish(&fe, qi);
		CU_ASSERT_FATAL(tx_wait(&fe, qi, 1));
		CU_ASSERT_EQUAL(tx_rsp(&fe, qi).status, NETIF_RSP_OKAY);
		rx_post(&fe, qi, 64);
	}
	CU_ASSERT_EQUAL(nr_seen, 2);
	/* 32 flows spread over the queues; each flow stays on one */
	for (unsigned int i = 0; i < 32; i++) {
		size_t len = tcp4_frame(f, 100, (uint16_t)(5000 + i), (uint8_t)i);

		CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), 0);
		CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), 0);
	}
	usleep(10000);
	for (unsigned int qi = 0; qi < 2; qi++) {
		while (rx_avail(&fe, qi)) {
			size_t l1 = rx_frame(&fe, qi, out, &flags, NULL);
			uint16_t p1 = (uint16_t)(out[34] << 8 | out[35]);

			CU_ASSERT_FATAL(rx_avail(&fe, qi) > 0);
			CU_ASSERT_EQUAL(rx_frame(&fe, qi, out, &flags, NULL), l1);
			CU_ASSERT_EQUAL((uint16_t)(out[34] << 8 | out[35]), p1);
			got[qi]++;
		}
	}
	CU_ASSERT_EQUAL(got[0] + got[1], 32);
	CU_ASSERT(got[0] > 0 && got[1] > 0);
	fe_close(&fe);
	destroy(nb);
	assert_no_leaks();
}

/* A full ring of frames in one go: more than one run's budget. */
static void test_tx_burst(void)
{
	static uint8_t f[4096];
	struct fe fe = { .devid = 0, .nq = 1 };
	struct netback *nb;
	size_t len = tcp4_frame(f, 200, 4000, 5);

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	fe_connect(&fe);
	for (unsigned int round = 0; round < 3; round++) {
		for (unsigned int i = 0; i < RS; i++)
			tx_frame(&fe, 0, f, len, 0, NULL, 0, 0, 0, 0, (uint16_t)i);
		tx_publish(&fe, 0);
		CU_ASSERT_FATAL(tx_wait(&fe, 0, RS));
		for (unsigned int i = 0; i < RS; i++) {
			struct netif_tx_response r = tx_rsp(&fe, 0);

			CU_ASSERT_EQUAL(r.id, i);
			CU_ASSERT_EQUAL(r.status, NETIF_RSP_OKAY);
		}
	}
	CU_ASSERT_EQUAL(stats(nb).tx_packets, 3 * RS);
	CU_ASSERT_EQUAL(stats(nb).tx_bytes, 3 * RS * len);
	fe_close(&fe);
	destroy(nb);
	assert_no_leaks();
}

/* A frontend without feature-sg: one page per frame. */
static void test_rx_no_sg(void)
{
	static uint8_t f[16384], out[16384];
	struct fe fe = { .devid = 0, .nq = 1, .no_sg = true, .no_gso = true };
	struct net_pkt_meta m = { .flags = NET_PKT_CSUM_PARTIAL, .gso_type = NET_PKT_GSO_TCPV4,
				  .gso_size = 1448, .hdr_len = 54, .csum_start = 34,
				  .csum_offset = 16 };
	struct netback *nb;
	uint16_t flags;
	size_t len;
	unsigned int n = 0;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	fe_connect(&fe);
	rx_post(&fe, 0, 32);
	len = tcp4_frame(f, 9000, 95, 15);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), 0);
	CU_ASSERT_EQUAL(stats(nb).rx_drops, 1);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, &m), 0);
	CU_ASSERT_FATAL(rx_wait(&fe, 0, 7));
	while (rx_avail(&fe, 0)) {
		size_t l = rx_frame(&fe, 0, out, &flags, NULL);

		CU_ASSERT(l > 54 && l <= 54 + 1448);
		CU_ASSERT_EQUAL(flags & NETRXF_more_data, 0);
		CU_ASSERT_TRUE(tcp4_csum_ok(out, l));
		n++;
	}
	CU_ASSERT_EQUAL(n, 7);
	fe_close(&fe);
	destroy(nb);
	assert_no_leaks();
}

/* IPv6: TSO from the guest; checksum filled for a frontend without
 * feature-ipv6-csum-offload, left blank for one with it. */
static void test_ipv6(void)
{
	static uint8_t f[16384], out[16384];
	const uint16_t frags[1] = { 4000 };
	struct fe fe = { .devid = 0, .nq = 1, .no_ipv6_csum = true };
	struct net_pkt_meta partial = { .flags = NET_PKT_CSUM_PARTIAL, .csum_start = 54,
					.csum_offset = 16 };
	struct netback *nb;
	uint16_t flags;
	size_t len;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	fe_connect(&fe);
	len = tcp6_frame(f, 6000, 16);
	tx_frame(&fe, 0, f, len, 0, frags, 1, NETTXF_csum_blank, XEN_NETIF_GSO_TYPE_TCPV6, 1420,
		 60);
	tx_publish(&fe, 0);
	CU_ASSERT_FATAL(tx_wait(&fe, 0, 3));
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_OKAY);
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_NULL);
	CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_OKAY);
	CU_ASSERT_FATAL(nr_seen == 1);
	CU_ASSERT_EQUAL(seen[0].len, len);
	CU_ASSERT_EQUAL(memcmp(seen[0].data, f, len), 0);
	CU_ASSERT_EQUAL(seen[0].meta.gso_type, NET_PKT_GSO_TCPV6);
	CU_ASSERT_EQUAL(seen[0].meta.gso_size, 1420);
	CU_ASSERT_EQUAL(seen[0].meta.hdr_len, 74);
	CU_ASSERT_EQUAL(seen[0].meta.csum_start, 54);
	CU_ASSERT_EQUAL(seen[0].meta.csum_offset, 16);

	rx_post(&fe, 0, 8);
	len = tcp6_frame(f, 900, 17);
	CU_ASSERT_FALSE(tcp6_csum_ok(f, len));
	CU_ASSERT_EQUAL(host_rx(nb, f, len, &partial), 0);
	CU_ASSERT_FATAL(rx_wait(&fe, 0, 1));
	CU_ASSERT_EQUAL(rx_frame(&fe, 0, out, &flags, NULL), len);
	CU_ASSERT_EQUAL(flags, NETRXF_data_validated);
	CU_ASSERT_TRUE(tcp6_csum_ok(out, len));
	/* IPv4 partial frames still go blank to this frontend */
	len = tcp4_frame(f, 900, 96, 18);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, &(struct net_pkt_meta){ .flags = NET_PKT_CSUM_PARTIAL,
								     .csum_start = 34,
								     .csum_offset = 16 }), 0);
	CU_ASSERT_FATAL(rx_wait(&fe, 0, 1));
	CU_ASSERT_EQUAL(rx_frame(&fe, 0, out, &flags, NULL), len);
	CU_ASSERT_EQUAL(flags, NETRXF_csum_blank | NETRXF_data_validated);
	fe_close(&fe);

	/* with feature-ipv6-csum-offload the checksum stays blank */
	fe = (struct fe){ .devid = 0, .nq = 1 };
	fe_reinit(&fe);
	fe_connect(&fe);
	rx_post(&fe, 0, 8);
	len = tcp6_frame(f, 900, 19);
	CU_ASSERT_EQUAL(host_rx(nb, f, len, &partial), 0);
	CU_ASSERT_FATAL(rx_wait(&fe, 0, 1));
	CU_ASSERT_EQUAL(rx_frame(&fe, 0, out, &flags, NULL), len);
	CU_ASSERT_EQUAL(flags, NETRXF_csum_blank | NETRXF_data_validated);
	CU_ASSERT_EQUAL(memcmp(out, f, len), 0);
	fe_close(&fe);
	destroy(nb);
	assert_no_leaks();
}

/* ---- protocol violations: the vif closes, others are not disturbed ---------- */

enum bad {
	BAD_ZERO_FRAG, BAD_FRAG_PAST_PAGE, BAD_HEAD_PAST_PAGE, BAD_TOO_MANY_SLOTS,
	BAD_FRAGS_BIGGER, BAD_TX_GREF, BAD_TX_REQ_PROD, BAD_TX_REQ_PROD_BACK, BAD_PAST_REQ_PROD,
	BAD_EXTRA_TYPE, BAD_EXTRA_MISSING, BAD_TOO_MANY_EXTRAS, BAD_ZERO_FRAME, BAD_RX_GREF,
	BAD_RX_REQ_PROD, BAD_COUNT
};

static void provoke(struct fe *fe, struct netback *nb, enum bad b)
{
	static uint8_t f[4096];
	struct fq *q = &fe->q[0];
	size_t len = tcp4_frame(f, 500, 7000, 1);

	grant(TXD_REF, true, TXD_GPA);
	switch (b) {
	case BAD_ZERO_FRAG:
		tx_req(fe, 0, TXD_REF, 0, NETTXF_more_data, 1, 100);
		tx_req(fe, 0, TXD_REF, 0, 0, 2, 0);
		break;
	case BAD_FRAG_PAST_PAGE:
		tx_req(fe, 0, TXD_REF, 0, NETTXF_more_data, 1, 200);
		tx_req(fe, 0, TXD_REF, 4000, 0, 2, 100);
		break;
	case BAD_HEAD_PAST_PAGE:
		tx_req(fe, 0, TXD_REF, 4000, 0, 1, 200);
		break;
	case BAD_TOO_MANY_SLOTS:
		tx_req(fe, 0, TXD_REF, 0, NETTXF_more_data, 0, 19 * 60);
		for (unsigned int i = 1; i < 19; i++)
			tx_req(fe, 0, TXD_REF, 0, i < 18 ? NETTXF_more_data : 0, (uint16_t)i, 60);
		break;
	case BAD_FRAGS_BIGGER:
		tx_req(fe, 0, TXD_REF, 0, NETTXF_more_data, 1, 100);
		tx_req(fe, 0, TXD_REF, 0, 0, 2, 200);
		break;
	case BAD_TX_GREF:
		tx_req(fe, 0, BAD_REF, 0, 0, 1, 100);
		break;
	case BAD_TX_REQ_PROD:
		__atomic_store_n(ridx(q->tx, 0), q->tx_prod + RS + 1, __ATOMIC_RELEASE);
		kick(q->port);
		return;
	case BAD_TX_REQ_PROD_BACK:
		tx_frame(fe, 0, f, len, 0, NULL, 0, 0, 0, 0, 1);
		tx_publish(fe, 0);
		CU_ASSERT(tx_wait(fe, 0, 1));
		__atomic_store_n(ridx(q->tx, 0), q->tx_prod - 5, __ATOMIC_RELEASE);
		kick(q->port);
		return;
	case BAD_PAST_REQ_PROD:
		tx_req(fe, 0, TXD_REF, 0, NETTXF_more_data, 1, 100);
		break;
	case BAD_EXTRA_TYPE: {
		uint8_t slot[12] = { XEN_NETIF_EXTRA_TYPE_MAX };

		tx_req(fe, 0, TXD_REF, 0, NETTXF_extra_info, 1, 100);
		tx_put(fe, 0, slot);
		break;
	}
	case BAD_EXTRA_MISSING:
		tx_req(fe, 0, TXD_REF, 0, NETTXF_extra_info, 1, 100);
		break;
	case BAD_TOO_MANY_EXTRAS:
		/* Six extra slots where four fit.  Each slot is 12 bytes and an
		 * extra is 8: the zero tail of the fourth once overwrote the
		 * backend's extra count, and the chain was taken as valid. */
		tx_req(fe, 0, TXD_REF, 0, NETTXF_extra_info, 1, 100);
		for (unsigned int i = 0; i < 6; i++) {
			uint8_t slot[12] = { XEN_NETIF_EXTRA_TYPE_GSO,
					     i < 5 ? XEN_NETIF_EXTRA_FLAG_MORE : 0, 0x36, 0x05,
					     XEN_NETIF_GSO_TYPE_TCPV4 };

			tx_put(fe, 0, slot);
		}
		break;
	case BAD_ZERO_FRAME:
		tx_req(fe, 0, TXD_REF, 0, 0, 1, 0);
		break;
	case BAD_RX_GREF: {
		struct netif_rx_request r = { .id = 0, .gref = BAD_REF };

		memcpy(q->rx + 64 + (q->rx_prod & (RS - 1)) * 8, &r, sizeof(r));
		q->rx_prod++;
		__atomic_store_n(ridx(q->rx, 0), q->rx_prod, __ATOMIC_RELEASE);
		CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), 0);
		return;
	}
	case BAD_RX_REQ_PROD:
		__atomic_store_n(ridx(q->rx, 0), q->rx_prod + RS + 1, __ATOMIC_RELEASE);
		CU_ASSERT_EQUAL(host_rx(nb, f, len, NULL), 0);
		return;
	default:
		return;
	}
	tx_publish(fe, 0);
}

static void test_bad_frontends(void)
{
	static uint8_t f[4096];
	struct fe fe = { .devid = 0, .nq = 1 }, other = { .devid = 1, .nq = 1 };
	struct netback *nb, *nb2;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	CU_ASSERT_FATAL(create(1, &nb2) == 0);
	fe_connect(&other);
	for (int b = 0; b < BAD_COUNT; b++) {
		size_t len;

		if (b)
			fe_reinit(&fe);
		fe_connect(&fe);
		provoke(&fe, nb, (enum bad)b);
		if (!wait_be_state(0, XenbusStateClosing)) {
			CU_FAIL("bad frontend not disconnected");
			fprintf(stderr, "case %d\n", b);
		}
		CU_ASSERT_NOT_EQUAL(be_node(0, "error")[0], 0);
		CU_ASSERT_EQUAL(stats(nb).fatal, (unsigned int)b + 1);
		/* only the other vif's rings are still mapped */
		CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 2);
		CU_ASSERT_EQUAL(gw(0, "state", "%d", XenbusStateClosed), 0);
		CU_ASSERT_TRUE(wait_be_state(0, XenbusStateClosed));
		fe_close_ports(&fe);
		/* the other vif still moves frames */
		len = tcp4_frame(f, 100, 9000, (uint8_t)b);
		tx_frame(&other, 0, f, len, 0, NULL, 0, 0, 0, 0, (uint16_t)b);
		tx_publish(&other, 0);
		CU_ASSERT_TRUE(tx_wait(&other, 0, 1));
		CU_ASSERT_EQUAL(tx_rsp(&other, 0).status, NETIF_RSP_OKAY);
		CU_ASSERT_STRING_EQUAL(be_node(1, "state"), "4");
	}
	/* after all that, the first vif connects cleanly again */
	fe_reinit(&fe);
	fe_connect(&fe);
	CU_ASSERT_STRING_EQUAL(be_node(0, "error"), "");
	{
		size_t len = tcp4_frame(f, 100, 9001, 1);

		tx_frame(&fe, 0, f, len, 0, NULL, 0, 0, 0, 0, 77);
		tx_publish(&fe, 0);
		CU_ASSERT_TRUE(tx_wait(&fe, 0, 1));
		CU_ASSERT_EQUAL(tx_rsp(&fe, 0).status, NETIF_RSP_OKAY);
	}
	CU_ASSERT_EQUAL(stats(nb2).fatal, 0);
	fe_close(&fe);
	fe_close(&other);
	destroy(nb);
	destroy(nb2);
	assert_no_leaks();
}

/* Refused negotiations: Closing with an error, nothing mapped. */
static void test_bad_negotiation(void)
{
	struct fe fe = { .devid = 0, .nq = 1, .no_rx_copy = true };
	struct fe many = { .devid = 0, .nq = 2 };
	struct netback *nb;

	CU_ASSERT_FATAL(create_q(0, 1, &nb) == 0);
	fe_start(&fe);
	CU_ASSERT_TRUE(wait_be_state(0, XenbusStateClosing));
	CU_ASSERT_NOT_EQUAL(be_node(0, "error")[0], 0);
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	CU_ASSERT_EQUAL(gw(0, "state", "%d", XenbusStateClosed), 0);
	CU_ASSERT_TRUE(wait_be_state(0, XenbusStateClosed));
	fe_close_ports(&fe);
	/* more queues than offered */
	fe_reinit(&many);
	fe_start(&many);
	CU_ASSERT_TRUE(wait_be_state(0, XenbusStateClosing));
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
	CU_ASSERT_EQUAL(gw(0, "state", "%d", XenbusStateClosed), 0);
	CU_ASSERT_TRUE(wait_be_state(0, XenbusStateClosed));
	fe_close_ports(&many);
	/* a split channel with one half missing, a ring ref that is not a number */
	fe = (struct fe){ .devid = 0, .nq = 1 };
	fe_reinit(&fe);
	CU_ASSERT_EQUAL(gw(0, "tx-ring-ref", "banana"), 0);
	CU_ASSERT_EQUAL(gw(0, "rx-ring-ref", "2"), 0);
	CU_ASSERT_EQUAL(gw(0, "event-channel-tx", "3"), 0);
	CU_ASSERT_EQUAL(gw(0, "state", "%d", XenbusStateConnected), 0);
	CU_ASSERT_TRUE(wait_be_state(0, XenbusStateClosing));
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	destroy(nb);
	assert_no_leaks();
}

/* The guest removes its frontend directory while connected: Closed, no leaks. */
static void test_frontend_vanishes(void)
{
	struct fe fe = { .devid = 0, .nq = 1 };
	struct xs_args x = { .c = G, .path = "device/vif/0" };
	struct netback *nb;

	CU_ASSERT_FATAL(create(0, &nb) == 0);
	fe_connect(&fe);
	on_loop(do_rm, &x);
	CU_ASSERT_EQUAL(x.rc, 0);
	CU_ASSERT_TRUE(wait_be_state(0, XenbusStateClosed));
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
	fe_close_ports(&fe);
	destroy(nb);
	assert_no_leaks();
}

int main(void)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "save_restore", test_save_restore },
		{ "save_refusals", test_save_refusals },
		{ "mac", test_mac },
		{ "nodes_and_handshake", test_nodes_and_handshake },
		{ "tx_single_and_multislot", test_tx_single_and_multislot },
		{ "tx_gso_csum", test_tx_gso_csum },
		{ "tx_unusable_frames", test_tx_unusable_frames },
		{ "tx_burst", test_tx_burst },
		{ "rx_copy", test_rx_copy },
		{ "rx_gso", test_rx_gso },
		{ "rx_segment_and_csum", test_rx_segment_and_csum },
		{ "rx_flow_control", test_rx_flow_control },
		{ "rx_no_sg", test_rx_no_sg },
		{ "ipv6", test_ipv6 },
		{ "multiqueue_split", test_multiqueue_split },
		{ "bad_frontends", test_bad_frontends },
		{ "bad_negotiation", test_bad_negotiation },
		{ "frontend_vanishes", test_frontend_vanishes },
	};
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("netback", setup, teardown);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	return cunit_run(CU_BRM_VERBOSE);
}
