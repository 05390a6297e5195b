#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The testbed's PCIe layout is what every P2P test assumes: the NIC, the
# near ivshmem BAR and the NVMe CMB share one switch; the far ivshmem BAR
# sits on a root port of its own.
. "$(dirname "$0")/lib.sh"

nic=$(pci_nic)
near=$(pci_near_ivshmem)
far=$(pci_far_ivshmem)
nvme=$(pci_nvme)
[ -n "$nic" ] || p2pmr_fail "no virtio-net NIC"
[ -n "$near" ] || p2pmr_fail "no ivshmem device behind the NIC's switch"
[ -n "$far" ] || p2pmr_fail "no ivshmem device outside the NIC's switch"
[ -n "$nvme" ] || p2pmr_fail "no NVMe controller"

sw=$(pci_upstream_switch_port "$nic")
[ -n "$sw" ] || p2pmr_fail "the NIC $nic is not behind a switch"
[ "$(pci_upstream_switch_port "$nvme")" = "$sw" ] ||
	p2pmr_fail "the NVMe controller $nvme is not behind the NIC's switch $sw"
[ -z "$(pci_upstream_switch_port "$far")" ] ||
	p2pmr_fail "the far ivshmem $far is behind a switch"
[ "$(pci_root_port "$far")" != "$(pci_root_port "$nic")" ] ||
	p2pmr_fail "the far ivshmem $far shares the NIC's root port"
p2pmr_log "NIC $nic, near BAR $near, CMB $nvme behind switch $sw;" \
	  "far BAR $far on root port $(pci_root_port "$far")"

# IORESOURCE_MEM 0x200, IORESOURCE_PREFETCH 0x2000.
check_bar() {
	local bdf=$1 bar=$2 want=$3 size flags

	size=$(pci_bar_size "$bdf" "$bar")
	flags=$(pci_bar_flags "$bdf" "$bar")
	[ "$size" -eq "$want" ] ||
		p2pmr_fail "$bdf BAR$bar is $size bytes, expected $want"
	(( flags & 0x200 )) || p2pmr_fail "$bdf BAR$bar is not a memory BAR"
	(( flags & 0x2000 )) || p2pmr_fail "$bdf BAR$bar is not prefetchable"
	[ -e "/sys/bus/pci/devices/$bdf/resource${bar}_wc" ] ||
		p2pmr_fail "$bdf has no resource${bar}_wc"
	p2pmr_log "$bdf BAR$bar: $size bytes, prefetchable, flags $flags"
}
check_bar "$near" 2 "$P2PMR_BAR_SIZE"
check_bar "$far" 2 "$P2PMR_BAR_SIZE"
check_bar "$nvme" 2 $((16 << 20))
echo "topology ok"
