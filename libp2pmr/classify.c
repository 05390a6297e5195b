// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Classification: is an address range host memory or a BAR mapping?
 *
 * This runs for every registration (with the verbs shim preloaded, for
 * every ibv_reg_mr() of the process), so host memory must be answered
 * without a system call.  The library keeps a table of the process's BAR
 * mappings, sorted by address, and answers from it:
 *
 * - Misses (host memory) are answered from the table as it stands.
 * - Hits are checked: a hit on a mapping made by p2pmr_bar_open() is exact
 *   (the library made it and removes it before unmapping it); any other
 *   hit is checked by the kernel (is the range still a mapping of that BAR
 *   at that offset: once per mapping while a watch of it stands, else
 *   P2PMR_IOCTL_CHECK_VA per hit), and where it cannot tell, it is
 *   answered only after /proc/self/maps has been read again, so a BAR that
 *   was unmapped, with host memory mapped at the same address, is reported
 *   as host memory.
 * - A BAR the application maps with mmap() itself is not in the table
 *   until it is rebuilt: p2pmr_classify_flush() forces that, and
 *   p2pmr_reg_mr() does it when registering host memory fails with
 *   EFAULT, which is what the kernel answers for a BAR mapping (it cannot
 *   pin pages without struct page).
 * - p2pmr_reg_mr() does not check hits either: the kernel refuses to
 *   export what is no longer a BAR mapping, and it rebuilds then.
 *
 * The table is read under a sequence lock: a reader writes nothing shared,
 * so concurrent classifications do not bounce a cache line between CPUs.
 * Writers (rebuilds, p2pmr_bar_open(), p2pmr_bar_close(), all rare) are
 * serialized by a mutex, rewrite the table in place while the sequence is
 * odd, or publish a larger one.  A table that was replaced is kept, never
 * freed, because a reader may still be looking at it: tables only grow,
 * and each new one is at least twice as large, so what is kept is less
 * than what is in use.
 *
 * Every field a reader may see while a writer changes it is an atomic,
 * loaded with acquire and stored with release semantics (plain moves on
 * x86): no later load of the reader passes an earlier one, so the final
 * check of the sequence comes after everything it vouches for, and no
 * store of the writer passes the one that made the sequence odd.  A reader
 * that raced a writer sees a changed sequence and looks again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p2pmr_internal.h"

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

#define MAPS_BUF_MIN	(64 * 1024)
#define TABLE_MIN	8

struct bar_table {
	struct bar_table *retired_next;
	uint32_t cap;			/* set before publication, then fixed */
	uint32_t count;			/* atomic */
	struct p2pmr_bar_map map[];	/* fields are atomics */
};

enum lookup {
	LOOKUP_STALE,		/* no table, or flushed since it was built */
	LOOKUP_MISS,
	LOOKUP_HIT,
	LOOKUP_PARTIAL,
};

static int read_proc_maps(void *arg, char **buf, size_t *cap, size_t *len);

static struct {
	/* read by every lookup, written under the sequence lock */
	uint32_t seq;
	bool valid;
	uint64_t built_gen;
	struct bar_table *table;

	/* atomics */
	uint64_t flush_gen;	/* bumped by p2pmr_classify_flush() */
	uint64_t tickets;	/* maps reads started */
	uint64_t reads;		/* maps reads done, for the tests */

	/* under lock */
	pthread_mutex_t lock;
	uint64_t built_ticket;
	struct p2pmr_bar_map *bars;	/* mapped by p2pmr_bar_open() */
	size_t nbars, bars_cap;
	struct bar_table *retired;
	char *buf;
	size_t buf_cap;
	p2pmr_maps_source_fn source;
	void *source_arg;
	bool read_error_logged;
} cache = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.source = read_proc_maps,
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void map_load(const struct p2pmr_bar_map *src,
		     struct p2pmr_bar_map *dst)
{
	dst->start = LOAD(src->start);
	dst->end = LOAD(src->end);
	dst->bar_offset = LOAD(src->bar_offset);
	dst->file_offset = LOAD(src->file_offset);
	dst->domain = LOAD(src->domain);
	dst->flags = LOAD(src->flags);
	dst->bus = LOAD(src->bus);
	dst->devfn = LOAD(src->devfn);
	dst->bar = LOAD(src->bar);
	dst->inode = LOAD(src->inode);
}

