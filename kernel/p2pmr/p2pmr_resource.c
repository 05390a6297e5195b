// SPDX-License-Identifier: GPL-2.0
/*
 * Which memory BAR a sysfs resource file or a mapping of one stands for,
 * and whether the caller may export a range of it.
 *
 * The authority to export a BAR range is the authority to map it: an fd of
 * /sys/bus/pci/devices/<bdf>/resource<N> (or resource<N>_wc) opened for
 * writing, or a writable shared mapping of such a file in the caller's own
 * address space.  The files are root-only, so an unprivileged process can
 * only export what a privileged one handed it.
 *
 * Identifying a file without trusting it: sysfs files are kernfs nodes.
 * The inode of a sysfs file carries its kernfs node in i_private, the node
 * of a bin attribute carries the struct bin_attribute in priv, and the
 * parent node is the device's sysfs directory.  The parent's priv is the
 * device's kobject, but that may already be freed when the device is gone
 * (an open file pins the nodes, not the device), so it is never
 * dereferenced.  Instead the device is found among the registered PCI
 * devices by comparing their sysfs directory with the parent node, and the
 * BAR by comparing the node's attribute with the device's res_attr[] and
 * res_attr_wc[] pointers.  Only pointers are compared; a stale file of a
 * removed device matches nothing, since the node it pins can never be
 * reused for another device.
 *
 * Presence: the PCI core removes a device's resource files before it sends
 * BUS_NOTIFY_DEL_DEVICE, and kernfs unlinks a node from its directory
 * before that removal returns.  So if kernfs still finds our node under its
 * name while p2pmr_exports_lock is held, the removal notifier has not run
 * yet and will find the export once it is listed.
 */
#define pr_fmt(fmt) "p2pmr: " fmt

#include <linux/build_bug.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/ioport.h>
#include <linux/kernfs.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/pm_runtime.h>
#include <linux/sched.h>
#include <linux/security.h>
#include <linux/stddef.h>
#include <linux/sysfs.h>

#include "p2pmr.h"

/* Longest resource file name: "resource5_wc". */
#define P2PMR_RES_NAME_LEN	16

static struct kernfs_node *p2pmr_sysfs_node(struct file *file)
{
	struct inode *inode = file_inode(file);
	struct kernfs_node *kn;

	/*
	 * sysfs is the kernfs instance with SYSFS_MAGIC, and kernfs keeps a
	 * node in the i_private of each of its inodes (kernfs_init_inode()).
	 * kernfs_node_from_dentry() would do this for any kernfs but is not
	 * exported.
	 */
	if (inode->i_sb->s_magic != SYSFS_MAGIC)
		return NULL;
	kn = inode->i_private;
	if (!kn || kernfs_type(kn) != KERNFS_FILE || !kn->priv)
		return NULL;
	return kn;
}

/* The registered PCI device whose sysfs directory is @dir, referenced. */
static struct pci_dev *p2pmr_pci_dev_of_dir(struct kernfs_node *dir)
{
	struct pci_dev *pdev = NULL;

	for_each_pci_dev(pdev) {
		/* for_each_pci_dev() holds a reference on @pdev here. */
		if (READ_ONCE(pdev->dev.kobj.sd) == dir)
			return pdev;
	}
	return NULL;
}

/**
 * p2pmr_resource_present() - is the resource file still in its directory
 * @res: an identified resource file
 *
 * Return: true until the PCI core has removed the device's resource files.
 */
bool p2pmr_resource_present(const struct p2pmr_resource *res)
{
	char name[P2PMR_RES_NAME_LEN];
	struct kernfs_node *found;

	snprintf(name, sizeof(name), res->wc ? "resource%u_wc" : "resource%u",
		 res->bar);
	/* Our file pins res->kn, which pins its parent. */
	found = kernfs_find_and_get(p2pmr_kernfs_parent(res->kn), name);
	kernfs_put(found);
	return found == res->kn;
}

