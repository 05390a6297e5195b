#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmarks inside the testbed guest (run by bench/run-bench.sh).
#
# usage: bench.sh main|large [-q]
#   main   registration latency, RDMA data path, shim overhead,
#          classification and MPI bandwidth on the near ivshmem BAR
#          (64 MiB) over soft-RoCE
#   large  the whole near BAR (booted with vm-run --near-bar-size):
#          export, importer map and segment count, dma-buf MR registration
# Results: JSON lines appended to $P2PMR_BENCH_OUT/bench.jsonl (default
# /p2pmr-out, the run directory's out/ on the host), tables on stdout.
. "$P2PMR_SRC_DIR/tests/vm/guest/lib.sh"

what=${1:-}
quick=${2:-}
# smoke runs (P2PMR_BENCH_SMOKE=1): one repetition, no warm-up
[ -n "${P2PMR_BENCH_SMOKE:-}" ] && quick="-q -r 1 -w 0"
out=${P2PMR_BENCH_OUT:-/p2pmr-out}/bench.jsonl
bench=$P2PMR_BUILD_DIR/bench/p2pmr_bench
[ -x "$bench" ] || p2pmr_fail "$bench is not built"

dev=$(p2pmr_rxe_setup) || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$near/resource2
p2pmr_log "$dev on $(nic_netdev); BAR $res ($(pci_bar_size "$near" 2) bytes)"

# mpi_bw: Open MPI over UCX over rxe, two ranks, receive buffer in the
# BAR against one in host memory (tests/mpi/mpi_bar bw, shim preloaded).
mpi_bw() {
	local t reps=7 iters=20

	if ! t=$(mpi_bar_tool); then
		p2pmr_log "mpi_bw left out: $t"
		return 0
	fi
	[ -n "$quick" ] && { reps=3; iters=10; }
	[ -n "${P2PMR_BENCH_SMOKE:-}" ] && { reps=1; iters=2; }
	# 7 x 20 windows of 16 x 1 MiB each way at ~15 MB/s under TCG take
	# five minutes alone
	P2PMR_MPIRUN_TIMEOUT=900 p2pmr_mpirun "$dev" -x LD_PRELOAD="$(p2pmr_shim)" \
		-x P2PMR_DROP_REMOTE_ATOMIC=1 \
		"$t" bw -P "$res" -r $reps -n $iters -o "$out" ||
		p2pmr_fail "MPI bandwidth benchmark"
}

case "$what" in
main)
	"$bench" reg -d "$dev" -P "$res" $quick -o "$out" ||
		p2pmr_fail "reg benchmark"
	"$bench" rdma -d "$dev" -P "$res" $quick -o "$out" ||
		p2pmr_fail "rdma benchmark"
	LD_PRELOAD=$(p2pmr_shim) "$bench" shim -d "$dev" $quick -o "$out" ||
		p2pmr_fail "shim benchmark"
	"$bench" classify -P "$res" $quick -o "$out" ||
		p2pmr_fail "classify benchmark"
	mpi_bw
	;;
large)
	importer_load
	"$bench" large -d "$dev" -P "$res" -N "$(pci_nic)" $quick -o "$out" ||
		p2pmr_fail "large BAR benchmark"
	;;
*)
	p2pmr_fail "usage: $0 main|large [-q]"
	;;
esac
p2pmr_expect_idle
echo "bench $what ok"
