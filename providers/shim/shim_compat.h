/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * What the shim needs of libibverbs' newer API when it is built against
 * older headers (Debian 12 ships rdma-core 44): ibv_reg_mr_ex() and its
 * struct (IBVERBS_1.15, rdma-core v59) and ibv_reg_buf_mr()
 * (IBVERBS_1.17, v64).  The layouts are libibverbs' ABI, which never
 * changes once released; a shim built against old headers still wraps
 * these for the newer libibverbs it may be preloaded beside.
 */
#ifndef P2PMR_SHIM_COMPAT_H
#define P2PMR_SHIM_COMPAT_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

struct ibv_buf;
struct ibv_dmah;

#ifndef HAVE_IBV_REG_MR_EX
enum ibv_mr_init_attr_mask {
	IBV_REG_MR_MASK_IOVA = 1 << 0,
	IBV_REG_MR_MASK_ADDR = 1 << 1,
	IBV_REG_MR_MASK_FD = 1 << 2,
	IBV_REG_MR_MASK_FD_OFFSET = 1 << 3,
	IBV_REG_MR_MASK_DMAH = 1 << 4,
};

struct ibv_mr_init_attr {
	size_t length;
	int access;
	uint64_t comp_mask;
	uint64_t iova;
	void *addr;
	int fd;
	uint64_t fd_offset;
	struct ibv_dmah *dmah;
	struct ibv_buf *buf;	/* v64 */
};
#endif

#ifndef HAVE_IBV_REG_MR_MASK_BUF
#define IBV_REG_MR_MASK_BUF	(1 << 5)
#endif

/* The comp_mask bits the shim knows what to do with. */
#define SHIM_REG_MR_MASK_KNOWN						\
	(IBV_REG_MR_MASK_IOVA | IBV_REG_MR_MASK_ADDR | IBV_REG_MR_MASK_FD | \
	 IBV_REG_MR_MASK_FD_OFFSET | IBV_REG_MR_MASK_DMAH |		\
	 IBV_REG_MR_MASK_BUF)

struct ibv_mr *ibv_reg_mr_ex(struct ibv_pd *pd,
			     struct ibv_mr_init_attr *mr_init_attr);
struct ibv_mr *ibv_reg_buf_mr(struct ibv_pd *pd, struct ibv_buf *buf,
			      void *addr, size_t length, int access);

#endif
