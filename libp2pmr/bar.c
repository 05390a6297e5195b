// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Whole-BAR mappings through the sysfs resource files.
 *
 * The mapping is registered with the classification cache before
 * p2pmr_bar_open() returns and removed before p2pmr_bar_close() unmaps
 * it, so classifying it never needs /proc/self/maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2pmr_internal.h"

struct p2pmr_bar {
	void *addr;
	size_t length;		/* the BAR's */
	size_t map_length;	/* whole pages */
	int fd;
	unsigned int num;
	bool wc;
	char pci_addr[P2PMR_PCI_ADDR_MAX];
};

/* Open resource<bar>[_wc] of @devdir; -1 with errno set on failure. */
static int open_resource(const char *devdir, unsigned int bar, bool wc)
{
	char path[PATH_MAX];
	int n;

	n = snprintf(path, sizeof(path), "%s/resource%u%s", devdir, bar,
		     wc ? "_wc" : "");
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_RDWR | O_CLOEXEC);
}

/*
 * The resource file to map: resource<bar>_wc where it exists, unless
 * P2PMR_BAR_UC; *@wc tells which.  Return: the fd, or -1 with errno set.
 */
static int open_bar_file(const char *devdir, const char *name,
			 unsigned int bar, int flags, bool *wc)
{
	int fd = -1, err;

	*wc = false;
	if (!(flags & P2PMR_BAR_UC)) {
		fd = open_resource(devdir, bar, true);
		*wc = fd >= 0;
	}
	if (fd < 0 && (flags & P2PMR_BAR_UC || errno == ENOENT))
		fd = open_resource(devdir, bar, false);
	if (fd >= 0)
		return fd;

	err = errno;
	if (err == ENOENT)
		p2pmr_err("bar_open: %s has no resource file for BAR %u", name,
			  bar);
	else
		p2pmr_err("bar_open: cannot open BAR %u of %s: %s%s", bar, name,
			  strerror(err),
			  err == EACCES || err == EPERM ?
			  " (the sysfs resource files are root's)" : "");
	errno = err;
	return -1;
}

struct p2pmr_bar *p2pmr_bar_open(const char *pci_addr, unsigned int bar,
				 int flags)
{
	struct p2pmr_bar_map map = {};
	struct p2pmr_pci_addr pci;
	uint64_t start, end, res_flags;
	char devdir[PATH_MAX], name[P2PMR_PCI_ADDR_MAX];
	struct p2pmr_bar *b;
	struct stat st;
	long page = p2pmr_page_size();
	bool wc;
	int fd, err;

	if (flags & ~P2PMR_BAR_UC) {
		p2pmr_err("bar_open: unknown flags %#x", flags);
		err = EINVAL;
		goto err;
	}
	if (p2pmr_pci_addr_parse(pci_addr, &pci)) {
		p2pmr_err("bar_open: \"%s\" is not a PCI address (dddd:bb:dd.f or bb:dd.f)",
			  pci_addr ? pci_addr : "(null)");
		err = EINVAL;
		goto err;
	}
	p2pmr_pci_addr_format(&pci, name, sizeof(name));
	if (bar >= P2PMR_NUM_BARS) {
		p2pmr_err("bar_open: %s: BAR %u does not exist: BARs are 0 to %u",
			  name, bar, P2PMR_NUM_BARS - 1);
		err = EINVAL;
		goto err;
	}

	snprintf(devdir, sizeof(devdir), "%s/bus/pci/devices/%s",
		 p2pmr_sysfs_root(), name);
	err = p2pmr_read_resource(p2pmr_sysfs_root(), &pci, bar, &start, &end,
				  &res_flags);
	if (err) {
		if (err == ENOENT)
			p2pmr_err("bar_open: no PCI device %s", name);
		else
			p2pmr_err("bar_open: cannot read the resources of %s: %s",
				  name, strerror(err));
		goto err;
	}
	if (res_flags & P2PMR_IORESOURCE_IO) {
		p2pmr_err("bar_open: BAR %u of %s is an I/O-port BAR: only memory BARs can be mapped",
			  bar, name);
		err = EINVAL;
		goto err;
	}
	if (!(res_flags & P2PMR_IORESOURCE_MEM) || end <= start) {
		p2pmr_err("bar_open: %s has no memory BAR %u", name, bar);
		err = ENOENT;
		goto err;
	}

	fd = open_bar_file(devdir, name, bar, flags, &wc);
	if (fd < 0) {
		err = errno;
		goto err;
	}

	b = calloc(1, sizeof(*b));
	if (!b) {
		err = ENOMEM;
		goto err_close;
	}
	b->fd = fd;
	b->num = bar;
	b->wc = wc;
	memcpy(b->pci_addr, name, sizeof(name));
	/* the file's size is the BAR's; sysfs maps whole pages of it */
	if (fstat(fd, &st) || st.st_size <= 0)
		st.st_size = end - start + 1;
	b->length = st.st_size;
	b->map_length = (b->length + page - 1) & ~(size_t)(page - 1);

	b->addr = mmap(NULL, b->map_length, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);
	if (b->addr == MAP_FAILED) {
		err = errno;
		p2pmr_err("bar_open: cannot map BAR %u of %s: %s%s", bar, name,
			  strerror(err),
			  err == EINVAL ? " (is the range claimed by a driver?)" :
			  err == EPERM ? " (kernel lockdown?)" : "");
		goto err_free;
	}

	map.start = (uintptr_t)b->addr;
	map.end = map.start + b->map_length;
	map.domain = pci.domain;
	map.bus = pci.bus;
	map.devfn = pci.devfn;
	map.bar = bar;
	map.flags = P2PMR_MEM_SHARED | P2PMR_MEM_WRITABLE |
		    (wc ? P2PMR_MEM_WC : 0) |
		    (res_flags & P2PMR_IORESOURCE_PREFETCH ?
		     P2PMR_MEM_PREFETCHABLE : 0);
	err = p2pmr_cache_add_bar(&map);
	if (err)
		goto err_unmap;

	p2pmr_dbg("mapped BAR %u of %s (%zu bytes%s) at %p", bar, name,
		  b->length, wc ? ", write-combining" : "", b->addr);
	return b;

err_unmap:
	munmap(b->addr, b->map_length);
err_free:
	free(b);
err_close:
	close(fd);
err:
	errno = err;
	return NULL;
}

int p2pmr_bar_close(struct p2pmr_bar *bar)
{
	int err = 0;

	if (!bar)
		return 0;
	p2pmr_cache_del_bar((uintptr_t)bar->addr,
			    (uintptr_t)bar->addr + bar->map_length);
	p2pmr_export_cache_drop((uintptr_t)bar->addr,
				(uintptr_t)bar->addr + bar->map_length);
	if (munmap(bar->addr, bar->map_length))
		err = errno;
	close(bar->fd);
	free(bar);
	return err;
}

void *p2pmr_bar_addr(const struct p2pmr_bar *bar)
{
	return bar->addr;
}

size_t p2pmr_bar_length(const struct p2pmr_bar *bar)
{
	return bar->length;
}

const char *p2pmr_bar_pci_addr(const struct p2pmr_bar *bar)
{
	return bar->pci_addr;
}

unsigned int p2pmr_bar_num(const struct p2pmr_bar *bar)
{
	return bar->num;
}

bool p2pmr_bar_is_wc(const struct p2pmr_bar *bar)
{
	return bar->wc;
}

int p2pmr_bar_fd(const struct p2pmr_bar *bar)
{
	return bar->fd;
}
