/*
 * A tap device per vif (vifname= or xenkvm<domid>.<devid>), up, joined to
 * bridge= if given.  IFF_VNET_HDR lets checksum and TSO offloads cross in
 * both directions as a virtio_net_hdr, which says what net_pkt_meta says.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "xenkvm/domain_config.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/log.h"
#include "netdev_priv.h"

struct tap_netdev {
	struct netdev nd;
	int fd;
	bool fd_added;
	bool reading;                /* EPOLLIN is on */
	char ifname[IFNAMSIZ];
	char bridge[IFNAMSIZ];       /* joined, "" if none */
	size_t pending;              /* bytes in buf refused by the guest, 0 if none */
	uint8_t buf[sizeof(struct virtio_net_hdr) + NET_PKT_MAX_FRAME];
};

#define VHDR sizeof(struct virtio_net_hdr)

/* virtio_net_hdr fields are little-endian (IFF_VNET_HDR default on x86). */
static void meta_to_vhdr(const struct net_pkt_meta *m, struct virtio_net_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (m->flags & NET_PKT_CSUM_PARTIAL) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = m->csum_start;
		h->csum_offset = m->csum_offset;
	} else if (m->flags & NET_PKT_CSUM_VALID) {
		h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	switch (m->gso_type) {
	case NET_PKT_GSO_TCPV4:
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		break;
	case NET_PKT_GSO_TCPV6:
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
		break;
	default:
		h->gso_type = VIRTIO_NET_HDR_GSO_NONE;
		return;
	}
	h->gso_size = m->gso_size;
	h->hdr_len = m->hdr_len;
}

/* 0, or -EINVAL for offloads we did not enable (UFO, ECN). */
static int vhdr_to_meta(const struct virtio_net_hdr *h, struct net_pkt_meta *m)
{
	memset(m, 0, sizeof(*m));
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		m->flags = NET_PKT_CSUM_PARTIAL;
		m->csum_start = h->csum_start;
		m->csum_offset = h->csum_offset;
	} else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		m->flags = NET_PKT_CSUM_VALID;
	}
	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return 0;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		m->gso_type = NET_PKT_GSO_TCPV4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		m->gso_type = NET_PKT_GSO_TCPV6;
		break;
	default:
		return -EINVAL;
	}
	m->gso_size = h->gso_size;
	m->hdr_len = h->hdr_len;
	return 0;
}

static void set_reading(struct tap_netdev *t, bool on)
{
	if (t->reading == on)
		return;
	if (event_loop_modify(t->nd.loop, t->fd, on ? EPOLLIN : 0) == 0)
		t->reading = on;
}

/* Offers the frame in buf; false if the guest is full (kept in buf). */
static bool offer_pending(struct tap_netdev *t)
{
	struct net_pkt_meta m;
	struct iovec iov;

	if (t->pending <= VHDR || vhdr_to_meta((struct virtio_net_hdr *)t->buf, &m)) {
		t->nd.st.rx_dropped++;
		t->pending = 0;
		return true;
	}
	iov.iov_base = t->buf + VHDR;
	iov.iov_len = t->pending - VHDR;
	if (netdev_deliver(&t->nd, &iov, 1, &m) == -EAGAIN)
		return false;
	t->pending = 0;
	return true;
}

/* A bounded batch per wakeup so one busy tap cannot starve the loop. */
static void on_tap_readable(void *opaque, uint32_t events)
{
	struct tap_netdev *t = opaque;

	(void)events;
	/* With EPOLLIN off, epoll still reports errors: never overwrite a kept frame. */
	if (t->pending)
		return;
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(t->fd, t->buf, sizeof(t->buf));

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				pr_err_rl("net %s: read: %s", t->ifname, strerror(errno));
			return;
		}
		/* tun reports a frame's full length even when it did not fit. */
		if ((size_t)n > sizeof(t->buf)) {
			t->nd.st.rx_dropped++;
			continue;
		}
		t->pending = (size_t)n;
		if (!offer_pending(t)) {
			set_reading(t, false);
			return;
		}
	}
}

static void tap_rx_kick(struct netdev *nd)
{
	struct tap_netdev *t = (struct tap_netdev *)nd;

	if (t->pending && !offer_pending(t))
		return;
	set_reading(t, true);
}

static int tap_send(struct netdev *nd, const struct iovec *iov, int iovcnt,
		    const struct net_pkt_meta *meta)
{
	struct tap_netdev *t = (struct tap_netdev *)nd;
	struct virtio_net_hdr h;
	struct iovec v[65];
	long len = netdev_iov_len(iov, iovcnt, NET_PKT_MAX_FRAME);
	ssize_t n;

	if (len < 14 || iovcnt > 64) {
		nd->st.tx_errors++;
		return -EINVAL;
	}
	meta_to_vhdr(meta, &h);
	v[0].iov_base = &h;
	v[0].iov_len = sizeof(h);
	memcpy(v + 1, iov, (size_t)iovcnt * sizeof(*iov));
	n = writev(t->fd, v, iovcnt + 1);
	if (n < 0) {
		int err = errno;

		/* The kernel validates the header: EINVAL is the guest's fault. */
		if (err == EINVAL) {
			nd->st.tx_errors++;
		} else {
			nd->st.tx_dropped++;
			if (err != EAGAIN && err != ENOBUFS)
				pr_warn_rl("net %s: write: %s", t->ifname, strerror(err));
		}
		return -err;
	}
	nd->st.tx_packets++;
	nd->st.tx_bytes += (uint64_t)len;
	return 0;
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		rc = -errno;
	close(s);
	return rc;
}

