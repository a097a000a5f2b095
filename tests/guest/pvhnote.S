/*
 * Xen's PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 18) for the tgNN-pvh.elf
 * test guests: the loader enters pvh_start in 32-bit flat protected mode,
 * paging off, %ebx = hvm_start_info.
 */
	.section .note.Xen, "a", @note
	.balign	4
	.long	4		/* namesz: "Xen\0" */
	.long	4		/* descsz */
	.long	18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.balign	4
	.long	pvh_start
	.balign	4

	.section .note.GNU-stack, "", @progbits
