// SPDX-License-Identifier: GPL-2.0
/*
 * Watches: WATCH_VA keeps CHECK_VA's answer for a user range valid for
 * as long as a counter in memory says so, so that a cache of exports per
 * mapping (libp2pmr) checks a range with one load instead of an ioctl.
 *
 * Each open /dev/p2pmr may hold a watch table (file->private_data, made
 * by the first WATCH_VA or mmap()): one zeroed page of u64 counters that
 * userspace maps read-only, and a watch per slot in use.  A watch is an
 * mmu_interval_notifier over the range in the table's address space,
 * whose invalidate callback adds one to the slot's counter before the
 * page tables change, and, with a p2pmr dma-buf, an entry on the
 * export's list of watches, whose revocation adds one too.  A watch
 * without a dma-buf is on p2pmr_bar_watches instead, which the removal of
 * any PCI device moves on: removal does not zap the mappings of a
 * device's resource files (they map through the iomem address space, not
 * the file's), yet their range stops being what CHECK_VA accepts.
 *
 * WATCH_VA inserts the notifier, then reads the counter (the answer's
 * out_seq), then waits in mmu_interval_read_begin() for an invalidation
 * of the range already under way, and only then checks the range: an
 * invalidation that has not finished before the check either moved the
 * counter past out_seq or was waited for.
 *
 * Locking, outermost first:
 *
 *   table->lock	the slots and the table's mm; held across a whole
 *			WATCH_VA or UNWATCH, so it comes before
 *   mmap_lock		(the check, mmu_interval_notifier_insert()) and
 *   export->lock	the export's list of watches, which
 *			p2pmr_export_revoke() walks while it revokes;
 *			or p2pmr_bar_watches_lock, for a watch without
 *			a dma-buf, which the PCI notifier takes alone
 *
 * mmap() of the table runs under mmap_lock and so never takes
 * table->lock: the page it maps is set before the table is published.
 * The invalidate callback takes no lock at all; it runs in page table
 * code that may not sleep, under any of those locks (a revocation zaps
 * CPU mappings with export->lock held).
 */
#define pr_fmt(fmt) "p2pmr: " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "p2pmr.h"

/* Counters of the watch page, one per slot. */
#define P2PMR_WATCH_SLOTS	(PAGE_SIZE / sizeof(u64))

/*
 * Watches made without a dma-buf, of every file.  A watch joins the list
 * before its check, when it does not know its device yet, so a removal
 * moves them all on: removals are rare, and a counter may move for a
 * change that leaves the answer true.
 */
static DEFINE_MUTEX(p2pmr_bar_watches_lock);
static LIST_HEAD(p2pmr_bar_watches);

/**
 * struct p2pmr_watch_table - the watches of one open /dev/p2pmr
 * @lock: protects @mm and @slots
 * @page: the counters, mapped read-only by userspace; set before the
 *	table is published, freed with it
 * @counters: @page seen from the kernel
 * @mm: the address space of every watch, set by the first WATCH_VA and
 *	grabbed (mmgrab()) so that it cannot be reused by another process
 * @slots: the watch of each slot in use, NULL where free
 */
struct p2pmr_watch_table {
	struct mutex lock;
	struct page *page;
	atomic64_t *counters;
	struct mm_struct *mm;
	struct p2pmr_watch *slots[];
};

/**
 * struct p2pmr_watch - one watched range
 * @mni: the notifier over the range in @table->mm
 * @table: the table the watch is in
 * @counter: the slot's counter
 * @dmabuf: the p2pmr dma-buf of the watch (reference held), or NULL
 * @exp_node: entry in the export's @watches, under its lock, or without
 *	@dmabuf in p2pmr_bar_watches
 * @slot: index of @counter in the watch page
 * @seq: @counter when the watch began
 */
struct p2pmr_watch {
	struct mmu_interval_notifier mni;
	struct p2pmr_watch_table *table;
	atomic64_t *counter;
	struct dma_buf *dmabuf;
	struct list_head exp_node;
	u32 slot;
	u64 seq;
};

/* One more change of the watch's range. */
static void p2pmr_watch_bump(struct p2pmr_watch *w)
{
	/*
	 * Ordered after what the caller wrote before (the notifier's
	 * sequence, an export's @revoked): pairs with the smp_rmb() in
	 * p2pmr_watch_begin(), so that a WATCH_VA that reads the new count
	 * also sees why it moved.
	 */
	smp_mb__before_atomic();
	atomic64_inc(w->counter);
}

