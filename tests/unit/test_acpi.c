/*
 * ACPI tables: decoded here by byte offsets from the ACPI 6.0 spec (not by
 * the builder's structs), starting from the RSDP the way an OS finds it,
 * with a small AML walker for the DSDT.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/acpi.h"

static uint8_t region[ACPI_TABLES_SIZE];

static const struct acpi_config cfg_default = {
	.nr_cpus = 4,
	.pci_mmio32_base = 0xe0000000, .pci_mmio32_size = 0x1ec00000,
};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* What a build produced, and where each table landed. */
struct tables {
	uint64_t base;
	size_t used;
	uint64_t rsdp_gpa;
	const uint8_t *rsdp, *xsdt, *rsdt, *fadt, *facs, *dsdt, *madt;
};

static const uint8_t *at(const struct tables *t, uint64_t gpa, uint64_t len)
{
	if (gpa < t->base || gpa - t->base > t->used || len > t->used - (gpa - t->base))
		return NULL;
	return region + (gpa - t->base);
}

static uint64_t gpa_of(const struct tables *t, const uint8_t *p)
{
	return t->base + (uint64_t)(p - region);
}

static int build(const struct acpi_config *cfg, uint64_t base, struct tables *t)
{
	int rc;

	memset(t, 0, sizeof(*t));
	memset(region, 0xcc, sizeof(region));
	t->base = base;
	rc = acpi_build(cfg, region, base, sizeof(region), &t->rsdp_gpa);
	if (rc > 0)
		t->used = (size_t)rc;
	return rc;
}

/* An SDT at gpa: inside the output, length sane, checksum zero. */
static const uint8_t *sdt_at(const struct tables *t, uint64_t gpa, const char *sig)
{
	const uint8_t *h = at(t, gpa, 36);

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_FATAL(le32(h + 4) >= 36);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at(t, gpa, le32(h + 4)));
	CU_ASSERT(memcmp(h, sig, 4) == 0);
	CU_ASSERT_EQUAL(sum8(h, le32(h + 4)), 0);
	CU_ASSERT(memcmp(h + 10, "XENKVM", 6) == 0);
	return h;
}

/*
 * Follows RSDP -> XSDT/RSDT -> FADT/MADT -> DSDT/FACS, checking every
 * checksum and length, that RSDT and XSDT agree, and that the tables do
 * not overlap and account for the bytes used.
 */
static void walk(struct tables *t)
{
	const uint8_t *p;
	uint64_t found = 0;
	struct { const uint8_t *p; size_t len; } r[7];
	size_t total = 0, end = 0;
	unsigned int nr_xsdt;

	CU_ASSERT_FATAL(t->used > 0);
	/* The RSDP the OS is told about, found by the legacy scan too. */
	for (uint64_t gpa = (t->base + 15) & ~15ull; gpa + 36 <= t->base + t->used; gpa += 16) {
		p = at(t, gpa, 36);
		if (p && !memcmp(p, "RSD PTR ", 8) && !sum8(p, 20)) {
			found = gpa;
			break;
		}
	}
	CU_ASSERT_EQUAL(found, t->rsdp_gpa);
	CU_ASSERT_EQUAL(t->rsdp_gpa % 16, 0);
	t->rsdp = at(t, t->rsdp_gpa, 36);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->rsdp);
	CU_ASSERT(memcmp(t->rsdp, "RSD PTR ", 8) == 0);
	CU_ASSERT_EQUAL(sum8(t->rsdp, 20), 0);
	CU_ASSERT_EQUAL(sum8(t->rsdp, 36), 0);
	CU_ASSERT_EQUAL(t->rsdp[15], 2);			/* revision */
	CU_ASSERT_EQUAL(le32(t->rsdp + 20), 36);		/* length */
	CU_ASSERT(memcmp(t->rsdp + 9, "XENKVM", 6) == 0);

	t->xsdt = sdt_at(t, le64(t->rsdp + 24), "XSDT");
	t->rsdt = sdt_at(t, le32(t->rsdp + 16), "RSDT");
	CU_ASSERT_EQUAL((le32(t->xsdt + 4) - 36) % 8, 0);
	nr_xsdt = (le32(t->xsdt + 4) - 36) / 8;
	CU_ASSERT_EQUAL(nr_xsdt, 2);
	CU_ASSERT_EQUAL(le32(t->rsdt + 4), 36 + 4 * nr_xsdt);
	for (unsigned int i = 0; i < nr_xsdt; i++) {
		uint64_t gpa = le64(t->xsdt + 36 + 8 * i);
		const uint8_t *h = at(t, gpa, 36);

		CU_ASSERT_EQUAL(le32(t->rsdt + 36 + 4 * i), gpa);
		CU_ASSERT_PTR_NOT_NULL_FATAL(h);
		if (!memcmp(h, "FACP", 4))
			t->fadt = sdt_at(t, gpa, "FACP");
		else if (!memcmp(h, "APIC", 4))
			t->madt = sdt_at(t, gpa, "APIC");
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->fadt);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->madt);

	CU_ASSERT_EQUAL(le32(t->fadt + 40), le64(t->fadt + 140));	/* DSDT == X_DSDT */
	t->dsdt = sdt_at(t, le64(t->fadt + 140), "DSDT");
	t->facs = at(t, le32(t->fadt + 36), 64);
	CU_ASSERT_EQUAL(le64(t->fadt + 132), 0);	/* only the 32-bit FACS pointer below 4G */
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->facs);
	CU_ASSERT(memcmp(t->facs, "FACS", 4) == 0);
	CU_ASSERT_EQUAL(le32(t->facs + 4), 64);
	CU_ASSERT_EQUAL(le32(t->fadt + 36) % 64, 0);

	r[0].p = t->rsdp; r[0].len = 36;
	r[1].p = t->xsdt; r[2].p = t->rsdt; r[3].p = t->fadt;
	r[4].p = t->dsdt; r[5].p = t->madt;
	for (int i = 1; i <= 5; i++)
		r[i].len = le32(r[i].p + 4);
	r[6].p = t->facs; r[6].len = 64;
	for (int i = 0; i < 7; i++) {
		total += r[i].len;
		if ((size_t)(r[i].p - region) + r[i].len > end)
			end = (size_t)(r[i].p - region) + r[i].len;
		for (int j = 0; j < i; j++)
			CU_ASSERT(r[i].p + r[i].len <= r[j].p || r[j].p + r[j].len <= r[i].p);
	}
	CU_ASSERT_EQUAL(end, t->used);
	/* only alignment padding between them: < 16 + 64 + 8 per table */
	CU_ASSERT(t->used - total < 16 + 64 + 8 * 5);
}

