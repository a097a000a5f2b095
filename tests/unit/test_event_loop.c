#include <CUnit/Basic.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xenkvm/clock.h"
#include "xenkvm/event_loop.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int notified, fired, readable;
static pthread_t loop_thread;

static void bump(int *what)
{
	pthread_mutex_lock(&lock);
	(*what)++;
	loop_thread = pthread_self();
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void on_notify(void *opaque, uint32_t ev) { (void)opaque; (void)ev; bump(&notified); }
static void on_timer(void *opaque, uint32_t ev) { (void)opaque; (void)ev; bump(&fired); }

static void on_pipe(void *opaque, uint32_t ev)
{
	char c;

	(void)ev;
	if (read(*(int *)opaque, &c, 1) == 1)
		bump(&readable);
}

/* Waits up to 2 s for *what to reach n. */
static int wait_for(int *what, int n)
{
	struct timespec ts;
	int ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	pthread_mutex_lock(&lock);
	while (*what < n && pthread_cond_timedwait(&cond, &lock, &ts) == 0)
		;
	ok = *what >= n;
	pthread_mutex_unlock(&lock);
	return ok;
}

static void test_loop(void)
{
	struct event_loop *l;
	struct event_notifier *n;
	struct event_timer *t;
	int p[2];
	uint64_t t0;

	CU_ASSERT_EQUAL_FATAL(event_loop_new(&l), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	CU_ASSERT_EQUAL(event_notifier_new(l, on_notify, NULL, &n), 0);
	CU_ASSERT_EQUAL(event_timer_new(l, on_timer, NULL, &t), 0);
	CU_ASSERT_EQUAL(event_loop_add(l, p[0], EPOLLIN, on_pipe, &p[0]), 0);
	CU_ASSERT_EQUAL(event_loop_add(l, p[0], EPOLLIN, on_pipe, &p[0]), -EEXIST);
	CU_ASSERT_EQUAL(event_loop_start(l, "test-loop"), 0);

	event_notifier_signal(n);
	CU_ASSERT(wait_for(&notified, 1));
	CU_ASSERT(!pthread_equal(loop_thread, pthread_self()));

	t0 = clock_mono_ns();
	CU_ASSERT_EQUAL(event_timer_arm(t, t0 + 50 * 1000000ull), 0);
	CU_ASSERT(wait_for(&fired, 1));
	CU_ASSERT(clock_mono_ns() - t0 >= 50 * 1000000ull);
	/* re-arming replaces; disarming (0) means it never fires */
	CU_ASSERT_EQUAL(event_timer_arm(t, clock_mono_ns() + 20 * 1000000ull), 0);
	CU_ASSERT_EQUAL(event_timer_arm(t, 0), 0);
	usleep(60 * 1000);
	CU_ASSERT_EQUAL(fired, 1);
	CU_ASSERT_EQUAL(event_timer_arm(t, 1), 0);   /* long past: fires at once */
	CU_ASSERT(wait_for(&fired, 2));

	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT(wait_for(&readable, 1));
	CU_ASSERT_EQUAL(event_loop_remove(l, 12345), -ENOENT);

	/* stop and start again: the loop must serve after a restart (xenkvmd
	 * restarts a domain on the same loop) */
	event_loop_stop(l);
	CU_ASSERT_EQUAL(event_loop_start(l, "test-loop"), 0);
	event_notifier_signal(n);
	CU_ASSERT(wait_for(&notified, 2));

	event_loop_stop(l);   /* joins the thread */
	event_notifier_free(n);
	event_timer_free(t);
	event_notifier_free(NULL);
	event_loop_free(l);
	close(p[0]);
	close(p[1]);
}

/* Signals from the loop's own thread: deferred to the end of the round,
 * run once however often signalled, never inside the signalling handler,
 * and a notifier freed while queued is not run. */
struct defer_ctx {
	struct event_notifier *a, *b, *gone;
	int fd, in_handler, a_runs, a_nested, b_runs, gone_runs, a_resignal;
	int q[2], seq, a_seq, q_seq;
};

static void on_defer_a(void *opaque, uint32_t ev)
{
	struct defer_ctx *c = opaque;

	(void)ev;
	if (!c->a_runs++)
		c->a_seq = ++c->seq;
	c->a_nested += c->in_handler;
	if (c->a_resignal && c->a_resignal--)
		event_notifier_signal(c->a);   /* next round, not this one */
	else
		bump(&notified);               /* the chain's last run */
}

static void on_defer_b(void *opaque, uint32_t ev)
{
	struct defer_ctx *c = opaque;

	(void)ev;
	c->b_runs++;
	bump(&notified);
}

static void on_defer_gone(void *opaque, uint32_t ev)
{
	(void)ev;
	((struct defer_ctx *)opaque)->gone_runs++;
}

static void on_defer_q(void *opaque, uint32_t ev)
{
	struct defer_ctx *c = opaque;
	char ch;

	(void)ev;
	if (read(c->q[0], &ch, 1) == 1)
		c->q_seq = ++c->seq;
}

static void on_defer_pipe(void *opaque, uint32_t ev)
{
	struct defer_ctx *c = opaque;
	char ch;

	(void)ev;
	if (read(c->fd, &ch, 1) != 1)
		return;
	c->in_handler = 1;
	/* q is ready before a is signalled, yet a runs first: it does not
	 * wait for epoll as an eventfd would. */
	if (write(c->q[1], "q", 1) != 1)
		return;
	event_notifier_signal(c->a);
	event_notifier_signal(c->a);
	event_notifier_signal(c->gone);
	event_notifier_signal(c->b);
	event_notifier_free(c->gone);
	c->gone = NULL;
	c->in_handler = 0;
}

static void test_deferred_signal(void)
{
	struct defer_ctx d = { 0 }, *c = &d;
	struct event_loop *l;
	int p[2];

	notified = 0;
	CU_ASSERT_EQUAL_FATAL(event_loop_new(&l), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(c->q), 0);
	c->fd = p[0];
	CU_ASSERT_EQUAL(event_loop_add(l, c->q[0], EPOLLIN, on_defer_q, c), 0);
	CU_ASSERT_EQUAL(event_notifier_new(l, on_defer_a, c, &c->a), 0);
	CU_ASSERT_EQUAL(event_notifier_new(l, on_defer_b, c, &c->b), 0);
	CU_ASSERT_EQUAL(event_notifier_new(l, on_defer_gone, c, &c->gone), 0);
	CU_ASSERT_EQUAL(event_loop_add(l, p[0], EPOLLIN, on_defer_pipe, c), 0);
	c->a_resignal = 3;
	CU_ASSERT_EQUAL(event_loop_start(l, "test-defer"), 0);
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT(wait_for(&notified, 2));   /* b, and the end of a's chain */
	event_loop_stop(l);
	/* once for the two signals, then once per re-signal */
	CU_ASSERT_EQUAL(c->a_runs, 4);
	CU_ASSERT_EQUAL(c->a_nested, 0);
	CU_ASSERT_EQUAL(c->b_runs, 1);
	CU_ASSERT_EQUAL(c->gone_runs, 0);
	CU_ASSERT_EQUAL(c->a_seq, 1);
	CU_ASSERT_EQUAL(c->q_seq, 2);
	/* from another thread it is an eventfd write again */
	CU_ASSERT_EQUAL(event_loop_start(l, "test-defer"), 0);
	event_notifier_signal(c->b);
	CU_ASSERT(wait_for(&notified, 3));
	event_loop_stop(l);
	event_notifier_free(c->a);
	event_notifier_free(c->b);
	event_loop_free(l);
	close(p[0]);
	close(p[1]);
	close(c->q[0]);
	close(c->q[1]);
}

static unsigned int after_nfds(void *opaque) { (void)opaque; return 0; }
static unsigned int after_fill(void *opaque, struct pollfd *fds, unsigned int max)
{
	(void)opaque;
	(void)fds;
	(void)max;
	return 0;
}
static void after_handle(void *opaque, int fd, short revents)
{
	(void)opaque;
	(void)fd;
	(void)revents;
}

/* A poll source's `after` sends what a round left behind (XenStore's
 * replies and watch events): it must see what deferred notifiers did in
 * that round, including a notifier signalled by a deferred one (slirp's
 * round feeds netback's rx flush that way), not wait for another trip
 * through epoll. */
struct chain_ctx {
	struct event_notifier *a, *b;
	int fd, afters, a_after_seen, b_after_seen, a_runs, b_runs;
};

static void chain_after(void *opaque)
{
	((struct chain_ctx *)opaque)->afters++;
}

static void chain_a(void *opaque, uint32_t ev)
{
	struct chain_ctx *c = opaque;

	(void)ev;
	c->a_runs++;
	c->a_after_seen = c->afters;
	event_notifier_signal(c->b);
}

static void chain_b(void *opaque, uint32_t ev)
{
	struct chain_ctx *c = opaque;

	(void)ev;
	c->b_runs++;
	c->b_after_seen = c->afters;
	bump(&notified);
}

static void chain_pipe(void *opaque, uint32_t ev)
{
	struct chain_ctx *c = opaque;
	char ch;

	(void)ev;
	if (read(c->fd, &ch, 1) != 1)
		return;
	c->afters = 0;
	event_notifier_signal(c->a);
}

static void test_deferred_chain(void)
{
	struct chain_ctx c = { 0 };
	struct event_poll_source src = { .nfds = after_nfds, .fill = after_fill,
					 .handle = after_handle, .after = chain_after, .opaque = &c };
	struct event_loop *l;
	int p[2];

	notified = 0;
	CU_ASSERT_EQUAL_FATAL(event_loop_new(&l), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	c.fd = p[0];
	CU_ASSERT_EQUAL(event_notifier_new(l, chain_a, &c, &c.a), 0);
	CU_ASSERT_EQUAL(event_notifier_new(l, chain_b, &c, &c.b), 0);
	CU_ASSERT_EQUAL(event_loop_add(l, p[0], EPOLLIN, chain_pipe, &c), 0);
	event_loop_set_poll_source(l, &src);
	CU_ASSERT_EQUAL(event_loop_start(l, "test-chain"), 0);
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT(wait_for(&notified, 1));
	event_loop_stop(l);
	CU_ASSERT_EQUAL(c.a_runs, 1);
	CU_ASSERT_EQUAL(c.b_runs, 1);
	CU_ASSERT_EQUAL(c.a_after_seen, 0);
	CU_ASSERT_EQUAL(c.b_after_seen, 0);
	event_notifier_free(c.a);
	event_notifier_free(c.b);
	event_loop_free(l);
	close(p[0]);
	close(p[1]);
}

/*
 * Timers armed on the loop's own thread are deadlines the loop waits for;
 * armed elsewhere they are a timerfd.  Each way of arming must cancel the
 * other, a deadline must not fire early, and a handler that keeps
 * re-arming for the past must not starve the fds.
 */
struct tctx {
	struct event_loop *l;
	struct event_timer *own, *cross, *spin;
	int p[2];
	uint64_t own_at, own_fired_at;
	int own_runs, cross_runs, spin_runs, spin_left, pipe_runs, pipe_saw_spin;
	int step;
};

static void tctx_own(void *opaque, uint32_t ev)
{
	struct tctx *c = opaque;

	(void)ev;
	c->own_runs++;
	c->own_fired_at = clock_mono_ns();
	bump(&fired);
}

static void tctx_cross(void *opaque, uint32_t ev)
{
	(void)ev;
	((struct tctx *)opaque)->cross_runs++;
	bump(&fired);
}

static void tctx_spin(void *opaque, uint32_t ev)
{
	struct tctx *c = opaque;

	(void)ev;
	c->spin_runs++;
	if (c->spin_left && c->spin_left--)
		event_timer_arm(c->spin, 1);   /* long past */
	else
		bump(&fired);
}

/* Steps run on the loop's thread, one per byte written to the pipe. */
static void tctx_pipe(void *opaque, uint32_t ev)
{
	struct tctx *c = opaque;
	char ch;

	(void)ev;
	if (read(c->p[0], &ch, 1) != 1)
		return;
	c->pipe_runs++;
	switch (ch) {
	case 'a':   /* a loop-thread deadline 30 ms out */
		c->own_at = clock_mono_ns() + 30 * 1000000ull;
		event_timer_arm(c->own, c->own_at);
		break;
	case 'b':   /* loop-thread arming cancels a timerfd arming */
		event_timer_arm(c->cross, 0);
		break;
	case 'c':   /* start the spinning chain */
		event_timer_arm(c->spin, 1);
		break;
	case 'd':   /* the chain had not finished when the fds were served */
		c->pipe_saw_spin = c->spin_runs;
		break;
	}
	bump(&readable);
}

static void test_timer_threads(void)
{
	struct tctx c = { 0 };
	int base_fired, base_readable;

	fired = readable = 0;
	CU_ASSERT_EQUAL_FATAL(event_loop_new(&c.l), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(c.p), 0);
	CU_ASSERT_EQUAL(event_timer_new(c.l, tctx_own, &c, &c.own), 0);
	CU_ASSERT_EQUAL(event_timer_new(c.l, tctx_cross, &c, &c.cross), 0);
	CU_ASSERT_EQUAL(event_timer_new(c.l, tctx_spin, &c, &c.spin), 0);
	CU_ASSERT_EQUAL(event_loop_add(c.l, c.p[0], EPOLLIN, tctx_pipe, &c), 0);
	CU_ASSERT_EQUAL(event_loop_start(c.l, "test-timers"), 0);

	/* On the loop: fires once, not before its deadline. */
	CU_ASSERT_EQUAL(write(c.p[1], "a", 1), 1);
	CU_ASSERT(wait_for(&fired, 1));
	CU_ASSERT_EQUAL(c.own_runs, 1);
	CU_ASSERT(c.own_fired_at >= c.own_at);

	/* Armed on the loop, then from this thread for later: the loop's
	 * deadline is gone, the later one stands. */
	CU_ASSERT_EQUAL(write(c.p[1], "a", 1), 1);
	CU_ASSERT(wait_for(&readable, 2));
	CU_ASSERT_EQUAL(event_timer_arm(c.own, clock_mono_ns() + 120 * 1000000ull), 0);
	usleep(70 * 1000);
	CU_ASSERT_EQUAL(c.own_runs, 1);
	CU_ASSERT(wait_for(&fired, 2));
	CU_ASSERT_EQUAL(c.own_runs, 2);

	/* From this thread, then disarmed on the loop: never fires. */
	base_fired = fired;
	CU_ASSERT_EQUAL(event_timer_arm(c.cross, clock_mono_ns() + 40 * 1000000ull), 0);
	CU_ASSERT_EQUAL(write(c.p[1], "b", 1), 1);
	CU_ASSERT(wait_for(&readable, 3));
	usleep(80 * 1000);
	CU_ASSERT_EQUAL(c.cross_runs, 0);
	CU_ASSERT_EQUAL(fired, base_fired);

	/* A handler re-arming for the past runs once per round: the pipe,
	 * ready meanwhile, is served before the chain ends. */
	base_readable = readable;
	c.spin_left = 200;
	CU_ASSERT_EQUAL(write(c.p[1], "cd", 2), 2);
	CU_ASSERT(wait_for(&readable, base_readable + 2));
	CU_ASSERT(wait_for(&fired, base_fired + 1));
	CU_ASSERT_EQUAL(c.spin_runs, 201);
	CU_ASSERT(c.pipe_saw_spin < 201);

	event_loop_stop(c.l);
	event_timer_free(c.own);
	event_timer_free(c.cross);
	event_timer_free(c.spin);
	event_loop_free(c.l);
	close(c.p[0]);
	close(c.p[1]);
}

/* A source removed by another handler of the same round is not called,
 * and its record (reclaimed at the end of the round) is not touched after
 * (ASan). */
struct rm_ctx {
	struct event_loop *l;
	int a[2], b[2], a_runs, b_runs;
};

static void rm_a(void *opaque, uint32_t ev)
{
	struct rm_ctx *c = opaque;
	char ch;

	(void)ev;
	if (read(c->a[0], &ch, 1) != 1)
		return;
	c->a_runs++;
	event_loop_remove(c->l, c->b[0]);
	bump(&notified);
}

static void rm_b(void *opaque, uint32_t ev)
{
	struct rm_ctx *c = opaque;
	char ch;

	(void)ev;
	if (read(c->b[0], &ch, 1) == 1)
		c->b_runs++;
	event_loop_remove(c->l, c->a[0]);
	bump(&notified);
}

static void test_remove_in_round(void)
{
	struct rm_ctx c = { 0 };

	notified = 0;
	CU_ASSERT_EQUAL_FATAL(event_loop_new(&c.l), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(c.a), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(c.b), 0);
	CU_ASSERT_EQUAL(event_loop_add(c.l, c.a[0], EPOLLIN, rm_a, &c), 0);
	CU_ASSERT_EQUAL(event_loop_add(c.l, c.b[0], EPOLLIN, rm_b, &c), 0);
	/* Both ready before the loop looks: one round sees both. */
	CU_ASSERT_EQUAL(write(c.a[1], "x", 1), 1);
	CU_ASSERT_EQUAL(write(c.b[1], "x", 1), 1);
	CU_ASSERT_EQUAL(event_loop_start(c.l, "test-remove"), 0);
	CU_ASSERT(wait_for(&notified, 1));
	usleep(30 * 1000);
	event_loop_stop(c.l);
	/* Whichever ran first removed the other. */
	CU_ASSERT_EQUAL(c.a_runs + c.b_runs, 1);
	CU_ASSERT_EQUAL(notified, 1);
	/* Removed fds can be added again (a reused fd number). */
	CU_ASSERT_EQUAL(event_loop_add(c.l, c.a_runs ? c.b[0] : c.a[0], EPOLLIN,
				       c.a_runs ? rm_b : rm_a, &c), 0);
	event_loop_free(c.l);
	close(c.a[0]);
	close(c.a[1]);
	close(c.b[0]);
	close(c.b[1]);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("event_loop", NULL, NULL);
	CU_add_test(s, "loop", test_loop);
	CU_add_test(s, "deferred signal", test_deferred_signal);
	CU_add_test(s, "deferred chain", test_deferred_chain);
	CU_add_test(s, "timer threads", test_timer_threads);
	CU_add_test(s, "remove in round", test_remove_in_round);
	return cunit_run(CU_BRM_NORMAL);
}
