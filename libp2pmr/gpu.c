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
 * Two runtimes are spoken: NVIDIA's CUDA driver API (libcuda.so.1) and
 * AMD's ROCm runtime (libhsa-runtime64.so.1, whose
 * hsa_amd_portable_export_dmabuf() is ROCm's export).  Their types and
 * constants are the documented ones, declared here so that nothing of
 * either is needed to build.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "p2pmr_internal.h"

/**
 * struct p2pmr_gpu_runtime - one GPU runtime
 * @name: for messages
 * @lib: its library, as the application loads it
 * @bind: resolve the entry points from @lib's handle; false if some lack
 * @find: whether @ptr is in an allocation of the runtime (loaded): 0 and
 *	the allocation, ENOENT if not, else an errno (logged)
 * @export: p2pmr_gpu_export() for it
 * @close: close a dma-buf fd @export made
 * @loaded: atomic: @bind succeeded
 */
struct p2pmr_gpu_runtime {
	const char *name;
	const char *lib;
	bool (*bind)(void *lib);
	int (*find)(uintptr_t ptr, struct p2pmr_gpu_range *range);
	int (*export)(const struct p2pmr_gpu_range *range, uint64_t start,
		      uint64_t length, uint64_t *offset);
	void (*close)(int fd);
	bool loaded;
};

static pthread_mutex_t bind_lock = PTHREAD_MUTEX_INITIALIZER;

static int first_object_adds(struct dl_phdr_info *info, size_t size,
			     void *data)
{
	if (size >= offsetof(struct dl_phdr_info, dlpi_adds) +
		    sizeof(info->dlpi_adds))
		*(unsigned long long *)data = info->dlpi_adds;
	return 1;
}

/* How many objects the dynamic loader has loaded so far; 0: unknown. */
static unsigned long long loader_adds(void)
{
	unsigned long long adds = 0;

	dl_iterate_phdr(first_object_adds, &adds);
	return adds;
}

/*
 * Bind @rt if its library is loaded in the process.  The handle is never
 * closed: the runtime stays loaded while its process uses it, and the
 * pointers must stay valid for concurrent callers.
 */
static void runtime_bind(struct p2pmr_gpu_runtime *rt)
{
	void *lib = dlopen(rt->lib, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);

	if (!lib)
		return;
	pthread_mutex_lock(&bind_lock);
	if (!rt->loaded) {
		if (rt->bind(lib))
			__atomic_store_n(&rt->loaded, true, __ATOMIC_RELEASE);
		else
			p2pmr_err("%s is loaded but lacks the entry points libp2pmr asks: %s memory cannot be registered",
				  rt->lib, rt->name);
	}
	pthread_mutex_unlock(&bind_lock);
	/* dlopen() took a reference; the process's own one keeps it */
	dlclose(lib);
}

/* The allocation must hold the whole range. */
static int range_check(const struct p2pmr_gpu_runtime *rt, uintptr_t ptr,
		       size_t length, uint64_t base, uint64_t size)
{
	if (ptr >= base && ptr - base < size && length <= size - (ptr - base))
		return 0;
	p2pmr_err("0x%" PRIxPTR " + 0x%zx runs past its %s allocation 0x%" PRIx64 " + 0x%" PRIx64 ": register each allocation on its own",
		  ptr, length, rt->name, base, size);
	return EINVAL;
}

/*
 * CUDA
 */

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

static struct {
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
} cuda;

