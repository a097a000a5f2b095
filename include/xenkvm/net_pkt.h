/*
 * net_pkt: what a guest NIC backend (netback) and a host packet endpoint
 * (user-mode networking, tap) tell each other about an Ethernet frame
 * besides its bytes.  Deliberately the same information a virtio_net_hdr
 * carries, so a tap device with IFF_VNET_HDR takes it as is, and so
 * neither side depends on the other's headers.
 *
 * The helpers (lib/net_pkt.c) let an endpoint that cannot take offloaded
 * frames (libslirp) finish them in software.
 */
#ifndef XENKVM_NET_PKT_H
#define XENKVM_NET_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum {
	/* The L4 checksum is not filled in: the 16-bit one's-complement sum
	 * from csum_start to the end goes at csum_start + csum_offset (the
	 * pseudo-header sum is already there, as Linux leaves it). */
	NET_PKT_CSUM_PARTIAL = 1u << 0,
	/* The checksums were verified (or the frame never left the host). */
	NET_PKT_CSUM_VALID   = 1u << 1,
};

enum net_pkt_gso {
	NET_PKT_GSO_NONE = 0,
	NET_PKT_GSO_TCPV4,
	NET_PKT_GSO_TCPV6,
};

struct net_pkt_meta {
	uint8_t flags;         /* NET_PKT_CSUM_* */
	uint8_t gso_type;      /* enum net_pkt_gso; needs CSUM_PARTIAL */
	uint16_t gso_size;     /* MSS (TCP payload per segment) with gso_type */
	uint16_t hdr_len;      /* Ethernet + IP + TCP header bytes with gso_type, else 0 */
	uint16_t csum_start;   /* from the start of the Ethernet frame */
	uint16_t csum_offset;  /* of the checksum field from csum_start */
};

/* Largest frame either side hands over: a 64 KiB GSO frame plus Ethernet. */
#define NET_PKT_MAX_FRAME (65535 + 14 + 4)

/*
 * Parses the Ethernet (one optional 802.1Q tag), IPv4/IPv6 (extension
 * headers skipped) and TCP/UDP headers of a flat frame and fills
 * csum_start, csum_offset and, for GSO, hdr_len: what netback needs when a
 * Xen frontend only says "checksum blank".  0, or -EINVAL for a frame
 * that is not TCP/UDP over IP or is truncated.
 */
int net_pkt_locate_csum(const uint8_t *frame, size_t len, struct net_pkt_meta *meta);

/* Computes and stores the checksum a CSUM_PARTIAL frame is missing; clears
 * CSUM_PARTIAL and sets CSUM_VALID.  0 or -EINVAL (offsets out of range). */
int net_pkt_finish_csum(uint8_t *frame, size_t len, struct net_pkt_meta *meta);

/*
 * Cuts a GSO frame into MSS-sized frames with correct IP lengths/ids, TCP
 * sequence numbers, flags (FIN/PSH only on the last) and checksums, and
 * calls emit() for each.  A non-GSO frame is passed through (checksum
 * finished if partial).  0, or -EINVAL for a malformed frame/meta.
 */
typedef void net_pkt_emit_fn(void *opaque, const uint8_t *frame, size_t len);
int net_pkt_segment(const uint8_t *frame, size_t len, const struct net_pkt_meta *meta,
		    net_pkt_emit_fn *emit, void *opaque);

/*
 * Receive-side coalescing, as GRO does: appends `frame`, the next in-order
 * segment of the same TCP/IPv4 flow, to the packet `pkt` (*pkt_len bytes,
 * room for `cap`), which becomes one GSO packet (CSUM_PARTIAL, gso_size =
 * its first segment's payload) standing for the segments it holds.  Only
 * plain segments merge: Ethernet + IPv4 without options or fragments + TCP
 * without options, ACK (the appended one may add PSH), same addresses,
 * ports, ack, window, TTL and TOS, at most 64 KiB, every segment but the last
 * exactly gso_size long.  0; -EINVAL when they do not merge, -ENOSPC when
 * they would but `cap` is too small (pkt unchanged either way).
 */
int net_pkt_coalesce(uint8_t *pkt, size_t *pkt_len, size_t cap, struct net_pkt_meta *meta,
		     const uint8_t *frame, size_t len);

#endif
