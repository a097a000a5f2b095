/*
 * lib/net_pkt.c against frames built here and a reference checksum written
 * independently (per byte pair, 32-bit, folded once at the end) so a shared
 * mistake in the word summing cannot hide.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/net_pkt.h"

/* --- reference checksum -------------------------------------------------- */

static uint32_t ref_add(uint32_t acc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		acc += (i % 2 == 0) ? (uint32_t)p[i] * 256u : p[i];
	return acc;
}

static uint16_t ref_fold(uint32_t acc)
{
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* True when the L4 checksum of the segment at l4 (l4_len bytes) verifies. */
static int ref_l4_ok(const uint8_t *f, size_t l3, int ipver, int proto, size_t l4, size_t l4_len)
{
	uint8_t ph[40];
	uint32_t acc;

	memset(ph, 0, sizeof(ph));
	if (ipver == 4) {
		memcpy(ph, f + l3 + 12, 8);
		ph[9] = (uint8_t)proto;
		ph[10] = (uint8_t)(l4_len >> 8);
		ph[11] = (uint8_t)l4_len;
		acc = ref_add(0, ph, 12);
	} else {
		memcpy(ph, f + l3 + 8, 32);
		acc = ref_add(0, ph, 32);
		ph[0] = (uint8_t)(l4_len >> 24); ph[1] = (uint8_t)(l4_len >> 16);
		ph[2] = (uint8_t)(l4_len >> 8);  ph[3] = (uint8_t)l4_len;
		ph[4] = ph[5] = ph[6] = 0; ph[7] = (uint8_t)proto;
		acc = ref_add(acc, ph, 8);
	}
	acc = ref_add(acc, f + l4, l4_len);
	return ref_fold(acc) == 0xffff;
}

static int ref_ipv4_hdr_ok(const uint8_t *ip)
{
	return ref_fold(ref_add(0, ip, (size_t)(ip[0] & 0xf) * 4)) == 0xffff;
}

/* --- frame builders ------------------------------------------------------ */

static const uint8_t mac_hdr[12] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x00, 0x16, 0x3e, 0xaa, 0xbb, 0xcc };

struct frame {
	uint8_t b[NET_PKT_MAX_FRAME];
	size_t len, l3, l4, hdr;
};

