/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * libp2pmr internals: shared between the library's files and its unit
 * tests, never installed.  The hooks at the end let the unit tests replace
 * what a host without the kernel module or an RDMA device cannot provide:
 * the text of /proc/self/maps, the sysfs tree, /dev/p2pmr and the verbs
 * calls.
 */
#ifndef P2PMR_INTERNAL_H
#define P2PMR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <p2pmr/p2pmr.h>

struct ibv_context;
struct ibv_mr;

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* PCI_STD_NUM_BARS: resource0 to resource5 */
#define P2PMR_NUM_BARS	6

/* Flags of a line of /sys/bus/pci/devices/<bdf>/resource */
#define P2PMR_IORESOURCE_IO		0x00000100ULL
#define P2PMR_IORESOURCE_MEM		0x00000200ULL
#define P2PMR_IORESOURCE_PREFETCH	0x00002000ULL

/*
 * Logging (log.c).  The functions save and restore errno, so an error path
 * may log between setting errno and returning.
 */
void p2pmr_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define p2pmr_err(...)	p2pmr_log(P2PMR_LOG_ERR, __VA_ARGS__)
#define p2pmr_info(...)	p2pmr_log(P2PMR_LOG_INFO, __VA_ARGS__)
#define p2pmr_dbg(...)	p2pmr_log(P2PMR_LOG_DEBUG, __VA_ARGS__)
/* Read P2PMR_DEBUG again (it is read once, at the first message). */
void p2pmr_log_reset(void);

/*
 * PCI addresses and sysfs (pci.c)
 */
struct p2pmr_pci_addr {
	uint32_t domain;
	uint8_t bus;
	uint8_t devfn;
};

int p2pmr_pci_addr_parse(const char *str, struct p2pmr_pci_addr *addr);
bool p2pmr_pci_addr_parse_n(const char *str, size_t len,
			    struct p2pmr_pci_addr *addr);
void p2pmr_pci_addr_format(const struct p2pmr_pci_addr *addr, char *buf,
			   size_t len);
bool p2pmr_pci_addr_equal(const struct p2pmr_pci_addr *a,
			  const struct p2pmr_pci_addr *b);

/* The sysfs mount: "/sys" unless a test chose another tree. */
const char *p2pmr_sysfs_root(void);
void p2pmr_set_sysfs_root(const char *root);

int p2pmr_read_resource(const char *sysfs_root,
			const struct p2pmr_pci_addr *addr, unsigned int bar,
			uint64_t *start, uint64_t *end, uint64_t *flags);
int p2pmr_read_file(const char *path, char *buf, size_t len);

long p2pmr_page_size(void);

/*
 * /proc/self/maps (maps.c)
 */

/* Internal flags of a BAR mapping, beyond the public P2PMR_MEM_* ones. */
#define P2PMR_MAP_PUBLIC_FLAGS	0xffffU
/* a mapping of a dma-buf, not of a resource file: no PCI fields */
#define P2PMR_MAP_DMABUF	(1U << 16)

/**
 * struct p2pmr_bar_map - one mapping of a sysfs resource file
 * @start: first byte
 * @end: one past the last byte
 * @bar_offset: offset of @start within the BAR (after resolution)
 * @file_offset: the mapping's offset as /proc/self/maps shows it (the
 *	kernel adds the BAR's address: vm_pgoff of a sysfs resource mapping
 *	is the page frame number)
 * @domain: PCI domain
 * @flags: P2PMR_MEM_*
 * @bus: PCI bus
 * @devfn: PCI device and function
 * @bar: BAR number
 * @inode: the mapped file's inode number (tells two dma-bufs apart)
 *
 * With P2PMR_MAP_DMABUF, a mapping of a dma-buf: @file_offset is the
 * offset within the dma-buf, and the PCI and BAR fields are 0.
 */
struct p2pmr_bar_map {
	uint64_t start;
	uint64_t end;
	uint64_t bar_offset;
	uint64_t file_offset;
	uint32_t domain;
	uint32_t flags;
	uint8_t bus;
	uint8_t devfn;
	uint8_t bar;
	uint64_t inode;
};

bool p2pmr_maps_parse_line(const char *line, size_t len,
			   struct p2pmr_bar_map *map);
int p2pmr_maps_parse(const char *text, size_t len,
		     struct p2pmr_bar_map **maps, size_t *count);
void p2pmr_maps_resolve(const char *sysfs_root, struct p2pmr_bar_map *map);

/*
 * The classification cache (classify.c)
 */

/**
 * typedef p2pmr_maps_source_fn - read the text of /proc/self/maps
 * @arg: the source's argument
 * @buf: in/out: a malloc()ed buffer the source may grow with realloc()
 * @cap: in/out: its size
 * @len: out: length of the text, which the source NUL-terminates
 *
 * Return: 0 or a positive errno.
 */
