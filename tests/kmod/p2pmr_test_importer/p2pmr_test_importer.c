// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only dma-buf importer for the p2pmr testbed.  Never shipped.
 *
 * It attaches to a dma-buf on behalf of any PCI device, the way an RDMA
 * driver does (dynamic attach with allow_peer2peer, map under the
 * reservation lock, optional pin), so that a test in the guest can see
 * what p2pmr hands a real importer: the error of an attach, the DMA
 * addresses of a mapping, revocation.
 *
 * Commands are written, one per write(), to
 * /sys/kernel/debug/p2pmr_test_importer/ctl:
 *
 *   attach <slot> <dmabuf-fd> <dddd:bb:dd.f> [pin|nop2p]
 *                     nop2p: attach without allow_peer2peer
 *   map <slot>        dma_buf_map_attachment(DMA_BIDIRECTIONAL)
 *   unmap <slot>
 *   pin <slot>        dma_buf_pin()
 *   unpin <slot>
 *   vmap <slot>       dma_buf_vmap(), keeps the first 16 bytes
 *   vunmap <slot>
 *   detach <slot>     undoes everything of the slot, drops the dma-buf
 *   reset             detach every slot
 *
 * <dmabuf-fd> is looked up in the writer's file table.  A write returns
 * the length written, or the negative errno of the failed operation
 * (EREMOTEIO, ENODEV, ...), which is also kept for the results file.
 *
 * /sys/kernel/debug/p2pmr_test_importer/results has one line per slot in
 * use or with a recorded error, then one line per scatterlist entry and
 * the vmapped bytes:
 *
 *   slot 0 dev 0000:01:02.0 attached 1 pinned 0 mapped 1 vmapped 0
 *	move_notify 0 last_cmd map last_err 0 nents 1      (one line)
 *   slot 0 sg 0 dma 0x00000000fe000000 len 0x4000000
 *   slot 0 vmap_head 00112233445566778899aabbccddeeff
 *
 * On move_notify (revocation) a slot that is not pinned unmaps and
 * vunmaps at once, as a revocable RDMA importer does; a pinned slot keeps
 * everything, as ib_umem_dmabuf_get_pinned() importers do, and holds up
 * the device's removal until "unpin" + "unmap" or "detach".
 *
 * /sys/kernel/debug/p2pmr_test_importer/stall plays a slow importer:
 * writing 1 makes the next move_notify block (with the reservation lock
 * held, as a driver waiting for its hardware does) until 0 is written,
 * or TI_STALL_SECS pass; reading it shows "armed <0|1> stalled <0|1>".
 * It takes no lock, so a test can watch and release the stall while the
 * exporter's revocation is inside it.
 *
 * /sys/kernel/debug/p2pmr_test_importer/claim plays a driver that claims
 * a BAR without being bound or rebound (as vfio-pci claims on first
 * access): writing "<dddd:bb:dd.f> <bar>" calls pci_request_region() on
 * it, "release" gives it back.  One claim at a time.
 *
 * /sys/kernel/debug/p2pmr_test_importer/pages gives part of a BAR struct
 * pages, as pci_p2pdma_add_resource() does for the part a driver
 * publishes (Debian's kernels have no CONFIG_PCI_P2PDMA; the memory
 * hotplug underneath is the same, ZONE_DEVICE): writing
 * "<dddd:bb:dd.f> <bar> <offset> <size>" (offset and size multiples of
 * 2 MiB, the subsection memremap_pages() works in) calls
 * memremap_pages() on it, "release" memunmap_pages().  One at a time.
 *
 * Do not vmap a revoked dma-buf: dma_buf_vmap() warns when the exporter
 * refuses, and a kernel warning fails a testbed run.  A slot that has been
 * told to move refuses vmap with ENODEV itself.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/io.h>
#include <linux/memremap.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "compat.h"

