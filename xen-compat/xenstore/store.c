/*
 * The XenStore tree: nodes, permissions, quotas and the operations on
 * them.  Pure bookkeeping, no I/O.
 *
 * Nodes live in one hash map keyed by absolute path, each record holding
 * its value, permissions and the NUL-separated leaf names of its children
 * (xenstored's layout).  A transaction is a second map of the same records
 * (transaction.c), so every operation below is written once against a
 * "view" and works inside and outside transactions alike.
 *
 * Permissions follow xenstored: perms[0] names the owner and the access
 * of every domain not listed; the owner, a privileged caller (dom0) and a
 * domain whose SET_TARGET is the owner get everything.  A node created
 * implicitly inherits its parent's list, except that an unprivileged
 * creator becomes the owner.  An error never tells a caller more than the
 * nearest existing ancestor lets it know (ENOENT vs EACCES).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "xenkvm/log.h"
#include "xs_internal.h"

/* xenstored 4.17 charges a node 3 words of header plus 8 bytes a permission. */
#define XS_NODE_HDR_SIZE  12u
#define XS_NODE_PERM_SIZE 8u

static long xs_nodes_live;

long xs_node_count(void)
{
	return __atomic_load_n(&xs_nodes_live, __ATOMIC_RELAXED);
}

/* ---- quotas and buffers ------------------------------------------------ */

void xs_quota_default(struct xs_quota *q)
{
	q->nodes_per_domain = 1000;
	q->node_size = 2048;
	q->path_max = XENSTORE_REL_PATH_MAX;
	q->watches_per_conn = 128;
	q->transactions_per_conn = 10;
	q->outstanding_per_conn = 20;
	q->perms_per_node = 5;
	q->nodes_per_transaction = 1024;
	q->out_queue_bytes = 1u << 20;
}

int xs_quota_set(struct xs_quota *q, const char *assignment)
{
	static const struct { const char *name; size_t off; } names[] = {
		{ "nodes", offsetof(struct xs_quota, nodes_per_domain) },
		{ "node-size", offsetof(struct xs_quota, node_size) },
		{ "path-length", offsetof(struct xs_quota, path_max) },
		{ "watches", offsetof(struct xs_quota, watches_per_conn) },
		{ "transactions", offsetof(struct xs_quota, transactions_per_conn) },
		{ "outstanding", offsetof(struct xs_quota, outstanding_per_conn) },
		{ "node-permissions", offsetof(struct xs_quota, perms_per_node) },
		{ "transaction-nodes", offsetof(struct xs_quota, nodes_per_transaction) },
		{ "output-bytes", offsetof(struct xs_quota, out_queue_bytes) },
	};
	const char *eq = strchr(assignment, '=');
	unsigned long v;
	char *end;
	size_t i;

	if (!eq || !eq[1])
		return -EINVAL;
	errno = 0;
	v = strtoul(eq + 1, &end, 10);
	/* 0 would mean "no limit": an assignment may tighten or loosen a
	 * bound, never remove one (a privileged socket client would lift the
	 * output cap and let a non-reading watcher grow the daemon). */
	if (*end || errno || !v || v > UINT32_MAX || eq[1] == '-')
		return -EINVAL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == (size_t)(eq - assignment) &&
		    !strncmp(names[i].name, assignment, (size_t)(eq - assignment))) {
			if (names[i].off == offsetof(struct xs_quota, out_queue_bytes) &&
			    v > XS_QUOTA_OUTPUT_BYTES_MAX)
				return -EINVAL;
			*(unsigned int *)((char *)q + names[i].off) = (unsigned int)v;
			return 0;
		}
	}
	return -EINVAL;
}

int xs_buf_put(struct xs_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0; /* always terminated, for string users */
	return 0;
}

