#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "xenkvm/acpi.h"
#include "xenkvm/log.h"
#include "xenkvm/vcpu.h"
#include "xenkvm/vm.h"

int vm_max_vcpus(int kvm_fd)
{
	int max = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (max <= 0)
		max = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;   /* KVM's documented default when neither cap exists */
	return max > VM_MAX_VCPUS ? VM_MAX_VCPUS : max;
}

static int vm_open_kvm(struct vm *vm)
{
	int version;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = errno;

		if (err == ENOENT)
			pr_err("/dev/kvm does not exist: load kvm_intel or kvm_amd (and enable virtualisation in firmware)");
		else if (err == EACCES)
			pr_err("/dev/kvm: permission denied: add this user to the 'kvm' group");
		else
			pr_err("/dev/kvm: %s", strerror(err));
		return -err;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		pr_err("KVM API version %d, expected %d", version, KVM_API_VERSION);
		return -ENOTSUP;
	}
	static const struct { int cap; const char *name; } needed[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
			pr_err("this KVM lacks %s, which xenkvm needs", needed[i].name);
			return -ENOTSUP;
		}
	}
	vm->kvm_run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->kvm_run_size <= 0) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -ENOTSUP;
	}
	return 0;
}

/* Sets (size > 0) or deletes (size 0) KVM slot `id`; the caller holds slot_lock. */
static int vm_set_slot_flags(struct vm *vm, unsigned int id, uint64_t gpa, uint64_t size, uint8_t *hva,
			     bool overlay, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = id,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		int err = errno;

		pr_err("KVM_SET_USER_MEMORY_REGION slot %u %#llx+%#llx: %s", id, (unsigned long long)gpa,
		       (unsigned long long)size, strerror(err));
		return -err;
	}
	vm->slots[id] = (struct vm_slot){ .gpa = gpa, .size = size, .hva = size ? hva : NULL,
					  .overlay = size && overlay,
					  .readonly = size && (flags & KVM_MEM_READONLY) };
	return 0;
}

static int vm_set_slot(struct vm *vm, unsigned int id, uint64_t gpa, uint64_t size, uint8_t *hva,
		       bool overlay)
{
	return vm_set_slot_flags(vm, id, gpa, size, hva, overlay, 0);
}

static int vm_free_slot(const struct vm *vm)
{
	for (unsigned int i = 0; i < VM_MAX_SLOTS; i++)
		if (!vm->slots[i].size)
			return (int)i;
	return -ENOSPC;
}

static int vm_find_slot(const struct vm *vm, uint64_t gpa)
{
	for (unsigned int i = 0; i < VM_MAX_SLOTS; i++)
		if (vm->slots[i].size && gpa - vm->slots[i].gpa < vm->slots[i].size)
			return (int)i;
	return -ENOENT;
}

static int vm_add_slot(struct vm *vm, uint64_t gpa, uint64_t size, uint8_t *hva)
{
	int id = vm_free_slot(vm);
	int rc;

	if (id < 0)
		return id;
	rc = vm_set_slot(vm, (unsigned int)id, gpa, size, hva, false);
	if (rc)
		return rc;
	return guest_mem_add(&vm->mem, gpa, size, hva);
}

int vm_map_rom(struct vm *vm, uint64_t gpa, const void *hva, uint64_t size)
{
	int id, rc;

	if (!size || (gpa | size | (uintptr_t)hva) & (GUEST_PAGE_SIZE - 1))
		return -EINVAL;
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0) {
		pr_err("this KVM cannot map read-only memory (KVM_CAP_READONLY_MEM)");
		return -ENOTSUP;
	}
	pthread_mutex_lock(&vm->slot_lock);
	id = vm_free_slot(vm);
	rc = id < 0 ? id : vm_set_slot_flags(vm, (unsigned int)id, gpa, size, (uint8_t *)hva, false,
					     KVM_MEM_READONLY);
	pthread_mutex_unlock(&vm->slot_lock);
	return rc;
}

/* Where RAM would be at gpa (NULL outside RAM): what an overlay hides. */
static uint8_t *vm_ram_hva(const struct vm *vm, uint64_t gpa)
{
	if (gpa < vm->lowmem_size)
		return vm->ram + gpa;
	if (gpa >= VM_HIGHMEM_BASE && gpa - VM_HIGHMEM_BASE < vm->ram_size - vm->lowmem_size)
		return vm->ram + vm->lowmem_size + (gpa - VM_HIGHMEM_BASE);
	return NULL;
}

