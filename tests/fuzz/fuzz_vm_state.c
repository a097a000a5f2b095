/*
 * libFuzzer harness: kvm/'s state codecs (guest RAM runs, a vCPU section)
 * under the state-stream loader, into a small fake RAM with a high part
 * (as vm.c lays out a guest above 3 GiB).
 *
 * Input: [0] mode.  Bit 0 clear: the rest is a raw stream.  Set: records
 * [selector u8, length u16 LE, payload], written as RAM (even selector)
 * or vCPU (odd) sections with correct CRCs, so the codecs see arbitrary
 * payloads.  Loaded or refused, nothing is written outside RAM (the guard
 * pages around it stay untouched), and every refusal says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/guest_mem.h"
#include "xenkvm/vm_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAGES 24
#define LOW   16

static uint8_t buf[(PAGES + 2) * GUEST_PAGE_SIZE];
static struct vcpu_state vs;

static int ram_load(void *opaque, struct state_section *s)
{
	return vm_ram_state_load(opaque, s);
}

static int vcpu_load(void *opaque, struct state_section *s)
{
	(void)opaque;
	return vcpu_state_read(s, 4, &vs);
}

static struct state_writer *structured(const uint8_t *p, size_t n)
{
	struct state_writer *w = state_writer_new_mem("fuzz");

	if (!w)
		abort();
	while (n >= 3) {
		uint8_t sel = p[0];
		size_t len = (size_t)p[1] | (size_t)p[2] << 8;

		p += 3;
		n -= 3;
		if (len > n)
			len = n;
		state_section_begin(w, sel & 1 ? VM_STATE_VCPU : VM_STATE_RAM, 1);
		state_put_bytes(w, p, len);
		state_section_end(w);
		p += len;
		n -= len;
	}
	state_writer_finish(w);
	return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_ram_layout l = { buf + GUEST_PAGE_SIZE, PAGES * GUEST_PAGE_SIZE, LOW * GUEST_PAGE_SIZE };
	struct state_handler h[2] = {
		{ VM_STATE_RAM, VM_STATE_RAM_VERSION, "vm-ram", false, ram_load, &l },
		{ VM_STATE_VCPU, VM_STATE_VCPU_VERSION, "vm-vcpu", false, vcpu_load, NULL },
	};
	struct state_writer *w = NULL;
	struct state_reader *r;

	if (!size)
		return 0;
	memset(buf, 0xee, sizeof(buf));
	if (data[0] & 1) {
		const uint8_t *p;
		size_t len;

		w = structured(data + 1, size - 1);
		p = state_writer_mem(w, &len);
		r = state_reader_new_mem(p, len);
	} else {
		r = state_reader_new_mem(data + 1, size - 1);
	}
	if (!r)
		abort();
	if (state_reader_header(r) == 0 && state_load(r, h, 2) == 0) {
		if (vs.nr_msrs > VCPU_STATE_MAX_MSRS)
			abort();
	} else if (!state_reader_error(r)[0]) {
		abort();   /* every refusal says why */
	}
	/* loaded or refused, nothing lands outside RAM */
	for (size_t i = 0; i < GUEST_PAGE_SIZE; i++)
		if (buf[i] != 0xee || buf[sizeof(buf) - 1 - i] != 0xee)
			abort();
	state_reader_free(r);
	state_writer_free(w);
	return 0;
}
