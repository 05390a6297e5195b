// SPDX-License-Identifier: GPL-2.0
/*
 * Revoking exports when their device changes hands or goes away.
 *
 * A PCI bus notifier watches these events of devices with exports:
 *
 * BUS_NOTIFY_UNBIND_DRIVER	before the driver's remove(), which may
 *				reset the device or reuse its memory: revoke
 * BUS_NOTIFY_UNBOUND_DRIVER	after remove(): revoke what was exported
 *				meanwhile, and wait
 * BUS_NOTIFY_BIND_DRIVER	before the new driver's probe(); it takes
 *				the device over, as a driver claiming the
 *				BAR revokes sysfs mappings of it under
 *				CONFIG_IO_STRICT_DEVMEM: revoke and wait
 * BUS_NOTIFY_DEL_DEVICE	from device_del(), after the device's sysfs
 *				files are gone and before the PCI core
 *				releases its BARs, whose addresses may then
 *				go to another device: revoke and wait
 *
 * Peer-memory registrations of the device (p2pmr_peer.c) are invalidated
 * along with its exports; the RDMA core's callback returns only once the
 * HCA no longer accesses them, so they need no waiting afterwards.
 *
 * Revoking (p2pmr_export_revoke()) tells dynamic importers to unmap, and
 * they do so at once.  Pinned importers and kernel vmaps cannot; the
 * notifier waits for them, logging every P2PMR_WAIT_LOG_SECS who holds up
 * the device, so the device keeps its BARs, and no DMA can reach an
 * address that might be reassigned, until the last of them lets go.  An
 * unbind waits only after remove(): the driver being removed may itself
 * be the importer (of its own BAR, or through SR-IOV VFs it tears down),
 * and lets go in remove().  The device lock held meanwhile keeps a new
 * driver from binding before the wait ends.
 *
 * An export made from a resource file after an event has been handled is
 * not revoked by it: it was made in the device's new state.  Exports
 * cannot be made after the removal notifier has run (see
 * p2pmr_resource.c).  Resets and memory-decode changes made behind the
 * PCI core's back (setpci, FLR through sysfs) send no event: new
 * exports, DMA mappings and CPU faults check memory decoding
 * (p2pmr_range_usable()), but mappings made before are not recalled.
 * Runtime suspend cannot happen: every export holds its device active
 * (p2pmr_device_get()).
 */
#define pr_fmt(fmt) "p2pmr: " fmt

#include <linux/device.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "p2pmr.h"

#define P2PMR_WAIT_LOG_SECS	10
#define P2PMR_HOLDERS_LEN	256

/*
 * An export of @pdev not yet revoked, with a reference on its dma-buf, or
 * NULL.  A dma-buf whose release has begun has no importer, mapping or
 * vmap left to revoke.
 */
static struct dma_buf *p2pmr_next_unrevoked(struct pci_dev *pdev)
{
	struct p2pmr_export *exp;

	mutex_lock(&p2pmr_exports_lock);
	list_for_each_entry(exp, &p2pmr_exports, node) {
		if (exp->pdev == pdev && !READ_ONCE(exp->revoked) &&
		    p2pmr_dmabuf_tryget(exp->dmabuf)) {
			mutex_unlock(&p2pmr_exports_lock);
			return exp->dmabuf;
		}
	}
	mutex_unlock(&p2pmr_exports_lock);
	return NULL;
}

/*
 * Revoke every export of @pdev; return how many were revoked now.  As
 * VFIO does, each export is found under p2pmr_exports_lock and revoked
 * outside it, so that an importer slow to unmap, or a fence slow to
 * signal, does not stall exports of other devices.  Each pass revokes
 * one export, so the loop ends.
 */
static unsigned int p2pmr_revoke_pdev(struct pci_dev *pdev)
{
	struct dma_buf *dmabuf;
	unsigned int n = 0;

	while ((dmabuf = p2pmr_next_unrevoked(pdev))) {
		if (p2pmr_export_revoke(p2pmr_export_from_dmabuf(dmabuf)))
			n++;
		dma_buf_put(dmabuf);
	}
	return n;
}

