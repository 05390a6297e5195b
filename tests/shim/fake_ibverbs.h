/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A stand-in for libibverbs.so.1 (rdma-core v64's MR entry points, at
 * their symbol versions, with their behaviour: which calls go through the
 * PLT, what mr->addr is, what a provider without reg_dmabuf_mr answers),
 * so that the verbs shim can be preloaded in front of it on a machine
 * without RDMA.  Its "provider" refuses to pin device memory (EFAULT),
 * as the kernel refuses a BAR mapping.
 */
#ifndef FAKE_IBVERBS_H
#define FAKE_IBVERBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "shim_compat.h"

struct fake_ibverbs {
	/* set by the test */
	bool provider_has_dmabuf;	/* else libibverbs' EOPNOTSUPP stub */
	uintptr_t devmem_start;		/* the provider cannot pin these */
	uintptr_t devmem_end;
	/* counted by the stand-in */
	unsigned int compat_1_0_calls;	/* ibv_reg_mr@IBVERBS_1.0 and dereg */
	unsigned int reg_mr_ex_calls;
	struct ibv_mr_init_attr *last_attr;	/* as ibv_reg_mr_ex() got it */
	uint64_t last_mask;
	unsigned int reg_dmabuf_calls;
};

extern struct fake_ibverbs fake_ibverbs;

#endif
