// SPDX-License-Identifier: GPL-2.0
/*
 * fi_bar_write: RDMA WRITE into BAR memory through libfabric, the way a
 * libfabric application would register it.
 *
 *   fi_bar_write -m dmabuf|shim -P <resource> [-a write|read]
 *                [-d <domain>] [-o <offset>] [-l <length>] [-x <seed>]
 *                [-e <errno>]
 *
 *   -m dmabuf  the BAR mapping is exported by address with libp2pmr's
 *              p2pmr_export_va() and the dma-buf registered with
 *              fi_mr_regattr(FI_MR_DMABUF): { fd, offset = <offset>,
 *              len = <length>, base_addr = the mapping }
 *   -m shim    the BAR address is registered with plain fi_mr_reg(), as
 *              for host memory: works only with libp2pmr-shim.so preloaded
 *   -P  the PCI sysfs resource file of the BAR, mapped whole (MAP_SHARED)
 *   -a write  (default) the BAR MR is the target of fi_write() from a host
 *             buffer: access FI_REMOTE_WRITE
 *   -a read   the BAR MR is the local sink of fi_read() from a host
 *             buffer: access FI_READ (no remote access to the BAR)
 *   -d  the libfabric domain (RDMA device), default rxe0
 *   -o, -l  where in the BAR to write and how much (default 0x100000 each)
 *   -x  the seed of the pattern written (p2pmr_pattern_byte(seed, BAR
 *       offset)), default 1
 *   -e  the expected result of the registration: 0 (default) or an errno
 *       name (EFAULT) or number; with a nonzero one nothing is written
 *
 * Provider "verbs;ofi_rxm", FI_EP_RDM, FI_RMA: two endpoints on one domain
 * in this process (soft-RoCE loopback), so rxm connects them through
 * rdma_cm as it would two processes.  Endpoint A moves the pattern from
 * a registered host buffer into the BAR MR, addressed by the MR's virtual
 * address (FI_MR_VIRT_ADDR; for the dma-buf MR base_addr + offset): it
 * writes into the BAR (-a write) or reads into it (-a read); both
 * endpoints' completion queues are polled so that rxm makes progress on
 * either side.
 *
 * libfabric 2.6's verbs provider turns FI_REMOTE_WRITE into
 * IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC, always; an HCA that
 * takes no remote atomics on device memory (soft-RoCE's dma-buf MRs)
 * refuses such a registration (EOPNOTSUPP).  FI_READ asks for local write
 * access only.
 *
 * While the BAR MR is registered the program prints p2pmr's attachment
 * counter (/sys/kernel/debug/p2pmr/counters): an attachment can only come
 * from the RDMA device importing the dma-buf, i.e. the MR is a dma-buf MR.
 * Whether the bytes arrived is for the caller to check from outside (the
 * host file behind the BAR).
 *
 * Exit status: 0 when the registration gives the expected result and the
 * write completes, 1 when not, 2 on bad usage or setup failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#include <p2pmr/p2pmr.h>

#include "pattern.h"
#include "test_args.h"

#define FI_API_VERSION	FI_VERSION(2, 0)
#define WRITE_TIMEOUT_S	60
#define P2PMR_COUNTERS	"/sys/kernel/debug/p2pmr/counters"

enum mode { MODE_DMABUF, MODE_SHIM };
enum op { OP_WRITE, OP_READ };

struct fi_ep_pair {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_av *av;
	struct fid_cq *cq[2];
	struct fid_ep *ep[2];
	fi_addr_t addr[2];
};

static void usage(void)
{
	fprintf(stderr,
		"usage: fi_bar_write -m dmabuf|shim -P <resource>\n"
		"                    [-a write|read] [-d <domain>]\n"
		"                    [-o <offset>] [-l <length>]\n"
		"                    [-x <seed>] [-e <errno>]\n");
	exit(2);
}

static int fi_fail(const char *what, int ret)
{
	fprintf(stderr, "fi_bar_write: %s: %s (%d)\n", what,
		fi_strerror(-ret), ret);
	return ret;
}

static int parse_errno(const char *s, int *err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ 0, "0" }, { EFAULT, "EFAULT" }, { EINVAL, "EINVAL" },
		{ EOPNOTSUPP, "EOPNOTSUPP" },
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

/* p2pmr's live attachment count, -1 if it cannot be read. */
static long p2pmr_attachments(void)
{
	char name[64];
	long v, found = -1;
	FILE *f = fopen(P2PMR_COUNTERS, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &v) == 2) {
		if (!strcmp(name, "attachments"))
			found = v;
	}
	fclose(f);
	return found;
}

