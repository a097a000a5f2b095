/*
 * xl disk specs (docs/man/xl-disk-configuration.5.pod), both forms:
 *   "/dev/vg/guest,raw,xvda,rw"                       positional
 *   "format=raw, vdev=xvda, access=rw, target=/x"     key=value
 *   "phy:/dev/sda,hda,w"  ",hdc:cdrom,r"              deprecated xend forms
 *
 * xl scans these with a flex lexer whose rule priorities decide what a token
 * is; this file reproduces those decisions by hand, token by token:
 *   - leading blanks of a token are skipped, trailing ones are kept;
 *   - "target=" swallows the whole rest of the spec (so it may hold commas);
 *   - a known deprecated prefix ("phy:", "raw:", "iscsi:", ...) always wins;
 *     an unknown "word:" followed by a non-alphanumeric is an error;
 *   - a token that starts with "key=" is that key; a flag ("cdrom",
 *     "direct-io-safe", ...) only when the token is exactly that word;
 *   - anything else fills the next free positional slot: target, format,
 *     vdev, access (after a deprecated prefix, the format slot is skipped).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/domain_config.h"

enum disk_format { FMT_UNKNOWN, FMT_RAW, FMT_QCOW, FMT_QCOW2, FMT_VHD, FMT_EMPTY, FMT_QED };

static const char *const format_names[] = {
	[FMT_RAW] = "raw", [FMT_QCOW] = "qcow", [FMT_QCOW2] = "qcow2",
	[FMT_VHD] = "vhd", [FMT_EMPTY] = "empty", [FMT_QED] = "qed",
};

struct disk_parse {
	const char *spec;
	struct disk_spec *disk;
	struct config_error *err;
	enum disk_format format;
	bool had_depr_prefix;
	bool access_set;
	bool failed;
};

static void derr(struct disk_parse *dp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void derr(struct disk_parse *dp, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (dp->failed)
		return;
	dp->failed = true;
	if (!dp->err)
		return;
	n = snprintf(dp->err->msg, sizeof(dp->err->msg), "disk '%.120s': ", dp->spec);
	if (n < 0 || (size_t)n >= sizeof(dp->err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(dp->err->msg + n, sizeof(dp->err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* xl's savestring: a string may be given once, except that an empty one may be replaced. */
static void save_string(struct disk_parse *dp, const char *what, char **slot, const char *val, size_t len)
{
	char *s;

	if (*slot && **slot) {
		derr(dp, "%s specified twice", what);
		return;
	}
	s = malloc(len + 1);
	if (!s) {
		derr(dp, "out of memory");
		return;
	}
	memcpy(s, val, len);
	s[len] = 0;
	free(*slot);
	*slot = s;
}

static void set_format(struct disk_parse *dp, const char *val, size_t len)
{
	enum disk_format f = FMT_UNKNOWN;

	if (len == 0) {
		f = FMT_RAW;
	} else {
		for (size_t i = FMT_RAW; i <= FMT_QED; i++)
			if (strlen(format_names[i]) == len && !memcmp(format_names[i], val, len))
				f = (enum disk_format)i;
	}
	if (f == FMT_UNKNOWN) {
		derr(dp, "unknown format '%.*s' (raw, qcow, qcow2, vhd, qed or empty)", (int)len, val);
		return;
	}
	if (dp->format != FMT_UNKNOWN && dp->format != f) {
		derr(dp, "format specified twice");
		return;
	}
	dp->format = f;
}

static bool word_eq(const char *val, size_t len, const char *word)
{
	return strlen(word) == len && !memcmp(val, word, len);
}

static void set_access(struct disk_parse *dp, const char *val, size_t len)
{
	if (word_eq(val, len, "r") || word_eq(val, len, "ro"))
		dp->disk->readonly = true;
	else if (word_eq(val, len, "rw") || word_eq(val, len, "w") || len == 0)
		dp->disk->readonly = false;
	else
		derr(dp, "unknown access '%.*s' (ro, r, rw or w)", (int)len, val);
}

/* "<vdev>:<devtype>" in a positional slot; returns false (doing nothing) without a ':'. */
static bool vdev_and_devtype(struct disk_parse *dp, const char *val, size_t len)
{
	const char *colon = memrchr(val, ':', len);
	const char *type;
	size_t tlen;

	if (!colon)
		return false;
	save_string(dp, "vdev", &dp->disk->vdev, val, (size_t)(colon - val));
	type = colon + 1;
	tlen = len - (size_t)(type - val);
	if (word_eq(type, tlen, "cdrom"))
		dp->disk->cdrom = true;
	else if (word_eq(type, tlen, "disk"))
		dp->disk->cdrom = false;
	else
		derr(dp, "unknown device type '%.*s' after ':' (cdrom or disk)", (int)tlen, type);
	return true;
}