void xs_buf_free(struct xs_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ---- records ------------------------------------------------------------ */

struct xs_rec *xs_rec_new(void)
{
	struct xs_rec *r = calloc(1, sizeof(*r));

	if (r)
		__atomic_add_fetch(&xs_nodes_live, 1, __ATOMIC_RELAXED);
	return r;
}

void xs_rec_free(struct xs_rec *r)
{
	if (!r)
		return;
	free(r->perms);
	free(r->data);
	free(r->children);
	free(r);
	__atomic_sub_fetch(&xs_nodes_live, 1, __ATOMIC_RELAXED);
}

void xs_rec_free_void(void *r)
{
	xs_rec_free(r);
}

static void *memdup(const void *p, size_t n)
{
	void *d;

	if (!n)
		return NULL;
	d = malloc(n);
	if (d)
		memcpy(d, p, n);
	return d;
}

struct xs_rec *xs_rec_dup(const struct xs_rec *r)
{
	struct xs_rec *d = xs_rec_new();

	if (!d)
		return NULL;
	d->gen = r->gen;
	d->nperms = r->nperms;
	d->datalen = r->datalen;
	d->childlen = r->childlen;
	d->perms = memdup(r->perms, r->nperms * sizeof(*r->perms));
	d->data = memdup(r->data, r->datalen);
	d->children = memdup(r->children, r->childlen);
	if ((r->nperms && !d->perms) || (r->datalen && !d->data) ||
	    (r->childlen && !d->children)) {
		xs_rec_free(d);
		return NULL;
	}
	return d;
}

static int rec_set_data(struct xs_rec *r, const void *data, size_t len)
{
	char *d = memdup(data, len);

	if (len && !d)
		return -ENOMEM;
	free(r->data);
	r->data = d;
	r->datalen = (unsigned int)len;
	return 0;
}

static int rec_set_perms(struct xs_rec *r, const struct xs_perm *p, unsigned int n)
{
	struct xs_perm *d = memdup(p, n * sizeof(*p));

	if (!d)
		return -ENOMEM;
	free(r->perms);
	r->perms = d;
	r->nperms = n;
	return 0;
}

static int rec_add_child(struct xs_rec *r, const char *leaf)
{
	size_t n = strlen(leaf) + 1;
	char *c = realloc(r->children, r->childlen + n);

	if (!c)
		return -ENOMEM;
	memcpy(c + r->childlen, leaf, n);
	r->children = c;
	r->childlen += (unsigned int)n;
	return 0;
}

static void rec_del_child(struct xs_rec *r, const char *leaf)
{
	unsigned int off = 0, n;

	while (off < r->childlen) {
		n = (unsigned int)strlen(r->children + off) + 1;
		if (!strcmp(r->children + off, leaf)) {
			memmove(r->children + off, r->children + off + n, r->childlen - off - n);
			r->childlen -= n;
			return;
		}
		off += n;
	}
}

static unsigned int rec_size(const struct xs_rec *r)
{
	return XS_NODE_HDR_SIZE + r->nperms * XS_NODE_PERM_SIZE + r->datalen + r->childlen;
}

unsigned int xs_perm_for(const struct xs_store *s, const struct xs_client *c,
			 const struct xs_perm *p, unsigned int n)
{
	const struct xs_domstate *d;
	long target = -1;
	unsigned int i;

	if (c->priv)
		return XS_P_BOTH | XS_P_OWNER;
	d = xs_dom_find(s, c->domid);
	if (d)
		target = d->target;
	if (p[0].domid == c->domid || (target >= 0 && p[0].domid == (unsigned long)target))
		return XS_P_BOTH | XS_P_OWNER;
	for (i = 1; i < n; i++) {
		if (p[i].perms & XS_P_IGNORE)
			continue;
		if (p[i].domid == c->domid || (target >= 0 && p[i].domid == (unsigned long)target))
			return p[i].perms & XS_P_BOTH;
	}
	return p[0].perms & XS_P_BOTH;
}

/* ---- paths -------------------------------------------------------------- */

void xs_path_parent(const char *path, char *buf)
{
	const char *slash = strrchr(path + 1, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (!n) {
		strcpy(buf, "/");
		return;
	}
	memmove(buf, path, n);
	buf[n] = 0;
}

static const char *path_leaf(const char *path)
{
	return strrchr(path, '/') + 1;
}

bool xs_path_is_child(const char *child, const char *parent)
{
	size_t n = strlen(parent);

	if (!strcmp(parent, "/"))
		return true;
	return !strncmp(child, parent, n) && (child[n] == '/' || child[n] == 0);
}

static bool path_chars_ok(const char *p)
{
	for (; *p; p++) {
		char ch = *p;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '/' || ch == '_' || ch == '@'))
			return false;
	}
	return true;
}

