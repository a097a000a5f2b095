/* XenStore engine: every operation, permission rule, transaction conflict,
 * watch rule and quota; domain population.  Each test frees its store and
 * asserts that no node record is left (xs_node_count). */
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
static struct xs_client *d0, *d1, *d2;
static struct xt_events ev0, ev1, ev2;
static struct xs_buf b;

static void setup_q(const struct xs_quota *q)
{
	memset(&ev0, 0, sizeof(ev0));
	memset(&ev1, 0, sizeof(ev1));
	memset(&ev2, 0, sizeof(ev2));
	s = xs_store_new(q);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	d0 = xs_client_new(s, 0, true, xt_event_cb, &ev0);
	d1 = xs_client_new(s, 1, false, xt_event_cb, &ev1);
	d2 = xs_client_new(s, 2, false, xt_event_cb, &ev2);
	CU_ASSERT_FATAL(d0 && d1 && d2);
	b.len = 0;
}

static void setup(void)
{
	setup_q(NULL);
}

/* The store must be consistent, and after freeing it no record survives. */
static void teardown(void)
{
	CU_ASSERT_EQUAL(xs_store_check(s), 0);
	xs_client_free(d0);
	xs_client_free(d1);
	xs_client_free(d2);
	xs_store_free(s);
	xs_buf_free(&b);
	CU_ASSERT_EQUAL(xs_node_count(), 0);
}

static int rd(struct xs_client *c, uint32_t t, const char *path)
{
	b.len = 0;
	return xs_store_read(c, t, path, &b);
}

static int wr(struct xs_client *c, uint32_t t, const char *path, const char *val)
{
	return xs_store_write(c, t, path, val, strlen(val));
}

static int setp(struct xs_client *c, const char *path, const char *spec)
{
	char buf[128];
	size_t n = strlen(spec) + 1, i;
	struct xs_perm *p;
	unsigned int nr;
	int rc;

	/* "n1,r2" -> "n1\0r2\0" */
	memcpy(buf, spec, n);
	for (i = 0; i < n; i++)
		if (buf[i] == ',')
			buf[i] = 0;
	rc = xs_perms_parse(buf, n, &p, &nr);
	if (rc)
		return rc;
	rc = xs_store_set_perms(c, 0, path, p, nr);
	free(p);
	return rc;
}

static const char *perms_of(const char *path)
{
	static char out[128];
	size_t i;

	b.len = 0;
	if (xs_store_get_perms(d0, 0, path, &b))
		return "?";
	for (i = 0; i < b.len && i < sizeof(out) - 1; i++)
		out[i] = b.data[i] ? b.data[i] : ',';
	out[i ? i - 1 : 0] = 0;
	return out;
}

/* ---- basic operations ------------------------------------------------------ */

