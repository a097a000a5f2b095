/*
 * The XenStore section (XEN_STATE_XENSTORE): the whole tree (every node's
 * path, generation, permissions, data and child order), the store's
 * generation and transaction counter, the quotas, what it knows of
 * domains (introduced, target, shutdown fired), and for each client the
 * caller names (the guest's ring connection) its watches and the ids of
 * its open transactions.
 *
 * Transactions are not carried node by node: each open id comes back as a
 * transaction that fails its commit with EAGAIN, which a guest's xenbus
 * answers by running it again (Linux's xenbus_transaction_end callers
 * loop on -EAGAIN).  Reads inside it see the current tree.
 *
 * The tree is built in a scratch store and checked (paths, links,
 * accounting) before it replaces the live one, so a refused section
 * leaves the store as it was.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "xs_internal.h"
#include "xenkvm/xen_state.h"

#define PERMS_MAX (XENSTORE_PAYLOAD_MAX / 2)
#define TOKEN_MAX XENSTORE_PAYLOAD_MAX
#define CHILDREN_MAX (1u << 20)

struct save_ctx {
	struct state_writer *w;
};

static int save_node(const char *key, void *val, void *arg)
{
	struct state_writer *w = ((struct save_ctx *)arg)->w;
	const struct xs_rec *r = val;

	state_put_blob(w, key, strlen(key));
	state_put_u64(w, r->gen);
	state_put_u32(w, r->nperms);
	for (unsigned int i = 0; i < r->nperms; i++) {
		state_put_u32(w, r->perms[i].domid);
		state_put_u32(w, r->perms[i].perms);
	}
	state_put_blob(w, r->data, r->datalen);
	state_put_blob(w, r->children, r->childlen);
	return 0;
}

static void save_quota(struct state_writer *w, const struct xs_quota *q)
{
	state_put_u32(w, q->nodes_per_domain);
	state_put_u32(w, q->node_size);
	state_put_u32(w, q->path_max);
	state_put_u32(w, q->watches_per_conn);
	state_put_u32(w, q->transactions_per_conn);
	state_put_u32(w, q->outstanding_per_conn);
	state_put_u32(w, q->perms_per_node);
	state_put_u32(w, q->nodes_per_transaction);
	state_put_u32(w, q->out_queue_bytes);
}

int xs_store_save(struct xs_store *s, struct xs_client *const *clients, unsigned int nr,
		  struct state_writer *w)
{
	struct save_ctx ctx = { w };

	state_section_begin(w, XEN_STATE_XENSTORE, XEN_STATE_XENSTORE_VERSION);
	state_put_u64(w, s->gen);
	state_put_u32(w, s->next_txid);
	save_quota(w, &s->q);
	state_put_u32(w, s->nr_doms);
	for (unsigned int i = 0; i < s->nr_doms; i++) {
		state_put_u32(w, s->doms[i].domid);
		state_put_u32(w, (uint32_t)s->doms[i].target);
		state_put_u8(w, s->doms[i].introduced);
		state_put_u8(w, s->doms[i].shutdown_fired);
	}
	state_put_u64(w, s->nodes.count);
	strmap_foreach(&s->nodes, save_node, &ctx);
	state_put_u32(w, nr);
	for (unsigned int i = 0; i < nr; i++) {
		const struct xs_client *c = clients[i];

		state_put_u32(w, c->domid);
		state_put_u8(w, c->priv);
		state_put_u32(w, c->nr_watches);
		for (const struct xs_watch *wa = c->watches; wa; wa = wa->next) {
			state_put_blob(w, wa->path, strlen(wa->path));
			state_put_blob(w, wa->token, strlen(wa->token));
			state_put_u8(w, wa->relative);
		}
		state_put_u32(w, c->nr_txs);
		for (const struct xs_tx *tx = c->txs; tx; tx = tx->next)
			state_put_u32(w, tx->id);
	}
	return state_section_end(w);
}

/* --- load ------------------------------------------------------------------ */

static void load_quota(struct state_section *sec, struct xs_quota *q)
{
	state_get_u32(sec, &q->nodes_per_domain);
	state_get_u32(sec, &q->node_size);
	state_get_u32(sec, &q->path_max);
	state_get_u32(sec, &q->watches_per_conn);
	state_get_u32(sec, &q->transactions_per_conn);
	state_get_u32(sec, &q->outstanding_per_conn);
	state_get_u32(sec, &q->perms_per_node);
	state_get_u32(sec, &q->nodes_per_transaction);
	state_get_u32(sec, &q->out_queue_bytes);
	if (!state_section_failed(sec) && q->out_queue_bytes > XS_QUOTA_OUTPUT_BYTES_MAX)
		state_section_fail(sec, EINVAL, "output quota of %u bytes (at most %u)",
				   q->out_queue_bytes, XS_QUOTA_OUTPUT_BYTES_MAX);
}

