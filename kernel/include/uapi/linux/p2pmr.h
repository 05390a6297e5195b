/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * p2pmr: export ranges of PCI memory BARs as dma-bufs, so that RDMA NICs
 * and other dma-buf importers can reach device memory peer to peer.
 *
 * This header is the whole ABI of /dev/p2pmr.  The kernel module and every
 * userspace user include this same file.
 *
 * General ioctl format
 * ====================
 *
 * Every ioctl takes a pointer to a struct that begins with
 *
 *	__u32 size;	sizeof the struct as the caller knows it
 *	__u32 flags;	per-ioctl modifiers, 0 unless documented
 *
 * The ioctl numbers do not encode the struct size (they are _IO()); the
 * size field does.  The kernel reads min(size, sizeof(kernel struct))
 * bytes.  If the caller's struct is longer than the kernel's, the extra
 * bytes must be zero (else E2BIG); if it is shorter than the first
 * released version of the struct, the call fails with EINVAL.  New fields
 * are only ever appended; an old binary keeps working on a new kernel and
 * a new binary can tell from E2BIG that the kernel predates a field it
 * set.  Fields named __reserved must be zero.  Fields named out_* are
 * written by the kernel; their input value is ignored.  On success the
 * kernel writes back min(size, sizeof(kernel struct)) bytes.
 *
 * Only fixed-width types are used and 64-bit fields are 8-byte aligned, so
 * 32-bit and 64-bit processes share one layout.  Addresses and lengths are
 * in bytes.
 *
 * Authority
 * =========
 *
 * /dev/p2pmr itself grants nothing and may be opened by anyone.  Exporting
 * a BAR range requires proof that the caller could already map it: an fd of
 * the sysfs file /sys/bus/pci/devices/<bdf>/resource<N> or resource<N>_wc
 * opened for writing (those files are root-only), or a writable MAP_SHARED
 * mapping of such a file in the caller's own address space.  The kernel
 * also refuses what a sysfs mmap() would refuse: kernel lockdown (EPERM)
 * and ranges claimed by a driver under CONFIG_IO_STRICT_DEVMEM (EBUSY).
 *
 * Errors
 * ======
 *
 * One vocabulary for all ioctls (errno values as seen by userspace):
 *
 * ENOTTY	unknown ioctl number
 * EFAULT	the argument struct cannot be read or written; for
 *		EXPORT_VA: no mapping contains addr, or its page table
 *		entries are gone (the kernel revoked the sysfs mapping)
 * EINVAL	size below the first released struct size; unknown flags;
 *		nonzero __reserved; bad open_flags; zero length; offset,
 *		address or length not a multiple of the page size; range not
 *		inside the BAR; fd is not a PCI sysfs resource file; for
 *		EXPORT_VA: the mapping is not a sysfs resource mapping or the
 *		range does not lie inside one single mapping (the pieces
 *		madvise() or mprotect() split a mapping into count as one
 *		while they still map the file contiguously and alike)
 * E2BIG	size larger than the kernel's struct and the extra bytes
 *		are not all zero, or size larger than the page size
 * EOVERFLOW	offset + length (or addr + length) overflows 64 bits, or
 *		length does not fit the kernel's size_t
 * EOPNOTSUPP	the BAR is an I/O-port BAR
 * EBADF	resource_fd / provider_fd is not an open file descriptor
 * EACCES	resource fd not opened for writing; for EXPORT_VA: the
 *		mapping is private (MAP_PRIVATE) or not writable
 * EPERM	kernel lockdown forbids access to PCI BARs
 * EBUSY	the range is claimed by a driver (CONFIG_IO_STRICT_DEVMEM)
 * ENODEV	the device is being removed, its resource file no longer
 *		belongs to a present device, or the BAR is not assigned;
 *		for QUERY_P2P: no PCI device at the importer address
 * ENOMEM	out of memory
 * EMFILE	no free file descriptor for the dma-buf
 * EINTR	EXPORT_VA, CHECK_VA: a fatal signal arrived while waiting
 *		for the address space (the caller is being killed; nothing
 *		was exported)
 * ESTALE	CHECK_VA: the range maps something the dma-buf does not
 *		cover
 * EIO		the device does not decode memory (Memory Space Enable is
 *		off in its PCI command register)
 * ENOSPC	WATCH_VA: every slot of the fd's watch page is in use
 * EXDEV	WATCH_VA, UNWATCH: the fd's watches belong to another
 *		process's address space (open /dev/p2pmr anew after fork())
 *
 * An export holds its device out of runtime suspend; one that cannot be
 * resumed fails the export with the errno of the resume (logged).
 *
 * The dma-buf returned by the export ioctls fails these operations:
 *
 * EREMOTEIO	attach: no usable peer-to-peer path between the BAR's device
 *		and the importer (QUERY_P2P tells why, the kernel log says
 *		what would fix it)
 * EOPNOTSUPP	attach: the importer does not accept peer-to-peer memory
 *		(dma_buf_attach_ops.allow_peer2peer is false)
 * ENODEV	attach, map, pin, mmap, vmap: the export was revoked
 *		because its device was unbound, bound or removed (a vmap
 *		is still granted while an importer holds a mapping or pin,
 *		which the revocation waits for anyway, and is then waited
 *		for too)
 * EREMOTEIO	map: through the host bridge without an IOMMU, the
 *		importer's DMA mask cannot reach the BAR
 * EINVAL	mmap: MAP_PRIVATE mapping, or range beyond the dma-buf
 * EPERM	pin, and attach of a static importer (the core pins it):
 *		the module parameter refuse_pinned=1 admits only importers
 *		that can be revoked
 * EBUSY	map: a driver claimed the range after it was exported
 * EIO		map: the device stopped decoding memory after the export
 * ENODEV	map: the BAR was moved or resized after the export
 *
 * A CPU mapping of a revoked dma-buf raises SIGBUS on access, as does
 * one whose range a driver claimed, or whose device stopped decoding
 * memory, after the export.  Mappings made before either change are not
 * recalled (nothing tells the module of it).
 */
