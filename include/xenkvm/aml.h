/*
 * A small AML (ACPI Machine Language) emitter, enough for a DSDT that
 * describes a PC without firmware: names, packages, buffers, scopes,
 * devices, methods and the resource descriptors a host bridge and a few
 * ISA devices need.
 *
 * Output goes straight into a caller-supplied buffer of fixed capacity (so
 * the DSDT can be written in place in guest memory).  Errors are sticky:
 * after the first failure (-ENOSPC, -EINVAL) every call is a no-op and
 * aml_finish() reports it, so a builder can emit a whole table and check
 * once.  Nothing is ever written past the capacity.
 *
 * Objects that carry a PkgLength (Scope, Device, Method, Package, Buffer)
 * are opened with aml_*_begin() and closed with aml_end(): the PkgLength,
 * and a Package's NumElements or a Buffer's BufferSize, are only known at
 * the end, so aml_end() inserts them in front of the body then.  Package
 * elements are counted automatically as they are emitted.
 *
 *   aml_name(b, "_S5");              Name (_S5, Package () { 5, 5 })
 *   aml_package_begin(b);
 *   aml_integer(b, 5); aml_integer(b, 5);
 *   aml_end(b);
 */
#ifndef XENKVM_AML_H
#define XENKVM_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16
/* Largest value a 4-byte PkgLength can hold (28 bits). */
#define AML_PKGLEN_MAX 0x0fffffffu

enum aml_open_kind {
	AML_OPEN_SCOPE,		/* Scope, Device, Method: PkgLength only */
	AML_OPEN_PACKAGE,	/* PkgLength + NumElements */
	AML_OPEN_BUFFER,	/* PkgLength + BufferSize */
};

struct aml_open {
	size_t start;		/* where the PkgLength will be inserted */
	unsigned int kind;	/* enum aml_open_kind */
	unsigned int count;	/* package elements emitted so far */
};

struct aml_buf {
	uint8_t *data;
	size_t cap;
	size_t len;
	int err;		/* first error, sticky; 0 while all is well */
	unsigned int depth;
	struct aml_open open[AML_MAX_DEPTH];
};

void aml_init(struct aml_buf *b, void *mem, size_t cap);
/* Bytes emitted, or the first error (-EINVAL also if objects are still open). */
long aml_finish(const struct aml_buf *b);

/*
 * PkgLength encoding of `pkglen` (which, per the spec, counts the encoding
 * bytes themselves) into out[0..n); returns n (1..4) or 0 if it does not
 * fit in 28 bits.
 */
size_t aml_pkglen_encode(uint8_t out[4], uint32_t pkglen);
/* PkgLength for a body of `body` bytes: sets *pkglen_r, returns its size or 0. */
size_t aml_pkglen_for_body(size_t body, uint32_t *pkglen_r);

/* Data objects (each counts as one element inside a package). */
void aml_integer(struct aml_buf *b, uint64_t v);	/* smallest encoding */
void aml_string(struct aml_buf *b, const char *s);	/* ASCII 0x01..0x7f */
void aml_eisaid(struct aml_buf *b, const char *id);	/* "PNP0A03" */
/* A NameString: "\\_SB.PCI0", "^FOO", "_HID"; segments padded with '_'. */
void aml_namestring(struct aml_buf *b, const char *path);

/* Name (path, <next object>): emits NameOp + NameString; the caller then
 * emits exactly one data object. */
void aml_name(struct aml_buf *b, const char *path);
/* Return (<next object>) */
void aml_return(struct aml_buf *b);

void aml_scope_begin(struct aml_buf *b, const char *path);
void aml_device_begin(struct aml_buf *b, const char *path);
void aml_method_begin(struct aml_buf *b, const char *path, unsigned int nargs, int serialized);
void aml_package_begin(struct aml_buf *b);	/* up to 255 elements */
void aml_buffer_begin(struct aml_buf *b);
void aml_end(struct aml_buf *b);

/*
 * Resource descriptors, emitted inside aml_buffer_begin()/aml_end();
 * aml_res_end_tag() must be the last one.  Address-space descriptors are
 * emitted as ResourceProducer, PosDecode, MinFixed, MaxFixed, granularity 0,
 * translation 0, length = max - min + 1 (what a root bridge window is).
 */
enum aml_res_cache {
	AML_RES_NON_CACHEABLE = 0,
	AML_RES_CACHEABLE = 1,
	AML_RES_WRITE_COMBINING = 2,
	AML_RES_PREFETCHABLE = 3,
};
void aml_res_word_bus(struct aml_buf *b, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml_buf *b, uint16_t min, uint16_t max);
void aml_res_dword_io(struct aml_buf *b, uint32_t min, uint32_t max);
void aml_res_dword_mem(struct aml_buf *b, uint32_t min, uint32_t max, enum aml_res_cache cache);
void aml_res_qword_mem(struct aml_buf *b, uint64_t min, uint64_t max, enum aml_res_cache cache);
/* IO (Decode16, min, max, align, len) */
void aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags () { irq }: ISA IRQ 0..15, edge, active high */
void aml_res_irq_noflags(struct aml_buf *b, unsigned int irq);
/* EndTag with checksum 0 ("treat as correct"). */
void aml_res_end_tag(struct aml_buf *b);

/* AML opcodes and prefixes the emitter uses; the tests decode with them. */
#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_STRING_PREFIX	0x0d
#define AML_QWORD_PREFIX	0x0e
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_PACKAGE_OP		0x12
#define AML_METHOD_OP		0x14
#define AML_DUAL_NAME_PREFIX	0x2e
#define AML_MULTI_NAME_PREFIX	0x2f
#define AML_EXT_OP_PREFIX	0x5b
#define AML_EXT_DEVICE_OP	0x82	/* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR		0x5c
#define AML_PARENT_PREFIX	0x5e
#define AML_RETURN_OP		0xa4
#define AML_ONES_OP		0xff

/* Resource descriptor tags. */
#define AML_RES_IRQ_NOFLAGS	0x22	/* small item IRQ, length 2 */
#define AML_RES_IO		0x47	/* small item IO, length 7 */
#define AML_RES_END_TAG		0x79	/* small item End, length 1 */
#define AML_RES_DWORD_ADDR	0x87
#define AML_RES_WORD_ADDR	0x88
#define AML_RES_QWORD_ADDR	0x8a
#define AML_RES_TYPE_MEM	0
#define AML_RES_TYPE_IO		1
#define AML_RES_TYPE_BUS	2

#endif
