// SPDX-License-Identifier: GPL-2.0
/*
 * verbs_dmabuf_mr: register a dma-buf MR with libibverbs' own
 * ibv_reg_dmabuf_mr(), nothing else in between (no libp2pmr, no shim),
 * and check the outcome.  Which libibverbs and which provider answer is
 * the caller's choice (LD_LIBRARY_PATH: Debian's rdma-core or an
 * upstream build); the program prints the ones it loaded.
 *
 *   verbs_dmabuf_mr -d <ibdev> (-f <fd> | -P <resource>) [-o <offset>]
 *                   [-l <length>] [-i <iova>] [-x <seed>] [-e <errno>]
 *
 *   -f  a file descriptor (-1: an invalid one, UCX's dma-buf probe)
 *   -P  a PCI sysfs resource file: the whole BAR exported as a dma-buf
 *       by p2pmr.ko (P2PMR_IOCTL_EXPORT_FD on /dev/p2pmr)
 *   -o, -l, -i  offset in the dma-buf, length and iova (default 0, 4096,
 *       0); access is local write, remote read and remote write
 *   -x  once registered, RDMA WRITE the test pattern of this seed (byte
 *       at dma-buf offset o is p2pmr_pattern_byte(seed, o)) into the MR
 *       from a host buffer, then RDMA READ it back, through a pair of RC
 *       QPs connected to each other (rc_loop)
 *   -e  the expected result: 0 or an errno name (EBADF) or number
 *
 * A registered MR must be what libibverbs makes of a provider's
 * reg_dmabuf_mr: lkey and rkey set, length as asked, addr the dma-buf
 * offset (ibv_cmd_reg_dmabuf_mr() sets it so).  ibv_dereg_mr() must then
 * free it.
 *
 * Exit status: 0 when the result is the expected one and the checks
 * pass, 1 when not, 2 on bad usage or setup failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <linux/p2pmr.h>

#include "pattern.h"
#include "rc_loop.h"
#include "test_args.h"

#define LOOP_TIMEOUT_S	60

static void usage(void)
{
	fprintf(stderr,
		"usage: verbs_dmabuf_mr -d <ibdev> (-f <fd> | -P <res>)\n"
		"                       [-o <offset>] [-l <length>]\n"
		"                       [-i <iova>] [-x <seed>] [-e <errno>]\n");
	exit(2);
}

static int parse_errno(const char *s, int *err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ 0, "0" }, { EBADF, "EBADF" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ EINVAL, "EINVAL" }, { EFAULT, "EFAULT" },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(names[i].name, s)) {
			*err = names[i].err;
			return 0;
		}
	}
	if (test_parse_u64(s, &v) || v > 4095)
		return -1;
	*err = v;
	return 0;
}

/* The whole BAR behind a sysfs resource file, as a dma-buf fd. */
static int export_bar(const char *resource)
{
	struct p2pmr_export_fd arg = {
		.size = sizeof(arg),
		.open_flags = O_RDWR | O_CLOEXEC,
	};
	struct stat st;
	int dev, res;

	res = open(resource, O_RDWR | O_CLOEXEC);
	if (res < 0 || fstat(res, &st)) {
		perror(resource);
		return -1;
	}
	dev = open("/dev/p2pmr", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		perror("/dev/p2pmr");
		close(res);
		return -1;
	}
	arg.resource_fd = res;
	arg.length = st.st_size;
	if (ioctl(dev, P2PMR_IOCTL_EXPORT_FD, &arg)) {
		perror("P2PMR_IOCTL_EXPORT_FD");
		arg.out_dmabuf_fd = -1;
	}
	close(dev);
	close(res);
	return arg.out_dmabuf_fd;
}

/* A PD on the RDMA device of that name; NULL (and a message) if none. */
static struct ibv_pd *open_pd(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd = NULL;
	int i;

	for (i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	if (!ctx) {
		fprintf(stderr, "verbs_dmabuf_mr: cannot open %s\n", name);
		return NULL;
	}
	pd = ibv_alloc_pd(ctx);
	if (!pd) {
		perror("ibv_alloc_pd");
		ibv_close_device(ctx);
	}
	return pd;
}

/* Print where this process has libibverbs and the rxe provider from. */
static void print_verbs_libraries(void)
{
	char line[4096], *path;
	FILE *f = fopen("/proc/self/maps", "r");
	char last[4096] = "";

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		path = strchr(line, '/');
		if (!path || (!strstr(path, "/libibverbs.so") &&
			      !strstr(path, "/librxe-rdmav")))
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(path, last))
			printf("loaded: %s\n", path);
		snprintf(last, sizeof(last), "%s", path);
	}
	fclose(f);
}

