/*
 * netback receive path (host -> guest).  Frames are grant-copied into the
 * pages the frontend posted on its rx ring, a page per slot from offset 0,
 * responses written at the index of the request they used (netfront finds
 * its buffer by ring index).  A GSO frame goes whole with an extra-info
 * slot after its first response if the frontend takes that GSO type,
 * else it is cut into MSS-sized frames here; a partial checksum goes as
 * NETRXF_csum_blank unless the frontend said feature-no-csum-offload (or
 * it is IPv6 without feature-ipv6-csum-offload), then it is filled in.
 *
 * Responses of frames delivered back to back (an endpoint emptying its
 * queue) are published together once the loop is done with that handler:
 * one look at rsp_event, at most one event for the batch.
 *
 * Flow control: when a queue lacks the slots a frame needs, netback_rx()
 * says -EAGAIN, sets rx req_event for the slots it wants and the
 * frontend's next post (feature-rx-notify) reaches nb_rx_kicked(), which
 * calls rx_ready.
 */
#include <errno.h>
#include <string.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "xenkvm/xen_abi.h"
#include <xen/io/netif.h>

#include "netback_priv.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "xenkvm/net_pkt.h"

_Static_assert(sizeof(struct netif_rx_request) == NB_RX_ENTRY, "rx request");
_Static_assert(sizeof(struct netif_rx_response) == NB_RX_ENTRY, "rx response");
_Static_assert(sizeof(struct netif_extra_info) <= NB_RX_ENTRY, "rx extra info");

static uint8_t *rx_slot(struct nb_queue *q, uint32_t i)
{
	return (uint8_t *)q->rx_page.hva + NB_SRING_HDR + (size_t)(i & (NB_RING_SIZE - 1)) * NB_RX_ENTRY;
}

static uint32_t div_up(uint32_t a, uint32_t b)
{
	return (a + b - 1) / b;
}

/* Are `need` rx requests posted?  If not, ask for an event when they are.
 * -EPROTO after a bogus req_prod (the queue is dead then). */