/* --- AML walker ------------------------------------------------------------ */

struct aml_obj {
	char path[64];		/* "\\_SB_.PCI0._HID" */
	char kind;		/* 'N' Name, 'S' Scope, 'D' Device, 'M' Method */
	const uint8_t *val, *val_end;	/* a Name's data object */
};

static struct aml_obj objs[64];
static unsigned int nr_objs;

static int pkglen(const uint8_t *p, const uint8_t *end, uint32_t *len_r, size_t *n_r)
{
	size_t n;

	if (p >= end)
		return -1;
	n = 1 + (p[0] >> 6);
	if ((size_t)(end - p) < n)
		return -1;
	if (n == 1) {
		*len_r = p[0] & 0x3f;
	} else {
		*len_r = p[0] & 0x0f;
		for (size_t i = 1; i < n; i++)
			*len_r |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	}
	*n_r = n;
	return *len_r >= n && *len_r <= (size_t)(end - p) ? 0 : -1;
}

/* NameString at p relative to scope; the absolute path goes to out. */
static int namestring(const uint8_t *p, const uint8_t *end, const char *scope,
		      char out[64], size_t *used_r)
{
	const uint8_t *s = p;
	unsigned int nsegs;
	char path[64];

	snprintf(path, sizeof(path), "%s", scope);
	if (p < end && *p == '\\') {
		strcpy(path, "\\");
		p++;
	}
	while (p < end && *p == '^') {
		char *dot = strrchr(path, '.');

		if (dot)
			*dot = 0;
		else
			strcpy(path, "\\");
		p++;
	}
	if (p >= end)
		return -1;
	if (*p == 0x00) {
		nsegs = 0;
		p++;
	} else if (*p == 0x2e) {
		nsegs = 2;
		p++;
	} else if (*p == 0x2f) {
		if (end - p < 2)
			return -1;
		nsegs = p[1];
		p += 2;
	} else {
		nsegs = 1;
	}
	if ((size_t)(end - p) < 4 * (size_t)nsegs)
		return -1;
	for (unsigned int i = 0; i < nsegs; i++, p += 4) {
		size_t l = strlen(path);

		if (l + 6 > sizeof(path))
			return -1;
		if (strcmp(path, "\\"))
			path[l++] = '.';
		memcpy(path + l, p, 4);
		path[l + 4] = 0;
	}
	strcpy(out, path);
	*used_r = (size_t)(p - s);
	return 0;
}

/* Length of the data object at p, or -1. */
static long dataobj(const uint8_t *p, const uint8_t *end)
{
	uint32_t len;
	size_t n;

	if (p >= end)
		return -1;
	switch (*p) {
	case 0x00: case 0x01: case 0xff:
		return 1;
	case 0x0a: return end - p >= 2 ? 2 : -1;
	case 0x0b: return end - p >= 3 ? 3 : -1;
	case 0x0c: return end - p >= 5 ? 5 : -1;
	case 0x0e: return end - p >= 9 ? 9 : -1;
	case 0x0d: {
		const uint8_t *z = memchr(p + 1, 0, (size_t)(end - p - 1));

		return z ? z - p + 1 : -1;
	}
	case 0x11: case 0x12:
		if (pkglen(p + 1, end, &len, &n))
			return -1;
		return 1 + (long)len;
	}
	return -1;
}

static int integer(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	long n = dataobj(p, end);

	if (n < 0)
		return -1;
	switch (*p) {
	case 0x00: *v = 0; return 0;
	case 0x01: *v = 1; return 0;
	case 0xff: *v = UINT64_MAX; return 0;
	case 0x0a: *v = p[1]; return 0;
	case 0x0b: *v = le16(p + 1); return 0;
	case 0x0c: *v = le32(p + 1); return 0;
	case 0x0e: *v = le64(p + 1); return 0;
	}
	return -1;
}

