/*
 * libFuzzer harness: the netback tx ring consumer against a fuzzed
 * netfront, and (input permitting) the rx path filling a fuzzed rx ring.
 * The input sets the grant entries of the data pages (valid, read-only,
 * foreign, missing, outside RAM), the tx ring contents and indices (whole
 * ring pages, or with mode bit 7 only the first N slots), the
 * data, the frontend's features and a few host frames with arbitrary
 * offload metadata.  After each run: every consumed tx slot was answered
 * unless the queue was declared dead, frames handed to the host were
 * within bounds with sane metadata, every grant mapping is given back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_guest.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/net_pkt.h"
#include "../../xen-compat/netback/netback_priv.h"

#define TXR_GPA   0x100000ull
#define RXR_GPA   0x101000ull
#define DATA_GPA  0x200000ull
#define NR_DATA   32u
#define TXR_REF   1u
#define RXR_REF   2u
#define DATA_REF  16u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct netback NB;
static bool ready;
static uint64_t sink;

/* The host endpoint: reads every byte (ASan sees overruns), checks meta. */
static int fuzz_tx(void *opaque, const struct iovec *iov, int iovcnt,
		   const struct net_pkt_meta *m)
{
	size_t len = 0;

	(void)opaque;
	for (int i = 0; i < iovcnt; i++) {
		for (size_t j = 0; j < iov[i].iov_len; j++)
			sink += ((const uint8_t *)iov[i].iov_base)[j];
		len += iov[i].iov_len;
	}
	if (len < 14 || len > 65535)
		abort();
	if ((m->flags & NET_PKT_CSUM_PARTIAL) &&
	    (size_t)m->csum_start + m->csum_offset + 2 > len)
		abort();
	if (m->gso_type != NET_PKT_GSO_NONE &&
	    (!(m->flags & NET_PKT_CSUM_PARTIAL) || !m->gso_size || !m->hdr_len || m->hdr_len > len))
		abort();
	return 0;
}

static void init_once(void)
{
	fuzz_guest_init();
	if (nb_dev_init(&NB, F.d))
		abort();
	NB.tx = fuzz_tx;
	ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[NET_PKT_MAX_FRAME];
	struct cursor c = { data, size };
	struct nb_queue_config cfg = { .tx_ref = TXR_REF, .rx_ref = RXR_REF };
	struct nb_queue *q = &NB.queues[0];
	uint8_t mode, feat, gflags, *txr, *rxr;

	if (!ready)
		init_once();
	mode = take8(&c);
	feat = take8(&c);
	NB.fe = (struct nb_features){ .sg = feat & 1, .gso_tcpv4 = feat & 2, .gso_tcpv6 = feat & 4,
				      .csum = feat & 8, .ipv6_csum = feat & 16 };
	NB.xb.fatal = false;
	NB.rx_waiting = false;
	NB.nr_queues = 1;

	grant(TXR_REF, 0, GTF_permit_access, (uint32_t)(TXR_GPA / 4096));
	grant(RXR_REF, 0, mode & 0x40 ? GTF_permit_access | GTF_readonly : GTF_permit_access,
	      (uint32_t)(RXR_GPA / 4096));
	for (unsigned int i = 0; i < NR_DATA; i++) {
		gflags = take8(&c);
		grant(DATA_REF + i, gflags & 0x40 ? 3 : 0,
		      (gflags & 3) == 3 ? 0 : GTF_permit_access | ((gflags & 3) == 1 ? GTF_readonly : 0),
		      gflags & 0x80 ? 0xfffff : (uint32_t)(DATA_GPA / 4096) + i);
	}
	txr = xen_fake_gpa(&F, TXR_GPA);
	rxr = xen_fake_gpa(&F, RXR_GPA);
	if (mode & 0x80) {
		/* Compact rings: a count, then only that many slots from the
		 * input (the rest zero), so mutations land on the slots the
		 * backend reads (chains of extras, fragments) and not on a
		 * 3 KiB page of which it reads a few entries. */
		size_t ntx = take8(&c) % 64, nrx = take8(&c) % 64;

		memset(txr, 0, NB_SRING_HDR + NB_RING_SIZE * NB_TX_ENTRY);
		memset(rxr, 0, NB_SRING_HDR + NB_RING_SIZE * NB_RX_ENTRY);
		take(&c, txr + NB_SRING_HDR, ntx * NB_TX_ENTRY);
		take(&c, rxr + NB_SRING_HDR, nrx * NB_RX_ENTRY);
	} else {
		take(&c, txr, NB_SRING_HDR + NB_RING_SIZE * NB_TX_ENTRY);
		take(&c, rxr, NB_SRING_HDR + NB_RING_SIZE * NB_RX_ENTRY);
	}
	for (unsigned int i = 0; i < 4; i++)
		take(&c, xen_fake_gpa(&F, DATA_GPA + i * 4096ull), 256);

	if (nb_queue_connect(q, &cfg) == 0) {
		for (int round = 0; round < 4 && c.left; round++) {
			uint32_t prod = take32(&c);
			uint8_t op = take8(&c);

			if (op & 1)
				prod = q->tx_req_cons + (prod % 48);
			__atomic_store_n((uint32_t *)txr, prod, __ATOMIC_RELEASE);
			nb_tx_process(q);
			if ((uint32_t)(q->tx_req_cons - q->tx_rsp_prod_pvt) > NB_RING_SIZE)
				abort();
			if (!q->dead && q->tx_req_cons != q->tx_rsp_prod_pvt)
				abort();   /* a consumed slot left unanswered */
			if (op & 2) {
				/* a host frame for the guest with arbitrary metadata */
				struct net_pkt_meta m;
				struct iovec iov[2];
				size_t len = take16(&c) % 20000;
				int rc;

				take(&c, &m, sizeof(m));
				take(&c, frame, len < 128 ? len : 128);
				memset(frame + (len < 128 ? len : 128), 0x5a,
				       len > 128 ? len - 128 : 0);
				if (op & 8)
					m = (struct net_pkt_meta){ .flags = NET_PKT_CSUM_PARTIAL,
								   .gso_type = (uint8_t)(op >> 6),
								   .gso_size = m.gso_size,
								   .hdr_len = m.hdr_len,
								   .csum_start = 34, .csum_offset = 16 };
				__atomic_store_n((uint32_t *)rxr, q->rx_req_cons + take8(&c),
						 __ATOMIC_RELEASE);
				iov[0] = (struct iovec){ frame, len / 2 };
				iov[1] = (struct iovec){ frame + len / 2, len - len / 2 };
				rc = netback_rx(&NB, iov, op & 4 ? 2 : 1, &m);
				if (rc && rc != -EAGAIN)
					abort();
				if ((uint32_t)(q->rx_req_cons - q->rx_rsp_prod_pvt) != 0 && !q->dead)
					abort();   /* rx: one response per consumed request */
			}
			/* the guest scribbles over the ring meanwhile */
			take(&c, txr + NB_SRING_HDR, take8(&c));
		}
		nb_queue_disconnect(q);
	}
	NB.nr_queues = 0;
	if (F.d->gnttab.nr_maps != 0 || evtchn_backend_nr_open(F.d) != 0)
		abort();
	return 0;
}