/* Splits the slot holding `gpa` so that its page stands alone; returns its id. */
static int vm_isolate_page(struct vm *vm, uint64_t gpa)
{
	int id = vm_find_slot(vm, gpa), page_id, hi_id;
	struct vm_slot s;
	uint64_t lo, hi;
	int rc;

	if (id < 0 || vm->slots[id].size == GUEST_PAGE_SIZE)
		return id;
	s = vm->slots[id];
	lo = gpa - s.gpa;
	hi = s.size - lo - GUEST_PAGE_SIZE;
	/* Delete first: KVM refuses overlapping slots. */
	rc = vm_set_slot(vm, (unsigned int)id, s.gpa, 0, NULL, false);
	if (rc)
		return rc;
	page_id = id;
	if (lo) {
		rc = vm_set_slot(vm, (unsigned int)id, s.gpa, lo, s.hva, false);
		if (rc)
			return rc;
		page_id = vm_free_slot(vm);
		if (page_id < 0)
			return page_id;
	}
	rc = vm_set_slot(vm, (unsigned int)page_id, gpa, GUEST_PAGE_SIZE, s.hva + lo, false);
	if (rc)
		return rc;
	if (hi) {
		hi_id = vm_free_slot(vm);
		if (hi_id < 0)
			return hi_id;
		rc = vm_set_slot(vm, (unsigned int)hi_id, gpa + GUEST_PAGE_SIZE, hi,
				 s.hva + lo + GUEST_PAGE_SIZE, false);
		if (rc)
			return rc;
	}
	return page_id;
}

bool vm_ram_access(struct vm *vm, uint64_t gpa, void *data, unsigned int len, bool is_write)
{
	uint8_t *p = NULL;
	int id;

	pthread_mutex_lock(&vm->slot_lock);
	id = vm_find_slot(vm, gpa);
	if (id >= 0 && len <= vm->slots[id].size - (gpa - vm->slots[id].gpa))
		p = vm->slots[id].hva + (gpa - vm->slots[id].gpa);
	else if (id < 0)
		p = vm_ram_hva(vm, gpa);   /* mid-split: the RAM is still there */
	if (p && p + len > vm->ram + vm->ram_size && id < 0)
		p = NULL;
	/* A write to ROM exits here and is dropped, as the bus would. */
	if (p && is_write && id >= 0 && vm->slots[id].readonly) {
		pthread_mutex_unlock(&vm->slot_lock);
		return true;
	}
	if (p) {
		if (is_write)
			memcpy(p, data, len);
		else
			memcpy(data, p, len);
	}
	pthread_mutex_unlock(&vm->slot_lock);
	return p != NULL;
}

int vm_map_page(struct vm *vm, uint64_t gfn, void *hva)
{
	uint64_t gpa = gfn << GUEST_PAGE_SHIFT;
	uint8_t *ram;
	int id, rc = 0;

	if (gfn >= (1ull << 40) || ((uintptr_t)hva & (GUEST_PAGE_SIZE - 1)))
		return -EINVAL;
	pthread_mutex_lock(&vm->slot_lock);
	ram = vm_ram_hva(vm, gpa);
	id = vm_find_slot(vm, gpa);
	if (id >= 0 && vm->slots[id].overlay) {
		/* Replace or remove an earlier overlay: RAM (if any) comes back. */
		rc = vm_set_slot(vm, (unsigned int)id, gpa, 0, NULL, false);
		if (!rc && ram)
			rc = vm_set_slot(vm, (unsigned int)id, gpa, GUEST_PAGE_SIZE, ram, false);
		id = ram ? id : -ENOENT;
	}
	if (rc || !hva)
		goto out;
	if (id >= 0) {
		id = vm_isolate_page(vm, gpa);
		if (id < 0) {
			rc = id;
			goto out;
		}
		rc = vm_set_slot(vm, (unsigned int)id, gpa, 0, NULL, false);
	} else {
		id = vm_free_slot(vm);
		rc = id < 0 ? id : 0;
	}
	if (!rc)
		rc = vm_set_slot(vm, (unsigned int)id, gpa, GUEST_PAGE_SIZE, hva, true);
out:
	pthread_mutex_unlock(&vm->slot_lock);
	if (rc)
		pr_err("mapping a page at guest frame %#llx: %s", (unsigned long long)gfn, strerror(-rc));
	return rc;
}

