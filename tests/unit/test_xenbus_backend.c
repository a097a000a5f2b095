/*
 * What every xenbus backend shares: the XenStore helpers (frontend-written
 * values are guest input) and the state machine, driven here through a
 * fake backend whose hooks only count and remember, by a frontend that
 * writes its state node as Linux's blkfront/netfront do, and as a hostile
 * one might.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xenbus_fixture.h"
#include "xenkvm/xen_abi.h"
#include <xen/io/xenbus.h>

#include "xenkvm/xenbus_backend.h"
#include "xenkvm/xenstore.h"

/* ---- the helpers, on a store of their own --------------------------------- */

static struct xs_store *HS;
static struct xs_client *HD0;

static int helpers_setup(void)
{
	HS = xs_store_new(NULL);
	HD0 = HS ? xs_client_new(HS, 0, true, NULL, NULL) : NULL;
	return HD0 ? 0 : -1;
}

static int helpers_teardown(void)
{
	xs_client_free(HD0);
	xs_store_free(HS);
	return 0;
}

static void put(const char *key, const char *val, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/fe/%s", key);
	CU_ASSERT_EQUAL_FATAL(xs_store_write(HD0, 0, path, val, len), 0);
}

static void test_write_read(void)
{
	char buf[8];

	CU_ASSERT_EQUAL(xenbus_be_write(HD0, "/be", "state", "%d", 4), 0);
	CU_ASSERT_EQUAL(xenbus_be_read(HD0, "/be", "state", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "4");
	CU_ASSERT_EQUAL(xenbus_be_read(HD0, "/be", "absent", buf, sizeof(buf)), -ENOENT);
	put("long", "12345678", 8);   /* one byte too many for buf and its NUL */
	CU_ASSERT_EQUAL(xenbus_be_read(HD0, "/fe", "long", buf, sizeof(buf)), -EINVAL);
	put("nul", "ab\0cd", 5);
	CU_ASSERT_EQUAL(xenbus_be_read(HD0, "/fe", "nul", buf, sizeof(buf)), -EINVAL);
}

static void test_uint_strict(void)
{
	static const struct { const char *val; int rc; unsigned long v; } cases[] = {
		{ "0", 0, 0 }, { "4096", 0, 4096 }, { "18446744073709551615", 0, 18446744073709551615ul },
		{ "", -EINVAL, 0 }, { " 1", -EINVAL, 0 }, { "+1", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 }, { "0x10", -EINVAL, 0 }, { "12a", -EINVAL, 0 },
		{ "18446744073709551616", -EINVAL, 0 },
	};
	unsigned long v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put("n", cases[i].val, strlen(cases[i].val));
		v = 777;
		CU_ASSERT_EQUAL(xenbus_be_read_uint(HD0, "/fe", "n", &v), cases[i].rc);
		if (!cases[i].rc)
			CU_ASSERT_EQUAL(v, cases[i].v);
	}
	CU_ASSERT_EQUAL(xenbus_be_read_uint(HD0, "/fe", "missing", &v), -ENOENT);
	/* optional nodes: absent is the default, present is as strict */
	CU_ASSERT_EQUAL(xenbus_be_read_uint_def(HD0, "/fe", "missing", 42, &v), 0);
	CU_ASSERT_EQUAL(v, 42);
	put("n", "7", 1);
	CU_ASSERT_EQUAL(xenbus_be_read_uint_def(HD0, "/fe", "n", 42, &v), 0);
	CU_ASSERT_EQUAL(v, 7);
	put("n", "7x", 2);
	CU_ASSERT_EQUAL(xenbus_be_read_uint_def(HD0, "/fe", "n", 42, &v), -EINVAL);
}

static void test_queue_dir(void)
{
	struct xenbus_backend xb = { .fe_path = "/local/domain/7/device/vif/0" };
	char dir[64];

	xenbus_backend_queue_dir(&xb, 0, 1, dir, sizeof(dir));
	CU_ASSERT_STRING_EQUAL(dir, "/local/domain/7/device/vif/0");
	xenbus_backend_queue_dir(&xb, 3, 4, dir, sizeof(dir));
	CU_ASSERT_STRING_EQUAL(dir, "/local/domain/7/device/vif/0/queue-3");
}

