// SPDX-License-Identifier: GPL-2.0
/*
 * The dma-buf p2pmr exports: one range of one memory BAR.
 *
 * Importers reach the range by DMA (attach, map) and the CPU by mmap() of
 * the dma-buf or vmap().  There are no struct pages behind a BAR, so the
 * scatterlists carry DMA addresses only, and CPU mappings are PFN maps
 * filled at fault time.
 *
 * Revocation: when the BAR's device loses or gains its driver or goes
 * away, p2pmr_export_revoke() sets @revoked, tells importers to unmap
 * (dma_buf_invalidate_mappings()) and zaps CPU mappings.  From then on
 * attach, pin, map, mmap, vmap and faults fail.  Importers that pinned the
 * dma-buf, and kernel vmaps, cannot be revoked; p2pmr_revoke.c waits for
 * them to let go.  The export itself lives on until its dma-buf is
 * released, holding a reference on the pci_dev so that it never touches
 * freed memory, and never the device.
 *
 * Locking, outermost first:
 *
 *   watch table->lock	a WATCH_VA or UNWATCH (p2pmr_watch.c)
 *   p2pmr_exports_lock	the list of live exports; never held across
 *				an importer's move_notify or a fence wait
 *   mmap_lock		held by the mm around mmap, fault, VMA
 *				open/close; EXPORT_VA holds it for reading
 *				while it creates an export
 *   dmabuf->resv		held by the dma-buf core around pin, unpin,
 *				map_dma_buf and unmap_dma_buf (p2pmr is a
 *				dynamic exporter), and by 6.2+ around vmap
 *   dmabuf->lock		held by the 6.1 core around vmap and vunmap
 *   export->lock		attachments, watches, vmap and CPU mapping
 *				state
 *
 * @revoked is written once, with dmabuf->resv and export->lock both
 * held, so map, pin, vmap, mmap and faults read it under the lock they
 * already hold; readers under p2pmr_exports_lock alone only use it to
 * skip work and read it with READ_ONCE().
 */
#define pr_fmt(fmt) "p2pmr: " fmt

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/io.h>
#include <linux/kernfs.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "p2pmr.h"

/* Longest scatterlist entry: sg_dma_len() is an unsigned int. */
#define P2PMR_MAX_SEG_LEN	ALIGN_DOWN(UINT_MAX, PAGE_SIZE)

/* Pages a CPU fault maps beyond the faulting one, within the VMA. */
#define P2PMR_FAULT_AHEAD	31

/* Live exports, for the revocation notifier and debugfs. */
DEFINE_MUTEX(p2pmr_exports_lock);
LIST_HEAD(p2pmr_exports);

static atomic64_t p2pmr_last_export_id = ATOMIC64_INIT(0);

static const struct dma_buf_ops p2pmr_dmabuf_ops;

/*
 * The kernel mapping of the first vmap is kept until the export is
 * revoked or released, not dropped with the last vmap: an importer that
 * vmaps per registration (soft-RoCE) would otherwise ioremap, and flush
 * every CPU's TLB to iounmap, the whole dma-buf for each MR of a kept
 * export (libp2pmr keeps one per BAR mapping).  A revocation drops it
 * once no vmap is left (the last vunmap does, if one was), so that
 * nothing of the export, a write-combining memtype included, stays on a
 * BAR that a driver may take next.  Caller holds @exp->lock.
 */
static void p2pmr_export_drop_kmap(struct p2pmr_export *exp)
{
	if (exp->vaddr && !atomic_read(&exp->nr_vmaps)) {
		iounmap(exp->vaddr);
		exp->vaddr = NULL;
	}
}

static void p2pmr_export_free(struct kref *kref)
{
	struct p2pmr_export *exp = container_of(kref, struct p2pmr_export,
						kref);

	mutex_destroy(&exp->lock);
	kernfs_put(exp->kn);
	p2pmr_device_put(exp->pdev);
	kfree(exp);
}

/**
 * p2pmr_export_put() - drop a reference on an export
 * @exp: the export
 */
void p2pmr_export_put(struct p2pmr_export *exp)
{
	kref_put(&exp->kref, p2pmr_export_free);
}

/**
 * p2pmr_export_from_dmabuf() - the export behind a dma-buf
 * @dmabuf: any dma-buf
 *
 * Return: the export, or NULL if @dmabuf is not a p2pmr dma-buf.  The
 * caller's reference on @dmabuf keeps the export alive.
 */
struct p2pmr_export *p2pmr_export_from_dmabuf(struct dma_buf *dmabuf)
{
	return dmabuf->ops == &p2pmr_dmabuf_ops ? dmabuf->priv : NULL;
}

