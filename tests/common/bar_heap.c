// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI BAR behind the GPU runtime stand-ins' device memory; see
 * bar_heap.h.  Test code: simple lists and first fit, since tests need
 * determinism, not speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/p2pmr.h>

#include "bar_heap.h"

/*
 * Why the BAR or an export cannot be had, for whoever sets <env>_DEBUG;
 * otherwise nothing is printed, as by the real libraries.
 */
static void __attribute__((format(printf, 2, 3)))
heap_debug(const struct bar_heap *h, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (getenv(h->debug_env)) {
		fprintf(stderr, "%s: ", h->tag);
		/* For the %m of fmt. */
		errno = saved_errno;
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	errno = saved_errno;
}

static uint64_t round_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/* Read 1..max_digits hex digits at *s, at most max. */
static bool parse_hex(const char **s, int max_digits, unsigned long max,
		      unsigned int *out)
{
	unsigned long v = 0;
	int n = 0;
	int d;

	for (;; n++) {
		char c = (*s)[n];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (n == max_digits)
			return false;
		v = v * 16 + d;
	}
	if (!n || v > max)
		return false;
	*s += n;
	*out = v;
	return true;
}

bool bar_heap_parse_pci_addr(const char *s, struct bar_heap_pci_addr *addr)
{
	struct bar_heap_pci_addr a;
	unsigned int f[4];
	char sep[3];
	int n = 0;

	for (;;) {
		if (!parse_hex(&s, 8, UINT_MAX, &f[n]))
			return false;
		n++;
		if (!*s)
			break;
		if (n == 4 || (*s != ':' && *s != '.'))
			return false;
		sep[n - 1] = *s++;
	}
	if (n == 4 && sep[0] == ':' && sep[1] == ':' && sep[2] == '.')
		a = (struct bar_heap_pci_addr){ f[0], f[1], f[2], f[3], true };
	else if (n == 3 && sep[0] == ':' && sep[1] == ':')
		a = (struct bar_heap_pci_addr){ f[0], f[1], f[2], 0, false };
	else if (n == 3 && sep[0] == ':' && sep[1] == '.')
		a = (struct bar_heap_pci_addr){ 0, f[0], f[1], f[2], true };
	else
		return false;
	if (a.bus > 0xff || a.dev > 0x1f || a.fn > 7)
		return false;
	*addr = a;
	return true;
}

/* The PCI address of .../<bdf>/resource<N>, the sysfs layout. */
static bool pci_of_resource(const struct bar_heap *h, const char *path,
			    struct bar_heap_pci_addr *addr)
{
	char *copy;
	bool ok;

	copy = strdup(path);
	if (!copy)
		return false;
	ok = bar_heap_parse_pci_addr(basename(dirname(copy)), addr) &&
	     addr->has_fn;
	if (!ok)
		heap_debug(h, "%s: the directory name is not a PCI address",
			   path);
	free(copy);
	return ok;
}

/* <env>_OFFSET: whole granules, so the heap is aligned too. */
static bool parse_offset(const struct bar_heap *h, const char *s,
			 unsigned long long *off)
{
	char *end;

	errno = 0;
	*off = strtoull(s, &end, 0);
	if (errno || *end || *off % BAR_HEAP_GRANULE) {
		heap_debug(h, "%s=%s: not a multiple of 2 MiB", h->offset_env,
			   s);
		return false;
	}
	return true;
}

bool bar_heap_open(struct bar_heap *h)
{
	const char *path = getenv(h->resource_env);
	const char *off_env = getenv(h->offset_env);
	struct bar_heap_pci_addr pci;
	unsigned long long off = 0;
	struct stat st;
	void *bar;
	int fd;

	if (!path || !*path) {
		heap_debug(h, "%s is not set: no %s", h->resource_env, h->what);
		return false;
	}
	if (!pci_of_resource(h, path, &pci))
		return false;
	if (off_env && *off_env && !parse_offset(h, off_env, &off))
		return false;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		heap_debug(h, "%s: %m", path);
		return false;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    (unsigned long long)st.st_size <= off) {
		heap_debug(h, "%s: empty, or no room after offset %#llx", path,
			   off);
		close(fd);
		return false;
	}
	bar = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED) {
		heap_debug(h, "%s: mmap: %m", path);
		close(fd);
		return false;
	}
	h->pci = pci;
	h->res_fd = fd;
	h->bar = bar;
	h->bar_size = st.st_size;
	h->heap_start = off;
	/* Only whole granules: a smaller tail can hold no allocation. */
	h->heap_end = h->bar_size & ~(uint64_t)(BAR_HEAP_GRANULE - 1);
	if (h->heap_end < h->heap_start)
		h->heap_end = h->heap_start;
	return true;
}

void bar_heap_close(struct bar_heap *h, void (*destroy)(struct bar_alloc *))
{
	bar_heap_release_if(h, NULL, NULL, destroy);
	if (h->bar)
		munmap(h->bar, h->bar_size);
	if (h->res_fd >= 0)
		close(h->res_fd);
	memset(&h->pci, 0, sizeof(h->pci));
	h->res_fd = -1;
	h->bar = NULL;
	h->bar_size = 0;
	h->heap_start = 0;
	h->heap_end = 0;
}

uint64_t bar_heap_size(const struct bar_heap *h)
{
	return h->heap_end - h->heap_start;
}

uint64_t bar_heap_used(const struct bar_heap *h)
{
	const struct bar_alloc *a;
	uint64_t used = 0;

	for (a = h->dev_allocs; a; a = a->next)
		used += a->span;
	return used;
}

