/*
 * JSON reader (recursive descent over a bounded depth) and writer.  The
 * reader sees whatever a control-socket client sends, so every index is
 * checked against `len` and nothing assumes NUL termination.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/json.h"

struct json_parser {
	const char *p;
	size_t len, pos;
	char *err;
	size_t errlen;
	int rc;
};

static int parse_fail(struct json_parser *ps, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int parse_fail(struct json_parser *ps, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->rc)
		return ps->rc;
	ps->rc = rc;
	if (ps->err && ps->errlen) {
		n = snprintf(ps->err, ps->errlen, "offset %zu: ", ps->pos);
		if (n >= 0 && (size_t)n < ps->errlen) {
			va_start(ap, fmt);
			vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return rc;
}

static void skip_ws(struct json_parser *ps)
{
	while (ps->pos < ps->len) {
		char c = ps->p[ps->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		ps->pos++;
	}
}

static int peek(struct json_parser *ps)
{
	return ps->pos < ps->len ? (unsigned char)ps->p[ps->pos] : -1;
}

static void value_free(struct json_value *v);

static int parse_value(struct json_parser *ps, struct json_value *v, unsigned int depth);

static int parse_literal(struct json_parser *ps, const char *word)
{
	size_t n = strlen(word);

	if (ps->len - ps->pos < n || memcmp(ps->p + ps->pos, word, n))
		return parse_fail(ps, -EINVAL, "unexpected character");
	ps->pos += n;
	return 0;
}

static int hex4(struct json_parser *ps, unsigned int *u_r)
{
	unsigned int u = 0;

	if (ps->len - ps->pos < 4)
		return parse_fail(ps, -EINVAL, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = ps->p[ps->pos++];

		u <<= 4;
		if (c >= '0' && c <= '9')
			u |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			u |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			u |= (unsigned int)(c - 'A' + 10);
		else
			return parse_fail(ps, -EINVAL, "bad hex digit in \\u escape");
	}
	*u_r = u;
	return 0;
}

/* Appends code point cp as UTF-8; out has room (escapes are longer than their output). */
static size_t put_utf8(char *out, unsigned int cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0.  Well-formed
 * is RFC 3629's: shortest form only, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;      /* overlong */
		else if (c == 0xed)
			hi = 0x9f;      /* U+D800..U+DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;      /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;      /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* At the opening quote.  The decoded string is never longer than its source. */
static int parse_string(struct json_parser *ps, char **s_r, size_t *len_r)
{
	size_t start = ++ps->pos, end = start, n = 0;
	char *out;

	while (end < ps->len && ps->p[end] != '"') {
		if (ps->p[end] == '\\')
			end++;
		end++;
	}
	if (end >= ps->len)
		return parse_fail(ps, -EINVAL, "unterminated string");
	out = malloc(end - start + 1);
	if (!out)
		return parse_fail(ps, -ENOMEM, "out of memory");
	while (ps->pos < end) {
		unsigned char c = (unsigned char)ps->p[ps->pos];
		unsigned int cp, lo;

		if (c < 0x20) {
			parse_fail(ps, -EINVAL, "control character in string");
			goto fail;
		}
		if (c >= 0x80) {
			/* A continuation byte is never '"', so `end` bounds it. */
			size_t u = utf8_len((const unsigned char *)ps->p + ps->pos, end - ps->pos);

			if (!u) {
				parse_fail(ps, -EINVAL, "invalid UTF-8 in string");
				goto fail;
			}
			memcpy(out + n, ps->p + ps->pos, u);
			n += u;
			ps->pos += u;
			continue;
		}
		if (c != '\\') {
			out[n++] = (char)c;
			ps->pos++;
			continue;
		}
		ps->pos++;
		c = (unsigned char)ps->p[ps->pos++];
		switch (c) {
		case '"': case '\\': case '/':
			out[n++] = (char)c;
			break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u':
			if (hex4(ps, &cp))
				goto fail;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				parse_fail(ps, -EINVAL, "lone low surrogate");
				goto fail;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (ps->len - ps->pos < 6 || ps->p[ps->pos] != '\\' || ps->p[ps->pos + 1] != 'u') {
					parse_fail(ps, -EINVAL, "lone high surrogate");
					goto fail;
				}
				ps->pos += 2;
				if (hex4(ps, &lo))
					goto fail;
				if (lo < 0xdc00 || lo > 0xdfff) {
					parse_fail(ps, -EINVAL, "bad surrogate pair");
					goto fail;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0) {
				parse_fail(ps, -EINVAL, "\\u0000 is not allowed");
				goto fail;
			}
			n += put_utf8(out + n, cp);
			break;
		default:
			ps->pos--;
			parse_fail(ps, -EINVAL, "bad escape");
			goto fail;
		}
	}
	/* The escape scan above may have let a \u run past `end`; it cannot,
	 * because hex4 consumes only hex digits, never a quote. */
	ps->pos = end + 1;
	out[n] = 0;
	*s_r = out;
	*len_r = n;
	return 0;
fail:
	free(out);
	return ps->rc;
}

static int parse_number(struct json_parser *ps, int64_t *i_r)
{
	bool neg = false;
	uint64_t mag = 0, limit;
	size_t digits = 0;

	if (peek(ps) == '-') {
		neg = true;
		ps->pos++;
	}
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (peek(ps) == '0' && ps->pos + 1 < ps->len && ps->p[ps->pos + 1] >= '0' && ps->p[ps->pos + 1] <= '9')
		return parse_fail(ps, -EINVAL, "leading zero in number");
	while (peek(ps) >= '0' && peek(ps) <= '9') {
		unsigned int d = (unsigned int)(peek(ps) - '0');

		if (mag > (limit - d) / 10)
			return parse_fail(ps, -EINVAL, "number out of range");
		mag = mag * 10 + d;
		ps->pos++;
		digits++;
	}
	if (!digits)
		return parse_fail(ps, -EINVAL, "bad number");
	if (peek(ps) == '.' || peek(ps) == 'e' || peek(ps) == 'E')
		return parse_fail(ps, -EINVAL, "only integers are accepted");
	*i_r = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return 0;
}

/* Grows an array of `size`-byte elements; keeps it on failure. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int parse_array(struct json_parser *ps, struct json_value *v, unsigned int depth)
{
	size_t cap = 0;

	v->type = JSON_ARRAY;
	v->arr.items = NULL;
	v->arr.n = 0;
	ps->pos++;
	skip_ws(ps);
	if (peek(ps) == ']') {
		ps->pos++;
		return 0;
	}
	for (;;) {
		if (grow((void **)&v->arr.items, &cap, v->arr.n, sizeof(*v->arr.items)))
			return parse_fail(ps, -ENOMEM, "out of memory");
		/* Counted before parsing so a half-built item is freed with us. */
		if (parse_value(ps, &v->arr.items[v->arr.n++], depth + 1))
			return ps->rc;
		skip_ws(ps);
		if (peek(ps) == ',') {
			ps->pos++;
			continue;
		}
		if (peek(ps) == ']') {
			ps->pos++;
			return 0;
		}
		return parse_fail(ps, -EINVAL, "expected ',' or ']'");
	}
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* RFC 8259 leaves repeated names to the reader; we refuse them, so no
 * caller can act on a key the sender's own reader would have ignored
 * ({"op":"info","op":"destroy"}).  Sorted copy: O(n log n) at any size. */
