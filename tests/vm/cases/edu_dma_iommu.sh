#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# usage: edu_dma_iommu.sh strict|pt
#
# QEMU's edu DMA engine moves data through the addresses p2pmr hands a
# dynamic importer with an emulated Intel IOMMU, strict (IOVAs, a DMA to
# a revoked IOVA must fault) or in passthrough (identity domains); the
# host files behind the BARs must hold exactly the intended bytes and
# nothing else (tests/vm/guest/edu_dma_iommu.sh says what the guest does).
. "$(dirname "$0")/../lib/host.sh"

case ${1:-} in
strict) iommu=--iommu ;;
pt) iommu=--iommu=pt ;;
*) fail "usage: edu_dma_iommu.sh strict|pt" ;;
esac

new_run_dir
# What the edus must read back through their mappings.
host_fill near 0x180000 0x3000 42
vm_boot --edu "$iommu" -- "$GUEST_DIR/edu_dma_iommu.sh"
[ "$VM_RC" -ne 77 ] || skip "the guest could not run the IOMMU edu test"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

if [ "$1" = strict ]; then
	# near: the far edu's seed 62 at 0x121000, the pinned import's 65
	# and 68 at 0x130000, the peer import's 66 at 0x150000, the host's
	# seed 42 at 0x180000, zero elsewhere: the writes to the revoked
	# IOVAs (BAR 0x140000) faulted and left nothing
	host_check_whole near 0x121000 0x3000 62 0x130000 0x1000 65 \
		0x131000 0x1000 68 0x150000 0x1000 66 0x180000 0x3000 42
	# far: seed 61 at 0x300800, 69 at 0x310000 (written before the
	# removal, nothing at 0x320000 after it), the narrow-mask edu's seed
	# 63 at 0x380000
	host_check_whole far 0x300800 0x4000 61 0x310000 0x1000 69 \
		0x380000 0x800 63
	# The three DMAR faults the guest declared (dynamic and peer after
	# the rebind, dynamic after the removal), and vm-run let through.
	[ "$(grep -c 'DMAR: \[DMA Write NO_PASID\] Request device .* fault addr' \
		"$RUN_DIR/out/dmesg")" -ge 3 ] ||
		fail "the guest log shows no DMAR faults for the revoked IOVAs"
	[ "$(wc -l <"$RUN_DIR/out/expect-dmar")" = 3 ] ||
		fail "the guest declared other DMAR faults than the three"
else
	# near: seed 71 at 0x101234, pinned 73 at 0x130000, peer 74 at
	# 0x150000, the host's seed 42 at 0x180000
	host_check_whole near 0x101234 0x2000 71 0x130000 0x1000 73 \
		0x150000 0x1000 74 0x180000 0x3000 42
	# far: seed 72 at 0x200800, pinned 75 at 0x220000, peer 76 at
	# 0x240000
	host_check_whole far 0x200800 0x2000 72 0x220000 0x1000 75 \
		0x240000 0x1000 76
	! grep -q 'DMAR: \[DMA' "$RUN_DIR/out/dmesg" ||
		fail "DMAR faults with iommu=pt"
fi
echo "edu_dma_iommu $1 ok"
