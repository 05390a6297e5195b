// SPDX-License-Identifier: GPL-2.0
/*
 * libp2pmr BAR mappings and dma-buf exports, on a fake sysfs tree.
 *
 * The tree's resource files are plain files, which map like BARs do, so
 * p2pmr_bar_open() runs for real: which file it picks (resource<N>_wc
 * first), what it refuses, and that the mapping is known to
 * p2pmr_classify() without /proc/self/maps.  The export calls are checked
 * for what they refuse before reaching /dev/p2pmr, and for the ioctl they
 * make, against a stand-in for the kernel.
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ext_struct.h"
#include "fake_env.h"
#include "p2pmr_internal.h"

#define DEV		"0000:01:00.0"
#define BAR0_LEN	0x4000
#define BAR2_LEN	0x10000
#define BAR5_LEN	0x100		/* smaller than a page */

#define NO_BAR	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"

static char sysfs[PATH_MAX];
static char devdir[2 * PATH_MAX];

/* /proc/self/maps as the library sees it: nothing of interest */
static const char *const maps_text =
	"55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0          [heap]\n";

static void write_file(const char *name, const char *text)
{
	char path[3 * PATH_MAX];

	assert_true(snprintf(path, sizeof(path), "%s/%s", devdir, name) <
		    (int)sizeof(path));
	fake_write_file(path, text);
}

/* A resource file of @len bytes, each one @fill. */
static void make_resource(const char *name, size_t len, int fill)
{
	char path[3 * PATH_MAX], *buf = malloc(len);
	int fd;

	assert_non_null(buf);
	memset(buf, fill, len);
	assert_true(snprintf(path, sizeof(path), "%s/%s", devdir, name) <
		    (int)sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), len);
	close(fd);
	free(buf);
}

static int read_byte(const char *name, off_t off)
{
	char path[3 * PATH_MAX];
	unsigned char c;
	int fd;

	assert_true(snprintf(path, sizeof(path), "%s/%s", devdir, name) <
		    (int)sizeof(path));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	close(fd);
	return c;
}

static int setup(void **state)
{
	(void)state;
	snprintf(sysfs, sizeof(sysfs), "/tmp/p2pmr-bar-XXXXXX");
	if (!mkdtemp(sysfs))
		return -1;
	snprintf(devdir, sizeof(devdir), "%s/bus/pci/devices/" DEV, sysfs);
	fake_mkdir_p(devdir);
	/*
	 * BAR0: memory, no _wc; BAR1: unassigned; BAR2: prefetchable with
	 * _wc; BAR3: memory whose file is missing; BAR4: I/O ports; BAR5:
	 * 256 bytes.
	 */
	write_file("resource",
		   "0x00000000fe800000 0x00000000fe803fff 0x0000000000040200\n"
		   NO_BAR
		   "0x0000000380000000 0x000000038000ffff 0x000000000014220c\n"
		   "0x00000000fe900000 0x00000000fe900fff 0x0000000000040200\n"
		   "0x000000000000e000 0x000000000000e01f 0x0000000000040101\n"
		   "0x00000000fea00000 0x00000000fea000ff 0x0000000000040200\n");
	make_resource("resource0", BAR0_LEN, 0x00);
	make_resource("resource2", BAR2_LEN, 0x22);
	make_resource("resource2_wc", BAR2_LEN, 0x2c);
	make_resource("resource4", 0x20, 0x44);
	make_resource("resource5", BAR5_LEN, 0x55);
	p2pmr_set_sysfs_root(sysfs);
	p2pmr_cache_set_source(fake_maps_source, (void *)&maps_text);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	p2pmr_cache_set_source(NULL, NULL);
	p2pmr_set_sysfs_root(NULL);
	return fake_rm_rf(sysfs);
}

/*
 * p2pmr_bar_open(): refusals first
 */

