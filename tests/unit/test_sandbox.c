/*
 * The sandbox's policy tables (userspace/sandbox_policy.c) and, in forked
 * children, the filters they compile to: a forbidden syscall from each
 * thread kind ends the process with SIGSYS, allowed work does not.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xenkvm/sandbox.h"

static bool in_table(enum thread_role role, int nr)
{
	const struct sandbox_policy *p = sandbox_policy(role);

	for (size_t i = 0; i < p->nr_rules; i++)
		if (seccomp_syscall_resolve_name(p->rules[i].name) == nr)
			return true;
	return false;
}

static void test_tables_resolve(void)
{
	for (int r = 0; r < THREAD_ROLE_COUNT; r++) {
		const struct sandbox_policy *p = sandbox_policy((enum thread_role)r);

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT(p->nr_rules > 10);
		for (size_t i = 0; i < p->nr_rules; i++) {
			const struct sandbox_rule *rule = &p->rules[i];

			if (seccomp_syscall_resolve_name(rule->name) == __NR_SCMP_ERROR)
				fprintf(stderr, "%s: unknown syscall %s\n", thread_role_name(r), rule->name);
			CU_ASSERT(seccomp_syscall_resolve_name(rule->name) != __NR_SCMP_ERROR);
			CU_ASSERT(rule->why && strlen(rule->why) > 3);
			CU_ASSERT(rule->nr_args <= SANDBOX_MAX_ARGS);
			for (size_t j = 0; j < i; j++)
				CU_ASSERT(strcmp(p->rules[j].name, rule->name) != 0);
		}
	}
	CU_ASSERT_PTR_NULL(sandbox_policy(THREAD_ROLE_COUNT));
}

/* A kind's filter stacks on the base: anything it allows that the base does
 * not would be dead, a sign the tables drifted apart. */
static void test_kinds_within_base(void)
{
	for (int r = 0; r < THREAD_ROLE_COUNT; r++) {
		const struct sandbox_policy *p = sandbox_policy((enum thread_role)r);

		for (size_t i = 0; i < p->nr_rules; i++) {
			int nr = seccomp_syscall_resolve_name(p->rules[i].name);

			if (!in_table(THREAD_MAIN, nr))
				fprintf(stderr, "%s allows %s, the base does not\n", thread_role_name(r),
					p->rules[i].name);
			CU_ASSERT(in_table(THREAD_MAIN, nr));
		}
	}
}

static void test_never_allowed(void)
{
	static const char *const never[] = {
		"execve", "execveat", "fork", "vfork", "ptrace", "mount", "umount2", "pivot_root",
		"chroot", "setuid", "setresuid", "setgid", "setgroups", "capset", "init_module",
		"finit_module", "kexec_load", "bpf", "perf_event_open", "process_vm_writev",
		"process_vm_readv", "kill", "keyctl", "add_key", "unshare", "setns", "personality",
	};

	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		for (int r = 0; r < THREAD_ROLE_COUNT; r++)
			CU_ASSERT_FALSE(in_table((enum thread_role)r, seccomp_syscall_resolve_name(never[i])));
	/* Nothing but the base may start threads or open files anew... */
	CU_ASSERT_FALSE(in_table(THREAD_VCPU, SYS_clone3));
	CU_ASSERT_FALSE(in_table(THREAD_IO, SYS_clone));
	CU_ASSERT_FALSE(in_table(THREAD_VCPU, SYS_openat));
	CU_ASSERT_FALSE(in_table(THREAD_VCPU, SYS_socket));
	CU_ASSERT_FALSE(in_table(THREAD_SERIAL_IN, SYS_openat));
	CU_ASSERT(in_table(THREAD_SERIAL_IN, SYS_ioctl));   /* the UART's IRQ line */
	/* ... and what the backends and KVM need is there. */
	CU_ASSERT(in_table(THREAD_IO, SYS_io_uring_enter));
	CU_ASSERT(in_table(THREAD_IO, SYS_io_uring_setup));
	CU_ASSERT(in_table(THREAD_IO, SYS_io_uring_register));
	CU_ASSERT(in_table(THREAD_VCPU, SYS_ioctl));
	CU_ASSERT(in_table(THREAD_VCPU, SYS_madvise));
}

/* The probe of a non-main kind is one the base allows: killing proves the
 * kind's own filter, not just the inherited base. */
static void test_probes(void)
{
	for (int r = 0; r < THREAD_ROLE_COUNT; r++) {
		int nr = sandbox_probe_nr((enum thread_role)r);

		CU_ASSERT(nr > 0);
		CU_ASSERT_FALSE(in_table((enum thread_role)r, nr));
		if (r != THREAD_MAIN)
			CU_ASSERT(in_table(THREAD_MAIN, nr));
	}
	/* Unfiltered, the probes are harmless and do not fail for a filter's reason. */
	errno = 0;
	CU_ASSERT_EQUAL(sandbox_probe_syscall(THREAD_IO), -1);
	CU_ASSERT(errno == EINVAL || errno == ENOSYS);
	CU_ASSERT(sandbox_probe_syscall(THREAD_VCPU) >= 0);
	CU_ASSERT(sandbox_probe_syscall(THREAD_SERIAL_IN) >= 0);
	CU_ASSERT(sandbox_probe_syscall(THREAD_MAIN) >= 0);
	CU_ASSERT_EQUAL(sandbox_role_parse("vcpu"), THREAD_VCPU);
	CU_ASSERT_EQUAL(sandbox_role_parse("serial-in"), THREAD_SERIAL_IN);
	CU_ASSERT_EQUAL(sandbox_role_parse("vcpu0"), -1);
}

