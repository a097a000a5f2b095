/*
 * The control protocol's codec: the request table and the translation of
 * requests and replies to and from JSON lines.  Pure (no I/O), so the
 * fuzzer and the unit tests drive it directly.  Both sides treat what they
 * read as hostile: every field is type- and length-checked, unknown fields
 * are ignored (so a v1 peer may add some), a wrong type is an error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/control.h"
#include "xenkvm/json.h"

enum control_arg { ARG_NONE, ARG_SPEC, ARG_DEVICE, ARG_REASON, ARG_MEMORY, ARG_KEY, ARG_TRIGGER,
		   ARG_PATH };

/* The one request table: wire name and argument of each op. */
static const struct control_op_desc {
	const char *name;
	enum control_arg arg;
} control_ops[CONTROL_OP_COUNT] = {
	[CONTROL_OP_HELLO]          = { "hello",          ARG_NONE },
	[CONTROL_OP_INFO]           = { "info",           ARG_NONE },
	[CONTROL_OP_VCPU_LIST]      = { "vcpu-list",      ARG_NONE },
	[CONTROL_OP_PAUSE]          = { "pause",          ARG_NONE },
	[CONTROL_OP_UNPAUSE]        = { "unpause",        ARG_NONE },
	[CONTROL_OP_SHUTDOWN]       = { "shutdown",       ARG_REASON },
	[CONTROL_OP_DESTROY]        = { "destroy",        ARG_NONE },
	[CONTROL_OP_BLOCK_LIST]     = { "block-list",     ARG_NONE },
	[CONTROL_OP_BLOCK_ATTACH]   = { "block-attach",   ARG_SPEC },
	[CONTROL_OP_BLOCK_DETACH]   = { "block-detach",   ARG_DEVICE },
	[CONTROL_OP_NETWORK_LIST]   = { "network-list",   ARG_NONE },
	[CONTROL_OP_NETWORK_ATTACH] = { "network-attach", ARG_SPEC },
	[CONTROL_OP_NETWORK_DETACH] = { "network-detach", ARG_DEVICE },
	[CONTROL_OP_MEM_SET]        = { "mem-set",        ARG_MEMORY },
	[CONTROL_OP_SYSRQ]          = { "sysrq",          ARG_KEY },
	[CONTROL_OP_TRIGGER]        = { "trigger",        ARG_TRIGGER },
	[CONTROL_OP_SAVE]           = { "save",           ARG_PATH },
	[CONTROL_OP_MIGRATE_SEND]   = { "migrate-send",   ARG_PATH },
};

static const char *const state_names[CONTROL_STATE_COUNT] = {
	[CONTROL_STATE_RUNNING] = "running",
	[CONTROL_STATE_PAUSED] = "paused",
	[CONTROL_STATE_SHUTDOWN] = "shutdown",
	[CONTROL_STATE_CRASHED] = "crashed",
	[CONTROL_STATE_DYING] = "dying",
};

static const struct {
	int err;
	const char *name;
} errno_names[] = {
	{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" }, { EIO, "EIO" },
	{ E2BIG, "E2BIG" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
	{ EBUSY, "EBUSY" }, { EEXIST, "EEXIST" }, { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" },
	{ ENOSPC, "ENOSPC" }, { ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" }, { EPROTO, "EPROTO" },
	{ EMSGSIZE, "EMSGSIZE" }, { EPROTONOSUPPORT, "EPROTONOSUPPORT" },
	{ EOPNOTSUPP, "EOPNOTSUPP" }, { ETIMEDOUT, "ETIMEDOUT" }, { EALREADY, "EALREADY" },
	{ ECANCELED, "ECANCELED" }, { ENXIO, "ENXIO" },
};

const char *control_op_name(enum control_op op)
{
	return (unsigned int)op < CONTROL_OP_COUNT ? control_ops[op].name : "?";
}

int control_op_from_name(const char *name, enum control_op *op_r)
{
	for (unsigned int i = 0; i < CONTROL_OP_COUNT; i++)
		if (!strcmp(control_ops[i].name, name)) {
			*op_r = (enum control_op)i;
			return 0;
		}
	return -ENOENT;
}

bool control_sysrq_key_valid(const char *key)
{
	return strlen(key) == 1 && isgraph((unsigned char)key[0]);
}

bool control_trigger_kind_valid(const char *kind)
{
	return !strcmp(kind, "power") || !strcmp(kind, "reset") || !strcmp(kind, "nmi");
}

const char *control_state_name(enum control_state s)
{
	return (unsigned int)s < CONTROL_STATE_COUNT ? state_names[s] : "?";
}

int control_state_from_name(const char *name, enum control_state *s_r)
{
	for (unsigned int i = 0; i < CONTROL_STATE_COUNT; i++)
		if (!strcmp(state_names[i], name)) {
			*s_r = (enum control_state)i;
			return 0;
		}
	return -ENOENT;
}

const char *control_errno_name(int neg_errno)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].err == -neg_errno)
			return errno_names[i].name;
	return "EIO";
}

int control_errno_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (!strcmp(errno_names[i].name, name))
			return -errno_names[i].err;
	return -EIO;
}

