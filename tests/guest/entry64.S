/*
 * Entry of the 64-bit test guest (tg64.bzImage).  The boot protocol's 64-bit
 * entry is 0x200 past the load address (1 MiB), entered in long mode with
 * an identity map covering the image, interrupts off and RSI = boot_params.
 * The guest stays there: zero .bss (which holds the stack), call tg_main.
 */
	.section .text.head, "ax"
	.code32
	/* Offset 0 is the 32-bit entry, which this guest does not offer. */
startup_32:
	cli
1:	hlt
	jmp	1b

	.org	0x200
	.code64
	.globl	startup_64
startup_64:
	cli
	cld
	/* A loader need not clear .bss; tg_bss_* are 16-byte multiples. */
	movl	$tg_bss_start, %edi
	movl	$tg_bss_end, %ecx
	subl	%edi, %ecx
	shrl	$3, %ecx
	xorl	%eax, %eax
	rep stosq
	movl	$tg_stack_top, %esp
	movq	%rsi, tg_boot_params     /* after the .bss clear: it lives there */
	call	tg_main
2:	hlt
	jmp	2b

/* long tg_hcall(nr, a1, a2, a3, a4, a5): SysV arguments in rdi, rsi, rdx,
 * rcx, r8, r9 move to Xen's rdi, rsi, rdx, r10, r8. */
	.text
	.globl	tg_hcall
	.type	tg_hcall, @function
tg_hcall:
	movq	%rdi, %rax
	shlq	$5, %rax
	addq	$hypercall_page, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movq	%r8, %r10
	movq	%r9, %r8
	call	*%rax
	ret
	.size	tg_hcall, . - tg_hcall

	.section .note.GNU-stack, "", @progbits