static void map_store(struct p2pmr_bar_map *dst,
		      const struct p2pmr_bar_map *src)
{
	STORE(dst->start, src->start);
	STORE(dst->end, src->end);
	STORE(dst->bar_offset, src->bar_offset);
	STORE(dst->file_offset, src->file_offset);
	STORE(dst->domain, src->domain);
	STORE(dst->flags, src->flags);
	STORE(dst->bus, src->bus);
	STORE(dst->devfn, src->devfn);
	STORE(dst->bar, src->bar);
	STORE(dst->inode, src->inode);
}

/* Find the mapping that [a, e) overlaps first. */
static enum lookup table_search(const struct bar_table *t, uint64_t a,
				uint64_t e, struct p2pmr_bar_map *hit)
{
	size_t lo = 0, hi, n;

	if (!t)
		return LOOKUP_MISS;
	n = LOAD(t->count);
	if (n > t->cap)		/* torn read; the sequence check rejects it */
		n = t->cap;

	/* the first mapping that ends after a (ends ascend with starts) */
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (LOAD(t->map[mid].end) <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n || LOAD(t->map[lo].start) >= e)
		return LOOKUP_MISS;

	map_load(&t->map[lo], hit);
	return hit->start <= a && e <= hit->end ? LOOKUP_HIT : LOOKUP_PARTIAL;
}

/*
 * Look [a, e) up; with @any_table, in whatever table there is, even one
 * that a flush made stale.
 */
static enum lookup cache_lookup(uint64_t a, uint64_t e,
				struct p2pmr_bar_map *hit, bool any_table)
{
	const struct bar_table *t;
	enum lookup res;
	uint32_t seq;

	for (;;) {
		seq = LOAD(cache.seq);
		if (seq & 1) {
			cpu_relax();
			continue;
		}
		t = LOAD(cache.table);
		if (!any_table &&
		    (!LOAD(cache.valid) ||
		     LOAD(cache.built_gen) !=
		     __atomic_load_n(&cache.flush_gen, __ATOMIC_ACQUIRE)))
			res = LOOKUP_STALE;
		else
			res = table_search(t, a, e, hit);
		if (__atomic_load_n(&cache.seq, __ATOMIC_RELAXED) == seq)
			return res;
	}
}

/* Writers hold the lock: nobody else changes the sequence. */
static void write_begin(void)
{
	STORE(cache.seq, cache.seq + 1);
}

static void write_end(void)
{
	STORE(cache.seq, cache.seq + 1);
}

/* The next lookup rebuilds the table.  Caller holds the lock. */
static void invalidate_locked(void)
{
	write_begin();
	STORE(cache.valid, false);
	write_end();
}

/*
 * Make @maps (sorted, disjoint) the table.  Caller holds the lock.
 * Return: 0 or ENOMEM (the table is then unchanged).
 */
static int publish_locked(const struct p2pmr_bar_map *maps, size_t n,
			  bool valid, uint64_t gen)
{
	struct bar_table *t = cache.table, *nt = NULL;
	size_t i;

	if (!t || t->cap < n) {
		size_t cap = t ? 2 * (size_t)t->cap : TABLE_MIN;

		while (cap < n)
			cap *= 2;
		if (cap > UINT32_MAX)
			return ENOMEM;
		nt = malloc(sizeof(*nt) + cap * sizeof(nt->map[0]));
		if (!nt)
			return ENOMEM;
		nt->retired_next = NULL;
		nt->cap = cap;
		nt->count = n;
		if (n)
			memcpy(nt->map, maps, n * sizeof(maps[0]));
	}

	write_begin();
	if (nt) {
		STORE(cache.table, nt);
	} else {
		for (i = 0; i < n; i++)
			map_store(&t->map[i], &maps[i]);
		STORE(t->count, (uint32_t)n);
	}
	STORE(cache.valid, valid);
	STORE(cache.built_gen, gen);
	write_end();

	if (nt && t) {
		t->retired_next = cache.retired;
		cache.retired = t;
	}
	return 0;
}