typedef int (*p2pmr_maps_source_fn)(void *arg, char **buf, size_t *cap,
				    size_t *len);

/* Tests: replace /proc/self/maps (NULL: back to it); drops the cache. */
void p2pmr_cache_set_source(p2pmr_maps_source_fn fn, void *arg);
/* Tests: drop the snapshot and zero the read counter. */
void p2pmr_cache_reset(void);
/* How often the maps source was read. */
uint64_t p2pmr_cache_read_count(void);

/* Bumped by every p2pmr_classify_flush(). */
uint64_t p2pmr_classify_flush_gen(void);

/* Ticket of the latest maps read started; see p2pmr_classify_fresh(). */
uint64_t p2pmr_cache_ticket(void);
/*
 * Classify from a maps read that started after @ticket was taken: an
 * answer that reflects every mapping change made before then.
 */
int p2pmr_classify_fresh(const void *addr, size_t length,
			 struct p2pmr_mem_info *info, uint64_t ticket);
/*
 * p2pmr_classify() without the check of hits, for a caller that will find
 * out anyway (the kernel refuses to export what is not a BAR mapping).
 */
int p2pmr_classify_trust_hits(const void *addr, size_t length,
			      struct p2pmr_mem_info *info);

/* p2pmr_bar_open() / p2pmr_bar_close(): mappings known exactly. */
int p2pmr_cache_add_bar(const struct p2pmr_bar_map *map);
void p2pmr_cache_del_bar(uint64_t start, uint64_t end);

void p2pmr_mem_info_fill(struct p2pmr_mem_info *info,
			 const struct p2pmr_bar_map *map, uint64_t addr);

/*
 * /dev/p2pmr (export.c)
 */
int p2pmr_dev_fd(void);
/* Tests: use another device node (NULL: /dev/p2pmr); closes the fd. */
void p2pmr_set_dev_path(const char *path);
/*
 * p2pmr_export_va() of a page-aligned range that failed to register as
 * host memory: does the kernel take it as a BAR mapping?  A refusal is
 * logged at debug level only.  Return: the dma-buf fd, or -1 and errno.
 */
int p2pmr_export_va_probe(const void *addr, size_t length);
/*
 * P2PMR_IOCTL_CHECK_VA of a page-aligned range, against @dmabuf_fd or
 * (-1) to identify it.  Logged at debug level only: the caller asks.
 * Return: 0 with @out filled in, or the errno.
 */
struct p2pmr_check_va;
int p2pmr_check_va(const void *addr, size_t length, int dmabuf_fd,
		   struct p2pmr_check_va *out);
/*
 * P2PMR_IOCTL_VA_DMABUF of a page-aligned range: a new fd of the dma-buf
 * the range maps, *@offset its offset there; -1 with errno otherwise
 * (logged at debug level where the range is no dma-buf mapping).
 * @read_only: a read-only shared mapping will do.
 */
int p2pmr_va_dmabuf(const void *addr, size_t length, bool read_only,
		    uint64_t *offset);
/* Whether the kernel takes the range as one shared dma-buf mapping. */
bool p2pmr_va_dmabuf_is(const void *addr, size_t length);
/* A new fd of /dev/p2pmr, O_CLOEXEC; -1 and errno (logged at debug). */
int p2pmr_dev_open(void);

/*
 * Watches (watch.c)
 */

/**
 * struct p2pmr_watch - a range the kernel watches; all zeros: none
 * @epoch: the watch table's, never reused in a process or its children
 * @slot: its counter in the table
 * @seq: the counter's value while the range is as checked
 */
struct p2pmr_watch {
	uint64_t epoch;
	uint32_t slot;
	uint64_t seq;
};

/*
 * P2PMR_IOCTL_WATCH_VA: CHECK_VA of the page-aligned range (@out filled
 * in as it would be), and @w watching it from then on.  Logged at debug
 * level only.  Return: 0, or the errno; ENOTTY where the kernel (or this
 * process) has no watches: ask CHECK_VA instead.
 */
int p2pmr_watch_va(const void *addr, size_t length, int dmabuf_fd,
		   struct p2pmr_watch *w, struct p2pmr_check_va *out);
/*
 * Whether what @w checked still holds: no change of the range and no
 * revocation since.  A few loads, no lock, no system call; false for no
 * watch, and in a child for its parent's watches.
 */
bool p2pmr_watch_intact(const struct p2pmr_watch *w);
/* End @w (a system call), and zero it. */
void p2pmr_watch_end(struct p2pmr_watch *w);
/* Tests: close the watch table and forget that the kernel had none. */
void p2pmr_watch_reset(void);
void p2pmr_watch_fork_lock(void);
void p2pmr_watch_fork_unlock(void);
void p2pmr_watch_fork_child(void);

