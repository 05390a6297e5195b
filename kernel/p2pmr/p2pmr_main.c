// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmr: export ranges of PCI memory BARs as dma-bufs, so that RDMA NICs
 * and other dma-buf importers reach device memory peer to peer, with the
 * P2P topology checked, bus addresses translated, and revocation when the
 * device goes away.
 *
 * This file: /dev/p2pmr, ioctl decoding, debugfs, module init and exit.
 * The ABI is documented in <linux/p2pmr.h>.
 */
#define pr_fmt(fmt) "p2pmr: " fmt

#include <linux/build_bug.h>
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/stddef.h>
#include <linux/uaccess.h>

#include "p2pmr.h"

/*
 * /dev/p2pmr is open to everyone: it grants nothing by itself.  Every
 * export needs a resource fd opened for writing or a writable mapping of
 * one, and the sysfs resource files are root-only.
 */
#define P2PMR_DEV_MODE		0666

#define P2PMR_OPEN_FLAGS	(O_ACCMODE | O_CLOEXEC)

struct p2pmr_stats p2pmr_stats;

static struct dentry *p2pmr_debugfs_dir;

/**
 * struct p2pmr_ucmd - one ioctl call
 * @file: the /dev/p2pmr file it was made on
 * @ubuffer: the caller's struct
 * @user_size: its size field
 * @cmd: the kernel copy, sizeof the kernel's struct
 */
