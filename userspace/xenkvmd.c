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

#include "xenkvm/domain_config.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "xenkvm/machine.h"
#include "xenkvm/xs_service.h"

#define XENKVM_VERSION "0.1"

static struct termios saved_tty;
static int tty_saved;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xenkvmd [options] CONFIG [key=value ...]\n"
		"Runs the domain described by the xl.cfg file CONFIG in the foreground;\n"
		"key=value pairs override the file (xl.cfg syntax). The guest's serial\n"
		"console (ttyS0) is on stdin/stdout; on a terminal, Ctrl-] quits.\n"
		"\n"
		"options:\n"
		"  -v, --verbose        debug messages\n"
		"  -q, --quiet          errors only\n"
		"      --trace=LIST     trace categories: +hcall,+evtchn,+xs,+io,+blk,+net,+exit,+all\n"
		"      --domid=N        domain id (default 1)\n"
		"      --xen-hcall=PATH how Xen hypercalls reach xenkvmd: auto (default),\n"
		"                       intercept, blob (both need CONFIG_KVM_XEN) or msr\n"
		"      --no-kernel-xen  keep pvclock/runstate/event delivery in userspace\n"
		"      --xenstore-socket=PATH  serve the domain's XenStore on a unix socket\n"
		"                       (XENSTORED_PATH=PATH xenstore-ls)\n"
		"  -h, --help           this text\n"
		"      --version        print the version\n"
		"\n"
		"exit status: 0 guest powered off; 1 host-side error; 2 bad usage or\n"
		"configuration; 3 guest rebooted; 4 guest crashed (triple fault, KVM\n"
		"emulation failure, crash report); 5 destroyed by a signal or Ctrl-].\n");
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "trace", required_argument, NULL, 't' },
		{ "domid", required_argument, NULL, 'd' },
		{ "xen-hcall", required_argument, NULL, 'x' },
		{ "no-kernel-xen", no_argument, NULL, 'K' },
		{ "xenstore-socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct domain_config cfg;
	struct config_error err;
	struct machine_config mcfg;
	struct machine *m = NULL;
	enum xen_hcall_path hcall_path = XEN_PATH_AUTO;
	bool no_kernel_xen = false;
	const char *xs_socket = NULL;
	struct xs_service *xs = NULL;
	int domid = 1, c, rc;
	char *end;

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
			domid = (int)strtol(optarg, &end, 10);
			if (errno || *end || domid < 1 || domid > 0x7fef) {
				fprintf(stderr, "xenkvmd: --domid: '%s' is not a domain id (1..32751)\n", optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case 'x':
			if (!strcmp(optarg, "auto"))
				hcall_path = XEN_PATH_AUTO;
			else if (!strcmp(optarg, "intercept"))
				hcall_path = XEN_PATH_INTERCEPT;
			else if (!strcmp(optarg, "blob"))
				hcall_path = XEN_PATH_BLOB;
			else if (!strcmp(optarg, "msr"))
				hcall_path = XEN_PATH_MSR;
			else {
				fprintf(stderr, "xenkvmd: --xen-hcall: '%s' is not auto, intercept, blob or msr\n", optarg);
				return VM_EXIT_USAGE;
			}
			break;
		case 'K':
			no_kernel_xen = true;
			break;
		case 'S':
			xs_socket = optarg;
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
	log_set_domid(domid);

	memset(&cfg, 0, sizeof(cfg));
	if (domain_config_load(argv[optind], argv + optind + 1, (size_t)(argc - optind - 1), &cfg, &err,
			       config_warning)) {
		fprintf(stderr, "xenkvmd: %s\n", err.msg);
		return VM_EXIT_USAGE;
	}
	if (cfg.type != DOMAIN_TYPE_HVM) {
		fprintf(stderr, "xenkvmd: %s: only type=\"hvm\" domains are supported\n", cfg.path);
		rc = VM_EXIT_USAGE;
		goto out;
	}
	if (!cfg.kernel) {
		fprintf(stderr, "xenkvmd: %s: 'kernel' is required (direct kernel boot)\n", cfg.path);
		rc = VM_EXIT_USAGE;
		goto out;
	}
	mcfg = (struct machine_config){
		.memory_mib = cfg.memory_mib,
		.vcpus = cfg.vcpus,
		.kernel = cfg.kernel,
		.ramdisk = cfg.ramdisk,
		.cmdline = cfg.cmdline,
		.console_in_fd = STDIN_FILENO,
		.console_out_fd = STDOUT_FILENO,
		.console_escape = isatty(STDIN_FILENO),
		.xen = cfg.xen_platform,
		.xen_cfg = {
			.domid = (uint16_t)domid,
			.xen_version = cfg.xen_version,
			.path = hcall_path,
			.no_kernel_accel = no_kernel_xen,
		},
	};
	memcpy(mcfg.xen_cfg.uuid, cfg.uuid, sizeof(mcfg.xen_cfg.uuid));
	pr_debug("config loaded");
	m = calloc(1, sizeof(*m));
	if (!m) {
		rc = VM_EXIT_ERROR;
		goto out;
	}
	rc = machine_create(m, &mcfg);
	if (rc)
		goto out;
	if (m->xen) {
		struct xs_service_params xp = {
			.loop = m->loop,
			.dom = xen_kvm_domain(m->xen),
			.domid = (unsigned int)domid,
			.name = cfg.name,
			.uuid = cfg.uuid,
			.memory_kb = cfg.memory_mib << 10,
			.vcpus = cfg.vcpus,
			.ring_page = machine_special_page(m, MACHINE_PAGE_XENSTORE),
			.ring_gfn = machine_special_gfn(m, MACHINE_PAGE_XENSTORE),
			.socket_path = xs_socket,
		};

		if (xs_service_start(&xp, &xs)) {
			rc = VM_EXIT_ERROR;
			goto out;
		}
	}
	pr_info("domain '%s': %llu MiB, %u vCPU%s, kernel %s", cfg.name ? cfg.name : "?",
		(unsigned long long)cfg.memory_mib, cfg.vcpus, cfg.vcpus == 1 ? "" : "s", cfg.kernel);
	tty_raw();
	rc = machine_run(m);
	tty_restore();
	pr_info("domain ended: %s (exit status %d)", m->vm.stop_reason, rc);
out:
	if (m && m->loop)
		event_loop_stop(m->loop);
	xs_service_stop(xs);
	if (m)
		machine_destroy(m);
	free(m);
	domain_config_free(&cfg);
	return rc;
}
