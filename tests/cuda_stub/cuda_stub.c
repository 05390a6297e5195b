// SPDX-License-Identifier: GPL-2.0
/*
 * TEST DOUBLE of NVIDIA's CUDA driver API library (libcuda.so.1), built as
 * build/tests/cuda_stub/libcuda.so.1 and loaded only by tests: it lets the
 * GPU code paths of p2pmr, perftest and the like run end to end in a guest
 * without a GPU.  Never installed.
 *
 * The "device memory" is one PCI BAR (P2PMR_CUDA_STUB_RESOURCE, a sysfs
 * resource file), so that what a test writes through the API can be read
 * back from the file behind the BAR on the host, and so that
 * cuMemGetHandleForAddressRange() can hand out a real p2pmr dma-buf of it.
 * A device pointer is an inaccessible (PROT_NONE) reservation of address
 * space, as on a discrete GPU: the CPU cannot touch it and ibv_reg_mr()
 * refuses it, so only the dma-buf path can register it.  README.md says
 * what is modelled and what is not.
 *
 * Every function here follows the documented semantics and return codes
 * of the real one; only symbols of the real API are exported.  One mutex
 * serialises everything, copies included: tests need determinism, not
 * speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The library is built with hidden visibility: what cuda.h declares is
 * exported, nothing else (the real libcuda has no symbol versions, so
 * there is no version script).
 */
#pragma GCC visibility push(default)
#include "cuda.h"
/*
 * The CUDA 11.3-11.8 entry point of this name, without symbolStatus: the
 * real library still exports it, and perftest resolves it by name.
 */
#undef cuGetProcAddress
CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion,
			  cuuint64_t flags);
#pragma GCC visibility pop

#include <linux/p2pmr.h>

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define STUB_DEVICE_NAME	"p2pmr CUDA stand-in"
#define STUB_DRIVER_VERSION	CUDA_VERSION
/* The real driver's allocation granularity, in the BAR and in VA alike. */
#define STUB_GRANULE		(2UL << 20)
/* Plenty for any test; the real stack is unbounded. */
#define STUB_CTX_STACK_MAX	64

struct CUctx_st {
	/* Every context ever created: see ctx_alive(). */
	struct CUctx_st *next;
	bool primary;
	/* Primary: its retain count.  Others: 1 until destroyed. */
	unsigned int refs;
};

/* One cuMemAlloc() or cuMemAllocHost() allocation. */
struct stub_alloc {
	struct stub_alloc *next;
	CUdeviceptr base;
	/* The size asked for, as the pointer attributes report it. */
	size_t size;
	/* What is reserved: 2 MiB multiple (device) or pages (host). */
	size_t span;
	/* Device memory: where it lies in the BAR. */
	uint64_t bar_off;
	unsigned long long buffer_id;
	struct CUctx_st *ctx;
	bool host;
};

static struct {
	pthread_mutex_t lock;
	/* cuInit()'s outcome is final, as with the real driver. */
	bool init_done;
	CUresult init_status;
	int res_fd;
	uint8_t *bar;
	uint64_t bar_size;
	/* Device heap: [heap_start, heap_end), both 2 MiB multiples. */
	uint64_t heap_start;
	uint64_t heap_end;
	unsigned int domain, bus, dev, fn;
	/* Device allocations sorted by bar_off, for first fit. */
	struct stub_alloc *dev_allocs;
	struct stub_alloc *host_allocs;
	struct CUctx_st *ctxs;
	struct CUctx_st primary;
	unsigned long long last_buffer_id;
} stub = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.res_fd = -1,
	.primary = { .primary = true },
};

static __thread struct CUctx_st *ctx_stack[STUB_CTX_STACK_MAX];
static __thread unsigned int ctx_depth;

/*
 * Why a call failed, for whoever sets P2PMR_CUDA_STUB_DEBUG; otherwise the
 * library prints nothing, as the real one.
 */
