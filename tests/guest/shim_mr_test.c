// SPDX-License-Identifier: GPL-2.0
/*
 * The verbs shim seen from an unmodified program: this one uses nothing
 * but libibverbs, calls plain ibv_reg_mr() on a mapping of a PCI BAR's
 * sysfs resource file, and runs with libp2pmr-shim.so preloaded (or not,
 * for the refusal cases).
 *
 *   shim_mr_test mixed   BAR and host MRs on one PD: RDMA WRITE host ->
 *                        BAR, READ BAR -> host, then a SEND/RECV
 *                        ping-pong with both buffers in the BAR
 *   shim_mr_test stale   BAR MR at an address, dereg, munmap, anonymous
 *                        memory MAP_FIXED at the same address: a host MR
 *   shim_mr_test refuse  ibv_reg_mr() on the BAR fails with -e ERRNO
 *   shim_mr_test rereg   ibv_rereg_mr() of a BAR MR fails with EOPNOTSUPP
 *   shim_mr_test cache   libp2pmr's export cache: one export per mapping,
 *                        reused; another part of the BAR and host memory
 *                        mapped where the mapping was; a child after fork()
 *   shim_mr_test dmabuf  a dma-buf of the BAR (made through /dev/p2pmr, as
 *                        any exporter's would come) mapped, and plain
 *                        ibv_reg_mr() on the mapping: writable, unaligned,
 *                        read-only for a read-only MR, refused for a
 *                        writable one
 *   shim_mr_test cuda    plain ibv_reg_mr() on cuMemAlloc() memory of the
 *                        CUDA driver library found by dlopen() (in the
 *                        testbed the stand-in of tests/cuda_stub, whose
 *                        device memory is the BAR of -P from
 *                        P2PMR_CUDA_STUB_OFFSET = -o on)
 *   shim_mr_test rocm    the same on the GPU pool of the ROCm runtime
 *                        (libhsa-runtime64.so.1; the stand-in of
 *                        tests/rocm_stub, from P2PMR_ROCM_STUB_OFFSET on)
 *
 * Options: -d rdma device, -P resource file, -o BAR offset, -l length,
 * -s pattern seed, -e expected errno name (refuse), -n ping-pong rounds.
 * The data written into the BAR is pattern(seed) over [offset, +length),
 * so the host can check the file behind the BAR afterwards.  Whether an MR
 * is a dma-buf MR is read from p2pmr's live-attachment counter (debugfs):
 * each dma-buf MR attaches to an export, while exports are not one per MR
 * (libp2pmr keeps one per BAR mapping).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cuda.h>
#include <hsa.h>
#include <infiniband/verbs.h>
#include <linux/p2pmr.h>

#include "pattern.h"
#include "rc_loop.h"

#define TIMEOUT_S	10
#define PP_SIZE		4096
#define COUNTERS	"/sys/kernel/debug/p2pmr/counters"
#define ACCESS		(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

#define fail(...) do {						\
	fprintf(stderr, "FAIL: " __VA_ARGS__);			\
	fputc('\n', stderr);					\
	exit(1);						\
} while (0)

static struct {
	const char *dev, *resource, *expect;
	uint64_t offset, length;
	uint32_t seed;
	unsigned int rounds;
	bool atomic;	/* -A: ask for IBV_ACCESS_REMOTE_ATOMIC too */
} opt = { .dev = "rxe0", .length = 0x100000, .seed = 1, .rounds = 100 };

struct ctx {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct rc_loop loop;
	int res_fd;
	size_t bar_size;
};

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "EFAULT", EFAULT }, { "EINVAL", EINVAL }, { "EOPNOTSUPP", EOPNOTSUPP },
	{ "ENOENT", ENOENT }, { "EREMOTEIO", EREMOTEIO }, { "EPERM", EPERM },
};

static const char *errno_name(int err)
{
	size_t i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	return "?";
}

/* One of p2pmr's counters; -1 when debugfs is not there. */
static long counter(const char *which)
{
	char name[64];
	long val = -1, v;
	FILE *f = fopen(COUNTERS, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &v) == 2)
		if (!strcmp(name, which))
			val = v;
	fclose(f);
	return val;
}

static long live_attachments(void)
{
	return counter("attachments");
}

static void setup(struct ctx *c)
{
	const struct rc_loop_attr attr = {
		RC_LOOP_ATTR_DEFAULTS,
		.cq_entries = 16,
		.send_wr = 4,
		.recv_wr = 4,
	};
	struct ibv_device **list;
	struct stat st;
	int i, n;

	c->res_fd = open(opt.resource, O_RDWR | O_CLOEXEC);
	if (c->res_fd < 0 || fstat(c->res_fd, &st))
		fail("%s: %s", opt.resource, strerror(errno));
	c->bar_size = st.st_size;

	list = ibv_get_device_list(&n);
	if (!list)
		fail("ibv_get_device_list: %s", strerror(errno));
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), opt.dev))
			break;
	if (i == n)
		fail("no RDMA device %s", opt.dev);
	c->ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!c->ctx)
		fail("ibv_open_device %s: %s", opt.dev, strerror(errno));
	c->pd = ibv_alloc_pd(c->ctx);
	if (!c->pd)
		fail("PD, CQ or GID: %s", strerror(errno));
	switch (rc_loop_create(&c->loop, c->pd, &attr)) {
	case RC_LOOP_OK:
		break;
	case RC_LOOP_ERR_QP:
		fail("ibv_create_qp: %s", strerror(errno));
	case RC_LOOP_ERR_CONNECT:
		fail("connecting the loopback QPs: %s", strerror(errno));
	default:
		fail("PD, CQ or GID: %s", strerror(errno));
	}
}

