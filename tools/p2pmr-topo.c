// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * p2pmr-topo: which PCI memory BARs each RDMA device can reach peer to
 * peer, and why (or why not).
 *
 *   p2pmr-topo [--all] [--json] [-d RDMA_DEV]
 *
 * One row per memory BAR of a PCI endpoint (prefetchable ones unless
 * --all), one column per RDMA device, each cell the path a dma-buf attach
 * would take: bus_addr (below a common switch), host_bridge (through the
 * root complex, IOMMU-mapped), or refused.  The reasons follow the table.
 * The answers come from libp2pmr's p2pmr_query_p2p(): the p2pmr module's
 * own decision where it is loaded and the BAR is accessible, else a
 * prediction from sysfs made the same way.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p2pmr/p2pmr.h>

#define MAX_RDMA	16
#define MAX_BARS	256

#define IORESOURCE_MEM		0x00000200ULL
#define IORESOURCE_PREFETCH	0x00002000ULL

struct bar {
	char pci[P2PMR_PCI_ADDR_MAX];
	unsigned int num;
	uint64_t size;
	bool prefetch, wc;
	char driver[32];
	/* per RDMA device: 0 or the query's errno, and the answer */
	int err[MAX_RDMA];
	struct p2pmr_p2p_info info[MAX_RDMA];
};

static struct {
	char rdma[MAX_RDMA][64];
	char rdma_pci[MAX_RDMA][P2PMR_PCI_ADDR_MAX];
	unsigned int nrdma;
	struct bar bars[MAX_BARS];
	unsigned int nbars;
	bool all, json;
	const char *only;
} t;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* Sorted entries of a sysfs directory, without dot files. */
static char **list_dir(const char *path, unsigned int *n)
{
	struct dirent *de;
	char **names = NULL;
	unsigned int cap = 0;
	DIR *d = opendir(path);

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			char **nn;

			cap = cap ? 2 * cap : 32;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				break;
			names = nn;
		}
		names[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	if (names)
		qsort(names, *n, sizeof(*names), name_cmp);
	return names;
}

static void free_list(char **names, unsigned int n)
{
	while (n)
		free(names[--n]);
	free(names);
}

static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, len, f);
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = 0;
	return ok;
}

static void find_rdma(void)
{
	unsigned int n, i;
	char **names = list_dir("/sys/class/infiniband", &n);

	for (i = 0; i < n && t.nrdma < MAX_RDMA; i++) {
		if (t.only && strcmp(t.only, names[i]))
			continue;
		snprintf(t.rdma[t.nrdma], sizeof(t.rdma[0]), "%s", names[i]);
		t.nrdma++;
	}
	free_list(names, n);
}

static void device_driver(const char *pci, char *buf, size_t len)
{
	char path[512], target[512];
	ssize_t r;
	const char *base;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", pci);
	r = readlink(path, target, sizeof(target) - 1);
	if (r < 0) {
		snprintf(buf, len, "-");
		return;
	}
	target[r] = 0;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	snprintf(buf, len, "%.*s", (int)len - 1, base);
}

/* The memory BARs of one endpoint. */
static void find_bars_of(const char *pci)
{
	char path[512], line[256], cls[32];
	unsigned int num = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", pci);
	/* bridges (class 0x06) forward BARs; they do not own memory */
	if (!read_line(path, cls, sizeof(cls)) || !strncmp(cls, "0x06", 4))
		return;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", pci);
	f = fopen(path, "r");
	if (!f)
		return;
	while (num < 6 && fgets(line, sizeof(line), f) &&
	       t.nbars < MAX_BARS) {
		uint64_t start, end, flags;
		struct bar *b;

		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64,
			   &start, &end, &flags) != 3 || !end ||
		    !(flags & IORESOURCE_MEM) ||
		    (!t.all && !(flags & IORESOURCE_PREFETCH))) {
			num++;
			continue;
		}
		b = &t.bars[t.nbars++];
		snprintf(b->pci, sizeof(b->pci), "%s", pci);
		b->num = num;
		b->size = end - start + 1;
		b->prefetch = flags & IORESOURCE_PREFETCH;
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/resource%u_wc", pci, num);
		b->wc = !access(path, F_OK);
		device_driver(pci, b->driver, sizeof(b->driver));
		num++;
	}
	fclose(f);
}

