/*
 * A thread that waits on file descriptors (epoll) and calls their handlers:
 * the daemon's I/O thread.  Backends that must run on one thread (the
 * xenstore engine, timers) register here; other threads poke them through
 * an eventfd (event_loop_notifier).
 */
#ifndef XENKVM_EVENT_LOOP_H
#define XENKVM_EVENT_LOOP_H

#include <poll.h>
#include <stdint.h>

struct event_loop;

typedef void event_fn(void *opaque, uint32_t events);

int event_loop_new(struct event_loop **loop_r);
/* Joins the thread; then notifiers and timers may be freed. */
void event_loop_stop(struct event_loop *loop);
/* Stops (if started), then frees. */
void event_loop_free(struct event_loop *loop);
/* `events` are EPOLLIN/EPOLLOUT/...; handlers run on the loop's thread. */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn *fn, void *opaque);
int event_loop_modify(struct event_loop *loop, int fd, uint32_t events);
int event_loop_remove(struct event_loop *loop, int fd);
int event_loop_start(struct event_loop *loop, const char *name);

/*
 * A set of fds someone else manages as a poll() set (XenStore's socket
 * server): each round the loop asks for the current fds, polls them with
 * its own, and hands back their revents; `after` runs once per round.
 * At most one per loop.  Called on the loop's thread.
 */
struct event_poll_source {
	unsigned int (*nfds)(void *opaque);
	unsigned int (*fill)(void *opaque, struct pollfd *fds, unsigned int max);
	void (*handle)(void *opaque, int fd, short revents);
	void (*after)(void *opaque);
	void *opaque;
};
void event_loop_set_poll_source(struct event_loop *loop, const struct event_poll_source *src);

/* An eventfd whose signal (from any thread, async-signal-safe) runs fn on the
 * loop.  Signalled on the loop's own thread (not from a signal handler
 * there), fn runs once at the end of the current round instead, without a
 * syscall: a backend that wakes itself from a handler pays nothing extra. */
struct event_notifier;
int event_notifier_new(struct event_loop *loop, event_fn *fn, void *opaque,
		       struct event_notifier **n_r);
void event_notifier_signal(struct event_notifier *n);
void event_notifier_free(struct event_notifier *n);

/* A one-shot timer: fn runs on the loop at `deadline_ns` (absolute, on
 * clock_mono_ns()'s clock); arming again replaces it, 0 disarms.  Any thread may arm. */
struct event_timer;
int event_timer_new(struct event_loop *loop, event_fn *fn, void *opaque, struct event_timer **t_r);
int event_timer_arm(struct event_timer *t, uint64_t deadline_ns);
void event_timer_free(struct event_timer *t);

#endif
