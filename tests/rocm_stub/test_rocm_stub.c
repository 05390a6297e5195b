// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of the ROCm HSA runtime stand-in (libhsa-runtime64.so.1, a
 * test double): a 64 MiB regular file named resource2 in a directory
 * named like a PCI device plays the BAR.  What the library writes is read
 * back from the file with pread(), never through the library, and what
 * the tests of GPU paths rely on is pinned down here: the first GPU
 * allocation at P2PMR_ROCM_STUB_OFFSET, 2 MiB granules, inaccessible
 * device pointers, the real runtime's return codes.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hsa.h"
#include "stub_fixture.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIB		(1UL << 20)
#define BAR_SIZE	(64 * MIB)
#define HEAP_OFF	(4 * MIB)
#define BDF		"0001:2b:03.0"
/* (bus << 8) | (device << 3) | function of BDF. */
#define BDFID		(0x2b << 8 | 3 << 3 | 0)

#define ENV		"P2PMR_ROCM_STUB"

static struct fixture_bar bar;
static size_t page;

/* The agents and their pools, found by each initialised test. */
static hsa_agent_t cpu, gpu;
static hsa_amd_memory_pool_t cpu_pool, gpu_pool;

#define assert_hsa(call, expect) \
	assert_int_equal((int)(call), (int)(expect))

/* Write a pattern of len bytes at p and find it at BAR offset off. */
static void assert_lands_at(void *p, uint64_t off, size_t len,
			    unsigned int seed)
{
	uint8_t buf[4096];

	assert_true(len <= sizeof(buf));
	fixture_fill(buf, len, seed);
	assert_hsa(hsa_memory_copy(p, buf, len), HSA_STATUS_SUCCESS);
	assert_bar_has(&bar, off, buf, len);
}

static void *gpu_alloc(size_t size)
{
	void *p = NULL;

	assert_hsa(hsa_amd_memory_pool_allocate(gpu_pool, size, 0, &p),
		   HSA_STATUS_SUCCESS);
	assert_non_null(p);
	return p;
}

static hsa_status_t count_agent(hsa_agent_t agent, void *data)
{
	hsa_device_type_t type;
	int *count = data;

	if (hsa_agent_get_info(agent, HSA_AGENT_INFO_DEVICE, &type))
		return HSA_STATUS_ERROR;
	count[type == HSA_DEVICE_TYPE_GPU]++;
	return HSA_STATUS_SUCCESS;
}

/* GPU agents after hsa_init() (-1: it or the iteration failed). */
static int child_gpus(void)
{
	int count[2] = { 0, 0 };

	if (!hsa_init() && !hsa_iterate_agents(count_agent, count) &&
	    count[0] == 1)
		return count[1];
	return -1;
}

/*
 * hsa_init() in a child with the given environment: how many GPU agents
 * it found (-1: hsa_init() or the iteration failed); what it wrote on
 * stderr goes to err.
 */
static int gpus_in_child(const char *res, const char *off, bool debug,
			 char *err, size_t errlen)
{
	return fixture_in_child(ENV, res, off, debug, child_gpus, err,
				errlen);
}