/* Identify @file; with P2PMR_VA_QUIET, files that are not log nothing. */
static int p2pmr_resource_identify(struct file *file, unsigned int flags,
				   struct p2pmr_resource *res)
{
	bool quiet = flags & P2PMR_VA_QUIET;
	struct kernfs_node *kn, *dir;
	struct pci_dev *pdev;
	unsigned int bar;
	bool wc;

	kn = p2pmr_sysfs_node(file);
	if (!kn) {
		if (!quiet)
			p2pmr_refuse("%pD is not a sysfs file: pass a /sys/bus/pci/devices/<bdf>/resource<N> file\n",
				     file);
		return -EINVAL;
	}

	dir = p2pmr_kernfs_parent(kn);
	pdev = dir ? p2pmr_pci_dev_of_dir(dir) : NULL;
	if (!pdev) {
		if (!quiet)
			p2pmr_refuse("%pD2 is not a file of a present PCI device\n",
				     file);
		return -EINVAL;
	}

	/* sysfs keeps &battr->attr in priv: the bin_attribute itself. */
	BUILD_BUG_ON(offsetof(struct bin_attribute, attr));
	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		for (wc = false; ; wc = true) {
			if (kn->priv == p2pmr_pci_res_attr(pdev, bar, wc))
				goto found;
			if (wc)
				break;
		}
	}
	if (!quiet)
		p2pmr_refuse("%pD2 is not a resource<N> or resource<N>_wc file\n",
			     file);
	pci_dev_put(pdev);
	return -EINVAL;

found:
	res->file = get_file(file);
	res->kn = kn;
	res->pdev = pdev;
	res->bar = bar;
	res->wc = wc;

	if (!p2pmr_resource_present(res)) {
		p2pmr_refuse("%s is being removed\n", pci_name(pdev));
		p2pmr_resource_put(res);
		return -ENODEV;
	}
	return 0;
}

/**
 * p2pmr_resource_publish() - list an object of a BAR unless its device is
 *	on its way out
 * @res: the BAR
 * @node: the object's list entry
 * @list: p2pmr_exports, or the peer-memory client's registrations
 *
 * Checked under p2pmr_exports_lock, against the removal notifier that
 * takes the same lock: see the presence rule above.
 *
 * Return: 0, or -ENODEV if the device is being removed.
 */
int p2pmr_resource_publish(const struct p2pmr_resource *res,
			   struct list_head *node, struct list_head *list)
{
	mutex_lock(&p2pmr_exports_lock);
	if (!p2pmr_resource_present(res)) {
		mutex_unlock(&p2pmr_exports_lock);
		p2pmr_refuse("%s is being removed: BAR%u cannot be exported or registered\n",
			     pci_name(res->pdev), res->bar);
		return -ENODEV;
	}
	list_add_tail(node, list);
	mutex_unlock(&p2pmr_exports_lock);
	return 0;
}

/**
 * p2pmr_resource_from_file() - identify the BAR behind a resource file
 * @file: any file
 * @res: filled in on success; release with p2pmr_resource_put()
 *
 * Return: 0; -EINVAL if @file is not the resource<N> or resource<N>_wc
 * file of a registered PCI device; -ENODEV if the device is being removed.
 */
int p2pmr_resource_from_file(struct file *file, struct p2pmr_resource *res)
{
	return p2pmr_resource_identify(file, 0, res);
}

/**
 * p2pmr_resource_put() - drop the references of an identified resource
 * @res: filled in by p2pmr_resource_from_file() or p2pmr_resource_from_va()
 */
void p2pmr_resource_put(struct p2pmr_resource *res)
{
	pci_dev_put(res->pdev);
	fput(res->file);
	res->pdev = NULL;
	res->file = NULL;
	res->kn = NULL;
}

