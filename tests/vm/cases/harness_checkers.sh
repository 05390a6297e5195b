#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# On the debug kernel, the harness fails a run for each checker's report
# even when the guest command succeeds: one boot loads a module that
# raises, in turn, a lockdep circular-locking report, a DMA-API debug
# error, a leak kmemleak finds and a KASAN out-of-bounds write (in that
# order: KASAN's report taints the kernel, which turns lockdep off).
# Each report must be quoted by vm-run, which must exit 90.
. "$(dirname "$0")/../lib/host.sh"

[ "${P2PMR_KERNEL:-}" = debug ] ||
	skip "the checkers are those of the debug kernel (P2PMR_KERNEL=debug)"
ko=$P2PMR_KMOD_DIR/p2pmr_warn_inject/p2pmr_warn_inject.ko
[ -e "$ko" ] || fail "$ko is not built"
new_run_dir
# kmemleak reports an object only once it is older than its minimum age
# (5 s) at the first of the two scans that end the run: wait that long.
vm_boot --quiet -- bash -c "
	for what in lockdep dma leak kasan; do
		insmod $ko inject=\$what && rmmod p2pmr_warn_inject &&
			echo \"injected \$what\" || exit 1
	done
	sleep 6" 2>"$RUN_DIR/stderr"
cat "$RUN_DIR/stderr"
for what in lockdep dma leak kasan; do
	grep -qx "injected $what" "$RUN_DIR/out/output" ||
		fail "the guest did not inject $what (output: $(cat "$RUN_DIR/out/output"))"
done
[ "$(cat "$RUN_DIR/out/rc")" = 0 ] || fail "the guest command itself failed"
[ "$VM_RC" -eq 90 ] ||
	fail "vm-run returned $VM_RC for a guest with checker reports; expected 90"
expect() {
	grep -qE "$2" "$RUN_DIR/stderr" ||
		fail "vm-run did not quote the $1 report ('$2')"
}
expect lockdep 'WARNING: possible circular locking dependency detected'
expect DMA-API 'WARNING: .* at kernel/dma/debug\.c'
# The module is gone by the time of the scan: its frames have no names.
expect kmemleak 'unreferenced object 0x[0-9a-f]+ \(size 64\)'
expect kmemleak 'do_init_module'
expect KASAN 'BUG: KASAN: slab-out-of-bounds in p2pmr_warn_inject_init'
echo "harness_checkers ok: lockdep, DMA-API, kmemleak and KASAN reports" \
     "each fail the run"
