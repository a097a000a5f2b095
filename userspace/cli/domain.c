/*
 * Verbs that act on running domains through their control sockets:
 * list, destroy, shutdown, reboot, pause, unpause, vcpu-list, info, and the
 * block and network device verbs.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "xenkvm/domain_config.h"
#include "xenkvm/json.h"
#include "xenkvm/kvm_probe.h"

#define CONTROL_TIMEOUT_MS 5000
#define DESTROY_GRACE_MS   5000

/*
 * Options common to simple verbs: only -h/--help and the letters in
 * `letters` (each sets flags[i]); positional arguments between min and
 * max.  Returns -1 after printing help, CLI_USAGE on error, else 0 with
 * *first_r the index of the first positional argument.
 */
static int verb_args(const char *verb, int argc, char **argv, const char *letters, bool *flags,
		     int min, int max, int *first_r)
{
	int i, n;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1])
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cli_print_help(cli_verb_find(verb));
			return -1;
		}
		for (const char *p = a + 1; *p; p++) {
			const char *at = letters ? strchr(letters, *p) : NULL;

			if (a[1] == '-' || !at)
				return cli_usage_error(verb, "unknown option '%s'", a);
			flags[at - letters] = true;
		}
	}
	n = argc - i;
	if (n < min)
		return cli_usage_error(verb, "'xenkvm %s' requires at least %d argument%s", verb, min,
				       min == 1 ? "" : "s");
	if (max >= 0 && n > max)
		return cli_usage_error(verb, "too many arguments");
	*first_r = i;
	return 0;
}

#define VERB_ARGS(verb, letters, flags, min, max, first)                              \
	do {                                                                         \
		int rc_ = verb_args(verb, argc, argv, letters, flags, min, max, first); \
		if (rc_)                                                             \
			return rc_ < 0 ? CLI_OK : rc_;                               \
	} while (0)

/* --- list ---------------------------------------------------------------- */

static void state_letters(const struct control_domain_info *d, char out[7])
{
	snprintf(out, 7, "%c%c%c%c%c%c",
		 d->state == CONTROL_STATE_RUNNING && !d->blocked ? 'r' : '-',
		 d->state == CONTROL_STATE_RUNNING && d->blocked ? 'b' : '-',
		 d->state == CONTROL_STATE_PAUSED ? 'p' : '-',
		 d->state == CONTROL_STATE_SHUTDOWN ? 's' : '-',
		 d->state == CONTROL_STATE_CRASHED ? 'c' : '-',
		 d->state == CONTROL_STATE_DYING ? 'd' : '-');
}

/* Info without printing transport errors: `list` shows unreachable domains as such. */
static int quiet_info(const struct rundir *rd, const struct rundir_entry *e, enum control_op op,
		      struct control_reply *rep, char *why, size_t whylen)
{
	struct control_request req = { .version = CONTROL_PROTOCOL_VERSION, .op = op };
	char path[sizeof(rd->base) + 32], err[256];
	int rc = rundir_path(rd, e->domid, "control.sock", path, sizeof(path));

	if (!rc)
		rc = control_call(path, &req, 2000, rep, err, sizeof(err));
	if (rc)
		snprintf(why, whylen, "%s%s%s", strerror(-rc), err[0] ? ": " : "", err);
	else if (rep->error) {
		snprintf(why, whylen, "%s", rep->message);
		rc = rep->error;
		control_reply_free(rep);
	}
	return rc;
}