static int check_unique_keys(struct json_parser *ps, const struct json_value *v)
{
	const char **keys;
	int rc = 0;

	if (v->obj.n < 2)
		return 0;
	keys = malloc(v->obj.n * sizeof(*keys));
	if (!keys)
		return parse_fail(ps, -ENOMEM, "out of memory");
	for (size_t i = 0; i < v->obj.n; i++)
		keys[i] = v->obj.members[i].key;
	qsort(keys, v->obj.n, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < v->obj.n && !rc; i++)
		if (!strcmp(keys[i - 1], keys[i]))
			rc = parse_fail(ps, -EINVAL, "duplicate key in object");
	free(keys);
	return rc;
}

static int parse_object(struct json_parser *ps, struct json_value *v, unsigned int depth)
{
	size_t cap = 0, klen;
	struct json_member *m;

	v->type = JSON_OBJECT;
	v->obj.members = NULL;
	v->obj.n = 0;
	ps->pos++;
	skip_ws(ps);
	if (peek(ps) == '}') {
		ps->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if (peek(ps) != '"')
			return parse_fail(ps, -EINVAL, "expected a string key");
		if (grow((void **)&v->obj.members, &cap, v->obj.n, sizeof(*v->obj.members)))
			return parse_fail(ps, -ENOMEM, "out of memory");
		m = &v->obj.members[v->obj.n];
		m->value.type = JSON_NULL;
		if (parse_string(ps, &m->key, &klen))
			return ps->rc;
		v->obj.n++;   /* from here the member is freed with the object */
		skip_ws(ps);
		if (peek(ps) != ':')
			return parse_fail(ps, -EINVAL, "expected ':'");
		ps->pos++;
		if (parse_value(ps, &m->value, depth + 1))
			return ps->rc;
		skip_ws(ps);
		if (peek(ps) == ',') {
			ps->pos++;
			continue;
		}
		if (peek(ps) == '}') {
			ps->pos++;
			return check_unique_keys(ps, v);
		}
		return parse_fail(ps, -EINVAL, "expected ',' or '}'");
	}
}

