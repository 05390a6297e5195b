/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * libp2pmr: RDMA memory registration of PCI BAR memory.
 *
 * An application maps device memory (a GPU BAR, an NVMe CMB, any memory
 * BAR) through /sys/bus/pci/devices/<bdf>/resource<N>, and registers it
 * for RDMA like host memory.  libp2pmr tells BAR mappings from host memory,
 * turns a BAR range into a dma-buf through the p2pmr kernel module
 * (/dev/p2pmr), registers it with the verb that works for it, and tells
 * whether an RDMA device can reach a BAR peer to peer.
 *
 * Errors follow libibverbs: functions returning int return 0 or a positive
 * errno value; functions returning a pointer return NULL and set errno;
 * functions returning a file descriptor return -1 and set errno.  No
 * function returns a negative errno.  Every failure is also described by a
 * message through the log function (p2pmr_set_log_fn()).
 *
 * All functions are thread safe.
 *
 * Extensible structs
 * ==================
 *
 * A struct the library fills in (struct p2pmr_mem_info, struct
 * p2pmr_p2p_info) is passed with its length, as efadv_query_mr() does:
 *
 *	struct p2pmr_mem_info info;
 *	err = p2pmr_classify(addr, len, &info, sizeof(info));
 *
 * Each struct begins with a 64-bit comp_mask and only ever grows at its
 * end; a field, once released, keeps its offset, size and meaning.
 *
 * - The length must cover every field of the struct's first release
 *   (P2PMR_MEM_INFO_LEN_V1, P2PMR_P2P_INFO_LEN_V1); a shorter one is
 *   refused with EINVAL and nothing is written.
 * - The library writes exactly the length given, never more: the fields it
 *   knows that lie inside it, and zero in every other byte of it (padding,
 *   and fields of a later release it does not know).  So a program built
 *   against an older header gets exactly the fields it knows, and a
 *   program built against a newer header, run with an older library, gets
 *   the older fields and zeros.
 * - comp_mask is written, never read: it has a bit for each field added
 *   after the first release that the library filled in (its
 *   P2PMR_*_MASK_* constant; a field whose bit is clear holds zero).  The
 *   first release defines no such field: comp_mask is 0.
 *
 * Inputs are extended by flags instead: every function that takes flags
 * refuses a flag it does not know with EINVAL, so a program that asks for
 * something the library in use cannot do is told so.
 *
 * The ioctl ABI of the kernel module (p2pmr/linux/p2pmr.h, included below)
 * has its own rule, stated there; the library speaks it for the caller.
 */
#ifndef P2PMR_P2PMR_H
#define P2PMR_P2PMR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel module's uapi header, installed with this one. */
#include <p2pmr/linux/p2pmr.h>
/* P2PMR_VERSION_MAJOR, _MINOR, _PATCH, _STRING: this header's release */
#include <p2pmr/version.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ibv_mr;
struct ibv_pd;

/**
 * p2pmr_version() - version of the library in use
 *
 * The release of p2pmr the library was built from, which may be newer
 * than the header a program was compiled with (P2PMR_VERSION_STRING).
 *
 * Return: a constant string, "MAJOR.MINOR.PATCH".
 */
const char *p2pmr_version(void);

/* Longest PCI address string, "dddddddd:bb:dd.f", with its NUL. */
#define P2PMR_PCI_ADDR_MAX	20

/*
 * Logging
 */

enum p2pmr_log_level {
	P2PMR_LOG_ERR = 1,	/* why a call failed */
	P2PMR_LOG_INFO = 2,	/* decisions worth knowing: fallbacks, routes */
	P2PMR_LOG_DEBUG = 3,	/* details of each step */
};

/**
 * typedef p2pmr_log_fn - receiver of the library's messages
 * @level: enum p2pmr_log_level
 * @msg: the message, without a trailing newline; valid during the call only
 * @arg: the @arg given to p2pmr_set_log_fn()
 *
 * Called from the thread whose call produced the message, possibly from
 * several threads at once.  It must not call back into libp2pmr.
 */