int vm_ram_discard(struct vm *vm, uint64_t gpa, uint64_t len)
{
	void *hva = guest_mem_ptr(&vm->mem, gpa, len);

	if (!hva || !len || (gpa | len) & (GUEST_PAGE_SIZE - 1))
		return -EINVAL;
	/* Private anonymous RAM: DONTNEED frees it and refaults zeros. */
	if (madvise(hva, len, MADV_DONTNEED))
		return -errno;
	return 0;
}

static int vm_setup_memory(struct vm *vm, uint64_t memory_mib)
{
	int rc;

	vm->ram_size = memory_mib << 20;
	vm->lowmem_size = vm->ram_size < VM_LOWMEM_LIMIT ? vm->ram_size : VM_LOWMEM_LIMIT;
	/* NORESERVE: guest RAM is committed as the guest touches it. */
	vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		pr_err("cannot map %llu MiB of guest memory: %s", (unsigned long long)memory_mib, strerror(errno));
		return -ENOMEM;
	}
	madvise(vm->ram, vm->ram_size, MADV_HUGEPAGE);
	rc = vm_add_slot(vm, 0, vm->lowmem_size, vm->ram);
	if (!rc && vm->ram_size > vm->lowmem_size)
		rc = vm_add_slot(vm, VM_HIGHMEM_BASE, vm->ram_size - vm->lowmem_size, vm->ram + vm->lowmem_size);
	return rc;
}

/*
 * GSI -> irqchip pins.  KVM's default sends GSI 0, which its PIT raises,
 * to IOAPIC pin 0, but our MADT (like every PC's) overrides ISA IRQ 0 to
 * GSI 2: a guest that checks its timer through the IOAPIC (Linux does,
 * unless it found kvm-clock) then sees no ticks and spends seconds on
 * fallbacks.  So GSI 0 reaches PIC pin 0 and IOAPIC pin 2, and GSI 2 (the
 * PIC cascade) reaches nothing; every other ISA GSI n reaches PIC and
 * IOAPIC pin n, GSIs 16-23 the IOAPIC only.
 */
