#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The harness fails a run whose guest kernel log shows a warning, even when
# the guest command itself succeeds: load a module that WARNs, exit 0.
. "$(dirname "$0")/../lib/host.sh"

ko=$P2PMR_KMOD_DIR/p2pmr_warn_inject/p2pmr_warn_inject.ko
[ -e "$ko" ] || fail "$ko is not built"
new_run_dir
vm_boot --quiet -- bash -c "insmod $ko && echo loaded" 2>"$RUN_DIR/stderr"
cat "$RUN_DIR/stderr"
grep -qx loaded "$RUN_DIR/out/output" ||
	fail "the guest did not load the module (output: $(cat "$RUN_DIR/out/output"))"
[ "$(cat "$RUN_DIR/out/rc")" = 0 ] || fail "the guest command itself failed"
[ "$VM_RC" -eq 90 ] ||
	fail "vm-run returned $VM_RC for a guest that warned; expected 90"
grep -q 'WARNING:.*p2pmr_warn_inject' "$RUN_DIR/stderr" ||
	fail "vm-run did not quote the warning"
echo "harness_warning ok: a guest kernel warning fails the run"
