/*
 * Populating the store for domains the way the Xen toolstack does, so a
 * guest finds what it looks for under xl: libxl__domain_make (the
 * directory skeleton and its permissions, in one transaction),
 * libxl__build_post (memory, store, vcpus; then INTRODUCE) and
 * libxl__device_generic_add (frontend/backend directories).  Everything is
 * written through an in-process dom0 client, like a toolstack would.
 *
 * Permissions, as libxl sets them:
 *   roperm = n0 r<domid>   dom0's, the guest may read: the home directory,
 *                          cpu/, memory/, device/, control/, hvmloader/, /vm/<uuid>
 *   rwperm = n<domid>      the guest's own: control/shutdown, control/feature-*,
 *                          control/sysrq, data/, drivers/, feature/, attr/, error/
 *   noperm = n0            /libxl/<domid>
 * Nodes written later inherit their parent's list.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/log.h"
#include "xenkvm/xenstore.h"

#define DOM0_UUID "00000000-0000-0000-0000-000000000000"
#define TX_RETRIES 16

static int writef(struct xs_client *c, uint32_t t, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int writef(struct xs_client *c, uint32_t t, const char *path, const char *fmt, ...)
{
	char val[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(val))
		return -E2BIG;
	return xs_store_write(c, t, path, val, (size_t)n);
}

static int mknod_perms(struct xs_client *c, uint32_t t, const char *path,
		       const struct xs_perm *p, unsigned int n)
{
	int rc = xs_store_write(c, t, path, "", 0);

	return rc ? rc : xs_store_set_perms(c, t, path, p, n);
}

/* xl ignores xs_rm's result; only "the parent is missing too" can happen. */
static int rm_quiet(struct xs_client *c, uint32_t t, const char *path)
{
	int rc = xs_store_rm(c, t, path);

	return rc == -ENOENT ? 0 : rc;
}

/* Runs fn inside a transaction, retrying on conflicts as libxl does. */
static int in_transaction(struct xs_store *s, int (*fn)(struct xs_client *c, uint32_t t,
							 const void *arg),
			  const void *arg)
{
	struct xs_client *c = xs_client_new(s, 0, true, NULL, NULL);
	uint32_t t;
	int rc = -ENOMEM, tries;

	if (!c)
		return rc;
	for (tries = 0; tries < TX_RETRIES; tries++) {
		rc = xs_tx_start(c, &t);
		if (rc)
			break;
		rc = fn(c, t, arg);
		if (rc) {
			xs_tx_end(c, t, false);
			break;
		}
		rc = xs_tx_end(c, t, true);
		if (rc != -EAGAIN)
			break;
	}
	xs_client_free(c);
	return rc;
}

static int dom0_fill(struct xs_client *c, uint32_t t, const void *arg)
{
	int rc = 0;

	(void)arg;
	rc = rc ?: writef(c, t, "/local/domain/0/domid", "0");
	rc = rc ?: writef(c, t, "/local/domain/0/name", "Domain-0");
	rc = rc ?: writef(c, t, "/local/domain/0/vm", "/vm/" DOM0_UUID);
	rc = rc ?: xs_store_mkdir(c, t, "/local/domain/0/backend");
	rc = rc ?: xs_store_mkdir(c, t, "/local/domain/0/device-model");
	rc = rc ?: writef(c, t, "/vm/" DOM0_UUID "/uuid", DOM0_UUID);
	rc = rc ?: writef(c, t, "/vm/" DOM0_UUID "/name", "Domain-0");
	return rc;
}

int xs_domain_populate_dom0(struct xs_store *s)
{
	return in_transaction(s, dom0_fill, NULL);
}

