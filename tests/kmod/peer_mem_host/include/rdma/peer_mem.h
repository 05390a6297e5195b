/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * The peer-memory client API of the MLNX_OFED / DOCA-OFED RDMA core
 * (PeerDirect), written for the p2pmr testbed from its public definition,
 * with the same types, layout and calling rules, so that a client built
 * against this header is built against OFED's ABI.  On an OFED system
 * clients include OFED's own <rdma/peer_mem.h> instead.
 *
 * The ABI followed is that of OFED 5.1 and later: core_context is a u64
 * (PEER_MEM_U64_CORE_CONTEXT; older releases passed a void *), and a
 * client may register a struct peer_memory_client_ex, marked by a nonzero
 * last byte of its version string and a sufficient ex_size, whose flags
 * may hold PEER_MEM_INVALIDATE_UNMAPS.
 *
 * The RDMA core calls a client, for a user address range that
 * pin_user_pages() refused, in this order:
 *
 *   acquire()		is the range the client's?  1: yes, 0 or -errno: no
 *   get_pages()	take the range (once; @core_context names it)
 *   dma_map()		fill the umem's sg_table with DMA addresses for
 *			the HCA's DMA device
 *   ...		the MR is in use; the client may invalidate it
 *   dma_unmap()	undo dma_map()
 *   put_pages()	undo get_pages(), free the sg_table
 *   release()		undo acquire()
 *
 * A client that registers with an invalidate callback may call it, with
 * the @core_context of a get_pages(), to take the range away: when the
 * callback returns the HCA no longer accesses the range.  Without
 * PEER_MEM_INVALIDATE_UNMAPS the core then calls dma_unmap() and
 * put_pages() from within the callback; with it the client undoes its
 * mapping itself after the callback returns, and the core does not call
 * them again.  release() still comes from the MR's deregistration.
 * get_pages() and dma_map() run under a core lock that the callback
 * takes, so they must not wait for anything held across the callback.
 */
#ifndef RDMA_PEER_MEM_H
#define RDMA_PEER_MEM_H

#include <linux/scatterlist.h>
#include <linux/types.h>

#define IB_PEER_MEMORY_NAME_MAX 64
#define IB_PEER_MEMORY_VER_MAX 16

/* core_context is a u64 (it was a void * before OFED 5.1). */
#define PEER_MEM_U64_CORE_CONTEXT

struct device;

/**
 * struct peer_memory_client - a provider of user address ranges that
 * pin_user_pages() cannot pin
 * @name: the client's name (its statistics directory)
 * @version: a version string; for a struct peer_memory_client_ex its last
 *	byte is nonzero
 * @acquire: claim [@addr, @addr + @size); @peer_mem_private_data and
 *	@peer_mem_name are always NULL; returns 1 and sets
 *	*@client_context if the whole range is the client's, else 0 or a
 *	negative errno (the core tries the next client)
 * @get_pages: take the acquired range; @addr and @size are the user's,
 *	not aligned; @write is always 1, @force is 1 for a read-only MR;
 *	@sg_head is NULL; @core_context names this range to the invalidate
 *	callback; returns 0 or a negative errno
 * @dma_map: fill @sg_head with DMA-mapped entries for @dma_device, each
 *	starting and ending on a PAGE_SIZE boundary, and set *@nmap to
 *	their number; @dmasync is always 0; returns 0 or a negative errno,
 *	leaving @sg_head untouched or valid on failure
 * @dma_unmap: undo @dma_map; returns 0
 * @put_pages: undo @get_pages; @sg_head is freed on return
 * @get_page_size: the granularity of the client's DMA mapping; when it
 *	is not PAGE_SIZE the core trims the first and last entries to the
 *	user's range
 * @release: undo @acquire, after every @get_pages has been undone
 */
struct peer_memory_client {
	char name[IB_PEER_MEMORY_NAME_MAX];
	char version[IB_PEER_MEMORY_VER_MAX];
	int (*acquire)(unsigned long addr, size_t size,
		       void *peer_mem_private_data, char *peer_mem_name,
		       void **client_context);
	int (*get_pages)(unsigned long addr, size_t size, int write, int force,
			 struct sg_table *sg_head, void *client_context,
			 u64 core_context);
	int (*dma_map)(struct sg_table *sg_head, void *client_context,
		       struct device *dma_device, int dmasync, int *nmap);
	int (*dma_unmap)(struct sg_table *sg_head, void *client_context,
			 struct device *dma_device);
	void (*put_pages)(struct sg_table *sg_head, void *client_context);
	unsigned long (*get_page_size)(void *client_context);
	void (*release)(void *client_context);
};

enum {
	/* The client undoes its mapping itself after invalidating it. */
	PEER_MEM_INVALIDATE_UNMAPS = 1 << 0,
};

/**
 * struct peer_memory_client_ex - a client with flags
 * @client: the client; its version[IB_PEER_MEMORY_VER_MAX - 1] is nonzero
 * @ex_size: sizeof(struct peer_memory_client_ex)
 * @flags: PEER_MEM_*
 */
struct peer_memory_client_ex {
	struct peer_memory_client client;
	size_t ex_size;
	u32 flags;
};

/* Take the range named by @core_context away from the RDMA core. */
typedef int (*invalidate_peer_memory)(void *reg_handle, u64 core_context);

/*
 * Register a client; with @invalidate_callback non-NULL the core returns
 * its callback there and uses the client only for MRs that can be
 * invalidated.  Returns the handle for the callback and for
 * ib_unregister_peer_memory_client(), or NULL.
 */
void *
ib_register_peer_memory_client(const struct peer_memory_client *peer_client,
			       invalidate_peer_memory *invalidate_callback);
/* Waits until no MR uses the client any more. */
void ib_unregister_peer_memory_client(void *reg_handle);

#endif /* RDMA_PEER_MEM_H */
