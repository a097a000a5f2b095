/*
 * User-mode networking: a libslirp stack per vif, QEMU's addressing
 * (10.0.2.0/24, host 10.0.2.2, DNS 10.0.2.3, guest 10.0.2.15) so guests
 * and users find what they expect.
 *
 * libslirp wants a poll() set rebuilt every round.  The daemon's loop is
 * epoll: slirp's sockets are registered in it directly and what epoll says
 * of them is slirp's revents, so a round costs no poll() of its own.
 * After anything that can change slirp's sockets the set is refreshed,
 * touching only fds whose events changed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "xenkvm/domain_config.h"
#include "xenkvm/clock.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "netdev_priv.h"

/* Frames for a guest without rx buffers: enough for a TCP window burst. */
#define RXQ_MAX 512

struct rxq_entry {
	struct rxq_entry *next;
	struct net_pkt_meta meta;
	size_t len, cap;
	uint8_t *data;
};

struct slirp_timer {
	struct slirp_netdev *sn;
	struct event_timer *t;
	SlirpTimerCb cb;
	void *cb_opaque;
};

struct fd_state {
	struct slirp_netdev *sn;
	int fd;
	uint32_t events;             /* registered in the loop, +1; 0 = not registered */
	uint32_t revents;            /* what epoll reported since the last round */
	unsigned int round;          /* the last round slirp asked for it */
	bool listed;                 /* in reg_fds */
};

struct slirp_netdev {
	struct netdev nd;
	Slirp *slirp;
	struct event_notifier *ready;   /* a socket is ready: run a round */
	struct event_timer *poll_timer;
	uint64_t poll_deadline;      /* armed deadline, 0 if none */

	struct pollfd *pfds;         /* this round's set, as slirp filled it */
	unsigned int npfds, cap_pfds;
	struct fd_state **fds;       /* by fd number; the loop holds the pointers */
	unsigned int fd_cap;
	int *reg_fds;                /* fds that may be registered in the loop */
	unsigned int nreg, cap_reg;
	unsigned int round;

	struct rxq_entry *rxq_head, **rxq_tail;
	struct rxq_entry *rxq_last;  /* the newest, which in-order TCP segments merge into */
	unsigned int rxq_len;
	bool flushing;
	bool guest_full;             /* said -EAGAIN; waits for its rx kick */

	uint8_t *txbuf;              /* flattened guest frame */
};

/* --- frames towards the guest -------------------------------------------- */

/*
 * slirp's frames are queued while it runs and offered to the guest when it
 * returns (rxq_flush at the end of each slirp call), so that a burst of
 * in-order segments of one TCP stream reaches the guest as one GSO packet,
 * as the host's GRO would make it: one rx request, one skb and one ACK in the
 * guest instead of one per MSS.  slirp computed every checksum itself, so
 * the guest need not verify them.
 */
static void rxq_free(struct rxq_entry *e)
{
	free(e->data);
	free(e);
}

static void rxq_push(struct slirp_netdev *sn, const void *buf, size_t len)
{
	struct rxq_entry *e, *last = sn->rxq_last;

	if (last) {
		int rc = net_pkt_coalesce(last->data, &last->len, last->cap, &last->meta, buf, len);
		uint8_t *bigger;

		if (rc == -ENOSPC && last->cap < NET_PKT_MAX_FRAME &&
		    (bigger = realloc(last->data, NET_PKT_MAX_FRAME))) {
			last->data = bigger;
			last->cap = NET_PKT_MAX_FRAME;
			rc = net_pkt_coalesce(last->data, &last->len, last->cap, &last->meta, buf, len);
		}
		if (!rc)
			return;
	}
	e = sn->rxq_len < RXQ_MAX ? calloc(1, sizeof(*e)) : NULL;
	if (e && !(e->data = malloc(len ? len : 1))) {
		free(e);
		e = NULL;
	}
	if (!e) {
		sn->nd.st.rx_dropped++;
		return;
	}
	e->meta.flags = NET_PKT_CSUM_VALID;
	e->len = e->cap = len;
	memcpy(e->data, buf, len);
	*sn->rxq_tail = e;
	sn->rxq_tail = &e->next;
	sn->rxq_last = e;
	sn->rxq_len++;
}