/* ---- the state machine, through a fake backend ----------------------------- */

#define DEV 3

/* Touched only on the loop thread; the test reads it after on_loop(). */
struct fake_be {
	struct xenbus_backend xb;
	int connect_rc;                /* what connect() says after reading ring-ref */
	bool mapped;                   /* connected and not disconnected since */
	unsigned long ring_ref;        /* what connect() read */
	unsigned int connects, disconnects, changes;
	int init_rc;
};

static int fake_connect(void *opaque)
{
	struct fake_be *fb = opaque;
	int rc;

	/* A backend's own reads go through the machine's client. */
	rc = xenbus_be_read_uint(fb->xb.xs, fb->xb.fe_path, "ring-ref", &fb->ring_ref);
	if (!rc)
		rc = fb->connect_rc;
	fb->connects++;
	fb->mapped = !rc;
	return rc;
}

static void fake_disconnect(void *opaque)
{
	struct fake_be *fb = opaque;

	fb->mapped = false;
	fb->disconnects++;
}

static void fake_changed(void *opaque)
{
	((struct fake_be *)opaque)->changes++;
}

static const struct xenbus_backend_ops fake_ops = {
	.connect = fake_connect,
	.disconnect = fake_disconnect,
	.changed = fake_changed,
};

static void do_create(void *a)
{
	static const char *const fe_kv[] = { "state", "1", "backend-id", "0", NULL };
	static const char *const be_kv[] = { "state", "1", "online", "1", NULL };
	struct fake_be *fb = a;
	struct xenbus_backend_params p = { .loop = L, .store = S, .name = "fakeback",
					   .cls = "vfake", .domid = FAKE_DOMID, .devid = DEV,
					   .trace = TRACE_BLK, .ops = &fake_ops, .opaque = fb };

	fb->init_rc = xenbus_backend_init(&fb->xb, &p);
	if (!fb->init_rc)
		fb->init_rc = xenbus_backend_start(&fb->xb, fe_kv, be_kv);
}

static void do_destroy(void *a)
{
	struct fake_be *fb = a;

	fake_disconnect(fb);
	xenbus_backend_fini(&fb->xb);
}

static void do_fatal(void *a)
{
	xenbus_backend_fatal(&((struct fake_be *)a)->xb);
}

static void nop(void *a)
{
	(void)a;
}

static struct fake_be *create(void)
{
	struct fake_be *fb = calloc(1, sizeof(*fb));

	CU_ASSERT_FATAL(fb != NULL);
	on_loop(do_create, fb);
	CU_ASSERT_EQUAL_FATAL(fb->init_rc, 0);
	CU_ASSERT_TRUE(wait_be_state(DEV, XenbusStateInitWait));
	return fb;
}

static void destroy(struct fake_be *fb)
{
	on_loop(do_destroy, fb);
	free(fb);
	CU_ASSERT_STRING_EQUAL(be_node(DEV, "state"), "");
	CU_ASSERT_STRING_EQUAL(fe_node(DEV, "state"), "");
	xbf_assert_no_leaks();
}

/* Everything the last store write set off has run: a watch only signals
 * the machine's notifier, which runs at the end of the loop round that
 * wrote, so one more round on the loop is a barrier. */
static void settle(void)
{
	on_loop(nop, NULL);
	on_loop(nop, NULL);
}

/* The frontend writes a raw state value, and the machine has looked. */
static void fe_state(const char *val)
{
	CU_ASSERT_EQUAL(gw(DEV, "state", "%s", val), 0);
	settle();
}

static void fe_set(int state)
{
	CU_ASSERT_EQUAL(gw(DEV, "state", "%d", state), 0);
	settle();
}

static int be_state(void)
{
	return atoi(be_node(DEV, "state"));
}

/* Initialising -> rings -> Initialised: Connected, as blkfront does. */
static void fe_connect(struct fake_be *fb, unsigned int ref)
{
	CU_ASSERT_EQUAL(gw(DEV, "ring-ref", "%u", ref), 0);
	fe_set(XenbusStateInitialised);
	CU_ASSERT_EQUAL(be_state(), XenbusStateConnected);
	CU_ASSERT_TRUE(fb->mapped);
	CU_ASSERT_EQUAL(fb->ring_ref, ref);
	fe_set(XenbusStateConnected);
	CU_ASSERT_EQUAL(be_state(), XenbusStateConnected);
}

