/* netdev: picks the endpoint for a vif and forwards the calls to it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xenkvm/domain_config.h"
#include "xenkvm/log.h"
#include "netdev_priv.h"

void netdev_init_common(struct netdev *nd, const struct netdev_ops *ops,
			const struct netdev_params *p, const char *name)
{
	nd->ops = ops;
	nd->loop = p->loop;
	nd->rx = p->rx;
	nd->opaque = p->opaque;
	snprintf(nd->name, sizeof(nd->name), "%s", name);
}

long netdev_iov_len(const struct iovec *iov, int iovcnt, size_t max)
{
	size_t total = 0;

	if (iovcnt < 0 || (iovcnt && !iov))
		return -1;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > max - total)
			return -1;
		total += iov[i].iov_len;
	}
	return (long)total;
}

int netdev_deliver(struct netdev *nd, const struct iovec *iov, int iovcnt,
		   const struct net_pkt_meta *meta)
{
	int rc = nd->rx(nd->opaque, iov, iovcnt, meta);

	if (rc == -EAGAIN) {
		nd->st.rx_deferred++;
		return rc;
	}
	if (rc == 0) {
		long n = netdev_iov_len(iov, iovcnt, NET_PKT_MAX_FRAME);

		nd->st.rx_packets++;
		nd->st.rx_bytes += n > 0 ? (uint64_t)n : 0;
	} else {
		nd->st.rx_dropped++;
	}
	return rc;
}

int netdev_open(const struct netdev_params *p, struct netdev **nd_r)
{
	if (!p || !p->loop || !p->vif || !p->mac || !p->rx || !nd_r)
		return -EINVAL;
	switch (p->vif->backend) {
	case VIF_BACKEND_USER:
		return netdev_slirp_open(p, nd_r);
	case VIF_BACKEND_TAP:
		return netdev_tap_open(p, nd_r);
	}
	pr_err("vif %u: unknown network backend %d", p->devid, (int)p->vif->backend);
	return -EINVAL;
}

void netdev_close(struct netdev *nd)
{
	if (nd)
		nd->ops->close(nd);
}

int netdev_send(struct netdev *nd, const struct iovec *iov, int iovcnt,
		const struct net_pkt_meta *meta)
{
	static const struct net_pkt_meta plain;

	return nd->ops->send(nd, iov, iovcnt, meta ? meta : &plain);
}

void netdev_rx_kick(struct netdev *nd)
{
	if (nd)
		nd->ops->rx_kick(nd);
}

void netdev_get_stats(const struct netdev *nd, struct netdev_stats *st)
{
	*st = nd->st;
}

const char *netdev_name(const struct netdev *nd)
{
	return nd->name;
}
