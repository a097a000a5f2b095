/*
 * One KVM virtual machine: the /dev/kvm and VM file descriptors, guest RAM,
 * the in-kernel irqchip and PIT, the I/O buses, and the vCPUs.
 *
 * Threads: the main thread builds the VM and then waits in vm_run() until a
 * vCPU or a device asks the domain to stop; each vCPU has its own thread
 * (kvm/vcpu.c); devices are called on the vCPU thread that exited and lock
 * their own state.
 */
#ifndef XENKVM_VM_H
#define XENKVM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/guest_mem.h"
#include "xenkvm/io_bus.h"

/* Guest physical layout (see docs/ARCHITECTURE.md). */
#define VM_LOWMEM_LIMIT     0xC0000000ull   /* RAM below 4 GiB ends here at most */
#define VM_PCI_MMIO32_BASE  0xC0000000ull   /* 32-bit PCI window up to the IOAPIC */
#define VM_PCI_MMIO32_END   0xFEC00000ull
#define VM_IOAPIC_BASE      0xFEC00000ull
#define VM_LAPIC_BASE       0xFEE00000ull
#define VM_TSS_ADDR         0xFFFBD000ull   /* 3 pages KVM needs on Intel, inside no RAM */
#define VM_IDENTITY_MAP     0xFFFBC000ull
#define VM_HIGHMEM_BASE     0x100000000ull
#define VM_MAX_VCPUS        255             /* xAPIC ids; KVM's limit may be lower */
#define VM_MIN_MEMORY_MIB   32
#define VM_MAX_SLOTS        128             /* memory slots we track (RAM pieces + overlays) */

/* How a domain ended: also xenkvmd's exit status (documented in README). */
enum vm_exit_status {
	VM_EXIT_POWEROFF = 0,
	VM_EXIT_ERROR    = 1,   /* host-side failure: KVM, files, resources */
	VM_EXIT_USAGE    = 2,   /* bad command line or configuration */
	VM_EXIT_REBOOT   = 3,
	VM_EXIT_CRASH    = 4,   /* triple fault, guest-reported crash, emulation failure */
	VM_EXIT_KILLED   = 5,   /* destroyed from the host (signal, CLI) */
	VM_EXIT_NO_BOOT  = 6,   /* the firmware found nothing to boot */
};

struct vcpu;
struct serial;
struct pci_bus;

/* One KVM memory slot: a piece of RAM, or a host page laid over a guest frame. */
struct vm_slot {
	uint64_t gpa;
	uint64_t size;       /* 0 = free */
	uint8_t *hva;
	bool overlay;
	bool readonly;       /* ROM: guest writes are dropped */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	int kvm_run_size;
	unsigned int nr_vcpus;
	struct vcpu **vcpus;

	uint64_t ram_size;          /* bytes of guest RAM */
	uint64_t lowmem_size;       /* RAM below 4 GiB */
	uint8_t *ram;               /* one host mapping for all of it */
	struct guest_mem mem;
	pthread_mutex_t slot_lock;
	struct vm_slot slots[VM_MAX_SLOTS];

	struct io_bus pio;
	struct io_bus mmio;
	struct pci_bus *pci;
	struct serial *serial;

	/* Exits kvm/ does not know (Xen hypercalls, MSR exits) go here first;
	 * returns true when handled.  Set before vm_run(). */
	bool (*exit_hook)(void *opaque, struct vcpu *vcpu);
	void *exit_hook_opaque;
	/* Runs on each vCPU's thread before it enters the guest. */
	void (*pre_run_hook)(void *opaque, struct vcpu *vcpu);
	void *pre_run_hook_opaque;

	/* Stop protocol: the first stop request wins; vm_run() returns it. */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
	bool paused;                /* vCPUs wait outside KVM_RUN (stop_lock, stop_cond) */
	unsigned int nr_parked;     /* vCPU threads waiting because paused (stop_lock) */
	bool has_pit;               /* the in-kernel PIT was created */
	enum vm_exit_status exit_status;
	char stop_reason[160];
};

struct vm_config {
	uint64_t memory_mib;
	unsigned int nr_vcpus;
	bool no_pit;                /* PVH: no in-kernel PIT */
};

/* Opens /dev/kvm, checks what we need, creates the VM with RAM, irqchip and
 * PIT.  0 or -errno with a message printed. */
int vm_create(struct vm *vm, const struct vm_config *cfg);
void vm_destroy(struct vm *vm);
/* Highest vCPU count this KVM allows (KVM_CAP_MAX_VCPUS). */
int vm_max_vcpus(int kvm_fd);

/*
 * Lays host page `hva` (4 KiB, page-aligned) over guest frame `gfn`, or,
 * with hva NULL, removes the overlay at gfn (RAM shows through again).
 * RAM slots are split around overlays.  KVM cannot split a slot atomically:
 * a vCPU touching the range between the delete and the re-add exits with
 * KVM_EXIT_MMIO, and vm_ram_access() completes that access on the memory
 * behind it, so no vCPU needs pausing.  0 or -errno.
 */
int vm_map_page(struct vm *vm, uint64_t gfn, void *hva);
/* Maps `size` bytes at `hva` read-only at `gpa` (firmware ROM): the guest's
 * writes there are dropped; guest_mem (DMA) does not see it.  The memory
 * must outlive the VM.  0 or -errno. */
int vm_map_rom(struct vm *vm, uint64_t gpa, const void *hva, uint64_t size);
/* Frees the host memory behind guest RAM [gpa, gpa+len) (page-aligned, in
 * one RAM region): the balloon gave it back.  KVM drops its mappings
 * through the MMU notifier and a later guest access gets a zeroed page.
 * 0 or -errno. */
int vm_ram_discard(struct vm *vm, uint64_t gpa, uint64_t len);
/* Performs an access to RAM or an overlay that exited as MMIO; false if
 * nothing backs `gpa`. */
bool vm_ram_access(struct vm *vm, uint64_t gpa, void *data, unsigned int len, bool is_write);

/* Raise/lower an interrupt line (GSI) of the in-kernel irqchip. */
int vm_set_irq(struct vm *vm, unsigned int gsi, int level);
/* An MSI to `vcpu`'s local APIC (physical destination: its APIC id, which
 * is its index); `data` is the vector and delivery mode.  A VM ioctl, so
 * no vCPU has to stop for it.  0 or -errno. */
int vm_msi_to_vcpu(struct vm *vm, unsigned int vcpu, uint32_t data);
/* Delivers an NMI to `vcpu` (xl trigger nmi).  0 or -errno. */
int vm_inject_nmi(struct vm *vm, unsigned int vcpu);
/* Pulse an edge-triggered ISA line. */
void vm_pulse_irq(struct vm *vm, unsigned int gsi);

/* Ask the domain to stop; safe from any thread, idempotent (first wins). */
void vm_request_stop(struct vm *vm, enum vm_exit_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Pauses or resumes every vCPU (xenkvm pause/unpause, create -p); any thread. */
void vm_set_paused(struct vm *vm, bool paused);

/* Pauses every vCPU and waits until each running vCPU thread has left
 * KVM_RUN with its last exit completed, so KVM_GET_* sees a consistent
 * vCPU (the save path).  0, or -ETIMEDOUT / -ESHUTDOWN (stopping). */
int vm_pause_sync(struct vm *vm);

/* Starts the vCPU threads and blocks until a stop request; returns its status. */
enum vm_exit_status vm_run(struct vm *vm);

#endif
