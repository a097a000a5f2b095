/*
 * QEMU's firmware configuration device (fw_cfg), the interface SeaBIOS reads
 * its machine description from (QEMU docs/specs/fw_cfg.rst):
 *   0x510  selector (16-bit write; resets the data offset)
 *   0x511  data (8-bit reads, successive bytes of the selected item;
 *          reads past its end return 0)
 *   0x514  DMA address, big-endian: high half at 0x514, low half at 0x518
 *          (writing the low half runs the transfer); reading it gives the
 *          signature "QEMU CFG"
 * A DMA transfer reads a struct fw_cfg_dma_access (big-endian control,
 * length, address) from guest RAM, does select/skip/read/write, and writes
 * the control word back: 0, or FW_CFG_DMA_CTL_ERROR.  Guest addresses go
 * through guest_mem, so nothing outside guest RAM is ever touched.
 *
 * Items are legacy keys (little-endian values) or named files (keys from
 * 0x20 up, listed in the big-endian directory at key 0x19).  The device
 * makes the signature, feature bitmap (traditional + DMA) and directory
 * itself.
 */
#ifndef XENKVM_FW_CFG_H
#define XENKVM_FW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenkvm/io_bus.h"

#define FW_CFG_PORT_SEL       0x510
#define FW_CFG_PORT_DATA      0x511
#define FW_CFG_PORT_DMA       0x514
#define FW_CFG_PORT_LEN       12      /* 0x510..0x51b */

#define FW_CFG_SIGNATURE      0x00
#define FW_CFG_ID             0x01
#define FW_CFG_UUID           0x02
#define FW_CFG_RAM_SIZE       0x03
#define FW_CFG_NB_CPUS        0x05
#define FW_CFG_NUMA           0x0d
#define FW_CFG_BOOT_MENU      0x0e
#define FW_CFG_MAX_CPUS       0x0f
#define FW_CFG_FILE_DIR       0x19
#define FW_CFG_FILE_FIRST     0x20
#define FW_CFG_WRITE_CHANNEL  0x4000  /* legacy write flag in a selector, ignored */
#define FW_CFG_ARCH_LOCAL     0x8000
#define FW_CFG_INVALID        0xffff

#define FW_CFG_ID_TRADITIONAL 0x01
#define FW_CFG_ID_DMA         0x02

#define FW_CFG_DMA_CTL_ERROR  0x01
#define FW_CFG_DMA_CTL_READ   0x02
#define FW_CFG_DMA_CTL_SKIP   0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE  0x10
#define FW_CFG_DMA_SIGNATURE  0x51454d5520434647ull   /* "QEMU CFG" */

#define FW_CFG_MAX_FILE_PATH  56
#define FW_CFG_MAX_FILES      64

/* Guest RAM layout of a DMA request, all fields big-endian. */
struct fw_cfg_dma_access {
	uint32_t control;
	uint32_t length;
	uint64_t address;
} __attribute__((packed));

/* One entry of the file directory (key 0x19), big-endian. */
struct fw_cfg_file {
	uint32_t size;
	uint16_t select;
	uint16_t reserved;
	char name[FW_CFG_MAX_FILE_PATH];
} __attribute__((packed));

struct guest_mem;
struct fw_cfg;

/* A device whose DMA reaches `mem` (may be NULL: DMA then always fails). */
struct fw_cfg *fw_cfg_new(const struct guest_mem *mem);
void fw_cfg_free(struct fw_cfg *fw);

/* Adds (or replaces) legacy item `key` with a copy of `data`.  0, -EINVAL
 * (a key the device owns, or >= FW_CFG_FILE_FIRST outside the arch range),
 * -ENOMEM. */
int fw_cfg_add(struct fw_cfg *fw, uint16_t key, const void *data, size_t len);
int fw_cfg_add_u16(struct fw_cfg *fw, uint16_t key, uint16_t v);
int fw_cfg_add_u32(struct fw_cfg *fw, uint16_t key, uint32_t v);
int fw_cfg_add_u64(struct fw_cfg *fw, uint16_t key, uint64_t v);
/* Adds file `name` with a copy of `data`; a writable file takes DMA writes
 * within its size.  0, -EEXIST, -EINVAL (name empty or too long, size
 * over 4 GiB), -ENOSPC, -ENOMEM. */
int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len, bool writable);
/* The current contents of file `name` (NULL if none): what the guest wrote. */
const void *fw_cfg_file_data(struct fw_cfg *fw, const char *name, size_t *len_r);

/* Port I/O at `offset` from FW_CFG_PORT_SEL; an io_handler_fn. */
void fw_cfg_io(void *opaque, uint64_t offset, void *data, unsigned int len, bool is_write);
/* Claims ports 0x510..0x51b on `pio`.  0 or -errno. */
int fw_cfg_attach(struct fw_cfg *fw, struct io_bus *pio);

#endif
