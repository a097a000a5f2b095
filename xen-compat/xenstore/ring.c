/*
 * The guest's xenstore ring as an xs_conn transport.
 *
 * Each pass takes one snapshot of the four indices, validates it, lets the
 * wire layer consume requests and produce replies against the snapshot
 * (private copies only: the wire layer copies every byte out before
 * looking at it), then publishes the new req_cons / rsp_prod and notifies
 * the guest once.  Indices the guest wrote are never trusted beyond the
 * check "producer - consumer <= ring size" (free-running u32 arithmetic).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "xenkvm/log.h"
#include "xenkvm/xs_ring.h"

/* Passes per xs_ring_handle(): a guest that keeps writing must not keep
 * the store's thread to itself. */
#define RING_MAX_PASSES 16

struct xs_ring {
	struct xs_store *s;
	struct xenstore_domain_interface *intf;
	unsigned int domid;
	struct xs_ring_ops ops;
	void *opaque;
	struct xs_conn *conn;
	bool dead;

	/* The current pass's snapshot. */
	bool in_pass;
	XENSTORE_RING_IDX req_cons, req_prod, rsp_cons, rsp_prod;
	bool consumed, produced;
};

#define READ_IDX(p)     __atomic_load_n(&(p), __ATOMIC_RELAXED)
#define WRITE_IDX(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELAXED)

static ssize_t ring_read(void *opaque, void *buf, size_t len)
{
	struct xs_ring *r = opaque;
	XENSTORE_RING_IDX avail = r->req_prod - r->req_cons, off;
	size_t n = 0, chunk;

	if (!r->in_pass)
		return 0;
	while (n < len && avail) {
		off = MASK_XENSTORE_IDX(r->req_cons);
		chunk = XENSTORE_RING_SIZE - off; /* up to the wrap */
		if (chunk > avail)
			chunk = avail;
		if (chunk > len - n)
			chunk = len - n;
		memcpy((char *)buf + n, r->intf->req + off, chunk);
		n += chunk;
		r->req_cons += (XENSTORE_RING_IDX)chunk;
		avail -= (XENSTORE_RING_IDX)chunk;
	}
	if (n)
		r->consumed = true;
	return (ssize_t)n;
}

static ssize_t ring_write(void *opaque, const void *buf, size_t len)
{
	struct xs_ring *r = opaque;
	XENSTORE_RING_IDX space = XENSTORE_RING_SIZE - (r->rsp_prod - r->rsp_cons), off;
	size_t n = 0, chunk;

	if (!r->in_pass)
		return 0;
	while (n < len && space) {
		off = MASK_XENSTORE_IDX(r->rsp_prod);
		chunk = XENSTORE_RING_SIZE - off;
		if (chunk > space)
			chunk = space;
		if (chunk > len - n)
			chunk = len - n;
		memcpy(r->intf->rsp + off, (const char *)buf + n, chunk);
		n += chunk;
		r->rsp_prod += (XENSTORE_RING_IDX)chunk;
		space -= (XENSTORE_RING_IDX)chunk;
	}
	if (n)
		r->produced = true;
	return (ssize_t)n;
}

static void ring_kick(void *opaque)
{
	struct xs_ring *r = opaque;

	if (r->ops.wakeup)
		r->ops.wakeup(r->opaque);
}

static const struct xs_transport_ops ring_transport = {
	.read = ring_read,
	.write = ring_write,
	.kick = ring_kick,
};

int xs_ring_new(struct xs_store *s, unsigned int domid, void *page,
		const struct xs_ring_ops *ops, void *opaque, struct xs_ring **ring_r)
{
	struct xs_ring *r;

	*ring_r = NULL;
	if (!page || !ops || !ops->notify)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->s = s;
	r->intf = page;
	r->domid = domid;
	r->ops = *ops;
	r->opaque = opaque;
	r->conn = xs_conn_new(s, domid, false, &ring_transport, r);
	if (!r->conn) {
		free(r);
		return -ENOMEM;
	}
	/* Advertised before any byte moves, as xenstore-ring.txt requires. */
	__atomic_fetch_or(&r->intf->server_features,
			  XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR,
			  __ATOMIC_SEQ_CST);
	*ring_r = r;
	return 0;
}