static void positional(struct disk_parse *dp, const char *val, size_t len)
{
	struct disk_spec *d = dp->disk;

	if (!d->target) {
		save_string(dp, "target", &d->target, val, len);
	} else if (!dp->had_depr_prefix && dp->format == FMT_UNKNOWN) {
		/* ",hdc:cdrom,r": xend's empty cdrom has the vdev in the format slot */
		if (!*d->target && vdev_and_devtype(dp, val, len))
			dp->format = FMT_EMPTY;
		else
			set_format(dp, val, len);
	} else if (!d->vdev) {
		if (!vdev_and_devtype(dp, val, len))
			save_string(dp, "vdev", &d->vdev, val, len);
	} else if (!dp->access_set) {
		dp->access_set = true;
		set_access(dp, val, len);
	} else {
		derr(dp, "too many positional parameters at '%.*s'", (int)(len > 60 ? 60 : len), val);
	}
}

/* Deprecated "prefix:" at *p; returns its length (0 if none) having applied it. */
static size_t depr_prefix(struct disk_parse *dp, const char *p, const char *end)
{
	static const char *const formats[] = { "raw", "qcow", "qcow2", "vhd" };
	static const char *const scripts[] = { "iscsi", "nbd", "enbd", "drbd" };
	static const char *const ignored[] = { "tapdisk", "tap", "tap2", "aio", "ioemu", "file", "phy" };
	const char *q = p;
	size_t n, i;

	if (q >= end || *q < 'a' || *q > 'z')
		return 0;
	while (q < end && ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9')))
		q++;
	if (q >= end || *q != ':')
		return 0;
	n = (size_t)(q - p);
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (word_eq(p, n, formats[i])) {
			dp->had_depr_prefix = true;
			set_format(dp, p, n);
			return n + 1;
		}
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
		if (word_eq(p, n, scripts[i])) {
			char script[16];

			dp->had_depr_prefix = true;
			snprintf(script, sizeof(script), "block-%s", scripts[i]);
			save_string(dp, "script", &dp->disk->script, script, strlen(script));
			return n + 1;
		}
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (word_eq(p, n, ignored[i])) {
			dp->had_depr_prefix = true;
			return n + 1;
		}
	/* xl: an unknown "word:" counts as a prefix unless a letter or digit follows */
	if (q + 1 >= end || !((q[1] >= 'a' && q[1] <= 'z') || (q[1] >= '0' && q[1] <= '9'))) {
		derr(dp, "unknown deprecated prefix '%.*s:'", (int)n, p);
		return n + 1;
	}
	return 0;
}

/* Handles one "key=value" token; `eq` points at its '='. */
static void keyword(struct disk_parse *dp, const char *tok, size_t len, const char *eq)
{
	struct disk_spec *d = dp->disk;
	size_t klen = (size_t)(eq - tok);
	const char *val = eq + 1;
	size_t vlen = len - klen - 1;

	if (word_eq(tok, klen, "format")) {
		set_format(dp, val, vlen);
	} else if (word_eq(tok, klen, "devtype")) {
		if (word_eq(val, vlen, "cdrom"))
			d->cdrom = true;
		else if (word_eq(val, vlen, "disk"))
			d->cdrom = false;
		else
			derr(dp, "unknown devtype '%.*s' (cdrom or disk)", (int)vlen, val);
	} else if (word_eq(tok, klen, "access")) {
		set_access(dp, val, vlen);
	} else if (word_eq(tok, klen, "vdev")) {
		save_string(dp, "vdev", &d->vdev, val, vlen);
	} else if (word_eq(tok, klen, "script")) {
		save_string(dp, "script", &d->script, val, vlen);
	} else if (word_eq(tok, klen, "backendtype")) {
		if (!word_eq(val, vlen, "phy") && !word_eq(val, vlen, "tap") &&
		    !word_eq(val, vlen, "qdisk") && !word_eq(val, vlen, "standalone"))
			derr(dp, "unknown backendtype '%.*s' (phy, qdisk, standalone or tap)", (int)vlen, val);
		else if (d->backendtype && !word_eq(val, vlen, d->backendtype))
			derr(dp, "backendtype specified twice");
		else if (!d->backendtype)
			save_string(dp, "backendtype", &d->backendtype, val, vlen);
	} else if (word_eq(tok, klen, "specification")) {
		if (word_eq(val, vlen, "virtio"))
			derr(dp, "specification=virtio is not supported (only xen)");
		else if (!word_eq(val, vlen, "xen"))
			derr(dp, "unknown specification '%.*s' (xen)", (int)vlen, val);
	} else if (word_eq(tok, klen, "backend")) {
		/* a driver domain; we have none, everything is served by xenkvmd */
		if (vlen && !word_eq(val, vlen, "0") && !word_eq(val, vlen, "Domain-0"))
			derr(dp, "backend=%.*s: driver domains are not supported", (int)vlen, val);
	} else if (word_eq(tok, klen, "grant_usage")) {
		if (!word_eq(val, vlen, "0") && !word_eq(val, vlen, "1"))
			derr(dp, "unknown grant_usage '%.*s' (0 or 1)", (int)vlen, val);
	} else if (word_eq(tok, klen, "colo-host") || word_eq(tok, klen, "colo-port") ||
		   word_eq(tok, klen, "colo-export") || word_eq(tok, klen, "active-disk") ||
		   word_eq(tok, klen, "hidden-disk")) {
		derr(dp, "%.*s: COLO is not supported", (int)klen, tok);
	} else {
		derr(dp, "unknown parameter '%.*s'", (int)(klen > 40 ? 40 : klen), tok);
	}
}

/* Flags are recognised only as a whole token; returns false if tok is none. */
static bool flag(struct disk_parse *dp, const char *tok, size_t len)
{
	if (word_eq(tok, len, "cdrom"))
		dp->disk->cdrom = true;
	else if (word_eq(tok, len, "direct-io-safe"))
		dp->disk->direct_io = true;
	else if (word_eq(tok, len, "discard") || word_eq(tok, len, "no-discard") ||
		 word_eq(tok, len, "trusted") || word_eq(tok, len, "untrusted") ||
		 word_eq(tok, len, "no-colo"))
		;       /* advisory to the frontend or backend; nothing for us to do */
	else if (word_eq(tok, len, "colo"))
		derr(dp, "colo: COLO is not supported");
	else
		return false;
	return true;
}

/* Xen's vdev names: xvd*, hd*, sd* (a-z letters, optional partition) or d<N>[p<N>]. */
static bool vdev_valid(const char *v)
{
	const char *p = v;

	if (!strncmp(p, "xvd", 3))
		p += 3;
	else if (!strncmp(p, "hd", 2) || !strncmp(p, "sd", 2))
		p += 2;
	else if (*p == 'd' && p[1] >= '0' && p[1] <= '9') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == 'p' && p[1] >= '0' && p[1] <= '9')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		return *p == 0 && p - v <= 16;
	} else
		return false;
	if (*p < 'a' || *p > 'z')
		return false;
	while (*p >= 'a' && *p <= 'z')
		p++;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == 0 && p - v <= 16;
}

