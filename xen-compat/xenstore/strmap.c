/* A chained hash map from strings to pointers, for node paths. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xs_internal.h"

#define STRMAP_MIN_BUCKETS 64

/* FNV-1a: paths share long prefixes, so every byte must count. */
static size_t strmap_hash(const char *key)
{
	size_t h = 14695981039346656037ull;

	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ull;
	}
	return h;
}

int strmap_init(struct strmap *m)
{
	m->buckets = calloc(STRMAP_MIN_BUCKETS, sizeof(*m->buckets));
	if (!m->buckets)
		return -ENOMEM;
	m->nbuckets = STRMAP_MIN_BUCKETS;
	m->count = 0;
	return 0;
}

void strmap_destroy(struct strmap *m, void (*free_val)(void *val))
{
	size_t i;

	if (!m->buckets)
		return;
	for (i = 0; i < m->nbuckets; i++) {
		struct strmap_ent *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (free_val)
				free_val(e->val);
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->count = 0;
}

static struct strmap_ent **strmap_slot(const struct strmap *m, const char *key, size_t hash)
{
	struct strmap_ent **pe = &m->buckets[hash & (m->nbuckets - 1)];

	for (; *pe; pe = &(*pe)->next)
		if ((*pe)->hash == hash && !strcmp((*pe)->key, key))
			break;
	return pe;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_ent *e = *strmap_slot(m, key, strmap_hash(key));

	return e ? e->val : NULL;
}

static void strmap_grow(struct strmap *m)
{
	size_t n = m->nbuckets * 2, i;
	struct strmap_ent **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* keep the longer chains; still correct */
	for (i = 0; i < m->nbuckets; i++) {
		struct strmap_ent *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

int strmap_put(struct strmap *m, const char *key, void *val, void **old_r)
{
	size_t hash = strmap_hash(key), klen;
	struct strmap_ent **pe = strmap_slot(m, key, hash), *e;

	if (old_r)
		*old_r = NULL;
	if (*pe) {
		if (old_r)
			*old_r = (*pe)->val;
		(*pe)->val = val;
		return 0;
	}
	klen = strlen(key) + 1;
	e = malloc(sizeof(*e) + klen);
	if (!e)
		return -ENOMEM;
	memcpy(e->key, key, klen);
	e->hash = hash;
	e->val = val;
	e->next = NULL;
	*pe = e;
	if (++m->count > m->nbuckets)
		strmap_grow(m);
	return 0;
}

void *strmap_del(struct strmap *m, const char *key)
{
	struct strmap_ent **pe = strmap_slot(m, key, strmap_hash(key)), *e = *pe;
	void *val;

	if (!e)
		return NULL;
	*pe = e->next;
	val = e->val;
	free(e);
	m->count--;
	return val;
}

int strmap_foreach(const struct strmap *m, int (*fn)(const char *key, void *val, void *arg),
		   void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < m->nbuckets; i++) {
		struct strmap_ent *e;

		for (e = m->buckets[i]; e; e = e->next) {
			rc = fn(e->key, e->val, arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}
