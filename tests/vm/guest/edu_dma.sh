#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# usage: edu_dma.sh        (in a guest booted with vm-run --edu)
#
# A bus-master device DMAs through the addresses p2pmr hands a dynamic
# importer, a pinned one and the peer-memory core (tests/kmod/p2pmr_edu
# drives QEMU's edu engine), no IOMMU.  The host (tests/vm/cases/
# edu_dma.sh) checks the BAR files afterwards:
#
# near  the near edu imports 1 MiB at 0x100000 of the near BAR (below the
#       NIC's switch, bus addresses): writes seed 41 at BAR 0x101234
#       (0x5000 bytes); reads back what the host put at 0x180000 (seed 42,
#       0x3000 bytes) and what it wrote; a wrong seed is noticed.
# child the near edu imports the near BAR with a child device that is no
#       PCI device: p2pmr resolves it to the edu (bus address), edu writes
#       seed 45 at BAR 0x160000 (0x1000) and reads it back.
# pinned the near edu pins the near BAR (as efa/irdma do): bus address,
#       seed 46 at BAR 0x170000 (0x1000), read back.
# peer  the near edu imports a mapping of the near BAR through the
#       peer-memory core (p2pmr's peer client): the same bus address,
#       seed 47 at BAR 0x190000 (0x1000), read back with the host's 42.
# cmb   nvme unbound, the near edu imports the NVMe CMB (below the same
#       switch): its bus address; seed 48 at CMB 0x11000 (0x1800), and
#       reads what the CPU wrote around it (seed 30, 0x10000-0x14000);
#       the CMB has no host file: the CPU checks through its own sysfs
#       mapping that only those bytes changed.
# mask  with a DMA mask that ends below the BAR, the near edu's import is
#       refused (EREMOTEIO) and p2pmr names device, mask and address; so
#       is the far edu's through the host bridge.  No DMA.
# far   the far edu and the far BAR share no switch: the attach is refused
#       (EREMOTEIO); with allow_host_bridge=1 the DMA-API address (the
#       physical address) is used: seed 51 at far BAR 0x200800, 0x4000;
#       pinned, seed 52 at 0x220000 (0x1000); as peer memory, seed 53
#       at 0x240000 (0x1000).
# bad   malformed requests are refused with their errno, no DMA issued.
# revoke removing the near ivshmem while imported dynamic, pinned and as
#       peer memory: move_notify unmaps the dynamic import, the peer
#       range is invalidated, and the removal waits for the pinned one
#       (p2pmr names it), which still DMAs meanwhile (seed 49 at BAR
#       0x171000, 0x1000) until it is released; later requests fail with
#       ENODEV and issue no DMA (the host finds nothing at BAR 0x140000
#       or 0x1a0000), p2pmr's counters return to zero.
. "$(dirname "$0")/lib.sh"

near_edu=$(pci_near_edu)
far_edu=$(pci_far_edu)
[ -n "$near_edu" ] && [ -n "$far_edu" ] ||
	p2pmr_skip "no edu devices below the switch and on a root port" \
		   "(boot with vm-run --edu)"
# p2pmr.ko with its peer-memory client, for the peer import.
peer_load
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

# --- a pinned importer --------------------------------------------------------
edu_import 4 "$near_res" 0x100000 0x100000 "$near_edu" import-pinned ||
	p2pmr_fail "pinned import: last_err $(edu_result 4 last_err)"
[ "$(edu_result 4 kind)" = pinned ] || p2pmr_fail "slot 4 is not pinned"
[ "$(( $(edu_sg_dma 4) ))" = "$(( bus + 0x100000 ))" ] ||
	p2pmr_fail "the pinned mapping starts at $(edu_sg_dma 4), not the" \
		   "bus address $bus + 0x100000"
[ "$(p2pmr_counter pins)" -ge 1 ] || p2pmr_fail "p2pmr counts no pin"
edu_cmd write 4 0x70000 0x1000 46 ||
	p2pmr_fail "pinned write: last_err $(edu_result 4 last_err)"
