/*
 * What this host's KVM can do for a guest: hardware speed or emulated guest
 * code, and which Xen support (kvm/kvm_probe.c).  Used by `xenkvm info`, by
 * `xenkvm create`'s warning, by xenkvmd's hypercall-path choice and by the
 * system tests' build/kvm-probe.
 */
#ifndef XENKVM_KVM_PROBE_H
#define XENKVM_KVM_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/xen_kvm.h"

struct kvm_probe {
	bool opened;           /* /dev/kvm opened, API version as expected */
	int open_errno;        /* why not, if it did not open */
	uint32_t xen_caps;     /* KVM_CAP_XEN_HVM flags; 0: no CONFIG_KVM_XEN */
	bool user_msr;         /* userspace MSR exits + MSR filter (the msr path) */
	int max_vcpus;
	/* kvm_probe_run() only: */
	bool ran;
	bool hw_speed;         /* the guest loop and a hypercall ran within budget */
	bool emulated;         /* the loop ran, but at emulation speed */
	uint64_t loop_ns, iterations;
	char verdict[256];     /* one line: the timings, or why not */
};

/* The capability checks alone: no guest runs. */
void kvm_probe_caps(struct kvm_probe *p);
/* The capability checks, then a tiny guest in a child process: a few ms on
 * a capable host, at most about 3 s on any other. */
void kvm_probe_run(struct kvm_probe *p);
/* The hypercall path xenkvmd takes with --xen-hcall=auto; XEN_PATH_AUTO if
 * there is none (no CONFIG_KVM_XEN and no userspace MSR exits). */
enum xen_hcall_path kvm_probe_auto_path(uint32_t xen_caps, bool user_msr);
/* Whether the in-kernel event-channel and timer fast paths are available. */
bool kvm_probe_fast_paths(uint32_t xen_caps);

#endif
