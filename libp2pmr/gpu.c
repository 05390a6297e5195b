// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * GPU allocations: the GPU driver is the exporter.
 *
 * A pointer from cuMemAlloc() is no CPU mapping p2pmr could export: the
 * GPU's BAR belongs to its driver, and the allocation may not even be
 * visible through it.  The driver exports the allocation's pages as a
 * dma-buf itself (cuMemGetHandleForAddressRange() with
 * CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, CUDA 11.7+ on the open kernel
 * modules), which any RDMA device registers with ibv_reg_dmabuf_mr().
 * That is what NCCL and UCX do; here plain ibv_reg_mr() gets it too.
 *
 * The runtime is the application's: libp2pmr never links it and never
 * loads it into a process that has not (dlopen() with RTLD_NOLOAD).  A
 * process that has no GPU runtime loaded has no GPU pointers, and loading
 * one costs seconds and GPU memory.  A runtime the process loads later is
 * seen at the next question.
 *
 * Only the CUDA driver API is spoken so far.  Its types and constants are
 * the documented ones, declared here so that nothing of CUDA is needed to
 * build.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>

#include "p2pmr_internal.h"

typedef int cu_result;				/* CUresult */
typedef unsigned long long cu_deviceptr;	/* CUdeviceptr */
typedef void *cu_context;			/* CUcontext */

#define CUDA_SUCCESS				0
#define CUDA_ERROR_NOT_SUPPORTED		801
#define CU_POINTER_ATTRIBUTE_CONTEXT		1
#define CU_POINTER_ATTRIBUTE_MEMORY_TYPE	2
#define CU_POINTER_ATTRIBUTE_BUFFER_ID		7
#define CU_MEMORYTYPE_DEVICE			2
#define CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD	1

static const char cuda_lib[] = "libcuda.so.1";

static struct {
	pthread_mutex_t lock;
	bool loaded;		/* atomic: the entry points below are set */
	cu_result (*pointer_get_attribute)(void *data, int attribute,
					   cu_deviceptr ptr);
	cu_result (*mem_get_address_range)(cu_deviceptr *base, size_t *size,
					   cu_deviceptr ptr);
	cu_result (*mem_get_handle)(void *handle, cu_deviceptr ptr,
				    size_t size, int type,
				    unsigned long long flags);
	cu_result (*ctx_get_current)(cu_context *ctx);
	cu_result (*ctx_push)(cu_context ctx);
	cu_result (*ctx_pop)(cu_context *ctx);
	cu_result (*get_error_string)(cu_result err, const char **str);
} cuda = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * The CUDA entry points, if the process has libcuda.so.1 loaded.  The
 * handle is never closed: the runtime stays loaded while its process uses
 * it, and the pointers must stay valid for concurrent callers.
 */
