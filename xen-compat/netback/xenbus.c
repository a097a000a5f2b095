/*
 * netback device: XenStore layout (libxl's vif nodes), what connecting
 * reads from the frontend, and wiring to the event loop.  The xenbus
 * state machine is the shared one (xen-compat/xenbus_backend.c); this
 * file gives it the connect (map the queues) and disconnect hooks, and
 * lets a waiting endpoint retry whenever the vif's state changes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "xenkvm/xen_abi.h"

#include "netback_priv.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "xenkvm/xenbus_backend.h"
#include "xenkvm/xenstore.h"

/* ---- XenStore helpers ------------------------------------------------------ */

/* A feature-* flag: absent is 0. */
static bool nb_feature(struct netback *nb, const char *key)
{
	unsigned long v;

	return !xenbus_be_read_uint_def(nb->xb.xs, nb->xb.fe_path, key, 0, &v) && v == 1;
}

/* ---- connect / disconnect ------------------------------------------------ */

static void nb_disconnect(void *opaque)
{
	struct netback *nb = opaque;

	for (unsigned int q = 0; q < NB_MAX_QUEUES; q++)
		nb_queue_disconnect(&nb->queues[q]);
	nb->nr_queues = 0;
}

static int nb_connect_queue(struct netback *nb, unsigned int q, unsigned int nr_queues)
{
	struct xs_client *xs = nb->xb.xs;
	struct nb_queue_config c = { 0 };
	unsigned long tx, rx, ev, evtx, evrx;
	char dir[192];
	int rc;

	xenbus_backend_queue_dir(&nb->xb, q, nr_queues, dir, sizeof(dir));
	rc = xenbus_be_read_uint_def(xs, dir, "tx-ring-ref", ULONG_MAX, &tx);
	rc = rc ?: xenbus_be_read_uint_def(xs, dir, "rx-ring-ref", ULONG_MAX, &rx);
	rc = rc ?: xenbus_be_read_uint_def(xs, dir, "event-channel", 0, &ev);
	rc = rc ?: xenbus_be_read_uint_def(xs, dir, "event-channel-tx", 0, &evtx);
	rc = rc ?: xenbus_be_read_uint_def(xs, dir, "event-channel-rx", 0, &evrx);
	if (rc)
		return rc;
	if (tx > UINT32_MAX || rx > UINT32_MAX)
		return -EINVAL;
	if (evtx || evrx) {
		/* feature-split-event-channels: both or neither. */
		if (!evtx || !evrx || evtx > UINT32_MAX || evrx > UINT32_MAX || evtx == evrx)
			return -EINVAL;
		c.tx_evtchn = (evtchn_port_t)evtx;
		c.rx_evtchn = (evtchn_port_t)evrx;
	} else {
		if (!ev || ev > UINT32_MAX)
			return -EINVAL;
		c.tx_evtchn = c.rx_evtchn = (evtchn_port_t)ev;
	}
	c.tx_ref = (grant_ref_t)tx;
	c.rx_ref = (grant_ref_t)rx;
	return nb_queue_connect(&nb->queues[q], &c);
}

static int nb_connect(void *opaque)
{
	struct netback *nb = opaque;
	unsigned long nq;
	int rc;

	/* Copying receive is all we do; flipping pages went away long ago. */
	if (!nb_feature(nb, "request-rx-copy"))
		return -EOPNOTSUPP;
	/* Without rx notifications we would have to poll for buffers. */
	if (!nb_feature(nb, "feature-rx-notify"))
		return -EOPNOTSUPP;
	rc = xenbus_be_read_uint_def(nb->xb.xs, nb->xb.fe_path, "multi-queue-num-queues", 1,
				     &nq);
	if (rc)
		return rc;
	if (nq == 0 || nq > nb->max_queues)
		return -EINVAL;
	nb->fe.sg = nb_feature(nb, "feature-sg");
	nb->fe.gso_tcpv4 = nb_feature(nb, "feature-gso-tcpv4");
	nb->fe.gso_tcpv6 = nb_feature(nb, "feature-gso-tcpv6");
	nb->fe.csum = !nb_feature(nb, "feature-no-csum-offload");
	nb->fe.ipv6_csum = nb_feature(nb, "feature-ipv6-csum-offload");
	for (unsigned int q = 0; q < nq; q++) {
		rc = nb_connect_queue(nb, q, (unsigned int)nq);
		if (rc) {
			nb_disconnect(nb);
			return rc;
		}
	}
	nb->nr_queues = (unsigned int)nq;
	/* Frames may already wait. */
	for (unsigned int i = 0; i < nb->nr_queues; i++)
		event_notifier_signal(nb->queues[i].kick);
	pr_info_rl("netback: d%u vif %u: connected, %lu queue(s)%s%s%s%s", nb->domid, nb->devid, nq,
		nb->queues[0].tx_port != nb->queues[0].rx_port ? ", split event channels" : "",
		nb->fe.sg ? ", sg" : "", nb->fe.gso_tcpv4 || nb->fe.gso_tcpv6 ? ", gso" : "",
		nb->fe.csum ? ", csum offload" : "");
	return 0;
}

/* An endpoint that was told -EAGAIN must not wait for a vif that changed
 * state: let it retry (netback_rx() now drops, or has room). */
static void nb_release_rx(void *opaque)
{
	struct netback *nb = opaque;

	if (nb->rx_waiting) {
		nb->rx_waiting = false;
		if (nb->rx_ready)
			nb->rx_ready(nb->opaque);
	}
}

