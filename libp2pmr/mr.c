// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Memory registration of host and BAR memory.
 *
 * An MR registered through the uverbs ioctl (when the verbs provider has
 * no reg_dmabuf_mr) is not the provider's: the library allocates such MRs
 * itself and keeps them in a registry, so that p2pmr_dereg_mr() can tell
 * its own from the provider's; only dma-buf MRs are looked up there (an
 * MR's type is read as libibverbs reads it, see p2pmr_mr_may_be_dmabuf()).  They are laid out as libibverbs' struct
 * verbs_mr of a dma-buf MR, so that one that reaches ibv_dereg_mr()
 * anyway is read as what it is: libibverbs then hands it to the
 * provider's dereg_mr, which destroys it by its handle and frees it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "p2pmr_internal.h"
#include "uverbs_dmabuf.h"

/*
 * libibverbs' struct verbs_mr and its IBV_MR_TYPE_DMABUF_MR (rdma-core's
 * infiniband/driver.h, stable since v34 and not shipped by every
 * distribution).
 */
#define VERBS_MR_TYPE_DMABUF_MR	3

struct verbs_mr_layout {
	struct ibv_mr ibv_mr;
	int mr_type;		/* enum ibv_mr_type */
	int access;
};

struct p2pmr_own_mr {
	struct verbs_mr_layout vmr;
	uint32_t driver_id;
};

/* guards the registry and the driver id table below */
static pthread_mutex_t mr_lock = PTHREAD_MUTEX_INITIALIZER;
static void *own_mrs;			/* tsearch() tree, under mr_lock */
static unsigned long own_mr_count;	/* atomic */

static int ptr_cmp(const void *a, const void *b)
{
	return a == b ? 0 : (uintptr_t)a < (uintptr_t)b ? -1 : 1;
}

static int own_mr_add(struct p2pmr_own_mr *mr)
{
	void *node;

	pthread_mutex_lock(&mr_lock);
	node = tsearch(mr, &own_mrs, ptr_cmp);
	if (node)
		__atomic_add_fetch(&own_mr_count, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&mr_lock);
	return node ? 0 : ENOMEM;
}

bool p2pmr_mr_may_be_dmabuf(const struct ibv_mr *mr)
{
	return ((const struct verbs_mr_layout *)mr)->mr_type ==
	       VERBS_MR_TYPE_DMABUF_MR;
}

