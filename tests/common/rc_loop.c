// SPDX-License-Identifier: GPL-2.0
/*
 * rc_loop: two RC QPs connected to each other over soft-RoCE loopback
 * (see rc_loop.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"
#include "rc_loop.h"

/* Connect @qp to @dest_qpn on our own port: INIT, RTR, RTS. */
static int rc_loop_connect(struct ibv_qp *qp, uint32_t dest_qpn,
			   const union ibv_gid *gid,
			   const struct rc_loop_attr *attr)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = attr->port,
		.qp_access_flags = IBV_ACCESS_REMOTE_READ |
				   IBV_ACCESS_REMOTE_WRITE,
	};
	int err;

	err = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (err)
		goto out;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = dest_qpn;
	a.max_dest_rd_atomic = attr->rd_atomic;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = *gid;
	a.ah_attr.grh.sgid_index = attr->gid_index;
	a.ah_attr.grh.hop_limit = 1;
	a.ah_attr.port_num = attr->port;
	err = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV |
			    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			    IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			    IBV_QP_MIN_RNR_TIMER);
	if (err)
		goto out;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = attr->rd_atomic;
	err = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			    IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			    IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
out:
	/* ibv_modify_qp() returns the error, errno is not always set */
	if (err > 0)
		errno = err;
	return err ? -1 : 0;
}

static enum rc_loop_err rc_loop_setup(struct rc_loop *l, struct ibv_pd *pd,
				      const struct rc_loop_attr *attr)
{
	struct ibv_qp_init_attr init = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = attr->send_wr,
			 .max_recv_wr = attr->recv_wr,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	union ibv_gid gid;
	int i;

	if (attr->buf_len) {
		l->len = attr->buf_len;
		l->buf = calloc(1, l->len);
		if (!l->buf)
			return RC_LOOP_ERR_BUF;
		l->mr = ibv_reg_mr(pd, l->buf, l->len, attr->buf_access);
		if (!l->mr)
			return RC_LOOP_ERR_BUF;
	}
	l->cq = ibv_create_cq(pd->context, attr->cq_entries, NULL, NULL, 0);
	if (!l->cq)
		return RC_LOOP_ERR_CQ;
	if (ibv_query_gid(pd->context, attr->port, attr->gid_index, &gid))
		return RC_LOOP_ERR_GID;
	init.send_cq = l->cq;
	init.recv_cq = l->cq;
	for (i = 0; i < 2; i++) {
		l->qp[i] = ibv_create_qp(pd, &init);
		if (!l->qp[i])
			return RC_LOOP_ERR_QP;
	}
	for (i = 0; i < 2; i++)
		if (rc_loop_connect(l->qp[i], l->qp[!i]->qp_num, &gid, attr))
			return RC_LOOP_ERR_CONNECT;
	return RC_LOOP_OK;
}

enum rc_loop_err rc_loop_create(struct rc_loop *l, struct ibv_pd *pd,
				const struct rc_loop_attr *attr)
{
	enum rc_loop_err err;
	int saved;

	memset(l, 0, sizeof(*l));
	err = rc_loop_setup(l, pd, attr);
	if (err) {
		saved = errno;
		rc_loop_destroy(l);
		errno = saved;
	}
	return err;
}

int rc_loop_destroy(struct rc_loop *l)
{
	int i, err, first = 0;

	for (i = 0; i < 2; i++) {
		if (l->qp[i]) {
			err = ibv_destroy_qp(l->qp[i]);
			if (err && !first)
				first = err;
		}
	}
	if (l->cq) {
		err = ibv_destroy_cq(l->cq);
		if (err && !first)
			first = err;
	}
	if (l->mr) {
		err = ibv_dereg_mr(l->mr);
		if (err && !first)
			first = err;
	}
	free(l->buf);
	memset(l, 0, sizeof(*l));
	if (!first)
		return 0;
	errno = first > 0 ? first : EIO;
	return -1;
}

int rc_loop_post(struct rc_loop *l, enum ibv_wr_opcode opcode,
		 struct ibv_sge *sge, uint64_t raddr, uint32_t rkey,
		 uint64_t wr_id)
{
	struct ibv_sge own = {
		.addr = (uintptr_t)l->buf,
		.length = l->len,
		.lkey = l->mr ? l->mr->lkey : 0,
	};
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = sge ? sge : &own,
		.num_sge = 1,
		.opcode = opcode,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;

	return ibv_post_send(l->qp[0], &wr, &bad);
}

double rc_loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int rc_loop_poll(struct rc_loop *l, struct ibv_wc *wc, int max,
		 double deadline, unsigned int sleep_us)
{
	int n;

	while ((n = ibv_poll_cq(l->cq, max, wc)) == 0 &&
	       rc_loop_now() < deadline)
		if (sleep_us)
			usleep(sleep_us);
	return n;
}

enum ibv_wc_status rc_loop_rdma(struct rc_loop *l, enum ibv_wr_opcode opcode,
				uint64_t raddr, uint32_t rkey,
				double timeout_s)
{
	struct ibv_wc wc;

	if (rc_loop_post(l, opcode, NULL, raddr, rkey, 0)) {
		perror("ibv_post_send");
		return IBV_WC_GENERAL_ERR;
	}
	if (rc_loop_poll(l, &wc, 1, rc_loop_now() + timeout_s, 1000) <= 0) {
		fprintf(stderr, "rc_loop: no completion within %g s\n",
			timeout_s);
		return IBV_WC_GENERAL_ERR;
	}
	return wc.status;
}

int rc_loop_pattern_check(struct rc_loop *l, uint64_t offset,
			  uint64_t raddr, uint32_t rkey, uint32_t seed,
			  double timeout_s)
{
	enum ibv_wc_status st;
	size_t i;

	for (i = 0; i < l->len; i++)
		l->buf[i] = p2pmr_pattern_byte(seed, offset + i);
	st = rc_loop_rdma(l, IBV_WR_RDMA_WRITE, raddr, rkey, timeout_s);
	if (st != IBV_WC_SUCCESS) {
		printf("RDMA WRITE of %zu bytes: %s\n", l->len,
		       ibv_wc_status_str(st));
		return 1;
	}
	memset(l->buf, 0, l->len);
	st = rc_loop_rdma(l, IBV_WR_RDMA_READ, raddr, rkey, timeout_s);
	if (st != IBV_WC_SUCCESS) {
		printf("RDMA READ of %zu bytes: %s\n", l->len,
		       ibv_wc_status_str(st));
		return 1;
	}
	for (i = 0; i < l->len; i++) {
		if (l->buf[i] != p2pmr_pattern_byte(seed, offset + i)) {
			printf("RDMA READ: byte %#" PRIx64
			       " of the dma-buf is %#x, not %#x\n",
			       offset + i, l->buf[i],
			       p2pmr_pattern_byte(seed, offset + i));
			return 1;
		}
	}
	printf("RDMA WRITE and READ of %zu bytes at dma-buf offset %#" PRIx64
	       ": pattern %u ok\n", l->len, offset, seed);
	return 0;
}
