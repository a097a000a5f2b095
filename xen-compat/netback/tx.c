/*
 * netback transmit path (guest -> host).  A frame is its first request,
 * any extra-info slots (GSO), then the NETTXF_more_data chain.  Every slot
 * is copied off the shared ring once and validated on that copy; the data
 * is grant-copied into one flat buffer and handed to the host endpoint
 * with its offload metadata.  Each slot gets a response in ring order
 * (extra-info slots NETIF_RSP_NULL), as netfront's garbage collector
 * expects.
 *
 * Protocol violations (a frame running past req_prod, too many slots,
 * zero-sized or page-crossing fragments, fragments bigger than the frame,
 * unknown extra types, bad grants, a bogus req_prod) disable the vif;
 * merely unusable frames (runts, offloads we cannot place) are answered
 * NETIF_RSP_ERROR and counted.
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

_Static_assert(sizeof(struct netif_tx_request) == NB_TX_ENTRY, "tx request");
/* An extra-info slot is a tx slot read as a smaller struct: only that much
 * of the guest's slot may be copied, or the rest lands past it. */
_Static_assert(sizeof(struct netif_extra_info) < NB_TX_ENTRY, "extra info");

static size_t tx_slot(uint32_t i)
{
	return NB_SRING_HDR + (size_t)(i & (NB_RING_SIZE - 1)) * NB_TX_ENTRY;
}

/* The copy's length is the destination's, never the slot's. */
static void tx_read_req(struct nb_queue *q, uint32_t i, struct netif_tx_request *dst)
{
	memcpy(dst, (uint8_t *)q->tx_page.hva + tx_slot(i), sizeof(*dst));
}

static void tx_read_extra(struct nb_queue *q, uint32_t i, struct netif_extra_info *dst)
{
	memcpy(dst, (uint8_t *)q->tx_page.hva + tx_slot(i), sizeof(*dst));
}

static void tx_respond(struct nb_queue *q, uint16_t id, int16_t status)
{
	struct netif_tx_response r = { .id = id, .status = status };

	memcpy((uint8_t *)q->tx_page.hva + tx_slot(q->tx_rsp_prod_pvt), &r, sizeof(r));
	q->tx_rsp_prod_pvt++;
	q->tx_rsp_pending = true;
}

/* One frame, copied off the ring. */
struct tx_frame {
	struct netif_tx_request slot[NB_MAX_SLOTS];   /* [0] is the first request */
	unsigned int nr_slots;
	struct netif_extra_info extra[NB_MAX_EXTRAS];
	unsigned int nr_extras;
};

/* Copies the next frame's slots; false (fatal already reported) if the
 * frontend broke the protocol.  Consumes the slots either way. */
static bool tx_take(struct nb_queue *q, uint32_t rp, struct tx_frame *f)
{
	uint32_t i = q->tx_req_cons;
	uint16_t flags;

	f->nr_slots = f->nr_extras = 0;
	tx_read_req(q, i++, &f->slot[0]);
	f->nr_slots = 1;
	if (f->slot[0].flags & NETTXF_extra_info) {
		struct netif_extra_info *e;

		do {
			if (f->nr_extras == NB_MAX_EXTRAS) {
				nb_queue_fatal(q, "too many extra-info slots", f->nr_extras, 0);
				return false;
			}
			if (i == rp) {
				nb_queue_fatal(q, "extra-info slot missing", i, rp);
				return false;
			}
			e = &f->extra[f->nr_extras++];
			tx_read_extra(q, i++, e);
			if (e->type == XEN_NETIF_EXTRA_TYPE_NONE || e->type >= XEN_NETIF_EXTRA_TYPE_MAX) {
				q->tx_req_cons = i;
				nb_queue_fatal(q, "unknown extra-info type", e->type, 0);
				return false;
			}
		} while (e->flags & XEN_NETIF_EXTRA_FLAG_MORE);
	}
	flags = f->slot[0].flags;
	while (flags & NETTXF_more_data) {
		if (f->nr_slots == NB_MAX_SLOTS) {
			q->tx_req_cons = i;
			nb_queue_fatal(q, "too many slots in a frame", f->nr_slots + 1, NB_MAX_SLOTS);
			return false;
		}
		if (i == rp) {
			q->tx_req_cons = i;
			nb_queue_fatal(q, "frame runs past req_prod", i, rp);
			return false;
		}
		tx_read_req(q, i++, &f->slot[f->nr_slots]);
		flags = f->slot[f->nr_slots].flags;
		f->nr_slots++;
	}
	q->tx_req_cons = i;
	return true;
}

/* Checks sizes and offsets; the first slot's size is the frame's. */
static bool tx_check(struct nb_queue *q, const struct tx_frame *f, uint32_t *head_r)
{
	uint32_t rest = 0, head;

	if (f->slot[0].size == 0) {
		nb_queue_fatal(q, "zero-length frame", 0, 0);
		return false;
	}
	for (unsigned int s = 1; s < f->nr_slots; s++) {
		const struct netif_tx_request *t = &f->slot[s];

		if (t->size == 0 || (uint32_t)t->offset + t->size > GUEST_PAGE_SIZE) {
			nb_queue_fatal(q, "bad fragment offset/size", t->offset, t->size);
			return false;
		}
		rest += t->size;
	}
	if (rest > f->slot[0].size) {
		nb_queue_fatal(q, "fragments bigger than the frame", rest, f->slot[0].size);
		return false;
	}
	head = f->slot[0].size - rest;
	if ((uint32_t)f->slot[0].offset + head > GUEST_PAGE_SIZE) {
		nb_queue_fatal(q, "first slot crosses its page", f->slot[0].offset, head);
		return false;
	}
	*head_r = head;
	return true;
}