/**
 * p2pmr_resource_validate_range() - check a range against its BAR
 * @res: the BAR
 * @offset: start of the range in the BAR
 * @length: length of the range
 *
 * Everything about the range is checked here, before anything is
 * allocated.
 *
 * Return: 0; -EOPNOTSUPP for an I/O-port BAR; -ENODEV for a BAR that is
 * not assigned; -EINVAL for a zero or unaligned range or one outside the
 * BAR; -EOVERFLOW if @offset + @length overflows or @length does not fit
 * a size_t.
 */
int p2pmr_resource_validate_range(const struct p2pmr_resource *res,
				  u64 offset, u64 length)
{
	const struct resource *r = &res->pdev->resource[res->bar];
	const char *name = pci_name(res->pdev);
	u64 end;

	if (r->flags & IORESOURCE_IO) {
		p2pmr_refuse("%s BAR%u is an I/O-port BAR: only memory BARs can be exported\n",
			     name, res->bar);
		return -EOPNOTSUPP;
	}
	if (!(r->flags & IORESOURCE_MEM) || !resource_size(r) ||
	    (r->flags & (IORESOURCE_UNSET | IORESOURCE_DISABLED))) {
		p2pmr_refuse("%s BAR%u is not an assigned memory BAR\n",
			     name, res->bar);
		return -ENODEV;
	}
	if (!PAGE_ALIGNED(r->start)) {
		p2pmr_refuse("%s BAR%u does not start on a page boundary and cannot be exported\n",
			     name, res->bar);
		return -EINVAL;
	}
	if (!length) {
		p2pmr_refuse("zero-length range: length must be a nonzero multiple of the page size\n");
		return -EINVAL;
	}
	if (!PAGE_ALIGNED(offset) || !PAGE_ALIGNED(length)) {
		p2pmr_refuse("offset %#llx and length %#llx must be multiples of the page size (%#lx)\n",
			     offset, length, PAGE_SIZE);
		return -EINVAL;
	}
	if (check_add_overflow(offset, length, &end) ||
	    length != (size_t)length) {
		p2pmr_refuse("offset %#llx + length %#llx overflows\n",
			     offset, length);
		return -EOVERFLOW;
	}
	if (end > resource_size(r)) {
		p2pmr_refuse("range [%#llx, %#llx) is outside %s BAR%u (%#llx bytes)\n",
			     offset, end, name, res->bar,
			     (u64)resource_size(r));
		return -EINVAL;
	}
	return 0;
}

static int p2pmr_claimed_cb(struct resource *r, void *arg)
{
	/* As resource_is_exclusive(): busy ranges under IO_STRICT_DEVMEM. */
	return IS_ENABLED(CONFIG_IO_STRICT_DEVMEM) ||
	       (r->flags & IORESOURCE_EXCLUSIVE);
}

static bool p2pmr_range_claimed(resource_size_t start, u64 length)
{
	return walk_iomem_res_desc(IORES_DESC_NONE,
				   IORESOURCE_MEM | IORESOURCE_BUSY, start,
				   start + length - 1, NULL,
				   p2pmr_claimed_cb) == 1;
}

/* The BAR's first page (as sysfs checks) or the range is claimed. */
static bool p2pmr_bar_range_claimed(struct pci_dev *pdev, unsigned int bar,
				    u64 offset, u64 length)
{
	resource_size_t start = pci_resource_start(pdev, bar);

	return p2pmr_range_claimed(start, PAGE_SIZE) ||
	       p2pmr_range_claimed(start + offset, length);
}

/*
 * Memory Space Enable is clear: the device answers no access to its BARs
 * (reads return all ones, writes and a peer's DMA go nowhere).  setpci,
 * a reset in progress, or firmware that never enabled a hot-added device
 * leave it so; the PCI core enables decoding only for a driver.
 */
static bool p2pmr_decode_off(struct pci_dev *pdev)
{
	u16 cmd;

	if (pci_read_config_word(pdev, PCI_COMMAND, &cmd))
		return true;
	return PCI_POSSIBLE_ERROR(cmd) || !(cmd & PCI_COMMAND_MEMORY);
}

