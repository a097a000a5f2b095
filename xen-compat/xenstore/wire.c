/*
 * The XenStore wire protocol on one connection: framing of struct
 * xsd_sockmsg + payload, validation, one request table, one error path,
 * and the output queue of replies and watch events.  The transport is a
 * pair of callbacks (xenstored's interface_funcs), so a unix socket and a
 * guest's shared ring are served by the same code.
 *
 * A payload over XENSTORE_PAYLOAD_MAX kills the connection, as xenstored
 * does: after it the byte stream cannot be resynchronised.  Everything
 * else a client can get wrong earns an XS_ERROR reply.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "xenkvm/log.h"
#include "xs_internal.h"

/* A handler that queued its own reply (WATCH must precede its first event). */
#define WIRE_REPLIED 1

/* Bounds a single xs_conn_process() call, so one chatty client cannot
 * starve the others served by the same thread. */
#define WIRE_MAX_ROUNDS 64

/* A request as handlers see it: the payload has a NUL after its end. */
struct wire_req {
	uint32_t type;
	uint32_t req_id;
	uint32_t tx_id;
	uint32_t len;
	const char *data;
};

/* Payload shapes (xenstore.txt notation). */
enum wire_args {
	ARGS_ANY,      /* ignored or free-form */
	ARGS_ONE,      /* <path>| : exactly one string, the NUL last */
	ARGS_MIN1,     /* <path>|<value|> and friends */
	ARGS_MIN2,
	ARGS_MIN3,
	ARGS_TWO,      /* exactly two strings (trailing unterminated bytes ignored) */
};

#define WIRE_PRIV  (1u << 0)  /* dom0 only */
#define WIRE_NOTID (1u << 1)  /* tx_id is ignored */

struct wire_op {
	const char *name;
	int (*fn)(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep);
	unsigned int flags;
	enum wire_args args;
};

/* ---- output --------------------------------------------------------------- */

static int wire_queue(struct xs_conn *conn, uint32_t type, uint32_t req_id, uint32_t tx_id,
		      const void *data, size_t len, bool event)
{
	struct xsd_sockmsg h = { .type = type, .req_id = req_id, .tx_id = tx_id,
				 .len = (uint32_t)len };
	struct wire_msg *m = malloc(sizeof(*m) + sizeof(h) + len);

	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->event = event;
	m->len = sizeof(h) + len;
	m->done = 0;
	memcpy(m->buf, &h, sizeof(h));
	if (len)
		memcpy(m->buf + sizeof(h), data, len);
	*conn->out_tail = m;
	conn->out_tail = &m->next;
	conn->out_bytes += m->len;
	if (!event)
		conn->out_replies++;
	return 0;
}

/* The one error path: errno -> its xsd_errors name, EINVAL if unknown. */
static void wire_send_error(struct xs_conn *conn, const struct wire_req *req, int err)
{
	const char *name = xsd_errors[0].errstring;
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++) {
		if (xsd_errors[i].errnum == err) {
			name = xsd_errors[i].errstring;
			break;
		}
	}
	conn->stats.errors++;
	pr_trace(TRACE_XS, "xenstore: d%u: req %u -> %s", xs_client_domid(conn->client),
		 req->req_id, name);
	if (wire_queue(conn, XS_ERROR, req->req_id, req->tx_id, name, strlen(name) + 1, false))
		pr_err_rl("xenstore: d%u: no memory for an error reply",
			  xs_client_domid(conn->client));
}

static void wire_send_reply(struct xs_conn *conn, const struct wire_req *req,
			    const void *data, size_t len)
{
	if (len > XENSTORE_PAYLOAD_MAX) {
		wire_send_error(conn, req, E2BIG);
		return;
	}
	if (wire_queue(conn, req->type, req->req_id, req->tx_id, data, len, false))
		wire_send_error(conn, req, ENOMEM);
}

