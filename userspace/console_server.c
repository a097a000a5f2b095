/*
 * Relays a domain's serial console between two pipes (the UART's side) and
 * one unix-socket client (xenkvm console).  Everything runs on the event
 * loop; no write may block it, so both directions keep bounded buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xenkvm/console_server.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "xenkvm/unix_listener.h"

#define CLIENT_OUT_MAX 65536   /* output queued for a slow client; more is dropped */
#define CLIENT_IN_MAX  4096    /* input read from the client but not yet in the pipe */

struct console_server {
	struct event_loop *loop;
	struct unix_listener l;
	struct event_timer *resume;     /* re-arms the listener after an accept pause */
	int guest_in_r, guest_in_w;     /* client -> guest */
	int guest_out_r, guest_out_w;   /* guest -> client */
	int client;                      /* -1: nobody attached */
	/* replay ring of the last CONSOLE_REPLAY_MAX output bytes */
	char hist[CONSOLE_REPLAY_MAX];
	size_t hist_start, hist_len;
	/* output for the client the socket did not take yet */
	char out[CLIENT_OUT_MAX];
	size_t out_len;
	/* input for the guest the pipe did not take yet */
	char in[CLIENT_IN_MAX];
	size_t in_off, in_len;
	bool in_w_watched;
	size_t dropped;
};

static void hist_add(struct console_server *srv, const char *p, size_t n)
{
	if (n >= CONSOLE_REPLAY_MAX) {
		p += n - CONSOLE_REPLAY_MAX;
		n = CONSOLE_REPLAY_MAX;
	}
	for (size_t i = 0; i < n; i++) {
		size_t at = (srv->hist_start + srv->hist_len) % CONSOLE_REPLAY_MAX;

		srv->hist[at] = p[i];
		if (srv->hist_len < CONSOLE_REPLAY_MAX)
			srv->hist_len++;
		else
			srv->hist_start = (srv->hist_start + 1) % CONSOLE_REPLAY_MAX;
	}
}

static void client_close(struct console_server *srv)
{
	if (srv->client < 0)
		return;
	event_loop_remove(srv->loop, srv->client);
	close(srv->client);
	srv->client = -1;
	srv->out_len = 0;
	srv->in_off = srv->in_len = 0;
	if (srv->in_w_watched) {
		event_loop_remove(srv->loop, srv->guest_in_w);
		srv->in_w_watched = false;
	}
}

static void client_update(struct console_server *srv)
{
	uint32_t ev = EPOLLRDHUP;

	if (srv->client < 0)
		return;
	if (srv->in_off == srv->in_len)
		ev |= EPOLLIN;          /* stop reading while the guest's pipe is full */
	if (srv->out_len)
		ev |= EPOLLOUT;
	event_loop_modify(srv->loop, srv->client, ev);
}

