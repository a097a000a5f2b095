/*
 * The host packet endpoints without a guest: crafted guest frames go in
 * through netdev_send, what comes back through params.rx is checked.
 * User networking needs no privileges; the tap tests need root and say so
 * when skipped.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xenkvm/domain_config.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/netdev.h"

static const uint8_t guest_mac[6] = { 0x00, 0x16, 0x3e, 0x12, 0x34, 0x56 };

/* --- what came back --------------------------------------------------------- */

#define MAX_FRAMES 1024
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static uint8_t *frames[MAX_FRAMES];
static size_t frame_len[MAX_FRAMES];
static int nframes;
static int refuse;          /* rx answers -EAGAIN while set */

static int rx_cb(void *opaque, const struct iovec *iov, int iovcnt, const struct net_pkt_meta *meta)
{
	size_t len = 0, off = 0;

	(void)opaque;
	(void)meta;
	pthread_mutex_lock(&lock);
	if (refuse) {
		pthread_mutex_unlock(&lock);
		return -EAGAIN;
	}
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (nframes < MAX_FRAMES) {
		frames[nframes] = malloc(len);
		for (int i = 0; i < iovcnt; i++) {
			memcpy(frames[nframes] + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		frame_len[nframes++] = len;
	}
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return 0;
}

static void reset_frames(void)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nframes; i++)
		free(frames[i]);
	nframes = 0;
	refuse = 0;
	pthread_mutex_unlock(&lock);
}

/* Index of the first frame from `from` on that match() accepts, waiting up
 * to `ms`; -1 if none. */
static int wait_frame(int from, int (*match)(const uint8_t *, size_t), int ms)
{
	struct timespec ts;
	int found = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	for (;;) {
		for (int i = from; i < nframes && found < 0; i++)
			if (match(frames[i], frame_len[i]))
				found = i;
		if (found >= 0 || pthread_cond_timedwait(&cond, &lock, &ts) != 0)
			break;
	}
	pthread_mutex_unlock(&lock);
	return found;
}

/* --- frame builders ------------------------------------------------------------ */

static void put16(uint8_t *p, unsigned int v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static unsigned int get16(const uint8_t *p) { return (unsigned int)p[0] << 8 | p[1]; }

static unsigned int csum_add(const uint8_t *p, size_t n, unsigned int acc)
{
	for (size_t i = 0; i < n; i++)
		acc += (i & 1) ? p[i] : (unsigned int)p[i] << 8;
	return acc;
}

static unsigned int csum_fold(unsigned int acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return acc;
}

/* Ethernet + IPv4 (no options) + UDP header for `payload` bytes; returns
 * the frame length.  The UDP checksum is left 0 (none). */
static size_t build_udp4(uint8_t *f, const uint8_t *dmac, uint32_t src, uint32_t dst,
			 unsigned int sport, unsigned int dport, size_t payload)
{
	uint8_t *ip = f + 14, *udp = f + 34;

	memcpy(f, dmac, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (unsigned int)(28 + payload));
	ip[8] = 64;
	ip[9] = 17;
	put16(ip + 12, src >> 16); put16(ip + 14, src & 0xffff);
	put16(ip + 16, dst >> 16); put16(ip + 18, dst & 0xffff);
	put16(ip + 10, ~csum_fold(csum_add(ip, 20, 0)) & 0xffff);
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, (unsigned int)(8 + payload));
	put16(udp + 6, 0);
	return 42 + payload;
}

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static size_t build_dhcp_discover(uint8_t *f)
{
	uint8_t *b = f + 42;
	size_t n = 240;

	memset(b, 0, 300);
	b[0] = 1; b[1] = 1; b[2] = 6;                  /* BOOTREQUEST, Ethernet */
	b[4] = 0xde; b[5] = 0xad; b[6] = 0xbe; b[7] = 0xef;
	memcpy(b + 28, guest_mac, 6);
	b[236] = 99; b[237] = 130; b[238] = 83; b[239] = 99;   /* magic cookie */
	b[n++] = 53; b[n++] = 1; b[n++] = 1;         /* DHCPDISCOVER */
	b[n++] = 255;
	while (n < 300)
		b[n++] = 0;
	return build_udp4(f, bcast, 0, 0xffffffffu, 68, 67, n);
}

