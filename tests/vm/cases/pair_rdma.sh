#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two guests joined by an emulated wire run ib_write_bw -b between them,
# each with its buffer in its own near ivshmem BAR through the verbs shim
# (tests/vm/guest/pair_rdma.sh).  From the host, each guest's BAR file must
# then hold, in one half, the first bytes of the other guest's buffer,
# which only RDMA across the wire can have put there, and in the other its
# own fill (tests/vm/lib/perftest_check.py); the far BARs stay untouched.
. "$(dirname "$0")/../lib/host.sh"

new_pair_run_dirs
vm_boot_pair --timeout 600 -- "$GUEST_DIR/pair_rdma.sh"
[ "$VM_RC_A" -eq 0 ] && [ "$VM_RC_B" -eq 0 ] ||
	fail "guest side failed (a: status $VM_RC_A, b: status $VM_RC_B)"

# pair_fact <key> <min|max>: the fact over both guests' reports
pair_fact() {
	awk -v k="$1" -v m="$2" '$1 == "PAIR" && $2 == k {
		if (n++ == 0 || (m == "min" ? $3 < v : $3 > v)) v = $3 }
		END { print v }' "$RUN_DIR_A/out/output" "$RUN_DIR_B/out/output"
}

size=$(pair_fact size max)
t0=$(pair_fact time_before min)
t1=$(pair_fact time_after max)
[ -n "$size" ] && [ -n "$t0" ] && [ -n "$t1" ] ||
	fail "the guests reported no facts"
for role in $PAIR_ROLES; do
	dir=$PAIR_DIR/$role
	echo "guest $role's near BAR ($dir/ivshmem-near.mem):"
	python3 "$P2PMR_SRC_DIR/tests/vm/lib/perftest_check.py" \
		"$dir/ivshmem-near.mem" "$size" "$t0" "$t0" "$t1" ||
		fail "guest $role's BAR does not hold the other guest's data"
	"$PATTERN" check-zero "$dir/ivshmem-near.mem" $((2 * size)) \
		$((0x100000)) ||
		fail "something wrote past ib_write_bw's buffer in guest $role"
	"$PATTERN" check-zero "$dir/ivshmem-far.mem" 0 0x100000 ||
		fail "guest $role's far BAR was written"
done
echo "pair_rdma ok: each guest's BAR holds what the other sent over RDMA"
