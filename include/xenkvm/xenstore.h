/*
 * XenStore: the engine (tree, permissions, transactions, watches, quotas;
 * no I/O) and the wire layer (struct xsd_sockmsg framing, one request
 * table, one error path) on top of a transport-agnostic connection.
 * Transports: xs_socket.h (unix socket, dom0 tools) and xs_ring.h (a
 * guest's xenstore_domain_interface page).  domain.c populates the store
 * for a new domain the way xl does.
 *
 * Threading: a store and everything attached to it (clients, connections,
 * transports) must be driven from one thread at a time; the caller
 * serialises.  Watch-event callbacks run inside store calls and must not
 * call back into the store.
 *
 * All functions return 0 or -errno unless said otherwise.
 */
#ifndef XENKVM_XENSTORE_H
#define XENKVM_XENSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct xs_store;
struct xs_client;
struct xs_conn;

/* Permission bits of one entry (xenstore.txt: n/r/w/b). */
#define XS_P_NONE   0u
#define XS_P_READ   1u
#define XS_P_WRITE  2u
#define XS_P_BOTH   (XS_P_READ | XS_P_WRITE)
#define XS_P_OWNER  4u   /* only ever in a computed access mask */
#define XS_P_IGNORE 8u   /* entry names a released domain: skipped */

#define XS_DOMID_MAX 0xffffu

/* perms[0]: owner, and the access of every domain not listed after it. */
struct xs_perm {
	unsigned int domid;
	unsigned int perms;
};

/* xenstored's defaults (xs_quota_default); 0 in a field means "no limit"
 * (only code can set it: xs_quota_set refuses it). */
struct xs_quota {
	unsigned int nodes_per_domain;      /* 1000 */
	unsigned int node_size;             /* 2048: data + children + perms */
	unsigned int path_max;              /* 2048, below /local/domain/N/ */
	unsigned int watches_per_conn;      /* 128 */
	unsigned int transactions_per_conn; /* 10 */
	unsigned int outstanding_per_conn;  /* 20 replies not yet consumed */
	unsigned int perms_per_node;        /* 5 */
	unsigned int nodes_per_transaction; /* 1024 nodes touched */
	unsigned int out_queue_bytes;       /* 1 MiB of queued output */
};
void xs_quota_default(struct xs_quota *q);
/* The largest output-bytes an assignment may set: every socket client may
 * queue this much, so a value near UINT32_MAX is no bound at all. */
#define XS_QUOTA_OUTPUT_BYTES_MAX (64u << 20)
/* "nodes=1000" style; -EINVAL for an unknown name, a bad number, 0 (which
 * would remove the bound) or output-bytes above XS_QUOTA_OUTPUT_BYTES_MAX. */
int xs_quota_set(struct xs_quota *q, const char *assignment);

/* A growable byte buffer that engine calls append their results to. */
struct xs_buf {
	char *data;
	size_t len;
	size_t cap;
};
int xs_buf_put(struct xs_buf *b, const void *p, size_t n);
void xs_buf_free(struct xs_buf *b);

/* Called when the daemon must act on INTRODUCE/RELEASE from a tool. */
struct xs_store_hooks {
	int (*introduce)(void *opaque, unsigned int domid, uint64_t mfn, unsigned int port);
	void (*release)(void *opaque, unsigned int domid);
	void *opaque;
};

/* ---- store ---------------------------------------------------------- */
struct xs_store *xs_store_new(const struct xs_quota *q /* NULL: defaults */);
void xs_store_free(struct xs_store *s);
void xs_store_set_hooks(struct xs_store *s, const struct xs_store_hooks *h);
const struct xs_quota *xs_store_quota(const struct xs_store *s);
int xs_store_quota_set(struct xs_store *s, const char *assignment);
/* Node records alive in all stores and transactions of this process. */
long xs_node_count(void);
/* Nodes currently owned by domid (quota accounting). */
unsigned int xs_store_domain_nodes(const struct xs_store *s, unsigned int domid);
/* Walks the whole tree checking parent/child links and the node
 * accounting: 0, or -EIO with a log line naming the first fault. */