struct p2pmr_ucmd {
	struct file *file;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

static int p2pmr_ucmd_respond(struct p2pmr_ucmd *ucmd, size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

static int p2pmr_check_open_flags(u32 open_flags)
{
	if ((open_flags & ~P2PMR_OPEN_FLAGS) ||
	    (open_flags & O_ACCMODE) == O_ACCMODE) {
		p2pmr_refuse("open_flags %#x: only O_CLOEXEC and one of O_RDONLY, O_WRONLY, O_RDWR are allowed\n",
			     open_flags);
		return -EINVAL;
	}
	return 0;
}

static u32 p2pmr_out_flags(bool wc, bool prefetchable)
{
	return (wc ? P2PMR_EXPORT_OUT_WC : 0) |
	       (prefetchable ? P2PMR_EXPORT_OUT_PREFETCHABLE : 0);
}

static u32 p2pmr_export_out_flags(const struct p2pmr_resource *res)
{
	return p2pmr_out_flags(res->wc, pci_resource_flags(res->pdev, res->bar) &
				       IORESOURCE_PREFETCH);
}

/*
 * Create the export behind a reserved fd, tell userspace the fd, and only
 * then install it: once installed it cannot be taken back.
 */
static int p2pmr_export_to_user(struct p2pmr_ucmd *ucmd, size_t cmd_len,
				const struct p2pmr_resource *res, u64 offset,
				u64 length, u32 open_flags, s32 *out_fd)
{
	struct dma_buf *dmabuf;
	int fd, ret;

	ret = p2pmr_resource_check_access(res, offset, length);
	if (ret)
		return ret;

	fd = get_unused_fd_flags(open_flags & O_CLOEXEC);
	if (fd < 0)
		return fd;

	dmabuf = p2pmr_export_create(res, offset, length, open_flags);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_put_fd;
	}

	*out_fd = fd;
	ret = p2pmr_ucmd_respond(ucmd, cmd_len);
	if (ret)
		goto err_put_dmabuf;

	/* fd_install() consumes our dma-buf reference. */
	fd_install(fd, dmabuf->file);
	return 0;

err_put_dmabuf:
	dma_buf_put(dmabuf);
err_put_fd:
	put_unused_fd(fd);
	return ret;
}

static int p2pmr_ioctl_export_fd(struct p2pmr_ucmd *ucmd)
{
	struct p2pmr_export_fd *cmd = ucmd->cmd;
	struct p2pmr_resource res;
	struct file *file;
	int ret;

	if (cmd->flags || cmd->__reserved) {
		p2pmr_refuse("EXPORT_FD: flags %#x and __reserved %#x must be 0\n",
			     cmd->flags, cmd->__reserved);
		return -EINVAL;
	}
	ret = p2pmr_check_open_flags(cmd->open_flags);
	if (ret)
		return ret;

	file = fget(cmd->resource_fd);
	if (!file) {
		p2pmr_refuse("EXPORT_FD: resource_fd %d is not an open file\n",
			     cmd->resource_fd);
		return -EBADF;
	}
	ret = p2pmr_resource_from_file(file, &res);
	fput(file);
	if (ret)
		return ret;

	/* An export can be mapped for reading and writing: it needs both. */
	if ((res.file->f_mode & (FMODE_READ | FMODE_WRITE)) !=
	    (FMODE_READ | FMODE_WRITE)) {
		p2pmr_refuse("%pD2 is open %s: open it with O_RDWR to export it\n",
			     res.file, res.file->f_mode & FMODE_WRITE ?
			     "write-only" : "read-only");
		ret = -EACCES;
		goto out_put_res;
	}
	ret = p2pmr_resource_validate_range(&res, cmd->offset, cmd->length);
	if (ret)
		goto out_put_res;

	cmd->out_bar = res.bar;
	cmd->out_flags = p2pmr_export_out_flags(&res);
	ret = p2pmr_export_to_user(ucmd, sizeof(*cmd), &res, cmd->offset,
				   cmd->length, cmd->open_flags,
				   &cmd->out_dmabuf_fd);
out_put_res:
	p2pmr_resource_put(&res);
	return ret;
}

static int p2pmr_ioctl_export_va(struct p2pmr_ucmd *ucmd)
{
	struct p2pmr_export_va *cmd = ucmd->cmd;
	struct p2pmr_resource res;
	u64 offset;
	int ret;

	if (cmd->flags || cmd->__reserved) {
		p2pmr_refuse("EXPORT_VA: flags %#x and __reserved %#x must be 0\n",
			     cmd->flags, cmd->__reserved);
		return -EINVAL;
	}
	ret = p2pmr_check_open_flags(cmd->open_flags);
	if (ret)
		return ret;

	ret = p2pmr_resource_from_va(cmd->addr, cmd->length, 0, &res, &offset);
	if (ret)
		return ret;

	cmd->out_offset = offset;
	cmd->out_bar = res.bar;
	cmd->out_flags = p2pmr_export_out_flags(&res);
	cmd->out_pci_domain = pci_domain_nr(res.pdev->bus);
	cmd->out_pci_bus = res.pdev->bus->number;
	cmd->out_pci_devfn = res.pdev->devfn;
	ret = p2pmr_export_to_user(ucmd, sizeof(*cmd), &res, offset,
				   cmd->length, cmd->open_flags,
				   &cmd->out_dmabuf_fd);
	p2pmr_resource_put(&res);
	return ret;
}

/**
 * struct p2pmr_va_answer - what CHECK_VA and WATCH_VA tell about a range
 * @offset: offset of the range within the dma-buf (0 without one)
 * @bar_offset: offset of the range within the BAR
 * @bar: the BAR number
 * @flags: P2PMR_EXPORT_OUT_*
 * @pci_domain: PCI domain of the BAR's device
 * @pci_bus: its bus number
 * @pci_devfn: its device and function
 */
struct p2pmr_va_answer {
	u64 offset;
	u64 bar_offset;
	u32 bar;
	u32 flags;
	u32 pci_domain;
	u8 pci_bus;
	u8 pci_devfn;
};

/* Both structs name their outputs alike. */
#define P2PMR_VA_ANSWER_COPY(_cmd, _a)				\
	do {							\
		(_cmd)->out_offset = (_a)->offset;		\
		(_cmd)->out_bar_offset = (_a)->bar_offset;	\
		(_cmd)->out_bar = (_a)->bar;			\
		(_cmd)->out_flags = (_a)->flags;		\
		(_cmd)->out_pci_domain = (_a)->pci_domain;	\
		(_cmd)->out_pci_bus = (_a)->pci_bus;		\
		(_cmd)->out_pci_devfn = (_a)->pci_devfn;	\
	} while (0)

static void p2pmr_va_answer_identity(struct p2pmr_va_answer *a,
				     struct pci_dev *pdev, unsigned int bar,
				     u32 out_flags)
{
	a->bar = bar;
	a->flags = out_flags;
	a->pci_domain = pci_domain_nr(pdev->bus);
	a->pci_bus = pdev->bus->number;
	a->pci_devfn = pdev->devfn;
}

/* CHECK_VA's inputs other than the range; @what names the ioctl. */
static int p2pmr_va_check_args(const char *what, u32 flags, bool reserved)
{
	if (flags || reserved) {
		p2pmr_refuse("%s: flags %#x and the __reserved fields must be 0\n",
			     what, flags);
		return -EINVAL;
	}
	return 0;
}

/*
 * The p2pmr dma-buf of a CHECK_VA or WATCH_VA, referenced, or NULL for
 * dmabuf_fd -1.
 */
static struct dma_buf *p2pmr_va_check_dmabuf(const char *what, s32 fd)
{
	struct dma_buf *dmabuf;

