/* XenStore wire layer: request bytes in, reply bytes out, through an
 * in-memory transport.  Every message type, every malformed-message kind
 * (error reply or disconnect), partial and pipelined input, flow control. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/log.h"
#include "xenkvm/xenstore.h"
#include "test_xenstore_util.h"

static struct xs_store *s;
static struct xs_conn *c0, *c1;
static struct xt_pipe *p0, *p1;
static size_t off0, off1;
static struct xt_msg m;

static void setup_q(const struct xs_quota *q)
{
	s = xs_store_new(q);
	p0 = calloc(1, sizeof(*p0));
	p1 = calloc(1, sizeof(*p1));
	CU_ASSERT_FATAL(s && p0 && p1);
	c0 = xs_conn_new(s, 0, true, &xt_pipe_ops, p0);
	c1 = xs_conn_new(s, 1, false, &xt_pipe_ops, p1);
	CU_ASSERT_FATAL(c0 && c1);
	off0 = off1 = 0;
}

static void setup(void)
{
	setup_q(NULL);
}

static void teardown(void)
{
	CU_ASSERT_EQUAL(xs_store_check(s), 0);
	xs_conn_free(c0);
	xs_conn_free(c1);
	xs_store_free(s);
	free(p0);
	free(p1);
	CU_ASSERT_EQUAL(xs_node_count(), 0);
}

/* Sends one request on conn 0 or 1 and processes it. */
static void req(int which, uint32_t type, uint32_t req_id, uint32_t tx, const void *pl, size_t len)
{
	struct xt_pipe *p = which ? p1 : p0;

	xt_send(p, type, req_id, tx, pl, len);
	xs_conn_process(which ? c1 : c0);
}

#define REQS(which, type, id, tx, str) req(which, type, id, tx, str, sizeof(str) - 1)

/* Next message on conn 0/1 must be exactly (type, req_id, tx, payload). */
static int expect(int which, uint32_t type, uint32_t req_id, uint32_t tx,
		  const void *pl, size_t len)
{
	struct xt_pipe *p = which ? p1 : p0;
	size_t *off = which ? &off1 : &off0;

	if (!xt_next(p->out, p->out_len, off, &m))
		return 0;
	return m.hdr.type == type && m.hdr.req_id == req_id && m.hdr.tx_id == tx &&
	       m.hdr.len == len && !memcmp(m.data, pl, len);
}

#define EXPECT(which, type, id, tx, str) \
	CU_ASSERT(expect(which, type, id, tx, str, sizeof(str) - 1))
#define EXPECT_ERR(which, id, tx, name) \
	CU_ASSERT(expect(which, XS_ERROR, id, tx, name, sizeof(name)))
#define NO_MORE(which) \
	CU_ASSERT_EQUAL((which ? p1 : p0)->out_len, which ? off1 : off0)

