/*
 * console_io.  Release builds of Xen refuse it to unprivileged domains
 * (-EPERM); when the VMM provides console_write we accept CONSOLEIO_write
 * as a debug console (the test guest uses it), bounded per call.
 */
#include <errno.h>

#include "xenkvm/hypercall.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_guest_access.h"
#include "xenkvm/xen_handlers.h"

#define CONSOLE_MAX_PER_CALL 4096u

long xen_console_io_hcall(struct xen_domain *d, struct xen_hcall *hc)
{
	uint64_t cmd = hc->args[0], count = hc->args[1], buf = hc->args[2];
	char chunk[256];

	if (!d->vmm->console_write)
		return -EPERM;
	switch (cmd) {
	case CONSOLEIO_write:
		if (count > CONSOLE_MAX_PER_CALL)
			count = CONSOLE_MAX_PER_CALL;
		for (uint64_t done = 0; done < count;) {
			size_t n = count - done > sizeof(chunk) ? sizeof(chunk) : count - done;

			if (xen_copy_from_guest(d, hc, chunk, buf + done, n))
				return -EFAULT;
			d->vmm->console_write(d->opaque, chunk, n);
			done += n;
		}
		return 0;
	case CONSOLEIO_read:
		return 0; /* nothing to read */
	default:
		return -EINVAL;
	}
}
