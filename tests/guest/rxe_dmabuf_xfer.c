// SPDX-License-Identifier: GPL-2.0
/*
 * rxe_dmabuf_xfer: move data by RDMA into and out of a dma-buf MR over a
 * PCI BAR that p2pmr.ko exports, and check each transfer.
 *
 *   rxe_dmabuf_xfer -d <ibdev> -P <resource> [-o <offset>] [-l <length>]
 *                   [-i <iova>] [-a <access>] [-r <command>]
 *                   [-t <seconds>] [-M] <op>...
 *
 * The whole BAR behind the sysfs file <resource> is exported through
 * /dev/p2pmr, and one MR is registered over [offset, offset + length) of
 * that dma-buf at <iova> (defaults: 0, the whole BAR, iova = offset) with
 * <access> (as rxe_dmabuf_reg -a; default local_write, remote_read,
 * remote_write).  Then the ops run in order, each over a fresh pair of RC
 * QPs connected to each other on port 1, GID index 1, from a host-memory
 * buffer of its own.  AT is a byte offset in the MR (iova + AT is the
 * remote address, offset + AT the dma-buf offset); it may be negative, and
 * beyond the MR, for the deny- ops.  The pattern is indexed by dma-buf
 * offset, i.e. by BAR offset: byte i of an op holds
 * p2pmr_pattern_byte(SEED, offset + AT + i), as in the host file behind an
 * ivshmem BAR.
 *
 *   write,AT,LEN,SEED   RDMA WRITE the pattern to the MR
 *   read,AT,LEN,SEED    RDMA READ from the MR, compare with the pattern
 *   send,AT,LEN,SEED    SEND the pattern; the receive buffer is the MR at
 *                       AT (its lkey); the receive completion must say LEN
 *   zero,AT,LEN         RDMA WRITE zeros to the MR
 *   deny-write,AT,LEN   an RDMA WRITE (of 0xa5 bytes) must complete with a
 *                       remote access error
 *   deny-read,AT,LEN    an RDMA READ must complete with a remote access
 *                       error
 *   flood,AT,LEN,SEED   keep FLOOD_DEPTH RDMA WRITEs of the pattern in
 *                       flight; once FLOOD_START have completed, run the
 *                       -r command (one that revokes the dma-buf) in
 *                       another thread while posting goes on.  Work
 *                       requests must then complete with a remote access
 *                       error (the first) or flushed, none posted after
 *                       the command returned may succeed, all must
 *                       complete, and the command must succeed.
 *
 * With -M the BAR is not exported: <resource> is mapped (MAP_SHARED,
 * read-write) and [offset, offset + length) of the mapping registered with
 * plain ibv_reg_mr(), which only a peer-memory client of the RDMA core
 * (p2pmr.ko's, through the testbed's peer_mem_host.ko) can accept; the
 * iova is then the mapping's address (-i is refused).
 *
 * Every completion is awaited at most -t seconds (default 60).  The MR is
 * deregistered at the end whatever happened, and that must succeed.
 *
 * Exit status: 0 when every op passed, 1 at the first that failed (the
 * rest do not run), 2 on bad usage or setup failure.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "bar_export.h"
#include "pattern.h"
#include "rc_loop.h"
#include "test_args.h"
#include "uverbs_dmabuf.h"

#define FLOOD_DEPTH	32
#define FLOOD_START	8
#define DENY_BYTE	0xa5

enum op_kind { OP_WRITE, OP_READ, OP_SEND, OP_ZERO, OP_DENY_WRITE,
	       OP_DENY_READ, OP_FLOOD };

static const struct {
	const char *name;
	int has_seed;
} op_names[] = {
	[OP_WRITE] = { "write", 1 },
	[OP_READ] = { "read", 1 },
	[OP_SEND] = { "send", 1 },
	[OP_ZERO] = { "zero", 0 },
	[OP_DENY_WRITE] = { "deny-write", 0 },
	[OP_DENY_READ] = { "deny-read", 0 },
	[OP_FLOOD] = { "flood", 1 },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct op {
	enum op_kind kind;
	int64_t at;
	uint64_t len;
	uint32_t seed;
};

/* The BAR MR and what the ops need to reach it. */
struct target {
	struct ibv_pd *pd;
	uint64_t offset, length, iova;
	uint32_t lkey, rkey;
	const char *revoke_cmd;
	unsigned int timeout_s;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: rxe_dmabuf_xfer -d <ibdev> -P <resource> [-o <offset>] [-l <length>]\n"
		"                       [-i <iova>] [-a <access>] [-r <command>]\n"
		"                       [-t <seconds>] [-M] <op>...\n"
		"  op: write|read|send|flood,AT,LEN,SEED  zero|deny-write|deny-read,AT,LEN\n");
	exit(2);
}