/**
 * p2pmr_range_usable() - may an exported range be accessed now
 * @pdev: the BAR's device
 * @bar: BAR number
 * @bar_start: CPU physical start of the BAR when the range was exported
 * @offset: start of the range in the BAR
 * @length: length of the range
 * @what: what is refused, for the log
 *
 * Checks made when an export or peer registration is made can go stale
 * without an event p2pmr sees (driver binding, unbinding and removal
 * revoke, p2pmr_revoke.c): a driver may claim the BAR later without a
 * bind (one bound before the export claiming in its own time, or
 * vfio-pci, which claims on first access; under CONFIG_IO_STRICT_DEVMEM
 * the kernel zaps sysfs mappings then), memory decoding may be turned
 * off through config space, and the BAR may be resized and reassigned.
 * So every new DMA mapping and CPU fault asks again.  Mappings made
 * before are not recalled: no hook tells p2pmr of a config write or a
 * resize it did not make.
 *
 * Return: 0; or, after a rate-limited log line, -ENODEV if the BAR moved
 * or shrank, -EBUSY if a driver claims the range, -EIO if the device
 * does not decode memory.
 */
int p2pmr_range_usable(struct pci_dev *pdev, unsigned int bar,
		       resource_size_t bar_start, u64 offset, u64 length,
		       const char *what)
{
	if (pci_resource_start(pdev, bar) != bar_start ||
	    pci_resource_len(pdev, bar) < offset + length) {
		pr_warn_ratelimited("%s BAR%u was moved or resized since it was exported: %s refused\n",
				    pci_name(pdev), bar, what);
		return -ENODEV;
	}
	if (p2pmr_bar_range_claimed(pdev, bar, offset, length)) {
		pr_warn_ratelimited("%s BAR%u was claimed by a driver (%s) after it was exported: %s refused\n",
				    pci_name(pdev), bar,
				    dev_driver_string(&pdev->dev), what);
		return -EBUSY;
	}
	if (p2pmr_decode_off(pdev)) {
		pr_warn_ratelimited("%s does not decode memory (Memory Space Enable is off in its command register): %s refused\n",
				    pci_name(pdev), what);
		return -EIO;
	}
	return 0;
}

/**
 * p2pmr_device_get() - keep a device, and its BARs decoding, for an export
 * @pdev: the device whose BAR is exported or registered
 *
 * Takes a reference on @pdev and a runtime-PM reference, resuming it if
 * it is suspended.  A driverless device whose power/control is "auto"
 * runtime-suspends at once; the PCI core leaves an unbound device in D0,
 * but its upstream bridge may then suspend and take it to D3cold, where
 * its BARs answer nothing.  VFIO holds the same reference while its
 * device is open.
 *
 * Return: @pdev, or an ERR_PTR() after a log line if it cannot be
 * resumed.
 */
struct pci_dev *p2pmr_device_get(struct pci_dev *pdev)
{
	int ret = pm_runtime_resume_and_get(&pdev->dev);

	if (ret) {
		p2pmr_refuse("%s cannot be resumed from runtime suspend (%d): set its power/control to \"on\" and retry\n",
			     pci_name(pdev), ret);
		return ERR_PTR(ret);
	}
	return pci_dev_get(pdev);
}

/**
 * p2pmr_device_put() - drop what p2pmr_device_get() took
 * @pdev: the device
 */
void p2pmr_device_put(struct pci_dev *pdev)
{
	pm_runtime_put(&pdev->dev);
	pci_dev_put(pdev);
}

