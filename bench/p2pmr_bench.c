// SPDX-License-Identifier: GPL-2.0
/*
 * p2pmr_bench: what a BAR registration and RDMA into a BAR cost, against
 * host memory of the same size, measured in the same run.
 *
 *   p2pmr_bench reg -d DEV -P RES [opts]
 *	Registration and deregistration latency, 4 KiB to 64 MiB: host
 *	ibv_reg_mr(), BAR fresh (p2pmr_export_va() + p2pmr_reg_dmabuf_mr()),
 *	BAR with a cached export (one dma-buf fd, registered again and
 *	again) and BAR through p2pmr_reg_mr() (classify + export + register).
 *
 *   p2pmr_bench rdma -d DEV -P RES [opts]
 *	RDMA WRITE and READ bandwidth and latency over a loopback RC QP
 *	pair, into (WRITE) or out of (READ) a BAR MR and a host MR,
 *	64 B to 1 MiB.
 *
 *   p2pmr_bench shim -d DEV [opts]
 *	ibv_reg_mr() + ibv_dereg_mr() of many small host buffers through
 *	the symbol the program links to (the shim when LD_PRELOADed) and
 *	straight into libibverbs (dlvsym), alternated.
 *
 *   p2pmr_bench classify [-P RES] [opts]
 *	p2pmr_classify() per call on host memory (and on a BAR mapping).
 *
 *   p2pmr_bench large -d DEV -P RES -N IMPORTER-BDF [opts]
 *	The whole BAR: export, the test importer's attach + map (and the
 *	number of scatterlist entries it got), dma-buf MR registration.
 *
 * Options: -r REPS (repetitions), -w WARM (warm-up rounds), -o FILE (JSON
 * lines appended), -q (quick: fewer repetitions and bytes).
 *
 * Every figure is a list of repetitions; variants alternate within each
 * repetition, starting with a different one each time.  Results are one
 * JSON object per line: group, op, size, variant, unit, n, median, min,
 * max, ratio (median over the baseline variant's median) and baseline.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <p2pmr/p2pmr.h>

#include "rc_loop.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define KIB		((uint64_t)1024)
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define RDMA_DEPTH	16
#define MAX_VARIANTS	4
/* the exporter's longest scatterlist entry: UINT_MAX, page aligned */
#define MAX_SEG_LEN	(0xffffffffULL & ~4095ULL)

static const char *opt_dev = "rxe0";
static const char *opt_res;
static const char *opt_nic;
static const char *opt_out;
static int opt_reps;
static int opt_warm = -1;
static bool opt_quick;
static FILE *out_json;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "p2pmr_bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The samples of one variant of one figure. */
struct series {
	const char *variant;
	double *v;
	int n;
	double median, min, max;
};

static void series_init(struct series *s, const char *variant, int cap)
{
	s->variant = variant;
	s->n = 0;
	s->v = calloc(cap, sizeof(*s->v));
	if (!s->v)
		die("out of memory");
}

