/*
 * The real-mode part of the test guest's bzImage: a boot sector and the
 * Linux boot-protocol setup header (Documentation/arch/x86/boot.rst),
 * nothing else.  The guest only has a 64-bit entry, so it only boots with
 * a loader that uses it (xenkvmd does): the header says so with
 * XLF_KERNEL_64, and there is no real-mode setup code behind it.
 *
 * tg_syssize and tg_init_size come from tests/guest/tg.lds.
 */
#define SETUP_SECTS      1          /* setup = boot sector + 1 sector */
#define LOADED_HIGH      0x01
#define XLF_KERNEL_64    0x0001
#define BOOT_PROTOCOL    0x020f     /* 2.15; xenkvmd needs >= 2.12 */
#define KERNEL_ADDR      0x100000   /* where the protected-mode part is linked */

	.section .header, "a"
	.code16
	/* A loader that jumps to the boot sector gets a halt, not garbage. */
	cli
1:	hlt
	jmp	1b

	.org	0x1f1
	.byte	SETUP_SECTS
	.word	0                   /* root_flags */
	.long	tg_syssize          /* protected-mode size in 16-byte units */
	.word	0                   /* ram_size (obsolete) */
	.word	0xffff              /* vid_mode: normal */
	.word	0                   /* root_dev */
	.word	0xaa55              /* boot_flag */
	/* 0x200: the jump over the header; its offset byte tells a loader how
	 * long the header is (it ends at 0x26c). */
jump_start:
	.byte	0xeb, setup_header_end - jump_end
jump_end:
	.ascii	"HdrS"
	.word	BOOT_PROTOCOL
	.long	0                   /* realmode_swtch */
	.word	0                   /* start_sys_seg */
	.word	kernel_version - jump_start
	.byte	0                   /* type_of_loader: the loader fills it */
	.byte	LOADED_HIGH         /* loadflags */
	.word	0                   /* setup_move_size */
	.long	KERNEL_ADDR         /* code32_start */
	.long	0, 0                /* ramdisk_image, ramdisk_size */
	.long	0                   /* bootsect_kludge */
	.word	0                   /* heap_end_ptr */
	.byte	0, 0                /* ext_loader_ver, ext_loader_type */
	.long	0                   /* cmd_line_ptr */
	.long	0x7fffffff          /* initrd_addr_max */
	.long	0x1000              /* kernel_alignment */
	.byte	0                   /* relocatable_kernel: no, load it at 1 MiB */
	.byte	12                  /* min_alignment: 4 KiB */
	.word	XLF_KERNEL_64       /* xloadflags */
	.long	255                 /* cmdline_size */
	.long	0                   /* hardware_subarch: PC */
	.quad	0                   /* hardware_subarch_data */
	.long	0, 0                /* payload_offset, payload_length */
	.quad	0                   /* setup_data */
	.quad	KERNEL_ADDR         /* pref_address */
	.long	tg_init_size        /* init_size: image + bss + stack */
	.long	0                   /* handover_offset */
	.long	0                   /* kernel_info_offset */
setup_header_end:

kernel_version:
	.asciz	"xenkvm test guest"

	.org	(SETUP_SECTS + 1) * 512

	.section .note.GNU-stack, "", @progbits