static int termlist(const uint8_t *p, const uint8_t *end, const char *scope)
{
	while (p < end) {
		struct aml_obj *o;
		const uint8_t *body_end;
		uint32_t len;
		size_t n, nl;
		long dl;

		if (nr_objs == sizeof(objs) / sizeof(objs[0]))
			return -1;
		o = &objs[nr_objs];
		memset(o, 0, sizeof(*o));
		if (*p == 0x08) {			/* NameOp */
			if (namestring(p + 1, end, scope, o->path, &nl))
				return -1;
			o->kind = 'N';
			o->val = p + 1 + nl;
			dl = dataobj(o->val, end);
			if (dl < 0)
				return -1;
			o->val_end = o->val + dl;
			nr_objs++;
			p = o->val_end;
			continue;
		}
		if (*p == 0x10 || *p == 0x14) {		/* ScopeOp, MethodOp */
			o->kind = *p == 0x10 ? 'S' : 'M';
			p += 1;
		} else if (*p == 0x5b && end - p >= 2 && p[1] == 0x82) {
			o->kind = 'D';
			p += 2;
		} else {
			return -1;
		}
		if (pkglen(p, end, &len, &n))
			return -1;
		body_end = p + len;
		if (namestring(p + n, body_end, scope, o->path, &nl))
			return -1;
		nr_objs++;
		p += n + nl;
		if (o->kind == 'M')
			p = body_end;		/* method bodies are not walked */
		else if (termlist(p, body_end, o->path))
			return -1;
		p = body_end;
	}
	return p == end ? 0 : -1;
}

static const struct aml_obj *find(const char *path)
{
	for (unsigned int i = 0; i < nr_objs; i++)
		if (!strcmp(objs[i].path, path))
			return &objs[i];
	return NULL;
}

static int walk_dsdt(const struct tables *t)
{
	nr_objs = 0;
	return termlist(t->dsdt + 36, t->dsdt + le32(t->dsdt + 4), "\\");
}

static int name_int(const char *path, uint64_t *v)
{
	const struct aml_obj *o = find(path);

	return o && o->kind == 'N' ? integer(o->val, o->val_end, v) : -1;
}

/* Elements of the package at p (pkglen-checked); returns the count or -1. */
static int package(const uint8_t *p, const uint8_t *end, const uint8_t **el, int max)
{
	uint32_t len;
	size_t n;
	const uint8_t *q, *pend;
	int count = 0;

	if (p >= end || *p != 0x12 || pkglen(p + 1, end, &len, &n))
		return -1;
	pend = p + 1 + len;
	q = p + 1 + n + 1;
	while (q < pend) {
		long dl = dataobj(q, pend);

		if (dl < 0 || count == max)
			return -1;
		el[count++] = q;
		q += dl;
	}
	return q == pend && count == p[1 + n] ? count : -1;
}

/* Contents of the buffer at p; BufferSize must match. */
static int buffer(const uint8_t *p, const uint8_t *end, const uint8_t **data, size_t *size)
{
	uint32_t len;
	size_t n;
	uint64_t bsize;
	long il;

	if (p >= end || *p != 0x11 || pkglen(p + 1, end, &len, &n))
		return -1;
	il = dataobj(p + 1 + n, p + 1 + len);
	if (il < 0 || integer(p + 1 + n, p + 1 + len, &bsize))
		return -1;
	*data = p + 1 + n + il;
	*size = (size_t)(p + 1 + len - *data);
	return bsize == *size ? 0 : -1;
}

/* Resource template decoded into the few things the tests look at. */
struct res {
	int ok;			/* well-formed, EndTag last with checksum 0 */
	unsigned int nr_io, nr_irq, nr_word_io, nr_bus, nr_mem32, nr_mem64;
	uint16_t io_min[4], io_len[4];
	uint16_t irq_mask[4];
	uint64_t wio_min[4], wio_max[4], wio_len[4];
	uint64_t bus_min, bus_max;
	uint64_t mem32_min, mem32_max, mem32_len, mem64_min, mem64_max, mem64_len;
};

static void resources(const uint8_t *p, size_t size, struct res *r)
{
	const uint8_t *end = p + size;

	memset(r, 0, sizeof(*r));
	while (p < end) {
		size_t dlen;

		if (!(p[0] & 0x80)) {			/* small item */
			dlen = 1 + (p[0] & 7);
			if ((size_t)(end - p) < dlen)
				return;
			switch (p[0] >> 3) {
			case 0x8:			/* IO */
				if (dlen != 8 || r->nr_io == 4)
					return;
				r->io_min[r->nr_io] = le16(p + 2);
				CU_ASSERT_EQUAL(le16(p + 4), le16(p + 2));
				r->io_len[r->nr_io++] = p[7];
				break;
			case 0x4:			/* IRQ */
				if (r->nr_irq == 4)
					return;
				r->irq_mask[r->nr_irq++] = le16(p + 1);
				break;
			case 0xf:			/* End */
				r->ok = dlen == 2 && p + 2 == end && p[1] == 0;
				return;
			default:
				return;
			}
		} else {				/* large item */
			unsigned int w;

			if (end - p < 3)
				return;
			dlen = 3 + (size_t)le16(p + 1);
			if ((size_t)(end - p) < dlen)
				return;
			w = p[0] == 0x88 ? 2 : p[0] == 0x87 ? 4 : p[0] == 0x8a ? 8 : 0;
			if (!w || dlen != 6 + 5 * (size_t)w)
				return;
#define FIELD(i) (w == 2 ? le16(p + 6 + (i) * 2) : w == 4 ? le32(p + 6 + (i) * 4) : le64(p + 6 + (i) * 8))
			CU_ASSERT_EQUAL(FIELD(0), 0);		/* granularity */
			CU_ASSERT_EQUAL(FIELD(3), 0);		/* translation */
			CU_ASSERT_EQUAL(p[4], 0x0c);		/* producer, fixed min/max */
			if (p[3] == 2) {
				r->nr_bus++;
				r->bus_min = FIELD(1);
				r->bus_max = FIELD(2);
			} else if (p[3] == 1 && r->nr_word_io < 4) {
				r->wio_min[r->nr_word_io] = FIELD(1);
				r->wio_max[r->nr_word_io] = FIELD(2);
				r->wio_len[r->nr_word_io++] = FIELD(4);
			} else if (p[3] == 0 && w == 4) {
				r->nr_mem32++;
				r->mem32_min = FIELD(1);
				r->mem32_max = FIELD(2);
				r->mem32_len = FIELD(4);
			} else if (p[3] == 0 && w == 8) {
				r->nr_mem64++;
				r->mem64_min = FIELD(1);
				r->mem64_max = FIELD(2);
				r->mem64_len = FIELD(4);
			} else {
				return;
			}
#undef FIELD
		}
		p += dlen;
	}
}