static void series_stats(struct series *s)
{
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	s->min = s->v[0];
	s->max = s->v[s->n - 1];
	s->median = s->n % 2 ? s->v[s->n / 2] :
		    (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

static const char *size_str(uint64_t size, char *buf, size_t len)
{
	if (size >= GIB && !(size % GIB))
		snprintf(buf, len, "%" PRIu64 " GiB", size / GIB);
	else if (size >= MIB && !(size % MIB))
		snprintf(buf, len, "%" PRIu64 " MiB", size / MIB);
	else if (size >= KIB && !(size % KIB))
		snprintf(buf, len, "%" PRIu64 " KiB", size / KIB);
	else
		snprintf(buf, len, "%" PRIu64 " B", size);
	return buf;
}

/*
 * Print and record one figure: s[0] is the baseline.  Ratios are medians
 * over the baseline's median.
 */
static void report(const char *group, const char *op, uint64_t size,
		   const char *unit, struct series *s, int nvar)
{
	char sz[32];
	int i;

	for (i = 0; i < nvar; i++)
		series_stats(&s[i]);
	for (i = 0; i < nvar; i++) {
		double ratio = s[0].median ? s[i].median / s[0].median : 0;

		printf("%-9s %-7s %8s %-11s %12.2f %12.2f %12.2f %-5s %6.3f\n",
		       group, op, size_str(size, sz, sizeof(sz)), s[i].variant,
		       s[i].median, s[i].min, s[i].max, unit, ratio);
		if (out_json)
			fprintf(out_json,
				"{\"group\": \"%s\", \"op\": \"%s\", \"size\": %" PRIu64 ", \"variant\": \"%s\", \"unit\": \"%s\", \"n\": %d, \"median\": %.4f, \"min\": %.4f, \"max\": %.4f, \"ratio\": %.4f, \"baseline\": \"%s\"}\n",
				group, op, size, s[i].variant, unit, s[i].n,
				s[i].median, s[i].min, s[i].max, ratio,
				s[0].variant);
		free(s[i].v);
	}
	fflush(stdout);
	if (out_json)
		fflush(out_json);
}

static void header(const char *title)
{
	printf("\n# %s\n%-9s %-7s %8s %-11s %12s %12s %12s %-5s %6s\n", title,
	       "group", "op", "size", "variant", "median", "min", "max",
	       "unit", "ratio");
}

/* A free-form JSON record (for facts that are not timings). */
static void record_raw(const char *fmt, ...)
{
	va_list ap;

	if (!out_json)
		return;
	va_start(ap, fmt);
	vfprintf(out_json, fmt, ap);
	va_end(ap);
	fputc('\n', out_json);
	fflush(out_json);
}

static int reps(int full, int quick)
{
	if (opt_reps > 0)
		return opt_reps;
	return opt_quick ? quick : full;
}

static int warm(int def)
{
	return opt_warm >= 0 ? opt_warm : def;
}

/* --- verbs setup ---------------------------------------------------------- */

static struct ibv_context *open_device(const char *name)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	int i, n;

	list = ibv_get_device_list(&n);
	if (!list)
		die("ibv_get_device_list: %s", strerror(errno));
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			break;
	if (i == n)
		die("no RDMA device %s", name);
	ctx = ibv_open_device(list[i]);
	if (!ctx)
		die("ibv_open_device %s: %s", name, strerror(errno));
	ibv_free_device_list(list);
	return ctx;
}

static struct ibv_pd *open_pd(void)
{
	struct ibv_pd *pd = ibv_alloc_pd(open_device(opt_dev));

	if (!pd)
		die("ibv_alloc_pd: %s", strerror(errno));
	return pd;
}

/* Host memory, page aligned and faulted in. */
static void *host_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu bytes: %s", len, strerror(errno));
	memset(p, 0x5a, len);
	return p;
}

/* A writable shared mapping of the whole BAR; its size in *len. */
static void *bar_map(const char *res, size_t *len, int *fd_out)
{
	struct stat st;
	void *p;
	int fd = open(res, O_RDWR | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st))
		die("%s: %s", res, strerror(errno));
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap %s: %s", res, strerror(errno));
	*len = st.st_size;
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return p;
}

/* --- registration latency ------------------------------------------------- */

enum { V_HOST, V_BAR_FRESH, V_BAR_CACHED, V_BAR_LIB, NR_REG_VARIANTS };

static const char *const reg_variants[] = {
	[V_HOST] = "host",
	[V_BAR_FRESH] = "bar_fresh",
	[V_BAR_CACHED] = "bar_cached",
	[V_BAR_LIB] = "bar_reg_mr",
};

#define REG_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

/* Register and deregister once; microseconds of each in reg, dereg. */
static void reg_once(struct ibv_pd *pd, int v, void *host, void *bar,
		     size_t size, int cached_fd, double *reg, double *dereg)
{
	struct ibv_mr *mr;
	uint64_t t0, t1, t2;
	int fd, err;

	t0 = now_ns();
	switch (v) {
	case V_HOST:
		mr = ibv_reg_mr(pd, host, size, REG_ACCESS);
		break;
	case V_BAR_FRESH:
		fd = p2pmr_export_va(bar, size, 0, NULL, 0);
		if (fd < 0)
			die("p2pmr_export_va %zu: %s", size, strerror(errno));
		mr = p2pmr_reg_dmabuf_mr(pd, 0, size, (uintptr_t)bar, fd,
					 REG_ACCESS);
		err = errno;
		close(fd);
		errno = err;
		break;
	case V_BAR_CACHED:
		mr = p2pmr_reg_dmabuf_mr(pd, 0, size, (uintptr_t)bar,
					 cached_fd, REG_ACCESS);
		break;
	default:
		mr = p2pmr_reg_mr(pd, bar, size, (uintptr_t)bar, REG_ACCESS);
		break;
	}
	t1 = now_ns();
	if (!mr)
		die("%s registration of %zu bytes: %s", reg_variants[v], size,
		    strerror(errno));
	err = v == V_HOST ? ibv_dereg_mr(mr) : p2pmr_dereg_mr(mr);
	t2 = now_ns();
	if (err)
		die("%s deregistration: %s", reg_variants[v], strerror(err));
	*reg = (t1 - t0) / 1e3;
	*dereg = (t2 - t1) / 1e3;
}

