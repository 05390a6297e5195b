// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * dma-buf memory regions through the raw uverbs ioctl; see uverbs_dmabuf.h.
 *
 * An ioctl on the context's command fd carries a header (object, method,
 * the kernel driver's id) followed by attributes: object handles in
 * `data`, inputs of up to 8 bytes inline in `data`, outputs as a pointer
 * in `data` with their size in `len`.  The kernel writes the handle of a
 * new object back into the attribute's `data`.
 *
 * The ioctl goes through p2pmr_ops, so the unit tests can play the kernel.
 */
#include <errno.h>
#include <string.h>

#include <rdma/ib_user_ioctl_cmds.h>
#include <rdma/ib_user_ioctl_verbs.h>
#include <rdma/rdma_user_ioctl_cmds.h>

#include "p2pmr_internal.h"
#include "uverbs_dmabuf.h"

/* Highest number rdma_driver_id may reach before this needs a look. */
#define UVERBS_DRIVER_ID_MAX	64
/* An object id outside every namespace: no kernel implements it. */
#define UVERBS_OBJECT_NONE	0x0fff

#define UVERBS_MAX_ATTRS	9

struct uverbs_cmd {
	struct ib_uverbs_ioctl_hdr hdr;
	struct ib_uverbs_attr attrs[UVERBS_MAX_ATTRS];
};

static void cmd_init(struct uverbs_cmd *cmd, uint16_t object, uint16_t method,
		     uint32_t driver_id)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->hdr.object_id = object;
	cmd->hdr.method_id = method;
	cmd->hdr.driver_id = driver_id;
}

static struct ib_uverbs_attr *cmd_attr(struct uverbs_cmd *cmd, uint16_t id)
{
	struct ib_uverbs_attr *attr = &cmd->attrs[cmd->hdr.num_attrs++];

	attr->attr_id = id;
	attr->flags = UVERBS_ATTR_F_MANDATORY;
	return attr;
}

/* An object handle (IDR attribute: no length). */
static struct ib_uverbs_attr *cmd_handle(struct uverbs_cmd *cmd, uint16_t id,
					 uint32_t handle)
{
	struct ib_uverbs_attr *attr = cmd_attr(cmd, id);

	attr->data = handle;
	return attr;
}

/* An input of at most 8 bytes, carried inline. */
static void cmd_in(struct uverbs_cmd *cmd, uint16_t id, const void *val,
		   uint16_t len)
{
	struct ib_uverbs_attr *attr = cmd_attr(cmd, id);

	attr->len = len;
	memcpy(&attr->data, val, len);
}

static void cmd_out(struct uverbs_cmd *cmd, uint16_t id, void *buf,
		    uint16_t len)
{
	struct ib_uverbs_attr *attr = cmd_attr(cmd, id);

	attr->len = len;
	attr->data = (uintptr_t)buf;
}

/* Issue the command; 0 or a positive errno. */
static int cmd_exec(int cmd_fd, struct uverbs_cmd *cmd)
{
	cmd->hdr.length = sizeof(cmd->hdr) +
			  cmd->hdr.num_attrs * sizeof(cmd->attrs[0]);
	if (p2pmr_ops->ioctl(cmd_fd, RDMA_VERBS_IOCTL, cmd))
		return errno;
	return 0;
}

/*
 * The kernel refuses an ioctl whose header names another driver than the
 * context's with EINVAL before it looks at anything else, and answers an
 * unknown object with EPROTONOSUPPORT.
 */
int uverbs_driver_id(int cmd_fd, uint32_t *driver_id)
{
	struct uverbs_cmd cmd;
	uint32_t id;
	int err;

	for (id = 0; id <= UVERBS_DRIVER_ID_MAX; id++) {
		cmd_init(&cmd, UVERBS_OBJECT_NONE, 0, id);
		err = cmd_exec(cmd_fd, &cmd);
		if (err == EINVAL)
			continue;
		if (err != EPROTONOSUPPORT)
			return err ? err : EINVAL;
		*driver_id = id;
		return 0;
	}
	return EINVAL;
}

int uverbs_reg_dmabuf_mr_id(struct ibv_pd *pd, uint32_t driver_id,
			    uint64_t offset, size_t length, uint64_t iova,
			    int fd, int access, uint32_t *handle,
			    uint32_t *lkey, uint32_t *rkey)
{
	struct ib_uverbs_attr *mr_handle;
	struct uverbs_cmd cmd;
	uint64_t len = length;
	uint32_t access32 = access;
	uint32_t fd32 = fd;
	int err;

	if (!pd || !pd->context || !handle || !lkey || !rkey)
		return EINVAL;

	cmd_init(&cmd, UVERBS_OBJECT_MR, UVERBS_METHOD_REG_DMABUF_MR, driver_id);
	/* the kernel writes the new MR's handle here */
	mr_handle = cmd_handle(&cmd, UVERBS_ATTR_REG_DMABUF_MR_HANDLE, 0);
	cmd_handle(&cmd, UVERBS_ATTR_REG_DMABUF_MR_PD_HANDLE, pd->handle);
	cmd_in(&cmd, UVERBS_ATTR_REG_DMABUF_MR_OFFSET, &offset, sizeof(offset));
	cmd_in(&cmd, UVERBS_ATTR_REG_DMABUF_MR_LENGTH, &len, sizeof(len));
	cmd_in(&cmd, UVERBS_ATTR_REG_DMABUF_MR_IOVA, &iova, sizeof(iova));
	cmd_in(&cmd, UVERBS_ATTR_REG_DMABUF_MR_FD, &fd32, sizeof(fd32));
	cmd_in(&cmd, UVERBS_ATTR_REG_DMABUF_MR_ACCESS_FLAGS, &access32,
	       sizeof(access32));
	cmd_out(&cmd, UVERBS_ATTR_REG_DMABUF_MR_RESP_LKEY, lkey, sizeof(*lkey));
	cmd_out(&cmd, UVERBS_ATTR_REG_DMABUF_MR_RESP_RKEY, rkey, sizeof(*rkey));

	err = cmd_exec(pd->context->cmd_fd, &cmd);
	if (err)
		return err;
	*handle = mr_handle->data;
	return 0;
}

int uverbs_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset, size_t length,
			 uint64_t iova, int fd, int access, uint32_t *handle,
			 uint32_t *lkey, uint32_t *rkey)
{
	uint32_t driver_id;
	int err;

	if (!pd || !pd->context)
		return EINVAL;
	err = uverbs_driver_id(pd->context->cmd_fd, &driver_id);
	if (err)
		return err;
	return uverbs_reg_dmabuf_mr_id(pd, driver_id, offset, length, iova, fd,
				       access, handle, lkey, rkey);
}

int uverbs_dereg_mr_id(struct ibv_context *ctx, uint32_t driver_id,
		       uint32_t handle)
{
	struct uverbs_cmd cmd;

	if (!ctx)
		return EINVAL;
	cmd_init(&cmd, UVERBS_OBJECT_MR, UVERBS_METHOD_MR_DESTROY, driver_id);
	cmd_handle(&cmd, UVERBS_ATTR_DESTROY_MR_HANDLE, handle);
	return cmd_exec(ctx->cmd_fd, &cmd);
}

int uverbs_dereg_mr(struct ibv_context *ctx, uint32_t handle)
{
	uint32_t driver_id;
	int err;

	if (!ctx)
		return EINVAL;
	err = uverbs_driver_id(ctx->cmd_fd, &driver_id);
	if (err)
		return err;
	return uverbs_dereg_mr_id(ctx, driver_id, handle);
}