static void put16(uint8_t *p, unsigned int v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static unsigned int get16(const uint8_t *p) { return (unsigned int)p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t put_eth(uint8_t *b, int vlan, unsigned int type)
{
	memcpy(b, mac_hdr, 12);
	if (vlan) {
		put16(b + 12, 0x8100);
		put16(b + 14, 42);
		put16(b + 16, type);
		return 18;
	}
	put16(b + 12, type);
	return 14;
}

/* TCP header with timestamp options (32 bytes), flags as given. */
static size_t put_tcp(uint8_t *t, uint8_t flags)
{
	static const uint8_t opts[12] = { 1, 1, 8, 10, 0, 0, 1, 2, 0, 0, 3, 4 };

	memset(t, 0, 32);
	put16(t, 40000);
	put16(t + 2, 5201);
	t[4] = 0xfe; t[5] = 0xdc; t[6] = 0xba; t[7] = 0x98;   /* seq near wrap-around */
	t[8] = 0; t[9] = 0; t[10] = 0x10; t[11] = 0;
	t[12] = 8 << 4;
	t[13] = flags;
	put16(t + 14, 502);
	memcpy(t + 20, opts, 12);
	return 32;
}

static void fill_payload(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 3);
}

/* IPv4 (with a 4-byte NOP/EOL option) + TCP, optionally VLAN-tagged. */
static void build_tcp4(struct frame *f, int vlan, size_t payload, uint8_t flags)
{
	uint8_t *ip;

	memset(f->b, 0, 128);
	f->l3 = put_eth(f->b, vlan, 0x0800);
	ip = f->b + f->l3;
	ip[0] = 0x46;                     /* IHL 6: one option word */
	put16(ip + 4, 0xfffe);            /* id near wrap-around */
	put16(ip + 6, 0x4000);            /* DF */
	ip[8] = 64; ip[9] = 6;
	ip[12] = 10; ip[13] = 0; ip[14] = 2; ip[15] = 15;
	ip[16] = 10; ip[17] = 0; ip[18] = 2; ip[19] = 2;
	ip[20] = 1; ip[21] = 1; ip[22] = 1; ip[23] = 0;
	f->l4 = f->l3 + 24;
	f->hdr = f->l4 + put_tcp(f->b + f->l4, flags);
	fill_payload(f->b + f->hdr, payload);
	f->len = f->hdr + payload;
	put16(ip + 2, (unsigned int)(f->len - f->l3));
	put16(ip + 10, (uint16_t)~ref_fold(ref_add(0, ip, 24)));
}

/* IPv6 + hop-by-hop (8 bytes) + destination options (16 bytes) + TCP/UDP. */
static void build_l6(struct frame *f, int proto, size_t payload, uint8_t flags)
{
	uint8_t *ip, *x;

	memset(f->b, 0, 160);
	f->l3 = put_eth(f->b, 0, 0x86dd);
	ip = f->b + f->l3;
	ip[0] = 0x60;
	ip[6] = 0;                        /* hop-by-hop next */
	ip[7] = 64;
	ip[8] = 0xfd; ip[23] = 0x0f;      /* fd00::f */
	ip[24] = 0xfd; ip[39] = 0x02;     /* fd00::2 */
	x = ip + 40;
	x[0] = 60; x[1] = 0; x[2] = 1; x[3] = 4;           /* PadN */
	x += 8;
	x[0] = (uint8_t)proto; x[1] = 1; x[2] = 1; x[3] = 12;
	f->l4 = f->l3 + 40 + 24;
	if (proto == 6) {
		f->hdr = f->l4 + put_tcp(f->b + f->l4, flags);
	} else {
		put16(f->b + f->l4, 5353);
		put16(f->b + f->l4 + 2, 53);
		f->hdr = f->l4 + 8;
	}
	fill_payload(f->b + f->hdr, payload);
	f->len = f->hdr + payload;
	put16(ip + 4, (unsigned int)(f->len - f->l3 - 40));
	if (proto == 17)
		put16(f->b + f->l4 + 4, (unsigned int)(f->len - f->l4));
}

/* What Linux leaves in a CHECKSUM_PARTIAL frame: the folded pseudo-header
 * sum, not inverted, in the checksum field. */
static void put_pseudo(struct frame *f, int ipver, int proto, size_t csum_off)
{
	uint8_t ph[40];
	size_t l4_len = f->len - f->l4;
	uint32_t acc;

	memset(ph, 0, sizeof(ph));
	if (ipver == 4) {
		acc = ref_add(0, f->b + f->l3 + 12, 8);
	} else {
		acc = ref_add(0, f->b + f->l3 + 8, 32);
	}
	ph[1] = (uint8_t)proto;
	ph[2] = (uint8_t)(l4_len >> 8); ph[3] = (uint8_t)l4_len;
	acc = ref_add(acc, ph, 4);
	put16(f->b + f->l4 + csum_off, ref_fold(acc));
}

/* --- tests --------------------------------------------------------------- */

static void test_ref_known_answer(void)
{
	/* A textbook IPv4 header whose checksum is 0xb861. */
	static const uint8_t ip[20] = { 0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61,
					0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7 };
	CU_ASSERT(ref_ipv4_hdr_ok(ip));
}

static void test_locate(void)
{
	static struct frame f;
	struct net_pkt_meta m;

	build_tcp4(&f, 0, 100, 0x18);
	memset(&m, 0, sizeof(m));
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), 0);
	CU_ASSERT_EQUAL(m.csum_start, 14 + 24);
	CU_ASSERT_EQUAL(m.csum_offset, 16);
	CU_ASSERT_EQUAL(m.hdr_len, 0);
	m.gso_type = NET_PKT_GSO_TCPV4;
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), 0);
	CU_ASSERT_EQUAL(m.hdr_len, 14 + 24 + 32);
	m.gso_type = NET_PKT_GSO_TCPV6;
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);

	build_tcp4(&f, 1, 10, 0x10);
	memset(&m, 0, sizeof(m));
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), 0);
	CU_ASSERT_EQUAL(m.csum_start, 18 + 24);

	build_l6(&f, 17, 33, 0);
	memset(&m, 0, sizeof(m));
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), 0);
	CU_ASSERT_EQUAL(m.csum_start, 14 + 40 + 24);
	CU_ASSERT_EQUAL(m.csum_offset, 6);
	m.gso_type = NET_PKT_GSO_TCPV6;   /* UDP cannot be TCP GSO */
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);

	build_l6(&f, 6, 10, 0x10);
	memset(&m, 0, sizeof(m));
	m.gso_type = NET_PKT_GSO_TCPV6;
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), 0);
	CU_ASSERT_EQUAL(m.csum_start, 14 + 40 + 24);
	CU_ASSERT_EQUAL(m.hdr_len, 14 + 40 + 24 + 32);

	/* Ethernet padding after the IP packet is fine. */
	build_tcp4(&f, 0, 0, 0x10);
	memset(&m, 0, sizeof(m));
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len + 6, &m), 0);
}

