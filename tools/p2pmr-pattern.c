// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmr-pattern: write or verify the testbed pattern in a file through a
 * shared mapping.  The same tool serves the host (the file behind an
 * ivshmem BAR) and the guest (a sysfs resourceN file, a dma-buf), so a
 * range written on one side is checked on the other by independent code.
 *
 *   p2pmr-pattern fill  FILE OFFSET LENGTH SEED
 *   p2pmr-pattern check FILE OFFSET LENGTH SEED
 *   p2pmr-pattern zero  FILE OFFSET LENGTH
 *   p2pmr-pattern check-zero FILE OFFSET LENGTH
 *
 * Numbers take C prefixes (0x...).  OFFSET is where the range starts in
 * FILE; the pattern is indexed by that same offset, so BAR offset and
 * file offset name the same bytes.  Accesses are 8 bytes wide where
 * aligned, as a device register file expects.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pattern.h"
#include "pattern_io.h"

static int parse_u64(const char *s, const char *what, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-') {
		fprintf(stderr, "p2pmr-pattern: %s '%s' is not a number\n",
			what, s);
		return -1;
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: p2pmr-pattern fill|check FILE OFFSET LENGTH SEED\n"
		"       p2pmr-pattern zero|check-zero FILE OFFSET LENGTH\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t offset, length, seed = 0, map_off, bad_off;
	long page = sysconf(_SC_PAGESIZE);
	const char *op, *path;
	bool zero, writing;
	size_t map_len;
	int fd, ret = 0;
	int64_t bad;
	void *map;

	if (argc < 5)
		return usage();
	op = argv[1];
	path = argv[2];
	if (parse_u64(argv[3], "offset", &offset) ||
	    parse_u64(argv[4], "length", &length))
		return 2;
	zero = !strcmp(op, "zero") || !strcmp(op, "check-zero");
	writing = !strcmp(op, "fill") || !strcmp(op, "zero");
	if (!zero) {
		if (argc != 6 || parse_u64(argv[5], "seed", &seed))
			return usage();
		if (seed > UINT32_MAX) {
			fprintf(stderr, "p2pmr-pattern: seed must fit 32 bits\n");
			return 2;
		}
	} else if (argc != 5) {
		return usage();
	}
	if (strcmp(op, "fill") && strcmp(op, "check") && strcmp(op, "zero") &&
	    strcmp(op, "check-zero"))
		return usage();
	if (length == 0 || offset + length < offset) {
		fprintf(stderr, "p2pmr-pattern: empty or overflowing range\n");
		return 2;
	}

	fd = open(path, writing ? O_RDWR : O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "p2pmr-pattern: open %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	map_off = offset & ~(uint64_t)(page - 1);
	map_len = offset + length - map_off;
	map = mmap(NULL, map_len, writing ? PROT_READ | PROT_WRITE : PROT_READ,
		   MAP_SHARED, fd, (off_t)map_off);
	if (map == MAP_FAILED) {
		fprintf(stderr, "p2pmr-pattern: mmap %s [%#" PRIx64
			", +%#zx): %s\n", path, map_off, map_len,
			strerror(errno));
		close(fd);
		return 1;
	}

	if (!writing) {
		bad = p2pmr_pattern_check((uint8_t *)map + (offset - map_off),
					  offset, length, (uint32_t)seed, zero,
					  &bad_off);
		if (bad) {
			fprintf(stderr, "p2pmr-pattern: %s: %" PRId64
				" of %" PRIu64 " bytes differ, first at offset %#"
				PRIx64 "\n", path, bad, length, bad_off);
			ret = 1;
		}
	} else {
		p2pmr_pattern_fill((uint8_t *)map + (offset - map_off), offset,
				   length, (uint32_t)seed, zero);
		if (msync(map, map_len, MS_SYNC) && errno != EINVAL &&
		    errno != ENOMEM) {
			fprintf(stderr, "p2pmr-pattern: msync: %s\n",
				strerror(errno));
			ret = 1;
		}
	}
	munmap(map, map_len);
	close(fd);
	return ret;
}