static int parse_i64(const char *s, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 0);
	return (*s == '\0' || *end != '\0' || errno) ? -1 : 0;
}

/* "name,AT,LEN[,SEED]" */
static int parse_op(const char *s, struct op *op)
{
	char *copy = strdup(s), *f[6], *save = NULL;
	uint64_t seed = 0;
	int n = 0;
	size_t i;

	if (!copy)
		return -1;
	for (f[n] = strtok_r(copy, ",", &save); f[n] && n < 5;
	     f[++n] = strtok_r(NULL, ",", &save))
		;
	for (i = 0; i < ARRAY_SIZE(op_names); i++)
		if (n && !strcmp(op_names[i].name, f[0]))
			break;
	if (i == ARRAY_SIZE(op_names) || n != 3 + op_names[i].has_seed ||
	    parse_i64(f[1], &op->at) || test_parse_u64(f[2], &op->len) ||
	    !op->len || op->len > INT32_MAX ||
	    (n == 4 && (test_parse_u64(f[3], &seed) || seed > UINT32_MAX))) {
		free(copy);
		return -1;
	}
	op->kind = i;
	op->seed = seed;
	free(copy);
	return 0;
}

/* A loop with a host buffer of @len bytes and @depth work requests. */
static int loop_setup(struct rc_loop *l, struct ibv_pd *pd, size_t len,
		      unsigned int depth)
{
	const struct rc_loop_attr attr = {
		RC_LOOP_ATTR_DEFAULTS,
		.cq_entries = 2 * depth + 2,
		.send_wr = depth,
		.recv_wr = 1,
		.buf_len = len,
		.buf_access = IBV_ACCESS_LOCAL_WRITE,
	};

	if (rc_loop_create(l, pd, &attr)) {
		perror("setting up the loopback QPs");
		return -1;
	}
	return 0;
}

static int loop_post(struct rc_loop *l, enum ibv_wr_opcode opcode,
		     uint64_t remote_addr, uint32_t rkey, uint64_t wr_id)
{
	int err = rc_loop_post(l, opcode, NULL, remote_addr, rkey, wr_id);

	if (err)
		fprintf(stderr, "ibv_post_send: %s\n", strerror(err));
	return err;
}

/* Poll for one completion until the deadline; 0 when one came. */
static int loop_poll(struct rc_loop *l, struct ibv_wc *wc, double deadline)
{
	int n = rc_loop_poll(l, wc, 1, deadline, 200);

	if (n < 0)
		fprintf(stderr, "ibv_poll_cq failed\n");
	else if (n == 0)
		printf("no completion within the timeout\n");
	return n == 1 ? 0 : -1;
}

/* One signaled work request on qp[0]; its completion status, or -1. */
static int loop_one(struct rc_loop *l, enum ibv_wr_opcode opcode,
		    uint64_t remote_addr, uint32_t rkey, unsigned int timeout_s)
{
	struct ibv_wc wc;

	if (loop_post(l, opcode, remote_addr, rkey, 0) ||
	    loop_poll(l, &wc, rc_loop_now() + timeout_s))
		return -1;
	return wc.status;
}

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed,
			 uint64_t bar_off)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = p2pmr_pattern_byte(seed, bar_off + i);
}

static int check_pattern(const uint8_t *buf, size_t len, uint32_t seed,
			 uint64_t bar_off)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] != p2pmr_pattern_byte(seed, bar_off + i)) {
			printf("byte at BAR offset %#" PRIx64 " is %#x, not %#x (seed %u)\n",
			       bar_off + i, buf[i],
			       p2pmr_pattern_byte(seed, bar_off + i), seed);
			return -1;
		}
	}
	return 0;
}