static void test_bar_open_refused(void **state)
{
	static const struct {
		const char *addr;
		unsigned int bar;
		int flags;
		int err;
	} rows[] = {
		{ NULL, 0, 0, EINVAL },
		{ "", 0, 0, EINVAL },
		{ "0000:01:00", 0, 0, EINVAL },
		{ DEV " ", 0, 0, EINVAL },
		{ "../" DEV, 0, 0, EINVAL },
		{ DEV, 6, 0, EINVAL },			/* no BAR 6 */
		{ DEV, UINT32_MAX, 0, EINVAL },
		{ DEV, 0, 1 << 1, EINVAL },		/* unknown flag */
		{ DEV, 0, -1, EINVAL },
		{ DEV, 4, 0, EINVAL },			/* I/O ports */
		{ DEV, 4, P2PMR_BAR_UC, EINVAL },
		{ "0000:09:00.0", 0, 0, ENOENT },	/* no device */
		{ "0001:01:00.0", 0, 0, ENOENT },
		{ DEV, 1, 0, ENOENT },			/* not assigned */
		{ DEV, 3, 0, ENOENT },			/* no file */
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		errno = 0;
		if (p2pmr_bar_open(rows[i].addr, rows[i].bar, rows[i].flags))
			fail_msg("row %zu: opened", i);
		if (errno != rows[i].err)
			fail_msg("row %zu (%s BAR %u flags %#x): errno %d, expected %d",
				 i, rows[i].addr ? rows[i].addr : "NULL",
				 rows[i].bar, rows[i].flags, errno,
				 rows[i].err);
	}
}