static int vm_setup_irq_routing(struct vm *vm)
{
	enum { NR_ROUTES = 15 + 15 + 8 };
	struct kvm_irq_routing *t = calloc(1, sizeof(*t) + NR_ROUTES * sizeof(t->entries[0]));
	unsigned int n = 0;
	int rc = 0;

	if (!t)
		return -ENOMEM;
	for (unsigned int gsi = 0; gsi < 24; gsi++) {
		if (gsi == 2)
			continue;
		if (gsi < 16)
			t->entries[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
								 : KVM_IRQCHIP_PIC_SLAVE,
					       .pin = gsi % 8 },
			};
		t->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi ? gsi : 2 },
		};
	}
	t->nr = n;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0) {
		rc = -errno;
		pr_err("KVM_SET_GSI_ROUTING: %s", strerror(errno));
	}
	free(t);
	return rc;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int max, rc;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	pthread_mutex_init(&vm->slot_lock, NULL);
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");

	rc = vm_open_kvm(vm);
	if (rc)
		return rc;
	max = vm_max_vcpus(vm->kvm_fd);
	if (cfg->nr_vcpus < 1 || cfg->nr_vcpus > (unsigned int)max) {
		pr_err("vcpus = %u: this host's KVM supports 1 to %d vCPUs per guest", cfg->nr_vcpus, max);
		return -E2BIG;
	}
	if (cfg->memory_mib < VM_MIN_MEMORY_MIB) {
		pr_err("memory = %llu MiB is below the minimum of %u MiB",
		       (unsigned long long)cfg->memory_mib, VM_MIN_MEMORY_MIB);
		return -EINVAL;
	}
	do
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0) {
		rc = -errno;
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		return rc;
	}
	/* Intel needs these pages outside RAM; harmless elsewhere. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VM_TSS_ADDR) < 0)
		pr_debug("KVM_SET_TSS_ADDR: %s", strerror(errno));
	{
		uint64_t ident = VM_IDENTITY_MAP;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
			pr_debug("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		rc = -errno;
		pr_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return rc;
	}
	rc = vm_setup_irq_routing(vm);
	if (rc)
		return rc;
	if (!cfg->no_pit && ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		rc = -errno;
		pr_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return rc;
	}
	vm->has_pit = !cfg->no_pit;
	rc = vm_setup_memory(vm, cfg->memory_mib);
	if (rc)
		return rc;

	vm->nr_vcpus = cfg->nr_vcpus;
	vm->vcpus = calloc(cfg->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < cfg->nr_vcpus; i++) {
		rc = vcpu_create(vm, i, &vm->vcpus[i]);
		if (rc)
			return rc;
	}
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_destroy(vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	vm->ram = NULL;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	io_bus_destroy(&vm->pio);
	io_bus_destroy(&vm->mmio);
}

int vm_set_irq(struct vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

int vm_msi_to_vcpu(struct vm *vm, unsigned int vcpu, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = ACPI_LAPIC_ADDR | (vcpu << 12), .data = data };

	if (vcpu >= vm->nr_vcpus)
		return -EINVAL;
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}

#define MSI_DELIVERY_NMI (4u << 8)

int vm_inject_nmi(struct vm *vm, unsigned int vcpu)
{
	return vm_msi_to_vcpu(vm, vcpu, MSI_DELIVERY_NMI);
}

void vm_pulse_irq(struct vm *vm, unsigned int gsi)
{
	vm_set_irq(vm, gsi, 1);
	vm_set_irq(vm, gsi, 0);
}

void vm_request_stop(struct vm *vm, enum vm_exit_status status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (!vm->stopping) {
		vm->exit_status = status;
		va_start(ap, fmt);
		vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
		va_end(ap);
		__atomic_store_n(&vm->stopping, true, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&vm->stop_cond);
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

void vm_set_paused(struct vm *vm, bool paused)
{
	pthread_mutex_lock(&vm->stop_lock);
	vm->paused = paused;
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
	if (paused && vm->vcpus)
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_kick(vm->vcpus[i]);
}

int vm_pause_sync(struct vm *vm)
{
	struct timespec deadline;
	unsigned int running = 0;
	int rc = 0;

	vm_set_paused(vm, true);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		running += vm->vcpus[i]->thread_started;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&vm->stop_lock);
	while (vm->nr_parked < running && !vm->stopping && !rc)
		rc = pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &deadline);
	if (vm->stopping)
		rc = -ESHUTDOWN;
	else if (rc)
		rc = -ETIMEDOUT;
	pthread_mutex_unlock(&vm->stop_lock);
	return rc;
}

static volatile sig_atomic_t vm_host_signal;

static void vm_signal_handler(int sig)
{
	vm_host_signal = sig;
}

enum vm_exit_status vm_run(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = vm_signal_handler };
	unsigned int i;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	pr_debug("starting %u vCPU%s", vm->nr_vcpus, vm->nr_vcpus == 1 ? "" : "s");
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_start(vm->vcpus[i]))
			vm_request_stop(vm, VM_EXIT_ERROR, "could not start vCPU %u", i);

	pthread_mutex_lock(&vm->stop_lock);
	while (!vm->stopping) {
		struct timespec ts;

		/* Polls for host signals: handlers may not touch the condvar. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &ts);
		if (vm_host_signal && !vm->stopping) {
			pthread_mutex_unlock(&vm->stop_lock);
			vm_request_stop(vm, VM_EXIT_KILLED, "destroyed by signal %d", (int)vm_host_signal);
			pthread_mutex_lock(&vm->stop_lock);
		}
	}
	pthread_mutex_unlock(&vm->stop_lock);

	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(vm->vcpus[i]);
	/* Where a guest that had to be destroyed was stuck. */
	if (vm->exit_status == VM_EXIT_KILLED && log_get_level() >= LOG_DEBUG)
		for (i = 0; i < vm->nr_vcpus; i++)
			vcpu_dump(vm->vcpus[i], "state when destroyed");
	return vm->exit_status;
}
