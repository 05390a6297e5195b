#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Open MPI over UCX over soft-RoCE, two ranks in the guest, with their
# communication buffers in the near ivshmem BAR (tests/mpi/mpi_bar, a
# plain mmap() of resource2) and the verbs shim preloaded through
# mpirun -x LD_PRELOAD.  The ranks check every byte they receive; lines
# "bar rank R offset O length L seed S" name what MPI wrote into the BAR,
# for tests/vm/cases/mpi.sh to check in the host file behind it.
#
# usage: mpi.sh sendrecv|rma|stale|noshim|pair
#   sendrecv  MPI_Send/MPI_Recv host <-> BAR and BAR -> BAR, 256 B, 64 KiB
#             and 1 MiB, both directions
#   rma       MPI_Put/MPI_Get, windows in the BAR and in host memory
#   stale     a BAR buffer MPI has registered is unmapped and host memory
#             mapped at its address: UCX's registration cache must let go
#             of it, and data goes to and from the host memory
#   noshim    sendrecv without the shim: fails as stock UCX 1.13 does
#   pair      in two guests (tests/vm/cases/mpi.sh pair boots them with
#             vm_boot_pair), one rank each: sendrecv and rma across the
#             emulated wire, each guest's BAR receiving from the other
. "$(dirname "$0")/lib.sh"

case=${1:-}
t=$(mpi_bar_tool) || exit $?
dev=$(p2pmr_rxe_setup) || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$near/resource2
shim=$(p2pmr_shim) || exit 1
work=$(mktemp -d)
p2pmr_log "$dev on $(nic_netdev); BAR $res; shim $shim"

# run_mpi <mode> [mpirun arguments...]: mpi_bar under mpirun, output in
# $work/out (and here), status in $mpi_rc.
run_mpi() {
	local mode=$1

	shift
	p2pmr_mpirun "$dev" "$@" "$t" "$mode" -P "$res" >"$work/out" 2>&1
	mpi_rc=$?
	sed 's/^/  /' "$work/out"
}

# expect_out <regex> <why>: the MPI run's output has a matching line.
expect_out() {
	grep -Eq "$1" "$work/out" || p2pmr_fail "$2"
}

# shim_run <mode>: mpi_bar with the shim, every decision logged; the
# payload must have gone through rxe, and BAR MRs through the shim.  UCX
# asks for remote atomics on every MR and soft-RoCE takes none on device
# memory: the ranks opt in to BAR MRs without them, as a site would.
shim_run() {
	local before sent min=$2

	before=$(rxe_pkts "$dev")
	run_mpi "$1" -x LD_PRELOAD="$shim" -x P2PMR_DEBUG=2 \
		-x P2PMR_DROP_REMOTE_ATOMIC=1
	[ "$mpi_rc" -eq 0 ] || p2pmr_fail "mpi_bar $1 exited $mpi_rc"
	expect_out "^mpi_bar $1 ok$" "mpi_bar $1 did not finish"
	expect_out "shim: on" "the shim was not loaded into the ranks"
	expect_out "is device memory: dma-buf MR" \
		"no BAR buffer was registered through the shim"
	expect_out "without IBV_ACCESS_REMOTE_ATOMIC \(P2PMR_DROP_REMOTE_ATOMIC=1\)" \
		"UCX's BAR MRs were not registered without remote atomics"
	sent=$(( $(rxe_pkts "$dev") - before ))
	# 4096 bytes is RoCE's largest MTU: fewer packets, not all over rxe
	[ "$sent" -ge "$min" ] ||
		p2pmr_fail "$dev moved $sent packets, fewer than $min:" \
			   "the payload did not all go over soft-RoCE"
	echo "ok $dev sent and received $sent packets (at least $min)"
}

# 2 directions x 3 kinds x (256 B + 64 KiB + 1 MiB)
sendrecv_pkts=$(( 6 * (256 + 65536 + 1048576) / 4096 ))
# four 512 KiB puts and gets
rma_pkts=$(( 4 * 524288 / 4096 ))

case "$case" in
sendrecv)
	shim_run sendrecv $sendrecv_pkts
	;;
rma)
	shim_run rma $rma_pkts
	;;
pair)
	pair_up
	if [ "$P2PMR_PAIR_ROLE" = b ]; then
		# rank 1 runs here, started over ssh by guest a's mpirun
		rc=$(pair_wait_peer_exit) || exit 1
		p2pmr_log "guest a is done (status $rc)"
	else
		shim_run sendrecv $sendrecv_pkts
		shim_run rma $rma_pkts
	fi
	;;
stale)
	shim_run stale $(( 4 * 1048576 / 4096 ))
	expect_out "is no longer in a BAR mapping|export of .* failed" \
		"UCX did not register the host memory at the BAR's old address"
	;;
noshim)
	# Stock: messages UCX copies through its own buffers arrive; the
	# first rendezvous (1 MiB) makes UCX register the BAR with plain
	# ibv_reg_mr(), libibverbs refuses it (EINVAL from the fork
	# protection's madvise() on a VM_IO mapping, UCX having called
	# ibv_fork_init()) and UCX 1.13 aborts the rank.
	run_mpi sendrecv
	[ "$mpi_rc" -ne 0 ] || p2pmr_fail "mpi_bar sendrecv passed without the shim"
	[ "$mpi_rc" -ne 124 ] || p2pmr_fail "mpi_bar sendrecv hung without the shim"
	expect_out "^ok rank 0 host -> rank 1 BAR, 65536 bytes" \
		"without the shim, the copied (eager) messages did not arrive"
	expect_out "ibv_reg_mr\(address=0x[0-9a-f]+, length=1048576, .*\) failed: Invalid argument" \
		"without the shim, ibv_reg_mr of the BAR did not fail with EINVAL"
	expect_out "Assertion .status == UCS_OK. failed" \
		"without the shim, UCX did not abort on the failed registration"
	grep -q "ok rank 0 host -> rank 1 BAR, 1048576 bytes" "$work/out" &&
		p2pmr_fail "without the shim, a 1 MiB message reached the BAR"
	grep -q "shim: on" "$work/out" &&
		p2pmr_fail "the shim was loaded"
	echo "ok without the shim: eager messages arrive, the first rendezvous into the BAR aborts"
	;;
*)
	p2pmr_fail "usage: $0 sendrecv|rma|stale|noshim|pair"
	;;
esac
p2pmr_expect_idle
echo "ok p2pmr has no live exports left"
rm -rf "$work"
echo "mpi $case ok"
