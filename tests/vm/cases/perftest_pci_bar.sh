#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# perftest's --use_pci_bar (perftest-patches/) on rdma-core v64 and on
# Debian's rdma-core 44 (tests/vm/guest/perftest_pci_bar.sh), checked from
# the host: in the file behind the near BAR, one half of each server
# buffer holds the bytes of that client's buffer, the other half the
# server's own fill.
. "$(dirname "$0")/../lib/host.sh"

upstream_host_env rdma-core
upstream_host_env perftest-p2pmr
upstream_host_env perftest-p2pmr-44

new_run_dir
vm_boot --timeout 300 -- "$GUEST_DIR/perftest_pci_bar.sh"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

check=$P2PMR_SRC_DIR/tests/vm/lib/perftest_check.py
python3 "$check" --client-buffer "$RUN_DIR/ivshmem-near.mem" 65536 \
	"$RUN_DIR/out/v64.client.buf" 0x1000000 ||
	fail "rdma-core v64: the BAR does not hold what the client wrote"
python3 "$check" --client-buffer "$RUN_DIR/ivshmem-near.mem" 65536 \
	"$RUN_DIR/out/44.client.buf" 0x1400000 ||
	fail "rdma-core 44: the BAR does not hold what the client wrote"
"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" 0 0x1000000 ||
	fail "something wrote below the server buffers"
"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 0x100000 ||
	fail "the far BAR was written"
echo "perftest_pci_bar ok: both stacks' client bytes are in the host file"
