#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rdma-core v64 with providers/rdma-core-patches: plain ibv_reg_dmabuf_mr()
# (libibverbs' own, no libp2pmr, no shim) on a p2pmr dma-buf of the near
# ivshmem BAR goes through the rxe provider's reg_dmabuf_mr to the dma-buf
# soft-RoCE kernel driver, and RDMA writes land in the BAR;
# tests/vm/cases/v64_rxe_reg_dmabuf.sh then checks the host file behind it.
#
# UCX's dma-buf probe, ibv_reg_dmabuf_mr(fd = -1), on each stack:
#   Debian's rdma-core 44, dma-buf rxe.ko   EOPNOTSUPP (no provider op:
#                                           libibverbs' dummy answers)
#   v64 + series, dma-buf rxe.ko            EBADF (the kernel answered)
#   v64 + series, stock rxe.ko              EOPNOTSUPP (the kernel driver
#                                           has no dma-buf MRs)
# The same registration that works on v64 fails with EOPNOTSUPP on 44,
# so the MR on v64 can only have come from the provider.
#
# usage: v64_rxe_reg_dmabuf.sh <rdma_rxe.ko> <p2pmr.ko>
#
# BAR layout at the end: [0x200000, 0x300000) seed 60, zero elsewhere.
. "$(dirname "$0")/lib.sh"

rxe_ko=${1:-}
p2pmr_ko=${2:-}
if [ -z "$rxe_ko" ] || [ -z "$p2pmr_ko" ]; then
	p2pmr_fail "usage: $0 <rdma_rxe.ko> <p2pmr.ko>"
fi
prog=$(guest_test_tool verbs_dmabuf_mr) || exit 1
upstream_env rdma-core

rxe_load_module "$rxe_ko"
dev=$(rxe_up rxe0) || exit 1
insmod "$p2pmr_ko" || p2pmr_fail "insmod $p2pmr_ko failed"
bdf=$(pci_near_ivshmem)
[ -n "$bdf" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$bdf/resource2

# reg <what> <stack> <verbs_dmabuf_mr arguments...>: run it, show its
# output, and check that libibverbs and the rxe provider came from that
# stack.
reg() {
	local what=$1 stack=$2 out rc lib

	shift 2
	out=$("$prog" -d "$dev" "$@" 2>&1)
	rc=$?
	printf '    %s\n' "${out//$'\n'/$'\n'    }"
	[ $rc -eq 0 ] || p2pmr_fail "$what"
	if [ "$stack" = v64 ]; then
		lib=$(readlink -f "$P2PMR_RDMA_CORE_V64_LIB")
	else
		lib=/usr/lib/
	fi
	grep -q "^loaded: $lib.*/libibverbs\\.so" <<<"$out" ||
		p2pmr_fail "$what: libibverbs is not rdma-core $stack's"
	grep -q "^loaded: $lib.*/librxe-rdmav" <<<"$out" ||
		p2pmr_fail "$what: the rxe provider is not rdma-core $stack's"
	echo "ok $what"
}

use_rdma_core 44
reg "rdma-core 44: UCX's probe (fd -1) gets EOPNOTSUPP" 44 -f -1 -e EOPNOTSUPP
reg "rdma-core 44: a BAR dma-buf gets EOPNOTSUPP (no provider op)" 44 \
	-P "$res" -o 0x200000 -l 0x100000 -i 0x7f5600200000 -e EOPNOTSUPP

use_rdma_core v64
reg "rdma-core v64: UCX's probe (fd -1) gets EBADF from the kernel" v64 \
	-f -1 -e EBADF
reg "rdma-core v64: BAR dma-buf MR through the provider, RDMA WRITE and READ" \
	v64 -P "$res" -o 0x200000 -l 0x100000 -i 0x7f5600200000 -x 60
p2pmr_expect_idle

# The stock kernel rxe: the provider passes the call on, the kernel says no.
rdma link del "$dev" || p2pmr_fail "rdma link del $dev failed"
rmmod rdma_rxe || p2pmr_fail "rmmod rdma_rxe failed"
modprobe rdma_rxe || p2pmr_fail "modprobe rdma_rxe (stock) failed"
dev=$(rxe_up rxe0) || exit 1
reg "rdma-core v64, stock rdma_rxe.ko: UCX's probe gets EOPNOTSUPP" v64 \
	-f -1 -e EOPNOTSUPP
rdma link del "$dev" || p2pmr_fail "rdma link del $dev failed"
rmmod rdma_rxe || p2pmr_fail "rmmod rdma_rxe failed"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr failed"
echo "rdma-core v64 rxe reg_dmabuf_mr ok"
