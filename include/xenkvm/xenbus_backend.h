/*
 * What every xenbus backend in xenkvmd (blkback, netback) shares: XenStore
 * access as domain 0, and the one xenbus state machine.
 *
 * XenStore access: `dir/key` paths, values read into fixed buffers (a value
 * that does not fit, or holds a NUL, is -EINVAL: frontends write these
 * nodes, so they are guest input).
 *
 * The state machine owns the frontend's `state` watch, the backend's
 * `state` node, the order of transitions and error reporting (the `error`
 * node, then Closing); a backend supplies connect/disconnect hooks and
 * keeps its rings.  What the frontend's state does to the backend's:
 *
 *   Initialising   Connected/Closing/Closed -> disconnect, InitWait
 *                  (module reload, kexec, a driver that started over)
 *   Initialised,   InitWait -> connect() -> Connected (error: Closing);
 *   Connected      Closed -> InitWait first (its Initialising was missed);
 *                  Connected/Closing: nothing
 *   Closing        disconnect, Closing
 *   Closed, absent disconnect, Closed (the directory vanished: same)
 *   InitWait, Reconfiguring, Reconfigured: no transition (backend states;
 *                  no backend here offers reconfiguration)
 *   anything else  (not a decimal XenbusState) unless Closing/Closed:
 *                  disconnect, error node, Closing
 *   a ring broke   (xenbus_backend_fatal) disconnect, error node, Closing;
 *                  a fresh start after Closed or Initialising
 *
 * Everything runs on the event-loop thread: watch callbacks run inside
 * store calls and must not re-enter the store, so the watch only signals
 * the machine's notifier and the machine reads the state from there.
 */
#ifndef XENKVM_XENBUS_BACKEND_H
#define XENKVM_XENBUS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"

struct xs_client;
struct xs_store;

int xenbus_be_write(struct xs_client *xs, const char *dir, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* NUL-terminated into buf; -ENOENT when absent. */
int xenbus_be_read(struct xs_client *xs, const char *dir, const char *key, char *buf, size_t size);
/* Strict unsigned decimal (no sign, no spaces, no trailing bytes); -ENOENT when absent. */
int xenbus_be_read_uint(struct xs_client *xs, const char *dir, const char *key, unsigned long *v_r);
/* The same for an optional node: `def` when absent. */
int xenbus_be_read_uint_def(struct xs_client *xs, const char *dir, const char *key,
			    unsigned long def, unsigned long *v_r);

/* ---- the state machine ---------------------------------------------------- */

struct xenbus_backend_ops {
	/* Read the frontend's nodes (rings, event channels, features), map and
	 * bind; 0 or -errno, with nothing left mapped on error. */
	int (*connect)(void *opaque);
	/* Drop the connection (drain, unmap, unbind).  Idempotent. */
	void (*disconnect)(void *opaque);
	/* Optional: the backend's state has just changed. */
	void (*changed)(void *opaque);
};

struct xenbus_backend_params {
	struct event_loop *loop;
	struct xs_store *store;
	const char *name;              /* "blkback": log lines */
	const char *cls;               /* "vbd": the XenStore device class */
	unsigned int domid, devid;
	enum log_trace trace;          /* category of the transition traces */
	const struct xenbus_backend_ops *ops;
	void *opaque;                  /* for the hooks */
};

struct xenbus_backend {
	struct xs_client *xs;          /* domain 0; the backend reads its nodes with it */
	char fe_path[96], be_path[96];
	int be_state;                  /* XenbusState we last wrote */
	int fe_state;                  /* XenbusState we last read; -1: none or garbage */
	bool fatal;                    /* a ring broke: go to Closing */
	unsigned int connects;         /* successful connects */

	struct event_notifier *kick;
	struct xs_store *store;
	const struct xenbus_backend_ops *ops;
	void *opaque;
	const char *name, *cls;
	unsigned int domid, devid;
	enum log_trace trace;
	bool nodes_written;
};

/* Paths, the notifier and the XenStore client; nothing written yet.  On
 * error xenbus_backend_fini() cleans up (as it does on a zeroed struct). */
int xenbus_backend_init(struct xenbus_backend *xb, const struct xenbus_backend_params *p);
/* Writes the device's nodes (xs_domain_add_device's NULL-terminated
 * key/value lists), watches the frontend's state, InitWait.  0 or -errno. */
int xenbus_backend_start(struct xenbus_backend *xb, const char *const *fe_kv,
			 const char *const *be_kv);
/* Removes the nodes start wrote, frees the client and notifier.  The
 * backend disconnects first. */
void xenbus_backend_fini(struct xenbus_backend *xb);

/* One step of the machine: read the frontend's state and act, as the
 * watch makes it do on the loop thread (the fuzzer calls it directly). */
void xenbus_backend_step(struct xenbus_backend *xb);

/* After a restore (blkback_state.c, netback_state.c): the machine stands
 * where it stood when saved.  The XenStore section brought the nodes back,
 * so none is written and the frontend does not renegotiate; a fatal flag
 * takes the device to Closing once the loop runs. */
void xenbus_backend_restore(struct xenbus_backend *xb, int be_state, int fe_state, bool fatal,
			    unsigned int connects);

/* The machine's record in a backend's save section (xen-compat/
 * xenbus_backend_state.c), the same for every backend: the device, both
 * states, the fatal flag, the connects, and how many rings follow. */
struct state_writer;
struct state_section;
struct xenbus_backend_rec {
	uint32_t devid, be_state, fe_state, connects, nr_rings;
	bool fatal;
};
void xenbus_backend_rec_put(const struct xenbus_backend *xb, bool fatal, uint32_t nr_rings,
			    struct state_writer *w);
/* 0, or -EBADMSG with the section failed: short, or a state that is no
 * XenbusState (`what` names the device in the message). */
int xenbus_backend_rec_get(struct state_section *s, struct xenbus_backend_rec *r, const char *what);
/* xenbus_backend_restore() with what rec_get read. */
void xenbus_backend_rec_apply(struct xenbus_backend *xb, const struct xenbus_backend_rec *r);

/* Where queue q's nodes are (multi-queue-num-queues): the frontend's
 * directory for a single queue, its "queue-<q>" subdirectory otherwise. */
void xenbus_backend_queue_dir(const struct xenbus_backend *xb, unsigned int q,
			      unsigned int nr_queues, char *buf, size_t size);

/* A ring broke the protocol (loop thread): the machine takes the device to
 * Closing.  Inline so the ring code and its fuzzers need no XenStore. */
static inline void xenbus_backend_fatal(struct xenbus_backend *xb)
{
	xb->fatal = true;
	if (xb->kick)
		event_notifier_signal(xb->kick);
}

#endif
