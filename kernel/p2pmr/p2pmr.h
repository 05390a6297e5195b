/* SPDX-License-Identifier: GPL-2.0 */
/*
 * p2pmr internal interfaces.
 *
 * p2pmr_main.c      /dev/p2pmr, ioctl decoding, debugfs, module init/exit
 * p2pmr_resource.c  which BAR a sysfs resource file or mapping stands for,
 *                   and whether the caller may export a range of it
 * p2pmr_p2p.c       P2P topology decision and bus address translation
 * p2pmr_export.c    the dma-buf: object, dma_buf_ops, creation, revocation
 * p2pmr_revoke.c    PCI bus notifier: revoke on unbind/bind/removal and
 *                   wait for importers that cannot be revoked
 * p2pmr_dmabuf_va.c the dma-buf behind a CPU mapping of one
 * p2pmr_watch.c     watches of user ranges (WATCH_VA, UNWATCH) and the
 *                   watch page userspace maps to read their counters
 * p2pmr_peer.c      peer-memory client of the OFED RDMA core, built only
 *                   when a peer-memory API is available (CONFIG_P2PMR_PEER_MEM)
 */
#ifndef P2PMR_H
#define P2PMR_H

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <linux/p2pmr.h>

#include "compat.h"

/**
 * struct p2pmr_stats - live objects, for debugfs; all return to zero when
 * every export is closed
 * @exports: dma-bufs created and not yet released
 * @attachments: importer attachments
 * @mappings: map_dma_buf calls not yet unmapped
 * @pins: pins (explicit, and implicit ones the dma-buf core takes per
 *	mapping when CONFIG_DMABUF_MOVE_NOTIFY is off)
 * @vmaps: kernel virtual mappings (vmap)
 * @cpu_mmaps: userspace VMAs mapping a dma-buf
 * @revoked: exports revoked but not yet released
 * @watches: watches (WATCH_VA) not yet ended
 * @peer_regs: peer-memory ranges acquired and not yet released
 * @peer_pages: peer-memory ranges taken (get_pages) and not yet put
 * @peer_mappings: peer-memory ranges DMA-mapped and not yet unmapped
 * @peer_invalidated: peer-memory ranges invalidated and not yet released
 */
struct p2pmr_stats {
	atomic_long_t exports;
	atomic_long_t attachments;
	atomic_long_t mappings;
	atomic_long_t pins;
	atomic_long_t vmaps;
	atomic_long_t cpu_mmaps;
	atomic_long_t revoked;
	atomic_long_t watches;
	atomic_long_t peer_regs;
	atomic_long_t peer_pages;
	atomic_long_t peer_mappings;
	atomic_long_t peer_invalidated;
};

extern struct p2pmr_stats p2pmr_stats;

/* Refusals caused by userspace input: one rate-limited line each. */
#define p2pmr_refuse(fmt, ...) pr_info_ratelimited(fmt, ##__VA_ARGS__)

/**
 * struct p2pmr_resource - a memory BAR named by a sysfs resource file
 * @file: the resource<N> or resource<N>_wc file (reference held); it pins
 *	@kn, and @kn pins its parent directory node
 * @kn: the file's kernfs node
 * @pdev: the device the file belongs to (reference held)
 * @bar: BAR number
 * @wc: the file is resource<N>_wc: CPU mappings are write-combining
 */
struct p2pmr_resource {
	struct file *file;
	struct kernfs_node *kn;
	struct pci_dev *pdev;
	unsigned int bar;
	bool wc;
};

int p2pmr_resource_from_file(struct file *file, struct p2pmr_resource *res);
/* p2pmr_resource_from_va() flags */
#define P2PMR_VA_QUIET		(1U << 0)

int p2pmr_resource_from_va(u64 addr, u64 length, unsigned int flags,
			   struct p2pmr_resource *res, u64 *offset);
void p2pmr_resource_put(struct p2pmr_resource *res);
int p2pmr_va_range_check(u64 addr, u64 length);
struct vm_area_struct *p2pmr_vma_continued(struct mm_struct *mm,
					   struct vm_area_struct *vma);
