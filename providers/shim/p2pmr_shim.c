// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * The verbs shim: unmodified ibv_reg_mr() on PCI BAR mappings.
 *
 * Preloaded (LD_PRELOAD, /etc/ld.so.preload), this object defines the MR
 * registration entry points of libibverbs and so comes first when the
 * dynamic linker binds an application's calls to them:
 *
 *   ibv_reg_mr         (what the ibv_reg_mr() macro calls for plain access)
 *   ibv_reg_mr_iova    (likewise for ibv_reg_mr_iova())
 *   ibv_reg_mr_iova2   (what both macros call for optional access flags)
 *   ibv_reg_dmabuf_mr  (uverbs fallback where the provider lacks it)
 *   ibv_reg_mr_ex      (rdma-core v59+: what perftest and current stacks
 *                       call first; an address, or a dma-buf fd)
 *   ibv_reg_buf_mr     (rdma-core v64+: provider buffers, passed through)
 *   ibv_rereg_mr       (refused for MRs the shim made through libp2pmr)
 *   ibv_dereg_mr       (releases either kind)
 *
 * Each is defined at the symbol version libibverbs gives it today (see
 * p2pmr-shim.map), so a reference bound to an older version of the same
 * name (ibv_reg_mr@IBVERBS_1.0, whose struct layouts differ) still
 * reaches libibverbs' compatibility code, which calls the current
 * version, and so the shim, in turn.
 *
 * Host memory goes straight to libibverbs' own function after one lookup
 * in libp2pmr's classification cache.  BAR memory goes through libp2pmr:
 * exported by address through /dev/p2pmr and registered as a dma-buf MR
 * whose iova and addr are what the application asked for.  Where p2pmr
 * cannot export the memory, the caller gets libibverbs' own answer: with
 * the shim preloaded machine-wide, programs that never meant to register
 * device memory see no errno they would not have seen without it.
 *
 * Recursion.  libp2pmr is linked into this object (its symbols are local
 * here, see p2pmr-shim.map) and its call table is pointed at libibverbs'
 * own functions, found with dlvsym(RTLD_NEXT), so the library never calls
 * back into the shim.  libibverbs itself calls some of these functions
 * through its PLT (its ibv_reg_mr() calls ibv_reg_mr_iova2()), which would
 * land here again: a per-thread depth counter sends every call made while
 * the shim is already on the thread's stack straight to libibverbs.
 *
 * P2PMR_SHIM=0 in the environment turns the shim off: every call passes
 * through unchanged.  P2PMR_DEBUG=1 or 2 prints libp2pmr's messages.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <infiniband/verbs.h>

#include "p2pmr_internal.h"
#include "shim_compat.h"

/* Undo verbs.h's macros: these are the functions themselves. */
#undef ibv_reg_mr
#undef ibv_reg_mr_iova

#define SHIM_EXPORT	__attribute__((visibility("default")))

typedef struct ibv_mr *(*reg_mr_fn)(struct ibv_pd *, void *, size_t, int);
typedef struct ibv_mr *(*reg_mr_iova_fn)(struct ibv_pd *, void *, size_t,
					 uint64_t, int);
typedef struct ibv_mr *(*reg_mr_iova2_fn)(struct ibv_pd *, void *, size_t,
					  uint64_t, unsigned int);
typedef struct ibv_mr *(*reg_dmabuf_mr_fn)(struct ibv_pd *, uint64_t, size_t,
					   uint64_t, int, int);
typedef int (*rereg_mr_fn)(struct ibv_mr *, int, struct ibv_pd *, void *,
			   size_t, int);
typedef int (*dereg_mr_fn)(struct ibv_mr *);
typedef struct ibv_mr *(*reg_mr_ex_fn)(struct ibv_pd *,
				       struct ibv_mr_init_attr *);
typedef struct ibv_mr *(*reg_buf_mr_fn)(struct ibv_pd *, struct ibv_buf *,
					void *, size_t, int);

