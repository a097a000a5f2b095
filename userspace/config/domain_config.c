/*
 * xl.cfg keys -> struct domain_config.  The syntax is xlcfg.c's; this file
 * gives the keys their meaning, xl's defaults and our limits, and turns every
 * problem into one "file:line: message".
 *
 * Settings are visited in file order, each checked on its own by a handler
 * from one table; what depends on several keys (type vs builder, cmdline vs
 * root/extra, maxmem vs memory, maxvcpus vs vcpus, unique vdevs) is settled
 * afterwards in domain_config_finish().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenkvm/domain_config.h"
#include "xenkvm/log.h"
#include "xenkvm/xlcfg.h"

#define MEMORY_MIN_MIB     16ull
#define MEMORY_MAX_MIB     (1024ull * 1024)   /* 1 TiB */
#define MEMORY_DEFAULT_MIB 128
#define VCPUS_MAX          128
#define NAME_MAX_LEN       64
#define CONFIG_MAX_BYTES   (1u << 20)         /* a config file is text, not data */
#define XEN_VERSION_DEFAULT 0x40011            /* 4.17, what Debian 12 ships */

struct ctx {
	const char *file;
	struct xlcfg x;
	struct domain_config *cfg;
	struct config_error *err;
	void (*warn_cb)(const char *msg);
	bool failed;
	const struct xlcfg_setting *type, *builder, *memory, *maxmem, *vcpus, *maxvcpus;
	const struct xlcfg_setting *cmdline, *root, *extra;
};

static void verr_at(struct ctx *c, const char *source, int line, const char *fmt, va_list ap)
{
	int n;

	if (c->failed)
		return;
	c->failed = true;
	if (!c->err)
		return;
	if (line > 0)
		n = snprintf(c->err->msg, sizeof(c->err->msg), "%s:%d: ", source, line);
	else
		n = snprintf(c->err->msg, sizeof(c->err->msg), "%s: ", source);
	if (n < 0 || (size_t)n >= sizeof(c->err->msg))
		return;
	vsnprintf(c->err->msg + n, sizeof(c->err->msg) - (size_t)n, fmt, ap);
}

static int fail(struct ctx *c, const struct xlcfg_setting *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const struct xlcfg_setting *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_at(c, s ? s->source : c->file, s ? s->line : 0, fmt, ap);
	va_end(ap);
	return -1;
}

/* For list items, which carry their own line. */
static int fail_item(struct ctx *c, const struct xlcfg_setting *s, const struct xlcfg_value *v,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_item(struct ctx *c, const struct xlcfg_setting *s, const struct xlcfg_value *v,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_at(c, s->source, v->line, fmt, ap);
	va_end(ap);
	return -1;
}

static void warn(struct ctx *c, const char *source, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warn(struct ctx *c, const char *source, int line, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "%s:%d: ", source, line);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (c->warn_cb)
		c->warn_cb(msg);
	else
		pr_warn("%s", msg);
}

/* --- value accessors ---------------------------------------------------------- */

static int get_string(struct ctx *c, const struct xlcfg_setting *s, const char **out)
{
	if (s->value->type != XLCFG_STRING)
		return fail(c, s, "%s must be a single value, not a list", s->key);
	*out = s->value->str;
	return 0;
}

static int set_string(struct ctx *c, const struct xlcfg_setting *s, char **slot)
{
	const char *v = NULL;
	char *d;

	if (get_string(c, s, &v))
		return -1;
	d = strdup(v);
	if (!d)
		return fail(c, s, "out of memory");
	free(*slot);
	*slot = d;
	return 0;
}

/*
 * xl reads numbers with strtol(..., 0): 0x.. is hex and a leading 0 means
 * octal.  We keep that, minus strtol's leniencies (blanks, signs).
 */
static int parse_number(const char *str, uint64_t *out)
{
	const char *p = str;
	unsigned int base = 10;
	uint64_t v = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1]) {
		base = 8;
		p++;
	}
	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned int)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned int)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			d = (unsigned int)(*p - 'A' + 10);
		else
			return -EINVAL;
		if (d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

static int get_number(struct ctx *c, const struct xlcfg_setting *s, uint64_t *out)
{
	const char *v = NULL;
	int rc;

	if (get_string(c, s, &v))
		return -1;
	if (s->appended)
		return fail(c, s, "can't use += with a number for %s", s->key);
	rc = parse_number(v, out);
	if (rc == -ERANGE)
		return fail(c, s, "%s is too large", s->key);
	if (rc)
		return fail(c, s, "%s must be a number (got '%.40s')", s->key, v);
	return 0;
}

static int get_list(struct ctx *c, const struct xlcfg_setting *s)
{
	if (s->value->type != XLCFG_LIST)
		return fail(c, s, "%s must be a list, e.g. %s = [ '...' ]", s->key, s->key);
	return 0;
}

/* --- key handlers --------------------------------------------------------------- */

static int key_name(struct ctx *c, const struct xlcfg_setting *s)
{
	const char *v = NULL;
	bool digits = true;
	size_t n;

	if (get_string(c, s, &v))
		return -1;
	n = strlen(v);
	if (!n)
		return fail(c, s, "name must not be empty");
	if (n > NAME_MAX_LEN)
		return fail(c, s, "name is longer than %d characters", NAME_MAX_LEN);
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-' || ch == '.'))
			return fail(c, s, "name '%.64s' has invalid characters (allowed: letters, digits, '_', '-', '.')", v);
		if (ch < '0' || ch > '9')
			digits = false;
	}
	/* the CLI takes a name or a domid, so a name must not look like a domid */
	if (digits)
		return fail(c, s, "name '%s' must not be all digits", v);
	if (v[0] == '-' || v[0] == '.')
		return fail(c, s, "name '%s' must start with a letter, digit or '_'", v);
	return set_string(c, s, &c->cfg->name);
}

