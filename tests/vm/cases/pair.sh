#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run one guest script in both guests of a pair (vm_boot_pair); passes
# when it passes in both, skips when it skips in either.
#
# usage: pair.sh [vm-run options] -- <guest script> [args...]
. "$(dirname "$0")/../lib/host.sh"

new_pair_run_dirs
vm_boot_pair "$@"
if [ "$VM_RC_A" -eq 77 ] || [ "$VM_RC_B" -eq 77 ]; then
	exit 77
fi
[ "$VM_RC_A" -eq 0 ] && [ "$VM_RC_B" -eq 0 ] ||
	fail "guest side failed (a: status $VM_RC_A, b: status $VM_RC_B)"