/* Offers queued frames in order until the guest is full again. */
static void rxq_flush(struct slirp_netdev *sn)
{
	struct rxq_entry *e;

	/* A full guest kicks us when it has room: no point asking before. */
	if (sn->flushing || sn->guest_full)
		return;
	sn->flushing = true;
	while ((e = sn->rxq_head)) {
		struct iovec iov = { .iov_base = e->data, .iov_len = e->len };

		if (netdev_deliver(&sn->nd, &iov, 1, &e->meta) == -EAGAIN) {
			sn->guest_full = true;
			break;
		}
		sn->rxq_head = e->next;
		if (!sn->rxq_head) {
			sn->rxq_tail = &sn->rxq_head;
			sn->rxq_last = NULL;
		}
		sn->rxq_len--;
		rxq_free(e);
	}
	sn->flushing = false;
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	rxq_push(opaque, buf, len);
	return (ssize_t)len;
}

/* --- slirp's callbacks: clock, timers, errors ----------------------------- */

static void cb_guest_error(const char *msg, void *opaque)
{
	struct slirp_netdev *sn = opaque;

	pr_warn_rl("net %s: guest error: %s", sn->nd.name, msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return (int64_t)clock_mono_ns();
}

static void slirp_timer_fired(void *opaque, uint32_t events)
{
	struct slirp_timer *st = opaque;

	(void)events;
	st->cb(st->cb_opaque);
	rxq_flush(st->sn);
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct slirp_netdev *sn = opaque;
	struct slirp_timer *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->sn = sn;
	st->cb = cb;
	st->cb_opaque = cb_opaque;
	if (event_timer_new(sn->nd.loop, slirp_timer_fired, st, &st->t)) {
		free(st);
		return NULL;
	}
	return st;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct slirp_timer *st = timer;

	(void)opaque;
	if (!st)
		return;
	event_timer_free(st->t);
	free(st);
}

/* expire_time is in ms of cb_clock_get_ns's clock, i.e. CLOCK_MONOTONIC. */
static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
	struct slirp_timer *st = timer;

	(void)opaque;
	if (st)
		event_timer_arm(st->t, expire_time > 0 ? (uint64_t)expire_time * 1000000ull : 1);
}

static void cb_register_poll_fd(int fd, void *opaque) { (void)fd; (void)opaque; }

/* slirp is about to close fd (libslirp says so before each close): forget
 * it now, or a new socket that gets the same number and asks for the same
 * events would look already watched, and a later removal could hit
 * whatever else of the daemon's then holds the number. */
static void cb_unregister_poll_fd(int fd, void *opaque)
{
	struct slirp_netdev *sn = opaque;

	if (fd < 0 || (unsigned int)fd >= sn->fd_cap || !sn->fds[fd] || !sn->fds[fd]->events)
		return;
	event_loop_remove(sn->nd.loop, fd);
	sn->fds[fd]->events = 0;
}
static void cb_notify(void *opaque) { (void)opaque; }

/* --- the poll set --------------------------------------------------------- */

static uint32_t to_epoll(int ev)
{
	uint32_t e = 0;

	if (ev & SLIRP_POLL_IN)
		e |= EPOLLIN;
	if (ev & SLIRP_POLL_OUT)
		e |= EPOLLOUT;
	if (ev & SLIRP_POLL_PRI)
		e |= EPOLLPRI;
	return e;
}

static short to_poll(int ev)
{
	short e = 0;

	if (ev & SLIRP_POLL_IN)
		e |= POLLIN;
	if (ev & SLIRP_POLL_OUT)
		e |= POLLOUT;
	if (ev & SLIRP_POLL_PRI)
		e |= POLLPRI;
	return e;
}

