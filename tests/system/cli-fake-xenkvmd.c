/*
 * cli-fake-xenkvmd: a stand-in for xenkvmd with the same command line and
 * sockets but no guest, so that tests/system/test_cli.sh can drive the
 * whole CLI lifecycle (create, list, console, xenstore-*, pause, shutdown,
 * reboot, destroy, stale cleanup) on machines without a usable KVM.  It is
 * also the reference for wiring the control, console and XenStore sockets
 * into the real daemon (docs/CLI.md, "What xenkvmd does").
 *
 *   cli-fake-xenkvmd [-v] [-q] --domid=N [--control=PATH] [--xenstore-socket=PATH]
 *                    [--console=PATH] [--pv-console=PATH] [--paused] [--] CONFIG [key=value ...]
 *
 * The "guest": its PV console prints "FAKE-PV <name> up" and nothing else;
 * its serial console prints "FAKE-GUEST <name> up" and echoes each
 * input line back as "echo: <line>"; shutdown(poweroff) ends the process
 * with status 0; shutdown(reboot) restarts in place when on_reboot is
 * "restart" (else status 3); destroy and SIGTERM end it with status 5.
 * Environment: FAKE_XENKVMD_HANG=1 ignores destroy and SIGTERM (for the
 * CLI's SIGKILL fallback); FAKE_XENKVMD_IGNORE_SHUTDOWN=1 takes shutdown
 * requests and does nothing, as a guest without PV drivers may (for
 * xenkvm-domains' destroy after its wait).  A config whose kernel file does not exist fails
 * like xenkvmd: a message and status 2.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xenkvm/console_server.h"
#include "xenkvm/control.h"
#include "xenkvm/domain_config.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "xenkvm/rundir.h"
#include "xenkvm/xenstore.h"
#include "xenkvm/xs_socket.h"

struct fake {
	struct domain_config cfg;
	int domid;
	enum control_state state;
	unsigned int restarts;
	int64_t start_time;
	bool hang;
	bool ignore_shutdown;
	int exit_pipe[2];         /* handlers write the exit status; main waits */
	struct xs_store *xs;
	struct xs_socket_server *xs_srv;
	struct control_server *ctl;
	int con_in, con_out;
};

static struct fake fk;

static void finish(int status)
{
	unsigned char b = (unsigned char)status;

	if (write(fk.exit_pipe[1], &b, 1) != 1)
		_exit(status);
}

static int h_info(void *opaque, struct control_domain_info *d)
{
	struct timespec ts;

	d->domid = fk.domid;
	snprintf(d->name, sizeof(d->name), "%s", fk.cfg.name ? fk.cfg.name : "");
	d->state = fk.state;
	d->blocked = true;   /* a fake guest is always idle */
	d->memory_mib = fk.cfg.memory_mib;
	d->maxmem_mib = fk.cfg.maxmem_mib;
	d->vcpus = fk.cfg.vcpus;
	d->maxvcpus = fk.cfg.maxvcpus;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	d->cpu_time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	d->start_time = fk.start_time;
	d->pid = (int)getpid();
	d->restarts = fk.restarts;
	snprintf(d->config, sizeof(d->config), "%s", fk.cfg.path ? fk.cfg.path : "");
	return 0;
}

static int h_vcpu_list(void *opaque, struct control_vcpu_info *v, unsigned int max, unsigned int *nr_r)
{
	unsigned int i;

	for (i = 0; i < fk.cfg.vcpus && i < max; i++)
		v[i] = (struct control_vcpu_info){ .id = i, .online = true, .running = false,
			.paused = fk.state == CONTROL_STATE_PAUSED, .host_cpu = -1, .affinity = "all" };
	*nr_r = i;
	return 0;
}

static int h_pause(void *opaque)
{
	if (fk.state == CONTROL_STATE_PAUSED) {
		control_server_set_message(fk.ctl, "domain %d is already paused", fk.domid);
		return -EALREADY;
	}
	fk.state = CONTROL_STATE_PAUSED;
	return 0;
}

static int h_unpause(void *opaque)
{
	if (fk.state != CONTROL_STATE_PAUSED) {
		control_server_set_message(fk.ctl, "domain %d is not paused", fk.domid);
		return -EINVAL;
	}
	fk.state = CONTROL_STATE_RUNNING;
	return 0;
}