static int p2pmr_dmabuf_attach(struct dma_buf *dmabuf,
			       struct dma_buf_attachment *attach)
{
	struct p2pmr_export *exp = dmabuf->priv;
	struct p2pmr_attachment *pa;
	struct p2pmr_p2p_decision d;
	bool revoked;

	mutex_lock(&exp->lock);
	revoked = exp->revoked;
	mutex_unlock(&exp->lock);
	if (revoked)
		goto revoked;

	if (!attach->peer2peer) {
		pr_warn_ratelimited("importer %s does not accept peer-to-peer memory (allow_peer2peer): export %llu of %s refused\n",
				    dev_name(attach->dev), exp->id,
				    pci_name(exp->pdev));
		return -EOPNOTSUPP;
	}

	p2pmr_p2p_decide(exp->pdev, attach->dev, true, &d);
	if (d.path == P2PMR_PATH_REFUSED)
		return -EREMOTEIO;

	pa = kzalloc(sizeof(*pa), GFP_KERNEL);
	if (!pa)
		return -ENOMEM;
	pa->attach = attach;
	pa->decision = d;

	mutex_lock(&exp->lock);
	if (exp->revoked) {
		mutex_unlock(&exp->lock);
		kfree(pa);
		goto revoked;
	}
	list_add_tail(&pa->node, &exp->attachments);
	attach->priv = pa;
	mutex_unlock(&exp->lock);

	atomic_long_inc(&p2pmr_stats.attachments);
	return 0;

revoked:
	p2pmr_refuse("export %llu of %s was revoked: importer %s cannot attach\n",
		     exp->id, pci_name(exp->pdev), dev_name(attach->dev));
	return -ENODEV;
}

/*
 * Drop @maps mappings and @pins pins from the export's counts, under
 * exp->lock: p2pmr_dmabuf_vmap() admits a vmap of a revoked export only
 * while a mapping or pin is held, and must see the count and take its
 * vmap before the count can reach zero and a waiting revocation go on.
 */
static void p2pmr_export_drop_holds(struct p2pmr_export *exp,
				    unsigned int maps, unsigned int pins)
{
	mutex_lock(&exp->lock);
	atomic_sub(maps, &exp->nr_maps);
	atomic_sub(pins, &exp->nr_pins);
	mutex_unlock(&exp->lock);
	atomic_long_sub(maps, &p2pmr_stats.mappings);
	atomic_long_sub(pins, &p2pmr_stats.pins);
	wake_up_all(&exp->wq);
}

static void p2pmr_dmabuf_detach(struct dma_buf *dmabuf,
				struct dma_buf_attachment *attach)
{
	struct p2pmr_export *exp = dmabuf->priv;
	struct p2pmr_attachment *pa = attach->priv;

	mutex_lock(&exp->lock);
	list_del(&pa->node);
	mutex_unlock(&exp->lock);

	/*
	 * dma_buf_detach() has undone a mapping the core cached; anything
	 * else still mapped or pinned is an importer bug.  Drop it from the
	 * counts so that a revocation waiting for it is not stuck forever.
	 */
	if (WARN_ONCE(pa->nr_maps || pa->nr_pins,
		      "p2pmr: importer %s detached with %u mapping(s) and %u pin(s)\n",
		      dev_name(attach->dev), pa->nr_maps, pa->nr_pins))
		p2pmr_export_drop_holds(exp, pa->nr_maps, pa->nr_pins);
	kfree(pa);
	attach->priv = NULL;
	atomic_long_dec(&p2pmr_stats.attachments);
}

/*
 * An importer that pins cannot be revoked: unbind and hot removal wait
 * for it (p2pmr_revoke.c) for as long as its owner likes.  refuse_pinned
 * lets the administrator refuse such importers instead, which only means
 * something where the core leaves pinning to the importers: without
 * CONFIG_DMABUF_MOVE_NOTIFY it pins every importer's mapping itself.
 */
static bool refuse_pinned;

static int p2pmr_refuse_pinned_set(const char *val,
				   const struct kernel_param *kp)
{
	bool on;
	int ret;

	ret = kstrtobool(val, &on);
	if (ret)
		return ret;
	if (on && !IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY)) {
		pr_warn("refuse_pinned=1 needs a kernel with CONFIG_DMABUF_MOVE_NOTIFY=y: without it the dma-buf core pins every importer's mapping, and all would be refused\n");
		return -EINVAL;
	}
	WRITE_ONCE(refuse_pinned, on);
	return 0;
}

static const struct kernel_param_ops p2pmr_refuse_pinned_ops = {
	.set = p2pmr_refuse_pinned_set,
	.get = param_get_bool,
};
module_param_cb(refuse_pinned, &p2pmr_refuse_pinned_ops, &refuse_pinned,
		0644);
