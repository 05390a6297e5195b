// SPDX-License-Identifier: GPL-2.0
/*
 * TEST DOUBLE of AMD's ROCm HSA runtime (libhsa-runtime64.so.1), built as
 * build/tests/rocm_stub/libhsa-runtime64.so.1 and loaded only by tests: it
 * lets the ROCm code paths of p2pmr's users run end to end in a guest
 * without a GPU.  Never installed.
 *
 * The GPU's memory is one PCI BAR (P2PMR_ROCM_STUB_RESOURCE, a sysfs
 * resource file), so that what a test writes through the API can be read
 * back from the file behind the BAR on the host, and so that
 * hsa_amd_portable_export_dmabuf() can hand out a real p2pmr dma-buf of
 * it.  A device pointer is an inaccessible (PROT_NONE) reservation of
 * address space, as on a discrete GPU: the CPU cannot touch it and
 * ibv_reg_mr() refuses it, so only the dma-buf path can register it.  The
 * BAR, its heap and the reservations are tests/common/bar_heap.c's, shared
 * with the CUDA stand-in; this file is the HSA API on top.  README.md says
 * what is modelled and what is not.
 *
 * Every function here follows the documented semantics and return codes
 * of the real one; only symbols of the real API are exported.  One mutex
 * serialises everything but the caller's callbacks: tests need
 * determinism, not speed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The library is built with hidden visibility: what hsa.h declares is
 * exported, nothing else, and hsa_stub.map gives it the real library's
 * symbol version.
 */
#pragma GCC visibility push(default)
#include "hsa.h"
#pragma GCC visibility pop

#include "bar_heap.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
/* The size of HSA_AGENT_INFO_NAME and HSA_AGENT_INFO_VENDOR_NAME. */
#define STUB_NAME_SIZE		64

/* An AMD addition to hsa_status_t, defined outside its enumeration. */
#define STUB_INVALID_POOL \
	((hsa_status_t)HSA_STATUS_ERROR_INVALID_MEMORY_POOL)

/* Agent (and pool) indices; each agent has one memory pool. */
enum { AGENT_CPU, AGENT_GPU, NR_AGENTS };

static const struct {
	const char *name;
	const char *vendor;
	hsa_device_type_t type;
	uint32_t pool_flags;
} agent_desc[NR_AGENTS] = {
	[AGENT_CPU] = { "p2pmr ROCm stand-in CPU", "CPU", HSA_DEVICE_TYPE_CPU,
			HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_FINE_GRAINED },
	[AGENT_GPU] = { "p2pmr ROCm stand-in", "AMD", HSA_DEVICE_TYPE_GPU,
			HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_COARSE_GRAINED },
};

/*
 * Handles are addresses, as the real runtime's are of its objects: never
 * 0, and nothing a caller would come up with by chance.
 */
static const char agent_obj[NR_AGENTS];
static const char pool_obj[NR_AGENTS];

static struct {
	pthread_mutex_t lock;
	/* hsa_init() calls not yet matched by hsa_shut_down(). */
	unsigned int refs;
	/* Set up by the first hsa_init(), torn down by the last shut down. */
	bool has_gpu;
	/*
	 * The GPU's memory, and the CPU pool's allocations, which exist
	 * with or without a GPU: one hsa_amd_memory_pool_allocate()
	 * allocation is one struct bar_alloc, whose host flag tells the
	 * pools apart.
	 */
	struct bar_heap heap;
} stub = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	/* P2PMR_ROCM_STUB_DEBUG makes it say why, on stderr. */
	.heap = BAR_HEAP_INIT("p2pmr-rocm-stub", "P2PMR_ROCM_STUB",
			      "GPU agent"),
};

static uint64_t round_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

static size_t page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/*
 * Take the lock and tell whether the runtime is initialised; the caller
 * unlocks whatever the answer.
 */
static hsa_status_t stub_enter(void)
{
	pthread_mutex_lock(&stub.lock);
	return stub.refs ? HSA_STATUS_SUCCESS :
			   HSA_STATUS_ERROR_NOT_INITIALIZED;
}

static hsa_status_t stub_leave(hsa_status_t ret)
{
	pthread_mutex_unlock(&stub.lock);
	return ret;
}

static hsa_agent_t agent_handle(int i)
{
	return (hsa_agent_t){ (uintptr_t)&agent_obj[i] };
}