static int key_uuid(struct ctx *c, const struct xlcfg_setting *s)
{
	static const int dash[] = { 8, 13, 18, 23 };
	uint8_t *u = c->cfg->uuid;
	const char *v = NULL;
	size_t j = 0;

	if (get_string(c, s, &v))
		return -1;
	if (strlen(v) != 36)
		goto bad;
	for (size_t i = 0; i < 36; ) {
		int hi, lo;

		if (j < 4 && (int)i == dash[j]) {
			if (v[i] != '-')
				goto bad;
			i++;
			j++;
			continue;
		}
		hi = v[i]; lo = v[i + 1];
		hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 :
		     hi >= 'A' && hi <= 'F' ? hi - 'A' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 :
		     lo >= 'A' && lo <= 'F' ? lo - 'A' + 10 : -1;
		if (hi < 0 || lo < 0 || (j < 4 && (int)i + 1 == dash[j]))
			goto bad;
		*u++ = (uint8_t)(hi * 16 + lo);
		i += 2;
	}
	c->cfg->has_uuid = true;
	return 0;
bad:
	return fail(c, s, "invalid uuid '%.40s' (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", v);
}

static int check_type_word(struct ctx *c, const struct xlcfg_setting *s, const char *v)
{
	if (!strcmp(v, "hvm") || !strcmp(v, "pvh"))
		return 0;
	if (!strcmp(v, "pv"))
		return fail(c, s, "type=pv is not supported (hvm and pvh are)");
	return fail(c, s, "invalid type '%.40s' (hvm and pvh are supported)", v);
}

static int key_type(struct ctx *c, const struct xlcfg_setting *s)
{
	const char *v = NULL;

	if (get_string(c, s, &v) || check_type_word(c, s, v))
		return -1;
	c->type = s;
	return 0;
}

/* builder= is the pre-4.10 spelling: "hvm", or "generic" for pv. */
static int key_builder(struct ctx *c, const struct xlcfg_setting *s)
{
	const char *v = NULL;

	if (get_string(c, s, &v))
		return -1;
	if (!strcmp(v, "generic"))
		return fail(c, s, "builder=generic (pv) is not supported (only hvm)");
	if (strcmp(v, "hvm"))
		return fail(c, s, "invalid builder '%.40s' (only hvm is supported)", v);
	c->builder = s;
	return 0;
}

static int key_memory(struct ctx *c, const struct xlcfg_setting *s)
{
	uint64_t v;

	if (get_number(c, s, &v))
		return -1;
	if (v < MEMORY_MIN_MIB || v > MEMORY_MAX_MIB)
		return fail(c, s, "%s must be between %llu and %llu MiB (got %llu)", s->key,
			    MEMORY_MIN_MIB, MEMORY_MAX_MIB, (unsigned long long)v);
	if (!strcmp(s->key, "memory")) {
		c->cfg->memory_mib = v;
		c->memory = s;
	} else {
		c->cfg->maxmem_mib = v;
		c->maxmem = s;
	}
	return 0;
}