static void teardown(struct ctx *c)
{
	if (rc_loop_destroy(&c->loop) || ibv_dealloc_pd(c->pd) ||
	    ibv_close_device(c->ctx))
		fail("teardown: %s", strerror(errno));
	close(c->res_fd);
}

static void *map_bar(struct ctx *c, void *at)
{
	void *p = mmap(at, c->bar_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | (at ? MAP_FIXED : 0), c->res_fd, 0);

	if (p == MAP_FAILED)
		fail("mmap %s: %s", opt.resource, strerror(errno));
	return p;
}

/* Wait for @n completions, all successful. */
static void wait_wc(struct ctx *c, int n, const char *what)
{
	double deadline = rc_loop_now() + TIMEOUT_S;
	struct ibv_wc wc;
	int r;

	while (n) {
		r = rc_loop_poll(&c->loop, &wc, 1, deadline, 100);
		if (r < 0)
			fail("%s: ibv_poll_cq", what);
		if (!r)
			fail("%s: no completion", what);
		if (wc.status != IBV_WC_SUCCESS)
			fail("%s: completion status %s", what,
			     ibv_wc_status_str(wc.status));
		n--;
	}
}

static void rdma(struct ctx *c, enum ibv_wr_opcode op, struct ibv_mr *local,
		 void *laddr, struct ibv_mr *remote, void *raddr, size_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)laddr,
		.length = len,
		.lkey = local->lkey,
	};

	if (rc_loop_post(&c->loop, op, &sge, (uintptr_t)raddr, remote->rkey,
			 0))
		fail("ibv_post_send: %s", strerror(errno));
	wait_wc(c, 1, op == IBV_WR_RDMA_WRITE ? "RDMA WRITE" : "RDMA READ");
}

static void fill(uint8_t *p, size_t len, uint32_t seed, uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = p2pmr_pattern_byte(seed, off + i);
}

static void check(const volatile uint8_t *p, size_t len, uint32_t seed,
		  uint64_t off, const char *where)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != p2pmr_pattern_byte(seed, off + i))
			fail("%s: byte 0x%zx is 0x%02x, not 0x%02x", where, i,
			     p[i], p2pmr_pattern_byte(seed, off + i));
}

static int mr_access(void)
{
	return ACCESS | (opt.atomic ? IBV_ACCESS_REMOTE_ATOMIC : 0);
}

/* ibv_reg_mr() that must give a dma-buf MR (@bar) or a host MR. */
static struct ibv_mr *reg(struct ctx *c, void *addr, size_t len, bool bar,
			  const char *what)
{
	long before = live_attachments(), after;
	struct ibv_mr *mr;

	mr = ibv_reg_mr(c->pd, addr, len, mr_access());
	if (!mr)
		fail("ibv_reg_mr of %s (%p, 0x%zx): %s", what, addr, len,
		     strerror(errno));
	if (mr->addr != addr)
		fail("%s: MR address %p, not %p", what, mr->addr, addr);
	after = live_attachments();
	if (before >= 0 && after - before != (bar ? 1 : 0))
		fail("%s: p2pmr attachments went from %ld to %ld: %s", what,
		     before, after, bar ? "not a dma-buf MR" :
		     "host memory was exported");
	printf("ok ibv_reg_mr(%s) -> %s MR lkey 0x%x%s\n", what,
	       bar ? "dma-buf" : "host", mr->lkey,
	       before < 0 ? " (p2pmr counters not visible)" : "");
	return mr;
}

static void dereg(struct ibv_mr *mr, const char *what)
{
	int err = ibv_dereg_mr(mr);

	if (err)
		fail("ibv_dereg_mr of %s: %s", what, strerror(err));
}

/* SEND/RECV ping-pong between two buffers in the BAR. */
static void pingpong(struct ctx *c, struct ibv_mr *mr, uint8_t *a,
		     uint8_t *b)
{
	uint8_t *buf[2] = { a, b };
	unsigned int i;

	for (i = 0; i < opt.rounds; i++) {
		int from = i & 1, to = !from;
		struct ibv_sge rsge = {
			.addr = (uintptr_t)buf[to], .length = PP_SIZE,
			.lkey = mr->lkey,
		}, ssge = {
			.addr = (uintptr_t)buf[from], .length = PP_SIZE,
			.lkey = mr->lkey,
		};
		struct ibv_recv_wr rwr = { .sg_list = &rsge, .num_sge = 1 },
			*rbad;
		struct ibv_send_wr swr = {
			.sg_list = &ssge, .num_sge = 1,
			.opcode = IBV_WR_SEND,
			.send_flags = IBV_SEND_SIGNALED,
		}, *sbad;

		fill(buf[from], PP_SIZE, 1000 + i, 0);
		if (ibv_post_recv(c->loop.qp[to], &rwr, &rbad) ||
		    ibv_post_send(c->loop.qp[from], &swr, &sbad))
			fail("ping-pong round %u: post: %s", i,
			     strerror(errno));
		wait_wc(c, 2, "ping-pong");
		check(buf[to], PP_SIZE, 1000 + i, 0, "ping-pong message");
	}
	printf("ok %u SEND/RECV ping-pongs of %d bytes between two BAR buffers\n",
	       opt.rounds, PP_SIZE);
}

