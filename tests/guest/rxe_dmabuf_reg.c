// SPDX-License-Identifier: GPL-2.0
/*
 * rxe_dmabuf_reg: register (and deregister) a dma-buf MR on an RDMA device
 * through the raw uverbs ioctl, and check the outcome.
 *
 *   rxe_dmabuf_reg -d <ibdev> (-f <fd> | -F <path> | -P <resource>)
 *                  [-o <offset>] [-l <length>] [-i <iova>] [-a <access>]
 *                  [-x <seed>] [-r <command>] [-w <seconds>] [-e <errno>]
 *
 *   -f  a file descriptor inherited from the caller (-1: an invalid one)
 *   -F  a file to open read-write and use as the dma-buf
 *   -P  a PCI sysfs resource file: the whole BAR, exported by p2pmr.ko
 *       through /dev/p2pmr, is the dma-buf
 *   -o, -l, -i  offset in the dma-buf, length and iova (default 0, 4096, 0)
 *   -a  comma-separated access: local_write, remote_read, remote_write,
 *       remote_atomic (default local_write,remote_read,remote_write)
 *   -x  once registered, RDMA WRITE the test pattern of this seed (byte at
 *       dma-buf offset o is p2pmr_pattern_byte(seed, o)) into the MR and
 *       RDMA READ it back, through a pair of RC QPs connected to each
 *       other on port 1, GID index 1 (RoCE v2)
 *   -r  then run this shell command (one that revokes the dma-buf) and
 *       check that an RDMA WRITE to the MR now fails with a remote
 *       access error
 *   -w  keep the MR that many seconds before deregistering it
 *   -e  the expected registration result: 0 or an errno name (EBADF) or
 *       number
 *
 * Exit status: 0 when the result is the expected one (success when -e is
 * not given) and the checks asked for pass, 1 when not, 2 on bad usage or
 * setup failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "bar_export.h"
#include "pattern.h"
#include "rc_loop.h"
#include "test_args.h"
#include "uverbs_dmabuf.h"

#define LOOP_TIMEOUT_S	60

#define ERRNO_NAME(e) { e, #e }

static const struct {
	int err;
	const char *name;
} errno_names[] = {
	{ 0, "0" },
	ERRNO_NAME(EPERM), ERRNO_NAME(ENOENT), ERRNO_NAME(EIO),
	ERRNO_NAME(E2BIG), ERRNO_NAME(EBADF), ERRNO_NAME(ENOMEM),
	ERRNO_NAME(EACCES), ERRNO_NAME(EFAULT), ERRNO_NAME(EBUSY),
	ERRNO_NAME(ENODEV), ERRNO_NAME(EINVAL), ERRNO_NAME(ENOTTY),
	ERRNO_NAME(ENOSPC), ERRNO_NAME(ERANGE), ERRNO_NAME(EPROTONOSUPPORT),
	ERRNO_NAME(EOPNOTSUPP), ERRNO_NAME(EOVERFLOW), ERRNO_NAME(EREMOTEIO),
};

static const char *errno_name(int err)
{
	static char buf[16];
	size_t i;

	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	snprintf(buf, sizeof(buf), "%d", err);
	return buf;
}

static int parse_errno(const char *s, int *err)
{
	char *end;
	size_t i;
	long v;

	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++) {
		if (!strcmp(errno_names[i].name, s)) {
			*err = errno_names[i].err;
			return 0;
		}
	}
	v = strtol(s, &end, 0);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 4095)
		return -1;
	*err = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rxe_dmabuf_reg -d <ibdev> (-f <fd> | -F <path> | -P <resource>)\n"
		"                      [-o <offset>] [-l <length>] [-i <iova>]\n"
		"                      [-a <access>] [-x <seed>] [-r <command>]\n"
		"                      [-w <seconds>] [-e <errno>]\n");
	exit(2);
}

/* After revocation a write to the MR must fail with an access error. */
static int loop_check_revoked(struct rc_loop *l, uint64_t iova, uint32_t rkey)
{
	enum ibv_wc_status st = rc_loop_rdma(l, IBV_WR_RDMA_WRITE, iova, rkey,
					      LOOP_TIMEOUT_S);

	printf("RDMA WRITE after revocation: %s\n", ibv_wc_status_str(st));
	return st != IBV_WC_REM_ACCESS_ERR;
}