static void test_locate_rejects(void)
{
	static struct frame f;
	struct net_pkt_meta m;
	size_t n;

	/* Every truncation of valid frames. */
	build_tcp4(&f, 1, 20, 0x10);
	for (n = 0; n < f.len; n++) {
		memset(&m, 0, sizeof(m));
		CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, n, &m), -EINVAL);
	}
	build_l6(&f, 6, 20, 0x10);
	for (n = 0; n < f.len; n++) {
		memset(&m, 0, sizeof(m));
		CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, n, &m), -EINVAL);
	}
	CU_ASSERT_EQUAL(net_pkt_locate_csum(NULL, 0, &m), -EINVAL);
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, NULL), -EINVAL);

	/* Not TCP/UDP, fragments, bad header lengths, unknown GSO. */
	build_tcp4(&f, 0, 20, 0x10);
	f.b[f.l3 + 9] = 1;
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);
	build_tcp4(&f, 0, 20, 0x10);
	put16(f.b + f.l3 + 6, 0x2000);    /* MF */
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);
	put16(f.b + f.l3 + 6, 0x0010);    /* offset */
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);
	build_tcp4(&f, 0, 20, 0x10);
	f.b[f.l3] = 0x44;
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);
	f.b[f.l3] = 0x4f;                 /* IHL 60 > packet's headers */
	put16(f.b + f.l3 + 2, 40);
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);
	build_tcp4(&f, 0, 20, 0x10);
	f.b[f.l4 + 12] = 4 << 4;          /* doff 4 */
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);
	f.b[f.l4 + 12] = 15 << 4;         /* doff past the end */
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.hdr + 20, &m), -EINVAL);
	build_tcp4(&f, 0, 20, 0x10);
	put16(f.b + f.l3 + 2, (unsigned int)(f.len - f.l3 + 1)); /* tot_len past the frame */
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);
	build_tcp4(&f, 0, 20, 0x10);
	memset(&m, 0, sizeof(m));
	m.gso_type = 9;
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);
	put16(f.b + 12, 0x0806);          /* ARP */
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);

	/* IPv6: an extension header running past the packet, a real fragment, ESP. */
	build_l6(&f, 6, 20, 0x10);
	f.b[f.l3 + 40 + 8 + 1] = 200;
	memset(&m, 0, sizeof(m));
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);
	build_l6(&f, 6, 20, 0x10);
	f.b[f.l3 + 40] = 44;              /* hop-by-hop -> fragment header in place of dest opts */
	f.b[f.l3 + 48 + 1] = 0;
	put16(f.b + f.l3 + 48 + 2, 0x0001);   /* M flag */
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);
	build_l6(&f, 6, 20, 0x10);
	f.b[f.l3 + 48] = 50;
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), -EINVAL);
}

static void test_finish_csum(void)
{
	static struct frame f;
	struct net_pkt_meta m;

	/* TCPv4, odd payload length. */
	build_tcp4(&f, 1, 1001, 0x18);
	put_pseudo(&f, 4, 6, 16);
	memset(&m, 0, sizeof(m));
	m.flags = NET_PKT_CSUM_PARTIAL;
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), 0);
	CU_ASSERT_EQUAL(net_pkt_finish_csum(f.b, f.len, &m), 0);
	CU_ASSERT(ref_l4_ok(f.b, f.l3, 4, 6, f.l4, f.len - f.l4));
	CU_ASSERT_EQUAL(m.flags, NET_PKT_CSUM_VALID);

	/* UDPv6 through extension headers. */
	build_l6(&f, 17, 77, 0);
	put_pseudo(&f, 6, 17, 6);
	memset(&m, 0, sizeof(m));
	m.flags = NET_PKT_CSUM_PARTIAL;
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), 0);
	CU_ASSERT_EQUAL(net_pkt_finish_csum(f.b, f.len, &m), 0);
	CU_ASSERT(ref_l4_ok(f.b, f.l3, 6, 17, f.l4, f.len - f.l4));
	CU_ASSERT_NOT_EQUAL(get16(f.b + f.l4 + 6), 0);

	/* Not partial: untouched. */
	memset(&m, 0, sizeof(m));
	f.b[f.l4 + 6] = 0x12;
	CU_ASSERT_EQUAL(net_pkt_finish_csum(f.b, f.len, &m), 0);
	CU_ASSERT_EQUAL(f.b[f.l4 + 6], 0x12);

	/* Offsets out of range. */
	m.flags = NET_PKT_CSUM_PARTIAL;
	m.csum_start = (uint16_t)f.len;
	m.csum_offset = 0;
	CU_ASSERT_EQUAL(net_pkt_finish_csum(f.b, f.len, &m), -EINVAL);
	m.csum_start = (uint16_t)(f.len - 1);
	CU_ASSERT_EQUAL(net_pkt_finish_csum(f.b, f.len, &m), -EINVAL);
	m.csum_start = 0;
	m.csum_offset = 0xffff;
	CU_ASSERT_EQUAL(net_pkt_finish_csum(f.b, f.len, &m), -EINVAL);
	m.csum_start = (uint16_t)(f.len - 2);
	m.csum_offset = 0;
	CU_ASSERT_EQUAL(net_pkt_finish_csum(f.b, f.len, &m), 0);
	CU_ASSERT_EQUAL(net_pkt_finish_csum(NULL, 10, &m), -EINVAL);
}