static int cmd_reg(void)
{
	static const size_t sizes[] = { 4 * KIB, 64 * KIB, MIB, 16 * MIB,
					64 * MIB };
	struct series sr[NR_REG_VARIANTS], sd[NR_REG_VARIANTS];
	int nr = reps(21, 7), nw = warm(3);
	struct ibv_pd *pd;
	size_t bar_len, si;
	void *host, *bar;

	if (!opt_res)
		die("reg needs -P RES");
	pd = open_pd();
	host = host_alloc(64 * MIB);
	bar = bar_map(opt_res, &bar_len, NULL);
	if (bar_len < 64 * MIB)
		die("%s: BAR of %zu bytes, need 64 MiB", opt_res, bar_len);

	header("registration latency (us per call; ratio: over host)");
	for (si = 0; si < ARRAY_SIZE(sizes); si++) {
		size_t size = sizes[si];
		int fd, r, k;

		fd = p2pmr_export_va(bar, size, 0, NULL, 0);
		if (fd < 0)
			die("p2pmr_export_va: %s", strerror(errno));
		for (k = 0; k < NR_REG_VARIANTS; k++) {
			series_init(&sr[k], reg_variants[k], nr);
			series_init(&sd[k], reg_variants[k], nr);
		}
		for (r = -nw; r < nr; r++) {
			for (k = 0; k < NR_REG_VARIANTS; k++) {
				int v = (k + (r < 0 ? 0 : r)) %
					NR_REG_VARIANTS;
				double a, b;

				reg_once(pd, v, host, bar, size, fd, &a, &b);
				if (r < 0)
					continue;
				sr[v].v[sr[v].n++] = a;
				sd[v].v[sd[v].n++] = b;
			}
		}
		close(fd);
		report("reg", "reg", size, "us", sr, NR_REG_VARIANTS);
		report("reg", "dereg", size, "us", sd, NR_REG_VARIANTS);
	}
	return 0;
}

/* --- RDMA data path --------------------------------------------------------- */

struct loop {
	struct rc_loop rc;
	struct ibv_mr *mr;
	uint8_t *buf;
	int rd_atom;
};

static void loop_setup(struct loop *l, struct ibv_pd *pd, size_t len)
{
	struct rc_loop_attr attr = {
		RC_LOOP_ATTR_DEFAULTS,
		.cq_entries = 2 * RDMA_DEPTH + 2,
		.send_wr = RDMA_DEPTH,
		.recv_wr = 1,
	};
	struct ibv_device_attr da;
	enum rc_loop_err err;

	memset(l, 0, sizeof(*l));
	if (ibv_query_device(pd->context, &da))
		die("ibv_query_device");
	l->rd_atom = da.max_qp_rd_atom < RDMA_DEPTH ? da.max_qp_rd_atom :
		     RDMA_DEPTH;
	if (l->rd_atom < 1)
		l->rd_atom = 1;
	attr.rd_atomic = l->rd_atom;
	l->buf = host_alloc(len);
	l->mr = ibv_reg_mr(pd, l->buf, len, REG_ACCESS);
	if (!l->mr)
		die("loopback setup: %s", strerror(errno));
	err = rc_loop_create(&l->rc, pd, &attr);
	if (err == RC_LOOP_ERR_QP)
		die("ibv_create_qp: %s", strerror(errno));
	else if (err == RC_LOOP_ERR_CONNECT)
		die("connecting the loopback QPs: %s", strerror(errno));
	else if (err)
		die("loopback setup: %s", strerror(errno));
}