MODULE_PARM_DESC(refuse_pinned,
		 "Refuse importers that pin exports (they cannot be revoked and hold up unbind and hot removal); needs CONFIG_DMABUF_MOVE_NOTIFY=y (default: N)");

static int p2pmr_dmabuf_pin(struct dma_buf_attachment *attach)
{
	struct p2pmr_export *exp = attach->dmabuf->priv;
	struct p2pmr_attachment *pa = attach->priv;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (exp->revoked)
		return -ENODEV;
	if (READ_ONCE(refuse_pinned)) {
		p2pmr_refuse("export %llu: %s may not pin %s BAR%u: refuse_pinned=1 admits only importers that can be revoked\n",
			     exp->id, dev_name(attach->dev),
			     pci_name(exp->pdev), exp->bar);
		return -EPERM;
	}

	pa->nr_pins++;
	atomic_inc(&exp->nr_pins);
	atomic_long_inc(&p2pmr_stats.pins);
	return 0;
}

static void p2pmr_dmabuf_unpin(struct dma_buf_attachment *attach)
{
	struct p2pmr_export *exp = attach->dmabuf->priv;
	struct p2pmr_attachment *pa = attach->priv;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (WARN_ON_ONCE(!pa->nr_pins))
		return;
	pa->nr_pins--;
	p2pmr_export_drop_holds(exp, 0, 1);
}

static void p2pmr_sgt_unmap_resources(struct device *dev, struct sg_table *sgt,
				      unsigned int nents,
				      enum dma_data_direction dir)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sg(sgt->sgl, sg, nents, i)
		dma_unmap_resource(dev, sg_dma_address(sg), sg_dma_len(sg),
				   dir, DMA_ATTR_SKIP_CPU_SYNC);
}

/**
 * p2pmr_dma_mask_check() - can an importer emit the addresses it would get
 * @dev: the importing device
 * @pdev: the BAR's device
 * @bar: BAR number
 * @host_bridge: the addresses come from the DMA API, not the PCI bus
 * @addr: first address: the bus address, or for @host_bridge the CPU
 *	physical address, which dma-direct hands out unchanged
 * @length: length of the range
 *
 * A device puts bus addresses on the wire itself, so its DMA mask (and
 * bus_dma_limit) must cover them whether or not an IOMMU translates its
 * other DMA.  Through the DMA API, an IOVA allocator honours the mask by
 * itself, while dma-direct (no IOMMU, or an identity domain) hands out the
 * physical address and warns if the mask cannot reach it: check first.
 * A device without a DMA mask cannot DMA at all.
 *
 * Return: 0, or -EREMOTEIO after a log line naming device, mask and
 * addresses.
 */
static int p2pmr_dma_mask_check(struct device *dev, struct pci_dev *pdev,
				unsigned int bar, bool host_bridge, u64 addr,
				u64 length)
{
	const char *fix = host_bridge ?
		"an importer with a wider mask, or behind an IOMMU, could" :
		"only an importer with a wider mask can";
	u64 limit, last = addr + length - 1;

	if (!dev->dma_mask) {
		pr_warn_ratelimited("importer %s has no DMA mask: it cannot DMA to %s BAR%u\n",
				    dev_name(dev), pci_name(pdev), bar);
		return -EREMOTEIO;
	}
	if (host_bridge && !p2pmr_dma_is_direct(dev))
		return 0;
	limit = min_not_zero(*dev->dma_mask, dev->bus_dma_limit);
	if (last <= limit)
		return 0;
	pr_warn_ratelimited("importer %s cannot reach %s BAR%u at %s address %#llx-%#llx: its DMA mask is %#llx (bus limit %#llx); %s\n",
			    dev_name(dev), pci_name(pdev), bar,
			    host_bridge ? "physical" : "bus", addr, last,
			    *dev->dma_mask, dev->bus_dma_limit, fix);
	return -EREMOTEIO;
}

/*
 * Does any page of [phys, phys + length) have a struct page?  P2PDMA
 * (pci_p2pdma_add_resource()) may give pages to part of a BAR only, in
 * memory hotplug's subsections: look at one PFN of each.
 */
static bool p2pmr_range_has_pages(phys_addr_t phys, u64 length)
{
	unsigned long pfn = PHYS_PFN(phys);
	unsigned long end = PHYS_PFN(phys + length - 1) + 1;

	for (; pfn < end; pfn = ALIGN(pfn + 1, PAGES_PER_SUBSECTION))
		if (pfn_valid(pfn))
			return true;
	return false;
}

