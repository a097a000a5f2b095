/*
 * The daemon's end of the control socket: accepts clients on the event
 * loop, cuts their input into lines, decodes each request, runs the
 * daemon's handler through one dispatch table and queues the reply.
 * A client that misbehaves (overlong line, never reads its replies) is
 * disconnected; nothing it sends can stop the loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xenkvm/clock.h"
#include "xenkvm/control.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "xenkvm/unix_listener.h"

/* A client that lets this much reply text pile up is not reading: drop it. */
#define CONTROL_OUT_MAX (4u << 20)

struct control_client {
	struct control_server *srv;
	int fd;
	char *in;                  /* CONTROL_LINE_MAX bytes */
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	bool closing;              /* close once `out` is flushed */
	uint64_t last_input;       /* clock_mono_ns() of its last bytes in (or accept) */
	struct control_client *next;
};

struct control_server {
	struct event_loop *loop;
	struct unix_listener l;
	struct event_timer *resume;   /* re-arms the listener after an accept pause */
	uint64_t idle_ns;
	unsigned long evicted;
	struct control_handlers h;
	void *opaque;
	struct control_client *clients;
	unsigned int nr_clients;
	char message[CONTROL_TEXT_MAX];
};

typedef int control_do_fn(struct control_server *srv, const struct control_request *req,
			  struct control_reply *rep);

static int do_hello(struct control_server *srv, const struct control_request *req,
		    struct control_reply *rep)
{
	rep->protocol = CONTROL_PROTOCOL_VERSION;
	snprintf(rep->server, sizeof(rep->server), "xenkvmd");
	return 0;
}

static int do_info(struct control_server *srv, const struct control_request *req,
		   struct control_reply *rep)
{
	return srv->h.info(srv->opaque, &rep->info);
}

static int do_vcpu_list(struct control_server *srv, const struct control_request *req,
			struct control_reply *rep)
{
	unsigned int n = 0;
	int rc;

	rep->vcpus = calloc(CONTROL_LIST_MAX, sizeof(*rep->vcpus));
	if (!rep->vcpus)
		return -ENOMEM;
	rc = srv->h.vcpu_list(srv->opaque, rep->vcpus, CONTROL_LIST_MAX, &n);
	rep->nr_vcpus = n > CONTROL_LIST_MAX ? CONTROL_LIST_MAX : n;
	return rc;
}

static int do_pause(struct control_server *srv, const struct control_request *req,
		    struct control_reply *rep)
{
	return srv->h.pause(srv->opaque);
}

static int do_unpause(struct control_server *srv, const struct control_request *req,
		      struct control_reply *rep)
{
	return srv->h.unpause(srv->opaque);
}

static int do_shutdown(struct control_server *srv, const struct control_request *req,
		       struct control_reply *rep)
{
	return srv->h.shutdown(srv->opaque, req->reason);
}

static int do_destroy(struct control_server *srv, const struct control_request *req,
		      struct control_reply *rep)
{
	return srv->h.destroy(srv->opaque);
}

static int do_block_list(struct control_server *srv, const struct control_request *req,
			 struct control_reply *rep)
{
	unsigned int n = 0;
	int rc;

	rep->disks = calloc(CONTROL_LIST_MAX, sizeof(*rep->disks));
	if (!rep->disks)
		return -ENOMEM;
	rc = srv->h.block_list(srv->opaque, rep->disks, CONTROL_LIST_MAX, &n);
	rep->nr_disks = n > CONTROL_LIST_MAX ? CONTROL_LIST_MAX : n;
	return rc;
}

static int do_block_attach(struct control_server *srv, const struct control_request *req,
			   struct control_reply *rep)
{
	return srv->h.block_attach(srv->opaque, req->arg, rep->vdev, sizeof(rep->vdev));
}

static int do_block_detach(struct control_server *srv, const struct control_request *req,
			   struct control_reply *rep)
{
	return srv->h.block_detach(srv->opaque, req->arg);
}

static int do_network_list(struct control_server *srv, const struct control_request *req,
			   struct control_reply *rep)
{
	unsigned int n = 0;
	int rc;

