// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Parsing /proc/self/maps for mappings of sysfs PCI resource files, and
 * of dma-bufs.
 *
 * A line is
 *
 *   start-end perms offset major:minor inode [pathname]
 *
 * with the pathname (which may hold spaces, and ends in " (deleted)" once
 * the file is gone) after a run of blanks.  A BAR mapping's pathname is
 * the file's real sysfs path, whatever name was opened:
 *
 *   /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/resource2_wc
 *
 * and its offset is not the offset in the file: pci_mmap_resource_range()
 * adds the BAR's CPU address to vm_pgoff, so the offset shown is the CPU
 * address of the mapping's first byte.  p2pmr_maps_resolve() turns it back
 * into an offset within the BAR with the device's sysfs "resource" file.
 *
 * A dma-buf mapping's pathname is the name the dma-buf filesystem gives
 * its files, "/dmabuf:" and the buffer's name (dmabuffs_dname()), and its
 * offset is the offset within the dma-buf.  A regular file of that name
 * would pass for one: the kernel has the last word when it is registered
 * (P2PMR_IOCTL_VA_DMABUF).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "p2pmr_internal.h"

#define SYSFS_DEVICES	"/sys/devices/"
#define DELETED		" (deleted)"
#define RESOURCE	"resource"
#define DMABUF_PATH	"/dmabuf:"

static bool hex64(const char **p, const char *end, uint64_t *val)
{
	const char *start = *p;
	uint64_t v = 0;

	while (*p < end) {
		char c = **p;
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			break;
		if (v >> 60)
			return false;
		v = v << 4 | d;
		(*p)++;
	}
	*val = v;
	return *p > start;
}

static bool skip_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

static bool skip_field(const char **p, const char *end)
{
	const char *start = *p;

	while (*p < end && **p != ' ')
		(*p)++;
	return *p > start;
}

/* "resource<N>" or "resource<N>_wc", N a BAR number; *wc tells which. */
static bool resource_name(const char *name, size_t len, unsigned int *bar,
			  bool *wc)
{
	size_t rlen = strlen(RESOURCE);

	if (len < rlen + 1 || memcmp(name, RESOURCE, rlen))
		return false;
	name += rlen;
	len -= rlen;
	if (name[0] < '0' || name[0] >= '0' + P2PMR_NUM_BARS)
		return false;
	*bar = name[0] - '0';
	if (len == 1) {
		*wc = false;
		return true;
	}
	*wc = true;
	return len == 4 && !memcmp(name + 1, "_wc", 3);
}

/**
 * p2pmr_maps_parse_line() - recognize a BAR mapping
 * @line: one line of /proc/self/maps, without its newline
 * @len: its length
 * @map: the mapping, when it is one; bar_offset is left unresolved
 *
 * Return: true if the line is a mapping of a sysfs resource file, or of
 * a dma-buf (P2PMR_MAP_DMABUF).
 */
bool p2pmr_maps_parse_line(const char *line, size_t len,
			   struct p2pmr_bar_map *map)
{
	const char *p = line, *end = line + len, *path, *base, *dir;
	uint64_t start, stop, offset, inode;
	struct p2pmr_pci_addr pci;
	unsigned int bar;
	uint32_t flags = 0;
	bool wc;

	if (!hex64(&p, end, &start) || !skip_char(&p, end, '-') ||
	    !hex64(&p, end, &stop) || !skip_char(&p, end, ' '))
		return false;
	if (end - p < 5 || p[4] != ' ')
		return false;
	if (p[1] == 'w')
		flags |= P2PMR_MEM_WRITABLE;
	if (p[3] == 's')
		flags |= P2PMR_MEM_SHARED;
	p += 5;
	if (!hex64(&p, end, &offset) || !skip_char(&p, end, ' '))
		return false;
	/* major:minor and inode (decimal) */
	if (!skip_field(&p, end) || !skip_char(&p, end, ' '))
		return false;
	inode = strtoull(p, NULL, 10);
	if (!skip_field(&p, end))
		return false;
	while (p < end && *p == ' ')
		p++;
	path = p;

	if ((size_t)(end - path) >= strlen(DMABUF_PATH) &&
	    !memcmp(path, DMABUF_PATH, strlen(DMABUF_PATH)) && stop > start) {
		memset(map, 0, sizeof(*map));
		map->start = start;
		map->end = stop;
		map->file_offset = offset;
		map->inode = inode;
		map->flags = flags | P2PMR_MAP_DMABUF;
		return true;
	}

