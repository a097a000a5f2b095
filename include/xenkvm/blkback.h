/*
 * blkback: the backend of a guest's xen-blkfront disk, living in xenkvmd
 * as domain 0.  One per xl.cfg `disk = [...]` entry.  It creates the
 * libxl-style frontend/backend XenStore directories, walks the xenbus
 * handshake (InitWait -> Connected, Closing/Closed, reconnect), consumes
 * the blkif ring(s) (native x86_64 and x86_32 layouts, indirect
 * descriptors, persistent grants, multi-page rings, multi-queue) and does
 * the I/O on a raw image file or block device with io_uring.
 *
 * Threading: everything runs on the daemon's I/O thread (event_loop):
 * blkback_create()/blkback_destroy() must be called there (e.g. through
 * xs_service_run()) or before that thread started / after it stopped,
 * because they use the XenStore, which belongs to that thread.  The only
 * other-thread entry is the event-channel handler, which just signals.
 *
 * blkback_destroy() must run after the guest's vCPUs stopped sending
 * events (an event-channel handler may run once after the port closed).
 */
#ifndef XENKVM_BLKBACK_H
#define XENKVM_BLKBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blkback;
struct event_loop;
struct xen_domain;
struct xs_store;

/* A disk as blkback serves it, whoever described it (xenkvmd fills it from
 * an xl.cfg disk entry); only read while blkback_create() runs. */
struct blkback_disk {
	const char *target;            /* image file or block device; NULL: empty CD-ROM */
	const char *vdev;              /* xl's name: xvda, hdb, sdc2, ... */
	const char *format;            /* "raw" or NULL (raw); anything else is refused */
	bool readonly;
	bool cdrom;
	bool direct_io;                /* O_DIRECT */
};

struct blkback_params {
	struct event_loop *loop;
	struct xen_domain *dom;
	struct xs_store *store;
	unsigned int domid;            /* the guest (frontend) domain */
	const struct blkback_disk *disk;
	/* Tuning; 0 picks the default in brackets. */
	unsigned int max_queues;       /* multi-queue-max-queues [4] (1..16) */
	unsigned int max_ring_order;   /* max-ring-page-order [4] (0..4) */
	unsigned int max_indirect;     /* feature-max-indirect-segments [256] (11..4096) */
	/* Offer feature-persistent.  Off by default: our grant "mapping" is a
	 * pointer into guest RAM, so persistent grants save us nothing and make
	 * blkfront copy every byte through its grant pool. */
	bool persistent;
	bool no_indirect;              /* don't offer indirect descriptors */
};

struct blkback_stats {
	uint64_t requests;       /* consumed from the ring(s) */
	uint64_t errors;         /* BLKIF_RSP_ERROR / EOPNOTSUPP responses */
	uint64_t rd_bytes, wr_bytes;
	uint64_t flushes, discards;
	unsigned int connects;   /* times the device reached Connected */
	unsigned int inflight;   /* requests consumed, response not yet pushed */
	unsigned int persistent; /* persistent grants currently mapped */
};

/* xl's vdev naming (xvda, xvdq, xvdaa1, hdb, sdc2, d0p1) -> the virtual
 * device number in device/vbd/<devid> (xvda = 51712).  0 or -EINVAL. */
int blkback_vdev_to_devid(const char *vdev, unsigned int *devid_r);

/* Opens the backing store (raw only: qcow2/vhd/vmdk/vdi are refused with a
 * message), writes device/vbd/<devid> and backend/vbd/<domid>/<devid>
 * and enters InitWait.  0 or -errno (a message was printed). */
int blkback_create(const struct blkback_params *p, struct blkback **be_r);
/* Disconnects (waiting for in-flight I/O), removes both XenStore
 * directories and frees everything.  NULL is fine. */
void blkback_destroy(struct blkback *be);

unsigned int blkback_devid(const struct blkback *be);
void blkback_get_stats(const struct blkback *be, struct blkback_stats *st);


/*
 * Save and restore (docs/SAVE-FORMAT.md, blkback section; one per disk).
 * On the I/O thread with every vCPU parked, blkback_quiesce() completes
 * the in-flight requests and pushes their responses (and notifications)
 * and consumes nothing more, before anything of the domain is written, so
 * guest RAM and shared_info in the stream hold them and no request is
 * half done; blkback_resume() serves on after a failed save.
 * blkback_state_save() refuses a device with requests in flight.  Load
 * into the disks created afresh from the same config, after the event
 * channel, grant table and XenStore sections: the rings are mapped
 * again, the backend ports claimed, the xenbus state is Connected
 * without the frontend renegotiating, and what the guest queued meanwhile
 * is consumed once the loop runs.  On the loop thread or before it runs.
 */
struct state_writer;
struct state_handler;
void blkback_quiesce(struct blkback *be);
void blkback_resume(struct blkback *be);
int blkback_state_save(struct blkback *be, struct state_writer *w);
struct blkback_state_load {
	struct blkback *const *disks;
	size_t nr;
	uint64_t loaded;               /* bit per disk */
};
void blkback_state_handler(struct blkback_state_load *ctx, struct state_handler *h);
#endif
