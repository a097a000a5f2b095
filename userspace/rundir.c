/*
 * The run directory (see rundir.h for the layout and why liveness is a
 * file lock rather than a pid).  Every change to the set of domain
 * directories happens under <base>/lock, so two CLIs never hand out the
 * same domid or name.
 *
 * Root may run this with someone else's XDG_RUNTIME_DIR (sudo -E): the
 * base is used only when it, and the directory holding it, cannot be
 * changed by anyone but the caller, and every file is opened relative to
 * the base's descriptor without following symbolic links.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenkvm/log.h"
#include "xenkvm/rundir.h"

int rundir_default_base(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/xenkvm", xdg);
	else
		n = snprintf(buf, len, "/run/xenkvm");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int refuse(struct rundir *rd, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct rundir *rd, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rd->why, sizeof(rd->why), fmt, ap);
	va_end(ap);
	return rc;
}

/* The directories above base: nobody but the caller or root may be able
 * to rename base (or one of them) away and put their own in its place;
 * others' write access needs the sticky bit, as on /tmp. */
static int check_parent(struct rundir *rd, const char *base)
{
	char parent[sizeof(rd->base)], *slash;
	struct stat st;

	strcpy(parent, base);
	while ((slash = strrchr(parent, '/'))) {
		if (slash == parent)
			slash[1] = 0;
		else
			*slash = 0;
		if (stat(parent, &st) < 0)
			return refuse(rd, -errno, "%s: %s", parent, strerror(errno));
		if (st.st_uid != geteuid() && st.st_uid != 0)
			return refuse(rd, -EPERM,
				      "%s above it belongs to uid %u, who could replace it "
				      "(under sudo, do not keep the user's XDG_RUNTIME_DIR: no -E)",
				      parent, (unsigned int)st.st_uid);
		if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))
			return refuse(rd, -EPERM,
				      "%s above it is writable by others (mode %04o) without the sticky bit",
				      parent, (unsigned int)(st.st_mode & 07777));
		if (slash == parent)
			break;
	}
	return 0;
}

/* No user has it (chown's "leave as is"): here, "whoever owns it". */
#define ANY_UID ((uid_t)-1)

/*
 * What another user could have planted: a symbolic link, or a file of
 * neither ours nor `also` (the user a domain's directory was handed over to,
 * rundir_hand_over(): its daemon's sockets are that user's).
 */
static int check_entry(struct rundir *rd, int dfd, const char *dir, const char *name, uid_t also,
		       struct stat *st)
{
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : refuse(rd, -errno, "%s%s: %s", dir, name, strerror(errno));
	if (S_ISLNK(st->st_mode))
		return refuse(rd, -ELOOP, "%s%s is a symbolic link; remove it", dir, name);
	if (st->st_uid != geteuid() && st->st_uid != also && also != ANY_UID)
		return refuse(rd, -EPERM, "%s%s belongs to uid %u, not to you (uid %u); remove it",
			      dir, name, (unsigned int)st->st_uid, (unsigned int)geteuid());
	return 0;
}

/* A domain's directory: the only entries create may hand to another user. */
static bool is_domain_dir(const char *name)
{
	return name[0] && strspn(name, "0123456789") == strlen(name);
}