/* libibverbs' functions, at the versions its headers bind to today. */
static struct {
	reg_mr_fn reg_mr;
	reg_mr_iova_fn reg_mr_iova;
	reg_mr_iova2_fn reg_mr_iova2;
	reg_dmabuf_mr_fn reg_dmabuf_mr;
	rereg_mr_fn rereg_mr;
	dereg_mr_fn dereg_mr;
	reg_mr_ex_fn reg_mr_ex;
	reg_buf_mr_fn reg_buf_mr;
} next;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool shim_on;

/* Calls of this thread inside the shim; nonzero: pass through. */
static __thread unsigned int depth
	__attribute__((tls_model("initial-exec")));

/*
 * MRs the shim registered through libp2pmr (BAR memory, dma-buf fds):
 * ibv_rereg_mr() refuses them.  The count lets host MRs skip the lock.
 */
static pthread_mutex_t mrs_lock = PTHREAD_MUTEX_INITIALIZER;
static void *mrs;
static unsigned long mrs_count;

static void *next_sym(const char *name, const char *version)
{
	void *handle, *sym;

	sym = dlvsym(RTLD_NEXT, name, version);
	if (sym)
		return sym;
	/* libibverbs loaded with RTLD_LOCAL is not "next": ask it. */
	handle = dlopen("libibverbs.so.1", RTLD_LAZY | RTLD_NOLOAD);
	if (!handle)
		return NULL;
	sym = dlvsym(handle, name, version);
	dlclose(handle);	/* still loaded: its user holds it */
	return sym;
}

static struct ibv_mr *ops_reg_mr(struct ibv_pd *pd, void *addr,
				 size_t length, int access)
{
	/* what libibverbs' ibv_reg_mr() does, without its PLT detour */
	return next.reg_mr_iova2(pd, addr, length, (uintptr_t)addr, access);
}

static struct ibv_mr *ops_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset,
					size_t length, uint64_t iova, int fd,
					int access)
{
	if (!next.reg_dmabuf_mr) {
		/* a libibverbs older than v34: the uverbs ioctl may do */
		errno = EOPNOTSUPP;
		return NULL;
	}
	return next.reg_dmabuf_mr(pd, offset, length, iova, fd, access);
}

static int ops_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

static struct p2pmr_ops shim_ops = {
	.reg_mr = ops_reg_mr,
	.reg_dmabuf_mr = ops_reg_dmabuf_mr,
	.ioctl = ops_ioctl,
	.mmap = mmap,
	.munmap = munmap,
};

/* fork(): the child must not inherit mrs_lock held by another thread. */
static void mrs_fork_prepare(void)
{
	pthread_mutex_lock(&mrs_lock);
}

static void mrs_fork_done(void)
{
	pthread_mutex_unlock(&mrs_lock);
}

static void shim_init(void)
{
	const char *env = getenv("P2PMR_SHIM");

	next.reg_mr = next_sym("ibv_reg_mr", "IBVERBS_1.1");
	next.reg_mr_iova = next_sym("ibv_reg_mr_iova", "IBVERBS_1.7");
	next.reg_mr_iova2 = next_sym("ibv_reg_mr_iova2", "IBVERBS_1.8");
	next.reg_dmabuf_mr = next_sym("ibv_reg_dmabuf_mr", "IBVERBS_1.12");
	next.rereg_mr = next_sym("ibv_rereg_mr", "IBVERBS_1.1");
	next.dereg_mr = next_sym("ibv_dereg_mr", "IBVERBS_1.1");
	next.reg_mr_ex = next_sym("ibv_reg_mr_ex", "IBVERBS_1.15");
	next.reg_buf_mr = next_sym("ibv_reg_buf_mr", "IBVERBS_1.17");
	pthread_atfork(mrs_fork_prepare, mrs_fork_done, mrs_fork_done);

	if (env && !strcmp(env, "0")) {
		p2pmr_info("shim: off (P2PMR_SHIM=0): every registration goes to libibverbs unchanged");
		return;
	}
	if (!next.reg_mr || !next.reg_mr_iova2 || !next.dereg_mr) {
		p2pmr_err("shim: libibverbs (IBVERBS_1.8 or newer) not found: passing every call through");
		return;
	}
	shim_ops.reg_mr_iova2 = next.reg_mr_iova2;
	shim_ops.dereg_mr = next.dereg_mr;
	p2pmr_set_ops(&shim_ops);
	shim_on = true;
	p2pmr_dbg("shim: on, libp2pmr %s", p2pmr_version());
}

