/*
 * A minimal SMBIOS (2.8 structures, 2.1 32-bit entry point) for firmware
 * boot, as fw_cfg files "etc/smbios/smbios-tables" and
 * "etc/smbios/smbios-anchor"; SeaBIOS copies the tables and fills in the
 * anchor's table address and checksums.  What Xen's hvmloader says about a
 * guest, the guest reads here too: manufacturer "Xen", product "HVM domU",
 * the domain's UUID.  Structures: type 0 (BIOS), 1 (system), 3 (chassis),
 * 4 per vCPU, 16 (memory array), 17 per 16 GiB of RAM, 19 per RAM range,
 * 32 (boot status), 127 (end).
 */
#ifndef XENKVM_SMBIOS_H
#define XENKVM_SMBIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMBIOS_ANCHOR_LEN 31

struct smbios_config {
	unsigned int nr_cpus;
	uint64_t lowmem;           /* RAM bytes from 0 */
	uint64_t highmem;          /* RAM bytes from 4 GiB */
	const uint8_t *uuid;       /* 16 bytes, or NULL */
	const char *version;       /* e.g. "4.17" (Xen's version string) */
};

/* Builds the structure table (malloc'd, *tables_r, *len_r) and the entry
 * point.  0, -EINVAL (no vCPU, no RAM, table over 64 KiB), -ENOMEM. */
int smbios_build(const struct smbios_config *cfg, uint8_t **tables_r, size_t *len_r,
		 uint8_t anchor[SMBIOS_ANCHOR_LEN]);

/* Points the entry point at tables placed at `gpa` and fixes its checksums
 * (for firmware that does not place them itself: SeaBIOS on Xen). */
void smbios_anchor_set_address(uint8_t anchor[SMBIOS_ANCHOR_LEN], uint32_t gpa);

#endif
