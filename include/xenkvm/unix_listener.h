/*
 * A listening unix socket for local root tools: the control, console and
 * XenStore sockets all open theirs here, so all three get the same rules.
 *
 *  - The socket file is created mode 0600 whatever the umask (the mode is
 *    set on the socket before bind(), so there is no window in which the
 *    file is wider), and checked after.
 *  - A stale socket left at the path is replaced; any other file there is
 *    an error (-EEXIST), never removed.
 *  - When accept() fails for want of descriptors or memory (EMFILE,
 *    ENFILE, ENOBUFS, ENOMEM) the pending connection stays queued and the
 *    listener stays readable: a caller that keeps polling it spins.  The
 *    listener then pauses for UNIX_LISTENER_BACKOFF_NS; callers stop
 *    polling it until unix_listener_resume_ns() has passed.
 */
#ifndef XENKVM_UNIX_LISTENER_H
#define XENKVM_UNIX_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

#define UNIX_LISTENER_BACKOFF_NS (100ull * 1000000ull)

struct unix_listener {
	int fd;                 /* non-blocking, close-on-exec; -1 when closed */
	char *path;
	uint64_t paused_until;  /* clock_mono_ns(); 0: accepting */
	unsigned long pauses;   /* how often accept() ran out of descriptors */
};

/* Binds and listens on path; 0 or -errno (-ENAMETOOLONG, -EEXIST, ...). */
int unix_listener_open(struct unix_listener *l, const char *path, int backlog);
/* Closes the socket and removes its file; safe on a closed listener. */
void unix_listener_close(struct unix_listener *l);
/*
 * One pending connection as a non-blocking, close-on-exec fd; -EAGAIN when
 * none is waiting or the listener is paused, else -errno (after pausing
 * the listener when the error was a shortage of descriptors or memory).
 */
int unix_listener_accept(struct unix_listener *l);
/* While paused: the clock_mono_ns() time to poll the listener again; else 0. */
uint64_t unix_listener_resume_ns(struct unix_listener *l);

#endif