/*
 * Enter the shim.  Return: true when the call is the shim's to route,
 * false when it must pass straight through (shim off, or a call from
 * inside libibverbs or libp2pmr on this thread).
 */
static bool shim_enter(void)
{
	pthread_once(&init_once, shim_init);
	if (!shim_on || depth)
		return false;
	depth++;
	return true;
}

static void shim_leave(void)
{
	depth--;
}

static int ptr_cmp(const void *a, const void *b)
{
	return a == b ? 0 : (uintptr_t)a < (uintptr_t)b ? -1 : 1;
}

/* Remember an MR of libp2pmr's; on failure deregister it again. */
static struct ibv_mr *mrs_add(struct ibv_mr *mr)
{
	void *node;
	int err;

	if (!mr)
		return NULL;
	pthread_mutex_lock(&mrs_lock);
	node = tsearch(mr, &mrs, ptr_cmp);
	if (node)
		__atomic_add_fetch(&mrs_count, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&mrs_lock);
	if (node)
		return mr;

	err = p2pmr_dereg_mr(mr);
	if (err)
		p2pmr_err("shim: MR 0x%x leaked: %s", mr->lkey, strerror(err));
	p2pmr_err("shim: out of memory");
	errno = ENOMEM;
	return NULL;
}

/*
 * Every MR the shim remembers is a dma-buf MR: host MRs, the common case,
 * are told apart by their type alone, without a lock or a shared load.
 */
static bool mrs_has(struct ibv_mr *mr)
{
	bool found;

	if (!p2pmr_mr_may_be_dmabuf(mr) ||
	    !__atomic_load_n(&mrs_count, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&mrs_lock);
	found = tfind(mr, &mrs, ptr_cmp);
	pthread_mutex_unlock(&mrs_lock);
	return found;
}

static bool mrs_take(struct ibv_mr *mr)
{
	bool found = false;

	if (!p2pmr_mr_may_be_dmabuf(mr) ||
	    !__atomic_load_n(&mrs_count, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&mrs_lock);
	if (tfind(mr, &mrs, ptr_cmp)) {
		tdelete(mr, &mrs, ptr_cmp);
		__atomic_sub_fetch(&mrs_count, 1, __ATOMIC_RELAXED);
		found = true;
	}
	pthread_mutex_unlock(&mrs_lock);
	return found;
}

static void mrs_put_back(struct ibv_mr *mr)
{
	pthread_mutex_lock(&mrs_lock);
	if (tsearch(mr, &mrs, ptr_cmp))
		__atomic_add_fetch(&mrs_count, 1, __ATOMIC_RELAXED);
	else
		p2pmr_err("shim: MR 0x%x is no longer known to the shim",
			  mr->lkey);
	pthread_mutex_unlock(&mrs_lock);
}

/*
 * The one routing decision, libp2pmr's: host memory goes to libibverbs
 * after a lookup in the classification cache; BAR memory, or a guess of
 * the cache that the kernel proves wrong, is registered through a dma-buf
 * and remembered.
 */
static struct ibv_mr *route_reg_req(struct ibv_pd *pd, void *addr,
				    size_t length, uint64_t iova,
				    unsigned int access,
				    struct p2pmr_reg_req *req)
{
	enum p2pmr_mem_type type;
	struct ibv_mr *mr;

	req->flags |= P2PMR_REG_STOCK_ERRNO;
	mr = p2pmr_reg_mr_req(pd, addr, length, iova, access, req, &type);
	if (mr && type == P2PMR_MEM_BAR) {
		p2pmr_dbg("shim: %p + 0x%zx is device memory: dma-buf MR lkey 0x%x",
			  addr, length, mr->lkey);
		return mrs_add(mr);
	}
	return mr;
}

static struct ibv_mr *route_reg(struct ibv_pd *pd, void *addr, size_t length,
				uint64_t iova, unsigned int access)
{
	struct p2pmr_reg_req req = { 0 };

	return route_reg_req(pd, addr, length, iova, access, &req);
}

SHIM_EXPORT
struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length,
				uint64_t iova, unsigned int access)
{
	struct ibv_mr *mr;

	if (!shim_enter()) {
		if (!next.reg_mr_iova2) {
			errno = ENOSYS;
			return NULL;
		}
		return next.reg_mr_iova2(pd, addr, length, iova, access);
	}
	mr = route_reg(pd, addr, length, iova, access);
	shim_leave();
	return mr;
}

SHIM_EXPORT
struct ibv_mr *ibv_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			  int access)
{
	struct ibv_mr *mr;