static hsa_amd_memory_pool_t pool_handle(int i)
{
	return (hsa_amd_memory_pool_t){ (uintptr_t)&pool_obj[i] };
}

static int nr_agents(void)
{
	return stub.has_gpu ? NR_AGENTS : AGENT_CPU + 1;
}

/* The index of a live agent or pool handle, -1 for anything else. */
static int handle_index(const char *objs, uint64_t handle)
{
	int i;

	for (i = 0; i < nr_agents(); i++)
		if (handle == (uintptr_t)&objs[i])
			return i;
	return -1;
}

/* Whose pool an allocation came from. */
static int alloc_agent(const struct bar_alloc *a)
{
	return a->host ? AGENT_CPU : AGENT_GPU;
}

static void free_alloc(struct bar_alloc *a)
{
	free(a);
}

/*
 * The last hsa_shut_down() takes all memory with it, as the real
 * runtime's unload does; a later hsa_init() starts afresh.
 */
static void close_all(void)
{
	bar_heap_close(&stub.heap, free_alloc);
	stub.has_gpu = false;
}

/* Sizes of the pools, which are also their largest allocations. */
static size_t pool_size(int i)
{
	if (i == AGENT_GPU)
		return bar_heap_size(&stub.heap);
	return (size_t)sysconf(_SC_PHYS_PAGES) * page_size();
}

static size_t pool_granule(int i)
{
	return i == AGENT_GPU ? BAR_HEAP_GRANULE : page_size();
}

static const struct {
	hsa_status_t status;
	const char *string;
} stub_statuses[] = {
#define S(status, text) { (hsa_status_t)status, #status ": " text }
	S(HSA_STATUS_SUCCESS, "The function has been executed successfully."),
	S(HSA_STATUS_INFO_BREAK, "A traversal was interrupted by the caller."),
	S(HSA_STATUS_ERROR, "A generic error has occurred."),
	S(HSA_STATUS_ERROR_INVALID_ARGUMENT,
	  "One of the arguments is invalid."),
	S(HSA_STATUS_ERROR_INVALID_QUEUE_CREATION,
	  "The queue could not be created."),
	S(HSA_STATUS_ERROR_INVALID_ALLOCATION,
	  "The requested allocation is not valid."),
	S(HSA_STATUS_ERROR_INVALID_AGENT, "The agent is invalid."),
	S(HSA_STATUS_ERROR_INVALID_REGION, "The memory region is invalid."),
	S(HSA_STATUS_ERROR_INVALID_SIGNAL, "The signal is invalid."),
	S(HSA_STATUS_ERROR_INVALID_QUEUE, "The queue is invalid."),
	S(HSA_STATUS_ERROR_OUT_OF_RESOURCES,
	  "The runtime failed to allocate the necessary resources."),
	S(HSA_STATUS_ERROR_INVALID_PACKET_FORMAT,
	  "The AQL packet is malformed."),
	S(HSA_STATUS_ERROR_RESOURCE_FREE,
	  "An error was detected while releasing a resource."),
	S(HSA_STATUS_ERROR_NOT_INITIALIZED,
	  "The runtime has not been initialized."),
	S(HSA_STATUS_ERROR_REFCOUNT_OVERFLOW,
	  "The runtime reference count would overflow."),
	S(HSA_STATUS_ERROR_INCOMPATIBLE_ARGUMENTS,
	  "The arguments are incompatible."),
	S(HSA_STATUS_ERROR_INVALID_INDEX, "The index is invalid."),
	S(HSA_STATUS_ERROR_INVALID_ISA, "The instruction set is invalid."),
	S(HSA_STATUS_ERROR_INVALID_ISA_NAME,
	  "The instruction set name is invalid."),
	S(HSA_STATUS_ERROR_INVALID_CODE_OBJECT, "The code object is invalid."),
	S(HSA_STATUS_ERROR_INVALID_EXECUTABLE, "The executable is invalid."),
	S(HSA_STATUS_ERROR_FROZEN_EXECUTABLE, "The executable is frozen."),
	S(HSA_STATUS_ERROR_INVALID_SYMBOL_NAME,
	  "No symbol of that name in the executable."),
	S(HSA_STATUS_ERROR_VARIABLE_ALREADY_DEFINED,
	  "The variable is already defined."),
	S(HSA_STATUS_ERROR_VARIABLE_UNDEFINED, "The variable is undefined."),
	S(HSA_STATUS_ERROR_EXCEPTION, "An HSAIL operation raised an exception."),
	S(HSA_STATUS_ERROR_INVALID_CODE_SYMBOL, "The code symbol is invalid."),
	S(HSA_STATUS_ERROR_INVALID_EXECUTABLE_SYMBOL,
	  "The executable symbol is invalid."),
	S(HSA_STATUS_ERROR_INVALID_FILE, "The file descriptor is invalid."),
	S(HSA_STATUS_ERROR_INVALID_CODE_OBJECT_READER,
	  "The code object reader is invalid."),
	S(HSA_STATUS_ERROR_INVALID_CACHE, "The cache is invalid."),
	S(HSA_STATUS_ERROR_INVALID_WAVEFRONT, "The wavefront is invalid."),
	S(HSA_STATUS_ERROR_INVALID_SIGNAL_GROUP,
	  "The signal group is invalid."),
	S(HSA_STATUS_ERROR_INVALID_RUNTIME_STATE,
	  "The runtime is not in the configured state."),
	S(HSA_STATUS_ERROR_FATAL, "The queue received an error."),
	S(HSA_STATUS_ERROR_INVALID_MEMORY_POOL, "The memory pool is invalid."),
	S(HSA_STATUS_ERROR_MEMORY_APERTURE_VIOLATION,
	  "The agent accessed memory beyond the maximum legal address."),
	S(HSA_STATUS_ERROR_ILLEGAL_INSTRUCTION,
	  "The agent executed an invalid shader instruction."),
	S(HSA_STATUS_ERROR_MEMORY_FAULT,
	  "The agent accessed an inaccessible address."),
	S(HSA_STATUS_CU_MASK_REDUCED,
	  "The CU mask was set, without the CUs disabled for the process."),
	S(HSA_STATUS_ERROR_OUT_OF_REGISTERS,
	  "The kernel needs more VGPRs than the agent has."),
	S(HSA_STATUS_ERROR_RESOURCE_BUSY,
	  "The resource is busy or temporarily unavailable."),
#undef S
};

