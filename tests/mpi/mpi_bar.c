// SPDX-License-Identifier: GPL-2.0
/*
 * MPI with communication buffers in a PCI BAR: an unmodified MPI program
 * in every respect but where its buffers live.  Each rank maps the BAR's
 * sysfs resource file (a plain mmap(), as a GPU or CMB user would) and
 * hands addresses inside it to MPI; Open MPI and UCX register them with
 * plain ibv_reg_mr(), which the verbs shim turns into dma-buf MRs.
 *
 *   mpi_bar sendrecv  MPI_Send/MPI_Recv host -> BAR, BAR -> host and
 *                     BAR -> BAR, small (eager), medium and large
 *                     (rendezvous) messages, both directions
 *   mpi_bar rma       MPI_Put/MPI_Get with a window in the BAR and one in
 *                     host memory, origins in the BAR and in host memory
 *   mpi_bar stale     a BAR buffer used by MPI, unmapped, and host memory
 *                     mapped at the same address: MPI must move data into
 *                     and out of the new host memory, never the old BAR
 *   mpi_bar bw        osu_bw-style bandwidth, receive buffer in the BAR
 *                     against one in host memory, in the same run
 *
 * Two ranks.  Options: -P resource file (each rank's own node's BAR),
 * -s seed; for bw: -n iterations, -w window, -m max size, -r
 * repetitions, -o JSON lines file (bench/README.md).  Rank r owns
 * BAR offsets [r * 16 MiB, (r + 1) * 16 MiB), and 32 MiB above that
 * for rma, so that one boot can run both; every byte MPI writes into
 * a BAR is pattern(seed, BAR offset) so the host can check the file
 * behind it afterwards (the layout is printed, and tests/vm/cases/mpi.sh
 * checks it).  Every check in here reads the destination back through
 * the CPU after MPI is done: a failure names the transfer, the first bad
 * BAR offset and the number of bad bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mpi.h>

#include "pattern_io.h"

#define RANK_SPAN	(16u << 20)	/* BAR bytes owned by each rank */
/* rma's spans come after the others': one boot may run both */
#define RMA_BASE	(2 * RANK_SPAN)
#define BAR_MIN		(4 * RANK_SPAN)
#define SLOT		(2u << 20)	/* one transfer's slot in that span */
#define TAG		7

#define fail(...) do {							\
	fprintf(stderr, "FAIL: rank %d: ", rank);			\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	MPI_Abort(MPI_COMM_WORLD, 1);					\
	exit(1);							\
} while (0)

static int rank;

static struct {
	const char *resource;
	uint32_t seed;
	const char *out;
	unsigned int iters, window, reps;
	size_t bw_max;
} opt = { .seed = 1, .iters = 20, .window = 16, .reps = 5,
	  .bw_max = 1u << 20 };

/* Message sizes: eager (bcopy), eager zero-copy, rendezvous. */
static const size_t sizes[] = { 256, 64u << 10, 1u << 20 };

static void check_mpi(int err, const char *what)
{
	char msg[MPI_MAX_ERROR_STRING];
	int len = 0;

	if (err == MPI_SUCCESS)
		return;
	MPI_Error_string(err, msg, &len);
	fail("%s: %s", what, msg);
}