/**
 * p2pmr_resource_check_access() - may this BAR range be exported now
 * @res: the BAR
 * @offset: start of the range in the BAR, validated
 * @length: length of the range, validated
 *
 * Refuse what pci_mmap_resource() would refuse: kernel lockdown, and a BAR
 * whose first page a driver has claimed exclusively (iomem_is_exclusive(),
 * which is not exported and is mirrored here).  The exported range itself
 * must not be claimed either.  Unlike sysfs, p2pmr does not relax this for
 * the iomem=relaxed boot option.  Nor does it export a BAR of a device
 * that does not decode memory, which sysfs maps to reads of all ones.
 *
 * Return: 0, -EPERM under lockdown, -EBUSY if a driver claims the range,
 * -EIO if the device does not decode memory.
 */
int p2pmr_resource_check_access(const struct p2pmr_resource *res,
				u64 offset, u64 length)
{
	int ret;

	ret = security_locked_down(LOCKDOWN_PCI_ACCESS);
	if (ret) {
		p2pmr_refuse("kernel lockdown forbids access to PCI BARs\n");
		return ret;
	}
	if (p2pmr_bar_range_claimed(res->pdev, res->bar, offset, length)) {
		p2pmr_refuse("%s BAR%u is claimed by its driver (%s); unbind the driver to export it\n",
			     pci_name(res->pdev), res->bar,
			     dev_driver_string(&res->pdev->dev));
		return -EBUSY;
	}
	if (p2pmr_decode_off(res->pdev)) {
		p2pmr_refuse("%s does not decode memory: Memory Space Enable is off in its command register; enable it (setpci -s %s COMMAND=0x2:0x2) to export BAR%u\n",
			     pci_name(res->pdev), pci_name(res->pdev),
			     res->bar);
		return -EIO;
	}
	return 0;
}

/*
 * Check that @addr of @vma maps @pfn.  Nothing is logged here: the
 * mapping may not be a resource file's at all.
 */
static int p2pmr_check_pfn(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long pfn)
{
	unsigned long got;

	if (p2pmr_follow_pfn(vma, addr, &got))
		return -EFAULT;
	return got == pfn ? 0 : -EINVAL;
}

/* What every vma of one exportable range must have alike. */
#define P2PMR_SPAN_FLAGS	(VM_IO | VM_PFNMAP | VM_SHARED | VM_MAYSHARE | \
				 VM_WRITE)

/**
 * p2pmr_vma_continued() - the vma that continues a mapping of a file
 * @mm: the address space, its mmap lock held
 * @vma: a vma of a file mapping
 *
 * madvise() and mprotect() split a mapping into several vmas: libibverbs'
 * fork protection does, on the range of every ibv_reg_mr()
 * (MADV_DONTFORK), and the pieces are still one mapping of the file.
 *
 * Return: the vma that starts where @vma ends and maps the same file on
 * from where @vma stops, alike in P2PMR_SPAN_FLAGS; NULL if there is none.
 */
struct vm_area_struct *p2pmr_vma_continued(struct mm_struct *mm,
					   struct vm_area_struct *vma)
{
	struct vm_area_struct *next = find_vma(mm, vma->vm_end);

	if (!next || next->vm_start != vma->vm_end ||
	    next->vm_file != vma->vm_file ||
	    next->vm_pgoff != vma->vm_pgoff + vma_pages(vma) ||
	    (next->vm_flags & P2PMR_SPAN_FLAGS) !=
	    (vma->vm_flags & P2PMR_SPAN_FLAGS))
		return NULL;
	return next;
}

/**
 * p2pmr_va_range_check() - refuse a user range no mapping can hold
 * @addr: start of the range
 * @length: its length
 *
 * Return: 0, -EINVAL (zero or not page aligned) or -EOVERFLOW, logged.
 */
int p2pmr_va_range_check(u64 addr, u64 length)
{
	u64 end;

	if (!length || !PAGE_ALIGNED(addr) || !PAGE_ALIGNED(length)) {
		p2pmr_refuse("address %#llx and length %#llx must be nonzero multiples of the page size (%#lx)\n",
			     addr, length, PAGE_SIZE);
		return -EINVAL;
	}
	if (check_add_overflow(addr, length, &end) ||
	    end != (unsigned long)end) {
		p2pmr_refuse("address %#llx + length %#llx overflows\n",
			     addr, length);
		return -EOVERFLOW;
	}
	return 0;
}