/* Works before hsa_init(), as the real one. */
hsa_status_t hsa_status_string(hsa_status_t status,
			       const char **status_string)
{
	size_t i;

	if (!status_string)
		return HSA_STATUS_ERROR_INVALID_ARGUMENT;
	for (i = 0; i < ARRAY_SIZE(stub_statuses); i++) {
		if (stub_statuses[i].status == status) {
			*status_string = stub_statuses[i].string;
			return HSA_STATUS_SUCCESS;
		}
	}
	return HSA_STATUS_ERROR_INVALID_ARGUMENT;
}

/*
 * The first reference finds the agents.  A missing or unusable BAR is no
 * error, as a machine without a GPU is none for the real runtime: there
 * is just no GPU agent.
 */
hsa_status_t hsa_init(void)
{
	pthread_mutex_lock(&stub.lock);
	if (stub.refs == INT32_MAX)
		return stub_leave(HSA_STATUS_ERROR_REFCOUNT_OVERFLOW);
	if (!stub.refs++)
		stub.has_gpu = bar_heap_open(&stub.heap);
	return stub_leave(HSA_STATUS_SUCCESS);
}

hsa_status_t hsa_shut_down(void)
{
	hsa_status_t ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!--stub.refs)
		close_all();
	return stub_leave(HSA_STATUS_SUCCESS);
}

hsa_status_t hsa_system_get_info(hsa_system_info_t attribute, void *value)
{
	hsa_status_t ret = stub_enter();

	if (ret)
		return stub_leave(ret);
	if (!value)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	switch (attribute) {
	case HSA_SYSTEM_INFO_VERSION_MAJOR:
	case HSA_SYSTEM_INFO_VERSION_MINOR:
		/* HSA 1.1, as the real runtime implements. */
		*(uint16_t *)value = 1;
		break;
	case HSA_SYSTEM_INFO_ENDIANNESS:
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		*(hsa_endianness_t *)value = HSA_ENDIANNESS_LITTLE;
#else
		*(hsa_endianness_t *)value = HSA_ENDIANNESS_BIG;
#endif
		break;
	case HSA_SYSTEM_INFO_MACHINE_MODEL:
		*(hsa_machine_model_t *)value = sizeof(void *) == 8 ?
			HSA_MACHINE_MODEL_LARGE : HSA_MACHINE_MODEL_SMALL;
		break;
	case HSA_AMD_SYSTEM_INFO_DMABUF_SUPPORTED:
		/* Exports are p2pmr's. */
		*(bool *)value = bar_heap_p2pmr_present();
		break;
	case HSA_AMD_SYSTEM_INFO_EXT_VERSION_MAJOR:
		*(uint16_t *)value = HSA_AMD_INTERFACE_VERSION_MAJOR;
		break;
	case HSA_AMD_SYSTEM_INFO_EXT_VERSION_MINOR:
		*(uint16_t *)value = HSA_AMD_INTERFACE_VERSION_MINOR;
		break;
	default:
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	}
	return stub_leave(HSA_STATUS_SUCCESS);
}

