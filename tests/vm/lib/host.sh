# SPDX-License-Identifier: GPL-2.0
# Helpers for host-side VM test scripts (source this file).  A host-side
# test boots the guest with vm_boot, then checks what the guest did from
# outside it: the files behind the ivshmem BARs, the guest's exit status.

P2PMR_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
: "${P2PMR_BUILD_DIR:=$P2PMR_SRC_DIR/build}"
export P2PMR_SRC_DIR P2PMR_BUILD_DIR
VM_RUN=$P2PMR_SRC_DIR/tests/vm/vm-run
GUEST_DIR=$P2PMR_SRC_DIR/tests/vm/guest
PATTERN=$P2PMR_BUILD_DIR/tools/p2pmr-pattern

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# new_run_dir: a fresh run directory, removed when the test exits.
new_run_dir() {
	local base=${P2PMR_VM_TMP:-/dev/shm}

	[ -w "$base" ] || base=${TMPDIR:-/tmp}
	RUN_DIR=$(mktemp -d "$base/p2pmr-test.XXXXXX") || fail "mktemp"
	trap 'rm -rf "$RUN_DIR"' EXIT
	truncate -s 64M "$RUN_DIR/ivshmem-near.mem" "$RUN_DIR/ivshmem-far.mem"
}

# vm_boot [vm-run options] -- <guest command...>: boot in $RUN_DIR; sets
# VM_RC to vm-run's exit status and never exits itself.
vm_boot() {
	"$VM_RUN" --run-dir "$RUN_DIR" "$@"
	VM_RC=$?
}

# host_check <which> <offset> <length> <seed>: the pattern is in the host
# file behind the near or far ivshmem BAR.
host_check() {
	"$PATTERN" check "$RUN_DIR/ivshmem-$1.mem" "$2" "$3" "$4" ||
		fail "host file behind the $1 BAR lacks the pattern" \
		     "(offset $2, length $3, seed $4)"
}

host_fill() {
	"$PATTERN" fill "$RUN_DIR/ivshmem-$1.mem" "$2" "$3" "$4" ||
		fail "cannot write the host file behind the $1 BAR"
}