/* --- segmentation -------------------------------------------------------- */

struct seg_log {
	int n;
	size_t len[128];
	uint8_t flags[128];   /* TCP flags of each segment */
	uint8_t *data;       /* concatenated payloads */
	size_t data_len;
	const struct frame *orig;
	int ipver;
	int bad;
};

static void on_seg(void *opaque, const uint8_t *s, size_t len)
{
	struct seg_log *lg = opaque;
	const struct frame *o = lg->orig;
	size_t pl = len - o->hdr;

	if (lg->n >= 128 || len < o->hdr) {
		lg->bad++;
		return;
	}
	lg->len[lg->n] = len;
	if (lg->ipver == 4) {
		if (get16(s + o->l3 + 2) != len - o->l3 || !ref_ipv4_hdr_ok(s + o->l3))
			lg->bad++;
		if (get16(s + o->l3 + 4) != ((get16(o->b + o->l3 + 4) + lg->n) & 0xffff))
			lg->bad++;
	} else if (get16(s + o->l3 + 4) != len - o->l3 - 40) {
		lg->bad++;
	}
	if (!ref_l4_ok(s, o->l3, lg->ipver, 6, o->l4, len - o->l4))
		lg->bad++;
	if (get32(s + o->l4 + 4) != get32(o->b + o->l4 + 4) + (uint32_t)lg->data_len)
		lg->bad++;
	/* Options and everything else in the headers are kept. */
	if (memcmp(s + o->l4 + 20, o->b + o->l4 + 20, o->hdr - o->l4 - 20) ||
	    memcmp(s, o->b, o->l3))
		lg->bad++;
	memcpy(lg->data + lg->data_len, s + o->hdr, pl);
	lg->data_len += pl;
	lg->flags[lg->n] = s[o->l4 + 13];
	lg->n++;
}

static void check_segments(struct frame *f, int ipver, size_t payload, unsigned int mss)
{
	static uint8_t data[NET_PKT_MAX_FRAME];
	struct seg_log lg;
	struct net_pkt_meta m;
	int expect = (int)((payload + mss - 1) / mss);

	if (!expect)
		expect = 1;
	memset(&lg, 0, sizeof(lg));
	lg.data = data;
	lg.orig = f;
	lg.ipver = ipver;
	memset(&m, 0, sizeof(m));
	m.flags = NET_PKT_CSUM_PARTIAL;
	m.gso_type = ipver == 4 ? NET_PKT_GSO_TCPV4 : NET_PKT_GSO_TCPV6;
	m.gso_size = (uint16_t)mss;
	CU_ASSERT_EQUAL_FATAL(net_pkt_locate_csum(f->b, f->len, &m), 0);
	CU_ASSERT_EQUAL(m.hdr_len, f->hdr);
	CU_ASSERT_EQUAL(net_pkt_segment(f->b, f->len, &m, on_seg, &lg), 0);
	CU_ASSERT_EQUAL(lg.bad, 0);
	CU_ASSERT_EQUAL(lg.n, expect);
	CU_ASSERT_EQUAL(lg.data_len, payload);
	CU_ASSERT(memcmp(lg.data, f->b + f->hdr, payload) == 0);
	for (int i = 0; i < lg.n; i++) {
		unsigned int fl = lg.flags[i], orig = f->b[f->l4 + 13];
		int last = i == lg.n - 1;

		CU_ASSERT_EQUAL(fl & 0x09, last ? (orig & 0x09) : 0);          /* FIN, PSH */
		CU_ASSERT_EQUAL(fl & 0x80, i == 0 ? (orig & 0x80) : 0);         /* CWR */
		CU_ASSERT_EQUAL(fl & 0x76, orig & 0x76);                         /* the rest */
		if (!last)
			CU_ASSERT_EQUAL(lg.len[i], f->hdr + mss);
	}
}

