/*
 * A domain's XenStore service (include/xenkvm/xs_service.h): the store,
 * its guest ring and its socket, on the daemon's I/O thread.
 *
 * Event flow: the guest's EVTCHNOP_send on its store port reaches
 * xs_service_kick() on the guest's vCPU thread, which only signals the
 * I/O thread; there the ring is drained (xs_ring_handle) and socket
 * clients get the watch events the guest's writes fired.  Replies go back
 * with evtchn_backend_notify().  Socket fds are a poll source of the loop.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/hvm/params.h>

#include "xenkvm/event_loop.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xenstore.h"
#include "xenkvm/xs_ring.h"
#include "xenkvm/xs_service.h"
#include "xenkvm/xs_socket.h"

struct xs_work {
	void (*fn)(void *opaque);
	void *opaque;
	struct xs_work *next;
};

struct xs_service {
	struct xs_store *store;
	struct xs_ring *ring;
	struct xs_socket_server *sock;
	struct xen_domain *dom;
	struct event_loop *loop;
	struct event_notifier *kick;      /* guest notified, or ring work queued */
	struct event_timer *sock_resume;  /* wakes the loop when accepting resumes */
	uint64_t sock_resume_at;          /* its deadline; 0: disarmed */
	unsigned int domid;
	evtchn_port_t be_port;            /* our end of the store event channel */

	pthread_mutex_t work_lock;
	struct xs_work *work, **work_tail;
};

/* Guest's vCPU thread, no xen-compat lock held: hand over to the I/O thread. */
static void xs_service_guest_kick(void *opaque, evtchn_port_t be_port)
{
	struct xs_service *svc = opaque;

	(void)be_port;
	event_notifier_signal(svc->kick);
}

static void xs_service_notify_guest(void *opaque)
{
	struct xs_service *svc = opaque;

	evtchn_backend_notify(svc->dom, svc->be_port);
}

static void xs_service_ring_wakeup(void *opaque)
{
	struct xs_service *svc = opaque;

	event_notifier_signal(svc->kick);
}

static const struct xs_ring_ops xs_service_ring_ops = {
	.notify = xs_service_notify_guest,
	.wakeup = xs_service_ring_wakeup,
};

static void xs_service_run_work(struct xs_service *svc)
{
	struct xs_work *w;

	pthread_mutex_lock(&svc->work_lock);
	w = svc->work;
	svc->work = NULL;
	svc->work_tail = &svc->work;
	pthread_mutex_unlock(&svc->work_lock);
	while (w) {
		struct xs_work *next = w->next;

		w->fn(w->opaque);
		free(w);
		w = next;
	}
}

/* On the I/O thread: drain queued work, the ring, then socket output. */
static void xs_service_pump(void *opaque, uint32_t events)
{
	struct xs_service *svc = opaque;
	int rc;

	(void)events;
	xs_service_run_work(svc);
	if (svc->ring && !xs_ring_dead(svc->ring)) {
		do
			rc = xs_ring_handle(svc->ring);
		while (rc == 1);
	}
	if (svc->sock)
		xs_socket_server_flush(svc->sock);
}

static unsigned int xs_service_nfds(void *opaque)
{
	struct xs_service *svc = opaque;

	return xs_socket_server_nfds(svc->sock);
}

static unsigned int xs_service_fill(void *opaque, struct pollfd *fds, unsigned int max)
{
	struct xs_service *svc = opaque;

	return xs_socket_server_pollfds(svc->sock, fds, max);
}

static void xs_service_handle(void *opaque, int fd, short revents)
{
	struct xs_service *svc = opaque;

	xs_socket_server_handle(svc->sock, fd, revents);
}

/* After socket requests ran: a tool's write may have fired the guest's watches. */
static void xs_service_after(void *opaque)
{
	struct xs_service *svc = opaque;

	if (svc->ring && !xs_ring_dead(svc->ring))
		xs_ring_handle(svc->ring);
	xs_socket_server_flush(svc->sock);
	/* Out of descriptors, the listener is left out of the poll set for a
	 * while: make sure some round ends by then to put it back. */
	if (svc->sock_resume) {
		uint64_t at = xs_socket_server_resume_ns(svc->sock);

		if (at != svc->sock_resume_at && !event_timer_arm(svc->sock_resume, at))
			svc->sock_resume_at = at;
	}
}

static void xs_service_sock_resume(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;   /* the round it ends refills the poll set */
}

int xs_service_run(struct xs_service *svc, void (*fn)(void *opaque), void *opaque)
{
	struct xs_work *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->opaque = opaque;
	pthread_mutex_lock(&svc->work_lock);
	*svc->work_tail = w;
	svc->work_tail = &w->next;
	pthread_mutex_unlock(&svc->work_lock);
	event_notifier_signal(svc->kick);
	return 0;
}

/* A toolstack write made on the I/O thread for a caller on another one. */
struct xs_toolstack_req {
	struct xs_service *svc;
	char rel[32];
	char value[32];
};

static void xs_service_do_toolstack(void *opaque)
{
	struct xs_toolstack_req *r = opaque;

	if (xs_domain_write(r->svc->store, r->svc->domid, r->rel, r->value))
		pr_warn("xenstore: could not write %s", r->rel);
	free(r);
}

static int toolstack_queue(struct xs_service *svc, const char *rel, const char *value)
{
	struct xs_toolstack_req *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->svc = svc;
	snprintf(r->rel, sizeof(r->rel), "%s", rel);
	snprintf(r->value, sizeof(r->value), "%s", value);
	rc = xs_service_run(svc, xs_service_do_toolstack, r);
	if (rc)
		free(r);
	return rc;
}

