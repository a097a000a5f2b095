/*
 * XenStore helpers and the one xenbus state machine for domain-0 backends
 * (see include/xenkvm/xenbus_backend.h for the transitions).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "xenkvm/xen_abi.h"
#include <xen/io/xenbus.h>

#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "xenkvm/xenbus_backend.h"
#include "xenkvm/xenstore.h"

int xenbus_be_write(struct xs_client *xs, const char *dir, const char *key, const char *fmt, ...)
{
	char path[192], val[256];
	va_list ap;
	int n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >= sizeof(path))
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(val))
		return -EINVAL;
	return xs_store_write(xs, 0, path, val, (size_t)n);
}

int xenbus_be_read(struct xs_client *xs, const char *dir, const char *key, char *buf, size_t size)
{
	struct xs_buf b = { 0 };
	char path[192];
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >= sizeof(path))
		return -ENAMETOOLONG;
	rc = xs_store_read(xs, 0, path, &b);
	if (!rc) {
		if (b.len >= size || memchr(b.data, '\0', b.len)) {
			rc = -EINVAL;
		} else {
			memcpy(buf, b.data, b.len);
			buf[b.len] = '\0';
		}
	}
	xs_buf_free(&b);
	return rc;
}

int xenbus_be_read_uint(struct xs_client *xs, const char *dir, const char *key, unsigned long *v_r)
{
	char buf[32], *end;
	int rc = xenbus_be_read(xs, dir, key, buf, sizeof(buf));

	if (rc)
		return rc;
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	*v_r = strtoul(buf, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

int xenbus_be_read_uint_def(struct xs_client *xs, const char *dir, const char *key,
			    unsigned long def, unsigned long *v_r)
{
	int rc = xenbus_be_read_uint(xs, dir, key, v_r);

	if (rc == -ENOENT) {
		*v_r = def;
		return 0;
	}
	return rc;
}

/* ---- the state machine ---------------------------------------------------- */

#define XB_WATCH_TOKEN "xenbus-backend"

static void xb_switch(struct xenbus_backend *xb, int state)
{
	int rc;

	if (xb->be_state == state)
		return;
	rc = xenbus_be_write(xb->xs, xb->be_path, "state", "%d", state);
	if (rc)
		pr_err_rl("%s: d%u %s %u: writing state %d: %s", xb->name, xb->domid, xb->cls,
			  xb->devid, state, strerror(-rc));
	pr_trace(xb->trace, "%s: d%u %s %u: state %d -> %d", xb->name, xb->domid, xb->cls,
		 xb->devid, xb->be_state, state);
	xb->be_state = state;
}

static bool xb_closing(const struct xenbus_backend *xb)
{
	return xb->be_state == XenbusStateClosing || xb->be_state == XenbusStateClosed;
}

/* xenbus_dev_fatal: drop the connection, say why, then Closing. */
static void xb_fail(struct xenbus_backend *xb, const char *why, int rc)
{
	xb->ops->disconnect(xb->opaque);
	pr_err_rl("%s: d%u %s %u: %s: %s", xb->name, xb->domid, xb->cls, xb->devid, why,
		  strerror(-rc));
	xenbus_be_write(xb->xs, xb->be_path, "error", "%d %s", -rc, why);
	xb_switch(xb, XenbusStateClosing);
}

static void xb_connect(struct xenbus_backend *xb)
{
	char err[sizeof(xb->be_path) + 8];
	int rc;

	/* Whatever a coalesced earlier round left is dropped first. */
	xb->ops->disconnect(xb->opaque);
	rc = xb->ops->connect(xb->opaque);
	if (rc) {
		xb_fail(xb, "connecting the rings", rc);
		return;
	}
	snprintf(err, sizeof(err), "%s/error", xb->be_path);
	xs_store_rm(xb->xs, 0, err);
	xb_switch(xb, XenbusStateConnected);
	xb->connects++;
}

/* The frontend starts over: its old rings are gone whatever we thought. */
static void xb_restart(struct xenbus_backend *xb)
{
	pr_info_rl("%s: d%u %s %u: frontend reconnecting", xb->name, xb->domid, xb->cls,
		   xb->devid);
	xb->ops->disconnect(xb->opaque);
	xb->fatal = false;
	xb_switch(xb, XenbusStateInitWait);
}

