/*
 * XenStore's unix-socket transport, driven the way xenkvm-xenstored drives
 * it (xs_socket_server_poll on this thread) with real socket clients: the
 * socket file's mode, the per-listener cap that gives way to a new client
 * only by closing an idle one, and no busy loop when accept() runs out of
 * descriptors.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cunit_run.h"
#include "test_xenstore_util.h"
#include "xenkvm/clock.h"
#include "xenkvm/log.h"
#include "xenkvm/xs_socket.h"

static char dir[64], path[96];
static struct xs_store *s;
static struct xs_socket_server *srv;

static void setup(unsigned int max_clients)
{
	strcpy(dir, "/tmp/test_xs_socket.XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/xenstore.sock", dir);
	s = xs_store_new(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(xs_domain_populate_dom0(s), 0);
	CU_ASSERT_EQUAL_FATAL(xs_socket_server_new(s, path, max_clients, &srv), 0);
}

static void teardown(void)
{
	xs_socket_server_free(srv);
	srv = NULL;
	xs_store_free(s);
	s = NULL;
	rmdir(dir);
}

static int client_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void client_send(int fd, uint32_t type, uint32_t req_id, const void *payload, size_t len)
{
	unsigned char buf[512];
	size_t n = xt_encode(buf, type, req_id, 0, payload, len);

	CU_ASSERT_EQUAL(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
}

/*
 * Serves the socket until fd has a whole message (into *m: 1), reaches
 * EOF (0) or ms pass (-1).  Reads one message at a time: xt_next needs
 * the header first.
 */
