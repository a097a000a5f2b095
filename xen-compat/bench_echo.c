/* The echo backend for event-channel round-trip benchmarks (bench_echo.h). */
#include <errno.h>
#include <stdlib.h>

#include "xenkvm/bench_echo.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/log.h"

struct bench_echo {
	struct xen_domain *d;
	evtchn_port_t guest_port, be_port;
	unsigned long count;
};

/* Runs where the guest's send lands (its vCPU thread, or the I/O thread on
 * KVM's fast path): answering right here is the point of the benchmark. */
static void bench_echo_kick(void *opaque, evtchn_port_t be_port)
{
	struct bench_echo *e = opaque;

	__atomic_fetch_add(&e->count, 1, __ATOMIC_RELAXED);
	evtchn_backend_notify(e->d, be_port);
}

int bench_echo_start(struct xen_domain *d, struct bench_echo **e_r)
{
	struct bench_echo *e = calloc(1, sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	e->d = d;
	rc = evtchn_alloc_guest_unbound(d, 0, &e->guest_port);
	if (!rc)
		rc = evtchn_backend_bind(d, e->guest_port, bench_echo_kick, e, &e->be_port);
	if (rc) {
		free(e);
		return rc;
	}
	pr_info("bench echo backend on guest event channel %u", e->guest_port);
	*e_r = e;
	return 0;
}

evtchn_port_t bench_echo_guest_port(const struct bench_echo *e)
{
	return e->guest_port;
}

unsigned long bench_echo_count(const struct bench_echo *e)
{
	return __atomic_load_n(&e->count, __ATOMIC_RELAXED);
}

void bench_echo_stop(struct bench_echo *e)
{
	if (!e)
		return;
	evtchn_backend_close(e->d, e->be_port);
	pr_info("bench echo backend: %lu round trips", e->count);
	free(e);
}