#define TI_SLOTS	16
#define TI_CMD_LEN	128
#define TI_HEAD_LEN	16
#define TI_STALL_SECS	60

/**
 * struct ti_slot - one attachment
 * @pdev: the importing device (reference held while attached)
 * @dmabuf: the dma-buf (reference held while attached)
 * @attach: the attachment, NULL when the slot is free
 * @pinned: dma_buf_pin() done, under @dmabuf->resv
 * @sgt: the mapping, under @dmabuf->resv
 * @vmapped: dma_buf_vmap() done, under @dmabuf->resv
 * @map: the vmap, under @dmabuf->resv
 * @moved: move_notify calls, under @dmabuf->resv
 * @head: first bytes read through the vmap
 * @last_cmd: last command on this slot
 * @last_err: its result, 0 or a negative errno
 */
struct ti_slot {
	struct pci_dev *pdev;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	bool pinned;
	struct sg_table *sgt;
	bool vmapped;
	struct iosys_map map;
	unsigned int moved;
	u8 head[TI_HEAD_LEN];
	char last_cmd[8];
	int last_err;
};

/*
 * ti_lock serializes commands and results and guards which slots are
 * attached.  It is taken before dmabuf->resv; move_notify, which runs
 * with dmabuf->resv held, never takes it.
 */
static DEFINE_MUTEX(ti_lock);
static struct ti_slot ti_slots[TI_SLOTS];
static struct dentry *ti_dir;

/* The claim file's device and BAR, under ti_lock; NULL when none. */
static struct pci_dev *ti_claim_pdev;
static int ti_claim_bar;

/* The PCI device named "dddd:bb:dd.f", with a reference; or an ERR_PTR(). */
static struct pci_dev *ti_pci_dev_get(const char *bdf)
{
	unsigned int domain, bus, dev, fn;
	struct pci_dev *pdev;

	if (sscanf(bdf, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) != 4 ||
	    bus > 0xff || dev > 0x1f || fn > 7)
		return ERR_PTR(-EINVAL);
	pdev = pci_get_domain_bus_and_slot(domain, bus, PCI_DEVFN(dev, fn));
	return pdev ? pdev : ERR_PTR(-ENODEV);
}

static void ti_claim_release(void)
{
	if (!ti_claim_pdev)
		return;
	pci_release_region(ti_claim_pdev, ti_claim_bar);
	pci_dev_put(ti_claim_pdev);
	ti_claim_pdev = NULL;
}

static int ti_claim(char *line)
{
	struct pci_dev *pdev;
	unsigned int bar;
	char bdf[16];
	int ret;

	if (!strcmp(line, "release")) {
		ti_claim_release();
		return 0;
	}
	if (ti_claim_pdev)
		return -EBUSY;
	if (sscanf(line, "%15s %u", bdf, &bar) != 2 ||
	    bar >= PCI_STD_NUM_BARS)
		return -EINVAL;
	pdev = ti_pci_dev_get(bdf);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	ret = pci_request_region(pdev, bar, "p2pmr_test_claim");
	if (ret) {
		pci_dev_put(pdev);
		return ret;
	}
	ti_claim_pdev = pdev;
	ti_claim_bar = bar;
	return 0;
}

#ifdef CONFIG_ZONE_DEVICE
/* The pages file's map, under ti_lock; ti_pages.nr_range 0 when none. */
static struct dev_pagemap ti_pages;

static void ti_pages_release(void)
{
	if (!ti_pages.nr_range)
		return;
	memunmap_pages(&ti_pages);
	memset(&ti_pages, 0, sizeof(ti_pages));
}

