/*
 * netback device: XenStore layout (libxl's vif nodes), the xenbus state
 * machine, and wiring to the event loop.
 *
 *   backend  InitWait --(frontend Initialised/Connected: map rings)--> Connected
 *   frontend Closing -> backend Closing (rings unmapped)
 *   frontend Closed  -> backend Closed; frontend Initialising again
 *                       (module reload, guest reboot) -> InitWait
 *   a broken queue   -> error node, Closing; fresh start after Closed
 *
 * Watch callbacks run inside store calls and must not re-enter the store,
 * so the frontend-state watch only signals state_kick; the handler then
 * reads the state on the loop thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "xenkvm/xen_abi.h"
#include <xen/io/xenbus.h>

#include "netback_priv.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "xenkvm/xenbus_backend.h"
#include "xenkvm/xenstore.h"

#define NB_WATCH_TOKEN "netback"

/* ---- XenStore helpers ------------------------------------------------------ */

/* Strict unsigned decimal; `def` when absent. */
static int nb_read_uint(struct netback *nb, const char *dir, const char *key, unsigned long def,
			unsigned long *v_r)
{
	int rc = xenbus_be_read_uint(nb->xs, dir, key, v_r);

	if (rc == -ENOENT) {
		*v_r = def;
		return 0;
	}
	return rc;
}

/* A feature-* flag: absent is 0. */
static bool nb_feature(struct netback *nb, const char *key)
{
	unsigned long v;

	return !nb_read_uint(nb, nb->fe_path, key, 0, &v) && v == 1;
}

static void nb_switch(struct netback *nb, int state)
{
	int rc;

	if (nb->be_state == state)
		return;
	rc = xenbus_be_write(nb->xs, nb->be_path, "state", "%d", state);
	if (rc)
		pr_err("netback: d%u vif %u: writing state %d: %s", nb->domid, nb->devid, state,
		       strerror(-rc));
	pr_trace(TRACE_NET, "netback: d%u vif %u: state %d -> %d", nb->domid, nb->devid,
		 nb->be_state, state);
	nb->be_state = state;
}

/* xenbus_dev_fatal: say why, then Closing. */
static void nb_fail(struct netback *nb, const char *why, int rc)
{
	pr_err_rl("netback: d%u vif %u: %s: %s", nb->domid, nb->devid, why, strerror(-rc));
	xenbus_be_write(nb->xs, nb->be_path, "error", "%d %s", -rc, why);
	nb_switch(nb, XenbusStateClosing);
}

/* ---- connect / disconnect ------------------------------------------------ */

static void nb_disconnect(struct netback *nb)
{
	for (unsigned int q = 0; q < NB_MAX_QUEUES; q++)
		nb_queue_disconnect(&nb->queues[q]);
	nb->nr_queues = 0;
}