static const struct xenbus_backend_ops nb_xenbus_ops = {
	.connect = nb_connect,
	.disconnect = nb_disconnect,
	.changed = nb_release_rx,
};

static void nb_rx_flush_fired(void *opaque, uint32_t events)
{
	(void)events;
	nb_rx_flush(opaque);
}

static void nb_queue_kicked(void *opaque, uint32_t events)
{
	struct nb_queue *q = opaque;

	(void)events;
	nb_tx_process(q);
	nb_rx_kicked(q);
}

/* ---- create / destroy ------------------------------------------------------ */

static int nb_add_nodes(struct netback *nb)
{
	char mac[18], devid[16], fid[16], queues[8];
	const char *fe_kv[] = {
		"state", "1",
		"backend-id", "0",
		"handle", devid,
		"mac", mac,
		NULL,
	};
	const char *be_kv[] = {
		"frontend-id", fid,
		"online", "1",
		"state", "1",
		"handle", devid,
		"mac", mac,
		"type", "vif",
		"hotplug-status", "connected",
		"feature-sg", "1",
		"feature-gso-tcpv4", "1",
		"feature-gso-tcpv6", "1",
		"feature-ipv6-csum-offload", "1",
		"feature-rx-copy", "1",
		"feature-rx-flip", "0",
		"feature-split-event-channels", "1",
		"multi-queue-max-queues", queues,
		NULL,
	};

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", nb->mac[0], nb->mac[1],
		 nb->mac[2], nb->mac[3], nb->mac[4], nb->mac[5]);
	snprintf(devid, sizeof(devid), "%u", nb->devid);
	snprintf(fid, sizeof(fid), "%u", nb->domid);
	snprintf(queues, sizeof(queues), "%u", nb->max_queues);
	return xenbus_backend_start(&nb->xb, fe_kv, be_kv);
}

int netback_create(const struct netback_params *p, struct netback **nb_r)
{
	struct xenbus_backend_params xp = { .name = "netback", .cls = "vif", .trace = TRACE_NET,
					    .ops = &nb_xenbus_ops };
	struct netback *nb;
	int rc;

	*nb_r = NULL;
	if (!p || !p->dom || !p->store || !p->loop || !p->domid || p->domid >= XS_DOMID_MAX ||
	    p->devid > 0xffff)
		return -EINVAL;
	nb = calloc(1, sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	rc = nb_dev_init(nb, p->dom);
	if (rc) {
		free(nb);
		return rc;
	}
	nb->loop = p->loop;
	nb->store = p->store;
	nb->domid = p->domid;
	nb->devid = p->devid;
	memcpy(nb->mac, p->mac, sizeof(nb->mac));
	nb->tx = p->tx;
	nb->rx_ready = p->rx_ready;
	nb->opaque = p->opaque;
	nb->max_queues = !p->max_queues ? 4 : p->max_queues > NB_MAX_QUEUES ? NB_MAX_QUEUES
									     : p->max_queues;

	xp.loop = p->loop;
	xp.store = p->store;
	xp.domid = p->domid;
	xp.devid = p->devid;
	xp.opaque = nb;
	rc = xenbus_backend_init(&nb->xb, &xp);
	if (!rc)
		rc = event_notifier_new(nb->loop, nb_rx_flush_fired, nb, &nb->rx_flush);
	for (unsigned int q = 0; q < NB_MAX_QUEUES && !rc; q++)
		rc = event_notifier_new(nb->loop, nb_queue_kicked, &nb->queues[q],
					&nb->queues[q].kick);
	if (rc)
		goto fail;
	rc = nb_add_nodes(nb);
	if (rc)
		goto fail;
	pr_info("netback: d%u vif %u: mac %02x:%02x:%02x:%02x:%02x:%02x, up to %u queue(s)",
		nb->domid, nb->devid, nb->mac[0], nb->mac[1], nb->mac[2], nb->mac[3], nb->mac[4],
		nb->mac[5], nb->max_queues);
	*nb_r = nb;
	return 0;
fail:
	netback_destroy(nb);
	return rc;
}

void netback_destroy(struct netback *nb)
{
	if (!nb)
		return;
	nb_disconnect(nb);
	xenbus_backend_fini(&nb->xb);
	for (unsigned int q = 0; q < NB_MAX_QUEUES; q++)
		if (nb->queues[q].kick)
			event_notifier_free(nb->queues[q].kick);
	if (nb->rx_flush)
		event_notifier_free(nb->rx_flush);
	nb_dev_fini(nb);
	free(nb);
}

unsigned int netback_devid(const struct netback *nb)
{
	return nb->devid;
}

void netback_get_stats(const struct netback *nb, struct netback_stats *st)
{
	*st = nb->stats;
	st->connects = nb->xb.connects;
	st->queues = nb->nr_queues;
	st->backend_state = nb->xb.be_state;
	st->frontend_state = nb->xb.fe_state;
}

void netback_mac_generate(const char *seed, unsigned int devid, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (const char *s = seed ? seed : ""; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	for (unsigned int i = 0; i < 4; i++)
		h = (h ^ ((devid >> (8 * i)) & 0xff)) * 16777619u;
	mac[0] = 0x00;
	mac[1] = 0x16;
	mac[2] = 0x3e;
	/* libxl keeps the top bit of the fourth byte clear. */
	mac[3] = (uint8_t)((h >> 16) & 0x7f);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}