/* libxl__domain_make's transaction. */
static int domain_make(struct xs_client *c, uint32_t t, const void *arg)
{
	static const char *const ro_dirs[] = { "cpu", "memory", "device", "control" };
	static const char *const rw_nodes[] = {
		"control/shutdown", "control/feature-poweroff", "control/feature-reboot",
		"control/feature-suspend", "control/sysrq", "device/suspend/event-channel",
		"data", "drivers", "feature", "attr", "error",
	};
	const struct xs_domain_info *d = arg;
	const struct xs_perm noperm[] = { { 0, XS_P_NONE } };
	const struct xs_perm roperm[] = { { 0, XS_P_NONE }, { d->domid, XS_P_READ } };
	const struct xs_perm rwperm[] = { { d->domid, XS_P_NONE } };
	char dom[32], vm[64], lx[32], p[128];
	size_t i;
	int rc = 0;

	snprintf(dom, sizeof(dom), "/local/domain/%u", d->domid);
	snprintf(vm, sizeof(vm), "/vm/%s", d->uuid);
	snprintf(lx, sizeof(lx), "/libxl/%u", d->domid);

#define P(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)
	rc = rc ?: rm_quiet(c, t, dom);
	rc = rc ?: mknod_perms(c, t, dom, roperm, 2);
	rc = rc ?: rm_quiet(c, t, vm);
	rc = rc ?: mknod_perms(c, t, vm, roperm, 2);
	rc = rc ?: rm_quiet(c, t, lx);
	rc = rc ?: mknod_perms(c, t, lx, noperm, 1);
	rc = rc ?: mknod_perms(c, t, P("%s/device", lx), noperm, 1);
	rc = rc ?: writef(c, t, P("%s/vm", dom), "%s", vm);
	rc = rc ?: writef(c, t, P("%s/name", dom), "%s", d->name);
	for (i = 0; i < sizeof(ro_dirs) / sizeof(ro_dirs[0]); i++)
		rc = rc ?: mknod_perms(c, t, P("%s/%s", dom, ro_dirs[i]), roperm, 2);
	if (d->hvm)
		rc = rc ?: mknod_perms(c, t, P("%s/hvmloader", dom), roperm, 2);
	for (i = 0; i < sizeof(rw_nodes) / sizeof(rw_nodes[0]); i++)
		rc = rc ?: mknod_perms(c, t, P("%s/%s", dom, rw_nodes[i]), rwperm, 1);
	if (d->hvm) {
		rc = rc ?: mknod_perms(c, t, P("%s/control/feature-s3", dom), rwperm, 1);
		rc = rc ?: mknod_perms(c, t, P("%s/control/feature-s4", dom), rwperm, 1);
	}
	rc = rc ?: writef(c, t, P("%s/uuid", vm), "%s", d->uuid);
	rc = rc ?: writef(c, t, P("%s/name", vm), "%s", d->name);
	rc = rc ?: writef(c, t, P("%s/control/platform-feature-multiprocessor-suspend", dom), "1");
	rc = rc ?: writef(c, t, P("%s/control/platform-feature-xs_reset_watches", dom), "1");
	rc = rc ?: writef(c, t, P("%s/type", lx), "%s", d->hvm ? "hvm" : "pvh");
	return rc;
}

/* libxl__build_post's transaction. */
static int domain_build_post(struct xs_client *c, uint32_t t, const void *arg)
{
	const struct xs_domain_info *d = arg;
	char dom[32], p[128];
	unsigned int i;
	int rc = 0;

	snprintf(dom, sizeof(dom), "/local/domain/%u", d->domid);
	rc = rc ?: writef(c, t, P("%s/memory/static-max", dom), "%llu",
			  (unsigned long long)d->max_memkb);
	rc = rc ?: writef(c, t, P("%s/memory/target", dom), "%llu",
			  (unsigned long long)(d->target_memkb - d->video_memkb));
	rc = rc ?: writef(c, t, P("%s/memory/videoram", dom), "%llu",
			  (unsigned long long)d->video_memkb);
	rc = rc ?: writef(c, t, P("%s/domid", dom), "%u", d->domid);
	rc = rc ?: writef(c, t, P("%s/store/port", dom), "%u", d->store_port);
	rc = rc ?: writef(c, t, P("%s/store/ring-ref", dom), "%llu",
			  (unsigned long long)d->store_pfn);
	for (i = 0; i < d->vcpus && !rc; i++) {
		bool online = !d->avail_vcpus || (i < 64 && (d->avail_vcpus >> i) & 1);

		rc = writef(c, t, P("%s/cpu/%u/availability", dom, i), "%s",
			    online ? "online" : "offline");
	}
	if (d->hvm)
		rc = rc ?: writef(c, t, P("%s/hvmloader/allow-memory-relocate", dom), "1");
	rc = rc ?: writef(c, t, P("/vm/%s/start_time", d->uuid), "0.00");
	rc = rc ?: writef(c, t, P("/vm/%s/image/ostype", d->uuid), "%s", d->hvm ? "hvm" : "pvh");
	return rc;
}

