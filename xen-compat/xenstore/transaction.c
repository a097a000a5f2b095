/*
 * Transactions, with per-node conflict detection by generation counts.
 *
 * Every change to the main store stamps the changed node with a new value
 * of the store's generation counter (store.c, xs_main_put/xs_main_del; a
 * deleted node simply stops existing).  A transaction is a private map
 * from path to entry:
 *
 *   gen_seen  the node's generation in the main store when the transaction
 *             first touched it (read or write), or XS_GEN_NONE if it did
 *             not exist then;
 *   modified  whether the transaction changed it, and if so `rec`, the new
 *             contents (NULL: deleted).
 *
 * Reads inside the transaction see its own changes (modified entries) and
 * the main store for everything else; every path looked at is recorded,
 * including the ancestors consulted for permission answers.  Nothing a
 * transaction does is visible outside it until commit.
 *
 * Commit checks every entry: if the main store's generation of that path
 * (or its absence) still equals gen_seen, nobody changed anything this
 * transaction depended on, so its modified records are copied over the
 * main store and its queued watch events fire.  Otherwise it fails with
 * EAGAIN and nothing is applied; the client retries from the start.
 * Records hold their children's names, so copying whole records keeps the
 * tree consistent whatever order they are applied in.
 *
 * Worked example.  /a exists with generation 7; /a/x does not exist.
 *   T1: start; read /a      -> entry /a   {gen_seen 7}
 *   T2: start; write /a/x   -> entries /a/x {NONE, modified: "v"},
 *                                      /a   {7, modified: children "x"}
 *   T2: commit: /a is still 7, /a/x still absent -> applied; the main
 *       store's /a gets generation 8, /a/x generation 9; watches on /a/x
 *       (and /a, /) fire now.
 *   T1: write /a/y; commit: /a is 8 but T1 saw 7 -> EAGAIN.  Had T1 only
 *       touched /b, it would have committed: conflicts are per node, not
 *       per store.
 * Two transactions creating different children of the same parent
 * conflict, because both rewrite the parent's child list, as in xenstored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/log.h"
#include "xs_internal.h"

struct xs_tx *xs_tx_find(const struct xs_client *c, uint32_t txid)
{
	struct xs_tx *tx;

	for (tx = c->txs; tx; tx = tx->next)
		if (tx->id == txid)
			return tx;
	return NULL;
}

bool xs_tx_exists(const struct xs_client *c, uint32_t txid)
{
	return xs_tx_find(c, txid) != NULL;
}

static void tx_ent_free(void *p)
{
	struct xs_tx_ent *e = p;

	if (e->modified)
		xs_rec_free(e->rec);
	free(e);
}

void xs_tx_free(struct xs_tx *tx)
{
	struct xs_tx_event *ev, *next;

	strmap_destroy(&tx->ents, tx_ent_free);
	for (ev = tx->ev_head; ev; ev = next) {
		next = ev->next;
		free(ev->perms);
		free(ev);
	}
	free(tx);
}

static struct xs_tx *tx_new(void)
{
	struct xs_tx *tx = calloc(1, sizeof(*tx));

	if (!tx)
		return NULL;
	if (strmap_init(&tx->ents)) {
		free(tx);
		return NULL;
	}
	tx->ev_tail = &tx->ev_head;
	return tx;
}

int xs_tx_restore_doomed(struct xs_client *c, uint32_t txid)
{
	struct xs_tx *tx;

	if (!txid || xs_tx_find(c, txid))
		return -EINVAL;
	tx = tx_new();
	if (!tx)
		return -ENOMEM;
	tx->id = txid;
	tx->doomed = true;
	tx->next = c->txs;
	c->txs = tx;
	c->nr_txs++;
	return 0;
}

int xs_tx_start(struct xs_client *c, uint32_t *txid_r)
{
	const struct xs_quota *q = &c->s->q;
	struct xs_tx *tx;

	if (!c->priv && q->transactions_per_conn && c->nr_txs >= q->transactions_per_conn)
		return -ENOSPC;
	tx = tx_new();
	if (!tx)
		return -ENOMEM;
	/* Ids are opaque to clients; never 0 (no transaction), never one
	 * this client still holds after the counter wraps. */
	do {
		tx->id = c->s->next_txid++;
	} while (!tx->id || xs_tx_find(c, tx->id));
	tx->next = c->txs;
	c->txs = tx;
	c->nr_txs++;
	*txid_r = tx->id;
	return 0;
}