static int set_err(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int set_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Copies string member `key` into dst; -ENOENT, -EINVAL (type) or -E2BIG. */
static int get_text(const struct json_value *obj, const char *key, char *dst, size_t size)
{
	const char *s;
	int rc = json_get_string(obj, key, &s);

	if (rc)
		return rc;
	if (strlen(s) >= size)
		return -E2BIG;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* Strips one trailing newline (and a CR before it). */
static size_t line_len(const char *line, size_t len)
{
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	return len;
}

int control_request_decode(const char *line, size_t len, struct control_request *req,
			   char *err, size_t errlen)
{
	struct json_value *v = NULL;
	const char *op, *reason;
	char jerr[128];
	int64_t i;
	int rc;
	enum control_op o;

	memset(req, 0, sizeof(*req));
	rc = json_parse(line, line_len(line, len), &v, jerr, sizeof(jerr));
	if (rc) {
		rc = set_err(err, errlen, rc == -ENOMEM ? -ENOMEM : -EINVAL,
			     "not a JSON request: %s", jerr);
		goto out;
	}
	if (v->type != JSON_OBJECT) {
		rc = set_err(err, errlen, -EINVAL, "a request is a JSON object");
		goto out;
	}
	/* The id first, so that even a refused request gets a matching reply. */
	rc = json_get_int(v, "id", INT64_MIN, INT64_MAX, &i);
	if (!rc) {
		req->has_id = true;
		req->id = i;
	} else if (rc != -ENOENT) {
		rc = set_err(err, errlen, -EINVAL, "\"id\" must be an integer");
		goto out;
	}
	rc = json_get_int(v, "v", 0, INT32_MAX, &i);
	if (rc == -ENOENT) {
		rc = set_err(err, errlen, -EINVAL, "missing protocol version \"v\"");
		goto out;
	}
	if (rc || i != CONTROL_PROTOCOL_VERSION) {
		rc = set_err(err, errlen, -EPROTONOSUPPORT,
			     "protocol version not supported (this side speaks %d)",
			     CONTROL_PROTOCOL_VERSION);
		goto out;
	}
	req->version = (unsigned int)i;
	rc = json_get_string(v, "op", &op);
	if (rc) {
		rc = set_err(err, errlen, -EINVAL, "missing or non-string \"op\"");
		goto out;
	}
	if (control_op_from_name(op, &o)) {
		rc = set_err(err, errlen, -ENOSYS, "unknown op \"%.64s\"", op);
		goto out;
	}
	req->op = o;
	switch (control_ops[o].arg) {
	case ARG_NONE:
		break;
	case ARG_REASON:
		rc = json_get_string(v, "reason", &reason);
		if (rc == -ENOENT || (!rc && !strcmp(reason, "poweroff"))) {
			req->reason = CONTROL_SHUTDOWN_POWEROFF;
		} else if (!rc && !strcmp(reason, "reboot")) {
			req->reason = CONTROL_SHUTDOWN_REBOOT;
		} else {
			rc = set_err(err, errlen, -EINVAL, "\"reason\" must be \"poweroff\" or \"reboot\"");
			goto out;
		}
		break;
	case ARG_SPEC:
	case ARG_DEVICE: {
		const char *key = control_ops[o].arg == ARG_SPEC ? "spec" : "device";

		rc = get_text(v, key, req->arg, sizeof(req->arg));
		if (rc) {
			rc = set_err(err, errlen, -EINVAL, "%s: \"%s\" %s", op, key,
				     rc == -ENOENT ? "is required" :
				     rc == -E2BIG ? "is too long" : "must be a string");
			goto out;
		}
		if (!req->arg[0]) {
			rc = set_err(err, errlen, -EINVAL, "%s: \"%s\" is empty", op, key);
			goto out;
		}
		break;
	}
	case ARG_MEMORY:
		rc = json_get_int(v, "target_kib", 1, CONTROL_MEMORY_MAX_KIB, &i);
		if (rc) {
			rc = set_err(err, errlen, -EINVAL, "%s: \"target_kib\" %s", op,
				     rc == -ENOENT ? "is required" : "must be an integer from 1 to 2^30 (1 TiB)");
			goto out;
		}
		req->target_kib = (uint64_t)i;
		break;
	case ARG_KEY:
		rc = get_text(v, "key", req->arg, sizeof(req->arg));
		if (rc || !control_sysrq_key_valid(req->arg)) {
			rc = set_err(err, errlen, -EINVAL, "%s: \"key\" must be one printable "
				     "character", op);
			goto out;
		}
		break;
	case ARG_TRIGGER:
		rc = get_text(v, "kind", req->arg, sizeof(req->arg));
		if (rc || !control_trigger_kind_valid(req->arg)) {
			rc = set_err(err, errlen, -EINVAL, "%s: \"kind\" must be \"power\", "
				     "\"reset\" or \"nmi\"", op);
			goto out;
		}
		rc = json_get_int(v, "vcpu", 0, CONTROL_LIST_MAX - 1, &i);
		if (rc && rc != -ENOENT) {
			rc = set_err(err, errlen, -EINVAL, "%s: \"vcpu\" must be an integer "
				     "from 0 to %d", op, CONTROL_LIST_MAX - 1);
			goto out;
		}
		req->vcpu = rc ? 0 : (unsigned int)i;
		break;
	case ARG_PATH:
		rc = get_text(v, "path", req->arg, sizeof(req->arg));
		if (rc || req->arg[0] != '/') {
			rc = set_err(err, errlen, -EINVAL, "%s: \"path\" %s", op,
				     rc == -ENOENT ? "is required" :
				     rc == -E2BIG ? "is too long" : "must be an absolute path");
			goto out;
		}
		break;
	}
	rc = 0;
out:
	json_free(v);
	return rc;
}

static int writer_line(struct json_writer *w, char **line_r, size_t *len_r)
{
	char *text, *line;
	size_t len;
	int rc = json_writer_finish(w, &text, &len);

	if (rc)
		return rc;
	if (len + 1 > CONTROL_LINE_MAX) {
		free(text);
		return -EMSGSIZE;
	}
	line = realloc(text, len + 2);
	if (!line) {
		free(text);
		return -ENOMEM;
	}
	line[len] = '\n';
	line[len + 1] = 0;
	*line_r = line;
	if (len_r)
		*len_r = len + 1;
	return 0;
}

int control_request_encode(const struct control_request *req, char **line_r, size_t *len_r)
{
	struct json_writer w;

	if ((unsigned int)req->op >= CONTROL_OP_COUNT)
		return -EINVAL;
	json_writer_init(&w, -1);
	json_write_object_begin(&w, NULL);
	json_write_int(&w, "v", CONTROL_PROTOCOL_VERSION);
	if (req->has_id)
		json_write_int(&w, "id", req->id);
	json_write_string(&w, "op", control_ops[req->op].name);
	switch (control_ops[req->op].arg) {
	case ARG_NONE:
		break;
	case ARG_REASON:
		json_write_string(&w, "reason", req->reason == CONTROL_SHUTDOWN_REBOOT ? "reboot" : "poweroff");
		break;
	case ARG_SPEC:
		json_write_string(&w, "spec", req->arg);
		break;
	case ARG_DEVICE:
		json_write_string(&w, "device", req->arg);
		break;
	case ARG_MEMORY:
		json_write_int(&w, "target_kib", (int64_t)req->target_kib);
		break;
	case ARG_KEY:
		json_write_string(&w, "key", req->arg);
		break;
	case ARG_TRIGGER:
		json_write_string(&w, "kind", req->arg);
		json_write_int(&w, "vcpu", req->vcpu);
		break;
	case ARG_PATH:
		json_write_string(&w, "path", req->arg);
		break;
	}
	json_write_object_end(&w);
	return writer_line(&w, line_r, len_r);
}

/* --- replies ------------------------------------------------------------ */

static void write_info(struct json_writer *w, const struct control_domain_info *d)
{
	json_write_object_begin(w, "domain");
	json_write_int(w, "domid", d->domid);
	json_write_string(w, "name", d->name);
	json_write_string(w, "uuid", d->uuid);
	json_write_string(w, "state", control_state_name(d->state));
	json_write_bool(w, "blocked", d->blocked);
	json_write_int(w, "memory_mib", (int64_t)d->memory_mib);
	json_write_int(w, "maxmem_mib", (int64_t)d->maxmem_mib);
	json_write_int(w, "vcpus", d->vcpus);
	json_write_int(w, "maxvcpus", d->maxvcpus);
	json_write_int(w, "cpu_time_ns", (int64_t)d->cpu_time_ns);
	json_write_int(w, "start_time", d->start_time);
	json_write_int(w, "pid", d->pid);
	json_write_int(w, "restarts", d->restarts);
	json_write_string(w, "config", d->config);
	json_write_string(w, "type", d->type);
	json_write_object_end(w);
}

int control_reply_encode(enum control_op op, const struct control_reply *rep, char **line_r,
			 size_t *len_r)
{
	struct json_writer w;
	unsigned int i;

	json_writer_init(&w, -1);
	json_write_object_begin(&w, NULL);
	json_write_int(&w, "v", CONTROL_PROTOCOL_VERSION);
	if (rep->has_id)
		json_write_int(&w, "id", rep->id);
	json_write_bool(&w, "ok", rep->error == 0);
	if (rep->error) {
		json_write_string(&w, "error", control_errno_name(rep->error));
		json_write_string(&w, "message", rep->message);
		goto end;
	}
	switch (op) {
	case CONTROL_OP_HELLO:
		json_write_int(&w, "protocol", rep->protocol);
		json_write_string(&w, "server", rep->server);
		json_write_array_begin(&w, "ops");
		for (i = 0; i < CONTROL_OP_COUNT; i++)
			json_write_string(&w, NULL, control_ops[i].name);
		json_write_array_end(&w);
		break;
	case CONTROL_OP_INFO:
		write_info(&w, &rep->info);
		break;
	case CONTROL_OP_VCPU_LIST:
		json_write_array_begin(&w, "vcpus");
		for (i = 0; i < rep->nr_vcpus; i++) {
			const struct control_vcpu_info *c = &rep->vcpus[i];

			json_write_object_begin(&w, NULL);
			json_write_int(&w, "id", c->id);
			json_write_bool(&w, "online", c->online);
			json_write_bool(&w, "running", c->running);
			json_write_bool(&w, "paused", c->paused);
			json_write_int(&w, "host_cpu", c->host_cpu);
			json_write_int(&w, "cpu_time_ns", (int64_t)c->cpu_time_ns);
			json_write_string(&w, "affinity", c->affinity);
			json_write_object_end(&w);
		}
		json_write_array_end(&w);
		break;
	case CONTROL_OP_BLOCK_LIST:
		json_write_array_begin(&w, "disks");
		for (i = 0; i < rep->nr_disks; i++) {
			const struct control_disk_info *d = &rep->disks[i];

			json_write_object_begin(&w, NULL);
			json_write_string(&w, "vdev", d->vdev);
			json_write_string(&w, "target", d->target);
			json_write_int(&w, "devid", d->devid);
			json_write_bool(&w, "readonly", d->readonly);
			json_write_bool(&w, "cdrom", d->cdrom);
			json_write_int(&w, "backend_state", d->backend_state);
			json_write_int(&w, "frontend_state", d->frontend_state);
			json_write_object_end(&w);
		}
		json_write_array_end(&w);
		break;
	case CONTROL_OP_NETWORK_LIST:
		json_write_array_begin(&w, "nics");
		for (i = 0; i < rep->nr_nics; i++) {
			const struct control_nic_info *n = &rep->nics[i];

			json_write_object_begin(&w, NULL);
			json_write_int(&w, "devid", n->devid);
			json_write_string(&w, "mac", n->mac);
			json_write_string(&w, "backend", n->backend);
			json_write_int(&w, "backend_state", n->backend_state);
			json_write_int(&w, "frontend_state", n->frontend_state);
			json_write_int(&w, "tx_packets", (int64_t)n->tx_packets);
			json_write_int(&w, "tx_bytes", (int64_t)n->tx_bytes);
			json_write_int(&w, "tx_drops", (int64_t)n->tx_drops);
			json_write_int(&w, "tx_errors", (int64_t)n->tx_errors);
			json_write_int(&w, "rx_packets", (int64_t)n->rx_packets);
			json_write_int(&w, "rx_bytes", (int64_t)n->rx_bytes);
			json_write_int(&w, "rx_drops", (int64_t)n->rx_drops);
			json_write_int(&w, "rx_errors", (int64_t)n->rx_errors);
			json_write_object_end(&w);
		}
		json_write_array_end(&w);
		break;
	case CONTROL_OP_BLOCK_ATTACH:
		json_write_string(&w, "vdev", rep->vdev);
		break;
	case CONTROL_OP_NETWORK_ATTACH:
		json_write_int(&w, "devid", rep->devid);
		break;
	default:
		break;
	}
end:
	json_write_object_end(&w);
	return writer_line(&w, line_r, len_r);
}

/* Helpers for decoding a reply's payload: each sets *rc on the first problem
 * and names the field, so one check at the end covers them all. */
struct field_ctx {
	int rc;
	char *err;
	size_t errlen;
};

static void field_fail(struct field_ctx *fc, const char *key, const char *why)
{
	if (!fc->rc)
		fc->rc = set_err(fc->err, fc->errlen, -EPROTO, "reply field \"%s\" %s", key, why);
}

static void field_text(struct field_ctx *fc, const struct json_value *o, const char *key, char *dst,
		       size_t size)
{
	int rc = get_text(o, key, dst, size);

	if (rc)
		field_fail(fc, key, rc == -ENOENT ? "is missing" : rc == -E2BIG ? "is too long" : "is not a string");
}

static int64_t field_int(struct field_ctx *fc, const struct json_value *o, const char *key,
			 int64_t min, int64_t max)
{
	int64_t i = 0;
	int rc = json_get_int(o, key, min, max, &i);

	if (rc)
		field_fail(fc, key, rc == -ENOENT ? "is missing" : "is not an integer in range");
	return i;
}

/* An optional counter (older daemons don't send it): 0 when absent. */
static uint64_t field_counter(struct field_ctx *fc, const struct json_value *o, const char *key)
{
	int64_t i = 0;
	int rc = json_get_int(o, key, 0, INT64_MAX, &i);

	if (rc && rc != -ENOENT)
		field_fail(fc, key, "is not an integer in range");
	return rc ? 0 : (uint64_t)i;
}

static bool field_bool(struct field_ctx *fc, const struct json_value *o, const char *key)
{
	bool b = false;
	int rc = json_get_bool(o, key, &b);

	if (rc)
		field_fail(fc, key, rc == -ENOENT ? "is missing" : "is not a boolean");
	return b;
}

static void decode_info(struct field_ctx *fc, const struct json_value *o, struct control_domain_info *d)
{
	char state[16];

	if (!o || o->type != JSON_OBJECT) {
		field_fail(fc, "domain", "is missing or not an object");
		return;
	}
	d->domid = (int)field_int(fc, o, "domid", 0, 0x7fff);
	field_text(fc, o, "name", d->name, sizeof(d->name));
	field_text(fc, o, "uuid", d->uuid, sizeof(d->uuid));
	field_text(fc, o, "state", state, sizeof(state));
	if (!fc->rc && control_state_from_name(state, &d->state))
		field_fail(fc, "state", "is not a known state");
	d->blocked = field_bool(fc, o, "blocked");
	d->memory_mib = (uint64_t)field_int(fc, o, "memory_mib", 0, INT64_MAX);
	d->maxmem_mib = (uint64_t)field_int(fc, o, "maxmem_mib", 0, INT64_MAX);
	d->vcpus = (unsigned int)field_int(fc, o, "vcpus", 0, 4096);
	d->maxvcpus = (unsigned int)field_int(fc, o, "maxvcpus", 0, 4096);
	d->cpu_time_ns = (uint64_t)field_int(fc, o, "cpu_time_ns", 0, INT64_MAX);
	d->start_time = field_int(fc, o, "start_time", 0, INT64_MAX);
	d->pid = (int)field_int(fc, o, "pid", 0, INT32_MAX);
	d->restarts = (unsigned int)field_int(fc, o, "restarts", 0, INT32_MAX);
	field_text(fc, o, "config", d->config, sizeof(d->config));
	/* optional: daemons before PVH support did not send it */
	if (get_text(o, "type", d->type, sizeof(d->type)) == -ENOENT)
		snprintf(d->type, sizeof(d->type), "hvm");
	else
		field_text(fc, o, "type", d->type, sizeof(d->type));
}

/* The array `key` of objects, at most CONTROL_LIST_MAX; NULL after field_fail. */
static const struct json_value *list_field(struct field_ctx *fc, const struct json_value *o,
					   const char *key)
{
	const struct json_value *a = json_get(o, key);

	if (!a || a->type != JSON_ARRAY) {
		field_fail(fc, key, "is missing or not an array");
		return NULL;
	}
	if (a->arr.n > CONTROL_LIST_MAX) {
		field_fail(fc, key, "has too many entries");
		return NULL;
	}
	for (size_t i = 0; i < a->arr.n; i++)
		if (a->arr.items[i].type != JSON_OBJECT) {
			field_fail(fc, key, "has an entry that is not an object");
			return NULL;
		}
	return a;
}

static void decode_lists(struct field_ctx *fc, enum control_op op, const struct json_value *v,
			 struct control_reply *rep)
{
	const struct json_value *a;
	size_t i;

	switch (op) {
	case CONTROL_OP_VCPU_LIST:
		a = list_field(fc, v, "vcpus");
		if (!a || !a->arr.n)
			return;
		rep->vcpus = calloc(a->arr.n, sizeof(*rep->vcpus));
		if (!rep->vcpus) {
			fc->rc = -ENOMEM;
			return;
		}
		rep->nr_vcpus = (unsigned int)a->arr.n;
		for (i = 0; i < a->arr.n; i++) {
			const struct json_value *o = &a->arr.items[i];
			struct control_vcpu_info *c = &rep->vcpus[i];

			c->id = (unsigned int)field_int(fc, o, "id", 0, 4095);
			c->online = field_bool(fc, o, "online");
			c->running = field_bool(fc, o, "running");
			c->paused = field_bool(fc, o, "paused");
			c->host_cpu = (int)field_int(fc, o, "host_cpu", -1, INT32_MAX);
			c->cpu_time_ns = (uint64_t)field_int(fc, o, "cpu_time_ns", 0, INT64_MAX);
			field_text(fc, o, "affinity", c->affinity, sizeof(c->affinity));
		}
		break;
	case CONTROL_OP_BLOCK_LIST:
		a = list_field(fc, v, "disks");
		if (!a || !a->arr.n)
			return;
		rep->disks = calloc(a->arr.n, sizeof(*rep->disks));
		if (!rep->disks) {
			fc->rc = -ENOMEM;
			return;
		}
		rep->nr_disks = (unsigned int)a->arr.n;
		for (i = 0; i < a->arr.n; i++) {
			const struct json_value *o = &a->arr.items[i];
			struct control_disk_info *d = &rep->disks[i];

			field_text(fc, o, "vdev", d->vdev, sizeof(d->vdev));
			field_text(fc, o, "target", d->target, sizeof(d->target));
			d->devid = (int)field_int(fc, o, "devid", -1, INT32_MAX);
			d->readonly = field_bool(fc, o, "readonly");
			d->cdrom = field_bool(fc, o, "cdrom");
			d->backend_state = (int)field_int(fc, o, "backend_state", -1, 255);
			d->frontend_state = (int)field_int(fc, o, "frontend_state", -1, 255);
		}
		break;
	case CONTROL_OP_NETWORK_LIST:
		a = list_field(fc, v, "nics");
		if (!a || !a->arr.n)
			return;
		rep->nics = calloc(a->arr.n, sizeof(*rep->nics));
		if (!rep->nics) {
			fc->rc = -ENOMEM;
			return;
		}
		rep->nr_nics = (unsigned int)a->arr.n;
		for (i = 0; i < a->arr.n; i++) {
			const struct json_value *o = &a->arr.items[i];
			struct control_nic_info *n = &rep->nics[i];

			n->devid = (int)field_int(fc, o, "devid", -1, INT32_MAX);
			field_text(fc, o, "mac", n->mac, sizeof(n->mac));
			field_text(fc, o, "backend", n->backend, sizeof(n->backend));
			n->backend_state = (int)field_int(fc, o, "backend_state", -1, 255);
			n->frontend_state = (int)field_int(fc, o, "frontend_state", -1, 255);
			n->tx_packets = field_counter(fc, o, "tx_packets");
			n->tx_bytes = field_counter(fc, o, "tx_bytes");
			n->tx_drops = field_counter(fc, o, "tx_drops");
			n->tx_errors = field_counter(fc, o, "tx_errors");
			n->rx_packets = field_counter(fc, o, "rx_packets");
			n->rx_bytes = field_counter(fc, o, "rx_bytes");
			n->rx_drops = field_counter(fc, o, "rx_drops");
			n->rx_errors = field_counter(fc, o, "rx_errors");
		}
		break;
	default:
		break;
	}
}

int control_reply_decode(enum control_op op, const char *line, size_t len,
			 struct control_reply *rep, char *err, size_t errlen)
{
	struct field_ctx fc = { .err = err, .errlen = errlen };
	struct json_value *v = NULL;
	const char *ename;
	char jerr[128];
	int64_t i;
	bool ok;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rc = json_parse(line, line_len(line, len), &v, jerr, sizeof(jerr));
	if (rc) {
		rc = set_err(err, errlen, rc == -ENOMEM ? -ENOMEM : -EPROTO, "reply is not JSON: %s", jerr);
		goto out;
	}
	if (v->type != JSON_OBJECT) {
		rc = set_err(err, errlen, -EPROTO, "reply is not a JSON object");
		goto out;
	}
	if (json_get_int(v, "v", 0, INT32_MAX, &i) || i != CONTROL_PROTOCOL_VERSION) {
		rc = set_err(err, errlen, -EPROTONOSUPPORT, "reply has a missing or unknown protocol version");
		goto out;
	}
	if (!json_get_int(v, "id", INT64_MIN, INT64_MAX, &i)) {
		rep->has_id = true;
		rep->id = i;
	}
	ok = field_bool(&fc, v, "ok");
	if (fc.rc) {
		rc = fc.rc;
		goto out;
	}
	if (!ok) {
		rc = json_get_string(v, "error", &ename);
		rep->error = rc ? -EIO : control_errno_from_name(ename);
		if (get_text(v, "message", rep->message, sizeof(rep->message)))
			snprintf(rep->message, sizeof(rep->message), "%s", strerror(-rep->error));
		rc = 0;
		goto out;
	}
	switch (op) {
	case CONTROL_OP_HELLO:
		rep->protocol = (unsigned int)field_int(&fc, v, "protocol", 0, INT32_MAX);
		field_text(&fc, v, "server", rep->server, sizeof(rep->server));
		break;
	case CONTROL_OP_INFO:
		decode_info(&fc, json_get(v, "domain"), &rep->info);
		break;
	case CONTROL_OP_BLOCK_ATTACH:
		field_text(&fc, v, "vdev", rep->vdev, sizeof(rep->vdev));
		break;
	case CONTROL_OP_NETWORK_ATTACH:
		rep->devid = (int)field_int(&fc, v, "devid", 0, INT32_MAX);
		break;
	default:
		decode_lists(&fc, op, v, rep);
		break;
	}
	rc = fc.rc;
out:
	if (rc)
		control_reply_free(rep);
	json_free(v);
	return rc;
}

void control_reply_free(struct control_reply *rep)
{
	free(rep->vcpus);
	free(rep->disks);
	free(rep->nics);
	rep->vcpus = NULL;
	rep->disks = NULL;
	rep->nics = NULL;
	rep->nr_vcpus = rep->nr_disks = rep->nr_nics = 0;
}