static void find_bars(void)
{
	unsigned int n, i;
	char **names = list_dir("/sys/bus/pci/devices", &n);

	for (i = 0; i < n; i++)
		find_bars_of(names[i]);
	free_list(names, n);
}

static void query_all(void)
{
	unsigned int i, r;

	for (i = 0; i < t.nbars; i++) {
		struct bar *b = &t.bars[i];

		for (r = 0; r < t.nrdma; r++) {
			b->err[r] = p2pmr_query_p2p(t.rdma[r], b->pci,
						    &b->info[r]);
			if (!b->err[r] && !t.rdma_pci[r][0])
				memcpy(t.rdma_pci[r], b->info[r].rdma_pci_addr,
				       sizeof(t.rdma_pci[r]));
		}
	}
}

static const char *human(uint64_t n, char *buf, size_t len)
{
	static const char unit[] = "BKMGTP";
	unsigned int u = 0;

	while (n >= 1024 && !(n % 1024) && u < sizeof(unit) - 2) {
		n /= 1024;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 "%c", n, unit[u]);
	return buf;
}

static const char *cell(const struct bar *b, unsigned int r)
{
	if (b->err[r] == ENODEV)
		return "no-pci";
	if (b->err[r])
		return "error";
	return p2pmr_path_str(b->info[r].path);
}