static bool cuda_bind(void *lib)
{
	/* versioned names, as <cuda.h> maps the plain ones */
	cuda.pointer_get_attribute = dlsym(lib, "cuPointerGetAttribute");
	cuda.mem_get_address_range = dlsym(lib, "cuMemGetAddressRange_v2");
	cuda.mem_get_handle = dlsym(lib, "cuMemGetHandleForAddressRange");
	cuda.ctx_get_current = dlsym(lib, "cuCtxGetCurrent");
	cuda.ctx_push = dlsym(lib, "cuCtxPushCurrent_v2");
	cuda.ctx_pop = dlsym(lib, "cuCtxPopCurrent_v2");
	cuda.get_error_string = dlsym(lib, "cuGetErrorString");
	return cuda.pointer_get_attribute && cuda.mem_get_address_range &&
	       cuda.ctx_get_current && cuda.ctx_push && cuda.ctx_pop;
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

static int cuda_find(uintptr_t ptr, struct p2pmr_gpu_range *range)
{
	unsigned int mem_type = 0;
	unsigned long long id;
	cu_deviceptr base;
	cu_result err;
	bool pushed;
	size_t size;

	/* host memory is CUDA_ERROR_INVALID_VALUE: not the runtime's */
	if (cuda.pointer_get_attribute(&mem_type,
				       CU_POINTER_ATTRIBUTE_MEMORY_TYPE, ptr) ||
	    mem_type != CU_MEMORYTYPE_DEVICE)
		return ENOENT;
	pushed = cuda_ctx_enter(ptr);
	err = cuda.mem_get_address_range(&base, &size, ptr);
	cuda_ctx_leave(pushed);
	if (err) {
		p2pmr_err("reg_mr: 0x%" PRIxPTR " is CUDA device memory, but its allocation cannot be found: %s",
			  ptr, cuda_strerror(err));
		return EFAULT;
	}
	range->base = base;
	range->size = size;
	if (cuda.pointer_get_attribute(&id, CU_POINTER_ATTRIBUTE_BUFFER_ID,
				       ptr))
		id = 0;
	range->id = id;
	return 0;
}

static int cuda_export(const struct p2pmr_gpu_range *range, uint64_t start,
		       uint64_t length, uint64_t *offset)
{
	cu_result err;
	int fd = -1;
	bool pushed;

	if (!cuda.mem_get_handle) {
		p2pmr_err("reg_mr: libcuda.so.1 has no cuMemGetHandleForAddressRange(): GPU memory needs a CUDA 11.7 or later driver to be exported as a dma-buf");
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
	(void)range;
	*offset = 0;	/* the handle is of the range itself */
	return fd;
}

static void close_fd(int fd)
{
	close(fd);
}

/*
 * ROCm (HSA)
 */

typedef int hsa_status;				/* hsa_status_t */
typedef struct { uint64_t handle; } hsa_agent;	/* hsa_agent_t */

#define HSA_STATUS_SUCCESS		0
#define HSA_EXT_POINTER_TYPE_HSA	1
#define HSA_AGENT_INFO_DEVICE		17
#define HSA_DEVICE_TYPE_GPU		1

/* hsa_amd_pointer_info_t, as far as libp2pmr reads it */
struct hsa_pointer_info {
	uint32_t size;
	int type;			/* hsa_amd_pointer_type_t */
	void *agent_base_address;
	void *host_base_address;
	size_t size_in_bytes;
	void *user_data;
	hsa_agent agent_owner;
	uint32_t global_flags;
};

static struct {
	hsa_status (*pointer_info)(const void *ptr,
				   struct hsa_pointer_info *info,
				   void *(*alloc)(size_t),
				   uint32_t *num_agents, hsa_agent **agents);
	hsa_status (*agent_get_info)(hsa_agent agent, int attribute,
				     void *value);
	hsa_status (*export_dmabuf)(const void *ptr, size_t size, int *fd,
				    uint64_t *offset);
	hsa_status (*close_dmabuf)(int fd);
	hsa_status (*status_string)(hsa_status status, const char **str);
} hsa;

static bool hsa_bind(void *lib)
{
	hsa.pointer_info = dlsym(lib, "hsa_amd_pointer_info");
	hsa.agent_get_info = dlsym(lib, "hsa_agent_get_info");
	hsa.export_dmabuf = dlsym(lib, "hsa_amd_portable_export_dmabuf");
	hsa.close_dmabuf = dlsym(lib, "hsa_amd_portable_close_dmabuf");
	hsa.status_string = dlsym(lib, "hsa_status_string");
	return hsa.pointer_info && hsa.agent_get_info;
}

static const char *hsa_strerror(hsa_status err)
{
	const char *s = NULL;

	if (hsa.status_string && !hsa.status_string(err, &s) && s)
		return s;
	return "unknown HSA error";
}

/* As libfabric's ROCr support: memory of the HSA allocator, GPU-owned. */
static int hsa_find(uintptr_t ptr, struct p2pmr_gpu_range *range)
{
	struct hsa_pointer_info info = { .size = sizeof(info) };
	uint32_t device = 0;

	if (hsa.pointer_info((const void *)ptr, &info, NULL, NULL, NULL) ||
	    info.type != HSA_EXT_POINTER_TYPE_HSA ||
	    hsa.agent_get_info(info.agent_owner, HSA_AGENT_INFO_DEVICE,
			       &device) || device != HSA_DEVICE_TYPE_GPU)
		return ENOENT;
	range->base = (uintptr_t)info.agent_base_address;
	range->size = info.size_in_bytes;
	/* HSA names no allocation uniquely: not kept (export_cache.c) */
	range->id = 0;
	return 0;
}

static int hsa_export(const struct p2pmr_gpu_range *range, uint64_t start,
		      uint64_t length, uint64_t *offset)
{
	hsa_status err;
	int fd = -1;

	(void)range;
	if (!hsa.export_dmabuf || !hsa.close_dmabuf) {
		p2pmr_err("reg_mr: libhsa-runtime64.so.1 has no hsa_amd_portable_export_dmabuf(): GPU memory needs ROCm 5.6 or later to be exported as a dma-buf");
		errno = EOPNOTSUPP;
		return -1;
	}
	err = hsa.export_dmabuf((const void *)(uintptr_t)start, length, &fd,
				offset);
	if (err) {
		p2pmr_err("reg_mr: the ROCm runtime does not export 0x%" PRIx64 " + 0x%" PRIx64 " as a dma-buf: %s (it needs the amdgpu kernel driver with dma-buf export)",
			  start, length, hsa_strerror(err));
		errno = EOPNOTSUPP;
		return -1;
	}
	return fd;
}

static void hsa_close(int fd)
{
	if (hsa.close_dmabuf(fd))
		close(fd);
}

static struct p2pmr_gpu_runtime runtimes[] = {
	{
		.name = "CUDA", .lib = "libcuda.so.1", .bind = cuda_bind,
		.find = cuda_find, .export = cuda_export, .close = close_fd,
	},
	{
		.name = "ROCm", .lib = "libhsa-runtime64.so.1",
		.bind = hsa_bind, .find = hsa_find, .export = hsa_export,
		.close = hsa_close,
	},
};

/* loader_adds() when the runtimes not bound were last looked for */
static unsigned long long looked_at;

/*
 * Bind the runtimes the process has loaded.  dlopen(RTLD_NOLOAD) costs
 * microseconds, and every p2pmr_classify() of host memory asks whether it
 * is GPU memory: runtimes not found are looked for again only once the
 * dynamic loader has loaded more objects, and not at all once every one
 * is bound.
 */
static void runtimes_bind(void)
{
	struct p2pmr_gpu_runtime *rt;
	unsigned long long adds;
	bool all = true;

	for (rt = runtimes; rt < runtimes + ARRAY_SIZE(runtimes); rt++)
		all = all && __atomic_load_n(&rt->loaded, __ATOMIC_ACQUIRE);
	if (all)
		return;
	adds = loader_adds();
	if (adds && adds == __atomic_load_n(&looked_at, __ATOMIC_RELAXED))
		return;
	for (rt = runtimes; rt < runtimes + ARRAY_SIZE(runtimes); rt++)
		if (!__atomic_load_n(&rt->loaded, __ATOMIC_ACQUIRE))
			runtime_bind(rt);
	__atomic_store_n(&looked_at, adds, __ATOMIC_RELAXED);
}

int p2pmr_gpu_find(const void *addr, size_t length,
		   struct p2pmr_gpu_range *range)
{
	struct p2pmr_gpu_runtime *rt;
	int err;

	runtimes_bind();
	for (rt = runtimes; rt < runtimes + ARRAY_SIZE(runtimes); rt++) {
		if (!__atomic_load_n(&rt->loaded, __ATOMIC_ACQUIRE))
			continue;
		err = rt->find((uintptr_t)addr, range);
		if (err == ENOENT)
			continue;
		if (!err)
			err = range_check(rt, (uintptr_t)addr, length,
					  range->base, range->size);
		range->rt = rt;
		range->runtime = rt->name;
		return err;
	}
	return ENOENT;
}

int p2pmr_gpu_export(const struct p2pmr_gpu_range *range, uint64_t start,
		     uint64_t length, uint64_t *offset)
{
	int fd = range->rt->export(range, start, length, offset);

	if (fd >= 0)
		p2pmr_dbg("%s exported 0x%" PRIx64 " + 0x%" PRIx64 " of allocation 0x%" PRIx64 " as dma-buf fd %d, at offset 0x%" PRIx64,
			  range->runtime, start, length, range->base, fd,
			  *offset);
	return fd;
}

void p2pmr_gpu_close(const struct p2pmr_gpu_range *range, int fd)
{
	range->rt->close(fd);
}
