/*
 * A versioned, self-describing state stream (save/restore/migration):
 * a header (magic, stream format version, producer build id), then
 * sections (id, version, length, payload, CRC-32), ending with an end
 * section.  docs/SAVE-FORMAT.md describes the bytes and the section ids.
 *
 * Writers: the producer opens a section, puts typed fields, closes it;
 * errors are sticky and reported by state_section_end()/state_writer_finish().
 * Readers: every getter checks the section's bounds; the first failure is
 * kept (which section, what, at which offset) and every later getter fails
 * too, so a loader may read all its fields and check once.  Nothing in a
 * stream can make a reader allocate more than STATE_SECTION_MAX for a
 * section or read past it.
 *
 * Layers add their sections without touching this file: each owns an id
 * range (STATE_ID_*), writes its sections with its own save function and
 * passes its struct state_handler entries to state_load().
 */
#ifndef XENKVM_STATE_STREAM_H
#define XENKVM_STATE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STATE_STREAM_MAGIC   "XKVMSTAT"   /* 8 bytes, no NUL */
#define STATE_STREAM_VERSION 1u
#define STATE_BUILD_ID_MAX   128u
#define STATE_SECTION_MAX    (64u << 20)  /* bigger things go as several sections */
#define STATE_SECTION_END    0u
#define STATE_ERR_MAX        256u

/* Section id ranges: one per owner, so no layer edits another's list. */
#define STATE_ID_XEN_BASE    0x00010000u  /* xen-compat/ (include/xenkvm/xen_state.h) */
#define STATE_ID_VMM_BASE    0x00020000u  /* kvm/: RAM, vCPUs, irqchip, KVM Xen attributes */
#define STATE_ID_TOOL_BASE   0x00030000u  /* userspace/: config, daemon state */

uint32_t state_crc32(uint32_t crc, const void *buf, size_t len);

/* ---- writing ---------------------------------------------------------- */
struct state_writer;

/* To an fd (not closed), a FILE* (not closed) or memory; NULL: no memory. */
struct state_writer *state_writer_new_fd(int fd, const char *build_id);
struct state_writer *state_writer_new_file(FILE *f, const char *build_id);
struct state_writer *state_writer_new_mem(const char *build_id);
void state_writer_free(struct state_writer *w);

int state_section_begin(struct state_writer *w, uint32_t id, uint32_t version);
void state_put_u8(struct state_writer *w, uint8_t v);
void state_put_u16(struct state_writer *w, uint16_t v);
void state_put_u32(struct state_writer *w, uint32_t v);
void state_put_u64(struct state_writer *w, uint64_t v);
/* Exactly n bytes, no length (the reader knows n). */
void state_put_bytes(struct state_writer *w, const void *p, size_t n);
/* u32 length, then the bytes. */
void state_put_blob(struct state_writer *w, const void *p, size_t n);
/* Flag an error the writer cannot see (a saver found inconsistent state). */
void state_writer_fail(struct state_writer *w, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Closes the open section and writes it out.  0 or -errno. */
int state_section_end(struct state_writer *w);
/* Writes the end section (and flushes a FILE*).  0 or -errno. */
int state_writer_finish(struct state_writer *w);
/* The memory writer's bytes so far (header + finished sections). */
const uint8_t *state_writer_mem(const struct state_writer *w, size_t *len_r);
const char *state_writer_error(const struct state_writer *w);
/* 0, or the first failure's -errno. */
int state_writer_err(const struct state_writer *w);

/* ---- reading ---------------------------------------------------------- */
struct state_reader;

struct state_section {
	uint32_t id, version;
	const uint8_t *data;      /* the payload, valid until the next section */
	size_t len, pos;
	const char *name;         /* the handler's name once state_load() found it */
	struct state_reader *r;
};

/* From memory (not copied: must outlive the reader) or an fd (not closed). */
struct state_reader *state_reader_new_mem(const void *buf, size_t len);
struct state_reader *state_reader_new_fd(int fd);
void state_reader_free(struct state_reader *r);
/* Every byte the reader takes from its source is passed to fn as it is
 * read, before it is checked (a migration receiver relays the stream it
 * checks this way).  fn returns 0 or -errno; an error fails the read. */
typedef int state_tap_fn(void *ctx, const void *p, size_t n);
void state_reader_set_tap(struct state_reader *r, state_tap_fn *fn, void *ctx);
/* Reads and checks the header.  0 or -errno (-EBADMSG: not ours / corrupt,
 * -EPROTONOSUPPORT: another stream format version). */
int state_reader_header(struct state_reader *r);
const char *state_reader_build_id(const struct state_reader *r);
/* 1: *s holds the next section; 0: the end section was read; -errno. */
int state_reader_next(struct state_reader *r, struct state_section *s);
/* Why the last call failed ("" if none). */
const char *state_reader_error(const struct state_reader *r);

/* Getters: false (and *v zeroed) once the section failed. */
bool state_get_u8(struct state_section *s, uint8_t *v);
bool state_get_u16(struct state_section *s, uint16_t *v);
bool state_get_u32(struct state_section *s, uint32_t *v);
bool state_get_u64(struct state_section *s, uint64_t *v);
bool state_get_bool(struct state_section *s, bool *v);   /* a u8 that must be 0 or 1 */
bool state_get_bytes(struct state_section *s, void *p, size_t n);
/* A blob of at most `max` bytes, pointed to inside the section. */
bool state_get_blob(struct state_section *s, const uint8_t **p_r, uint32_t *len_r, uint32_t max);
/* A blob holding a string without NULs, copied NUL-terminated into buf. */
bool state_get_str(struct state_section *s, char *buf, size_t size);
/* Record a refusal (a value out of range, a mismatch); -err comes back
 * from state_load().  Only the first failure of a section is kept. */
void state_section_fail(struct state_section *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool state_section_failed(const struct state_section *s);

/* One section kind a layer loads. */
struct state_handler {
	uint32_t id;
	uint32_t version;          /* the newest version this build reads */
	const char *name;
	bool required;             /* the stream must hold it */
	int (*load)(void *opaque, struct state_section *s);
	void *opaque;
};

/*
 * Reads sections up to the end section and hands each to its handler:
 * an id no handler knows, a version above the handler's, a handler that
 * fails or leaves bytes unread, a missing required section all stop the
 * load with -errno and a message in state_reader_error().  A section id
 * may occur several times (chunks); the handler is called for each.
 */
int state_load(struct state_reader *r, const struct state_handler *h, size_t n);

#endif