static void __attribute__((format(printf, 1, 2)))
stub_debug(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (getenv("P2PMR_CUDA_STUB_DEBUG")) {
		fputs("p2pmr-cuda-stub: ", stderr);
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

/*
 * Take the lock and tell whether the driver is usable; the caller unlocks
 * whatever the answer.
 */
static CUresult stub_enter(void)
{
	pthread_mutex_lock(&stub.lock);
	if (!stub.init_done)
		return CUDA_ERROR_NOT_INITIALIZED;
	return stub.init_status;
}

static CUresult stub_leave(CUresult ret)
{
	pthread_mutex_unlock(&stub.lock);
	return ret;
}

/* Read 1..max_digits hex digits at *s. */
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

struct bus_id {
	unsigned int domain, bus, dev, fn;
	bool has_fn;
};

/*
 * The forms cuDeviceGetByPCIBusId() documents, all hexadecimal:
 * domain:bus:device.function, domain:bus:device and bus:device.function.
 */
static bool parse_bus_id(const char *s, struct bus_id *id)
{
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
	memset(id, 0, sizeof(*id));
	if (n == 4 && sep[0] == ':' && sep[1] == ':' && sep[2] == '.')
		*id = (struct bus_id){ f[0], f[1], f[2], f[3], true };
	else if (n == 3 && sep[0] == ':' && sep[1] == ':')
		*id = (struct bus_id){ f[0], f[1], f[2], 0, false };
	else if (n == 3 && sep[0] == ':' && sep[1] == '.')
		*id = (struct bus_id){ 0, f[0], f[1], f[2], true };
	else
		return false;
	return id->bus <= 0xff && id->dev <= 0x1f && id->fn <= 7;
}

/* The BDF of .../<bdf>/resource<N>, the sysfs layout. */
static bool bdf_of_resource(const char *path)
{
	struct bus_id id;
	char *copy, *name;
	bool ok;

	copy = strdup(path);
	if (!copy)
		return false;
	name = basename(dirname(copy));
	ok = parse_bus_id(name, &id) && id.has_fn;
	if (ok) {
		stub.domain = id.domain;
		stub.bus = id.bus;
		stub.dev = id.dev;
		stub.fn = id.fn;
	} else {
		stub_debug("%s: the directory name is not a PCI address", path);
	}
	free(copy);
	return ok;
}

/* P2PMR_CUDA_STUB_OFFSET: whole granules, so the heap is aligned too. */
static bool parse_offset(const char *s, unsigned long long *off)
{
	char *end;

	errno = 0;
	*off = strtoull(s, &end, 0);
	if (errno || *end || *off % STUB_GRANULE) {
		stub_debug("P2PMR_CUDA_STUB_OFFSET=%s: not a multiple of 2 MiB",
			   s);
		return false;
	}
	return true;
}

static CUresult stub_open_bar(void)
{
	const char *path = getenv("P2PMR_CUDA_STUB_RESOURCE");
	const char *off_env = getenv("P2PMR_CUDA_STUB_OFFSET");
	unsigned long long off = 0;
	struct stat st;
	void *bar;
	int fd;

	if (!path || !*path) {
		stub_debug("P2PMR_CUDA_STUB_RESOURCE is not set: no device");
		return CUDA_ERROR_NO_DEVICE;
	}
	if (!bdf_of_resource(path))
		return CUDA_ERROR_NO_DEVICE;
	if (off_env && *off_env && !parse_offset(off_env, &off))
		return CUDA_ERROR_NO_DEVICE;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		stub_debug("%s: %m", path);
		return CUDA_ERROR_NO_DEVICE;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    (unsigned long long)st.st_size <= off) {
		stub_debug("%s: empty, or no room after offset %#llx", path,
			   off);
		close(fd);
		return CUDA_ERROR_NO_DEVICE;
	}
	bar = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED) {
		stub_debug("%s: mmap: %m", path);
		close(fd);
		return CUDA_ERROR_NO_DEVICE;
	}
	stub.res_fd = fd;
	stub.bar = bar;
	stub.bar_size = st.st_size;
	stub.heap_start = off;
	/* Only whole granules: a smaller tail can hold no allocation. */
	stub.heap_end = stub.bar_size & ~(uint64_t)(STUB_GRANULE - 1);
	if (stub.heap_end < stub.heap_start)
		stub.heap_end = stub.heap_start;
	return CUDA_SUCCESS;
}

static bool p2pmr_present(void)
{
	return access("/dev/" P2PMR_DEVICE_NAME, F_OK) == 0;
}

/*
 * Contexts are never freed: a handle destroyed in one thread may still be
 * on another thread's stack, and must read as invalid there rather than
 * as freed memory.
 */
static bool ctx_alive(struct CUctx_st *ctx)
{
	struct CUctx_st *c;

	if (!ctx)
		return false;
	if (ctx == &stub.primary)
		return stub.primary.refs > 0;
	for (c = stub.ctxs; c; c = c->next)
		if (c == ctx)
			return c->refs > 0;
	return false;
}

static struct CUctx_st *current_ctx(void)
{
	struct CUctx_st *ctx;

	if (!ctx_depth)
		return NULL;
	ctx = ctx_stack[ctx_depth - 1];
	return ctx_alive(ctx) ? ctx : NULL;
}

static struct stub_alloc *find_alloc(struct stub_alloc *list, CUdeviceptr p)
{
	for (; list; list = list->next)
		if (p >= list->base && p - list->base < list->size)
			return list;
	return NULL;
}

static struct stub_alloc *find_any(CUdeviceptr p)
{
	struct stub_alloc *a = find_alloc(stub.dev_allocs, p);

	return a ? a : find_alloc(stub.host_allocs, p);
}

static void unlink_alloc(struct stub_alloc **list, struct stub_alloc *a)
{
	for (; *list; list = &(*list)->next) {
		if (*list == a) {
			*list = a->next;
			return;
		}
	}
}

