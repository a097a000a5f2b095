/* XenStore ring transport on a malloc'd page with a fake guest on the
 * other side: wraparound, partial and oversized messages, responses larger
 * than the ring, hostile indices, reconnection. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/log.h"
#include "xenkvm/xenstore.h"
#include "xenkvm/xs_ring.h"
#include "test_xenstore_util.h"

static struct xs_store *s;
static struct xs_ring *r;
static struct xenstore_domain_interface *intf;
static unsigned int notifies, wakeups;
static unsigned char rx[65536];
static size_t rx_len, rx_off;
static struct xt_msg m;

static void on_notify(void *opaque) { notifies++; }
static void on_wakeup(void *opaque) { wakeups++; }

static const struct xs_ring_ops ops = { on_notify, on_wakeup };

static void setup_at(uint32_t start)
{
	intf = aligned_alloc(4096, 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(intf);
	memset(intf, 0, 4096);
	intf->req_cons = intf->req_prod = intf->rsp_cons = intf->rsp_prod = start;
	s = xs_store_new(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(xs_domain_populate_dom0(s), 0);
	/* what a guest needs: a home it can write */
	{
		struct xs_client *c = xs_client_new(s, 0, true, NULL, NULL);
		static const struct xs_perm p = { 5, XS_P_NONE };

		CU_ASSERT_EQUAL(xs_store_mkdir(c, 0, "/local/domain/5"), 0);
		CU_ASSERT_EQUAL(xs_store_set_perms(c, 0, "/local/domain/5", &p, 1), 0);
		xs_client_free(c);
	}
	CU_ASSERT_EQUAL_FATAL(xs_ring_new(s, 5, intf, &ops, NULL, &r), 0);
	notifies = wakeups = 0;
	rx_len = rx_off = 0;
}

static void teardown(void)
{
	CU_ASSERT_EQUAL(xs_store_check(s), 0);
	xs_ring_free(r);
	xs_store_free(s);
	free(intf);
	CU_ASSERT_EQUAL(xs_node_count(), 0);
}

/* The guest's side: put bytes on the request ring (as much as fits). */
static size_t guest_put(const void *buf, size_t len)
{
	uint32_t prod = intf->req_prod, cons = intf->req_cons;
	size_t n = 0;

	while (n < len && prod - cons < XENSTORE_RING_SIZE)
		intf->req[MASK_XENSTORE_IDX(prod++)] = ((const char *)buf)[n++];
	__atomic_thread_fence(__ATOMIC_RELEASE);
	intf->req_prod = prod;
	return n;
}

/* ... and take what the server produced. */
static void guest_take(void)
{
	uint32_t cons = intf->rsp_cons, prod = intf->rsp_prod;

	while (cons != prod && rx_len < sizeof(rx))
		rx[rx_len++] = (unsigned char)intf->rsp[MASK_XENSTORE_IDX(cons++)];
	intf->rsp_cons = cons;
}

/* Sends a whole message, kicking the server whenever the ring fills. */
static void guest_send(uint32_t type, uint32_t id, const void *pl, size_t len)
{
	unsigned char buf[8192];
	size_t n = xt_encode(buf, type, id, 0, pl, len), done = 0;
	int guard = 0;

	while (done < n && guard++ < 100) {
		done += guest_put(buf + done, n - done);
		xs_ring_handle(r);
		guest_take();
	}
	xs_ring_handle(r);
	guest_take();
}

#define SEND(type, id, str) guest_send(type, id, str, sizeof(str) - 1)

static int got(uint32_t type, uint32_t id, const void *pl, size_t len)
{
	if (!xt_next(rx, rx_len, &rx_off, &m))
		return 0;
	return m.hdr.type == type && m.hdr.req_id == id && m.hdr.len == len &&
	       !memcmp(m.data, pl, len);
}

#define GOT(type, id, str) CU_ASSERT(got(type, id, str, sizeof(str) - 1))

