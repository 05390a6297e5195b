#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# usage: edu_dma.sh        (in a guest booted with vm-run --edu)
#
# A bus-master device DMAs through the addresses p2pmr hands a dynamic
# importer (tests/kmod/p2pmr_edu drives QEMU's edu engine), no IOMMU.
# The host (tests/vm/cases/edu_dma.sh) checks the BAR files afterwards:
#
# near  the near edu imports 1 MiB at 0x100000 of the near BAR (below the
#       NIC's switch, bus addresses): writes seed 41 at BAR 0x101234
#       (0x5000 bytes); reads back what the host put at 0x180000 (seed 42,
#       0x3000 bytes) and what it wrote; a wrong seed is noticed.
# child the near edu imports the near BAR with a child device that is no
#       PCI device: p2pmr resolves it to the edu (bus address), edu writes
#       seed 45 at BAR 0x160000 (0x1000) and reads it back.
# mask  with a DMA mask that ends below the BAR, the near edu's import is
#       refused (EREMOTEIO) and p2pmr names device, mask and address; so
#       is the far edu's through the host bridge.  No DMA.
# far   the far edu and the far BAR share no switch: the attach is refused
#       (EREMOTEIO); with allow_host_bridge=1 the DMA-API address (the
#       physical address) is used: seed 51 at far BAR 0x200800, 0x4000.
# bad   malformed requests are refused with their errno, no DMA issued.
# revoke removing the near ivshmem while imported: move_notify unmaps,
#       later requests fail with ENODEV and issue no DMA (the host finds
#       nothing at BAR 0x140000), p2pmr's counters return to zero.
. "$(dirname "$0")/lib.sh"

near_edu=$(pci_near_edu)
far_edu=$(pci_far_edu)
[ -n "$near_edu" ] && [ -n "$far_edu" ] ||
	p2pmr_skip "no edu devices below the switch and on a root port" \
		   "(boot with vm-run --edu)"
p2pmr_load
edu_load
near=$(pci_near_ivshmem)
far=$(pci_far_ivshmem)
near_res=/sys/bus/pci/devices/$near/resource2
far_res=/sys/bus/pci/devices/$far/resource2
p2pmr_log "near edu $near_edu, far edu $far_edu, near BAR $near, far BAR $far"

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

# --- near: bus addresses below the switch -------------------------------
edu_import 0 "$near_res" 0x100000 0x100000 "$near_edu" ||
	p2pmr_fail "near import: last_err $(edu_result 0 last_err)"
bus=$(pci_bar_bus_addr "$near" 2)
sg=$(awk '$1 == "slot" && $2 == 0 && $3 == "sg" { print $6; exit }' \
	"$P2PMR_EDU_RESULTS")
[ "$(( sg ))" = "$(( bus + 0x100000 ))" ] ||
	p2pmr_fail "near mapping starts at $sg, not the bus address" \
		   "$bus + 0x100000"
echo "ok - near edu imported the near BAR, mapped at its bus address $sg"

edu_cmd write 0 0x1234 0x5000 41 ||
	p2pmr_fail "near write: last_err $(edu_result 0 last_err)"
echo "ok - near edu wrote 0x5000 bytes at dma-buf offset 0x1234"
edu_expect_read 0 0x80000 0x3000 42
echo "ok - near edu read what the host wrote at BAR 0x180000"
edu_expect_read 0 0x1234 0x5000 41
echo "ok - near edu read back what it wrote"
edu_cmd read 0 0x80000 0x800 43 || p2pmr_fail "read with seed 43 failed"
[ "$(edu_result 0 bad)" -gt 0 ] ||
	p2pmr_fail "a read checked against the wrong seed found no difference"
echo "ok - a read against the wrong seed is noticed ($(edu_result 0 bad) bytes)"

# --- an importer that is a child of the edu, not a PCI device ---------------
edu_import 2 "$near_res" 0x100000 0x100000 "$near_edu" import-child ||
	p2pmr_fail "import as the edu's child: last_err $(edu_result 2 last_err)"
[ "$(( $(edu_sg_dma 2) ))" = "$(( bus + 0x100000 ))" ] ||
	p2pmr_fail "the child's mapping starts at $(edu_sg_dma 2), not the" \
		   "bus address $bus + 0x100000"
edu_cmd write 2 0x60000 0x1000 45 ||
	p2pmr_fail "child write: last_err $(edu_result 2 last_err)"
edu_expect_read 2 0x60000 0x1000 45
edu_cmd release 2 || p2pmr_fail "release 2"
echo "ok - a non-PCI child of the near edu stands for it: bus address, DMA"

# --- DMA masks that cannot reach the BAR -------------------------------------
bits=$(mask_bits_below "$bus")
edu_cmd mask "$near_edu" "$bits" || p2pmr_fail "mask $near_edu $bits"
edu_import 2 "$near_res" 0x100000 0x100000 "$near_edu" &&
	p2pmr_fail "an edu with a $bits-bit mask was given bus address $bus"
[ "$(edu_result 2 last_err)" = -121 ] ||
	p2pmr_fail "narrow-mask import: last_err $(edu_result 2 last_err)," \
		   "not -EREMOTEIO"
dmesg | grep -q "p2pmr: importer $near_edu cannot reach $near BAR2 at bus address $(printf %#x $((bus + 0x100000)))-.*DMA mask is $(printf %#x $(( (1 << bits) - 1 )))" ||
	p2pmr_fail "p2pmr did not say which mask and address it refused"