int xs_store_check(struct xs_store *s);

/* ---- clients: one per connection or in-process user ------------------ */
typedef void xs_event_fn(void *opaque, const char *path, const char *token);
struct xs_client *xs_client_new(struct xs_store *s, unsigned int domid, bool privileged,
				xs_event_fn *event, void *opaque);
/* Drops the client's watches and transactions. */
void xs_client_free(struct xs_client *c);
unsigned int xs_client_domid(const struct xs_client *c);
bool xs_client_privileged(const struct xs_client *c);
/* Does the client hold watches or open transactions (state a disconnect loses)? */
bool xs_client_has_state(const struct xs_client *c);

/* ---- operations (txid 0: outside any transaction) --------------------- */
/* Paths may be relative (to /local/domain/<domid>). */
int xs_store_read(struct xs_client *c, uint32_t txid, const char *path, struct xs_buf *out);
int xs_store_write(struct xs_client *c, uint32_t txid, const char *path,
		   const void *data, size_t len);
int xs_store_mkdir(struct xs_client *c, uint32_t txid, const char *path);
int xs_store_rm(struct xs_client *c, uint32_t txid, const char *path);
/* Children's leaf names, each NUL-terminated. */
int xs_store_directory(struct xs_client *c, uint32_t txid, const char *path, struct xs_buf *out);
/* "<gen>\0" then the names from byte offset `offset` that fit in a
 * 4096-byte payload; a final extra NUL marks the end of the list. */
int xs_store_directory_part(struct xs_client *c, uint32_t txid, const char *path,
			    unsigned long offset, struct xs_buf *out);
/* "b0\0r5\0..." */
int xs_store_get_perms(struct xs_client *c, uint32_t txid, const char *path, struct xs_buf *out);
int xs_store_set_perms(struct xs_client *c, uint32_t txid, const char *path,
		       const struct xs_perm *perms, unsigned int nr);
/* Parses `len` bytes of NUL-terminated "r5" strings into a malloc'd array. */
int xs_perms_parse(const char *strs, size_t len, struct xs_perm **perms_r, unsigned int *nr_r);

int xs_tx_start(struct xs_client *c, uint32_t *txid_r);
/* commit=false aborts.  -EAGAIN: a node this transaction read or wrote
 * changed meanwhile; nothing was applied.  The id is gone either way. */
int xs_tx_end(struct xs_client *c, uint32_t txid, bool commit);
bool xs_tx_exists(const struct xs_client *c, uint32_t txid);

int xs_watch_add(struct xs_client *c, const char *path, const char *token);
/* The event Xen sends once right after registering. */
void xs_watch_fire_initial(struct xs_client *c, const char *path, const char *token);
int xs_watch_remove(struct xs_client *c, const char *path, const char *token);
/* XS_RESET_WATCHES: drops all watches and transactions of the client. */
void xs_client_reset(struct xs_client *c);

/* ---- domains as xenstored sees them ---------------------------------- */
/* Fires @introduceDomain (once per introduction). */
int xs_store_introduce(struct xs_store *s, unsigned int domid);
/* -ENOENT if not introduced; fires @releaseDomain; nodes the domain owned
 * become dom0's and permission entries naming it are ignored. */
int xs_store_release(struct xs_store *s, unsigned int domid);
bool xs_store_is_introduced(const struct xs_store *s, unsigned int domid);
int xs_store_set_target(struct xs_store *s, unsigned int domid, unsigned int target);
/* Fires @releaseDomain for a domain that shut down (not yet released). */
void xs_store_domain_shutdown(struct xs_store *s, unsigned int domid);
int xs_store_resume(struct xs_store *s, unsigned int domid);

/* ---- wire layer: a connection speaking struct xsd_sockmsg ------------ */
/*
 * The transport (xenstored's interface_funcs): read/write move bytes and
 * return how many moved (0: would block), or -errno: the connection is
 * broken and will be dropped.
 */
struct xs_transport_ops {
	ssize_t (*read)(void *opaque, void *buf, size_t len);
	ssize_t (*write)(void *opaque, const void *buf, size_t len);
	/* Optional: output (a watch event) was queued from outside
	 * xs_conn_process(); arrange for it to be called soon.  Must not call
	 * into the store from here. */
	void (*kick)(void *opaque);
};

