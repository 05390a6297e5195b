// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * p2pmr export: a smoke test of the whole export path on one BAR range.
 *
 * Exports the range through /dev/p2pmr (libp2pmr), maps the dma-buf,
 * writes a pattern through it, reads it back through the dma-buf and
 * through the BAR's own sysfs resource mapping, then writes back the
 * bytes the range held before and checks them.  The device memory is left
 * as it was found; SIGINT, SIGTERM and SIGHUP wait until it is.
 *
 * Every pattern word differs from the word it replaces, so a write that
 * never reached the device cannot pass for one that did.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_LENGTH	(1ULL << 20)

struct xrun {
	const char *arg;
	char pci[P2PMR_PCI_ADDR_MAX];
	int bar;		/* -1: the first prefetchable memory BAR */
	uint64_t offset, length;
	bool have_length, force;
	struct pci_dev dev;
	struct p2pmr_bar *map;
	volatile uint64_t *bar_va;	/* the range in the resource mapping */
	volatile uint64_t *buf_va;	/* the range in the dma-buf mapping */
	uint64_t *saved;
	uint64_t seed;
	uint64_t write_ns, read_ns, bar_read_ns;
};

static void export_usage(FILE *f)
{
	fprintf(f,
		"usage: p2pmr export PCI_ADDR [--bar N] [--offset O] [--length L]\n"
		"                    [--force] [--json]\n"
		"  export a BAR range as a dma-buf, map it, write a pattern, read it back\n"
		"  (also through the BAR's resource mapping) and restore the original bytes\n"
		"  PCI_ADDR          dddd:bb:dd.f or bb:dd.f\n"
		"  -b, --bar N       the BAR (default: the first prefetchable memory BAR)\n"
		"  -o, --offset O    start within the BAR, page aligned (default 0)\n"
		"  -l, --length L    page aligned (default 1M, or to the end of the BAR)\n"
		"  -f, --force       allow a non-prefetchable BAR (registers, usually)\n"
		"  -j, --json        machine-readable output\n"
		"  sizes take 0x and K, M, G suffixes; needs root and p2pmr.ko\n");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* splitmix64 */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The pattern word at index @i: never the word it replaces. */
static uint64_t pattern(const struct xrun *x, size_t i)
{
	uint64_t w = mix(x->seed ^ i);

	return w == x->saved[i] ? ~w : w;
}

static int pick_bar(struct xrun *x)
{
	const struct pci_bar *b;
	unsigned int i;

	if (x->bar < 0) {
		for (i = 0; i < NUM_BARS; i++)
			if (pci_bar_listed(&x->dev.bars[i], false))
				break;
		if (i == NUM_BARS)
			return cli_error(CLI_USAGE,
					 "%s has no prefetchable memory BAR; name one with --bar",
					 x->pci);
		x->bar = i;
	}
	b = &x->dev.bars[x->bar];
	if (!b->size)
		return cli_error(CLI_USAGE, "%s has no BAR %d", x->pci, x->bar);
	if (b->io || !b->mem)
		return cli_error(CLI_USAGE,
				 "%s BAR %d is an I/O-port BAR, not memory: only memory BARs can be exported",
				 x->pci, x->bar);
	if (!b->prefetch && !x->force)
		return cli_error(CLI_USAGE,
				 "%s BAR %d is not prefetchable (device registers, most likely): writing a test pattern there can upset the device; --force to test it anyway",
				 x->pci, x->bar);
	return CLI_OK;
}

static int check_range(struct xrun *x)
{
	uint64_t size = x->dev.bars[x->bar].size;
	uint64_t page = sysconf(_SC_PAGESIZE);

	if (x->offset >= size)
		return cli_error(CLI_USAGE,
				 "offset 0x%" PRIx64 " is beyond BAR %d (0x%" PRIx64 " bytes)",
				 x->offset, x->bar, size);
	if (!x->have_length)
		x->length = size - x->offset < DEFAULT_LENGTH ?
			    size - x->offset : DEFAULT_LENGTH;
	if (!x->length || x->length > size - x->offset)
		return cli_error(CLI_USAGE,
				 "length 0x%" PRIx64 " at offset 0x%" PRIx64 " does not fit BAR %d (0x%" PRIx64 " bytes)",
				 x->length, x->offset, x->bar, size);
	if (x->offset % page || x->length % page)
		return cli_error(CLI_USAGE,
				 "offset 0x%" PRIx64 " and length 0x%" PRIx64 " must be multiples of the page size (0x%" PRIx64 ")",
				 x->offset, x->length, page);
	return CLI_OK;
}

/* An errno from opening or exporting, as an exit status and a message. */
static int sys_error(const struct xrun *x, int err, const char *what)
{
	const char *lib = cli_lib_msg();

	if (err == EACCES || err == EPERM)
		return cli_error(CLI_NO_PERM,
				 "%s %s BAR %d: permission denied: the sysfs resource files are root-only; run p2pmr export as root",
				 what, x->pci, x->bar);
	if (err == ENOENT && access(P2PMR_DEV, F_OK))
		return cli_error(CLI_NO_MODULE,
				 "%s does not exist: the p2pmr module is not loaded (load p2pmr.ko: insmod p2pmr.ko, or modprobe p2pmr)",
				 P2PMR_DEV);
	return cli_error(CLI_FAILED, "%s %s BAR %d: %s%s%s", what, x->pci,
			 x->bar, strerror(err), *lib ? "; libp2pmr: " : "",
			 lib);
}

/* Compare @va with the pattern (or the saved words); 0 or a message. */
static int verify(const struct xrun *x, const volatile uint64_t *va,
		  bool restored, const char *through)
{
	size_t i, n = x->length / 8;

	for (i = 0; i < n; i++) {
		uint64_t want = restored ? x->saved[i] : pattern(x, i);
		uint64_t got = va[i];

		if (got != want)
			return cli_error(CLI_FAILED,
					 "%s %s BAR %d offset 0x%" PRIx64 ": read 0x%016" PRIx64 " through %s, expected 0x%016" PRIx64 "%s",
					 restored ? "restore check:" : "mismatch:",
					 x->pci, x->bar, x->offset + i * 8,
					 got, through, want,
					 restored ? "" : " (the original bytes were written back)");
	}
	return CLI_OK;
}

static void restore(struct xrun *x)
{
	size_t i, n = x->length / 8;

	for (i = 0; i < n; i++)
		x->bar_va[i] = x->saved[i];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static double mbps(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes * 1000.0 / (double)ns : 0.0;
}

static int smoke(struct xrun *x, const char *res_name)
{
	size_t i, n = x->length / 8;
	uint64_t t0;
	int ret;

	/* the bytes the range holds now, through the resource mapping */
	for (i = 0; i < n; i++)
		x->saved[i] = x->bar_va[i];

	t0 = now_ns();
	for (i = 0; i < n; i++)
		x->buf_va[i] = pattern(x, i);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	x->write_ns = now_ns() - t0;

	t0 = now_ns();
	ret = verify(x, x->buf_va, false, "the dma-buf");
	x->read_ns = now_ns() - t0;
	if (!ret) {
		t0 = now_ns();
		ret = verify(x, x->bar_va, false, res_name);
		x->bar_read_ns = now_ns() - t0;
	}

	restore(x);
	if (verify(x, x->buf_va, true, "the dma-buf"))
		return CLI_FAILED;
	return ret;
}

static void report(const struct xrun *x, const char *res_name)
{
	char len[32], bsize[32];

	human_size(x->length, len, sizeof(len));
	human_size(x->dev.bars[x->bar].size, bsize, sizeof(bsize));
	if (cli_json) {
		printf("{\"ok\": true, \"pci\": \"%s\", \"bar\": %d, \"bar_size\": %" PRIu64
		       ", \"offset\": %" PRIu64 ", \"length\": %" PRIu64
		       ", \"prefetchable\": %s, \"wc\": %s, \"resource\": \"%s\""
		       ", \"write_ns\": %" PRIu64 ", \"read_ns\": %" PRIu64
		       ", \"bar_read_ns\": %" PRIu64
		       ", \"write_mb_s\": %.1f, \"read_mb_s\": %.1f, \"restored\": true}\n",
		       x->pci, x->bar, x->dev.bars[x->bar].size, x->offset,
		       x->length, json_bool(x->dev.bars[x->bar].prefetch),
		       json_bool(p2pmr_bar_is_wc(x->map)), res_name,
		       x->write_ns, x->read_ns, x->bar_read_ns,
		       mbps(x->length, x->write_ns),
		       mbps(x->length, x->read_ns));
		return;
	}
	printf("%s BAR %d (%s%s), range [0x%" PRIx64 ", 0x%" PRIx64 "), %s\n",
	       x->pci, x->bar, bsize,
	       x->dev.bars[x->bar].prefetch ? ", prefetchable" : "",
	       x->offset, x->offset + x->length, len);
	printf("  exported through %s, dma-buf mapped\n", P2PMR_DEV);
	printf("  wrote %s through the dma-buf in %.3f ms (%.1f MB/s)\n", len,
	       x->write_ns / 1e6, mbps(x->length, x->write_ns));
	printf("  read  %s back through the dma-buf in %.3f ms (%.1f MB/s): matches\n",
	       len, x->read_ns / 1e6, mbps(x->length, x->read_ns));
	printf("  read  %s back through %s in %.3f ms: matches\n", len,
	       res_name, x->bar_read_ns / 1e6);
	printf("  restored the original %s, checked\n", len);
	printf("OK\n");
}

static int run(struct xrun *x)
{
	char res_name[32];
	sigset_t block, old;
	void *buf;
	int fd, ret;

	ret = pci_canon(x->arg, x->pci);
	if (ret)
		return cli_error(CLI_USAGE,
				 "'%s' is not a PCI address (dddd:bb:dd.f or bb:dd.f, hex)",
				 x->arg);
	ret = pci_dev_read(x->pci, &x->dev);
	if (ret == ENOENT)
		return cli_error(CLI_USAGE, "no PCI device %s", x->pci);
	if (ret)
		return cli_error(CLI_FAILED, "cannot read %s/%s: %s",
				 PCI_SYSFS, x->pci, strerror(ret));
	ret = pick_bar(x);
	if (!ret)
		ret = check_range(x);
	if (ret)
		return ret;
	if (access(P2PMR_DEV, F_OK))
		return sys_error(x, ENOENT, "export");

	x->map = p2pmr_bar_open(x->pci, x->bar, 0);
	if (!x->map)
		return sys_error(x, errno, "cannot map");
	snprintf(res_name, sizeof(res_name), "resource%d%s", x->bar,
		 p2pmr_bar_is_wc(x->map) ? "_wc" : "");
	x->bar_va = (volatile uint64_t *)((char *)p2pmr_bar_addr(x->map) +
					  x->offset);

	fd = p2pmr_export_fd(p2pmr_bar_fd(x->map), x->offset, x->length, 0);
	if (fd < 0) {
		ret = sys_error(x, errno, "cannot export");
		goto out_close;
	}
	buf = mmap(NULL, x->length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED) {
		ret = cli_error(CLI_FAILED,
				"cannot mmap the dma-buf of %s BAR %d: %s",
				x->pci, x->bar, strerror(errno));
		goto out_fd;
	}
	x->buf_va = buf;
	x->saved = malloc(x->length);
	if (!x->saved) {
		ret = cli_error(CLI_FAILED, "out of memory");
		goto out_unmap;
	}
	x->seed = now_ns() ^ ((uint64_t)getpid() << 32);

	/* from the first write until the bytes are back */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	ret = smoke(x, res_name);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (!ret)
		report(x, res_name);
	free(x->saved);
out_unmap:
	munmap(buf, x->length);
out_fd:
	close(fd);
out_close:
	p2pmr_bar_close(x->map);
	return ret;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bar", required_argument, NULL, 'b' },
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'l' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct xrun x = { .bar = -1 };
	uint64_t v;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "b:o:l:fjh", opts, NULL)) != -1) {
		switch (o) {
		case 'b':
			if (parse_size(optarg, &v) || v >= NUM_BARS)
				return cli_error(CLI_USAGE,
						 "--bar %s: a BAR number is 0 to 5",
						 optarg);
			x.bar = v;
			break;
		case 'o':
			if (parse_size(optarg, &x.offset))
				return cli_error(CLI_USAGE,
						 "--offset %s is not a size",
						 optarg);
			break;
		case 'l':
			if (parse_size(optarg, &x.length))
				return cli_error(CLI_USAGE,
						 "--length %s is not a size",
						 optarg);
			x.have_length = true;
			break;
		case 'f':
			x.force = true;
			break;
		case 'j':
			cli_json = true;
			break;
		case 'h':
			export_usage(stdout);
			return CLI_OK;
		default:
			export_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc - 1) {
		export_usage(stderr);
		return CLI_USAGE;
	}
	x.arg = argv[optind];
	return run(&x);
}
