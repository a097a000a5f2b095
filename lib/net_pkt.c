/*
 * Software checksum and TCP segmentation offload for Ethernet frames (see
 * include/xenkvm/net_pkt.h).  Every offset is checked against the frame
 * length before it is used: the frames come from guests.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/net_pkt.h"

#define ETH_HLEN        14
#define ETHERTYPE_IPV4  0x0800
#define ETHERTYPE_IPV6  0x86dd
#define ETHERTYPE_VLAN  0x8100
#define IPPROTO_TCP_    6
#define IPPROTO_UDP_    17

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

/* Where the headers of one TCP/UDP over IP frame are. */
struct pkt_layout {
	size_t l3;        /* IP header */
	size_t l4;        /* TCP/UDP header */
	size_t l4_hlen;   /* TCP header with options, or 8 for UDP */
	size_t ip_end;    /* end of the IP packet; Ethernet padding may follow */
	int ipver;        /* 4 or 6 */
	int proto;        /* IPPROTO_TCP_ or IPPROTO_UDP_ */
};

static inline unsigned int rd16(const uint8_t *p) { return (unsigned int)p[0] << 8 | p[1]; }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, unsigned int v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* The folded one's-complement sum of p[0..n) as big-endian 16-bit words,
 * an odd last byte padded with zero.  The sum does not depend on byte order
 * (RFC 1071), so it runs over native 64-bit words and swaps once: a 64 KiB
 * GSO frame is summed per segment. */
static unsigned int sum_be(const uint8_t *p, size_t n)
{
	uint64_t s = 0;

	for (; n >= 8; p += 8, n -= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		s += v;
		s += s < v;          /* end-around carry */
	}
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	for (; n >= 2; p += 2, n -= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		s += w;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (n)
		s += p[0];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return __builtin_bswap16((uint16_t)s);
#else
	if (n)
		s += (uint64_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (unsigned int)s;
#endif
}

/* Adds p[0..n) to a running sum of big-endian words; the caller folds. */
static uint64_t sum16(const uint8_t *p, size_t n, uint64_t acc)
{
	return acc + sum_be(p, n);
}

static unsigned int fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (unsigned int)acc;
}

/* The final checksum field value; 0 becomes 0xffff, which UDP needs (0 means
 * "no checksum" there) and TCP does not mind (both verify). */
static unsigned int csum_field(uint64_t acc)
{
	unsigned int c = ~fold(acc) & 0xffff;

	return c ? c : 0xffff;
}

/* Skips IPv6 extension headers; returns the upper-layer protocol or -1. */
static int ipv6_skip_ext(const uint8_t *f, size_t end, size_t *off)
{
	int nh = f[*off - 40 + 6];

	/* Each header is at least 8 bytes, so the loop ends with the packet. */
	for (;;) {
		size_t hl;

		switch (nh) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
			if (*off + 8 > end)
				return -1;
			hl = ((size_t)f[*off + 1] + 1) * 8;
			break;
		case 44:  /* fragment: only an atomic one still has its L4 header whole */
			if (*off + 8 > end)
				return -1;
			if ((rd16(f + *off + 2) & 0xfff9) != 0)
				return -1;
			hl = 8;
			break;
		case 51:  /* authentication header */
			if (*off + 8 > end)
				return -1;
			hl = ((size_t)f[*off + 1] + 2) * 4;
			break;
		default:
			return nh;
		}
		if (*off + hl > end)
			return -1;
		nh = f[*off];
		*off += hl;
	}
}

