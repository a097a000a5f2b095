/*
 * Watches: (path, token) pairs per client.  A change to a node fires every
 * watch on that node or an ancestor of it; removing a subtree also fires
 * the watches set exactly on each removed descendant (store.c passes
 * exact=true for those).  Relative watches get relative event paths.
 * @introduceDomain / @releaseDomain are special events that only match
 * watches on themselves (or "/", as in xenstored).
 *
 * A client only hears about a node it could read, or whose parent it
 * could read, or that it could read before a permission change (so it
 * learns that it lost access) -- xenstored's watch_permitted().  Special
 * events go to clients that may read the special node's permissions.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "xs_internal.h"

static bool readable(const struct xs_client *c, const struct xs_perm *p, unsigned int n)
{
	return n && (xs_perm_for(c->s, c, p, n) & XS_P_READ);
}

static bool watch_permitted(const struct xs_client *c, const char *path,
			    const struct xs_perm *old_perms, unsigned int nr_old)
{
	const struct xs_rec *r;
	char *parent;
	bool ok;

	if (c->priv || readable(c, old_perms, nr_old))
		return true;
	if (path[0] == '@') {
		r = strmap_get(&c->s->nodes, path);
		return r && readable(c, r->perms, r->nperms);
	}
	r = strmap_get(&c->s->nodes, path);
	if (!r)
		return false;
	if (readable(c, r->perms, r->nperms))
		return true;
	parent = strdup(path);
	if (!parent)
		return false;
	xs_path_parent(path, parent);
	r = strmap_get(&c->s->nodes, parent);
	ok = r && readable(c, r->perms, r->nperms);
	free(parent);
	return ok;
}

/* "/local/domain/5/device/vbd" -> "device/vbd" for a relative watch of d5. */
static const char *event_path(const struct xs_client *c, const struct xs_watch *w,
			      const char *path, char *home, size_t home_len)
{
	size_t n;

	if (!w->relative)
		return path;
	n = (size_t)snprintf(home, home_len, "/local/domain/%u", c->domid);
	if (strncmp(path, home, n))
		return path;
	path += n;
	return *path == '/' ? path + 1 : path;
}

static void deliver(struct xs_client *c, const struct xs_watch *w, const char *path)
{
	char home[32];

	if (c->event)
		c->event(c->opaque, event_path(c, w, path, home, sizeof(home)), w->token);
}

void xs_watch_fire(struct xs_store *s, const char *path, bool exact,
		   const struct xs_perm *old_perms, unsigned int nr_old)
{
	struct xs_client *c;
	struct xs_watch *w;

	for (c = s->clients; c; c = c->next) {
		if (!c->watches || !watch_permitted(c, path, old_perms, nr_old))
			continue;
		for (w = c->watches; w; w = w->next) {
			if (exact ? !strcmp(path, w->path) : xs_path_is_child(path, w->path))
				deliver(c, w, path);
		}
	}
}

static void watch_free(struct xs_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

void xs_watch_free_all(struct xs_client *c)
{
	struct xs_watch *w;

	while ((w = c->watches)) {
		c->watches = w->next;
		watch_free(w);
	}
	c->nr_watches = 0;
}

int xs_watch_add(struct xs_client *c, const char *path, const char *token)
{
	const struct xs_quota *q = &c->s->q;
	struct xs_watch *w, **pw;
	char *abs = NULL;
	int rc;

	if (!token)
		return -EINVAL;
	rc = xs_path_canon(c, path, true, &abs);
	if (rc)
		return rc;
	for (pw = &c->watches; *pw; pw = &(*pw)->next) {
		if (!strcmp((*pw)->path, abs) && !strcmp((*pw)->token, token)) {
			free(abs);
			return -EEXIST;
		}
	}
	if (!c->priv && q->watches_per_conn && c->nr_watches >= q->watches_per_conn) {
		free(abs);
		return -E2BIG;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->token = strdup(token))) {
		free(w);
		free(abs);
		return -ENOMEM;
	}
	w->path = abs;
	w->relative = path[0] != '/' && path[0] != '@';
	*pw = w; /* appended: events go out in registration order */
	c->nr_watches++;
	return 0;
}

void xs_watch_fire_initial(struct xs_client *c, const char *path, const char *token)
{
	struct xs_watch *w;
	char *abs = NULL;

	if (xs_path_canon(c, path, true, &abs))
		return;
	for (w = c->watches; w; w = w->next) {
		if (!strcmp(w->path, abs) && !strcmp(w->token, token)) {
			deliver(c, w, w->path);
			break;
		}
	}
	free(abs);
}

int xs_watch_remove(struct xs_client *c, const char *path, const char *token)
{
	struct xs_watch **pw, *w;
	char *abs = NULL;
	int rc;

	rc = xs_path_canon(c, path, true, &abs);
	if (rc)
		return rc;
	for (pw = &c->watches; (w = *pw); pw = &w->next) {
		if (!strcmp(w->path, abs) && !strcmp(w->token, token)) {
			*pw = w->next;
			watch_free(w);
			c->nr_watches--;
			free(abs);
			return 0;
		}
	}
	free(abs);
	return -ENOENT;
}