static int name_resources(const char *path, struct res *r)
{
	const struct aml_obj *o = find(path);
	const uint8_t *data;
	size_t size;

	if (!o || o->kind != 'N' || buffer(o->val, o->val_end, &data, &size))
		return -1;
	resources(data, size, r);
	return r->ok ? 0 : -1;
}

/* --- tests ------------------------------------------------------------------ */

static void test_chain(void)
{
	static const unsigned int cpus[] = { 1, 2, 64, 255 };
	struct acpi_config cfg = cfg_default;
	struct tables t;

	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		for (int with64 = 0; with64 < 2; with64++) {
			cfg.nr_cpus = cpus[i];
			cfg.pci_mmio64_base = with64 ? 1ull << 40 : 0;
			cfg.pci_mmio64_size = with64 ? 1ull << 36 : 0;
			CU_ASSERT_FATAL(build(&cfg, ACPI_TABLES_GPA, &t) > 0);
			CU_ASSERT(t.used <= ACPI_TABLES_MAX_SIZE);
			walk(&t);
			CU_ASSERT_EQUAL(t.rsdp_gpa, ACPI_TABLES_GPA);
		}
	}
}

static void test_madt(void)
{
	static const unsigned int cpus[] = { 1, 2, 64, 255 };
	struct acpi_config cfg = cfg_default;
	struct tables t;

	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		unsigned int n = cpus[i], nr_lapic = 0, nr_ioapic = 0, nr_nmi = 0;
		unsigned int seen[256] = { 0 };
		int iso_irq0 = 0, iso_sci = 0, other = 0;
		const uint8_t *p, *end;

		cfg.nr_cpus = n;
		CU_ASSERT_FATAL(build(&cfg, ACPI_TABLES_GPA, &t) > 0);
		walk(&t);
		CU_ASSERT_EQUAL(le32(t.madt + 36), 0xfee00000);
		CU_ASSERT_EQUAL(le32(t.madt + 40) & 1, 1);	/* PCAT_COMPAT */
		p = t.madt + 44;
		end = t.madt + le32(t.madt + 4);
		while (p < end) {
			CU_ASSERT_FATAL(end - p >= 2 && p[1] >= 2 && p[1] <= end - p);
			switch (p[0]) {
			case 0:
				CU_ASSERT_FATAL(p[1] == 8);
				CU_ASSERT_EQUAL(p[2], p[3]);		/* UID == APIC id */
				CU_ASSERT_EQUAL(le32(p + 4), 1);	/* enabled */
				seen[p[3]]++;
				nr_lapic++;
				break;
			case 1:
				CU_ASSERT_FATAL(p[1] == 12);
				CU_ASSERT_EQUAL(p[2], ACPI_IOAPIC_ID);
				CU_ASSERT_EQUAL(le32(p + 4), 0xfec00000);
				CU_ASSERT_EQUAL(le32(p + 8), 0);	/* GSI base */
				nr_ioapic++;
				break;
			case 2:
				CU_ASSERT_FATAL(p[1] == 10);
				CU_ASSERT_EQUAL(p[2], 0);		/* ISA */
				if (p[3] == 0 && le32(p + 4) == 2 && le16(p + 8) == 0x5)
					iso_irq0++;		/* edge, active high */
				else if (p[3] == 9 && le32(p + 4) == 9 && le16(p + 8) == 0xd)
					iso_sci++;		/* level, active high */
				else
					other++;
				break;
			case 4:
				CU_ASSERT_FATAL(p[1] == 6);
				CU_ASSERT_EQUAL(p[2], 0xff);		/* all processors */
				CU_ASSERT_EQUAL(p[5], 1);		/* LINT1 */
				nr_nmi++;
				break;
			default:
				other++;
			}
			p += p[1];
		}
		CU_ASSERT(p == end);
		CU_ASSERT_EQUAL(nr_lapic, n);
		for (unsigned int id = 0; id < 256; id++)
			CU_ASSERT_EQUAL(seen[id], id < n ? 1u : 0u);
		CU_ASSERT_EQUAL(nr_ioapic, 1);
		CU_ASSERT_EQUAL(iso_irq0, 1);
		CU_ASSERT_EQUAL(iso_sci, 1);
		CU_ASSERT_EQUAL(nr_nmi, 1);
		CU_ASSERT_EQUAL(other, 0);
	}
}

static void check_gas_io(const uint8_t *g, unsigned int bits, uint64_t port)
{
	CU_ASSERT_EQUAL(g[0], 1);		/* SystemIO */
	CU_ASSERT_EQUAL(g[1], bits);
	CU_ASSERT_EQUAL(g[2], 0);
	CU_ASSERT_EQUAL(le64(g + 4), port);
}