static bool cuda_loaded(void)
{
	void *lib;

	if (__atomic_load_n(&cuda.loaded, __ATOMIC_ACQUIRE))
		return true;
	lib = dlopen(cuda_lib, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	if (!lib)
		return false;

	pthread_mutex_lock(&cuda.lock);
	if (!cuda.loaded) {
		/* versioned names, as <cuda.h> maps the plain ones */
		cuda.pointer_get_attribute =
			dlsym(lib, "cuPointerGetAttribute");
		cuda.mem_get_address_range =
			dlsym(lib, "cuMemGetAddressRange_v2");
		cuda.mem_get_handle =
			dlsym(lib, "cuMemGetHandleForAddressRange");
		cuda.ctx_get_current = dlsym(lib, "cuCtxGetCurrent");
		cuda.ctx_push = dlsym(lib, "cuCtxPushCurrent_v2");
		cuda.ctx_pop = dlsym(lib, "cuCtxPopCurrent_v2");
		cuda.get_error_string = dlsym(lib, "cuGetErrorString");
		if (cuda.pointer_get_attribute &&
		    cuda.mem_get_address_range && cuda.ctx_get_current &&
		    cuda.ctx_push && cuda.ctx_pop)
			__atomic_store_n(&cuda.loaded, true,
					 __ATOMIC_RELEASE);
		else
			p2pmr_err("%s is loaded but lacks the pointer queries of the CUDA driver API: GPU memory cannot be registered",
				  cuda_lib);
	}
	pthread_mutex_unlock(&cuda.lock);
	/* dlopen() took a reference; the process's own one keeps it */
	dlclose(lib);
	return __atomic_load_n(&cuda.loaded, __ATOMIC_ACQUIRE);
}

/*
 * Make the context that owns @ptr current, where another one is (or none
 * is): the driver answers for an allocation within its own context, as
 * UCX does for its exports.  Return: whether a context was pushed, to be
 * popped by cuda_ctx_leave().
 */
static bool cuda_ctx_enter(cu_deviceptr ptr)
{
	cu_context own = NULL, cur = NULL;
	cu_result err;

	if (cuda.pointer_get_attribute(&own, CU_POINTER_ATTRIBUTE_CONTEXT,
				       ptr) || !own ||
	    cuda.ctx_get_current(&cur) || cur == own)
		return false;
	err = cuda.ctx_push(own);
	if (err)
		p2pmr_dbg("cannot make the context of CUDA memory 0x%llx current: CUresult %d",
			  ptr, err);
	return !err;
}

static void cuda_ctx_leave(bool pushed)
{
	cu_context popped;

	if (pushed)
		cuda.ctx_pop(&popped);
}

static const char *cuda_strerror(cu_result err)
{
	const char *s = NULL;

	if (cuda.get_error_string && !cuda.get_error_string(err, &s) && s)
		return s;
	return "unknown CUDA error";
}

int p2pmr_gpu_find(const void *addr, size_t length,
		   struct p2pmr_gpu_range *range)
{
	cu_deviceptr ptr = (uintptr_t)addr, base;
	unsigned long long id;
	unsigned int mem_type = 0;
	bool pushed;
	size_t size;
	cu_result err;

	if (!cuda_loaded())
		return ENOENT;
	/* host memory is CUDA_ERROR_INVALID_VALUE: not the runtime's */
	if (cuda.pointer_get_attribute(&mem_type,
				       CU_POINTER_ATTRIBUTE_MEMORY_TYPE, ptr) ||
	    mem_type != CU_MEMORYTYPE_DEVICE)
		return ENOENT;
	pushed = cuda_ctx_enter(ptr);
	err = cuda.mem_get_address_range(&base, &size, ptr);
	cuda_ctx_leave(pushed);
	if (err) {
		p2pmr_err("reg_mr: %p is CUDA device memory, but its allocation cannot be found: %s",
			  addr, cuda_strerror(err));
		return EFAULT;
	}
	if (length > size - (ptr - base)) {
		p2pmr_err("reg_mr: %p + 0x%zx runs past its CUDA allocation 0x%llx + 0x%zx: register each allocation on its own",
			  addr, length, base, size);
		return EINVAL;
	}
	range->base = base;
	range->size = size;
	if (cuda.pointer_get_attribute(&id, CU_POINTER_ATTRIBUTE_BUFFER_ID,
				       ptr))
		id = 0;
	range->id = id;
	range->runtime = "CUDA";
	return 0;
}

int p2pmr_gpu_export(const struct p2pmr_gpu_range *range, uint64_t start,
		     uint64_t length)
{
	cu_result err;
	int fd = -1;
	bool pushed;

	if (!cuda.mem_get_handle) {
		p2pmr_err("reg_mr: %s has no cuMemGetHandleForAddressRange(): GPU memory needs a CUDA 11.7 or later driver to be exported as a dma-buf",
			  cuda_lib);
		errno = EOPNOTSUPP;
		return -1;
	}
	pushed = cuda_ctx_enter(start);
	err = cuda.mem_get_handle(&fd, start, length,
				  CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0);
	cuda_ctx_leave(pushed);
	if (err) {
		p2pmr_err("reg_mr: the CUDA driver does not export 0x%" PRIx64 " + 0x%" PRIx64 " as a dma-buf: %s%s",
			  start, length, cuda_strerror(err),
			  err == CUDA_ERROR_NOT_SUPPORTED ?
			  " (dma-buf export needs NVIDIA's open kernel modules and a kernel with CONFIG_DMA_SHARED_BUFFER; see CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED)" :
			  "");
		errno = err == CUDA_ERROR_NOT_SUPPORTED ? EOPNOTSUPP : EINVAL;
		return -1;
	}
	p2pmr_dbg("CUDA exported 0x%" PRIx64 " + 0x%" PRIx64 " of allocation 0x%" PRIx64 " as dma-buf fd %d",
		  start, length, range->base, fd);
	return fd;
}
