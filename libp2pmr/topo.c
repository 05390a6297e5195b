// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Peer-to-peer topology between an RDMA device and a BAR's device.
 *
 * The decision is the kernel's: when the p2pmr module is loaded and a
 * resource file of the BAR's device can be opened, QUERY_P2P answers with
 * the very decision a dma-buf attach makes.  Otherwise the same walk is
 * done here, on sysfs, and the answer is a prediction.
 *
 * The walk is calc_map_type_and_dist() of drivers/pci/p2pdma.c, as
 * p2pmr_p2p_walk() in the module repeats it.  sysfs shows the PCI
 * hierarchy as directories: a function's real path is
 *
 *   /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0
 *
 * where pci0000:00 is the host bridge and each PCI address above the
 * function is the upstream bridge pci_upstream_bridge() returns.  Walk up
 * from the BAR's device (the provider); for each bridge, walk up from the
 * RDMA device's function (the client) looking for it.  The first one on
 * both paths is the common upstream bridge, and the distance is the hops
 * from the provider up to it plus those from there down to the client.
 * Below it, the switch routes peer requests by bus address, unless a port
 * on the path (the provider's side up to and including the common bridge,
 * the client's side below it) has ACS P2P Request Redirect, Completion
 * Redirect or Egress Control enabled.  ACS is an extended capability, and
 * only root may read extended configuration space: without it the walk
 * says the ACS state is unknown and assumes no redirection.
 *
 * Without a common bridge, or with redirection, traffic crosses the root
 * complex, which p2pmr allows when loaded with allow_host_bridge=1, or
 * when the kernel (CONFIG_PCI_P2PDMA) vouches for the host bridge: any AMD
 * Zen, or a host bridge in its allowlist.
 *
 * The RDMA device's PCI function is the parent of its sysfs device (a
 * hardware HCA), or, for soft-RoCE, which has none, that of its network
 * device, following VLAN-style upper devices down to the one lower device
 * they sit on.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "p2pmr_internal.h"

/* IB_DEVICE_NAME_MAX and IFNAMSIZ, with room */
#define RDMA_DEV_NAME_MAX	64
#define NETDEV_NAME_MAX		64
/* Upper network devices followed down to a PCI function */
#define NETDEV_DEPTH_MAX	8
#define CHAIN_MAX		32
#define ACS_LIST_LEN		128

/* PCI configuration space, as include/uapi/linux/pci_regs.h has it */
#define PCI_CFG_SPACE_SIZE	256
#define PCI_CFG_SPACE_EXP_SIZE	4096
#define PCI_EXT_CAP_ID_ACS	0x0d
#define PCI_ACS_CTRL		0x06
#define PCI_ACS_RR		0x0004
#define PCI_ACS_CR		0x0008
#define PCI_ACS_EC		0x0020

/*
 * drivers/pci/p2pdma.c pci_p2pdma_whitelist[] of Linux 6.1: host bridges
 * (or first root ports) that forward peer-to-peer traffic.  The first four
 * need both devices below that one host bridge, which p2pmr requires of
 * every pair anyway.
 */
static const struct {
	uint16_t vendor;
	uint16_t device;
} p2pdma_allowlist[] = {
	{ 0x8086, 0x3c00 }, { 0x8086, 0x3c01 },	/* Xeon E5 / Core i7 */
	{ 0x8086, 0x2f00 }, { 0x8086, 0x2f01 },	/* Xeon E7 v3 / E5 v3 */
	{ 0x8086, 0x2030 }, { 0x8086, 0x2031 },	/* Skylake-E */
	{ 0x8086, 0x2032 }, { 0x8086, 0x2033 },
	{ 0x8086, 0x2020 }, { 0x8086, 0x09a2 },
};

/**
 * struct pci_chain - a PCI function and its upstream bridges
 * @path: real sysfs path of the function (or of a device below it)
 * @n: number of nodes
 * @addr: the nodes' addresses; [0] is the function, [n - 1] the bridge on
 *	the host bridge's root bus
 * @end: length of @path up to and including each node's directory
 * @hb_len: length of @path up to and including the host bridge's
 *	directory, which is what identifies it
 */
