// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmr_uapi_test: the /dev/p2pmr ABI seen from userspace, run as root
 * inside the testbed guest with p2pmr.ko loaded.
 *
 *   p2pmr_uapi_test errno [--io RES] [--no-write] [--no-counters] RES
 *	Every refused input is a row with the errno <linux/p2pmr.h>
 *	documents, then the positive rows.  TAP output; exit 1 on any
 *	failure.  Writes the test pattern into the first two pages of the
 *	BAR unless --no-write.  --io names the resource file of an I/O-port
 *	BAR (found on RES's device by default).  The last row checks that
 *	p2pmr's debugfs counters are back to zero (--no-counters skips it,
 *	for runs beside other users of p2pmr).
 *
 *   p2pmr_uapi_test fill|check [--by-va] RES OFFSET LENGTH SEED
 *	Write or verify the testbed pattern (tests/common/pattern.h) in
 *	[OFFSET, OFFSET + LENGTH) of the BAR through an mmap() of a dma-buf
 *	exported by fd (default) or by address of a mapping of RES.
 *
 *   p2pmr_uapi_test hold [--by-va] [--no-mmap] RES OFFSET LENGTH [-- CMD...]
 *	Export and mmap the range, print "READY dmabuf_fd=<fd> ...", run
 *	CMD (if any) with the dma-buf fd inherited and its number in
 *	$P2PMR_DMABUF_FD, then serve commands from stdin until EOF:
 *	"read" prints "READ 0x<8 bytes at offset 0>" or "READ SIGBUS",
 *	"check" (--by-va) prints "CHECK <errno name>" of a CHECK_VA of the
 *	resource mapping against the dma-buf,
 *	"close" unmaps and closes the dma-buf and prints "CLOSED",
 *	"watch" (--by-va) prints "WATCH <errno name> <errno name>" of a
 *	WATCH_VA of the resource mapping against the dma-buf and of one
 *	without it, on a /dev/p2pmr fd of its own, and "watched" then
 *	prints "WATCHED dmabuf=<moved|same> va=<moved|same>", whether the
 *	counter of each has moved since.
 *
 *   p2pmr_uapi_test query [--by-dmabuf] RES IMPORTER-BDF
 *	Print how IMPORTER-BDF (dddd:bb:dd.f) would reach RES's BAR:
 *	"path=<p> reason=<r> distance=<d> flags=<f>".
 *
 * RES is /sys/bus/pci/devices/<bdf>/resource<N> or resource<N>_wc.
 * Numbers take C prefixes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/dma-heap.h>
#include <linux/p2pmr.h>

#include "pattern.h"
#include "pattern_io.h"
#include "test_args.h"

#define DEV_PATH	"/dev/" P2PMR_DEVICE_NAME
#define COUNTERS_PATH	"/sys/kernel/debug/p2pmr/counters"
#define NOBODY		65534
#define TEST_SEED	0x5eed

/* What a resource path names. */
struct bar {
	char path[PATH_MAX];
	char dir[PATH_MAX / 2];
	unsigned int domain, bus, dev, fn;
	unsigned int index;
	bool wc;
	uint64_t size;
};

static long page;
static int dev_fd = -1;
static unsigned int tests;
static unsigned int failures;

/* ---- TAP ---------------------------------------------------------------- */

static void row(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %u - ", ok ? "" : "not ", ++tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
}

static void skip(const char *name, const char *why)
{
	printf("ok %u - %s # SKIP %s\n", ++tests, name, why);
	fflush(stdout);
}

static const char *errname(int e)
{
	static char buf[32];

	switch (e) {
	case 0: return "success";
	case EPERM: return "EPERM";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case E2BIG: return "E2BIG";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EREMOTEIO: return "EREMOTEIO";
	case ENOENT: return "ENOENT";
	case ESTALE: return "ESTALE";
	case ENOSPC: return "ENOSPC";
	case EXDEV: return "EXDEV";
	default:
		snprintf(buf, sizeof(buf), "errno %d", e);
		return buf;
	}
}

static void row_errno(const char *name, int expect, int got)
{
	row(got == expect, "%s: expected %s, got %s", name, errname(expect),
	    errname(got));
}

static void bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

/* ---- helpers ------------------------------------------------------------- */

static int xioctl(unsigned long req, void *arg)
{
	return ioctl(dev_fd, req, arg) ? errno : 0;
}

static void close_if(int fd)
{
	if (fd >= 0)
		close(fd);
}

static int parse_bdf(const char *s, unsigned int *domain, unsigned int *bus,
		     unsigned int *dev, unsigned int *fn)
{
	char tail;

	if (sscanf(s, "%x:%x:%x.%x%c", domain, bus, dev, fn, &tail) != 4 ||
	    *bus > 0xff || *dev > 0x1f || *fn > 7)
		return -1;
	return 0;
}

static void bar_from_path(const char *path, struct bar *b)
{
	char tmp[PATH_MAX], *base;
	struct stat st;
	char wc[4] = "";
	int n;

	if (!realpath(path, b->path))
		bail("%s: %s", path, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s", b->path);
	snprintf(b->dir, sizeof(b->dir), "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", b->dir);
	base = basename(tmp);
	if (parse_bdf(base, &b->domain, &b->bus, &b->dev, &b->fn))
		bail("%s is not in a PCI device directory", path);
	snprintf(tmp, sizeof(tmp), "%s", b->path);
	base = basename(tmp);
	n = sscanf(base, "resource%u%3s", &b->index, wc);
	if (n < 1 || (n == 2 && strcmp(wc, "_wc")))
		bail("%s is not a resource<N> file", path);
	b->wc = n == 2;
	if (stat(b->path, &st))
		bail("%s: %s", b->path, strerror(errno));
	b->size = st.st_size;
}

static void open_dev(void)
{
	dev_fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (dev_fd < 0)
		bail("%s: %s (is p2pmr.ko loaded?)", DEV_PATH, strerror(errno));
}

static int open_res(const struct bar *b, int flags)
{
	int fd = open(b->path, flags | O_CLOEXEC);

	if (fd < 0)
		bail("%s: %s", b->path, strerror(errno));
	return fd;
}

static struct p2pmr_export_fd efd_args(int rfd, uint64_t off, uint64_t len,
				       uint32_t open_flags)
{
	struct p2pmr_export_fd a = {
		.size = sizeof(a),
		.resource_fd = rfd,
		.open_flags = open_flags,
		.offset = off,
		.length = len,
		.out_dmabuf_fd = -1,
	};

	return a;
}

static struct p2pmr_export_va eva_args(const void *addr, uint64_t len,
				       uint32_t open_flags)
{
	struct p2pmr_export_va a = {
		.size = sizeof(a),
		.addr = (uintptr_t)addr,
		.length = len,
		.open_flags = open_flags,
		.out_dmabuf_fd = -1,
	};

	return a;
}

/* EXPORT_FD expected to fail: a dma-buf it returns anyway is closed. */
static void export_fd_row(const char *name, int expect,
			  struct p2pmr_export_fd *a)
{
	int got = xioctl(P2PMR_IOCTL_EXPORT_FD, a);

	if (!got)
		close_if(a->out_dmabuf_fd);
	row_errno(name, expect, got);
}

static void export_va_row(const char *name, int expect,
			  struct p2pmr_export_va *a)
{
	int got = xioctl(P2PMR_IOCTL_EXPORT_VA, a);

	if (!got)
		close_if(a->out_dmabuf_fd);
	row_errno(name, expect, got);
}

static void *map_res(int fd, uint64_t off, size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, flags, fd, (off_t)off);
}

static bool fd_cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);

	return f >= 0 && (f & FD_CLOEXEC);
}

static bool fd_valid(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

/* ---- errno table ----------------------------------------------------------- */

static void rows_ioctl_format(const struct bar *b, int rfd)
{
	struct {
		struct p2pmr_export_fd a;
		uint64_t tail;
	} big;
	struct {
		struct p2pmr_query_p2p q;
		uint64_t tail;
	} bigq;
	struct p2pmr_export_fd a;
	struct p2pmr_export_va v;
	struct p2pmr_query_p2p q;
	int got;

	a = efd_args(rfd, 0, page, 0);
	row_errno("unknown ioctl number", ENOTTY,
		  xioctl(_IO(P2PMR_TYPE, P2PMR_CMD_BASE + 0x7f), &a));
	row_errno("known number, wrong ioctl type", ENOTTY,
		  xioctl(_IO('x', P2PMR_CMD_EXPORT_FD), &a));
	row_errno("size-encoding ioctl number", ENOTTY,
		  xioctl(_IOWR(P2PMR_TYPE, P2PMR_CMD_EXPORT_FD,
			       struct p2pmr_export_fd), &a));
	row_errno("argument pointer not mapped", EFAULT,
		  xioctl(P2PMR_IOCTL_EXPORT_FD, NULL));

	a.size = 4;
	export_fd_row("EXPORT_FD size 4", EINVAL, &a);
	a.size = sizeof(a) - 8;
	export_fd_row("EXPORT_FD size below the first struct", EINVAL, &a);
	v = eva_args(NULL, page, 0);
	v.size = sizeof(v) - 8;
	export_va_row("EXPORT_VA size below the first struct", EINVAL, &v);
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q) - 4;
	row_errno("QUERY_P2P size below the first struct", EINVAL,
		  xioctl(P2PMR_IOCTL_QUERY_P2P, &q));

	memset(&big, 0, sizeof(big));
	big.a = efd_args(rfd, 0, page, O_CLOEXEC);
	big.a.size = sizeof(big);
	big.tail = 1;
	export_fd_row("EXPORT_FD larger struct, nonzero tail", E2BIG, &big.a);

	memset(&bigq, 0, sizeof(bigq));
	bigq.q.size = sizeof(bigq);
	bigq.q.provider_fd = rfd;
	bigq.q.importer_pci_domain = b->domain;
	bigq.q.importer_pci_bus = b->bus;
	bigq.q.importer_pci_devfn = (b->dev << 3) | b->fn;
	bigq.tail = 1ULL << 63;
	row_errno("QUERY_P2P larger struct, nonzero tail", E2BIG,
		  xioctl(P2PMR_IOCTL_QUERY_P2P, &bigq));

	big.tail = 0;
	got = xioctl(P2PMR_IOCTL_EXPORT_FD, &big.a);
	row(!got && fd_valid(big.a.out_dmabuf_fd) && !big.tail,
	    "EXPORT_FD larger struct, zero tail: accepted (%s), tail left zero",
	    errname(got));
	if (!got)
		close(big.a.out_dmabuf_fd);

	a = efd_args(rfd, 0, page, 0);
	a.flags = 1U << 31;
	export_fd_row("EXPORT_FD unknown flags", EINVAL, &a);
	a = efd_args(rfd, 0, page, 0);
	a.__reserved = 1;
	export_fd_row("EXPORT_FD nonzero __reserved", EINVAL, &a);
	a = efd_args(rfd, 0, page, O_APPEND);
	export_fd_row("EXPORT_FD open_flags O_APPEND", EINVAL, &a);
	a = efd_args(rfd, 0, page, O_ACCMODE);
	export_fd_row("EXPORT_FD open_flags access mode 3", EINVAL, &a);
	v = eva_args(NULL, page, 0);
	v.flags = 1;
	export_va_row("EXPORT_VA unknown flags", EINVAL, &v);
	v = eva_args(NULL, page, 0);
	v.__reserved = 1;
	export_va_row("EXPORT_VA nonzero __reserved", EINVAL, &v);

	q = (struct p2pmr_query_p2p){ .size = sizeof(q), .provider_fd = rfd };
	q.flags = 1U << 7;
	row_errno("QUERY_P2P unknown flags", EINVAL,
		  xioctl(P2PMR_IOCTL_QUERY_P2P, &q));
	q.flags = 0;
	q.__reserved2 = 1;
	row_errno("QUERY_P2P nonzero __reserved2", EINVAL,
		  xioctl(P2PMR_IOCTL_QUERY_P2P, &q));
}