static void loop_post(struct loop *l, enum ibv_wr_opcode opcode,
		      uint64_t raddr, uint32_t rkey, size_t size)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)l->buf,
		.length = size,
		.lkey = l->mr->lkey,
	};
	int err = rc_loop_post(&l->rc, opcode, &sge, raddr, rkey, 0);

	if (err)
		die("ibv_post_send: %s", strerror(err));
}

/* Wait for n completions, all successful; give up after 60 s. */
static void loop_wait(struct loop *l, int n)
{
	double deadline = rc_loop_now() + 60;
	struct ibv_wc wc[RDMA_DEPTH];
	int got, i;

	while (n > 0) {
		got = rc_loop_poll(&l->rc, wc, n < RDMA_DEPTH ? n : RDMA_DEPTH,
				   deadline, 0);
		if (got < 0)
			die("ibv_poll_cq failed");
		if (!got)
			die("no completion within 60 s");
		for (i = 0; i < got; i++)
			if (wc[i].status != IBV_WC_SUCCESS)
				die("work completion: %s",
				    ibv_wc_status_str(wc[i].status));
		n -= got;
	}
}

/* Bandwidth in MB/s (10^6 bytes) of iters work requests, depth in flight. */
static double rdma_bw(struct loop *l, enum ibv_wr_opcode opcode,
		      uint64_t raddr, uint32_t rkey, size_t size, int iters)
{
	int depth = opcode == IBV_WR_RDMA_READ ? l->rd_atom : RDMA_DEPTH;
	int posted = 0, done = 0, inflight = 0;
	uint64_t t0 = now_ns(), t;

	while (done < iters) {
		while (posted < iters && inflight < depth) {
			loop_post(l, opcode, raddr, rkey, size);
			posted++;
			inflight++;
		}
		loop_wait(l, 1);
		done++;
		inflight--;
	}
	t = now_ns() - t0;
	return (double)size * iters / (t / 1e9) / 1e6;
}

/* Mean latency in microseconds of iters one-at-a-time work requests. */
static double rdma_lat(struct loop *l, enum ibv_wr_opcode opcode,
		       uint64_t raddr, uint32_t rkey, size_t size, int iters)
{
	uint64_t t0 = now_ns();
	int i;

	for (i = 0; i < iters; i++) {
		loop_post(l, opcode, raddr, rkey, size);
		loop_wait(l, 1);
	}
	return (now_ns() - t0) / 1e3 / iters;
}