typedef void (*p2pmr_log_fn)(int level, const char *msg, void *arg);

/**
 * p2pmr_set_log_fn() - route the library's messages
 * @fn: receiver of every message, all levels; NULL restores the default
 * @arg: passed to @fn
 *
 * By default messages go to stderr, and only when the environment variable
 * P2PMR_DEBUG is set: P2PMR_DEBUG=1 prints errors, P2PMR_DEBUG=2 prints all
 * levels.  Logging never changes errno.
 */
void p2pmr_set_log_fn(p2pmr_log_fn fn, void *arg);

/*
 * BAR regions
 */

/* p2pmr_bar_open() flags */
enum {
	/* map resource<N> (uncached) even where resource<N>_wc exists */
	P2PMR_BAR_UC = 1 << 0,
};

struct p2pmr_bar;

/**
 * p2pmr_bar_open() - map a whole memory BAR of a PCI device
 * @pci_addr: the device, "dddd:bb:dd.f" or "bb:dd.f" (domain 0), in hex
 * @bar: the BAR number, 0 to 5
 * @flags: 0 or P2PMR_BAR_UC
 *
 * Opens /sys/bus/pci/devices/<pci_addr>/resource<bar>_wc where it exists
 * (prefetchable BARs), else resource<bar>, read-write, and maps the whole
 * BAR shared, readable and writable.  The mapping is what p2pmr_reg_mr()
 * and p2pmr_export_va() accept, and p2pmr_classify() knows it without
 * reading /proc/self/maps.  Needs the access the sysfs file requires
 * (root, by default).
 *
 * Return: a handle owned by the caller, to be released with
 * p2pmr_bar_close(); NULL with errno set on failure.
 */
struct p2pmr_bar *p2pmr_bar_open(const char *pci_addr, unsigned int bar,
				 int flags);

/**
 * p2pmr_bar_close() - unmap a BAR mapped by p2pmr_bar_open()
 * @bar: the handle; NULL is accepted and ignored
 *
 * Memory regions registered on the mapping keep the device memory
 * reachable by the RDMA device (they hold the dma-buf); the CPU mapping
 * ends here.
 *
 * Return: 0 or a positive errno.
 */
int p2pmr_bar_close(struct p2pmr_bar *bar);

/**
 * p2pmr_bar_addr() - the CPU address of BAR byte 0
 * @bar: the handle
 *
 * Return: the address, valid until p2pmr_bar_close().
 */
void *p2pmr_bar_addr(const struct p2pmr_bar *bar);

/**
 * p2pmr_bar_length() - the length of the BAR in bytes
 * @bar: the handle
 *
 * Return: the BAR's length; the mapping is that rounded up to whole pages.
 */
size_t p2pmr_bar_length(const struct p2pmr_bar *bar);

/**
 * p2pmr_bar_pci_addr() - the device's PCI address
 * @bar: the handle
 *
 * Return: "dddd:bb:dd.f", owned by @bar, valid until p2pmr_bar_close().
 */
const char *p2pmr_bar_pci_addr(const struct p2pmr_bar *bar);

/**
 * p2pmr_bar_num() - the BAR number
 * @bar: the handle
 *
 * Return: 0 to 5.
 */
unsigned int p2pmr_bar_num(const struct p2pmr_bar *bar);

/**
 * p2pmr_bar_is_wc() - whether the CPU mapping is write-combining
 * @bar: the handle
 *
 * Return: true if resource<N>_wc was mapped.
 */
bool p2pmr_bar_is_wc(const struct p2pmr_bar *bar);

/**
 * p2pmr_bar_fd() - the sysfs resource file behind the mapping
 * @bar: the handle
 *
 * For p2pmr_export_fd().  The fd stays owned by @bar: do not close it.
 *
 * Return: an fd open read-write, valid until p2pmr_bar_close().
 */
int p2pmr_bar_fd(const struct p2pmr_bar *bar);

/*
 * Classification
 */