static void test_read_write_dir(void)
{
	setup();
	CU_ASSERT_EQUAL(rd(d0, 0, "/a/b"), -ENOENT);
	CU_ASSERT_EQUAL(wr(d0, 0, "/a/b/c", "hello"), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/a/b/c"), 0);
	CU_ASSERT_EQUAL(b.len, 5);
	CU_ASSERT_NSTRING_EQUAL(b.data, "hello", 5);
	CU_ASSERT_EQUAL(rd(d0, 0, "/a/b"), 0);   /* implicit parents are empty */
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(wr(d0, 0, "/a/b/c", "x"), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/a/b/c"), 0);
	CU_ASSERT_EQUAL(b.len, 1);
	/* binary values with NULs survive */
	CU_ASSERT_EQUAL(xs_store_write(d0, 0, "/bin", "a\0b", 3), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/bin"), 0);
	CU_ASSERT_EQUAL(b.len, 3);
	CU_ASSERT_EQUAL(memcmp(b.data, "a\0b", 3), 0);
	/* children in creation order */
	CU_ASSERT_EQUAL(wr(d0, 0, "/a/z", ""), 0);
	CU_ASSERT_EQUAL(wr(d0, 0, "/a/m", ""), 0);
	b.len = 0;
	CU_ASSERT_EQUAL(xs_store_directory(d0, 0, "/a", &b), 0);
	CU_ASSERT_EQUAL(b.len, 6);
	CU_ASSERT_EQUAL(memcmp(b.data, "b\0z\0m\0", 6), 0);
	b.len = 0;
	CU_ASSERT_EQUAL(xs_store_directory(d0, 0, "/", &b), 0);
	CU_ASSERT_EQUAL(memcmp(b.data, "tool\0a\0bin\0", 11), 0);
	b.len = 0;
	CU_ASSERT_EQUAL(xs_store_directory(d0, 0, "/nope", &b), -ENOENT);
	teardown();
}

static void test_mkdir_rm(void)
{
	setup();
	CU_ASSERT_EQUAL(wr(d0, 0, "/m", "keep"), 0);
	CU_ASSERT_EQUAL(xs_store_mkdir(d0, 0, "/m"), 0);        /* exists: unchanged */
	CU_ASSERT_EQUAL(rd(d0, 0, "/m"), 0);
	CU_ASSERT_EQUAL(b.len, 4);
	CU_ASSERT_EQUAL(xs_store_mkdir(d0, 0, "/m/n/o"), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/m/n/o"), 0);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(xs_store_rm(d0, 0, "/m/n"), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/m/n/o"), -ENOENT);
	CU_ASSERT_EQUAL(rd(d0, 0, "/m/n"), -ENOENT);
	CU_ASSERT_EQUAL(xs_store_rm(d0, 0, "/m/n"), 0);         /* gone, parent exists */
	CU_ASSERT_EQUAL(xs_store_rm(d0, 0, "/m/n/o"), -ENOENT); /* parent gone too */
	CU_ASSERT_EQUAL(xs_store_rm(d0, 0, "/"), -EINVAL);
	b.len = 0;
	CU_ASSERT_EQUAL(xs_store_directory(d0, 0, "/m", &b), 0);
	CU_ASSERT_EQUAL(b.len, 0);
	teardown();
}

static void test_paths(void)
{
	char longp[3200];
	size_t i;

	setup();
	CU_ASSERT_EQUAL(wr(d0, 0, "", "x"), -EINVAL);
	CU_ASSERT_EQUAL(wr(d0, 0, "/a/", "x"), -EINVAL);
	CU_ASSERT_EQUAL(wr(d0, 0, "/a//b", "x"), -EINVAL);
	CU_ASSERT_EQUAL(wr(d0, 0, "/a b", "x"), -EINVAL);
	CU_ASSERT_EQUAL(wr(d0, 0, "/a.b", "x"), -EINVAL);
	CU_ASSERT_EQUAL(wr(d0, 0, "@foo", "x"), -EINVAL);
	CU_ASSERT_EQUAL(rd(d0, 0, "@releaseDomain"), -EINVAL);
	CU_ASSERT_EQUAL(wr(d0, 0, "/A-z_0@9", "ok"), 0);
	/* relative paths live under the caller's home */
	CU_ASSERT_EQUAL(wr(d0, 0, "/local/domain/1/x", "1"), 0);
	CU_ASSERT_EQUAL(setp(d0, "/local/domain/1", "n1"), 0);
	CU_ASSERT_EQUAL(rd(d1, 0, "x"), -EACCES);  /* x kept the n0 it inherited */
	CU_ASSERT_EQUAL(setp(d0, "/local/domain/1/x", "n1"), 0);
	CU_ASSERT_EQUAL(rd(d1, 0, "x"), 0);
	CU_ASSERT_EQUAL(b.len, 1);
	CU_ASSERT_EQUAL(wr(d0, 0, "y", "0"), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/0/y"), 0);
	/* path length: 2048 below the home directory for guests, 3072 absolute */
	memset(longp, 'a', sizeof(longp));
	for (i = 1; i < 2048; i += 64)
		longp[i] = '/';
	longp[2048] = 0;
	longp[0] = 'a';
	CU_ASSERT_EQUAL(wr(d1, 0, longp, ""), 0);
	longp[2048] = 'b';
	longp[2049] = 0;
	CU_ASSERT_EQUAL(wr(d1, 0, longp, ""), -EINVAL);
	longp[0] = '/';
	longp[1] = 'b';
	longp[3073] = 0;
	for (i = 2049; i < 3073; i++)
		longp[i] = (i % 64) ? 'c' : '/';
	CU_ASSERT_EQUAL(wr(d0, 0, longp, ""), -EINVAL);
	longp[3072] = 0;
	CU_ASSERT_EQUAL(wr(d0, 0, longp, ""), 0);
	teardown();
}

/* ---- permissions ------------------------------------------------------------ */

static void test_perms_basic(void)
{
	setup();
	/* root is n0: guests can neither read nor create at the top */
	CU_ASSERT_STRING_EQUAL(perms_of("/"), "n0");
	CU_ASSERT_EQUAL(rd(d1, 0, "/tool"), -EACCES);
	CU_ASSERT_EQUAL(wr(d1, 0, "/x", "1"), -EACCES);
	/* a missing node under an unreadable parent is EACCES, not ENOENT */
	CU_ASSERT_EQUAL(rd(d1, 0, "/nothing/here"), -EACCES);

	CU_ASSERT_EQUAL(wr(d0, 0, "/p", ""), 0);
	CU_ASSERT_EQUAL(setp(d0, "/p", "n0,r1,w2"), 0);
	CU_ASSERT_STRING_EQUAL(perms_of("/p"), "n0,r1,w2");
	CU_ASSERT_EQUAL(rd(d1, 0, "/p"), 0);
	CU_ASSERT_EQUAL(wr(d1, 0, "/p", "x"), -EACCES);
	CU_ASSERT_EQUAL(rd(d2, 0, "/p"), -EACCES);
	CU_ASSERT_EQUAL(wr(d2, 0, "/p", "x"), 0);
	CU_ASSERT_EQUAL(rd(d1, 0, "/p/missing"), -ENOENT); /* parent readable: the truth */
	/* creation needs write on the nearest existing ancestor */
	CU_ASSERT_EQUAL(wr(d1, 0, "/p/c1", "x"), -EACCES);
	CU_ASSERT_EQUAL(wr(d2, 0, "/p/q/r", "x"), 0);
	/* an unprivileged creator owns what it creates, with the parent's other entries */
	CU_ASSERT_STRING_EQUAL(perms_of("/p/q"), "n2,r1,w2");
	CU_ASSERT_STRING_EQUAL(perms_of("/p/q/r"), "n2,r1,w2");
	CU_ASSERT_EQUAL(rd(d2, 0, "/p/q/r"), 0); /* owner reads whatever perms[0] says */
	/* dom0 creations inherit unchanged */
	CU_ASSERT_EQUAL(wr(d0, 0, "/p/d0", ""), 0);
	CU_ASSERT_STRING_EQUAL(perms_of("/p/d0"), "n0,r1,w2");
	/* b = both */
	CU_ASSERT_EQUAL(setp(d0, "/p/d0", "n0,b1"), 0);
	CU_ASSERT_EQUAL(rd(d1, 0, "/p/d0"), 0);
	CU_ASSERT_EQUAL(wr(d1, 0, "/p/d0", "v"), 0);
	/* perms[0]'s access applies to everybody not listed */
	CU_ASSERT_EQUAL(setp(d0, "/p/d0", "r0"), 0);
	CU_ASSERT_EQUAL(rd(d2, 0, "/p/d0"), 0);
	CU_ASSERT_EQUAL(wr(d2, 0, "/p/d0", "v"), -EACCES);
	teardown();
}

static void test_set_perms_rules(void)
{
	struct xs_perm bad = { 70000, XS_P_READ };
	struct xs_perm *p;
	unsigned int nr;

	setup();
	CU_ASSERT_EQUAL(wr(d0, 0, "/o", ""), 0);
	CU_ASSERT_EQUAL(setp(d0, "/o", "b1"), 0);             /* d1 owns it */
	CU_ASSERT_EQUAL(setp(d2, "/o", "n2"), -EACCES);        /* not owner */
	CU_ASSERT_EQUAL(setp(d1, "/o", "n2"), -EPERM);         /* owner may not give it away */
	CU_ASSERT_EQUAL(setp(d1, "/o", "n1,r2"), 0);
	CU_ASSERT_STRING_EQUAL(perms_of("/o"), "n1,r2");
	CU_ASSERT_EQUAL(setp(d1, "/o", "n1,r2,r3,r4,r5,r6"), -ENOSPC); /* 6 > 5 */
	CU_ASSERT_EQUAL(setp(d0, "/o", "n1,r2,r3,r4,r5,r6"), 0);     /* dom0 exempt */
	CU_ASSERT_EQUAL(setp(d0, "/o", "x1"), -EINVAL);
	CU_ASSERT_EQUAL(setp(d0, "/o", "r"), -EINVAL);
	CU_ASSERT_EQUAL(setp(d0, "/o", "r65536"), -EINVAL);
	CU_ASSERT_EQUAL(setp(d0, "/o", "r1x"), -EINVAL);
	CU_ASSERT_EQUAL(xs_store_set_perms(d0, 0, "/o", &bad, 1), -EINVAL);
	CU_ASSERT_EQUAL(xs_perms_parse("", 1, &p, &nr), -EINVAL);
	CU_ASSERT_EQUAL(xs_perms_parse("r1\0w2", 5, &p, &nr), 0); /* trailing bytes ignored */
	CU_ASSERT_EQUAL(nr, 1);
	free(p);
	/* special nodes carry the special watches' permissions */
	CU_ASSERT_STRING_EQUAL(perms_of("@releaseDomain"), "n0");
	CU_ASSERT_EQUAL(setp(d0, "@releaseDomain", "n0,r1"), 0);
	CU_ASSERT_STRING_EQUAL(perms_of("@releaseDomain"), "n0,r1");
	teardown();
}

static void test_target_and_release(void)
{
	setup();
	CU_ASSERT_EQUAL(wr(d0, 0, "/t/x", "v"), 0);
	CU_ASSERT_EQUAL(setp(d0, "/t", "n2"), 0);
	CU_ASSERT_EQUAL(setp(d0, "/t/x", "n0,r2"), 0);
	CU_ASSERT_EQUAL(rd(d1, 0, "/t/x"), -EACCES);
	CU_ASSERT_EQUAL(xs_store_set_target(s, 1, 2), -ENOENT);  /* not introduced */
	CU_ASSERT_EQUAL(xs_store_introduce(s, 1), 0);
	CU_ASSERT_EQUAL(xs_store_introduce(s, 2), 0);
	CU_ASSERT_EQUAL(xs_store_set_target(s, 1, 2), 0);
	/* d1 now acts as d2: owner rights on d2's node, d2's entries elsewhere */
	CU_ASSERT_EQUAL(wr(d1, 0, "/t", "w"), 0);
	CU_ASSERT_EQUAL(rd(d1, 0, "/t/x"), 0);
	/* releasing d2: its nodes become dom0's, entries naming it are ignored */
	CU_ASSERT_EQUAL(xs_store_domain_nodes(s, 2), 1);
	CU_ASSERT_EQUAL(xs_store_release(s, 2), 0);
	CU_ASSERT_EQUAL(xs_store_release(s, 2), -ENOENT);
	CU_ASSERT_EQUAL(xs_store_domain_nodes(s, 2), 0);
	CU_ASSERT_STRING_EQUAL(perms_of("/t"), "n0");
	CU_ASSERT_EQUAL(rd(d2, 0, "/t/x"), -EACCES);
	CU_ASSERT_EQUAL(rd(d1, 0, "/t/x"), -EACCES);           /* target link gone */
	CU_ASSERT_EQUAL(xs_store_introduce(s, 0), -EINVAL);
	CU_ASSERT_EQUAL(xs_store_release(s, 0), -EINVAL);
	CU_ASSERT(xs_store_is_introduced(s, 0));
	CU_ASSERT(xs_store_is_introduced(s, 1));
	CU_ASSERT(!xs_store_is_introduced(s, 2));
	CU_ASSERT_EQUAL(xs_store_resume(s, 1), 0);
	CU_ASSERT_EQUAL(xs_store_resume(s, 2), -ENOENT);
	teardown();
}

/* ---- transactions ------------------------------------------------------------ */

static void test_tx_basic(void)
{
	uint32_t t;

	setup();
	CU_ASSERT_EQUAL(wr(d0, 0, "/a", "1"), 0);
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t), 0);
	CU_ASSERT_NOT_EQUAL(t, 0);
	CU_ASSERT_EQUAL(wr(d0, t, "/a", "2"), 0);
	CU_ASSERT_EQUAL(wr(d0, t, "/n/m", "new"), 0);
	CU_ASSERT_EQUAL(rd(d0, t, "/a"), 0);            /* own writes visible inside */
	CU_ASSERT_NSTRING_EQUAL(b.data, "2", 1);
	CU_ASSERT_EQUAL(rd(d0, 0, "/a"), 0);            /* not outside */
	CU_ASSERT_NSTRING_EQUAL(b.data, "1", 1);
	CU_ASSERT_EQUAL(rd(d0, 0, "/n/m"), -ENOENT);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t, true), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/a"), 0);
	CU_ASSERT_NSTRING_EQUAL(b.data, "2", 1);
	CU_ASSERT_EQUAL(rd(d0, 0, "/n/m"), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t, true), -ENOENT); /* id is gone */
	CU_ASSERT_EQUAL(rd(d0, t, "/a"), -ENOENT);

	/* abort discards, including removals */
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t), 0);
	CU_ASSERT_EQUAL(xs_store_rm(d0, t, "/n"), 0);
	CU_ASSERT_EQUAL(rd(d0, t, "/n/m"), -ENOENT);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t, false), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/n/m"), 0);

	/* rm committed */
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t), 0);
	CU_ASSERT_EQUAL(xs_store_rm(d0, t, "/n"), 0);
	CU_ASSERT_EQUAL(wr(d0, t, "/n", "again"), 0);  /* recreate inside */
	CU_ASSERT_EQUAL(xs_tx_end(d0, t, true), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/n/m"), -ENOENT);
	CU_ASSERT_EQUAL(rd(d0, 0, "/n"), 0);
	CU_ASSERT_NSTRING_EQUAL(b.data, "again", 5);
	/* another client's transaction ids are not ours */
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t), 0);
	CU_ASSERT_EQUAL(rd(d1, t, "/n"), -ENOENT);
	CU_ASSERT(!xs_tx_exists(d1, t));
	CU_ASSERT_EQUAL(xs_tx_end(d0, t, false), 0);
	teardown();
}

