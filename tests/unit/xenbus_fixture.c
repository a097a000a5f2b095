#include <CUnit/Basic.h>
#include <dirent.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "xenkvm/xen_abi.h"
#include <xen/io/xenbus.h>

#include "xenbus_fixture.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/log.h"

struct xen_fake F;
struct event_loop *L;
struct xs_store *S;
struct xs_client *G, *D0;

static const char *cls;
static unsigned int base_fds;

/* ---- running things on the loop thread -------------------------------- */

static struct event_notifier *call_n;
static void (*call_fn)(void *);
static void *call_arg;
static sem_t call_done;

static void call_handler(void *opaque, uint32_t ev)
{
	(void)opaque;
	(void)ev;
	call_fn(call_arg);
	sem_post(&call_done);
}

void on_loop(void (*fn)(void *), void *arg)
{
	call_fn = fn;
	call_arg = arg;
	event_notifier_signal(call_n);
	sem_wait(&call_done);
}

/* ---- XenStore ----------------------------------------------------------- */

void do_write(void *a)
{
	struct xs_args *x = a;

	x->rc = xs_store_write(x->c, 0, x->path, x->val, strlen(x->val));
}

void do_read(void *a)
{
	struct xs_args *x = a;
	struct xs_buf b = { 0 };

	x->rc = xs_store_read(x->c, 0, x->path, &b);
	x->out[0] = 0;
	if (!x->rc) {
		size_t n = b.len < sizeof(x->out) - 1 ? b.len : sizeof(x->out) - 1;

		memcpy(x->out, b.data, n);
		x->out[n] = 0;
	}
	xs_buf_free(&b);
}

void do_rm(void *a)
{
	struct xs_args *x = a;

	x->rc = xs_store_rm(x->c, 0, x->path);
}

int gw(unsigned int devid, const char *key, const char *fmt, ...)
{
	char path[128], val[64];
	struct xs_args x = { .c = G, .path = path, .val = val };
	va_list ap;

	snprintf(path, sizeof(path), "device/%s/%u/%s", cls, devid, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	on_loop(do_write, &x);
	return x.rc;
}

const char *node(const char *path)
{
	static struct xs_args x;

	x = (struct xs_args){ .c = D0, .path = path };
	on_loop(do_read, &x);
	return x.out;
}

const char *be_node(unsigned int devid, const char *key)
{
	char path[128];

	snprintf(path, sizeof(path), "/local/domain/0/backend/%s/%d/%u/%s", cls, FAKE_DOMID,
		 devid, key);
	return node(path);
}

const char *fe_node(unsigned int devid, const char *key)
{
	char path[128];

	snprintf(path, sizeof(path), "/local/domain/%d/device/%s/%u/%s", FAKE_DOMID, cls, devid,
		 key);
	return node(path);
}

bool wait_be_state(unsigned int devid, int state)
{
	uint64_t end = clock_mono_ms() + 5000;

	do {
		if (atoi(be_node(devid, "state")) == state)
			return true;
		usleep(1000);
	} while (clock_mono_ms() < end);
	return false;
}

bool ring_wait_rsp(const void *sring, uint32_t cons, unsigned int n, unsigned int ms)
{
	const uint32_t *rsp_prod = (const uint32_t *)sring + 2;
	uint64_t end = clock_mono_ms() + ms;

	do {
		if (__atomic_load_n(rsp_prod, __ATOMIC_ACQUIRE) - cons >= n)
			return true;
		usleep(200);
	} while (clock_mono_ms() < end);
	return false;
}

void fe_close_handshake(unsigned int devid)
{
	CU_ASSERT_EQUAL(gw(devid, "state", "%d", XenbusStateClosing), 0);
	CU_ASSERT_TRUE(wait_be_state(devid, XenbusStateClosing));
	CU_ASSERT_EQUAL(gw(devid, "state", "%d", XenbusStateClosed), 0);
	CU_ASSERT_TRUE(wait_be_state(devid, XenbusStateClosed));
}

/* ---- setup and leaks ----------------------------------------------------- */

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

int xbf_setup(const char *dev_class, const char *thread)
{
	cls = dev_class;
	if (xen_fake_init(&F, 1))
		return -1;
	for (unsigned int f = 0; f < 4; f++) {
		if (!gnttab_frame(F.d, f))
			return -1;
		memset(F.d->gnttab.frames[f].entries, 0, 4096);
	}
	log_set_level(LOG_ERR);
	if (event_loop_new(&L) || sem_init(&call_done, 0, 0) ||
	    event_notifier_new(L, call_handler, NULL, &call_n) || event_loop_start(L, thread))
		return -1;
	S = xs_store_new(NULL);
	if (!S || xs_store_introduce(S, FAKE_DOMID))
		return -1;
	G = xs_client_new(S, FAKE_DOMID, false, NULL, NULL);
	D0 = xs_client_new(S, 0, true, NULL, NULL);
	base_fds = open_fds();
	return G && D0 ? 0 : -1;
}

void xbf_teardown(void)
{
	event_loop_stop(L);
	xs_client_free(G);
	xs_client_free(D0);
	xs_store_free(S);
	event_notifier_free(call_n);
	event_loop_free(L);
	xen_fake_fini(&F);
}

void xbf_assert_no_leaks(void)
{
	CU_ASSERT_EQUAL(F.d->gnttab.nr_maps, 0);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
	CU_ASSERT_EQUAL(open_fds(), base_fds);
}
