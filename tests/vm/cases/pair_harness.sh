#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The two-guest harness (vm_boot_pair): vm-run refuses bad pair options
# with a message that says what to use, and lib.sh's pair helpers refuse
# to run outside a pair or wait forever; a booted pair has one BAR file per
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

# guest_refuse <expected message> <shell code>: lib.sh's pair helpers,
# run here on the host, fail with the message before they change anything
guest_refuse() {
	local want=$1 err

	err=$(env -u P2PMR_PEER_IP -u P2PMR_PEER_NAME -u P2PMR_PAIR_SSH_DIR \
		bash -c ". $GUEST_DIR/lib.sh; $2" 2>&1) &&
		fail "'$2' succeeded, expected '$want'"
	grep -qF -- "$want" <<<"$err" ||
		fail "'$2' said '$err', expected '$want'"
	echo "ok refused: $2"
}

guest_refuse "not a guest of a pair: boot it with vm_boot_pair" pair_up
guest_refuse "/nonexistent/ssh_host_a: no host key for guest 'a'" \
	"P2PMR_PEER_IP=192.0.2.2 P2PMR_PEER_NAME=p2pmr-b
	 P2PMR_PAIR_SSH_DIR=/nonexistent P2PMR_PAIR_ROLE=a pair_up"
marks=$(mktemp -d)
guest_refuse "p2pmr-b never signalled 'ready'" \
	"P2PMR_PAIR_MARKS=$marks P2PMR_PEER_NAME=p2pmr-b pair_wait ready 1"
guest_refuse "p2pmr-b did not finish in 1 s" \
	"P2PMR_PAIR_MARKS=$marks P2PMR_PEER_NAME=p2pmr-b pair_wait_peer_exit 1"
rmdir "$marks"

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
