/*
 * libFuzzer harness for the migration handshake (userspace/migrate_link.c):
 * the bytes are what the other host sends back through the socket, read by
 * the sender waiting for READY and by the receiver waiting for GO.  Neither
 * may crash, hang or read past its line; READY and GO are accepted only as
 * the exact lines (LF or CRLF), and `why` is always one NUL-terminated
 * printable line.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xenkvm/log.h"
#include "xenkvm/migrate_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The peer's bytes on one end of a socket pair, then EOF. */
static int peer(const uint8_t *data, size_t size)
{
	int sv[2];

	if (size > 4096 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	if (size && write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	return sv[0];
}

static void check_why(const char *why, size_t size)
{
	size_t n = strnlen(why, size);

	if (n == size)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)why[i] < 0x20 && why[i] != '\t')
			__builtin_trap();
}

static bool starts_with_line(const uint8_t *data, size_t size, const char *line)
{
	size_t n = strlen(line);

	return size > n && !memcmp(data, line, n) &&
	       (data[n] == '\n' || (size > n + 1 && data[n] == '\r' && data[n + 1] == '\n'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	bool paused = false;
	int fd, rc;
	static bool quiet;

	if (!quiet) {
		log_set_level(LOG_ERR);
		quiet = true;
	}
	fd = peer(data, size);
	if (fd < 0)
		return 0;
	memset(why, 'x', sizeof(why));
	rc = migrate_await_ready(fd, 1000, why, sizeof(why));
	if ((rc == 0) != starts_with_line(data, size, MIGRATE_READY))
		__builtin_trap();
	if (rc)
		check_why(why, sizeof(why));
	close(fd);

	fd = peer(data, size);
	if (fd < 0)
		return 0;
	memset(why, 'x', sizeof(why));
	rc = migrate_await_go(fd, 1000, &paused, why, sizeof(why));
	if (rc == 0 && !(paused ? starts_with_line(data, size, MIGRATE_GO_PAUSED)
				: starts_with_line(data, size, MIGRATE_GO)))
		__builtin_trap();
	if (rc)
		check_why(why, sizeof(why));
	close(fd);
	return 0;
}
