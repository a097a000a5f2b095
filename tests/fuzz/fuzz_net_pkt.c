/*
 * libFuzzer harness: lib/net_pkt.c on hostile frames and metadata.  The
 * first 10 input bytes are the net_pkt_meta a guest would supply, the rest
 * is the frame.  Every helper runs; emitted segments must stay within what
 * the input could produce and a finished checksum must verify.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/net_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t seg_bytes, in_len;

static void on_seg(void *opaque, const uint8_t *s, size_t len)
{
	volatile uint8_t sink = 0;

	(void)opaque;
	if (len > in_len)
		abort();
	/* Touch every byte so ASan sees any out-of-bounds segment. */
	for (size_t i = 0; i < len; i++)
		sink ^= s[i];
	seg_bytes += len;
	(void)sink;
}

static unsigned int rd16(const uint8_t *p) { return (unsigned int)p[0] << 8 | p[1]; }

/* The one's-complement sum from start to the end folds to 0xffff once the
 * checksum is in place. */
static void check_finished(const uint8_t *f, size_t len, size_t start)
{
	uint64_t acc = 0;
	size_t i;

	for (i = start; i + 1 < len; i += 2)
		acc += rd16(f + i);
	if ((len - start) & 1)
		acc += (uint64_t)f[len - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	if (acc != 0xffff)
		abort();
}

/* Coalescing: the input's two halves as a queued packet (in a buffer a
 * little larger than itself) and the next frame.  A merge must keep within
 * the buffer, grow the packet by the second frame's payload and leave a
 * GSO meta behind. */
static void fuzz_coalesce(const uint8_t *data, size_t size, const struct net_pkt_meta *meta)
{
	size_t half = size / 2, cap = half + (size > 0 ? data[0] : 0) * 16u, len = half;
	struct net_pkt_meta m = *meta;
	uint8_t *pkt = malloc(cap ? cap : 1), *next = malloc(size - half ? size - half : 1);

	if (!pkt || !next)
		goto out;
	memcpy(pkt, data, half);
	memcpy(next, data + half, size - half);
	if (net_pkt_coalesce(pkt, &len, cap, &m, next, size - half) == 0 &&
	    (len <= half || len > cap || len - half + 54 != size - half || m.gso_type != NET_PKT_GSO_TCPV4 ||
	     !m.gso_size))
		abort();
out:
	free(pkt);
	free(next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_pkt_meta m, loc;
	uint8_t *frame;
	size_t len;

	if (size < 10)
		return 0;
	m.flags = data[0];
	m.gso_type = data[1];
	m.gso_size = (uint16_t)rd16(data + 2);
	m.hdr_len = (uint16_t)rd16(data + 4);
	m.csum_start = (uint16_t)rd16(data + 6);
	m.csum_offset = (uint16_t)rd16(data + 8);
	len = size - 10;
	/* An exact-size copy so ASan catches any read past the frame. */
	frame = malloc(len ? len : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 10, len);
	in_len = len;

	seg_bytes = 0;
	/* Bounded: each segment carries at least one payload byte plus headers. */
	(void)net_pkt_segment(frame, len, &m, on_seg, NULL);

	loc = m;
	if (net_pkt_locate_csum(frame, len, &loc) == 0) {
		if (loc.csum_start + loc.csum_offset + 2u > len)
			abort();
		/* No pseudo-header sum there: the result then covers the bytes alone. */
		frame[loc.csum_start + loc.csum_offset] = 0;
		frame[loc.csum_start + loc.csum_offset + 1] = 0;
		loc.flags = NET_PKT_CSUM_PARTIAL;
		if (net_pkt_finish_csum(frame, len, &loc) != 0)
			abort();
		check_finished(frame, len, loc.csum_start);
	}
	(void)net_pkt_finish_csum(frame, len, &m);
	free(frame);
	fuzz_coalesce(data + 10, size - 10, &m);
	return 0;
}