/* The base's entries and those of its subdirectories (domains, logs). */
static int check_entries(struct rundir *rd)
{
	struct dirent *de, *sde;
	DIR *d, *sd;
	char sub[NAME_MAX + 2];
	int fd, sfd, rc = 0;

	fd = dup(rd->dir_fd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return refuse(rd, rc, "cannot read it: %s", strerror(-rc));
	}
	while (!rc && (de = readdir(d))) {
		struct stat st, sst;
		uid_t owner;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* Only root hands domains over, so only root sees others' here. */
		rc = check_entry(rd, rd->dir_fd, "", de->d_name,
				 is_domain_dir(de->d_name) && geteuid() == 0 ? ANY_UID : geteuid(), &st);
		if (rc || de->d_type != DT_DIR)
			continue;
		owner = st.st_uid;
		sfd = openat(rd->dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0 || !(sd = fdopendir(sfd))) {
			if (sfd >= 0)
				close(sfd);
			continue;   /* removed meanwhile */
		}
		snprintf(sub, sizeof(sub), "%s/", de->d_name);
		while (!rc && (sde = readdir(sd)))
			if (strcmp(sde->d_name, ".") && strcmp(sde->d_name, ".."))
				rc = check_entry(rd, dirfd(sd), sub, sde->d_name, owner, &sst);
		closedir(sd);
	}
	closedir(d);
	return rc;
}

int rundir_open(const char *base, struct rundir *rd)
{
	struct stat st;
	int rc;

	rd->lock_fd = rd->dir_fd = -1;
	rd->why[0] = 0;
	if (strlen(base) >= sizeof(rd->base) - 32)
		return -ENAMETOOLONG;
	strcpy(rd->base, base);
	rc = check_parent(rd, base);
	if (rc)
		return rc;
	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return -errno;
	rd->dir_fd = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rd->dir_fd < 0) {
		rc = -errno;
		if (!lstat(base, &st) && S_ISLNK(st.st_mode))
			rc = refuse(rd, -ELOOP, "it is a symbolic link; remove it");
		else if (rc == -ENOTDIR)
			refuse(rd, rc, "it is not a directory");
		return rc;
	}
	if (fstat(rd->dir_fd, &st) < 0)
		rc = -errno;
	else if (st.st_uid != geteuid())
		rc = refuse(rd, -EPERM, "it belongs to uid %u, not to you (uid %u); remove it",
			    (unsigned int)st.st_uid, (unsigned int)geteuid());
	else if ((st.st_mode & 07777) != 0700 && (st.st_mode & 07777) != 0711)
		/* 0711: create handed a domain to another user, who may enter
		 * but not list or write (rundir_hand_over). */
		rc = refuse(rd, -EPERM, "its mode is %04o, not 0700 or 0711 (chmod 0700 it, or remove it)",
			    (unsigned int)(st.st_mode & 07777));
	if (!rc)
		rc = check_entries(rd);
	if (!rc) {
		rd->lock_fd = openat(rd->dir_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (rd->lock_fd < 0)
			rc = -errno;
	}
	if (rc) {
		close(rd->dir_fd);
		rd->dir_fd = -1;
	}
	return rc;
}

void rundir_close(struct rundir *rd)
{
	if (rd->lock_fd >= 0)
		close(rd->lock_fd);
	if (rd->dir_fd >= 0)
		close(rd->dir_fd);
	rd->lock_fd = rd->dir_fd = -1;
}