static void release_alloc(struct stub_alloc *a)
{
	unlink_alloc(a->host ? &stub.host_allocs : &stub.dev_allocs, a);
	munmap((void *)(uintptr_t)a->base, a->span);
	free(a);
}

/* A destroyed or reset context takes its memory with it. */
static void release_ctx_allocs(struct CUctx_st *ctx)
{
	struct stub_alloc *a, *next;

	for (a = stub.dev_allocs; a; a = next) {
		next = a->next;
		if (a->ctx == ctx)
			release_alloc(a);
	}
	for (a = stub.host_allocs; a; a = next) {
		next = a->next;
		if (a->ctx == ctx)
			release_alloc(a);
	}
}

/*
 * Address space nobody can touch, 2 MiB aligned as the real driver's
 * device addresses are: reserve one granule more and trim both ends.
 */
static void *reserve_va(size_t span)
{
	uintptr_t raw, start;
	size_t len = span + STUB_GRANULE;
	void *p;

	p = mmap(NULL, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	raw = (uintptr_t)p;
	start = round_up(raw, STUB_GRANULE);
	if (start > raw)
		munmap(p, start - raw);
	if (raw + len > start + span)
		munmap((void *)(start + span), raw + len - (start + span));
	return (void *)start;
}

/* First fit in the heap: the first allocation lands at heap_start. */
static CUresult alloc_device(struct CUctx_st *ctx, size_t size,
			     CUdeviceptr *dptr)
{
	struct stub_alloc **link = &stub.dev_allocs;
	uint64_t at = stub.heap_start;
	struct stub_alloc *a;
	size_t span;
	void *va;

	if (size > SIZE_MAX - STUB_GRANULE)
		return CUDA_ERROR_OUT_OF_MEMORY;
	span = round_up(size, STUB_GRANULE);
	for (; *link; link = &(*link)->next) {
		if ((*link)->bar_off - at >= span)
			break;
		at = (*link)->bar_off + (*link)->span;
	}
	if (at > stub.heap_end || stub.heap_end - at < span)
		return CUDA_ERROR_OUT_OF_MEMORY;
	a = calloc(1, sizeof(*a));
	if (!a)
		return CUDA_ERROR_OUT_OF_MEMORY;
	va = reserve_va(span);
	if (!va) {
		free(a);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	a->base = (uintptr_t)va;
	a->size = size;
	a->span = span;
	a->bar_off = at;
	a->buffer_id = ++stub.last_buffer_id;
	a->ctx = ctx;
	a->next = *link;
	*link = a;
	*dptr = a->base;
	return CUDA_SUCCESS;
}

/*
 * Where the CPU reaches [p, p + n) under unified addressing: through the
 * BAR mapping for device memory, directly for host memory.  A range that
 * leaves its allocation, or plain host memory that overlaps a device
 * reservation (which would fault), is an invalid value.
 */
static CUresult resolve(CUdeviceptr p, size_t n, uint8_t **cpu, bool *device)
{
	struct stub_alloc *a;

	if (p + n < p)
		return CUDA_ERROR_INVALID_VALUE;
	a = find_any(p);
	if (a) {
		if (n > a->size - (p - a->base))
			return CUDA_ERROR_INVALID_VALUE;
		*device = !a->host;
		*cpu = a->host ? (uint8_t *)(uintptr_t)p :
				 stub.bar + a->bar_off + (p - a->base);
		return CUDA_SUCCESS;
	}
	for (a = stub.dev_allocs; a; a = a->next)
		if (p < a->base + a->span && a->base < p + n)
			return CUDA_ERROR_INVALID_VALUE;
	*device = false;
	*cpu = (uint8_t *)(uintptr_t)p;
	return CUDA_SUCCESS;
}

enum copy_kind { COPY_ANY, COPY_HTOD, COPY_DTOH, COPY_DTOD };

static CUresult do_copy(CUdeviceptr dst, CUdeviceptr src, size_t n,
			enum copy_kind kind)
{
	bool dst_dev, src_dev;
	uint8_t *d, *s;
	CUresult ret;

	ret = stub_enter();
	if (ret)
		return stub_leave(ret);
	if (!current_ctx())
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	if (!n)
		return stub_leave(CUDA_SUCCESS);
	if (resolve(dst, n, &d, &dst_dev) || resolve(src, n, &s, &src_dev))
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if ((kind == COPY_HTOD && !dst_dev) ||
	    (kind == COPY_DTOH && !src_dev) ||
	    (kind == COPY_DTOD && (!dst_dev || !src_dev)))
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	memmove(d, s, n);
	return stub_leave(CUDA_SUCCESS);
}

static const struct {
	CUresult code;
	const char *name;
	const char *text;
} stub_errors[] = {
#define E(code, text) { code, #code, text }
	E(CUDA_SUCCESS, "no error"),
	E(CUDA_ERROR_INVALID_VALUE, "invalid argument"),
	E(CUDA_ERROR_OUT_OF_MEMORY, "out of memory"),
	E(CUDA_ERROR_NOT_INITIALIZED, "initialization error"),
	E(CUDA_ERROR_DEINITIALIZED, "driver shutting down"),
	E(CUDA_ERROR_STUB_LIBRARY, "CUDA driver is a stub library"),
	E(CUDA_ERROR_DEVICE_UNAVAILABLE, "device busy or unavailable"),
	E(CUDA_ERROR_NO_DEVICE, "no CUDA-capable device is detected"),
	E(CUDA_ERROR_INVALID_DEVICE, "invalid device ordinal"),
	E(CUDA_ERROR_INVALID_CONTEXT, "invalid device context"),
	E(CUDA_ERROR_MAP_FAILED, "mapping of buffer object failed"),
	E(CUDA_ERROR_OPERATING_SYSTEM, "operating system call failed"),
	E(CUDA_ERROR_INVALID_HANDLE, "invalid resource handle"),
	E(CUDA_ERROR_NOT_FOUND, "named symbol not found"),
	E(CUDA_ERROR_NOT_READY, "device not ready"),
	E(CUDA_ERROR_ILLEGAL_ADDRESS, "illegal memory access"),
	E(CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE, "primary context active"),
	E(CUDA_ERROR_CONTEXT_IS_DESTROYED, "context is destroyed"),
	E(CUDA_ERROR_NOT_PERMITTED, "operation not permitted"),
	E(CUDA_ERROR_NOT_SUPPORTED, "operation not supported"),
	E(CUDA_ERROR_UNKNOWN, "unknown error"),
#undef E
};

static CUresult error_lookup(CUresult error, const char **str, bool name)
{
	size_t i;

	if (!str)
		return CUDA_ERROR_INVALID_VALUE;
	for (i = 0; i < ARRAY_SIZE(stub_errors); i++) {
		if (stub_errors[i].code == error) {
			*str = name ? stub_errors[i].name :
				      stub_errors[i].text;
			return CUDA_SUCCESS;
		}
	}
	*str = NULL;
	return CUDA_ERROR_INVALID_VALUE;
}

CUresult cuGetErrorString(CUresult error, const char **pStr)
{
	return error_lookup(error, pStr, false);
}

CUresult cuGetErrorName(CUresult error, const char **pStr)
{
	return error_lookup(error, pStr, true);
}

CUresult cuInit(unsigned int Flags)
{
	CUresult ret;

	if (Flags)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&stub.lock);
	if (!stub.init_done) {
		stub.init_status = stub_open_bar();
		stub.init_done = true;
	}
	ret = stub.init_status;
	return stub_leave(ret);
}

CUresult cuDriverGetVersion(int *driverVersion)
{
	if (!driverVersion)
		return CUDA_ERROR_INVALID_VALUE;
	*driverVersion = STUB_DRIVER_VERSION;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!device)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (ordinal != 0)
		return stub_leave(CUDA_ERROR_INVALID_DEVICE);
	*device = 0;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuDeviceGetCount(int *count)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!count)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	*count = 1;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!name || len <= 0)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (dev != 0)
		return stub_leave(CUDA_ERROR_INVALID_DEVICE);
	snprintf(name, len, "%s", STUB_DEVICE_NAME);
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!bytes)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (dev != 0)
		return stub_leave(CUDA_ERROR_INVALID_DEVICE);
	*bytes = stub.heap_end - stub.heap_start;
	return stub_leave(CUDA_SUCCESS);
}

