/*
 * The hypercall handlers hypercall.c dispatches to, one per Xen hypercall
 * number, each in the file named after it.  Called with the domain lock
 * held; return 0/positive or -errno.
 */
#ifndef XENKVM_XEN_HANDLERS_H
#define XENKVM_XEN_HANDLERS_H

struct xen_domain;
struct xen_hcall;

long xen_version_hcall(struct xen_domain *d, struct xen_hcall *hc);    /* version.c */
long xen_memory_op_hcall(struct xen_domain *d, struct xen_hcall *hc);  /* memory.c */
long xen_hvm_op_hcall(struct xen_domain *d, struct xen_hcall *hc);     /* hvm.c */
long xen_vcpu_op_hcall(struct xen_domain *d, struct xen_hcall *hc);    /* vcpu.c */
long xen_set_timer_op_hcall(struct xen_domain *d, struct xen_hcall *hc);
long xen_vm_assist_hcall(struct xen_domain *d, struct xen_hcall *hc);
long xen_sched_op_hcall(struct xen_domain *d, struct xen_hcall *hc);   /* sched.c */
long xen_physdev_op_hcall(struct xen_domain *d, struct xen_hcall *hc); /* physdev.c */
long xen_console_io_hcall(struct xen_domain *d, struct xen_hcall *hc); /* console_io.c */
/* evtchn_hcall() is in evtchn.h, gnttab_hcall() in gnttab.h */

#endif
