#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Removal of a BAR's device under a live peer-memory MR: plain
# ibv_reg_mr() on a mapping of the near ivshmem BAR2 (through p2pmr's
# peer-memory client), RDMA WRITEs in flight, and the device removed
# (echo 1 >.../remove).  p2pmr calls the RDMA core's invalidate callback
# before the BAR goes away: work requests then complete with errors (a
# remote access error, the rest flushed), none posted after the removal
# returned succeeds, nothing oopses or warns, the MR deregisters, every
# counter at p2pmr and at the peer-memory host returns to zero, and a
# rescan brings the device back, usable for peer-memory RDMA again.
#
# usage: peer_revoke.sh <rdma_rxe.ko>
#
# MR over [0x1000000, 0x1100000) of the BAR, 64 KiB writes of seed 80 at
# its start; after the rescan seed 81 at 0x2000000.  Every write of the
# flood carries the same bytes, so the range holds its seed whatever the
# removal cut short; the guest checks it once the device is back.
. "$(dirname "$0")/lib.sh"

xfer=$P2PMR_BUILD_DIR/tests/guest/rxe_dmabuf_xfer
[ -x "$xfer" ] || p2pmr_fail "$xfer is not built; run the build first"
pattern=$(p2pmr_tool p2pmr-pattern) || exit 1
dev=$(peer_rxe_setup "${1:-}") || exit 1

near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$near/resource2

# xfer <what> <rxe_dmabuf_xfer arguments...>: plain ibv_reg_mr() (-M)
xfer() {
	local what=$1 t0=$SECONDS

	shift
	"$xfer" -d "$dev" -P "$res" -M "$@" | sed 's/^/    /'
	[ "${PIPESTATUS[0]}" -eq 0 ] || p2pmr_fail "$what"
	echo "ok $what ($((SECONDS - t0)) s)"
}

seen=$(dmesg | wc -l)
callbacks=$(peer_stat num_free_callbacks)
xfer "RDMA WRITEs into a peer MR in flight while $near is removed" \
	-o 0x1000000 -l 0x100000 -t 120 \
	-r "echo 1 >/sys/bus/pci/devices/$near/remove" flood,0,0x10000,80
[ ! -e "/sys/bus/pci/devices/$near" ] ||
	p2pmr_fail "$near is still present after its removal"
dmesg | tail -n +$((seen + 1)) | grep -E 'p2pmr|rxe|peer_mem' |
	sed 's/^/# dmesg: /'
dmesg | tail -n +$((seen + 1)) |
	grep -q "p2pmr: removal: invalidated 1 peer-memory registration" ||
	p2pmr_fail "no log line says the removal invalidated the peer MR"
[ "$(peer_stat num_free_callbacks)" -gt "$callbacks" ] ||
	p2pmr_fail "p2pmr never called the core's invalidate callback"
peer_expect_idle
echo "ok removal invalidated the MR; it deregistered; counters back to zero"

echo 1 >/sys/bus/pci/rescan
wait_for 20 test -e "$res" || p2pmr_fail "rescan did not bring $near back"
"$pattern" check "$res" 0x1000000 0x10000 80 ||
	p2pmr_fail "the BAR lacks what the flood wrote"
xfer "peer MR RDMA into $near after the rescan" -o 0x2000000 -l 0x10000 \
	write,0,0x10000,81 read,0,0x10000,81
"$pattern" check "$res" 0x2000000 0x10000 81 ||
	p2pmr_fail "the BAR lacks the RDMA after the rescan"
peer_expect_idle
echo "ok $near is back and takes peer-memory RDMA again"

peer_rxe_teardown "$dev"
echo "peer-memory invalidation during traffic ok"
