#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two guests, one wire (vm_boot_pair): Open MPI's mpirun in guest a starts
# one process in each guest, its daemon in guest b launched over ssh
# (pair_mpirun), and every rank reports where it ran.  Guest b serves until
# guest a is done.
. "$(dirname "$0")/lib.sh"

command -v mpirun >/dev/null ||
	p2pmr_skip "mpirun is not installed (openmpi-bin)"
pair_up
if [ "$P2PMR_PAIR_ROLE" = b ]; then
	rc=$(pair_wait_peer_exit) || exit 1
	echo "pair_mpi_launch guest b: served guest a (status $rc)"
	exit 0
fi

hosts=$P2PMR_GUEST_NAME,$P2PMR_PEER_NAME
out=$(mktemp)
echo "\$ mpirun -np 2 --host $hosts ..."
# shellcheck disable=SC2016
pair_mpirun -np 2 --host "$hosts" \
	bash -c 'echo "rank $OMPI_COMM_WORLD_RANK of $OMPI_COMM_WORLD_SIZE on $(hostname)"' \
	>"$out" 2>&1
rc=$?
sed 's/^/  | /' "$out"
[ $rc -eq 0 ] || p2pmr_fail "mpirun exited $rc"
grep -qx "rank 0 of 2 on $P2PMR_GUEST_NAME" "$out" ||
	p2pmr_fail "rank 0 did not run on $P2PMR_GUEST_NAME"
grep -qx "rank 1 of 2 on $P2PMR_PEER_NAME" "$out" ||
	p2pmr_fail "rank 1 did not run on $P2PMR_PEER_NAME"
[ "$(grep -c '^rank ' "$out")" -eq 2 ] || p2pmr_fail "not exactly 2 ranks"
rm -f "$out"
echo "pair_mpi_launch ok: mpirun ran rank 0 on $P2PMR_GUEST_NAME and" \
     "rank 1 on $P2PMR_PEER_NAME"