void xenbus_backend_step(struct xenbus_backend *xb)
{
	int before = xb->be_state;
	unsigned long fe;
	int rc;

	if (xb->fatal && !xb_closing(xb))
		xb_fail(xb, "frontend broke the ring protocol", -EPROTO);
	rc = xenbus_be_read_uint(xb->xs, xb->fe_path, "state", &fe);
	if (rc == -ENOENT) {
		fe = XenbusStateUnknown;
		rc = 0;
	} else if (!rc && fe > XenbusStateReconfigured) {
		rc = -EINVAL;
	}
	xb->fe_state = rc ? -1 : (int)fe;
	if (rc == -EINVAL) {
		if (!xb_closing(xb))
			xb_fail(xb, "frontend state is not a XenbusState", rc);
		goto out;
	}
	if (rc) {
		pr_err_rl("%s: d%u %s %u: reading the frontend's state: %s", xb->name, xb->domid,
			  xb->cls, xb->devid, strerror(-rc));
		goto out;
	}
	switch (fe) {
	case XenbusStateInitialising:
		if (xb->be_state == XenbusStateConnected || xb_closing(xb))
			xb_restart(xb);
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		/* Two quick changes may coalesce into one event: connect from
		 * whatever we missed in between. */
		if (xb->be_state == XenbusStateClosed)
			xb_restart(xb);
		if (xb->be_state == XenbusStateInitWait)
			xb_connect(xb);
		break;
	case XenbusStateClosing:
		xb->ops->disconnect(xb->opaque);
		xb_switch(xb, XenbusStateClosing);
		break;
	case XenbusStateClosed:
	case XenbusStateUnknown:
		xb->ops->disconnect(xb->opaque);
		xb_switch(xb, XenbusStateClosed);
		xb->fatal = false;
		break;
	default:
		break;
	}
out:
	if (xb->be_state != before && xb->ops->changed)
		xb->ops->changed(xb->opaque);
}

/* The frontend's state changed, or a ring broke. */
static void xb_kicked(void *opaque, uint32_t events)
{
	(void)events;
	xenbus_backend_step(opaque);
}

static void xb_watch_fired(void *opaque, const char *path, const char *token)
{
	struct xenbus_backend *xb = opaque;

	(void)path;
	(void)token;
	event_notifier_signal(xb->kick);
}

int xenbus_backend_init(struct xenbus_backend *xb, const struct xenbus_backend_params *p)
{
	int rc;

	if (!p->ops || !p->ops->connect || !p->ops->disconnect || !p->name || !p->cls)
		return -EINVAL;
	xb->ops = p->ops;
	xb->opaque = p->opaque;
	xb->store = p->store;
	xb->name = p->name;
	xb->cls = p->cls;
	xb->domid = p->domid;
	xb->devid = p->devid;
	xb->trace = p->trace;
	xb->be_state = XenbusStateInitialising;
	xb->fe_state = -1;
	if ((size_t)snprintf(xb->fe_path, sizeof(xb->fe_path), "/local/domain/%u/device/%s/%u",
			     p->domid, p->cls, p->devid) >= sizeof(xb->fe_path) ||
	    (size_t)snprintf(xb->be_path, sizeof(xb->be_path), "/local/domain/0/backend/%s/%u/%u",
			     p->cls, p->domid, p->devid) >= sizeof(xb->be_path))
		return -ENAMETOOLONG;
	rc = event_notifier_new(p->loop, xb_kicked, xb, &xb->kick);
	if (rc)
		return rc;
	xb->xs = xs_client_new(p->store, 0, true, xb_watch_fired, xb);
	return xb->xs ? 0 : -ENOMEM;
}

int xenbus_backend_start(struct xenbus_backend *xb, const char *const *fe_kv,
			 const char *const *be_kv)
{
	char fe_state[sizeof(xb->fe_path) + 8];
	int rc;

	rc = xs_domain_add_device(xb->store, xb->domid, 0, xb->cls, xb->devid,
				  fe_kv, be_kv);
	if (rc) {
		pr_err("%s: d%u %s %u: writing XenStore nodes: %s", xb->name, xb->domid, xb->cls,
		       xb->devid, strerror(-rc));
		return rc;
	}
	xb->nodes_written = true;
	snprintf(fe_state, sizeof(fe_state), "%s/state", xb->fe_path);
	rc = xs_watch_add(xb->xs, fe_state, XB_WATCH_TOKEN);
	if (rc)
		return rc;
	xb_switch(xb, XenbusStateInitWait);
	/* The frontend may have moved before the watch was there. */
	event_notifier_signal(xb->kick);
	return 0;
}

void xenbus_backend_restore(struct xenbus_backend *xb, int be_state, int fe_state, bool fatal,
			    unsigned int connects)
{
	xb->be_state = be_state;
	xb->fe_state = fe_state;
	xb->fatal = fatal;
	xb->connects = connects;
	if (fatal && xb->kick)
		event_notifier_signal(xb->kick);
}

void xenbus_backend_queue_dir(const struct xenbus_backend *xb, unsigned int q,
			      unsigned int nr_queues, char *buf, size_t size)
{
	if (nr_queues == 1)
		snprintf(buf, size, "%s", xb->fe_path);
	else
		snprintf(buf, size, "%s/queue-%u", xb->fe_path, q);
}

void xenbus_backend_fini(struct xenbus_backend *xb)
{
	if (xb->xs) {
		if (xb->nodes_written) {
			xs_store_rm(xb->xs, 0, xb->be_path);
			xs_store_rm(xb->xs, 0, xb->fe_path);
		}
		xs_client_free(xb->xs);
		xb->xs = NULL;
	}
	if (xb->kick)
		event_notifier_free(xb->kick);
	xb->kick = NULL;
}
