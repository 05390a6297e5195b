#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Stock perftest 26.04.17 built with CUDA (scripts/upstream-build.sh
# perftest-cuda), against rdma-core v64: an ib_write_bw server with
# --use_cuda=0, whose buffer is cuMemAlloc() memory and which registers
# it with plain ibv_reg_mr(), under the verbs shim.  No GPU: the CUDA
# driver library is the test double of tests/cuda_stub, whose device
# memory is the near ivshmem BAR from 0x1800000 on, so the host can check
# the BAR against the client's buffer (tests/vm/cases/perftest_cuda.sh).
# Without the shim the same server fails at the MR, as on a GPU machine
# without nvidia-peermem.
. "$(dirname "$0")/lib.sh"

size=65536
work=$(mktemp -d)
dev=$(p2pmr_rxe_setup) || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
shim=$(p2pmr_shim) || exit 1
stub=$P2PMR_BUILD_DIR/tests/cuda_stub
[ -e "$stub/libcuda.so" ] || p2pmr_fail "$stub/libcuda.so is not built"

use_rdma_core v64
upstream_env perftest-cuda
PATH=$P2PMR_PERFTEST_CUDA:$PATH
cuda_env="LD_LIBRARY_PATH=$stub:$LD_LIBRARY_PATH
	P2PMR_CUDA_STUB_RESOURCE=/sys/bus/pci/devices/$near/resource2
	P2PMR_CUDA_STUB_OFFSET=0x1800000"

# Stock: the server's ibv_reg_mr() of device memory fails.
# shellcheck disable=SC2086
timeout 60 env $cuda_env ib_write_bw -d "$dev" -x 1 -F -s $size --use_cuda=0 \
	>"$work/stock.server" 2>&1 &
spid=$!
wait_tcp_listen 18515
timeout 60 ib_write_bw -d "$dev" -x 1 -F -s $size "$P2PMR_GUEST_IP" \
	>"$work/stock.client" 2>&1
wait $spid
rc=$?
sed 's/^/  | /' "$work/stock.server" | tail -n 8
[ $rc -ne 0 ] && [ $rc -ne 124 ] ||
	p2pmr_fail "ib_write_bw --use_cuda=0 without the shim did not fail (status $rc)"
grep -q "Couldn't allocate MR\|failed to create mr\|Couldn't create IB resources" \
	"$work/stock.server" ||
	p2pmr_fail "ib_write_bw --use_cuda=0 without the shim failed, but not at the MR"
echo "ok without the shim, ib_write_bw --use_cuda=0 fails to register device memory"

truncate -s $((2 * size)) "$work/client.buf"
bw=$(WRITE_BW_SERVER_ENV="$cuda_env LD_PRELOAD=$shim P2PMR_DEBUG=2" \
     WRITE_BW_CLIENT_ARGS="--mmap=$work/client.buf" \
     write_bw_pair "$dev" $size 200 "$work" cuda --use_cuda=0) ||
	p2pmr_fail "ib_write_bw --use_cuda=0 under the shim"
sed -n 's/^p2pmr: \(shim:.*\)/  | \1/p; /GPU buffer/s/^/  | /p' \
	"$work/cuda.server" | head -n 20
grep -q "is CUDA device memory" "$work/cuda.server" ||
	p2pmr_fail "the server's MR did not go through CUDA's dma-buf export"
grep -q "shim: .* is device memory: dma-buf MR" "$work/cuda.server" ||
	p2pmr_fail "the server's MR is not a dma-buf MR"
cp "$work/client.buf" /p2pmr-out/cuda.client.buf ||
	p2pmr_fail "cannot hand the client's buffer to the host"
echo "ok ib_write_bw --use_cuda=0 under the shim: $bw MB/s"
p2pmr_expect_idle
rm -rf "$work"
echo "perftest_cuda ok"