/* Why a connection stopped being served (xs_wire.h XENSTORE_ERROR_*). */
enum xs_conn_error {
	XS_CONN_OK = 0,
	XS_CONN_ECOMM = 1,    /* transport failed */
	XS_CONN_ERINGIDX = 2, /* transport reported bad indices */
	XS_CONN_EPROTO = 3,   /* payload over XENSTORE_PAYLOAD_MAX */
};

struct xs_conn_stats {
	unsigned long requests;
	unsigned long errors;       /* XS_ERROR replies sent */
	unsigned long events;       /* watch events queued */
	unsigned long events_dropped;
};

struct xs_conn *xs_conn_new(struct xs_store *s, unsigned int domid, bool privileged,
			    const struct xs_transport_ops *ops, void *opaque);
void xs_conn_free(struct xs_conn *conn);
/* Reads and executes requests until the transport has no more input or
 * too many replies are waiting, then writes what it can.  Returns 1 if it
 * made progress, 0 if not, -EPIPE once the connection is dead. */
int xs_conn_process(struct xs_conn *conn);
bool xs_conn_want_write(const struct xs_conn *conn);
/* True when input is being held back until queued replies drain. */
bool xs_conn_stalled(const struct xs_conn *conn);
enum xs_conn_error xs_conn_error(const struct xs_conn *conn);
/* Forget partial messages, queued output, watches and transactions. */
void xs_conn_reset(struct xs_conn *conn);
struct xs_client *xs_conn_client(struct xs_conn *conn);
const struct xs_conn_stats *xs_conn_stats(const struct xs_conn *conn);

/* ---- domain population (domain.c) ----------------------------------- */
struct xs_domain_info {
	unsigned int domid;
	const char *name;
	const char *uuid;            /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
	uint64_t max_memkb;
	uint64_t target_memkb;
	uint64_t video_memkb;
	unsigned int vcpus;
	uint64_t avail_vcpus;        /* bit N: vcpu N online; 0 means all */
	uint64_t store_pfn;
	unsigned int store_port;
	bool hvm;
};
/* /local/domain/0 (Domain-0), /vm/<dom0 uuid>, /tool. */
int xs_domain_populate_dom0(struct xs_store *s);
/* The nodes xl writes for a new guest, then INTRODUCE (@introduceDomain). */
int xs_domain_populate(struct xs_store *s, const struct xs_domain_info *info);
/* libxl's frontend/backend pair: /local/domain/<domid>/device/<kind>/<devid>
 * (owned by the guest, readable by the backend) and
 * /local/domain/<backend>/backend/<kind>/<domid>/<devid> (the reverse),
 * linked by "backend"/"frontend" nodes; *_kv are NULL-terminated
 * key, value, key, value, ... lists written inside each. */
int xs_domain_add_device(struct xs_store *s, unsigned int domid, unsigned int backend_domid,
			 const char *kind, unsigned int devid,
			 const char *const *frontend_kv, const char *const *backend_kv);
/* Removes the guest's nodes and releases it (@releaseDomain). */
int xs_domain_destroy(struct xs_store *s, unsigned int domid);
/* Writes /local/domain/<domid>/<rel> = value as the toolstack (domain 0):
 * control/sysrq, memory/target (KiB, xl mem-set), ... */
int xs_domain_write(struct xs_store *s, unsigned int domid, const char *rel, const char *value);
/* Whether the guest wrote /local/domain/<domid>/<rel> = "1" (its drivers'
 * control/feature-poweroff and the like). */
bool xs_domain_feature(struct xs_store *s, unsigned int domid, const char *rel);
/* "poweroff", "reboot", "suspend", "halt" or "crash": what control/shutdown takes. */
bool xs_shutdown_reason_valid(const char *reason);
/* Writes control/shutdown = reason; -EINVAL for any other reason. */
int xs_domain_request_shutdown(struct xs_store *s, unsigned int domid, const char *reason);

#endif
