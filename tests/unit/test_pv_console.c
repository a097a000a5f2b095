/* The PV console backend on fake guest memory: output, input, flow
 * control and a guest that writes nonsense into the ring's indices. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xen_fake_vmm.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/log.h"
#include "xenkvm/pv_console.h"
#include "xenkvm/xen_state.h"

#include <xen/hvm/params.h>
#include <xen/io/console.h>

#define RING_GPA 0x3000ull

static struct xen_fake F;
static struct xencons_interface *intf;
static int out_pipe[2], in_pipe[2];
static struct pv_console *pc;
static evtchn_port_t guest_port;

static int setup(void)
{
	log_set_level(LOG_ERR);
	return xen_fake_init(&F, 1);
}

static int teardown(void)
{
	xen_fake_fini(&F);
	return 0;
}

/* A console whose output pipe holds `pipe_size` bytes at most. */
static void start(struct event_loop *loop, int pipe_size)
{
	struct pv_console_params p = { .loop = loop, .dom = F.d };

	intf = xen_fake_gpa(&F, RING_GPA);
	memset(intf, 0xa5, 4096);   /* start() must clear the page */
	CU_ASSERT_FATAL(pipe2(out_pipe, O_NONBLOCK) == 0);
	CU_ASSERT_FATAL(pipe2(in_pipe, O_NONBLOCK) == 0);
	if (pipe_size)
		fcntl(out_pipe[1], F_SETPIPE_SZ, pipe_size);
	p.ring_page = intf;
	p.ring_gfn = RING_GPA >> 12;
	p.out_fd = out_pipe[1];
	p.in_fd = in_pipe[0];
	CU_ASSERT_FATAL(pv_console_start(&p, &pc) == 0);
	guest_port = (evtchn_port_t)xen_domain_get_param(F.d, HVM_PARAM_CONSOLE_EVTCHN);
}

static void stop(void)
{
	pv_console_stop(pc);
	pc = NULL;
	for (int i = 0; i < 2; i++) {
		close(out_pipe[i]);
		close(in_pipe[i]);
	}
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
}

/* The guest's side of hvc_xen: append to out, advance out_prod. */
static void guest_write(const char *s, size_t len)
{
	XENCONS_RING_IDX prod = intf->out_prod;

	for (size_t i = 0; i < len; i++)
		intf->out[MASK_XENCONS_IDX(prod + i, intf->out)] = s[i];
	__atomic_store_n(&intf->out_prod, prod + (XENCONS_RING_IDX)len, __ATOMIC_RELEASE);
}

static size_t guest_read(char *buf, size_t max)
{
	size_t n = 0;

	while (intf->in_cons != intf->in_prod && n < max)
		buf[n++] = intf->in[MASK_XENCONS_IDX(intf->in_cons++, intf->in)];
	return n;
}

static size_t host_read(char *buf, size_t max)
{
	ssize_t n = read(out_pipe[0], buf, max);

	return n > 0 ? (size_t)n : 0;
}

