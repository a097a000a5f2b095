/*
 * xenkvm migrate DOMAIN HOST and xenkvm migrate-receive, as xl has them
 * (docs/CLI.md; the stream and handshake: docs/SAVE-FORMAT.md).
 *
 * Sending: the transport is `ssh HOST xenkvm migrate-receive` (or -C CMD)
 * on a socketpair as its stdin and stdout, or a TCP connection (--tcp).
 * The domain's daemon writes the stream and speaks the handshake itself,
 * to a unix socket this process listens on and relays to the transport,
 * so the daemon needs no fd passing and never runs the command.
 *
 * Receiving: the stream arrives on stdin (or one TCP connection with
 * --listen); it is read and checked here section by section while it is
 * copied into a pipe a fresh `xenkvmd --restore --paused` loads from.  Once
 * that daemon reports the domain loaded and paused, READY goes back; GO
 * unpauses it, anything else destroys it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "xenkvm/config_state.h"
#include "xenkvm/migrate_link.h"
#include "xenkvm/state_stream.h"

/* Writing a big guest over a slow link takes a while; the daemon itself
 * gives up waiting for the receiver after 10 minutes. */
#define MIGRATE_TIMEOUT_MS   (20 * 60 * 1000)
#define MIGRATE_EXIT_MS      30000
#define MIGRATE_GO_TIMEOUT_MS 60000
#define RELAY_BUF            (256 * 1024)

/* "HOST:PORT" or "[V6]:PORT" into a connected (or, listening, bound)
 * TCP socket.  The fd or -1 with the reason printed. */
static int tcp_socket(const char *verb, const char *addr, bool listening)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = listening ? AI_PASSIVE : 0 };
	struct addrinfo *res, *ai;
	char host[256];
	const char *colon = strrchr(addr, ':'), *port;
	size_t hlen;
	int fd = -1, rc, one = 1;

	if (!colon || colon == addr || !colon[1]) {
		cli_usage_error(verb, "'%s' is not HOST:PORT", addr);
		return -1;
	}
	port = colon + 1;
	hlen = (size_t)(colon - addr);
	if (addr[0] == '[' && colon[-1] == ']') {
		addr++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		cli_usage_error(verb, "'%s': host name too long", addr);
		return -1;
	}
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		cli_fail(verb, "%s: %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (listening) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 1))
				break;
		} else if (!connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			break;
		}
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	if (fd < 0)
		cli_fail(verb, "%s %s: %s", listening ? "cannot listen on" : "cannot connect to", addr,
			 strerror(errno));
	freeaddrinfo(res);
	return fd;
}

/* Runs argv with a socketpair end as its stdin and stdout (stderr is
 * ours, so the receiver's messages reach the user).  Our end or -1. */
static int spawn_transport(char *const *argv, pid_t *pid_r)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(sv[1], STDOUT_FILENO) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "xenkvm migrate: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	*pid_r = pid;
	return sv[0];
}

/* The relay between the daemon's connection and the transport. */
struct pump {
	int listen_fd, daemon_fd, peer_fd;
	int stop[2];             /* written once the daemon has answered */
	char err[256];
};

/* Copies what is readable on `from` to `to`.  1 on EOF, 0, -errno. */
static int pump_once(int from, int to, char *buf)
{
	ssize_t n = read(from, buf, RELAY_BUF), off = 0;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return 1;
	while (off < n) {
		ssize_t k = write(to, buf + off, (size_t)(n - off));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		off += k;
	}
	return 0;
}

