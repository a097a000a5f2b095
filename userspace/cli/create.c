/*
 * xenkvm create: check the config, reserve a domid in the run directory,
 * start xenkvmd detached (or exec it with -F) and wait until it reports the
 * domain running over its control socket, or has died (its `alive` lock
 * freed), in which case the end of its log says why.
 *
 * xenkvm restore is the same from a saved domain (xenkvm save): the config
 * comes from the file, which is checked whole (every section's checksum,
 * the build id) before anything starts, and the saved domid is reserved.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "xenkvm/config_state.h"
#include "xenkvm/domain_config.h"
#include "xenkvm/kvm_probe.h"

#define CREATE_TIMEOUT_MS 60000

struct create_opts {
	bool console, paused, foreground, dry_run, quiet, verbose;
	bool restore;            /* config is a saved domain (xenkvm restore) */
	const char *verb;
	const char *user;        /* -u/--user; NULL: the default (pick_user) */
	const char *config;
	char **overrides;
	size_t nr_overrides;
	struct cli_stream_restore *stream;   /* migrate-receive: restore from a pipe */
};

static const char *warn_verb = "create";

static void config_warning(const char *msg)
{
	fprintf(stderr, "xenkvm %s: warning: %s\n", warn_verb, msg);
}

static int parse_opts(int argc, char **argv, struct create_opts *o, bool restore)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->restore = restore;
	o->verb = restore ? "restore" : "create";
	optind = 0;   /* glibc: full re-initialisation for a verb's own argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+cpFnqvhu:", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->console = true; break;
		case 'p': o->paused = true; break;
		case 'F': o->foreground = true; break;
		case 'n': o->dry_run = true; break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose = true; break;
		case 'u': o->user = optarg; break;
		case 'h':
			cli_print_help(cli_verb_find(o->verb));
			return -1;
		default:
			return cli_usage_error(o->verb, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error(o->verb, restore ? "no saved file given" : "no config file given");
	o->config = argv[optind];
	o->overrides = argv + optind + 1;
	o->nr_overrides = (size_t)(argc - optind - 1);
	for (size_t i = 0; i < o->nr_overrides; i++)
		if (!strchr(o->overrides[i], '='))
			return cli_usage_error(o->verb, "'%s' is not a key=value override", o->overrides[i]);
	if (o->foreground && o->console)
		o->console = false;   /* -F already has the console on this terminal */
	return 0;
}

/* The config file as read, plus the overrides as later lines (xl.cfg lets
 * a later assignment win, as the command line does): the run directory's copy. */
/*
 * A saved domain: the header and config section, then every further
 * section's checksum up to the end section, so that a truncated or
 * damaged file is refused before a daemon starts.  The config text gets
 * the overrides as later lines (as xenkvmd --restore does).  0, or -1
 * with the reason printed.
 */
static int restore_read(const struct create_opts *o, struct domain_config *cfg, char **text_r,
			size_t *len_r, int *domid_r)
{
	struct config_state cs;
	struct state_section sec;
	struct state_reader *r;
	struct config_error err;
	char why[512], *text = NULL;
	size_t len;
	int fd, rc;

	fd = open(o->config, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_fail("restore", "%s: %s", o->config, strerror(errno));
		return -1;
	}
	r = state_reader_new_fd(fd);
	if (!r) {
		close(fd);
		return -1;
	}
	rc = config_state_open(r, &cs, why, sizeof(why));
	if (rc) {
		cli_fail("restore", "%s: %s", o->config, why);
		goto out;
	}
	while ((rc = state_reader_next(r, &sec)) == 1)
		;
	if (rc) {
		cli_fail("restore", "%s: damaged, nothing started: %s", o->config, state_reader_error(r));
		goto out;
	}
	rc = config_state_append(cs.text, cs.len, o->overrides, o->nr_overrides, &text, &len);
	if (rc) {
		cli_fail("restore", "the overrides: %s", strerror(-rc));
		goto out;
	}
	rc = -1;
	if (domain_config_parse(o->config, text, len, NULL, 0, cfg, &err, config_warning)) {
		cli_fail("restore", "the saved config: %s", err.msg);
		goto out;
	}
	*text_r = text;
	text = NULL;
	*len_r = len;
	*domid_r = (int)cs.domid;
	rc = 0;
out:
	free(text);
	config_state_free(&cs);
	state_reader_free(r);
	close(fd);
	return rc ? -1 : 0;
}