	if (fd == -1)
		return NULL;
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf)) {
		p2pmr_refuse("%s: dmabuf_fd %d is not %s\n", what, fd,
			     PTR_ERR(dmabuf) == -EBADF ?
			     "an open file" : "a dma-buf");
		return ERR_PTR(PTR_ERR(dmabuf) == -EBADF ? -EBADF : -EINVAL);
	}
	if (!p2pmr_export_from_dmabuf(dmabuf)) {
		p2pmr_refuse("%s: dmabuf_fd %d is not a p2pmr dma-buf\n", what,
			     fd);
		dma_buf_put(dmabuf);
		return ERR_PTR(-EINVAL);
	}
	return dmabuf;
}

/*
 * The check itself: with a dma-buf, whether the range still lies in a
 * mapping of what it covers; without one, which BAR is behind the range,
 * if any.
 */
static int p2pmr_va_check(u64 addr, u64 length, struct dma_buf *dmabuf,
			  struct p2pmr_va_answer *a)
{
	struct p2pmr_resource res;
	struct p2pmr_export *exp;
	u64 offset;
	int ret;

	if (!dmabuf) {
		ret = p2pmr_resource_from_va(addr, length, P2PMR_VA_QUIET,
					     &res, &offset);
		if (ret)
			return ret;
		a->offset = 0;
		a->bar_offset = offset;
		p2pmr_va_answer_identity(a, res.pdev, res.bar,
					 p2pmr_export_out_flags(&res));
		p2pmr_resource_put(&res);
		return 0;
	}

	exp = p2pmr_export_from_dmabuf(dmabuf);
	ret = p2pmr_export_match_va(exp, addr, length, &offset);
	if (ret)
		return ret;
	a->offset = offset;
	a->bar_offset = exp->offset + offset;
	p2pmr_va_answer_identity(a, exp->pdev, exp->bar,
				 p2pmr_out_flags(exp->wc, exp->prefetchable));
	return 0;
}

