/*
 * libFuzzer harness for the control protocol's decoders: the bytes are one
 * line as a client (request) or a daemon (reply) would send it.  Whatever
 * the input, decoding must not crash or leak, and whatever decodes must
 * survive an encode/decode round trip unchanged; the JSON layer's own
 * round trip (parse, write, parse) must agree with itself too, and any
 * bytes written as a string must read back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/control.h"
#include "xenkvm/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void json_round_trip(const char *text, size_t len)
{
	struct json_value *v = NULL, *v2 = NULL;
	struct json_writer w;
	char *out = NULL, *out2 = NULL;
	size_t olen, olen2;

	if (json_parse(text, len, &v, NULL, 0))
		return;
	json_writer_init(&w, -1);
	json_write_value(&w, NULL, v);
	/* Nesting that parsed fits the writer too; anything else is a bug. */
	if (json_writer_finish(&w, &out, &olen))
		abort();
	if (json_parse(out, olen, &v2, NULL, 0))
		abort();
	json_writer_init(&w, -1);
	json_write_value(&w, NULL, v2);
	if (json_writer_finish(&w, &out2, &olen2) || olen != olen2 || memcmp(out, out2, olen))
		abort();
	free(out);
	free(out2);
	json_free(v);
	json_free(v2);
}

/* Whatever bytes the writer is handed (a message quoting a cut argument),
 * it writes JSON the reader accepts: well-formed UTF-8, escaped controls. */
static void writer_output_parses(const char *text, size_t len)
{
	struct json_value *v = NULL;
	struct json_writer w;
	char *s = strndup(text, len), *out = NULL;
	size_t olen;

	if (!s)
		return;
	json_writer_init(&w, -1);
	json_write_string(&w, NULL, s);
	if (json_writer_finish(&w, &out, &olen) || json_parse(out, olen, &v, NULL, 0) ||
	    v->type != JSON_STRING)
		abort();
	json_free(v);
	free(out);
	free(s);
}

static void request_round_trip(const char *text, size_t len)
{
	struct control_request req, req2;
	char err[256], *line;
	size_t llen;

	if (control_request_decode(text, len, &req, err, sizeof(err)))
		return;
	if (control_request_encode(&req, &line, &llen))
		abort();
	if (control_request_decode(line, llen, &req2, err, sizeof(err)))
		abort();
	if (req.op != req2.op || req.has_id != req2.has_id || req.id != req2.id ||
	    req.reason != req2.reason || strcmp(req.arg, req2.arg))
		abort();
	free(line);
}

static void reply_round_trip(unsigned int op, const char *text, size_t len)
{
	struct control_reply rep, rep2;
	char err[256], *line;
	size_t llen;

	if (control_reply_decode(op, text, len, &rep, err, sizeof(err)))
		return;
	if (control_reply_encode(op, &rep, &line, &llen))
		abort();
	if (control_reply_decode(op, line, llen, &rep2, err, sizeof(err)))
		abort();
	if (rep.error != rep2.error || rep.nr_vcpus != rep2.nr_vcpus || rep.nr_disks != rep2.nr_disks ||
	    rep.nr_nics != rep2.nr_nics || memcmp(&rep.info, &rep2.info, sizeof(rep.info)))
		abort();
	free(line);
	control_reply_free(&rep);
	control_reply_free(&rep2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy without a terminator: the decoders must honour len. */
	char *text = malloc(size ? size : 1);
	unsigned int op;

	if (!text)
		return 0;
	memcpy(text, data, size);
	json_round_trip(text, size);
	writer_output_parses(text, size);
	request_round_trip(text, size);
	/* A reply is read as the answer to every op: each has its own payload. */
	for (op = 0; op < CONTROL_OP_COUNT; op++)
		reply_round_trip(op, text, size);
	free(text);
	return 0;
}