/* A path as the store keys it: canonical absolute, or a special node. */
static bool path_ok(struct xs_store *t, const char *path)
{
	struct xs_client dom0 = { .s = t, .domid = 0, .priv = true };
	char *canon = NULL;
	bool ok;

	if (xs_path_canon(&dom0, path, true, &canon))
		return false;
	ok = !strcmp(canon, path);
	free(canon);
	return ok;
}

static bool read_str(struct state_section *sec, char **out, uint32_t max, const char *what)
{
	const uint8_t *p;
	uint32_t n;

	*out = NULL;
	if (!state_get_blob(sec, &p, &n, max))
		return false;
	if (memchr(p, '\0', n)) {
		state_section_fail(sec, EINVAL, "%s holds a NUL byte", what);
		return false;
	}
	*out = strndup((const char *)p, n);
	if (!*out)
		state_section_fail(sec, ENOMEM, "out of memory");
	return *out != NULL;
}

static void *blob_dup(struct state_section *sec, uint32_t max, unsigned int *len_r)
{
	const uint8_t *p;
	uint32_t n;
	void *d;

	*len_r = 0;
	if (!state_get_blob(sec, &p, &n, max) || !n)
		return NULL;
	d = malloc(n);
	if (!d) {
		state_section_fail(sec, ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(d, p, n);
	*len_r = n;
	return d;
}

/* Leaf names, each non-empty, without '/', NUL-terminated (the tree check
 * that follows walks them with string functions). */
static bool children_ok(const char *c, unsigned int len)
{
	unsigned int start = 0;

	if (len && c[len - 1])
		return false;
	for (unsigned int i = 0; i < len; i++) {
		if (c[i] == '/')
			return false;
		if (!c[i]) {
			if (i == start)
				return false;
			start = i + 1;
		}
	}
	return true;
}

static void load_node(struct state_section *sec, struct xs_store *t, uint64_t gen)
{
	struct xs_rec *r = NULL;
	char *path = NULL;
	uint32_t nperms;

	if (!read_str(sec, &path, XENSTORE_ABS_PATH_MAX, "a node path"))
		return;
	if (!path_ok(t, path)) {
		state_section_fail(sec, EINVAL, "node path \"%.64s\" is not canonical", path);
		goto out;
	}
	if (strmap_get(&t->nodes, path)) {
		state_section_fail(sec, EINVAL, "node %.64s twice", path);
		goto out;
	}
	r = xs_rec_new();
	if (!r) {
		state_section_fail(sec, ENOMEM, "out of memory");
		goto out;
	}
	state_get_u64(sec, &r->gen);
	state_get_u32(sec, &nperms);
	if (state_section_failed(sec))
		goto out;
	if (r->gen > gen || !nperms || nperms > PERMS_MAX) {
		state_section_fail(sec, EINVAL, "node %.64s: generation %llu of %llu, %u permissions",
				   path, (unsigned long long)r->gen, (unsigned long long)gen, nperms);
		goto out;
	}
	r->perms = calloc(nperms, sizeof(*r->perms));
	if (!r->perms) {
		state_section_fail(sec, ENOMEM, "out of memory");
		goto out;
	}
	r->nperms = nperms;
	for (unsigned int i = 0; i < nperms && !state_section_failed(sec); i++) {
		state_get_u32(sec, &r->perms[i].domid);
		state_get_u32(sec, &r->perms[i].perms);
		if (!state_section_failed(sec) &&
		    (r->perms[i].domid > XS_DOMID_MAX ||
		     r->perms[i].perms & ~(XS_P_BOTH | XS_P_IGNORE)))
			state_section_fail(sec, EINVAL, "node %.64s: permission %u: domain %u bits %#x",
					   path, i, r->perms[i].domid, r->perms[i].perms);
	}
	r->data = blob_dup(sec, XENSTORE_PAYLOAD_MAX, &r->datalen);
	r->children = blob_dup(sec, CHILDREN_MAX, &r->childlen);
	if (state_section_failed(sec))
		goto out;
	if (!children_ok(r->children, r->childlen)) {
		state_section_fail(sec, EINVAL, "node %.64s: malformed child list", path);
		goto out;
	}
	if (strmap_put(&t->nodes, path, r, NULL)) {
		state_section_fail(sec, ENOMEM, "out of memory");
		goto out;
	}
	xs_dom_count(t, r->perms[0].domid, 1);
	r = NULL;
out:
	xs_rec_free(r);
	free(path);
}

static void load_doms(struct state_section *sec, struct xs_store *t)
{
	uint32_t nr = 0;

	state_get_u32(sec, &nr);
	if (!state_section_failed(sec) && nr > (sec->len - sec->pos) / 10)
		state_section_fail(sec, EBADMSG, "%u domains in %zu bytes", nr, sec->len - sec->pos);
	for (uint32_t i = 0; i < nr && !state_section_failed(sec); i++) {
		struct xs_domstate *d;
		uint32_t domid, target;
		bool introduced, fired;

		state_get_u32(sec, &domid);
		state_get_u32(sec, &target);
		state_get_bool(sec, &introduced);
		state_get_bool(sec, &fired);
		if (state_section_failed(sec))
			return;
		if (domid >= XS_DOMID_MAX || ((int32_t)target != -1 && target >= XS_DOMID_MAX) ||
		    xs_dom_find(t, domid)) {
			state_section_fail(sec, EINVAL, "domain %u (target %d) invalid or twice", domid,
					   (int32_t)target);
			return;
		}
		d = xs_dom_get(t, domid);
		if (!d) {
			state_section_fail(sec, ENOMEM, "out of memory");
			return;
		}
		d->target = (int32_t)target;
		d->introduced = introduced;
		d->shutdown_fired = fired;
	}
}

/* Watches and transaction ids of one client, checked into a scratch
 * client first (xs_watch_add's own checks: path, duplicates, quota). */
static void load_client(struct state_section *sec, struct xs_client *scratch,
			struct xs_client *c, uint32_t *txids, uint32_t *nr_txids)
{
	uint32_t domid, nr;
	bool priv;
	char home[40];

	state_get_u32(sec, &domid);
	state_get_bool(sec, &priv);
	state_get_u32(sec, &nr);
	if (state_section_failed(sec))
		return;
	if (domid != c->domid || priv != c->priv) {
		state_section_fail(sec, EINVAL, "client of domain %u%s, restored into one of %u%s",
				   domid, priv ? " (privileged)" : "", c->domid,
				   c->priv ? " (privileged)" : "");
		return;
	}
	snprintf(home, sizeof(home), "/local/domain/%u/", domid);
	for (uint32_t i = 0; i < nr && !state_section_failed(sec); i++) {
		char *path = NULL, *token = NULL;
		bool relative;
		int rc;

		if (read_str(sec, &path, XENSTORE_ABS_PATH_MAX, "a watch path") &&
		    read_str(sec, &token, TOKEN_MAX, "a watch token") &&
		    state_get_bool(sec, &relative)) {
			/* A relative watch is registered as the guest did, so its
			 * events come back relative. */
			if (relative && strncmp(path, home, strlen(home)))
				state_section_fail(sec, EINVAL, "relative watch %.64s outside %s", path,
						   home);
			else if (path[0] != '/' && path[0] != '@')
				state_section_fail(sec, EINVAL, "watch path %.64s", path);
			else if ((rc = xs_watch_add(scratch, relative ? path + strlen(home) : path,
						    token)))
				state_section_fail(sec, EINVAL, "watch %.64s (token %.32s): %s", path,
						   token, strerror(-rc));
		}
		free(path);
		free(token);
	}
	state_get_u32(sec, nr_txids);
	if (!state_section_failed(sec) &&
	    (*nr_txids > XENSTORE_PAYLOAD_MAX ||
	     (!c->priv && c->s->q.transactions_per_conn &&
	      *nr_txids > c->s->q.transactions_per_conn))) {
		state_section_fail(sec, EINVAL, "%u open transactions", *nr_txids);
		return;
	}
	for (uint32_t i = 0; i < *nr_txids && !state_section_failed(sec); i++) {
		state_get_u32(sec, &txids[i]);
		for (uint32_t k = 0; k < i; k++)
			if (!txids[i] || txids[k] == txids[i])
				state_section_fail(sec, EINVAL, "transaction id %u twice or zero",
						   txids[i]);
	}
}

static void swap_store(struct xs_store *s, struct xs_store *t)
{
	struct strmap nodes = s->nodes;
	struct xs_domstate *doms = s->doms;
	unsigned int nr = s->nr_doms, cap = s->cap_doms;

	s->nodes = t->nodes;
	s->doms = t->doms;
	s->nr_doms = t->nr_doms;
	s->cap_doms = t->cap_doms;
	s->gen = t->gen;
	s->q = t->q;
	s->next_txid = t->next_txid;
	t->nodes = nodes;
	t->doms = doms;
	t->nr_doms = nr;
	t->cap_doms = cap;
}

static int xenstore_load(void *opaque, struct state_section *sec)
{
	struct xs_state_load *ctx = opaque;
	struct xs_store *t = xs_store_new(NULL);
	struct xs_client **scratch = NULL;
	uint32_t **txids = NULL, *nr_txids = NULL, nr_clients = 0;
	uint64_t nr_nodes = 0;

	if (!t)
		return -ENOMEM;
	/* The scratch store starts empty: no seed nodes, no domains. */
	strmap_destroy(&t->nodes, xs_rec_free_void);
	if (strmap_init(&t->nodes)) {
		xs_store_free(t);
		return -ENOMEM;
	}
	t->nr_doms = 0;
	state_get_u64(sec, &t->gen);
	state_get_u32(sec, &t->next_txid);
	load_quota(sec, &t->q);
	load_doms(sec, t);
	state_get_u64(sec, &nr_nodes);
	/* A node takes at least 4+8+4+8+4+4 bytes of the section. */
	if (!state_section_failed(sec) && nr_nodes > (sec->len - sec->pos) / 32)
		state_section_fail(sec, EBADMSG, "%llu nodes in %zu bytes",
				   (unsigned long long)nr_nodes, sec->len - sec->pos);
	for (uint64_t i = 0; i < nr_nodes && !state_section_failed(sec); i++)
		load_node(sec, t, t->gen);
	if (!state_section_failed(sec) && !strmap_get(&t->nodes, "/"))
		state_section_fail(sec, EINVAL, "no root node");
	if (!state_section_failed(sec) && xs_store_check(t))
		state_section_fail(sec, EINVAL, "the tree's links or accounting are broken");
	state_get_u32(sec, &nr_clients);
	if (!state_section_failed(sec) && nr_clients != ctx->nr)
		state_section_fail(sec, EINVAL, "%u clients saved, %u to restore into", nr_clients,
				   ctx->nr);
	if (!state_section_failed(sec) && nr_clients) {
		scratch = calloc(nr_clients, sizeof(*scratch));
		txids = calloc(nr_clients, sizeof(*txids));
		nr_txids = calloc(nr_clients, sizeof(*nr_txids));
		if (!scratch || !txids || !nr_txids)
			state_section_fail(sec, ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < nr_clients && !state_section_failed(sec); i++) {
		scratch[i] = xs_client_new(t, ctx->clients[i]->domid, ctx->clients[i]->priv, NULL,
					   NULL);
		txids[i] = calloc(XENSTORE_PAYLOAD_MAX + 1, sizeof(uint32_t));
		if (!scratch[i] || !txids[i]) {
			state_section_fail(sec, ENOMEM, "out of memory");
			break;
		}
		load_client(sec, scratch[i], ctx->clients[i], txids[i], &nr_txids[i]);
	}
	if (!state_section_failed(sec) && sec->pos == sec->len) {
		swap_store(ctx->s, t);
		for (uint32_t i = 0; i < nr_clients; i++) {
			struct xs_client *c = ctx->clients[i];

			xs_client_reset(c);
			/* The checked watches move over in their order. */
			c->watches = scratch[i]->watches;
			c->nr_watches = scratch[i]->nr_watches;
			scratch[i]->watches = NULL;
			scratch[i]->nr_watches = 0;
			for (uint32_t k = nr_txids[i]; k-- > 0;)
				if (xs_tx_restore_doomed(c, txids[i][k]))
					state_section_fail(sec, ENOMEM, "out of memory");
		}
	}
	for (uint32_t i = 0; scratch && i < nr_clients; i++) {
		xs_client_free(scratch[i]);
		free(txids[i]);
	}
	free(scratch);
	free(txids);
	free(nr_txids);
	xs_store_free(t);
	return 0;
}

void xs_store_state_handler(struct xs_state_load *ctx, struct state_handler *h)
{
	*h = (struct state_handler){ XEN_STATE_XENSTORE, XEN_STATE_XENSTORE_VERSION, "xenstore",
				     true, xenstore_load, ctx };
}