/* Write the pattern into the MR and read it back; 0 when it matches. */
static int loop_check(struct ibv_pd *pd, uint64_t offset, uint64_t length,
		      uint64_t iova, uint32_t rkey, uint32_t seed)
{
	struct rc_loop_attr attr = {
		RC_LOOP_ATTR_DEFAULTS,
		.cq_entries = 8,
		.send_wr = 4,
		.recv_wr = 1,
		.buf_len = length,
		.buf_access = IBV_ACCESS_LOCAL_WRITE,
	};
	struct rc_loop l;
	int ret;

	if (rc_loop_create(&l, pd, &attr)) {
		perror("setting up the loopback QPs");
		return 1;
	}
	ret = rc_loop_pattern_check(&l, offset, iova, rkey, seed,
				    LOOP_TIMEOUT_S);
	if (rc_loop_destroy(&l))
		ret = 1;
	return ret;
}

int main(int argc, char **argv)
{
	const char *dev_name = NULL, *resource = NULL;
	uint64_t offset = 0, length = 4096, iova = 0, seed = 0, v;
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
		     IBV_ACCESS_REMOTE_WRITE;
	int fd = -1, have_fd = 0, have_seed = 0, expect = 0, err, opt;
	int status = 0;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;

	while ((opt = getopt(argc, argv, "d:f:P:o:l:i:x:e:")) != -1) {
		switch (opt) {
		case 'd':
			dev_name = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "-1"))
				fd = -1;
			else if (!test_parse_u64(optarg, &v) && v <= INT32_MAX)
				fd = v;
			else
				usage();
			have_fd = 1;
			break;
		case 'P':
			resource = optarg;
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
		case 'x':
			if (test_parse_u64(optarg, &seed) || seed > UINT32_MAX)
				usage();
			have_seed = 1;
			break;
		case 'e':
			if (parse_errno(optarg, &expect))
				usage();
			break;
		default:
			usage();
		}
	}
	if (!dev_name || optind != argc || have_fd + !!resource != 1 ||
	    (have_seed && length > INT32_MAX))
		usage();

	if (resource) {
		fd = export_bar(resource);
		if (fd < 0)
			return 2;
	}
	pd = open_pd(dev_name);
	if (!pd)
		return 2;
	ctx = pd->context;
	print_verbs_libraries();

	mr = ibv_reg_dmabuf_mr(pd, offset, length, iova, fd, access);
	err = mr ? 0 : errno;
	printf("ibv_reg_dmabuf_mr(%s, offset %#" PRIx64 ", length %#" PRIx64
	       ", iova %#" PRIx64 ", fd %d) = %s\n", dev_name, offset, length,
	       iova, fd, mr ? "MR" : strerror(err));
	if (err != expect) {
		printf("expected %s\n", expect ? strerror(expect) : "an MR");
		status = 1;
	}
	if (mr) {
		printf("MR: addr %p length %zu lkey %#x rkey %#x\n", mr->addr,
		       mr->length, mr->lkey, mr->rkey);
		/* ibv_cmd_reg_dmabuf_mr() makes addr the dma-buf offset. */
		if ((uintptr_t)mr->addr != offset || mr->length != length ||
		    mr->pd != pd || mr->context != ctx || !mr->lkey) {
			printf("the MR is not what libibverbs makes of a dma-buf MR\n");
			status = 1;
		}
		if (have_seed && !status &&
		    loop_check(pd, offset, length, iova, mr->rkey, seed))
			status = 1;
		errno = 0;
		err = ibv_dereg_mr(mr);
		if (err) {
			printf("ibv_dereg_mr = %s\n", strerror(err));
			status = 1;
		}
	}
	if (ibv_dealloc_pd(pd)) {
		perror("ibv_dealloc_pd");
		status = 1;
	}
	ibv_close_device(ctx);
	if (resource)
		close(fd);
	return status;
}
