/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The RDMA-core side of the peer-memory API, as the p2pmr testbed's
 * peer_mem_host.ko provides it to the patched soft-RoCE driver: what
 * OFED's ib_umem_get() does when pin_user_pages() refuses a range
 * (ib_peer_umem_get()), and its invalidation notifier.  Test-only.
 *
 * A driver looks the operations up with symbol_get(peer_mem_host_ops), so
 * that it loads without the host, and calls them in OFED's order:
 *
 *   umem = ops->umem_get(...)			after its own pin failed
 *   ops->activate_invalidation_notifier(umem, fn, priv)
 *						once it can take an
 *						invalidation; until then
 *						an invalidation waits
 *   ...					fn(umem, priv) may come:
 *						stop all access to the
 *						range before returning
 *   ops->stop_invalidation_notifier(umem)	at deregistration
 *   ops->umem_release(umem)
 */
#ifndef RDMA_PEER_MEM_HOST_H
#define RDMA_PEER_MEM_HOST_H

#include <linux/device.h>
#include <linux/scatterlist.h>
#include <linux/types.h>

/**
 * struct peer_mem_umem - a user range a peer-memory client provides
 * @address: start of the range, as the user gave it
 * @length: its length
 * @writable: the MR may be written
 * @dma_device: the device the client DMA-mapped it for
 * @sgt: the client's DMA-mapped entries (sgt.nents of them); they
 *	cover @address rounded down to the client's page size up to
 *	@address + @length rounded up
 */
struct peer_mem_umem {
	unsigned long address;
	size_t length;
	bool writable;
	struct device *dma_device;
	struct sg_table sgt;
};

typedef void (*peer_mem_umem_invalidate_fn)(struct peer_mem_umem *umem,
					    void *priv);

/**
 * struct peer_mem_host_ops - the host's entry points
 * @umem_get: ask the registered clients for [@addr, @addr + @size);
 *	@pin_err is the error of the driver's own pin, returned when no
 *	client claims the range
 * @activate_invalidation_notifier: let invalidations reach @fn
 * @stop_invalidation_notifier: no more invalidations; unmaps the range
 * @umem_release: gives the range back to its client
 */
struct peer_mem_host_ops {
	struct peer_mem_umem *(*umem_get)(struct device *dma_device,
					  unsigned long addr, size_t size,
					  bool writable, int pin_err);
	void (*activate_invalidation_notifier)(struct peer_mem_umem *umem,
					       peer_mem_umem_invalidate_fn fn,
					       void *priv);
	void (*stop_invalidation_notifier)(struct peer_mem_umem *umem);
	void (*umem_release)(struct peer_mem_umem *umem);
};

extern const struct peer_mem_host_ops peer_mem_host_ops;

#endif /* RDMA_PEER_MEM_HOST_H */