static void test_roundtrip(void)
{
	setup();
	REQS(0, XS_WRITE, 7, 0, "/a\0hello");
	EXPECT(0, XS_WRITE, 7, 0, "OK\0");
	REQS(0, XS_READ, 8, 0, "/a\0");
	EXPECT(0, XS_READ, 8, 0, "hello");          /* values carry no NUL */
	REQS(0, XS_WRITE, 9, 0, "/a\0");            /* empty value */
	EXPECT(0, XS_WRITE, 9, 0, "OK\0");
	REQS(0, XS_READ, 10, 0, "/a\0");
	CU_ASSERT(expect(0, XS_READ, 10, 0, "", 0));
	REQS(0, XS_MKDIR, 11, 0, "/d/e\0");
	EXPECT(0, XS_MKDIR, 11, 0, "OK\0");
	REQS(0, XS_DIRECTORY, 12, 0, "/\0");
	EXPECT(0, XS_DIRECTORY, 12, 0, "tool\0a\0d\0");
	REQS(0, XS_SET_PERMS, 13, 0, "/a\0n0\0r1\0");
	EXPECT(0, XS_SET_PERMS, 13, 0, "OK\0");
	REQS(0, XS_GET_PERMS, 14, 0, "/a\0");
	EXPECT(0, XS_GET_PERMS, 14, 0, "n0\0r1\0");
	REQS(0, XS_RM, 15, 0, "/d\0");
	EXPECT(0, XS_RM, 15, 0, "OK\0");
	REQS(0, XS_GET_DOMAIN_PATH, 16, 0, "5\0");
	EXPECT(0, XS_GET_DOMAIN_PATH, 16, 0, "/local/domain/5\0");
	REQS(1, XS_GET_DOMAIN_PATH, 17, 0, "1\0");  /* guests may ask too */
	EXPECT(1, XS_GET_DOMAIN_PATH, 17, 0, "/local/domain/1\0");
	REQS(0, XS_DIRECTORY_PART, 18, 0, "/\0" "0\0");
	CU_ASSERT(xt_next(p0->out, p0->out_len, &off0, &m));
	CU_ASSERT_EQUAL(m.hdr.type, XS_DIRECTORY_PART);
	CU_ASSERT_EQUAL(memcmp(m.data + strlen(m.data) + 1, "tool\0a\0\0", 8), 0);
	REQS(1, XS_READ, 19, 0, "/a\0");
	EXPECT(1, XS_READ, 19, 0, "");
	NO_MORE(0);
	NO_MORE(1);
	CU_ASSERT_EQUAL(xs_conn_stats(c0)->requests, 11);
	teardown();
}