static int ti_pages_map(char *line)
{
	unsigned long long offset, size;
	struct pci_dev *pdev;
	resource_size_t start;
	unsigned int bar;
	char bdf[16];
	void *addr;

	if (!strcmp(line, "release")) {
		ti_pages_release();
		return 0;
	}
	if (ti_pages.nr_range)
		return -EBUSY;
	if (sscanf(line, "%15s %u %llx %llx", bdf, &bar, &offset,
		   &size) != 4 || bar >= PCI_STD_NUM_BARS || !size ||
	    !IS_ALIGNED(offset | size, SZ_2M))
		return -EINVAL;
	pdev = ti_pci_dev_get(bdf);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	start = pci_resource_start(pdev, bar);
	if (offset + size < offset ||
	    offset + size > pci_resource_len(pdev, bar)) {
		pci_dev_put(pdev);
		return -EINVAL;
	}
	ti_pages.type = MEMORY_DEVICE_GENERIC;
	ti_pages.range.start = start + offset;
	ti_pages.range.end = start + offset + size - 1;
	ti_pages.nr_range = 1;
	addr = memremap_pages(&ti_pages, dev_to_node(&pdev->dev));
	pci_dev_put(pdev);
	if (IS_ERR(addr)) {
		memset(&ti_pages, 0, sizeof(ti_pages));
		return PTR_ERR(addr);
	}
	return 0;
}
#else
static void ti_pages_release(void)
{
}

static int ti_pages_map(char *line)
{
	return -EOPNOTSUPP;
}
#endif

/* The stall file's state; no lock, see the comment at the top. */
static bool ti_stall_armed;
static bool ti_stalled;
static DECLARE_COMPLETION(ti_stall_release);

/* Block in move_notify, once, if the stall file asked for it. */
static void ti_maybe_stall(struct ti_slot *slot)
{
	if (!xchg(&ti_stall_armed, false))
		return;
	WRITE_ONCE(ti_stalled, true);
	pr_info("slot %td: move_notify stalls until released\n",
		slot - ti_slots);
	if (!wait_for_completion_timeout(&ti_stall_release,
					 TI_STALL_SECS * HZ))
		pr_info("slot %td: stall not released in %d s, going on\n",
			slot - ti_slots, TI_STALL_SECS);
	WRITE_ONCE(ti_stalled, false);
}

/* Undo a mapping and a vmap; dmabuf->resv held. */
static void ti_unmap_locked(struct ti_slot *slot)
{
	dma_resv_assert_held(slot->dmabuf->resv);

	if (slot->sgt) {
		dma_buf_unmap_attachment(slot->attach, slot->sgt,
					 DMA_BIDIRECTIONAL);
		slot->sgt = NULL;
	}
	if (slot->vmapped) {
		dma_buf_vunmap(slot->dmabuf, &slot->map);
		slot->vmapped = false;
	}
}

static void ti_move_notify(struct dma_buf_attachment *attach)
{
	struct ti_slot *slot = attach->importer_priv;

	dma_resv_assert_held(attach->dmabuf->resv);

	ti_maybe_stall(slot);
	slot->moved++;
	if (slot->pinned) {
		pr_info("slot %td is pinned and keeps its mapping\n",
			slot - ti_slots);
		return;
	}
	ti_unmap_locked(slot);
}

static const struct dma_buf_attach_ops ti_attach_ops = {
	.allow_peer2peer = true,
	.P2PMR_IMPORTER_INVALIDATE = ti_move_notify,
};

/* An importer that only takes memory with struct pages, like most GPUs. */
static const struct dma_buf_attach_ops ti_attach_ops_no_p2p = {
	.allow_peer2peer = false,
	.P2PMR_IMPORTER_INVALIDATE = ti_move_notify,
};

static void ti_detach(struct ti_slot *slot)
{
	if (!slot->attach)
		return;

	dma_resv_lock(slot->dmabuf->resv, NULL);
	ti_unmap_locked(slot);
	if (slot->pinned) {
		dma_buf_unpin(slot->attach);
		slot->pinned = false;
	}
	dma_resv_unlock(slot->dmabuf->resv);

	dma_buf_detach(slot->dmabuf, slot->attach);
	dma_buf_put(slot->dmabuf);
	pci_dev_put(slot->pdev);
	slot->attach = NULL;
	slot->dmabuf = NULL;
	slot->pdev = NULL;
	slot->moved = 0;
}

