/*
 * libFuzzer harness for xl.cfg reading: the raw bytes are a config file;
 * everything from the lexer to disk/vif spec parsing runs on them, with a
 * couple of fixed command-line overrides layered on top.  Whatever the input,
 * parsing must neither crash nor leak (ASan checks the latter), and the
 * syntax layer's value counter must drop to zero.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/domain_config.h"
#include "xenkvm/xlcfg.h"

static void quiet(const char *msg)
{
	(void)msg;
}

static void quiet_vif(void *opaque, const char *msg)
{
	(void)opaque;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const overrides[] = { "vcpus=2", "extra+=' quiet'" };
	struct domain_config cfg;
	struct config_error err;
	struct xlcfg x;
	char msg[256];

	xlcfg_init(&x);
	xlcfg_parse(&x, "fuzz.cfg", 1, (const char *)data, size, msg, sizeof(msg));
	xlcfg_free(&x);
	if (x.nr_values)
		abort();

	if (domain_config_parse("fuzz.cfg", (const char *)data, size, overrides,
				size & 1 ? 2 : 0, &cfg, &err, quiet) == 0)
		domain_config_free(&cfg);

	/* the spec parsers also see the input directly, as one NUL-terminated string */
	if (size < 4096) {
		char *s = malloc(size + 1);
		struct disk_spec d;
		struct vif_spec v;

		if (!s)
			return 0;
		memcpy(s, data, size);
		s[size] = 0;
		if (!disk_spec_parse(s, &d, &err))
			disk_spec_free(&d);
		if (!vif_spec_parse_warn(s, &v, &err, quiet_vif, NULL))
			vif_spec_free(&v);
		free(s);
	}
	return 0;
}