#ifndef _UAPI_LINUX_P2PMR_H
#define _UAPI_LINUX_P2PMR_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* The misc device is /dev/P2PMR_DEVICE_NAME. */
#define P2PMR_DEVICE_NAME	"p2pmr"

/*
 * ioctl type 0xBD: not listed in
 * Documentation/userspace-api/ioctl/ioctl-number.rst.
 */
#define P2PMR_TYPE		0xBD

enum {
	P2PMR_CMD_BASE = 0x80,
	P2PMR_CMD_EXPORT_FD = P2PMR_CMD_BASE,
	P2PMR_CMD_EXPORT_VA,
	P2PMR_CMD_QUERY_P2P,
	P2PMR_CMD_CHECK_VA,
	P2PMR_CMD_VA_DMABUF,
	P2PMR_CMD_WATCH_VA,
	P2PMR_CMD_UNWATCH,
};

/*
 * Out flags of the export ioctls.
 *
 * P2PMR_EXPORT_OUT_WC: CPU mappings (mmap, vmap) of the dma-buf are
 *	write-combining; set when the export was made from a resource<N>_wc
 *	file or mapping, else they are uncached.
 * P2PMR_EXPORT_OUT_PREFETCHABLE: the BAR is prefetchable.
 */
#define P2PMR_EXPORT_OUT_WC		(1U << 0)
#define P2PMR_EXPORT_OUT_PREFETCHABLE	(1U << 1)

