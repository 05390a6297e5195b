/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Setup shared by the guest test programs that register an MR over a PCI
 * BAR (rxe_dmabuf_reg, rxe_dmabuf_xfer, peer_mem_test): the RDMA device by
 * name, and a whole BAR exported as a dma-buf through libp2pmr or mapped.  Both report
 * their failures on stderr.
 */
#ifndef P2PMR_TEST_BAR_EXPORT_H
#define P2PMR_TEST_BAR_EXPORT_H

#include <stdint.h>

#include <infiniband/verbs.h>

/*
 * Open the RDMA device called @name; NULL when it cannot be, said on
 * stderr ("<prog>: no RDMA device <name>" when there is none).
 */
struct ibv_context *test_open_ibdev(const char *prog, const char *name);

/*
 * A protection domain on the RDMA device called @name (its context is
 * pd->context); NULL when there is none, said on stderr.
 */
struct ibv_pd *test_open_pd(const char *prog, const char *name);

/*
 * Export the whole BAR behind the sysfs resource file @resource through
 * p2pmr_export_fd(), read-write: the dma-buf fd (O_CLOEXEC), and its size
 * in @size when not NULL; -1 on failure.
 */
int test_export_bar(const char *resource, uint64_t *size);

/*
 * Map the whole BAR behind the sysfs resource file @resource, shared and
 * read-write, at *@map: the resource fd (O_CLOEXEC), and the BAR's size in
 * @size; -1 on failure, *@map untouched.
 */
int test_map_bar(const char *resource, void **map, uint64_t *size);

#endif /* P2PMR_TEST_BAR_EXPORT_H */
