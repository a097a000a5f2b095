/*
 * xl vif specs (docs/man/xl-network-configuration.5.pod): comma-separated
 * key=value pairs, e.g. "mac=00:16:3e:01:02:03,bridge=xenbr0".  Split as xl
 * does (empty items skipped, leading blanks dropped); we also drop trailing
 * blanks, which xl keeps but never means.
 *
 * xenkvm extensions:
 *   backend=user|tap   user-mode networking (default) or a tap device.  In xl
 *                      backend= names a driver domain; we have none, so only
 *                      these two words (and dom0's names) are accepted.
 *   hostfwd=RULE[;RULE...]  RULE = [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport
 *                      (QEMU's syntax), for backend=user only.
 * bridge= implies backend=tap.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/domain_config.h"

/* Limits a hostile or mistyped spec can't push past. */
#define VIF_MAX_HOSTFWD 64

struct vif_parse {
	const char *spec;
	struct vif_spec *vif;
	struct config_error *err;
	void (*warn_cb)(void *opaque, const char *msg);
	void *opaque;
	bool backend_set;
	bool failed;
};

static void verr(struct vif_parse *vp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void verr(struct vif_parse *vp, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (vp->failed)
		return;
	vp->failed = true;
	if (!vp->err)
		return;
	n = snprintf(vp->err->msg, sizeof(vp->err->msg), "vif '%.120s': ", vp->spec);
	if (n < 0 || (size_t)n >= sizeof(vp->err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(vp->err->msg + n, sizeof(vp->err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

static void vwarn(struct vif_parse *vp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vwarn(struct vif_parse *vp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "vif '%.120s': ", vp->spec);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (vp->warn_cb)
		vp->warn_cb(vp->opaque, msg);
	else
		fprintf(stderr, "warning: %s\n", msg);
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

/* Six groups of one or two hex digits separated by ':'. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hexval((unsigned char)s[0]), lo;

		if (hi < 0)
			return -1;
		lo = hexval((unsigned char)s[1]);
		if (lo >= 0) {
			mac[i] = (uint8_t)(hi * 16 + lo);
			s += 2;
		} else {
			mac[i] = (uint8_t)hi;
			s += 1;
		}
		if (i < 5 && *s++ != ':')
			return -1;
	}
	return *s ? -1 : 0;
}

static void replace(struct vif_parse *vp, char **slot, const char *val)
{
	char *s = strdup(val);

	if (!s) {
		verr(vp, "out of memory");
		return;
	}
	free(*slot);
	*slot = s;
}

static int parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "" -> NULL (any); otherwise a dotted IPv4 address. */
static int parse_addr(const char *s, size_t len, char **out)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	*out = NULL;
	if (len == 0)
		return 0;
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

/* One rule: [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport */
static int parse_hostfwd_rule(const char *r, size_t len, struct vif_hostfwd *fw)
{
	const char *end = r + len, *c1, *dash, *c2;

	memset(fw, 0, sizeof(*fw));
	c1 = memchr(r, ':', len);
	if (!c1)
		return -1;
	if (c1 - r == 3 && !memcmp(r, "udp", 3))
		fw->udp = true;
	else if (!(c1 == r || (c1 - r == 3 && !memcmp(r, "tcp", 3))))
		return -1;
	dash = memchr(c1 + 1, '-', (size_t)(end - c1 - 1));
	if (!dash)
		return -1;
	/* host side: [addr]:port between c1+1 and dash */
	c2 = memrchr(c1 + 1, ':', (size_t)(dash - c1 - 1));
	if (!c2)
		return -1;
	if (parse_addr(c1 + 1, (size_t)(c2 - c1 - 1), &fw->host_addr) ||
	    parse_port(c2 + 1, (size_t)(dash - c2 - 1), &fw->host_port))
		goto bad;
	c2 = memrchr(dash + 1, ':', (size_t)(end - dash - 1));
	if (!c2)
		goto bad;
	if (parse_addr(dash + 1, (size_t)(c2 - dash - 1), &fw->guest_addr) ||
	    parse_port(c2 + 1, (size_t)(end - c2 - 1), &fw->guest_port))
		goto bad;
	return 0;
bad:
	free(fw->host_addr);
	free(fw->guest_addr);
	memset(fw, 0, sizeof(*fw));
	return -1;
}

static void parse_hostfwd(struct vif_parse *vp, const char *val)
{
	struct vif_spec *vif = vp->vif;
	const char *p = val;

	for (;;) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		struct vif_hostfwd fw, *arr;

		if (len) {
			if (parse_hostfwd_rule(p, len, &fw)) {
				verr(vp, "invalid hostfwd rule '%.*s' (expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)",
				     (int)(len > 80 ? 80 : len), p);
				return;
			}
			for (size_t i = 0; i < vif->nr_hostfwd; i++) {
				const struct vif_hostfwd *o = &vif->hostfwd[i];

				if (o->udp == fw.udp && o->host_port == fw.host_port &&
				    !!o->host_addr == !!fw.host_addr &&
				    (!o->host_addr || !strcmp(o->host_addr, fw.host_addr))) {
					verr(vp, "hostfwd: host %s port %u forwarded twice",
					     fw.udp ? "udp" : "tcp", fw.host_port);
					free(fw.host_addr);
					free(fw.guest_addr);
					return;
				}
			}
			if (vif->nr_hostfwd >= VIF_MAX_HOSTFWD) {
				verr(vp, "more than %d hostfwd rules", VIF_MAX_HOSTFWD);
				free(fw.host_addr);
				free(fw.guest_addr);
				return;
			}
			arr = realloc(vif->hostfwd, (vif->nr_hostfwd + 1) * sizeof(*arr));
			if (!arr) {
				free(fw.host_addr);
				free(fw.guest_addr);
				verr(vp, "out of memory");
				return;
			}
			vif->hostfwd = arr;
			arr[vif->nr_hostfwd++] = fw;
		}
		if (!semi)
			break;
		p = semi + 1;
	}
}

/* Options xl knows that change nothing for us. */
static const char *const vif_ignored[] = {
	"rate", "mtu", "vlan", "devid", "gatewaydev", "netdev", "accel", "forwarddev",
};

static void option(struct vif_parse *vp, char *tok)
{
	struct vif_spec *vif = vp->vif;
	char *eq = strchr(tok, '=');
	const char *val;

	if (!eq) {
		if (!strcmp(tok, "trusted") || !strcmp(tok, "untrusted"))
			return;         /* advisory to the frontend */
		verr(vp, "unrecognized option '%.40s'", tok);
		return;
	}
	*eq = 0;
	val = eq + 1;
	if (!strcmp(tok, "mac")) {
		if (parse_mac(val, vif->mac)) {
			verr(vp, "invalid mac '%.40s' (six hex bytes separated by ':')", val);
			return;
		}
		if (vif->mac[0] & 1) {
			verr(vp, "mac %.40s is a multicast address", val);
			return;
		}
		vif->has_mac = true;
	} else if (!strcmp(tok, "bridge")) {
		if (!*val) {
			verr(vp, "empty bridge name");
			return;
		}
		replace(vp, &vif->bridge, val);
	} else if (!strcmp(tok, "vifname")) {
		replace(vp, &vif->ifname, val);
	} else if (!strcmp(tok, "model")) {
		replace(vp, &vif->model, val);
	} else if (!strcmp(tok, "script")) {
		replace(vp, &vif->script, val);
	} else if (!strcmp(tok, "ip")) {
		replace(vp, &vif->ip, val);
	} else if (!strcmp(tok, "type")) {
		if (strcmp(val, "vif") && strcmp(val, "ioemu"))
			verr(vp, "invalid type '%.40s' (vif or ioemu)", val);
		/* either way the guest gets a PV vif; we emulate no NIC */
	} else if (!strcmp(tok, "backend")) {
		if (!strcmp(val, "user")) {
			vif->backend = VIF_BACKEND_USER;
		} else if (!strcmp(val, "tap")) {
			vif->backend = VIF_BACKEND_TAP;
		} else if (!*val || !strcmp(val, "0") || !strcmp(val, "Domain-0")) {
			return;         /* xl's "the default backend domain" */
		} else {
			verr(vp, "backend=%.40s is not supported (user or tap; driver domains are not supported)", val);
			return;
		}
		vp->backend_set = true;
	} else if (!strcmp(tok, "hostfwd")) {
		parse_hostfwd(vp, val);
	} else if (!strncmp(tok, "colo_", 5)) {
		verr(vp, "%.40s: COLO is not supported", tok);
	} else {
		for (size_t i = 0; i < sizeof(vif_ignored) / sizeof(vif_ignored[0]); i++)
			if (!strcmp(tok, vif_ignored[i])) {
				vwarn(vp, "option '%s' is not supported; ignored", tok);
				return;
			}
		verr(vp, "unrecognized option '%.40s'", tok);
	}
}

int vif_spec_parse_warn(const char *spec, struct vif_spec *vif, struct config_error *err,
			void (*warn_cb)(void *opaque, const char *msg), void *opaque)
{
	struct vif_parse vp = { .spec = spec, .vif = vif, .err = err, .warn_cb = warn_cb, .opaque = opaque };
	char *buf, *save = NULL, *tok;

	memset(vif, 0, sizeof(*vif));
	buf = strdup(spec);
	if (!buf) {
		verr(&vp, "out of memory");
		return -1;
	}
	for (tok = strtok_r(buf, ",", &save); tok && !vp.failed; tok = strtok_r(NULL, ",", &save)) {
		size_t n;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		n = strlen(tok);
		while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
			tok[--n] = 0;
		if (n)
			option(&vp, tok);
	}
	free(buf);
	if (vp.failed)
		goto fail;
	if (vif->bridge) {
		if (vp.backend_set && vif->backend == VIF_BACKEND_USER) {
			verr(&vp, "bridge= needs backend=tap");
			goto fail;
		}
		vif->backend = VIF_BACKEND_TAP;
	}
	if (vif->nr_hostfwd && vif->backend != VIF_BACKEND_USER) {
		verr(&vp, "hostfwd= needs backend=user");
		goto fail;
	}
	return 0;
fail:
	vif_spec_free(vif);
	return -1;
}

int vif_spec_parse(const char *spec, struct vif_spec *vif, struct config_error *err)
{
	return vif_spec_parse_warn(spec, vif, err, NULL, NULL);
}

void vif_spec_free(struct vif_spec *vif)
{
	for (size_t i = 0; i < vif->nr_hostfwd; i++) {
		free(vif->hostfwd[i].host_addr);
		free(vif->hostfwd[i].guest_addr);
	}
	free(vif->hostfwd);
	free(vif->bridge);
	free(vif->ifname);
	free(vif->model);
	free(vif->script);
	free(vif->ip);
	memset(vif, 0, sizeof(*vif));
}
