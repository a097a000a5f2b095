/* The state stream (lib/state_stream.c): round trips through memory, a
 * FILE* and an fd; every truncation and every corrupted byte refused with
 * a message; the dispatcher's refusals (unknown, newer, missing, unread). */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xenkvm/state_stream.h"

#define ID_A (STATE_ID_VMM_BASE + 1)
#define ID_B (STATE_ID_VMM_BASE + 2)

struct got {
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	bool flag;
	char str[32];
	uint8_t raw[5];
	unsigned int calls_a, calls_b;
};

static int load_a(void *opaque, struct state_section *s)
{
	struct got *g = opaque;

	g->calls_a++;
	state_get_u8(s, &g->u8);
	state_get_u16(s, &g->u16);
	state_get_u32(s, &g->u32);
	state_get_u64(s, &g->u64);
	state_get_bool(s, &g->flag);
	state_get_str(s, g->str, sizeof(g->str));
	state_get_bytes(s, g->raw, sizeof(g->raw));
	return 0;
}

static int load_b(void *opaque, struct state_section *s)
{
	struct got *g = opaque;
	uint32_t v;

	g->calls_b++;
	state_get_u32(s, &v);
	if (v != 0xB0B0B0B0u)
		state_section_fail(s, EINVAL, "bad magic value %#x", v);
	return 0;
}

static void write_sections(struct state_writer *w)
{
	CU_ASSERT_EQUAL(state_section_begin(w, ID_A, 1), 0);
	state_put_u8(w, 0xA5);
	state_put_u16(w, 0xBEEF);
	state_put_u32(w, 0xDEADBEEF);
	state_put_u64(w, 0x0123456789ABCDEFull);
	state_put_u8(w, 1);
	state_put_blob(w, "hello", 5);
	state_put_bytes(w, "\1\2\3\4\5", 5);
	CU_ASSERT_EQUAL(state_section_end(w), 0);
	CU_ASSERT_EQUAL(state_section_begin(w, ID_B, 2), 0);
	state_put_u32(w, 0xB0B0B0B0u);
	CU_ASSERT_EQUAL(state_section_end(w), 0);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
}

static struct state_writer *small_stream(const uint8_t **p, size_t *len)
{
	struct state_writer *w = state_writer_new_mem("test-build-1");

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	write_sections(w);
	*p = state_writer_mem(w, len);
	return w;
}

static int load_all(struct state_reader *r, struct got *g, uint32_t b_version, bool b_required)
{
	struct state_handler h[] = {
		{ ID_A, 1, "a", true, load_a, g },
		{ ID_B, b_version, "b", b_required, load_b, g },
	};
	int rc = state_reader_header(r);

	return rc ? rc : state_load(r, h, 2);
}

static void check_got(const struct got *g)
{
	CU_ASSERT_EQUAL(g->u8, 0xA5);
	CU_ASSERT_EQUAL(g->u16, 0xBEEF);
	CU_ASSERT_EQUAL(g->u32, 0xDEADBEEF);
	CU_ASSERT_EQUAL(g->u64, 0x0123456789ABCDEFull);
	CU_ASSERT(g->flag);
	CU_ASSERT_STRING_EQUAL(g->str, "hello");
	CU_ASSERT_EQUAL(memcmp(g->raw, "\1\2\3\4\5", 5), 0);
	CU_ASSERT_EQUAL(g->calls_a, 1);
	CU_ASSERT_EQUAL(g->calls_b, 1);
}

static void test_mem_round_trip(void)
{
	const uint8_t *p;
	size_t len;
	struct state_writer *w = small_stream(&p, &len);
	struct state_reader *r = state_reader_new_mem(p, len);
	struct got g = { 0 };

	CU_ASSERT_EQUAL(load_all(r, &g, 2, true), 0);
	CU_ASSERT_STRING_EQUAL(state_reader_error(r), "");
	CU_ASSERT_STRING_EQUAL(state_reader_build_id(r), "test-build-1");
	check_got(&g);
	state_reader_free(r);
	state_writer_free(w);
}