static void test_malformed(void)
{
	uint32_t tx;
	char big[5000];
	unsigned int i;

	setup();
	req(0, 9999, 1, 0, NULL, 0);
	EXPECT_ERR(0, 1, 0, "ENOSYS");
	REQS(0, XS_WATCH_EVENT, 2, 0, "/a\0t\0");
	EXPECT_ERR(0, 2, 0, "ENOSYS");
	REQS(0, XS_ERROR, 3, 0, "EINVAL\0");
	EXPECT_ERR(0, 3, 0, "ENOSYS");
	REQS(0, XS_READ, 4, 0, "/a");                /* no NUL */
	EXPECT_ERR(0, 4, 0, "EINVAL");
	REQS(0, XS_READ, 5, 0, "/a\0/b\0");          /* two strings */
	EXPECT_ERR(0, 5, 0, "EINVAL");
	req(0, XS_READ, 6, 0, NULL, 0);              /* empty */
	EXPECT_ERR(0, 6, 0, "EINVAL");
	REQS(0, XS_WRITE, 7, 0, "/a");               /* path not terminated */
	EXPECT_ERR(0, 7, 0, "EINVAL");
	REQS(0, XS_WATCH, 8, 0, "/a\0");             /* token missing */
	EXPECT_ERR(0, 8, 0, "EINVAL");
	REQS(0, XS_WATCH, 9, 0, "/a\0t\0x\0");       /* three strings */
	EXPECT_ERR(0, 9, 0, "EINVAL");
	REQS(0, XS_SET_PERMS, 10, 0, "/\0");
	EXPECT_ERR(0, 10, 0, "EINVAL");
	REQS(0, XS_SET_PERMS, 11, 0, "/\0q0\0");
	EXPECT_ERR(0, 11, 0, "EINVAL");
	REQS(0, XS_DIRECTORY_PART, 12, 0, "/\0x\0");
	EXPECT_ERR(0, 12, 0, "EINVAL");
	REQS(0, XS_TRANSACTION_END, 13, 0, "T\0");   /* no transaction */
	EXPECT_ERR(0, 13, 0, "ENOENT");
	REQS(0, XS_READ, 14, 1234, "/\0");           /* unknown transaction */
	EXPECT_ERR(0, 14, 1234, "ENOENT");
	REQS(0, XS_GET_DOMAIN_PATH, 15, 0, "x\0");
	EXPECT_ERR(0, 15, 0, "EINVAL");
	REQS(0, XS_GET_DOMAIN_PATH, 16, 0, "70000\0");
	EXPECT_ERR(0, 16, 0, "EINVAL");
	REQS(0, XS_READ, 17, 0, "/a//b\0");
	EXPECT_ERR(0, 17, 0, "EINVAL");
	REQS(0, XS_READ, 18, 0, "/nothing\0");
	EXPECT_ERR(0, 18, 0, "ENOENT");
	REQS(1, XS_READ, 19, 0, "/tool\0");
	EXPECT_ERR(1, 19, 0, "EACCES");
	REQS(1, XS_INTRODUCE, 20, 0, "3\0" "1\0" "1\0");   /* privileged only */
	EXPECT_ERR(1, 20, 0, "EACCES");
	REQS(1, XS_CONTROL, 21, 0, "print\0x\0");
	EXPECT_ERR(1, 21, 0, "EACCES");
	REQS(1, XS_IS_DOMAIN_INTRODUCED, 22, 0, "0\0");
	EXPECT_ERR(1, 22, 0, "EACCES");
	REQS(0, XS_WATCH, 23, 0, "/w\0t\0");
	EXPECT(0, XS_WATCH, 23, 0, "OK\0");
	CU_ASSERT(xt_next(p0->out, p0->out_len, &off0, &m)); /* its first event */
	REQS(0, XS_WATCH, 24, 0, "/w\0t\0");
	EXPECT_ERR(0, 24, 0, "EEXIST");
	REQS(0, XS_RM, 25, 0, "/\0");
	EXPECT_ERR(0, 25, 0, "EINVAL");
	/* transactions: no nesting, bad end argument */
	REQS(0, XS_TRANSACTION_START, 26, 0, "\0");
	CU_ASSERT(xt_next(p0->out, p0->out_len, &off0, &m));
	tx = (uint32_t)strtoul(m.data, NULL, 10);
	CU_ASSERT_NOT_EQUAL(tx, 0);
	REQS(0, XS_TRANSACTION_START, 27, tx, "\0");
	EXPECT_ERR(0, 27, tx, "EBUSY");
	REQS(0, XS_TRANSACTION_END, 28, tx, "X\0");
	EXPECT_ERR(0, 28, tx, "EINVAL");
	REQS(0, XS_TRANSACTION_END, 29, tx, "F\0");
	EXPECT(0, XS_TRANSACTION_END, 29, tx, "OK\0");
	/* a reply over 4096 bytes is E2BIG */
	for (i = 0; i < 300; i++) {
		int n = snprintf(big, sizeof(big), "/big/some-long-child-name-%u", i);

		req(0, XS_WRITE, 100, 0, big, (size_t)n + 1);
		CU_ASSERT(xt_next(p0->out, p0->out_len, &off0, &m));
	}
	REQS(0, XS_DIRECTORY, 30, 0, "/big\0");
	EXPECT_ERR(0, 30, 0, "E2BIG");
	/* guests' quotas surface as ENOSPC / E2BIG / EPERM */
	REQS(0, XS_MKDIR, 31, 0, "/local/domain/1\0");
	CU_ASSERT(xt_next(p0->out, p0->out_len, &off0, &m));
	REQS(0, XS_SET_PERMS, 32, 0, "/local/domain/1\0n1\0");
	CU_ASSERT(xt_next(p0->out, p0->out_len, &off0, &m));
	REQS(1, XS_SET_PERMS, 33, 0, "x\0n1\0r2\0r3\0r4\0r5\0r6\0");
	EXPECT_ERR(1, 33, 0, "ENOSPC");
	REQS(1, XS_SET_PERMS, 34, 0, "/local/domain/1\0n2\0");
	EXPECT_ERR(1, 34, 0, "EPERM");
	memset(big, 'x', sizeof(big));
	memcpy(big, "v\0", 2);
	req(1, XS_WRITE, 35, 0, big, 2100);
	EXPECT_ERR(1, 35, 0, "ENOSPC");
	NO_MORE(0);
	NO_MORE(1);
	CU_ASSERT(!xs_conn_error(c0));
	teardown();
}