static int map_cmp(const void *pa, const void *pb)
{
	const struct p2pmr_bar_map *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	/* p2pmr_bar_open() mappings first: they win overlaps */
	return (int)(b->flags & P2PMR_MEM_BAR_OPEN) -
	       (int)(a->flags & P2PMR_MEM_BAR_OPEN);
}

static bool overlaps(const struct p2pmr_bar_map *m, uint64_t start,
		     uint64_t end)
{
	return m->start < end && start < m->end;
}

/*
 * Sort, and drop mappings that overlap an earlier one (a read of
 * /proc/self/maps is not atomic and may show a mapping twice), or one of
 * p2pmr_bar_open() (which is exact).
 */
static size_t maps_normalize(struct p2pmr_bar_map *maps, size_t n)
{
	size_t i, j, out = 0;

	for (i = 0; i < n; i++) {
		if (maps[i].flags & P2PMR_MEM_BAR_OPEN)
			continue;
		for (j = 0; j < n; j++) {
			if (maps[j].flags & P2PMR_MEM_BAR_OPEN &&
			    overlaps(&maps[j], maps[i].start, maps[i].end)) {
				maps[i].end = maps[i].start;	/* drop */
				break;
			}
		}
	}
	qsort(maps, n, sizeof(maps[0]), map_cmp);
	for (i = 0; i < n; i++) {
		if (maps[i].end <= maps[i].start)
			continue;
		if (out && maps[i].start < maps[out - 1].end)
			continue;
		maps[out++] = maps[i];
	}
	return out;
}

/*
 * The table's mappings plus @extra (may be NULL) less those overlapping
 * [drop_start, drop_end), normalized, as a new array.  Caller holds the
 * lock, so the table is stable.
 */
static int table_rebuild_locked(const struct p2pmr_bar_map *extra,
				uint64_t drop_start, uint64_t drop_end)
{
	const struct bar_table *t = cache.table;
	size_t n = t ? t->count : 0, i, out = 0;
	struct p2pmr_bar_map *maps;
	int err;

	maps = malloc((n + 1) * sizeof(*maps));
	if (!maps)
		return ENOMEM;
	for (i = 0; i < n; i++)
		if (!overlaps(&t->map[i], drop_start, drop_end))
			maps[out++] = t->map[i];
	if (extra)
		maps[out++] = *extra;
	out = maps_normalize(maps, out);
	err = publish_locked(maps, out, cache.valid, cache.built_gen);
	free(maps);
	return err;
}

static int read_proc_maps(void *arg, char **buf, size_t *cap, size_t *len)
{
	size_t n = 0;
	ssize_t r;
	int fd, err;

	(void)arg;
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	for (;;) {
		if (*cap - n < 4096 + 1) {
			size_t ncap = *cap ? 2 * *cap : MAPS_BUF_MIN;
			char *nbuf = realloc(*buf, ncap);

			if (!nbuf) {
				close(fd);
				return ENOMEM;
			}
			*buf = nbuf;
			*cap = ncap;
		}
		r = read(fd, *buf + n, *cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			close(fd);
			return err;
		}
		if (!r)
			break;
		n += r;
	}
	close(fd);
	(*buf)[n] = 0;
	*len = n;
	return 0;
}

/* Rebuild the table from the maps source.  Caller holds the lock. */
static int refresh_locked(void)
{
	uint64_t gen = __atomic_load_n(&cache.flush_gen, __ATOMIC_ACQUIRE);
	uint64_t ticket = __atomic_add_fetch(&cache.tickets, 1,
					     __ATOMIC_SEQ_CST);
	struct p2pmr_bar_map *maps = NULL, *tmp;
	size_t len = 0, n = 0, i;
	int err;

	err = cache.source(cache.source_arg, &cache.buf, &cache.buf_cap, &len);
	__atomic_add_fetch(&cache.reads, 1, __ATOMIC_RELAXED);
	if (err) {
		if (!cache.read_error_logged)
			p2pmr_err("cannot read /proc/self/maps to classify memory: %s",
				  strerror(err));
		cache.read_error_logged = true;
		return err;
	}
	err = p2pmr_maps_parse(cache.buf, len, &maps, &n);
	if (err)
		return err;

	for (i = 0; i < n; i++)
		p2pmr_maps_resolve(p2pmr_sysfs_root(), &maps[i]);

	if (cache.nbars) {
		tmp = realloc(maps, (n + cache.nbars) * sizeof(*maps));
		if (!tmp) {
			free(maps);
			return ENOMEM;
		}
		maps = tmp;
		memcpy(maps + n, cache.bars, cache.nbars * sizeof(*maps));
		n += cache.nbars;
	}
	n = maps_normalize(maps, n);

	err = publish_locked(maps, n, true, gen);
	free(maps);
	if (err)
		return err;
	cache.built_ticket = ticket;
	p2pmr_dbg("read /proc/self/maps: %zu BAR or dma-buf mapping(s)", n);
	return 0;
}