/*
 * fi_getinfo for an RDM endpoint with RMA on <domain> through rxm over
 * verbs.  FI_HMEM is asked for first (FI_MR_DMABUF is documented for
 * domains with it); libfabric 2.6's verbs provider offers it only on mlx
 * and bnxt_re devices, and registers dma-bufs without it too.
 */
static int get_info(const char *domain, struct fi_info **info)
{
	static const uint64_t caps[] = { FI_RMA | FI_HMEM, FI_RMA };
	struct fi_info *hints;
	size_t i;
	int ret = -FI_ENODATA;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		hints = fi_allocinfo();
		if (!hints)
			return -FI_ENOMEM;
		hints->caps = caps[i];
		hints->mode = FI_CONTEXT | FI_CONTEXT2;
		hints->ep_attr->type = FI_EP_RDM;
		hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR |
					      FI_MR_ALLOCATED |
					      FI_MR_PROV_KEY;
		if (caps[i] & FI_HMEM)
			hints->domain_attr->mr_mode |= FI_MR_HMEM;
		hints->domain_attr->name = strdup(domain);
		hints->fabric_attr->prov_name = strdup("verbs;ofi_rxm");
		if (!hints->domain_attr->name ||
		    !hints->fabric_attr->prov_name) {
			fi_freeinfo(hints);
			return -FI_ENOMEM;
		}
		ret = fi_getinfo(FI_API_VERSION, NULL, NULL, 0, hints, info);
		fi_freeinfo(hints);
		if (!ret) {
			printf("fi_getinfo: provider %s, domain %s, %s\n",
			       (*info)->fabric_attr->prov_name,
			       (*info)->domain_attr->name,
			       (caps[i] & FI_HMEM) ? "FI_HMEM" :
			       "no FI_HMEM (not offered here)");
			return 0;
		}
		if (ret != -FI_ENODATA)
			break;
	}
	return fi_fail("fi_getinfo(verbs;ofi_rxm)", ret);
}

/* Two RDM endpoints on one domain, each in the other's address vector. */
static int open_pair(struct fi_ep_pair *p, const char *domain)
{
	struct fi_cq_attr cq_attr = { .format = FI_CQ_FORMAT_CONTEXT };
	struct fi_av_attr av_attr = { .type = FI_AV_TABLE };
	char name[2][256];
	size_t len;
	int ret, i;

	ret = get_info(domain, &p->info);
	if (ret)
		return ret;
	ret = fi_fabric(p->info->fabric_attr, &p->fabric, NULL);
	if (ret)
		return fi_fail("fi_fabric", ret);
	ret = fi_domain(p->fabric, p->info, &p->domain, NULL);
	if (ret)
		return fi_fail("fi_domain", ret);
	ret = fi_av_open(p->domain, &av_attr, &p->av, NULL);
	if (ret)
		return fi_fail("fi_av_open", ret);
	for (i = 0; i < 2; i++) {
		ret = fi_cq_open(p->domain, &cq_attr, &p->cq[i], NULL);
		if (ret)
			return fi_fail("fi_cq_open", ret);
		ret = fi_endpoint(p->domain, p->info, &p->ep[i], NULL);
		if (ret)
			return fi_fail("fi_endpoint", ret);
		ret = fi_ep_bind(p->ep[i], &p->cq[i]->fid,
				 FI_TRANSMIT | FI_RECV);
		if (!ret)
			ret = fi_ep_bind(p->ep[i], &p->av->fid, 0);
		if (ret)
			return fi_fail("fi_ep_bind", ret);
		ret = fi_enable(p->ep[i]);
		if (ret)
			return fi_fail("fi_enable", ret);
		len = sizeof(name[i]);
		ret = fi_getname(&p->ep[i]->fid, name[i], &len);
		if (ret)
			return fi_fail("fi_getname", ret);
	}
	for (i = 0; i < 2; i++) {
		ret = fi_av_insert(p->av, name[i], 1, &p->addr[i], 0, NULL);
		if (ret != 1)
			return fi_fail("fi_av_insert",
				       ret < 0 ? ret : -FI_EINVAL);
	}
	return 0;
}

