/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences, all in one place.
 *
 * The rest of p2pmr is written against the newest interfaces; this header
 * supplies them on older kernels.  Which interfaces a kernel has is probed
 * from its headers by compat.mk (P2PMR_HAVE_*), not guessed from its
 * version number, because distribution kernels backport.
 *
 * Oldest supported kernel: 5.15 (dynamic dma-buf importers with
 * peer2peer, vma_lookup(), copy_struct_from_user()).
 */
#ifndef P2PMR_COMPAT_H
#define P2PMR_COMPAT_H

#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/kernfs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>

/* 6.13 made the namespace argument of MODULE_IMPORT_NS() a string. */
#ifdef P2PMR_HAVE_IMPORT_NS_STRING
#define P2PMR_IMPORT_NS_DMA_BUF()	MODULE_IMPORT_NS("DMA_BUF")
#else
#define P2PMR_IMPORT_NS_DMA_BUF()	MODULE_IMPORT_NS(DMA_BUF)
#endif

/* 5.18 renamed struct dma_buf_map to struct iosys_map. */
#ifdef P2PMR_HAVE_IOSYS_MAP
#include <linux/iosys-map.h>
#else
#include <linux/dma-buf-map.h>
#define iosys_map			dma_buf_map
#define iosys_map_set_vaddr_iomem	dma_buf_map_set_vaddr_iomem
#endif

/* 6.3 made vma->vm_flags read-only behind accessors. */
#ifndef P2PMR_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma,
				  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/*
 * 7.1 renamed dma_buf_move_notify() to dma_buf_invalidate_mappings() and
 * the importer callback .move_notify to .invalidate_mappings.  Before
 * that, with CONFIG_DMABUF_MOVE_NOTIFY off, dma_buf_move_notify() still
 * calls every dynamic importer's move_notify; only the implicit pin in
 * dma_buf_map_attachment() differs.
 */
#ifdef P2PMR_HAVE_DMA_BUF_INVALIDATE_MAPPINGS
#define P2PMR_IMPORTER_INVALIDATE	invalidate_mappings
#else
#define P2PMR_IMPORTER_INVALIDATE	move_notify
static inline void dma_buf_invalidate_mappings(struct dma_buf *dmabuf)
{
	dma_buf_move_notify(dmabuf);
}
#endif

/* 5.19 replaced the wait_all flag of dma_resv_wait_timeout() by a usage. */
static inline long p2pmr_dma_resv_wait_all(struct dma_resv *resv)
{
#ifdef P2PMR_HAVE_DMA_RESV_USAGE
	return dma_resv_wait_timeout(resv, DMA_RESV_USAGE_BOOKKEEP, false,
				     MAX_SCHEDULE_TIMEOUT);
#else
	return dma_resv_wait_timeout(resv, true, false, MAX_SCHEDULE_TIMEOUT);
#endif
}

/**
 * p2pmr_follow_pfn() - PFN mapped at a user address of a PFN-map vma
 * @vma: the vma, its mm's mmap lock held for reading
 * @addr: user address inside @vma
 * @pfn: returns the PFN
 *
 * Return: 0, or -EINVAL if no present PTE maps @addr.
 */
static inline int p2pmr_follow_pfn(struct vm_area_struct *vma,
				   unsigned long addr, unsigned long *pfn)
{
#if defined(P2PMR_HAVE_FOLLOW_PFNMAP)
	struct follow_pfnmap_args args = { .vma = vma, .address = addr };
	int ret;

	ret = follow_pfnmap_start(&args);
	if (ret)
		return ret;
	*pfn = args.pfn;
	follow_pfnmap_end(&args);
	return 0;
#else
	spinlock_t *ptl;
	pte_t *ptep;
	int ret;

#if defined(P2PMR_HAVE_FOLLOW_PTE_VMA)
	ret = follow_pte(vma, addr, &ptep, &ptl);
#else
	ret = follow_pte(vma->vm_mm, addr, &ptep, &ptl);
#endif
	if (ret)
		return ret;
	/* follow_pte() returns with *ptl held; tell sparse. */
	__acquire(ptl);
	*pfn = pte_pfn(ptep_get(ptep));
	pte_unmap_unlock(ptep, ptl);
	return 0;
#endif
}

/*
 * 6.15 turned kernfs_node::parent into the RCU pointer __parent.  p2pmr
 * only compares the parent with other pointers and passes it to kernfs
 * while holding a reference on the child, which pins the parent.
 */
static inline struct kernfs_node *p2pmr_kernfs_parent(struct kernfs_node *kn)
{
#ifdef P2PMR_HAVE_KERNFS_RCU_PARENT
	return rcu_access_pointer(kn->__parent);
#else
	return kn->parent;
#endif
}

/*
 * The sysfs attributes behind resource<N> and resource<N>_wc.  They are
 * read without a lock and only ever compared, never dereferenced: the PCI
 * core frees them on removal without clearing the pointers.
 */
static inline const void *p2pmr_pci_res_attr(struct pci_dev *pdev,
					     unsigned int bar, bool wc)
{
	return wc ? READ_ONCE(pdev->res_attr_wc[bar]) :
		    READ_ONCE(pdev->res_attr[bar]);
}

/*
 * A reference on @dmabuf unless its release has begun; the caller keeps
 * @dmabuf allocated (p2pmr_exports_lock: release takes it before the
 * dma-buf is freed).  6.7 added get_file_active().
 */
static inline bool p2pmr_dmabuf_tryget(struct dma_buf *dmabuf)
{
#ifdef P2PMR_HAVE_GET_FILE_ACTIVE
	struct file *file = dmabuf->file;

	return get_file_active(&file) != NULL;
#else
	return atomic_long_inc_not_zero(&dmabuf->file->f_count);
#endif
}

#endif /* P2PMR_COMPAT_H */
