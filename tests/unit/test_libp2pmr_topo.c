// SPDX-License-Identifier: GPL-2.0
/*
 * libp2pmr peer-to-peer topology, on a fake sysfs tree shaped like the
 * testbed (and a little more):
 *
 *   pci0000:00 -- 00:00.0 host bridge
 *              +- 00:01.0 root port -- 01:00.0 switch upstream port
 *              |      +- 02:00.0 -- 03:00.0 NIC (virtio0/net/eth0),
 *              |      |             03:00.1 its second function
 *              |      +- 02:01.0 -- 04:00.0 "near" BAR
 *              |      +- 02:02.0 -- 05:00.0 NVMe
 *              +- 00:02.0 root port -- 06:00.0 "far" BAR
 *   pci0000:80 -- 80:00.0 -- 81:00.0        (another host bridge)
 *   pci0001:00 -- 0001:00:00.0              (another domain)
 *
 * Every port has PCIe extended configuration space with an AER and an ACS
 * capability whose control register each test sets.  The answers are the
 * ones the kernel's calc_map_type_and_dist() gives for the same tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ext_struct.h"
#include "fake_env.h"
#include "p2pmr_internal.h"

#define HB0	"/devices/pci0000:00"
#define RP_A	HB0 "/0000:00:01.0"
#define USP	RP_A "/0000:01:00.0"
#define DSP1	USP "/0000:02:00.0"
#define DSP2	USP "/0000:02:01.0"
#define DSP3	USP "/0000:02:02.0"
#define NIC	DSP1 "/0000:03:00.0"
#define NIC_FN1	DSP1 "/0000:03:00.1"
#define NEAR	DSP2 "/0000:04:00.0"
#define NVME	DSP3 "/0000:05:00.0"
#define RP_B	HB0 "/0000:00:02.0"
#define FAR	RP_B "/0000:06:00.0"
#define HB80	"/devices/pci0000:80"
#define OTHER_HB HB80 "/0000:80:00.0/0000:81:00.0"
#define OTHER_DOM "/devices/pci0001:00/0001:00:00.0"

/* ACS control bits */
#define SV	0x0001
#define RR	0x0004
#define CR	0x0008
#define EC	0x0020

static char root[PATH_MAX];

static void path_of(char *buf, size_t len, const char *rel)
{
	assert_true(snprintf(buf, len, "%s%s", root, rel) < (int)len);
}

static void make_dir(const char *rel)
{
	char path[2 * PATH_MAX];

	path_of(path, sizeof(path), rel);
	fake_mkdir_p(path);
}

static void write_file(const char *rel, const char *text)
{
	char path[2 * PATH_MAX];

	path_of(path, sizeof(path), rel);
	fake_write_file(path, text);
}

/* @rel links to the fake tree's @target. */
static void make_link(const char *target, const char *rel)
{
	char t[2 * PATH_MAX], l[2 * PATH_MAX];

	path_of(t, sizeof(t), target);
	path_of(l, sizeof(l), rel);
	unlink(l);
	assert_int_equal(symlink(t, l), 0);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, v);
	put_le16(p + 2, v >> 16);
}

/*
 * A "config" file: 4096 bytes with AER at 0x100 and ACS at 0x148 (control
 * @acs), or, with @acs < 0, 256 bytes of conventional configuration space.
 */
static void write_config(const char *dev, int acs)
{
	char rel[PATH_MAX], path[2 * PATH_MAX];
	uint8_t cfg[4096] = {};
	size_t len = acs < 0 ? 256 : 4096;
	int fd;

	put_le16(cfg, 0x1af4);
	put_le16(cfg + 2, 0x1000);
	if (acs >= 0) {
		/* AER, version 2, next 0x148 */
		put_le32(cfg + 0x100, 0x0001 | 2 << 16 | 0x148 << 20);
		/* ACS, version 1, last */
		put_le32(cfg + 0x148, 0x000d | 1 << 16);
		put_le16(cfg + 0x148 + 4, 0x005f);	/* capabilities */
		put_le16(cfg + 0x148 + 6, acs);		/* control */
	}
	snprintf(rel, sizeof(rel), "%s/config", dev);
	path_of(path, sizeof(path), rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, cfg, len), len);
	close(fd);
}