static void json_domain(struct json_writer *w, const struct rundir *rd, const struct rundir_entry *e,
			bool detail)
{
	struct control_reply rep, vrep;
	char why[CONTROL_TEXT_MAX], *config;
	int rc = quiet_info(rd, e, CONTROL_OP_INFO, &rep, why, sizeof(why));
	const struct control_domain_info *d = &rep.info;

	json_write_object_begin(w, NULL);
	json_write_int(w, "domid", e->domid);
	json_write_string(w, "name", e->name);
	json_write_int(w, "pid", e->pid);
	if (rc) {
		json_write_string(w, "state", "unknown");
		json_write_string(w, "error", why);
	} else {
		json_write_string(w, "state", control_state_name(d->state));
		json_write_bool(w, "blocked", d->blocked);
		json_write_string(w, "uuid", d->uuid);
		json_write_int(w, "memory_mib", (int64_t)d->memory_mib);
		json_write_int(w, "maxmem_mib", (int64_t)d->maxmem_mib);
		json_write_int(w, "vcpus", d->vcpus);
		json_write_int(w, "maxvcpus", d->maxvcpus);
		json_write_int(w, "cpu_time_ns", (int64_t)d->cpu_time_ns);
		json_write_int(w, "start_time", d->start_time);
		json_write_int(w, "restarts", d->restarts);
		json_write_string(w, "config", d->config);
		json_write_string(w, "type", d->type);
	}
	if (detail) {
		if (!rc && !quiet_info(rd, e, CONTROL_OP_VCPU_LIST, &vrep, why, sizeof(why))) {
			json_write_array_begin(w, "vcpu_list");
			for (unsigned int i = 0; i < vrep.nr_vcpus; i++) {
				const struct control_vcpu_info *c = &vrep.vcpus[i];

				json_write_object_begin(w, NULL);
				json_write_int(w, "id", c->id);
				json_write_bool(w, "online", c->online);
				json_write_bool(w, "running", c->running);
				json_write_bool(w, "paused", c->paused);
				json_write_int(w, "host_cpu", c->host_cpu);
				json_write_int(w, "cpu_time_ns", (int64_t)c->cpu_time_ns);
				json_write_string(w, "affinity", c->affinity);
				json_write_object_end(w);
			}
			json_write_array_end(w);
			control_reply_free(&vrep);
		}
		config = malloc(65536);
		if (config && rundir_read_file(rd, e->domid, "config", config, 65536) >= 0)
			json_write_string(w, "config_text", config);
		free(config);
	}
	json_write_object_end(w);
	control_reply_free(&rep);
}

static bool selected(const struct rundir_entry *e, char **names, int n)
{
	char id[16];

	if (!n)
		return true;
	snprintf(id, sizeof(id), "%d", e->domid);
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], e->name) || !strcmp(names[i], id))
			return true;
	return false;
}

