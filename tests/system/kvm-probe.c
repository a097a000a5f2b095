/*
 * kvm-probe: can this machine's /dev/kvm run a 64-bit guest at hardware speed?
 * (the probe itself is kvm/kvm_probe.c, which `xenkvm info` reports too)
 *
 * usage: kvm-probe [-x]
 *   -x  also require KVM_CAP_XEN_HVM with KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL
 * Prints one line; exit 0 = capable, 1 = not capable, 2 = usage.
 */
#include <linux/kvm.h>
#include <stdio.h>
#include <unistd.h>

#include "xenkvm/kvm_probe.h"

int main(int argc, char **argv)
{
	struct kvm_probe p;
	char caps[96];
	int need_xen = 0, opt;

	while ((opt = getopt(argc, argv, "xh")) != -1) {
		switch (opt) {
		case 'x':
			need_xen = 1;
			break;
		default:
			fprintf(stderr, "usage: kvm-probe [-x]\n"
				"  says whether /dev/kvm runs 64-bit guests at hardware speed;\n"
				"  -x: also require KVM_CAP_XEN_HVM with INTERCEPT_HCALL\n"
				"  exit 0 = capable, 1 = not capable\n");
			return 2;
		}
	}
	kvm_probe_run(&p);
	if (!p.opened) {
		printf("kvm-probe: not capable: %s\n", p.verdict);
		return 1;
	}
	snprintf(caps, sizeof(caps), "KVM_CAP_XEN_HVM=%#x KVM_CAP_MAX_VCPUS=%d", p.xen_caps,
		 p.max_vcpus);
	if (!p.hw_speed) {
		printf("kvm-probe: not capable: %s; %s\n", p.verdict, caps);
		return 1;
	}
	if (need_xen && !(p.xen_caps & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL)) {
		printf("kvm-probe: not capable: %s, but no KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL; %s\n",
		       p.verdict, caps);
		return 1;
	}
	printf("kvm-probe: capable: %s; %s\n", p.verdict, caps);
	return 0;
}
