// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of the CUDA driver API stand-in (libcuda.so.1, a test double):
 * a 64 MiB regular file named resource2 in a directory named like a PCI
 * device plays the BAR.  What the library writes is read back from the
 * file with pread(), never through the library, and what the tests of GPU
 * paths rely on is pinned down here: the first allocation at
 * P2PMR_CUDA_STUB_OFFSET, 2 MiB granules, inaccessible device pointers,
 * the real driver's return codes.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cuda.h"
#include "stub_fixture.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIB		(1UL << 20)
#define BAR_SIZE	(64 * MIB)
#define HEAP_OFF	(4 * MIB)
#define BDF		"0001:2b:03.0"

#define ENV		"P2PMR_CUDA_STUB"

static struct fixture_bar bar;
static size_t page;
static CUcontext ctx;

#define assert_cu(call, expect) assert_int_equal((call), (expect))

/* Write a pattern of len bytes at dptr and find it at BAR offset off. */
static void assert_lands_at(CUdeviceptr dptr, uint64_t off, size_t len,
			    unsigned int seed)
{
	uint8_t buf[4096];

	assert_true(len <= sizeof(buf));
	fixture_fill(buf, len, seed);
	assert_cu(cuMemcpyHtoD(dptr, buf, len), CUDA_SUCCESS);
	assert_bar_has(&bar, off, buf, len);
}

static int child_init(void)
{
	return cuInit(0);
}

/*
 * cuInit()'s outcome is final for a process, so each configuration is
 * tried in a child.  Returns cuInit()'s result; what it wrote on stderr
 * goes to err.
 */
static CUresult init_in_child(const char *res, const char *off, bool debug,
			      char *err, size_t errlen)
{
	return fixture_in_child(ENV, res, off, debug, child_init, err,
				errlen);
}

/* Before cuInit(): nothing but the version and error strings work. */
static void test_before_init(void **state)
{
	CUdeviceptr dptr;
	const char *s;
	CUcontext c;
	int v;

	(void)state;
	assert_cu(cuInit(1), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuDeviceGetCount(&v), CUDA_ERROR_NOT_INITIALIZED);
	assert_cu(cuCtxGetCurrent(&c), CUDA_ERROR_NOT_INITIALIZED);
	assert_cu(cuMemAlloc(&dptr, MIB), CUDA_ERROR_NOT_INITIALIZED);
	assert_cu(cuPointerGetAttribute(&v, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					(uintptr_t)&v),
		  CUDA_ERROR_NOT_INITIALIZED);
	assert_cu(cuMemGetHandleForAddressRange(&v, 0, page,
			CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0),
		  CUDA_ERROR_NOT_INITIALIZED);
	assert_cu(cuDriverGetVersion(&v), CUDA_SUCCESS);
	assert_int_equal(v, CUDA_VERSION);
	assert_cu(cuDriverGetVersion(NULL), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuGetErrorName(CUDA_ERROR_NO_DEVICE, &s), CUDA_SUCCESS);
	assert_string_equal(s, "CUDA_ERROR_NO_DEVICE");
}

static void test_no_device(void **state)
{
	char missing[PATH_MAX + 16];
	char err[4096];

	(void)state;
	/* Silent unless asked: the real driver prints nothing either. */
	assert_cu(init_in_child(NULL, NULL, false, err, sizeof(err)),
		  CUDA_ERROR_NO_DEVICE);
	assert_string_equal(err, "");
	assert_cu(init_in_child(NULL, NULL, true, err, sizeof(err)),
		  CUDA_ERROR_NO_DEVICE);
	assert_non_null(strstr(err, "P2PMR_CUDA_STUB_RESOURCE"));

	snprintf(missing, sizeof(missing), "%s/resource0", bar.devdir);
	assert_cu(init_in_child(missing, NULL, false, err, sizeof(err)),
		  CUDA_ERROR_NO_DEVICE);
	assert_string_equal(err, "");
	assert_cu(init_in_child(missing, NULL, true, err, sizeof(err)),
		  CUDA_ERROR_NO_DEVICE);
	assert_non_null(strstr(err, "resource0"));
	assert_cu(init_in_child(bar.not_bdf, NULL, false, err, sizeof(err)),
		  CUDA_ERROR_NO_DEVICE);
	/* The heap starts on a granule, inside the BAR. */
	assert_cu(init_in_child(bar.path, "4096", false, err, sizeof(err)),
		  CUDA_ERROR_NO_DEVICE);
	assert_cu(init_in_child(bar.path, "0x4000000", false, err,
				sizeof(err)),
		  CUDA_ERROR_NO_DEVICE);
	assert_cu(init_in_child(bar.path, "2M", false, err, sizeof(err)),
		  CUDA_ERROR_NO_DEVICE);

	assert_cu(init_in_child(bar.path, "0x200000", false, err, sizeof(err)),
		  CUDA_SUCCESS);
	assert_cu(init_in_child(bar.path, NULL, false, err, sizeof(err)),
		  CUDA_SUCCESS);
	assert_string_equal(err, "");
}

static int group_init(void **state)
{
	char off[32];

	(void)state;
	snprintf(off, sizeof(off), "%lu", HEAP_OFF);
	fixture_setenv(ENV, bar.path, off, false);
	return cuInit(0) == CUDA_SUCCESS && cuInit(0) == CUDA_SUCCESS ? 0 : -1;
}

