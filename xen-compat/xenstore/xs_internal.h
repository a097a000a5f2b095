/* Private to xen-compat/xenstore: the engine's data structures. */
#ifndef XS_INTERNAL_H
#define XS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

#include "xenkvm/xenstore.h"

/* ---- strmap.c: string-keyed hash map (keys copied, values borrowed) ---- */
struct strmap_ent {
	struct strmap_ent *next;
	size_t hash;
	void *val;
	char key[];
};

struct strmap {
	struct strmap_ent **buckets;
	size_t nbuckets;
	size_t count;
};

int strmap_init(struct strmap *m);
/* Calls free_val (if given) on every value. */
void strmap_destroy(struct strmap *m, void (*free_val)(void *val));
void *strmap_get(const struct strmap *m, const char *key);
/* Inserts or replaces; the replaced value is returned in *old_r (or NULL). */
int strmap_put(struct strmap *m, const char *key, void *val, void **old_r);
void *strmap_del(struct strmap *m, const char *key);
/* fn may change values but not insert or delete; nonzero return stops. */
int strmap_foreach(const struct strmap *m, int (*fn)(const char *key, void *val, void *arg),
		   void *arg);

/* ---- node records (store.c) ------------------------------------------- */
#define XS_GEN_NONE UINT64_MAX   /* "did not exist" in a transaction's read set */

/* One node's contents, keyed by absolute path (like xenstored's TDB). */
struct xs_rec {
	uint64_t gen;             /* store generation of the last change */
	struct xs_perm *perms;    /* nperms >= 1 */
	unsigned int nperms;
	unsigned int datalen;
	unsigned int childlen;
	char *data;
	char *children;           /* leaf names, each NUL-terminated, in creation order */
};

struct xs_rec *xs_rec_new(void);
struct xs_rec *xs_rec_dup(const struct xs_rec *r);
void xs_rec_free(struct xs_rec *r);
void xs_rec_free_void(void *r);

/* ---- watches (watch.c) ---------------------------------------------- */
struct xs_watch {
	struct xs_watch *next;
	char *path;               /* absolute, or @special */
	char *token;
	bool relative;            /* events are reported relative to the domain's home */
};

/* ---- transactions (transaction.c) ----------------------------------- */
struct xs_tx_ent {
	uint64_t gen_seen;        /* main store's gen when first touched, or XS_GEN_NONE */
	bool modified;
	struct xs_rec *rec;       /* the new contents if modified; NULL: deleted */
};

struct xs_tx_event {
	struct xs_tx_event *next;
	bool exact;
	unsigned int nperms;
	struct xs_perm *perms;    /* node's permissions at the change, or NULL */
	char path[];
};

struct xs_tx {
	struct xs_tx *next;
	uint32_t id;
	struct strmap ents;       /* path -> struct xs_tx_ent */
	unsigned int nr_ents;
	int node_delta;           /* nodes the client's domain gains on commit */
	struct xs_tx_event *ev_head;
	struct xs_tx_event **ev_tail;
	bool doomed;              /* restored from a saved stream: commit fails with EAGAIN */
};

/* ---- store & clients ------------------------------------------------ */
struct xs_domstate {
	unsigned int domid;
	unsigned int nodes;       /* nodes whose perms[0] owner is this domain */
	int target;               /* SET_TARGET, or -1 */
	bool introduced;
	bool shutdown_fired;      /* @releaseDomain already sent for a shutdown */
};

struct xs_store {
	struct strmap nodes;      /* path -> struct xs_rec */
	uint64_t gen;
	struct xs_quota q;
	struct xs_domstate *doms;
	unsigned int nr_doms;
	unsigned int cap_doms;
	struct xs_client *clients;
	uint32_t next_txid;
	struct xs_store_hooks hooks;
};

struct xs_client {
	struct xs_store *s;
	struct xs_client *next;
	struct xs_client **pprev;
	unsigned int domid;
	bool priv;
	xs_event_fn *event;
	void *opaque;
	struct xs_watch *watches;
	unsigned int nr_watches;
	struct xs_tx *txs;
	unsigned int nr_txs;
};

/* Where an operation reads and writes: the main store or a transaction. */
struct xs_view {
	struct xs_store *s;
	struct xs_client *c;
	struct xs_tx *tx;         /* NULL: main store */
};

/* store.c, shared with transaction.c / watch.c / domain.c */
unsigned int xs_perm_for(const struct xs_store *s, const struct xs_client *c,
			 const struct xs_perm *p, unsigned int n);
/* accounting.c */
struct xs_domstate *xs_dom_find(const struct xs_store *s, unsigned int domid);
struct xs_domstate *xs_dom_get(struct xs_store *s, unsigned int domid); /* creates */
void xs_dom_count(struct xs_store *s, unsigned int domid, int delta);
/* Main-store mutation with accounting; put takes ownership of r. */
int xs_main_put(struct xs_store *s, const char *path, struct xs_rec *r);
void xs_main_del(struct xs_store *s, const char *path);
/* Parent path into buf (size >= strlen(path) + 1); "/" for top level. */
void xs_path_parent(const char *path, char *buf);
/* Canonical absolute form of a client's path (malloc'd). */
int xs_path_canon(const struct xs_client *c, const char *in, bool allow_special, char **out);
bool xs_path_is_child(const char *child, const char *parent);

/* transaction.c */
struct xs_tx *xs_tx_find(const struct xs_client *c, uint32_t txid);
void xs_tx_free(struct xs_tx *tx);
/* An open transaction of a saved client, back under its id but without
 * its reads and writes: ops in it see the current tree, commit answers
 * EAGAIN (store_state.c). */
int xs_tx_restore_doomed(struct xs_client *c, uint32_t txid);
/* The transaction's view of path; records it in the read set. */
int xs_tx_get(struct xs_view *v, const char *path, const struct xs_rec **r);
int xs_tx_put(struct xs_view *v, const char *path, struct xs_rec *r);
int xs_tx_queue_event(struct xs_tx *tx, const char *path, bool exact,
		      const struct xs_perm *perms, unsigned int nperms);

/* watch.c */
void xs_watch_fire(struct xs_store *s, const char *path, bool exact,
		   const struct xs_perm *old_perms, unsigned int nr_old);
void xs_watch_free_all(struct xs_client *c);

/* ---- a connection (wire.c; its saved state: wire_state.c) -------------- */
struct wire_msg {
	struct wire_msg *next;
	bool event;
	size_t len;   /* header + payload */
	size_t done;  /* bytes the transport has taken */
	char buf[];
};

struct xs_conn {
	struct xs_store *s;
	struct xs_client *client;
	const struct xs_transport_ops *ops;
	void *opaque;
	bool priv;
	bool processing;          /* inside xs_conn_process: output follows anyway */
	enum xs_conn_error error;

	bool in_hdr;
	size_t in_used;
	struct xsd_sockmsg hdr;
	char in[XENSTORE_PAYLOAD_MAX + 1]; /* +1: a NUL after any payload */

	struct wire_msg *out_head;
	struct wire_msg **out_tail;
	size_t out_bytes;
	unsigned int out_replies;
	struct xs_buf reply;
	struct xs_conn_stats stats;
};

void xs_conn_drop_output(struct xs_conn *conn);

#endif
