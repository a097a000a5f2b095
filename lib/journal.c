/*
 * The journal's native protocol (systemd.journal-fields(7), "native
 * protocol"): one datagram per entry, each field a KEY=value line.  A value
 * with a newline would need the binary form; log lines are one line, so any
 * newline inside one becomes a space instead.  Sending never blocks: a full
 * journal drops our line rather than stall a vCPU.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xenkvm/journal.h"

static int journal_fd = -1;
static char journal_ident[64] = "xenkvm";
static char journal_domain[128];
static int journal_domid = -1;
static pthread_mutex_t journal_lock = PTHREAD_MUTEX_INITIALIZER;

bool journal_wanted(void)
{
	const char *id = getenv("INVOCATION_ID");

	return id && *id && access(JOURNAL_SOCKET, W_OK) == 0;
}

/* syslog priorities, as the journal's PRIORITY field wants them. */
static int journal_priority(enum log_level level)
{
	switch (level) {
	case LOG_ERR: return 3;
	case LOG_WARN: return 4;
	case LOG_INFO: return 6;
	default: return 7;
	}
}

/* Appends KEY=value\n, the value on one line; false if it did not fit. */
static bool field(char *buf, size_t len, size_t *n, const char *key, const char *value)
{
	size_t k = strlen(key), v = strlen(value), need = k + 1 + v + 1;

	if (*n + need > len)
		return false;
	memcpy(buf + *n, key, k);
	buf[*n + k] = '=';
	for (size_t i = 0; i < v; i++)
		buf[*n + k + 1 + i] = value[i] == '\n' ? ' ' : value[i];
	buf[*n + need - 1] = '\n';
	*n += need;
	return true;
}

static void journal_sink(enum log_level level, const char *msg)
{
	char buf[2048], num[16];
	size_t n = 0, m = strlen(msg);
	char line[1100];

	/* The line without its newline. */
	while (m && msg[m - 1] == '\n')
		m--;
	if (m >= sizeof(line))
		m = sizeof(line) - 1;
	memcpy(line, msg, m);
	line[m] = 0;
	pthread_mutex_lock(&journal_lock);
	if (journal_fd < 0)
		goto out;
	snprintf(num, sizeof(num), "%d", journal_priority(level));
	if (!field(buf, sizeof(buf), &n, "PRIORITY", num) ||
	    !field(buf, sizeof(buf), &n, "SYSLOG_IDENTIFIER", journal_ident))
		goto out;
	if (journal_domain[0] && !field(buf, sizeof(buf), &n, "XENKVM_DOMAIN", journal_domain))
		goto out;
	if (journal_domid >= 0) {
		snprintf(num, sizeof(num), "%d", journal_domid);
		if (!field(buf, sizeof(buf), &n, "XENKVM_DOMID", num))
			goto out;
	}
	if (!field(buf, sizeof(buf), &n, "MESSAGE", line))
		goto out;
	(void)!send(journal_fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
out:
	pthread_mutex_unlock(&journal_lock);
}

int journal_open(const char *path, const char *ident)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (!path)
		path = JOURNAL_SOCKET;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	pthread_mutex_lock(&journal_lock);
	if (journal_fd >= 0)
		close(journal_fd);
	journal_fd = fd;
	snprintf(journal_ident, sizeof(journal_ident), "%s", ident);
	pthread_mutex_unlock(&journal_lock);
	log_set_sink(journal_sink);
	return 0;
}

void journal_set_domain(const char *name, int domid)
{
	pthread_mutex_lock(&journal_lock);
	snprintf(journal_domain, sizeof(journal_domain), "%s", name ? name : "");
	journal_domid = domid;
	pthread_mutex_unlock(&journal_lock);
}

void journal_close(void)
{
	log_set_sink(NULL);
	pthread_mutex_lock(&journal_lock);
	if (journal_fd >= 0)
		close(journal_fd);
	journal_fd = -1;
	pthread_mutex_unlock(&journal_lock);
}
