/*
 * netload: a tiny TCP load generator (busybox has no iperf).  Built static
 * on the host; the same binary serves on the host and drives the load in
 * the guest, which always connects out (so no guest port forwarding and no
 * "is the guest ready" handshake are needed).
 *
 *   netload serve PORT              host: accept connections one at a time;
 *                                   the first byte picks what the client wants
 *   netload tx HOST PORT SECONDS    guest -> host bulk; prints "tx MB_PER_S BYTES"
 *   netload rx HOST PORT SECONDS    host -> guest bulk; prints "rx MB_PER_S BYTES"
 *   netload rr HOST PORT SECONDS    1-byte request/response; prints "rr TRANS_PER_S N"
 *
 * tx counts until the server has read everything (shutdown, then EOF back),
 * so socket buffers do not inflate it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (128 * 1024)
static char buf[CHUNK];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "netload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void nodelay(int s)
{
	int one = 1;

	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int connect_to(const char *host, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		die("socket/address");
	for (int tries = 0; connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0; tries++) {
		if (tries == 50)
			die("connect");
		usleep(100000);
	}
	return s;
}

static int write_all(int s, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(s, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void serve_one(int c)
{
	char cmd;
	ssize_t n;

	if (read(c, &cmd, 1) != 1)
		return;
	switch (cmd) {
	case 'S':   /* client sends: read to EOF, then close so it sees we are done */
		while ((n = read(c, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
			;
		break;
	case 'R':   /* client receives: send until it goes away */
		while (write_all(c, buf, sizeof(buf)) == 0)
			;
		break;
	case 'E':   /* echo */
		nodelay(c);
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write_all(c, buf, (size_t)n))
				break;
		break;
	}
}

static _Noreturn void serve(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);

	signal(SIGPIPE, SIG_IGN);
	if (l < 0)
		die("socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4) < 0)
		die("bind/listen");
	printf("netload: serving on 127.0.0.1:%s\n", port);
	fflush(stdout);
	for (;;) {
		int c = accept(l, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		serve_one(c);
		close(c);
	}
}

static int tx(int s, double secs)
{
	double t0 = now(), t;
	unsigned long long bytes = 0;

	if (write_all(s, "S", 1))
		die("write");
	do {
		if (write_all(s, buf, sizeof(buf)))
			die("write");
		bytes += sizeof(buf);
	} while (now() - t0 < secs);
	shutdown(s, SHUT_WR);
	while (read(s, buf, sizeof(buf)) > 0)
		;
	t = now() - t0;
	printf("tx %.1f %llu\n", (double)bytes / t / 1e6, bytes);
	return 0;
}

static int rx(int s, double secs)
{
	unsigned long long bytes = 0;
	double t0;
	ssize_t n;

	if (write_all(s, "R", 1))
		die("write");
	n = read(s, buf, sizeof(buf));   /* timing starts with the first data */
	t0 = now();
	while (n > 0 && now() - t0 < secs) {
		bytes += (unsigned long long)n;
		n = read(s, buf, sizeof(buf));
	}
	printf("rx %.1f %llu\n", (double)bytes / (now() - t0) / 1e6, bytes);
	return 0;
}

static int rr(int s, double secs)
{
	unsigned long n = 0;
	double t0, t;
	char c = 'x';

	nodelay(s);
	if (write_all(s, "E", 1))
		die("write");
	t0 = now();
	do {
		if (write(s, &c, 1) != 1 || read(s, &c, 1) != 1)
			die("rr");
		n++;
	} while ((n & 63) || now() - t0 < secs);
	t = now() - t0;
	printf("rr %.0f %lu\n", (double)n / t, n);
	return 0;
}

int main(int argc, char **argv)
{
	int s;

	memset(buf, 'n', sizeof(buf));
	if (argc == 3 && !strcmp(argv[1], "serve"))
		serve(argv[2]);
	if (argc != 5) {
		fprintf(stderr, "usage: netload serve PORT | {tx|rx|rr} HOST PORT SECONDS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	s = connect_to(argv[2], argv[3]);
	if (!strcmp(argv[1], "tx"))
		return tx(s, atof(argv[4]));
	if (!strcmp(argv[1], "rx"))
		return rx(s, atof(argv[4]));
	if (!strcmp(argv[1], "rr"))
		return rr(s, atof(argv[4]));
	fprintf(stderr, "netload: unknown mode %s\n", argv[1]);
	return 2;
}
