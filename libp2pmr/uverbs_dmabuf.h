/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * dma-buf memory regions through the raw uverbs ioctl.
 *
 * ibv_reg_dmabuf_mr() needs the verbs provider's user-space driver to
 * implement reg_dmabuf_mr; some (rdma-core's rxe among them) do not, even
 * where the kernel driver supports dma-buf MRs.  These functions issue
 * UVERBS_METHOD_REG_DMABUF_MR and UVERBS_METHOD_MR_DESTROY on the verbs
 * context's command fd directly, so they reach the kernel whatever the
 * provider does.  The MR they create is known to the kernel only, not to
 * libibverbs: it has no struct ibv_mr, and must be deregistered with
 * uverbs_dereg_mr() before its protection domain is deallocated.
 *
 * Errors follow libibverbs: 0 on success, else a positive errno.
 *
 * Internal to libp2pmr (p2pmr_reg_dmabuf_mr() is its public face); moved
 * here from tests/guest/uverbs_dmabuf.c with the same API, plus the _id
 * variants that let a caller probe the driver id once per MR.
 */
#ifndef P2PMR_UVERBS_DMABUF_H
#define P2PMR_UVERBS_DMABUF_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

/**
 * uverbs_reg_dmabuf_mr() - register a dma-buf memory region
 * @pd:     protection domain
 * @offset: offset of the region in the dma-buf
 * @length: length of the region
 * @iova:   address that work requests use for the first byte of the region
 *          (its offset in a page must equal that of @offset)
 * @fd:     the dma-buf's file descriptor; the caller keeps it
 * @access: IBV_ACCESS_* flags
 * @handle: on success, the MR's uverbs handle, for uverbs_dereg_mr()
 * @lkey:   on success, the local key
 * @rkey:   on success, the remote key
 *
 * Return: 0, or a positive errno: the kernel's (EOPNOTSUPP when the
 * kernel driver has no dma-buf MRs, EPROTONOSUPPORT when the kernel
 * predates them (5.12), EBADF for a bad @fd, ...), or EINVAL for a NULL
 * argument or a context whose kernel driver cannot be told.
 */
int uverbs_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset, size_t length,
			 uint64_t iova, int fd, int access, uint32_t *handle,
			 uint32_t *lkey, uint32_t *rkey);

/**
 * uverbs_dereg_mr() - deregister an MR made by uverbs_reg_dmabuf_mr()
 * @ctx:    the verbs context of the MR's protection domain
 * @handle: the MR's handle
 *
 * Return: 0 or a positive errno.
 */
int uverbs_dereg_mr(struct ibv_context *ctx, uint32_t handle);

/**
 * uverbs_driver_id() - the kernel driver id a command fd's ioctls carry
 * @cmd_fd:    a verbs context's command fd
 * @driver_id: on success, the id (enum rdma_driver_id)
 *
 * The kernel refuses an ioctl whose header names another driver than the
 * context's, and libibverbs keeps the id to itself, so this asks the
 * kernel, one ioctl per candidate id.
 *
 * Return: 0; EINVAL if no id is accepted; another errno of the ioctl
 * (ENOTTY: the fd takes no uverbs ioctls).
 */
int uverbs_driver_id(int cmd_fd, uint32_t *driver_id);

/* uverbs_reg_dmabuf_mr() for a known driver id. */
int uverbs_reg_dmabuf_mr_id(struct ibv_pd *pd, uint32_t driver_id,
			    uint64_t offset, size_t length, uint64_t iova,
			    int fd, int access, uint32_t *handle,
			    uint32_t *lkey, uint32_t *rkey);

/* uverbs_dereg_mr() for a known driver id. */
int uverbs_dereg_mr_id(struct ibv_context *ctx, uint32_t driver_id,
		       uint32_t handle);

#endif /* P2PMR_UVERBS_DMABUF_H */
