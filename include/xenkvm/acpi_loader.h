/*
 * The ACPI tables handed to firmware the way QEMU does it: fw_cfg files
 * "etc/acpi/tables" and "etc/acpi/rsdp" plus "etc/table-loader", a list of
 * 128-byte little-endian commands (QEMU's bios-linker-loader format, which
 * SeaBIOS's romfile_loader.c executes): ALLOCATE places a file in guest
 * memory, ADD_POINTER adds a file's final address to a pointer field of
 * another, ADD_CHECKSUM fixes a checksum byte.  The firmware decides where
 * the tables live; the pointers and checksums follow.
 */
#ifndef XENKVM_ACPI_LOADER_H
#define XENKVM_ACPI_LOADER_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_LOADER_FILESZ        56
#define ACPI_LOADER_ENTRY_SIZE    128
#define ACPI_LOADER_ALLOCATE      1
#define ACPI_LOADER_ADD_POINTER   2
#define ACPI_LOADER_ADD_CHECKSUM  3
#define ACPI_LOADER_ZONE_HIGH     1
#define ACPI_LOADER_ZONE_FSEG     2

#define ACPI_LOADER_TABLES_FILE   "etc/acpi/tables"
#define ACPI_LOADER_RSDP_FILE     "etc/acpi/rsdp"
#define ACPI_LOADER_FILE          "etc/table-loader"

struct acpi_loader_entry {
	uint32_t command;
	union {
		struct {
			char file[ACPI_LOADER_FILESZ];
			uint32_t align;
			uint8_t zone;
		} __attribute__((packed)) alloc;
		struct {
			char dest_file[ACPI_LOADER_FILESZ];
			char src_file[ACPI_LOADER_FILESZ];
			uint32_t offset;
			uint8_t size;
		} __attribute__((packed)) pointer;
		struct {
			char file[ACPI_LOADER_FILESZ];
			uint32_t offset;
			uint32_t start;
			uint32_t length;
		} __attribute__((packed)) cksum;
		uint8_t pad[ACPI_LOADER_ENTRY_SIZE - 4];
	};
} __attribute__((packed));

struct acpi_loader_files {
	uint8_t *tables, *rsdp;
	struct acpi_loader_entry *loader;
	size_t tables_len, rsdp_len, nr_entries;
};

/*
 * Splits tables built by acpi_build() at base GPA 0 (so every pointer in
 * them is an offset into `blob`, RSDP at offset 0) into the three files.
 * Pointer fields hold offsets into the tables file and checksum bytes are
 * zero: only the loader's commands make them valid.  0, -EINVAL (the blob
 * is not such tables), -ENOMEM.  Free with acpi_loader_files_free().
 */
int acpi_loader_build(const uint8_t *blob, size_t len, struct acpi_loader_files *out);
void acpi_loader_files_free(struct acpi_loader_files *f);

#endif