static int cmd_rdma(void)
{
	static const size_t sizes[] = { 64, 256, KIB, 4 * KIB, 16 * KIB,
					64 * KIB, 256 * KIB, MIB };
	static const struct {
		const char *name;
		enum ibv_wr_opcode opcode;
	} ops[] = {
		{ "write", IBV_WR_RDMA_WRITE },
		{ "read", IBV_WR_RDMA_READ },
	};
	uint64_t bw_bytes = opt_quick ? 2 * MIB : 8 * MIB;
	uint64_t lat_bytes = opt_quick ? 2 * MIB : 8 * MIB;
	int nr = reps(7, 3), nw = warm(1);
	struct ibv_mr *mr[2];
	uint64_t raddrs[2];
	struct ibv_pd *pd;
	struct loop l;
	size_t bar_len, si, oi;
	void *host, *bar;
	int fd;

	if (!opt_res)
		die("rdma needs -P RES");
	pd = open_pd();
	loop_setup(&l, pd, MIB);
	host = host_alloc(MIB);
	bar = bar_map(opt_res, &bar_len, NULL);
	if (bar_len < MIB)
		die("%s: BAR too small", opt_res);
	mr[0] = ibv_reg_mr(pd, host, MIB, REG_ACCESS);
	fd = p2pmr_export_va(bar, MIB, 0, NULL, 0);
	if (fd < 0)
		die("p2pmr_export_va: %s", strerror(errno));
	mr[1] = p2pmr_reg_dmabuf_mr(pd, 0, MIB, (uintptr_t)bar, fd,
				    REG_ACCESS);
	close(fd);
	if (!mr[0] || !mr[1])
		die("registering the targets: %s", strerror(errno));
	/*
	 * A dma-buf MR's addr is its offset in the dma-buf, as
	 * ibv_reg_dmabuf_mr() sets it; work requests use its iova.
	 */
	raddrs[0] = (uintptr_t)host;
	raddrs[1] = (uintptr_t)bar;

	header("RDMA over soft-RoCE loopback (bw MB/s, lat us; ratio: over host)");
	printf("# %d READs in flight at most (max_qp_rd_atom), %d WRITEs\n",
	       l.rd_atom, RDMA_DEPTH);
	for (oi = 0; oi < ARRAY_SIZE(ops); oi++) {
		for (si = 0; si < ARRAY_SIZE(sizes); si++) {
			size_t size = sizes[si];
			int iters = bw_bytes / size, r, k;
			int lat_iters = lat_bytes / size;
			struct series bw[2], lat[2];

			if (iters > 2000)
				iters = 2000;
			if (iters < 4 * RDMA_DEPTH)
				iters = 4 * RDMA_DEPTH;
			if (lat_iters > 50)
				lat_iters = 50;
			if (lat_iters < 5)
				lat_iters = 5;
			for (k = 0; k < 2; k++) {
				series_init(&bw[k], k ? "bar" : "host", nr);
				series_init(&lat[k], k ? "bar" : "host", nr);
			}
			for (r = -nw; r < nr; r++) {
				for (k = 0; k < 2; k++) {
					int v = (k + (r < 0 ? 0 : r)) % 2;
					uint64_t raddr = raddrs[v];
					double b, t;

					b = rdma_bw(&l, ops[oi].opcode, raddr,
						    mr[v]->rkey, size, iters);
					t = rdma_lat(&l, ops[oi].opcode, raddr,
						     mr[v]->rkey, size,
						     lat_iters);
					if (r < 0)
						continue;
					bw[v].v[bw[v].n++] = b;
					lat[v].v[lat[v].n++] = t;
				}
			}
			report("rdma_bw", ops[oi].name, size, "MB/s", bw, 2);
			report("rdma_lat", ops[oi].name, size, "us", lat, 2);
		}
	}
	ibv_dereg_mr(mr[0]);
	p2pmr_dereg_mr(mr[1]);
	return 0;
}

/* --- shim overhead ------------------------------------------------------------ */

typedef struct ibv_mr *(*reg_mr_fn)(struct ibv_pd *, void *, size_t, int);
typedef int (*dereg_mr_fn)(struct ibv_mr *);

static int cmd_shim(void)
{
	int nbuf = opt_quick ? 128 : 256, nr = reps(15, 5), nw = warm(2);
	reg_mr_fn via_sym, direct;
	dereg_mr_fn dvia_sym, ddirect;
	struct series sr[2], sd[2];
	struct ibv_mr **mrs;
	struct ibv_pd *pd;
	void *lib, *bufs;
	bool shimmed;
	int r, k, i;

	pd = open_pd();
	lib = dlopen("libibverbs.so.1", RTLD_NOW | RTLD_NOLOAD);
	if (!lib)
		die("libibverbs.so.1 is not loaded: %s", dlerror());
	direct = (reg_mr_fn)dlvsym(lib, "ibv_reg_mr", "IBVERBS_1.1");
	ddirect = (dereg_mr_fn)dlvsym(lib, "ibv_dereg_mr", "IBVERBS_1.1");
	/* what this program's own references bind to, as any program's */
	via_sym = ibv_reg_mr;
	dvia_sym = ibv_dereg_mr;
	if (!direct || !ddirect || !via_sym || !dvia_sym)
		die("ibv_reg_mr/ibv_dereg_mr not found");
	shimmed = via_sym != direct;
	printf("\n# ibv_reg_mr resolves to %s\n",
	       shimmed ? "the shim (preloaded)" : "libibverbs (no shim)");
	record_raw("{\"group\": \"shim_info\", \"shim_loaded\": %s, \"buffers\": %d, \"buffer_size\": 4096}",
		   shimmed ? "true" : "false", nbuf);

	bufs = host_alloc(nbuf * 4 * KIB);
	mrs = calloc(nbuf, sizeof(*mrs));
	for (k = 0; k < 2; k++) {
		series_init(&sr[k], k ? "shim" : "direct", nr);
		series_init(&sd[k], k ? "shim" : "direct", nr);
	}
	header("shim overhead: 4 KiB host registrations (us per call; ratio: over direct)");
	for (r = -nw; r < nr; r++) {
		for (k = 0; k < 2; k++) {
			int v = (k + (r < 0 ? 0 : r)) % 2;
			reg_mr_fn reg = v ? via_sym : direct;
			dereg_mr_fn dereg = v ? dvia_sym : ddirect;
			uint64_t t0, t1, t2;

			t0 = now_ns();
			for (i = 0; i < nbuf; i++) {
				mrs[i] = reg(pd, (char *)bufs + i * 4 * KIB,
					     4 * KIB, REG_ACCESS);
				if (!mrs[i])
					die("ibv_reg_mr: %s", strerror(errno));
			}
			t1 = now_ns();
			for (i = 0; i < nbuf; i++)
				if (dereg(mrs[i]))
					die("ibv_dereg_mr failed");
			t2 = now_ns();
			if (r < 0)
				continue;
			sr[v].v[sr[v].n++] = (t1 - t0) / 1e3 / nbuf;
			sd[v].v[sd[v].n++] = (t2 - t1) / 1e3 / nbuf;
		}
	}
	report("shim", "reg", 4 * KIB, "us", sr, 2);
	report("shim", "dereg", 4 * KIB, "us", sd, 2);
	return 0;
}