/* A revoked export of @pdev still in use, with a reference, or NULL. */
static struct p2pmr_export *p2pmr_find_busy(struct pci_dev *pdev)
{
	struct p2pmr_export *exp;

	mutex_lock(&p2pmr_exports_lock);
	list_for_each_entry(exp, &p2pmr_exports, node) {
		if (exp->pdev == pdev && READ_ONCE(exp->revoked) &&
		    p2pmr_export_busy(exp)) {
			kref_get(&exp->kref);
			mutex_unlock(&p2pmr_exports_lock);
			return exp;
		}
	}
	mutex_unlock(&p2pmr_exports_lock);
	return NULL;
}

static void p2pmr_wait_idle(struct p2pmr_export *exp, const char *what)
{
	unsigned int holders;
	bool waited = false;
	char *names;

	names = kmalloc(P2PMR_HOLDERS_LEN, GFP_KERNEL);
	while (p2pmr_export_busy(exp)) {
		holders = p2pmr_export_describe_holders(exp, names,
							P2PMR_HOLDERS_LEN);
		pr_warn("%s of %s waits for %u pinned or mapped importer(s) of export %llu: %s; exported by %s[%d]\n",
			what, pci_name(exp->pdev), holders, exp->id,
			names ? names : "(out of memory)", exp->owner_comm,
			exp->owner_pid);
		waited = true;
		/* TASK_IDLE: the wait is unbounded but is not a hang. */
		wait_event_idle_timeout(exp->wq, !p2pmr_export_busy(exp),
					P2PMR_WAIT_LOG_SECS * HZ);
	}
	kfree(names);
	if (waited)
		pr_info("%s of %s goes on: export %llu was let go\n",
			what, pci_name(exp->pdev), exp->id);
}

static void p2pmr_revoke(struct pci_dev *pdev, const char *what)
{
	unsigned int n = p2pmr_revoke_pdev(pdev);

	if (n)
		pci_info(pdev, "p2pmr: %s: revoked %u export(s)\n", what, n);
	/* Synchronous: returns once the HCAs let go of the BAR. */
	p2pmr_peer_revoke(pdev, what);
}

static void p2pmr_revoke_and_wait(struct pci_dev *pdev, const char *what)
{
	struct p2pmr_export *exp;

	p2pmr_revoke(pdev, what);

	/*
	 * Wait without p2pmr_exports_lock, so that importers can detach and
	 * dma-bufs be released meanwhile; the reference keeps @exp.
	 */
	while ((exp = p2pmr_find_busy(pdev))) {
		p2pmr_wait_idle(exp, what);
		p2pmr_export_put(exp);
	}
}

static int p2pmr_pci_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	struct pci_dev *pdev = to_pci_dev(data);

	switch (action) {
	case BUS_NOTIFY_UNBIND_DRIVER:
		p2pmr_revoke(pdev, "driver unbind");
		break;
	case BUS_NOTIFY_UNBOUND_DRIVER:
		p2pmr_revoke_and_wait(pdev, "driver unbind");
		break;
	case BUS_NOTIFY_BIND_DRIVER:
		p2pmr_revoke_and_wait(pdev, "driver bind");
		break;
	case BUS_NOTIFY_DEL_DEVICE:
		p2pmr_watches_device_removed();
		p2pmr_revoke_and_wait(pdev, "removal");
		break;
	default:
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block p2pmr_pci_nb = {
	.notifier_call = p2pmr_pci_notify,
};

/**
 * p2pmr_revoke_init() - start watching PCI devices
 *
 * Return: 0 or a negative errno.
 */
int p2pmr_revoke_init(void)
{
	return bus_register_notifier(&pci_bus_type, &p2pmr_pci_nb);
}

/**
 * p2pmr_revoke_exit() - stop watching PCI devices
 *
 * Waits for running notifications to finish.  No export exists when the
 * module goes away: every dma-buf holds a module reference.
 */
void p2pmr_revoke_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &p2pmr_pci_nb);
}
