#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The verbs shim under an unmodified program (tests/guest/shim_mr_test,
# plain libibverbs) on the near ivshmem BAR over soft-RoCE loopback.
#
# usage: shim_mr.sh mixed|stale|off|rereg
#   mixed  BAR and host MRs on one PD, RDMA WRITE/READ, SEND/RECV ping-pong
#          in the BAR; leaves seed 11 at BAR [1 MiB, 2 MiB) for the host
#   stale  BAR MR, munmap, host memory MAP_FIXED at the same address: a
#          host MR; leaves seed 21 at BAR [4 MiB, 5 MiB), and seed 22 must
#          not reach the BAR
#   off    P2PMR_SHIM=0, and no shim at all: ibv_reg_mr on the BAR fails
#          with EFAULT, as on a stock system
#   rereg  ibv_rereg_mr of a BAR MR fails with EOPNOTSUPP
. "$(dirname "$0")/lib.sh"

case=${1:-}
dev=$(p2pmr_rxe_setup) || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$near/resource2
shim=$(p2pmr_shim) || exit 1
t=$P2PMR_BUILD_DIR/tests/guest/shim_mr_test
[ -x "$t" ] || p2pmr_fail "$t is not built"
p2pmr_log "$dev on $(nic_netdev); BAR $res; shim $shim"

case "$case" in
mixed)
	LD_PRELOAD=$shim "$t" mixed -d "$dev" -P "$res" \
		-o 0x100000 -l 0x100000 -s 11 -n 200 ||
		p2pmr_fail "mixed host and BAR MRs through the shim"
	;;
stale)
	LD_PRELOAD=$shim "$t" stale -d "$dev" -P "$res" \
		-o 0x400000 -l 0x100000 -s 21 ||
		p2pmr_fail "stale classification"
	;;
off)
	P2PMR_SHIM=0 LD_PRELOAD=$shim "$t" refuse -d "$dev" -P "$res" \
		-l 0x10000 -e EFAULT ||
		p2pmr_fail "P2PMR_SHIM=0 did not turn the shim off"
	"$t" refuse -d "$dev" -P "$res" -l 0x10000 -e EFAULT ||
		p2pmr_fail "without the shim, ibv_reg_mr of a BAR did not fail as stock does"
	;;
rereg)
	out=$(P2PMR_DEBUG=1 LD_PRELOAD=$shim "$t" rereg -d "$dev" -P "$res" \
		-l 0x10000 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 0 ] || p2pmr_fail "ibv_rereg_mr of a BAR MR"
	echo "$out" | grep -q "ibv_rereg_mr of MR .* refused" ||
		p2pmr_fail "the refusal was not logged"
	echo "ok the refusal is logged (P2PMR_DEBUG=1)"
	;;
*)
	p2pmr_fail "usage: $0 mixed|stale|off|rereg"
	;;
esac
p2pmr_expect_idle
echo "ok p2pmr has no live exports left"
echo "shim_mr $case ok"