static int h_shutdown(void *opaque, enum control_shutdown_reason r)
{
	if (fk.ignore_shutdown)
		return 0;
	/* What the real daemon does first: tell the PV drivers. */
	if (fk.xs)
		xs_domain_request_shutdown(fk.xs, (unsigned int)fk.domid,
					   r == CONTROL_SHUTDOWN_REBOOT ? "reboot" : "poweroff");
	if (r == CONTROL_SHUTDOWN_REBOOT && fk.cfg.on_reboot == ACTION_RESTART) {
		fk.restarts++;
		fk.start_time = time(NULL);
		fk.state = CONTROL_STATE_RUNNING;
		if (write(fk.con_out, "FAKE-GUEST rebooted\r\n", 21) < 0)
			pr_debug("console output dropped");
		return 0;
	}
	fk.state = CONTROL_STATE_SHUTDOWN;
	finish(r == CONTROL_SHUTDOWN_REBOOT ? 3 : 0);
	return 0;
}

static int h_destroy(void *opaque)
{
	if (fk.hang)
		return 0;   /* pretend, and do nothing: a hung daemon */
	fk.state = CONTROL_STATE_DYING;
	finish(5);
	return 0;
}

static int h_block_list(void *opaque, struct control_disk_info *d, unsigned int max, unsigned int *nr_r)
{
	unsigned int i;

	for (i = 0; i < fk.cfg.nr_disks && i < max; i++) {
		snprintf(d[i].vdev, sizeof(d[i].vdev), "%s", fk.cfg.disks[i].vdev ? fk.cfg.disks[i].vdev : "");
		snprintf(d[i].target, sizeof(d[i].target), "%s", fk.cfg.disks[i].target ? fk.cfg.disks[i].target : "");
		d[i].devid = (int)i;
		d[i].readonly = fk.cfg.disks[i].readonly;
		d[i].cdrom = fk.cfg.disks[i].cdrom;
		d[i].backend_state = d[i].frontend_state = -1;
	}
	*nr_r = i;
	return 0;
}

/* The "guest" side of the serial console: echo lines back. */
static void *guest_console(void *arg)
{
	char line[256], out[300];
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t r = read(fk.con_in, &c, 1);
		int len;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		if (c != '\r' && c != '\n') {
			if (n < sizeof(line) - 1)
				line[n++] = c;
			continue;
		}
		line[n] = 0;
		n = 0;
		len = snprintf(out, sizeof(out), "echo: %s\r\n", line);
		if (write(fk.con_out, out, (size_t)len) < 0)
			pr_debug("console output dropped");
	}
}

static unsigned int xs_nfds(void *o) { return xs_socket_server_nfds(o); }
static unsigned int xs_fill(void *o, struct pollfd *f, unsigned int m) { return xs_socket_server_pollfds(o, f, m); }
static void xs_handle(void *o, int fd, short rev) { xs_socket_server_handle(o, fd, rev); }
static void xs_after(void *o) { xs_socket_server_flush(o); }

