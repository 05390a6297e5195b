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
# Then the same with a driver taking the device over: a peer MR on the
# NVMe CMB (nvme unbound), RDMA WRITEs in flight, nvme bound again; the
# bind invalidates the MR before nvme's probe, and once nvme lets go
# again the CMB takes peer-memory RDMA.
#
# usage: peer_revoke.sh <rdma_rxe.ko> [legacy]
#
# legacy: the host plays an OFED core that ignores
# PEER_MEM_INVALIDATE_UNMAPS and unmaps from within the invalidate
# callback (peer_mem_host legacy_unmap=1): the same must hold.
#
# Near BAR: MR over [0x1000000, 0x1100000), 64 KiB writes of seed 80 at
# its start; after the rescan seed 81 at 0x2000000.  CMB: MR over
# [0x400000, 0x500000), seed 82; after nvme let go again seed 83 at
# 0x600000.  Every write of a flood carries the same bytes, so the range
# holds its seed whatever the invalidation cut short; the guest checks it
# through the BAR's sysfs mapping afterwards.
. "$(dirname "$0")/lib.sh"

xfer=$(guest_test_tool rxe_dmabuf_xfer) || exit 1
pattern=$(p2pmr_tool p2pmr-pattern) || exit 1
host_params=()
[ "${2:-}" = legacy ] && host_params=(legacy_unmap=1)
dev=$(peer_rxe_setup "${1:-}" "${host_params[@]}") || exit 1
p2pmr_log "peer_mem_host $(grep -o 'invalidate_unmaps [01]' "$P2PMR_PEER_CLIENTS")"

near=$(pci_near_ivshmem)
nvme=$(pci_nvme)
if [ -z "$near" ] || [ -z "$nvme" ]; then
	p2pmr_fail "near ivshmem ($near) or nvme ($nvme) missing"
fi
res=/sys/bus/pci/devices/$near/resource2

# xfer <what> <rxe_dmabuf_xfer arguments...>: plain ibv_reg_mr() (-M) on
# a mapping of $res
xfer() {
	local what=$1 t0=$SECONDS

	shift
	"$xfer" -d "$dev" -P "$res" -M "$@" | sed 's/^/    /'
	[ "${PIPESTATUS[0]}" -eq 0 ] || p2pmr_fail "$what"
	echo "ok $what ($((SECONDS - t0)) s)"
}

# takes_rdma_again <what> <flood offset> <flood seed> <offset> <seed>: $res
# holds the flood's 64 KiB, and a new peer MR at <offset> takes RDMA
takes_rdma_again() {
	"$pattern" check "$res" "$2" 0x10000 "$3" ||
		p2pmr_fail "$1: the BAR lacks what the flood wrote"
	xfer "peer MR RDMA into $1" -o "$4" -l 0x10000 \
		write,0,0x10000,"$5" read,0,0x10000,"$5"
	"$pattern" check "$res" "$4" 0x10000 "$5" ||
		p2pmr_fail "$1: the BAR lacks the new RDMA"
	peer_expect_idle
	echo "ok $1: takes peer-memory RDMA again"
}

# expect_invalidated <dmesg lines before> <event> <callbacks before>
expect_invalidated() {
	dmesg | tail -n +$(($1 + 1)) | grep -E 'p2pmr|rxe|peer_mem' |
		sed 's/^/# dmesg: /'
	dmesg | tail -n +$(($1 + 1)) |
		grep -q "p2pmr: $2: invalidated 1 peer-memory registration" ||
		p2pmr_fail "no log line says the $2 invalidated the peer MR"
	[ "$(peer_stat num_free_callbacks)" -gt "$3" ] ||
		p2pmr_fail "p2pmr never called the core's invalidate callback"
	peer_expect_idle
}

seen=$(dmesg | wc -l)
callbacks=$(peer_stat num_free_callbacks)
xfer "RDMA WRITEs into a peer MR in flight while $near is removed" \
	-o 0x1000000 -l 0x100000 -t 120 \
	-r "echo 1 >/sys/bus/pci/devices/$near/remove" flood,0,0x10000,80
[ ! -e "/sys/bus/pci/devices/$near" ] ||
	p2pmr_fail "$near is still present after its removal"
expect_invalidated "$seen" removal "$callbacks"
echo "ok removal invalidated the MR; it deregistered; counters back to zero"

echo 1 >/sys/bus/pci/rescan
wait_for 20 test -e "$res" || p2pmr_fail "rescan did not bring $near back"
takes_rdma_again "$near after the rescan" 0x1000000 80 0x2000000 81

res=/sys/bus/pci/devices/$nvme/resource2
[ -e "/sys/bus/pci/devices/$nvme/driver" ] &&
	echo "$nvme" >"/sys/bus/pci/devices/$nvme/driver/unbind"
seen=$(dmesg | wc -l)
callbacks=$(peer_stat num_free_callbacks)
xfer "RDMA WRITEs into a CMB peer MR in flight while nvme binds $nvme" \
	-o 0x400000 -l 0x100000 -t 120 \
	-r "echo $nvme >/sys/bus/pci/drivers/nvme/bind" flood,0,0x10000,82
[ -e "/sys/bus/pci/devices/$nvme/driver" ] ||
	p2pmr_fail "nvme did not bind to $nvme"
expect_invalidated "$seen" "driver bind" "$callbacks"
echo "ok binding nvme invalidated the CMB MR; counters back to zero"

echo "$nvme" >"/sys/bus/pci/devices/$nvme/driver/unbind" ||
	p2pmr_fail "cannot unbind nvme from $nvme"
takes_rdma_again "the CMB after nvme let go" 0x400000 82 0x600000 83

peer_rxe_teardown "$dev"
echo "peer-memory invalidation during traffic ok"