static int cmd_mixed(struct ctx *c)
{
	struct ibv_mr *bar_mr, *host_mr, *pp_mr;
	uint8_t *bar, *host, *dst, *pp;

	if (opt.offset + opt.length + 2 * PP_SIZE > c->bar_size)
		fail("offset + length + 8 KiB exceeds the BAR");
	host = aligned_alloc(4096, opt.length);
	if (!host)
		fail("out of memory");

	/* host first: the shim has seen the process before the BAR came */
	host_mr = reg(c, host, opt.length, false, "host buffer");
	bar = map_bar(c, NULL);
	dst = bar + opt.offset;
	pp = dst + opt.length;
	bar_mr = reg(c, dst, opt.length, true, "BAR range");

	memset(dst, 0, opt.length);
	fill(host, opt.length, opt.seed, opt.offset);
	rdma(c, IBV_WR_RDMA_WRITE, host_mr, host, bar_mr, dst, opt.length);
	check(dst, opt.length, opt.seed, opt.offset, "BAR after RDMA WRITE");
	printf("ok RDMA WRITE host -> BAR, 0x%" PRIx64 " bytes, checked through the CPU mapping\n",
	       opt.length);

	memset(host, 0, opt.length);
	rdma(c, IBV_WR_RDMA_READ, host_mr, host, bar_mr, dst, opt.length);
	check(host, opt.length, opt.seed, opt.offset, "host after RDMA READ");
	printf("ok RDMA READ BAR -> host\n");

	/* an unaligned sub-range, as applications register them too */
	pp_mr = reg(c, pp + 8, 2 * PP_SIZE - 8, true, "unaligned BAR range");
	dereg(pp_mr, "unaligned BAR range");
	pp_mr = reg(c, pp, 2 * PP_SIZE, true, "ping-pong buffers");
	pingpong(c, pp_mr, pp, pp + PP_SIZE);

	dereg(pp_mr, "ping-pong buffers");
	dereg(host_mr, "host buffer");
	dereg(bar_mr, "BAR range");
	if (live_attachments() > 0)
		fail("p2pmr still has %ld attachments after every dereg",
		     live_attachments());
	free(host);
	munmap(bar, c->bar_size);
	return 0;
}