/**
 * p2pmr_sgt_fill() - DMA addresses of a BAR range for one importer
 * @sgt: an empty table; its entries are allocated here
 * @pdev: the BAR's device
 * @bar: BAR number
 * @offset: start of the range in the BAR, validated
 * @length: length of the range, validated
 * @path: how @dev reaches the BAR, decided by p2pmr_p2p_decide(), not
 *	P2PMR_PATH_REFUSED
 * @dev: the importing device
 * @dir: direction of the DMA
 *
 * Bus addresses below a common switch, DMA API mappings through the host
 * bridge.  The range is contiguous, so entries are split only at
 * P2PMR_MAX_SEG_LEN, the most an entry can describe.  The importer's
 * dma_parms max_segment_size is not applied: it limits what dma_map_sg()
 * may merge for the device's own SG engine, while dma-buf importers and
 * the RDMA core walk the table themselves (as dma_buf_phys_vec_to_sgt()
 * in 6.19+ does too).  Both faces of p2pmr, the dma-buf exporter and the
 * peer-memory client, build their tables here, so an importer gets the
 * same addresses from either.
 *
 * There are no struct pages: CPU-side walkers (orig_nents) see no
 * entries, DMA walkers (nents) see them all.  p2pmr_sgt_unmap() and
 * p2pmr_sgt_free() undo this.
 *
 * Return: 0; -EOPNOTSUPP for P2PDMA memory with struct pages, -EREMOTEIO
 * if @dev cannot address the BAR (p2pmr_dma_mask_check()), -ENOMEM, or the
 * DMA API's error.
 */
int p2pmr_sgt_fill(struct sg_table *sgt, struct pci_dev *pdev,
		   unsigned int bar, u64 offset, u64 length,
		   enum p2pmr_p2p_path path, struct device *dev,
		   enum dma_data_direction dir)
{
	bool host_bridge = path == P2PMR_PATH_HOST_BRIDGE;
	phys_addr_t phys = pci_resource_start(pdev, bar) + offset;
	struct scatterlist *sg;
	dma_addr_t bus = 0;
	unsigned int nents, i;
	u64 done = 0;
	int ret;

	if (host_bridge && p2pmr_range_has_pages(phys, length)) {
		/* dma_map_resource() refuses memory with struct pages. */
		pr_warn_ratelimited("%s BAR%u is P2PDMA memory with struct pages: map it through the P2PDMA API, not p2pmr\n",
				    pci_name(pdev), bar);
		return -EOPNOTSUPP;
	}
	if (!host_bridge)
		bus = p2pmr_p2p_bus_addr(pdev, bar) + offset;
	ret = p2pmr_dma_mask_check(dev, pdev, bar, host_bridge,
				   host_bridge ? phys : bus, length);
	if (ret)
		return ret;

	nents = DIV_ROUND_UP_ULL(length, P2PMR_MAX_SEG_LEN);
	ret = sg_alloc_table(sgt, nents, GFP_KERNEL);
	if (ret)
		return ret;

	for_each_sgtable_sg(sgt, sg, i) {
		unsigned int len = min_t(u64, length - done,
					 P2PMR_MAX_SEG_LEN);
		dma_addr_t addr;

		if (host_bridge) {
			addr = dma_map_resource(dev, phys + done, len, dir,
						DMA_ATTR_SKIP_CPU_SYNC);
			ret = dma_mapping_error(dev, addr);
			if (ret) {
				pr_warn_ratelimited("cannot map %s BAR%u for importer %s through the DMA API\n",
						    pci_name(pdev), bar,
						    dev_name(dev));
				p2pmr_sgt_unmap_resources(dev, sgt, i, dir);
				sg_free_table(sgt);
				return ret;
			}
		} else {
			addr = bus + done;
		}
		sg_dma_address(sg) = addr;
		sg_dma_len(sg) = len;
		done += len;
	}

	sgt->nents = nents;
	sgt->orig_nents = 0;
	return 0;
}

/**
 * p2pmr_sgt_unmap() - undo the DMA API mappings of p2pmr_sgt_fill()
 * @sgt: the table it filled; its entries stay allocated
 * @path: the path it was filled for
 * @dev: the importing device
 * @dir: direction of the DMA
 */
void p2pmr_sgt_unmap(struct sg_table *sgt, enum p2pmr_p2p_path path,
		     struct device *dev, enum dma_data_direction dir)
{
	if (path == P2PMR_PATH_HOST_BRIDGE)
		p2pmr_sgt_unmap_resources(dev, sgt, sgt->nents, dir);
}

/**
 * p2pmr_sgt_free() - free the entries p2pmr_sgt_fill() allocated
 * @sgt: the table, unmapped or never mapped; left empty
 */