/**
 * struct p2pmr_export_fd - ioctl(P2PMR_IOCTL_EXPORT_FD)
 * @size: sizeof(struct p2pmr_export_fd)
 * @flags: must be 0
 * @resource_fd: fd of /sys/bus/pci/devices/<bdf>/resource<N> or
 *	resource<N>_wc, opened for writing (O_WRONLY or O_RDWR)
 * @open_flags: flags of the new dma-buf fd: O_CLOEXEC and one of
 *	O_RDONLY, O_WRONLY, O_RDWR (the access mode limits mmap() of the
 *	dma-buf as for any file; device DMA is not affected)
 * @offset: start of the range within the BAR, page aligned
 * @length: length of the range, page aligned, nonzero
 * @out_dmabuf_fd: the dma-buf fd; byte 0 of the dma-buf is BAR byte @offset
 * @out_bar: the BAR number the resource file stands for
 * @out_flags: P2PMR_EXPORT_OUT_*
 * @__reserved: must be 0
 *
 * Export [offset, offset + length) of a memory BAR as a dma-buf.  The
 * dma-buf holds a reference on the PCI device and on the p2pmr module
 * until it is released.  If the device is unbound from its driver, bound
 * to one, or removed, the export is revoked: importers are told to unmap,
 * CPU mappings are zapped, and nothing can map it again.
 */
struct p2pmr_export_fd {
	__u32 size;
	__u32 flags;
	__s32 resource_fd;
	__u32 open_flags;
	__aligned_u64 offset;
	__aligned_u64 length;
	__s32 out_dmabuf_fd;
	__u32 out_bar;
	__u32 out_flags;
	__u32 __reserved;
};

#define P2PMR_IOCTL_EXPORT_FD	_IO(P2PMR_TYPE, P2PMR_CMD_EXPORT_FD)

/**
 * struct p2pmr_export_va - ioctl(P2PMR_IOCTL_EXPORT_VA)
 * @size: sizeof(struct p2pmr_export_va)
 * @flags: must be 0
 * @addr: start of the range in the caller's address space, page aligned
 * @length: length of the range, page aligned, nonzero
 * @open_flags: as for struct p2pmr_export_fd
 * @out_dmabuf_fd: the dma-buf fd; byte 0 of the dma-buf is the byte at @addr
 * @out_offset: offset of @addr within the BAR
 * @out_bar: the BAR number
 * @out_flags: P2PMR_EXPORT_OUT_*
 * @out_pci_domain: PCI domain (segment) of the BAR's device
 * @out_pci_bus: PCI bus number of the BAR's device
 * @out_pci_devfn: PCI device and function, (device << 3) | function
 * @__reserved: must be 0
 *
 * Export the device memory behind [addr, addr + length) of the caller's
 * address space.  The whole range must lie inside one mapping, and that
 * mapping must be a MAP_SHARED, PROT_WRITE mmap() of a sysfs resource<N>
 * or resource<N>_wc file: its page table entries are checked to point at
 * the BAR, contiguously (the mapping's file and offsets, and the first and
 * last page table entry of each piece of it: the work does not grow with
 * the length).  A range spanning two mappings is refused even if they are
 * adjacent views of the same BAR: export each one.
 *
 * This is the call a verbs shim makes when ibv_reg_mr() is given an
 * address in a BAR mapping: the dma-buf offset to register is
 * addr - (start of the dma-buf), i.e. 0 for the returned fd.
 */
struct p2pmr_export_va {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 length;
	__u32 open_flags;
	__s32 out_dmabuf_fd;
	__aligned_u64 out_offset;
	__u32 out_bar;
	__u32 out_flags;
	__u32 out_pci_domain;
	__u8 out_pci_bus;
	__u8 out_pci_devfn;
	__u16 __reserved;
};

#define P2PMR_IOCTL_EXPORT_VA	_IO(P2PMR_TYPE, P2PMR_CMD_EXPORT_VA)

