/* The migration handshake (userspace/migrate_link.c): the sender accepts
 * only READY, reports the receiver's own refusal, EOF and a timeout as
 * such; the receiver accepts only GO; a hostile peer's line is bounded,
 * and an error line we send is one printable line. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xenkvm/migrate_link.h"

/* A socketpair with `bytes` written to one end (then closed if `eof`);
 * the other end is returned, its peer in *peer_r (or -1). */
static int peer_says(const char *bytes, size_t n, bool eof, int *peer_r)
{
	int sv[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (n)
		CU_ASSERT_EQUAL(write(sv[1], bytes, n), (ssize_t)n);
	if (eof) {
		close(sv[1]);
		sv[1] = -1;
	}
	*peer_r = sv[1];
	return sv[0];
}

static void done(int a, int b)
{
	close(a);
	if (b >= 0)
		close(b);
}

static void test_ready(void)
{
	char why[256] = "", rest[8];
	int peer, fd = peer_says("XENKVM-MIGRATE-READY\nGO\n", 24, true, &peer);

	CU_ASSERT_EQUAL(migrate_await_ready(fd, 1000, why, sizeof(why)), 0);
	/* Nothing after the line was consumed. */
	CU_ASSERT_EQUAL(read(fd, rest, sizeof(rest)), 3);
	CU_ASSERT_EQUAL(memcmp(rest, "GO\n", 3), 0);
	done(fd, peer);

	fd = peer_says("XENKVM-MIGRATE-READY\r\n", 22, true, &peer);
	CU_ASSERT_EQUAL(migrate_await_ready(fd, 1000, why, sizeof(why)), 0);
	done(fd, peer);
}

static void test_ready_refusals(void)
{
	static const struct {
		const char *bytes;
		bool eof;
		int rc;
		const char *why;
	} cases[] = {
		{ "XENKVM-MIGRATE-ERROR stream truncated in the section at offset 9\n", true,
		  -ECANCELED, "the receiver refused: stream truncated in the section at offset 9" },
		{ "XENKVM-MIGRATE-ERROR\n", true, -ECANCELED, "the receiver refused: (no reason given)" },
		{ "", true, -ECONNRESET, "closed the connection before confirming" },
		{ "XENKVM-MIGRATE-REA", true, -ECONNRESET, "closed the connection before confirming" },
		{ "", false, -ETIMEDOUT, "did not answer within" },
		{ "GO\n", true, -EPROTO, "sent 'GO', not confirming" },
		{ "XENKVM-MIGRATE-READYX\n", true, -EPROTO, "not confirming" },
		{ "XENKVM-MIGRATE-ERRORS x\n", true, -EPROTO, "not confirming" },
		{ "XENKVM\001MIGRATE-READY\n", true, -EPROTO, "not a handshake line" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[256] = "";
		int peer, fd = peer_says(cases[i].bytes, strlen(cases[i].bytes), cases[i].eof, &peer);

		CU_ASSERT_EQUAL(migrate_await_ready(fd, 100, why, sizeof(why)), cases[i].rc);
		if (!strstr(why, cases[i].why))
			fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, why, cases[i].why);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, cases[i].why));
		done(fd, peer);
	}
}

/* A peer that sends an endless line is cut off at MIGRATE_LINE_MAX. */
static void test_long_line(void)
{
	char big[MIGRATE_LINE_MAX + 16], why[256] = "";
	int peer, fd;

	memset(big, 'A', sizeof(big));
	fd = peer_says(big, sizeof(big), false, &peer);
	CU_ASSERT_EQUAL(migrate_await_ready(fd, 1000, why, sizeof(why)), -EMSGSIZE);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not a handshake line"));
	done(fd, peer);
}

static void test_go(void)
{
	char why[256] = "";
	bool paused = true;
	int peer, fd = peer_says("GO\n", 3, true, &peer);

	CU_ASSERT_EQUAL(migrate_await_go(fd, 1000, &paused, why, sizeof(why)), 0);
	CU_ASSERT_FALSE(paused);
	done(fd, peer);
	fd = peer_says("GO PAUSED\n", 10, true, &peer);
	CU_ASSERT_EQUAL(migrate_await_go(fd, 1000, &paused, why, sizeof(why)), 0);
	CU_ASSERT_TRUE(paused);
	done(fd, peer);
	fd = peer_says("", 0, true, &peer);
	CU_ASSERT_EQUAL(migrate_await_go(fd, 1000, &paused, why, sizeof(why)), -ECONNRESET);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "the sender closed the connection before GO"));
	done(fd, peer);
	/* "G\rO": a CR only ends a line (fuzz_migrate_link found it read as GO) */
	static const char *const bad[] = { "go\n", "GO PAUSE\n", "GO  PAUSED\n", "GOPAUSED\n", "G\rO\n",
					   "GO\r\r\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = peer_says(bad[i], strlen(bad[i]), true, &peer);
		CU_ASSERT_EQUAL(migrate_await_go(fd, 1000, &paused, why, sizeof(why)), -EPROTO);
		done(fd, peer);
	}
}

/* What we send back: one line, printable, bounded, read back whole. */
static void test_write_error(void)
{
	char reason[2 * MIGRATE_LINE_MAX], why[MIGRATE_LINE_MAX + 64] = "";
	int sv[2];

	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	reason[3] = '\n';
	reason[5] = '\033';
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CU_ASSERT_EQUAL(migrate_write_error(sv[1], reason), 0);
	CU_ASSERT_EQUAL(migrate_write_line(sv[1], MIGRATE_READY), 0);
	close(sv[1]);
	CU_ASSERT_EQUAL(migrate_await_ready(sv[0], 1000, why, sizeof(why)), -ECANCELED);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "the receiver refused: xxx x xxx"));
	/* The line after it is intact. */
	CU_ASSERT_EQUAL(migrate_await_ready(sv[0], 1000, why, sizeof(why)), 0);
	close(sv[0]);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("migrate_link", NULL, NULL);
	CU_add_test(s, "READY, and nothing after it consumed", test_ready);
	CU_add_test(s, "refusal, EOF, timeout and other lines are not READY", test_ready_refusals);
	CU_add_test(s, "an endless line is cut off", test_long_line);
	CU_add_test(s, "GO and not GO", test_go);
	CU_add_test(s, "an error line is one printable line", test_write_error);
	return cunit_run(CU_BRM_VERBOSE);
}