int rundir_path(const struct rundir *rd, int domid, const char *file, char *buf, size_t len)
{
	int n = file ? snprintf(buf, len, "%s/%d/%s", rd->base, domid, file)
		     : snprintf(buf, len, "%s/%d", rd->base, domid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* <base>/<domid> as a directory fd, never through a symbolic link. */
static int domain_dirfd(const struct rundir *rd, int domid)
{
	char name[16];
	int fd;

	snprintf(name, sizeof(name), "%d", domid);
	fd = openat(rd->dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int lock_base(struct rundir *rd)
{
	while (flock(rd->lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void unlock_base(struct rundir *rd)
{
	flock(rd->lock_fd, LOCK_UN);
}

int rundir_name_check(const char *name, const char **why_r)
{
	size_t len = strlen(name), digits = 0;

	*why_r = NULL;
	if (!len)
		*why_r = "the name is empty";
	else if (len > RUNDIR_NAME_MAX)
		*why_r = "the name is longer than 64 characters";
	for (size_t i = 0; i < len && !*why_r; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= ' ' || c >= 0x7f || c == '/' || c == '\\' || c == '"' || c == '\'')
			*why_r = "the name may hold only printable characters other than space, / \\ \" '";
		digits += isdigit(c) != 0;
	}
	if (!*why_r && digits == len)
		*why_r = "the name must not be a number (it would read as a domid)";
	if (!*why_r && name[0] == '-')
		*why_r = "the name must not start with '-'";
	return *why_r ? -EINVAL : 0;
}

bool rundir_alive(const struct rundir *rd, int domid)
{
	int dfd = domain_dirfd(rd, domid), fd;
	bool alive;

	if (dfd < 0)
		return false;
	fd = openat(dfd, "alive", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return false;
	/* Shared and non-blocking: fails only while the exclusive owner lives. */
	alive = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return alive;
}

/* Reads a file of dirfd into buf (NUL-terminated): its length or -errno. */
static ssize_t read_at(int dirfd, const char *file, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd, rc;

	if (!size)
		return -EINVAL;
	fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < size - 1) {
		n = read(fd, buf + total, size - 1 - (size_t)total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			close(fd);
			return rc;
		}
		if (!n)
			break;
		total += n;
	}
	close(fd);
	buf[total] = 0;
	return total;
}

ssize_t rundir_read_file(const struct rundir *rd, int domid, const char *file, char *buf, size_t size)
{
	int dfd = domain_dirfd(rd, domid);
	ssize_t n;

	if (dfd < 0)
		return dfd;
	n = read_at(dfd, file, buf, size);
	close(dfd);
	return n;
}

/* Writes dirfd/file atomically: a new file beside it, then rename. */
static int write_at(int dirfd, const char *file, const void *data, size_t len)
{
	char tmp[NAME_MAX + 1];
	const char *p = data;
	int fd, rc = 0;
	ssize_t n;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", file) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && renameat(dirfd, tmp, dirfd, file) < 0)
		rc = -errno;
	if (rc)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

int rundir_write_file(const struct rundir *rd, int domid, const char *file, const void *data, size_t len)
{
	int dfd = domain_dirfd(rd, domid), rc;

	if (dfd < 0)
		return dfd;
	rc = write_at(dfd, file, data, len);
	close(dfd);
	return rc;
}

/* Parses a directory entry name as a domid; -1 if it is not one. */
static int entry_domid(const char *name)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)name[0]) || (name[0] == '0'))
		return -1;
	errno = 0;
	v = strtol(name, &end, 10);
	if (errno || *end || v < RUNDIR_DOMID_MIN || v > RUNDIR_DOMID_MAX)
		return -1;
	return (int)v;
}

/* Keeps the log of a dead domain as logs/NAME.log (the last one per name). */
static void keep_log(const struct rundir *rd, int dfd)
{
	char name[RUNDIR_NAME_MAX + 2], to[RUNDIR_NAME_MAX + 16];
	const char *why;
	ssize_t n = read_at(dfd, "name", name, sizeof(name));
	int lfd;

	if (n <= 0 || rundir_name_check(name, &why))
		return;
	if (mkdirat(rd->dir_fd, "logs", 0700) < 0 && errno != EEXIST)
		return;
	lfd = openat(rd->dir_fd, "logs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lfd < 0)
		return;
	snprintf(to, sizeof(to), "%s.log", name);
	renameat(dfd, "xenkvmd.log", lfd, to);
	close(lfd);
}

/* Removes <base>/<domid> and everything in it (a flat directory). */
static int remove_entry(const struct rundir *rd, int domid)
{
	char name[16];
	struct dirent *de;
	DIR *d;
	int rc = 0, dfd = domain_dirfd(rd, domid);

	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	keep_log(rd, dfd);
	d = fdopendir(dfd);
	if (!d) {
		rc = -errno;
		close(dfd);
		return rc;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT && !rc)
			rc = -errno;
	}
	closedir(d);
	snprintf(name, sizeof(name), "%d", domid);
	if (unlinkat(rd->dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !rc)
		rc = -errno;
	return rc;
}

/* Under the base lock: collects live entries (if wanted), prunes dead ones. */
static int scan_locked(struct rundir *rd, struct rundir_entry **entries_r, size_t *nr_r,
		       unsigned int *pruned_r)
{
	struct rundir_entry *list = NULL, *e;
	size_t nr = 0, cap = 0;
	unsigned int pruned = 0;
	struct dirent *de;
	char buf[32];
	DIR *d;
	int rc = 0, domid, fd;

	fd = dup(rd->dir_fd);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rewinddir(d);   /* the dup shares its offset with dir_fd */
	while ((de = readdir(d))) {
		domid = entry_domid(de->d_name);
		if (domid < 0)
			continue;
		if (!rundir_alive(rd, domid)) {
			if (!remove_entry(rd, domid))
				pruned++;
			continue;
		}
		if (!entries_r)
			continue;
		if (nr == cap) {
			size_t ncap = cap ? cap * 2 : 16;

			e = realloc(list, ncap * sizeof(*list));
			if (!e) {
				rc = -ENOMEM;
				break;
			}
			list = e;
			cap = ncap;
		}
		e = &list[nr++];
		memset(e, 0, sizeof(*e));
		e->domid = domid;
		if (rundir_read_file(rd, domid, "name", e->name, sizeof(e->name)) < 0)
			e->name[0] = 0;
		if (rundir_read_file(rd, domid, "pid", buf, sizeof(buf)) > 0)
			e->pid = (pid_t)strtol(buf, NULL, 10);
	}
	closedir(d);
	if (rc) {
		free(list);
		return rc;
	}
	if (pruned_r)
		*pruned_r = pruned;
	if (entries_r) {
		/* insertion sort by domid: lists are short */
		for (size_t i = 1; i < nr; i++)
			for (size_t j = i; j > 0 && list[j - 1].domid > list[j].domid; j--) {
				struct rundir_entry t = list[j];

				list[j] = list[j - 1];
				list[j - 1] = t;
			}
		*entries_r = list;
		*nr_r = nr;
	}
	return 0;
}

int rundir_list(struct rundir *rd, struct rundir_entry **entries_r, size_t *nr_r, unsigned int *pruned_r)
{
	int rc = lock_base(rd);

	*entries_r = NULL;
	*nr_r = 0;
	if (rc)
		return rc;
	rc = scan_locked(rd, entries_r, nr_r, pruned_r);
	unlock_base(rd);
	return rc;
}

int rundir_find(struct rundir *rd, const char *name_or_domid, struct rundir_entry *e)
{
	struct rundir_entry *list;
	size_t nr, i;
	int domid = entry_domid(name_or_domid);
	int rc = rundir_list(rd, &list, &nr, NULL);

	if (rc)
		return rc;
	rc = -ENOENT;
	for (i = 0; i < nr; i++)
		if (domid > 0 ? list[i].domid == domid : !strcmp(list[i].name, name_or_domid)) {
			*e = list[i];
			rc = 0;
			break;
		}
	free(list);
	return rc;
}

int rundir_hand_over(const struct rundir *rd, int domid, uid_t uid, gid_t gid)
{
	char path[sizeof(rd->base) + 32];
	struct stat st;
	int rc = rundir_path(rd, domid, NULL, path, sizeof(path));

	if (rc)
		return rc;
	if (stat(rd->base, &st) < 0)
		return -errno;
	if ((st.st_mode & 0711) != 0711 && chmod(rd->base, (st.st_mode & 07777) | 0711) < 0)
		return -errno;
	if (chown(path, uid, gid) < 0)
		return -errno;
	return 0;
}

int rundir_remove(struct rundir *rd, int domid)
{
	int rc = lock_base(rd);

	if (rc)
		return rc;
	rc = rundir_alive(rd, domid) ? -EBUSY : remove_entry(rd, domid);
	unlock_base(rd);
	return rc;
}

static int read_next_domid(const struct rundir *rd)
{
	char buf[16];
	int domid = RUNDIR_DOMID_MIN;

	if (read_at(rd->dir_fd, "next-domid", buf, sizeof(buf)) > 0)
		domid = (int)strtol(buf, NULL, 10);
	if (domid < RUNDIR_DOMID_MIN || domid > RUNDIR_DOMID_MAX)
		domid = RUNDIR_DOMID_MIN;
	return domid;
}

static void write_next_domid(const struct rundir *rd, int domid)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d\n", domid);

	/* A lost hint only restarts the round robin at 1: ignore errors. */
	if (write_at(rd->dir_fd, "next-domid", buf, (size_t)n))
		pr_debug("rundir: could not record the next domid");
}

/* want > 0: that domid or -EBUSY; else the next one round robin. */
static int reserve(struct rundir *rd, const char *name, int want, int *domid_r, int *alive_fd_r)
{
	char name_buf[16];
	struct rundir_entry *list = NULL;
	size_t nr = 0, i;
	int rc, domid, start, fd = -1, dfd;
	bool made = false;

	rc = lock_base(rd);
	if (rc)
		return rc;
	rc = scan_locked(rd, &list, &nr, NULL);
	if (rc)
		goto out;
	for (i = 0; i < nr; i++)
		if (!strcmp(list[i].name, name)) {
			rc = -EEXIST;
			goto out;
		}
	/* Round robin from the last allocation, like Xen: a domid is reused
	 * only after every other one was, so a stale domid in a script does
	 * not silently reach a new domain. */
	start = domid = want > 0 ? want : read_next_domid(rd);
	for (;;) {
		snprintf(name_buf, sizeof(name_buf), "%d", domid);
		if (!mkdirat(rd->dir_fd, name_buf, 0700))
			break;
		if (errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		if (want > 0) {
			rc = -EBUSY;
			goto out;
		}
		domid = domid == RUNDIR_DOMID_MAX ? RUNDIR_DOMID_MIN : domid + 1;
		if (domid == start) {
			rc = -ENOSPC;
			goto out;
		}
	}
	made = true;
	dfd = domain_dirfd(rd, domid);
	if (dfd < 0) {
		rc = dfd;
		goto out;
	}
	/* No O_CLOEXEC: the daemon inherits this description, and its lock. */
	fd = openat(dfd, "alive", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	close(dfd);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = -errno;
		goto out;
	}
	rc = rundir_write_file(rd, domid, "name", name, strlen(name));
	if (rc)
		goto out;
	if (want <= 0)
		write_next_domid(rd, domid == RUNDIR_DOMID_MAX ? RUNDIR_DOMID_MIN : domid + 1);
	*domid_r = domid;
	*alive_fd_r = fd;
	fd = -1;
out:
	if (rc && made)
		remove_entry(rd, domid);
	if (fd >= 0)
		close(fd);
	unlock_base(rd);
	free(list);
	return rc;
}

int rundir_reserve(struct rundir *rd, const char *name, int *domid_r, int *alive_fd_r)
{
	return reserve(rd, name, 0, domid_r, alive_fd_r);
}

int rundir_reserve_domid(struct rundir *rd, const char *name, int domid, int *alive_fd_r)
{
	int got;

	if (domid < RUNDIR_DOMID_MIN || domid > RUNDIR_DOMID_MAX)
		return -EINVAL;
	return reserve(rd, name, domid, &got, alive_fd_r);
}

void rundir_cloexec_inherited(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int fd, self;

	if (!d)
		return;
	self = dirfd(d);
	while ((de = readdir(d))) {
		char *end;

		fd = (int)strtol(de->d_name, &end, 10);
		if (!*end && end != de->d_name && fd > STDERR_FILENO && fd != self)
			fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
	}
	closedir(d);
}