/*
 * The CPU agent, then the GPU agent if there is one.  The callbacks run
 * unlocked: they call back into the library.
 */
hsa_status_t
hsa_iterate_agents(hsa_status_t (*callback)(hsa_agent_t agent, void *data),
		   void *data)
{
	hsa_status_t ret = stub_enter();
	int i, n;

	if (ret)
		return stub_leave(ret);
	if (!callback)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	n = nr_agents();
	pthread_mutex_unlock(&stub.lock);
	for (i = 0; i < n; i++) {
		ret = callback(agent_handle(i), data);
		if (ret != HSA_STATUS_SUCCESS)
			return ret;
	}
	return HSA_STATUS_SUCCESS;
}

static void set_name(void *value, const char *name)
{
	/* The unused tail is NUL too, as documented. */
	memset(value, 0, STUB_NAME_SIZE);
	strncpy(value, name, STUB_NAME_SIZE - 1);
}

hsa_status_t hsa_agent_get_info(hsa_agent_t agent, hsa_agent_info_t attribute,
				void *value)
{
	const struct bar_heap_pci_addr *pci = &stub.heap.pci;
	hsa_status_t ret = stub_enter();
	bool gpu;
	int i;

	if (ret)
		return stub_leave(ret);
	if (!value)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	i = handle_index(agent_obj, agent.handle);
	if (i < 0)
		return stub_leave(HSA_STATUS_ERROR_INVALID_AGENT);
	gpu = i == AGENT_GPU;
	/* An int: the AMD attributes are of another enumeration. */
	switch ((int)attribute) {
	case HSA_AGENT_INFO_NAME:
		set_name(value, agent_desc[i].name);
		break;
	case HSA_AGENT_INFO_VENDOR_NAME:
		set_name(value, agent_desc[i].vendor);
		break;
	case HSA_AGENT_INFO_NODE:
		*(uint32_t *)value = i;
		break;
	case HSA_AGENT_INFO_DEVICE:
		*(hsa_device_type_t *)value = agent_desc[i].type;
		break;
	case HSA_AMD_AGENT_INFO_BDFID:
		/* The KFD's location id; 0 for the CPU, as there. */
		*(uint32_t *)value = gpu ? pci->bus << 8 | pci->dev << 3 |
					   pci->fn : 0;
		break;
	case HSA_AMD_AGENT_INFO_DOMAIN:
		*(uint32_t *)value = gpu ? pci->domain : 0;
		break;
	default:
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	}
	return stub_leave(HSA_STATUS_SUCCESS);
}

/* Each agent has one global pool; the callback runs unlocked. */
hsa_status_t
hsa_amd_agent_iterate_memory_pools(hsa_agent_t agent,
				   hsa_status_t (*callback)(hsa_amd_memory_pool_t
							    memory_pool,
							    void *data),
				   void *data)
{
	hsa_status_t ret = stub_enter();
	int i;

	if (ret)
		return stub_leave(ret);
	if (!callback)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	i = handle_index(agent_obj, agent.handle);
	if (i < 0)
		return stub_leave(HSA_STATUS_ERROR_INVALID_AGENT);
	pthread_mutex_unlock(&stub.lock);
	return callback(pool_handle(i), data);
}