/*
 * A discrete GPU of no particular generation: everything p2pmr's callers
 * ask about has an answer, and the features the stand-in lacks (managed
 * memory, memory pools, VMM, nvidia-peermem GPUDirect) say so.
 */
static bool device_attribute(CUdevice_attribute attrib, int *v)
{
	switch (attrib) {
	case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
		*v = 1024;
		break;
	case CU_DEVICE_ATTRIBUTE_WARP_SIZE:
		*v = 32;
		break;
	case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
	case CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT:
	case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY:
	case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING:
		*v = 1;
		break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
		*v = 8;
		break;
	case CU_DEVICE_ATTRIBUTE_INTEGRATED:
	case CU_DEVICE_ATTRIBUTE_COMPUTE_MODE:
	case CU_DEVICE_ATTRIBUTE_ECC_ENABLED:
	case CU_DEVICE_ATTRIBUTE_TCC_DRIVER:
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
	case CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY:
	case CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD:
	case CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS:
	case CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS:
	case CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM:
	case CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED:
	case CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED:
	case CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED:
	case CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED:
		*v = 0;
		break;
	case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID:
		*v = stub.bus;
		break;
	case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID:
		*v = stub.dev;
		break;
	case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID:
		*v = stub.domain;
		break;
	case CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED:
		*v = p2pmr_present();
		break;
	default:
		return false;
	}
	return true;
}

CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib,
			      CUdevice dev)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!pi)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (dev != 0)
		return stub_leave(CUDA_ERROR_INVALID_DEVICE);
	if (!device_attribute(attrib, pi))
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuDeviceGetByPCIBusId(CUdevice *dev, const char *pciBusId)
{
	CUresult ret = stub_enter();
	struct bus_id id;

	if (ret)
		return stub_leave(ret);
	if (!dev || !pciBusId || !parse_bus_id(pciBusId, &id))
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (id.domain != stub.domain || id.bus != stub.bus ||
	    id.dev != stub.dev || (id.has_fn && id.fn != stub.fn))
		return stub_leave(CUDA_ERROR_INVALID_DEVICE);
	*dev = 0;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!pciBusId || len <= 0)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (dev != 0)
		return stub_leave(CUDA_ERROR_INVALID_DEVICE);
	snprintf(pciBusId, len, "%04x:%02x:%02x.%x", stub.domain, stub.bus,
		 stub.dev, stub.fn);
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!pctx)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (dev != 0)
		return stub_leave(CUDA_ERROR_INVALID_DEVICE);
	stub.primary.refs++;
	*pctx = &stub.primary;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (dev != 0)
		return stub_leave(CUDA_ERROR_INVALID_DEVICE);
	if (!stub.primary.refs)
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	/* The last release resets the primary context, freeing its memory. */
	if (!--stub.primary.refs)
		release_ctx_allocs(&stub.primary);
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	CUresult ret = stub_enter();
	struct CUctx_st *ctx;

	if (ret)
		return stub_leave(ret);
	if (!pctx || (flags & ~0x1fU))
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (dev != 0)
		return stub_leave(CUDA_ERROR_INVALID_DEVICE);
	if (ctx_depth == STUB_CTX_STACK_MAX)
		return stub_leave(CUDA_ERROR_OUT_OF_MEMORY);
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return stub_leave(CUDA_ERROR_OUT_OF_MEMORY);
	ctx->refs = 1;
	ctx->next = stub.ctxs;
	stub.ctxs = ctx;
	/* A new context is current to the thread that made it. */
	ctx_stack[ctx_depth++] = ctx;
	*pctx = ctx;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuCtxDestroy_v2(CUcontext ctx)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	/* The primary context is released, never destroyed. */
	if (!ctx_alive(ctx) || ctx->primary)
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	release_ctx_allocs(ctx);
	ctx->refs = 0;
	if (ctx_depth && ctx_stack[ctx_depth - 1] == ctx)
		ctx_depth--;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuCtxPushCurrent_v2(CUcontext ctx)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!ctx_alive(ctx))
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	if (ctx_depth == STUB_CTX_STACK_MAX)
		return stub_leave(CUDA_ERROR_OUT_OF_MEMORY);
	ctx_stack[ctx_depth++] = ctx;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuCtxPopCurrent_v2(CUcontext *pctx)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!ctx_depth)
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	ctx_depth--;
	if (pctx)
		*pctx = ctx_stack[ctx_depth];
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuCtxSetCurrent(CUcontext ctx)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	/* NULL unbinds: it pops the top of the stack, if any. */
	if (!ctx) {
		if (ctx_depth)
			ctx_depth--;
		return stub_leave(CUDA_SUCCESS);
	}
	if (!ctx_alive(ctx))
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	if (!ctx_depth)
		ctx_depth = 1;
	ctx_stack[ctx_depth - 1] = ctx;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuCtxGetCurrent(CUcontext *pctx)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!pctx)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	*pctx = current_ctx();
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuCtxGetDevice(CUdevice *device)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!device)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (!current_ctx())
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	*device = 0;
	return stub_leave(CUDA_SUCCESS);
}

/* Every operation of the stand-in completes before it returns. */
CUresult cuCtxSynchronize(void)
{
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!current_ctx())
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuMemGetInfo_v2(size_t *freep, size_t *totalp)
{
	CUresult ret = stub_enter();
	struct stub_alloc *a;
	size_t used = 0;

	if (ret)
		return stub_leave(ret);
	if (!current_ctx())
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	if (!freep || !totalp)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	for (a = stub.dev_allocs; a; a = a->next)
		used += a->span;
	*totalp = stub.heap_end - stub.heap_start;
	*freep = *totalp - used;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
	CUresult ret = stub_enter();
	struct CUctx_st *ctx;

	if (ret)
		return stub_leave(ret);
	ctx = current_ctx();
	if (!ctx)
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	if (!dptr || !bytesize)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	return stub_leave(alloc_device(ctx, bytesize, dptr));
}

/*
 * The BAR range goes back to the heap at once, as freed memory does in
 * the real driver; a dma-buf exported from it keeps the BAR itself alive
 * in the kernel, not the allocation.
 */