static int p2pmr_ioctl_check_va(struct p2pmr_ucmd *ucmd)
{
	struct p2pmr_check_va *cmd = ucmd->cmd;
	struct p2pmr_va_answer a;
	struct dma_buf *dmabuf;
	int ret;

	ret = p2pmr_va_check_args("CHECK_VA", cmd->flags,
				  cmd->__reserved || cmd->__reserved2);
	if (ret)
		return ret;
	dmabuf = p2pmr_va_check_dmabuf("CHECK_VA", cmd->dmabuf_fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	ret = p2pmr_va_check(cmd->addr, cmd->length, dmabuf, &a);
	if (!ret) {
		P2PMR_VA_ANSWER_COPY(cmd, &a);
		ret = p2pmr_ucmd_respond(ucmd, sizeof(*cmd));
	}
	if (dmabuf)
		dma_buf_put(dmabuf);
	return ret;
}

/*
 * CHECK_VA with the range watched from before the check on: see
 * p2pmr_watch.c.  A watch whose check fails, or whose answer cannot be
 * written back, ends here: userspace never learns its slot.
 */
static int p2pmr_ioctl_watch_va(struct p2pmr_ucmd *ucmd)
{
	struct p2pmr_watch_va *cmd = ucmd->cmd;
	struct p2pmr_va_answer a;
	struct p2pmr_watch *w;
	struct dma_buf *dmabuf;
	int ret;

	ret = p2pmr_va_check_args("WATCH_VA", cmd->flags, cmd->__reserved);
	if (ret)
		return ret;
	dmabuf = p2pmr_va_check_dmabuf("WATCH_VA", cmd->dmabuf_fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	w = p2pmr_watch_begin(ucmd->file, cmd->addr, cmd->length, dmabuf);
	if (IS_ERR(w)) {
		ret = PTR_ERR(w);
		goto out_put;
	}
	ret = p2pmr_va_check(cmd->addr, cmd->length, dmabuf, &a);
	if (!ret) {
		P2PMR_VA_ANSWER_COPY(cmd, &a);
		cmd->out_slot = p2pmr_watch_slot(w);
		cmd->out_seq = p2pmr_watch_seq(w);
		ret = p2pmr_ucmd_respond(ucmd, sizeof(*cmd));
	}
	if (ret)
		p2pmr_watch_abort(w);
	else
		p2pmr_watch_commit(w);
out_put:
	if (dmabuf)
		dma_buf_put(dmabuf);
	return ret;
}

static int p2pmr_ioctl_unwatch(struct p2pmr_ucmd *ucmd)
{
	struct p2pmr_unwatch *cmd = ucmd->cmd;

	if (cmd->flags || cmd->__reserved) {
		p2pmr_refuse("UNWATCH: flags %#x and __reserved %#x must be 0\n",
			     cmd->flags, cmd->__reserved);
		return -EINVAL;
	}
	return p2pmr_unwatch(ucmd->file, cmd->slot);
}

static int p2pmr_ioctl_va_dmabuf(struct p2pmr_ucmd *ucmd)
{
	struct p2pmr_va_dmabuf *cmd = ucmd->cmd;
	struct file *file;
	bool writable;
	int fd, ret;

	if ((cmd->flags & ~P2PMR_VA_DMABUF_READ_ONLY) || cmd->__reserved) {
		p2pmr_refuse("VA_DMABUF: unknown flags %#x or nonzero __reserved\n",
			     cmd->flags);
		return -EINVAL;
	}
	if (cmd->open_flags & ~O_CLOEXEC) {
		p2pmr_refuse("VA_DMABUF: open_flags %#x: only O_CLOEXEC is allowed, the fd shares the dma-buf's open file\n",
			     cmd->open_flags);
		return -EINVAL;
	}
	ret = p2pmr_dmabuf_from_va(cmd->addr, cmd->length,
				   cmd->flags & P2PMR_VA_DMABUF_READ_ONLY,
				   &file, &cmd->out_offset, &writable);
	if (ret)
		return ret;

	fd = get_unused_fd_flags(cmd->open_flags);
	if (fd < 0) {
		ret = fd;
		goto out_fput;
	}
	cmd->out_dmabuf_fd = fd;
	cmd->out_dmabuf_size = ((struct dma_buf *)file->private_data)->size;
	cmd->out_flags = writable ? P2PMR_VA_DMABUF_OUT_WRITABLE : 0;
	if (p2pmr_export_from_dmabuf(file->private_data))
		cmd->out_flags |= P2PMR_VA_DMABUF_OUT_P2PMR;
	ret = p2pmr_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		goto out_put_fd;
	/* fd_install() consumes our file reference. */
	fd_install(fd, file);
	return 0;

out_put_fd:
	put_unused_fd(fd);
out_fput:
	fput(file);
	return ret;
}

/* The BAR's device named by a QUERY_P2P provider_fd, referenced. */
static struct pci_dev *p2pmr_query_provider(const struct p2pmr_query_p2p *cmd)
{
	struct p2pmr_resource res;
	struct p2pmr_export *exp;
	struct dma_buf *dmabuf;
	struct pci_dev *pdev;
	struct file *file;
	int ret;

	if (cmd->flags & P2PMR_QUERY_P2P_BY_DMABUF) {
		dmabuf = dma_buf_get(cmd->provider_fd);
		if (IS_ERR(dmabuf)) {
			p2pmr_refuse("QUERY_P2P: provider_fd %d is not a dma-buf\n",
				     cmd->provider_fd);
			return ERR_CAST(dmabuf);
		}
		exp = p2pmr_export_from_dmabuf(dmabuf);
		pdev = exp ? pci_dev_get(exp->pdev) : ERR_PTR(-EINVAL);
		dma_buf_put(dmabuf);
		if (IS_ERR(pdev))
			p2pmr_refuse("QUERY_P2P: provider_fd %d is not a p2pmr dma-buf\n",
				     cmd->provider_fd);
		return pdev;
	}

	file = fget(cmd->provider_fd);
	if (!file) {
		p2pmr_refuse("QUERY_P2P: provider_fd %d is not an open file\n",
			     cmd->provider_fd);
		return ERR_PTR(-EBADF);
	}
	ret = p2pmr_resource_from_file(file, &res);
	fput(file);
	if (ret)
		return ERR_PTR(ret);
	pdev = pci_dev_get(res.pdev);
	p2pmr_resource_put(&res);
	return pdev;
}

static int p2pmr_ioctl_query_p2p(struct p2pmr_ucmd *ucmd)
{
	struct p2pmr_query_p2p *cmd = ucmd->cmd;
	struct pci_dev *provider, *importer;
	struct p2pmr_p2p_decision d;
	int ret;

	if ((cmd->flags & ~P2PMR_QUERY_P2P_BY_DMABUF) || cmd->__reserved ||
	    cmd->__reserved2) {
		p2pmr_refuse("QUERY_P2P: unknown flags %#x or nonzero __reserved fields\n",
			     cmd->flags);
		return -EINVAL;
	}

	provider = p2pmr_query_provider(cmd);
	if (IS_ERR(provider))
		return PTR_ERR(provider);

	importer = pci_get_domain_bus_and_slot(cmd->importer_pci_domain,
					       cmd->importer_pci_bus,
					       cmd->importer_pci_devfn);
	if (!importer) {
		p2pmr_refuse("QUERY_P2P: no PCI device %04x:%02x:%02x.%d\n",
			     cmd->importer_pci_domain, cmd->importer_pci_bus,
			     PCI_SLOT(cmd->importer_pci_devfn),
			     PCI_FUNC(cmd->importer_pci_devfn));
		ret = -ENODEV;
		goto out_put_provider;
	}

	p2pmr_p2p_decide(provider, &importer->dev, false, &d);
	cmd->out_path = d.path;
	cmd->out_reason = d.reason;
	cmd->out_distance = d.distance;
	cmd->out_flags = d.flags;
	ret = p2pmr_ucmd_respond(ucmd, sizeof(*cmd));

	pci_dev_put(importer);
out_put_provider:
	pci_dev_put(provider);
	return ret;
}

/**
 * struct p2pmr_ioctl_op - one ioctl of /dev/p2pmr
 * @size: sizeof its struct in this kernel
 * @min_size: size of the first released version of the struct
 * @ioctl_num: the full ioctl number
 * @execute: the handler
 */
struct p2pmr_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct p2pmr_ucmd *ucmd);
};