static void test_segment_v4(void)
{
	static struct frame f;

	build_tcp4(&f, 0, 4000, 0x80 | 0x10 | 0x08 | 0x01);   /* CWR ACK PSH FIN */
	check_segments(&f, 4, 4000, 1448);
	build_tcp4(&f, 1, 65535 - 24 - 32, 0x18);               /* largest, VLAN */
	check_segments(&f, 4, 65535 - 24 - 32, 1448);
	build_tcp4(&f, 0, 2896, 0x18);                         /* exact multiple */
	check_segments(&f, 4, 2896, 1448);
	build_tcp4(&f, 0, 100, 0x18);                          /* fits one */
	check_segments(&f, 4, 100, 1448);
	build_tcp4(&f, 0, 0, 0x11);                            /* no payload */
	check_segments(&f, 4, 0, 1448);
	build_tcp4(&f, 0, 300, 0x18);                          /* tiny MSS */
	check_segments(&f, 4, 300, 7);
}

static void test_segment_v6(void)
{
	static struct frame f;

	build_l6(&f, 6, 9001, 0x80 | 0x18);
	check_segments(&f, 6, 9001, 1428);
	build_l6(&f, 6, 65000, 0x19);
	check_segments(&f, 6, 65000, 8948);
}

static int emitted;
static size_t emitted_len;
static uint8_t emitted_buf[256];
static void count_emit(void *opaque, const uint8_t *s, size_t len)
{
	(void)opaque;
	emitted++;
	emitted_len = len;
	if (len <= sizeof(emitted_buf))
		memcpy(emitted_buf, s, len);
}

static void test_segment_passthrough_and_rejects(void)
{
	static struct frame f;
	struct net_pkt_meta m;

	/* Non-GSO partial: finished in a copy, the original untouched. */
	build_tcp4(&f, 0, 51, 0x18);
	put_pseudo(&f, 4, 6, 16);
	memset(&m, 0, sizeof(m));
	m.flags = NET_PKT_CSUM_PARTIAL;
	CU_ASSERT_EQUAL(net_pkt_locate_csum(f.b, f.len, &m), 0);
	emitted = 0;
	CU_ASSERT_EQUAL(net_pkt_segment(f.b, f.len, &m, count_emit, NULL), 0);
	CU_ASSERT_EQUAL(emitted, 1);
	CU_ASSERT_EQUAL(emitted_len, f.len);
	CU_ASSERT(ref_l4_ok(emitted_buf, f.l3, 4, 6, f.l4, f.len - f.l4));
	CU_ASSERT_FALSE(ref_l4_ok(f.b, f.l3, 4, 6, f.l4, f.len - f.l4));

	/* Not partial: as is. */
	m.flags = 0;
	emitted = 0;
	CU_ASSERT_EQUAL(net_pkt_segment(f.b, 20, &m, count_emit, NULL), 0);
	CU_ASSERT_EQUAL(emitted, 1);
	CU_ASSERT_EQUAL(emitted_len, 20);

	/* Bad: partial with offsets outside, GSO on UDP, wrong family, MSS 0, no callback. */
	m.flags = NET_PKT_CSUM_PARTIAL;
	m.csum_start = 60000;
	emitted = 0;
	CU_ASSERT_EQUAL(net_pkt_segment(f.b, f.len, &m, count_emit, NULL), -EINVAL);
	memset(&m, 0, sizeof(m));
	m.flags = NET_PKT_CSUM_PARTIAL;
	m.gso_type = NET_PKT_GSO_TCPV6;
	m.gso_size = 100;
	CU_ASSERT_EQUAL(net_pkt_segment(f.b, f.len, &m, count_emit, NULL), -EINVAL);
	m.gso_type = NET_PKT_GSO_TCPV4;
	m.gso_size = 0;
	CU_ASSERT_EQUAL(net_pkt_segment(f.b, f.len, &m, count_emit, NULL), -EINVAL);
	m.gso_size = 10;
	CU_ASSERT_EQUAL(net_pkt_segment(f.b, f.len, &m, NULL, NULL), -EINVAL);
	m.gso_type = 7;
	CU_ASSERT_EQUAL(net_pkt_segment(f.b, f.len, &m, count_emit, NULL), -EINVAL);
	build_l6(&f, 17, 3000, 0);
	m.gso_type = NET_PKT_GSO_TCPV6;
	CU_ASSERT_EQUAL(net_pkt_segment(f.b, f.len, &m, count_emit, NULL), -EINVAL);
	CU_ASSERT_EQUAL(emitted, 0);
}

