// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmr_fuzz: a seeded fuzzer of p2pmr's kernel interfaces, run as root
 * inside the testbed guest with p2pmr.ko and p2pmr_test_importer.ko loaded.
 *
 *   p2pmr_fuzz --near RES [--cmb RES] [--ko P2PMR_KO] [--importer BDF]...
 *		[--seed N] [--seconds S] [--ops N] [--pattern SEED]
 *		[--rdma IBDEV] [--no-disrupt] [--verbose]
 *
 * The main thread draws operations from its own PRNG, seeded by --seed
 * (default: the time), and prints the seed first, so that a failing run
 * can be repeated: ioctls of /dev/p2pmr with random and boundary structs,
 * fds, ranges and addresses; mmap, munmap, reads and writes of the
 * dma-bufs it obtained (at most FZ_BUFS live) and of mappings of the
 * resource files; watches of ranges (WATCH_VA, UNWATCH, at most
 * FZ_WATCHES live) and mappings of their watch page; attach, map, unmap,
 * pin, unpin and detach through the test importer's debugfs ctl file;
 * with --rdma, dma-buf MRs of the dma-bufs it holds registered on that
 * soft-RoCE device (the patched rxe; valid and invalid ranges and access
 * flags, at most FZ_MRS live), RDMA READs and WRITEs through them over a
 * loopback RC QP pair, and deregistrations.  A second thread (unless
 * --no-disrupt) disrupts at random intervals: it removes and rescans the
 * near BAR's device, binds and unbinds pci-stub to it, and tries to
 * unload p2pmr.ko (reloading it from --ko when it goes).  With it the
 * sequence of operations is no longer exactly repeatable; without it, it
 * is.
 *
 * The oracle, where it is cheap:
 * - an input <linux/p2pmr.h> says must be refused (bad size, unknown
 *   flags, nonzero __reserved, a range outside the BAR or overflowing, a
 *   file that is not a writable resource file, ...) but is accepted;
 * - an errno outside the header's vocabulary;
 * - a valid request refused although nothing was disrupted since the
 *   objects it uses were made;
 * - wrong out_* fields of a successful export;
 * - a watch whose counter did not move when the fuzzer unmapped its range
 *   or ended it, or that reused a slot still live;
 * - an RDMA READ through a dma-buf MR of the near BAR that completes
 *   with anything but the pattern at the BAR offset the MR stands for; an
 *   RDMA its MR's access flags forbid that succeeds; an invalid MR
 *   registered, or a valid one, or an allowed RDMA, failing although
 *   nothing was disrupted since its dma-buf was made;
 * - a CPU access raising SIGBUS although nothing was disrupted since the
 *   mapping was made, or (with --pattern) reading anything but the
 *   testbed pattern of that seed at the BAR offset read: the caller fills
 *   the near BAR with it first, and the fuzzer only ever writes it;
 * - at the end, once everything is closed: a p2pmr counter that does not
 *   return to zero, or p2pmr.ko refusing to unload.
 * Any of them ends the run with status 1 and a line naming the seed, the
 * operation and what went wrong, after the last operations done.
 *
 * RES is /sys/bus/pci/devices/<bdf>/resource<N>; after a rescan the near
 * device comes back under the same path.  BDF (dddd:bb:dd.f) names a PCI
 * device the test importer attaches for; the first one should share a
 * switch with the near BAR.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <linux/p2pmr.h>
#include <p2pmr/p2pmr.h>

#include "bar_export.h"
#include "pattern_io.h"
#include "rc_loop.h"

#define DEV_PATH	"/dev/" P2PMR_DEVICE_NAME
#define COUNTERS_PATH	"/sys/kernel/debug/p2pmr/counters"
#define IMPORTER_CTL	"/sys/kernel/debug/p2pmr_test_importer/ctl"
#define PCI_RESCAN	"/sys/bus/pci/rescan"
#define PCI_STUB	"/sys/bus/pci/drivers/pci-stub"

#define FZ_BUFS		16	/* live dma-bufs kept */
#define FZ_MAPS		32	/* live CPU mappings kept */
#define FZ_SLOTS	16	/* the test importer's slots */
#define FZ_RES		2	/* near, cmb */
#define FZ_IMPORTERS	4
#define FZ_HISTORY	32	/* operations shown on failure */
#define FZ_DESC_LEN	200
#define FZ_MAX_ERRNO	256
#define FZ_IDLE_SECS	10	/* for async release at the end */
#define FZ_WATCHES	64	/* live watches kept */
#define FZ_WPAGES	2	/* mappings of the watch page kept */
#define FZ_MRS		8	/* live dma-buf MRs kept (--rdma) */
#define FZ_RDMA_MAX	0x4000	/* most bytes one RDMA READ or WRITE moves */
#define FZ_RDMA_SECS	60	/* for its completion */

/* ---- PRNG -------------------------------------------------------------- */

/* splitmix64: small, fast, and every seed gives a full-period stream. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for n far below 2^64; 0 for n == 0. */
static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

/* True with probability 1/n. */
static bool rng_one_in(uint64_t *s, uint64_t n)
{
	return rng_below(s, n) == 0;
}

/* ---- state ------------------------------------------------------------- */

/* A sysfs resource file and the fds the fuzzer keeps open on it. */
struct fz_res {
	const char *path;
	uint64_t size;
	int rw, ro, wo;
	unsigned int seq;	/* fz.seq when the fds were opened */
};

struct fz_buf {
	int fd;			/* -1: free */
	int res;
	uint64_t size;
	uint64_t bar_off;	/* BAR offset of dma-buf byte 0 */
	uint32_t open_flags;
	unsigned int seq;
};

enum fz_map_kind { FZ_MAP_DMABUF, FZ_MAP_RES };

struct fz_map {
	void *addr;		/* NULL: free */
	size_t len;
	enum fz_map_kind kind;
	int res;
	uint64_t bar_off;	/* BAR offset of addr */
	uint64_t dmabuf_off;	/* FZ_MAP_DMABUF: dma-buf offset of addr */
	int prot;
	bool writable_shared;	/* PROT_WRITE, MAP_SHARED, O_RDWR file */
	bool dead;		/* raised SIGBUS once */
	unsigned int seq;
};

struct fz_slot {
	bool attached;
	bool pinned;
};

/* A watch of fz.dev. */
struct fz_watch {
	bool live;
	uint32_t slot;
	uint64_t seq;
	uint64_t addr;
	uint64_t len;
};

/* A dma-buf MR registered through the soft-RoCE device (--rdma). */
struct fz_mr {
	struct ibv_mr *mr;	/* NULL: free */
	int res;
	uint64_t bar_off;	/* BAR offset of the MR's first byte */
	uint64_t len;
	uint64_t iova;
	int access;
	unsigned int seq;	/* its dma-buf's */
};

/* Operations, each a small function below; the table is at the end. */
struct fz_op {
	const char *name;
	void (*fn)(void);
	unsigned int weight;
	unsigned long count;
	unsigned long ok;
};

enum fz_disrupt_kind { FZ_D_REMOVE, FZ_D_STUB, FZ_D_RMMOD, FZ_D_KINDS };

static const char *const fz_disrupt_names[FZ_D_KINDS] = {
	[FZ_D_REMOVE] = "remove+rescan",
	[FZ_D_STUB] = "pci-stub bind+unbind",
	[FZ_D_RMMOD] = "rmmod attempt",
};

static struct {
	uint64_t seed;
	uint64_t rng;
	unsigned long seconds;
	unsigned long max_ops;
	bool disrupt;
	bool verbose;
	bool have_pattern;
	uint32_t pattern;
	const char *ko;
	char near_bdf[32];
	char importers[FZ_IMPORTERS][32];
	unsigned int nr_importers;
	long page;

	int dev;		/* /dev/p2pmr or -1 */
	struct fz_res res[FZ_RES];
	unsigned int nr_res;
	struct fz_buf bufs[FZ_BUFS];
	struct fz_map maps[FZ_MAPS];
	struct fz_slot slots[FZ_SLOTS];
	struct fz_watch watches[FZ_WATCHES];
	uint64_t *wpages[FZ_WPAGES];	/* of fz.dev; NULL: none */

	const char *rdma_name;	/* --rdma; NULL: no RDMA operations */
	struct ibv_pd *pd;	/* on the device, pd->context */
	struct rc_loop loop;
	struct fz_mr mrs[FZ_MRS];

	/* scratch for ioctl structs: two pages, a guard, a read-only one */
	uint8_t *arg;
	uint8_t *guard;
	uint8_t *ro;

	unsigned long nr_ops;
	const char *op_name;
	char desc[FZ_DESC_LEN];
	char history[FZ_HISTORY][FZ_DESC_LEN + 48];
	unsigned long errnos[FZ_MAX_ERRNO];
	unsigned long sigbus;
	unsigned long checked_refuse;	/* invalid requests judged */
	unsigned long checked_succeed;	/* valid, undisturbed ones */
	unsigned long checked_words;	/* words read against the pattern */
	unsigned long watches_made;	/* WATCH_VA successes */
	unsigned long watches_moved;	/* counters seen moving */
	unsigned long mrs_made;		/* dma-buf MRs registered */
	unsigned long rdma_ops;		/* RDMA READs and WRITEs completed */
	unsigned long rdma_bytes_checked; /* read through MRs, checked */

	/*
	 * Shared with the disruption thread.  seq is odd while a disruption
	 * is under way and grows by two with each one: an object made at an
	 * even seq that still reads the same has seen none.
	 */
	atomic_uint seq;
	atomic_bool stop;
	atomic_bool want_idle;		/* the thread is about to rmmod */
	atomic_ulong disruptions[FZ_D_KINDS];
	atomic_ulong unloads;
	atomic_long busy_since_ms;	/* disruption start, 0 when idle */
	uint64_t drng;
	pthread_t thread;
} fz = { .dev = -1 };

static const char *errname(int e)
{
	const char *n = e ? strerrorname_np(e) : "success";

	return n ? n : "E?";
}

static void dump_history(void)
{
	unsigned long i, first;

	first = fz.nr_ops > FZ_HISTORY ? fz.nr_ops - FZ_HISTORY : 0;
	fprintf(stderr, "p2pmr_fuzz: the last operations:\n");
	for (i = first; i < fz.nr_ops; i++)
		fprintf(stderr, "  %s\n", fz.history[i % FZ_HISTORY]);
}

static void __attribute__((format(printf, 1, 2))) fz_fail(const char *fmt,
							   ...)
{
	va_list ap;

	dump_history();
	fflush(stdout);
	fprintf(stderr, "p2pmr_fuzz: FAIL seed %" PRIu64 " op #%lu %s: ",
		fz.seed, fz.nr_ops, fz.op_name ? fz.op_name : "-");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " [%s]\n", fz.desc);
	fprintf(stderr, "p2pmr_fuzz: repeat with --seed %" PRIu64 "\n",
		fz.seed);
	exit(1);
}

