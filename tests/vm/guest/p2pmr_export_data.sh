#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# usage: p2pmr_export_data.sh
#
# Write the pattern into BAR memory through mmap() of p2pmr dma-bufs: the
# near ivshmem BAR2 exported by resource fd (seed 11 at 0x100000, 1 MiB)
# and by address (seed 12 at 0x300000, 1 MiB, through resource2_wc), and
# the far BAR by fd (seed 13 at 0x40000, 256 KiB).  The host checks its
# files.  The NVMe CMB has no host file: with nvme unbound, write it
# through a dma-buf and check it through the CMB's own sysfs mapping.
. "$(dirname "$0")/lib.sh"

p2pmr_load
near=/sys/bus/pci/devices/$(pci_near_ivshmem)
far=/sys/bus/pci/devices/$(pci_far_ivshmem)
nvme=$(pci_nvme)
pattern=$(p2pmr_tool p2pmr-pattern)

uapi_test fill "$near/resource2" 0x100000 0x100000 11 ||
	p2pmr_fail "writing the near BAR through a dma-buf exported by fd"
uapi_test fill --by-va "$near/resource2_wc" 0x300000 0x100000 12 ||
	p2pmr_fail "writing the near BAR through a dma-buf exported by address"
uapi_test fill "$far/resource2" 0x40000 0x40000 13 ||
	p2pmr_fail "writing the far BAR through a dma-buf exported by fd"
# And back: what the guest wrote, read through dma-bufs made the other way.
uapi_test check --by-va "$near/resource2" 0x100000 0x100000 11 ||
	p2pmr_fail "reading back seed 11 by address"
uapi_test check "$near/resource2_wc" 0x300000 0x100000 12 ||
	p2pmr_fail "reading back seed 12 by fd"

echo "$nvme" >"/sys/bus/pci/devices/$nvme/driver/unbind" ||
	p2pmr_fail "cannot unbind nvme from $nvme"
cmb=/sys/bus/pci/devices/$nvme/resource2
uapi_test fill "$cmb" 0x10000 0x20000 14 ||
	p2pmr_fail "writing the CMB through a dma-buf"
"$pattern" check "$cmb" 0x10000 0x20000 14 ||
	p2pmr_fail "the CMB's sysfs mapping does not show the pattern"
uapi_test fill --by-va "$cmb" 0x800000 0x10000 15 ||
	p2pmr_fail "writing the CMB through a dma-buf exported by address"
"$pattern" check "$cmb" 0x800000 0x10000 15 ||
	p2pmr_fail "the CMB's sysfs mapping does not show seed 15"
echo "ok - NVMe CMB written through dma-bufs, read through its BAR mapping"
p2pmr_expect_idle
