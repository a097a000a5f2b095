/* Unit tests for the xl.cfg lexer/parser (userspace/config/xlcfg.c). */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/xlcfg.h"

static char err[512];
static char dump[4096];

/* Parses text as "t.cfg"; on success leaves the canonical dump in `dump`. */
static int parse(const char *text)
{
	struct xlcfg x;
	int rc;

	xlcfg_init(&x);
	rc = xlcfg_parse(&x, "t.cfg", 1, text, strlen(text), err, sizeof(err));
	dump[0] = 0;
	if (!rc) {
		FILE *f = fmemopen(dump, sizeof(dump), "w");

		xlcfg_dump(&x, f);
		fclose(f);
	}
	xlcfg_free(&x);
	CU_ASSERT_EQUAL(x.nr_values, 0);        /* every value freed */
	return rc;
}

#define ACCEPTS(text, expect) do {                                   \
	CU_ASSERT_EQUAL_FATAL(parse(text), 0);                       \
	CU_ASSERT_STRING_EQUAL(dump, expect);                        \
} while (0)
#define REJECTS(text, msg) do {                                      \
	CU_ASSERT_EQUAL(parse(text), -EINVAL);                       \
	CU_ASSERT_STRING_EQUAL(err, msg);                            \
} while (0)

static void test_statements(void)
{
	ACCEPTS("", "");
	ACCEPTS("\n\n;;\n", "");
	ACCEPTS("a = 1\n", "a = \"1\"\n");
	ACCEPTS("a=1", "a = \"1\"\n");                          /* last statement needs no newline */
	ACCEPTS("a=1;b='x';\nc = \"y\"", "a = \"1\"\nb = \"x\"\nc = \"y\"\n");
	ACCEPTS("a_1b = 2\n", "a_1b = \"2\"\n");
	ACCEPTS("  a\t=\t1  \n", "a = \"1\"\n");
	ACCEPTS("a = 1 # comment\n# whole line\n", "a = \"1\"\n");
	ACCEPTS("a = 1 # comment at end of file", "a = \"1\"\n");
	ACCEPTS("a = 1\r\nb = 2\r\n", "a = \"1\"\nb = \"2\"\n");
	ACCEPTS("a = \"#not a comment\"\n", "a = \"#not a comment\"\n");
	REJECTS("a = 1 b = 2\n", "t.cfg:1: expected end of line after the value of 'a', found 'b'");
	REJECTS("= 1\n", "t.cfg:1: expected a key, found '='");
	REJECTS("\"a\" = 1\n", "t.cfg:1: expected a key, found a string");
	REJECTS("a 1\n", "t.cfg:1: expected '=' after 'a', found number 1");
	REJECTS("a\n= 1\n", "t.cfg:1: expected '=' after 'a', found end of line");
	REJECTS("a =\n1\n", "t.cfg:1: missing value for 'a'");
	REJECTS("a = ;\n", "t.cfg:1: missing value for 'a'");
	REJECTS("a =", "t.cfg:1: missing value for 'a'");
	REJECTS("a = =\n", "t.cfg:1: expected a value for 'a', found '='");
	REJECTS("\n\nx = 'a' 'b'\n", "t.cfg:3: expected end of line after the value of 'x', found a string");
}

static void test_keys(void)
{
	REJECTS("Name = 1\n", "t.cfg:1: invalid key 'Name' (keys are lowercase letters, digits and '_', starting with a letter)");
	REJECTS("_a = 1\n", "t.cfg:1: invalid key '_a' (keys are lowercase letters, digits and '_', starting with a letter)");
	REJECTS("nameX = 1\n", "t.cfg:1: invalid key 'nameX' (keys are lowercase letters, digits and '_', starting with a letter)");
	REJECTS("a.b = 1\n", "t.cfg:1: invalid key 'a.b' (keys are lowercase letters, digits and '_', starting with a letter)");
	REJECTS("a-b = 1\n", "t.cfg:1: unexpected character '-'");
	REJECTS("type = hvm\n", "t.cfg:1: unquoted value 'hvm' for 'type' (strings must be quoted)");
	REJECTS("type = HVM\n", "t.cfg:1: unquoted value 'HVM' for 'type' (strings must be quoted)");
}

static void test_numbers(void)
{
	ACCEPTS("a = 0x1f\n", "a = \"0x1f\"\n");
	ACCEPTS("a = 0777\n", "a = \"0777\"\n");
	ACCEPTS("a = 12abc\n", "a = \"12abc\"\n");          /* xl's NUMBER is [0-9][0-9a-fx]* */
	REJECTS("a = 128M\n", "t.cfg:1: invalid number '128M' (quote values that are not plain numbers)");
	REJECTS("a = 1.5\n", "t.cfg:1: invalid number '1.5' (quote values that are not plain numbers)");
	REJECTS("a = 0x1F\n", "t.cfg:1: invalid number '0x1F' (quote values that are not plain numbers)");
	REJECTS("a = -1\n", "t.cfg:1: unexpected character '-'");
	REJECTS("a = 512 * 2\n", "t.cfg:1: unexpected character '*'");
}