static int parse(const uint8_t *f, size_t len, struct pkt_layout *pl)
{
	size_t off = ETH_HLEN;
	unsigned int type;
	int proto;

	if (!f || len < ETH_HLEN)
		return -EINVAL;
	type = rd16(f + 12);
	if (type == ETHERTYPE_VLAN) {
		if (len < ETH_HLEN + 4)
			return -EINVAL;
		type = rd16(f + 16);
		off += 4;
	}
	pl->l3 = off;
	if (type == ETHERTYPE_IPV4) {
		size_t ihl, tot;

		if (off + 20 > len || (f[off] >> 4) != 4)
			return -EINVAL;
		ihl = (size_t)(f[off] & 0xf) * 4;
		tot = rd16(f + off + 2);
		if (ihl < 20 || tot < ihl || off + tot > len)
			return -EINVAL;
		/* A fragment's L4 header and checksum span fragments. */
		if (rd16(f + off + 6) & 0x3fff)
			return -EINVAL;
		pl->ipver = 4;
		proto = f[off + 9];
		pl->ip_end = off + tot;
		off += ihl;
	} else if (type == ETHERTYPE_IPV6) {
		if (off + 40 > len || (f[off] >> 4) != 6)
			return -EINVAL;
		pl->ip_end = off + 40 + rd16(f + off + 4);
		if (pl->ip_end > len)
			return -EINVAL;
		pl->ipver = 6;
		off += 40;
		proto = ipv6_skip_ext(f, pl->ip_end, &off);
	} else {
		return -EINVAL;
	}
	pl->l4 = off;
	pl->proto = proto;
	if (proto == IPPROTO_TCP_) {
		if (off + 20 > pl->ip_end)
			return -EINVAL;
		pl->l4_hlen = (size_t)(f[off + 12] >> 4) * 4;
		if (pl->l4_hlen < 20 || off + pl->l4_hlen > pl->ip_end)
			return -EINVAL;
	} else if (proto == IPPROTO_UDP_) {
		pl->l4_hlen = 8;
		if (off + 8 > pl->ip_end)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	/* The meta fields are 16-bit. */
	if (pl->l4 + pl->l4_hlen > 0xffff)
		return -EINVAL;
	return 0;
}

int net_pkt_locate_csum(const uint8_t *frame, size_t len, struct net_pkt_meta *meta)
{
	struct pkt_layout pl;

	if (!meta || parse(frame, len, &pl))
		return -EINVAL;
	switch (meta->gso_type) {
	case NET_PKT_GSO_NONE:
		meta->hdr_len = 0;
		break;
	case NET_PKT_GSO_TCPV4:
	case NET_PKT_GSO_TCPV6:
		if (pl.proto != IPPROTO_TCP_ || pl.ipver != (meta->gso_type == NET_PKT_GSO_TCPV4 ? 4 : 6))
			return -EINVAL;
		meta->hdr_len = (uint16_t)(pl.l4 + pl.l4_hlen);
		break;
	default:
		return -EINVAL;
	}
	meta->csum_start = (uint16_t)pl.l4;
	meta->csum_offset = pl.proto == IPPROTO_TCP_ ? 16 : 6;
	return 0;
}

int net_pkt_finish_csum(uint8_t *frame, size_t len, struct net_pkt_meta *meta)
{
	size_t start, field;

	if (!frame || !meta)
		return -EINVAL;
	if (!(meta->flags & NET_PKT_CSUM_PARTIAL))
		return 0;
	start = meta->csum_start;
	field = start + meta->csum_offset;
	if (start >= len || field + 2 > len)
		return -EINVAL;
	wr16(frame + field, csum_field(sum16(frame + start, len - start, 0)));
	meta->flags = (uint8_t)((meta->flags & ~NET_PKT_CSUM_PARTIAL) | NET_PKT_CSUM_VALID);
	return 0;
}

/* Pseudo-header sum for an L4 segment of l4_len bytes. */
static uint64_t pseudo_sum(const uint8_t *f, const struct pkt_layout *pl, size_t l4_len)
{
	uint64_t acc;

	if (pl->ipver == 4)
		acc = sum16(f + pl->l3 + 12, 8, 0);
	else
		acc = sum16(f + pl->l3 + 8, 32, 0);
	return acc + pl->proto + l4_len;
}

/* Rewrites the IP lengths (and IPv4 id and header checksum) of a segment
 * whose L4 part is l4_len bytes, then its full L4 checksum. */
static void fixup_segment(uint8_t *s, const struct pkt_layout *pl, size_t l4_len, unsigned int idx)
{
	uint8_t *ip = s + pl->l3;
	size_t csum_at = pl->l4 + (pl->proto == IPPROTO_TCP_ ? 16 : 6);

	if (pl->ipver == 4) {
		size_t ihl = (size_t)(ip[0] & 0xf) * 4;

		wr16(ip + 2, (unsigned int)(pl->l4 - pl->l3 + l4_len));
		wr16(ip + 4, (rd16(ip + 4) + idx) & 0xffff);
		wr16(ip + 10, 0);
		wr16(ip + 10, ~fold(sum16(ip, ihl, 0)) & 0xffff);
	} else {
		wr16(ip + 4, (unsigned int)(pl->l4 - pl->l3 - 40 + l4_len));
	}
	wr16(s + csum_at, 0);
	wr16(s + csum_at, csum_field(sum16(s + pl->l4, l4_len, pseudo_sum(s, pl, l4_len))));
}

int net_pkt_segment(const uint8_t *frame, size_t len, const struct net_pkt_meta *meta,
		    net_pkt_emit_fn *emit, void *opaque)
{
	struct pkt_layout pl;
	size_t hdr, payload, mss, off;
	uint32_t seq;
	unsigned int i;
	uint8_t *buf;

	if (!frame || !meta || !emit || len > NET_PKT_MAX_FRAME)
		return -EINVAL;
	if (meta->gso_type == NET_PKT_GSO_NONE) {
		struct net_pkt_meta m = *meta;

		if (!(m.flags & NET_PKT_CSUM_PARTIAL)) {
			emit(opaque, frame, len);
			return 0;
		}
		buf = malloc(len ? len : 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, frame, len);
		if (net_pkt_finish_csum(buf, len, &m)) {
			free(buf);
			return -EINVAL;
		}
		emit(opaque, buf, len);
		free(buf);
		return 0;
	}

	/* Our own parse decides the header length: meta->hdr_len and
	 * csum_start are only hints a guest could get wrong. */
	if (meta->gso_type != NET_PKT_GSO_TCPV4 && meta->gso_type != NET_PKT_GSO_TCPV6)
		return -EINVAL;
	if (parse(frame, len, &pl) || pl.proto != IPPROTO_TCP_ ||
	    pl.ipver != (meta->gso_type == NET_PKT_GSO_TCPV4 ? 4 : 6) || !meta->gso_size)
		return -EINVAL;
	hdr = pl.l4 + pl.l4_hlen;
	payload = pl.ip_end - hdr;
	mss = meta->gso_size;
	if (mss > payload)
		mss = payload;
	buf = malloc(hdr + mss);
	if (!buf)
		return -ENOMEM;
	seq = rd32(frame + pl.l4 + 4);
	off = 0;
	i = 0;
	do {
		size_t n = payload - off < mss ? payload - off : mss;
		bool last = off + n >= payload;
		uint8_t *tcp = buf + pl.l4;

		memcpy(buf, frame, hdr);
		memcpy(buf + hdr, frame + hdr + off, n);
		wr32(tcp + 4, seq + (uint32_t)off);
		if (!last)
			tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i)
			tcp[13] &= (uint8_t)~TCP_CWR;
		fixup_segment(buf, &pl, pl.l4_hlen + n, i);
		emit(opaque, buf, hdr + n);
		off += n;
		i++;
	} while (off < payload);
	free(buf);
	return 0;
}

