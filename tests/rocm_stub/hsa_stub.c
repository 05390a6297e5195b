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
 * ibv_reg_mr() refuses it, so only the dma-buf path can register it.
 * README.md says what is modelled and what is not.
 *
 * Every function here follows the documented semantics and return codes
 * of the real one; only symbols of the real API are exported.  One mutex
 * serialises everything but the caller's callbacks: tests need
 * determinism, not speed.
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
 * The library is built with hidden visibility: what hsa.h declares is
 * exported, nothing else, and hsa_stub.map gives it the real library's
 * symbol version.
 */
#pragma GCC visibility push(default)
#include "hsa.h"
#pragma GCC visibility pop

#include <linux/p2pmr.h>

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
/* The size of HSA_AGENT_INFO_NAME and HSA_AGENT_INFO_VENDOR_NAME. */
#define STUB_NAME_SIZE		64
/*
 * Device memory comes in 2 MiB granules, in the BAR and in VA alike, as
 * the real runtime's fragment allocator hands it out.
 */
#define STUB_GRANULE		(2UL << 20)

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

/* One hsa_amd_memory_pool_allocate() allocation. */
struct stub_alloc {
	struct stub_alloc *next;
	uintptr_t base;
	/* The size asked for, as pointer info reports it. */
	size_t size;
	/* What is reserved: 2 MiB multiple (GPU) or pages (CPU). */
	size_t span;
	/* GPU memory: where it lies in the BAR. */
	uint64_t bar_off;
	/* AGENT_CPU or AGENT_GPU: whose pool it came from. */
	int agent;
};

static struct {
	pthread_mutex_t lock;
	/* hsa_init() calls not yet matched by hsa_shut_down(). */
	unsigned int refs;
	/* Set up by the first hsa_init(), torn down by the last shut down. */
	bool has_gpu;
	int res_fd;
	uint8_t *bar;
	uint64_t bar_size;
	/* GPU heap: [heap_start, heap_end), both 2 MiB multiples. */
	uint64_t heap_start;
	uint64_t heap_end;
	unsigned int domain, bus, dev, fn;
	/* GPU allocations sorted by bar_off, for first fit. */
	struct stub_alloc *gpu_allocs;
	struct stub_alloc *cpu_allocs;
} stub = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.res_fd = -1,
};

/*
 * Why there is no GPU, or why an export failed, for whoever sets
 * P2PMR_ROCM_STUB_DEBUG; otherwise the library prints nothing, as the
 * real one.
 */
static void __attribute__((format(printf, 1, 2)))
stub_debug(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (getenv("P2PMR_ROCM_STUB_DEBUG")) {
		fputs("p2pmr-rocm-stub: ", stderr);
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

/* 1..8 hex digits at *s, at most max. */
static bool parse_hex(const char **s, unsigned long max, unsigned int *out)
{
	unsigned long v = 0;
	int n;

	for (n = 0; ; n++) {
		char c = (*s)[n];

		if (c >= '0' && c <= '9')
			c -= '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			c = (c | 0x20) - 'a' + 10;
		else
			break;
		if (n == 8)
			return false;
		v = v * 16 + c;
	}
	if (!n || v > max)
		return false;
	*s += n;
	*out = v;
	return true;
}

/* [domain:]bus:device.function, in hex: a sysfs device directory name. */
static bool parse_bdf(const char *s)
{
	unsigned int first;

	if (!parse_hex(&s, UINT_MAX, &first))
		return false;
	if (*s == ':' && strchr(s + 1, ':')) {
		s++;
		stub.domain = first;
		if (!parse_hex(&s, 0xff, &stub.bus))
			return false;
	} else {
		stub.domain = 0;
		stub.bus = first;
		if (first > 0xff)
			return false;
	}
	return *s++ == ':' && parse_hex(&s, 0x1f, &stub.dev) &&
	       *s++ == '.' && parse_hex(&s, 7, &stub.fn) && !*s;
}

/* The BDF of .../<bdf>/resource<N>, the sysfs layout. */
static bool bdf_of_resource(const char *path)
{
	char *copy = strdup(path);
	bool ok;

	if (!copy)
		return false;
	ok = parse_bdf(basename(dirname(copy)));
	if (!ok)
		stub_debug("%s: the directory name is not a PCI address", path);
	free(copy);
	return ok;
}

/* P2PMR_ROCM_STUB_OFFSET: whole granules, so the heap is aligned too. */
static bool parse_offset(const char *s, unsigned long long *off)
{
	char *end;

	errno = 0;
	*off = strtoull(s, &end, 0);
	if (errno || *end || *off % STUB_GRANULE) {
		stub_debug("P2PMR_ROCM_STUB_OFFSET=%s: not a multiple of 2 MiB",
			   s);
		return false;
	}
	return true;
}

/* Map the BAR whole; false (and no GPU agent) when it cannot be had. */
static bool open_bar(void)
{
	const char *path = getenv("P2PMR_ROCM_STUB_RESOURCE");
	const char *off_env = getenv("P2PMR_ROCM_STUB_OFFSET");
	unsigned long long off = 0;
	struct stat st;
	void *bar;
	int fd;

	if (!path || !*path) {
		stub_debug("P2PMR_ROCM_STUB_RESOURCE is not set: no GPU agent");
		return false;
	}
	if (!bdf_of_resource(path))
		return false;
	if (off_env && *off_env && !parse_offset(off_env, &off))
		return false;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		stub_debug("%s: %m", path);
		return false;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    (unsigned long long)st.st_size <= off) {
		stub_debug("%s: empty, or no room after offset %#llx", path,
			   off);
		close(fd);
		return false;
	}
	bar = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED) {
		stub_debug("%s: mmap: %m", path);
		close(fd);
		return false;
	}
	stub.res_fd = fd;
	stub.bar = bar;
	stub.bar_size = st.st_size;
	stub.heap_start = off;
	/* Only whole granules: a smaller tail can hold no allocation. */
	stub.heap_end = stub.bar_size & ~(uint64_t)(STUB_GRANULE - 1);
	if (stub.heap_end < stub.heap_start)
		stub.heap_end = stub.heap_start;
	return true;
}

