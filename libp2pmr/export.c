// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * dma-buf export of BAR ranges through /dev/p2pmr.
 *
 * /dev/p2pmr is opened once, on first use, and kept for the life of the
 * process: it grants nothing by itself, and opening it per call would put
 * an open() and a close() on every BAR registration.  A failed open is not
 * remembered, so loading the module later is enough.
 *
 * Every ioctl struct carries its own size (the uapi's extensible format):
 * the library passes sizeof() of the struct it was built with.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "p2pmr_internal.h"

#define P2PMR_DEV_PATH	"/dev/" P2PMR_DEVICE_NAME

static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
static int dev_fd = -1;		/* atomic: set once, under dev_lock */
static const char *dev_path = P2PMR_DEV_PATH;

/*
 * A new fd of the device node, or -1 with errno.  @quiet: the caller only
 * asks (the classification checking what it already knows), so a missing
 * module is an answer, not an error worth a log line.  Caller holds
 * dev_lock.
 */
static int dev_open_locked(bool quiet)
{
	/* ioctls need no write access; the node is 0666 anyway */
	int fd = open(dev_path, O_RDONLY | O_CLOEXEC), err = errno;

	if (fd < 0)
		p2pmr_log(quiet ? P2PMR_LOG_DEBUG : P2PMR_LOG_ERR,
			  "cannot open %s: %s%s", dev_path, strerror(err),
			  err == ENOENT ?
			  " (is the p2pmr module loaded?)" : "");
	errno = err;
	return fd;
}

/* The fd of /dev/p2pmr, opened on first use; @quiet as above. */
static int dev_fd_get(bool quiet)
{
	int fd = __atomic_load_n(&dev_fd, __ATOMIC_ACQUIRE);
	int err = 0, cancel_state;

	if (fd >= 0)
		return fd;

	/* open() is a cancellation point; the lock must not stay held */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	pthread_mutex_lock(&dev_lock);
	fd = dev_fd;
	if (fd < 0) {
		fd = dev_open_locked(quiet);
		if (fd >= 0)
			__atomic_store_n(&dev_fd, fd, __ATOMIC_RELEASE);
		else
			err = errno;
	}
	pthread_mutex_unlock(&dev_lock);
	pthread_setcancelstate(cancel_state, NULL);
	if (fd < 0)
		errno = err;
	return fd;
}

/**
 * p2pmr_dev_fd() - the fd of /dev/p2pmr
 *
 * Return: the fd, or -1 with errno set (logged).
 */
int p2pmr_dev_fd(void)
{
	return dev_fd_get(false);
}

int p2pmr_dev_open(void)
{
	int fd, err;

	pthread_mutex_lock(&dev_lock);
	fd = dev_open_locked(true);
	err = errno;
	pthread_mutex_unlock(&dev_lock);
	errno = err;
	return fd;
}

void p2pmr_set_dev_path(const char *path)
{
	p2pmr_watch_reset();
	pthread_mutex_lock(&dev_lock);
	if (dev_fd >= 0)
		close(dev_fd);
	__atomic_store_n(&dev_fd, -1, __ATOMIC_RELEASE);
	dev_path = path ? path : P2PMR_DEV_PATH;
	pthread_mutex_unlock(&dev_lock);
}

void p2pmr_dev_fork_lock(void)
{
	pthread_mutex_lock(&dev_lock);
}

void p2pmr_dev_fork_unlock(void)
{
	pthread_mutex_unlock(&dev_lock);
}

/* What an export errno means, per the uapi's vocabulary. */
static const char *export_hint(int err, bool by_va)
{
	switch (err) {
	case ENOTTY:
		return "the p2pmr module does not know this ioctl (too old?)";
	case EINVAL:
		return by_va ?
		       "the range is not inside one sysfs resource mapping, or lies outside the BAR" :
		       "the fd is not a sysfs resource file, or the range lies outside the BAR";
	case EACCES:
		return by_va ?
		       "the mapping must be MAP_SHARED and writable" :
		       "the resource file must be open for writing (O_RDWR)";
	case EFAULT:
		return "no mapping there, or it was revoked";
	case EOPNOTSUPP:
		return "the BAR is an I/O-port BAR";
	case EPERM:
		return "kernel lockdown forbids access to PCI BARs";
	case EBUSY:
		return "a driver claims the range (CONFIG_IO_STRICT_DEVMEM)";
	case ENODEV:
		return "the device is being removed, or the BAR is not assigned";
	case EBADF:
		return "bad file descriptor";
	default:
		return strerror(err);
	}
}

static unsigned int open_flags(int flags)
{
	if (flags & P2PMR_EXPORT_RDONLY)
		return O_RDONLY | O_CLOEXEC;
	if (flags & P2PMR_EXPORT_WRONLY)
		return O_WRONLY | O_CLOEXEC;
	return O_RDWR | O_CLOEXEC;
}

/*
 * 0 if the flags and the range may be passed on, else the errno.  @what
 * names the call, @field the start of the range.
 */
static int check_export(const char *what, const char *field, int flags,
			uint64_t start, uint64_t length)
{
	uint64_t page = p2pmr_page_size(), end;

	if (flags & ~(P2PMR_EXPORT_RDONLY | P2PMR_EXPORT_WRONLY) ||
	    (flags & P2PMR_EXPORT_RDONLY && flags & P2PMR_EXPORT_WRONLY)) {
		p2pmr_err("%s: bad flags %#x", what, flags);
		return EINVAL;
	}
	if (!length) {
		p2pmr_err("%s: zero length", what);
		return EINVAL;
	}
	if (__builtin_add_overflow(start, length, &end)) {
		p2pmr_err("%s: %s 0x%" PRIx64 " + length 0x%" PRIx64 " overflows",
			  what, field, start, length);
		return EOVERFLOW;
	}
	if ((start | length) & (page - 1)) {
		p2pmr_err("%s: %s 0x%" PRIx64 " and length 0x%" PRIx64 " must be multiples of the page size (%" PRIu64 ")",
			  what, field, start, length, page);
		return EINVAL;
	}
	return 0;
}

int p2pmr_export_fd(int resource_fd, uint64_t offset, uint64_t length,
		    int flags)
{
	struct p2pmr_export_fd cmd;
	int fd, err;

	if (resource_fd < 0) {
		p2pmr_err("export_fd: bad resource fd %d", resource_fd);
		errno = EBADF;
		return -1;
	}
	err = check_export("export_fd", "offset", flags, offset, length);
	if (err) {
		errno = err;
		return -1;
	}
	fd = p2pmr_dev_fd();
	if (fd < 0)
		return -1;

	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.resource_fd = resource_fd;
	cmd.open_flags = open_flags(flags);
	cmd.offset = offset;
	cmd.length = length;
	if (p2pmr_ops->ioctl(fd, P2PMR_IOCTL_EXPORT_FD, &cmd)) {
		err = errno;
		p2pmr_err("export of BAR range 0x%" PRIx64 "+0x%" PRIx64 " of fd %d failed: %s (%s)",
			  offset, length, resource_fd, strerror(err),
			  export_hint(err, false));
		errno = err;
		return -1;
	}
	p2pmr_dbg("exported BAR %u range 0x%" PRIx64 "+0x%" PRIx64 " as dma-buf fd %d",
		  cmd.out_bar, offset, length, cmd.out_dmabuf_fd);
	return cmd.out_dmabuf_fd;
}

/*
 * @quiet: the caller is only asking whether the kernel takes the range as
 * a BAR mapping (memory that failed to register as host memory), so a
 * refusal is an answer, not an error worth a log line.
 */
static int export_va(const void *addr, size_t length, int flags,
		     struct p2pmr_mem_info *info_out, size_t info_len,
		     bool quiet)
{
	struct p2pmr_export_va cmd;
	struct p2pmr_mem_info info;
	struct p2pmr_pci_addr pci;
	int fd, err;

	err = check_export("export_va", "address", flags, (uintptr_t)addr,
			   length);
	if (!err && info_out)
		err = p2pmr_check_out("export_va", info_out, info_len,
				      P2PMR_MEM_INFO_LEN_V1);
	if (err) {
		errno = err;
		return -1;
	}
	fd = p2pmr_dev_fd();
	if (fd < 0)
		return -1;

	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.addr = (uintptr_t)addr;
	cmd.length = length;
	cmd.open_flags = open_flags(flags);
	if (p2pmr_ops->ioctl(fd, P2PMR_IOCTL_EXPORT_VA, &cmd)) {
		err = errno;
		p2pmr_log(quiet ? P2PMR_LOG_DEBUG : P2PMR_LOG_ERR,
			  "export of %p+0x%zx failed: %s (%s)", addr, length,
			  strerror(err), export_hint(err, true));
		errno = err;
		return -1;
	}

	pci.domain = cmd.out_pci_domain;
	pci.bus = cmd.out_pci_bus;
	pci.devfn = cmd.out_pci_devfn;
	if (info_out) {
		memset(&info, 0, sizeof(info));
		info.type = P2PMR_MEM_BAR;
		info.flags = P2PMR_MEM_CONTAINED | P2PMR_MEM_SHARED |
			     P2PMR_MEM_WRITABLE;
		if (cmd.out_flags & P2PMR_EXPORT_OUT_WC)
			info.flags |= P2PMR_MEM_WC;
		if (cmd.out_flags & P2PMR_EXPORT_OUT_PREFETCHABLE)
			info.flags |= P2PMR_MEM_PREFETCHABLE;
		info.pci_domain = pci.domain;
		info.pci_bus = pci.bus;
		info.pci_devfn = pci.devfn;
		info.bar = cmd.out_bar;
		info.bar_offset = cmd.out_offset;
		info.map_start = (uintptr_t)addr;
		info.map_length = length;
		p2pmr_pci_addr_format(&pci, info.pci_addr,
				      sizeof(info.pci_addr));
		p2pmr_copy_out(info_out, info_len, &info, sizeof(info));
	}
	p2pmr_dbg("exported %p+0x%zx (BAR %u offset 0x%llx) as dma-buf fd %d",
		  addr, length, cmd.out_bar,
		  (unsigned long long)cmd.out_offset, cmd.out_dmabuf_fd);
	return cmd.out_dmabuf_fd;
}

int p2pmr_export_va(const void *addr, size_t length, int flags,
		    struct p2pmr_mem_info *info_out, size_t info_len)
{
	return export_va(addr, length, flags, info_out, info_len, false);
}

int p2pmr_export_va_probe(const void *addr, size_t length)
{
	return export_va(addr, length, 0, NULL, 0, true);
}

int p2pmr_check_va(const void *addr, size_t length, int dmabuf_fd,
		   struct p2pmr_check_va *out)
{
	int fd = dev_fd_get(true);

	if (fd < 0)
		return errno;
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->addr = (uintptr_t)addr;
	out->length = length;
	out->dmabuf_fd = dmabuf_fd;
	if (p2pmr_ops->ioctl(fd, P2PMR_IOCTL_CHECK_VA, out)) {
		p2pmr_dbg("check of %p+0x%zx against dma-buf fd %d: %s",
			  addr, length, dmabuf_fd, strerror(errno));
		return errno;
	}
	return 0;
}

int p2pmr_va_dmabuf(const void *addr, size_t length, bool read_only,
		    uint64_t *offset)
{
	struct p2pmr_va_dmabuf cmd;
	int fd = dev_fd_get(true), err;

	if (fd < 0)
		return -1;
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.flags = read_only ? P2PMR_VA_DMABUF_READ_ONLY : 0;
	cmd.addr = (uintptr_t)addr;
	cmd.length = length;
	cmd.open_flags = O_CLOEXEC;
	if (p2pmr_ops->ioctl(fd, P2PMR_IOCTL_VA_DMABUF, &cmd)) {
		err = errno;
		/* not a dma-buf mapping, or a module without the ioctl */
		p2pmr_log(err == EINVAL || err == EFAULT || err == ENOTTY ?
			  P2PMR_LOG_DEBUG : P2PMR_LOG_ERR,
			  "dma-buf behind %p+0x%zx: %s%s", addr, length,
			  strerror(err), err == EACCES ?
			  " (map the dma-buf MAP_SHARED, with PROT_WRITE for a writable registration)" :
			  err == ENODEV ? " (the dma-buf was revoked)" : "");
		errno = err;
		return -1;
	}
	*offset = cmd.out_offset;
	p2pmr_dbg("%p+0x%zx maps dma-buf offset 0x%llx (fd %d, %s)", addr,
		  length, (unsigned long long)cmd.out_offset, cmd.out_dmabuf_fd,
		  cmd.out_flags & P2PMR_VA_DMABUF_OUT_P2PMR ?
		  "a p2pmr export" : "another exporter's");
	return cmd.out_dmabuf_fd;
}

bool p2pmr_va_dmabuf_is(const void *addr, size_t length)
{
	uint64_t offset;
	int fd = p2pmr_va_dmabuf(addr, length, true, &offset);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}