/* The whole life of a device, and the error node a failed connect leaves
 * and a good one removes. */
static void test_sm_handshake(void)
{
	struct fake_be *fb = create();

	CU_ASSERT_STRING_EQUAL(be_node(DEV, "frontend"), "/local/domain/7/device/vfake/3");
	CU_ASSERT_STRING_EQUAL(fe_node(DEV, "backend"), "/local/domain/0/backend/vfake/7/3");
	CU_ASSERT_STRING_EQUAL(be_node(DEV, "online"), "1");
	CU_ASSERT_EQUAL(fb->xb.fe_state, XenbusStateInitialising);
	CU_ASSERT_EQUAL(fb->connects, 0);
	fe_connect(fb, 11);
	CU_ASSERT_EQUAL(fb->connects, 1);
	CU_ASSERT_EQUAL(fb->xb.connects, 1);
	CU_ASSERT_EQUAL(fb->xb.fe_state, XenbusStateConnected);
	CU_ASSERT_STRING_EQUAL(be_node(DEV, "error"), "");
	/* Connected again (a second write, a coalesced watch): nothing new */
	fe_set(XenbusStateConnected);
	CU_ASSERT_EQUAL(fb->connects, 1);
	CU_ASSERT_TRUE(fb->mapped);
	/* module unload: Closing, Closed; each step unmapped */
	fe_set(XenbusStateClosing);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosing);
	CU_ASSERT_FALSE(fb->mapped);
	fe_set(XenbusStateClosed);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosed);
	/* module reload */
	fe_set(XenbusStateInitialising);
	CU_ASSERT_EQUAL(be_state(), XenbusStateInitWait);
	fe_connect(fb, 12);
	CU_ASSERT_EQUAL(fb->xb.connects, 2);
	/* InitWait -> Closing: a frontend that gives up before connecting */
	fe_set(XenbusStateClosing);
	fe_set(XenbusStateClosed);
	fe_set(XenbusStateInitialising);
	CU_ASSERT_EQUAL(be_state(), XenbusStateInitWait);
	fe_set(XenbusStateClosing);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosing);
	CU_ASSERT_EQUAL(fb->xb.connects, 2);
	fe_set(XenbusStateClosed);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosed);
	/* every change the frontend caused told the backend once: Connected,
	 * Closing, Closed, InitWait, Connected, Closing, Closed, InitWait,
	 * Closing, Closed (start's own InitWait is before any frontend) */
	CU_ASSERT_EQUAL(fb->changes, 10);
	destroy(fb);
}

/* The frontend starts over without closing (kexec, a crashed driver):
 * from Connected, and from Closing. */
static void test_sm_restart(void)
{
	struct fake_be *fb = create();
	unsigned int d;

	fe_connect(fb, 21);
	d = fb->disconnects;
	fe_set(XenbusStateInitialising);
	CU_ASSERT_EQUAL(be_state(), XenbusStateInitWait);
	CU_ASSERT_FALSE(fb->mapped);
	CU_ASSERT_TRUE(fb->disconnects > d);
	fe_connect(fb, 22);
	CU_ASSERT_EQUAL(fb->xb.connects, 2);
	/* Closing, then straight back to Initialising (Closed coalesced away) */
	fe_set(XenbusStateClosing);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosing);
	fe_set(XenbusStateInitialising);
	CU_ASSERT_EQUAL(be_state(), XenbusStateInitWait);
	fe_connect(fb, 23);
	/* Closed, then Initialised with its Initialising missed */
	fe_set(XenbusStateClosed);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosed);
	CU_ASSERT_EQUAL(gw(DEV, "ring-ref", "24"), 0);
	fe_set(XenbusStateInitialised);
	CU_ASSERT_EQUAL(be_state(), XenbusStateConnected);
	CU_ASSERT_EQUAL(fb->ring_ref, 24);
	CU_ASSERT_EQUAL(fb->xb.connects, 4);
	fe_set(XenbusStateClosing);
	fe_set(XenbusStateClosed);
	destroy(fb);
}

/* A refused connect and a broken ring: error node, Closing, nothing mapped;
 * the frontend's old state does not bring it back, a fresh start does. */
