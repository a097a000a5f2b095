/*
 * The Xen guest ABI as xen-compat sees it: Xen's public headers (native
 * x86_64 layouts), the x86_32 layouts from xen/foreign/, and the few 32-bit
 * ("compat") hypercall argument layouts that differ from the 64-bit ones.
 * Include this instead of <xen/...> directly so every file agrees on the
 * interface version.
 */
#ifndef XENKVM_XEN_ABI_H
#define XENKVM_XEN_ABI_H

#include <errno.h>
#include <stdint.h>

#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#endif
#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/features.h>
#include <xen/grant_table.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>
#include <xen/physdev.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>
#include <xen/foreign/x86_32.h>
#include <xen/errno.h>

/*
 * Handlers return 0/positive or -errno with the host's errno values; the
 * guest must see Xen's.  On x86 Linux they are the same numbers (Xen took
 * them from there), which these checks pin down.
 */
_Static_assert(XEN_EPERM == EPERM && XEN_ENOENT == ENOENT && XEN_ESRCH == ESRCH &&
	       XEN_EFAULT == EFAULT && XEN_EBUSY == EBUSY && XEN_EEXIST == EEXIST &&
	       XEN_EINVAL == EINVAL && XEN_ENOSPC == ENOSPC && XEN_ENOSYS == ENOSYS &&
	       XEN_ENOMEM == ENOMEM && XEN_ETIME == ETIME && XEN_ENXIO == ENXIO &&
	       XEN_EOPNOTSUPP == EOPNOTSUPP && XEN_E2BIG == E2BIG && XEN_EAGAIN == EAGAIN,
	       "Xen errno values differ from the host's");

/* Bytes of one xen_ulong_t, pending word or guest pointer. */
#define XEN_WORD_BYTES(lm) ((lm) ? 8u : 4u)
/* 2-level event channels: one bit per port in word-sized words, one
 * selector bit per word: 64*64 ports for 64-bit guests, 32*32 for 32-bit. */
#define XEN_2L_NR_PORTS(lm) ((lm) ? 4096u : 1024u)
#define XEN_2L_MAX_PORTS 4096u

/*
 * 32-bit guest layouts (i386 ABI: 64-bit members aligned to 4, pointers and
 * xen_ulong_t 4 bytes).  Only structs whose layout differs and that a
 * handler implements are listed.
 */
struct compat_add_to_physmap {
	uint16_t domid;
	uint16_t size;
	uint32_t space;
	uint32_t idx;
	uint32_t gpfn;
};

struct compat_sched_poll {
	uint32_t ports;      /* guest pointer to evtchn_port_t[] */
	uint32_t nr_ports;
	uint64_t timeout;
} __attribute__((packed, aligned(4)));

struct compat_runstate_info {
	int32_t state;
	uint64_t state_entry_time;
	uint64_t time[4];
} __attribute__((packed, aligned(4)));

struct compat_gnttab_setup_table {
	uint16_t dom;
	uint16_t pad0;
	uint32_t nr_frames;
	int16_t status;
	uint16_t pad1;
	uint32_t frame_list; /* guest pointer to uint32_t[] */
};

struct compat_memory_reservation {
	uint32_t extent_start; /* guest pointer to uint32_t[] */
	uint32_t nr_extents;
	uint32_t extent_order;
	uint32_t mem_flags;
	uint16_t domid;
	uint16_t pad;
};

_Static_assert(sizeof(struct compat_memory_reservation) == 20, "compat reservation");
_Static_assert(sizeof(struct xen_memory_reservation) == 32, "native reservation");
_Static_assert(sizeof(struct compat_add_to_physmap) == 16, "compat xatp");
_Static_assert(sizeof(struct compat_sched_poll) == 16, "compat sched_poll");
_Static_assert(sizeof(struct compat_runstate_info) == 44, "compat runstate");
_Static_assert(sizeof(struct compat_gnttab_setup_table) == 16, "compat setup_table");
_Static_assert(sizeof(struct xen_add_to_physmap) == 24, "native xatp");
_Static_assert(sizeof(struct sched_poll) == 24, "native sched_poll");
_Static_assert(sizeof(struct vcpu_runstate_info) == 48, "native runstate");

#endif
