/*
 * A small JSON reader and writer for the control protocol (control.h) and
 * `xenkvm list --json`.  The reader takes one untrusted document and builds
 * a tree; it accepts RFC 8259 JSON except that numbers must be integers
 * that fit in int64, strings must be well-formed UTF-8 without \u0000, and
 * no object may repeat a key.  Nesting is limited (JSON_MAX_DEPTH) so
 * hostile input cannot exhaust the stack.  The writer emits well-formed
 * UTF-8 whatever it is given (a bad byte becomes U+FFFD).
 */
#ifndef XENKVM_JSON_H
#define XENKVM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 16

enum json_type { JSON_NULL, JSON_BOOL, JSON_INT, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_member;

struct json_value {
	enum json_type type;
	union {
		bool b;
		int64_t i;
		struct {
			char *s;        /* NUL-terminated, no embedded NUL */
			size_t len;
		} str;
		struct {
			struct json_value *items;
			size_t n;
		} arr;
		struct {
			struct json_member *members;
			size_t n;
		} obj;
	};
};

struct json_member {
	char *key;
	struct json_value value;
};

/*
 * Parses exactly one value from text[0..len) (surrounding whitespace
 * allowed).  0 and *v_r set, or -EINVAL (bad syntax; err names the offset
 * and problem when non-NULL) or -ENOMEM.
 */
int json_parse(const char *text, size_t len, struct json_value **v_r, char *err, size_t errlen);
void json_free(struct json_value *v);

/* The member `key` of an object (keys are unique), or NULL. */
const struct json_value *json_get(const struct json_value *obj, const char *key);
/* Typed lookups: 0, -ENOENT (absent) or -EINVAL (wrong type or range). */
int json_get_string(const struct json_value *obj, const char *key, const char **s_r);
int json_get_int(const struct json_value *obj, const char *key, int64_t min, int64_t max,
		 int64_t *i_r);
int json_get_bool(const struct json_value *obj, const char *key, bool *b_r);

/*
 * The writer appends to a growing buffer.  Inside an object every value
 * has a key; inside an array or at the top, key is NULL.  Errors (ENOMEM,
 * nesting misuse) are sticky and reported by json_writer_finish().
 */
struct json_writer {
	char *buf;
	size_t len, cap;
	int err;
	unsigned int depth;
	bool has_item[JSON_MAX_DEPTH + 1]; /* a value was written at this depth */
	int indent;                        /* <0: compact; else spaces per level */
};

void json_writer_init(struct json_writer *w, int indent);
void json_write_object_begin(struct json_writer *w, const char *key);
void json_write_object_end(struct json_writer *w);
void json_write_array_begin(struct json_writer *w, const char *key);
void json_write_array_end(struct json_writer *w);
void json_write_string(struct json_writer *w, const char *key, const char *s);
void json_write_int(struct json_writer *w, const char *key, int64_t i);
void json_write_bool(struct json_writer *w, const char *key, bool b);
void json_write_null(struct json_writer *w, const char *key);
/* Copies a parsed value (for relaying). */
void json_write_value(struct json_writer *w, const char *key, const struct json_value *v);
/* 0 and the NUL-terminated text (caller frees) in *text_r, or -errno; the
 * writer is reset either way. */
int json_writer_finish(struct json_writer *w, char **text_r, size_t *len_r);
void json_writer_discard(struct json_writer *w);

#endif
