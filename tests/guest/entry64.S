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

/* Xen's PVH entry (tg64-pvh.elf, pvhnote.S): 32-bit flat protected mode,
 * paging off.  Identity-map the first GiB in 2 MiB pages, enable long mode
 * and go on as the 64-bit boot entry does, without boot_params. */
#define MSR_EFER 0xc0000080
	.text
	.code32
	.globl	pvh_start
pvh_start:
	cli
	cld
	movl	$pvh_pd, %edi
	movl	$0x83, %eax		/* present, writable, 2 MiB */
	movl	$512, %ecx
1:	movl	%eax, (%edi)
	movl	$0, 4(%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	loop	1b
	movl	$(pvh_pd + 3), pvh_pdpt
	movl	$(pvh_pdpt + 3), pvh_pml4
	movl	$pvh_pml4, %eax
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$0x100, %eax		/* LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax	/* PG | PE */
	movl	%eax, %cr0
	lgdt	pvh_gdt_desc
	ljmp	$0x08, $pvh_long
	.code64
pvh_long:
	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	xorl	%esi, %esi		/* no boot_params: no command line */
	jmp	startup_64

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

	/* The PVH entry's page tables and GDT: in .data, so they are not in
	 * the .bss that startup_64 clears. */
	.data
	.balign	4096
pvh_pml4:
	.fill	512, 8, 0
pvh_pdpt:
	.fill	512, 8, 0
pvh_pd:
	.fill	512, 8, 0
	.balign	16
pvh_gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x08: 64-bit code */
	.quad	0x00cf93000000ffff	/* 0x10: data, flat */
pvh_gdt_end:
pvh_gdt_desc:
	.word	pvh_gdt_end - pvh_gdt - 1
	.long	pvh_gdt

	.section .note.GNU-stack, "", @progbits
