/*
 * Entry of the 32-bit test guest (tg32.bzImage).  xenkvmd only enters a
 * bzImage at its 64-bit entry (1 MiB + 0x200, long mode, identity map), so
 * this guest first leaves long mode the architectural way: far return to a
 * 32-bit code segment (compatibility mode), paging off (the code is
 * identity-mapped), EFER.LME off.  From then on it is a plain 32-bit
 * protected-mode guest without paging: EFER.LMA = 0, so KVM and xenkvmd see
 * a 32-bit guest on the hypercall MSR write and give it the 32-bit hypercall
 * page and the compat ABI.
 */
#define TG_CS32 0x08
#define TG_DS32 0x10
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR0_PG   0x80000000
#define CR4_PAE  0x20

	.section .text.head, "ax"
	.code32
	/* Offset 0 is the 32-bit boot-protocol entry, which needs a real-mode
	 * setup this guest does not have. */
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
	/* Addresses through 32-bit moves: an ELF32 object has no 64-bit
	 * (sign-extended) relocations; everything is below 1 GiB anyway. */
	movl	$tg_gdt_desc, %eax
	lgdt	(%rax)
	pushq	$TG_CS32
	movl	$compat_mode, %eax
	pushq	%rax
	lretq

	.code32
compat_mode:
	movl	$TG_DS32, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %fs
	movl	%eax, %gs
	movl	%eax, %ss
	movl	%cr0, %eax
	andl	$~CR0_PG, %eax
	movl	%eax, %cr0
	movl	$MSR_EFER, %ecx
	rdmsr
	andl	$~EFER_LME, %eax
	wrmsr
	movl	%cr4, %eax
	andl	$~CR4_PAE, %eax
	movl	%eax, %cr4
	ljmp	$TG_CS32, $protected_mode
protected_mode:
	/* A loader need not clear .bss; tg_bss_* are 16-byte multiples. */
	movl	$tg_bss_start, %edi
	movl	$tg_bss_end, %ecx
	subl	%edi, %ecx
	shrl	$2, %ecx
	xorl	%eax, %eax
	rep stosl
	movl	$tg_stack_top, %esp
	call	tg_main
2:	hlt
	jmp	2b

/* Xen's PVH entry (tg32-pvh.elf, pvhnote.S): already in 32-bit flat
 * protected mode with paging off, on the loader's GDT: take ours. */
	.text
	.code32
	.globl	pvh_start
pvh_start:
	cli
	cld
	lgdt	tg_gdt_desc
	ljmp	$TG_CS32, $protected_mode

/* long tg_hcall(nr, a1, a2, a3, a4, a5): cdecl arguments on the stack go
 * to Xen's ebx, ecx, edx, esi, edi; the stub's address to ebp (a sixth
 * argument's register, unused here). */
	.text
	.globl	tg_hcall
	.type	tg_hcall, @function
tg_hcall:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	movl	20(%esp), %ebp
	shll	$5, %ebp
	addl	$hypercall_page, %ebp
	movl	24(%esp), %ebx
	movl	28(%esp), %ecx
	movl	32(%esp), %edx
	movl	36(%esp), %esi
	movl	40(%esp), %edi
	call	*%ebp
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret
	.size	tg_hcall, . - tg_hcall

	.section .rodata
	.balign	16
	/* Accessed bits preset: the CPU need not write to this table. */
tg_gdt:
	.quad	0
	.quad	0x00cf9b000000ffff	/* 0x08: 32-bit code, flat, DPL 0 */
	.quad	0x00cf93000000ffff	/* 0x10: data, flat */
tg_gdt_end:
	/* lgdt in 64-bit mode reads a 64-bit base. */
tg_gdt_desc:
	.word	tg_gdt_end - tg_gdt - 1
	.long	tg_gdt, 0

	.section .note.GNU-stack, "", @progbits
