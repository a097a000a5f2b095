/*
 * xlu-crosscheck FILE: parses FILE with our xlcfg and with Xen's own
 * libxlutil (the reference implementation of xl.cfg) and compares:
 *   - both accept, or both reject, the file;
 *   - every setting has the same value (strings, lists, nested lists);
 *   - every string in disk = [...] gets the same verdict and fields from
 *     disk_spec_parse() and xlu_disk_parse(), except that we may refuse a
 *     spec xl takes (we are stricter: vdev names, driver domains, virtio...).
 * A file whose first line holds "xlcfg-crosscheck: skip" is a documented
 * deviation (docs/CONFIG.md) and only reported.
 * Prints one line per finding; exits 0 when they agree.  Test-only: links
 * libxlutil + libxenlight from libxen-dev.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>
#include <libxlutil.h>

#include "xenkvm/domain_config.h"
#include "xenkvm/xlcfg.h"

static int compare_value(XLU_Config *xc, XLU_ConfigValue *xv, const struct xlcfg_value *ov,
			 const char *key)
{
	if (ov->type == XLCFG_STRING) {
		char *s;

		if (xlu_cfg_value_type(xv) != XLU_STRING || xlu_cfg_value_get_string(xc, xv, &s, 1)) {
			printf("DIFFER %s: ours is a string, xl's a list\n", key);
			return 1;
		}
		if (strcmp(s, ov->str)) {
			printf("DIFFER %s: ours \"%s\", xl's \"%s\"\n", key, ov->str, s);
			return 1;
		}
		return 0;
	}
	XLU_ConfigList *l;

	if (xlu_cfg_value_type(xv) != XLU_LIST || xlu_cfg_value_get_list(xc, xv, &l, 1)) {
		printf("DIFFER %s: ours is a list, xl's a string\n", key);
		return 1;
	}
	for (size_t i = 0; i < ov->nr_items; i++) {
		XLU_ConfigValue *item = xlu_cfg_get_listitem2(l, (int)i);

		if (!item) {
			printf("DIFFER %s: xl's list has %zu items, ours %zu\n", key, i, ov->nr_items);
			return 1;
		}
		if (compare_value(xc, item, ov->items[i], key))
			return 1;
	}
	if (xlu_cfg_get_listitem2(l, (int)ov->nr_items)) {
		printf("DIFFER %s: xl's list is longer than ours (%zu)\n", key, ov->nr_items);
		return 1;
	}
	return 0;
}

static int compare_setting(XLU_Config *xc, const struct xlcfg_setting *s)
{
	const char *str;
	XLU_ConfigList *l;
	int n;

	if (!xlu_cfg_get_string(xc, s->key, &str, 1)) {
		struct xlcfg_value v = { .type = XLCFG_STRING, .str = (char *)str };

		if (s->value->type != XLCFG_STRING) {
			printf("DIFFER %s: ours is a list, xl's a string\n", s->key);
			return 1;
		}
		if (strcmp(v.str, s->value->str)) {
			printf("DIFFER %s: ours \"%s\", xl's \"%s\"\n", s->key, s->value->str, str);
			return 1;
		}
		return 0;
	}
	if (xlu_cfg_get_list(xc, s->key, &l, &n, 1)) {
		printf("DIFFER %s: xl has no such setting\n", s->key);
		return 1;
	}
	if (s->value->type != XLCFG_LIST) {
		printf("DIFFER %s: ours is a string, xl's a list\n", s->key);
		return 1;
	}
	if ((size_t)n != s->value->nr_items) {
		printf("DIFFER %s: xl's list has %d items, ours %zu\n", s->key, n, s->value->nr_items);
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (compare_value(xc, xlu_cfg_get_listitem2(l, i), s->value->items[i], s->key))
			return 1;
	return 0;
}

static int compare_disk(XLU_Config *xc, const char *spec)
{
	libxl_device_disk xd;
	struct disk_spec od;
	struct config_error err;
	int xrc, orc, bad = 0;

	libxl_device_disk_init(&xd);
	xrc = xlu_disk_parse(xc, 1, &spec, &xd);
	orc = disk_spec_parse(spec, &od, &err);
	if (xrc && !orc) {
		printf("DIFFER disk '%s': we accept it, xl refuses it\n", spec);
		bad = 1;
	} else if (!xrc && orc) {
		printf("stricter disk '%s': %s\n", spec, err.msg);
	} else if (!xrc) {
		const char *xt = xd.pdev_path && *xd.pdev_path ? xd.pdev_path : NULL;
		const char *xf = libxl_disk_format_to_string(xd.format);

		if (!!xt != !!od.target || (xt && strcmp(xt, od.target)) ||
		    strcmp(xd.vdev, od.vdev) || !xf || strcmp(xf, od.format) ||
		    xd.readwrite == od.readonly || !!xd.is_cdrom != od.cdrom ||
		    !!xd.direct_io_safe != od.direct_io ||
		    !!xd.script != !!od.script || (xd.script && strcmp(xd.script, od.script))) {
			printf("DIFFER disk '%s': xl target=%s vdev=%s format=%s rw=%d cdrom=%d; "
			       "ours target=%s vdev=%s format=%s ro=%d cdrom=%d\n", spec,
			       xt ? xt : "-", xd.vdev, xf ? xf : "?", xd.readwrite, xd.is_cdrom,
			       od.target ? od.target : "-", od.vdev, od.format, od.readonly, od.cdrom);
			bad = 1;
		}
	}
	if (!orc)
		disk_spec_free(&od);
	libxl_device_disk_dispose(&xd);
	return bad;
}

int main(int argc, char **argv)
{
	XLU_Config *xc = NULL;
	struct xlcfg ours;
	char err[512], *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f, *devnull;
	int xrc, orc, bad = 0;
	bool skip;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	for (;;) {
		size_t r;

		if (len == cap) {
			char *n = realloc(buf, cap ? cap * 2 : 4096);

			if (!n)
				return 2;
			buf = n;
			cap = cap ? cap * 2 : 4096;
		}
		r = fread(buf + len, 1, cap - len, f);
		if (!r)
			break;
		len += r;
	}
	fclose(f);
	skip = memmem(buf, strcspn(buf, "\n") < len ? strcspn(buf, "\n") : len,
		      "xlcfg-crosscheck: skip", 22) != NULL;

	devnull = fopen("/dev/null", "w");
	xc = xlu_cfg_init(devnull ? devnull : stderr, argv[1]);
	xrc = xlu_cfg_readdata(xc, buf, (int)len);
	xlcfg_init(&ours);
	orc = xlcfg_parse(&ours, argv[1], 1, buf, len, err, sizeof(err));

	if (!!xrc != !!orc) {
		printf("%s %s: xl %s, ours %s%s%s\n", skip ? "deviation" : "DIFFER", argv[1],
		       xrc ? "rejects" : "accepts", orc ? "rejects: " : "accepts", orc ? err : "", "");
		bad = skip ? -1 : 1;
		goto out;
	}
	if (!orc) {
		for (const struct xlcfg_setting *s = ours.head; s; s = s->next)
			bad |= compare_setting(xc, s);
		const struct xlcfg_setting *d = xlcfg_find(&ours, "disk");

		if (d && d->value->type == XLCFG_LIST)
			for (size_t i = 0; i < d->value->nr_items; i++)
				if (d->value->items[i]->type == XLCFG_STRING)
					bad |= compare_disk(xc, d->value->items[i]->str);
	}
	if (bad && skip) {
		printf("deviation %s (documented)\n", argv[1]);
		bad = -1;
	}
out:
	xlcfg_free(&ours);
	xlu_cfg_destroy(xc);
	if (devnull)
		fclose(devnull);
	free(buf);
	if (!bad)
		printf("agree %s: %s\n", argv[1], orc ? "both reject" : "same settings");
	return bad > 0;
}
