/* XenStore save/restore (xen-compat/xenstore/store_state.c): a store a
 * guest has used, saved and loaded into a freshly populated one, answers
 * the same reads, fires the guest's watches with their tokens, fails its
 * open transactions with EAGAIN; bad streams are refused and leave the
 * store consistent. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "log_capture.h"
#include "test_xenstore_util.h"
#include "xenkvm/xen_state.h"
#include "xenkvm/xenstore.h"

#define DOMID 7

static const struct xs_domain_info di = {
	.domid = DOMID, .name = "guest", .uuid = "12345678-1234-1234-1234-123456789abc",
	.max_memkb = 524288, .target_memkb = 524288, .vcpus = 2, .avail_vcpus = 3,
	.store_pfn = 0xfeffc, .store_port = 1, .hvm = true,
};

struct side {
	struct xs_store *s;
	struct xs_client *d0, *g;
	struct xt_events ev0, evg;
};

/* What xenkvmd does at build time: dom0 and the guest's nodes, a dom0
 * client and the guest's connection. */
static void build(struct side *x)
{
	memset(x, 0, sizeof(*x));
	x->s = xs_store_new(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x->s);
	CU_ASSERT_EQUAL(xs_domain_populate_dom0(x->s), 0);
	CU_ASSERT_EQUAL(xs_domain_populate(x->s, &di), 0);
	x->d0 = xs_client_new(x->s, 0, true, xt_event_cb, &x->ev0);
	x->g = xs_client_new(x->s, DOMID, false, xt_event_cb, &x->evg);
	CU_ASSERT_FATAL(x->d0 && x->g);
}

static void destroy(struct side *x)
{
	CU_ASSERT_EQUAL(xs_store_check(x->s), 0);
	xs_client_free(x->d0);
	xs_client_free(x->g);
	xs_store_free(x->s);
}

static int wr(struct xs_client *c, uint32_t t, const char *path, const char *val)
{
	return xs_store_write(c, t, path, val, strlen(val));
}

static char *rd(struct xs_client *c, const char *path, char *buf, size_t size)
{
	struct xs_buf b = { 0 };

	buf[0] = '\0';
	if (!xs_store_read(c, 0, path, &b))
		snprintf(buf, size, "%.*s", (int)b.len, b.data);
	else
		snprintf(buf, size, "<none>");
	xs_buf_free(&b);
	return buf;
}

static char *perms(struct xs_client *c, const char *path, char *buf, size_t size)
{
	struct xs_buf b = { 0 };

	buf[0] = '\0';
	if (!xs_store_get_perms(c, 0, path, &b)) {
		for (size_t i = 0; i + 1 < b.len; i++)
			if (!b.data[i])
				b.data[i] = ',';
		snprintf(buf, size, "%.*s", (int)b.len, b.data);
	}
	xs_buf_free(&b);
	return buf;
}

/* The guest's use of the store: nodes, permissions, watches, an open
 * transaction. */