static int client_recv(int fd, struct xt_msg *m, int ms)
{
	unsigned char buf[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
	uint64_t end = clock_mono_ms() + (uint64_t)ms;
	size_t have = 0, want = sizeof(struct xsd_sockmsg), off;

	while (clock_mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		xs_socket_server_poll(srv, 10);
		if (poll(&p, 1, 0) != 1)
			continue;
		n = recv(fd, buf + have, want - have, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 0;
		if (n < 0)
			continue;
		have += (size_t)n;
		if (have == sizeof(struct xsd_sockmsg))
			want += ((struct xsd_sockmsg *)buf)->len;
		off = 0;
		if (have == want && xt_next(buf, have, &off, m))
			return 1;
	}
	return -1;
}

static void serve_for(int ms)
{
	uint64_t end = clock_mono_ms() + (uint64_t)ms;

	while (clock_mono_ms() < end)
		xs_socket_server_poll(srv, 10);
}

/* A brand-new client reads a node: what `xenkvm xenstore-read` does. */
static bool real_client_works(void)
{
	struct xt_msg m;
	int fd = client_connect();
	bool ok;

	if (fd < 0)
		return false;
	client_send(fd, XS_READ, 77, "/local/domain/0/name", sizeof("/local/domain/0/name"));
	ok = client_recv(fd, &m, 2000) == 1 && m.hdr.type == XS_READ && m.hdr.req_id == 77 &&
	     !strcmp(m.data, "Domain-0");
	close(fd);
	return ok;
}

static void test_mode(void)
{
	struct stat st;
	mode_t old = umask(0);
	int fd;

	/* umask 000 must not make the socket world-writable */
	setup(0);
	umask(old);
	CU_ASSERT_EQUAL(lstat(path, &st), 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT(real_client_works());
	teardown();

	/* a socket left behind is replaced; any other file is not touched */
	strcpy(dir, "/tmp/test_xs_socket.XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/xenstore.sock", dir);
	s = xs_store_new(NULL);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "keep", 4), 4);
	close(fd);
	CU_ASSERT_EQUAL(xs_socket_server_new(s, path, 0, &srv), -EEXIST);
	CU_ASSERT_EQUAL(lstat(path, &st), 0);
	CU_ASSERT(S_ISREG(st.st_mode));
	CU_ASSERT_EQUAL(st.st_size, 4);
	unlink(path);
	CU_ASSERT_EQUAL(xs_socket_server_new(s, path, 0, &srv), 0);
	xs_socket_server_free(srv);
	srv = NULL;
	CU_ASSERT_EQUAL(lstat(path, &st), -1);   /* removed with the server */
	CU_ASSERT_EQUAL(xs_socket_server_new(s, path, 0, &srv), 0);
	teardown();
}

static void test_idle_clients(void)
{
	enum { CAP = 4 };
	int watcher, idle[CAP + 1], writer;
	struct xt_msg m;

	setup(CAP);
	xs_socket_server_set_idle(srv, 200);
	/* a watcher: idle on the wire for as long as you like, never displaced */
	watcher = client_connect();
	CU_ASSERT_FATAL(watcher >= 0);
	client_send(watcher, XS_WATCH, 1, "/tool\0tok", sizeof("/tool\0tok"));
	CU_ASSERT_EQUAL(client_recv(watcher, &m, 2000), 1);
	CU_ASSERT_EQUAL(m.hdr.type, XS_WATCH);
	CU_ASSERT_EQUAL(client_recv(watcher, &m, 2000), 1);   /* the initial event */
	CU_ASSERT_EQUAL(m.hdr.type, XS_WATCH_EVENT);
	/* CAP + 1 more clients that say nothing fill the server */
	for (int i = 0; i <= CAP; i++) {
		idle[i] = client_connect();
		CU_ASSERT_FATAL(idle[i] >= 0);
		serve_for(20);
	}
	CU_ASSERT_EQUAL(xs_socket_server_clients(srv), CAP);
	/* nobody is idle yet: the newest is refused, not an active one dropped */
	CU_ASSERT_EQUAL(client_recv(idle[CAP], &m, 500), 0);
	CU_ASSERT_EQUAL(xs_socket_server_evicted(srv), 0);

	/* once they have been silent a while, a real client gets in */
	serve_for(250);
	CU_ASSERT(real_client_works());
	CU_ASSERT_EQUAL(xs_socket_server_evicted(srv), 1);
	/* the one closed was the oldest silent one */
	CU_ASSERT_EQUAL(client_recv(idle[0], &m, 500), 0);
	CU_ASSERT_EQUAL(client_recv(idle[1], &m, 100), -1);

	/* again and again: every new client finds room */
	for (int i = 0; i < 2 * CAP; i++)
		CU_ASSERT(real_client_works());
	/* and the watcher is still there and served */
	writer = client_connect();
	CU_ASSERT_FATAL(writer >= 0);
	client_send(writer, XS_WRITE, 5, "/tool/x\0v", sizeof("/tool/x\0v") - 1);
	CU_ASSERT_EQUAL(client_recv(writer, &m, 2000), 1);
	CU_ASSERT_EQUAL(m.hdr.type, XS_WRITE);
	CU_ASSERT_EQUAL(client_recv(watcher, &m, 2000), 1);
	CU_ASSERT_EQUAL(m.hdr.type, XS_WATCH_EVENT);
	CU_ASSERT_STRING_EQUAL(m.data, "/tool/x");
	close(writer);
	close(watcher);
	for (int i = 0; i <= CAP; i++)
		close(idle[i]);
	teardown();
}

/* The lowest free descriptor number. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

static void test_emfile_no_spin(void)
{
	enum { WAITING = 3 };
	struct rlimit old, low;
	int fds[WAITING], rounds = 0;
	uint64_t end;

	setup(0);
	for (int i = 0; i < WAITING; i++) {
		fds[i] = client_connect();
		CU_ASSERT_FATAL(fds[i] >= 0);
	}
	/* no descriptor left for accept(): the connections stay queued */
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest_free_fd();
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_NOFILE, &low), 0);
	end = clock_mono_ms() + 500;
	while (clock_mono_ms() < end) {
		CU_ASSERT_EQUAL(xs_socket_server_poll(srv, 500), 0);
		rounds++;
	}
	CU_ASSERT_EQUAL(setrlimit(RLIMIT_NOFILE, &old), 0);
	CU_ASSERT_EQUAL(xs_socket_server_clients(srv), 0);
	/* a listener that stays readable would wake poll() at once, every time */
	CU_ASSERT(rounds <= 20);
	/* descriptors back: the queued clients are taken within the back-off */
	serve_for(300);
	CU_ASSERT_EQUAL(xs_socket_server_clients(srv), WAITING);
	for (int i = 0; i < WAITING; i++)
		close(fds[i]);
	teardown();
}

int main(void)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "mode", test_mode },
		{ "idle_clients", test_idle_clients },
		{ "emfile_no_spin", test_emfile_no_spin },
	};
	CU_pSuite suite;
	unsigned int i;

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERR);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("xenstore_socket", NULL, NULL);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	return cunit_run(CU_BRM_NORMAL);
}
