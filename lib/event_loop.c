#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "xenkvm/clock.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "xenkvm/thread_role.h"

struct event_source {
	int fd;
	event_fn *fn;
	void *opaque;
	struct event_source *next;
};

struct event_loop {
	int epfd;
	int stop_fd;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;          /* guards the source list, not the handlers */
	struct event_source *sources;
	struct event_source *removed;  /* kept until free: epoll may still hold them */
	struct event_poll_source poll_src;
	bool has_poll_src;
	/* Notifiers signalled on the loop's own thread, in order: they run at
	 * the end of the round, without an eventfd write, epoll wakeup and
	 * read each.  Only the loop's thread touches these. */
	struct event_notifier *deferred, **deferred_tail;
	struct event_notifier *running;   /* the batch being run */
	struct event_notifier *held, **held_tail;   /* ran this round: next round */
	unsigned long round;
	/* All timers, for their loop-thread deadlines (under lock). */
	struct event_timer *timers;
	bool no_pwait2;                   /* the kernel lacks epoll_pwait2 */
};

struct event_notifier {
	struct event_loop *loop;
	int fd;
	event_fn *fn;
	void *opaque;
	bool queued;                      /* on deferred, running or held */
	unsigned long ran_round;          /* the loop's round it last ran in */
	struct event_notifier *next;
};

/* The loop whose thread this is, if any. */
static __thread struct event_loop *this_loop;

/*
 * A timer armed on the loop's own thread is a deadline the loop waits for
 * (its epoll timeout): no timerfd_settime per arm nor read per expiry,
 * which libslirp's TCP timers would pay on every request/response.  Armed
 * from another thread (a vCPU's Xen timer) it is the timerfd, so that
 * thread need not wake the loop to shorten its wait.  Arming one way
 * cancels the other.
 */
struct event_timer {
	struct event_loop *loop;
	int fd;
	event_fn *fn;
	void *opaque;
	/* Under loop->lock: */
	uint64_t deadline;          /* loop-thread arming; 0 = none */
	bool due;                   /* picked for this round's expiries */
	bool fd_armed;              /* the timerfd is set */
	struct event_timer *next;
};

int event_loop_new(struct event_loop **loop_r)
{
	struct event_loop *l = calloc(1, sizeof(*l));
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	l->deferred_tail = &l->deferred;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->stop_fd < 0) {
		rc = -errno;
		goto fail;
	}
	ev.data.ptr = NULL;   /* the stop fd is the only source without a record */
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	*loop_r = l;
	return 0;
fail:
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	free(l);
	return rc;
}

int event_loop_add(struct event_loop *l, int fd, uint32_t events, event_fn *fn, void *opaque)
{
	struct event_source *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = events };

	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->fn = fn;
	s->opaque = opaque;
	ev.data.ptr = s;
	pthread_mutex_lock(&l->lock);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;

		pthread_mutex_unlock(&l->lock);
		free(s);
		return -err;
	}
	s->next = l->sources;
	l->sources = s;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static struct event_source *event_loop_find(struct event_loop *l, int fd, struct event_source ***prev_r)
{
	struct event_source **pp = &l->sources;

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd) {
			if (prev_r)
				*prev_r = pp;
			return *pp;
		}
	return NULL;
}