static void __attribute__((format(printf, 1, 2))) fz_desc(const char *fmt,
							    ...)
{
	size_t len = strlen(fz.desc);
	va_list ap;

	if (len >= sizeof(fz.desc) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(fz.desc + len, sizeof(fz.desc) - len, fmt, ap);
	va_end(ap);
}

static void count_errno(int e)
{
	fz.errnos[e > 0 && e < FZ_MAX_ERRNO ? e : 0]++;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Nothing disrupted since @seq was read, and nothing under way now. */
static bool undisturbed_since(unsigned int seq)
{
	return !(seq & 1) && atomic_load(&fz.seq) == seq;
}

/* Write @s to a sysfs or debugfs file in one write(); 0 or errno. */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = errno;
	close(fd);
	return ret;
}

static void close_if(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- the errno vocabulary of <linux/p2pmr.h> -------------------------- */

static bool ioctl_errno_known(int e)
{
	switch (e) {
	case ENOTTY: case EFAULT: case EINVAL: case E2BIG: case EOVERFLOW:
	case EOPNOTSUPP: case EBADF: case EACCES: case EPERM: case EBUSY:
	case ENODEV: case ENOMEM: case EMFILE: case ESTALE: case ENOSPC:
	case EXDEV:
		return true;
	default:
		return false;
	}
}

/*
 * dma-buf mmap: the header's EINVAL and ENODEV; the VFS's EACCES (access
 * mode), ENOMEM (no room) and EOVERFLOW (offset past what off_t holds).
 */
static bool mmap_errno_known(int e)
{
	return e == EINVAL || e == ENODEV || e == EACCES || e == ENOMEM ||
	       e == EOVERFLOW;
}

/* The test importer passes on what the dma-buf core and p2pmr return. */
static bool importer_errno_known(int e)
{
	switch (e) {
	case EINVAL: case EBADF: case ENOENT: case EBUSY: case ENODEV:
	case EREMOTEIO: case EOPNOTSUPP: case ENOMEM:
		return true;
	default:
		return false;
	}
}

/* ---- /dev/p2pmr, resource files, tables ---------------------------------- */

/* /dev/p2pmr, opened if needed; -1 while p2pmr.ko is away. */
static int dev_fd(void)
{
	if (fz.dev >= 0)
		return fz.dev;
	fz.dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fz.dev < 0) {
		/* p2pmr.ko is being unloaded or reloaded. */
		if (errno != ENOENT && errno != ENODEV && errno != ENXIO)
			fz_fail("open %s: %s", DEV_PATH, strerror(errno));
		count_errno(errno);
		fz_desc(" open dev: %s", errname(errno));
	}
	return fz.dev;
}

static void res_close(struct fz_res *r)
{
	close_if(&r->rw);
	close_if(&r->ro);
	close_if(&r->wo);
}

/* (Re)open the fds of a resource file; some may fail while it is away. */
static void res_open(struct fz_res *r)
{
	res_close(r);
	r->seq = atomic_load(&fz.seq);
	r->rw = open(r->path, O_RDWR | O_CLOEXEC);
	r->ro = open(r->path, O_RDONLY | O_CLOEXEC);
	r->wo = open(r->path, O_WRONLY | O_CLOEXEC);
}

static void buf_close(struct fz_buf *b)
{
	close_if(&b->fd);
}

static struct fz_buf *buf_free_slot(void)
{
	unsigned int i;

	for (i = 0; i < FZ_BUFS; i++)
		if (fz.bufs[i].fd < 0)
			return &fz.bufs[i];
	/* Full: close a random one to make room. */
	i = rng_below(&fz.rng, FZ_BUFS);
	buf_close(&fz.bufs[i]);
	return &fz.bufs[i];
}

static struct fz_buf *buf_random(void)
{
	unsigned int i, start = rng_below(&fz.rng, FZ_BUFS);

	for (i = 0; i < FZ_BUFS; i++)
		if (fz.bufs[(start + i) % FZ_BUFS].fd >= 0)
			return &fz.bufs[(start + i) % FZ_BUFS];
	return NULL;
}

/* The counter of a watch slot, from a mapping of the watch page; or 0. */
static uint64_t watch_count(uint32_t slot)
{
	unsigned int i;

	for (i = 0; i < FZ_WPAGES; i++)
		if (fz.wpages[i])
			return __atomic_load_n(&fz.wpages[i][slot],
					       __ATOMIC_ACQUIRE);
	return 0;
}

static bool watch_page_mapped(void)
{
	unsigned int i;

	for (i = 0; i < FZ_WPAGES; i++)
		if (fz.wpages[i])
			return true;
	return false;
}

static void map_drop(struct fz_map *m)
{
	struct fz_watch *w;
	unsigned int i;

	if (!m->addr)
		return;
	if (munmap(m->addr, m->len))
		fz_fail("munmap(%p, %#zx): %s", m->addr, m->len,
			strerror(errno));
	/* munmap() of a watched range moves its counter. */
	for (i = 0; i < FZ_WATCHES && watch_page_mapped(); i++) {
		w = &fz.watches[i];
		if (w->live && w->addr < (uintptr_t)m->addr + m->len &&
		    (uintptr_t)m->addr < w->addr + w->len &&
		    watch_count(w->slot) <= w->seq)
			fz_fail("munmap(%p, %#zx) left the counter of the watch of %#" PRIx64 " + %#" PRIx64 " in slot %u at %" PRIu64,
				m->addr, m->len, w->addr, w->len, w->slot,
				w->seq);
		if (w->live && w->addr < (uintptr_t)m->addr + m->len &&
		    (uintptr_t)m->addr < w->addr + w->len)
			fz.watches_moved++;
	}
	m->addr = NULL;
}

static struct fz_map *map_free_slot(void)
{
	unsigned int i;

	for (i = 0; i < FZ_MAPS; i++)
		if (!fz.maps[i].addr)
			return &fz.maps[i];
	i = rng_below(&fz.rng, FZ_MAPS);
	map_drop(&fz.maps[i]);
	return &fz.maps[i];
}

static struct fz_map *map_random(int kind)
{
	unsigned int i, start = rng_below(&fz.rng, FZ_MAPS);
	struct fz_map *m;

	for (i = 0; i < FZ_MAPS; i++) {
		m = &fz.maps[(start + i) % FZ_MAPS];
		if (m->addr && (kind < 0 || (int)m->kind == kind))
			return m;
	}
	return NULL;
}

/* A file of each kind that is not a writable resource file. */
enum fz_fd_kind {
	FD_RES_RW, FD_RES_RO, FD_RES_WO, FD_NEG, FD_CLOSED, FD_DEVNULL,
	FD_SOCKET, FD_DMABUF, FD_P2PMR, FD_HUGE, FD_KINDS
};

static const char *const fd_kind_names[FD_KINDS] = {
	"res_rw", "res_ro", "res_wo", "-1", "closed", "/dev/null", "socket",
	"dmabuf", "/dev/p2pmr", "huge"
};

/*
 * An fd of the kind asked for, on resource @r; *@tmp is set when the
 * caller must close it.  The kind actually given is returned: a resource
 * fd that could not be opened is -1.
 */
static enum fz_fd_kind pick_fd(enum fz_fd_kind kind, struct fz_res *r,
			       int *fd, int *tmp)
{
	struct fz_buf *b;
	int sv[2];

	*tmp = -1;
	switch (kind) {
	case FD_RES_RW:
		*fd = r->rw;
		break;
	case FD_RES_RO:
		*fd = r->ro;
		break;
	case FD_RES_WO:
		*fd = r->wo;
		break;
	case FD_CLOSED:
		*fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (*fd >= 0)
			close(*fd);
		break;
	case FD_DEVNULL:
		*tmp = *fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		break;
	case FD_SOCKET:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
			*fd = -1;
			break;
		}
		close(sv[1]);
		*tmp = *fd = sv[0];
		break;
	case FD_DMABUF:
		b = buf_random();
		*fd = b ? b->fd : -1;
		break;
	case FD_P2PMR:
		*fd = fz.dev;
		break;
	case FD_HUGE:
		*fd = INT_MAX;
		break;
	default:
		*fd = -1;
		break;
	}
	return *fd < 0 ? FD_NEG : kind;
}

/* Offsets and lengths from the edge set, or random. */
static uint64_t pick_edge(uint64_t bar)
{
	uint64_t p = fz.page;

	switch (rng_below(&fz.rng, 12)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return p - 1;
	case 3: return p;
	case 4: return bar - p;
	case 5: return bar;
	case 6: return bar + p;
	case 7: return UINT64_MAX;
	case 8: return UINT64_MAX - p + 1;
	case 9: return rng_next(&fz.rng);
	case 10: return rng_below(&fz.rng, bar / p + 2) * p;
	default: return rng_below(&fz.rng, bar + p);
	}
}

/* A range inside a BAR of @bar bytes, page aligned, mostly small. */
static void pick_good_range(uint64_t bar, uint64_t *off, uint64_t *len)
{
	uint64_t pages = bar / fz.page, n;

	if (rng_one_in(&fz.rng, 16)) {
		*off = 0;
		*len = bar;
		return;
	}
	n = 1 + rng_below(&fz.rng, pages < 64 ? pages : 64);
	*off = rng_below(&fz.rng, pages - n + 1) * fz.page;
	*len = n * fz.page;
}

static bool range_bad(uint64_t off, uint64_t len, uint64_t bar)
{
	uint64_t p = fz.page;

	return !len || off % p || len % p || off + len < off ||
	       off + len > bar;
}

static uint32_t pick_open_flags(bool *bad)
{
	static const uint32_t good[] = {
		O_RDWR, O_RDWR | O_CLOEXEC, O_RDONLY, O_RDONLY | O_CLOEXEC,
		O_WRONLY, O_WRONLY | O_CLOEXEC,
	};
	uint32_t f;

	if (!rng_one_in(&fz.rng, 8)) {
		*bad = false;
		return good[rng_below(&fz.rng, 6)];
	}
	switch (rng_below(&fz.rng, 3)) {
	case 0:
		f = O_ACCMODE;
		break;
	case 1:
		f = O_RDWR | O_NONBLOCK;
		break;
	default:
		f = (uint32_t)rng_next(&fz.rng);
		break;
	}
	*bad = (f & ~(uint32_t)(O_ACCMODE | O_CLOEXEC)) ||
	       (f & O_ACCMODE) == O_ACCMODE;
	return f;
}

/* ---- struct framing ------------------------------------------------------ */

/*
 * What the general ioctl format says about the frame of a call, before
 * any field: where the struct is and its size field.
 */
struct fz_frame {
	void *ptr;		/* argument passed to ioctl() */
	uint32_t size;
	int must_errno;		/* the one errno the frame alone forces */
	bool must_refuse;	/* the frame makes the call fail */
	bool readonly;		/* struct in a read-only page */
};

/*
 * Lay out @len bytes of @cmd as the argument of an ioctl, with a size
 * drawn from the boundaries of the ABI.  The struct sits at the start of
 * fz.arg (two pages, then a guard page) unless it is put astride the
 * guard, in the read-only page, or replaced by a bad pointer.
 */
static void frame(struct fz_frame *f, const void *cmd, size_t len)
{
	uint32_t size;
	uint8_t *p = fz.arg;
	size_t span;
	bool tail = false;

	memset(f, 0, sizeof(*f));
	switch (rng_below(&fz.rng, 16)) {
	case 0: size = 0; break;
	case 1: size = 4; break;
	case 2: size = len - 1; break;
	case 3: size = len + 8; break;
	case 4: size = len + 8; tail = true; break;
	case 5: size = fz.page; break;
	case 6: size = fz.page + 1; break;
	case 7: size = len + rng_below(&fz.rng, 2 * fz.page - len); break;
	case 8: size = (uint32_t)rng_next(&fz.rng); break;
	default: size = len; break;
	}

	span = size > 2 * fz.page ? 2 * fz.page : size;
	memset(p, 0, 2 * fz.page);
	memcpy(p, cmd, len);
	*(uint32_t *)p = size;
	if (tail && size > len)
		p[len + rng_below(&fz.rng, size - len)] =
			1 + rng_below(&fz.rng, 255);
	f->ptr = p;
	f->size = size;

	/* What the size and the bytes past the struct alone force. */
	if (size < len) {
		f->must_errno = EINVAL;
	} else if (size > fz.page) {
		f->must_errno = E2BIG;
	} else if (size > len) {
		size_t i;

		for (i = len; i < size; i++)
			if (p[i])
				f->must_errno = E2BIG;
	}

	switch (rng_below(&fz.rng, 24)) {
	case 0:
		f->ptr = NULL;
		f->must_errno = EFAULT;
		break;
	case 1:
		f->ptr = (void *)0xffffffff81000000UL;
		f->must_errno = EFAULT;
		break;
	case 2:
		/*
		 * Only the size and flags fields readable: reading the rest
		 * faults unless the size alone refuses the call.
		 */
		memcpy(fz.guard - 8, p, 8);
		f->ptr = fz.guard - 8;
		f->must_errno = size < len ? EINVAL :
				size > fz.page ? E2BIG : EFAULT;
		break;
	case 3:
		/* Readable but not writable: no out_* can be returned. */
		if (mprotect(fz.ro, fz.page, PROT_READ | PROT_WRITE))
			fz_fail("mprotect: %s", strerror(errno));
		memset(fz.ro, 0, fz.page);
		memcpy(fz.ro, p, span < (size_t)fz.page ? span :
				 (size_t)fz.page);
		if (mprotect(fz.ro, fz.page, PROT_READ))
			fz_fail("mprotect: %s", strerror(errno));
		f->ptr = fz.ro;
		f->readonly = true;
		break;
	default:
		break;
	}
	f->must_refuse = f->must_errno != 0 || f->readonly;
	fz_desc(" size %u%s%s", size, tail ? " tail" : "",
		f->ptr == NULL ? " NULL" : f->ptr == fz.guard - 8 ?
		" astride-guard" : f->readonly ? " readonly" :
		f->ptr != p ? " kernel-ptr" : "");
}

/*
 * Check an ioctl's result against what must happen.  @must_refuse: the
 * fields make the call invalid; @must_errno: the one errno they allow
 * (0: any refusal); @must_succeed: a valid call nothing disturbed.
 */
