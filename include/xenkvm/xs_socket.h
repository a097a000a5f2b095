/*
 * XenStore's unix-socket transport: local tools (libxenstore with
 * XENSTORED_PATH, xenstore-ls & co.) connect here.  Every connection is
 * domain 0 and privileged, like xenstored's own socket.  Non-blocking; the
 * caller drives it from its I/O thread either with xs_socket_server_poll()
 * or by putting xs_socket_server_pollfds() into its own poll set and
 * handing the results to xs_socket_server_handle().
 */
#ifndef XENKVM_XS_SOCKET_H
#define XENKVM_XS_SOCKET_H

#include <poll.h>

#include "xenkvm/xenstore.h"

struct xs_socket_server;

/* Binds and listens on path (a stale socket file there is replaced). */
int xs_socket_server_new(struct xs_store *s, const char *path, unsigned int max_clients,
			 struct xs_socket_server **srv_r);
/* Closes every connection and removes the socket file. */
void xs_socket_server_free(struct xs_socket_server *srv);
/* Number of pollfd slots xs_socket_server_pollfds() may need. */
unsigned int xs_socket_server_nfds(const struct xs_socket_server *srv);
/* Fills fds (listening socket first); returns how many were filled. */
unsigned int xs_socket_server_pollfds(struct xs_socket_server *srv, struct pollfd *fds,
				      unsigned int max);
/* Acts on one fd's revents (accept, read+execute, write, hang-up). */
void xs_socket_server_handle(struct xs_socket_server *srv, int fd, short revents);
/* Writes queued output (watch events caused by other clients or rings). */
void xs_socket_server_flush(struct xs_socket_server *srv);
/* One poll() round over all fds; 0, or -errno from poll (EINTR -> 0). */
int xs_socket_server_poll(struct xs_socket_server *srv, int timeout_ms);
unsigned int xs_socket_server_clients(const struct xs_socket_server *srv);

#endif
