/*
 * The PC the guest sees, assembled from kvm/ parts: VM + RAM, in-kernel
 * irqchip and PIT, COM1, CMOS RTC, ACPI PM, PCI host bridge, PIIX3 with
 * its IDE drives (00:01.x), the Xen platform device (00:02.0), ACPI tables,
 * CPUID/LAPIC per vCPU, and the directly booted kernel.  A PVH machine
 * has only RAM, the LAPICs, the ACPI sleep registers and the Xen
 * personality.
 */
#ifndef XENKVM_MACHINE_H
#define XENKVM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/firmware.h"
#include "xenkvm/ide.h"
#include "xenkvm/vm.h"
#include "xenkvm/vm_state.h"
#include "xenkvm/xen_kvm.h"

struct rtc;
struct acpi_pm;
struct event_loop;
struct xen_platform;
struct piix3;

struct machine_config {
	uint64_t memory_mib;
	unsigned int vcpus;
	/* Firmware boot (kernel NULL): SeaBIOS, see xenkvm/firmware.h. */
	bool firmware;
	const char *firmware_path;       /* NULL: Debian's bios-256k.bin */
	const char *boot;                /* xl's boot= (NULL: "cd") */
	const struct firmware_drive *drives;
	size_t nr_drives;
	const uint8_t *uuid;             /* SMBIOS; NULL: none */
	const char *kernel;
	const char *ramdisk;      /* NULL: none */
	const char *cmdline;
	bool guest_decompress;    /* boot the bzImage through its own decompressor */
	/* Built to load a saved state into (machine_state_handlers): no ACPI
	 * tables, no kernel load; the vCPUs must not run before the load. */
	bool restoring;
	/* type="pvh": no emulated devices (no PIT, UART, RTC, PCI), hardware-
	 * reduced ACPI, the kernel entered at its Xen PVH entry (xenkvm/pvh.h).
	 * Needs the Xen personality: its console is the PV console. */
	bool pvh;
	/* type="hvm" with firmware_override: the PC as usual, but `kernel` is
	 * an ELF entered at its PVH entry with an hvm_start_info. */
	bool pvh_entry;
	int console_in_fd;        /* -1: no console input */
	int console_out_fd;
	bool console_escape;      /* Ctrl-] on the input destroys the domain */
	struct event_loop *loop;  /* the caller's I/O thread (started and stopped by it) */
	/* The emulated IDE drives by position (primary master first); NULL: none. */
	const struct ide_drive_desc *ide[IDE_POSITIONS];

	/* The Xen personality (xen_platform_pci=1): CPUID leaves, hypercalls,
	 * the platform PCI device. */
	bool xen;
	struct xen_kvm_config xen_cfg;
};

/* Special pages at the top of low RAM (reserved in e820), as Xen's toolstack
 * sets aside for the XenStore and console rings. */
enum machine_special_page {
	MACHINE_PAGE_XENSTORE,
	MACHINE_PAGE_CONSOLE,
	MACHINE_NR_SPECIAL_PAGES,
};

struct machine {
	struct vm vm;
	struct rtc *rtc;
	struct acpi_pm *pm;
	uint64_t rsdp_addr;
	uint64_t entry;            /* where the boot vCPU starts */
	bool pvh;                  /* no emulated devices (type="pvh") */
	bool pvh_entry;            /* entered at the PVH entry (pvh, firmware_override) */
	struct event_loop *loop;   /* the caller's I/O thread: timers, backends */
	struct xen_kvm *xen;       /* NULL without the Xen personality */
	struct xen_platform *platform;
	struct firmware *firmware; /* NULL for direct kernel boot */
	struct ide *ide;           /* the PIIX3's IDE drives */
	struct piix3 *piix3;
	uint64_t special_gpa;      /* first special page */
};

/* Guest frame and host view of a special page (Xen personality only). */
uint64_t machine_special_gfn(const struct machine *m, enum machine_special_page p);
/* Presses the ACPI power button; any thread. */
void machine_power_button(struct machine *m);
void *machine_special_page(struct machine *m, enum machine_special_page p);

/*
 * Save and load (kvm/machine_state.c, docs/SAVE-FORMAT.md): the VM's
 * sections (xenkvm/vm_state.h) and the UART's, RTC's, ACPI PM's and the
 * Xen platform device's.
 * What a machine has whose state is not carried yet makes it unsavable:
 * machine_state_unsupported() says what (0: savable).
 */
struct state_writer;
struct state_handler;
int machine_state_unsupported(const struct machine *m, char *why, size_t size);
/* Every vCPU parked (vm_pause_sync()).  0 or -errno (message in w). */
int machine_state_save(struct machine *m, struct state_writer *w);
#define MACHINE_STATE_NR_HANDLERS (VM_STATE_NR_HANDLERS + 4)
/* Fills h[0 .. MACHINE_STATE_NR_HANDLERS) for state_load() into a machine
 * created from the same config whose vCPUs have not run; ctx lives until
 * the load is done; vm_state_load_finish(ctx) after it. */
void machine_state_handlers(struct machine *m, struct vm_state_load *ctx, struct state_handler *h);

/* 0, or a vm_exit_status (VM_EXIT_USAGE for the user's files or values,
 * VM_EXIT_ERROR for host failures); the reason has been printed. */
int machine_create(struct machine *m, const struct machine_config *cfg);
enum vm_exit_status machine_run(struct machine *m);
void machine_destroy(struct machine *m);

#endif