static void test_params_and_output(void)
{
	char buf[4096], big[3000];
	struct pv_console_stats st;

	start(NULL, 0);
	CU_ASSERT_EQUAL(xen_domain_get_param(F.d, HVM_PARAM_CONSOLE_PFN), RING_GPA >> 12);
	CU_ASSERT_NOT_EQUAL(guest_port, 0);
	CU_ASSERT_EQUAL(intf->out_prod, 0);
	CU_ASSERT_EQUAL(intf->in_prod, 0);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 0);
	CU_ASSERT_FALSE(evtchn_is_pending(F.d, guest_port));

	guest_write("hello, hvc0\n", 12);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 12);
	CU_ASSERT_EQUAL(host_read(buf, sizeof(buf)), 12);
	CU_ASSERT_EQUAL(memcmp(buf, "hello, hvc0\n", 12), 0);
	CU_ASSERT_EQUAL(intf->out_cons, 12);
	CU_ASSERT_TRUE(evtchn_is_pending(F.d, guest_port));

	/* Wrapping round the 2 KiB ring in two goes. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	guest_write(big, 1500);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 1500);
	guest_write(big + 1500, 1500);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 1500);
	CU_ASSERT_EQUAL(host_read(buf, sizeof(buf)), 3000);
	CU_ASSERT_EQUAL(memcmp(buf, big, 3000), 0);
	pv_console_get_stats(pc, &st);
	CU_ASSERT_EQUAL(st.out_bytes, 3012);
	CU_ASSERT_EQUAL(st.bad_indices, 0);
	stop();
}

static void test_input(void)
{
	char buf[2048], in[1500];
	struct pv_console_stats st;

	start(NULL, 0);
	CU_ASSERT_EQUAL(write(in_pipe[1], "ls\n", 3), 3);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 3);
	CU_ASSERT_EQUAL(guest_read(buf, sizeof(buf)), 3);
	CU_ASSERT_EQUAL(memcmp(buf, "ls\n", 3), 0);
	CU_ASSERT_TRUE(evtchn_is_pending(F.d, guest_port));

	/* More than the 1 KiB ring: the rest waits in the pipe until the
	 * guest consumed. */
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)('A' + i % 26);
	CU_ASSERT_EQUAL(write(in_pipe[1], in, sizeof(in)), (ssize_t)sizeof(in));
	CU_ASSERT_EQUAL(pv_console_pump(pc), 1024);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 0);
	CU_ASSERT_EQUAL(guest_read(buf, sizeof(buf)), 1024);
	CU_ASSERT_EQUAL(pv_console_pump(pc), sizeof(in) - 1024);
	CU_ASSERT_EQUAL(guest_read(buf + 1024, sizeof(buf) - 1024), sizeof(in) - 1024);
	CU_ASSERT_EQUAL(memcmp(buf, in, sizeof(in)), 0);
	pv_console_get_stats(pc, &st);
	CU_ASSERT_EQUAL(st.in_bytes, 3 + sizeof(in));
	stop();
}

static void test_hostile_indices(void)
{
	char buf[4096];
	struct pv_console_stats st;

	start(NULL, 0);
	/* out_prod far ahead of out_cons: nothing copied, resynchronised. */
	intf->out_prod = 0x80000000u;
	CU_ASSERT_EQUAL(pv_console_pump(pc), 0);
	CU_ASSERT_EQUAL(host_read(buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(intf->out_cons, 0x80000000u);
	/* out_prod behind out_cons (moved back): the same. */
	intf->out_prod = 0x7fffff00u;
	CU_ASSERT_EQUAL(pv_console_pump(pc), 0);
	CU_ASSERT_EQUAL(intf->out_cons, 0x7fffff00u);
	/* ... and the console works again from there. */
	guest_write("ok", 2);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 2);
	CU_ASSERT_EQUAL(host_read(buf, sizeof(buf)), 2);
	/* in_cons moved past in_prod: no input written into the ring. */
	intf->in_cons = 0x1000;
	CU_ASSERT_EQUAL(write(in_pipe[1], "x", 1), 1);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 0);
	CU_ASSERT_EQUAL(intf->in_prod, 0);
	intf->in_cons = 0;   /* the guest comes to its senses */
	CU_ASSERT_EQUAL(pv_console_pump(pc), 1);
	pv_console_get_stats(pc, &st);
	CU_ASSERT_EQUAL(st.bad_indices, 3);
	stop();
}

static void test_output_backpressure(void)
{
	struct event_loop *loop;
	char fill[4096], buf[8192];
	struct pv_console_stats st;
	size_t got = 0;

	CU_ASSERT_FATAL(event_loop_new(&loop) == 0);
	start(loop, 4096);
	memset(fill, 'f', sizeof(fill));
	while (write(out_pipe[1], fill, sizeof(fill)) > 0)
		;
	/* The host side is full: the guest's bytes stay in the ring. */
	guest_write("wait", 4);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 0);
	CU_ASSERT_EQUAL(intf->out_cons, 0);
	while (host_read(buf, sizeof(buf)))
		;
	CU_ASSERT_EQUAL(pv_console_pump(pc), 4);
	CU_ASSERT_EQUAL(intf->out_cons, 4);
	got = host_read(buf, sizeof(buf));
	CU_ASSERT_EQUAL(got, 4);
	CU_ASSERT_EQUAL(memcmp(buf, "wait", 4), 0);
	pv_console_get_stats(pc, &st);
	CU_ASSERT_EQUAL(st.out_dropped, 0);
	stop();
	event_loop_free(loop);
}

