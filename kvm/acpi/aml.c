/* AML emitter: see include/xenkvm/aml.h for the model. */
#include <errno.h>
#include <string.h>

#include "xenkvm/aml.h"

void aml_init(struct aml_buf *b, void *mem, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->data = mem;
	b->cap = cap;
}

long aml_finish(const struct aml_buf *b)
{
	if (b->err)
		return b->err;
	if (b->depth)
		return -EINVAL;
	return (long)b->len;
}

static void aml_fail(struct aml_buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

static void aml_put(struct aml_buf *b, const void *p, size_t n)
{
	if (b->err)
		return;
	if (n > b->cap - b->len) {
		aml_fail(b, -ENOSPC);
		return;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void aml_put8(struct aml_buf *b, uint8_t v)
{
	aml_put(b, &v, 1);
}

static void aml_put_le(struct aml_buf *b, uint64_t v, unsigned int n)
{
	uint8_t tmp[8];

	for (unsigned int i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	aml_put(b, tmp, n);
}

/* One more element of the innermost open package, if that is what is open. */
static void aml_count(struct aml_buf *b)
{
	if (b->err || !b->depth)
		return;
	if (b->open[b->depth - 1].kind == AML_OPEN_PACKAGE)
		b->open[b->depth - 1].count++;
}

size_t aml_pkglen_encode(uint8_t out[4], uint32_t pkglen)
{
	size_t n;

	if (pkglen <= 0x3f) {
		out[0] = (uint8_t)pkglen;
		return 1;
	}
	if (pkglen <= 0xfff)
		n = 2;
	else if (pkglen <= 0xfffff)
		n = 3;
	else if (pkglen <= AML_PKGLEN_MAX)
		n = 4;
	else
		return 0;
	/* Lead byte: count of following bytes in bits 7:6, low nibble in 3:0. */
	out[0] = (uint8_t)(((n - 1) << 6) | (pkglen & 0xf));
	for (size_t i = 1; i < n; i++)
		out[i] = (uint8_t)(pkglen >> (4 + 8 * (i - 1)));
	return n;
}

size_t aml_pkglen_for_body(size_t body, uint32_t *pkglen_r)
{
	/* The PkgLength counts its own bytes, so the size depends on itself. */
	static const size_t max_for[5] = { 0, 0x3f, 0xfff, 0xfffff, AML_PKGLEN_MAX };

	for (size_t n = 1; n <= 4; n++) {
		if (body <= max_for[n] - n) {
			*pkglen_r = (uint32_t)(body + n);
			return n;
		}
	}
	return 0;
}

static size_t aml_integer_encode(uint8_t out[9], uint64_t v)
{
	unsigned int n;

	if (v == 0) {
		out[0] = AML_ZERO_OP;
		return 1;
	}
	if (v == 1) {
		out[0] = AML_ONE_OP;
		return 1;
	}
	if (v == UINT64_MAX) {	/* Ones is all-ones in a revision-2 table */
		out[0] = AML_ONES_OP;
		return 1;
	}
	if (v <= 0xff) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffffu) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (unsigned int i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return 1 + n;
}

void aml_integer(struct aml_buf *b, uint64_t v)
{
	uint8_t tmp[9];

	aml_put(b, tmp, aml_integer_encode(tmp, v));
	aml_count(b);
}

void aml_string(struct aml_buf *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7f) {
			aml_fail(b, -EINVAL);
			return;
		}
	}
	aml_put8(b, AML_STRING_PREFIX);
	aml_put(b, s, strlen(s) + 1);
	aml_count(b);
}

static int eisaid_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void aml_eisaid(struct aml_buf *b, const char *id)
{
	uint16_t vendor = 0, product = 0;
	uint32_t v;

	if (strlen(id) != 7) {
		aml_fail(b, -EINVAL);
		return;
	}
	/* Three letters, 5 bits each (A = 1), then four hex digits. */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(b, -EINVAL);
			return;
		}
		vendor = (uint16_t)((vendor << 5) | (id[i] - '@'));
	}
	for (int i = 3; i < 7; i++) {
		int h = eisaid_hex(id[i]);

		if (h < 0) {
			aml_fail(b, -EINVAL);
			return;
		}
		product = (uint16_t)((product << 4) | h);
	}
	/* The compressed id is stored big-endian, byte by byte. */
	v = (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xff) << 8 |
	    (uint32_t)(product >> 8) << 16 | (uint32_t)(product & 0xff) << 24;
	aml_integer(b, v);
}

