// SPDX-License-Identifier: GPL-2.0
/*
 * libp2pmr basics: PCI address parsing, the names of the uapi enums, the
 * version, and logging (the application's log function, P2PMR_DEBUG on
 * stderr, errno left alone).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pmr_internal.h"

/*
 * PCI addresses: every refused string is a row with its errno.
 */

static const struct {
	const char *str;
	int err;
	uint32_t domain;
	uint8_t bus, devfn;
	const char *canonical;
} pci_rows[] = {
#define BAD(s)	{ .str = (s), .err = EINVAL }
	{ "0000:01:00.0", 0, 0, 0x01, 0x00, "0000:01:00.0" },
	{ "01:00.0", 0, 0, 0x01, 0x00, "0000:01:00.0" },
	{ "0000:00:1f.7", 0, 0, 0x00, 0xff, "0000:00:1f.7" },
	{ "0001:e1:02.3", 0, 1, 0xe1, 0x13, "0001:e1:02.3" },
	{ "0001:E1:02.3", 0, 1, 0xe1, 0x13, "0001:e1:02.3" },
	{ "10000:e0:1f.0", 0, 0x10000, 0xe0, 0xf8, "10000:e0:1f.0" },
	{ "ffffffff:ff:1f.7", 0, 0xffffffff, 0xff, 0xff, "ffffffff:ff:1f.7" },
	{ "0:1:0.0", 0, 0, 0x01, 0x00, "0000:01:00.0" },
	{ "1:2.3", 0, 0, 0x01, 0x13, "0000:01:02.3" },
	BAD(NULL),
	BAD(""),
	BAD("0000"),
	BAD("0000:01"),
	BAD("0000:01:00"),
	BAD("0000:01:00."),
	BAD("0000:01:00.8"),		/* function 0-7 */
	BAD("0000:01:20.0"),		/* device 0-1f */
	BAD("0000:100:00.0"),		/* bus 0-ff */
	BAD("100000000:00:00.0"),	/* domain: 8 digits */
	BAD("0000:01:00.0 "),
	BAD(" 0000:01:00.0"),
	BAD("0000:01:00.0\n"),
	BAD("0000:01:00.00"),
	BAD("0000:01:00:0"),
	BAD("0000:01:00.0.0"),
	BAD("0:0000:01:00.0"),
	BAD("0x00:01:00.0"),
	BAD("+0000:01:00.0"),
	BAD("-1:01:00.0"),
	BAD("0000:g1:00.0"),
	BAD("0000::00.0"),
	BAD(":01:00.0"),
	BAD("0000:01:.0"),
	BAD("pci0000:00"),
	BAD("../0000:01:00.0"),
	BAD("0000:01:00.0/"),
};

#undef BAD

static void test_pci_addr_parse(void **state)
{
	char buf[P2PMR_PCI_ADDR_MAX];
	struct p2pmr_pci_addr a;
	size_t i;
	int err;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(pci_rows); i++) {
		memset(&a, 0xa5, sizeof(a));
		err = p2pmr_pci_addr_parse(pci_rows[i].str, &a);
		if (err != pci_rows[i].err)
			fail_msg("\"%s\": %d, expected %d", pci_rows[i].str,
				 err, pci_rows[i].err);
		if (err)
			continue;
		assert_int_equal(a.domain, pci_rows[i].domain);
		assert_int_equal(a.bus, pci_rows[i].bus);
		assert_int_equal(a.devfn, pci_rows[i].devfn);
		p2pmr_pci_addr_format(&a, buf, sizeof(buf));
		assert_string_equal(buf, pci_rows[i].canonical);
	}
}

static void test_pci_addr_parse_n(void **state)
{
	static const char path[] = "pci0000:00/0000:00:01.0/0000:01:00.0/x";
	struct p2pmr_pci_addr a;

	(void)state;
	/* a component of a path, not NUL-terminated */
	assert_true(p2pmr_pci_addr_parse_n(path + 11, 12, &a));
	assert_int_equal(a.devfn, 0x08);
	assert_true(p2pmr_pci_addr_parse_n(path + 24, 12, &a));
	assert_int_equal(a.bus, 1);
	assert_false(p2pmr_pci_addr_parse_n(path + 24, 13, &a));
	assert_false(p2pmr_pci_addr_parse_n(path + 24, 11, &a));
	assert_false(p2pmr_pci_addr_parse_n(path, 10, &a));
	assert_false(p2pmr_pci_addr_parse_n(path, 0, &a));
}