static void test_oversize_disconnects(void)
{
	setup();
	REQS(1, XS_GET_DOMAIN_PATH, 1, 0, "1\0");
	EXPECT(1, XS_GET_DOMAIN_PATH, 1, 0, "/local/domain/1\0");
	xt_send(p1, XS_WRITE, 2, 0, NULL, 0);
	/* patch the length to one over the limit */
	memcpy(p1->in + p1->in_len - 4, &(uint32_t){ XENSTORE_PAYLOAD_MAX + 1 }, 4);
	CU_ASSERT_EQUAL(xs_conn_process(c1), -EPIPE);
	CU_ASSERT_EQUAL(xs_conn_error(c1), XS_CONN_EPROTO);
	NO_MORE(1);
	REQS(1, XS_GET_DOMAIN_PATH, 3, 0, "1\0");     /* dead stays dead */
	NO_MORE(1);
	/* exactly the limit is fine */
	{
		static char big[XENSTORE_PAYLOAD_MAX];

		memset(big, 'a', sizeof(big));
		memcpy(big, "/x\0", 3);
		req(0, XS_WRITE, 4, 0, big, sizeof(big));
		EXPECT(0, XS_WRITE, 4, 0, "OK\0");
	}
	/* a transport failure is a disconnect too */
	p0->fail_read = -ECONNRESET;
	CU_ASSERT_EQUAL(xs_conn_process(c0), -EPIPE);
	CU_ASSERT_EQUAL(xs_conn_error(c0), XS_CONN_ECOMM);
	teardown();
}

static void test_partial_and_pipelined(void)
{
	unsigned char buf[256];
	size_t n, i;

	setup();
	/* byte by byte */
	n = xt_encode(buf, XS_WRITE, 1, 0, "/p\0v", 4);
	n += xt_encode(buf + n, XS_READ, 2, 0, "/p\0", 3);
	for (i = 0; i < n; i++) {
		p0->in[p0->in_len++] = buf[i];
		CU_ASSERT(xs_conn_process(c0) >= 0);
	}
	EXPECT(0, XS_WRITE, 1, 0, "OK\0");
	EXPECT(0, XS_READ, 2, 0, "v");
	/* pipelined, replies in order */
	for (i = 0; i < 5; i++)
		xt_send(p0, XS_READ, 10 + (uint32_t)i, 0, "/p\0", 3);
	xs_conn_process(c0);
	for (i = 0; i < 5; i++)
		EXPECT(0, XS_READ, 10 + (uint32_t)i, 0, "v");
	/* a transport that takes one byte at a time still gets whole messages */
	p0->out_limit = 1;
	REQS(0, XS_READ, 20, 0, "/p\0");
	while (xs_conn_want_write(c0))
		xs_conn_process(c0);
	EXPECT(0, XS_READ, 20, 0, "v");
	NO_MORE(0);
	teardown();
}

static void test_transactions(void)
{
	uint32_t t1, t2;

	setup();
	REQS(0, XS_TRANSACTION_START, 1, 0, "\0");
	CU_ASSERT(xt_next(p0->out, p0->out_len, &off0, &m));
	CU_ASSERT_EQUAL(m.hdr.type, XS_TRANSACTION_START);
	CU_ASSERT_EQUAL(m.data[m.hdr.len - 1], 0);
	t1 = (uint32_t)strtoul(m.data, NULL, 10);
	REQS(0, XS_TRANSACTION_START, 2, 0, "\0");
	CU_ASSERT(xt_next(p0->out, p0->out_len, &off0, &m));
	t2 = (uint32_t)strtoul(m.data, NULL, 10);
	CU_ASSERT_NOT_EQUAL(t1, t2);
	req(0, XS_WRITE, 3, t1, "/x\0" "1", 4);
	EXPECT(0, XS_WRITE, 3, t1, "OK\0");          /* tx_id echoed */
	req(0, XS_WRITE, 4, t2, "/x\0" "2", 4);
	EXPECT(0, XS_WRITE, 4, t2, "OK\0");
	REQS(0, XS_READ, 5, 0, "/x\0");
	EXPECT_ERR(0, 5, 0, "ENOENT");
	REQS(0, XS_TRANSACTION_END, 6, t1, "T\0");
	EXPECT(0, XS_TRANSACTION_END, 6, t1, "OK\0");
	REQS(0, XS_TRANSACTION_END, 7, t2, "T\0");
	EXPECT_ERR(0, 7, t2, "EAGAIN");
	REQS(0, XS_READ, 8, 0, "/x\0");
	EXPECT(0, XS_READ, 8, 0, "1");
	/* WATCH ignores tx_id (even an unknown one) */
	REQS(0, XS_WATCH, 9, 777, "/x\0tok\0");
	EXPECT(0, XS_WATCH, 9, 777, "OK\0");
	NO_MORE(1);
	teardown();
}