static int nb_connect_queue(struct netback *nb, unsigned int q, unsigned int nr_queues)
{
	struct nb_queue_config c = { 0 };
	unsigned long tx, rx, ev, evtx, evrx;
	char dir[192];
	int rc;

	if (nr_queues == 1)
		snprintf(dir, sizeof(dir), "%s", nb->fe_path);
	else
		snprintf(dir, sizeof(dir), "%s/queue-%u", nb->fe_path, q);
	rc = nb_read_uint(nb, dir, "tx-ring-ref", ULONG_MAX, &tx);
	rc = rc ?: nb_read_uint(nb, dir, "rx-ring-ref", ULONG_MAX, &rx);
	rc = rc ?: nb_read_uint(nb, dir, "event-channel", 0, &ev);
	rc = rc ?: nb_read_uint(nb, dir, "event-channel-tx", 0, &evtx);
	rc = rc ?: nb_read_uint(nb, dir, "event-channel-rx", 0, &evrx);
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

static int nb_connect(struct netback *nb)
{
	unsigned long nq;
	int rc;

	/* Copying receive is all we do; flipping pages went away long ago. */
	if (!nb_feature(nb, "request-rx-copy"))
		return -EOPNOTSUPP;
	/* Without rx notifications we would have to poll for buffers. */
	if (!nb_feature(nb, "feature-rx-notify"))
		return -EOPNOTSUPP;
	rc = nb_read_uint(nb, nb->fe_path, "multi-queue-num-queues", 1, &nq);
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
	pr_info("netback: d%u vif %u: connected, %lu queue(s)%s%s%s%s", nb->domid, nb->devid, nq,
		nb->queues[0].tx_port != nb->queues[0].rx_port ? ", split event channels" : "",
		nb->fe.sg ? ", sg" : "", nb->fe.gso_tcpv4 || nb->fe.gso_tcpv6 ? ", gso" : "",
		nb->fe.csum ? ", csum offload" : "");
	return 0;
}

/* An endpoint that was told -EAGAIN must not wait for a disconnected vif:
 * let it retry, netback_rx() now drops. */
static void nb_release_rx(struct netback *nb)
{
	if (nb->rx_waiting) {
		nb->rx_waiting = false;
		if (nb->rx_ready)
			nb->rx_ready(nb->opaque);
	}
}

/* The frontend's state changed (or a queue broke). */
static void nb_state_changed(void *opaque, uint32_t events)
{
	struct netback *nb = opaque;
	unsigned long fe;
	int rc;

	(void)events;
	if (nb->fatal && nb->be_state != XenbusStateClosing && nb->be_state != XenbusStateClosed) {
		nb_disconnect(nb);
		nb_fail(nb, "frontend broke the netif protocol", -EPROTO);
		nb_release_rx(nb);
	}
	rc = nb_read_uint(nb, nb->fe_path, "state", XenbusStateUnknown, &fe);
	if (rc)
		return;
	nb->fe_state = fe > XenbusStateReconfigured ? -1 : (int)fe;
	switch (fe) {
	case XenbusStateInitialising:
		/* Closed: module reload.  Connected: a frontend that started
		 * over without closing (kexec, a crashed driver); its old
		 * rings are gone either way. */
		if (nb->be_state == XenbusStateClosed || nb->be_state == XenbusStateConnected) {
			pr_info("netback: d%u vif %u: frontend reconnecting", nb->domid, nb->devid);
			nb_disconnect(nb);
			nb_switch(nb, XenbusStateInitWait);
			nb_release_rx(nb);
		}
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		/* Two quick changes may coalesce into one event: connect from
		 * whatever we missed in between. */
		if (nb->be_state == XenbusStateConnected || nb->fatal ||
		    nb->be_state == XenbusStateClosing || nb->be_state == XenbusStateClosed)
			break;
		nb_disconnect(nb);
		rc = nb_connect(nb);
		if (rc) {
			nb_fail(nb, "connecting the rings", rc);
			break;
		}
		{
			char err[128];

			snprintf(err, sizeof(err), "%s/error", nb->be_path);
			xs_store_rm(nb->xs, 0, err);
		}
		nb_switch(nb, XenbusStateConnected);
		nb->stats.connects++;
		/* Frames may already wait, and an endpoint may wait for room. */
		for (unsigned int q = 0; q < nb->nr_queues; q++)
			event_notifier_signal(nb->queues[q].kick);
		nb_release_rx(nb);
		break;
	case XenbusStateClosing:
		nb_disconnect(nb);
		nb_switch(nb, XenbusStateClosing);
		nb_release_rx(nb);
		break;
	case XenbusStateClosed:
	case XenbusStateUnknown:
		nb_disconnect(nb);
		nb_switch(nb, XenbusStateClosed);
		nb->fatal = false;
		nb_release_rx(nb);
		break;
	default:
		break;
	}
}

static void nb_watch_fired(void *opaque, const char *path, const char *token)
{
	struct netback *nb = opaque;

	(void)path;
	(void)token;
	event_notifier_signal(nb->state_kick);
}

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
	return xs_domain_add_device(nb->store, nb->domid, 0, "vif", nb->devid, fe_kv, be_kv);
}

int netback_create(const struct netback_params *p, struct netback **nb_r)
{
	struct netback *nb;
	char fe_state[160];
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
	nb->be_state = XenbusStateInitialising;
	nb->fe_state = -1;
	snprintf(nb->fe_path, sizeof(nb->fe_path), "/local/domain/%u/device/vif/%u", nb->domid,
		 nb->devid);
	snprintf(nb->be_path, sizeof(nb->be_path), "/local/domain/0/backend/vif/%u/%u", nb->domid,
		 nb->devid);

	rc = event_notifier_new(nb->loop, nb_state_changed, nb, &nb->state_kick);
	if (!rc)
		rc = event_notifier_new(nb->loop, nb_rx_flush_fired, nb, &nb->rx_flush);
	for (unsigned int q = 0; q < NB_MAX_QUEUES && !rc; q++)
		rc = event_notifier_new(nb->loop, nb_queue_kicked, &nb->queues[q],
					&nb->queues[q].kick);
	if (rc)
		goto fail;
	nb->xs = xs_client_new(nb->store, 0, true, nb_watch_fired, nb);
	if (!nb->xs) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = nb_add_nodes(nb);
	if (rc) {
		pr_err("netback: d%u vif %u: writing XenStore nodes: %s", nb->domid, nb->devid,
		       strerror(-rc));
		goto fail;
	}
	snprintf(fe_state, sizeof(fe_state), "%s/state", nb->fe_path);
	rc = xs_watch_add(nb->xs, fe_state, NB_WATCH_TOKEN);
	if (rc)
		goto fail;
	nb_switch(nb, XenbusStateInitWait);
	event_notifier_signal(nb->state_kick);
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
	if (nb->xs) {
		if (nb->be_state != XenbusStateInitialising) {
			xs_store_rm(nb->xs, 0, nb->be_path);
			xs_store_rm(nb->xs, 0, nb->fe_path);
		}
		xs_client_free(nb->xs);
	}
	for (unsigned int q = 0; q < NB_MAX_QUEUES; q++)
		if (nb->queues[q].kick)
			event_notifier_free(nb->queues[q].kick);
	if (nb->state_kick)
		event_notifier_free(nb->state_kick);
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
	st->queues = nb->nr_queues;
	st->backend_state = nb->be_state;
	st->frontend_state = nb->fe_state;
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
