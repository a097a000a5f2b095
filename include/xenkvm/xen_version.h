/* xen_version: what the guest is told about "its" hypervisor. */
#ifndef XENKVM_XEN_VERSION_H
#define XENKVM_XEN_VERSION_H

#include <stdint.h>

struct xen_domain;

/* Feature submap 0 for an HVM guest without PIRQs (XENVER_get_features). */
uint32_t xen_version_features(const struct xen_domain *d);

#endif
