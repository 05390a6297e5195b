#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# usage: edu_dma_iommu.sh          (in a guest booted with vm-run --edu and
#                                    --iommu or --iommu=pt)
#        edu_dma_iommu.sh stray    (vm-run --edu --iommu: the harness's
#                                    own check, tests/vm/cases/harness_dmar.sh)
#
# A bus-master device DMAs through the addresses p2pmr hands a dynamic
# importer (tests/kmod/p2pmr_edu drives QEMU's edu engine) with an
# emulated Intel IOMMU.  The host (tests/vm/cases/edu_dma_iommu.sh)
# compares the BAR files whole afterwards.
#
# QEMU sends every DMA to its root complex, where the IOMMU translates it,
# peer-to-peer requests below a switch included; a real switch without
# ACS redirection routes those to the BAR by its bus address and never
# shows them to the IOMMU.  So, with the IOMMU translating (strict), the
# switch path is checked by its decision and address only, and every DMA
# goes through the host bridge, as the IOVA p2pmr returns.
#
# strict (vm-run --iommu: DMA domains, strict invalidation)
#   switch   the near edu imports the near BAR, dynamic, pinned and
#            through the peer-memory core: bus address (the kernel's
#            decision for a switch without ACS; QEMU cannot carry it, no
#            DMA).  With a mask below the BAR: refused.
#   far      the far edu and the far BAR: refused without
#            allow_host_bridge; with it an IOVA, not the physical address:
#            seed 61 at far BAR 0x300800 (0x4000), read back.
#   near     the far edu imports the near BAR through the host bridge: an
#            IOVA, not the bus address: seed 62 at near BAR 0x121000
#            (0x3000), read back, and the host's seed 42 at 0x180000.
#   mask     the far edu with a DMA mask below the far BAR's physical
#            address: the IOMMU gives it an IOVA under the mask: seed 63
#            at far BAR 0x380000 (0x800).
#   pinned   the far edu pins the near BAR: an IOVA; seed 65 at near BAR
#            0x130000 (0x1000), read back.
#   peer     the far edu imports a mapping of the near BAR through the
#            peer-memory core: refused without allow_host_bridge, with it
#            an IOVA; seed 66 at near BAR 0x150000 (0x1000), read back
#            with the host's seed 42.
#   cmb      nvme unbound, the far edu imports the NVMe CMB: an IOVA;
#            seed 67 at CMB 0x11000 (0x1800) within what the CPU wrote
#            (seed 30, 0x10000-0x14000), checked through the CMB's sysfs
#            mapping.
#   revoke   binding pci-stub to the near ivshmem revokes the far edu's
#            dynamic import and peer range: move_notify unmaps, the peer
#            range is invalidated, later requests fail with ENODEV; a DMA
#            to either old IOVA (write-stale) faults in the IOMMU (the two
#            DMAR faults this test declares) and nothing arrives at near
#            BAR 0x140000; the bind waits for the pinned import, which
#            still DMAs (seed 68 at near BAR 0x131000, 0x1000) until it
#            is released.
#   remove   the far edu imports the far BAR (seed 69 at 0x310000,
#            0x1000), then the far ivshmem is removed: move_notify
#            unmaps, a DMA to the old IOVA faults (the third declared
#            fault) and nothing arrives at far BAR 0x320000.
# pt (vm-run --iommu=pt: identity domains, the DMA API is dma-direct)
#   switch   near edu, near BAR: bus address; seed 71 at 0x101234
#            (0x2000), read back, and the host's seed 42 at 0x180000;
#            pinned: seed 73 at 0x130000 (0x1000); through the
#            peer-memory core: seed 74 at 0x150000 (0x1000).
#   far      refused without allow_host_bridge; with it the physical
#            address: seed 72 at far BAR 0x200800 (0x2000); pinned, seed
#            75 at 0x220000 (0x1000); as peer memory, seed 76 at 0x240000
#            (0x1000).
#   mask     a mask below the far BAR's physical address is refused
#            cleanly through the host bridge (an identity domain is
#            dma-direct), one below the near BAR's bus address on the
#            switch path.  QUERY_P2P reports no translating IOMMU.
# stray      (strict) the revocation above, declaring the fault one page
#            off: vm-run must fail the run (status 93) for the fault it
#            sees and for the one that never came.
. "$(dirname "$0")/lib.sh"

