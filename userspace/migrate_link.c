/*
 * The migration handshake's lines (include/xenkvm/migrate_link.h).  The
 * peer is another host: every line it sends is bounded, checked and
 * quoted back only as printable text.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xenkvm/migrate_link.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int migrate_read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	size_t len = 0;

	if (size < 2)
		return -EINVAL;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int wait = -1, rc;
		ssize_t k;
		char c;

		if (deadline >= 0) {
			long long left = deadline - now_ms();

			wait = left > 0 ? (int)left : 0;
		}
		rc = poll(&p, 1, wait);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		k = read(fd, &c, 1);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ECONNRESET;
		if (c == '\n') {
			if (len && buf[len - 1] == '\r')
				len--;   /* a CRLF line end */
			buf[len] = '\0';
			return (int)len;
		}
		/* A CR only before the LF: "G\rO" is no GO. */
		if (len && buf[len - 1] == '\r')
			return -EPROTO;
		if ((unsigned char)c < 0x20 && c != '\t' && c != '\r')
			return -EPROTO;
		if (len + 1 >= size || len + 1 >= MIGRATE_LINE_MAX)
			return -EMSGSIZE;
		buf[len++] = c;
	}
}

int migrate_write_line(int fd, const char *line)
{
	char buf[MIGRATE_LINE_MAX];
	size_t n = strlen(line), off = 0;

	if (n + 1 > sizeof(buf))
		return -EMSGSIZE;
	memcpy(buf, line, n);
	buf[n++] = '\n';
	while (off < n) {
		ssize_t k = write(fd, buf + off, n - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		off += (size_t)k;
	}
	return 0;
}

int migrate_write_error(int fd, const char *reason)
{
	char line[MIGRATE_LINE_MAX];
	size_t n = (size_t)snprintf(line, sizeof(line) - 1, "%s %s", MIGRATE_ERROR, reason);

	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f)
			line[i] = ' ';
	line[n] = '\0';
	return migrate_write_line(fd, line);
}

static void describe(int rc, const char *line, const char *who, const char *wanted,
		     int timeout_ms, char *why, size_t size)
{
	switch (rc) {
	case -ECONNRESET:
		snprintf(why, size, "the %s closed the connection before %s", who, wanted);
		break;
	case -ETIMEDOUT:
		snprintf(why, size, "the %s did not answer within %d s", who, timeout_ms / 1000);
		break;
	case -EMSGSIZE:
	case -EPROTO:
		snprintf(why, size, "the %s sent something that is not a handshake line", who);
		break;
	default:
		if (rc < 0)
			snprintf(why, size, "reading the %s's answer: %s", who, strerror(-rc));
		else
			snprintf(why, size, "the %s sent '%.200s', not %s", who, line, wanted);
	}
}

int migrate_await_ready(int fd, int timeout_ms, char *why, size_t size)
{
	char line[MIGRATE_LINE_MAX];
	size_t elen = strlen(MIGRATE_ERROR);
	int rc = migrate_read_line(fd, line, sizeof(line), timeout_ms);

	if (rc >= 0 && !strcmp(line, MIGRATE_READY))
		return 0;
	if (rc >= 0 && !strncmp(line, MIGRATE_ERROR, elen) &&
	    (line[elen] == ' ' || line[elen] == '\0')) {
		snprintf(why, size, "the receiver refused: %s",
			 line[elen] ? line + elen + 1 : "(no reason given)");
		return -ECANCELED;
	}
	describe(rc, line, "receiver", "confirming (" MIGRATE_READY ")", timeout_ms, why, size);
	return rc < 0 ? rc : -EPROTO;
}

int migrate_await_go(int fd, int timeout_ms, bool *paused_r, char *why, size_t size)
{
	char line[MIGRATE_LINE_MAX];
	int rc = migrate_read_line(fd, line, sizeof(line), timeout_ms);

	*paused_r = rc >= 0 && !strcmp(line, MIGRATE_GO_PAUSED);
	if (rc >= 0 && (!strcmp(line, MIGRATE_GO) || *paused_r))
		return 0;
	describe(rc, line, "sender", "GO", timeout_ms, why, size);
	return rc < 0 ? rc : -EPROTO;
}
