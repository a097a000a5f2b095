/*
 * netback's section of a saved domain (include/xenkvm/netback.h,
 * docs/SAVE-FORMAT.md): per vif its xenbus state and, when connected, the
 * features the frontend asked for and per queue the ring references,
 * backend ports and private indices.  Grant mappings are not carried: the
 * rings are mapped again from their references.
 */
#include <errno.h>
#include <string.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "xenkvm/xen_abi.h"
#include <xen/io/xenbus.h>

#include "netback_priv.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/xen_state.h"

enum { F_SG = 1, F_GSO4 = 2, F_GSO6 = 4, F_CSUM = 8, F_CSUM6 = 16, F_ALL = 31 };

void netback_quiesce(struct netback *nb)
{
	nb_rx_flush(nb);
	for (unsigned int i = 0; i < nb->nr_queues; i++) {
		struct nb_queue *q = &nb->queues[i];

		if (q->connected && !q->dead && q->tx_rsp_pending) {
			q->tx_rsp_pending = false;
			nb_ring_push(nb, &q->tx_page, q->tx_rsp_prod_pvt, q->tx_port);
		}
	}
}

int netback_state_save(struct netback *nb, struct state_writer *w)
{
	bool queues = nb->xb.be_state == XenbusStateConnected && nb->nr_queues;

	for (unsigned int i = 0; i < nb->nr_queues && queues; i++)
		queues = nb->queues[i].connected && !nb->queues[i].dead;
	for (unsigned int i = 0; i < nb->nr_queues && queues; i++) {
		const struct nb_queue *q = &nb->queues[i];

		if (q->tx_req_cons != q->tx_rsp_prod_pvt || q->rx_req_cons != q->rx_rsp_prod_pvt ||
		    q->tx_rsp_pending || q->rx_rsp_pending) {
			state_writer_fail(w, EBUSY, "netback: d%u vif %u queue %u: requests not "
					  "answered (not quiesced)", nb->domid, nb->devid, i);
			return -EBUSY;
		}
	}
	state_section_begin(w, XEN_STATE_NETBACK, XEN_STATE_NETBACK_VERSION);
	xenbus_backend_rec_put(&nb->xb, nb->xb.fatal || (nb->nr_queues && !queues &&
						      nb->xb.be_state == XenbusStateConnected),
			       queues ? nb->nr_queues : 0, w);
	if (queues) {
		state_put_u8(w, (nb->fe.sg ? F_SG : 0) | (nb->fe.gso_tcpv4 ? F_GSO4 : 0) |
				(nb->fe.gso_tcpv6 ? F_GSO6 : 0) | (nb->fe.csum ? F_CSUM : 0) |
				(nb->fe.ipv6_csum ? F_CSUM6 : 0));
		for (unsigned int i = 0; i < nb->nr_queues; i++) {
			const struct nb_queue *q = &nb->queues[i];

			state_put_u32(w, q->tx_page.ref);
			state_put_u32(w, q->rx_page.ref);
			state_put_u32(w, q->tx_port);
			state_put_u32(w, q->rx_port);
			state_put_u32(w, q->tx_req_cons);
			state_put_u32(w, q->rx_req_cons);
		}
	}
	return state_section_end(w);
}

struct queue_rec {
	uint32_t tx_ref, rx_ref, tx_port, rx_port, tx_cons, rx_cons;
};

static int fail(struct state_section *s, int err, const char *why, unsigned int devid)
{
	state_section_fail(s, err, "vif %u: %s", devid, why);
	return -err;
}

/* A ring as saved: every consumed request answered and published, and
 * the guest produced at most a ring's worth more. */
static bool ring_fits(const struct gnttab_mapping *page, uint32_t cons)
{
	uint32_t req_prod = __atomic_load_n(nb_ring_idx(page, NB_REQ_PROD), __ATOMIC_ACQUIRE);
	uint32_t rsp_prod = __atomic_load_n(nb_ring_idx(page, NB_RSP_PROD), __ATOMIC_ACQUIRE);

	return rsp_prod == cons && req_prod - cons <= NB_RING_SIZE;
}