/* On failure *v is still safe to free (type and pointers consistent). */
static int parse_value(struct json_parser *ps, struct json_value *v, unsigned int depth)
{
	int c;

	v->type = JSON_NULL;
	skip_ws(ps);
	c = peek(ps);
	/* At most JSON_MAX_DEPTH containers deep, the writer's limit too. */
	if ((c == '{' || c == '[') && depth >= JSON_MAX_DEPTH)
		return parse_fail(ps, -EINVAL, "nested deeper than %d", JSON_MAX_DEPTH);
	switch (c) {
	case '{':
		return parse_object(ps, v, depth);
	case '[':
		return parse_array(ps, v, depth);
	case '"':
		if (parse_string(ps, &v->str.s, &v->str.len))
			return ps->rc;
		v->type = JSON_STRING;
		return 0;
	case 't':
		v->type = JSON_BOOL;
		v->b = true;
		return parse_literal(ps, "true");
	case 'f':
		v->type = JSON_BOOL;
		v->b = false;
		return parse_literal(ps, "false");
	case 'n':
		return parse_literal(ps, "null");
	case -1:
		return parse_fail(ps, -EINVAL, "unexpected end of input");
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			v->type = JSON_INT;
			v->i = 0;
			return parse_number(ps, &v->i);
		}
		return parse_fail(ps, -EINVAL, "unexpected character");
	}
}

int json_parse(const char *text, size_t len, struct json_value **v_r, char *err, size_t errlen)
{
	struct json_parser ps = { .p = text, .len = len, .err = err, .errlen = errlen };
	struct json_value *v = calloc(1, sizeof(*v));

	if (err && errlen)
		err[0] = 0;
	if (!v)
		return -ENOMEM;
	if (!parse_value(&ps, v, 0)) {
		skip_ws(&ps);
		if (ps.pos != ps.len)
			parse_fail(&ps, -EINVAL, "trailing data after the value");
	}
	if (ps.rc) {
		json_free(v);
		return ps.rc;
	}
	*v_r = v;
	return 0;
}

static void value_free(struct json_value *v)
{
	size_t i;

	switch (v->type) {
	case JSON_STRING:
		free(v->str.s);
		break;
	case JSON_ARRAY:
		for (i = 0; i < v->arr.n; i++)
			value_free(&v->arr.items[i]);
		free(v->arr.items);
		break;
	case JSON_OBJECT:
		for (i = 0; i < v->obj.n; i++) {
			free(v->obj.members[i].key);
			value_free(&v->obj.members[i].value);
		}
		free(v->obj.members);
		break;
	default:
		break;
	}
}

void json_free(struct json_value *v)
{
	if (!v)
		return;
	value_free(v);
	free(v);
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->obj.n; i++)
		if (!strcmp(obj->obj.members[i].key, key))
			return &obj->obj.members[i].value;
	return NULL;
}

int json_get_string(const struct json_value *obj, const char *key, const char **s_r)
{
	const struct json_value *v = json_get(obj, key);

	if (!v)
		return -ENOENT;
	if (v->type != JSON_STRING)
		return -EINVAL;
	*s_r = v->str.s;
	return 0;
}

int json_get_int(const struct json_value *obj, const char *key, int64_t min, int64_t max, int64_t *i_r)
{
	const struct json_value *v = json_get(obj, key);

	if (!v)
		return -ENOENT;
	if (v->type != JSON_INT || v->i < min || v->i > max)
		return -EINVAL;
	*i_r = v->i;
	return 0;
}

int json_get_bool(const struct json_value *obj, const char *key, bool *b_r)
{
	const struct json_value *v = json_get(obj, key);

	if (!v)
		return -ENOENT;
	if (v->type != JSON_BOOL)
		return -EINVAL;
	*b_r = v->b;
	return 0;
}

/* --- writer ------------------------------------------------------------- */

void json_writer_init(struct json_writer *w, int indent)
{
	memset(w, 0, sizeof(*w));
	w->indent = indent;
}