/* --- classification ------------------------------------------------------------ */

static double classify_ns(const void *addr, size_t len, int iters)
{
	struct p2pmr_mem_info info;
	uint64_t t0 = now_ns();
	int i;

	for (i = 0; i < iters; i++)
		if (p2pmr_classify(addr, len, &info, sizeof(info)))
			die("p2pmr_classify: %s", strerror(errno));
	return (double)(now_ns() - t0) / iters;
}

static int cmd_classify(void)
{
	int nr = reps(15, 5), nw = warm(2), iters = opt_quick ? 20000 : 100000;
	int bar_iters = opt_quick ? 50 : 200, nvar = opt_res ? 2 : 1, r, k;
	struct series s[2];
	void *host, *bar = NULL;
	size_t bar_len;

	host = host_alloc(64 * KIB);
	if (opt_res) {
		bar = bar_map(opt_res, &bar_len, NULL);
		p2pmr_classify_flush();
	}
	series_init(&s[0], "host", nr);
	if (bar)
		series_init(&s[1], "bar", nr);
	header("p2pmr_classify() (ns per call; ratio: over host)");
	for (r = -nw; r < nr; r++) {
		for (k = 0; k < nvar; k++) {
			int v = (k + (r < 0 ? 0 : r)) % nvar;
			double t = v ? classify_ns(bar, 4 * KIB, bar_iters) :
				   classify_ns(host, 4 * KIB, iters);

			if (r >= 0)
				s[v].v[s[v].n++] = t;
		}
	}
	report("classify", "classify", 4 * KIB, "ns", s, nvar);
	return 0;
}

/* --- large BARs ------------------------------------------------------------------ */

#define IMPORTER_DIR	"/sys/kernel/debug/p2pmr_test_importer"