hsa_status_t hsa_amd_memory_pool_get_info(hsa_amd_memory_pool_t memory_pool,
					  hsa_amd_memory_pool_info_t attribute,
					  void *value)
{
	hsa_status_t ret = stub_enter();
	bool gpu;
	int i;

	if (ret)
		return stub_leave(ret);
	if (!value)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	i = handle_index(pool_obj, memory_pool.handle);
	if (i < 0)
		return stub_leave(STUB_INVALID_POOL);
	gpu = i == AGENT_GPU;
	switch (attribute) {
	case HSA_AMD_MEMORY_POOL_INFO_SEGMENT:
		*(hsa_amd_segment_t *)value = HSA_AMD_SEGMENT_GLOBAL;
		break;
	case HSA_AMD_MEMORY_POOL_INFO_GLOBAL_FLAGS:
		*(uint32_t *)value = agent_desc[i].pool_flags;
		break;
	case HSA_AMD_MEMORY_POOL_INFO_SIZE:
	case HSA_AMD_MEMORY_POOL_INFO_ALLOC_MAX_SIZE:
		*(size_t *)value = pool_size(i);
		break;
	case HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_ALLOWED:
		*(bool *)value = true;
		break;
	case HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_GRANULE:
	case HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_ALIGNMENT:
	case HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_REC_GRANULE:
		*(size_t *)value = pool_granule(i);
		break;
	case HSA_AMD_MEMORY_POOL_INFO_ACCESSIBLE_BY_ALL:
		/* System memory is; a GPU's own memory is not. */
		*(bool *)value = !gpu;
		break;
	case HSA_AMD_MEMORY_POOL_INFO_LOCATION:
		*(hsa_amd_memory_pool_location_t *)value =
			gpu ? HSA_AMD_MEMORY_POOL_LOCATION_GPU :
			      HSA_AMD_MEMORY_POOL_LOCATION_CPU;
		break;
	default:
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	}
	return stub_leave(HSA_STATUS_SUCCESS);
}

/*
 * GPU pool: first fit in the BAR heap.  CPU pool: page-aligned host
 * memory.  The flags change nothing here (every allocation is
 * contiguous in the BAR), so any are accepted, as by the real runtime.
 */
hsa_status_t hsa_amd_memory_pool_allocate(hsa_amd_memory_pool_t memory_pool,
					  size_t size, uint32_t flags,
					  void **ptr)
{
	hsa_status_t ret = stub_enter();
	struct bar_alloc *a;
	bool ok;
	int i;

	(void)flags;
	if (ret)
		return stub_leave(ret);
	if (!size || !ptr)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	i = handle_index(pool_obj, memory_pool.handle);
	if (i < 0)
		return stub_leave(STUB_INVALID_POOL);
	if (size > pool_size(i))
		return stub_leave(HSA_STATUS_ERROR_INVALID_ALLOCATION);
	a = calloc(1, sizeof(*a));
	if (!a)
		return stub_leave(HSA_STATUS_ERROR_OUT_OF_RESOURCES);
	ok = i == AGENT_GPU ? bar_heap_alloc(&stub.heap, a, size) :
			      bar_heap_alloc_host(&stub.heap, a, size);
	if (!ok) {
		free(a);
		return stub_leave(HSA_STATUS_ERROR_OUT_OF_RESOURCES);
	}
	*ptr = (void *)a->base;
	return stub_leave(HSA_STATUS_SUCCESS);
}

/*
 * The BAR range goes back to the heap at once, as freed memory does in
 * the real runtime; a dma-buf exported from it keeps the BAR itself
 * alive in the kernel, not the allocation.
 */
hsa_status_t hsa_amd_memory_pool_free(void *ptr)
{
	hsa_status_t ret = stub_enter();
	struct bar_alloc *a;

	if (ret)
		return stub_leave(ret);
	if (!ptr)
		return stub_leave(HSA_STATUS_SUCCESS);
	a = bar_heap_find(&stub.heap, (uintptr_t)ptr, 1);
	if (!a || a->base != (uintptr_t)ptr)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ALLOCATION);
	bar_heap_release(&stub.heap, a);
	free(a);
	return stub_leave(HSA_STATUS_SUCCESS);
}

/*
 * Synchronous, through the BAR mapping for GPU memory.  A range that
 * leaves its GPU allocation, or host memory that overlaps a device
 * reservation (which would fault), is an invalid argument.
 */
hsa_status_t hsa_memory_copy(void *dst, const void *src, size_t size)
{
	hsa_status_t ret = stub_enter();
	uint8_t *d, *s;
	bool gpu;

	if (ret)
		return stub_leave(ret);
	if (!dst || !src)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	if (!size)
		return stub_leave(HSA_STATUS_SUCCESS);
	if (!bar_heap_resolve(&stub.heap, (uintptr_t)dst, size, &d, &gpu) ||
	    !bar_heap_resolve(&stub.heap, (uintptr_t)src, size, &s, &gpu))
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	memmove(d, s, size);
	return stub_leave(HSA_STATUS_SUCCESS);
}

