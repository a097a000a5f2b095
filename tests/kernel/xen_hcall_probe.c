// SPDX-License-Identifier: GPL-2.0
/*
 * xen_hcall_probe: does this host's KVM intercept Xen hypercalls?
 *
 * Prints KVM_CAP_XEN_HVM, then (unless --cap) enables KVM_XEN_HVM_CONFIG with
 * INTERCEPT_HCALL on a throw-away VM and runs a four-instruction real-mode guest that
 * issues a hypercall (vmmcall on AMD, vmcall on Intel) with eax=17, ebx=0xabc.  The
 * hypercall must exit to us as KVM_EXIT_XEN/KVM_EXIT_XEN_HCALL carrying those values,
 * and the result we store must be in the guest's eax when it reaches its hlt.
 *
 * Exit status: 0 the intercept works (or, with --cap, the capability was printed),
 * 1 this KVM has no Xen support, 2 anything else went wrong.
 *
 * Standalone on purpose: the kernel-module tests run it inside the nested host with
 * nothing else from the tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_MEM_SIZE 0x2000
#define GUEST_CODE     0x1000
#define XEN_MSR        0x40000000u /* where Linux guests write the hypercall-page address */
#define HCALL_NR       17          /* __HYPERVISOR_xen_version: any number will do */
#define HCALL_ARG0     0xabcu
#define HCALL_RESULT   0x5a5au

static int host_is_amd(void)
{
	unsigned int a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0));
	return b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163; /* AuthenticAMD */
}

static int guest_load(uint8_t *mem)
{
	/* 16-bit code: mov $HCALL_NR,%eax; <hypercall>; hlt */
	static const uint8_t mov_eax[] = { 0x66, 0xb8, HCALL_NR, 0, 0, 0 };
	static const uint8_t vmmcall[] = { 0x0f, 0x01, 0xd9 };
	static const uint8_t vmcall[] = { 0x0f, 0x01, 0xc1 };
	uint8_t *p = mem + GUEST_CODE;

	memcpy(p, mov_eax, sizeof(mov_eax));
	p += sizeof(mov_eax);
	memcpy(p, host_is_amd() ? vmmcall : vmcall, 3);
	p += 3;
	*p = 0xf4;
	return host_is_amd();
}

static int vcpu_setup(int vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_CODE;
	regs.rbx = HCALL_ARG0;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static int hcall_check(int vm)
{
	struct kvm_xen_hvm_config xhc = {
		.flags = KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL,
		.msr = XEN_MSR,
	};
	struct kvm_userspace_memory_region region;
	struct kvm_run *run = MAP_FAILED;
	struct kvm_regs regs;
	uint8_t *mem = MAP_FAILED;
	long run_size;
	int vcpu = -1, kvm = -1, rc = 2, amd;

	if (ioctl(vm, KVM_XEN_HVM_CONFIG, &xhc) < 0) {
		printf("KVM_XEN_HVM_CONFIG(INTERCEPT_HCALL): %s\n", strerror(errno));
		return 1;
	}
	printf("KVM_XEN_HVM_CONFIG(INTERCEPT_HCALL): ok\n");

	mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap guest memory");
		goto out;
	}
	amd = guest_load(mem);
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		perror("KVM_SET_USER_MEMORY_REGION");
		goto out;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	run_size = kvm < 0 ? -1 : ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || run_size <= 0) {
		perror("KVM_CREATE_VCPU/KVM_GET_VCPU_MMAP_SIZE");
		goto out;
	}
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || vcpu_setup(vcpu) < 0) {
		perror("vcpu setup");
		goto out;
	}

	if (ioctl(vcpu, KVM_RUN, 0) < 0) {
		perror("KVM_RUN");
		goto out;
	}
	if (run->exit_reason != KVM_EXIT_XEN || run->xen.type != KVM_EXIT_XEN_HCALL) {
		printf("%s: exit_reason %u (want KVM_EXIT_XEN %d)\n", amd ? "vmmcall" : "vmcall",
		       run->exit_reason, KVM_EXIT_XEN);
		goto out;
	}
	printf("%s: KVM_EXIT_XEN hcall input=%llu longmode=%u cpl=%u arg0=%#llx\n",
	       amd ? "vmmcall" : "vmcall", (unsigned long long)run->xen.u.hcall.input,
	       run->xen.u.hcall.longmode, run->xen.u.hcall.cpl,
	       (unsigned long long)run->xen.u.hcall.params[0]);
	if (run->xen.u.hcall.input != HCALL_NR || run->xen.u.hcall.params[0] != HCALL_ARG0 ||
	    run->xen.u.hcall.longmode != 0 || run->xen.u.hcall.cpl != 0) {
		printf("hypercall exit does not carry what the guest passed\n");
		goto out;
	}

	run->xen.u.hcall.result = HCALL_RESULT;
	if (ioctl(vcpu, KVM_RUN, 0) < 0) {
		perror("KVM_RUN (resume)");
		goto out;
	}
	if (run->exit_reason != KVM_EXIT_HLT || ioctl(vcpu, KVM_GET_REGS, &regs) < 0) {
		printf("after the hypercall: exit_reason %u (want KVM_EXIT_HLT)\n", run->exit_reason);
		goto out;
	}
	printf("resume: hlt with eax=%#llx\n", (unsigned long long)(regs.rax & 0xffffffffu));
	if ((regs.rax & 0xffffffffu) != HCALL_RESULT) {
		printf("the hypercall result did not reach the guest\n");
		goto out;
	}
	rc = 0;
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	if (vcpu >= 0)
		close(vcpu);
	if (kvm >= 0)
		close(kvm);
	if (mem != MAP_FAILED)
		munmap(mem, GUEST_MEM_SIZE);
	return rc;
}

int main(int argc, char **argv)
{
	int cap_only = argc > 1 && strcmp(argv[1], "--cap") == 0;
	int kvm = -1, vm = -1, cap, rc = 2;

	/* A KVM that never returns from KVM_RUN must not hang a test run. */
	alarm(120);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("/dev/kvm");
		goto out;
	}
	cap = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);
	printf("KVM_CAP_XEN_HVM=%d\n", cap < 0 ? 0 : cap);
	if (cap_only) {
		rc = 0;
		goto out;
	}
	if (cap <= 0) {
		rc = 1;
		goto out;
	}
	if (!(cap & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL)) {
		printf("KVM_CAP_XEN_HVM lacks KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL\n");
		rc = 1;
		goto out;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		perror("KVM_CREATE_VM");
		goto out;
	}
	rc = hcall_check(vm);
	if (rc == 0)
		printf("PASS: Xen hypercalls exit to userspace\n");
out:
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
	return rc;
}
