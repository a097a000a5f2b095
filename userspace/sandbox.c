/*
 * Least privilege for xenkvmd (include/xenkvm/sandbox.h): the mechanism.
 * The policy, which syscalls each thread kind may make and why, is
 * userspace/sandbox_policy.c.
 *
 * Order: the daemon drops to its user and sets no_new_privs first; then
 * sandbox_apply() compiles every kind's filter while it may still do
 * anything, installs the base (THREAD_MAIN) filter on the whole process
 * with TSYNC, and leaves the per-kind filters as ready BPF programs that
 * each thread stacks on itself with one seccomp() call when it starts
 * (thread_role_enter()), before it touches any guest or host input.
 */
#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "xenkvm/log.h"
#include "xenkvm/sandbox.h"

static struct sock_fprog role_prog[THREAD_ROLE_COUNT];
static enum thread_role probe_role = THREAD_ROLE_COUNT;
static bool log_only;   /* --seccomp-log: forbidden syscalls are logged, not fatal */

int sandbox_role_parse(const char *name)
{
	for (int r = 0; r < THREAD_ROLE_COUNT; r++)
		if (!strcmp(name, thread_role_name((enum thread_role)r)))
			return r;
	return -1;
}

/* --- privilege drop --------------------------------------------------------- */

int sandbox_user_lookup(const char *name, struct sandbox_user *u, char *err, size_t errlen)
{
	gid_t all[256];
	int n = (int)(sizeof(all) / sizeof(all[0]));
	struct passwd *pw;
	struct stat st;
	char *end;
	unsigned long id;

	memset(u, 0, sizeof(*u));
	errno = 0;
	pw = getpwnam(name);
	if (!pw && *name) {
		id = strtoul(name, &end, 10);
		if (!*end)
			pw = getpwuid((uid_t)id);
	}
	if (!pw) {
		snprintf(err, errlen, "no user '%s'%s%s", name, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		return -ENOENT;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	if (getgrouplist(pw->pw_name, pw->pw_gid, all, &n) < 0)
		n = 0;
	/* /dev/kvm is what the daemon opens after the drop (every incarnation):
	 * keep the group that grants it, and no other. */
	if (stat("/dev/kvm", &st) < 0) {
		snprintf(err, errlen, "/dev/kvm: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++)
		if (all[i] == st.st_gid && all[i] != u->gid)
			u->groups[u->nr_groups++] = all[i];
	if (u->uid != 0 && !(st.st_uid == u->uid && (st.st_mode & S_IRUSR) && (st.st_mode & S_IWUSR)) &&
	    !((st.st_gid == u->gid || u->nr_groups) && (st.st_mode & S_IRGRP) && (st.st_mode & S_IWGRP)) &&
	    !((st.st_mode & S_IROTH) && (st.st_mode & S_IWOTH))) {
		struct group *gr = getgrgid(st.st_gid);

		snprintf(err, errlen, "user '%s' cannot open /dev/kvm (mode %03o, group %s): add it to "
			 "that group", u->name, st.st_mode & 0777, gr ? gr->gr_name : "?");
		return -EACCES;
	}
	return 0;
}

static int no_new_privs(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int sandbox_drop_privileges(const struct sandbox_user *u, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2];

	if (u->uid == 0) {
		snprintf(err, errlen, "'%s' is root: there is nothing to drop to", u->name);
		return -EINVAL;
	}
	if (geteuid() != 0) {
		if (u->uid != geteuid()) {
			snprintf(err, errlen, "only root can switch to user '%s'", u->name);
			return -EPERM;
		}
		return no_new_privs(err, errlen);
	}
	/* The bounding set first: it needs CAP_SETPCAP, which the uid change ends. */
	for (unsigned long cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	if (setgroups((size_t)u->nr_groups, u->groups) < 0 ||
	    setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0) {
		snprintf(err, errlen, "switching to user '%s': %s", u->name, strerror(errno));
		return -errno;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* A uid change from root to non-root clears the capability sets; check
	 * instead of trusting it (a uid-0 target keeps them: refuse that). */
	memset(caps, 0, sizeof(caps));
	if (syscall(SYS_capget, &hdr, caps) < 0 || caps[0].effective || caps[0].permitted ||
	    caps[1].effective || caps[1].permitted || setresuid(0, 0, 0) == 0) {
		snprintf(err, errlen, "user '%s' still holds capabilities after the switch", u->name);
		return -EPERM;
	}
	return no_new_privs(err, errlen);
}

/* --- seccomp ---------------------------------------------------------------- */

static int add_rule(scmp_filter_ctx ctx, const struct sandbox_rule *r, char *err, size_t errlen)
{
	int nr = seccomp_syscall_resolve_name(r->name), rc;

	if (nr == __NR_SCMP_ERROR) {
		snprintf(err, errlen, "seccomp: unknown syscall '%s'", r->name);
		return -EINVAL;
	}
	if (nr == SYS_tgkill) {
		/* Signals go only to threads of this process. */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)getpid()));
	} else if (!r->nr_args) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	} else {
		rc = 0;
		for (unsigned int i = 0; i < r->nr_args && !rc; i++)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					      SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu,
						      (scmp_datum_t)(uint32_t)r->args[i]));
	}
	if (rc) {
		snprintf(err, errlen, "seccomp: rule for %s: %s", r->name, strerror(-rc));
		return rc;
	}
	return 0;
}

