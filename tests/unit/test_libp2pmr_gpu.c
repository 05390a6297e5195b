// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmr_classify() on GPU memory, with the CUDA driver API stand-in
 * (tests/cuda_stub) loaded by the test after the library first looked for
 * a runtime: the library must find it then (it looks again once the
 * dynamic loader has loaded more objects), and until then answer host
 * memory without a dlopen() per call.  A 64 MiB regular file in a
 * directory named like a PCI device plays the BAR (tests/common).
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cuda.h"
#include "p2pmr_internal.h"
#include "stub_fixture.h"

#define MIB		(1UL << 20)
#define ALLOC_SIZE	(3 * MIB)

static struct fixture_bar bar;
static char host_buf[8192] __attribute__((aligned(4096)));

static void classify(const void *addr, size_t len, int err,
		     struct p2pmr_mem_info *info)
{
	errno = 0;
	assert_int_equal(p2pmr_classify(addr, len, info, sizeof(*info)), err);
}

static void test_classify_gpu(void **state)
{
	typeof(cuInit) *init;
	typeof(cuDeviceGet) *device_get;
	typeof(cuCtxCreate) *ctx_create;
	typeof(cuMemAlloc) *mem_alloc;
	struct p2pmr_mem_info info;
	CUdeviceptr dptr;
	CUcontext ctx;
	CUdevice dev;
	void *lib;
	char *d;

	(void)state;
	/* no runtime yet: host memory, and the library has looked */
	classify(host_buf, sizeof(host_buf), 0, &info);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	classify(host_buf, sizeof(host_buf), 0, &info);
	assert_int_equal(info.type, P2PMR_MEM_HOST);

	fixture_setenv("P2PMR_CUDA_STUB", bar.path, "0x400000", false);
	lib = dlopen(CUDA_STUB_PATH, RTLD_NOW | RTLD_GLOBAL);
	assert_non_null(lib);
	init = dlsym(lib, "cuInit");
	device_get = dlsym(lib, "cuDeviceGet");
	ctx_create = dlsym(lib, "cuCtxCreate_v2");
	mem_alloc = dlsym(lib, "cuMemAlloc_v2");
	assert_true(init && device_get && ctx_create && mem_alloc);
	assert_int_equal(init(0), CUDA_SUCCESS);
	assert_int_equal(device_get(&dev, 0), CUDA_SUCCESS);
	assert_int_equal(ctx_create(&ctx, 0, dev), CUDA_SUCCESS);
	assert_int_equal(mem_alloc(&dptr, ALLOC_SIZE), CUDA_SUCCESS);
	d = (char *)(uintptr_t)dptr;

	/* loaded since: found, the allocation named */
	classify(d + 4096, 8192, 0, &info);
	assert_int_equal(info.type, P2PMR_MEM_DEVICE);
	assert_true(info.flags & P2PMR_MEM_CONTAINED);
	assert_int_equal(info.map_start, dptr);
	assert_int_equal(info.map_length, ALLOC_SIZE);

	/* past the allocation's end: refused as a partial overlap is */
	classify(d + ALLOC_SIZE - 4096, 8192, EINVAL, &info);
	assert_int_equal(info.type, P2PMR_MEM_DEVICE);
	assert_false(info.flags & P2PMR_MEM_CONTAINED);

	/* host memory stays host memory */
	classify(host_buf, sizeof(host_buf), 0, &info);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
}

static int setup(void **state)
{
	(void)state;
	fixture_bar_create(&bar, "libp2pmr_gpu", "0001:2b:03.0", 64 * MIB);
	/* the host's own BAR mappings and sysfs stay out of it */
	p2pmr_set_sysfs_root("/nonexistent");
	p2pmr_set_dev_path("/nonexistent/p2pmr");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	p2pmr_set_dev_path(NULL);
	p2pmr_set_sysfs_root(NULL);
	fixture_bar_remove(&bar);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_gpu),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
