#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/smbios.h"

#define SMBIOS_MAX_LEN   0xffff
#define MEM_DEVICE_MIB   (16ull << 10)     /* one type 17 per 16 GiB, as Xen's hvmloader */

/* Appends structures to one growing buffer: formatted area, then strings. */
struct sb {
	uint8_t *buf;
	size_t len, cap;
	size_t cur;              /* start of the structure being written */
	unsigned int nr_strings;
	unsigned int nr_structs;
	size_t max_struct;
	bool failed;
};

static void *sb_reserve(struct sb *b, size_t n)
{
	if (b->failed)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		uint8_t *p = realloc(b->buf, cap);

		if (!p) {
			b->failed = true;
			return NULL;
		}
		b->buf = p;
		b->cap = cap;
	}
	b->len += n;
	return b->buf + b->len - n;
}

/* Starts a structure with `len` bytes of formatted area (header included). */
static uint8_t *sb_begin(struct sb *b, uint8_t type, uint16_t handle, uint8_t len)
{
	uint8_t *p;

	b->cur = b->len;
	b->nr_strings = 0;
	p = sb_reserve(b, len);
	if (!p)
		return NULL;
	memset(p, 0, len);
	p[0] = type;
	p[1] = len;
	p[2] = (uint8_t)handle;
	p[3] = (uint8_t)(handle >> 8);
	return p;
}

/* Adds a string to the current structure; its number for the formatted area. */
static uint8_t sb_str(struct sb *b, const char *s)
{
	size_t n = strlen(s) + 1;
	uint8_t *p = sb_reserve(b, n);

	if (!p)
		return 0;
	memcpy(p, s, n);
	return (uint8_t)++b->nr_strings;
}

static void sb_end(struct sb *b)
{
	/* The string set ends with an extra NUL; with no strings, two NULs. */
	uint8_t *p = sb_reserve(b, b->nr_strings ? 1 : 2);

	if (!p)
		return;
	memset(p, 0, b->nr_strings ? 1 : 2);
	b->nr_structs++;
	if (b->len - b->cur > b->max_struct)
		b->max_struct = b->len - b->cur;
}

/* Writes a little-endian field into the current structure (strings may move the buffer). */
static void sb_put(struct sb *b, size_t off, uint64_t v, unsigned int size)
{
	if (b->failed)
		return;
	for (unsigned int i = 0; i < size; i++)
		b->buf[b->cur + off + i] = (uint8_t)(v >> (8 * i));
}

static void smbios_type0(struct sb *b, const char *version)
{
	if (!sb_begin(b, 0, 0x0000, 0x18))
		return;
	sb_put(b, 4, sb_str(b, "Xen"), 1);                 /* vendor */
	sb_put(b, 5, sb_str(b, version), 1);               /* BIOS version */
	sb_put(b, 6, 0xe800, 2);                           /* starting segment */
	sb_put(b, 8, sb_str(b, "04/01/2014"), 1);          /* release date */
	sb_put(b, 0x0a, 0x08, 8);                          /* characteristics: not supported */
	sb_put(b, 0x13, 0x04, 1);                          /* ext. 2: targeted content distribution */
	sb_put(b, 0x14, 0, 1);                             /* BIOS major/minor release */
	sb_put(b, 0x15, 0, 1);
	sb_put(b, 0x16, 0xff, 1);                          /* no embedded controller */
	sb_put(b, 0x17, 0xff, 1);
	sb_end(b);
}

static void smbios_type1(struct sb *b, const struct smbios_config *cfg)
{
	char serial[37] = "";
	const uint8_t *u = cfg->uuid;

	if (!sb_begin(b, 1, 0x0100, 0x1b))
		return;
	sb_put(b, 4, sb_str(b, "Xen"), 1);
	sb_put(b, 5, sb_str(b, "HVM domU"), 1);
	sb_put(b, 6, sb_str(b, cfg->version), 1);
	if (u) {
		/* Xen puts the UUID in the serial number too. */
		snprintf(serial, sizeof(serial),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
			 u[13], u[14], u[15]);
		sb_put(b, 7, sb_str(b, serial), 1);
		/* SMBIOS 2.6+: the first three fields little-endian. */
		sb_put(b, 8, (uint32_t)u[0] << 24 | u[1] << 16 | u[2] << 8 | u[3], 4);
		sb_put(b, 12, (uint16_t)(u[4] << 8 | u[5]), 2);
		sb_put(b, 14, (uint16_t)(u[6] << 8 | u[7]), 2);
		for (unsigned int i = 8; i < 16; i++)
			sb_put(b, 8 + i, u[i], 1);
	}
	sb_put(b, 0x18, 0x06, 1);                          /* wake-up: power switch */
	sb_end(b);
}

