#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A device must keep decoding its BAR while p2pmr hands the BAR out:
# - runtime PM: an export holds its (driverless) device active, resuming
#   it if it was suspended, and lets it suspend again once the dma-buf is
#   gone.  A driverless PCI device whose power/control is "auto" suspends
#   at once; its upstream bridge may then take it to D3cold;
# - memory decode turned off through config space (setpci): new exports
#   are refused with EIO, new DMA mappings (EIO) and CPU faults (SIGBUS)
#   of an existing export too, each logged; turned on again, all work.
. "$(dirname "$0")/lib.sh"

p2pmr_load
importer_load
near=$(pci_near_ivshmem)
nic=$(pci_nic)
res=/sys/bus/pci/devices/$near/resource2
power=/sys/bus/pci/devices/$near/power
ctl=$P2PMR_IMPORTER_CTL

# runtime_is <status>: the near device's runtime PM status is that.
runtime_is() {
	[ "$(cat $power/runtime_status)" = "$1" ]
}

if [ "$(cat $power/runtime_status 2>/dev/null)" = active ]; then
	echo auto >$power/control
	wait_for 5 runtime_is suspended ||
		p2pmr_fail "$near did not runtime-suspend with power/control auto: $(cat $power/runtime_status)"
	out=$(echo read | uapi_test hold "$res" 0 0x10000 -- \
		cat $power/runtime_status 2>&1)
	grep -qx active <<<"$out" ||
		p2pmr_fail "a suspended $near was exported without being resumed: $out"
	wait_for 5 runtime_is suspended ||
		p2pmr_fail "$near stayed $(cat $power/runtime_status) after its export was closed"
	echo "ok - exporting suspended $near resumed it; closed, it suspends"

	echo on >$power/control
	out=$(echo read | uapi_test hold "$res" 0 0x10000 -- bash -c "
		echo auto >$power/control; sleep 1
		cat $power/runtime_status" 2>&1)
	grep -qx active <<<"$out" ||
		p2pmr_fail "exported $near runtime-suspended: $out"
	wait_for 5 runtime_is suspended ||
		p2pmr_fail "$near stayed $(cat $power/runtime_status) after its export was closed"
	echo on >$power/control
	echo "ok - exported $near stays active with power/control auto"
else
	echo "# skip runtime PM rows: this kernel has no runtime PM for $near"
fi

# decode <on|off>: set Memory Space Enable of the near device.
decode() {
	setpci -s "$near" COMMAND="$([ "$1" = on ] && echo 2 || echo 0):2"
}

dmesg -C
decode off
out=$(uapi_test hold "$res" 0 0x10000 </dev/null 2>&1) &&
	{ decode on; p2pmr_fail "$near BAR2 was exported with decoding off: $out"; }
decode on
[[ "$out" == *"errno 5"* ]] ||
	p2pmr_fail "export with decoding off failed otherwise than with EIO: $out"
dmesg_has "p2pmr: $near does not decode memory: Memory Space Enable is off in its command register; enable it (setpci -s $near COMMAND=0x2:0x2)" ||
	p2pmr_fail "no log line says why the export was refused"
echo "ok - no export while $near does not decode memory (EIO), logged"

expect_use_refused "$res" "$nic" "setpci -s $near COMMAND=0:2" "decode on" 5 \
	"$near does not decode memory (Memory Space Enable is off in its command register)"
echo "ok - decoding off after the export: maps (EIO) and faults (SIGBUS)" \
     "refused, logged"
echo reset >$ctl
importer_attach_map "$res" 0x100000 0x100000 "$nic" ||
	p2pmr_fail "attach+map with decoding back on failed"
echo reset >$ctl
out=$(echo read | uapi_test hold "$res" 0 0x10000 2>&1)
grep -Eq '^READ (0|0x[0-9a-f]+)$' <<<"$out" ||
	p2pmr_fail "a CPU read with decoding back on failed: $out"
echo "ok - decoding on again, $near BAR2 maps and faults again"

p2pmr_expect_idle
rmmod p2pmr_test_importer || p2pmr_fail "rmmod p2pmr_test_importer"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr failed with nothing exported"
echo "p2pmr power and decode checks ok"