/**
 * struct p2pmr_check_va - ioctl(P2PMR_IOCTL_CHECK_VA)
 * @size: sizeof(struct p2pmr_check_va)
 * @flags: must be 0
 * @addr: start of the range in the caller's address space, page aligned
 * @length: length of the range, page aligned, nonzero
 * @dmabuf_fd: a p2pmr dma-buf the range should lie in, or -1
 * @out_bar: the BAR number
 * @out_offset: offset of @addr within the dma-buf of @dmabuf_fd (0 when
 *	@dmabuf_fd is -1)
 * @out_bar_offset: offset of @addr within the BAR
 * @out_flags: P2PMR_EXPORT_OUT_*, as an export of the range would have
 * @out_pci_domain: PCI domain (segment) of the BAR's device
 * @out_pci_bus: PCI bus number of the BAR's device
 * @out_pci_devfn: PCI device and function, (device << 3) | function
 * @__reserved: must be 0
 * @__reserved2: must be 0
 *
 * Check, without exporting anything, that [addr, addr + length) is now
 * what EXPORT_VA would export, with the same proof (one writable shared
 * mapping of a resource file, mapping its BAR contiguously).
 *
 * With @dmabuf_fd a p2pmr dma-buf, the mapping must moreover be one of
 * the resource file the dma-buf was exported from (by EXPORT_VA or
 * EXPORT_FD; resource<N> and resource<N>_wc are different files) and map
 * a part of the BAR the dma-buf covers, which @out_offset then locates:
 * register the dma-buf at @out_offset for the range.  This lets a caller
 * keep one export per BAR mapping and reuse it for every registration
 * inside it, without ever registering memory the range no longer maps:
 * it fails with ESTALE once the range maps anything else (the mapping
 * was unmapped and replaced by host memory or by another BAR or another
 * part of it, or the dma-buf covers less), EACCES once the mapping is no
 * longer writable, ENODEV once the dma-buf was revoked, and otherwise as
 * EXPORT_VA.  A driver's claim of the range or a moved BAR since the
 * export is refused when the dma-buf is mapped, as for any export.
 *
 * With @dmabuf_fd -1, it identifies the BAR behind the range (a question:
 * ranges that are not in a resource mapping are refused without a log
 * line).  Neither form checks lockdown, claims or memory decoding, which
 * EXPORT_VA does.
 *
 * Errors besides the general ones: EBADF @dmabuf_fd is not an open file;
 * EINVAL it is not a p2pmr dma-buf; ESTALE, EACCES, ENODEV as above.
 */
struct p2pmr_check_va {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 length;
	__s32 dmabuf_fd;
	__u32 out_bar;
	__aligned_u64 out_offset;
	__aligned_u64 out_bar_offset;
	__u32 out_flags;
	__u32 out_pci_domain;
	__u8 out_pci_bus;
	__u8 out_pci_devfn;
	__u16 __reserved;
	__u32 __reserved2;
};

#define P2PMR_IOCTL_CHECK_VA	_IO(P2PMR_TYPE, P2PMR_CMD_CHECK_VA)

/*
 * Flags of struct p2pmr_va_dmabuf.
 *
 * P2PMR_VA_DMABUF_READ_ONLY (in): a read-only shared mapping will do, for
 *	a registration the device only reads.
 * P2PMR_VA_DMABUF_OUT_WRITABLE: the mapping is shared and writable.
 * P2PMR_VA_DMABUF_OUT_P2PMR: the dma-buf is one of p2pmr's exports.
 */
#define P2PMR_VA_DMABUF_READ_ONLY	(1U << 0)
#define P2PMR_VA_DMABUF_OUT_WRITABLE	(1U << 0)
#define P2PMR_VA_DMABUF_OUT_P2PMR	(1U << 1)