static void test_fadt(void)
{
	struct tables t;
	const uint8_t *f;
	uint32_t flags;

	CU_ASSERT_FATAL(build(&cfg_default, ACPI_TABLES_GPA, &t) > 0);
	walk(&t);
	f = t.fadt;
	CU_ASSERT_EQUAL(le32(f + 4), 276);
	CU_ASSERT_EQUAL(f[8], 6);			/* FADT major */
	CU_ASSERT_EQUAL(le16(f + 46), 9);		/* SCI_INT */
	CU_ASSERT_EQUAL(le32(f + 48), 0);		/* SMI_CMD: ACPI mode fixed on */
	CU_ASSERT_EQUAL(le32(f + 56), 0x600);		/* PM1a_EVT_BLK */
	CU_ASSERT_EQUAL(le32(f + 60), 0);
	CU_ASSERT_EQUAL(le32(f + 64), 0x604);		/* PM1a_CNT_BLK */
	CU_ASSERT_EQUAL(le32(f + 68), 0);
	CU_ASSERT_EQUAL(le32(f + 72), 0);		/* no PM2 */
	CU_ASSERT_EQUAL(le32(f + 76), 0x608);		/* PM_TMR_BLK */
	CU_ASSERT_EQUAL(le32(f + 80), 0);		/* no GPE0 */
	CU_ASSERT_EQUAL(f[88], 4);
	CU_ASSERT_EQUAL(f[89], 2);
	CU_ASSERT_EQUAL(f[91], 4);
	CU_ASSERT_EQUAL(f[92], 0);
	CU_ASSERT(le16(f + 96) > 100);			/* no C2 */
	CU_ASSERT(le16(f + 98) > 1000);			/* no C3 */
	CU_ASSERT_EQUAL(f[108], 0x32);			/* CMOS century */
	CU_ASSERT_EQUAL(le16(f + 109), 0x5);		/* legacy devices, no VGA, no 8042 */
	flags = le32(f + 112);
	CU_ASSERT(flags & (1u << 0));			/* WBINVD */
	CU_ASSERT(flags & (1u << 2));			/* PROC_C1 */
	CU_ASSERT(flags & (1u << 10));			/* RESET_REG_SUP */
	CU_ASSERT_FALSE(flags & (1u << 4));		/* fixed power button */
	CU_ASSERT_FALSE(flags & (1u << 8));		/* 24-bit timer */
	CU_ASSERT_FALSE(flags & (1u << 20));		/* not HW-reduced */
	check_gas_io(f + 116, 8, 0xcf9);		/* RESET_REG */
	CU_ASSERT_EQUAL(f[119], 1);			/* byte access */
	CU_ASSERT_EQUAL(f[128], 0x06);			/* RESET_VALUE */
	CU_ASSERT_EQUAL(le64(f + 140), gpa_of(&t, t.dsdt));
	check_gas_io(f + 148, 32, 0x600);		/* X_PM1a_EVT_BLK */
	check_gas_io(f + 172, 16, 0x604);		/* X_PM1a_CNT_BLK */
	check_gas_io(f + 208, 32, 0x608);		/* X_PM_TMR_BLK */
	CU_ASSERT_EQUAL(le64(f + 164), 0);		/* X_PM1b_EVT_BLK address */
	CU_ASSERT_EQUAL(le64(f + 224), 0);		/* X_GPE0_BLK address */
	/* constants the VMM decodes with */
	CU_ASSERT_EQUAL(ACPI_PM1A_EVT_PORT, 0x600);
	CU_ASSERT_EQUAL(ACPI_RESET_PORT, 0xcf9);
}