struct pci_chain {
	char path[PATH_MAX];
	size_t n;
	struct p2pmr_pci_addr addr[CHAIN_MAX];
	size_t end[CHAIN_MAX];
	size_t hb_len;
};

/* Result of the walk, for the decision and its description. */
struct walk {
	bool common;
	size_t common_node;		/* index in the provider's chain */
	uint32_t distance;
	unsigned int acs_count;
	unsigned int acs_unknown;
	char acs[ACS_LIST_LEN];		/* "bdf;bdf": pci=disable_acs_redir= */
	char unknown[ACS_LIST_LEN];
	const char *host_bridge_why;	/* why the host bridge is allowed */
};

static void chain_node_name(const struct pci_chain *c, size_t i, char *buf,
			    size_t len)
{
	p2pmr_pci_addr_format(&c->addr[i], buf, len);
}

/* The directory of node @i, plus @file. */
static void chain_node_file(const struct pci_chain *c, size_t i,
			    const char *file, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s/%s", (int)c->end[i], c->path, file);
}

/*
 * Fill @c from the real path of a device at or below a PCI function.
 * Return: 0, or ENODEV if no component of @real is a PCI function.
 */
static int chain_from_path(const char *real, struct pci_chain *c)
{
	size_t len = strlen(real), cend, cstart;
	bool found = false;

	if (len >= sizeof(c->path))
		return ENAMETOOLONG;
	memcpy(c->path, real, len + 1);
	while (len > 1 && c->path[len - 1] == '/')
		c->path[--len] = 0;
	c->n = 0;

	/* from the last component up: skip to the function, then collect */
	cend = len;
	while (cend > 0) {
		struct p2pmr_pci_addr addr;

		cstart = cend;
		while (cstart > 0 && c->path[cstart - 1] != '/')
			cstart--;
		if (p2pmr_pci_addr_parse_n(c->path + cstart, cend - cstart,
					   &addr)) {
			if (c->n == CHAIN_MAX)
				return ELOOP;
			c->addr[c->n] = addr;
			c->end[c->n++] = cend;
			found = true;
		} else if (found) {
			break;
		}
		if (!cstart)
			break;
		cend = cstart - 1;
	}
	if (!found)
		return ENODEV;
	c->hb_len = cend;
	return 0;
}

static int chain_from_link(const char *link, struct pci_chain *c)
{
	char real[PATH_MAX];

	if (!realpath(link, real))
		return errno;
	return chain_from_path(real, c);
}

static bool valid_name(const char *name, size_t max)
{
	size_t len = name ? strnlen(name, max) : 0;

	return len && len < max && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..");
}

/* The single lower device of an upper network device, or ENODEV. */
static int netdev_lower(const char *root, const char *netdev, char *lower,
			size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/class/net/%s", root, netdev);
	dir = opendir(path);
	if (!dir)
		return errno;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "lower_", 6))
			continue;
		if (!n++)
			snprintf(lower, len, "%s", de->d_name + 6);
	}
	closedir(dir);
	if (n > 1)
		p2pmr_err("network device %s has %u lower devices: cannot tell which PCI function carries its traffic",
			  netdev, n);
	return n == 1 ? 0 : ENODEV;
}

/* The PCI function behind a network device. */
static int netdev_chain(const char *root, const char *netdev,
			struct pci_chain *c)
{
	char path[PATH_MAX], name[NETDEV_NAME_MAX], lower[NETDEV_NAME_MAX];
	unsigned int depth;
	struct stat st;
	int err;

	snprintf(name, sizeof(name), "%s", netdev);
	for (depth = 0; depth < NETDEV_DEPTH_MAX; depth++) {
		if (!valid_name(name, sizeof(name)))
			return ENODEV;
		snprintf(path, sizeof(path), "%s/class/net/%s", root, name);
		if (stat(path, &st)) {
			p2pmr_dbg("network device %s: %s", name,
				  strerror(errno));
			return ENODEV;
		}
		snprintf(path, sizeof(path), "%s/class/net/%s/device", root,
			 name);
		err = chain_from_link(path, c);
		if (err != ENOENT)
			return err;
		/* virtual: a VLAN, macvlan... on one lower device? */
		err = netdev_lower(root, name, lower, sizeof(lower));
		if (err)
			return ENODEV;
		snprintf(name, sizeof(name), "%s", lower);
	}
	return ENODEV;
}