static void test_watch_events(void)
{
	setup();
	REQS(0, XS_WATCH, 1, 0, "/w\0tok\0");
	EXPECT(0, XS_WATCH, 1, 0, "OK\0");           /* ack first ... */
	EXPECT(0, XS_WATCH_EVENT, 0, 0, "/w\0tok\0"); /* ... then the initial event */
	/* a client's own write: the event precedes the ack, as in xenstored */
	REQS(0, XS_WRITE, 2, 0, "/w/a\0" "1");
	EXPECT(0, XS_WATCH_EVENT, 0, 0, "/w/a\0tok\0");
	EXPECT(0, XS_WRITE, 2, 0, "OK\0");
	/* another client's change reaches us, and the transport is kicked */
	REQS(0, XS_SET_PERMS, 3, 0, "/w\0b1\0");
	EXPECT(0, XS_WATCH_EVENT, 0, 0, "/w\0tok\0");
	EXPECT(0, XS_SET_PERMS, 3, 0, "OK\0");
	CU_ASSERT_EQUAL(p0->kicks, 0);
	REQS(1, XS_WRITE, 4, 0, "/w/b\0" "2");
	EXPECT(1, XS_WRITE, 4, 0, "OK\0");
	CU_ASSERT_EQUAL(p0->kicks, 1);
	xs_conn_process(c0);
	EXPECT(0, XS_WATCH_EVENT, 0, 0, "/w/b\0tok\0");
	/* relative watch from a guest */
	REQS(0, XS_MKDIR, 5, 0, "/local/domain/1/dev\0");
	EXPECT(0, XS_MKDIR, 5, 0, "OK\0");
	REQS(0, XS_SET_PERMS, 6, 0, "/local/domain/1/dev\0n1\0");
	EXPECT(0, XS_SET_PERMS, 6, 0, "OK\0");
	REQS(1, XS_WATCH, 7, 0, "dev\0t1\0");
	EXPECT(1, XS_WATCH, 7, 0, "OK\0");
	EXPECT(1, XS_WATCH_EVENT, 0, 0, "dev\0t1\0");
	REQS(0, XS_WRITE, 8, 0, "/local/domain/1/dev/vif\0");
	EXPECT(0, XS_WRITE, 8, 0, "OK\0");
	xs_conn_process(c1);
	EXPECT(1, XS_WATCH_EVENT, 0, 0, "dev/vif\0t1\0");
	REQS(1, XS_UNWATCH, 9, 0, "dev\0t1\0");
	EXPECT(1, XS_UNWATCH, 9, 0, "OK\0");
	REQS(1, XS_UNWATCH, 10, 0, "dev\0t1\0");
	EXPECT_ERR(1, 10, 0, "ENOENT");
	REQS(1, XS_WATCH, 11, 0, "dev\0t2\0");
	EXPECT(1, XS_WATCH, 11, 0, "OK\0");
	EXPECT(1, XS_WATCH_EVENT, 0, 0, "dev\0t2\0");
	REQS(1, XS_RESET_WATCHES, 12, 0, "\0");
	EXPECT(1, XS_RESET_WATCHES, 12, 0, "OK\0");
	REQS(0, XS_WRITE, 13, 0, "/local/domain/1/dev/vbd\0");
	EXPECT(0, XS_WRITE, 13, 0, "OK\0");
	xs_conn_process(c1);
	NO_MORE(1);
	CU_ASSERT(xs_conn_stats(c1)->events == 3);
	teardown();
}

static unsigned int introduced[8], released[8], n_intro, n_rel;