int cli_list(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rundir rd = { .lock_fd = -1 };
	struct rundir_entry *list = NULL;
	size_t nr = 0;
	bool json = false, detail = false;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+lh", lopts, NULL)) != -1) {
		switch (c) {
		case 'l': json = detail = true; break;
		case 'j': json = true; break;
		case 'h':
			cli_print_help(cli_verb_find("list"));
			return CLI_OK;
		default:
			return cli_usage_error("list", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (cli_rundir_open("list", &rd))
		return CLI_FAIL;
	rc = rundir_list(&rd, &list, &nr, NULL);
	if (rc) {
		rundir_close(&rd);
		return cli_fail("list", "cannot read %s: %s", rd.base, strerror(-rc));
	}
	for (int i = optind; i < argc; i++) {
		bool any = false;

		for (size_t j = 0; j < nr; j++)
			any |= selected(&list[j], argv + i, 1);
		if (!any) {
			fprintf(stderr, "%s is an invalid domain identifier (no such domain)\n", argv[i]);
			rc = -ENOENT;
		}
	}
	if (rc) {
		free(list);
		rundir_close(&rd);
		return CLI_FAIL;
	}
	if (json) {
		struct json_writer w;
		char *text;

		json_writer_init(&w, 2);
		json_write_array_begin(&w, NULL);
		for (size_t j = 0; j < nr; j++)
			if (selected(&list[j], argv + optind, argc - optind))
				json_domain(&w, &rd, &list[j], detail);
		json_write_array_end(&w);
		rc = json_writer_finish(&w, &text, NULL);
		if (!rc) {
			printf("%s\n", text);
			free(text);
		}
	} else {
		printf("Name                                        ID   Mem VCPUs\tState\tTime(s)\n");
		for (size_t j = 0; j < nr; j++) {
			struct control_reply rep;
			char why[CONTROL_TEXT_MAX], st[7];

			if (!selected(&list[j], argv + optind, argc - optind))
				continue;
			if (quiet_info(&rd, &list[j], CONTROL_OP_INFO, &rep, why, sizeof(why))) {
				/* Alive (it holds its lock) but not answering: starting or hung. */
				printf("%-40s %5d %5s %5s     %s  %8s\n", list[j].name, list[j].domid, "-", "-",
				       "------", "-");
				continue;
			}
			state_letters(&rep.info, st);
			printf("%-40s %5d %5llu %5u     %s  %8.1f\n", list[j].name, list[j].domid,
			       (unsigned long long)rep.info.memory_mib, rep.info.vcpus, st,
			       (double)rep.info.cpu_time_ns / 1e9);
			control_reply_free(&rep);
		}
	}
	free(list);
	rundir_close(&rd);
	return rc ? CLI_FAIL : CLI_OK;
}

/* --- one-request verbs ------------------------------------------------------ */

/* Finds DOMAIN, sends op, prints nothing on success. */
static int simple_request(const char *verb, const char *domain, enum control_op op, const char *arg,
			  struct rundir *rd, struct rundir_entry *e, struct control_reply *rep)
{
	int rc;

	/* callers free the reply whether or not there was one */
	memset(rep, 0, sizeof(*rep));
	rc = cli_find_domain(verb, rd, domain, e);
	if (rc)
		return rc;
	return cli_control(verb, rd, e, op, arg, CONTROL_TIMEOUT_MS, rep);
}

/* One request to one domain that prints nothing when it works; req->op
 * and its arguments set, the rest is filled in here. */
static int request_once(const char *verb, const char *domain, struct control_request *req)
{
	struct rundir rd = { .lock_fd = -1 };
	struct rundir_entry e;
	struct control_reply rep;
	int rc;

	memset(&rep, 0, sizeof(rep));
	req->version = CONTROL_PROTOCOL_VERSION;
	if (cli_rundir_open(verb, &rd))
		return CLI_FAIL;
	rc = cli_find_domain(verb, &rd, domain, &e);
	if (!rc)
		rc = cli_control_req(verb, &rd, &e, req, CONTROL_TIMEOUT_MS, &rep);
	control_reply_free(&rep);
	rundir_close(&rd);
	return rc ? CLI_FAIL : CLI_OK;
}

static int one_domain_op(const char *verb, int argc, char **argv, enum control_op op)
{
	struct control_request req = { .op = op };
	int first;

	VERB_ARGS(verb, NULL, NULL, 1, 1, &first);
	return request_once(verb, argv[first], &req);
}

int cli_pause(int argc, char **argv)
{
	return one_domain_op("pause", argc, argv, CONTROL_OP_PAUSE);
}

int cli_unpause(int argc, char **argv)
{
	return one_domain_op("unpause", argc, argv, CONTROL_OP_UNPAUSE);
}

int cli_reboot(int argc, char **argv)
{
	struct control_request req = { .op = CONTROL_OP_SHUTDOWN, .reason = CONTROL_SHUTDOWN_REBOOT };
	int first;

	VERB_ARGS("reboot", NULL, NULL, 1, 1, &first);
	return request_once("reboot", argv[first], &req);
}

int cli_shutdown(int argc, char **argv)
{
	struct rundir rd = { .lock_fd = -1 };
	struct rundir_entry *list = NULL, one;
	struct control_reply rep;
	bool flags[2] = { false, false };  /* w, a */
	size_t nr = 0, i;
	int first, rc = 0, failed = 0;

	VERB_ARGS("shutdown", "wa", flags, 0, 1, &first);
	if (flags[1] == (first < argc))
		return cli_usage_error("shutdown", flags[1] ? "-a takes no DOMAIN" : "a DOMAIN (or -a) is required");
	if (cli_rundir_open("shutdown", &rd))
		return CLI_FAIL;
	if (flags[1]) {
		rc = rundir_list(&rd, &list, &nr, NULL);
	} else {
		rc = cli_find_domain("shutdown", &rd, argv[first], &one);
		if (!rc) {
			list = malloc(sizeof(*list));
			if (list) {
				list[0] = one;
				nr = 1;
			} else {
				rc = -ENOMEM;
			}
		}
	}
	if (rc)
		goto out;
	for (i = 0; i < nr; i++) {
		fprintf(stderr, "Shutting down domain %d\n", list[i].domid);
		if (cli_control("shutdown", &rd, &list[i], CONTROL_OP_SHUTDOWN, "poweroff",
				CONTROL_TIMEOUT_MS, &rep)) {
			failed++;
			list[i].domid = -1;
		}
		control_reply_free(&rep);
	}
	if (flags[0] && nr > (size_t)failed) {
		fprintf(stderr, "Waiting for %zu domains\n", nr - (size_t)failed);
		for (i = 0; i < nr; i++) {
			if (list[i].domid < 0)
				continue;
			cli_wait_gone(&rd, list[i].domid, -1);
			fprintf(stderr, "Domain %d has been shut down\n", list[i].domid);
			rundir_remove(&rd, list[i].domid);
		}
		fprintf(stderr, "All domains have been shut down\n");
	}
out:
	free(list);
	rundir_close(&rd);
	return rc || failed ? CLI_FAIL : CLI_OK;
}

int cli_destroy(int argc, char **argv)
{
	struct rundir rd = { .lock_fd = -1 };
	struct rundir_entry e;
	struct control_reply rep;
	char path[sizeof(rd.base) + 32];
	int first, rc;

	VERB_ARGS("destroy", NULL, NULL, 1, 1, &first);
	if (cli_rundir_open("destroy", &rd))
		return CLI_FAIL;
	rc = cli_find_domain("destroy", &rd, argv[first], &e);
	if (rc)
		goto out;
	if (rundir_path(&rd, e.domid, "control.sock", path, sizeof(path)) == 0) {
		struct control_request req = { .version = CONTROL_PROTOCOL_VERSION, .op = CONTROL_OP_DESTROY };
		char err[CONTROL_TEXT_MAX];

		/* The daemon may exit before it replies: only the outcome counts. */
		rc = control_call(path, &req, 2000, &rep, err, sizeof(err));
		control_reply_free(&rep);
	}
	rc = cli_wait_gone(&rd, e.domid, DESTROY_GRACE_MS);
	if (rc && e.pid > 0 && rundir_alive(&rd, e.domid)) {
		fprintf(stderr, "xenkvm destroy: domain %s (id %d) did not stop; killing pid %d\n",
			e.name, e.domid, (int)e.pid);
		kill(e.pid, SIGKILL);
		rc = cli_wait_gone(&rd, e.domid, DESTROY_GRACE_MS);
	}
	if (rc) {
		cli_fail("destroy", "domain %s (id %d) is still there (pid %d)", e.name, e.domid, (int)e.pid);
		goto out;
	}
	rundir_remove(&rd, e.domid);
out:
	rundir_close(&rd);
	return rc ? CLI_FAIL : CLI_OK;
}

/* --- vcpu-list ------------------------------------------------------------- */

int cli_vcpu_list(int argc, char **argv)
{
	struct rundir rd = { .lock_fd = -1 };
	struct rundir_entry *list = NULL;
	size_t nr = 0;
	int first, rc, failed = 0;

	VERB_ARGS("vcpu-list", NULL, NULL, 0, -1, &first);
	if (cli_rundir_open("vcpu-list", &rd))
		return CLI_FAIL;
	rc = rundir_list(&rd, &list, &nr, NULL);
	if (rc) {
		rundir_close(&rd);
		return cli_fail("vcpu-list", "cannot read %s: %s", rd.base, strerror(-rc));
	}
	for (int i = first; i < argc; i++) {
		bool any = false;

		for (size_t j = 0; j < nr; j++)
			any |= selected(&list[j], argv + i, 1);
		if (!any) {
			fprintf(stderr, "%s is an invalid domain identifier (no such domain)\n", argv[i]);
			failed++;
		}
	}
	if (!failed) {
		printf("Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n");
		for (size_t j = 0; j < nr; j++) {
			struct control_reply rep;

			if (!selected(&list[j], argv + first, argc - first))
				continue;
			if (cli_control("vcpu-list", &rd, &list[j], CONTROL_OP_VCPU_LIST, NULL,
					CONTROL_TIMEOUT_MS, &rep)) {
				failed++;
				continue;
			}
			for (unsigned int k = 0; k < rep.nr_vcpus; k++) {
				const struct control_vcpu_info *c = &rep.vcpus[k];
				char cpu[16];

				if (c->online && c->host_cpu >= 0)
					snprintf(cpu, sizeof(cpu), "%5d", c->host_cpu);
				else
					snprintf(cpu, sizeof(cpu), "%5s", "-");
				printf("%-32s %5d %5u %s   %c%c%c  %9.1f  %s / all\n", list[j].name, list[j].domid,
				       c->id, cpu,
				       c->online && c->running && !c->paused ? 'r' : '-',
				       c->online && !c->running && !c->paused ? 'b' : '-',
				       !c->online || c->paused ? 'p' : '-',
				       (double)c->cpu_time_ns / 1e9, c->affinity[0] ? c->affinity : "all");
			}
			control_reply_free(&rep);
		}
	}
	free(list);
	rundir_close(&rd);
	return failed ? CLI_FAIL : CLI_OK;
}

/* --- info (the host, as xl info) ------------------------------------------- */

static long long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t klen = strlen(key);
	long long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

int cli_info(int argc, char **argv)
{
	struct rundir rd = { .lock_fd = -1 };
	struct rundir_entry *list = NULL;
	struct utsname u;
	size_t nr = 0;
	int first;
	struct kvm_probe probe;
	enum xen_hcall_path path;
	char kvm[320];
	bool have_rd;

	VERB_ARGS("info", NULL, NULL, 0, 0, &first);
	if (uname(&u) < 0)
		return cli_fail("info", "uname: %s", strerror(errno));
	have_rd = !cli_rundir_open("info", &rd);
	cli_kvm_probe(have_rd ? &rd : NULL, &probe);
	if (!probe.opened)
		snprintf(kvm, sizeof(kvm), "no (%s)", probe.open_errno == ENOENT ? "no /dev/kvm" :
			 probe.open_errno == EACCES ? "permission denied" : probe.verdict);
	else if (probe.hw_speed)
		snprintf(kvm, sizeof(kvm), "yes, hardware speed");
	else
		snprintf(kvm, sizeof(kvm), "yes, but it cannot run guests at a useful speed: %s",
			 probe.verdict);
	path = kvm_probe_auto_path(probe.xen_caps, probe.user_msr);
	printf("host                   : %s\n", u.nodename);
	printf("release                : %s\n", u.release);
	printf("version                : %s\n", u.version);
	printf("machine                : %s\n", u.machine);
	printf("nr_cpus                : %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	printf("total_memory           : %lld\n", meminfo_kb("MemTotal") / 1024);
	printf("free_memory            : %lld\n", meminfo_kb("MemAvailable") / 1024);
	printf("kvm                    : %s\n", kvm);
	if (probe.opened) {
		printf("kvm_xen                : %s (KVM_CAP_XEN_HVM %#x)\n",
		       probe.xen_caps ? "yes" : "no: Linux guests need CONFIG_KVM_XEN, see "
		       "docs/KERNEL-MODULES.md", probe.xen_caps);
		printf("xen_hypercall_path     : %s\n", path == XEN_PATH_INTERCEPT ?
		       "intercept (KVM takes vmcall/vmmcall)" : path == XEN_PATH_BLOB ?
		       "blob (KVM writes the hypercall page)" : path == XEN_PATH_MSR ?
		       "msr (userspace MSR exits: only guests that use the hypercall page)" :
		       "none (no CONFIG_KVM_XEN, no userspace MSR exits)");
		printf("xen_fast_paths         : %s\n", kvm_probe_fast_paths(probe.xen_caps) ?
		       "yes (in-kernel event channels, timers, pvclock)" : "no");
		printf("max_vcpus              : %d\n", probe.max_vcpus);
	}
	printf("xenkvm_version         : 0.1\n");
	printf("control_protocol       : %d\n", CONTROL_PROTOCOL_VERSION);
	if (have_rd) {
		if (!rundir_list(&rd, &list, &nr, NULL))
			printf("nr_domains             : %zu\n", nr);
		printf("run_directory          : %s\n", rd.base);
		free(list);
		rundir_close(&rd);
	}
	return CLI_OK;
}

/* --- block and network devices --------------------------------------------- */

static int device_op(const char *verb, int argc, char **argv, enum control_op op)
{
	struct rundir rd = { .lock_fd = -1 };
	struct rundir_entry e;
	struct control_reply rep;
	struct config_error err;
	int first, rc;

	VERB_ARGS(verb, NULL, NULL, 2, 2, &first);
	/* Check the spec here: a typo gets xl's message without a round trip. */
	if (op == CONTROL_OP_BLOCK_ATTACH) {
		struct disk_spec d;

		memset(&d, 0, sizeof(d));
		rc = disk_spec_parse(argv[first + 1], &d, &err);
		disk_spec_free(&d);
		if (rc)
			return cli_fail(verb, "%s", err.msg);
	} else if (op == CONTROL_OP_NETWORK_ATTACH) {
		struct vif_spec v;

		memset(&v, 0, sizeof(v));
		rc = vif_spec_parse(argv[first + 1], &v, &err);
		vif_spec_free(&v);
		if (rc)
			return cli_fail(verb, "%s", err.msg);
	}
	if (cli_rundir_open(verb, &rd))
		return CLI_FAIL;
	rc = simple_request(verb, argv[first], op, argv[first + 1], &rd, &e, &rep);
	if (!rc && op == CONTROL_OP_BLOCK_ATTACH && rep.vdev[0])
		printf("%s\n", rep.vdev);
	if (!rc && op == CONTROL_OP_NETWORK_ATTACH)
		printf("%d\n", rep.devid);
	control_reply_free(&rep);
	rundir_close(&rd);
	return rc ? CLI_FAIL : CLI_OK;
}

int cli_block_attach(int argc, char **argv)
{
	return device_op("block-attach", argc, argv, CONTROL_OP_BLOCK_ATTACH);
}

int cli_block_detach(int argc, char **argv)
{
	return device_op("block-detach", argc, argv, CONTROL_OP_BLOCK_DETACH);
}

int cli_network_attach(int argc, char **argv)
{
	return device_op("network-attach", argc, argv, CONTROL_OP_NETWORK_ATTACH);
}

int cli_network_detach(int argc, char **argv)
{
	return device_op("network-detach", argc, argv, CONTROL_OP_NETWORK_DETACH);
}

/* xl's memory sizes: MiB unless a b, k, m, g or t suffix says otherwise. */
static int parse_mem_kib(const char *s, uint64_t *kib_r)
{
	unsigned long long v;
	unsigned int shift;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end && end[1])
		return -EINVAL;
	switch (tolower((unsigned char)*end)) {
	case 0: case 'm': shift = 10; break;
	case 'k': shift = 0; break;
	case 'g': shift = 20; break;
	case 't': shift = 30; break;
	case 'b': v >>= 10; shift = 0; break;
	default: return -EINVAL;
	}
	if (v > (unsigned long long)CONTROL_MEMORY_MAX_KIB >> shift)
		return -ERANGE;
	*kib_r = (uint64_t)v << shift;
	return 0;
}

int cli_mem_set(int argc, char **argv)
{
	struct control_request req = { .op = CONTROL_OP_MEM_SET };
	int first;

	VERB_ARGS("mem-set", NULL, NULL, 2, 2, &first);
	if (parse_mem_kib(argv[first + 1], &req.target_kib) || !req.target_kib)
		return cli_usage_error("mem-set", "MEMORY '%s' is not a size (MiB, or a number "
				       "ending in b, k, m, g or t) from 1k to 1t", argv[first + 1]);
	return request_once("mem-set", argv[first], &req);
}

int cli_sysrq(int argc, char **argv)
{
	struct control_request req = { .op = CONTROL_OP_SYSRQ };
	const char *key;
	int first;

	VERB_ARGS("sysrq", NULL, NULL, 2, 2, &first);
	key = argv[first + 1];
	if (!control_sysrq_key_valid(key))
		return cli_usage_error("sysrq", "KEY '%s' is not one printable character", key);
	snprintf(req.arg, sizeof(req.arg), "%s", key);
	return request_once("sysrq", argv[first], &req);
}

int cli_trigger(int argc, char **argv)
{
	struct control_request req = { .op = CONTROL_OP_TRIGGER };
	const char *kind;
	char *end;
	int first;

	VERB_ARGS("trigger", NULL, NULL, 2, 3, &first);
	kind = argv[first + 1];
	if (!control_trigger_kind_valid(kind))
		return cli_usage_error("trigger", "'%s' is not power, reset or nmi (init, sleep and "
				       "s3resume are not offered)", kind);
	snprintf(req.arg, sizeof(req.arg), "%s", kind);
	if (first + 2 < argc) {
		unsigned long v;

		errno = 0;
		v = strtoul(argv[first + 2], &end, 10);
		if (strcmp(kind, "nmi") || !isdigit((unsigned char)argv[first + 2][0]) || *end ||
		    errno || v >= CONTROL_LIST_MAX)
			return cli_usage_error("trigger", "VCPU '%s': only nmi takes one, a number "
					       "below %d", argv[first + 2], CONTROL_LIST_MAX);
		req.vcpu = (unsigned int)v;
	}
	return request_once("trigger", argv[first], &req);
}

static int list_devices(const char *verb, int argc, char **argv, enum control_op op)
{
	struct rundir rd = { .lock_fd = -1 };
	struct rundir_entry e;
	struct control_reply rep;
	int first, rc;
	unsigned int i;

	VERB_ARGS(verb, NULL, NULL, 1, 1, &first);
	if (cli_rundir_open(verb, &rd))
		return CLI_FAIL;
	rc = simple_request(verb, argv[first], op, NULL, &rd, &e, &rep);
	if (!rc && op == CONTROL_OP_BLOCK_LIST) {
		printf("Vdev   BE-state FE-state Mode Target\n");
		for (i = 0; i < rep.nr_disks; i++)
			printf("%-6s %8d %8d %-4s %s\n", rep.disks[i].vdev, rep.disks[i].backend_state,
			       rep.disks[i].frontend_state,
			       rep.disks[i].cdrom ? "cd" : rep.disks[i].readonly ? "r" : "w",
			       rep.disks[i].target);
	} else if (!rc) {
		printf("Idx BE-state FE-state Mac Addr.         Backend  TX-pkts TX-bytes TX-drop "
		       "TX-err RX-pkts RX-bytes RX-drop RX-err\n");
		for (i = 0; i < rep.nr_nics; i++) {
			const struct control_nic_info *n = &rep.nics[i];

			printf("%-3d %8d %8d %-17s %-8s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
			       " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", n->devid,
			       n->backend_state, n->frontend_state, n->mac, n->backend, n->tx_packets,
			       n->tx_bytes, n->tx_drops, n->tx_errors, n->rx_packets, n->rx_bytes,
			       n->rx_drops, n->rx_errors);
		}
	}
	control_reply_free(&rep);
	rundir_close(&rd);
	return rc ? CLI_FAIL : CLI_OK;
}

int cli_block_list(int argc, char **argv)
{
	return list_devices("block-list", argc, argv, CONTROL_OP_BLOCK_LIST);
}

int cli_network_list(int argc, char **argv)
{
	return list_devices("network-list", argc, argv, CONTROL_OP_NETWORK_LIST);
}