static void free_list(struct stub_alloc **list)
{
	struct stub_alloc *a;

	while ((a = *list)) {
		*list = a->next;
		munmap((void *)a->base, a->span);
		free(a);
	}
}

/*
 * The last hsa_shut_down() takes all memory with it, as the real
 * runtime's unload does; a later hsa_init() starts afresh.
 */
static void close_all(void)
{
	free_list(&stub.gpu_allocs);
	free_list(&stub.cpu_allocs);
	if (stub.bar)
		munmap(stub.bar, stub.bar_size);
	if (stub.res_fd >= 0)
		close(stub.res_fd);
	stub.bar = NULL;
	stub.res_fd = -1;
	stub.has_gpu = false;
}

static bool p2pmr_present(void)
{
	return access("/dev/" P2PMR_DEVICE_NAME, F_OK) == 0;
}

/* Sizes of the pools, which are also their largest allocations. */
static size_t pool_size(int i)
{
	if (i == AGENT_GPU)
		return stub.heap_end - stub.heap_start;
	return (size_t)sysconf(_SC_PHYS_PAGES) * page_size();
}

static size_t pool_granule(int i)
{
	return i == AGENT_GPU ? STUB_GRANULE : page_size();
}

/*
 * The allocation holding p in its first bytes: the size asked for with
 * align 1, that size rounded up to align otherwise.
 */
static struct stub_alloc *find_alloc(uintptr_t p, size_t align)
{
	struct stub_alloc *lists[] = { stub.gpu_allocs, stub.cpu_allocs };
	struct stub_alloc *a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lists); i++)
		for (a = lists[i]; a; a = a->next)
			if (p >= a->base &&
			    p - a->base < round_up(a->size, align))
				return a;
	return NULL;
}

/*
 * Address space nobody can touch, 2 MiB aligned like the BAR offsets
 * behind it: reserve one granule more and trim both ends.
 */