static void test_device(void **state)
{
	char name[64], busid[32];
	size_t total;
	CUdevice dev;
	int v;

	(void)state;
	assert_cu(cuDeviceGetCount(&v), CUDA_SUCCESS);
	assert_int_equal(v, 1);
	assert_cu(cuDeviceGet(&dev, 0), CUDA_SUCCESS);
	assert_int_equal(dev, 0);
	assert_cu(cuDeviceGet(&dev, 1), CUDA_ERROR_INVALID_DEVICE);
	assert_cu(cuDeviceGetName(name, sizeof(name), 0), CUDA_SUCCESS);
	assert_string_equal(name, "p2pmr CUDA stand-in");
	assert_cu(cuDeviceGetName(name, sizeof(name), 1),
		  CUDA_ERROR_INVALID_DEVICE);
	assert_cu(cuDeviceTotalMem(&total, 0), CUDA_SUCCESS);
	assert_int_equal(total, BAR_SIZE - HEAP_OFF);

	/* The PCI address is the resource file's directory. */
	assert_cu(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID,
				       0), CUDA_SUCCESS);
	assert_int_equal(v, 1);
	assert_cu(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, 0),
		  CUDA_SUCCESS);
	assert_int_equal(v, 0x2b);
	assert_cu(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID,
				       0), CUDA_SUCCESS);
	assert_int_equal(v, 3);
	assert_cu(cuDeviceGetAttribute(&v,
				       CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED,
				       0), CUDA_SUCCESS);
	assert_int_equal(v, fixture_p2pmr_present());
	assert_cu(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_INTEGRATED, 0),
		  CUDA_SUCCESS);
	assert_int_equal(v, 0);
	assert_cu(cuDeviceGetAttribute(&v,
				       CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING,
				       0), CUDA_SUCCESS);
	assert_int_equal(v, 1);
	assert_cu(cuDeviceGetAttribute(&v, (CUdevice_attribute)9999, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, 1),
		  CUDA_ERROR_INVALID_DEVICE);

	assert_cu(cuDeviceGetByPCIBusId(&dev, BDF), CUDA_SUCCESS);
	assert_int_equal(dev, 0);
	assert_cu(cuDeviceGetByPCIBusId(&dev, "0001:2B:03.0"), CUDA_SUCCESS);
	assert_cu(cuDeviceGetByPCIBusId(&dev, "0001:2b:03"), CUDA_SUCCESS);
	/* bus:device.function means domain 0. */
	assert_cu(cuDeviceGetByPCIBusId(&dev, "2b:03.0"),
		  CUDA_ERROR_INVALID_DEVICE);
	assert_cu(cuDeviceGetByPCIBusId(&dev, "0001:2b:04.0"),
		  CUDA_ERROR_INVALID_DEVICE);
	assert_cu(cuDeviceGetByPCIBusId(&dev, "0001:2b:03.1"),
		  CUDA_ERROR_INVALID_DEVICE);
	assert_cu(cuDeviceGetByPCIBusId(&dev, "gpu0"),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuDeviceGetByPCIBusId(&dev, "0001:2b:03.0x"),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuDeviceGetPCIBusId(busid, sizeof(busid), 0), CUDA_SUCCESS);
	assert_string_equal(busid, BDF);
}

static void *thread_without_context(void *arg)
{
	CUdeviceptr dptr, *dev_ptr = arg;
	unsigned int type = 0;
	CUcontext c = (CUcontext)1;

	/* The current context belongs to a thread. */
	if (cuCtxGetCurrent(&c) || c)
		return "another thread's context is current here";
	if (cuMemAlloc(&dptr, MIB) != CUDA_ERROR_INVALID_CONTEXT)
		return "cuMemAlloc without a context";
	/* Pointer attributes need none. */
	if (dev_ptr && (cuPointerGetAttribute(&type,
					      CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					      *dev_ptr) ||
			type != CU_MEMORYTYPE_DEVICE))
		return "cuPointerGetAttribute without a context";
	return NULL;
}

static void assert_other_thread(CUdeviceptr *dptr)
{
	pthread_t t;
	void *err;

	assert_int_equal(pthread_create(&t, NULL, thread_without_context,
					dptr), 0);
	assert_int_equal(pthread_join(t, &err), 0);
	if (err)
		fail_msg("%s", (char *)err);
}