static int key_vcpus(struct ctx *c, const struct xlcfg_setting *s)
{
	uint64_t v;

	if (get_number(c, s, &v))
		return -1;
	if (v < 1 || v > VCPUS_MAX)
		return fail(c, s, "%s must be between 1 and %d (got %llu)", s->key, VCPUS_MAX,
			    (unsigned long long)v);
	if (!strcmp(s->key, "vcpus")) {
		c->cfg->vcpus = (unsigned int)v;
		c->vcpus = s;
	} else {
		c->cfg->maxvcpus = (unsigned int)v;
		c->maxvcpus = s;
	}
	return 0;
}

static int key_kernel(struct ctx *c, const struct xlcfg_setting *s)
{
	const char *v = NULL;

	if (get_string(c, s, &v))
		return -1;
	if (!*v)
		return fail(c, s, "kernel must not be empty");
	return set_string(c, s, &c->cfg->kernel);
}

/* firmware= and bios=: SeaBIOS is the one firmware here (xl's "bios" means it
 * for HVM); UEFI is refused until OVMF is supported. */
static int key_firmware(struct ctx *c, const struct xlcfg_setting *s)
{
	const char *v = NULL;

	if (get_string(c, s, &v))
		return -1;
	if (!strcmp(v, "seabios") || (!strcmp(s->key, "firmware") && !strcmp(v, "bios")))
		return 0;
	if (!strcmp(v, "ovmf") || (!strcmp(s->key, "firmware") && !strcmp(v, "uefi")))
		return fail(c, s, "%s=\"%s\" is not supported yet (only seabios)", s->key, v);
	if (!strcmp(v, "rombios"))
		return fail(c, s, "%s=\"rombios\" is not supported (use seabios)", s->key);
	return fail(c, s, "invalid %s '%.40s' (expected seabios)", s->key, v);
}

static int key_bios_path(struct ctx *c, const struct xlcfg_setting *s)
{
	const char *v = NULL;

	if (get_string(c, s, &v))
		return -1;
	if (!*v)
		return fail(c, s, "bios_path_override must not be empty");
	return set_string(c, s, &c->cfg->bios_path);
}

/* boot=: xl's device letters for HVM firmware, each at most once. */
static int key_boot(struct ctx *c, const struct xlcfg_setting *s)
{
	const char *v = NULL;
	unsigned int seen = 0;

	if (get_string(c, s, &v))
		return -1;
	if (!*v || strlen(v) > 4)
		goto bad;
	for (const char *p = v; *p; p++) {
		const char *at = strchr("acdn", *p);

		if (!at || (seen & (1u << (at - "acdn"))))
			goto bad;
		seen |= 1u << (at - "acdn");
	}
	return set_string(c, s, &c->cfg->boot);
bad:
	return fail(c, s, "invalid boot '%.40s' (letters c = disk, d = CD-ROM, n = network, a = floppy, each once)", v);
}

/* Xen's replacement for hvmloader; here an ELF entered through its PVH note. */
static int key_firmware_override(struct ctx *c, const struct xlcfg_setting *s)
{
	const char *v = NULL;

	if (get_string(c, s, &v))
		return -1;
	if (!*v)
		return fail(c, s, "firmware_override must not be empty");
	return set_string(c, s, &c->cfg->firmware_override);
}

static int key_ramdisk(struct ctx *c, const struct xlcfg_setting *s)
{
	const char *v = NULL;

	if (get_string(c, s, &v))
		return -1;
	if (!*v)            /* ramdisk="" means none */
		return 0;
	return set_string(c, s, &c->cfg->ramdisk);
}

static int key_cmdline_part(struct ctx *c, const struct xlcfg_setting *s)
{
	const char *v = NULL;

	if (get_string(c, s, &v))
		return -1;
	if (!strcmp(s->key, "cmdline"))
		c->cmdline = s;
	else if (!strcmp(s->key, "root"))
		c->root = s;
	else
		c->extra = s;
	return 0;
}

