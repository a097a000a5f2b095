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

static int vm_add_slot(struct vm *vm, uint64_t gpa, uint64_t size, uint8_t *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = vm->nr_slots,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};
	int rc;

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		rc = -errno;
		pr_err("KVM_SET_USER_MEMORY_REGION %#llx+%#llx: %s", (unsigned long long)gpa,
		       (unsigned long long)size, strerror(errno));
		return rc;
	}
	vm->nr_slots++;
	return guest_mem_add(&vm->mem, gpa, size, hva);
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

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int max, rc;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
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
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		rc = -errno;
		pr_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return rc;
	}
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
	return vm->exit_status;
}