enum p2pmr_mem_type {
	P2PMR_MEM_HOST = 0,	/* none of the below overlaps the range */
	P2PMR_MEM_BAR = 1,	/* a mapping of a sysfs resource file */
	P2PMR_MEM_DMABUF = 2,	/* a CPU mapping of a dma-buf */
	P2PMR_MEM_DEVICE = 3,	/* a GPU runtime's allocation */
};

/* struct p2pmr_mem_info flags */
enum {
	/* the mapping is write-combining (resource<N>_wc) */
	P2PMR_MEM_WC = 1 << 0,
	/* the whole range lies inside this one mapping */
	P2PMR_MEM_CONTAINED = 1 << 1,
	/* the mapping is MAP_SHARED, as an export requires */
	P2PMR_MEM_SHARED = 1 << 2,
	/* the mapping is writable, as an export requires */
	P2PMR_MEM_WRITABLE = 1 << 3,
	/* the BAR is prefetchable */
	P2PMR_MEM_PREFETCHABLE = 1 << 4,
	/* the resource file is gone: the device was removed */
	P2PMR_MEM_DELETED = 1 << 5,
	/* the BAR's address could not be read: bar_offset is unknown (0) */
	P2PMR_MEM_OFFSET_UNKNOWN = 1 << 6,
	/* mapped by p2pmr_bar_open() */
	P2PMR_MEM_BAR_OPEN = 1 << 7,
};

/**
 * struct p2pmr_mem_info - what lies behind an address range
 * @comp_mask: fields added after the first release that were filled in;
 *	none is defined yet, so 0 (see "Extensible structs" above)
 * @type: enum p2pmr_mem_type; for P2PMR_MEM_HOST every other field is 0;
 *	for P2PMR_MEM_DMABUF and P2PMR_MEM_DEVICE only @flags, @map_start
 *	and @map_length are set (the mapping, or the GPU allocation)
 * @flags: P2PMR_MEM_*
 * @pci_domain: PCI domain of the BAR's device
 * @pci_bus: PCI bus number of the BAR's device
 * @pci_devfn: (device << 3) | function of the BAR's device
 * @bar: the BAR number
 * @reserved: 0
 * @bar_offset: offset of the range's first byte within the BAR
 * @map_start: start of the mapping holding the range (for
 *	p2pmr_export_va(): of the exported range)
 * @map_length: length of that mapping (or exported range)
 * @pci_addr: the device, "dddd:bb:dd.f"
 */
struct p2pmr_mem_info {
	uint64_t comp_mask;
	enum p2pmr_mem_type type;
	uint32_t flags;
	uint32_t pci_domain;
	uint8_t pci_bus;
	uint8_t pci_devfn;
	uint8_t bar;
	uint8_t reserved;
	uint64_t bar_offset;
	uint64_t map_start;
	uint64_t map_length;
	char pci_addr[P2PMR_PCI_ADDR_MAX];
	/* New fields go here, each with a P2PMR_MEM_INFO_MASK_* bit. */
};

/* The least length of struct p2pmr_mem_info accepted: its first release. */
#define P2PMR_MEM_INFO_LEN_V1 \
	(offsetof(struct p2pmr_mem_info, pci_addr) + P2PMR_PCI_ADDR_MAX)

