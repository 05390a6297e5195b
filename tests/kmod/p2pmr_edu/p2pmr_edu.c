// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only DMA driver for QEMU's "edu" device (1234:11e8), never shipped.
 *
 * It binds the edu devices of the p2pmr testbed and imports device memory
 * in the three shapes RDMA drivers do:
 *
 * - dynamic, like mlx5's ib_umem_dmabuf_get(): attach with allow_peer2peer
 *   and a move_notify that unmaps, map under the reservation lock, map
 *   again before the next transfer;
 * - pinned, like efa's and irdma's ib_umem_dmabuf_get_pinned(): attach,
 *   pin and map once; a move_notify is logged and ignored, and whoever
 *   revokes the BAR waits until the slot is released;
 * - peer memory, like an HCA driver below OFED's ib_umem_get(): a user
 *   range handed to the testbed's peer-memory core (tests/kmod/
 *   peer_mem_host, found with symbol_get() so that this module loads
 *   without it), DMA-mapped for the edu by the client that claims it.
 *
 * On request it moves data with edu's DMA engine through exactly the DMA
 * addresses of the scatterlist p2pmr returned, so that a host-side check
 * of the BAR's backing file proves those addresses right.  No CPU ever
 * touches the BAR here.
 *
 * Commands are written, one per write(), to
 * /sys/kernel/debug/p2pmr_edu/ctl:
 *
 *   import <slot> <dmabuf-fd> <edu dddd:bb:dd.f> [<base>]
 *	attach (dynamic, peer2peer) for that edu and map.  <base> is the
 *	pattern offset of the dma-buf's first byte (its offset in the BAR)
 *   import-child <slot> <dmabuf-fd> <edu dddd:bb:dd.f> [<base>]
 *	the same, attaching with a child device of the edu that is not a
 *	PCI device (as an importer that attaches with its netdev or
 *	auxiliary device would); edu's engine still does the DMA
 *   import-pinned <slot> <dmabuf-fd> <edu dddd:bb:dd.f> [<base>]
 *	attach (peer2peer), pin and map, as a pinned importer does
 *   import-peer <slot> <addr> <length> <edu dddd:bb:dd.f> [<base>]
 *	hand the page-aligned range [<addr>, <addr> + <length>) of the
 *	writer's address space to the peer-memory core, DMA-mapped for
 *	that edu; its invalidation counts as a move_notify
 *   write <slot> <offset> <len> <seed>
 *	DMA the pattern (tests/common/pattern.h) into the dma-buf at
 *	<offset>: host buffer -> edu -> the scatterlist's DMA addresses
 *   read <slot> <offset> <len> <seed>
 *	DMA the dma-buf's bytes at <offset> back: DMA address -> edu ->
 *	host buffer, and compare them with the pattern ("bad" in results)
 *   write-stale <slot> <offset> <len> <seed>
 *	after a move_notify (dynamic) or an invalidation (peer), DMA the
 *	pattern to the addresses the slot was mapped at before it, as an
 *	importer that ignored the notification would: with an IOMMU the
 *	old IOVA must fault and write nothing
 *   release <slot>	unmap, detach, drop the dma-buf
 *   reset		release every slot
 *   mask <edu dddd:bb:dd.f> <bits>
 *	set the streaming DMA mask of the edu and of its child device to
 *	<bits> (24 to 64), as a device with a narrower DMA engine has
 *
 * <dmabuf-fd> is looked up in the writer's file table.  Numbers take C
 * prefixes.  A write returns its length, or the negative errno of the
 * refused or failed command (also kept for the results file):
 * EINVAL malformed, E2BIG transfer too long, EBUSY slot in use, ENOENT
 * slot empty (or, for write-stale, never moved or still mapped), ENODEV
 * no such edu bound here or the dma-buf was revoked (the peer range
 * invalidated), ENOPKG import-peer without peer_mem_host.ko, ETIMEDOUT/
 * EIO the engine did not finish (the device is then retired), or the
 * exporter's (peer client's) errno for a refused attach, pin or map.
 *
 * /sys/kernel/debug/p2pmr_edu/results: one line per bound edu, one per
 * slot in use or with a recorded result, one per scatterlist entry:
 *
 *   edu 0000:02:03.0 dmas 12 broken 0 mask 0xffffffffffffffff
 *   slot 0 edu 0000:02:03.0 attached 1 mapped 1 move_notify 0 base 0x0
 *	last_cmd read last_err 0 bytes 4096 bad 0 first_bad -1 nents 1
 *	child 0 stale 0x0 stale_len 0x0 kind dynamic
 *   slot 0 sg 0 dma 0x00000000fe000000 len 0x100000
 *
 * The engine (QEMU hw/misc/edu.c) copies between its 4 KiB buffer at
 * device address 0x40000 and a bus address, one transfer at a time, each
 * completing on a 100 ms timer.  Any transfer outside that buffer makes
 * QEMU abort, and QEMU 7.2's range check is off by one at its end: every
 * transfer here uses [0x40000, 0x40000 + 2 KiB) and is checked against
 * that window before a register is written.  Registers below 0x80 take
 * 32-bit accesses only; the DMA registers take 64-bit ones.
 *
 * The reservation lock (for peer ranges the slot's peer_lock, which the
 * invalidation callback takes) is held across every transfer, so
 * move_notify never returns while a DMA through the old mapping is in
 * flight, and none is started after it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/io.h>