static void test_file_and_fd(void)
{
	FILE *f = tmpfile();
	struct state_writer *w;
	struct state_reader *r;
	struct got g = { 0 };
	int fds[2];

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	w = state_writer_new_file(f, "file");
	write_sections(w);
	state_writer_free(w);
	rewind(f);
	r = state_reader_new_fd(fileno(f));
	CU_ASSERT_EQUAL(load_all(r, &g, 2, true), 0);
	check_got(&g);
	state_reader_free(r);
	fclose(f);

	/* A pipe: the reader sees the bytes as they come, no seeking. */
	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	w = state_writer_new_fd(fds[1], "pipe");
	write_sections(w);
	state_writer_free(w);
	close(fds[1]);
	memset(&g, 0, sizeof(g));
	r = state_reader_new_fd(fds[0]);
	CU_ASSERT_EQUAL(load_all(r, &g, 2, true), 0);
	check_got(&g);
	CU_ASSERT_STRING_EQUAL(state_reader_build_id(r), "pipe");
	state_reader_free(r);
	close(fds[0]);
}

/* Every prefix of a valid stream is refused with a message; so is every
 * single corrupted byte (the CRCs cover header and sections). */
static void test_truncated_and_corrupted(void)
{
	const uint8_t *p;
	size_t len;
	struct state_writer *w = small_stream(&p, &len);
	uint8_t *copy = malloc(len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	for (size_t n = 0; n < len; n++) {
		struct state_reader *r = state_reader_new_mem(p, n);
		struct got g = { 0 };

		CU_ASSERT(load_all(r, &g, 2, true) < 0);
		CU_ASSERT(state_reader_error(r)[0] != '\0');
		state_reader_free(r);
	}
	for (size_t i = 0; i < len; i++) {
		for (unsigned int bit = 0; bit < 8; bit += 3) {
			struct state_reader *r;
			struct got g = { 0 };

			memcpy(copy, p, len);
			copy[i] ^= (uint8_t)(1u << bit);
			r = state_reader_new_mem(copy, len);
			if (load_all(r, &g, 2, true) == 0)
				CU_FAIL("a corrupted byte was accepted");
			CU_ASSERT(state_reader_error(r)[0] != '\0');
			state_reader_free(r);
		}
	}
	free(copy);
	state_writer_free(w);
}

static void test_refusals(void)
{
	const uint8_t *p;
	size_t len;
	struct state_writer *w = small_stream(&p, &len);
	struct state_reader *r;
	struct got g = { 0 };

	/* Section b is v2; a build that reads only v1 refuses it by name. */
	r = state_reader_new_mem(p, len);
	CU_ASSERT_EQUAL(load_all(r, &g, 1, true), -EPROTONOSUPPORT);
	CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "section b"));
	CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "newer"));
	state_reader_free(r);

	/* Unknown section id. */
	{
		struct state_handler h[] = { { ID_A, 1, "a", true, load_a, &g } };

		r = state_reader_new_mem(p, len);
		CU_ASSERT_EQUAL(state_reader_header(r), 0);
		CU_ASSERT_EQUAL(state_load(r, h, 1), -EBADMSG);
		CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "unknown section"));
		state_reader_free(r);
	}
	state_writer_free(w);

	/* A required section that is not there. */
	w = state_writer_new_mem("x");
	CU_ASSERT_EQUAL(state_section_begin(w, ID_B, 1), 0);
	state_put_u32(w, 0xB0B0B0B0u);
	state_section_end(w);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	p = state_writer_mem(w, &len);
	r = state_reader_new_mem(p, len);
	CU_ASSERT_EQUAL(load_all(r, &g, 1, false), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "section a (0x20001) missing"));
	state_reader_free(r);
	state_writer_free(w);

	/* A handler that leaves bytes unread, and one that refuses a value. */
	w = state_writer_new_mem("x");
	state_section_begin(w, ID_B, 1);
	state_put_u32(w, 0xB0B0B0B0u);
	state_put_u8(w, 9);
	state_section_end(w);
	state_writer_finish(w);
	p = state_writer_mem(w, &len);
	r = state_reader_new_mem(p, len);
	CU_ASSERT_EQUAL(load_all(r, &g, 1, false), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "1 bytes left unread"));
	state_reader_free(r);
	state_writer_free(w);

	w = state_writer_new_mem("x");
	state_section_begin(w, ID_B, 1);
	state_put_u32(w, 7);
	state_section_end(w);
	state_writer_finish(w);
	p = state_writer_mem(w, &len);
	r = state_reader_new_mem(p, len);
	CU_ASSERT_EQUAL(load_all(r, &g, 1, false), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "section b (0x20002) v1: bad magic"));
	state_reader_free(r);
	state_writer_free(w);
}