static void test_basic(void)
{
	setup_at(0);
	CU_ASSERT_EQUAL(intf->server_features,
			XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR);
	SEND(XS_WRITE, 1, "data\0hi");
	GOT(XS_WRITE, 1, "OK\0");
	SEND(XS_READ, 2, "/local/domain/5/data\0");
	GOT(XS_READ, 2, "hi");
	SEND(XS_READ, 3, "/local/domain/0/name\0");
	GOT(XS_ERROR, 3, "EACCES\0");
	CU_ASSERT(notifies >= 3);
	CU_ASSERT_EQUAL(xs_ring_handle(r), 0);   /* nothing to do: no notify */
	CU_ASSERT(!xs_ring_dead(r));
	teardown();
}

static void test_wraparound(void)
{
	char val[200], path[64], pl[300];
	unsigned int i;
	int n;

	/* indices near 2^32 and not at a ring boundary */
	setup_at(0xfffffe00u + 17);
	for (i = 0; i < 60; i++) {
		memset(val, 'a' + (int)(i % 26), sizeof(val));
		n = snprintf(path, sizeof(path), "k%u", i);
		memcpy(pl, path, (size_t)n + 1);
		memcpy(pl + n + 1, val, sizeof(val));
		guest_send(XS_WRITE, i, pl, (size_t)n + 1 + sizeof(val));
		CU_ASSERT(got(XS_WRITE, i, "OK", 3));
		guest_send(XS_READ, 1000 + i, path, (size_t)n + 1);
		CU_ASSERT(got(XS_READ, 1000 + i, val, sizeof(val)));
	}
	CU_ASSERT(intf->req_prod < 0x10000);     /* wrapped the 32-bit space */
	teardown();
}

static void test_partial_and_large(void)
{
	unsigned char buf[64];
	char pl[1800], p[32];
	size_t n;
	unsigned int i, names = 0;

	setup_at(1000);
	/* half a header, then the rest */
	n = xt_encode(buf, XS_GET_DOMAIN_PATH, 9, 0, "5\0", 2);
	guest_put(buf, 7);
	CU_ASSERT_EQUAL(xs_ring_handle(r), 0);
	guest_take();
	CU_ASSERT_EQUAL(rx_len, 0);
	guest_put(buf + 7, n - 7);
	xs_ring_handle(r);
	guest_take();
	GOT(XS_GET_DOMAIN_PATH, 9, "/local/domain/5\0");

	/* a request bigger than the ring */
	memset(pl, 'z', sizeof(pl));
	memcpy(pl, "big\0", 4);
	guest_send(XS_WRITE, 10, pl, sizeof(pl));
	GOT(XS_WRITE, 10, "OK\0");
	SEND(XS_READ, 11, "big\0");
	CU_ASSERT(got(XS_READ, 11, pl + 4, sizeof(pl) - 4));

	/* a reply bigger than the ring */
	for (i = 0; i < 150; i++) {
		n = (size_t)snprintf(p, sizeof(p), "dir/entry-%03u", i);
		guest_send(XS_MKDIR, 100 + i, p, n + 1);
		CU_ASSERT(got(XS_MKDIR, 100 + i, "OK", 3));
	}
	SEND(XS_DIRECTORY, 12, "dir\0");
	for (i = 0; i < 20 && !xt_next(rx, rx_len, &rx_off, &m); i++) {
		xs_ring_handle(r);
		guest_take();
	}
	CU_ASSERT_EQUAL(m.hdr.type, XS_DIRECTORY);
	CU_ASSERT(m.hdr.len > XENSTORE_RING_SIZE);
	for (n = 0; n < m.hdr.len; n += strlen(m.data + n) + 1)
		names++;
	CU_ASSERT_EQUAL(names, 150);
	teardown();
}

static void test_guest_not_reading(void)
{
	unsigned int i;
	unsigned char buf[64];
	size_t n;

	setup_at(0);
	/* 40 requests, the guest never takes replies: the server fills the
	 * response ring, then stops reading; nothing breaks */
	for (i = 0; i < 40; i++) {
		n = xt_encode(buf, XS_GET_DOMAIN_PATH, i, 0, "5\0", 2);
		guest_put(buf, n);
		CU_ASSERT(xs_ring_handle(r) >= 0);
	}
	CU_ASSERT_EQUAL(intf->rsp_prod - intf->rsp_cons, XENSTORE_RING_SIZE);
	for (i = 0; i < 10; i++) {
		guest_take();
		xs_ring_handle(r);
	}
	guest_take();
	for (i = 0; i < 40; i++)
		CU_ASSERT(got(XS_GET_DOMAIN_PATH, i, "/local/domain/5", 16));
	teardown();
}

