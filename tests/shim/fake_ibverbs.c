// SPDX-License-Identifier: GPL-2.0
/*
 * The stand-in for libibverbs described in fake_ibverbs.h.  Calls that
 * libibverbs makes to its own exported functions go through its PLT, and
 * so does this: that is what brings them back to a preloaded shim.
 */
#include <errno.h>
#include <stdlib.h>

#include "fake_ibverbs.h"

#undef ibv_reg_mr
#undef ibv_reg_mr_iova

#define FAKE_MR_TYPE_MR		0
#define FAKE_MR_TYPE_DMABUF_MR	3

struct fake_mr {			/* struct verbs_mr */
	struct ibv_mr ibv_mr;
	int mr_type;
	int access;
};

struct fake_ibverbs fake_ibverbs;

/* the versioned definitions, bound by name through .symver */
struct ibv_mr *ibv_reg_mr_1_1(struct ibv_pd *pd, void *addr, size_t length,
			      int access);
struct ibv_mr *ibv_reg_mr_1_0(struct ibv_pd *pd, void *addr, size_t length,
			      int access);
int ibv_dereg_mr_1_1(struct ibv_mr *mr);
int ibv_dereg_mr_1_0(struct ibv_mr *mr);

static struct ibv_mr *new_mr(struct ibv_pd *pd, void *addr, size_t length,
			     int type, int access)
{
	struct fake_mr *mr = calloc(1, sizeof(*mr));

	if (!mr) {
		errno = ENOMEM;
		return NULL;
	}
	mr->ibv_mr.context = pd->context;
	mr->ibv_mr.pd = pd;
	mr->ibv_mr.addr = addr;
	mr->ibv_mr.length = length;
	mr->ibv_mr.lkey = 0x100;
	mr->ibv_mr.rkey = 0x200;
	mr->mr_type = type;
	mr->access = access;
	return &mr->ibv_mr;
}

/* The provider's reg_mr: the kernel pins host memory, not device memory. */
static struct ibv_mr *provider_reg_mr(struct ibv_pd *pd, void *addr,
				      size_t length, int access)
{
	uintptr_t a = (uintptr_t)addr;

	if (a < fake_ibverbs.devmem_end &&
	    a + length > fake_ibverbs.devmem_start) {
		errno = EFAULT;
		return NULL;
	}
	return new_mr(pd, addr, length, FAKE_MR_TYPE_MR, access);
}

/* The provider's reg_dmabuf_mr, or libibverbs' stub for one without. */
static struct ibv_mr *provider_reg_dmabuf_mr(struct ibv_pd *pd,
					     uint64_t offset, size_t length,
					     int fd, int access)
{
	fake_ibverbs.reg_dmabuf_calls++;
	if (!fake_ibverbs.provider_has_dmabuf) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (fd < 0) {
		errno = EBADF;	/* the kernel's dma_buf_get() */
		return NULL;
	}
	return new_mr(pd, (void *)(uintptr_t)offset, length,
		      FAKE_MR_TYPE_DMABUF_MR, access);
}

__attribute__((noinline))
struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length,
				uint64_t iova, unsigned int access)
{
	(void)iova;
	return provider_reg_mr(pd, addr, length, access);
}

__attribute__((noinline))
struct ibv_mr *ibv_reg_mr_1_1(struct ibv_pd *pd, void *addr, size_t length,
			      int access)
{
	return ibv_reg_mr_iova2(pd, addr, length, (uintptr_t)addr, access);
}
__asm__(".symver ibv_reg_mr_1_1, ibv_reg_mr@@IBVERBS_1.1");

/* libibverbs' compat-1_0.c wraps the current version, called by name */
struct ibv_mr *ibv_reg_mr_1_0(struct ibv_pd *pd, void *addr, size_t length,
			      int access)
{
	fake_ibverbs.compat_1_0_calls++;
	return ibv_reg_mr(pd, addr, length, access);
}
__asm__(".symver ibv_reg_mr_1_0, ibv_reg_mr@IBVERBS_1.0");

struct ibv_mr *ibv_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length,
			       uint64_t iova, int access)
{
	return ibv_reg_mr_iova2(pd, addr, length, iova, access);
}

struct ibv_mr *ibv_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset,
				 size_t length, uint64_t iova, int fd,
				 int access)
{
	(void)iova;
	return provider_reg_dmabuf_mr(pd, offset, length, fd, access);
}

/* rdma-core v64's ibv_reg_mr_ex(), over a provider without reg_mr_ex */
__attribute__((noinline))
struct ibv_mr *ibv_reg_mr_ex(struct ibv_pd *pd, struct ibv_mr_init_attr *attr)
{
	uint64_t mask = attr->comp_mask;
	struct ibv_mr *mr;

	fake_ibverbs.reg_mr_ex_calls++;
	fake_ibverbs.last_attr = attr;
	fake_ibverbs.last_mask = mask;
	if (mask & IBV_REG_MR_MASK_FD) {
		if (mask & IBV_REG_MR_MASK_ADDR ||
		    !(mask & IBV_REG_MR_MASK_FD_OFFSET) ||
		    !(mask & IBV_REG_MR_MASK_IOVA)) {
			errno = EINVAL;
			return NULL;
		}
		mr = provider_reg_dmabuf_mr(pd, attr->fd_offset, attr->length,
					    attr->fd, attr->access);
	} else if (mask & IBV_REG_MR_MASK_BUF) {
		mr = new_mr(pd, attr->addr, attr->length, FAKE_MR_TYPE_MR,
			    attr->access);
	} else {
		mr = provider_reg_mr(pd, attr->addr, attr->length,
				     attr->access);
	}
	if (mr)
		mr->addr = mask & IBV_REG_MR_MASK_ADDR ?
			   attr->addr : (void *)(uintptr_t)attr->fd_offset;
	return mr;
}

struct ibv_mr *ibv_reg_buf_mr(struct ibv_pd *pd, struct ibv_buf *buf,
			      void *addr, size_t length, int access)
{
	struct ibv_mr_init_attr attr = {
		.length = length,
		.access = access,
		.comp_mask = IBV_REG_MR_MASK_BUF | IBV_REG_MR_MASK_ADDR,
		.addr = addr,
		.buf = buf,
	};

	return ibv_reg_mr_ex(pd, &attr);
}

__attribute__((noinline))
int ibv_dereg_mr_1_1(struct ibv_mr *mr)
{
	free(mr);
	return 0;
}
__asm__(".symver ibv_dereg_mr_1_1, ibv_dereg_mr@@IBVERBS_1.1");

int ibv_dereg_mr_1_0(struct ibv_mr *mr)
{
	fake_ibverbs.compat_1_0_calls++;
	return ibv_dereg_mr(mr);
}
__asm__(".symver ibv_dereg_mr_1_0, ibv_dereg_mr@IBVERBS_1.0");

int ibv_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd, void *addr,
		 size_t length, int access)
{
	(void)mr;
	(void)flags;
	(void)pd;
	(void)addr;
	(void)length;
	(void)access;
	errno = EOPNOTSUPP;
	return IBV_REREG_MR_ERR_INPUT;
}