#include <linux/iopoll.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>

#include <rdma/peer_mem_host.h>

#include "compat.h"
#include "pattern.h"

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8

#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_RUN		BIT(0)
#define EDU_DMA_TO_PCI		BIT(1)	/* edu buffer -> bus address */

#define EDU_ID_MAGIC		0xed	/* low byte of the ID register */
#define EDU_BUF_ADDR		0x40000	/* the engine's buffer, device side */
#define EDU_CHUNK		SZ_2K	/* the part of it every transfer uses */
#define EDU_DMA_TIMEOUT_US	(5 * USEC_PER_SEC)	/* 50x the engine's timer */
#define PE_MAX_XFER		SZ_256K	/* ~25 s of transfers at 100 ms each */
#define PE_SLOTS		8
#define PE_CMD_LEN		128
#define PE_MAX_ARGS		6
#define PE_MIN_MASK_BITS	24	/* dma-direct's floor with ZONE_DMA */

/**
 * struct pe_edu - one bound edu device
 * @pdev: the device
 * @regs: BAR0
 * @buf: EDU_CHUNK bytes of coherent host memory, the engine's other end
 * @buf_dma: @buf's DMA address
 * @dmas: transfers started
 * @broken: a transfer did not finish; no more are started
 * @child: a device below @pdev that is not a PCI device, for import-child
 * @child_mask: @child's DMA mask
 * @node: in pe_edus
 */
struct pe_edu {
	struct pci_dev *pdev;
	void __iomem *regs;
	void *buf;
	dma_addr_t buf_dma;
	unsigned long dmas;
	bool broken;
	struct device *child;
	u64 child_mask;
	struct list_head node;
};

enum pe_kind {
	PE_DYNAMIC,
	PE_PINNED,
	PE_PEER,
};

static const char *const pe_kind_names[] = {
	[PE_DYNAMIC] = "dynamic",
	[PE_PINNED] = "pinned",
	[PE_PEER] = "peer",
};

/**
 * struct pe_slot - one imported dma-buf or peer-memory range
 * @edu: the importing edu, NULL when the slot is free
 * @kind: how it was imported
 * @child: attached with @edu's child device rather than the edu
 * @dmabuf: the dma-buf (reference held while imported), not for PE_PEER
 * @attach: the attachment, not for PE_PEER
 * @peer_ops: the peer-memory core (module reference held), PE_PEER only
 * @umem: the peer-memory range, PE_PEER only
 * @peer_lock: for PE_PEER, what @dmabuf->resv is for the others
 * @size: bytes imported
 * @sgt: the mapping, under the slot's lock (pe_slot_lock())
 * @moved: move_notify (or peer invalidation) calls, under that lock
 * @stale_dma: DMA address of the first entry of the mapping move_notify
 *	last took away, under that lock
 * @stale_len: that entry's length, 0 if none was taken away
 * @base: pattern offset of the first byte imported
 * @last_cmd: last command on this slot
 * @last_err: its result, 0 or a negative errno
 * @bytes: bytes moved by the last write or read
 * @bad: bytes of the last read that differ from the pattern
 * @first_bad: offset of the first of them, or -1
 */
struct pe_slot {
	struct pe_edu *edu;
	enum pe_kind kind;
	bool child;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	const struct peer_mem_host_ops *peer_ops;
	struct peer_mem_umem *umem;
	struct mutex peer_lock;
	u64 size;
	struct sg_table *sgt;
	unsigned int moved;
	u64 stale_dma;
	u64 stale_len;
	u64 base;
	char last_cmd[16];
	int last_err;
	u64 bytes;
	u64 bad;
	s64 first_bad;
};

/*
 * pe_lock serializes commands, results, probe and remove, and guards
 * pe_edus and which slots are in use.  It is taken before dmabuf->resv;
 * move_notify, which runs with dmabuf->resv held, never takes it.
 */
static DEFINE_MUTEX(pe_lock);
static LIST_HEAD(pe_edus);
static struct pe_slot pe_slots[PE_SLOTS];
static struct dentry *pe_dir;

/* ---- the engine ---------------------------------------------------------- */

/* Whether [addr, addr + len) lies in the part of edu's buffer we use. */
static bool pe_edu_window_ok(u64 addr, u32 len)
{
	return len && len <= EDU_CHUNK && addr >= EDU_BUF_ADDR &&
	       addr - EDU_BUF_ADDR <= EDU_CHUNK - len;
}

