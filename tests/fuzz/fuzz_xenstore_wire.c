/*
 * libFuzzer harness: the XenStore wire decoder + engine, driven by a
 * sequence of chunks on three connections (dom0 privileged, two guests).
 * Each chunk is either raw bytes for a connection's input stream or a
 * well-formed header with a fuzzed payload.  At the end the store must be
 * consistent and, once freed, hold no node records.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "xenkvm/log.h"
#include "xenkvm/xenstore.h"

struct fz_pipe {
	const uint8_t *in;
	size_t in_len, in_off;
	int block;
};

static ssize_t fz_read(void *opaque, void *buf, size_t len)
{
	struct fz_pipe *p = opaque;
	size_t n = p->in_len - p->in_off;

	if (n > len)
		n = len;
	memcpy(buf, p->in + p->in_off, n);
	p->in_off += n;
	return (ssize_t)n;
}

static ssize_t fz_write(void *opaque, const void *buf, size_t len)
{
	struct fz_pipe *p = opaque;

	return p->block ? 0 : (ssize_t)len;
}

static const struct xs_transport_ops fz_ops = { fz_read, fz_write, NULL };

static void make_home(struct xs_client *d0, unsigned int domid)
{
	struct xs_perm p = { domid, XS_P_NONE };
	char path[32];

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	xs_store_mkdir(d0, 0, path);
	xs_store_set_perms(d0, 0, path, &p, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t inbuf[3][1 << 16];
	struct fz_pipe pipes[3] = { { inbuf[0], 0, 0, 0 }, { inbuf[1], 0, 0, 0 },
				    { inbuf[2], 0, 0, 0 } };
	struct xs_conn *conns[3] = { NULL, NULL, NULL };
	struct xs_client *d0;
	struct xs_store *s;
	struct xs_quota q;
	size_t pos = 0;
	unsigned int i;

	log_set_level(LOG_ERR);
	xs_quota_default(&q);
	q.nodes_per_domain = 64;           /* reachable quotas */
	q.nodes_per_transaction = 64;
	q.out_queue_bytes = 32768;
	s = xs_store_new(&q);
	if (!s)
		return 0;
	d0 = xs_client_new(s, 0, true, NULL, NULL);
	make_home(d0, 1);
	make_home(d0, 2);
	for (i = 0; i < 3; i++)
		conns[i] = xs_conn_new(s, i, i == 0, &fz_ops, &pipes[i]);

	while (pos + 3 <= size) {
		uint8_t sel = data[pos];
		size_t len = (size_t)(data[pos + 1] | (data[pos + 2] << 8)) % 1024;
		unsigned int c = sel % 3;
		struct fz_pipe *p = &pipes[c];

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		p->block = (sel >> 2) & 1;
		if ((sel >> 3) & 1) {
			/* a well-formed header around the chunk */
			struct xsd_sockmsg h;

			if (len < 2)
				break;
			h.type = data[pos] % (XS_TYPE_COUNT + 1);
			h.req_id = data[pos];
			h.tx_id = data[pos + 1] % 8;
			h.len = (uint32_t)(len - 2);
			if (p->in_len + sizeof(h) + len > sizeof(inbuf[0]))
				break;
			memcpy(inbuf[c] + p->in_len, &h, sizeof(h));
			memcpy(inbuf[c] + p->in_len + sizeof(h), data + pos + 2, len - 2);
			p->in_len += sizeof(h) + len - 2;
		} else {
			if (p->in_len + len > sizeof(inbuf[0]))
				break;
			memcpy(inbuf[c] + p->in_len, data + pos, len);
			p->in_len += len;
		}
		pos += len;
		switch ((sel >> 4) & 3) {
		case 1: xs_store_introduce(s, 1 + (sel >> 6)); break;
		case 2: xs_store_release(s, 1 + (sel >> 6)); break;
		case 3: xs_store_domain_shutdown(s, 1 + (sel >> 6)); break;
		}
		xs_conn_process(conns[c]);
	}
	for (i = 0; i < 3; i++) {
		pipes[i].block = 0;
		xs_conn_process(conns[i]);
	}
	if (xs_store_check(s))
		abort();
	for (i = 0; i < 3; i++)
		xs_conn_free(conns[i]);
	xs_client_free(d0);
	xs_store_free(s);
	if (xs_node_count() != 0)
		abort();
	return 0;
}
