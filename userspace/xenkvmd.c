/*
 * xenkvmd: runs one domain in the foreground from an xl.cfg file.
 * The serial console is this process's stdin/stdout; the exit status says
 * how the domain ended (see usage()).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "xenkvm/xen_abi.h"   /* before any <xen/...> header (blkback.h) */
#include "xenkvm/bench_echo.h"
#include "xenkvm/blkback.h"
#include "xenkvm/config_state.h"
#include "xenkvm/console_server.h"
#include "xenkvm/pv_console.h"
#include "xenkvm/control.h"
#include "xenkvm/domain_config.h"
#include "xenkvm/domain_save.h"
#include "xenkvm/migrate_link.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/netback.h"
#include "xenkvm/netdev.h"
#include "xenkvm/rundir.h"
#include "xenkvm/sandbox.h"
#include "xenkvm/vcpu.h"
#include "xenkvm/journal.h"
#include "xenkvm/log.h"
#include "xenkvm/machine.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xs_service.h"

#define XENKVM_VERSION "0.1"

static struct termios saved_tty;
static int tty_saved;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xenkvmd [options] CONFIG [key=value ...]\n"
		"       xenkvmd [options] --restore SAVED [key=value ...]\n"
		"Runs the domain described by the xl.cfg file CONFIG in the foreground;\n"
		"key=value pairs override the file (xl.cfg syntax). The guest's serial\n"
		"console (ttyS0) is on stdin/stdout; on a terminal, Ctrl-] quits.\n"
		"With --restore, SAVED is a file `xenkvm save` wrote: the domain is built\n"
		"from the config saved in it and continues where it stopped.\n"
		"\n"
		"options:\n"
		"  -v, --verbose        debug messages\n"
		"  -q, --quiet          errors only\n"
		"      --trace=LIST     trace categories: +hcall,+evtchn,+xs,+io,+blk,+net,+exit,+all\n"
		"      --domid=N        domain id (default 1)\n"
		"      --xen-hcall=PATH how Xen hypercalls reach xenkvmd: auto (default),\n"
		"                       intercept, blob (both need CONFIG_KVM_XEN) or msr\n"
		"      --no-kernel-xen  keep pvclock/runstate/event delivery in userspace\n"
		"      --no-kernel-fastpaths  keep event channels and Xen timers in userspace\n"
		"                       (KVM's EVTCHN_SEND fast paths off; for comparisons)\n"
		"      --guest-decompress  boot the bzImage through its own decompressor\n"
		"                       (default: xenkvmd unpacks it, applying KASLR itself)\n"
		"      --bench-echo     benchmarks only: an event channel to domain 0 that\n"
		"                       answers every send (bench/hypercall, tgecho=N)\n"
		"      --xenstore-socket=PATH  serve the domain's XenStore on a unix socket\n"
		"                       (XENSTORED_PATH=PATH xenstore-ls)\n"
		"      --control=PATH   serve the control protocol (xenkvm list, shutdown, ...)\n"
		"      --console=PATH   the serial console on a unix socket instead of stdio\n"
		"      --pv-console=PATH  the Xen PV console (hvc0) on a unix socket; without\n"
		"                       it, hvc0's output goes to stdout\n"
		"      --paused         build the domain, start its vCPUs on unpause\n"
		"      --restore        CONFIG is a saved domain (xenkvm save), not an xl.cfg\n"
		"      --log=PATH       append messages to PATH\n"
		"      --user=NAME      run as NAME (needs root): only NAME's group that owns\n"
		"                       /dev/kvm is kept, every capability dropped; the config's\n"
		"                       kernel, initrd and images must be readable by NAME\n"
		"      --no-seccomp     no syscall filters (debugging; default: one per thread kind)\n"
		"      --seccomp-log    debugging: syscalls outside the filters are only logged by\n"
		"                       the kernel (audit type=1326), not fatal\n"
		"      --seccomp-probe=KIND  tests only: a thread of KIND (main, io, vcpu,\n"
		"                       serial-in) issues a syscall its filter forbids (SIGSYS)\n"
		"  -h, --help           this text\n"
		"      --version        print the version\n"
		"\n"
		"exit status: 0 guest powered off; 1 host-side error; 2 bad usage or\n"
		"configuration; 3 guest rebooted; 4 guest crashed (triple fault, KVM\n"
		"emulation failure, crash report); 5 destroyed (signal, Ctrl-], xenkvm destroy);\n"
		"6 the guest did not boot (the firmware found no bootable device).\n"
		"With --control (as `xenkvm create` runs it), on_poweroff/on_reboot/on_crash\n"
		"= \"restart\" rebuild the domain in this process and on_crash = \"preserve\"\n"
		"keeps it (crashed) until destroyed; without, the status reports the event.\n"
		"A syscall outside a thread's seccomp filter kills xenkvmd with SIGSYS (the\n"
		"kernel log has it: audit type=1326).\n");
}

static void tty_restore(void)
{
	if (tty_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
}

/* Raw mode so every key reaches the guest; Ctrl-C included. */
static void tty_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) < 0)
		return;
	tty_saved = 1;
	atexit(tty_restore);
	t = saved_tty;
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR;   /* keep our own messages readable */
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}


static void config_warning(const char *msg)
{
	pr_warn("%s", msg);
}

/* A guest NIC: netback (Xen side) and netdev (host side) hand frames to
 * each other through these callbacks, all on the I/O thread. */
struct vif_link {
	struct netback *nb;
	struct netdev *nd;
	uint8_t mac[6];
	unsigned int devid;
	const struct vif_spec *spec;  /* the config's entry, or `own` */
	struct vif_spec own;          /* hot-plugged (network-attach) */
	bool has_own;
};

static int vif_to_host(void *opaque, const struct iovec *iov, int iovcnt,
		       const struct net_pkt_meta *meta)
{
	struct vif_link *v = opaque;

	return v->nd ? netdev_send(v->nd, iov, iovcnt, meta) : -ENODEV;
}

static void vif_guest_ready(void *opaque)
{
	struct vif_link *v = opaque;

	if (v->nd)
		netdev_rx_kick(v->nd);
}

static int vif_to_guest(void *opaque, const struct iovec *iov, int iovcnt,
			const struct net_pkt_meta *meta)
{
	struct vif_link *v = opaque;

	return netback_rx(v->nb, iov, iovcnt, meta);
}

/* The daemon: one domain, rebuilt in place on restart. */
struct daemon {
	struct domain_config cfg;
	int domid;
	enum xen_hcall_path hcall_path;
	bool no_kernel_xen;
	bool no_fastpaths;
	bool bench_echo;
	bool guest_decompress;     /* --guest-decompress */
	struct bench_echo *echo;
	bool start_paused;
	const char *xs_socket;
	const char *control_path;
	struct event_loop *loop;
	struct console_server *console;
	struct console_server *pv_console_srv;  /* --pv-console; else output on stdout */
	struct control_server *control;

