/*
 * The run directory: domid allocation (round robin, unique, reused only
 * after release), names, liveness through the `alive` lock (held by real
 * child processes standing in for daemons), pruning of dead entries.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xenkvm/rundir.h"

static char base[256];

static void fresh_base(struct rundir *rd)
{
	char tmpl[] = "/tmp/test_rundir.XXXXXX";

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpl));
	snprintf(base, sizeof(base), "%s/xenkvm", tmpl);
	CU_ASSERT_EQUAL_FATAL(rundir_open(base, rd), 0);
}

static void rm_base(void)
{
	char cmd[300], *slash = strrchr(base, '/');

	*slash = 0;   /* the mkdtemp directory above base */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static bool exists(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	return access(p, F_OK) == 0;
}

/* A stand-in daemon: a child that inherits the alive fd and waits. */
static pid_t hold_in_child(int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		(void)fd;
		pause();
		_exit(0);
	}
	return pid;
}

static void test_default_base(void)
{
	char buf[64];

	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	CU_ASSERT_EQUAL(rundir_default_base(buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "/run/user/1000/xenkvm");
	setenv("XDG_RUNTIME_DIR", "relative", 1);   /* not absolute: ignored */
	CU_ASSERT_EQUAL(rundir_default_base(buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "/run/xenkvm");
	unsetenv("XDG_RUNTIME_DIR");
	CU_ASSERT_EQUAL(rundir_default_base(buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "/run/xenkvm");
	setenv("XDG_RUNTIME_DIR", "/a/very/long/path/that/does/not/fit/into/the/buffer", 1);
	CU_ASSERT_EQUAL(rundir_default_base(buf, 16), -ENAMETOOLONG);
	unsetenv("XDG_RUNTIME_DIR");
}

static void test_names(void)
{
	static const char *const good[] = { "guest", "web-01", "a.b_c", "x1" };
	static const char *const bad[] = { "", "12", "0", "has space", "a/b", "-x", "tab\t", "quo\"te",
					   "01234567890123456789012345678901234567890123456789012345678901234" };
	const char *why;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CU_ASSERT_EQUAL(rundir_name_check(good[i], &why), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		CU_ASSERT_EQUAL(rundir_name_check(bad[i], &why), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(why);
	}
}

static void test_reserve(void)
{
	struct rundir rd;
	struct rundir_entry *list, e;
	struct stat st;
	size_t nr;
	unsigned int pruned;
	int d1, d2, d3, f1, f2, f3, d, f;
	char buf[64];

	fresh_base(&rd);
	CU_ASSERT_EQUAL(stat(base, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	CU_ASSERT_EQUAL(rundir_list(&rd, &list, &nr, &pruned), 0);
	CU_ASSERT_EQUAL(nr, 0);
	CU_ASSERT_PTR_NULL(list);

	CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "one", &d1, &f1), 0);
	CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "two", &d2, &f2), 0);
	CU_ASSERT_EQUAL(d1, 1);
	CU_ASSERT_EQUAL(d2, 2);
	/* the alive fd is inheritable: the daemon must get it across exec */
	CU_ASSERT_EQUAL(fcntl(f1, F_GETFD) & FD_CLOEXEC, 0);
	CU_ASSERT(rundir_alive(&rd, d1));
	CU_ASSERT_EQUAL(rundir_read_file(&rd, d1, "name", buf, sizeof(buf)), 3);
	CU_ASSERT_STRING_EQUAL(buf, "one");
	/* names are unique among live domains */
	CU_ASSERT_EQUAL(rundir_reserve(&rd, "one", &d, &f), -EEXIST);
	CU_ASSERT_FALSE(exists("3"));

	/* releasing 1 does not hand it out again at once (round robin) */
	close(f1);
	CU_ASSERT_FALSE(rundir_alive(&rd, d1));
	CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "one", &d3, &f3), 0);
	CU_ASSERT_EQUAL(d3, 3);
	CU_ASSERT_FALSE(exists("1"));   /* pruned on the way */

	/* a restore asks for its saved domid: free 1 is given (without moving
	 * the round robin), taken 2 is refused, and names stay unique */
	{
		int fr, fb;

		CU_ASSERT_EQUAL(rundir_reserve_domid(&rd, "restored", 1, &fr), 0);
		CU_ASSERT(rundir_alive(&rd, 1));
		CU_ASSERT_EQUAL(rundir_reserve_domid(&rd, "other", 2, &fb), -EBUSY);
		CU_ASSERT_EQUAL(rundir_reserve_domid(&rd, "two", 9, &fb), -EEXIST);
		CU_ASSERT_FALSE(exists("9"));
		CU_ASSERT_EQUAL(rundir_reserve_domid(&rd, "x", 0, &fb), -EINVAL);
		close(fr);
	}

	/* find by name or domid; only live ones */
	CU_ASSERT_EQUAL(rundir_find(&rd, "two", &e), 0);
	CU_ASSERT_EQUAL(e.domid, 2);
	CU_ASSERT_EQUAL(rundir_find(&rd, "3", &e), 0);
	CU_ASSERT_STRING_EQUAL(e.name, "one");
	CU_ASSERT_EQUAL(rundir_find(&rd, "1", &e), -ENOENT);
	CU_ASSERT_EQUAL(rundir_find(&rd, "nobody", &e), -ENOENT);
	CU_ASSERT_EQUAL(rundir_remove(&rd, d2), -EBUSY);

	/* wrap-around at the top, skipping live domids */
	{
		char p[300];
		FILE *fp;

		snprintf(p, sizeof(p), "%s/next-domid", base);
		fp = fopen(p, "w");
		fprintf(fp, "%d\n", RUNDIR_DOMID_MAX);
		fclose(fp);
		CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "top", &d, &f), 0);
		CU_ASSERT_EQUAL(d, RUNDIR_DOMID_MAX);
		close(f);
		CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "wrapped", &d, &f), 0);
		CU_ASSERT_EQUAL(d, 1);   /* 1 is free again, 2 and 3 are live */
		close(f);
		CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "next", &d, &f), 0);
		CU_ASSERT_EQUAL(d, 4);
		close(f);
		/* garbage in next-domid restarts at 1 */
		fp = fopen(p, "w");
		fprintf(fp, "banana\n");
		fclose(fp);
		CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "g", &d, &f), 0);
		CU_ASSERT_EQUAL(d, 1);
		close(f);
	}

	CU_ASSERT_EQUAL(rundir_list(&rd, &list, &nr, &pruned), 0);
	CU_ASSERT_EQUAL(nr, 2);
	CU_ASSERT_EQUAL(pruned, 1);   /* "g" at 1; the others were pruned by the reservations */
	if (nr == 2) {
		CU_ASSERT_EQUAL(list[0].domid, 2);
		CU_ASSERT_EQUAL(list[1].domid, 3);
	}
	free(list);
	close(f2);
	close(f3);
	rundir_close(&rd);
	rm_base();
}