static bool p2pmr_watch_invalidate(struct mmu_interval_notifier *mni,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct p2pmr_watch *w = container_of(mni, struct p2pmr_watch, mni);

	/*
	 * Not for mmu_interval_read_retry() (nothing here is retried) but
	 * for mmu_interval_read_begin() in WATCH_VA: it waits for the end
	 * of an invalidation only if the notifier recorded its sequence.
	 */
	mmu_interval_set_seq(mni, cur_seq);
	p2pmr_watch_bump(w);
	/* Never sleeps: fine for non-blockable ranges too. */
	return true;
}

static const struct mmu_interval_notifier_ops p2pmr_watch_ops = {
	.invalidate = p2pmr_watch_invalidate,
};

/*
 * The file's table, made on first use.  Tables are published with
 * cmpxchg() and never replaced, so no lock is needed to find one, and
 * mmap() (under mmap_lock) can make one too.
 */
static struct p2pmr_watch_table *p2pmr_watch_table_get(struct file *file)
{
	struct p2pmr_watch_table *t, *old;

	/* Pairs with the cmpxchg() below: a table seen is initialised. */
	t = smp_load_acquire(&file->private_data);
	if (t)
		return t;

	t = kvzalloc(struct_size(t, slots, P2PMR_WATCH_SLOTS),
		     GFP_KERNEL_ACCOUNT);
	if (!t)
		return ERR_PTR(-ENOMEM);
	t->page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!t->page) {
		kvfree(t);
		return ERR_PTR(-ENOMEM);
	}
	t->counters = page_address(t->page);
	mutex_init(&t->lock);

	/* cmpxchg() orders the stores above before the table's pointer. */
	old = cmpxchg(&file->private_data, NULL, t);
	if (old) {
		__free_page(t->page);
		mutex_destroy(&t->lock);
		kvfree(t);
		return old;
	}
	return t;
}

static struct p2pmr_watch_table *p2pmr_watch_table_find(struct file *file)
{
	/* As in p2pmr_watch_table_get(). */
	return smp_load_acquire(&file->private_data);
}

/*
 * Watches belong to one address space: the notifiers are in it, and the
 * ranges name addresses in it.  A table is bound to the first WATCH_VA's,
 * or to none while it has never held a watch.  Caller holds @t->lock.
 */
static int p2pmr_watch_same_mm(struct p2pmr_watch_table *t, const char *what)
{
	if (!t->mm || t->mm == current->mm)
		return 0;
	p2pmr_refuse("%s: this /dev/p2pmr fd watches another process's address space (inherited across fork()?): open /dev/p2pmr anew\n",
		     what);
	return -EXDEV;
}

/* Ends @w and frees its slot.  Caller holds @w->table->lock. */
static void p2pmr_watch_end(struct p2pmr_watch *w)
{
	struct p2pmr_export *exp;

	/* Returns once the callback no longer runs anywhere. */
	mmu_interval_notifier_remove(&w->mni);
	if (w->dmabuf) {
		exp = p2pmr_export_from_dmabuf(w->dmabuf);
		mutex_lock(&exp->lock);
		list_del(&w->exp_node);
		mutex_unlock(&exp->lock);
		dma_buf_put(w->dmabuf);
	} else {
		mutex_lock(&p2pmr_bar_watches_lock);
		list_del(&w->exp_node);
		mutex_unlock(&p2pmr_bar_watches_lock);
	}
	/* No copy of this watch's seq may match the slot's next watch. */
	p2pmr_watch_bump(w);
	w->table->slots[w->slot] = NULL;
	kfree(w);
	atomic_long_dec(&p2pmr_stats.watches);
}

/**
 * p2pmr_watch_begin() - start watching a user range, before checking it
 * @file: the /dev/p2pmr file
 * @addr: start of the range in current's address space
 * @length: its length
 * @dmabuf: the p2pmr dma-buf the range should lie in (the watch takes a
 *	reference of its own), or NULL
 *
 * Inserts the notifier and reads the counter (p2pmr_watch_seq()), then
 * waits until no invalidation that started before is under way.  The
 * caller checks the range next and ends with p2pmr_watch_commit() or
 * p2pmr_watch_abort(); until then it holds the table's lock.
 *
 * Return: the watch; ERR_PTR(-EXDEV) if the file's watches are in another
 * address space, -EINVAL or -EOVERFLOW for a range no mapping can hold
 * (as CHECK_VA), -ENOSPC if every slot is in use, or -ENOMEM.
 */