/**
 * pe_edu_dma() - one transfer of edu's engine, waited for
 * @edu: the device
 * @src: source: a bus address, or edu's buffer when @to_pci
 * @dst: destination: edu's buffer, or a bus address when @to_pci
 * @len: bytes, at most EDU_CHUNK
 * @to_pci: from edu's buffer to @dst (else from @src into edu's buffer)
 *
 * Return: 0, -EINVAL for an edu address outside the window (nothing is
 * started: QEMU would abort), -EIO on a retired device, -ETIMEDOUT.
 */
static int pe_edu_dma(struct pe_edu *edu, u64 src, u64 dst, u32 len,
		      bool to_pci)
{
	u64 window = to_pci ? src : dst;
	u32 cmd;
	int ret;

	if (!pe_edu_window_ok(window, len)) {
		pci_warn(edu->pdev, "refusing a transfer of %u bytes at edu address %#llx, outside [%#x, %#x)\n",
			 len, window, EDU_BUF_ADDR, EDU_BUF_ADDR + EDU_CHUNK);
		return -EINVAL;
	}
	if (edu->broken)
		return -EIO;
	if (readl(edu->regs + EDU_REG_DMA_CMD) & EDU_DMA_RUN) {
		pci_err(edu->pdev, "DMA engine busy; retiring the device\n");
		edu->broken = true;
		return -EIO;
	}

	writeq(src, edu->regs + EDU_REG_DMA_SRC);
	writeq(dst, edu->regs + EDU_REG_DMA_DST);
	writeq(len, edu->regs + EDU_REG_DMA_COUNT);
	writeq(EDU_DMA_RUN | (to_pci ? EDU_DMA_TO_PCI : 0),
	       edu->regs + EDU_REG_DMA_CMD);
	edu->dmas++;

	ret = readl_poll_timeout(edu->regs + EDU_REG_DMA_CMD, cmd,
				 !(cmd & EDU_DMA_RUN), 1000,
				 EDU_DMA_TIMEOUT_US);
	if (ret) {
		pci_err(edu->pdev, "DMA %#llx -> %#llx (%u bytes) did not finish; retiring the device\n",
			src, dst, len);
		edu->broken = true;
	}
	return ret;
}

/* ---- the importer -------------------------------------------------------- */

/* The lock move_notify (or the peer invalidation) runs under. */
static void pe_slot_lock(struct pe_slot *slot)
{
	if (slot->kind == PE_PEER)
		mutex_lock(&slot->peer_lock);
	else
		dma_resv_lock(slot->dmabuf->resv, NULL);
}

static void pe_slot_unlock(struct pe_slot *slot)
{
	if (slot->kind == PE_PEER)
		mutex_unlock(&slot->peer_lock);
	else
		dma_resv_unlock(slot->dmabuf->resv);
}

/* Keep the first entry of a mapping taken away, for write-stale. */
static void pe_keep_stale(struct pe_slot *slot)
{
	if (slot->sgt && slot->sgt->nents) {
		slot->stale_dma = sg_dma_address(slot->sgt->sgl);
		slot->stale_len = sg_dma_len(slot->sgt->sgl);
	}
}

static void pe_unmap_locked(struct pe_slot *slot)
{
	dma_resv_assert_held(slot->dmabuf->resv);

	if (slot->sgt) {
		dma_buf_unmap_attachment(slot->attach, slot->sgt,
					 DMA_BIDIRECTIONAL);
		slot->sgt = NULL;
	}
}

static void pe_move_notify(struct dma_buf_attachment *attach)
{
	struct pe_slot *slot = attach->importer_priv;

	dma_resv_assert_held(attach->dmabuf->resv);

	slot->moved++;
	pe_keep_stale(slot);
	pe_unmap_locked(slot);
}

static const struct dma_buf_attach_ops pe_attach_ops = {
	.allow_peer2peer = true,
	.P2PMR_IMPORTER_INVALIDATE = pe_move_notify,
};

/*
 * As ib_umem_dmabuf_unsupported_move_notify(): a pinned importer cannot
 * stop its DMA, so the mapping stays, and the exporter must wait for the
 * release.
 */
static void pe_pinned_move_notify(struct dma_buf_attachment *attach)
{
	struct pe_slot *slot = attach->importer_priv;

	dma_resv_assert_held(attach->dmabuf->resv);

	slot->moved++;
	pci_info(slot->edu->pdev, "move_notify on a pinned import: the mapping stays until it is released\n");
}

static const struct dma_buf_attach_ops pe_pinned_attach_ops = {
	.allow_peer2peer = true,
	.P2PMR_IMPORTER_INVALIDATE = pe_pinned_move_notify,
};

/*
 * The peer-memory core's invalidation: from now on the range may be
 * unmapped at any time.  Taking peer_lock waits for a transfer in flight.
 */
static void pe_peer_invalidate(struct peer_mem_umem *umem, void *priv)
{
	struct pe_slot *slot = priv;

	mutex_lock(&slot->peer_lock);
	slot->moved++;
	pe_keep_stale(slot);
	slot->sgt = NULL;
	mutex_unlock(&slot->peer_lock);
}

