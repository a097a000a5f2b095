#include <string.h>

#include "fake_vm.h"

int fake_irq_level[32];
unsigned int fake_irq_changes;
int fake_stop_status = -1;

void fake_vm_reset(void)
{
	memset(fake_irq_level, 0, sizeof(fake_irq_level));
	fake_irq_changes = 0;
	fake_stop_status = -1;
}

int vm_set_irq(struct vm *vm, unsigned int gsi, int level)
{
	(void)vm;
	if (gsi < 32) {
		fake_irq_level[gsi] = level;
		fake_irq_changes++;
	}
	return 0;
}

void vm_request_stop(struct vm *vm, enum vm_exit_status status, const char *fmt, ...)
{
	(void)vm;
	(void)fmt;
	if (fake_stop_status < 0)
		fake_stop_status = (int)status;
}

int fake_rom_maps;

int vm_map_rom(struct vm *vm, uint64_t gpa, const void *hva, uint64_t size)
{
	(void)vm;
	(void)gpa;
	(void)hva;
	(void)size;
	fake_rom_maps++;
	return 0;
}