/* A section whose getters run past its end: the first overrun is reported
 * with its offset, every later getter fails and reads zero. */
static void test_getter_bounds(void)
{
	struct state_writer *w = state_writer_new_mem("x");
	struct state_reader *r;
	struct state_section s;
	const uint8_t *p, *blob;
	uint32_t v32, blen;
	uint64_t v64 = 1;
	char str[4];
	size_t len;

	state_section_begin(w, ID_A, 1);
	state_put_u32(w, 1000);       /* a blob length that lies */
	state_put_u16(w, 7);
	state_section_end(w);
	state_section_begin(w, ID_A, 1);
	state_put_blob(w, "toolong", 7);
	state_section_end(w);
	state_writer_finish(w);
	p = state_writer_mem(w, &len);
	r = state_reader_new_mem(p, len);
	CU_ASSERT_EQUAL(state_reader_header(r), 0);
	CU_ASSERT_EQUAL(state_reader_next(r, &s), 1);
	CU_ASSERT_FALSE(state_get_blob(&s, &blob, &blen, 4096));
	CU_ASSERT_PTR_NULL(blob);
	CU_ASSERT_FALSE(state_get_u64(&s, &v64));
	CU_ASSERT_EQUAL(v64, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "truncated"));
	CU_ASSERT(state_reader_next(r, &s) < 0);   /* the error sticks */
	state_reader_free(r);

	r = state_reader_new_mem(p, len);
	CU_ASSERT_EQUAL(state_reader_header(r), 0);
	CU_ASSERT_EQUAL(state_reader_next(r, &s), 1);
	CU_ASSERT(state_get_u32(&s, &v32));
	CU_ASSERT(state_get_u16(&s, (uint16_t *)&blen));
	CU_ASSERT_EQUAL(state_reader_next(r, &s), 1);
	CU_ASSERT_FALSE(state_get_str(&s, str, sizeof(str)));  /* 7 bytes into 4 */
	CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "at most 3"));
	state_reader_free(r);
	state_writer_free(w);
}

/* A length field of 4 GiB, a foreign magic and another format version. */
static void test_header_and_length_caps(void)
{
	const uint8_t *p;
	size_t len;
	struct state_writer *w = small_stream(&p, &len);
	uint8_t *copy = malloc(len);
	struct state_reader *r;
	struct state_section s;
	size_t hdr = 8 + 4 + 2 + strlen("test-build-1") + 4;

	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	memcpy(copy, p, len);
	copy[hdr + 8 + 4] = 1;    /* section length |= 1 << 32 */
	r = state_reader_new_mem(copy, len);
	CU_ASSERT_EQUAL(state_reader_header(r), 0);
	CU_ASSERT_EQUAL(state_reader_next(r, &s), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "over the limit"));
	state_reader_free(r);

	memcpy(copy, p, len);
	copy[0] = 'Q';
	r = state_reader_new_mem(copy, len);
	CU_ASSERT_EQUAL(state_reader_header(r), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "bad magic"));
	state_reader_free(r);

	memcpy(copy, p, len);
	copy[8] = 2;
	r = state_reader_new_mem(copy, len);
	CU_ASSERT_EQUAL(state_reader_header(r), -EPROTONOSUPPORT);
	CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "format version 2"));
	state_reader_free(r);
	free(copy);
	state_writer_free(w);
}