static int hook_introduce(void *opaque, unsigned int domid, uint64_t mfn, unsigned int port)
{
	if (mfn == 666)
		return -EINVAL;
	if (n_intro < 8)
		introduced[n_intro++] = domid;
	return 0;
}

static void hook_release(void *opaque, unsigned int domid)
{
	if (n_rel < 8)
		released[n_rel++] = domid;
}

static void test_domain_ops_and_control(void)
{
	const struct xs_store_hooks hooks = { hook_introduce, hook_release, NULL };

	setup();
	n_intro = n_rel = 0;
	xs_store_set_hooks(s, &hooks);
	REQS(0, XS_WATCH, 1, 0, "@introduceDomain\0i\0");
	EXPECT(0, XS_WATCH, 1, 0, "OK\0");
	EXPECT(0, XS_WATCH_EVENT, 0, 0, "@introduceDomain\0i\0");
	REQS(0, XS_INTRODUCE, 2, 0, "3\0" "4660\0" "5\0");
	EXPECT(0, XS_WATCH_EVENT, 0, 0, "@introduceDomain\0i\0");
	EXPECT(0, XS_INTRODUCE, 2, 0, "OK\0");
	CU_ASSERT_EQUAL(n_intro, 1);
	CU_ASSERT_EQUAL(introduced[0], 3);
	REQS(0, XS_INTRODUCE, 3, 0, "4\0" "666\0" "5\0");   /* the hook refuses */
	EXPECT_ERR(0, 3, 0, "EINVAL");
	REQS(0, XS_INTRODUCE, 4, 0, "0\0" "1\0" "5\0");
	EXPECT_ERR(0, 4, 0, "EINVAL");
	REQS(0, XS_INTRODUCE, 5, 0, "4\0" "1\0");
	EXPECT_ERR(0, 5, 0, "EINVAL");
	REQS(0, XS_IS_DOMAIN_INTRODUCED, 6, 0, "3\0");
	EXPECT(0, XS_IS_DOMAIN_INTRODUCED, 6, 0, "T\0");
	REQS(0, XS_IS_DOMAIN_INTRODUCED, 7, 0, "4\0");
	EXPECT(0, XS_IS_DOMAIN_INTRODUCED, 7, 0, "F\0");
	REQS(0, XS_SET_TARGET, 8, 0, "3\0" "4\0");
	EXPECT_ERR(0, 8, 0, "ENOENT");
	REQS(0, XS_INTRODUCE, 9, 0, "4\0" "-1\0" "5\0");   /* signed mfn */
	EXPECT(0, XS_WATCH_EVENT, 0, 0, "@introduceDomain\0i\0");
	EXPECT(0, XS_INTRODUCE, 9, 0, "OK\0");
	REQS(0, XS_SET_TARGET, 10, 0, "3\0" "4\0");
	EXPECT(0, XS_SET_TARGET, 10, 0, "OK\0");
	REQS(0, XS_RESUME, 11, 0, "3\0");
	EXPECT(0, XS_RESUME, 11, 0, "OK\0");
	REQS(0, XS_RELEASE, 12, 0, "3\0");
	EXPECT(0, XS_RELEASE, 12, 0, "OK\0");
	CU_ASSERT_EQUAL(n_rel, 1);
	CU_ASSERT_EQUAL(released[0], 3);
	REQS(0, XS_RELEASE, 13, 0, "3\0");
	EXPECT_ERR(0, 13, 0, "ENOENT");
	REQS(0, XS_RESUME, 14, 0, "3\0");
	EXPECT_ERR(0, 14, 0, "ENOENT");

	REQS(0, XS_CONTROL, 20, 0, "print\0hello from the test\0");
	EXPECT(0, XS_CONTROL, 20, 0, "OK\0");
	REQS(0, XS_CONTROL, 21, 0, "check\0");
	EXPECT(0, XS_CONTROL, 21, 0, "OK\0");
	REQS(0, XS_CONTROL, 22, 0, "quota\0nodes=5\0");
	EXPECT(0, XS_CONTROL, 22, 0, "OK\0");
	CU_ASSERT_EQUAL(xs_store_quota(s)->nodes_per_domain, 5);
	REQS(0, XS_CONTROL, 23, 0, "quota\0");
	CU_ASSERT(xt_next(p0->out, p0->out_len, &off0, &m));
	CU_ASSERT_EQUAL(m.hdr.type, XS_CONTROL);
	CU_ASSERT_PTR_NOT_NULL(strstr(m.data, "nodes=5\n"));
	REQS(0, XS_CONTROL, 24, 0, "help\0");
	CU_ASSERT(xt_next(p0->out, p0->out_len, &off0, &m));
	CU_ASSERT_PTR_NOT_NULL(strstr(m.data, "print"));
	REQS(0, XS_CONTROL, 25, 0, "frobnicate\0");
	EXPECT_ERR(0, 25, 0, "EINVAL");
	REQS(0, XS_CONTROL, 26, 0, "log\0on\0");
	EXPECT(0, XS_CONTROL, 26, 0, "OK\0");
	/* a socket client may not lift the output cap (or any other bound) */
	REQS(0, XS_CONTROL, 27, 0, "quota\0output-bytes=0\0");
	EXPECT_ERR(0, 27, 0, "EINVAL");
	REQS(0, XS_CONTROL, 28, 0, "quota\0nodes=0\0");
	EXPECT_ERR(0, 28, 0, "EINVAL");
	CU_ASSERT_EQUAL(xs_store_quota(s)->out_queue_bytes, 1u << 20);
	CU_ASSERT_EQUAL(xs_store_quota(s)->nodes_per_domain, 5);
	NO_MORE(0);
	teardown();
}