static void test_stale(void)
{
	struct rundir rd;
	struct rundir_entry *list;
	size_t nr;
	unsigned int pruned;
	int d1, d2, f1, f2;
	pid_t p1, p2;
	char buf[64];

	fresh_base(&rd);
	/* Each "daemon" inherits only its own domain's fd, as after create;
	 * the CLI lets go and the daemons keep their domains alive. */
	CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "alive", &d1, &f1), 0);
	p1 = hold_in_child(f1);
	close(f1);
	CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "crashy", &d2, &f2), 0);
	p2 = hold_in_child(f2);
	close(f2);
	CU_ASSERT_FATAL(p1 > 0 && p2 > 0);
	snprintf(buf, sizeof(buf), "%d\n", (int)p2);
	CU_ASSERT_EQUAL(rundir_write_file(&rd, d2, "pid", buf, strlen(buf)), 0);
	CU_ASSERT_EQUAL(rundir_write_file(&rd, d2, "xenkvmd.log", "it went wrong\n", 14), 0);
	CU_ASSERT_EQUAL(rundir_write_file(&rd, d2, "control.sock", "", 0), 0);
	CU_ASSERT_EQUAL(rundir_list(&rd, &list, &nr, &pruned), 0);
	CU_ASSERT_EQUAL(nr, 2);
	CU_ASSERT_EQUAL(pruned, 0);
	CU_ASSERT_EQUAL(nr == 2 ? list[1].pid : 0, p2);
	free(list);

	/* a daemon killed hard leaves everything behind; the next listing cleans
	 * up and keeps its log under logs/ */
	kill(p2, SIGKILL);
	waitpid(p2, NULL, 0);
	CU_ASSERT_FALSE(rundir_alive(&rd, d2));
	CU_ASSERT(exists("2/control.sock"));
	CU_ASSERT_EQUAL(rundir_list(&rd, &list, &nr, &pruned), 0);
	CU_ASSERT_EQUAL(nr, 1);
	CU_ASSERT_EQUAL(pruned, 1);
	CU_ASSERT_EQUAL(nr == 1 ? list[0].domid : 0, d1);
	free(list);
	CU_ASSERT_FALSE(exists("2"));
	CU_ASSERT(exists("logs/crashy.log"));

	/* leftovers without an alive file (a CLI killed mid-way) are dead too;
	 * things that are not domain entries are left alone */
	CU_ASSERT_EQUAL(mkdir(strcat(strcpy(buf, base), "/77"), 0700), 0);
	mkdir(strcat(strcpy(buf, base), "/007"), 0700);
	mkdir(strcat(strcpy(buf, base), "/notadomain"), 0700);
	mkdir(strcat(strcpy(buf, base), "/99999"), 0700);
	CU_ASSERT_EQUAL(rundir_list(&rd, &list, &nr, &pruned), 0);
	CU_ASSERT_EQUAL(pruned, 1);
	CU_ASSERT_EQUAL(nr, 1);
	free(list);
	CU_ASSERT_FALSE(exists("77"));
	CU_ASSERT(exists("007"));
	CU_ASSERT(exists("notadomain"));
	CU_ASSERT(exists("99999"));

	kill(p1, SIGKILL);
	waitpid(p1, NULL, 0);
	CU_ASSERT_EQUAL(rundir_remove(&rd, d1), 0);
	CU_ASSERT_FALSE(exists("1"));
	rundir_close(&rd);
	rm_base();
}

