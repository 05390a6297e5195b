// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * p2pmr list: the memory BARs of PCI endpoints that p2pmr can export.
 * Prefetchable ones unless --all; I/O-port BARs never; bridges, whose
 * windows forward other devices' BARs, are left out.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void list_usage(FILE *f)
{
	fprintf(f,
		"usage: p2pmr list [--all] [--json]\n"
		"  the memory BARs of PCI endpoints that can be exported\n"
		"  -a, --all   non-prefetchable memory BARs too\n"
		"  -j, --json  machine-readable output\n");
}

static void print_class(const struct pci_dev *d)
{
	if (d->class_name)
		printf("%s", d->class_name);
	else
		printf("class 0x%06x", d->class);
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned int n, i, b, shown = 0;
	bool all = false;
	char **names;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "ajh", opts, NULL)) != -1) {
		switch (o) {
		case 'a':
			all = true;
			break;
		case 'j':
			cli_json = true;
			break;
		case 'h':
			list_usage(stdout);
			return CLI_OK;
		default:
			list_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		list_usage(stderr);
		return CLI_USAGE;
	}

	names = list_dir(PCI_SYSFS, &n);
	if (!names)
		return cli_error(CLI_FAILED, "cannot read " PCI_SYSFS);
	if (cli_json)
		printf("{\"bars\": [");
	else
		printf("%-13s %3s %6s  %-4s %-3s  %-12s %-9s  %s\n", "DEVICE",
		       "BAR", "SIZE", "PREF", "WC", "DRIVER", "ID", "CLASS");
	for (i = 0; i < n; i++) {
		struct pci_dev d;

		if (pci_dev_read(names[i], &d) || d.bridge)
			continue;
		for (b = 0; b < NUM_BARS; b++) {
			const struct pci_bar *bar = &d.bars[b];
			char size[32], id[16];

			if (!pci_bar_listed(bar, all))
				continue;
			human_size(bar->size, size, sizeof(size));
			snprintf(id, sizeof(id), "%04x:%04x", d.vendor,
				 d.device);
			if (!cli_json) {
				printf("%-13s %3u %6s  %-4s %-3s  %-12s %-9s  ",
				       d.pci, b, size,
				       bar->prefetch ? "yes" : "no",
				       bar->wc ? "yes" : "no",
				       d.driver[0] ? d.driver : "none", id);
				print_class(&d);
				printf("\n");
				shown++;
				continue;
			}
			printf("%s\n  {\"pci\": \"%s\", \"bar\": %u, \"size\": %" PRIu64
			       ", \"size_human\": \"%s\", \"prefetchable\": %s, \"wc\": %s, \"driver\": ",
			       shown ? "," : "", d.pci, b, bar->size, size,
			       json_bool(bar->prefetch), json_bool(bar->wc));
			if (d.driver[0])
				json_str(d.driver);
			else
				printf("null");
			printf(", \"vendor\": \"0x%04x\", \"device\": \"0x%04x\", \"class\": \"0x%06x\", \"class_name\": ",
			       d.vendor, d.device, d.class);
			if (d.class_name)
				json_str(d.class_name);
			else
				printf("null");
			printf("}");
			shown++;
		}
	}
	free_list(names, n);
	if (cli_json)
		printf("%s]}\n", shown ? "\n " : "");
	else if (!shown)
		printf("(no %smemory BARs on PCI endpoints)\n",
		       all ? "" : "prefetchable ");
	return CLI_OK;
}