/* Sends queued output then `p`; what does not fit is queued, then dropped. */
static int client_send(struct console_server *srv, const char *p, size_t n)
{
	ssize_t w;
	size_t room;

	while (srv->out_len) {
		w = send(srv->client, srv->out, srv->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			break;
		}
		memmove(srv->out, srv->out + w, srv->out_len - (size_t)w);
		srv->out_len -= (size_t)w;
	}
	while (n && !srv->out_len) {
		w = send(srv->client, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	room = CLIENT_OUT_MAX - srv->out_len;
	if (n > room) {
		srv->dropped += n - room;
		n = room;
	}
	if (n) {
		memcpy(srv->out + srv->out_len, p, n);
		srv->out_len += n;
	}
	return 0;
}

static void flush_input(struct console_server *srv);

static void guest_in_writable(void *opaque, uint32_t events)
{
	struct console_server *srv = opaque;

	flush_input(srv);
}

/* Moves pending client input into the guest's pipe. */
static void flush_input(struct console_server *srv)
{
	while (srv->in_off < srv->in_len) {
		ssize_t w = write(srv->guest_in_w, srv->in + srv->in_off, srv->in_len - srv->in_off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;   /* EAGAIN: the guest is not reading; EPIPE: no reader any more */
		}
		srv->in_off += (size_t)w;
	}
	if (srv->in_off == srv->in_len) {
		srv->in_off = srv->in_len = 0;
		if (srv->in_w_watched) {
			event_loop_remove(srv->loop, srv->guest_in_w);
			srv->in_w_watched = false;
		}
	} else if (!srv->in_w_watched) {
		if (!event_loop_add(srv->loop, srv->guest_in_w, EPOLLOUT, guest_in_writable, srv))
			srv->in_w_watched = true;
	}
	client_update(srv);
}

static void client_event(void *opaque, uint32_t events)
{
	struct console_server *srv = opaque;
	ssize_t n;

	if (srv->client < 0)
		return;
	if ((events & EPOLLIN) && srv->in_off == srv->in_len) {
		n = recv(srv->client, srv->in, sizeof(srv->in), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_close(srv);
			return;
		}
		if (n > 0) {
			srv->in_off = 0;
			srv->in_len = (size_t)n;
			flush_input(srv);
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		client_close(srv);
		return;
	}
	if ((events & EPOLLOUT) && client_send(srv, NULL, 0)) {
		client_close(srv);
		return;
	}
	client_update(srv);
}

static void guest_output(void *opaque, uint32_t events)
{
	struct console_server *srv = opaque;
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(srv->guest_out_r, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		hist_add(srv, buf, (size_t)n);
		if (srv->client >= 0) {
			if (client_send(srv, buf, (size_t)n))
				client_close(srv);
			else
				client_update(srv);
		}
	}
}

/* What a client typed before a new one took over still reaches the guest:
 * its bytes may still be in the socket when the new connection is handled
 * first (both ready in one loop turn). */
static void client_take_last_input(struct console_server *srv)
{
	while (srv->client >= 0 && srv->in_off == srv->in_len) {
		ssize_t n = recv(srv->client, srv->in, sizeof(srv->in), MSG_DONTWAIT);

		if (n <= 0)
			break;
		srv->in_off = 0;
		srv->in_len = (size_t)n;
		flush_input(srv);
	}
}

static void server_resume(void *opaque, uint32_t events)
{
	struct console_server *srv = opaque;

	event_loop_modify(srv->loop, srv->l.fd, EPOLLIN);
}

static void server_accept(void *opaque, uint32_t events)
{
	struct console_server *srv = opaque;
	size_t first;
	int fd = unix_listener_accept(&srv->l);

	if (fd < 0) {
		/* Out of descriptors: stop watching the (still readable)
		 * listener for a while rather than spin on it. */
		if (unix_listener_resume_ns(&srv->l) &&
		    !event_loop_modify(srv->loop, srv->l.fd, 0))
			event_timer_arm(srv->resume, unix_listener_resume_ns(&srv->l));
		return;
	}
	/* The newest client wins: a console left attached somewhere (a lost
	 * ssh session) must not lock everyone else out. */
	client_take_last_input(srv);
	client_close(srv);
	if (event_loop_add(srv->loop, fd, EPOLLIN | EPOLLRDHUP, client_event, srv)) {
		close(fd);
		return;
	}
	srv->client = fd;
	first = CONSOLE_REPLAY_MAX - srv->hist_start;
	if (first > srv->hist_len)
		first = srv->hist_len;
	if (client_send(srv, srv->hist + srv->hist_start, first) ||
	    client_send(srv, srv->hist, srv->hist_len - first)) {
		client_close(srv);
		return;
	}
	client_update(srv);
}

int console_server_start(struct event_loop *loop, const char *path, struct console_server **srv_r)
{
	struct console_server *srv;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int rc;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->loop = loop;
	srv->l.fd = srv->client = -1;
	srv->guest_in_r = srv->guest_in_w = srv->guest_out_r = srv->guest_out_w = -1;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	srv->guest_in_r = in[0];
	srv->guest_in_w = in[1];
	srv->guest_out_r = out[0];
	srv->guest_out_w = out[1];
	in[0] = in[1] = out[0] = out[1] = -1;
	if (fcntl(srv->guest_in_w, F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(srv->guest_out_r, F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(srv->guest_out_w, F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = event_timer_new(loop, server_resume, srv, &srv->resume);
	if (rc)
		goto fail;
	rc = unix_listener_open(&srv->l, path, 4);
	if (rc)
		goto fail;
	rc = event_loop_add(loop, srv->guest_out_r, EPOLLIN, guest_output, srv);
	if (rc)
		goto fail;
	rc = event_loop_add(loop, srv->l.fd, EPOLLIN, server_accept, srv);
	if (rc) {
		event_loop_remove(loop, srv->guest_out_r);
		goto fail;
	}
	*srv_r = srv;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	unix_listener_close(&srv->l);
	event_timer_free(srv->resume);
	if (srv->guest_in_r >= 0) {
		close(srv->guest_in_r);
		close(srv->guest_in_w);
		close(srv->guest_out_r);
		close(srv->guest_out_w);
	}
	free(srv);
	return rc;
}

void console_server_fds(const struct console_server *srv, int *in_fd_r, int *out_fd_r)
{
	*in_fd_r = srv->guest_in_r;
	*out_fd_r = srv->guest_out_w;
}

void console_server_free(struct console_server *srv)
{
	if (!srv)
		return;
	client_close(srv);
	event_loop_remove(srv->loop, srv->l.fd);
	event_loop_remove(srv->loop, srv->guest_out_r);
	event_timer_free(srv->resume);
	unix_listener_close(&srv->l);
	close(srv->guest_in_r);
	close(srv->guest_in_w);
	close(srv->guest_out_r);
	close(srv->guest_out_w);
	free(srv);
}

int console_server_attached(const struct console_server *srv)
{
	return srv->client >= 0;
}

size_t console_server_dropped(const struct console_server *srv)
{
	return srv->dropped;
}