static size_t build_arp_request(uint8_t *f, uint32_t target)
{
	uint8_t *a = f + 14;

	memcpy(f, bcast, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, 0x0806);
	put16(a, 1); put16(a + 2, 0x0800); a[4] = 6; a[5] = 4; put16(a + 6, 1);
	memcpy(a + 8, guest_mac, 6);
	put16(a + 14, 0x0a00); put16(a + 16, 0x020f);   /* 10.0.2.15 */
	memset(a + 18, 0, 6);
	put16(a + 24, target >> 16); put16(a + 26, target & 0xffff);
	memset(a + 28, 0, 18);                         /* pad to 60 */
	return 60;
}

static int is_dhcp_offer(const uint8_t *f, size_t len)
{
	const uint8_t *b = f + 42;

	if (len < 42 + 244 || get16(f + 12) != 0x0800 || f[23] != 17 ||
	    get16(f + 34) != 67 || get16(f + 36) != 68 || b[0] != 2)
		return 0;
	if (memcmp(b + 16, "\x0a\x00\x02\x0f", 4))    /* yiaddr 10.0.2.15 */
		return 0;
	for (size_t i = 240; i + 2 < len - 42; ) {
		if (b[i] == 255)
			break;
		if (b[i] == 0) {
			i++;
			continue;
		}
		if (b[i] == 53)
			return b[i + 2] == 2;               /* DHCPOFFER */
		i += 2u + b[i + 1];
	}
	return 0;
}

static int is_arp_reply_host(const uint8_t *f, size_t len)
{
	return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2 &&
	       !memcmp(f + 28, "\x0a\x00\x02\x02", 4) && !memcmp(f, guest_mac, 6) &&
	       !memcmp(f + 32, guest_mac, 6);
}

static int is_any_arp_reply(const uint8_t *f, size_t len)
{
	return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2;
}

static int is_syn_to_guest_80(const uint8_t *f, size_t len)
{
	return len >= 54 && get16(f + 12) == 0x0800 && f[23] == 6 &&
	       !memcmp(f + 30, "\x0a\x00\x02\x0f", 4) && get16(f + 36) == 80 &&
	       (f[47] & 0x12) == 0x02;
}

/* --- fixtures -------------------------------------------------------------------- */

static struct event_loop *loop;
static struct vif_spec vif;

static struct netdev *open_user(void)
{
	struct netdev_params p = {
		.loop = loop, .vif = &vif, .mac = guest_mac, .domid = 7, .devid = 0,
		.rx = rx_cb, .opaque = NULL,
	};
	struct netdev *nd = NULL;

	vif.backend = VIF_BACKEND_USER;
	CU_ASSERT_EQUAL(netdev_open(&p, &nd), 0);
	return nd;
}

static int send_frame(struct netdev *nd, const uint8_t *f, size_t len, const struct net_pkt_meta *m)
{
	/* Split in two iovecs, as a ring's slots would. */
	struct iovec iov[2] = {
		{ .iov_base = (void *)f, .iov_len = len / 3 },
		{ .iov_base = (void *)(f + len / 3), .iov_len = len - len / 3 },
	};

	return netdev_send(nd, iov, 2, m);
}

static void test_dhcp_offer(void)
{
	static uint8_t f[2048];
	struct netdev *nd = open_user();
	struct netdev_stats st;
	size_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(nd);
	CU_ASSERT_STRING_EQUAL(netdev_name(nd), "user");
	reset_frames();
	len = build_dhcp_discover(f);
	CU_ASSERT_EQUAL(send_frame(nd, f, len, NULL), 0);
	CU_ASSERT(wait_frame(0, is_dhcp_offer, 1000) >= 0);
	netdev_get_stats(nd, &st);
	CU_ASSERT_EQUAL(st.tx_packets, 1);
	CU_ASSERT(st.rx_packets >= 1);
	netdev_close(nd);
	reset_frames();
}

