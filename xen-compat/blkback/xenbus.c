/*
 * blkback device: XenStore layout (libxl's vbd nodes), what connecting
 * reads from the frontend, and wiring to the event loop.  The xenbus
 * state machine is the shared one (xen-compat/xenbus_backend.c); this
 * file gives it the connect (map the rings) and disconnect (drain, unmap)
 * hooks.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

/* xen_abi.h first: it selects the Xen interface version. */
#include "xenkvm/xen_abi.h"
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

#include "blkback.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "xenkvm/xenbus_backend.h"
#include "xenkvm/xenstore.h"

/* ---- vdev names (libxl__device_disk_dev_number) ------------------------ */

/* "<prefix><letters><partition digits>" (or "d<N>p<M>"); -1 if no match. */
static int vdev_match(const char *s, const char *prefix, bool letters, unsigned long max_disk,
		      unsigned long max_part, unsigned long *disk_r, unsigned long *part_r)
{
	size_t pl = strlen(prefix);
	unsigned long disk = 0, part = 0;
	const char *p;

	if (strncmp(s, prefix, pl))
		return -1;
	p = s + pl;
	if (letters) {
		if (*p < 'a' || *p > 'z')
			return -1;
		for (; *p >= 'a' && *p <= 'z'; p++) {
			disk = disk * 26 + (unsigned long)(*p - 'a' + 1);
			if (disk > max_disk + 1)
				return -1;
		}
		disk--;
	} else {
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			disk = disk * 10 + (unsigned long)(*p - '0');
			if (disk > max_disk)
				return -1;
		}
		if (*p == 'p') {
			p++;
			if (*p < '0' || *p > '9')
				return -1;
		}
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		part = part * 10 + (unsigned long)(*p - '0');
		if (part >= max_part)
			return -1;
	}
	if (*p || disk >= max_disk)
		return -1;
	*disk_r = disk;
	*part_r = part;
	return 0;
}

int blkback_vdev_to_devid(const char *vdev, unsigned int *devid_r)
{
	unsigned long disk, part;

	if (!vdev)
		return -EINVAL;
	if (!vdev_match(vdev, "xvd", true, 1ul << 20, 256, &disk, &part) ||
	    !vdev_match(vdev, "d", false, 1ul << 20, 256, &disk, &part)) {
		if (disk < 16 && part < 16)
			*devid_r = (202u << 8) | (unsigned int)(disk << 4) | (unsigned int)part;
		else
			*devid_r = (1u << 28) | (unsigned int)(disk << 8) | (unsigned int)part;
		return 0;
	}
	if (!vdev_match(vdev, "hd", true, 4, 64, &disk, &part)) {
		*devid_r = ((disk < 2 ? 3u : 22u) << 8) | (unsigned int)((disk & 1) << 6) |
			   (unsigned int)part;
		return 0;
	}
	if (!vdev_match(vdev, "sd", true, 16, 16, &disk, &part)) {
		*devid_r = (8u << 8) | (unsigned int)(disk << 4) | (unsigned int)part;
		return 0;
	}
	return -EINVAL;
}

/* ---- connect / disconnect ------------------------------------------------ */

static void blk_disconnect(void *opaque)
{
	struct blkback *be = opaque;

	blk_dev_drain(be);
	for (unsigned int q = 0; q < BLK_MAX_QUEUES; q++)
		blk_ring_disconnect(&be->rings[q]);
	be->nr_rings = 0;
}

static int blk_connect_queue(struct blkback *be, unsigned int q, unsigned int nr_queues,
			     int order, enum blk_abi abi, bool persistent)
{
	grant_ref_t refs[BLK_MAX_RING_PAGES];
	struct blk_ring_config c = { .abi = abi, .refs = refs, .persistent = persistent };
	char dir[160], key[24];
	unsigned long v;
	int rc;

	xenbus_backend_queue_dir(&be->xb, q, nr_queues, dir, sizeof(dir));
	c.nr_pages = order < 0 ? 1 : 1u << order;
	for (unsigned int i = 0; i < c.nr_pages; i++) {
		if (order < 0)
			snprintf(key, sizeof(key), "ring-ref");
		else
			snprintf(key, sizeof(key), "ring-ref%u", i);
		rc = xenbus_be_read_uint(be->xb.xs, dir, key, &v);
		if (rc || v > UINT32_MAX)
			return rc ? rc : -EINVAL;
		refs[i] = (grant_ref_t)v;
	}
	rc = xenbus_be_read_uint(be->xb.xs, dir, "event-channel", &v);
	if (rc || v == 0 || v > UINT32_MAX)
		return rc ? rc : -EINVAL;
	c.guest_port = (evtchn_port_t)v;
	return blk_ring_connect(&be->rings[q], &c);
}