struct p2pmr_watch *p2pmr_watch_begin(struct file *file, u64 addr,
				      u64 length, struct dma_buf *dmabuf)
{
	struct p2pmr_watch_table *t;
	struct p2pmr_export *exp;
	struct p2pmr_watch *w;
	unsigned int slot;
	int ret;

	t = p2pmr_watch_table_get(file);
	if (IS_ERR(t))
		return ERR_CAST(t);

	mutex_lock(&t->lock);
	ret = p2pmr_watch_same_mm(t, "WATCH_VA");
	if (ret)
		goto err_unlock;
	/* The notifier comes before the check: refuse what it would. */
	ret = p2pmr_va_range_check(addr, length);
	if (ret)
		goto err_unlock;
	for (slot = 0; slot < P2PMR_WATCH_SLOTS; slot++)
		if (!t->slots[slot])
			break;
	if (slot == P2PMR_WATCH_SLOTS) {
		p2pmr_refuse("WATCH_VA: all %lu slots of this fd's watch page are in use: UNWATCH some\n",
			     P2PMR_WATCH_SLOTS);
		ret = -ENOSPC;
		goto err_unlock;
	}
	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w) {
		ret = -ENOMEM;
		goto err_unlock;
	}
	w->table = t;
	w->slot = slot;
	w->counter = &t->counters[slot];
	INIT_LIST_HEAD(&w->exp_node);

	ret = mmu_interval_notifier_insert(&w->mni, current->mm, addr, length,
					   &p2pmr_watch_ops);
	if (ret)
		goto err_free;
	if (!t->mm) {
		mmgrab(current->mm);
		t->mm = current->mm;
	}
	if (dmabuf) {
		/* On the list before the count is read: see revocation. */
		exp = p2pmr_export_from_dmabuf(dmabuf);
		get_dma_buf(dmabuf);
		w->dmabuf = dmabuf;
		mutex_lock(&exp->lock);
		list_add_tail(&w->exp_node, &exp->watches);
		mutex_unlock(&exp->lock);
	} else {
		mutex_lock(&p2pmr_bar_watches_lock);
		list_add_tail(&w->exp_node, &p2pmr_bar_watches);
		mutex_unlock(&p2pmr_bar_watches_lock);
	}
	t->slots[slot] = w;
	atomic_long_inc(&p2pmr_stats.watches);

	w->seq = atomic64_read(w->counter);
	/* Pairs with p2pmr_watch_bump(): the check sees what moved it. */
	smp_rmb();
	mmu_interval_read_begin(&w->mni);
	return w;

err_free:
	kfree(w);
err_unlock:
	mutex_unlock(&t->lock);
	return ERR_PTR(ret);
}

/**
 * p2pmr_watch_slot() - the slot of a watch, for userspace
 * @w: a watch from p2pmr_watch_begin()
 *
 * Return: its index in the watch page.
 */
u32 p2pmr_watch_slot(const struct p2pmr_watch *w)
{
	return w->slot;
}

/**
 * p2pmr_watch_seq() - the count a watch began at
 * @w: a watch from p2pmr_watch_begin()
 *
 * Return: the slot's counter when the watch began.
 */
u64 p2pmr_watch_seq(const struct p2pmr_watch *w)
{
	return w->seq;
}

/**
 * p2pmr_watch_commit() - keep a watch whose range passed the check
 * @w: a watch from p2pmr_watch_begin()
 */
void p2pmr_watch_commit(struct p2pmr_watch *w)
{
	mutex_unlock(&w->table->lock);
}

/**
 * p2pmr_watch_abort() - end a watch whose range failed the check
 * @w: a watch from p2pmr_watch_begin(); freed here
 */
void p2pmr_watch_abort(struct p2pmr_watch *w)
{
	struct p2pmr_watch_table *t = w->table;

	p2pmr_watch_end(w);
	mutex_unlock(&t->lock);
}

/**
 * p2pmr_unwatch() - UNWATCH: end a watch of this file
 * @file: the /dev/p2pmr file
 * @slot: the watch's slot
 *
 * Return: 0; -EINVAL if @slot holds no watch; -EXDEV if the file's
 * watches are in another address space.
 */
