/*
 * A whole domain to and from a state stream (include/xenkvm/domain_save.h).
 * Section order: config, the machine's (its vm-machine section zeroes RAM
 * on load, so it comes first; vm-clock before the Xen domain, whose timers
 * are absolute Xen system time), then xen-compat's (the domain before
 * event channels and grant table), the XenStore, the PV console, and the
 * backends last (they map grants and claim ports the sections before
 * restored).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenkvm/xen_abi.h"
#include "xenkvm/blkback.h"
#include "xenkvm/domain_config.h"
#include "xenkvm/domain_save.h"
#include "xenkvm/machine.h"
#include "xenkvm/netback.h"
#include "xenkvm/pv_console.h"
#include "xenkvm/xen_kvm.h"
#include "xenkvm/xen_state.h"
#include "xenkvm/xs_service.h"

int domain_save_unsupported(const struct domain_config *cfg, const struct domain_save_parts *p,
			    char *why, size_t size)
{
	if (cfg->nr_disks > 64) {
		snprintf(why, size, "more than 64 disks cannot be saved");
		return -EOPNOTSUPP;
	}
	/* A restore builds the vifs from the config: one plugged in later
	 * would be missing there. */
	if (p->nr_vifs != cfg->nr_vifs || cfg->nr_vifs > 64) {
		snprintf(why, size, "a hot-plugged vif (network-attach) cannot be saved: the restored "
			 "domain is built from the config, which does not have it; detach it first");
		return -EOPNOTSUPP;
	}
	if (p->m->xen && (!p->xs || !p->pv_console)) {
		snprintf(why, size, "a Xen domain without its XenStore or PV console cannot be saved");
		return -EOPNOTSUPP;
	}
	return machine_state_unsupported(p->m, why, size);
}

static int save_stream(const struct domain_save_parts *p, struct state_writer *w)
{
	int rc;

	config_state_save(p->cs, w);
	rc = state_writer_err(w);
	if (!rc)
		rc = machine_state_save(p->m, w);
	if (!rc && p->m->xen) {
		rc = xen_domain_save(xen_kvm_domain(p->m->xen), w);
		if (!rc)
			rc = xs_service_state_save(p->xs, w);
		if (!rc) {
			pv_console_state_save(p->pv_console, w);
			rc = state_writer_err(w);
		}
		for (size_t i = 0; i < p->nr_disks && !rc; i++)
			rc = blkback_state_save(p->disks[i], w);
		for (size_t i = 0; i < p->nr_vifs && !rc; i++)
			rc = netback_state_save(p->vifs[i], w);
	}
	return rc ? rc : state_writer_finish(w);
}

/* Quiesces the backends and writes the whole stream to fd; the backends
 * stay quiesced (domain_save_resume() undoes it). */
static int save_to_fd(const struct domain_save_parts *p, int fd, char *why, size_t size)
{
	struct state_writer *w;
	int rc;

	/* Answers pushed (and the guest notified) before RAM and shared_info
	 * are written: the stream holds no request half done. */
	for (size_t i = 0; i < p->nr_disks; i++)
		blkback_quiesce(p->disks[i]);
	for (size_t i = 0; i < p->nr_vifs; i++)
		netback_quiesce(p->vifs[i]);
	w = state_writer_new_fd(fd, XENKVM_STATE_BUILD_ID);
	if (!w) {
		snprintf(why, size, "out of memory");
		return -ENOMEM;
	}
	rc = save_stream(p, w);
	if (rc)
		snprintf(why, size, "%s", state_writer_error(w));
	state_writer_free(w);
	return rc;
}

void domain_save_resume(const struct domain_save_parts *p)
{
	for (size_t i = 0; i < p->nr_disks; i++)
		blkback_resume(p->disks[i]);
}

int domain_save_fd(const struct domain_save_parts *p, int fd, char *why, size_t size)
{
	int rc = save_to_fd(p, fd, why, size);

	if (rc)
		domain_save_resume(p);
	return rc;
}

int domain_save_file(const struct domain_save_parts *p, const char *path, char *why, size_t size)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, dfd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(why, size, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, size, "cannot create %s: %s", tmp, strerror(errno));
		return rc;
	}
	rc = save_to_fd(p, fd, why, size);
	if (rc)
		goto fail;
	if (fsync(fd) < 0) {
		rc = -errno;
		snprintf(why, size, "%s: fsync: %s", tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(why, size, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	/* The rename itself on disk too. */
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	domain_save_resume(p);
	return rc;
}

#define NR_HANDLERS (MACHINE_STATE_NR_HANDLERS + XEN_STATE_NR_HANDLERS + \
		     XS_SERVICE_STATE_NR_HANDLERS + 3)

int domain_restore_load(const struct domain_save_parts *p, struct state_reader *r, char *why,
			size_t size)
{
	struct state_handler h[NR_HANDLERS];
	struct vm_state_load vm_ctx;
	struct xen_state_load xen_ctx;
	struct xs_service_state_load xs_ctx;
	struct blkback_state_load blk_ctx = { p->disks, p->nr_disks, 0 };
	struct netback_state_load net_ctx = { p->vifs, p->nr_vifs, 0 };
	size_t n = MACHINE_STATE_NR_HANDLERS;
	int rc;

	if (p->m->xen && xen_kvm_path(p->m->xen) != (enum xen_hcall_path)p->cs->hcall_path) {
		snprintf(why, size, "the guest used the %s hypercall path, this host gives it %s",
			 xen_hcall_path_name((enum xen_hcall_path)p->cs->hcall_path),
			 xen_hcall_path_name(xen_kvm_path(p->m->xen)));
		return -EOPNOTSUPP;
	}
	machine_state_handlers(p->m, &vm_ctx, h);
	if (p->m->xen) {
		xen_domain_state_handlers(xen_kvm_domain(p->m->xen), &xen_ctx, &h[n]);
		n += XEN_STATE_NR_HANDLERS;
		xs_service_state_handlers(p->xs, &xs_ctx, &h[n]);
		n += XS_SERVICE_STATE_NR_HANDLERS;
		pv_console_state_handler(p->pv_console, &h[n++]);
		blkback_state_handler(&blk_ctx, &h[n++]);
		netback_state_handler(&net_ctx, &h[n++]);
	}
	rc = state_load(r, h, n);
	if (rc) {
		snprintf(why, size, "%s", state_reader_error(r));
		return rc;
	}
	if (p->m->xen && p->nr_disks && blk_ctx.loaded != (p->nr_disks >= 64 ? ~0ull :
							  (1ull << p->nr_disks) - 1)) {
		snprintf(why, size, "a disk of the config has no blkback section in the stream");
		return -EBADMSG;
	}
	if (p->m->xen && p->nr_vifs && net_ctx.loaded != (p->nr_vifs >= 64 ? ~0ull :
							  (1ull << p->nr_vifs) - 1)) {
		snprintf(why, size, "a vif of the config has no netback section in the stream");
		return -EBADMSG;
	}
	if (p->m->xen)
		xs_service_restored(p->xs);
	return vm_state_load_finish(&vm_ctx, why, size);
}