static void test_arp_host(void)
{
	static uint8_t f[64];
	struct netdev *nd = open_user();

	CU_ASSERT_PTR_NOT_NULL_FATAL(nd);
	reset_frames();
	CU_ASSERT_EQUAL(send_frame(nd, f, build_arp_request(f, 0x0a000202), NULL), 0);
	CU_ASSERT(wait_frame(0, is_arp_reply_host, 1000) >= 0);
	netdev_close(nd);
	reset_frames();
}

static void test_rx_queue_and_kick(void)
{
	static uint8_t f[64];
	struct netdev *nd = open_user();
	struct netdev_stats st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(nd);
	reset_frames();
	refuse = 1;
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(send_frame(nd, f, build_arp_request(f, 0x0a000202), NULL), 0);
	CU_ASSERT_EQUAL(nframes, 0);
	netdev_get_stats(nd, &st);
	CU_ASSERT_EQUAL(st.rx_deferred, 1);   /* later frames queue behind the first */
	CU_ASSERT_EQUAL(st.rx_packets, 0);
	netdev_rx_kick(nd);                   /* still full: nothing moves */
	CU_ASSERT_EQUAL(nframes, 0);
	refuse = 0;
	netdev_rx_kick(nd);
	CU_ASSERT_EQUAL(nframes, 3);
	CU_ASSERT(wait_frame(0, is_any_arp_reply, 0) == 0);
	netdev_get_stats(nd, &st);
	CU_ASSERT_EQUAL(st.rx_packets, 3);
	CU_ASSERT_EQUAL(st.rx_dropped, 0);

	/* A guest that never makes room: bounded queue, then counted drops. */
	reset_frames();
	refuse = 1;
	for (int i = 0; i < 600; i++)
		send_frame(nd, f, build_arp_request(f, 0x0a000202), NULL);
	netdev_get_stats(nd, &st);
	CU_ASSERT(st.rx_dropped > 0);
	CU_ASSERT(st.rx_dropped < 600);
	refuse = 0;
	netdev_rx_kick(nd);
	CU_ASSERT_EQUAL((uint64_t)nframes, 600 - st.rx_dropped);
	netdev_close(nd);          /* with nothing queued; the next test closes with a queue */
	nd = open_user();
	refuse = 1;
	send_frame(nd, f, build_arp_request(f, 0x0a000202), NULL);
	netdev_close(nd);
	reset_frames();
}

/* A partial UDP checksum (pseudo-header only, as Linux leaves it) must be
 * finished before slirp, which drops bad checksums, forwards the datagram
 * to the host (10.0.2.2 is the host's loopback). */