static void test_writer_misuse(void)
{
	struct state_writer *w = state_writer_new_mem("x");

	state_put_u32(w, 1);     /* outside a section */
	CU_ASSERT_EQUAL(state_writer_finish(w), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(state_writer_error(w), "outside a section"));
	state_writer_free(w);

	w = state_writer_new_mem("x");
	CU_ASSERT_EQUAL(state_section_begin(w, STATE_SECTION_END, 1), -EINVAL);
	state_writer_free(w);

	w = state_writer_new_mem("x");
	state_section_begin(w, ID_A, 1);
	state_writer_fail(w, EBUSY, "backend busy");
	CU_ASSERT_EQUAL(state_section_end(w), -EBUSY);
	CU_ASSERT_STRING_EQUAL(state_writer_error(w), "backend busy");
	state_writer_free(w);
}

static void test_crc_known_value(void)
{
	/* The standard check value of CRC-32/ISO-HDLC. */
	CU_ASSERT_EQUAL(state_crc32(0, "123456789", 9), 0xCBF43926u);
}

struct tapped {
	uint8_t buf[4096];
	size_t len;
	size_t fail_at;          /* fail once this many bytes were tapped; 0 never */
};

static int tap_into(void *ctx, const void *p, size_t n)
{
	struct tapped *t = ctx;

	if (t->fail_at && t->len + n > t->fail_at)
		return -EPIPE;
	if (n > sizeof(t->buf) - t->len)
		return -ENOSPC;
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	return 0;
}

/* The tap sees exactly the stream's bytes, from memory and from a pipe,
 * and a failing tap fails the read (a relay whose other end went). */
static void test_tap(void)
{
	const uint8_t *p;
	size_t len;
	struct state_writer *w = small_stream(&p, &len);
	struct tapped t = { .len = 0 };
	struct got g = { 0 };
	struct state_reader *r = state_reader_new_mem(p, len);
	int fds[2];

	state_reader_set_tap(r, tap_into, &t);
	CU_ASSERT_EQUAL(load_all(r, &g, 2, true), 0);
	CU_ASSERT_EQUAL(t.len, len);
	CU_ASSERT_EQUAL(memcmp(t.buf, p, len), 0);
	state_reader_free(r);

	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	CU_ASSERT_EQUAL_FATAL(write(fds[1], p, len), (ssize_t)len);
	close(fds[1]);
	memset(&t, 0, sizeof(t));
	memset(&g, 0, sizeof(g));
	r = state_reader_new_fd(fds[0]);
	state_reader_set_tap(r, tap_into, &t);
	CU_ASSERT_EQUAL(load_all(r, &g, 2, true), 0);
	check_got(&g);
	CU_ASSERT_EQUAL(t.len, len);
	CU_ASSERT_EQUAL(memcmp(t.buf, p, len), 0);
	state_reader_free(r);
	close(fds[0]);

	memset(&t, 0, sizeof(t));
	memset(&g, 0, sizeof(g));
	t.fail_at = len / 2;
	r = state_reader_new_mem(p, len);
	state_reader_set_tap(r, tap_into, &t);
	CU_ASSERT_EQUAL(load_all(r, &g, 2, true), -EPIPE);
	CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(r), "Broken pipe"));
	state_reader_free(r);
	state_writer_free(w);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("state_stream", NULL, NULL);
	CU_add_test(s, "memory round trip", test_mem_round_trip);
	CU_add_test(s, "FILE and fd round trips", test_file_and_fd);
	CU_add_test(s, "every truncation and corrupted byte refused", test_truncated_and_corrupted);
	CU_add_test(s, "dispatcher refusals", test_refusals);
	CU_add_test(s, "getters stay inside their section", test_getter_bounds);
	CU_add_test(s, "header and length caps", test_header_and_length_caps);
	CU_add_test(s, "writer misuse", test_writer_misuse);
	CU_add_test(s, "crc32 check value", test_crc_known_value);
	CU_add_test(s, "the tap sees every byte read", test_tap);
	return cunit_run(CU_BRM_VERBOSE);
}
