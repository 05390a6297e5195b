/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writing and checking the test pattern in memory that may be a device
 * BAR: 8-byte accesses where aligned, bytes at the edges, and never a
 * libc memcpy/memcmp, whose vector loads an emulated register file may
 * not take.
 */
#ifndef P2PMR_TEST_PATTERN_IO_H
#define P2PMR_TEST_PATTERN_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "pattern.h"

static inline uint64_t p2pmr_pattern_word(uint32_t seed, uint64_t offset)
{
	uint64_t w = 0;
	int i;

	/* Little-endian: byte i of the word lands at offset + i. */
	for (i = 7; i >= 0; i--)
		w = (w << 8) | p2pmr_pattern_byte(seed, offset + i);
	return w;
}

/* Fill [mem, mem + len), whose first byte is at BAR offset @offset. */
static inline void p2pmr_pattern_fill(uint8_t *mem, uint64_t offset,
				      uint64_t len, uint32_t seed, bool zero)
{
	uint64_t i = 0;

	for (; i < len && ((uintptr_t)(mem + i) & 7); i++)
		*(volatile uint8_t *)(mem + i) =
			zero ? 0 : p2pmr_pattern_byte(seed, offset + i);
	for (; i + 8 <= len; i += 8)
		*(volatile uint64_t *)(mem + i) =
			zero ? 0 : p2pmr_pattern_word(seed, offset + i);
	for (; i < len; i++)
		*(volatile uint8_t *)(mem + i) =
			zero ? 0 : p2pmr_pattern_byte(seed, offset + i);
}

/*
 * Count the bytes of [mem, mem + len) that differ from the pattern (or
 * from zero) and report the BAR offset of the first one in *first_bad.
 */
static inline int64_t p2pmr_pattern_check(const uint8_t *mem, uint64_t offset,
					  uint64_t len, uint32_t seed,
					  bool zero, uint64_t *first_bad)
{
	int64_t bad = 0;
	uint64_t i = 0;

	while (i < len) {
		uint64_t n = 1, j;

		if (!((uintptr_t)(mem + i) & 7) && i + 8 <= len) {
			uint64_t got = *(const volatile uint64_t *)(mem + i);

			n = 8;
			if (got == (zero ? 0 :
				    p2pmr_pattern_word(seed, offset + i))) {
				i += n;
				continue;
			}
		}
		for (j = i; j < i + n; j++) {
			uint8_t got = *(const volatile uint8_t *)(mem + j);

			if (got != (zero ? 0 :
				    p2pmr_pattern_byte(seed, offset + j))) {
				if (!bad)
					*first_bad = offset + j;
				bad++;
			}
		}
		i += n;
	}
	return bad;
}

#endif /* P2PMR_TEST_PATTERN_IO_H */
