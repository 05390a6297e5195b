// SPDX-License-Identifier: GPL-2.0
/*
 * peer_mem_test: p2pmr's peer-memory client seen from userspace, run as
 * root inside the testbed guest with peer_mem_host.ko and the peer-enabled
 * p2pmr.ko loaded.
 *
 *   peer_mem_test sg RES OFFSET LENGTH IMPORTER-BDF
 *	Map RES (shared, read-write) and have peer_mem_host get the range
 *	[OFFSET, OFFSET + LENGTH) of the mapping the way the RDMA core
 *	does for an MR, DMA-mapped for IMPORTER-BDF (dddd:bb:dd.f); print
 *	"GET ok" and one "SG <dma> <len>" line per scatterlist entry, or
 *	"GET <errno name>"; then give the range back.
 *
 *   peer_mem_test edu SLOT RES OFFSET LENGTH EDU-BDF
 *	Map RES (shared, read-write) and have the edu DMA driver
 *	(tests/kmod/p2pmr_edu) import [OFFSET, OFFSET + LENGTH) of the
 *	mapping into SLOT through the peer-memory core, as an HCA driver
 *	does for an MR (pattern base OFFSET); print "IMPORT ok" or
 *	"IMPORT <errno name>".  The import outlives the mapping.
 *
 *   peer_mem_test reg IBDEV KIND [RES]
 *	ibv_reg_mr() (local write, remote read and write) on memory of
 *	KIND, print "REG <kind> ok" or "REG <kind> <errno name>":
 *	  host         malloc()ed memory
 *	  file-private a MAP_PRIVATE mapping of a file in /tmp
 *	  bar          a shared read-write mapping of RES
 *	  bar-ro       a shared read-only mapping of RES (opened O_RDWR)
 *	  bar-private  a MAP_PRIVATE mapping of RES
 *	  bar-straddle the end of a shared read-write mapping of RES and
 *	               the unmapped pages after it
 *	  dmabuf       a shared read-write mapping of a dma-buf export of
 *	               RES's BAR (device memory, but not a resource file)
 *
 * Exit status: 0 when the operation ran (whatever its result), 2 on bad
 * usage or setup failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "bar_export.h"

#define HOST_CTL	"/sys/kernel/debug/peer_mem_host/ctl"
#define HOST_RESULTS	"/sys/kernel/debug/peer_mem_host/results"
#define EDU_CTL		"/sys/kernel/debug/p2pmr_edu/ctl"
#define REG_LEN		0x10000
#define REG_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | \
			 IBV_ACCESS_REMOTE_WRITE)

static void usage(void)
{
	fprintf(stderr,
		"usage: peer_mem_test sg RES OFFSET LENGTH IMPORTER-BDF\n"
		"       peer_mem_test edu SLOT RES OFFSET LENGTH EDU-BDF\n"
		"       peer_mem_test reg IBDEV KIND [RES]\n"
		"  KIND: host file-private bar bar-ro bar-private bar-straddle dmabuf\n");
	exit(2);
}

/* One command to a debugfs ctl file: 0 or the errno of the write. */
static int ctl_to(const char *path, const char *cmd)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		perror(path);
		exit(2);
	}
	n = write(fd, cmd, strlen(cmd));
	close(fd);
	return n < 0 ? errno : 0;
}

static int ctl(const char *cmd)
{
	return ctl_to(HOST_CTL, cmd);
}

/* Print slot 0's scatterlist entries from the host's results file. */
static void print_sg(void)
{
	unsigned int slot, i, len;
	char line[256];
	uint64_t dma;
	FILE *f;

	f = fopen(HOST_RESULTS, "r");
	if (!f) {
		perror(HOST_RESULTS);
		exit(2);
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "slot %u sg %u dma %" SCNx64 " len %x", &slot,
			   &i, &dma, &len) == 4 && slot == 0)
			printf("SG %#" PRIx64 " %#x\n", dma, len);
	fclose(f);
}