/* The PCI function an RDMA device does DMA from. */
static int rdma_dev_chain(const char *root, const char *rdma_dev,
			  struct pci_chain *c)
{
	char path[PATH_MAX], netdev[NETDEV_NAME_MAX];
	struct stat st;
	int err;

	snprintf(path, sizeof(path), "%s/class/infiniband/%s", root, rdma_dev);
	if (stat(path, &st)) {
		err = errno;
		p2pmr_err("no RDMA device %s", rdma_dev);
		return err == ENOTDIR ? ENOENT : err;
	}

	/* a hardware HCA: its parent device is the PCI function */
	snprintf(path, sizeof(path), "%s/class/infiniband/%s/device", root,
		 rdma_dev);
	err = chain_from_link(path, c);
	if (err != ENOENT)
		return err;

	/* soft-RoCE: rxe tells its network device in "parent" */
	snprintf(path, sizeof(path), "%s/class/infiniband/%s/parent", root,
		 rdma_dev);
	err = p2pmr_read_file(path, netdev, sizeof(netdev));
	if (err == ENOENT) {
		/* else the network device of GID 0 of port 1 (RoCE) */
		snprintf(path, sizeof(path),
			 "%s/class/infiniband/%s/ports/1/gid_attrs/ndevs/0",
			 root, rdma_dev);
		err = p2pmr_read_file(path, netdev, sizeof(netdev));
	}
	if (err || !*netdev) {
		p2pmr_err("RDMA device %s has no PCI device and no network device",
			  rdma_dev);
		return ENODEV;
	}
	err = netdev_chain(root, netdev, c);
	if (err == ENODEV)
		p2pmr_err("RDMA device %s runs on network device %s, which has no PCI function",
			  rdma_dev, netdev);
	return err;
}

static long pread_config(const char *path, void *buf, uint64_t off,
			 size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, off);
	close(fd);
	return n;
}

/*
 * Does node @i of @c redirect peer-to-peer requests with ACS?  As the
 * kernel's pci_bridge_has_acs_redir() on pdev->acs_cap, which
 * pci_find_ext_capability() found.  Return: 1, 0, or -1 if the extended
 * configuration space cannot be read.
 */
static int node_acs_redir(const struct p2pmr_topo_env *env,
			  const struct pci_chain *c, size_t i)
{
	p2pmr_config_read_fn rd = env->read_config ? env->read_config :
				  pread_config;
	unsigned int ttl = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8;
	char path[PATH_MAX];
	uint32_t pos = PCI_CFG_SPACE_SIZE, hdr;
	uint16_t ctrl;
	struct stat st;

	chain_node_file(c, i, "config", path, sizeof(path));
	/* sysfs sizes "config" to the device's configuration space */
	if (stat(path, &st))
		return -1;
	if (st.st_size <= PCI_CFG_SPACE_SIZE)
		return 0;

	if (rd(path, &hdr, pos, sizeof(hdr)) != sizeof(hdr))
		return -1;
	hdr = le32toh(hdr);
	if (!hdr || hdr == 0xffffffff)
		return 0;
	while (ttl-- > 0) {
		if ((hdr & 0xffff) == PCI_EXT_CAP_ID_ACS) {
			if (rd(path, &ctrl, pos + PCI_ACS_CTRL,
			       sizeof(ctrl)) != sizeof(ctrl))
				return -1;
			ctrl = le16toh(ctrl);
			return !!(ctrl & (PCI_ACS_RR | PCI_ACS_CR |
					  PCI_ACS_EC));
		}
		pos = (hdr >> 20) & 0xffc;
		if (pos < PCI_CFG_SPACE_SIZE)
			break;
		if (rd(path, &hdr, pos, sizeof(hdr)) != sizeof(hdr))
			return -1;
		hdr = le32toh(hdr);
	}
	return 0;
}