static void judge(const struct fz_frame *f, int ret, int err,
		  bool must_refuse, int must_errno, bool must_succeed)
{
	if (ret && !ioctl_errno_known(err))
		fz_fail("errno %s (%d) is not in the vocabulary of <linux/p2pmr.h>",
			errname(err), err);
	if (!ret && (f->must_refuse || must_refuse))
		fz_fail("an invalid request was accepted");
	/* The frame is checked before any field: its errno wins. */
	if (ret && f->must_errno > 0 && err != f->must_errno)
		fz_fail("expected %s from the struct's frame, got %s",
			errname(f->must_errno), errname(err));
	if (ret && !f->must_errno && must_errno && err != must_errno)
		fz_fail("expected %s, got %s", errname(must_errno),
			errname(err));
	if (f->must_refuse || must_refuse)
		fz.checked_refuse++;
	else if (must_succeed)
		fz.checked_succeed++;
	if (ret && !f->must_refuse && !must_refuse && must_succeed &&
	    err != ENOMEM && err != EMFILE)
		fz_fail("a valid request was refused with %s, nothing disturbed",
			errname(err));
}

static int do_ioctl(unsigned long req, void *arg, int *err)
{
	int ret = ioctl(fz.dev, req, arg);

	*err = ret ? errno : 0;
	count_errno(*err);
	fz_desc(" -> %s", errname(*err));
	return ret;
}

/* A new dma-buf fd: close-on-exec as asked, as large as the range. */
static void check_new_dmabuf(int fd, uint32_t open_flags, uint64_t len)
{
	int fdf = fcntl(fd, F_GETFD);
	off_t end;

	if (fdf < 0)
		fz_fail("the returned dma-buf fd %d is not open", fd);
	if (!!(fdf & FD_CLOEXEC) != !!(open_flags & O_CLOEXEC))
		fz_fail("dma-buf fd %d close-on-exec %d, open_flags %#x", fd,
			!!(fdf & FD_CLOEXEC), open_flags);
	end = lseek(fd, 0, SEEK_END);
	if (end < 0 || (uint64_t)end != len)
		fz_fail("dma-buf fd %d is %jd bytes, asked for %#" PRIx64, fd,
			(intmax_t)end, len);
	lseek(fd, 0, SEEK_SET);
}

static void keep_dmabuf(int fd, int res, uint64_t bar_off, uint64_t len,
			uint32_t open_flags, unsigned int seq)
{
	struct fz_buf *b = buf_free_slot();

	b->fd = fd;
	b->res = res;
	b->size = len;
	b->bar_off = bar_off;
	b->open_flags = open_flags;
	b->seq = seq;
}

/* ---- operations: ioctls -------------------------------------------------- */

static void op_export_fd(void)
{
	static const uint8_t kinds[] = {
		FD_RES_RW, FD_RES_RW, FD_RES_RW, FD_RES_RW, FD_RES_RW,
		FD_RES_RW, FD_RES_RW, FD_RES_RW, FD_RES_RO, FD_RES_WO,
		FD_NEG, FD_CLOSED, FD_DEVNULL, FD_SOCKET, FD_DMABUF,
		FD_P2PMR, FD_HUGE,
	};
	struct p2pmr_export_fd a = { .size = sizeof(a) };
	int ri = rng_below(&fz.rng, fz.nr_res), fd, tmp, ret, err;
	struct fz_res *r = &fz.res[ri];
	bool bad_flags = false, bad_open, must_refuse, valid;
	enum fz_fd_kind kind;
	unsigned int seq;
	struct fz_frame f;

	if (dev_fd() < 0)
		return;
	kind = pick_fd(kinds[rng_below(&fz.rng, sizeof(kinds))], r, &fd,
		       &tmp);
	a.resource_fd = fd;
	a.open_flags = pick_open_flags(&bad_open);
	if (rng_one_in(&fz.rng, 2)) {
		uint64_t off, len;

		pick_good_range(r->size, &off, &len);
		a.offset = off;
		a.length = len;
	} else {
		a.offset = pick_edge(r->size);
		a.length = pick_edge(r->size);
	}
	if (rng_one_in(&fz.rng, 12)) {
		a.flags = 1U << rng_below(&fz.rng, 32);
		bad_flags = true;
	}
	if (rng_one_in(&fz.rng, 12)) {
		a.__reserved = 1 + rng_below(&fz.rng, UINT32_MAX);
		bad_flags = true;
	}
	a.out_dmabuf_fd = (int32_t)rng_next(&fz.rng);
	a.out_bar = (uint32_t)rng_next(&fz.rng);

	fz_desc("res %d fd %s off %#" PRIx64 " len %#" PRIx64 " open %#x flags %#x rsv %#x",
		ri, fd_kind_names[kind], (uint64_t)a.offset,
		(uint64_t)a.length, a.open_flags, a.flags, a.__reserved);
	frame(&f, &a, sizeof(a));

	must_refuse = bad_flags || bad_open || kind != FD_RES_RW ||
		      range_bad(a.offset, a.length, r->size);
	seq = atomic_load(&fz.seq);
	ret = do_ioctl(P2PMR_IOCTL_EXPORT_FD, f.ptr, &err);
	valid = kind == FD_RES_RW && r->seq == seq && undisturbed_since(seq);
	judge(&f, ret, err, must_refuse,
	      (bad_flags || bad_open) ? EINVAL : 0, valid);
	/*
	 * The fds of a removed device stay stale: open the file again, as
	 * a user would after a rescan.
	 */
	if (ret && !must_refuse && (err == ENODEV || err == EINVAL))
		res_open(r);
	if (ret)
		goto out;

	memcpy(&a, f.ptr, sizeof(a));
	check_new_dmabuf(a.out_dmabuf_fd, a.open_flags, a.length);
	if (a.out_bar != 2 && strstr(r->path, "resource2"))
		fz_fail("out_bar %u for %s", a.out_bar, r->path);
	keep_dmabuf(a.out_dmabuf_fd, ri, a.offset, a.length, a.open_flags,
		    valid ? seq : 1);
out:
	close_if(&tmp);
}

/*
 * Is [addr, addr + len) covered by writable shared mappings of resource
 * files, end to end?  Only then may EXPORT_VA succeed.  *@one is the
 * mapping when a single one covers it.
 */
static bool va_covered(uint64_t addr, uint64_t len, struct fz_map **one)
{
	uint64_t cur = addr, end = addr + len;
	struct fz_map *m;
	unsigned int i;
	bool found;

	*one = NULL;
	if (!len || end < addr)
		return false;
	while (cur < end) {
		found = false;
		for (i = 0; i < FZ_MAPS; i++) {
			m = &fz.maps[i];
			if (!m->addr || m->kind != FZ_MAP_RES ||
			    !m->writable_shared ||
			    cur < (uintptr_t)m->addr ||
			    cur >= (uintptr_t)m->addr + m->len)
				continue;
			if (cur == addr && end <= (uintptr_t)m->addr + m->len)
				*one = m;
			cur = (uintptr_t)m->addr + m->len;
			found = true;
			break;
		}
		if (!found)
			return false;
	}
	return true;
}

/* A user range for EXPORT_VA and CHECK_VA: mostly in resource mappings. */
static void pick_va(__u64 *addr, __u64 *len)
{
	static uint64_t stack_word;
	struct fz_map *m;
	uint64_t pages;

	m = map_random(rng_one_in(&fz.rng, 4) ? -1 : FZ_MAP_RES);
	switch (m ? rng_below(&fz.rng, 10) : 6 + rng_below(&fz.rng, 4)) {
	case 0: case 1: case 2: case 3:
		/* a sub-range of a mapping */
		pages = m->len / fz.page;
		*addr = (uintptr_t)m->addr +
			rng_below(&fz.rng, pages) * fz.page;
		*len = (1 + rng_below(&fz.rng, pages -
				      (*addr - (uintptr_t)m->addr) /
				      fz.page)) * fz.page;
		fz_desc("in map");
		break;
	case 4:
		/* across the mapping's end */
		*addr = (uintptr_t)m->addr + m->len - fz.page;
		*len = 2 * fz.page;
		fz_desc("across map end");
		break;
	case 5:
		*addr = (uintptr_t)m->addr + pick_edge(m->len);
		*len = pick_edge(m->len);
		fz_desc("map edges");
		break;
	case 6:
		/* host memory: the scratch pages */
		*addr = (uintptr_t)fz.arg;
		*len = fz.page;
		fz_desc("host memory");
		break;
	case 7:
		/* unmapped: the guard page */
		*addr = (uintptr_t)fz.guard;
		*len = fz.page;
		fz_desc("unmapped");
		break;
	case 8:
		*addr = ((uintptr_t)&stack_word) & ~(uint64_t)(fz.page - 1);
		*len = fz.page;
		fz_desc("data segment");
		break;
	default:
		*addr = pick_edge(UINT64_MAX);
		*len = pick_edge(fz.res[0].size);
		fz_desc("edges");
		break;
	}
}

static void op_export_va(void)
{
	struct p2pmr_export_va a = { .size = sizeof(a) };
	bool bad_flags = false, bad_open, covered, valid;
	struct fz_map *one = NULL;
	unsigned int seq;
	struct fz_frame f;
	int ret, err;

	if (dev_fd() < 0)
		return;
	pick_va(&a.addr, &a.length);
	a.open_flags = pick_open_flags(&bad_open);
	if (rng_one_in(&fz.rng, 12)) {
		a.flags = 1U << rng_below(&fz.rng, 32);
		bad_flags = true;
	}
	if (rng_one_in(&fz.rng, 12)) {
		a.__reserved = 1 + rng_below(&fz.rng, UINT16_MAX);
		bad_flags = true;
	}
	a.out_dmabuf_fd = (int32_t)rng_next(&fz.rng);
	fz_desc(" addr %#" PRIx64 " len %#" PRIx64 " open %#x flags %#x rsv %#x",
		(uint64_t)a.addr, (uint64_t)a.length, a.open_flags, a.flags,
		a.__reserved);
	frame(&f, &a, sizeof(a));

	covered = !(a.addr % fz.page) && !(a.length % fz.page) &&
		  va_covered(a.addr, a.length, &one);
	seq = atomic_load(&fz.seq);
	ret = do_ioctl(P2PMR_IOCTL_EXPORT_VA, f.ptr, &err);
	valid = one && one->seq == seq && fz.res[one->res].seq == seq &&
		undisturbed_since(seq);
	judge(&f, ret, err, bad_flags || bad_open || !covered,
	      (bad_flags || bad_open) ? EINVAL : 0, valid);
	if (ret)
		return;

	memcpy(&a, f.ptr, sizeof(a));
	check_new_dmabuf(a.out_dmabuf_fd, a.open_flags, a.length);
	if (one && a.out_offset != one->bar_off +
				   (a.addr - (uintptr_t)one->addr))
		fz_fail("out_offset %#" PRIx64 ", the mapping is at BAR offset %#" PRIx64,
			(uint64_t)a.out_offset,
			(uint64_t)(one->bar_off +
				   (a.addr - (uintptr_t)one->addr)));
	keep_dmabuf(a.out_dmabuf_fd, one ? one->res : 0,
		    one ? (uint64_t)a.out_offset : UINT64_MAX, a.length,
		    a.open_flags, valid ? seq : 1);
}

/*
 * What CHECK_VA and WATCH_VA answer for a range at @addr in mapping @one:
 * where the fuzzer knows it is, in the BAR and in the dma-buf @b (NULL:
 * none kept, or @neg: dmabuf_fd -1).
 */
static void check_va_answer(const char *what, uint64_t addr,
			    uint64_t out_offset, uint64_t out_bar_offset,
			    const struct fz_map *one, const struct fz_buf *b,
			    bool neg)
{
	uint64_t want = one->bar_off + (addr - (uintptr_t)one->addr);

	if (out_bar_offset != want)
		fz_fail("%s out_bar_offset %#" PRIx64 ", the mapping is at BAR offset %#" PRIx64,
			what, out_bar_offset, want);
	/* a dma-buf whose BAR offset is unknown has no known resource */
	if (b && b->bar_off != UINT64_MAX && b->res != one->res)
		fz_fail("%s accepted a dma-buf of resource %d for a mapping of resource %d",
			what, b->res, one->res);
	if (b && b->bar_off != UINT64_MAX &&
	    out_offset != out_bar_offset - b->bar_off)
		fz_fail("%s out_offset %#" PRIx64 " in a dma-buf of BAR offset %#" PRIx64 ", range at %#" PRIx64,
			what, out_offset, b->bar_off, want);
	if (neg && out_offset)
		fz_fail("%s without a dma-buf: out_offset %#" PRIx64, what,
			out_offset);
}

/*
 * The inputs CHECK_VA and WATCH_VA share: a range (pick_va()), and a fd
 * from @kinds to check it against: -1, one of the fuzzer's dma-bufs, or
 * one that must be refused.
 */