/* --- live filters, each in a child ---------------------------------------- */

struct child_job {
	enum thread_role kind;   /* the thread's kind */
	bool probe;              /* issue its forbidden syscall */
};

static void *kind_thread(void *arg)
{
	struct child_job *j = arg;
	time_t now = time(NULL);
	struct tm tm;
	int efd;

	thread_role_enter(j->kind);
	/* Work every kind may do. */
	efd = (int)syscall(SYS_gettid);
	if (efd <= 0 || write(STDERR_FILENO, "", 0) < 0)
		_exit(10);
	/* The RTC's read on a vCPU thread: glibc reads the time zone file on first use. */
	if (!gmtime_r(&now, &tm))
		_exit(11);
	if (j->probe)
		sandbox_probe_syscall(j->kind);
	return NULL;
}

/* Forks; the child applies the sandbox and runs `job` on a thread of that
 * kind (or on itself for THREAD_MAIN); returns the wait status. */
static int run_child(struct child_job job, enum thread_role probe)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		char err[256];
		pthread_t t;

		if (sandbox_apply(probe, false, err, sizeof(err))) {
			fprintf(stderr, "sandbox_apply: %s\n", err);
			_exit(20);
		}
		if (job.kind == THREAD_MAIN) {
			if (job.probe)
				sandbox_probe_syscall(THREAD_MAIN);
			_exit(0);
		}
		if (pthread_create(&t, NULL, kind_thread, &job) || pthread_join(t, NULL))
			_exit(21);
		_exit(0);
	}
	CU_ASSERT_FATAL(pid > 0);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static void test_allowed_work_survives(void)
{
	for (int r = 0; r < THREAD_ROLE_COUNT; r++) {
		int st = run_child((struct child_job){ .kind = (enum thread_role)r }, THREAD_ROLE_COUNT);

		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fprintf(stderr, "%s: status %#x\n", thread_role_name(r), st);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

static void test_forbidden_kills_with_sigsys(void)
{
	for (int r = 0; r < THREAD_ROLE_COUNT; r++) {
		int st = run_child((struct child_job){ .kind = (enum thread_role)r, .probe = true },
				   THREAD_ROLE_COUNT);

		if (!WIFSIGNALED(st))
			fprintf(stderr, "%s: status %#x\n", thread_role_name(r), st);
		CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	}
}

/* Many vCPU threads allocating at once: glibc creates malloc arenas, and
 * past eight of them asks how many CPUs there are (a file read, once). */
static pthread_barrier_t many_barrier;

static void *many_thread(void *arg)
{
	void *p;

	thread_role_enter(THREAD_VCPU);
	pthread_barrier_wait(&many_barrier);
	p = malloc(1000);
	pthread_barrier_wait(&many_barrier);
	free(p);
	return arg;
}

static void test_many_vcpu_threads(void)
{
	enum { NR = 24 };
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		char err[256];
		pthread_t t[NR];

		if (sandbox_apply(THREAD_ROLE_COUNT, false, err, sizeof(err)))
			_exit(20);
		pthread_barrier_init(&many_barrier, NULL, NR);
		for (int i = 0; i < NR; i++)
			if (pthread_create(&t[i], NULL, many_thread, NULL))
				_exit(21);
		for (int i = 0; i < NR; i++)
			pthread_join(t[i], NULL);
		_exit(0);
	}
	CU_ASSERT_FATAL(pid > 0);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status))
		fprintf(stderr, "many: status %#x\n", status);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The same through the --seccomp-probe path: the hook probes as the thread starts. */
static void test_hook_probe(void)
{
	int st = run_child((struct child_job){ .kind = THREAD_IO }, THREAD_IO);

	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	st = run_child((struct child_job){ .kind = THREAD_MAIN }, THREAD_MAIN);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	/* A probe of another kind leaves this one alone. */
	st = run_child((struct child_job){ .kind = THREAD_SERIAL_IN }, THREAD_VCPU);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_user_lookup(void)
{
	struct sandbox_user u;
	char err[256];

	CU_ASSERT_EQUAL(sandbox_user_lookup("no-such-user-xenkvm", &u, err, sizeof(err)), -ENOENT);
	CU_ASSERT(strstr(err, "no-such-user-xenkvm") != NULL);
	if (access("/dev/kvm", F_OK) == 0) {
		CU_ASSERT_EQUAL(sandbox_user_lookup("0", &u, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(u.uid, 0);
		CU_ASSERT_STRING_EQUAL(u.name, "root");
	}
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("sandbox", NULL, NULL);
	CU_add_test(s, "tables resolve", test_tables_resolve);
	CU_add_test(s, "kinds within base", test_kinds_within_base);
	CU_add_test(s, "never allowed", test_never_allowed);
	CU_add_test(s, "probes", test_probes);
	CU_add_test(s, "allowed work survives", test_allowed_work_survives);
	CU_add_test(s, "forbidden kills with SIGSYS", test_forbidden_kills_with_sigsys);
	CU_add_test(s, "hook probe", test_hook_probe);
	CU_add_test(s, "many vCPU threads", test_many_vcpu_threads);
	CU_add_test(s, "user lookup", test_user_lookup);
	return cunit_run(CU_BRM_NORMAL);
}