/*
 * Rebuild the table unless it is current, and, with @since, unless it
 * was built from a read that started after @ticket was taken.
 */
static int cache_refresh(bool since, uint64_t ticket)
{
	int err = 0, cancel_state;
	bool fresh;

	/*
	 * Reading /proc/self/maps is a cancellation point: a thread
	 * cancelled there would leave the lock held for ever.
	 */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	pthread_mutex_lock(&cache.lock);
	fresh = cache.valid &&
		cache.built_gen == __atomic_load_n(&cache.flush_gen,
						   __ATOMIC_ACQUIRE);
	if (since)
		fresh = fresh && cache.built_ticket > ticket;
	if (!fresh)
		err = refresh_locked();
	pthread_mutex_unlock(&cache.lock);
	pthread_setcancelstate(cancel_state, NULL);
	return err;
}

uint64_t p2pmr_cache_ticket(void)
{
	return __atomic_load_n(&cache.tickets, __ATOMIC_SEQ_CST);
}

uint64_t p2pmr_cache_read_count(void)
{
	return __atomic_load_n(&cache.reads, __ATOMIC_RELAXED);
}

void p2pmr_mem_info_fill(struct p2pmr_mem_info *info,
			 const struct p2pmr_bar_map *map, uint64_t addr)
{
	struct p2pmr_pci_addr pci = {
		.domain = map->domain, .bus = map->bus, .devfn = map->devfn,
	};

	if (addr < map->start)
		addr = map->start;
	memset(info, 0, sizeof(*info));
	info->flags = map->flags & P2PMR_MAP_PUBLIC_FLAGS;
	info->map_start = map->start;
	info->map_length = map->end - map->start;
	if (map->flags & P2PMR_MAP_DMABUF) {
		info->type = P2PMR_MEM_DMABUF;
		return;
	}
	info->type = P2PMR_MEM_BAR;
	info->pci_domain = map->domain;
	info->pci_bus = map->bus;
	info->pci_devfn = map->devfn;
	info->bar = map->bar;
	if (!(map->flags & P2PMR_MEM_OFFSET_UNKNOWN))
		info->bar_offset = map->bar_offset + (addr - map->start);
	p2pmr_pci_addr_format(&pci, info->pci_addr, sizeof(info->pci_addr));
}

/* Refreshes due to concurrent flushes before an answer is taken as is. */
#define CLASSIFY_TRIES	4

/* What an answer from the table must have been checked against. */
enum classify_mode {
	/* hits on mappings the library did not make */
	CHECK_HITS,
	/* only partial overlaps: the caller checks hits itself */
	TRUST_HITS,
	/* every answer: a read of /proc/self/maps after the ticket */
	FRESH,
};

/* Mappings confirmed with a watch, kept at once. */
#define CONFIRMED_MAX	16

/*
 * Hits the kernel confirmed with a watch over their whole mapping
 * (watch.c): while the watch's counter stands, the mapping is what the
 * kernel said, and a hit inside it is confirmed without a system call.
 */
static struct confirmed {
	uint64_t start, end;		/* end == 0: unused */
	struct p2pmr_check_va id;	/* the kernel's answer for start */
	struct p2pmr_watch watch;
	uint64_t last_use;
} confirmed[CONFIRMED_MAX];
static pthread_mutex_t confirmed_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t confirmed_clock;