int disk_spec_ide_position(const struct disk_spec *disk)
{
	const char *v = disk->vdev;

	if (!v)
		return -1;
	if (!strncmp(v, "xvd", 3))
		v += 3;
	else if (!strncmp(v, "hd", 2) || !strncmp(v, "sd", 2))
		v += 2;
	else
		return -1;
	if (v[0] < 'a' || v[0] > 'd' || v[1])
		return -1;
	return v[0] - 'a';
}

int disk_spec_parse(const char *spec, struct disk_spec *disk, struct config_error *err)
{
	struct disk_parse dp = { .spec = spec, .disk = disk, .err = err };
	const char *p = spec, *end = spec + strlen(spec);

	memset(disk, 0, sizeof(*disk));
	while (p < end && !dp.failed) {
		const char *tok, *tend, *eq;
		size_t n;

		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
			p++;
		if (p >= end)
			break;
		if (!strncmp(p, "target=", 7)) {
			n = (size_t)(end - p) - 7;
			if (n && p[7 + n - 1] == ',')
				n--;
			save_string(&dp, "target", &disk->target, p + 7, n);
			break;
		}
		n = depr_prefix(&dp, p, end);
		if (n) {
			p += n;
			continue;
		}
		tok = p;
		tend = memchr(p, ',', (size_t)(end - p));
		if (!tend)
			tend = end;
		p = tend < end ? tend + 1 : end;
		n = (size_t)(tend - tok);
		eq = memchr(tok, '=', n);
		if (eq)
			keyword(&dp, tok, n, eq);
		else if (!flag(&dp, tok, n))
			positional(&dp, tok, n);
	}
	if (dp.failed)
		goto fail;

	if (dp.format == FMT_UNKNOWN)
		dp.format = FMT_RAW;
	if (disk->cdrom) {
		disk->readonly = true;
		if (!disk->target || !*disk->target) {
			dp.format = FMT_EMPTY;
			free(disk->target);
			disk->target = NULL;
		}
	}
	if (!disk->vdev || !*disk->vdev) {
		derr(&dp, "no vdev specified");
		goto fail;
	}
	if (!vdev_valid(disk->vdev)) {
		derr(&dp, "invalid vdev '%.40s' (xvdX, hdX, sdX or dN)", disk->vdev);
		goto fail;
	}
	if (!disk->cdrom && (!disk->target || !*disk->target)) {
		derr(&dp, "no target specified (only a cdrom may be empty)");
		goto fail;
	}
	if (!disk->cdrom && dp.format == FMT_EMPTY) {
		derr(&dp, "format 'empty' is only for cdroms");
		goto fail;
	}
	disk->format = strdup(format_names[dp.format]);
	if (!disk->format) {
		derr(&dp, "out of memory");
		goto fail;
	}
	return 0;
fail:
	disk_spec_free(disk);
	return -1;
}

void disk_spec_free(struct disk_spec *disk)
{
	free(disk->target);
	free(disk->vdev);
	free(disk->format);
	free(disk->backendtype);
	free(disk->script);
	memset(disk, 0, sizeof(*disk));
}