static void wire_event(void *opaque, const char *path, const char *token)
{
	struct xs_conn *conn = opaque;
	size_t plen = strlen(path) + 1, tlen = strlen(token) + 1;
	const struct xs_quota *q = xs_store_quota(conn->s);
	char *buf;

	if (plen + tlen > XENSTORE_PAYLOAD_MAX)
		return; /* xenstored never sends over-long events either */
	if (q->out_queue_bytes && conn->out_bytes + plen + tlen > q->out_queue_bytes) {
		conn->stats.events_dropped++;
		pr_warn_rl("xenstore: d%u: output queue full, watch event %s dropped",
			   xs_client_domid(conn->client), path);
		return;
	}
	buf = malloc(plen + tlen);
	if (buf) {
		memcpy(buf, path, plen);
		memcpy(buf + plen, token, tlen);
	}
	if (!buf || wire_queue(conn, XS_WATCH_EVENT, 0, 0, buf, plen + tlen, true)) {
		conn->stats.events_dropped++;
		free(buf);
		return;
	}
	free(buf);
	if (!conn->processing && conn->ops->kick)
		conn->ops->kick(conn->opaque);
	conn->stats.events++;
}

static const char *ok_reply = "OK";

static int reply_ok(struct xs_buf *rep)
{
	return xs_buf_put(rep, ok_reply, 3);
}

/* ---- argument helpers ----------------------------------------------------- */

static unsigned int count_strings(const char *p, size_t len)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += !p[i];
	return n;
}

static bool args_ok(enum wire_args a, const struct wire_req *req)
{
	unsigned int n = count_strings(req->data, req->len);

	switch (a) {
	case ARGS_ANY:
		return true;
	case ARGS_ONE:
		return req->len && strlen(req->data) + 1 == req->len;
	case ARGS_MIN1:
		return n >= 1;
	case ARGS_MIN2:
		return n >= 2;
	case ARGS_MIN3:
		return n >= 3;
	case ARGS_TWO:
		return n == 2;
	}
	return false;
}

/* i-th NUL-terminated string of the payload (caller checked the count). */
static const char *arg(const struct wire_req *req, unsigned int i)
{
	const char *p = req->data;

	while (i--)
		p += strlen(p) + 1;
	return p;
}

