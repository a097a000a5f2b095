/*
 * xen_version.  What an unprivileged HVM domain may ask is fixed by Xen's
 * default XSM policy: version, platform_parameters and get_features always;
 * extraversion, compile_info, capabilities, changeset, pagesize and
 * guest_handle by default; everything else (commandline, build_id, ...) is
 * -EPERM.
 */
#include <errno.h>
#include <string.h>

#include "xenkvm/hypercall.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_guest_access.h"
#include "xenkvm/xen_handlers.h"
#include "xenkvm/xen_version.h"

uint32_t xen_version_features(const struct xen_domain *d)
{
	(void)d;
	/* What Xen gives a translated (HVM) guest without PIRQ support:
	 * hvm_callback_vector lets Linux use vector delivery, hvm_safe_pvclock
	 * lets it use the Xen clocksource.  No hvm_pirqs: MSIs stay emulated. */
	return 1u << XENFEAT_writable_page_tables | 1u << XENFEAT_auto_translated_physmap |
	       1u << XENFEAT_hvm_callback_vector | 1u << XENFEAT_hvm_safe_pvclock;
}

static long copy_string(struct xen_domain *d, struct xen_hcall *hc, uint64_t arg, const char *s,
			size_t size)
{
	char buf[1024] = { 0 };

	strncpy(buf, s, size - 1);
	return xen_copy_to_guest(d, hc, arg, buf, size) ? -EFAULT : 0;
}

long xen_version_hcall(struct xen_domain *d, struct xen_hcall *hc)
{
	uint64_t cmd = hc->args[0], arg = hc->args[1];

	switch (cmd) {
	case XENVER_version:
		return (long)(d->p.xen_version & 0xffffffff);
	case XENVER_extraversion:
		return copy_string(d, hc, arg, d->p.extraversion, sizeof(xen_extraversion_t));
	case XENVER_compile_info: {
		struct xen_compile_info ci = { 0 };

		strcpy(ci.compiler, "xenkvm");
		strcpy(ci.compile_by, "xenkvm");
		strcpy(ci.compile_domain, "xenkvm");
		strcpy(ci.compile_date, XENKVM_BUILD_DATE);
		return xen_copy_to_guest(d, hc, arg, &ci, sizeof(ci)) ? -EFAULT : 0;
	}
	case XENVER_capabilities:
		/* HVM only: we run no PV guests. */
		return copy_string(d, hc, arg, "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64",
				   sizeof(xen_capabilities_info_t));
	case XENVER_changeset:
		return copy_string(d, hc, arg, "xenkvm", sizeof(xen_changeset_info_t));
	case XENVER_platform_parameters: {
		/* virt_start is where a PV guest's hole begins; HVM has none. */
		uint64_t virt_start = 0;

		return xen_copy_to_guest(d, hc, arg, &virt_start, XEN_WORD_BYTES(hc->longmode))
			       ? -EFAULT : 0;
	}
	case XENVER_get_features: {
		struct xen_feature_info fi;

		if (xen_copy_from_guest(d, hc, &fi, arg, sizeof(fi)))
			return -EFAULT;
		if (fi.submap_idx != 0)
			return -EINVAL;
		fi.submap = xen_version_features(d);
		return xen_copy_to_guest(d, hc, arg, &fi, sizeof(fi)) ? -EFAULT : 0;
	}
	case XENVER_pagesize:
		return GUEST_PAGE_SIZE;
	case XENVER_guest_handle:
		return xen_copy_to_guest(d, hc, arg, d->p.handle, sizeof(xen_domain_handle_t))
			       ? -EFAULT : 0;
	case XENVER_commandline:
	case XENVER_build_id:
		return -EPERM;
	default:
		return xen_hcall_unknown_subop(d, hc, cmd);
	}
}
