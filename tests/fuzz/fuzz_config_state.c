/*
 * libFuzzer harness: a saved domain's first steps as `xenkvm restore` and
 * `xenkvmd --restore` take them: the stream header, the build id, the
 * config section (userspace/config/config_state.c), then the config text
 * through the xl.cfg parser, and the rest of the file's sections read to
 * the end (checksums, lengths) as the CLI's check does.  Every refusal
 * must say why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/config_state.h"
#include "xenkvm/domain_config.h"
#include "xenkvm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(const char *msg)
{
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_reader *r = state_reader_new_mem(data, size);
	struct config_state cs;
	struct state_section s;
	char why[512] = "";
	int rc;

	log_set_level(LOG_ERR);
	if (!r)
		abort();
	rc = config_state_open(r, &cs, why, sizeof(why));
	if (rc) {
		if (!why[0] || cs.text)
			abort();   /* a refusal says why and leaves nothing */
	} else {
		struct domain_config cfg;
		struct config_error err;

		if (!cs.text || strlen(cs.text) != cs.len || !cs.domid)
			abort();
		if (domain_config_parse("saved", cs.text, cs.len, NULL, 0, &cfg, &err, quiet) == 0)
			domain_config_free(&cfg);
		while ((rc = state_reader_next(r, &s)) == 1)
			;
		if (rc < 0 && !state_reader_error(r)[0])
			abort();
		config_state_free(&cs);
	}
	state_reader_free(r);
	return 0;
}
