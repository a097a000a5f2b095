/*
 * The control protocol: JSON reader/writer, request/reply codec, the
 * server on a real event loop with a fake daemon's handlers, the blocking
 * client, and the console relay.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xenkvm/clock.h"
#include "xenkvm/console_server.h"
#include "xenkvm/control.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/json.h"

/* --- JSON ------------------------------------------------------------------ */

static struct json_value *parse_ok(const char *s)
{
	struct json_value *v = NULL;
	char err[128];
	int rc = json_parse(s, strlen(s), &v, err, sizeof(err));

	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		fprintf(stderr, "unexpected failure on %s: %s\n", s, err);
	return v;
}

static void test_json_parse(void)
{
	struct json_value *v;
	const struct json_value *a;
	const char *s;
	int64_t i;
	bool b;

	v = parse_ok(" {\"a\": [1, -2, true, false, null, \"x\"], \"b\": {\"c\": \"d\"}, \"n\": -9223372036854775808} ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(v->type, JSON_OBJECT);
	a = json_get(v, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->type, JSON_ARRAY);
	CU_ASSERT_EQUAL(a->arr.n, 6);
	CU_ASSERT_EQUAL(a->arr.items[1].i, -2);
	CU_ASSERT_EQUAL(a->arr.items[2].type, JSON_BOOL);
	CU_ASSERT(a->arr.items[2].b);
	CU_ASSERT_EQUAL(a->arr.items[4].type, JSON_NULL);
	CU_ASSERT_STRING_EQUAL(a->arr.items[5].str.s, "x");
	CU_ASSERT_EQUAL(json_get_string(json_get(v, "b"), "c", &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "d");
	CU_ASSERT_EQUAL(json_get_int(v, "n", INT64_MIN, INT64_MAX, &i), 0);
	CU_ASSERT_EQUAL(i, INT64_MIN);
	CU_ASSERT_EQUAL(json_get_int(v, "n", 0, 10, &i), -EINVAL);
	CU_ASSERT_EQUAL(json_get_int(v, "missing", 0, 10, &i), -ENOENT);
	CU_ASSERT_EQUAL(json_get_string(v, "a", &s), -EINVAL);
	CU_ASSERT_EQUAL(json_get_bool(v, "a", &b), -EINVAL);
	json_free(v);

	/* escapes, \u with a surrogate pair -> UTF-8 */
	v = parse_ok("\"q\\\"b\\\\s\\/n\\nt\\tu\\u00e9\\ud83d\\ude00\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v->str.s, "q\"b\\s/n\nt\tu\xc3\xa9\xf0\x9f\x98\x80");
	CU_ASSERT_EQUAL(v->str.len, strlen(v->str.s));
	json_free(v);

	/* well-formed UTF-8 passes through: 2-, 3- and 4-byte forms, the
	 * highest code point, and U+FFFF (a noncharacter, but well-formed) */
	v = parse_ok("{\"k\xc3\xa9\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xef\xbf\xbf\"}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(json_get_string(v, "k\xc3\xa9", &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xef\xbf\xbf");
	json_free(v);
	/* different keys that share a prefix are not duplicates */
	v = parse_ok("{\"k\":1,\"kk\":2,\"K\":3,\"\":4}");
	CU_ASSERT_EQUAL(json_get_int(v, "kk", 0, 9, &i), 0);
	CU_ASSERT_EQUAL(i, 2);
	json_free(v);
}

static void test_json_reject(void)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{\"a\":1,}",
		"\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud800\"",
		"\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u0000\"", "\"ctl \x01\"", "01", "-", "1.5",
		"1e3", "9223372036854775808", "-9223372036854775809", "tru", "nul", "1 2", "{} x",
		"[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]",
		/* repeated keys, at any level, also when spelt differently */
		"{\"k\":1,\"k\":2}", "{\"k\":1,\"x\":0,\"k\":1}", "{\"a\":{\"b\":1,\"b\":1}}",
		"[{\"x\":1,\"x\":1}]", "{\"k\":1,\"\\u006b\":2}", "{\"\":1,\"\":2}",
		/* ill-formed UTF-8 in a value or a key */
		"\"\xff\"", "\"\x80\"", "\"a\xc3\"", "\"\xc3(\"", "\"\xc0\xaf\"", "\"\xc1\xbf\"",
		"\"\xe0\x80\xaf\"", "\"\xe2\x82\"", "\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"",
		"\"\xf0\x80\x80\xaf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"",
		"\"\xf0\x9f\x98\"", "\"\xfe\"", "{\"\xff\":1}", "[\"ok\",\"\xe9t\xe9\"]",
	};
	struct json_value *v;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = NULL;
		err[0] = 0;
		CU_ASSERT_EQUAL(json_parse(bad[i], strlen(bad[i]), &v, err, sizeof(err)), -EINVAL);
		CU_ASSERT_PTR_NULL(v);
		CU_ASSERT(err[0] != 0);
	}
	/* not NUL-terminated: the parser must stop at len */
	CU_ASSERT_EQUAL(json_parse("12345", 2, &v, NULL, 0), 0);
	CU_ASSERT_EQUAL(v->i, 12);
	json_free(v);
	/* depth 16 is fine, 17 is not */
	CU_ASSERT_EQUAL(json_parse("[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]", 33, &v, NULL, 0), 0);
	json_free(v);
	/* an empty 17th level is still too deep (the writer could not copy it) */
	CU_ASSERT_EQUAL(json_parse("[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]", 34, &v, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(json_parse("[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]", 34, &v, NULL, 0), -EINVAL);
}

static void test_json_write(void)
{
	struct json_writer w;
	struct json_value *v;
	char *text;
	size_t len;
	const char *s;

	json_writer_init(&w, -1);
	json_write_object_begin(&w, NULL);
	json_write_string(&w, "s", "a\"b\\c\n\x01\x7f");
	json_write_int(&w, "i", -5);
	json_write_array_begin(&w, "a");
	json_write_bool(&w, NULL, true);
	json_write_null(&w, NULL);
	json_write_array_end(&w);
	json_write_object_end(&w);
	CU_ASSERT_EQUAL_FATAL(json_writer_finish(&w, &text, &len), 0);
	CU_ASSERT_STRING_EQUAL(text, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\\u007f\",\"i\":-5,\"a\":[true,null]}");
	CU_ASSERT_EQUAL(len, strlen(text));
	CU_ASSERT_EQUAL(json_parse(text, len, &v, NULL, 0), 0);
	CU_ASSERT_EQUAL(json_get_string(v, "s", &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "a\"b\\c\n\x01\x7f");
	free(text);

	/* json_write_value copies a tree; indented output parses the same */
	json_writer_init(&w, 2);
	json_write_value(&w, NULL, v);
	CU_ASSERT_EQUAL_FATAL(json_writer_finish(&w, &text, &len), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  \"i\": -5"));
	json_free(v);
	CU_ASSERT_EQUAL(json_parse(text, len, &v, NULL, 0), 0);
	CU_ASSERT_EQUAL(v->obj.n, 3);
	json_free(v);
	free(text);

	/* misuse is reported, not written */
	json_writer_init(&w, -1);
	json_write_int(&w, NULL, 1);
	json_write_int(&w, NULL, 2);
	CU_ASSERT_EQUAL(json_writer_finish(&w, &text, &len), -EINVAL);
	json_writer_init(&w, -1);
	json_write_array_end(&w);
	CU_ASSERT_EQUAL(json_writer_finish(&w, &text, &len), -EINVAL);
	json_writer_init(&w, -1);
	json_write_array_begin(&w, NULL);
	CU_ASSERT_EQUAL(json_writer_finish(&w, &text, &len), -EINVAL);   /* unclosed */
	json_writer_init(&w, -1);
	CU_ASSERT_EQUAL(json_writer_finish(&w, &text, &len), -EINVAL);   /* empty */

	/* ill-formed UTF-8 handed to the writer goes out as U+FFFD, byte by
	 * byte; well-formed sequences go out as they are */
	json_writer_init(&w, -1);
	json_write_string(&w, NULL, "\xff \xc3\xa9 \xe2\x82 \xed\xa0\x80");
	CU_ASSERT_EQUAL_FATAL(json_writer_finish(&w, &text, &len), 0);
	CU_ASSERT_STRING_EQUAL(text, "\"\\ufffd \xc3\xa9 \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\"");
	CU_ASSERT_EQUAL(json_parse(text, len, &v, NULL, 0), 0);
	json_free(v);
	free(text);
}

/* --- codec ----------------------------------------------------------------- */

static int decode(const char *line, struct control_request *req, char *err)
{
	return control_request_decode(line, strlen(line), req, err, 256);
}

static void test_request_codec(void)
{
	struct control_request req, out;
	char *line, err[256];
	size_t len;

	for (unsigned int op = 0; op < CONTROL_OP_COUNT; op++) {
		enum control_op back;

		memset(&req, 0, sizeof(req));
		req.version = CONTROL_PROTOCOL_VERSION;
		req.op = (enum control_op)op;
		req.has_id = true;
		req.id = 1000 + op;
		req.reason = CONTROL_SHUTDOWN_REBOOT;
		req.target_kib = 262144 + op;
		snprintf(req.arg, sizeof(req.arg), "vdev=xvdb, target=/tmp/d%u.img", op);
		if (op == CONTROL_OP_SYSRQ)
			snprintf(req.arg, sizeof(req.arg), "s");
		if (op == CONTROL_OP_TRIGGER) {
			snprintf(req.arg, sizeof(req.arg), "nmi");
			req.vcpu = 3;
		}
		if (op == CONTROL_OP_SAVE)
			snprintf(req.arg, sizeof(req.arg), "/var/lib/xen/save/g.save");
		if (op == CONTROL_OP_MIGRATE_SEND)
			snprintf(req.arg, sizeof(req.arg), "/run/xenkvm/3/migrate.sock");
		CU_ASSERT_EQUAL_FATAL(control_request_encode(&req, &line, &len), 0);
		CU_ASSERT_EQUAL(line[len - 1], '\n');
		CU_ASSERT_PTR_NULL(memchr(line, '\n', len - 1));
		CU_ASSERT_EQUAL(control_request_decode(line, len, &out, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(out.op, req.op);
		CU_ASSERT(out.has_id);
		CU_ASSERT_EQUAL(out.id, req.id);
		CU_ASSERT_EQUAL(control_op_from_name(control_op_name(req.op), &back), 0);
		CU_ASSERT_EQUAL(back, req.op);
		if (op == CONTROL_OP_SHUTDOWN)
			CU_ASSERT_EQUAL(out.reason, CONTROL_SHUTDOWN_REBOOT);
		if (op == CONTROL_OP_BLOCK_ATTACH || op == CONTROL_OP_NETWORK_DETACH)
			CU_ASSERT_STRING_EQUAL(out.arg, req.arg);
		if (op == CONTROL_OP_MEM_SET)
			CU_ASSERT_EQUAL(out.target_kib, req.target_kib);
		if (op == CONTROL_OP_SYSRQ)
			CU_ASSERT_STRING_EQUAL(out.arg, "s");
		if (op == CONTROL_OP_TRIGGER) {
			CU_ASSERT_STRING_EQUAL(out.arg, "nmi");
			CU_ASSERT_EQUAL(out.vcpu, 3);
		}
		if (op == CONTROL_OP_SAVE)
			CU_ASSERT_STRING_EQUAL(out.arg, "/var/lib/xen/save/g.save");
		if (op == CONTROL_OP_MIGRATE_SEND)
			CU_ASSERT_STRING_EQUAL(out.arg, "/run/xenkvm/3/migrate.sock");
		if (op == CONTROL_OP_INFO) {
			CU_ASSERT_STRING_EQUAL(out.arg, "");   /* no argument travels */
			CU_ASSERT_EQUAL(out.target_kib, 0);
		}
		free(line);
	}

	/* defaults and tolerance: no id, unknown fields, CRLF */
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"shutdown\",\"future\":[1]}\r\n", &out, err), 0);
	CU_ASSERT(!out.has_id);
	CU_ASSERT_EQUAL(out.reason, CONTROL_SHUTDOWN_POWEROFF);

	/* errors: each names the problem; the id still comes back */
	CU_ASSERT_EQUAL(decode("not json", &out, err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a JSON request"));
	CU_ASSERT_EQUAL(decode("[1]", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"id\":7,\"op\":\"info\"}", &out, err), -EINVAL);
	CU_ASSERT(out.has_id);
	CU_ASSERT_EQUAL(out.id, 7);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"v\""));
	CU_ASSERT_EQUAL(decode("{\"v\":2,\"id\":8,\"op\":\"info\"}", &out, err), -EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(out.id, 8);
	CU_ASSERT_EQUAL(decode("{\"v\":\"1\",\"op\":\"info\"}", &out, err), -EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"frobnicate\"}", &out, err), -ENOSYS);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "frobnicate"));
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":3}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"id\":\"x\",\"op\":\"info\"}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"shutdown\",\"reason\":\"halt\"}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"block-attach\"}", &out, err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "required"));
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"block-detach\",\"device\":\"\"}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"block-detach\",\"device\":5}", &out, err), -EINVAL);
	/* mem-set: an integer target in KiB, 1 KiB to 1 TiB */
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"mem-set\"}", &out, err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "target_kib"));
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"mem-set\",\"target_kib\":\"512\"}", &out, err),
			-EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"mem-set\",\"target_kib\":0}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"mem-set\",\"target_kib\":-4}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"mem-set\",\"target_kib\":1073741825}", &out, err),
			-EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"mem-set\",\"target_kib\":1073741824}", &out, err), 0);
	CU_ASSERT_EQUAL(out.target_kib, 1073741824);
	/* sysrq: exactly one printable character */
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"sysrq\",\"key\":\"b\"}", &out, err), 0);
	CU_ASSERT_STRING_EQUAL(out.arg, "b");
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"sysrq\"}", &out, err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"key\""));
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"sysrq\",\"key\":\"bb\"}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"sysrq\",\"key\":\" \"}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"sysrq\",\"key\":\"\\u0007\"}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"sysrq\",\"key\":7}", &out, err), -EINVAL);
	/* save: an absolute path, required */
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"save\",\"path\":\"/s/g.save\"}", &out, err), 0);
	CU_ASSERT_STRING_EQUAL(out.arg, "/s/g.save");
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"save\",\"path\":\"g.save\"}", &out, err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "absolute path"));
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"save\"}", &out, err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"path\" is required"));
	/* trigger: power, reset or nmi; vcpu optional, in range */
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"trigger\",\"kind\":\"power\"}", &out, err), 0);
	CU_ASSERT_STRING_EQUAL(out.arg, "power");
	CU_ASSERT_EQUAL(out.vcpu, 0);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"trigger\",\"kind\":\"init\"}", &out, err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"kind\""));
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"trigger\"}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"trigger\",\"kind\":\"nmi\",\"vcpu\":-1}", &out, err),
			-EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"trigger\",\"kind\":\"nmi\",\"vcpu\":256}", &out, err),
			-EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"trigger\",\"kind\":\"nmi\",\"vcpu\":255}", &out, err),
			0);
	CU_ASSERT_EQUAL(out.vcpu, 255);
	{
		char big[CONTROL_TEXT_MAX + 100];

		snprintf(big, sizeof(big), "{\"v\":1,\"op\":\"network-attach\",\"spec\":\"%0*d\"}",
			 CONTROL_TEXT_MAX, 0);
		CU_ASSERT_EQUAL(decode(big, &out, err), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "too long"));
	}

	/* a repeated key is refused, not read as its first or last copy */
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"info\",\"op\":\"destroy\"}", &out, err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "duplicate key"));
	CU_ASSERT_EQUAL(out.op, 0);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"id\":3,\"id\":4,\"op\":\"info\"}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"trigger\",\"kind\":\"nmi\",\"kind\":\"reset\"}", &out,
			       err), -EINVAL);
	/* ill-formed UTF-8 in any string: refused, and not quoted back */
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"block-detach\",\"device\":\"xvd\xff\"}", &out, err),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "UTF-8"));
	CU_ASSERT_PTR_NULL(strchr(err, '\xff'));
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"info\\u0000\xc0\"}", &out, err), -EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"info\",\"future\":[\"\xed\xa0\x80\"]}", &out, err),
			-EINVAL);
	CU_ASSERT_EQUAL(decode("{\"v\":1,\"op\":\"info\",\"\xff\":1}", &out, err), -EINVAL);

	/* errno names round-trip; unknown ones read as EIO */
	CU_ASSERT_STRING_EQUAL(control_errno_name(-EOPNOTSUPP), "EOPNOTSUPP");
	CU_ASSERT_EQUAL(control_errno_from_name("EBUSY"), -EBUSY);
	CU_ASSERT_EQUAL(control_errno_from_name("EWHATEVER"), -EIO);
}

