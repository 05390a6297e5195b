#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The two-guest harness (vm_boot_pair): vm-run refuses bad pair options
# with a message that says what to use; a booted pair has one BAR file per
# guest, distinct names, addresses and MACs, working ssh both ways and sync
# (tests/vm/guest/pair_harness.sh); each guest's status comes back on its
# own, and a guest that exits releases a peer waiting on it.
. "$(dirname "$0")/../lib/host.sh"

# refuse <expected message> <vm-run arguments...>: vm-run exits 92 with it
refuse() {
	local want=$1 err rc

	shift
	err=$("$VM_RUN" "$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc -eq 92 ] || fail "vm-run $* returned $rc, expected 92"
	grep -qF -- "$want" <<<"$err" ||
		fail "vm-run $* said '$err', expected '$want'"
	echo "ok refused: vm-run $*"
}

refuse "--guest-ip 10.0.0.1: use an address of 192.0.2.0/24" \
	--guest-ip 10.0.0.1 -- true
refuse "--guest-ip 192.0.2.255: use an address of 192.0.2.0/24" \
	--guest-ip 192.0.2.255 -- true
refuse "--name Guest_1: use lower-case letters, digits and '-'" \
	--name Guest_1 -- true
refuse "--net-listen and --net-connect exclude each other" \
	--net-listen --net-connect 4000 -- true
refuse "--net-connect 70000: not a TCP port number" \
	--net-connect 70000 -- true
refuse "--net-connect x: not a TCP port number" --net-connect x -- true
refuse "--shell is for one guest; a joined NIC needs vm_boot_pair" \
	--net-listen --shell

new_pair_run_dirs
vm_boot_pair --timeout 600 -- "$GUEST_DIR/pair_harness.sh"
[ "$VM_RC_A" -eq 3 ] || fail "guest a: vm-run returned $VM_RC_A, the guest exited 3"
[ "$VM_RC_B" -eq 1 ] || fail "guest b: vm-run returned $VM_RC_B, expected 1"
grep -q "PAIR b synced with a" "$RUN_DIR_B/out/output" ||
	fail "guest b never synced with guest a"
grep -q "p2pmr-a exited (status 3) before signalling 'never'" \
	"$RUN_DIR_B/out/output" || fail "guest b was not released by a's exit"
host_check near 0 0x10000 71 "$RUN_DIR_A"
host_check near 0 0x10000 72 "$RUN_DIR_B"
echo "pair_harness ok: two guests, their own BARs, names and statuses"