int xs_domain_populate(struct xs_store *s, const struct xs_domain_info *info)
{
	int rc;

	if (!info->domid || info->domid >= XS_DOMID_MAX || !info->name || !info->uuid ||
	    strlen(info->uuid) != 36 || strlen(info->name) > 64 ||
	    info->video_memkb > info->target_memkb)
		return -EINVAL;
	rc = in_transaction(s, domain_make, info);
	if (!rc)
		rc = in_transaction(s, domain_build_post, info);
	if (!rc)
		rc = xs_store_introduce(s, info->domid);
	if (rc)
		pr_err("xenstore: populating d%u: %s", info->domid, strerror(-rc));
	return rc;
}

struct device_args {
	unsigned int domid, backend_domid, devid;
	const char *kind;
	const char *const *fe_kv;
	const char *const *be_kv;
};

/* libxl__device_generic_add: each side owns its directory, the other may read. */
static int device_add(struct xs_client *c, uint32_t t, const void *arg)
{
	const struct device_args *a = arg;
	const struct xs_perm fe_perms[] = { { a->domid, XS_P_NONE }, { a->backend_domid, XS_P_READ } };
	const struct xs_perm be_perms[] = { { a->backend_domid, XS_P_NONE }, { a->domid, XS_P_READ } };
	char fe[96], be[96], p[192];
	const char *const *kv;
	int rc = 0;

	snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%u", a->domid, a->kind, a->devid);
	snprintf(be, sizeof(be), "/local/domain/%u/backend/%s/%u/%u", a->backend_domid, a->kind,
		 a->domid, a->devid);
	rc = rc ?: rm_quiet(c, t, fe);
	rc = rc ?: xs_store_mkdir(c, t, fe);
	rc = rc ?: xs_store_set_perms(c, t, fe, fe_perms, 2);
	rc = rc ?: writef(c, t, P("%s/backend", fe), "%s", be);
	for (kv = a->fe_kv; kv && kv[0] && !rc; kv += 2)
		rc = writef(c, t, P("%s/%s", fe, kv[0]), "%s", kv[1] ? kv[1] : "");
	rc = rc ?: rm_quiet(c, t, be);
	rc = rc ?: xs_store_mkdir(c, t, be);
	rc = rc ?: xs_store_set_perms(c, t, be, be_perms, 2);
	rc = rc ?: writef(c, t, P("%s/frontend", be), "%s", fe);
	for (kv = a->be_kv; kv && kv[0] && !rc; kv += 2)
		rc = writef(c, t, P("%s/%s", be, kv[0]), "%s", kv[1] ? kv[1] : "");
	return rc;
}
#undef P

int xs_domain_add_device(struct xs_store *s, unsigned int domid, unsigned int backend_domid,
			 const char *kind, unsigned int devid,
			 const char *const *frontend_kv, const char *const *backend_kv)
{
	const struct device_args a = { domid, backend_domid, devid, kind, frontend_kv, backend_kv };
	size_t i;

	if (!kind || !*kind || strlen(kind) > 16 || domid >= XS_DOMID_MAX ||
	    backend_domid >= XS_DOMID_MAX)
		return -EINVAL;
	for (i = 0; kind[i]; i++)
		if (kind[i] == '/')
			return -EINVAL;
	return in_transaction(s, device_add, &a);
}

