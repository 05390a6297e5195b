#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unmodified ib_write_bw --mmap=<near BAR> through p2pmr's peer-memory
# client (tests/vm/guest/peer_write_bw.sh), then, from the host, the
# bytes the client wrote in the file behind the BAR, and those of the
# RDMA WRITE into a peer MR that starts and ends inside pages.
. "$(dirname "$0")/../lib/host.sh"

new_run_dir
vm_boot --timeout 600 -- "$GUEST_DIR/peer_write_bw.sh" \
	"$P2PMR_KMOD_DIR/rdma_rxe/rdma_rxe.ko"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

size=$(guest_fact size)
[ -n "$size" ] || fail "the guest reported no facts"
host_check_write_bw bar "$size" "$(guest_fact bar_server_time)"
host_check near 0x300015 0x2345 90
"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" 0x300000 0x15 &&
	"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" 0x30235a 0xca6 ||
	fail "RDMA into the unaligned peer MR wrote outside its range"
echo "peer_write_bw ok: the host file behind the BAR holds what" \
	"ib_write_bw's client wrote through the peer-memory MR"
