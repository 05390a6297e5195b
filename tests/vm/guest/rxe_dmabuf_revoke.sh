#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Revocation during RDMA traffic: the device behind a BAR MR is removed
# while RDMA WRITEs to the MR are in flight.  Work requests then complete
# with errors (a remote access error, the rest flushed) within a bounded
# time, none posted after the removal returned succeeds, nothing oopses or
# warns, the MR can be deregistered, p2pmr's counters return to zero, and
# a rescan brings the device back, usable for RDMA again.
#
# usage: rxe_dmabuf_revoke.sh <rdma_rxe.ko> <p2pmr.ko>
#
# Done twice: on the near ivshmem BAR2 (MR over [0x1000000, 0x1100000),
# 64 KiB writes of seed 70 at its start; after the rescan seed 71 at
# 0x2000000) and on the NVMe CMB with nvme unbound (MR over [0x400000,
# 0x500000), seed 72; after the rescan, nvme unbound again, seed 73 at
# 0x600000).  Every write of the flood carries the same bytes, so the
# range holds its seed whatever the removal cut short; the guest checks
# it through the BAR's sysfs mapping once the device is back.
. "$(dirname "$0")/lib.sh"

rxe_ko=${1:-}
p2pmr_ko=${2:-}
if [ -z "$rxe_ko" ] || [ -z "$p2pmr_ko" ]; then
	p2pmr_fail "usage: $0 <rdma_rxe.ko> <p2pmr.ko>"
fi
xfer=$(guest_test_tool rxe_dmabuf_xfer) || exit 1
pattern=$(p2pmr_tool p2pmr-pattern) || exit 1

rxe_load_module "$rxe_ko"
dev=$(rxe_up rxe0) || exit 1
insmod "$p2pmr_ko" || p2pmr_fail "insmod $p2pmr_ko failed"

# xfer <what> <resource> <rxe_dmabuf_xfer arguments...>
xfer() {
	local what=$1 res=$2 t0=$SECONDS

	shift 2
	"$xfer" -d "$dev" -P "$res" "$@" | sed 's/^/    /'
	[ "${PIPESTATUS[0]}" -eq 0 ] || p2pmr_fail "$what"
	echo "ok $what ($((SECONDS - t0)) s)"
}

# unbind <bdf>: detach the device's driver, if any.
unbind() {
	[ -e "/sys/bus/pci/devices/$1/driver" ] || return 0
	echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind" ||
		p2pmr_fail "cannot unbind the driver of $1"
}

# flood_remove <name> <bdf> <mr offset> <seed> <offset after> <seed after>
flood_remove() {
	local name=$1 bdf=$2 off=$3 seed=$4 off2=$5 seed2=$6 res seen

	res=/sys/bus/pci/devices/$bdf/resource2
	seen=$(dmesg | wc -l)
	xfer "$name: RDMA WRITEs in flight while $bdf is removed" "$res" \
		-o "$off" -l 0x100000 -i $((0x7f5560000000 + off)) -t 120 \
		-r "echo 1 >/sys/bus/pci/devices/$bdf/remove" \
		flood,0,0x10000,"$seed"
	[ ! -e "/sys/bus/pci/devices/$bdf" ] ||
		p2pmr_fail "$bdf is still present after its removal"
	dmesg | tail -n +$((seen + 1)) | grep -E 'p2pmr|rxe' |
		sed 's/^/# dmesg: /'
	p2pmr_expect_idle
	echo "ok $name: MR deregistered, p2pmr counters back to zero"

	echo 1 >/sys/bus/pci/rescan
	wait_for 20 test -e "$res" ||
		p2pmr_fail "rescan did not bring $bdf back"
	# nvme binds again on rescan: let it finish, then take it off
	if [ "$name" = cmb ]; then
		wait_for 20 test -e "/sys/bus/pci/devices/$bdf/driver" ||
			p2pmr_fail "nvme did not bind to the rescanned $bdf"
	fi
	unbind "$bdf"
	"$pattern" check "$res" "$off" 0x10000 "$seed" ||
		p2pmr_fail "$name: the BAR lacks what the flood wrote"
	xfer "$name: RDMA into $bdf after the rescan" "$res" \
		-o "$off2" -l 0x10000 -i $((0x7f5570000000 + off2)) \
		write,0,0x10000,"$seed2" read,0,0x10000,"$seed2"
	"$pattern" check "$res" "$off2" 0x10000 "$seed2" ||
		p2pmr_fail "$name: the BAR lacks the RDMA after the rescan"
	p2pmr_expect_idle
	echo "ok $name: $bdf is back and takes RDMA again"
}

near=$(pci_near_ivshmem)
nvme=$(pci_nvme)
if [ -z "$near" ] || [ -z "$nvme" ]; then
	p2pmr_fail "near ivshmem ($near) or nvme ($nvme) missing"
fi
p2pmr_log "$dev on $(nic_netdev); near BAR $near, CMB of $nvme"

flood_remove near "$near" 0x1000000 70 0x2000000 71
unbind "$nvme"
flood_remove cmb "$nvme" 0x400000 72 0x600000 73

rdma link del "$dev" || p2pmr_fail "rdma link del $dev failed"
rmmod rdma_rxe || p2pmr_fail "rmmod rdma_rxe failed"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr failed"
echo "rxe dma-buf revocation during traffic ok"