static uint32_t use(struct side *x)
{
	struct xs_perm p[2] = { { DOMID, XS_P_NONE }, { 0, XS_P_READ } };
	uint32_t tx = 0;

	CU_ASSERT_EQUAL(wr(x->g, 0, "data/a", "alpha"), 0);
	CU_ASSERT_EQUAL(wr(x->g, 0, "data/b", "beta"), 0);
	CU_ASSERT_EQUAL(xs_store_set_perms(x->g, 0, "data/b", p, 2), 0);
	CU_ASSERT_EQUAL(wr(x->d0, 0, "/local/domain/7/control/shutdown", ""), 0);
	CU_ASSERT_EQUAL(xs_watch_add(x->g, "/local/domain/7/data", "abs-token"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(x->g, "device", "rel-token"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(x->g, "@releaseDomain", "rd-token"), 0);
	CU_ASSERT_EQUAL(xs_tx_start(x->g, &tx), 0);
	CU_ASSERT_EQUAL(wr(x->g, tx, "data/c", "in-tx"), 0);
	return tx;
}

static struct state_writer *save(struct side *x)
{
	struct state_writer *w = state_writer_new_mem("test");
	struct xs_client *clients[] = { x->g };

	CU_ASSERT_EQUAL(xs_store_save(x->s, clients, 1, w), 0);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	return w;
}

static int load(struct side *x, const uint8_t *p, size_t len, char *msg, size_t size)
{
	struct state_reader *r = state_reader_new_mem(p, len);
	struct xs_client *clients[] = { x->g };
	struct xs_state_load ctx = { x->s, clients, 1 };
	struct state_handler h;
	int rc;

	xs_store_state_handler(&ctx, &h);
	rc = state_reader_header(r);
	if (!rc)
		rc = state_load(r, &h, 1);
	if (msg)
		snprintf(msg, size, "%s", state_reader_error(r));
	state_reader_free(r);
	return rc;
}

static void test_round_trip(void)
{
	struct side a, b;
	struct state_writer *w;
	const uint8_t *p;
	size_t len;
	uint32_t tx, tx2 = 0;
	char x1[256], x2[256], msg[STATE_ERR_MAX];
	static const char *const paths[] = {
		"/local/domain/7/data/a", "/local/domain/7/data/b", "/local/domain/7/name",
		"/local/domain/0/name", "/local/domain/7/memory/target", "/vm/12345678-1234-1234-1234-123456789abc/uuid",
	};

	build(&a);
	tx = use(&a);
	w = save(&a);
	p = state_writer_mem(w, &len);

	build(&b);
	CU_ASSERT_EQUAL(load(&b, p, len, msg, sizeof(msg)), 0);
	CU_ASSERT_STRING_EQUAL(msg, "");
	CU_ASSERT_EQUAL(xs_store_check(b.s), 0);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		CU_ASSERT_STRING_EQUAL(rd(b.d0, paths[i], x1, sizeof(x1)),
				       rd(a.d0, paths[i], x2, sizeof(x2)));
		CU_ASSERT_STRING_EQUAL(perms(b.d0, paths[i], x1, sizeof(x1)),
				       perms(a.d0, paths[i], x2, sizeof(x2)));
	}
	CU_ASSERT_STRING_EQUAL(rd(b.d0, "/local/domain/7/data/a", x1, sizeof(x1)), "alpha");
	CU_ASSERT_STRING_EQUAL(perms(b.d0, "/local/domain/7/data/b", x1, sizeof(x1)), "n7,r0");
	/* The transaction's write was not carried. */
	CU_ASSERT_STRING_EQUAL(rd(b.d0, "/local/domain/7/data/c", x1, sizeof(x1)), "<none>");
	CU_ASSERT_EQUAL(xs_store_domain_nodes(b.s, DOMID), xs_store_domain_nodes(a.s, DOMID));
	CU_ASSERT(xs_store_is_introduced(b.s, DOMID));

	/* Writes after the restore fire the guest's restored watches. */
	CU_ASSERT_EQUAL(wr(b.d0, 0, "/local/domain/7/data/a", "again"), 0);
	CU_ASSERT_EQUAL(xt_events_count(&b.evg, "/local/domain/7/data/a", "abs-token"), 1);
	CU_ASSERT_EQUAL(wr(b.d0, 0, "/local/domain/7/device/vif/0/state", "1"), 0);
	CU_ASSERT_EQUAL(xt_events_count(&b.evg, "device/vif/0/state", "rel-token"), 1);
	CU_ASSERT_EQUAL(xs_watch_add(b.g, "device", "rel-token"), -EEXIST);
	/* Special watches come back too (a guest may not read their events). */
	CU_ASSERT_EQUAL(xs_watch_add(b.g, "@releaseDomain", "rd-token"), -EEXIST);
	CU_ASSERT_EQUAL(xs_watch_remove(b.g, "@releaseDomain", "rd-token"), 0);

	/* The open transaction exists, and its commit asks for a retry. */
	CU_ASSERT(xs_tx_exists(b.g, tx));
	CU_ASSERT_EQUAL(xs_tx_end(b.g, tx, true), -EAGAIN);
	CU_ASSERT_FALSE(xs_tx_exists(b.g, tx));
	/* The retry gets a new id and commits. */
	CU_ASSERT_EQUAL(xs_tx_start(b.g, &tx2), 0);
	CU_ASSERT_NOT_EQUAL(tx2, tx);
	CU_ASSERT_EQUAL(wr(b.g, tx2, "data/c", "in-tx"), 0);
	CU_ASSERT_EQUAL(xs_tx_end(b.g, tx2, true), 0);
	CU_ASSERT_STRING_EQUAL(rd(b.d0, "/local/domain/7/data/c", x1, sizeof(x1)), "in-tx");

	state_writer_free(w);
	destroy(&a);
	destroy(&b);
	CU_ASSERT_EQUAL(xs_node_count(), 0);
}

/* Rewrites a stream with byte `off` of the first section's payload XORed
 * with x, keeping the CRCs right.  NULL once off is past the payload. */
static struct state_writer *flip(const uint8_t *p, size_t len, size_t off, uint8_t x)
{
	struct state_reader *r = state_reader_new_mem(p, len);
	struct state_writer *w = NULL;
	struct state_section s;

	CU_ASSERT_EQUAL_FATAL(state_reader_header(r), 0);
	CU_ASSERT_EQUAL_FATAL(state_reader_next(r, &s), 1);
	if (off < s.len) {
		uint8_t *copy = malloc(s.len);

		memcpy(copy, s.data, s.len);
		copy[off] ^= x;
		w = state_writer_new_mem("test");
		state_section_begin(w, s.id, s.version);
		state_put_bytes(w, copy, s.len);
		state_section_end(w);
		CU_ASSERT_EQUAL(state_writer_finish(w), 0);
		free(copy);
	}
	state_reader_free(r);
	return w;
}

/* Every payload byte flipped: refused with a message (and the store as it
 * was) or accepted, and the store is consistent either way. */
static void test_every_byte_corrupted(void)
{
	struct side a, b;
	struct state_writer *w, *m;
	const uint8_t *p, *q;
	size_t len, qlen, off;
	unsigned int refused = 0, tried = 0;
	char msg[STATE_ERR_MAX], v[64];
	struct log_capture cap;

	build(&a);
	use(&a);
	w = save(&a);
	p = state_writer_mem(w, &len);
	/* A broken tree is reported by xs_store_check's log lines: keep them. */
	CU_ASSERT_EQUAL_FATAL(log_capture_begin(&cap), 0);
	for (off = 0; (m = flip(p, len, off, 0x41)); off++) {
		q = state_writer_mem(m, &qlen);
		build(&b);
		tried++;
		if (load(&b, q, qlen, msg, sizeof(msg))) {
			refused++;
			CU_ASSERT(msg[0] != '\0');
			/* Refused: the fresh store is untouched. */
			CU_ASSERT_STRING_EQUAL(rd(b.d0, "/local/domain/7/data/a", v, sizeof(v)),
					       "<none>");
		}
		CU_ASSERT_EQUAL(xs_store_check(b.s), 0);
		destroy(&b);
		state_writer_free(m);
	}
	free(log_capture_end(&cap));
	fprintf(stderr, " [%u of %u refused] ", refused, tried);
	CU_ASSERT(tried > 1000);
	CU_ASSERT(refused > tried / 4);
	state_writer_free(w);
	destroy(&a);
	CU_ASSERT_EQUAL(xs_node_count(), 0);
}

static void test_client_mismatch(void)
{
	struct side a, b;
	struct state_writer *w;
	const uint8_t *p;
	size_t len;
	char msg[STATE_ERR_MAX];
	struct xs_client *g8;

	build(&a);
	use(&a);
	w = save(&a);
	p = state_writer_mem(w, &len);
	build(&b);
	g8 = b.g;
	b.g = xs_client_new(b.s, 8, false, NULL, NULL);
	CU_ASSERT_EQUAL(load(&b, p, len, msg, sizeof(msg)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "client of domain 7, restored into one of 8"));
	xs_client_free(b.g);
	b.g = g8;
	state_writer_free(w);
	destroy(&a);
	destroy(&b);
}

/* The guest's connection saved with a reply it could not take yet and a
 * request half read: after the restore the reply comes, and the rest of
 * the request completes it. */
static void test_connection(void)
{
	static struct xt_pipe pa, pb;
	struct xs_store *sa, *sb;
	struct xs_conn *ca, *cb;
	struct xs_client *clients[1];
	struct state_writer *w;
	struct state_reader *r;
	struct state_handler h[2];
	struct xs_state_load ctx;
	struct xt_msg m;
	uint8_t req[64];
	size_t n, off = 0, len;
	const uint8_t *p;

	memset(&pa, 0, sizeof(pa));
	memset(&pb, 0, sizeof(pb));
	sa = xs_store_new(NULL);
	sb = xs_store_new(NULL);
	CU_ASSERT_FATAL(sa && sb);
	CU_ASSERT_EQUAL(xs_domain_populate(sa, &di), 0);
	CU_ASSERT_EQUAL(xs_domain_populate(sb, &di), 0);
	ca = xs_conn_new(sa, DOMID, false, &xt_pipe_ops, &pa);
	cb = xs_conn_new(sb, DOMID, false, &xt_pipe_ops, &pb);
	CU_ASSERT_FATAL(ca && cb);

	pa.block_write = 1;
	xt_send(&pa, XS_WRITE, 1, 0, "data/x\0val", 10);
	CU_ASSERT(xs_conn_process(ca) >= 0);
	CU_ASSERT(xs_conn_want_write(ca));
	n = xt_encode(req, XS_READ, 2, 0, "data/x", 7);
	memcpy(pa.in + pa.in_len, req, 20);   /* header and 4 payload bytes */
	pa.in_len += 20;
	CU_ASSERT(xs_conn_process(ca) >= 0);
	CU_ASSERT_EQUAL(pa.in_off, pa.in_len);

	w = state_writer_new_mem("test");
	clients[0] = xs_conn_client(ca);
	CU_ASSERT_EQUAL(xs_store_save(sa, clients, 1, w), 0);
	xs_conn_state_save(ca, w);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	p = state_writer_mem(w, &len);

	clients[0] = xs_conn_client(cb);
	ctx = (struct xs_state_load){ sb, clients, 1 };
	xs_store_state_handler(&ctx, &h[0]);
	xs_conn_state_handler(cb, &h[1]);
	r = state_reader_new_mem(p, len);
	CU_ASSERT_EQUAL(state_reader_header(r), 0);
	CU_ASSERT_EQUAL(state_load(r, h, 2), 0);
	CU_ASSERT_STRING_EQUAL(state_reader_error(r), "");
	state_reader_free(r);
	CU_ASSERT_EQUAL(pb.kicks, 1);

	memcpy(pb.in, req + 20, n - 20);
	pb.in_len = n - 20;
	CU_ASSERT_EQUAL(xs_conn_process(cb), 1);
	CU_ASSERT_EQUAL_FATAL(xt_next(pb.out, pb.out_len, &off, &m), 1);
	CU_ASSERT_EQUAL(m.hdr.type, XS_WRITE);
	CU_ASSERT_EQUAL(m.hdr.req_id, 1);
	CU_ASSERT_EQUAL_FATAL(xt_next(pb.out, pb.out_len, &off, &m), 1);
	CU_ASSERT_EQUAL(m.hdr.type, XS_READ);
	CU_ASSERT_EQUAL(m.hdr.req_id, 2);
	CU_ASSERT_EQUAL(m.hdr.len, 3);
	CU_ASSERT_EQUAL(memcmp(m.data, "val", 3), 0);
	CU_ASSERT_EQUAL(xt_next(pb.out, pb.out_len, &off, &m), 0);

	/* A queued message whose header disagrees with its length is refused. */
	{
		struct state_reader *r2;
		struct state_section sec;
		struct state_writer *w2 = state_writer_new_mem("test");
		uint8_t *copy;

		r2 = state_reader_new_mem(p, len);
		state_reader_header(r2);
		while (state_reader_next(r2, &sec) == 1) {
			if (sec.id != XEN_STATE_XS_CONN)
				continue;
			copy = malloc(sec.len);
			memcpy(copy, sec.data, sec.len);
			copy[sec.len - 1 - 6] ^= 1;   /* the reply header's len field */
			state_section_begin(w2, sec.id, sec.version);
			state_put_bytes(w2, copy, sec.len);
			state_section_end(w2);
			free(copy);
		}
		state_writer_finish(w2);
		state_reader_free(r2);
		p = state_writer_mem(w2, &len);
		r2 = state_reader_new_mem(p, len);
		state_reader_header(r2);
		CU_ASSERT_EQUAL(state_load(r2, &h[1], 1), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r2), "header says"));
		state_reader_free(r2);
		state_writer_free(w2);
	}
	state_writer_free(w);
	xs_conn_free(ca);
	xs_conn_free(cb);
	xs_store_free(sa);
	xs_store_free(sb);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("xenstore_state", NULL, NULL);
	CU_add_test(s, "save, load into a fresh store, same behaviour", test_round_trip);
	CU_add_test(s, "every byte corrupted: refused or consistent", test_every_byte_corrupted);
	CU_add_test(s, "client mismatch refused", test_client_mismatch);
	CU_add_test(s, "connection: partial request and queued reply", test_connection);
	return cunit_run(CU_BRM_VERBOSE);
}
