#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo, guest side (tests/vm/demo.sh boots it and checks the host
# file behind the BAR afterwards): Debian's unmodified ib_write_bw puts
# its server buffer in a PCI BAR with --mmap=.../resource2.  Stock, that
# fails; with libp2pmr-shim.so preloaded it runs over soft-RoCE loopback,
# and its bandwidth is shown next to a run into host memory.
#
# Lines starting with "DEMO " are facts for the host side.
#
# usage: demo.sh [--stack v64]
#   --stack v64  rdma-core v64 with providers/rdma-core-patches and
#                perftest 26.04.17 built against it, unmodified (it
#                registers with ibv_reg_mr_ex() first); the client's
#                buffer is a file it maps, handed back to the host (this
#                perftest seeds its fill from /dev/urandom)
. "$(dirname "$0")/lib.sh"

stack=44
if [ "${1:-}" = --stack ]; then
	stack=${2:-}
	[ "$stack" = 44 ] || [ "$stack" = v64 ] ||
		p2pmr_fail "usage: $0 [--stack 44|v64]"
fi

size=65536
iters=${P2PMR_DEMO_ITERS:-2000}
work=$(mktemp -d)

step() {
	echo
	echo "== $*"
}

# bw_pair <log prefix> <server args...>: write_bw_pair with this demo's
# device, size and iterations (server environment in $server_env).
bw_pair() {
	WRITE_BW_SERVER_ENV=$server_env write_bw_pair "$dev" $size "$iters" \
		"$work" "$@"
}

if [ "$stack" = v64 ]; then
	use_rdma_core v64
	upstream_env perftest
	export PATH=$P2PMR_PERFTEST:$PATH
	[ "$(command -v ib_write_bw)" = "$P2PMR_PERFTEST/ib_write_bw" ] ||
		p2pmr_fail "ib_write_bw is not perftest 26.04.17's"
	client_buf=$work/client.buf
	truncate -s $((2 * size)) "$client_buf"
	export WRITE_BW_CLIENT_ARGS="--mmap=$client_buf"
	echo "userspace: rdma-core v64 ($(rdma_core_libibverbs)), perftest 26.04.17 ($P2PMR_PERFTEST)"
fi

step "1. The testbed: PCIe topology of the guest"
lspci -tv

dev=$(p2pmr_rxe_setup) || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$near/resource2
shim=$(p2pmr_shim) || exit 1
echo "soft-RoCE $dev on $(nic_netdev) ($(pci_nic)); GPU stand-in: ivshmem $near BAR2 ($res)"

step "2. p2pmr topo: which BARs $dev reaches peer to peer"
echo "\$ p2pmr topo"
"$(p2pmr_tool p2pmr)" topo || p2pmr_fail "p2pmr topo failed"

step "3. Stock: ib_write_bw --mmap=$res (server), no shim"
echo "\$ ib_write_bw -d $dev -x 1 -F -s $size --mmap=$res"
write_bw_bar_refused "$dev" $size "$res" "$work"
echo "-> fails as on any stock system: the kernel cannot pin BAR pages (EFAULT)"
echo "DEMO stock_failed 1"

step "4. The same command with LD_PRELOAD=libp2pmr-shim.so; client on host memory"
echo "\$ LD_PRELOAD=$shim ib_write_bw -d $dev -x 1 -F -s $size -n $iters --mmap=$res"
echo "DEMO bar_server_time $(date +%s)" >>"$work/facts"
server_env="LD_PRELOAD=$shim P2PMR_DEBUG=2"
bar_bw=$(bw_pair bar --mmap="$res") ||
	p2pmr_fail "ib_write_bw into the BAR failed with the shim"
sed -n 's/^p2pmr: \(shim:.*\)/  | \1/p; /^allocated mmap/s/^/  | /p' \
	"$work/bar.server"
grep -q "shim: .* is device memory: dma-buf MR" "$work/bar.server" ||
	p2pmr_fail "the server's buffer was not registered as device memory"
sed 's/^/  | /' "$work/bar.client" | grep -E "bytes|^  \| +$size"
echo "-> ib_write_bw wrote into the BAR: $bar_bw MB/s"
if [ -n "${client_buf:-}" ]; then
	cp "$client_buf" /p2pmr-out/bar.client.buf ||
		p2pmr_fail "cannot hand the client's buffer to the host"
	echo "DEMO bar_client_buffer bar.client.buf"
fi
p2pmr_expect_idle

step "5. For comparison: the server buffer in host memory (shim preloaded)"
host_bw=$(bw_pair host) || p2pmr_fail "ib_write_bw into host memory failed"
sed 's/^/  | /' "$work/host.client" | grep -E "bytes|^  \| +$size"
echo "-> into host memory: $host_bw MB/s"

cat "$work/facts"
echo "DEMO size $size"
echo "DEMO bar_bw $bar_bw"
echo "DEMO host_bw $host_bw"
rm -rf "$work"
echo "demo guest side ok"
