// SPDX-License-Identifier: GPL-2.0
/*
 * libp2pmr classification: parsing /proc/self/maps, looking ranges up in
 * the cache of BAR mappings, and keeping that cache right when mappings
 * change behind the library's back.
 *
 * No BAR can be mapped on the host, and what identifies a BAR mapping is
 * its sysfs path, so the tests hand the library the text of
 * /proc/self/maps through its source hook and a fake sysfs tree for the
 * BAR addresses.  Addresses in the text need not be mapped: classification
 * is arithmetic on the text.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ext_struct.h"
#include "fake_env.h"
#include "p2pmr_internal.h"

#define DEV1		"0000:01:00.0"
#define DEV2		"0000:02:00.0"
#define SYS_DEV1	"/sys/devices/pci0000:00/0000:00:01.0/" DEV1
#define SYS_DEV2	"/sys/devices/pci0000:00/0000:00:02.0/" DEV2

/* BAR0 of DEV1: 16 KiB at 0xfe800000; BAR2: 64 MiB at 0x380000000. */
#define DEV1_BAR0	0xfe800000ULL
#define DEV1_BAR2	0x380000000ULL
/* BAR2 of DEV2: 64 MiB at 0x390000000 */
#define DEV2_BAR2	0x390000000ULL

#define X		0x7f0000000000ULL	/* DEV1 BAR2, whole */
#define X_LEN		0x4000000ULL
#define Y		0x7f0004000000ULL	/* DEV1 BAR0, first page */
#define Y2		0x7f0004001000ULL	/* DEV1 BAR0, pages 1-3 */
#define Z		0x7f4000000000ULL	/* DEV2 BAR2 at 1 MiB, deleted */
#define HEAP		0x55d0c0a00000ULL

/* Adjacent lines of one BAR that are not one mapping split in two. */
static const char maps_not_continued[] =
	/* the file offset jumps */
	"7f0004000000-7f0004001000 rw-s fe800000 00:15 31330      " SYS_DEV1 "/resource0\n"
	"7f0004001000-7f0004002000 rw-s fe803000 00:15 31330      " SYS_DEV1 "/resource0\n"
	/* one piece is read-only */
	"7f0004002000-7f0004003000 r--s fe804000 00:15 31330      " SYS_DEV1 "/resource0\n"
	/* another file of the same BAR */
	"7f0004003000-7f0004004000 rw-s fe805000 00:15 31331      " SYS_DEV1 "/resource0_wc\n";

static const char maps_with_bars[] =
	"55d0c09ff000-55d0c0a00000 r--p 00000000 08:01 1311       /usr/bin/app\n"
	"55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0          [heap]\n"
	"7f0000000000-7f0004000000 rw-s 380000000 00:15 31337     " SYS_DEV1 "/resource2_wc\n"
	"7f0004000000-7f0004001000 rw-s fe800000 00:15 31330      " SYS_DEV1 "/resource0\n"
	"7f0004001000-7f0004004000 rw-s fe801000 00:15 31330      " SYS_DEV1 "/resource0\n"
	"7f1000000000-7f1000100000 r-xp 00000000 08:01 123        /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f2000000000-7f2000001000 rw-s 00000000 00:01 4          /memfd:pool (deleted)\n"
	"7f3000000000-7f3000001000 rw-s 00000000 08:01 5          /home/u/my resource2 file\n"
	"7f4000000000-7f4001000000 rw-s 390100000 00:15 31338     " SYS_DEV2 "/resource2 (deleted)\n"
	"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0          [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]\n";

/*
 * The same process after DEV1 BAR2 and the second BAR0 mapping were
 * unmapped, and anonymous memory mapped at BAR2's address.
 */
static const char maps_bar_replaced[] =
	"55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0          [heap]\n"
	"7f0000000000-7f0004000000 rw-p 00000000 00:00 0 \n"
	"7f0004000000-7f0004001000 rw-s fe800000 00:15 31330      " SYS_DEV1 "/resource0\n"
	"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0          [stack]\n";

static const char maps_no_bars[] =
	"55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0          [heap]\n"
	"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0          [stack]\n";

/*
 * dma-buf mappings: D, 16 pages of one dma-buf from its page 4 on, split
 * in two by madvise(); right after it a mapping of another dma-buf whose
 * offsets would continue it; a named one; and a regular file whose name
 * merely contains "dmabuf".
 */
#define D		0x7f5000000000ULL
#define D_LEN		0x10000ULL
static const char maps_with_dmabufs[] =
	"55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0          [heap]\n"
	"7f5000000000-7f5000008000 rw-s 00004000 00:0d 4242       /dmabuf:\n"
	"7f5000008000-7f5000010000 rw-s 0000c000 00:0d 4242       /dmabuf:\n"
	"7f5000010000-7f5000011000 rw-s 00014000 00:0d 4243       /dmabuf:\n"
	"7f5000020000-7f5000021000 r--s 00000000 00:0d 4244       /dmabuf:frame 0\n"
	"7f5000030000-7f5000031000 rw-s 00000000 08:01 77         /home/u/dmabuf:x\n";

