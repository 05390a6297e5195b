#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What a kernel importer gets from p2pmr, seen through the test importer
# module attaching on behalf of real PCI devices of the testbed:
# - the NIC behind the near BAR's switch gets the BAR's bus addresses (as
#   the device's own config space says), in one segment;
# - an importer on another root port is refused with EREMOTEIO and a log
#   line saying why and what would fix it, unless allow_host_bridge=1,
#   which maps through the DMA API;
# - an importer that does not set allow_peer2peer is refused (EOPNOTSUPP);
# - QUERY_P2P tells the same story as attach;
# - once a driver claims the BAR after the export, new maps and CPU
#   faults of the export are refused.
# Addresses here are compared with config space; that they are right is
# proven by a device DMAing through them in vm.edu_dma and
# vm.edu_dma_iommu*.
. "$(dirname "$0")/lib.sh"

p2pmr_load
importer_load
nic=$(pci_nic)
nvme=$(pci_nvme)
near=$(pci_near_ivshmem)
far=$(pci_far_ivshmem)
ctl=$P2PMR_IMPORTER_CTL

# expect_one_segment <dma> <len>: slot 0 holds exactly that mapping.
expect_one_segment() {
	local sg

	sg=$(importer_sg 0)
	[ "$(echo "$sg" | wc -l)" -eq 1 ] ||
		p2pmr_fail "expected 1 scatterlist entry, got: $sg"
	[ "$((${sg% *}))" -eq "$(($1))" ] && [ "$((${sg#* }))" -eq "$(($2))" ] ||
		p2pmr_fail "expected dma $1 len $2, got $sg"
}

# Same switch: bus addresses, one segment for the whole range.
bus=$(pci_bar_bus_addr "$near" 2)
importer_attach_map "/sys/bus/pci/devices/$near/resource2" 0x200000 0x400000 "$nic" ||
	p2pmr_fail "attach+map of the near BAR for the NIC failed"
expect_one_segment $((bus + 0x200000)) 0x400000
echo "ok - NIC $nic maps near BAR range at bus address $(importer_sg 0)"
echo reset >$ctl

importer_attach_map "/sys/bus/pci/devices/$near/resource2" 0 "$P2PMR_BAR_SIZE" "$nvme" ||
	p2pmr_fail "attach+map of the whole near BAR for $nvme failed"
expect_one_segment "$bus" "$P2PMR_BAR_SIZE"
echo "ok - whole near BAR for $nvme: one segment at $bus"
echo reset >$ctl

# An importer that does not take peer-to-peer memory is refused.
err=$(uapi_test hold "/sys/bus/pci/devices/$near/resource2" 0 0x10000 -- \
	bash -c "echo \"attach 0 \$P2PMR_DMABUF_FD $nic nop2p\" >$ctl" \
	</dev/null 2>&1)
[[ "$err" == *"Operation not supported"* ]] ||
	p2pmr_fail "an importer without allow_peer2peer was not refused: $err"
[ "$(importer_result 0 last_err)" = -95 ] ||
	p2pmr_fail "importer recorded $(importer_result 0 last_err), not -EOPNOTSUPP"
dmesg | grep -q "p2pmr: importer $nic does not accept peer-to-peer memory" ||
	p2pmr_fail "no log line explains the refusal of a non-P2P importer"
echo "ok - importer without allow_peer2peer refused with EOPNOTSUPP, logged"
echo reset >$ctl

q=$(uapi_test query "/sys/bus/pci/devices/$near/resource2" "$nic")
[[ "$q" == "path=bus_addr reason=common_upstream distance=4 "* ]] ||
	p2pmr_fail "QUERY_P2P near/NIC said: $q"
echo "ok - QUERY_P2P near BAR for the NIC: $q"

# Far root port: refused, and the kernel log says why and how to fix it.
[ "$(cat /sys/module/p2pmr/parameters/allow_host_bridge)" = N ] ||
	p2pmr_fail "allow_host_bridge is on by default"