static void close_fid(struct fid *fid, int *status)
{
	int ret;

	if (!fid)
		return;
	ret = fi_close(fid);
	if (ret) {
		fi_fail("fi_close", ret);
		*status = 1;
	}
}

/*
 * Progress both endpoints until neither has had anything to do for a
 * while.  rxm 2.6 handles completions still queued for a connection when
 * it closes the endpoint, after the connection's verbs endpoint is gone
 * (rxm_close_conn -> rxm_handle_comp -> rxm_post_recv: SIGSEGV); with both
 * ends in one process the peer's last messages are such completions
 * unless they were handled before.
 */
static void quiesce(struct fi_ep_pair *p)
{
	struct timespec tick = { .tv_nsec = 1000000 };
	int idle = 0, i;

	while (idle < 200) {
		idle++;
		for (i = 0; i < 2; i++) {
			if (p->cq[i] &&
			    fi_cq_read(p->cq[i], NULL, 0) != -FI_EAGAIN)
				idle = 0;
		}
		nanosleep(&tick, NULL);
	}
}

static void close_pair(struct fi_ep_pair *p, int *status)
{
	int i;

	quiesce(p);
	for (i = 0; i < 2; i++)
		close_fid(p->ep[i] ? &p->ep[i]->fid : NULL, status);
	for (i = 0; i < 2; i++)
		close_fid(p->cq[i] ? &p->cq[i]->fid : NULL, status);
	close_fid(p->av ? &p->av->fid : NULL, status);
	close_fid(p->domain ? &p->domain->fid : NULL, status);
	close_fid(p->fabric ? &p->fabric->fid : NULL, status);
	if (p->info)
		fi_freeinfo(p->info);
}

/*
 * RDMA WRITE (or READ) <len> bytes from (into) <buf> (MR descriptor
 * <desc>) to (from) <addr> of the MR with <key>, from endpoint 0 to
 * endpoint 1; wait for its completion, progressing both endpoints.
 */
static int rma_wait(struct fi_ep_pair *p, enum op op, void *buf, size_t len,
		    void *desc, uint64_t addr, uint64_t key)
{
	struct fi_context2 ctx;
	struct fi_cq_entry entry;
	struct fi_cq_err_entry err;
	time_t end = time(NULL) + WRITE_TIMEOUT_S;
	ssize_t ret;

	do {
		if (op == OP_WRITE)
			ret = fi_write(p->ep[0], buf, len, desc, p->addr[1],
				       addr, key, &ctx);
		else
			ret = fi_read(p->ep[0], buf, len, desc, p->addr[1],
				      addr, key, &ctx);
		if (ret == -FI_EAGAIN)
			fi_cq_read(p->cq[1], NULL, 0);
	} while (ret == -FI_EAGAIN && time(NULL) < end);
	if (ret)
		return fi_fail(op == OP_WRITE ? "fi_write" : "fi_read", ret);
	while (time(NULL) < end) {
		ret = fi_cq_read(p->cq[0], &entry, 1);
		if (ret == 1)
			break;
		if (ret == -FI_EAVAIL) {
			memset(&err, 0, sizeof(err));
			fi_cq_readerr(p->cq[0], &err, 0);
			fprintf(stderr, "fi_bar_write: RMA completion: %s\n",
				fi_cq_strerror(p->cq[0], err.prov_errno,
					       err.err_data, NULL, 0));
			return -err.err;
		}
		if (ret != -FI_EAGAIN)
			return fi_fail("fi_cq_read", ret);
		/* the target's side of the connection */
		fi_cq_read(p->cq[1], NULL, 0);
	}
	if (ret != 1) {
		fprintf(stderr, "fi_bar_write: no RMA completion in %d s\n",
			WRITE_TIMEOUT_S);
		return -FI_ETIMEDOUT;
	}
	if (entry.op_context != &ctx) {
		fprintf(stderr,
			"fi_bar_write: completion of another operation\n");
		return -FI_EOTHER;
	}
	return 0;
}

