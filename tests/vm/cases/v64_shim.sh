#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The verbs shim on Debian's rdma-core 44 and on rdma-core v64 with
# providers/rdma-core-patches (tests/vm/guest/v64_shim.sh), checked from
# the host: each stack's RDMA through plain ibv_reg_mr() MRs is in the
# file behind the near BAR, where that stack's run put it.
. "$(dirname "$0")/../lib/host.sh"

upstream_host_env rdma-core

new_run_dir
vm_boot -- "$GUEST_DIR/v64_shim.sh"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

host_check near 0xa00000 0x100000 71
host_check near 0xc00000 0x100000 72
"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 0x100000 ||
	fail "the far BAR was written"
echo "v64_shim ok: both stacks' writes are in the host file behind the BAR"