/**
 * struct p2pmr_va_dmabuf - ioctl(P2PMR_IOCTL_VA_DMABUF)
 * @size: sizeof(struct p2pmr_va_dmabuf)
 * @flags: 0 or P2PMR_VA_DMABUF_READ_ONLY
 * @addr: start of the range in the caller's address space, page aligned
 * @length: length of the range, page aligned, nonzero
 * @open_flags: 0 or O_CLOEXEC
 * @out_dmabuf_fd: a new fd of the dma-buf the range maps
 * @out_offset: offset of @addr within that dma-buf
 * @out_dmabuf_size: the dma-buf's size
 * @out_flags: P2PMR_VA_DMABUF_OUT_*
 * @__reserved: must be 0
 *
 * Find the dma-buf behind a CPU mapping of one: [addr, addr + length)
 * must lie inside one mmap() of a dma-buf fd in the caller's own address
 * space (or the pieces madvise() or mprotect() split it into), MAP_SHARED
 * and, without P2PMR_VA_DMABUF_READ_ONLY, writable.  The dma-buf may be
 * any exporter's, p2pmr's own included; nothing is exported.  The new fd
 * is another descriptor of the dma-buf's one open file (as dup() makes),
 * whose access mode its exporter chose.  This is the call a verbs shim
 * makes when ibv_reg_mr() is given an address in a dma-buf mapping:
 * register @out_dmabuf_fd at @out_offset.
 *
 * The offset is the one the dma-buf core gave the mapping (the mmap()
 * offset); an exporter that maps through a file of its own is not seen
 * as a dma-buf mapping.  A range not in a dma-buf mapping at all is
 * refused without a log line (the call is a question), any other refusal
 * is logged.
 *
 * Errors besides the general ones: EFAULT nothing is mapped at @addr;
 * EINVAL the mapping is not of a dma-buf, the range extends past it, or
 * past the dma-buf's end, or @open_flags is other than O_CLOEXEC; EACCES
 * the mapping is private, or read-only without P2PMR_VA_DMABUF_READ_ONLY;
 * ENODEV a p2pmr dma-buf that was revoked.
 */
struct p2pmr_va_dmabuf {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 length;
	__u32 open_flags;
	__s32 out_dmabuf_fd;
	__aligned_u64 out_offset;
	__aligned_u64 out_dmabuf_size;
	__u32 out_flags;
	__u32 __reserved;
};

#define P2PMR_IOCTL_VA_DMABUF	_IO(P2PMR_TYPE, P2PMR_CMD_VA_DMABUF)

/**
 * struct p2pmr_watch_va - ioctl(P2PMR_IOCTL_WATCH_VA)
 * @size: sizeof(struct p2pmr_watch_va)
 * @flags: must be 0
 * @addr: start of the range in the caller's address space, page aligned
 * @length: length of the range, page aligned, nonzero
 * @dmabuf_fd: a p2pmr dma-buf the range should lie in, or -1
 * @out_slot: index of the range's counter in the watch page
 * @out_seq: the counter's value when the watch began
 * @out_offset: as for struct p2pmr_check_va
 * @out_bar_offset: as for struct p2pmr_check_va
 * @out_bar: as for struct p2pmr_check_va
 * @out_flags: as for struct p2pmr_check_va
 * @out_pci_domain: as for struct p2pmr_check_va
 * @out_pci_bus: as for struct p2pmr_check_va
 * @out_pci_devfn: as for struct p2pmr_check_va
 * @__reserved: must be 0
 *
 * CHECK_VA, and keep watching the range: the answer then holds for as
 * long as the counter at @out_slot of the watch page still reads @out_seq,
 * so a caller that keeps exports (or classifications) per mapping can
 * reuse them with one load from memory instead of a system call.
 *
 * The watch page is mmap() of this /dev/p2pmr fd at offset 0, one page,
 * MAP_SHARED and PROT_READ (a writable or private mapping is refused):
 * an array of __u64 counters, page size / 8 of them, read with atomic
 * loads.  The kernel adds to a slot's counter, before the change takes
 * effect, whenever [addr, addr + length) may come to map something else:
 * any page table invalidation of the range (munmap(), mmap(MAP_FIXED)
 * over it, mremap(), mprotect(), a zap by the kernel), the revocation of
 * the dma-buf of @dmabuf_fd, and, for a watch without a dma-buf (whose
 * device the kernel does not track), the removal of any PCI device.  Some
 * changes it counts leave the answer true (mprotect() back and forth):
 * ask CHECK_VA or watch again then.  A counter never returns to an earlier value while its
 * watch lives.  The count is taken before the check: a change racing the
 * call moves the counter past @out_seq.
 *
 * Watches belong to the open file and to the address space of the process
 * that made the first one (the child of a fork() has another: it opens
 * /dev/p2pmr anew).  They end with UNWATCH or when the file is released;
 * they hold the dma-buf of @dmabuf_fd (one reference, not an fd).
 *
 * Errors besides those of CHECK_VA: ENOSPC every slot is in use; EXDEV
 * the fd's watches belong to another address space.
 */
