/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * The rule of libp2pmr's extensible structs (p2pmr.h, "Extensible
 * structs"), checked on one call that fills one:
 *
 * - a length below the first release's is EINVAL and nothing is written;
 * - the first release's length gets exactly the first release's bytes of
 *   the answer and nothing past them is written (an older caller's view);
 * - a length beyond the library's struct (a caller built against a later
 *   header) gets the library's whole answer and zeros after it, with
 *   comp_mask 0: no field after the first release was filled in.
 *
 * Include after <cmocka.h> and <p2pmr/p2pmr.h>.
 */
#ifndef P2PMR_TEST_EXT_STRUCT_H
#define P2PMR_TEST_EXT_STRUCT_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Room a later release might add. */
#define EXT_GROWTH	64
#define EXT_CANARY	0xa5

/*
 * Fills @buf with the answer for @len bytes; returns 0 or a positive
 * errno.  Called once per length, each time with the same inputs.
 */
typedef int (*ext_call_fn)(void *buf, size_t len, void *arg);

static inline void ext_assert_canary(const unsigned char *p, size_t from,
				     size_t to, const char *what)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != EXT_CANARY)
			fail_msg("%s: byte %zu written (0x%02x)", what, i, p[i]);
}

/*
 * @size: sizeof the struct, @len_v1: its P2PMR_*_LEN_V1, @comp_mask_off:
 * offsetof its comp_mask.  @ref receives the answer to a call with @size.
 */
static inline void ext_check_lengths(ext_call_fn call, void *arg,
				     size_t size, size_t len_v1,
				     size_t comp_mask_off, void *ref)
{
	size_t cap = size + EXT_GROWTH;
	unsigned char *buf = malloc(cap);
	uint64_t mask;

	assert_non_null(buf);
	/* the reference: the caller's struct is exactly the library's */
	memset(ref, EXT_CANARY, size);
	assert_int_equal(call(ref, size, arg), 0);
	memcpy(&mask, (char *)ref + comp_mask_off, sizeof(mask));
	assert_int_equal(mask, 0);
	/* padding after the last field is zero, never left as it was */
	for (size_t i = len_v1; i < size; i++)
		if (((unsigned char *)ref)[i])
			fail_msg("padding byte %zu: 0x%02x", i,
				 ((unsigned char *)ref)[i]);

	/* shorter than the first release: refused, untouched */
	memset(buf, EXT_CANARY, cap);
	assert_int_equal(call(buf, len_v1 - 1, arg), EINVAL);
	ext_assert_canary(buf, 0, cap, "len_v1 - 1");
	assert_int_equal(call(buf, 0, arg), EINVAL);
	ext_assert_canary(buf, 0, cap, "length 0");

	/* an older caller: its bytes, nothing past them */
	memset(buf, EXT_CANARY, cap);
	assert_int_equal(call(buf, len_v1, arg), 0);
	assert_memory_equal(buf, ref, len_v1);
	ext_assert_canary(buf, len_v1, cap, "len_v1");

	/* a later caller: the whole answer, then zeros to its length */
	memset(buf, EXT_CANARY, cap);
	assert_int_equal(call(buf, cap, arg), 0);
	assert_memory_equal(buf, ref, size);
	for (size_t i = size; i < cap; i++)
		if (buf[i])
			fail_msg("byte %zu past the library's struct: 0x%02x",
				 i, buf[i]);
	free(buf);
}

#endif /* P2PMR_TEST_EXT_STRUCT_H */
