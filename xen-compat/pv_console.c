/*
 * The PV console backend (see include/xenkvm/pv_console.h).
 *
 * The ring page is shared with the guest, which may rewrite any of it at
 * any time: each index is read once per round, the distance between a
 * producer and a consumer index is checked against the ring size before
 * anything is copied, and our own indices (out_cons, in_prod) are kept
 * privately and only ever written to the page.
 *
 * Output is not dropped to keep the guest going: like xenconsoled, we stop
 * consuming while out_fd cannot take more, and hvc_xen waits for space.
 * The console socket drains whenever nobody is attached, so a guest never
 * waits on an absent reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "xenkvm/event_loop.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/log.h"
#include "xenkvm/pv_console.h"
#include "xenkvm/xen_abi.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_state.h"

#include <xen/hvm/params.h>
#include <xen/io/console.h>

struct pv_console {
	struct event_loop *loop;
	struct xen_domain *dom;
	struct xencons_interface *intf;
	int out_fd, in_fd;
	evtchn_port_t be_port;
	struct event_notifier *kick;
	bool in_watched;              /* in_fd is in the loop */
	bool out_waiting;             /* out_fd is in the loop (EPOLLOUT) */
	XENCONS_RING_IDX out_cons, in_prod;
	struct pv_console_stats st;
};

#define OUT_SIZE ((XENCONS_RING_IDX)sizeof(((struct xencons_interface *)0)->out))
#define IN_SIZE  ((XENCONS_RING_IDX)sizeof(((struct xencons_interface *)0)->in))

static XENCONS_RING_IDX load_idx(XENCONS_RING_IDX *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_idx(XENCONS_RING_IDX *p, XENCONS_RING_IDX v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static bool fd_writable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT);
}

static void pv_console_out_ready(void *opaque, uint32_t events)
{
	struct pv_console *pc = opaque;

	(void)events;
	event_loop_remove(pc->loop, pc->out_fd);
	pc->out_waiting = false;
	pv_console_pump(pc);
}

/* Wait for out_fd in the loop; false if it cannot be waited for (a regular
 * file, which never blocks anyway). */
static bool wait_out(struct pv_console *pc)
{
	if (pc->out_waiting)
		return true;
	if (!pc->loop || event_loop_add(pc->loop, pc->out_fd, EPOLLOUT, pv_console_out_ready, pc))
		return false;
	pc->out_waiting = true;
	return true;
}

static size_t pump_out(struct pv_console *pc)
{
	XENCONS_RING_IDX prod = load_idx(&pc->intf->out_prod);
	XENCONS_RING_IDX len = prod - pc->out_cons;
	char buf[sizeof(pc->intf->out)];
	size_t done = 0;

	if (len > OUT_SIZE) {
		/* The guest's index is garbage: skip to it rather than copy
		 * stale bytes, and keep serving. */
		pc->st.bad_indices++;
		pr_warn_rl("pv console: out_prod %u is %u past out_cons %u; resynchronising", prod,
			   len, pc->out_cons);
		pc->out_cons = prod;
		store_idx(&pc->intf->out_cons, pc->out_cons);
		return 0;
	}
	if (!len || pc->out_fd < 0)
		return 0;
	if (!fd_writable(pc->out_fd) && wait_out(pc))
		return 0;
	for (XENCONS_RING_IDX i = 0; i < len; i++)
		buf[i] = pc->intf->out[MASK_XENCONS_IDX(pc->out_cons + i, pc->intf->out)];
	while (done < len) {
		ssize_t n = write(pc->out_fd, buf + done, len - done);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* Full after all (or gone): what was not written is lost, the
		 * rest of the ring waits for the fd. */
		pc->st.out_dropped += len - done;
		break;
	}
	pc->st.out_bytes += done;
	pc->out_cons += len;
	store_idx(&pc->intf->out_cons, pc->out_cons);
	return len;
}

static void pv_console_in_ready(void *opaque, uint32_t events)
{
	(void)events;
	pv_console_pump(opaque);
}

static void watch_in(struct pv_console *pc, bool on)
{
	if (!pc->loop || pc->in_fd < 0 || pc->in_watched == on)
		return;
	if (on ? event_loop_add(pc->loop, pc->in_fd, EPOLLIN, pv_console_in_ready, pc) == 0
	       : event_loop_remove(pc->loop, pc->in_fd) == 0)
		pc->in_watched = on;
}

