// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * The export cache: one dma-buf per BAR mapping, reused for every
 * registration inside it.
 *
 * A fresh export per registration costs an EXPORT_VA, a new dma-buf file
 * and its release, and, for importers that vmap, a new kernel mapping:
 * twice a host registration of the same size.  The cache exports a
 * mapping whole, once, and registers each range at its offset in that
 * dma-buf.
 *
 * It must never register memory the range no longer maps.  Between two
 * registrations the mapping may have been unmapped and replaced (by host
 * memory, another BAR or another part of this one, with MAP_FIXED or by
 * an allocator reusing the address), made read-only, split, or the
 * dma-buf revoked by the kernel.  None of that tells the library, and
 * /proc/self/maps costs milliseconds in a large process and can be stale
 * the moment it is read.  So the kernel is asked, with
 * P2PMR_IOCTL_CHECK_VA: is [start, end) now a writable shared mapping of
 * the very resource file this dma-buf was exported from, mapping a part of
 * the BAR the dma-buf covers, and the dma-buf not revoked?  That is the
 * proof EXPORT_VA itself makes (without its lockdown, claim and decode
 * checks, which the dma-buf's map repeats), against the caller's own
 * address space: a child after fork() is answered for its own mappings.
 * Registering the dma-buf later is what ibv_reg_mr() of host memory is
 * too: a use of what the range mapped when it was checked.
 *
 * The question costs a system call, most of a 4 KiB registration, so it
 * is asked once per mapping: the whole mapping is checked when exported,
 * with a watch (P2PMR_IOCTL_WATCH_VA, watch.c), and while the watch's
 * counter has not moved, no page table entry of the mapping was
 * invalidated and the dma-buf was not revoked, so the answer stands for
 * every range inside it.  A counter that moved (or a watch of the parent,
 * in a child) is watched again, which checks the whole mapping anew; if
 * that fails, the range alone is checked with CHECK_VA, which gives the
 * precise answer.  Where the kernel has no watches, every use is checked.
 *
 * A failed check drops the entry (the caller then exports the range on
 * its own, which gives the kernel's precise refusal); a mapping the kernel
 * will not export whole (a piece read-only, a part claimed) is remembered
 * as such until the next p2pmr_classify_flush(), so that it costs one
 * failed export, not one per registration.  Entries hold their device out
 * of runtime suspend, as any export does, until evicted, flushed
 * (p2pmr_classify_flush()), unmapped by p2pmr_bar_close(), or the process
 * exits; a revocation does not wait for them (they hold no mapping).
 *
 * GPU allocations are kept the same way, one dma-buf of the GPU driver's
 * per allocation (gpu.c).  Their proof of identity is the runtime's: an
 * allocation's buffer id, which the runtime never gives two allocations
 * of a process, is part of the key, and the caller has just read it for
 * the range.  An allocation freed and another made at the same address
 * has another id: the old entry is dropped when the new one is filled.
 * An entry of a freed allocation keeps its memory in the GPU driver (the
 * dma-buf holds it) until then, until evicted, or until
 * p2pmr_classify_flush().
 *
 * P2PMR_EXPORT_CACHE=0 turns the cache off: every registration exports
 * its own range, as before.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p2pmr_internal.h"

#define EXPORT_CACHE_SLOTS	16

struct export_slot {
	uint64_t start, end;	/* the mapping; end == 0: unused */
	struct p2pmr_gpu_range gpu;	/* a GPU allocation; id 0: a BAR */
	uint64_t offset;	/* of start within the dma-buf */
	int fd;			/* -1 for a mapping that is not exported */
	int err;		/* why not */
	struct p2pmr_watch watch;	/* of [start, end), none for GPUs */
	uint64_t flush_gen;	/* of that answer */
	unsigned int users;	/* between get and put */
	bool dead;		/* dropped while in use: close at last put */
	uint64_t last_use;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct export_slot slots[EXPORT_CACHE_SLOTS];
static uint64_t use_clock;
static int enabled = -1;	/* -1: P2PMR_EXPORT_CACHE not read yet */

static bool cache_enabled(void)
{
	int on = __atomic_load_n(&enabled, __ATOMIC_RELAXED);
	const char *env;

	if (on < 0) {
		env = getenv("P2PMR_EXPORT_CACHE");
		on = !(env && !strcmp(env, "0"));
		__atomic_store_n(&enabled, on, __ATOMIC_RELAXED);
	}
	return on;
}

/* Caller holds cache_lock. */
static void slot_release_locked(struct export_slot *s)
{
	if (s->users) {
		s->dead = true;
		return;
	}
	p2pmr_watch_end(&s->watch);
	if (s->fd >= 0 && s->gpu.id)
		p2pmr_gpu_close(&s->gpu, s->fd);
	else if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* The slot of [start, end), or one to put it in.  Caller holds the lock. */
static struct export_slot *slot_find_locked(uint64_t start, uint64_t end,
					    uint64_t gpu_id, bool *found)
{
	struct export_slot *s, *victim = NULL;

	for (s = slots; s < slots + EXPORT_CACHE_SLOTS; s++) {
		if (s->end && !s->dead && s->start == start && s->end == end &&
		    s->gpu.id == gpu_id) {
			*found = true;
			return s;
		}
	}
	*found = false;
	for (s = slots; s < slots + EXPORT_CACHE_SLOTS; s++) {
		if (!s->end)
			return s;
		if (!s->users && !s->dead &&
		    (!victim || s->last_use < victim->last_use))
			victim = s;
	}
	if (victim)
		slot_release_locked(victim);
	return victim;
}

/*
 * Watch the whole mapping of @s, exported.  Return: whether it is now
 * known, without asking, to be what the export covers.  Caller holds the
 * lock (a second thread waits rather than watching it twice).
 */
static bool slot_watch_locked(struct export_slot *s)
{
	struct p2pmr_check_va check;

	p2pmr_watch_end(&s->watch);
	if (p2pmr_watch_va((void *)(uintptr_t)s->start, s->end - s->start,
			   s->fd, &s->watch, &check))
		return false;
	s->offset = check.out_offset;
	return true;
}

/*
 * Whether the slot's answer stands: its watch has not moved, or a new
 * watch finds the whole mapping still what it was.  Caller holds the lock.
 */
static bool slot_intact_locked(struct export_slot *s)
{
	if (p2pmr_watch_intact(&s->watch))
		return true;
	return s->watch.epoch && slot_watch_locked(s);
}

/*
 * Export [start, end) whole into @s, or record why not.  Caller holds the
 * lock: an export per mapping is rare, and a second thread wanting the
 * same mapping waits for this one rather than exporting it twice.
 */
static void slot_fill_locked(struct export_slot *s, uint64_t start,
			     uint64_t end, const struct p2pmr_gpu_range *gpu,
			     uint64_t gen)
{
	struct export_slot *o;

	memset(s, 0, sizeof(*s));
	s->start = start;
	s->end = end;
	s->flush_gen = gen;
	if (gpu) {
		s->gpu = *gpu;
		/* allocations these addresses held before are gone */
		for (o = slots; o < slots + EXPORT_CACHE_SLOTS; o++)
			if (o != s && o->end && o->gpu.id && !o->dead &&
			    o->start < end && start < o->end)
				slot_release_locked(o);
		s->fd = p2pmr_gpu_export(gpu, start, end - start, &s->offset);
	} else {
		s->fd = p2pmr_export_va_probe((void *)(uintptr_t)start,
					      end - start);
		if (s->fd >= 0)
			slot_watch_locked(s);
	}
	if (s->fd < 0) {
		s->err = errno;
		p2pmr_dbg("export cache: the mapping 0x%" PRIx64 "-0x%" PRIx64 " cannot be exported whole (%s): each registration exports its own range",
			  start, end, strerror(s->err));
	}
}

static int cache_get(uint64_t map_start, uint64_t map_end,
		     const struct p2pmr_gpu_range *gpu, uint64_t start,
		     uint64_t end, struct p2pmr_cached_export *ce)
{
	uint64_t gpu_id = gpu ? gpu->id : 0;
	uint64_t gen = p2pmr_classify_flush_gen();
	struct p2pmr_check_va check;
	struct export_slot *s;
	int fd, err, cancel_state;
	bool found, intact;

	if (!cache_enabled())
		return ENOSYS;
	if (map_start > start || end > map_end || start >= end)
		return EINVAL;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	pthread_mutex_lock(&cache_lock);
	s = slot_find_locked(map_start, map_end, gpu_id, &found);
	if (s && found && s->fd < 0 && s->flush_gen != gen)
		found = false;		/* asked again after a flush */
	if (s && !found)
		slot_fill_locked(s, map_start, map_end, gpu, gen);
	if (!s || s->fd < 0) {
		err = s ? s->err : EBUSY;
		pthread_mutex_unlock(&cache_lock);
		pthread_setcancelstate(cancel_state, NULL);
		return err;
	}
	s->users++;
	s->last_use = ++use_clock;
	fd = s->fd;
	/* GPUs: the caller has just read the allocation's id */
	intact = gpu_id || slot_intact_locked(s);
	check.out_offset = s->offset + (start - map_start);
	pthread_mutex_unlock(&cache_lock);

	err = 0;
	if (!intact)
		err = p2pmr_check_va((void *)(uintptr_t)start, end - start,
				     fd, &check);
	if (err) {
		p2pmr_dbg("export cache: 0x%" PRIx64 "-0x%" PRIx64 " is no longer what dma-buf fd %d of 0x%" PRIx64 "-0x%" PRIx64 " covers (%s): dropped",
			  start, end, fd, map_start, map_end, strerror(err));
		pthread_mutex_lock(&cache_lock);
		s->users--;
		slot_release_locked(s);
		pthread_mutex_unlock(&cache_lock);
		pthread_setcancelstate(cancel_state, NULL);
		return err;
	}
	pthread_setcancelstate(cancel_state, NULL);
	ce->fd = fd;
	ce->offset = check.out_offset;
	ce->slot = s - slots;
	return 0;
}

int p2pmr_export_cache_get(uint64_t map_start, uint64_t map_end,
			   uint64_t start, uint64_t end,
			   struct p2pmr_cached_export *ce)
{
	return cache_get(map_start, map_end, NULL, start, end, ce);
}

int p2pmr_export_cache_get_gpu(const struct p2pmr_gpu_range *alloc,
			       uint64_t start, uint64_t end,
			       struct p2pmr_cached_export *ce)
{
	uint64_t page = p2pmr_page_size();

	if (!alloc->id)
		return ENOSYS;
	/* the whole pages of the allocation, as each registration's are */
	return cache_get(alloc->base,
			 (alloc->base + alloc->size) & ~(page - 1),
			 alloc, start, end, ce);
}

void p2pmr_export_cache_put(const struct p2pmr_cached_export *ce)
{
	struct export_slot *s = &slots[ce->slot];

	pthread_mutex_lock(&cache_lock);
	s->users--;
	if (s->dead)
		slot_release_locked(s);
	pthread_mutex_unlock(&cache_lock);
}

void p2pmr_export_cache_drop(uint64_t start, uint64_t end)
{
	struct export_slot *s;

	pthread_mutex_lock(&cache_lock);
	for (s = slots; s < slots + EXPORT_CACHE_SLOTS; s++)
		if (s->end && !s->dead && s->start < end && start < s->end)
			slot_release_locked(s);
	pthread_mutex_unlock(&cache_lock);
}

void p2pmr_export_cache_set_enabled(int on)
{
	p2pmr_export_cache_drop(0, UINT64_MAX);
	__atomic_store_n(&enabled, on, __ATOMIC_RELAXED);
}

unsigned int p2pmr_export_cache_count(void)
{
	struct export_slot *s;
	unsigned int n = 0;

	pthread_mutex_lock(&cache_lock);
	for (s = slots; s < slots + EXPORT_CACHE_SLOTS; s++)
		n += s->end && !s->dead && s->fd >= 0;
	pthread_mutex_unlock(&cache_lock);
	return n;
}

void p2pmr_export_cache_fork_lock(void)
{
	pthread_mutex_lock(&cache_lock);
}

void p2pmr_export_cache_fork_unlock(void)
{
	pthread_mutex_unlock(&cache_lock);
}
