/*
 * netback: the backend of a guest's xen-netfront NIC, living in xenkvmd as
 * domain 0.  One per xl.cfg `vif = [...]` entry.  It creates the libxl
 * style device/vif/<devid> and backend/vif/<domid>/<devid> directories,
 * walks the xenbus handshake (InitWait -> Connected, Closing/Closed,
 * reconnect), consumes the netif tx rings and fills the rx rings by grant
 * copy.  It knows nothing of the host side: frames the guest sends go to
 * params.tx, frames for the guest come in through netback_rx().
 *
 * Threading: everything runs on the daemon's I/O thread (event_loop),
 * including params.tx, params.rx_ready and netback_rx().  create/destroy
 * must be called there (they use the XenStore) or while that thread is
 * stopped; destroy only after the guest's vCPUs stopped sending events.
 */
#ifndef XENKVM_NETBACK_H
#define XENKVM_NETBACK_H

#include <stdint.h>
#include <sys/uio.h>

#include "xenkvm/net_pkt.h"

struct event_loop;
struct netback;
struct xen_domain;
struct xs_store;

struct netback_params {
	struct event_loop *loop;
	struct xen_domain *dom;
	struct xs_store *store;
	unsigned int domid;            /* the guest (frontend) domain */
	unsigned int devid;            /* device/vif/<devid>, the vif's index */
	uint8_t mac[6];                /* the guest's MAC (netback_mac_generate) */
	unsigned int max_queues;       /* multi-queue-max-queues; 0 -> 4 (1..8) */
	/* The guest sent a frame (one or more iovecs, at most NET_PKT_MAX_FRAME
	 * bytes).  A negative return counts as a drop. */
	int (*tx)(void *opaque, const struct iovec *iov, int iovcnt,
		  const struct net_pkt_meta *meta);
	/* netback_rx() said -EAGAIN and the guest has since posted buffers. */
	void (*rx_ready)(void *opaque);
	void *opaque;
};

struct netback_stats {
	uint64_t tx_packets, tx_bytes;   /* guest -> host, handed to params.tx */
	uint64_t tx_drops;               /* params.tx refused them */
	uint64_t tx_errors;              /* malformed frames answered NETIF_RSP_ERROR */
	uint64_t rx_packets, rx_bytes;   /* host -> guest, copied into the guest */
	uint64_t rx_drops;               /* not connected, too big, unusable offload */
	uint64_t rx_errors;
	unsigned int connects;           /* times the device reached Connected */
	unsigned int queues;             /* connected queues now (0: not connected) */
	unsigned int fatal;              /* times the frontend broke the protocol */
	int backend_state, frontend_state; /* XenbusState; frontend -1 if never read */
};

/* Writes the nodes and enters InitWait.  0 or -errno (a message was printed). */
int netback_create(const struct netback_params *p, struct netback **nb_r);
/* Disconnects, removes both XenStore directories, frees.  NULL is fine.
 * Never calls params.tx or params.rx_ready. */
void netback_destroy(struct netback *nb);

/* A frame for the guest.  0: taken (copied, or dropped and counted);
 * -EAGAIN: the guest has no room now, keep it: params.rx_ready follows. */
int netback_rx(struct netback *nb, const struct iovec *iov, int iovcnt,
	       const struct net_pkt_meta *meta);

unsigned int netback_devid(const struct netback *nb);
void netback_get_stats(const struct netback *nb, struct netback_stats *st);

/* A locally administered-looking Xen MAC, 00:16:3e:xx:xx:xx, derived from
 * `seed` (the domain's name or UUID) and the vif index: stable across
 * restarts of the same domain, different per vif. */
void netback_mac_generate(const char *seed, unsigned int devid, uint8_t mac[6]);

/*
 * Save and restore (docs/SAVE-FORMAT.md, netback section; one per vif).
 * On the I/O thread with every vCPU parked, netback_quiesce() pushes the
 * responses written but not yet published (and notifies the guest) before
 * anything of the domain is written; every consumed request is answered
 * then (tx and rx run synchronously), so the section holds each queue's
 * ring references, backend ports and indices, the features the frontend
 * asked for and the xenbus state.  Frames held on the host side are not
 * carried: they are lost as on a busy link, and the guest's TCP resends
 * them.  Load into the vifs created afresh from the same config, after
 * the event channel, grant table and XenStore sections: the rings are
 * mapped again, the backend ports claimed, the state is Connected with no
 * renegotiation, and what the guest queued meanwhile is consumed once the
 * loop runs.
 */
struct state_writer;
struct state_handler;
void netback_quiesce(struct netback *nb);
int netback_state_save(struct netback *nb, struct state_writer *w);
struct netback_state_load {
	struct netback *const *vifs;
	size_t nr;
	uint64_t loaded;               /* bit per vif */
};
void netback_state_handler(struct netback_state_load *ctx, struct state_handler *h);

#endif
