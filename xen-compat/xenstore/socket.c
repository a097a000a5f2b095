/*
 * Unix-socket transport for XenStore (local dom0 tools).  One
 * struct sock_client per accepted connection wraps an xs_conn whose
 * transport callbacks are non-blocking recv/send.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xenkvm/clock.h"
#include "xenkvm/log.h"
#include "xenkvm/unix_listener.h"
#include "xenkvm/xs_socket.h"

struct sock_client {
	struct sock_client *next;
	int fd;
	bool hup;
	uint64_t last_input;    /* clock_mono_ns() of its last bytes in (or accept) */
	struct xs_conn *conn;
	struct xs_socket_server *srv;
};

struct xs_socket_server {
	struct xs_store *s;
	struct unix_listener l;
	unsigned int max_clients;
	unsigned int nr_clients;
	uint64_t idle_ns;
	unsigned long evicted;
	struct sock_client *clients;
};

static ssize_t sock_read(void *opaque, void *buf, size_t len)
{
	struct sock_client *sc = opaque;
	ssize_t n = recv(sc->fd, buf, len, MSG_DONTWAIT);

	if (n > 0) {
		sc->last_input = clock_mono_ns();
		return n;
	}
	if (n == 0) {
		sc->hup = true;
		return -EPIPE;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -errno;
}

static ssize_t sock_write(void *opaque, const void *buf, size_t len)
{
	struct sock_client *sc = opaque;
	ssize_t n = send(sc->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -errno;
}

static const struct xs_transport_ops sock_ops = {
	.read = sock_read,
	.write = sock_write,
};

int xs_socket_server_new(struct xs_store *s, const char *path, unsigned int max_clients,
			 struct xs_socket_server **srv_r)
{
	struct xs_socket_server *srv;
	int rc;

	*srv_r = NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->s = s;
	srv->max_clients = max_clients ? max_clients : 1024;
	srv->idle_ns = XS_SOCKET_IDLE_MS * 1000000ull;
	rc = unix_listener_open(&srv->l, path, 128);
	if (rc) {
		free(srv);
		return rc;
	}
	*srv_r = srv;
	return 0;
}

void xs_socket_server_set_idle(struct xs_socket_server *srv, unsigned int idle_ms)
{
	srv->idle_ns = idle_ms * 1000000ull;
}

static void client_free(struct xs_socket_server *srv, struct sock_client *sc)
{
	struct sock_client **pp;

	for (pp = &srv->clients; *pp; pp = &(*pp)->next) {
		if (*pp == sc) {
			*pp = sc->next;
			break;
		}
	}
	xs_conn_free(sc->conn);
	close(sc->fd);
	free(sc);
	srv->nr_clients--;
}

void xs_socket_server_free(struct xs_socket_server *srv)
{
	if (!srv)
		return;
	while (srv->clients)
		client_free(srv, srv->clients);
	unix_listener_close(&srv->l);
	free(srv);
}

unsigned int xs_socket_server_nfds(const struct xs_socket_server *srv)
{
	return 1 + srv->nr_clients;
}

unsigned int xs_socket_server_clients(const struct xs_socket_server *srv)
{
	return srv->nr_clients;
}

unsigned int xs_socket_server_pollfds(struct xs_socket_server *srv, struct pollfd *fds,
				      unsigned int max)
{
	struct sock_client *sc;
	unsigned int n = 0;

	if (!max)
		return 0;
	/* Polled even when full: a new client may displace an idle one. */
	fds[n].fd = srv->l.fd;
	fds[n].events = unix_listener_resume_ns(&srv->l) ? 0 : POLLIN;
	fds[n++].revents = 0;
	for (sc = srv->clients; sc && n < max; sc = sc->next) {
		fds[n].fd = sc->fd;
		/* A stalled client is not read until its replies drain, so
		 * asking for POLLIN would only spin. */
		fds[n].events = (xs_conn_stalled(sc->conn) ? 0 : POLLIN) |
				(xs_conn_want_write(sc->conn) ? POLLOUT : 0);
		fds[n++].revents = 0;
	}
	return n;
}

/* Closes the client whose last input is oldest among those idle for
 * idle_ns that hold no watch or transaction; false if there is none. */
static bool evict_idle(struct xs_socket_server *srv)
{
	struct sock_client *sc, *victim = NULL;
	uint64_t now = clock_mono_ns();

	for (sc = srv->clients; sc; sc = sc->next) {
		if (now - sc->last_input < srv->idle_ns ||
		    xs_client_has_state(xs_conn_client(sc->conn)))
			continue;
		if (!victim || sc->last_input < victim->last_input)
			victim = sc;
	}
	if (!victim)
		return false;
	pr_debug("xenstore: %u socket clients; closing one idle for %llu s", srv->nr_clients,
		 (unsigned long long)((now - victim->last_input) / 1000000000ull));
	client_free(srv, victim);
	srv->evicted++;
	return true;
}

static void server_accept(struct xs_socket_server *srv)
{
	struct sock_client *sc;
	int fd;

	for (;;) {
		fd = unix_listener_accept(&srv->l);
		if (fd < 0)
			return;
		if (srv->nr_clients >= srv->max_clients && !evict_idle(srv)) {
			pr_warn_rl("xenstore: %u socket clients, none idle; refusing one",
				   srv->nr_clients);
			close(fd);
			continue;
		}
		sc = calloc(1, sizeof(*sc));
		if (sc)
			sc->conn = xs_conn_new(srv->s, 0, true, &sock_ops, sc);
		if (!sc || !sc->conn) {
			free(sc);
			close(fd);
			pr_warn_rl("xenstore: no memory for a socket client");
			return;
		}
		sc->fd = fd;
		sc->srv = srv;
		sc->last_input = clock_mono_ns();
		sc->next = srv->clients;
		srv->clients = sc;
		srv->nr_clients++;
	}
}

void xs_socket_server_handle(struct xs_socket_server *srv, int fd, short revents)
{
	struct sock_client *sc;

	if (fd == srv->l.fd) {
		if (revents & POLLIN)
			server_accept(srv);
		return;
	}
	for (sc = srv->clients; sc && sc->fd != fd; sc = sc->next)
		;
	if (!sc)
		return;
	/* Read even on POLLHUP: the peer may have sent a last request. */
	if (xs_conn_process(sc->conn) < 0 || sc->hup ||
	    ((revents & (POLLHUP | POLLERR)) && !(revents & POLLIN)))
		client_free(srv, sc);
}

void xs_socket_server_flush(struct xs_socket_server *srv)
{
	struct sock_client *sc, *next;

	for (sc = srv->clients; sc; sc = next) {
		next = sc->next;
		if (xs_conn_want_write(sc->conn) && xs_conn_process(sc->conn) < 0)
			client_free(srv, sc);
	}
}

int xs_socket_server_poll(struct xs_socket_server *srv, int timeout_ms)
{
	unsigned int n, i, max = xs_socket_server_nfds(srv);
	struct pollfd *fds = calloc(max, sizeof(*fds));
	uint64_t resume;
	int rc;

	if (!fds)
		return -ENOMEM;
	xs_socket_server_flush(srv);
	n = xs_socket_server_pollfds(srv, fds, max);
	resume = unix_listener_resume_ns(&srv->l);
	if (resume) {
		/* Wake when the listener may be polled again. */
		uint64_t now = clock_mono_ns();
		int wait_ms = resume > now ? (int)((resume - now + 999999) / 1000000) : 0;

		if (timeout_ms < 0 || wait_ms < timeout_ms)
			timeout_ms = wait_ms;
	}
	rc = poll(fds, n, timeout_ms);
	if (rc < 0) {
		rc = errno == EINTR ? 0 : -errno;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (fds[i].revents)
			xs_socket_server_handle(srv, fds[i].fd, fds[i].revents);
	/* Requests just executed may have queued events for other clients. */
	xs_socket_server_flush(srv);
	rc = 0;
out:
	free(fds);
	return rc;
}

uint64_t xs_socket_server_resume_ns(struct xs_socket_server *srv)
{
	return unix_listener_resume_ns(&srv->l);
}

unsigned long xs_socket_server_evicted(const struct xs_socket_server *srv)
{
	return srv->evicted;
}
