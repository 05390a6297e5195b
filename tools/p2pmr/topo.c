// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * p2pmr topo: a matrix of the PCI devices that have memory BARs (rows)
 * and the RDMA devices (columns), in the spirit of nvidia-smi topo -m.
 * Each cell is the path a dma-buf attach of the device's BARs by the RDMA
 * device would take; the reasons follow the matrix.  The answers come
 * from p2pmr_query_p2p(): the p2pmr module's own decision where it is
 * loaded and the BAR is accessible, else a prediction from sysfs.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define MAX_RDMA	16
#define MAX_DEVS	256

struct row {
	struct pci_dev dev;
	char bars[64];		/* "2:64M 4:16K" */
	/* per RDMA device: 0 or the query's errno, and the answer */
	int err[MAX_RDMA];
	struct p2pmr_p2p_info info[MAX_RDMA];
};

static struct {
	char rdma[MAX_RDMA][64];
	char rdma_pci[MAX_RDMA][P2PMR_PCI_ADDR_MAX];
	unsigned int nrdma;
	struct row *rows;
	unsigned int nrows;
	bool all;
	const char *only;
} t;

static void topo_usage(FILE *f)
{
	fprintf(f,
		"usage: p2pmr topo [--all] [--json] [-d RDMA_DEVICE]\n"
		"  which PCI devices' memory BARs each RDMA device reaches peer to peer\n"
		"  -a, --all     devices with only non-prefetchable memory BARs too\n"
		"  -d, --device  only this RDMA device\n"
		"  -j, --json    machine-readable output\n");
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

static void find_rows(void)
{
	unsigned int n, i, b;
	char **names = list_dir(PCI_SYSFS, &n);

	for (i = 0; i < n && t.nrows < MAX_DEVS; i++) {
		struct row *r = &t.rows[t.nrows];
		size_t len = 0;

		if (pci_dev_read(names[i], &r->dev) || r->dev.bridge)
			continue;
		for (b = 0; b < NUM_BARS; b++) {
			char size[32];

			if (!pci_bar_listed(&r->dev.bars[b], t.all))
				continue;
			len += snprintf(r->bars + len, sizeof(r->bars) - len,
					"%s%u:%s", len ? "," : "", b,
					human_size(r->dev.bars[b].size, size,
						   sizeof(size)));
			if (len >= sizeof(r->bars))
				break;
		}
		if (r->bars[0])
			t.nrows++;
	}
	free_list(names, n);
}

static void query_all(void)
{
	unsigned int i, k;

	for (i = 0; i < t.nrows; i++) {
		struct row *r = &t.rows[i];

		for (k = 0; k < t.nrdma; k++) {
			r->err[k] = p2pmr_query_p2p(t.rdma[k], r->dev.pci,
						    &r->info[k],
						    sizeof(r->info[k]));
			if (!r->err[k] && !t.rdma_pci[k][0])
				memcpy(t.rdma_pci[k], r->info[k].rdma_pci_addr,
				       sizeof(t.rdma_pci[k]));
		}
	}
}

/* The matrix's short code for a cell. */
static const char *code(const struct row *r, unsigned int k)
{
	const struct p2pmr_p2p_info *in = &r->info[k];

	if (r->err[k] == ENODEV)
		return "NP";
	if (r->err[k])
		return "ERR";
	switch (in->path) {
	case P2PMR_PATH_BUS_ADDR:
		return in->reason == P2PMR_REASON_SAME_DEVICE ? "DEV" : "SW";
	case P2PMR_PATH_HOST_BRIDGE:
		return "HB";
	case P2PMR_PATH_REFUSED:
		return "X";
	default:
		return "?";
	}
}

static bool predicted(const struct row *r, unsigned int k)
{
	return !r->err[k] && !(r->info[k].flags & P2PMR_P2P_KERNEL);
}

static void print_matrix(void)
{
	unsigned int i, k;
	bool any_pred = false, any_kernel = false;

	printf("%-13s %-16s", "", "BARS");
	for (k = 0; k < t.nrdma; k++)
		printf(" %-8s", t.rdma[k]);
	printf("  %s\n", "DRIVER");
	for (i = 0; i < t.nrows; i++) {
		const struct row *r = &t.rows[i];

		printf("%-13s %-16s", r->dev.pci, r->bars);
		for (k = 0; k < t.nrdma; k++) {
			char cell[16];

			snprintf(cell, sizeof(cell), "%s%s", code(r, k),
				 predicted(r, k) ? "*" : "");
			any_pred |= predicted(r, k);
			any_kernel |= !r->err[k] && !predicted(r, k);
			printf(" %-8s", cell);
		}
		printf("  %s\n", r->dev.driver[0] ? r->dev.driver : "none");
	}
	if (!t.nrows)
		printf("(no PCI endpoints with %smemory BARs)\n",
		       t.all ? "" : "prefetchable ");

	printf("\nLegend:\n"
	       "  SW  = peer to peer with bus addresses, below a common switch or bridge\n"
	       "  DEV = the RDMA device's own function\n"
	       "  HB  = through the host bridge (root complex), IOMMU-mapped addresses\n"
	       "  X   = refused: no P2P path, registration fails with EREMOTEIO (why below)\n"
	       "  NP  = the RDMA device has no PCI function\n"
	       "  *   = predicted from sysfs (p2pmr.ko not loaded, or the BAR not\n"
	       "        accessible: run as root); the module decides at attach time\n");
	if (any_kernel && !any_pred)
		printf("All answers are p2pmr.ko's own decisions.\n");

	printf("\nRDMA devices:\n");
	for (k = 0; k < t.nrdma; k++)
		printf("  %-8s PCI %s\n", t.rdma[k],
		       t.rdma_pci[k][0] ? t.rdma_pci[k] : "(none)");
	printf("\nWhy:\n");
	for (i = 0; i < t.nrows; i++) {
		const struct row *r = &t.rows[i];

		for (k = 0; k < t.nrdma; k++) {
			const struct p2pmr_p2p_info *in = &r->info[k];

			if (r->err[k]) {
				printf("  %s -> %s: %s\n", t.rdma[k],
				       r->dev.pci, strerror(r->err[k]));
				continue;
			}
			printf("  %s -> %s: %s (%s, distance ", t.rdma[k],
			       r->dev.pci, p2pmr_path_str(in->path),
			       p2pmr_reason_str(in->reason));
			if (in->distance == P2PMR_DISTANCE_NONE)
				printf("none");
			else
				printf("%u", in->distance);
			printf(", %s): %s\n",
			       predicted(r, k) ? "predicted" : "p2pmr.ko",
			       in->reason_str);
		}
	}
}

static void print_json(void)
{
	unsigned int i, k, b;
	bool first;

	printf("{\"module_loaded\": %s, \"rdma_devices\": [",
	       json_bool(!access(P2PMR_DEV, F_OK)));
	for (k = 0; k < t.nrdma; k++) {
		printf("%s{\"name\": ", k ? ", " : "");
		json_str(t.rdma[k]);
		printf(", \"pci\": ");
		if (t.rdma_pci[k][0])
			json_str(t.rdma_pci[k]);
		else
			printf("null");
		printf("}");
	}
	printf("],\n \"devices\": [");
	for (i = 0; i < t.nrows; i++) {
		const struct row *r = &t.rows[i];

		printf("%s\n  {\"pci\": \"%s\", \"driver\": ", i ? "," : "",
		       r->dev.pci);
		if (r->dev.driver[0])
			json_str(r->dev.driver);
		else
			printf("null");
		printf(", \"bars\": [");
		first = true;
		for (b = 0; b < NUM_BARS; b++) {
			const struct pci_bar *bar = &r->dev.bars[b];

			if (!pci_bar_listed(bar, t.all))
				continue;
			printf("%s{\"bar\": %u, \"size\": %" PRIu64
			       ", \"prefetchable\": %s, \"wc\": %s}",
			       first ? "" : ", ", b, bar->size,
			       json_bool(bar->prefetch), json_bool(bar->wc));
			first = false;
		}
		printf("], \"paths\": {");
		for (k = 0; k < t.nrdma; k++) {
			const struct p2pmr_p2p_info *in = &r->info[k];

			printf("%s", k ? ", " : "");
			json_str(t.rdma[k]);
			if (r->err[k]) {
				printf(": {\"code\": \"%s\", \"path\": null, \"error\": ",
				       code(r, k));
				json_str(strerror(r->err[k]));
				printf("}");
				continue;
			}
			printf(": {\"code\": \"%s\", \"path\": \"%s\", \"reason\": \"%s\", \"distance\": ",
			       code(r, k), p2pmr_path_str(in->path),
			       p2pmr_reason_str(in->reason));
			if (in->distance == P2PMR_DISTANCE_NONE)
				printf("null");
			else
				printf("%u", in->distance);
			printf(", \"kernel\": %s, \"host_bridge_route\": %s, \"iommu\": %s, \"why\": ",
			       json_bool(in->flags & P2PMR_P2P_KERNEL),
			       json_bool(in->flags &
					 P2PMR_P2P_HOST_BRIDGE_ROUTE),
			       json_bool(in->flags & P2PMR_P2P_IOMMU));
			json_str(in->reason_str);
			printf("}");
		}
		printf("}}");
	}
	printf("%s]}\n", t.nrows ? "\n " : "");
}

int cmd_topo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "ajd:h", opts, NULL)) != -1) {
		switch (o) {
		case 'a':
			t.all = true;
			break;
		case 'j':
			cli_json = true;
			break;
		case 'd':
			t.only = optarg;
			break;
		case 'h':
			topo_usage(stdout);
			return CLI_OK;
		default:
			topo_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		topo_usage(stderr);
		return CLI_USAGE;
	}

	find_rdma();
	if (t.only && !t.nrdma)
		return cli_error(CLI_USAGE, "no RDMA device %s", t.only);
	t.rows = calloc(MAX_DEVS, sizeof(*t.rows));
	if (!t.rows)
		return cli_error(CLI_FAILED, "out of memory");
	find_rows();
	query_all();
	if (cli_json)
		print_json();
	else
		print_matrix();
	if (!t.nrdma && !cli_json)
		fprintf(stderr, "p2pmr: no RDMA devices (/sys/class/infiniband is empty)\n");
	free(t.rows);
	return CLI_OK;
}