int event_loop_modify(struct event_loop *l, int fd, uint32_t events)
{
	struct event_source *s;
	int rc = -ENOENT;

	pthread_mutex_lock(&l->lock);
	s = event_loop_find(l, fd, NULL);
	if (s) {
		struct epoll_event ev = { .events = events, .data.ptr = s };

		rc = epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* Only from the loop's own thread or after it stopped: a handler already
 * fetched by epoll_wait in this round must not see its record freed. */
int event_loop_remove(struct event_loop *l, int fd)
{
	struct event_source *s, **pp = NULL;
	int rc = -ENOENT;

	pthread_mutex_lock(&l->lock);
	s = event_loop_find(l, fd, &pp);
	if (s) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		*pp = s->next;
		/* Neutralise rather than free: a pending event in this round may
		 * still point at it; it is reclaimed when the loop is freed. */
		s->fn = NULL;
		s->next = l->removed;
		l->removed = s;
		rc = 0;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void event_loop_set_poll_source(struct event_loop *l, const struct event_poll_source *src)
{
	l->poll_src = *src;
	l->has_poll_src = true;
}

/* With a poll source, wait in ppoll() on the epoll fd and the source's fds
 * up to `timeout` (NULL: until one is ready); true if the epoll fd is
 * ready (or the set could not be built: plain epoll this round). */
static bool event_loop_poll_source(struct event_loop *l, const struct timespec *timeout)
{
	struct event_poll_source *src = &l->poll_src;
	unsigned int max = src->nfds(src->opaque) + 1, n;
	struct pollfd *fds = calloc(max, sizeof(*fds));
	bool rc = false;

	if (!fds)
		return true;
	fds[0] = (struct pollfd){ .fd = l->epfd, .events = POLLIN };
	n = 1 + src->fill(src->opaque, fds + 1, max - 1);
	if (ppoll(fds, n, timeout, NULL) > 0) {
		for (unsigned int i = 1; i < n; i++)
			if (fds[i].revents)
				src->handle(src->opaque, fds[i].fd, fds[i].revents);
		rc = fds[0].revents != 0;
	}
	free(fds);
	return rc;
}

/* How long the loop may sleep: until the first loop-thread deadline
 * (*ts, false), or for ever (true). */
static bool event_loop_wait_forever(struct event_loop *l, struct timespec *ts)
{
	uint64_t first = UINT64_MAX, now;
	struct event_timer *t;

	pthread_mutex_lock(&l->lock);
	for (t = l->timers; t; t = t->next)
		if (t->deadline && t->deadline < first)
			first = t->deadline;
	pthread_mutex_unlock(&l->lock);
	if (first == UINT64_MAX)
		return true;
	now = clock_mono_ns();
	first = first > now ? first - now : 0;
	ts->tv_sec = (time_t)(first / 1000000000ull);
	ts->tv_nsec = (long)(first % 1000000000ull);
	return false;
}

/* epoll_wait with a ns timeout (NULL: none), where the kernel has it. */
static int event_loop_epoll_wait(struct event_loop *l, struct epoll_event *evs, int max,
				 const struct timespec *ts)
{
	long ms;

	if (!l->no_pwait2) {
		int n = epoll_pwait2(l->epfd, evs, max, ts, NULL);

		if (n >= 0 || errno != ENOSYS)
			return n;
		l->no_pwait2 = true;
	}
	if (!ts)
		return epoll_wait(l->epfd, evs, max, -1);
	/* Rounded up: waking early would only spin until the deadline. */
	ms = ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
	return epoll_wait(l->epfd, evs, max, ms > INT_MAX ? INT_MAX : (int)ms);
}

/* Runs the loop-thread timers due now, each once: one re-armed for an
 * earlier time by its own handler fires next round, after the fds. */
static void event_loop_run_timers(struct event_loop *l)
{
	uint64_t now = clock_mono_ns();
	struct event_timer *t;
	bool any = false;

	pthread_mutex_lock(&l->lock);
	for (t = l->timers; t; t = t->next)
		if (t->deadline && t->deadline <= now) {
			t->deadline = 0;
			t->due = any = true;
		}
	pthread_mutex_unlock(&l->lock);
	while (any) {
		pthread_mutex_lock(&l->lock);
		for (t = l->timers; t && !t->due; t = t->next)
			;
		if (t)
			t->due = false;
		pthread_mutex_unlock(&l->lock);
		if (!t)
			break;
		/* Only this thread frees a timer while the loop runs: t lives. */
		t->fn(t->opaque, EPOLLIN);
	}
}

/* Source records removed this round: no epoll result of a later round can
 * point at them, and this round's have all been handled. */
static void event_loop_reap(struct event_loop *l)
{
	struct event_source *s, *next;

	pthread_mutex_lock(&l->lock);
	s = l->removed;
	l->removed = NULL;
	pthread_mutex_unlock(&l->lock);
	for (; s; s = next) {
		next = s->next;
		free(s);
	}
}

/* Runs the notifiers deferred so far, and those they signal, each at most
 * once a round: one signalled again after it ran (by itself or by a
 * chain leading back to it) waits for the next round, so it cannot starve
 * the fds, while a chain (a socket's round feeding netback's rx flush)
 * finishes without an extra trip through epoll. */
static void event_loop_run_deferred(struct event_loop *l)
{
	struct event_notifier *n;

	l->round++;
	l->held = NULL;
	l->held_tail = &l->held;
	while (l->deferred) {
		l->running = l->deferred;
		l->deferred = NULL;
		l->deferred_tail = &l->deferred;
		while ((n = l->running)) {
			l->running = n->next;
			n->next = NULL;
			if (n->ran_round == l->round) {
				*l->held_tail = n;
				l->held_tail = &n->next;
				continue;
			}
			n->queued = false;
			n->ran_round = l->round;
			n->fn(n->opaque, EPOLLIN);
		}
	}
	if (l->held) {
		l->deferred = l->held;
		l->deferred_tail = l->held_tail;
		l->held = NULL;
	}
}

static void *event_loop_thread(void *arg)
{
	struct event_loop *l = arg;
	struct epoll_event evs[32];

	this_loop = l;
	thread_role_enter(THREAD_IO);
	for (;;) {
		struct timespec ts = { 0 };
		const struct timespec *timeout = &ts;
		int n = 0;

		/* Deferred work pending: look at the fds without sleeping. */
		if (!l->deferred && event_loop_wait_forever(l, &ts))
			timeout = NULL;
		if (l->has_poll_src) {
			bool epoll_ready = event_loop_poll_source(l, timeout);

			if (l->poll_src.after)
				l->poll_src.after(l->poll_src.opaque);
			if (epoll_ready)
				n = event_loop_epoll_wait(l, evs, 32, &(struct timespec){ 0 });
		} else {
			n = event_loop_epoll_wait(l, evs, 32, timeout);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("event loop: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct event_source *s = evs[i].data.ptr;

			if (!s)
				return NULL;   /* stop requested */
			if (s->fn)
				s->fn(s->opaque, evs[i].events);
		}
		event_loop_run_timers(l);
		/* Before `after`: deferred work may leave output (XenStore
		 * writes and their watch events) that `after` sends. */
		event_loop_run_deferred(l);
		if (l->has_poll_src && l->poll_src.after)
			l->poll_src.after(l->poll_src.opaque);
		event_loop_reap(l);
	}
	return NULL;
}

int event_loop_start(struct event_loop *l, const char *name)
{
	int rc = pthread_create(&l->thread, NULL, event_loop_thread, l);

	if (rc)
		return -rc;
	pthread_setname_np(l->thread, name);
	l->started = true;
	return 0;
}

void event_loop_stop(struct event_loop *l)
{
	uint64_t one = 1;

	if (!l->started)
		return;
	if (write(l->stop_fd, &one, sizeof(one)) < 0)
		pr_err("event loop: cannot signal stop: %s", strerror(errno));
	pthread_join(l->thread, NULL);
	/* Reset the stop signal, or a restarted loop would see it at once. */
	if (read(l->stop_fd, &one, sizeof(one)) < 0)
		pr_debug("event loop: stop fd already clear");
	l->started = false;
}

void event_loop_free(struct event_loop *l)
{
	struct event_source *s, *next;

	if (!l)
		return;
	event_loop_stop(l);
	for (s = l->sources; s; s = next) {
		next = s->next;
		free(s);
	}
	for (s = l->removed; s; s = next) {
		next = s->next;
		free(s);
	}
	close(l->epfd);
	close(l->stop_fd);
	free(l);
}

/* --- notifier ------------------------------------------------------------ */
static void event_notifier_ready(void *opaque, uint32_t events)
{
	struct event_notifier *n = opaque;
	uint64_t v;

	(void)events;
	if (read(n->fd, &v, sizeof(v)) == sizeof(v))
		n->fn(n->opaque, EPOLLIN);
}

int event_notifier_new(struct event_loop *loop, event_fn *fn, void *opaque, struct event_notifier **n_r)
{
	struct event_notifier *n = calloc(1, sizeof(*n));
	int rc;

	if (!n)
		return -ENOMEM;
	n->loop = loop;
	n->fn = fn;
	n->opaque = opaque;
	n->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->fd < 0) {
		rc = -errno;
		free(n);
		return rc;
	}
	rc = event_loop_add(loop, n->fd, EPOLLIN, event_notifier_ready, n);
	if (rc) {
		close(n->fd);
		free(n);
		return rc;
	}
	*n_r = n;
	return 0;
}

void event_notifier_signal(struct event_notifier *n)
{
	uint64_t one = 1;

	if (this_loop == n->loop) {
		if (!n->queued) {
			n->queued = true;
			*n->loop->deferred_tail = n;
			n->loop->deferred_tail = &n->next;
		}
		return;
	}
	/* EAGAIN means the counter is already non-zero: a wakeup is pending anyway. */
	if (write(n->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_err_rl("event notifier: %s", strerror(errno));
}

/* Unlinks n from one deferred list; false if it is not on it. */
static bool event_notifier_unqueue_one(struct event_notifier **pp, struct event_notifier ***tail,
				       struct event_notifier *n)
{
	for (; *pp; pp = &(*pp)->next) {
		if (*pp != n)
			continue;
		*pp = n->next;
		if (tail && *tail == &n->next)
			*tail = pp;
		return true;
	}
	return false;
}

void event_notifier_free(struct event_notifier *n)
{
	if (!n)
		return;
	if (n->queued) {
		struct event_loop *l = n->loop;

		/* The loop's thread or a stopped loop (as for event_loop_remove). */
		if (!event_notifier_unqueue_one(&l->deferred, &l->deferred_tail, n) &&
		    !event_notifier_unqueue_one(&l->held, &l->held_tail, n))
			event_notifier_unqueue_one(&l->running, NULL, n);
	}
	event_loop_remove(n->loop, n->fd);
	close(n->fd);
	free(n);
}

/* --- timer --------------------------------------------------------------- */
static void event_timer_ready(void *opaque, uint32_t events)
{
	struct event_timer *t = opaque;
	uint64_t expirations;

	bool fired;

	(void)events;
	/* Under the lock: a concurrent arm sets the timerfd and fd_armed together. */
	pthread_mutex_lock(&t->loop->lock);
	fired = read(t->fd, &expirations, sizeof(expirations)) == sizeof(expirations);
	if (fired)
		t->fd_armed = false;
	pthread_mutex_unlock(&t->loop->lock);
	if (fired)
		t->fn(t->opaque, EPOLLIN);
}

int event_timer_new(struct event_loop *loop, event_fn *fn, void *opaque, struct event_timer **t_r)
{
	struct event_timer *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	t->loop = loop;
	t->fn = fn;
	t->opaque = opaque;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->fd < 0) {
		rc = -errno;
		free(t);
		return rc;
	}
	rc = event_loop_add(loop, t->fd, EPOLLIN, event_timer_ready, t);
	if (rc) {
		close(t->fd);
		free(t);
		return rc;
	}
	pthread_mutex_lock(&loop->lock);
	t->next = loop->timers;
	loop->timers = t;
	pthread_mutex_unlock(&loop->lock);
	*t_r = t;
	return 0;
}

static int event_timer_fd_set(struct event_timer *t, uint64_t deadline_ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(deadline_ns / 1000000000ull),
			      .tv_nsec = (long)(deadline_ns % 1000000000ull) },
	};

	/* A deadline of 0 disarms; one already past fires at once (1 ns). */
	if (deadline_ns && !its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	return timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

int event_timer_arm(struct event_timer *t, uint64_t deadline_ns)
{
	struct event_loop *l = t->loop;
	bool on_loop = this_loop == l, fd_armed;
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	fd_armed = t->fd_armed;
	t->deadline = on_loop ? deadline_ns : 0;
	t->due = false;
	if (!on_loop || fd_armed) {
		/* Under the lock: the timerfd and fd_armed change together. */
		rc = event_timer_fd_set(t, on_loop ? 0 : deadline_ns);
		t->fd_armed = !on_loop && deadline_ns && !rc;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void event_timer_free(struct event_timer *t)
{
	struct event_timer **pp;

	if (!t)
		return;
	pthread_mutex_lock(&t->loop->lock);
	for (pp = &t->loop->timers; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	pthread_mutex_unlock(&t->loop->lock);
	event_loop_remove(t->loop, t->fd);
	close(t->fd);
	free(t);
}
