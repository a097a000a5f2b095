/*
 * A benchmark-only backend (xenkvmd --bench-echo): one guest event channel
 * bound to domain 0 whose every send is answered at once by a notify back.
 * bench/hypercall's tg64 (tgecho=N) times round trips on it, with and
 * without KVM's fast paths.  Not part of a normal domain.
 */
#ifndef XENKVM_BENCH_ECHO_H
#define XENKVM_BENCH_ECHO_H

#include "xenkvm/xen_abi.h"

struct xen_domain;
struct bench_echo;

/* Allocates a guest port for domain 0 and binds it; 0 or -errno.  The guest
 * finds it as the interdomain port to domain 0 that is not the XenStore's. */
int bench_echo_start(struct xen_domain *d, struct bench_echo **e_r);
evtchn_port_t bench_echo_guest_port(const struct bench_echo *e);
unsigned long bench_echo_count(const struct bench_echo *e);
void bench_echo_stop(struct bench_echo *e);

#endif