edu_expect_read 4 0x70000 0x1000 46
echo "ok - a pinned import of the near BAR: bus address, DMA"

# --- the peer-memory path -------------------------------------------------
edu_import_peer 5 "$near_res" 0x100000 0x100000 "$near_edu" ||
	p2pmr_fail "peer import: last_err $(edu_result 5 last_err)"
[ "$(edu_result 5 kind)" = peer ] || p2pmr_fail "slot 5 is not peer memory"
[ "$(( $(edu_sg_dma 5) ))" = "$(( bus + 0x100000 ))" ] ||
	p2pmr_fail "the peer client mapped the range at $(edu_sg_dma 5)," \
		   "not the bus address $bus + 0x100000"
[ "$(p2pmr_counter peer_regs)" = 1 ] ||
	p2pmr_fail "p2pmr counts $(p2pmr_counter peer_regs) peer registrations"
edu_cmd write 5 0x90000 0x1000 47 ||
	p2pmr_fail "peer write: last_err $(edu_result 5 last_err)"
edu_expect_read 5 0x90000 0x1000 47
edu_expect_read 5 0x80000 0x3000 42
echo "ok - through the peer-memory core the near edu DMAs at the bus address"

# --- the NVMe CMB below the same switch -------------------------------------
nvme=$(pci_nvme)
cmb=/sys/bus/pci/devices/$nvme/resource2
pattern=$(p2pmr_tool p2pmr-pattern)
echo "$nvme" >"/sys/bus/pci/devices/$nvme/driver/unbind" ||
	p2pmr_fail "cannot unbind nvme from $nvme"
"$pattern" fill "$cmb" 0x10000 0x4000 30 ||
	p2pmr_fail "the CPU cannot write the CMB through its sysfs mapping"
edu_import 6 "$cmb" 0 0x100000 "$near_edu" ||
	p2pmr_fail "CMB import: last_err $(edu_result 6 last_err)"
cmb_bus=$(pci_bar_bus_addr "$nvme" 2)
[ "$(( $(edu_sg_dma 6) ))" = "$(( cmb_bus ))" ] ||
	p2pmr_fail "the CMB is mapped at $(edu_sg_dma 6), not its bus" \
		   "address $cmb_bus"
edu_cmd write 6 0x11000 0x1800 48 ||
	p2pmr_fail "CMB write: last_err $(edu_result 6 last_err)"
edu_expect_read 6 0x11000 0x1800 48
edu_expect_read 6 0x13000 0x1000 30
edu_cmd release 6 || p2pmr_fail "release 6"
"$pattern" check "$cmb" 0x10000 0x1000 30 &&
	"$pattern" check "$cmb" 0x11000 0x1800 48 &&
	"$pattern" check "$cmb" 0x12800 0x1800 30 &&
	"$pattern" check-zero "$cmb" 0 0x10000 &&
	"$pattern" check-zero "$cmb" 0x14000 0x10000 ||
	p2pmr_fail "the CMB's sysfs mapping does not show exactly seed 48" \
		   "at 0x11000 within seed 30, zero around"
echo "ok - the near edu DMAs into the NVMe CMB at its bus address $cmb_bus"

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
# Pinned, and through the peer-memory core, the same way.
echo 1 >/sys/module/p2pmr/parameters/allow_host_bridge
edu_import 7 "$far_res" 0x200000 0x100000 "$far_edu" import-pinned ||
	p2pmr_fail "far pinned import: last_err $(edu_result 7 last_err)"
edu_import_peer 3 "$far_res" 0x200000 0x100000 "$far_edu" ||
	p2pmr_fail "far peer import: last_err $(edu_result 3 last_err)"