struct va_pick {
	enum fz_fd_kind kind;
	int fd;
	int tmp;		/* to close after the call */
	struct fz_buf *b;	/* the fuzzer's dma-buf of @fd, if any */
	bool bad_fd;
	bool covered;		/* as va_covered(), for aligned ranges */
	struct fz_map *one;	/* the one mapping covering the range */
};

static void pick_va_against(const uint8_t *kinds, size_t nr_kinds,
			    __u64 *addr, __u64 *len, struct va_pick *p)
{
	int ri = rng_below(&fz.rng, fz.nr_res);
	unsigned int i;

	pick_va(addr, len);
	p->kind = pick_fd(kinds[rng_below(&fz.rng, nr_kinds)], &fz.res[ri],
			  &p->fd, &p->tmp);
	if (p->kind == FD_NEG)
		p->fd = -1;
	p->b = NULL;
	for (i = 0; p->kind == FD_DMABUF && i < FZ_BUFS; i++)
		if (fz.bufs[i].fd == p->fd)
			p->b = &fz.bufs[i];
	p->bad_fd = p->kind != FD_NEG && p->kind != FD_DMABUF;
	p->one = NULL;
	p->covered = !(*addr % fz.page) && !(*len % fz.page) &&
		     va_covered(*addr, *len, &p->one);
}

/*
 * CHECK_VA, against a kept dma-buf, no dma-buf (-1, identify), or an fd
 * that is no p2pmr dma-buf.  It may succeed only where EXPORT_VA may (one
 * writable shared resource mapping covers the range), and a success must
 * place the range where the fuzzer knows it is, in the BAR and in the
 * dma-buf.
 */
static void op_check_va(void)
{
	static const uint8_t kinds[] = {
		FD_NEG, FD_DMABUF, FD_DMABUF, FD_DMABUF, FD_CLOSED, FD_DEVNULL,
		FD_SOCKET, FD_RES_RW, FD_P2PMR, FD_HUGE,
	};
	struct p2pmr_check_va c = { .size = sizeof(c) };
	bool bad_flags = false;
	struct fz_frame f;
	struct va_pick v;
	int ret, err;

	if (dev_fd() < 0)
		return;
	pick_va_against(kinds, sizeof(kinds), &c.addr, &c.length, &v);
	c.dmabuf_fd = v.fd;
	if (rng_one_in(&fz.rng, 12)) {
		c.flags = 1U << rng_below(&fz.rng, 32);
		bad_flags = true;
	}
	if (rng_one_in(&fz.rng, 16)) {
		c.__reserved = 1 + rng_below(&fz.rng, UINT16_MAX);
		bad_flags = true;
	}
	if (rng_one_in(&fz.rng, 16)) {
		c.__reserved2 = 1 + rng_below(&fz.rng, UINT32_MAX);
		bad_flags = true;
	}
	c.out_offset = rng_next(&fz.rng);
	fz_desc(" addr %#" PRIx64 " len %#" PRIx64 " fd %s flags %#x rsv %#x/%#x",
		(uint64_t)c.addr, (uint64_t)c.length, fd_kind_names[v.kind],
		c.flags, c.__reserved, c.__reserved2);
	frame(&f, &c, sizeof(c));

	ret = do_ioctl(P2PMR_IOCTL_CHECK_VA, f.ptr, &err);
	judge(&f, ret, err, bad_flags || v.bad_fd || !v.covered,
	      bad_flags ? EINVAL : 0, false);
	close_if(&v.tmp);
	if (ret || !v.one)
		return;

	memcpy(&c, f.ptr, sizeof(c));
	check_va_answer("CHECK_VA", c.addr, c.out_offset, c.out_bar_offset,
			v.one, v.b, v.kind == FD_NEG);
}

static int parse_bdf(const char *s, unsigned int *domain, unsigned int *bus,
		     unsigned int *devfn)
{
	unsigned int dev, fn;
	char tail;

	if (sscanf(s, "%x:%x:%x.%x%c", domain, bus, &dev, &fn, &tail) != 4 ||
	    *bus > 0xff || dev > 0x1f || fn > 7)
		return -1;
	*devfn = dev << 3 | fn;
	return 0;
}

static void op_query_p2p(void)
{
	static const uint8_t kinds[] = {
		FD_RES_RW, FD_RES_RW, FD_RES_RO, FD_RES_WO, FD_NEG, FD_CLOSED,
		FD_DEVNULL, FD_SOCKET, FD_DMABUF, FD_DMABUF, FD_P2PMR,
	};
	struct p2pmr_query_p2p q = { .size = sizeof(q) };
	int ri = rng_below(&fz.rng, fz.nr_res), fd, tmp, ret, err;
	unsigned int domain = 0, bus = 0, devfn = 0, seq;
	bool bad_flags = false, by_dmabuf, bad_fd, known;
	enum fz_fd_kind kind;
	struct fz_frame f;

	if (dev_fd() < 0)
		return;
	kind = pick_fd(kinds[rng_below(&fz.rng, sizeof(kinds))],
		       &fz.res[ri], &fd, &tmp);
	q.provider_fd = fd;
	by_dmabuf = kind == FD_DMABUF ? !rng_one_in(&fz.rng, 4) :
				       rng_one_in(&fz.rng, 8);
	if (by_dmabuf)
		q.flags = P2PMR_QUERY_P2P_BY_DMABUF;
	known = rng_below(&fz.rng, 4) != 0;
	if (known) {
		parse_bdf(fz.importers[rng_below(&fz.rng, fz.nr_importers)],
			  &domain, &bus, &devfn);
	} else {
		domain = rng_one_in(&fz.rng, 2) ? 0 :
			 (uint32_t)rng_next(&fz.rng);
		bus = rng_below(&fz.rng, 256);
		devfn = rng_below(&fz.rng, 256);
	}
	q.importer_pci_domain = domain;
	q.importer_pci_bus = bus;
	q.importer_pci_devfn = devfn;
	if (rng_one_in(&fz.rng, 12)) {
		q.flags |= 1U << (1 + rng_below(&fz.rng, 31));
		bad_flags = true;
	}
	if (rng_one_in(&fz.rng, 16)) {
		q.__reserved = 1 + rng_below(&fz.rng, UINT16_MAX);
		bad_flags = true;
	}
	if (rng_one_in(&fz.rng, 16)) {
		q.__reserved2 = 1 + rng_below(&fz.rng, UINT32_MAX);
		bad_flags = true;
	}
	q.out_path = (uint32_t)rng_next(&fz.rng);
	fz_desc("res %d fd %s by_dmabuf %d importer %04x:%02x:%02x.%u flags %#x rsv %#x/%#x",
		ri, fd_kind_names[kind], by_dmabuf, domain, bus, devfn >> 3,
		devfn & 7, q.flags, q.__reserved, q.__reserved2);
	frame(&f, &q, sizeof(q));

	/* Any access mode names the device; a dma-buf only by flag. */
	bad_fd = by_dmabuf ? kind != FD_DMABUF :
		 (kind != FD_RES_RW && kind != FD_RES_RO &&
		  kind != FD_RES_WO);
	seq = atomic_load(&fz.seq);
	ret = do_ioctl(P2PMR_IOCTL_QUERY_P2P, f.ptr, &err);
	judge(&f, ret, err, bad_flags || bad_fd, bad_flags ? EINVAL : 0,
	      !by_dmabuf && kind == FD_RES_RW && known &&
	      fz.res[ri].seq == seq && undisturbed_since(seq));
	if (!ret) {
		memcpy(&q, f.ptr, sizeof(q));
		if (q.out_path > P2PMR_PATH_HOST_BRIDGE ||
		    q.out_reason < P2PMR_REASON_SAME_DEVICE ||
		    q.out_reason > P2PMR_REASON_P2PDMA_REFUSED)
			fz_fail("out_path %u out_reason %u", q.out_path,
				q.out_reason);
	}
	close_if(&tmp);
}

/* The dma-buf mapping holding all of [addr, addr + len), if one does. */
static struct fz_map *dmabuf_map_of(uint64_t addr, uint64_t len)
{
	struct fz_map *m;
	unsigned int i;

	for (i = 0; i < FZ_MAPS; i++) {
		m = &fz.maps[i];
		if (m->addr && m->kind == FZ_MAP_DMABUF &&
		    addr >= (uintptr_t)m->addr &&
		    addr - (uintptr_t)m->addr < m->len &&
		    len <= m->len - (addr - (uintptr_t)m->addr))
			return m;
	}
	return NULL;
}

/*
 * VA_DMABUF, mostly on ranges of dma-buf mappings.  A success must name
 * a range the fuzzer mapped from a dma-buf, at its dma-buf offset (a
 * range across adjacent mappings that the kernel sees as one may pass:
 * it is not judged).
 */
static void op_va_dmabuf(void)
{
	struct p2pmr_va_dmabuf v = { .size = sizeof(v) };
	bool bad_flags = false, bad_open = false;
	struct fz_map *m, *one;
	uint64_t pages, want;
	struct fz_frame f;
	int ret, err;

	if (dev_fd() < 0)
		return;
	m = map_random(FZ_MAP_DMABUF);
	if (m && !rng_one_in(&fz.rng, 4)) {
		pages = m->len / fz.page;
		v.addr = (uintptr_t)m->addr +
			 rng_below(&fz.rng, pages) * fz.page;
		v.length = (1 + rng_below(&fz.rng, pages -
					  (v.addr - (uintptr_t)m->addr) /
					  fz.page)) * fz.page;
		if (rng_one_in(&fz.rng, 8))
			v.length += fz.page;
		fz_desc("in dma-buf map");
	} else {
		pick_va(&v.addr, &v.length);
	}
	if (rng_one_in(&fz.rng, 4))
		v.flags = P2PMR_VA_DMABUF_READ_ONLY;
	if (rng_one_in(&fz.rng, 12)) {
		v.flags = 1U << rng_below(&fz.rng, 32);
		bad_flags = v.flags != P2PMR_VA_DMABUF_READ_ONLY;
	}
	if (rng_one_in(&fz.rng, 16)) {
		v.__reserved = 1 + rng_below(&fz.rng, UINT32_MAX);
		bad_flags = true;
	}
	v.open_flags = rng_one_in(&fz.rng, 2) ? O_CLOEXEC : 0;
	if (rng_one_in(&fz.rng, 12)) {
		v.open_flags = pick_open_flags(&bad_open);
		bad_open = v.open_flags & ~(uint32_t)O_CLOEXEC;
	}
	fz_desc(" addr %#" PRIx64 " len %#" PRIx64 " open %#x flags %#x rsv %#x",
		(uint64_t)v.addr, (uint64_t)v.length, v.open_flags, v.flags,
		v.__reserved);
	frame(&f, &v, sizeof(v));

	one = dmabuf_map_of(v.addr, v.length);
	ret = do_ioctl(P2PMR_IOCTL_VA_DMABUF, f.ptr, &err);
	judge(&f, ret, err, bad_flags || bad_open || v.addr % fz.page ||
	      v.length % fz.page || !v.length || !dmabuf_map_of(v.addr, 1),
	      (bad_flags || bad_open) ? EINVAL : 0, false);
	if (ret)
		return;

	memcpy(&v, f.ptr, sizeof(v));
	if (fcntl(v.out_dmabuf_fd, F_GETFD) < 0)
		fz_fail("VA_DMABUF fd %d is not open", v.out_dmabuf_fd);
	want = one ? one->dmabuf_off + (v.addr - (uintptr_t)one->addr) : 0;
	if (one && v.out_offset != want)
		fz_fail("VA_DMABUF out_offset %#" PRIx64 ", the mapping is at dma-buf offset %#" PRIx64,
			(uint64_t)v.out_offset, want);
	if (v.out_offset + v.length > v.out_dmabuf_size)
		fz_fail("VA_DMABUF range %#" PRIx64 " + %#" PRIx64 " past the dma-buf's size %#" PRIx64,
			(uint64_t)v.out_offset, (uint64_t)v.length,
			(uint64_t)v.out_dmabuf_size);
	close(v.out_dmabuf_fd);
}