/* Random corruption of valid frames: never a crash, emitted frames never
 * longer than the input, never more than the input could make. */
static void test_segment_hostile(void)
{
	static struct frame f, g;
	unsigned int seed = 12345;

	for (int round = 0; round < 3000; round++) {
		struct net_pkt_meta m;
		int flips;

		if (round % 2)
			build_tcp4(&f, round % 3 == 0, (size_t)(rand_r(&seed) % 3000), 0x18);
		else
			build_l6(&f, 6, (size_t)(rand_r(&seed) % 3000), 0x18);
		g = f;
		flips = 1 + rand_r(&seed) % 4;
		for (int i = 0; i < flips; i++)
			g.b[(size_t)rand_r(&seed) % g.hdr] = (uint8_t)rand_r(&seed);
		memset(&m, 0, sizeof(m));
		m.flags = (uint8_t)(rand_r(&seed) & 3);
		m.gso_type = (uint8_t)(rand_r(&seed) % 4);
		m.gso_size = (uint16_t)(1 + rand_r(&seed) % 2000);
		m.csum_start = (uint16_t)(rand_r(&seed) % (g.len + 8));
		m.csum_offset = (uint16_t)(rand_r(&seed) % 40);
		(void)net_pkt_locate_csum(g.b, g.len, &m);
		emitted = 0;
		emitted_len = 0;
		if (net_pkt_segment(g.b, g.len, &m, count_emit, NULL) == 0)
			CU_ASSERT(emitted_len <= g.len);
		(void)net_pkt_finish_csum(g.b, g.len, &m);
	}
}

/* --- receive-side coalescing ------------------------------------------------ */

/* A plain TCP/IPv4 data segment as slirp sends them (no IP or TCP options),
 * full checksums; its payload continues a pattern at offset `off`. */
static size_t build_plain(uint8_t *b, uint32_t seq, size_t payload, uint8_t flags, size_t off)
{
	uint8_t *ip = b + 14, *t = b + 34;
	size_t l4len = 20 + payload;
	uint32_t acc;

	memset(b, 0, 54);
	memcpy(b, mac_hdr, 12);
	put16(b + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (unsigned int)(20 + l4len));
	put16(ip + 4, 77);
	put16(ip + 6, 0x4000);
	ip[8] = 64; ip[9] = 6;
	ip[12] = 10; ip[13] = 0; ip[14] = 2; ip[15] = 2;
	ip[16] = 10; ip[17] = 0; ip[18] = 2; ip[19] = 15;
	put16(ip + 10, (uint16_t)~ref_fold(ref_add(0, ip, 20)));
	put16(t, 5201);
	put16(t + 2, 40000);
	t[4] = (uint8_t)(seq >> 24); t[5] = (uint8_t)(seq >> 16); t[6] = (uint8_t)(seq >> 8); t[7] = (uint8_t)seq;
	t[10] = 0x12; t[11] = 0x34;
	t[12] = 0x50;
	t[13] = flags;
	put16(t + 14, 29200);
	for (size_t i = 0; i < payload; i++)
		t[20 + i] = (uint8_t)((off + i) * 7 + 3);
	acc = ref_add(ref_add(0, ip + 12, 8) + 6 + (uint32_t)l4len, t, l4len);
	put16(t + 16, (uint16_t)~ref_fold(acc));
	return 54 + payload;
}

