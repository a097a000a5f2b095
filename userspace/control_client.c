/*
 * The CLI's end of the control socket: connect, send one request line,
 * read one reply line, all under one deadline so a hung daemon cannot hang
 * the CLI.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xenkvm/clock.h"
#include "xenkvm/control.h"

/* Waits for `events` on fd until the deadline; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - (int64_t)clock_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int control_call(const char *path, const struct control_request *req, int timeout_ms,
		 struct control_reply *rep, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control_request r = *req;
	int64_t deadline = (int64_t)clock_mono_ms() + timeout_ms;
	char *line = NULL, *in = NULL, *nl = NULL;
	size_t len, off = 0, in_len = 0;
	int fd = -1, rc;
	ssize_t n;

	memset(rep, 0, sizeof(rep[0]));
	if (err && errlen)
		err[0] = 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	r.has_id = true;
	r.id = 1;
	rc = control_request_encode(&r, &line, &len);
	if (rc)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	/* A unix-socket connect does not block for long: either someone
	 * listens (and the backlog takes us) or it fails at once. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out;
	}
	while (off < len) {
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc)
			goto out;
		n = send(fd, line + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = errno == EPIPE ? -ECONNRESET : -errno;
			goto out;
		}
		off += (size_t)n;
	}
	in = malloc(CONTROL_LINE_MAX);
	if (!in) {
		rc = -ENOMEM;
		goto out;
	}
	while (!nl) {
		if (in_len == CONTROL_LINE_MAX) {
			rc = -EPROTO;
			snprintf(err, errlen, "reply longer than %d bytes", CONTROL_LINE_MAX);
			goto out;
		}
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc)
			goto out;
		n = recv(fd, in + in_len, CONTROL_LINE_MAX - in_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0) {
			rc = -ECONNRESET;
			goto out;
		}
		nl = memchr(in + in_len, '\n', (size_t)n);
		in_len += (size_t)n;
	}
	rc = control_reply_decode(req->op, in, (size_t)(nl - in) + 1, rep, err, errlen);
	if (rc) {
		if (rc != -ENOMEM)
			rc = -EPROTO;
		goto out;
	}
	if (rep->has_id && rep->id != 1) {
		control_reply_free(rep);
		rc = -EPROTO;
		snprintf(err, errlen, "reply to another request (id %lld)", (long long)rep->id);
	}
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(in);
	return rc;
}