echo 0 >/sys/module/p2pmr/parameters/allow_host_bridge
for slot in 7 3; do
	[ "$(( $(edu_sg_dma $slot) ))" = "$(( phys + 0x200000 ))" ] ||
		p2pmr_fail "far $(edu_result $slot kind) mapping starts at" \
			   "$(edu_sg_dma $slot), not $phys + 0x200000"
done
edu_cmd write 7 0x20000 0x1000 52 ||
	p2pmr_fail "far pinned write: last_err $(edu_result 7 last_err)"
edu_expect_read 7 0x20000 0x1000 52
edu_cmd write 3 0x40000 0x1000 53 ||
	p2pmr_fail "far peer write: last_err $(edu_result 3 last_err)"
edu_expect_read 3 0x40000 0x1000 53
edu_cmd release 7 || p2pmr_fail "release 7"
edu_cmd release 3 || p2pmr_fail "release 3"
echo "ok - pinned and as peer memory, the far edu DMAs through $sg too"

# --- revocation: the near BAR's device goes away while imported ------------
# Dynamic (slot 0), pinned (4) and peer memory (5).
[ "$(p2pmr_counter attachments)" = 2 ] && [ "$(p2pmr_counter mappings)" = 2 ] ||
	p2pmr_fail "before removal: $(tr '\n' ' ' <"$P2PMR_COUNTERS")"
echo 1 >"/sys/bus/pci/devices/$near/remove" &
remover=$!
waits="p2pmr: removal of $near waits for 1 pinned or mapped importer(s) of export [0-9]*: $near_edu (pinned)"
wait_for 20 dmesg_has "$waits" ||
	p2pmr_fail "the removal does not say it waits for the pinned import"
kill -0 $remover 2>/dev/null ||
	p2pmr_fail "the removal finished while the BAR was pinned"
[ "$(edu_result 0 move_notify)" -ge 1 ] ||
	p2pmr_fail "the edu importer was not told (move_notify 0)"
[ "$(edu_result 0 mapped)" = 0 ] ||
	p2pmr_fail "the edu importer is still mapped after revocation"
[ "$(edu_result 5 move_notify)" -ge 1 ] && [ "$(edu_result 5 mapped)" = 0 ] ||
	p2pmr_fail "the peer range was not invalidated"
[ "$(edu_result 4 mapped)" = 1 ] ||
	p2pmr_fail "the pinned import lost its mapping"
[ "$(p2pmr_counter mappings)" = 1 ] ||
	p2pmr_fail "p2pmr counts $(p2pmr_counter mappings) mappings, not the" \
		   "pinned one"
echo "ok - removal revoked the dynamic import and the peer range, and" \
     "waits for the pinned one"
edu_cmd write 4 0x71000 0x1000 49 ||
	p2pmr_fail "the pinned import cannot DMA while the removal waits"
echo "ok - the pinned import still DMAs while the removal waits"
edu_cmd release 4 || p2pmr_fail "release 4"
wait $remover || p2pmr_fail "remove $near failed"
[ ! -e "/sys/bus/pci/devices/$near" ] || p2pmr_fail "$near is still there"
dmesg_has "p2pmr: removal of $near goes on: export [0-9]* was let go" ||
	p2pmr_fail "p2pmr did not log that the removal goes on"
echo "ok - releasing the pinned import lets the removal finish"
expect_err 19 0 write 0 0x40000 0x1000 44
expect_err 19 0 read 0 0x1234 0x100 41
expect_err 19 5 write 5 0xa0000 0x1000 44
edu_cmd release 0 || p2pmr_fail "release 0"
edu_cmd release 5 || p2pmr_fail "release 5"
p2pmr_expect_idle
echo "ok - p2pmr's counters are back to zero"

rmmod p2pmr_edu || p2pmr_fail "rmmod p2pmr_edu"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr"
rmmod peer_mem_host || p2pmr_fail "rmmod peer_mem_host"
echo "ok - the modules unload"
dmesg | grep -E 'p2pmr(_edu)?:|p2pmr_edu ' | sed 's/^/# /' | tail -n 20