static void *reserve_va(size_t span)
{
	size_t len = span + STUB_GRANULE;
	uintptr_t raw, start;
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
static hsa_status_t alloc_gpu(struct stub_alloc *a)
{
	struct stub_alloc **link = &stub.gpu_allocs;
	uint64_t at = stub.heap_start;
	void *va;

	a->span = round_up(a->size, STUB_GRANULE);
	for (; *link; link = &(*link)->next) {
		if ((*link)->bar_off - at >= a->span)
			break;
		at = (*link)->bar_off + (*link)->span;
	}
	if (at > stub.heap_end || stub.heap_end - at < a->span)
		return HSA_STATUS_ERROR_OUT_OF_RESOURCES;
	va = reserve_va(a->span);
	if (!va)
		return HSA_STATUS_ERROR_OUT_OF_RESOURCES;
	a->base = (uintptr_t)va;
	a->bar_off = at;
	a->next = *link;
	*link = a;
	return HSA_STATUS_SUCCESS;
}

static hsa_status_t alloc_cpu(struct stub_alloc *a)
{
	void *p;

	a->span = round_up(a->size, page_size());
	p = mmap(NULL, a->span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return HSA_STATUS_ERROR_OUT_OF_RESOURCES;
	a->base = (uintptr_t)p;
	a->next = stub.cpu_allocs;
	stub.cpu_allocs = a;
	return HSA_STATUS_SUCCESS;
}

/*
 * Where the CPU reaches [p, p + n): through the BAR mapping for GPU
 * memory, directly for host memory.  A range that leaves its GPU
 * allocation, or host memory that overlaps a device reservation (which
 * would fault), is an invalid argument.
 */
static hsa_status_t resolve(uintptr_t p, size_t n, uint8_t **cpu)
{
	struct stub_alloc *a;

	if (p + n < p)
		return HSA_STATUS_ERROR_INVALID_ARGUMENT;
	a = find_alloc(p, 1);
	if (a && a->agent == AGENT_GPU) {
		if (n > a->size - (p - a->base))
			return HSA_STATUS_ERROR_INVALID_ARGUMENT;
		*cpu = stub.bar + a->bar_off + (p - a->base);
		return HSA_STATUS_SUCCESS;
	}
	for (a = stub.gpu_allocs; a; a = a->next)
		if (p < a->base + a->span && a->base < p + n)
			return HSA_STATUS_ERROR_INVALID_ARGUMENT;
	*cpu = (uint8_t *)p;
	return HSA_STATUS_SUCCESS;
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
		stub.has_gpu = open_bar();
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
		*(bool *)value = p2pmr_present();
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
		*(uint32_t *)value = gpu ? stub.bus << 8 | stub.dev << 3 |
					   stub.fn : 0;
		break;
	case HSA_AMD_AGENT_INFO_DOMAIN:
		*(uint32_t *)value = gpu ? stub.domain : 0;
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
	struct stub_alloc *a;
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
	a->size = size;
	a->agent = i;
	ret = i == AGENT_GPU ? alloc_gpu(a) : alloc_cpu(a);
	if (ret) {
		free(a);
		return stub_leave(ret);
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
	struct stub_alloc **link, *a;

	if (ret)
		return stub_leave(ret);
	if (!ptr)
		return stub_leave(HSA_STATUS_SUCCESS);
	a = find_alloc((uintptr_t)ptr, 1);
	if (!a || a->base != (uintptr_t)ptr)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ALLOCATION);
	link = a->agent == AGENT_GPU ? &stub.gpu_allocs : &stub.cpu_allocs;
	while (*link != a)
		link = &(*link)->next;
	*link = a->next;
	munmap((void *)a->base, a->span);
	free(a);
	return stub_leave(HSA_STATUS_SUCCESS);
}

/* Synchronous, through the BAR mapping for GPU memory. */
hsa_status_t hsa_memory_copy(void *dst, const void *src, size_t size)
{
	hsa_status_t ret = stub_enter();
	uint8_t *d, *s;

	if (ret)
		return stub_leave(ret);
	if (!dst || !src)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	if (!size)
		return stub_leave(HSA_STATUS_SUCCESS);
	ret = resolve((uintptr_t)dst, size, &d);
	if (!ret)
		ret = resolve((uintptr_t)src, size, &s);
	if (ret)
		return stub_leave(ret);
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
	struct stub_alloc *a;
	int owner = -1;

	if (ret)
		return stub_leave(ret);
	if (!ptr || !info || !info->size)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	out.size = info->size < sizeof(out) ? info->size : sizeof(out);
	out.type = HSA_EXT_POINTER_TYPE_UNKNOWN;
	a = find_alloc((uintptr_t)ptr, 1);
	if (a) {
		owner = a->agent;
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
	struct p2pmr_export_fd exp = { .size = sizeof(exp) };
	hsa_status_t ret = stub_enter();
	size_t page = page_size();
	struct stub_alloc *a;
	uint64_t off, extent;
	int dev_fd;

	if (ret)
		return stub_leave(ret);
	if (!ptr || !dmabuf || !offset || !size)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ARGUMENT);
	a = find_alloc((uintptr_t)ptr, page);
	if (!a)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ALLOCATION);
	off = (uintptr_t)ptr - a->base;
	extent = round_up(a->size, page);
	if (size > extent - off)
		return stub_leave(HSA_STATUS_ERROR_INVALID_ALLOCATION);
	if (a->agent != AGENT_GPU)
		return stub_leave(HSA_STATUS_ERROR_INVALID_AGENT);

	dev_fd = open("/dev/" P2PMR_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (dev_fd < 0) {
		stub_debug("/dev/" P2PMR_DEVICE_NAME ": %m");
		return stub_leave(HSA_STATUS_ERROR);
	}
	exp.resource_fd = stub.res_fd;
	exp.open_flags = O_RDWR | O_CLOEXEC;
	exp.offset = a->bar_off;
	exp.length = extent;
	if (ioctl(dev_fd, P2PMR_IOCTL_EXPORT_FD, &exp) < 0) {
		ret = errno == ENOTTY || errno == EOPNOTSUPP ?
		      HSA_STATUS_ERROR : HSA_STATUS_ERROR_OUT_OF_RESOURCES;
		stub_debug("P2PMR_IOCTL_EXPORT_FD at %#llx+%#llx: %m",
			   (unsigned long long)exp.offset,
			   (unsigned long long)exp.length);
		close(dev_fd);
		return stub_leave(ret);
	}
	close(dev_fd);
	*dmabuf = exp.out_dmabuf_fd;
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