int main(int argc, char **argv)
{
	const char *dev_name = NULL, *path = NULL, *resource = NULL;
	const char *revoke_cmd = NULL;
	uint64_t offset = 0, length = 4096, iova = 0, wait_s = 0, v;
	uint64_t seed = 0;
	int have_seed = 0;
	struct rc_loop_attr loop_attr = {
		RC_LOOP_ATTR_DEFAULTS,
		.cq_entries = 8,
		.send_wr = 4,
		.recv_wr = 1,
		.buf_access = IBV_ACCESS_LOCAL_WRITE,
	};
	struct rc_loop loop;
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
		     IBV_ACCESS_REMOTE_WRITE;
	int fd = -1, have_fd = 0, expect = 0, have_expect = 0;
	uint32_t handle, lkey, rkey;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	int opt, err, derr, status;
	char *end;

	while ((opt = getopt(argc, argv, "d:f:F:P:o:l:i:a:x:r:w:e:")) != -1) {
		switch (opt) {
		case 'd':
			dev_name = optarg;
			break;
		case 'f':
			fd = strtol(optarg, &end, 0);
			if (*optarg == '\0' || *end != '\0')
				usage();
			have_fd = 1;
			break;
		case 'F':
			path = optarg;
			break;
		case 'P':
			resource = optarg;
			break;
		case 'x':
			if (test_parse_u64(optarg, &seed) || seed > UINT32_MAX)
				usage();
			have_seed = 1;
			break;
		case 'r':
			revoke_cmd = optarg;
			break;
		case 'o':
			if (test_parse_u64(optarg, &offset))
				usage();
			break;
		case 'l':
			if (test_parse_u64(optarg, &length))
				usage();
			break;
		case 'i':
			if (test_parse_u64(optarg, &iova))
				usage();
			break;
		case 'a':
			if (test_parse_access(optarg, &access))
				usage();
			break;
		case 'w':
			if (test_parse_u64(optarg, &v))
				usage();
			wait_s = v;
			break;
		case 'e':
			if (parse_errno(optarg, &expect))
				usage();
			have_expect = 1;
			break;
		default:
			usage();
		}
	}
	if (!dev_name || optind != argc || have_fd + !!path + !!resource != 1 ||
	    (revoke_cmd && !have_seed) || (have_seed && length > INT32_MAX))
		usage();

	if (path) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			perror(path);
			return 2;
		}
	} else if (resource) {
		fd = test_export_bar(resource, NULL);
		if (fd < 0)
			return 2;
	}

	pd = test_open_pd("rxe_dmabuf_reg", dev_name);
	if (!pd)
		return 2;
	ctx = pd->context;

	err = uverbs_reg_dmabuf_mr(pd, offset, length, iova, fd, access,
				   &handle, &lkey, &rkey);
	printf("reg_dmabuf_mr(%s, fd %d, offset %#" PRIx64 ", length %#" PRIx64
	       ", iova %#" PRIx64 ", access %#x) = %s",
	       dev_name, fd, offset, length, iova, access, errno_name(err));
	if (err)
		printf(" (%s)\n", strerror(err));
	else
		printf(": handle %u lkey %#x rkey %#x\n", handle, lkey, rkey);

	status = have_expect ? err != expect : err != 0;
	if (!err) {
		if (have_seed) {
			loop_attr.buf_len = length;
			if (rc_loop_create(&loop, pd, &loop_attr)) {
				perror("setting up the loopback QPs");
				status = 1;
			} else if (rc_loop_pattern_check(&loop, offset, iova, rkey,
							 seed, LOOP_TIMEOUT_S)) {
				status = 1;
			} else if (revoke_cmd) {
				printf("revoking: %s\n", revoke_cmd);
				fflush(stdout);
				if (system(revoke_cmd))
					status = 1;
				else if (loop_check_revoked(&loop, iova, rkey))
					status = 1;
			}
			rc_loop_destroy(&loop);
		}
		if (wait_s)
			sleep(wait_s);
		derr = uverbs_dereg_mr(ctx, handle);
		if (derr) {
			printf("dereg_mr(handle %u) = %s (%s)\n", handle,
			       errno_name(derr), strerror(derr));
			status = 1;
		}
	}
	if (have_expect && err != expect)
		printf("expected %s\n", errno_name(expect));

	if (ibv_dealloc_pd(pd)) {
		perror("ibv_dealloc_pd");
		status = 1;
	}
	ibv_close_device(ctx);
	if (path || resource)
		close(fd);
	return status;
}