/* Map if not mapped (again after a move); the slot's lock held. */
static int pe_map_locked(struct pe_slot *slot)
{
	struct sg_table *sgt;

	if (slot->sgt)
		return 0;
	/* A peer range is mapped once; invalidated, it is gone. */
	if (slot->kind == PE_PEER)
		return -ENODEV;
	dma_resv_assert_held(slot->dmabuf->resv);
	/* p2pmr adds no fences, so there is nothing to wait for. */
	sgt = dma_buf_map_attachment(slot->attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	slot->sgt = sgt;
	return 0;
}

static void pe_release_peer(struct pe_slot *slot)
{
	/* Unmaps, unless the client did on invalidation. */
	slot->peer_ops->stop_invalidation_notifier(slot->umem);
	slot->peer_ops->umem_release(slot->umem);
	symbol_put(peer_mem_host_ops);
	slot->peer_ops = NULL;
	slot->umem = NULL;
	slot->sgt = NULL;
}

static void pe_release(struct pe_slot *slot)
{
	if (!slot->edu)
		return;

	if (slot->kind == PE_PEER) {
		pe_release_peer(slot);
	} else {
		dma_resv_lock(slot->dmabuf->resv, NULL);
		pe_unmap_locked(slot);
		if (slot->kind == PE_PINNED)
			dma_buf_unpin(slot->attach);
		dma_resv_unlock(slot->dmabuf->resv);

		dma_buf_detach(slot->dmabuf, slot->attach);
		dma_buf_put(slot->dmabuf);
	}
	slot->edu = NULL;
	slot->kind = PE_DYNAMIC;
	slot->child = false;
	slot->dmabuf = NULL;
	slot->attach = NULL;
	slot->size = 0;
	slot->moved = 0;
	slot->stale_dma = 0;
	slot->stale_len = 0;
}

static struct pe_edu *pe_find_edu(const char *bdf)
{
	unsigned int domain, bus, dev, fn;
	struct pe_edu *edu;
	char end;

	if (sscanf(bdf, "%x:%x:%x.%x%c", &domain, &bus, &dev, &fn,
		   &end) != 4 || bus > 0xff || dev > 0x1f || fn > 7)
		return ERR_PTR(-EINVAL);

	list_for_each_entry(edu, &pe_edus, node)
		if (pci_domain_nr(edu->pdev->bus) == domain &&
		    edu->pdev->bus->number == bus &&
		    edu->pdev->devfn == PCI_DEVFN(dev, fn))
			return edu;
	return ERR_PTR(-ENODEV);
}

/* The edu named @bdf, for a free @slot; logs why not. */
static struct pe_edu *pe_import_edu(struct pe_slot *slot, const char *bdf)
{
	struct pe_edu *edu;

	if (slot->edu)
		return ERR_PTR(-EBUSY);
	edu = pe_find_edu(bdf);
	if (IS_ERR(edu))
		pr_warn("import: %s is %s\n", bdf,
			PTR_ERR(edu) == -EINVAL ? "not a PCI address" :
						  "not an edu bound here");
	return edu;
}

static int pe_import(struct pe_slot *slot, int fd, const char *bdf, u64 base,
		     enum pe_kind kind, bool child)
{
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct device *dev;
	struct pe_edu *edu;
	int ret;

	edu = pe_import_edu(slot, bdf);
	if (IS_ERR(edu))
		return PTR_ERR(edu);

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf)) {
		pr_warn("import: fd %d is not a dma-buf (%ld)\n", fd,
			PTR_ERR(dmabuf));
		return PTR_ERR(dmabuf);
	}

	dev = child ? edu->child : &edu->pdev->dev;
	attach = dma_buf_dynamic_attach(dmabuf, dev,
					kind == PE_PINNED ?
						&pe_pinned_attach_ops :
						&pe_attach_ops,
					slot);
	if (IS_ERR(attach)) {
		ret = PTR_ERR(attach);
		dev_info(dev, "import: the exporter refused the attachment (%d)\n",
			 ret);
		goto err_put_dmabuf;
	}

	slot->edu = edu;
	slot->kind = kind;
	slot->child = child;
	slot->stale_dma = 0;
	slot->stale_len = 0;
	slot->dmabuf = dmabuf;
	slot->attach = attach;
	slot->size = dmabuf->size;
	slot->moved = 0;
	slot->base = base;

	dma_resv_lock(dmabuf->resv, NULL);
	if (kind == PE_PINNED) {
		ret = dma_buf_pin(attach);
		if (ret) {
			dma_resv_unlock(dmabuf->resv);
			pci_info(edu->pdev, "import: the exporter refused the pin (%d)\n",
				 ret);
			dma_buf_detach(dmabuf, attach);
			slot->edu = NULL;
			goto err_put_dmabuf;
		}
	}
	ret = pe_map_locked(slot);
	dma_resv_unlock(dmabuf->resv);
	if (ret) {
		pci_info(edu->pdev, "import: mapping failed (%d)\n", ret);
		pe_release(slot);
	}
	return ret;

