/* The assembled hypercall pages as read-only byte arrays (see
 * hypercall_page.h); the build passes their paths in HCALL64_BIN/HCALL32_BIN. */
	.section .rodata
	.balign 4096
	.globl	xen_hypercall_page64
	.type	xen_hypercall_page64, @object
	.size	xen_hypercall_page64, 4096
xen_hypercall_page64:
	.incbin	HCALL64_BIN
	.balign 4096
	.globl	xen_hypercall_page32
	.type	xen_hypercall_page32, @object
	.size	xen_hypercall_page32, 4096
xen_hypercall_page32:
	.incbin	HCALL32_BIN
	.section .note.GNU-stack,"",@progbits
