/*
 * XenStore benchmark: N concurrent unix-socket clients (default 100) doing
 * a read/write/transaction mix, each watching its own subtree; reports
 * ops/s, p50/p99 latency and whether every watch event arrived, then the
 * same mix straight on the engine in-process, and the ratio.
 *
 *   xs_bench [CLIENTS] [SECONDS]
 *
 * The server runs in a thread of this process (one thread owns the store,
 * as in the daemon); clients speak the raw wire protocol.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "xenkvm/log.h"
#include "xenkvm/xenstore.h"
#include "xenkvm/xs_socket.h"

#define MAX_SAMPLES 200000

struct client {
	pthread_t th;
	unsigned int id;
	int fd;
	uint32_t next_req;
	unsigned long ops, writes, events, aborts;
	double *lat_us;
	unsigned long nlat;
	int failed;
};

static char sock_path[108];
static volatile int server_stop, clients_go;
static double run_seconds = 2.0;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *server_main(void *arg)
{
	struct xs_socket_server *srv = arg;

	while (!server_stop)
		xs_socket_server_poll(srv, 50);
	return NULL;
}

static int io_full(int fd, void *buf, size_t len, int wr)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = wr ? write(fd, (char *)buf + done, len - done) : read(fd, (char *)buf + done, len - done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Sends a request and returns its reply (type in *type_r), counting the
 * watch events that arrive meanwhile. */
static int call(struct client *c, uint32_t type, uint32_t tx, const void *pl, size_t len,
		char *out, uint32_t *type_r)
{
	struct xsd_sockmsg h = { type, ++c->next_req, tx, (uint32_t)len };
	char buf[XENSTORE_PAYLOAD_MAX + 1];

	if (io_full(c->fd, &h, sizeof(h), 1) || io_full(c->fd, (void *)pl, len, 1))
		return -1;
	for (;;) {
		struct xsd_sockmsg r;

		if (io_full(c->fd, &r, sizeof(r), 0) || r.len > XENSTORE_PAYLOAD_MAX ||
		    io_full(c->fd, buf, r.len, 0))
			return -1;
		buf[r.len] = 0;
		if (r.type == XS_WATCH_EVENT) {
			c->events++;
			continue;
		}
		if (r.req_id != h.req_id)
			return -1;
		if (out)
			memcpy(out, buf, r.len + 1);
		*type_r = r.type;
		return 0;
	}
}

