/*
 * The guest's Xen PV console (hvc0): the xencons ring in the special page
 * HVM_PARAM_CONSOLE_PFN names, signalled through HVM_PARAM_CONSOLE_EVTCHN.
 * xenkvmd is its backend (what xenconsoled is on Xen): guest output goes
 * to out_fd, bytes read from in_fd go to the guest.
 *
 * Threading: the ring is served on the daemon's I/O thread (event_loop);
 * the guest's kick arrives on a vCPU thread and only signals that loop.
 * pv_console_stop() runs after the vCPUs and the loop stopped.
 */
#ifndef XENKVM_PV_CONSOLE_H
#define XENKVM_PV_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct event_loop;
struct pv_console;
struct xen_domain;

struct pv_console_params {
	struct event_loop *loop;   /* NULL: driven by pv_console_pump() only (tests) */
	struct xen_domain *dom;
	void *ring_page;           /* host view of the guest page */
	uint64_t ring_gfn;
	int out_fd;                /* guest output; written non-blocking, dropped if full */
	int in_fd;                 /* host input, or -1; made non-blocking */
};

struct pv_console_stats {
	uint64_t out_bytes, in_bytes;
	uint64_t out_dropped;      /* out_fd was full */
	unsigned int bad_indices;  /* times the guest's ring indices made no sense */
};

/* Clears the page, sets up the event channel and both HVM params. 0 or -errno. */
int pv_console_start(const struct pv_console_params *p, struct pv_console **pc_r);
void pv_console_stop(struct pv_console *pc);
/* One round: guest output to out_fd, then in_fd to the guest; notifies the
 * guest if anything moved.  Returns the bytes moved both ways.  On the
 * loop's thread (or anywhere, without a loop). */
size_t pv_console_pump(struct pv_console *pc);
void pv_console_get_stats(const struct pv_console *pc, struct pv_console_stats *st);

#endif