static const char *const action_names[] = {
	[ACTION_DESTROY] = "destroy",
	[ACTION_RESTART] = "restart",
	[ACTION_PRESERVE] = "preserve",
	[ACTION_RENAME_RESTART] = "rename-restart",
	[ACTION_COREDUMP_DESTROY] = "coredump-destroy",
	[ACTION_COREDUMP_RESTART] = "coredump-restart",
	[ACTION_SOFT_RESET] = "soft-reset",
};

const char *domain_action_name(enum domain_action a)
{
	if ((unsigned int)a >= sizeof(action_names) / sizeof(action_names[0]))
		return "?";
	return action_names[a];
}

static int key_action(struct ctx *c, const struct xlcfg_setting *s)
{
	enum domain_action *slot;
	const char *v = NULL;

	if (get_string(c, s, &v))
		return -1;
	if (!strcmp(s->key, "on_poweroff"))
		slot = &c->cfg->on_poweroff;
	else if (!strcmp(s->key, "on_reboot"))
		slot = &c->cfg->on_reboot;
	else
		slot = &c->cfg->on_crash;
	for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (!strcmp(v, action_names[i])) {
			*slot = (enum domain_action)i;
			return 0;
		}
	return fail(c, s, "invalid %s action '%.40s' (destroy, restart, preserve, rename-restart, "
		    "coredump-destroy, coredump-restart or soft-reset)", s->key, v);
}

static int key_serial(struct ctx *c, const struct xlcfg_setting *s)
{
	const struct xlcfg_value *v = s->value;
	const char *str;
	char *d;

	/* xl takes a string or a list of them; we have one serial port */
	if (v->type == XLCFG_LIST) {
		if (v->nr_items == 0) {
			free(c->cfg->serial);
			c->cfg->serial = NULL;
			return 0;
		}
		if (v->nr_items > 1)
			return fail_item(c, s, v->items[1], "only one serial port is supported");
		v = v->items[0];
		if (v->type != XLCFG_STRING)
			return fail_item(c, s, v, "serial entries must be strings, not lists");
	}
	str = v->str;
	if (strcmp(str, "pty") && strcmp(str, "stdio") && strcmp(str, "none") &&
	    !(strncmp(str, "file:", 5) == 0 && str[5]))
		return fail_item(c, s, v, "serial '%.60s' is not supported (pty, stdio, none or file:PATH)", str);
	d = strdup(str);
	if (!d)
		return fail(c, s, "out of memory");
	free(c->cfg->serial);
	c->cfg->serial = d;
	return 0;
}

static void free_disks(struct domain_config *cfg)
{
	for (size_t i = 0; i < cfg->nr_disks; i++)
		disk_spec_free(&cfg->disks[i]);
	free(cfg->disks);
	cfg->disks = NULL;
	cfg->nr_disks = 0;
}

static void free_vifs(struct domain_config *cfg)
{
	for (size_t i = 0; i < cfg->nr_vifs; i++)
		vif_spec_free(&cfg->vifs[i]);
	free(cfg->vifs);
	cfg->vifs = NULL;
	cfg->nr_vifs = 0;
}

static int key_disk(struct ctx *c, const struct xlcfg_setting *s)
{
	const struct xlcfg_value *list = s->value;
	struct domain_config *cfg = c->cfg;

	if (get_list(c, s))
		return -1;
	free_disks(cfg);
	if (!list->nr_items)
		return 0;
	cfg->disks = calloc(list->nr_items, sizeof(*cfg->disks));
	if (!cfg->disks)
		return fail(c, s, "out of memory");
	for (size_t i = 0; i < list->nr_items; i++) {
		const struct xlcfg_value *item = list->items[i];
		struct config_error e;

		if (item->type != XLCFG_STRING)
			return fail_item(c, s, item, "disk entries must be strings, not lists");
		if (disk_spec_parse(item->str, &cfg->disks[i], &e))
			return fail_item(c, s, item, "%s", e.msg);
		cfg->nr_disks++;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->disks[j].vdev, cfg->disks[i].vdev))
				return fail_item(c, s, item, "vdev '%s' is used by two disks", cfg->disks[i].vdev);
	}
	return 0;
}

struct item_where {
	struct ctx *c;
	const char *source;
	int line;
};

static void item_warn(void *opaque, const char *msg)
{
	const struct item_where *w = opaque;

	warn(w->c, w->source, w->line, "%s", msg);
}