static void put(struct json_writer *w, const char *s, size_t n)
{
	size_t ncap;
	char *p;

	if (w->err)
		return;
	if (w->len + n + 1 > w->cap) {
		ncap = w->cap ? w->cap : 256;
		while (ncap < w->len + n + 1)
			ncap *= 2;
		p = realloc(w->buf, ncap);
		if (!p) {
			w->err = -ENOMEM;
			return;
		}
		w->buf = p;
		w->cap = ncap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

static void puts_(struct json_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void newline(struct json_writer *w)
{
	if (w->indent < 0)
		return;
	put(w, "\n", 1);
	for (unsigned int i = 0; i < w->depth * (unsigned int)w->indent; i++)
		put(w, " ", 1);
}

/* Strings from our own side (messages quoting a cut-off argument, names
 * from elsewhere) may be ill-formed UTF-8: each bad byte goes out as
 * U+FFFD, so what we write is always JSON our reader accepts. */
static void put_escaped(struct json_writer *w, const char *s)
{
	char esc[8];

	put(w, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80) {
			size_t u = utf8_len((const unsigned char *)s, strnlen(s, 4));

			if (u) {
				put(w, s, u);
				s += u - 1;
			} else {
				puts_(w, "\\ufffd");
			}
			continue;
		}
		switch (c) {
		case '"': puts_(w, "\\\""); break;
		case '\\': puts_(w, "\\\\"); break;
		case '\n': puts_(w, "\\n"); break;
		case '\r': puts_(w, "\\r"); break;
		case '\t': puts_(w, "\\t"); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				puts_(w, esc);
			} else {
				put(w, (const char *)&c, 1);
			}
		}
	}
	put(w, "\"", 1);
}

/* Comma, newline, and key for the next value at the current depth. */
static void item_start(struct json_writer *w, const char *key)
{
	if (w->err)
		return;
	if (w->depth == 0 && w->has_item[0]) {
		w->err = -EINVAL;   /* a second top-level value */
		return;
	}
	if (w->has_item[w->depth])
		put(w, ",", 1);
	if (w->depth)
		newline(w);
	w->has_item[w->depth] = true;
	if (key) {
		put_escaped(w, key);
		put(w, w->indent < 0 ? ":" : ": ", w->indent < 0 ? 1 : 2);
	}
}

static void open_(struct json_writer *w, const char *key, const char *bracket)
{
	item_start(w, key);
	if (w->err)
		return;
	if (w->depth >= JSON_MAX_DEPTH) {
		w->err = -EINVAL;
		return;
	}
	puts_(w, bracket);
	w->depth++;
	w->has_item[w->depth] = false;
}

static void close_(struct json_writer *w, const char *bracket)
{
	if (w->err)
		return;
	if (!w->depth) {
		w->err = -EINVAL;
		return;
	}
	w->depth--;
	if (w->has_item[w->depth + 1])
		newline(w);
	puts_(w, bracket);
}

void json_write_object_begin(struct json_writer *w, const char *key) { open_(w, key, "{"); }
void json_write_object_end(struct json_writer *w) { close_(w, "}"); }
void json_write_array_begin(struct json_writer *w, const char *key) { open_(w, key, "["); }
void json_write_array_end(struct json_writer *w) { close_(w, "]"); }

void json_write_string(struct json_writer *w, const char *key, const char *s)
{
	item_start(w, key);
	put_escaped(w, s ? s : "");
}

void json_write_int(struct json_writer *w, const char *key, int64_t i)
{
	char num[32];

	item_start(w, key);
	snprintf(num, sizeof(num), "%" PRId64, i);
	puts_(w, num);
}

void json_write_bool(struct json_writer *w, const char *key, bool b)
{
	item_start(w, key);
	puts_(w, b ? "true" : "false");
}

void json_write_null(struct json_writer *w, const char *key)
{
	item_start(w, key);
	puts_(w, "null");
}

void json_write_value(struct json_writer *w, const char *key, const struct json_value *v)
{
	size_t i;

	switch (v->type) {
	case JSON_NULL: json_write_null(w, key); break;
	case JSON_BOOL: json_write_bool(w, key, v->b); break;
	case JSON_INT: json_write_int(w, key, v->i); break;
	case JSON_STRING: json_write_string(w, key, v->str.s); break;
	case JSON_ARRAY:
		json_write_array_begin(w, key);
		for (i = 0; i < v->arr.n; i++)
			json_write_value(w, NULL, &v->arr.items[i]);
		json_write_array_end(w);
		break;
	case JSON_OBJECT:
		json_write_object_begin(w, key);
		for (i = 0; i < v->obj.n; i++)
			json_write_value(w, v->obj.members[i].key, &v->obj.members[i].value);
		json_write_object_end(w);
		break;
	}
}

int json_writer_finish(struct json_writer *w, char **text_r, size_t *len_r)
{
	int rc = w->err;

	if (!rc && (w->depth || !w->has_item[0]))
		rc = -EINVAL;
	if (rc) {
		json_writer_discard(w);
		return rc;
	}
	*text_r = w->buf;
	if (len_r)
		*len_r = w->len;
	w->buf = NULL;
	json_writer_discard(w);
	return 0;
}

void json_writer_discard(struct json_writer *w)
{
	int indent = w->indent;

	free(w->buf);
	json_writer_init(w, indent);
}
