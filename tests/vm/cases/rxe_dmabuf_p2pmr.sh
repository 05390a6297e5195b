#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RDMA end to end into device memory: the dma-buf soft-RoCE driver imports
# the near ivshmem BAR from p2pmr.ko and RDMA WRITEs land in the host file
# behind that BAR.  The guest side (tests/vm/guest/rxe_dmabuf_p2pmr.sh)
# writes seed 5 over [0x10000, 0x110000), then seed 6 over [0x10000,
# 0x20000) just before it revokes the export; the far BAR is refused.
. "$(dirname "$0")/../lib/host.sh"

new_run_dir
vm_boot -- "$GUEST_DIR/rxe_dmabuf_p2pmr.sh" \
	"$P2PMR_KMOD_DIR/rdma_rxe/rdma_rxe.ko" \
	"$P2PMR_KMOD_DIR/p2pmr/p2pmr.ko"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"
host_check near 0x10000 0x10000 6
host_check near 0x20000 0xf0000 5
"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" 0 0x10000 ||
	fail "RDMA wrote below the registered range"
"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" 0x110000 0x100000 ||
	fail "RDMA wrote past the registered range"
"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 0x100000 ||
	fail "the refused far BAR was written"
echo "rxe_dmabuf_p2pmr ok: RDMA data is in the host file behind the BAR"