void p2pmr_sgt_free(struct sg_table *sgt)
{
	sgt->orig_nents = sgt->nents;
	sg_free_table(sgt);
	memset(sgt, 0, sizeof(*sgt));
}

static struct sg_table *p2pmr_dmabuf_map(struct dma_buf_attachment *attach,
					 enum dma_data_direction dir)
{
	struct p2pmr_export *exp = attach->dmabuf->priv;
	struct p2pmr_attachment *pa = attach->priv;
	struct sg_table *sgt;
	int ret;

	dma_resv_assert_held(attach->dmabuf->resv);

	if (exp->revoked)
		return ERR_PTR(-ENODEV);
	/*
	 * Not revoked means the device is present and its resources valid:
	 * revocation happens before the PCI core releases them, and waits
	 * for dmabuf->resv.
	 */
	ret = p2pmr_range_usable(exp->pdev, exp->bar, exp->bar_start,
				 exp->offset, exp->length, "a new DMA mapping");
	if (ret)
		return ERR_PTR(ret);

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = p2pmr_sgt_fill(sgt, exp->pdev, exp->bar, exp->offset,
			     exp->length, pa->decision.path, attach->dev, dir);
	if (ret) {
		kfree(sgt);
		return ERR_PTR(ret);
	}

	pa->nr_maps++;
	atomic_inc(&exp->nr_maps);
	atomic_long_inc(&p2pmr_stats.mappings);
	return sgt;
}

static void p2pmr_dmabuf_unmap(struct dma_buf_attachment *attach,
			       struct sg_table *sgt,
			       enum dma_data_direction dir)
{
	struct p2pmr_export *exp = attach->dmabuf->priv;
	struct p2pmr_attachment *pa = attach->priv;

	dma_resv_assert_held(attach->dmabuf->resv);

	p2pmr_sgt_unmap(sgt, pa->decision.path, attach->dev, dir);
	p2pmr_sgt_free(sgt);
	kfree(sgt);

	if (WARN_ON_ONCE(!pa->nr_maps))
		return;
	pa->nr_maps--;
	p2pmr_export_drop_holds(exp, 1, 0);
}

static void p2pmr_dmabuf_release(struct dma_buf *dmabuf)
{
	struct p2pmr_export *exp = dmabuf->priv;

	mutex_lock(&p2pmr_exports_lock);
	list_del_init(&exp->node);
	exp->dmabuf = NULL;
	mutex_unlock(&p2pmr_exports_lock);

	/*
	 * VMAs, vmaps, importers and watches all hold references on the
	 * dma-buf.
	 */
	WARN_ON_ONCE(exp->nr_vmas || atomic_read(&exp->nr_vmaps) ||
		     !list_empty(&exp->attachments) ||
		     !list_empty(&exp->watches));

	if (exp->vaddr)
		iounmap(exp->vaddr);
	if (exp->revoked)
		atomic_long_dec(&p2pmr_stats.revoked);
	atomic_long_dec(&p2pmr_stats.exports);
	p2pmr_export_put(exp);
}

static void p2pmr_vm_open(struct vm_area_struct *vma)
{
	struct p2pmr_export *exp = vma->vm_private_data;

	mutex_lock(&exp->lock);
	exp->nr_vmas++;
	mutex_unlock(&exp->lock);
	atomic_long_inc(&p2pmr_stats.cpu_mmaps);
}

static void p2pmr_vm_close(struct vm_area_struct *vma)
{
	struct p2pmr_export *exp = vma->vm_private_data;

	mutex_lock(&exp->lock);
	if (!--exp->nr_vmas && exp->memtype_reserved) {
		arch_io_free_memtype_wc(exp->phys, exp->length);
		exp->memtype_reserved = false;
	}
	mutex_unlock(&exp->lock);
	atomic_long_dec(&p2pmr_stats.cpu_mmaps);
}

/*
 * PTEs are only ever inserted here, under export->lock, after the VMA is
 * linked into the file's address space: revocation, which sets @revoked
 * under the same lock and then zaps the address space, cannot miss one.
 */
static vm_fault_t p2pmr_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct p2pmr_export *exp = vma->vm_private_data;
	unsigned long pages = exp->length >> PAGE_SHIFT;
	unsigned long pfn = PHYS_PFN(exp->phys) + vmf->pgoff;
	unsigned long addr = vmf->address;
	pgoff_t pgoff = vmf->pgoff;
	vm_fault_t ret;
	unsigned int n;

	if (pgoff >= pages)
		return VM_FAULT_SIGBUS;

	mutex_lock(&exp->lock);
	if (exp->revoked ||
	    p2pmr_range_usable(exp->pdev, exp->bar, exp->bar_start,
			       exp->offset, exp->length, "a CPU fault")) {
		ret = VM_FAULT_SIGBUS;
		goto out_unlock;
	}
	ret = vmf_insert_pfn(vma, addr, pfn);
	/* Map ahead so that a linear pass faults once per few pages. */
	for (n = 0; ret == VM_FAULT_NOPAGE && n < P2PMR_FAULT_AHEAD; n++) {
		addr += PAGE_SIZE;
		if (addr >= vma->vm_end || ++pgoff >= pages)
			break;
		if (vmf_insert_pfn(vma, addr, ++pfn) != VM_FAULT_NOPAGE)
			break;
	}
