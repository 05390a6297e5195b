// SPDX-License-Identifier: GPL-2.0
/*
 * The dma-buf behind a CPU mapping of one (ioctl VA_DMABUF).
 *
 * A process that mmap()ed a dma-buf (one of p2pmr's, or any exporter's
 * that supports mmap) and registers the mapping for RDMA needs the dma-buf
 * itself: the pages behind such a mapping, where there are any, are the
 * exporter's to hand out, and a BAR has none.  The mapping's vma already
 * says which dma-buf it is: the dma-buf core maps every dma-buf through
 * its own file (dma_buf_mmap_internal()), and leaves the page offset into
 * the dma-buf in vm_pgoff, which it checked against the dma-buf's size.
 *
 * Authority: handing the caller another fd of the dma-buf's one open file
 * gives it nothing it did not have.  Mapping a dma-buf takes an fd of it,
 * and the fd returned here is that same open file, with the access mode
 * its exporter gave it.  What the mapping adds is the caller's own choice
 * of access: a registration the device may write through needs a writable
 * shared mapping, as for the BAR mappings of EXPORT_VA.  Private mappings
 * are refused either way: their pages may be copies, and remap_pfn_range()
 * replaces vm_pgoff in them.
 *
 * Exporters that map a dma-buf through a file of their own
 * (vma_set_file() to a DRM GEM object, say) leave no dma-buf in the vma:
 * such mappings are refused as not being dma-buf mappings.
 */
#define pr_fmt(fmt) "p2pmr: " fmt

#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/mm.h>

#include "p2pmr.h"

/*
 * dma_buf_fops is not exported; every dma-buf's file lives on the dma-buf
 * pseudo filesystem, which holds nothing else (dma_buf_getfile()).
 */
static bool p2pmr_is_dmabuf_file(struct file *file)
{
	return file_inode(file)->i_sb->s_magic == DMA_BUF_MAGIC;
}

/*
 * The file mapped at @addr, referenced, if the mapping of it holds all of
 * [addr, addr + length) (its pieces as p2pmr_vma_continued() follows
 * them); *@pgoff is the file page at @addr.
 */
static int p2pmr_va_file_get(u64 addr, u64 length, struct file **file,
			     pgoff_t *pgoff, vm_flags_t *vm_flags)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma, *first;
	u64 end = addr + length;

	if (!mm)
		return -EFAULT;
	if (mmap_read_lock_killable(mm))
		return -EINTR;

	/*
	 * Not logged: a verbs shim asks about memory that failed to
	 * register as host memory, most of it no dma-buf's.
	 */
	first = vma_lookup(mm, addr);
	if (!first) {
		mmap_read_unlock(mm);
		return -EFAULT;
	}
	if (!first->vm_file || !p2pmr_is_dmabuf_file(first->vm_file)) {
		mmap_read_unlock(mm);
		return -EINVAL;
	}
	for (vma = first; vma && vma->vm_end < end;
	     vma = p2pmr_vma_continued(mm, vma))
		;
	if (!vma) {
		mmap_read_unlock(mm);
		p2pmr_refuse("%#llx + %#llx extends past its dma-buf mapping: register each mapping on its own\n",
			     addr, length);
		return -EINVAL;
	}
	*pgoff = first->vm_pgoff + ((addr - first->vm_start) >> PAGE_SHIFT);
	*vm_flags = first->vm_flags;
	*file = get_file(first->vm_file);
	mmap_read_unlock(mm);
	return 0;
}

/**
 * p2pmr_dmabuf_from_va() - the dma-buf a user range maps
 * @addr: start of the range in current's address space
 * @length: its length
 * @read_only: a read-only shared mapping will do
 * @file: returns the dma-buf's file, referenced
 * @offset: returns the offset of @addr within the dma-buf
 * @writable: returns whether the mapping is writable and shared
 *
 * Return: 0 or a negative errno as documented for P2PMR_IOCTL_VA_DMABUF
 * in <linux/p2pmr.h>, logged.
 */
int p2pmr_dmabuf_from_va(u64 addr, u64 length, bool read_only,
			 struct file **file, u64 *offset, bool *writable)
{
	struct p2pmr_export *exp;
	struct dma_buf *dmabuf;
	vm_flags_t vm_flags;
	pgoff_t pgoff;
	int ret;

	ret = p2pmr_va_range_check(addr, length);
	if (ret)
		return ret;
	ret = p2pmr_va_file_get(addr, length, file, &pgoff, &vm_flags);
	if (ret)
		return ret;

	/* the file pins the dma-buf: its release is the file's */
	dmabuf = (*file)->private_data;
	*writable = (vm_flags & VM_SHARED) && (vm_flags & VM_WRITE);
	if (!(vm_flags & VM_MAYSHARE) || (!read_only && !*writable)) {
		p2pmr_refuse("mapping at %#llx of dma-buf %s is %s: map it with MAP_SHARED%s\n",
			     addr, dmabuf->exp_name,
			     vm_flags & VM_MAYSHARE ? "read-only" : "private",
			     read_only ? "" : " and PROT_WRITE");
		ret = -EACCES;
		goto out_fput;
	}
	*offset = (u64)pgoff << PAGE_SHIFT;
	if (pgoff > dmabuf->size >> PAGE_SHIFT ||
	    length > dmabuf->size - *offset) {
		p2pmr_refuse("%#llx + %#llx is at %#llx of dma-buf %s, past its size %#zx: its exporter maps it at other offsets than its own\n",
			     addr, length, *offset, dmabuf->exp_name,
			     dmabuf->size);
		ret = -EINVAL;
		goto out_fput;
	}
	exp = p2pmr_export_from_dmabuf(dmabuf);
	if (exp && READ_ONCE(exp->revoked)) {
		p2pmr_refuse("dma-buf %llu of %s BAR%u was revoked: export the range again\n",
			     exp->id, pci_name(exp->pdev), exp->bar);
		ret = -ENODEV;
		goto out_fput;
	}
	return 0;

out_fput:
	fput(*file);
	return ret;
}
