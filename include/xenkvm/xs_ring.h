/*
 * XenStore's shared-ring transport: serves one guest on its
 * struct xenstore_domain_interface page (xen/io/xs_wire.h), given as a
 * host pointer.  The guest is hostile: indices are validated on every
 * pass, an inconsistent ring or an oversized message stops service on it
 * (the page's "error" field says why) and nothing else is affected.
 * Supports the reconnection feature (XENSTORE_SERVER_FEATURE_RECONNECTION).
 */
#ifndef XENKVM_XS_RING_H
#define XENKVM_XS_RING_H

#include <stdbool.h>

#include "xenkvm/xenstore.h"

struct xs_ring;

struct xs_ring_ops {
	/* Signal the guest's xenstore event channel. */
	void (*notify)(void *opaque);
	/* Optional: a watch event was queued for this guest from elsewhere
	 * (another connection, the daemon); call xs_ring_handle() soon from
	 * the thread that owns the store.  Must not call into the store. */
	void (*wakeup)(void *opaque);
};

/* Advertises the server features on the page; does not touch indices. */
int xs_ring_new(struct xs_store *s, unsigned int domid, void *page,
		const struct xs_ring_ops *ops, void *opaque, struct xs_ring **ring_r);
void xs_ring_free(struct xs_ring *ring);
/*
 * Call on every event-channel kick from the guest (and after wakeup).
 * Returns 0 when all work is done, 1 if it stopped early to stay fair
 * (call again), -EPIPE if the ring has been disabled.
 */
int xs_ring_handle(struct xs_ring *ring);
bool xs_ring_dead(const struct xs_ring *ring);
struct xs_conn *xs_ring_conn(struct xs_ring *ring);

#endif
