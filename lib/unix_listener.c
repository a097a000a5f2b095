/*
 * The one way this program listens on a unix socket (unix_listener.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xenkvm/clock.h"
#include "xenkvm/log.h"
#include "xenkvm/unix_listener.h"

int unix_listener_open(struct unix_listener *l, const char *path, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int rc;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	/* Replace a socket left by a previous run, never any other file. */
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	}
	l->path = strdup(path);
	if (!l->path)
		return -ENOMEM;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		goto fail_errno;
	/* Linux creates the file with the socket inode's mode minus the umask:
	 * 0600 here means never wider than 0600, with no chmod() window. */
	if (fchmod(l->fd, 0600) < 0 || bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail_errno;
	if (lstat(path, &st) < 0 || ((st.st_mode & 07777) != 0600 && chmod(path, 0600) < 0))
		goto fail_unlink;
	if (listen(l->fd, backlog) < 0)
		goto fail_unlink;
	return 0;
fail_unlink:
	rc = -errno;
	unlink(path);
	goto fail;
fail_errno:
	rc = -errno;
fail:
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->path);
	l->path = NULL;
	return rc;
}

void unix_listener_close(struct unix_listener *l)
{
	if (l->fd >= 0) {
		close(l->fd);
		unlink(l->path);
	}
	l->fd = -1;
	free(l->path);
	l->path = NULL;
}

int unix_listener_accept(struct unix_listener *l)
{
	int fd, err;

	if (unix_listener_resume_ns(l))
		return -EAGAIN;
	fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		return fd;
	err = errno;
	switch (err) {
	case EAGAIN:
	case EINTR:
	case ECONNABORTED:
		return -EAGAIN;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		l->paused_until = clock_mono_ns() + UNIX_LISTENER_BACKOFF_NS;
		l->pauses++;
		pr_warn_rl("%s: accept: %s; not accepting for %llu ms", l->path, strerror(err),
			   UNIX_LISTENER_BACKOFF_NS / 1000000ull);
		return -err;
	default:
		return -err;
	}
}

uint64_t unix_listener_resume_ns(struct unix_listener *l)
{
	if (l->paused_until && clock_mono_ns() >= l->paused_until)
		l->paused_until = 0;
	return l->paused_until;
}