static void test_reply_codec(void)
{
	struct control_vcpu_info vcpus[2] = {
		{ .id = 0, .online = true, .running = true, .host_cpu = 1, .cpu_time_ns = 5000000000ull, .affinity = "all" },
		{ .id = 1, .online = true, .paused = true, .host_cpu = -1, .affinity = "0-1" },
	};
	struct control_disk_info disk = { .vdev = "xvda", .target = "/d.img", .devid = 51712,
					  .readonly = true, .backend_state = 4, .frontend_state = 4 };
	struct control_nic_info nic = { .devid = 0, .mac = "00:16:3e:00:00:01", .backend = "user",
					.backend_state = 4, .frontend_state = -1 };
	struct control_reply rep, out;
	char *line, err[256];
	size_t len;

	memset(&rep, 0, sizeof(rep));
	rep.has_id = true;
	rep.id = 42;
	rep.info = (struct control_domain_info){ .domid = 3, .name = "guest \"one\"", .uuid = "u",
		.state = CONTROL_STATE_PAUSED, .blocked = true, .memory_mib = 512, .maxmem_mib = 1024,
		.vcpus = 2, .maxvcpus = 4, .cpu_time_ns = 123, .start_time = 1700000000, .pid = 99,
		.restarts = 1, .config = "/etc/xen/g.cfg", .type = "pvh" };
	CU_ASSERT_EQUAL_FATAL(control_reply_encode(CONTROL_OP_INFO, &rep, &line, &len), 0);
	CU_ASSERT_EQUAL(control_reply_decode(CONTROL_OP_INFO, line, len, &out, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(out.id, 42);
	CU_ASSERT_EQUAL(out.error, 0);
	CU_ASSERT_STRING_EQUAL(out.info.type, "pvh");
	CU_ASSERT_EQUAL(memcmp(&out.info, &rep.info, sizeof(out.info)), 0);
	free(line);
	/* A daemon from before PVH support sends no type: it ran an HVM domain. */
	{
		static const char old[] = "{\"v\":1,\"ok\":true,\"domain\":{\"domid\":1,\"name\":\"g\","
			"\"uuid\":\"\",\"state\":\"running\",\"blocked\":false,\"memory_mib\":1,"
			"\"maxmem_mib\":1,\"vcpus\":1,\"maxvcpus\":1,\"cpu_time_ns\":0,\"start_time\":0,"
			"\"pid\":1,\"restarts\":0,\"config\":\"c\"}}";

		CU_ASSERT_EQUAL(control_reply_decode(CONTROL_OP_INFO, old, sizeof(old) - 1, &out, err,
						     sizeof(err)), 0);
		CU_ASSERT_STRING_EQUAL(out.info.type, "hvm");
	}

	rep.vcpus = vcpus;
	rep.nr_vcpus = 2;
	CU_ASSERT_EQUAL_FATAL(control_reply_encode(CONTROL_OP_VCPU_LIST, &rep, &line, &len), 0);
	CU_ASSERT_EQUAL(control_reply_decode(CONTROL_OP_VCPU_LIST, line, len, &out, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(out.nr_vcpus, 2);
	CU_ASSERT_EQUAL(memcmp(out.vcpus, vcpus, sizeof(vcpus)), 0);
	control_reply_free(&out);
	CU_ASSERT_PTR_NULL(out.vcpus);
	free(line);

	rep.disks = &disk;
	rep.nr_disks = 1;
	CU_ASSERT_EQUAL_FATAL(control_reply_encode(CONTROL_OP_BLOCK_LIST, &rep, &line, &len), 0);
	CU_ASSERT_EQUAL(control_reply_decode(CONTROL_OP_BLOCK_LIST, line, len, &out, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(out.nr_disks, 1);
	CU_ASSERT_EQUAL(memcmp(out.disks, &disk, sizeof(disk)), 0);
	control_reply_free(&out);
	free(line);

	rep.nics = &nic;
	rep.nr_nics = 1;
	CU_ASSERT_EQUAL_FATAL(control_reply_encode(CONTROL_OP_NETWORK_LIST, &rep, &line, &len), 0);
	CU_ASSERT_EQUAL(control_reply_decode(CONTROL_OP_NETWORK_LIST, line, len, &out, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(out.nr_nics, 1);
	CU_ASSERT_EQUAL(memcmp(out.nics, &nic, sizeof(nic)), 0);
	control_reply_free(&out);
	free(line);

	/* an error reply carries errno name and message, no payload */
	memset(&rep, 0, sizeof(rep));
	rep.error = -EOPNOTSUPP;
	snprintf(rep.message, sizeof(rep.message), "block-attach: not supported");
	CU_ASSERT_EQUAL_FATAL(control_reply_encode(CONTROL_OP_BLOCK_LIST, &rep, &line, &len), 0);
	CU_ASSERT_PTR_NULL(strstr(line, "disks"));
	CU_ASSERT_EQUAL(control_reply_decode(CONTROL_OP_BLOCK_LIST, line, len, &out, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(out.error, -EOPNOTSUPP);
	CU_ASSERT_STRING_EQUAL(out.message, "block-attach: not supported");
	CU_ASSERT(!out.has_id);
	free(line);

	/* hostile replies */
#define BAD_REPLY(op, text) \
	CU_ASSERT_NOT_EQUAL(control_reply_decode(op, text, strlen(text), &out, err, sizeof(err)), 0)
	BAD_REPLY(CONTROL_OP_INFO, "{\"v\":1,\"ok\":true}");
	BAD_REPLY(CONTROL_OP_INFO, "{\"v\":1,\"ok\":true,\"domain\":[]}");
	BAD_REPLY(CONTROL_OP_INFO, "{\"v\":2,\"ok\":true}");
	BAD_REPLY(CONTROL_OP_INFO, "{\"v\":1}");
	BAD_REPLY(CONTROL_OP_HELLO, "{\"v\":1,\"ok\":\"yes\"}");
	BAD_REPLY(CONTROL_OP_VCPU_LIST, "{\"v\":1,\"ok\":true,\"vcpus\":[1]}");
	BAD_REPLY(CONTROL_OP_VCPU_LIST, "{\"v\":1,\"ok\":true,\"vcpus\":[{\"id\":0}]}");
	BAD_REPLY(CONTROL_OP_BLOCK_LIST, "{\"v\":1,\"ok\":true,\"disks\":{}}");
	BAD_REPLY(CONTROL_OP_NETWORK_ATTACH, "{\"v\":1,\"ok\":true,\"devid\":-4}");
	BAD_REPLY(CONTROL_OP_BLOCK_ATTACH, "{\"v\":1,\"ok\":true,\"vdev\":\"0123456789012345678901234567890123456789\"}");
	/* too many entries */
	{
		size_t cap = 40 * (CONTROL_LIST_MAX + 2) + 64;
		char *big = malloc(cap);
		size_t n = (size_t)snprintf(big, cap, "{\"v\":1,\"ok\":true,\"nics\":[");

		for (int i = 0; i <= CONTROL_LIST_MAX; i++)
			n += (size_t)snprintf(big + n, cap - n, "%s{}", i ? "," : "");
		snprintf(big + n, cap - n, "]}");
		BAD_REPLY(CONTROL_OP_NETWORK_LIST, big);
		free(big);
	}
	/* an error reply with an unknown errno name is still an error */
	CU_ASSERT_EQUAL(control_reply_decode(CONTROL_OP_INFO, "{\"v\":1,\"ok\":false,\"error\":\"EWEIRD\"}", 35,
					     &out, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(out.error, -EIO);
	CU_ASSERT(out.message[0] != 0);
}

/* --- server and client ---------------------------------------------------------- */

struct fake_domain {
	int pauses, unpauses, destroys, shutdowns;
	enum control_shutdown_reason last_reason;
	char last_arg[CONTROL_TEXT_MAX];
	struct control_server *srv;
};

static int fake_info(void *opaque, struct control_domain_info *info)
{
	struct fake_domain *d = opaque;

	info->domid = 7;
	snprintf(info->name, sizeof(info->name), "fake");
	info->state = d->pauses > d->unpauses ? CONTROL_STATE_PAUSED : CONTROL_STATE_RUNNING;
	info->memory_mib = 256;
	info->vcpus = 2;
	return 0;
}

static int fake_vcpu_list(void *opaque, struct control_vcpu_info *v, unsigned int max, unsigned int *nr_r)
{
	CU_ASSERT(max >= 3);
	for (unsigned int i = 0; i < 3; i++)
		v[i] = (struct control_vcpu_info){ .id = i, .online = true, .host_cpu = -1 };
	*nr_r = 3;
	return 0;
}

static int fake_pause(void *opaque)
{
	struct fake_domain *d = opaque;

	if (d->pauses > d->unpauses) {
		control_server_set_message(d->srv, "domain %d is already paused", 7);
		return -EALREADY;
	}
	d->pauses++;
	return 0;
}

static int fake_unpause(void *opaque)
{
	((struct fake_domain *)opaque)->unpauses++;
	return 0;
}

static int fake_shutdown(void *opaque, enum control_shutdown_reason r)
{
	struct fake_domain *d = opaque;

	d->shutdowns++;
	d->last_reason = r;
	return 0;
}

static int fake_destroy(void *opaque)
{
	((struct fake_domain *)opaque)->destroys++;
	return -EPERM;   /* no message: strerror is used */
}

static int fake_block_detach(void *opaque, const char *vdev)
{
	snprintf(((struct fake_domain *)opaque)->last_arg, CONTROL_TEXT_MAX, "%s", vdev);
	return 0;
}

static int call(const char *path, enum control_op op, const char *arg, struct control_reply *rep)
{
	struct control_request req = { .version = CONTROL_PROTOCOL_VERSION, .op = op };
	char err[256];

	if (arg)
		snprintf(req.arg, sizeof(req.arg), "%s", arg);
	if (op == CONTROL_OP_SHUTDOWN && arg)
		req.reason = CONTROL_SHUTDOWN_REBOOT;
	return control_call(path, &req, 2000, rep, err, sizeof(err));
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads until `lines` newlines or EOF/timeout; returns bytes read. */
static size_t raw_read(int fd, char *buf, size_t size, int lines)
{
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;
		int seen = 0;

		for (size_t i = 0; i < n; i++)
			seen += buf[i] == '\n';
		if (lines && seen >= lines)
			break;
		if (poll(&p, 1, 2000) <= 0)
			break;
		r = read(fd, buf + n, size - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	return n;
}

static bool wait_until(unsigned int (*fn)(const struct control_server *), const struct control_server *s,
		       unsigned int want)
{
	for (int i = 0; i < 200; i++) {
		if (fn(s) == want)
			return true;
		usleep(10000);
	}
	return false;
}

static void test_server(void)
{
	struct control_handlers h = {
		.info = fake_info, .vcpu_list = fake_vcpu_list, .pause = fake_pause, .unpause = fake_unpause,
		.shutdown = fake_shutdown, .destroy = fake_destroy, .block_detach = fake_block_detach,
	};
	struct fake_domain d;
	struct event_loop *loop;
	struct control_reply rep;
	struct stat st;
	char dir[] = "/tmp/test_control.XXXXXX", path[128], buf[4096];
	int fds[CONTROL_MAX_CLIENTS + 1], fd;

	memset(&d, 0, sizeof(d));
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	CU_ASSERT_EQUAL_FATAL(event_loop_new(&loop), 0);
	CU_ASSERT_EQUAL(control_server_start(loop, path, &(struct control_handlers){ 0 }, &d, &d.srv), -EINVAL);
	{
		mode_t old = umask(0);   /* no umask makes the socket wider */

		CU_ASSERT_EQUAL_FATAL(control_server_start(loop, path, &h, &d, &d.srv), 0);
		umask(old);
	}
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL_FATAL(event_loop_start(loop, "control-test"), 0);

	CU_ASSERT_EQUAL(call(path, CONTROL_OP_HELLO, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.protocol, CONTROL_PROTOCOL_VERSION);
	CU_ASSERT_STRING_EQUAL(rep.server, "xenkvmd");
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_INFO, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.error, 0);
	CU_ASSERT_EQUAL(rep.info.domid, 7);
	CU_ASSERT_STRING_EQUAL(rep.info.name, "fake");
	CU_ASSERT_EQUAL(rep.info.state, CONTROL_STATE_RUNNING);
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_VCPU_LIST, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.nr_vcpus, 3);
	CU_ASSERT_EQUAL(rep.vcpus[2].id, 2);
	control_reply_free(&rep);

	CU_ASSERT_EQUAL(call(path, CONTROL_OP_PAUSE, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.error, 0);
	CU_ASSERT_EQUAL(d.pauses, 1);
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_INFO, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.info.state, CONTROL_STATE_PAUSED);
	/* a handler's own message */
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_PAUSE, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.error, -EALREADY);
	CU_ASSERT_STRING_EQUAL(rep.message, "pause: domain 7 is already paused");
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_UNPAUSE, NULL, &rep), 0);
	CU_ASSERT_EQUAL(d.unpauses, 1);
	/* an error without a message gets strerror */
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_DESTROY, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.error, -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(rep.message, strerror(EPERM)));
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_SHUTDOWN, "reboot", &rep), 0);
	CU_ASSERT_EQUAL(d.shutdowns, 1);
	CU_ASSERT_EQUAL(d.last_reason, CONTROL_SHUTDOWN_REBOOT);
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_BLOCK_DETACH, "xvdb", &rep), 0);
	CU_ASSERT_EQUAL(rep.error, 0);
	CU_ASSERT_STRING_EQUAL(d.last_arg, "xvdb");
	/* handlers the daemon did not supply: clearly unsupported */
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_BLOCK_ATTACH, "/d.img,raw,xvdb,rw", &rep), 0);
	CU_ASSERT_EQUAL(rep.error, -EOPNOTSUPP);
	CU_ASSERT_STRING_EQUAL(rep.message, "block-attach: not supported by this xenkvmd");
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_NETWORK_LIST, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.error, -EOPNOTSUPP);

	/* raw: garbage gets an error reply with the id; the connection stays usable;
	 * pipelined requests are answered in order; blank lines are ignored */
	fd = raw_connect(path);
	CU_ASSERT_FATAL(fd >= 0);
	{
		static const char two[] = "{\"v\":1,\"id\":5,\"op\":\"nope\"}\n\n{\"v\":1,\"id\":6,\"op\":\"hello\"}\n"
					  "{\"id\":9,garbage\n";

		CU_ASSERT_EQUAL(write(fd, two, sizeof(two) - 1), (ssize_t)sizeof(two) - 1);
		raw_read(fd, buf, sizeof(buf), 3);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"id\":5,\"ok\":false,\"error\":\"ENOSYS\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"id\":6,\"ok\":true"));
		CU_ASSERT(strstr(buf, "\"id\":5") < strstr(buf, "\"id\":6"));
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"error\":\"EINVAL\""));
	}
	/* a repeated key or ill-formed UTF-8: EINVAL and nothing done; an
	 * argument cut inside a character is not echoed as a broken one */
	{
		static const char req[] =
			"{\"v\":1,\"id\":11,\"op\":\"hello\",\"op\":\"destroy\"}\n"
			"{\"v\":1,\"id\":12,\"op\":\"pause\",\"x\":\"\xff\"}\n"
			"{\"v\":1,\"id\":13,\"op\":\"pause\xc3\"}\n"
			"{\"v\":1,\"id\":14,\"op\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\"}\n";
		int destroys = d.destroys, pauses = d.pauses;
		char *line, *nl;
		int lines = 0;

		CU_ASSERT_EQUAL(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
		raw_read(fd, buf, sizeof(buf), 4);
		CU_ASSERT_EQUAL(d.destroys, destroys);
		CU_ASSERT_EQUAL(d.pauses, pauses);
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1, lines++) {
			struct json_value *r = NULL;
			const char *e = NULL;

			/* every reply is well-formed JSON and UTF-8 */
			CU_ASSERT_EQUAL(json_parse(line, (size_t)(nl - line), &r, NULL, 0), 0);
			CU_ASSERT_EQUAL(json_get_string(r, "error", &e), 0);
			if (e)
				CU_ASSERT_STRING_EQUAL(e, lines < 3 ? "EINVAL" : "ENOSYS");
			json_free(r);
		}
		CU_ASSERT_EQUAL(lines, 4);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\\ufffd"));
	}
	/* an overlong line: EMSGSIZE, then the server hangs up */
	{
		char *big = malloc(CONTROL_LINE_MAX + 10);
		size_t off = 0;

		memset(big, 'x', CONTROL_LINE_MAX + 10);
		while (off < CONTROL_LINE_MAX + 10) {
			ssize_t w = send(fd, big + off, CONTROL_LINE_MAX + 10 - off, MSG_NOSIGNAL);

			if (w <= 0)
				break;
			off += (size_t)w;
		}
		raw_read(fd, buf, sizeof(buf), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "EMSGSIZE"));
		free(big);
	}
	close(fd);
	CU_ASSERT(wait_until(control_server_clients, d.srv, 0));

	/* at most CONTROL_MAX_CLIENTS at once; the extra one is closed */
	for (int i = 0; i <= CONTROL_MAX_CLIENTS; i++)
		fds[i] = raw_connect(path);
	CU_ASSERT(wait_until(control_server_clients, d.srv, CONTROL_MAX_CLIENTS));
	CU_ASSERT_EQUAL(raw_read(fds[CONTROL_MAX_CLIENTS], buf, sizeof(buf), 0), 0);
	for (int i = 0; i <= CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
	CU_ASSERT(wait_until(control_server_clients, d.srv, 0));

	/* a client that connects and sends half a line, then the server stops */
	fd = raw_connect(path);
	CU_ASSERT(write(fd, "{\"v\":1", 6) == 6);
	CU_ASSERT(wait_until(control_server_clients, d.srv, 1));
	event_loop_stop(loop);
	control_server_free(d.srv);
	CU_ASSERT_EQUAL(raw_read(fd, buf, sizeof(buf), 0), 0);   /* EOF */
	close(fd);
	CU_ASSERT_EQUAL(stat(path, &st), -1);   /* the socket is gone */
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_INFO, NULL, &rep), -ENOENT);
	event_loop_free(loop);
	rmdir(dir);
}