static int nameseg_char_ok(char c, int first)
{
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return 1;
	return !first && c >= '0' && c <= '9';
}

void aml_namestring(struct aml_buf *b, const char *path)
{
	char segs[255][4];
	unsigned int nsegs = 0;
	const char *p = path;

	if (!*p) {
		aml_fail(b, -EINVAL);
		return;
	}
	if (*p == '\\') {
		aml_put8(b, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == '^') {
			aml_put8(b, AML_PARENT_PREFIX);
			p++;
		}
	}
	while (*p) {
		size_t n = strcspn(p, ".");

		if (n == 0 || n > 4 || nsegs == 255 || !nameseg_char_ok(p[0], 1)) {
			aml_fail(b, -EINVAL);
			return;
		}
		for (size_t i = 0; i < 4; i++) {
			if (i < n && !nameseg_char_ok(p[i], 0)) {
				aml_fail(b, -EINVAL);
				return;
			}
			segs[nsegs][i] = i < n ? p[i] : '_';
		}
		nsegs++;
		p += n;
		if (*p == '.' && *++p == '\0') {	/* trailing dot */
			aml_fail(b, -EINVAL);
			return;
		}
	}
	if (nsegs == 0) {
		aml_put8(b, 0);		/* NullName: only "\\" or "^" alone */
	} else if (nsegs == 2) {
		aml_put8(b, AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		aml_put8(b, AML_MULTI_NAME_PREFIX);
		aml_put8(b, (uint8_t)nsegs);
	}
	aml_put(b, segs, 4 * (size_t)nsegs);
}

void aml_name(struct aml_buf *b, const char *path)
{
	aml_put8(b, AML_NAME_OP);
	aml_namestring(b, path);
}

void aml_return(struct aml_buf *b)
{
	aml_put8(b, AML_RETURN_OP);
}

static void aml_open(struct aml_buf *b, enum aml_open_kind kind)
{
	if (b->err)
		return;
	if (b->depth == AML_MAX_DEPTH) {
		aml_fail(b, -EINVAL);
		return;
	}
	b->open[b->depth].start = b->len;
	b->open[b->depth].kind = kind;
	b->open[b->depth].count = 0;
	b->depth++;
}

void aml_scope_begin(struct aml_buf *b, const char *path)
{
	aml_put8(b, AML_SCOPE_OP);
	aml_open(b, AML_OPEN_SCOPE);
	aml_namestring(b, path);
}

void aml_device_begin(struct aml_buf *b, const char *path)
{
	aml_put8(b, AML_EXT_OP_PREFIX);
	aml_put8(b, AML_EXT_DEVICE_OP);
	aml_open(b, AML_OPEN_SCOPE);
	aml_namestring(b, path);
}

void aml_method_begin(struct aml_buf *b, const char *path, unsigned int nargs, int serialized)
{
	if (nargs > 7) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_put8(b, AML_METHOD_OP);
	aml_open(b, AML_OPEN_SCOPE);
	aml_namestring(b, path);
	/* MethodFlags: ArgCount 2:0, SerializeFlag 3, SyncLevel 7:4 (0) */
	aml_put8(b, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

void aml_package_begin(struct aml_buf *b)
{
	aml_put8(b, AML_PACKAGE_OP);
	aml_open(b, AML_OPEN_PACKAGE);
}

void aml_buffer_begin(struct aml_buf *b)
{
	aml_put8(b, AML_BUFFER_OP);
	aml_open(b, AML_OPEN_BUFFER);
}

void aml_end(struct aml_buf *b)
{
	uint8_t hdr[4 + 9];
	size_t hlen, extra = 0, body;
	uint8_t extra_bytes[9] = { 0 };
	struct aml_open *o;
	uint32_t pkglen;

	if (b->err)
		return;
	if (!b->depth) {
		aml_fail(b, -EINVAL);
		return;
	}
	o = &b->open[b->depth - 1];
	body = b->len - o->start;
	if (o->kind == AML_OPEN_PACKAGE) {
		if (o->count > 255) {	/* would need VarPackageOp */
			aml_fail(b, -EINVAL);
			return;
		}
		extra_bytes[0] = (uint8_t)o->count;
		extra = 1;
	} else if (o->kind == AML_OPEN_BUFFER) {
		extra = aml_integer_encode(extra_bytes, body);
	}
	hlen = aml_pkglen_for_body(body + extra, &pkglen);
	if (!hlen) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_pkglen_encode(hdr, pkglen);
	memcpy(hdr + hlen, extra_bytes, extra);
	hlen += extra;
	if (hlen > b->cap - b->len) {
		aml_fail(b, -ENOSPC);
		return;
	}
	memmove(b->data + o->start + hlen, b->data + o->start, body);
	memcpy(b->data + o->start, hdr, hlen);
	b->len += hlen;
	b->depth--;
	/* A closed package or buffer is itself one element of its parent. */
	if (o->kind != AML_OPEN_SCOPE)
		aml_count(b);
}

/* Large address-space descriptor (Word 0x88, DWord 0x87, QWord 0x8A). */
static void aml_res_addr(struct aml_buf *b, uint8_t tag, unsigned int width,
			 uint8_t type, uint8_t type_flags, uint64_t min, uint64_t max)
{
	if (min > max) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_put8(b, tag);
	/* length of what follows the 3-byte header: 3 bytes + 5 fields */
	aml_put_le(b, 3 + 5 * (uint64_t)width, 2);
	aml_put8(b, type);
	/* General flags: MaxFixed (3), MinFixed (2), PosDecode (1=0), producer (0=0) */
	aml_put8(b, 0x0c);
	aml_put8(b, type_flags);
	aml_put_le(b, 0, width);		/* granularity */
	aml_put_le(b, min, width);
	aml_put_le(b, max, width);
	aml_put_le(b, 0, width);		/* translation offset */
	aml_put_le(b, max - min + 1, width);	/* length; wraps to 0 only for a full 64-bit span */
}

void aml_res_word_bus(struct aml_buf *b, uint16_t min, uint16_t max)
{
	aml_res_addr(b, AML_RES_WORD_ADDR, 2, AML_RES_TYPE_BUS, 0, min, max);
}

/* I/O type-specific flags: _RNG = EntireRange (bits 1:0 = 3). */
void aml_res_word_io(struct aml_buf *b, uint16_t min, uint16_t max)
{
	aml_res_addr(b, AML_RES_WORD_ADDR, 2, AML_RES_TYPE_IO, 0x03, min, max);
}

void aml_res_dword_io(struct aml_buf *b, uint32_t min, uint32_t max)
{
	aml_res_addr(b, AML_RES_DWORD_ADDR, 4, AML_RES_TYPE_IO, 0x03, min, max);
}

/* Memory type-specific flags: _MEM in bits 2:1, ReadWrite in bit 0. */
void aml_res_dword_mem(struct aml_buf *b, uint32_t min, uint32_t max, enum aml_res_cache cache)
{
	aml_res_addr(b, AML_RES_DWORD_ADDR, 4, AML_RES_TYPE_MEM,
		     (uint8_t)(((cache & 3) << 1) | 1), min, max);
}

void aml_res_qword_mem(struct aml_buf *b, uint64_t min, uint64_t max, enum aml_res_cache cache)
{
	aml_res_addr(b, AML_RES_QWORD_ADDR, 8, AML_RES_TYPE_MEM,
		     (uint8_t)(((cache & 3) << 1) | 1), min, max);
}

void aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	if (min > max) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_put8(b, AML_RES_IO);
	aml_put8(b, 0x01);	/* Decode16 */
	aml_put_le(b, min, 2);
	aml_put_le(b, max, 2);
	aml_put8(b, align);
	aml_put8(b, len);
}

void aml_res_irq_noflags(struct aml_buf *b, unsigned int irq)
{
	if (irq > 15) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_put8(b, AML_RES_IRQ_NOFLAGS);
	aml_put_le(b, 1u << irq, 2);
}

void aml_res_end_tag(struct aml_buf *b)
{
	aml_put8(b, AML_RES_END_TAG);
	aml_put8(b, 0);
}