#define P2PMR_IOCTL_OP(_ioctl, _fn, _struct, _last)			\
	[_IOC_NR(_ioctl) - P2PMR_CMD_BASE] = {				\
		.size = sizeof(_struct),				\
		.min_size = offsetofend(_struct, _last),		\
		.ioctl_num = _ioctl,					\
		.execute = _fn,						\
	}

/* Append only; min_size names the last field of the first version. */
static const struct p2pmr_ioctl_op p2pmr_ioctl_ops[] = {
	P2PMR_IOCTL_OP(P2PMR_IOCTL_EXPORT_FD, p2pmr_ioctl_export_fd,
		       struct p2pmr_export_fd, __reserved),
	P2PMR_IOCTL_OP(P2PMR_IOCTL_EXPORT_VA, p2pmr_ioctl_export_va,
		       struct p2pmr_export_va, __reserved),
	P2PMR_IOCTL_OP(P2PMR_IOCTL_QUERY_P2P, p2pmr_ioctl_query_p2p,
		       struct p2pmr_query_p2p, __reserved2),
	P2PMR_IOCTL_OP(P2PMR_IOCTL_CHECK_VA, p2pmr_ioctl_check_va,
		       struct p2pmr_check_va, __reserved2),
	P2PMR_IOCTL_OP(P2PMR_IOCTL_VA_DMABUF, p2pmr_ioctl_va_dmabuf,
		       struct p2pmr_va_dmabuf, __reserved),
	P2PMR_IOCTL_OP(P2PMR_IOCTL_WATCH_VA, p2pmr_ioctl_watch_va,
		       struct p2pmr_watch_va, __reserved),
	P2PMR_IOCTL_OP(P2PMR_IOCTL_UNWATCH, p2pmr_ioctl_unwatch,
		       struct p2pmr_unwatch, __reserved),
};