/**
 * p2pmr_classify() - tell host memory from a BAR mapping
 * @addr: start of the range
 * @length: its length in bytes, nonzero
 * @info: filled in with the answer
 * @info_len: sizeof(*@info), at least P2PMR_MEM_INFO_LEN_V1
 *
 * A range is host memory when no mapping of a sysfs resource file or of a
 * dma-buf overlaps it and no GPU runtime claims it; it is BAR memory when
 * it lies entirely inside one resource-file mapping, P2PMR_MEM_DMABUF
 * inside one mapping of a dma-buf (as /proc/self/maps names them,
 * "/dmabuf:..."; the kernel confirms it), and P2PMR_MEM_DEVICE inside an
 * allocation of a GPU runtime the process has loaded (libcuda.so.1:
 * cuPointerGetAttribute(); libhsa-runtime64.so.1: hsa_amd_pointer_info();
 * the library never loads a runtime itself).  A
 * range partly inside a mapping (or spanning two) is refused with EINVAL;
 * @info then describes the first mapping it overlaps, without
 * P2PMR_MEM_CONTAINED.  Types may be added: a program should treat one it
 * does not know as device memory, which p2pmr_reg_mr() registers.
 *
 * Answers for host memory come from a cache of the process's BAR and
 * dma-buf mappings, without a system call (and a question to the GPU
 * runtime, where one is loaded).  The cache follows p2pmr_bar_open() and
 * p2pmr_bar_close() exactly; when it names another BAR mapping for the
 * range, the kernel is asked whether the range still maps that BAR there
 * (one ioctl), and where it cannot tell, the cache is rebuilt from
 * /proc/self/maps (so a BAR unmapped behind the library's back is never
 * reported); it is also rebuilt after p2pmr_classify_flush().  A BAR that the
 * application maps with mmap() itself is seen after p2pmr_classify_flush()
 * or the next rebuild; p2pmr_reg_mr() needs no flush.
 *
 * Return: 0; EINVAL for a NULL @info, an @info_len below
 * P2PMR_MEM_INFO_LEN_V1 (@info is left untouched), a zero @length or a
 * partial overlap; EOVERFLOW if the range wraps around; an errno of
 * reading /proc/self/maps.
 */
int p2pmr_classify(const void *addr, size_t length,
		   struct p2pmr_mem_info *info, size_t info_len);

/**
 * p2pmr_classify_flush() - forget what the classification cache knows
 *
 * The next p2pmr_classify() rereads /proc/self/maps.  Call it after
 * mapping a sysfs resource file with mmap() directly.  It also closes the
 * dma-bufs p2pmr_reg_mr() keeps, one per BAR mapping (once no
 * registration is using them; memory regions keep their own reference),
 * which hold their devices out of runtime suspend.
 */
void p2pmr_classify_flush(void);

/*
 * dma-buf export through /dev/p2pmr
 */

/* p2pmr_export_fd(), p2pmr_export_va() flags: access mode of the fd */
enum {
	P2PMR_EXPORT_RDONLY = 1 << 0,	/* mmap() of the dma-buf: read only */
	P2PMR_EXPORT_WRONLY = 1 << 1,	/* mmap() of the dma-buf: write only */
};

/**
 * p2pmr_export_fd() - export a range of a BAR as a dma-buf
 * @resource_fd: a sysfs resource<N> or resource<N>_wc file open for
 *	writing; the caller keeps it
 * @offset: start of the range within the BAR, page aligned
 * @length: length of the range, page aligned, nonzero
 * @flags: 0 (read-write), P2PMR_EXPORT_RDONLY or P2PMR_EXPORT_WRONLY; they
 *	limit mmap() of the dma-buf, not device DMA
 *
 * Return: a dma-buf fd (O_CLOEXEC) owned by the caller, who closes it;
 * byte 0 of the dma-buf is BAR byte @offset.  -1 with errno set on
 * failure: the kernel's (see linux/p2pmr.h), or ENOENT when /dev/p2pmr
 * does not exist (the p2pmr module is not loaded).
 */
int p2pmr_export_fd(int resource_fd, uint64_t offset, uint64_t length,
		    int flags);

/**
 * p2pmr_export_va() - export the device memory behind a BAR mapping
 * @addr: start of the range, page aligned, inside one writable shared
 *	mapping of a sysfs resource file
 * @length: length of the range, page aligned, nonzero
 * @flags: as for p2pmr_export_fd()
 * @info_out: if not NULL, filled in with the kernel's view of the range
 * @info_len: sizeof(*@info_out), at least P2PMR_MEM_INFO_LEN_V1; ignored
 *	when @info_out is NULL
 *
 * Return: a dma-buf fd (O_CLOEXEC) owned by the caller, who closes it;
 * byte 0 of the dma-buf is the byte at @addr.  -1 with errno set on
 * failure, as for p2pmr_export_fd(), or EINVAL for an @info_len below
 * P2PMR_MEM_INFO_LEN_V1 (checked before anything is exported).
 */
