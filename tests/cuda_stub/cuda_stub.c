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
 * refuses it, so only the dma-buf path can register it.  The BAR, its heap
 * and the reservations are tests/common/bar_heap.c's, shared with the ROCm
 * stand-in; this file is the CUDA API on top.  README.md says what is
 * modelled and what is not.
 *
 * Every function here follows the documented semantics and return codes
 * of the real one; only symbols of the real API are exported.  One mutex
 * serialises everything, copies included: tests need determinism, not
 * speed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#include "bar_heap.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define STUB_DEVICE_NAME	"p2pmr CUDA stand-in"
#define STUB_DRIVER_VERSION	CUDA_VERSION
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
	/* Where it lies, in the BAR or in host memory. */
	struct bar_alloc mem;
	unsigned long long buffer_id;
	struct CUctx_st *ctx;
};

static struct {
	pthread_mutex_t lock;
	/* cuInit()'s outcome is final, as with the real driver. */
	bool init_done;
	CUresult init_status;
	/* The device memory, and the host memory the driver handed out. */
	struct bar_heap heap;
	struct CUctx_st *ctxs;
	struct CUctx_st primary;
	unsigned long long last_buffer_id;
} stub = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	/* P2PMR_CUDA_STUB_DEBUG makes it say why, on stderr. */
	.heap = BAR_HEAP_INIT("p2pmr-cuda-stub", "P2PMR_CUDA_STUB", "device"),
	.primary = { .primary = true },
};

static __thread struct CUctx_st *ctx_stack[STUB_CTX_STACK_MAX];
static __thread unsigned int ctx_depth;

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

static struct stub_alloc *to_stub_alloc(struct bar_alloc *mem)
{
	return (struct stub_alloc *)((char *)mem -
				     offsetof(struct stub_alloc, mem));
}

/* The allocation holding p, device or host memory. */
static struct stub_alloc *find_any(CUdeviceptr p)
{
	struct bar_alloc *mem = bar_heap_find(&stub.heap, p, 1);

	return mem ? to_stub_alloc(mem) : NULL;
}

/*
 * A new allocation of ctx, NULL when there is no room.  Device memory is
 * placed first fit, so the first one lands at the heap's start.
 */
static struct stub_alloc *new_alloc(struct CUctx_st *ctx, size_t size,
				    bool host)
{
	struct stub_alloc *a = calloc(1, sizeof(*a));
	bool ok;

	if (!a)
		return NULL;
	ok = host ? bar_heap_alloc_host(&stub.heap, &a->mem, size) :
		    bar_heap_alloc(&stub.heap, &a->mem, size);
	if (!ok) {
		free(a);
		return NULL;
	}
	a->buffer_id = ++stub.last_buffer_id;
	a->ctx = ctx;
	return a;
}

static void free_alloc(struct bar_alloc *mem)
{
	free(to_stub_alloc(mem));
}

static void release_alloc(struct stub_alloc *a)
{
	bar_heap_release(&stub.heap, &a->mem);
	free(a);
}

static bool alloc_of_ctx(struct bar_alloc *mem, void *ctx)
{
	return to_stub_alloc(mem)->ctx == ctx;
}

/* A destroyed or reset context takes its memory with it. */
static void release_ctx_allocs(struct CUctx_st *ctx)
{
	bar_heap_release_if(&stub.heap, alloc_of_ctx, ctx, free_alloc);
}

/*
 * Where the CPU reaches [p, p + n) under unified addressing: through the
 * BAR mapping for device memory, directly for host memory.  A range that
 * leaves its allocation, host memory from cuMemAllocHost() included, or
 * plain host memory that overlaps a device reservation (which would
 * fault), is an invalid value.
 */
