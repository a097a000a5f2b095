/*
 * libFuzzer harness: the XenStore ring consumer against a fuzzed guest
 * that writes requests (well-formed or not), scribbles on indices and the
 * rest of the page, asks for reconnects and never or partly reads
 * replies, while dom0 changes the store underneath.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xs_wire.h>

#include "xenkvm/log.h"
#include "xenkvm/xenstore.h"
#include "xenkvm/xs_ring.h"

static void fz_notify(void *opaque) { (void)opaque; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void guest_put(struct xenstore_domain_interface *intf, const uint8_t *buf, size_t len)
{
	uint32_t prod = intf->req_prod;

	while (len-- && prod - intf->req_cons < XENSTORE_RING_SIZE)
		intf->req[MASK_XENSTORE_IDX(prod++)] = (char)*buf++;
	intf->req_prod = prod;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct xs_ring_ops ops = { fz_notify, NULL };
	static const char *const paths[] = {
		"/local/domain/5/data/x", "/local/domain/5/device/vbd/1/state", "/local/domain/5",
		"/tool/x",
	};
	struct xenstore_domain_interface *intf = aligned_alloc(4096, 4096);
	struct xs_perm home = { 5, XS_P_NONE };
	struct xs_ring *r = NULL;
	struct xs_client *d0;
	struct xs_store *s;
	size_t pos = 0, n;
	uint32_t v;

	if (!intf)
		return 0;
	memset(intf, 0, 4096);
	log_set_level(LOG_ERR);
	s = xs_store_new(NULL);
	d0 = xs_client_new(s, 0, true, NULL, NULL);
	xs_store_mkdir(d0, 0, "/local/domain/5");
	xs_store_set_perms(d0, 0, "/local/domain/5", &home, 1);
	if (xs_ring_new(s, 5, intf, &ops, NULL, &r))
		abort();

	while (pos < size) {
		uint8_t op = data[pos++];

		switch (op % 8) {
		case 0: /* raw bytes onto the request ring */
			n = pos < size ? data[pos++] : 0;
			if (n > size - pos)
				n = size - pos;
			guest_put(intf, data + pos, n);
			pos += n;
			break;
		case 1: { /* a header with a fuzzed type/length, then its payload */
			struct xsd_sockmsg h = { 0 };

			n = pos < size ? data[pos++] : 0;
			if (n > size - pos)
				n = size - pos;
			h.type = op >> 3;
			h.req_id = (uint32_t)pos;
			h.len = (uint32_t)n;
			guest_put(intf, (const uint8_t *)&h, sizeof(h));
			guest_put(intf, data + pos, n);
			pos += n;
			break;
		}
		case 2: /* the guest reads all replies */
			intf->rsp_cons = intf->rsp_prod;
			break;
		case 3: /* arbitrary index values */
			if (size - pos < 5)
				goto out;
			memcpy(&v, data + pos + 1, 4);
			switch (data[pos] % 4) {
			case 0: intf->req_prod = v; break;
			case 1: intf->req_cons = v; break;
			case 2: intf->rsp_cons = v; break;
			case 3: intf->rsp_prod = v; break;
			}
			pos += 5;
			break;
		case 4: /* reconnect request, or garbage in the connection field */
			intf->connection = (op >> 3) & 1 ? XENSTORE_RECONNECT : op >> 4;
			break;
		case 5: /* any byte of the page */
			if (size - pos < 3)
				goto out;
			((uint8_t *)intf)[(data[pos] | (data[pos + 1] << 8)) % 4096] = data[pos + 2];
			pos += 3;
			break;
		case 6: /* dom0 changes things the guest may watch */
			xs_store_write(d0, 0, paths[(op >> 3) % 4], "v", 1);
			if (op & 0x80)
				xs_store_rm(d0, 0, paths[(op >> 3) % 4]);
			break;
		case 7: /* the guest reads half of what is there */
			intf->rsp_cons += (intf->rsp_prod - intf->rsp_cons) / 2;
			break;
		}
		xs_ring_handle(r);
	}
out:
	xs_ring_handle(r);
	if (xs_store_check(s))
		abort();
	xs_ring_free(r);
	xs_client_free(d0);
	xs_store_free(s);
	free(intf);
	if (xs_node_count() != 0)
		abort();
	return 0;
}