int p2pmr_export_va(const void *addr, size_t length, int flags,
		    struct p2pmr_mem_info *info_out, size_t info_len);

/*
 * Memory registration
 */

/**
 * p2pmr_reg_mr() - register host or BAR memory
 * @pd: protection domain
 * @addr: start of the memory, any alignment
 * @length: its length
 * @iova: the address work requests use for @addr; normally @addr itself
 * @access: IBV_ACCESS_* flags
 *
 * Host memory is registered with ibv_reg_mr() (ibv_reg_mr_iova2() when
 * @iova is not @addr).  BAR memory is exported by address through
 * /dev/p2pmr, in whole pages, and registered as a dma-buf MR with @iova,
 * as p2pmr_reg_dmabuf_mr() does; the dma-buf fd is closed again, the MR
 * keeps its own reference.  The classification cache is trusted and its
 * guesses checked by what follows: if host registration fails with EFAULT,
 * or the export of a BAR with EINVAL or EFAULT, the range is classified
 * again from a fresh read of /proc/self/maps, so a BAR mapped, or
 * unmapped, behind the library's back is still registered right.  Before
 * that read, memory that failed host registration is offered to two
 * other owners of device memory: the kernel, for a CPU mapping of a
 * dma-buf (registered as that dma-buf, at the range's offset), and the
 * CUDA or ROCm runtime if the process has loaded it, for a device
 * allocation (exported as a dma-buf by the GPU driver and registered).
 *
 * Return: the MR, owned by the caller, released with p2pmr_dereg_mr()
 * (never with ibv_dereg_mr(): it may not be the provider's); NULL with
 * errno set on failure.
 */
struct ibv_mr *p2pmr_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			    uint64_t iova, int access);

/**
 * p2pmr_reg_dmabuf_mr() - register a dma-buf memory region
 * @pd: protection domain
 * @offset: start of the region within the dma-buf
 * @length: its length, nonzero
 * @iova: the address work requests use for the first byte; its offset
 *	within a page must equal that of @offset
 * @fd: the dma-buf; the caller keeps it and may close it at once
 * @access: IBV_ACCESS_* flags
 *
 * Calls ibv_reg_dmabuf_mr().  When that fails with EOPNOTSUPP because the
 * verbs provider's userspace driver has no dma-buf MRs (rdma-core's rxe
 * among them), registers through the kernel's uverbs ioctl
 * (UVERBS_METHOD_REG_DMABUF_MR) instead; such an MR is the library's, not
 * the provider's, and only p2pmr_dereg_mr() may release it.
 *
 * Return: the MR, owned by the caller, released with p2pmr_dereg_mr();
 * NULL with errno set on failure: EOPNOTSUPP when neither the provider nor
 * the kernel driver supports dma-buf MRs, else the provider's or the
 * kernel's errno.
 */
struct ibv_mr *p2pmr_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset,
				   size_t length, uint64_t iova, int fd,
				   int access);

/**
 * p2pmr_dereg_mr() - deregister an MR from p2pmr_reg_mr() or
 *	p2pmr_reg_dmabuf_mr()
 * @mr: the MR; it is freed on success
 *
 * Also accepts MRs from ibv_reg_mr() and friends, which it passes to
 * ibv_dereg_mr().
 *
 * Return: 0 or a positive errno; on failure @mr stays registered.
 */
int p2pmr_dereg_mr(struct ibv_mr *mr);

/*
 * Peer-to-peer topology
 */

/* struct p2pmr_p2p_info flags */
enum {
	/* the answer is the p2pmr module's own decision (QUERY_P2P) */
	P2PMR_P2P_KERNEL = 1 << 0,
	/* traffic would cross the root complex */
	P2PMR_P2P_HOST_BRIDGE_ROUTE = 1 << 1,
	/* an IOMMU translates the RDMA device's DMA */
	P2PMR_P2P_IOMMU = 1 << 2,
	/* the kernel has CONFIG_PCI_P2PDMA and its allowlist was applied */
	P2PMR_P2P_P2PDMA = 1 << 3,
	/*
	 * the ACS control of a port on the path could not be read (extended
	 * configuration space is root-only); the answer assumes it does
	 * not redirect
	 */
	P2PMR_P2P_ACS_UNKNOWN = 1 << 4,
};