static void smbios_type3(struct sb *b)
{
	if (!sb_begin(b, 3, 0x0300, 0x0d))
		return;
	sb_put(b, 4, sb_str(b, "Xen"), 1);
	sb_put(b, 5, 0x01, 1);                             /* type: other */
	sb_put(b, 9, 0x03, 1);                             /* boot-up state: safe */
	sb_put(b, 10, 0x03, 1);                            /* power supply state */
	sb_put(b, 11, 0x03, 1);                            /* thermal state */
	sb_put(b, 12, 0x02, 1);                            /* security: unknown */
	sb_end(b);
}

static void smbios_type4(struct sb *b, unsigned int cpu)
{
	char name[16];

	snprintf(name, sizeof(name), "CPU %u", cpu + 1);
	if (!sb_begin(b, 4, (uint16_t)(0x0400 + cpu), 0x20))
		return;
	sb_put(b, 4, sb_str(b, name), 1);                  /* socket designation */
	sb_put(b, 5, 0x03, 1);                             /* central processor */
	sb_put(b, 6, 0x01, 1);                             /* family: other */
	sb_put(b, 7, sb_str(b, "Xen"), 1);                 /* manufacturer */
	sb_put(b, 0x18, 0x41, 1);                          /* socket populated, CPU enabled */
	sb_put(b, 0x19, 0x01, 1);                          /* upgrade: other */
	sb_put(b, 0x1a, 0xffff, 2);                        /* L1..L3 cache handles: none */
	sb_put(b, 0x1c, 0xffff, 2);
	sb_put(b, 0x1e, 0xffff, 2);
	sb_end(b);
}

static void smbios_type16(struct sb *b, uint64_t ram, unsigned int nr_devices)
{
	uint64_t kib = ram >> 10;

	if (!sb_begin(b, 16, 0x1000, 0x0f))
		return;
	sb_put(b, 4, 0x01, 1);                             /* location: other */
	sb_put(b, 5, 0x03, 1);                             /* use: system memory */
	sb_put(b, 6, 0x06, 1);                             /* error correction: multi-bit ECC */
	sb_put(b, 7, kib < 0x80000000ull ? kib : 0x80000000ull, 4);
	sb_put(b, 0x0b, 0xfffe, 2);                        /* no error information */
	sb_put(b, 0x0d, nr_devices, 2);
	sb_end(b);
}

static void smbios_type17(struct sb *b, unsigned int i, uint64_t mib)
{
	char loc[16];

	snprintf(loc, sizeof(loc), "DIMM %u", i);
	if (!sb_begin(b, 17, (uint16_t)(0x1100 + i), 0x15))
		return;
	sb_put(b, 4, 0x1000, 2);                           /* array handle */
	sb_put(b, 6, 0xfffe, 2);
	sb_put(b, 8, 64, 2);                               /* total width */
	sb_put(b, 0x0a, 64, 2);                            /* data width */
	sb_put(b, 0x0c, mib, 2);                           /* size in MiB (< 32 GiB) */
	sb_put(b, 0x0e, 0x09, 1);                          /* form factor: DIMM */
	sb_put(b, 0x10, sb_str(b, loc), 1);                /* device locator */
	sb_put(b, 0x12, 0x07, 1);                          /* type: RAM */
	sb_put(b, 0x13, 0x0002, 2);                        /* type detail: other */
	sb_end(b);
}

