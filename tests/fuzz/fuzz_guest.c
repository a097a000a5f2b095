#include <stdlib.h>
#include <string.h>

#include "fuzz_guest.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/log.h"

struct xen_fake F;

uint8_t take8(struct cursor *c)
{
	if (!c->left)
		return 0;
	c->left--;
	return *c->p++;
}

uint16_t take16(struct cursor *c)
{
	return (uint16_t)(take8(c) << 8 | take8(c));
}

uint32_t take32(struct cursor *c)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | take8(c);
	return v;
}

void take(struct cursor *c, void *dst, size_t len)
{
	size_t n = len < c->left ? len : c->left;

	memcpy(dst, c->p, n);
	memset((uint8_t *)dst + n, 0, len - n);
	c->p += n;
	c->left -= n;
}

void fuzz_guest_init(void)
{
	log_set_level(LOG_ERR);
	if (xen_fake_init(&F, 1))
		abort();
	for (unsigned int f = 0; f < 2; f++) {
		if (!gnttab_frame(F.d, f))
			abort();
		memset(F.d->gnttab.frames[f].entries, 0, 4096);
	}
}

void grant(grant_ref_t ref, domid_t dom, uint16_t flags, uint32_t frame)
{
	struct grant_entry_v1 *e = &F.d->gnttab.frames[ref / GNTTAB_ENTRIES_PER_FRAME]
					    .entries[ref % GNTTAB_ENTRIES_PER_FRAME];

	e->domid = dom;
	e->frame = frame;
	e->flags = flags;
}