/* Concurrent CLIs never get the same domid. */
static void test_concurrent(void)
{
	enum { N = 8 };
	struct rundir rd;
	int pfd[2], got[N], seen = 0;
	pid_t kids[N];

	fresh_base(&rd);
	CU_ASSERT_EQUAL_FATAL(pipe(pfd), 0);
	for (int i = 0; i < N; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			struct rundir r;
			char name[16];
			int d = -1, f;

			snprintf(name, sizeof(name), "c%d", i);
			if (rundir_open(base, &r) || rundir_reserve(&r, name, &d, &f))
				d = -1;
			if (write(pfd[1], &d, sizeof(d)) != sizeof(d))
				_exit(1);
			pause();   /* hold the domain until killed */
			_exit(0);
		}
	}
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL(read(pfd[0], &got[i], sizeof(got[i])), sizeof(got[i]));
	for (int i = 0; i < N; i++) {
		CU_ASSERT(got[i] >= 1 && got[i] <= N);
		for (int j = 0; j < i; j++)
			CU_ASSERT_NOT_EQUAL(got[i], got[j]);
		seen |= 1 << got[i];
	}
	CU_ASSERT_EQUAL(seen, ((1 << N) - 1) << 1);
	for (int i = 0; i < N; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	close(pfd[0]);
	close(pfd[1]);
	rundir_close(&rd);
	rm_base();
}

static void test_files(void)
{
	struct rundir rd;
	char buf[8], path[20];
	int d, f;

	fresh_base(&rd);
	CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "files", &d, &f), 0);
	CU_ASSERT_EQUAL(rundir_write_file(&rd, d, "config", "memory = 512\n", 13), 0);
	/* truncated to the buffer, NUL-terminated */
	CU_ASSERT_EQUAL(rundir_read_file(&rd, d, "config", buf, sizeof(buf)), 7);
	CU_ASSERT_STRING_EQUAL(buf, "memory ");
	CU_ASSERT_EQUAL(rundir_read_file(&rd, d, "missing", buf, sizeof(buf)), -ENOENT);
	CU_ASSERT_FALSE(exists("1/config.tmp"));
	CU_ASSERT_EQUAL(rundir_path(&rd, 12, "control.sock", path, sizeof(path)), -ENAMETOOLONG);
	close(f);
	rundir_close(&rd);
	rm_base();
}