int xs_service_request_shutdown(struct xs_service *svc, const char *reason)
{
	if (!xs_shutdown_reason_valid(reason))
		return -EINVAL;
	return toolstack_queue(svc, "control/shutdown", reason);
}

int xs_service_set_memory_target(struct xs_service *svc, uint64_t target_kb)
{
	char v[24];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)target_kb);
	return toolstack_queue(svc, "memory/target", v);
}

int xs_service_sysrq(struct xs_service *svc, char key)
{
	char v[2] = { key, 0 };

	if (!isgraph((unsigned char)key))
		return -EINVAL;
	return toolstack_queue(svc, "control/sysrq", v);
}

bool xs_service_guest_feature(struct xs_service *svc, const char *rel)
{
	return xs_domain_feature(svc->store, svc->domid, rel);
}

struct xs_store *xs_service_store(struct xs_service *svc)
{
	return svc->store;
}

static void uuid_format(const uint8_t *u, char *buf, size_t len)
{
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

int xs_service_start(const struct xs_service_params *p, struct xs_service **svc_r)
{
	struct xs_service *svc = calloc(1, sizeof(*svc));
	struct xs_domain_info info = { 0 };
	evtchn_port_t guest_port = 0;
	char uuid[40];
	int rc;

	if (!svc)
		return -ENOMEM;
	pthread_mutex_init(&svc->work_lock, NULL);
	svc->work_tail = &svc->work;
	svc->dom = p->dom;
	svc->loop = p->loop;
	svc->domid = p->domid;
	svc->store = xs_store_new(NULL);
	if (!svc->store) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = event_notifier_new(p->loop, xs_service_pump, svc, &svc->kick);
	if (rc)
		goto fail;

	/* The store's event channel: a guest port waiting for domain 0, which
	 * we bind as the backend (what xl's toolstack and xenstored do). */
	rc = evtchn_backend_channel(p->dom, xs_service_guest_kick, svc, &guest_port, &svc->be_port);
	if (rc) {
		pr_err("xenstore: event channel: %s", strerror(-rc));
		goto fail;
	}
	memset(p->ring_page, 0, 4096);
	rc = xs_ring_new(svc->store, p->domid, p->ring_page, &xs_service_ring_ops, svc, &svc->ring);
	if (rc) {
		pr_err("xenstore: ring: %s", strerror(-rc));
		goto fail;
	}

	uuid_format(p->uuid, uuid, sizeof(uuid));
	info.domid = p->domid;
	info.name = p->name;
	info.uuid = uuid;
	info.max_memkb = p->memory_kb;
	info.target_memkb = p->target_kb && p->target_kb < p->memory_kb ? p->target_kb : p->memory_kb;
	info.vcpus = p->vcpus;
	info.store_pfn = p->ring_gfn;
	info.store_port = guest_port;
	info.hvm = true;
	rc = xs_domain_populate_dom0(svc->store);
	if (!rc)
		rc = xs_domain_populate(svc->store, &info);
	if (rc) {
		pr_err("xenstore: populating the store: %s", strerror(-rc));
		goto fail;
	}
	xen_domain_set_param(p->dom, HVM_PARAM_STORE_PFN, p->ring_gfn);
	xen_domain_set_param(p->dom, HVM_PARAM_STORE_EVTCHN, guest_port);

	if (p->socket_path) {
		struct event_poll_source src = {
			.nfds = xs_service_nfds, .fill = xs_service_fill,
			.handle = xs_service_handle, .after = xs_service_after, .opaque = svc,
		};

		rc = xs_socket_server_new(svc->store, p->socket_path, 64, &svc->sock);
		if (rc) {
			pr_err("xenstore: socket %s: %s", p->socket_path, strerror(-rc));
			goto fail;
		}
		rc = event_timer_new(p->loop, xs_service_sock_resume, svc, &svc->sock_resume);
		if (rc)
			goto fail;
		event_loop_set_poll_source(p->loop, &src);
		pr_info("xenstore: socket %s (XENSTORED_PATH=%s xenstore-ls)", p->socket_path, p->socket_path);
	}
	*svc_r = svc;
	return 0;
fail:
	xs_service_stop(svc);
	return rc;
}

void xs_service_stop(struct xs_service *svc)
{
	if (!svc)
		return;
	xs_service_run_work(svc);   /* frees queued requests (the loop is stopped) */
	if (svc->be_port)
		evtchn_backend_close(svc->dom, svc->be_port);
	if (svc->sock_resume)
		event_timer_free(svc->sock_resume);
	xs_socket_server_free(svc->sock);
	xs_ring_free(svc->ring);
	event_notifier_free(svc->kick);
	if (svc->store)
		xs_store_free(svc->store);
	free(svc);
}

int xs_service_state_save(struct xs_service *svc, struct state_writer *w)
{
	struct xs_conn *conn = xs_ring_conn(svc->ring);
	struct xs_client *client = xs_conn_client(conn);
	int rc;

	rc = xs_store_save(svc->store, &client, 1, w);
	if (rc)
		return rc;
	xs_conn_state_save(conn, w);
	return state_writer_err(w);
}

void xs_service_state_handlers(struct xs_service *svc, struct xs_service_state_load *ctx,
			       struct state_handler *h)
{
	struct xs_conn *conn = xs_ring_conn(svc->ring);

	ctx->clients[0] = xs_conn_client(conn);
	ctx->store = (struct xs_state_load){ svc->store, ctx->clients, 1 };
	xs_store_state_handler(&ctx->store, &h[0]);
	xs_conn_state_handler(conn, &h[1]);
}

void xs_service_restored(struct xs_service *svc)
{
	event_notifier_signal(svc->kick);
}