static void *pump_run(void *arg)
{
	struct pump *p = arg;
	char *buf = malloc(RELAY_BUF);
	bool daemon_eof = false, peer_eof = false;

	if (!buf) {
		snprintf(p->err, sizeof(p->err), "out of memory");
		return NULL;
	}
	for (;;) {
		struct pollfd f[3] = {
			{ .fd = p->daemon_fd >= 0 ? (daemon_eof ? -1 : p->daemon_fd) : p->listen_fd,
			  .events = POLLIN },
			{ .fd = p->daemon_fd >= 0 && !peer_eof ? p->peer_fd : -1, .events = POLLIN },
			{ .fd = p->stop[0], .events = POLLIN },
		};
		int rc;

		if (poll(f, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (f[2].revents)
			break;
		if (p->daemon_fd < 0) {
			if (f[0].revents) {
				p->daemon_fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
				if (p->daemon_fd < 0 && errno != EINTR && errno != EAGAIN)
					break;
			}
			continue;
		}
		if (f[0].revents) {
			rc = pump_once(p->daemon_fd, p->peer_fd, buf);
			if (rc < 0) {
				/* The receiver is gone: the daemon's next write fails. */
				snprintf(p->err, sizeof(p->err), "writing to the receiver: %s", strerror(-rc));
				shutdown(p->daemon_fd, SHUT_RDWR);
				break;
			}
			if (rc) {
				/* The daemon said all (stream, GO or nothing). */
				daemon_eof = true;
				shutdown(p->peer_fd, SHUT_WR);
				break;
			}
		}
		if (f[1].revents) {
			rc = pump_once(p->peer_fd, p->daemon_fd, buf);
			if (rc) {
				if (rc < 0)
					snprintf(p->err, sizeof(p->err), "reading from the receiver: %s",
						 strerror(-rc));
				/* EOF reaches the daemon waiting for READY. */
				peer_eof = true;
				shutdown(p->daemon_fd, SHUT_WR);
			}
		}
	}
	free(buf);
	return NULL;
}

/* A unix socket for the daemon next to its control socket, owned like
 * the directory (the daemon may run as another user). */
static int daemon_listener(const struct rundir *rd, int domid, char *path, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	char dir[sizeof(rd->base) + 32];
	int fd;

	if (rundir_path(rd, domid, "migrate.sock", path, size) || strlen(path) >= sizeof(sa.sun_path) ||
	    rundir_path(rd, domid, "", dir, sizeof(dir)) || stat(dir, &st) < 0)
		return -1;
	memcpy(sa.sun_path, path, strlen(path));
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1) < 0 || (st.st_uid != getuid() && chown(path, st.st_uid, st.st_gid) < 0)) {
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

static void reap(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) != 0)
			return;
		usleep(100 * 1000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

int cli_migrate(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "live", no_argument, NULL, 'l' },
		{ "tcp", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct control_request req = { .version = CONTROL_PROTOCOL_VERSION,
				       .op = CONTROL_OP_MIGRATE_SEND };
	struct rundir rd = { .lock_fd = -1 };
	struct pump p = { .listen_fd = -1, .daemon_fd = -1, .peer_fd = -1, .stop = { -1, -1 } };
	struct control_reply rep;
	struct rundir_entry e;
	const char *cmd = NULL, *tcp = NULL, *host = NULL;
	bool live = false, pumping = false;
	pthread_t th;
	pid_t child = -1;
	struct timespec t0, t1;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hC:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cli_print_help(cli_verb_find("migrate"));
			return CLI_OK;
		case 'l': live = true; break;
		case 'C': cmd = optarg; break;
		case 't': tcp = optarg; break;
		default:
			return cli_usage_error("migrate", "unknown option or missing value '%s'",
					       argv[optind - 1]);
		}
	}
	if (cmd && tcp)
		return cli_usage_error("migrate", "-C and --tcp exclude each other");
	if (argc - optind != 2 && !(argc - optind == 1 && (cmd || tcp)))
		return cli_usage_error("migrate", "expected DOMAIN HOST");
	if (argc - optind == 2)
		host = argv[optind + 1];
	if (live)
		return cli_fail("migrate", "--live (pre-copy) is not implemented yet: the domain is "
				"paused for the whole copy without it");
	signal(SIGPIPE, SIG_IGN);
	if (cli_rundir_open("migrate", &rd))
		return CLI_FAIL;
	rc = cli_find_domain("migrate", &rd, argv[optind], &e);
	if (rc) {
		rundir_close(&rd);
		return CLI_FAIL;
	}
	rc = CLI_FAIL;
	p.listen_fd = daemon_listener(&rd, e.domid, req.arg, sizeof(req.arg));
	if (p.listen_fd < 0) {
		cli_fail("migrate", "cannot listen for domain %s's daemon in %s: %s", e.name, rd.base,
			 strerror(errno));
		goto out;
	}
	if (tcp) {
		p.peer_fd = tcp_socket("migrate", tcp, false);
	} else {
		char *sh[] = { "sh", "-c", (char *)cmd, NULL };
		char *ssh[] = { "ssh", (char *)host, "xenkvm", "migrate-receive", NULL };

		p.peer_fd = spawn_transport(cmd ? sh : ssh, &child);
		if (p.peer_fd < 0)
			cli_fail("migrate", "cannot start %s: %s", cmd ? cmd : "ssh", strerror(errno));
	}
	if (p.peer_fd < 0)
		goto out;
	if (pipe2(p.stop, O_CLOEXEC) < 0 || pthread_create(&th, NULL, pump_run, &p)) {
		cli_fail("migrate", "cannot start the relay: %s", strerror(errno));
		goto out;
	}
	pumping = true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = cli_control_req("migrate", &rd, &e, &req, MIGRATE_TIMEOUT_MS, &rep);
	control_reply_free(&rep);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc) {
		cli_fail("migrate", "domain %s (id %d) was not migrated and runs on here", e.name,
			 e.domid);
		rc = CLI_FAIL;
		goto out;
	}
	rc = cli_wait_gone(&rd, e.domid, MIGRATE_EXIT_MS);
	if (rc) {
		cli_fail("migrate", "domain %s (id %d) was handed over but its daemon has not ended "
			 "(pid %d)", e.name, e.domid, (int)e.pid);
		rc = CLI_FAIL;
		goto out;
	}
	rundir_remove(&rd, e.domid);
	fprintf(stderr, "Migrated domain %s (id=%d) to %s in %.2f s\n", e.name, e.domid,
		tcp ? tcp : cmd ? "the receiving command" : host,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rc = CLI_OK;
out:
	if (pumping) {
		/* Handed over: the relay ends by itself once GO went through
		 * and the daemon closed; a failure needs nothing more sent. */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 10;
		if (rc != CLI_OK || pthread_timedjoin_np(th, NULL, &ts)) {
			if (write(p.stop[1], "x", 1) < 0)
				pthread_cancel(th);
			pthread_join(th, NULL);
		}
	}
	if (p.peer_fd >= 0) {
		shutdown(p.peer_fd, SHUT_WR);
		close(p.peer_fd);
	}
	reap(child);
	if (p.daemon_fd >= 0)
		close(p.daemon_fd);
	if (p.listen_fd >= 0) {
		close(p.listen_fd);
		unlink(req.arg);
	}
	if (p.stop[0] >= 0)
		close(p.stop[0]);
	if (p.stop[1] >= 0)
		close(p.stop[1]);
	rundir_close(&rd);
	return rc;
}