	if (!shim_enter()) {
		if (!next.reg_mr) {
			errno = ENOSYS;
			return NULL;
		}
		return next.reg_mr(pd, addr, length, access);
	}
	mr = route_reg(pd, addr, length, (uintptr_t)addr, access);
	shim_leave();
	return mr;
}

SHIM_EXPORT
struct ibv_mr *ibv_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length,
			       uint64_t iova, int access)
{
	struct ibv_mr *mr;

	if (!shim_enter()) {
		if (!next.reg_mr_iova) {
			errno = ENOSYS;
			return NULL;
		}
		return next.reg_mr_iova(pd, addr, length, iova, access);
	}
	mr = route_reg(pd, addr, length, iova, access);
	shim_leave();
	return mr;
}

SHIM_EXPORT
struct ibv_mr *ibv_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset,
				 size_t length, uint64_t iova, int fd,
				 int access)
{
	struct ibv_mr *mr;

	if (!shim_enter()) {
		if (!next.reg_dmabuf_mr) {
			errno = EOPNOTSUPP;
			return NULL;
		}
		return next.reg_dmabuf_mr(pd, offset, length, iova, fd, access);
	}
	mr = mrs_add(p2pmr_reg_dmabuf_mr(pd, offset, length, iova, fd,
					 access));
	shim_leave();
	return mr;
}

struct reg_mr_ex_call {
	struct ibv_pd *pd;
	struct ibv_mr_init_attr *attr;
};

/* Host memory through ibv_reg_mr_ex(), with all the caller asked for. */
static struct ibv_mr *reg_mr_ex_host(void *arg)
{
	struct reg_mr_ex_call *call = arg;

	return next.reg_mr_ex(call->pd, call->attr);
}

/*
 * ibv_reg_mr_ex() of a dma-buf fd that the provider refused with
 * EOPNOTSUPP: libp2pmr registers through the uverbs ioctl where the
 * provider has no reg_dmabuf_mr (as ibv_reg_dmabuf_mr() does here), and
 * lays out mr->addr as libibverbs does for an fd without an address.
 */
static struct ibv_mr *reg_mr_ex_dmabuf(struct ibv_pd *pd,
				       struct ibv_mr_init_attr *attr)
{
	const uint64_t plain = IBV_REG_MR_MASK_FD | IBV_REG_MR_MASK_FD_OFFSET |
			       IBV_REG_MR_MASK_IOVA;
	struct ibv_mr *mr;
	int err;

	mr = next.reg_mr_ex(pd, attr);
	if (mr || errno != EOPNOTSUPP || attr->comp_mask != plain)
		return mr;
	err = errno;
	mr = p2pmr_reg_dmabuf_mr(pd, attr->fd_offset, attr->length, attr->iova,
				 attr->fd, attr->access);
	if (!mr) {
		if (errno == EOPNOTSUPP)
			errno = err;
		return NULL;
	}
	mr->addr = (void *)(uintptr_t)attr->fd_offset;
	return mrs_add(mr);
}