/*
 * Names and version
 */

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(p2pmr_path_str(P2PMR_PATH_REFUSED), "refused");
	assert_string_equal(p2pmr_path_str(P2PMR_PATH_BUS_ADDR), "bus_addr");
	assert_string_equal(p2pmr_path_str(P2PMR_PATH_HOST_BRIDGE),
			    "host_bridge");
	assert_string_equal(p2pmr_path_str((enum p2pmr_p2p_path)3), "unknown");
	assert_string_equal(p2pmr_path_str((enum p2pmr_p2p_path)-1),
			    "unknown");

	assert_string_equal(p2pmr_reason_str(P2PMR_REASON_SAME_DEVICE),
			    "same_device");
	assert_string_equal(p2pmr_reason_str(P2PMR_REASON_COMMON_UPSTREAM),
			    "common_upstream");
	assert_string_equal(p2pmr_reason_str(P2PMR_REASON_ACS_REDIRECT),
			    "acs_redirect");
	assert_string_equal(p2pmr_reason_str(P2PMR_REASON_NO_COMMON_UPSTREAM),
			    "no_common_upstream");
	assert_string_equal(
		p2pmr_reason_str(P2PMR_REASON_DIFFERENT_HOST_BRIDGE),
		"different_host_bridge");
	assert_string_equal(p2pmr_reason_str(P2PMR_REASON_DIFFERENT_DOMAIN),
			    "different_domain");
	assert_string_equal(p2pmr_reason_str(P2PMR_REASON_NOT_PCI),
			    "not_pci");
	assert_string_equal(p2pmr_reason_str(P2PMR_REASON_P2PDMA_REFUSED),
			    "p2pdma_refused");
	assert_string_equal(p2pmr_reason_str((enum p2pmr_p2p_reason)0),
			    "unknown");
	assert_string_equal(p2pmr_reason_str((enum p2pmr_p2p_reason)9),
			    "unknown");
}

static void test_version(void **state)
{
	unsigned int major, minor, patch;

	(void)state;
	assert_int_equal(sscanf(p2pmr_version(), "%u.%u.%u", &major, &minor,
				&patch), 3);
	/* one version: the library's is its header's, the project's */
	assert_string_equal(p2pmr_version(), P2PMR_VERSION_STRING);
	assert_int_equal(major, P2PMR_VERSION_MAJOR);
	assert_int_equal(minor, P2PMR_VERSION_MINOR);
	assert_int_equal(patch, P2PMR_VERSION_PATCH);
}

/*
 * The first release's layout of the extensible structs, frozen: a field
 * moved, resized or inserted before the end fails here.  The offsets are
 * those of every Linux ABI (uint64_t is 4-aligned on i386, but nothing
 * here depends on that before the tail).
 */
#define FIELD(type, f, off, sz) do {					\
	assert_int_equal(offsetof(struct type, f), off);		\
	assert_int_equal(sizeof(((struct type *)0)->f), sz);		\
} while (0)