static void smbios_type19(struct sb *b, unsigned int i, uint64_t start, uint64_t len,
			  unsigned int nr_devices)
{
	if (!sb_begin(b, 19, (uint16_t)(0x1300 + i), 0x0f))
		return;
	sb_put(b, 4, start >> 10, 4);                      /* KiB */
	sb_put(b, 8, ((start + len) >> 10) - 1, 4);
	sb_put(b, 0x0c, 0x1000, 2);
	sb_put(b, 0x0e, nr_devices, 1);                    /* partition width */
	sb_end(b);
}

static void smbios_type32(struct sb *b)
{
	if (!sb_begin(b, 32, 0x2000, 0x0b))
		return;
	sb_put(b, 0x0a, 0, 1);                             /* no errors detected */
	sb_end(b);
}

static uint8_t smbios_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

void smbios_anchor_set_address(uint8_t anchor[SMBIOS_ANCHOR_LEN], uint32_t gpa)
{
	for (unsigned int i = 0; i < 4; i++)
		anchor[0x18 + i] = (uint8_t)(gpa >> (8 * i));
	anchor[0x15] = 0;
	anchor[0x15] = (uint8_t)-smbios_sum(anchor + 0x10, SMBIOS_ANCHOR_LEN - 0x10);
	anchor[4] = 0;
	anchor[4] = (uint8_t)-smbios_sum(anchor, 0x10);
}

int smbios_build(const struct smbios_config *cfg, uint8_t **tables_r, size_t *len_r,
		 uint8_t anchor[SMBIOS_ANCHOR_LEN])
{
	struct sb b = { 0 };
	uint64_t ram_mib;
	unsigned int nr_dev;
	const char *version = cfg->version ? cfg->version : "xenkvm";

	if (!cfg->nr_cpus || cfg->nr_cpus > 0x100 || !cfg->lowmem || cfg->lowmem > (1ull << 32))
		return -EINVAL;
	ram_mib = (cfg->lowmem + cfg->highmem) >> 20;
	nr_dev = (unsigned int)((ram_mib + MEM_DEVICE_MIB - 1) / MEM_DEVICE_MIB);
	if (nr_dev > 0xff)
		return -EINVAL;

	smbios_type0(&b, version);
	smbios_type1(&b, cfg);
	smbios_type3(&b);
	for (unsigned int i = 0; i < cfg->nr_cpus; i++)
		smbios_type4(&b, i);
	smbios_type16(&b, cfg->lowmem + cfg->highmem, nr_dev);
	for (unsigned int i = 0; i < nr_dev; i++) {
		uint64_t left = ram_mib - (uint64_t)i * MEM_DEVICE_MIB;

		smbios_type17(&b, i, left < MEM_DEVICE_MIB ? left : MEM_DEVICE_MIB);
	}
	smbios_type19(&b, 0, 0, cfg->lowmem, nr_dev);
	if (cfg->highmem)
		smbios_type19(&b, 1, 1ull << 32, cfg->highmem, nr_dev);
	smbios_type32(&b);
	if (sb_begin(&b, 127, 0x7f00, 4))
		sb_end(&b);
	if (b.failed) {
		free(b.buf);
		return -ENOMEM;
	}
	if (b.len > SMBIOS_MAX_LEN) {
		free(b.buf);
		return -EINVAL;
	}

	/* The 2.1 entry point; the firmware fills in the table's address. */
	memset(anchor, 0, SMBIOS_ANCHOR_LEN);
	memcpy(anchor, "_SM_", 4);
	anchor[5] = SMBIOS_ANCHOR_LEN;
	anchor[6] = 2;                                     /* version 2.8 */
	anchor[7] = 8;
	anchor[8] = (uint8_t)b.max_struct;
	anchor[9] = (uint8_t)(b.max_struct >> 8);
	memcpy(anchor + 0x10, "_DMI_", 5);
	anchor[0x16] = (uint8_t)b.len;
	anchor[0x17] = (uint8_t)(b.len >> 8);
	anchor[0x1c] = (uint8_t)b.nr_structs;
	anchor[0x1d] = (uint8_t)(b.nr_structs >> 8);
	anchor[0x1e] = 0x28;                               /* BCD revision 2.8 */
	smbios_anchor_set_address(anchor, 0);
	*tables_r = b.buf;
	*len_r = b.len;
	return 0;
}