static void test_tx_conflicts(void)
{
	uint32_t t1, t2;

	setup();
	CU_ASSERT_EQUAL(wr(d0, 0, "/a", "1"), 0);
	CU_ASSERT_EQUAL(wr(d0, 0, "/b", "1"), 0);

	/* read set changed by a plain write -> EAGAIN, nothing applied */
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t1), 0);
	CU_ASSERT_EQUAL(rd(d0, t1, "/a"), 0);
	CU_ASSERT_EQUAL(wr(d0, t1, "/b", "t1"), 0);
	CU_ASSERT_EQUAL(wr(d0, 0, "/a", "2"), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t1, true), -EAGAIN);
	CU_ASSERT_EQUAL(rd(d0, 0, "/b"), 0);
	CU_ASSERT_NSTRING_EQUAL(b.data, "1", 1);

	/* disjoint transactions both commit */
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t1), 0);
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t2), 0);
	CU_ASSERT_EQUAL(wr(d0, t1, "/a", "x"), 0);
	CU_ASSERT_EQUAL(wr(d0, t2, "/b", "y"), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t2, true), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t1, true), 0);

	/* write/write on the same node: the second committer loses */
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t1), 0);
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t2), 0);
	CU_ASSERT_EQUAL(wr(d0, t1, "/a", "1"), 0);
	CU_ASSERT_EQUAL(wr(d0, t2, "/a", "2"), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t1, true), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t2, true), -EAGAIN);
	CU_ASSERT_EQUAL(rd(d0, 0, "/a"), 0);
	CU_ASSERT_NSTRING_EQUAL(b.data, "1", 1);

	/* a node seen as absent, created meanwhile */
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t1), 0);
	CU_ASSERT_EQUAL(rd(d0, t1, "/new"), -ENOENT);
	CU_ASSERT_EQUAL(wr(d0, 0, "/new", "x"), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t1, true), -EAGAIN);

	/* a node read, then deleted and recreated with the same value */
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t1), 0);
	CU_ASSERT_EQUAL(rd(d0, t1, "/new"), 0);
	CU_ASSERT_EQUAL(xs_store_rm(d0, 0, "/new"), 0);
	CU_ASSERT_EQUAL(wr(d0, 0, "/new", "x"), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t1, true), -EAGAIN);

	/* siblings created concurrently: both rewrite the parent -> conflict */
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t1), 0);
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t2), 0);
	CU_ASSERT_EQUAL(wr(d0, t1, "/dir/x", "1"), 0);
	CU_ASSERT_EQUAL(wr(d0, t2, "/dir/y", "1"), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t1, true), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t2, true), -EAGAIN);

	/* a child added under a subtree the transaction removes */
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t1), 0);
	CU_ASSERT_EQUAL(xs_store_rm(d0, t1, "/dir"), 0);
	CU_ASSERT_EQUAL(wr(d0, 0, "/dir/x/deeper", "1"), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t1, true), -EAGAIN);
	CU_ASSERT_EQUAL(rd(d0, 0, "/dir/x/deeper"), 0);

	/* a read-only transaction still validates its reads */
	CU_ASSERT_EQUAL(xs_tx_start(d0, &t1), 0);
	CU_ASSERT_EQUAL(rd(d0, t1, "/b"), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d0, t1, true), 0);
	teardown();
}