static void test_struct_layout(void **state)
{
	(void)state;
	FIELD(p2pmr_mem_info, comp_mask, 0, 8);
	FIELD(p2pmr_mem_info, type, 8, 4);
	FIELD(p2pmr_mem_info, flags, 12, 4);
	FIELD(p2pmr_mem_info, pci_domain, 16, 4);
	FIELD(p2pmr_mem_info, pci_bus, 20, 1);
	FIELD(p2pmr_mem_info, pci_devfn, 21, 1);
	FIELD(p2pmr_mem_info, bar, 22, 1);
	FIELD(p2pmr_mem_info, reserved, 23, 1);
	FIELD(p2pmr_mem_info, bar_offset, 24, 8);
	FIELD(p2pmr_mem_info, map_start, 32, 8);
	FIELD(p2pmr_mem_info, map_length, 40, 8);
	FIELD(p2pmr_mem_info, pci_addr, 48, 20);
	assert_int_equal(P2PMR_MEM_INFO_LEN_V1, 68);

	FIELD(p2pmr_p2p_info, comp_mask, 0, 8);
	FIELD(p2pmr_p2p_info, path, 8, 4);
	FIELD(p2pmr_p2p_info, reason, 12, 4);
	FIELD(p2pmr_p2p_info, distance, 16, 4);
	FIELD(p2pmr_p2p_info, flags, 20, 4);
	FIELD(p2pmr_p2p_info, rdma_pci_addr, 24, 20);
	FIELD(p2pmr_p2p_info, bar_pci_addr, 44, 20);
	FIELD(p2pmr_p2p_info, reason_str, 64, 512);
	assert_int_equal(P2PMR_P2P_INFO_LEN_V1, 576);
}
#undef FIELD

/*
 * Logging
 */

static int log_calls, log_level;
static char log_msg[512];

static void log_fn(int level, const char *msg, void *arg)
{
	assert_ptr_equal(arg, &log_calls);
	log_calls++;
	log_level = level;
	snprintf(log_msg, sizeof(log_msg), "%s", msg);
	errno = 0;	/* a careless log function must not change errno */
}

static void test_log_fn(void **state)
{
	(void)state;
	log_calls = 0;
	p2pmr_set_log_fn(log_fn, &log_calls);

	errno = EXDEV;
	p2pmr_dbg("debug %d", 3);
	assert_int_equal(errno, EXDEV);
	assert_int_equal(log_calls, 1);
	assert_int_equal(log_level, P2PMR_LOG_DEBUG);
	assert_string_equal(log_msg, "debug 3");

	/* an error path: errno is the call's, the message says why */
	errno = 0;
	assert_null(p2pmr_bar_open("not-a-bdf", 0, 0));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(log_calls, 2);
	assert_int_equal(log_level, P2PMR_LOG_ERR);
	assert_non_null(strstr(log_msg, "not-a-bdf"));

	/* long messages are cut, not overflowed */
	p2pmr_err("%0600d", 1);
	assert_int_equal(strlen(log_msg), 511);

	p2pmr_set_log_fn(NULL, NULL);
	log_calls = 0;
	p2pmr_err("to stderr or nowhere");
	assert_int_equal(log_calls, 0);
}

/* Run @fn with stderr captured into @buf. */
static void capture_stderr(void (*fn)(void), char *buf, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = 0;
	fclose(tmp);
}

static void log_all_levels(void)
{
	p2pmr_err("an error");
	p2pmr_info("some info");
	p2pmr_dbg("a detail");
}

static void test_log_env(void **state)
{
	static const struct {
		const char *value;
		bool err, info, dbg;
	} rows[] = {
		{ NULL, false, false, false },
		{ "", false, false, false },
		{ "0", false, false, false },
		{ "1", true, false, false },
		{ "yes", true, false, false },
		{ "2", true, true, true },
		{ "3", true, true, true },
	};
	char out[1024];
	size_t i;

	(void)state;
	p2pmr_set_log_fn(NULL, NULL);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		if (rows[i].value)
			setenv("P2PMR_DEBUG", rows[i].value, 1);
		else
			unsetenv("P2PMR_DEBUG");
		p2pmr_log_reset();
		capture_stderr(log_all_levels, out, sizeof(out));
		if (!!strstr(out, "p2pmr: an error\n") != rows[i].err ||
		    !!strstr(out, "p2pmr: some info\n") != rows[i].info ||
		    !!strstr(out, "p2pmr: a detail\n") != rows[i].dbg)
			fail_msg("P2PMR_DEBUG=%s printed \"%s\"",
				 rows[i].value ? rows[i].value : "(unset)",
				 out);
	}
	unsetenv("P2PMR_DEBUG");
	p2pmr_log_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_addr_parse),
		cmocka_unit_test(test_pci_addr_parse_n),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_struct_layout),
		cmocka_unit_test(test_log_fn),
		cmocka_unit_test(test_log_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