static int key_vif(struct ctx *c, const struct xlcfg_setting *s)
{
	const struct xlcfg_value *list = s->value;
	struct domain_config *cfg = c->cfg;

	if (get_list(c, s))
		return -1;
	free_vifs(cfg);
	if (!list->nr_items)
		return 0;
	cfg->vifs = calloc(list->nr_items, sizeof(*cfg->vifs));
	if (!cfg->vifs)
		return fail(c, s, "out of memory");
	for (size_t i = 0; i < list->nr_items; i++) {
		const struct xlcfg_value *item = list->items[i];
		struct item_where where = { c, s->source, item->line };
		struct config_error e;

		if (item->type != XLCFG_STRING)
			return fail_item(c, s, item, "vif entries must be strings, not lists");
		if (vif_spec_parse_warn(item->str, &cfg->vifs[i], &e, item_warn, &where))
			return fail_item(c, s, item, "%s", e.msg);
		cfg->nr_vifs++;
		for (size_t j = 0; j < i && cfg->vifs[i].has_mac; j++)
			if (cfg->vifs[j].has_mac && !memcmp(cfg->vifs[j].mac, cfg->vifs[i].mac, 6))
				return fail_item(c, s, item, "two vifs have the same mac");
	}
	return 0;
}

static int key_xen_platform_pci(struct ctx *c, const struct xlcfg_setting *s)
{
	uint64_t v;

	if (get_number(c, s, &v))
		return -1;
	if (v > 1)
		return fail(c, s, "xen_platform_pci must be 0 or 1 (got %llu)", (unsigned long long)v);
	c->cfg->xen_platform = v;
	return 0;
}