mode=${1:-${P2PMR_IOMMU:-}}
case $mode in
strict|pt|stray) ;;
*) p2pmr_skip "no IOMMU (boot with vm-run --iommu or --iommu=pt)" ;;
esac
[ "$mode" != stray ] || [ "${P2PMR_IOMMU:-}" = strict ] ||
	p2pmr_skip "'stray' needs vm-run --iommu"
near_edu=$(pci_near_edu)
far_edu=$(pci_far_edu)
[ -n "$near_edu" ] && [ -n "$far_edu" ] ||
	p2pmr_skip "no edu devices below the switch and on a root port" \
		   "(boot with vm-run --edu)"
# p2pmr.ko with its peer-memory client, for the peer imports.
peer_load
edu_load
peer_tool=$(guest_test_tool peer_mem_test) || exit 1
near=$(pci_near_ivshmem)
far=$(pci_far_ivshmem)
near_res=/sys/bus/pci/devices/$near/resource2
far_res=/sys/bus/pci/devices/$far/resource2
bus=$(pci_bar_bus_addr "$near" 2)
near_phys=$(pci_bar_cpu_addr "$near" 2)
far_phys=$(pci_bar_cpu_addr "$far" 2)
p2pmr_log "near edu $near_edu, far edu $far_edu, near BAR $near, far BAR $far"
for d in "$near_edu" "$near" "$far_edu" "$far"; do
	p2pmr_log "$d: IOMMU group $(iommu_group_of "$d"), domain" \
		  "$(iommu_group_type "$d")"
done
# The bridges above the devices, and their ACS controls.
for d in "$near" "$near_edu" "$far_edu"; do
	path=$(readlink -f "/sys/bus/pci/devices/$d")
	while path=$(dirname "$path"); [ -e "$path/config" ]; do
		basename "$path"
	done
done | sort -u | while read -r d; do
	p2pmr_log "$d: $(lspci -s "$d" -vv 2>/dev/null | grep -o 'ACSCtl:.*' ||
		echo 'no ACS')"
done
p2pmr_log "near edu to near BAR: $(uapi_test query "$near_res" "$near_edu")"
p2pmr_log "far edu to near BAR: $(uapi_test query "$near_res" "$far_edu")"

# The domain each edu's DMA goes through.
case $mode in
strict|stray) want=DMA ;;
pt) want=identity ;;
esac
for d in "$near_edu" "$far_edu"; do
	[ "$(iommu_group_type "$d")" = "$want" ] ||
		p2pmr_fail "$d is in a '$(iommu_group_type "$d")' domain," \
			   "not '$want'"
done
echo "ok - both edus are in $want domains"

# expect_err <errno> <slot> <command...>: the command is refused and the
# slot records -<errno>; no DMA was started by either edu.
expect_err() {
	local want=$1 slot=$2 before

	shift 2
	before=$(( $(edu_dmas "$near_edu") + $(edu_dmas "$far_edu") ))
	edu_cmd "$@" 2>/dev/null && p2pmr_fail "'$*' was accepted"
	[ "$(edu_result "$slot" last_err)" = "-$want" ] ||
		p2pmr_fail "'$*': last_err $(edu_result "$slot" last_err), not -$want"
	[ $(( $(edu_dmas "$near_edu") + $(edu_dmas "$far_edu") )) = "$before" ] ||
		p2pmr_fail "'$*' started a DMA"
	echo "ok - '$*' refused with -$want, no DMA"
}

# expect_sg <slot> <address> <what>: the slot's mapping starts there.
expect_sg() {
	[ "$(( $(edu_sg_dma "$1") ))" = "$(( $2 ))" ] ||
		p2pmr_fail "slot $1 is mapped at $(edu_sg_dma "$1"), not $3" \
			   "$(printf %#x $(( $2 )))"
}

# expect_iova <slot> <bus> <phys> <what>: the slot's mapping is neither
# the BAR's bus address nor its physical address: an IOVA.
expect_iova() {
	local sg

	sg=$(edu_sg_dma "$1")
	[ -n "$sg" ] && [ "$(( sg ))" != "$(( $2 ))" ] &&
		[ "$(( sg ))" != "$(( $3 ))" ] ||
		p2pmr_fail "$4 is mapped at '$sg' for the far edu: no IOVA"
}

