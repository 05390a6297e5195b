#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every input /dev/p2pmr refuses is a row with its errno (TAP from
# p2pmr_uapi_test), including an I/O-port BAR, an unprivileged caller, and
# a BAR a driver has claimed (the NVMe CMB while nvme is bound: EBUSY).
. "$(dirname "$0")/lib.sh"

p2pmr_load
near=$(pci_near_ivshmem)
io=$(pci_io_bar_resource)
[ -n "$io" ] || p2pmr_fail "the testbed has no device with an I/O-port BAR"
p2pmr_log "near BAR $near, I/O-port BAR $io"
uapi_test errno --io "$io" "/sys/bus/pci/devices/$near/resource2" ||
	p2pmr_fail "the errno table has failures"

# A BAR claimed by a bound driver is refused like a sysfs mmap() would be.
nvme=$(pci_nvme)
[ -e "/sys/bus/pci/devices/$nvme/driver" ] ||
	p2pmr_fail "nvme is not bound to $nvme"
out=$(uapi_test fill "/sys/bus/pci/devices/$nvme/resource2" 0 0x1000 1 2>&1)
echo "$out" | grep -q "EBUSY" ||
	p2pmr_fail "export of the CMB of bound $nvme was not refused with EBUSY: $out"
dmesg | grep -q "p2pmr: .*$nvme" ||
	p2pmr_fail "no p2pmr log line names $nvme for the EBUSY refusal"
echo "ok - CMB export while nvme is bound: EBUSY, logged"
p2pmr_expect_idle