static void list_add(char *list, const struct pci_chain *c, size_t i)
{
	char name[P2PMR_PCI_ADDR_MAX];
	size_t len = strlen(list);

	chain_node_name(c, i, name, sizeof(name));
	snprintf(list + len, ACS_LIST_LEN - len, "%s%s", len ? ";" : "", name);
}

static void note_acs(const struct p2pmr_topo_env *env,
		     const struct pci_chain *c, size_t i, struct walk *w)
{
	int r = node_acs_redir(env, c, i);

	if (r > 0) {
		w->acs_count++;
		list_add(w->acs, c, i);
	} else if (r < 0) {
		w->acs_unknown++;
		list_add(w->unknown, c, i);
	}
}

/* calc_map_type_and_dist() of drivers/pci/p2pdma.c; see the top. */
static void p2p_walk(const struct p2pmr_topo_env *env,
		     const struct pci_chain *provider,
		     const struct pci_chain *client, struct walk *w)
{
	size_t a, b;

	for (a = 0; a < provider->n; a++) {
		note_acs(env, provider, a, w);
		for (b = 0; b < client->n; b++)
			if (p2pmr_pci_addr_equal(&provider->addr[a],
						 &client->addr[b]))
				goto common;
	}
	w->distance = provider->n + client->n;
	return;

common:
	w->common = true;
	w->common_node = a;
	w->distance = a + b;
	for (b = 0; !p2pmr_pci_addr_equal(&client->addr[b], &provider->addr[a]);
	     b++)
		note_acs(env, client, b, w);
}

/* p2pmr's allow_host_bridge parameter; N when the module is not loaded. */
static int env_allow_host_bridge(const struct p2pmr_topo_env *env)
{
	char path[PATH_MAX], buf[8];

	if (env->allow_host_bridge >= 0)
		return env->allow_host_bridge;
	snprintf(path, sizeof(path),
		 "%s/module/p2pmr/parameters/allow_host_bridge",
		 env->sysfs_root);
	if (p2pmr_read_file(path, buf, sizeof(buf)))
		return 0;
	return buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1';
}

/* CONFIG_PCI_P2PDMA, from the kernel's config file when it is there. */
static int env_p2pdma(const struct p2pmr_topo_env *env)
{
	char path[PATH_MAX], line[256];
	struct utsname u;
	int found = 0;
	FILE *f;

	if (env->p2pdma >= 0)
		return env->p2pdma;
	if (uname(&u))
		return 0;
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "CONFIG_PCI_P2PDMA=y", 19);
	fclose(f);
	return found;
}

/* cpu_supports_p2pdma(): an AMD CPU of family 0x17 (Zen) or later. */
static int env_cpu_p2pdma(const struct p2pmr_topo_env *env)
{
	char line[256];
	bool amd = false;
	int family = -1;
	FILE *f;

	if (env->cpu_p2pdma >= 0)
		return env->cpu_p2pdma;
	f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return 0;
	while ((!amd || family < 0) && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "vendor_id", 9))
			amd = strstr(line, "AuthenticAMD") != NULL;
		else if (!strncmp(line, "cpu family", 10))
			sscanf(strchr(line, ':') ? strchr(line, ':') + 1 : "",
			       "%d", &family);
	}
	fclose(f);
	return amd && family >= 0x17;
}

static unsigned long read_hex_file(const char *path)
{
	char buf[32];

	if (p2pmr_read_file(path, buf, sizeof(buf)))
		return 0;
	return strtoul(buf, NULL, 16);
}

/*
 * __host_bridge_whitelist(): the first device on the host bridge's root
 * bus, if it is 00.0 or a bridge (a root port), must be in the allowlist.
 */
