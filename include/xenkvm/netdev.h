/*
 * netdev: the host end of one guest NIC.  Frames the guest sends leave
 * through netdev_send(); frames for the guest arrive through params.rx.
 * Two kinds, picked by the vif's backend: user-mode networking (libslirp,
 * no privileges; QEMU's 10.0.2.0/24 conventions) and a tap device
 * (optionally joined to a bridge; needs CAP_NET_ADMIN).
 *
 * Threading: everything runs on params.loop's thread, including params.rx;
 * netdev_send, netdev_rx_kick and netdev_close are called there too (or
 * while the loop is stopped).
 */
#ifndef XENKVM_NETDEV_H
#define XENKVM_NETDEV_H

#include <stdint.h>
#include <sys/uio.h>

#include "xenkvm/net_pkt.h"

struct event_loop;
struct netdev;
struct vif_spec;

struct netdev_params {
	struct event_loop *loop;
	const struct vif_spec *vif;      /* backend, bridge, ifname, ip, hostfwd */
	const uint8_t *mac;              /* the guest's MAC (6 bytes) */
	unsigned int domid, devid;       /* name the tap xenkvm<domid>.<devid> */
	/* A frame for the guest.  0: taken (or dropped by the callee);
	 * -EAGAIN: no room, the endpoint keeps it until netdev_rx_kick().
	 * tap hands on the kernel's offloads: CSUM_PARTIAL and TCP GSO frames
	 * up to NET_PKT_MAX_FRAME (net_pkt_segment() cuts them if the guest
	 * cannot take them); user networking sends finished MTU-sized frames. */
	int (*rx)(void *opaque, const struct iovec *iov, int iovcnt,
		  const struct net_pkt_meta *meta);
	void *opaque;
};

struct netdev_stats {
	uint64_t tx_packets, tx_bytes;   /* guest -> host, accepted */
	uint64_t tx_dropped;             /* host side full or gone */
	uint64_t tx_errors;              /* malformed frame or offload metadata */
	uint64_t rx_packets, rx_bytes;   /* host -> guest, taken by params.rx */
	uint64_t rx_dropped;             /* queue full while the guest had no room */
	uint64_t rx_deferred;            /* times params.rx said -EAGAIN */
};

/* 0, or -errno with a message printed that says what to do. */
int netdev_open(const struct netdev_params *p, struct netdev **nd_r);
/* NULL is fine.  Never calls params.rx. */
void netdev_close(struct netdev *nd);

/* A guest frame outwards; the endpoint finishes or passes on its offloads.
 * 0, or -errno (the frame was dropped and counted). */
int netdev_send(struct netdev *nd, const struct iovec *iov, int iovcnt,
		const struct net_pkt_meta *meta);
/* The guest has room again: re-offer what params.rx refused. */
void netdev_rx_kick(struct netdev *nd);
void netdev_get_stats(const struct netdev *nd, struct netdev_stats *st);

/* A short name of the endpoint for logs: "user" or the tap's ifname. */
const char *netdev_name(const struct netdev *nd);

#endif