static void test_hostile_indices(void)
{
	unsigned char buf[64];

	/* producer ahead of the consumer by more than the ring */
	setup_at(0);
	intf->req_prod = intf->req_cons + XENSTORE_RING_SIZE + 1;
	CU_ASSERT_EQUAL(xs_ring_handle(r), -EPIPE);
	CU_ASSERT(xs_ring_dead(r));
	CU_ASSERT_EQUAL(intf->error, XENSTORE_ERROR_RINGIDX);
	CU_ASSERT_EQUAL(xs_ring_handle(r), -EPIPE);
	teardown();

	/* consumer "ahead" of the producer (negative distance) */
	setup_at(500);
	intf->req_cons = 501;
	CU_ASSERT_EQUAL(xs_ring_handle(r), -EPIPE);
	teardown();

	/* response consumer garbage */
	setup_at(0);
	intf->rsp_cons = 0x80000000u;
	CU_ASSERT_EQUAL(xs_ring_handle(r), -EPIPE);
	teardown();

	/* a header announcing 5000 bytes */
	setup_at(0);
	xt_encode(buf, XS_WRITE, 1, 0, NULL, 0);
	memcpy(buf + 12, &(uint32_t){ 5000 }, 4);
	guest_put(buf, 16);
	CU_ASSERT_EQUAL(xs_ring_handle(r), -EPIPE);
	CU_ASSERT_EQUAL(intf->error, XENSTORE_ERROR_PROTO);
	teardown();
}

static void test_reconnect(void)
{
	struct xs_client *d0;

	setup_at(300);
	SEND(XS_WATCH, 1, "data\0tok\0");
	GOT(XS_WATCH, 1, "OK\0");
	GOT(XS_WATCH_EVENT, 0, "data\0tok\0");
	/* an event caused elsewhere wakes the ring's owner up */
	d0 = xs_client_new(s, 0, true, NULL, NULL);
	CU_ASSERT_EQUAL(xs_store_write(d0, 0, "/local/domain/5/data/x", "1", 1), 0);
	CU_ASSERT_EQUAL(wakeups, 1);
	xs_ring_handle(r);
	guest_take();
	GOT(XS_WATCH_EVENT, 0, "data/x\0tok\0");
	/* break it, then ask for a reconnect: state is dropped, ring reset */
	intf->req_prod += 4000;
	CU_ASSERT_EQUAL(xs_ring_handle(r), -EPIPE);
	intf->connection = XENSTORE_RECONNECT;
	notifies = 0;
	CU_ASSERT_EQUAL(xs_ring_handle(r), 0);
	CU_ASSERT_EQUAL(intf->connection, XENSTORE_CONNECTED);
	CU_ASSERT_EQUAL(intf->error, XENSTORE_ERROR_NONE);
	CU_ASSERT_EQUAL(intf->req_prod, 0);
	CU_ASSERT_EQUAL(intf->rsp_prod, 0);
	CU_ASSERT_EQUAL(notifies, 1);
	CU_ASSERT(!xs_ring_dead(r));
	rx_len = rx_off = 0;
	CU_ASSERT_EQUAL(xs_store_write(d0, 0, "/local/domain/5/data/y", "1", 1), 0);
	xs_ring_handle(r);
	guest_take();
	CU_ASSERT_EQUAL(rx_len, 0);              /* the watch went with the reset */
	SEND(XS_READ, 2, "data/y\0");
	GOT(XS_READ, 2, "1");
	xs_client_free(d0);
	teardown();
}

int main(void)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "basic", test_basic },
		{ "wraparound", test_wraparound },
		{ "partial_and_large", test_partial_and_large },
		{ "guest_not_reading", test_guest_not_reading },
		{ "hostile_indices", test_hostile_indices },
		{ "reconnect", test_reconnect },
	};
	CU_pSuite suite;
	unsigned int i;

	log_set_level(LOG_ERR + 0);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("xenstore_ring", NULL, NULL);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	return cunit_run(CU_BRM_NORMAL);
}