static bool host_bridge_allowlisted(const char *root,
				    const struct pci_chain *c)
{
	struct p2pmr_pci_addr first = {}, addr;
	char path[PATH_MAX], name[P2PMR_PCI_ADDR_MAX];
	unsigned long vendor, device, class;
	bool found = false;
	struct dirent *de;
	size_t i;
	DIR *dir;

	snprintf(path, sizeof(path), "%.*s", (int)c->hb_len, c->path);
	dir = opendir(path);
	if (!dir)
		return false;
	while ((de = readdir(dir))) {
		if (!p2pmr_pci_addr_parse_n(de->d_name, strlen(de->d_name),
					    &addr))
			continue;
		if (!found || addr.devfn < first.devfn)
			first = addr;
		found = true;
	}
	closedir(dir);
	if (!found)
		return false;

	p2pmr_pci_addr_format(&first, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/class", root, name);
	class = read_hex_file(path);
	if (first.devfn && class >> 8 != 0x0604)
		return false;
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/vendor", root,
		 name);
	vendor = read_hex_file(path);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/device", root,
		 name);
	device = read_hex_file(path);
	for (i = 0; i < ARRAY_SIZE(p2pdma_allowlist); i++)
		if (p2pdma_allowlist[i].vendor == vendor &&
		    p2pdma_allowlist[i].device == device)
			return true;
	return false;
}

/* p2pmr_p2p_decide() of the module, on the walk's findings. */
static void decide(const struct p2pmr_topo_env *env,
		   const struct pci_chain *provider,
		   const struct pci_chain *client, struct p2pmr_p2p_info *out,
		   struct walk *w)
{
	const struct p2pmr_pci_addr *p = &provider->addr[0];
	const struct p2pmr_pci_addr *cl = &client->addr[0];
	bool p2pdma;

	out->path = P2PMR_PATH_REFUSED;
	out->distance = P2PMR_DISTANCE_NONE;

	if (p2pmr_pci_addr_equal(p, cl)) {
		out->path = P2PMR_PATH_BUS_ADDR;
		out->reason = P2PMR_REASON_SAME_DEVICE;
		out->distance = 0;
		return;
	}
	if (p->domain != cl->domain) {
		out->reason = P2PMR_REASON_DIFFERENT_DOMAIN;
		return;
	}
	if (provider->hb_len != client->hb_len ||
	    memcmp(provider->path, client->path, provider->hb_len)) {
		out->reason = P2PMR_REASON_DIFFERENT_HOST_BRIDGE;
		return;
	}

	p2p_walk(env, provider, client, w);
	out->distance = w->distance;
	if (w->acs_unknown)
		out->flags |= P2PMR_P2P_ACS_UNKNOWN;
	p2pdma = env_p2pdma(env);
	if (p2pdma)
		out->flags |= P2PMR_P2P_P2PDMA;

	if (w->common && !w->acs_count) {
		out->path = P2PMR_PATH_BUS_ADDR;
		out->reason = P2PMR_REASON_COMMON_UPSTREAM;
		return;
	}

	out->flags |= P2PMR_P2P_HOST_BRIDGE_ROUTE;
	out->reason = w->common ? P2PMR_REASON_ACS_REDIRECT :
				  P2PMR_REASON_NO_COMMON_UPSTREAM;
	if (env_allow_host_bridge(env))
		w->host_bridge_why = "p2pmr is loaded with allow_host_bridge=1";
	else if (p2pdma && env_cpu_p2pdma(env))
		w->host_bridge_why = "the kernel trusts the CPU's root complex (AMD Zen)";
	else if (p2pdma && host_bridge_allowlisted(env->sysfs_root, provider))
		w->host_bridge_why = "the host bridge is in the kernel's P2PDMA allowlist";
	if (w->host_bridge_why)
		out->path = P2PMR_PATH_HOST_BRIDGE;
}

/*
 * Ask the p2pmr module.  Return: true if it answered; @out then holds its
 * decision.
 */
static bool query_kernel(const char *root, const struct pci_chain *provider,
			 const struct pci_chain *client,
			 struct p2pmr_p2p_info *out)
{
	struct p2pmr_query_p2p q;
	uint64_t start, end, flags;
	char path[PATH_MAX];
	unsigned int bar;
	int dev, fd = -1;

	if (access("/dev/" P2PMR_DEVICE_NAME, F_OK))
		return false;
	dev = p2pmr_dev_fd();
	if (dev < 0)
		return false;

