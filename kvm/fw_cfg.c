#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/fw_cfg.h"
#include "xenkvm/guest_mem.h"
#include "xenkvm/log.h"

struct fw_cfg_item {
	uint16_t key;
	bool writable;
	uint8_t *data;
	uint32_t len;
	char name[FW_CFG_MAX_FILE_PATH];   /* "" for a legacy key */
};

struct fw_cfg {
	pthread_mutex_t lock;
	const struct guest_mem *mem;
	struct fw_cfg_item *items;
	unsigned int nr, cap;
	unsigned int nr_files;
	uint16_t cur_key;              /* FW_CFG_INVALID: nothing selected */
	uint32_t cur_off;
	uint32_t dma_hi;               /* high half of the DMA address, until the low half comes */
};

static struct fw_cfg_item *fw_cfg_find(struct fw_cfg *fw, uint16_t key)
{
	for (unsigned int i = 0; i < fw->nr; i++)
		if (fw->items[i].key == key)
			return &fw->items[i];
	return NULL;
}

/* Stores a copy of `data` as item `key`, replacing what was there. */
static int fw_cfg_put(struct fw_cfg *fw, uint16_t key, const void *data, size_t len, const char *name,
		      bool writable)
{
	struct fw_cfg_item *it = fw_cfg_find(fw, key);
	uint8_t *copy;

	if (len > UINT32_MAX)
		return -EINVAL;
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	if (!it) {
		if (fw->nr == fw->cap) {
			unsigned int cap = fw->cap ? fw->cap * 2 : 16;
			struct fw_cfg_item *n = realloc(fw->items, cap * sizeof(*n));

			if (!n) {
				free(copy);
				return -ENOMEM;
			}
			fw->items = n;
			fw->cap = cap;
		}
		it = &fw->items[fw->nr++];
		memset(it, 0, sizeof(*it));
		it->key = key;
	}
	free(it->data);
	it->data = copy;
	it->len = (uint32_t)len;
	it->writable = writable;
	if (name)
		snprintf(it->name, sizeof(it->name), "%s", name);
	return 0;
}

/* The directory at key 0x19: a big-endian count, then one entry per file. */
static int fw_cfg_rebuild_dir(struct fw_cfg *fw)
{
	size_t len = sizeof(uint32_t) + fw->nr_files * sizeof(struct fw_cfg_file);
	uint8_t *dir = calloc(1, len);
	struct fw_cfg_file *f = (struct fw_cfg_file *)(dir + sizeof(uint32_t));
	uint32_t count = htobe32(fw->nr_files);
	int rc;

	if (!dir)
		return -ENOMEM;
	memcpy(dir, &count, sizeof(count));
	for (unsigned int i = 0; i < fw->nr; i++) {
		const struct fw_cfg_item *it = &fw->items[i];

		if (it->key < FW_CFG_FILE_FIRST || it->key >= FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES)
			continue;
		f[it->key - FW_CFG_FILE_FIRST] = (struct fw_cfg_file){
			.size = htobe32(it->len),
			.select = htobe16(it->key),
		};
		memcpy(f[it->key - FW_CFG_FILE_FIRST].name, it->name, sizeof(it->name));
	}
	rc = fw_cfg_put(fw, FW_CFG_FILE_DIR, dir, len, NULL, false);
	free(dir);
	return rc;
}

struct fw_cfg *fw_cfg_new(const struct guest_mem *mem)
{
	struct fw_cfg *fw = calloc(1, sizeof(*fw));
	uint32_t id = htole32(FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);

	if (!fw)
		return NULL;
	pthread_mutex_init(&fw->lock, NULL);
	fw->mem = mem;
	fw->cur_key = FW_CFG_INVALID;
	if (fw_cfg_put(fw, FW_CFG_SIGNATURE, "QEMU", 4, NULL, false) ||
	    fw_cfg_put(fw, FW_CFG_ID, &id, sizeof(id), NULL, false) || fw_cfg_rebuild_dir(fw)) {
		fw_cfg_free(fw);
		return NULL;
	}
	return fw;
}

