/*
 * xenstored's view of domains: per-domain node accounting (the quota),
 * INTRODUCE / RELEASE / RESUME / SET_TARGET state and the special watches
 * they fire, and a consistency check of the tree against the accounting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/log.h"
#include "xs_internal.h"

static const char *path_leaf(const char *path)
{
	return strrchr(path, '/') + 1;
}

/* ---- per-domain state --------------------------------------------------- */

struct xs_domstate *xs_dom_find(const struct xs_store *s, unsigned int domid)
{
	unsigned int i;

	for (i = 0; i < s->nr_doms; i++)
		if (s->doms[i].domid == domid)
			return &s->doms[i];
	return NULL;
}

struct xs_domstate *xs_dom_get(struct xs_store *s, unsigned int domid)
{
	struct xs_domstate *d = xs_dom_find(s, domid);

	if (d)
		return d;
	if (s->nr_doms == s->cap_doms) {
		unsigned int cap = s->cap_doms ? s->cap_doms * 2 : 8;
		struct xs_domstate *nd = realloc(s->doms, cap * sizeof(*nd));

		if (!nd)
			return NULL;
		s->doms = nd;
		s->cap_doms = cap;
	}
	d = &s->doms[s->nr_doms++];
	memset(d, 0, sizeof(*d));
	d->domid = domid;
	d->target = -1;
	return d;
}

void xs_dom_count(struct xs_store *s, unsigned int domid, int delta)
{
	struct xs_domstate *d = xs_dom_get(s, domid);

	if (d)
		d->nodes += (unsigned int)delta;
}

unsigned int xs_store_domain_nodes(const struct xs_store *s, unsigned int domid)
{
	const struct xs_domstate *d = xs_dom_find(s, domid);

	return d ? d->nodes : 0;
}

/* ---- domains -------------------------------------------------------------- */

int xs_store_introduce(struct xs_store *s, unsigned int domid)
{
	struct xs_domstate *d;

	if (!domid || domid >= XS_DOMID_MAX)
		return -EINVAL;
	d = xs_dom_get(s, domid);
	if (!d)
		return -ENOMEM;
	if (d->introduced)
		return 0;
	d->introduced = true;
	d->shutdown_fired = false;
	xs_watch_fire(s, "@introduceDomain", false, NULL, 0);
	return 0;
}

bool xs_store_is_introduced(const struct xs_store *s, unsigned int domid)
{
	const struct xs_domstate *d = xs_dom_find(s, domid);

	return domid == 0 || (d && d->introduced);
}

struct release_sweep {
	struct xs_store *s;
	unsigned int domid;
};

/* A released domain's id may be reused: it must not inherit the access. */
static int release_sweep_node(const char *key, void *val, void *arg)
{
	struct release_sweep *rs = arg;
	struct xs_rec *r = val;
	unsigned int i;

	if (r->perms[0].domid == rs->domid) {
		r->perms[0].domid = 0;
		xs_dom_count(rs->s, rs->domid, -1);
		xs_dom_count(rs->s, 0, 1);
	}
	for (i = 1; i < r->nperms; i++)
		if (r->perms[i].domid == rs->domid)
			r->perms[i].perms |= XS_P_IGNORE;
	return 0;
}

int xs_store_release(struct xs_store *s, unsigned int domid)
{
	struct xs_domstate *d = xs_dom_find(s, domid);
	struct release_sweep rs = { s, domid };
	unsigned int i;

	if (!domid || domid >= XS_DOMID_MAX)
		return -EINVAL;
	if (!d || !d->introduced)
		return -ENOENT;
	d->introduced = false;
	d->target = -1;
	strmap_foreach(&s->nodes, release_sweep_node, &rs);
	for (i = 0; i < s->nr_doms; i++)
		if (s->doms[i].target == (int)domid)
			s->doms[i].target = -1;
	xs_watch_fire(s, "@releaseDomain", false, NULL, 0);
	return 0;
}

void xs_store_domain_shutdown(struct xs_store *s, unsigned int domid)
{
	struct xs_domstate *d = xs_dom_find(s, domid);

	if (!d || !d->introduced || d->shutdown_fired)
		return;
	d->shutdown_fired = true;
	xs_watch_fire(s, "@releaseDomain", false, NULL, 0);
}

int xs_store_resume(struct xs_store *s, unsigned int domid)
{
	struct xs_domstate *d = xs_dom_find(s, domid);

	if (!domid || domid >= XS_DOMID_MAX)
		return -EINVAL;
	if (!d || !d->introduced)
		return -ENOENT;
	d->shutdown_fired = false;
	return 0;
}

int xs_store_set_target(struct xs_store *s, unsigned int domid, unsigned int target)
{
	struct xs_domstate *d;

	if (!domid || domid >= XS_DOMID_MAX || target >= XS_DOMID_MAX)
		return -EINVAL;
	if (!xs_store_is_introduced(s, domid) || !xs_store_is_introduced(s, target))
		return -ENOENT;
	d = xs_dom_find(s, domid);
	d->target = (int)target;
	return 0;
}

/* ---- consistency check ---------------------------------------------------- */

struct check_state {
	struct xs_store *s;
	unsigned int *owned;   /* per s->doms index */
	int rc;
};

static bool children_has(const struct xs_rec *p, const char *leaf)
{
	unsigned int off, hits = 0;

	for (off = 0; off < p->childlen; off += (unsigned int)strlen(p->children + off) + 1)
		hits += !strcmp(p->children + off, leaf);
	return hits == 1;
}

static int check_node(const char *key, void *val, void *arg)
{
	struct check_state *cs = arg;
	struct xs_rec *r = val, *p;
	char *buf, *child;
	unsigned int off, i;

	for (i = 0; i < cs->s->nr_doms; i++)
		if (cs->s->doms[i].domid == r->perms[0].domid)
			cs->owned[i]++;
	if (!r->nperms || (r->childlen && r->children[r->childlen - 1])) {
		pr_err("xenstore check: %s: bad record", key);
		goto bad;
	}
	if (key[0] == '@')
		return 0;
	if (strcmp(key, "/")) {
		buf = strdup(key);
		if (!buf)
			goto bad;
		xs_path_parent(key, buf);
		p = strmap_get(&cs->s->nodes, buf);
		free(buf);
		if (!p || !children_has(p, path_leaf(key))) {
			pr_err("xenstore check: %s: not linked from its parent", key);
			goto bad;
		}
	}
	for (off = 0; off < r->childlen; off += (unsigned int)strlen(r->children + off) + 1) {
		if (asprintf(&child, "%s/%s", strcmp(key, "/") ? key : "", r->children + off) < 0)
			goto bad;
		p = strmap_get(&cs->s->nodes, child);
		free(child);
		if (!p) {
			pr_err("xenstore check: %s: child %s missing", key, r->children + off);
			goto bad;
		}
	}
	return 0;
bad:
	cs->rc = -EIO;
	return 1;
}

int xs_store_check(struct xs_store *s)
{
	struct check_state cs = { s, calloc(s->nr_doms + 1, sizeof(unsigned int)), 0 };
	unsigned int i;

	if (!cs.owned)
		return -ENOMEM;
	strmap_foreach(&s->nodes, check_node, &cs);
	for (i = 0; !cs.rc && i < s->nr_doms; i++) {
		if (cs.owned[i] != s->doms[i].nodes) {
			pr_err("xenstore check: d%u owns %u nodes, accounted %u",
			       s->doms[i].domid, cs.owned[i], s->doms[i].nodes);
			cs.rc = -EIO;
		}
	}
	free(cs.owned);
	return cs.rc;
}