	/* any memory BAR's resource file names the device */
	for (bar = 0; bar < P2PMR_NUM_BARS && fd < 0; bar++) {
		if (p2pmr_read_resource(root, &provider->addr[0], bar, &start,
					&end, &flags) ||
		    !(flags & P2PMR_IORESOURCE_MEM) || end <= start)
			continue;
		chain_node_file(provider, 0, "", path, sizeof(path));
		snprintf(path + strlen(path), sizeof(path) - strlen(path),
			 "resource%u", bar);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		p2pmr_dbg("query_p2p: no resource file of the BAR's device can be opened (%s): predicting from sysfs",
			  strerror(errno));
		return false;
	}

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.provider_fd = fd;
	q.importer_pci_domain = client->addr[0].domain;
	q.importer_pci_bus = client->addr[0].bus;
	q.importer_pci_devfn = client->addr[0].devfn;
	if (p2pmr_ops->ioctl(dev, P2PMR_IOCTL_QUERY_P2P, &q)) {
		p2pmr_info("query_p2p: the p2pmr module did not answer (%s): predicting from sysfs",
			   strerror(errno));
		close(fd);
		return false;
	}
	close(fd);

	out->path = q.out_path;
	out->reason = q.out_reason;
	out->distance = q.out_distance;
	out->flags = P2PMR_P2P_KERNEL;
	if (q.out_flags & P2PMR_QUERY_P2P_OUT_HOST_BRIDGE_ROUTE)
		out->flags |= P2PMR_P2P_HOST_BRIDGE_ROUTE;
	if (q.out_flags & P2PMR_QUERY_P2P_OUT_IOMMU)
		out->flags |= P2PMR_P2P_IOMMU;
	if (q.out_flags & P2PMR_QUERY_P2P_OUT_P2PDMA)
		out->flags |= P2PMR_P2P_P2PDMA;
	return true;
}

/* The answer in words, with what would change a refusal. */
static void describe(const struct pci_chain *provider, struct walk *w,
		     struct p2pmr_p2p_info *out)
{
	char common[P2PMR_PCI_ADDR_MAX] = "";
	const char *r = out->rdma_pci_addr, *b = out->bar_pci_addr;
	char *s = out->reason_str;
	size_t len = sizeof(out->reason_str), n = 0;

#define ADD(...)							\
	do {								\
		if (n < len)						\
			n += snprintf(s + n, len - n, __VA_ARGS__);	\
	} while (0)

	if (w->common)
		chain_node_name(provider, w->common_node, common,
				sizeof(common));

	switch (out->reason) {
	case P2PMR_REASON_SAME_DEVICE:
		ADD("the RDMA device is the BAR's own function %s", b);
		break;
	case P2PMR_REASON_COMMON_UPSTREAM:
		ADD("%s and %s are both below %s and no port between them redirects peer-to-peer requests",
		    r, b, *common ? common : "one bridge");
		break;
	case P2PMR_REASON_ACS_REDIRECT:
		ADD("ACS redirect on %s sends traffic between %s and %s through the root complex",
		    *w->acs ? w->acs : "a port between them", r, b);
		break;
	case P2PMR_REASON_NO_COMMON_UPSTREAM:
		ADD("%s and %s share no PCI switch", r, b);
		break;
	case P2PMR_REASON_DIFFERENT_HOST_BRIDGE:
		ADD("%s and %s are below different host bridges: p2pmr does not route peer-to-peer traffic between host bridges",
		    r, b);
		break;
	case P2PMR_REASON_DIFFERENT_DOMAIN:
		ADD("%s and %s are in different PCI domains", r, b);
		break;
	case P2PMR_REASON_P2PDMA_REFUSED:
		ADD("the kernel's P2PDMA check refuses %s for %s", r, b);
		break;
	default:
		ADD("%s", p2pmr_reason_str(out->reason));
		break;
	}

