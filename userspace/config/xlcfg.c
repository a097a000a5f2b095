/*
 * xl.cfg lexer and parser (grammar in xlcfg.h).
 *
 * Written to accept exactly what Xen 4.17's libxlutil accepts, with these
 * deliberate differences (docs/CONFIG.md lists them for users):
 *   - a comment on the last line needs no trailing newline (xl: lexical error);
 *   - '\r' is whitespace, so CRLF files work (xl: lexical error);
 *   - \xHH and \ooo escapes produce the byte they name (xl 4.17 rejects every
 *     \x escape and silently drops octal ones); an escape naming NUL is refused;
 *   - the first error stops parsing (xl keeps going to report more).
 * Every input is treated as hostile: lengths come from the caller, NUL bytes
 * are refused, list nesting is bounded, nothing here aborts.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/xlcfg.h"

enum tok_type {
	T_EOF, T_NL, T_SEMI, T_EQ, T_PLUSEQ, T_LBRACK, T_RBRACK, T_COMMA,
	T_IDENT, T_NUMBER, T_STRING,
};

struct token {
	enum tok_type type;
	int line;
	char *text;            /* T_IDENT, T_NUMBER, T_STRING (dequoted) */
	bool bad_ident;        /* T_IDENT that is not [a-z][a-z0-9_]* (xl: lexical error) */
};

struct parser {
	struct xlcfg *cfg;
	const char *source;
	const char *p, *end;
	int line;
	char *err;
	size_t errlen;
	int rc;                /* first error; later ones are not reported */
};

static void perr(struct parser *ps, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void perr(struct parser *ps, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->rc)
		return;
	ps->rc = -EINVAL;
	if (!ps->err || !ps->errlen)
		return;
	n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->source, line);
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static void enomem(struct parser *ps)
{
	if (ps->rc)
		return;
	ps->rc = -ENOMEM;
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "%s: out of memory", ps->source);
}

/* --- values ----------------------------------------------------------------- */

static struct xlcfg_value *value_new(struct xlcfg *cfg, enum xlcfg_type type, int line)
{
	struct xlcfg_value *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->type = type;
	v->line = line;
	cfg->nr_values++;
	return v;
}

static void value_free(struct xlcfg *cfg, struct xlcfg_value *v)
{
	size_t i;

	if (!v)
		return;
	if (v->type == XLCFG_LIST) {
		for (i = 0; i < v->nr_items; i++)
			value_free(cfg, v->items[i]);
		free(v->items);
	}
	free(v->str);
	free(v);
	cfg->nr_values--;
}

static int list_append(struct xlcfg_value *list, struct xlcfg_value *item)
{
	size_t n = list->nr_items;

	/* Capacity is implicitly 4 or the next power of two: grow when n reaches it. */
	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
		size_t cap = n == 0 ? 4 : n * 2;
		struct xlcfg_value **items;

		if (cap > SIZE_MAX / sizeof(*items))
			return -ENOMEM;
		items = realloc(list->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		list->items = items;
	}
	list->items[list->nr_items++] = item;
	return 0;
}

/* --- lexer ------------------------------------------------------------------ */