static void rows_range(const struct bar *b, int rfd)
{
	struct p2pmr_export_fd a;

	a = efd_args(rfd, 0, 0, 0);
	export_fd_row("zero length", EINVAL, &a);
	a = efd_args(rfd, 1, page, 0);
	export_fd_row("unaligned offset", EINVAL, &a);
	a = efd_args(rfd, 0, page + 1, 0);
	export_fd_row("unaligned length", EINVAL, &a);
	a = efd_args(rfd, UINT64_MAX & ~(uint64_t)(page - 1), 2 * page, 0);
	export_fd_row("offset + length overflows", EOVERFLOW, &a);
	a = efd_args(rfd, b->size, page, 0);
	export_fd_row("range starts at the end of the BAR", EINVAL, &a);
	a = efd_args(rfd, b->size - page, 2 * page, 0);
	export_fd_row("range crosses the end of the BAR", EINVAL, &a);
	a = efd_args(rfd, 0, b->size + page, 0);
	export_fd_row("range longer than the BAR", EINVAL, &a);
}

/* The resource file of an I/O-port BAR of @b's device, if any. */
static bool find_io_bar(const struct bar *b, char *path, size_t len)
{
	unsigned long long start, end, flags;
	char file[PATH_MAX];
	unsigned int i;
	bool found = false;
	FILE *f;

	snprintf(file, sizeof(file), "%s/resource", b->dir);
	f = fopen(file, "r");
	if (!f)
		return false;
	for (i = 0; i < 6; i++) {
		if (fscanf(f, "%llx %llx %llx", &start, &end, &flags) != 3)
			break;
		/* IORESOURCE_IO */
		if (!(flags & 0x100) || !end)
			continue;
		snprintf(path, len, "%s/resource%u", b->dir, i);
		if (!access(path, F_OK)) {
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static void rows_files(const struct bar *b, const char *io_path)
{
	char path[PATH_MAX], tmpl[] = "/tmp/p2pmr_uapi_test.XXXXXX";
	struct p2pmr_export_fd a;
	int fd, closed;

	fd = open_res(b, O_RDONLY);
	a = efd_args(fd, 0, page, 0);
	export_fd_row("resource file opened O_RDONLY", EACCES, &a);
	close(fd);

	fd = open_res(b, O_WRONLY);
	a = efd_args(fd, 0, page, 0);
	export_fd_row("resource file opened O_WRONLY", EACCES, &a);
	close(fd);

	closed = open("/dev/null", O_RDONLY);
	close(closed);
	a = efd_args(closed, 0, page, 0);
	export_fd_row("resource_fd is a closed fd", EBADF, &a);
	a = efd_args(-1, 0, page, 0);
	export_fd_row("resource_fd is -1", EBADF, &a);

	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	a = efd_args(fd, 0, page, 0);
	export_fd_row("resource_fd is /dev/null", EINVAL, &a);
	close_if(fd);

	fd = mkstemp(tmpl);
	if (fd >= 0) {
		unlink(tmpl);
		if (ftruncate(fd, 2 * page))
			perror("ftruncate");
		a = efd_args(fd, 0, page, 0);
		export_fd_row("resource_fd is a regular file", EINVAL, &a);
		close(fd);
	} else {
		skip("resource_fd is a regular file", "mkstemp failed");
	}

	a = efd_args(dev_fd, 0, page, 0);
	export_fd_row("resource_fd is /dev/p2pmr itself", EINVAL, &a);

	snprintf(path, sizeof(path), "%s/config", b->dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		a = efd_args(fd, 0, page, 0);
		export_fd_row("resource_fd is the device's config file",
			      EINVAL, &a);
		close(fd);
	} else {
		skip("resource_fd is the device's config file",
		     strerror(errno));
	}

	/* The summary file "resource" names no BAR. */
	snprintf(path, sizeof(path), "%s/resource", b->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		a = efd_args(fd, 0, page, 0);
		export_fd_row("resource_fd is the device's resource summary",
			      EINVAL, &a);
		close(fd);
	} else {
		skip("resource_fd is the device's resource summary",
		     strerror(errno));
	}

	/* No resource<N> file exists for an absent BAR: nothing to pass. */
	skip("nonexistent BAR", "sysfs has no resource<N> file for it; covered by the non-resource rows");

	if (!io_path && find_io_bar(b, path, sizeof(path)))
		io_path = path;
	if (io_path) {
		fd = open(io_path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			row(false, "I/O-port BAR: open %s: %s", io_path,
			    strerror(errno));
		} else {
			a = efd_args(fd, 0, page, 0);
			export_fd_row("I/O-port BAR", EOPNOTSUPP, &a);
			close(fd);
		}
	} else {
		skip("I/O-port BAR", "the device has no I/O-port BAR; pass --io RES to test one");
	}
}

static void rows_va(const struct bar *b, int rfd)
{
	struct p2pmr_export_va v;
	void *anon, *m;
	int ro;

	anon = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		bail("mmap anonymous: %s", strerror(errno));
	v = eva_args(anon, page, 0);
	export_va_row("EXPORT_VA of anonymous memory", EINVAL, &v);
	munmap(anon, 2 * page);
	v = eva_args(anon, page, 0);
	export_va_row("EXPORT_VA of an unmapped address", EFAULT, &v);

	m = map_res(rfd, 0, page, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (m == MAP_FAILED)
		bail("mmap %s: %s", b->path, strerror(errno));
	v = eva_args((char *)m + 1, page, 0);
	export_va_row("EXPORT_VA unaligned address", EINVAL, &v);
	v = eva_args(m, 0, 0);
	export_va_row("EXPORT_VA zero length", EINVAL, &v);
	v = eva_args(m, page + 1, 0);
	export_va_row("EXPORT_VA unaligned length", EINVAL, &v);
	v = eva_args(m, UINT64_MAX & ~(uint64_t)(page - 1), 0);
	export_va_row("EXPORT_VA address + length overflows", EOVERFLOW, &v);
	v = eva_args(m, 2 * page, 0);
	export_va_row("EXPORT_VA range extends past its mapping", EINVAL, &v);
	v = eva_args(m, page, O_APPEND);
	export_va_row("EXPORT_VA open_flags O_APPEND", EINVAL, &v);
	munmap(m, page);

	/*
	 * One mapping split in three vmas, as libibverbs' fork protection
	 * splits every ibv_reg_mr() range (MADV_DONTFORK): still one.
	 */
	m = map_res(rfd, 0, 3 * page, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (m == MAP_FAILED)
		bail("mmap %s: %s", b->path, strerror(errno));
	if (madvise((char *)m + page, page, MADV_DONTFORK))
		bail("madvise MADV_DONTFORK: %s", strerror(errno));
	v = eva_args(m, 3 * page, 0);
	export_va_row("EXPORT_VA across a mapping split by madvise()", 0, &v);
	if (mprotect((char *)m + 2 * page, page, PROT_READ))
		bail("mprotect: %s", strerror(errno));
	v = eva_args(m, 3 * page, 0);
	export_va_row("EXPORT_VA across a split mapping, one piece read-only",
		      EINVAL, &v);
	munmap(m, 3 * page);

	m = map_res(rfd, 0, page, PROT_READ, MAP_SHARED);
	if (m != MAP_FAILED) {
		v = eva_args(m, page, 0);
		export_va_row("EXPORT_VA of a PROT_READ shared mapping",
			      EACCES, &v);
		munmap(m, page);
	} else {
		row(false, "EXPORT_VA of a PROT_READ shared mapping: mmap: %s",
		    strerror(errno));
	}

	ro = open_res(b, O_RDONLY);
	m = map_res(ro, 0, page, PROT_READ, MAP_SHARED);
	if (m != MAP_FAILED) {
		v = eva_args(m, page, 0);
		export_va_row("EXPORT_VA of a shared mapping of an O_RDONLY fd",
			      EACCES, &v);
		munmap(m, page);
	} else {
		skip("EXPORT_VA of a shared mapping of an O_RDONLY fd",
		     strerror(errno));
	}
	close(ro);

	m = map_res(rfd, 0, page, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	if (m != MAP_FAILED) {
		v = eva_args(m, page, 0);
		export_va_row("EXPORT_VA of a MAP_PRIVATE mapping", EACCES, &v);
		munmap(m, page);
	} else {
		skip("EXPORT_VA of a MAP_PRIVATE mapping",
		     "sysfs refuses private mappings of the file");
	}
}

static struct p2pmr_check_va cva_args(const void *addr, uint64_t len, int fd)
{
	struct p2pmr_check_va a = {
		.size = sizeof(a),
		.addr = (uintptr_t)addr,
		.length = len,
		.dmabuf_fd = fd,
	};

	return a;
}

static void check_va_row(const char *name, int expect, const void *addr,
			 uint64_t len, int fd)
{
	struct p2pmr_check_va c = cva_args(addr, len, fd);

	row_errno(name, expect, xioctl(P2PMR_IOCTL_CHECK_VA, &c));
}

/*
 * CHECK_VA: an export of a whole mapping answers for every range inside
 * it until the range maps anything else.  Each way of making it map
 * something else is a row; the mapping is remade at the same address
 * (MAP_FIXED), as an allocator reusing the address would.
 */
static void rows_check_va(const struct bar *b, int rfd)
{
	char wc_path[PATH_MAX + 4];
	struct p2pmr_export_va v;
	struct p2pmr_check_va c;
	int got, dmabuf, wfd;
	void *m, *anon, *r;

	if (b->size < (uint64_t)(16 * page)) {
		skip("CHECK_VA", "the BAR is smaller than 16 pages");
		return;
	}
	m = map_res(rfd, 0, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (m == MAP_FAILED)
		bail("mmap %s: %s", b->path, strerror(errno));
	v = eva_args(m, 4 * page, O_RDWR | O_CLOEXEC);
	if (xioctl(P2PMR_IOCTL_EXPORT_VA, &v))
		bail("EXPORT_VA of 4 pages: %s", strerror(errno));
	dmabuf = v.out_dmabuf_fd;

	c = cva_args((char *)m + page, 2 * page, dmabuf);
	got = xioctl(P2PMR_IOCTL_CHECK_VA, &c);
	row(!got && c.out_offset == (uint64_t)page &&
	    c.out_bar_offset == (uint64_t)page && c.out_bar == b->index &&
	    c.out_pci_bus == b->bus && c.out_pci_devfn == (b->dev << 3 | b->fn),
	    "CHECK_VA of pages 1-2 in the export of the mapping: %s, offset %#llx, BAR offset %#llx, BAR%u",
	    errname(got), (unsigned long long)c.out_offset,
	    (unsigned long long)c.out_bar_offset, c.out_bar);
	c = cva_args((char *)m + 2 * page, page, -1);
	got = xioctl(P2PMR_IOCTL_CHECK_VA, &c);
	row(!got && c.out_offset == 0 && c.out_bar_offset == 2 * (uint64_t)page &&
	    c.out_bar == b->index,
	    "CHECK_VA without a dma-buf identifies BAR%u offset %#llx: %s",
	    c.out_bar, (unsigned long long)c.out_bar_offset, errname(got));

	c = cva_args(m, page, dmabuf);
	c.flags = 1;
	row_errno("CHECK_VA unknown flags", EINVAL,
		  xioctl(P2PMR_IOCTL_CHECK_VA, &c));
	c = cva_args(m, page, dmabuf);
	c.__reserved2 = 1;
	row_errno("CHECK_VA nonzero __reserved2", EINVAL,
		  xioctl(P2PMR_IOCTL_CHECK_VA, &c));
	check_va_row("CHECK_VA dmabuf_fd not open", EBADF, m, page, 1000);
	check_va_row("CHECK_VA dmabuf_fd -2", EBADF, m, page, -2);
	check_va_row("CHECK_VA dmabuf_fd of the resource file", EINVAL, m,
		     page, rfd);
	check_va_row("CHECK_VA unaligned length", EINVAL, m, page + 1, dmabuf);
	check_va_row("CHECK_VA range extends past its mapping", EINVAL, m,
		     5 * page, dmabuf);

	/* A dma-buf of part of the mapping covers only that part. */
	v = eva_args(m, page, O_RDWR | O_CLOEXEC);
	if (xioctl(P2PMR_IOCTL_EXPORT_VA, &v))
		bail("EXPORT_VA of 1 page: %s", strerror(errno));
	check_va_row("CHECK_VA past the end of a smaller dma-buf", ESTALE,
		     (char *)m + page, page, v.out_dmabuf_fd);
	close(v.out_dmabuf_fd);

	if (mprotect(m, page, PROT_READ))
		bail("mprotect: %s", strerror(errno));
	check_va_row("CHECK_VA of a piece made read-only", EACCES, m, page,
		     dmabuf);
	check_va_row("CHECK_VA of the piece still writable", 0,
		     (char *)m + page, page, dmabuf);
	if (mprotect(m, page, PROT_READ | PROT_WRITE))
		bail("mprotect: %s", strerror(errno));

	/* Another part of the BAR mapped at the same address. */
	r = mmap(m, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 rfd, 8 * page);
	if (r != m)
		bail("mmap MAP_FIXED %s: %s", b->path, strerror(errno));
	check_va_row("CHECK_VA after another part of the BAR replaced the mapping",
		     ESTALE, m, page, dmabuf);

	/* The same BAR through its other file. */
	snprintf(wc_path, sizeof(wc_path), "%s%s", b->path,
		 b->wc ? "" : "_wc");
	if (!b->wc && (wfd = open(wc_path, O_RDWR | O_CLOEXEC)) >= 0) {
		r = mmap(m, 4 * page, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, wfd, 0);
		if (r != m)
			bail("mmap MAP_FIXED %s: %s", wc_path, strerror(errno));
		check_va_row("CHECK_VA after the BAR's _wc file replaced the mapping",
			     ESTALE, m, page, dmabuf);
		close(wfd);
	} else {
		skip("CHECK_VA after the BAR's _wc file replaced the mapping",
		     "the BAR has no resource<N>_wc file (not prefetchable)");
	}

	/* Host memory at the same address, then nothing. */
	anon = mmap(m, 4 * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (anon != m)
		bail("mmap MAP_FIXED anonymous: %s", strerror(errno));
	check_va_row("CHECK_VA after host memory replaced the mapping", EINVAL,
		     m, page, dmabuf);
	check_va_row("CHECK_VA without a dma-buf of host memory", EINVAL, m,
		     page, -1);
	munmap(m, 4 * page);
	check_va_row("CHECK_VA after munmap()", EFAULT, m, page, dmabuf);
	close(dmabuf);
}

/* ---- WATCH_VA, UNWATCH, the watch page --------------------------------- */

static int wioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? errno : 0;
}

static struct p2pmr_watch_va wva_args(const void *addr, uint64_t len, int fd)
{
	struct p2pmr_watch_va a = {
		.size = sizeof(a),
		.addr = (uintptr_t)addr,
		.length = len,
		.dmabuf_fd = fd,
	};

	return a;
}

static int unwatch(int wfd, uint32_t slot)
{
	struct p2pmr_unwatch u = { .size = sizeof(u), .slot = slot };

	return wioctl(wfd, P2PMR_IOCTL_UNWATCH, &u);
}

/* A debugfs counter of p2pmr, or -1 without debugfs. */
static long counter_read(const char *want)
{
	char name[64];
	long value;
	FILE *f;

	f = fopen(COUNTERS_PATH, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &value) == 2)
		if (!strcmp(name, want)) {
			fclose(f);
			return value;
		}
	fclose(f);
	return -1;
}

/* The counter of @slot, read as userspace must: an atomic load. */
static uint64_t wload(const uint64_t *wp, uint32_t slot)
{
	return __atomic_load_n(&wp[slot], __ATOMIC_ACQUIRE);
}

/* WATCH_VA answers as CHECK_VA does, and its counter reads out_seq. */
static bool watch_like_check(const uint64_t *wp, const struct p2pmr_watch_va *w,
			     const struct p2pmr_check_va *c)
{
	return w->out_offset == c->out_offset &&
	       w->out_bar_offset == c->out_bar_offset &&
	       w->out_bar == c->out_bar && w->out_flags == c->out_flags &&
	       w->out_pci_domain == c->out_pci_domain &&
	       w->out_pci_bus == c->out_pci_bus &&
	       w->out_pci_devfn == c->out_pci_devfn &&
	       wload(wp, w->out_slot) == w->out_seq;
}

/*
 * A range CHECK_VA refuses: WATCH_VA refuses it with the same errno and
 * leaves no watch behind.
 */
static void watch_refused_row(const char *name, int wfd, int expect,
			      const void *addr, uint64_t len, int fd)
{
	struct p2pmr_check_va c = cva_args(addr, len, fd);
	struct p2pmr_watch_va w = wva_args(addr, len, fd);
	long before = counter_read("watches");
	int cgot, wgot;
	long after;

	cgot = xioctl(P2PMR_IOCTL_CHECK_VA, &c);
	wgot = wioctl(wfd, P2PMR_IOCTL_WATCH_VA, &w);
	after = counter_read("watches");
	if (!wgot)
		unwatch(wfd, w.out_slot);
	row(cgot == expect && wgot == expect && after == before,
	    "WATCH_VA %s: expected %s as CHECK_VA, got %s (CHECK_VA %s), watches %ld -> %ld",
	    name, errname(expect), errname(wgot), errname(cgot), before,
	    after);
}

/*
 * Watch [addr, addr + len) of a resource mapping, without a dma-buf;
 * bails if it fails, it is the premise of a row.
 */
static struct p2pmr_watch_va watch_or_bail(int wfd, const void *addr,
					   uint64_t len, int fd)
{
	struct p2pmr_watch_va w = wva_args(addr, len, fd);

	if (wioctl(wfd, P2PMR_IOCTL_WATCH_VA, &w))
		bail("WATCH_VA of %p + %#" PRIx64 ": %s", addr, len,
		     strerror(errno));
	return w;
}

/* A change to a watched range moves its counter past out_seq. */
static void watch_moved_row(const char *name, const uint64_t *wp,
			    const struct p2pmr_watch_va *w)
{
	uint64_t now = wload(wp, w->out_slot);

	row(now > w->out_seq, "WATCH_VA: %s moves the counter (slot %u: %" PRIu64 " -> %" PRIu64 ")",
	    name, w->out_slot, (uint64_t)w->out_seq, now);
}

static void watch_still_row(const char *name, const uint64_t *wp,
			    const struct p2pmr_watch_va *w)
{
	uint64_t now = wload(wp, w->out_slot);

	row(now == w->out_seq, "WATCH_VA: %s leaves the counter (slot %u: %" PRIu64 " -> %" PRIu64 ")",
	    name, w->out_slot, (uint64_t)w->out_seq, now);
}

/*
 * The child of a fork() inherits the fd but not its watches' address
 * space: WATCH_VA and UNWATCH refuse with EXDEV, a new open works, and
 * the watch page is not mapped in the child.  Exit status: bit per
 * failed check.
 */
static int watch_child(int wfd, const uint64_t *wp, uint32_t slot,
		       const void *m)
{
	struct p2pmr_watch_va w = wva_args(m, page, -1);
	int fd, ret = 0;
	void *p;

	if (wioctl(wfd, P2PMR_IOCTL_WATCH_VA, &w) != EXDEV)
		ret |= 1;
	if (unwatch(wfd, slot) != EXDEV)
		ret |= 2;
	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	w = wva_args(m, page, -1);
	if (fd < 0 || wioctl(fd, P2PMR_IOCTL_WATCH_VA, &w))
		ret |= 4;
	close_if(fd);
	/* Only where nothing is mapped (VM_DONTCOPY). */
	p = mmap((void *)wp, page, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != wp)
		ret |= 8;
	return ret;
}

static void rows_watch_mmap(int wfd)
{
	void *p;

	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, wfd, 0);
	row_errno("mmap of the watch page PROT_WRITE", EACCES,
		  p == MAP_FAILED ? errno : 0);
	if (p != MAP_FAILED)
		munmap(p, page);
	p = mmap(NULL, page, PROT_READ, MAP_PRIVATE, wfd, 0);
	row_errno("mmap of the watch page MAP_PRIVATE", EINVAL,
		  p == MAP_FAILED ? errno : 0);
	if (p != MAP_FAILED)
		munmap(p, page);
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, wfd, page);
	row_errno("mmap of the watch page at offset one page", EINVAL,
		  p == MAP_FAILED ? errno : 0);
	if (p != MAP_FAILED)
		munmap(p, page);
	p = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, wfd, 0);
	row_errno("mmap of two pages of the watch page", EINVAL,
		  p == MAP_FAILED ? errno : 0);
	if (p != MAP_FAILED)
		munmap(p, 2 * page);
}

/*
 * WATCH_VA is CHECK_VA plus a counter that moves whenever the range may
 * come to map something else.  Each change is made to a watch of its
 * own, on a mapping of 16 pages of the BAR:
 *   0 refusals  1-2 dma-buf form  2 identify form  3 ENOSPC and fork
 *   4-5 MAP_FIXED  6 mprotect  7 madvise  8-9 mremap  10 unrelated munmap
 *   12-13 munmap
 */
static void rows_watch_va(const struct bar *b, int rfd)
{
	struct p2pmr_watch_va w, w2, wa;
	unsigned int nslots = page / 8, n, i;
	struct p2pmr_export_va v;
	struct p2pmr_check_va c;
	long watches0, watches;
	int got, dmabuf, wfd, status;
	uint64_t *wp, seq;
	uint32_t *slots;
	void *m, *r, *anon;
	pid_t pid;

	if (b->size < (uint64_t)(16 * page)) {
		skip("WATCH_VA", "the BAR is smaller than 16 pages");
		return;
	}
	watches0 = counter_read("watches");
	wfd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (wfd < 0)
		bail("%s: %s", DEV_PATH, strerror(errno));

	rows_watch_mmap(wfd);
	wp = mmap(NULL, page, PROT_READ, MAP_SHARED, wfd, 0);
	if (wp == MAP_FAILED)
		bail("mmap of the watch page: %s", strerror(errno));
	for (n = 0, i = 0; i < nslots; i++)
		n += !!wload(wp, i);
	row(!n, "the watch page maps %u counters, all zero (%u not)", nslots,
	    n);
	got = mprotect(wp, page, PROT_READ | PROT_WRITE) ? errno : 0;
	row_errno("mprotect of the watch page to PROT_WRITE", EACCES, got);

	m = map_res(rfd, 0, 16 * page, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (m == MAP_FAILED)
		bail("mmap %s: %s", b->path, strerror(errno));
	v = eva_args(m, 16 * page, O_RDWR | O_CLOEXEC);
	if (xioctl(P2PMR_IOCTL_EXPORT_VA, &v))
		bail("EXPORT_VA of 16 pages: %s", strerror(errno));
	dmabuf = v.out_dmabuf_fd;

	/* The two forms answer as CHECK_VA. */
	w = wva_args((char *)m + page, 2 * page, dmabuf);
	got = wioctl(wfd, P2PMR_IOCTL_WATCH_VA, &w);
	c = cva_args((char *)m + page, 2 * page, dmabuf);
	xioctl(P2PMR_IOCTL_CHECK_VA, &c);
	row(!got && watch_like_check(wp, &w, &c) &&
	    w.out_offset == (uint64_t)page,
	    "WATCH_VA of pages 1-2 with the dma-buf: %s, slot %u seq %" PRIu64 ", offset %#llx, answers as CHECK_VA",
	    errname(got), w.out_slot, (uint64_t)w.out_seq,
	    (unsigned long long)w.out_offset);
	w2 = wva_args((char *)m + 2 * page, page, -1);
	got = wioctl(wfd, P2PMR_IOCTL_WATCH_VA, &w2);
	c = cva_args((char *)m + 2 * page, page, -1);
	xioctl(P2PMR_IOCTL_CHECK_VA, &c);
	row(!got && watch_like_check(wp, &w2, &c) &&
	    w2.out_slot != w.out_slot &&
	    w2.out_bar_offset == 2 * (uint64_t)page,
	    "WATCH_VA of page 2 without a dma-buf: %s, slot %u, BAR offset %#llx, answers as CHECK_VA",
	    errname(got), w2.out_slot, (unsigned long long)w2.out_bar_offset);
	watches = counter_read("watches");
	row(watches0 < 0 || watches == watches0 + 2,
	    "debugfs counts the two watches (%ld -> %ld)", watches0, watches);

	/* Changes elsewhere leave them. */
	anon = mmap(NULL, page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		bail("mmap anonymous: %s", strerror(errno));
	munmap(anon, page);
	if (munmap((char *)m + 10 * page, page))
		bail("munmap of page 10: %s", strerror(errno));
	watch_still_row("munmap() of host memory and of another page of the mapping",
			wp, &w);
	watch_still_row("the same munmap()s, for the watch without a dma-buf",
			wp, &w2);
	got = unwatch(wfd, w2.out_slot);
	watches = counter_read("watches");
	row(!got && wload(wp, w2.out_slot) > w2.out_seq &&
	    (watches0 < 0 || watches == watches0 + 1),
	    "UNWATCH of slot %u: %s, its counter moves on (%" PRIu64 " -> %" PRIu64 "), watches %ld",
	    w2.out_slot, errname(got), (uint64_t)w2.out_seq,
	    wload(wp, w2.out_slot), watches);

	/* Each change of a range, to a watch of its own. */
	wa = watch_or_bail(wfd, (char *)m + 12 * page, 2 * page, -1);
	munmap((char *)m + 12 * page, 2 * page);
	watch_moved_row("munmap() of the range", wp, &wa);
	unwatch(wfd, wa.out_slot);

	wa = watch_or_bail(wfd, (char *)m + 4 * page, 2 * page, dmabuf);
	r = mmap((char *)m + 4 * page, 2 * page, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, rfd, 4 * page);
	if (r != (char *)m + 4 * page)
		bail("mmap MAP_FIXED: %s", strerror(errno));
	watch_moved_row("mmap(MAP_FIXED) of the same BAR pages over the range",
			wp, &wa);
	unwatch(wfd, wa.out_slot);

	wa = watch_or_bail(wfd, (char *)m + 6 * page, page, dmabuf);
	if (mprotect((char *)m + 6 * page, page, PROT_READ))
		bail("mprotect: %s", strerror(errno));
	watch_moved_row("mprotect(PROT_READ) of the range", wp, &wa);
	watch_still_row("mprotect() of page 6 for the watch of pages 1-2",
			wp, &w);
	mprotect((char *)m + 6 * page, page, PROT_READ | PROT_WRITE);
	unwatch(wfd, wa.out_slot);

	/*
	 * madvise(MADV_DONTNEED) refuses PFN maps (a BAR mapping) with
	 * EINVAL and then changes nothing; where it zaps, the counter must
	 * move.
	 */
	wa = watch_or_bail(wfd, (char *)m + 7 * page, page, dmabuf);
	got = madvise((char *)m + 7 * page, page, MADV_DONTNEED) ? errno : 0;
	if (got) {
		c = cva_args((char *)m + 7 * page, page, dmabuf);
		row(got == EINVAL && wload(wp, wa.out_slot) == wa.out_seq &&
		    !xioctl(P2PMR_IOCTL_CHECK_VA, &c),
		    "WATCH_VA: madvise(MADV_DONTNEED) of the range refused (%s): the counter stays and CHECK_VA still holds",
		    errname(got));
	} else {
		watch_moved_row("madvise(MADV_DONTNEED) of the range", wp,
				&wa);
	}
	unwatch(wfd, wa.out_slot);

	anon = mmap(NULL, 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (anon == MAP_FAILED)
		bail("mmap anonymous: %s", strerror(errno));
	wa = watch_or_bail(wfd, (char *)m + 8 * page, 2 * page, dmabuf);
	r = mremap((char *)m + 8 * page, 2 * page, 2 * page,
		   MREMAP_MAYMOVE | MREMAP_FIXED, anon);
	if (r != anon)
		bail("mremap: %s", strerror(errno));
	watch_moved_row("mremap() of the range elsewhere", wp, &wa);
	munmap(anon, 2 * page);
	unwatch(wfd, wa.out_slot);
	watch_still_row("all of the above, for the watch of pages 1-2", wp,
			&w);

	/* Argument checks and CHECK_VA's refusals. */
	w2 = wva_args(m, page, dmabuf);
	w2.flags = 1;
	row_errno("WATCH_VA unknown flags", EINVAL,
		  wioctl(wfd, P2PMR_IOCTL_WATCH_VA, &w2));
	w2 = wva_args(m, page, dmabuf);
	w2.__reserved = 1;
	row_errno("WATCH_VA nonzero __reserved", EINVAL,
		  wioctl(wfd, P2PMR_IOCTL_WATCH_VA, &w2));
	watch_refused_row("dmabuf_fd not open", wfd, EBADF, m, page, 1000);
	watch_refused_row("dmabuf_fd of the resource file", wfd, EINVAL, m,
			  page, rfd);
	watch_refused_row("unaligned length", wfd, EINVAL, m, page + 1,
			  dmabuf);
	watch_refused_row("zero length", wfd, EINVAL, m, 0, -1);
	watch_refused_row("overflowing range", wfd, EOVERFLOW, m,
			  -(uint64_t)page, -1);
	watch_refused_row("range extends past its mapping", wfd, EINVAL, m,
			  17 * page, dmabuf);
	v = eva_args(m, page, O_RDWR | O_CLOEXEC);
	if (xioctl(P2PMR_IOCTL_EXPORT_VA, &v))
		bail("EXPORT_VA of 1 page: %s", strerror(errno));
	watch_refused_row("past the end of a smaller dma-buf", wfd, ESTALE,
			  (char *)m + page, page, v.out_dmabuf_fd);
	close(v.out_dmabuf_fd);
	if (mprotect(m, page, PROT_READ))
		bail("mprotect: %s", strerror(errno));
	watch_refused_row("of a piece made read-only", wfd, EACCES, m, page,
			  dmabuf);
	mprotect(m, page, PROT_READ | PROT_WRITE);
	watch_refused_row("of an unmapped page", wfd, EFAULT,
			  (char *)m + 10 * page, page, dmabuf);
	anon = mmap(NULL, page, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		bail("mmap anonymous: %s", strerror(errno));
	watch_refused_row("of host memory", wfd, EINVAL, anon, page, -1);
	munmap(anon, page);

	/* UNWATCH */
	row_errno("UNWATCH of a slot past the page", EINVAL,
		  unwatch(wfd, nslots));
	row_errno("UNWATCH of a free slot", EINVAL,
		  unwatch(wfd, w.out_slot == 5 ? 6 : 5));
	{
		struct p2pmr_unwatch u = {
			.size = sizeof(u), .flags = 1, .slot = w.out_slot,
		};

		row_errno("UNWATCH unknown flags", EINVAL,
			  wioctl(wfd, P2PMR_IOCTL_UNWATCH, &u));
	}

	/* Every slot, then ENOSPC; a freed slot is handed out again. */
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		bail("out of memory");
	w2 = wva_args((char *)m + 3 * page, page, -1);
	for (n = 0; n < nslots; n++) {
		w2 = wva_args((char *)m + 3 * page, page, -1);
		if (wioctl(wfd, P2PMR_IOCTL_WATCH_VA, &w2))
			break;
		slots[n] = w2.out_slot;
	}
	got = errno;
	row(n == nslots - 1 && got == ENOSPC,
	    "WATCH_VA: %u more watches beside one fill the %u slots, then %s (expected ENOSPC)",
	    n, nslots, errname(got));
	if (n) {
		seq = wload(wp, slots[0]);
		got = unwatch(wfd, slots[0]);
		row(!got && wload(wp, slots[0]) > seq,
		    "UNWATCH of slot %u: %s, its counter moves on (%" PRIu64 " -> %" PRIu64 ")",
		    slots[0], errname(got), seq, wload(wp, slots[0]));
		row_errno("UNWATCH of it again", EINVAL,
			  unwatch(wfd, slots[0]));
		w2 = wva_args((char *)m + 3 * page, page, -1);
		got = wioctl(wfd, P2PMR_IOCTL_WATCH_VA, &w2);
		row(!got && w2.out_slot == slots[0] &&
		    w2.out_seq == wload(wp, slots[0]) && w2.out_seq > seq,
		    "WATCH_VA after it: %s, slot %u again, seq %" PRIu64 " (above %" PRIu64 ")",
		    errname(got), w2.out_slot, (uint64_t)w2.out_seq, seq);
	}
	for (i = 0; i < n; i++)
		unwatch(wfd, slots[i]);
	free(slots);

	/* fork() */
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		bail("fork: %s", strerror(errno));
	if (!pid)
		_exit(watch_child(wfd, wp, w.out_slot, (char *)m + 3 * page));
	if (waitpid(pid, &status, 0) != pid)
		bail("waitpid: %s", strerror(errno));
	got = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	row(!(got & 1), "WATCH_VA in a forked child on the inherited fd: EXDEV");
	row(!(got & 2), "UNWATCH in a forked child on the inherited fd: EXDEV");
	row(!(got & 4), "WATCH_VA in a forked child on its own open of /dev/p2pmr");
	row(!(got & 8), "the watch page is not mapped in a forked child");
	watch_still_row("the child's watches and exit, for the parent's watch",
			wp, &w);

	/* The file's release ends its watches, after the page's munmap(). */
	close(wfd);
	watches = counter_read("watches");
	row(watches0 < 0 || watches == watches0 + 1,
	    "close() of the fd with the watch page mapped keeps its watch (%ld -> %ld)",
	    watches0, watches);
	watch_still_row("close() of the fd, while the page is mapped", wp, &w);
	munmap(wp, page);
	watches = counter_read("watches");
	row(watches0 < 0 || watches == watches0,
	    "munmap() of the watch page of a closed fd ends its watches (%ld -> %ld)",
	    watches0, watches);

	munmap(m, 16 * page);
	close(dmabuf);
}

static struct p2pmr_va_dmabuf vdb_args(const void *addr, uint64_t len)
{
	struct p2pmr_va_dmabuf a = {
		.size = sizeof(a),
		.addr = (uintptr_t)addr,
		.length = len,
		.open_flags = O_CLOEXEC,
		.out_dmabuf_fd = -1,
	};

	return a;
}

/* VA_DMABUF expected to fail: a dma-buf fd it returns anyway is closed. */
static void va_dmabuf_row(const char *name, int expect,
			  struct p2pmr_va_dmabuf *a)
{
	int got = xioctl(P2PMR_IOCTL_VA_DMABUF, a);

	if (!got)
		close(a->out_dmabuf_fd);
	row_errno(name, expect, got);
}

static void va_dmabuf_range_row(const char *name, int expect,
				const void *addr, uint64_t len)
{
	struct p2pmr_va_dmabuf a = vdb_args(addr, len);

	va_dmabuf_row(name, expect, &a);
}

/*
 * VA_DMABUF: the dma-buf behind a mapping of a p2pmr dma-buf (16 pages
 * of the BAR, pages 4-11 of it mapped), found by address.  The fd it
 * returns is the same open file as the exporter's, and a mapping made
 * through it at the offset it gives shows what was written through the
 * first mapping: both name the same bytes of the dma-buf.
 */
static void rows_va_dmabuf(const struct bar *b, int rfd)
{
	struct p2pmr_export_fd e;
	struct p2pmr_va_dmabuf v;
	struct stat st1, st2;
	volatile uint32_t *w;
	uint32_t seen = 0;
	void *m, *m2, *r;
	int dmabuf, got;

	if (b->size < (uint64_t)(16 * page)) {
		skip("VA_DMABUF", "the BAR is smaller than 16 pages");
		return;
	}
	e = efd_args(rfd, 0, 16 * page, O_RDWR | O_CLOEXEC);
	if (xioctl(P2PMR_IOCTL_EXPORT_FD, &e))
		bail("EXPORT_FD of 16 pages: %s", strerror(errno));
	dmabuf = e.out_dmabuf_fd;
	m = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf,
		 4 * page);
	if (m == MAP_FAILED)
		bail("mmap of the dma-buf: %s", strerror(errno));

	v = vdb_args((char *)m + 2 * page, 2 * page);
	got = xioctl(P2PMR_IOCTL_VA_DMABUF, &v);
	row(!got && v.out_offset == 6 * (uint64_t)page &&
	    v.out_dmabuf_size == 16 * (uint64_t)page &&
	    v.out_flags == (P2PMR_VA_DMABUF_OUT_WRITABLE |
			    P2PMR_VA_DMABUF_OUT_P2PMR),
	    "VA_DMABUF of pages 2-3 of a mapping at dma-buf page 4: %s, offset %#llx of %#llx, flags %#x",
	    errname(got), (unsigned long long)v.out_offset,
	    (unsigned long long)v.out_dmabuf_size, v.out_flags);
	if (!got) {
		row(!fstat(dmabuf, &st1) && !fstat(v.out_dmabuf_fd, &st2) &&
		    st1.st_ino == st2.st_ino && v.out_dmabuf_fd != dmabuf &&
		    (fcntl(v.out_dmabuf_fd, F_GETFD) & FD_CLOEXEC),
		    "VA_DMABUF fd %d is a new close-on-exec fd of the same dma-buf (inode %lu, %lu)",
		    v.out_dmabuf_fd, (unsigned long)st1.st_ino,
		    (unsigned long)st2.st_ino);
		w = (volatile uint32_t *)((char *)m + 2 * page + 8);
		*w = 0x5eed0da7;
		m2 = mmap(NULL, page, PROT_READ, MAP_SHARED,
			  v.out_dmabuf_fd, v.out_offset);
		if (m2 != MAP_FAILED) {
			seen = *(volatile uint32_t *)((char *)m2 + 8);
			munmap(m2, page);
		}
		row(seen == 0x5eed0da7,
		    "a mapping of the VA_DMABUF fd at its offset reads what the first mapping wrote: %#x",
		    seen);
		close(v.out_dmabuf_fd);
	}

	v = vdb_args(m, page);
	v.flags = 2;
	va_dmabuf_row("VA_DMABUF unknown flags", EINVAL, &v);
	v = vdb_args(m, page);
	v.__reserved = 1;
	va_dmabuf_row("VA_DMABUF nonzero __reserved", EINVAL, &v);
	v = vdb_args(m, page);
	v.open_flags = O_RDWR | O_CLOEXEC;
	va_dmabuf_row("VA_DMABUF open_flags with an access mode", EINVAL, &v);
	va_dmabuf_range_row("VA_DMABUF zero length", EINVAL, m, 0);
	va_dmabuf_range_row("VA_DMABUF unaligned address", EINVAL,
			    (char *)m + 1, page);
	va_dmabuf_range_row("VA_DMABUF address + length overflows", EOVERFLOW,
			    m, UINT64_MAX - page + 1);
	va_dmabuf_range_row("VA_DMABUF range extends past its mapping", EINVAL,
			    m, 9 * page);

	/* pieces split by madvise() are one mapping */
	if (madvise((char *)m + 3 * page, page, MADV_DONTFORK))
		bail("madvise: %s", strerror(errno));
	va_dmabuf_range_row("VA_DMABUF across pieces split by madvise()", 0,
			    m, 8 * page);
	/* pieces that differ in protection are not */
	if (mprotect((char *)m + 5 * page, page, PROT_READ))
		bail("mprotect: %s", strerror(errno));
	va_dmabuf_range_row("VA_DMABUF across a piece made read-only", EINVAL,
			    m, 8 * page);
	va_dmabuf_range_row("VA_DMABUF of a piece made read-only", EACCES,
			    (char *)m + 5 * page, page);
	v = vdb_args((char *)m + 5 * page, page);
	v.flags = P2PMR_VA_DMABUF_READ_ONLY;
	got = xioctl(P2PMR_IOCTL_VA_DMABUF, &v);
	row(!got && v.out_offset == 9 * (uint64_t)page &&
	    v.out_flags == P2PMR_VA_DMABUF_OUT_P2PMR,
	    "VA_DMABUF READ_ONLY of the read-only piece: %s, offset %#llx, flags %#x",
	    errname(got), (unsigned long long)v.out_offset, v.out_flags);
	if (!got)
		close(v.out_dmabuf_fd);

	/* what is not a dma-buf mapping */
	r = map_res(rfd, 0, page, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (r == MAP_FAILED)
		bail("mmap %s: %s", b->path, strerror(errno));
	va_dmabuf_range_row("VA_DMABUF of a BAR mapping", EINVAL, r, page);
	munmap(r, page);
	r = mmap(m, page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (r != m)
		bail("mmap MAP_FIXED anonymous: %s", strerror(errno));
	va_dmabuf_range_row("VA_DMABUF after host memory replaced the mapping",
			    EINVAL, m, page);
	munmap(m, 8 * page);
	va_dmabuf_range_row("VA_DMABUF after munmap()", EFAULT, m, page);
	close(dmabuf);
}

/*
 * VA_DMABUF on another exporter's dma-buf: the kernel's system dma-heap
 * (6.12's config has it; 6.1's has no dma-heaps).  A shared mapping is
 * named at its offset, not as a p2pmr export; a private one, which the
 * system heap allows for one page (remap_pfn_range() then rewrites
 * vm_pgoff), is refused.
 */
static void rows_va_dmabuf_heap(void)
{
	struct dma_heap_allocation_data alloc = {
		.len = 4 * page,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};
	struct p2pmr_va_dmabuf v;
	int heap, got;
	void *m;

	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	if (heap < 0) {
		skip("VA_DMABUF of another exporter's dma-buf",
		     "no /dev/dma_heap/system (CONFIG_DMABUF_HEAPS_SYSTEM)");
		return;
	}
	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc))
		bail("DMA_HEAP_IOCTL_ALLOC: %s", strerror(errno));
	close(heap);

	m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, alloc.fd,
		 page);
	if (m == MAP_FAILED)
		bail("mmap of a system-heap dma-buf: %s", strerror(errno));
	v = vdb_args((char *)m + page, page);
	got = xioctl(P2PMR_IOCTL_VA_DMABUF, &v);
	row(!got && v.out_offset == 2 * (uint64_t)page &&
	    v.out_dmabuf_size == 4 * (uint64_t)page &&
	    v.out_flags == P2PMR_VA_DMABUF_OUT_WRITABLE,
	    "VA_DMABUF of a system-heap dma-buf mapping: %s, offset %#llx of %#llx, flags %#x",
	    errname(got), (unsigned long long)v.out_offset,
	    (unsigned long long)v.out_dmabuf_size, v.out_flags);
	if (!got)
		close(v.out_dmabuf_fd);
	munmap(m, 2 * page);

	m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, alloc.fd, 0);
	if (m != MAP_FAILED) {
		va_dmabuf_range_row("VA_DMABUF of a MAP_PRIVATE dma-buf mapping",
				    EACCES, m, page);
		munmap(m, page);
	} else {
		skip("VA_DMABUF of a MAP_PRIVATE dma-buf mapping",
		     "the system heap refused a private mapping");
	}
	close(alloc.fd);
}

/*
 * An unprivileged process can neither open the resource files nor use a
 * read-only fd of one nor reach another process's mapping of one.
 */
static void rows_unprivileged(const struct bar *b, int rfd)
{
	int p2c[2], c2p[2], res[4] = { -1, -1, -1, -1 };
	struct p2pmr_export_fd a;
	struct p2pmr_export_va v;
	uint64_t addr = 0;
	int ro, status;
	pid_t pid;
	void *m;

	if (pipe(p2c) || pipe(c2p))
		bail("pipe: %s", strerror(errno));
	ro = open(b->path, O_RDONLY);	/* inherited by the child */
	if (ro < 0)
		bail("%s: %s", b->path, strerror(errno));

	pid = fork();
	if (pid < 0)
		bail("fork: %s", strerror(errno));
	if (!pid) {
		int fd, dev;

		close(p2c[1]);
		close(c2p[0]);
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		res[0] = dev < 0 ? errno : 0;
		fd = open(b->path, O_RDWR | O_CLOEXEC);
		res[1] = fd < 0 ? errno : 0;
		close_if(fd);
		if (dev >= 0) {
			dev_fd = dev;
			a = efd_args(ro, 0, page, 0);
			res[2] = xioctl(P2PMR_IOCTL_EXPORT_FD, &a);
			if (!res[2])
				close(a.out_dmabuf_fd);
			if (read(p2c[0], &addr, sizeof(addr)) ==
			    sizeof(addr)) {
				v = eva_args((void *)(uintptr_t)addr, page, 0);
				res[3] = xioctl(P2PMR_IOCTL_EXPORT_VA, &v);
				if (!res[3])
					close(v.out_dmabuf_fd);
			}
		}
		if (write(c2p[1], res, sizeof(res)) != sizeof(res))
			_exit(3);
		_exit(0);
	}

	close(p2c[0]);
	close(c2p[1]);
	close(ro);
	/* Mapped after the fork: the child's address space never had it. */
	m = map_res(rfd, 0, page, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (m == MAP_FAILED)
		bail("mmap %s: %s", b->path, strerror(errno));
	addr = (uintptr_t)m;
	if (write(p2c[1], &addr, sizeof(addr)) != sizeof(addr))
		bail("write to child: %s", strerror(errno));
	if (read(c2p[0], res, sizeof(res)) != sizeof(res))
		res[0] = res[1] = res[2] = res[3] = -1;
	waitpid(pid, &status, 0);
	close(p2c[1]);
	close(c2p[0]);
	munmap(m, page);

	row(WIFEXITED(status) && !WEXITSTATUS(status),
	    "unprivileged child ran as uid %d", NOBODY);
	row_errno("unprivileged: open /dev/p2pmr", 0, res[0]);
	row_errno("unprivileged: open the resource file O_RDWR", EACCES,
		  res[1]);
	row_errno("unprivileged: EXPORT_FD with an inherited O_RDONLY fd",
		  EACCES, res[2]);
	row_errno("unprivileged: EXPORT_VA of another process's BAR mapping",
		  EFAULT, res[3]);
}

static void rows_query(const struct bar *b, int rfd, int dmabuf)
{
	struct p2pmr_query_p2p q = {
		.size = sizeof(q),
		.provider_fd = rfd,
		.importer_pci_domain = b->domain,
		.importer_pci_bus = b->bus,
		.importer_pci_devfn = (b->dev << 3) | b->fn,
	};
	int got;

	got = xioctl(P2PMR_IOCTL_QUERY_P2P, &q);
	row(!got && q.out_path == P2PMR_PATH_BUS_ADDR &&
	    q.out_reason == P2PMR_REASON_SAME_DEVICE && q.out_distance == 0,
	    "QUERY_P2P of the BAR's own device: %s path %u reason %u distance %u",
	    errname(got), q.out_path, q.out_reason, q.out_distance);

	q.flags = P2PMR_QUERY_P2P_BY_DMABUF;
	q.provider_fd = dmabuf;
	got = xioctl(P2PMR_IOCTL_QUERY_P2P, &q);
	row(!got && q.out_path == P2PMR_PATH_BUS_ADDR &&
	    q.out_reason == P2PMR_REASON_SAME_DEVICE,
	    "QUERY_P2P by dma-buf: %s path %u reason %u", errname(got),
	    q.out_path, q.out_reason);

	q.provider_fd = rfd;
	row_errno("QUERY_P2P by dma-buf given a resource fd", EINVAL,
		  xioctl(P2PMR_IOCTL_QUERY_P2P, &q));
	q.flags = 0;
	q.provider_fd = -1;
	row_errno("QUERY_P2P provider_fd -1", EBADF,
		  xioctl(P2PMR_IOCTL_QUERY_P2P, &q));
	q.provider_fd = rfd;
	q.importer_pci_domain = 0xffff;
	q.importer_pci_bus = 0xff;
	q.importer_pci_devfn = 0xff;
	row_errno("QUERY_P2P importer that does not exist", ENODEV,
		  xioctl(P2PMR_IOCTL_QUERY_P2P, &q));
}

static void rows_dmabuf(const struct bar *b, int rfd, bool write_ok)
{
	size_t len = 2 * page;
	struct p2pmr_export_fd a;
	struct p2pmr_export_va v;
	uint64_t bad_off = 0;
	int64_t bad;
	void *dm, *rm, *m;
	int got, ro_buf, buf;

	a = efd_args(rfd, 0, len, O_RDWR | O_CLOEXEC);
	got = xioctl(P2PMR_IOCTL_EXPORT_FD, &a);
	row(!got && fd_valid(a.out_dmabuf_fd) && fd_cloexec(a.out_dmabuf_fd),
	    "EXPORT_FD with O_CLOEXEC: %s, fd %d has FD_CLOEXEC",
	    errname(got), a.out_dmabuf_fd);
	if (got)
		bail("cannot export %s", b->path);
	buf = a.out_dmabuf_fd;
	row(a.out_bar == b->index &&
	    !!(a.out_flags & P2PMR_EXPORT_OUT_WC) == b->wc,
	    "EXPORT_FD out_bar %u out_flags %#x match %s", a.out_bar,
	    a.out_flags, b->path);
	row(lseek(a.out_dmabuf_fd, 0, SEEK_END) == (off_t)len,
	    "dma-buf size is the exported length");

	rows_query(b, rfd, a.out_dmabuf_fd);

	m = mmap(NULL, page, PROT_READ, MAP_PRIVATE, a.out_dmabuf_fd, 0);
	row(m == MAP_FAILED && errno == EINVAL,
	    "MAP_PRIVATE mmap of the dma-buf refused: %s",
	    m == MAP_FAILED ? errname(errno) : "mapped");
	if (m != MAP_FAILED)
		munmap(m, page);
	m = mmap(NULL, len + page, PROT_READ, MAP_SHARED, a.out_dmabuf_fd, 0);
	row(m == MAP_FAILED && errno == EINVAL,
	    "mmap past the end of the dma-buf refused: %s",
	    m == MAP_FAILED ? errname(errno) : "mapped");
	if (m != MAP_FAILED)
		munmap(m, len + page);

	dm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		  a.out_dmabuf_fd, 0);
	row(dm != MAP_FAILED, "shared mmap of the dma-buf: %s",
	    dm == MAP_FAILED ? errname(errno) : "success");
	rm = map_res(rfd, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (rm == MAP_FAILED)
		bail("mmap %s: %s", b->path, strerror(errno));

	if (dm != MAP_FAILED && write_ok) {
		p2pmr_pattern_fill(dm, 0, page, TEST_SEED, false);
		bad = p2pmr_pattern_check(rm, 0, page, TEST_SEED, false,
					  &bad_off);
		row(!bad, "written through the dma-buf, read through %s: %" PRId64 " bad bytes",
		    b->path, bad);
		p2pmr_pattern_fill((uint8_t *)rm + page, page, page,
				   TEST_SEED + 1, false);
		bad = p2pmr_pattern_check((uint8_t *)dm + page, page, page,
					  TEST_SEED + 1, false, &bad_off);
		row(!bad, "written through %s, read through the dma-buf: %" PRId64 " bad bytes",
		    b->path, bad);
	} else {
		skip("data through the dma-buf mmap", "--no-write");
	}
	if (dm != MAP_FAILED)
		munmap(dm, len);

	/* By address: the second page of a two-page mapping. */
	v = eva_args((uint8_t *)rm + page, page, O_RDWR);
	got = xioctl(P2PMR_IOCTL_EXPORT_VA, &v);
	row(!got && fd_valid(v.out_dmabuf_fd) && !fd_cloexec(v.out_dmabuf_fd),
	    "EXPORT_VA without O_CLOEXEC: %s, fd has no FD_CLOEXEC",
	    errname(got));
	row(!got && v.out_offset == (uint64_t)page && v.out_bar == b->index &&
	    v.out_pci_domain == b->domain && v.out_pci_bus == b->bus &&
	    v.out_pci_devfn == ((b->dev << 3) | b->fn),
	    "EXPORT_VA out_offset %#" PRIx64 " out_bar %u device %04x:%02x:%02x.%u",
	    (uint64_t)v.out_offset, v.out_bar, v.out_pci_domain,
	    v.out_pci_bus, v.out_pci_devfn >> 3, v.out_pci_devfn & 7);
	if (!got && write_ok) {
		m = mmap(NULL, page, PROT_READ, MAP_SHARED, v.out_dmabuf_fd, 0);
		bad = m == MAP_FAILED ? -1 :
		      p2pmr_pattern_check(m, page, page, TEST_SEED + 1,
					  false, &bad_off);
		row(!bad, "EXPORT_VA dma-buf byte 0 is BAR byte out_offset: %" PRId64 " bad bytes",
		    bad);
		if (m != MAP_FAILED)
			munmap(m, page);
	}
	if (!got)
		close(v.out_dmabuf_fd);
	munmap(rm, len);

	a = efd_args(rfd, 0, page, O_RDONLY);
	got = xioctl(P2PMR_IOCTL_EXPORT_FD, &a);
	ro_buf = got ? -1 : a.out_dmabuf_fd;
	m = ro_buf < 0 ? MAP_FAILED :
	    mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, ro_buf, 0);
	row(ro_buf >= 0 && m == MAP_FAILED && errno == EACCES,
	    "O_RDONLY dma-buf: writable mmap refused (%s)",
	    m == MAP_FAILED ? errname(errno) : "mapped");
	if (m != MAP_FAILED)
		munmap(m, page);
	m = ro_buf < 0 ? MAP_FAILED :
	    mmap(NULL, page, PROT_READ, MAP_SHARED, ro_buf, 0);
	row(m != MAP_FAILED, "O_RDONLY dma-buf: read-only mmap works");
	if (m != MAP_FAILED)
		munmap(m, page);
	close_if(ro_buf);

	a = efd_args(rfd, 0, b->size, O_RDWR | O_CLOEXEC);
	got = xioctl(P2PMR_IOCTL_EXPORT_FD, &a);
	row(!got, "EXPORT_FD of the whole BAR (%#" PRIx64 " bytes): %s",
	    b->size, errname(got));
	if (!got)
		close(a.out_dmabuf_fd);
	close(buf);
}

static void row_counters(void)
{
	char name[64], bad[256] = "";
	long value;
	size_t n = 0;
	FILE *f;

	f = fopen(COUNTERS_PATH, "r");
	if (!f) {
		skip("p2pmr counters back to zero", "no " COUNTERS_PATH);
		return;
	}
	while (fscanf(f, "%63s %ld", name, &value) == 2)
		if (value && n < sizeof(bad))
			n += snprintf(bad + n, sizeof(bad) - n, " %s=%ld",
				      name, value);
	fclose(f);
	row(!bad[0], "p2pmr counters back to zero%s", bad);
}

static int cmd_errno(int argc, char **argv)
{
	bool write_ok = true, counters = true;
	const char *io_path = NULL;
	struct bar b;
	int i, rfd;

	for (i = 0; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--io") && i + 1 < argc)
			io_path = argv[++i];
		else if (!strcmp(argv[i], "--no-write"))
			write_ok = false;
		else if (!strcmp(argv[i], "--no-counters"))
			counters = false;
		else
			bail("unknown option %s", argv[i]);
	}
	if (i + 1 != argc)
		bail("usage: errno [--io RES] [--no-write] [--no-counters] RES");
	bar_from_path(argv[i], &b);
	if (b.size < (uint64_t)(2 * page) || b.size % page)
		bail("%s: BAR of %#" PRIx64 " bytes is too small or not page sized",
		     b.path, b.size);
	if (geteuid())
		bail("run as root");

	printf("# p2pmr uapi errno table on %s (BAR%u, %#" PRIx64 " bytes)\n",
	       b.path, b.index, b.size);
	open_dev();
	rfd = open_res(&b, O_RDWR);

	rows_ioctl_format(&b, rfd);
	rows_range(&b, rfd);
	rows_files(&b, io_path);
	rows_va(&b, rfd);
	rows_check_va(&b, rfd);
	rows_watch_va(&b, rfd);
	rows_va_dmabuf(&b, rfd);
	rows_va_dmabuf_heap();
	rows_unprivileged(&b, rfd);
	rows_dmabuf(&b, rfd, write_ok);

	close(rfd);
	close(dev_fd);
	if (counters)
		row_counters();
	else
		skip("p2pmr counters back to zero", "--no-counters");

	printf("1..%u\n", tests);
	if (failures)
		printf("# %u of %u failed\n", failures, tests);
	return failures ? 1 : 0;
}

/* ---- fill, check, hold, query ------------------------------------------- */

/*
 * Export [off, off + len) of @b by fd, or by address of a mapping of it.
 * Returns the dma-buf fd; *resmap is the resource mapping kept for
 * --by-va (unmap with munmap(*resmap, len)).
 */
static int export_range(const struct bar *b, bool by_va, uint64_t off,
			uint64_t len, uint32_t open_flags, void **resmap)
{
	struct p2pmr_export_fd a;
	struct p2pmr_export_va v;
	int rfd, err;

	rfd = open_res(b, O_RDWR);
	*resmap = NULL;
	if (!by_va) {
		a = efd_args(rfd, off, len, open_flags);
		err = xioctl(P2PMR_IOCTL_EXPORT_FD, &a);
		close(rfd);
		if (err) {
			fprintf(stderr, "EXPORT_FD %s [%#" PRIx64 ", +%#" PRIx64 "): %s\n",
				b->path, off, len, errname(err));
			exit(1);
		}
		return a.out_dmabuf_fd;
	}

	*resmap = map_res(rfd, off, len, PROT_READ | PROT_WRITE, MAP_SHARED);
	close(rfd);
	if (*resmap == MAP_FAILED) {
		fprintf(stderr, "mmap %s: %s\n", b->path, strerror(errno));
		exit(1);
	}
	v = eva_args(*resmap, len, open_flags);
	err = xioctl(P2PMR_IOCTL_EXPORT_VA, &v);
	if (err) {
		fprintf(stderr, "EXPORT_VA of %s [%#" PRIx64 ", +%#" PRIx64 "): %s\n",
			b->path, off, len, errname(err));
		exit(1);
	}
	if (v.out_offset != off) {
		fprintf(stderr, "EXPORT_VA out_offset %#" PRIx64 ", expected %#" PRIx64 "\n",
			(uint64_t)v.out_offset, off);
		exit(1);
	}
	return v.out_dmabuf_fd;
}

static int parse_range(char **argv, uint64_t *off, uint64_t *len)
{
	if (test_parse_u64(argv[0], off) || test_parse_u64(argv[1], len) || !*len ||
	    *len > SIZE_MAX) {
		fprintf(stderr, "bad offset or length\n");
		return -1;
	}
	return 0;
}

static int cmd_fill_check(bool fill, int argc, char **argv)
{
	uint64_t off, len, seed, bad_off = 0;
	bool by_va = false;
	void *resmap, *m;
	struct bar b;
	int64_t bad;
	int dmabuf;

	if (argc && !strcmp(argv[0], "--by-va")) {
		by_va = true;
		argc--;
		argv++;
	}
	if (argc != 4 || parse_range(argv + 1, &off, &len) ||
	    test_parse_u64(argv[3], &seed) || seed > UINT32_MAX) {
		fprintf(stderr, "usage: fill|check [--by-va] RES OFFSET LENGTH SEED\n");
		return 2;
	}
	bar_from_path(argv[0], &b);
	open_dev();

	dmabuf = export_range(&b, by_va, off, len, O_RDWR | O_CLOEXEC, &resmap);
	m = mmap(NULL, len, fill ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED, dmabuf, 0);
	if (m == MAP_FAILED) {
		fprintf(stderr, "mmap of the dma-buf: %s\n", strerror(errno));
		return 1;
	}
	if (fill) {
		p2pmr_pattern_fill(m, off, len, (uint32_t)seed, false);
		bad = 0;
	} else {
		bad = p2pmr_pattern_check(m, off, len, (uint32_t)seed, false,
					  &bad_off);
	}
	munmap(m, len);
	close(dmabuf);
	if (resmap)
		munmap(resmap, len);

	if (bad) {
		fprintf(stderr, "%s: %" PRId64 " of %" PRIu64 " bytes differ, first at BAR offset %#" PRIx64 "\n",
			b.path, bad, len, bad_off);
		return 1;
	}
	printf("%s %#" PRIx64 " bytes at BAR%u offset %#" PRIx64 " through a dma-buf exported by %s, seed %" PRIu64 "\n",
	       fill ? "filled" : "checked", len, b.index, off,
	       by_va ? "address" : "fd", seed);
	return 0;
}

static sigjmp_buf probe_env;

static void probe_sigbus(int sig)
{
	(void)sig;
	siglongjmp(probe_env, 1);
}

static int cmd_hold(int argc, char **argv)
{
	/* static: not clobbered by the SIGBUS probe's siglongjmp() */
	static struct p2pmr_watch_va wd, wv;
	static uint64_t *wp = MAP_FAILED;
	static int wfd = -1;
	bool by_va = false, do_mmap = true;
	volatile uint64_t *volatile m = NULL;
	char line[64], num[16];
	uint64_t off, len;
	struct sigaction sa;
	void *resmap;
	struct bar b;
	int dmabuf, i;
	pid_t pid;

	for (i = 0; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--");
	     i++) {
		if (!strcmp(argv[i], "--by-va"))
			by_va = true;
		else if (!strcmp(argv[i], "--no-mmap"))
			do_mmap = false;
		else
			bail("unknown option %s", argv[i]);
	}
	if (argc - i < 3 || parse_range(argv + i + 1, &off, &len)) {
		fprintf(stderr, "usage: hold [--by-va] [--no-mmap] RES OFFSET LENGTH [-- CMD...]\n");
		return 2;
	}
	bar_from_path(argv[i], &b);
	open_dev();

	/* No O_CLOEXEC: CMD inherits the dma-buf. */
	dmabuf = export_range(&b, by_va, off, len, O_RDWR, &resmap);
	if (do_mmap) {
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf,
			 0);
		if (m == MAP_FAILED) {
			fprintf(stderr, "mmap of the dma-buf: %s\n",
				strerror(errno));
			return 1;
		}
	}
	printf("READY dmabuf_fd=%d bar=%u offset=%#" PRIx64 " length=%#" PRIx64 "\n",
	       dmabuf, b.index, off, len);
	fflush(stdout);

	i += 3;
	if (i < argc && !strcmp(argv[i], "--") && i + 1 < argc) {
		int status;

		snprintf(num, sizeof(num), "%d", dmabuf);
		setenv("P2PMR_DMABUF_FD", num, 1);
		pid = fork();
		if (pid < 0)
			bail("fork: %s", strerror(errno));
		if (!pid) {
			execvp(argv[i + 1], argv + i + 1);
			fprintf(stderr, "exec %s: %s\n", argv[i + 1],
				strerror(errno));
			_exit(127);
		}
		waitpid(pid, &status, 0);
		printf("CMD_EXIT %d\n",
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128);
		fflush(stdout);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "read", 4)) {
			if (!m)
				printf("READ NOT_MAPPED\n");
			else if (sigsetjmp(probe_env, 1))
				printf("READ SIGBUS\n");
			else
				printf("READ %#" PRIx64 "\n", m[0]);
		} else if (!strncmp(line, "check", 5)) {
			struct p2pmr_check_va c = cva_args(resmap, len, dmabuf);

			printf("CHECK %s\n", !resmap ? "NOT_MAPPED" :
			       errname(xioctl(P2PMR_IOCTL_CHECK_VA, &c)));
		} else if (!strncmp(line, "watched", 7)) {
			printf("WATCHED dmabuf=%s va=%s\n", wp == MAP_FAILED ?
			       "none" : wload(wp, wd.out_slot) > wd.out_seq ?
			       "moved" : "same", wp == MAP_FAILED ? "none" :
			       wload(wp, wv.out_slot) > wv.out_seq ?
			       "moved" : "same");
		} else if (!strncmp(line, "watch", 5)) {
			if (wfd < 0)
				wfd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
			if (wp == MAP_FAILED)
				wp = mmap(NULL, page, PROT_READ, MAP_SHARED,
					  wfd, 0);
			if (!resmap || wp == MAP_FAILED) {
				printf("WATCH NOT_MAPPED\n");
			} else {
				wd = wva_args(resmap, len, dmabuf);
				wv = wva_args(resmap, len, -1);
				printf("WATCH %s", errname(wioctl(wfd,
				       P2PMR_IOCTL_WATCH_VA, &wd)));
				printf(" %s\n", errname(wioctl(wfd,
				       P2PMR_IOCTL_WATCH_VA, &wv)));
			}
		} else if (!strncmp(line, "close", 5)) {
			if (m)
				munmap((void *)m, len);
			m = NULL;
			close_if(dmabuf);
			dmabuf = -1;
			printf("CLOSED\n");
		} else {
			printf("UNKNOWN\n");
		}
		fflush(stdout);
	}
	if (m)
		munmap((void *)m, len);
	close_if(dmabuf);
	if (resmap)
		munmap(resmap, len);
	if (wp != MAP_FAILED)
		munmap(wp, page);
	close_if(wfd);
	return 0;
}

static const char *path_name(uint32_t path)
{
	switch (path) {
	case P2PMR_PATH_BUS_ADDR: return "bus_addr";
	case P2PMR_PATH_HOST_BRIDGE: return "host_bridge";
	case P2PMR_PATH_REFUSED: return "refused";
	default: return "unknown";
	}
}

static const char *reason_name(uint32_t reason)
{
	switch (reason) {
	case P2PMR_REASON_SAME_DEVICE: return "same_device";
	case P2PMR_REASON_COMMON_UPSTREAM: return "common_upstream";
	case P2PMR_REASON_ACS_REDIRECT: return "acs_redirect";
	case P2PMR_REASON_NO_COMMON_UPSTREAM: return "no_common_upstream";
	case P2PMR_REASON_DIFFERENT_HOST_BRIDGE: return "different_host_bridge";
	case P2PMR_REASON_DIFFERENT_DOMAIN: return "different_domain";
	case P2PMR_REASON_NOT_PCI: return "not_pci";
	case P2PMR_REASON_P2PDMA_REFUSED: return "p2pdma_refused";
	default: return "unknown";
	}
}

static int cmd_query(int argc, char **argv)
{
	unsigned int domain, bus, dev, fn;
	struct p2pmr_query_p2p q;
	bool by_dmabuf = false;
	void *resmap;
	struct bar b;
	int err, fd;

	if (argc && !strcmp(argv[0], "--by-dmabuf")) {
		by_dmabuf = true;
		argc--;
		argv++;
	}
	if (argc != 2 || parse_bdf(argv[1], &domain, &bus, &dev, &fn)) {
		fprintf(stderr, "usage: query [--by-dmabuf] RES dddd:bb:dd.f\n");
		return 2;
	}
	bar_from_path(argv[0], &b);
	open_dev();
	if (by_dmabuf)
		fd = export_range(&b, false, 0, page, O_RDONLY | O_CLOEXEC,
				  &resmap);
	else
		fd = open_res(&b, O_RDONLY);

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.flags = by_dmabuf ? P2PMR_QUERY_P2P_BY_DMABUF : 0;
	q.provider_fd = fd;
	q.importer_pci_domain = domain;
	q.importer_pci_bus = bus;
	q.importer_pci_devfn = (dev << 3) | fn;
	err = xioctl(P2PMR_IOCTL_QUERY_P2P, &q);
	close(fd);
	if (err) {
		fprintf(stderr, "QUERY_P2P: %s\n", errname(err));
		return 1;
	}
	printf("path=%s reason=%s distance=%d flags=%#x%s%s%s\n",
	       path_name(q.out_path), reason_name(q.out_reason),
	       (int)q.out_distance, q.out_flags,
	       q.out_flags & P2PMR_QUERY_P2P_OUT_HOST_BRIDGE_ROUTE ?
	       " host_bridge_route" : "",
	       q.out_flags & P2PMR_QUERY_P2P_OUT_IOMMU ? " iommu" : "",
	       q.out_flags & P2PMR_QUERY_P2P_OUT_P2PDMA ? " p2pdma" : "");
	return 0;
}

static int print_usage(void)
{
	fprintf(stderr,
		"usage: p2pmr_uapi_test errno [--io RES] [--no-write] [--no-counters] RES\n"
		"       p2pmr_uapi_test fill|check [--by-va] RES OFFSET LENGTH SEED\n"
		"       p2pmr_uapi_test hold [--by-va] [--no-mmap] RES OFFSET LENGTH [-- CMD...]\n"
		"       p2pmr_uapi_test query [--by-dmabuf] RES dddd:bb:dd.f\n");
	return 2;
}

int main(int argc, char **argv)
{
	page = sysconf(_SC_PAGESIZE);
	if (argc < 2)
		return print_usage();
	if (!strcmp(argv[1], "errno"))
		return cmd_errno(argc - 2, argv + 2);
	if (!strcmp(argv[1], "fill"))
		return cmd_fill_check(true, argc - 2, argv + 2);
	if (!strcmp(argv[1], "check"))
		return cmd_fill_check(false, argc - 2, argv + 2);
	if (!strcmp(argv[1], "hold"))
		return cmd_hold(argc - 2, argv + 2);
	if (!strcmp(argv[1], "query"))
		return cmd_query(argc - 2, argv + 2);
	return print_usage();
}
