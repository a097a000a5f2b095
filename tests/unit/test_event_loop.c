#include <CUnit/Basic.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

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

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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

	t0 = mono_ns();
	CU_ASSERT_EQUAL(event_timer_arm(t, t0 + 50 * 1000000ull), 0);
	CU_ASSERT(wait_for(&fired, 1));
	CU_ASSERT(mono_ns() - t0 >= 50 * 1000000ull);
	/* re-arming replaces; disarming (0) means it never fires */
	CU_ASSERT_EQUAL(event_timer_arm(t, mono_ns() + 20 * 1000000ull), 0);
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

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("event_loop", NULL, NULL);
	CU_add_test(s, "loop", test_loop);
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	unsigned int failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