/* Strict decimal: xenstore.txt lets servers reject what atoi() would guess. */
static int parse_ulong(const char *s, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (max - (unsigned long)(*s - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (unsigned long)(*s - '0');
	}
	*v = x;
	return 0;
}

static int parse_domid(const char *s, unsigned int *domid)
{
	unsigned long v;
	int rc = parse_ulong(s, XS_DOMID_MAX, &v);

	if (!rc)
		*domid = (unsigned int)v;
	return rc;
}

/* ---- handlers ------------------------------------------------------------- */

static int do_read(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	return xs_store_read(conn->client, req->tx_id, req->data, rep);
}

static int do_write(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	size_t plen = strlen(req->data) + 1;
	int rc = xs_store_write(conn->client, req->tx_id, req->data, req->data + plen,
				req->len - plen);

	return rc ? rc : reply_ok(rep);
}

static int do_mkdir(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	int rc = xs_store_mkdir(conn->client, req->tx_id, req->data);

	return rc ? rc : reply_ok(rep);
}

static int do_rm(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	int rc = xs_store_rm(conn->client, req->tx_id, req->data);

	return rc ? rc : reply_ok(rep);
}

static int do_directory(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	return xs_store_directory(conn->client, req->tx_id, req->data, rep);
}

static int do_directory_part(struct xs_conn *conn, const struct wire_req *req,
			     struct xs_buf *rep)
{
	unsigned long off;

	if (parse_ulong(arg(req, 1), UINT32_MAX, &off))
		return -EINVAL;
	return xs_store_directory_part(conn->client, req->tx_id, req->data, off, rep);
}

static int do_get_perms(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	return xs_store_get_perms(conn->client, req->tx_id, req->data, rep);
}

static int do_set_perms(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	size_t plen = strlen(req->data) + 1;
	struct xs_perm *perms = NULL;
	unsigned int nr;
	int rc;

	rc = xs_perms_parse(req->data + plen, req->len - plen, &perms, &nr);
	if (!rc)
		rc = xs_store_set_perms(conn->client, req->tx_id, req->data, perms, nr);
	free(perms);
	return rc ? rc : reply_ok(rep);
}

static int do_watch(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	int rc = xs_watch_add(conn->client, req->data, arg(req, 1));

	if (rc)
		return rc;
	/* Xen sends the ack, then fires the new watch once. */
	wire_send_reply(conn, req, ok_reply, 3);
	xs_watch_fire_initial(conn->client, req->data, arg(req, 1));
	return WIRE_REPLIED;
}

static int do_unwatch(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	int rc = xs_watch_remove(conn->client, req->data, arg(req, 1));

	return rc ? rc : reply_ok(rep);
}

static int do_tx_start(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	char id[16];
	uint32_t txid;
	int rc;

	if (req->tx_id)
		return -EBUSY; /* no nesting */
	rc = xs_tx_start(conn->client, &txid);
	if (rc)
		return rc;
	return xs_buf_put(rep, id, (size_t)snprintf(id, sizeof(id), "%" PRIu32, txid) + 1);
}

static int do_tx_end(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	int rc;

	if (strcmp(req->data, "T") && strcmp(req->data, "F"))
		return -EINVAL;
	if (!req->tx_id)
		return -ENOENT;
	rc = xs_tx_end(conn->client, req->tx_id, req->data[0] == 'T');
	return rc ? rc : reply_ok(rep);
}

static int do_introduce(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	const struct xs_store_hooks *h = &conn->s->hooks;
	unsigned long mfn, port;
	unsigned int domid;
	int rc;

	/* mfn is "signed decimal" in xenstore.txt: accept an optional '-'. */
	if (parse_domid(arg(req, 0), &domid) || !domid || domid >= XS_DOMID_MAX ||
	    parse_ulong(arg(req, 1) + (arg(req, 1)[0] == '-'), UINT64_MAX, &mfn) ||
	    parse_ulong(arg(req, 2), UINT32_MAX, &port))
		return -EINVAL;
	if (h->introduce && !xs_store_is_introduced(conn->s, domid)) {
		rc = h->introduce(h->opaque, domid, mfn, (unsigned int)port);
		if (rc)
			return rc;
	}
	rc = xs_store_introduce(conn->s, domid);
	return rc ? rc : reply_ok(rep);
}

static int do_release(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	const struct xs_store_hooks *h = &conn->s->hooks;
	unsigned int domid;
	int rc;

	if (parse_domid(req->data, &domid))
		return -EINVAL;
	rc = xs_store_release(conn->s, domid);
	if (rc)
		return rc;
	if (h->release)
		h->release(h->opaque, domid);
	return reply_ok(rep);
}

static int do_get_domain_path(struct xs_conn *conn, const struct wire_req *req,
			      struct xs_buf *rep)
{
	char path[32];
	unsigned int domid;

	if (parse_domid(req->data, &domid))
		return -EINVAL;
	return xs_buf_put(rep, path, (size_t)snprintf(path, sizeof(path), "/local/domain/%u",
						      domid) + 1);
}

static int do_is_introduced(struct xs_conn *conn, const struct wire_req *req,
			    struct xs_buf *rep)
{
	unsigned int domid;

	if (parse_domid(req->data, &domid))
		return -EINVAL;
	return xs_buf_put(rep, xs_store_is_introduced(conn->s, domid) ? "T" : "F", 2);
}

static int do_resume(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	unsigned int domid;
	int rc;

	if (parse_domid(req->data, &domid))
		return -EINVAL;
	rc = xs_store_resume(conn->s, domid);
	return rc ? rc : reply_ok(rep);
}

static int do_set_target(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	unsigned int domid, target;
	int rc;

	if (parse_domid(arg(req, 0), &domid) || parse_domid(arg(req, 1), &target))
		return -EINVAL;
	rc = xs_store_set_target(conn->s, domid, target);
	return rc ? rc : reply_ok(rep);
}

static int do_reset_watches(struct xs_conn *conn, const struct wire_req *req,
			    struct xs_buf *rep)
{
	xs_client_reset(conn->client);
	return reply_ok(rep);
}

static int do_control(struct xs_conn *conn, const struct wire_req *req, struct xs_buf *rep)
{
	unsigned int nargs = count_strings(req->data, req->len) - 1;
	const char *cmd = req->data;
	const struct xs_quota *q = xs_store_quota(conn->s);
	char text[512];
	int n;

	if (!strcmp(cmd, "print") && nargs >= 1) {
		pr_info("xenstore: control print: %s", arg(req, 1));
		return reply_ok(rep);
	}
	if (!strcmp(cmd, "log") && nargs <= 1)
		return reply_ok(rep); /* our log is the daemon's; nothing to switch */
	if (!strcmp(cmd, "check") && !nargs)
		return xs_store_check(conn->s) ? -EIO : reply_ok(rep);
	if (!strcmp(cmd, "help") && !nargs) {
		static const char help[] = "check\nhelp\nlog [on|off]\nmemreport\nprint <string>\n"
					   "quota [<name>=<value>]\n";
		return xs_buf_put(rep, help, sizeof(help));
	}
	if (!strcmp(cmd, "memreport") && nargs <= 1) {
		n = snprintf(text, sizeof(text), "nodes allocated: %ld\n", xs_node_count());
		return xs_buf_put(rep, text, (size_t)n + 1);
	}
	if (!strcmp(cmd, "quota") && !nargs) {
		n = snprintf(text, sizeof(text),
			     "nodes=%u\nnode-size=%u\npath-length=%u\nwatches=%u\n"
			     "transactions=%u\noutstanding=%u\nnode-permissions=%u\n"
			     "transaction-nodes=%u\noutput-bytes=%u\n",
			     q->nodes_per_domain, q->node_size, q->path_max, q->watches_per_conn,
			     q->transactions_per_conn, q->outstanding_per_conn, q->perms_per_node,
			     q->nodes_per_transaction, q->out_queue_bytes);
		return xs_buf_put(rep, text, (size_t)n + 1);
	}
	if (!strcmp(cmd, "quota") && nargs == 1) {
		if (xs_store_quota_set(conn->s, arg(req, 1)))
			return -EINVAL;
		return reply_ok(rep);
	}
	return -EINVAL;
}

/* ---- the request table ------------------------------------------------------ */

static const struct wire_op wire_ops[XS_TYPE_COUNT] = {
	[XS_CONTROL]              = { "CONTROL", do_control, WIRE_PRIV, ARGS_MIN1 },
	[XS_DIRECTORY]            = { "DIRECTORY", do_directory, 0, ARGS_ONE },
	[XS_READ]                 = { "READ", do_read, 0, ARGS_ONE },
	[XS_GET_PERMS]            = { "GET_PERMS", do_get_perms, 0, ARGS_ONE },
	[XS_WATCH]                = { "WATCH", do_watch, WIRE_NOTID, ARGS_TWO },
	[XS_UNWATCH]              = { "UNWATCH", do_unwatch, WIRE_NOTID, ARGS_TWO },
	[XS_TRANSACTION_START]    = { "TRANSACTION_START", do_tx_start, 0, ARGS_ANY },
	[XS_TRANSACTION_END]      = { "TRANSACTION_END", do_tx_end, 0, ARGS_ONE },
	[XS_INTRODUCE]            = { "INTRODUCE", do_introduce, WIRE_PRIV, ARGS_MIN3 },
	[XS_RELEASE]              = { "RELEASE", do_release, WIRE_PRIV, ARGS_ONE },
	[XS_GET_DOMAIN_PATH]      = { "GET_DOMAIN_PATH", do_get_domain_path, 0, ARGS_ONE },
	[XS_WRITE]                = { "WRITE", do_write, 0, ARGS_MIN1 },
	[XS_MKDIR]                = { "MKDIR", do_mkdir, 0, ARGS_ONE },
	[XS_RM]                   = { "RM", do_rm, 0, ARGS_ONE },
	[XS_SET_PERMS]            = { "SET_PERMS", do_set_perms, 0, ARGS_MIN2 },
	[XS_WATCH_EVENT]          = { "WATCH_EVENT", NULL, 0, ARGS_ANY },
	[XS_ERROR]                = { "ERROR", NULL, 0, ARGS_ANY },
	[XS_IS_DOMAIN_INTRODUCED] = { "IS_DOMAIN_INTRODUCED", do_is_introduced, WIRE_PRIV, ARGS_ONE },
	[XS_RESUME]               = { "RESUME", do_resume, WIRE_PRIV, ARGS_ONE },
	[XS_SET_TARGET]           = { "SET_TARGET", do_set_target, WIRE_PRIV, ARGS_TWO },
	[XS_RESET_WATCHES]        = { "RESET_WATCHES", do_reset_watches, 0, ARGS_ANY },
	[XS_DIRECTORY_PART]       = { "DIRECTORY_PART", do_directory_part, 0, ARGS_TWO },
};

static void wire_dispatch(struct xs_conn *conn)
{
	const struct wire_req req = {
		.type = conn->hdr.type, .req_id = conn->hdr.req_id,
		.tx_id = conn->hdr.tx_id, .len = conn->hdr.len, .data = conn->in,
	};
	const struct wire_op *op = req.type < XS_TYPE_COUNT ? &wire_ops[req.type] : NULL;
	int rc;

	conn->in[req.len] = 0;
	conn->stats.requests++;
	conn->reply.len = 0;
	pr_trace(TRACE_XS, "xenstore: d%u: %s req %u tx %u len %u",
		 xs_client_domid(conn->client), op && op->name ? op->name : "?",
		 req.req_id, req.tx_id, req.len);

	if (!op || !op->fn)
		rc = -ENOSYS;
	else if ((op->flags & WIRE_PRIV) && !conn->priv)
		rc = -EACCES;
	else if (!(op->flags & WIRE_NOTID) && req.tx_id && !xs_tx_exists(conn->client, req.tx_id))
		rc = -ENOENT;
	else if (!args_ok(op->args, &req))
		rc = -EINVAL;
	else
		rc = op->fn(conn, &req, &conn->reply);

	if (rc < 0)
		wire_send_error(conn, &req, -rc);
	else if (rc != WIRE_REPLIED)
		wire_send_reply(conn, &req, conn->reply.data, conn->reply.len);
}

/* ---- connection ------------------------------------------------------------- */

struct xs_conn *xs_conn_new(struct xs_store *s, unsigned int domid, bool privileged,
			    const struct xs_transport_ops *ops, void *opaque)
{
	struct xs_conn *conn = calloc(1, sizeof(*conn));

	if (!conn)
		return NULL;
	conn->client = xs_client_new(s, domid, privileged, wire_event, conn);
	if (!conn->client) {
		free(conn);
		return NULL;
	}
	conn->s = s;
	conn->ops = ops;
	conn->opaque = opaque;
	conn->priv = privileged;
	conn->in_hdr = true;
	conn->out_tail = &conn->out_head;
	return conn;
}

void xs_conn_drop_output(struct xs_conn *conn)
{
	struct wire_msg *m;

	while ((m = conn->out_head)) {
		conn->out_head = m->next;
		free(m);
	}
	conn->out_tail = &conn->out_head;
	conn->out_bytes = 0;
	conn->out_replies = 0;
}

void xs_conn_reset(struct xs_conn *conn)
{
	conn->in_hdr = true;
	conn->in_used = 0;
	xs_conn_drop_output(conn);
	xs_client_reset(conn->client);
	conn->error = XS_CONN_OK;
}

void xs_conn_free(struct xs_conn *conn)
{
	if (!conn)
		return;
	xs_conn_drop_output(conn);
	xs_client_free(conn->client);
	xs_buf_free(&conn->reply);
	free(conn);
}

static void conn_fail(struct xs_conn *conn, enum xs_conn_error err)
{
	if (conn->error)
		return;
	conn->error = err;
	/* Nothing more will be read or sent: give back watches & transactions. */
	xs_conn_drop_output(conn);
	xs_client_reset(conn->client);
}

bool xs_conn_stalled(const struct xs_conn *conn)
{
	const struct xs_quota *q = xs_store_quota(conn->s);

	if (!conn->priv && q->outstanding_per_conn && conn->out_replies >= q->outstanding_per_conn)
		return true;
	return q->out_queue_bytes && conn->out_bytes >= q->out_queue_bytes;
}

/* 1: progress, 0: none, -1: connection failed. */
static int conn_input(struct xs_conn *conn)
{
	unsigned int handled = 0;
	int progress = 0;
	ssize_t n;

	while (!conn->error && !xs_conn_stalled(conn) && handled < WIRE_MAX_ROUNDS) {
		if (conn->in_hdr) {
			n = conn->ops->read(conn->opaque, (char *)&conn->hdr + conn->in_used,
					    sizeof(conn->hdr) - conn->in_used);
		} else if (conn->in_used < conn->hdr.len) {
			n = conn->ops->read(conn->opaque, conn->in + conn->in_used,
					    conn->hdr.len - conn->in_used);
		} else {
			n = 0; /* a zero-length payload: complete already */
		}
		if (n < 0) {
			conn_fail(conn, n == -EIO ? XS_CONN_ERINGIDX : XS_CONN_ECOMM);
			return -1;
		}
		conn->in_used += (size_t)n;
		if (n)
			progress = 1;
		if (conn->in_hdr) {
			if (conn->in_used < sizeof(conn->hdr))
				break;
			if (conn->hdr.len > XENSTORE_PAYLOAD_MAX) {
				pr_err_rl("xenstore: d%u: payload of %u bytes, dropping the connection",
					  xs_client_domid(conn->client), conn->hdr.len);
				conn_fail(conn, XS_CONN_EPROTO);
				return -1;
			}
			conn->in_hdr = false;
			conn->in_used = 0;
			progress = 1;
		}
		if (conn->in_used < conn->hdr.len)
			break;
		wire_dispatch(conn);
		handled++;
		conn->in_hdr = true;
		conn->in_used = 0;
	}
	return progress;
}

static int conn_output(struct xs_conn *conn)
{
	int progress = 0;
	struct wire_msg *m;
	ssize_t n;

	while (!conn->error && (m = conn->out_head)) {
		n = conn->ops->write(conn->opaque, m->buf + m->done, m->len - m->done);
		if (n < 0) {
			conn_fail(conn, n == -EIO ? XS_CONN_ERINGIDX : XS_CONN_ECOMM);
			return -1;
		}
		if (!n)
			break;
		progress = 1;
		m->done += (size_t)n;
		if (m->done < m->len)
			continue;
		conn->out_head = m->next;
		if (!conn->out_head)
			conn->out_tail = &conn->out_head;
		conn->out_bytes -= m->len;
		if (!m->event)
			conn->out_replies--;
		free(m);
	}
	return progress;
}

int xs_conn_process(struct xs_conn *conn)
{
	int progress = 0, round, in, out;

	conn->processing = true;
	for (round = 0; round < WIRE_MAX_ROUNDS && !conn->error; round++) {
		out = conn_output(conn);
		in = conn_input(conn);
		if (in > 0)
			out |= conn_output(conn);
		if (in <= 0 && out <= 0)
			break;
		progress = 1;
	}
	conn->processing = false;
	return conn->error ? -EPIPE : progress;
}

bool xs_conn_want_write(const struct xs_conn *conn)
{
	return !conn->error && conn->out_head;
}

enum xs_conn_error xs_conn_error(const struct xs_conn *conn)
{
	return conn->error;
}

struct xs_client *xs_conn_client(struct xs_conn *conn)
{
	return conn->client;
}

const struct xs_conn_stats *xs_conn_stats(const struct xs_conn *conn)
{
	return &conn->stats;
}