static void test_dsdt(void)
{
	struct acpi_config cfg = cfg_default;
	const struct aml_obj *o;
	const uint8_t *el[256], *sub[8];
	unsigned int hits[ACPI_PCI_SLOTS][4];
	struct tables t;
	struct res r;
	uint64_t v;
	int n;

	for (int with64 = 0; with64 < 2; with64++) {
		cfg.pci_mmio64_base = with64 ? 0x8000000000ull : 0;
		cfg.pci_mmio64_size = with64 ? 0x4000000000ull : 0;
		CU_ASSERT_FATAL(build(&cfg, ACPI_TABLES_GPA, &t) > 0);
		walk(&t);
		CU_ASSERT_EQUAL(t.dsdt[8], 2);		/* 64-bit integers */
		CU_ASSERT_FATAL(walk_dsdt(&t) == 0);

		/* \_S5_ = { SLP_TYPa, SLP_TYPb, ... } */
		o = find("\\_S5_");
		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		n = package(o->val, o->val_end, el, 8);
		CU_ASSERT_FATAL(n >= 2);
		CU_ASSERT(integer(el[0], o->val_end, &v) == 0 && v == ACPI_S5_SLP_TYP);
		CU_ASSERT(integer(el[1], o->val_end, &v) == 0 && v == ACPI_S5_SLP_TYP);

		o = find("\\_SB_");
		CU_ASSERT(o && o->kind == 'S');
		o = find("\\_SB_.PCI0");
		CU_ASSERT(o && o->kind == 'D');
		CU_ASSERT(name_int("\\_SB_.PCI0._HID", &v) == 0 && v == 0x030ad041);
		CU_ASSERT(name_int("\\_SB_.PCI0._UID", &v) == 0 && v == 0);
		CU_ASSERT(name_int("\\_SB_.PCI0._BBN", &v) == 0 && v == 0);
		CU_ASSERT(name_int("\\_SB_.PCI0._SEG", &v) == 0 && v == 0);
		CU_ASSERT_PTR_NULL(find("\\_SB_.PCI0._ADR"));	/* _HID xor _ADR */

		CU_ASSERT_FATAL(name_resources("\\_SB_.PCI0._CRS", &r) == 0);
		CU_ASSERT_EQUAL(r.nr_bus, 1);
		CU_ASSERT_EQUAL(r.bus_min, 0);
		CU_ASSERT_EQUAL(r.bus_max, 0xff);
		CU_ASSERT_EQUAL(r.nr_io, 1);
		CU_ASSERT_EQUAL(r.io_min[0], 0xcf8);
		CU_ASSERT_EQUAL(r.io_len[0], 8);
		CU_ASSERT_EQUAL(r.nr_word_io, 2);
		CU_ASSERT(r.wio_min[0] == 0 && r.wio_max[0] == 0xcf7 && r.wio_len[0] == 0xcf8);
		CU_ASSERT(r.wio_min[1] == 0xd00 && r.wio_max[1] == 0xffff && r.wio_len[1] == 0xf300);
		CU_ASSERT_EQUAL(r.nr_mem32, 1);
		CU_ASSERT_EQUAL(r.mem32_min, cfg.pci_mmio32_base);
		CU_ASSERT_EQUAL(r.mem32_max, cfg.pci_mmio32_base + cfg.pci_mmio32_size - 1);
		CU_ASSERT_EQUAL(r.mem32_len, cfg.pci_mmio32_size);
		CU_ASSERT_EQUAL(r.nr_mem64, (unsigned int)with64);
		if (with64) {
			CU_ASSERT_EQUAL(r.mem64_min, cfg.pci_mmio64_base);
			CU_ASSERT_EQUAL(r.mem64_max, cfg.pci_mmio64_base + cfg.pci_mmio64_size - 1);
			CU_ASSERT_EQUAL(r.mem64_len, cfg.pci_mmio64_size);
		}

		/* _PRT: every slot x pin exactly once, routed per acpi_pci_intx_gsi() */
		memset(hits, 0, sizeof(hits));
		o = find("\\_SB_.PCI0._PRT");
		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		n = package(o->val, o->val_end, el, 256);
		CU_ASSERT_EQUAL_FATAL(n, ACPI_PCI_SLOTS * 4);
		for (int i = 0; i < n; i++) {
			uint64_t addr = 0, pin = 0, src = 0, gsi = 0;

			CU_ASSERT_FATAL(package(el[i], o->val_end, sub, 8) == 4);
			CU_ASSERT_FATAL(integer(sub[0], o->val_end, &addr) == 0 &&
					integer(sub[1], o->val_end, &pin) == 0 &&
					integer(sub[2], o->val_end, &src) == 0 &&
					integer(sub[3], o->val_end, &gsi) == 0);
			CU_ASSERT_EQUAL_FATAL(addr & 0xffff, 0xffff);
			CU_ASSERT_FATAL((addr >> 16) < ACPI_PCI_SLOTS && pin < 4);
			CU_ASSERT_EQUAL(src, 0);
			CU_ASSERT_EQUAL(gsi, (uint64_t)acpi_pci_intx_gsi((unsigned int)(addr >> 16),
									  (unsigned int)pin));
			hits[addr >> 16][pin]++;
		}
		for (unsigned int s = 0; s < ACPI_PCI_SLOTS; s++)
			for (unsigned int pin = 0; pin < 4; pin++)
				CU_ASSERT_EQUAL(hits[s][pin], 1);

		/* COM1 -> ttyS0 */
		CU_ASSERT(name_int("\\_SB_.COM1._HID", &v) == 0 && v == 0x0105d041);
		CU_ASSERT_FATAL(name_resources("\\_SB_.COM1._CRS", &r) == 0);
		CU_ASSERT(r.nr_io == 1 && r.io_min[0] == 0x3f8 && r.io_len[0] == 8);
		CU_ASSERT(r.nr_irq == 1 && r.irq_mask[0] == 1u << 4);
		/* RTC */
		CU_ASSERT(name_int("\\_SB_.RTC_._HID", &v) == 0 && v == 0x000bd041);
		CU_ASSERT_FATAL(name_resources("\\_SB_.RTC_._CRS", &r) == 0);
		CU_ASSERT(r.nr_io == 1 && r.io_min[0] == 0x70 && r.io_len[0] == 2);
		CU_ASSERT(r.nr_irq == 1 && r.irq_mask[0] == 1u << 8);
	}
}

static void test_intx_rule(void)
{
	int gsi_of_inta[8];

	for (unsigned int s = 0; s < ACPI_PCI_SLOTS; s++) {
		for (unsigned int p = 0; p < 4; p++) {
			int g = acpi_pci_intx_gsi(s, p);

			CU_ASSERT(g >= ACPI_PCI_INTX_GSI_BASE &&
				  g < ACPI_PCI_INTX_GSI_BASE + ACPI_PCI_INTX_GSI_COUNT);
			CU_ASSERT(g < ACPI_IOAPIC_PINS);
			CU_ASSERT_EQUAL(g, 16 + (int)((s + p) % 8));
		}
	}
	/* neighbouring slots do not share INTA */
	for (unsigned int s = 0; s < 8; s++) {
		gsi_of_inta[s] = acpi_pci_intx_gsi(s, 0);
		for (unsigned int j = 0; j < s; j++)
			CU_ASSERT_NOT_EQUAL(gsi_of_inta[s], gsi_of_inta[j]);
	}
	CU_ASSERT_EQUAL(acpi_pci_intx_gsi(32, 0), -EINVAL);
	CU_ASSERT_EQUAL(acpi_pci_intx_gsi(0, 4), -EINVAL);
	CU_ASSERT_EQUAL(acpi_pci_intx_gsi(UINT32_MAX, UINT32_MAX), -EINVAL);
}