static void op_bad_ioctl(void)
{
	uint64_t buf[8] = { sizeof(buf) };
	unsigned long req;
	int ret, err;

	if (dev_fd() < 0)
		return;
	req = _IOC(rng_below(&fz.rng, 4), P2PMR_TYPE, rng_below(&fz.rng, 256),
		   rng_below(&fz.rng, 64));
	if (rng_one_in(&fz.rng, 2))
		req = _IOC(_IOC_NONE, P2PMR_TYPE,
			   P2PMR_CMD_UNWATCH + 1 + rng_below(&fz.rng, 8), 0);
	if (req == P2PMR_IOCTL_EXPORT_FD || req == P2PMR_IOCTL_EXPORT_VA ||
	    req == P2PMR_IOCTL_QUERY_P2P || req == P2PMR_IOCTL_CHECK_VA ||
	    req == P2PMR_IOCTL_VA_DMABUF || req == P2PMR_IOCTL_WATCH_VA ||
	    req == P2PMR_IOCTL_UNWATCH)
		return;
	fz_desc("req %#lx", req);
	ret = ioctl(fz.dev, req, buf);
	err = ret ? errno : 0;
	count_errno(err);
	fz_desc(" -> %s", errname(err));
	if (err != ENOTTY)
		fz_fail("unknown ioctl %#lx: %s, not ENOTTY", req,
			errname(err));
}

/* ---- operations: watches ------------------------------------------------- */

static struct fz_watch *watch_of_slot(uint32_t slot)
{
	unsigned int i;

	for (i = 0; i < FZ_WATCHES; i++)
		if (fz.watches[i].live && fz.watches[i].slot == slot)
			return &fz.watches[i];
	return NULL;
}

static struct fz_watch *watch_random(void)
{
	unsigned int i, start = rng_below(&fz.rng, FZ_WATCHES);

	for (i = 0; i < FZ_WATCHES; i++)
		if (fz.watches[(start + i) % FZ_WATCHES].live)
			return &fz.watches[(start + i) % FZ_WATCHES];
	return NULL;
}

/* An UNWATCH the fuzzer does itself; the counter must move on. */
static void watch_end(struct fz_watch *w)
{
	struct p2pmr_unwatch u = { .size = sizeof(u), .slot = w->slot };
	uint64_t before = watch_count(w->slot);

	if (ioctl(fz.dev, P2PMR_IOCTL_UNWATCH, &u))
		fz_fail("UNWATCH of live slot %u: %s", w->slot,
			errname(errno));
	if (watch_page_mapped() && watch_count(w->slot) <= before)
		fz_fail("UNWATCH of slot %u left its counter at %" PRIu64,
			w->slot, before);
	fz.watches_moved += watch_page_mapped();
	w->live = false;
}

/*
 * fz.dev is about to close: its watches end with it, and its page must
 * be unmapped first, or the file (and p2pmr.ko) stays held.
 */
static void watches_drop(void)
{
	unsigned int i;

	for (i = 0; i < FZ_WPAGES; i++) {
		if (fz.wpages[i] && munmap(fz.wpages[i], fz.page))
			fz_fail("munmap of the watch page: %s",
				strerror(errno));
		fz.wpages[i] = NULL;
	}
	for (i = 0; i < FZ_WATCHES; i++)
		fz.watches[i].live = false;
}

/*
 * WATCH_VA: CHECK_VA's inputs and oracle, plus a slot that is not live
 * already and a counter that has not gone past out_seq unless the range
 * was disturbed.
 */
static void op_watch_va(void)
{
	static const uint8_t kinds[] = {
		FD_NEG, FD_NEG, FD_DMABUF, FD_DMABUF, FD_DMABUF, FD_CLOSED,
		FD_DEVNULL, FD_RES_RW, FD_P2PMR, FD_HUGE,
	};
	struct p2pmr_watch_va a = { .size = sizeof(a) };
	struct fz_watch *w = NULL;
	bool bad_flags = false;
	struct fz_frame f;
	struct va_pick v;
	unsigned int i;
	int ret, err;

	if (dev_fd() < 0)
		return;
	/* Room for one more, so that ENOSPC cannot happen. */
	for (i = 0; i < FZ_WATCHES && fz.watches[i].live; i++)
		;
	if (i == FZ_WATCHES) {
		fz_desc("unwatch to make room: ");
		w = watch_random();
		watch_end(w);
	} else {
		w = &fz.watches[i];
	}
	pick_va_against(kinds, sizeof(kinds), &a.addr, &a.length, &v);
	a.dmabuf_fd = v.fd;
	if (rng_one_in(&fz.rng, 12)) {
		a.flags = 1U << rng_below(&fz.rng, 32);
		bad_flags = true;
	}
	if (rng_one_in(&fz.rng, 16)) {
		a.__reserved = 1 + rng_below(&fz.rng, UINT16_MAX);
		bad_flags = true;
	}
	a.out_slot = rng_next(&fz.rng);
	a.out_seq = rng_next(&fz.rng);
	fz_desc(" addr %#" PRIx64 " len %#" PRIx64 " fd %s flags %#x rsv %#x",
		(uint64_t)a.addr, (uint64_t)a.length, fd_kind_names[v.kind],
		a.flags, a.__reserved);
	frame(&f, &a, sizeof(a));

	ret = do_ioctl(P2PMR_IOCTL_WATCH_VA, f.ptr, &err);
	judge(&f, ret, err, bad_flags || v.bad_fd || !v.covered,
	      bad_flags ? EINVAL : 0, false);
	close_if(&v.tmp);
	if (ret)
		return;

	memcpy(&a, f.ptr, sizeof(a));
	if (a.out_slot >= fz.page / 8)
		fz_fail("WATCH_VA out_slot %u past the watch page", a.out_slot);
	if (watch_of_slot(a.out_slot))
		fz_fail("WATCH_VA handed out slot %u, which is live",
			a.out_slot);
	if (watch_page_mapped() && watch_count(a.out_slot) < a.out_seq)
		fz_fail("WATCH_VA out_seq %" PRIu64 " is ahead of the counter %" PRIu64,
			(uint64_t)a.out_seq, watch_count(a.out_slot));
	if (v.one)
		check_va_answer("WATCH_VA", a.addr, a.out_offset,
				a.out_bar_offset, v.one, v.b,
				v.kind == FD_NEG);
	fz.watches_made++;
	w->live = true;
	w->slot = a.out_slot;
	w->seq = a.out_seq;
	w->addr = a.addr;
	w->len = a.length;
}

/* UNWATCH of a live slot, a free one, or one past the page. */
static void op_unwatch(void)
{
	struct p2pmr_unwatch u = { .size = sizeof(u) };
	struct fz_watch *w = watch_random();
	bool bad_flags = false;
	struct fz_frame f;
	int ret, err;

	if (dev_fd() < 0)
		return;
	switch (rng_below(&fz.rng, w ? 8 : 2)) {
	case 0:
		u.slot = rng_below(&fz.rng, fz.page / 8);
		break;
	case 1:
		u.slot = rng_one_in(&fz.rng, 2) ? fz.page / 8 :
			 (uint32_t)rng_next(&fz.rng);
		break;
	default:
		u.slot = w->slot;
		break;
	}
	w = watch_of_slot(u.slot);
	if (rng_one_in(&fz.rng, 12)) {
		u.flags = 1U << rng_below(&fz.rng, 32);
		bad_flags = true;
	}
	if (rng_one_in(&fz.rng, 16)) {
		u.__reserved = 1 + rng_below(&fz.rng, UINT32_MAX);
		bad_flags = true;
	}
	fz_desc(" slot %u%s flags %#x rsv %#x", u.slot, w ? " (live)" : "",
		u.flags, u.__reserved);
	frame(&f, &u, sizeof(u));
	/* Nothing to write back: a read-only struct does. */
	f.readonly = false;
	f.must_refuse = f.must_errno != 0;
	ret = do_ioctl(P2PMR_IOCTL_UNWATCH, f.ptr, &err);
	judge(&f, ret, err, bad_flags || !w, bad_flags || !w ? EINVAL : 0,
	      !bad_flags && w);
	if (ret)
		return;
	if (watch_page_mapped() && watch_count(w->slot) <= w->seq)
		fz_fail("UNWATCH of slot %u left its counter at %" PRIu64,
			w->slot, w->seq);
	fz.watches_moved += watch_page_mapped();
	w->live = false;
}

/*
 * mmap() of the watch page: one page at offset 0, MAP_SHARED, PROT_READ;
 * anything else is refused.  A kept mapping cannot be made writable.
 */
static void op_mmap_watch(void)
{
	static const int wprots[] = {
		PROT_READ, PROT_READ, PROT_READ, PROT_WRITE,
		PROT_READ | PROT_WRITE,
	};
	static const long lens[] = { 1, 1, 1, 1, 2, 0 };
	int prot = wprots[rng_below(&fz.rng, 5)], err = 0, want;
	bool priv = rng_one_in(&fz.rng, 6);
	size_t len = lens[rng_below(&fz.rng, 6)] * fz.page;
	off_t off = rng_one_in(&fz.rng, 6) ? fz.page : 0;
	unsigned int i;
	void *p;

	if (dev_fd() < 0)
		return;
	if (len && rng_one_in(&fz.rng, 4))
		len -= fz.page / 2;	/* mmap() rounds up to the page */
	for (i = 0; i < FZ_WPAGES && fz.wpages[i]; i++)
		;
	if (i == FZ_WPAGES) {
		i = rng_below(&fz.rng, FZ_WPAGES);
		fz_desc("munmap %p, ", (void *)fz.wpages[i]);
		munmap(fz.wpages[i], fz.page);
		fz.wpages[i] = NULL;
	}
	fz_desc("len %#zx off %#jx prot %d %s", len, (intmax_t)off, prot,
		priv ? "private" : "shared");
	p = mmap(NULL, len, prot, priv ? MAP_PRIVATE : MAP_SHARED, fz.dev,
		 off);
	if (p == MAP_FAILED)
		err = errno;
	count_errno(err);
	fz_desc(" -> %s", errname(err));
	want = !len || len > (size_t)fz.page || off || priv ? EINVAL :
	       prot & PROT_WRITE ? EACCES : 0;
	if (err != want)
		fz_fail("mmap of the watch page: %s, expected %s",
			errname(err), errname(want));
	if (err)
		return;
	if (!mprotect(p, fz.page, PROT_READ | PROT_WRITE) || errno != EACCES)
		fz_fail("mprotect of the watch page to PROT_WRITE: %s",
			errname(errno));
	fz.wpages[i] = p;
}

/* ---- operations: CPU mappings -------------------------------------------- */

static const int prots[] = {
	PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
};

static void op_mmap_dmabuf(void)
{
	struct fz_buf *b = buf_random();
	uint64_t pages, off, len;
	bool private, must_refuse, acc_bad;
	unsigned int seq;
	struct fz_map *m;
	int prot, acc;
	void *p;

	if (!b)
		return;
	pages = b->size / fz.page;
	if (rng_one_in(&fz.rng, 6)) {
		off = pick_edge(b->size) & ~(uint64_t)(fz.page - 1);
		len = pick_edge(b->size);
	} else {
		off = rng_below(&fz.rng, pages) * fz.page;
		len = (1 + rng_below(&fz.rng, pages - off / fz.page)) *
		      fz.page;
		/* whole BARs cost too much to touch page by page: cap */
		if (len > 256 * (uint64_t)fz.page)
			len = 256 * fz.page;
	}
	if (len > (1ULL << 40) || off > (1ULL << 40))
		len = b->size + fz.page;
	prot = prots[rng_below(&fz.rng, 4)];
	private = rng_one_in(&fz.rng, 10);
	acc = b->open_flags & O_ACCMODE;
	acc_bad = (acc == O_RDONLY && (prot & PROT_WRITE) && !private) ||
		  acc == O_WRONLY;
	must_refuse = private || acc_bad || !len || off > b->size ||
		      len > b->size - off;
	fz_desc("fd %d open %#x off %#" PRIx64 " len %#" PRIx64 " prot %d%s",
		b->fd, b->open_flags, off, len, prot,
		private ? " private" : "");

	seq = atomic_load(&fz.seq);
	p = mmap(NULL, len, prot, private ? MAP_PRIVATE : MAP_SHARED, b->fd,
		 (off_t)off);
	if (p == MAP_FAILED) {
		int err = errno;

		count_errno(err);
		fz_desc(" -> %s", errname(err));
		if (!mmap_errno_known(err))
			fz_fail("mmap of a dma-buf: errno %s", errname(err));
		if (!must_refuse && b->seq == seq &&
		    undisturbed_since(seq) && err != ENOMEM)
			fz_fail("a valid mmap was refused with %s, nothing disturbed",
				errname(err));
		return;
	}
	count_errno(0);
	fz_desc(" -> %p", p);
	if (must_refuse)
		fz_fail("an invalid mmap of a dma-buf was accepted");
	m = map_free_slot();
	m->addr = p;
	m->len = len;
	m->kind = FZ_MAP_DMABUF;
	m->res = b->res;
	m->bar_off = b->bar_off == UINT64_MAX ? UINT64_MAX : b->bar_off + off;
	m->dmabuf_off = off;
	m->prot = prot;
	m->writable_shared = false;
	m->dead = false;
	m->seq = b->seq == seq ? seq : 1;
}