static void test_sm_errors(void)
{
	struct fake_be *fb = create();

	fb->connect_rc = -EPROTONOSUPPORT;
	CU_ASSERT_EQUAL(gw(DEV, "ring-ref", "31"), 0);
	fe_set(XenbusStateInitialised);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosing);
	CU_ASSERT_FALSE(fb->mapped);
	CU_ASSERT_STRING_EQUAL(be_node(DEV, "error"), "93 connecting the rings");
	fe_set(XenbusStateConnected);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosing);
	CU_ASSERT_EQUAL(fb->connects, 1);
	fe_set(XenbusStateClosed);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosed);
	fe_set(XenbusStateInitialising);
	fb->connect_rc = 0;
	fe_connect(fb, 32);
	CU_ASSERT_STRING_EQUAL(be_node(DEV, "error"), "");
	/* a frontend node connect() cannot read is the same refusal */
	fe_set(XenbusStateClosing);
	fe_set(XenbusStateClosed);
	fe_set(XenbusStateInitialising);
	CU_ASSERT_EQUAL(gw(DEV, "ring-ref", "banana"), 0);
	fe_set(XenbusStateInitialised);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosing);
	CU_ASSERT_STRING_EQUAL(be_node(DEV, "error"), "22 connecting the rings");
	fe_set(XenbusStateClosed);
	fe_set(XenbusStateInitialising);
	fe_connect(fb, 33);

	/* a ring broke */
	on_loop(do_fatal, fb);
	settle();
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosing);
	CU_ASSERT_FALSE(fb->mapped);
	CU_ASSERT_STRING_EQUAL(be_node(DEV, "error"), "71 frontend broke the ring protocol");
	fe_set(XenbusStateConnected);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosing);
	CU_ASSERT_FALSE(fb->mapped);
	fe_set(XenbusStateClosed);
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosed);
	CU_ASSERT_FALSE(fb->xb.fatal);
	fe_set(XenbusStateInitialising);
	fe_connect(fb, 34);
	CU_ASSERT_STRING_EQUAL(be_node(DEV, "error"), "");
	/* broke again, and the frontend restarts (kexec) instead of closing */
	on_loop(do_fatal, fb);
	settle();
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosing);
	fe_set(XenbusStateInitialising);
	CU_ASSERT_EQUAL(be_state(), XenbusStateInitWait);
	fe_connect(fb, 35);
	fe_set(XenbusStateClosing);
	fe_set(XenbusStateClosed);
	destroy(fb);
}

/* A hostile frontend: anything that is not a decimal XenbusState costs it
 * the connection, cleanly; states that are not its to write change nothing. */
static void test_sm_garbage(void)
{
	static const char *const garbage[] = {
		"banana", "", " 4", "4 ", "+4", "-1", "0x4", "04x", "9", "255", "4294967300",
		"99999999999999999999999999999999999999999",
	};
	struct fake_be *fb = create();
	char val[8];

	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		if (i % 2)
			fe_set(XenbusStateInitialising);   /* garbage while InitWait */
		else
			fe_connect(fb, 40 + (unsigned int)i);
		fe_state(garbage[i]);
		if (be_state() != XenbusStateClosing)
			fprintf(stderr, "state '%s' left backend in %d\n", garbage[i], be_state());
		CU_ASSERT_EQUAL(be_state(), XenbusStateClosing);
		CU_ASSERT_FALSE(fb->mapped);
		CU_ASSERT_EQUAL(fb->xb.fe_state, -1);
		CU_ASSERT_STRING_EQUAL(be_node(DEV, "error"),
				       "22 frontend state is not a XenbusState");
		/* more garbage while Closing or Closed: still there, quietly */
		fe_state(garbage[i]);
		CU_ASSERT_EQUAL(be_state(), XenbusStateClosing);
		fe_set(XenbusStateClosed);
		CU_ASSERT_EQUAL(be_state(), XenbusStateClosed);
		fe_state(garbage[i]);
		CU_ASSERT_EQUAL(be_state(), XenbusStateClosed);
		fe_set(XenbusStateInitialising);
		CU_ASSERT_EQUAL(be_state(), XenbusStateInitWait);
	}
	/* a backend's states and reconfiguration: no transition */
	fe_connect(fb, 50);
	for (int st = XenbusStateInitWait; st <= XenbusStateReconfigured; st++) {
		if (st != XenbusStateInitWait && st != XenbusStateReconfiguring &&
		    st != XenbusStateReconfigured)
			continue;
		snprintf(val, sizeof(val), "%d", st);
		fe_state(val);
		CU_ASSERT_EQUAL(be_state(), XenbusStateConnected);
		CU_ASSERT_TRUE(fb->mapped);
		CU_ASSERT_EQUAL(fb->xb.fe_state, st);
	}
	CU_ASSERT_EQUAL(fb->xb.connects, 1 + (sizeof(garbage) / sizeof(garbage[0]) + 1) / 2);
	fe_set(XenbusStateClosing);
	fe_set(XenbusStateClosed);
	destroy(fb);
}