static int save_config(const struct rundir *rd, int domid, const struct create_opts *o)
{
	char *text = NULL, *p;
	size_t len = 0, cap;
	FILE *f = fopen(o->config, "r");
	int rc = 0;

	if (!f)
		return -errno;
	cap = 65536;
	text = malloc(cap);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	for (;;) {
		size_t n = fread(text + len, 1, cap - len, f);

		len += n;
		if (len < cap)
			break;
		cap *= 2;
		if (cap > (16u << 20)) {
			rc = -EFBIG;
			goto out;
		}
		p = realloc(text, cap);
		if (!p) {
			rc = -ENOMEM;
			goto out;
		}
		text = p;
	}
	for (size_t i = 0; i < o->nr_overrides; i++) {
		size_t need = strlen(o->overrides[i]) + 64;

		if (len + need > cap) {
			cap = len + need;
			p = realloc(text, cap);
			if (!p) {
				rc = -ENOMEM;
				goto out;
			}
			text = p;
		}
		len += (size_t)snprintf(text + len, cap - len, "%s%s\n",
					i == 0 ? "\n# xenkvm create: overrides from the command line\n" : "",
					o->overrides[i]);
	}
	rc = rundir_write_file(rd, domid, "config", text, len);
out:
	free(text);
	fclose(f);
	return rc;
}

/* argv for xenkvmd; strings it points to live in `paths` (caller frees both). */
static char **daemon_argv(const struct rundir *rd, int domid, const struct create_opts *o,
			  const char *daemon, const char *config_abs, const char *user,
			  char ***paths_r)
{
	static const struct { const char *opt, *file; bool console; } sockets[] = {
		{ "--control=", "control.sock", false },
		{ "--xenstore-socket=", "xenstore.sock", false },
		{ "--console=", "console.sock", true },
		{ "--pv-console=", "pv-console.sock", true },
	};
	char **argv = calloc(16 + o->nr_overrides, sizeof(*argv));
	char **paths = calloc(8, sizeof(*paths));
	char path[sizeof(rd->base) + 32];
	size_t n = 0, np = 0;

	if (!argv || !paths)
		goto fail;
	argv[n++] = (char *)daemon;
	if (asprintf(&paths[np], "--domid=%d", domid) < 0)
		goto fail;
	argv[n++] = paths[np++];
	for (size_t i = 0; i < sizeof(sockets) / sizeof(sockets[0]); i++) {
		/* -F keeps the consoles on this terminal: no console sockets then. */
		if (o->foreground && sockets[i].console)
			continue;
		if (rundir_path(rd, domid, sockets[i].file, path, sizeof(path)) ||
		    asprintf(&paths[np], "%s%s", sockets[i].opt, path) < 0)
			goto fail;
		argv[n++] = paths[np++];
	}
	if (o->paused)
		argv[n++] = "--paused";
	if (o->verbose)
		argv[n++] = "-v";
	if (o->restore)
		argv[n++] = "--restore";
	if (user) {
		if (asprintf(&paths[np], "--user=%s", user) < 0)
			goto fail;
		argv[n++] = paths[np++];
	}
	argv[n++] = "--";
	argv[n++] = (char *)config_abs;
	for (size_t i = 0; i < o->nr_overrides; i++)
		argv[n++] = o->overrides[i];
	*paths_r = paths;
	return argv;
fail:
	if (paths)
		for (size_t i = 0; i < np; i++)
			free(paths[i]);
	free(paths);
	free(argv);
	return NULL;
}