/* ---- receiving ---------------------------------------------------------- */

struct receive {
	struct state_reader *r;
	int pipe_fd;                 /* to the daemon; -1 until it runs */
	uint8_t *held;               /* what was read before it ran */
	size_t held_len, held_cap;
	char why[512];
};

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t k = write(fd, b, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The reader's tap: bytes go on to the daemon as they are read. */
static int receive_tap(void *ctx, const void *p, size_t n)
{
	struct receive *rv = ctx;

	if (rv->pipe_fd >= 0)
		return write_all(rv->pipe_fd, p, n);
	if (n > rv->held_cap - rv->held_len) {
		size_t cap = rv->held_cap ? rv->held_cap : 65536;
		uint8_t *q;

		while (n > cap - rv->held_len)
			cap *= 2;
		q = realloc(rv->held, cap);
		if (!q)
			return -ENOMEM;
		rv->held = q;
		rv->held_cap = cap;
	}
	memcpy(rv->held + rv->held_len, p, n);
	rv->held_len += n;
	return 0;
}

/* The rest of the stream, every section checked, into the daemon's pipe. */
static int receive_relay(void *ctx)
{
	struct receive *rv = ctx;
	struct state_section s;
	int rc;

	rc = write_all(rv->pipe_fd, rv->held, rv->held_len);
	free(rv->held);
	rv->held = NULL;
	if (rc) {
		snprintf(rv->why, sizeof(rv->why), "the receiving xenkvmd stopped reading: %s",
			 strerror(-rc));
		goto out;
	}
	while ((rc = state_reader_next(rv->r, &s)) == 1)
		;
	if (rc)
		snprintf(rv->why, sizeof(rv->why), "the stream: %s", state_reader_error(rv->r));
out:
	close(rv->pipe_fd);
	rv->pipe_fd = -1;
	return rc ? -1 : 0;
}

int cli_migrate_receive(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "listen", required_argument, NULL, 'L' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	struct receive rv = { .pipe_fd = -1 };
	struct cli_stream_restore st = { .daemon_fd = -1 };
	struct config_state cs = { 0 };
	struct rundir rd = { .lock_fd = -1 };
	struct control_reply rep;
	const char *listen_addr = NULL, *user = NULL;
	struct timespec t0, t1;
	char why[512];
	int in_fd = STDIN_FILENO, out_fd = STDOUT_FILENO, conn = -1, pfd[2] = { -1, -1 };
	int c, rc = CLI_FAIL;
	bool verbose = false, paused = false;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hvu:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cli_print_help(cli_verb_find("migrate-receive"));
			return CLI_OK;
		case 'L': listen_addr = optarg; break;
		case 'v': verbose = true; break;
		case 'u': user = optarg; break;
		default:
			return cli_usage_error("migrate-receive", "unknown option or missing value '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("migrate-receive", "no arguments expected");
	signal(SIGPIPE, SIG_IGN);
	if (listen_addr) {
		int lfd = tcp_socket("migrate-receive", listen_addr, true);

		if (lfd < 0)
			return CLI_FAIL;
		fprintf(stderr, "xenkvm migrate-receive: waiting for a migration on %s\n", listen_addr);
		conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		close(lfd);
		if (conn < 0)
			return cli_fail("migrate-receive", "accept: %s", strerror(errno));
		in_fd = out_fd = conn;
	}
	rv.r = state_reader_new_fd(in_fd);
	if (!rv.r)
		goto out;
	state_reader_set_tap(rv.r, receive_tap, &rv);
	if (config_state_open(rv.r, &cs, why, sizeof(why))) {
		cli_fail("migrate-receive", "refused: %s", why);
		migrate_write_error(out_fd, why);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fprintf(stderr, "Receiving domain %u (saved from %s)\n", cs.domid, cs.source);
	/* The daemon inherits the read end; ours to write is close-on-exec. */
	if (pipe(pfd) < 0 || fcntl(pfd[1], F_SETFD, FD_CLOEXEC) < 0) {
		cli_fail("migrate-receive", "pipe: %s", strerror(errno));
		goto out;
	}
	/* Fewer, larger hand-overs to the daemon (best effort). */
	fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
	rv.pipe_fd = pfd[1];
	pfd[1] = -1;
	st.cs = &cs;
	st.daemon_fd = pfd[0];
	pfd[0] = -1;
	st.relay = receive_relay;
	st.ctx = &rv;
	st.verbose = verbose;
	st.user = user;
	rc = cli_restore_stream(&st);
	if (rv.pipe_fd >= 0) {   /* never started: nobody reads it */
		close(rv.pipe_fd);
		rv.pipe_fd = -1;
	}
	if (rc) {
		snprintf(why, sizeof(why), "%s", rv.why[0] ? rv.why : st.why[0] ? st.why :
			 "the receiving xenkvmd could not restore the domain (see its log there)");
		cli_fail("migrate-receive", "%s", why);
		migrate_write_error(out_fd, why);
		rc = CLI_FAIL;
		goto out;
	}
	rc = CLI_FAIL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "Domain %s (id=%d) loaded and paused %.3f s after its config arrived\n",
		st.entry.name, st.entry.domid, (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (cli_rundir_open("migrate-receive", &rd))
		goto out;
	rc = migrate_write_line(out_fd, MIGRATE_READY);
	if (rc)
		snprintf(why, sizeof(why), "sending %s: %s", MIGRATE_READY, strerror(-rc));
	else
		rc = migrate_await_go(in_fd, MIGRATE_GO_TIMEOUT_MS, &paused, why, sizeof(why));
	if (rc) {
		rc = CLI_FAIL;
		cli_fail("migrate-receive", "%s: domain %s is destroyed here (the sender keeps it)",
			 why, st.entry.name);
		cli_control("migrate-receive", &rd, &st.entry, CONTROL_OP_DESTROY, NULL, 5000, &rep);
		control_reply_free(&rep);
		cli_wait_gone(&rd, st.entry.domid, MIGRATE_EXIT_MS);
		rundir_remove(&rd, st.entry.domid);
		goto out;
	}
	/* Paused there, paused here (xl keeps it so too). */
	if (!paused &&
	    cli_control("migrate-receive", &rd, &st.entry, CONTROL_OP_UNPAUSE, NULL, 5000, &rep)) {
		control_reply_free(&rep);
		goto out;
	}
	control_reply_free(&rep);
	fprintf(stderr, "Migrated domain %s (id=%d) is %s here\n", st.entry.name, st.entry.domid,
		paused ? "paused, as it was," : "running");
	rc = CLI_OK;
out:
	if (st.daemon_fd >= 0)
		close(st.daemon_fd);
	if (rv.pipe_fd >= 0)
		close(rv.pipe_fd);
	free(rv.held);
	state_reader_free(rv.r);
	config_state_free(&cs);
	rundir_close(&rd);
	if (conn >= 0)
		close(conn);
	return rc;
}
