/* The config section (userspace/config/config_state.c): round trip through
 * a stream, every refusal of config_state_open (not a stream, another
 * build, config not first, bad fields), and the text with overrides. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xenkvm/config_state.h"

static const char cfg_text[] = "name = \"g\"\nmemory = 256\nvcpus = 2\n";

static struct config_state sample(void)
{
	struct config_state cs = {
		.text = (char *)cfg_text, .len = sizeof(cfg_text) - 1, .domid = 7,
		.uuid = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
		.hcall_path = 3, .flags = CONFIG_STATE_NO_FASTPATHS,
	};

	snprintf(cs.source, sizeof(cs.source), "/etc/xen/g.cfg");
	snprintf(cs.mac_name, sizeof(cs.mac_name), "g-first");
	return cs;
}

/* Opens a writer's stream: 0 or -errno, why filled. */
static int open_stream(struct state_writer *w, struct config_state *out, char *why, size_t size)
{
	size_t len;
	const uint8_t *p = state_writer_mem(w, &len);
	struct state_reader *r = state_reader_new_mem(p, len);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	rc = config_state_open(r, out, why, size);
	state_reader_free(r);
	return rc;
}

static void test_round_trip(void)
{
	struct config_state cs = sample(), back;
	struct state_writer *w = state_writer_new_mem(XENKVM_STATE_BUILD_ID);
	char why[256] = "";

	config_state_save(&cs, w);
	state_section_begin(w, STATE_ID_VMM_BASE + 1, 1);   /* what follows is not read */
	state_put_u32(w, 1);
	state_section_end(w);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	CU_ASSERT_EQUAL_FATAL(open_stream(w, &back, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(back.text, cfg_text);
	CU_ASSERT_EQUAL(back.len, cs.len);
	CU_ASSERT_STRING_EQUAL(back.source, "/etc/xen/g.cfg");
	CU_ASSERT_EQUAL(back.domid, 7);
	CU_ASSERT_EQUAL(memcmp(back.uuid, cs.uuid, 16), 0);
	CU_ASSERT_EQUAL(back.hcall_path, 3);
	CU_ASSERT_EQUAL(back.flags, CONFIG_STATE_NO_FASTPATHS);
	CU_ASSERT_STRING_EQUAL(back.mac_name, "g-first");
	config_state_free(&back);
	state_writer_free(w);
}

static void test_refusals(void)
{
	struct config_state cs = sample(), back;
	struct state_writer *w;
	char why[256];
	static const uint8_t junk[64] = "not a stream at all";
	struct state_reader *r;

	/* Another build. */
	w = state_writer_new_mem("xenkvm-other");
	config_state_save(&cs, w);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	CU_ASSERT_EQUAL(open_stream(w, &back, why, sizeof(why)), -EPROTONOSUPPORT);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "another build ('xenkvm-other')"));
	state_writer_free(w);

	/* Not a stream. */
	r = state_reader_new_mem(junk, sizeof(junk));
	CU_ASSERT_EQUAL(config_state_open(r, &back, why, sizeof(why)), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not a saved xenkvm domain"));
	state_reader_free(r);

	/* Config not first. */
	w = state_writer_new_mem(XENKVM_STATE_BUILD_ID);
	state_section_begin(w, STATE_ID_VMM_BASE + 1, 1);
	state_section_end(w);
	config_state_save(&cs, w);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	CU_ASSERT_EQUAL(open_stream(w, &back, why, sizeof(why)), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not the config"));
	state_writer_free(w);

	/* Bad fields, each refused. */
	for (int i = 0; i < 5; i++) {
		struct config_state bad = sample();

		switch (i) {
		case 0: bad.domid = 0; break;
		case 1: bad.domid = 0x7ff0; break;
		case 2: bad.hcall_path = 4; break;
		case 3: bad.flags = 8; break;
		case 4: bad.len = 0; break;
		}
		w = state_writer_new_mem(XENKVM_STATE_BUILD_ID);
		config_state_save(&bad, w);
		CU_ASSERT_EQUAL(state_writer_finish(w), 0);
		CU_ASSERT_EQUAL(open_stream(w, &back, why, sizeof(why)), -EBADMSG);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "config"));
		CU_ASSERT_PTR_NULL(back.text);
		state_writer_free(w);
	}

	/* A NUL in the text. */
	{
		struct config_state bad = sample();
		char t[] = "a=1\0b=2";

		bad.text = t;
		bad.len = sizeof(t) - 1;
		w = state_writer_new_mem(XENKVM_STATE_BUILD_ID);
		config_state_save(&bad, w);
		CU_ASSERT_EQUAL(state_writer_finish(w), 0);
		CU_ASSERT_EQUAL(open_stream(w, &back, why, sizeof(why)), -EBADMSG);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "NUL"));
		state_writer_free(w);
	}
}

static void test_text_with_overrides(void)
{
	char path[] = "/tmp/xenkvm-config-state-XXXXXX";
	char *ov[] = { "name=\"h\"", "vcpus=1" };
	char *text;
	size_t len;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, cfg_text, sizeof(cfg_text) - 1), (ssize_t)sizeof(cfg_text) - 1);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(config_state_text(path, ov, 2, &text, &len), 0);
	CU_ASSERT_EQUAL(len, strlen(text));
	CU_ASSERT_EQUAL(strncmp(text, cfg_text, sizeof(cfg_text) - 1), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nname=\"h\"\nvcpus=1\n"));
	free(text);
	unlink(path);
	CU_ASSERT_EQUAL(config_state_text(path, NULL, 0, &text, &len), -ENOENT);
}

static void test_append(void)
{
	char *ov[] = { "name=\"r\"", "extra=\"x\"" };
	char *text;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(config_state_append(cfg_text, sizeof(cfg_text) - 1, ov, 2, &text, &len), 0);
	CU_ASSERT_EQUAL(len, strlen(text));
	CU_ASSERT_EQUAL(strncmp(text, cfg_text, sizeof(cfg_text) - 1), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nname=\"r\"\nextra=\"x\"\n"));
	free(text);
	CU_ASSERT_EQUAL_FATAL(config_state_append(cfg_text, sizeof(cfg_text) - 1, NULL, 0, &text, &len), 0);
	CU_ASSERT_STRING_EQUAL(text, cfg_text);
	free(text);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("config_state", NULL, NULL);
	CU_add_test(s, "round trip", test_round_trip);
	CU_add_test(s, "refusals", test_refusals);
	CU_add_test(s, "text with overrides", test_text_with_overrides);
	CU_add_test(s, "restore overrides appended", test_append);
	return cunit_run(CU_BRM_VERBOSE);
}