static void free_argv(char **argv, char **paths)
{
	if (paths)
		for (size_t i = 0; paths[i]; i++)
			free(paths[i]);
	free(paths);
	free(argv);
}

/* Writes all of buf to fd (a pipe to the parent); errors are ignored: the
 * parent notices a short message. */
static void put_int(int fd, int v)
{
	ssize_t n;

	do
		n = write(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
}

/*
 * Double fork: the daemon is re-parented to init and in its own session,
 * so it survives this terminal.  Its stdin is /dev/null, stdout and stderr
 * the log.  The pipe carries the daemon's pid, then (only if exec failed)
 * the errno; EOF without the errno means exec succeeded (O_CLOEXEC).
 */
static int spawn_detached(char **argv, const char *log_path, pid_t *pid_r)
{
	int pfd[2] = { -1, -1 }, log_fd = -1, null_fd = -1, rc = 0, v, status;
	pid_t child, daemon_pid = -1;
	ssize_t n;

	log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (log_fd < 0 || null_fd < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		rc = -errno;
		goto out;
	}
	if (child == 0) {
		pid_t gc;

		close(pfd[0]);
		setsid();
		gc = fork();
		if (gc < 0)
			_exit(1);
		if (gc > 0) {
			put_int(pfd[1], (int)gc);
			_exit(0);
		}
		if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
		    dup2(log_fd, STDERR_FILENO) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		v = errno;
		put_int(pfd[1], v);
		_exit(127);
	}
	close(pfd[1]);
	pfd[1] = -1;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	do
		n = read(pfd[0], &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(v)) {
		rc = -ECHILD;
		goto out;
	}
	daemon_pid = (pid_t)v;
	do
		n = read(pfd[0], &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(v)) {
		rc = -v;   /* exec failed */
		goto out;
	}
	*pid_r = daemon_pid;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (log_fd >= 0)
		close(log_fd);
	if (null_fd >= 0)
		close(null_fd);
	return rc;
}

static int write_pid(const struct rundir *rd, int domid, pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

	return rundir_write_file(rd, domid, "pid", buf, (size_t)n);
}

/* 0 when the daemon reports the domain running (or paused, with -p);
 * -ECHILD when it died; -ETIMEDOUT. */
static int create_timeout_ms(void)
{
	const char *env = getenv("XENKVM_CREATE_TIMEOUT");
	int secs = env ? atoi(env) : 0;

	return secs > 0 ? secs * 1000 : CREATE_TIMEOUT_MS;
}

static int wait_running(const struct rundir *rd, const struct rundir_entry *e, bool paused)
{
	struct control_request req = { .version = CONTROL_PROTOCOL_VERSION, .op = CONTROL_OP_INFO };
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	struct control_reply rep;
	char path[sizeof(rd->base) + 32], err[CONTROL_TEXT_MAX];
	int limit = create_timeout_ms();
	int waited = 0, rc;

	rc = rundir_path(rd, e->domid, "control.sock", path, sizeof(path));
	if (rc)
		return rc;
	for (;;) {
		if (!rundir_alive(rd, e->domid))
			return -ECHILD;
		rc = control_call(path, &req, 2000, &rep, err, sizeof(err));
		if (!rc && !rep.error) {
			enum control_state s = rep.info.state;

			control_reply_free(&rep);
			if (s == CONTROL_STATE_RUNNING || (paused && s == CONTROL_STATE_PAUSED))
				return 0;
			if (s != CONTROL_STATE_PAUSED)
				return -ECHILD;   /* already shutting down, crashed or dying */
		}
		control_reply_free(&rep);
		if (waited >= limit)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
		waited += 100;
	}
}

/*
 * Whom the daemon runs as: root's domains run as -u NAME, or by default as
 * the system user "xenkvm" where one exists and may open /dev/kvm (in the
 * kvm group where udev gives /dev/kvm to it: it needs
 * nothing else), unless a vif is a tap, whose creation needs root's
 * CAP_NET_ADMIN.  -u root keeps root.  Other users' domains run as
 * themselves.  0 with *pw_r NULL (no switch) or the account, or -1 (message
 * printed).
 */
/* Whether `pw` may open /dev/kvm read-write, by owner, group or other bits. */
static bool user_can_use_kvm(const struct passwd *pw)
{
	gid_t groups[64];
	int n = (int)(sizeof(groups) / sizeof(groups[0]));
	struct stat st;

	if (stat("/dev/kvm", &st) < 0)
		return false;
	if ((st.st_mode & 006) == 006 || (st.st_uid == pw->pw_uid && (st.st_mode & 0600) == 0600))
		return true;
	if ((st.st_mode & 060) != 060 || getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == st.st_gid)
			return true;
	return false;
}

static int pick_user(const struct create_opts *o, const struct domain_config *cfg,
		     struct passwd **pw_r)
{
	struct passwd *pw;
	bool tap = false;

	*pw_r = NULL;
	for (size_t i = 0; i < cfg->nr_vifs; i++)
		tap |= cfg->vifs[i].backend == VIF_BACKEND_TAP;
	if (getuid() != 0) {
		pw = o->user ? getpwnam(o->user) : NULL;
		if (o->user && (!pw || pw->pw_uid != getuid())) {
			cli_fail(o->verb, "-u %s: only root can run a domain as another user", o->user);
			return -1;
		}
		return 0;
	}
	if (!o->user) {
		pw = getpwnam(CLI_DEFAULT_USER);
		if (!pw || tap)
			return 0;
		/* Unprivileged only where the host allows it: a /dev/kvm its
		 * group cannot open (no udev rule) keeps the domain as root. */
		if (!user_can_use_kvm(pw)) {
			fprintf(stderr, "xenkvm create: note: user %s cannot open /dev/kvm: running the domain "
				"as root (give /dev/kvm to group kvm, mode 0660, to run it unprivileged)\n",
				CLI_DEFAULT_USER);
			return 0;
		}
	} else {
		pw = getpwnam(o->user);
		if (!pw) {
			cli_fail(o->verb, "-u %s: no such user", o->user);
			return -1;
		}
	}
	if (pw->pw_uid != 0)
		*pw_r = pw;
	return 0;
}

static void report_failure(const struct rundir *rd, int domid, const char *name)
{
	char path[sizeof(rd->base) + 96];

	if (rundir_path(rd, domid, "xenkvmd.log", path, sizeof(path)))
		return;
	if (access(path, F_OK) < 0)   /* a concurrent `list` pruned it already */
		snprintf(path, sizeof(path), "%s/logs/%s.log", rd->base, name);
	fprintf(stderr, "xenkvm create: domain %s (id %d) failed to start; the end of its log (%s):\n",
		name, domid, path);
	cli_print_tail(path, 20);
}

/* The same warning at the head of the domain's log, where it is looked for later. */
static void log_slow_kvm(const char *log_path, const struct kvm_probe *p)
{
	int fd;
	FILE *f;

	if (!p->opened || p->hw_speed)
		return;
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	f = fdopen(fd, "a");
	if (!f) {
		close(fd);
		return;
	}
	cli_kvm_warn_slow(p, f);
	fclose(f);
}

/* After the console closed: did the domain end because nothing booted
 * (xenkvmd's exit status 6, logged as "domain ended: ... (exit status 6)")? */
static bool domain_did_not_boot(const struct rundir *rd, int domid, const char *name)
{
	char path[sizeof(rd->base) + 96], line[512];
	bool nothing = false;
	FILE *f;

	if (rundir_path(rd, domid, "xenkvmd.log", path, sizeof(path)))
		return false;
	f = fopen(path, "r");
	if (!f) {
		snprintf(path, sizeof(path), "%s/logs/%s.log", rd->base, name);
		f = fopen(path, "r");
	}
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "domain ended: "))
			nothing = strstr(line, "(exit status 6)") != NULL;
	fclose(f);
	return nothing;
}