static void test_coalesce(void)
{
	static uint8_t pkt[NET_PKT_MAX_FRAME], seg[2048], copy[NET_PKT_MAX_FRAME];
	static const size_t sizes[] = { 1000, 1000, 1000, 1000, 400 };
	const uint32_t seq0 = 0xfffffc00u;   /* wraps inside the run */
	struct net_pkt_meta m = { .flags = NET_PKT_CSUM_VALID };
	size_t len = build_plain(pkt, seq0, sizes[0], 0x10, 0), off = sizes[0], n;
	int ok = 1;

	for (unsigned int i = 1; i < 5; i++) {
		n = build_plain(seg, seq0 + (uint32_t)off, sizes[i], i == 4 ? 0x18 : 0x10, off);
		CU_ASSERT_EQUAL(net_pkt_coalesce(pkt, &len, sizeof(pkt), &m, seg, n), 0);
		off += sizes[i];
	}
	CU_ASSERT_EQUAL(len, 54 + off);
	CU_ASSERT_EQUAL(m.gso_type, NET_PKT_GSO_TCPV4);
	CU_ASSERT_EQUAL(m.gso_size, 1000);
	CU_ASSERT_EQUAL(m.hdr_len, 54);
	CU_ASSERT_EQUAL(m.flags & (NET_PKT_CSUM_PARTIAL | NET_PKT_CSUM_VALID), NET_PKT_CSUM_PARTIAL);
	CU_ASSERT_EQUAL(get16(pkt + 16), 40 + off);
	CU_ASSERT(ref_ipv4_hdr_ok(pkt + 14));
	CU_ASSERT_EQUAL(pkt[34 + 13], 0x18);                 /* the last one's PSH */
	CU_ASSERT_EQUAL(get32(pkt + 34 + 4), seq0);
	for (size_t i = 0; i < off; i++)
		ok &= pkt[54 + i] == (uint8_t)(i * 7 + 3);
	CU_ASSERT(ok);
	/* Finishing the partial checksum gives the one a sender would compute. */
	CU_ASSERT_EQUAL(net_pkt_finish_csum(pkt, len, &m), 0);
	CU_ASSERT(ref_l4_ok(pkt, 14, 4, 6, 34, len - 34));
	/* After PSH nothing more joins. */
	m.flags = NET_PKT_CSUM_PARTIAL;
	memcpy(copy, pkt, len);
	n = build_plain(seg, seq0 + (uint32_t)off, 100, 0x10, off);
	CU_ASSERT_EQUAL(net_pkt_coalesce(pkt, &len, sizeof(pkt), &m, seg, n), -EINVAL);
	CU_ASSERT_EQUAL(memcmp(copy, pkt, len), 0);
}

/* Each variant of the second segment must be refused, the first unchanged. */
static void expect_no_merge(const char *what, size_t first_payload, uint8_t *seg, size_t n, int rc)
{
	static uint8_t pkt[NET_PKT_MAX_FRAME], copy[NET_PKT_MAX_FRAME];
	struct net_pkt_meta m = { .flags = NET_PKT_CSUM_VALID }, m0;
	size_t len = build_plain(pkt, 5000, first_payload, 0x10, 0), len0 = len;
	int got;

	memcpy(copy, pkt, len);
	m0 = m;
	got = net_pkt_coalesce(pkt, &len, sizeof(pkt), &m, seg, n);
	if (got != rc)
		fprintf(stderr, "\n  %s: %d\n", what, got);
	CU_ASSERT_EQUAL(got, rc);
	CU_ASSERT_EQUAL(len, len0);
	CU_ASSERT_EQUAL(memcmp(copy, pkt, len), 0);
	CU_ASSERT_EQUAL(memcmp(&m, &m0, sizeof(m)), 0);
}