static bool grow(void **p, unsigned int *cap, unsigned int need, size_t elem)
{
	unsigned int n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	q = realloc(*p, (size_t)n * elem);
	if (!q)
		return false;
	memset((char *)q + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
	*p = q;
	*cap = n;
	return true;
}

/* epoll's word on one of slirp's sockets: kept for the round, which runs
 * once at the end of the loop's round however many sockets were ready. */
static void on_socket(void *opaque, uint32_t events)
{
	struct fd_state *f = opaque;

	f->revents |= events;
	event_notifier_signal(f->sn->ready);
}

/* The fd's record, made on first sight. */
static struct fd_state *fd_state_of(struct slirp_netdev *sn, int fd)
{
	if (!grow((void **)&sn->fds, &sn->fd_cap, (unsigned int)fd + 1, sizeof(*sn->fds)))
		return NULL;
	if (!sn->fds[fd] && (sn->fds[fd] = calloc(1, sizeof(**sn->fds)))) {
		sn->fds[fd]->sn = sn;
		sn->fds[fd]->fd = fd;
	}
	return sn->fds[fd];
}

static void watch_set(struct slirp_netdev *sn, struct fd_state *f, uint32_t want)
{
	uint32_t have = f->events;
	int rc;

	if (have == want + 1)
		return;
	if (have) {
		if (event_loop_modify(sn->nd.loop, f->fd, want) == 0) {
			f->events = want + 1;
			return;
		}
		/* Closed and reused since: epoll forgot the old one; the loop's
		 * record of it goes now. */
		event_loop_remove(sn->nd.loop, f->fd);
	}
	if (!f->listed) {
		if (!grow((void **)&sn->reg_fds, &sn->cap_reg, sn->nreg + 1, sizeof(int)))
			return;
		sn->reg_fds[sn->nreg++] = f->fd;
		f->listed = true;
	}
	f->revents = 0;
	rc = event_loop_add(sn->nd.loop, f->fd, want, on_socket, f);
	if (rc == -EEXIST) {
		/* Registered by the loop under this number already: a socket
		 * closed behind our back and reused. */
		event_loop_remove(sn->nd.loop, f->fd);
		rc = event_loop_add(sn->nd.loop, f->fd, want, on_socket, f);
	}
	if (rc == 0) {
		f->events = want + 1;
	} else {
		f->events = 0;
		pr_warn_rl("net %s: cannot watch fd %d: %s", sn->nd.name, f->fd, strerror(-rc));
	}
}

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct slirp_netdev *sn = opaque;
	unsigned int i = sn->npfds;
	struct fd_state *f;

	if (!grow((void **)&sn->pfds, &sn->cap_pfds, i + 1, sizeof(*sn->pfds)))
		return -1;
	sn->pfds[i] = (struct pollfd){ .fd = fd, .events = to_poll(events) };
	sn->npfds++;
	if (fd >= 0 && (f = fd_state_of(sn, fd))) {
		uint32_t want = to_epoll(events);

		if (f->round == sn->round && f->events)   /* asked twice */
			want |= f->events - 1;
		f->round = sn->round;
		watch_set(sn, f, want);
	}
	return (int)i;
}

static int cb_get_revents(int idx, void *opaque)
{
	struct slirp_netdev *sn = opaque;
	short r;
	int ev = 0;

	if (idx < 0 || (unsigned int)idx >= sn->npfds)
		return 0;
	r = sn->pfds[idx].revents;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & (POLLERR | POLLNVAL))
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/* Asks slirp for the fds and timeout it wants now and applies them. */
static void refill(struct slirp_netdev *sn)
{
	uint32_t timeout = UINT32_MAX;
	unsigned int i, kept = 0;

	sn->round++;
	sn->npfds = 0;
	slirp_pollfds_fill(sn->slirp, &timeout, cb_add_poll, sn);
	/* Stop watching what slirp no longer asked for. */
	for (i = 0; i < sn->nreg; i++) {
		struct fd_state *f = sn->fds[sn->reg_fds[i]];

		if (f->round == sn->round) {
			sn->reg_fds[kept++] = f->fd;
			continue;
		}
		if (f->events)
			event_loop_remove(sn->nd.loop, f->fd);
		f->events = 0;
		f->revents = 0;
		f->listed = false;
	}
	sn->nreg = kept;
	if (timeout != UINT32_MAX) {
		uint64_t deadline = clock_mono_ns() + (uint64_t)timeout * 1000000ull;

		/* An earlier wakeup than needed only costs an idle round. */
		if (!sn->poll_deadline || deadline < sn->poll_deadline) {
			if (event_timer_arm(sn->poll_timer, deadline) == 0)
				sn->poll_deadline = deadline;
		}
	}
}

static short epoll_to_poll(uint32_t ev)
{
	short r = 0;

	if (ev & EPOLLIN)
		r |= POLLIN;
	if (ev & EPOLLOUT)
		r |= POLLOUT;
	if (ev & EPOLLPRI)
		r |= POLLPRI;
	if (ev & EPOLLERR)
		r |= POLLERR;
	if (ev & EPOLLHUP)
		r |= POLLHUP;
	return r;
}

/* One round: hand slirp what epoll said of last round's fds, let it act,
 * refill.  epoll is level-triggered: a socket slirp left ready is
 * reported again next time. */