static void print_table(void)
{
	char size[32], type[32], bar[40];
	unsigned int i, r;
	bool predicted = false;

	printf("%-16s %6s  %-12s %-10s", "BAR", "SIZE", "TYPE", "DRIVER");
	for (r = 0; r < t.nrdma; r++)
		printf(" %-12s", t.rdma[r]);
	printf("\n");
	for (i = 0; i < t.nbars; i++) {
		const struct bar *b = &t.bars[i];

		snprintf(bar, sizeof(bar), "%s/%u", b->pci, b->num);
		snprintf(type, sizeof(type), "%s%s",
			 b->prefetch ? "mem,pref" : "mem", b->wc ? ",wc" : "");
		printf("%-16s %6s  %-12s %-10s", bar,
		       human(b->size, size, sizeof(size)), type, b->driver);
		for (r = 0; r < t.nrdma; r++) {
			bool kernel = !b->err[r] &&
				      b->info[r].flags & P2PMR_P2P_KERNEL;

			if (!b->err[r] && !kernel)
				predicted = true;
			printf(" %-12s", cell(b, r));
		}
		printf("\n");
	}
	if (!t.nbars)
		printf("(no %smemory BARs on PCI endpoints)\n",
		       t.all ? "" : "prefetchable ");

	printf("\nLegend: bus_addr = peer to peer below a common switch, bus addresses;\n"
	       "host_bridge = through the root complex, IOMMU-mapped; refused = no P2P path\n"
	       "(attach fails with EREMOTEIO); no-pci = the RDMA device has no PCI function.\n");
	if (predicted)
		printf("Some answers are predicted from sysfs (p2pmr.ko not loaded, or the BAR not\n"
		       "accessible): the module decides at attach time.\n");

	printf("\nRDMA devices:\n");
	for (r = 0; r < t.nrdma; r++)
		printf("  %-12s PCI %s\n", t.rdma[r],
		       t.rdma_pci[r][0] ? t.rdma_pci[r] : "(none)");
	printf("\nWhy:\n");
	for (i = 0; i < t.nbars; i++) {
		const struct bar *b = &t.bars[i];

		for (r = 0; r < t.nrdma; r++) {
			if (i && !strcmp(b->pci, t.bars[i - 1].pci))
				continue;	/* one line per device */
			if (b->err[r])
				printf("  %s -> %s: %s\n", t.rdma[r], b->pci,
				       strerror(b->err[r]));
			else
				printf("  %s -> %s: %s (%s, distance %u%s): %s\n",
				       t.rdma[r], b->pci,
				       p2pmr_path_str(b->info[r].path),
				       p2pmr_reason_str(b->info[r].reason),
				       b->info[r].distance,
				       b->info[r].flags & P2PMR_P2P_KERNEL ?
				       ", p2pmr.ko" : ", predicted",
				       b->info[r].reason_str);
		}
	}
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json(void)
{
	unsigned int i, r;

	printf("{\"rdma_devices\": [");
	for (r = 0; r < t.nrdma; r++) {
		printf("%s{\"name\": ", r ? ", " : "");
		json_str(t.rdma[r]);
		printf(", \"pci\": ");
		if (t.rdma_pci[r][0])
			json_str(t.rdma_pci[r]);
		else
			printf("null");
		printf("}");
	}
	printf("],\n \"bars\": [");
	for (i = 0; i < t.nbars; i++) {
		const struct bar *b = &t.bars[i];

		printf("%s\n  {\"pci\": ", i ? "," : "");
		json_str(b->pci);
		printf(", \"bar\": %u, \"size\": %" PRIu64
		       ", \"prefetchable\": %s, \"wc\": %s, \"driver\": ",
		       b->num, b->size, b->prefetch ? "true" : "false",
		       b->wc ? "true" : "false");
		json_str(b->driver);
		printf(", \"paths\": {");
		for (r = 0; r < t.nrdma; r++) {
			const struct p2pmr_p2p_info *in = &b->info[r];

			printf("%s", r ? ", " : "");
			json_str(t.rdma[r]);
			if (b->err[r]) {
				printf(": {\"path\": null, \"error\": ");
				json_str(strerror(b->err[r]));
				printf("}");
				continue;
			}
			printf(": {\"path\": \"%s\", \"reason\": \"%s\", \"distance\": %u, \"kernel\": %s, \"host_bridge_route\": %s, \"iommu\": %s, \"why\": ",
			       p2pmr_path_str(in->path),
			       p2pmr_reason_str(in->reason), in->distance,
			       in->flags & P2PMR_P2P_KERNEL ? "true" : "false",
			       in->flags & P2PMR_P2P_HOST_BRIDGE_ROUTE ?
			       "true" : "false",
			       in->flags & P2PMR_P2P_IOMMU ? "true" : "false");
			json_str(in->reason_str);
			printf("}");
		}
		printf("}}");
	}
	printf("\n ]}\n");
}

static void usage(FILE *f, int status)
{
	fprintf(f,
		"usage: p2pmr-topo [--all] [--json] [-d RDMA_DEVICE]\n"
		"  which PCI memory BARs each RDMA device reaches peer to peer\n"
		"  -a, --all     every memory BAR, not only prefetchable ones\n"
		"  -j, --json    machine-readable output\n"
		"  -d, --device  only this RDMA device\n");
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int o;

	while ((o = getopt_long(argc, argv, "ajd:h", opts, NULL)) != -1) {
		switch (o) {
		case 'a':
			t.all = true;
			break;
		case 'j':
			t.json = true;
			break;
		case 'd':
			t.only = optarg;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);

	find_rdma();
	if (t.only && !t.nrdma) {
		fprintf(stderr, "p2pmr-topo: no RDMA device %s\n", t.only);
		return 1;
	}
	find_bars();
	query_all();
	if (t.json)
		print_json();
	else
		print_table();
	if (!t.nrdma && !t.json)
		fprintf(stderr, "p2pmr-topo: no RDMA devices (/sys/class/infiniband is empty)\n");
	return 0;
}