err_put_dmabuf:
	dma_buf_put(dmabuf);
	return ret;
}

/*
 * What an HCA driver below OFED's ib_umem_get() does for a range it
 * could not pin: ask the peer-memory core, then take invalidations.
 */
static int pe_import_peer(struct pe_slot *slot, u64 addr, u64 len,
			  const char *bdf, u64 base)
{
	const struct peer_mem_host_ops *ops;
	struct peer_mem_umem *umem;
	struct pe_edu *edu;

	edu = pe_import_edu(slot, bdf);
	if (IS_ERR(edu))
		return PTR_ERR(edu);
	if (!len || !PAGE_ALIGNED(addr) || addr + len < addr) {
		pr_warn("import-peer: %#llx+%#llx is not a page-aligned range\n",
			addr, len);
		return -EINVAL;
	}

	ops = symbol_get(peer_mem_host_ops);
	if (!ops) {
		pr_warn("import-peer: the peer-memory core (peer_mem_host.ko) is not loaded\n");
		return -ENOPKG;
	}
	/* As ib_umem_get() after pin_user_pages() refused a PFN mapping. */
	umem = ops->umem_get(&edu->pdev->dev, addr, len, true, -EFAULT);
	if (IS_ERR(umem)) {
		pci_info(edu->pdev, "import-peer: no peer-memory client took %#llx+%#llx (%ld)\n",
			 addr, len, PTR_ERR(umem));
		symbol_put(peer_mem_host_ops);
		return PTR_ERR(umem);
	}

	slot->edu = edu;
	slot->kind = PE_PEER;
	slot->child = false;
	slot->peer_ops = ops;
	slot->umem = umem;
	slot->sgt = &umem->sgt;
	slot->size = len;
	slot->moved = 0;
	slot->stale_dma = 0;
	slot->stale_len = 0;
	slot->base = base;
	ops->activate_invalidation_notifier(umem, pe_peer_invalidate, slot);
	return 0;
}

/* Pattern into @edu->buf for dma-buf offset @off; or compare against it. */
static void pe_fill(struct pe_slot *slot, u64 off, u32 len, u32 seed)
{
	u8 *buf = slot->edu->buf;
	u32 i;

	for (i = 0; i < len; i++)
		buf[i] = p2pmr_pattern_byte(seed, slot->base + off + i);
}

static void pe_compare(struct pe_slot *slot, u64 off, u32 len, u32 seed)
{
	const u8 *buf = slot->edu->buf;
	u32 i;

	for (i = 0; i < len; i++) {
		if (buf[i] == p2pmr_pattern_byte(seed, slot->base + off + i))
			continue;
		if (!slot->bad)
			slot->first_bad = off + i;
		slot->bad++;
	}
}

/* One chunk through the engine, between @bus and the host buffer. */
static int pe_chunk(struct pe_slot *slot, u64 bus, u64 off, u32 len,
		    u32 seed, bool write)
{
	struct pe_edu *edu = slot->edu;
	int ret;

	if (write) {
		pe_fill(slot, off, len, seed);
		ret = pe_edu_dma(edu, edu->buf_dma, EDU_BUF_ADDR, len, false);
		if (!ret)
			ret = pe_edu_dma(edu, EDU_BUF_ADDR, bus, len, true);
		return ret;
	}

	/* Poison the host buffer: bytes no DMA delivered cannot match. */
	pe_fill(slot, off, len, ~seed);
	ret = pe_edu_dma(edu, bus, EDU_BUF_ADDR, len, false);
	if (!ret)
		ret = pe_edu_dma(edu, EDU_BUF_ADDR, edu->buf_dma, len, true);
	if (!ret)
		pe_compare(slot, off, len, seed);
	return ret;
}

static int pe_xfer(struct pe_slot *slot, u64 off, u64 len, u32 seed,
		   bool write)
{
	struct scatterlist *sg;
	u64 end, pos = 0, done = 0;
	unsigned int i;
	int ret = 0;

	slot->bytes = 0;
	slot->bad = 0;
	slot->first_bad = -1;
	if (!len || check_add_overflow(off, len, &end) ||
	    end > slot->size) {
		pr_warn("%s: range %#llx+%#llx is outside the %#llx bytes imported\n",
			write ? "write" : "read", off, len, slot->size);
		return -EINVAL;
	}
	if (len > PE_MAX_XFER) {
		pr_warn("%s: %#llx bytes is more than the %#x a transfer may move\n",
			write ? "write" : "read", len, PE_MAX_XFER);
		return -E2BIG;
	}

	pe_slot_lock(slot);
	/* As ib_umem_dmabuf_map_pages(): map again after a move_notify. */
	ret = pe_map_locked(slot);
	if (ret) {
		pci_info(slot->edu->pdev, "%s: mapping the %s import failed (%d); no DMA issued\n",
			 write ? "write" : "read", pe_kind_names[slot->kind],
			 ret);
		goto out_unlock;
	}

	for_each_sgtable_dma_sg(slot->sgt, sg, i) {
		u64 seg = sg_dma_len(sg);

		while (done < len && off + done < pos + seg) {
			u64 in_seg = off + done - pos;
			u32 n = min3(seg - in_seg, len - done, (u64)EDU_CHUNK);

			ret = pe_chunk(slot, sg_dma_address(sg) + in_seg,
				       off + done, n, seed, write);
			if (ret)
				goto out_unlock;
			done += n;
			slot->bytes = done;
		}
		pos += seg;
		if (done == len)
			break;
	}
	if (done != len) {
		pci_warn(slot->edu->pdev, "the mapping covers %#llx bytes, short of %#llx\n",
			 pos, end);
		ret = -EINVAL;
	}
out_unlock:
	pe_slot_unlock(slot);
	return ret;
}

