/*
 * ACPI fixed hardware the FADT points at: PM1a event and control blocks,
 * the PM timer, and the reset register; plus the legacy ways a PC resets
 * (keyboard controller 0xFE, port 0x92).  A write of SLP_TYP(S5)|SLP_EN
 * powers the domain off; a reset request reboots it.  The power button is
 * the fixed-feature one: pressing it sets PM1_STS.PWRBTN, and the SCI is
 * high while that bit and PM1_EN.PWRBTN are both set.
 */
#ifndef XENKVM_ACPI_PM_H
#define XENKVM_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/state_stream.h"

struct vm;
struct acpi_pm;

/* What the VM raises: split out so the model can be unit-tested. */
enum acpi_pm_event { ACPI_PM_POWEROFF, ACPI_PM_RESET };

int acpi_pm_create(struct vm *vm, struct acpi_pm **pm_r);
/* A PVH machine's ACPI hardware: the hw_reduced sleep control and status
 * registers only (ACPI_SLEEP_CTL_PORT; S5 powers off). */
int acpi_pm_create_hw_reduced(struct vm *vm, struct acpi_pm **pm_r);
void acpi_pm_destroy(struct acpi_pm *pm);

struct acpi_pm *acpi_pm_new_detached(void (*event)(void *opaque, enum acpi_pm_event ev), void *opaque,
				     uint64_t (*now_ns)(void));
void acpi_pm_io(void *opaque, uint64_t port, void *data, unsigned int len, int is_write);
/* Presses the power button (any thread): the guest's OS decides what follows. */
void acpi_pm_power_button(struct acpi_pm *pm);
/* The state stream (vm-acpi-pm): PM1 status, enable and control, port
 * 0x92.  The PM timer is not carried: it counts host time, so it has
 * moved on by the time the guest was stopped.  Loading drives the SCI
 * again if a saved press was pending and enabled. */
#define ACPI_PM_STATE_ID      (STATE_ID_VMM_BASE + 8)
#define ACPI_PM_STATE_VERSION 1u
void acpi_pm_state_save(struct acpi_pm *pm, struct state_writer *w);
void acpi_pm_state_handler(struct acpi_pm *pm, struct state_handler *h);

/* Who drives the SCI line (acpi_pm_create: the VM's GSI 9); called with
 * the model's lock held, with the event callback's opaque. */
void acpi_pm_set_sci_fn(struct acpi_pm *pm, void (*set_sci)(void *opaque, bool level));

#endif
