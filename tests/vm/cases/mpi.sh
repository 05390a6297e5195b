#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# MPI with buffers in the near ivshmem BAR (tests/vm/guest/mpi.sh),
# checked from outside the guest: every range the ranks say MPI wrote
# into the BAR ("bar rank R offset O length L seed S") holds that
# pattern in the host file behind the BAR, which nothing in the guest
# wrote directly.  For stale, the range holds what the BAR had before it
# was unmapped: the receive into host memory at its old address did not
# reach it.
#
# pair: two guests, one rank each (rank 0 in guest a, rank 1 in guest b),
# sendrecv and rma; each rank's ranges are checked in its own guest's file.
#
# usage: mpi.sh sendrecv|rma|stale|pair
. "$(dirname "$0")/../lib/host.sh"

case=${1:-}
case "$case" in
sendrecv) want=12 ;;	# 2 directions x 2 kinds into a BAR x 3 sizes
rma) want=2 ;;		# MPI_Put into the BAR window, MPI_Get into a BAR
stale) want=1 ;;
pair) want=14 ;;	# sendrecv and rma
*) fail "usage: $0 sendrecv|rma|stale|pair" ;;
esac
if [ "$case" = pair ]; then
	new_pair_run_dirs
	vm_boot_pair --timeout 900 -- "$GUEST_DIR/mpi.sh" pair
	[ "$VM_RC_A" -eq 77 ] && exit 77
	[ "$VM_RC_A" -eq 0 ] && [ "$VM_RC_B" -eq 0 ] ||
		fail "guest side failed (a: status $VM_RC_A, b: status $VM_RC_B)"
	# mpirun ran in guest a: every rank's report is in its output
	dirs=("$RUN_DIR_A" "$RUN_DIR_B")
else
	new_run_dir
	vm_boot --timeout 900 -- "$GUEST_DIR/mpi.sh" "$case"
	[ "$VM_RC" -eq 77 ] && exit 77
	[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"
	dirs=("$RUN_DIR" "$RUN_DIR")
fi
report=${dirs[0]}/out/output

checked=0
while read -r _ _ rank _ offset _ length _ seed; do
	# host_check reads the BAR file of the run directory in RUN_DIR
	RUN_DIR=${dirs[$rank]}
	host_check near "$offset" "$length" "$seed"
	echo "ok host file $RUN_DIR/ivshmem-near.mem: rank $rank's BAR" \
	     "range $offset+$length holds seed $seed"
	checked=$((checked + 1))
done < <(grep -E '^ *bar rank [01] offset 0x[0-9a-f]+ length 0x[0-9a-f]+ seed [0-9]+$' \
	"$report")
[ "$checked" -eq "$want" ] ||
	fail "checked $checked BAR ranges from the guest's report, expected $want"
for RUN_DIR in "${dirs[@]}"; do
	"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 0x2000000 ||
		fail "the far BAR of $RUN_DIR was written"
done
echo "mpi $case ok: $checked ranges MPI wrote are in the host file behind the BAR"