/* Without a loop to wait in, a full output fd loses bytes rather than
 * stalling; the count says so. */
static void test_output_dropped_without_loop(void)
{
	char fill[4096];
	struct pv_console_stats st;

	start(NULL, 4096);
	memset(fill, 'f', sizeof(fill));
	while (write(out_pipe[1], fill, sizeof(fill)) > 0)
		;
	guest_write("lost", 4);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 4);
	CU_ASSERT_EQUAL(intf->out_cons, 4);
	pv_console_get_stats(pc, &st);
	CU_ASSERT_EQUAL(st.out_dropped, 4);
	stop();
}

/* Loads a saved console section into pc; 0 or -errno. */
static int load_console(const uint8_t *p, size_t len)
{
	struct state_reader *r = state_reader_new_mem(p, len);
	struct state_handler h;
	int rc;

	pv_console_state_handler(pc, &h);
	rc = state_reader_header(r);
	if (!rc)
		rc = state_load(r, &h, 1);
	state_reader_free(r);
	return rc;
}

/* Saved after printing "hello" and before " world": restored with the
 * ring (guest RAM, copied by the VMM) into a fresh domain's console, it
 * prints " world" once, neither nothing nor "hello" again; input keeps
 * its place too. */
static void test_save_restore(void)
{
	static uint8_t ring[4096];
	struct state_writer *w;
	const uint8_t *p;
	size_t len;
	char buf[64];

	start(NULL, 0);
	guest_write("hello", 5);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 5);
	CU_ASSERT_EQUAL(host_read(buf, sizeof(buf)), 5);
	CU_ASSERT_EQUAL(write(in_pipe[1], "ab", 2), 2);
	pv_console_pump(pc);
	CU_ASSERT_EQUAL(intf->in_prod, 2);
	guest_write(" world", 6);
	w = state_writer_new_mem("test");
	pv_console_state_save(pc, w);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	memcpy(ring, intf, sizeof(ring));
	stop();

	xen_fake_fini(&F);
	CU_ASSERT_EQUAL_FATAL(xen_fake_init(&F, 1), 0);
	start(NULL, 0);
	memcpy(intf, ring, sizeof(ring));
	p = state_writer_mem(w, &len);
	CU_ASSERT_EQUAL(load_console(p, len), 0);
	CU_ASSERT_EQUAL(pv_console_pump(pc), 6);
	CU_ASSERT_EQUAL(host_read(buf, sizeof(buf)), 6);
	CU_ASSERT_EQUAL(memcmp(buf, " world", 6), 0);
	CU_ASSERT_EQUAL(write(in_pipe[1], "c", 1), 1);
	pv_console_pump(pc);
	CU_ASSERT_EQUAL(guest_read(buf, sizeof(buf)), 3);
	CU_ASSERT_EQUAL(memcmp(buf, "abc", 3), 0);
	stop();

	/* A console on another backend port is not the one that was saved. */
	xen_fake_fini(&F);
	CU_ASSERT_EQUAL_FATAL(xen_fake_init(&F, 1), 0);
	{
		evtchn_port_t g0, b0;

		CU_ASSERT_EQUAL(evtchn_backend_channel(F.d, NULL, NULL, &g0, &b0), 0);
		start(NULL, 0);
		CU_ASSERT_EQUAL(load_console(p, len), -EINVAL);
		evtchn_backend_close(F.d, b0);
		stop();
	}
	state_writer_free(w);
}

int main(void)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "params_and_output", test_params_and_output },
		{ "input", test_input },
		{ "hostile_indices", test_hostile_indices },
		{ "output_backpressure", test_output_backpressure },
		{ "output_dropped_without_loop", test_output_dropped_without_loop },
		{ "save_restore", test_save_restore },
	};
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("pv_console", setup, teardown);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	return cunit_run(CU_BRM_VERBOSE);
}