/* Register the BAR range as the mode says; the libfabric errno on failure. */
static int reg_bar(struct fi_ep_pair *p, enum mode mode, enum op op,
		   uint8_t *bar, size_t bar_size, uint64_t offset,
		   uint64_t length, struct fid_mr **mr, int *dmabuf_fd)
{
	uint64_t access = op == OP_WRITE ? FI_REMOTE_WRITE : FI_READ;
	const char *access_name = op == OP_WRITE ? "FI_REMOTE_WRITE" :
				  "FI_READ";
	struct fi_mr_dmabuf dmabuf;
	struct fi_mr_attr attr;
	int ret;

	if (mode == MODE_SHIM) {
		ret = fi_mr_reg(p->domain, bar + offset, length, access, 0, 0,
				0, mr, NULL);
		printf("fi_mr_reg(BAR + %#" PRIx64 ", %#" PRIx64
		       ", %s) = %s\n", offset, length, access_name,
		       ret ? fi_strerror(-ret) : "MR");
		return ret;
	}

	/* The whole mapping as one dma-buf; the MR is a window of it. */
	*dmabuf_fd = p2pmr_export_va(bar, bar_size, 0, NULL, 0);
	if (*dmabuf_fd < 0) {
		perror("p2pmr_export_va");
		return -FI_EOTHER;
	}
	dmabuf = (struct fi_mr_dmabuf) {
		.fd = *dmabuf_fd,
		.offset = offset,
		.len = length,
		.base_addr = bar,
	};
	attr = (struct fi_mr_attr) {
		.dmabuf = &dmabuf,
		.iov_count = 1,
		.access = access,
		.iface = FI_HMEM_SYSTEM,
	};
	ret = fi_mr_regattr(p->domain, &attr, FI_MR_DMABUF, mr);
	printf("fi_mr_regattr(FI_MR_DMABUF { fd %d, offset %#" PRIx64
	       ", len %#" PRIx64 ", base_addr BAR }, %s) = %s\n",
	       *dmabuf_fd, offset, length, access_name,
	       ret ? fi_strerror(-ret) : "MR");
	return ret;
}

/* Move the pattern of <seed> into BAR [offset, offset + length). */
static int move_pattern(struct fi_ep_pair *p, enum op op, uint8_t *bar,
			uint64_t offset, uint64_t length,
			struct fid_mr *bar_mr, uint32_t seed)
{
	struct fid_mr *src_mr = NULL;
	uint8_t *src;
	uint64_t i;
	int ret, status = 0;

