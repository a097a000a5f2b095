/*
 * The config section of a saved domain (docs/SAVE-FORMAT.md, 0x30001):
 * what `xenkvm restore FILE` needs to build the same domain again without
 * the original config file.  It is the first section of every save, so a
 * reader (the CLI picking the name and domid, xenkvmd building the
 * machine) reads it before anything else and stops there.
 *
 * The config travels as text (the xl.cfg file as read, with the command
 * line's overrides appended as later lines, which win as in xl), plus
 * what the daemon decided at start that the text does not say: the
 * domain id, the UUID (random when the config has none), the hypercall
 * path KVM gave the guest and the daemon's Xen options.
 */
#ifndef XENKVM_CONFIG_STATE_H
#define XENKVM_CONFIG_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenkvm/state_stream.h"

/* Streams are only read by the build that wrote them (same section
 * layouts, same device models); another build id is refused. */
#define XENKVM_STATE_BUILD_ID "xenkvm-0.1-state1"

#define CONFIG_STATE_ID      (STATE_ID_TOOL_BASE + 1)
#define CONFIG_STATE_VERSION 1u
#define CONFIG_STATE_TEXT_MAX (1u << 20)

enum config_state_flag {
	CONFIG_STATE_NO_KERNEL_XEN    = 1u << 0,   /* --no-kernel-xen */
	CONFIG_STATE_NO_FASTPATHS     = 1u << 1,   /* --no-kernel-fastpaths */
	CONFIG_STATE_GUEST_DECOMPRESS = 1u << 2,   /* --guest-decompress */
	CONFIG_STATE_FLAGS            = 7u,
};

struct config_state {
	char source[256];        /* the config file's path when saved (messages only) */
	char *text;              /* NUL-terminated; owned */
	size_t len;
	uint32_t domid;
	uint8_t uuid[16];
	uint8_t hcall_path;      /* enum xen_hcall_path as chosen (never auto), 0 without Xen */
	uint32_t flags;          /* enum config_state_flag */
	/* The name the vifs' generated MACs come from (the first incarnation's):
	 * a restore under another name keeps the guest's MACs. */
	char mac_name[128];
};

/* The file's text with the overrides as later lines, as `xenkvm create`
 * keeps it in the run directory.  0 or -errno; *text_r is malloc'd. */
int config_state_text(const char *path, char *const *overrides, size_t nr, char **text_r,
		      size_t *len_r);

/* text with the overrides appended as later lines (a restore's
 * `key=value`s, which win as in xl).  0 or -errno; *text_r is malloc'd. */
int config_state_append(const char *text, size_t len, char *const *overrides, size_t nr,
			char **text_r, size_t *len_r);

void config_state_save(const struct config_state *cs, struct state_writer *w);
/* Reads one config section into *cs (text malloc'd; config_state_free).
 * Refused: an empty or oversized text, one holding a NUL, an unknown
 * hypercall path or flag.  0 or -errno (message in the section). */
int config_state_load(struct state_section *s, struct config_state *cs);
void config_state_free(struct config_state *cs);

/*
 * Opens a saved domain: the header (build id checked against ours) and
 * the first section, which must be the config.  On success the reader is
 * positioned after it (state_load() takes the rest).  0 or -errno with
 * the reason in why ("FILE: ..." for the user).
 */
int config_state_open(struct state_reader *r, struct config_state *cs, char *why, size_t size);

#endif