SHIM_EXPORT
struct ibv_mr *ibv_reg_mr_ex(struct ibv_pd *pd,
			     struct ibv_mr_init_attr *attr)
{
	struct reg_mr_ex_call call = { .pd = pd, .attr = attr };
	struct p2pmr_reg_req req = {
		.reg_host = reg_mr_ex_host,
		.reg_host_arg = &call,
	};
	uint64_t mask;
	struct ibv_mr *mr;

	if (!shim_enter()) {
		if (!next.reg_mr_ex) {
			errno = EOPNOTSUPP;
			return NULL;
		}
		return next.reg_mr_ex(pd, attr);
	}
	if (!next.reg_mr_ex) {
		/* only a libibverbs that has it can have sent us here */
		shim_leave();
		errno = EOPNOTSUPP;
		return NULL;
	}
	mask = attr ? attr->comp_mask : 0;
	if (mask & IBV_REG_MR_MASK_FD) {
		mr = reg_mr_ex_dmabuf(pd, attr);
	} else if (!(mask & IBV_REG_MR_MASK_ADDR) ||
		   mask & (IBV_REG_MR_MASK_DMAH | IBV_REG_MR_MASK_BUF |
			   IBV_REG_MR_MASK_FD_OFFSET) ||
		   mask & ~(uint64_t)SHIM_REG_MR_MASK_KNOWN) {
		/*
		 * Provider buffers, DMA handles (TPH), and what libibverbs
		 * itself must judge: theirs, unchanged.
		 */
		mr = next.reg_mr_ex(pd, attr);
	} else {
		mr = route_reg_req(pd, attr->addr, attr->length,
				   mask & IBV_REG_MR_MASK_IOVA ?
				   attr->iova : (uintptr_t)attr->addr,
				   attr->access, &req);
	}
	shim_leave();
	return mr;
}

SHIM_EXPORT
struct ibv_mr *ibv_reg_buf_mr(struct ibv_pd *pd, struct ibv_buf *buf,
			      void *addr, size_t length, int access)
{
	struct ibv_mr *mr;

	/*
	 * A buffer of the provider's ibv_alloc_buf(), never a BAR: the
	 * shim is entered only so that libibverbs' own ibv_reg_mr_ex() call
	 * beneath passes straight through.
	 */
	if (!shim_enter()) {
		if (!next.reg_buf_mr) {
			errno = EOPNOTSUPP;
			return NULL;
		}
		return next.reg_buf_mr(pd, buf, addr, length, access);
	}
	if (!next.reg_buf_mr) {
		shim_leave();
		errno = EOPNOTSUPP;
		return NULL;
	}
	mr = next.reg_buf_mr(pd, buf, addr, length, access);
	shim_leave();
	return mr;
}

SHIM_EXPORT
int ibv_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd, void *addr,
		 size_t length, int access)
{
	if (!shim_enter()) {
		if (!next.rereg_mr) {
			errno = ENOSYS;
			return IBV_REREG_MR_ERR_INPUT;
		}
		return next.rereg_mr(mr, flags, pd, addr, length, access);
	}
	if (mr && mrs_has(mr)) {
		shim_leave();
		p2pmr_err("shim: ibv_rereg_mr of MR 0x%x refused: it is device memory registered through a dma-buf; deregister it and register again",
			  mr->lkey);
		errno = EOPNOTSUPP;
		return IBV_REREG_MR_ERR_INPUT;
	}
	shim_leave();
	return next.rereg_mr(mr, flags, pd, addr, length, access);
}

SHIM_EXPORT
int ibv_dereg_mr(struct ibv_mr *mr)
{
	int err;

	if (!shim_enter()) {
		if (!next.dereg_mr)
			return ENOSYS;
		return next.dereg_mr(mr);
	}
	if (!mr || !mrs_take(mr)) {
		shim_leave();
		return next.dereg_mr(mr);
	}
	/* libp2pmr's own MRs (uverbs fallback) and the provider's alike */
	err = p2pmr_dereg_mr(mr);
	if (err)
		mrs_put_back(mr);
	shim_leave();
	return err;
}