/* The last "restore: ..." line of a failed daemon's log: why it refused. */
static void log_restore_error(const struct rundir *rd, int domid, const char *name, char *why,
			      size_t size)
{
	char path[sizeof(rd->base) + 96], line[512];
	FILE *f;

	if (rundir_path(rd, domid, "xenkvmd.log", path, sizeof(path)))
		return;
	f = fopen(path, "r");
	if (!f) {
		snprintf(path, sizeof(path), "%s/logs/%s.log", rd->base, name);
		f = fopen(path, "r");
	}
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "restore: ");

		if (p) {
			p[strcspn(p, "\n")] = '\0';
			snprintf(why, size, "%s", p);
		}
	}
	fclose(f);
}

static int create_or_restore_opts(struct create_opts *op);

static int create_or_restore(int argc, char **argv, bool restore)
{
	struct create_opts o;
	int rc = parse_opts(argc, argv, &o, restore);

	if (rc)
		return rc < 0 ? CLI_OK : rc;
	return create_or_restore_opts(&o);
}

int cli_restore_stream(struct cli_stream_restore *s)
{
	struct create_opts o = {
		.paused = true, .quiet = true, .verbose = s->verbose, .restore = true,
		.verb = "migrate-receive", .stream = s, .user = s->user,
	};
	char fdpath[32];

	snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", s->daemon_fd);
	o.config = fdpath;
	return create_or_restore_opts(&o);
}

