/* Helpers shared by the xenstore unit tests: event recording, message
 * encoding/decoding and an in-memory transport. */
#ifndef TEST_XENSTORE_UTIL_H
#define TEST_XENSTORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

#include "xenkvm/xenstore.h"

#define XT_MAX_EVENTS 256

/* Watch events delivered to an in-process client, as "path|token". */
struct xt_events {
	unsigned int n;
	char ev[XT_MAX_EVENTS][160];
};
void xt_event_cb(void *opaque, const char *path, const char *token);
/* Number of recorded events equal to "path|token". */
unsigned int xt_events_count(const struct xt_events *e, const char *path, const char *token);

/* In-memory transport: `in` is what the client sent, `out` what we replied. */
struct xt_pipe {
	unsigned char in[65536];
	size_t in_len, in_off;
	unsigned char out[262144];
	size_t out_len;
	size_t out_limit;    /* 0: unlimited, else accept at most this many bytes per call */
	int fail_read;       /* nonzero: read returns this (negative) */
	int block_write;     /* nonzero: write takes nothing */
	unsigned int kicks;
};
extern const struct xs_transport_ops xt_pipe_ops;

/* Appends an encoded request to buf; returns its length. */
size_t xt_encode(void *buf, uint32_t type, uint32_t req_id, uint32_t tx_id,
		 const void *payload, size_t len);
void xt_send(struct xt_pipe *p, uint32_t type, uint32_t req_id, uint32_t tx_id,
	     const void *payload, size_t len);
/* "a\0b\0" style payloads from a list of strings. */
size_t xt_strings(char *buf, size_t cap, const char *const *strs);

/* A decoded reply or event. */
struct xt_msg {
	struct xsd_sockmsg hdr;
	char data[XENSTORE_PAYLOAD_MAX + 1];
};
/* Pops the next message from the output buffer at *off; 0 if none. */
int xt_next(const unsigned char *buf, size_t len, size_t *off, struct xt_msg *m);

#endif