/* True if fd shows EOF (the server closed it) within ms. */
static bool raw_eof(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&p, 1, ms) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void test_server_idle_clients(void)
{
	struct control_handlers h = { .info = fake_info };
	struct fake_domain d;
	struct event_loop *loop;
	struct control_reply rep;
	char dir[] = "/tmp/test_control.XXXXXX", path[128], buf[4096];
	static const char hello[] = "{\"v\":1,\"id\":1,\"op\":\"hello\"}\n";
	int fds[CONTROL_MAX_CLIENTS + 1];

	memset(&d, 0, sizeof(d));
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	CU_ASSERT_EQUAL_FATAL(event_loop_new(&loop), 0);
	CU_ASSERT_EQUAL_FATAL(control_server_start(loop, path, &h, &d, &d.srv), 0);
	control_server_set_idle(d.srv, 200);
	CU_ASSERT_EQUAL_FATAL(event_loop_start(loop, "control-test"), 0);

	/* CAP + 1 clients that connect and say nothing: nobody idle yet, so
	 * the last is refused rather than an active client dropped */
	for (int i = 0; i <= CONTROL_MAX_CLIENTS; i++) {
		fds[i] = raw_connect(path);
		CU_ASSERT_FATAL(fds[i] >= 0);
		usleep(5000);
	}
	CU_ASSERT(wait_until(control_server_clients, d.srv, CONTROL_MAX_CLIENTS));
	CU_ASSERT(raw_eof(fds[CONTROL_MAX_CLIENTS], 2000));
	CU_ASSERT_EQUAL(control_server_evicted(d.srv), 0);

	/* a while later: the oldest client is active again, the rest idle */
	usleep(300000);
	CU_ASSERT_EQUAL(write(fds[0], hello, sizeof(hello) - 1), (ssize_t)sizeof(hello) - 1);
	CU_ASSERT(raw_read(fds[0], buf, sizeof(buf), 1) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"ok\":true"));
	/* a real client gets in, in place of the longest-silent one */
	CU_ASSERT_EQUAL(call(path, CONTROL_OP_INFO, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.error, 0);
	CU_ASSERT_EQUAL(rep.info.domid, 7);
	CU_ASSERT_EQUAL(control_server_evicted(d.srv), 1);
	CU_ASSERT(raw_eof(fds[1], 2000));
	CU_ASSERT(!raw_eof(fds[0], 50));
	CU_ASSERT(!raw_eof(fds[2], 50));
	/* and so does every next one */
	for (int i = 0; i < CONTROL_MAX_CLIENTS + 4; i++) {
		CU_ASSERT_EQUAL(call(path, CONTROL_OP_HELLO, NULL, &rep), 0);
		CU_ASSERT_EQUAL(rep.error, 0);
	}
	for (int i = 0; i <= CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
	event_loop_stop(loop);
	control_server_free(d.srv);
	event_loop_free(loop);
	rmdir(dir);
}

/* CPU time (user + system) this process used so far, in ms. */
static long cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/*
 * Queues n connections to path while no descriptor is free, lets the
 * server's loop face EMFILE for 500 ms and returns the CPU time that
 * took (a loop spinning on its readable listener burns all of it); the
 * limit is back when it returns, the connections in fds.
 */
static long emfile_cpu_ms(const char *path, int *fds, int n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct rlimit old, low;
	long before;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (int i = 0; i < n; i++)
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fd = dup(0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)fd;
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_NOFILE, &low), 0);
	for (int i = 0; i < n; i++)
		CU_ASSERT_EQUAL(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	before = cpu_ms();
	usleep(500000);
	before = cpu_ms() - before;
	CU_ASSERT_EQUAL(setrlimit(RLIMIT_NOFILE, &old), 0);
	return before;
}

