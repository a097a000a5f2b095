/*
 * Hypercall dispatch: number -> handler, one error path.  Register
 * conventions (Xen ABI): 64-bit rdi rsi rdx r10 r8 r9, 32-bit ebx ecx edx
 * esi edi ebp; number in eax; result in rax/eax.
 */
#include <errno.h>

#include "xenkvm/evtchn.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/hypercall.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_handlers.h"

struct hcall_desc {
	const char *name;
	long (*fn)(struct xen_domain *d, struct xen_hcall *hc);
};

/* Every hypercall Xen defines is named, so logs say what a guest tried;
 * only the ones with a handler are implemented. */
static const struct hcall_desc hcall_table[] = {
	[__HYPERVISOR_set_trap_table]         = { "set_trap_table", NULL },
	[__HYPERVISOR_mmu_update]             = { "mmu_update", NULL },
	[__HYPERVISOR_set_gdt]                = { "set_gdt", NULL },
	[__HYPERVISOR_stack_switch]           = { "stack_switch", NULL },
	[__HYPERVISOR_set_callbacks]          = { "set_callbacks", NULL },
	[__HYPERVISOR_fpu_taskswitch]         = { "fpu_taskswitch", NULL },
	[__HYPERVISOR_sched_op_compat]        = { "sched_op_compat", NULL },
	[__HYPERVISOR_platform_op]            = { "platform_op", NULL },
	[__HYPERVISOR_set_debugreg]           = { "set_debugreg", NULL },
	[__HYPERVISOR_get_debugreg]           = { "get_debugreg", NULL },
	[__HYPERVISOR_update_descriptor]      = { "update_descriptor", NULL },
	[__HYPERVISOR_memory_op]              = { "memory_op", xen_memory_op_hcall },
	[__HYPERVISOR_multicall]              = { "multicall", NULL },
	[__HYPERVISOR_update_va_mapping]      = { "update_va_mapping", NULL },
	[__HYPERVISOR_set_timer_op]           = { "set_timer_op", xen_set_timer_op_hcall },
	[__HYPERVISOR_event_channel_op_compat] = { "event_channel_op_compat", NULL },
	[__HYPERVISOR_xen_version]            = { "xen_version", xen_version_hcall },
	[__HYPERVISOR_console_io]             = { "console_io", xen_console_io_hcall },
	[__HYPERVISOR_physdev_op_compat]      = { "physdev_op_compat", NULL },
	[__HYPERVISOR_grant_table_op]         = { "grant_table_op", gnttab_hcall },
	[__HYPERVISOR_vm_assist]              = { "vm_assist", xen_vm_assist_hcall },
	[__HYPERVISOR_update_va_mapping_otherdomain] = { "update_va_mapping_otherdomain", NULL },
	[__HYPERVISOR_iret]                   = { "iret", NULL },
	[__HYPERVISOR_vcpu_op]                = { "vcpu_op", xen_vcpu_op_hcall },
	[__HYPERVISOR_set_segment_base]       = { "set_segment_base", NULL },
	[__HYPERVISOR_mmuext_op]              = { "mmuext_op", NULL },
	[__HYPERVISOR_xsm_op]                 = { "xsm_op", NULL },
	[__HYPERVISOR_nmi_op]                 = { "nmi_op", NULL },
	[__HYPERVISOR_sched_op]               = { "sched_op", xen_sched_op_hcall },
	[__HYPERVISOR_callback_op]            = { "callback_op", NULL },
	[__HYPERVISOR_xenoprof_op]            = { "xenoprof_op", NULL },
	[__HYPERVISOR_event_channel_op]       = { "event_channel_op", evtchn_hcall },
	[__HYPERVISOR_physdev_op]             = { "physdev_op", xen_physdev_op_hcall },
	[__HYPERVISOR_hvm_op]                 = { "hvm_op", xen_hvm_op_hcall },
	[__HYPERVISOR_sysctl]                 = { "sysctl", NULL },
	[__HYPERVISOR_domctl]                 = { "domctl", NULL },
	[__HYPERVISOR_kexec_op]               = { "kexec_op", NULL },
	[__HYPERVISOR_tmem_op]                = { "tmem_op", NULL },
	[__HYPERVISOR_argo_op]                = { "argo_op", NULL },
	[__HYPERVISOR_xenpmu_op]              = { "xenpmu_op", NULL },
	[__HYPERVISOR_dm_op]                  = { "dm_op", NULL },
	[__HYPERVISOR_hypfs_op]               = { "hypfs_op", NULL },
	[__HYPERVISOR_arch_0]                 = { "mca", NULL },
};