/*
 * Could @mr be a dma-buf MR (libibverbs' or libp2pmr's own)?  One load
 * of the MR's own memory, no lock: libibverbs' ibv_dereg_mr() itself
 * reads the type of every MR passed to it (struct verbs_mr, rdma-core's
 * infiniband/driver.h, where it follows struct ibv_mr since v26).
 */
bool p2pmr_mr_may_be_dmabuf(const struct ibv_mr *mr);

/*
 * The export cache (export_cache.c)
 */

/**
 * struct p2pmr_cached_export - one use of a cached export
 * @fd: the dma-buf; the cache's, never to be closed by the user
 * @offset: where the checked range starts in it
 * @slot: the cache's own
 */
struct p2pmr_cached_export {
	int fd;
	uint64_t offset;
	unsigned int slot;
};

/*
 * The export of the mapping [map_start, map_end), made on first use, for
 * the page-aligned [start, end) inside it, checked by the kernel to be
 * what the range maps now.  Return: 0 (release with
 * p2pmr_export_cache_put()), or an errno: the caller exports the range
 * itself.
 */
int p2pmr_export_cache_get(uint64_t map_start, uint64_t map_end,
			   uint64_t start, uint64_t end,
			   struct p2pmr_cached_export *ce);
struct p2pmr_gpu_range;
/*
 * The same for the page-aligned [start, end) of the GPU allocation
 * @alloc, whose id the caller has just read: its export is the
 * allocation's whole pages, made by the GPU driver.  ENOSYS for an
 * allocation without an id.
 */
int p2pmr_export_cache_get_gpu(const struct p2pmr_gpu_range *alloc,
			       uint64_t start, uint64_t end,
			       struct p2pmr_cached_export *ce);
void p2pmr_export_cache_put(const struct p2pmr_cached_export *ce);
/* Close the exports of mappings overlapping [start, end) once unused. */
void p2pmr_export_cache_drop(uint64_t start, uint64_t end);
/* Exports held, for the tests. */
unsigned int p2pmr_export_cache_count(void);
/* Tests: 1 on, 0 off, -1 as P2PMR_EXPORT_CACHE says; drops every entry. */
void p2pmr_export_cache_set_enabled(int on);
void p2pmr_export_cache_fork_lock(void);
void p2pmr_export_cache_fork_unlock(void);

/*
 * Topology (topo.c)
 */

/**
 * typedef p2pmr_config_read_fn - read PCI configuration space
 * @path: the device's sysfs "config" file
 * @buf: where to put the bytes
 * @off: offset in configuration space
 * @len: bytes wanted
 *
 * Return: bytes read (short when the reader may not see that far), or -1
 * with errno set.
 */
typedef long (*p2pmr_config_read_fn)(const char *path, void *buf,
				     uint64_t off, size_t len);

/**
 * struct p2pmr_topo_env - what the topology walk consults
 * @sysfs_root: the sysfs tree
 * @allow_host_bridge: p2pmr's allow_host_bridge parameter: 1, 0, or -1 to
 *	read it from sysfs (0 when the module is not loaded)
 * @p2pdma: the kernel has CONFIG_PCI_P2PDMA: 1, 0, or -1 to look in
 *	/boot/config-<release> (0 when that cannot be read)
 * @cpu_p2pdma: the CPU is one the kernel trusts for P2P through the host
 *	bridge (AMD Zen or newer): 1, 0, or -1 to read /proc/cpuinfo
 * @use_kernel: ask the p2pmr module (QUERY_P2P) when possible
 * @read_config: configuration space reader; NULL: pread() of the file
 */
struct p2pmr_topo_env {
	const char *sysfs_root;
	int allow_host_bridge;
	int p2pdma;
	int cpu_p2pdma;
	bool use_kernel;
	p2pmr_config_read_fn read_config;
};

int p2pmr_query_p2p_env(const struct p2pmr_topo_env *env,
			const char *rdma_dev, const char *pci_addr,
			struct p2pmr_p2p_info *out);

/*
 * Calls the library makes into libibverbs and the kernel, one table so the
 * unit tests can stand in for an RDMA device and for /dev/p2pmr.
 */
struct p2pmr_ops {
	struct ibv_mr *(*reg_mr)(struct ibv_pd *pd, void *addr, size_t length,
				 int access);
	struct ibv_mr *(*reg_mr_iova2)(struct ibv_pd *pd, void *addr,
				       size_t length, uint64_t iova,
				       unsigned int access);
	struct ibv_mr *(*reg_dmabuf_mr)(struct ibv_pd *pd, uint64_t offset,
					size_t length, uint64_t iova, int fd,
					int access);
	int (*dereg_mr)(struct ibv_mr *mr);
	int (*ioctl)(int fd, unsigned long request, void *arg);
	void *(*mmap)(void *addr, size_t length, int prot, int flags, int fd,
		      off_t offset);
	int (*munmap)(void *addr, size_t length);
};