/* Caller holds confirmed_lock. */
static void confirmed_drop_locked(struct confirmed *c)
{
	p2pmr_watch_end(&c->watch);
	memset(c, 0, sizeof(*c));
}

/*
 * Whether the kernel's answer @c, for the address @at, is what the table
 * says of the range from @start.
 */
static bool check_matches(const struct p2pmr_check_va *c, uint64_t at,
			  const struct p2pmr_bar_map *map, uint64_t start)
{
	if (c->out_pci_domain != map->domain || c->out_pci_bus != map->bus ||
	    c->out_pci_devfn != map->devfn || c->out_bar != map->bar ||
	    !(c->out_flags & P2PMR_EXPORT_OUT_WC) !=
	    !(map->flags & P2PMR_MEM_WC))
		return false;
	return map->flags & P2PMR_MEM_OFFSET_UNKNOWN ||
	       c->out_bar_offset + (start - at) ==
	       map->bar_offset + (start - map->start);
}

enum confirmation { UNKNOWN, CONFIRMED, REFUTED };

static enum confirmation confirmed_lookup(uint64_t start, uint64_t end,
					  const struct p2pmr_bar_map *map)
{
	enum confirmation res = UNKNOWN;
	struct confirmed *c;

	pthread_mutex_lock(&confirmed_lock);
	for (c = confirmed; c < confirmed + CONFIRMED_MAX; c++) {
		if (!c->end || start < c->start || c->end < end)
			continue;
		if (!p2pmr_watch_intact(&c->watch)) {
			confirmed_drop_locked(c);
			continue;
		}
		c->last_use = ++confirmed_clock;
		res = check_matches(&c->id, c->start, map, start) ?
		      CONFIRMED : REFUTED;
		break;
	}
	pthread_mutex_unlock(&confirmed_lock);
	return res;
}

/* Keep the watch @w over @map, which the kernel answered with @id. */
static void confirmed_add(const struct p2pmr_bar_map *map,
			  const struct p2pmr_check_va *id,
			  struct p2pmr_watch *w)
{
	struct confirmed *c, *victim = confirmed;

	pthread_mutex_lock(&confirmed_lock);
	for (c = confirmed; c < confirmed + CONFIRMED_MAX; c++) {
		if (!c->end) {
			victim = c;
			break;
		}
		if (c->last_use < victim->last_use)
			victim = c;
	}
	if (victim->end)
		confirmed_drop_locked(victim);
	victim->start = map->start;
	victim->end = map->end;
	victim->id = *id;
	victim->watch = *w;
	victim->last_use = ++confirmed_clock;
	pthread_mutex_unlock(&confirmed_lock);
}

static void confirmed_flush(void)
{
	struct confirmed *c;

	pthread_mutex_lock(&confirmed_lock);
	for (c = confirmed; c < confirmed + CONFIRMED_MAX; c++)
		if (c->end)
			confirmed_drop_locked(c);
	pthread_mutex_unlock(&confirmed_lock);
}

/*
 * A hit on a mapping the library did not make, checked by the kernel
 * instead of a read of /proc/self/maps: the range is still a mapping of
 * that BAR, at that offset, through the same kind of file.  The first
 * check watches the whole mapping (P2PMR_IOCTL_WATCH_VA), so that later
 * hits in it cost no system call while the watch stands; where that is
 * refused, the range alone is checked (P2PMR_IOCTL_CHECK_VA, one ioctl of
 * constant cost).  Both take only writable shared mappings, as an export
 * does; a no, another answer, or no module leaves the hit to the read, as
 * before.
 */
