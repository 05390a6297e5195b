// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the testbed pattern: every VM test that proves data
 * arrived relies on fill and check agreeing with each other and on check
 * catching a single wrong byte anywhere, aligned or not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pattern_io.h"

#define BUF_LEN 4096

static uint8_t *buf;

static int setup(void **state)
{
	(void)state;
	buf = aligned_alloc(64, BUF_LEN + 64);
	return buf ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(buf);
	return 0;
}

static void test_fill_then_check_is_clean(void **state)
{
	uint64_t first_bad = ~0ULL;

	(void)state;
	p2pmr_pattern_fill(buf, 0x10000, BUF_LEN, 7, false);
	assert_int_equal(p2pmr_pattern_check(buf, 0x10000, BUF_LEN, 7, false,
					     &first_bad), 0);
	assert_int_equal(first_bad, ~0ULL);
}

static void test_word_matches_bytes(void **state)
{
	uint64_t off;

	(void)state;
	/* The 8-byte fast path and the byte path must write the same bytes. */
	p2pmr_pattern_fill(buf, 0, 64, 3, false);
	for (off = 0; off < 64; off++)
		assert_int_equal(buf[off], p2pmr_pattern_byte(3, off));
}

static void test_unaligned_edges(void **state)
{
	uint64_t first_bad;
	uint64_t i;

	(void)state;
	/* Start 3 bytes into a word, end 5 bytes short of one. */
	memset(buf, 0xa5, BUF_LEN);
	p2pmr_pattern_fill(buf + 3, 0x3003, 100, 11, false);
	assert_int_equal(buf[2], 0xa5);
	assert_int_equal(buf[103], 0xa5);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf[3 + i], p2pmr_pattern_byte(11, 0x3003 + i));
	assert_int_equal(p2pmr_pattern_check(buf + 3, 0x3003, 100, 11, false,
					     &first_bad), 0);
}

static void test_single_wrong_byte_found(void **state)
{
	static const uint64_t where[] = { 0, 1, 7, 8, 1000, BUF_LEN - 1 };
	uint64_t first_bad;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(where) / sizeof(where[0]); k++) {
		p2pmr_pattern_fill(buf, 0x2000, BUF_LEN, 5, false);
		buf[where[k]] ^= 0x01;
		assert_int_equal(p2pmr_pattern_check(buf, 0x2000, BUF_LEN, 5, false,
						     &first_bad), 1);
		assert_int_equal(first_bad, 0x2000 + where[k]);
	}
}

static void test_seed_and_offset_matter(void **state)
{
	uint64_t first_bad;
	int64_t bad;

	(void)state;
	p2pmr_pattern_fill(buf, 0, BUF_LEN, 1, false);
	/* Another seed or a shifted offset must look like corruption. */
	bad = p2pmr_pattern_check(buf, 0, BUF_LEN, 2, false, &first_bad);
	assert_true(bad > BUF_LEN * 9 / 10);
	bad = p2pmr_pattern_check(buf, 8, BUF_LEN, 1, false, &first_bad);
	assert_true(bad > BUF_LEN * 9 / 10);
}

static void test_zero_fill(void **state)
{
	uint64_t first_bad;
	uint64_t i;

	(void)state;
	memset(buf, 0xff, BUF_LEN);
	p2pmr_pattern_fill(buf + 1, 1, BUF_LEN - 2, 0, true);
	assert_int_equal(buf[0], 0xff);
	assert_int_equal(buf[BUF_LEN - 1], 0xff);
	for (i = 1; i < BUF_LEN - 1; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(p2pmr_pattern_check(buf + 1, 1, BUF_LEN - 2, 0, true,
					     &first_bad), 0);
	assert_int_equal(p2pmr_pattern_check(buf, 0, BUF_LEN, 0, true,
					     &first_bad), 2);
	assert_int_equal(first_bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill_then_check_is_clean),
		cmocka_unit_test(test_word_matches_bytes),
		cmocka_unit_test(test_unaligned_edges),
		cmocka_unit_test(test_single_wrong_byte_found),
		cmocka_unit_test(test_seed_and_offset_matter),
		cmocka_unit_test(test_zero_fill),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