static int reconnect(struct netback *nb, struct state_section *s, unsigned int nr,
		     const struct queue_rec *rec)
{
	unsigned int i;
	int rc = 0;

	for (i = 0; i < nr && !rc; i++) {
		struct nb_queue_config c = {
			.tx_ref = rec[i].tx_ref, .rx_ref = rec[i].rx_ref,
			.tx_reattach = rec[i].tx_port, .rx_reattach = rec[i].rx_port,
		};
		struct nb_queue *q = &nb->queues[i];

		rc = nb_queue_connect(q, &c);
		if (rc) {
			state_section_fail(s, -rc, "vif %u queue %u: mapping it again: %s", nb->devid, i,
					   strerror(-rc));
			break;
		}
		q->tx_req_cons = q->tx_rsp_prod_pvt = rec[i].tx_cons;
		q->rx_req_cons = q->rx_rsp_prod_pvt = rec[i].rx_cons;
		if (!ring_fits(&q->tx_page, q->tx_req_cons) || !ring_fits(&q->rx_page, q->rx_req_cons)) {
			state_section_fail(s, EBADMSG, "vif %u queue %u: the rings' indices do not fit "
					   "what was saved (tx %u, rx %u)", nb->devid, i, q->tx_req_cons,
					   q->rx_req_cons);
			rc = -EBADMSG;
			i++;
			break;
		}
	}
	if (rc)
		while (i--)
			nb_queue_disconnect(&nb->queues[i]);
	return rc;
}

static int netback_load(void *opaque, struct state_section *s)
{
	struct netback_state_load *ctx = opaque;
	struct queue_rec rec[NB_MAX_QUEUES];
	struct xenbus_backend_rec xr;
	uint32_t devid, nr;
	uint8_t feat = 0;
	struct netback *nb;
	size_t i;
	int rc;

	if (xenbus_backend_rec_get(s, &xr, "vif"))
		return -EBADMSG;
	devid = xr.devid;
	nr = xr.nr_rings;
	for (i = 0; i < ctx->nr && i < 64; i++)
		if (ctx->vifs[i] && ctx->vifs[i]->devid == devid)
			break;
	if (i == ctx->nr || i >= 64)
		return fail(s, ENODEV, "no such vif in this domain's config", devid);
	if (ctx->loaded & (1ull << i))
		return fail(s, EBADMSG, "saved twice", devid);
	nb = ctx->vifs[i];
	if (nr > nb->max_queues || (nr && xr.be_state != XenbusStateConnected))
		return fail(s, EBADMSG, "more queues than it offers, or queues while not connected",
			    devid);
	if (nr) {
		state_get_u8(s, &feat);
		for (uint32_t q = 0; q < nr && !state_section_failed(s); q++) {
			state_get_u32(s, &rec[q].tx_ref);
			state_get_u32(s, &rec[q].rx_ref);
			state_get_u32(s, &rec[q].tx_port);
			state_get_u32(s, &rec[q].rx_port);
			state_get_u32(s, &rec[q].tx_cons);
			state_get_u32(s, &rec[q].rx_cons);
			if (!state_section_failed(s) && (!rec[q].tx_port || !rec[q].rx_port))
				return fail(s, EBADMSG, "a connected queue without an event channel", devid);
		}
		if (!state_section_failed(s) && (feat & ~F_ALL))
			return fail(s, EBADMSG, "unknown feature bits", devid);
	}
	if (state_section_failed(s))
		return -EBADMSG;
	if (nb->nr_queues)
		return fail(s, EBUSY, "already connected", devid);
	rc = reconnect(nb, s, nr, rec);
	if (rc)
		return rc;
	nb->nr_queues = nr;
	nb->fe = (struct nb_features){ .sg = feat & F_SG, .gso_tcpv4 = feat & F_GSO4,
				       .gso_tcpv6 = feat & F_GSO6, .csum = feat & F_CSUM,
				       .ipv6_csum = feat & F_CSUM6 };
	xenbus_backend_rec_apply(&nb->xb, &xr);
	ctx->loaded |= 1ull << i;
	for (uint32_t q = 0; q < nr; q++)
		if (nb->queues[q].kick)
			event_notifier_signal(nb->queues[q].kick);
	return 0;
}

void netback_state_handler(struct netback_state_load *ctx, struct state_handler *h)
{
	ctx->loaded = 0;
	*h = (struct state_handler){ XEN_STATE_NETBACK, XEN_STATE_NETBACK_VERSION, "netback",
				     ctx->nr > 0, netback_load, ctx };
}
