/*
 * xenkvmd's least-privilege setup (userspace/sandbox.c): drop to an
 * unprivileged user, set no_new_privs, and give every kind of thread
 * (include/xenkvm/thread_role.h) a seccomp filter built with libseccomp
 * from the tables in userspace/sandbox_policy.c.  A syscall outside a
 * thread's table kills the whole daemon with SIGSYS.
 */
#ifndef XENKVM_SANDBOX_H
#define XENKVM_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "xenkvm/thread_role.h"

#define SANDBOX_MAX_ARGS 8

/* One allowed syscall: its name, and optionally the only values its first
 * argument may take (nr_args 0: any); `why` says which code needs it. */
struct sandbox_rule {
	const char *name;
	unsigned int nr_args;
	long args[SANDBOX_MAX_ARGS];
	const char *why;
};

struct sandbox_policy {
	const struct sandbox_rule *rules;
	size_t nr_rules;
};

/* The allowlist of one thread kind.  THREAD_MAIN's is the base filter every
 * thread carries (it is installed before any other thread exists); the
 * others stack on top of it, so each must be a subset of the base. */
const struct sandbox_policy *sandbox_policy(enum thread_role role);

/* Issues a syscall that `role`'s own filter forbids (its base filter too for
 * THREAD_MAIN) and that does nothing harmful where no filter is installed:
 * the --seccomp-probe test hook.  Returns the syscall's result (-1 with
 * errno) when it was not killed. */
long sandbox_probe_syscall(enum thread_role role);
/* The syscall number sandbox_probe_syscall() uses for `role`. */
int sandbox_probe_nr(enum thread_role role);

/* Privilege drop: the account to run as (getpwnam, before any filter). */
struct sandbox_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[16];   /* supplementary groups kept: see sandbox_user_lookup() */
	int nr_groups;
	char name[64];
};

/* Looks NAME up (a name or a numeric uid).  Of NAME's own supplementary
 * groups only the one that owns /dev/kvm is kept.  0, or -errno with a
 * message in `err`. */
int sandbox_user_lookup(const char *name, struct sandbox_user *u, char *err, size_t errlen);

/* setgroups/setresgid/setresuid to `u`, every capability gone (all sets,
 * and no ambient ones), then PR_SET_NO_NEW_PRIVS.  Needs root, or `u` being
 * the current user already (then only no_new_privs).  0 or -errno. */
int sandbox_drop_privileges(const struct sandbox_user *u, char *err, size_t errlen);

/* Compiles every kind's filter, installs THREAD_MAIN's on all threads
 * (TSYNC) and registers the thread_role hook that installs the others as
 * threads start.  `probe` (or THREAD_ROLE_COUNT for none): the kind whose
 * threads issue sandbox_probe_syscall() right after their filter is on.
 * With `log`, a forbidden syscall is allowed and only logged by the kernel
 * (audit type=1326; for finding what a table lacks).  Sets no_new_privs
 * first.  0 or -errno (message in `err`). */
int sandbox_apply(enum thread_role probe, bool log, char *err, size_t errlen);

/* "main", "io", "vcpu", "serial-in" -> role; -1 if none. */
int sandbox_role_parse(const char *name);

#endif