CUresult cuMemFree_v2(CUdeviceptr dptr)
{
	CUresult ret = stub_enter();
	struct stub_alloc *a;

	if (ret)
		return stub_leave(ret);
	a = find_alloc(stub.dev_allocs, dptr);
	if (!a || a->base != dptr)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	release_alloc(a);
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuMemGetAddressRange_v2(CUdeviceptr *pbase, size_t *psize,
				 CUdeviceptr dptr)
{
	CUresult ret = stub_enter();
	struct stub_alloc *a;

	if (ret)
		return stub_leave(ret);
	if (!current_ctx())
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	a = find_any(dptr);
	if (!a)
		return stub_leave(CUDA_ERROR_NOT_FOUND);
	if (pbase)
		*pbase = a->base;
	if (psize)
		*psize = a->size;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
{
	CUresult ret = stub_enter();
	struct stub_alloc *a;
	struct CUctx_st *ctx;
	size_t page = sysconf(_SC_PAGESIZE);
	void *p;

	if (ret)
		return stub_leave(ret);
	ctx = current_ctx();
	if (!ctx)
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	if (!pp || !bytesize || bytesize > SIZE_MAX - page)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	a = calloc(1, sizeof(*a));
	if (!a)
		return stub_leave(CUDA_ERROR_OUT_OF_MEMORY);
	a->span = round_up(bytesize, page);
	p = mmap(NULL, a->span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		free(a);
		return stub_leave(CUDA_ERROR_OUT_OF_MEMORY);
	}
	a->base = (uintptr_t)p;
	a->size = bytesize;
	a->host = true;
	a->buffer_id = ++stub.last_buffer_id;
	a->ctx = ctx;
	a->next = stub.host_allocs;
	stub.host_allocs = a;
	*pp = p;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuMemFreeHost(void *p)
{
	CUresult ret = stub_enter();
	struct stub_alloc *a;

	if (ret)
		return stub_leave(ret);
	a = find_alloc(stub.host_allocs, (uintptr_t)p);
	if (!a || a->base != (uintptr_t)p)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	release_alloc(a);
	return stub_leave(CUDA_SUCCESS);
}

/* No page migration here: the device reports no managed memory. */
CUresult cuMemAllocManaged(CUdeviceptr *dptr, size_t bytesize,
			   unsigned int flags)
{
	CUresult ret = stub_enter();

	(void)dptr;
	(void)bytesize;
	(void)flags;
	if (ret)
		return stub_leave(ret);
	return stub_leave(CUDA_ERROR_NOT_SUPPORTED);
}

CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount)
{
	return do_copy(dst, src, ByteCount, COPY_ANY);
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost,
			 size_t ByteCount)
{
	return do_copy(dstDevice, (uintptr_t)srcHost, ByteCount, COPY_HTOD);
}

CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice,
			 size_t ByteCount)
{
	return do_copy((uintptr_t)dstHost, srcDevice, ByteCount, COPY_DTOH);
}

CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice,
			 size_t ByteCount)
{
	return do_copy(dstDevice, srcDevice, ByteCount, COPY_DTOD);
}

CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)
{
	CUresult ret = stub_enter();
	struct stub_alloc *a;
	uint8_t *d;
	bool dev;

	if (ret)
		return stub_leave(ret);
	if (!current_ctx())
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	if (!N)
		return stub_leave(CUDA_SUCCESS);
	/* Device memory, or host memory the driver allocated. */
	a = find_any(dstDevice);
	if (!a || resolve(dstDevice, N, &d, &dev))
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	memset(d, uc, N);
	return stub_leave(CUDA_SUCCESS);
}

static CUresult export_errno(int err)
{
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
	case ENOTTY:
	case EOPNOTSUPP:
		return CUDA_ERROR_NOT_SUPPORTED;
	case ENOMEM:
		return CUDA_ERROR_OUT_OF_MEMORY;
	case EPERM:
	case EACCES:
		return CUDA_ERROR_NOT_PERMITTED;
	default:
		return CUDA_ERROR_OPERATING_SYSTEM;
	}
}

/*
 * The dma-buf is p2pmr's export of the allocation's BAR range; the caller
 * owns the fd.  Arguments are checked before /dev/p2pmr is looked for, so
 * that a bad call is an invalid value on every machine.
 */
CUresult cuMemGetHandleForAddressRange(void *handle, CUdeviceptr dptr,
				       size_t size,
				       CUmemRangeHandleType handleType,
				       unsigned long long flags)
{
	struct p2pmr_export_fd exp = { .size = sizeof(exp) };
	size_t page = sysconf(_SC_PAGESIZE);
	CUresult ret = stub_enter();
	struct stub_alloc *a;
	uint64_t off, extent;
	int dev_fd;

	if (ret)
		return stub_leave(ret);
	if (!handle || handleType != CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD ||
	    (flags & ~(unsigned long long)
	     CU_MEM_RANGE_FLAG_DMA_BUF_MAPPING_TYPE_PCIE))
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (!size || dptr % page || size % page)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	a = find_alloc(stub.dev_allocs, dptr);
	if (!a)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	/* An allocation of any size can be exported in whole pages. */
	off = dptr - a->base;
	extent = round_up(a->size, page);
	if (size > extent - off)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);

	dev_fd = open("/dev/" P2PMR_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (dev_fd < 0) {
		stub_debug("/dev/" P2PMR_DEVICE_NAME ": %m");
		return stub_leave(export_errno(errno));
	}
	exp.resource_fd = stub.res_fd;
	exp.open_flags = O_RDWR | O_CLOEXEC;
	exp.offset = a->bar_off + off;
	exp.length = size;
	if (ioctl(dev_fd, P2PMR_IOCTL_EXPORT_FD, &exp) < 0) {
		ret = export_errno(errno);
		stub_debug("P2PMR_IOCTL_EXPORT_FD at %#llx+%#llx: %m",
			   (unsigned long long)exp.offset,
			   (unsigned long long)exp.length);
		close(dev_fd);
		return stub_leave(ret);
	}
	close(dev_fd);
	*(int *)handle = exp.out_dmabuf_fd;
	return stub_leave(CUDA_SUCCESS);
}

