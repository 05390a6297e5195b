// SPDX-License-Identifier: GPL-2.0
/*
 * Peer-to-peer topology: may an importer reach a BAR, and by which
 * addresses.
 */
#define pr_fmt(fmt) "p2pmr: " fmt

#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>

#include "p2pmr.h"

static bool allow_host_bridge;
module_param(allow_host_bridge, bool, 0644);
MODULE_PARM_DESC(allow_host_bridge,
		 "Allow peer-to-peer through the root complex even when the kernel's P2PDMA allowlist does not vouch for it (default: N)");

/* Longest list of ACS-redirecting ports printed in one log line. */
#define P2PMR_ACS_LIST_LEN	128

/*
 * As pci_bridge_has_acs_redir() in drivers/pci/p2pdma.c: a port with ACS
 * P2P Request Redirect, Completion Redirect or Egress Control sends peer
 * traffic up to the root complex instead of across.
 */
static bool p2pmr_has_acs_redir(struct pci_dev *pdev)
{
	u16 ctrl;

	if (!pdev->acs_cap)
		return false;
	pci_read_config_word(pdev, pdev->acs_cap + PCI_ACS_CTRL, &ctrl);
	return ctrl & (PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC);
}

static void p2pmr_note_acs(struct pci_dev *pdev, char *list, size_t *len,
			   unsigned int *count)
{
	if (!p2pmr_has_acs_redir(pdev))
		return;
	(*count)++;
	*len += scnprintf(list + *len, P2PMR_ACS_LIST_LEN - *len, "%s%s",
			  *len ? ";" : "", pci_name(pdev));
}

/*
 * The topology walk, the same as calc_map_type_and_dist() in
 * drivers/pci/p2pdma.c, which is static, exists only with
 * CONFIG_PCI_P2PDMA and does not tell its map type to modules before 6.19.
 *
 * Walk up from the provider, one bridge at a time; for each bridge, walk
 * up from the client looking for it.  The first bridge found on both
 * paths is the common upstream bridge.  The distance is the number of
 * hops from the provider up to it plus those from there down to the
 * client: 0 for one function, 2 for two functions of one device below a
 * port, 4 for two devices below one switch.
 *
 * Below a common upstream bridge, peer requests are routed by the switch
 * and never reach the root complex or the IOMMU, so the importer must be
 * given PCI bus addresses: the BAR's bus address, which is not its CPU
 * physical address on every platform.  That holds only if no port on the
 * path (the provider's side up to and including the common bridge, and
 * the client's side below it) redirects peer traffic upstream with ACS.
 * If one does, the requests go up to the root complex after all, where
 * they are translated by the IOMMU like any DMA.
 *
 * Without a common bridge, or with ACS redirection, traffic crosses the
 * root complex.  Not every root complex forwards peer-to-peer requests
 * between its root ports, and the kernel keeps an allowlist of those that
 * do (pci_p2pdma_whitelist[], plus any AMD Zen).  With CONFIG_PCI_P2PDMA,
 * p2pmr asks pci_p2pdma_distance_many(), which applies that allowlist;
 * without it, or to override it, the administrator sets allow_host_bridge.
 * Either way the importer then gets addresses from dma_map_resource(), so
 * an IOMMU translating for the importer is programmed for the BAR.
 *
 * Devices below different host bridges or in different PCI domains are
 * refused: the kernel's allowlist would accept some of them, but then the
 * traffic crosses CPU interconnects, which p2pmr leaves to the P2PDMA
 * users that know the platform.
 *
 * Return: true if a common upstream bridge exists.
 */
static bool p2pmr_p2p_walk(struct pci_dev *provider, struct pci_dev *client,
			   u32 *dist, char *acs, unsigned int *acs_count)
{
	struct pci_dev *a = provider, *bb;
	unsigned int dist_a = 0, dist_b = 0;
	size_t len = 0;

	/*
	 * No references are taken on the bridges: each is pinned by the
	 * child we hold a reference on.
	 */
	while (a) {
		p2pmr_note_acs(a, acs, &len, acs_count);
		dist_b = 0;
		for (bb = client; bb; bb = pci_upstream_bridge(bb)) {
			if (bb == a)
				goto common;
			dist_b++;
		}
		a = pci_upstream_bridge(a);
		dist_a++;
	}
	*dist = dist_a + dist_b;
	return false;

common:
	for (bb = client; bb != a; bb = pci_upstream_bridge(bb))
		p2pmr_note_acs(bb, acs, &len, acs_count);
	*dist = dist_a + dist_b;
	return true;
}