out_unlock:
	mutex_unlock(&exp->lock);
	return ret;
}

static const struct vm_operations_struct p2pmr_vm_ops = {
	.open = p2pmr_vm_open,
	.close = p2pmr_vm_close,
	.fault = p2pmr_vm_fault,
};

static int p2pmr_dmabuf_mmap(struct dma_buf *dmabuf,
			     struct vm_area_struct *vma)
{
	struct p2pmr_export *exp = dmabuf->priv;
	u64 end;

	/* A private PFN mapping would be copy-on-write: refuse it. */
	if (!(vma->vm_flags & VM_MAYSHARE)) {
		p2pmr_refuse("export %llu: private mappings are not supported, use MAP_SHARED\n",
			     exp->id);
		return -EINVAL;
	}
	/* The core checked this already; keep the fault path's bound true. */
	if (check_add_overflow((u64)vma->vm_pgoff, (u64)vma_pages(vma), &end) ||
	    end > exp->length >> PAGE_SHIFT)
		return -EINVAL;

	mutex_lock(&exp->lock);
	if (exp->revoked) {
		mutex_unlock(&exp->lock);
		p2pmr_refuse("export %llu of %s was revoked: cannot mmap it\n",
			     exp->id, pci_name(exp->pdev));
		return -ENODEV;
	}
	/*
	 * On x86 the cache mode of inserted PFNs comes from the memtype
	 * reserved for the range (PAT), not from vm_page_prot: reserve
	 * write-combining while CPU mappings exist.  If another mapping
	 * already reserved a different type, that type is used instead.
	 */
	if (exp->wc && !exp->memtype_reserved)
		exp->memtype_reserved =
			!arch_io_reserve_memtype_wc(exp->phys, exp->length);
	exp->nr_vmas++;
	mutex_unlock(&exp->lock);

	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	/*
	 * As PCI sysfs maps a BAR (pci_mmap_resource_range()): device
	 * memory is pgprot_device (Device-nGnRE on arm64, not the stricter
	 * nGnRnE of pgprot_noncached; the same on x86).
	 */
	vma->vm_page_prot = exp->wc ? pgprot_writecombine(vma->vm_page_prot) :
				      pgprot_device(vma->vm_page_prot);
	vma->vm_ops = &p2pmr_vm_ops;
	vma->vm_private_data = exp;
	atomic_long_inc(&p2pmr_stats.cpu_mmaps);
	return 0;
}

/*
 * A revoked export still vmaps while an importer holds a mapping or pin
 * of it.  The revocation waits for those before the device goes or
 * changes hands (p2pmr_revoke.c), and then for this vmap too, so the BAR
 * is the export's for as long as the vmap lives, as for one made before
 * the revocation.  Refusing would make dma_buf_vmap() WARN, and an
 * importer cannot close the window itself on 6.1, whose exporters take
 * the reservation lock in vmap: it maps under the lock and vmaps after
 * (the soft-RoCE series keeps its pin across the window for this).
 */
static int p2pmr_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct p2pmr_export *exp = dmabuf->priv;
	int ret = 0;

	mutex_lock(&exp->lock);
	if (exp->revoked && !atomic_read(&exp->nr_maps) &&
	    !atomic_read(&exp->nr_pins)) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if (!exp->vaddr) {
		exp->vaddr = exp->wc ? ioremap_wc(exp->phys, exp->length) :
				       ioremap(exp->phys, exp->length);
		if (!exp->vaddr) {
			ret = -ENOMEM;
			goto out_unlock;
		}
	}
	atomic_inc(&exp->nr_vmaps);
	atomic_long_inc(&p2pmr_stats.vmaps);
	iosys_map_set_vaddr_iomem(map, exp->vaddr);
out_unlock:
	mutex_unlock(&exp->lock);
	return ret;
}

static void p2pmr_dmabuf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct p2pmr_export *exp = dmabuf->priv;

	mutex_lock(&exp->lock);
	if (WARN_ON_ONCE(!atomic_read(&exp->nr_vmaps))) {
		mutex_unlock(&exp->lock);
		return;
	}
	if (atomic_dec_and_test(&exp->nr_vmaps) && exp->revoked)
		p2pmr_export_drop_kmap(exp);
	mutex_unlock(&exp->lock);
	atomic_long_dec(&p2pmr_stats.vmaps);
	wake_up_all(&exp->wq);
}