/* Writes a small file (outside the run directory: the thing to protect). */
static void put(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static bool holds(const char *p, const char *text)
{
	char buf[64] = "";
	FILE *f = fopen(p, "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return !strcmp(buf, text);
}

/* rundir_open on `base` must fail with rc and a reason mentioning `word`. */
static void expect_refused(int rc, const char *word)
{
	struct rundir rd;

	memset(&rd, 0, sizeof(rd));
	CU_ASSERT_EQUAL(rundir_open(base, &rd), rc);
	CU_ASSERT_PTR_NOT_NULL(strstr(rd.why, word));
	if (!strstr(rd.why, word))
		fprintf(stderr, "refusal without \"%s\": \"%s\"\n", word, rd.why);
}

static void test_unsafe_base(void)
{
	char tmpl[] = "/tmp/test_rundir.XXXXXX", victim[300], p[300], target[sizeof(base)];
	struct rundir rd;
	struct stat st;
	int d, f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpl));
	snprintf(base, sizeof(base), "%s/xenkvm", tmpl);
	snprintf(victim, sizeof(victim), "%s/root-only", tmpl);
	put(victim, "secret\n");

	/* a base another user could write to */
	CU_ASSERT_EQUAL_FATAL(mkdir(base, 0700), 0);
	CU_ASSERT_EQUAL(chmod(base, 0777), 0);
	expect_refused(-EPERM, "0777");
	CU_ASSERT_EQUAL(chmod(base, 0750), 0);
	expect_refused(-EPERM, "not 0700");
	/* a base that belongs to someone else */
	CU_ASSERT_EQUAL(chmod(base, 0700), 0);
	CU_ASSERT_EQUAL(chown(base, 1000, 1000), 0);
	expect_refused(-EPERM, "uid 1000");
	CU_ASSERT_FALSE(exists("lock"));   /* nothing was created in any of them */
	CU_ASSERT_EQUAL(chown(base, geteuid(), getegid()), 0);
	CU_ASSERT_EQUAL(rundir_open(base, &rd), 0);
	rundir_close(&rd);

	/* a planted next-domid link: refused, and the file it names untouched */
	snprintf(p, sizeof(p), "%s/next-domid", base);
	CU_ASSERT_EQUAL(symlink(victim, p), 0);
	expect_refused(-ELOOP, "next-domid is a symbolic link");
	CU_ASSERT(holds(victim, "secret\n"));
	/* planted after the checks: still never followed */
	unlink(p);
	CU_ASSERT_EQUAL_FATAL(rundir_open(base, &rd), 0);
	CU_ASSERT_EQUAL(symlink(victim, p), 0);
	CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "g", &d, &f), 0);
	CU_ASSERT(holds(victim, "secret\n"));
	CU_ASSERT_EQUAL(lstat(p, &st), 0);
	CU_ASSERT(S_ISREG(st.st_mode));   /* the link was replaced, not followed */
	/* a link planted in a domain's directory */
	snprintf(p, sizeof(p), "%s/%d/config", base, d);
	CU_ASSERT_EQUAL(symlink(victim, p), 0);
	CU_ASSERT_EQUAL(rundir_write_file(&rd, d, "config", "x", 1), 0);
	CU_ASSERT(holds(victim, "secret\n"));
	CU_ASSERT_EQUAL(unlink(p), 0);
	CU_ASSERT_EQUAL(symlink(victim, p), 0);
	{
		char buf[64];

		CU_ASSERT_EQUAL(rundir_read_file(&rd, d, "config", buf, sizeof(buf)), -ELOOP);
	}
	close(f);
	rundir_close(&rd);
	snprintf(target, sizeof(target), "%d/config is a symbolic link", d);
	expect_refused(-ELOOP, target);
	CU_ASSERT_EQUAL(unlink(p), 0);
	/* another user's file in it */
	snprintf(p, sizeof(p), "%s/next-domid", base);
	CU_ASSERT_EQUAL(chown(p, 1000, 1000), 0);
	expect_refused(-EPERM, "next-domid belongs to uid 1000");
	CU_ASSERT_EQUAL(unlink(p), 0);
	CU_ASSERT_EQUAL(rundir_open(base, &rd), 0);   /* (prunes the dead domain) */
	rundir_close(&rd);

	/* the base itself a link (to a directory that would pass) */
	snprintf(target, sizeof(target), "%s/elsewhere", tmpl);
	CU_ASSERT_EQUAL(rename(base, target), 0);
	CU_ASSERT_EQUAL(symlink(target, base), 0);
	expect_refused(-ELOOP, "symbolic link");
	CU_ASSERT_EQUAL(unlink(base), 0);
	CU_ASSERT_EQUAL(rename(target, base), 0);

	/* a parent someone else could rename the base in (sudo -E with the
	 * user's XDG_RUNTIME_DIR); a sticky world-writable one like /tmp is fine */
	CU_ASSERT_EQUAL(chown(tmpl, 1000, 1000), 0);
	expect_refused(-EPERM, "above it belongs to uid 1000");
	CU_ASSERT_EQUAL(chown(tmpl, geteuid(), getegid()), 0);
	CU_ASSERT_EQUAL(chmod(tmpl, 0777), 0);
	expect_refused(-EPERM, "sticky");
	CU_ASSERT_EQUAL(chmod(tmpl, 01777), 0);
	CU_ASSERT_EQUAL(rundir_open(base, &rd), 0);
	rundir_close(&rd);
	/* ... and any directory further up */
	snprintf(p, sizeof(p), "%s/deep", tmpl);
	CU_ASSERT_EQUAL(mkdir(p, 0700), 0);
	snprintf(target, sizeof(target), "%s", base);
	snprintf(base, sizeof(base), "%s/deep/xenkvm", tmpl);
	CU_ASSERT_EQUAL(chown(tmpl, 1000, 1000), 0);
	expect_refused(-EPERM, "above it belongs to uid 1000");
	CU_ASSERT_EQUAL(access(base, F_OK), -1);   /* not even created */
	CU_ASSERT_EQUAL(chown(tmpl, geteuid(), getegid()), 0);
	CU_ASSERT_EQUAL(rundir_open(base, &rd), 0);
	rundir_close(&rd);
	snprintf(base, sizeof(base), "%s", target);
	CU_ASSERT(holds(victim, "secret\n"));
	rm_base();
}

