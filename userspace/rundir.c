/*
 * The run directory (see rundir.h for the layout and why liveness is a
 * file lock rather than a pid).  Every change to the set of domain
 * directories happens under <base>/lock, so two CLIs never hand out the
 * same domid or name.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

int rundir_open(const char *base, struct rundir *rd)
{
	char path[sizeof(rd->base) + 16];
	struct stat st;
	int rc;

	rd->lock_fd = -1;
	if (strlen(base) >= sizeof(rd->base) - 32)
		return -ENAMETOOLONG;
	strcpy(rd->base, base);
	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (stat(base, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	snprintf(path, sizeof(path), "%s/lock", base);
	rd->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (rd->lock_fd < 0) {
		rc = -errno;
		return rc;
	}
	return 0;
}

void rundir_close(struct rundir *rd)
{
	if (rd->lock_fd >= 0)
		close(rd->lock_fd);
	rd->lock_fd = -1;
}

int rundir_path(const struct rundir *rd, int domid, const char *file, char *buf, size_t len)
{
	int n = file ? snprintf(buf, len, "%s/%d/%s", rd->base, domid, file)
		     : snprintf(buf, len, "%s/%d", rd->base, domid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
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
	char path[sizeof(rd->base) + 32];
	bool alive;
	int fd;

	if (rundir_path(rd, domid, "alive", path, sizeof(path)))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* Shared and non-blocking: fails only while the exclusive owner lives. */
	alive = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return alive;
}

ssize_t rundir_read_file(const struct rundir *rd, int domid, const char *file, char *buf, size_t size)
{
	char path[sizeof(rd->base) + 64];
	ssize_t n, total = 0;
	int fd, rc;

	if (!size)
		return -EINVAL;
	rc = rundir_path(rd, domid, file, path, sizeof(path));
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
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

int rundir_write_file(const struct rundir *rd, int domid, const char *file, const void *data, size_t len)
{
	char path[sizeof(rd->base) + 64], tmp[sizeof(path) + 8];
	const char *p = data;
	int fd = -1, rc;
	ssize_t n;

	rc = rundir_path(rd, domid, file, path, sizeof(path));
	if (rc)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		rc = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
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
static void keep_log(const struct rundir *rd, int domid)
{
	char name[RUNDIR_NAME_MAX + 2], from[sizeof(rd->base) + 64], to[sizeof(rd->base) + 96];
	const char *why;
	ssize_t n = rundir_read_file(rd, domid, "name", name, sizeof(name));

	if (n <= 0 || rundir_name_check(name, &why) || rundir_path(rd, domid, "xenkvmd.log", from, sizeof(from)))
		return;
	snprintf(to, sizeof(to), "%s/logs", rd->base);
	if (mkdir(to, 0700) < 0 && errno != EEXIST)
		return;
	snprintf(to, sizeof(to), "%s/logs/%s.log", rd->base, name);
	rename(from, to);
}

/* Removes <base>/<domid> and everything in it (a flat directory). */
static int remove_entry(const struct rundir *rd, int domid)
{
	char path[sizeof(rd->base) + 32];
	struct dirent *de;
	DIR *d;
	int rc = 0, dfd;

	keep_log(rd, domid);
	rc = rundir_path(rd, domid, NULL, path, sizeof(path));
	if (rc)
		return rc;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT && !rc)
			rc = -errno;
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT && !rc)
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
	int rc = 0, domid;

	d = opendir(rd->base);
	if (!d)
		return -errno;
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
	char path[sizeof(rd->base) + 16], buf[16];
	int fd, domid = RUNDIR_DOMID_MIN;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/next-domid", rd->base);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return domid;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		domid = (int)strtol(buf, NULL, 10);
	}
	if (domid < RUNDIR_DOMID_MIN || domid > RUNDIR_DOMID_MAX)
		domid = RUNDIR_DOMID_MIN;
	return domid;
}

static void write_next_domid(const struct rundir *rd, int domid)
{
	char path[sizeof(rd->base) + 16], buf[16];
	int fd, n;

	snprintf(path, sizeof(path), "%s/next-domid", rd->base);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%d\n", domid);
	/* A lost hint only restarts the round robin at 1: ignore errors. */
	if (write(fd, buf, (size_t)n) != n)
		pr_debug("rundir: could not record the next domid");
	close(fd);
}

int rundir_reserve(struct rundir *rd, const char *name, int *domid_r, int *alive_fd_r)
{
	char path[sizeof(rd->base) + 32];
	struct rundir_entry *list = NULL;
	size_t nr = 0, i;
	int rc, domid, start, fd = -1;
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
	start = domid = read_next_domid(rd);
	for (;;) {
		rc = rundir_path(rd, domid, NULL, path, sizeof(path));
		if (rc)
			goto out;
		if (!mkdir(path, 0700))
			break;
		if (errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		domid = domid == RUNDIR_DOMID_MAX ? RUNDIR_DOMID_MIN : domid + 1;
		if (domid == start) {
			rc = -ENOSPC;
			goto out;
		}
	}
	made = true;
	rc = rundir_path(rd, domid, "alive", path, sizeof(path));
	if (rc)
		goto out;
	/* No O_CLOEXEC: the daemon inherits this description, and its lock. */
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = -errno;
		goto out;
	}
	rc = rundir_write_file(rd, domid, "name", name, strlen(name));
	if (rc)
		goto out;
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