/* Size of each attribute's value, 0 for those the stand-in lacks. */
static size_t attr_size(CUpointer_attribute attr)
{
	switch (attr) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
		return sizeof(CUcontext);
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		return sizeof(CUdeviceptr);
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		return sizeof(void *);
	case CU_POINTER_ATTRIBUTE_BUFFER_ID:
		return sizeof(unsigned long long);
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		return sizeof(size_t);
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		return sizeof(int);
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
	case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS:
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
	case CU_POINTER_ATTRIBUTE_MAPPED:
		return sizeof(unsigned int);
	default:
		return 0;
	}
}

static bool attr_known(CUpointer_attribute attr)
{
	return attr >= CU_POINTER_ATTRIBUTE_CONTEXT &&
	       attr <= CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE;
}

/* One attribute of ptr, which lies in allocation a. */
static CUresult pointer_attribute(struct stub_alloc *a, CUdeviceptr ptr,
				  CUpointer_attribute attr, void *data)
{
	switch (attr) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
		*(CUcontext *)data = a->ctx;
		break;
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
		*(unsigned int *)data = a->host ? CU_MEMORYTYPE_HOST :
						  CU_MEMORYTYPE_DEVICE;
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
		*(CUdeviceptr *)data = ptr;
		break;
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		/* Device memory has no CPU address. */
		if (!a->host)
			return CUDA_ERROR_INVALID_VALUE;
		*(void **)data = (void *)(uintptr_t)ptr;
		break;
	case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS:
		/* Every copy here is synchronous. */
		*(unsigned int *)data = 1;
		break;
	case CU_POINTER_ATTRIBUTE_BUFFER_ID:
		*(unsigned long long *)data = a->buffer_id;
		break;
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
		*(unsigned int *)data = 0;
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		*(int *)data = 0;
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		*(CUdeviceptr *)data = a->base;
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		*(size_t *)data = a->size;
		break;
	case CU_POINTER_ATTRIBUTE_MAPPED:
		*(unsigned int *)data = 1;
		break;
	default:
		return attr_known(attr) ? CUDA_ERROR_NOT_SUPPORTED :
					  CUDA_ERROR_INVALID_VALUE;
	}
	return CUDA_SUCCESS;
}

/* No current context needed: the pointer names its own. */
CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attribute,
			       CUdeviceptr ptr)
{
	CUresult ret = stub_enter();
	struct stub_alloc *a;

	if (ret)
		return stub_leave(ret);
	if (!data)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	/* Memory the driver does not know, ordinary host memory included. */
	a = find_any(ptr);
	if (!a)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	return stub_leave(pointer_attribute(a, ptr, attribute, data));
}

/*
 * Unlike cuPointerGetAttribute(), a pointer the driver does not know is
 * no error: each value is zeroed (memory type 0, NULL context ...), and
 * so is a host pointer asked of device memory.
 */
CUresult cuPointerGetAttributes(unsigned int numAttributes,
				CUpointer_attribute *attributes, void **data,
				CUdeviceptr ptr)
{
	CUresult ret = stub_enter();
	struct stub_alloc *a;
	unsigned int i;
	size_t size;

	if (ret)
		return stub_leave(ret);
	if (numAttributes && (!attributes || !data))
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	for (i = 0; i < numAttributes; i++) {
		if (!data[i])
			return stub_leave(CUDA_ERROR_INVALID_VALUE);
		if (!attr_size(attributes[i]))
			return stub_leave(attr_known(attributes[i]) ?
					  CUDA_ERROR_NOT_SUPPORTED :
					  CUDA_ERROR_INVALID_VALUE);
	}
	a = find_any(ptr);
	for (i = 0; i < numAttributes; i++) {
		size = attr_size(attributes[i]);
		if (!a || pointer_attribute(a, ptr, attributes[i], data[i]))
			memset(data[i], 0, size);
	}
	return stub_leave(CUDA_SUCCESS);
}

/*
 * cuGetProcAddress(): base name -> the newest entry point whose ABI is
 * that of the requested CUDA version.  The stand-in has only the newest
 * ABI of each function, so older requests find none.  Sorted by name,
 * then version.
 */