static void make_pci(const char *dev, const char *class, int acs)
{
	char rel[PATH_MAX];
	const char *name = strrchr(dev, '/') + 1;

	make_dir(dev);
	write_config(dev, acs);
	snprintf(rel, sizeof(rel), "%s/class", dev);
	write_file(rel, class);
	snprintf(rel, sizeof(rel), "%s/vendor", dev);
	write_file(rel, "0x8086\n");
	snprintf(rel, sizeof(rel), "%s/device", dev);
	write_file(rel, "0x29c0\n");
	snprintf(rel, sizeof(rel), "%s/resource", dev);
	write_file(rel,
		   "0x00000000fe000000 0x00000000fe000fff 0x0000000000040200\n");
	snprintf(rel, sizeof(rel), "/bus/pci/devices/%s", name);
	make_link(dev, rel);
}

static void set_acs(const char *dev, int acs)
{
	write_config(dev, acs);
}

/* Back to the tree's start: ACS on ports and the NIC, not redirecting. */
static void reset_acs(void)
{
	static const struct {
		const char *dev;
		int acs;
	} devs[] = {
		{ RP_A, SV }, { USP, SV }, { DSP1, SV }, { DSP2, SV },
		{ DSP3, SV }, { NIC, SV }, { NIC_FN1, -1 }, { NEAR, -1 },
		{ NVME, -1 }, { RP_B, SV }, { FAR, -1 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(devs); i++)
		set_acs(devs[i].dev, devs[i].acs);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/p2pmr-topo-XXXXXX");
	if (!mkdtemp(root))
		return -1;

	make_dir("/bus/pci/devices");
	make_dir("/class/net");
	make_dir("/class/infiniband");
	make_dir("/kernel/iommu_groups/5");
	make_dir("/module/p2pmr/parameters");
	write_file("/module/p2pmr/parameters/allow_host_bridge", "N\n");

	make_dir(HB0);
	make_pci(HB0 "/0000:00:00.0", "0x060000\n", -1);
	make_pci(RP_A, "0x060400\n", SV);
	make_pci(USP, "0x060400\n", SV);
	make_pci(DSP1, "0x060400\n", SV);
	make_pci(DSP2, "0x060400\n", SV);
	make_pci(DSP3, "0x060400\n", SV);
	make_pci(NIC, "0x020000\n", SV);
	make_pci(NIC_FN1, "0x020000\n", -1);
	make_pci(NEAR, "0x050000\n", -1);
	make_pci(NVME, "0x010802\n", -1);
	make_pci(RP_B, "0x060400\n", SV);
	make_pci(FAR, "0x050000\n", -1);
	make_dir(HB80);
	make_pci(HB80 "/0000:80:00.0", "0x060400\n", SV);
	make_pci(OTHER_HB, "0x050000\n", -1);
	make_pci(OTHER_DOM, "0x050000\n", -1);
	make_link("/kernel/iommu_groups/5", NIC "/iommu_group");

	/* network devices: the NIC's, loopback, a VLAN on it, a bond */
	make_dir(NIC "/virtio0/net/eth0");
	make_link(NIC "/virtio0", NIC "/virtio0/net/eth0/device");
	make_link(NIC "/virtio0/net/eth0", "/class/net/eth0");
	make_dir("/devices/virtual/net/lo");
	make_link("/devices/virtual/net/lo", "/class/net/lo");
	make_dir("/devices/virtual/net/eth0.100");
	make_link(NIC "/virtio0/net/eth0",
		  "/devices/virtual/net/eth0.100/lower_eth0");
	make_link("/devices/virtual/net/eth0.100", "/class/net/eth0.100");
	make_dir("/devices/virtual/net/bond0");
	make_link(NIC "/virtio0/net/eth0",
		  "/devices/virtual/net/bond0/lower_eth0");
	make_link("/devices/virtual/net/lo",
		  "/devices/virtual/net/bond0/lower_lo");
	make_link("/devices/virtual/net/bond0", "/class/net/bond0");

	/* RDMA devices */
	make_dir("/class/infiniband/mlx5_0");
	make_link(NIC, "/class/infiniband/mlx5_0/device");
	make_dir("/class/infiniband/rxe0");
	write_file("/class/infiniband/rxe0/parent", "eth0\n");
	make_dir("/class/infiniband/rxe1");
	write_file("/class/infiniband/rxe1/parent", "lo\n");
	make_dir("/class/infiniband/rxe2/ports/1/gid_attrs/ndevs");
	write_file("/class/infiniband/rxe2/ports/1/gid_attrs/ndevs/0",
		   "eth0\n");
	make_dir("/class/infiniband/rxe3");
	write_file("/class/infiniband/rxe3/parent", "eth0.100\n");
	make_dir("/class/infiniband/rxe4");
	write_file("/class/infiniband/rxe4/parent", "bond0\n");
	make_dir("/class/infiniband/rxe5");
	make_dir("/class/infiniband/rxe6");
	write_file("/class/infiniband/rxe6/parent", "nosuch\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	p2pmr_set_sysfs_root(NULL);
	return fake_rm_rf(root);
}

static int each(void **state)
{
	(void)state;
	reset_acs();
	write_file("/module/p2pmr/parameters/allow_host_bridge", "N\n");
	write_file(HB0 "/0000:00:00.0/device", "0x29c0\n");
	return 0;
}

/* A kernel without CONFIG_PCI_P2PDMA, p2pmr with allow_host_bridge=0. */
static struct p2pmr_topo_env env(void)
{
	return (struct p2pmr_topo_env){
		.sysfs_root = root,
		.allow_host_bridge = 0,
		.p2pdma = 0,
		.cpu_p2pdma = 0,
		.use_kernel = false,
	};
}

static struct p2pmr_p2p_info query_env(const struct p2pmr_topo_env *e,
				       const char *rdma, const char *bdf)
{
	struct p2pmr_p2p_info out;
	int err = p2pmr_query_p2p_env(e, rdma, bdf, &out);

	if (err)
		fail_msg("query %s -> %s: error %d", rdma, bdf, err);
	return out;
}

static struct p2pmr_p2p_info query(const char *rdma, const char *bdf)
{
	struct p2pmr_topo_env e = env();

	return query_env(&e, rdma, bdf);
}

static void assert_answer(const struct p2pmr_p2p_info *out,
			  enum p2pmr_p2p_path path,
			  enum p2pmr_p2p_reason reason, uint32_t distance)
{
	if (out->path != path || out->reason != reason ||
	    out->distance != distance)
		fail_msg("%s -> %s: %s/%s/%u, expected %s/%s/%u (%s)",
			 out->rdma_pci_addr, out->bar_pci_addr,
			 p2pmr_path_str(out->path),
			 p2pmr_reason_str(out->reason), out->distance,
			 p2pmr_path_str(path), p2pmr_reason_str(reason),
			 distance, out->reason_str);
}

/*
 * Paths
 */

static void test_same_switch(void **state)
{
	struct p2pmr_p2p_info out;

	(void)state;
	out = query("rxe0", "0000:04:00.0");
	assert_answer(&out, P2PMR_PATH_BUS_ADDR, P2PMR_REASON_COMMON_UPSTREAM,
		      4);
	assert_string_equal(out.rdma_pci_addr, "0000:03:00.0");
	assert_string_equal(out.bar_pci_addr, "0000:04:00.0");
	assert_int_equal(out.flags, P2PMR_P2P_IOMMU);
	assert_non_null(strstr(out.reason_str, "below 0000:01:00.0"));
	assert_non_null(strstr(out.reason_str, "[predicted from sysfs]"));

	out = query("rxe0", "05:00.0");
	assert_answer(&out, P2PMR_PATH_BUS_ADDR, P2PMR_REASON_COMMON_UPSTREAM,
		      4);
}

static void test_same_device(void **state)
{
	struct p2pmr_p2p_info out;

	(void)state;
	out = query("rxe0", "0000:03:00.0");
	assert_answer(&out, P2PMR_PATH_BUS_ADDR, P2PMR_REASON_SAME_DEVICE, 0);
	/* another function of the same device: both below one port */
	out = query("rxe0", "0000:03:00.1");
	assert_answer(&out, P2PMR_PATH_BUS_ADDR, P2PMR_REASON_COMMON_UPSTREAM,
		      2);
	assert_non_null(strstr(out.reason_str, "below 0000:02:00.0"));
}

static void test_different_root_ports(void **state)
{
	struct p2pmr_topo_env e = env();
	struct p2pmr_p2p_info out;

	(void)state;
	/* 06:00.0 -> 00:02.0 (2 hops), 03:00.0 -> ... -> 00:01.0 (4) */
	out = query("rxe0", "0000:06:00.0");
	assert_answer(&out, P2PMR_PATH_REFUSED,
		      P2PMR_REASON_NO_COMMON_UPSTREAM, 6);
	assert_true(out.flags & P2PMR_P2P_HOST_BRIDGE_ROUTE);
	assert_non_null(strstr(out.reason_str, "allow_host_bridge=1"));

	e.allow_host_bridge = 1;
	out = query_env(&e, "rxe0", "0000:06:00.0");
	assert_answer(&out, P2PMR_PATH_HOST_BRIDGE,
		      P2PMR_REASON_NO_COMMON_UPSTREAM, 6);
	assert_true(out.flags & P2PMR_P2P_HOST_BRIDGE_ROUTE);

	/* the parameter as sysfs shows it */
	e.allow_host_bridge = -1;
	out = query_env(&e, "rxe0", "0000:06:00.0");
	assert_int_equal(out.path, P2PMR_PATH_REFUSED);
	write_file("/module/p2pmr/parameters/allow_host_bridge", "Y\n");
	out = query_env(&e, "rxe0", "0000:06:00.0");
	assert_int_equal(out.path, P2PMR_PATH_HOST_BRIDGE);
	assert_non_null(strstr(out.reason_str, "allow_host_bridge"));
}

static void test_p2pdma_allowlist(void **state)
{
	struct p2pmr_topo_env e = env();
	struct p2pmr_p2p_info out;

	(void)state;
	/* the kernel trusts AMD Zen root complexes, with CONFIG_PCI_P2PDMA */
	e.cpu_p2pdma = 1;
	out = query_env(&e, "rxe0", "0000:06:00.0");
	assert_int_equal(out.path, P2PMR_PATH_REFUSED);
	e.p2pdma = 1;
	out = query_env(&e, "rxe0", "0000:06:00.0");
	assert_answer(&out, P2PMR_PATH_HOST_BRIDGE,
		      P2PMR_REASON_NO_COMMON_UPSTREAM, 6);
	assert_true(out.flags & P2PMR_P2P_P2PDMA);
	assert_non_null(strstr(out.reason_str, "AMD Zen"));

	/* and Skylake-E host bridges */
	e.cpu_p2pdma = 0;
	out = query_env(&e, "rxe0", "0000:06:00.0");
	assert_int_equal(out.path, P2PMR_PATH_REFUSED);
	write_file(HB0 "/0000:00:00.0/device", "0x2030\n");
	out = query_env(&e, "rxe0", "0000:06:00.0");
	assert_int_equal(out.path, P2PMR_PATH_HOST_BRIDGE);
	assert_non_null(strstr(out.reason_str, "allowlist"));
	e.p2pdma = 0;
	out = query_env(&e, "rxe0", "0000:06:00.0");
	assert_int_equal(out.path, P2PMR_PATH_REFUSED);
}

static void test_other_host_bridge_and_domain(void **state)
{
	struct p2pmr_topo_env e = env();
	struct p2pmr_p2p_info out;

	(void)state;
	e.allow_host_bridge = 1;	/* never enough for these */
	out = query_env(&e, "rxe0", "0000:81:00.0");
	assert_answer(&out, P2PMR_PATH_REFUSED,
		      P2PMR_REASON_DIFFERENT_HOST_BRIDGE, P2PMR_DISTANCE_NONE);
	out = query_env(&e, "rxe0", "0001:00:00.0");
	assert_answer(&out, P2PMR_PATH_REFUSED,
		      P2PMR_REASON_DIFFERENT_DOMAIN, P2PMR_DISTANCE_NONE);
}

/*
 * ACS: which ports count
 */

static void test_acs_redirect(void **state)
{
	static const struct {
		const char *dev;
		int acs;
		enum p2pmr_p2p_reason reason;
		const char *fix;
	} rows[] = {
		/* on the provider's side, up to the common bridge */
		{ DSP2, RR | CR, P2PMR_REASON_ACS_REDIRECT, "0000:02:01.0" },
		{ DSP2, RR, P2PMR_REASON_ACS_REDIRECT, "0000:02:01.0" },
		{ DSP2, CR, P2PMR_REASON_ACS_REDIRECT, "0000:02:01.0" },
		{ DSP2, EC, P2PMR_REASON_ACS_REDIRECT, "0000:02:01.0" },
		/* the common bridge itself */
		{ USP, RR | CR, P2PMR_REASON_ACS_REDIRECT, "0000:01:00.0" },
		/* on the client's side, below it */
		{ DSP1, RR, P2PMR_REASON_ACS_REDIRECT, "0000:02:00.0" },
		{ NIC, EC, P2PMR_REASON_ACS_REDIRECT, "0000:03:00.0" },
		/* above the common bridge: not on the path */
		{ RP_A, RR | CR | EC, P2PMR_REASON_COMMON_UPSTREAM, NULL },
		/* a port of another branch */
		{ DSP3, RR | CR, P2PMR_REASON_COMMON_UPSTREAM, NULL },
		/* ACS bits that do not redirect */
		{ DSP2, 0x005b & ~(RR | CR | EC), P2PMR_REASON_COMMON_UPSTREAM,
		  NULL },
		/* no ACS capability at all */
		{ DSP2, -1, P2PMR_REASON_COMMON_UPSTREAM, NULL },
	};
	struct p2pmr_topo_env e = env();
	struct p2pmr_p2p_info out;
	char fix[128];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		reset_acs();
		set_acs(rows[i].dev, rows[i].acs);
		e.allow_host_bridge = 0;
		out = query_env(&e, "rxe0", "0000:04:00.0");
		if (out.reason != rows[i].reason)
			fail_msg("row %zu: ACS %#x on %s: %s (%s)", i,
				 rows[i].acs, rows[i].dev,
				 p2pmr_reason_str(out.reason), out.reason_str);
		assert_int_equal(out.distance, 4);
		if (!rows[i].fix) {
			assert_int_equal(out.path, P2PMR_PATH_BUS_ADDR);
			continue;
		}
		assert_int_equal(out.path, P2PMR_PATH_REFUSED);
		assert_true(out.flags & P2PMR_P2P_HOST_BRIDGE_ROUTE);
		snprintf(fix, sizeof(fix), "pci=disable_acs_redir=%s",
			 rows[i].fix);
		if (!strstr(out.reason_str, fix))
			fail_msg("row %zu: \"%s\" does not say %s", i,
				 out.reason_str, fix);

		e.allow_host_bridge = 1;
		out = query_env(&e, "rxe0", "0000:04:00.0");
		assert_int_equal(out.path, P2PMR_PATH_HOST_BRIDGE);
		assert_int_equal(out.reason, P2PMR_REASON_ACS_REDIRECT);
	}

	/* two ports: both named */
	reset_acs();
	set_acs(DSP2, RR);
	set_acs(DSP1, CR);
	out = query("rxe0", "0000:04:00.0");
	assert_non_null(strstr(out.reason_str,
			       "pci=disable_acs_redir=0000:02:01.0;0000:02:00.0"));
}

/* What a non-root reader sees: 64 bytes of the config space. */
static const char *unreadable;

static long short_reader(const char *path, void *buf, uint64_t off,
			 size_t len)
{
	ssize_t n;
	int fd;

	if (strstr(path, unreadable) && off >= 64)
		return 0;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, off);
	close(fd);
	return n;
}