/* The kind's table as a BPF program ready for seccomp(2). */
static int compile(enum thread_role role, struct sock_fprog *prog, char *err, size_t errlen)
{
	const struct sandbox_policy *p = sandbox_policy(role);
	scmp_filter_ctx ctx = seccomp_init(log_only ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	struct stat st;
	void *buf = NULL;
	int fd = -1, rc = -ENOMEM;

	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return rc;
	}
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (size_t i = 0; !rc && i < p->nr_rules; i++)
		rc = add_rule(ctx, &p->rules[i], err, errlen);
	if (rc)
		goto out;
	fd = memfd_create("xenkvm-seccomp", MFD_CLOEXEC);
	if (fd < 0 || (rc = seccomp_export_bpf(ctx, fd)) != 0 || fstat(fd, &st) < 0 ||
	    st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) ||
	    !(buf = malloc((size_t)st.st_size)) || pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		snprintf(err, errlen, "seccomp: exporting the %s filter failed", thread_role_name(role));
		free(buf);
		rc = rc ? rc : -EIO;
		goto out;
	}
	prog->filter = buf;
	prog->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

static void probe(enum thread_role role)
{
	pr_warn("sandbox: --seccomp-probe: the %s thread issues syscall %d, which its filter forbids",
		thread_role_name(role), sandbox_probe_nr(role));
	sandbox_probe_syscall(role);
	pr_err("sandbox: the %s thread's forbidden syscall was not stopped", thread_role_name(role));
}

static void thread_hook(enum thread_role role)
{
	if ((unsigned int)role >= THREAD_ROLE_COUNT || !role_prog[role].filter)
		return;
	if (role != THREAD_MAIN &&
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &role_prog[role]) < 0) {
		/* Fail closed: no thread runs without its own filter. */
		pr_err("sandbox: cannot install the %s thread's filter: %s", thread_role_name(role),
		       strerror(errno));
		_exit(1);
	}
	if (role == probe_role)
		probe(role);
}

int sandbox_apply(enum thread_role probe_kind, bool log, char *err, size_t errlen)
{
	long rc;

	log_only = log;
	if (no_new_privs(err, errlen))
		return -EPERM;
	/* glibc reads the time zone file on the first gmtime_r/localtime_r,
	 * which may be the RTC's read on a vCPU thread, where open is not
	 * allowed: read it now. */
	tzset();
	/* Past eight malloc arenas glibc counts the CPUs (reading /sys) to
	 * cap them; give it the cap it would compute, so no thread asks. */
	mallopt(M_ARENA_MAX, 8 * get_nprocs());
	for (int r = 0; r < THREAD_ROLE_COUNT; r++) {
		int c = compile((enum thread_role)r, &role_prog[r], err, errlen);

		if (c)
			return c;
	}
	rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
		     &role_prog[THREAD_MAIN]);
	if (rc != 0) {
		if (rc > 0)
			snprintf(err, errlen, "seccomp: thread %ld could not take the filter", rc);
		else
			snprintf(err, errlen, "seccomp: %s", strerror(errno));
		return rc > 0 ? -EBUSY : -errno;
	}
	probe_role = probe_kind;
	thread_role_set_hook(thread_hook);
	thread_role_enter(THREAD_MAIN);
	return 0;
}