static void test_coalesce_refuses(void)
{
	static uint8_t seg[2048], pkt[4096];
	struct net_pkt_meta m = { .flags = NET_PKT_CSUM_VALID };
	size_t n, len;

#define SEG() (n = build_plain(seg, 6000, 1000, 0x10, 1000))
	SEG(); put16(seg + 34 + 6, 6001 & 0xffff); expect_no_merge("sequence gap", 1000, seg, n, -EINVAL);
	SEG(); put16(seg + 36, 1); expect_no_merge("other port", 1000, seg, n, -EINVAL);
	SEG(); seg[34 + 11] ^= 1; expect_no_merge("other ack", 1000, seg, n, -EINVAL);
	SEG(); seg[34 + 15] ^= 1; expect_no_merge("other window", 1000, seg, n, -EINVAL);
	SEG(); seg[34 + 13] = 0x11; expect_no_merge("FIN", 1000, seg, n, -EINVAL);
	SEG(); seg[34 + 13] = 0x30; expect_no_merge("URG", 1000, seg, n, -EINVAL);
	SEG(); seg[34 + 12] = 0x60; expect_no_merge("TCP options", 1000, seg, n, -EINVAL);
	SEG(); seg[14] = 0x46; expect_no_merge("IP options", 1000, seg, n, -EINVAL);
	SEG(); seg[14 + 6] |= 0x20; expect_no_merge("more fragments", 1000, seg, n, -EINVAL);
	SEG(); seg[14 + 8] = 63; expect_no_merge("other TTL", 1000, seg, n, -EINVAL);
	SEG(); seg[14 + 1] = 4; expect_no_merge("other TOS", 1000, seg, n, -EINVAL);
	SEG(); seg[14 + 19] = 9; expect_no_merge("other destination", 1000, seg, n, -EINVAL);
	SEG(); seg[0] ^= 2; expect_no_merge("other MAC", 1000, seg, n, -EINVAL);
	SEG(); seg[14 + 9] = 17; expect_no_merge("UDP", 1000, seg, n, -EINVAL);
	SEG(); put16(seg + 12, 0x86dd); expect_no_merge("not IPv4", 1000, seg, n, -EINVAL);
	SEG(); expect_no_merge("truncated", 1000, seg, n - 1, -EINVAL);
	n = build_plain(seg, 5400, 1000, 0x10, 400);
	expect_no_merge("longer than the first (the MSS)", 400, seg, n, -EINVAL);
	n = build_plain(seg, 5000, 0, 0x10, 0);
	expect_no_merge("a pure ACK", 0, seg, n, -EINVAL);
#undef SEG

	/* A short segment ends the run: nothing may follow it. */
	len = build_plain(pkt, 100, 1000, 0x10, 0);
	n = build_plain(seg, 1100, 300, 0x10, 1000);
	CU_ASSERT_EQUAL(net_pkt_coalesce(pkt, &len, sizeof(pkt), &m, seg, n), 0);
	n = build_plain(seg, 1400, 300, 0x10, 1300);
	CU_ASSERT_EQUAL(net_pkt_coalesce(pkt, &len, sizeof(pkt), &m, seg, n), -EINVAL);

	/* Room: -ENOSPC until the buffer is big enough. */
	m = (struct net_pkt_meta){ .flags = NET_PKT_CSUM_VALID };
	len = build_plain(pkt, 100, 1000, 0x10, 0);
	n = build_plain(seg, 1100, 1000, 0x10, 1000);
	CU_ASSERT_EQUAL(net_pkt_coalesce(pkt, &len, len + 999, &m, seg, n), -ENOSPC);
	CU_ASSERT_EQUAL(net_pkt_coalesce(pkt, &len, len + 1000, &m, seg, n), 0);
}

static void test_coalesce_64k(void)
{
	static uint8_t pkt[NET_PKT_MAX_FRAME], seg[2048];
	struct net_pkt_meta m = { .flags = NET_PKT_CSUM_VALID };
	size_t len = build_plain(pkt, 0, 1460, 0x10, 0), n;
	uint32_t seq = 1460;
	int rc = 0;

	/* IP lengths are 16-bit: merging stops before the packet would pass 65535. */
	while (!rc) {
		n = build_plain(seg, seq, 1460, 0x10, seq);
		rc = net_pkt_coalesce(pkt, &len, sizeof(pkt), &m, seg, n);
		if (!rc)
			seq += 1460;
	}
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT(get16(pkt + 16) <= 65535 && get16(pkt + 16) + 1460 > 65535);
	CU_ASSERT_EQUAL(len, 14 + (size_t)get16(pkt + 16));
	CU_ASSERT_EQUAL(net_pkt_finish_csum(pkt, len, &m), 0);
	CU_ASSERT(ref_l4_ok(pkt, 14, 4, 6, 34, len - 34));
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("net_pkt", NULL, NULL);
	CU_add_test(s, "reference checksum known answer", test_ref_known_answer);
	CU_add_test(s, "locate: v4 options, VLAN, v6 extension headers", test_locate);
	CU_add_test(s, "locate: truncations and bad headers rejected", test_locate_rejects);
	CU_add_test(s, "finish_csum against the reference", test_finish_csum);
	CU_add_test(s, "TSO TCPv4 with IP and TCP options", test_segment_v4);
	CU_add_test(s, "TSO TCPv6 through extension headers", test_segment_v6);
	CU_add_test(s, "segment: pass-through and rejects", test_segment_passthrough_and_rejects);
	CU_add_test(s, "hostile frames and metadata", test_segment_hostile);
	CU_add_test(s, "coalesce: in-order segments become one GSO packet", test_coalesce);
	CU_add_test(s, "coalesce: what must not merge", test_coalesce_refuses);
	CU_add_test(s, "coalesce: stops at 64 KiB", test_coalesce_64k);
	return cunit_run(CU_BRM_VERBOSE);
}