static size_t pump_in(struct pv_console *pc)
{
	XENCONS_RING_IDX cons = load_idx(&pc->intf->in_cons);
	XENCONS_RING_IDX used = pc->in_prod - cons;
	char buf[sizeof(pc->intf->in)];
	ssize_t n;

	if (pc->in_fd < 0)
		return 0;
	if (used > IN_SIZE) {
		pc->st.bad_indices++;
		pr_warn_rl("pv console: in_cons %u is %u behind in_prod %u; waiting for the guest",
			   cons, used, pc->in_prod);
		watch_in(pc, false);
		return 0;
	}
	if (used == IN_SIZE) {
		watch_in(pc, false);   /* back on when the guest consumed some */
		return 0;
	}
	n = read(pc->in_fd, buf, IN_SIZE - used);
	if (n == 0) {
		watch_in(pc, false);   /* end of input: nothing more will come */
		pc->in_fd = -1;        /* (the fd is the caller's to close) */
		return 0;
	}
	if (n < 0) {
		watch_in(pc, true);
		return 0;
	}
	for (ssize_t i = 0; i < n; i++)
		pc->intf->in[MASK_XENCONS_IDX(pc->in_prod + (XENCONS_RING_IDX)i, pc->intf->in)] = buf[i];
	pc->in_prod += (XENCONS_RING_IDX)n;
	store_idx(&pc->intf->in_prod, pc->in_prod);
	pc->st.in_bytes += (uint64_t)n;
	watch_in(pc, true);
	return (size_t)n;
}

size_t pv_console_pump(struct pv_console *pc)
{
	size_t moved = pump_out(pc) + pump_in(pc);

	if (moved && pc->be_port)
		evtchn_backend_notify(pc->dom, pc->be_port);
	return moved;
}

static void pv_console_kicked(void *opaque, uint32_t events)
{
	(void)events;
	pv_console_pump(opaque);
}

/* vCPU thread, no locks held: only wake the loop. */
static void pv_console_guest_kick(void *opaque, evtchn_port_t port)
{
	struct pv_console *pc = opaque;

	(void)port;
	if (pc->kick)
		event_notifier_signal(pc->kick);
}

int pv_console_start(const struct pv_console_params *p, struct pv_console **pc_r)
{
	struct pv_console *pc = calloc(1, sizeof(*pc));
	evtchn_port_t guest_port = 0;
	int rc;

	if (!pc)
		return -ENOMEM;
	pc->loop = p->loop;
	pc->dom = p->dom;
	pc->intf = p->ring_page;
	pc->out_fd = p->out_fd;
	pc->in_fd = p->in_fd;
	memset(pc->intf, 0, 4096);
	if (pc->in_fd >= 0)
		fcntl(pc->in_fd, F_SETFL, fcntl(pc->in_fd, F_GETFL) | O_NONBLOCK);
	if (pc->loop) {
		rc = event_notifier_new(pc->loop, pv_console_kicked, pc, &pc->kick);
		if (rc)
			goto fail;
	}
	rc = evtchn_backend_channel(p->dom, pv_console_guest_kick, pc, &guest_port, &pc->be_port);
	if (rc) {
		pr_err("pv console: event channel: %s", strerror(-rc));
		goto fail;
	}
	xen_domain_set_param(p->dom, HVM_PARAM_CONSOLE_PFN, p->ring_gfn);
	xen_domain_set_param(p->dom, HVM_PARAM_CONSOLE_EVTCHN, guest_port);
	watch_in(pc, true);
	*pc_r = pc;
	return 0;
fail:
	pv_console_stop(pc);
	return rc;
}

void pv_console_stop(struct pv_console *pc)
{
	if (!pc)
		return;
	if (pc->loop) {
		watch_in(pc, false);
		if (pc->out_waiting)
			event_loop_remove(pc->loop, pc->out_fd);
	}
	if (pc->be_port)
		evtchn_backend_close(pc->dom, pc->be_port);
	event_notifier_free(pc->kick);
	free(pc);
}

void pv_console_get_stats(const struct pv_console *pc, struct pv_console_stats *st)
{
	*st = pc->st;
}

/* --- save / restore (XEN_STATE_PV_CONSOLE) ---------------------------------------
 * The ring is guest RAM (the VMM's); ours are the indices we keep
 * privately.  A restored console that started from 0 would print again
 * what the guest wrote long ago, or drop what it wrote last. */

void pv_console_state_save(struct pv_console *pc, struct state_writer *w)
{
	state_section_begin(w, XEN_STATE_PV_CONSOLE, XEN_STATE_PV_CONSOLE_VERSION);
	state_put_u32(w, pc->be_port);
	state_put_u32(w, pc->out_cons);
	state_put_u32(w, pc->in_prod);
	state_section_end(w);
}

static int console_load(void *opaque, struct state_section *s)
{
	struct pv_console *pc = opaque;
	uint32_t be_port, out_cons, in_prod;

	state_get_u32(s, &be_port);
	state_get_u32(s, &out_cons);
	state_get_u32(s, &in_prod);
	if (state_section_failed(s))
		return 0;
	/* Built from the same config, the console has the same channel. */
	if (be_port != pc->be_port) {
		state_section_fail(s, EINVAL, "saved on backend port %u, this console has %u", be_port,
				   pc->be_port);
		return 0;
	}
	pc->out_cons = out_cons;
	pc->in_prod = in_prod;
	/* What the guest wrote while it was being saved is output now. */
	if (pc->kick)
		event_notifier_signal(pc->kick);
	return 0;
}

void pv_console_state_handler(struct pv_console *pc, struct state_handler *h)
{
	*h = (struct state_handler){ XEN_STATE_PV_CONSOLE, XEN_STATE_PV_CONSOLE_VERSION,
				     "pv-console", true, console_load, pc };
}