static void test_acs_unreadable(void **state)
{
	struct p2pmr_topo_env e = env();
	struct p2pmr_p2p_info out;

	(void)state;
	e.read_config = short_reader;
	unreadable = "0000:02:01.0/config";
	out = query_env(&e, "rxe0", "0000:04:00.0");
	assert_answer(&out, P2PMR_PATH_BUS_ADDR, P2PMR_REASON_COMMON_UPSTREAM,
		      4);
	assert_true(out.flags & P2PMR_P2P_ACS_UNKNOWN);
	assert_non_null(strstr(out.reason_str, "ACS of 0000:02:01.0 unreadable"));

	/* a port off the path does not matter */
	unreadable = "0000:02:02.0/config";
	out = query_env(&e, "rxe0", "0000:04:00.0");
	assert_false(out.flags & P2PMR_P2P_ACS_UNKNOWN);

	/* a redirect that can be read still counts */
	unreadable = "0000:02:01.0/config";
	set_acs(DSP1, RR);
	out = query_env(&e, "rxe0", "0000:04:00.0");
	assert_int_equal(out.reason, P2PMR_REASON_ACS_REDIRECT);
	assert_true(out.flags & P2PMR_P2P_ACS_UNKNOWN);
}

/*
 * From RDMA device to PCI function
 */

