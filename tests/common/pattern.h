/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Deterministic test pattern shared by every writer and checker in the
 * testbed (guest tools, host tools, kernel test modules).  A byte depends
 * only on the seed and its absolute offset inside the BAR, so a range
 * written through one path (a dma-buf mmap, an RDMA WRITE) can be checked
 * through another (the host file behind the ivshmem BAR) with no shared
 * state but the seed.
 */
#ifndef P2PMR_TEST_PATTERN_H
#define P2PMR_TEST_PATTERN_H

#ifdef __KERNEL__
#include <linux/types.h>	/* the kernel's uint8_t, uint32_t, uint64_t */
#else
#include <stdint.h>
#endif

static inline uint8_t p2pmr_pattern_byte(uint32_t seed, uint64_t offset)
{
	/* splitmix64 finaliser: neighbouring offsets differ in every bit. */
	uint64_t z = offset + (uint64_t)seed * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (uint8_t)z;
}

#endif /* P2PMR_TEST_PATTERN_H */