# far_refused <slot> <offset>: without allow_host_bridge the far edu
# cannot import the far BAR.
far_refused() {
	[ "$(cat /sys/module/p2pmr/parameters/allow_host_bridge)" = N ] ||
		p2pmr_fail "p2pmr's allow_host_bridge is not off by default"
	edu_import "$1" "$far_res" "$2" 0x100000 "$far_edu" &&
		p2pmr_fail "the far edu attached to the far BAR with no P2P path"
	[ "$(edu_result "$1" last_err)" = -121 ] ||
		p2pmr_fail "far attach: last_err $(edu_result "$1" last_err)," \
			   "not -EREMOTEIO"
	echo "ok - far attach refused with EREMOTEIO"
}

# mask_refused <edu> <slot> <resource> <offset> <address> <kind>: with a
# DMA mask that ends below the address, the import is refused
# (EREMOTEIO) and p2pmr names the kind of address it could not give.
mask_refused() {
	local edu=$1 slot=$2 res=$3 off=$4 addr=$5 kind=$6 bits

	bits=$(mask_bits_below "$addr")
	edu_cmd mask "$edu" "$bits" || p2pmr_fail "mask $edu $bits"
	edu_import "$slot" "$res" "$off" 0x100000 "$edu" &&
		p2pmr_fail "$edu with a $bits-bit mask was given the $kind" \
			   "address $addr"
	[ "$(edu_result "$slot" last_err)" = -121 ] ||
		p2pmr_fail "narrow-mask import: last_err" \
			   "$(edu_result "$slot" last_err), not -EREMOTEIO"
	dmesg | grep -q "p2pmr: importer $edu cannot reach .* at $kind address .*DMA mask is $(printf %#x $(( (1 << bits) - 1 )))" ||
		p2pmr_fail "p2pmr did not name the mask and the $kind address"
	edu_cmd mask "$edu" 64 || p2pmr_fail "mask $edu 64"
	echo "ok - $edu with a $bits-bit mask: refused for $kind address $addr"
}

# revoke_near: bind pci-stub to the near ivshmem; p2pmr revokes its
# exports before the driver's probe.
revoke_near() {
	modprobe pci_stub || p2pmr_fail "modprobe pci_stub"
	echo pci-stub >"/sys/bus/pci/devices/$near/driver_override" &&
		echo "$near" >/sys/bus/pci/drivers_probe ||
		p2pmr_fail "cannot bind pci-stub to $near"
	[ "$(basename "$(readlink -f "/sys/bus/pci/devices/$near/driver")")" = \
		pci-stub ] || p2pmr_fail "pci-stub did not bind $near"
}

# stale_write <slot> <offset>: after revocation, the far edu DMAs 0x800
# bytes to the slot's old address at <offset> (write-stale); prints it.
stale_write() {
	local addr

	addr=$(( $(edu_result "$1" stale) + $2 ))
	[ $(( $(edu_result "$1" stale_len) )) -ne 0 ] ||
		p2pmr_fail "slot $1 kept no address from before its move_notify"
	edu_cmd write-stale "$1" "$2" 0x800 64 ||
		p2pmr_fail "write-stale: last_err $(edu_result "$1" last_err)"
	printf '%#x\n' "$addr"
}

# --- strict, and the harness's own check ---------------------------------------
if [ "$mode" = stray ]; then
	echo 1 >/sys/module/p2pmr/parameters/allow_host_bridge
	edu_import 2 "$near_res" 0x100000 0x100000 "$far_edu" ||
		p2pmr_fail "near import: last_err $(edu_result 2 last_err)"
	revoke_near
	[ "$(edu_result 2 move_notify)" -ge 1 ] ||
		p2pmr_fail "the importer was not told"
	iova=$(( $(edu_result 2 stale) + 0x40000 ))
	# One page off: the fault that comes is not the one declared.
	expect_dmar_fault Write "$far_edu" $((iova + 0x1000))
	stale_write 2 0x40000 >/dev/null
	wait_for 5 dmar_fault_seen Write "$far_edu" "$iova" ||
		p2pmr_fail "the DMA to the revoked IOVA did not fault"
	echo "ok - a stray DMA faulted; the harness must fail this run"
	exit 0