static int blk_connect(void *opaque)
{
	struct blkback *be = opaque;
	struct xs_client *xs = be->xb.xs;
	const char *fe = be->xb.fe_path;
	enum blk_abi abi = BLK_ABI_X86_64;
	unsigned long nq, order, persistent;
	char proto[32];
	int rc, ord = -1;

	rc = xenbus_be_read(xs, fe, "protocol", proto, sizeof(proto));
	if (!rc) {
		if (!strcmp(proto, XEN_IO_PROTO_ABI_X86_32))
			abi = BLK_ABI_X86_32;
		else if (strcmp(proto, XEN_IO_PROTO_ABI_X86_64))
			return -EPROTONOSUPPORT;
	} else if (rc != -ENOENT) {
		return rc;
	}
	rc = xenbus_be_read_uint_def(xs, fe, "feature-persistent", 0, &persistent);
	rc = rc ?: xenbus_be_read_uint_def(xs, fe, "multi-queue-num-queues", 1, &nq);
	if (rc)
		return rc;
	if (nq == 0 || nq > be->max_queues)
		return -EINVAL;
	rc = xenbus_be_read_uint_def(xs, fe, "ring-page-order", ULONG_MAX, &order);
	if (rc)
		return rc;
	if (order != ULONG_MAX) {
		if (order > be->max_ring_order)
			return -EINVAL;
		ord = (int)order;
	}
	for (unsigned int q = 0; q < nq; q++) {
		rc = blk_connect_queue(be, q, (unsigned int)nq, ord, abi,
				       persistent == 1 && be->offer_persistent);
		if (rc) {
			for (unsigned int i = 0; i < q; i++)
				blk_ring_disconnect(&be->rings[i]);
			return rc;
		}
	}
	be->nr_rings = (unsigned int)nq;
	/* Requests may already be waiting. */
	for (unsigned int q = 0; q < be->nr_rings; q++)
		event_notifier_signal(be->rings[q].kick);
	pr_info_rl("blkback: d%u vbd %u: connected, %lu queue(s) of %u pages, %s, %spersistent",
		be->domid, be->devid, nq, 1u << (ord < 0 ? 0 : ord),
		abi == BLK_ABI_X86_32 ? "x86_32" : "x86_64",
		be->rings[0].persistent ? "" : "not ");
	return 0;
}

static const struct xenbus_backend_ops blk_xenbus_ops = {
	.connect = blk_connect,
	.disconnect = blk_disconnect,
};

static void blk_ring_kicked(void *opaque, uint32_t events)
{
	struct blk_ring *r = opaque;

	(void)events;
	blk_ring_process(r);
}

static void blk_io_ready(void *opaque, uint32_t events)
{
	struct blkback *be = opaque;

	(void)events;
	blk_io_ack(&be->io);
	blk_io_reap(&be->io, blk_ring_io_done, be);
	blk_rings_flush(be);
}

/* ---- create / destroy ------------------------------------------------------ */

static int blk_add_nodes(struct blkback *be, const struct blkback_disk *disk)
{
	char sectors[24], info[8], devid[16], fid[16], indirect[16], order[8], queues[8], ssz[8],
		pssz[8], gran[16];
	const char *fe_kv[] = {
		"state", "1",
		"virtual-device", devid,
		"device-type", be->cdrom ? "cdrom" : "disk",
		"backend-id", "0",
		NULL,
	};
	const char *be_kv[] = {
		"frontend-id", fid,
		"online", "1",
		"removable", be->cdrom ? "1" : "0",
		"bootable", "1",
		"state", "1",
		"dev", disk->vdev,
		"type", be->io.is_bdev ? "phy" : "file",
		"mode", be->readonly ? "r" : "w",
		"device-type", be->cdrom ? "cdrom" : "disk",
		"params", disk->target,
		"sectors", sectors,
		"info", info,
		"sector-size", ssz,
		"physical-sector-size", pssz,
		"feature-flush-cache", be->readonly ? "0" : "1",
		"feature-barrier", be->readonly ? "0" : "1",
		"feature-discard", be->io.can_discard ? "1" : "0",
		"discard-granularity", gran,
		"discard-alignment", "0",
		"discard-secure", "0",
		"max-ring-page-order", order,
		"multi-queue-max-queues", queues,
		"feature-persistent", be->offer_persistent ? "1" : "0",
		/* Only offered when supported: blkif.h says never write "0". */
		be->max_indirect ? "feature-max-indirect-segments" : NULL, indirect,
		NULL,
	};
	unsigned int vinfo = (be->readonly ? VDISK_READONLY : 0) |
			     (be->cdrom ? VDISK_CDROM | VDISK_REMOVABLE : 0);

	snprintf(sectors, sizeof(sectors), "%" PRIu64, be->sectors);
	snprintf(info, sizeof(info), "%u", vinfo);
	snprintf(devid, sizeof(devid), "%u", be->devid);
	snprintf(fid, sizeof(fid), "%u", be->domid);
	snprintf(indirect, sizeof(indirect), "%u", be->max_indirect);
	snprintf(order, sizeof(order), "%u", be->max_ring_order);
	snprintf(queues, sizeof(queues), "%u", be->max_queues);
	snprintf(ssz, sizeof(ssz), "%u", BLK_SECTOR);
	snprintf(pssz, sizeof(pssz), "%u", be->io.physical_block);
	snprintf(gran, sizeof(gran), "%u", be->io.physical_block > 4096 ? be->io.physical_block : 4096);
	return xenbus_backend_start(&be->xb, fe_kv, be_kv);
}