static void test_flow_control(void)
{
	struct xs_client *writer;
	struct xs_quota q;
	unsigned int i, replies = 0;

	xs_quota_default(&q);
	setup_q(&q);
	/* a guest that sends 30 requests but reads nothing: 20 are executed */
	p1->block_write = 1;
	for (i = 0; i < 30; i++)
		xt_send(p1, XS_GET_DOMAIN_PATH, i, 0, "1\0", 2);
	xs_conn_process(c1);
	CU_ASSERT(xs_conn_stalled(c1));
	CU_ASSERT_EQUAL(xs_conn_stats(c1)->requests, 20);
	CU_ASSERT(p1->in_off < p1->in_len);
	p1->block_write = 0;
	while (xs_conn_process(c1) > 0)
		;
	while (xt_next(p1->out, p1->out_len, &off1, &m))
		replies += m.hdr.type == XS_GET_DOMAIN_PATH && m.hdr.req_id == replies;
	CU_ASSERT_EQUAL(replies, 30);
	CU_ASSERT(!xs_conn_stalled(c1));

	/* watch events beyond the output budget are dropped, never queued forever */
	CU_ASSERT_EQUAL(xs_store_quota_set(s, "output-bytes=400"), 0);
	REQS(0, XS_WATCH, 1, 0, "/e\0tok\0");
	p0->block_write = 1;
	writer = xs_client_new(s, 0, true, NULL, NULL);
	for (i = 0; i < 40; i++)
		CU_ASSERT_EQUAL(xs_store_write(writer, 0, "/e/some-node", "x", 1), 0);
	xs_client_free(writer);
	CU_ASSERT(xs_conn_stats(c0)->events_dropped > 0);
	CU_ASSERT(xs_conn_stats(c0)->events > 0);
	p0->block_write = 0;
	xs_conn_process(c0);
	CU_ASSERT(!xs_conn_want_write(c0));
	teardown();
}

int main(void)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "roundtrip", test_roundtrip },
		{ "malformed", test_malformed },
		{ "oversize_disconnects", test_oversize_disconnects },
		{ "partial_and_pipelined", test_partial_and_pipelined },
		{ "transactions", test_transactions },
		{ "watch_events", test_watch_events },
		{ "domain_ops_and_control", test_domain_ops_and_control },
		{ "flow_control", test_flow_control },
	};
	CU_pSuite suite;
	unsigned int i;

	log_set_level(LOG_ERR);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("xenstore_wire", NULL, NULL);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	return cunit_run(CU_BRM_NORMAL);
}
