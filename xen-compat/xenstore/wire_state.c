/*
 * Save/restore of the guest's XenStore connection (XEN_STATE_XS_CONN):
 * what it holds between the guest's ring and the store, i.e. a request
 * read in part (its bytes already consumed from the ring) and the replies
 * and watch events not yet written to it.  Without them a guest saved
 * mid-request would wait for ever for its reply.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "xenkvm/xen_state.h"
#include "xs_internal.h"

#define MSG_MAX (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX)

void xs_conn_state_save(struct xs_conn *conn, struct state_writer *w)
{
	unsigned int nr = 0;
	const struct wire_msg *m;

	state_section_begin(w, XEN_STATE_XS_CONN, XEN_STATE_XS_CONN_VERSION);
	state_put_u8(w, (uint8_t)conn->error);
	state_put_u8(w, conn->in_hdr);
	state_put_u32(w, (uint32_t)conn->in_used);
	state_put_bytes(w, &conn->hdr, sizeof(conn->hdr));
	state_put_blob(w, conn->in, conn->in_hdr ? 0 : conn->in_used);
	for (m = conn->out_head; m; m = m->next)
		nr++;
	state_put_u32(w, nr);
	for (m = conn->out_head; m; m = m->next) {
		state_put_u8(w, m->event);
		state_put_u32(w, (uint32_t)m->done);
		state_put_blob(w, m->buf, m->len);
	}
	state_section_end(w);
}

static int conn_load(void *opaque, struct state_section *s)
{
	struct xs_conn *conn = opaque;
	struct wire_msg *head = NULL, **tail = &head, *m;
	struct xsd_sockmsg hdr;
	const uint8_t *in, *buf;
	uint32_t in_used, in_len, nr, done, len;
	size_t bytes = 0;
	unsigned int replies = 0;
	uint8_t error;
	bool in_hdr, event;

	state_get_u8(s, &error);
	state_get_bool(s, &in_hdr);
	state_get_u32(s, &in_used);
	state_get_bytes(s, &hdr, sizeof(hdr));
	state_get_blob(s, &in, &in_len, XENSTORE_PAYLOAD_MAX);
	state_get_u32(s, &nr);
	if (state_section_failed(s))
		return 0;
	if (error > XS_CONN_EPROTO ||
	    (in_hdr ? in_used >= sizeof(hdr) || in_len
		    : hdr.len > XENSTORE_PAYLOAD_MAX || in_used > hdr.len || in_len != in_used)) {
		state_section_fail(s, EINVAL, "a partial request of %u bytes (%s, payload %u)",
				   in_used, in_hdr ? "header" : "payload", hdr.len);
		return 0;
	}
	/* Each message takes at least 9 bytes of the section. */
	if (nr > (s->len - s->pos) / 9) {
		state_section_fail(s, EBADMSG, "%u queued messages in %zu bytes", nr, s->len - s->pos);
		return 0;
	}
	for (uint32_t i = 0; i < nr && !state_section_failed(s); i++) {
		struct xsd_sockmsg mh;

		state_get_bool(s, &event);
		state_get_u32(s, &done);
		if (!state_get_blob(s, &buf, &len, MSG_MAX))
			break;
		if (len < sizeof(mh)) {
			state_section_fail(s, EINVAL, "queued message %u of %u bytes", i, len);
			break;
		}
		memcpy(&mh, buf, sizeof(mh));
		if (mh.len != len - sizeof(mh) || done >= len || bytes + len > XS_QUOTA_OUTPUT_BYTES_MAX) {
			state_section_fail(s, EINVAL, "queued message %u: %u bytes, %u sent, header says %u",
					   i, len, done, mh.len);
			break;
		}
		m = malloc(sizeof(*m) + len);
		if (!m) {
			state_section_fail(s, ENOMEM, "out of memory");
			break;
		}
		m->next = NULL;
		m->event = event;
		m->len = len;
		m->done = done;
		memcpy(m->buf, buf, len);
		*tail = m;
		tail = &m->next;
		bytes += len;
		replies += !event;
	}
	if (state_section_failed(s) || s->pos != s->len) {
		while ((m = head)) {
			head = m->next;
			free(m);
		}
		return 0;
	}
	xs_conn_drop_output(conn);
	conn->error = (enum xs_conn_error)error;
	conn->in_hdr = in_hdr;
	conn->in_used = in_used;
	conn->hdr = hdr;
	if (in_len)
		memcpy(conn->in, in, in_len);
	conn->out_head = head;
	conn->out_tail = head ? tail : &conn->out_head;
	conn->out_bytes = bytes;
	conn->out_replies = replies;
	if (head && conn->ops->kick)
		conn->ops->kick(conn->opaque);
	return 0;
}

void xs_conn_state_handler(struct xs_conn *conn, struct state_handler *h)
{
	*h = (struct state_handler){ XEN_STATE_XS_CONN, XEN_STATE_XS_CONN_VERSION,
				     "xenstore-conn", true, conn_load, conn };
}