/* mmap() of a resource file, for EXPORT_VA and for touching. */
static void op_mmap_res(void)
{
	int ri = rng_below(&fz.rng, fz.nr_res), prot, flags, fd;
	struct fz_res *r = &fz.res[ri];
	uint64_t pages = r->size / fz.page, off, len;
	unsigned int seq = atomic_load(&fz.seq);
	bool rw_fd = true;
	struct fz_map *m;
	void *p;

	off = rng_below(&fz.rng, pages) * fz.page;
	len = (1 + rng_below(&fz.rng, pages - off / fz.page < 256 ?
			     pages - off / fz.page : 256)) * fz.page;
	prot = rng_one_in(&fz.rng, 6) ? PROT_READ : PROT_READ | PROT_WRITE;
	flags = rng_one_in(&fz.rng, 8) ? MAP_PRIVATE : MAP_SHARED;
	fd = r->rw;
	if (rng_one_in(&fz.rng, 8)) {
		fd = r->ro;
		rw_fd = false;
		prot = PROT_READ;
	}
	fz_desc("res %d off %#" PRIx64 " len %#" PRIx64 " prot %d %s%s",
		ri, off, len, prot,
		flags == MAP_PRIVATE ? "private" : "shared",
		rw_fd ? "" : " ro-fd");
	if (fd < 0)
		return;
	p = mmap(NULL, len, prot, flags, fd, (off_t)off);
	if (p == MAP_FAILED) {
		/* Not p2pmr's: recorded, not judged. */
		count_errno(errno);
		fz_desc(" -> %s", errname(errno));
		return;
	}
	count_errno(0);
	m = map_free_slot();
	m->addr = p;
	m->len = len;
	m->kind = FZ_MAP_RES;
	m->res = ri;
	m->bar_off = off;
	m->prot = prot;
	m->writable_shared = rw_fd && (prot & PROT_WRITE) &&
			     flags == MAP_SHARED;
	m->dead = false;
	m->seq = r->seq == seq ? seq : 1;
}

static void op_munmap(void)
{
	struct fz_map *m = map_random(-1);

	if (!m)
		return;
	fz_desc("%p len %#zx", m->addr, m->len);
	map_drop(m);
}

static sigjmp_buf touch_env;
static volatile sig_atomic_t touching;

static void on_sigbus(int sig)
{
	if (!touching) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	siglongjmp(touch_env, 1);
}

static void on_sigsegv(int sig)
{
	static const char msg[] = "p2pmr_fuzz: SIGSEGV\n";
	char buf[96];
	int n;

	n = snprintf(buf, sizeof(buf), "p2pmr_fuzz: FAIL seed %" PRIu64 " op #%lu: SIGSEGV\n",
		     fz.seed, fz.nr_ops);
	ssize_t ret;

	ret = write(2, n > 0 ? buf : msg, n > 0 ? (size_t)n : sizeof(msg) - 1);
	(void)ret;
	(void)sig;
	_exit(1);
}

/*
 * The accesses themselves, apart from the sigsetjmp() in op_touch() so
 * that none of their variables can be clobbered by the siglongjmp().
 */
struct fz_touch {
	volatile uint64_t *w;
	uint64_t words;
	uint64_t bar_off;
	bool write;
	bool check;
};

static void __attribute__((noinline)) touch_words(const struct fz_touch *t)
{
	volatile uint64_t *w = t->w;
	uint64_t i, got, want, bar_off = t->bar_off;
	bool write = t->write, check = t->check;
	uint64_t words = t->words;

	for (i = 0; i < words; i++) {
		want = check || write ?
		       p2pmr_pattern_word(fz.pattern, bar_off + i * 8) : 0;
		if (write) {
			w[i] = want;
			continue;
		}
		got = w[i];
		fz.checked_words += check;
		if (check && got != want) {
			touching = 0;
			fz_fail("BAR offset %#" PRIx64 " reads %#" PRIx64 ", the pattern is %#" PRIx64,
				bar_off + i * 8, got, want);
		}
	}
}

/* Run touch_words(); false if it raised SIGBUS. */
static bool touch_guarded(const struct fz_touch *t)
{
	if (sigsetjmp(touch_env, 1)) {
		touching = 0;
		return false;
	}
	touching = 1;
	touch_words(t);
	touching = 0;
	return true;
}

/*
 * Read or write a few words of a mapping.  Writes are the testbed
 * pattern of the BAR offset, so that reads can check it (--pattern).
 */
static void op_touch(void)
{
	struct fz_map *m = map_random(-1);
	uint64_t off, bar_off, words;
	struct fz_touch t;
	bool write, check;
	unsigned int seq;

	if (!m || m->dead)
		return;
	write = (m->prot & PROT_WRITE) &&
		(!(m->prot & PROT_READ) || rng_one_in(&fz.rng, 2));
	off = rng_below(&fz.rng, m->len / 8) * 8;
	words = 1 + rng_below(&fz.rng, 64);
	if (off + words * 8 > m->len)
		words = (m->len - off) / 8;
	bar_off = m->bar_off == UINT64_MAX ? UINT64_MAX : m->bar_off + off;
	check = fz.have_pattern && m->res == 0 && bar_off != UINT64_MAX;
	/*
	 * What a sysfs mapping shows after its device was removed or
	 * rebound is the PCI core's business (a private one keeps the
	 * copies it made); p2pmr's dma-bufs must show the BAR or fault.
	 */
	if (m->kind == FZ_MAP_RES && !undisturbed_since(m->seq))
		check = false;
	/* Without a known BAR offset nothing can be written safely. */
	if (write && bar_off == UINT64_MAX)
		write = false;
	if (!write && !(m->prot & PROT_READ))
		return;
	fz_desc("%s %s %p+%#" PRIx64 " (BAR %#" PRIx64 ") %" PRIu64 " words%s",
		write ? "write" : "read",
		m->kind == FZ_MAP_RES ? "res" : "dma-buf", m->addr, off,
		bar_off, words,
		undisturbed_since(m->seq) ? "" : " (disturbed since mapped)");

	seq = atomic_load(&fz.seq);
	t.w = (volatile uint64_t *)((uint8_t *)m->addr + off);
	t.words = words;
	t.bar_off = bar_off;
	t.write = write;
	t.check = check;
	if (!touch_guarded(&t)) {
		fz.sigbus++;
		m->dead = true;
		fz_desc(" -> SIGBUS");
		if (m->seq == seq && undisturbed_since(seq))
			fz_fail("SIGBUS on a mapping nothing disturbed");
		return;
	}
	fz_desc(" -> ok");
}

static void op_close_dmabuf(void)
{
	struct fz_buf *b = buf_random();

	if (!b)
		return;
	fz_desc("fd %d", b->fd);
	buf_close(b);
}

static void op_reopen_res(void)
{
	int ri = rng_below(&fz.rng, fz.nr_res);

	fz_desc("res %d", ri);
	res_open(&fz.res[ri]);
	fz_desc(" rw %d ro %d wo %d", fz.res[ri].rw, fz.res[ri].ro,
		fz.res[ri].wo);
}

/* ---- operations: dma-buf MRs through soft-RoCE (--rdma) ------------------ */

/*
 * What an HCA driver does with p2pmr's dma-bufs, through the patched rxe:
 * register a held dma-buf (valid and invalid ranges and access flags),
 * RDMA READ and WRITE it through a loopback RC QP pair (READs checked
 * against the pattern: the MR reaches the BAR bytes it was registered
 * for, or fails), deregister; revocation reaches registered MRs through
 * the disruption thread's removals and rebinds.
 */

/*
 * Access flags a dma-buf MR must refuse: remote writes or atomics without
 * LOCAL_WRITE (the RDMA core's rule), and remote atomics at all (the CPU
 * cannot do them atomically on device memory: the rxe series refuses).
 */
static bool rdma_access_bad(int access)
{
	if (access & IBV_ACCESS_REMOTE_ATOMIC)
		return true;
	return (access & IBV_ACCESS_REMOTE_WRITE) &&
	       !(access & IBV_ACCESS_LOCAL_WRITE);
}

static bool rdma_errno_known(int e)
{
	switch (e) {
	case EINVAL: case ENODEV: case EOPNOTSUPP: case ENOMEM:
	case EREMOTEIO: case EBUSY: case EIO:
		return true;
	default:
		return false;
	}
}

static void rdma_loop_open(void)
{
	struct rc_loop_attr attr = {
		RC_LOOP_ATTR_DEFAULTS,
		.cq_entries = 4,
		.send_wr = 2,
		.recv_wr = 1,
		.buf_len = FZ_RDMA_MAX,
		.buf_access = IBV_ACCESS_LOCAL_WRITE,
	};
	enum rc_loop_err err = rc_loop_create(&fz.loop, fz.pd, &attr);

	if (err != RC_LOOP_OK)
		fz_fail("soft-RoCE loopback on %s: step %d: %s", fz.rdma_name,
			err, strerror(errno));
}

/* A failed work request leaves the QPs in the error state: start over. */
static void rdma_loop_reopen(void)
{
	if (rc_loop_destroy(&fz.loop))
		fz_fail("tearing down the loopback QPs: %s", strerror(errno));
	rdma_loop_open();
}

static void rdma_setup(void)
{
	fz.pd = test_open_pd("p2pmr_fuzz", fz.rdma_name);
	if (!fz.pd)
		fz_fail("no protection domain on RDMA device %s (see above)",
			fz.rdma_name);
	rdma_loop_open();
}

static void mr_drop(struct fz_mr *m)
{
	int err;

	if (!m->mr)
		return;
	err = p2pmr_dereg_mr(m->mr);
	if (err)
		fz_fail("deregistering a dma-buf MR: %s", errname(err));
	m->mr = NULL;
}

static void mrs_drop(void)
{
	unsigned int i;

	for (i = 0; i < FZ_MRS; i++)
		mr_drop(&fz.mrs[i]);
}

/* After release_all(), which deregistered the MRs. */
static void rdma_teardown(void)
{
	struct ibv_context *ctx;

	if (!fz.pd)
		return;
	ctx = fz.pd->context;
	if (rc_loop_destroy(&fz.loop) || ibv_dealloc_pd(fz.pd) ||
	    ibv_close_device(ctx))
		fz_fail("tearing down the RDMA resources: %s", strerror(errno));
	fz.pd = NULL;
}

static struct fz_mr *mr_free_slot(void)
{
	unsigned int i;

	for (i = 0; i < FZ_MRS; i++)
		if (!fz.mrs[i].mr)
			return &fz.mrs[i];
	/* Full: deregister a random one to make room. */
	i = rng_below(&fz.rng, FZ_MRS);
	mr_drop(&fz.mrs[i]);
	return &fz.mrs[i];
}

static struct fz_mr *mr_random(void)
{
	unsigned int i, start = rng_below(&fz.rng, FZ_MRS);

	for (i = 0; i < FZ_MRS; i++)
		if (fz.mrs[(start + i) % FZ_MRS].mr)
			return &fz.mrs[(start + i) % FZ_MRS];
	return NULL;
}

