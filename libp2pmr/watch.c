// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Watches: the kernel's word, readable from memory, that a range checked
 * once still maps what it did (P2PMR_IOCTL_WATCH_VA).
 *
 * The export cache and the classification keep what they learnt about a
 * BAR mapping, and must not use it once the mapping changed.  Asking the
 * kernel again (CHECK_VA) on every use costs a system call, which is most
 * of a 4 KiB registration and all of a classification.  A watch moves the
 * asking to the kernel's side: it counts every page table invalidation of
 * the range (munmap, MAP_FIXED over it, mremap, mprotect, a zap) and the
 * revocation of the dma-buf, in a counter of a page the library maps
 * read-only.  While the counter still reads what WATCH_VA returned, the
 * check WATCH_VA made holds, as a CHECK_VA would answer now: the count is
 * taken before the check and raised before any change takes effect.
 *
 * Watches belong to one address space.  The child of a fork() has its own
 * and inherits the parent's counters only as copies that never move, so
 * it must not trust them.  The state that says where the counters are
 * lives in a MADV_WIPEONFORK page: any child, even one made by a raw
 * clone() that runs no fork handler, reads zeros there and opens a
 * /dev/p2pmr of its own when it needs one.  Each table gets an epoch,
 * never reused in a process or its descendants, and each watch names its
 * table's epoch, so a watch inherited from the parent is never read
 * against the child's counters.
 *
 * A module without WATCH_VA answers ENOTTY: the callers then check with
 * CHECK_VA as before, and the library does not ask again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "p2pmr_internal.h"

/* in the MADV_WIPEONFORK page: zeros in a child */
struct watch_state {
	uint64_t epoch;			/* atomic; 0: no table */
	const uint64_t *counters;	/* set before epoch */
	uint32_t nr_slots;
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch_state *state;	/* atomic: set once, under the lock */
/* under the lock; not wiped, so a child's epochs follow its parent's */
static uint64_t last_epoch;
static int table_fd = -1;
static bool unsupported;	/* atomic: the module has no WATCH_VA */

static struct watch_state *state_page(void)
{
	struct watch_state *st = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
	size_t page = p2pmr_page_size();

	if (st)
		return st;
	st = mmap(NULL, page, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return NULL;
	if (madvise(st, page, MADV_WIPEONFORK)) {
		/* before Linux 4.14: a child would trust its copies */
		p2pmr_dbg("watches: MADV_WIPEONFORK: %s: not used",
			  strerror(errno));
		munmap(st, page);
		return NULL;
	}
	__atomic_store_n(&state, st, __ATOMIC_RELEASE);
	return st;
}

/*
 * The table of this address space, opened on first use.  Caller holds the
 * lock.  Return: 0, or an errno (ENOTTY: none can be had here).
 */
static int table_get_locked(struct watch_state **stp)
{
	struct watch_state *st = state_page();
	size_t page = p2pmr_page_size();
	void *counters;
	int fd, err;

	if (!st) {
		__atomic_store_n(&unsupported, true, __ATOMIC_RELAXED);
		return ENOTTY;
	}
	*stp = st;
	if (st->epoch)
		return 0;
	/*
	 * A table fd inherited from the parent was closed by the fork
	 * handler; a child of a raw clone() keeps it, unused.
	 */
	fd = p2pmr_dev_open();
	if (fd < 0)
		return errno;
	counters = p2pmr_ops->mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	if (counters == MAP_FAILED) {
		err = errno;
		/* a module without watches, or not /dev/p2pmr at all */
		p2pmr_dbg("watches: mmap of the watch page: %s: not used",
			  strerror(err));
		__atomic_store_n(&unsupported, true, __ATOMIC_RELAXED);
		close(fd);
		return ENOTTY;
	}
	table_fd = fd;
	st->counters = counters;
	st->nr_slots = page / sizeof(uint64_t);
	__atomic_store_n(&st->epoch, ++last_epoch, __ATOMIC_RELEASE);
	return 0;
}

int p2pmr_watch_va(const void *addr, size_t length, int dmabuf_fd,
		   struct p2pmr_watch *w, struct p2pmr_check_va *out)
{
	struct p2pmr_watch_va cmd;
	struct watch_state *st;
	int err, cancel_state;