static void test_udp_partial_csum_to_host(void)
{
	static uint8_t f[2048];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct net_pkt_meta m = { .flags = NET_PKT_CSUM_PARTIAL, .csum_start = 34, .csum_offset = 6 };
	struct pollfd pfd;
	struct netdev *nd;
	char got[64];
	unsigned int acc;
	size_t len;
	int s;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	CU_ASSERT_FATAL(s >= 0);
	CU_ASSERT_FATAL(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(getsockname(s, (struct sockaddr *)&sa, &sl) == 0);
	nd = open_user();
	CU_ASSERT_PTR_NOT_NULL_FATAL(nd);
	reset_frames();
	/* slirp must know the guest's MAC before it answers; harmless otherwise. */
	len = build_dhcp_discover(f);
	send_frame(nd, f, len, NULL);

	len = build_udp4(f, guest_mac, 0x0a00020f, 0x0a000202, 40000, ntohs(sa.sin_port), 17);
	memcpy(f + 42, "partial checksum!", 17);
	acc = csum_add(f + 26, 8, 17 + (unsigned int)(len - 34));
	put16(f + 40, csum_fold(acc));
	CU_ASSERT_EQUAL(send_frame(nd, f, len, &m), 0);
	pfd = (struct pollfd){ .fd = s, .events = POLLIN };
	CU_ASSERT_EQUAL(poll(&pfd, 1, 2000), 1);
	CU_ASSERT_EQUAL(recv(s, got, sizeof(got), MSG_DONTWAIT), 17);
	CU_ASSERT(memcmp(got, "partial checksum!", 17) == 0);

	/* Bad metadata is refused and counted, not forwarded. */
	{
		struct net_pkt_meta bad = { .flags = NET_PKT_CSUM_PARTIAL, .csum_start = 2000 };
		struct net_pkt_meta gso = { .flags = NET_PKT_CSUM_PARTIAL, .gso_type = NET_PKT_GSO_TCPV4,
					    .gso_size = 100 };
		struct netdev_stats st;

		CU_ASSERT_EQUAL(send_frame(nd, f, len, &bad), -EINVAL);
		CU_ASSERT_EQUAL(send_frame(nd, f, len, &gso), -EINVAL);   /* UDP is not TCP GSO */
		CU_ASSERT_EQUAL(send_frame(nd, f, 10, NULL), -EINVAL);
		CU_ASSERT_EQUAL(netdev_send(nd, NULL, -1, NULL), -EINVAL);
		netdev_get_stats(nd, &st);
		CU_ASSERT_EQUAL(st.tx_errors, 4);
		CU_ASSERT_EQUAL(recv(s, got, sizeof(got), MSG_DONTWAIT), -1);
	}
	netdev_close(nd);
	close(s);
	reset_frames();
}

/* The loop side: a connection to a forwarded host port wakes slirp through
 * the loop, and slirp opens a TCP connection to the guest. */
static void test_hostfwd_through_loop(void)
{
	static uint8_t f[2048];
	struct vif_hostfwd fwd = { .udp = false, .host_addr = (char *)"127.0.0.1", .guest_port = 80 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct netdev *nd;
	int s, c;

	/* Find a free port. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(getsockname(s, (struct sockaddr *)&sa, &sl) == 0);
	close(s);
	fwd.host_port = ntohs(sa.sin_port);
	vif.hostfwd = &fwd;
	vif.nr_hostfwd = 1;
	nd = open_user();
	vif.hostfwd = NULL;
	vif.nr_hostfwd = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(nd);
	reset_frames();
	send_frame(nd, f, build_dhcp_discover(f), NULL);   /* slirp learns our MAC */

	CU_ASSERT_EQUAL_FATAL(event_loop_start(loop, "test-netdev"), 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CU_ASSERT(connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS);
	CU_ASSERT(wait_frame(0, is_syn_to_guest_80, 3000) >= 0);
	event_loop_stop(loop);
	close(c);
	netdev_close(nd);
	reset_frames();
}

/* A guest TCP connection to a host listener: SYN through slirp's connect
 * (which needs the loop), then one 10000-byte TSO frame with a partial
 * checksum arrives intact, handed to slirp as one segment: slirp ACKs each
 * segment it takes, and its first ACK covers all of it. */
static uint32_t syn_ack_seq, data_acked;

static int is_data_ack(const uint8_t *f, size_t len)
{
	uint32_t ack;

	if (len < 54 || get16(f + 12) != 0x0800 || f[23] != 6 || get16(f + 36) != 40001 || !(f[47] & 0x10))
		return 0;
	ack = (uint32_t)f[42] << 24 | (uint32_t)f[43] << 16 | (uint32_t)f[44] << 8 | f[45];
	if (ack <= 1001)
		return 0;
	data_acked = ack;
	return 1;
}

static int is_syn_ack(const uint8_t *f, size_t len)
{
	if (len < 54 || get16(f + 12) != 0x0800 || f[23] != 6 || get16(f + 36) != 40001 ||
	    (f[47] & 0x12) != 0x12)
		return 0;
	syn_ack_seq = (uint32_t)f[38] << 24 | (uint32_t)f[39] << 16 | (uint32_t)f[40] << 8 | f[41];
	return 1;
}

/* Ethernet + IPv4 + 20-byte TCP (+4-byte MSS option on SYN) to 10.0.2.2. */
static size_t build_tcp(uint8_t *f, unsigned int dport, uint32_t seq, uint32_t ack, uint8_t flags,
			size_t payload, int partial)
{
	static const uint8_t host_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
	size_t thl = (flags & 0x02) ? 24 : 20, l4len = thl + payload;
	uint8_t *t;
	unsigned int acc;

	build_udp4(f, host_mac, 0x0a00020f, 0x0a000202, 0, 0, 0);   /* Ethernet + IP, made TCP */
	f[23] = 6;
	put16(f + 16, (unsigned int)(20 + l4len));
	put16(f + 24, 0);
	put16(f + 24, ~csum_fold(csum_add(f + 14, 20, 0)) & 0xffff);
	t = f + 34;
	memset(t, 0, thl);
	put16(t, 40001);
	put16(t + 2, dport);
	put16(t + 4, seq >> 16); put16(t + 6, seq & 0xffff);
	put16(t + 8, ack >> 16); put16(t + 10, ack & 0xffff);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = flags;
	put16(t + 14, 65535);
	if (thl == 24) {
		t[20] = 2; t[21] = 4; put16(t + 22, 1460);
	}
	for (size_t i = 0; i < payload; i++)
		t[thl + i] = (uint8_t)(i * 13 + 5);
	acc = csum_add(f + 26, 8, 6 + (unsigned int)l4len);
	if (partial) {
		put16(t + 16, csum_fold(acc));
	} else {
		acc = csum_add(t, l4len, acc);
		put16(t + 16, ~csum_fold(acc) & 0xffff);
	}
	return 34 + l4len;
}

static void test_tso_to_host_socket(void)
{
	static uint8_t f[16384], got[10000];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct net_pkt_meta gso = {
		.flags = NET_PKT_CSUM_PARTIAL, .gso_type = NET_PKT_GSO_TCPV4, .gso_size = 1460,
		.hdr_len = 54, .csum_start = 34, .csum_offset = 16,
	};
	struct netdev *nd;
	struct pollfd pfd;
	size_t have = 0, len;
	int l, c = -1, ok = 1, first;
	unsigned int port;

	l = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 1) == 0);
	CU_ASSERT_FATAL(getsockname(l, (struct sockaddr *)&sa, &sl) == 0);
	port = ntohs(sa.sin_port);
	nd = open_user();
	CU_ASSERT_PTR_NOT_NULL_FATAL(nd);
	reset_frames();
	send_frame(nd, f, build_dhcp_discover(f), NULL);

	CU_ASSERT_EQUAL(send_frame(nd, f, build_tcp(f, port, 1000, 0, 0x02, 0, 0), NULL), 0);
	CU_ASSERT_EQUAL_FATAL(event_loop_start(loop, "test-tso"), 0);
	if (wait_frame(0, is_syn_ack, 3000) < 0)
		ok = 0;
	event_loop_stop(loop);
	CU_ASSERT_FATAL(ok);

	/* The loop is stopped: slirp is ours again on this thread. */
	CU_ASSERT_EQUAL(send_frame(nd, f, build_tcp(f, port, 1001, syn_ack_seq + 1, 0x10, 0, 0), NULL), 0);
	len = build_tcp(f, port, 1001, syn_ack_seq + 1, 0x18, sizeof(got), 1);
	first = nframes;
	CU_ASSERT_EQUAL(send_frame(nd, f, len, &gso), 0);
	CU_ASSERT_EQUAL_FATAL(event_loop_start(loop, "test-tso"), 0);
	CU_ASSERT(wait_frame(first, is_data_ack, 3000) >= 0);
	event_loop_stop(loop);
	CU_ASSERT_EQUAL(data_acked, 1001 + sizeof(got));

	pfd = (struct pollfd){ .fd = l, .events = POLLIN };
	CU_ASSERT_FATAL(poll(&pfd, 1, 2000) == 1);
	c = accept(l, NULL, NULL);
	CU_ASSERT_FATAL(c >= 0);
	pfd.fd = c;
	while (have < sizeof(got) && poll(&pfd, 1, 2000) == 1) {
		ssize_t n = recv(c, got + have, sizeof(got) - have, MSG_DONTWAIT);

		if (n <= 0)
			break;
		have += (size_t)n;
	}
	CU_ASSERT_EQUAL(have, sizeof(got));
	for (size_t i = 0; i < have && ok; i++)
		if (got[i] != (uint8_t)(i * 13 + 5))
			ok = 0;
	CU_ASSERT(ok);
	close(c);
	close(l);
	netdev_close(nd);
	reset_frames();
}

static void test_open_errors(void)
{
	struct netdev_params p = {
		.loop = loop, .vif = &vif, .mac = guest_mac, .rx = rx_cb,
	};
	struct vif_hostfwd fwd = { .host_addr = (char *)"not-an-ip", .host_port = 1, .guest_port = 1 };
	struct netdev *nd = NULL;

	vif.backend = VIF_BACKEND_USER;
	vif.ip = (char *)"10.0.2.300";
	CU_ASSERT_EQUAL(netdev_open(&p, &nd), -EINVAL);
	vif.ip = (char *)"10.0.2.2";
	CU_ASSERT_EQUAL(netdev_open(&p, &nd), -EINVAL);
	vif.ip = (char *)"192.168.7.20";
	CU_ASSERT_EQUAL(netdev_open(&p, &nd), 0);
	netdev_close(nd);
	vif.ip = NULL;
	vif.hostfwd = &fwd;
	vif.nr_hostfwd = 1;
	CU_ASSERT_EQUAL(netdev_open(&p, &nd), -EINVAL);
	vif.hostfwd = NULL;
	vif.nr_hostfwd = 0;
	vif.backend = (enum vif_backend)42;
	CU_ASSERT_EQUAL(netdev_open(&p, &nd), -EINVAL);
	vif.backend = VIF_BACKEND_USER;
	p.rx = NULL;
	CU_ASSERT_EQUAL(netdev_open(&p, &nd), -EINVAL);
	netdev_close(NULL);
	netdev_rx_kick(NULL);
}

/* --- tap (root only) ----------------------------------------------------------- */

static int any_frame(const uint8_t *f, size_t len)
{
	(void)f;
	return len > 0;
}

static int is_arp_request_for_99_2(const uint8_t *f, size_t len)
{
	return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 1 &&
	       !memcmp(f + 38, "\x0a\x63\x00\x02", 4);
}

/* The kernel's ARP for a neighbour on the tap reaches params.rx; refused, it
 * is kept (the fd not read) and offered again on kick. */
static void tap_rx_arp(struct netdev *nd)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct netdev_stats st;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	CU_ASSERT_FATAL(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", netdev_name(nd));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(0x0a630001);            /* 10.99.0.1 */
	CU_ASSERT_EQUAL(ioctl(s, SIOCSIFADDR, &ifr), 0);
	a->sin_addr.s_addr = htonl(0xffffff00);
	CU_ASSERT_EQUAL(ioctl(s, SIOCSIFNETMASK, &ifr), 0);

	reset_frames();
	refuse = 1;
	CU_ASSERT_EQUAL_FATAL(event_loop_start(loop, "test-tap"), 0);
	to.sin_addr.s_addr = htonl(0x0a630002);
	sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
	for (int i = 0; i < 200; i++) {
		netdev_get_stats(nd, &st);
		if (st.rx_deferred)
			break;
		usleep(10000);
	}
	event_loop_stop(loop);
	netdev_get_stats(nd, &st);
	CU_ASSERT(st.rx_deferred >= 1);
	CU_ASSERT_EQUAL(nframes, 0);
	refuse = 0;
	netdev_rx_kick(nd);
	/* The kept frame comes on the kick itself, with the loop stopped. It is
	 * whatever the kernel sent first (IPv6 router solicitations race the
	 * ARP), so the ARP itself is awaited with the loop running again. */
	CU_ASSERT(wait_frame(0, any_frame, 0) == 0);
	CU_ASSERT_EQUAL_FATAL(event_loop_start(loop, "test-tap"), 0);
	CU_ASSERT(wait_frame(0, is_arp_request_for_99_2, 3000) >= 0);
	event_loop_stop(loop);
	close(s);
	reset_frames();
}

static void test_tap(void)
{
	struct netdev_params p = {
		.loop = loop, .vif = &vif, .mac = guest_mac, .domid = 4093, .devid = 9, .rx = rx_cb,
	};
	static uint8_t f[64];
	struct netdev_stats st;
	struct netdev *nd = NULL;
	int rc;

	vif.backend = VIF_BACKEND_TAP;
	vif.bridge = (char *)"xk-nosuchbr0";
	CU_ASSERT_EQUAL(netdev_open(&p, &nd), -ENODEV);
	CU_ASSERT_EQUAL(if_nametoindex("xenkvm4093.9"), 0);   /* cleaned up after the failure */
	vif.bridge = NULL;
	rc = netdev_open(&p, &nd);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(netdev_name(nd), "xenkvm4093.9");
	CU_ASSERT(if_nametoindex("xenkvm4093.9") != 0);
	/* Out through the tap: the kernel takes it (nobody answers an ARP here). */
	CU_ASSERT_EQUAL(send_frame(nd, f, build_arp_request(f, 0x0a000202), NULL), 0);
	{
		struct net_pkt_meta bad = { .flags = NET_PKT_CSUM_PARTIAL, .csum_start = 5000, .csum_offset = 6 };

		CU_ASSERT(send_frame(nd, f, 60, &bad) < 0);
	}
	netdev_get_stats(nd, &st);
	CU_ASSERT_EQUAL(st.tx_packets, 1);
	tap_rx_arp(nd);
	netdev_close(nd);
	CU_ASSERT_EQUAL(if_nametoindex("xenkvm4093.9"), 0);

	vif.ifname = (char *)"xk-test-tap0";
	CU_ASSERT_EQUAL_FATAL(netdev_open(&p, &nd), 0);
	CU_ASSERT_STRING_EQUAL(netdev_name(nd), "xk-test-tap0");
	netdev_close(nd);
	vif.ifname = (char *)"this-name-is-too-long-for-linux";
	CU_ASSERT_EQUAL(netdev_open(&p, &nd), -EINVAL);
	vif.ifname = NULL;
	vif.backend = VIF_BACKEND_USER;
}

/* Without CAP_NET_ADMIN: refused with EPERM (and a message saying what to do). */
static void test_tap_unprivileged(void)
{
	struct netdev_params p = {
		.loop = loop, .vif = &vif, .mac = guest_mac, .domid = 4093, .devid = 8, .rx = rx_cb,
	};
	struct netdev *nd = NULL;
	int rc;

	vif.backend = VIF_BACKEND_TAP;
	rc = netdev_open(&p, &nd);
	vif.backend = VIF_BACKEND_USER;
	CU_ASSERT(rc == -EPERM || rc == -EACCES);
	if (!rc)
		netdev_close(nd);
}

int main(void)
{
	CU_pSuite s;
	int failed;

	if (CU_initialize_registry() != CUE_SUCCESS || event_loop_new(&loop))
		return 1;
	s = CU_add_suite("netdev", NULL, NULL);
	CU_add_test(s, "user: DHCPDISCOVER gets an offer of 10.0.2.15", test_dhcp_offer);
	CU_add_test(s, "user: ARP for the host 10.0.2.2", test_arp_host);
	CU_add_test(s, "user: -EAGAIN queues, kick re-offers, bounded", test_rx_queue_and_kick);
	CU_add_test(s, "user: partial checksum finished before slirp", test_udp_partial_csum_to_host);
	CU_add_test(s, "user: hostfwd connection through the event loop", test_hostfwd_through_loop);
	CU_add_test(s, "user: TSO frame cut into segments reaches a host socket", test_tso_to_host_socket);
	CU_add_test(s, "open: bad ip=, hostfwd, backend, params", test_open_errors);
	if (geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0)
		CU_add_test(s, "tap: create, name, bridge error, send, rx/-EAGAIN/kick, close", test_tap);
	else {
		printf("SKIP tap tests: need root and /dev/net/tun (not run, not passed)\n");
		if (geteuid() != 0 && access("/dev/net/tun", F_OK) == 0)
			CU_add_test(s, "tap: refused without privileges", test_tap_unprivileged);
	}
	failed = cunit_run(CU_BRM_VERBOSE);
	event_loop_free(loop);
	return failed;
}