	/* the current incarnation; swapped only while the loop is stopped */
	struct machine *m;
	struct xs_service *xs;
	struct blkback **disks;    /* one per cfg.disks entry */
	struct pv_console *pv_console;
	struct vif_link **vifs;    /* the config's vifs, then hot-plugged ones */
	size_t nr_vifs;
	enum control_state state;
	unsigned int restarts;
	time_t start_time;

	/* save and restore: the config section (xenkvm/config_state.h), and
	 * with --restore the stream, read up to after that section, until
	 * the first incarnation has loaded it */
	struct config_state cs;
	struct state_reader *restore;
	int restore_fd;
};

static uint64_t thread_cpu_ns(pthread_t t)
{
	struct timespec ts;
	clockid_t cid;

	if (pthread_getcpuclockid(t, &cid) || clock_gettime(cid, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * With maxmem above memory the guest is built with maxmem of RAM and told
 * (memory/target) to hold memory: its balloon driver gives the rest back at
 * boot, which is what a Xen HVM guest on populate-on-demand sees, and
 * mem-set can then go up to maxmem.  A guest without the Xen platform
 * device has no balloon to ask, so it gets memory.
 */
static uint64_t daemon_ram_mib(const struct daemon *dm)
{
	const struct domain_config *cfg = &dm->cfg;

	return cfg->xen_platform && cfg->maxmem_mib > cfg->memory_mib ? cfg->maxmem_mib
								       : cfg->memory_mib;
}

static int ctl_info(void *opaque, struct control_domain_info *info)
{
	struct daemon *dm = opaque;
	const uint8_t *u = dm->cfg.uuid;

	info->domid = dm->domid;
	snprintf(info->type, sizeof(info->type), "%s", dm->cfg.type == DOMAIN_TYPE_PVH ? "pvh" : "hvm");
	snprintf(info->name, sizeof(info->name), "%s", dm->cfg.name ? dm->cfg.name : "");
	snprintf(info->uuid, sizeof(info->uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	info->state = dm->state;
	info->memory_mib = dm->cfg.memory_mib;
	if (dm->m && dm->m->xen)
		info->memory_mib = xen_domain_tot_pages(xen_kvm_domain(dm->m->xen)) >> (20 - GUEST_PAGE_SHIFT);
	info->maxmem_mib = dm->cfg.maxmem_mib ? dm->cfg.maxmem_mib : dm->cfg.memory_mib;
	info->vcpus = dm->cfg.vcpus;
	info->maxvcpus = dm->cfg.maxvcpus ? dm->cfg.maxvcpus : dm->cfg.vcpus;
	info->cpu_time_ns = 0;
	if (dm->m)
		for (unsigned int i = 0; i < dm->m->vm.nr_vcpus; i++)
			if (dm->m->vm.vcpus[i]->thread_started)
				info->cpu_time_ns += thread_cpu_ns(dm->m->vm.vcpus[i]->thread);
	info->start_time = dm->start_time;
	info->pid = (int)getpid();
	info->restarts = dm->restarts;
	snprintf(info->config, sizeof(info->config), "%s", dm->cfg.path ? dm->cfg.path : "");
	return 0;
}

static int ctl_vcpu_list(void *opaque, struct control_vcpu_info *v, unsigned int max, unsigned int *nr_r)
{
	struct daemon *dm = opaque;
	unsigned int n = 0;

	if (!dm->m)
		return -ESRCH;
	for (unsigned int i = 0; i < dm->m->vm.nr_vcpus && n < max; i++, n++) {
		struct vcpu *vc = dm->m->vm.vcpus[i];

		v[n] = (struct control_vcpu_info){
			.id = i, .online = true, .running = !dm->m->vm.paused, .paused = dm->m->vm.paused,
			.host_cpu = -1,
			.cpu_time_ns = vc->thread_started ? thread_cpu_ns(vc->thread) : 0,
		};
		snprintf(v[n].affinity, sizeof(v[n].affinity), "all");
	}
	*nr_r = n;
	return 0;
}

static int ctl_pause(void *opaque)
{
	struct daemon *dm = opaque;

	if (!dm->m)
		return -ESRCH;
	vm_set_paused(&dm->m->vm, true);
	dm->state = CONTROL_STATE_PAUSED;
	return 0;
}

static int ctl_unpause(void *opaque)
{
	struct daemon *dm = opaque;

	if (!dm->m)
		return -ESRCH;
	vm_set_paused(&dm->m->vm, false);
	dm->state = CONTROL_STATE_RUNNING;
	return 0;
}

/* Requests to a PV guest go through its XenStore: 0, or why not. */
static int need_xenstore(struct daemon *dm)
{
	if (!dm->m)
		return -ESRCH;
	if (!dm->xs) {
		control_server_set_message(dm->control, "the guest has no Xen PV drivers to ask "
					   "(xen_platform_pci=0)");
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * As xl: through control/shutdown when the guest's drivers said they
 * listen (control/feature-poweroff, -reboot).  A poweroff nobody listens
 * for becomes an ACPI power button press, which an OS without Xen drivers
 * still acts on; a reboot is refused, since the only other way is a reset.
 */
static int ctl_shutdown(void *opaque, enum control_shutdown_reason reason)
{
	struct daemon *dm = opaque;
	bool reboot = reason == CONTROL_SHUTDOWN_REBOOT;

	if (!dm->m)
		return -ESRCH;
	if (dm->xs && xs_service_guest_feature(dm->xs, reboot ? "control/feature-reboot"
								: "control/feature-poweroff"))
		return xs_service_request_shutdown(dm->xs, reboot ? "reboot" : "poweroff");
	if (reboot) {
		control_server_set_message(dm->control, "the guest's PV drivers do not listen for "
					   "a reboot (no control/feature-reboot); use trigger reset");
		return -EOPNOTSUPP;
	}
	pr_info("shutdown: no PV drivers listening (control/feature-poweroff); pressing the ACPI "
		"power button");
	machine_power_button(dm->m);
	return 0;
}

static int ctl_destroy(void *opaque)
{
	struct daemon *dm = opaque;

	dm->state = CONTROL_STATE_DYING;
	if (dm->m)
		vm_request_stop(&dm->m->vm, VM_EXIT_KILLED, "destroyed (xenkvm destroy)");
	return 0;
}

static int ctl_network_list(void *opaque, struct control_nic_info *nics, unsigned int max,
			    unsigned int *nr_r)
{
	struct daemon *dm = opaque;
	unsigned int n = 0;

	if (!dm->m)
		return -ESRCH;
	for (size_t i = 0; i < dm->nr_vifs && n < max; i++) {
		const struct vif_link *v = dm->vifs[i];
		const struct vif_spec *vs = v->spec;
		struct control_nic_info *c = &nics[n++];
		struct netback_stats st = { .backend_state = -1, .frontend_state = -1 };

		if (v->nb)
			netback_get_stats(v->nb, &st);
		c->devid = (int)v->devid;
		snprintf(c->mac, sizeof(c->mac), "%02x:%02x:%02x:%02x:%02x:%02x", v->mac[0],
			 v->mac[1], v->mac[2], v->mac[3], v->mac[4], v->mac[5]);
		if (v->nd)
			snprintf(c->backend, sizeof(c->backend), "%s", netdev_name(v->nd));
		else
			snprintf(c->backend, sizeof(c->backend), "%s",
				 vs->backend == VIF_BACKEND_TAP ? "tap" : "user");
		c->backend_state = st.backend_state;
		c->frontend_state = st.frontend_state;
		c->tx_packets = st.tx_packets;
		c->tx_bytes = st.tx_bytes;
		c->tx_drops = st.tx_drops;
		c->tx_errors = st.tx_errors;
		c->rx_packets = st.rx_packets;
		c->rx_bytes = st.rx_bytes;
		c->rx_drops = st.rx_drops;
		c->rx_errors = st.rx_errors;
	}
	*nr_r = n;
	return 0;
}

static void vif_remove(struct daemon *dm, size_t i);

/*
 * Starts a NIC: `spec` is the config's (kept by the caller) or, with
 * `own`, a parsed hot-plug spec the link takes over.  On the I/O thread,
 * or before it runs.  0 or -errno (a message was printed).
 */
static int vif_add(struct daemon *dm, const struct vif_spec *spec, struct vif_spec *own,
		   unsigned int devid)
{
	struct vif_link *v = calloc(1, sizeof(*v));
	struct vif_link **grown = realloc(dm->vifs, (dm->nr_vifs + 1) * sizeof(*dm->vifs));
	int rc;

	if (grown)
		dm->vifs = grown;
	if (!v || !grown) {
		free(v);
		if (own)
			vif_spec_free(own);
		return -ENOMEM;
	}
	v->devid = devid;
	if (own) {
		v->own = *own;
		v->has_own = true;
		spec = &v->own;
	}
	v->spec = spec;
	if (spec->has_mac)
		memcpy(v->mac, spec->mac, sizeof(v->mac));
	else
		netback_mac_generate(dm->cs.mac_name[0] ? dm->cs.mac_name : "xenkvm", devid, v->mac);
	struct netback_params np = {
		.loop = dm->loop,
		.dom = xen_kvm_domain(dm->m->xen),
		.store = xs_service_store(dm->xs),
		.domid = (unsigned int)dm->domid,
		.devid = devid,
		.tx = vif_to_host,
		.rx_ready = vif_guest_ready,
		.opaque = v,
	};
	struct netdev_params ndp = {
		.loop = dm->loop,
		.vif = spec,
		.mac = v->mac,
		.domid = (unsigned int)dm->domid,
		.devid = devid,
		.rx = vif_to_guest,
		.opaque = v,
	};

	memcpy(np.mac, v->mac, sizeof(np.mac));
	dm->vifs[dm->nr_vifs++] = v;   /* so that a failure below is undone by vif_remove() */
	rc = netback_create(&np, &v->nb);
	if (!rc)
		rc = netdev_open(&ndp, &v->nd);
	if (rc) {
		vif_remove(dm, dm->nr_vifs - 1);
		return rc < 0 ? rc : -EINVAL;
	}
	return 0;
}

/* Stops the i-th NIC: the host side first (it may hold a frame for the
 * guest), then netback, whose XenStore directories going away is what
 * the guest's netfront sees as the NIC being unplugged. */
static void vif_remove(struct daemon *dm, size_t i)
{
	struct vif_link *v = dm->vifs[i];

	netdev_close(v->nd);
	netback_destroy(v->nb);
	if (v->has_own)
		vif_spec_free(&v->own);
	free(v);
	memmove(&dm->vifs[i], &dm->vifs[i + 1], (dm->nr_vifs - i - 1) * sizeof(*dm->vifs));
	dm->nr_vifs--;
}

/* On the I/O thread (control server), like everything that uses the store. */
static int ctl_network_attach(void *opaque, const char *spec, int *devid_r)
{
	struct daemon *dm = opaque;
	struct config_error err = { 0 };
	struct vif_spec vs;
	unsigned int devid = 0;
	int rc;

	if (!dm->m)
		return -ESRCH;
	if (!dm->xs)
		return -EOPNOTSUPP;   /* no Xen platform device: nothing to plug into */
	if (vif_spec_parse(spec, &vs, &err)) {
		pr_err("network-attach '%s': %s", spec, err.msg);
		return -EINVAL;
	}
	for (size_t i = 0; i < dm->nr_vifs; i++)
		if (dm->vifs[i]->devid >= devid)
			devid = dm->vifs[i]->devid + 1;
	rc = vif_add(dm, NULL, &vs, devid);
	if (rc)
		return rc;
	pr_info("network-attach: vif %u (%s)", devid, spec);
	*devid_r = (int)devid;
	return 0;
}

static int ctl_network_detach(void *opaque, const char *id)
{
	struct daemon *dm = opaque;
	char mac[18];
	char *end;
	unsigned long devid = strtoul(id, &end, 10);
	bool by_devid = *id && !*end;

	if (!dm->m)
		return -ESRCH;
	for (size_t i = 0; i < dm->nr_vifs; i++) {
		const uint8_t *m = dm->vifs[i]->mac;

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		if (by_devid ? dm->vifs[i]->devid == devid : !strcasecmp(mac, id)) {
			pr_info("network-detach: vif %u (%s)", dm->vifs[i]->devid, mac);
			vif_remove(dm, i);
			return 0;
		}
	}
	return -ENOENT;
}

/* xl mem-set: the guest's balloon driver does the work; RAM can only be
 * given back and taken again up to what the domain was built with
 * (daemon_ram_mib). */
static int ctl_mem_set(void *opaque, uint64_t target_kib)
{
	struct daemon *dm = opaque;
	uint64_t max_kib = daemon_ram_mib(dm) << 10;
	int rc = need_xenstore(dm);

	if (rc)
		return rc;
	if (target_kib > max_kib || target_kib < (uint64_t)VM_MIN_MEMORY_MIB << 10) {
		control_server_set_message(dm->control, "target %llu MiB is outside %u..%llu MiB "
					   "(maxmem, or memory without it, is the most a domain "
					   "can hold here)", (unsigned long long)(target_kib >> 10),
					   VM_MIN_MEMORY_MIB, (unsigned long long)(max_kib >> 10));
		return -EINVAL;
	}
	pr_info("mem-set: balloon target %llu KiB", (unsigned long long)target_kib);
	return xs_service_set_memory_target(dm->xs, target_kib);
}

static int ctl_sysrq(void *opaque, char key)
{
	struct daemon *dm = opaque;
	int rc = need_xenstore(dm);

	if (rc)
		return rc;
	pr_info("sysrq: '%c'", key);
	return xs_service_sysrq(dm->xs, key);
}

static int ctl_trigger(void *opaque, const char *kind, unsigned int vcpu)
{
	struct daemon *dm = opaque;
	int rc = 0;

	if (!dm->m)
		return -ESRCH;
	pr_info("trigger: %s", kind);
	if (!strcmp(kind, "power")) {
		machine_power_button(dm->m);
	} else if (!strcmp(kind, "reset")) {
		vm_request_stop(&dm->m->vm, VM_EXIT_REBOOT, "reset (xenkvm trigger reset)");
	} else if (!strcmp(kind, "nmi")) {
		rc = vm_inject_nmi(&dm->m->vm, vcpu);
		if (rc == -EINVAL)
			control_server_set_message(dm->control, "no vCPU %u (the domain has %u)", vcpu,
						   dm->m->vm.nr_vcpus);
	} else {
		rc = -EINVAL;
	}
	return rc;
}

/*
 * xl save: on the I/O thread, so no backend runs meanwhile; the vCPUs are
 * parked first.  Until the file is complete the guest is unharmed and
 * runs on (unless it was paused before); then the domain ends.
 */
/* What domain_save.c works on; nbs has room for dm->nr_vifs entries. */
static struct domain_save_parts daemon_save_parts(struct daemon *dm, struct netback **nbs)
{
	for (size_t i = 0; i < dm->nr_vifs; i++)
		nbs[i] = dm->vifs[i]->nb;
	return (struct domain_save_parts){
		.m = dm->m, .xs = dm->xs, .pv_console = dm->pv_console, .cs = &dm->cs,
		.disks = dm->disks, .nr_disks = dm->disks ? dm->cfg.nr_disks : 0,
		.vifs = nbs, .nr_vifs = dm->nr_vifs,
	};
}

static int daemon_save(struct daemon *dm, const struct domain_save_parts *p, const char *path);

static int ctl_save(void *opaque, const char *path)
{
	struct daemon *dm = opaque;
	struct netback **nbs = calloc(dm->nr_vifs + 1, sizeof(*nbs));
	struct domain_save_parts parts;
	int rc;

	if (!dm->m || !nbs) {
		free(nbs);
		return dm->m ? -ENOMEM : -ESRCH;
	}
	parts = daemon_save_parts(dm, nbs);
	rc = daemon_save(dm, &parts, path);
	free(nbs);
	return rc;
}

/* A save or a migration parks every vCPU first; if they do not stop, the
 * domain runs on as it was (paused or not) and the client hears why. */
static int daemon_park_vcpus(struct daemon *dm, bool *was_paused)
{
	int rc;

	*was_paused = dm->m->vm.paused;
	rc = vm_pause_sync(&dm->m->vm);
	if (rc) {
		if (!*was_paused && rc != -ESHUTDOWN)
			vm_set_paused(&dm->m->vm, false);
		control_server_set_message(dm->control, "the vCPUs did not stop: %s", strerror(-rc));
	}
	return rc;
}

static int daemon_save(struct daemon *dm, const struct domain_save_parts *p, const char *path)
{
	bool was_paused;
	char why[512];
	int rc;

	rc = domain_save_unsupported(&dm->cfg, p, why, sizeof(why));
	if (rc) {
		control_server_set_message(dm->control, "%s", why);
		return rc;
	}
	rc = daemon_park_vcpus(dm, &was_paused);
	if (rc)
		return rc;
	dm->cs.hcall_path = dm->m->xen ? (uint8_t)xen_kvm_path(dm->m->xen) : 0;
	rc = domain_save_file(p, path, why, sizeof(why));
	if (rc) {
		pr_err("save to %s failed, the domain runs on: %s", path, why);
		if (!was_paused)
			vm_set_paused(&dm->m->vm, false);
		control_server_set_message(dm->control, "%s", why);
		return rc;
	}
	pr_info("saved to %s", path);
	dm->state = CONTROL_STATE_DYING;
	vm_request_stop(&dm->m->vm, VM_EXIT_KILLED, "saved to %s (xenkvm save)", path);
	return 0;
}

/*
 * xl migrate's sending half (docs/SAVE-FORMAT.md, "Migration"): the CLI
 * listens on `path` and relays to the receiver.  The domain is paused
 * and quiesced as for a save and the stream written; only the
 * receiver's READY makes this daemon send GO and end the domain.
 * Anything else before that (an error, EOF, a timeout) resumes it.
 */
#define MIGRATE_READY_TIMEOUT_MS (10 * 60 * 1000)

static int migrate_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int ctl_migrate_send(void *opaque, const char *path)
{
	struct daemon *dm = opaque;
	struct netback **nbs;
	struct domain_save_parts parts;
	struct timespec t0, t1;
	bool was_paused;
	char why[512];
	int fd, rc;

	if (!dm->m)
		return -ESRCH;
	nbs = calloc(dm->nr_vifs + 1, sizeof(*nbs));
	if (!nbs)
		return -ENOMEM;
	parts = daemon_save_parts(dm, nbs);
	rc = domain_save_unsupported(&dm->cfg, &parts, why, sizeof(why));
	if (rc) {
		control_server_set_message(dm->control, "%s", why);
		goto out;
	}
	fd = migrate_connect(path);
	if (fd < 0) {
		rc = fd;
		control_server_set_message(dm->control, "cannot connect to %s: %s", path, strerror(-rc));
		goto out;
	}
	rc = daemon_park_vcpus(dm, &was_paused);
	if (rc) {
		close(fd);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dm->cs.hcall_path = dm->m->xen ? (uint8_t)xen_kvm_path(dm->m->xen) : 0;
	rc = domain_save_fd(&parts, fd, why, sizeof(why));
	if (!rc) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		pr_info("migrating: the stream was written %.3f s after the pause",
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		rc = migrate_await_ready(fd, MIGRATE_READY_TIMEOUT_MS, why, sizeof(why));
		/* The point of no return: GO hands the guest over.  If it
		 * cannot be written the receiver never runs it: resume. */
		if (!rc && (rc = migrate_write_line(fd, was_paused ? MIGRATE_GO_PAUSED : MIGRATE_GO)) != 0)
			snprintf(why, sizeof(why), "sending GO to the receiver: %s", strerror(-rc));
		if (rc)
			domain_save_resume(&parts);
	}
	close(fd);
	if (rc) {
		pr_err("migration failed, the domain runs on: %s", why);
		if (!was_paused)
			vm_set_paused(&dm->m->vm, false);
		control_server_set_message(dm->control, "%s", why);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pr_info("migrated: the receiver confirmed %.3f s after the pause",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	dm->state = CONTROL_STATE_DYING;
	vm_request_stop(&dm->m->vm, VM_EXIT_KILLED, "migrated (xenkvm migrate)");
out:
	free(nbs);
	return rc;
}

static const struct control_handlers daemon_control = {
	.info = ctl_info,
	.vcpu_list = ctl_vcpu_list,
	.pause = ctl_pause,
	.unpause = ctl_unpause,
	.shutdown = ctl_shutdown,
	.destroy = ctl_destroy,
	.network_list = ctl_network_list,
	.network_attach = ctl_network_attach,
	.network_detach = ctl_network_detach,
	.mem_set = ctl_mem_set,
	.sysrq = ctl_sysrq,
	.trigger = ctl_trigger,
	.save = ctl_save,
	.migrate_send = ctl_migrate_send,
};

/* hvc0's backend: on the PV console socket, or its output on stdout. */
static int daemon_start_pv_console(struct daemon *dm)
{
	struct pv_console_params p = {
		.loop = dm->loop,
		.dom = xen_kvm_domain(dm->m->xen),
		.ring_page = machine_special_page(dm->m, MACHINE_PAGE_CONSOLE),
		.ring_gfn = machine_special_gfn(dm->m, MACHINE_PAGE_CONSOLE),
		.out_fd = STDOUT_FILENO,
		/* A PVH domain's only console: typed input too, like the serial's. */
		.in_fd = dm->cfg.type == DOMAIN_TYPE_PVH ? STDIN_FILENO : -1,
	};

	if (dm->pv_console_srv)
		console_server_fds(dm->pv_console_srv, &p.in_fd, &p.out_fd);
	if (pv_console_start(&p, &dm->pv_console)) {
		pr_err("cannot set up the PV console");
		return -1;
	}
	return 0;
}

/*
 * The drives SeaBIOS may boot: the disks at their IDE positions (as
 * daemon_ide_drives() places them; a position's first disk wins).
 */
static size_t daemon_firmware_drives(const struct domain_config *cfg, struct firmware_drive *d, size_t max)
{
	unsigned int taken = 0;
	size_t n = 0;

	for (size_t i = 0; i < cfg->nr_disks && n < max; i++) {
		int pos = disk_spec_ide_position(&cfg->disks[i]);

		if (pos < 0 || (taken & (1u << pos)))
			continue;
		taken |= 1u << pos;
		d[n++] = (struct firmware_drive){ .ide_index = (unsigned int)pos,
						  .cdrom = cfg->disks[i].cdrom };
	}
	return n;
}

/* Each disk entry on emulated IDE where Xen would put it (xvda/hda/sda the
 * primary master, ... xvdd the secondary slave), for firmware and for
 * guests until their PV drivers unplug it.  0 or a vm_exit_status. */
static int daemon_ide_drives(const struct domain_config *cfg, struct ide_drive_desc *descs,
			     struct machine_config *mcfg)
{
	for (size_t i = 0; i < cfg->nr_disks; i++) {
		const struct disk_spec *d = &cfg->disks[i];
		int pos = disk_spec_ide_position(d);

		if (pos < 0) {
			if (!cfg->xen_platform) {
				pr_err("disk %s: only xvda-xvdd/hda-hdd/sda-sdd are emulated; other disks need "
				       "the Xen platform device (xen_platform_pci=1)", d->vdev);
				return VM_EXIT_USAGE;
			}
			continue;   /* PV only */
		}
		if (mcfg->ide[pos]) {
			pr_warn("disk %s: IDE position %d is taken by an earlier disk: PV only", d->vdev, pos);
			continue;
		}
		if (d->format && *d->format && strcmp(d->format, "raw") &&
		    !(d->cdrom && !strcmp(d->format, "empty"))) {
			pr_err("disk %s: format %s: only raw images are supported", d->vdev, d->format);
			return VM_EXIT_USAGE;
		}
		descs[pos] = (struct ide_drive_desc){
			.path = d->target, .readonly = d->readonly, .cdrom = d->cdrom,
		};
		mcfg->ide[pos] = &descs[pos];
	}
	return 0;
}

/* Builds and runs one incarnation of the domain; returns how it ended. */
static int daemon_run_once(struct daemon *dm)
{
	struct ide_drive_desc ide_descs[IDE_POSITIONS];
	struct domain_config *cfg = &dm->cfg;
	struct firmware_drive drives[4];
	struct machine_config mcfg = {
		.memory_mib = daemon_ram_mib(dm),
		.vcpus = cfg->vcpus,
		.firmware = !cfg->kernel && !cfg->firmware_override,
		.firmware_path = cfg->bios_path,
		.boot = cfg->boot,
		.drives = drives,
		.nr_drives = daemon_firmware_drives(cfg, drives, 4),
		.uuid = cfg->has_uuid ? cfg->uuid : NULL,
		.kernel = cfg->firmware_override ? cfg->firmware_override : cfg->kernel,
		.pvh_entry = cfg->firmware_override != NULL,
		.ramdisk = cfg->ramdisk,
		.cmdline = cfg->cmdline,
		.guest_decompress = dm->guest_decompress,
		.restoring = dm->restore != NULL,
		.pvh = cfg->type == DOMAIN_TYPE_PVH,
		.console_in_fd = STDIN_FILENO,
		.console_out_fd = STDOUT_FILENO,
		.console_escape = !dm->console && isatty(STDIN_FILENO),
		.loop = dm->loop,
		.xen = cfg->xen_platform,
		.xen_cfg = {
			.domid = (uint16_t)dm->domid,
			.xen_version = cfg->xen_version,
			.path = dm->hcall_path,
			.no_kernel_accel = dm->no_kernel_xen,
			.no_fastpaths = dm->no_fastpaths,
		},
	};
	int rc;

	memcpy(mcfg.xen_cfg.uuid, cfg->uuid, sizeof(mcfg.xen_cfg.uuid));
	rc = daemon_ide_drives(cfg, ide_descs, &mcfg);
	if (rc)
		return rc;
	if (dm->console)
		console_server_fds(dm->console, &mcfg.console_in_fd, &mcfg.console_out_fd);
	dm->m = calloc(1, sizeof(*dm->m));
	if (!dm->m)
		return VM_EXIT_ERROR;
	rc = machine_create(dm->m, &mcfg);
	if (rc)
		goto out;
	if (dm->m->xen) {
		struct xs_service_params xp = {
			.loop = dm->loop,
			.dom = xen_kvm_domain(dm->m->xen),
			.domid = (unsigned int)dm->domid,
			.name = cfg->name,
			.uuid = cfg->uuid,
			.memory_kb = daemon_ram_mib(dm) << 10,
			.target_kb = cfg->memory_mib << 10,
			.vcpus = cfg->vcpus,
			.ring_page = machine_special_page(dm->m, MACHINE_PAGE_XENSTORE),
			.ring_gfn = machine_special_gfn(dm->m, MACHINE_PAGE_XENSTORE),
			.socket_path = dm->xs_socket,
		};

		if (xs_service_start(&xp, &dm->xs)) {
			rc = VM_EXIT_ERROR;
			goto out;
		}
		if (dm->bench_echo && bench_echo_start(xen_kvm_domain(dm->m->xen), &dm->echo)) {
			rc = VM_EXIT_ERROR;
			goto out;
		}
		/* The I/O thread is not running yet: backends may use the store. */
		dm->disks = calloc(cfg->nr_disks ? cfg->nr_disks : 1, sizeof(*dm->disks));
		if (!dm->disks) {
			rc = VM_EXIT_ERROR;
			goto out;
		}
		for (size_t i = 0; i < cfg->nr_disks; i++) {
			const struct disk_spec *d = &cfg->disks[i];
			struct blkback_disk disk = {
				.target = d->target, .vdev = d->vdev, .format = d->format,
				.readonly = d->readonly, .cdrom = d->cdrom, .direct_io = d->direct_io,
			};
			struct blkback_params bp = {
				.loop = dm->loop,
				.dom = xen_kvm_domain(dm->m->xen),
				.store = xs_service_store(dm->xs),
				.domid = (unsigned int)dm->domid,
				.disk = &disk,
			};

			if (blkback_create(&bp, &dm->disks[i])) {
				rc = VM_EXIT_USAGE;
				goto out;
			}
		}
		if (daemon_start_pv_console(dm)) {
			rc = VM_EXIT_ERROR;
			goto out;
		}
		for (size_t i = 0; i < cfg->nr_vifs; i++) {
			if (vif_add(dm, &cfg->vifs[i], NULL, (unsigned int)i)) {
				rc = VM_EXIT_USAGE;
				goto out;
			}
		}
	} else if (cfg->nr_vifs) {
		pr_err("vifs need the Xen platform device (xen_platform_pci=1): this VMM "
		       "has no emulated NICs");
		rc = VM_EXIT_USAGE;
		goto out;
	}
	if (dm->restore) {
		struct netback **nbs = calloc(dm->nr_vifs + 1, sizeof(*nbs));
		struct domain_save_parts parts;
		struct timespec t_start, t_end;
		char why[512];

		clock_gettime(CLOCK_MONOTONIC, &t_start);

		if (!nbs) {
			rc = VM_EXIT_ERROR;
			goto out;
		}
		parts = daemon_save_parts(dm, nbs);
		rc = domain_restore_load(&parts, dm->restore, why, sizeof(why));
		free(nbs);
		if (rc) {
			pr_err("restore: %s", why);
			rc = VM_EXIT_USAGE;
			goto out;
		}
		/* A later incarnation (on_reboot="restart") boots afresh. */
		state_reader_free(dm->restore);
		dm->restore = NULL;
		close(dm->restore_fd);
		dm->restore_fd = -1;
		clock_gettime(CLOCK_MONOTONIC, &t_end);
		pr_info("restored the domain saved from %s (its sections loaded in %.3f s)", dm->cs.source,
			(double)(t_end.tv_sec - t_start.tv_sec) +
			(double)(t_end.tv_nsec - t_start.tv_nsec) / 1e9);
	}
	if (dm->start_paused) {
		dm->m->vm.paused = true;
		dm->start_paused = false;
	}
	dm->state = dm->m->vm.paused ? CONTROL_STATE_PAUSED : CONTROL_STATE_RUNNING;
	dm->start_time = time(NULL);
	/* Last, so that `xenkvm create` sees the domain only once it can run. */
	if (dm->control_path && !dm->control &&
	    control_server_start(dm->loop, dm->control_path, &daemon_control, dm, &dm->control)) {
		pr_err("cannot serve the control socket %s", dm->control_path);
		rc = VM_EXIT_ERROR;
		goto out;
	}
	if (event_loop_start(dm->loop, "io")) {
		pr_err("cannot start the I/O thread");
		rc = VM_EXIT_ERROR;
		goto out;
	}
	if (daemon_ram_mib(dm) != cfg->memory_mib)
		pr_info("RAM %llu MiB (maxmem); the guest's balloon brings it to memory = %llu MiB",
			(unsigned long long)daemon_ram_mib(dm), (unsigned long long)cfg->memory_mib);
	pr_info("domain '%s': %llu MiB, %u vCPU%s, %s%s", cfg->name ? cfg->name : "?",
		(unsigned long long)cfg->memory_mib, cfg->vcpus, cfg->vcpus == 1 ? "" : "s",
		cfg->kernel ? "kernel " : cfg->firmware_override ? "firmware_override " : "firmware SeaBIOS",
		cfg->kernel ? cfg->kernel : cfg->firmware_override ? cfg->firmware_override : "");
	tty_raw();
	rc = machine_run(dm->m);
	tty_restore();
	pr_info("domain ended: %s (exit status %d)", dm->m->vm.stop_reason, rc);
out:
	event_loop_stop(dm->loop);
	/* vCPUs are stopped: no event-channel handler can reach a backend now. */
	if (dm->disks)
		for (size_t i = 0; i < cfg->nr_disks; i++)
			blkback_destroy(dm->disks[i]);
	free(dm->disks);
	dm->disks = NULL;
	pv_console_stop(dm->pv_console);
	dm->pv_console = NULL;
	bench_echo_stop(dm->echo);
	dm->echo = NULL;
	while (dm->nr_vifs)
		vif_remove(dm, dm->nr_vifs - 1);
	free(dm->vifs);
	dm->vifs = NULL;
	xs_service_stop(dm->xs);
	dm->xs = NULL;
	machine_destroy(dm->m);
	free(dm->m);
	dm->m = NULL;
	return rc;
}

static enum domain_action daemon_action(const struct domain_config *cfg, int status)
{
	switch (status) {
	case VM_EXIT_POWEROFF: return cfg->on_poweroff;
	case VM_EXIT_REBOOT:   return cfg->on_reboot;
	case VM_EXIT_CRASH:    return cfg->on_crash;
	default:               return ACTION_DESTROY;
	}
}

static volatile sig_atomic_t daemon_signal;

static void daemon_on_signal(int sig)
{
	daemon_signal = sig;
}

/* on_crash="preserve": keep answering `list` as crashed until destroyed. */
static void daemon_preserve(struct daemon *dm)
{
	struct sigaction sa = { .sa_handler = daemon_on_signal };

	dm->state = CONTROL_STATE_CRASHED;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (event_loop_start(dm->loop, "io"))
		return;
	pr_info("domain crashed and is preserved (on_crash=\"preserve\"); destroy it to end");
	while (!daemon_signal && dm->state == CONTROL_STATE_CRASHED)
		usleep(100 * 1000);
	event_loop_stop(dm->loop);
}

/*
 * Least privilege before anything touches a guest: the user switch (so
 * every incarnation and hot-plug opens its files as that user), then the
 * seccomp filters, which from here on bound every thread.  Usage problems
 * leave rc at VM_EXIT_USAGE; 0 or -1.
 */
static int daemon_sandbox(const struct domain_config *cfg, const char *user, bool seccomp,
			  bool seccomp_log, enum thread_role probe)
{
	struct sandbox_user u;
	char err[256];

	if (user) {
		for (size_t i = 0; i < cfg->nr_vifs; i++)
			if (cfg->vifs[i].backend == VIF_BACKEND_TAP) {
				pr_err("--user: vif %zu is a tap (bridge=), whose creation needs "
				       "CAP_NET_ADMIN, which the user switch drops", i);
				return VM_EXIT_USAGE;
			}
		if (sandbox_user_lookup(user, &u, err, sizeof(err))) {
			pr_err("--user: %s", err);
			return VM_EXIT_USAGE;
		}
		if (sandbox_drop_privileges(&u, err, sizeof(err))) {
			pr_err("--user: %s", err);
			return VM_EXIT_ERROR;
		}
		pr_info("sandbox: running as user %s (uid %u, gid %u%s)", u.name, (unsigned)u.uid,
			(unsigned)u.gid, u.nr_groups ? ", and /dev/kvm's group" : "");
	}
	if (!seccomp) {
		pr_warn("sandbox: seccomp filters off (--no-seccomp)");
		return 0;
	}
	if (sandbox_apply(probe, seccomp_log, err, sizeof(err))) {
		pr_err("sandbox: %s", err);
		return VM_EXIT_ERROR;
	}
	if (seccomp_log)
		pr_warn("sandbox: --seccomp-log: syscalls outside the filters are only logged");
	pr_info("sandbox: seccomp filters on (main, io, vcpu, serial-in threads), no_new_privs set");
	return 0;
}

/*
 * --restore: the saved file's config section gives the config (with the
 * command line's overrides appended as later lines, which win), the
 * domid, UUID, hypercall path and Xen options.  The rest of the stream is
 * loaded by the first incarnation.  0 or an exit status (message printed).
 */
static int daemon_restore_open(struct daemon *dm, const char *path, char *const *overrides,
			       size_t nr, bool domid_given)
{
	struct domain_config saved;
	struct config_error err;
	char why[512], *text;
	size_t len;
	int rc;

	dm->restore_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (dm->restore_fd < 0) {
		fprintf(stderr, "xenkvmd: %s: %s\n", path, strerror(errno));
		return VM_EXIT_USAGE;
	}
	dm->restore = state_reader_new_fd(dm->restore_fd);
	if (!dm->restore)
		return VM_EXIT_ERROR;
	if (config_state_open(dm->restore, &dm->cs, why, sizeof(why))) {
		fprintf(stderr, "xenkvmd: restore: %s: %s\n", path, why);
		return VM_EXIT_USAGE;
	}
	if (domid_given && (uint32_t)dm->domid != dm->cs.domid) {
		fprintf(stderr, "xenkvmd: restore: %s holds domain %u (its XenStore paths and event "
			"channels name it), not --domid=%d\n", path, dm->cs.domid, dm->domid);
		return VM_EXIT_USAGE;
	}
	dm->domid = (int)dm->cs.domid;
	if (domain_config_parse(path, dm->cs.text, dm->cs.len, NULL, 0, &saved, &err, config_warning)) {
		fprintf(stderr, "xenkvmd: restore: the saved config: %s\n", err.msg);
		return VM_EXIT_USAGE;
	}
	/* The overrides become part of the config a later save carries. */
	rc = config_state_append(dm->cs.text, dm->cs.len, overrides, nr, &text, &len);
	if (rc) {
		fprintf(stderr, "xenkvmd: restore: the overrides: %s\n", strerror(-rc));
		domain_config_free(&saved);
		return VM_EXIT_USAGE;
	}
	free(dm->cs.text);
	dm->cs.text = text;
	dm->cs.len = len;
	rc = domain_config_parse(path, text, len, NULL, 0, &dm->cfg, &err, config_warning);
	if (rc) {
		fprintf(stderr, "xenkvmd: restore: %s\n", err.msg);
		domain_config_free(&saved);
		return VM_EXIT_USAGE;
	}
	rc = 0;
	if (dm->cfg.vcpus != saved.vcpus || dm->cfg.memory_mib != saved.memory_mib ||
	    dm->cfg.maxmem_mib != saved.maxmem_mib || dm->cfg.xen_platform != saved.xen_platform ||
	    dm->cfg.type != saved.type) {
		fprintf(stderr, "xenkvmd: restore: the overrides change the machine (vcpus, memory, "
			"maxmem, type or xen_platform_pci): the saved guest has %u vCPUs and %llu MiB\n",
			saved.vcpus, (unsigned long long)saved.memory_mib);
		rc = VM_EXIT_USAGE;
	}
	domain_config_free(&saved);
	if (rc)
		return rc;
	memcpy(dm->cfg.uuid, dm->cs.uuid, sizeof(dm->cfg.uuid));
	dm->cfg.has_uuid = true;
	if (dm->cfg.xen_platform)
		dm->hcall_path = (enum xen_hcall_path)dm->cs.hcall_path;
	dm->no_kernel_xen = dm->cs.flags & CONFIG_STATE_NO_KERNEL_XEN;
	dm->no_fastpaths = dm->cs.flags & CONFIG_STATE_NO_FASTPATHS;
	dm->guest_decompress = dm->cs.flags & CONFIG_STATE_GUEST_DECOMPRESS;
	pr_info("restore: %s: domain %u, saved from %s%s%s", path, dm->cs.domid, dm->cs.source,
		dm->cfg.xen_platform ? ", hypercall path " : "",
		dm->cfg.xen_platform ? xen_hcall_path_name(dm->hcall_path) : "");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "trace", required_argument, NULL, 't' },
		{ "domid", required_argument, NULL, 'd' },
		{ "xen-hcall", required_argument, NULL, 'x' },
		{ "no-kernel-xen", no_argument, NULL, 'K' },
		{ "no-kernel-fastpaths", no_argument, NULL, 'F' },
		{ "guest-decompress", no_argument, NULL, 'G' },
		{ "bench-echo", no_argument, NULL, 'E' },
		{ "xenstore-socket", required_argument, NULL, 'S' },
		{ "control", required_argument, NULL, 'C' },
		{ "console", required_argument, NULL, 'O' },
		{ "pv-console", required_argument, NULL, 'W' },
		{ "paused", no_argument, NULL, 'P' },
		{ "restore", no_argument, NULL, 'R' },
		{ "log", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "user", required_argument, NULL, 'U' },
		{ "no-seccomp", no_argument, NULL, 'N' },
		{ "seccomp-log", no_argument, NULL, 'A' },
		{ "seccomp-probe", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon dm = { .domid = 1, .hcall_path = XEN_PATH_AUTO, .restore_fd = -1 };
	struct config_error err;
	const char *console_path = NULL, *pv_console_path = NULL, *user = NULL;
	bool seccomp = true, seccomp_log = false, restore = false, domid_given = false;
	int probe = THREAD_ROLE_COUNT;
	int c, rc;
	char *end;

	rundir_cloexec_inherited();
	/* A migration's receiver may go at any moment: the write fails (and
	 * the guest runs on) instead of the signal ending the daemon. */
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "+vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'q':
			log_set_level(LOG_ERR);
			break;
		case 't':
			if (log_set_trace(optarg)) {
				fprintf(stderr, "xenkvmd: --trace: unknown category in '%s'\n", optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case 'd':
			errno = 0;
			dm.domid = (int)strtol(optarg, &end, 10);
			if (errno || *end || dm.domid < 1 || dm.domid > 0x7fef) {
				fprintf(stderr, "xenkvmd: --domid: '%s' is not a domain id (1..32751)\n", optarg);
				return VM_EXIT_USAGE;
			}
			domid_given = true;
			break;
		case 'x':
			if (!strcmp(optarg, "auto"))
				dm.hcall_path = XEN_PATH_AUTO;
			else if (!strcmp(optarg, "intercept"))
				dm.hcall_path = XEN_PATH_INTERCEPT;
			else if (!strcmp(optarg, "blob"))
				dm.hcall_path = XEN_PATH_BLOB;
			else if (!strcmp(optarg, "msr"))
				dm.hcall_path = XEN_PATH_MSR;
			else {
				fprintf(stderr, "xenkvmd: --xen-hcall: '%s' is not auto, intercept, blob or msr\n", optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case 'K':
			dm.no_kernel_xen = true;
			break;
		case 'F':
			dm.no_fastpaths = true;
			break;
		case 'G':
			dm.guest_decompress = true;
			break;
		case 'E':
			dm.bench_echo = true;
			break;
		case 'S':
			dm.xs_socket = optarg;
			break;
		case 'C':
			dm.control_path = optarg;
			break;
		case 'O':
			console_path = optarg;
			break;
		case 'W':
			pv_console_path = optarg;
			break;
		case 'P':
			dm.start_paused = true;
			break;
		case 'R':
			restore = true;
			break;
		case 'L': {
			int fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);

			if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
				fprintf(stderr, "xenkvmd: --log: %s: %s\n", optarg, strerror(errno));
				return VM_EXIT_USAGE;
			}
			close(fd);
			break;
		}
		case 'U':
			user = optarg;
			break;
		case 'N':
			seccomp = false;
			break;
		case 'A':
			seccomp_log = true;
			break;
		case 'B':
			probe = sandbox_role_parse(optarg);
			if (probe < 0) {
				fprintf(stderr, "xenkvmd: --seccomp-probe: '%s' is not main, io, vcpu or "
					"serial-in\n", optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("xenkvmd %s\n", XENKVM_VERSION);
			return 0;
		default:
			usage(stderr);
			return VM_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return VM_EXIT_USAGE;
	}
	if (restore) {
		rc = daemon_restore_open(&dm, argv[optind], argv + optind + 1, (size_t)(argc - optind - 1),
					 domid_given);
		if (rc)
			return rc;
	} else {
		if (domain_config_load(argv[optind], argv + optind + 1, (size_t)(argc - optind - 1),
				       &dm.cfg, &err, config_warning)) {
			fprintf(stderr, "xenkvmd: %s\n", err.msg);
			return VM_EXIT_USAGE;
		}
		/* What a save carries (the file may change or go meanwhile). */
		rc = config_state_text(argv[optind], argv + optind + 1, (size_t)(argc - optind - 1),
				       &dm.cs.text, &dm.cs.len);
		if (rc) {
			fprintf(stderr, "xenkvmd: %s: %s\n", argv[optind], strerror(-rc));
			return VM_EXIT_USAGE;
		}
		snprintf(dm.cs.source, sizeof(dm.cs.source), "%s", argv[optind]);
		snprintf(dm.cs.mac_name, sizeof(dm.cs.mac_name), "%s", dm.cfg.name ? dm.cfg.name : "");
	}
	log_set_domid(dm.domid);
	/* Run by a service (xenkvm-domains.service): every line also goes to the
	 * journal, findable by domain (journalctl XENKVM_DOMAIN=NAME). */
	if (journal_wanted() && journal_open(NULL, "xenkvmd") == 0)
		journal_set_domain(dm.cfg.name, dm.domid);
	rc = VM_EXIT_USAGE;
	if (dm.cfg.type == DOMAIN_TYPE_PV) {
		fprintf(stderr, "xenkvmd: %s: only type=\"hvm\" and \"pvh\" domains are supported\n", dm.cfg.path);
		goto out;
	}
	/* xl gives every domain a UUID; so do we when the config has none. */
	if (!dm.cfg.has_uuid && getrandom(dm.cfg.uuid, sizeof(dm.cfg.uuid), 0) == sizeof(dm.cfg.uuid)) {
		dm.cfg.uuid[6] = (uint8_t)((dm.cfg.uuid[6] & 0x0f) | 0x40);   /* version 4 */
		dm.cfg.uuid[8] = (uint8_t)((dm.cfg.uuid[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
		dm.cfg.has_uuid = true;
	}
	dm.cs.domid = (uint32_t)dm.domid;
	memcpy(dm.cs.uuid, dm.cfg.uuid, sizeof(dm.cs.uuid));
	dm.cs.flags = (dm.no_kernel_xen ? CONFIG_STATE_NO_KERNEL_XEN : 0) |
		      (dm.no_fastpaths ? CONFIG_STATE_NO_FASTPATHS : 0) |
		      (dm.guest_decompress ? CONFIG_STATE_GUEST_DECOMPRESS : 0);
	rc = daemon_sandbox(&dm.cfg, user, seccomp, seccomp_log, (enum thread_role)probe);
	if (rc)
		goto out;
	rc = VM_EXIT_ERROR;
	if (event_loop_new(&dm.loop)) {
		pr_err("cannot create the I/O thread");
		goto out;
	}
	/* A PVH domain has no serial port: the console socket (`xenkvm console`,
	 * create -c) is the PV console, hvc0, and there is no second socket
	 * (`console -t pv` finds it there; a link would be refused by the run
	 * directory's checks). */
	if (dm.cfg.type == DOMAIN_TYPE_PVH && console_path) {
		pv_console_path = console_path;
		console_path = NULL;
	}
	if (console_path && console_server_start(dm.loop, console_path, &dm.console)) {
		pr_err("cannot serve the console on %s", console_path);
		goto out;
	}
	if (pv_console_path &&
	    console_server_start(dm.loop, pv_console_path, &dm.pv_console_srv)) {
		pr_err("cannot serve the PV console on %s", pv_console_path);
		goto out;
	}
	pr_debug("config loaded");
	for (;;) {
		enum domain_action a;

		rc = daemon_run_once(&dm);
		/* Standalone, the exit status reports what happened (issue 2's
		 * contract); managed by the CLI (--control), xl's actions apply. */
		a = dm.control_path ? daemon_action(&dm.cfg, rc) : ACTION_DESTROY;
		if (rc == VM_EXIT_POWEROFF || rc == VM_EXIT_REBOOT || rc == VM_EXIT_CRASH) {
			if (a == ACTION_RESTART || a == ACTION_RENAME_RESTART || a == ACTION_COREDUMP_RESTART) {
				dm.restarts++;
				pr_info("restarting the domain (%s)", rc == VM_EXIT_POWEROFF ? "on_poweroff" :
					rc == VM_EXIT_REBOOT ? "on_reboot" : "on_crash");
				continue;
			}
			if (rc == VM_EXIT_CRASH && a == ACTION_PRESERVE)
				daemon_preserve(&dm);
		}
		break;
	}
out:
	if (dm.loop)
		event_loop_stop(dm.loop);
	control_server_free(dm.control);
	console_server_free(dm.console);
	console_server_free(dm.pv_console_srv);
	event_loop_free(dm.loop);
	domain_config_free(&dm.cfg);
	config_state_free(&dm.cs);
	state_reader_free(dm.restore);
	if (dm.restore_fd >= 0)
		close(dm.restore_fd);
	return rc;
}
