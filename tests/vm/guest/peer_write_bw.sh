#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unmodified ibv_reg_mr() through p2pmr's peer-memory client, guest side
# (tests/vm/cases/peer_write_bw.sh checks the host file behind the BAR
# afterwards): Debian's ib_write_bw puts its server buffer in the near
# ivshmem BAR with --mmap=.../resource2, no LD_PRELOAD.
# - With the peer-memory host loaded but no client, the server fails to
#   register its buffer: the client is what makes it work.
# - With the peer-enabled p2pmr.ko, the same command runs over soft-RoCE
#   loopback; the host sees p2pmr's client allocate and free one MR, and
#   every counter returns to zero.
# - An MR that starts and ends inside pages (ibv_reg_mr() of mapping +
#   0x300010, 0x3000 bytes) takes an RDMA WRITE of 0x2345 bytes of seed 90
#   at MR+5, which the host must find at BAR offset 0x300015, with zeros
#   around it.
#
# usage: peer_write_bw.sh <rdma_rxe.ko>
#
# Lines starting with "DEMO " are facts for the host side.
. "$(dirname "$0")/lib.sh"

rxe_ko=${1:-}
[ -n "$rxe_ko" ] || p2pmr_fail "usage: $0 <rdma_rxe.ko>"
size=65536
iters=200
work=$(mktemp -d)

rxe_load_module "$rxe_ko"
dev=$(rxe_up rxe0) || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$near/resource2
[ -z "${LD_PRELOAD:-}" ] || p2pmr_fail "LD_PRELOAD is set: $LD_PRELOAD"

peer_host_load
echo "# peer-memory host loaded, no client: ib_write_bw --mmap=$res"
write_bw_bar_refused "$dev" $size "$res" "$work"
echo "ok - without p2pmr's client the server cannot register its BAR buffer"

peer_load
dmesg | grep -q 'p2pmr: registered as peer-memory client "p2pmr"' ||
	p2pmr_fail "no log line says the peer-memory client registered"
echo "ok - p2pmr.ko registered its peer-memory client"

echo "DEMO bar_server_time $(date +%s)" >>"$work/facts"
bw=$(write_bw_pair "$dev" $size $iters "$work" bar --mmap="$res") ||
	p2pmr_fail "ib_write_bw into the BAR failed with p2pmr's client"
sed 's/^/  | /' "$work/bar.client" | grep -E "bytes|^  \| +$size"
echo "ok - unmodified ib_write_bw wrote into the BAR: $bw MB/s"

[ "$(peer_stat num_alloc_mrs)" = 1 ] ||
	p2pmr_fail "the host saw $(peer_stat num_alloc_mrs) peer MRs, not 1"
peer_expect_idle
echo "ok - one peer MR, deregistered; every counter back to zero"

xfer=$(guest_test_tool rxe_dmabuf_xfer) || exit 1
"$xfer" -d "$dev" -P "$res" -M \
	-o 0x300010 -l 0x3000 write,5,0x2345,90 read,5,0x2345,90 |
	sed 's/^/  | /'
[ "${PIPESTATUS[0]}" -eq 0 ] ||
	p2pmr_fail "RDMA into a peer MR inside pages failed"
peer_expect_idle
echo "ok - a peer MR that starts and ends inside pages takes RDMA"

cat "$work/facts"
echo "DEMO size $size"
rm -rf "$work"
peer_rxe_teardown "$dev"
echo "peer_write_bw guest side ok"