/* The whole BAR, MAP_SHARED: what an application gets from sysfs. */
static uint8_t *map_bar(size_t *size)
{
	struct stat st;
	uint8_t *p;
	int fd;

	fd = open(opt.resource, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail("open %s: %s (run as root, on a memory BAR)",
		     opt.resource, strerror(errno));
	if (fstat(fd, &st))
		fail("stat %s: %s", opt.resource, strerror(errno));
	/* sysfs gives a resource file the size of its BAR */
	if (st.st_size < BAR_MIN)
		fail("%s: %lld bytes, need at least %u", opt.resource,
		     (long long)st.st_size, BAR_MIN);
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		fail("mmap %s: %s", opt.resource, strerror(errno));
	close(fd);
	*size = st.st_size;
	return p;
}

static uint8_t *map_host(size_t len)
{
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap %zu bytes of host memory: %s", len, strerror(errno));
	return p;
}

/*
 * Check [p, p + len), expected to hold pattern(seed) as at BAR offset
 * @off; @what names the transfer.
 */
static void expect(const uint8_t *p, uint64_t off, size_t len, uint32_t seed,
		   const char *what)
{
	uint64_t first = 0;
	int64_t bad = p2pmr_pattern_check(p, off, len, seed, false, &first);

	if (bad)
		fail("%s: %" PRId64 " of %zu bytes wrong, first at BAR offset 0x%"
		     PRIx64, what, bad, len, first);
}

/* The BAR range rank @r's transfer number @slot writes. */
static uint64_t slot_off(int r, unsigned int slot)
{
	return (uint64_t)r * RANK_SPAN + (uint64_t)slot * SLOT;
}

/*
 * One message of @len bytes from rank @from to the other rank, sent from
 * and received into @buf (each rank's own): pattern(seed) as at BAR
 * offset @off, filled by the sender, checked by the receiver, which
 * zeroes its buffer first and says "ok @what".
 */
static void transfer(int from, uint8_t *buf, uint64_t off, size_t len,
		     uint32_t seed, const char *what)
{
	if (rank == from) {
		p2pmr_pattern_fill(buf, off, len, seed, false);
		check_mpi(MPI_Send(buf, len, MPI_BYTE, !from, TAG,
				   MPI_COMM_WORLD), what);
		return;
	}
	p2pmr_pattern_fill(buf, off, len, 0, true);
	check_mpi(MPI_Recv(buf, len, MPI_BYTE, from, TAG, MPI_COMM_WORLD,
			   MPI_STATUS_IGNORE), what);
	expect(buf, off, len, seed, what);
	printf("ok %s\n", what);
}

/*
 * One message from rank @from to the other rank: the source buffer is in
 * the sender's BAR or host memory, the destination in the receiver's BAR
 * or host memory.  The data is pattern(seed) for the receiver's BAR
 * offset @off, so a BAR destination can be checked from the host file.
 */
static void sendrecv_one(uint8_t *bar, uint8_t *host, int from, bool src_bar,
			 bool dst_bar, uint64_t off, size_t len, uint32_t seed)
{
	char what[128];
	uint8_t *buf;

	snprintf(what, sizeof(what), "rank %d %s -> rank %d %s, %zu bytes",
		 from, src_bar ? "BAR" : "host", !from,
		 dst_bar ? "BAR" : "host", len);
	if (rank == from)
		/* A source in the BAR sits at its own rank's span. */
		buf = src_bar ? bar + slot_off(rank, 7) : host;
	else
		buf = dst_bar ? bar + off : host;
	transfer(from, buf, off, len, seed, what);
	if (rank != from && dst_bar)
		printf("bar rank %d offset 0x%" PRIx64 " length 0x%zx seed %u\n",
		       rank, off, len, seed);
	check_mpi(MPI_Barrier(MPI_COMM_WORLD), "barrier");
}

static int cmd_sendrecv(uint8_t *bar)
{
	static const struct {
		bool src_bar, dst_bar;
	} kinds[] = { { false, true }, { true, false }, { true, true } };
	uint8_t *host = map_host(SLOT);
	unsigned int k, s, slot;
	uint32_t seed = opt.seed;
	int from;

	for (from = 0; from < 2; from++) {
		slot = 0;
		for (k = 0; k < 3; k++) {
			for (s = 0; s < 3; s++, seed++) {
				/* BAR destinations get a slot each. */
				uint64_t off = slot_off(!from,
					kinds[k].dst_bar ? slot++ : 6);

				sendrecv_one(bar, host, from, kinds[k].src_bar,
					     kinds[k].dst_bar, off, sizes[s],
					     seed);
			}
		}
	}
	munmap(host, SLOT);
	return 0;
}

/*
 * One-sided.  Each rank exposes two windows: one on its BAR slot 0, one
 * on host memory.  Rank 0 is the origin: it puts into rank 1's BAR
 * window from host memory and into rank 1's host window from its own
 * BAR, gets rank 1's BAR window into host memory and rank 1's host
 * window into its own BAR.  Rank 1 fills its windows with the pattern
 * for the gets and checks what the puts left.
 */
static int cmd_rma(uint8_t *bar)
{
	const size_t len = 1u << 20, half = len / 2;
	uint8_t *host_win = map_host(len), *host_org = map_host(len);
	uint64_t win_off = RMA_BASE + slot_off(1, 0);
	uint64_t org_off = RMA_BASE + slot_off(0, 1);
	uint8_t *bar_win = bar + RMA_BASE + slot_off(rank, 0);
	uint8_t *bar_org = bar + RMA_BASE + slot_off(rank, 1);
	uint32_t seed = opt.seed;
	MPI_Win wb, wh;

	/* [0, half) of each window takes a put, [half, len) serves a get. */
	if (rank == 1) {
		p2pmr_pattern_fill(bar_win, win_off, half, 0, true);
		p2pmr_pattern_fill(bar_win + half, win_off + half, half,
				   seed + 1, false);
		p2pmr_pattern_fill(host_win, win_off, half, 0, true);
		p2pmr_pattern_fill(host_win + half, org_off + half, half,
				   seed + 3, false);
	}
	check_mpi(MPI_Win_create(bar_win, len, 1, MPI_INFO_NULL,
				 MPI_COMM_WORLD, &wb), "MPI_Win_create on the BAR");
	check_mpi(MPI_Win_create(host_win, len, 1, MPI_INFO_NULL,
				 MPI_COMM_WORLD, &wh),
		  "MPI_Win_create on host memory");
	check_mpi(MPI_Win_fence(0, wb), "fence");
	check_mpi(MPI_Win_fence(0, wh), "fence");
	if (rank == 0) {
		p2pmr_pattern_fill(host_org, win_off, half, seed, false);
		check_mpi(MPI_Put(host_org, half, MPI_BYTE, 1, 0, half,
				  MPI_BYTE, wb), "MPI_Put host -> BAR window");
		p2pmr_pattern_fill(bar_org, win_off, half, seed + 2, false);
		check_mpi(MPI_Put(bar_org, half, MPI_BYTE, 1, 0, half,
				  MPI_BYTE, wh), "MPI_Put BAR -> host window");
	}
	check_mpi(MPI_Win_fence(0, wb), "fence");
	check_mpi(MPI_Win_fence(0, wh), "fence");
	if (rank == 0) {
		p2pmr_pattern_fill(host_org, 0, len, 0, true);
		/* host_org was the source of a completed put: reuse it. */
		check_mpi(MPI_Get(host_org + half, half, MPI_BYTE, 1, half,
				  half, MPI_BYTE, wb),
			  "MPI_Get BAR window -> host");
		p2pmr_pattern_fill(bar_org + half, org_off + half, half, 0,
				   true);
		check_mpi(MPI_Get(bar_org + half, half, MPI_BYTE, 1, half,
				  half, MPI_BYTE, wh),
			  "MPI_Get host window -> BAR");
	}
	check_mpi(MPI_Win_fence(0, wb), "fence");
	check_mpi(MPI_Win_fence(0, wh), "fence");
	if (rank == 1) {
		expect(bar_win, win_off, half, seed,
		       "MPI_Put host -> BAR window");
		printf("ok MPI_Put host -> BAR window, %zu bytes\n", half);
		printf("bar rank 1 offset 0x%" PRIx64 " length 0x%zx seed %u\n",
		       win_off, half, seed);
		expect(host_win, win_off, half, seed + 2,
		       "MPI_Put BAR -> host window");
		printf("ok MPI_Put BAR -> host window, %zu bytes\n", half);
	} else {
		expect(host_org + half, win_off + half, half, seed + 1,
		       "MPI_Get BAR window -> host");
		printf("ok MPI_Get BAR window -> host, %zu bytes\n", half);
		expect(bar_org + half, org_off + half, half, seed + 3,
		       "MPI_Get host window -> BAR");
		printf("ok MPI_Get host window -> BAR, %zu bytes\n", half);
		printf("bar rank 0 offset 0x%" PRIx64 " length 0x%zx seed %u\n",
		       org_off + half, half, seed + 3);
	}
	check_mpi(MPI_Win_free(&wb), "MPI_Win_free");
	check_mpi(MPI_Win_free(&wh), "MPI_Win_free");
	munmap(host_win, len);
	munmap(host_org, len);
	return 0;
}

/*
 * Rank 0 receives into and sends from a BAR buffer (MPI registers it and
 * may cache the registration by address), then unmaps it and maps host
 * memory at the same address.  The next receive must land in the host
 * memory and the next send must carry the host memory's bytes; a stale
 * registration would move them to and from the BAR instead, which the
 * checks here and on the host file (the BAR must keep seed + 0) catch.
 */
static int cmd_stale(uint8_t *bar)
{
	const size_t len = 1u << 20;
	uint64_t off = slot_off(0, 3);
	uint8_t *at = bar + off, *buf = NULL;
	uint32_t s0 = opt.seed;
	int round;

	if (rank == 1)
		buf = map_host(len);
	else
		printf("# rank 0's buffer: %p, BAR offset 0x%" PRIx64 "\n",
		       (void *)at, off);
	for (round = 0; round < 2; round++) {
		uint32_t in = s0 + 2 * round, out = in + 1;
		const char *kind = round ? "host memory" : "BAR";
		char what[128];

		if (rank == 0 && round == 1) {
			void *p;

			if (munmap(at, len))
				fail("munmap %p: %s", (void *)at,
				     strerror(errno));
			p = mmap(at, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (p != at)
				fail("mmap MAP_FIXED at %p: %s", (void *)at,
				     strerror(errno));
			printf("# host memory now at %p, where the BAR was\n",
			       (void *)at);
		}
		snprintf(what, sizeof(what), "rank 1 -> rank 0 %s", kind);
		transfer(1, rank ? buf : at, off, len, in, what);
		snprintf(what, sizeof(what), "rank 0 %s -> rank 1", kind);
		transfer(0, rank ? buf : at, off, len, out, what);
		check_mpi(MPI_Barrier(MPI_COMM_WORLD), "barrier");
	}
	if (rank == 0)
		printf("bar rank 0 offset 0x%" PRIx64 " length 0x%zx seed %u\n",
		       off, len, s0 + 1);
	return 0;
}

/*
 * osu_bw's loop: rank 0 posts a window of sends from host memory, rank 1
 * the matching receives into @dst, then a zero-byte ack.  MB/s = 10^6
 * bytes per second over all iterations but the first (warm-up).
 */
static double bw_one(uint8_t *src, uint8_t *dst, size_t len)
{
	MPI_Request req[64];
	double t0 = 0;
	unsigned int i, w;

	for (i = 0; i <= opt.iters; i++) {
		if (i == 1)
			t0 = MPI_Wtime();
		for (w = 0; w < opt.window; w++) {
			if (rank == 0)
				check_mpi(MPI_Isend(src, len, MPI_BYTE, 1, TAG,
						    MPI_COMM_WORLD, &req[w]),
					  "MPI_Isend");
			else
				check_mpi(MPI_Irecv(dst, len, MPI_BYTE, 0, TAG,
						    MPI_COMM_WORLD, &req[w]),
					  "MPI_Irecv");
		}
		check_mpi(MPI_Waitall(opt.window, req, MPI_STATUSES_IGNORE),
			  "MPI_Waitall");
		if (rank == 0)
			check_mpi(MPI_Recv(NULL, 0, MPI_BYTE, 1, TAG + 1,
					   MPI_COMM_WORLD, MPI_STATUS_IGNORE),
				  "ack");
		else
			check_mpi(MPI_Send(NULL, 0, MPI_BYTE, 0, TAG + 1,
					   MPI_COMM_WORLD), "ack");
	}
	return (double)len * opt.window * opt.iters /
		(MPI_Wtime() - t0) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sort @v and return its median. */
static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * One bw figure as bench/report.py reads it (bench/README.md): variant
 * "host" is the baseline, ratios are medians over its median.
 */
static void bw_record(FILE *f, size_t len, const char *variant, double *v,
		      double base)
{
	double med = median(v, opt.reps);

	fprintf(f, "{\"group\": \"mpi_bw\", \"op\": \"send\", \"size\": %zu, \"variant\": \"%s\", \"unit\": \"MB/s\", \"n\": %u, \"median\": %.4f, \"min\": %.4f, \"max\": %.4f, \"ratio\": %.4f, \"baseline\": \"host\"}\n",
		len, variant, opt.reps, med, v[0], v[opt.reps - 1],
		base ? med / base : 0);
}

/*
 * Bandwidth into a receive buffer in the BAR against one in host memory,
 * the sender's buffer in host memory, 4 KiB to -m bytes: -r repetitions
 * of both, in an order that alternates, after one warm-up of each.
 * Rank 0 prints a table and, with -o, appends JSON lines.
 */
static int cmd_bw(uint8_t *bar)
{
	uint8_t *src = map_host(opt.bw_max), *host = map_host(opt.bw_max);
	uint8_t *dst_bar = bar + slot_off(rank, 4);
	double *v[2];
	FILE *f = NULL;
	unsigned int r, k;
	size_t len;

	if (opt.window > 64 || !opt.window || !opt.iters || !opt.reps)
		fail("-w must be 1 to 64, -n and -r at least 1");
	if (opt.bw_max > 2 * SLOT)
		fail("-m must be at most %u", 2 * SLOT);
	v[0] = calloc(opt.reps, sizeof(double));
	v[1] = calloc(opt.reps, sizeof(double));
	if (!v[0] || !v[1])
		fail("out of memory");
	if (rank == 0 && opt.out) {
		f = fopen(opt.out, "a");
		if (!f)
			fail("%s: %s", opt.out, strerror(errno));
	}
	p2pmr_pattern_fill(src, 0, opt.bw_max, opt.seed, false);
	if (rank == 0)
		printf("# size host_MBps bar_MBps bar/host (medians of %u)\n",
		       opt.reps);
	for (len = 4096; len <= opt.bw_max; len *= 4) {
		bw_one(src, host, len);
		bw_one(src, dst_bar, len);
		for (r = 0; r < opt.reps; r++) {
			for (k = 0; k < 2; k++) {
				unsigned int which = (r + k) % 2;

				v[which][r] = bw_one(src, which ? dst_bar :
						     host, len);
			}
		}
		if (rank == 1)
			expect(dst_bar, 0, len, opt.seed, "bw receive buffer");
		if (rank == 0) {
			double h = median(v[0], opt.reps);
			double b = median(v[1], opt.reps);

			printf("bw %zu %.1f %.1f %.3f\n", len, h, b, b / h);
			if (f) {
				bw_record(f, len, "host", v[0], h);
				bw_record(f, len, "bar", v[1], h);
			}
		}
	}
	if (f)
		fclose(f);
	free(v[0]);
	free(v[1]);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(uint8_t *bar);
} cmds[] = {
	{ "sendrecv", cmd_sendrecv },
	{ "rma", cmd_rma },
	{ "stale", cmd_stale },
	{ "bw", cmd_bw },
};

static void usage(void)
{
	fprintf(stderr, "usage: mpi_bar sendrecv|rma|stale|bw -P resource"
		" [-s seed] [-n iters] [-w window] [-m max_size] [-r reps]"
		" [-o json]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	size_t bar_size, i;
	int size, c, rc = -1;
	uint8_t *bar;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	/* Errors come back to check_mpi(), which names the transfer. */
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	optind = 2;
	while ((c = getopt(argc, argv, "P:s:n:w:m:r:o:")) != -1) {
		switch (c) {
		case 'P': opt.resource = optarg; break;
		case 's': opt.seed = strtoul(optarg, NULL, 0); break;
		case 'n': opt.iters = strtoul(optarg, NULL, 0); break;
		case 'w': opt.window = strtoul(optarg, NULL, 0); break;
		case 'm': opt.bw_max = strtoull(optarg, NULL, 0); break;
		case 'r': opt.reps = strtoul(optarg, NULL, 0); break;
		case 'o': opt.out = optarg; break;
		default: usage();
		}
	}
	if (!opt.resource)
		usage();
	if (size != 2)
		fail("run with exactly 2 ranks, not %d", size);
	bar = map_bar(&bar_size);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			rc = cmds[i].run(bar);
	if (rc < 0)
		usage();
	check_mpi(MPI_Barrier(MPI_COMM_WORLD), "final barrier");
	if (rank == 0)
		printf("mpi_bar %s ok\n", argv[1]);
	MPI_Finalize();
	return rc;
}