static void test_accept_emfile(void)
{
	struct control_handlers h = { .info = fake_info };
	struct fake_domain d;
	struct event_loop *loop;
	struct console_server *cs;
	char dir[] = "/tmp/test_control.XXXXXX", path[128];
	int fds[3];
	long ms;

	memset(&d, 0, sizeof(d));
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	CU_ASSERT_EQUAL_FATAL(event_loop_new(&loop), 0);
	CU_ASSERT_EQUAL_FATAL(control_server_start(loop, path, &h, &d, &d.srv), 0);
	CU_ASSERT_EQUAL_FATAL(event_loop_start(loop, "control-test"), 0);
	ms = emfile_cpu_ms(path, fds, 3);
	CU_ASSERT(ms < 100);
	if (ms >= 100)
		fprintf(stderr, "control: %ld ms of CPU in 500 ms of EMFILE\n", ms);
	/* once descriptors are back, the queued clients are served */
	CU_ASSERT(wait_until(control_server_clients, d.srv, 3));
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	event_loop_stop(loop);
	control_server_free(d.srv);

	snprintf(path, sizeof(path), "%s/console.sock", dir);
	CU_ASSERT_EQUAL_FATAL(console_server_start(loop, path, &cs), 0);
	CU_ASSERT_EQUAL_FATAL(event_loop_start(loop, "console-test"), 0);
	ms = emfile_cpu_ms(path, fds, 1);
	CU_ASSERT(ms < 100);
	if (ms >= 100)
		fprintf(stderr, "console: %ld ms of CPU in 500 ms of EMFILE\n", ms);
	for (int i = 0; i < 200 && !console_server_attached(cs); i++)
		usleep(10000);
	CU_ASSERT(console_server_attached(cs));
	close(fds[0]);
	event_loop_stop(loop);
	console_server_free(cs);
	event_loop_free(loop);
	rmdir(dir);
}

