/*
 * lib/journal.c against a stand-in journal: a datagram socket in a temporary
 * directory, read back and taken apart field by field.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xenkvm/journal.h"
#include "xenkvm/log.h"

static char dir[64], path[96];
static int sock = -1;

static int setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(dir, sizeof(dir), "/tmp/test_journal.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/socket", dir);
	strcpy(sa.sun_path, path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0;
}

static int teardown(void)
{
	journal_close();
	close(sock);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* The next entry, NUL-terminated; its length, or -1 if none is waiting. */
static ssize_t entry(char *buf, size_t len)
{
	ssize_t n = recv(sock, buf, len - 1, MSG_DONTWAIT);

	if (n >= 0)
		buf[n] = 0;
	return n;
}

/* The value of KEY in an entry, or NULL. */
static const char *value(const char *e, const char *key, char *out, size_t len)
{
	size_t k = strlen(key);

	for (const char *l = e; *l; l = strchr(l, '\n') + 1) {
		const char *end = strchr(l, '\n');

		if (!end)
			return NULL;
		if ((size_t)(end - l) > k && !strncmp(l, key, k) && l[k] == '=') {
			snprintf(out, len, "%.*s", (int)(end - l - (long)k - 1), l + k + 1);
			return out;
		}
	}
	return NULL;
}

static void test_fields(void)
{
	char e[4096], v[1200];

	CU_ASSERT_EQUAL_FATAL(journal_open(path, "xenkvmd"), 0);
	journal_set_domain("web", 7);
	pr_err("disk %s broke\nbadly", "xvda");
	CU_ASSERT_FATAL(entry(e, sizeof(e)) > 0);
	CU_ASSERT_EQUAL(e[strlen(e) - 1], '\n');
	CU_ASSERT_STRING_EQUAL(value(e, "PRIORITY", v, sizeof(v)), "3");
	CU_ASSERT_STRING_EQUAL(value(e, "SYSLOG_IDENTIFIER", v, sizeof(v)), "xenkvmd");
	CU_ASSERT_STRING_EQUAL(value(e, "XENKVM_DOMAIN", v, sizeof(v)), "web");
	CU_ASSERT_STRING_EQUAL(value(e, "XENKVM_DOMID", v, sizeof(v)), "7");
	/* the text without the stderr prefix, a newline inside it as a space */
	CU_ASSERT_STRING_EQUAL(value(e, "MESSAGE", v, sizeof(v)), "disk xvda broke badly");
	pr_warn("w");
	CU_ASSERT_FATAL(entry(e, sizeof(e)) > 0);
	CU_ASSERT_STRING_EQUAL(value(e, "PRIORITY", v, sizeof(v)), "4");
	/* below the log level: neither printed nor sent */
	log_set_level(LOG_INFO);
	pr_debug("not sent");
	CU_ASSERT_EQUAL(entry(e, sizeof(e)), -1);
}

static void test_long_line(void)
{
	char e[4096], v[1200], big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	pr_info("%s", big);
	CU_ASSERT_FATAL(entry(e, sizeof(e)) > 0);
	CU_ASSERT_EQUAL(e[strlen(e) - 1], '\n');
	CU_ASSERT_PTR_NOT_NULL_FATAL(value(e, "MESSAGE", v, sizeof(v)));
	CU_ASSERT(strlen(v) > 900 && strlen(v) < 1100);
	CU_ASSERT_EQUAL(strspn(v, "x."), strlen(v));   /* cut, perhaps marked "..." */
}

static void test_close_and_absent(void)
{
	char e[4096];
	char gone[128];

	journal_close();
	pr_err("after close");
	CU_ASSERT_EQUAL(entry(e, sizeof(e)), -1);
	snprintf(gone, sizeof(gone), "%s/none", dir);
	CU_ASSERT_EQUAL(journal_open(gone, "xenkvmd"), -ENOENT);
	pr_err("still no journal");
	CU_ASSERT_EQUAL(entry(e, sizeof(e)), -1);
	/* not under systemd: not wanted */
	unsetenv("INVOCATION_ID");
	CU_ASSERT_FALSE(journal_wanted());
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("journal", setup, teardown);
	CU_add_test(s, "fields", test_fields);
	CU_add_test(s, "long_line", test_long_line);
	CU_add_test(s, "close_and_absent", test_close_and_absent);
	return cunit_run(CU_BRM_NORMAL);
}
