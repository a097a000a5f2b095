/*
 * A domain's configuration, as read from an xl.cfg file (plus key=value
 * overrides).  Everything the daemon needs to build the domain; the syntax
 * layer is xlcfg.h.
 */
#ifndef XENKVM_DOMAIN_CONFIG_H
#define XENKVM_DOMAIN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum domain_type { DOMAIN_TYPE_HVM, DOMAIN_TYPE_PVH, DOMAIN_TYPE_PV };

enum domain_action {
	ACTION_DESTROY,
	ACTION_RESTART,
	ACTION_PRESERVE,
	ACTION_RENAME_RESTART,
	ACTION_COREDUMP_DESTROY,
	ACTION_COREDUMP_RESTART,
	ACTION_SOFT_RESET,
};

struct disk_spec {
	char *target;        /* path; NULL for an empty cdrom */
	char *vdev;          /* xvda, hda, sdb, ... */
	char *format;        /* "raw" (default), "qcow2", ... as written */
	bool readonly;       /* access=ro / mode r */
	bool cdrom;          /* devtype=cdrom or ":cdrom" suffix */
	bool direct_io;      /* xenkvm extension: direct-io-safe / O_DIRECT */
	char *backendtype;   /* as written, or NULL */
	char *script;
};

enum vif_backend { VIF_BACKEND_USER, VIF_BACKEND_TAP };

struct vif_hostfwd {
	bool udp;
	char *host_addr;     /* NULL = any */
	uint16_t host_port;
	char *guest_addr;    /* NULL = guest's DHCP address */
	uint16_t guest_port;
};

struct vif_spec {
	uint8_t mac[6];
	bool has_mac;        /* else generated in 00:16:3e */
	enum vif_backend backend;
	char *bridge;        /* tap: bridge to join */
	char *ifname;        /* vifname= */
	char *model;
	char *script;
	char *ip;
	struct vif_hostfwd *hostfwd; /* xenkvm extension: hostfwd=tcp:[addr]:hport-[addr]:gport (';'-separated) */
	size_t nr_hostfwd;
};

struct domain_config {
	char *path;          /* the config file as given */
	char *name;
	uint8_t uuid[16];
	bool has_uuid;
	enum domain_type type;
	bool type_unset;             /* neither type= nor builder=: xl would build a PV guest */
	uint64_t memory_mib;
	uint64_t maxmem_mib; /* = memory_mib when unset */
	unsigned int vcpus;
	unsigned int maxvcpus; /* = vcpus when unset */
	char *kernel;        /* direct kernel boot; NULL: boot through firmware (SeaBIOS) */
	char *boot;          /* xl's boot= for firmware boot: c disk, d CD-ROM, n network; NULL = "cd" */
	char *bios_path;     /* bios_path_override=: the firmware image; NULL = Debian's SeaBIOS */
	char *ramdisk;
	char *firmware_override; /* type="hvm": an ELF with Xen's PVH entry note booted instead of a kernel */
	char *cmdline;       /* cmdline, or root= + extra= joined as xl does */
	struct disk_spec *disks;
	size_t nr_disks;
	struct vif_spec *vifs;
	size_t nr_vifs;
	enum domain_action on_poweroff, on_reboot, on_crash;
	char *serial;        /* "pty", "stdio", "file:/path", "none"; NULL = stdio for xenkvmd */
	/* xenkvm additions, documented in docs/CONFIG.md */
	bool xen_platform;   /* xen_platform_pci=1 (default 1) */
	unsigned int xen_version; /* xen_version="4.17" -> 0x40011 */
};

/* One diagnostic, "file:line: message", filled on failure. */
struct config_error {
	char msg[512];
};

/*
 * Parse `path` and apply `overrides` ("key=value" in xl.cfg syntax, applied
 * after the file as xl does).  Unknown keys print a warning naming the key
 * (through warn_cb, or stderr when NULL) and are ignored; invalid values fail
 * with err->msg = "file:line: message".  Returns 0 or -1.
 */
int domain_config_load(const char *path, char *const *overrides, size_t nr_overrides,
		       struct domain_config *cfg, struct config_error *err,
		       void (*warn_cb)(const char *msg));
/* Same, from a buffer (tests, fuzzers); `name` is used in messages. */
int domain_config_parse(const char *name, const char *text, size_t len,
			char *const *overrides, size_t nr_overrides,
			struct domain_config *cfg, struct config_error *err,
			void (*warn_cb)(const char *msg));
void domain_config_free(struct domain_config *cfg);

/* xl.cfg disk spec (both the key=value and positional forms).  0 or -1 + err. */
int disk_spec_parse(const char *spec, struct disk_spec *disk, struct config_error *err);
void disk_spec_free(struct disk_spec *disk);
/* Where an HVM guest sees the disk on emulated IDE, as Xen places it:
 * xvda/hda/sda 0 (primary master), ...b 1, ...c 2 (secondary master),
 * ...d 3; -1 for the others (PV only: later letters, partitions, dN). */
int disk_spec_ide_position(const struct disk_spec *disk);
int vif_spec_parse(const char *spec, struct vif_spec *vif, struct config_error *err);
/* Same, with warnings (xl vif options we ignore, e.g. rate=) through warn_cb (stderr if NULL). */
int vif_spec_parse_warn(const char *spec, struct vif_spec *vif, struct config_error *err,
			void (*warn_cb)(void *opaque, const char *msg), void *opaque);
void vif_spec_free(struct vif_spec *vif);

const char *domain_action_name(enum domain_action a);

#endif
