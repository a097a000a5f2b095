#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/acpi_loader.h"

#define SDT_HDR_LEN     36
#define RSDP_LEN        36
#define MAX_TABLES      32
#define MAX_ENTRIES     (2 + 4 * MAX_TABLES)

struct loader_ctx {
	const uint8_t *blob;
	size_t len;
	uint32_t tables[MAX_TABLES];       /* offsets of the tables found */
	unsigned int nr_tables;
	struct acpi_loader_entry *e;
	size_t nr;
};

static uint64_t get_le(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static struct acpi_loader_entry *loader_add(struct loader_ctx *c, uint32_t command)
{
	struct acpi_loader_entry *e;

	if (c->nr == MAX_ENTRIES)
		return NULL;
	e = &c->e[c->nr++];
	memset(e, 0, sizeof(*e));
	e->command = command;
	return e;
}

/* A table at `off`: inside the blob, its length plausible; added once. */
static int loader_visit(struct loader_ctx *c, uint64_t off)
{
	uint32_t tlen;

	if (off < RSDP_LEN || off > c->len - SDT_HDR_LEN)
		return -EINVAL;
	tlen = (uint32_t)get_le(c->blob + off + 4, 4);
	if (tlen < SDT_HDR_LEN && memcmp(c->blob + off, "FACS", 4))
		return -EINVAL;
	if (tlen > c->len - off)
		return -EINVAL;
	for (unsigned int i = 0; i < c->nr_tables; i++)
		if (c->tables[i] == off)
			return 0;
	if (c->nr_tables == MAX_TABLES)
		return -EINVAL;
	c->tables[c->nr_tables++] = (uint32_t)off;
	return 0;
}

/* The pointer field at `field` of `dest` (a file), `size` bytes, to the tables file. */
static int loader_pointer(struct loader_ctx *c, const char *dest, uint32_t field, uint8_t size)
{
	struct acpi_loader_entry *e = loader_add(c, ACPI_LOADER_ADD_POINTER);

	if (!e)
		return -EINVAL;
	strcpy(e->pointer.dest_file, dest);
	strcpy(e->pointer.src_file, ACPI_LOADER_TABLES_FILE);
	e->pointer.offset = field;
	e->pointer.size = size;
	return 0;
}

static int loader_checksum(struct loader_ctx *c, uint8_t *file, const char *name, uint32_t at,
			   uint32_t start, uint32_t length)
{
	struct acpi_loader_entry *e = loader_add(c, ACPI_LOADER_ADD_CHECKSUM);

	if (!e)
		return -EINVAL;
	file[at] = 0;
	strcpy(e->cksum.file, name);
	e->cksum.offset = at;
	e->cksum.start = start;
	e->cksum.length = length;
	return 0;
}

/* Pointer fields of the table at `off` that name other tables, visited too. */
static int loader_table_pointers(struct loader_ctx *c, uint32_t off)
{
	const uint8_t *t = c->blob + off;
	uint32_t tlen = (uint32_t)get_le(t + 4, 4);
	int rc = 0;

	if (!memcmp(t, "RSDT", 4) || !memcmp(t, "XSDT", 4)) {
		unsigned int size = t[0] == 'R' ? 4 : 8;

		for (uint32_t f = SDT_HDR_LEN; f + size <= tlen && !rc; f += size)
			if (!(rc = loader_visit(c, get_le(t + f, size))))
				rc = loader_pointer(c, ACPI_LOADER_TABLES_FILE, off + f, (uint8_t)size);
	} else if (!memcmp(t, "FACP", 4)) {
		/* FIRMWARE_CTRL, DSDT, X_FIRMWARE_CTRL, X_DSDT; 0 = absent */
		static const struct { uint32_t at; uint8_t size; } fields[] = {
			{ 36, 4 }, { 40, 4 }, { 132, 8 }, { 140, 8 },
		};

		for (unsigned int i = 0; i < 4 && !rc; i++) {
			uint64_t v;

			if (fields[i].at + fields[i].size > tlen)
				continue;
			v = get_le(t + fields[i].at, fields[i].size);
			if (v && !(rc = loader_visit(c, v)))
				rc = loader_pointer(c, ACPI_LOADER_TABLES_FILE, off + fields[i].at, fields[i].size);
		}
	}
	return rc;
}

int acpi_loader_build(const uint8_t *blob, size_t len, struct acpi_loader_files *out)
{
	struct loader_ctx c = { .blob = blob, .len = len };
	struct acpi_loader_entry *e;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!blob || len < RSDP_LEN + SDT_HDR_LEN || len > UINT32_MAX || memcmp(blob, "RSD PTR ", 8) ||
	    blob[15] < 2)
		return -EINVAL;
	c.e = calloc(MAX_ENTRIES, sizeof(*c.e));
	out->tables = malloc(len);
	out->rsdp = malloc(RSDP_LEN);
	if (!c.e || !out->tables || !out->rsdp) {
		rc = -ENOMEM;
		goto fail;
	}
	/* The tables file is the whole blob with the RSDP's bytes blanked, so
	 * offsets (and the FACS's 64-byte alignment) stay as acpi_build() made them. */
	memcpy(out->tables, blob, len);
	memset(out->tables, 0, RSDP_LEN);
	memcpy(out->rsdp, blob, RSDP_LEN);

	e = loader_add(&c, ACPI_LOADER_ALLOCATE);
	strcpy(e->alloc.file, ACPI_LOADER_TABLES_FILE);
	e->alloc.align = 64;
	e->alloc.zone = ACPI_LOADER_ZONE_HIGH;
	e = loader_add(&c, ACPI_LOADER_ALLOCATE);
	strcpy(e->alloc.file, ACPI_LOADER_RSDP_FILE);
	e->alloc.align = 16;
	e->alloc.zone = ACPI_LOADER_ZONE_FSEG;

	/* RSDT (offset 16, 4 bytes) and XSDT (offset 24, 8 bytes) from the RSDP. */
	if (loader_visit(&c, get_le(blob + 16, 4)) || loader_visit(&c, get_le(blob + 24, 8)) ||
	    loader_pointer(&c, ACPI_LOADER_RSDP_FILE, 16, 4) || loader_pointer(&c, ACPI_LOADER_RSDP_FILE, 24, 8))
		goto fail;
	/* Breadth-first: tables found while walking are appended and walked in turn. */
	for (unsigned int i = 0; i < c.nr_tables; i++)
		if (loader_table_pointers(&c, c.tables[i]))
			goto fail;
	for (unsigned int i = 0; i < c.nr_tables; i++) {
		uint32_t off = c.tables[i];

		if (!memcmp(blob + off, "FACS", 4))
			continue;   /* the one table without a checksum */
		if (loader_checksum(&c, out->tables, ACPI_LOADER_TABLES_FILE, off + 9, off,
				    (uint32_t)get_le(blob + off + 4, 4)))
			goto fail;
	}
	if (loader_checksum(&c, out->rsdp, ACPI_LOADER_RSDP_FILE, 8, 0, 20) ||
	    loader_checksum(&c, out->rsdp, ACPI_LOADER_RSDP_FILE, 32, 0, RSDP_LEN))
		goto fail;
	out->loader = c.e;
	out->nr_entries = c.nr;
	out->tables_len = len;
	out->rsdp_len = RSDP_LEN;
	return 0;
fail:
	free(c.e);
	acpi_loader_files_free(out);
	return rc;
}

void acpi_loader_files_free(struct acpi_loader_files *f)
{
	free(f->tables);
	free(f->rsdp);
	free(f->loader);
	memset(f, 0, sizeof(*f));
}
