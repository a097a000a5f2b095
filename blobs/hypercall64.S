/*
 * Xen hypercall page for 64-bit guests: 128 stubs of 32 bytes.  Stub i
 * loads the hypercall number and traps to the VMM through a port write,
 * leaving every argument register alone; the VMM puts the result in eax
 * and resumes at the ret.  __HYPERVISOR_iret is not an HVM hypercall:
 * its stub is ud2, as in Xen's own HVM page.  Padding is int3.
 */
#include "xenkvm/hypercall_page.h"

#define HYPERVISOR_IRET 23

	.code64
	.text
	.set	nr, 0
	.rept	XEN_HCALL_PAGE_SIZE / XEN_HCALL_STUB_SIZE
	.if	nr == HYPERVISOR_IRET
	ud2
	.else
	mov	$nr, %eax
	out	%eax, $XEN_HCALL_IO_PORT
	ret
	.endif
	.balign	XEN_HCALL_STUB_SIZE, 0xcc
	.set	nr, nr + 1
	.endr