/* Plain TCP/IPv4 segment: Ethernet, 20-byte IPv4 header whose length is the
 * frame's, not a fragment, 20-byte TCP header.  Returns the payload length
 * or -1. */
#define COALESCE_HDR (14 + 20 + 20)
static long plain_tcp4_payload(const uint8_t *f, size_t len)
{
	if (len < COALESCE_HDR || rd16(f + 12) != 0x0800 || f[14] != 0x45 || f[23] != IPPROTO_TCP_ ||
	    rd16(f + 16) != len - 14 || (rd16(f + 20) & 0x3fff) || f[34 + 12] != 0x50)
		return -1;
	return (long)(len - COALESCE_HDR);
}

int net_pkt_coalesce(uint8_t *pkt, size_t *pkt_len, size_t cap, struct net_pkt_meta *meta,
		     const uint8_t *frame, size_t len)
{
	long have = plain_tcp4_payload(pkt, *pkt_len), add = plain_tcp4_payload(frame, len);
	uint8_t *ip = pkt + 14, *tcp = pkt + 34;
	const uint8_t *fip = frame + 14, *ftcp = frame + 34;
	size_t mss;

	if (have <= 0 || add <= 0 || 40 + (size_t)(have + add) > 0xffff)
		return -EINVAL;
	/* Same link, flow and IP treatment; the ACK, window and (but for PSH)
	 * flags GRO also insists on. */
	if (memcmp(pkt, frame, 12) || ip[1] != fip[1] || (ip[6] ^ fip[6]) & 0x40 || ip[8] != fip[8] ||
	    memcmp(ip + 12, fip + 12, 8) || memcmp(tcp, ftcp, 4) || memcmp(tcp + 8, ftcp + 8, 4) ||
	    memcmp(tcp + 14, ftcp + 14, 2) || rd16(tcp + 18) || rd16(ftcp + 18) ||
	    tcp[13] != 0x10 || (ftcp[13] & ~0x08) != 0x10)
		return -EINVAL;
	if (rd32(ftcp + 4) != rd32(tcp + 4) + (uint32_t)have)
		return -EINVAL;
	if (meta->gso_type == NET_PKT_GSO_NONE) {
		mss = (size_t)have;
	} else {
		mss = meta->gso_size;
		if (meta->gso_type != NET_PKT_GSO_TCPV4 || !mss || (size_t)have % mss)
			return -EINVAL;
	}
	if ((size_t)add > mss)
		return -EINVAL;
	if (*pkt_len + (size_t)add > cap)
		return -ENOSPC;

	memcpy(pkt + *pkt_len, frame + COALESCE_HDR, (size_t)add);
	*pkt_len += (size_t)add;
	tcp[13] |= ftcp[13];
	wr16(ip + 2, (unsigned int)(*pkt_len - 14));
	wr16(ip + 10, 0);
	wr16(ip + 10, ~fold(sum16(ip, 20, 0)) & 0xffff);
	/* CSUM_PARTIAL: the field holds the pseudo-header sum, the rest is
	 * for whoever verifies (the guest takes it as validated). */
	wr16(tcp + 16, fold(sum16(ip + 12, 8, 0) + IPPROTO_TCP_ + (*pkt_len - 34)));
	meta->flags = (uint8_t)((meta->flags & ~NET_PKT_CSUM_VALID) | NET_PKT_CSUM_PARTIAL);
	meta->gso_type = NET_PKT_GSO_TCPV4;
	meta->gso_size = (uint16_t)mss;
	meta->hdr_len = COALESCE_HDR;
	meta->csum_start = 34;
	meta->csum_offset = 16;
	return 0;
}
