// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * p2pmr: PCI BAR memory for RDMA, from the command line.
 *
 *   p2pmr [--json] list   [--all]
 *   p2pmr [--json] topo   [--all] [-d RDMA_DEV]
 *   p2pmr [--json] export PCI_ADDR [--bar N] [--offset O] [--length L]
 *
 * This file: the dispatcher and what the subcommands share.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

bool cli_json;
static char lib_msg[512];

static void log_fn(int level, const char *msg, void *arg)
{
	(void)arg;
	if (level == P2PMR_LOG_ERR)
		snprintf(lib_msg, sizeof(lib_msg), "%s", msg);
	if (getenv("P2PMR_DEBUG"))
		fprintf(stderr, "libp2pmr: %s\n", msg);
}

const char *cli_lib_msg(void)
{
	return lib_msg;
}

int cli_error(int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "p2pmr: %s\n", msg);
	if (cli_json) {
		printf("{\"ok\": false, \"error\": ");
		json_str(msg);
		printf(", \"exit_status\": %d}\n", status);
	}
	return status;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* Sorted entries of a directory, without dot files. */
char **list_dir(const char *path, unsigned int *n)
{
	struct dirent *de;
	char **names = NULL;
	unsigned int cap = 0;
	DIR *d = opendir(path);

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		char *s;

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
		s = strdup(de->d_name);
		if (!s)
			break;
		names[(*n)++] = s;
	}
	closedir(d);
	if (names)
		qsort(names, *n, sizeof(*names), name_cmp);
	return names;
}

void free_list(char **names, unsigned int n)
{
	while (n)
		free(names[--n]);
	free(names);
}

int pci_canon(const char *in, char out[P2PMR_PCI_ADDR_MAX])
{
	unsigned int dom = 0, bus, dev, fn;
	int len = 0;

	if (sscanf(in, "%x:%x:%x.%x%n", &dom, &bus, &dev, &fn, &len) != 4 ||
	    in[len]) {
		dom = 0;
		len = 0;
		if (sscanf(in, "%x:%x.%x%n", &bus, &dev, &fn, &len) != 3 ||
		    in[len])
			return EINVAL;
	}
	if (strchr(in, '-') || strchr(in, '+') || strchr(in, ' ') ||
	    dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		return EINVAL;
	snprintf(out, P2PMR_PCI_ADDR_MAX, "%04x:%02x:%02x.%x", dom, bus, dev,
		 fn);
	return 0;
}

static int read_hex(const char *pci, const char *attr, unsigned int *v)
{
	char path[512], buf[64];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), PCI_SYSFS "/%s/%s", pci, attr);
	f = fopen(path, "r");
	if (!f)
		return errno;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%x", v) != 1)
		ret = EIO;
	fclose(f);
	return ret;
}

static const struct {
	unsigned int cls;	/* base class << 8 | subclass */
	const char *name;
} class_names[] = {
	{ 0x0100, "SCSI storage controller" },
	{ 0x0101, "IDE interface" },
	{ 0x0104, "RAID bus controller" },
	{ 0x0106, "SATA controller" },
	{ 0x0107, "Serial Attached SCSI controller" },
	{ 0x0108, "Non-Volatile memory controller" },
	{ 0x0200, "Ethernet controller" },
	{ 0x0207, "Infiniband controller" },
	{ 0x0280, "Network controller" },
	{ 0x0300, "VGA compatible controller" },
	{ 0x0302, "3D controller" },
	{ 0x0380, "Display controller" },
	{ 0x0403, "Audio device" },
	{ 0x0500, "RAM memory" },
	{ 0x0502, "CXL" },
	{ 0x0580, "Memory controller" },
	{ 0x0780, "Communication controller" },
	{ 0x0880, "System peripheral" },
	{ 0x0b40, "Co-processor" },
	{ 0x0c03, "USB controller" },
	{ 0x0c05, "SMBus" },
	{ 0x1000, "Network and computing encryption device" },
	{ 0x1200, "Processing accelerators" },
	{ 0x1280, "Processing accelerators" },
};

static const char *class_name(unsigned int cls)
{
	unsigned int i;

	for (i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++)
		if (class_names[i].cls == cls >> 8)
			return class_names[i].name;
	return NULL;
}

static void pci_driver(const char *pci, char *buf, size_t len)
{
	char path[512], target[512];
	const char *base;
	ssize_t r;

	buf[0] = 0;
	snprintf(path, sizeof(path), PCI_SYSFS "/%s/driver", pci);
	r = readlink(path, target, sizeof(target) - 1);
	if (r < 0)
		return;
	target[r] = 0;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	snprintf(buf, len, "%.*s", (int)len - 1, base);
}