static bool is_lower(int c) { return c >= 'a' && c <= 'z'; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_word(int c)
{
	return is_lower(c) || is_digit(c) || (c >= 'A' && c <= 'Z') || c == '_';
}
static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *dup_range(const char *s, size_t n)
{
	char *r = malloc(n + 1);

	if (r) {
		memcpy(r, s, n);
		r[n] = 0;
	}
	return r;
}

/* A printable rendering of byte c for messages. */
static const char *char_desc(int c, char buf[16])
{
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02x", c & 0xff);
	return buf;
}

static int lex_string(struct parser *ps, struct token *t)
{
	const char quote = *ps->p++;
	const char *start = ps->p;
	char *out, *q;

	/* The dequoted string is never longer than the quoted one. */
	while (ps->p < ps->end && *ps->p != quote && *ps->p != '\n') {
		if (*ps->p == '\\' && ps->p + 1 < ps->end && ps->p[1] != '\n')
			ps->p++;
		ps->p++;
	}
	if (ps->p >= ps->end || *ps->p != quote) {
		perr(ps, t->line, "unterminated string");
		return ps->rc;
	}
	out = q = malloc((size_t)(ps->p - start) + 1);
	if (!out) {
		enomem(ps);
		return ps->rc;
	}
	for (const char *s = start; s < ps->p; ) {
		char c = *s++;
		int v, n;

		if (c == 0) {
			perr(ps, t->line, "NUL byte in string");
			goto bad;
		}
		if (c != '\\') {
			*q++ = c;
			continue;
		}
		c = *s++;
		switch (c) {
		case '"': case '\'': case '\\': *q++ = c; continue;
		case 'a': *q++ = '\a'; continue;
		case 'b': *q++ = '\b'; continue;
		case 'f': *q++ = '\f'; continue;
		case 'n': *q++ = '\n'; continue;
		case 'r': *q++ = '\r'; continue;
		case 't': *q++ = '\t'; continue;
		case 'v': *q++ = '\v'; continue;
		case 'x':
			if (s + 1 >= ps->p || hexval(s[0]) < 0 || hexval(s[1]) < 0) {
				perr(ps, t->line, "invalid \\x escape in string (two hex digits needed)");
				goto bad;
			}
			v = hexval(s[0]) * 16 + hexval(s[1]);
			s += 2;
			break;
		default:
			if (c < '0' || c > '7') {
				char b[16];

				perr(ps, t->line, "invalid escape '\\' followed by %s in string",
				     char_desc((unsigned char)c, b));
				goto bad;
			}
			v = c - '0';
			for (n = 1; n < 3 && s < ps->p && *s >= '0' && *s <= '7'; n++)
				v = v * 8 + (*s++ - '0');
			if (v > 0xff) {
				perr(ps, t->line, "octal escape out of range in string");
				goto bad;
			}
			break;
		}
		if (v == 0) {
			perr(ps, t->line, "escape for a NUL character in string");
			goto bad;
		}
		*q++ = (char)v;
	}
	*q = 0;
	ps->p++;                                  /* closing quote */
	t->type = T_STRING;
	t->text = out;
	return 0;
bad:
	free(out);
	return ps->rc;
}

/* Fills *t with the next token; 0 or the parser's error. */
static int lex(struct parser *ps, struct token *t)
{
	char b[16];

	t->text = NULL;
	t->bad_ident = false;
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r'))
		ps->p++;
	if (ps->p < ps->end && *ps->p == '#')
		while (ps->p < ps->end && *ps->p != '\n')
			ps->p++;
	t->line = ps->line;
	if (ps->p >= ps->end) {
		t->type = T_EOF;
		return 0;
	}
	switch (*ps->p) {
	case '\n':
		ps->p++;
		if (ps->line < INT_MAX)
			ps->line++;
		t->type = T_NL;
		return 0;
	case ';': ps->p++; t->type = T_SEMI; return 0;
	case '=': ps->p++; t->type = T_EQ; return 0;
	case '[': ps->p++; t->type = T_LBRACK; return 0;
	case ']': ps->p++; t->type = T_RBRACK; return 0;
	case ',': ps->p++; t->type = T_COMMA; return 0;
	case '+':
		if (ps->p + 1 < ps->end && ps->p[1] == '=') {
			ps->p += 2;
			t->type = T_PLUSEQ;
			return 0;
		}
		break;
	case '"': case '\'':
		return lex_string(ps, t);
	default:
		break;
	}
	if (is_word((unsigned char)*ps->p)) {
		/*
		 * Take the whole word, then check it against xl's token shapes:
		 * anything xl would split into two adjacent tokens here is a syntax
		 * error there too, so one clearer message loses nothing.
		 */
		const char *s = ps->p;
		size_t n;
		bool ok = true;

		while (ps->p < ps->end && (is_word((unsigned char)*ps->p) || *ps->p == '.'))
			ps->p++;
		n = (size_t)(ps->p - s);
		if (is_digit((unsigned char)s[0])) {
			for (size_t i = 1; i < n; i++)
				if (!is_digit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f') && s[i] != 'x')
					ok = false;
			if (!ok) {
				perr(ps, t->line, "invalid number '%.*s' (quote values that are not plain numbers)",
				     (int)(n > 64 ? 64 : n), s);
				return ps->rc;
			}
			t->type = T_NUMBER;
		} else {
			ok = is_lower((unsigned char)s[0]);
			for (size_t i = 1; i < n; i++)
				if (!is_lower((unsigned char)s[i]) && !is_digit((unsigned char)s[i]) && s[i] != '_')
					ok = false;
			/* reported by the parser, which knows whether a key was due */
			t->bad_ident = !ok;
			t->type = T_IDENT;
		}
		t->text = dup_range(s, n);
		if (!t->text) {
			enomem(ps);
			return ps->rc;
		}
		return 0;
	}
	if (*ps->p == 0)
		perr(ps, t->line, "NUL byte in file");
	else
		perr(ps, t->line, "unexpected character %s", char_desc((unsigned char)*ps->p, b));
	return ps->rc;
}

static const char *tok_desc(const struct token *t, char *buf, size_t len)
{
	switch (t->type) {
	case T_EOF: return "end of file";
	case T_NL: return "end of line";
	case T_SEMI: return "';'";
	case T_EQ: return "'='";
	case T_PLUSEQ: return "'+='";
	case T_LBRACK: return "'['";
	case T_RBRACK: return "']'";
	case T_COMMA: return "','";
	case T_IDENT: snprintf(buf, len, "'%.40s'", t->text); return buf;
	case T_NUMBER: snprintf(buf, len, "number %.40s", t->text); return buf;
	case T_STRING: return "a string";
	}
	return "?";
}

/* --- parser ----------------------------------------------------------------- */

static int next(struct parser *ps, struct token *t)
{
	return lex(ps, t);
}

static int skip_newlines(struct parser *ps, struct token *t)
{
	while (t->type == T_NL)
		if (next(ps, t))
			return ps->rc;
	return 0;
}

/*
 * Parses one value starting at token *t (consumed).  On success *out owns the
 * value and *t is the token after it.  `key` is only for messages.
 */
static int parse_value(struct parser *ps, struct token *t, const char *key, int depth,
		       struct xlcfg_value **out)
{
	struct xlcfg_value *v = NULL;
	char b[64];
	int open_line;

	*out = NULL;
	switch (t->type) {
	case T_STRING:
	case T_NUMBER:
		v = value_new(ps->cfg, XLCFG_STRING, t->line);
		if (!v) {
			enomem(ps);
			return ps->rc;
		}
		v->str = t->text;
		t->text = NULL;
		if (next(ps, t)) {
			value_free(ps->cfg, v);
			return ps->rc;
		}
		*out = v;
		return 0;
	case T_LBRACK:
		break;
	case T_IDENT:
		perr(ps, t->line, "unquoted value '%.40s' for '%s' (strings must be quoted)", t->text, key);
		return ps->rc;
	case T_NL: case T_EOF: case T_SEMI:
		perr(ps, t->line, "missing value for '%s'", key);
		return ps->rc;
	default:
		perr(ps, t->line, "expected a value for '%s', found %s", key, tok_desc(t, b, sizeof(b)));
		return ps->rc;
	}

	if (depth >= XLCFG_MAX_DEPTH) {
		perr(ps, t->line, "lists nested too deeply in '%s'", key);
		return ps->rc;
	}
	open_line = t->line;
	v = value_new(ps->cfg, XLCFG_LIST, t->line);
	if (!v) {
		enomem(ps);
		return ps->rc;
	}
	if (next(ps, t) || skip_newlines(ps, t))
		goto fail;
	while (t->type != T_RBRACK) {
		struct xlcfg_value *item;

		if (t->type == T_EOF) {
			perr(ps, t->line, "unterminated list for '%s' (opened on line %d)", key, open_line);
			goto fail;
		}
		if (t->type == T_COMMA) {
			perr(ps, t->line, "missing value before ',' in list for '%s'", key);
			goto fail;
		}
		if (parse_value(ps, t, key, depth + 1, &item))
			goto fail;
		if (list_append(v, item)) {
			value_free(ps->cfg, item);
			enomem(ps);
			goto fail;
		}
		if (skip_newlines(ps, t))
			goto fail;
		if (t->type == T_COMMA) {
			if (next(ps, t) || skip_newlines(ps, t))
				goto fail;
		} else if (t->type != T_RBRACK) {
			if (t->type == T_EOF)
				perr(ps, t->line, "unterminated list for '%s' (opened on line %d)", key, open_line);
			else
				perr(ps, t->line, "expected ',' or ']' in list for '%s', found %s",
				     key, tok_desc(t, b, sizeof(b)));
			goto fail;
		}
	}
	if (next(ps, t))
		goto fail;
	*out = v;
	return 0;
fail:
	value_free(ps->cfg, v);
	return ps->rc;
}

static const char *source_intern(struct xlcfg *cfg, const char *source)
{
	char **s;

	for (size_t i = 0; i < cfg->nr_sources; i++)
		if (!strcmp(cfg->sources[i], source))
			return cfg->sources[i];
	s = realloc(cfg->sources, (cfg->nr_sources + 1) * sizeof(*s));
	if (!s)
		return NULL;
	cfg->sources = s;
	s[cfg->nr_sources] = strdup(source);
	if (!s[cfg->nr_sources])
		return NULL;
	return s[cfg->nr_sources++];
}

static struct xlcfg_setting *find(const struct xlcfg *cfg, const char *key)
{
	for (struct xlcfg_setting *s = cfg->head; s; s = s->next)
		if (!strcmp(s->key, key))
			return s;
	return NULL;
}

/* Concatenates `add` onto `prev` (xl's '+='), consuming `add`. */
static int value_concat(struct parser *ps, struct xlcfg_value *prev, struct xlcfg_value *add,
			const char *key)
{
	if (prev->type != add->type) {
		perr(ps, add->line, "can't add a %s to a %s with '+=' for '%s'",
		     add->type == XLCFG_LIST ? "list" : "string",
		     prev->type == XLCFG_LIST ? "list" : "string", key);
		value_free(ps->cfg, add);
		return ps->rc;
	}
	if (prev->type == XLCFG_STRING) {
		size_t a = strlen(prev->str), b = strlen(add->str);
		char *s = realloc(prev->str, a + b + 1);

		if (!s) {
			value_free(ps->cfg, add);
			enomem(ps);
			return ps->rc;
		}
		memcpy(s + a, add->str, b + 1);
		prev->str = s;
		value_free(ps->cfg, add);
		return 0;
	}
	for (size_t i = 0; i < add->nr_items; i++) {
		if (list_append(prev, add->items[i])) {
			/* items before i now belong to prev; free the rest with add */
			memmove(add->items, add->items + i, (add->nr_items - i) * sizeof(*add->items));
			add->nr_items -= i;
			value_free(ps->cfg, add);
			enomem(ps);
			return ps->rc;
		}
	}
	add->nr_items = 0;
	value_free(ps->cfg, add);
	return 0;
}

static int store(struct parser *ps, char *key, bool append, struct xlcfg_value *v,
		 const char *source)
{
	struct xlcfg_setting *s = find(ps->cfg, key);
	int line = v->line;

	if (s && append) {
		if (value_concat(ps, s->value, v, key)) {
			free(key);
			return ps->rc;
		}
		free(key);
	} else if (s) {
		value_free(ps->cfg, s->value);
		s->value = v;
		free(key);
	} else {
		s = calloc(1, sizeof(*s));
		if (!s) {
			free(key);
			value_free(ps->cfg, v);
			enomem(ps);
			return ps->rc;
		}
		s->key = key;
		s->value = v;
		if (ps->cfg->tail)
			ps->cfg->tail->next = s;
		else
			ps->cfg->head = s;
		ps->cfg->tail = s;
	}
	s->line = line;
	s->appended = append;
	s->source = source;
	return 0;
}

void xlcfg_init(struct xlcfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

int xlcfg_parse(struct xlcfg *cfg, const char *source, int first_line,
		const char *text, size_t len, char *err, size_t errlen)
{
	struct parser ps = {
		.cfg = cfg, .source = source, .p = text, .end = text + len,
		.line = first_line, .err = err, .errlen = errlen,
	};
	struct token t = { 0 };
	const char *src;
	char b[64];

	if (err && errlen)
		err[0] = 0;
	src = source_intern(cfg, source);
	if (!src) {
		enomem(&ps);
		return ps.rc;
	}
	if (next(&ps, &t))
		goto out;
	for (;;) {
		struct xlcfg_value *v;
		char *key;
		bool append;

		if (t.type == T_EOF)
			break;
		if (t.type == T_NL || t.type == T_SEMI) {
			if (next(&ps, &t))
				goto out;
			continue;
		}
		if (t.type != T_IDENT) {
			perr(&ps, t.line, "expected a key, found %s", tok_desc(&t, b, sizeof(b)));
			goto out;
		}
		if (t.bad_ident) {
			perr(&ps, t.line, "invalid key '%.40s' (keys are lowercase letters, digits and '_', starting with a letter)",
			     t.text);
			goto out;
		}
		key = t.text;
		t.text = NULL;
		if (next(&ps, &t)) {
			free(key);
			goto out;
		}
		if (t.type != T_EQ && t.type != T_PLUSEQ) {
			perr(&ps, t.line, "expected '=' after '%s', found %s", key, tok_desc(&t, b, sizeof(b)));
			free(key);
			goto out;
		}
		append = t.type == T_PLUSEQ;
		if (next(&ps, &t) || parse_value(&ps, &t, key, 0, &v)) {
			free(key);
			goto out;
		}
		if (t.type != T_NL && t.type != T_SEMI && t.type != T_EOF) {
			perr(&ps, t.line, "expected end of line after the value of '%s', found %s",
			     key, tok_desc(&t, b, sizeof(b)));
			value_free(cfg, v);
			free(key);
			goto out;
		}
		if (store(&ps, key, append, v, src))
			goto out;
	}
out:
	free(t.text);
	return ps.rc;
}

const struct xlcfg_setting *xlcfg_find(const struct xlcfg *cfg, const char *key)
{
	return find(cfg, key);
}

void xlcfg_free(struct xlcfg *cfg)
{
	struct xlcfg_setting *s, *n;

	for (s = cfg->head; s; s = n) {
		n = s->next;
		value_free(cfg, s->value);
		free(s->key);
		free(s);
	}
	for (size_t i = 0; i < cfg->nr_sources; i++)
		free(cfg->sources[i]);
	free(cfg->sources);
	cfg->head = cfg->tail = NULL;
	cfg->sources = NULL;
	cfg->nr_sources = 0;
}

void xlcfg_dump_value(const struct xlcfg_value *v, FILE *f)
{
	if (v->type == XLCFG_STRING) {
		fputc('"', f);
		for (const unsigned char *s = (const unsigned char *)v->str; *s; s++) {
			if (*s == '"' || *s == '\\')
				fprintf(f, "\\%c", *s);
			else if (*s == '\n')
				fputs("\\n", f);
			else if (*s == '\t')
				fputs("\\t", f);
			else if (*s < 0x20 || *s >= 0x7f)
				fprintf(f, "\\x%02x", *s);
			else
				fputc(*s, f);
		}
		fputc('"', f);
		return;
	}
	fputc('[', f);
	for (size_t i = 0; i < v->nr_items; i++) {
		if (i)
			fputs(", ", f);
		xlcfg_dump_value(v->items[i], f);
	}
	fputc(']', f);
}

void xlcfg_dump(const struct xlcfg *cfg, FILE *f)
{
	for (const struct xlcfg_setting *s = cfg->head; s; s = s->next) {
		fprintf(f, "%s = ", s->key);
		xlcfg_dump_value(s->value, f);
		fputc('\n', f);
	}
}