extern const struct p2pmr_ops *p2pmr_ops;
/* Tests: NULL restores the real calls. */
void p2pmr_set_ops(const struct p2pmr_ops *ops);

/* How p2pmr_reg_mr_req() registers and answers, for the verbs shim. */
struct p2pmr_reg_req {
	unsigned int flags;		/* P2PMR_REG_* */
	/*
	 * Registers the range as host memory the caller's way (the verb the
	 * application called, with all its arguments); NULL: ibv_reg_mr()
	 * or ibv_reg_mr_iova2().
	 */
	struct ibv_mr *(*reg_host)(void *arg);
	void *reg_host_arg;
};

/*
 * Where p2pmr cannot export memory the classification took for a BAR
 * mapping, answer what the host registration answers (libibverbs' own
 * errno) rather than p2pmr's.
 */
#define P2PMR_REG_STOCK_ERRNO	(1U << 0)

/*
 * p2pmr_reg_mr() with a request (NULL: p2pmr_reg_mr()'s behaviour), that
 * also tells which way it went: *@type is P2PMR_MEM_BAR when the MR is a
 * dma-buf registration (of a BAR mapping, of a dma-buf mapping or of a
 * GPU allocation; then only p2pmr_dereg_mr() may release it), else
 * P2PMR_MEM_HOST.
 */
struct ibv_mr *p2pmr_reg_mr_req(struct ibv_pd *pd, void *addr, size_t length,
				uint64_t iova, int access,
				const struct p2pmr_reg_req *req,
				enum p2pmr_mem_type *type);

/* Number of MRs registered through the uverbs ioctl, not yet released. */
unsigned long p2pmr_own_mr_count(void);
/*
 * Tests: forget the kernel driver ids the uverbs fallback probed (a small
 * table keyed on the verbs context and its command fd, see mr.c).
 */
void p2pmr_driver_id_cache_reset(void);

/*
 * fork(): the child must not inherit a lock held by another thread, nor a
 * sequence lock a writer left odd.  log.c registers one handler that takes
 * them all, in this order (the order they nest in).
 */
void p2pmr_cache_fork_lock(void);
void p2pmr_cache_fork_unlock(void);
void p2pmr_dev_fork_lock(void);
void p2pmr_dev_fork_unlock(void);
void p2pmr_mr_fork_lock(void);
void p2pmr_mr_fork_unlock(void);

/*
 * Extensible structs handed to the caller (the rule is in p2pmr.h).
 * p2pmr_check_out() refuses a NULL struct or one shorter than its first
 * release (EINVAL, logged); p2pmr_copy_out() writes exactly @dst_len
 * bytes: those of @src that fit, zero after them.  A field added later
 * must have its comp_mask bit cleared in @src when it does not fit whole
 * into @dst_len.
 */
int p2pmr_check_out(const char *what, const void *dst, size_t dst_len,
		    size_t min_len);
void p2pmr_copy_out(void *dst, size_t dst_len, const void *src,
		    size_t src_len);

/*
 * GPU allocations (gpu.c), through the GPU runtime the process loaded
 */

/**
 * struct p2pmr_gpu_range - a GPU allocation holding a range
 * @base: its device address
 * @size: its size
 * @id: the runtime's id of the allocation, never reused in the process;
 *	0 where the runtime gives none
 * @runtime: the runtime's name, for messages
 * @rt: the runtime, gpu.c's
 */
struct p2pmr_gpu_range {
	uint64_t base;
	uint64_t size;
	uint64_t id;
	const char *runtime;
	const struct p2pmr_gpu_runtime *rt;
};

/*
 * Whether [addr, addr + length) lies in one GPU allocation: 0 and @range
 * filled in; ENOENT when it is no GPU memory (or no GPU runtime is
 * loaded), else an errno (logged).
 */
int p2pmr_gpu_find(const void *addr, size_t length,
		   struct p2pmr_gpu_range *range);
/*
 * A dma-buf fd holding the page-aligned [start, start + length) of
 * @range, made by the GPU driver, *@offset where @start lies in it; -1
 * with errno (logged).  Closed with p2pmr_gpu_close().
 */
int p2pmr_gpu_export(const struct p2pmr_gpu_range *range, uint64_t start,
		     uint64_t length, uint64_t *offset);
void p2pmr_gpu_close(const struct p2pmr_gpu_range *range, int fd);

#endif /* P2PMR_INTERNAL_H */