edu_cmd mask "$near_edu" 64 || p2pmr_fail "mask $near_edu 64"
echo "ok - a $bits-bit mask cannot reach bus address $bus: refused, logged"

# --- malformed requests -----------------------------------------------------
expect_err 22 0 write 0 0xff000 0x2000 1	# past the dma-buf's end
expect_err 22 0 write 0 0xffffffffffffffff 2 1	# overflowing
expect_err 22 0 read 0 0 0 1			# empty
expect_err 7 0 write 0 0 0x40001 1		# more than 256 KiB at once
expect_err 22 0 write 0 0 0x100 0x100000000	# seed wider than 32 bits
expect_err 16 0 import 0 0 "$near_edu"		# slot in use
expect_err 2 3 read 3 0 0x100 1			# nothing imported there
expect_err 19 3 import 3 0 "$(pci_nic)"		# not an edu
expect_err 22 3 import 3 0 0000:zz:00.0		# not a PCI address
edu_cmd write 99 0 0x100 1 2>/dev/null && p2pmr_fail "slot 99 accepted"
edu_cmd frobnicate 0 2>/dev/null && p2pmr_fail "an unknown command was accepted"
echo "ok - bad slots and unknown commands are refused"

# --- far: no P2P path, then the host bridge ---------------------------------
[ "$(cat /sys/module/p2pmr/parameters/allow_host_bridge)" = N ] ||
	p2pmr_fail "p2pmr's allow_host_bridge is not off by default"
edu_import 1 "$far_res" 0x200000 0x100000 "$far_edu" &&
	p2pmr_fail "the far edu attached to the far BAR with no P2P path"
[ "$(edu_result 1 last_err)" = -121 ] ||
	p2pmr_fail "far attach: last_err $(edu_result 1 last_err), not -EREMOTEIO"
dmesg | grep -q "p2pmr: importer $far_edu .*share no PCI switch" ||
	p2pmr_fail "p2pmr did not log why it refused $far_edu"
echo "ok - far attach refused with EREMOTEIO, and p2pmr said why"

echo 1 >/sys/module/p2pmr/parameters/allow_host_bridge
phys=$(pci_bar_cpu_addr "$far" 2)
bits=$(mask_bits_below "$phys")
edu_cmd mask "$far_edu" "$bits" || p2pmr_fail "mask $far_edu $bits"
edu_import 1 "$far_res" 0x200000 0x100000 "$far_edu" &&
	p2pmr_fail "an edu with a $bits-bit mask was given physical address" \
		   "$phys with no IOMMU"
[ "$(edu_result 1 last_err)" = -121 ] ||
	p2pmr_fail "narrow-mask host-bridge import: last_err" \
		   "$(edu_result 1 last_err), not -EREMOTEIO"
dmesg | grep -q "p2pmr: importer $far_edu cannot reach $far BAR2 at physical address" ||
	p2pmr_fail "p2pmr did not say why it refused the narrow mask"
edu_cmd mask "$far_edu" 64 || p2pmr_fail "mask $far_edu 64"
echo "ok - through the host bridge, a $bits-bit mask is refused too"
edu_import 1 "$far_res" 0x200000 0x100000 "$far_edu" ||
	p2pmr_fail "far import with allow_host_bridge=1:" \
		   "last_err $(edu_result 1 last_err)"
echo 0 >/sys/module/p2pmr/parameters/allow_host_bridge
sg=$(awk '$1 == "slot" && $2 == 1 && $3 == "sg" { print $6; exit }' \
	"$P2PMR_EDU_RESULTS")
[ "$(( sg ))" = "$(( phys + 0x200000 ))" ] ||
	p2pmr_fail "far mapping starts at $sg, not the DMA-API address" \
		   "$phys + 0x200000 (no IOMMU)"
edu_cmd write 1 0x800 0x4000 51 ||
	p2pmr_fail "far write: last_err $(edu_result 1 last_err)"
edu_expect_read 1 0x800 0x4000 51
edu_cmd release 1 || p2pmr_fail "release 1"
echo "ok - with allow_host_bridge=1 the far edu DMAs through $sg"

# --- revocation: the near BAR's device goes away while imported ------------
[ "$(p2pmr_counter attachments)" = 1 ] && [ "$(p2pmr_counter mappings)" = 1 ] ||
	p2pmr_fail "before removal: $(tr '\n' ' ' <"$P2PMR_COUNTERS")"
echo 1 >"/sys/bus/pci/devices/$near/remove" || p2pmr_fail "remove $near"
[ ! -e "/sys/bus/pci/devices/$near" ] || p2pmr_fail "$near is still there"
[ "$(edu_result 0 move_notify)" -ge 1 ] ||
	p2pmr_fail "the edu importer was not told (move_notify 0)"
[ "$(edu_result 0 mapped)" = 0 ] ||
	p2pmr_fail "the edu importer is still mapped after revocation"
[ "$(p2pmr_counter mappings)" = 0 ] ||
	p2pmr_fail "p2pmr still counts a mapping after revocation"
echo "ok - removal revoked the import: move_notify unmapped"
expect_err 19 0 write 0 0x40000 0x1000 44
expect_err 19 0 read 0 0x1234 0x100 41
edu_cmd release 0 || p2pmr_fail "release 0"
p2pmr_expect_idle
echo "ok - p2pmr's counters are back to zero"

rmmod p2pmr_edu || p2pmr_fail "rmmod p2pmr_edu"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr"
echo "ok - both modules unload"
dmesg | grep -E 'p2pmr(_edu)?:|p2pmr_edu ' | sed 's/^/# /' | tail -n 20
