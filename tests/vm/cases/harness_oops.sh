#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An oops ends the guest at once (vm-run boots it with oops=panic) and
# fails the run with the report quoted: without it, the oopsed task's
# locks stay held and the test hangs until its timeout.  The guest loads a
# module that reads through a NULL pointer, then would sleep far longer
# than the timeout given here.
. "$(dirname "$0")/../lib/host.sh"

ko=$P2PMR_KMOD_DIR/p2pmr_warn_inject/p2pmr_warn_inject.ko
[ -e "$ko" ] || fail "$ko is not built"
new_run_dir
vm_boot --quiet --timeout 300 -- \
	bash -c "insmod $ko inject=oops; echo survived; sleep 3600" \
	2>"$RUN_DIR/stderr"
cat "$RUN_DIR/stderr"
grep -q 'timed out' "$RUN_DIR/stderr" &&
	fail "the guest went on after the oops until vm-run's timeout"
grep -qx survived "$RUN_DIR/out/output" 2>/dev/null &&
	fail "the guest went on after the oops"
[ "$VM_RC" -eq 90 ] ||
	fail "vm-run returned $VM_RC for a guest that oopsed; expected 90"
grep -q 'BUG: kernel NULL pointer dereference' "$RUN_DIR/stderr" ||
	fail "vm-run did not quote the oops"
echo "harness_oops ok: an oops ends the guest and fails the run"
