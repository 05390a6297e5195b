#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# perftest 26.04.17 with perftest-patches/ (--use_pci_bar through
# libp2pmr), built against rdma-core v64 with providers/rdma-core-patches
# and against Debian's rdma-core 44: an ib_write_bw server with its buffer
# in the near ivshmem BAR, a client on a file it maps (handed back to the
# host, which checks the BAR against it: tests/vm/cases/perftest_pci_bar.sh).
#
# BAR layout at the end: v64's server buffer at 0x1000000, 44's at
# 0x1400000, each 2 x 64 KiB.
. "$(dirname "$0")/lib.sh"

size=65536
work=$(mktemp -d)
dev=$(p2pmr_rxe_setup) || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"

# run_pci_bar <stack> <env component> <offset>
run_pci_bar() {
	local stack=$1 comp=$2 off=$3 dir bw

	use_rdma_core "$stack"
	upstream_env "$comp"
	if [ "$stack" = v64 ]; then
		dir=$P2PMR_PERFTEST_P2PMR
	else
		dir=$P2PMR_PERFTEST_P2PMR_44
	fi
	truncate -s $((2 * size)) "$work/$stack.client.buf"
	bw=$(PATH=$dir:$PATH \
	     WRITE_BW_CLIENT_ARGS="--mmap=$work/$stack.client.buf" \
	     write_bw_pair "$dev" $size 200 "$work" "$stack" \
		--use_pci_bar="$near,bar=2,offset=$off") ||
		p2pmr_fail "rdma-core $stack: ib_write_bw --use_pci_bar"
	grep -q "^Exported .* of BAR 2 of $near as DMA-BUF fd" \
		"$work/$stack.server" ||
		p2pmr_fail "rdma-core $stack: the server did not export the BAR"
	sed 's/^/  | /' "$work/$stack.server" | head -20
	cp "$work/$stack.client.buf" "/p2pmr-out/$stack.client.buf" ||
		p2pmr_fail "cannot hand the client's buffer to the host"
	echo "ok rdma-core $stack: ib_write_bw --use_pci_bar=$near,bar=2,offset=$off: $bw MB/s"
	p2pmr_expect_idle
}

run_pci_bar v64 perftest-p2pmr 0x1000000
run_pci_bar 44 perftest-p2pmr-44 0x1400000
rm -rf "$work"
echo "perftest_pci_bar ok"
