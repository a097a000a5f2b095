/*
 * What the backend ring fuzzers (blkback_ring, netback_tx) share: the
 * fuzzed guest, i.e. a cursor over the input and the fake domain whose
 * grant entries the input writes.  Names as the harnesses had them.
 */
#ifndef TESTS_FUZZ_GUEST_H
#define TESTS_FUZZ_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "xenkvm/xen_abi.h"
#include "../unit/xen_fake_vmm.h"

extern struct xen_fake F;

/* Reads past the end give zeros: a short input is still a whole run. */
struct cursor {
	const uint8_t *p;
	size_t left;
};
uint8_t take8(struct cursor *c);
uint16_t take16(struct cursor *c);
uint32_t take32(struct cursor *c);
void take(struct cursor *c, void *dst, size_t len);

/* F with two zeroed grant-table frames; aborts on failure. */
void fuzz_guest_init(void);
void grant(grant_ref_t ref, domid_t dom, uint16_t flags, uint32_t frame);

#endif