/* "MAJOR.MINOR" -> MAJOR << 16 | MINOR, as XENVER_version returns it. */
static int key_xen_version(struct ctx *c, const struct xlcfg_setting *s)
{
	unsigned long major = 0, minor = 0;
	const char *v = NULL, *p;
	int digits;

	if (get_string(c, s, &v))
		return -1;
	p = v;
	for (digits = 0; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
		major = major * 10 + (unsigned long)(*p - '0');
	if (!digits || *p++ != '.')
		goto bad;
	for (digits = 0; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
		minor = minor * 10 + (unsigned long)(*p - '0');
	if (!digits || *p || major < 3 || major > 0xffff || minor > 0xffff)
		goto bad;
	c->cfg->xen_version = (unsigned int)(major << 16 | minor);
	return 0;
bad:
	return fail(c, s, "invalid xen_version '%.40s' (expected \"MAJOR.MINOR\" with MAJOR >= 3, e.g. \"4.17\")", v);
}

struct key_handler {
	const char *key;
	int (*fn)(struct ctx *c, const struct xlcfg_setting *s);
};

static const struct key_handler handlers[] = {
	{ "name", key_name },
	{ "uuid", key_uuid },
	{ "type", key_type },
	{ "builder", key_builder },
	{ "memory", key_memory },
	{ "maxmem", key_memory },
	{ "vcpus", key_vcpus },
	{ "maxvcpus", key_vcpus },
	{ "kernel", key_kernel },
	{ "firmware", key_firmware },
	{ "bios", key_firmware },
	{ "boot", key_boot },
	{ "bios_path_override", key_bios_path },
	{ "ramdisk", key_ramdisk },
	{ "firmware_override", key_firmware_override },
	{ "cmdline", key_cmdline_part },
	{ "root", key_cmdline_part },
	{ "extra", key_cmdline_part },
	{ "disk", key_disk },
	{ "vif", key_vif },
	{ "on_poweroff", key_action },
	{ "on_reboot", key_action },
	{ "on_crash", key_action },
	{ "serial", key_serial },
	{ "xen_platform_pci", key_xen_platform_pci },
	{ "xen_version", key_xen_version },
};

/* xl.cfg keys we know but don't implement (yet): warned about, not refused. */
static const char *const unsupported_keys[] = {
	"acpi", "acpi_firmware", "acpi_laptop_slate", "acpi_s3", "acpi_s4", "altp2m", "altp2mhvm",
	"apic", "bootloader", "bootloader_args", "cap",
	"channel", "cpu_weight", "cpuid", "cpus", "cpus_soft", "device_model",
	"device_model_args", "device_model_args_hvm", "device_model_args_pv",
	"device_model_override", "device_model_stubdomain_override",
	"device_model_stubdomain_seclabel", "device_model_user", "device_model_version",
	"device_tree", "display", "dm_restrict", "driver_domain", "dtdev", "e820_host",
	"event_channels", "extratime", "gfx_passthru",
	"gic_version", "hap", "hdtype", "hpet", "init_seclabel", "iomem", "ioports", "irqs",
	"keymap", "latency", "localtime", "max_event_channels", "max_grant_frames",
	"max_maptrack_frames", "mca_caps", "mmio_hole", "ms_vm_genid", "nestedhvm",
	"nographic", "nomigrate", "nx", "on_soft_reset", "on_watchdog", "oos", "opengl", "p9",
	"pae", "passthrough", "pci", "pci_msitranslate", "pci_permissive", "pci_power_mgmt",
	"pci_seize", "period", "pool", "pvcalls", "pvshim", "pvshim_cmdline", "pvshim_extra",
	"pvshim_path", "rdm", "rdm_mem_boundary", "rtc_timeoffset", "sdl", "seclabel",
	"shadow_memory", "slice", "smbios_firmware", "soundhw", "spice",
	"spice_clipboard_sharing", "spice_image_compression", "spice_streaming_video",
	"spiceagent_mouse", "spicedisable_ticketing", "spicehost", "spicepasswd", "spiceport",
	"spicetls_port", "spiceusbredirection", "spicevdagent", "stdvga", "tee", "timer_mode",
	"tsc_mode", "usb", "usbctrl", "usbdev", "usbdevice", "usbversion", "vcpu_hard_affinity",
	"vcpu_soft_affinity", "vdispl", "vendor_device", "vfb", "vga", "videoram", "viridian",
	"virtio", "vkb", "vkb_device", "vnc", "vncconsole", "vncdisplay", "vnclisten",
	"vncpasswd", "vncunused", "vnuma", "vpt_align", "vsnd", "vtpm", "vuart", "xauthority",
};

static int visit(struct ctx *c, const struct xlcfg_setting *s)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (!strcmp(s->key, handlers[i].key))
			return handlers[i].fn(c, s);
	for (size_t i = 0; i < sizeof(unsupported_keys) / sizeof(unsupported_keys[0]); i++)
		if (!strcmp(s->key, unsupported_keys[i])) {
			warn(c, s->source, s->line, "unsupported key '%s' ignored", s->key);
			return 0;
		}
	warn(c, s->source, s->line, "unknown key '%.64s' ignored", s->key);
	return 0;
}

static char *join_cmdline(const char *root, const char *extra)
{
	size_t n;
	char *s;

	/* xl: "root=<root> <extra>" (the space even when extra is empty), "root=<root>", or extra */
	if (!root)
		return strdup(extra);
	n = 5 + strlen(root) + (extra ? 1 + strlen(extra) : 0) + 1;
	s = malloc(n);
	if (s)
		snprintf(s, n, extra ? "root=%s %s" : "root=%s", root, extra ? extra : "");
	return s;
}

static int domain_config_finish(struct ctx *c)
{
	struct domain_config *cfg = c->cfg;

	/* builder= only says hvm; type= may say pvh */
	cfg->type = c->type && !strcmp(c->type->value->str, "pvh") ? DOMAIN_TYPE_PVH : DOMAIN_TYPE_HVM;
	cfg->type_unset = !c->type && !c->builder;
	if (cfg->type == DOMAIN_TYPE_PVH && c->builder)
		return fail(c, c->builder, "builder=hvm contradicts type=\"pvh\"");
	if (cfg->type == DOMAIN_TYPE_PVH && !cfg->xen_platform)
		return fail(c, NULL, "type=\"pvh\" needs xen_platform_pci=1: a PVH domain has no emulated devices, "
			    "only Xen's");

	if (!cfg->name)
		return fail(c, NULL, "name is required");
	if (cfg->firmware_override && cfg->type == DOMAIN_TYPE_PVH)
		return fail(c, NULL, "firmware_override is for type=\"hvm\" (a PVH domain boots its kernel)");
	if (cfg->firmware_override && cfg->kernel)
		return fail(c, NULL, "kernel and firmware_override are exclusive: the firmware_override ELF is what boots");
	if (cfg->type == DOMAIN_TYPE_PVH && !cfg->kernel)
		return fail(c, NULL, "kernel is required for type=\"pvh\" (a PVH domain has no firmware)");
	/* Without kernel= (or firmware_override=) an HVM guest boots through
	 * SeaBIOS, as on Xen. */

	if (c->cmdline) {
		cfg->cmdline = strdup(c->cmdline->value->str);
		if (c->root || c->extra)
			warn(c, c->cmdline->source, c->cmdline->line,
			     "ignoring root= and extra= in favour of cmdline=");
	} else if (c->root || c->extra) {
		cfg->cmdline = join_cmdline(c->root ? c->root->value->str : NULL,
					    c->extra ? c->extra->value->str : NULL);
	}
	if ((c->cmdline || c->root || c->extra) && !cfg->cmdline)
		return fail(c, NULL, "out of memory");

	if (!c->maxmem)
		cfg->maxmem_mib = cfg->memory_mib;
	else if (cfg->maxmem_mib < cfg->memory_mib)
		return fail(c, c->maxmem, "maxmem (%llu) must not be less than memory (%llu)",
			    (unsigned long long)cfg->maxmem_mib, (unsigned long long)cfg->memory_mib);
	if (!c->maxvcpus)
		cfg->maxvcpus = cfg->vcpus;
	else if (cfg->maxvcpus < cfg->vcpus)
		return fail(c, c->maxvcpus, "maxvcpus (%u) must not be less than vcpus (%u)",
			    cfg->maxvcpus, cfg->vcpus);

	cfg->path = strdup(c->file);
	if (!cfg->path)
		return fail(c, NULL, "out of memory");
	return 0;
}

static void domain_config_defaults(struct domain_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = DOMAIN_TYPE_HVM;
	cfg->memory_mib = MEMORY_DEFAULT_MIB;
	cfg->vcpus = 1;
	cfg->on_poweroff = ACTION_DESTROY;
	cfg->on_reboot = ACTION_RESTART;
	cfg->on_crash = ACTION_DESTROY;
	cfg->xen_platform = true;
	cfg->xen_version = XEN_VERSION_DEFAULT;
}

int domain_config_parse(const char *name, const char *text, size_t len,
			char *const *overrides, size_t nr_overrides,
			struct domain_config *cfg, struct config_error *err,
			void (*warn_cb)(const char *msg))
{
	struct ctx c = { .file = name, .cfg = cfg, .err = err, .warn_cb = warn_cb };
	char dummy[sizeof(err->msg)];
	char *msg = err ? err->msg : dummy;
	int rc = -1;

	domain_config_defaults(cfg);
	xlcfg_init(&c.x);
	if (err)
		err->msg[0] = 0;
	if (xlcfg_parse(&c.x, name, 1, text, len, msg, sizeof(dummy)))
		goto out;
	/* as `xl create cfg key=value...`: the same syntax, parsed after the file */
	for (size_t i = 0; i < nr_overrides; i++) {
		int line = i + 1 > 1000000 ? 1000000 : (int)i + 1;

		if (xlcfg_parse(&c.x, "<command line>", line, overrides[i], strlen(overrides[i]),
				msg, sizeof(dummy)))
			goto out;
	}
	for (const struct xlcfg_setting *s = c.x.head; s; s = s->next)
		if (visit(&c, s))
			goto out;
	if (domain_config_finish(&c))
		goto out;
	rc = 0;
out:
	xlcfg_free(&c.x);
	if (rc)
		domain_config_free(cfg);
	return rc;
}

int domain_config_load(const char *path, char *const *overrides, size_t nr_overrides,
		       struct domain_config *cfg, struct config_error *err,
		       void (*warn_cb)(const char *msg))
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, rc = -1;

	domain_config_defaults(cfg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "%s: %s", path,
				 S_ISREG(st.st_mode) ? "too large for a config file" : "not a regular file");
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "%s: out of memory", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (err)
				snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = domain_config_parse(path, buf, len, overrides, nr_overrides, cfg, err, warn_cb);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

void domain_config_free(struct domain_config *cfg)
{
	free(cfg->path);
	free(cfg->name);
	free(cfg->kernel);
	free(cfg->boot);
	free(cfg->bios_path);
	free(cfg->firmware_override);
	free(cfg->ramdisk);
	free(cfg->cmdline);
	free(cfg->serial);
	free_disks(cfg);
	free_vifs(cfg);
	memset(cfg, 0, sizeof(*cfg));
}
