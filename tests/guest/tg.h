/*
 * The test guest's interface between its C part (tg.c, built for 64-bit or
 * 32-bit) and its entry code (entry64.S or entry32.S).
 */
#ifndef XENKVM_TG_H
#define XENKVM_TG_H

/* The page whose address the guest writes to the Xen hypercall MSR: the
 * hypervisor fills it with 32-byte call stubs, stub i for hypercall i. */
#define TG_HCALL_STUB_SIZE 32
#define TG_HCALL_STUBS     128

extern unsigned char hypercall_page[TG_HCALL_STUBS * TG_HCALL_STUB_SIZE];

/*
 * Calls hypercall `nr` through its stub with the guest's native convention
 * (64-bit: rdi, rsi, rdx, r10, r8; 32-bit: ebx, ecx, edx, esi, edi) and
 * returns rax/eax: 0 or a negative Xen errno.  nr < TG_HCALL_STUBS.
 */
long tg_hcall(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3,
	      unsigned long a4, unsigned long a5);

/* The boot_params the loader passed (64-bit entry only; 0 in the 32-bit
 * guest, which then never runs a benchmark). */
extern unsigned long tg_boot_params;

/* Entered with a stack, interrupts off, flat segments; never returns. */
void tg_main(void) __attribute__((noreturn));

#endif