static void op_rdma_reg(void)
{
	static const int accesses[] = {
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ,
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			IBV_ACCESS_REMOTE_READ,
		IBV_ACCESS_REMOTE_READ,
		IBV_ACCESS_LOCAL_WRITE,
		IBV_ACCESS_REMOTE_WRITE,		/* no LOCAL_WRITE */
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_ATOMIC,
	};
	struct fz_buf *b = buf_random();
	uint64_t off, len, iova;
	struct ibv_mr *mr;
	struct fz_mr *m;
	unsigned int seq;
	bool bad;
	int access, err;

	if (!fz.pd || !b)
		return;
	m = mr_free_slot();
	if (rng_one_in(&fz.rng, 4)) {
		off = pick_edge(b->size);
		len = pick_edge(b->size);
	} else {
		pick_good_range(b->size, &off, &len);
		/* Byte granular: the MR need not start or end on a page. */
		if (rng_one_in(&fz.rng, 2) && len > 1) {
			off += rng_below(&fz.rng, fz.page);
			len -= off % fz.page + rng_below(&fz.rng, fz.page);
			if ((int64_t)len <= 0)
				len = 1;
		}
	}
	access = accesses[rng_below(&fz.rng,
				    sizeof(accesses) / sizeof(accesses[0]))];
	/* The page offset of the iova must be the offset's. */
	iova = (rng_next(&fz.rng) & ~((uint64_t)fz.page - 1) &
		0xffffffffffffULL) + off % fz.page;
	bad = !len || off + len < off || off + len > b->size ||
	      rdma_access_bad(access);
	fz_desc("fd %d [%#" PRIx64 ", +%#" PRIx64 ") of %#" PRIx64
		" iova %#" PRIx64 " access %#x%s", b->fd, off, len, b->size,
		iova, access, bad ? " (bad)" : "");

	seq = atomic_load(&fz.seq);
	mr = p2pmr_reg_dmabuf_mr(fz.pd, off, len, iova, b->fd, access);
	err = mr ? 0 : errno;
	count_errno(err);
	fz_desc(" -> %s", errname(err));
	if (bad) {
		if (mr)
			fz_fail("an invalid dma-buf MR was registered");
		if (err != EINVAL && err != EOPNOTSUPP)
			fz_fail("an invalid dma-buf MR was refused with %s, not EINVAL or EOPNOTSUPP",
				errname(err));
		fz.checked_refuse++;
		return;
	}
	if (!mr) {
		if (!rdma_errno_known(err))
			fz_fail("registering a dma-buf MR failed with %s",
				errname(err));
		if (b->seq == seq && undisturbed_since(seq))
			fz_fail("a dma-buf MR nothing disturbed was refused (%s)",
				errname(err));
		return;
	}
	if (b->seq == seq && undisturbed_since(seq))
		fz.checked_succeed++;
	/* rdma-core's ibv_reg_dmabuf_mr() puts the offset in addr. */
	if (mr->length != len || (uint64_t)(uintptr_t)mr->addr != off)
		fz_fail("the MR says [%p, +%#zx), registered [%#" PRIx64 ", +%#" PRIx64 ")",
			mr->addr, mr->length, off, len);
	fz.mrs_made++;
	*m = (struct fz_mr){
		.mr = mr,
		.res = b->res,
		.bar_off = b->bar_off == UINT64_MAX ? UINT64_MAX :
			   b->bar_off + off,
		.len = len,
		.iova = iova,
		.access = access,
		.seq = b->seq,
	};
}

static void op_rdma_dereg(void)
{
	struct fz_mr *m = mr_random();

	if (!m)
		return;
	fz_desc("MR %#x iova %#" PRIx64, m->mr->rkey, m->iova);
	mr_drop(m);
}

static void op_rdma_xfer(void)
{
	struct fz_mr *m = mr_random();
	uint64_t off, len, bar_off, first_bad = 0;
	enum ibv_wr_opcode opcode;
	struct ibv_sge sge;
	unsigned int seq;
	struct ibv_wc wc;
	bool allowed, check;
	int64_t wrong;
	int n;

	if (!m)
		return;
	off = rng_below(&fz.rng, m->len);
	len = 1 + rng_below(&fz.rng, m->len - off < FZ_RDMA_MAX ?
				     m->len - off : FZ_RDMA_MAX);
	bar_off = m->bar_off == UINT64_MAX ? UINT64_MAX : m->bar_off + off;
	check = fz.have_pattern && m->res == 0 && bar_off != UINT64_MAX;
	/* Only the pattern may be written, and only where it is known. */
	opcode = IBV_WR_RDMA_READ;
	if (check && rng_one_in(&fz.rng, 2))
		opcode = IBV_WR_RDMA_WRITE;
	allowed = m->access & (opcode == IBV_WR_RDMA_READ ?
			       IBV_ACCESS_REMOTE_READ :
			       IBV_ACCESS_REMOTE_WRITE);
	fz_desc("%s %#" PRIx64 " bytes at MR %#x iova %#" PRIx64 " (BAR %#"
		PRIx64 ")%s", opcode == IBV_WR_RDMA_READ ? "READ" : "WRITE",
		len, m->mr->rkey, m->iova + off, bar_off,
		allowed ? "" : " (not allowed)");
	p2pmr_pattern_fill(fz.loop.buf, bar_off, len, fz.pattern,
			   opcode == IBV_WR_RDMA_READ);
	sge = (struct ibv_sge){
		.addr = (uintptr_t)fz.loop.buf,
		.length = len,
		.lkey = fz.loop.mr->lkey,
	};
	seq = atomic_load(&fz.seq);
	if (rc_loop_post(&fz.loop, opcode, &sge, m->iova + off, m->mr->rkey,
			 0))
		fz_fail("ibv_post_send: %s", strerror(errno));
	n = rc_loop_poll(&fz.loop, &wc, 1, rc_loop_now() + FZ_RDMA_SECS, 100);
	if (n <= 0)
		fz_fail("no completion within %d s", FZ_RDMA_SECS);
	fz_desc(" -> %s", ibv_wc_status_str(wc.status));
	fz.rdma_ops++;
	if (wc.status != IBV_WC_SUCCESS) {
		if (allowed && m->seq == seq && undisturbed_since(seq))
			fz_fail("RDMA on an MR nothing disturbed failed: %s",
				ibv_wc_status_str(wc.status));
		rdma_loop_reopen();
		return;
	}
	if (!allowed)
		fz_fail("RDMA the MR's access flags forbid succeeded");
	if (opcode != IBV_WR_RDMA_READ || !check)
		return;
	wrong = p2pmr_pattern_check(fz.loop.buf, bar_off, len, fz.pattern,
				    false, &first_bad);
	if (wrong)
		fz_fail("RDMA READ of BAR %#" PRIx64 ", +%#" PRIx64 " through the MR returned %" PRId64 " wrong bytes, the first at BAR offset %#" PRIx64,
			bar_off, len, wrong, first_bad);
	fz.rdma_bytes_checked += len;
}

/* ---- operations: the test importer --------------------------------------- */

static int importer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int importer(const char *fmt, ...)
{
	char cmd[128];
	va_list ap;
	int err;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fz_desc("'%s'", cmd);
	err = write_file(IMPORTER_CTL, cmd);
	count_errno(err);
	fz_desc(" -> %s", errname(err));
	if (err && !importer_errno_known(err))
		fz_fail("the importer's %s failed with %s", cmd,
			errname(err));
	return err;
}

static void op_importer_attach(void)
{
	unsigned int s = rng_below(&fz.rng, FZ_SLOTS);
	struct fz_buf *b = buf_random();
	const char *opt = "";
	int fd = b ? b->fd : -1, err;

	switch (rng_below(&fz.rng, 8)) {
	case 0:
		opt = " pin";
		break;
	case 1:
		opt = " nop2p";
		break;
	case 2:
		fd = rng_one_in(&fz.rng, 2) ? 0 : -1;
		break;
	default:
		break;
	}
	err = importer("attach %u %d %s%s", s, fd,
		       fz.importers[rng_below(&fz.rng, fz.nr_importers)], opt);
	if (!err) {
		fz.slots[s].attached = true;
		fz.slots[s].pinned = !strcmp(opt, " pin");
	}
	if (!err && !strcmp(opt, " nop2p"))
		fz_fail("an importer without allow_peer2peer was attached");
}

static void op_importer_cmd(void)
{
	static const char *const cmds[] = {
		"map", "map", "unmap", "pin", "unpin", "detach",
	};
	unsigned int s = rng_below(&fz.rng, FZ_SLOTS), i;
	const char *c = cmds[rng_below(&fz.rng, 6)];

	/* Mostly a slot in use, if there is one. */
	for (i = 0; i < FZ_SLOTS && !rng_one_in(&fz.rng, 4) &&
	     !fz.slots[s].attached; i++)
		s = (s + 1) % FZ_SLOTS;
	bool attached = fz.slots[s].attached;
	int err = importer("%s %u", c, s);

	/* Only our own commands detach a slot. */
	if (!err && !attached)
		fz_fail("the importer's slot %u was not attached", s);
	if (!strcmp(c, "detach")) {
		fz.slots[s].attached = false;
		fz.slots[s].pinned = false;
	} else if (!err && !strcmp(c, "pin")) {
		fz.slots[s].pinned = true;
	} else if (!err && !strcmp(c, "unpin")) {
		fz.slots[s].pinned = false;
	}
}

static void importer_reset(void)
{
	int err = write_file(IMPORTER_CTL, "reset");

	if (err)
		fz_fail("importer reset: %s", strerror(err));
	memset(fz.slots, 0, sizeof(fz.slots));
}

/*
 * A pinned importer holds up the removal or rebinding of its device until
 * it lets go, as a real one would when its user deregisters (and without
 * CONFIG_DMABUF_MOVE_NOTIFY every mapped one is pinned): let go of the
 * attached slots once a disruption has waited a while.
 */
static void release_slots_if_waited(void)
{
	long since = atomic_load(&fz.busy_since_ms);
	unsigned int s;

	if (!since || now_ms() - since < 1000)
		return;
	for (s = 0; s < FZ_SLOTS; s++) {
		if (!fz.slots[s].attached)
			continue;
		fz_desc("let go of slot %u: ", s);
		importer("detach %u", s);
		fz.slots[s].attached = false;
		fz.slots[s].pinned = false;
	}
	/* Where the dma-buf core pins every importer, MRs hold removal too. */
	mrs_drop();
}

/* ---- operations: letting go of everything -------------------------------- */

static void release_all(void)
{
	unsigned int i;

	importer_reset();
	mrs_drop();
	for (i = 0; i < FZ_MAPS; i++)
		map_drop(&fz.maps[i]);
	for (i = 0; i < FZ_BUFS; i++)
		buf_close(&fz.bufs[i]);
	watches_drop();
	close_if(&fz.dev);
}

/* Close everything p2pmr counts; rmmod may succeed meanwhile. */
static void op_quiesce(void)
{
	release_all();
}

/*
 * The disruption thread wants p2pmr.ko idle to unload it: let go of
 * everything and wait (at most 2 s) until it has tried.  The thread also
 * tries while things are held, which must fail.
 */
static void wait_idle(void)
{
	int i;

	release_all();
	for (i = 0; i < 200 && atomic_load(&fz.want_idle); i++)
		sleep_ms(10);
	fz_desc("waited %d ms for the unload", i * 10);
}

/* ---- the disruption thread ----------------------------------------------- */

static void __attribute__((format(printf, 1, 2))) d_fail(const char *fmt,
							  ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "p2pmr_fuzz: FAIL seed %" PRIu64 " disruption: ",
		fz.seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static bool d_sleep(unsigned long ms)
{
	while (ms && !atomic_load(&fz.stop)) {
		unsigned long step = ms < 20 ? ms : 20;

		sleep_ms(step);
		ms -= step;
	}
	return !atomic_load(&fz.stop);
}

static void d_path(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "/sys/bus/pci/devices/%s/%s", fz.near_bdf, what);
}

/* Rescan until the near device's resource file is back (10 s). */
static void d_rescan(void)
{
	int i, err;

	for (i = 0; i < 1000; i++) {
		if (!access(fz.res[0].path, F_OK))
			return;
		if (!(i % 100)) {
			err = write_file(PCI_RESCAN, "1");
			if (err)
				d_fail("rescan: %s", strerror(err));
		}
		sleep_ms(10);
	}
	d_fail("%s did not come back after a rescan", fz.res[0].path);
}

static void d_remove(void)
{
	char path[PATH_MAX];
	int err;

	d_path(path, sizeof(path), "remove");
	err = write_file(path, "1");
	if (err && err != ENOENT)
		d_fail("remove %s: %s", fz.near_bdf, strerror(err));
	sleep_ms(rng_below(&fz.drng, 200));
	d_rescan();
}

static void d_stub(void)
{
	char path[PATH_MAX];
	int err;

	d_path(path, sizeof(path), "driver_override");
	err = write_file(path, "pci-stub");
	if (err)
		d_fail("driver_override of %s: %s", fz.near_bdf,
		       strerror(err));
	err = write_file(PCI_STUB "/bind", fz.near_bdf);
	if (err)
		d_fail("binding pci-stub to %s: %s", fz.near_bdf,
		       strerror(err));
	sleep_ms(rng_below(&fz.drng, 200));
	err = write_file(PCI_STUB "/unbind", fz.near_bdf);
	if (err)
		d_fail("unbinding pci-stub from %s: %s", fz.near_bdf,
		       strerror(err));
	err = write_file(path, "\n");
	if (err)
		d_fail("clearing driver_override of %s: %s", fz.near_bdf,
		       strerror(err));
}

static int d_unload(void)
{
	return syscall(SYS_delete_module, "p2pmr", O_NONBLOCK) ? errno : 0;
}