static void test_strings(void)
{
	ACCEPTS("a = 'x\"y'\n", "a = \"x\\\"y\"\n");
	ACCEPTS("a = \"it's\"\n", "a = \"it's\"\n");
	ACCEPTS("a = 'it\\'s'\n", "a = \"it's\"\n");
	ACCEPTS("a = \"\\\\\"\n", "a = \"\\\\\"\n");
	ACCEPTS("a = \"\\a\\b\\f\\n\\r\\t\\v\"\n", "a = \"\\x07\\x08\\x0c\\n\\x0d\\t\\x0b\"\n");
	ACCEPTS("a = \"\\x41\\x7e\"\n", "a = \"A~\"\n");
	ACCEPTS("a = \"\\101\\7\\1010\"\n", "a = \"A\\x07A0\"\n");  /* octal: 1 to 3 digits */
	ACCEPTS("a = ''\n", "a = \"\"\n");
	ACCEPTS("a = \"caf\xc3\xa9\"\n", "a = \"caf\\xc3\\xa9\"\n");
	REJECTS("a = \"abc\n", "t.cfg:1: unterminated string");
	REJECTS("a = \"abc", "t.cfg:1: unterminated string");
	REJECTS("a = 'abc\"\n", "t.cfg:1: unterminated string");
	REJECTS("a = \"ab\\\ncd\"\n", "t.cfg:1: unterminated string");
	REJECTS("a = \"x\\", "t.cfg:1: unterminated string");
	REJECTS("a = \"\\q\"\n", "t.cfg:1: invalid escape '\\' followed by 'q' in string");
	REJECTS("a = \"\\x4\"\n", "t.cfg:1: invalid \\x escape in string (two hex digits needed)");
	REJECTS("a = \"\\xg1\"\n", "t.cfg:1: invalid \\x escape in string (two hex digits needed)");
	REJECTS("a = \"\\x00\"\n", "t.cfg:1: escape for a NUL character in string");
	REJECTS("a = \"\\0\"\n", "t.cfg:1: escape for a NUL character in string");
	REJECTS("a = \"\\777\"\n", "t.cfg:1: octal escape out of range in string");
}