static int create_or_restore_opts(struct create_opts *op)
{
	struct create_opts o = *op;
	bool restore = o.restore;
	struct domain_config cfg;
	struct config_error err;
	struct kvm_probe probe;
	struct rundir rd = { .lock_fd = -1 };
	struct rundir_entry e;
	char daemon[PATH_MAX], config_abs[PATH_MAX], log_path[sizeof(rd.base) + 32];
	char **dargv = NULL, **paths = NULL;
	char user[64] = "", *saved_text = NULL;
	size_t saved_len = 0;
	int saved_domid = 0;
	struct passwd *pw;
	uid_t user_uid = 0;
	gid_t user_gid = 0;
	const char *why;
	int rc, domid = -1, alive_fd = -1;
	pid_t pid = -1;

	memset(&cfg, 0, sizeof(cfg));
	warn_verb = o.verb;
	if (!o.quiet)
		fprintf(stderr, "%s %s\n", restore ? "Restoring domain from" : "Parsing config from",
			o.config);
	if (o.stream) {
		/* Checked by the caller's reader as it relays; the daemon
		 * checks it all again. */
		saved_len = o.stream->cs->len;
		saved_text = strdup(o.stream->cs->text);
		saved_domid = (int)o.stream->cs->domid;
		if (!saved_text)
			return CLI_FAIL;
		if (domain_config_parse("the migrated domain's config", saved_text, saved_len, NULL, 0,
					&cfg, &err, config_warning)) {
			cli_fail(o.verb, "the migrated domain's config: %s", err.msg);
			free(saved_text);
			return CLI_FAIL;
		}
	} else if (restore) {
		if (restore_read(&o, &cfg, &saved_text, &saved_len, &saved_domid))
			return CLI_FAIL;
	} else if (domain_config_load(o.config, o.overrides, o.nr_overrides, &cfg, &err, config_warning)) {
		fprintf(stderr, "%s\n", err.msg);
		return CLI_FAIL;
	}
	rc = CLI_FAIL;
	/* xl reads a config without type= (or builder=) as a PV guest, which
	 * xenkvm cannot run; the same kernel as HVM usually works, so say so. */
	if (cfg.type_unset && !o.stream)   /* a migrated domain was warned about at its create */
		fprintf(stderr, "xenkvm create: warning: %s: type not set: Xen would run this as a PV "
			"guest; running it as HVM\n", o.config);
	if (cfg.type == DOMAIN_TYPE_PV) {
		cli_fail(o.verb, "%s: type \"pv\" is not supported; type=\"hvm\" and \"pvh\" domains run",
			 o.config);
		goto out;
	}
	if (!cfg.name) {
		cli_fail(o.verb, "%s: the domain needs a name (name = \"...\")", o.config);
		goto out;
	}
	if (rundir_name_check(cfg.name, &why)) {
		cli_fail(o.verb, "%s: name \"%s\": %s", o.config, cfg.name, why);
		goto out;
	}
	if (o.stream)
		snprintf(config_abs, sizeof(config_abs), "%s", o.config);   /* the pipe */
	else if (!realpath(o.config, config_abs)) {
		cli_fail(o.verb, "%s: %s", o.config, strerror(errno));
		goto out;
	}
	if (cli_daemon_path(daemon, sizeof(daemon))) {
		cli_fail(o.verb, "cannot locate xenkvmd");
		goto out;
	}
	if (pick_user(&o, &cfg, &pw))
		goto out;
	if (pw) {
		snprintf(user, sizeof(user), "%s", pw->pw_name);
		user_uid = pw->pw_uid;
		user_gid = pw->pw_gid;
	}
	if (o.dry_run) {
		struct rundir fake = { .lock_fd = -1, .dir_fd = -1 };

		if (rundir_default_base(fake.base, sizeof(fake.base)))
			goto out;
		dargv = daemon_argv(&fake, 0, &o, daemon, config_abs, *user ? user : NULL, &paths);
		if (!dargv)
			goto out;
		printf("domain %s: %llu MiB, %u vCPU%s, %s %s\nwould run:", cfg.name,
		       (unsigned long long)cfg.memory_mib, cfg.vcpus, cfg.vcpus == 1 ? "" : "s",
		       cfg.kernel ? "kernel" : cfg.firmware_override ? "firmware_override" : "firmware",
		       cfg.kernel ? cfg.kernel : cfg.firmware_override ? cfg.firmware_override : "seabios");
		for (size_t i = 0; dargv[i]; i++)
			printf(" %s", dargv[i]);
		printf("\n(with DOMID allocated in %s)\n", fake.base);
		rc = CLI_OK;
		goto out;
	}
	if (cli_rundir_open(o.verb, &rd))
		goto out;
	/* A KVM that emulates guest code leaves the user staring at nothing for hours. */
	cli_kvm_probe(&rd, &probe);
	cli_kvm_warn_slow(&probe, stderr);
	if (restore) {
		domid = saved_domid;
		rc = rundir_reserve_domid(&rd, cfg.name, domid, &alive_fd);
	} else {
		rc = rundir_reserve(&rd, cfg.name, &domid, &alive_fd);
	}
	if (rc) {
		if (rc == -EBUSY)
			cli_fail(o.verb, "domain id %d, which the saved domain had (its XenStore paths "
				 "and event channels name it), is in use", domid);
		else if (rc == -EEXIST)
			cli_fail(o.verb, "a domain called '%s' already exists", cfg.name);
		else if (rc == -ENOSPC)
			cli_fail(o.verb, "no free domid in %s", rd.base);
		else
			cli_fail(o.verb, "cannot reserve a domid in %s: %s", rd.base, strerror(-rc));
		domid = -1;
		rc = CLI_FAIL;
		goto out;
	}
	rc = restore ? rundir_write_file(&rd, domid, "config", saved_text, saved_len)
		     : save_config(&rd, domid, &o);
	if (rc) {
		cli_fail(o.verb, "cannot copy the config into %s: %s", rd.base, strerror(-rc));
		rc = CLI_FAIL;
		goto out_release;
	}
	rc = CLI_FAIL;
	if (*user && (rc = rundir_hand_over(&rd, domid, user_uid, user_gid)) != 0) {
		cli_fail(o.verb, "cannot hand %s/%d to user %s: %s", rd.base, domid, user,
			 strerror(-rc));
		rc = CLI_FAIL;
		goto out_release;
	}
	rc = CLI_FAIL;
	dargv = daemon_argv(&rd, domid, &o, daemon, config_abs, *user ? user : NULL, &paths);
	if (!dargv) {
		cli_fail(o.verb, "out of memory");
		goto out_release;
	}
	if (o.foreground) {
		/* The daemon becomes this process: it keeps the alive lock and the pid. */
		if (write_pid(&rd, domid, getpid()))
			goto out_release;
		rundir_close(&rd);
		execvp(dargv[0], dargv);
		cli_fail(o.verb, "cannot run %s: %s", dargv[0], strerror(errno));
		goto out_release;
	}
	if (rundir_path(&rd, domid, "xenkvmd.log", log_path, sizeof(log_path)))
		goto out_release;
	log_slow_kvm(log_path, &probe);
	rc = spawn_detached(dargv, log_path, &pid);
	if (rc) {
		cli_fail(o.verb, "cannot start %s: %s", dargv[0], strerror(-rc));
		rc = CLI_FAIL;
		goto out_release;
	}
	write_pid(&rd, domid, pid);
	/* From here the daemon alone holds the domain's lock. */
	close(alive_fd);
	alive_fd = -1;
	e.domid = domid;
	e.pid = pid;
	snprintf(e.name, sizeof(e.name), "%s", cfg.name);
	if (o.stream) {
		/* Only the daemon reads the pipe now: if it dies, the relay's
		 * writes fail instead of filling a pipe nobody reads. */
		close(o.stream->daemon_fd);
		o.stream->daemon_fd = -1;
		o.stream->entry = e;
		if (o.stream->relay(o.stream->ctx)) {
			/* The daemon sees the stream end early and refuses it. */
			cli_wait_gone(&rd, domid, 30000);
			rundir_remove(&rd, domid);
			rc = CLI_FAIL;
			goto out;
		}
	}
	rc = wait_running(&rd, &e, o.paused);
	if (rc == -ETIMEDOUT) {
		cli_fail(o.verb, "domain %s (id %d) did not report running within %d s; it is still "
			 "there (see %s, or 'xenkvm destroy %d')", cfg.name, domid,
			 create_timeout_ms() / 1000, log_path, domid);
		rc = CLI_FAIL;
		goto out;
	}
	if (rc) {
		if (o.stream)
			log_restore_error(&rd, domid, cfg.name, o.stream->why, sizeof(o.stream->why));
		report_failure(&rd, domid, cfg.name);
		rundir_remove(&rd, domid);
		rc = CLI_FAIL;
		goto out;
	}
	if (!o.quiet)
		fprintf(stderr, "%s domain %s (id=%d)%s\n", restore ? "Restored" : "Started", cfg.name,
			domid, o.paused ? ", paused" : "");
	rc = CLI_OK;
	if (o.console) {
		rc = cli_console_attach(o.verb, &rd, &e, false);
		if (domain_did_not_boot(&rd, domid, cfg.name))
			rc = cli_fail(o.verb, "domain %s did not boot: the firmware found no bootable device",
				      cfg.name);
	}
	goto out;
out_release:
	if (alive_fd >= 0) {
		close(alive_fd);
		alive_fd = -1;
	}
	rundir_remove(&rd, domid);
out:
	if (alive_fd >= 0)
		close(alive_fd);
	free_argv(dargv, paths);
	rundir_close(&rd);
	domain_config_free(&cfg);
	free(saved_text);
	return rc;
}

int cli_create(int argc, char **argv)
{
	return create_or_restore(argc, argv, false);
}

int cli_restore(int argc, char **argv)
{
	return create_or_restore(argc, argv, true);
}
