/* What the netdev endpoints (slirp.c, tap.c) share with the dispatch in netdev.c. */
#ifndef XENKVM_NETDEV_PRIV_H
#define XENKVM_NETDEV_PRIV_H

#include <net/if.h>

#include "xenkvm/netdev.h"

struct netdev_ops {
	int (*send)(struct netdev *nd, const struct iovec *iov, int iovcnt,
		    const struct net_pkt_meta *meta);
	void (*rx_kick)(struct netdev *nd);
	void (*close)(struct netdev *nd);
};

/* The first member of each endpoint's own state. */
struct netdev {
	const struct netdev_ops *ops;
	struct event_loop *loop;
	int (*rx)(void *opaque, const struct iovec *iov, int iovcnt,
		  const struct net_pkt_meta *meta);
	void *opaque;
	struct netdev_stats st;
	char name[IFNAMSIZ + 8];
};

void netdev_init_common(struct netdev *nd, const struct netdev_ops *ops,
			const struct netdev_params *p, const char *name);
/* Hands one frame to params.rx and counts it; returns rx's answer. */
int netdev_deliver(struct netdev *nd, const struct iovec *iov, int iovcnt,
		   const struct net_pkt_meta *meta);
/* Bytes in an iovec, or -1 if more than `max` (or a negative count). */
long netdev_iov_len(const struct iovec *iov, int iovcnt, size_t max);

int netdev_slirp_open(const struct netdev_params *p, struct netdev **nd_r);
int netdev_tap_open(const struct netdev_params *p, struct netdev **nd_r);

#endif