/* Length of the path below a "/local/domain/<N>/" prefix (the quota'd part). */
static size_t path_quota_len(const char *p)
{
	static const char pre[] = "/local/domain/";
	const char *q;

	if (strncmp(p, pre, sizeof(pre) - 1))
		return strlen(p);
	q = p + sizeof(pre) - 1;
	if (*q < '0' || *q > '9')
		return strlen(p);
	while (*q >= '0' && *q <= '9')
		q++;
	if (*q != '/')
		return strlen(p);
	return strlen(q + 1);
}

int xs_path_canon(const struct xs_client *c, const char *in, bool allow_special, char **out)
{
	char *p;
	size_t n;

	*out = NULL;
	if (!in || !*in || !path_chars_ok(in))
		return -EINVAL;
	if (in[0] == '@') {
		if (!allow_special || strlen(in) > XENSTORE_REL_PATH_MAX)
			return -EINVAL;
		p = strdup(in);
		if (!p)
			return -ENOMEM;
		*out = p;
		return 0;
	}
	if (in[0] == '/') {
		p = strdup(in);
	} else if (asprintf(&p, "/local/domain/%u/%s", c->domid, in) < 0) {
		p = NULL;
	}
	if (!p)
		return -ENOMEM;
	n = strlen(p);
	if ((n > 1 && p[n - 1] == '/') || strstr(p, "//") || n > XENSTORE_ABS_PATH_MAX ||
	    (!c->priv && c->s->q.path_max && path_quota_len(p) > c->s->q.path_max)) {
		free(p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

/* ---- main store mutation ------------------------------------------------- */

int xs_main_put(struct xs_store *s, const char *path, struct xs_rec *r)
{
	void *old = NULL;
	int rc;

	r->gen = ++s->gen;
	rc = strmap_put(&s->nodes, path, r, &old);
	if (rc)
		return rc;
	if (old) {
		xs_dom_count(s, ((struct xs_rec *)old)->perms[0].domid, -1);
		xs_rec_free(old);
	}
	xs_dom_count(s, r->perms[0].domid, 1);
	return 0;
}

void xs_main_del(struct xs_store *s, const char *path)
{
	struct xs_rec *old = strmap_del(&s->nodes, path);

	if (old) {
		xs_dom_count(s, old->perms[0].domid, -1);
		xs_rec_free(old);
	}
	s->gen++;
}

/* ---- views: main store or a transaction ---------------------------------- */

static int view_open(struct xs_client *c, uint32_t txid, struct xs_view *v)
{
	v->s = c->s;
	v->c = c;
	v->tx = NULL;
	if (txid) {
		v->tx = xs_tx_find(c, txid);
		if (!v->tx)
			return -ENOENT;
	}
	return 0;
}

/* Every operation starts here: the view it works on (the store or the
 * client's transaction) and the canonical form of the path it names.
 * On failure *name_r stays NULL, so callers just free it. */
static int op_open(struct xs_client *c, uint32_t txid, const char *path, bool special,
		   struct xs_view *v, char **name_r)
{
	int rc = view_open(c, txid, v);

	if (rc)
		return rc;
	return xs_path_canon(c, path, special, name_r);
}

static int view_get(struct xs_view *v, const char *path, const struct xs_rec **r)
{
	if (v->tx)
		return xs_tx_get(v, path, r);
	*r = strmap_get(&v->s->nodes, path);
	return 0;
}

static int view_put(struct xs_view *v, const char *path, struct xs_rec *r)
{
	int rc;

	if (v->tx)
		return xs_tx_put(v, path, r);
	rc = xs_main_put(v->s, path, r);
	if (rc)
		xs_rec_free(r);
	return rc;
}

static void view_del(struct xs_view *v, const char *path)
{
	if (v->tx)
		xs_tx_put(v, path, NULL);
	else
		xs_main_del(v->s, path);
}

static void view_fire(struct xs_view *v, const char *path, bool exact,
		      const struct xs_perm *perms, unsigned int nperms)
{
	if (v->tx) {
		if (xs_tx_queue_event(v->tx, path, exact, perms, nperms))
			pr_warn_rl("xenstore: d%u: watch event for %s lost (no memory)",
				   v->c->domid, path);
		return;
	}
	xs_watch_fire(v->s, path, exact, perms, nperms);
}

/*
 * Looks a node up and checks the caller may `want` it.  When it is missing
 * or forbidden, the answer depends on what the nearest existing ancestor
 * grants: with `want` there, the truth (ENOENT/EACCES), otherwise EACCES.
 */
static int node_lookup(struct xs_view *v, const char *path, unsigned int want,
		       const struct xs_rec **r_out)
{
	const struct xs_rec *r = NULL;
	char *anc;
	unsigned int perm = XS_P_NONE;
	int rc, err;

	*r_out = NULL;
	rc = view_get(v, path, &r);
	if (rc)
		return rc;
	if (r) {
		if ((xs_perm_for(v->s, v->c, r->perms, r->nperms) & want) == want) {
			*r_out = r;
			return 0;
		}
		err = -EACCES;
	} else {
		err = -ENOENT;
	}
	anc = strdup(path);
	if (!anc)
		return -ENOMEM;
	do {
		xs_path_parent(anc, anc);
		rc = view_get(v, anc, &r);
		if (rc) {
			free(anc);
			return rc;
		}
	} while (!r && strcmp(anc, "/"));
	free(anc);
	if (r)
		perm = xs_perm_for(v->s, v->c, r->perms, r->nperms);
	return (perm & want) ? err : -EACCES;
}

static int check_node_size(const struct xs_view *v, const struct xs_rec *r, size_t extra)
{
	if (v->c->priv || !v->s->q.node_size)
		return 0;
	return rec_size(r) + extra >= v->s->q.node_size ? -ENOSPC : 0;
}

/* ---- operations ---------------------------------------------------------- */

int xs_store_read(struct xs_client *c, uint32_t txid, const char *path, struct xs_buf *out)
{
	struct xs_view v;
	const struct xs_rec *r;
	char *name = NULL;
	int rc;

	rc = op_open(c, txid, path, false, &v, &name);
	if (rc)
		goto out;
	rc = node_lookup(&v, name, XS_P_READ, &r);
	if (rc)
		goto out;
	rc = xs_buf_put(out, r->data, r->datalen);
out:
	free(name);
	return rc;
}

/*
 * Creates `name` and any missing ancestors.  Everything that can fail on
 * quota is checked before the first change, so the store never keeps half
 * a path.
 */
static int create_node(struct xs_view *v, const char *name, const void *data, size_t len)
{
	const struct xs_rec *anc = NULL;
	struct xs_rec *r = NULL;
	struct xs_perm *perms = NULL;
	char *path = NULL;
	size_t alen, nlen = strlen(name), i;
	unsigned int nmissing = 0, nperms;
	int rc;

	path = strdup(name);
	if (!path)
		return -ENOMEM;
	for (;;) {
		rc = view_get(v, path, &anc);
		if (rc)
			goto out;
		if (anc)
			break;
		nmissing++;
		xs_path_parent(path, path);
	}
	alen = strlen(path);
	i = alen + (alen > 1);  /* start of the first new leaf */
	nperms = anc->nperms;

	if (!v->c->priv) {
		struct xs_rec probe = { .nperms = nperms, .datalen = (unsigned int)len };
		const struct xs_domstate *d = xs_dom_find(v->s, v->c->domid);
		long owned = (d ? (long)d->nodes : 0) + (v->tx ? v->tx->node_delta : 0);

		rc = -ENOSPC;
		if (v->s->q.nodes_per_domain && owned + nmissing > v->s->q.nodes_per_domain)
			goto out;
		if (check_node_size(v, anc, strcspn(name + i, "/") + 1) ||
		    check_node_size(v, &probe, 0))
			goto out;
	}

	perms = malloc(nperms * sizeof(*perms));
	rc = -ENOMEM;
	if (!perms)
		goto out;
	memcpy(perms, anc->perms, nperms * sizeof(*perms));
	if (!v->c->priv)
		perms[0].domid = v->c->domid;

	/* Link the first missing level into the existing ancestor (which the
	 * put frees: anc is not used after it). */
	r = xs_rec_dup(anc);
	if (!r)
		goto out;
	memcpy(path, name + i, strcspn(name + i, "/"));
	path[strcspn(name + i, "/")] = 0;
	rc = rec_add_child(r, path);
	if (rc)
		goto out;
	memcpy(path, name, alen);
	path[alen] = 0;
	rc = view_put(v, path, r);
	r = NULL;
	if (rc)
		goto out;

	/* Then each new level, top down: name[0..end) is the node, the next
	 * component (if any) its only child. */
	while (i < nlen) {
		size_t end = i + strcspn(name + i, "/");

		r = xs_rec_new();
		rc = -ENOMEM;
		if (!r)
			goto out;
		rc = rec_set_perms(r, perms, nperms);
		if (rc)
			goto out;
		if (end < nlen) {
			size_t clen = strcspn(name + end + 1, "/");

			memcpy(path, name + end + 1, clen);
			path[clen] = 0;
			rc = rec_add_child(r, path);
		} else {
			rc = rec_set_data(r, data, len);
		}
		if (rc)
			goto out;
		memcpy(path, name, end);
		path[end] = 0;
		rc = view_put(v, path, r);
		r = NULL;
		if (rc)
			goto out;
		i = end + 1;
	}
	rc = 0;
out:
	xs_rec_free(r);
	free(perms);
	free(path);
	return rc;
}

int xs_store_write(struct xs_client *c, uint32_t txid, const char *path,
		   const void *data, size_t len)
{
	struct xs_view v;
	const struct xs_rec *r;
	struct xs_rec *n = NULL;
	char *name = NULL;
	int rc;

	if (len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	rc = op_open(c, txid, path, false, &v, &name);
	if (rc)
		goto out;
	rc = node_lookup(&v, name, XS_P_WRITE, &r);
	if (rc == -ENOENT) {
		rc = create_node(&v, name, data, len);
	} else if (!rc) {
		n = xs_rec_dup(r);
		rc = -ENOMEM;
		if (!n)
			goto out;
		rc = rec_set_data(n, data, len);
		if (!rc)
			rc = check_node_size(&v, n, 0);
		if (!rc) {
			rc = view_put(&v, name, n);
			n = NULL;
		}
	}
	if (!rc)
		view_fire(&v, name, false, NULL, 0);
out:
	xs_rec_free(n);
	free(name);
	return rc;
}

int xs_store_mkdir(struct xs_client *c, uint32_t txid, const char *path)
{
	struct xs_view v;
	const struct xs_rec *r;
	char *name = NULL;
	int rc;

	rc = op_open(c, txid, path, false, &v, &name);
	if (rc)
		goto out;
	rc = node_lookup(&v, name, XS_P_WRITE, &r);
	if (rc == -ENOENT) {
		rc = create_node(&v, name, NULL, 0);
		if (!rc)
			view_fire(&v, name, false, NULL, 0);
	}
out:
	free(name);
	return rc;
}

/* Visits the subtree at path (pre-order) so a transaction records it all
 * before anything changes; returns the number of nodes or -errno. */
static long subtree_touch(struct xs_view *v, const char *path)
{
	const struct xs_rec *r;
	unsigned int off;
	long n = 1, k;
	char *child;
	int rc;

	rc = view_get(v, path, &r);
	if (rc)
		return rc;
	if (!r)
		return 0;
	for (off = 0; off < r->childlen; off += (unsigned int)strlen(r->children + off) + 1) {
		if (asprintf(&child, "%s/%s", strcmp(path, "/") ? path : "", r->children + off) < 0)
			return -ENOMEM;
		k = subtree_touch(v, child);
		free(child);
		if (k < 0)
			return k;
		n += k;
	}
	return n;
}

/* Post-order: each node's watches fire while it (and its permissions)
 * still exist, as xenstored's delnode_sub does. */
static int subtree_delete(struct xs_view *v, const char *path, const char *root)
{
	const struct xs_rec *r;
	unsigned int off;
	char *child;
	int rc;

	rc = view_get(v, path, &r);
	if (rc || !r)
		return rc;
	for (off = 0; off < r->childlen; off += (unsigned int)strlen(r->children + off) + 1) {
		if (asprintf(&child, "%s/%s", path, r->children + off) < 0)
			return -ENOMEM;
		rc = subtree_delete(v, child, root);
		free(child);
		if (rc)
			return rc;
	}
	view_fire(v, path, strcmp(path, root) != 0, r->perms, r->nperms);
	view_del(v, path);
	return 0;
}

int xs_store_rm(struct xs_client *c, uint32_t txid, const char *path)
{
	struct xs_view v;
	const struct xs_rec *r, *p;
	struct xs_rec *np = NULL;
	char *name = NULL, *parent = NULL;
	long n;
	int rc;

	rc = op_open(c, txid, path, false, &v, &name);
	if (rc)
		goto out;
	parent = strdup(name);
	rc = -ENOMEM;
	if (!parent)
		goto out;
	xs_path_parent(name, parent);
	rc = node_lookup(&v, name, XS_P_WRITE, &r);
	if (rc == -ENOENT) {
		/* Already gone is fine, as long as the parent exists. */
		rc = view_get(&v, parent, &p);
		if (!rc && !p)
			rc = -ENOENT;
		goto out;
	}
	if (rc)
		goto out;
	rc = -EINVAL;
	if (!strcmp(name, "/"))
		goto out;
	if (v.tx) {
		n = subtree_touch(&v, name);
		rc = (int)n;
		if (n < 0)
			goto out;
	}
	rc = view_get(&v, parent, &p);
	if (rc)
		goto out;
	rc = -EIO;
	if (!p)
		goto out;
	np = xs_rec_dup(p);
	rc = -ENOMEM;
	if (!np)
		goto out;
	rc = subtree_delete(&v, name, name);
	if (rc)
		goto out;
	rec_del_child(np, path_leaf(name));
	rc = view_put(&v, parent, np);
	np = NULL;
out:
	xs_rec_free(np);
	free(parent);
	free(name);
	return rc;
}

int xs_store_directory(struct xs_client *c, uint32_t txid, const char *path, struct xs_buf *out)
{
	struct xs_view v;
	const struct xs_rec *r;
	char *name = NULL;
	int rc;

	rc = view_open(c, txid, &v);
	if (rc)
		return rc;
	rc = xs_path_canon(c, path, false, &name);
	if (!rc)
		rc = node_lookup(&v, name, XS_P_READ, &r);
	if (!rc)
		rc = xs_buf_put(out, r->children, r->childlen);
	free(name);
	return rc;
}

int xs_store_directory_part(struct xs_client *c, uint32_t txid, const char *path,
			    unsigned long offset, struct xs_buf *out)
{
	struct xs_view v;
	const struct xs_rec *r;
	char *name = NULL, gen[24];
	size_t genlen, len = 0, maxlen;
	const char *child;
	int rc;

	rc = view_open(c, txid, &v);
	if (rc)
		return rc;
	rc = xs_path_canon(c, path, false, &name);
	if (!rc)
		rc = node_lookup(&v, name, XS_P_READ, &r);
	free(name);
	if (rc)
		return rc;
	genlen = (size_t)snprintf(gen, sizeof(gen), "%" PRIu64, r->gen) + 1;
	rc = xs_buf_put(out, gen, genlen);
	if (rc)
		return rc;
	if (offset >= r->childlen)
		return xs_buf_put(out, "", 1);
	/* As many whole names as fit; the reader resumes at offset + len. */
	maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1;
	child = r->children + offset;
	while (len + strlen(child) < maxlen) {
		len += strlen(child) + 1;
		child += strlen(child) + 1;
		if (offset + len == r->childlen)
			break;
	}
	rc = xs_buf_put(out, r->children + offset, len);
	if (!rc && offset + len == r->childlen)
		rc = xs_buf_put(out, "", 1);
	return rc;
}

int xs_store_get_perms(struct xs_client *c, uint32_t txid, const char *path, struct xs_buf *out)
{
	static const char letters[] = "nrwb";
	struct xs_view v;
	const struct xs_rec *r;
	char *name = NULL, s[16];
	unsigned int i;
	int rc;

	rc = view_open(c, txid, &v);
	if (rc)
		return rc;
	rc = xs_path_canon(c, path, true, &name);
	if (!rc)
		rc = node_lookup(&v, name, XS_P_READ, &r);
	free(name);
	for (i = 0; !rc && i < r->nperms; i++) {
		int n = snprintf(s, sizeof(s), "%c%u", letters[r->perms[i].perms & XS_P_BOTH],
				 r->perms[i].domid);
		rc = xs_buf_put(out, s, (size_t)n + 1);
	}
	return rc;
}

int xs_perms_parse(const char *strs, size_t len, struct xs_perm **perms_r, unsigned int *nr_r)
{
	struct xs_perm *p = NULL;
	unsigned int n = 0, i;
	size_t off;
	const char *nul;

	*perms_r = NULL;
	*nr_r = 0;
	for (off = 0; (nul = memchr(strs + off, 0, len - off)); off = (size_t)(nul - strs) + 1) {
		n++;
		if ((size_t)(nul - strs) + 1 >= len)
			break;
	}
	if (!n)
		return -EINVAL;
	p = calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0, off = 0; i < n; i++) {
		const char *s = strs + off;
		unsigned long domid = 0;
		size_t k;

		switch (s[0]) {
		case 'n': p[i].perms = XS_P_NONE; break;
		case 'r': p[i].perms = XS_P_READ; break;
		case 'w': p[i].perms = XS_P_WRITE; break;
		case 'b': p[i].perms = XS_P_BOTH; break;
		default: goto inval;
		}
		for (k = 1; s[k]; k++) {
			if (s[k] < '0' || s[k] > '9' || k > 5)
				goto inval;
			domid = domid * 10 + (unsigned long)(s[k] - '0');
		}
		if (k == 1 || domid > XS_DOMID_MAX)
			goto inval;
		p[i].domid = (unsigned int)domid;
		off += k + 1;
	}
	*perms_r = p;
	*nr_r = n;
	return 0;
inval:
	free(p);
	return -EINVAL;
}

int xs_store_set_perms(struct xs_client *c, uint32_t txid, const char *path,
		       const struct xs_perm *perms, unsigned int nr)
{
	struct xs_view v;
	const struct xs_rec *r;
	struct xs_rec *n = NULL;
	struct xs_perm *old = NULL;
	unsigned int nold = 0, i;
	char *name = NULL;
	int rc;

	if (!nr)
		return -EINVAL;
	for (i = 0; i < nr; i++)
		if (perms[i].domid > XS_DOMID_MAX || (perms[i].perms & ~XS_P_BOTH))
			return -EINVAL;
	if (!c->priv && c->s->q.perms_per_node && nr > c->s->q.perms_per_node)
		return -ENOSPC;
	rc = op_open(c, txid, path, true, &v, &name);
	if (rc)
		goto out;
	rc = node_lookup(&v, name, XS_P_WRITE | XS_P_OWNER, &r);
	if (rc)
		goto out;
	rc = -EPERM;
	if (!c->priv && perms[0].domid != r->perms[0].domid)
		goto out;
	n = xs_rec_dup(r);
	rc = -ENOMEM;
	if (!n)
		goto out;
	old = n->perms;
	nold = n->nperms;
	n->perms = NULL;
	rc = rec_set_perms(n, perms, nr);
	if (!rc)
		rc = check_node_size(&v, n, 0);
	if (rc)
		goto out;
	rc = view_put(&v, name, n);
	n = NULL;
	if (!rc)
		view_fire(&v, name, false, old, nold);
out:
	free(old);
	xs_rec_free(n);
	free(name);
	return rc;
}

/* ---- store and clients ---------------------------------------------------- */

static int store_seed(struct xs_store *s, const char *path, const char *child)
{
	static const struct xs_perm n0 = { 0, XS_P_NONE };
	struct xs_rec *r = xs_rec_new();
	int rc = -ENOMEM;

	if (!r)
		return rc;
	if (rec_set_perms(r, &n0, 1) || (child && rec_add_child(r, child)))
		goto fail;
	rc = xs_main_put(s, path, r);
	if (!rc)
		return 0;
fail:
	xs_rec_free(r);
	return rc;
}

struct xs_store *xs_store_new(const struct xs_quota *q)
{
	struct xs_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (q)
		s->q = *q;
	else
		xs_quota_default(&s->q);
	s->next_txid = 1;
	if (strmap_init(&s->nodes))
		goto fail;
	/* xenstored's initial tree, plus the nodes holding the special
	 * watches' permissions. */
	if (store_seed(s, "/", "tool") || store_seed(s, "/tool", "xenstored") ||
	    store_seed(s, "/tool/xenstored", NULL) || store_seed(s, "@releaseDomain", NULL) ||
	    store_seed(s, "@introduceDomain", NULL))
		goto fail;
	return s;
fail:
	xs_store_free(s);
	return NULL;
}

void xs_store_free(struct xs_store *s)
{
	if (!s)
		return;
	if (s->clients)
		pr_warn("xenstore: store freed with clients attached; freeing them");
	while (s->clients)
		xs_client_free(s->clients);
	strmap_destroy(&s->nodes, xs_rec_free_void);
	free(s->doms);
	free(s);
}

void xs_store_set_hooks(struct xs_store *s, const struct xs_store_hooks *h)
{
	if (h)
		s->hooks = *h;
	else
		memset(&s->hooks, 0, sizeof(s->hooks));
}

const struct xs_quota *xs_store_quota(const struct xs_store *s)
{
	return &s->q;
}

int xs_store_quota_set(struct xs_store *s, const char *assignment)
{
	return xs_quota_set(&s->q, assignment);
}

struct xs_client *xs_client_new(struct xs_store *s, unsigned int domid, bool privileged,
				xs_event_fn *event, void *opaque)
{
	struct xs_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->s = s;
	c->domid = domid;
	c->priv = privileged;
	c->event = event;
	c->opaque = opaque;
	c->next = s->clients;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &s->clients;
	s->clients = c;
	return c;
}

void xs_client_reset(struct xs_client *c)
{
	struct xs_tx *tx;

	xs_watch_free_all(c);
	while ((tx = c->txs)) {
		c->txs = tx->next;
		xs_tx_free(tx);
	}
	c->nr_txs = 0;
}

void xs_client_free(struct xs_client *c)
{
	if (!c)
		return;
	xs_client_reset(c);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	free(c);
}

unsigned int xs_client_domid(const struct xs_client *c)
{
	return c->domid;
}

bool xs_client_privileged(const struct xs_client *c)
{
	return c->priv;
}

bool xs_client_has_state(const struct xs_client *c)
{
	return c->nr_watches || c->nr_txs;
}
