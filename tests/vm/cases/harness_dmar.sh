#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The harness fails a run in which a device's DMA faulted in the IOMMU
# unless the test declared exactly that fault, even when the guest command
# succeeds: the guest provokes one DMAR fault (a DMA to a revoked IOVA)
# and declares one a page off.  vm-run must report both the fault nobody
# declared and the declared one that never came.  (vm.edu_dma_iommu
# shows the exact declaration accepted.)
. "$(dirname "$0")/../lib/host.sh"

new_run_dir
vm_boot --edu --iommu --quiet -- "$GUEST_DIR/edu_dma_iommu.sh" stray \
	2>"$RUN_DIR/stderr"
cat "$RUN_DIR/stderr"
[ "$VM_RC" -ne 77 ] && [ "$(cat "$RUN_DIR/out/rc" 2>/dev/null)" != 77 ] ||
	skip "the guest could not run the stray DMA"
grep -q '^ok - a stray DMA faulted' "$RUN_DIR/out/output" ||
	fail "the guest did not make its stray DMA: $(cat "$RUN_DIR/out/output")"
[ "$(cat "$RUN_DIR/out/rc")" = 0 ] || fail "the guest command itself failed"
[ "$VM_RC" -eq 93 ] ||
	fail "vm-run returned $VM_RC for an undeclared DMAR fault; expected 93"
grep -q 'unexpected DMAR fault: \[DMA Write NO_PASID\] Request device' \
	"$RUN_DIR/stderr" || fail "vm-run did not quote the undeclared fault"
grep -q 'declared DMAR fault never happened: \[DMA Write' "$RUN_DIR/stderr" ||
	fail "vm-run did not report the declared fault that never came"
echo "harness_dmar ok: an undeclared DMAR fault fails the run"