static const struct dma_buf_ops p2pmr_dmabuf_ops = {
	.attach = p2pmr_dmabuf_attach,
	.detach = p2pmr_dmabuf_detach,
	.pin = p2pmr_dmabuf_pin,
	.unpin = p2pmr_dmabuf_unpin,
	.map_dma_buf = p2pmr_dmabuf_map,
	.unmap_dma_buf = p2pmr_dmabuf_unmap,
	.release = p2pmr_dmabuf_release,
	.mmap = p2pmr_dmabuf_mmap,
	.vmap = p2pmr_dmabuf_vmap,
	.vunmap = p2pmr_dmabuf_vunmap,
};

/**
 * p2pmr_export_create() - export a validated BAR range as a dma-buf
 * @res: the BAR, identified and access-checked by the caller
 * @offset: start of the range in the BAR, validated
 * @length: length of the range, validated
 * @open_flags: O_ACCMODE bits of the dma-buf file
 *
 * Return: a dma-buf holding one reference, which the caller passes on with
 * fd_install() or drops with dma_buf_put(); or an ERR_PTR().
 */
struct dma_buf *p2pmr_export_create(const struct p2pmr_resource *res,
				    u64 offset, u64 length, u32 open_flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct p2pmr_export *exp;
	struct dma_buf *dmabuf;
	struct pci_dev *pdev;
	int ret;

	pdev = p2pmr_device_get(res->pdev);
	if (IS_ERR(pdev))
		return ERR_CAST(pdev);
	exp = kzalloc(sizeof(*exp), GFP_KERNEL_ACCOUNT);
	if (!exp) {
		p2pmr_device_put(pdev);
		return ERR_PTR(-ENOMEM);
	}

	kref_init(&exp->kref);
	INIT_LIST_HEAD(&exp->node);
	mutex_init(&exp->lock);
	INIT_LIST_HEAD(&exp->attachments);
	INIT_LIST_HEAD(&exp->watches);
	init_waitqueue_head(&exp->wq);
	exp->id = atomic64_inc_return(&p2pmr_last_export_id);
	exp->pdev = pdev;
	exp->bar = res->bar;
	exp->offset = offset;
	exp->length = length;
	exp->bar_start = pci_resource_start(pdev, res->bar);
	exp->kn = res->kn;
	kernfs_get(exp->kn);
	exp->phys = exp->bar_start + offset;
	exp->wc = res->wc;
	exp->prefetchable = pci_resource_flags(pdev, res->bar) &
			    IORESOURCE_PREFETCH;
	exp->owner_pid = task_tgid_nr(current);
	get_task_comm(exp->owner_comm, current);

	/* exp_info.owner is THIS_MODULE: each dma-buf pins the module. */
	exp_info.ops = &p2pmr_dmabuf_ops;
	exp_info.size = length;
	exp_info.flags = open_flags & O_ACCMODE;
	exp_info.priv = exp;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_free_export;
	}
	/* From here on the dma-buf owns @exp: its release frees it. */
	exp->dmabuf = dmabuf;
	atomic_long_inc(&p2pmr_stats.exports);

	ret = p2pmr_resource_publish(res, &exp->node, &p2pmr_exports);
	if (ret) {
		dma_buf_put(dmabuf);
		return ERR_PTR(ret);
	}
	return dmabuf;

err_free_export:
	p2pmr_export_put(exp);
	return ERR_PTR(ret);
}

/**
 * p2pmr_export_revoke() - end an export's access to its BAR, for good
 * @exp: the export
 *
 * The caller holds a reference on @exp->dmabuf and not
 * p2pmr_exports_lock: importers' move_notify and fence waits run here,
 * and a slow importer must not hold up every other export.  Importers are
 * told to unmap; pinned importers and vmaps stay until they let go, and
 * the caller waits for them.
 *
 * Return: true if the export was revoked now, false if it already was.
 */
