/*
 * A domain's XenStore service: the store, populated the way xl does it,
 * served on the guest's ring (HVM_PARAM_STORE_PFN/EVTCHN) and on a unix
 * socket for host tools (XENSTORED_PATH), all driven by the daemon's I/O
 * thread (event_loop).  The store belongs to that thread: backends living
 * in xenkvmd use it from there (their handlers run on the loop), or hand
 * work over with xs_service_run().
 */
#ifndef XENKVM_XS_SERVICE_H
#define XENKVM_XS_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/xen_state.h"

struct event_loop;
struct xen_domain;
struct xs_store;
struct xs_service;

struct xs_service_params {
	struct event_loop *loop;
	struct xen_domain *dom;    /* for the event channel and HVM params */
	unsigned int domid;
	const char *name;
	const uint8_t *uuid;       /* 16 bytes */
	uint64_t memory_kb;        /* RAM built: memory/static-max */
	uint64_t target_kb;        /* memory/target; 0 = memory_kb */
	unsigned int vcpus;
	void *ring_page;           /* host view of the guest page for the ring */
	uint64_t ring_gfn;
	const char *socket_path;   /* NULL: no socket */
};

/* Creates and populates the store, sets STORE_PFN/STORE_EVTCHN, starts
 * serving.  Call before the guest runs.  0 or -errno (message printed). */
int xs_service_start(const struct xs_service_params *p, struct xs_service **svc_r);
/* Stops serving (after the I/O thread stopped) and frees everything. */
void xs_service_stop(struct xs_service *svc);
/* Only on the I/O thread. */
struct xs_store *xs_service_store(struct xs_service *svc);
/* Runs fn(opaque) on the I/O thread soon; safe from any thread. 0 or -ENOMEM. */
int xs_service_run(struct xs_service *svc, void (*fn)(void *opaque), void *opaque);
/* Asks the guest to stop through control/shutdown ("poweroff", "reboot"); any thread. */
int xs_service_request_shutdown(struct xs_service *svc, const char *reason);
/* Sets memory/target (KiB) for the guest's balloon driver; any thread. */
int xs_service_set_memory_target(struct xs_service *svc, uint64_t target_kb);
/* Writes control/sysrq = key (printable, not space), which Linux's Xen
 * shutdown watcher hands to its magic-SysRq handler; any thread. */
int xs_service_sysrq(struct xs_service *svc, char key);
/* Only on the I/O thread: has the guest written <rel> = "1" in its own
 * directory (control/feature-poweroff, ...)? */
bool xs_service_guest_feature(struct xs_service *svc, const char *rel);


/*
 * Save and restore (docs/SAVE-FORMAT.md): the whole store with the
 * guest ring connection's watches and transactions (xenstore section),
 * and what that connection had read in part or not yet written
 * (xenstore-conn section).  On the I/O thread, or while it is stopped.
 * Load into a service started afresh for the same domain; the ring page
 * itself is guest RAM.  0 or -errno (message in the writer).
 */
int xs_service_state_save(struct xs_service *svc, struct state_writer *w);
#define XS_SERVICE_STATE_NR_HANDLERS 2
struct xs_service_state_load {
	struct xs_client *clients[1];   /* the guest ring's */
	struct xs_state_load store;
};
void xs_service_state_handlers(struct xs_service *svc, struct xs_service_state_load *ctx,
			       struct state_handler *h);
/* After a load: serve what the guest left on the ring (its event went to
 * the process that saved) once the loop runs.  Any thread. */
void xs_service_restored(struct xs_service *svc);
#endif