static int cmd_stale(struct ctx *c)
{
	uint8_t *bar = map_bar(c, NULL), *src, *at = bar + opt.offset;
	struct ibv_mr *mr, *src_mr;
	void *anon;

	src = aligned_alloc(4096, opt.length);
	if (!src || opt.offset + opt.length > c->bar_size)
		fail("bad range or out of memory");
	src_mr = reg(c, src, opt.length, false, "source buffer");

	/* 1: a BAR MR at @at; RDMA puts pattern(seed) into the BAR */
	mr = reg(c, at, opt.length, true, "BAR range");
	fill(src, opt.length, opt.seed, opt.offset);
	rdma(c, IBV_WR_RDMA_WRITE, src_mr, src, mr, at, opt.length);
	check(at, opt.length, opt.seed, opt.offset, "BAR");
	dereg(mr, "BAR range");

	/* 2: host memory at the same address */
	if (munmap(bar, c->bar_size))
		fail("munmap: %s", strerror(errno));
	anon = mmap(at, opt.length, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (anon != at)
		fail("mmap MAP_FIXED at %p: %s", at, strerror(errno));
	printf("ok anonymous memory mapped where the BAR range was (%p)\n",
	       at);
	mr = reg(c, at, opt.length, false, "host memory at the old BAR address");
	fill(src, opt.length, opt.seed + 1, opt.offset);
	rdma(c, IBV_WR_RDMA_WRITE, src_mr, src, mr, at, opt.length);
	check(at, opt.length, opt.seed + 1, opt.offset, "host memory");
	printf("ok RDMA WRITE of seed %u landed in host memory\n",
	       opt.seed + 1);
	dereg(mr, "host memory");
	dereg(src_mr, "source buffer");
	munmap(at, opt.length);
	free(src);
	return 0;
}

/*
 * A BAR MR at @at, RDMA WRITE of pattern(@seed) for BAR offset @bar_off
 * into it, checked through @at; @new_exports: how many exports the
 * registration must add (libp2pmr's export cache: 1 for the first in a
 * mapping, then 0).
 */
static void write_bar_at(struct ctx *c, struct ibv_mr *src_mr, uint8_t *src,
			 uint8_t *at, uint64_t bar_off, uint32_t seed,
			 long new_exports, const char *what)
{
	long before = counter("exports");
	struct ibv_mr *mr;

	mr = reg(c, at, opt.length, true, what);
	if (before >= 0 && counter("exports") - before != new_exports)
		fail("%s: p2pmr exports went from %ld to %ld, expected +%ld",
		     what, before, counter("exports"), new_exports);
	fill(src, opt.length, seed, bar_off);
	rdma(c, IBV_WR_RDMA_WRITE, src_mr, src, mr, at, opt.length);
	check(at, opt.length, seed, bar_off, what);
	printf("ok %s: seed %u at BAR offset 0x%" PRIx64 ", %ld new export(s)\n",
	       what, seed, bar_off, new_exports);
	dereg(mr, what);
}

/*
 * libp2pmr's export cache, through the shim: one export per mapping,
 * reused, and never for memory the address no longer maps.  With O the
 * offset (-o), L the length (-l), s the seed (-s), the BAR gets s at O,
 * s+1 at O+L, s+2 at O+2L (through a mapping of it made where offset 0
 * was mapped), s+4 at O+3L, s+5 at O+4L (from a child after fork());
 * s+3 goes to host memory that replaced the BAR mapping.  -n: that many
 * more registrations in the first mapping, after the second range.
 */
static int cmd_cache(struct ctx *c)
{
	uint64_t o = opt.offset, l = opt.length;
	uint8_t *bar, *src, *part;
	struct ibv_mr *src_mr, *mr;
	unsigned int i;
	int status;
	pid_t pid;

	if (o + 5 * l > c->bar_size || l % 4096)
		fail("-o + 5 x -l exceeds the BAR, or -l is not in pages");
	src = aligned_alloc(4096, l);
	if (!src)
		fail("out of memory");
	src_mr = reg(c, src, l, false, "source buffer");

	bar = map_bar(c, NULL);
	write_bar_at(c, src_mr, src, bar + o, o, opt.seed, 1,
		     "first range of a mapping");
	write_bar_at(c, src_mr, src, bar + o + l, o + l, opt.seed + 1, 0,
		     "second range, the mapping's export reused");
	/* -n more, for a count of the kernel's checks (shim_mr.sh cache) */
	for (i = 0; i < opt.rounds; i++) {
		mr = reg(c, bar + o + (i % 2) * l, l, true, "a range again");
		dereg(mr, "a range again");
	}
	printf("ok %u more registrations in the mapping\n", opt.rounds);

	/* another part of the BAR where the mapping was */
	part = mmap(bar, l, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		    c->res_fd, o + 2 * l);
	if (part != bar)
		fail("mmap MAP_FIXED of BAR offset 0x%" PRIx64 ": %s",
		     o + 2 * l, strerror(errno));
	write_bar_at(c, src_mr, src, part, o + 2 * l, opt.seed + 2, 0,
		     "BAR offset O+2L mapped where offset 0 was");

	/* host memory where the BAR was */
	if (munmap(bar, c->bar_size))
		fail("munmap: %s", strerror(errno));
	if (mmap(bar, l, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != bar)
		fail("mmap MAP_FIXED anonymous: %s", strerror(errno));
	mr = reg(c, bar, l, false, "host memory where the BAR was");
	fill(src, l, opt.seed + 3, 0);
	rdma(c, IBV_WR_RDMA_WRITE, src_mr, src, mr, bar, l);
	check(bar, l, opt.seed + 3, 0, "host memory where the BAR was");
	printf("ok seed %u landed in the host memory that replaced the BAR mapping\n",
	       opt.seed + 3);
	dereg(mr, "host memory where the BAR was");
	munmap(bar, l);

	/* a child's registrations in the mapping it inherited */
	bar = map_bar(c, NULL);
	write_bar_at(c, src_mr, src, bar + o + 3 * l, o + 3 * l,
		     opt.seed + 4, 1, "a new mapping");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (!pid) {
		struct ctx child;
		uint8_t *csrc = aligned_alloc(4096, l);
		struct ibv_mr *csrc_mr;

		setup(&child);
		csrc_mr = reg(&child, csrc, l, false, "child's source buffer");
		write_bar_at(&child, csrc_mr, csrc, bar + o + 4 * l, o + 4 * l,
			     opt.seed + 5, 0,
			     "child, in the inherited mapping");
		dereg(csrc_mr, "child's source buffer");
		teardown(&child);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		fail("the child failed (status %#x)", status);
	printf("ok the child registered in its inherited mapping\n");

	dereg(src_mr, "source buffer");
	munmap(bar, c->bar_size);
	free(src);
	return 0;
}

/* Host buffers to RDMA WRITE from and RDMA READ into, registered. */
struct host_bufs {
	uint8_t *src, *dst;
	struct ibv_mr *src_mr, *dst_mr;
};

static void host_bufs_get(struct ctx *c, size_t len, struct host_bufs *h)
{
	h->src = aligned_alloc(4096, len);
	h->dst = aligned_alloc(4096, len);
	if (!h->src || !h->dst)
		fail("out of memory");
	h->src_mr = reg(c, h->src, len, false, "source buffer");
	h->dst_mr = reg(c, h->dst, len, false, "destination buffer");
}

static void host_bufs_put(struct host_bufs *h)
{
	dereg(h->dst_mr, "destination buffer");
	dereg(h->src_mr, "source buffer");
	free(h->src);
	free(h->dst);
}

/* A dma-buf of BAR [@off, @off + @len), as another exporter hands one. */
static int export_bar(struct ctx *c, uint64_t off, uint64_t len)
{
	struct p2pmr_export_fd e = {
		.size = sizeof(e),
		.resource_fd = c->res_fd,
		.open_flags = O_RDWR | O_CLOEXEC,
		.offset = off,
		.length = len,
	};
	int dev = open("/dev/" P2PMR_DEVICE_NAME, O_RDONLY | O_CLOEXEC);

	if (dev < 0 || ioctl(dev, P2PMR_IOCTL_EXPORT_FD, &e))
		fail("export of BAR 0x%" PRIx64 " + 0x%" PRIx64 ": %s", off,
		     len, strerror(errno));
	close(dev);
	return e.out_dmabuf_fd;
}

/*
 * /proc/self/maps names the mapping at @addr as the dma-buf filesystem's
 * file, which libp2pmr's classification reads ("/dmabuf:<name>").
 */
static void check_maps_names_dmabuf(const void *addr)
{
	char line[512], want[32];
	bool seen = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		fail("/proc/self/maps: %s", strerror(errno));
	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)addr);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			seen = strstr(line, " /dmabuf:") != NULL;
	fclose(f);
	if (!seen)
		fail("/proc/self/maps does not name the mapping at %p /dmabuf:",
		     addr);
	printf("ok /proc/self/maps names the dma-buf mapping /dmabuf:\n");
}

/*
 * Plain ibv_reg_mr() on a CPU mapping of a dma-buf of BAR [O, O + 2L)
 * (O the offset, L the length): the mapping's second half gets seed s,
 * whole (BAR [O + L, O + 2L)); its first half seed s+1 through an MR that
 * starts and ends off page boundaries (BAR [O + 2 KiB, O + L - 2 KiB)); a
 * read-only mapping of the first half takes a read-only MR, read by RDMA
 * READ, and no writable one.
 */
static int cmd_dmabuf(struct ctx *c)
{
	uint64_t o = opt.offset, l = opt.length, edge = 0x800;
	struct host_bufs h;
	struct ibv_mr *mr;
	uint8_t *m, *ro;
	int dmabuf;

	if (o + 2 * l > c->bar_size || l % 4096 || l < 3 * edge)
		fail("-o + 2 x -l exceeds the BAR, or -l is not in pages");
	host_bufs_get(c, l, &h);

	dmabuf = export_bar(c, o, 2 * l);
	m = mmap(NULL, 2 * l, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
	if (m == MAP_FAILED)
		fail("mmap of the dma-buf: %s", strerror(errno));
	close(dmabuf);	/* the mapping is all the program keeps */
	check_maps_names_dmabuf(m);

	mr = reg(c, m + l, l, true, "second half of the dma-buf mapping");
	fill(h.src, l, opt.seed, o + l);
	rdma(c, IBV_WR_RDMA_WRITE, h.src_mr, h.src, mr, m + l, l);
	check(m + l, l, opt.seed, o + l, "dma-buf mapping after RDMA WRITE");
	memset(h.dst, 0, l);
	rdma(c, IBV_WR_RDMA_READ, h.dst_mr, h.dst, mr, m + l, l);
	check(h.dst, l, opt.seed, o + l, "RDMA READ of the dma-buf mapping");
	printf("ok seed %u written and read back through a dma-buf mapping's MR\n",
	       opt.seed);
	dereg(mr, "second half of the dma-buf mapping");

	mr = reg(c, m + edge, l - 2 * edge, true,
		 "an unaligned range of the mapping");
	fill(h.src, l - 2 * edge, opt.seed + 1, o + edge);
	rdma(c, IBV_WR_RDMA_WRITE, h.src_mr, h.src, mr, m + edge,
	     l - 2 * edge);
	check(m + edge, l - 2 * edge, opt.seed + 1, o + edge,
	      "unaligned range after RDMA WRITE");
	printf("ok seed %u written through an MR at mapping offset 0x%" PRIx64 "\n",
	       opt.seed + 1, edge);
	dereg(mr, "an unaligned range of the mapping");

	dmabuf = export_bar(c, o, l);
	ro = mmap(NULL, l, PROT_READ, MAP_SHARED, dmabuf, 0);
	if (ro == MAP_FAILED)
		fail("read-only mmap of the dma-buf: %s", strerror(errno));
	close(dmabuf);
	mr = ibv_reg_mr(c->pd, ro, l, mr_access());
	if (mr || errno != EFAULT)
		fail("writable ibv_reg_mr of a read-only dma-buf mapping: %s, expected EFAULT",
		     mr ? "registered" : strerror(errno));
	printf("ok a writable MR of a read-only dma-buf mapping is refused: EFAULT\n");
	mr = ibv_reg_mr(c->pd, ro, l, IBV_ACCESS_REMOTE_READ);
	if (!mr)
		fail("read-only ibv_reg_mr of a read-only dma-buf mapping: %s",
		     strerror(errno));
	memset(h.dst, 0, l);
	rdma(c, IBV_WR_RDMA_READ, h.dst_mr, h.dst, mr, ro + edge, l - 2 * edge);
	check(h.dst, l - 2 * edge, opt.seed + 1, o + edge,
	      "RDMA READ through the read-only MR");
	printf("ok RDMA READ through a read-only MR of a read-only mapping\n");
	dereg(mr, "read-only MR");
	munmap(ro, l);

	munmap(m, 2 * l);
	host_bufs_put(&h);
	return 0;
}

/**
 * struct gpu_ops - a GPU runtime as this test drives it
 * @name: for messages
 * @alloc: allocate device memory
 * @to_host: copy device memory to host memory, through the runtime
 * @unset_current: leave no context current (NULL: the runtime has none)
 * @restore_current: undo @unset_current
 * @kept: libp2pmr keeps the allocation's export (the runtime names
 *	allocations uniquely), so the second MR makes no new export
 * @free: free what @alloc gave
 */
struct gpu_ops {
	const char *name;
	uint8_t *(*alloc)(size_t len);
	void (*to_host)(void *dst, const uint8_t *src, size_t len);
	void (*unset_current)(void);
	void (*restore_current)(void);
	bool kept;
	void (*free)(uint8_t *dev);
};

/*
 * Plain ibv_reg_mr() on device memory, as perftest's --use_cuda does: an
 * allocation of 2L, whose first byte the stand-in places at BAR offset O.
 * The allocation's second half gets seed s (BAR [O + L, O + 2L)), read
 * back by RDMA READ and by the runtime's copy; an unaligned range of the
 * first half seed s+1 (BAR [O + 2 KiB, O + L - 2 KiB)), registered with
 * no context current where the runtime has contexts (libp2pmr makes the
 * allocation's own current where it asks), from the same export where
 * libp2pmr keeps it (p2pmr's export counter: the stand-ins' dma-bufs are
 * p2pmr's); a range past the allocation's end is refused.
 */
static int device_mrs(struct ctx *c, const struct gpu_ops *gpu)
{
	uint64_t o = opt.offset, l = opt.length, edge = 0x800;
	struct host_bufs h;
	struct ibv_mr *mr;
	long exports;
	uint8_t *dev;

	if (o + 2 * l > c->bar_size || l % 4096 || l < 3 * edge)
		fail("-o + 2 x -l exceeds the BAR, or -l is not in pages");
	host_bufs_get(c, l, &h);
	dev = gpu->alloc(2 * l);
	printf("ok %s allocation of 0x%" PRIx64 " -> device pointer %p\n",
	       gpu->name, 2 * l, dev);

	exports = counter("exports");
	mr = reg(c, dev + l, l, true, "second half of the allocation");
	if (exports >= 0 && counter("exports") != exports + 1)
		fail("the first MR in the allocation made %ld exports, not 1",
		     counter("exports") - exports);
	fill(h.src, l, opt.seed, o + l);
	rdma(c, IBV_WR_RDMA_WRITE, h.src_mr, h.src, mr, dev + l, l);
	memset(h.dst, 0, l);
	rdma(c, IBV_WR_RDMA_READ, h.dst_mr, h.dst, mr, dev + l, l);
	check(h.dst, l, opt.seed, o + l, "RDMA READ of device memory");
	memset(h.dst, 0, l);
	gpu->to_host(h.dst, dev + l, l);
	check(h.dst, l, opt.seed, o + l, "the runtime's copy of device memory");
	printf("ok seed %u written into %s device memory by RDMA, read back by RDMA READ and by the runtime\n",
	       opt.seed, gpu->name);
	dereg(mr, "second half of the allocation");

	if (gpu->unset_current)
		gpu->unset_current();
	/* a kept export outlives the first MR; one of its own would not */
	exports = counter("exports");
	mr = reg(c, dev + edge, l - 2 * edge, true, "an unaligned range");
	if (exports >= 0 &&
	    counter("exports") != exports + (gpu->kept ? 0 : 1))
		fail("the second MR in the allocation made %ld exports, expected %d",
		     counter("exports") - exports, gpu->kept ? 0 : 1);
	fill(h.src, l - 2 * edge, opt.seed + 1, o + edge);
	rdma(c, IBV_WR_RDMA_WRITE, h.src_mr, h.src, mr, dev + edge,
	     l - 2 * edge);
	memset(h.dst, 0, l);
	rdma(c, IBV_WR_RDMA_READ, h.dst_mr, h.dst, mr, dev + edge,
	     l - 2 * edge);
	check(h.dst, l - 2 * edge, opt.seed + 1, o + edge,
	      "RDMA READ of the unaligned range");
	printf("ok seed %u through an MR at allocation offset 0x%" PRIx64 "%s\n",
	       opt.seed + 1, edge,
	       gpu->unset_current ? ", no context current" : "");
	printf("ok %s\n", gpu->kept ? "one export of the allocation served both MRs" :
	       "each MR had its own export (the runtime names no allocation uniquely)");
	dereg(mr, "an unaligned range");
	if (gpu->restore_current)
		gpu->restore_current();

	mr = ibv_reg_mr(c->pd, dev + l, 2 * l, mr_access());
	if (mr || errno != EFAULT)
		fail("ibv_reg_mr past the allocation's end: %s, expected EFAULT",
		     mr ? "registered" : strerror(errno));
	printf("ok a range past the allocation's end is refused: EFAULT\n");

	gpu->free(dev);
	host_bufs_put(&h);
	return 0;
}

/* The CUDA driver API as an application calls it, loaded at run time. */
static struct {
	CUresult (*init)(unsigned int flags);
	CUresult (*device_get)(CUdevice *dev, int ordinal);
	CUresult (*ctx_create)(CUcontext *ctx, unsigned int flags,
			       CUdevice dev);
	CUresult (*ctx_set_current)(CUcontext ctx);
	CUresult (*ctx_destroy)(CUcontext ctx);
	CUresult (*mem_alloc)(CUdeviceptr *ptr, size_t size);
	CUresult (*mem_free)(CUdeviceptr ptr);
	CUresult (*memcpy_dtoh)(void *dst, CUdeviceptr src, size_t size);
	CUcontext ctx;
} cu;

static void *runtime_open(const char *name)
{
	void *lib = dlopen(name, RTLD_NOW | RTLD_GLOBAL);

	if (!lib)
		fail("dlopen %s: %s", name, dlerror());
	return lib;
}

#define cu_check(call) do {						\
	CUresult r_ = (call);						\
									\
	if (r_ != CUDA_SUCCESS)						\
		fail("%s: CUresult %d", #call, r_);			\
} while (0)

static uint8_t *cuda_alloc(size_t len)
{
	void *lib = runtime_open("libcuda.so.1");
	CUdeviceptr dptr;
	CUdevice dev;

	cu.init = dlsym(lib, "cuInit");
	cu.device_get = dlsym(lib, "cuDeviceGet");
	cu.ctx_create = dlsym(lib, "cuCtxCreate_v2");
	cu.ctx_set_current = dlsym(lib, "cuCtxSetCurrent");
	cu.ctx_destroy = dlsym(lib, "cuCtxDestroy_v2");
	cu.mem_alloc = dlsym(lib, "cuMemAlloc_v2");
	cu.mem_free = dlsym(lib, "cuMemFree_v2");
	cu.memcpy_dtoh = dlsym(lib, "cuMemcpyDtoH_v2");
	if (!cu.init || !cu.device_get || !cu.ctx_create ||
	    !cu.ctx_set_current || !cu.ctx_destroy || !cu.mem_alloc ||
	    !cu.mem_free || !cu.memcpy_dtoh)
		fail("libcuda.so.1 lacks a driver API entry point");
	cu_check(cu.init(0));
	cu_check(cu.device_get(&dev, 0));
	cu_check(cu.ctx_create(&cu.ctx, 0, dev));
	cu_check(cu.mem_alloc(&dptr, len));
	return (uint8_t *)(uintptr_t)dptr;
}

static void cuda_to_host(void *dst, const uint8_t *src, size_t len)
{
	cu_check(cu.memcpy_dtoh(dst, (uintptr_t)src, len));
}

static void cuda_unset_current(void)
{
	cu_check(cu.ctx_set_current(NULL));
}

static void cuda_restore_current(void)
{
	cu_check(cu.ctx_set_current(cu.ctx));
}

static void cuda_free(uint8_t *dev)
{
	cu_check(cu.mem_free((uintptr_t)dev));
	cu_check(cu.ctx_destroy(cu.ctx));
}

static int cmd_cuda(struct ctx *c)
{
	static const struct gpu_ops ops = {
		.name = "CUDA", .alloc = cuda_alloc, .to_host = cuda_to_host,
		.unset_current = cuda_unset_current,
		.restore_current = cuda_restore_current, .kept = true,
		.free = cuda_free,
	};

	return device_mrs(c, &ops);
}

/* The ROCm (HSA) runtime as an application calls it, loaded at run time. */
static struct {
	hsa_status_t (*init)(void);
	hsa_status_t (*shut_down)(void);
	hsa_status_t (*iterate_agents)(hsa_status_t (*cb)(hsa_agent_t, void *),
				       void *data);
	hsa_status_t (*agent_get_info)(hsa_agent_t agent,
				       hsa_agent_info_t attribute,
				       void *value);
	hsa_status_t (*iterate_pools)(hsa_agent_t agent,
				      hsa_status_t (*cb)(hsa_amd_memory_pool_t,
							 void *),
				      void *data);
	hsa_status_t (*pool_get_info)(hsa_amd_memory_pool_t pool,
				      hsa_amd_memory_pool_info_t attribute,
				      void *value);
	hsa_status_t (*pool_allocate)(hsa_amd_memory_pool_t pool, size_t size,
				      uint32_t flags, void **ptr);
	hsa_status_t (*pool_free)(void *ptr);
	hsa_status_t (*memory_copy)(void *dst, const void *src, size_t size);
	hsa_agent_t gpu;
	hsa_amd_memory_pool_t pool;
	bool have_gpu, have_pool;
} hsa;

#define hsa_check(call) do {						\
	hsa_status_t r_ = (call);					\
									\
	if (r_ != HSA_STATUS_SUCCESS && r_ != HSA_STATUS_INFO_BREAK)	\
		fail("%s: hsa_status_t %#x", #call, r_);		\
} while (0)

static hsa_status_t hsa_pick_gpu(hsa_agent_t agent, void *data)
{
	hsa_device_type_t type;

	(void)data;
	hsa_check(hsa.agent_get_info(agent, HSA_AGENT_INFO_DEVICE, &type));
	if (type != HSA_DEVICE_TYPE_GPU)
		return HSA_STATUS_SUCCESS;
	hsa.gpu = agent;
	hsa.have_gpu = true;
	return HSA_STATUS_INFO_BREAK;
}

static hsa_status_t hsa_pick_pool(hsa_amd_memory_pool_t pool, void *data)
{
	hsa_amd_segment_t segment;

	(void)data;
	hsa_check(hsa.pool_get_info(pool, HSA_AMD_MEMORY_POOL_INFO_SEGMENT,
				    &segment));
	if (segment != HSA_AMD_SEGMENT_GLOBAL)
		return HSA_STATUS_SUCCESS;
	hsa.pool = pool;
	hsa.have_pool = true;
	return HSA_STATUS_INFO_BREAK;
}

static uint8_t *rocm_alloc(size_t len)
{
	void *lib = runtime_open("libhsa-runtime64.so.1");
	void *ptr;

	hsa.init = dlsym(lib, "hsa_init");
	hsa.shut_down = dlsym(lib, "hsa_shut_down");
	hsa.iterate_agents = dlsym(lib, "hsa_iterate_agents");
	hsa.agent_get_info = dlsym(lib, "hsa_agent_get_info");
	hsa.iterate_pools = dlsym(lib, "hsa_amd_agent_iterate_memory_pools");
	hsa.pool_get_info = dlsym(lib, "hsa_amd_memory_pool_get_info");
	hsa.pool_allocate = dlsym(lib, "hsa_amd_memory_pool_allocate");
	hsa.pool_free = dlsym(lib, "hsa_amd_memory_pool_free");
	hsa.memory_copy = dlsym(lib, "hsa_memory_copy");
	if (!hsa.init || !hsa.shut_down || !hsa.iterate_agents ||
	    !hsa.agent_get_info || !hsa.iterate_pools || !hsa.pool_get_info ||
	    !hsa.pool_allocate || !hsa.pool_free || !hsa.memory_copy)
		fail("libhsa-runtime64.so.1 lacks an entry point");
	hsa_check(hsa.init());
	hsa_check(hsa.iterate_agents(hsa_pick_gpu, NULL));
	if (!hsa.have_gpu)
		fail("the ROCm runtime shows no GPU agent");
	hsa_check(hsa.iterate_pools(hsa.gpu, hsa_pick_pool, NULL));
	if (!hsa.have_pool)
		fail("the GPU agent has no global memory pool");
	hsa_check(hsa.pool_allocate(hsa.pool, len, 0, &ptr));
	return ptr;
}

static void rocm_to_host(void *dst, const uint8_t *src, size_t len)
{
	hsa_check(hsa.memory_copy(dst, src, len));
}

static void rocm_free(uint8_t *dev)
{
	hsa_check(hsa.pool_free(dev));
	hsa_check(hsa.shut_down());
}

static int cmd_rocm(struct ctx *c)
{
	static const struct gpu_ops ops = {
		.name = "ROCm", .alloc = rocm_alloc, .to_host = rocm_to_host,
		.kept = false, .free = rocm_free,
	};

	return device_mrs(c, &ops);
}

static int cmd_refuse(struct ctx *c)
{
	uint8_t *bar = map_bar(c, NULL);
	struct ibv_mr *mr;
	int want = 0;
	size_t i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (opt.expect && !strcmp(opt.expect, errnos[i].name))
			want = errnos[i].err;
	if (!want)
		fail("-e: an errno name, e.g. EFAULT");
	mr = ibv_reg_mr(c->pd, bar + opt.offset, opt.length, mr_access());
	if (mr)
		fail("ibv_reg_mr of the BAR succeeded, expected %s",
		     opt.expect);
	if (errno != want)
		fail("ibv_reg_mr of the BAR: %s (%s), expected %s",
		     errno_name(errno), strerror(errno), opt.expect);
	printf("ok ibv_reg_mr of the BAR fails with %s\n", opt.expect);
	munmap(bar, c->bar_size);
	return 0;
}

static int cmd_rereg(struct ctx *c)
{
	uint8_t *bar = map_bar(c, NULL);
	struct ibv_mr *mr;
	int ret;

	mr = reg(c, bar + opt.offset, opt.length, true, "BAR range");
	errno = 0;
	ret = ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			   IBV_ACCESS_LOCAL_WRITE);
	if (!ret)
		fail("ibv_rereg_mr of a BAR MR succeeded");
	if (errno != EOPNOTSUPP)
		fail("ibv_rereg_mr of a BAR MR: %d, errno %s, expected EOPNOTSUPP",
		     ret, errno_name(errno));
	printf("ok ibv_rereg_mr of a BAR MR is refused: EOPNOTSUPP\n");
	dereg(mr, "BAR range (after the refused rereg)");
	printf("ok the BAR MR deregisters after the refusal\n");
	munmap(bar, c->bar_size);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: shim_mr_test mixed|stale|refuse|rereg|cache|dmabuf|cuda|rocm\n"
		"       -P resource [-d dev]\n"
		"       [-o offset] [-l length] [-s seed] [-e ERRNO] [-n rounds]\n"
		"       [-A (remote atomic access too)]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd;
	struct ctx c;
	int o, ret;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((o = getopt(argc, argv, "d:P:o:l:s:e:n:A")) != -1) {
		switch (o) {
		case 'd': opt.dev = optarg; break;
		case 'P': opt.resource = optarg; break;
		case 'o': opt.offset = strtoull(optarg, NULL, 0); break;
		case 'l': opt.length = strtoull(optarg, NULL, 0); break;
		case 's': opt.seed = strtoul(optarg, NULL, 0); break;
		case 'e': opt.expect = optarg; break;
		case 'n': opt.rounds = strtoul(optarg, NULL, 0); break;
		case 'A': opt.atomic = true; break;
		default: usage();
		}
	}
	if (!opt.resource || !opt.length || opt.offset % 4096)
		usage();
	setup(&c);
	if (!strcmp(cmd, "mixed"))
		ret = cmd_mixed(&c);
	else if (!strcmp(cmd, "stale"))
		ret = cmd_stale(&c);
	else if (!strcmp(cmd, "refuse"))
		ret = cmd_refuse(&c);
	else if (!strcmp(cmd, "rereg"))
		ret = cmd_rereg(&c);
	else if (!strcmp(cmd, "cache"))
		ret = cmd_cache(&c);
	else if (!strcmp(cmd, "dmabuf"))
		ret = cmd_dmabuf(&c);
	else if (!strcmp(cmd, "cuda"))
		ret = cmd_cuda(&c);
	else if (!strcmp(cmd, "rocm"))
		ret = cmd_rocm(&c);
	else
		usage();
	teardown(&c);
	printf("shim_mr_test %s ok\n", cmd);
	return ret;
}
