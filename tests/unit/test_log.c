/* lib/log.c: line endings and rate limiting. */
#include <CUnit/Basic.h>
#include <string.h>

#include "cunit_run.h"
#include "log_capture.h"
#include "xenkvm/log.h"

static void test_long_line_ends_in_newline(void)
{
	struct log_capture c;
	char big[2001];
	char *out;
	size_t len;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CU_ASSERT_EQUAL_FATAL(log_capture_begin(&c), 0);
	pr_warn("guest said: %s", big);
	pr_warn("next line");
	out = log_capture_end(&c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(log_count_lines(out), 2);
	/* the cut line is marked and the next one starts on its own line */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "xxx...\n"));
	len = strlen(out);
	CU_ASSERT_TRUE(len > 10 && !strcmp(out + len - strlen("next line\n"), "next line\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nxenkvm: warning: next line\n"));
	free(out);
}

static void test_exact_fit_is_not_marked(void)
{
	static const char prefix[] = "xenkvm: warning: ";
	struct log_capture c;
	char msg[1024];
	char *out;

	/* prefix + message + newline fill the 1023 usable bytes exactly */
	memset(msg, 'y', sizeof(msg));
	msg[1023 - strlen(prefix) - 1] = '\n';
	msg[1023 - strlen(prefix)] = 0;
	CU_ASSERT_EQUAL_FATAL(log_capture_begin(&c), 0);
	pr_warn("%s", msg);
	out = log_capture_end(&c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(log_count_lines(out), 1);
	CU_ASSERT_EQUAL(strlen(out), 1023);
	CU_ASSERT_PTR_NULL(strstr(out, "..."));
	free(out);
}

static void test_rate_limit_bounds_a_flood(void)
{
	struct log_capture c;
	char *out;

	CU_ASSERT_EQUAL_FATAL(log_capture_begin(&c), 0);
	for (int i = 0; i < 10000; i++)
		pr_warn_rl("flood %d", i);
	out = log_capture_end(&c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	/* 10000 calls take far less than one 5 s window */
	CU_ASSERT_EQUAL(log_count_lines(out), LOG_RL_BURST);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "flood 9\n"));
	CU_ASSERT_PTR_NULL(strstr(out, "flood 10\n"));
	free(out);
}

static void test_window_reports_what_it_dropped(void)
{
	struct log_ratelimit rl = { 0 };
	struct log_capture c;
	unsigned int ok = 0;
	char *out;

	CU_ASSERT_EQUAL_FATAL(log_capture_begin(&c), 0);
	for (int i = 0; i < 25; i++)
		ok += log_ratelimit_ok(&rl, 3, 60000);
	/* a window that has passed: the next call reports the 22 dropped */
	rl.window_start_ms -= 60000;
	ok += log_ratelimit_ok(&rl, 3, 60000);
	out = log_capture_end(&c);
	CU_ASSERT_EQUAL(ok, 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "22 similar messages suppressed\n"));
	CU_ASSERT_EQUAL(log_count_lines(out), 1);
	free(out);
}

static void test_filtered_level_costs_nothing(void)
{
	struct log_capture c;
	char *out;

	CU_ASSERT_EQUAL_FATAL(log_capture_begin(&c), 0);
	for (int i = 0; i < 100; i++)
		pr_debug_rl("invisible %d", i);   /* level is INFO */
	log_set_level(LOG_DEBUG);
	pr_debug_rl("visible");
	log_set_level(LOG_INFO);
	out = log_capture_end(&c);
	/* the hidden calls did not use up the site's burst */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "visible\n"));
	CU_ASSERT_PTR_NULL(strstr(out, "invisible"));
	free(out);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("log", NULL, NULL);
	CU_add_test(s, "a 2000-byte line still ends in a newline", test_long_line_ends_in_newline);
	CU_add_test(s, "a line that fits exactly is not marked cut", test_exact_fit_is_not_marked);
	CU_add_test(s, "10000 rate-limited lines print a burst", test_rate_limit_bounds_a_flood);
	CU_add_test(s, "the next window reports the dropped count", test_window_reports_what_it_dropped);
	CU_add_test(s, "lines below the level do not use the burst", test_filtered_level_costs_nothing);
	return cunit_run(CU_BRM_NORMAL);
}
