#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "xenkvm/acpi.h"
#include "xenkvm/acpi_pm.h"
#include "xenkvm/boot.h"
#include "xenkvm/cpuid.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/ide.h"
#include "xenkvm/log.h"
#include "xenkvm/machine.h"
#include "xenkvm/pci.h"
#include "xenkvm/piix3.h"
#include "xenkvm/pvh.h"
#include "xenkvm/rtc.h"
#include "xenkvm/serial.h"
#include "xenkvm/vcpu.h"
#include "xenkvm/xen_platform.h"

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
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
		cpuid_set_tsc_deadline(c->entries, c->nent);
	return c;
}

static int machine_setup_vcpus(struct machine *m)
{
	struct vm *vm = &m->vm;
	struct kvm_cpuid2 *cpuid = machine_supported_cpuid(vm->kvm_fd);
	unsigned int max = CPUID_MAX_ENTRIES + 32, n;
	struct kvm_cpuid_entry2 *e = NULL;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int rc = -EIO;

	if (!cpuid)
		return -EIO;
	e = calloc(max, sizeof(*e));
	if (!e)
		goto out;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		memcpy(e, cpuid->entries, cpuid->nent * sizeof(*e));
		n = cpuid_adjust(e, cpuid->nent, max, i, vm->nr_vcpus);
		if (m->xen)
			n = xen_kvm_cpuid(m->xen, i, e, n, max);
		rc = vcpu_set_cpuid(vm->vcpus[i], e, n);
		if (!rc)
			rc = vcpu_setup_lapic(vm->vcpus[i]);
		if (rc) {
			pr_err("vCPU %u setup: %s", i, strerror(-rc));
			goto out;
		}
	}
	/* Only the BSP starts at the kernel; APs wait for INIT/SIPI in the LAPIC
	 * (Linux's PVH code starts them that way too: smp_ops.cpu_up stays
	 * native, Xen gives PVH guests an emulated LAPIC).  Firmware starts
	 * where KVM's reset state puts it: 0xfffffff0. */
	if (!m->firmware) {
		if (m->pvh_entry)
			pvh_entry_state(&regs, &sregs, (uint32_t)m->entry, PVH_START_INFO_ADDR);
		else
			boot_entry_state(&regs, &sregs, m->entry);
		rc = vcpu_set_entry_state(vm->vcpus[0], &regs, &sregs);
		if (rc)
			pr_err("setting the boot vCPU's registers: %s", strerror(-rc));
	}
