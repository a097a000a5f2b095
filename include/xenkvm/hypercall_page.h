/*
 * The hypercall page a guest asks for by writing the hypercall MSR
 * (value = guest-physical page address | page index in bits 0-11).  Stub i
 * sits at offset i*32: `mov $i,%eax; out %eax,$XEN_HCALL_IO_PORT; ret`, so
 * a call becomes a port-I/O exit the VMM turns into xen_hypercall() (the
 * argument registers are untouched; eax carries the number).  Shared with
 * blobs/hypercall{32,64}.S, hence assembler-safe.
 */
#ifndef XENKVM_HYPERCALL_PAGE_H
#define XENKVM_HYPERCALL_PAGE_H

/* Unused by PC hardware; 0xe9 (Bochs debug) and 0x80 (POST) are nearby. */
#define XEN_HCALL_IO_PORT 0xe4
#define XEN_HYPERCALL_MSR 0x40000000
#define XEN_HCALL_STUB_SIZE 32
#define XEN_HCALL_PAGE_SIZE 4096

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

struct xen_domain;

/* The assembled pages (build-time images of blobs/hypercall{64,32}.S).
 * Also what KVM_XEN_HVM_CONFIG's blob_addr_64/32 should point at. */
extern const uint8_t xen_hypercall_page64[XEN_HCALL_PAGE_SIZE];
extern const uint8_t xen_hypercall_page32[XEN_HCALL_PAGE_SIZE];

/*
 * The guest wrote `value` to XEN_HYPERCALL_MSR (userspace MSR exit): copy
 * the page for its mode to the given guest frame.  0, or -EINVAL (page
 * index other than 0) / -EFAULT (not RAM): the VMM injects #GP for both.
 * Also latches the guest's word size.
 */
int xen_hypercall_msr_write(struct xen_domain *d, unsigned int vcpu, bool longmode,
			    uint64_t value);
#endif

#endif