bool p2pmr_export_revoke(struct p2pmr_export *exp)
{
	struct dma_buf *dmabuf = exp->dmabuf;

	lockdep_assert_not_held(&p2pmr_exports_lock);

	dma_resv_lock(dmabuf->resv, NULL);
	if (exp->revoked) {
		dma_resv_unlock(dmabuf->resv);
		return false;
	}
	mutex_lock(&exp->lock);
	WRITE_ONCE(exp->revoked, true);
	/*
	 * After @revoked, so that a WATCH_VA that reads a watch's counter
	 * before this bump then sees @revoked in its check; before the
	 * importers let go, so that the counter moves before the change
	 * takes effect.
	 */
	p2pmr_watches_revoked(exp);
	mutex_unlock(&exp->lock);
	dma_buf_invalidate_mappings(dmabuf);
	/* Importers that fence their DMA finish what they queued. */
	p2pmr_dma_resv_wait_all(dmabuf->resv);
	dma_resv_unlock(dmabuf->resv);
	atomic_long_inc(&p2pmr_stats.revoked);

	mutex_lock(&exp->lock);
	/*
	 * Each VMA holds a reference on the dma-buf's file, so while any
	 * exists the file and its address space do; with none, there is
	 * nothing to zap.
	 */
	if (exp->nr_vmas)
		unmap_mapping_range(dmabuf->file->f_mapping, 0, 0, 1);
	if (exp->memtype_reserved) {
		arch_io_free_memtype_wc(exp->phys, exp->length);
		exp->memtype_reserved = false;
	}
	p2pmr_export_drop_kmap(exp);
	mutex_unlock(&exp->lock);
	return true;
}

/**
 * p2pmr_export_busy() - does anything still use the BAR range
 * @exp: the export
 *
 * Return: true while the export is mapped or pinned by an importer or
 * vmapped.  Userspace CPU mappings do not count: they can be zapped.
 */
bool p2pmr_export_busy(struct p2pmr_export *exp)
{
	if (atomic_read(&exp->nr_maps) || atomic_read(&exp->nr_pins))
		return true;
	/*
	 * A vmap taken while a mapping or pin was held is counted before
	 * that hold dropped (p2pmr_export_drop_holds()): read it after.
	 */
	smp_rmb();
	return atomic_read(&exp->nr_vmaps);
}

/**
 * p2pmr_export_describe_holders() - who keeps an export busy, for a log
 * @exp: the export
 * @buf: if not NULL, receives "<dev> (pinned), <dev> (mapped), kernel vmap"
 * @len: size of @buf
 *
 * An attachment with any pin is "pinned", whether the importer pinned it
 * or the core did at map time (CONFIG_DMABUF_MOVE_NOTIFY=n): either way
 * it will not let go when told to move.
 *
 * Return: the number of holders.
 */
unsigned int p2pmr_export_describe_holders(struct p2pmr_export *exp,
					   char *buf, size_t len)
{
	struct p2pmr_attachment *pa;
	unsigned int holders = 0;
	size_t n = 0;

	if (buf)
		buf[0] = '\0';
	mutex_lock(&exp->lock);
	list_for_each_entry(pa, &exp->attachments, node) {
		unsigned int pins = READ_ONCE(pa->nr_pins);
		unsigned int maps = READ_ONCE(pa->nr_maps);

		if (!pins && !maps)
			continue;
		holders++;
		if (buf)
			n += scnprintf(buf + n, len - n, "%s%s (%s)",
				       n ? ", " : "", dev_name(pa->attach->dev),
				       pins ? "pinned" : "mapped");
	}
	if (atomic_read(&exp->nr_vmaps)) {
		holders++;
		if (buf)
			scnprintf(buf + n, len - n, "%skernel vmap",
				  n ? ", " : "");
	}
	mutex_unlock(&exp->lock);
	return holders;
}

/**
 * p2pmr_exports_show() - list live exports, for debugfs
 * @m: the seq_file
 */
void p2pmr_exports_show(struct seq_file *m)
{
	struct p2pmr_attachment *pa;
	struct p2pmr_export *exp;

	mutex_lock(&p2pmr_exports_lock);
	list_for_each_entry(exp, &p2pmr_exports, node) {
		mutex_lock(&exp->lock);
		seq_printf(m, "export %llu dev %s bar %u offset %#llx length %#llx wc %d prefetchable %d revoked %d maps %d pins %d vmaps %d cpu_mmaps %u\n",
			   exp->id, pci_name(exp->pdev), exp->bar, exp->offset,
			   exp->length, exp->wc, exp->prefetchable,
			   exp->revoked, atomic_read(&exp->nr_maps),
			   atomic_read(&exp->nr_pins),
			   atomic_read(&exp->nr_vmaps), exp->nr_vmas);
		list_for_each_entry(pa, &exp->attachments, node)
			seq_printf(m, "  attachment %s path %s distance %d maps %u pins %u\n",
				   dev_name(pa->attach->dev),
				   p2pmr_p2p_path_name(pa->decision.path),
				   (int)pa->decision.distance,
				   READ_ONCE(pa->nr_maps),
				   READ_ONCE(pa->nr_pins));
		mutex_unlock(&exp->lock);
	}
	mutex_unlock(&p2pmr_exports_lock);
}