/*
 * Check that [addr, end) is mapped by @vma and the vmas after it as one
 * mapping of one file, from PFN @pfn on (its pieces as
 * p2pmr_vma_continued() follows them).  Called with the mmap lock held.
 *
 * A few look-ups prove the whole range, however large: a sysfs resource
 * mapping (the caller identifies the file afterwards) is filled in whole
 * by pci_mmap_resource_range()'s io_remap_pfn_range() at mmap() time,
 * from the PFN it leaves in vm_pgoff, and has no fault handler, and
 * mremap() moves its entries together with vm_pgoff.  Its entries are
 * therefore only ever removed (munmap(), or the kernel zapping the
 * mapping when a driver claims the range under CONFIG_IO_STRICT_DEVMEM),
 * never replaced, and each one that exists maps vm_pgoff + its page
 * index.  So the vmas' files and offsets are what is checked, and the
 * first and last entry of the range in each vma are looked up, to refuse
 * a mapping the kernel revoked and one that is not what its vma says.
 * A hole left by a claim that was later released is not looked for: the
 * export's authority is the mapped file (p2pmr_resource_check_access()
 * refuses a range still claimed), which could map the hole again.  The
 * private mappings whose entries copy-on-write replaces are refused by
 * the caller.
 *
 * On failure *@bad is the first address that does not pass: -EFAULT no
 * page table entry there, -EINVAL one of another PFN, -ENOENT the mapping
 * ends there.  Nothing is logged here (see p2pmr_check_pfn()).
 */
static int p2pmr_check_span(struct mm_struct *mm, struct vm_area_struct *vma,
			    unsigned long addr, unsigned long end,
			    unsigned long pfn, unsigned long *bad)
{
	unsigned long stop, last;
	struct vm_area_struct *next;
	int ret;

	for (;;) {
		stop = min(end, vma->vm_end);
		last = stop - PAGE_SIZE;
		*bad = addr;
		ret = p2pmr_check_pfn(vma, addr, pfn);
		if (!ret && last != addr) {
			*bad = last;
			ret = p2pmr_check_pfn(vma, last,
					      pfn + ((last - addr) >> PAGE_SHIFT));
		}
		if (ret || stop == end)
			return ret;
		next = p2pmr_vma_continued(mm, vma);
		if (!next) {
			*bad = stop;
			return -ENOENT;
		}
		pfn += (stop - addr) >> PAGE_SHIFT;
		addr = stop;
		vma = next;
	}
}

/* Log why p2pmr_check_span() failed; returns the errno for the caller. */
static int p2pmr_span_refuse(int ret, unsigned long bad)
{
	switch (ret) {
	case -EFAULT:
		p2pmr_refuse("no page table entry at %#lx: the kernel revoked this BAR mapping\n",
			     bad);
		return ret;
	case -ENOENT:
		p2pmr_refuse("range extends past its mapping at %#lx: register each mapping on its own\n",
			     bad);
		return -EINVAL;
	default:
		p2pmr_refuse("mapping at %#lx does not map its BAR contiguously\n",
			     bad);
		return ret;
	}
}

/**
 * struct p2pmr_va_span - what the mapping of a user range says
 * @file: the mapped file, referenced
 * @pfn: the PFN its vma says maps the range's first page
 * @vm_flags: the vma's flags
 * @ret: p2pmr_check_span()'s answer, logged by p2pmr_span_refuse()
 * @bad: p2pmr_check_span()'s *@bad
 */
struct p2pmr_va_span {
	struct file *file;
	unsigned long pfn;
	vm_flags_t vm_flags;
	int ret;
	unsigned long bad;
};