fi

if [ "$mode" = strict ]; then
	uapi_test query "$far_res" "$far_edu" | grep -q ' iommu' ||
		p2pmr_fail "QUERY_P2P does not report the far edu's IOMMU"

	# The switch: p2pmr's decision, not QEMU's routing.
	edu_import 0 "$near_res" 0x100000 0x100000 "$near_edu" ||
		p2pmr_fail "near import: last_err $(edu_result 0 last_err)"
	expect_sg 0 "$bus + 0x100000" "the bus address"
	edu_cmd release 0 || p2pmr_fail "release 0"
	edu_import 4 "$near_res" 0x100000 0x100000 "$near_edu" \
		import-pinned ||
		p2pmr_fail "near pinned import: last_err $(edu_result 4 last_err)"
	expect_sg 4 "$bus + 0x100000" "the bus address"
	edu_cmd release 4 || p2pmr_fail "release 4"
	edu_import_peer 5 "$near_res" 0x100000 0x100000 "$near_edu" ||
		p2pmr_fail "near peer import: last_err $(edu_result 5 last_err)"
	expect_sg 5 "$bus + 0x100000" "the bus address"
	edu_cmd release 5 || p2pmr_fail "release 5"
	echo "ok - below the switch the near edu gets bus address" \
	     "$(printf %#x $((bus + 0x100000))), dynamic, pinned and as peer" \
	     "memory (no DMA: QEMU would send it to the IOMMU)"
	mask_refused "$near_edu" 0 "$near_res" 0x100000 \
		"$(printf %#x $((bus + 0x100000)))" bus

	# The far BAR through the host bridge: an IOVA.
	far_refused 1 0x300000
	out=$("$peer_tool" edu 5 "$near_res" 0x100000 0x100000 "$far_edu")
	[ "$out" = "IMPORT EREMOTEIO" ] ||
		p2pmr_fail "peer import by the far edu without a P2P path: $out"
	echo "ok - the peer-memory path refuses the far edu too (EREMOTEIO)"
	echo 1 >/sys/module/p2pmr/parameters/allow_host_bridge
	edu_import 1 "$far_res" 0x300000 0x100000 "$far_edu" ||
		p2pmr_fail "far import: last_err $(edu_result 1 last_err)"
	sg=$(edu_sg_dma 1)
	[ "$(( sg ))" != "$(( far_phys + 0x300000 ))" ] ||
		p2pmr_fail "the far mapping is the physical address: no IOVA"
	edu_cmd write 1 0x800 0x4000 61 ||
		p2pmr_fail "far write: last_err $(edu_result 1 last_err)"
	edu_expect_read 1 0x800 0x4000 61
	edu_cmd release 1 || p2pmr_fail "release 1"
	echo "ok - the far edu DMAs into the far BAR through IOVA $sg"

	# The near BAR from the far edu: an IOVA again.
	edu_import 2 "$near_res" 0x100000 0x100000 "$far_edu" ||
		p2pmr_fail "near import by the far edu: last_err" \
			   "$(edu_result 2 last_err)"
	expect_iova 2 "$bus + 0x100000" "$near_phys + 0x100000" "the near BAR"
	sg=$(edu_sg_dma 2)
	edu_cmd write 2 0x21000 0x3000 62 ||
		p2pmr_fail "near write: last_err $(edu_result 2 last_err)"
	edu_expect_read 2 0x21000 0x3000 62
	edu_expect_read 2 0x80000 0x3000 42
	echo "ok - the far edu DMAs into the near BAR through IOVA $sg, and" \
	     "reads what the host wrote"

	# A mask below the BAR's physical address: the IOMMU maps under it.
	bits=$(mask_bits_below "$far_phys")
	edu_cmd mask "$far_edu" "$bits" || p2pmr_fail "mask $far_edu $bits"
	edu_import 3 "$far_res" 0x380000 0x100000 "$far_edu" ||
		p2pmr_fail "narrow-mask import with an IOMMU: last_err" \
			   "$(edu_result 3 last_err)"
	sg=$(edu_sg_dma 3)
	[ $(( sg + 0x100000 - 1 )) -le $(( (1 << bits) - 1 )) ] ||
		p2pmr_fail "IOVA $sg is beyond the $bits-bit mask"
	edu_cmd write 3 0 0x800 63 ||
		p2pmr_fail "narrow-mask write: last_err $(edu_result 3 last_err)"
	edu_expect_read 3 0 0x800 63
	edu_cmd release 3 || p2pmr_fail "release 3"
	edu_cmd mask "$far_edu" 64 || p2pmr_fail "mask $far_edu 64"
	echo "ok - with a $bits-bit mask the far edu gets IOVA $sg under it"

	# Pinned, and through the peer-memory core: IOVAs too.
	edu_import 4 "$near_res" 0x100000 0x100000 "$far_edu" import-pinned ||
		p2pmr_fail "pinned import: last_err $(edu_result 4 last_err)"
	expect_iova 4 "$bus + 0x100000" "$near_phys + 0x100000" \
		"the pinned near BAR"
	edu_cmd write 4 0x30000 0x1000 65 ||
		p2pmr_fail "pinned write: last_err $(edu_result 4 last_err)"
	edu_expect_read 4 0x30000 0x1000 65
	echo "ok - the far edu pins the near BAR at IOVA $(edu_sg_dma 4)"
	edu_import_peer 5 "$near_res" 0x100000 0x100000 "$far_edu" ||
		p2pmr_fail "peer import: last_err $(edu_result 5 last_err)"
	expect_iova 5 "$bus + 0x100000" "$near_phys + 0x100000" \
		"the peer range of the near BAR"
	edu_cmd write 5 0x50000 0x1000 66 ||
		p2pmr_fail "peer write: last_err $(edu_result 5 last_err)"
	edu_expect_read 5 0x50000 0x1000 66
	edu_expect_read 5 0x80000 0x3000 42
	echo "ok - through the peer-memory core the far edu DMAs at IOVA" \
	     "$(edu_sg_dma 5)"

	# The NVMe CMB through the host bridge.
	nvme=$(pci_nvme)
	cmb=/sys/bus/pci/devices/$nvme/resource2
	pattern=$(p2pmr_tool p2pmr-pattern)
	echo "$nvme" >"/sys/bus/pci/devices/$nvme/driver/unbind" ||
		p2pmr_fail "cannot unbind nvme from $nvme"
	"$pattern" fill "$cmb" 0x10000 0x4000 30 ||
		p2pmr_fail "the CPU cannot write the CMB through its sysfs mapping"
	edu_import 6 "$cmb" 0 0x100000 "$far_edu" ||
		p2pmr_fail "CMB import: last_err $(edu_result 6 last_err)"
	expect_iova 6 "$(pci_bar_bus_addr "$nvme" 2)" \
		"$(pci_bar_cpu_addr "$nvme" 2)" "the CMB"
	edu_cmd write 6 0x11000 0x1800 67 ||
		p2pmr_fail "CMB write: last_err $(edu_result 6 last_err)"
	edu_expect_read 6 0x11000 0x1800 67
	edu_expect_read 6 0x13000 0x1000 30
	echo "ok - the far edu DMAs into the NVMe CMB at IOVA $(edu_sg_dma 6)"
	edu_cmd release 6 || p2pmr_fail "release 6"
	"$pattern" check "$cmb" 0x10000 0x1000 30 &&
		"$pattern" check "$cmb" 0x11000 0x1800 67 &&
		"$pattern" check "$cmb" 0x12800 0x1800 30 &&
		"$pattern" check-zero "$cmb" 0 0x10000 &&
		"$pattern" check-zero "$cmb" 0x14000 0x10000 ||
		p2pmr_fail "the CMB's sysfs mapping does not show exactly seed" \
			   "67 at 0x11000 within seed 30, zero around"
	echo 0 >/sys/module/p2pmr/parameters/allow_host_bridge

	# Revocation: the old IOVAs must fault and write nothing; the
	# pinned import holds the bind until it is released.
	revoke_near &
	binder=$!
	waits="p2pmr: driver bind of $near waits for 1 pinned or mapped importer(s) of export [0-9]*: $far_edu (pinned)"
	wait_for 20 dmesg_has "$waits" ||
		p2pmr_fail "the bind does not say it waits for the pinned import"
	kill -0 $binder 2>/dev/null ||
		p2pmr_fail "pci-stub bound while the BAR was pinned"
	[ "$(edu_result 2 move_notify)" -ge 1 ] ||
		p2pmr_fail "the far edu's importer was not told (move_notify 0)"
	[ "$(edu_result 2 mapped)" = 0 ] ||
		p2pmr_fail "the far edu is still mapped after revocation"
	[ "$(edu_result 5 move_notify)" -ge 1 ] &&
		[ "$(edu_result 5 mapped)" = 0 ] ||
		p2pmr_fail "the peer range was not invalidated"
	[ "$(p2pmr_counter mappings)" = 1 ] ||
		p2pmr_fail "p2pmr counts $(p2pmr_counter mappings) mappings," \
			   "not the pinned one"
	expect_err 19 2 write 2 0x40000 0x800 64
	expect_err 19 5 write 5 0x40000 0x800 64
	for slot in 2 5; do
		iova=$(( $(edu_result $slot stale) + 0x40000 ))
		expect_dmar_fault Write "$far_edu" "$iova"
		stale_write $slot 0x40000 >/dev/null
		wait_for 5 dmar_fault_seen Write "$far_edu" "$iova" ||
			p2pmr_fail "the DMA to revoked IOVA $(printf %#x $iova)" \
				   "(slot $slot) did not fault"
		echo "ok - revoked: a DMA to slot $slot's old IOVA" \
		     "$(printf %#x $iova) faults in the IOMMU"
	done
	edu_cmd write 4 0x31000 0x1000 68 ||
		p2pmr_fail "the pinned import cannot DMA while the bind waits"
	echo "ok - the pinned import still DMAs while the bind waits"
	edu_cmd release 4 || p2pmr_fail "release 4"
	wait $binder || p2pmr_fail "binding pci-stub to $near failed"
	echo "ok - releasing the pinned import lets pci-stub bind"
	edu_cmd release 2 || p2pmr_fail "release 2"
	edu_cmd release 5 || p2pmr_fail "release 5"

	# Revocation by removal: the far BAR's device goes away.
	echo 1 >/sys/module/p2pmr/parameters/allow_host_bridge
	edu_import 1 "$far_res" 0x300000 0x100000 "$far_edu" ||
		p2pmr_fail "far import: last_err $(edu_result 1 last_err)"
	echo 0 >/sys/module/p2pmr/parameters/allow_host_bridge
	edu_cmd write 1 0x10000 0x1000 69 ||
		p2pmr_fail "far write: last_err $(edu_result 1 last_err)"
	echo 1 >"/sys/bus/pci/devices/$far/remove" || p2pmr_fail "remove $far"
	[ "$(edu_result 1 move_notify)" -ge 1 ] &&
		[ "$(edu_result 1 mapped)" = 0 ] ||
		p2pmr_fail "removal did not unmap the far edu's import"
	expect_err 19 1 write 1 0x20000 0x800 64
	iova=$(( $(edu_result 1 stale) + 0x20000 ))
	expect_dmar_fault Write "$far_edu" "$iova"
	stale_write 1 0x20000 >/dev/null
	wait_for 5 dmar_fault_seen Write "$far_edu" "$iova" ||
		p2pmr_fail "the DMA to revoked IOVA $(printf %#x $iova) did" \
			   "not fault after removal"
	edu_cmd release 1 || p2pmr_fail "release 1"
	echo "ok - removed: a DMA to the far import's old IOVA" \
	     "$(printf %#x $iova) faults in the IOMMU"
	dmesg | grep 'DMAR: \[DMA' | sed 's/^/# /'