static void poll_round(struct slirp_netdev *sn)
{
	for (unsigned int i = 0; i < sn->npfds; i++) {
		struct pollfd *p = &sn->pfds[i];
		struct fd_state *f = p->fd >= 0 && (unsigned int)p->fd < sn->fd_cap ? sn->fds[p->fd] : NULL;

		p->revents = f ? epoll_to_poll(f->revents) & (p->events | POLLERR | POLLHUP) : 0;
	}
	for (unsigned int i = 0; i < sn->nreg; i++)
		sn->fds[sn->reg_fds[i]]->revents = 0;
	slirp_pollfds_poll(sn->slirp, 0, cb_get_revents, sn);
	rxq_flush(sn);
	refill(sn);
}

static void on_ready(void *opaque, uint32_t events)
{
	(void)events;
	poll_round(opaque);
}

static void on_poll_timer(void *opaque, uint32_t events)
{
	struct slirp_netdev *sn = opaque;

	(void)events;
	sn->poll_deadline = 0;
	poll_round(sn);
}

/* --- the netdev ops ------------------------------------------------------ */

static void slirp_input_emit(void *opaque, const uint8_t *frame, size_t len)
{
	struct slirp_netdev *sn = opaque;

	slirp_input(sn->slirp, frame, (int)len);
}