/*
 * Look at the mapping of [addr, addr + length) in current's address
 * space: it must be a PFN mapping of a file.  Whether the file is a
 * resource file is the caller's to find out, after the mmap lock is
 * dropped, so that no kernfs or PCI lock nests inside it; a PTE mismatch
 * is reported in @span->ret for the caller to log once it knows.  With
 * @quiet, ranges outside such mappings log nothing.
 *
 * Return: 0 with @span->file referenced, or a negative errno.
 */
static int p2pmr_va_span_get(u64 addr, u64 length, bool quiet,
			     struct p2pmr_va_span *span)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	int ret;

	ret = p2pmr_va_range_check(addr, length);
	if (ret)
		return ret;
	if (!mm)
		return -EFAULT;

	if (mmap_read_lock_killable(mm))
		return -EINTR;

	vma = vma_lookup(mm, addr);
	if (!vma) {
		mmap_read_unlock(mm);
		if (!quiet)
			p2pmr_refuse("nothing is mapped at %#llx\n", addr);
		return -EFAULT;
	}
	if (!vma->vm_file ||
	    (vma->vm_flags & (VM_IO | VM_PFNMAP)) != (VM_IO | VM_PFNMAP)) {
		mmap_read_unlock(mm);
		if (!quiet)
			p2pmr_refuse("%#llx is not in a mapping of a PCI resource file\n",
				     addr);
		return -EINVAL;
	}

	span->pfn = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	span->ret = p2pmr_check_span(mm, vma, addr, addr + length, span->pfn,
				     &span->bad);
	span->vm_flags = vma->vm_flags;
	span->file = get_file(vma->vm_file);
	mmap_read_unlock(mm);
	return 0;
}

/* A MAP_SHARED mapping of a read-only fd keeps only VM_MAYSHARE. */
static int p2pmr_span_writable(const struct p2pmr_va_span *span, u64 addr)
{
	if ((span->vm_flags & VM_SHARED) && (span->vm_flags & VM_WRITE))
		return 0;
	p2pmr_refuse("mapping at %#llx is %s: map %pD2 with MAP_SHARED and PROT_WRITE\n",
		     addr, span->vm_flags & VM_MAYSHARE ? "read-only" :
		     "private", span->file);
	return -EACCES;
}

/**
 * p2pmr_resource_from_va() - identify the BAR behind a user address range
 * @addr: start of the range in current's address space
 * @length: length of the range
 * @flags: P2PMR_VA_QUIET: no log line when the range is not in a PFN
 *	mapping of a sysfs resource file (the peer-memory client is asked
 *	about every range the RDMA core could not pin, most of them not
 *	BARs); refusals of BAR mappings are logged either way
 * @res: filled in on success; release with p2pmr_resource_put()
 * @offset: returns the offset of @addr within the BAR
 *
 * The range must lie inside one writable shared mapping of a sysfs
 * resource file (one vma, or several that madvise() or mprotect() split
 * it into, alike in the rest), which maps the BAR contiguously
 * (p2pmr_check_span()), and inside the BAR
 * (p2pmr_resource_validate_range()).  pci_mmap_resource_range() leaves
 * vm_pgoff at the PFN the vma maps at vm_start.
 *
 * Return: 0 or a negative errno as documented in <linux/p2pmr.h>.
 */
int p2pmr_resource_from_va(u64 addr, u64 length, unsigned int flags,
			   struct p2pmr_resource *res, u64 *offset)
{
	bool quiet = flags & P2PMR_VA_QUIET;
	struct p2pmr_va_span span;
	unsigned long bar_pfn;
	int ret;

	ret = p2pmr_va_span_get(addr, length, quiet, &span);
	if (ret)
		return ret;

	/* Quiet callers first learn whether the mapping is a BAR's. */
	if (span.ret && !quiet) {
		ret = p2pmr_span_refuse(span.ret, span.bad);
		goto out_fput;
	}
	ret = p2pmr_resource_identify(span.file, flags, res);
	if (ret)
		goto out_fput;
	if (span.ret) {
		ret = p2pmr_span_refuse(span.ret, span.bad);
		goto out_put_res;
	}
	ret = p2pmr_span_writable(&span, addr);
	if (ret)
		goto out_put_res;