/* SEND from host memory into a receive buffer in the BAR MR. */
static int do_send(struct rc_loop *l, const struct target *t,
		   const struct op *op)
{
	struct ibv_sge rsge = {
		.addr = t->iova + op->at,
		.length = op->len,
		.lkey = t->lkey,
	};
	struct ibv_recv_wr rwr = { .wr_id = 1, .sg_list = &rsge, .num_sge = 1 };
	struct ibv_recv_wr *bad;
	double deadline = rc_loop_now() + t->timeout_s;
	uint32_t rqpn = l->qp[1]->qp_num;
	struct ibv_wc wc;
	int i, err, got_send = 0, got_recv = 0;

	err = ibv_post_recv(l->qp[1], &rwr, &bad);
	if (err) {
		fprintf(stderr, "ibv_post_recv: %s\n", strerror(err));
		return -1;
	}
	if (loop_post(l, IBV_WR_SEND, 0, 0, 0))
		return -1;
	for (i = 0; i < 2; i++) {
		if (loop_poll(l, &wc, deadline))
			return -1;
		if (wc.status != IBV_WC_SUCCESS) {
			/* on error only status, wr_id and qp_num are valid */
			printf("%s completion: %s\n",
			       wc.qp_num == rqpn ? "receive" : "send",
			       ibv_wc_status_str(wc.status));
			return -1;
		}
		if (wc.opcode == IBV_WC_RECV) {
			if (wc.byte_len != op->len) {
				printf("received %u bytes, not %" PRIu64 "\n",
				       wc.byte_len, op->len);
				return -1;
			}
			got_recv = 1;
		} else {
			got_send = 1;
		}
	}
	return got_send && got_recv ? 0 : -1;
}

struct revoker {
	const char *cmd;
	int rc;
	atomic_int done;
};

static void *revoker_run(void *arg)
{
	struct revoker *r = arg;

	r->rc = system(r->cmd);
	atomic_store(&r->done, 1);
	return NULL;
}

/* What a flood has seen so far; wr_id is a work request's number. */
struct flood {
	uint64_t posted, completed, ok, errors, flushed;
	/* the first work request posted after the revocation returned */
	uint64_t first_after;
	enum ibv_wc_status first_err;
	int started, stop, fail;
};

/* Account for one completion of a flood. */
static void flood_complete(struct flood *f, const struct ibv_wc *wc)
{
	uint64_t id = wc->wr_id;

	f->completed++;
	if (wc->status == IBV_WC_SUCCESS) {
		f->ok++;
		if (id >= f->first_after) {
			printf("flood: WR %" PRIu64 " succeeded, posted after the revocation\n",
			       id);
			f->fail = 1;
		}
		return;
	}
	f->stop = 1;
	if (!f->started) {
		printf("flood: WR %" PRIu64 " failed before the revocation: %s\n",
		       id, ibv_wc_status_str(wc->status));
		f->fail = 1;
	}
	if (wc->status == IBV_WC_WR_FLUSH_ERR) {
		f->flushed++;
		return;
	}
	if (!f->errors++)
		f->first_err = wc->status;
	if (wc->status != IBV_WC_REM_ACCESS_ERR) {
		printf("flood: WR %" PRIu64 ": %s, not a remote access error\n",
		       id, ibv_wc_status_str(wc->status));
		f->fail = 1;
	}
}

/*
 * Keep RDMA WRITEs in flight and revoke the dma-buf under them: once
 * FLOOD_START have completed, the revoking command runs in a thread while
 * posting goes on, until a work request fails; then every outstanding one
 * must complete.
 */