/*
 * As the real one: an address in no allocation is no error but type
 * UNKNOWN with every other field zero, and only the bytes below the
 * caller's info->size are written, so that a caller built against an
 * older, shorter struct gets no more than it has room for.  The
 * caller's allocator runs unlocked.
 */
hsa_status_t hsa_amd_pointer_info(const void *ptr,
				  hsa_amd_pointer_info_t *info,
				  void *(*alloc)(size_t),
				  uint32_t *num_agents_accessible,
				  hsa_agent_t **accessible)
{
	hsa_amd_pointer_info_t out = { 0 };
	hsa_status_t ret = stub_enter();
	struct bar_alloc *a;
	int owner = -1;

	if (ret)
		return stub_leave(ret);
	if (!ptr || !info || !info->size)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	out.size = info->size < sizeof(out) ? info->size : sizeof(out);
	out.type = HSA_EXT_POINTER_TYPE_UNKNOWN;
	a = bar_heap_find(&stub.heap, (uintptr_t)ptr, 1);
	if (a) {
		owner = alloc_agent(a);
		out.type = HSA_EXT_POINTER_TYPE_HSA;
		out.agentBaseAddress = (void *)a->base;
		/* The CPU cannot reach GPU memory: no host address. */
		if (owner == AGENT_CPU)
			out.hostBaseAddress = (void *)a->base;
		out.sizeInBytes = a->size;
		out.agentOwner = agent_handle(owner);
		out.global_flags = agent_desc[owner].pool_flags;
	}
	pthread_mutex_unlock(&stub.lock);

	memcpy(info, &out, out.size);
	if (owner < 0 || !alloc || !num_agents_accessible || !accessible)
		return HSA_STATUS_SUCCESS;
	/* Only the owner: no access was granted to any other agent. */
	*accessible = alloc(sizeof(hsa_agent_t));
	if (!*accessible)
		return HSA_STATUS_ERROR_OUT_OF_RESOURCES;
	(*accessible)[0] = agent_handle(owner);
	*num_agents_accessible = 1;
	return HSA_STATUS_SUCCESS;
}

/*
 * As the real runtime does with its buffer objects, the dma-buf is the
 * whole allocation (p2pmr's export of its BAR range, in pages) and
 * *offset locates ptr in it; the caller owns the fd.  Arguments are
 * checked before /dev/p2pmr is looked for, so that a bad call fails the
 * same on every machine.  No /dev/p2pmr is a kernel that cannot export
 * (HSA_STATUS_ERROR, as for a KFD too old to); a refused export, as a
 * failed KFD export ioctl, is out of resources, unless the kernel does
 * not know the ioctl.
 */
hsa_status_t hsa_amd_portable_export_dmabuf(const void *ptr, size_t size,
					    int *dmabuf, uint64_t *offset)
{
	hsa_status_t ret = stub_enter();
	size_t page = page_size();
	struct bar_alloc *a;
	uint64_t off, extent;
	bool opened;
	int fd;

	if (ret)
		return stub_leave(ret);
	if (!ptr || !dmabuf || !offset || !size)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	a = bar_heap_find(&stub.heap, (uintptr_t)ptr, page);
	if (!a)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ALLOCATION);
	off = (uintptr_t)ptr - a->base;
	extent = round_up(a->size, page);
	if (size > extent - off)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ALLOCATION);
	if (alloc_agent(a) != AGENT_GPU)
		return stub_leave(HSA_STATUS_ERROR_INVALID_AGENT);

	fd = bar_heap_export(&stub.heap, a, 0, extent, &opened);
	if (fd < 0) {
		ret = !opened || errno == ENOTTY || errno == EOPNOTSUPP ?
		      HSA_STATUS_ERROR : HSA_STATUS_ERROR_OUT_OF_RESOURCES;
		return stub_leave(ret);
	}
	*dmabuf = fd;
	*offset = off;
	return stub_leave(HSA_STATUS_SUCCESS);
}

hsa_status_t hsa_amd_portable_close_dmabuf(int dmabuf)
{
	hsa_status_t ret = stub_enter();

	pthread_mutex_unlock(&stub.lock);
	if (ret)
		return ret;
	return close(dmabuf) ? HSA_STATUS_ERROR_RESOURCE_FREE :
			       HSA_STATUS_SUCCESS;
}