	bar_pfn = PHYS_PFN(pci_resource_start(res->pdev, res->bar));
	if (span.pfn < bar_pfn) {
		p2pmr_refuse("mapping at %#llx is not a mapping of %s BAR%u\n",
			     addr, pci_name(res->pdev), res->bar);
		ret = -EINVAL;
		goto out_put_res;
	}
	*offset = (u64)(span.pfn - bar_pfn) << PAGE_SHIFT;
	ret = p2pmr_resource_validate_range(res, *offset, length);
	if (ret)
		goto out_put_res;
	fput(span.file);
	return 0;

out_put_res:
	p2pmr_resource_put(res);
out_fput:
	fput(span.file);
	return ret;
}

/**
 * p2pmr_export_match_va() - is a user range still what an export covers
 * @exp: the export
 * @addr: start of the range in current's address space
 * @length: length of the range
 * @offset: returns the offset of @addr within @exp's dma-buf
 *
 * The proof of p2pmr_resource_from_va(), against a known export instead
 * of a kernfs walk: the range must lie inside one writable shared mapping
 * of the very resource file @exp was made from (compared by its kernfs
 * node, which @exp holds), and map the part of the BAR that @exp covers.
 * This is what lets userspace keep one export per BAR mapping and reuse
 * it for every registration inside it: a mapping unmapped, replaced (by
 * host memory or another BAR), made read-only or private since, or an
 * export revoked since, fails here.  Nothing else is checked: a range a
 * driver claimed or a BAR moved since is refused when the dma-buf is
 * mapped.
 *
 * Return: 0; -ESTALE if the range maps something @exp does not cover;
 * -ENODEV if @exp was revoked; else as p2pmr_resource_from_va().
 */
int p2pmr_export_match_va(const struct p2pmr_export *exp, u64 addr,
			  u64 length, u64 *offset)
{
	struct p2pmr_va_span span;
	unsigned long bar_pfn = PHYS_PFN(exp->bar_start);
	u64 bar_offset;
	int ret;

	/* first: the mappings of a revoked BAR are gone too (EFAULT) */
	if (READ_ONCE(exp->revoked)) {
		p2pmr_refuse("dma-buf %llu of %s BAR%u was revoked: export the range again\n",
			     exp->id, pci_name(exp->pdev), exp->bar);
		return -ENODEV;
	}
	ret = p2pmr_va_span_get(addr, length, false, &span);
	if (ret)
		return ret;
	if (p2pmr_sysfs_node(span.file) != exp->kn) {
		p2pmr_refuse("%#llx is not in a mapping of %s BAR%u%s, which dma-buf %llu was exported from: export the range again\n",
			     addr, pci_name(exp->pdev), exp->bar,
			     exp->wc ? " (write-combining)" : "", exp->id);
		ret = -ESTALE;
		goto out_fput;
	}
	if (span.ret) {
		ret = p2pmr_span_refuse(span.ret, span.bad);
		goto out_fput;
	}
	ret = p2pmr_span_writable(&span, addr);
	if (ret)
		goto out_fput;

	bar_offset = (u64)(span.pfn - bar_pfn) << PAGE_SHIFT;
	if (span.pfn < bar_pfn || bar_offset < exp->offset ||
	    bar_offset - exp->offset > exp->length - length ||
	    length > exp->length) {
		p2pmr_refuse("%#llx + %#llx maps %s BAR%u at %#llx, outside dma-buf %llu (%#llx + %#llx): export the range again\n",
			     addr, length, pci_name(exp->pdev), exp->bar,
			     span.pfn < bar_pfn ? 0 : bar_offset, exp->id,
			     exp->offset, exp->length);
		ret = -ESTALE;
		goto out_fput;
	}
	*offset = bar_offset - exp->offset;
out_fput:
	fput(span.file);
	return ret;
}
