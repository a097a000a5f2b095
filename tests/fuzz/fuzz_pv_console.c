/*
 * libFuzzer harness: the PV console backend against a guest that writes
 * anything into the shared ring page.  The input is a script of steps:
 * overwrite part of the page (bytes or an index), queue host input, pump.
 * After each pump the output written never exceeds what the ring could
 * have held; after each run the event channel is given back.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/xen_fake_vmm.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/log.h"
#include "xenkvm/pv_console.h"

#include <xen/io/console.h>

#define RING_GPA 0x3000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct xen_fake F;
static bool ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pv_console_params p = { .dom = NULL };
	struct xencons_interface *intf;
	struct pv_console *pc;
	int out[2], in[2];
	char sink[8192];

	if (!ready) {
		log_set_level(LOG_ERR);
		if (xen_fake_init(&F, 1))
			abort();
		ready = true;
	}
	if (pipe2(out, O_NONBLOCK) || pipe2(in, O_NONBLOCK))
		abort();
	intf = xen_fake_gpa(&F, RING_GPA);
	p.dom = F.d;
	p.ring_page = intf;
	p.ring_gfn = RING_GPA >> 12;
	p.out_fd = out[1];
	p.in_fd = in[0];
	if (pv_console_start(&p, &pc))
		abort();
	for (size_t i = 0; i + 3 <= size;) {
		uint8_t op = data[i], a = data[i + 1], b = data[i + 2];

		i += 3;
		switch (op % 4) {
		case 0: {   /* an index: 4 bytes from the input */
			XENCONS_RING_IDX v = 0, *idx[] = { &intf->in_cons, &intf->in_prod,
							   &intf->out_cons, &intf->out_prod };

			for (int k = 0; k < 4 && i < size; k++)
				v = v << 8 | data[i++];
			*idx[a % 4] = v;
			break;
		}
		case 1:     /* ring bytes */
			for (unsigned int k = 0; k < b && i < size; k++)
				((uint8_t *)intf)[(a * 16u + k) % sizeof(*intf)] = data[i++];
			break;
		case 2: {   /* host input */
			size_t n = b < size - i ? b : size - i;

			if (n && write(in[1], data + i, n) < 0)
				break;
			i += n;
			break;
		}
		default: {
			ssize_t n;

			pv_console_pump(pc);
			n = read(out[0], sink, sizeof(sink));
			if (n > (ssize_t)sizeof(intf->out))
				abort();
			break;
		}
		}
	}
	pv_console_stop(pc);
	if (evtchn_backend_nr_open(F.d) != 0)
		abort();
	evtchn_reset(F.d, DOMID_SELF);   /* the guest's end of the old console */
	close(out[0]);
	close(out[1]);
	close(in[0]);
	close(in[1]);
	return 0;
}