static void test_context_rules(void **state)
{
	CUcontext c, prim, cur;
	CUdeviceptr dptr;
	unsigned int type;
	CUdevice dev;

	(void)state;
	assert_cu(cuCtxGetCurrent(&cur), CUDA_SUCCESS);
	assert_null(cur);
	assert_cu(cuMemAlloc(&dptr, MIB), CUDA_ERROR_INVALID_CONTEXT);
	assert_cu(cuCtxPopCurrent(&cur), CUDA_ERROR_INVALID_CONTEXT);
	assert_cu(cuCtxGetDevice(&dev), CUDA_ERROR_INVALID_CONTEXT);
	assert_cu(cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);
	assert_cu(cuCtxCreate(&c, 0x100, 0), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuCtxCreate(&c, 0, 1), CUDA_ERROR_INVALID_DEVICE);

	/* A new context is current to its creator. */
	assert_cu(cuCtxCreate(&c, CU_CTX_MAP_HOST, 0), CUDA_SUCCESS);
	assert_cu(cuCtxGetCurrent(&cur), CUDA_SUCCESS);
	assert_ptr_equal(cur, c);
	assert_cu(cuCtxGetDevice(&dev), CUDA_SUCCESS);
	assert_cu(cuCtxSynchronize(), CUDA_SUCCESS);
	assert_other_thread(NULL);

	/* The primary context is retained, not made current. */
	assert_cu(cuDevicePrimaryCtxRetain(&prim, 0), CUDA_SUCCESS);
	assert_ptr_not_equal(prim, c);
	assert_cu(cuCtxGetCurrent(&cur), CUDA_SUCCESS);
	assert_ptr_equal(cur, c);
	assert_cu(cuCtxPushCurrent(prim), CUDA_SUCCESS);
	assert_cu(cuCtxGetCurrent(&cur), CUDA_SUCCESS);
	assert_ptr_equal(cur, prim);
	assert_cu(cuMemAlloc(&dptr, MIB), CUDA_SUCCESS);
	assert_cu(cuCtxPopCurrent(&cur), CUDA_SUCCESS);
	assert_ptr_equal(cur, prim);
	assert_cu(cuCtxGetCurrent(&cur), CUDA_SUCCESS);
	assert_ptr_equal(cur, c);
	assert_cu(cuCtxDestroy(prim), CUDA_ERROR_INVALID_CONTEXT);
	/* Its last release resets it, and its memory goes with it. */
	assert_cu(cuDevicePrimaryCtxRelease(0), CUDA_SUCCESS);
	assert_cu(cuDevicePrimaryCtxRelease(0), CUDA_ERROR_INVALID_CONTEXT);
	assert_cu(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					dptr), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuCtxPushCurrent(prim), CUDA_ERROR_INVALID_CONTEXT);

	/* NULL unbinds the top of the stack. */
	assert_cu(cuCtxSetCurrent(NULL), CUDA_SUCCESS);
	assert_cu(cuCtxGetCurrent(&cur), CUDA_SUCCESS);
	assert_null(cur);
	assert_cu(cuCtxSetCurrent(c), CUDA_SUCCESS);
	assert_cu(cuCtxGetCurrent(&cur), CUDA_SUCCESS);
	assert_ptr_equal(cur, c);

	/* Destroying a context frees its memory and pops it. */
	assert_cu(cuMemAlloc(&dptr, MIB), CUDA_SUCCESS);
	assert_cu(cuCtxDestroy(c), CUDA_SUCCESS);
	assert_cu(cuCtxGetCurrent(&cur), CUDA_SUCCESS);
	assert_null(cur);
	assert_cu(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					dptr), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuCtxDestroy(c), CUDA_ERROR_INVALID_CONTEXT);
	assert_cu(cuCtxPushCurrent(c), CUDA_ERROR_INVALID_CONTEXT);
	assert_cu(cuCtxSetCurrent(c), CUDA_ERROR_INVALID_CONTEXT);
	assert_cu(cuCtxPushCurrent(NULL), CUDA_ERROR_INVALID_CONTEXT);
}

/* Each test below starts with a fresh context and an empty heap. */
static int ctx_setup(void **state)
{
	(void)state;
	return cuCtxCreate(&ctx, 0, 0) == CUDA_SUCCESS ? 0 : -1;
}

static int ctx_teardown(void **state)
{
	(void)state;
	return cuCtxDestroy(ctx) == CUDA_SUCCESS ? 0 : -1;
}

static void test_placement(void **state)
{
	CUdeviceptr a, b, c, d, big;
	size_t free_b, total_b;

	(void)state;
	/* The first allocation of the process lands at the offset. */
	assert_cu(cuMemAlloc(&a, MIB), CUDA_SUCCESS);
	assert_lands_at(a, HEAP_OFF, 4096, 1);
	/* First fit, in 2 MiB granules. */
	assert_cu(cuMemAlloc(&b, 3 * MIB), CUDA_SUCCESS);
	assert_lands_at(b, HEAP_OFF + 2 * MIB, 4096, 2);
	assert_cu(cuMemAlloc(&c, 2 * MIB), CUDA_SUCCESS);
	assert_lands_at(c, HEAP_OFF + 6 * MIB, 4096, 3);
	assert_cu(cuMemGetInfo(&free_b, &total_b), CUDA_SUCCESS);
	assert_int_equal(total_b, BAR_SIZE - HEAP_OFF);
	assert_int_equal(free_b, total_b - 8 * MIB);
	assert_cu(cuMemFree(b), CUDA_SUCCESS);
	assert_cu(cuMemAlloc(&d, 4 * MIB), CUDA_SUCCESS);
	assert_lands_at(d, HEAP_OFF + 2 * MIB, 4096, 4);
	assert_cu(cuMemFree(d), CUDA_SUCCESS);
	assert_cu(cuMemAlloc(&d, 4 * MIB + 1), CUDA_SUCCESS);
	assert_lands_at(d, HEAP_OFF + 8 * MIB, 4096, 5);

	/* Device addresses are 2 MiB aligned too. */
	assert_int_equal(a % (2 * MIB), 0);
	assert_int_equal(c % (2 * MIB), 0);
	assert_int_equal(d % (2 * MIB), 0);

	assert_cu(cuMemAlloc(&big, BAR_SIZE), CUDA_ERROR_OUT_OF_MEMORY);
	assert_cu(cuMemAlloc(&big, 0), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemAlloc(NULL, MIB), CUDA_ERROR_INVALID_VALUE);
	/* The rest of the heap, to the last byte. */
	assert_cu(cuMemAlloc(&big, BAR_SIZE - HEAP_OFF - 14 * MIB),
		  CUDA_SUCCESS);
	assert_lands_at(big, HEAP_OFF + 14 * MIB, 4096, 6);
	assert_cu(cuMemAlloc(&b, 1), CUDA_SUCCESS);
	assert_lands_at(b, HEAP_OFF + 2 * MIB, 1, 7);
	assert_cu(cuMemAlloc(&b, 1), CUDA_SUCCESS);
	assert_lands_at(b, HEAP_OFF + 4 * MIB, 1, 8);
	assert_cu(cuMemAlloc(&b, 1), CUDA_ERROR_OUT_OF_MEMORY);
}