int p2pmr_dmabuf_from_va(u64 addr, u64 length, bool read_only,
			 struct file **file, u64 *offset, bool *writable);
int p2pmr_resource_validate_range(const struct p2pmr_resource *res,
				  u64 offset, u64 length);
int p2pmr_range_usable(struct pci_dev *pdev, unsigned int bar,
		       resource_size_t bar_start, u64 offset, u64 length,
		       const char *what);
struct pci_dev *p2pmr_device_get(struct pci_dev *pdev);
void p2pmr_device_put(struct pci_dev *pdev);
int p2pmr_resource_check_access(const struct p2pmr_resource *res,
				u64 offset, u64 length);
bool p2pmr_resource_present(const struct p2pmr_resource *res);
int p2pmr_resource_publish(const struct p2pmr_resource *res,
			   struct list_head *node, struct list_head *list);

/**
 * struct p2pmr_p2p_decision - how an importer reaches a BAR's device
 * @path: enum p2pmr_p2p_path
 * @reason: enum p2pmr_p2p_reason
 * @distance: hops as counted by pci_p2pdma_distance_many(), or
 *	P2PMR_DISTANCE_NONE
 * @flags: P2PMR_QUERY_P2P_OUT_*
 */
struct p2pmr_p2p_decision {
	enum p2pmr_p2p_path path;
	enum p2pmr_p2p_reason reason;
	u32 distance;
	u32 flags;
};

void p2pmr_p2p_decide(struct pci_dev *provider, struct device *importer,
		      bool verbose, struct p2pmr_p2p_decision *d);
bool p2pmr_dma_is_direct(struct device *dev);
const char *p2pmr_p2p_path_name(enum p2pmr_p2p_path path);
dma_addr_t p2pmr_p2p_bus_addr(struct pci_dev *pdev, unsigned int bar);

/**
 * struct p2pmr_export - one exported BAR range; the dma-buf's priv
 * @kref: the dma-buf holds one reference until its release, a revoking
 *	notifier that waits for importers holds another
 * @node: entry in p2pmr_exports, under p2pmr_exports_lock
 * @id: number for logs and debugfs
 * @pdev: the BAR's device (reference held until the last kref)
 * @dmabuf: the dma-buf; valid while @node is on p2pmr_exports
 * @bar: BAR number
 * @offset: offset of the range in the BAR
 * @length: length of the range
 * @phys: CPU physical address of the range, for CPU mappings and the
 *	DMA API only, never handed to a device
 * @bar_start: CPU physical start of the BAR when exported; if the BAR
 *	moves, mappings are refused
 * @kn: kernfs node of the resource file exported from, referenced:
 *	p2pmr_export_match_va() compares mappings' files with it
 * @wc: CPU mappings are write-combining
 * @prefetchable: the BAR is prefetchable
 * @revoked: set once, with @dmabuf->resv and @lock held; read with either
 *	held, or with READ_ONCE() under p2pmr_exports_lock to skip work
 * @owner_pid: thread group of the process that made the export
 * @owner_comm: its name then, for logs that say who holds a device
 * @lock: protects @attachments, the vmap and CPU mapping state
 * @attachments: struct p2pmr_attachment list
 * @watches: struct p2pmr_watch list: watches made with this dma-buf,
 *	each holding a reference on it; revocation moves their counters
 * @vaddr: kernel mapping, made by the first vmap and kept until the
 *	export is revoked (and no longer vmapped) or released
 * @nr_vmas: live userspace VMAs; each holds a reference on the dma-buf
 *	file, so the file's address space exists while this is nonzero
 * @memtype_reserved: a write-combining memtype is reserved for @phys
 * @nr_maps: live mappings; raised under @dmabuf->resv, dropped under
 *	@dmabuf->resv and @lock
 * @nr_pins: pins; as @nr_maps
 * @nr_vmaps: 0 or 1, under @lock
 * @wq: woken whenever @nr_maps, @nr_pins or @nr_vmaps drop
 */