static void test_rdma_device_kinds(void **state)
{
	static const char *const devs[] = { "mlx5_0", "rxe0", "rxe2", "rxe3" };
	struct p2pmr_p2p_info out;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(devs); i++) {
		out = query(devs[i], "0000:04:00.0");
		if (strcmp(out.rdma_pci_addr, "0000:03:00.0"))
			fail_msg("%s: PCI function %s", devs[i],
				 out.rdma_pci_addr);
		assert_answer(&out, P2PMR_PATH_BUS_ADDR,
			      P2PMR_REASON_COMMON_UPSTREAM, 4);
	}
}

static void test_refused_arguments(void **state)
{
	static const struct {
		const char *rdma, *bdf;
		int err;
	} rows[] = {
		{ NULL, "0000:04:00.0", EINVAL },
		{ "", "0000:04:00.0", EINVAL },
		{ "rxe0/..", "0000:04:00.0", EINVAL },
		{ "../rxe0", "0000:04:00.0", EINVAL },
		{ ".", "0000:04:00.0", EINVAL },
		{ "..", "0000:04:00.0", EINVAL },
		{ "rxe0123456789012345678901234567890123456789012345678901234567890",
		  "0000:04:00.0", EINVAL },
		{ "rxe0", NULL, EINVAL },
		{ "rxe0", "", EINVAL },
		{ "rxe0", "0000:04:00", EINVAL },
		{ "rxe0", "0000:04:00.0/..", EINVAL },
		{ "nosuch0", "0000:04:00.0", ENOENT },
		{ "rxe0", "0000:09:00.0", ENOENT },
		{ "rxe1", "0000:04:00.0", ENODEV },	/* on loopback */
		{ "rxe4", "0000:04:00.0", ENODEV },	/* on a bond */
		{ "rxe5", "0000:04:00.0", ENODEV },	/* on nothing */
		{ "rxe6", "0000:04:00.0", ENODEV },	/* on a gone netdev */
	};
	struct p2pmr_topo_env e = env();
	struct p2pmr_p2p_info out;
	size_t i;
	int err;

	(void)state;
	assert_int_equal(p2pmr_query_p2p_env(&e, "rxe0", "0000:04:00.0", NULL),
			 EINVAL);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		err = p2pmr_query_p2p_env(&e, rows[i].rdma, rows[i].bdf, &out);
		if (err != rows[i].err)
			fail_msg("row %zu (%s, %s): %d, expected %d", i,
				 rows[i].rdma ? rows[i].rdma : "NULL",
				 rows[i].bdf ? rows[i].bdf : "NULL", err,
				 rows[i].err);
	}
}

