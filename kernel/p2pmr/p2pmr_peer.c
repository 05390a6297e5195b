// SPDX-License-Identifier: GPL-2.0
/*
 * The peer-memory client: p2pmr's face to the OFED RDMA core.
 *
 * On kernels whose ib_core exports the peer-memory API (MLNX_OFED,
 * DOCA-OFED), ib_umem_get() asks registered clients about any user range
 * it could not pin.  This client claims ranges inside a writable shared
 * mapping of a PCI memory BAR's sysfs resource file, so plain
 * ibv_reg_mr() on such a mapping works with no userspace change.  It
 * shares everything that matters with the dma-buf face: the BAR lookup
 * and access checks of export-by-address (p2pmr_resource.c), the P2P
 * decision for the HCA's DMA device (p2pmr_p2p.c), the scatterlist of
 * bus or IOMMU addresses (p2pmr_sgt_fill()) and revocation on unbind or
 * removal (p2pmr_revoke.c), so an HCA gets the same addresses either way
 * and loses them at the same moment.
 *
 * One registration (struct p2pmr_peer_reg) lives from acquire() to
 * release().  The core calls, for one MR: acquire, get_pages, dma_map,
 * ..., dma_unmap, put_pages, release.  Each registration holds a
 * reference on the BAR's device and on this module.
 *
 * Invalidation.  The client registers as a struct peer_memory_client_ex
 * with PEER_MEM_INVALIDATE_UNMAPS: when the device is unbound or removed
 * it calls the core's invalidate callback for each live registration of
 * the device; when that returns the HCA no longer accesses the range,
 * and the client undoes the DMA mapping itself.  A core that ignores the
 * flag calls dma_unmap() and put_pages() from within the callback
 * instead; then there is nothing left to undo.  Only then does the
 * notifier let the PCI core go on and release the BAR.  release() still
 * comes later, from the MR's deregistration.
 *
 * Locking.  The core calls get_pages() and dma_map() with a lock of its
 * own held (its mapping_lock), which its invalidate callback takes.  So
 * nothing of p2pmr is held across the callback: reg->lock guards the
 * registration's state and is only ever taken briefly, inside the core's
 * calls and around the callback, never across it.  dma_unmap() and
 * put_pages() may come from the core after the client has undone the
 * mapping itself, or concurrently with it; they undo only what is still
 * done.  p2pmr_exports_lock guards the list of registrations, as it
 * guards the list of exports, and orders publication against the
 * removal notifier (the presence rule in p2pmr_resource.c).
 */
#define pr_fmt(fmt) "p2pmr: " fmt

#include <linux/device.h>
#include <linux/kref.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <rdma/peer_mem.h>

#include "p2pmr.h"

/* OFED before 5.1 passed core_context as a void *. */
#ifndef PEER_MEM_U64_CORE_CONTEXT
#error "p2pmr's peer-memory client needs the OFED 5.1+ peer-memory ABI (u64 core_context); build with P2PMR_PEER_MEM=n"
#endif

#define P2PMR_PEER_NAME		"p2pmr"
#define P2PMR_PEER_VERSION	"1.0"

static bool peer_client;
module_param(peer_client, bool, 0444);
MODULE_PARM_DESC(peer_client,
		 "Registered as a peer-memory client of the RDMA core (read-only)");

/**
 * struct p2pmr_peer_reg - one range the RDMA core acquired from p2pmr
 * @kref: the core holds one from acquire() to release(), revocation one
 *	while it works on the registration
 * @node: entry in p2pmr_peer_regs, under p2pmr_exports_lock
 * @id: number for logs and debugfs
 * @pdev: the BAR's device (reference held)
 * @bar: BAR number
 * @offset: offset of the page-aligned range in the BAR
 * @length: length of the page-aligned range
 * @bar_start: CPU physical start of the BAR at acquire(); if the BAR
 *	moves, mappings are refused
 * @lock: guards the fields below; never held across the core's
 *	invalidate callback
 * @revoked: the device was unbound or removed: no new pages or mappings
 * @invalidated: the core's invalidate callback was called for it before
 *	release()
 * @released: release() was called (revocation may still hold a kref)
 * @pinned: between get_pages() and put_pages()
 * @core_context: the core's name for the range, from get_pages()
 * @mapped: between dma_map() and dma_unmap()
 * @sgt: the table dma_map() filled (the core's copy may be cleared
 *	before the client undoes it)
 * @dma_dev: the device it was mapped for (reference held while mapped)
 * @path: the P2P path it was mapped by
 */
struct p2pmr_peer_reg {
	struct kref kref;
	struct list_head node;
	u64 id;
	struct pci_dev *pdev;
	unsigned int bar;
	u64 offset;
	u64 length;
	resource_size_t bar_start;

