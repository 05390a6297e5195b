#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# On rdma-core v64 with providers/rdma-core-patches, libibverbs' plain
# ibv_reg_dmabuf_mr() registers a p2pmr dma-buf of the near ivshmem BAR
# through the rxe provider, and an RDMA WRITE through that MR lands in the
# BAR: the host file behind it holds seed 60 in [0x200000, 0x300000) and
# nothing else (the registrations that must fail wrote nothing).  The
# guest side (tests/vm/guest/v64_rxe_reg_dmabuf.sh) also records UCX's
# dma-buf probe on both stacks.
. "$(dirname "$0")/../lib/host.sh"

upstream_host_env rdma-core

new_run_dir
vm_boot -- "$GUEST_DIR/v64_rxe_reg_dmabuf.sh" \
	"$P2PMR_KMOD_DIR/rdma_rxe/rdma_rxe.ko" \
	"$P2PMR_KMOD_DIR/p2pmr/p2pmr.ko"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

file=$RUN_DIR/ivshmem-near.mem
size=$(stat -c %s "$file")
"$PATTERN" check-zero "$file" 0 $((0x200000)) ||
	fail "something wrote below the MR"
host_check near $((0x200000)) $((0x100000)) 60
"$PATTERN" check-zero "$file" $((0x300000)) $((size - 0x300000)) ||
	fail "something wrote above the MR"
"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 \
	"$(stat -c %s "$RUN_DIR/ivshmem-far.mem")" ||
	fail "the far BAR was written"
echo "v64_rxe_reg_dmabuf ok: the host file behind the near BAR holds the" \
	"RDMA WRITE through the provider's dma-buf MR, and nothing else"