/* The offload metadata; false if the frame cannot be handed on as asked. */
static bool tx_meta(struct nb_queue *q, const struct tx_frame *f, const uint8_t *buf,
		    size_t len, struct net_pkt_meta *m)
{
	struct netback *nb = q->nb;
	const struct netif_extra_info *gso = NULL;

	memset(m, 0, sizeof(*m));
	for (unsigned int e = 0; e < f->nr_extras; e++)
		if (f->extra[e].type == XEN_NETIF_EXTRA_TYPE_GSO)
			gso = &f->extra[e];
	if (gso) {
		if (gso->u.gso.size == 0 || (gso->u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
					      gso->u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6)) {
			pr_err_rl("netback: d%u vif %u: bad GSO type %u size %u", nb->domid,
				  nb->devid, gso->u.gso.type, gso->u.gso.size);
			return false;
		}
		m->gso_type = gso->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 ? NET_PKT_GSO_TCPV4
									  : NET_PKT_GSO_TCPV6;
		m->gso_size = gso->u.gso.size;
	}
	/* A GSO frame always leaves its checksum to us (netfront marks it so). */
	if ((f->slot[0].flags & NETTXF_csum_blank) || gso) {
		m->flags = NET_PKT_CSUM_PARTIAL;
		if (net_pkt_locate_csum(buf, len, m)) {
			pr_err_rl("netback: d%u vif %u: checksum offload on a frame that is not "
				  "TCP/UDP over IP", nb->domid, nb->devid);
			return false;
		}
		if (gso && (m->hdr_len == 0 || m->hdr_len >= len)) {
			m->gso_type = NET_PKT_GSO_NONE;
			m->gso_size = 0;
			m->hdr_len = 0;
		}
	} else if (f->slot[0].flags & NETTXF_data_validated) {
		m->flags = NET_PKT_CSUM_VALID;
	}
	return true;
}

/* One frame: take, check, copy, hand on, answer.  False after a fatal error. */
static bool tx_one(struct nb_queue *q, uint32_t rp)
{
	struct netback *nb = q->nb;
	struct tx_frame f;
	struct net_pkt_meta m;
	int16_t st = NETIF_RSP_OKAY;
	uint32_t head, len;

	if (!tx_take(q, rp, &f) || !tx_check(q, &f, &head))
		return false;
	len = f.slot[0].size;
	/* Copy every slot (head, then fragments) into the flat buffer. */
	for (unsigned int s = 0, off = 0; s < f.nr_slots; s++) {
		uint32_t n = s ? f.slot[s].size : head;
		int rc = n ? gnttab_copy_from(nb->dom, f.slot[s].gref, f.slot[s].offset,
					      nb->txbuf + off, n) : 0;

		if (rc) {
			nb_queue_fatal(q, "bad tx grant", f.slot[s].gref, (uint32_t)-rc);
			return false;
		}
		off += n;
	}
	if (len < NB_ETH_HLEN || !tx_meta(q, &f, nb->txbuf, len, &m)) {
		st = NETIF_RSP_ERROR;
		nb->stats.tx_errors++;
	} else {
		struct iovec iov = { .iov_base = nb->txbuf, .iov_len = len };

		if (!nb->tx || nb->tx(nb->opaque, &iov, 1, &m) < 0) {
			nb->stats.tx_drops++;
		} else {
			nb->stats.tx_packets++;
			nb->stats.tx_bytes += len;
		}
	}
	tx_respond(q, f.slot[0].id, st);
	for (unsigned int e = 0; e < f.nr_extras; e++)
		tx_respond(q, 0, NETIF_RSP_NULL);
	for (unsigned int s = 1; s < f.nr_slots; s++)
		tx_respond(q, f.slot[s].id, st);
	return true;
}

void nb_tx_process(struct nb_queue *q)
{
	struct netback *nb = q->nb;
	unsigned int budget = NB_TX_BUDGET;

	if (!q->connected || q->dead)
		return;
	for (;;) {
		uint32_t rp = __atomic_load_n(nb_ring_idx(&q->tx_page, NB_REQ_PROD), __ATOMIC_ACQUIRE);

		/* More unanswered requests than slots, or req_prod moved back. */
		if (rp - q->tx_rsp_prod_pvt > NB_RING_SIZE || rp - q->tx_req_cons > NB_RING_SIZE) {
			nb_queue_fatal(q, "bogus tx req_prod", rp, q->tx_req_cons);
			return;
		}
		while (q->tx_req_cons != rp && budget) {
			if (!tx_one(q, rp))
				return;
			budget--;
		}
		if (q->tx_req_cons != rp) {
			/* Out of budget: answer what is done, come back after
			 * the loop served the others. */
			if (q->kick)
				event_notifier_signal(q->kick);
			break;
		}
		/* RING_FINAL_CHECK_FOR_REQUESTS. */
		__atomic_store_n(nb_ring_idx(&q->tx_page, NB_REQ_EVENT), q->tx_req_cons + 1,
				 __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(nb_ring_idx(&q->tx_page, NB_REQ_PROD), __ATOMIC_ACQUIRE) ==
		    q->tx_req_cons)
			break;
	}
	if (q->tx_rsp_pending) {
		q->tx_rsp_pending = false;
		nb_ring_push(nb, &q->tx_page, q->tx_rsp_prod_pvt, q->tx_port);
	}
}
