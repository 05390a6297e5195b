/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "device memory" of the GPU runtime stand-ins (tests/cuda_stub,
 * tests/rocm_stub): one PCI BAR, named by a sysfs resource file in the
 * environment, carved first-fit into 2 MiB granules from an offset on,
 * each allocation behind an inaccessible (PROT_NONE) reservation of
 * address space, reached by the CPU only through the BAR mapping, and
 * exported as a p2pmr dma-buf of its BAR range.  Host memory that a
 * runtime hands out is kept here too, so that one lookup knows every
 * address the runtime owns.
 *
 * Each stand-in keeps its runtime's API (status codes, contexts, agents,
 * attributes) on top of this, and its own lock: nothing here locks.
 * Linked into shared libraries that export only the real API, so it is
 * built with hidden visibility.
 */
#ifndef P2PMR_TEST_BAR_HEAP_H
#define P2PMR_TEST_BAR_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Device memory comes in 2 MiB granules, in the BAR and in VA alike, as
 * the real drivers hand it out (CUDA's allocation granularity, ROCr's
 * fragment allocator).
 */
#define BAR_HEAP_GRANULE	(2UL << 20)

/* A PCI address; has_fn is false for the domain:bus:device form. */
struct bar_heap_pci_addr {
	unsigned int domain, bus, dev, fn;
	bool has_fn;
};

/*
 * One allocation: embedded in the runtime's own record of it, which the
 * caller allocates and frees.  Read-only to the caller once placed.
 */
struct bar_alloc {
	struct bar_alloc *next;
	/* Its address: a PROT_NONE reservation, or host memory. */
	uintptr_t base;
	/* The size asked for, as the runtimes report it. */
	size_t size;
	/* What is reserved: a granule multiple (device) or pages (host). */
	size_t span;
	/* Device memory: where it lies in the BAR. */
	uint64_t bar_off;
	bool host;
};

/*
 * The BAR and the allocations in it.  Set up with BAR_HEAP_INIT(); the
 * caller reads pci once bar_heap_open() succeeded, and leaves the rest
 * alone.
 */
struct bar_heap {
	/* "<tag>: " starts each debug message. */
	const char *tag;
	/* What there is none of when the BAR cannot be had, for messages. */
	const char *what;
	const char *resource_env;
	const char *offset_env;
	const char *debug_env;
	/* The resource file's directory name. */
	struct bar_heap_pci_addr pci;
	int res_fd;
	uint8_t *bar;
	uint64_t bar_size;
	/* [heap_start, heap_end), both granule multiples. */
	uint64_t heap_start;
	uint64_t heap_end;
	/* Device allocations sorted by bar_off, for first fit. */
	struct bar_alloc *dev_allocs;
	struct bar_alloc *host_allocs;
};

/*
 * A closed heap whose environment variables are <env>_RESOURCE (the
 * resource file), <env>_OFFSET (where the heap starts) and <env>_DEBUG
 * (set: say on stderr, after "<tag>: ", why the BAR or an export cannot
 * be had; "no <what>" ends the message for an unset <env>_RESOURCE).
 */
#define BAR_HEAP_INIT(_tag, _env, _what) {				\
	.tag = _tag,							\
	.what = _what,							\
	.resource_env = _env "_RESOURCE",				\
	.offset_env = _env "_OFFSET",					\
	.debug_env = _env "_DEBUG",					\
	.res_fd = -1,							\
}

/*
 * Parse the forms cuDeviceGetByPCIBusId() documents, all hexadecimal:
 * domain:bus:device.function, domain:bus:device and bus:device.function.
 * A sysfs device directory name is one of the forms with a function.
 * Returns true and fills @addr when @s is one.
 */
bool bar_heap_parse_pci_addr(const char *s, struct bar_heap_pci_addr *addr);

/*
 * Map the BAR whole, read-write and shared, from the environment: the
 * PCI address from the resource file's directory name, the heap from
 * <env>_OFFSET (a multiple of 2 MiB below the BAR's size; default 0) to
 * the last whole granule.  @h must be closed.  Returns false when
 * <env>_RESOURCE is unset, in no PCI device's directory, or cannot be
 * mapped, or the offset is bad; why is said when <env>_DEBUG is set.
 */
bool bar_heap_open(struct bar_heap *h);

/*
 * Release every allocation, each handed to @destroy (which frees the
 * record it is embedded in), and unmap the BAR: @h is closed, as after
 * BAR_HEAP_INIT().
 */
void bar_heap_close(struct bar_heap *h, void (*destroy)(struct bar_alloc *));

/* Bytes the heap has, and bytes its device allocations take. */
uint64_t bar_heap_size(const struct bar_heap *h);
uint64_t bar_heap_used(const struct bar_heap *h);

/*
 * Place @a, @size bytes of device memory: first fit in the heap, whole
 * granules, so the first allocation lands at the heap's start; a->base
 * is a fresh PROT_NONE reservation, granule aligned.  Returns false when
 * no gap is large enough or the address space cannot be had.
 */
bool bar_heap_alloc(struct bar_heap *h, struct bar_alloc *a, size_t size);

/*
 * Place @a, @size bytes of page-aligned, private, read-write host memory.
 * Returns false when there is none to be had.
 */
bool bar_heap_alloc_host(struct bar_heap *h, struct bar_alloc *a,
			 size_t size);

/*
 * Forget @a and unmap its memory at once; the BAR range goes back to the
 * heap.  The caller frees the record @a is embedded in.
 */
void bar_heap_release(struct bar_heap *h, struct bar_alloc *a);

/*
 * Release each allocation for which @match(a, @arg) is true, handing it
 * to @destroy afterwards.
 */
void bar_heap_release_if(struct bar_heap *h,
			 bool (*match)(struct bar_alloc *, void *),
			 void *arg, void (*destroy)(struct bar_alloc *));

/*
 * The allocation, device memory first, that holds @p in its first bytes:
 * its size asked for with @align 1, that size rounded up to @align
 * otherwise.  NULL when none does.
 */
struct bar_alloc *bar_heap_find(const struct bar_heap *h, uintptr_t p,
				size_t align);

/*
 * Where the CPU reaches [@p, @p + @n): through the BAR mapping for device
 * memory (*@device true), directly otherwise.  Returns false when the
 * range wraps, leaves its device allocation's size, or is host memory
 * that overlaps a device reservation (it would fault).
 */
bool bar_heap_resolve(const struct bar_heap *h, uintptr_t p, size_t n,
		      uint8_t **cpu, bool *device);

/* Whether /dev/p2pmr exists, so that exports can be asked for. */
bool bar_heap_p2pmr_present(void);

/*
 * Export [@off, @off + @len) of device allocation @a through p2pmr
 * (P2PMR_IOCTL_EXPORT_FD on the resource file, O_RDWR | O_CLOEXEC).  The
 * caller checks the range first.  Returns the dma-buf fd, which the
 * caller owns, or -1 with errno set; *@opened (when not NULL) says
 * whether /dev/p2pmr could be opened, so that a kernel without p2pmr can
 * be told from a refused export.
 */
int bar_heap_export(const struct bar_heap *h, const struct bar_alloc *a,
		    uint64_t off, uint64_t len, bool *opened);

#endif /* P2PMR_TEST_BAR_HEAP_H */
