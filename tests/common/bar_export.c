// SPDX-License-Identifier: GPL-2.0
/*
 * The RDMA device by name and a whole BAR as a dma-buf, for the guest test
 * programs; see bar_export.h.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <p2pmr/p2pmr.h>

#include "bar_export.h"

struct ibv_context *test_open_ibdev(const char *prog, const char *name)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	int i, n;

	list = ibv_get_device_list(&n);
	if (!list) {
		perror("ibv_get_device_list");
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			break;
	if (i == n) {
		fprintf(stderr, "%s: no RDMA device %s\n", prog, name);
	} else {
		ctx = ibv_open_device(list[i]);
		if (!ctx)
			perror("ibv_open_device");
	}
	ibv_free_device_list(list);
	return ctx;
}

struct ibv_pd *test_open_pd(const char *prog, const char *name)
{
	struct ibv_context *ctx = test_open_ibdev(prog, name);
	struct ibv_pd *pd;

	if (!ctx)
		return NULL;
	pd = ibv_alloc_pd(ctx);
	if (!pd) {
		perror("ibv_alloc_pd");
		ibv_close_device(ctx);
	}
	return pd;
}

/* The resource file opened read-write, its size in @st; -1 if not. */
static int open_resource(const char *resource, struct stat *st)
{
	int res = open(resource, O_RDWR | O_CLOEXEC);

	if (res < 0 || fstat(res, st)) {
		perror(resource);
		if (res >= 0)
			close(res);
		return -1;
	}
	return res;
}

int test_export_bar(const char *resource, uint64_t *size)
{
	struct stat st;
	int res, fd;

	res = open_resource(resource, &st);
	if (res < 0)
		return -1;
	fd = p2pmr_export_fd(res, 0, st.st_size, 0);
	if (fd < 0)
		perror("p2pmr_export_fd");
	else if (size)
		*size = st.st_size;
	close(res);
	return fd;
}

int test_map_bar(const char *resource, void **map, uint64_t *size)
{
	struct stat st;
	void *p;
	int res;

	res = open_resource(resource, &st);
	if (res < 0)
		return -1;
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, res, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		close(res);
		return -1;
	}
	*map = p;
	*size = st.st_size;
	return res;
}