/*
 * The pattern to where the slot was mapped before its last move_notify:
 * what a broken importer that kept using revoked addresses would do.
 */
static int pe_write_stale(struct pe_slot *slot, u64 off, u64 len, u32 seed)
{
	u64 end, done = 0;
	int ret = 0;

	slot->bytes = 0;
	slot->bad = 0;
	slot->first_bad = -1;
	pe_slot_lock(slot);
	if (slot->sgt || !slot->stale_len) {
		pr_warn("write-stale: the slot is %s\n",
			slot->sgt ? "mapped" : "not moved yet");
		ret = -ENOENT;
		goto out_unlock;
	}
	if (!len || check_add_overflow(off, len, &end) ||
	    end > slot->stale_len || len > PE_MAX_XFER) {
		pr_warn("write-stale: range %#llx+%#llx is outside the %#llx bytes once mapped or too long\n",
			off, len, slot->stale_len);
		ret = -EINVAL;
		goto out_unlock;
	}
	pci_info(slot->edu->pdev, "write-stale: DMA to the revoked address %#llx\n",
		 slot->stale_dma + off);
	while (done < len) {
		u32 n = min_t(u64, len - done, EDU_CHUNK);

		ret = pe_chunk(slot, slot->stale_dma + off + done, off + done,
			       n, seed, true);
		if (ret)
			break;
		done += n;
		slot->bytes = done;
	}
out_unlock:
	pe_slot_unlock(slot);
	return ret;
}

/* Set the DMA mask of an edu and of its child device. */
static int pe_set_mask(const char *bdf, const char *bits_str)
{
	struct pe_edu *edu;
	unsigned int bits;
	int ret;

	if (kstrtouint(bits_str, 0, &bits) || bits < PE_MIN_MASK_BITS ||
	    bits > 64) {
		pr_warn("mask: '%s' is not a number of bits from %d to 64\n",
			bits_str, PE_MIN_MASK_BITS);
		return -EINVAL;
	}
	edu = pe_find_edu(bdf);
	if (IS_ERR(edu)) {
		pr_warn("mask: %s is not an edu bound here\n", bdf);
		return PTR_ERR(edu);
	}
	ret = dma_set_mask(&edu->pdev->dev, DMA_BIT_MASK(bits));
	if (ret) {
		pci_warn(edu->pdev, "mask: the DMA API refuses %u bits (%d)\n",
			 bits, ret);
		return ret;
	}
	edu->child_mask = DMA_BIT_MASK(bits);
	pci_info(edu->pdev, "DMA mask %#llx for new mappings\n",
		 DMA_BIT_MASK(bits));
	return 0;
}

/* ---- debugfs ------------------------------------------------------------- */

static int pe_parse_u64(const char *s, u64 *v)
{
	return kstrtou64(s, 0, v) ? -EINVAL : 0;
}

/* Keep a slot's last command and its result for the results file. */
static int pe_record(struct pe_slot *slot, const char *cmd, int ret)
{
	strscpy(slot->last_cmd, cmd, sizeof(slot->last_cmd));
	slot->last_err = ret;
	return ret;
}