static void test_cloexec(void)
{
	struct rundir rd;
	int d, f;

	fresh_base(&rd);
	CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "cx", &d, &f), 0);
	CU_ASSERT_EQUAL(fcntl(f, F_GETFD) & FD_CLOEXEC, 0);
	rundir_cloexec_inherited();
	CU_ASSERT_EQUAL(fcntl(f, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CU_ASSERT_EQUAL(fcntl(STDERR_FILENO, F_GETFD) & FD_CLOEXEC, 0);
	CU_ASSERT(rundir_alive(&rd, d));   /* still held */
	close(f);
	CU_ASSERT_FALSE(rundir_alive(&rd, d));
	rundir_close(&rd);
	rm_base();
}

/* A daemon running as another user can enter the base and owns its entry. */
static void test_hand_over(void)
{
	uid_t uid = geteuid() == 0 ? 65534 : geteuid();
	gid_t gid = geteuid() == 0 ? 65534 : getegid();
	struct rundir rd;
	struct stat st;
	char path[sizeof(rd.base) + 32];
	int d, f;

	fresh_base(&rd);
	CU_ASSERT_EQUAL_FATAL(rundir_reserve(&rd, "ho", &d, &f), 0);
	CU_ASSERT_EQUAL_FATAL(stat(rd.base, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	CU_ASSERT_EQUAL(rundir_hand_over(&rd, d, uid, gid), 0);
	CU_ASSERT_EQUAL_FATAL(stat(rd.base, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0711);
	CU_ASSERT_EQUAL_FATAL(rundir_path(&rd, d, NULL, path, sizeof(path)), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_uid, uid);
	CU_ASSERT_EQUAL(st.st_gid, gid);
	CU_ASSERT_EQUAL(rundir_hand_over(&rd, 4242, uid, gid), -ENOENT);
	close(f);
	rundir_close(&rd);
	rm_base();
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("rundir", NULL, NULL);
	CU_add_test(s, "default base", test_default_base);
	CU_add_test(s, "names", test_names);
	CU_add_test(s, "reserve", test_reserve);
	CU_add_test(s, "stale", test_stale);
	CU_add_test(s, "concurrent", test_concurrent);
	CU_add_test(s, "files", test_files);
	CU_add_test(s, "cloexec", test_cloexec);
	CU_add_test(s, "unsafe base", test_unsafe_base);
	CU_add_test(s, "hand over", test_hand_over);
	return cunit_run(CU_BRM_NORMAL);
}
