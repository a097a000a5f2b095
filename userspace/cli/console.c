/*
 * xenkvm console: the terminal in raw mode, relayed byte for byte to the
 * daemon's console socket (console_server.h).  Ctrl-] typed locally
 * detaches, as in xl console; it is never sent to the guest.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define CONSOLE_ESCAPE 0x1d   /* Ctrl-] */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	struct pollfd pf = { .fd = fd, .events = POLLOUT };

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				poll(&pf, 1, -1);
				continue;
			}
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int cli_console_attach(const char *verb, const struct rundir *rd, const struct rundir_entry *e,
		       bool pv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO), restored = true, detached = false, connected;
	char buf[4096];
	int fd = -1, rc = CLI_FAIL;

	if (rundir_path(rd, e->domid, pv ? "pv-console.sock" : "console.sock", sa.sun_path,
			sizeof(sa.sun_path)))
		return cli_fail(verb, "run directory path too long");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	connected = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	/* A PVH domain's only console socket is its PV console (hvc0). */
	if (!connected && fd >= 0 && pv && errno == ENOENT &&
	    !rundir_path(rd, e->domid, "console.sock", sa.sun_path, sizeof(sa.sun_path)))
		connected = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (!connected) {
		cli_fail(verb, "domain %s (id %d) has no %sconsole socket (%s)%s", e->name, e->domid,
			 pv ? "PV " : "",
			 strerror(errno), errno == ENOENT ? "; was it started with create -F?" : "");
		goto out;
	}
	if (tty) {
		fprintf(stderr, "Connected to domain %s (id %d); Ctrl-] detaches\r\n", e->name, e->domid);
		if (tcgetattr(STDIN_FILENO, &saved) == 0) {
			raw = saved;
			cfmakeraw(&raw);
			if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
				restored = false;
		}
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = fd, .events = POLLIN },
		};
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;   /* the domain ended, or another console took over */
			if (write_all(STDOUT_FILENO, buf, (size_t)n))
				break;
		}
		if (p[0].revents) {
			char *esc;

			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				detached = true;   /* end of input: detach, the domain runs on */
				break;
			}
			esc = memchr(buf, CONSOLE_ESCAPE, (size_t)n);
			if (esc)
				n = esc - buf;
			if (n && send_all(fd, buf, (size_t)n))
				break;
			if (esc) {
				detached = true;
				break;
			}
		}
	}
	rc = CLI_OK;
out:
	if (!restored)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (tty && rc == CLI_OK)
		fprintf(stderr, "\n%s\n", detached ? "Detached from the console." : "Console closed.");
	if (fd >= 0)
		close(fd);
	return rc;
}

int cli_console(int argc, char **argv)
{
	struct rundir rd = { .lock_fd = -1 };
	struct rundir_entry e;
	const char *dom = NULL;
	bool pv = false;
	int rc;

	if (cli_want_help("console", argc, argv, &rc))
		return rc;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t")) {
			if (++i == argc)
				return cli_usage_error("console", "-t needs a type (serial or pv)");
			if (!strcmp(argv[i], "pv"))
				pv = true;
			else if (strcmp(argv[i], "serial"))
				return cli_usage_error("console", "console type '%s' is not serial or pv",
						       argv[i]);
		} else if (argv[i][0] == '-') {
			return cli_usage_error("console", "unknown option '%s'", argv[i]);
		} else if (dom) {
			return cli_usage_error("console", "too many arguments");
		} else {
			dom = argv[i];
		}
	}
	if (!dom)
		return cli_usage_error("console", "'xenkvm console' requires a DOMAIN");
	if (cli_rundir_open("console", &rd))
		return CLI_FAIL;
	rc = cli_find_domain("console", &rd, dom, &e) ? CLI_FAIL
						      : cli_console_attach("console", &rd, &e, pv);
	rundir_close(&rd);
	return rc;
}