int pci_dev_read(const char *pci, struct pci_dev *d)
{
	char path[512], line[256];
	unsigned int num;
	FILE *f;
	int ret;

	memset(d, 0, sizeof(*d));
	snprintf(d->pci, sizeof(d->pci), "%s", pci);
	snprintf(path, sizeof(path), PCI_SYSFS "/%s", pci);
	if (access(path, F_OK))
		return errno;
	ret = read_hex(pci, "vendor", &d->vendor);
	if (!ret)
		ret = read_hex(pci, "device", &d->device);
	if (!ret)
		ret = read_hex(pci, "class", &d->class);
	if (ret)
		return ret;
	/* bridges (class 0x06) forward BARs; they do not own memory */
	d->bridge = (d->class >> 16) == 0x06;
	d->class_name = class_name(d->class);
	pci_driver(pci, d->driver, sizeof(d->driver));

	snprintf(path, sizeof(path), PCI_SYSFS "/%s/resource", pci);
	f = fopen(path, "r");
	if (!f)
		return errno;
	for (num = 0; num < NUM_BARS && fgets(line, sizeof(line), f); num++) {
		struct pci_bar *b = &d->bars[num];
		uint64_t start, end, flags;

		snprintf(b->pci, sizeof(b->pci), "%s", pci);
		b->num = num;
		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64,
			   &start, &end, &flags) != 3 || !end)
			continue;
		b->start = start;
		b->size = end - start + 1;
		b->flags = flags;
		b->io = flags & IORESOURCE_IO;
		b->mem = flags & IORESOURCE_MEM;
		b->prefetch = b->mem && (flags & IORESOURCE_PREFETCH);
		snprintf(path, sizeof(path), PCI_SYSFS "/%s/resource%u_wc",
			 pci, num);
		b->wc = !access(path, F_OK);
	}
	fclose(f);
	return 0;
}

bool pci_bar_listed(const struct pci_bar *b, bool all)
{
	return b->size && b->mem && !b->io && (all || b->prefetch);
}

/* Exact binary units: 64M, 16K, 1536K; bytes otherwise. */
const char *human_size(uint64_t n, char *buf, size_t len)
{
	static const char unit[] = "BKMGTPE";
	unsigned int u = 0;

	while (n >= 1024 && !(n % 1024) && u < sizeof(unit) - 2) {
		n /= 1024;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 "%c", n, unit[u]);
	return buf;
}

/* A number with C prefixes and an optional K, M, G or T suffix (binary). */
int parse_size(const char *s, uint64_t *out)
{
	unsigned int shift = 0;
	uint64_t v;
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return EINVAL;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	case 0:
		break;
	default:
		return EINVAL;
	}
	if (shift && end[1])
		return EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return ERANGE;
	*out = v << shift;
	return 0;
}

void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

const char *json_bool(bool b)
{
	return b ? "true" : "false";
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} cmds[] = {
	{ "list", cmd_list, "the memory BARs that can be exported" },
	{ "topo", cmd_topo,
	  "which BARs each RDMA device reaches peer to peer, and why" },
	{ "export", cmd_export,
	  "smoke test: export a BAR range, map it, write, read back, restore" },
};

static int usage(FILE *f, int status)
{
	unsigned int i;

	fprintf(f,
		"usage: p2pmr [--json] COMMAND [OPTIONS]\n"
		"       p2pmr COMMAND --help\n"
		"PCI BAR memory for RDMA (libp2pmr %s)\n\ncommands:\n",
		p2pmr_version());
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f,
		"\noptions:\n"
		"  -j, --json     machine-readable output (any command)\n"
		"  -h, --help     this help\n"
		"  -V, --version  the version of libp2pmr\n"
		"\nexit status: 0 ok, 1 failed, 2 bad usage or argument,\n"
		"3 p2pmr.ko not loaded, 4 permission denied\n");
	return status;
}

int main(int argc, char **argv)
{
	unsigned int i;
	int a;

	p2pmr_set_log_fn(log_fn, NULL);
	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "-j") || !strcmp(argv[a], "--json")) {
			cli_json = true;
		} else if (!strcmp(argv[a], "-h") ||
			   !strcmp(argv[a], "--help")) {
			return usage(stdout, CLI_OK);
		} else if (!strcmp(argv[a], "-V") ||
			   !strcmp(argv[a], "--version")) {
			printf("p2pmr %s\n", p2pmr_version());
			return CLI_OK;
		} else {
			fprintf(stderr, "p2pmr: unknown option %s\n", argv[a]);
			return usage(stderr, CLI_USAGE);
		}
	}
	if (a == argc) {
		fprintf(stderr, "p2pmr: no command\n");
		return usage(stderr, CLI_USAGE);
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[a], cmds[i].name))
			return cmds[i].fn(argc - a, argv + a);
	fprintf(stderr, "p2pmr: unknown command '%s'\n", argv[a]);
	return usage(stderr, CLI_USAGE);
}