void fw_cfg_free(struct fw_cfg *fw)
{
	if (!fw)
		return;
	for (unsigned int i = 0; i < fw->nr; i++)
		free(fw->items[i].data);
	free(fw->items);
	pthread_mutex_destroy(&fw->lock);
	free(fw);
}

int fw_cfg_add(struct fw_cfg *fw, uint16_t key, const void *data, size_t len)
{
	uint16_t idx = key & ~FW_CFG_ARCH_LOCAL;
	int rc;

	/* The device's own items and the file range are not for callers. */
	if (key == FW_CFG_SIGNATURE || key == FW_CFG_ID || key == FW_CFG_FILE_DIR ||
	    (key & FW_CFG_WRITE_CHANNEL) || (!(key & FW_CFG_ARCH_LOCAL) && idx >= FW_CFG_FILE_FIRST))
		return -EINVAL;
	pthread_mutex_lock(&fw->lock);
	rc = fw_cfg_put(fw, key, data, len, NULL, false);
	pthread_mutex_unlock(&fw->lock);
	return rc;
}

int fw_cfg_add_u16(struct fw_cfg *fw, uint16_t key, uint16_t v)
{
	v = htole16(v);
	return fw_cfg_add(fw, key, &v, sizeof(v));
}

int fw_cfg_add_u32(struct fw_cfg *fw, uint16_t key, uint32_t v)
{
	v = htole32(v);
	return fw_cfg_add(fw, key, &v, sizeof(v));
}

int fw_cfg_add_u64(struct fw_cfg *fw, uint16_t key, uint64_t v)
{
	v = htole64(v);
	return fw_cfg_add(fw, key, &v, sizeof(v));
}

static struct fw_cfg_item *fw_cfg_find_file(struct fw_cfg *fw, const char *name)
{
	for (unsigned int i = 0; i < fw->nr; i++)
		if (fw->items[i].name[0] && !strcmp(fw->items[i].name, name))
			return &fw->items[i];
	return NULL;
}

int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len, bool writable)
{
	int rc;

	if (!name || !name[0] || strlen(name) >= FW_CFG_MAX_FILE_PATH || len > UINT32_MAX)
		return -EINVAL;
	pthread_mutex_lock(&fw->lock);
	if (fw_cfg_find_file(fw, name))
		rc = -EEXIST;
	else if (fw->nr_files == FW_CFG_MAX_FILES)
		rc = -ENOSPC;
	else
		rc = fw_cfg_put(fw, (uint16_t)(FW_CFG_FILE_FIRST + fw->nr_files), data, len, name, writable);
	if (!rc) {
		fw->nr_files++;
		rc = fw_cfg_rebuild_dir(fw);
	}
	pthread_mutex_unlock(&fw->lock);
	return rc;
}

const void *fw_cfg_file_data(struct fw_cfg *fw, const char *name, size_t *len_r)
{
	struct fw_cfg_item *it;
	const void *p = NULL;

	pthread_mutex_lock(&fw->lock);
	it = fw_cfg_find_file(fw, name);
	if (it) {
		p = it->data;
		*len_r = it->len;
	}
	pthread_mutex_unlock(&fw->lock);
	return p;
}

static void fw_cfg_select(struct fw_cfg *fw, uint16_t key)
{
	/* The write flag of old QEMU selectors: writes through the data port
	 * are gone from the interface, so it only names the same item. */
	fw->cur_key = key & ~FW_CFG_WRITE_CHANNEL;
	fw->cur_off = 0;
}

static uint8_t fw_cfg_read_byte(struct fw_cfg *fw)
{
	struct fw_cfg_item *it = fw_cfg_find(fw, fw->cur_key);

	if (!it || fw->cur_off >= it->len)
		return 0;
	return it->data[fw->cur_off++];
}

/*
 * Runs the transfer described at guest address `desc`.  A request whose
 * descriptor cannot be read is dropped (there is nowhere to report it);
 * any other failure sets the error bit and stops the transfer there.
 */