static int ti_attach(struct ti_slot *slot, int fd, const char *bdf, bool pin,
		     bool p2p)
{
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct pci_dev *pdev;
	int ret;

	if (slot->attach)
		return -EBUSY;
	pdev = ti_pci_dev_get(bdf);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_put_pdev;
	}

	/*
	 * The exporter may call move_notify as soon as the attachment is on
	 * its list, before dma_buf_dynamic_attach() returns (an unbind racing
	 * this attach): the slot must name its dma-buf by then.  A free slot's
	 * pinned, sgt, vmapped and moved are already clear (ti_detach()).
	 */
	slot->dmabuf = dmabuf;
	attach = dma_buf_dynamic_attach(dmabuf, &pdev->dev,
					p2p ? &ti_attach_ops :
					      &ti_attach_ops_no_p2p, slot);
	if (IS_ERR(attach)) {
		ret = PTR_ERR(attach);
		goto err_put_dmabuf;
	}

	if (pin) {
		dma_resv_lock(dmabuf->resv, NULL);
		ret = dma_buf_pin(attach);
		slot->pinned = !ret;
		dma_resv_unlock(dmabuf->resv);
		if (ret)
			goto err_detach;
	}

	slot->pdev = pdev;
	slot->attach = attach;
	return 0;

err_detach:
	dma_buf_detach(dmabuf, attach);
err_put_dmabuf:
	slot->dmabuf = NULL;
	slot->moved = 0;
	dma_buf_put(dmabuf);
err_put_pdev:
	pci_dev_put(pdev);
	return ret;
}

static int ti_map(struct ti_slot *slot)
{
	struct sg_table *sgt;
	int ret = 0;

	dma_resv_lock(slot->dmabuf->resv, NULL);
	if (slot->sgt) {
		ret = -EBUSY;
		goto out_unlock;
	}
	/* p2pmr adds no fences, so there is nothing to wait for. */
	sgt = dma_buf_map_attachment(slot->attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt))
		ret = PTR_ERR(sgt);
	else
		slot->sgt = sgt;
out_unlock:
	dma_resv_unlock(slot->dmabuf->resv);
	return ret;
}

static int ti_unmap(struct ti_slot *slot)
{
	int ret = 0;

	dma_resv_lock(slot->dmabuf->resv, NULL);
	if (slot->sgt) {
		dma_buf_unmap_attachment(slot->attach, slot->sgt,
					 DMA_BIDIRECTIONAL);
		slot->sgt = NULL;
	} else {
		ret = -ENOENT;
	}
	dma_resv_unlock(slot->dmabuf->resv);
	return ret;
}

static int ti_pin(struct ti_slot *slot, bool pin)
{
	int ret = 0;

	dma_resv_lock(slot->dmabuf->resv, NULL);
	if (slot->pinned == pin) {
		ret = pin ? -EBUSY : -ENOENT;
	} else if (pin) {
		ret = dma_buf_pin(slot->attach);
		slot->pinned = !ret;
	} else {
		dma_buf_unpin(slot->attach);
		slot->pinned = false;
	}
	dma_resv_unlock(slot->dmabuf->resv);
	return ret;
}

static int ti_vmap(struct ti_slot *slot)
{
	int ret;

	dma_resv_lock(slot->dmabuf->resv, NULL);
	if (slot->vmapped) {
		ret = -EBUSY;
	} else if (slot->moved && !slot->pinned) {
		ret = -ENODEV;
	} else {
		ret = dma_buf_vmap(slot->dmabuf, &slot->map);
		if (!ret) {
			slot->vmapped = true;
			if (slot->map.is_iomem)
				memcpy_fromio(slot->head,
					      slot->map.vaddr_iomem,
					      TI_HEAD_LEN);
			else
				memcpy(slot->head, slot->map.vaddr,
				       TI_HEAD_LEN);
		}
	}
	dma_resv_unlock(slot->dmabuf->resv);
	return ret;
}

