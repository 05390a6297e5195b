#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The harness brings back the guest command's exit status and output, and
# ends a guest that overruns its timeout with a distinct status.
. "$(dirname "$0")/../lib/host.sh"

new_run_dir
vm_boot --quiet -- bash -c 'echo "to the host: $((6 * 7))"; exit 7'
[ "$VM_RC" -eq 7 ] || fail "vm-run returned $VM_RC, the guest exited 7"
grep -qx "to the host: 42" "$RUN_DIR/out/output" ||
	fail "the guest's output did not come back"
grep -q "Linux version" "$RUN_DIR/out/dmesg" ||
	fail "the guest's kernel log did not come back"

vm_boot --quiet --timeout 25 -- sleep 600 2>"$RUN_DIR/stderr"
[ "$VM_RC" -eq 91 ] || fail "vm-run returned $VM_RC for a hung guest; expected 91"
grep -q "timed out" "$RUN_DIR/stderr" || fail "vm-run did not say it timed out"
echo "harness_status ok"