/* The public call on the fake tree (the module is not asked there). */
static void test_public_call(void **state)
{
	struct p2pmr_p2p_info out;

	(void)state;
	p2pmr_set_sysfs_root(root);
	assert_int_equal(p2pmr_query_p2p("rxe0", "04:00.0", &out,
					 sizeof(out)), 0);
	assert_answer(&out, P2PMR_PATH_BUS_ADDR, P2PMR_REASON_COMMON_UPSTREAM,
		      4);
	assert_false(out.flags & P2PMR_P2P_KERNEL);
	assert_int_equal(p2pmr_query_p2p("rxe0", "04:00.0", NULL,
					 sizeof(out)), EINVAL);
	assert_int_equal(p2pmr_query_p2p("nosuch0", "04:00.0", &out,
					 sizeof(out)), ENOENT);
	p2pmr_set_sysfs_root(NULL);
}

static int query_len(void *buf, size_t len, void *arg)
{
	(void)arg;
	return p2pmr_query_p2p("rxe0", "04:00.0", buf, len);
}

/* The struct's length, as p2pmr.h's rule says (ext_struct.h). */
static void test_out_len(void **state)
{
	struct p2pmr_p2p_info ref;

	(void)state;
	p2pmr_set_sysfs_root(root);
	ext_check_lengths(query_len, NULL, sizeof(ref),
			  P2PMR_P2P_INFO_LEN_V1,
			  offsetof(struct p2pmr_p2p_info, comp_mask), &ref);
	assert_answer(&ref, P2PMR_PATH_BUS_ADDR,
		      P2PMR_REASON_COMMON_UPSTREAM, 4);
	p2pmr_set_sysfs_root(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_same_switch, each),
		cmocka_unit_test_setup(test_same_device, each),
		cmocka_unit_test_setup(test_different_root_ports, each),
		cmocka_unit_test_setup(test_p2pdma_allowlist, each),
		cmocka_unit_test_setup(test_other_host_bridge_and_domain, each),
		cmocka_unit_test_setup(test_acs_redirect, each),
		cmocka_unit_test_setup(test_acs_unreadable, each),
		cmocka_unit_test_setup(test_rdma_device_kinds, each),
		cmocka_unit_test_setup(test_refused_arguments, each),
		cmocka_unit_test_setup(test_public_call, each),
		cmocka_unit_test_setup(test_out_len, each),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