static int rx_room(struct nb_queue *q, uint32_t need)
{
	for (int pass = 0; pass < 2; pass++) {
		uint32_t rp = __atomic_load_n(nb_ring_idx(&q->rx_page, NB_REQ_PROD),
					      __ATOMIC_ACQUIRE);

		if (rp - q->rx_rsp_prod_pvt > NB_RING_SIZE || rp - q->rx_req_cons > NB_RING_SIZE) {
			nb_queue_fatal(q, "bogus rx req_prod", rp, q->rx_req_cons);
			return -EPROTO;
		}
		if (rp - q->rx_req_cons >= need)
			return 0;
		if (pass)
			break;
		__atomic_store_n(nb_ring_idx(&q->rx_page, NB_REQ_EVENT), q->rx_req_cons + need,
				 __ATOMIC_RELAXED);
		/* Ask before looking again, so a post in between is not missed. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return -EAGAIN;
}

/* Slots one frame of `len` bytes takes, GSO extra included. */
static uint32_t rx_slots(size_t len, bool gso)
{
	return div_up((uint32_t)len, GUEST_PAGE_SIZE) + (gso ? 1 : 0);
}

/* Copies one frame into the posted buffers; the room was checked.
 * False after a fatal error. */
static bool rx_put(struct nb_queue *q, const uint8_t *buf, size_t len,
		   const struct net_pkt_meta *m, bool gso)
{
	struct netback *nb = q->nb;
	uint16_t csum = 0;
	size_t off = 0;
	bool first = true;

	if (m->flags & NET_PKT_CSUM_PARTIAL)
		csum = NETRXF_csum_blank | NETRXF_data_validated;
	else if (m->flags & NET_PKT_CSUM_VALID)
		csum = NETRXF_data_validated;
	while (first || off < len) {
		struct netif_rx_request req;
		struct netif_rx_response rsp;
		size_t n = len - off < GUEST_PAGE_SIZE ? len - off : GUEST_PAGE_SIZE;
		int rc;

		memcpy(&req, rx_slot(q, q->rx_req_cons), sizeof(req));
		q->rx_req_cons++;
		rc = gnttab_copy_to(nb->dom, req.gref, 0, buf + off, n);
		if (rc) {
			nb_queue_fatal(q, "bad rx grant", req.gref, (uint32_t)-rc);
			return false;
		}
		rsp = (struct netif_rx_response){
			.id = req.id,
			.offset = 0,
			.flags = (uint16_t)((first ? csum : 0) | (off + n < len ? NETRXF_more_data : 0) |
					    (first && gso ? NETRXF_extra_info : 0)),
			.status = (int16_t)n,
		};
		memcpy(rx_slot(q, q->rx_rsp_prod_pvt), &rsp, sizeof(rsp));
		q->rx_rsp_prod_pvt++;
		if (first && gso) {
			/* The extra-info slot uses up a posted buffer too. */
			struct netif_extra_info e = { .type = XEN_NETIF_EXTRA_TYPE_GSO };

			e.u.gso.size = m->gso_size;
			e.u.gso.type = m->gso_type == NET_PKT_GSO_TCPV4 ? XEN_NETIF_GSO_TYPE_TCPV4
									: XEN_NETIF_GSO_TYPE_TCPV6;
			q->rx_req_cons++;
			memset(rx_slot(q, q->rx_rsp_prod_pvt), 0, NB_RX_ENTRY);
			memcpy(rx_slot(q, q->rx_rsp_prod_pvt), &e, sizeof(e));
			q->rx_rsp_prod_pvt++;
		}
		off += n;
		first = false;
	}
	q->rx_rsp_pending = true;
	nb->stats.rx_packets++;
	nb->stats.rx_bytes += len;
	return true;
}

struct seg_ctx {
	struct nb_queue *q;
	bool dead;
};

static void rx_emit(void *opaque, const uint8_t *frame, size_t len)
{
	struct seg_ctx *c = opaque;
	const struct net_pkt_meta m = { .flags = NET_PKT_CSUM_VALID };

	if (c->dead)
		return;
	/* The room was reckoned for the whole frame; check each piece anyway
	 * rather than run past what the frontend posted. */
	if (rx_room(c->q, rx_slots(len, false))) {
		c->q->nb->stats.rx_drops++;
		c->dead = c->q->dead;
		return;
	}
	if (!rx_put(c->q, frame, len, &m, false))
		c->dead = true;
}

static bool frame_is_ipv6(const uint8_t *buf, size_t len)
{
	size_t o = 12;

	if (len >= 18 && buf[12] == 0x81 && buf[13] == 0x00)
		o = 16;
	return len >= o + 2 && buf[o] == 0x86 && buf[o + 1] == 0xdd;
}

/* Which queue: a hash of the IPv4/IPv6 addresses and ports (one flow, one
 * queue, no reordering); anything else goes to queue 0. */
static unsigned int rx_pick_queue(const struct netback *nb, const uint8_t *b, size_t len)
{
	uint32_t h = 2166136261u;
	size_t o = 12, a = 0, alen = 0, l4 = 0;

	if (nb->nr_queues <= 1)
		return 0;
	if (len >= 18 && b[12] == 0x81 && b[13] == 0x00)
		o = 16;
	if (len >= o + 2 + 20 && b[o] == 0x08 && b[o + 1] == 0x00) {
		a = o + 2 + 12;
		alen = 8;
		l4 = o + 2 + (size_t)(b[o + 2] & 0xf) * 4;
	} else if (len >= o + 2 + 40 && b[o] == 0x86 && b[o + 1] == 0xdd) {
		a = o + 2 + 8;
		alen = 32;
		l4 = o + 2 + 40;
	}
	if (!alen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		h = (h ^ b[a + i]) * 16777619u;
	for (size_t i = l4; i < l4 + 4 && i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	return h % nb->nr_queues;
}

int netback_rx(struct netback *nb, const struct iovec *iov, int iovcnt,
	       const struct net_pkt_meta *meta)
{
	struct net_pkt_meta m = { 0 };
	struct nb_queue *q;
	const uint8_t *buf;
	size_t len = 0;
	bool gso, pass_gso, finish;
	int rc;

	if (!nb || iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		len += iov[i].iov_len;
		if (len > NET_PKT_MAX_FRAME)
			break;
	}
	if (meta)
		m = *meta;
	if (!nb->nr_queues || nb->xb.fatal || len < NB_ETH_HLEN || len > NET_PKT_MAX_FRAME) {
		nb->stats.rx_drops++;
		return 0;
	}
	/* Flatten unless it already is; segmenting and checksumming need it. */
	if (iovcnt == 1) {
		buf = iov[0].iov_base;
	} else {
		size_t off = 0;

		for (int i = 0; i < iovcnt; i++) {
			memcpy(nb->rxbuf + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		buf = nb->rxbuf;
	}
	q = &nb->queues[rx_pick_queue(nb, buf, len)];
	if (!q->connected || q->dead) {
		nb->stats.rx_drops++;
		return 0;
	}
	gso = m.gso_type != NET_PKT_GSO_NONE;
	if (gso && (!(m.flags & NET_PKT_CSUM_PARTIAL) || !m.gso_size || !m.hdr_len ||
		    m.hdr_len >= len)) {
		nb->stats.rx_drops++;
		return 0;
	}
	pass_gso = gso && nb->fe.sg &&
		   ((m.gso_type == NET_PKT_GSO_TCPV4 && nb->fe.gso_tcpv4) ||
		    (m.gso_type == NET_PKT_GSO_TCPV6 && nb->fe.gso_tcpv6));
	if (gso && !pass_gso) {
		uint32_t payload = (uint32_t)(len - m.hdr_len);
		uint32_t segs = div_up(payload, m.gso_size);
		uint32_t need = segs * rx_slots(m.hdr_len + (size_t)(payload < m.gso_size ?
								       payload : m.gso_size), false);
		struct seg_ctx c = { .q = q };

		if (need > NB_RING_SIZE || (!nb->fe.sg && m.hdr_len + m.gso_size > GUEST_PAGE_SIZE)) {
			nb->stats.rx_drops++;
			return 0;
		}
		rc = rx_room(q, need);
		if (rc == -EAGAIN) {
			nb->rx_waiting = true;
			return -EAGAIN;
		}
		if (!rc && net_pkt_segment(buf, len, &m, rx_emit, &c))
			nb->stats.rx_errors++;
		goto push;
	}
	finish = (m.flags & NET_PKT_CSUM_PARTIAL) &&
		 (!nb->fe.csum || (!nb->fe.ipv6_csum && frame_is_ipv6(buf, len)));
	if (finish) {
		if (buf != nb->rxbuf) {
			memcpy(nb->rxbuf, buf, len);
			buf = nb->rxbuf;
		}
		if (net_pkt_finish_csum(nb->rxbuf, len, &m)) {
			nb->stats.rx_errors++;
			return 0;
		}
	}
	if (!nb->fe.sg && len > GUEST_PAGE_SIZE) {
		nb->stats.rx_drops++;
		return 0;
	}
	rc = rx_room(q, rx_slots(len, pass_gso));
	if (rc == -EAGAIN) {
		nb->rx_waiting = true;
		return -EAGAIN;
	}
	if (!rc)
		rx_put(q, buf, len, &m, pass_gso);
push:
	if (rc)
		nb->stats.rx_drops++;
	if (!q->rx_rsp_pending || q->dead)
		return 0;
	if (!nb->rx_flush) {
		nb_rx_flush(nb);
	} else if (!nb->rx_flush_armed) {
		nb->rx_flush_armed = true;
		event_notifier_signal(nb->rx_flush);
	}
	return 0;
}

void nb_rx_flush(struct netback *nb)
{
	nb->rx_flush_armed = false;
	for (unsigned int i = 0; i < nb->nr_queues; i++) {
		struct nb_queue *q = &nb->queues[i];

		if (q->connected && !q->dead && q->rx_rsp_pending) {
			q->rx_rsp_pending = false;
			nb_ring_push(nb, &q->rx_page, q->rx_rsp_prod_pvt, q->rx_port);
		}
	}
}

void nb_rx_kicked(struct nb_queue *q)
{
	struct netback *nb = q->nb;

	if (!nb->rx_waiting || !q->connected)
		return;
	nb->rx_waiting = false;
	if (nb->rx_ready)
		nb->rx_ready(nb->opaque);
}
