/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A soft-RoCE loopback: two RC QPs on one port, connected to each other
 * (INIT, RTR, RTS) through a GID of that port, sharing one CQ, and an
 * optional registered host buffer.  Work requests are posted on qp[0]; its
 * RDMA reaches MRs of the same PD through qp[1].  Shared by the guest test
 * programs and the benchmarks.
 */
#ifndef P2PMR_TEST_RC_LOOP_H
#define P2PMR_TEST_RC_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

/* The testbed's soft-RoCE port and its RoCE v2 GID. */
#define RC_LOOP_PORT		1
#define RC_LOOP_GID_INDEX	1

/* The testbed's usual attributes, for the start of an initializer. */
#define RC_LOOP_ATTR_DEFAULTS				\
	.port = RC_LOOP_PORT,				\
	.gid_index = RC_LOOP_GID_INDEX,			\
	.rd_atomic = 1

struct rc_loop_attr {
	uint8_t port;
	uint8_t gid_index;		/* the GID both QPs use, each way */
	int cq_entries;
	uint32_t send_wr, recv_wr;	/* per QP, one SGE each */
	uint8_t rd_atomic;		/* RDMA READs in flight, each way */
	size_t buf_len;			/* a zeroed host buffer, or 0: none */
	int buf_access;			/* its MR's access flags */
};

struct rc_loop {
	struct ibv_cq *cq;
	struct ibv_qp *qp[2];
	uint8_t *buf;			/* buf_len bytes, registered as mr */
	struct ibv_mr *mr;
	size_t len;
};

/* The step of rc_loop_create() that failed. */
enum rc_loop_err {
	RC_LOOP_OK,
	RC_LOOP_ERR_BUF,		/* the host buffer or its MR */
	RC_LOOP_ERR_CQ,
	RC_LOOP_ERR_GID,
	RC_LOOP_ERR_QP,			/* ibv_create_qp() */
	RC_LOOP_ERR_CONNECT,		/* INIT, RTR or RTS */
};

/*
 * Set up @l on @pd: RC_LOOP_OK, or the step that failed with errno set and
 * nothing left allocated (@l zeroed, safe to rc_loop_destroy()).
 */
enum rc_loop_err rc_loop_create(struct rc_loop *l, struct ibv_pd *pd,
				const struct rc_loop_attr *attr);

/*
 * Tear down whatever @l holds, even after a failure; 0, or -1 with errno
 * set by the first step that failed.
 */
int rc_loop_destroy(struct rc_loop *l);

/*
 * Post one signaled work request on qp[0]: @opcode from @sge (NULL: the
 * whole host buffer) to @raddr/@rkey.  ibv_post_send()'s result.
 */
int rc_loop_post(struct rc_loop *l, enum ibv_wr_opcode opcode,
		 struct ibv_sge *sge, uint64_t raddr, uint32_t rkey,
		 uint64_t wr_id);

/* Seconds on the monotonic clock, for rc_loop_poll()'s deadline. */
double rc_loop_now(void);

/*
 * Poll the CQ for up to @max completions until at least one comes or
 * rc_loop_now() reaches @deadline, sleeping @sleep_us between empty polls
 * (0: spin).  How many came, 0 at the deadline, < 0 when polling failed.
 */
int rc_loop_poll(struct rc_loop *l, struct ibv_wc *wc, int max,
		 double deadline, unsigned int sleep_us);

/*
 * One RDMA @opcode (WRITE or READ) between the whole host buffer and
 * @raddr/@rkey, waited for up to @timeout_s seconds: the completion's
 * status, or IBV_WC_GENERAL_ERR after a message on stderr when posting
 * failed or nothing completed.
 */
enum ibv_wc_status rc_loop_rdma(struct rc_loop *l, enum ibv_wr_opcode opcode,
				uint64_t raddr, uint32_t rkey,
				double timeout_s);

/*
 * Fill the host buffer with test pattern @seed as it reads at dma-buf
 * offset @offset (pattern.h), RDMA WRITE it to @raddr/@rkey, READ it back
 * into the zeroed buffer and compare: 0 when every byte came back, else 1
 * after a line on stdout saying what failed.
 */
int rc_loop_pattern_check(struct rc_loop *l, uint64_t offset,
			  uint64_t raddr, uint32_t rkey, uint32_t seed,
			  double timeout_s);

#endif /* P2PMR_TEST_RC_LOOP_H */