#define HCALL_TABLE_SIZE (sizeof(hcall_table) / sizeof(hcall_table[0]))

const char *xen_hcall_name(uint64_t nr)
{
	return nr < HCALL_TABLE_SIZE ? hcall_table[nr].name : NULL;
}

void xen_hcall_from_regs(struct xen_hcall *hc, const struct xen_hcall_regs *r, unsigned int vcpu,
			 bool longmode, unsigned int cpl)
{
	*hc = (struct xen_hcall){ .vcpu = vcpu, .longmode = longmode, .cpl = cpl };
	if (longmode) {
		hc->nr = r->rax;
		hc->args[0] = r->rdi;
		hc->args[1] = r->rsi;
		hc->args[2] = r->rdx;
		hc->args[3] = r->r10;
		hc->args[4] = r->r8;
		hc->args[5] = r->r9;
	} else {
		hc->nr = (uint32_t)r->rax;
		hc->args[0] = (uint32_t)r->rbx;
		hc->args[1] = (uint32_t)r->rcx;
		hc->args[2] = (uint32_t)r->rdx;
		hc->args[3] = (uint32_t)r->rsi;
		hc->args[4] = (uint32_t)r->rdi;
		hc->args[5] = (uint32_t)r->rbp;
	}
}

static unsigned int counter_index(uint64_t nr)
{
	return nr < XEN_HCALL_COUNTED ? (unsigned int)nr : XEN_HCALL_COUNTED;
}

int xen_hcall_unknown_subop(struct xen_domain *d, const struct xen_hcall *hc, uint64_t subop)
{
	const char *name = xen_hcall_name(hc->nr);

	d->hcall_enosys[counter_index(hc->nr)]++;
	pr_warn_rl("vcpu%u: %s sub-op %llu not implemented\n", hc->vcpu, name ? name : "?",
		   (unsigned long long)subop);
	return -ENOSYS;
}

uint64_t xen_hypercall(struct xen_domain *d, struct xen_hcall *hc)
{
	const struct hcall_desc *h = NULL;
	long rc;

	hc->action = XEN_HCALL_DONE;
	hc->deadline_ns = 0;
	hc->be_fn = NULL;
	if (!hc->longmode) {
		hc->nr = (uint32_t)hc->nr;
		for (unsigned int i = 0; i < 6; i++)
			hc->args[i] = (uint32_t)hc->args[i];
	}
	if (hc->nr < HCALL_TABLE_SIZE)
		h = &hcall_table[hc->nr];

	pthread_mutex_lock(&d->lock);
	d->hcall_count[counter_index(hc->nr)]++;
	if (hc->vcpu >= d->p.nr_vcpus) {
		rc = -EINVAL;
	} else if (hc->cpl) {
		/* Xen refuses every hypercall from guest user mode, and a
		 * user process's mode says nothing about the kernel's layout. */
		rc = -EPERM;
	} else {
		/* Xen latches the word size at the hypercall-page write and at
		 * HVM_PARAM_CALLBACK_IRQ; a current Linux does neither the first
		 * nor, with per-vCPU upcall vectors, the second, so the kernel's
		 * own hypercalls latch it here, under the lock. */
		xen_domain_set_long_mode(d, hc->longmode);
		if (h && h->fn) {
			rc = h->fn(d, hc);
		} else {
			d->hcall_enosys[counter_index(hc->nr)]++;
			pr_warn_rl("vcpu%u: hypercall %llu (%s) not implemented\n", hc->vcpu,
				   (unsigned long long)hc->nr, h && h->name ? h->name : "unknown");
			rc = -ENOSYS;
		}
	}
	pthread_mutex_unlock(&d->lock);

	/* A guest's EVTCHNOP_send to a backend: the backend's handler runs
	 * without our lock so it may call evtchn_backend_notify() at once. */
	if (hc->be_fn)
		hc->be_fn(hc->be_opaque, hc->be_port);

	pr_trace(TRACE_HCALL, "vcpu%u: %s(%#llx, %#llx, %#llx) = %ld\n", hc->vcpu,
		 h && h->name ? h->name : "?", (unsigned long long)hc->args[0],
		 (unsigned long long)hc->args[1], (unsigned long long)hc->args[2], rc);
	if (!hc->longmode)
		return (uint32_t)(int32_t)rc;
	return (uint64_t)(int64_t)rc;
}
