/*
 * The machine's share of a save (docs/SAVE-FORMAT.md): kvm/vm_state.c's
 * sections and the emulated devices' own, and the refusal of machines
 * with parts whose state nothing carries yet.  With the Xen personality
 * the caller adds xen-compat's sections (xenkvmd's save path): KVM's Xen
 * attributes are replayed by their load, not saved here.
 */
#include <errno.h>
#include <stdio.h>

#include "xenkvm/acpi_pm.h"
#include "xenkvm/ide.h"
#include "xenkvm/machine.h"
#include "xenkvm/rtc.h"
#include "xenkvm/serial.h"
#include "xenkvm/xen_platform.h"

int machine_state_unsupported(const struct machine *m, char *why, size_t size)
{
	if (m->firmware)
		snprintf(why, size, "firmware boot (SeaBIOS: fw_cfg, PCI BARs) cannot be saved yet (issue 21)");
	else if (!m->vm.serial || !m->rtc || !m->pm)
		snprintf(why, size, "a machine without the PC devices cannot be saved yet (issue 21)");
	else {
		for (unsigned int i = 0; i < IDE_POSITIONS; i++)
			if (m->ide && ide_present(m->ide, i)) {
				snprintf(why, size, "IDE drive %u: disks cannot be saved yet (issue 21)", i);
				return -EOPNOTSUPP;
			}
		return 0;
	}
	return -EOPNOTSUPP;
}

int machine_state_save(struct machine *m, struct state_writer *w)
{
	char why[128];
	int rc;

	if (machine_state_unsupported(m, why, sizeof(why))) {
		state_writer_fail(w, EOPNOTSUPP, "%s", why);
		return -EOPNOTSUPP;
	}
	rc = vm_state_save(&m->vm, w);
	if (rc)
		return rc;
	serial_state_save(m->vm.serial, w);
	rtc_state_save(m->rtc, w);
	acpi_pm_state_save(m->pm, w);
	if (m->platform)
		xen_platform_state_save(m->platform, w);
	return state_writer_err(w);
}

void machine_state_handlers(struct machine *m, struct vm_state_load *ctx, struct state_handler *h)
{
	vm_state_handlers(&m->vm, ctx, h);
	serial_state_handler(m->vm.serial, &h[VM_STATE_NR_HANDLERS]);
	rtc_state_handler(m->rtc, &h[VM_STATE_NR_HANDLERS + 1]);
	acpi_pm_state_handler(m->pm, &h[VM_STATE_NR_HANDLERS + 2]);
	xen_platform_state_handler(m->platform, &h[VM_STATE_NR_HANDLERS + 3]);
}
