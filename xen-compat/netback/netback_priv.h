/*
 * netback internals: the device and its XenStore side (xenbus.c),
 * the per-queue shared rings and event channels (queue.c), the guest's
 * transmit path (tx.c) and its receive path (rx.c).  Tests and the fuzzer
 * include this to drive a queue synchronously.
 *
 * Ring layouts (netif.h, one page each, 64-byte sring header):
 *   tx entry 12 bytes: request {u32 gref; u16 offset, flags, id, size},
 *            response {u16 id; s16 status}; an extra-info slot is
 *            {u8 type, flags; u16 gso_size; u8 gso_type; ...}.  256 entries.
 *   rx entry  8 bytes: request {u16 id, pad; u32 gref},
 *            response {u16 id, offset, flags; s16 status}.  256 entries.
 */
#ifndef XENKVM_NETBACK_PRIV_H
#define XENKVM_NETBACK_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/gnttab.h"
#include "xenkvm/guest_mem.h"
#include "xenkvm/netback.h"
#include "xenkvm/xen_abi.h"
#include "xenkvm/xenbus_backend.h"

#define NB_MAX_QUEUES     8u
#define NB_SRING_HDR      64u
#define NB_TX_ENTRY       12u
#define NB_RX_ENTRY       8u
#define NB_RING_SIZE      256u   /* both rings: __CONST_RING_SIZE for one page */
#define NB_MAX_SLOTS      18u    /* XEN_NETBK_LEGACY_SLOTS_MAX: data slots per frame */
#define NB_MAX_EXTRAS     4u     /* XEN_NETIF_EXTRA_TYPE_MAX - 1 */
#define NB_TX_BUDGET      64u    /* frames per run before yielding the loop */
#define NB_ETH_HLEN       14u

struct event_notifier;
struct netback;

struct nb_queue {
	struct netback *nb;
	unsigned int qid;
	bool connected, dead;
	struct gnttab_mapping tx_page, rx_page;
	uint32_t tx_req_cons, tx_rsp_prod_pvt;
	uint32_t rx_req_cons, rx_rsp_prod_pvt;
	bool tx_rsp_pending, rx_rsp_pending;
	evtchn_port_t tx_port, rx_port;   /* backend ports; equal unless split */
	struct event_notifier *kick;      /* NULL when driven synchronously */
};

struct nb_queue_config {
	grant_ref_t tx_ref, rx_ref;
	evtchn_port_t tx_evtchn, rx_evtchn;  /* guest ports; equal: one channel; 0: don't bind */
	/* restore: claim these backend ports (equal: one channel) instead */
	evtchn_port_t tx_reattach, rx_reattach;
};

/* What the frontend asked for (its feature-* nodes). */
struct nb_features {
	bool sg, gso_tcpv4, gso_tcpv6, csum, ipv6_csum;
};

struct netback {
	struct xen_domain *dom;
	struct event_loop *loop;
	struct xs_store *store;
	struct xenbus_backend xb;           /* its xenbus state machine */
	struct event_notifier *rx_flush;    /* NULL: push each frame at once */
	bool rx_flush_armed;
	unsigned int domid, devid;
	uint8_t mac[6];

	int (*tx)(void *opaque, const struct iovec *iov, int iovcnt,
		  const struct net_pkt_meta *meta);
	void (*rx_ready)(void *opaque);
	void *opaque;

	unsigned int max_queues, nr_queues;
	struct nb_features fe;
	bool rx_waiting;               /* netback_rx() said -EAGAIN */
	struct nb_queue queues[NB_MAX_QUEUES];
	uint8_t *txbuf, *rxbuf;        /* NET_PKT_MAX_FRAME each */
	struct netback_stats stats;
};

/* ---- queue.c --------------------------------------------------------------- */

/* Maps both ring pages and binds the event channel(s).  0 or -errno. */
int nb_queue_connect(struct nb_queue *q, const struct nb_queue_config *c);
/* Pushes what is written, unbinds, unmaps.  Idempotent. */
void nb_queue_disconnect(struct nb_queue *q);
/* The frontend broke the protocol: the queue stops, the device closes. */
void nb_queue_fatal(struct nb_queue *q, const char *why, uint32_t a, uint32_t b);
/* Shared ring header words (ring.h): req_prod, req_event, rsp_prod, rsp_event. */
enum { NB_REQ_PROD, NB_REQ_EVENT, NB_RSP_PROD, NB_RSP_EVENT };
volatile uint32_t *nb_ring_idx(const struct gnttab_mapping *page, unsigned int which);
/* Publishes responses up to prod; notifies `port` if rsp_event asks. */
void nb_ring_push(struct netback *nb, const struct gnttab_mapping *page, uint32_t prod,
		  evtchn_port_t port);

/* The device without XenStore or event loop (tests, fuzzer). */
int nb_dev_init(struct netback *nb, struct xen_domain *dom);
void nb_dev_fini(struct netback *nb);

/* ---- tx.c: guest -> host ---------------------------------------------------- */

/* Consumes frames (up to a budget, then re-kicks), answers, final check. */
void nb_tx_process(struct nb_queue *q);

/* ---- rx.c: host -> guest ---------------------------------------------------- */

/* The frontend may have posted rx buffers: wake a waiting endpoint. */
void nb_rx_kicked(struct nb_queue *q);
/* Publishes the rx responses written since the last push, every queue. */
void nb_rx_flush(struct netback *nb);

#endif