/* Take @mr out of the registry; false if it is not one of ours. */
static bool own_mr_take(struct ibv_mr *mr)
{
	bool found = false;

	/* host MRs, the common case, need no lock and no shared load */
	if (!p2pmr_mr_may_be_dmabuf(mr) ||
	    !__atomic_load_n(&own_mr_count, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&mr_lock);
	if (tfind(mr, &own_mrs, ptr_cmp)) {
		tdelete(mr, &own_mrs, ptr_cmp);
		__atomic_sub_fetch(&own_mr_count, 1, __ATOMIC_RELAXED);
		found = true;
	}
	pthread_mutex_unlock(&mr_lock);
	return found;
}

unsigned long p2pmr_own_mr_count(void)
{
	return __atomic_load_n(&own_mr_count, __ATOMIC_RELAXED);
}

void p2pmr_mr_fork_lock(void)
{
	pthread_mutex_lock(&mr_lock);
}

void p2pmr_mr_fork_unlock(void)
{
	pthread_mutex_unlock(&mr_lock);
}

/*
 * The kernel driver id of a verbs context, probed once.  libibverbs keeps
 * the id to itself and says nothing when a context is closed, so the ids
 * live in a small table keyed on the context and its command fd, the
 * oldest entry replaced when it is full, under mr_lock.  A context closed
 * and another allocated at the same address with the same fd number may
 * find its predecessor's entry: if the drivers differ, the kernel refuses
 * the id with EINVAL and the caller probes again (driver_id_reprobe()).
 */
#define DRIVER_ID_CACHE_SIZE	8

struct driver_id_entry {
	const struct ibv_context *ctx;	/* NULL: unused */
	int cmd_fd;
	uint32_t driver_id;
};

static struct driver_id_entry driver_ids[DRIVER_ID_CACHE_SIZE];
static unsigned int driver_id_next;	/* the entry to replace next */

static bool driver_id_lookup(const struct ibv_context *ctx, uint32_t *id)
{
	bool found = false;
	unsigned int i;

	pthread_mutex_lock(&mr_lock);
	for (i = 0; i < ARRAY_SIZE(driver_ids); i++) {
		if (driver_ids[i].ctx == ctx &&
		    driver_ids[i].cmd_fd == ctx->cmd_fd) {
			*id = driver_ids[i].driver_id;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&mr_lock);
	return found;
}

static void driver_id_store(const struct ibv_context *ctx, int cmd_fd,
			    uint32_t id)
{
	struct driver_id_entry *e = NULL;
	unsigned int i;

	pthread_mutex_lock(&mr_lock);
	for (i = 0; i < ARRAY_SIZE(driver_ids); i++) {
		if (driver_ids[i].ctx == ctx &&
		    driver_ids[i].cmd_fd == cmd_fd) {
			e = &driver_ids[i];
			break;
		}
	}
	if (!e) {
		e = &driver_ids[driver_id_next];
		driver_id_next = (driver_id_next + 1) % ARRAY_SIZE(driver_ids);
		e->ctx = ctx;
		e->cmd_fd = cmd_fd;
	}
	e->driver_id = id;
	pthread_mutex_unlock(&mr_lock);
}

/* Ask the kernel (no lock held: one ioctl per candidate id) and remember. */
static int driver_id_probe(struct ibv_context *ctx, uint32_t *id)
{
	int cmd_fd = ctx->cmd_fd;
	int err;

	err = uverbs_driver_id(cmd_fd, id);
	if (!err)
		driver_id_store(ctx, cmd_fd, *id);
	return err;
}

/*
 * The driver id of @ctx; *@cached tells whether it came from the table,
 * so that a refusal (EINVAL) may be a stale entry.
 */
static int driver_id_get(struct ibv_context *ctx, uint32_t *id, bool *cached)
{
	*cached = driver_id_lookup(ctx, id);
	if (*cached)
		return 0;
	return driver_id_probe(ctx, id);
}

/*
 * The kernel refused cached id @stale with EINVAL: probe again.  Return:
 * true with the new id in *@id if it differs (the entry was another
 * context's), false if the EINVAL was the command's own (which costs the
 * probe that every registration cost before the table).
 */
static bool driver_id_reprobe(struct ibv_context *ctx, uint32_t stale,
			      uint32_t *id)
{
	if (driver_id_probe(ctx, id))
		return false;
	if (*id == stale)
		return false;
	p2pmr_dbg("%s: kernel driver id %u, not %u as cached (a context closed since at the same address)",
		  ctx->device ? ctx->device->name : "(unknown device)",
		  *id, stale);
	return true;
}

void p2pmr_driver_id_cache_reset(void)
{
	pthread_mutex_lock(&mr_lock);
	memset(driver_ids, 0, sizeof(driver_ids));
	driver_id_next = 0;
	pthread_mutex_unlock(&mr_lock);
}

static const char *dev_name(struct ibv_pd *pd)
{
	struct ibv_device *dev = pd->context ? pd->context->device : NULL;

	return dev ? dev->name : "(unknown device)";
}

/* The kernel has no dma-buf MRs for this device, however it says so. */
static bool uverbs_unsupported(int err)
{
	return err == EOPNOTSUPP || err == EPROTONOSUPPORT || err == ENOTTY;
}

/*
 * Register through the uverbs ioctl.  Return: the MR, laid out as
 * libibverbs lays out a dma-buf MR (addr is the dma-buf offset, as
 * ibv_reg_dmabuf_mr() sets it), or NULL with errno set (EOPNOTSUPP when
 * the kernel driver has no dma-buf MRs).
 */
static struct ibv_mr *reg_dmabuf_mr_uverbs(struct ibv_pd *pd, uint64_t offset,
					   size_t length, uint64_t iova,
					   int fd, int access)
{
	struct p2pmr_own_mr *mr;
	uint32_t handle, lkey, rkey, driver_id;
	bool cached;
	int err;

	err = driver_id_get(pd->context, &driver_id, &cached);
	if (err) {
		if (uverbs_unsupported(err)) {
			p2pmr_err("reg_dmabuf_mr on %s: the kernel takes no uverbs ioctls (%s): no dma-buf MRs",
				  dev_name(pd), strerror(err));
			err = EOPNOTSUPP;
		} else {
			p2pmr_err("reg_dmabuf_mr on %s: cannot find the kernel driver behind the verbs context: %s",
				  dev_name(pd), strerror(err));
		}
		errno = err;
		return NULL;
	}
	err = uverbs_reg_dmabuf_mr_id(pd, driver_id, offset, length, iova, fd,
				      access, &handle, &lkey, &rkey);
	if (err == EINVAL && cached &&
	    driver_id_reprobe(pd->context, driver_id, &driver_id))
		err = uverbs_reg_dmabuf_mr_id(pd, driver_id, offset, length,
					      iova, fd, access, &handle, &lkey,
					      &rkey);
	if (err) {
		if (uverbs_unsupported(err) &&
		    access & IBV_ACCESS_REMOTE_ATOMIC) {
			/* reg_bar() tells the caller what to do about it */
			p2pmr_dbg("reg_dmabuf_mr on %s: refused with IBV_ACCESS_REMOTE_ATOMIC",
				  dev_name(pd));
			err = EOPNOTSUPP;
		} else if (uverbs_unsupported(err)) {
			p2pmr_err("reg_dmabuf_mr on %s: neither the verbs provider nor the kernel driver supports dma-buf MRs",
				  dev_name(pd));
			err = EOPNOTSUPP;
		} else if (fd < 0) {
			/* a probe of dma-buf support (UCX's): no error */
			p2pmr_dbg("reg_dmabuf_mr on %s (uverbs ioctl), fd %d: %s",
				  dev_name(pd), fd, strerror(err));
		} else {
			p2pmr_err("reg_dmabuf_mr on %s (uverbs ioctl) failed: %s",
				  dev_name(pd), strerror(err));
		}
		errno = err;
		return NULL;
	}

	mr = calloc(1, sizeof(*mr));
	if (!mr || own_mr_add(mr)) {
		free(mr);
		uverbs_dereg_mr_id(pd->context, driver_id, handle);
		p2pmr_err("reg_dmabuf_mr on %s: out of memory", dev_name(pd));
		errno = ENOMEM;
		return NULL;
	}
	mr->vmr.ibv_mr.context = pd->context;
	mr->vmr.ibv_mr.pd = pd;
	mr->vmr.ibv_mr.addr = (void *)(uintptr_t)offset;
	mr->vmr.ibv_mr.length = length;
	mr->vmr.ibv_mr.handle = handle;
	mr->vmr.ibv_mr.lkey = lkey;
	mr->vmr.ibv_mr.rkey = rkey;
	mr->vmr.mr_type = VERBS_MR_TYPE_DMABUF_MR;
	mr->vmr.access = access;
	mr->driver_id = driver_id;
	p2pmr_info("registered dma-buf fd %d on %s through the uverbs ioctl (the verbs provider has no reg_dmabuf_mr): lkey 0x%x",
		   fd, dev_name(pd), lkey);
	return &mr->vmr.ibv_mr;
}

/*
 * Has the verbs provider of @pd a reg_dmabuf_mr of its own?  Asked as UCX
 * asks: a registration of fd -1 reaches the kernel (which answers EBADF)
 * only through a provider that has one; libibverbs' stub for providers
 * without one answers EOPNOTSUPP and makes no system call, so asking is
 * cheap where the answer is no, and is done only after an EOPNOTSUPP.
 * A provider whose kernel driver lacks dma-buf MRs answers EOPNOTSUPP
 * too; the uverbs ioctl then gets the same answer from the kernel.
 */
static bool provider_has_reg_dmabuf_mr(struct ibv_pd *pd)
{
	struct ibv_mr *mr;

	mr = p2pmr_ops->reg_dmabuf_mr(pd, 0, p2pmr_page_size(), 0, -1,
				      IBV_ACCESS_LOCAL_WRITE);
	if (mr) {
		/* no provider takes fd -1; give it back all the same */
		p2pmr_ops->dereg_mr(mr);
		return true;
	}
	return errno != EOPNOTSUPP;
}

struct ibv_mr *p2pmr_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset,
				   size_t length, uint64_t iova, int fd,
				   int access)
{
	struct ibv_mr *mr;
	int err;

	if (!pd || !pd->context) {
		p2pmr_err("reg_dmabuf_mr: no protection domain");
		errno = EINVAL;
		return NULL;
	}
	if (!length) {
		p2pmr_err("reg_dmabuf_mr on %s: zero length", dev_name(pd));
		errno = EINVAL;
		return NULL;
	}

	/*
	 * A bad fd goes to the provider and the kernel like any other: they
	 * answer EBADF only where dma-buf MRs exist, and callers (UCX) probe
	 * for dma-buf support with fd -1.
	 */
	mr = p2pmr_ops->reg_dmabuf_mr(pd, offset, length, iova, fd, access);
	if (mr)
		return mr;
	err = errno;
	if (err == EOPNOTSUPP && provider_has_reg_dmabuf_mr(pd)) {
		/* the provider's own refusal, not a missing verb */
		p2pmr_err("reg_dmabuf_mr on %s: the verbs provider refuses dma-buf fd %d offset 0x%" PRIx64 " length 0x%zx access %#x: %s",
			  dev_name(pd), fd, offset, length, access,
			  strerror(err));
		errno = err;
		return NULL;
	}
	if (err != EOPNOTSUPP) {
		p2pmr_log(fd < 0 ? P2PMR_LOG_DEBUG : P2PMR_LOG_ERR,
			  "reg_dmabuf_mr on %s: dma-buf fd %d offset 0x%" PRIx64 " length 0x%zx: %s",
			  dev_name(pd), fd, offset, length, strerror(err));
		errno = err;
		return NULL;
	}
	p2pmr_dbg("the verbs provider of %s has no reg_dmabuf_mr: trying the uverbs ioctl",
		  dev_name(pd));
	return reg_dmabuf_mr_uverbs(pd, offset, length, iova, fd, access);
}

int p2pmr_dereg_mr(struct ibv_mr *mr)
{
	struct p2pmr_own_mr *own;
	int err;

	if (!mr)
		return EINVAL;
	if (!own_mr_take(mr))
		return p2pmr_ops->dereg_mr(mr);

	own = (struct p2pmr_own_mr *)mr;
	err = uverbs_dereg_mr_id(mr->context, own->driver_id, mr->handle);
	if (err) {
		p2pmr_err("dereg_mr: MR 0x%x (uverbs handle %u) stays registered: %s",
			  mr->lkey, mr->handle, strerror(err));
		if (own_mr_add(own))
			p2pmr_err("dereg_mr: MR 0x%x is no longer known to the library",
				  mr->lkey);
		return err;
	}
	free(own);
	return 0;
}

static struct ibv_mr *reg_host(struct ibv_pd *pd, void *addr, size_t length,
			       uint64_t iova, int access,
			       const struct p2pmr_reg_req *req)
{
	if (req && req->reg_host)
		return req->reg_host(req->reg_host_arg);
	if (iova == (uintptr_t)addr)
		return p2pmr_ops->reg_mr(pd, addr, length, access);
	return p2pmr_ops->reg_mr_iova2(pd, addr, length, iova, access);
}

/* P2PMR_DROP_REMOTE_ATOMIC=1: register BARs without remote atomics. */
static bool drop_remote_atomic(void)
{
	const char *env = getenv("P2PMR_DROP_REMOTE_ATOMIC");

	return env && !strcmp(env, "1");
}

/*
 * The provider refused a dma-buf MR with IBV_ACCESS_REMOTE_ATOMIC and
 * EOPNOTSUPP: an HCA that cannot do atomics on device memory (soft-RoCE:
 * a CPU read-modify-write of a BAR is not atomic).  Find out whether the
 * atomics were the reason, and keep the MR without them only where the
 * caller asked for that: silently weaker access is a bug for a program
 * that does use remote atomics.  UCX asks for them on every MR, needed
 * or not; a site running it sets P2PMR_DROP_REMOTE_ATOMIC=1, and an
 * atomic aimed at such an MR then fails at the peer with a remote access
 * error: refused, never done wrongly.
 */
static struct ibv_mr *reg_bar_no_atomic(struct ibv_pd *pd, void *addr,
					size_t length, uint64_t offset,
					uint64_t iova, int fd, int access)
{
	struct ibv_mr *mr;

	mr = p2pmr_reg_dmabuf_mr(pd, offset, length, iova, fd,
				 access & ~IBV_ACCESS_REMOTE_ATOMIC);
	if (!mr) {
		p2pmr_err("reg_mr: %s takes no dma-buf MR for %p + 0x%zx, with remote atomics or without: %s",
			  dev_name(pd), addr, length, strerror(errno));
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (drop_remote_atomic()) {
		p2pmr_info("reg_mr: %p + 0x%zx registered without IBV_ACCESS_REMOTE_ATOMIC (P2PMR_DROP_REMOTE_ATOMIC=1): %s takes no remote atomics on device memory",
			   addr, length, dev_name(pd));
		return mr;
	}
	if (p2pmr_dereg_mr(mr))
		p2pmr_err("reg_mr: MR 0x%x leaked", mr->lkey);
	p2pmr_err("reg_mr: %s takes no remote atomics on device memory (%p + 0x%zx): register it without IBV_ACCESS_REMOTE_ATOMIC, or set P2PMR_DROP_REMOTE_ATOMIC=1 to have libp2pmr drop the flag (atomics aimed at the MR then fail at the peer)",
		  dev_name(pd), addr, length);
	errno = EOPNOTSUPP;
	return NULL;
}

/*
 * Register the dma-buf @fd, whose offset 0 is the page at @start, for
 * [addr, addr + length).  The MR's addr is @addr, as an ibv_reg_mr() of
 * host memory would have it; libibverbs' ibv_reg_dmabuf_mr() sets the
 * dma-buf offset there, which applications that send mr->addr to their
 * peer (as the iova to write to) must never see.
 */
static struct ibv_mr *reg_bar_fd(struct ibv_pd *pd, void *addr, size_t length,
				 uintptr_t start, uint64_t iova, int fd,
				 int access)
{
	uint64_t offset = (uintptr_t)addr - start;
	struct ibv_mr *mr;

	mr = p2pmr_reg_dmabuf_mr(pd, offset, length, iova, fd, access);
	if (!mr && errno == EOPNOTSUPP && access & IBV_ACCESS_REMOTE_ATOMIC)
		mr = reg_bar_no_atomic(pd, addr, length, offset, iova, fd,
				       access);
	if (mr)
		mr->addr = addr;
	return mr;
}

/*
 * Register [addr, addr + length) through the cached export of the mapping
 * @info describes (export_cache.c).  Return: the MR, or NULL with errno;
 * *@used tells whether a cached export was used, so that a registration
 * refused for other reasons is not tried again.
 */
static struct ibv_mr *reg_bar_cached(struct ibv_pd *pd, void *addr,
				     size_t length, uintptr_t start,
				     uintptr_t end, uint64_t iova, int access,
				     const struct p2pmr_mem_info *info,
				     bool *used)
{
	struct p2pmr_cached_export ce;
	struct ibv_mr *mr;
	int err;

	*used = false;
	if (!(info->flags & P2PMR_MEM_CONTAINED) || !info->map_length)
		return NULL;
	if (p2pmr_export_cache_get(info->map_start,
				   info->map_start + info->map_length,
				   start, end, &ce))
		return NULL;
	*used = true;
	mr = reg_bar_fd(pd, addr, length, start - ce.offset, iova, ce.fd,
			access);
	err = errno;
	p2pmr_export_cache_put(&ce);
	errno = err;
	return mr;
}

/*
 * Register [addr, addr + length) as a dma-buf MR of the BAR it maps: the
 * cached export of its mapping where there is one, else an export of the
 * whole pages around it by address.  @info: the mapping as the
 * classification knows it; NULL: the memory is not known as a BAR
 * mapping, the kernel is asked whether it is one (a resource file
 * bind-mounted elsewhere, as in a container, has no sysfs path in
 * /proc/self/maps).  *@exported tells whether an export succeeded, so
 * that a failure can be told apart from the registration's.
 */
static struct ibv_mr *reg_bar(struct ibv_pd *pd, void *addr, size_t length,
			      uint64_t iova, int access,
			      const struct p2pmr_mem_info *info,
			      bool *exported)
{
	uintptr_t page = p2pmr_page_size();
	uintptr_t start = (uintptr_t)addr & ~(page - 1);
	uintptr_t end = ((uintptr_t)addr + length + page - 1) & ~(page - 1);
	struct ibv_mr *mr;
	int fd, err;

	if (info) {
		mr = reg_bar_cached(pd, addr, length, start, end, iova,
				    access, info, exported);
		if (*exported)
			return mr;
	}
	*exported = false;
	if (!info)
		fd = p2pmr_export_va_probe((void *)start, end - start);
	else
		fd = p2pmr_export_va((void *)start, end - start, 0, NULL, 0);
	if (fd < 0)
		return NULL;
	*exported = true;
	mr = reg_bar_fd(pd, addr, length, start, iova, fd, access);
	/* the MR holds the dma-buf; our fd is no longer needed */
	err = errno;
	close(fd);
	errno = err;
	return mr;
}

/* access that lets the device write the memory */
#define DEVICE_WRITE_ACCESS	(IBV_ACCESS_LOCAL_WRITE | \
				 IBV_ACCESS_REMOTE_WRITE | \
				 IBV_ACCESS_REMOTE_ATOMIC)

/*
 * Memory the kernel cannot pin may be device memory that is no BAR
 * mapping: a CPU mapping of a dma-buf, whose dma-buf the kernel names
 * (P2PMR_IOCTL_VA_DMABUF), or a GPU allocation, which the GPU runtime the
 * process loaded recognizes and exports (gpu.c).  Either way the dma-buf
 * is registered at the range's offset in it, with @iova.
 *
 * Return: the MR; or NULL with errno, and *@found telling whether the
 * range was device memory of either kind (if not, errno is meaningless).
 */
static struct ibv_mr *reg_device(struct ibv_pd *pd, void *addr,
				 size_t length, uint64_t iova, int access,
				 bool *found)
{
	uintptr_t page = p2pmr_page_size();
	uintptr_t start = (uintptr_t)addr & ~(page - 1);
	uintptr_t end = ((uintptr_t)addr + length + page - 1) & ~(page - 1);
	struct p2pmr_gpu_range gpu = { 0 };
	struct p2pmr_cached_export ce;
	struct ibv_mr *mr;
	uint64_t offset;
	int fd, err;

	*found = true;
	fd = p2pmr_va_dmabuf((void *)start, end - start,
			     !(access & DEVICE_WRITE_ACCESS), &offset);
	if (fd >= 0) {
		p2pmr_dbg("reg_mr: %p is in a mapping of a dma-buf, at offset 0x%" PRIx64,
			  addr, offset + ((uintptr_t)addr - start));
		start -= offset;
	} else if (errno == EACCES || errno == ENODEV) {
		return NULL;
	} else {
		/* no dma-buf mapping, or no p2pmr: ask a GPU runtime */
		err = p2pmr_gpu_find(addr, length, &gpu);
		if (err) {
			*found = err != ENOENT;
			errno = err;
			return NULL;
		}
		if (end > gpu.base + gpu.size) {
			p2pmr_err("reg_mr: %p + 0x%zx: the %s allocation 0x%" PRIx64 " + 0x%" PRIx64 " does not end on a page boundary; its last page cannot be exported",
				  addr, length, gpu.runtime, gpu.base,
				  gpu.size);
			errno = EINVAL;
			return NULL;
		}
		p2pmr_dbg("reg_mr: %p is %s device memory", addr, gpu.runtime);
		if (!p2pmr_export_cache_get_gpu(&gpu, start, end, &ce)) {
			mr = reg_bar_fd(pd, addr, length, start - ce.offset,
					iova, ce.fd, access);
			err = errno;
			p2pmr_export_cache_put(&ce);
			errno = err;
			return mr;
		}
		fd = p2pmr_gpu_export(&gpu, start, end - start, &offset);
		if (fd < 0)
			return NULL;
		start -= offset;
	}
	mr = reg_bar_fd(pd, addr, length, start, iova, fd, access);
	/* the MR holds the dma-buf; our fd is no longer needed */
	err = errno;
	if (gpu.rt)
		p2pmr_gpu_close(&gpu, fd);
	else
		close(fd);
	errno = err;
	return mr;
}

/*
 * P2PMR_REG_STOCK_ERRNO: where p2pmr cannot export the memory (no
 * /dev/p2pmr, the kernel refuses the range), answer as libibverbs alone
 * would have, so that preloading the shim changes nothing for programs
 * that never meant to register device memory; p2pmr's reason is logged.
 */
static struct ibv_mr *stock_answer(struct ibv_pd *pd, void *addr,
				   size_t length, uint64_t iova, int access,
				   const struct p2pmr_reg_req *req,
				   enum p2pmr_mem_type *type)
{
	int err = errno;

	if (!req || !(req->flags & P2PMR_REG_STOCK_ERRNO))
		return NULL;
	p2pmr_dbg("reg_mr: %p + 0x%zx: p2pmr cannot export it (%s): answering as libibverbs does",
		  addr, length, strerror(err));
	*type = P2PMR_MEM_HOST;
	return reg_host(pd, addr, length, iova, access, req);
}

/*
 * The routing.  Each guess the classification cache makes is checked by
 * what follows it, at no cost when it was right:
 *
 * - host memory that is in fact a BAR mapped behind the library's back:
 *   the kernel cannot pin it, host registration fails with EFAULT (or
 *   EINVAL where ibv_fork_init() is on, as UCX turns it on: libibverbs
 *   then undoes its madvise(MADV_DONTFORK) with MADV_DOFORK, which the
 *   kernel refuses for a VM_IO mapping), and a fresh read of
 *   /proc/self/maps tells; where it does not (a resource file reached by
 *   another path), the kernel is asked to export the range;
 * - a BAR mapping that is in fact gone (host memory mapped in its place):
 *   the kernel refuses to export it (EINVAL, or EFAULT once revoked), and
 *   a fresh read of /proc/self/maps tells.
 *
 * So a BAR registration costs no read of /proc/self/maps either, which in
 * a process with many mappings takes milliseconds.
 */
struct ibv_mr *p2pmr_reg_mr_req(struct ibv_pd *pd, void *addr, size_t length,
				uint64_t iova, int access,
				const struct p2pmr_reg_req *req,
				enum p2pmr_mem_type *type)
{
	struct p2pmr_mem_info info;
	bool was_bar, exported, found;
	int err, fresh_err;
	struct ibv_mr *mr;
	uint64_t ticket;

	*type = P2PMR_MEM_HOST;
	if (!pd || !pd->context) {
		p2pmr_err("reg_mr: no protection domain");
		errno = EINVAL;
		return NULL;
	}
	/* what the verbs say about these is theirs to say */
	if (!length || !addr)
		return reg_host(pd, addr, length, iova, access, req);

	ticket = p2pmr_cache_ticket();
	err = p2pmr_classify_trust_hits(addr, length, &info);
	if (err == EINVAL || err == EOVERFLOW) {
		if (req && req->flags & P2PMR_REG_STOCK_ERRNO)
			return reg_host(pd, addr, length, iova, access, req);
		errno = err;
		return NULL;
	}
	if (err) {
		p2pmr_info("reg_mr: cannot classify %p: %s; registering it as host memory",
			   addr, strerror(err));
		info.type = P2PMR_MEM_HOST;
	}

	/* a dma-buf mapping: its dma-buf, at once (else as host memory) */
	if (info.type == P2PMR_MEM_DMABUF) {
		mr = reg_device(pd, addr, length, iova, access, &found);
		if (found) {
			*type = P2PMR_MEM_BAR;
			return mr ? mr : stock_answer(pd, addr, length, iova,
						      access, req, type);
		}
	}

	was_bar = info.type == P2PMR_MEM_BAR;
	if (!was_bar) {
		mr = reg_host(pd, addr, length, iova, access, req);
		if (mr || (errno != EFAULT && errno != EINVAL))
			return mr;
		/* the kernel and a GPU runtime answer without a maps read */
		err = errno;
		mr = reg_device(pd, addr, length, iova, access, &found);
		if (found) {
			*type = P2PMR_MEM_BAR;
			if (!mr && req && req->flags & P2PMR_REG_STOCK_ERRNO)
				errno = err;
			return mr;
		}
		errno = err;
	} else {
		*type = P2PMR_MEM_BAR;
		mr = reg_bar(pd, addr, length, iova, access, &info, &exported);
		if (mr || exported)
			return mr;
		if ((errno != EINVAL && errno != EFAULT) ||
		    info.flags & P2PMR_MEM_BAR_OPEN)
			return stock_answer(pd, addr, length, iova, access,
					    req, type);
	}

	/* The guess may have been wrong: ask /proc/self/maps as it is now. */
	err = errno;
	fresh_err = p2pmr_classify_fresh(addr, length, &info, ticket);
	if (fresh_err) {
		/* a partial overlap says more than the registration's error */
		errno = fresh_err == EINVAL ? EINVAL : err;
		if (was_bar)
			return stock_answer(pd, addr, length, iova, access,
					    req, type);
		if (req && req->flags & P2PMR_REG_STOCK_ERRNO)
			errno = err;	/* what libibverbs just answered */
		return NULL;
	}
	if (was_bar && info.type == P2PMR_MEM_BAR) {
		/* still a BAR mapping, one the kernel refuses (revoked) */
		errno = err;
		return stock_answer(pd, addr, length, iova, access, req, type);
	}
	if (info.type == P2PMR_MEM_BAR) {
		p2pmr_dbg("reg_mr: %p is in a BAR mapping made after the classification cache was built",
			  addr);
		*type = P2PMR_MEM_BAR;
		mr = reg_bar(pd, addr, length, iova, access, &info, &exported);
		if (mr || exported)
			return mr;
		return stock_answer(pd, addr, length, iova, access, req, type);
	}
	if (was_bar) {
		p2pmr_dbg("reg_mr: %p is no longer in a BAR mapping", addr);
		*type = P2PMR_MEM_HOST;
		return reg_host(pd, addr, length, iova, access, req);
	}

	/* Not a BAR by its path: the kernel has the last word. */
	mr = reg_bar(pd, addr, length, iova, access, NULL, &exported);
	if (mr) {
		p2pmr_dbg("reg_mr: %p is a BAR mapping the kernel knows and /proc/self/maps does not show as one (a resource file reached by another path)",
			  addr);
		*type = P2PMR_MEM_BAR;
		return mr;
	}
	if (exported) {
		*type = P2PMR_MEM_BAR;
		return NULL;
	}
	errno = err;
	return NULL;
}

struct ibv_mr *p2pmr_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			    uint64_t iova, int access)
{
	enum p2pmr_mem_type type;

	return p2pmr_reg_mr_req(pd, addr, length, iova, access, NULL, &type);
}
