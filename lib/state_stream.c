/*
 * The state stream (include/xenkvm/state_stream.h, docs/SAVE-FORMAT.md).
 * Everything is little-endian.  A section is buffered whole before it is
 * written, because its header carries its length and its trailer a CRC
 * over both; the reader likewise holds one section at a time, grown as
 * its bytes arrive, so a lying length costs no more memory than the
 * bytes really sent.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "xenkvm/state_stream.h"

#define HDR_FIXED   (8 + 4 + 2)         /* magic, format version, build id length */
#define SEC_HDR     (4 + 4 + 8)         /* id, version, length */
#define READ_CHUNK  (1u << 20)

/* ---- CRC-32 (IEEE 802.3): zlib's, several times faster than a byte
 * table; a migration's downtime includes a pass over every RAM byte on
 * each side. ---------------------------------------------------------- */
uint32_t state_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		uInt n = len > (1u << 30) ? 1u << 30 : (uInt)len;

		crc = (uint32_t)crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

static void le_put(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- writer --------------------------------------------------------- */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static int bytes_reserve(struct bytes *b, size_t n)
{
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *np;

		while (n > cap - b->len) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	return 0;
}

static int bytes_put(struct bytes *b, const void *p, size_t n)
{
	if (bytes_reserve(b, n))
		return -ENOMEM;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

enum sink { SINK_FD, SINK_FILE, SINK_MEM };

struct state_writer {
	enum sink sink;
	int fd;
	FILE *f;
	struct bytes out;      /* SINK_MEM: the stream */
	struct bytes sec;      /* the open section: header + payload */
	bool in_section;
	uint32_t sec_id;
	int err;
	char msg[STATE_ERR_MAX];
};

void state_writer_fail(struct state_writer *w, int err, const char *fmt, ...)
{
	va_list ap;

	if (w->err)
		return;
	w->err = err < 0 ? err : -err;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
}

static int emit(struct state_writer *w, const void *p, size_t n)
{
	const uint8_t *b = p;

	switch (w->sink) {
	case SINK_MEM:
		return bytes_put(&w->out, p, n);
	case SINK_FILE:
		return fwrite(p, 1, n, w->f) == n ? 0 : -EIO;
	case SINK_FD:
		while (n) {
			ssize_t k = write(w->fd, b, n);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return k < 0 ? -errno : -EIO;
			b += k;
			n -= (size_t)k;
		}
		return 0;
	}
	return -EINVAL;
}

static struct state_writer *writer_new(enum sink sink, int fd, FILE *f, const char *build_id)
{
	struct state_writer *w = calloc(1, sizeof(*w));
	uint8_t hdr[HDR_FIXED + STATE_BUILD_ID_MAX + 4];
	size_t idlen = build_id ? strlen(build_id) : 0;
	int rc;

	if (!w)
		return NULL;
	w->sink = sink;
	w->fd = fd;
	w->f = f;
	if (idlen > STATE_BUILD_ID_MAX)
		idlen = STATE_BUILD_ID_MAX;
	memcpy(hdr, STATE_STREAM_MAGIC, 8);
	le_put(hdr + 8, STATE_STREAM_VERSION, 4);
	le_put(hdr + 12, idlen, 2);
	if (idlen)
		memcpy(hdr + HDR_FIXED, build_id, idlen);
	le_put(hdr + HDR_FIXED + idlen, state_crc32(0, hdr, HDR_FIXED + idlen), 4);
	rc = emit(w, hdr, HDR_FIXED + idlen + 4);
	if (rc)
		state_writer_fail(w, rc, "writing the stream header: %s", strerror(-rc));
	return w;
}

struct state_writer *state_writer_new_fd(int fd, const char *build_id)
{
	return writer_new(SINK_FD, fd, NULL, build_id);
}

struct state_writer *state_writer_new_file(FILE *f, const char *build_id)
{
	return writer_new(SINK_FILE, -1, f, build_id);
}

struct state_writer *state_writer_new_mem(const char *build_id)
{
	return writer_new(SINK_MEM, -1, NULL, build_id);
}

void state_writer_free(struct state_writer *w)
{
	if (!w)
		return;
	free(w->out.p);
	free(w->sec.p);
	free(w);
}

int state_section_begin(struct state_writer *w, uint32_t id, uint32_t version)
{
	uint8_t h[SEC_HDR];

	if (w->in_section)
		state_writer_fail(w, EINVAL, "section 0x%x begun inside section 0x%x", id, w->sec_id);
	else if (id == STATE_SECTION_END || !version)
		state_writer_fail(w, EINVAL, "section id 0x%x version %u is reserved", id, version);
	if (w->err)
		return w->err;
	w->in_section = true;
	w->sec_id = id;
	w->sec.len = 0;
	le_put(h, id, 4);
	le_put(h + 4, version, 4);
	le_put(h + 8, 0, 8);       /* the length, filled in at the end */
	if (bytes_put(&w->sec, h, sizeof(h)))
		state_writer_fail(w, ENOMEM, "section 0x%x: out of memory", id);
	return w->err;
}

void state_put_bytes(struct state_writer *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (!w->in_section) {
		state_writer_fail(w, EINVAL, "field written outside a section");
		return;
	}
	if (n > STATE_SECTION_MAX - (w->sec.len - SEC_HDR)) {
		state_writer_fail(w, EFBIG, "section 0x%x: more than %u bytes", w->sec_id,
				  STATE_SECTION_MAX);
		return;
	}
	if (bytes_put(&w->sec, p, n))
		state_writer_fail(w, ENOMEM, "section 0x%x: out of memory", w->sec_id);
}

static void put_le(struct state_writer *w, uint64_t v, unsigned int n)
{
	uint8_t b[8];

	le_put(b, v, n);
	state_put_bytes(w, b, n);
}

void state_put_u8(struct state_writer *w, uint8_t v) { put_le(w, v, 1); }
void state_put_u16(struct state_writer *w, uint16_t v) { put_le(w, v, 2); }
void state_put_u32(struct state_writer *w, uint32_t v) { put_le(w, v, 4); }
void state_put_u64(struct state_writer *w, uint64_t v) { put_le(w, v, 8); }

void state_put_blob(struct state_writer *w, const void *p, size_t n)
{
	if (n > STATE_SECTION_MAX) {
		state_writer_fail(w, EFBIG, "section 0x%x: a %zu-byte field", w->sec_id, n);
		return;
	}
	state_put_u32(w, (uint32_t)n);
	state_put_bytes(w, p, n);
}

int state_section_end(struct state_writer *w)
{
	uint8_t crc[4];
	int rc;

	if (!w->err && !w->in_section)
		state_writer_fail(w, EINVAL, "no section to end");
	if (w->err)
		return w->err;
	w->in_section = false;
	le_put(w->sec.p + 8, w->sec.len - SEC_HDR, 8);
	le_put(crc, state_crc32(0, w->sec.p, w->sec.len), 4);
	rc = emit(w, w->sec.p, w->sec.len);
	if (!rc)
		rc = emit(w, crc, sizeof(crc));
	if (rc)
		state_writer_fail(w, rc, "writing section 0x%x: %s", w->sec_id, strerror(-rc));
	return w->err;
}

int state_writer_finish(struct state_writer *w)
{
	uint8_t end[SEC_HDR + 4];

	if (!w->err && w->in_section)
		state_writer_fail(w, EINVAL, "section 0x%x still open at the end", w->sec_id);
	if (w->err)
		return w->err;
	le_put(end, STATE_SECTION_END, 4);
	le_put(end + 4, 1, 4);
	le_put(end + 8, 0, 8);
	le_put(end + SEC_HDR, state_crc32(0, end, SEC_HDR), 4);
	if (emit(w, end, sizeof(end)) || (w->sink == SINK_FILE && fflush(w->f)))
		state_writer_fail(w, EIO, "writing the end of the stream failed");
	return w->err;
}

const uint8_t *state_writer_mem(const struct state_writer *w, size_t *len_r)
{
	*len_r = w->out.len;
	return w->out.p;
}

const char *state_writer_error(const struct state_writer *w)
{
	return w->msg;
}

int state_writer_err(const struct state_writer *w)
{
	return w->err;
}

/* ---- reader --------------------------------------------------------- */
struct state_reader {
	bool from_fd;
	int fd;
	const uint8_t *mem;
	size_t mem_len;
	uint64_t off;          /* stream offset of the next byte */
	bool header_ok, ended;
	char build_id[STATE_BUILD_ID_MAX + 1];
	struct bytes sec;      /* the current section, header + payload + crc */
	state_tap_fn *tap;     /* gets every byte read, as read */
	void *tap_ctx;
	int err;
	char msg[STATE_ERR_MAX];
};

static int reader_fail(struct state_reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int reader_fail(struct state_reader *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (!r->err) {
		r->err = err < 0 ? err : -err;
		va_start(ap, fmt);
		vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
		va_end(ap);
	}
	return r->err;
}

struct state_reader *state_reader_new_mem(const void *buf, size_t len)
{
	struct state_reader *r = calloc(1, sizeof(*r));

	if (r) {
		r->mem = buf;
		r->mem_len = len;
	}
	return r;
}

struct state_reader *state_reader_new_fd(int fd)
{
	struct state_reader *r = calloc(1, sizeof(*r));

	if (r) {
		r->from_fd = true;
		r->fd = fd;
	}
	return r;
}

void state_reader_free(struct state_reader *r)
{
	if (!r)
		return;
	free(r->sec.p);
	free(r);
}

void state_reader_set_tap(struct state_reader *r, state_tap_fn *fn, void *ctx)
{
	r->tap = fn;
	r->tap_ctx = ctx;
}

static int tap(struct state_reader *r, const uint8_t *p, size_t n)
{
	int rc = r->tap && n ? r->tap(r->tap_ctx, p, n) : 0;

	return rc > 0 ? -rc : rc;
}

/* Appends n stream bytes to b.  0, 1 (stream ended first) or -errno. */
static int read_into(struct state_reader *r, struct bytes *b, size_t n)
{
	int rc;

	if (!r->from_fd) {
		if (n > r->mem_len - r->off)
			return 1;
		if (bytes_put(b, r->mem + r->off, n))
			return -ENOMEM;
		r->off += n;
		return tap(r, r->mem + r->off - n, n);
	}
	while (n) {
		size_t step = n < READ_CHUNK ? n : READ_CHUNK;
		ssize_t k;

		/* Grow with the data, not with what the length field claims. */
		if (bytes_reserve(b, step))
			return -ENOMEM;
		k = read(r->fd, b->p + b->len, step);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return 1;
		rc = tap(r, b->p + b->len, (size_t)k);
		if (rc)
			return rc;
		b->len += (size_t)k;
		r->off += (uint64_t)k;
		n -= (size_t)k;
	}
	return 0;
}

int state_reader_header(struct state_reader *r)
{
	struct bytes h = { 0 };
	size_t idlen;
	uint32_t ver;
	int rc;

	if (r->err)
		return r->err;
	rc = read_into(r, &h, HDR_FIXED);
	if (rc)
		goto short_read;
	if (memcmp(h.p, STATE_STREAM_MAGIC, 8)) {
		rc = reader_fail(r, EBADMSG, "not a xenkvm state stream (bad magic)");
		goto out;
	}
	ver = (uint32_t)le_get(h.p + 8, 4);
	idlen = (size_t)le_get(h.p + 12, 2);
	if (ver != STATE_STREAM_VERSION) {
		rc = reader_fail(r, EPROTONOSUPPORT,
				 "stream format version %u, this build reads version %u", ver,
				 STATE_STREAM_VERSION);
		goto out;
	}
	if (idlen > STATE_BUILD_ID_MAX) {
		rc = reader_fail(r, EBADMSG, "stream header: build id of %zu bytes (at most %u)",
				 idlen, STATE_BUILD_ID_MAX);
		goto out;
	}
	rc = read_into(r, &h, idlen + 4);
	if (rc)
		goto short_read;
	if (state_crc32(0, h.p, HDR_FIXED + idlen) != (uint32_t)le_get(h.p + HDR_FIXED + idlen, 4)) {
		rc = reader_fail(r, EBADMSG, "stream header: checksum mismatch");
		goto out;
	}
	memcpy(r->build_id, h.p + HDR_FIXED, idlen);
	r->build_id[idlen] = '\0';
	if (strlen(r->build_id) != idlen) {
		rc = reader_fail(r, EBADMSG, "stream header: build id holds a NUL byte");
		goto out;
	}
	r->header_ok = true;
	goto out;
short_read:
	rc = rc < 0 ? reader_fail(r, rc, "reading the stream header: %s", strerror(-rc))
		    : reader_fail(r, EBADMSG, "stream truncated inside its header");
out:
	free(h.p);
	return rc;
}

const char *state_reader_build_id(const struct state_reader *r)
{
	return r->build_id;
}

const char *state_reader_error(const struct state_reader *r)
{
	return r->msg;
}

int state_reader_next(struct state_reader *r, struct state_section *s)
{
	uint64_t start = r->off, len;
	uint32_t id, ver;
	int rc;

	memset(s, 0, sizeof(*s));
	if (r->err)
		return r->err;
	if (!r->header_ok)
		return reader_fail(r, EINVAL, "stream header not read");
	if (r->ended)
		return 0;
	r->sec.len = 0;
	rc = read_into(r, &r->sec, SEC_HDR);
	if (rc)
		goto short_read;
	id = (uint32_t)le_get(r->sec.p, 4);
	ver = (uint32_t)le_get(r->sec.p + 4, 4);
	len = le_get(r->sec.p + 8, 8);
	if (len > STATE_SECTION_MAX)
		return reader_fail(r, EBADMSG,
				   "section 0x%x at offset %llu: length %llu is over the limit of %u",
				   id, (unsigned long long)start, (unsigned long long)len,
				   STATE_SECTION_MAX);
	rc = read_into(r, &r->sec, (size_t)len + 4);
	if (rc)
		goto short_read;
	if (state_crc32(0, r->sec.p, SEC_HDR + (size_t)len) !=
	    (uint32_t)le_get(r->sec.p + SEC_HDR + len, 4))
		return reader_fail(r, EBADMSG, "section 0x%x v%u at offset %llu: checksum mismatch",
				   id, ver, (unsigned long long)start);
	if (!ver)
		return reader_fail(r, EBADMSG, "section 0x%x at offset %llu: version 0", id,
				   (unsigned long long)start);
	if (id == STATE_SECTION_END) {
		if (len)
			return reader_fail(r, EBADMSG, "end section with %llu payload bytes",
					   (unsigned long long)len);
		if (!r->from_fd && r->off != r->mem_len)
			return reader_fail(r, EBADMSG, "%llu bytes after the end section",
					   (unsigned long long)(r->mem_len - r->off));
		r->ended = true;
		return 0;
	}
	s->id = id;
	s->version = ver;
	s->data = r->sec.p + SEC_HDR;
	s->len = (size_t)len;
	s->r = r;
	return 1;
short_read:
	if (rc < 0)
		return reader_fail(r, rc, "reading the section at offset %llu: %s",
				   (unsigned long long)start, strerror(-rc));
	return reader_fail(r, EBADMSG, "stream truncated in the section at offset %llu%s",
			   (unsigned long long)start, start == r->off ? " (no end section)" : "");
}

/* ---- section getters ----------------------------------------------------- */
static void section_vfail(struct state_section *s, int err, const char *fmt, va_list ap)
{
	char what[STATE_ERR_MAX];

	if (!s->r || s->r->err)
		return;
	vsnprintf(what, sizeof(what), fmt, ap);
	if (s->name)
		reader_fail(s->r, err, "section %s (0x%x) v%u: %s", s->name, s->id, s->version, what);
	else
		reader_fail(s->r, err, "section 0x%x v%u: %s", s->id, s->version, what);
}

void state_section_fail(struct state_section *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	section_vfail(s, err, fmt, ap);
	va_end(ap);
}

bool state_section_failed(const struct state_section *s)
{
	return !s->r || s->r->err;
}

static const uint8_t *take(struct state_section *s, size_t n, const char *what)
{
	const uint8_t *p;

	if (state_section_failed(s))
		return NULL;
	if (n > s->len - s->pos) {
		state_section_fail(s, EBADMSG, "truncated: %s of %zu bytes at offset %zu, %zu left",
				   what, n, s->pos, s->len - s->pos);
		return NULL;
	}
	p = s->data + s->pos;
	s->pos += n;
	return p;
}

#define GETTER(name, type, n)                                          \
	bool state_get_##name(struct state_section *s, type *v)        \
	{                                                              \
		const uint8_t *p = take(s, n, #name);                  \
		*v = p ? (type)le_get(p, n) : 0;                       \
		return p != NULL;                                      \
	}
GETTER(u8, uint8_t, 1)
GETTER(u16, uint16_t, 2)
GETTER(u32, uint32_t, 4)
GETTER(u64, uint64_t, 8)

bool state_get_bool(struct state_section *s, bool *v)
{
	uint8_t b;

	*v = false;
	if (!state_get_u8(s, &b))
		return false;
	if (b > 1) {
		state_section_fail(s, EBADMSG, "flag %u at offset %zu is not 0 or 1", b, s->pos - 1);
		return false;
	}
	*v = b;
	return true;
}

bool state_get_bytes(struct state_section *s, void *p, size_t n)
{
	const uint8_t *q = take(s, n, "bytes");

	if (!q) {
		memset(p, 0, n);
		return false;
	}
	memcpy(p, q, n);
	return true;
}

bool state_get_blob(struct state_section *s, const uint8_t **p_r, uint32_t *len_r, uint32_t max)
{
	uint32_t n;

	*p_r = NULL;
	*len_r = 0;
	if (!state_get_u32(s, &n))
		return false;
	if (n > max) {
		state_section_fail(s, EBADMSG, "a %u-byte field at offset %zu (at most %u)", n,
				   s->pos - 4, max);
		return false;
	}
	*p_r = take(s, n, "blob");
	if (!*p_r)
		return false;
	*len_r = n;
	return true;
}

bool state_get_str(struct state_section *s, char *buf, size_t size)
{
	const uint8_t *p;
	uint32_t n;

	buf[0] = '\0';
	if (!state_get_blob(s, &p, &n, size - 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(size - 1)))
		return false;
	if (memchr(p, '\0', n)) {
		state_section_fail(s, EBADMSG, "string at offset %zu holds a NUL byte", s->pos - n);
		return false;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

/* ---- dispatch ------------------------------------------------------------ */
int state_load(struct state_reader *r, const struct state_handler *h, size_t n)
{
	struct state_section s;
	bool seen[64] = { false };
	int rc;

	if (n > 64)
		return reader_fail(r, EINVAL, "more than 64 section handlers");
	while ((rc = state_reader_next(r, &s)) == 1) {
		size_t i;

		for (i = 0; i < n && h[i].id != s.id; i++)
			;
		if (i == n)
			return reader_fail(r, EBADMSG, "unknown section 0x%x (v%u, %zu bytes)", s.id,
					   s.version, s.len);
		s.name = h[i].name;
		if (s.version > h[i].version) {
			state_section_fail(&s, EPROTONOSUPPORT,
					   "newer than this build, which reads up to version %u",
					   h[i].version);
			return r->err;
		}
		rc = h[i].load(h[i].opaque, &s);
		if (rc < 0 && !r->err)
			state_section_fail(&s, rc, "refused: %s", strerror(-rc));
		if (!r->err && s.pos != s.len)
			state_section_fail(&s, EBADMSG, "%zu bytes left unread", s.len - s.pos);
		if (r->err)
			return r->err;
		seen[i] = true;
	}
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (h[i].required && !seen[i])
			return reader_fail(r, EBADMSG, "section %s (0x%x) missing", h[i].name, h[i].id);
	return 0;
}