/* Size of struct p2pmr_p2p_info's reason_str, with its NUL. */
#define P2PMR_REASON_STR_MAX	512

/**
 * struct p2pmr_p2p_info - how an RDMA device would reach a BAR
 * @comp_mask: fields added after the first release that were filled in;
 *	none is defined yet, so 0 (see "Extensible structs" above)
 * @path: what a dma-buf attach would do
 * @reason: what the topology walk found
 * @distance: PCI hops between the two functions as the kernel's P2PDMA
 *	code counts them (0: same function, 2: functions of one device,
 *	4: devices below one switch), P2PMR_DISTANCE_NONE if they share no
 *	host bridge
 * @flags: P2PMR_P2P_*
 * @rdma_pci_addr: the PCI function the RDMA device DMAs from
 * @bar_pci_addr: the BAR's device
 * @reason_str: the same in words, with what would fix a refusal
 */
struct p2pmr_p2p_info {
	uint64_t comp_mask;
	enum p2pmr_p2p_path path;
	enum p2pmr_p2p_reason reason;
	uint32_t distance;
	uint32_t flags;
	char rdma_pci_addr[P2PMR_PCI_ADDR_MAX];
	char bar_pci_addr[P2PMR_PCI_ADDR_MAX];
	char reason_str[P2PMR_REASON_STR_MAX];
	/* New fields go here, each with a P2PMR_P2P_INFO_MASK_* bit. */
};

/* The least length of struct p2pmr_p2p_info accepted: its first release. */
#define P2PMR_P2P_INFO_LEN_V1 \
	(offsetof(struct p2pmr_p2p_info, reason_str) + P2PMR_REASON_STR_MAX)

/**
 * p2pmr_query_p2p() - can an RDMA device reach a device's BARs
 * @rdma_dev: verbs device name (ibv_get_device_name()), e.g. mlx5_0, rxe0
 * @pci_addr: the BAR's device, "dddd:bb:dd.f" or "bb:dd.f"
 * @out: filled in with the answer
 * @out_len: sizeof(*@out), at least P2PMR_P2P_INFO_LEN_V1
 *
 * Finds the PCI function behind @rdma_dev (for soft-RoCE, the one behind
 * its network device) and walks the PCI topology as the kernel does.  When
 * /dev/p2pmr and a resource file of the device can be opened, the p2pmr
 * module answers (P2PMR_P2P_KERNEL): that is the decision an attach makes.
 * Otherwise the answer is predicted from sysfs.  A refused path is a
 * successful query with @out->path P2PMR_PATH_REFUSED.
 *
 * Return: 0; EINVAL for a NULL or malformed argument or an @out_len below
 * P2PMR_P2P_INFO_LEN_V1 (@out is left untouched); ENOENT if there is
 * no such RDMA or PCI device; ENODEV if the RDMA device has no PCI
 * function (a virtual network device under soft-RoCE); an errno of
 * reading sysfs.
 */
int p2pmr_query_p2p(const char *rdma_dev, const char *pci_addr,
		    struct p2pmr_p2p_info *out, size_t out_len);

/**
 * p2pmr_path_str() - name of a path
 * @path: enum p2pmr_p2p_path
 *
 * Return: a constant string: "bus_addr", "host_bridge", "refused", or
 * "unknown".
 */
const char *p2pmr_path_str(enum p2pmr_p2p_path path);

/**
 * p2pmr_reason_str() - name of a reason
 * @reason: enum p2pmr_p2p_reason
 *
 * Return: a constant string such as "common_upstream" or "acs_redirect",
 * or "unknown".
 */
const char *p2pmr_reason_str(enum p2pmr_p2p_reason reason);

#ifdef __cplusplus
}
#endif

#endif /* P2PMR_P2PMR_H */