union p2pmr_ucmd_buffer {
	struct p2pmr_export_fd export_fd;
	struct p2pmr_export_va export_va;
	struct p2pmr_query_p2p query_p2p;
	struct p2pmr_check_va check_va;
	struct p2pmr_va_dmabuf va_dmabuf;
	struct p2pmr_watch_va watch_va;
	struct p2pmr_unwatch unwatch;
};

static long p2pmr_fops_ioctl(struct file *filp, unsigned int cmd,
			     unsigned long arg)
{
	const struct p2pmr_ioctl_op *op;
	union p2pmr_ucmd_buffer buf;
	struct p2pmr_ucmd ucmd = {};
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (nr < P2PMR_CMD_BASE ||
	    nr - P2PMR_CMD_BASE >= ARRAY_SIZE(p2pmr_ioctl_ops))
		return -ENOTTY;
	op = &p2pmr_ioctl_ops[nr - P2PMR_CMD_BASE];
	if (op->ioctl_num != cmd)
		return -ENOTTY;

	ucmd.file = filp;
	ucmd.ubuffer = (void __user *)arg;
	if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
		return -EFAULT;
	if (ucmd.user_size < op->min_size) {
		p2pmr_refuse("ioctl %#x: size %u is below the minimum %u: set size = sizeof(struct)\n",
			     cmd, ucmd.user_size, op->min_size);
		return -EINVAL;
	}

	if (ucmd.user_size > PAGE_SIZE) {
		p2pmr_refuse("ioctl %#x: size %u is larger than any struct can be\n",
			     cmd, ucmd.user_size);
		return -E2BIG;
	}

	ucmd.cmd = &buf;
	ret = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret) {
		if (ret == -E2BIG)
			p2pmr_refuse("ioctl %#x: bytes past the %u this kernel knows must be zero\n",
				     cmd, op->size);
		return ret;
	}
	return op->execute(&ucmd);
}

static int p2pmr_fops_open(struct inode *inode, struct file *filp)
{
	/*
	 * misc_open() left the miscdevice here; the file's watch table
	 * takes its place on first use (p2pmr_watch.c).
	 */
	filp->private_data = NULL;
	return 0;
}

static int p2pmr_fops_release(struct inode *inode, struct file *filp)
{
	p2pmr_watch_release(filp);
	return 0;
}

static const struct file_operations p2pmr_fops = {
	.owner = THIS_MODULE,
	.open = p2pmr_fops_open,
	.release = p2pmr_fops_release,
	.unlocked_ioctl = p2pmr_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = p2pmr_watch_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice p2pmr_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = P2PMR_DEVICE_NAME,
	.fops = &p2pmr_fops,
	.mode = P2PMR_DEV_MODE,
};

#define P2PMR_COUNTER(_name) { #_name, &p2pmr_stats._name }