static int ti_vunmap(struct ti_slot *slot)
{
	int ret = 0;

	dma_resv_lock(slot->dmabuf->resv, NULL);
	if (slot->vmapped) {
		dma_buf_vunmap(slot->dmabuf, &slot->map);
		slot->vmapped = false;
	} else {
		ret = -ENOENT;
	}
	dma_resv_unlock(slot->dmabuf->resv);
	return ret;
}

static int ti_command(char *line)
{
	char cmd[8], bdf[16], opt[8] = "";
	struct ti_slot *slot;
	unsigned int id;
	int n, fd, ret;

	if (!strcmp(line, "reset")) {
		for (id = 0; id < TI_SLOTS; id++) {
			ti_detach(&ti_slots[id]);
			ti_slots[id].last_cmd[0] = '\0';
			ti_slots[id].last_err = 0;
		}
		return 0;
	}

	n = sscanf(line, "%7s %u %d %15s %7s", cmd, &id, &fd, bdf, opt);
	if (n < 2 || id >= TI_SLOTS)
		return -EINVAL;
	slot = &ti_slots[id];

	if (!strcmp(cmd, "attach")) {
		if (n < 4 || (n == 5 && strcmp(opt, "pin") &&
				strcmp(opt, "nop2p")))
			return -EINVAL;
		ret = ti_attach(slot, fd, bdf, n == 5 && !strcmp(opt, "pin"),
				n == 5 ? strcmp(opt, "nop2p") : true);
	} else if (n != 2) {
		return -EINVAL;
	} else if (!strcmp(cmd, "detach")) {
		ret = slot->attach ? 0 : -ENOENT;
		ti_detach(slot);
	} else if (!slot->attach) {
		ret = -ENOENT;
	} else if (!strcmp(cmd, "map")) {
		ret = ti_map(slot);
	} else if (!strcmp(cmd, "unmap")) {
		ret = ti_unmap(slot);
	} else if (!strcmp(cmd, "pin")) {
		ret = ti_pin(slot, true);
	} else if (!strcmp(cmd, "unpin")) {
		ret = ti_pin(slot, false);
	} else if (!strcmp(cmd, "vmap")) {
		ret = ti_vmap(slot);
	} else if (!strcmp(cmd, "vunmap")) {
		ret = ti_vunmap(slot);
	} else {
		return -EINVAL;
	}

	strscpy(slot->last_cmd, cmd, sizeof(slot->last_cmd));
	slot->last_err = ret;
	return ret;
}

static void ti_show_slot(struct seq_file *m, struct ti_slot *slot,
			 unsigned int id)
{
	struct scatterlist *sg;
	unsigned int i;

	if (!slot->attach) {
		seq_printf(m, "slot %u dev - attached 0 pinned 0 mapped 0 vmapped 0 move_notify 0 last_cmd %s last_err %d nents 0\n",
			   id, slot->last_cmd, slot->last_err);
		return;
	}

	dma_resv_lock(slot->dmabuf->resv, NULL);
	seq_printf(m, "slot %u dev %s attached 1 pinned %d mapped %d vmapped %d move_notify %u last_cmd %s last_err %d nents %u\n",
		   id, pci_name(slot->pdev), slot->pinned, !!slot->sgt,
		   slot->vmapped, slot->moved,
		   slot->last_cmd[0] ? slot->last_cmd : "-", slot->last_err,
		   slot->sgt ? slot->sgt->nents : 0);
	if (slot->sgt)
		for_each_sgtable_dma_sg(slot->sgt, sg, i)
			seq_printf(m, "slot %u sg %u dma %#018llx len %#x\n",
				   id, i, (u64)sg_dma_address(sg),
				   sg_dma_len(sg));
	if (slot->vmapped)
		seq_printf(m, "slot %u vmap_head %*phN\n", id, TI_HEAD_LEN,
			   slot->head);
	dma_resv_unlock(slot->dmabuf->resv);
}