static int tx_ent(struct xs_view *v, const char *path, struct xs_tx_ent **e_r)
{
	const struct xs_quota *q = &v->s->q;
	const struct xs_rec *main_rec;
	struct xs_tx_ent *e = strmap_get(&v->tx->ents, path);
	int rc;

	if (e) {
		*e_r = e;
		return 0;
	}
	if (!v->c->priv && q->nodes_per_transaction &&
	    v->tx->nr_ents >= q->nodes_per_transaction)
		return -ENOSPC;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	main_rec = strmap_get(&v->s->nodes, path);
	e->gen_seen = main_rec ? main_rec->gen : XS_GEN_NONE;
	rc = strmap_put(&v->tx->ents, path, e, NULL);
	if (rc) {
		free(e);
		return rc;
	}
	v->tx->nr_ents++;
	*e_r = e;
	return 0;
}

int xs_tx_get(struct xs_view *v, const char *path, const struct xs_rec **r)
{
	struct xs_tx_ent *e;
	int rc;

	*r = NULL;
	rc = tx_ent(v, path, &e);
	if (rc)
		return rc;
	*r = e->modified ? e->rec : strmap_get(&v->s->nodes, path);
	return 0;
}

int xs_tx_put(struct xs_view *v, const char *path, struct xs_rec *r)
{
	const struct xs_rec *old;
	struct xs_tx_ent *e;
	int rc;

	rc = tx_ent(v, path, &e);
	if (rc) {
		xs_rec_free(r);
		return rc;
	}
	old = e->modified ? e->rec : strmap_get(&v->s->nodes, path);
	if (old && old->perms[0].domid == v->c->domid)
		v->tx->node_delta--;
	if (r && r->perms[0].domid == v->c->domid)
		v->tx->node_delta++;
	if (e->modified)
		xs_rec_free(e->rec);
	e->modified = true;
	e->rec = r;
	if (r)
		r->gen = ++v->s->gen; /* fresh, so DIRECTORY_PART readers see a change */
	return 0;
}

int xs_tx_queue_event(struct xs_tx *tx, const char *path, bool exact,
		      const struct xs_perm *perms, unsigned int nperms)
{
	size_t n = strlen(path) + 1;
	struct xs_tx_event *ev = calloc(1, sizeof(*ev) + n);

	if (!ev)
		return -ENOMEM;
	memcpy(ev->path, path, n);
	ev->exact = exact;
	if (perms && nperms) {
		ev->perms = malloc(nperms * sizeof(*perms));
		if (!ev->perms) {
			free(ev);
			return -ENOMEM;
		}
		memcpy(ev->perms, perms, nperms * sizeof(*perms));
		ev->nperms = nperms;
	}
	*tx->ev_tail = ev;
	tx->ev_tail = &ev->next;
	return 0;
}

static int tx_validate_ent(const char *path, void *val, void *arg)
{
	const struct xs_tx_ent *e = val;
	const struct xs_store *s = arg;
	const struct xs_rec *cur = strmap_get(&s->nodes, path);

	return (cur ? cur->gen : XS_GEN_NONE) != e->gen_seen;
}

static int tx_apply_ent(const char *path, void *val, void *arg)
{
	struct xs_tx_ent *e = val;
	struct xs_store *s = arg;

	if (!e->modified)
		return 0;
	if (e->rec) {
		if (xs_main_put(s, path, e->rec)) {
			pr_err_rl("xenstore: commit of %s failed (no memory); store may be inconsistent",
				  path);
			return 0;
		}
		e->rec = NULL; /* now owned by the main store */
	} else {
		xs_main_del(s, path);
	}
	return 0;
}

int xs_tx_end(struct xs_client *c, uint32_t txid, bool commit)
{
	struct xs_store *s = c->s;
	struct xs_tx **pp, *tx = NULL;
	struct xs_tx_event *ev;
	int rc = 0;

	for (pp = &c->txs; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == txid) {
			tx = *pp;
			*pp = tx->next;
			c->nr_txs--;
			break;
		}
	}
	if (!tx)
		return -ENOENT;
	if (!commit)
		goto out;
	if (tx->doomed || strmap_foreach(&tx->ents, tx_validate_ent, s)) {
		rc = -EAGAIN;
		goto out;
	}
	if (!c->priv && s->q.nodes_per_domain && tx->node_delta > 0 &&
	    xs_store_domain_nodes(s, c->domid) + (unsigned int)tx->node_delta >
	    s->q.nodes_per_domain) {
		rc = -ENOSPC;
		goto out;
	}
	strmap_foreach(&tx->ents, tx_apply_ent, s);
	for (ev = tx->ev_head; ev; ev = ev->next)
		xs_watch_fire(s, ev->path, ev->exact, ev->perms, ev->nperms);
out:
	xs_tx_free(tx);
	return rc;
}
