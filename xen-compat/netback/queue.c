/*
 * netback queues: each maps one tx and one rx ring page of the frontend
 * (grants held for the connection) and binds one event channel, or two
 * with feature-split-event-channels.  A guest event only wakes the loop;
 * the queue's kick handler then runs tx and rx there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "xenkvm/xen_abi.h"

#include "netback_priv.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_state.h"

volatile uint32_t *nb_ring_idx(const struct gnttab_mapping *page, unsigned int which)
{
	return (volatile uint32_t *)page->hva + which;
}

void nb_ring_push(struct netback *nb, const struct gnttab_mapping *page, uint32_t prod,
		  evtchn_port_t port)
{
	uint32_t old = __atomic_load_n(nb_ring_idx(page, NB_RSP_PROD), __ATOMIC_RELAXED), ev;

	if (old == prod)
		return;
	/* Responses visible before the index that publishes them. */
	__atomic_store_n(nb_ring_idx(page, NB_RSP_PROD), prod, __ATOMIC_RELEASE);
	/* Publish rsp_prod before reading rsp_event (the frontend's
	 * RING_FINAL_CHECK_FOR_RESPONSES pairs with this). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ev = __atomic_load_n(nb_ring_idx(page, NB_RSP_EVENT), __ATOMIC_RELAXED);
	if ((uint32_t)(prod - ev) < (uint32_t)(prod - old) && port)
		evtchn_backend_notify(nb->dom, port);
}

void nb_queue_fatal(struct nb_queue *q, const char *why, uint32_t a, uint32_t b)
{
	struct netback *nb = q->nb;

	pr_err_rl("netback: d%u vif %u queue %u: %s (%u, %u); disabling the vif", nb->domid,
		  nb->devid, q->qid, why, a, b);
	if (q->dead)
		return;
	q->dead = true;
	nb->stats.fatal++;
	xenbus_backend_fatal(&nb->xb);
}

static void nb_queue_evtchn(void *opaque, evtchn_port_t port)
{
	struct nb_queue *q = opaque;

	(void)port;
	/* A vCPU's thread (a send that exits) or the loop's own (KVM's
	 * eventfd), no locks either way: the rings run on the loop, at the
	 * end of this round when already there. */
	if (q->kick)
		event_notifier_signal(q->kick);
}

int nb_queue_connect(struct nb_queue *q, const struct nb_queue_config *c)
{
	struct netback *nb = q->nb;
	const char *what = "tx ring";
	int rc;

	if (q->connected)
		return -EBUSY;
	rc = gnttab_map(nb->dom, c->tx_ref, false, &q->tx_page);
	if (rc)
		goto fail;
	what = "rx ring";
	rc = gnttab_map(nb->dom, c->rx_ref, false, &q->rx_page);
	if (rc) {
		gnttab_unmap(nb->dom, &q->tx_page);
		goto fail;
	}
	q->tx_req_cons = q->tx_rsp_prod_pvt = 0;
	q->rx_req_cons = q->rx_rsp_prod_pvt = 0;
	q->tx_rsp_pending = q->rx_rsp_pending = false;
	q->dead = false;
	q->tx_port = q->rx_port = 0;
	what = "event channel";
	if (c->tx_reattach) {
		rc = evtchn_backend_reattach(nb->dom, c->tx_reattach, nb_queue_evtchn, q);
		if (!rc && c->rx_reattach != c->tx_reattach)
			rc = evtchn_backend_reattach(nb->dom, c->rx_reattach, nb_queue_evtchn, q);
		if (rc) {
			evtchn_backend_reattach(nb->dom, c->tx_reattach, NULL, NULL);
			goto unmap;
		}
		q->tx_port = c->tx_reattach;
		q->rx_port = c->rx_reattach;
	} else if (c->tx_evtchn) {
		rc = evtchn_backend_bind(nb->dom, c->tx_evtchn, nb_queue_evtchn, q, &q->tx_port);
		if (rc)
			goto unmap;
		q->rx_port = q->tx_port;
		if (c->rx_evtchn != c->tx_evtchn) {
			rc = evtchn_backend_bind(nb->dom, c->rx_evtchn, nb_queue_evtchn, q,
						 &q->rx_port);
			if (rc) {
				evtchn_backend_close(nb->dom, q->tx_port);
				goto unmap;
			}
		}
	}
	q->connected = true;
	return 0;
unmap:
	q->tx_port = q->rx_port = 0;
	gnttab_unmap(nb->dom, &q->rx_page);
	gnttab_unmap(nb->dom, &q->tx_page);
fail:
	pr_err_rl("netback: d%u vif %u queue %u: %s: %s", nb->domid, nb->devid, q->qid, what,
		  strerror(-rc));
	return rc;
}

void nb_queue_disconnect(struct nb_queue *q)
{
	struct netback *nb = q->nb;

	if (!q->connected)
		return;
	if (!q->dead) {
		nb_ring_push(nb, &q->tx_page, q->tx_rsp_prod_pvt, q->tx_port);
		nb_ring_push(nb, &q->rx_page, q->rx_rsp_prod_pvt, q->rx_port);
	}
	if (q->rx_port && q->rx_port != q->tx_port)
		evtchn_backend_close(nb->dom, q->rx_port);
	if (q->tx_port)
		evtchn_backend_close(nb->dom, q->tx_port);
	q->tx_port = q->rx_port = 0;
	gnttab_unmap(nb->dom, &q->rx_page);
	gnttab_unmap(nb->dom, &q->tx_page);
	q->connected = false;
}

int nb_dev_init(struct netback *nb, struct xen_domain *dom)
{
	memset(nb, 0, sizeof(*nb));
	nb->dom = dom;
	nb->txbuf = malloc(NET_PKT_MAX_FRAME);
	nb->rxbuf = malloc(NET_PKT_MAX_FRAME);
	if (!nb->txbuf || !nb->rxbuf) {
		nb_dev_fini(nb);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < NB_MAX_QUEUES; i++) {
		nb->queues[i].nb = nb;
		nb->queues[i].qid = i;
	}
	nb->max_queues = 1;
	return 0;
}

void nb_dev_fini(struct netback *nb)
{
	for (unsigned int i = 0; i < NB_MAX_QUEUES; i++)
		if (nb->queues[i].nb)
			nb_queue_disconnect(&nb->queues[i]);
	free(nb->txbuf);
	free(nb->rxbuf);
	nb->txbuf = nb->rxbuf = NULL;
}