static size_t fmt2(char *buf, const char *a, const char *b, size_t blen)
{
	size_t n = strlen(a) + 1;

	memcpy(buf, a, n);
	memcpy(buf + n, b, blen);
	return n + blen;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[64], pl[256], out[XENSTORE_PAYLOAD_MAX + 1], base[32];
	unsigned int rnd = c->id * 2654435761u + 1;
	uint32_t type, tx;
	double t0, end;
	size_t n;

	strcpy(sa.sun_path, sock_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		c->failed = 1;
		return NULL;
	}
	snprintf(base, sizeof(base), "/bench/c%u", c->id);
	n = fmt2(pl, base, "w", 2);
	if (call(c, XS_WATCH, 0, pl, n, NULL, &type) || type != XS_WATCH) {
		c->failed = 1;
		return NULL;
	}
	while (!clients_go)
		usleep(1000);
	end = now_s() + run_seconds;
	while (now_s() < end) {
		unsigned int op, key;

		rnd = rnd * 1103515245u + 12345u;
		op = (rnd >> 16) % 10;
		key = (rnd >> 8) % 16;
		snprintf(path, sizeof(path), "%s/k%u", base, key);
		t0 = now_s();
		if (op < 6) {                         /* read */
			if (call(c, XS_READ, 0, path, strlen(path) + 1, out, &type))
				goto fail;
		} else if (op < 9) {                  /* write */
			n = fmt2(pl, path, "value", 5);
			if (call(c, XS_WRITE, 0, pl, n, NULL, &type) || type != XS_WRITE)
				goto fail;
			c->writes++;
		} else {                              /* transaction: read-modify-write */
			for (;;) {
				if (call(c, XS_TRANSACTION_START, 0, "", 1, out, &type) ||
				    type != XS_TRANSACTION_START)
					goto fail;
				tx = (uint32_t)strtoul(out, NULL, 10);
				if (call(c, XS_READ, tx, path, strlen(path) + 1, out, &type))
					goto fail;
				n = fmt2(pl, path, "txval", 5);
				if (call(c, XS_WRITE, tx, pl, n, NULL, &type) || type != XS_WRITE)
					goto fail;
				if (call(c, XS_TRANSACTION_END, tx, "T", 2, out, &type))
					goto fail;
				if (type == XS_TRANSACTION_END)
					break;
				if (strcmp(out, "EAGAIN"))
					goto fail;
				c->aborts++;
			}
			c->writes++;
		}
		if (c->nlat < MAX_SAMPLES)
			c->lat_us[c->nlat++] = (now_s() - t0) * 1e6;
		c->ops++;
	}
	/* One last round trip: any event for our own writes precedes its ack. */
	if (call(c, XS_GET_DOMAIN_PATH, 0, "0", 2, NULL, &type))
		goto fail;
	close(c->fd);
	return NULL;
fail:
	c->failed = 1;
	close(c->fd);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The same mix on the engine, no sockets. */
static double engine_rate(void)
{
	struct xs_store *s = xs_store_new(NULL);
	struct xs_client *c = xs_client_new(s, 0, true, NULL, NULL);
	struct xs_buf b = { 0 };
	unsigned int rnd = 1, op, key;
	unsigned long ops = 0;
	double t0 = now_s(), el;
	char path[64];
	uint32_t tx;

	xs_watch_add(c, "/bench/c0", "w");
	while ((el = now_s() - t0) < run_seconds) {
		rnd = rnd * 1103515245u + 12345u;
		op = (rnd >> 16) % 10;
		key = (rnd >> 8) % 16;
		snprintf(path, sizeof(path), "/bench/c%u/k%u", ops % 100 ? 0 : 1, key);
		b.len = 0;
		if (op < 6) {
			xs_store_read(c, 0, path, &b);
		} else if (op < 9) {
			xs_store_write(c, 0, path, "value", 5);
		} else {
			xs_tx_start(c, &tx);
			xs_store_read(c, tx, path, &b);
			xs_store_write(c, tx, path, "txval", 5);
			xs_tx_end(c, tx, true);
		}
		ops++;
	}
	xs_buf_free(&b);
	xs_client_free(c);
	xs_store_free(s);
	return (double)ops / el;
}

int main(int argc, char **argv)
{
	unsigned int nclients = argc > 1 ? (unsigned int)atoi(argv[1]) : 100, i;
	struct xs_socket_server *srv = NULL;
	unsigned long ops = 0, writes = 0, events = 0, aborts = 0, nlat = 0, failed = 0;
	struct client *cs;
	pthread_t server;
	struct xs_store *s;
	double *all, t0, el, rate, erate;
	int rc;

	if (argc > 2)
		run_seconds = atof(argv[2]);
	if (!nclients || nclients > 1000 || run_seconds <= 0) {
		fprintf(stderr, "usage: xs_bench [CLIENTS] [SECONDS]\n");
		return 2;
	}
	log_set_level(LOG_WARN);
	snprintf(sock_path, sizeof(sock_path), "/tmp/xs-bench-%d.sock", (int)getpid());
	s = xs_store_new(NULL);
	rc = xs_socket_server_new(s, sock_path, nclients + 8, &srv);
	if (rc) {
		fprintf(stderr, "xs_bench: listen: %s\n", strerror(-rc));
		return 1;
	}
	cs = calloc(nclients, sizeof(*cs));
	pthread_create(&server, NULL, server_main, srv);
	for (i = 0; i < nclients; i++) {
		cs[i].id = i;
		cs[i].lat_us = malloc(MAX_SAMPLES * sizeof(double));
		pthread_create(&cs[i].th, NULL, client_main, &cs[i]);
	}
	usleep(300000);
	t0 = now_s();
	clients_go = 1;
	for (i = 0; i < nclients; i++)
		pthread_join(cs[i].th, NULL);
	el = now_s() - t0;
	server_stop = 1;
	pthread_join(server, NULL);

	all = malloc((size_t)nclients * MAX_SAMPLES * sizeof(double));
	for (i = 0; i < nclients; i++) {
		ops += cs[i].ops;
		writes += cs[i].writes;
		events += cs[i].events;
		aborts += cs[i].aborts;
		failed += (unsigned long)cs[i].failed;
		memcpy(all + nlat, cs[i].lat_us, cs[i].nlat * sizeof(double));
		nlat += cs[i].nlat;
		free(cs[i].lat_us);
	}
	qsort(all, nlat, sizeof(double), cmp_double);
	rate = (double)ops / el;
	erate = engine_rate();
	printf("xenstore bench: %u socket clients, %.1f s: %lu ops, %.0f ops/s, "
	       "latency p50 %.0f us p99 %.0f us, %lu tx retries\n",
	       nclients, el, ops, rate, nlat ? all[nlat / 2] : 0.0,
	       nlat ? all[(size_t)((double)nlat * 0.99)] : 0.0, aborts);
	printf("xenstore bench: watch events expected %lu, received %lu, lost %ld; failed clients %lu\n",
	       writes + nclients, events, (long)(writes + nclients) - (long)events, failed);
	printf("xenstore bench: engine in-process %.0f ops/s; socket/engine ratio %.3f\n",
	       erate, rate / erate);
	free(all);
	free(cs);
	xs_socket_server_free(srv);
	xs_store_free(s);
	return failed || events != writes + nclients;
}
