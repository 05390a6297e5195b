/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * p2pmr: the command-line tool.  What the subcommands share: PCI BARs as
 * sysfs describes them, errors and their exit statuses, JSON output.
 */
#ifndef P2PMR_CLI_H
#define P2PMR_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <p2pmr/p2pmr.h>

/* Exit statuses (p2pmr(1), EXIT STATUS). */
enum {
	CLI_OK = 0,
	CLI_FAILED = 1,		/* the check failed, or the system refused */
	CLI_USAGE = 2,		/* bad usage, address, BAR or range */
	CLI_NO_MODULE = 3,	/* /dev/p2pmr is missing */
	CLI_NO_PERM = 4,	/* permission denied (not root) */
};

#define IORESOURCE_IO		0x00000100ULL
#define IORESOURCE_MEM		0x00000200ULL
#define IORESOURCE_PREFETCH	0x00002000ULL

#define PCI_SYSFS	"/sys/bus/pci/devices"
#define P2PMR_DEV	"/dev/p2pmr"
#define NUM_BARS	6

/* One BAR of a PCI function, from sysfs. */
struct pci_bar {
	char pci[P2PMR_PCI_ADDR_MAX];
	unsigned int num;
	uint64_t start, size, flags;
	bool mem, io, prefetch, wc;
};

/* A PCI function, from sysfs. */
struct pci_dev {
	char pci[P2PMR_PCI_ADDR_MAX];
	unsigned int vendor, device, class;
	char driver[64];		/* "" when no driver is bound */
	const char *class_name;
	bool bridge;
	struct pci_bar bars[NUM_BARS];
};

extern bool cli_json;

int cmd_list(int argc, char **argv);
int cmd_topo(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* Print "p2pmr: MSG" (and in JSON mode an error object); return status. */
int cli_error(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The last error message libp2pmr logged, or "". */
const char *cli_lib_msg(void);

char **list_dir(const char *path, unsigned int *n);
void free_list(char **names, unsigned int n);
/* Canonical "dddd:bb:dd.f" from "dddd:bb:dd.f" or "bb:dd.f"; 0 or EINVAL. */
int pci_canon(const char *in, char out[P2PMR_PCI_ADDR_MAX]);
/* 0, ENOENT (no such device) or an errno of reading sysfs. */
int pci_dev_read(const char *pci, struct pci_dev *d);
/* The memory BARs worth listing: prefetchable ones, or all with @all. */
bool pci_bar_listed(const struct pci_bar *b, bool all);
const char *human_size(uint64_t n, char *buf, size_t len);
int parse_size(const char *s, uint64_t *out);
void json_str(const char *s);
const char *json_bool(bool b);

#endif /* P2PMR_CLI_H */
