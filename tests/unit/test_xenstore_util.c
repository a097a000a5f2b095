#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test_xenstore_util.h"

void xt_event_cb(void *opaque, const char *path, const char *token)
{
	struct xt_events *e = opaque;

	if (e->n < XT_MAX_EVENTS)
		snprintf(e->ev[e->n++], sizeof(e->ev[0]), "%s|%s", path, token);
}

unsigned int xt_events_count(const struct xt_events *e, const char *path, const char *token)
{
	char want[160];
	unsigned int i, n = 0;

	snprintf(want, sizeof(want), "%s|%s", path, token);
	for (i = 0; i < e->n; i++)
		n += !strcmp(e->ev[i], want);
	return n;
}

static ssize_t pipe_read(void *opaque, void *buf, size_t len)
{
	struct xt_pipe *p = opaque;
	size_t n = p->in_len - p->in_off;

	if (p->fail_read)
		return p->fail_read;
	if (n > len)
		n = len;
	memcpy(buf, p->in + p->in_off, n);
	p->in_off += n;
	return (ssize_t)n;
}

static ssize_t pipe_write(void *opaque, const void *buf, size_t len)
{
	struct xt_pipe *p = opaque;
	size_t room = sizeof(p->out) - p->out_len;

	if (p->block_write)
		return 0;
	if (p->out_limit && len > p->out_limit)
		len = p->out_limit;
	if (len > room)
		len = room;
	memcpy(p->out + p->out_len, buf, len);
	p->out_len += len;
	return (ssize_t)len;
}

static void pipe_kick(void *opaque)
{
	((struct xt_pipe *)opaque)->kicks++;
}

const struct xs_transport_ops xt_pipe_ops = {
	.read = pipe_read,
	.write = pipe_write,
	.kick = pipe_kick,
};

size_t xt_encode(void *buf, uint32_t type, uint32_t req_id, uint32_t tx_id,
		 const void *payload, size_t len)
{
	struct xsd_sockmsg h = { type, req_id, tx_id, (uint32_t)len };

	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy((char *)buf + sizeof(h), payload, len);
	return sizeof(h) + len;
}

void xt_send(struct xt_pipe *p, uint32_t type, uint32_t req_id, uint32_t tx_id,
	     const void *payload, size_t len)
{
	p->in_len += xt_encode(p->in + p->in_len, type, req_id, tx_id, payload, len);
}

size_t xt_strings(char *buf, size_t cap, const char *const *strs)
{
	size_t n = 0, k;

	for (; *strs; strs++) {
		k = strlen(*strs) + 1;
		if (n + k > cap)
			break;
		memcpy(buf + n, *strs, k);
		n += k;
	}
	return n;
}

int xt_next(const unsigned char *buf, size_t len, size_t *off, struct xt_msg *m)
{
	if (len - *off < sizeof(m->hdr))
		return 0;
	memcpy(&m->hdr, buf + *off, sizeof(m->hdr));
	if (m->hdr.len > XENSTORE_PAYLOAD_MAX || len - *off - sizeof(m->hdr) < m->hdr.len)
		return 0;
	memcpy(m->data, buf + *off + sizeof(m->hdr), m->hdr.len);
	m->data[m->hdr.len] = 0;
	*off += sizeof(m->hdr) + m->hdr.len;
	return 1;
}