static int importer_cmd(const char *fmt, ...)
{
	char cmd[128];
	va_list ap;
	int fd, n, ret = 0;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fd = open(IMPORTER_DIR "/ctl", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die(IMPORTER_DIR "/ctl: %s (is the test importer loaded?)",
		    strerror(errno));
	if (write(fd, cmd, n) != n)
		ret = errno;
	close(fd);
	return ret;
}

/* Scatterlist entries of slot 0 and the bytes they cover. */
static int importer_segments(uint64_t *bytes)
{
	FILE *f = fopen(IMPORTER_DIR "/results", "r");
	char line[256];
	int n = 0;

	*bytes = 0;
	if (!f)
		die(IMPORTER_DIR "/results: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		uint64_t dma, len;
		unsigned int idx;

		if (sscanf(line, "slot 0 sg %u dma %" SCNx64 " len %" SCNx64,
			   &idx, &dma, &len) == 3) {
			n++;
			*bytes += len;
		}
	}
	fclose(f);
	return n;
}

static int cmd_large(void)
{
	enum { L_EXPORT, L_MAP, L_REG, L_DEREG, NR_L };
	static const char *const names[] = { "export", "importer_map",
					     "rdma_reg", "rdma_dereg" };
	int nr = reps(5, 3), nw = warm(1), segs = 0, r, k, res_fd, err;
	struct series s[NR_L];
	uint64_t seg_bytes = 0;
	struct ibv_pd *pd;
	size_t bar_len;
	char sz[32];
	void *bar;

	if (!opt_res || !opt_nic)
		die("large needs -P RES and -N IMPORTER-BDF");
	pd = open_pd();
	bar = bar_map(opt_res, &bar_len, &res_fd);
	for (k = 0; k < NR_L; k++)
		series_init(&s[k], names[k], nr);
	header("large BAR: the whole BAR (us per call; ratio: over export)");
	for (r = -nw; r < nr; r++) {
		struct ibv_mr *mr;
		uint64_t t0, t1, t2, t3, t4;
		int fd;

		t0 = now_ns();
		fd = p2pmr_export_fd(res_fd, 0, bar_len, 0);
		t1 = now_ns();
		if (fd < 0)
			die("p2pmr_export_fd: %s", strerror(errno));
		err = importer_cmd("attach 0 %d %s", fd, opt_nic);
		if (!err)
			err = importer_cmd("map 0");
		t2 = now_ns();
		if (err)
			die("importer attach + map: %s", strerror(err));
		segs = importer_segments(&seg_bytes);
		importer_cmd("detach 0");
		t3 = now_ns();
		mr = p2pmr_reg_dmabuf_mr(pd, 0, bar_len, (uintptr_t)bar, fd,
					 REG_ACCESS);
		t4 = now_ns();
		if (!mr)
			die("p2pmr_reg_dmabuf_mr of %zu bytes: %s", bar_len,
			    strerror(errno));
		err = p2pmr_dereg_mr(mr);
		if (err)
			die("p2pmr_dereg_mr: %s", strerror(err));
		if (r >= 0) {
			s[L_EXPORT].v[s[L_EXPORT].n++] = (t1 - t0) / 1e3;
			s[L_MAP].v[s[L_MAP].n++] = (t2 - t1) / 1e3;
			s[L_REG].v[s[L_REG].n++] = (t4 - t3) / 1e3;
			s[L_DEREG].v[s[L_DEREG].n++] = (now_ns() - t4) / 1e3;
		}
		close(fd);
	}
	printf("# %s BAR: %d scatterlist entries covering %" PRIu64
	       " bytes (longest entry %llu bytes: %llu expected)\n",
	       size_str(bar_len, sz, sizeof(sz)), segs, seg_bytes,
	       MAX_SEG_LEN, (bar_len + MAX_SEG_LEN - 1) / MAX_SEG_LEN);
	record_raw("{\"group\": \"large_segments\", \"size\": %zu, \"segments\": %d, \"segment_bytes\": %" PRIu64 ", \"expected\": %llu, \"pages\": %zu}",
		   bar_len, segs, seg_bytes,
		   (bar_len + MAX_SEG_LEN - 1) / MAX_SEG_LEN, bar_len / 4096);
	report("large", "whole", bar_len, "us", s, NR_L);
	close(res_fd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: p2pmr_bench reg|rdma|shim|classify|large [-d DEV] [-P RES] [-N BDF]\n"
		"                   [-r REPS] [-w WARM] [-o FILE] [-q]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} cmds[] = {
		{ "reg", cmd_reg },
		{ "rdma", cmd_rdma },
		{ "shim", cmd_shim },
		{ "classify", cmd_classify },
		{ "large", cmd_large },
	};
	const char *cmd;
	size_t i;
	int c;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "d:P:N:r:w:o:q")) != -1) {
		switch (c) {
		case 'd':
			opt_dev = optarg;
			break;
		case 'P':
			opt_res = optarg;
			break;
		case 'N':
			opt_nic = optarg;
			break;
		case 'r':
			opt_reps = atoi(optarg);
			break;
		case 'w':
			opt_warm = atoi(optarg);
			break;
		case 'o':
			opt_out = optarg;
			break;
		case 'q':
			opt_quick = true;
			break;
		default:
			usage();
		}
	}
	if (opt_out) {
		out_json = fopen(opt_out, "a");
		if (!out_json)
			die("%s: %s", opt_out, strerror(errno));
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmd, cmds[i].name))
			return cmds[i].fn();
	usage();
	return 2;
}