static void test_bar_open_eacces(void **state)
{
	char path[3 * PATH_MAX];

	(void)state;
	if (!geteuid()) {
		print_message("SKIP: root opens files whatever their mode; run as another user to test EACCES\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/resource0", devdir);
	assert_int_equal(chmod(path, 0), 0);
	errno = 0;
	assert_null(p2pmr_bar_open(DEV, 0, 0));
	assert_int_equal(errno, EACCES);
	assert_int_equal(chmod(path, 0600), 0);
}

/*
 * p2pmr_bar_open(): what it maps
 */

static void test_bar_open_wc(void **state)
{
	struct p2pmr_mem_info info;
	struct p2pmr_bar *bar;
	unsigned char *p;

	(void)state;
	bar = p2pmr_bar_open("01:00.0", 2, 0);
	assert_non_null(bar);
	assert_string_equal(p2pmr_bar_pci_addr(bar), DEV);
	assert_int_equal(p2pmr_bar_num(bar), 2);
	assert_int_equal(p2pmr_bar_length(bar), BAR2_LEN);
	assert_true(p2pmr_bar_is_wc(bar));
	assert_true(p2pmr_bar_fd(bar) >= 0);
	assert_int_equal(fcntl(p2pmr_bar_fd(bar), F_GETFD), FD_CLOEXEC);
	assert_int_equal(fcntl(p2pmr_bar_fd(bar), F_GETFL) & O_ACCMODE,
			 O_RDWR);

	/* it is resource2_wc that is mapped, shared and writable */
	p = p2pmr_bar_addr(bar);
	assert_int_equal(p[0x1234], 0x2c);
	p[0x1234] = 0xab;
	assert_int_equal(msync(p, BAR2_LEN, MS_SYNC), 0);
	assert_int_equal(read_byte("resource2_wc", 0x1234), 0xab);

	/* and classified as BAR 2, from what bar_open told the cache */
	assert_int_equal(p2pmr_classify(p + 0x1000, 0x100, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_string_equal(info.pci_addr, DEV);
	assert_int_equal(info.bar, 2);
	assert_int_equal(info.bar_offset, 0x1000);
	assert_int_equal(info.map_start, (uintptr_t)p);
	assert_int_equal(info.map_length, BAR2_LEN);
	assert_int_equal(info.flags,
			 P2PMR_MEM_WC | P2PMR_MEM_CONTAINED | P2PMR_MEM_SHARED |
			 P2PMR_MEM_WRITABLE | P2PMR_MEM_PREFETCHABLE |
			 P2PMR_MEM_BAR_OPEN);

	assert_int_equal(p2pmr_bar_close(bar), 0);
}

static void test_bar_open_uc(void **state)
{
	struct p2pmr_bar *bar;
	unsigned char *p;

	(void)state;
	bar = p2pmr_bar_open(DEV, 2, P2PMR_BAR_UC);
	assert_non_null(bar);
	assert_false(p2pmr_bar_is_wc(bar));
	p = p2pmr_bar_addr(bar);
	assert_int_equal(p[0], 0x22);
	assert_int_equal(p2pmr_bar_close(bar), 0);

	/* a BAR without resource<N>_wc is mapped uncached */
	bar = p2pmr_bar_open(DEV, 0, 0);
	assert_non_null(bar);
	assert_false(p2pmr_bar_is_wc(bar));
	assert_int_equal(p2pmr_bar_length(bar), BAR0_LEN);
	assert_int_equal(p2pmr_bar_close(bar), 0);

	assert_int_equal(p2pmr_bar_close(NULL), 0);
}

/* A BAR smaller than a page: its length, in a mapping of a whole page. */
static void test_bar_open_small(void **state)
{
	struct p2pmr_mem_info info;
	struct p2pmr_bar *bar;
	unsigned char *p;

	(void)state;
	bar = p2pmr_bar_open(DEV, 5, 0);
	assert_non_null(bar);
	assert_int_equal(p2pmr_bar_length(bar), BAR5_LEN);
	p = p2pmr_bar_addr(bar);
	assert_int_equal(p[BAR5_LEN - 1], 0x55);
	assert_int_equal(p2pmr_classify(p, 1, &info, sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_int_equal(info.map_length, p2pmr_page_size());
	assert_int_equal(p2pmr_bar_close(bar), 0);
}

/*
 * The cache follows p2pmr_bar_open() and p2pmr_bar_close() exactly: the
 * mapping is a BAR without /proc/self/maps saying so (a fake sysfs path
 * is not one it would recognize), hits need no check, and after close the
 * addresses are host memory again.
 */
static void test_bar_open_cache(void **state)
{
	struct p2pmr_mem_info info;
	struct p2pmr_bar *bar, *bar0;
	uint64_t reads;
	void *p;
	int i;

	(void)state;
	p2pmr_cache_reset();
	/* build the cache first, then map */
	assert_int_equal(p2pmr_classify(&info, sizeof(info), &info,
					sizeof(info)), 0);
	assert_int_equal(p2pmr_cache_read_count(), 1);
	bar = p2pmr_bar_open(DEV, 2, 0);
	assert_non_null(bar);
	p = p2pmr_bar_addr(bar);
	for (i = 0; i < 100; i++) {
		assert_int_equal(p2pmr_classify(p, BAR2_LEN, &info,
						sizeof(info)), 0);
		assert_int_equal(info.type, P2PMR_MEM_BAR);
	}
	assert_int_equal(p2pmr_cache_read_count(), 1);

	/* a rebuild keeps it */
	p2pmr_classify_flush();
	assert_int_equal(p2pmr_classify(p, 1, &info, sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_true(info.flags & P2PMR_MEM_BAR_OPEN);
	reads = p2pmr_cache_read_count();
	assert_int_equal(reads, 2);

	/* a second BAR beside it */
	bar0 = p2pmr_bar_open(DEV, 0, 0);
	assert_non_null(bar0);
	assert_int_equal(p2pmr_classify(p2pmr_bar_addr(bar0), 1, &info,
					sizeof(info)), 0);
	assert_int_equal(info.bar, 0);
	assert_int_equal(p2pmr_classify(p, 1, &info, sizeof(info)), 0);
	assert_int_equal(info.bar, 2);

	assert_int_equal(p2pmr_bar_close(bar), 0);
	assert_int_equal(p2pmr_classify(p, 1, &info, sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	assert_int_equal(p2pmr_bar_close(bar0), 0);
	assert_int_equal(p2pmr_cache_read_count(), reads);

	/* opened before the cache exists: the first build includes it */
	p2pmr_cache_reset();
	bar = p2pmr_bar_open(DEV, 2, 0);
	assert_non_null(bar);
	assert_int_equal(p2pmr_classify(p2pmr_bar_addr(bar), 1, &info,
					sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_int_equal(p2pmr_bar_close(bar), 0);
}

/*
 * Exports: what is refused before /dev/p2pmr is opened
 */

static void test_export_refused(void **state)
{
	static const struct {
		int fd;
		uint64_t offset, length;
		int flags, err;
	} rows[] = {
		{ -1, 0, 4096, 0, EBADF },
		{ -5, 0, 4096, 0, EBADF },
		{ 0, 0, 0, 0, EINVAL },
		{ 0, 1, 4096, 0, EINVAL },
		{ 0, 0, 4097, 0, EINVAL },
		{ 0, 4096, 100, 0, EINVAL },
		{ 0, 0, 4096, 1 << 2, EINVAL },
		{ 0, 0, 4096, -1, EINVAL },
		{ 0, 0, 4096, P2PMR_EXPORT_RDONLY | P2PMR_EXPORT_WRONLY,
		  EINVAL },
		{ 0, UINT64_MAX - 4095, 8192, 0, EOVERFLOW },
		{ 0, 4096, UINT64_MAX - 4095, 0, EOVERFLOW },
	};
	size_t i;

	(void)state;
	/* none of them may get as far as the device */
	p2pmr_set_dev_path("/nonexistent/p2pmr");
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		errno = 0;
		assert_int_equal(p2pmr_export_fd(rows[i].fd, rows[i].offset,
						 rows[i].length,
						 rows[i].flags), -1);
		if (errno != rows[i].err)
			fail_msg("export_fd row %zu: errno %d, expected %d", i,
				 errno, rows[i].err);
		if (rows[i].fd < 0)
			continue;
		errno = 0;
		assert_int_equal(p2pmr_export_va((void *)rows[i].offset,
						 rows[i].length, rows[i].flags,
						 NULL, 0), -1);
		if (errno != rows[i].err)
			fail_msg("export_va row %zu: errno %d, expected %d", i,
				 errno, rows[i].err);
	}

	/* valid arguments, no module */
	errno = 0;
	assert_int_equal(p2pmr_export_fd(0, 0, 4096, 0), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(p2pmr_export_va((void *)0x10000, 4096, 0, NULL,
					 0), -1);
	assert_int_equal(errno, ENOENT);
	p2pmr_set_dev_path(NULL);
}

/*
 * Exports: the ioctls, against a stand-in for the p2pmr module
 */

static int dev_fd_seen;

static int kernel_ioctl(int fd, unsigned long request, void *arg)
{
	dev_fd_seen = fd;
	if (request == P2PMR_IOCTL_EXPORT_FD) {
		struct p2pmr_export_fd *cmd = arg;

		check_expected(cmd->size);
		check_expected(cmd->flags);
		check_expected(cmd->resource_fd);
		check_expected(cmd->open_flags);
		check_expected(cmd->offset);
		check_expected(cmd->length);
		assert_int_equal(cmd->__reserved, 0);
		cmd->out_dmabuf_fd = mock_type(int);
		cmd->out_bar = 2;
		cmd->out_flags = P2PMR_EXPORT_OUT_WC;
	} else if (request == P2PMR_IOCTL_EXPORT_VA) {
		struct p2pmr_export_va *cmd = arg;

		check_expected(cmd->size);
		check_expected(cmd->flags);
		check_expected(cmd->addr);
		check_expected(cmd->length);
		check_expected(cmd->open_flags);
		assert_int_equal(cmd->__reserved, 0);
		cmd->out_dmabuf_fd = mock_type(int);
		cmd->out_offset = 0x200000;
		cmd->out_bar = 4;
		cmd->out_flags = P2PMR_EXPORT_OUT_PREFETCHABLE;
		cmd->out_pci_domain = 1;
		cmd->out_pci_bus = 0x81;
		cmd->out_pci_devfn = 0x0a;
	} else {
		fail_msg("unexpected ioctl %#lx", request);
	}
	errno = mock_type(int);
	return errno ? -1 : 0;
}

static struct p2pmr_ops kernel_ops;

static int kernel_setup(void **state)
{
	(void)state;
	kernel_ops = *p2pmr_ops;
	kernel_ops.ioctl = kernel_ioctl;
	p2pmr_set_ops(&kernel_ops);
	/* any node opens; the ioctls go to kernel_ioctl() */
	p2pmr_set_dev_path("/dev/null");
	return 0;
}

static int kernel_teardown(void **state)
{
	(void)state;
	p2pmr_set_ops(NULL);
	p2pmr_set_dev_path(NULL);
	return 0;
}

static void expect_export_fd(int resource_fd, uint64_t offset,
			     uint64_t length, uint32_t open_flags, int ret_fd,
			     int err)
{
	expect_value(kernel_ioctl, cmd->size, sizeof(struct p2pmr_export_fd));
	expect_value(kernel_ioctl, cmd->flags, 0);
	expect_value(kernel_ioctl, cmd->resource_fd, resource_fd);
	expect_value(kernel_ioctl, cmd->open_flags, open_flags);
	expect_value(kernel_ioctl, cmd->offset, offset);
	expect_value(kernel_ioctl, cmd->length, length);
	will_return(kernel_ioctl, ret_fd);
	will_return(kernel_ioctl, err);
}

static void test_export_fd_ioctl(void **state)
{
	(void)state;
	expect_export_fd(7, 0x1000, 0x2000, O_RDWR | O_CLOEXEC, 42, 0);
	assert_int_equal(p2pmr_export_fd(7, 0x1000, 0x2000, 0), 42);
	expect_export_fd(7, 0, 0x1000, O_RDONLY | O_CLOEXEC, 43, 0);
	assert_int_equal(p2pmr_export_fd(7, 0, 0x1000, P2PMR_EXPORT_RDONLY),
			 43);
	expect_export_fd(7, 0, 0x1000, O_WRONLY | O_CLOEXEC, 44, 0);
	assert_int_equal(p2pmr_export_fd(7, 0, 0x1000, P2PMR_EXPORT_WRONLY),
			 44);

	/* the kernel's errno comes back as is */
	expect_export_fd(7, 0, 0x1000, O_RDWR | O_CLOEXEC, -1, EACCES);
	errno = 0;
	assert_int_equal(p2pmr_export_fd(7, 0, 0x1000, 0), -1);
	assert_int_equal(errno, EACCES);
	expect_export_fd(7, 0, 0x1000, O_RDWR | O_CLOEXEC, -1, EOPNOTSUPP);
	errno = 0;
	assert_int_equal(p2pmr_export_fd(7, 0, 0x1000, 0), -1);
	assert_int_equal(errno, EOPNOTSUPP);

	/* /dev/p2pmr was opened once, close-on-exec */
	assert_int_equal(fcntl(dev_fd_seen, F_GETFD), FD_CLOEXEC);
	assert_int_equal(p2pmr_dev_fd(), dev_fd_seen);
}

static void test_export_va_ioctl(void **state)
{
	struct p2pmr_mem_info info;

	(void)state;
	expect_value(kernel_ioctl, cmd->size, sizeof(struct p2pmr_export_va));
	expect_value(kernel_ioctl, cmd->flags, 0);
	expect_value(kernel_ioctl, cmd->addr, 0x7f0000010000);
	expect_value(kernel_ioctl, cmd->length, 0x3000);
	expect_value(kernel_ioctl, cmd->open_flags, O_RDWR | O_CLOEXEC);
	will_return(kernel_ioctl, 50);
	will_return(kernel_ioctl, 0);
	assert_int_equal(p2pmr_export_va((void *)0x7f0000010000, 0x3000, 0,
					 &info, sizeof(info)), 50);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	assert_string_equal(info.pci_addr, "0001:81:01.2");
	assert_int_equal(info.pci_domain, 1);
	assert_int_equal(info.pci_bus, 0x81);
	assert_int_equal(info.pci_devfn, 0x0a);
	assert_int_equal(info.bar, 4);
	assert_int_equal(info.bar_offset, 0x200000);
	assert_int_equal(info.map_start, 0x7f0000010000);
	assert_int_equal(info.map_length, 0x3000);
	assert_int_equal(info.flags, P2PMR_MEM_CONTAINED | P2PMR_MEM_SHARED |
				     P2PMR_MEM_WRITABLE |
				     P2PMR_MEM_PREFETCHABLE);

	expect_value(kernel_ioctl, cmd->size, sizeof(struct p2pmr_export_va));
	expect_value(kernel_ioctl, cmd->flags, 0);
	expect_value(kernel_ioctl, cmd->addr, 0x7f0000010000);
	expect_value(kernel_ioctl, cmd->length, 0x1000);
	expect_value(kernel_ioctl, cmd->open_flags, O_RDONLY | O_CLOEXEC);
	will_return(kernel_ioctl, -1);
	will_return(kernel_ioctl, EFAULT);
	errno = 0;
	assert_int_equal(p2pmr_export_va((void *)0x7f0000010000, 0x1000,
					 P2PMR_EXPORT_RDONLY, NULL, 0), -1);
	assert_int_equal(errno, EFAULT);
}

static int export_va_len(void *buf, size_t len, void *arg)
{
	int fd;

	(void)arg;
	/* a refused length must not reach the kernel: no ioctl queued */
	if (len >= P2PMR_MEM_INFO_LEN_V1) {
		expect_value(kernel_ioctl, cmd->size,
			     sizeof(struct p2pmr_export_va));
		expect_value(kernel_ioctl, cmd->flags, 0);
		expect_value(kernel_ioctl, cmd->addr, 0x7f0000010000);
		expect_value(kernel_ioctl, cmd->length, 0x3000);
		expect_value(kernel_ioctl, cmd->open_flags,
			     O_RDWR | O_CLOEXEC);
		will_return(kernel_ioctl, 50);
		will_return(kernel_ioctl, 0);
	}
	errno = 0;
	fd = p2pmr_export_va((void *)0x7f0000010000, 0x3000, 0, buf, len);
	if (fd < 0)
		return errno;
	assert_int_equal(fd, 50);
	return 0;
}

/* The struct's length, as p2pmr.h's rule says (ext_struct.h). */
static void test_export_va_info_len(void **state)
{
	struct p2pmr_mem_info ref;

	(void)state;
	ext_check_lengths(export_va_len, NULL, sizeof(ref),
			  P2PMR_MEM_INFO_LEN_V1,
			  offsetof(struct p2pmr_mem_info, comp_mask), &ref);
	assert_int_equal(ref.type, P2PMR_MEM_BAR);
	assert_string_equal(ref.pci_addr, "0001:81:01.2");
	assert_int_equal(ref.bar_offset, 0x200000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bar_open_refused),
		cmocka_unit_test(test_bar_open_eacces),
		cmocka_unit_test(test_bar_open_wc),
		cmocka_unit_test(test_bar_open_uc),
		cmocka_unit_test(test_bar_open_small),
		cmocka_unit_test(test_bar_open_cache),
		cmocka_unit_test(test_export_refused),
		cmocka_unit_test_setup_teardown(test_export_fd_ioctl,
						kernel_setup, kernel_teardown),
		cmocka_unit_test_setup_teardown(test_export_va_ioctl,
						kernel_setup, kernel_teardown),
		cmocka_unit_test_setup_teardown(test_export_va_info_len,
						kernel_setup, kernel_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