static void d_reload(void)
{
	int fd = open(fz.ko, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		d_fail("%s: %s", fz.ko, strerror(errno));
	if (syscall(SYS_finit_module, fd, "", 0))
		d_fail("finit_module %s: %s", fz.ko, strerror(errno));
	close(fd);
}

/*
 * rmmod: it goes only while nothing holds p2pmr.ko.  Tried once as is
 * (with live exports it must fail), then, half of the time, again while
 * the main thread lets go of everything.
 */
static void d_rmmod(void)
{
	int i, err;

	for (i = 0; i < 100; i++) {
		err = d_unload();
		if (!err) {
			atomic_fetch_add(&fz.unloads, 1);
			sleep_ms(rng_below(&fz.drng, 50));
			d_reload();
			break;
		}
		if (err != EBUSY && err != EAGAIN)
			d_fail("rmmod p2pmr: %s", strerror(err));
		if (!i && rng_one_in(&fz.drng, 2))
			break;
		atomic_store(&fz.want_idle, true);
		sleep_ms(10);
	}
	atomic_store(&fz.want_idle, false);
}

static void *disrupt_main(void *unused)
{
	enum fz_disrupt_kind kinds[FZ_D_KINDS];
	unsigned int n = 0;

	(void)unused;
	kinds[n++] = FZ_D_REMOVE;
	if (!access(PCI_STUB, F_OK))
		kinds[n++] = FZ_D_STUB;
	if (fz.ko)
		kinds[n++] = FZ_D_RMMOD;

	while (d_sleep(50 + rng_below(&fz.drng, 500))) {
		enum fz_disrupt_kind k = kinds[rng_below(&fz.drng, n)];

		atomic_fetch_add(&fz.seq, 1);
		atomic_store(&fz.busy_since_ms, now_ms());
		switch (k) {
		case FZ_D_REMOVE:
			d_remove();
			break;
		case FZ_D_STUB:
			d_stub();
			break;
		default:
			d_rmmod();
			break;
		}
		atomic_store(&fz.busy_since_ms, 0);
		atomic_fetch_add(&fz.seq, 1);
		atomic_fetch_add(&fz.disruptions[k], 1);
	}
	return NULL;
}

/* ---- the end: nothing leaked, the module unloads ---------------------- */

/* The first counter that is not zero, in @bad; false if none. */
static bool counters_busy(char *bad, size_t len)
{
	FILE *f = fopen(COUNTERS_PATH, "re");
	char name[64];
	long value;
	bool busy = false;

	if (!f)
		fz_fail("%s: %s", COUNTERS_PATH, strerror(errno));
	while (fscanf(f, "%63s %ld", name, &value) == 2) {
		if (value) {
			snprintf(bad, len, "%s %ld", name, value);
			busy = true;
			break;
		}
	}
	fclose(f);
	return busy;
}

static void finish(void)
{
	char bad[96] = "";
	int i, err = 0;

	fz.op_name = "finish";
	fz.desc[0] = '\0';
	for (i = 0; i < FZ_IDLE_SECS * 10 && counters_busy(bad, sizeof(bad));
	     i++)
		sleep_ms(100);
	if (i == FZ_IDLE_SECS * 10)
		fz_fail("counter %s is not back to zero after %d s", bad,
			FZ_IDLE_SECS);
	for (i = 0; i < 50; i++) {
		err = d_unload();
		if (!err || (err != EBUSY && err != EAGAIN))
			break;
		sleep_ms(100);
	}
	if (err)
		fz_fail("rmmod p2pmr with nothing open: %s", strerror(err));
}

/* ---- main ---------------------------------------------------------------- */

static struct fz_op ops[] = {
	{ .name = "export_fd", .fn = op_export_fd, .weight = 200 },
	{ .name = "export_va", .fn = op_export_va, .weight = 120 },
	{ .name = "query_p2p", .fn = op_query_p2p, .weight = 60 },
	{ .name = "check_va", .fn = op_check_va, .weight = 60 },
	{ .name = "va_dmabuf", .fn = op_va_dmabuf, .weight = 60 },
	{ .name = "bad_ioctl", .fn = op_bad_ioctl, .weight = 20 },
	{ .name = "watch_va", .fn = op_watch_va, .weight = 60 },
	{ .name = "unwatch", .fn = op_unwatch, .weight = 30 },
	{ .name = "mmap_watch", .fn = op_mmap_watch, .weight = 15 },
	{ .name = "mmap_dmabuf", .fn = op_mmap_dmabuf, .weight = 100 },
	{ .name = "mmap_res", .fn = op_mmap_res, .weight = 50 },
	{ .name = "munmap", .fn = op_munmap, .weight = 80 },
	{ .name = "touch", .fn = op_touch, .weight = 200 },
	{ .name = "close_dmabuf", .fn = op_close_dmabuf, .weight = 80 },
	{ .name = "reopen_res", .fn = op_reopen_res, .weight = 20 },
	{ .name = "importer_attach", .fn = op_importer_attach, .weight = 60 },
	{ .name = "importer_cmd", .fn = op_importer_cmd, .weight = 100 },
	{ .name = "rdma_reg", .fn = op_rdma_reg, .weight = 40 },
	{ .name = "rdma_xfer", .fn = op_rdma_xfer, .weight = 60 },
	{ .name = "rdma_dereg", .fn = op_rdma_dereg, .weight = 15 },
	/* last: wait_idle() counts as one */
	{ .name = "quiesce", .fn = op_quiesce, .weight = 1 },
};

#define NR_OPS (sizeof(ops) / sizeof(ops[0]))

static struct fz_op *pick_op(void)
{
	unsigned int total = 0, i, r;

	for (i = 0; i < NR_OPS; i++)
		total += ops[i].weight;
	r = rng_below(&fz.rng, total);
	for (i = 0; r >= ops[i].weight; i++)
		r -= ops[i].weight;
	return &ops[i];
}

static void summary(void)
{
	unsigned int i;
	int e;

	printf("p2pmr_fuzz: seed %" PRIu64 " ops %lu sigbus %lu\n", fz.seed,
	       fz.nr_ops, fz.sigbus);
	for (i = 0; i < NR_OPS; i++)
		printf("p2pmr_fuzz:   op %-16s %8lu\n", ops[i].name,
		       ops[i].count);
	for (i = 0; i < FZ_D_KINDS; i++)
		printf("p2pmr_fuzz:   disruption %-22s %6lu\n",
		       fz_disrupt_names[i],
		       (unsigned long)atomic_load(&fz.disruptions[i]));
	printf("p2pmr_fuzz:   p2pmr.ko unloaded and reloaded %lu times\n",
	       (unsigned long)atomic_load(&fz.unloads));
	printf("p2pmr_fuzz:   judged: %lu invalid requests refused, %lu valid ones served, %lu words read back\n",
	       fz.checked_refuse, fz.checked_succeed, fz.checked_words);
	printf("p2pmr_fuzz:   watches: %lu made, %lu counters checked to move\n",
	       fz.watches_made, fz.watches_moved);
	if (fz.rdma_name)
		printf("p2pmr_fuzz:   RDMA on %s: %lu dma-buf MRs registered, %lu READs and WRITEs completed, %lu bytes read back\n",
		       fz.rdma_name, fz.mrs_made, fz.rdma_ops,
		       fz.rdma_bytes_checked);
	for (e = 0; e < FZ_MAX_ERRNO; e++)
		if (fz.errnos[e])
			printf("p2pmr_fuzz:   result %-12s %8lu\n",
			       errname(e), fz.errnos[e]);
	fflush(stdout);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (*s == '\0' || *s == '-' || *end != '\0' || errno) ? -1 : 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: p2pmr_fuzz --near RES [--cmb RES] [--ko P2PMR_KO] [--importer BDF]...\n"
		"                  [--seed N] [--seconds S] [--ops N] [--pattern SEED]\n"
		"                  [--rdma IBDEV] [--no-disrupt] [--verbose]\n");
	return 2;
}

static void setup_res(struct fz_res *r, const char *path)
{
	struct stat st;

	r->path = path;
	r->rw = r->ro = r->wo = -1;
	if (stat(path, &st) || !st.st_size)
		fz_fail("%s: %s", path, strerror(errno));
	r->size = st.st_size;
	res_open(r);
}

static void setup(void)
{
	char tmp[PATH_MAX], *dir;
	struct sigaction sa;
	uint8_t *p;
	unsigned int i;

	fz.page = sysconf(_SC_PAGESIZE);
	for (i = 0; i < FZ_BUFS; i++)
		fz.bufs[i].fd = -1;

	snprintf(tmp, sizeof(tmp), "%s", fz.res[0].path);
	dir = basename(dirname(tmp));
	snprintf(fz.near_bdf, sizeof(fz.near_bdf), "%s", dir);
	for (i = 0; i < fz.nr_res; i++)
		setup_res(&fz.res[i], fz.res[i].path);

	/* scratch: 2 pages, guard, read-only page */
	p = mmap(NULL, 4 * fz.page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + 2 * fz.page, fz.page, PROT_NONE))
		fz_fail("scratch pages: %s", strerror(errno));
	fz.arg = p;
	fz.guard = p + 2 * fz.page;
	fz.ro = p + 3 * fz.page;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	sa.sa_handler = on_sigsegv;
	sigaction(SIGSEGV, &sa, NULL);

	if (dev_fd() < 0)
		fz_fail("%s: p2pmr.ko is not loaded", DEV_PATH);
	importer_reset();
	if (fz.rdma_name)
		rdma_setup();
}

int main(int argc, char **argv)
{
	uint64_t v, seconds = 60, max_ops = 0;
	bool have_seed = false;
	struct timespec ts;
	struct fz_op *op;
	long deadline;
	int i, err;

	fz.disrupt = true;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--no-disrupt")) {
			fz.disrupt = false;
			continue;
		}
		if (!strcmp(a, "--verbose")) {
			fz.verbose = true;
			continue;
		}
		if (!val)
			return usage();
		i++;
		if (!strcmp(a, "--near")) {
			fz.res[0].path = val;
		} else if (!strcmp(a, "--cmb")) {
			fz.res[1].path = val;
		} else if (!strcmp(a, "--ko")) {
			fz.ko = val;
		} else if (!strcmp(a, "--rdma")) {
			fz.rdma_name = val;
		} else if (!strcmp(a, "--importer")) {
			if (fz.nr_importers == FZ_IMPORTERS)
				return usage();
			snprintf(fz.importers[fz.nr_importers++],
				 sizeof(fz.importers[0]), "%s", val);
		} else if (parse_u64(val, &v)) {
			return usage();
		} else if (!strcmp(a, "--seed")) {
			fz.seed = v;
			have_seed = true;
		} else if (!strcmp(a, "--seconds")) {
			seconds = v;
		} else if (!strcmp(a, "--ops")) {
			max_ops = v;
		} else if (!strcmp(a, "--pattern")) {
			fz.pattern = v;
			fz.have_pattern = true;
		} else {
			return usage();
		}
	}
	if (!fz.res[0].path)
		return usage();
	fz.nr_res = fz.res[1].path ? 2 : 1;
	if (!fz.nr_importers)
		return usage();
	if (!have_seed) {
		clock_gettime(CLOCK_REALTIME, &ts);
		fz.seed = (uint64_t)ts.tv_sec * 1000000007ULL ^ ts.tv_nsec;
	}
	printf("p2pmr_fuzz: seed %" PRIu64 "\n", fz.seed);
	fflush(stdout);
	fz.rng = fz.seed;
	fz.drng = fz.seed ^ 0xd15ea5e5d15ea5e5ULL;
	fz.seconds = seconds;
	fz.max_ops = max_ops;

	setup();
	if (fz.disrupt) {
		err = pthread_create(&fz.thread, NULL, disrupt_main, NULL);
		if (err)
			fz_fail("pthread_create: %s", strerror(err));
	}

	deadline = now_ms() + (long)seconds * 1000;
	while (now_ms() < deadline && (!max_ops || fz.nr_ops < max_ops)) {
		op = pick_op();
		fz.op_name = op->name;
		fz.desc[0] = '\0';
		release_slots_if_waited();
		if (atomic_load(&fz.want_idle)) {
			op = &ops[NR_OPS - 1];
			fz.op_name = op->name;
			wait_idle();
		} else {
			op->fn();
		}
		op->count++;
		snprintf(fz.history[fz.nr_ops % FZ_HISTORY],
			 sizeof(fz.history[0]), "#%lu %s: %s", fz.nr_ops,
			 op->name, fz.desc);
		if (fz.verbose)
			printf("%s\n", fz.history[fz.nr_ops % FZ_HISTORY]);
		fz.nr_ops++;
	}

	/* Let go first: a removal may be waiting for a pinned slot. */
	atomic_store(&fz.stop, true);
	fz.op_name = "release";
	release_all();
	rdma_teardown();
	for (i = 0; i < (int)fz.nr_res; i++)
		res_close(&fz.res[i]);
	if (fz.disrupt)
		pthread_join(fz.thread, NULL);
	finish();
	summary();
	printf("p2pmr_fuzz: seed %" PRIu64 " ok: counters at zero, p2pmr.ko unloaded\n",
	       fz.seed);
	return 0;
}