static int slirp_send(struct netdev *nd, const struct iovec *iov, int iovcnt,
		      const struct net_pkt_meta *meta)
{
	struct slirp_netdev *sn = (struct slirp_netdev *)nd;
	long len = netdev_iov_len(iov, iovcnt, NET_PKT_MAX_FRAME);
	size_t off = 0;
	int rc;

	if (len < 14) {
		nd->st.tx_errors++;
		return -EINVAL;
	}
	for (int i = 0; i < iovcnt; i++) {
		memcpy(sn->txbuf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	if (meta->gso_type != NET_PKT_GSO_NONE) {
		struct net_pkt_meta m = *meta;

		/* libslirp's IPv4 TCP takes a segment larger than its MSS as it
		 * comes: one finished packet for the whole GSO frame (lengths and
		 * checksums fixed up) costs one slirp input, one send() to the
		 * host and one ACK instead of one of each per MSS.  Its IPv6 input
		 * refuses payloads over the MTU, and IP lengths are 16-bit: those
		 * frames are still cut at the MSS. */
		if (meta->gso_type == NET_PKT_GSO_TCPV4 && (size_t)len <= UINT16_MAX)
			m.gso_size = UINT16_MAX;
		rc = net_pkt_segment(sn->txbuf, (size_t)len, &m, slirp_input_emit, sn);
	} else {
		struct net_pkt_meta m = *meta;

		rc = net_pkt_finish_csum(sn->txbuf, (size_t)len, &m);
		if (!rc)
			slirp_input(sn->slirp, sn->txbuf, (int)len);
	}
	if (rc) {
		pr_warn_rl("net %s: dropped a guest frame with bad offload metadata", nd->name);
		nd->st.tx_errors++;
		return rc;
	}
	nd->st.tx_packets++;
	nd->st.tx_bytes += (uint64_t)len;
	rxq_flush(sn);
	/* The frame may have opened or woken sockets. */
	refill(sn);
	return 0;
}

static void slirp_rx_kick(struct netdev *nd)
{
	struct slirp_netdev *sn = (struct slirp_netdev *)nd;

	sn->guest_full = false;
	rxq_flush(sn);
}

static void slirp_close(struct netdev *nd)
{
	struct slirp_netdev *sn = (struct slirp_netdev *)nd;
	struct rxq_entry *e;

	/* The loop forgets slirp's sockets before slirp closes them. */
	for (unsigned int i = 0; i < sn->nreg; i++)
		if (sn->fds[sn->reg_fds[i]]->events)
			event_loop_remove(nd->loop, sn->reg_fds[i]);
	sn->nreg = 0;
	if (sn->slirp)
		slirp_cleanup(sn->slirp);
	event_timer_free(sn->poll_timer);
	event_notifier_free(sn->ready);
	while ((e = sn->rxq_head)) {
		sn->rxq_head = e->next;
		rxq_free(e);
	}
	free(sn->pfds);
	for (unsigned int i = 0; i < sn->fd_cap; i++)
		free(sn->fds[i]);
	free(sn->fds);
	free(sn->reg_fds);
	free(sn->txbuf);
	free(sn);
}

static const struct netdev_ops slirp_ops = {
	.send = slirp_send,
	.rx_kick = slirp_rx_kick,
	.close = slirp_close,
};

static const SlirpCb slirp_cbs = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
};

/* ip= picks the guest's address; the network is its /24 with QEMU's .2
 * (host) and .3 (DNS). */
static int addressing(const struct netdev_params *p, SlirpConfig *cfg)
{
	struct in_addr guest = { .s_addr = htonl(0x0a00020f) };   /* 10.0.2.15 */
	uint32_t net;

	if (p->vif->ip && inet_pton(AF_INET, p->vif->ip, &guest) != 1) {
		pr_err("vif %u: ip=%s is not an IPv4 address (user networking hands it out by DHCP)",
		       p->devid, p->vif->ip);
		return -EINVAL;
	}
	net = ntohl(guest.s_addr) & 0xffffff00u;
	if ((ntohl(guest.s_addr) & 0xff) < 4 || (ntohl(guest.s_addr) & 0xff) == 255) {
		pr_err("vif %u: ip=%s collides with the user network's gateway/DNS (.1-.3) or broadcast",
		       p->devid, p->vif->ip);
		return -EINVAL;
	}
	cfg->vnetwork.s_addr = htonl(net);
	cfg->vnetmask.s_addr = htonl(0xffffff00u);
	cfg->vhost.s_addr = htonl(net | 2);
	cfg->vnameserver.s_addr = htonl(net | 3);
	cfg->vdhcp_start = guest;
	return 0;
}

static int add_hostfwds(struct slirp_netdev *sn, const struct netdev_params *p, struct in_addr guest_default)
{
	for (size_t i = 0; i < p->vif->nr_hostfwd; i++) {
		const struct vif_hostfwd *f = &p->vif->hostfwd[i];
		struct in_addr host = { .s_addr = htonl(INADDR_ANY) }, guest = guest_default;

		if ((f->host_addr && *f->host_addr && inet_pton(AF_INET, f->host_addr, &host) != 1) ||
		    (f->guest_addr && *f->guest_addr && inet_pton(AF_INET, f->guest_addr, &guest) != 1)) {
			pr_err("vif %u: hostfwd %s:%u-%s:%u: addresses must be IPv4 literals", p->devid,
			       f->host_addr ? f->host_addr : "", f->host_port,
			       f->guest_addr ? f->guest_addr : "", f->guest_port);
			return -EINVAL;
		}
		if (slirp_add_hostfwd(sn->slirp, f->udp, host, f->host_port, guest, f->guest_port) < 0) {
			pr_err("vif %u: hostfwd %s:%s:%u cannot listen (port in use or privileged?)",
			       p->devid, f->udp ? "udp" : "tcp", f->host_addr ? f->host_addr : "",
			       f->host_port);
			return -EADDRINUSE;
		}
	}
	return 0;
}

int netdev_slirp_open(const struct netdev_params *p, struct netdev **nd_r)
{
	struct slirp_netdev *sn = calloc(1, sizeof(*sn));
	SlirpConfig cfg = {
		.version = 4,
		.in_enabled = true,
		.in6_enabled = true,
		.vprefix_len = 64,
		/* No vhostname: a DHCP host name would rename the guest. */
	};
	int rc;

	if (!sn)
		return -ENOMEM;
	netdev_init_common(&sn->nd, &slirp_ops, p, "user");
	sn->rxq_tail = &sn->rxq_head;
	rc = addressing(p, &cfg);
	if (rc)
		goto fail;
	/* QEMU's IPv6 defaults: fec0::/64, host ::2, DNS ::3. */
	inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
	inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
	inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);

	rc = -ENOMEM;
	sn->txbuf = malloc(NET_PKT_MAX_FRAME);
	if (!sn->txbuf)
		goto fail;
	rc = event_notifier_new(p->loop, on_ready, sn, &sn->ready);
	if (rc)
		goto fail;
	rc = event_timer_new(p->loop, on_poll_timer, sn, &sn->poll_timer);
	if (rc)
		goto fail;
	sn->slirp = slirp_new(&cfg, &slirp_cbs, sn);
	if (!sn->slirp) {
		pr_err("vif %u: libslirp could not start", p->devid);
		rc = -ENOMEM;
		goto fail;
	}
	rc = add_hostfwds(sn, p, cfg.vdhcp_start);
	if (rc)
		goto fail;
	refill(sn);
	pr_info("vif %u: user networking, guest %s, host %u.%u.%u.2, %zu port forward(s)",
		p->devid, inet_ntoa(cfg.vdhcp_start), (ntohl(cfg.vnetwork.s_addr) >> 24) & 255,
		(ntohl(cfg.vnetwork.s_addr) >> 16) & 255, (ntohl(cfg.vnetwork.s_addr) >> 8) & 255,
		p->vif->nr_hostfwd);
	*nd_r = &sn->nd;
	return 0;
fail:
	slirp_close(&sn->nd);
	return rc;
}