struct p2pmr_export {
	struct kref kref;
	struct list_head node;
	u64 id;
	struct pci_dev *pdev;
	struct dma_buf *dmabuf;
	unsigned int bar;
	u64 offset;
	u64 length;
	phys_addr_t phys;
	resource_size_t bar_start;
	struct kernfs_node *kn;
	bool wc;
	bool prefetchable;
	bool revoked;
	pid_t owner_pid;
	char owner_comm[TASK_COMM_LEN];

	struct mutex lock;
	struct list_head attachments;
	struct list_head watches;
	void __iomem *vaddr;
	unsigned int nr_vmas;
	bool memtype_reserved;

	atomic_t nr_maps;
	atomic_t nr_pins;
	atomic_t nr_vmaps;
	wait_queue_head_t wq;
};

/**
 * struct p2pmr_attachment - per-importer state; dma_buf_attachment.priv
 * @node: entry in p2pmr_export.attachments, under p2pmr_export.lock
 * @attach: the attachment
 * @decision: the P2P path chosen at attach time
 * @nr_maps: live mappings of this attachment, under dmabuf->resv
 * @nr_pins: pins of this attachment, under dmabuf->resv
 */
struct p2pmr_attachment {
	struct list_head node;
	struct dma_buf_attachment *attach;
	struct p2pmr_p2p_decision decision;
	unsigned int nr_maps;
	unsigned int nr_pins;
};

extern struct mutex p2pmr_exports_lock;
extern struct list_head p2pmr_exports;

struct dma_buf *p2pmr_export_create(const struct p2pmr_resource *res,
				    u64 offset, u64 length, u32 open_flags);
struct p2pmr_export *p2pmr_export_from_dmabuf(struct dma_buf *dmabuf);
void p2pmr_export_put(struct p2pmr_export *exp);
int p2pmr_export_match_va(const struct p2pmr_export *exp, u64 addr,
			  u64 length, u64 *offset);
bool p2pmr_export_revoke(struct p2pmr_export *exp);
bool p2pmr_export_busy(struct p2pmr_export *exp);
unsigned int p2pmr_export_describe_holders(struct p2pmr_export *exp,
					   char *buf, size_t len);
void p2pmr_exports_show(struct seq_file *m);

int p2pmr_sgt_fill(struct sg_table *sgt, struct pci_dev *pdev,
		   unsigned int bar, u64 offset, u64 length,
		   enum p2pmr_p2p_path path, struct device *dev,
		   enum dma_data_direction dir);
void p2pmr_sgt_unmap(struct sg_table *sgt, enum p2pmr_p2p_path path,
		     struct device *dev, enum dma_data_direction dir);
void p2pmr_sgt_free(struct sg_table *sgt);

struct p2pmr_watch;
struct p2pmr_watch *p2pmr_watch_begin(struct file *file, u64 addr,
				      u64 length, struct dma_buf *dmabuf);
u32 p2pmr_watch_slot(const struct p2pmr_watch *w);
u64 p2pmr_watch_seq(const struct p2pmr_watch *w);
void p2pmr_watch_commit(struct p2pmr_watch *w);
void p2pmr_watch_abort(struct p2pmr_watch *w);
int p2pmr_unwatch(struct file *file, u32 slot);
void p2pmr_watches_revoked(struct p2pmr_export *exp);
void p2pmr_watches_device_removed(void);
int p2pmr_watch_mmap(struct file *file, struct vm_area_struct *vma);
void p2pmr_watch_release(struct file *file);

int p2pmr_revoke_init(void);
void p2pmr_revoke_exit(void);

#ifdef CONFIG_P2PMR_PEER_MEM
void p2pmr_peer_init(void);
void p2pmr_peer_exit(void);
void p2pmr_peer_revoke(struct pci_dev *pdev, const char *what);
void p2pmr_peer_show(struct seq_file *m);
#else
static inline void p2pmr_peer_init(void)
{
}

static inline void p2pmr_peer_exit(void)
{
}

static inline void p2pmr_peer_revoke(struct pci_dev *pdev, const char *what)
{
}

static inline void p2pmr_peer_show(struct seq_file *m)
{
}
#endif

#endif /* P2PMR_H */