/*
 * The PCI device behind an importer: the importer itself, or, for one that
 * is not a PCI device (a netdev, an auxiliary or other child device a PCI
 * driver registers), its nearest PCI ancestor, the device whose requests
 * carry the DMA.  find_parent_pci_dev() in drivers/pci/p2pdma.c resolves
 * P2PDMA clients the same way.  The caller holds a reference on @dev, and
 * a device holds one on its parent, so no references are taken here.
 *
 * Return: the PCI device, or NULL if no ancestor is one.
 */
static struct pci_dev *p2pmr_importer_pci_dev(struct device *dev)
{
	for (; dev; dev = dev->parent)
		if (dev_is_pci(dev))
			return to_pci_dev(dev);
	return NULL;
}

/* The kernel's own verdict, where it has one: >= 0 allowed, < 0 refused. */
static int p2pmr_p2pdma_distance(struct pci_dev *provider,
				 struct device *importer, u32 *flags)
{
#ifdef CONFIG_PCI_P2PDMA
	*flags |= P2PMR_QUERY_P2P_OUT_P2PDMA;
	return pci_p2pdma_distance_many(provider, &importer, 1, false);
#else
	return -ENODEV;
#endif
}

static void p2pmr_p2p_log_refusal(struct pci_dev *provider,
				  struct device *importer,
				  const struct p2pmr_p2p_decision *d,
				  const char *acs)
{
	const char *p = pci_name(provider), *i = dev_name(importer);

	switch (d->reason) {
	case P2PMR_REASON_NOT_PCI:
		pr_warn_ratelimited("importer %s is neither a PCI device nor below one: no P2P path to %s can be checked; attach with the importer's PCI device\n",
				    i, p);
		break;
	case P2PMR_REASON_DIFFERENT_DOMAIN:
		pr_warn_ratelimited("importer %s and %s are in different PCI domains: no P2P path; use devices of one domain\n",
				    i, p);
		break;
	case P2PMR_REASON_DIFFERENT_HOST_BRIDGE:
		pr_warn_ratelimited("importer %s and %s are below different host bridges: p2pmr does not route P2P between host bridges\n",
				    i, p);
		break;
	case P2PMR_REASON_ACS_REDIRECT:
		pr_warn_ratelimited("ACS redirect between importer %s and %s sends P2P through the root complex; add the kernel parameter pci=disable_acs_redir=%s, or load p2pmr with allow_host_bridge=1 to map through the host bridge\n",
				    i, p, acs);
		break;
	case P2PMR_REASON_NO_COMMON_UPSTREAM:
		pr_warn_ratelimited("importer %s and %s share no PCI switch and the kernel does not vouch for the host bridge; place both below one switch, or load p2pmr with allow_host_bridge=1 if the root complex forwards P2P\n",
				    i, p);
		break;
	case P2PMR_REASON_P2PDMA_REFUSED:
		pr_warn_ratelimited("the kernel's P2PDMA check refuses importer %s for %s\n",
				    i, p);
		break;
	default:
		break;
	}
}

/**
 * p2pmr_p2p_decide() - how, if at all, an importer may reach a BAR
 * @provider: the BAR's device
 * @importer: the device that will DMA to the BAR: a PCI device, or a
 *	device below one (p2pmr_importer_pci_dev())
 * @verbose: log a refusal, with what would fix it
 * @d: the decision
 *
 * The same decision serves dma-buf attach and the QUERY_P2P ioctl.  It
 * reads allow_host_bridge once; an attachment keeps the path it got.
 */
