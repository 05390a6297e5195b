/* SPDX-License-Identifier: GPL-2.0 */
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
 * kernel driver has no dma-buf MRs, EBADF for a bad @fd, ...), or EINVAL
 * for a NULL argument or a context whose kernel driver cannot be told.
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

#endif /* P2PMR_UVERBS_DMABUF_H */