static void test_copies(void **state)
{
	uint8_t src[8192], dst[8192], expect[8192];
	CUdeviceptr a, c;
	uint8_t *host;

	(void)state;
	assert_cu(cuMemAlloc(&a, 1 * MIB), CUDA_SUCCESS);
	assert_cu(cuMemAlloc(&c, 1 * MIB), CUDA_SUCCESS);

	/* Round trip, read back from the file too. */
	fixture_fill(src, sizeof(src), 9);
	assert_cu(cuMemcpyHtoD(a + 100, src, sizeof(src)), CUDA_SUCCESS);
	assert_bar_has(&bar, HEAP_OFF + 100, src, sizeof(src));
	assert_cu(cuMemcpyDtoH(dst, a + 100, sizeof(dst)), CUDA_SUCCESS);
	assert_memory_equal(dst, src, sizeof(src));

	/* The mapping is shared: the file's bytes are the device's. */
	fixture_fill(expect, sizeof(expect), 10);
	assert_int_equal(pwrite(bar.fd, expect, sizeof(expect),
				HEAP_OFF + 2 * MIB), sizeof(expect));
	assert_cu(cuMemcpyDtoH(dst, c, sizeof(dst)), CUDA_SUCCESS);
	assert_memory_equal(dst, expect, sizeof(expect));

	assert_cu(cuMemcpyDtoD(c + 4096, a + 100, sizeof(src)), CUDA_SUCCESS);
	assert_bar_has(&bar, HEAP_OFF + 2 * MIB + 4096, src, sizeof(src));

	/* Unified addressing: cuMemcpy() tells the sides apart. */
	fixture_fill(src, sizeof(src), 11);
	assert_cu(cuMemcpy(a, (uintptr_t)src, sizeof(src)), CUDA_SUCCESS);
	assert_bar_has(&bar, HEAP_OFF, src, sizeof(src));
	assert_cu(cuMemcpy((uintptr_t)dst, a, sizeof(dst)), CUDA_SUCCESS);
	assert_memory_equal(dst, src, sizeof(src));
	assert_cu(cuMemcpy(c, a, sizeof(src)), CUDA_SUCCESS);
	assert_bar_has(&bar, HEAP_OFF + 2 * MIB, src, sizeof(src));

	assert_cu(cuMemsetD8(a + 1, 0x5a, 4000), CUDA_SUCCESS);
	memset(expect, 0x5a, 4000);
	assert_bar_has(&bar, HEAP_OFF + 1, expect, 4000);
	assert_cu(cuMemAllocHost((void **)&host, 100), CUDA_SUCCESS);
	assert_cu(cuMemsetD8((uintptr_t)host, 0xa5, 100), CUDA_SUCCESS);
	assert_int_equal(host[99], 0xa5);
	assert_cu(cuMemcpyDtoH(host, a + 1, 100), CUDA_SUCCESS);
	assert_memory_equal(host, expect, 100);
	assert_cu(cuMemFreeHost(host), CUDA_SUCCESS);

	/* Refused: out of the allocation, wrong direction, bad host side. */
	assert_cu(cuMemcpyHtoD(a + MIB - 10, src, 11),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemcpyDtoH(dst, a + MIB, 1), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemcpyHtoD((uintptr_t)dst, src, 1),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemcpyDtoH(dst, (uintptr_t)src, 1),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemcpyDtoD(a, (uintptr_t)src, 1),
		  CUDA_ERROR_INVALID_VALUE);
	/* Host memory that overlaps a device reservation would fault. */
	assert_cu(cuMemcpyDtoH((void *)(uintptr_t)(a + MIB), c, 1),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemsetD8((uintptr_t)dst, 0, 1), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemsetD8(a, 0, MIB + 1), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemcpyHtoD(a, src, 0), CUDA_SUCCESS);

	/* Copies need a current context. */
	assert_cu(cuCtxPopCurrent(NULL), CUDA_SUCCESS);
	assert_cu(cuMemcpyHtoD(a, src, 1), CUDA_ERROR_INVALID_CONTEXT);
	assert_cu(cuCtxPushCurrent(ctx), CUDA_SUCCESS);
}