static void test_nul_bytes(void)
{
	struct xlcfg x;
	static const char in1[] = "a = \"x\0y\"\n";
	static const char in2[] = "a = 1\n\0";

	xlcfg_init(&x);
	CU_ASSERT_EQUAL(xlcfg_parse(&x, "t.cfg", 1, in1, sizeof(in1) - 1, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "t.cfg:1: NUL byte in string");
	xlcfg_free(&x);
	xlcfg_init(&x);
	CU_ASSERT_EQUAL(xlcfg_parse(&x, "t.cfg", 1, in2, sizeof(in2) - 1, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "t.cfg:2: NUL byte in file");
	xlcfg_free(&x);
	CU_ASSERT_EQUAL(x.nr_values, 0);
}

static void test_lists(void)
{
	ACCEPTS("a = []\n", "a = []\n");
	ACCEPTS("a = [\n]\n", "a = []\n");
	ACCEPTS("a = [ 'x' ]\n", "a = [\"x\"]\n");
	ACCEPTS("a = [ 'x', ]\n", "a = [\"x\"]\n");
	ACCEPTS("a = [1,2,3]\n", "a = [\"1\", \"2\", \"3\"]\n");
	ACCEPTS("a = [\n  'x',   # one\n\n  'y'\n  ,\n  'z',\n]\n", "a = [\"x\", \"y\", \"z\"]\n");
	ACCEPTS("a = [ [ 'p=0', 'size=512' ], [] ]\n", "a = [[\"p=0\", \"size=512\"], []]\n");
	REJECTS("a = [ , ]\n", "t.cfg:1: missing value before ',' in list for 'a'");
	REJECTS("a = [ 'x',, 'y' ]\n", "t.cfg:1: missing value before ',' in list for 'a'");
	REJECTS("a = [ 'x' 'y' ]\n", "t.cfg:1: expected ',' or ']' in list for 'a', found a string");
	REJECTS("a = [ 'x'; ]\n", "t.cfg:1: expected ',' or ']' in list for 'a', found ';'");
	REJECTS("a = [ 'x',\n 'y'\n", "t.cfg:3: unterminated list for 'a' (opened on line 1)");
	REJECTS("a = [\n", "t.cfg:2: unterminated list for 'a' (opened on line 1)");
	REJECTS("a = [ hvm ]\n", "t.cfg:1: unquoted value 'hvm' for 'a' (strings must be quoted)");
	REJECTS("a = ]\n", "t.cfg:1: expected a value for 'a', found ']'");
	REJECTS("a = [[[[[[[[['x']]]]]]]]]\n", "t.cfg:1: lists nested too deeply in 'a'");
	ACCEPTS("a = [[[[[[[['x']]]]]]]]\n", "a = [[[[[[[[\"x\"]]]]]]]]\n");  /* XLCFG_MAX_DEPTH */
}

static void test_assign_append(void)
{
	struct xlcfg x;
	const struct xlcfg_setting *s;
	const char *text = "a = 'x'\nb = [1]\na = 'y'\nb += [2, 3]\nc += 'new'\na += 'z'\n";

	ACCEPTS(text, "a = \"yz\"\nb = [\"1\", \"2\", \"3\"]\nc = \"new\"\n");
	xlcfg_init(&x);
	CU_ASSERT_EQUAL_FATAL(xlcfg_parse(&x, "t.cfg", 1, text, strlen(text), err, sizeof(err)), 0);
	s = xlcfg_find(&x, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->line, 6);                /* line of the last assignment */
	CU_ASSERT_TRUE(s->appended);
	CU_ASSERT_STRING_EQUAL(s->source, "t.cfg");
	s = xlcfg_find(&x, "b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->value->nr_items, 3);
	CU_ASSERT_EQUAL(s->value->items[2]->line, 4);
	CU_ASSERT_PTR_NULL(xlcfg_find(&x, "d"));
	CU_ASSERT_EQUAL(x.nr_values, 1 + 4 + 1);    /* a, b + 3 items, c */
	xlcfg_free(&x);
	CU_ASSERT_EQUAL(x.nr_values, 0);

	REJECTS("a = 'x'\na += ['y']\n", "t.cfg:2: can't add a list to a string with '+=' for 'a'");
	REJECTS("a = ['x']\na += 'y'\n", "t.cfg:2: can't add a string to a list with '+=' for 'a'");
	REJECTS("a + = 1\n", "t.cfg:1: unexpected character '+'");
}

static void test_layers(void)
{
	struct xlcfg x;
	const struct xlcfg_setting *s;

	/* the command-line layer: its own source name and line numbers */
	xlcfg_init(&x);
	CU_ASSERT_EQUAL(xlcfg_parse(&x, "f.cfg", 1, "a = 1\nb = [1]\n", 14, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(xlcfg_parse(&x, "<command line>", 2, "a=2", 3, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(xlcfg_parse(&x, "<command line>", 3, "b+=[2]", 6, err, sizeof(err)), 0);
	s = xlcfg_find(&x, "a");
	CU_ASSERT_STRING_EQUAL(s->source, "<command line>");
	CU_ASSERT_EQUAL(s->line, 2);
	CU_ASSERT_STRING_EQUAL(s->value->str, "2");
	s = xlcfg_find(&x, "b");
	CU_ASSERT_EQUAL(s->value->nr_items, 2);
	CU_ASSERT_EQUAL(x.nr_sources, 2);
	CU_ASSERT_EQUAL(xlcfg_parse(&x, "<command line>", 4, "c=", 2, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "<command line>:4: missing value for 'c'");
	xlcfg_free(&x);
	CU_ASSERT_EQUAL(x.nr_values, 0);
}

static void test_error_buffer(void)
{
	struct xlcfg x;
	char small[8];

	/* a short or absent error buffer truncates, never overflows */
	xlcfg_init(&x);
	CU_ASSERT_EQUAL(xlcfg_parse(&x, "long-file-name.cfg", 1, "a=", 2, small, sizeof(small)), -EINVAL);
	CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
	CU_ASSERT_EQUAL(xlcfg_parse(&x, "f", 1, "a=", 2, NULL, 0), -EINVAL);
	xlcfg_free(&x);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("xlcfg", NULL, NULL);
	CU_add_test(s, "statements", test_statements);
	CU_add_test(s, "keys", test_keys);
	CU_add_test(s, "numbers", test_numbers);
	CU_add_test(s, "strings", test_strings);
	CU_add_test(s, "nul_bytes", test_nul_bytes);
	CU_add_test(s, "lists", test_lists);
	CU_add_test(s, "assign_append", test_assign_append);
	CU_add_test(s, "layers", test_layers);
	CU_add_test(s, "error_buffer", test_error_buffer);
	return cunit_run(CU_BRM_NORMAL);
}