err=$(importer_attach_map "/sys/bus/pci/devices/$far/resource2" 0 0x10000 "$nic" 2>&1) &&
	p2pmr_fail "the far BAR was attached for the NIC"
[[ "$err" == *"Remote I/O error"* ]] ||
	p2pmr_fail "far attach failed otherwise than with EREMOTEIO: $err"
[ "$(importer_result 0 last_err)" = -121 ] ||
	p2pmr_fail "importer recorded $(importer_result 0 last_err), not -EREMOTEIO"
dmesg | grep "p2pmr: importer $nic and $far share no PCI switch" |
	grep -q "allow_host_bridge=1" ||
	p2pmr_fail "no log line explains the refusal of $far for $nic"
echo "ok - far BAR refused for the NIC with EREMOTEIO, reason logged"
q=$(uapi_test query "/sys/bus/pci/devices/$far/resource2" "$nic")
[[ "$q" == "path=refused reason=no_common_upstream "* ]] ||
	p2pmr_fail "QUERY_P2P far/NIC said: $q"
echo "ok - QUERY_P2P far BAR for the NIC: $q"
echo reset >$ctl

# The administrator vouches for the root complex: mapped by the DMA API,
# which without an IOMMU hands out the CPU physical address.
echo 1 >/sys/module/p2pmr/parameters/allow_host_bridge
q=$(uapi_test query "/sys/bus/pci/devices/$far/resource2" "$nic")
[[ "$q" == "path=host_bridge reason=no_common_upstream "* ]] ||
	p2pmr_fail "QUERY_P2P far/NIC with allow_host_bridge said: $q"
importer_attach_map "/sys/bus/pci/devices/$far/resource2" 0x10000 0x20000 "$nic" ||
	p2pmr_fail "attach+map of the far BAR with allow_host_bridge=1 failed"
expect_one_segment $(( $(pci_bar_cpu_addr "$far" 2) + 0x10000 )) 0x20000
echo "ok - far BAR with allow_host_bridge=1: DMA API address $(importer_sg 0)"
echo reset >$ctl

# Struct pages on the upper half of the far BAR, as P2PDMA gives the part
# of a BAR a driver publishes: the DMA API maps no memory with struct
# pages as a resource, so a host-bridge mapping of any range touching
# them, even one that starts below them, is refused (EOPNOTSUPP); the
# rest of the BAR still maps.
pages=/sys/kernel/debug/p2pmr_test_importer/pages
far_res=/sys/bus/pci/devices/$far/resource2
half=$(($(pci_bar_size "$far" 2) / 2))
# expect_pages_refused <offset> <length>: a map of that range is refused.
expect_pages_refused() {
	importer_attach_map "$far_res" "$1" "$2" "$nic" 2>/dev/null &&
		p2pmr_fail "far BAR [$1, +$2) touches struct pages but was mapped: $(importer_sg 0)"
	[ "$(importer_result 0 last_err)" = -95 ] ||
		p2pmr_fail "map of far BAR [$1, +$2): $(importer_result 0 last_err), not -EOPNOTSUPP"
	echo reset >$ctl
}
if out=$(echo "$far 2 $(printf '%#x %#x' $half $half)" 2>&1 >$pages); then
	dmesg -C
	expect_pages_refused "$(printf '%#x' $((half - 0x10000)))" 0x20000
	dmesg | grep -q "p2pmr: $far BAR2 is P2PDMA memory with struct pages" ||
		p2pmr_fail "no log line says why $far BAR2 was refused"
	expect_pages_refused "$(printf '%#x' "$half")" 0x10000
	importer_attach_map "$far_res" $((half - 0x20000)) 0x20000 "$nic" ||
		p2pmr_fail "far BAR below its struct pages did not map"
	echo reset >$ctl
	echo release >$pages || p2pmr_fail "memunmap_pages of $far BAR2 failed"
	echo "ok - struct pages on $far BAR2 from $(printf '%#x' $half): maps" \
	     "reaching them refused (EOPNOTSUPP), logged; below them maps"