/* Every size short of what is needed fails with -ENOSPC and writes nothing past it. */
static void test_too_small(void)
{
	static uint8_t buf[ACPI_TABLES_MAX_SIZE + 64];
	struct acpi_config cfg = cfg_default;
	uint64_t rsdp = 0x1234;
	int need, wrong_rc = 0, overflow = 0;

	cfg.pci_mmio64_base = 1ull << 40;
	cfg.pci_mmio64_size = 1ull << 36;
	need = acpi_build(&cfg, buf, ACPI_TABLES_GPA, sizeof(buf), &rsdp);
	CU_ASSERT_FATAL(need > 0 && (size_t)need < sizeof(buf));
	for (int size = 0; size < need; size++) {
		memset(buf, 0x5a, sizeof(buf));
		if (acpi_build(&cfg, buf, ACPI_TABLES_GPA, (size_t)size, &rsdp) != -ENOSPC)
			wrong_rc++;
		for (size_t i = (size_t)size; i < sizeof(buf); i++)
			if (buf[i] != 0x5a)
				overflow++;
	}
	CU_ASSERT_EQUAL(wrong_rc, 0);
	CU_ASSERT_EQUAL(overflow, 0);
	CU_ASSERT_EQUAL(rsdp, ACPI_TABLES_GPA);	/* untouched by the failures */
	CU_ASSERT_EQUAL(acpi_build(&cfg, buf, ACPI_TABLES_GPA, (size_t)need, NULL), need);
}

static void test_bad_config(void)
{
	struct acpi_config c;
	uint64_t rsdp;

#define EXPECT_EINVAL(field, value) do {					\
		c = cfg_default;						\
		c.field = (value);						\
		CU_ASSERT_EQUAL(acpi_build(&c, region, ACPI_TABLES_GPA,		\
					   sizeof(region), &rsdp), -EINVAL);	\
	} while (0)
	EXPECT_EINVAL(nr_cpus, 0);
	EXPECT_EINVAL(nr_cpus, 256);
	EXPECT_EINVAL(pci_mmio32_size, 0);
	EXPECT_EINVAL(pci_mmio32_size, 0x1ec00001);		/* runs into the IOAPIC */
	EXPECT_EINVAL(pci_mmio32_base, 0xfee00000);		/* LAPIC */
	EXPECT_EINVAL(pci_mmio32_base, 0x100000000ull);	/* not 32-bit */
	c = cfg_default;
	c.pci_mmio32_base = 0xfffff000;				/* crosses 4 GiB */
	c.pci_mmio32_size = 0x2000;
	CU_ASSERT_EQUAL(acpi_build(&c, region, ACPI_TABLES_GPA, sizeof(region), &rsdp), -EINVAL);
	c = cfg_default;
	c.pci_mmio64_base = 0xc0000000;				/* below 4 GiB */
	c.pci_mmio64_size = 0x1000;
	CU_ASSERT_EQUAL(acpi_build(&c, region, ACPI_TABLES_GPA, sizeof(region), &rsdp), -EINVAL);
	c.pci_mmio64_base = UINT64_MAX - 0xfff;			/* wraps */
	c.pci_mmio64_size = 0x2000;
	CU_ASSERT_EQUAL(acpi_build(&c, region, ACPI_TABLES_GPA, sizeof(region), &rsdp), -EINVAL);
#undef EXPECT_EINVAL
	CU_ASSERT_EQUAL(acpi_build(NULL, region, ACPI_TABLES_GPA, sizeof(region), &rsdp), -EINVAL);
	CU_ASSERT_EQUAL(acpi_build(&cfg_default, NULL, ACPI_TABLES_GPA, sizeof(region), &rsdp), -EINVAL);
	/* 32-bit pointers: the tables must sit below 4 GiB */
	CU_ASSERT_EQUAL(acpi_build(&cfg_default, region, 1ull << 32, sizeof(region), &rsdp), -EINVAL);
	CU_ASSERT_EQUAL(acpi_build(&cfg_default, region, (1ull << 32) - 0x800, sizeof(region), &rsdp),
			-ENOSPC);
	/* a valid window right below the IOAPIC, and one above the LAPIC */
	c = cfg_default;
	c.pci_mmio32_base = 0xfe000000;
	c.pci_mmio32_size = 0xc00000;
	CU_ASSERT(acpi_build(&c, region, ACPI_TABLES_GPA, sizeof(region), &rsdp) > 0);
	c.pci_mmio32_base = 0xff000000;
	c.pci_mmio32_size = 0x1000000;
	CU_ASSERT(acpi_build(&c, region, ACPI_TABLES_GPA, sizeof(region), &rsdp) > 0);
}

/* Unaligned and high placements: alignment rules hold, pointers follow. */
static void test_placement(void)
{
	static const uint64_t bases[] = { 0xe0004, 0xe0030, 0x7fff1, 0xfffe0000 };
	struct tables t;

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		CU_ASSERT_FATAL(build(&cfg_default, bases[i], &t) > 0);
		walk(&t);
		CU_ASSERT(t.rsdp_gpa >= bases[i] && t.rsdp_gpa < bases[i] + 16);
		CU_ASSERT_EQUAL(gpa_of(&t, t.facs) % 64, 0);
		CU_ASSERT_EQUAL(gpa_of(&t, t.fadt) % 8, 0);
	}
}

/* Same input, same bytes, whatever the memory held before. */
static void test_deterministic(void)
{
	static uint8_t a[ACPI_TABLES_MAX_SIZE], b[ACPI_TABLES_MAX_SIZE];
	int la, lb;

	memset(a, 0x00, sizeof(a));
	memset(b, 0xff, sizeof(b));
	la = acpi_build(&cfg_default, a, ACPI_TABLES_GPA, sizeof(a), NULL);
	lb = acpi_build(&cfg_default, b, ACPI_TABLES_GPA, sizeof(b), NULL);
	CU_ASSERT_FATAL(la > 0 && la == lb);
	CU_ASSERT(memcmp(a, b, (size_t)la) == 0);
}

