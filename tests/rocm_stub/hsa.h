/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TEST DOUBLE: the header of p2pmr's stand-in for AMD's ROCm HSA runtime
 * (libhsa-runtime64.so.1), for tests on machines without a GPU.  It is not
 * AMD's <hsa/hsa.h> or <hsa/hsa_ext_amd.h> and is never installed.
 *
 * Written from the documented HSA and AMD extension APIs, it declares the
 * subset the stand-in implements (README.md beside it), with the real
 * headers' type names, struct layouts and the real numeric value of every
 * constant it defines, so that a program built against it runs on either
 * library.  Enumerations list only the members the stand-in knows; the
 * values of the others are the real headers' business.
 *
 * One header stands for both real ones: it takes both include guards, so
 * that a program including either real header after this one gets no
 * conflicting second definition.
 */
#ifndef HSA_RUNTIME_INC_HSA_H_
#define HSA_RUNTIME_INC_HSA_H_
#define HSA_RUNTIME_EXT_AMD_H_

#include <stddef.h>
#include <stdint.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

#define HSA_VERSION_1_0 1

/*
 * The AMD extension interface version: 1.1 is the first with dma-buf
 * export, the newest feature the stand-in has.
 */
#define HSA_AMD_INTERFACE_VERSION_MAJOR 1
#define HSA_AMD_INTERFACE_VERSION_MINOR 1

#ifndef HSA_API
#define HSA_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
	HSA_STATUS_SUCCESS = 0x0,
	HSA_STATUS_INFO_BREAK = 0x1,
	HSA_STATUS_ERROR = 0x1000,
	HSA_STATUS_ERROR_INVALID_ARGUMENT = 0x1001,
	HSA_STATUS_ERROR_INVALID_QUEUE_CREATION = 0x1002,
	HSA_STATUS_ERROR_INVALID_ALLOCATION = 0x1003,
	HSA_STATUS_ERROR_INVALID_AGENT = 0x1004,
	HSA_STATUS_ERROR_INVALID_REGION = 0x1005,
	HSA_STATUS_ERROR_INVALID_SIGNAL = 0x1006,
	HSA_STATUS_ERROR_INVALID_QUEUE = 0x1007,
	HSA_STATUS_ERROR_OUT_OF_RESOURCES = 0x1008,
	HSA_STATUS_ERROR_INVALID_PACKET_FORMAT = 0x1009,
	HSA_STATUS_ERROR_RESOURCE_FREE = 0x100A,
	HSA_STATUS_ERROR_NOT_INITIALIZED = 0x100B,
	HSA_STATUS_ERROR_REFCOUNT_OVERFLOW = 0x100C,
	HSA_STATUS_ERROR_INCOMPATIBLE_ARGUMENTS = 0x100D,
	HSA_STATUS_ERROR_INVALID_INDEX = 0x100E,
	HSA_STATUS_ERROR_INVALID_ISA = 0x100F,
	HSA_STATUS_ERROR_INVALID_ISA_NAME = 0x1017,
	HSA_STATUS_ERROR_INVALID_CODE_OBJECT = 0x1010,
	HSA_STATUS_ERROR_INVALID_EXECUTABLE = 0x1011,
	HSA_STATUS_ERROR_FROZEN_EXECUTABLE = 0x1012,
	HSA_STATUS_ERROR_INVALID_SYMBOL_NAME = 0x1013,
	HSA_STATUS_ERROR_VARIABLE_ALREADY_DEFINED = 0x1014,
	HSA_STATUS_ERROR_VARIABLE_UNDEFINED = 0x1015,
	HSA_STATUS_ERROR_EXCEPTION = 0x1016,
	HSA_STATUS_ERROR_INVALID_CODE_SYMBOL = 0x1018,
	HSA_STATUS_ERROR_INVALID_EXECUTABLE_SYMBOL = 0x1019,
	HSA_STATUS_ERROR_INVALID_FILE = 0x1020,
	HSA_STATUS_ERROR_INVALID_CODE_OBJECT_READER = 0x1021,
	HSA_STATUS_ERROR_INVALID_CACHE = 0x1022,
	HSA_STATUS_ERROR_INVALID_WAVEFRONT = 0x1023,
	HSA_STATUS_ERROR_INVALID_SIGNAL_GROUP = 0x1024,
	HSA_STATUS_ERROR_INVALID_RUNTIME_STATE = 0x1025,
	HSA_STATUS_ERROR_FATAL = 0x1026
} hsa_status_t;

