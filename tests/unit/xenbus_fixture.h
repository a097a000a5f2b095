/*
 * What the xenbus backend tests (blkback, netback) stand on: the fake guest
 * domain FAKE_DOMID, a real event-loop thread the backend runs on as in the
 * daemon, a XenStore that the guest and dom0 both talk to, and the calls
 * that reach the store from the test thread through that loop.
 *
 * The short global names are the tests' own vocabulary, kept so the test
 * bodies read as before; one fixture per test binary.
 */
#ifndef TESTS_XENBUS_FIXTURE_H
#define TESTS_XENBUS_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "xen_fake_vmm.h"
#include "xenkvm/clock.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/xenstore.h"

extern struct xen_fake F;
extern struct event_loop *L;
extern struct xs_store *S;
extern struct xs_client *G, *D0;   /* the guest (dom7) and a dom0 reader */

/* Builds the fixture for devices of class `cls` ("vbd", "vif"), the loop
 * thread named `thread`; 0 or -1.  Also takes the open-fd count that
 * xbf_assert_no_leaks() compares against. */
int xbf_setup(const char *cls, const char *thread);
void xbf_teardown(void);
/* Grant maps, backend event channels and fds are all back where they were. */
void xbf_assert_no_leaks(void);

/* Runs fn(arg) on the loop thread and waits for it. */
void on_loop(void (*fn)(void *), void *arg);

/* One store operation, for on_loop(): do_read leaves the value in out. */
struct xs_args {
	struct xs_client *c;
	const char *path, *val;
	char out[256];
	int rc;
};
void do_write(void *a);
void do_read(void *a);
void do_rm(void *a);

/* The guest writes under /local/domain/7/device/<cls>/<devid>/. */
int gw(unsigned int devid, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A node as dom0 sees it, or "" if absent; valid until the next such call. */
const char *node(const char *path);
const char *be_node(unsigned int devid, const char *key);
const char *fe_node(unsigned int devid, const char *key);

/* Waits up to 5 s for the backend state; true if reached. */
bool wait_be_state(unsigned int devid, int state);
/* Waits up to ms for a shared ring's rsp_prod (its third word) to be at
 * least n past the frontend's cons; true if it got there. */
bool ring_wait_rsp(const void *sring, uint32_t cons, unsigned int n, unsigned int ms);
/* The frontend's half of a close: Closing, wait for the backend, Closed. */
void fe_close_handshake(unsigned int devid);

#endif