/* The guest removes its device directory (or just the state node): the
 * frontend is gone, Closed; it may come back. */
static void test_sm_frontend_vanishes(void)
{
	struct fake_be *fb = create();
	struct xs_args x = { .c = G, .path = "device/vfake/3/state" };

	fe_connect(fb, 60);
	on_loop(do_rm, &x);
	CU_ASSERT_EQUAL(x.rc, 0);
	settle();
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosed);
	CU_ASSERT_FALSE(fb->mapped);
	CU_ASSERT_EQUAL(fb->xb.fe_state, XenbusStateUnknown);
	fe_set(XenbusStateInitialising);
	fe_connect(fb, 61);
	x.path = "device/vfake/3";
	on_loop(do_rm, &x);
	CU_ASSERT_EQUAL(x.rc, 0);
	settle();
	CU_ASSERT_EQUAL(be_state(), XenbusStateClosed);
	CU_ASSERT_FALSE(fb->mapped);
	destroy(fb);
}

/* The frontend moved before the backend watched: the first look sees it. */
static void test_sm_frontend_first(void)
{
	static const char *const fe_kv[] = { "state", "3", "ring-ref", "70", NULL };
	static const char *const be_kv[] = { "state", "1", NULL };
	struct fake_be *fb = calloc(1, sizeof(*fb));
	struct xenbus_backend_params p = { .loop = L, .store = S, .name = "fakeback",
					   .cls = "vfake", .domid = FAKE_DOMID, .devid = DEV,
					   .trace = TRACE_BLK, .ops = &fake_ops, .opaque = fb };
	struct xenbus_backend_params bad = p;
	struct xenbus_backend bad_xb = { 0 };

	CU_ASSERT_FATAL(fb != NULL);
	CU_ASSERT_EQUAL(xenbus_backend_init(&fb->xb, &p), 0);
	CU_ASSERT_EQUAL(xenbus_backend_start(&fb->xb, fe_kv, be_kv), 0);
	settle();
	CU_ASSERT_EQUAL(be_state(), XenbusStateConnected);
	CU_ASSERT_EQUAL(fb->ring_ref, 70);
	fe_set(XenbusStateClosing);
	fe_set(XenbusStateClosed);
	destroy(fb);
	/* no hooks: refused; fini of what init left is safe */
	bad.ops = NULL;
	CU_ASSERT_EQUAL(xenbus_backend_init(&bad_xb, &bad), -EINVAL);
	xenbus_backend_fini(&bad_xb);
}

static int sm_setup(void)
{
	return xbf_setup("vfake", "xb-test");
}

static int sm_teardown(void)
{
	xbf_teardown();
	return 0;
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("xenbus_backend helpers", helpers_setup, helpers_teardown);
	CU_add_test(s, "write_read", test_write_read);
	CU_add_test(s, "uint_strict", test_uint_strict);
	CU_add_test(s, "queue_dir", test_queue_dir);
	s = CU_add_suite("xenbus_backend state machine", sm_setup, sm_teardown);
	CU_add_test(s, "handshake", test_sm_handshake);
	CU_add_test(s, "restart", test_sm_restart);
	CU_add_test(s, "errors", test_sm_errors);
	CU_add_test(s, "garbage", test_sm_garbage);
	CU_add_test(s, "frontend_vanishes", test_sm_frontend_vanishes);
	CU_add_test(s, "frontend_first", test_sm_frontend_first);
	return cunit_run(CU_BRM_VERBOSE);
}