static int ti_results_show(struct seq_file *m, void *unused)
{
	unsigned int id;

	mutex_lock(&ti_lock);
	for (id = 0; id < TI_SLOTS; id++)
		if (ti_slots[id].attach || ti_slots[id].last_cmd[0])
			ti_show_slot(m, &ti_slots[id], id);
	mutex_unlock(&ti_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ti_results);

static ssize_t ti_stall_write(struct file *file, const char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	bool arm;
	int ret;

	ret = kstrtobool_from_user(ubuf, len, &arm);
	if (ret)
		return ret;
	if (arm) {
		reinit_completion(&ti_stall_release);
		WRITE_ONCE(ti_stall_armed, true);
	} else {
		WRITE_ONCE(ti_stall_armed, false);
		complete(&ti_stall_release);
	}
	return len;
}

static int ti_stall_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "armed %d stalled %d\n", READ_ONCE(ti_stall_armed),
		   READ_ONCE(ti_stalled));
	return 0;
}

static int ti_stall_open(struct inode *inode, struct file *file)
{
	return single_open(file, ti_stall_show, NULL);
}

static const struct file_operations ti_stall_fops = {
	.owner = THIS_MODULE,
	.open = ti_stall_open,
	.read = seq_read,
	.write = ti_stall_write,
	.llseek = seq_lseek,
	.release = single_release,
};

/* A debugfs file that takes one command per write(), run under ti_lock. */
struct ti_cmd_file {
	int (*run)(char *line);
};

static const struct ti_cmd_file ti_ctl_file = { .run = ti_command };
static const struct ti_cmd_file ti_claim_file = { .run = ti_claim };
static const struct ti_cmd_file ti_pages_file = { .run = ti_pages_map };

static ssize_t ti_cmd_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	const struct ti_cmd_file *cmd_file = file->private_data;
	char line[TI_CMD_LEN];
	int ret;

	if (len >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, len))
		return -EFAULT;
	line[len] = '\0';

	mutex_lock(&ti_lock);
	ret = cmd_file->run(strim(line));
	mutex_unlock(&ti_lock);
	return ret ? ret : len;
}

static const struct file_operations ti_cmd_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = ti_cmd_write,
	.llseek = noop_llseek,
};

static int __init ti_init(void)
{
	ti_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR(ti_dir))
		return PTR_ERR(ti_dir);
	debugfs_create_file("ctl", 0200, ti_dir, (void *)&ti_ctl_file,
			    &ti_cmd_fops);
	debugfs_create_file("results", 0400, ti_dir, NULL, &ti_results_fops);
	debugfs_create_file("stall", 0600, ti_dir, NULL, &ti_stall_fops);
	debugfs_create_file("claim", 0200, ti_dir, (void *)&ti_claim_file,
			    &ti_cmd_fops);
	debugfs_create_file("pages", 0200, ti_dir, (void *)&ti_pages_file,
			    &ti_cmd_fops);
	return 0;
}

static void __exit ti_exit(void)
{
	unsigned int id;

	/* Waits for running commands; none can start afterwards. */
	debugfs_remove_recursive(ti_dir);
	complete(&ti_stall_release);

	mutex_lock(&ti_lock);
	for (id = 0; id < TI_SLOTS; id++)
		ti_detach(&ti_slots[id]);
	ti_claim_release();
	ti_pages_release();
	mutex_unlock(&ti_lock);
}

module_init(ti_init);
module_exit(ti_exit);

MODULE_DESCRIPTION("p2pmr testbed: dma-buf importer driven from debugfs");
MODULE_LICENSE("GPL");
P2PMR_IMPORT_NS_DMA_BUF();
