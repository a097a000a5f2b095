/*
 * Builds the ACPI tables for one configuration and writes each table to
 * OUTDIR/<sig>.dat, following the pointers from the RSDP as an OS would,
 * for acpi-iasl-check.sh to disassemble and load with ACPICA's tools.
 *
 * usage: acpi-dump OUTDIR NR_CPUS [MMIO64_SIZE_GIB]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/acpi.h"

static uint8_t region[ACPI_TABLES_SIZE];
static size_t used;

static const uint8_t *at(uint64_t gpa, uint64_t len)
{
	if (gpa < ACPI_TABLES_GPA || gpa - ACPI_TABLES_GPA > used ||
	    len > used - (gpa - ACPI_TABLES_GPA))
		return NULL;
	return region + (gpa - ACPI_TABLES_GPA);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int dump(const char *dir, const char *name, uint64_t gpa, uint64_t len)
{
	const uint8_t *p = at(gpa, len);
	char path[4096];
	FILE *f;

	if (!p) {
		fprintf(stderr, "acpi-dump: %s at %#llx+%llu outside the tables\n", name,
			(unsigned long long)gpa, (unsigned long long)len);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

/* Dumps the SDT at gpa under its lower-cased signature. */
static int dump_sdt(const char *dir, uint64_t gpa)
{
	const uint8_t *h = at(gpa, 36);
	char name[5];

	if (!h)
		return -1;
	for (int i = 0; i < 4; i++)
		name[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
	name[4] = 0;
	return dump(dir, name, gpa, le32(h + 4));
}

int main(int argc, char **argv)
{
	struct acpi_config cfg = {
		.pci_mmio32_base = 0xe0000000, .pci_mmio32_size = 0x1ec00000,
	};
	const uint8_t *rsdp, *xsdt, *fadt;
	uint64_t rsdp_gpa;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: %s OUTDIR NR_CPUS [MMIO64_SIZE_GIB]\n", argv[0]);
		return 2;
	}
	cfg.nr_cpus = (unsigned int)strtoul(argv[2], NULL, 0);
	if (argc > 3) {
		cfg.pci_mmio64_base = 1ull << 40;
		cfg.pci_mmio64_size = strtoull(argv[3], NULL, 0) << 30;
	}
	rc = acpi_build(&cfg, region, ACPI_TABLES_GPA, sizeof(region), &rsdp_gpa);
	if (rc < 0) {
		fprintf(stderr, "acpi_build: %s\n", strerror(-rc));
		return 1;
	}
	used = (size_t)rc;

	rsdp = at(rsdp_gpa, 36);
	if (!rsdp || dump(argv[1], "rsdp", rsdp_gpa, 36))
		return 1;
	xsdt = at(le64(rsdp + 24), 36);
	if (!xsdt || dump_sdt(argv[1], le64(rsdp + 24)) || dump_sdt(argv[1], le32(rsdp + 16)))
		return 1;
	for (uint32_t off = 36; off + 8 <= le32(xsdt + 4); off += 8) {
		uint64_t gpa = le64(xsdt + off);

		if (dump_sdt(argv[1], gpa))
			return 1;
		fadt = at(gpa, 148);
		if (fadt && !memcmp(fadt, "FACP", 4) &&
		    (dump_sdt(argv[1], le64(fadt + 140)) ||
		     dump(argv[1], "facs", le32(fadt + 36), 64)))
			return 1;
	}
	return 0;
}
