/*
 * xl.cfg syntax: a lexer and parser for Xen's xl.cfg grammar, producing a
 * generic tree of settings (key -> string or list) with line numbers.  What
 * the keys mean is domain_config.h's business, not this layer's.
 *
 * Grammar (as Xen's libxlu_cfg_y.y / libxlu_cfg_l.l, 4.17):
 *   file      := { [ assignment ] ( NEWLINE | ';' ) } [ assignment ]
 *   assignment:= IDENT ( '=' | '+=' ) value
 *   value     := STRING | NUMBER | '[' nl* [ value nl* { ',' nl* value nl* } [ ',' nl* ] ] ']'
 *   IDENT     := [a-z][a-z0-9_]*          NUMBER := [0-9][0-9a-fx]*
 *   STRING    := "..." or '...' on one line, escapes \" \' \\ \a \b \f \n \r \t \v \xHH \ooo
 *   comments  := '#' to the end of the line
 * A later assignment to a key replaces the earlier one; '+=' appends to the
 * earlier string or list (or acts as '=' when there is none).
 */
#ifndef XENKVM_XLCFG_H
#define XENKVM_XLCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum xlcfg_type { XLCFG_STRING, XLCFG_LIST };

struct xlcfg_value {
	enum xlcfg_type type;
	int line;                   /* where the value (or its '[') starts */
	char *str;                  /* XLCFG_STRING: never NULL, NUL-free */
	struct xlcfg_value **items; /* XLCFG_LIST */
	size_t nr_items;
};

struct xlcfg_setting {
	char *key;
	struct xlcfg_value *value;
	const char *source;         /* file name or "<command line>"; owned by the xlcfg */
	int line;                   /* line of the value of the last assignment */
	bool appended;              /* the last assignment was '+=' */
	struct xlcfg_setting *next; /* in order of first assignment */
};

struct xlcfg {
	struct xlcfg_setting *head, *tail;
	char **sources;
	size_t nr_sources;
	size_t nr_values;           /* live xlcfg_value objects: leak accounting for tests */
};

/* Lists deeper than this are refused (xl allows nesting, e.g. vnuma). */
#define XLCFG_MAX_DEPTH 8

void xlcfg_init(struct xlcfg *cfg);
/*
 * Parses `len` bytes of `text` (no NUL needed) into `cfg`, on top of what is
 * already there, numbering lines from `first_line`.  On failure returns
 * -EINVAL (or -ENOMEM) with "source:line: message" in err, and `cfg` holds
 * whatever was complete before the error (free it; don't use it).
 */
int xlcfg_parse(struct xlcfg *cfg, const char *source, int first_line,
		const char *text, size_t len, char *err, size_t errlen);
const struct xlcfg_setting *xlcfg_find(const struct xlcfg *cfg, const char *key);
void xlcfg_free(struct xlcfg *cfg);

/* Canonical dump, one `key = value` per line, strings C-escaped; golden tests. */
void xlcfg_dump_value(const struct xlcfg_value *v, FILE *f);
void xlcfg_dump(const struct xlcfg *cfg, FILE *f);

#endif