/*
 * Address space nobody can touch, granule aligned like the BAR offsets
 * behind it: reserve one granule more and trim both ends.
 */
static void *reserve_va(size_t span)
{
	size_t len = span + BAR_HEAP_GRANULE;
	uintptr_t raw, start;
	void *p;

	p = mmap(NULL, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	raw = (uintptr_t)p;
	start = round_up(raw, BAR_HEAP_GRANULE);
	if (start > raw)
		munmap(p, start - raw);
	if (raw + len > start + span)
		munmap((void *)(start + span), raw + len - (start + span));
	return (void *)start;
}

bool bar_heap_alloc(struct bar_heap *h, struct bar_alloc *a, size_t size)
{
	struct bar_alloc **link = &h->dev_allocs;
	uint64_t at = h->heap_start;
	size_t span;
	void *va;

	if (size > SIZE_MAX - BAR_HEAP_GRANULE)
		return false;
	span = round_up(size, BAR_HEAP_GRANULE);
	for (; *link; link = &(*link)->next) {
		if ((*link)->bar_off - at >= span)
			break;
		at = (*link)->bar_off + (*link)->span;
	}
	if (at > h->heap_end || h->heap_end - at < span)
		return false;
	va = reserve_va(span);
	if (!va)
		return false;
	a->base = (uintptr_t)va;
	a->size = size;
	a->span = span;
	a->bar_off = at;
	a->host = false;
	a->next = *link;
	*link = a;
	return true;
}

bool bar_heap_alloc_host(struct bar_heap *h, struct bar_alloc *a,
			 size_t size)
{
	size_t page = sysconf(_SC_PAGESIZE);
	size_t span;
	void *p;

	if (size > SIZE_MAX - page)
		return false;
	span = round_up(size, page);
	p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	a->base = (uintptr_t)p;
	a->size = size;
	a->span = span;
	a->bar_off = 0;
	a->host = true;
	a->next = h->host_allocs;
	h->host_allocs = a;
	return true;
}

void bar_heap_release(struct bar_heap *h, struct bar_alloc *a)
{
	struct bar_alloc **link = a->host ? &h->host_allocs : &h->dev_allocs;

	for (; *link; link = &(*link)->next) {
		if (*link == a) {
			*link = a->next;
			break;
		}
	}
	munmap((void *)a->base, a->span);
}

static void release_list(struct bar_heap *h, struct bar_alloc *list,
			 bool (*match)(struct bar_alloc *, void *),
			 void *arg, void (*destroy)(struct bar_alloc *))
{
	struct bar_alloc *a, *next;

	for (a = list; a; a = next) {
		next = a->next;
		if (match && !match(a, arg))
			continue;
		bar_heap_release(h, a);
		destroy(a);
	}
}

void bar_heap_release_if(struct bar_heap *h,
			 bool (*match)(struct bar_alloc *, void *),
			 void *arg, void (*destroy)(struct bar_alloc *))
{
	release_list(h, h->dev_allocs, match, arg, destroy);
	release_list(h, h->host_allocs, match, arg, destroy);
}

static struct bar_alloc *find_in(struct bar_alloc *list, uintptr_t p,
				 size_t align)
{
	struct bar_alloc *a;

	for (a = list; a; a = a->next)
		if (p >= a->base && p - a->base < round_up(a->size, align))
			return a;
	return NULL;
}

struct bar_alloc *bar_heap_find(const struct bar_heap *h, uintptr_t p,
				size_t align)
{
	struct bar_alloc *a = find_in(h->dev_allocs, p, align);

	return a ? a : find_in(h->host_allocs, p, align);
}

bool bar_heap_resolve(const struct bar_heap *h, uintptr_t p, size_t n,
		      uint8_t **cpu, bool *device)
{
	const struct bar_alloc *a;

	if (p + n < p)
		return false;
	a = bar_heap_find(h, p, 1);
	if (a && !a->host) {
		if (n > a->size - (p - a->base))
			return false;
		*cpu = h->bar + a->bar_off + (p - a->base);
		*device = true;
		return true;
	}
	for (a = h->dev_allocs; a; a = a->next)
		if (p < a->base + a->span && a->base < p + n)
			return false;
	*cpu = (uint8_t *)p;
	*device = false;
	return true;
}

bool bar_heap_p2pmr_present(void)
{
	return access("/dev/" P2PMR_DEVICE_NAME, F_OK) == 0;
}

int bar_heap_export(const struct bar_heap *h, const struct bar_alloc *a,
		    uint64_t off, uint64_t len, bool *opened)
{
	struct p2pmr_export_fd exp = { .size = sizeof(exp) };
	int dev_fd, err;

	if (opened)
		*opened = false;
	dev_fd = open("/dev/" P2PMR_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (dev_fd < 0) {
		heap_debug(h, "/dev/" P2PMR_DEVICE_NAME ": %m");
		return -1;
	}
	if (opened)
		*opened = true;
	exp.resource_fd = h->res_fd;
	exp.open_flags = O_RDWR | O_CLOEXEC;
	exp.offset = a->bar_off + off;
	exp.length = len;
	if (ioctl(dev_fd, P2PMR_IOCTL_EXPORT_FD, &exp) < 0) {
		err = errno;
		heap_debug(h, "P2PMR_IOCTL_EXPORT_FD at %#llx+%#llx: %m",
			   (unsigned long long)exp.offset,
			   (unsigned long long)exp.length);
		close(dev_fd);
		errno = err;
		return -1;
	}
	close(dev_fd);
	return exp.out_dmabuf_fd;
}
