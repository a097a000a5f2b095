/* Records what device models ask of the VM, in place of kvm/vm.c. */
#ifndef TESTS_FAKE_VM_H
#define TESTS_FAKE_VM_H

#include "xenkvm/vm.h"

extern int fake_irq_level[32];
extern unsigned int fake_irq_changes;
extern int fake_stop_status;   /* -1 until vm_request_stop() */
extern int fake_rom_maps;      /* vm_map_rom() calls */

void fake_vm_reset(void);

#endif
