/*
 * The run directory: where the CLI finds its domains.
 *
 *   <base>/lock            flock'd while a domid is allocated or entries pruned
 *   <base>/next-domid      where the next allocation starts (round robin)
 *   <base>/logs/NAME.log   the log of the last domain called NAME that ended
 *   <base>/<domid>/        one per domain:
 *       alive              flock'd (LOCK_EX) by the daemon for as long as it runs
 *       name, pid, config  the domain's name, the daemon's pid, a copy of its config
 *       control.sock, xenstore.sock, console.sock, pv-console.sock, xenkvmd.log
 *
 * <base> is $XDG_RUNTIME_DIR/xenkvm when that is set, else /run/xenkvm.
 * A domain is alive exactly while someone holds the lock on its `alive`
 * file: the lock is taken by the CLI when it reserves the domid and is
 * inherited by the daemon across fork and exec, so it dies with the
 * daemon, whatever kills it, and a reused pid cannot fake it.  Entries
 * whose lock is free are leftovers and are pruned (under <base>/lock)
 * by the next listing.
 */
#ifndef XENKVM_RUNDIR_H
#define XENKVM_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define RUNDIR_DOMID_MIN 1
#define RUNDIR_DOMID_MAX 0x7fef      /* below Xen's DOMID_FIRST_RESERVED */
#define RUNDIR_NAME_MAX  64

struct rundir {
	char base[4096];
	int dir_fd;                  /* base, opened without following links */
	int lock_fd;
	char why[512];               /* why rundir_open refused base ("" if not) */
};

struct rundir_entry {
	int domid;
	char name[RUNDIR_NAME_MAX + 1];
	pid_t pid;                   /* 0 when not recorded */
};

/* $XDG_RUNTIME_DIR/xenkvm or /run/xenkvm; -ENAMETOOLONG. */
int rundir_default_base(char *buf, size_t len);
/*
 * Creates base (mode 0700) if needed and opens it and its lock file.
 * Refuses (-EPERM, -ELOOP, with a sentence in rd->why) a base that is a
 * symbolic link, not the caller's or not mode 0700, one below a
 * directory in which another user could rename it (neither the caller's
 * nor root's, or writable by others without the sticky bit), one holding a
 * symbolic link or another user's file at its top level or in its
 * domain and log directories.  Every file after that is opened relative
 * to the base with O_NOFOLLOW; only the sockets are reached by path.
 */
int rundir_open(const char *base, struct rundir *rd);
void rundir_close(struct rundir *rd);
/* "<base>/<domid>/<file>" (file NULL: the directory); -ENAMETOOLONG. */
int rundir_path(const struct rundir *rd, int domid, const char *file, char *buf, size_t len);

/* 0 if `name` can name a domain; else -EINVAL and why in *why_r. */
int rundir_name_check(const char *name, const char **why_r);

/*
 * Allocates a domid for `name`: prunes dead entries, fails with -EEXIST
 * when a live domain has that name and -ENOSPC when every domid is taken,
 * then creates <domid>/ with its `name` and locked `alive` file.  The
 * lock's fd (*alive_fd_r, without FD_CLOEXEC so that the daemon inherits
 * it) keeps the domain alive; close it to release the domid.
 */
int rundir_reserve(struct rundir *rd, const char *name, int *domid_r, int *alive_fd_r);
/* The same for a given domid (a restore keeps the saved domain's):
 * -EBUSY when that domid is taken. */
int rundir_reserve_domid(struct rundir *rd, const char *name, int domid, int *alive_fd_r);

/* Writes a file of the domain atomically (temporary file + rename). */
int rundir_write_file(const struct rundir *rd, int domid, const char *file, const void *data,
		      size_t len);
/* Reads at most size-1 bytes and NUL-terminates; returns the length or -errno. */
ssize_t rundir_read_file(const struct rundir *rd, int domid, const char *file, char *buf,
			 size_t size);

/* Is the domain's `alive` lock held (by its daemon, or the CLI starting it)? */
bool rundir_alive(const struct rundir *rd, int domid);

/* For a daemon that runs as another user (xenkvmd --user): the base
 * becomes searchable (0711: no listing) and <domid>/ that user's, so it can
 * create and remove its sockets there.  0 or -errno. */
int rundir_hand_over(const struct rundir *rd, int domid, uid_t uid, gid_t gid);

/*
 * The live domains, by domid, after pruning dead entries.  *entries_r is
 * malloc'd (NULL when none).  *pruned_r (may be NULL) counts pruned entries.
 */
int rundir_list(struct rundir *rd, struct rundir_entry **entries_r, size_t *nr_r,
		unsigned int *pruned_r);
/* A live domain by name or domid; -ENOENT. */
int rundir_find(struct rundir *rd, const char *name_or_domid, struct rundir_entry *e);
/* Removes a dead domain's entry (keeping its log under logs/); -EBUSY if alive. */
int rundir_remove(struct rundir *rd, int domid);

/*
 * For xenkvmd, early in main(): marks every inherited fd above stderr
 * close-on-exec.  The `alive` lock stays held (the daemon keeps the fd
 * open), but helper programs the daemon runs later no longer inherit it,
 * so a lingering helper cannot keep a dead domain looking alive.
 */
void rundir_cloexec_inherited(void);

#endif
