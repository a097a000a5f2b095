/*
 * The config section (include/xenkvm/config_state.h): the domain's xl.cfg
 * text and the daemon's start-time choices, first in every saved domain.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/config_state.h"

#define XEN_PATH_LAST 3u   /* enum xen_hcall_path's msr; kept free of kvm/ headers */

int config_state_text(const char *path, char *const *overrides, size_t nr, char **text_r,
		      size_t *len_r)
{
	FILE *f = fopen(path, "r");
	size_t len = 0, cap = 65536;
	char *text, *p;
	int rc = 0;

	if (!f)
		return -errno;
	text = malloc(cap);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	for (;;) {
		len += fread(text + len, 1, cap - len - 1, f);
		if (ferror(f)) {
			rc = -EIO;
			goto out;
		}
		if (feof(f))
			break;
		if (cap >= CONFIG_STATE_TEXT_MAX) {
			rc = -EFBIG;
			goto out;
		}
		cap *= 2;
		p = realloc(text, cap);
		if (!p) {
			rc = -ENOMEM;
			goto out;
		}
		text = p;
	}
	for (size_t i = 0; i < nr; i++) {
		size_t need = strlen(overrides[i]) + 64;

		if (len + need > cap) {
			cap = len + need;
			p = realloc(text, cap);
			if (!p) {
				rc = -ENOMEM;
				goto out;
			}
			text = p;
		}
		len += (size_t)snprintf(text + len, cap - len, "%s%s\n",
					i == 0 ? "\n# overrides from the command line\n" : "", overrides[i]);
	}
	text[len] = '\0';
	if (len > CONFIG_STATE_TEXT_MAX || memchr(text, '\0', len))
		rc = len > CONFIG_STATE_TEXT_MAX ? -EFBIG : -EINVAL;
out:
	fclose(f);
	if (rc) {
		free(text);
		return rc;
	}
	*text_r = text;
	*len_r = len;
	return 0;
}

int config_state_append(const char *text, size_t len, char *const *overrides, size_t nr,
			char **text_r, size_t *len_r)
{
	size_t cap = len + 64, n;
	char *out;

	for (size_t i = 0; i < nr; i++)
		cap += strlen(overrides[i]) + 1;
	if (cap > CONFIG_STATE_TEXT_MAX + 64)
		return -EFBIG;
	out = malloc(cap);
	if (!out)
		return -ENOMEM;
	memcpy(out, text, len);
	n = len;
	n += (size_t)snprintf(out + n, cap - n, "%s", nr ? "\n# restore overrides\n" : "");
	for (size_t i = 0; i < nr; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s\n", overrides[i]);
	out[n] = '\0';
	*text_r = out;
	*len_r = n;
	return 0;
}

void config_state_save(const struct config_state *cs, struct state_writer *w)
{
	if (state_section_begin(w, CONFIG_STATE_ID, CONFIG_STATE_VERSION))
		return;
	state_put_blob(w, cs->source, strlen(cs->source));
	state_put_blob(w, cs->text, cs->len);
	state_put_u32(w, cs->domid);
	state_put_bytes(w, cs->uuid, sizeof(cs->uuid));
	state_put_u8(w, cs->hcall_path);
	state_put_u32(w, cs->flags);
	state_put_blob(w, cs->mac_name, strlen(cs->mac_name));
	state_section_end(w);
}

int config_state_load(struct state_section *s, struct config_state *cs)
{
	const uint8_t *text;
	uint32_t len = 0;

	memset(cs, 0, sizeof(*cs));
	state_get_str(s, cs->source, sizeof(cs->source));
	state_get_blob(s, &text, &len, CONFIG_STATE_TEXT_MAX);
	state_get_u32(s, &cs->domid);
	state_get_bytes(s, cs->uuid, sizeof(cs->uuid));
	state_get_u8(s, &cs->hcall_path);
	state_get_u32(s, &cs->flags);
	state_get_str(s, cs->mac_name, sizeof(cs->mac_name));
	if (state_section_failed(s))
		return -EBADMSG;
	if (!len || memchr(text, '\0', len)) {
		state_section_fail(s, EBADMSG, "the config text is %s", len ? "not text (a NUL byte)" : "empty");
		return -EBADMSG;
	}
	if (cs->domid < 1 || cs->domid > 0x7fef) {
		state_section_fail(s, EBADMSG, "domain id %u is not 1..32751", cs->domid);
		return -EBADMSG;
	}
	if (cs->hcall_path > XEN_PATH_LAST) {
		state_section_fail(s, EBADMSG, "unknown hypercall path %u", cs->hcall_path);
		return -EBADMSG;
	}
	if (cs->flags & ~CONFIG_STATE_FLAGS) {
		state_section_fail(s, EBADMSG, "unknown flags %#x", cs->flags & ~CONFIG_STATE_FLAGS);
		return -EBADMSG;
	}
	cs->text = malloc((size_t)len + 1);
	if (!cs->text)
		return -ENOMEM;
	memcpy(cs->text, text, len);
	cs->text[len] = '\0';
	cs->len = len;
	return 0;
}

void config_state_free(struct config_state *cs)
{
	free(cs->text);
	cs->text = NULL;
	cs->len = 0;
}

int config_state_open(struct state_reader *r, struct config_state *cs, char *why, size_t size)
{
	struct state_section s;
	int rc;

	memset(cs, 0, sizeof(*cs));
	rc = state_reader_header(r);
	if (rc) {
		snprintf(why, size, "not a saved xenkvm domain: %s", state_reader_error(r));
		return rc;
	}
	if (strcmp(state_reader_build_id(r), XENKVM_STATE_BUILD_ID)) {
		snprintf(why, size, "saved by another build ('%s'); this one reads '%s' only",
			 state_reader_build_id(r), XENKVM_STATE_BUILD_ID);
		return -EPROTONOSUPPORT;
	}
	rc = state_reader_next(r, &s);
	if (rc < 0) {
		snprintf(why, size, "%s", state_reader_error(r));
		return rc;
	}
	if (rc == 0 || s.id != CONFIG_STATE_ID) {
		snprintf(why, size, "the first section is %s, not the config (0x%x)",
			 rc ? "another" : "the end", CONFIG_STATE_ID);
		return -EBADMSG;
	}
	if (s.version > CONFIG_STATE_VERSION) {
		snprintf(why, size, "config section version %u, this build reads up to %u", s.version,
			 CONFIG_STATE_VERSION);
		return -EPROTONOSUPPORT;
	}
	s.name = "config";
	rc = config_state_load(&s, cs);
	if (!rc && s.pos != s.len) {
		state_section_fail(&s, EBADMSG, "%zu bytes left unread", s.len - s.pos);
		rc = -EBADMSG;
	}
	if (rc) {
		snprintf(why, size, "%s", state_reader_error(r));
		config_state_free(cs);
	}
	return rc;
}
