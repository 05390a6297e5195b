#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Stock perftest built with CUDA, ib_write_bw --use_cuda=0 under the verbs
# shim on the CUDA stand-in (tests/vm/guest/perftest_cuda.sh), checked
# from the host: the stand-in's first allocation is at BAR offset
# 0x1800000, and one half of the server's 2 x 64 KiB buffer there holds
# the client's bytes, the other half zeros (the server's CPU cannot fill
# device memory).
. "$(dirname "$0")/../lib/host.sh"

upstream_host_env rdma-core
upstream_host_env perftest-cuda

new_run_dir
vm_boot --timeout 300 -- "$GUEST_DIR/perftest_cuda.sh"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

python3 "$P2PMR_SRC_DIR/tests/vm/lib/perftest_check.py" --client-buffer \
	"$RUN_DIR/ivshmem-near.mem" 65536 "$RUN_DIR/out/cuda.client.buf" \
	0x1800000 --server-unfilled ||
	fail "the BAR does not hold what the client wrote into device memory"
"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" 0 0x1800000 ||
	fail "something wrote below the device memory"
"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 0x100000 ||
	fail "the far BAR was written"
echo "perftest_cuda ok: the client's bytes are in the host file"
