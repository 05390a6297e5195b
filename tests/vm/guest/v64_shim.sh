#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The verbs shim on both userspace stacks, in one boot: Debian's rdma-core
# 44 (the rxe provider has no reg_dmabuf_mr: libp2pmr's uverbs fallback)
# and rdma-core v64 with providers/rdma-core-patches (the provider's own
# reg_dmabuf_mr, the path mlx5 and efa take).  On each:
#
#   - an unmodified program's plain ibv_reg_mr() on the BAR gives an MR
#     whose addr is the address passed in, RDMA WRITE/READ and a SEND/RECV
#     ping-pong through it (shim_mr_test mixed; the host checks the seeds);
#   - ibv_reg_dmabuf_mr() of a p2pmr dma-buf through the shim: an MR laid
#     out as libibverbs lays one out (addr = the dma-buf offset);
#   - UCX's dma-buf probe, ibv_reg_dmabuf_mr(fd = -1), gets EBADF where a
#     dma-buf registration would work (the provider's verb, or the shim's
#     fallback, over the dma-buf rxe.ko) and EOPNOTSUPP over the stock
#     rxe.ko, which has no dma-buf MRs: the shim never makes it up;
#   - remote atomics on the BAR: EOPNOTSUPP, said why.
#
# BAR layout at the end: rdma-core 44 seed 71 at [0xa00000, 0xb00000) and
# its ping-pong buffers above; v64 seed 72 at [0xc00000, 0xd00000); the
# dma-buf registrations write nothing.
. "$(dirname "$0")/lib.sh"

dev=$(p2pmr_rxe_setup) || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$near/resource2
shim=$(p2pmr_shim) || exit 1
mr_test=$(guest_test_tool shim_mr_test) || exit 1
reg_test=$(guest_test_tool verbs_dmabuf_mr) || exit 1
upstream_env rdma-core

# on_stack <stack> <what> <command...>: run it on that stack under the
# shim, show its output, fail with <what> unless it succeeds.
on_stack() {
	local stack=$1 what=$2 out rc

	shift 2
	use_rdma_core "$stack"
	out=$(LD_PRELOAD=$shim P2PMR_DEBUG=1 "$@" 2>&1)
	rc=$?
	printf '    %s\n' "${out//$'\n'/$'\n'    }"
	[ $rc -eq 0 ] || p2pmr_fail "rdma-core $stack: $what"
	echo "ok rdma-core $stack: $what"
}

seed=71
offset=0xa00000
for stack in 44 v64; do
	on_stack $stack "plain ibv_reg_mr on the BAR (mr->addr checked)" \
		"$mr_test" mixed -d "$dev" -P "$res" -o $offset -l 0x100000 \
		-s $seed -n 20
	on_stack $stack "ibv_reg_dmabuf_mr of a BAR dma-buf through the shim" \
		"$reg_test" -d "$dev" -P "$res" -o 0x200000 -l 0x100000 \
		-i 0x7f5600200000 -e 0
	on_stack $stack "UCX's probe (fd -1) gets EBADF" \
		"$reg_test" -d "$dev" -f -1 -e EBADF
	on_stack $stack "remote atomics on the BAR: EOPNOTSUPP" \
		"$mr_test" refuse -d "$dev" -P "$res" -l 0x10000 -A \
		-e EOPNOTSUPP
	seed=72
	offset=0xc00000
done
p2pmr_expect_idle

# The stock kernel rxe: no dma-buf MRs, whatever the userspace.
rdma link del "$dev" || p2pmr_fail "rdma link del $dev failed"
rmmod rdma_rxe || p2pmr_fail "rmmod rdma_rxe failed"
modprobe rdma_rxe || p2pmr_fail "modprobe rdma_rxe (stock) failed"
dev=$(rxe_up rxe0) || exit 1
for stack in 44 v64; do
	on_stack $stack "stock rdma_rxe.ko: UCX's probe gets EOPNOTSUPP" \
		"$reg_test" -d "$dev" -f -1 -e EOPNOTSUPP
done
echo "v64_shim ok"