static void test_device_pointer_faults(void **state)
{
	CUdeviceptr a;

	(void)state;
	assert_cu(cuMemAlloc(&a, 3 * MIB), CUDA_SUCCESS);
	/* The whole reservation, granule-rounded. */
	assert_true(fixture_prot_none(a, 4 * MIB));
	assert_store_faults((void *)(uintptr_t)(a + 4096));

	/* Freed: the address space goes too. */
	assert_cu(cuMemFree(a), CUDA_SUCCESS);
	assert_false(fixture_prot_none(a, 4 * MIB));
}

static void test_pointer_attributes(void **state)
{
	unsigned long long id_a, id_b, id_c;
	CUdeviceptr a, b, c, dp, base;
	unsigned int type, flag;
	void *hp, *host;
	CUcontext owner;
	size_t size;
	int ordinal;
	int *heap;

	(void)state;
	assert_cu(cuMemAlloc(&a, 3 * MIB), CUDA_SUCCESS);
	assert_cu(cuMemAlloc(&b, MIB), CUDA_SUCCESS);

	assert_cu(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					a + 12345), CUDA_SUCCESS);
	assert_int_equal(type, CU_MEMORYTYPE_DEVICE);
	assert_cu(cuPointerGetAttribute(&owner, CU_POINTER_ATTRIBUTE_CONTEXT,
					a), CUDA_SUCCESS);
	assert_ptr_equal(owner, ctx);
	assert_cu(cuPointerGetAttribute(&dp,
					CU_POINTER_ATTRIBUTE_DEVICE_POINTER,
					a + 8), CUDA_SUCCESS);
	assert_int_equal(dp, a + 8);
	assert_cu(cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER,
					a), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuPointerGetAttribute(&base,
					CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
					a + 3 * MIB - 1), CUDA_SUCCESS);
	assert_int_equal(base, a);
	assert_cu(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE,
					a + 1), CUDA_SUCCESS);
	assert_int_equal(size, 3 * MIB);
	assert_cu(cuPointerGetAttribute(&ordinal,
					CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
					a), CUDA_SUCCESS);
	assert_int_equal(ordinal, 0);
	assert_cu(cuPointerGetAttribute(&flag, CU_POINTER_ATTRIBUTE_IS_MANAGED,
					a), CUDA_SUCCESS);
	assert_int_equal(flag, 0);
	assert_cu(cuPointerGetAttribute(&flag, CU_POINTER_ATTRIBUTE_MAPPED, a),
		  CUDA_SUCCESS);
	assert_int_equal(flag, 1);
	assert_cu(cuPointerGetAttribute(&flag, CU_POINTER_ATTRIBUTE_P2P_TOKENS,
					a), CUDA_ERROR_NOT_SUPPORTED);
	assert_cu(cuPointerGetAttribute(&flag, (CUpointer_attribute)999, a),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuPointerGetAttribute(NULL, CU_POINTER_ATTRIBUTE_MAPPED, a),
		  CUDA_ERROR_INVALID_VALUE);

	/* Buffer ids: one per allocation, never reused. */
	assert_cu(cuPointerGetAttribute(&id_a, CU_POINTER_ATTRIBUTE_BUFFER_ID,
					a), CUDA_SUCCESS);
	assert_cu(cuPointerGetAttribute(&id_b, CU_POINTER_ATTRIBUTE_BUFFER_ID,
					b + 5), CUDA_SUCCESS);
	assert_int_not_equal(id_a, id_b);
	assert_cu(cuMemFree(b), CUDA_SUCCESS);
	assert_cu(cuMemAlloc(&c, MIB), CUDA_SUCCESS);
	assert_cu(cuPointerGetAttribute(&id_c, CU_POINTER_ATTRIBUTE_BUFFER_ID,
					c), CUDA_SUCCESS);
	assert_int_not_equal(id_c, id_a);
	assert_int_not_equal(id_c, id_b);

	/* Memory the driver does not know: ordinary host memory. */
	heap = malloc(64);
	assert_non_null(heap);
	assert_cu(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					(uintptr_t)heap),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					(uintptr_t)&type),
		  CUDA_ERROR_INVALID_VALUE);
	/* Past the size asked for, inside the granule: no allocation. */
	assert_cu(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					a + 3 * MIB),
		  CUDA_ERROR_INVALID_VALUE);

	/* Host memory from the driver. */
	assert_cu(cuMemAllocHost(&host, 5000), CUDA_SUCCESS);
	assert_int_equal((uintptr_t)host % page, 0);
	assert_cu(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					(uintptr_t)host + 4999),
		  CUDA_SUCCESS);
	assert_int_equal(type, CU_MEMORYTYPE_HOST);
	assert_cu(cuPointerGetAttribute(&hp, CU_POINTER_ATTRIBUTE_HOST_POINTER,
					(uintptr_t)host + 1), CUDA_SUCCESS);
	assert_ptr_equal(hp, (char *)host + 1);
	assert_cu(cuPointerGetAttribute(&dp,
					CU_POINTER_ATTRIBUTE_DEVICE_POINTER,
					(uintptr_t)host), CUDA_SUCCESS);
	assert_int_equal(dp, (uintptr_t)host);
	assert_cu(cuMemFreeHost(host), CUDA_SUCCESS);
	assert_cu(cuMemFreeHost(host), CUDA_ERROR_INVALID_VALUE);

	assert_other_thread(&a);

	/* Address ranges (a current context is needed). */
	base = 0;
	size = 0;
	assert_cu(cuMemGetAddressRange(&base, &size, a + MIB), CUDA_SUCCESS);
	assert_int_equal(base, a);
	assert_int_equal(size, 3 * MIB);
	assert_cu(cuMemGetAddressRange(NULL, &size, c), CUDA_SUCCESS);
	assert_int_equal(size, MIB);
	assert_cu(cuMemGetAddressRange(&base, NULL, c + 1), CUDA_SUCCESS);
	assert_int_equal(base, c);
	assert_cu(cuMemGetAddressRange(&base, &size, (uintptr_t)heap),
		  CUDA_ERROR_NOT_FOUND);
	assert_cu(cuCtxPopCurrent(NULL), CUDA_SUCCESS);
	assert_cu(cuMemGetAddressRange(&base, &size, a),
		  CUDA_ERROR_INVALID_CONTEXT);
	assert_cu(cuCtxPushCurrent(ctx), CUDA_SUCCESS);
	free(heap);
}