static int domain_unmake(struct xs_client *c, uint32_t t, const void *arg)
{
	unsigned int domid = *(const unsigned int *)arg;
	struct xs_buf vm = { 0 }, kinds = { 0 };
	char p[128];
	size_t off;
	int rc;

	snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
	rc = xs_store_read(c, t, p, &vm);
	if (!rc && vm.len && vm.data[0] == '/' && strncmp(vm.data, "/vm/", 4) == 0)
		rc = rm_quiet(c, t, vm.data);
	else if (rc == -ENOENT)
		rc = 0;
	if (!rc && !xs_store_directory(c, t, "/local/domain/0/backend", &kinds)) {
		for (off = 0; off < kinds.len && !rc; off += strlen(kinds.data + off) + 1) {
			snprintf(p, sizeof(p), "/local/domain/0/backend/%s/%u", kinds.data + off, domid);
			rc = rm_quiet(c, t, p);
		}
	}
	if (!rc) {
		snprintf(p, sizeof(p), "/local/domain/%u", domid);
		rc = rm_quiet(c, t, p);
	}
	if (!rc) {
		snprintf(p, sizeof(p), "/libxl/%u", domid);
		rc = rm_quiet(c, t, p);
		if (rc == -ENOENT)
			rc = 0;
	}
	xs_buf_free(&vm);
	xs_buf_free(&kinds);
	return rc;
}

int xs_domain_destroy(struct xs_store *s, unsigned int domid)
{
	int rc;

	if (!domid || domid >= XS_DOMID_MAX)
		return -EINVAL;
	rc = in_transaction(s, domain_unmake, &domid);
	if (rc)
		pr_warn("xenstore: removing d%u's nodes: %s", domid, strerror(-rc));
	if (xs_store_is_introduced(s, domid))
		return xs_store_release(s, domid) ?: rc;
	return rc;
}

#define TOOLSTACK_PATH_MAX 96   /* "/local/domain/<domid>/" and a 64-byte rel */

/* The toolstack's view of /local/domain/<domid>/<rel>: a domain-0 client
 * and the path in p.  0, -EINVAL or -ENOMEM. */
static int toolstack_open(struct xs_store *s, unsigned int domid, const char *rel, char *p,
			  struct xs_client **c_r)
{
	if (!domid || domid >= XS_DOMID_MAX || strlen(rel) > 64)
		return -EINVAL;
	*c_r = xs_client_new(s, 0, true, NULL, NULL);
	if (!*c_r)
		return -ENOMEM;
	snprintf(p, TOOLSTACK_PATH_MAX, "/local/domain/%u/%s", domid, rel);
	return 0;
}

int xs_domain_write(struct xs_store *s, unsigned int domid, const char *rel, const char *value)
{
	struct xs_client *c;
	char p[TOOLSTACK_PATH_MAX];
	int rc = toolstack_open(s, domid, rel, p, &c);

	if (rc)
		return rc;
	rc = xs_store_write(c, 0, p, value, strlen(value));
	xs_client_free(c);
	return rc;
}

bool xs_domain_feature(struct xs_store *s, unsigned int domid, const char *rel)
{
	struct xs_buf b = { 0 };
	struct xs_client *c;
	char p[TOOLSTACK_PATH_MAX];
	bool on = false;

	if (toolstack_open(s, domid, rel, p, &c))
		return false;
	if (!xs_store_read(c, 0, p, &b))
		on = b.len == 1 && b.data[0] == '1';
	xs_buf_free(&b);
	xs_client_free(c);
	return on;
}

bool xs_shutdown_reason_valid(const char *reason)
{
	static const char *const reasons[] = { "poweroff", "reboot", "suspend", "halt", "crash" };

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reason && !strcmp(reason, reasons[i]))
			return true;
	return false;
}

int xs_domain_request_shutdown(struct xs_store *s, unsigned int domid, const char *reason)
{
	if (!xs_shutdown_reason_valid(reason))
		return -EINVAL;
	return xs_domain_write(s, domid, "control/shutdown", reason);
}
