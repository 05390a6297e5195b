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

# guest_fact <key>: the value of the last "DEMO <key> <value>" line the
# guest printed.
guest_fact() {
	awk -v k="$1" '$1 == "DEMO" && $2 == k { print $3 }' \
		"$RUN_DIR/out/output" | tail -n 1
}

# host_check_write_bw <name> <size> <server time>: the file behind the near
# BAR holds what the client of the guest's "write_bw_pair ... <name>"
# (tests/vm/guest/lib.sh) wrote into the server's --mmap buffer there,
# started at <server time>; nothing was written past that buffer, nor
# into the far BAR.
host_check_write_bw() {
	python3 "$P2PMR_SRC_DIR/tests/vm/lib/perftest_check.py" \
		"$RUN_DIR/ivshmem-near.mem" "$2" "$3" \
		"$(guest_fact "$1_client_time")" \
		"$(guest_fact "$1_client_time_after")" ||
		fail "the host file does not hold what ib_write_bw's client wrote"
	"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" $((2 * $2)) \
		$((0x100000)) || fail "something wrote past ib_write_bw's buffer"
	"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 0x100000 ||
		fail "the far BAR was written"
}