out:
	free(e);
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
		.hw_reduced = m->pvh,
	};
	int rc;

	rc = acpi_build(&cfg, vm->ram + ACPI_TABLES_GPA, ACPI_TABLES_GPA, ACPI_TABLES_SIZE, &m->rsdp_addr);
	if (rc < 0) {
		pr_err("building ACPI tables: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

static void machine_ide_irq(void *opaque, unsigned int irq, int level)
{
	vm_set_irq(opaque, irq, level);
}

static void machine_unplug(void *opaque, uint16_t mask)
{
	struct machine *m = opaque;

	ide_unplug(m->ide, mask);
}

/* The south bridge with its IDE drives; before the Xen platform device,
 * which goes to the slot after it as on Xen. */
static int machine_setup_ide(struct machine *m, const struct machine_config *cfg)
{
	struct vm *vm = &m->vm;
	int rc;

	m->ide = ide_new(machine_ide_irq, vm, &vm->mem);
	if (!m->ide)
		return VM_EXIT_ERROR;
	for (unsigned int i = 0; i < IDE_POSITIONS; i++) {
		if (!cfg->ide[i])
			continue;
		rc = ide_attach(m->ide, i, cfg->ide[i]);
		if (rc)
			return rc == -ENOMEM ? VM_EXIT_ERROR : VM_EXIT_USAGE;
	}
	rc = piix3_create(vm->pci, &vm->pio, m->ide, &m->piix3);
	if (rc) {
		pr_err("creating the PIIX3 IDE controller: %s", strerror(-rc));
		return VM_EXIT_ERROR;
	}
	return 0;
}

/*
 * A PVH machine has no PIT, but Linux still runs quick_pit_calibrate() (Xen
 * overrides calibrate_tsc, not calibrate_cpu): it reads port 0x42 until the
 * counter's MSB leaves 0xff, up to 50000 pairs of reads.  An unclaimed port
 * reads all-ones, so every pair is spent, each read a userspace exit: ~11 s
 * of a nested host's boot.  Reading 0 ends the wait at once and the guest
 * falls back to the Xen clock, as it must without a PIT.
 */
static void machine_pvh_pit_absent(void *opaque, uint64_t off, void *data, unsigned int len, bool is_write)
{
	(void)opaque;
	(void)off;
	if (!is_write)
		memset(data, 0, len);
}

static void machine_console_escape(void *opaque)
{
	vm_request_stop(opaque, VM_EXIT_KILLED, "destroyed from the console (Ctrl-])");
}

int machine_create(struct machine *m, const struct machine_config *cfg)
{
	struct vm *vm = &m->vm;
	struct vm_config vcfg = { .memory_mib = cfg->memory_mib, .nr_vcpus = cfg->vcpus, .no_pit = cfg->pvh };
	uint64_t special;
	int rc;

	memset(m, 0, sizeof(*m));
	if (cfg->pvh && !cfg->xen) {
		pr_err("a PVH domain needs the Xen personality (xen_platform_pci=1): it has no other devices");
		return VM_EXIT_USAGE;
	}
	m->pvh = cfg->pvh;
	m->pvh_entry = cfg->pvh || cfg->pvh_entry;
	rc = vm_create(vm, &vcfg);
	if (rc)
		return rc == -E2BIG || rc == -EINVAL ? VM_EXIT_USAGE : VM_EXIT_ERROR;

	if (cfg->pvh) {
		rc = acpi_pm_create_hw_reduced(vm, &m->pm);
		if (!rc)
			rc = io_bus_register(&vm->pio, 0x40, 4, machine_pvh_pit_absent, NULL, "pit-absent");
		if (rc) {
			pr_err("creating the PVH machine's ports: %s", strerror(-rc));
			return VM_EXIT_ERROR;
		}
	} else if ((rc = pci_bus_create(vm, &vm->pci)) ||
	    (rc = serial_create(vm, SERIAL_COM1_BASE, SERIAL_COM1_IRQ, cfg->console_in_fd,
				cfg->console_out_fd, &vm->serial)) ||
	    (rc = rtc_create(vm, &m->rtc)) ||
	    (rc = acpi_pm_create(vm, &m->pm))) {
		pr_err("creating devices: %s", strerror(-rc));
		return VM_EXIT_ERROR;
	}
	/* SeaBIOS assigns BARs itself on its QEMU path (no Xen CPUID leaves). */
	if (vm->pci && cfg->firmware && !cfg->xen)
		pci_bus_set_firmware_assigns(vm->pci);
	pr_debug("VM and devices created");
	if (cfg->console_escape && vm->serial)
		serial_set_escape(vm->serial, machine_console_escape, vm);
	m->loop = cfg->loop;
	rc = cfg->pvh ? 0 : machine_setup_ide(m, cfg);
	if (rc)
		return rc;
	if (cfg->xen) {
		rc = xen_kvm_create(vm, m->loop, &cfg->xen_cfg, &m->xen);
		if (rc)
			return rc == -ENOTSUP ? VM_EXIT_USAGE : VM_EXIT_ERROR;
		rc = cfg->pvh ? 0 : xen_platform_create(vm->pci, &vm->pio, &m->platform);
		if (rc) {
			pr_err("creating the Xen platform device: %s", strerror(-rc));
			return VM_EXIT_ERROR;
		}
		if (m->platform)
			xen_platform_set_unplug(m->platform, machine_unplug, m);
	}
	special = cfg->xen ? MACHINE_NR_SPECIAL_PAGES * GUEST_PAGE_SIZE : 0;
	m->special_gpa = vm->lowmem_size - special;
	if (cfg->firmware) {
		char version[16];
		struct firmware_config fcfg = {
			.path = cfg->firmware_path, .boot = cfg->boot,
			.drives = cfg->drives, .nr_drives = cfg->nr_drives,
			.xen = cfg->xen, .uuid = cfg->uuid, .nr_cpus = vm->nr_vcpus,
			.version = version, .reserved_top = special,
		};

		/* What the guest's DMI shows as the BIOS version: Xen's, as on Xen. */
		if (cfg->xen)
			snprintf(version, sizeof(version), "%u.%u", cfg->xen_cfg.xen_version >> 16,
				 cfg->xen_cfg.xen_version & 0xffff);
		else
			snprintf(version, sizeof(version), "xenkvm");

		rc = firmware_load(vm, m->rtc, &fcfg, &m->firmware);
		if (rc)
			return rc == -EINVAL ? VM_EXIT_USAGE : VM_EXIT_ERROR;
		return machine_setup_vcpus(m) ? VM_EXIT_ERROR : 0;
	}
	/* A restore brings RAM and registers from the stream (its machine
	 * section zeroes RAM first): no tables, no kernel, which need not
	 * even be there any more. */
	if (cfg->restoring)
		return machine_setup_vcpus(m) ? VM_EXIT_ERROR : 0;
	if (machine_setup_acpi(m))
		return VM_EXIT_ERROR;
	if (m->pvh_entry) {
		uint32_t entry;

		rc = pvh_load(vm, &(struct pvh_request){
				      .kernel = cfg->kernel, .initrd = cfg->ramdisk, .cmdline = cfg->cmdline,
				      .rsdp_addr = m->rsdp_addr, .special = special,
			      }, &entry);
		m->entry = entry;
	} else
		rc = boot_load_linux(vm, &(struct boot_request){
					 .kernel = cfg->kernel, .initrd = cfg->ramdisk, .cmdline = cfg->cmdline,
					 .rsdp_addr = m->rsdp_addr, .special = special,
					 .guest_decompress = cfg->guest_decompress,
				 }, &m->entry);
	if (rc)
		return rc == -ENOMEM ? VM_EXIT_ERROR : VM_EXIT_USAGE;
	if (machine_setup_vcpus(m))
		return VM_EXIT_ERROR;
	return 0;
}

void machine_power_button(struct machine *m)
{
	acpi_pm_power_button(m->pm);
}

uint64_t machine_special_gfn(const struct machine *m, enum machine_special_page p)
{
	return (m->special_gpa >> GUEST_PAGE_SHIFT) + p;
}

void *machine_special_page(struct machine *m, enum machine_special_page p)
{
	return m->vm.ram + m->special_gpa + (uint64_t)p * GUEST_PAGE_SIZE;
}

enum vm_exit_status machine_run(struct machine *m)
{
	if (m->vm.serial && serial_start(m->vm.serial))
		pr_warn("console input unavailable");
	return vm_run(&m->vm);
}

void machine_destroy(struct machine *m)
{
	struct vm *vm = &m->vm;

	/* vCPU threads are joined by vm_run(); devices can go now. */
	/* The caller stopped the I/O thread: timers and fds can go. */
	xen_kvm_destroy(m->xen);
	xen_platform_destroy(m->platform);
	piix3_destroy(m->piix3);
	ide_free(m->ide);   /* flushes what the guest wrote through IDE */
	serial_destroy(vm->serial);
	vm->serial = NULL;
	rtc_destroy(m->rtc);
	acpi_pm_destroy(m->pm);
	pci_bus_destroy(vm->pci);
	vm->pci = NULL;
	vm_destroy(vm);
	/* Its ROM was a memory slot and its ports were on the bus: after the VM. */
	firmware_destroy(m->firmware);
	m->firmware = NULL;
}
