#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "xenkvm/acpi.h"
#include "xenkvm/acpi_pm.h"
#include "xenkvm/boot.h"
#include "xenkvm/log.h"
#include "xenkvm/machine.h"
#include "xenkvm/pci.h"
#include "xenkvm/rtc.h"
#include "xenkvm/serial.h"
#include "xenkvm/vcpu.h"

#define CPUID_MAX_ENTRIES 256

static struct kvm_cpuid2 *machine_supported_cpuid(int kvm_fd)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(c->entries[0]));

	if (!c)
		return NULL;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(c);
		return NULL;
	}
	return c;
}

static int machine_setup_vcpus(struct machine *m)
{
	struct vm *vm = &m->vm;
	struct kvm_cpuid2 *cpuid = machine_supported_cpuid(vm->kvm_fd);
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int rc = -EIO;

	if (!cpuid)
		return -EIO;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		rc = vcpu_setup_cpuid(vm->vcpus[i], cpuid);
		if (!rc)
			rc = vcpu_setup_lapic(vm->vcpus[i]);
		if (rc) {
			pr_err("vCPU %u setup: %s", i, strerror(-rc));
			goto out;
		}
	}
	/* Only the BSP starts at the kernel; APs wait for INIT/SIPI in the LAPIC. */
	boot_entry_state(&regs, &sregs);
	rc = vcpu_set_entry_state(vm->vcpus[0], &regs, &sregs);
	if (rc)
		pr_err("setting the boot vCPU's registers: %s", strerror(-rc));
out:
	free(cpuid);
	return rc;
}

static int machine_setup_acpi(struct machine *m)
{
	struct vm *vm = &m->vm;
	struct acpi_config cfg = {
		.nr_cpus = vm->nr_vcpus,
		.pci_mmio32_base = VM_PCI_MMIO32_BASE,
		.pci_mmio32_size = VM_PCI_MMIO32_END - VM_PCI_MMIO32_BASE,
	};
	int rc;

	rc = acpi_build(&cfg, vm->ram + ACPI_TABLES_GPA, ACPI_TABLES_GPA, ACPI_TABLES_SIZE, &m->rsdp_addr);
	if (rc < 0) {
		pr_err("building ACPI tables: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

static void machine_console_escape(void *opaque)
{
	vm_request_stop(opaque, VM_EXIT_KILLED, "destroyed from the console (Ctrl-])");
}

int machine_create(struct machine *m, const struct machine_config *cfg)
{
	struct vm *vm = &m->vm;
	struct vm_config vcfg = { .memory_mib = cfg->memory_mib, .nr_vcpus = cfg->vcpus };
	int rc;

	memset(m, 0, sizeof(*m));
	rc = vm_create(vm, &vcfg);
	if (rc)
		return rc == -E2BIG || rc == -EINVAL ? VM_EXIT_USAGE : VM_EXIT_ERROR;

	if ((rc = pci_bus_create(vm, &vm->pci)) ||
	    (rc = serial_create(vm, SERIAL_COM1_BASE, SERIAL_COM1_IRQ, cfg->console_in_fd,
				cfg->console_out_fd, &vm->serial)) ||
	    (rc = rtc_create(vm, &m->rtc)) ||
	    (rc = acpi_pm_create(vm, &m->pm))) {
		pr_err("creating devices: %s", strerror(-rc));
		return VM_EXIT_ERROR;
	}
	pr_debug("VM and devices created");
	if (cfg->console_escape)
		serial_set_escape(vm->serial, machine_console_escape, vm);
	if (machine_setup_acpi(m))
		return VM_EXIT_ERROR;
	rc = boot_load_linux(vm, cfg->kernel, cfg->ramdisk, cfg->cmdline, m->rsdp_addr);
	if (rc)
		return rc == -ENOMEM ? VM_EXIT_ERROR : VM_EXIT_USAGE;
	if (machine_setup_vcpus(m))
		return VM_EXIT_ERROR;
	return 0;
}

enum vm_exit_status machine_run(struct machine *m)
{
	if (serial_start(m->vm.serial))
		pr_warn("console input unavailable");
	return vm_run(&m->vm);
}

void machine_destroy(struct machine *m)
{
	struct vm *vm = &m->vm;

	/* vCPU threads are joined by vm_run(); devices can go now. */
	serial_destroy(vm->serial);
	vm->serial = NULL;
	rtc_destroy(m->rtc);
	acpi_pm_destroy(m->pm);
	pci_bus_destroy(vm->pci);
	vm->pci = NULL;
	vm_destroy(vm);
}