	rep->nics = calloc(CONTROL_LIST_MAX, sizeof(*rep->nics));
	if (!rep->nics)
		return -ENOMEM;
	rc = srv->h.network_list(srv->opaque, rep->nics, CONTROL_LIST_MAX, &n);
	rep->nr_nics = n > CONTROL_LIST_MAX ? CONTROL_LIST_MAX : n;
	return rc;
}

static int do_network_attach(struct control_server *srv, const struct control_request *req,
			     struct control_reply *rep)
{
	return srv->h.network_attach(srv->opaque, req->arg, &rep->devid);
}

static int do_network_detach(struct control_server *srv, const struct control_request *req,
			     struct control_reply *rep)
{
	return srv->h.network_detach(srv->opaque, req->arg);
}

static int do_mem_set(struct control_server *srv, const struct control_request *req,
		      struct control_reply *rep)
{
	return srv->h.mem_set(srv->opaque, req->target_kib);
}

static int do_sysrq(struct control_server *srv, const struct control_request *req,
		    struct control_reply *rep)
{
	return srv->h.sysrq(srv->opaque, req->arg[0]);
}

static int do_trigger(struct control_server *srv, const struct control_request *req,
		      struct control_reply *rep)
{
	return srv->h.trigger(srv->opaque, req->arg, req->vcpu);
}

static int do_save(struct control_server *srv, const struct control_request *req,
		   struct control_reply *rep)
{
	return srv->h.save(srv->opaque, req->arg);
}

static int do_migrate_send(struct control_server *srv, const struct control_request *req,
			   struct control_reply *rep)
{
	return srv->h.migrate_send(srv->opaque, req->arg);
}

/* Dispatch, indexed like the request table in control.c; `present` says
 * whether the daemon supplied the handler the op needs. */
static bool handler_present(const struct control_handlers *h, enum control_op op)
{
	switch (op) {
	case CONTROL_OP_HELLO: return true;
	case CONTROL_OP_INFO: return h->info;
	case CONTROL_OP_VCPU_LIST: return h->vcpu_list;
	case CONTROL_OP_PAUSE: return h->pause;
	case CONTROL_OP_UNPAUSE: return h->unpause;
	case CONTROL_OP_SHUTDOWN: return h->shutdown;
	case CONTROL_OP_DESTROY: return h->destroy;
	case CONTROL_OP_BLOCK_LIST: return h->block_list;
	case CONTROL_OP_BLOCK_ATTACH: return h->block_attach;
	case CONTROL_OP_BLOCK_DETACH: return h->block_detach;
	case CONTROL_OP_NETWORK_LIST: return h->network_list;
	case CONTROL_OP_NETWORK_ATTACH: return h->network_attach;
	case CONTROL_OP_NETWORK_DETACH: return h->network_detach;
	case CONTROL_OP_MEM_SET: return h->mem_set;
	case CONTROL_OP_SYSRQ: return h->sysrq;
	case CONTROL_OP_TRIGGER: return h->trigger;
	case CONTROL_OP_SAVE: return h->save;
	case CONTROL_OP_MIGRATE_SEND: return h->migrate_send;
	default: return false;
	}
}

static control_do_fn *const control_do[CONTROL_OP_COUNT] = {
	[CONTROL_OP_HELLO] = do_hello,
	[CONTROL_OP_INFO] = do_info,
	[CONTROL_OP_VCPU_LIST] = do_vcpu_list,
	[CONTROL_OP_PAUSE] = do_pause,
	[CONTROL_OP_UNPAUSE] = do_unpause,
	[CONTROL_OP_SHUTDOWN] = do_shutdown,
	[CONTROL_OP_DESTROY] = do_destroy,
	[CONTROL_OP_BLOCK_LIST] = do_block_list,
	[CONTROL_OP_BLOCK_ATTACH] = do_block_attach,
	[CONTROL_OP_BLOCK_DETACH] = do_block_detach,
	[CONTROL_OP_NETWORK_LIST] = do_network_list,
	[CONTROL_OP_NETWORK_ATTACH] = do_network_attach,
	[CONTROL_OP_NETWORK_DETACH] = do_network_detach,
	[CONTROL_OP_MEM_SET] = do_mem_set,
	[CONTROL_OP_SYSRQ] = do_sysrq,
	[CONTROL_OP_TRIGGER] = do_trigger,
	[CONTROL_OP_SAVE] = do_save,
	[CONTROL_OP_MIGRATE_SEND] = do_migrate_send,
};