static int pe_command(char *line)
{
	char *argv[PE_MAX_ARGS], *tok;
	struct pe_slot *slot = NULL;
	u64 id, a, b, c = 0;
	int argc = 0, ret;

	while ((tok = strsep(&line, " \t")) != NULL) {
		if (!*tok)
			continue;
		if (argc == PE_MAX_ARGS)
			goto malformed;
		argv[argc++] = tok;
	}
	if (!argc) {
		pr_warn("empty command\n");
		return -EINVAL;
	}
	if (argc == 3 && !strcmp(argv[0], "mask"))
		return pe_set_mask(argv[1], argv[2]);
	if (argc == 1 && !strcmp(argv[0], "reset")) {
		for (id = 0; id < PE_SLOTS; id++) {
			pe_release(&pe_slots[id]);
			pe_slots[id].last_cmd[0] = '\0';
			pe_slots[id].last_err = 0;
		}
		return 0;
	}
	if (argc < 2 || pe_parse_u64(argv[1], &id) || id >= PE_SLOTS)
		goto malformed;
	slot = &pe_slots[id];

	if (!strcmp(argv[0], "import") || !strcmp(argv[0], "import-child") ||
	    !strcmp(argv[0], "import-pinned")) {
		int fd;

		if ((argc != 4 && argc != 5) || kstrtoint(argv[2], 0, &fd) ||
		    (argc == 5 && pe_parse_u64(argv[4], &c)))
			goto malformed;
		ret = pe_import(slot, fd, argv[3], c,
				!strcmp(argv[0], "import-pinned") ?
					PE_PINNED : PE_DYNAMIC,
				!strcmp(argv[0], "import-child"));
	} else if (!strcmp(argv[0], "import-peer")) {
		if ((argc != 5 && argc != 6) || pe_parse_u64(argv[2], &a) ||
		    pe_parse_u64(argv[3], &b) ||
		    (argc == 6 && pe_parse_u64(argv[5], &c)))
			goto malformed;
		ret = pe_import_peer(slot, a, b, argv[4], c);
	} else if (!strcmp(argv[0], "release")) {
		if (argc != 2)
			goto malformed;
		ret = slot->edu ? 0 : -ENOENT;
		pe_release(slot);
	} else if (!strcmp(argv[0], "write") || !strcmp(argv[0], "read")) {
		if (argc != 5 || pe_parse_u64(argv[2], &a) ||
		    pe_parse_u64(argv[3], &b) || pe_parse_u64(argv[4], &c) ||
		    c > U32_MAX)
			goto malformed;
		ret = slot->edu ? pe_xfer(slot, a, b, c, argv[0][0] == 'w') :
				  -ENOENT;
	} else if (!strcmp(argv[0], "write-stale")) {
		if (argc != 5 || pe_parse_u64(argv[2], &a) ||
		    pe_parse_u64(argv[3], &b) || pe_parse_u64(argv[4], &c) ||
		    c > U32_MAX)
			goto malformed;
		ret = slot->edu ? pe_write_stale(slot, a, b, c) : -ENOENT;
	} else {
		goto malformed;
	}
	if (ret == -ENOENT)
		pr_warn("%s: slot %llu holds no import\n", argv[0], id);
	return pe_record(slot, argv[0], ret);

malformed:
	pr_warn("malformed command '%s' (see the comment atop p2pmr_edu.c)\n",
		argv[0]);
	return slot ? pe_record(slot, argv[0], -EINVAL) : -EINVAL;
}

static ssize_t pe_ctl_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	char line[PE_CMD_LEN];
	int ret;

	if (!len || len >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, len))
		return -EFAULT;
	line[len] = '\0';

	mutex_lock(&pe_lock);
	ret = pe_command(strim(line));
	mutex_unlock(&pe_lock);
	return ret ? ret : len;
}

static const struct file_operations pe_ctl_fops = {
	.owner = THIS_MODULE,
	.write = pe_ctl_write,
	.llseek = noop_llseek,
};

static void pe_show_slot(struct seq_file *m, struct pe_slot *slot,
			 unsigned int id)
{
	struct scatterlist *sg;
	unsigned int i;

	seq_printf(m, "slot %u edu %s attached %d mapped %d move_notify %u base %#llx last_cmd %s last_err %d bytes %llu bad %llu first_bad %lld nents %u child %d stale %#llx stale_len %#llx kind %s\n",
		   id, slot->edu ? pci_name(slot->edu->pdev) : "-",
		   !!slot->edu, slot->edu && slot->sgt, slot->moved,
		   slot->base, slot->last_cmd[0] ? slot->last_cmd : "-",
		   slot->last_err, slot->bytes, slot->bad, slot->first_bad,
		   slot->edu && slot->sgt ? slot->sgt->nents : 0,
		   slot->child, slot->stale_dma, slot->stale_len,
		   slot->edu ? pe_kind_names[slot->kind] : "-");
	if (!slot->edu || !slot->sgt)
		return;
	for_each_sgtable_dma_sg(slot->sgt, sg, i)
		seq_printf(m, "slot %u sg %u dma %#018llx len %#x\n", id, i,
			   (u64)sg_dma_address(sg), sg_dma_len(sg));
}