void xs_ring_free(struct xs_ring *r)
{
	if (!r)
		return;
	xs_conn_free(r->conn);
	free(r);
}

bool xs_ring_dead(const struct xs_ring *r)
{
	return r->dead;
}

struct xs_conn *xs_ring_conn(struct xs_ring *r)
{
	return r->conn;
}

static void ring_disable(struct xs_ring *r, unsigned int err, const char *why)
{
	pr_err_rl("xenstore: d%u: %s; ring disabled", r->domid, why);
	r->dead = true;
	xs_conn_reset(r->conn);
	WRITE_IDX(r->intf->error, err);
}

/* The guest asked for a fresh connection (XENSTORE_RECONNECT). */
static void ring_reconnect(struct xs_ring *r)
{
	xs_conn_reset(r->conn);
	r->dead = false;
	WRITE_IDX(r->intf->req_cons, 0);
	WRITE_IDX(r->intf->req_prod, 0);
	WRITE_IDX(r->intf->rsp_cons, 0);
	WRITE_IDX(r->intf->rsp_prod, 0);
	WRITE_IDX(r->intf->error, XENSTORE_ERROR_NONE);
	/* The emptied ring must be visible before the guest sees CONNECTED. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	WRITE_IDX(r->intf->connection, XENSTORE_CONNECTED);
	r->ops.notify(r->opaque);
}

int xs_ring_handle(struct xs_ring *r)
{
	struct xenstore_domain_interface *intf = r->intf;
	int pass, rc;

	/* Acquire: a reconnect request is acted on after the guest's
	 * preceding writes to the page. */
	if (__atomic_load_n(&intf->connection, __ATOMIC_ACQUIRE) == XENSTORE_RECONNECT)
		ring_reconnect(r);
	if (r->dead)
		return -EPIPE;

	for (pass = 0; pass < RING_MAX_PASSES; pass++) {
		r->req_cons = READ_IDX(intf->req_cons);
		r->req_prod = READ_IDX(intf->req_prod);
		r->rsp_cons = READ_IDX(intf->rsp_cons);
		r->rsp_prod = READ_IDX(intf->rsp_prod);
		/* Request bytes are read only after the producer index that
		 * covers them (pairs with the guest's wmb before req_prod);
		 * response slots are reused only after the guest's rsp_cons
		 * says it has finished reading them. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (r->req_prod - r->req_cons > XENSTORE_RING_SIZE ||
		    r->rsp_prod - r->rsp_cons > XENSTORE_RING_SIZE) {
			ring_disable(r, XENSTORE_ERROR_RINGIDX, "inconsistent ring indices");
			return -EPIPE;
		}
		r->consumed = r->produced = false;
		r->in_pass = true;
		rc = xs_conn_process(r->conn);
		r->in_pass = false;
		if (rc < 0) {
			ring_disable(r, xs_conn_error(r->conn) == XS_CONN_EPROTO ?
					XENSTORE_ERROR_PROTO : XENSTORE_ERROR_COMM,
				     "protocol violation");
			return -EPIPE;
		}
		/* Release: our copies of the request bytes are complete before
		 * the guest may overwrite them, and the response bytes are
		 * visible before the producer index that announces them. */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		if (r->consumed)
			WRITE_IDX(intf->req_cons, r->req_cons);
		if (r->produced)
			WRITE_IDX(intf->rsp_prod, r->rsp_prod);
		if (!r->consumed && !r->produced)
			return 0;
		/* Full barrier: the index updates are globally visible before
		 * the notification and before the next pass re-reads the
		 * guest's indices (a store->load ordering x86 does not give). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		r->ops.notify(r->opaque);
	}
	return 1;
}