static void fw_cfg_dma(struct fw_cfg *fw, uint64_t desc)
{
	struct fw_cfg_dma_access a;
	uint32_t control, length, result = 0;
	uint64_t addr;
	struct fw_cfg_item *it;

	if (!fw->mem || guest_mem_read(fw->mem, desc, &a, sizeof(a))) {
		pr_debug_rl("fw_cfg: DMA descriptor at %#llx is not in guest RAM",
			 (unsigned long long)desc);
		return;
	}
	control = be32toh(a.control);
	length = be32toh(a.length);
	addr = be64toh(a.address);
	if (control & FW_CFG_DMA_CTL_SELECT)
		fw_cfg_select(fw, (uint16_t)(control >> 16));
	it = fw_cfg_find(fw, fw->cur_key);

	if (control & FW_CFG_DMA_CTL_READ) {
		uint32_t avail = it && fw->cur_off < it->len ? it->len - fw->cur_off : 0;
		uint32_t n = length < avail ? length : avail;
		uint8_t *dst = length ? guest_mem_ptr(fw->mem, addr, length) : NULL;

		/* Past the item's end the guest reads zeros, as from the data port;
		 * an empty transfer touches nothing, wherever it points. */
		if (!length) {
			/* nothing to do */
		} else if (!dst) {
			result = FW_CFG_DMA_CTL_ERROR;
		} else {
			if (n)
				memcpy(dst, it->data + fw->cur_off, n);
			memset(dst + n, 0, length - n);
			fw->cur_off += n;
		}
	} else if (control & FW_CFG_DMA_CTL_WRITE) {
		if (!it || !it->writable || fw->cur_off > it->len || length > it->len - fw->cur_off ||
		    guest_mem_read(fw->mem, addr, it->data + fw->cur_off, length))
			result = FW_CFG_DMA_CTL_ERROR;
		else
			fw->cur_off += length;
	} else if (control & FW_CFG_DMA_CTL_SKIP) {
		uint32_t avail = it && fw->cur_off < it->len ? it->len - fw->cur_off : 0;

		fw->cur_off += length < avail ? length : avail;
	}
	result = htobe32(result);
	if (guest_mem_write(fw->mem, desc, &result, sizeof(result)))
		pr_debug_rl("fw_cfg: cannot complete the DMA descriptor at %#llx",
			 (unsigned long long)desc);
}

void fw_cfg_io(void *opaque, uint64_t offset, void *data, unsigned int len, bool is_write)
{
	struct fw_cfg *fw = opaque;
	uint8_t *p = data;
	uint32_t v = 0;

	if (is_write)
		memcpy(&v, data, len > 4 ? 4 : len);
	pthread_mutex_lock(&fw->lock);
	switch (offset) {
	case 0:   /* selector */
		if (is_write)
			fw_cfg_select(fw, (uint16_t)(len >= 2 ? le16toh((uint16_t)v) : v & 0xff));
		else
			memset(data, 0, len);
		break;
	case 1:   /* data: a wider read is that many successive bytes */
		if (!is_write)
			for (unsigned int i = 0; i < len; i++)
				p[i] = fw_cfg_read_byte(fw);
		break;
	case 4:   /* DMA address, high half; an 8-byte write is the whole address */
	case 8:   /* low half: starts the transfer */
		if (!is_write) {
			uint64_t sig = htobe64(FW_CFG_DMA_SIGNATURE);

			memset(data, 0, len);
			memcpy(data, (uint8_t *)&sig + (offset - 4), len > 12 - offset ? 12 - offset : len);
		} else if (offset == 4 && len == 8) {
			uint64_t a;

			memcpy(&a, data, 8);
			fw->dma_hi = 0;
			fw_cfg_dma(fw, be64toh(a));
		} else if (len == 4 && offset == 4) {
			fw->dma_hi = be32toh(v);
		} else if (len == 4) {
			uint64_t a = (uint64_t)fw->dma_hi << 32 | be32toh(v);

			fw->dma_hi = 0;
			fw_cfg_dma(fw, a);
		}
		break;
	default:
		if (!is_write)
			memset(data, 0, len);
		break;
	}
	pthread_mutex_unlock(&fw->lock);
}

int fw_cfg_attach(struct fw_cfg *fw, struct io_bus *pio)
{
	return io_bus_register(pio, FW_CFG_PORT_SEL, FW_CFG_PORT_LEN, fw_cfg_io, fw, "fw_cfg");
}