static int do_sg(int argc, char **argv)
{
	uint64_t size, offset, length;
	char cmd[128];
	void *map;
	int fd, err;

	if (argc != 6)
		usage();
	offset = strtoull(argv[3], NULL, 0);
	length = strtoull(argv[4], NULL, 0);
	fd = test_map_bar(argv[2], &map, &size);
	if (fd < 0)
		return 2;
	snprintf(cmd, sizeof(cmd), "get 0 %lx %" PRIx64 " %s",
		 (unsigned long)map + offset, length, argv[5]);
	err = ctl(cmd);
	if (err) {
		printf("GET %s\n", strerrorname_np(err));
	} else {
		printf("GET ok\n");
		print_sg();
		if (ctl("put 0"))
			perror("put 0");
	}
	munmap(map, size);
	close(fd);
	return 0;
}

static int do_edu(int argc, char **argv)
{
	uint64_t size, offset, length;
	char cmd[160];
	void *map;
	int fd, err;

	if (argc != 7)
		usage();
	offset = strtoull(argv[4], NULL, 0);
	length = strtoull(argv[5], NULL, 0);
	fd = test_map_bar(argv[3], &map, &size);
	if (fd < 0)
		return 2;
	snprintf(cmd, sizeof(cmd), "import-peer %s %#lx %#" PRIx64 " %s %#" PRIx64,
		 argv[2], (unsigned long)map + offset, length, argv[6],
		 offset);
	err = ctl_to(EDU_CTL, cmd);
	printf("IMPORT %s\n", err ? strerrorname_np(err) : "ok");
	munmap(map, size);
	close(fd);
	return 0;
}

/* A page-aligned range of memory of @kind, REG_LEN bytes, or NULL. */
static void *reg_memory(const char *kind, const char *res)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t size;
	struct stat st;
	void *p;
	int fd;

	if (!strcmp(kind, "host"))
		return aligned_alloc(page, REG_LEN);
	if (!strcmp(kind, "file-private")) {
		char path[] = "/tmp/peer_mem_test.XXXXXX";

		fd = mkstemp(path);
		if (fd < 0 || ftruncate(fd, REG_LEN))
			return NULL;
		unlink(path);
		p = mmap(NULL, REG_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			 fd, 0);
		close(fd);
		return p == MAP_FAILED ? NULL : p;
	}
	if (!res)
		usage();
	if (!strcmp(kind, "bar")) {
		fd = test_map_bar(res, &p, &size);
		return fd < 0 ? NULL : p;
	}
	if (!strcmp(kind, "dmabuf")) {
		fd = test_export_bar(res, &size);
		if (fd < 0)
			return NULL;
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	fd = open(res, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		return NULL;
	if (!strcmp(kind, "bar-straddle")) {
		/* the BAR, then REG_LEN / 2 bytes where nothing is mapped */
		size = st.st_size;
		p = mmap(NULL, size + REG_LEN, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED ||
		    mmap(p, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 fd, 0) == MAP_FAILED ||
		    munmap((char *)p + size, REG_LEN))
			return NULL;
		return (char *)p + size - REG_LEN / 2;
	}
	if (!strcmp(kind, "bar-ro"))
		p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	else if (!strcmp(kind, "bar-private"))
		p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE, fd, 0);
	else
		usage();
	return p == MAP_FAILED ? NULL : p;
}

static int do_reg(int argc, char **argv)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	void *mem;

	if (argc < 4 || argc > 5)
		usage();
	mem = reg_memory(argv[3], argc == 5 ? argv[4] : NULL);
	if (!mem) {
		fprintf(stderr, "peer_mem_test: no %s memory: %s\n", argv[3],
			strerror(errno));
		return 2;
	}
	pd = test_open_pd("peer_mem_test", argv[2]);
	if (!pd)
		return 2;
	ctx = pd->context;
	mr = ibv_reg_mr(pd, mem, REG_LEN, REG_ACCESS);
	if (mr) {
		printf("REG %s ok\n", argv[3]);
		if (ibv_dereg_mr(mr)) {
			perror("ibv_dereg_mr");
			return 2;
		}
	} else {
		printf("REG %s %s\n", argv[3], strerrorname_np(errno));
	}
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "edu"))
		return do_edu(argc, argv);
	if (!strcmp(argv[1], "sg"))
		return do_sg(argc, argv);
	if (!strcmp(argv[1], "reg"))
		return do_reg(argc, argv);
	usage();
}