static bool hit_confirmed(uint64_t a, uint64_t e,
			  const struct p2pmr_bar_map *map)
{
	const uint32_t rw = P2PMR_MEM_SHARED | P2PMR_MEM_WRITABLE;
	uint64_t page = p2pmr_page_size();
	uint64_t start = a & ~(page - 1), end = (e + page - 1) & ~(page - 1);
	struct p2pmr_check_va c;
	struct p2pmr_watch w;

	if (end < e)
		return false;
	if (map->flags & P2PMR_MAP_DMABUF)
		return p2pmr_va_dmabuf_is((void *)(uintptr_t)start,
					  end - start);
	if ((map->flags & rw) != rw)
		return false;
	switch (confirmed_lookup(start, end, map)) {
	case CONFIRMED:
		return true;
	case REFUTED:
		return false;
	case UNKNOWN:
		break;
	}
	if (!p2pmr_watch_va((void *)(uintptr_t)map->start,
			    map->end - map->start, -1, &w, &c)) {
		if (!check_matches(&c, map->start, map, map->start)) {
			p2pmr_watch_end(&w);
			return false;
		}
		confirmed_add(map, &c, &w);
		return true;
	}
	if (p2pmr_check_va((void *)(uintptr_t)start, end - start, -1, &c))
		return false;
	return check_matches(&c, start, map, start);
}

static int classify(const void *addr, size_t length,
		    struct p2pmr_mem_info *info, enum classify_mode mode,
		    uint64_t ticket)
{
	uint64_t a = (uintptr_t)addr, e;
	struct p2pmr_bar_map map;
	bool checked = false;
	enum lookup res;
	unsigned int i;
	int err;

	if (!info)
		return EINVAL;
	memset(info, 0, sizeof(*info));
	if (!length) {
		p2pmr_err("classify %p: zero length", addr);
		return EINVAL;
	}
	if (__builtin_add_overflow(a, (uint64_t)length, &e)) {
		p2pmr_err("classify %p + %zu: the range wraps around", addr,
			  length);
		return EOVERFLOW;
	}
	if (mode != FRESH)
		ticket = p2pmr_cache_ticket();

	for (i = 0;; i++) {
		res = cache_lookup(a, e, &map, i == CLASSIFY_TRIES);
		if (i == CLASSIFY_TRIES)
			break;
		if (res == LOOKUP_STALE) {
			err = cache_refresh(false, 0);
			if (err)
				return err;
			continue;
		}
		if (checked || (res == LOOKUP_MISS && mode != FRESH))
			break;
		if (res == LOOKUP_HIT && mode != FRESH &&
		    (mode == TRUST_HITS || map.flags & P2PMR_MEM_BAR_OPEN ||
		     hit_confirmed(a, e, &map)))
			break;
		/* a hit on a mapping the library did not make: check it */
		err = cache_refresh(true, ticket);
		if (err)
			return err;
		checked = true;
	}

	switch (res) {
	case LOOKUP_HIT:
		p2pmr_mem_info_fill(info, &map, a);
		info->flags |= P2PMR_MEM_CONTAINED;
		return 0;
	case LOOKUP_PARTIAL:
		p2pmr_mem_info_fill(info, &map, a);
		if (map.flags & P2PMR_MAP_DMABUF)
			p2pmr_err("range 0x%" PRIx64 "-0x%" PRIx64 " is only partly inside the mapping 0x%" PRIx64 "-0x%" PRIx64 " of a dma-buf: register each mapping on its own",
				  a, e, map.start, map.end);
		else
			p2pmr_err("range 0x%" PRIx64 "-0x%" PRIx64 " is only partly inside the mapping 0x%" PRIx64 "-0x%" PRIx64 " of BAR %u of %s: register each mapping on its own",
				  a, e, map.start, map.end, map.bar,
				  info->pci_addr);
		return EINVAL;
	case LOOKUP_MISS:
	case LOOKUP_STALE:
		break;
	}
	return 0;
}

/*
 * Host memory by the mappings may be a GPU runtime's allocation; a range
 * running past one is refused as a partial overlap is.
 */
static int gpu_classify(const void *addr, size_t length,
			struct p2pmr_mem_info *info)
{
	struct p2pmr_gpu_range gpu;
	int err = p2pmr_gpu_find(addr, length, &gpu);

	if (err && err != EINVAL)
		return 0;
	info->type = P2PMR_MEM_DEVICE;
	info->flags = err ? 0 : P2PMR_MEM_CONTAINED;
	info->map_start = gpu.base;
	info->map_length = gpu.size;
	return err;
}

int p2pmr_classify(const void *addr, size_t length,
		   struct p2pmr_mem_info *info, size_t info_len)
{
	struct p2pmr_mem_info full;
	int err;