	src = aligned_alloc(4096, (length + 4095) & ~4095ULL);
	if (!src) {
		perror("aligned_alloc");
		return 1;
	}
	for (i = 0; i < length; i++)
		src[i] = p2pmr_pattern_byte(seed, offset + i);
	ret = fi_mr_reg(p->domain, src, length,
			op == OP_WRITE ? FI_WRITE : FI_REMOTE_READ, 0, 0, 0,
			&src_mr, NULL);
	if (ret) {
		fi_fail("fi_mr_reg of the host buffer", ret);
		free(src);
		return 1;
	}
	/* FI_MR_VIRT_ADDR: remote addresses are the MRs' virtual ones. */
	if (op == OP_WRITE)
		ret = rma_wait(p, op, src, length, fi_mr_desc(src_mr),
			       (uintptr_t)(bar + offset), fi_mr_key(bar_mr));
	else
		ret = rma_wait(p, op, bar + offset, length,
			       fi_mr_desc(bar_mr), (uintptr_t)src,
			       fi_mr_key(src_mr));
	if (ret) {
		status = 1;
	} else {
		printf("%s of %#" PRIx64 " bytes into BAR + %#" PRIx64
		       ": completed (pattern %u)\n",
		       op == OP_WRITE ? "fi_write" : "fi_read", length,
		       offset, seed);
	}
	close_fid(&src_mr->fid, &status);
	free(src);
	return status;
}

int main(int argc, char **argv)
{
	const char *resource = NULL, *domain = "rxe0";
	uint64_t offset = 0x100000, length = 0x100000, seed = 1;
	struct fi_ep_pair pair = { 0 };
	struct fid_mr *bar_mr = NULL;
	int mode = -1, op = OP_WRITE, expect = 0, dmabuf_fd = -1, status = 0;
	int res_fd, opt, ret;
	size_t bar_size;
	struct stat st;
	uint8_t *bar;
	long att;

	/* Our lines in order with libfabric's log (stderr) when piped. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "m:P:a:d:o:l:x:e:")) != -1) {
		switch (opt) {
		case 'm':
			if (!strcmp(optarg, "dmabuf"))
				mode = MODE_DMABUF;
			else if (!strcmp(optarg, "shim"))
				mode = MODE_SHIM;
			else
				usage();
			break;
		case 'P':
			resource = optarg;
			break;
		case 'a':
			if (!strcmp(optarg, "write"))
				op = OP_WRITE;
			else if (!strcmp(optarg, "read"))
				op = OP_READ;
			else
				usage();
			break;
		case 'd':
			domain = optarg;
			break;
		case 'o':
			if (test_parse_u64(optarg, &offset))
				usage();
			break;
		case 'l':
			if (test_parse_u64(optarg, &length))
				usage();
			break;
		case 'x':
			if (test_parse_u64(optarg, &seed) || seed > UINT32_MAX)
				usage();
			break;
		case 'e':
			if (parse_errno(optarg, &expect))
				usage();
			break;
		default:
			usage();
		}
	}
	if (mode < 0 || !resource || optind != argc || !length)
		usage();

	res_fd = open(resource, O_RDWR | O_CLOEXEC);
	if (res_fd < 0 || fstat(res_fd, &st)) {
		perror(resource);
		return 2;
	}
	bar_size = st.st_size;
	if (offset > bar_size || length > bar_size - offset ||
	    offset % 4096) {
		fprintf(stderr,
			"fi_bar_write: range outside the BAR (%zu bytes) or not page aligned\n",
			bar_size);
		return 2;
	}
	bar = mmap(NULL, bar_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   res_fd, 0);
	close(res_fd);
	if (bar == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	if (open_pair(&pair, domain)) {
		close_pair(&pair, &status);
		return 2;
	}

	ret = reg_bar(&pair, mode, op, bar, bar_size, offset, length, &bar_mr,
		      &dmabuf_fd);
	if (-ret != expect) {
		printf("expected %s\n", expect ? strerror(expect) : "an MR");
		status = 1;
	}
	if (!ret) {
		att = p2pmr_attachments();
		printf("p2pmr attachments while registered: %ld\n", att);
		if (!status)
			status = move_pattern(&pair, op, bar, offset, length,
					      bar_mr, seed);
		close_fid(&bar_mr->fid, &status);
	}
	if (dmabuf_fd >= 0)
		close(dmabuf_fd);
	close_pair(&pair, &status);
	munmap(bar, bar_size);
	return status;
}