static const struct p2pmr_counter {
	const char *name;
	atomic_long_t *value;
} p2pmr_counters[] = {
	P2PMR_COUNTER(exports),
	P2PMR_COUNTER(attachments),
	P2PMR_COUNTER(mappings),
	P2PMR_COUNTER(pins),
	P2PMR_COUNTER(vmaps),
	P2PMR_COUNTER(cpu_mmaps),
	P2PMR_COUNTER(revoked),
	P2PMR_COUNTER(watches),
}, p2pmr_peer_counters[] = {
	P2PMR_COUNTER(peer_regs),
	P2PMR_COUNTER(peer_pages),
	P2PMR_COUNTER(peer_mappings),
	P2PMR_COUNTER(peer_invalidated),
};

static void p2pmr_counters_print(struct seq_file *m,
				 const struct p2pmr_counter *c, size_t n)
{
	for (; n; n--, c++)
		seq_printf(m, "%s %ld\n", c->name, atomic_long_read(c->value));
}

static int p2pmr_counters_show(struct seq_file *m, void *unused)
{
	p2pmr_counters_print(m, p2pmr_counters, ARRAY_SIZE(p2pmr_counters));
	/* The peer-memory client's, only where it is built. */
	if (IS_ENABLED(CONFIG_P2PMR_PEER_MEM))
		p2pmr_counters_print(m, p2pmr_peer_counters,
				     ARRAY_SIZE(p2pmr_peer_counters));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(p2pmr_counters);

static int p2pmr_exports_list_show(struct seq_file *m, void *unused)
{
	p2pmr_exports_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(p2pmr_exports_list);

static int p2pmr_peer_list_show(struct seq_file *m, void *unused)
{
	p2pmr_peer_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(p2pmr_peer_list);

static void p2pmr_debugfs_init(void)
{
	/* debugfs failures are not errors; the files are for tests. */
	p2pmr_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("counters", 0444, p2pmr_debugfs_dir, NULL,
			    &p2pmr_counters_fops);
	debugfs_create_file("exports", 0444, p2pmr_debugfs_dir, NULL,
			    &p2pmr_exports_list_fops);
	if (IS_ENABLED(CONFIG_P2PMR_PEER_MEM))
		debugfs_create_file("peer", 0444, p2pmr_debugfs_dir, NULL,
				    &p2pmr_peer_list_fops);
}

static int __init p2pmr_init(void)
{
	int ret;

	/* The ABI: sizes of the first released structs never change. */
	BUILD_BUG_ON(sizeof(struct p2pmr_export_fd) != 48);
	BUILD_BUG_ON(sizeof(struct p2pmr_export_va) != 56);
	BUILD_BUG_ON(sizeof(struct p2pmr_query_p2p) != 40);
	BUILD_BUG_ON(sizeof(struct p2pmr_watch_va) != 72);
	BUILD_BUG_ON(sizeof(struct p2pmr_unwatch) != 16);

	p2pmr_debugfs_init();

	/* Watch devices before the first export can exist. */
	ret = p2pmr_revoke_init();
	if (ret)
		goto err_remove_debugfs;

	ret = misc_register(&p2pmr_miscdev);
	if (ret)
		goto err_revoke_exit;

	/* After the notifier, so that no registration escapes revocation. */
	p2pmr_peer_init();
	return 0;

err_revoke_exit:
	p2pmr_revoke_exit();
err_remove_debugfs:
	debugfs_remove_recursive(p2pmr_debugfs_dir);
	return ret;
}

/*
 * Every dma-buf, every open /dev/p2pmr and every peer registration holds
 * a module reference, so there are no exports left here: rmmod fails with
 * EBUSY until they are all closed.
 */
static void __exit p2pmr_exit(void)
{
	p2pmr_peer_exit();
	misc_deregister(&p2pmr_miscdev);
	p2pmr_revoke_exit();
	debugfs_remove_recursive(p2pmr_debugfs_dir);
}

module_init(p2pmr_init);
module_exit(p2pmr_exit);

MODULE_DESCRIPTION("Export PCI BAR ranges as dma-bufs for peer-to-peer DMA");
MODULE_LICENSE("GPL");
MODULE_VERSION(P2PMR_VERSION);
P2PMR_IMPORT_NS_DMA_BUF();