static unsigned int clamp_param(unsigned int v, unsigned int def, unsigned int lo, unsigned int hi)
{
	if (!v)
		return def;
	return v < lo ? lo : v > hi ? hi : v;
}

int blkback_create(const struct blkback_params *p, struct blkback **be_r)
{
	struct xenbus_backend_params xp = { .name = "blkback", .cls = "vbd", .trace = TRACE_BLK,
					    .ops = &blk_xenbus_ops };
	struct blkback *be = NULL;
	unsigned int devid, indirect;
	int rc;

	*be_r = NULL;
	if (!p || !p->dom || !p->store || !p->loop || !p->disk || !p->domid ||
	    p->domid >= XS_DOMID_MAX)
		return -EINVAL;
	if (blkback_vdev_to_devid(p->disk->vdev, &devid)) {
		pr_err("blkback: d%u: bad vdev '%s'", p->domid, p->disk->vdev ? p->disk->vdev : "");
		return -EINVAL;
	}
	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	indirect = p->no_indirect ? 0 : clamp_param(p->max_indirect, 256, BLK_MAX_DIRECT_SEGS,
						     BLK_MAX_SEGS);
	rc = blk_dev_init(be, p->dom, p->disk->target, p->disk->format,
			  p->disk->readonly || p->disk->cdrom, p->disk->direct_io, indirect);
	if (rc) {
		free(be);
		return rc;
	}
	be->loop = p->loop;
	be->store = p->store;
	be->domid = p->domid;
	be->devid = devid;
	be->cdrom = p->disk->cdrom;
	be->max_queues = clamp_param(p->max_queues, 4, 1, BLK_MAX_QUEUES);
	be->max_ring_order = p->max_ring_order ? clamp_param(p->max_ring_order, 4, 0,
							     BLK_MAX_RING_ORDER) : 4;
	be->offer_persistent = p->persistent;
	be->nr_rings = 0;

	xp.loop = p->loop;
	xp.store = p->store;
	xp.domid = p->domid;
	xp.devid = devid;
	xp.opaque = be;
	rc = xenbus_backend_init(&be->xb, &xp);
	for (unsigned int q = 0; q < BLK_MAX_QUEUES && !rc; q++)
		rc = event_notifier_new(be->loop, blk_ring_kicked, &be->rings[q], &be->rings[q].kick);
	if (rc)
		goto fail;
	rc = event_loop_add(be->loop, be->io.efd, EPOLLIN, blk_io_ready, be);
	if (rc)
		goto fail;
	be->efd_registered = true;
	rc = blk_add_nodes(be, p->disk);
	if (rc)
		goto fail;
	pr_info("blkback: d%u vbd %u (%s): %s, %" PRIu64 " sectors, %s%s", be->domid, devid,
		p->disk->vdev, p->disk->target, be->sectors, be->readonly ? "read-only" : "read-write",
		be->io.direct ? ", O_DIRECT" : "");
	*be_r = be;
	return 0;
fail:
	blkback_destroy(be);
	return rc;
}

void blkback_destroy(struct blkback *be)
{
	if (!be)
		return;
	blk_disconnect(be);
	xenbus_backend_fini(&be->xb);
	if (be->efd_registered)
		event_loop_remove(be->loop, be->io.efd);
	for (unsigned int q = 0; q < BLK_MAX_QUEUES; q++)
		if (be->rings[q].kick)
			event_notifier_free(be->rings[q].kick);
	blk_io_close(&be->io);
	free(be);
}

unsigned int blkback_devid(const struct blkback *be)
{
	return be->devid;
}

void blkback_get_stats(const struct blkback *be, struct blkback_stats *st)
{
	*st = be->stats;
	st->connects = be->xb.connects;
	st->inflight = 0;
	for (unsigned int q = 0; q < be->nr_rings; q++)
		st->inflight += be->rings[q].nr_inflight;
}