fi

# --- pt: identity domains, dma-direct -----------------------------------------
if [ "$mode" = pt ]; then
	uapi_test query "$far_res" "$far_edu" | grep -q ' iommu' &&
		p2pmr_fail "QUERY_P2P reports a translating IOMMU for an" \
			   "identity domain"
	echo "ok - QUERY_P2P: an identity domain does not translate"

	edu_import 0 "$near_res" 0x100000 0x100000 "$near_edu" ||
		p2pmr_fail "near import: last_err $(edu_result 0 last_err)"
	expect_sg 0 "$bus + 0x100000" "the bus address"
	edu_cmd write 0 0x1234 0x2000 71 ||
		p2pmr_fail "near write: last_err $(edu_result 0 last_err)"
	edu_expect_read 0 0x1234 0x2000 71
	edu_expect_read 0 0x80000 0x3000 42
	edu_cmd release 0 || p2pmr_fail "release 0"
	echo "ok - below the switch the near edu DMAs through bus address" \
	     "$(printf %#x $((bus + 0x100000)))"
	edu_import 4 "$near_res" 0x100000 0x100000 "$near_edu" \
		import-pinned ||
		p2pmr_fail "pinned import: last_err $(edu_result 4 last_err)"
	expect_sg 4 "$bus + 0x100000" "the bus address"
	edu_cmd write 4 0x30000 0x1000 73 ||
		p2pmr_fail "pinned write: last_err $(edu_result 4 last_err)"
	edu_expect_read 4 0x30000 0x1000 73
	edu_cmd release 4 || p2pmr_fail "release 4"
	echo "ok - pinned, the near edu DMAs through the bus address"
	edu_import_peer 5 "$near_res" 0x100000 0x100000 "$near_edu" ||
		p2pmr_fail "peer import: last_err $(edu_result 5 last_err)"
	expect_sg 5 "$bus + 0x100000" "the bus address"
	edu_cmd write 5 0x50000 0x1000 74 ||
		p2pmr_fail "peer write: last_err $(edu_result 5 last_err)"
	edu_expect_read 5 0x50000 0x1000 74
	edu_cmd release 5 || p2pmr_fail "release 5"
	echo "ok - through the peer-memory core, the near edu DMAs through" \
	     "the bus address"

	far_refused 1 0x200000
	echo 1 >/sys/module/p2pmr/parameters/allow_host_bridge
	edu_import 1 "$far_res" 0x200000 0x100000 "$far_edu" ||
		p2pmr_fail "far import: last_err $(edu_result 1 last_err)"
	expect_sg 1 "$far_phys + 0x200000" "the physical address"
	sg=$(edu_sg_dma 1)
	edu_cmd write 1 0x800 0x2000 72 ||
		p2pmr_fail "far write: last_err $(edu_result 1 last_err)"
	edu_expect_read 1 0x800 0x2000 72
	edu_cmd release 1 || p2pmr_fail "release 1"
	edu_import 4 "$far_res" 0x200000 0x100000 "$far_edu" import-pinned ||
		p2pmr_fail "far pinned import: last_err $(edu_result 4 last_err)"
	expect_sg 4 "$far_phys + 0x200000" "the physical address"
	edu_cmd write 4 0x20000 0x1000 75 ||
		p2pmr_fail "far pinned write: last_err $(edu_result 4 last_err)"
	edu_expect_read 4 0x20000 0x1000 75
	edu_cmd release 4 || p2pmr_fail "release 4"
	edu_import_peer 5 "$far_res" 0x200000 0x100000 "$far_edu" ||
		p2pmr_fail "far peer import: last_err $(edu_result 5 last_err)"
	expect_sg 5 "$far_phys + 0x200000" "the physical address"
	edu_cmd write 5 0x40000 0x1000 76 ||
		p2pmr_fail "far peer write: last_err $(edu_result 5 last_err)"
	edu_expect_read 5 0x40000 0x1000 76
	edu_cmd release 5 || p2pmr_fail "release 5"
	echo "ok - through the host bridge the far edu DMAs to the physical" \
	     "address $sg"

	mask_refused "$far_edu" 1 "$far_res" 0x200000 \
		"$(printf %#x $((far_phys + 0x200000)))" physical
	echo 0 >/sys/module/p2pmr/parameters/allow_host_bridge
	mask_refused "$near_edu" 0 "$near_res" 0x100000 \
		"$(printf %#x $((bus + 0x100000)))" bus
fi

p2pmr_expect_idle
echo "ok - p2pmr's counters are back to zero"
rmmod p2pmr_edu || p2pmr_fail "rmmod p2pmr_edu"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr"
rmmod peer_mem_host || p2pmr_fail "rmmod peer_mem_host"
echo "ok - the modules unload"
dmesg | grep -E 'p2pmr(_edu)?:|p2pmr_edu |DMAR' | sed 's/^/# /' | tail -n 30