int p2pmr_unwatch(struct file *file, u32 slot)
{
	struct p2pmr_watch_table *t = p2pmr_watch_table_find(file);
	int ret;

	if (!t)
		goto not_watched;
	mutex_lock(&t->lock);
	ret = p2pmr_watch_same_mm(t, "UNWATCH");
	if (ret) {
		mutex_unlock(&t->lock);
		return ret;
	}
	if (slot >= P2PMR_WATCH_SLOTS || !t->slots[slot]) {
		mutex_unlock(&t->lock);
		goto not_watched;
	}
	p2pmr_watch_end(t->slots[slot]);
	mutex_unlock(&t->lock);
	return 0;

not_watched:
	p2pmr_refuse("UNWATCH: slot %u holds no watch of this fd\n", slot);
	return -EINVAL;
}

/**
 * p2pmr_watches_revoked() - an export was revoked: move its watches on
 * @exp: the export, its @revoked already set; caller holds @exp->lock
 */
void p2pmr_watches_revoked(struct p2pmr_export *exp)
{
	struct p2pmr_watch *w;

	lockdep_assert_held(&exp->lock);
	list_for_each_entry(w, &exp->watches, exp_node)
		p2pmr_watch_bump(w);
}

/**
 * p2pmr_watches_device_removed() - a PCI device is going: move the
 * watches without a dma-buf on
 *
 * Called once its resource files are gone, before the PCI core releases
 * its BARs (which another device may get next).
 */
void p2pmr_watches_device_removed(void)
{
	struct p2pmr_watch *w;

	mutex_lock(&p2pmr_bar_watches_lock);
	list_for_each_entry(w, &p2pmr_bar_watches, exp_node)
		p2pmr_watch_bump(w);
	mutex_unlock(&p2pmr_bar_watches_lock);
}

/**
 * p2pmr_watch_mmap() - mmap() of /dev/p2pmr: the watch page, read-only
 * @file: the /dev/p2pmr file
 * @vma: one page at offset 0, MAP_SHARED, without PROT_WRITE
 *
 * The page is the kernel's counters: userspace may only read them, and
 * the mapping is not inherited (the child has other watches, if any).
 *
 * Return: 0; -EINVAL for another offset or size or a private mapping;
 * -EACCES for a writable one; -ENOMEM.
 */
int p2pmr_watch_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct p2pmr_watch_table *t;

	if (vma->vm_pgoff || vma_pages(vma) != 1) {
		p2pmr_refuse("the watch page is one page at offset 0: mmap(NULL, %lu, PROT_READ, MAP_SHARED, fd, 0)\n",
			     PAGE_SIZE);
		return -EINVAL;
	}
	if (!(vma->vm_flags & VM_MAYSHARE)) {
		p2pmr_refuse("the watch page must be mapped MAP_SHARED\n");
		return -EINVAL;
	}
	if (vma->vm_flags & VM_WRITE) {
		p2pmr_refuse("the watch page is read-only: map it PROT_READ\n");
		return -EACCES;
	}
	t = p2pmr_watch_table_get(file);
	if (IS_ERR(t))
		return PTR_ERR(t);

	/* Nor may mprotect() make it writable later. */
	vm_flags_clear(vma, VM_MAYWRITE);
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	/* The mapping takes a page reference of its own. */
	return vm_insert_page(vma, vma->vm_start, t->page);
}

/**
 * p2pmr_watch_release() - the /dev/p2pmr file is released: end its watches
 * @file: the file
 *
 * Its mappings of the watch page held it open, so there are none left.
 */
void p2pmr_watch_release(struct file *file)
{
	struct p2pmr_watch_table *t = p2pmr_watch_table_find(file);
	unsigned int slot;

	if (!t)
		return;
	/* Nobody else can reach the table now; the lock is for lockdep. */
	mutex_lock(&t->lock);
	for (slot = 0; slot < P2PMR_WATCH_SLOTS; slot++)
		if (t->slots[slot])
			p2pmr_watch_end(t->slots[slot]);
	mutex_unlock(&t->lock);
	if (t->mm)
		mmdrop(t->mm);
	__free_page(t->page);
	mutex_destroy(&t->lock);
	kvfree(t);
}
