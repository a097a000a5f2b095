/* A minimal bzImage setup for the boot tests: a valid 2.15 boot header, 4
 * setup sectors, a 64-bit entry, init_size 8 MiB.  `img` holds at least the
 * setup (5 sectors) and is zeroed by the caller. */
#ifndef TESTS_BZIMAGE_FIXTURE_H
#define TESTS_BZIMAGE_FIXTURE_H

#include <asm/bootparam.h>
#include <stdint.h>

static inline struct setup_header *bzimage_fixture(uint8_t *img)
{
	struct setup_header *h = (struct setup_header *)(img + 0x1f1);

	img[0x200] = 0xeb;   /* jmp */
	img[0x201] = 0x6a;   /* header runs to 0x26c */
	h->setup_sects = 4;
	h->boot_flag = 0xaa55;
	h->header = 0x53726448;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->xloadflags = XLF_KERNEL_64;
	h->init_size = 0x800000;
	h->cmdline_size = 2047;
	h->initrd_addr_max = 0x7fffffff;
	return h;
}

#endif
