/*
 * hcall-bare: the floor for a Xen hypercall that exits to userspace.  A VM
 * with only KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL and a 64-bit guest of a few
 * instructions that makes N xen_version hypercalls (vmmcall on AMD, vmcall
 * on Intel) between two rdtsc; each KVM_EXIT_XEN is answered 0 at once.
 * bench/hypercall/run.sh compares it with the same loop through xenkvmd's
 * real dispatch (tg64 with tgbench=N).
 *
 * usage: hcall-bare [N]     prints "bare: N calls, C cycles/call, K kHz, X ns/call"
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE   0x200000ul   /* 2 MiB, identity-mapped by one large page */
#define PML4_GPA   0x1000ul
#define PDPT_GPA   0x2000ul
#define PD_GPA     0x3000ul
#define CODE_GPA   0x10000ul
#define XEN_MSR    0x40000000u
#define XEN_VERSION_HCALL 17

static int die(const char *what)
{
	fprintf(stderr, "hcall-bare: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The guest; the hypercall instruction's last byte is patched per vendor. */
static const uint8_t guest_code[] = {
	0x0f, 0x31,                         /* rdtsc */
	0x48, 0xc1, 0xe2, 0x20,             /* shl $32, %rdx */
	0x48, 0x09, 0xc2,                   /* or %rax, %rdx */
	0x49, 0x89, 0xd6,                   /* mov %rdx, %r14 */
	/* loop: */
	0xb8, XEN_VERSION_HCALL, 0, 0, 0,   /* mov $17, %eax */
	0x31, 0xff,                         /* xor %edi, %edi (XENVER_version) */
	0x31, 0xf6,                         /* xor %esi, %esi */
	0x0f, 0x01, 0xd9,                   /* vmmcall (0xc1: vmcall) */
	0x48, 0xff, 0xc9,                   /* dec %rcx */
	0x75, 0xef,                         /* jnz loop (-17) */
	0x0f, 0x31,                         /* rdtsc */
	0x48, 0xc1, 0xe2, 0x20,             /* shl $32, %rdx */
	0x48, 0x09, 0xc2,                   /* or %rax, %rdx */
	0x4c, 0x29, 0xf2,                   /* sub %r14, %rdx */
	0x48, 0x89, 0xd3,                   /* mov %rdx, %rbx */
	/* Not hlt: with the in-kernel irqchip KVM would halt the vCPU itself. */
	0xe7, 0xf4,                         /* out %eax, $0xf4 */
};
#define HCALL_LAST_BYTE 23              /* offset of 0xd9 above */

static bool vendor_is_intel(void)
{
	unsigned int a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	return b == 0x756e6547; /* "Genu" */
}

static void set_cpuid(int kvm, int vcpu)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(struct kvm_cpuid_entry2));

	if (!c)
		die("calloc");
	c->nent = 256;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) < 0)
		die("KVM_GET_SUPPORTED_CPUID");
	if (ioctl(vcpu, KVM_SET_CPUID2, c) < 0)   /* long mode needs CPUID.LM */
		die("KVM_SET_CPUID2");
	free(c);
}

static void long_mode(int vcpu)
{
	struct kvm_sregs s;
	struct kvm_segment cs = { .base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
				  .present = 1, .dpl = 0, .s = 1, .l = 1, .g = 1 };
	struct kvm_segment ds = { .base = 0, .limit = 0xffffffff, .selector = 16, .type = 3,
				  .present = 1, .dpl = 0, .s = 1, .db = 1, .g = 1 };

	if (ioctl(vcpu, KVM_GET_SREGS, &s) < 0)
		die("KVM_GET_SREGS");
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.cr3 = PML4_GPA;
	s.cr4 = 1u << 5;                                 /* PAE */
	s.cr0 = 1u | 1u << 4 | 1u << 5 | 1u << 31;       /* PE ET NE PG */
	s.efer = 1u << 8 | 1u << 10;                     /* LME LMA */
	if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0)
		die("KVM_SET_SREGS");
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000;
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = MEM_SIZE };
	struct kvm_xen_hvm_config xc = { .flags = KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL, .msr = XEN_MSR };
	struct kvm_regs regs = { 0 };
	unsigned long exits = 0;
	struct kvm_run *run;
	uint64_t *pt;
	uint8_t *mem;
	int kvm, vm, vcpu, caps, khz;

	if (n == 0)
		n = 1;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	caps = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);
	if (caps < 0 || !(caps & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL)) {
		fprintf(stderr, "hcall-bare: KVM has no KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL (caps %#x)\n", caps);
		return 77;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	/* The in-kernel irqchip xenkvmd has too: the same KVM_RUN entry path. */
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		die("KVM_CREATE_IRQCHIP");
	if (ioctl(vm, KVM_XEN_HVM_CONFIG, &xc) < 0)
		die("KVM_XEN_HVM_CONFIG");
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	r.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	/* One 2 MiB page at 0, identity. */
	pt = (uint64_t *)(mem + PML4_GPA);
	pt[0] = PDPT_GPA | 3;
	pt = (uint64_t *)(mem + PDPT_GPA);
	pt[0] = PD_GPA | 3;
	pt = (uint64_t *)(mem + PD_GPA);
	pt[0] = 0x83;                                    /* present, rw, 2 MiB */
	memcpy(mem + CODE_GPA, guest_code, sizeof(guest_code));
	if (vendor_is_intel())
		mem[CODE_GPA + HCALL_LAST_BYTE] = 0xc1;

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		   MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");
	set_cpuid(kvm, vcpu);
	long_mode(vcpu);
	regs.rip = CODE_GPA;
	regs.rflags = 2;
	regs.rcx = n;
	regs.rsp = MEM_SIZE - 16;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_XEN && run->xen.type == KVM_EXIT_XEN_HCALL) {
			run->xen.u.hcall.result = 0;    /* answered at once */
			exits++;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0xf4)
			break;
		fprintf(stderr, "hcall-bare: unexpected exit %u after %lu hypercalls\n", run->exit_reason,
			exits);
		return 1;
	}
	if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
		die("KVM_GET_REGS");
	khz = ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
	if (exits != n || khz <= 0) {
		fprintf(stderr, "hcall-bare: %lu exits for %lu calls, TSC %d kHz\n", exits, n, khz);
		return 1;
	}
	printf("bare: %lu calls, %llu cycles/call, %d kHz, %.0f ns/call\n", n,
	       (unsigned long long)(regs.rbx / n), khz, (double)regs.rbx * 1e6 / khz / (double)n);
	return 0;
}