static CUresult resolve(CUdeviceptr p, size_t n, uint8_t **cpu, bool *device)
{
	struct stub_alloc *a = find_any(p);

	if (a && a->mem.host && n > a->mem.size - (p - a->mem.base))
		return CUDA_ERROR_INVALID_VALUE;
	if (!bar_heap_resolve(&stub.heap, p, n, cpu, device))
		return CUDA_ERROR_INVALID_VALUE;
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
		stub.init_status = bar_heap_open(&stub.heap) ?
				   CUDA_SUCCESS : CUDA_ERROR_NO_DEVICE;
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
	*bytes = bar_heap_size(&stub.heap);
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
		*v = stub.heap.pci.bus;
		break;
	case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID:
		*v = stub.heap.pci.dev;
		break;
	case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID:
		*v = stub.heap.pci.domain;
		break;
	case CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED:
		*v = bar_heap_p2pmr_present();
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
	const struct bar_heap_pci_addr *pci = &stub.heap.pci;
	CUresult ret = stub_enter();
	struct bar_heap_pci_addr id;

	if (ret)
		return stub_leave(ret);
	if (!dev || !pciBusId || !bar_heap_parse_pci_addr(pciBusId, &id))
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (id.domain != pci->domain || id.bus != pci->bus ||
	    id.dev != pci->dev || (id.has_fn && id.fn != pci->fn))
		return stub_leave(CUDA_ERROR_INVALID_DEVICE);
	*dev = 0;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev)
{
	const struct bar_heap_pci_addr *pci = &stub.heap.pci;
	CUresult ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!pciBusId || len <= 0)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (dev != 0)
		return stub_leave(CUDA_ERROR_INVALID_DEVICE);
	snprintf(pciBusId, len, "%04x:%02x:%02x.%x", pci->domain, pci->bus,
		 pci->dev, pci->fn);
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

	if (ret)
		return stub_leave(ret);
	if (!current_ctx())
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	if (!freep || !totalp)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	*totalp = bar_heap_size(&stub.heap);
	*freep = *totalp - bar_heap_used(&stub.heap);
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
	CUresult ret = stub_enter();
	struct CUctx_st *ctx;
	struct stub_alloc *a;

	if (ret)
		return stub_leave(ret);
	ctx = current_ctx();
	if (!ctx)
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	if (!dptr || !bytesize)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	a = new_alloc(ctx, bytesize, false);
	if (!a)
		return stub_leave(CUDA_ERROR_OUT_OF_MEMORY);
	*dptr = a->mem.base;
	return stub_leave(CUDA_SUCCESS);
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
	a = find_any(dptr);
	if (!a || a->mem.host || a->mem.base != dptr)
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
		*pbase = a->mem.base;
	if (psize)
		*psize = a->mem.size;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
{
	CUresult ret = stub_enter();
	struct stub_alloc *a;
	struct CUctx_st *ctx;
	size_t page = sysconf(_SC_PAGESIZE);

	if (ret)
		return stub_leave(ret);
	ctx = current_ctx();
	if (!ctx)
		return stub_leave(CUDA_ERROR_INVALID_CONTEXT);
	if (!pp || !bytesize || bytesize > SIZE_MAX - page)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	a = new_alloc(ctx, bytesize, true);
	if (!a)
		return stub_leave(CUDA_ERROR_OUT_OF_MEMORY);
	*pp = (void *)a->mem.base;
	return stub_leave(CUDA_SUCCESS);
}

CUresult cuMemFreeHost(void *p)
{
	CUresult ret = stub_enter();
	struct stub_alloc *a;

	if (ret)
		return stub_leave(ret);
	a = find_any((uintptr_t)p);
	if (!a || !a->mem.host || a->mem.base != (uintptr_t)p)
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
	size_t page = sysconf(_SC_PAGESIZE);
	CUresult ret = stub_enter();
	struct stub_alloc *a;
	uint64_t off, extent;
	int fd;

	if (ret)
		return stub_leave(ret);
	if (!handle || handleType != CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD ||
	    (flags & ~(unsigned long long)
	     CU_MEM_RANGE_FLAG_DMA_BUF_MAPPING_TYPE_PCIE))
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	if (!size || dptr % page || size % page)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	a = find_any(dptr);
	if (!a || a->mem.host)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);
	/* An allocation of any size can be exported in whole pages. */
	off = dptr - a->mem.base;
	extent = round_up(a->mem.size, page);
	if (size > extent - off)
		return stub_leave(CUDA_ERROR_INVALID_VALUE);

	/* No /dev/p2pmr to open (ENOENT) is not supported either. */
	fd = bar_heap_export(&stub.heap, &a->mem, off, size, NULL);
	if (fd < 0)
		return stub_leave(export_errno(errno));
	*(int *)handle = fd;
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
		*(unsigned int *)data = a->mem.host ? CU_MEMORYTYPE_HOST :
						      CU_MEMORYTYPE_DEVICE;
		break;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
		*(CUdeviceptr *)data = ptr;
		break;
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		/* Device memory has no CPU address. */
		if (!a->mem.host)
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
		*(CUdeviceptr *)data = a->mem.base;
		break;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		*(size_t *)data = a->mem.size;
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
