/*
 * A whole domain to and from a state stream (docs/SAVE-FORMAT.md): the
 * config section, the machine's sections (kvm/), and with the Xen
 * personality xen-compat's (domain, event channels, grant table, the
 * XenStore with the guest's connection, the PV console).  xenkvmd's save
 * and restore paths; the sections themselves belong to their modules.
 */
#ifndef XENKVM_DOMAIN_SAVE_H
#define XENKVM_DOMAIN_SAVE_H

#include <stddef.h>

#include "xenkvm/config_state.h"

struct machine;
struct xs_service;
struct pv_console;
struct domain_config;
struct blkback;
struct netback;

struct domain_save_parts {
	struct machine *m;
	struct xs_service *xs;          /* NULL without the Xen personality */
	struct pv_console *pv_console;  /* NULL without it */
	const struct config_state *cs;  /* the config section */
	struct blkback **disks;         /* the config's disks, in its order */
	size_t nr_disks;
	struct netback **vifs;          /* the domain's vifs */
	size_t nr_vifs;
};

/* 0 if the domain built from `cfg` can be saved; else -EOPNOTSUPP and
 * why says what cannot ("a hot-plugged vif ... cannot be saved"). */
int domain_save_unsupported(const struct domain_config *cfg, const struct domain_save_parts *p,
			    char *why, size_t size);

/*
 * Every vCPU parked (vm_pause_sync()), on the I/O thread (no backend runs
 * meanwhile).  Quiesces the disks and vifs (their requests answered and
 * published before anything is written), writes the stream to a temporary file next
 * to `path`, fsyncs it and renames it to `path`: a failure leaves no file
 * there and the disks serving again.
 * 0 or -errno with the reason in why.
 */
int domain_save_file(const struct domain_save_parts *p, const char *path, char *why, size_t size);

/*
 * The same stream to `fd` (a migration's connection), nothing else: the
 * disks and vifs stay quiesced on success (the caller either ends the
 * domain or calls domain_save_resume()); a failure resumes them.
 * 0 or -errno with the reason in why.
 */
int domain_save_fd(const struct domain_save_parts *p, int fd, char *why, size_t size);
/* The disks serve again after a save or migration that did not end the
 * domain. */
void domain_save_resume(const struct domain_save_parts *p);

/*
 * Loads the rest of a stream (config_state_open() read its config) into
 * a domain built from that config with machine_config.restoring, before
 * any vCPU runs and before the I/O thread starts.  0 or -errno with the
 * reason in why; on failure the domain is half loaded: destroy it.
 */
int domain_restore_load(const struct domain_save_parts *p, struct state_reader *r, char *why,
			size_t size);

#endif