	err = p2pmr_check_out("classify", info, info_len,
			      P2PMR_MEM_INFO_LEN_V1);
	if (err)
		return err;
	err = classify(addr, length, &full, CHECK_HITS, 0);
	if (!err && full.type == P2PMR_MEM_HOST)
		err = gpu_classify(addr, length, &full);
	p2pmr_copy_out(info, info_len, &full, sizeof(full));
	return err;
}

int p2pmr_classify_trust_hits(const void *addr, size_t length,
			      struct p2pmr_mem_info *info)
{
	return classify(addr, length, info, TRUST_HITS, 0);
}

int p2pmr_classify_fresh(const void *addr, size_t length,
			 struct p2pmr_mem_info *info, uint64_t ticket)
{
	return classify(addr, length, info, FRESH, ticket);
}

void p2pmr_classify_flush(void)
{
	__atomic_add_fetch(&cache.flush_gen, 1, __ATOMIC_SEQ_CST);
	confirmed_flush();
	/* the application's way to let go of the exports it made */
	p2pmr_export_cache_drop(0, UINT64_MAX);
}

uint64_t p2pmr_classify_flush_gen(void)
{
	return __atomic_load_n(&cache.flush_gen, __ATOMIC_ACQUIRE);
}

/**
 * p2pmr_cache_add_bar() - a mapping made by p2pmr_bar_open()
 * @map: the mapping; P2PMR_MEM_BAR_OPEN is added
 *
 * It replaces whatever the table said about its addresses: the kernel has
 * just handed them out, so anything there before is gone.
 *
 * Return: 0 or ENOMEM.
 */
int p2pmr_cache_add_bar(const struct p2pmr_bar_map *map)
{
	struct p2pmr_bar_map m = *map, *tmp;
	int err = 0;

	m.flags |= P2PMR_MEM_BAR_OPEN;
	pthread_mutex_lock(&cache.lock);
	if (cache.nbars == cache.bars_cap) {
		size_t cap = cache.bars_cap ? 2 * cache.bars_cap : TABLE_MIN;

		tmp = realloc(cache.bars, cap * sizeof(*tmp));
		if (!tmp) {
			err = ENOMEM;
			goto out;
		}
		cache.bars = tmp;
		cache.bars_cap = cap;
	}
	if (cache.valid) {
		err = table_rebuild_locked(&m, m.start, m.end);
		if (err)
			goto out;
	}
	cache.bars[cache.nbars++] = m;
out:
	pthread_mutex_unlock(&cache.lock);
	return err;
}

/**
 * p2pmr_cache_del_bar() - p2pmr_bar_close() is about to unmap a mapping
 * @start: its first byte
 * @end: one past its last byte
 */
void p2pmr_cache_del_bar(uint64_t start, uint64_t end)
{
	size_t i;

	pthread_mutex_lock(&cache.lock);
	for (i = 0; i < cache.nbars; i++) {
		if (cache.bars[i].start == start && cache.bars[i].end == end) {
			cache.bars[i] = cache.bars[--cache.nbars];
			break;
		}
	}
	/* Without memory for a new table, forget it: the next lookup rereads. */
	if (cache.valid && table_rebuild_locked(NULL, start, end))
		invalidate_locked();
	pthread_mutex_unlock(&cache.lock);
}

void p2pmr_cache_set_source(p2pmr_maps_source_fn fn, void *arg)
{
	pthread_mutex_lock(&cache.lock);
	cache.source = fn ? fn : read_proc_maps;
	cache.source_arg = fn ? arg : NULL;
	cache.read_error_logged = false;
	invalidate_locked();
	pthread_mutex_unlock(&cache.lock);
}

void p2pmr_cache_reset(void)
{
	pthread_mutex_lock(&cache.lock);
	invalidate_locked();
	cache.read_error_logged = false;
	__atomic_store_n(&cache.reads, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&cache.lock);
}

/* fork(): no writer may be inside the sequence lock. */
void p2pmr_cache_fork_lock(void)
{
	pthread_mutex_lock(&cache.lock);
	pthread_mutex_lock(&confirmed_lock);
}

void p2pmr_cache_fork_unlock(void)
{
	pthread_mutex_unlock(&confirmed_lock);
	pthread_mutex_unlock(&cache.lock);
}