static int pe_results_show(struct seq_file *m, void *unused)
{
	struct pe_edu *edu;
	unsigned int id;

	mutex_lock(&pe_lock);
	list_for_each_entry(edu, &pe_edus, node)
		seq_printf(m, "edu %s dmas %lu broken %d mask %#llx\n",
			   pci_name(edu->pdev), edu->dmas, edu->broken,
			   dma_get_mask(&edu->pdev->dev));
	for (id = 0; id < PE_SLOTS; id++) {
		struct pe_slot *slot = &pe_slots[id];

		if (!slot->edu && !slot->last_cmd[0])
			continue;
		if (slot->edu) {
			pe_slot_lock(slot);
			pe_show_slot(m, slot, id);
			pe_slot_unlock(slot);
		} else {
			pe_show_slot(m, slot, id);
		}
	}
	mutex_unlock(&pe_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pe_results);

/* ---- the PCI driver ------------------------------------------------------ */

static void pe_child_release(struct device *dev)
{
	kfree(dev);
}

/*
 * A device below the edu that belongs to no bus, like the netdev or
 * auxiliary device some RDMA drivers attach with: p2pmr must find the edu
 * above it for its P2P checks.  It has a DMA mask of its own and no IOMMU
 * group, so the DMA API treats it as dma-direct.
 */
static int pe_child_add(struct pe_edu *edu)
{
	struct device *child;
	int ret;

	child = kzalloc(sizeof(*child), GFP_KERNEL);
	if (!child)
		return -ENOMEM;
	device_initialize(child);
	child->parent = &edu->pdev->dev;
	child->release = pe_child_release;
	edu->child_mask = DMA_BIT_MASK(64);
	child->dma_mask = &edu->child_mask;
	child->coherent_dma_mask = DMA_BIT_MASK(64);
	ret = dev_set_name(child, "%s-importer", pci_name(edu->pdev));
	if (!ret)
		ret = device_add(child);
	if (ret) {
		put_device(child);
		return ret;
	}
	edu->child = child;
	return 0;
}

static int pe_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct pe_edu *edu;
	u32 ident;
	int ret;

	edu = devm_kzalloc(&pdev->dev, sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu->pdev = pdev;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), KBUILD_MODNAME);
	if (ret)
		return ret;
	edu->regs = pcim_iomap_table(pdev)[0];

	ident = readl(edu->regs + EDU_REG_ID);
	writel(0x5a5aa5a5, edu->regs + EDU_REG_LIVENESS);
	if ((ident & 0xff) != EDU_ID_MAGIC ||
	    readl(edu->regs + EDU_REG_LIVENESS) != ~0x5a5aa5a5U) {
		pci_err(pdev, "not an edu device (ID %#x)\n", ident);
		return -ENODEV;
	}

	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret) {
		pci_err(pdev, "no 64-bit DMA mask (%d)\n", ret);
		return ret;
	}
	edu->buf = dma_alloc_coherent(&pdev->dev, EDU_CHUNK, &edu->buf_dma,
				      GFP_KERNEL);
	if (!edu->buf)
		return -ENOMEM;
	ret = pe_child_add(edu);
	if (ret) {
		pci_err(pdev, "cannot add the child device (%d)\n", ret);
		dma_free_coherent(&pdev->dev, EDU_CHUNK, edu->buf,
				  edu->buf_dma);
		return ret;
	}
	pci_set_master(pdev);

	mutex_lock(&pe_lock);
	list_add_tail(&edu->node, &pe_edus);
	mutex_unlock(&pe_lock);
	pci_set_drvdata(pdev, edu);
	pci_info(pdev, "edu ID %#x, host buffer at DMA address %pad\n", ident,
		 &edu->buf_dma);
	return 0;
}

static void pe_remove(struct pci_dev *pdev)
{
	struct pe_edu *edu = pci_get_drvdata(pdev);
	unsigned int id;

	mutex_lock(&pe_lock);
	for (id = 0; id < PE_SLOTS; id++)
		if (pe_slots[id].edu == edu)
			pe_release(&pe_slots[id]);
	list_del(&edu->node);
	mutex_unlock(&pe_lock);
	/* No slot attaches with it any more. */
	device_unregister(edu->child);

	/* A retired engine may still finish late: stop it mastering first. */
	pci_clear_master(pdev);
	dma_free_coherent(&pdev->dev, EDU_CHUNK, edu->buf, edu->buf_dma);
}

static const struct pci_device_id pe_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR_ID, EDU_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, pe_ids);

static struct pci_driver pe_driver = {
	.name = KBUILD_MODNAME,
	.id_table = pe_ids,
	.probe = pe_probe,
	.remove = pe_remove,
};

static int __init pe_init(void)
{
	unsigned int id;
	int ret;

	for (id = 0; id < PE_SLOTS; id++)
		mutex_init(&pe_slots[id].peer_lock);

	pe_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR(pe_dir))
		return PTR_ERR(pe_dir);
	debugfs_create_file("ctl", 0200, pe_dir, NULL, &pe_ctl_fops);
	debugfs_create_file("results", 0400, pe_dir, NULL, &pe_results_fops);

	ret = pci_register_driver(&pe_driver);
	if (ret)
		debugfs_remove_recursive(pe_dir);
	return ret;
}

static void __exit pe_exit(void)
{
	/* Waits for running commands; none can start afterwards. */
	debugfs_remove_recursive(pe_dir);
	/* Releases every slot, edu by edu. */
	pci_unregister_driver(&pe_driver);
}

module_init(pe_init);
module_exit(pe_exit);

MODULE_DESCRIPTION("p2pmr testbed: edu DMA engine as a dynamic, pinned or peer-memory importer");
MODULE_LICENSE("GPL");
P2PMR_IMPORT_NS_DMA_BUF();