void p2pmr_p2p_decide(struct pci_dev *provider, struct device *importer,
		      bool verbose, struct p2pmr_p2p_decision *d)
{
	char acs[P2PMR_ACS_LIST_LEN] = "";
	unsigned int acs_count = 0;
	struct pci_dev *client;
	int kernel_dist;
	bool common;

	d->path = P2PMR_PATH_REFUSED;
	d->distance = P2PMR_DISTANCE_NONE;
	d->flags = p2pmr_dma_is_direct(importer) ? 0 :
		   P2PMR_QUERY_P2P_OUT_IOMMU;

	client = p2pmr_importer_pci_dev(importer);
	if (!client) {
		d->reason = P2PMR_REASON_NOT_PCI;
		goto refused;
	}

	if (client == provider) {
		d->path = P2PMR_PATH_BUS_ADDR;
		d->reason = P2PMR_REASON_SAME_DEVICE;
		d->distance = 0;
		return;
	}
	if (pci_domain_nr(client->bus) != pci_domain_nr(provider->bus)) {
		d->reason = P2PMR_REASON_DIFFERENT_DOMAIN;
		goto refused;
	}
	if (pci_find_host_bridge(client->bus) !=
	    pci_find_host_bridge(provider->bus)) {
		d->reason = P2PMR_REASON_DIFFERENT_HOST_BRIDGE;
		goto refused;
	}

	common = p2pmr_p2p_walk(provider, client, &d->distance, acs,
				&acs_count);
	kernel_dist = p2pmr_p2pdma_distance(provider, importer, &d->flags);

	if (common && !acs_count) {
		if ((d->flags & P2PMR_QUERY_P2P_OUT_P2PDMA) && kernel_dist < 0) {
			d->reason = P2PMR_REASON_P2PDMA_REFUSED;
			goto refused;
		}
		d->path = P2PMR_PATH_BUS_ADDR;
		d->reason = P2PMR_REASON_COMMON_UPSTREAM;
		return;
	}

	d->flags |= P2PMR_QUERY_P2P_OUT_HOST_BRIDGE_ROUTE;
	d->reason = common ? P2PMR_REASON_ACS_REDIRECT :
			     P2PMR_REASON_NO_COMMON_UPSTREAM;
	if (READ_ONCE(allow_host_bridge) || kernel_dist >= 0) {
		d->path = P2PMR_PATH_HOST_BRIDGE;
		return;
	}

refused:
	if (verbose)
		p2pmr_p2p_log_refusal(provider, importer, d, acs);
}

/**
 * p2pmr_dma_is_direct() - does the DMA API give a device physical addresses
 * @dev: the device
 *
 * Being behind an IOMMU (device_iommu_mapped()) is not enough for the DMA
 * API to translate: only a DMA-API domain does.  A device in an identity
 * domain (iommu=pt, or a passthrough device of its own) goes through
 * dma-direct as if there were no IOMMU: dma_map_resource() returns the
 * physical address and checks it against the device's DMA mask, with a
 * warning if that cannot reach it.  A domain that the DMA API does not
 * own (an unmanaged one, such as VFIO's) translates, though not through
 * addresses the DMA API hands out.
 *
 * Return: true for dma-direct, false where an IOMMU translates.
 */
bool p2pmr_dma_is_direct(struct device *dev)
{
	struct iommu_domain *domain;

	if (!device_iommu_mapped(dev))
		return true;
	domain = iommu_get_domain_for_dev(dev);
	return !domain || domain->type == IOMMU_DOMAIN_IDENTITY;
}

/**
 * p2pmr_p2p_path_name() - name of a path for logs and debugfs
 * @path: enum p2pmr_p2p_path
 *
 * Return: a constant string.
 */
const char *p2pmr_p2p_path_name(enum p2pmr_p2p_path path)
{
	switch (path) {
	case P2PMR_PATH_BUS_ADDR:
		return "bus_addr";
	case P2PMR_PATH_HOST_BRIDGE:
		return "host_bridge";
	default:
		return "refused";
	}
}

/**
 * p2pmr_p2p_bus_addr() - PCI bus address of the start of a BAR
 * @pdev: the device
 * @bar: the BAR
 *
 * The address a peer below the same bridge must use to reach the BAR, as
 * the host bridge translates CPU physical addresses (pcibios_resource_to_
 * bus()).  Only valid while the device is present.
 *
 * Return: the bus address.
 */
dma_addr_t p2pmr_p2p_bus_addr(struct pci_dev *pdev, unsigned int bar)
{
	return pci_bus_address(pdev, bar);
}
