// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * The calls the library makes into libibverbs and the kernel, in one table
 * that the unit tests replace to stand in for an RDMA device and for
 * /dev/p2pmr.  The library always calls through it.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <infiniband/verbs.h>

#include "p2pmr_internal.h"

static struct ibv_mr *real_reg_mr(struct ibv_pd *pd, void *addr,
				  size_t length, int access)
{
	/*
	 * As the ibv_reg_mr() macro does: the optional access flags need
	 * ibv_reg_mr_iova2(), which masks those the device lacks.
	 */
	if (access & IBV_ACCESS_OPTIONAL_RANGE)
		return ibv_reg_mr_iova2(pd, addr, length, (uintptr_t)addr,
					access);
	return (ibv_reg_mr)(pd, addr, length, access);
}

static int real_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

static const struct p2pmr_ops real_ops = {
	.reg_mr = real_reg_mr,
	.reg_mr_iova2 = ibv_reg_mr_iova2,
	.reg_dmabuf_mr = ibv_reg_dmabuf_mr,
	.dereg_mr = ibv_dereg_mr,
	.ioctl = real_ioctl,
	.mmap = mmap,
	.munmap = munmap,
};

const struct p2pmr_ops *p2pmr_ops = &real_ops;

void p2pmr_set_ops(const struct p2pmr_ops *ops)
{
	p2pmr_ops = ops ? ops : &real_ops;
}