static void tap_close(struct netdev *nd)
{
	struct tap_netdev *t = (struct tap_netdev *)nd;

	if (t->fd_added)
		event_loop_remove(nd->loop, t->fd);
	if (t->bridge[0]) {
		struct ifreq ifr = { 0 };

		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->bridge);
		ifr.ifr_ifindex = (int)if_nametoindex(t->ifname);
		if (ifr.ifr_ifindex && ifreq_ioctl(SIOCBRDELIF, &ifr))
			pr_debug("net %s: leaving bridge %s failed", t->ifname, t->bridge);
	}
	/* Not persistent: the interface goes away with its last fd. */
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct netdev_ops tap_ops = {
	.send = tap_send,
	.rx_kick = tap_rx_kick,
	.close = tap_close,
};

static int tap_create(struct tap_netdev *t, const struct netdev_params *p)
{
	struct ifreq ifr = { 0 };
	unsigned int offload = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	int hdrsz = (int)VHDR, rc;

	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		rc = -errno;
		pr_err("vif %u: cannot open /dev/net/tun: %s%s", p->devid, strerror(-rc),
		       rc == -ENOENT ? " (load the tun module)" :
		       rc == -EACCES || rc == -EPERM ?
		       " (tap needs root or CAP_NET_ADMIN; the default user networking needs neither)" : "");
		return rc;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		if (rc == -EPERM)
			pr_err("vif %u: creating tap %s needs CAP_NET_ADMIN: run xenkvmd as root, "
			       "give it cap_net_admin, or use the default user networking (no type=/bridge=)",
			       p->devid, t->ifname);
		else if (rc == -EBUSY)
			pr_err("vif %u: tap %s is in use by another program", p->devid, t->ifname);
		else
			pr_err("vif %u: TUNSETIFF %s: %s", p->devid, t->ifname, strerror(-rc));
		return rc;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdrsz) < 0 || ioctl(t->fd, TUNSETOFFLOAD, offload) < 0) {
		rc = -errno;
		pr_err("vif %u: tap %s offloads: %s", p->devid, t->ifname, strerror(-rc));
		return rc;
	}
	return 0;
}

static int tap_up_and_bridge(struct tap_netdev *t, const struct netdev_params *p)
{
	struct ifreq ifr = { 0 };
	int rc;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
	rc = ifreq_ioctl(SIOCGIFFLAGS, &ifr);
	if (!rc) {
		ifr.ifr_flags |= IFF_UP;
		rc = ifreq_ioctl(SIOCSIFFLAGS, &ifr);
	}
	if (rc) {
		pr_err("vif %u: cannot bring %s up: %s", p->devid, t->ifname, strerror(-rc));
		return rc;
	}
	if (!p->vif->bridge || !*p->vif->bridge)
		return 0;
	if (strlen(p->vif->bridge) >= IFNAMSIZ || !if_nametoindex(p->vif->bridge)) {
		pr_err("vif %u: bridge=%s: no such interface (create it first, e.g. "
		       "`ip link add %s type bridge`)", p->devid, p->vif->bridge, p->vif->bridge);
		return -ENODEV;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->vif->bridge);
	ifr.ifr_ifindex = (int)if_nametoindex(t->ifname);
	rc = ifreq_ioctl(SIOCBRADDIF, &ifr);
	if (rc) {
		pr_err("vif %u: cannot add %s to bridge %s: %s%s", p->devid, t->ifname, p->vif->bridge,
		       strerror(-rc), rc == -EOPNOTSUPP || rc == -EINVAL ? " (is it a bridge?)" : "");
		return rc;
	}
	snprintf(t->bridge, sizeof(t->bridge), "%s", p->vif->bridge);
	return 0;
}

int netdev_tap_open(const struct netdev_params *p, struct netdev **nd_r)
{
	struct tap_netdev *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	t->fd = -1;
	if (p->vif->ifname && *p->vif->ifname) {
		if (strlen(p->vif->ifname) >= IFNAMSIZ || strchr(p->vif->ifname, '/')) {
			pr_err("vif %u: vifname=%s: interface names are at most %d characters, no '/'",
			       p->devid, p->vif->ifname, IFNAMSIZ - 1);
			free(t);
			return -EINVAL;
		}
		snprintf(t->ifname, sizeof(t->ifname), "%s", p->vif->ifname);
	} else {
		snprintf(t->ifname, sizeof(t->ifname), "xenkvm%u.%u", p->domid, p->devid);
	}
	netdev_init_common(&t->nd, &tap_ops, p, t->ifname);
	rc = tap_create(t, p);
	if (!rc)
		rc = tap_up_and_bridge(t, p);
	if (!rc)
		rc = event_loop_add(p->loop, t->fd, EPOLLIN, on_tap_readable, t);
	if (rc) {
		tap_close(&t->nd);
		return rc;
	}
	t->fd_added = true;
	t->reading = true;
	netdev_init_common(&t->nd, &tap_ops, p, t->ifname);
	pr_info("vif %u: tap %s%s%s", p->devid, t->ifname, t->bridge[0] ? " on bridge " : "", t->bridge);
	*nd_r = &t->nd;
	return 0;
}