static void test_pointer_attributes_batch(void **state)
{
	CUpointer_attribute attrs[] = {
		CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
		CU_POINTER_ATTRIBUTE_CONTEXT,
		CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
		CU_POINTER_ATTRIBUTE_BUFFER_ID,
		CU_POINTER_ATTRIBUTE_IS_MANAGED,
		CU_POINTER_ATTRIBUTE_HOST_POINTER,
		CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
		CU_POINTER_ATTRIBUTE_RANGE_SIZE,
		CU_POINTER_ATTRIBUTE_MAPPED,
	};
	unsigned int type, managed, mapped;
	unsigned long long id;
	CUdeviceptr a, start;
	CUcontext owner;
	int ordinal;
	size_t size;
	void *hp;
	void *data[] = { &type, &owner, &ordinal, &id, &managed, &hp, &start,
			 &size, &mapped };
	CUpointer_attribute bad[] = { CU_POINTER_ATTRIBUTE_P2P_TOKENS };
	void *bad_data[] = { &id };
	char host[64];

	(void)state;
	assert_cu(cuMemAlloc(&a, MIB), CUDA_SUCCESS);
	assert_cu(cuPointerGetAttributes(9, attrs, data, a + 7),
		  CUDA_SUCCESS);
	assert_int_equal(type, CU_MEMORYTYPE_DEVICE);
	assert_ptr_equal(owner, ctx);
	assert_int_equal(ordinal, 0);
	assert_int_not_equal(id, 0);
	assert_int_equal(managed, 0);
	/* No host pointer: NULL, not an error. */
	assert_null(hp);
	assert_int_equal(start, a);
	assert_int_equal(size, MIB);
	assert_int_equal(mapped, 1);

	/* An unknown pointer is no error: every value is zeroed. */
	memset(&type, 0xff, sizeof(type));
	memset(&owner, 0xff, sizeof(owner));
	memset(&ordinal, 0xff, sizeof(ordinal));
	memset(&id, 0xff, sizeof(id));
	memset(&managed, 0xff, sizeof(managed));
	memset(&start, 0xff, sizeof(start));
	memset(&size, 0xff, sizeof(size));
	memset(&mapped, 0xff, sizeof(mapped));
	assert_cu(cuPointerGetAttributes(9, attrs, data, (uintptr_t)host),
		  CUDA_SUCCESS);
	assert_int_equal(type, 0);
	assert_null(owner);
	assert_int_equal(ordinal, 0);
	assert_int_equal(id, 0);
	assert_int_equal(managed, 0);
	assert_null(hp);
	assert_int_equal(start, 0);
	assert_int_equal(size, 0);
	assert_int_equal(mapped, 0);

	assert_cu(cuPointerGetAttributes(1, bad, bad_data, a),
		  CUDA_ERROR_NOT_SUPPORTED);
	assert_cu(cuPointerGetAttributes(1, attrs, NULL, a),
		  CUDA_ERROR_INVALID_VALUE);
}

static void test_handle_arguments(void **state)
{
	CUmemRangeHandleType dmabuf = CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD;
	const unsigned long long pcie =
		CU_MEM_RANGE_FLAG_DMA_BUF_MAPPING_TYPE_PCIE;
	CUdeviceptr a, b, small;
	void *host;
	int fd = -1;

	(void)state;
	/* 3 MiB: the reservation's last MiB belongs to no allocation. */
	assert_cu(cuMemAlloc(&a, 3 * MIB), CUDA_SUCCESS);
	assert_cu(cuMemAlloc(&b, 2 * MIB), CUDA_SUCCESS);
	assert_cu(cuMemAlloc(&small, 1000), CUDA_SUCCESS);
	host = aligned_alloc(page, page);
	assert_non_null(host);

	/* Refused inputs, each an invalid value whatever the machine. */
	assert_cu(cuMemGetHandleForAddressRange(NULL, a, page, dmabuf, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a, page,
						(CUmemRangeHandleType)0, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a, page,
						(CUmemRangeHandleType)2, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a, page, dmabuf, 2),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a, page, dmabuf,
						pcie | 0x100),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a + 1, page, dmabuf, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a + page / 2, page,
						dmabuf, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a, 100, dmabuf, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a, 0, dmabuf, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, (uintptr_t)host, page,
						dmabuf, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a + 3 * MIB, page,
						dmabuf, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a, 3 * MIB + page,
						dmabuf, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a + 3 * MIB - page,
						2 * page, dmabuf, 0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a, SIZE_MAX & ~(page - 1),
						dmabuf, 0),
		  CUDA_ERROR_INVALID_VALUE);
	/* 1000 bytes export as one page, no more. */
	assert_cu(cuMemGetHandleForAddressRange(&fd, small, 2 * page, dmabuf,
						0),
		  CUDA_ERROR_INVALID_VALUE);
	assert_int_equal(fd, -1);
	free(host);

	if (fixture_p2pmr_present()) {
		print_message("skip: /dev/p2pmr exists on this host\n");
		skip();
	}
	/* Good arguments, but no p2pmr to export with. */
	assert_cu(cuMemGetHandleForAddressRange(&fd, a, 3 * MIB, dmabuf, 0),
		  CUDA_ERROR_NOT_SUPPORTED);
	assert_cu(cuMemGetHandleForAddressRange(&fd, a + page, page, dmabuf,
						pcie),
		  CUDA_ERROR_NOT_SUPPORTED);
	assert_cu(cuMemGetHandleForAddressRange(&fd, small, page, dmabuf, 0),
		  CUDA_ERROR_NOT_SUPPORTED);
	assert_cu(cuMemGetHandleForAddressRange(&fd, b, 2 * MIB, dmabuf, 0),
		  CUDA_ERROR_NOT_SUPPORTED);
	assert_int_equal(fd, -1);
}