/* Before hsa_init(): nothing but the status strings works. */
static void test_before_init(void **state)
{
	hsa_amd_pointer_info_t info = { .size = sizeof(info) };
	hsa_agent_t agent = { 1 };
	const char *s;
	uint64_t off;
	uint16_t v;
	void *p;
	int fd;

	(void)state;
	assert_hsa(hsa_shut_down(), HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_hsa(hsa_system_get_info(HSA_SYSTEM_INFO_VERSION_MAJOR, &v),
		   HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_hsa(hsa_iterate_agents(count_agent, NULL),
		   HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_hsa(hsa_agent_get_info(agent, HSA_AGENT_INFO_NAME, &v),
		   HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_hsa(hsa_amd_memory_pool_allocate(gpu_pool, MIB, 0, &p),
		   HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_hsa(hsa_amd_memory_pool_free(NULL),
		   HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_hsa(hsa_memory_copy(&v, &off, 1),
		   HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_hsa(hsa_amd_pointer_info(&v, &info, NULL, NULL, NULL),
		   HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_hsa(hsa_amd_portable_export_dmabuf(&v, 1, &fd, &off),
		   HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_hsa(hsa_amd_portable_close_dmabuf(-1),
		   HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_hsa(hsa_status_string(HSA_STATUS_ERROR_NOT_INITIALIZED, &s),
		   HSA_STATUS_SUCCESS);
	assert_non_null(strstr(s, "HSA_STATUS_ERROR_NOT_INITIALIZED"));
}

/* No usable BAR is no error, just no GPU agent. */
static void test_no_gpu(void **state)
{
	char missing[PATH_MAX + 16];
	char err[4096];

	(void)state;
	/* Silent unless asked: the real runtime prints nothing either. */
	assert_int_equal(gpus_in_child(NULL, NULL, false, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	assert_int_equal(gpus_in_child(NULL, NULL, true, err, sizeof(err)),
			 0);
	assert_non_null(strstr(err, "P2PMR_ROCM_STUB_RESOURCE"));

	snprintf(missing, sizeof(missing), "%s/resource0", bar.devdir);
	assert_int_equal(gpus_in_child(missing, NULL, false, err,
				       sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(gpus_in_child(missing, NULL, true, err,
				       sizeof(err)), 0);
	assert_non_null(strstr(err, "resource0"));
	assert_int_equal(gpus_in_child(bar.not_bdf, NULL, true, err,
				       sizeof(err)), 0);
	assert_non_null(strstr(err, "PCI address"));
	/* The heap starts on a granule, inside the BAR. */
	assert_int_equal(gpus_in_child(bar.path, "4096", true, err,
				       sizeof(err)), 0);
	assert_non_null(strstr(err, "P2PMR_ROCM_STUB_OFFSET"));
	assert_int_equal(gpus_in_child(bar.path, "0x4000000", false, err,
				       sizeof(err)), 0);
	assert_int_equal(gpus_in_child(bar.path, "2M", false, err,
				       sizeof(err)), 0);

	assert_int_equal(gpus_in_child(bar.path, "0x200000", false, err,
				       sizeof(err)), 1);
	assert_int_equal(gpus_in_child(bar.path, NULL, true, err,
				       sizeof(err)), 1);
	assert_string_equal(err, "");
}

static hsa_status_t find_agents(hsa_agent_t agent, void *data)
{
	hsa_device_type_t type;

	(void)data;
	if (hsa_agent_get_info(agent, HSA_AGENT_INFO_DEVICE, &type))
		return HSA_STATUS_ERROR;
	if (type == HSA_DEVICE_TYPE_GPU)
		gpu = agent;
	else
		cpu = agent;
	return HSA_STATUS_SUCCESS;
}

static hsa_status_t find_global_pool(hsa_amd_memory_pool_t pool, void *data)
{
	hsa_amd_segment_t segment;

	if (hsa_amd_memory_pool_get_info(pool,
					 HSA_AMD_MEMORY_POOL_INFO_SEGMENT,
					 &segment))
		return HSA_STATUS_ERROR;
	if (segment == HSA_AMD_SEGMENT_GLOBAL)
		*(hsa_amd_memory_pool_t *)data = pool;
	return HSA_STATUS_SUCCESS;
}

/*
 * Each initialised test starts from hsa_init() with an empty heap, and
 * its hsa_shut_down() frees whatever it left: the reference count drops
 * to 0 in between.
 */
static int init_setup(void **state)
{
	char off[32];

	(void)state;
	snprintf(off, sizeof(off), "%lu", HEAP_OFF);
	fixture_setenv(ENV, bar.path, off, false);
	cpu.handle = gpu.handle = 0;
	cpu_pool.handle = gpu_pool.handle = 0;
	if (hsa_init() || hsa_iterate_agents(find_agents, NULL) ||
	    hsa_amd_agent_iterate_memory_pools(cpu, find_global_pool,
					       &cpu_pool) ||
	    hsa_amd_agent_iterate_memory_pools(gpu, find_global_pool,
					       &gpu_pool))
		return -1;
	return cpu.handle && gpu.handle && cpu_pool.handle &&
	       gpu_pool.handle ? 0 : -1;
}

static int init_teardown(void **state)
{
	(void)state;
	return hsa_shut_down() == HSA_STATUS_SUCCESS ? 0 : -1;
}

struct seen {
	hsa_agent_t agents[4];
	int n;
	int stop_after;
};

static hsa_status_t record_agent(hsa_agent_t agent, void *data)
{
	struct seen *seen = data;

	if (seen->n < (int)ARRAY_SIZE(seen->agents))
		seen->agents[seen->n] = agent;
	if (++seen->n == seen->stop_after)
		return HSA_STATUS_INFO_BREAK;
	return HSA_STATUS_SUCCESS;
}

static void test_agents(void **state)
{
	struct seen seen = { .stop_after = 0 };
	hsa_agent_t bogus = { 0x1234 };
	hsa_device_type_t type;
	char name[64];
	uint32_t v;
	uint16_t ver;
	bool dmabuf;

	(void)state;
	/* The CPU agent first, as the real runtime lists them. */
	assert_hsa(hsa_iterate_agents(record_agent, &seen),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.agents[0].handle, cpu.handle);
	assert_int_equal(seen.agents[1].handle, gpu.handle);
	/* A callback's status other than success ends the iteration. */
	seen = (struct seen){ .stop_after = 1 };
	assert_hsa(hsa_iterate_agents(record_agent, &seen),
		   HSA_STATUS_INFO_BREAK);
	assert_int_equal(seen.n, 1);
	assert_hsa(hsa_iterate_agents(NULL, NULL),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);

	assert_hsa(hsa_agent_get_info(gpu, HSA_AGENT_INFO_DEVICE, &type),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(type, HSA_DEVICE_TYPE_GPU);
	assert_hsa(hsa_agent_get_info(cpu, HSA_AGENT_INFO_DEVICE, &type),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(type, HSA_DEVICE_TYPE_CPU);
	memset(name, 'x', sizeof(name));
	assert_hsa(hsa_agent_get_info(gpu, HSA_AGENT_INFO_NAME, name),
		   HSA_STATUS_SUCCESS);
	assert_string_equal(name, "p2pmr ROCm stand-in");
	/* The rest of the char[64] is NUL, as documented. */
	assert_int_equal(name[63], '\0');
	assert_hsa(hsa_agent_get_info(gpu, HSA_AGENT_INFO_VENDOR_NAME, name),
		   HSA_STATUS_SUCCESS);
	assert_string_equal(name, "AMD");
	assert_hsa(hsa_agent_get_info(cpu, HSA_AGENT_INFO_NAME, name),
		   HSA_STATUS_SUCCESS);
	assert_string_equal(name, "p2pmr ROCm stand-in CPU");

	/* The PCI address is the resource file's directory. */
	assert_hsa(hsa_agent_get_info(gpu,
				      (hsa_agent_info_t)HSA_AMD_AGENT_INFO_BDFID,
				      &v), HSA_STATUS_SUCCESS);
	assert_int_equal(v, BDFID);
	assert_hsa(hsa_agent_get_info(gpu,
				      (hsa_agent_info_t)
				      HSA_AMD_AGENT_INFO_DOMAIN,
				      &v), HSA_STATUS_SUCCESS);
	assert_int_equal(v, 1);
	assert_hsa(hsa_agent_get_info(cpu,
				      (hsa_agent_info_t)HSA_AMD_AGENT_INFO_BDFID,
				      &v), HSA_STATUS_SUCCESS);
	assert_int_equal(v, 0);
	assert_hsa(hsa_agent_get_info(gpu, HSA_AGENT_INFO_NODE, &v),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(v, 1);

	assert_hsa(hsa_agent_get_info(gpu, (hsa_agent_info_t)9999, &v),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_agent_get_info(gpu, HSA_AGENT_INFO_DEVICE, NULL),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_agent_get_info(bogus, HSA_AGENT_INFO_DEVICE, &type),
		   HSA_STATUS_ERROR_INVALID_AGENT);

	assert_hsa(hsa_system_get_info(HSA_AMD_SYSTEM_INFO_DMABUF_SUPPORTED,
				       &dmabuf), HSA_STATUS_SUCCESS);
	assert_int_equal(dmabuf, fixture_p2pmr_present());
	assert_hsa(hsa_system_get_info(HSA_AMD_SYSTEM_INFO_EXT_VERSION_MINOR,
				       &ver), HSA_STATUS_SUCCESS);
	assert_int_equal(ver, HSA_AMD_INTERFACE_VERSION_MINOR);
	assert_hsa(hsa_system_get_info(HSA_SYSTEM_INFO_VERSION_MAJOR, &ver),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(ver, 1);
	assert_hsa(hsa_system_get_info(HSA_AMD_SYSTEM_INFO_SVM_SUPPORTED,
				       &dmabuf),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
}

static hsa_status_t count_pool(hsa_amd_memory_pool_t pool, void *data)
{
	(void)pool;
	++*(int *)data;
	return HSA_STATUS_SUCCESS;
}

static void test_pools(void **state)
{
	hsa_amd_memory_pool_location_t loc;
	hsa_amd_memory_pool_t bogus = { 0x1234 };
	hsa_agent_t no_agent = { 0x1234 };
	hsa_amd_segment_t segment;
	uint32_t flags;
	bool allowed;
	size_t size;
	int n = 0;

	(void)state;
	assert_hsa(hsa_amd_agent_iterate_memory_pools(gpu, count_pool, &n),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(n, 1);
	assert_int_not_equal(gpu_pool.handle, cpu_pool.handle);
	assert_hsa(hsa_amd_agent_iterate_memory_pools(no_agent, count_pool,
						      &n),
		   HSA_STATUS_ERROR_INVALID_AGENT);
	assert_hsa(hsa_amd_agent_iterate_memory_pools(gpu, NULL, &n),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);

	assert_hsa(hsa_amd_memory_pool_get_info(gpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_SEGMENT, &segment),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(segment, HSA_AMD_SEGMENT_GLOBAL);
	assert_hsa(hsa_amd_memory_pool_get_info(gpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_GLOBAL_FLAGS, &flags),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(flags, HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_COARSE_GRAINED);
	assert_hsa(hsa_amd_memory_pool_get_info(gpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_SIZE, &size),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(size, BAR_SIZE - HEAP_OFF);
	assert_hsa(hsa_amd_memory_pool_get_info(gpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_ALLOC_MAX_SIZE, &size),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(size, BAR_SIZE - HEAP_OFF);
	assert_hsa(hsa_amd_memory_pool_get_info(gpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_GRANULE, &size),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(size, 2 * MIB);
	assert_hsa(hsa_amd_memory_pool_get_info(gpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_ALLOWED,
			&allowed), HSA_STATUS_SUCCESS);
	assert_true(allowed);
	assert_hsa(hsa_amd_memory_pool_get_info(gpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_LOCATION, &loc),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(loc, HSA_AMD_MEMORY_POOL_LOCATION_GPU);
	assert_hsa(hsa_amd_memory_pool_get_info(gpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_ACCESSIBLE_BY_ALL, &allowed),
		   HSA_STATUS_SUCCESS);
	assert_false(allowed);

	assert_hsa(hsa_amd_memory_pool_get_info(cpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_GLOBAL_FLAGS, &flags),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(flags, HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_FINE_GRAINED);
	assert_hsa(hsa_amd_memory_pool_get_info(cpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_LOCATION, &loc),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(loc, HSA_AMD_MEMORY_POOL_LOCATION_CPU);
	assert_hsa(hsa_amd_memory_pool_get_info(cpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_GRANULE, &size),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(size, page);

	assert_hsa(hsa_amd_memory_pool_get_info(gpu_pool,
			(hsa_amd_memory_pool_info_t)3, &size),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_amd_memory_pool_get_info(gpu_pool,
			HSA_AMD_MEMORY_POOL_INFO_SIZE, NULL),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_amd_memory_pool_get_info(bogus,
			HSA_AMD_MEMORY_POOL_INFO_SIZE, &size),
		   HSA_STATUS_ERROR_INVALID_MEMORY_POOL);
}

static void test_placement(void **state)
{
	void *a, *b, *c, *d, *big, *p;

	(void)state;
	/* The first allocation lands at the offset. */
	a = gpu_alloc(MIB);
	assert_lands_at(a, HEAP_OFF, 4096, 1);
	/* First fit, in 2 MiB granules. */
	b = gpu_alloc(3 * MIB);
	assert_lands_at(b, HEAP_OFF + 2 * MIB, 4096, 2);
	c = gpu_alloc(2 * MIB);
	assert_lands_at(c, HEAP_OFF + 6 * MIB, 4096, 3);
	assert_hsa(hsa_amd_memory_pool_free(b), HSA_STATUS_SUCCESS);
	d = gpu_alloc(4 * MIB);
	assert_lands_at(d, HEAP_OFF + 2 * MIB, 4096, 4);
	assert_hsa(hsa_amd_memory_pool_free(d), HSA_STATUS_SUCCESS);
	d = gpu_alloc(4 * MIB + 1);
	assert_lands_at(d, HEAP_OFF + 8 * MIB, 4096, 5);

	/* Device addresses are 2 MiB aligned too. */
	assert_int_equal((uintptr_t)a % (2 * MIB), 0);
	assert_int_equal((uintptr_t)c % (2 * MIB), 0);
	assert_int_equal((uintptr_t)d % (2 * MIB), 0);

	/* Refused inputs. */
	assert_hsa(hsa_amd_memory_pool_allocate(gpu_pool, BAR_SIZE, 0, &p),
		   HSA_STATUS_ERROR_INVALID_ALLOCATION);
	assert_hsa(hsa_amd_memory_pool_allocate(gpu_pool, 0, 0, &p),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_amd_memory_pool_allocate(gpu_pool, MIB, 0, NULL),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_amd_memory_pool_allocate(
			(hsa_amd_memory_pool_t){ gpu.handle }, MIB, 0, &p),
		   HSA_STATUS_ERROR_INVALID_MEMORY_POOL);
	/* 50 MiB are free, but not 48 in one piece. */
	assert_hsa(hsa_amd_memory_pool_allocate(gpu_pool, 48 * MIB, 0, &p),
		   HSA_STATUS_ERROR_OUT_OF_RESOURCES);

	/* The rest of the heap, to the last byte. */
	big = gpu_alloc(BAR_SIZE - HEAP_OFF - 14 * MIB);
	assert_lands_at(big, HEAP_OFF + 14 * MIB, 4096, 6);
	b = gpu_alloc(1);
	assert_lands_at(b, HEAP_OFF + 2 * MIB, 1, 7);
	/* Flags change nothing. */
	assert_hsa(hsa_amd_memory_pool_allocate(gpu_pool, 1,
				HSA_AMD_MEMORY_POOL_CONTIGUOUS_FLAG, &b),
		   HSA_STATUS_SUCCESS);
	assert_lands_at(b, HEAP_OFF + 4 * MIB, 1, 8);
	assert_hsa(hsa_amd_memory_pool_allocate(gpu_pool, 1, 0, &p),
		   HSA_STATUS_ERROR_OUT_OF_RESOURCES);

	/* Freeing: allocation bases only; NULL is nothing to do. */
	assert_hsa(hsa_amd_memory_pool_free((char *)a + 1),
		   HSA_STATUS_ERROR_INVALID_ALLOCATION);
	assert_hsa(hsa_amd_memory_pool_free(&p),
		   HSA_STATUS_ERROR_INVALID_ALLOCATION);
	assert_hsa(hsa_amd_memory_pool_free(NULL), HSA_STATUS_SUCCESS);
	assert_hsa(hsa_amd_memory_pool_free(a), HSA_STATUS_SUCCESS);
	assert_hsa(hsa_amd_memory_pool_free(a),
		   HSA_STATUS_ERROR_INVALID_ALLOCATION);
	/* The rest is left for hsa_shut_down() to free. */
}

static void test_copies(void **state)
{
	uint8_t src[8192], dst[8192], expect[8192];
	uint8_t *a, *c, *host;

	(void)state;
	a = gpu_alloc(MIB);
	c = gpu_alloc(MIB);

	/* Round trip, read back from the file too. */
	fixture_fill(src, sizeof(src), 9);
	assert_hsa(hsa_memory_copy(a + 100, src, sizeof(src)),
		   HSA_STATUS_SUCCESS);
	assert_bar_has(&bar, HEAP_OFF + 100, src, sizeof(src));
	assert_hsa(hsa_memory_copy(dst, a + 100, sizeof(dst)),
		   HSA_STATUS_SUCCESS);
	assert_memory_equal(dst, src, sizeof(src));

	/* The mapping is shared: the file's bytes are the device's. */
	fixture_fill(expect, sizeof(expect), 10);
	assert_int_equal(pwrite(bar.fd, expect, sizeof(expect),
				HEAP_OFF + 2 * MIB), sizeof(expect));
	assert_hsa(hsa_memory_copy(dst, c, sizeof(dst)), HSA_STATUS_SUCCESS);
	assert_memory_equal(dst, expect, sizeof(expect));

	/* Device to device. */
	assert_hsa(hsa_memory_copy(c + 4096, a + 100, sizeof(src)),
		   HSA_STATUS_SUCCESS);
	assert_bar_has(&bar, HEAP_OFF + 2 * MIB + 4096, src, sizeof(src));

	/* CPU-pool memory, both ways, and host to host. */
	assert_hsa(hsa_amd_memory_pool_allocate(cpu_pool, 100, 0,
						(void **)&host),
		   HSA_STATUS_SUCCESS);
	assert_hsa(hsa_memory_copy(host, a + 100, 100), HSA_STATUS_SUCCESS);
	assert_memory_equal(host, src, 100);
	fixture_fill(host, 100, 12);
	assert_hsa(hsa_memory_copy(a, host, 100), HSA_STATUS_SUCCESS);
	assert_bar_has(&bar, HEAP_OFF, host, 100);
	assert_hsa(hsa_memory_copy(dst, host, 100), HSA_STATUS_SUCCESS);
	assert_memory_equal(dst, host, 100);
	assert_hsa(hsa_amd_memory_pool_free(host), HSA_STATUS_SUCCESS);

	/* Refused: out of the allocation, host range over a reservation. */
	assert_hsa(hsa_memory_copy(a + MIB - 10, src, 11),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_memory_copy(dst, a + MIB - 10, 11),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	/* Past the size asked for, inside the granule: would fault. */
	assert_hsa(hsa_memory_copy(dst, a + MIB, 1),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_memory_copy(NULL, src, 1),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_memory_copy(dst, NULL, 1),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_memory_copy(a, src, 0), HSA_STATUS_SUCCESS);
}

static void test_device_pointer_faults(void **state)
{
	uint8_t *a;

	(void)state;
	a = gpu_alloc(3 * MIB);
	/* The whole reservation, granule-rounded. */
	assert_true(fixture_prot_none((uintptr_t)a, 4 * MIB));
	assert_store_faults(a + 4096);

	/* Freed: the address space goes too. */
	assert_hsa(hsa_amd_memory_pool_free(a), HSA_STATUS_SUCCESS);
	assert_false(fixture_prot_none((uintptr_t)a, 4 * MIB));
}

static void *null_alloc(size_t size)
{
	(void)size;
	return NULL;
}

static void test_pointer_info(void **state)
{
	hsa_amd_pointer_info_t info;
	hsa_agent_t *agents;
	uint8_t *a, *host;
	uint32_t n;
	int *heap;

	(void)state;
	a = gpu_alloc(3 * MIB);
	assert_hsa(hsa_amd_memory_pool_allocate(cpu_pool, 5000, 0,
						(void **)&host),
		   HSA_STATUS_SUCCESS);
	assert_int_equal((uintptr_t)host % page, 0);

	/* Anywhere inside a GPU allocation. */
	memset(&info, 0xff, sizeof(info));
	info.size = sizeof(info);
	agents = NULL;
	n = 0;
	assert_hsa(hsa_amd_pointer_info(a + 12345, &info, malloc, &n,
					&agents), HSA_STATUS_SUCCESS);
	assert_int_equal(info.size, sizeof(info));
	assert_int_equal(info.type, HSA_EXT_POINTER_TYPE_HSA);
	assert_ptr_equal(info.agentBaseAddress, a);
	/* The CPU has no access to device memory. */
	assert_null(info.hostBaseAddress);
	assert_int_equal(info.sizeInBytes, 3 * MIB);
	assert_null(info.userData);
	assert_int_equal(info.agentOwner.handle, gpu.handle);
	assert_int_equal(info.global_flags,
			 HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_COARSE_GRAINED);
	assert_int_equal(n, 1);
	assert_non_null(agents);
	assert_int_equal(agents[0].handle, gpu.handle);
	free(agents);
	info.size = sizeof(info);
	assert_hsa(hsa_amd_pointer_info(a + 3 * MIB - 1, &info, NULL, NULL,
					NULL), HSA_STATUS_SUCCESS);
	assert_int_equal(info.type, HSA_EXT_POINTER_TYPE_HSA);
	assert_ptr_equal(info.agentBaseAddress, a);

	/* CPU-pool memory: the CPU owns it and reaches it directly. */
	info.size = sizeof(info);
	assert_hsa(hsa_amd_pointer_info(host + 4999, &info, malloc, &n,
					&agents), HSA_STATUS_SUCCESS);
	assert_int_equal(info.type, HSA_EXT_POINTER_TYPE_HSA);
	assert_ptr_equal(info.agentBaseAddress, host);
	assert_ptr_equal(info.hostBaseAddress, host);
	assert_int_equal(info.sizeInBytes, 5000);
	assert_int_equal(info.agentOwner.handle, cpu.handle);
	assert_int_equal(info.global_flags,
			 HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_FINE_GRAINED);
	assert_int_equal(n, 1);
	assert_int_equal(agents[0].handle, cpu.handle);
	free(agents);

	/* Unknown memory: no error, type UNKNOWN, the rest zeroed. */
	heap = malloc(64);
	assert_non_null(heap);
	memset(&info, 0xff, sizeof(info));
	info.size = sizeof(info);
	agents = NULL;
	n = 7;
	assert_hsa(hsa_amd_pointer_info(heap, &info, malloc, &n, &agents),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(info.type, HSA_EXT_POINTER_TYPE_UNKNOWN);
	assert_null(info.agentBaseAddress);
	assert_int_equal(info.sizeInBytes, 0);
	assert_int_equal(info.agentOwner.handle, 0);
	/* No list for it. */
	assert_null(agents);
	assert_int_equal(n, 7);
	free(heap);
	/* Past the size asked for, inside the granule: no allocation. */
	info.size = sizeof(info);
	assert_hsa(hsa_amd_pointer_info(a + 3 * MIB, &info, NULL, NULL,
					NULL), HSA_STATUS_SUCCESS);
	assert_int_equal(info.type, HSA_EXT_POINTER_TYPE_UNKNOWN);

	/* An older, shorter struct: nothing written at or past its size. */
	memset(&info, 0xff, sizeof(info));
	info.size = offsetof(hsa_amd_pointer_info_t, agentOwner);
	assert_hsa(hsa_amd_pointer_info(a, &info, NULL, NULL, NULL),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(info.size, offsetof(hsa_amd_pointer_info_t,
					     agentOwner));
	assert_int_equal(info.type, HSA_EXT_POINTER_TYPE_HSA);
	assert_int_equal(info.sizeInBytes, 3 * MIB);
	assert_int_equal(info.agentOwner.handle, UINT64_MAX);
	assert_int_equal(info.global_flags, UINT32_MAX);
	/* A newer, longer one: the size comes back as the runtime's. */
	info.size = sizeof(info) + 64;
	assert_hsa(hsa_amd_pointer_info(a, &info, NULL, NULL, NULL),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(info.size, sizeof(info));
	assert_int_equal(info.agentOwner.handle, gpu.handle);

	/* Refused. */
	info.size = 0;
	assert_hsa(hsa_amd_pointer_info(a, &info, NULL, NULL, NULL),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	info.size = sizeof(info);
	assert_hsa(hsa_amd_pointer_info(NULL, &info, NULL, NULL, NULL),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_amd_pointer_info(a, NULL, NULL, NULL, NULL),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	/* The list's allocator failing, after the info is written. */
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	assert_hsa(hsa_amd_pointer_info(a, &info, null_alloc, &n, &agents),
		   HSA_STATUS_ERROR_OUT_OF_RESOURCES);
	assert_int_equal(info.type, HSA_EXT_POINTER_TYPE_HSA);

	/* Freed memory is unknown again. */
	assert_hsa(hsa_amd_memory_pool_free(a), HSA_STATUS_SUCCESS);
	info.size = sizeof(info);
	assert_hsa(hsa_amd_pointer_info(a, &info, NULL, NULL, NULL),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(info.type, HSA_EXT_POINTER_TYPE_UNKNOWN);
}

static void test_export_arguments(void **state)
{
	uint8_t *a, *b, *small, *host;
	uint64_t off = 42;
	int fd = -1;
	void *heap;

	(void)state;
	/* 3 MiB: the reservation's last MiB belongs to no allocation. */
	a = gpu_alloc(3 * MIB);
	b = gpu_alloc(2 * MIB);
	small = gpu_alloc(1000);
	assert_hsa(hsa_amd_memory_pool_allocate(cpu_pool, page, 0,
						(void **)&host),
		   HSA_STATUS_SUCCESS);
	heap = aligned_alloc(page, page);
	assert_non_null(heap);

	/* Refused inputs, the same whatever the machine. */
	assert_hsa(hsa_amd_portable_export_dmabuf(NULL, page, &fd, &off),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_amd_portable_export_dmabuf(a, page, NULL, &off),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_amd_portable_export_dmabuf(a, page, &fd, NULL),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_hsa(hsa_amd_portable_export_dmabuf(a, 0, &fd, &off),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	/* Not in one GPU allocation. */
	assert_hsa(hsa_amd_portable_export_dmabuf(heap, page, &fd, &off),
		   HSA_STATUS_ERROR_INVALID_ALLOCATION);
	assert_hsa(hsa_amd_portable_export_dmabuf(a + 3 * MIB, 1, &fd, &off),
		   HSA_STATUS_ERROR_INVALID_ALLOCATION);
	assert_hsa(hsa_amd_portable_export_dmabuf(a, 3 * MIB + 1, &fd, &off),
		   HSA_STATUS_ERROR_INVALID_ALLOCATION);
	assert_hsa(hsa_amd_portable_export_dmabuf(a + 3 * MIB - 1, 2, &fd,
						  &off),
		   HSA_STATUS_ERROR_INVALID_ALLOCATION);
	assert_hsa(hsa_amd_portable_export_dmabuf(a + 1, SIZE_MAX, &fd, &off),
		   HSA_STATUS_ERROR_INVALID_ALLOCATION);
	/* 1000 bytes export as one page, no more. */
	assert_hsa(hsa_amd_portable_export_dmabuf(small, page + 1, &fd, &off),
		   HSA_STATUS_ERROR_INVALID_ALLOCATION);
	assert_hsa(hsa_amd_portable_export_dmabuf(small + page, 1, &fd, &off),
		   HSA_STATUS_ERROR_INVALID_ALLOCATION);
	/* CPU-pool memory is not the GPU's to export. */
	assert_hsa(hsa_amd_portable_export_dmabuf(host, page, &fd, &off),
		   HSA_STATUS_ERROR_INVALID_AGENT);
	/* Nothing written on failure. */
	assert_int_equal(fd, -1);
	assert_int_equal(off, 42);
	free(heap);

	assert_hsa(hsa_amd_portable_close_dmabuf(-1),
		   HSA_STATUS_ERROR_RESOURCE_FREE);
	fd = dup(bar.fd);
	assert_true(fd >= 0);
	assert_hsa(hsa_amd_portable_close_dmabuf(fd), HSA_STATUS_SUCCESS);
	fd = -1;

	if (fixture_p2pmr_present()) {
		print_message("skip: /dev/p2pmr exists on this host\n");
		skip();
	}
	/* Good arguments, but no p2pmr to export with. */
	assert_hsa(hsa_amd_portable_export_dmabuf(a, 3 * MIB, &fd, &off),
		   HSA_STATUS_ERROR);
	assert_hsa(hsa_amd_portable_export_dmabuf(a + 12345, 100, &fd, &off),
		   HSA_STATUS_ERROR);
	assert_hsa(hsa_amd_portable_export_dmabuf(small + 999, 1, &fd, &off),
		   HSA_STATUS_ERROR);
	assert_hsa(hsa_amd_portable_export_dmabuf(b, 2 * MIB, &fd, &off),
		   HSA_STATUS_ERROR);
	assert_int_equal(fd, -1);
	assert_int_equal(off, 42);
}

/* Each reference counts; the last one frees all memory. */
static void test_refcount(void **state)
{
	hsa_amd_pointer_info_t info = { .size = sizeof(info) };
	void *a;

	(void)state;
	assert_int_equal(init_setup(NULL), 0);
	assert_hsa(hsa_init(), HSA_STATUS_SUCCESS);
	a = gpu_alloc(MIB);
	assert_hsa(hsa_shut_down(), HSA_STATUS_SUCCESS);
	/* Still initialised: the allocation lives on. */
	assert_hsa(hsa_amd_pointer_info(a, &info, NULL, NULL, NULL),
		   HSA_STATUS_SUCCESS);
	assert_int_equal(info.type, HSA_EXT_POINTER_TYPE_HSA);
	assert_hsa(hsa_shut_down(), HSA_STATUS_SUCCESS);
	assert_hsa(hsa_amd_pointer_info(a, &info, NULL, NULL, NULL),
		   HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_hsa(hsa_shut_down(), HSA_STATUS_ERROR_NOT_INITIALIZED);
	assert_false(fixture_prot_none((uintptr_t)a, 2 * MIB));

	/* A new first reference reads the environment again. */
	setenv("P2PMR_ROCM_STUB_OFFSET", "0x200000", 1);
	assert_hsa(hsa_init(), HSA_STATUS_SUCCESS);
	assert_hsa(hsa_iterate_agents(find_agents, NULL), HSA_STATUS_SUCCESS);
	assert_hsa(hsa_amd_agent_iterate_memory_pools(gpu, find_global_pool,
						      &gpu_pool),
		   HSA_STATUS_SUCCESS);
	a = gpu_alloc(MIB);
	assert_lands_at(a, 2 * MIB, 4096, 13);
	assert_hsa(hsa_shut_down(), HSA_STATUS_SUCCESS);
}

#define THREADS		4
#define ROUNDS		200

static void *hammer(void *arg)
{
	hsa_amd_pointer_info_t info;
	uint8_t buf[64], back[64];
	uint8_t *p;
	int i;

	fixture_fill(buf, sizeof(buf), (uintptr_t)arg);
	for (i = 0; i < ROUNDS; i++) {
		if (hsa_amd_memory_pool_allocate(gpu_pool, MIB, 0,
						 (void **)&p))
			return "allocate";
		info.size = sizeof(info);
		if (hsa_amd_pointer_info(p + 1, &info, NULL, NULL, NULL) ||
		    info.agentBaseAddress != p)
			return "pointer info";
		if (hsa_memory_copy(p, buf, sizeof(buf)) ||
		    hsa_memory_copy(back, p, sizeof(back)) ||
		    memcmp(buf, back, sizeof(buf)))
			return "copy";
		if (hsa_amd_memory_pool_free(p))
			return "free";
	}
	return NULL;
}

/* Concurrent callers each see their own allocation, whole. */
static void test_threads(void **state)
{
	pthread_t t[THREADS];
	void *err;
	int i;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer,
						(void *)(uintptr_t)(i + 1)),
				 0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &err), 0);
		if (err)
			fail_msg("thread %d: %s", i, (char *)err);
	}
}

static void test_status_strings(void **state)
{
	static const struct {
		int status;
		const char *name;
	} codes[] = {
		{ HSA_STATUS_SUCCESS, "HSA_STATUS_SUCCESS" },
		{ HSA_STATUS_INFO_BREAK, "HSA_STATUS_INFO_BREAK" },
		{ HSA_STATUS_ERROR, "HSA_STATUS_ERROR" },
		{ HSA_STATUS_ERROR_INVALID_ARGUMENT,
		  "HSA_STATUS_ERROR_INVALID_ARGUMENT" },
		{ HSA_STATUS_ERROR_INVALID_ALLOCATION,
		  "HSA_STATUS_ERROR_INVALID_ALLOCATION" },
		{ HSA_STATUS_ERROR_INVALID_AGENT,
		  "HSA_STATUS_ERROR_INVALID_AGENT" },
		{ HSA_STATUS_ERROR_OUT_OF_RESOURCES,
		  "HSA_STATUS_ERROR_OUT_OF_RESOURCES" },
		{ HSA_STATUS_ERROR_RESOURCE_FREE,
		  "HSA_STATUS_ERROR_RESOURCE_FREE" },
		{ HSA_STATUS_ERROR_NOT_INITIALIZED,
		  "HSA_STATUS_ERROR_NOT_INITIALIZED" },
		{ HSA_STATUS_ERROR_REFCOUNT_OVERFLOW,
		  "HSA_STATUS_ERROR_REFCOUNT_OVERFLOW" },
		{ HSA_STATUS_ERROR_FATAL, "HSA_STATUS_ERROR_FATAL" },
		{ HSA_STATUS_ERROR_INVALID_MEMORY_POOL,
		  "HSA_STATUS_ERROR_INVALID_MEMORY_POOL" },
		{ HSA_STATUS_ERROR_RESOURCE_BUSY,
		  "HSA_STATUS_ERROR_RESOURCE_BUSY" },
	};
	const char *s;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		s = NULL;
		assert_hsa(hsa_status_string((hsa_status_t)codes[i].status,
					     &s), HSA_STATUS_SUCCESS);
		assert_non_null(s);
		/* "NAME: text", as the real runtime's strings. */
		assert_int_equal(strncmp(s, codes[i].name,
					 strlen(codes[i].name)), 0);
		assert_int_equal(s[strlen(codes[i].name)], ':');
	}
	s = "x";
	assert_hsa(hsa_status_string((hsa_status_t)12345, &s),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
	assert_string_equal(s, "x");
	assert_hsa(hsa_status_string(HSA_STATUS_SUCCESS, NULL),
		   HSA_STATUS_ERROR_INVALID_ARGUMENT);
}

static void test_symbols(void **state)
{
	static const char *const exported[] = {
		"hsa_status_string", "hsa_init", "hsa_shut_down",
		"hsa_system_get_info", "hsa_iterate_agents",
		"hsa_agent_get_info", "hsa_amd_agent_iterate_memory_pools",
		"hsa_amd_memory_pool_get_info", "hsa_amd_memory_pool_allocate",
		"hsa_amd_memory_pool_free", "hsa_memory_copy",
		"hsa_amd_pointer_info", "hsa_amd_portable_export_dmabuf",
		"hsa_amd_portable_close_dmabuf",
	};
	size_t i;

	(void)state;
	/* The real library's symbols, at its version, and nothing of ours. */
	for (i = 0; i < ARRAY_SIZE(exported); i++)
		assert_non_null(dlvsym(RTLD_DEFAULT, exported[i], "ROCR_1"));
	assert_null(dlsym(RTLD_DEFAULT, "stub_enter"));
	assert_null(dlsym(RTLD_DEFAULT, "stub"));
	assert_null(dlsym(RTLD_DEFAULT, "find_alloc"));
	/* Nor of the code it shares with the CUDA stand-in. */
	assert_null(dlsym(RTLD_DEFAULT, "bar_heap_find"));
}

#define INIT_TEST(f) \
	cmocka_unit_test_setup_teardown(f, init_setup, init_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_before_init),
		cmocka_unit_test(test_no_gpu),
		INIT_TEST(test_agents),
		INIT_TEST(test_pools),
		INIT_TEST(test_placement),
		INIT_TEST(test_copies),
		INIT_TEST(test_device_pointer_faults),
		INIT_TEST(test_pointer_info),
		INIT_TEST(test_export_arguments),
		cmocka_unit_test(test_refcount),
		INIT_TEST(test_threads),
		cmocka_unit_test(test_status_strings),
		cmocka_unit_test(test_symbols),
	};
	int failed;

	page = sysconf(_SC_PAGESIZE);
	fixture_bar_create(&bar, "rocm_stub", BDF, BAR_SIZE);
	failed = cmocka_run_group_tests_name("rocm_stub", tests, NULL, NULL);
	fixture_bar_remove(&bar);
	return failed ? 1 : 0;
}