	if ((size_t)(end - path) < strlen(SYSFS_DEVICES) ||
	    memcmp(path, SYSFS_DEVICES, strlen(SYSFS_DEVICES)))
		return false;
	if ((size_t)(end - path) > strlen(DELETED) &&
	    !memcmp(end - strlen(DELETED), DELETED, strlen(DELETED))) {
		flags |= P2PMR_MEM_DELETED;
		end -= strlen(DELETED);
	}

	base = memrchr(path, '/', end - path);
	if (!base || !resource_name(base + 1, end - base - 1, &bar, &wc))
		return false;
	dir = memrchr(path, '/', base - path);
	if (!dir || !p2pmr_pci_addr_parse_n(dir + 1, base - dir - 1, &pci))
		return false;
	if (stop <= start)
		return false;

	memset(map, 0, sizeof(*map));
	map->start = start;
	map->end = stop;
	map->file_offset = offset;
	map->domain = pci.domain;
	map->bus = pci.bus;
	map->devfn = pci.devfn;
	map->bar = bar;
	map->inode = inode;
	map->flags = flags | (wc ? P2PMR_MEM_WC : 0);
	return true;
}

/**
 * p2pmr_maps_parse() - every BAR mapping in the text of /proc/self/maps
 * @text: the text
 * @len: its length
 * @maps: a malloc()ed array of the mappings, in the order of the text
 *	(ascending addresses), NULL if there are none; the caller frees it
 * @count: the number of mappings
 *
 * Return: 0 or ENOMEM.
 */
/*
 * Whether @next continues @prev: madvise() and mprotect() split one
 * mapping into several lines of /proc/self/maps (libibverbs' fork
 * protection does, on every ibv_reg_mr() range, MADV_DONTFORK), which
 * still map the BAR contiguously; the kernel exports across them too.
 */
static bool maps_continue(const struct p2pmr_bar_map *prev,
			  const struct p2pmr_bar_map *next)
{
	return prev->end == next->start &&
	       next->file_offset ==
			prev->file_offset + (prev->end - prev->start) &&
	       prev->domain == next->domain && prev->bus == next->bus &&
	       prev->devfn == next->devfn && prev->bar == next->bar &&
	       prev->inode == next->inode && prev->flags == next->flags;
}

int p2pmr_maps_parse(const char *text, size_t len,
		     struct p2pmr_bar_map **maps, size_t *count)
{
	const char *p = text, *end = text + len;
	struct p2pmr_bar_map *arr = NULL, map;
	size_t n = 0, cap = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *eol = nl ? nl : end;

		if (p2pmr_maps_parse_line(p, eol - p, &map)) {
			if (n && maps_continue(&arr[n - 1], &map)) {
				arr[n - 1].end = map.end;
				p = eol + 1;
				continue;
			}
			if (n == cap) {
				struct p2pmr_bar_map *tmp;

				cap = cap ? 2 * cap : 8;
				tmp = realloc(arr, cap * sizeof(*arr));
				if (!tmp) {
					free(arr);
					return ENOMEM;
				}
				arr = tmp;
			}
			arr[n++] = map;
		}
		p = eol + 1;
	}
	*maps = arr;
	*count = n;
	return 0;
}

/**
 * p2pmr_maps_resolve() - the BAR offset of a mapping
 * @sysfs_root: the sysfs tree
 * @map: a mapping from p2pmr_maps_parse(); bar_offset and the
 *	P2PMR_MEM_PREFETCHABLE and P2PMR_MEM_OFFSET_UNKNOWN flags are set
 *
 * The offset /proc/self/maps shows is the BAR's address plus the offset
 * within the BAR on the kernels p2pmr supports; a plain offset within the
 * BAR is accepted too.  The two cannot be confused: a BAR is aligned to
 * its size, so its address is 0 or at least its length.
 */
void p2pmr_maps_resolve(const char *sysfs_root, struct p2pmr_bar_map *map)
{
	struct p2pmr_pci_addr pci = {
		.domain = map->domain, .bus = map->bus, .devfn = map->devfn,
	};
	uint64_t start, end, flags, len;

	map->bar_offset = 0;
	if (map->flags & P2PMR_MAP_DMABUF)
		return;
	if (p2pmr_read_resource(sysfs_root, &pci, map->bar, &start, &end,
				&flags) || end < start) {
		map->flags |= P2PMR_MEM_OFFSET_UNKNOWN;
		return;
	}
	if (flags & P2PMR_IORESOURCE_PREFETCH)
		map->flags |= P2PMR_MEM_PREFETCHABLE;

	len = end - start + 1;
	if (start && map->file_offset >= start &&
	    map->file_offset - start < len)
		map->bar_offset = map->file_offset - start;
	else if (map->file_offset < len)
		map->bar_offset = map->file_offset;
	else
		map->flags |= P2PMR_MEM_OFFSET_UNKNOWN;
}