static void test_memory_kinds(void **state)
{
	CUdeviceptr a, m;
	void *host;

	(void)state;
	assert_cu(cuMemAllocManaged(&m, MIB, CU_MEM_ATTACH_GLOBAL),
		  CUDA_ERROR_NOT_SUPPORTED);
	assert_cu(cuMemAlloc(&a, MIB), CUDA_SUCCESS);
	assert_cu(cuMemAllocHost(&host, 10), CUDA_SUCCESS);
	assert_cu(cuMemAllocHost(&host, 0), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemFree(a + 1), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemFree((uintptr_t)host), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemFreeHost((void *)(uintptr_t)a),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuMemFree(a), CUDA_SUCCESS);
	assert_cu(cuMemFree(a), CUDA_ERROR_INVALID_VALUE);
	/* Left for cuCtxDestroy() to free. */
	assert_cu(cuMemAlloc(&a, MIB), CUDA_SUCCESS);
}

static void test_errors(void **state)
{
	static const struct {
		CUresult code;
		const char *name;
	} codes[] = {
		{ CUDA_SUCCESS, "CUDA_SUCCESS" },
		{ CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE" },
		{ CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY" },
		{ CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED" },
		{ CUDA_ERROR_DEINITIALIZED, "CUDA_ERROR_DEINITIALIZED" },
		{ CUDA_ERROR_STUB_LIBRARY, "CUDA_ERROR_STUB_LIBRARY" },
		{ CUDA_ERROR_DEVICE_UNAVAILABLE,
		  "CUDA_ERROR_DEVICE_UNAVAILABLE" },
		{ CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE" },
		{ CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE" },
		{ CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT" },
		{ CUDA_ERROR_MAP_FAILED, "CUDA_ERROR_MAP_FAILED" },
		{ CUDA_ERROR_OPERATING_SYSTEM, "CUDA_ERROR_OPERATING_SYSTEM" },
		{ CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE" },
		{ CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND" },
		{ CUDA_ERROR_NOT_READY, "CUDA_ERROR_NOT_READY" },
		{ CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS" },
		{ CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE,
		  "CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE" },
		{ CUDA_ERROR_CONTEXT_IS_DESTROYED,
		  "CUDA_ERROR_CONTEXT_IS_DESTROYED" },
		{ CUDA_ERROR_NOT_PERMITTED, "CUDA_ERROR_NOT_PERMITTED" },
		{ CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED" },
		{ CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN" },
	};
	const char *s;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		assert_cu(cuGetErrorName(codes[i].code, &s), CUDA_SUCCESS);
		assert_string_equal(s, codes[i].name);
		s = NULL;
		assert_cu(cuGetErrorString(codes[i].code, &s), CUDA_SUCCESS);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
	}
	s = "x";
	assert_cu(cuGetErrorName((CUresult)12345, &s),
		  CUDA_ERROR_INVALID_VALUE);
	assert_null(s);
	s = "x";
	assert_cu(cuGetErrorString((CUresult)12345, &s),
		  CUDA_ERROR_INVALID_VALUE);
	assert_null(s);
	assert_cu(cuGetErrorString(CUDA_SUCCESS, NULL),
		  CUDA_ERROR_INVALID_VALUE);
}

typedef CUresult (*legacy_get_proc_fn)(const char *, void **, int,
				       cuuint64_t);

static void test_proc_address_and_symbols(void **state)
{
	/* What perftest 26.04.17 asks for, at the versions it asks. */
	static const struct {
		const char *name;
		int version;
	} perftest[] = {
		{ "cuInit", 2000 }, { "cuDeviceGetCount", 2000 },
		{ "cuDeviceGet", 2000 }, { "cuDeviceGetAttribute", 2000 },
		{ "cuDeviceGetName", 2000 }, { "cuCtxCreate", 3020 },
		{ "cuDevicePrimaryCtxRetain", 7000 },
		{ "cuCtxSetCurrent", 4000 }, { "cuCtxDestroy", 4000 },
		{ "cuDeviceGetByPCIBusId", 11030 },
		{ "cuMemAllocHost", 3020 }, { "cuMemAlloc", 3020 },
		{ "cuMemFreeHost", 3020 }, { "cuMemFree", 3020 },
		{ "cuMemcpy", 11030 }, { "cuMemcpyDtoD", 3020 },
		{ "cuMemGetHandleForAddressRange", 11070 },
		{ "cuDriverGetVersion", 2020 },
		{ "cuCtxSynchronize", 11030 },
		{ "cuMemAllocManaged", 11030 },
	};
	const cuuint64_t ptds = CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
	CUdriverProcAddressQueryResult status;
	legacy_get_proc_fn legacy;
	void *fn;
	size_t i;

	(void)state;
	assert_cu(cuGetProcAddress("cuMemAlloc", &fn, 3020, 0, &status),
		  CUDA_SUCCESS);
	assert_ptr_equal(fn, (void *)cuMemAlloc);
	assert_int_equal(status, CU_GET_PROC_ADDRESS_SUCCESS);
	assert_cu(cuGetProcAddress("cuMemAlloc", &fn, CUDA_VERSION, ptds,
				   &status), CUDA_SUCCESS);
	assert_ptr_equal(fn, (void *)cuMemAlloc);
	/* No entry point of the old 32-bit ABI. */
	assert_cu(cuGetProcAddress("cuMemAlloc", &fn, 2000, 0, &status),
		  CUDA_SUCCESS);
	assert_null(fn);
	assert_int_equal(status, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	assert_cu(cuGetProcAddress("cuNoSuchFunction", &fn, 12000, 0,
				   &status), CUDA_SUCCESS);
	assert_null(fn);
	assert_int_equal(status, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	assert_cu(cuGetProcAddress("cuInit", &fn, CUDA_VERSION + 10, 0,
				   &status), CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuGetProcAddress("cuInit", &fn, 12000, 4, &status),
		  CUDA_ERROR_INVALID_VALUE);
	assert_cu(cuGetProcAddress("cuGetProcAddress", &fn, 12000, 0, NULL),
		  CUDA_SUCCESS);
	assert_ptr_equal(fn, (void *)cuGetProcAddress);

	/* perftest resolves the 11.x entry point by name, then all else. */
	legacy = (legacy_get_proc_fn)dlsym(RTLD_DEFAULT, "cuGetProcAddress");
	assert_non_null(legacy);
	assert_ptr_not_equal((void *)legacy, (void *)cuGetProcAddress);
	for (i = 0; i < ARRAY_SIZE(perftest); i++) {
		fn = NULL;
		assert_cu(legacy(perftest[i].name, &fn, perftest[i].version,
				 0), CUDA_SUCCESS);
		assert_non_null(fn);
	}
	assert_cu(legacy("cuCtxCreate", &fn, 3020, 0), CUDA_SUCCESS);
	assert_ptr_equal(fn, (void *)cuCtxCreate);
	assert_cu(legacy("cuNoSuchFunction", &fn, 3020, 0),
		  CUDA_ERROR_NOT_FOUND);

	/* The symbols of a real libcuda.so.1, and nothing of ours. */
	assert_non_null(dlsym(RTLD_DEFAULT, "cuMemAlloc_v2"));
	assert_non_null(dlsym(RTLD_DEFAULT, "cuCtxPushCurrent_v2"));
	assert_non_null(dlsym(RTLD_DEFAULT, "cuMemGetAddressRange_v2"));
	assert_non_null(dlsym(RTLD_DEFAULT, "cuMemGetHandleForAddressRange"));
	assert_non_null(dlsym(RTLD_DEFAULT, "cuPointerGetAttribute"));
	assert_null(dlsym(RTLD_DEFAULT, "cuMemAlloc"));
	assert_null(dlsym(RTLD_DEFAULT, "stub_enter"));
	assert_null(dlsym(RTLD_DEFAULT, "stub"));
	/* Nor of the code it shares with the ROCm stand-in. */
	assert_null(dlsym(RTLD_DEFAULT, "bar_heap_find"));
}

int main(void)
{
	/* Before cuInit(), then its failures, each in a fresh child. */
	const struct CMUnitTest uninitialized[] = {
		cmocka_unit_test(test_before_init),
		cmocka_unit_test(test_no_device),
	};
	const struct CMUnitTest initialized[] = {
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_context_rules),
		cmocka_unit_test_setup_teardown(test_placement, ctx_setup,
						ctx_teardown),
		cmocka_unit_test_setup_teardown(test_copies, ctx_setup,
						ctx_teardown),
		cmocka_unit_test_setup_teardown(test_device_pointer_faults,
						ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_pointer_attributes,
						ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_pointer_attributes_batch,
						ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_handle_arguments,
						ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_memory_kinds, ctx_setup,
						ctx_teardown),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_proc_address_and_symbols),
	};
	int failed;

	page = sysconf(_SC_PAGESIZE);
	fixture_bar_create(&bar, "cuda_stub", BDF, BAR_SIZE);
	failed = cmocka_run_group_tests_name("cuda_stub_uninitialized",
					     uninitialized, NULL, NULL);
	failed += cmocka_run_group_tests_name("cuda_stub", initialized,
					      group_init, NULL);
	fixture_bar_remove(&bar);
	return failed ? 1 : 0;
}