/* The AMD extension's additions to hsa_status_t. */
enum {
	HSA_STATUS_ERROR_INVALID_MEMORY_POOL = 40,
	HSA_STATUS_ERROR_MEMORY_APERTURE_VIOLATION = 41,
	HSA_STATUS_ERROR_ILLEGAL_INSTRUCTION = 42,
	HSA_STATUS_ERROR_MEMORY_FAULT = 43,
	HSA_STATUS_CU_MASK_REDUCED = 44,
	HSA_STATUS_ERROR_OUT_OF_REGISTERS = 45,
	HSA_STATUS_ERROR_RESOURCE_BUSY = 46,
};

typedef enum {
	HSA_ENDIANNESS_LITTLE = 0,
	HSA_ENDIANNESS_BIG = 1
} hsa_endianness_t;

typedef enum {
	HSA_MACHINE_MODEL_SMALL = 0,
	HSA_MACHINE_MODEL_LARGE = 1
} hsa_machine_model_t;

typedef enum {
	HSA_SYSTEM_INFO_VERSION_MAJOR = 0,
	HSA_SYSTEM_INFO_VERSION_MINOR = 1,
	HSA_SYSTEM_INFO_TIMESTAMP = 2,
	HSA_SYSTEM_INFO_TIMESTAMP_FREQUENCY = 3,
	HSA_SYSTEM_INFO_SIGNAL_MAX_WAIT = 4,
	HSA_SYSTEM_INFO_ENDIANNESS = 5,
	HSA_SYSTEM_INFO_MACHINE_MODEL = 6,
	HSA_SYSTEM_INFO_EXTENSIONS = 7,
	HSA_AMD_SYSTEM_INFO_BUILD_VERSION = 0x200,
	HSA_AMD_SYSTEM_INFO_SVM_SUPPORTED = 0x201,
	HSA_AMD_SYSTEM_INFO_SVM_ACCESSIBLE_BY_DEFAULT = 0x202,
	HSA_AMD_SYSTEM_INFO_MWAITX_ENABLED = 0x203,
	HSA_AMD_SYSTEM_INFO_DMABUF_SUPPORTED = 0x204,
	HSA_AMD_SYSTEM_INFO_VIRTUAL_MEM_API_SUPPORTED = 0x205,
	HSA_AMD_SYSTEM_INFO_XNACK_ENABLED = 0x206,
	HSA_AMD_SYSTEM_INFO_EXT_VERSION_MAJOR = 0x207,
	HSA_AMD_SYSTEM_INFO_EXT_VERSION_MINOR = 0x208
} hsa_system_info_t;

/* An opaque handle: equal handles name the same agent. */
typedef struct hsa_agent_s {
	uint64_t handle;
} hsa_agent_t;

typedef enum {
	HSA_DEVICE_TYPE_CPU = 0,
	HSA_DEVICE_TYPE_GPU = 1,
	HSA_DEVICE_TYPE_DSP = 2,
	HSA_DEVICE_TYPE_AIE = 3
} hsa_device_type_t;

typedef enum {
	/* NUL-terminated char[64], the unused tail NUL too. */
	HSA_AGENT_INFO_NAME = 0,
	/* NUL-terminated char[64]. */
	HSA_AGENT_INFO_VENDOR_NAME = 1,
	/* uint32_t. */
	HSA_AGENT_INFO_NODE = 16,
	/* hsa_device_type_t. */
	HSA_AGENT_INFO_DEVICE = 17
} hsa_agent_info_t;

/* Passed to hsa_agent_get_info() cast to hsa_agent_info_t. */
typedef enum hsa_amd_agent_info_s {
	/* uint32_t: (bus << 8) | (device << 3) | function. */
	HSA_AMD_AGENT_INFO_BDFID = 0xA006,
	/* uint32_t: the PCI domain, which HSA_AMD_AGENT_INFO_BDFID lacks. */
	HSA_AMD_AGENT_INFO_DOMAIN = 0xA00F
} hsa_amd_agent_info_t;

typedef enum {
	HSA_AMD_SEGMENT_GLOBAL = 0,
	HSA_AMD_SEGMENT_READONLY = 1,
	HSA_AMD_SEGMENT_PRIVATE = 2,
	HSA_AMD_SEGMENT_GROUP = 3,
} hsa_amd_segment_t;

typedef struct hsa_amd_memory_pool_s {
	uint64_t handle;
} hsa_amd_memory_pool_t;

typedef enum hsa_amd_memory_pool_global_flag_s {
	HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_KERNARG_INIT = 1,
	HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_FINE_GRAINED = 2,
	HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_COARSE_GRAINED = 4,
	HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_EXTENDED_SCOPE_FINE_GRAINED = 8,
} hsa_amd_memory_pool_global_flag_t;

typedef enum hsa_amd_memory_pool_location_s {
	HSA_AMD_MEMORY_POOL_LOCATION_CPU = 0,
	HSA_AMD_MEMORY_POOL_LOCATION_GPU = 1
} hsa_amd_memory_pool_location_t;

