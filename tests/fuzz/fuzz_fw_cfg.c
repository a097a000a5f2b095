/*
 * libFuzzer harness: the fw_cfg device's ports against a guest that
 * writes anything.  The input is a script of 8-byte steps: an I/O access
 * (port offset, width, direction, value) or a write of guest RAM (where a
 * DMA descriptor or a destination may live).  Guest RAM sits between two
 * guard areas; after each run the guards must be untouched and the
 * device must still answer its signature.
 */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/fw_cfg.h"
#include "xenkvm/guest_mem.h"
#include "xenkvm/log.h"

#define GUARD    0x1000
#define RAM_SIZE 0x4000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t host[GUARD + RAM_SIZE + GUARD];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t blob[300] = { 1, 2, 3 };
	uint8_t *ram = host + GUARD;
	struct guest_mem gm = { 0 };
	struct fw_cfg *fw;
	char sig[4];

	log_set_level(LOG_ERR);
	memset(host, 0xa5, sizeof(host));
	if (guest_mem_add(&gm, 0, RAM_SIZE, ram))
		abort();
	fw = fw_cfg_new(&gm);
	if (!fw || fw_cfg_add_file(fw, "etc/ro", blob, sizeof(blob), false) ||
	    fw_cfg_add_file(fw, "etc/rw", blob, 16, true) || fw_cfg_add_u64(fw, FW_CFG_RAM_SIZE, RAM_SIZE))
		abort();
	for (size_t i = 0; i + 8 <= size; i += 8) {
		const uint8_t *s = data + i;
		uint32_t v;

		memcpy(&v, s + 4, 4);
		if (s[0] & 0x80) {
			/* RAM write: 4 bytes at a 16-bit offset, or a descriptor there */
			uint16_t off = (uint16_t)((s[1] | s[2] << 8) % (RAM_SIZE - 16));

			if (s[0] & 0x40) {
				struct fw_cfg_dma_access a = {
					.control = htobe32((uint32_t)s[3] << 16 | (s[0] & 0x1f) | (s[3] & 0x80 ? 0x8 : 0)),
					.length = htobe32(v & 0x7fff),
					.address = htobe64((uint64_t)(v >> 15) | (s[3] & 0x40 ? 0xffffffff00000000ull : 0)),
				};
				memcpy(ram + off, &a, sizeof(a));
			} else {
				memcpy(ram + off, &v, 4);
			}
		} else {
			static const unsigned int widths[4] = { 1, 2, 4, 8 };
			unsigned int len = widths[(s[0] >> 4) & 3];
			uint64_t buf = v | (uint64_t)v << 32;

			fw_cfg_io(fw, s[1] % FW_CFG_PORT_LEN, &buf, len, s[0] & 1);
		}
	}
	for (size_t i = 0; i < GUARD; i++)
		if (host[i] != 0xa5 || host[GUARD + RAM_SIZE + i] != 0xa5)
			abort();
	{
		uint16_t key = FW_CFG_SIGNATURE;

		fw_cfg_io(fw, 0, &key, 2, true);
		fw_cfg_io(fw, 1, sig, 4, false);
		if (memcmp(sig, "QEMU", 4))
			abort();
	}
	fw_cfg_free(fw);
	return 0;
}