static void test_client_errors(void)
{
	struct control_reply rep;
	char dir[] = "/tmp/test_control.XXXXXX", path[64], err[256];
	struct control_request req = { .version = 1, .op = CONTROL_OP_INFO };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd, cfd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_EQUAL_FATAL(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CU_ASSERT_EQUAL_FATAL(listen(lfd, 4), 0);
	/* nobody accepts or answers: the deadline holds */
	CU_ASSERT_EQUAL(control_call(path, &req, 200, &rep, err, sizeof(err)), -ETIMEDOUT);
	cfd = accept(lfd, NULL, NULL);
	close(cfd);
	/* a reply that is not the protocol */
	if (fork() == 0) {
		char b[256];

		cfd = accept(lfd, NULL, NULL);
		if (read(cfd, b, sizeof(b)) > 0 && write(cfd, "hello there\n", 12) == 12)
			_exit(0);
		_exit(1);
	}
	CU_ASSERT_EQUAL(control_call(path, &req, 2000, &rep, err, sizeof(err)), -EPROTO);
	CU_ASSERT(err[0] != 0);
	/* another request's id */
	if (fork() == 0) {
		char b[256];
		static const char r[] = "{\"v\":1,\"id\":99,\"ok\":true}\n";

		cfd = accept(lfd, NULL, NULL);
		if (read(cfd, b, sizeof(b)) > 0 && write(cfd, r, sizeof(r) - 1) > 0)
			_exit(0);
		_exit(1);
	}
	CU_ASSERT_EQUAL(control_call(path, &req, 2000, &rep, err, sizeof(err)), -EPROTO);
	/* a hang-up before the reply */
	if (fork() == 0) {
		char b[256];

		cfd = accept(lfd, NULL, NULL);
		_exit(read(cfd, b, sizeof(b)) > 0 ? 0 : 1);
	}
	CU_ASSERT_EQUAL(control_call(path, &req, 2000, &rep, err, sizeof(err)), -ECONNRESET);
	close(lfd);
	unlink(path);
	CU_ASSERT_EQUAL(control_call(path, &req, 200, &rep, err, sizeof(err)), -ENOENT);
	rmdir(dir);
	while (wait(NULL) > 0)
		;
}

/* --- console relay ---------------------------------------------------------------- */

static void test_console(void)
{
	struct event_loop *loop;
	struct console_server *cs;
	char dir[] = "/tmp/test_console.XXXXXX", path[128], buf[CONSOLE_REPLAY_MAX * 2];
	char *big;
	int in_fd, out_fd, c1, c2;
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console.sock", dir);
	CU_ASSERT_EQUAL_FATAL(event_loop_new(&loop), 0);
	{
		mode_t old = umask(0);   /* no umask makes the socket wider */
		struct stat st;

		CU_ASSERT_EQUAL_FATAL(console_server_start(loop, path, &cs), 0);
		umask(old);
		CU_ASSERT_EQUAL(stat(path, &st), 0);
		CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	}
	console_server_fds(cs, &in_fd, &out_fd);
	CU_ASSERT_EQUAL_FATAL(event_loop_start(loop, "console-test"), 0);

	/* output before anyone attached is replayed to the first client */
	CU_ASSERT_EQUAL(write(out_fd, "boot line 1\r\n", 13), 13);
	usleep(50000);
	c1 = raw_connect(path);
	CU_ASSERT_FATAL(c1 >= 0);
	raw_read(c1, buf, sizeof(buf), 1);
	CU_ASSERT_STRING_EQUAL(buf, "boot line 1\r\n");
	CU_ASSERT(console_server_attached(cs));
	/* live output, and input to the guest */
	CU_ASSERT_EQUAL(write(out_fd, "login: ", 7), 7);
	n = raw_read(c1, buf, 8, 0);
	CU_ASSERT_EQUAL(n, 7);
	CU_ASSERT_EQUAL(write(c1, "root\r", 5), 5);
	{
		struct pollfd p = { .fd = in_fd, .events = POLLIN };

		CU_ASSERT_EQUAL(poll(&p, 1, 2000), 1);
		CU_ASSERT_EQUAL(read(in_fd, buf, sizeof(buf)), 5);
		CU_ASSERT_EQUAL(memcmp(buf, "root\r", 5), 0);
	}
	/* the newest client takes over; the old one sees EOF after the replay went to c2 */
	c2 = raw_connect(path);
	CU_ASSERT_FATAL(c2 >= 0);
	n = raw_read(c2, buf, sizeof(buf), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "boot line 1"));
	CU_ASSERT_EQUAL(raw_read(c1, buf, sizeof(buf), 0), 0);
	close(c1);
	close(c2);
	usleep(50000);
	CU_ASSERT(!console_server_attached(cs));

	/* clients that connect and sit there lock nobody out: a real one
	 * still gets the console, output and input */
	{
		int idle[CONTROL_MAX_CLIENTS + 1], real;
		struct pollfd p = { .fd = in_fd, .events = POLLIN };

		for (int i = 0; i <= CONTROL_MAX_CLIENTS; i++) {
			idle[i] = raw_connect(path);
			CU_ASSERT_FATAL(idle[i] >= 0);
		}
		usleep(50000);
		real = raw_connect(path);
		CU_ASSERT_FATAL(real >= 0);
		n = raw_read(real, buf, sizeof(buf), 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "boot line 1"));
		CU_ASSERT_EQUAL(write(real, "ls\r", 3), 3);
		CU_ASSERT_EQUAL(poll(&p, 1, 2000), 1);
		CU_ASSERT_EQUAL(read(in_fd, buf, sizeof(buf)), 3);
		CU_ASSERT_EQUAL(write(out_fd, "ok\r\n", 4), 4);
		n = raw_read(real, buf, sizeof(buf), 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "ok\r\n"));
		for (int i = 0; i <= CONTROL_MAX_CLIENTS; i++)
			close(idle[i]);
		close(real);
		usleep(50000);
	}

	/* with nobody attached, a flood of output never blocks the guest and
	 * the next client gets only the last CONSOLE_REPLAY_MAX bytes */
	big = malloc(200000);
	memset(big, 'a', 200000);
	big[199999] = 'Z';
	for (size_t off = 0; off < 200000;) {
		ssize_t w = write(out_fd, big + off, 200000 - off);

		if (w < 0) {
			struct pollfd p = { .fd = out_fd, .events = POLLOUT };

			CU_ASSERT_EQUAL_FATAL(poll(&p, 1, 2000), 1);
			continue;
		}
		off += (size_t)w;
	}
	usleep(100000);
	c1 = raw_connect(path);
	n = raw_read(c1, buf, sizeof(buf), 0);
	CU_ASSERT_EQUAL(n, CONSOLE_REPLAY_MAX);
	CU_ASSERT_EQUAL(buf[n - 1], 'Z');
	close(c1);
	free(big);

	event_loop_stop(loop);
	console_server_free(cs);
	CU_ASSERT_EQUAL(access(path, F_OK), -1);
	event_loop_free(loop);
	rmdir(dir);
}

int main(void)
{
	CU_pSuite s;

	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("control", NULL, NULL);
	CU_add_test(s, "json parse", test_json_parse);
	CU_add_test(s, "json reject", test_json_reject);
	CU_add_test(s, "json write", test_json_write);
	CU_add_test(s, "request codec", test_request_codec);
	CU_add_test(s, "reply codec", test_reply_codec);
	CU_add_test(s, "server", test_server);
	CU_add_test(s, "server idle clients", test_server_idle_clients);
	CU_add_test(s, "accept out of descriptors", test_accept_emfile);
	CU_add_test(s, "client errors", test_client_errors);
	CU_add_test(s, "console relay", test_console);
	return cunit_run(CU_BRM_NORMAL);
}