	memset(w, 0, sizeof(*w));
	if (__atomic_load_n(&unsupported, __ATOMIC_RELAXED))
		return ENOTTY;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	pthread_mutex_lock(&watch_lock);
	err = table_get_locked(&st);
	if (err)
		goto out;
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.addr = (uintptr_t)addr;
	cmd.length = length;
	cmd.dmabuf_fd = dmabuf_fd;
	err = 0;
	if (p2pmr_ops->ioctl(table_fd, P2PMR_IOCTL_WATCH_VA, &cmd)) {
		err = errno;
		p2pmr_dbg("watch of %p+0x%zx against dma-buf fd %d: %s",
			  addr, length, dmabuf_fd, strerror(err));
		if (err == ENOTTY)
			__atomic_store_n(&unsupported, true, __ATOMIC_RELAXED);
		goto out;
	}
	if (cmd.out_slot >= st->nr_slots) {
		/* not the kernel this was written for: trust nothing */
		p2pmr_err("watch of %p+0x%zx: slot %u past the watch page",
			  addr, length, cmd.out_slot);
		err = EPROTO;
		goto out;
	}
	w->epoch = st->epoch;
	w->slot = cmd.out_slot;
	w->seq = cmd.out_seq;
	memset(out, 0, sizeof(*out));
	out->addr = cmd.addr;
	out->length = cmd.length;
	out->dmabuf_fd = cmd.dmabuf_fd;
	out->out_bar = cmd.out_bar;
	out->out_offset = cmd.out_offset;
	out->out_bar_offset = cmd.out_bar_offset;
	out->out_flags = cmd.out_flags;
	out->out_pci_domain = cmd.out_pci_domain;
	out->out_pci_bus = cmd.out_pci_bus;
	out->out_pci_devfn = cmd.out_pci_devfn;
out:
	pthread_mutex_unlock(&watch_lock);
	pthread_setcancelstate(cancel_state, NULL);
	return err;
}

bool p2pmr_watch_intact(const struct p2pmr_watch *w)
{
	struct watch_state *st = __atomic_load_n(&state, __ATOMIC_ACQUIRE);

	if (!w->epoch || !st ||
	    __atomic_load_n(&st->epoch, __ATOMIC_ACQUIRE) != w->epoch)
		return false;
	return __atomic_load_n(&st->counters[w->slot], __ATOMIC_ACQUIRE) ==
	       w->seq;
}

void p2pmr_watch_end(struct p2pmr_watch *w)
{
	struct p2pmr_unwatch cmd;
	struct watch_state *st;

	pthread_mutex_lock(&watch_lock);
	st = state;
	/* a parent's watch, in a child: the parent's table is not ours */
	if (w->epoch && st && st->epoch == w->epoch) {
		memset(&cmd, 0, sizeof(cmd));
		cmd.size = sizeof(cmd);
		cmd.slot = w->slot;
		if (p2pmr_ops->ioctl(table_fd, P2PMR_IOCTL_UNWATCH, &cmd))
			p2pmr_dbg("end of watch slot %u: %s", w->slot,
				  strerror(errno));
	}
	pthread_mutex_unlock(&watch_lock);
	memset(w, 0, sizeof(*w));
}

/* Tests only: a reader of the counters may not run meanwhile. */
void p2pmr_watch_reset(void)
{
	struct watch_state *st;

	pthread_mutex_lock(&watch_lock);
	st = state;
	if (st && st->epoch) {
		__atomic_store_n(&st->epoch, 0, __ATOMIC_RELEASE);
		p2pmr_ops->munmap((void *)st->counters, p2pmr_page_size());
		st->counters = NULL;
	}
	if (table_fd >= 0)
		close(table_fd);
	table_fd = -1;
	__atomic_store_n(&unsupported, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&watch_lock);
}

void p2pmr_watch_fork_lock(void)
{
	pthread_mutex_lock(&watch_lock);
}

void p2pmr_watch_fork_unlock(void)
{
	pthread_mutex_unlock(&watch_lock);
}

/* In the child, before anything else runs: the table is the parent's. */
void p2pmr_watch_fork_child(void)
{
	if (table_fd >= 0)
		close(table_fd);
	table_fd = -1;
	pthread_mutex_unlock(&watch_lock);
}
