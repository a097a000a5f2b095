/*
 * XenStore's unix-socket transport: local tools (libxenstore with
 * XENSTORED_PATH, xenstore-ls & co.) connect here.  Every connection is
 * domain 0 and privileged, like xenstored's own socket.  Non-blocking; the
 * caller drives it from its I/O thread either with xs_socket_server_poll()
 * or by putting xs_socket_server_pollfds() into its own poll set and
 * handing the results to xs_socket_server_handle().
 *
 * The socket file is 0600 (include/xenkvm/unix_listener.h).  At most
 * max_clients connections are served; when a new one arrives at the cap,
 * the client idle longest (no bytes from it for XS_SOCKET_IDLE_MS, and no
 * watch or transaction) is closed to make room, and only when nobody is
 * idle is the new one refused.  A watcher (xenstore-watch) is never
 * displaced, and a few clients that connect and say nothing cannot lock
 * the tools out.
 */
#ifndef XENKVM_XS_SOCKET_H
#define XENKVM_XS_SOCKET_H

#include <poll.h>
#include <stdint.h>

#include "xenkvm/xenstore.h"

struct xs_socket_server;

#define XS_SOCKET_IDLE_MS 5000

/* Binds and listens on path (a stale socket file there is replaced);
 * max_clients 0 means 1024. */
int xs_socket_server_new(struct xs_store *s, const char *path, unsigned int max_clients,
			 struct xs_socket_server **srv_r);
/* How long a client must be silent to count as idle (tests shorten it). */
void xs_socket_server_set_idle(struct xs_socket_server *srv, unsigned int idle_ms);
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
/* Idle clients closed to make room for new ones. */
unsigned long xs_socket_server_evicted(const struct xs_socket_server *srv);
/* While accepting is paused (out of descriptors): when to poll the
 * listener again (clock_mono_ns()); a caller with its own poll set wakes
 * by then.  0 when accepting. */
uint64_t xs_socket_server_resume_ns(struct xs_socket_server *srv);

#endif
