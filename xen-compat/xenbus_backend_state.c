/*
 * The one xenbus state machine's share of a backend's save section, so
 * blkback's and netback's sections cannot drift apart in what they keep of
 * it.  Fields: device id, backend and frontend state (-1 as 0xffffffff),
 * the fatal flag, the connects, the number of rings that follow.
 */
#include <errno.h>
#include <stdint.h>

#include "xenkvm/xen_abi.h"
#include <xen/io/xenbus.h>

#include "xenkvm/state_stream.h"
#include "xenkvm/xenbus_backend.h"

void xenbus_backend_rec_put(const struct xenbus_backend *xb, bool fatal, uint32_t nr_rings,
			    struct state_writer *w)
{
	state_put_u32(w, xb->devid);
	state_put_u32(w, (uint32_t)xb->be_state);
	state_put_u32(w, (uint32_t)xb->fe_state);
	state_put_u8(w, fatal);
	state_put_u32(w, xb->connects);
	state_put_u32(w, nr_rings);
}

int xenbus_backend_rec_get(struct state_section *s, struct xenbus_backend_rec *r, const char *what)
{
	state_get_u32(s, &r->devid);
	state_get_u32(s, &r->be_state);
	state_get_u32(s, &r->fe_state);
	state_get_bool(s, &r->fatal);
	state_get_u32(s, &r->connects);
	state_get_u32(s, &r->nr_rings);
	if (state_section_failed(s))
		return -EBADMSG;
	if (r->be_state > XenbusStateReconfigured ||
	    (r->fe_state > XenbusStateReconfigured && r->fe_state != UINT32_MAX)) {
		state_section_fail(s, EBADMSG, "%s %u: not a xenbus state", what, r->devid);
		return -EBADMSG;
	}
	return 0;
}

void xenbus_backend_rec_apply(struct xenbus_backend *xb, const struct xenbus_backend_rec *r)
{
	xenbus_backend_restore(xb, (int)r->be_state, r->fe_state == UINT32_MAX ? -1 : (int)r->fe_state,
			       r->fatal, r->connects);
}
