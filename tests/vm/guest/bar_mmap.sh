#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# usage: bar_mmap.sh <near|far> <check-offset> <fill-offset> <length>
#
# Through the guest's mmap of the ivshmem BAR's sysfs resource files:
# check the pattern (seed 1) the host wrote into its backing file at
# <check-offset>, then write the pattern (seed 2 through resource2, seed 3
# through resource2_wc) at <fill-offset> and <fill-offset> + <length> for
# the host to check.
. "$(dirname "$0")/lib.sh"

which=$1 check_off=$2 fill_off=$3 len=$4
pattern=$(p2pmr_tool p2pmr-pattern)
case "$which" in
near) bdf=$(pci_near_ivshmem) ;;
far) bdf=$(pci_far_ivshmem) ;;
*) p2pmr_fail "usage: bar_mmap.sh near|far ..." ;;
esac
[ -n "$bdf" ] || p2pmr_fail "no $which ivshmem device"
res=/sys/bus/pci/devices/$bdf/resource2

"$pattern" check "$res" "$check_off" "$len" 1 ||
	p2pmr_fail "$which BAR does not show what the host wrote"
"$pattern" fill "$res" "$fill_off" "$len" 2 ||
	p2pmr_fail "writing through $res failed"
"$pattern" fill "${res}_wc" $((fill_off + len)) "$len" 3 ||
	p2pmr_fail "writing through ${res}_wc failed"
echo "$which BAR $bdf: host pattern seen, guest patterns written"