void control_server_set_message(struct control_server *srv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(srv->message, sizeof(srv->message), fmt, ap);
	va_end(ap);
}

static void client_free(struct control_client *c)
{
	struct control_server *srv = c->srv;
	struct control_client **pp;

	for (pp = &srv->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	srv->nr_clients--;
	event_loop_remove(srv->loop, c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static int client_queue(struct control_client *c, const char *data, size_t len)
{
	size_t ncap;
	char *p;

	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len - c->out_off + len > CONTROL_OUT_MAX)
		return -ENOBUFS;
	if (c->out_len + len > c->out_cap) {
		if (c->out_off) {
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		ncap = c->out_cap ? c->out_cap : 4096;
		while (ncap < c->out_len + len)
			ncap *= 2;
		p = realloc(c->out, ncap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = ncap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

/* Writes what the socket takes; 0, or -errno when the client is gone. */
static int client_flush(struct control_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		c->out_off += (size_t)n;
	}
	return 0;
}

static void reply_error(struct control_reply *rep, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_error(struct control_reply *rep, int rc, const char *fmt, ...)
{
	va_list ap;

	rep->error = rc;
	va_start(ap, fmt);
	vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
	va_end(ap);
}

static void client_request(struct control_client *c, const char *line, size_t len)
{
	struct control_server *srv = c->srv;
	struct control_request req;
	struct control_reply rep;
	char err[CONTROL_TEXT_MAX], *out = NULL;
	size_t out_len;
	int rc;

	memset(&rep, 0, sizeof(rep));
	rc = control_request_decode(line, len, &req, err, sizeof(err));
	rep.has_id = req.has_id;
	rep.id = req.id;
	if (rc) {
		pr_warn_rl("control: bad request: %s", err);
		reply_error(&rep, rc, "%s", err);
		req.op = CONTROL_OP_HELLO;  /* an error reply has no payload */
	} else if (!handler_present(&srv->h, req.op)) {
		reply_error(&rep, -EOPNOTSUPP, "%s: not supported by this xenkvmd", control_op_name(req.op));
	} else {
		srv->message[0] = 0;
		rc = control_do[req.op](srv, &req, &rep);
		if (rc)
			reply_error(&rep, rc < 0 ? rc : -EIO, "%s: %s", control_op_name(req.op),
				    srv->message[0] ? srv->message : strerror(rc < 0 ? -rc : EIO));
		pr_debug("control: %s -> %s", control_op_name(req.op), rc ? rep.message : "ok");
	}
	rc = control_reply_encode(req.op, &rep, &out, &out_len);
	if (rc) {
		/* Only a reply too large or no memory gets here: say so instead. */
		control_reply_free(&rep);
		memset(&rep, 0, sizeof(rep));
		rep.has_id = req.has_id;
		rep.id = req.id;
		reply_error(&rep, rc, "%s: reply could not be encoded: %s", control_op_name(req.op),
			    strerror(-rc));
		rc = control_reply_encode(CONTROL_OP_HELLO, &rep, &out, &out_len);
	}
	if (!rc && client_queue(c, out, out_len))
		c->closing = true;
	if (rc)
		c->closing = true;
	free(out);
	control_reply_free(&rep);
}

static void client_update_events(struct control_client *c)
{
	uint32_t ev = EPOLLRDHUP;

	if (!c->closing)
		ev |= EPOLLIN;
	if (c->out_off < c->out_len)
		ev |= EPOLLOUT;
	event_loop_modify(c->srv->loop, c->fd, ev);
}

static void client_event(void *opaque, uint32_t events)
{
	struct control_client *c = opaque;
	char *nl;
	size_t used;
	ssize_t n;

	if ((events & EPOLLIN) && !c->closing) {
		n = recv(c->fd, c->in + c->in_len, CONTROL_LINE_MAX - c->in_len, MSG_DONTWAIT);
		if (n == 0) {
			c->closing = true;
		} else if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				goto drop;
		} else {
			c->in_len += (size_t)n;
			c->last_input = clock_mono_ns();
		}
		used = 0;
		while (!c->closing && (nl = memchr(c->in + used, '\n', c->in_len - used))) {
			size_t len = (size_t)(nl - (c->in + used)) + 1;

			if (len > 1 && !(len == 2 && c->in[used] == '\r'))
				client_request(c, c->in + used, len);
			used += len;
		}
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		if (!c->closing && c->in_len == CONTROL_LINE_MAX) {
			static const char too_long[] =
				"{\"v\":1,\"ok\":false,\"error\":\"EMSGSIZE\",\"message\":\"request line longer than 65536 bytes\"}\n";

			pr_warn_rl("control: request line too long; disconnecting the client");
			client_queue(c, too_long, sizeof(too_long) - 1);
			c->closing = true;
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		goto drop;
	}
	if (client_flush(c))
		goto drop;
	if (c->closing && c->out_off == c->out_len)
		goto drop;
	client_update_events(c);
	return;
drop:
	client_free(c);
}

/* Makes room for a new client by closing the one silent longest, if it has
 * been silent for idle_ns (see control.h); false if nobody is idle. */
static bool evict_idle(struct control_server *srv)
{
	struct control_client *c, *victim = NULL;
	uint64_t now = clock_mono_ns();

	for (c = srv->clients; c; c = c->next)
		if (now - c->last_input >= srv->idle_ns &&
		    (!victim || c->last_input < victim->last_input))
			victim = c;
	if (!victim)
		return false;
	pr_debug("control: %u clients; closing one idle for %llu s", srv->nr_clients,
		 (unsigned long long)((now - victim->last_input) / 1000000000ull));
	client_free(victim);
	srv->evicted++;
	return true;
}

static void server_resume(void *opaque, uint32_t events)
{
	struct control_server *srv = opaque;

	event_loop_modify(srv->loop, srv->l.fd, EPOLLIN);
}

static void server_accept(void *opaque, uint32_t events)
{
	struct control_server *srv = opaque;
	struct control_client *c;
	int fd = unix_listener_accept(&srv->l);

	if (fd < 0) {
		/* Out of descriptors: the listener stays readable, so stop
		 * watching it for a while rather than spin on it. */
		if (unix_listener_resume_ns(&srv->l) &&
		    !event_loop_modify(srv->loop, srv->l.fd, 0))
			event_timer_arm(srv->resume, unix_listener_resume_ns(&srv->l));
		return;
	}
	if (srv->nr_clients >= CONTROL_MAX_CLIENTS && !evict_idle(srv)) {
		pr_warn_rl("control: %u clients, none idle; refusing one", srv->nr_clients);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->in = malloc(CONTROL_LINE_MAX))) {
		free(c);
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->last_input = clock_mono_ns();
	if (event_loop_add(srv->loop, fd, EPOLLIN | EPOLLRDHUP, client_event, c)) {
		free(c->in);
		free(c);
		close(fd);
		return;
	}
	c->next = srv->clients;
	srv->clients = c;
	srv->nr_clients++;
}

int control_server_start(struct event_loop *loop, const char *path,
			 const struct control_handlers *h, void *opaque,
			 struct control_server **srv_r)
{
	struct control_server *srv = NULL;
	int rc;

	if (!h || !h->info)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->l.fd = -1;
	srv->loop = loop;
	srv->h = *h;
	srv->opaque = opaque;
	srv->idle_ns = CONTROL_IDLE_MS * 1000000ull;
	rc = event_timer_new(loop, server_resume, srv, &srv->resume);
	if (rc)
		goto fail;
	rc = unix_listener_open(&srv->l, path, 8);
	if (rc)
		goto fail;
	rc = event_loop_add(loop, srv->l.fd, EPOLLIN, server_accept, srv);
	if (rc)
		goto fail;
	*srv_r = srv;
	return 0;
fail:
	unix_listener_close(&srv->l);
	event_timer_free(srv->resume);
	free(srv);
	return rc;
}

void control_server_set_idle(struct control_server *srv, unsigned int idle_ms)
{
	srv->idle_ns = idle_ms * 1000000ull;
}

unsigned long control_server_evicted(const struct control_server *srv)
{
	return srv->evicted;
}

void control_server_free(struct control_server *srv)
{
	if (!srv)
		return;
	while (srv->clients)
		client_free(srv->clients);
	event_loop_remove(srv->loop, srv->l.fd);
	event_timer_free(srv->resume);
	unix_listener_close(&srv->l);
	free(srv);
}

unsigned int control_server_clients(const struct control_server *srv)
{
	return srv->nr_clients;
}