/* What the fake /proc/self/maps says now, and whether reading it fails. */
static const char *maps_text;
static int maps_error;
static char sysfs[PATH_MAX];

static int test_source(void *arg, char **buf, size_t *cap, size_t *len)
{
	(void)arg;
	if (maps_error)
		return maps_error;
	return fake_maps_copy(__atomic_load_n(&maps_text, __ATOMIC_ACQUIRE),
			      buf, cap, len);
}

static void set_maps(const char *text)
{
	__atomic_store_n(&maps_text, text, __ATOMIC_RELEASE);
}

#define NO_BAR	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"

static void make_device(const char *name, const char *resource)
{
	char dir[2 * PATH_MAX];

	assert_true(snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs,
			     name) < (int)sizeof(dir));
	fake_mkdir_p(dir);
	assert_true(strlen(dir) + sizeof("/resource") <= sizeof(dir));
	strcat(dir, "/resource");
	fake_write_file(dir, resource);
}

static int setup(void **state)
{
	(void)state;
	snprintf(sysfs, sizeof(sysfs), "/tmp/p2pmr-maps-XXXXXX");
	if (!mkdtemp(sysfs))
		return -1;
	make_device(DEV1,
		    "0x00000000fe800000 0x00000000fe803fff 0x0000000000040200\n"
		    NO_BAR
		    "0x0000000380000000 0x0000000383ffffff 0x000000000014220c\n"
		    NO_BAR NO_BAR NO_BAR);
	make_device(DEV2,
		    NO_BAR NO_BAR
		    "0x0000000390000000 0x0000000393ffffff 0x000000000014220c\n"
		    NO_BAR NO_BAR NO_BAR);
	p2pmr_set_sysfs_root(sysfs);
	p2pmr_cache_set_source(test_source, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	p2pmr_cache_set_source(NULL, NULL);
	p2pmr_set_sysfs_root(NULL);
	return fake_rm_rf(sysfs);
}

/* Each test starts from an empty cache and the BAR-laden process. */
static int reset(void **state)
{
	(void)state;
	maps_error = 0;
	set_maps(maps_with_bars);
	p2pmr_cache_reset();
	return 0;
}

/*
 * Parsing, one line at a time
 */

static const struct parse_row {
	const char *line;
	bool is_bar;
	uint64_t start, end, offset;
	uint32_t flags;
	uint32_t domain;
	uint8_t bus, devfn, bar;
} parse_rows[] = {
#define NOT_BAR(l)	{ .line = (l) }
#define BAR(l, s, e, o, f, dom, b, df, n)				\
	{ .line = (l), .is_bar = true, .start = (s), .end = (e),	\
	  .offset = (o), .flags = (f), .domain = (dom), .bus = (b),	\
	  .devfn = (df), .bar = (n) }
	/* not BAR mappings */
	NOT_BAR(""),
	NOT_BAR("55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0          [heap]"),
	NOT_BAR("7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0          [stack]"),
	NOT_BAR("7f0000000000-7f0004000000 rw-p 00000000 00:00 0"),
	NOT_BAR("7f0000000000-7f0004000000 rw-p 00000000 00:00 0 "),
	NOT_BAR("7f1000000000-7f1000100000 r-xp 00000000 08:01 123  /usr/lib/x86_64-linux-gnu/libc.so.6"),
	NOT_BAR("7f2000000000-7f2000001000 rw-s 00000000 00:01 4    /memfd:pool (deleted)"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 08:01 5    /home/u/my resource2 file"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 08:01 5    /home/u/" DEV1 "/resource2"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 08:01 5    /tmp/sys/devices/" DEV1 "/resource2"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 00:15 5    " SYS_DEV1 "/resource"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 00:15 5    " SYS_DEV1 "/resource6"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 00:15 5    " SYS_DEV1 "/resource2_wcx"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 00:15 5    " SYS_DEV1 "/resource2_uc"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 00:15 5    " SYS_DEV1 "/resource12"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 00:15 5    " SYS_DEV1 "/config"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 00:15 5    " SYS_DEV1 "/rom"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 00:15 5    /sys/devices/pci0000:00/notapci/resource2"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s 00000000 00:15 5    /sys/devices/resource2"),
	/* malformed */
	NOT_BAR("zzz"),
	NOT_BAR("7f3000000000-"),
	NOT_BAR("7f3000000000-7f3000001000"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s"),
	NOT_BAR("7f3000001000-7f3000000000 rw-s 0 00:15 5 " SYS_DEV1 "/resource2"),
	NOT_BAR("7f3000000000-7f3000001000 rw-s zz 00:15 5 " SYS_DEV1 "/resource2"),
	NOT_BAR("7F3000000000-7f3000001000 rw-s 0 00:15 5 " SYS_DEV1 "/resource2"),
	/* BAR mappings */
	BAR("7f0000000000-7f0004000000 rw-s 380000000 00:15 31337     " SYS_DEV1 "/resource2_wc",
	    0x7f0000000000, 0x7f0004000000, 0x380000000,
	    P2PMR_MEM_WC | P2PMR_MEM_SHARED | P2PMR_MEM_WRITABLE, 0, 1, 0, 2),
	BAR("7f0004000000-7f0004001000 r--s fe800000 00:15 31330 " SYS_DEV1 "/resource0",
	    0x7f0004000000, 0x7f0004001000, 0xfe800000,
	    P2PMR_MEM_SHARED, 0, 1, 0, 0),
	BAR("7f0004000000-7f0004001000 rw-p fe800000 00:15 31330 " SYS_DEV1 "/resource0",
	    0x7f0004000000, 0x7f0004001000, 0xfe800000,
	    P2PMR_MEM_WRITABLE, 0, 1, 0, 0),
	BAR("7f4000000000-7f4001000000 rw-s 390100000 00:15 31338 " SYS_DEV2 "/resource2 (deleted)",
	    0x7f4000000000, 0x7f4001000000, 0x390100000,
	    P2PMR_MEM_SHARED | P2PMR_MEM_WRITABLE | P2PMR_MEM_DELETED,
	    0, 2, 0, 2),
	/* a VMD domain, behind a PCI device */
	BAR("7f5000000000-7f5000010000 rw-s e0000000 00:15 7 /sys/devices/pci0000:00/0000:00:0e.0/pci10000:00/10000:00:01.0/10000:e1:1f.7/resource5",
	    0x7f5000000000, 0x7f5000010000, 0xe0000000,
	    P2PMR_MEM_SHARED | P2PMR_MEM_WRITABLE, 0x10000, 0xe1,
	    0x1f << 3 | 7, 5),
	/* a host bridge that is a platform device */
	BAR("7f5000000000-7f5000010000 rw-s e0000000 00:15 7 /sys/devices/platform/soc/1f00000000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0/resource1_wc",
	    0x7f5000000000, 0x7f5000010000, 0xe0000000,
	    P2PMR_MEM_WC | P2PMR_MEM_SHARED | P2PMR_MEM_WRITABLE, 0, 1, 0, 1),
};

#undef NOT_BAR
#undef BAR

static void test_parse_lines(void **state)
{
	const struct parse_row *r;
	struct p2pmr_bar_map map;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(parse_rows); i++) {
		r = &parse_rows[i];
		memset(&map, 0xa5, sizeof(map));
		if (p2pmr_maps_parse_line(r->line, strlen(r->line), &map) !=
		    r->is_bar)
			fail_msg("row %zu \"%s\": expected %s", i, r->line,
				 r->is_bar ? "a BAR mapping" : "no BAR mapping");
		if (!r->is_bar)
			continue;
		assert_int_equal(map.start, r->start);
		assert_int_equal(map.end, r->end);
		assert_int_equal(map.file_offset, r->offset);
		assert_int_equal(map.flags, r->flags);
		assert_int_equal(map.domain, r->domain);
		assert_int_equal(map.bus, r->bus);
		assert_int_equal(map.devfn, r->devfn);
		assert_int_equal(map.bar, r->bar);
	}
}

static void test_parse_text(void **state)
{
	struct p2pmr_bar_map *maps;
	size_t n;

	(void)state;
	assert_int_equal(p2pmr_maps_parse(maps_with_bars,
					  strlen(maps_with_bars), &maps, &n),
			 0);
	/* BAR0's two lines continue each other: one mapping, split */
	assert_int_equal(n, 3);
	assert_int_equal(maps[0].start, X);
	assert_int_equal(maps[1].start, Y);
	assert_int_equal(maps[1].end, Y2 + 0x3000);
	assert_int_equal(maps[1].file_offset, 0xfe800000);
	assert_int_equal(maps[2].start, Z);
	free(maps);

	/* lines that do not continue each other stay apart */
	assert_int_equal(p2pmr_maps_parse(maps_not_continued,
					  strlen(maps_not_continued), &maps,
					  &n), 0);
	assert_int_equal(n, 4);
	free(maps);

	/* no trailing newline; nothing at all */
	assert_int_equal(p2pmr_maps_parse(maps_with_bars, 0, &maps, &n), 0);
	assert_int_equal(n, 0);
	assert_null(maps);
}

/* dma-buf mappings: pieces of one continue, two dma-bufs stay apart. */
static void test_parse_dmabuf(void **state)
{
	struct p2pmr_bar_map *maps;
	size_t n;

	(void)state;
	assert_int_equal(p2pmr_maps_parse(maps_with_dmabufs,
					  strlen(maps_with_dmabufs), &maps,
					  &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(maps[0].start, D);
	assert_int_equal(maps[0].end, D + D_LEN);
	assert_int_equal(maps[0].file_offset, 0x4000);
	assert_int_equal(maps[0].inode, 4242);
	assert_int_equal(maps[0].flags, P2PMR_MAP_DMABUF | P2PMR_MEM_SHARED |
					P2PMR_MEM_WRITABLE);
	assert_int_equal(maps[0].bus, 0);
	assert_int_equal(maps[1].start, D + D_LEN);
	assert_int_equal(maps[1].inode, 4243);
	assert_int_equal(maps[2].flags, P2PMR_MAP_DMABUF | P2PMR_MEM_SHARED);
	free(maps);
}

static void test_resolve(void **state)
{
	struct p2pmr_bar_map map = {
		.domain = 0, .bus = 1, .devfn = 0, .bar = 2,
		.file_offset = DEV1_BAR2 + 0x200000,
	};

	(void)state;
	/* maps shows the BAR's address plus the offset in it */
	p2pmr_maps_resolve(sysfs, &map);
	assert_int_equal(map.bar_offset, 0x200000);
	assert_true(map.flags & P2PMR_MEM_PREFETCHABLE);
	assert_false(map.flags & P2PMR_MEM_OFFSET_UNKNOWN);

	/* a kernel that shows the offset in the BAR itself */
	map.flags = 0;
	map.file_offset = 0x3000;
	p2pmr_maps_resolve(sysfs, &map);
	assert_int_equal(map.bar_offset, 0x3000);

	/* neither: the BAR moved, or the mapping is not of this BAR */
	map.flags = 0;
	map.file_offset = DEV1_BAR2 + X_LEN;
	p2pmr_maps_resolve(sysfs, &map);
	assert_true(map.flags & P2PMR_MEM_OFFSET_UNKNOWN);
	assert_int_equal(map.bar_offset, 0);

	/* BAR0 is not prefetchable */
	map = (struct p2pmr_bar_map){ .bus = 1, .bar = 0,
				      .file_offset = DEV1_BAR0 + 0x1000 };
	p2pmr_maps_resolve(sysfs, &map);
	assert_int_equal(map.bar_offset, 0x1000);
	assert_false(map.flags & P2PMR_MEM_PREFETCHABLE);

	/* no such device in sysfs */
	map = (struct p2pmr_bar_map){ .bus = 9, .bar = 2,
				      .file_offset = DEV1_BAR2 };
	p2pmr_maps_resolve(sysfs, &map);
	assert_true(map.flags & P2PMR_MEM_OFFSET_UNKNOWN);
}

/*
 * Lookups
 */

static void test_bar_hit(void **state)
{
	struct p2pmr_mem_info info;

	(void)state;
	assert_int_equal(p2pmr_classify((void *)(X + 0x1010), 0x100, &info,
					sizeof(info)),
			 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_string_equal(info.pci_addr, DEV1);
	assert_int_equal(info.pci_domain, 0);
	assert_int_equal(info.pci_bus, 1);
	assert_int_equal(info.pci_devfn, 0);
	assert_int_equal(info.bar, 2);
	assert_int_equal(info.bar_offset, 0x1010);
	assert_int_equal(info.map_start, X);
	assert_int_equal(info.map_length, X_LEN);
	assert_int_equal(info.flags,
			 P2PMR_MEM_WC | P2PMR_MEM_CONTAINED | P2PMR_MEM_SHARED |
			 P2PMR_MEM_WRITABLE | P2PMR_MEM_PREFETCHABLE);

	/* the whole mapping, to its last byte */
	assert_int_equal(p2pmr_classify((void *)X, X_LEN, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_int_equal(info.bar_offset, 0);
	assert_int_equal(p2pmr_classify((void *)(X + X_LEN - 1), 1, &info,
					sizeof(info)),
			 0);
	assert_int_equal(info.bar_offset, X_LEN - 1);

	/*
	 * A mapping of BAR0 split in two (madvise, mprotect): page 1 of
	 * the BAR, and a range across the split, as one mapping
	 */
	assert_int_equal(p2pmr_classify((void *)(Y + 0xff0), 0x20, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_int_equal(info.map_start, Y);
	assert_int_equal(info.map_length, 0x4000);
	assert_int_equal(p2pmr_classify((void *)(Y2 + 0x10), 0x20, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_int_equal(info.bar, 0);
	assert_int_equal(info.bar_offset, 0x1010);
	assert_int_equal(info.flags, P2PMR_MEM_CONTAINED | P2PMR_MEM_SHARED |
				     P2PMR_MEM_WRITABLE);

	/* the device is gone, the mapping still there */
	assert_int_equal(p2pmr_classify((void *)(Z + 0x1000), 0x1000, &info,
					sizeof(info)),
			 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_string_equal(info.pci_addr, DEV2);
	assert_int_equal(info.bar_offset, 0x101000);
	assert_true(info.flags & P2PMR_MEM_DELETED);
}

/*
 * p2pmr_classify() of dma-buf mappings (the kernel cannot confirm them
 * here, without /dev/p2pmr: a fresh read does), and of a range partly in
 * one.
 */
static void test_dmabuf_hit(void **state)
{
	struct p2pmr_mem_info info;

	(void)state;
	set_maps(maps_with_dmabufs);
	assert_int_equal(p2pmr_classify((void *)(D + 0x7ff0), 0x20, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_DMABUF);
	assert_int_equal(info.map_start, D);
	assert_int_equal(info.map_length, D_LEN);
	assert_int_equal(info.flags, P2PMR_MEM_CONTAINED | P2PMR_MEM_SHARED |
				     P2PMR_MEM_WRITABLE);
	assert_int_equal(info.bar_offset, 0);
	assert_string_equal(info.pci_addr, "");
	assert_int_equal(p2pmr_classify((void *)(D + D_LEN - 0x10), 0x20,
					&info, sizeof(info)), EINVAL);
	assert_int_equal(info.type, P2PMR_MEM_DMABUF);
	assert_false(info.flags & P2PMR_MEM_CONTAINED);
	assert_int_equal(p2pmr_classify((void *)0x7f5000030000ULL, 0x10,
					&info, sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
}

static void test_host_miss(void **state)
{
	static const uint64_t host[][2] = {
		{ HEAP, 0x1000 },			/* [heap] */
		{ HEAP + 0x20fff, 1 },
		{ X - 0x1000, 0x1000 },			/* just below X */
		{ Y2 + 0x3000, 0x1000 },		/* just above BAR0 */
		{ 0x7f2000000000, 0x1000 },		/* memfd */
		{ 0x7f3000000000, 0x1000 },		/* "resource2" file */
		{ 0x1000, 0x1000 },			/* not mapped at all */
		{ 0xffffffffff600000, 0x1000 },		/* vsyscall */
	};
	struct p2pmr_mem_info info;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(host); i++) {
		memset(&info, 0xa5, sizeof(info));
		assert_int_equal(p2pmr_classify((void *)host[i][0], host[i][1],
						&info, sizeof(info)), 0);
		if (info.type != P2PMR_MEM_HOST)
			fail_msg("0x%" PRIx64 "+0x%" PRIx64 " is not host memory",
				 host[i][0], host[i][1]);
		assert_int_equal(info.flags, 0);
		assert_int_equal(info.bar_offset, 0);
		assert_string_equal(info.pci_addr, "");
	}
}

static void test_partial_overlap(void **state)
{
	static const struct {
		uint64_t addr, len, bar_offset;
		uint8_t bar;
	} rows[] = {
		{ X - 0x1000, 0x2000, 0, 2 },		/* starts below */
		{ X + X_LEN - 0x1000, 0x2000, X_LEN - 0x1000, 2 },
		{ X - 1, X_LEN + 2, 0, 2 },		/* covers it */
		{ Y2 + 0x2f00, 0x200, 0x3f00, 0 },	/* past a split one */
		{ HEAP, X - HEAP + 1, 0, 2 },		/* heap to BAR */
	};
	struct p2pmr_mem_info info;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		if (p2pmr_classify((void *)rows[i].addr, rows[i].len, &info,
				   sizeof(info)) !=
		    EINVAL)
			fail_msg("row %zu: 0x%" PRIx64 "+0x%" PRIx64 " must be refused with EINVAL",
				 i, rows[i].addr, rows[i].len);
		/* what it overlaps, without CONTAINED */
		assert_int_equal(info.type, P2PMR_MEM_BAR);
		assert_false(info.flags & P2PMR_MEM_CONTAINED);
		assert_int_equal(info.bar, rows[i].bar);
		assert_int_equal(info.bar_offset, rows[i].bar_offset);
	}
}

static int classify_len(void *buf, size_t len, void *arg)
{
	(void)arg;
	return p2pmr_classify((void *)(X + 0x1010), 0x100, buf, len);
}

/* The struct's length, as p2pmr.h's rule says (ext_struct.h). */
static void test_info_len(void **state)
{
	struct p2pmr_mem_info ref;

	(void)state;
	ext_check_lengths(classify_len, NULL, sizeof(ref),
			  P2PMR_MEM_INFO_LEN_V1,
			  offsetof(struct p2pmr_mem_info, comp_mask), &ref);
	assert_int_equal(ref.type, P2PMR_MEM_BAR);
	assert_string_equal(ref.pci_addr, DEV1);
	assert_int_equal(ref.bar_offset, 0x1010);
}

static void test_bad_arguments(void **state)
{
	struct p2pmr_mem_info info;

	(void)state;
	assert_int_equal(p2pmr_classify((void *)HEAP, 1, NULL,
					sizeof(info)), EINVAL);
	assert_int_equal(p2pmr_classify((void *)HEAP, 0, &info,
					sizeof(info)), EINVAL);
	assert_int_equal(p2pmr_classify((void *)UINTPTR_MAX, 2, &info,
					sizeof(info)),
			 EOVERFLOW);
	assert_int_equal(p2pmr_classify((void *)-4096, 4096, &info,
					sizeof(info)),
			 EOVERFLOW);
	/* the top byte of the address space is a range like any other */
	assert_int_equal(p2pmr_classify((void *)(UINTPTR_MAX - 1), 1, &info,
					sizeof(info)),
			 0);
	/* nothing was read for refused arguments */
	assert_int_equal(p2pmr_cache_read_count(), 1);
}

/*
 * The cache
 */

static void test_host_is_cached(void **state)
{
	struct p2pmr_mem_info info;
	int i;

	(void)state;
	assert_int_equal(p2pmr_cache_read_count(), 0);
	for (i = 0; i < 10000; i++) {
		assert_int_equal(p2pmr_classify((void *)(HEAP + i), 64, &info,
						sizeof(info)),
				 0);
		assert_int_equal(info.type, P2PMR_MEM_HOST);
	}
	/* read once, to build the cache; never again for host memory */
	assert_int_equal(p2pmr_cache_read_count(), 1);
}

static void test_bar_hit_is_checked(void **state)
{
	struct p2pmr_mem_info info;
	uint64_t reads;
	int i;

	(void)state;
	assert_int_equal(p2pmr_classify((void *)HEAP, 1, &info,
					sizeof(info)), 0);
	reads = p2pmr_cache_read_count();
	for (i = 1; i <= 3; i++) {
		assert_int_equal(p2pmr_classify((void *)X, 4096, &info,
						sizeof(info)), 0);
		assert_int_equal(info.type, P2PMR_MEM_BAR);
		assert_int_equal(p2pmr_cache_read_count(), reads + i);
	}
}

/*
 * A module with watches, standing in for /dev/p2pmr: WATCH_VA of X's
 * mapping answers DEV1's BAR 2 (or another BAR), in slot 5 of a watch page
 * the test moves; CHECK_VA is a module without it (ENOTTY).
 */
static uint64_t *watch_page;
static unsigned int watches_made, unwatches;
static int watch_err;
static bool watch_other_bar;

static int watch_ioctl(int fd, unsigned long request, void *arg)
{
	struct p2pmr_watch_va *cmd = arg;

	(void)fd;
	if (request == P2PMR_IOCTL_UNWATCH) {
		watch_page[((struct p2pmr_unwatch *)arg)->slot]++;
		unwatches++;
		return 0;
	}
	if (request != P2PMR_IOCTL_WATCH_VA) {
		errno = ENOTTY;
		return -1;
	}
	watches_made++;
	assert_int_equal(cmd->addr, X);
	assert_int_equal(cmd->length, X_LEN);
	assert_int_equal(cmd->dmabuf_fd, -1);
	if (watch_err) {
		errno = watch_err;
		return -1;
	}
	cmd->out_slot = 5;
	cmd->out_seq = watch_page[5];
	cmd->out_bar = watch_other_bar ? 0 : 2;
	cmd->out_bar_offset = 0;
	cmd->out_flags = P2PMR_EXPORT_OUT_WC;
	cmd->out_pci_domain = 0;
	cmd->out_pci_bus = 1;
	cmd->out_pci_devfn = 0;
	return 0;
}

static void *watch_mmap(void *addr, size_t length, int prot, int flags,
			int fd, off_t offset)
{
	(void)prot;
	(void)flags;
	(void)fd;
	(void)offset;
	watch_page = mmap(addr, length, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return watch_page;
}

static void classify_x_is_bar(uint64_t reads)
{
	struct p2pmr_mem_info info;

	assert_int_equal(p2pmr_classify((void *)(X + 0x1000), 4096, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_int_equal(info.bar, 2);
	assert_int_equal(p2pmr_cache_read_count(), reads);
}

/*
 * With watches, a hit is checked once for its whole mapping, and later
 * hits are confirmed by the watch's counter: no system call, no read of
 * /proc/self/maps, until the counter moves.  A moved counter watches
 * anew; a refused watch, or one that names another BAR, leaves the hit to
 * a read, as without watches.
 */
static void test_bar_hit_watched(void **state)
{
	struct p2pmr_ops ops = *p2pmr_ops;
	struct p2pmr_mem_info info;
	uint64_t reads;

	(void)state;
	ops.ioctl = watch_ioctl;
	ops.mmap = watch_mmap;
	p2pmr_set_ops(&ops);
	p2pmr_set_dev_path("/dev/null");
	watches_made = unwatches = 0;
	watch_err = 0;
	watch_other_bar = false;

	assert_int_equal(p2pmr_classify((void *)HEAP, 1, &info,
					sizeof(info)), 0);
	reads = p2pmr_cache_read_count();
	classify_x_is_bar(reads);
	classify_x_is_bar(reads);
	classify_x_is_bar(reads);
	assert_int_equal(watches_made, 1);

	/* the mapping changed: watched anew, still no read */
	watch_page[5]++;
	classify_x_is_bar(reads);
	assert_int_equal(watches_made, 2);
	assert_int_equal(unwatches, 1);
	classify_x_is_bar(reads);

	/* changed, and the kernel will not watch it: read again */
	watch_page[5]++;
	watch_err = ESTALE;
	classify_x_is_bar(++reads);
	assert_int_equal(watches_made, 3);

	/* the kernel sees another BAR there: the read decides */
	watch_err = 0;
	watch_other_bar = true;
	classify_x_is_bar(++reads);
	assert_int_equal(watches_made, 4);
	assert_int_equal(unwatches, 3);

	/* the right BAR again: watched, no read; a flush ends the watch */
	watch_other_bar = false;
	classify_x_is_bar(reads);
	assert_int_equal(watches_made, 5);
	p2pmr_classify_flush();
	assert_int_equal(unwatches, 4);

	p2pmr_set_ops(NULL);
	p2pmr_set_dev_path(NULL);
}

/* BAR unmapped, host memory mapped at its address: no flush needed. */
static void test_bar_replaced_by_host(void **state)
{
	struct p2pmr_mem_info info;

	(void)state;
	assert_int_equal(p2pmr_classify((void *)(X + 0x1000), 4096, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);

	set_maps(maps_bar_replaced);
	assert_int_equal(p2pmr_classify((void *)(X + 0x1000), 4096, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	/* and it stays host memory, from the cache */
	assert_int_equal(p2pmr_classify((void *)(X + 0x1000), 4096, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	/* the BAR that is still mapped is still found */
	assert_int_equal(p2pmr_classify((void *)Y, 4096, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_int_equal(info.bar, 0);
	/* and the one that went with it is not */
	assert_int_equal(p2pmr_classify((void *)Y2, 4096, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
}

/*
 * A BAR mapped by the application itself after the cache was built: a
 * miss is answered from the cache (that is what keeps host memory cheap)
 * until p2pmr_classify_flush(), or a fresh classification (what
 * p2pmr_reg_mr() does when host registration fails with EFAULT).
 */
static void test_bar_mapped_later(void **state)
{
	struct p2pmr_mem_info info;
	uint64_t reads, ticket;

	(void)state;
	set_maps(maps_no_bars);
	assert_int_equal(p2pmr_classify((void *)X, 4096, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	reads = p2pmr_cache_read_count();

	set_maps(maps_with_bars);
	assert_int_equal(p2pmr_classify((void *)X, 4096, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	assert_int_equal(p2pmr_cache_read_count(), reads);

	/* a fresh classification sees it, without a flush */
	ticket = p2pmr_cache_ticket();
	assert_int_equal(p2pmr_classify_fresh((void *)X, 4096, &info, ticket),
			 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_int_equal(p2pmr_cache_read_count(), reads + 1);
	/* a second one for the same ticket shares that read */
	assert_int_equal(p2pmr_classify_fresh((void *)X, 4096, &info, ticket),
			 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_int_equal(p2pmr_cache_read_count(), reads + 1);

	/* and after a flush, so does the cached path */
	set_maps(maps_no_bars);
	assert_int_equal(p2pmr_classify((void *)X, 4096, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	set_maps(maps_with_bars);
	p2pmr_classify_flush();
	assert_int_equal(p2pmr_classify((void *)X, 4096, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_int_equal(info.bar_offset, 0);
}

static void test_flush_is_lazy(void **state)
{
	struct p2pmr_mem_info info;
	uint64_t reads;
	int i;

	(void)state;
	assert_int_equal(p2pmr_classify((void *)HEAP, 1, &info,
					sizeof(info)), 0);
	reads = p2pmr_cache_read_count();
	/* flushes cost nothing until the next classification */
	for (i = 0; i < 100; i++)
		p2pmr_classify_flush();
	assert_int_equal(p2pmr_cache_read_count(), reads);
	assert_int_equal(p2pmr_classify((void *)HEAP, 1, &info,
					sizeof(info)), 0);
	assert_int_equal(p2pmr_classify((void *)HEAP, 1, &info,
					sizeof(info)), 0);
	assert_int_equal(p2pmr_cache_read_count(), reads + 1);
}

static void test_read_error(void **state)
{
	struct p2pmr_mem_info info;

	(void)state;
	maps_error = EACCES;
	assert_int_equal(p2pmr_classify((void *)HEAP, 1, &info,
					sizeof(info)), EACCES);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	/* nothing is remembered from a failed read: the next one works */
	maps_error = 0;
	assert_int_equal(p2pmr_classify((void *)X, 1, &info, sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);

	/* a failed check of a hit is an error, not a guess */
	maps_error = ENOMEM;
	assert_int_equal(p2pmr_classify((void *)X, 1, &info,
					sizeof(info)), ENOMEM);
	/* host memory is still answered from the cache */
	assert_int_equal(p2pmr_classify((void *)HEAP, 1, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
}

/* The real /proc/self/maps: this process has no BAR mappings. */
static void test_real_proc_maps(void **state)
{
	struct p2pmr_mem_info info;
	static int data;
	int stack;

	(void)state;
	p2pmr_cache_set_source(NULL, NULL);
	assert_int_equal(p2pmr_classify(&data, sizeof(data), &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	assert_int_equal(p2pmr_classify(&stack, sizeof(stack), &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	assert_int_equal(p2pmr_cache_read_count(), 1);
	p2pmr_cache_set_source(test_source, NULL);
}

/*
 * Concurrency: readers never see a torn table while mappings change and
 * the cache is rebuilt under them.
 */
#define THREADS		4
#define ROUNDS		300

static int stop_readers;
static unsigned long bad_answers, answers;

static void *reader(void *arg)
{
	struct p2pmr_mem_info info;
	unsigned long n = 0;

	(void)arg;
	while (!__atomic_load_n(&stop_readers, __ATOMIC_ACQUIRE)) {
		int err = p2pmr_classify((void *)(HEAP + 64), 64, &info,
					 sizeof(info));

		if (err || info.type != P2PMR_MEM_HOST)
			__atomic_add_fetch(&bad_answers, 1, __ATOMIC_RELAXED);
		err = p2pmr_classify((void *)(X + 0x2000), 64, &info,
				     sizeof(info));
		/* either the BAR, exactly, or host memory */
		if (err || (info.type == P2PMR_MEM_BAR &&
			    (info.bar_offset != 0x2000 || info.bar != 2 ||
			     strcmp(info.pci_addr, DEV1))))
			__atomic_add_fetch(&bad_answers, 1, __ATOMIC_RELAXED);
		n++;
	}
	__atomic_add_fetch(&answers, n, __ATOMIC_RELAXED);
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	pthread_t t[THREADS];
	int i;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader, NULL), 0);
	for (i = 0; i < ROUNDS; i++) {
		set_maps(i & 1 ? maps_no_bars : maps_with_bars);
		p2pmr_classify_flush();
		usleep(100);
	}
	__atomic_store_n(&stop_readers, 1, __ATOMIC_RELEASE);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(bad_answers, 0);
	assert_true(answers > 0);
}

/*
 * A thread cancelled while it reads /proc/self/maps (a cancellation
 * point) under the cache lock must not leave the lock held: the next
 * classification of another thread would wait for ever.
 */
static int cancel_pipe[2];

static int blocking_source(void *arg, char **buf, size_t *cap, size_t *len)
{
	char c;

	(void)arg;
	/* read() is a cancellation point, as the read of the maps file is */
	if (read(cancel_pipe[0], &c, 1) != 1)
		return EIO;
	return fake_maps_copy(maps_no_bars, buf, cap, len);
}

static void *classify_once(void *arg)
{
	struct p2pmr_mem_info info;

	(void)arg;
	p2pmr_classify((void *)HEAP, 1, &info, sizeof(info));
	return NULL;
}

static void test_cancelled_reader(void **state)
{
	struct p2pmr_mem_info info;
	pthread_t t;

	(void)state;
	assert_int_equal(pipe(cancel_pipe), 0);
	p2pmr_cache_set_source(blocking_source, NULL);
	assert_int_equal(pthread_create(&t, NULL, classify_once, NULL), 0);
	usleep(100000);		/* let it block inside the source */
	assert_int_equal(pthread_cancel(t), 0);
	usleep(100000);
	/* let the read return: cancellation acts once the lock is dropped */
	assert_int_equal(write(cancel_pipe[1], "xx", 2), 2);
	assert_int_equal(pthread_join(t, NULL), 0);

	alarm(10);		/* a lock left held hangs here: SIGALRM */
	p2pmr_classify_flush();
	assert_int_equal(p2pmr_classify((void *)HEAP, 1, &info, sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	alarm(0);
	close(cancel_pipe[0]);
	close(cancel_pipe[1]);
	p2pmr_cache_set_source(test_source, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_lines),
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_parse_dmabuf),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test_setup(test_bar_hit, reset),
		cmocka_unit_test_setup(test_dmabuf_hit, reset),
		cmocka_unit_test_setup(test_host_miss, reset),
		cmocka_unit_test_setup(test_partial_overlap, reset),
		cmocka_unit_test_setup(test_info_len, reset),
		cmocka_unit_test_setup(test_bad_arguments, reset),
		cmocka_unit_test_setup(test_host_is_cached, reset),
		cmocka_unit_test_setup(test_bar_hit_is_checked, reset),
		cmocka_unit_test_setup(test_bar_hit_watched, reset),
		cmocka_unit_test_setup(test_bar_replaced_by_host, reset),
		cmocka_unit_test_setup(test_bar_mapped_later, reset),
		cmocka_unit_test_setup(test_flush_is_lazy, reset),
		cmocka_unit_test_setup(test_read_error, reset),
		cmocka_unit_test_setup(test_real_proc_maps, reset),
		cmocka_unit_test_setup(test_concurrent_readers, reset),
		cmocka_unit_test_setup(test_cancelled_reader, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