struct p2pmr_watch_va {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 length;
	__s32 dmabuf_fd;
	__u32 out_slot;
	__aligned_u64 out_seq;
	__aligned_u64 out_offset;
	__aligned_u64 out_bar_offset;
	__u32 out_bar;
	__u32 out_flags;
	__u32 out_pci_domain;
	__u8 out_pci_bus;
	__u8 out_pci_devfn;
	__u16 __reserved;
};

#define P2PMR_IOCTL_WATCH_VA	_IO(P2PMR_TYPE, P2PMR_CMD_WATCH_VA)

/**
 * struct p2pmr_unwatch - ioctl(P2PMR_IOCTL_UNWATCH)
 * @size: sizeof(struct p2pmr_unwatch)
 * @flags: must be 0
 * @slot: the out_slot of a watch this fd made
 * @__reserved: must be 0
 *
 * End a watch; its slot may be handed out again.  Its counter moves on,
 * so that no copy of the ended watch's @out_seq matches a later watch of
 * the slot.  Errors besides the
 * general ones: EINVAL @slot is not a live watch of this fd; EXDEV the
 * fd's watches belong to another address space.
 */
struct p2pmr_unwatch {
	__u32 size;
	__u32 flags;
	__u32 slot;
	__u32 __reserved;
};

#define P2PMR_IOCTL_UNWATCH	_IO(P2PMR_TYPE, P2PMR_CMD_UNWATCH)

/**
 * enum p2pmr_p2p_path - how an importer would reach the BAR
 * @P2PMR_PATH_REFUSED: no usable path; attaching fails with EREMOTEIO
 * @P2PMR_PATH_BUS_ADDR: below a common PCI bridge with no ACS redirection:
 *	the importer is given PCI bus addresses, TLPs never leave the switch
 * @P2PMR_PATH_HOST_BRIDGE: through the root complex; the importer is given
 *	addresses from the DMA API (IOMMU-mapped where an IOMMU translates
 *	for it).  Used only when the kernel's P2PDMA allowlist accepts the
 *	host bridge or p2pmr is loaded with allow_host_bridge=1.
 */
enum p2pmr_p2p_path {
	P2PMR_PATH_REFUSED = 0,
	P2PMR_PATH_BUS_ADDR = 1,
	P2PMR_PATH_HOST_BRIDGE = 2,
};

/**
 * enum p2pmr_p2p_reason - what the topology walk found
 * @P2PMR_REASON_SAME_DEVICE: the importer is the BAR's own function
 * @P2PMR_REASON_COMMON_UPSTREAM: both sit below one PCI bridge (a switch,
 *	or a root port above a multi-function device) and no port on the
 *	path redirects peer-to-peer requests
 * @P2PMR_REASON_ACS_REDIRECT: they share a bridge, but a port on the path
 *	has ACS P2P Request/Completion Redirect or Egress Control enabled,
 *	so traffic goes up to the root complex
 * @P2PMR_REASON_NO_COMMON_UPSTREAM: they share only the host bridge
 * @P2PMR_REASON_DIFFERENT_HOST_BRIDGE: they are below different host
 *	bridges of one PCI domain; p2pmr never routes between host bridges
 * @P2PMR_REASON_DIFFERENT_DOMAIN: they are in different PCI domains
 * @P2PMR_REASON_NOT_PCI: the importer is neither a PCI device nor below
 *	one (in-kernel attach only; a child device of a PCI device, such as
 *	a netdev or an auxiliary device, stands for that PCI device)
 * @P2PMR_REASON_P2PDMA_REFUSED: the kernel's own P2PDMA check
 *	(CONFIG_PCI_P2PDMA) refuses the pair
 */