else
	[[ "$out" == *"Operation not supported"* ]] ||
		p2pmr_fail "memremap_pages on $far BAR2: $out"
	echo "# skip struct-page rows: this kernel has no ZONE_DEVICE"
fi
echo 0 >/sys/module/p2pmr/parameters/allow_host_bridge

# refuse_pinned=1: no importer that cannot be revoked.  Where the core
# pins every mapping itself (no CONFIG_DMABUF_MOVE_NOTIFY, Debian's
# kernels) the parameter is refused, and says why.
refuse=/sys/module/p2pmr/parameters/refuse_pinned
near_res=/sys/bus/pci/devices/$near/resource2
if kernel_config_has CONFIG_DMABUF_MOVE_NOTIFY; then
	echo 1 >$refuse || p2pmr_fail "refuse_pinned=1 was refused"
	out=$(uapi_test hold "$near_res" 0 0x10000 -- bash -c "
		echo \"attach 0 \$P2PMR_DMABUF_FD $nic\" >$ctl || exit 1
		echo 'map 0' >$ctl && echo MAP_OK
		echo 'pin 0' >$ctl 2>/dev/null && echo PIN_OK || echo PIN_REFUSED" \
		</dev/null 2>&1)
	grep -q '^MAP_OK' <<<"$out" && [ "$(importer_result 0 mapped)" = 1 ] ||
		p2pmr_fail "refuse_pinned=1 refused a dynamic map: $out"
	grep -q '^PIN_REFUSED' <<<"$out" ||
		p2pmr_fail "refuse_pinned=1 let an importer pin: $out"
	[ "$(importer_result 0 last_err)" = -1 ] ||
		p2pmr_fail "pin with refuse_pinned=1: $(importer_result 0 last_err), not -EPERM: $out"
	echo reset >$ctl
	dmesg | grep -q "p2pmr: export [0-9]*: $nic may not pin $near BAR2: refuse_pinned=1" ||
		p2pmr_fail "no log line says why the pin was refused"
	echo 0 >$refuse
	echo "ok - refuse_pinned=1: pin refused (EPERM), logged; a dynamic" \
	     "importer still maps"
else
	echo 1 >$refuse 2>/dev/null &&
		p2pmr_fail "refuse_pinned=1 accepted without CONFIG_DMABUF_MOVE_NOTIFY"
	[ "$(cat $refuse)" = N ] || p2pmr_fail "refuse_pinned is $(cat $refuse)"
	dmesg_has "p2pmr: refuse_pinned=1 needs a kernel with CONFIG_DMABUF_MOVE_NOTIFY=y" ||
		p2pmr_fail "no log line says why refuse_pinned=1 was refused"
	echo "ok - refuse_pinned=1 refused without CONFIG_DMABUF_MOVE_NOTIFY," \
	     "logged"
fi

# A driver claims the BAR after the export was made, without a bind that
# would revoke it (as vfio-pci claims on first access): new DMA mappings
# and CPU faults of the export are refused; released, they work again.
claim=/sys/kernel/debug/p2pmr_test_importer/claim
res=/sys/bus/pci/devices/$near/resource2
expect_use_refused "$res" "$nic" "echo '$near 2' >$claim" \
	"echo release >$claim" 16 \
	"$near BAR2 was claimed by a driver .* after it was exported"
echo "ok - once a driver claims $near BAR2, maps (EBUSY) and faults" \
     "(SIGBUS) of its export are refused, and logged"
echo reset >$ctl
importer_attach_map "$res" 0x100000 0x100000 "$nic" ||
	p2pmr_fail "attach+map after the claim was released failed"
echo "ok - released, the BAR maps again"
echo reset >$ctl

p2pmr_expect_idle
rmmod p2pmr_test_importer || p2pmr_fail "rmmod p2pmr_test_importer"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr failed with nothing exported"
echo "p2pmr importer checks ok"
