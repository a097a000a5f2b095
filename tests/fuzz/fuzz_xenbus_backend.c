/*
 * libFuzzer harness: the shared xenbus backend state machine against a
 * frontend that writes anything into its `state` node (any bytes, any
 * length), removes it or its directory, and a backend whose rings break or
 * whose connect fails.  The input is a script of steps; after each the
 * machine takes one step, synchronously, and must be in a backend state
 * with the fake backend connected exactly when the machine says Connected.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/xen_abi.h"
#include <xen/io/xenbus.h>

#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "xenkvm/xenbus_backend.h"
#include "xenkvm/xenstore.h"

#define DOMID 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fake_be {
	struct xenbus_backend xb;
	int connect_rc;
	bool mapped;
};

static int fake_connect(void *opaque)
{
	struct fake_be *fb = opaque;
	unsigned long ref;
	int rc = xenbus_be_read_uint(fb->xb.xs, fb->xb.fe_path, "ring-ref", &ref);

	if (!rc)
		rc = fb->connect_rc;
	if (fb->mapped)
		abort();   /* connect without the disconnect the machine promises */
	fb->mapped = !rc;
	return rc;
}

static void fake_disconnect(void *opaque)
{
	((struct fake_be *)opaque)->mapped = false;
}

static const struct xenbus_backend_ops ops = {
	.connect = fake_connect,
	.disconnect = fake_disconnect,
};

static struct event_loop *L;   /* never run: the harness steps the machine itself */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fe_kv[] = { "state", "1", NULL };
	static const char *const be_kv[] = { "state", "1", NULL };
	struct fake_be fb = { .connect_rc = 0 };
	struct xenbus_backend_params p = { .name = "fuzz", .cls = "vfz", .domid = DOMID,
					   .devid = 0, .trace = TRACE_BLK, .ops = &ops,
					   .opaque = &fb };
	struct xs_store *s;
	struct xs_client *g;
	char val[64];

	if (!L) {
		log_set_level(LOG_ERR);
		if (event_loop_new(&L))
			abort();
	}
	s = xs_store_new(NULL);
	if (!s || xs_store_introduce(s, DOMID))
		abort();
	g = xs_client_new(s, DOMID, false, NULL, NULL);
	p.loop = L;
	p.store = s;
	if (!g || xenbus_backend_init(&fb.xb, &p) || xenbus_backend_start(&fb.xb, fe_kv, be_kv))
		abort();
	for (size_t i = 0; i + 2 <= size;) {
		uint8_t op = data[i], a = data[i + 1];
		size_t n;

		i += 2;
		switch (op % 8) {
		case 0:   /* a well-formed state, sometimes out of range */
		case 1:
			snprintf(val, sizeof(val), "%u", a % 12);
			xs_store_write(g, 0, "device/vfz/0/state", val, strlen(val));
			break;
		case 2:   /* any bytes at all */
			n = a % 48;
			if (n > size - i)
				n = size - i;
			xs_store_write(g, 0, "device/vfz/0/state", (const char *)data + i, n);
			i += n;
			break;
		case 3:
			snprintf(val, sizeof(val), "%u", a);
			xs_store_write(g, 0, "device/vfz/0/ring-ref", val, strlen(val));
			break;
		case 4:
			xs_store_rm(g, 0, a & 1 ? "device/vfz/0" : "device/vfz/0/state");
			break;
		case 5:   /* a ring broke (only a connected one can, but any time is stricter) */
			xenbus_backend_fatal(&fb.xb);
			break;
		case 6:
			fb.connect_rc = a & 1 ? -EINVAL : 0;
			break;
		default:
			break;
		}
		xenbus_backend_step(&fb.xb);
		if (fb.xb.be_state < XenbusStateInitWait || fb.xb.be_state > XenbusStateClosed)
			abort();
		if (fb.mapped != (fb.xb.be_state == XenbusStateConnected))
			abort();
		if (fb.xb.fe_state < -1 || fb.xb.fe_state > XenbusStateReconfigured)
			abort();
	}
	fake_disconnect(&fb);
	xenbus_backend_fini(&fb.xb);
	xs_client_free(g);
	xs_store_free(s);
	return 0;
}