static const struct {
	const char *name;
	int since;
	void *fn;
} stub_procs[] = {
	{ "cuCtxCreate", 3020, cuCtxCreate_v2 },
	{ "cuCtxDestroy", 4000, cuCtxDestroy_v2 },
	{ "cuCtxGetCurrent", 4000, cuCtxGetCurrent },
	{ "cuCtxGetDevice", 2000, cuCtxGetDevice },
	{ "cuCtxPopCurrent", 4000, cuCtxPopCurrent_v2 },
	{ "cuCtxPushCurrent", 4000, cuCtxPushCurrent_v2 },
	{ "cuCtxSetCurrent", 4000, cuCtxSetCurrent },
	{ "cuCtxSynchronize", 2000, cuCtxSynchronize },
	{ "cuDeviceGet", 2000, cuDeviceGet },
	{ "cuDeviceGetAttribute", 2000, cuDeviceGetAttribute },
	{ "cuDeviceGetByPCIBusId", 4010, cuDeviceGetByPCIBusId },
	{ "cuDeviceGetCount", 2000, cuDeviceGetCount },
	{ "cuDeviceGetName", 2000, cuDeviceGetName },
	{ "cuDeviceGetPCIBusId", 4010, cuDeviceGetPCIBusId },
	{ "cuDevicePrimaryCtxRelease", 11000, cuDevicePrimaryCtxRelease_v2 },
	{ "cuDevicePrimaryCtxRetain", 7000, cuDevicePrimaryCtxRetain },
	{ "cuDeviceTotalMem", 3020, cuDeviceTotalMem_v2 },
	{ "cuDriverGetVersion", 2020, cuDriverGetVersion },
	{ "cuGetErrorName", 6000, cuGetErrorName },
	{ "cuGetErrorString", 6000, cuGetErrorString },
	{ "cuGetProcAddress", 11030, cuGetProcAddress },
	{ "cuGetProcAddress", 12000, cuGetProcAddress_v2 },
	{ "cuInit", 2000, cuInit },
	{ "cuMemAlloc", 3020, cuMemAlloc_v2 },
	{ "cuMemAllocHost", 3020, cuMemAllocHost_v2 },
	{ "cuMemAllocManaged", 6000, cuMemAllocManaged },
	{ "cuMemFree", 3020, cuMemFree_v2 },
	{ "cuMemFreeHost", 2000, cuMemFreeHost },
	{ "cuMemGetAddressRange", 3020, cuMemGetAddressRange_v2 },
	{ "cuMemGetHandleForAddressRange", 11070,
	  cuMemGetHandleForAddressRange },
	{ "cuMemGetInfo", 3020, cuMemGetInfo_v2 },
	{ "cuMemcpy", 4000, cuMemcpy },
	{ "cuMemcpyDtoD", 3020, cuMemcpyDtoD_v2 },
	{ "cuMemcpyDtoH", 3020, cuMemcpyDtoH_v2 },
	{ "cuMemcpyHtoD", 3020, cuMemcpyHtoD_v2 },
	{ "cuMemsetD8", 3020, cuMemsetD8_v2 },
	{ "cuPointerGetAttribute", 4000, cuPointerGetAttribute },
	{ "cuPointerGetAttributes", 7000, cuPointerGetAttributes },
};

/*
 * Per-thread default stream variants (_ptds) are the same functions here:
 * there are no streams, every call is synchronous.
 */
CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion,
			     cuuint64_t flags,
			     CUdriverProcAddressQueryResult *symbolStatus)
{
	const cuuint64_t known = CU_GET_PROC_ADDRESS_LEGACY_STREAM |
				 CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
	bool named = false;
	size_t i;

	if (!symbol || !pfn)
		return CUDA_ERROR_INVALID_VALUE;
	*pfn = NULL;
	if ((flags & ~known) || cudaVersion > STUB_DRIVER_VERSION)
		return CUDA_ERROR_INVALID_VALUE;
	for (i = 0; i < ARRAY_SIZE(stub_procs); i++) {
		if (strcmp(stub_procs[i].name, symbol))
			continue;
		named = true;
		if (stub_procs[i].since <= cudaVersion)
			*pfn = stub_procs[i].fn;
	}
	if (!symbolStatus)
		return CUDA_SUCCESS;
	if (*pfn)
		*symbolStatus = CU_GET_PROC_ADDRESS_SUCCESS;
	else if (named)
		*symbolStatus = CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT;
	else
		*symbolStatus = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	return CUDA_SUCCESS;
}

/*
 * Without symbolStatus, a caller can only tell a missing entry point from
 * the return value.
 */
CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion,
			  cuuint64_t flags)
{
	CUresult ret;

	ret = cuGetProcAddress_v2(symbol, pfn, cudaVersion, flags, NULL);
	if (!ret && !*pfn)
		return CUDA_ERROR_NOT_FOUND;
	return ret;
}