typedef enum {
	/* hsa_amd_segment_t. */
	HSA_AMD_MEMORY_POOL_INFO_SEGMENT = 0,
	/* uint32_t, hsa_amd_memory_pool_global_flag_t bits. */
	HSA_AMD_MEMORY_POOL_INFO_GLOBAL_FLAGS = 1,
	/* size_t. */
	HSA_AMD_MEMORY_POOL_INFO_SIZE = 2,
	/* bool. */
	HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_ALLOWED = 5,
	/* size_t. */
	HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_GRANULE = 6,
	/* size_t. */
	HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_ALIGNMENT = 7,
	/* bool. */
	HSA_AMD_MEMORY_POOL_INFO_ACCESSIBLE_BY_ALL = 15,
	/* size_t. */
	HSA_AMD_MEMORY_POOL_INFO_ALLOC_MAX_SIZE = 16,
	/* hsa_amd_memory_pool_location_t. */
	HSA_AMD_MEMORY_POOL_INFO_LOCATION = 17,
	/* size_t. */
	HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_REC_GRANULE = 18,
} hsa_amd_memory_pool_info_t;

typedef enum hsa_amd_memory_pool_flag_s {
	HSA_AMD_MEMORY_POOL_STANDARD_FLAG = 0,
	HSA_AMD_MEMORY_POOL_PCIE_FLAG = (1 << 0),
	HSA_AMD_MEMORY_POOL_CONTIGUOUS_FLAG = (1 << 1),
	HSA_AMD_MEMORY_POOL_EXECUTABLE_FLAG = (1 << 2),
} hsa_amd_memory_pool_flag_t;

typedef enum {
	/* Unknown to the runtime: unallocated or ordinary host memory. */
	HSA_EXT_POINTER_TYPE_UNKNOWN = 0,
	/* Allocated by an HSA allocator (a memory pool). */
	HSA_EXT_POINTER_TYPE_HSA = 1,
	HSA_EXT_POINTER_TYPE_LOCKED = 2,
	HSA_EXT_POINTER_TYPE_GRAPHICS = 3,
	HSA_EXT_POINTER_TYPE_IPC = 4
} hsa_amd_pointer_type_t;

/*
 * The caller sets size to sizeof(hsa_amd_pointer_info_t) before calling
 * hsa_amd_pointer_info(), which writes no byte at or past it and sets it
 * to its own sizeof when that is smaller.  The struct only ever grows.
 */
typedef struct hsa_amd_pointer_info_s {
	uint32_t size;
	hsa_amd_pointer_type_t type;
	void *agentBaseAddress;
	void *hostBaseAddress;
	size_t sizeInBytes;
	void *userData;
	hsa_agent_t agentOwner;
	uint32_t global_flags;
} hsa_amd_pointer_info_t;

hsa_status_t HSA_API hsa_status_string(hsa_status_t status,
				       const char **status_string);

hsa_status_t HSA_API hsa_init(void);
hsa_status_t HSA_API hsa_shut_down(void);

hsa_status_t HSA_API hsa_system_get_info(hsa_system_info_t attribute,
					 void *value);

hsa_status_t HSA_API
hsa_iterate_agents(hsa_status_t (*callback)(hsa_agent_t agent, void *data),
		   void *data);
hsa_status_t HSA_API hsa_agent_get_info(hsa_agent_t agent,
					hsa_agent_info_t attribute,
					void *value);

hsa_status_t HSA_API
hsa_amd_agent_iterate_memory_pools(hsa_agent_t agent,
				   hsa_status_t (*callback)(hsa_amd_memory_pool_t
							    memory_pool,
							    void *data),
				   void *data);
hsa_status_t HSA_API
hsa_amd_memory_pool_get_info(hsa_amd_memory_pool_t memory_pool,
			     hsa_amd_memory_pool_info_t attribute,
			     void *value);
hsa_status_t HSA_API
hsa_amd_memory_pool_allocate(hsa_amd_memory_pool_t memory_pool, size_t size,
			     uint32_t flags, void **ptr);
hsa_status_t HSA_API hsa_amd_memory_pool_free(void *ptr);

hsa_status_t HSA_API hsa_memory_copy(void *dst, const void *src, size_t size);

hsa_status_t HSA_API hsa_amd_pointer_info(const void *ptr,
					  hsa_amd_pointer_info_t *info,
					  void *(*alloc)(size_t),
					  uint32_t *num_agents_accessible,
					  hsa_agent_t **accessible);

hsa_status_t hsa_amd_portable_export_dmabuf(const void *ptr, size_t size,
					    int *dmabuf, uint64_t *offset);
hsa_status_t hsa_amd_portable_close_dmabuf(int dmabuf);

#ifdef __cplusplus
}
#endif

#endif /* HSA_RUNTIME_INC_HSA_H_ */
