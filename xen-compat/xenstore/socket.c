/*
 * Unix-socket transport for XenStore (local dom0 tools).  One
 * struct sock_client per accepted connection wraps an xs_conn whose
 * transport callbacks are non-blocking recv/send.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xenkvm/log.h"
#include "xenkvm/xs_socket.h"

struct sock_client {
	struct sock_client *next;
	int fd;
	bool hup;
	struct xs_conn *conn;
	struct xs_socket_server *srv;
};

struct xs_socket_server {
	struct xs_store *s;
	int listen_fd;
	char *path;
	unsigned int max_clients;
	unsigned int nr_clients;
	struct sock_client *clients;
};

static ssize_t sock_read(void *opaque, void *buf, size_t len)
{
	struct sock_client *sc = opaque;
	ssize_t n = recv(sc->fd, buf, len, MSG_DONTWAIT);

	if (n > 0)
		return n;
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
	struct xs_socket_server *srv = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int rc;

	*srv_r = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->s = s;
	srv->listen_fd = -1;
	srv->max_clients = max_clients ? max_clients : 1024;
	srv->path = strdup(path);
	rc = -ENOMEM;
	if (!srv->path)
		goto out;
	strcpy(sa.sun_path, path);
	/* Replace a socket left by a previous run, never any other file. */
	if (!lstat(path, &st)) {
		rc = -EEXIST;
		if (!S_ISSOCK(st.st_mode))
			goto out;
		unlink(path);
	}
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0 ||
	    bind(srv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(srv->listen_fd, 128)) {
		rc = -errno;
		goto out;
	}
	*srv_r = srv;
	return 0;
out:
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	free(srv->path);
	free(srv);
	return rc;
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
	if (srv->listen_fd >= 0) {
		close(srv->listen_fd);
		unlink(srv->path);
	}
	free(srv->path);
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
	fds[n].fd = srv->listen_fd;
	fds[n].events = srv->nr_clients < srv->max_clients ? POLLIN : 0;
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

static void server_accept(struct xs_socket_server *srv)
{
	struct sock_client *sc;
	int fd;

	while (srv->nr_clients < srv->max_clients) {
		fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				pr_warn_rl("xenstore: accept: %s", strerror(errno));
			return;
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
		sc->next = srv->clients;
		srv->clients = sc;
		srv->nr_clients++;
	}
}

void xs_socket_server_handle(struct xs_socket_server *srv, int fd, short revents)
{
	struct sock_client *sc;

	if (fd == srv->listen_fd) {
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
	int rc;

	if (!fds)
		return -ENOMEM;
	xs_socket_server_flush(srv);
	n = xs_socket_server_pollfds(srv, fds, max);
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