static void on_term(int sig)
{
	if (!fk.hang)
		finish(5);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domid", required_argument, NULL, 'd' },
		{ "control", required_argument, NULL, 'C' },
		{ "xenstore-socket", required_argument, NULL, 'X' },
		{ "console", required_argument, NULL, 'S' },
		{ "pv-console", required_argument, NULL, 'W' },
		{ "log", required_argument, NULL, 'L' },
		{ "paused", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *control = NULL, *xs_path = NULL, *console = NULL, *pv_console = NULL;
	struct control_handlers h = {
		.info = h_info, .vcpu_list = h_vcpu_list, .pause = h_pause, .unpause = h_unpause,
		.shutdown = h_shutdown, .destroy = h_destroy, .block_list = h_block_list,
	};
	struct event_loop *loop = NULL;
	struct console_server *con = NULL, *pv_con = NULL;
	struct config_error err;
	pthread_t guest;
	unsigned char status = 1;
	int c, rc;

	rundir_cloexec_inherited();
	fk.hang = getenv("FAKE_XENKVMD_HANG") != NULL;
	fk.ignore_shutdown = getenv("FAKE_XENKVMD_IGNORE_SHUTDOWN") != NULL;
	fk.domid = 1;
	fk.con_in = fk.con_out = -1;
	while ((c = getopt_long(argc, argv, "+vq", opts, NULL)) != -1) {
		switch (c) {
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'q': log_set_level(LOG_ERR); break;
		case 'd': fk.domid = atoi(optarg); break;
		case 'C': control = optarg; break;
		case 'X': xs_path = optarg; break;
		case 'S': console = optarg; break;
		case 'W': pv_console = optarg; break;
		case 'L': break;
		case 'p': fk.state = CONTROL_STATE_PAUSED; break;
		default: return 2;
		}
	}
	if (optind >= argc)
		return 2;
	log_set_domid(fk.domid);
	if (domain_config_load(argv[optind], argv + optind + 1, (size_t)(argc - optind - 1), &fk.cfg, &err, NULL)) {
		fprintf(stderr, "xenkvmd: %s\n", err.msg);
		return 2;
	}
	if (!fk.cfg.kernel || access(fk.cfg.kernel, R_OK) < 0) {
		fprintf(stderr, "xenkvmd: kernel %s: %s\n", fk.cfg.kernel ? fk.cfg.kernel : "(none)", strerror(errno));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGHUP, on_term);
	fk.start_time = time(NULL);
	if (pipe(fk.exit_pipe) < 0 || event_loop_new(&loop))
		return 1;
	if (xs_path) {
		struct xs_quota q;
		struct xs_domain_info info = {
			.domid = (unsigned int)fk.domid, .name = fk.cfg.name, .uuid = "00000000-0000-0000-0000-000000000000",
			.max_memkb = fk.cfg.maxmem_mib * 1024, .target_memkb = fk.cfg.memory_mib * 1024,
			.vcpus = fk.cfg.vcpus, .hvm = true,
		};

		xs_quota_default(&q);
		fk.xs = xs_store_new(&q);
		if (!fk.xs || xs_domain_populate_dom0(fk.xs) || xs_domain_populate(fk.xs, &info) ||
		    xs_socket_server_new(fk.xs, xs_path, 0, &fk.xs_srv)) {
			pr_err("cannot serve XenStore on %s", xs_path);
			return 1;
		}
		event_loop_set_poll_source(loop, &(struct event_poll_source){
			.nfds = xs_nfds, .fill = xs_fill, .handle = xs_handle, .after = xs_after, .opaque = fk.xs_srv });
	}
	if (console) {
		rc = console_server_start(loop, console, &con);
		if (rc) {
			pr_err("console %s: %s", console, strerror(-rc));
			return 1;
		}
		console_server_fds(con, &fk.con_in, &fk.con_out);
	} else {
		fk.con_in = STDIN_FILENO;
		fk.con_out = STDOUT_FILENO;
	}
	if (pv_console) {
		int pv_in, pv_out;

		/* The PV console only says it is there. */
		rc = console_server_start(loop, pv_console, &pv_con);
		if (rc) {
			pr_err("PV console %s: %s", pv_console, strerror(-rc));
			return 1;
		}
		console_server_fds(pv_con, &pv_in, &pv_out);
		if (dprintf(pv_out, "FAKE-PV %s up\r\n", fk.cfg.name ? fk.cfg.name : "?") < 0)
			pr_debug("PV console output dropped");
	}
	if (pthread_create(&guest, NULL, guest_console, NULL))
		return 1;
	if (dprintf(fk.con_out, "FAKE-GUEST %s up\r\n", fk.cfg.name ? fk.cfg.name : "?") < 0)
		pr_debug("console output dropped");
	/* Last: once the control socket answers "running", create returns. */
	if (control) {
		rc = control_server_start(loop, control, &h, NULL, &fk.ctl);
		if (rc) {
			pr_err("control %s: %s", control, strerror(-rc));
			return 1;
		}
	}
	if (event_loop_start(loop, "io"))
		return 1;
	pr_info("fake domain '%s' running", fk.cfg.name);
	while (read(fk.exit_pipe[0], &status, 1) < 0 && errno == EINTR)
		;
	pr_info("domain ended (exit status %d)", status);
	/* The teardown order the real daemon needs: the loop, then the sockets,
	 * then (after the machine) the console pipes. */
	event_loop_stop(loop);
	control_server_free(fk.ctl);
	if (fk.xs_srv)
		xs_socket_server_free(fk.xs_srv);
	pthread_cancel(guest);
	pthread_join(guest, NULL);
	console_server_free(con);
	console_server_free(pv_con);
	event_loop_free(loop);
	if (fk.xs)
		xs_store_free(fk.xs);
	domain_config_free(&fk.cfg);
	return status;
}