static void test_tx_quota_and_watches(void)
{
	struct xs_quota q;
	uint32_t t[11], tx;
	unsigned int i;
	char p[32];

	xs_quota_default(&q);
	q.nodes_per_transaction = 8;
	setup_q(&q);
	CU_ASSERT_EQUAL(wr(d0, 0, "/local/domain/1/h", ""), 0);
	CU_ASSERT_EQUAL(setp(d0, "/local/domain/1", "n1"), 0);
	CU_ASSERT_EQUAL(setp(d0, "/local/domain/1/h", "n1"), 0);
	for (i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(xs_tx_start(d1, &t[i]), 0);
	CU_ASSERT_EQUAL(xs_tx_start(d1, &t[10]), -ENOSPC);
	CU_ASSERT_EQUAL(xs_tx_start(d0, &tx), 0);          /* dom0 has no limit */
	CU_ASSERT_EQUAL(xs_tx_end(d0, tx, false), 0);
	/* nodes touched per transaction */
	for (i = 0; i < 10; i++) {
		snprintf(p, sizeof(p), "n%u", i);
		if (wr(d1, t[0], p, "x"))
			break;
	}
	CU_ASSERT(i < 10);
	CU_ASSERT_EQUAL(wr(d1, t[0], "more", "x"), -ENOSPC);
	for (i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(xs_tx_end(d1, t[i], false), 0);

	/* watches fire at commit, not before, and not on abort */
	CU_ASSERT_EQUAL(xs_watch_add(d1, "h", "tok"), 0);
	CU_ASSERT_EQUAL(xs_tx_start(d1, &tx), 0);
	CU_ASSERT_EQUAL(wr(d1, tx, "h/x", "1"), 0);
	CU_ASSERT_EQUAL(ev1.n, 0);
	CU_ASSERT_EQUAL(xs_tx_end(d1, tx, true), 0);
	CU_ASSERT_EQUAL(ev1.n, 1);
	CU_ASSERT_EQUAL(xt_events_count(&ev1, "h/x", "tok"), 1);
	CU_ASSERT_EQUAL(xs_tx_start(d1, &tx), 0);
	CU_ASSERT_EQUAL(wr(d1, tx, "h/y", "1"), 0);
	CU_ASSERT_EQUAL(xs_tx_end(d1, tx, false), 0);
	CU_ASSERT_EQUAL(ev1.n, 1);
	/* XS_RESET_WATCHES drops transactions too */
	CU_ASSERT_EQUAL(xs_tx_start(d1, &tx), 0);
	xs_client_reset(d1);
	CU_ASSERT(!xs_tx_exists(d1, tx));
	CU_ASSERT_EQUAL(wr(d1, 0, "h/z", "1"), 0);
	CU_ASSERT_EQUAL(ev1.n, 1);
	teardown();
}

/* ---- watches ------------------------------------------------------------------ */

static void test_watch_rules(void)
{
	setup();
	CU_ASSERT_EQUAL(xs_watch_add(d0, "/w", "t1"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(d0, "/w", "t1"), -EEXIST);
	CU_ASSERT_EQUAL(xs_watch_add(d0, "/w", "t2"), 0);       /* same path, new token */
	CU_ASSERT_EQUAL(xs_watch_add(d0, "/w/", "t"), -EINVAL);
	xs_watch_fire_initial(d0, "/w", "t1");
	CU_ASSERT_EQUAL(xt_events_count(&ev0, "/w", "t1"), 1);
	ev0.n = 0;
	CU_ASSERT_EQUAL(wr(d0, 0, "/w/a/b", "1"), 0);           /* descendant */
	CU_ASSERT_EQUAL(xt_events_count(&ev0, "/w/a/b", "t1"), 1);
	CU_ASSERT_EQUAL(xt_events_count(&ev0, "/w/a/b", "t2"), 1);
	ev0.n = 0;
	CU_ASSERT_EQUAL(wr(d0, 0, "/wx", "1"), 0);              /* not a child of /w */
	CU_ASSERT_EQUAL(wr(d0, 0, "/", ""), 0);                 /* an ancestor */
	CU_ASSERT_EQUAL(ev0.n, 0);
	CU_ASSERT_EQUAL(xs_watch_remove(d0, "/w", "t2"), 0);
	CU_ASSERT_EQUAL(xs_watch_remove(d0, "/w", "t2"), -ENOENT);

	/* rm of a subtree: the root's watchers see the root, watchers of
	 * removed descendants see their own path */
	CU_ASSERT_EQUAL(xs_watch_add(d0, "/w/a/b", "deep"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(d0, "/w/a/nonexistent", "ghost"), 0);
	ev0.n = 0;
	CU_ASSERT_EQUAL(xs_store_rm(d0, 0, "/w/a"), 0);
	CU_ASSERT_EQUAL(xt_events_count(&ev0, "/w/a", "t1"), 1);
	CU_ASSERT_EQUAL(xt_events_count(&ev0, "/w/a/b", "deep"), 1);
	CU_ASSERT_EQUAL(xt_events_count(&ev0, "/w/a/b", "t1"), 0);   /* exact only */
	CU_ASSERT_EQUAL(ev0.n, 2);
	/* mkdir of an existing node is silent; set_perms fires */
	ev0.n = 0;
	CU_ASSERT_EQUAL(xs_store_mkdir(d0, 0, "/w"), 0);
	CU_ASSERT_EQUAL(ev0.n, 0);
	CU_ASSERT_EQUAL(setp(d0, "/w", "n0"), 0);
	CU_ASSERT_EQUAL(xt_events_count(&ev0, "/w", "t1"), 1);
	/* watch on / sees everything */
	CU_ASSERT_EQUAL(xs_watch_add(d2, "/", "all"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(d2, "/", "all"), -EEXIST);
	teardown();
}

static void test_watch_relative_and_special(void)
{
	struct xs_quota q;
	unsigned int i;
	char tok[16];

	xs_quota_default(&q);
	setup_q(&q);
	CU_ASSERT_EQUAL(wr(d0, 0, "/local/domain/1/device", ""), 0);
	CU_ASSERT_EQUAL(setp(d0, "/local/domain/1", "n1"), 0);
	CU_ASSERT_EQUAL(setp(d0, "/local/domain/1/device", "n1"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(d1, "device", "rel"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(d1, "/local/domain/1/device", "abs"), 0);
	xs_watch_fire_initial(d1, "device", "rel");
	CU_ASSERT_EQUAL(xt_events_count(&ev1, "device", "rel"), 1);
	CU_ASSERT_EQUAL(wr(d0, 0, "/local/domain/1/device/vbd/768", "x"), 0);
	CU_ASSERT_EQUAL(xt_events_count(&ev1, "device/vbd/768", "rel"), 1);
	CU_ASSERT_EQUAL(xt_events_count(&ev1, "/local/domain/1/device/vbd/768", "abs"), 1);
	CU_ASSERT_EQUAL(xs_watch_remove(d1, "device", "rel"), 0);

	/* special events: dom0 by default; others once the special node says so */
	CU_ASSERT_EQUAL(xs_watch_add(d0, "@introduceDomain", "i"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(d0, "@releaseDomain", "r"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(d2, "@releaseDomain", "r2"), 0);
	CU_ASSERT_EQUAL(xs_store_introduce(s, 5), 0);
	CU_ASSERT_EQUAL(xs_store_introduce(s, 5), 0);           /* once */
	CU_ASSERT_EQUAL(xt_events_count(&ev0, "@introduceDomain", "i"), 1);
	CU_ASSERT_EQUAL(xs_store_release(s, 5), 0);
	CU_ASSERT_EQUAL(xt_events_count(&ev0, "@releaseDomain", "r"), 1);
	CU_ASSERT_EQUAL(xt_events_count(&ev2, "@releaseDomain", "r2"), 0);
	CU_ASSERT_EQUAL(setp(d0, "@releaseDomain", "n0,r2"), 0);
	ev2.n = 0;
	CU_ASSERT_EQUAL(xs_store_introduce(s, 5), 0);
	xs_store_domain_shutdown(s, 5);
	xs_store_domain_shutdown(s, 5);                          /* once per shutdown */
	CU_ASSERT_EQUAL(xt_events_count(&ev2, "@releaseDomain", "r2"), 1);
	CU_ASSERT_EQUAL(xs_store_resume(s, 5), 0);
	xs_store_domain_shutdown(s, 5);
	CU_ASSERT_EQUAL(xt_events_count(&ev2, "@releaseDomain", "r2"), 2);

	/* 128 watches per connection for guests */
	for (i = 0; i < 128; i++) {
		snprintf(tok, sizeof(tok), "t%u", i);
		if (xs_watch_add(d2, "/x", tok))
			break;
	}
	CU_ASSERT_EQUAL(i, 127); /* one slot went to @releaseDomain above */
	CU_ASSERT_EQUAL(xs_watch_add(d2, "/y", "more"), -E2BIG);
	xs_client_reset(d2);
	CU_ASSERT_EQUAL(xs_watch_add(d2, "/y", "more"), 0);
	teardown();
}

static void test_watch_permissions(void)
{
	setup();
	CU_ASSERT_EQUAL(wr(d0, 0, "/sec/node", "1"), 0);
	CU_ASSERT_EQUAL(setp(d0, "/sec", "n0,r1"), 0);
	CU_ASSERT_EQUAL(setp(d0, "/sec/node", "n0"), 0);
	CU_ASSERT_EQUAL(wr(d0, 0, "/sec/node/kid", "1"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(d1, "/sec", "w1"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(d2, "/sec", "w2"), 0);
	ev1.n = ev2.n = 0;
	/* unreadable node but readable parent: d1 hears; d2 reads neither */
	CU_ASSERT_EQUAL(wr(d0, 0, "/sec/node", "2"), 0);
	CU_ASSERT_EQUAL(xt_events_count(&ev1, "/sec/node", "w1"), 1);
	CU_ASSERT_EQUAL(ev2.n, 0);
	/* node and parent unreadable: nobody but dom0 hears */
	CU_ASSERT_EQUAL(wr(d0, 0, "/sec/node/kid", "2"), 0);
	CU_ASSERT_EQUAL(ev1.n, 1);
	/* losing access still tells the watcher */
	CU_ASSERT_EQUAL(setp(d0, "/sec", "n0,r2"), 0);
	CU_ASSERT_EQUAL(xt_events_count(&ev1, "/sec", "w1"), 1);
	CU_ASSERT_EQUAL(xt_events_count(&ev2, "/sec", "w2"), 1);
	teardown();
}

/* ---- quotas --------------------------------------------------------------------- */

static void test_quotas(void)
{
	struct xs_quota q;
	char p[64], big[2100];
	unsigned int i;
	uint32_t t;

	xs_quota_default(&q);
	CU_ASSERT_EQUAL(q.nodes_per_domain, 1000);
	CU_ASSERT_EQUAL(q.node_size, 2048);
	CU_ASSERT_EQUAL(q.watches_per_conn, 128);
	CU_ASSERT_EQUAL(q.transactions_per_conn, 10);
	CU_ASSERT_EQUAL(q.outstanding_per_conn, 20);
	CU_ASSERT_EQUAL(q.perms_per_node, 5);
	CU_ASSERT_EQUAL(xs_quota_set(&q, "nodes=20"), 0);
	CU_ASSERT_EQUAL(q.nodes_per_domain, 20);
	CU_ASSERT_EQUAL(xs_quota_set(&q, "nodes=x"), -EINVAL);
	CU_ASSERT_EQUAL(xs_quota_set(&q, "bogus=1"), -EINVAL);
	CU_ASSERT_EQUAL(xs_quota_set(&q, "nodes"), -EINVAL);
	/* no assignment removes a bound: 0 ("no limit") and an output cap
	 * too large to bound anything are refused, the old value stays */
	CU_ASSERT_EQUAL(xs_quota_set(&q, "nodes=0"), -EINVAL);
	CU_ASSERT_EQUAL(xs_quota_set(&q, "watches=0"), -EINVAL);
	CU_ASSERT_EQUAL(xs_quota_set(&q, "output-bytes=0"), -EINVAL);
	CU_ASSERT_EQUAL(xs_quota_set(&q, "output-bytes=4294967295"), -EINVAL);
	CU_ASSERT_EQUAL(q.nodes_per_domain, 20);
	CU_ASSERT_EQUAL(q.watches_per_conn, 128);
	CU_ASSERT_EQUAL(q.out_queue_bytes, 1u << 20);
	CU_ASSERT_EQUAL(xs_quota_set(&q, "output-bytes=67108864"), 0);
	CU_ASSERT_EQUAL(q.out_queue_bytes, 64u << 20);
	CU_ASSERT_EQUAL(xs_quota_set(&q, "output-bytes=1048576"), 0);
	setup_q(&q);
	CU_ASSERT_EQUAL(xs_store_mkdir(d0, 0, "/local/domain/1"), 0);
	CU_ASSERT_EQUAL(setp(d0, "/local/domain/1", "n1"), 0);
	CU_ASSERT_EQUAL(xs_store_domain_nodes(s, 1), 1);
	for (i = 0; i < 30; i++) {
		snprintf(p, sizeof(p), "n%u", i);
		if (wr(d1, 0, p, "x"))
			break;
	}
	CU_ASSERT_EQUAL(i, 19);
	CU_ASSERT_EQUAL(xs_store_domain_nodes(s, 1), 20);
	CU_ASSERT_EQUAL(wr(d1, 0, "n0", "overwrite is fine"), 0);
	CU_ASSERT_EQUAL(xs_store_mkdir(d1, 0, "a/b"), -ENOSPC);   /* all-or-nothing */
	CU_ASSERT_EQUAL(rd(d1, 0, "a"), -ENOENT);
	CU_ASSERT_EQUAL(xs_store_rm(d1, 0, "n0"), 0);
	CU_ASSERT_EQUAL(wr(d1, 0, "again", "x"), 0);
	/* in a transaction the count includes its own creations */
	CU_ASSERT_EQUAL(xs_store_rm(d1, 0, "again"), 0);
	CU_ASSERT_EQUAL(xs_tx_start(d1, &t), 0);
	CU_ASSERT_EQUAL(wr(d1, t, "t1", "x"), 0);
	CU_ASSERT_EQUAL(wr(d1, t, "t2", "x"), -ENOSPC);
	CU_ASSERT_EQUAL(xs_tx_end(d1, t, true), 0);
	CU_ASSERT_EQUAL(xs_store_domain_nodes(s, 1), 20);
	/* node size: 12 + 8 per permission + data + children names < 2048 */
	memset(big, 'v', sizeof(big));
	CU_ASSERT_EQUAL(xs_store_write(d1, 0, "n1", big, 2048 - 12 - 8 - 1), 0);
	CU_ASSERT_EQUAL(xs_store_write(d1, 0, "n1", big, 2048 - 12 - 8), -ENOSPC);
	CU_ASSERT_EQUAL(xs_store_write(d0, 0, "/local/domain/1/n1", big, 2100), 0);
	/* dom0 is exempt from the node count */
	for (i = 0; i < 30; i++) {
		snprintf(p, sizeof(p), "/d0/%u", i);
		CU_ASSERT_EQUAL(wr(d0, 0, p, "x"), 0);
	}
	teardown();
}

static void test_directory_part(void)
{
	struct xs_buf all = { 0 }, part = { 0 };
	char p[64], gen[32];
	unsigned long off = 0;
	unsigned int i;
	size_t gl;

	setup();
	for (i = 0; i < 600; i++) {
		snprintf(p, sizeof(p), "/big/child-with-a-long-name-%04u", i);
		CU_ASSERT_EQUAL(wr(d0, 0, p, ""), 0);
	}
	CU_ASSERT_EQUAL(xs_store_directory(d0, 0, "/big", &all), 0);
	CU_ASSERT(all.len > 4096);
	/* reassemble the list chunk by chunk; the generation stays the same */
	gen[0] = 0;
	for (i = 0; i < 20; i++) {
		part.len = 0;
		CU_ASSERT_EQUAL_FATAL(xs_store_directory_part(d0, 0, "/big", off, &part), 0);
		CU_ASSERT(part.len <= 4096);
		gl = strlen(part.data) + 1;
		if (!gen[0])
			strcpy(gen, part.data);
		CU_ASSERT_STRING_EQUAL(part.data, gen);
		if (part.len > gl && part.data[part.len - 1] == 0 && part.data[part.len - 2] == 0) {
			CU_ASSERT_EQUAL(memcmp(all.data + off, part.data + gl, part.len - gl - 1), 0);
			off += part.len - gl - 1;
			break;
		}
		CU_ASSERT_EQUAL(memcmp(all.data + off, part.data + gl, part.len - gl), 0);
		off += part.len - gl;
	}
	CU_ASSERT_EQUAL(off, all.len);
	/* past the end: generation and an empty list */
	part.len = 0;
	CU_ASSERT_EQUAL(xs_store_directory_part(d0, 0, "/big", 1u << 20, &part), 0);
	CU_ASSERT_EQUAL(part.len, strlen(gen) + 2);
	/* a change shows in the generation */
	CU_ASSERT_EQUAL(wr(d0, 0, "/big/one-more", ""), 0);
	part.len = 0;
	CU_ASSERT_EQUAL(xs_store_directory_part(d0, 0, "/big", 0, &part), 0);
	CU_ASSERT_STRING_NOT_EQUAL(part.data, gen);
	xs_buf_free(&all);
	xs_buf_free(&part);
	teardown();
}

/* ---- domain population --------------------------------------------------------------- */

static void test_domain_populate(void)
{
	struct xs_domain_info di = {
		.domid = 7, .name = "guest", .uuid = "12345678-1234-1234-1234-123456789abc",
		.max_memkb = 524288, .target_memkb = 524288, .video_memkb = 0, .vcpus = 2,
		.avail_vcpus = 1, .store_pfn = 0xfeffc, .store_port = 1, .hvm = true,
	};
	static const char *const fe[] = { "state", "1", "virtual-device", "51712", NULL };
	static const char *const be[] = { "state", "1", "online", "1", NULL };
	struct xs_client *d7;
	struct xt_events ev7 = { 0 };

	setup();
	CU_ASSERT_EQUAL(xs_domain_populate_dom0(s), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/0/name"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "Domain-0");
	CU_ASSERT_EQUAL(xs_watch_add(d0, "@introduceDomain", "intro"), 0);
	CU_ASSERT_EQUAL(xs_watch_add(d0, "@releaseDomain", "rel"), 0);
	CU_ASSERT_EQUAL(xs_domain_populate(s, &di), 0);
	CU_ASSERT_EQUAL(xt_events_count(&ev0, "@introduceDomain", "intro"), 1);
	CU_ASSERT(xs_store_is_introduced(s, 7));

	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/7/name"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "guest");
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/7/domid"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "7");
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/7/vm"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "/vm/12345678-1234-1234-1234-123456789abc");
	CU_ASSERT_EQUAL(rd(d0, 0, "/vm/12345678-1234-1234-1234-123456789abc/uuid"), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/7/memory/target"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "524288");
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/7/memory/static-max"), 0);
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/7/cpu/0/availability"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "online");
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/7/cpu/1/availability"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "offline");
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/7/store/ring-ref"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "1044476");
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/7/control/platform-feature-xs_reset_watches"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "1");
	CU_ASSERT_STRING_EQUAL(perms_of("/local/domain/7"), "n0,r7");
	CU_ASSERT_STRING_EQUAL(perms_of("/local/domain/7/control"), "n0,r7");
	CU_ASSERT_STRING_EQUAL(perms_of("/local/domain/7/control/shutdown"), "n7");
	CU_ASSERT_STRING_EQUAL(perms_of("/local/domain/7/data"), "n7");
	CU_ASSERT_STRING_EQUAL(perms_of("/local/domain/7/memory/target"), "n0,r7");
	CU_ASSERT_STRING_EQUAL(perms_of("/libxl/7"), "n0");

	/* what the guest itself may do */
	d7 = xs_client_new(s, 7, false, xt_event_cb, &ev7);
	CU_ASSERT_EQUAL(rd(d7, 0, "name"), 0);
	CU_ASSERT_EQUAL(wr(d7, 0, "name", "evil"), -EACCES);
	CU_ASSERT_EQUAL(wr(d7, 0, "memory/target", "9999999"), -EACCES);
	CU_ASSERT_EQUAL(wr(d7, 0, "data/foo", "bar"), 0);
	CU_ASSERT_EQUAL(wr(d7, 0, "control/feature-poweroff", "1"), 0);
	CU_ASSERT_EQUAL(wr(d7, 0, "device/vbd", ""), -EACCES);
	CU_ASSERT_EQUAL(rd(d7, 0, "/local/domain/0/name"), -EACCES);

	/* the toolstack asks it to shut down; the guest acknowledges by clearing it */
	CU_ASSERT_EQUAL(xs_watch_add(d7, "control/shutdown", "sd"), 0);
	CU_ASSERT_EQUAL(xs_domain_request_shutdown(s, 7, "poweroff"), 0);
	CU_ASSERT_EQUAL(xt_events_count(&ev7, "control/shutdown", "sd"), 1);
	CU_ASSERT_EQUAL(rd(d7, 0, "control/shutdown"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "poweroff");
	CU_ASSERT_EQUAL(wr(d7, 0, "control/shutdown", ""), 0);
	CU_ASSERT_EQUAL(xs_domain_request_shutdown(s, 7, "explode"), -EINVAL);
	CU_ASSERT(xs_shutdown_reason_valid("crash") && !xs_shutdown_reason_valid(NULL));
	/* other toolstack writes (sysrq, balloon target) land where the guest looks */
	CU_ASSERT_EQUAL(xs_domain_write(s, 7, "control/sysrq", "s"), 0);
	CU_ASSERT_EQUAL(rd(d7, 0, "control/sysrq"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "s");
	CU_ASSERT_EQUAL(wr(d7, 0, "control/sysrq", ""), 0);
	CU_ASSERT_EQUAL(xs_domain_write(s, 7, "memory/target", "65536"), 0);
	CU_ASSERT_EQUAL(rd(d7, 0, "memory/target"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "65536");
	CU_ASSERT_EQUAL(xs_domain_write(s, 0, "control/sysrq", "s"), -EINVAL);
	/* what the guest's drivers announce */
	CU_ASSERT_FALSE(xs_domain_feature(s, 7, "control/feature-reboot"));
	CU_ASSERT_EQUAL(wr(d7, 0, "control/feature-reboot", "0"), 0);
	CU_ASSERT_FALSE(xs_domain_feature(s, 7, "control/feature-reboot"));
	CU_ASSERT_EQUAL(wr(d7, 0, "control/feature-reboot", "1"), 0);
	CU_ASSERT(xs_domain_feature(s, 7, "control/feature-reboot"));
	CU_ASSERT_FALSE(xs_domain_feature(s, 0, "control/feature-reboot"));

	/* a vbd as libxl lays it out */
	CU_ASSERT_EQUAL(xs_domain_add_device(s, 7, 0, "vbd", 51712, fe, be), 0);
	CU_ASSERT_STRING_EQUAL(perms_of("/local/domain/7/device/vbd/51712"), "n7,r0");
	CU_ASSERT_STRING_EQUAL(perms_of("/local/domain/0/backend/vbd/7/51712"), "n0,r7");
	CU_ASSERT_EQUAL(rd(d7, 0, "device/vbd/51712/backend"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "/local/domain/0/backend/vbd/7/51712");
	CU_ASSERT_EQUAL(rd(d7, 0, "/local/domain/0/backend/vbd/7/51712/state"), 0);
	CU_ASSERT_EQUAL(wr(d7, 0, "device/vbd/51712/state", "3"), 0);
	CU_ASSERT_EQUAL(wr(d7, 0, "/local/domain/0/backend/vbd/7/51712/state", "4"), -EACCES);
	CU_ASSERT_EQUAL(xs_domain_add_device(s, 7, 0, "a/b", 1, NULL, NULL), -EINVAL);

	/* destruction removes everything and releases */
	CU_ASSERT_EQUAL(xs_domain_destroy(s, 7), 0);
	CU_ASSERT_EQUAL(xt_events_count(&ev0, "@releaseDomain", "rel"), 1);
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/7"), -ENOENT);
	CU_ASSERT_EQUAL(rd(d0, 0, "/vm/12345678-1234-1234-1234-123456789abc"), -ENOENT);
	CU_ASSERT_EQUAL(rd(d0, 0, "/local/domain/0/backend/vbd/7"), -ENOENT);
	CU_ASSERT_EQUAL(rd(d0, 0, "/libxl/7"), -ENOENT);
	CU_ASSERT_EQUAL(xs_store_domain_nodes(s, 7), 0);
	CU_ASSERT(!xs_store_is_introduced(s, 7));
	xs_client_free(d7);
	di.uuid = "short";
	CU_ASSERT_EQUAL(xs_domain_populate(s, &di), -EINVAL);
	teardown();
}

int main(void)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "read_write_dir", test_read_write_dir },
		{ "mkdir_rm", test_mkdir_rm },
		{ "paths", test_paths },
		{ "perms_basic", test_perms_basic },
		{ "set_perms_rules", test_set_perms_rules },
		{ "target_and_release", test_target_and_release },
		{ "tx_basic", test_tx_basic },
		{ "tx_conflicts", test_tx_conflicts },
		{ "tx_quota_and_watches", test_tx_quota_and_watches },
		{ "watch_rules", test_watch_rules },
		{ "watch_relative_and_special", test_watch_relative_and_special },
		{ "watch_permissions", test_watch_permissions },
		{ "quotas", test_quotas },
		{ "directory_part", test_directory_part },
		{ "domain_populate", test_domain_populate },
	};
	CU_pSuite suite;
	unsigned int i;

	log_set_level(LOG_ERR);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("xenstore_store", NULL, NULL);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	return cunit_run(CU_BRM_NORMAL);
}
