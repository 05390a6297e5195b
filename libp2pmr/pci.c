// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * PCI addresses and the few sysfs files every part of the library reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p2pmr_internal.h"

#define P2PMR_SYSFS_DEFAULT	"/sys"

static const char *sysfs_root = P2PMR_SYSFS_DEFAULT;

const char *p2pmr_sysfs_root(void)
{
	return sysfs_root;
}

void p2pmr_set_sysfs_root(const char *root)
{
	sysfs_root = root ? root : P2PMR_SYSFS_DEFAULT;
}

long p2pmr_page_size(void)
{
	static long page_size;
	long size = __atomic_load_n(&page_size, __ATOMIC_RELAXED);

	if (!size) {
		size = sysconf(_SC_PAGESIZE);
		__atomic_store_n(&page_size, size, __ATOMIC_RELAXED);
	}
	return size;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 to @max hex digits at *@p, advancing it; false if there are none. */
static bool hex_field(const char **p, const char *end, unsigned int max,
		      uint32_t *val)
{
	unsigned int n = 0;
	int d;

	*val = 0;
	while (*p < end && (d = hex_digit(**p)) >= 0) {
		if (++n > max)
			return false;
		*val = *val << 4 | d;
		(*p)++;
	}
	return n > 0;
}

/**
 * p2pmr_pci_addr_parse_n() - parse a PCI address of known length
 * @str: "dddd:bb:dd.f" (domain of 1 to 8 hex digits) or "bb:dd.f"
 * @len: length of @str, which need not be NUL-terminated
 * @addr: the address
 *
 * Hex digits of either case; no signs, prefixes or white space.
 *
 * Return: true if @str is exactly one PCI address.
 */
bool p2pmr_pci_addr_parse_n(const char *str, size_t len,
			    struct p2pmr_pci_addr *addr)
{
	const char *p = str, *end = str + len;
	uint32_t f[3], dev, fn;
	unsigned int colons = 0, i;

	for (i = 0; i < len; i++)
		colons += str[i] == ':';
	if (colons < 1 || colons > 2)
		return false;

	/* domain (optional) and bus */
	for (i = 0; i < colons; i++) {
		unsigned int max = (colons == 2 && i == 0) ? 8 : 2;

		if (!hex_field(&p, end, max, &f[i]) || p == end || *p != ':')
			return false;
		p++;
	}
	if (!hex_field(&p, end, 2, &dev) || dev > 0x1f)
		return false;
	if (p == end || *p++ != '.')
		return false;
	if (!hex_field(&p, end, 1, &fn) || fn > 7 || p != end)
		return false;

	addr->domain = colons == 2 ? f[0] : 0;
	addr->bus = colons == 2 ? f[1] : f[0];
	addr->devfn = dev << 3 | fn;
	return true;
}

/**
 * p2pmr_pci_addr_parse() - parse a PCI address
 * @str: as for p2pmr_pci_addr_parse_n(), NUL-terminated
 * @addr: the address
 *
 * Return: 0, or EINVAL for NULL or a malformed string.
 */
int p2pmr_pci_addr_parse(const char *str, struct p2pmr_pci_addr *addr)
{
	if (!str || !p2pmr_pci_addr_parse_n(str, strlen(str), addr))
		return EINVAL;
	return 0;
}

/* The kernel's spelling, pci_name(): "%04x:%02x:%02x.%d". */
/* @digits lowercase hex digits of @v at @p; returns the end */
static char *hex_digits(char *p, uint32_t v, unsigned int digits)
{
	while (digits--)
		*p++ = "0123456789abcdef"[(v >> (4 * digits)) & 0xf];
	return p;
}

/*
 * As snprintf("%04x:%02x:%02x.%u") would, by hand: every classification
 * of a BAR address formats one, and under emulation snprintf() cost more
 * than the rest of the classification.
 */
void p2pmr_pci_addr_format(const struct p2pmr_pci_addr *addr, char *buf,
			   size_t len)
{
	char text[P2PMR_PCI_ADDR_MAX], *p = text;
	unsigned int domain_digits = 4;
	size_t n;

	while (domain_digits < 8 && addr->domain >> (4 * domain_digits))
		domain_digits++;
	p = hex_digits(p, addr->domain, domain_digits);
	*p++ = ':';
	p = hex_digits(p, addr->bus, 2);
	*p++ = ':';
	p = hex_digits(p, addr->devfn >> 3, 2);
	*p++ = '.';
	*p++ = '0' + (addr->devfn & 7U);
	if (!len)
		return;
	n = p - text < (ptrdiff_t)len ? (size_t)(p - text) : len - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
}

bool p2pmr_pci_addr_equal(const struct p2pmr_pci_addr *a,
			  const struct p2pmr_pci_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus &&
	       a->devfn == b->devfn;
}

/**
 * p2pmr_read_file() - read a small text file
 * @path: the file
 * @buf: its contents, NUL-terminated, without a trailing newline
 * @len: size of @buf
 *
 * Return: 0 or a positive errno.
 */
int p2pmr_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		err = errno;
		n = 0;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return err;
}

/**
 * p2pmr_read_resource() - one line of a device's sysfs "resource" file
 * @root: the sysfs tree
 * @addr: the device
 * @bar: the BAR
 * @start: CPU address of the BAR's first byte
 * @end: CPU address of its last byte
 * @flags: IORESOURCE_* flags
 *
 * Return: 0; ENOENT if there is no such device; EIO if the file is
 * malformed; an errno of reading it.
 */
int p2pmr_read_resource(const char *root, const struct p2pmr_pci_addr *addr,
			unsigned int bar, uint64_t *start, uint64_t *end,
			uint64_t *flags)
{
	char name[P2PMR_PCI_ADDR_MAX], path[4096], text[1024];
	const char *line;
	unsigned int i;
	int err;

	p2pmr_pci_addr_format(addr, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/resource", root,
		 name);
	err = p2pmr_read_file(path, text, sizeof(text));
	if (err)
		return err;

	line = text;
	for (i = 0; i < bar && line; i++) {
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (!line || sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64, start,
			    end, flags) != 3)
		return EIO;
	return 0;
}