	struct mutex lock;
	bool revoked;
	bool invalidated;
	bool released;
	bool pinned;
	u64 core_context;
	bool mapped;
	struct sg_table sgt;
	struct device *dma_dev;
	enum p2pmr_p2p_path path;
};

static LIST_HEAD(p2pmr_peer_regs);
static atomic64_t p2pmr_peer_last_id = ATOMIC64_INIT(0);

static void *p2pmr_peer_handle;
static invalidate_peer_memory p2pmr_peer_invalidate;

static void p2pmr_peer_reg_free(struct kref *kref)
{
	struct p2pmr_peer_reg *reg = container_of(kref, struct p2pmr_peer_reg,
						  kref);

	mutex_destroy(&reg->lock);
	p2pmr_device_put(reg->pdev);
	kfree(reg);
	module_put(THIS_MODULE);
}

static void p2pmr_peer_reg_put(struct p2pmr_peer_reg *reg)
{
	kref_put(&reg->kref, p2pmr_peer_reg_free);
}

/*
 * The same checks as EXPORT_VA, on the user's range rounded out to pages:
 * a writable shared mapping of a memory BAR's resource file, mapping it
 * contiguously, not claimed by a driver.  Ranges that are not BAR
 * mappings at all are declined without a word: the core asks about every
 * range it could not pin.
 */
static int p2pmr_peer_acquire(unsigned long addr, size_t size,
			      void *peer_mem_private_data, char *peer_mem_name,
			      void **client_context)
{
	struct p2pmr_peer_reg *reg;
	struct p2pmr_resource res;
	u64 start, end, offset;
	struct pci_dev *pdev;
	int ret;

	if (!size || check_add_overflow((u64)addr, (u64)size, &end) ||
	    end > ULONG_MAX - PAGE_SIZE)
		return 0;
	start = ALIGN_DOWN(addr, PAGE_SIZE);
	end = ALIGN(end, PAGE_SIZE);

	ret = p2pmr_resource_from_va(start, end - start, P2PMR_VA_QUIET, &res,
				     &offset);
	if (ret)
		return 0;
	ret = p2pmr_resource_check_access(&res, offset, end - start);
	if (ret)
		goto out_put_res;

	pdev = p2pmr_device_get(res.pdev);
	if (IS_ERR(pdev)) {
		ret = PTR_ERR(pdev);
		goto out_put_res;
	}
	reg = kzalloc(sizeof(*reg), GFP_KERNEL_ACCOUNT);
	if (!reg) {
		p2pmr_device_put(pdev);
		ret = -ENOMEM;
		goto out_put_res;
	}
	/* Executing here, the module is live; release() drops this. */
	__module_get(THIS_MODULE);
	kref_init(&reg->kref);
	INIT_LIST_HEAD(&reg->node);
	mutex_init(&reg->lock);
	reg->id = atomic64_inc_return(&p2pmr_peer_last_id);
	reg->pdev = pdev;
	reg->bar = res.bar;
	reg->offset = offset;
	reg->length = end - start;
	reg->bar_start = pci_resource_start(res.pdev, res.bar);

	ret = p2pmr_resource_publish(&res, &reg->node, &p2pmr_peer_regs);
	if (ret) {
		p2pmr_peer_reg_put(reg);
		goto out_put_res;
	}
	atomic_long_inc(&p2pmr_stats.peer_regs);
	p2pmr_resource_put(&res);
	*client_context = reg;
	return 1;

out_put_res:
	p2pmr_resource_put(&res);
	return ret;
}

static int p2pmr_peer_get_pages(unsigned long addr, size_t size, int write,
				int force, struct sg_table *sg_head,
				void *client_context, u64 core_context)
{
	struct p2pmr_peer_reg *reg = client_context;
	int ret = 0;

	mutex_lock(&reg->lock);
	if (reg->revoked) {
		p2pmr_refuse("%s BAR%u is going away: peer registration %llu refused\n",
			     pci_name(reg->pdev), reg->bar, reg->id);
		ret = -ENODEV;
	} else if (WARN_ON_ONCE(reg->pinned)) {
		ret = -EBUSY;
	} else {
		reg->pinned = true;
		reg->core_context = core_context;
		atomic_long_inc(&p2pmr_stats.peer_pages);
	}
	mutex_unlock(&reg->lock);
	return ret;
}