	if (out->flags & P2PMR_P2P_HOST_BRIDGE_ROUTE) {
		if (out->path == P2PMR_PATH_HOST_BRIDGE) {
			ADD("; allowed through the host bridge");
			if (w->host_bridge_why)
				ADD(": %s", w->host_bridge_why);
		} else if (out->reason == P2PMR_REASON_ACS_REDIRECT) {
			ADD("; to allow it, add the kernel parameter pci=disable_acs_redir=%s, or load p2pmr with allow_host_bridge=1",
			    *w->acs ? w->acs : "<port>");
		} else {
			ADD("; to allow it, place both below one switch, or load p2pmr with allow_host_bridge=1 if the root complex forwards peer-to-peer traffic");
		}
	}
	if (out->flags & P2PMR_P2P_ACS_UNKNOWN)
		ADD(" (ACS of %s unreadable without root: assumed not to redirect)",
		    w->unknown);
	ADD(out->flags & P2PMR_P2P_KERNEL ? " [p2pmr module]" :
	    " [predicted from sysfs]");
#undef ADD
}

int p2pmr_query_p2p_env(const struct p2pmr_topo_env *env,
			const char *rdma_dev, const char *pci_addr,
			struct p2pmr_p2p_info *out)
{
	struct pci_chain *provider, *client;
	struct p2pmr_pci_addr bar_dev;
	char path[PATH_MAX];
	struct walk w = {};
	int err;

	if (!out) {
		p2pmr_err("query_p2p: no result struct");
		return EINVAL;
	}
	memset(out, 0, sizeof(*out));
	if (!valid_name(rdma_dev, RDMA_DEV_NAME_MAX)) {
		p2pmr_err("query_p2p: \"%s\" is not an RDMA device name",
			  rdma_dev ? rdma_dev : "(null)");
		return EINVAL;
	}
	if (p2pmr_pci_addr_parse(pci_addr, &bar_dev)) {
		p2pmr_err("query_p2p: \"%s\" is not a PCI address (dddd:bb:dd.f or bb:dd.f)",
			  pci_addr ? pci_addr : "(null)");
		return EINVAL;
	}

	provider = malloc(sizeof(*provider));
	client = malloc(sizeof(*client));
	if (!provider || !client) {
		err = ENOMEM;
		goto out;
	}

	p2pmr_pci_addr_format(&bar_dev, out->bar_pci_addr,
			      sizeof(out->bar_pci_addr));
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", env->sysfs_root,
		 out->bar_pci_addr);
	err = chain_from_link(path, provider);
	if (err) {
		p2pmr_err("query_p2p: no PCI device %s", out->bar_pci_addr);
		goto out;
	}
	err = rdma_dev_chain(env->sysfs_root, rdma_dev, client);
	if (err)
		goto out;
	p2pmr_pci_addr_format(&client->addr[0], out->rdma_pci_addr,
			      sizeof(out->rdma_pci_addr));

	decide(env, provider, client, out, &w);
	chain_node_file(client, 0, "iommu_group", path, sizeof(path));
	if (!access(path, F_OK))
		out->flags |= P2PMR_P2P_IOMMU;

	if (env->use_kernel && query_kernel(env->sysfs_root, provider, client,
					    out))
		out->flags &= ~P2PMR_P2P_ACS_UNKNOWN;
	describe(provider, &w, out);
	p2pmr_dbg("query_p2p %s -> %s: %s (%s), distance %u: %s", rdma_dev,
		  out->bar_pci_addr, p2pmr_path_str(out->path),
		  p2pmr_reason_str(out->reason), out->distance,
		  out->reason_str);
out:
	free(provider);
	free(client);
	return err;
}

int p2pmr_query_p2p(const char *rdma_dev, const char *pci_addr,
		    struct p2pmr_p2p_info *out, size_t out_len)
{
	struct p2pmr_topo_env env = {
		.sysfs_root = p2pmr_sysfs_root(),
		.allow_host_bridge = -1,
		.p2pdma = -1,
		.cpu_p2pdma = -1,
		/* the module's view of another sysfs tree would be wrong */
		.use_kernel = !strcmp(p2pmr_sysfs_root(), "/sys"),
	};
	struct p2pmr_p2p_info full;
	int err;

	err = p2pmr_check_out("query_p2p", out, out_len,
			      P2PMR_P2P_INFO_LEN_V1);
	if (err)
		return err;
	err = p2pmr_query_p2p_env(&env, rdma_dev, pci_addr, &full);
	p2pmr_copy_out(out, out_len, &full, sizeof(full));
	return err;
}