enum p2pmr_p2p_reason {
	P2PMR_REASON_SAME_DEVICE = 1,
	P2PMR_REASON_COMMON_UPSTREAM = 2,
	P2PMR_REASON_ACS_REDIRECT = 3,
	P2PMR_REASON_NO_COMMON_UPSTREAM = 4,
	P2PMR_REASON_DIFFERENT_HOST_BRIDGE = 5,
	P2PMR_REASON_DIFFERENT_DOMAIN = 6,
	P2PMR_REASON_NOT_PCI = 7,
	P2PMR_REASON_P2PDMA_REFUSED = 8,
};

/*
 * Flags of struct p2pmr_query_p2p.
 *
 * P2PMR_QUERY_P2P_BY_DMABUF (in): provider_fd is a dma-buf made by p2pmr
 *	rather than a sysfs resource file.
 * P2PMR_QUERY_P2P_OUT_HOST_BRIDGE_ROUTE: traffic would cross the root
 *	complex (ACS redirect or no common bridge), whatever the decision.
 * P2PMR_QUERY_P2P_OUT_IOMMU: an IOMMU translates the importer's DMA (not
 *	set for an identity domain, as with iommu=pt: the DMA API then
 *	hands out physical addresses).
 * P2PMR_QUERY_P2P_OUT_P2PDMA: the kernel has CONFIG_PCI_P2PDMA and its
 *	check was consulted.
 */
#define P2PMR_QUERY_P2P_BY_DMABUF		(1U << 0)
#define P2PMR_QUERY_P2P_OUT_HOST_BRIDGE_ROUTE	(1U << 0)
#define P2PMR_QUERY_P2P_OUT_IOMMU		(1U << 1)
#define P2PMR_QUERY_P2P_OUT_P2PDMA		(1U << 2)

/* out_distance when the two devices share no host bridge */
#define P2PMR_DISTANCE_NONE	0xffffffffU

/**
 * struct p2pmr_query_p2p - ioctl(P2PMR_IOCTL_QUERY_P2P)
 * @size: sizeof(struct p2pmr_query_p2p)
 * @flags: 0 or P2PMR_QUERY_P2P_BY_DMABUF
 * @provider_fd: fd naming the BAR's device: a sysfs resource file (any
 *	access mode) or, with P2PMR_QUERY_P2P_BY_DMABUF, a p2pmr dma-buf
 * @importer_pci_domain: PCI domain of the importing device
 * @importer_pci_bus: PCI bus number of the importing device
 * @importer_pci_devfn: (device << 3) | function of the importing device
 * @__reserved: must be 0
 * @out_path: enum p2pmr_p2p_path: what attach would do for this importer
 * @out_reason: enum p2pmr_p2p_reason
 * @out_distance: PCI hops between the two devices as counted by the
 *	kernel's P2PDMA code (0: same function, 2: same device, 4: same
 *	switch ...), P2PMR_DISTANCE_NONE if they share no host bridge
 * @out_flags: P2PMR_QUERY_P2P_OUT_*
 * @__reserved2: must be 0
 *
 * Tell how the given importer would reach the BAR, with the same decision
 * the dma-buf attach makes (including the current allow_host_bridge
 * setting).  A refused path is a successful query with out_path
 * P2PMR_PATH_REFUSED.
 */
struct p2pmr_query_p2p {
	__u32 size;
	__u32 flags;
	__s32 provider_fd;
	__u32 importer_pci_domain;
	__u8 importer_pci_bus;
	__u8 importer_pci_devfn;
	__u16 __reserved;
	__u32 out_path;
	__u32 out_reason;
	__u32 out_distance;
	__u32 out_flags;
	__u32 __reserved2;
};

#define P2PMR_IOCTL_QUERY_P2P	_IO(P2PMR_TYPE, P2PMR_CMD_QUERY_P2P)

#endif /* _UAPI_LINUX_P2PMR_H */