/* type="pvh": hardware-reduced FADT with sleep registers, LAPIC-only MADT,
 * a DSDT with \_S5 and no devices. */
static void test_hw_reduced(void)
{
	struct acpi_config cfg = cfg_default;
	const struct aml_obj *o;
	const uint8_t *f, *p, *end, *el[8];
	unsigned int nr_lapic = 0, nr_nmi = 0, other = 0;
	struct tables t;
	uint64_t v;

	cfg.nr_cpus = 4;
	cfg.hw_reduced = true;
	CU_ASSERT_FATAL(build(&cfg, ACPI_TABLES_GPA, &t) > 0);
	walk(&t);
	f = t.fadt;
	CU_ASSERT(le32(f + 112) & (1u << 20));		/* HW_REDUCED_ACPI */
	CU_ASSERT_EQUAL(le16(f + 46), 0);		/* no SCI */
	CU_ASSERT_EQUAL(le32(f + 56), 0);		/* no PM1a_EVT_BLK */
	CU_ASSERT_EQUAL(le32(f + 64), 0);		/* no PM1a_CNT_BLK */
	CU_ASSERT_EQUAL(le32(f + 76), 0);		/* no PM timer */
	CU_ASSERT_EQUAL(le64(f + 148 + 4), 0);
	CU_ASSERT_EQUAL(le64(f + 172 + 4), 0);
	CU_ASSERT_EQUAL(le16(f + 109), 0x24);		/* no VGA, no CMOS RTC, no legacy devices */
	CU_ASSERT_FALSE(le32(f + 112) & (1u << 10));	/* no reset register */
	check_gas_io(f + 244, 8, ACPI_SLEEP_CTL_PORT);	/* SLEEP_CONTROL_REG */
	check_gas_io(f + 256, 8, ACPI_SLEEP_STS_PORT);	/* SLEEP_STATUS_REG */
	CU_ASSERT_EQUAL(le64(f + 140), gpa_of(&t, t.dsdt));

	CU_ASSERT_EQUAL(le32(t.madt + 40) & 1, 0);	/* no 8259s */
	p = t.madt + 44;
	end = t.madt + le32(t.madt + 4);
	while (p < end) {
		CU_ASSERT_FATAL(end - p >= 2 && p[1] >= 2 && p[1] <= end - p);
		if (p[0] == 0)
			nr_lapic++;
		else if (p[0] == 4)
			nr_nmi++;
		else
			other++;		/* an IOAPIC or override would be a lie */
		p += p[1];
	}
	CU_ASSERT(p == end);
	CU_ASSERT_EQUAL(nr_lapic, 4);
	CU_ASSERT_EQUAL(nr_nmi, 1);
	CU_ASSERT_EQUAL(other, 0);

	CU_ASSERT_FATAL(walk_dsdt(&t) == 0);
	o = find("\\_S5_");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_FATAL(package(o->val, o->val_end, el, 8) >= 2);
	CU_ASSERT(integer(el[0], o->val_end, &v) == 0 && v == ACPI_S5_SLP_TYP);
	CU_ASSERT_PTR_NULL(find("\\_SB_.PCI0"));
	CU_ASSERT_PTR_NULL(find("\\_SB_.COM1"));

	/* The register the guest writes for S5. */
	CU_ASSERT_TRUE(acpi_sleep_ctl_is_s5((uint8_t)(ACPI_S5_SLP_TYP << 2 | 1u << 5)));
	CU_ASSERT_FALSE(acpi_sleep_ctl_is_s5((uint8_t)(ACPI_S5_SLP_TYP << 2)));
	CU_ASSERT_FALSE(acpi_sleep_ctl_is_s5((uint8_t)(1u << 5)));
}

static void test_pm1_cnt_decode(void)
{
	CU_ASSERT_TRUE(acpi_pm1_cnt_is_s5((uint16_t)(ACPI_S5_SLP_TYP << 10 | 1u << 13)));
	CU_ASSERT_TRUE(acpi_pm1_cnt_is_s5((uint16_t)(ACPI_S5_SLP_TYP << 10 | 1u << 13 | 1)));
	CU_ASSERT_FALSE(acpi_pm1_cnt_is_s5((uint16_t)(ACPI_S5_SLP_TYP << 10)));	/* no SLP_EN */
	CU_ASSERT_FALSE(acpi_pm1_cnt_is_s5((uint16_t)(1u << 13)));		/* SLP_TYP 0 */
	CU_ASSERT_FALSE(acpi_pm1_cnt_is_s5((uint16_t)((ACPI_S5_SLP_TYP ^ 1) << 10 | 1u << 13)));
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("acpi", NULL, NULL);
	CU_add_test(s, "chain", test_chain);
	CU_add_test(s, "madt", test_madt);
	CU_add_test(s, "fadt", test_fadt);
	CU_add_test(s, "dsdt", test_dsdt);
	CU_add_test(s, "intx_rule", test_intx_rule);
	CU_add_test(s, "too_small", test_too_small);
	CU_add_test(s, "bad_config", test_bad_config);
	CU_add_test(s, "placement", test_placement);
	CU_add_test(s, "deterministic", test_deterministic);
	CU_add_test(s, "pm1_cnt_decode", test_pm1_cnt_decode);
	CU_add_test(s, "hw_reduced", test_hw_reduced);
	return cunit_run(CU_BRM_NORMAL);
}