static int p2pmr_peer_dma_map(struct sg_table *sg_head, void *client_context,
			      struct device *dma_device, int dmasync,
			      int *nmap)
{
	struct p2pmr_peer_reg *reg = client_context;
	struct p2pmr_p2p_decision d;
	int ret;

	mutex_lock(&reg->lock);
	if (reg->revoked) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if (WARN_ON_ONCE(!reg->pinned || reg->mapped)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	/* Revocation comes before the PCI core releases the BAR. */
	ret = p2pmr_range_usable(reg->pdev, reg->bar, reg->bar_start,
				 reg->offset, reg->length,
				 "a peer-memory DMA mapping");
	if (ret)
		goto out_unlock;
	p2pmr_p2p_decide(reg->pdev, dma_device, true, &d);
	if (d.path == P2PMR_PATH_REFUSED) {
		ret = -EREMOTEIO;
		goto out_unlock;
	}
	ret = p2pmr_sgt_fill(sg_head, reg->pdev, reg->bar, reg->offset,
			     reg->length, d.path, dma_device,
			     DMA_BIDIRECTIONAL);
	if (ret)
		goto out_unlock;

	reg->sgt = *sg_head;
	reg->dma_dev = get_device(dma_device);
	reg->path = d.path;
	reg->mapped = true;
	*nmap = sg_head->nents;
	atomic_long_inc(&p2pmr_stats.peer_mappings);
out_unlock:
	mutex_unlock(&reg->lock);
	return ret;
}

/* Undo dma_map() if it is still done; reg->lock held. */
static void p2pmr_peer_unmap_locked(struct p2pmr_peer_reg *reg)
{
	lockdep_assert_held(&reg->lock);

	if (!reg->mapped)
		return;
	p2pmr_sgt_unmap(&reg->sgt, reg->path, reg->dma_dev,
			DMA_BIDIRECTIONAL);
	put_device(reg->dma_dev);
	reg->dma_dev = NULL;
	reg->mapped = false;
	atomic_long_dec(&p2pmr_stats.peer_mappings);
}

/* Undo get_pages() if it is still done, freeing the table; lock held. */
static void p2pmr_peer_unpin_locked(struct p2pmr_peer_reg *reg)
{
	lockdep_assert_held(&reg->lock);

	if (!reg->pinned)
		return;
	p2pmr_sgt_free(&reg->sgt);
	reg->pinned = false;
	atomic_long_dec(&p2pmr_stats.peer_pages);
}

static int p2pmr_peer_dma_unmap(struct sg_table *sg_head, void *client_context,
				struct device *dma_device)
{
	struct p2pmr_peer_reg *reg = client_context;

	mutex_lock(&reg->lock);
	p2pmr_peer_unmap_locked(reg);
	mutex_unlock(&reg->lock);
	return 0;
}

static void p2pmr_peer_put_pages(struct sg_table *sg_head,
				 void *client_context)
{
	struct p2pmr_peer_reg *reg = client_context;

	mutex_lock(&reg->lock);
	/* The core may call this without dma_unmap() after a failed map. */
	p2pmr_peer_unmap_locked(reg);
	p2pmr_peer_unpin_locked(reg);
	mutex_unlock(&reg->lock);
}

/*
 * The entries start and end on PAGE_SIZE boundaries of the range the user
 * asked for, rounded out to pages; contiguity is expressed by coalescing
 * (entries of up to 4 GiB), not by a larger page size, so the core has
 * nothing to trim.
 */
static unsigned long p2pmr_peer_get_page_size(void *client_context)
{
	return PAGE_SIZE;
}

static void p2pmr_peer_release(void *client_context)
{
	struct p2pmr_peer_reg *reg = client_context;

	mutex_lock(&p2pmr_exports_lock);
	list_del_init(&reg->node);
	mutex_unlock(&p2pmr_exports_lock);

	mutex_lock(&reg->lock);
	/* The core undoes get_pages() and dma_map() before release(). */
	WARN_ON_ONCE(reg->pinned || reg->mapped);
	reg->released = true;
	if (reg->invalidated)
		atomic_long_dec(&p2pmr_stats.peer_invalidated);
	mutex_unlock(&reg->lock);
	atomic_long_dec(&p2pmr_stats.peer_regs);
	p2pmr_peer_reg_put(reg);
}

static struct peer_memory_client_ex p2pmr_peer_client = {
	.client = {
		.name = P2PMR_PEER_NAME,
		.version = P2PMR_PEER_VERSION,
		.acquire = p2pmr_peer_acquire,
		.get_pages = p2pmr_peer_get_pages,
		.dma_map = p2pmr_peer_dma_map,
		.dma_unmap = p2pmr_peer_dma_unmap,
		.put_pages = p2pmr_peer_put_pages,
		.get_page_size = p2pmr_peer_get_page_size,
		.release = p2pmr_peer_release,
	},
	.ex_size = sizeof(struct peer_memory_client_ex),
	.flags = PEER_MEM_INVALIDATE_UNMAPS,
};

/*
 * Take @reg away from the RDMA core for good: no new pages or mappings,
 * the core's callback stops the HCA (it waits for a registration the core
 * is still setting up), then the mapping is undone here, as
 * PEER_MEM_INVALIDATE_UNMAPS promises.  Return: true if it was live.
 */
static bool p2pmr_peer_invalidate_reg(struct p2pmr_peer_reg *reg)
{
	bool pinned;
	u64 core_context;

	mutex_lock(&reg->lock);
	if (reg->revoked) {
		mutex_unlock(&reg->lock);
		return false;
	}
	WRITE_ONCE(reg->revoked, true);
	pinned = reg->pinned;
	core_context = reg->core_context;
	mutex_unlock(&reg->lock);

	if (!pinned)
		return true;

	p2pmr_peer_invalidate(p2pmr_peer_handle, core_context);

	mutex_lock(&reg->lock);
	/* A deregistration may have overtaken the callback. */
	if (!reg->released) {
		reg->invalidated = true;
		atomic_long_inc(&p2pmr_stats.peer_invalidated);
	}
	p2pmr_peer_unmap_locked(reg);
	p2pmr_peer_unpin_locked(reg);
	mutex_unlock(&reg->lock);
	return true;
}

/* A registration of @pdev not yet revoked, with a reference, or NULL. */
static struct p2pmr_peer_reg *p2pmr_peer_find_live(struct pci_dev *pdev)
{
	struct p2pmr_peer_reg *reg;

	mutex_lock(&p2pmr_exports_lock);
	list_for_each_entry(reg, &p2pmr_peer_regs, node) {
		if (reg->pdev == pdev && !READ_ONCE(reg->revoked)) {
			kref_get(&reg->kref);
			mutex_unlock(&p2pmr_exports_lock);
			return reg;
		}
	}
	mutex_unlock(&p2pmr_exports_lock);
	return NULL;
}

/**
 * p2pmr_peer_revoke() - invalidate every peer registration of a device
 * @pdev: the device being unbound, rebound or removed
 * @what: the event, for the log
 *
 * Returns once the HCA no longer accesses any of them and their DMA
 * mappings are undone.  Called from the PCI bus notifier with no p2pmr
 * lock held: the core's callback may wait for a registration in the
 * middle of get_pages() or dma_map().
 */
void p2pmr_peer_revoke(struct pci_dev *pdev, const char *what)
{
	struct p2pmr_peer_reg *reg;
	unsigned int n = 0;

	while ((reg = p2pmr_peer_find_live(pdev))) {
		if (p2pmr_peer_invalidate_reg(reg))
			n++;
		p2pmr_peer_reg_put(reg);
	}
	if (n)
		pci_info(pdev, "p2pmr: %s: invalidated %u peer-memory registration(s)\n",
			 what, n);
}

/**
 * p2pmr_peer_show() - list peer registrations, for debugfs
 * @m: the seq_file
 */
void p2pmr_peer_show(struct seq_file *m)
{
	struct p2pmr_peer_reg *reg;

	mutex_lock(&p2pmr_exports_lock);
	list_for_each_entry(reg, &p2pmr_peer_regs, node) {
		mutex_lock(&reg->lock);
		seq_printf(m, "peer %llu dev %s bar %u offset %#llx length %#llx pinned %d mapped %d revoked %d invalidated %d",
			   reg->id, pci_name(reg->pdev), reg->bar, reg->offset,
			   reg->length, reg->pinned, reg->mapped, reg->revoked,
			   reg->invalidated);
		if (reg->mapped)
			seq_printf(m, " importer %s path %s nents %u",
				   dev_name(reg->dma_dev),
				   p2pmr_p2p_path_name(reg->path),
				   reg->sgt.nents);
		seq_putc(m, '\n');
		mutex_unlock(&reg->lock);
	}
	mutex_unlock(&p2pmr_exports_lock);
}

/**
 * p2pmr_peer_init() - register with the RDMA core as a peer-memory client
 *
 * A failure is logged and leaves the dma-buf face working; the read-only
 * module parameter peer_client says which it was.
 */
void p2pmr_peer_init(void)
{
	/* Marks the client as a struct peer_memory_client_ex. */
	p2pmr_peer_client.client.version[IB_PEER_MEMORY_VER_MAX - 1] = 1;
	p2pmr_peer_handle =
		ib_register_peer_memory_client(&p2pmr_peer_client.client,
					       &p2pmr_peer_invalidate);
	if (!p2pmr_peer_handle) {
		pr_warn("the RDMA core refused the peer-memory client: plain ibv_reg_mr() on BAR mappings will fail, dma-buf export still works\n");
		return;
	}
	peer_client = true;
	pr_info("registered as peer-memory client \"%s\": ibv_reg_mr() accepts BAR mappings\n",
		P2PMR_PEER_NAME);
}

/**
 * p2pmr_peer_exit() - unregister the peer-memory client
 *
 * No registration is left: each holds a module reference.
 */
void p2pmr_peer_exit(void)
{
	if (p2pmr_peer_handle)
		ib_unregister_peer_memory_client(p2pmr_peer_handle);
	p2pmr_peer_handle = NULL;
	peer_client = false;
}