static int do_flood(struct rc_loop *l, const struct target *t,
		    const struct op *op)
{
	struct flood f = { .first_after = UINT64_MAX };
	struct revoker r = { .cmd = t->revoke_cmd };
	double deadline = rc_loop_now() + t->timeout_s, done_at = 0;
	struct ibv_wc wcs[16];
	pthread_t thread;
	struct timespec ts;
	int n, i;

	fill_pattern(l->buf, l->len, op->seed, t->offset + op->at);
	while (!f.stop || f.completed < f.posted) {
		if (rc_loop_now() > deadline) {
			printf("flood: %" PRIu64 " of %" PRIu64 " WRs never completed\n",
			       f.posted - f.completed, f.posted);
			f.fail = 1;
			break;
		}
		if (f.started && !done_at && atomic_load(&r.done)) {
			f.first_after = f.posted;
			done_at = rc_loop_now();
		}
		if (done_at && !f.errors && !f.stop &&
		    rc_loop_now() > done_at + 10) {
			printf("flood: RDMA WRITEs still succeed 10 s after the revocation\n");
			f.fail = 1;
			f.stop = 1;
		}
		while (!f.stop && f.posted - f.completed < FLOOD_DEPTH) {
			if (loop_post(l, IBV_WR_RDMA_WRITE, t->iova + op->at,
				      t->rkey, f.posted)) {
				f.fail = 1;
				f.stop = 1;
				break;
			}
			f.posted++;
		}
		n = ibv_poll_cq(l->cq, ARRAY_SIZE(wcs), wcs);
		if (n < 0) {
			fprintf(stderr, "ibv_poll_cq failed\n");
			f.fail = 1;
			break;
		}
		if (!n)
			usleep(100);
		for (i = 0; i < n; i++)
			flood_complete(&f, &wcs[i]);
		if (f.started || f.stop || f.ok < FLOOD_START)
			continue;
		printf("flood: %" PRIu64 " writes of %" PRIu64 " bytes done, %"
		       PRIu64 " in flight: revoking: %s\n", f.ok, op->len,
		       f.posted - f.completed, r.cmd);
		fflush(stdout);
		if (pthread_create(&thread, NULL, revoker_run, &r)) {
			fprintf(stderr, "pthread_create failed\n");
			f.fail = 1;
			f.stop = 1;
		} else {
			f.started = 1;
		}
	}

	if (!f.started) {
		printf("flood: never reached %d completed writes\n",
		       FLOOD_START);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += t->timeout_s;
	if (pthread_timedjoin_np(thread, NULL, &ts)) {
		printf("flood: the revoking command still runs after %u s\n",
		       t->timeout_s);
		return -1;
	}
	printf("flood: %" PRIu64 " posted, %" PRIu64 " succeeded, %" PRIu64
	       " failed (first: %s), %" PRIu64 " flushed; command status %d\n",
	       f.posted, f.ok, f.errors, ibv_wc_status_str(f.first_err),
	       f.flushed, r.rc);
	if (r.rc) {
		printf("flood: the revoking command failed\n");
		f.fail = 1;
	}
	if (!f.errors) {
		printf("flood: no work request failed after the revocation\n");
		f.fail = 1;
	}
	return f.fail ? -1 : 0;
}

static int run_op(const struct target *t, const struct op *op)
{
	uint64_t bar_off = t->offset + op->at, raddr = t->iova + op->at;
	int st = -1, ret = -1;
	double start = rc_loop_now();
	struct rc_loop l;

	printf("%s %#" PRIx64 " bytes at MR%c%#" PRIx64 " (BAR %#" PRIx64
	       ", iova %#" PRIx64 ")", op_names[op->kind].name, op->len,
	       op->at < 0 ? '-' : '+',
	       op->at < 0 ? -(uint64_t)op->at : (uint64_t)op->at, bar_off,
	       raddr);
	if (op_names[op->kind].has_seed)
		printf(" seed %u", op->seed);
	printf("\n");
	fflush(stdout);

	if (loop_setup(&l, t->pd, op->len,
		       op->kind == OP_FLOOD ? FLOOD_DEPTH : 2))
		return -1;

	switch (op->kind) {
	case OP_WRITE:
		fill_pattern(l.buf, l.len, op->seed, bar_off);
		st = loop_one(&l, IBV_WR_RDMA_WRITE, raddr, t->rkey,
			      t->timeout_s);
		ret = st == IBV_WC_SUCCESS ? 0 : -1;
		break;
	case OP_ZERO:
		st = loop_one(&l, IBV_WR_RDMA_WRITE, raddr, t->rkey,
			      t->timeout_s);
		ret = st == IBV_WC_SUCCESS ? 0 : -1;
		break;
	case OP_READ:
		st = loop_one(&l, IBV_WR_RDMA_READ, raddr, t->rkey,
			      t->timeout_s);
		ret = st == IBV_WC_SUCCESS ?
			check_pattern(l.buf, l.len, op->seed, bar_off) : -1;
		break;
	case OP_DENY_WRITE:
		memset(l.buf, DENY_BYTE, l.len);
		st = loop_one(&l, IBV_WR_RDMA_WRITE, raddr, t->rkey,
			      t->timeout_s);
		ret = st == IBV_WC_REM_ACCESS_ERR ? 0 : -1;
		break;
	case OP_DENY_READ:
		st = loop_one(&l, IBV_WR_RDMA_READ, raddr, t->rkey,
			      t->timeout_s);
		ret = st == IBV_WC_REM_ACCESS_ERR ? 0 : -1;
		break;
	case OP_SEND:
		fill_pattern(l.buf, l.len, op->seed, bar_off);
		ret = do_send(&l, t, op);
		break;
	case OP_FLOOD:
		ret = do_flood(&l, t, op);
		break;
	}
	if (st >= 0)
		printf("  completion: %s\n",
		       ibv_wc_status_str((enum ibv_wc_status)st));
	rc_loop_destroy(&l);
	printf("%s %s: %.0f ms\n", ret ? "not ok" : "ok",
	       op_names[op->kind].name, (rc_loop_now() - start) * 1000);
	return ret;
}

int main(int argc, char **argv)
{
	const char *dev_name = NULL, *resource = NULL;
	uint64_t bar_size = 0, v;
	int have_length = 0, have_iova = 0;
	struct target t = { .timeout_s = 60 };
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
		     IBV_ACCESS_REMOTE_WRITE;
	struct ibv_context *ctx;
	struct ibv_mr *mr = NULL;
	struct op *ops;
	uint32_t handle = 0;
	int opt, nops, i, fd, err, status = 0, by_va = 0;
	void *map = MAP_FAILED;

	while ((opt = getopt(argc, argv, "+d:P:o:l:i:a:r:t:M")) != -1) {
		switch (opt) {
		case 'M':
			by_va = 1;
			break;
		case 'd':
			dev_name = optarg;
			break;
		case 'P':
			resource = optarg;
			break;
		case 'o':
			if (test_parse_u64(optarg, &t.offset))
				usage();
			break;
		case 'l':
			if (test_parse_u64(optarg, &t.length))
				usage();
			have_length = 1;
			break;
		case 'i':
			if (test_parse_u64(optarg, &t.iova))
				usage();
			have_iova = 1;
			break;
		case 'a':
			if (test_parse_access(optarg, &access))
				usage();
			break;
		case 'r':
			t.revoke_cmd = optarg;
			break;
		case 't':
			if (test_parse_u64(optarg, &v) || !v || v > 3600)
				usage();
			t.timeout_s = v;
			break;
		default:
			usage();
		}
	}
	nops = argc - optind;
	if (!dev_name || !resource || nops < 1)
		usage();
	ops = calloc(nops, sizeof(*ops));
	if (!ops)
		return 2;
	for (i = 0; i < nops; i++) {
		if (parse_op(argv[optind + i], &ops[i])) {
			fprintf(stderr, "rxe_dmabuf_xfer: bad op '%s'\n",
				argv[optind + i]);
			usage();
		}
		if (ops[i].kind == OP_FLOOD && !t.revoke_cmd) {
			fprintf(stderr, "rxe_dmabuf_xfer: flood needs -r\n");
			usage();
		}
	}

	if (by_va && have_iova)
		usage();
	fd = by_va ? test_map_bar(resource, &map, &bar_size) :
		     test_export_bar(resource, &bar_size);
	if (fd < 0)
		return 2;
	if (!have_length)
		t.length = bar_size - t.offset;
	if (by_va)
		t.iova = (uintptr_t)map + t.offset;
	else if (!have_iova)
		t.iova = t.offset;
	for (i = 0; i < nops; i++) {
		int deny = ops[i].kind == OP_DENY_WRITE ||
			   ops[i].kind == OP_DENY_READ;

		if (!deny && (ops[i].at < 0 ||
			      ops[i].at + ops[i].len > t.length)) {
			fprintf(stderr, "rxe_dmabuf_xfer: %s: outside the MR\n",
				argv[optind + i]);
			usage();
		}
	}

	t.pd = test_open_pd("rxe_dmabuf_xfer", dev_name);
	if (!t.pd)
		return 2;
	ctx = t.pd->context;
	if (by_va) {
		mr = ibv_reg_mr(t.pd, (uint8_t *)map + t.offset, t.length,
				access);
		err = mr ? 0 : errno;
		if (mr) {
			t.lkey = mr->lkey;
			t.rkey = mr->rkey;
		}
		printf("ibv_reg_mr(%s, mapping of %s + %#" PRIx64
		       ", length %#" PRIx64 ", access %#x): %s\n", dev_name,
		       resource, t.offset, t.length, access,
		       err ? strerror(err) : "ok");
	} else {
		err = uverbs_reg_dmabuf_mr(t.pd, t.offset, t.length, t.iova,
					   fd, access, &handle, &t.lkey,
					   &t.rkey);
		printf("reg_dmabuf_mr(%s, offset %#" PRIx64 ", length %#" PRIx64
		       ", iova %#" PRIx64 ", access %#x) of %s: %s\n",
		       dev_name, t.offset, t.length, t.iova, access, resource,
		       err ? strerror(err) : "ok");
	}
	if (err)
		return 2;

	for (i = 0; i < nops && !status; i++)
		if (run_op(&t, &ops[i]))
			status = 1;

	err = mr ? ibv_dereg_mr(mr) : uverbs_dereg_mr(ctx, handle);
	if (err) {
		printf("dereg_mr: %s\n", strerror(err));
		status = 1;
	}
	if (ibv_dealloc_pd(t.pd)) {
		perror("ibv_dealloc_pd");
		status = 1;
	}
	ibv_close_device(ctx);
	if (map != MAP_FAILED)
		munmap(map, bar_size);
	close(fd);
	free(ops);
	return status;
}
